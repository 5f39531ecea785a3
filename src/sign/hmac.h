/*
 * hmac - what srs.c and batv.c share: HMAC-SHA1 with one key, the two
 * encodings of a MAC that SRS and prvs put in addresses, a constant-time,
 * case-insensitive comparison, and the day number both schemes stamp.
 * Internal to sign/.
 *
 * Memory: callers' buffers, and one HMAC context per thread (hmac.c).
 * Thread-safe.
 */
#ifndef PB_SIGN_HMAC_H
#define PB_SIGN_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/secrets.h"

#define PB_SHA1_LEN 20	   /* bytes of an HMAC-SHA1 */
#define PB_SHA1_B64_LEN 27 /* base64 characters of one, without padding */
#define PB_SHA1_HEX_LEN 40 /* hex digits of one */

/* pb_key_usable - a key HMAC can use: 1..PB_KEY_LEN_MAX bytes. */
bool pb_key_usable(const pb_key *key);

/* pb_hmac_sha1 - HMAC-SHA1(key, msg[0..len)) into mac.  0, or -1 when the
 * crypto library fails (out of memory) or the key is unusable. */
int pb_hmac_sha1(const pb_key *key, const void *msg, size_t len,
		 unsigned char mac[PB_SHA1_LEN]);

/* pb_mac_base64 - mac in base64 (A-Z a-z 0-9 + /), without the padding:
 * PB_SHA1_B64_LEN characters and a NUL into out. */
void pb_mac_base64(const unsigned char mac[PB_SHA1_LEN],
		   char out[PB_SHA1_B64_LEN + 1]);

/* pb_mac_hex - mac in lower-case hex: PB_SHA1_HEX_LEN digits and a NUL. */
void pb_mac_hex(const unsigned char mac[PB_SHA1_LEN],
		char out[PB_SHA1_HEX_LEN + 1]);

/* pb_mac_equal_fold - a[0..n) equals b[0..n) ignoring ASCII case, in time
 * that depends on n only.  n <= PB_SHA1_HEX_LEN. */
bool pb_mac_equal_fold(const char *a, const char *b, size_t n);

/* pb_sign_day - whole days since 1970-01-01 UTC, rounded down (also
 * before 1970), as Exim's and Mail::SRS's time / 86400. */
long long pb_sign_day(time_t now);

#endif
