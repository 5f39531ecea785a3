/*
 * sign - signed return paths: SRS (forwarding) and BATV prvs (own mail).
 *
 * Pure functions of (keys, time, address): no I/O, no allocation, no
 * global state; thread-safe.  Addresses are "local@domain" without angle
 * brackets; the domain is the text after the last '@'.
 *
 * SRS, as Mail::SRS::Guarded and postsrsd 1.x write it:
 *   SRS0=HHHH=TT=orig-domain=orig-local@srs-domain
 *   SRS1=HHHH=first-hop-domain==HHHH=TT=orig-domain=orig-local@srs-domain
 * HHHH is the first hash_length characters of base64(HMAC-SHA1(key, the
 * fields lower-cased)); TT is (now / 86400) mod 1024 in two base32
 * characters.  Hashes compare case-insensitively (mail systems fold case)
 * and in constant time.
 *
 * BATV, as Exim's ${prvs} writes and ${prvscheck} accepts
 * (draft-levine-smtp-batv-01):
 *   prvs=KDDDHHHHHH=local@domain
 * K is the key number, DDD the day the address expires ((now / 86400 +
 * max_age) mod 1000), HHHHHH the first 6 lower-case hex digits of
 * HMAC-SHA1(key, "K" "DDD" "local@domain").
 *
 * SECURITY: every input is untrusted; parsers take NUL-terminated strings
 * of at most PB_SIGN_IN_MAX bytes and never read or write out of bounds.
 */
#ifndef PB_SIGN_H
#define PB_SIGN_H

#include <stddef.h>
#include <time.h>

#include "core/secrets.h"

#define PB_SIGN_IN_MAX 1024  /* longest address accepted as input */
#define PB_SIGN_OUT_MAX 1024 /* callers' output buffers: this many bytes */

typedef enum pb_sign_err {
	PB_SIGN_OK = 0,
	PB_SIGN_NOT_SIGNED, /* not an SRS / prvs address ("not-srs") */
	PB_SIGN_BAD_HASH,   /* signature does not match any key */
	PB_SIGN_EXPIRED,    /* signature valid but older than max_age */
	PB_SIGN_MALFORMED,  /* looks signed but the fields do not parse, or
			       the input is not local@domain */
	PB_SIGN_TOO_LONG,   /* the result would not fit PB_SIGN_OUT_MAX or
			       input exceeds PB_SIGN_IN_MAX */
	PB_SIGN_NO_KEY,	    /* no key loaded, or options out of range,
			       or the crypto library failed: our fault,
			       not the address's (configuration) */
} pb_sign_err;

/* pb_sign_err_name - "ok", "not-srs", "bad-hash", "expired", "malformed",
 * "too-long", "no-key": the names the CLI prints and logs use. */
const char *pb_sign_err_name(pb_sign_err err);

typedef struct pb_srs_opts {
	const pb_keys *keys;
	const char *domain;  /* the SRS domain, right of the '@' */
	char separator;	     /* after SRS0/SRS1: '=', '+' or '-'; '=' default */
	int hash_length;     /* characters written when signing, 4 */
	int min_hash_length; /* fewest accepted when verifying, 4 */
	int max_age;	     /* days a signature stays valid, 21 */
} pb_srs_opts;

/* pb_srs_forward - rewrite addr for forwarding.  A plain address becomes
 * SRS0; an SRS0 address (of any SRS domain) becomes SRS1 keeping its
 * opaque part; an SRS1 address gets its first-hop fields kept and only the
 * SRS domain changed (Mail::SRS::Guarded behaviour).  An address already
 * at o->domain is copied unchanged (Mail::SRS and postsrsd do the same).
 * Option fields left 0 take the defaults shown above.  out gets the
 * result, NUL-terminated (empty on any error); outlen >= PB_SIGN_OUT_MAX
 * is always enough. */
pb_sign_err pb_srs_forward(const pb_srs_opts *o, time_t now, const char *addr,
			   char *out, size_t outlen);

/* pb_srs_reverse - undo one step: SRS0 → the original address (after
 * checking hash and age); SRS1 → the SRS0 address at the first-hop domain
 * (after checking the SRS1 hash; SRS1 has no timestamp of its own).  Any
 * separator '=', '+' or '-' is accepted after the tag, and a hash of
 * min_hash_length..27 characters.  Anything else is PB_SIGN_NOT_SIGNED.
 * The domain of addr is not looked at: callers decide what is ours. */
pb_sign_err pb_srs_reverse(const pb_srs_opts *o, time_t now, const char *addr,
			   char *out, size_t outlen);

/* pb_srs_is_srs - the local part starts with SRS0 or SRS1 and a separator
 * (case-insensitive): cheap test, no verification. */
int pb_srs_is_srs(const char *addr);

typedef struct pb_batv_opts {
	const pb_keys *keys; /* numbered; keys[0] signs */
	int max_age;	     /* days, 7 */
} pb_batv_opts;

/* pb_batv_sign - prvs-sign addr with keys[0].  An address that already is
 * prvs-signed is returned unchanged. */
pb_sign_err pb_batv_sign(const pb_batv_opts *o, time_t now, const char *addr,
			 char *out, size_t outlen);

/* pb_batv_verify - check a prvs address and put the original in out.  The
 * key is chosen by its number; the expiry day is read modulo 1000 relative
 * to today (valid while today <= expiry <= today + max_age, wrapping). */
pb_sign_err pb_batv_verify(const pb_batv_opts *o, time_t now, const char *addr,
			   char *out, size_t outlen);

/* pb_batv_is_prvs - the local part starts with "prvs=" (case-insensitive).
 */
int pb_batv_is_prvs(const char *addr);

#endif
