/*
 * maps - Postfix lookup-table protocols for the address maps: socketmap
 * (netstrings, every map on one listener, chosen by name) and tcp_table
 * (one "get KEY" line, one map per listener, as postsrsd 1.x serves).
 *
 * The codecs are pure: bytes in, one complete request out, limits
 * enforced, nothing allocated from input.  maps_serve runs one connection.
 * SECURITY: everything read is untrusted.  A request over the size limit
 * or a broken netstring cannot be re-synchronised: it is answered with the
 * protocol's error and the connection is closed.
 */
#ifndef PB_MAPS_H
#define PB_MAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

/* Longest request payload (map name, space, address) we read. */
#define MAPS_REQUEST_MAX 2048
/* Longest reply payload ("OK " and an address). */
#define MAPS_REPLY_MAX 1100

typedef enum maps_status {
	MAPS_MORE = 0, /* need more bytes */
	MAPS_REQUEST,  /* a request: *payload, *plen */
	MAPS_BAD,      /* malformed but framed: answer the error, go on */
	MAPS_FATAL,    /* framing lost: answer the error, close */
} maps_status;

/* ns_parse - one netstring "LEN:PAYLOAD," at the start of buf[0..len).
 * *used is the bytes it takes (on MAPS_MORE: 0).  LEN is decimal without
 * leading zeros (except "0") and at most max. */
maps_status ns_parse(const char *buf, size_t len, size_t max,
		     const char **payload, size_t *plen, size_t *used);

/* ns_format - "LEN:PAYLOAD," into out; the length written, or 0 when it
 * does not fit. */
size_t ns_format(char *out, size_t cap, const char *payload, size_t plen);

/* tt_parse - one tcp_table request line "get KEY\n" at the start of buf.
 * On MAPS_REQUEST the key, %XX-decoded and NUL-terminated, is in key
 * (capacity keycap).  A line that is not "get KEY", or a key that decodes
 * to a NUL or control byte, is MAPS_BAD; a line over max bytes is
 * MAPS_FATAL. */
maps_status tt_parse(const char *buf, size_t len, size_t max, char *key,
		     size_t keycap, size_t *used);

/* tt_encode - %XX-encode value for a tcp_table reply (bytes <= 0x20, '%',
 * and >= 0x7f); the length written, or 0 when it does not fit. */
size_t tt_encode(char *out, size_t cap, const char *value);

struct pb_signer;

typedef enum maps_proto {
	MAPS_SOCKETMAP = 0,
	MAPS_TCP_TABLE,
} maps_proto;

/* maps_serve - serve one connection until EOF, error, idle timeout or a
 * framing error.  For tcp_table, map is the listener's map. */
void maps_serve(int fd, maps_proto proto, pb_map_id map, const pb_config *cfg,
		const struct pb_signer *signer, const char *peer);

#endif
