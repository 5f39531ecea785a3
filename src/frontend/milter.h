/*
 * milter - the Sendmail milter protocol (version 6, as Postfix's
 * smtpd_milters and Sendmail's INPUT_MAIL_FILTER speak it), filter side.
 *
 * The codec is pure: mlt_parse frames one packet, the mlt_*_parse
 * functions read a packet's arguments, the mlt_encode_* functions write
 * replies; no I/O, nothing allocated.  mlt_serve runs one MTA connection:
 * it fills a pb_txn stage by stage and asks the pipeline at RCPT (each
 * recipient) and at end of headers.
 *
 * Memory: parsed arguments point into the packet they came from.
 * Threading: no shared state; one mlt_serve per connection thread.
 * SECURITY: everything read is untrusted.  A packet's claimed length is
 * checked against a fixed maximum before any byte of it is awaited; a
 * malformed or unexpected packet closes the connection (the MTA then
 * applies its default action, which contrib/ sets to tempfail).
 */
#ifndef PB_MILTER_H
#define PB_MILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

/* Largest packet read (command byte + data): libmilter's default data
 * limit (MILTER_MAX_DATA_SIZE, 65535) plus the command byte.  Header
 * fields and body chunks never exceed it unless an MTA negotiated the
 * larger SMFIP_MDS_* sizes, which we never offer. */
#define MLT_PACKET_MAX (64 * 1024)
/* Our protocol version: 6 (Sendmail 8.14+, Postfix 2.6+). */
#define MLT_VERSION 6

/* Commands, MTA to filter. */
#define MLT_C_ABORT 'A'
#define MLT_C_BODY 'B'
#define MLT_C_CONNECT 'C'
#define MLT_C_MACRO 'D'
#define MLT_C_BODYEOB 'E'
#define MLT_C_HELO 'H'
#define MLT_C_QUIT_NC 'K'
#define MLT_C_HEADER 'L'
#define MLT_C_MAIL 'M'
#define MLT_C_EOH 'N'
#define MLT_C_OPTNEG 'O'
#define MLT_C_QUIT 'Q'
#define MLT_C_RCPT 'R'
#define MLT_C_DATA 'T'
#define MLT_C_UNKNOWN 'U'

/* Replies, filter to MTA. */
#define MLT_R_ACCEPT 'a'
#define MLT_R_CONTINUE 'c'
#define MLT_R_ADDHEADER 'h'
#define MLT_R_INSHEADER 'i'
#define MLT_R_PROGRESS 'p'
#define MLT_R_REJECT 'r'
#define MLT_R_TEMPFAIL 't'
#define MLT_R_REPLYCODE 'y'

/* Actions the filter may ask for (SMFIF_*). */
#define MLT_F_ADDHDRS 0x001u
#define MLT_F_SETSYMLIST 0x100u

/* Protocol flags (SMFIP_*): events not sent, replies not awaited. */
#define MLT_P_NOCONNECT 0x00000001u
#define MLT_P_NOHELO 0x00000002u
#define MLT_P_NOMAIL 0x00000004u
#define MLT_P_NORCPT 0x00000008u
#define MLT_P_NOBODY 0x00000010u
#define MLT_P_NOHDRS 0x00000020u
#define MLT_P_NOEOH 0x00000040u
#define MLT_P_NR_HDR 0x00000080u
#define MLT_P_NOUNKNOWN 0x00000100u
#define MLT_P_NODATA 0x00000200u
#define MLT_P_SKIP 0x00000400u
#define MLT_P_RCPT_REJ 0x00000800u
#define MLT_P_NR_CONN 0x00001000u
#define MLT_P_NR_HELO 0x00002000u
#define MLT_P_NR_MAIL 0x00004000u
#define MLT_P_NR_RCPT 0x00008000u
#define MLT_P_NR_DATA 0x00010000u
#define MLT_P_NR_UNKN 0x00020000u
#define MLT_P_NR_EOH 0x00040000u
#define MLT_P_NR_BODY 0x00080000u
#define MLT_P_HDR_LEADSPC 0x00100000u

/* Macro stages of the v6 macro lists (SMFIM_*). */
typedef enum mlt_macro_stage {
	MLT_M_CONNECT = 0,
	MLT_M_HELO,
	MLT_M_ENVFROM,
	MLT_M_ENVRCPT,
	MLT_M_DATA,
	MLT_M_EOM,
	MLT_M_EOH,
	MLT_M_COUNT
} mlt_macro_stage;

