/*
 * hdraddr - the addr-specs in an RFC 5322 address header field body
 * (From:, Reply-To:, Sender:, also To:/Cc:), for deciding who may post.
 *
 * Memory: results go into the caller's array of fixed-size pb_hdr_addr;
 * no allocation, no I/O, no state: thread-safe.
 * SECURITY: the field body is untrusted; it is read as (p, len), never
 * past len, never relying on a NUL.  The work is linear in len and len is
 * capped (PB_HDR_BODY_MAX).  Comments nest at most PB_HDR_COMMENT_DEPTH.
 *
 * What is returned: each address as "local@domain" text, comments and
 * folding white space removed, with the local part written the shortest
 * way pb_addr_parse accepts (a dot-atom if the decoded local part is one,
 * else one quoted-string with only '"' and '\' escaped: "a b"@x stays
 * "a b"@x, "alice"@x becomes alice@x, obsolete "a"."b c"@x becomes
 * "a.b c"@x) and the domain as written (case kept, obs-domain atoms
 * joined by dots, no brackets removed).  Display names, encoded words and
 * comments are skipped, never decoded into an address.  Every result is
 * accepted by pb_addr_parse(r, strlen(r), NULL, ...); the caller
 * normalises it with its own options.  Order is kept, duplicates are
 * kept.  See hdraddr.c for the grammar and the decisions on ambiguous and
 * malformed forms.
 */
#ifndef PB_HDRADDR_H
#define PB_HDRADDR_H

#include <stddef.h>

#include "core/addr.h"

/* A longer field body yields no address (real ones are a few hundred
 * bytes; Postfix's header_size_limit default is 100 KiB for all of them). */
#define PB_HDR_BODY_MAX 65536
/* At most this many addresses are returned, whatever max says. */
#define PB_HDR_ADDRS_MAX 64
/* Deeper nesting of ( comments ) makes the rest of the field yield no
 * address: no MUA writes it, so it is an attack or garbage. */
#define PB_HDR_COMMENT_DEPTH 32

typedef struct pb_hdr_addr {
	char addr[PB_ADDR_MAX + 1]; /* NUL-terminated */
} pb_hdr_addr;

/* pb_hdr_addresses - the addr-specs in one header field body (the text
 * after "From:", possibly folded with CRLF or LF followed by WSP),
 * as "local@domain" strings, in order, at most max of them (and at most
 * PB_HDR_ADDRS_MAX).  Returns the number found (0 when the field holds no
 * usable address), never fails: a malformed field yields the addresses
 * that could be read cleanly, or none.  out[0..max) is working space:
 * entries past the returned count hold nothing meaningful (an element
 * found malformed after its address was stored is taken back).  out may
 * be NULL when max is 0. */
size_t pb_hdr_addresses(const char *body, size_t len, pb_hdr_addr *out,
			size_t max);

#endif