typedef enum mlt_status {
	MLT_MORE = 0, /* need more bytes; *used is 0 */
	MLT_PACKET,   /* one packet: *cmd, *data, *dlen, *used */
	MLT_FATAL,    /* claimed length 0 or over max: framing is lost */
} mlt_status;

/* mlt_parse - one packet at the start of buf[0..len):
 *     packet = length(4 octets, big-endian) command(1 octet) data
 * where length counts the command and the data and is 1..max. */
mlt_status mlt_parse(const char *buf, size_t len, size_t max, char *cmd,
		     const char **data, size_t *dlen, size_t *used);

/* A string argument: bytes inside the packet, without its NUL. */
typedef struct mlt_str {
	const char *p;
	size_t len;
} mlt_str;

/* mlt_strings - split data into NUL-terminated strings; the first max
 * are stored in out.  The number of strings (which may exceed max), or
 * -1 when the data does not end in a NUL.  Empty data is 0 strings. */
int mlt_strings(const char *data, size_t dlen, mlt_str *out, size_t max);

/* SMFIC_OPTNEG: version, actions, protocol flags (3 x 32 bits). */
typedef struct mlt_optneg {
	uint32_t version;
	uint32_t actions;
	uint32_t protocol;
} mlt_optneg;

/* mlt_optneg_parse - 0, or -1 when shorter than 12 octets (longer is
 * tolerated: a future MTA may append fields). */
int mlt_optneg_parse(const char *data, size_t dlen, mlt_optneg *o);

/* mlt_negotiate - our answer to what the MTA offers: the lower version,
 * and of the actions and flags we want, those it offers.  -1 when the
 * MTA's version is below 2 (no protocol flags at all). */
int mlt_negotiate(const mlt_optneg *mta, uint32_t want_actions,
		  uint32_t want_protocol, mlt_optneg *out);

/* SMFIC_CONNECT: hostname NUL family [port(16 bits) address NUL]. */
typedef struct mlt_connect {
	mlt_str host;
	char family; /* '4', '6', 'L' (unix), 'U' (unknown) */
	unsigned port;
	mlt_str addr; /* empty for 'U' */
} mlt_connect;

/* mlt_connect_parse - 0, or -1 when malformed (unknown family, missing
 * or unterminated fields, trailing bytes). */
int mlt_connect_parse(const char *data, size_t dlen, mlt_connect *c);

/* mlt_header_parse - SMFIC_HEADER: name NUL value NUL; 0 or -1.  The
 * name (up to the first NUL) must not be empty; the value runs to the
 * final NUL and may itself hold a NUL (pb_txn_set_header then keeps
 * nothing of it). */
int mlt_header_parse(const char *data, size_t dlen, mlt_str *name,
		     mlt_str *value);

/* mlt_path - an envelope address argument without its angle brackets:
 * "<a@b>" -> "a@b", "<>" -> "", "a@b" -> "a@b" (surrounding blanks
 * dropped). */
mlt_str mlt_path(mlt_str arg);

/* mlt_macro_name - a macro name without braces: "{client_addr}" ->
 * "client_addr", "i" -> "i". */
mlt_str mlt_macro_name(mlt_str name);

/* Encoders: each writes one packet into out and returns its length, or
 * 0 when it does not fit in cap. */

/* mlt_encode - a packet with command cmd and dlen bytes of data. */
size_t mlt_encode(char *out, size_t cap, char cmd, const char *data,
		  size_t dlen);

/* mlt_encode_optneg - the OPTNEG reply; lists (may be NULL) holds a
 * space-separated macro name list per mlt_macro_stage, NULL or "" for
 * none; lists are sent only when o->actions has MLT_F_SETSYMLIST. */
size_t mlt_encode_optneg(char *out, size_t cap, const mlt_optneg *o,
			 const char *const *lists);

/* mlt_encode_replycode - SMFIR_REPLYCODE "CODE ENH text" NUL.  Sendmail
 * reads the text as a format string, so '%' is doubled (Postfix undoes
 * the doubling). */
size_t mlt_encode_replycode(char *out, size_t cap, const char *line);

/* mlt_encode_addheader - SMFIR_ADDHEADER name NUL value NUL. */
size_t mlt_encode_addheader(char *out, size_t cap, const char *name,
			    const char *value);

struct pb_dir_pool;
struct pb_signer;

/* mlt_serve - serve one milter connection until QUIT, EOF, error, idle
 * timeout or stop. */
void mlt_serve(int fd, const pb_config *cfg, struct pb_dir_pool *pool,
	       const struct pb_signer *signer, const char *peer);

#endif
