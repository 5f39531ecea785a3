/*
 * batv - BATV "prvs" return paths, byte-compatible with Exim's ${prvs}
 * and ${prvscheck} (src/src/expand.c: prvs_daystamp, prvs_hmac_sha1,
 * EITEM_PRVS, EITEM_PRVSCHECK; the same from 4.96 to today).
 *
 *   prvs=K DDD HHHHHH "=" local "@" domain
 *
 * K     the key number, one digit (Exim: the third ${prvs} argument).
 * DDD   the expiry day: the last three decimal digits of
 *       (now + max_age days) / 86400 (prvs_daystamp(7): Exim always
 *       signs for 7 days).
 * HHHHHH the first three bytes of HMAC-SHA1(secret, K DDD address) in
 *       lower-case hex; the address is the one signed, as given, not
 *       lower-cased.  Exim does HMAC by hand with a 64-byte block and
 *       refuses keys longer than 64 bytes, which is standard HMAC for the
 *       keys it accepts; longer keys work here but not with Exim.
 *
 * Verifying follows ${prvscheck}'s pattern
 * ^prvs=([0-9])([0-9]{3})([A-F0-9]{6})=(.+)@(.+)$ (case-insensitive, the
 * local part runs to the last '@'); an address that starts with "prvs="
 * but does not fit it is "malformed".  Differences, all deliberate:
 * - The hash compares case-insensitively (Exim: strcmp against lower-case
 *   hex, so it refuses a case-smashed prvs that we accept).
 * - Expiry: valid while (DDD - today) mod 1000 <= max_age, i.e. today <=
 *   expiry <= today + max_age with the wrap at 1000.  Exim accepts any
 *   DDD >= today (so also days far in the future) and handles the wrap
 *   only for DDD < 7 when today >= 993 ("flip"): with max_age <= 7 both
 *   accept exactly the addresses the other writes; with a longer max_age
 *   Exim refuses ours for a few days before each wrap.
 * - The key is chosen by K; a K with no key is "bad-hash" (a forged
 *   digit must not look like a configuration problem).
 *
 * Memory: callers' buffers only; scratch on the stack, bounded by
 * PB_SIGN_IN_MAX.  Pure and thread-safe.
 * SECURITY: addresses are untrusted: lengths are checked before any copy,
 * hashes compared in constant time, nothing written past outlen.
 */
#include "sign/sign.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "sign/hmac.h"

#define PRVS_TAG_LEN 5	   /* "prvs=" */
#define PRVS_HEAD_LEN 16   /* "prvs=" K DDD HHHHHH "=" */
#define PRVS_HASH_LEN 6	   /* hex digits kept */
#define PRVS_DAYS 1000	   /* DDD wraps here */
#define PRVS_AGE_DEFAULT 7 /* Exim's ${prvs} */

/* is_digit - ASCII 0-9 */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* is_hex - ASCII hex digit, any case */
static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* pb_batv_is_prvs - "prvs=", any case. */
int pb_batv_is_prvs(const char *addr)
{
	return addr != NULL && strncasecmp(addr, "prvs=", PRVS_TAG_LEN) == 0;
}

/* has_mailbox - s[0..n) is local@domain with both parts non-empty, the
 * domain after the last '@' */
static bool has_mailbox(const char *s, size_t n)
{
	const char *at = memrchr(s, '@', n);

	return at != NULL && at != s && at + 1 != s + n;
}

/* start - set up out and check addr's length; PB_SIGN_OK with *len set */
static pb_sign_err start(char *out, size_t outlen, const char *addr,
			 size_t *len)
{
	if (out == NULL || outlen == 0)
		return PB_SIGN_TOO_LONG;
	out[0] = '\0';
	if (addr == NULL)
		return PB_SIGN_MALFORMED;
	*len = strnlen(addr, PB_SIGN_IN_MAX + 1);
	return *len > PB_SIGN_IN_MAX ? PB_SIGN_TOO_LONG : PB_SIGN_OK;
}

/* fits - a result of n bytes fits out (and PB_SIGN_OUT_MAX) with a NUL */
static bool fits(size_t n, size_t outlen)
{
	return n < outlen && n < PB_SIGN_OUT_MAX;
}

/* max_age_of - the option, default 7; -1 when out of 1..999 */
static int max_age_of(const pb_batv_opts *o)
{
	int a = o->max_age == 0 ? PRVS_AGE_DEFAULT : o->max_age;

	return a >= 1 && a < PRVS_DAYS ? a : -1;
}

/* prvs_hash - the six hex digits for key number digit k, day ddd and the
 * address; 0 or -1 when HMAC failed */
static int prvs_hash(const pb_key *key, char k, const char ddd[3],
		     const char *addr, size_t len,
		     char hex[PB_SHA1_HEX_LEN + 1])
{
	char msg[4 + PB_SIGN_IN_MAX];
	unsigned char mac[PB_SHA1_LEN];

	if (len > PB_SIGN_IN_MAX)
		return -1;
	msg[0] = k;
	memcpy(msg + 1, ddd, 3);
	memcpy(msg + 4, addr, len);
	if (pb_hmac_sha1(key, msg, 4 + len, mac) < 0)
		return -1;
	pb_mac_hex(mac, hex);
	return 0;
}

/* pb_batv_sign - "prvs=" K DDD HHHHHH "=" addr with keys[0]. */
pb_sign_err pb_batv_sign(const pb_batv_opts *o, time_t now, const char *addr,
			 char *out, size_t outlen)
{
	char hex[PB_SHA1_HEX_LEN + 1], ddd[3], k;
	const pb_key *key;
	size_t len = 0;
	long long day;
	int age;
	pb_sign_err e;

	if ((e = start(out, outlen, addr, &len)) != PB_SIGN_OK)
		return e;
	if (pb_batv_is_prvs(addr)) {
		if (!fits(len, outlen))
			return PB_SIGN_TOO_LONG;
		memcpy(out, addr, len + 1);
		return PB_SIGN_OK;
	}
	if (o == NULL || o->keys == NULL || o->keys->n == 0 ||
	    o->keys->n > PB_KEYS_MAX || (age = max_age_of(o)) < 0)
		return PB_SIGN_NO_KEY;
	key = &o->keys->keys[0];
	if (key->id < 0 || key->id > 9 || !pb_key_usable(key))
		return PB_SIGN_NO_KEY;
	if (!has_mailbox(addr, len))
		return PB_SIGN_MALFORMED;
	if (!fits(PRVS_HEAD_LEN + len, outlen))
		return PB_SIGN_TOO_LONG;
	day = (pb_sign_day(now) + age) % PRVS_DAYS;
	if (day < 0)
		day += PRVS_DAYS;
	ddd[0] = (char)('0' + day / 100);
	ddd[1] = (char)('0' + day / 10 % 10);
	ddd[2] = (char)('0' + day % 10);
	k = (char)('0' + key->id);
	if (prvs_hash(key, k, ddd, addr, len, hex) < 0)
		return PB_SIGN_NO_KEY;
	memcpy(out, "prvs=", PRVS_TAG_LEN);
	out[5] = k;
	memcpy(out + 6, ddd, 3);
	memcpy(out + 9, hex, PRVS_HASH_LEN);
	out[15] = '=';
	memcpy(out + PRVS_HEAD_LEN, addr, len + 1);
	return PB_SIGN_OK;
}

/* pb_batv_verify - check hash (by key number) and expiry, give the
 * address inside. */
pb_sign_err pb_batv_verify(const pb_batv_opts *o, time_t now, const char *addr,
			   char *out, size_t outlen)
{
	char hex[PB_SHA1_HEX_LEN + 1];
	const char *p, *inner;
	size_t len = 0, inner_len;
	long long expiry, today;
	int age, found = 0, tried = 0;
	pb_sign_err e;

	if ((e = start(out, outlen, addr, &len)) != PB_SIGN_OK)
		return e;
	if (!pb_batv_is_prvs(addr))
		return PB_SIGN_NOT_SIGNED;
	p = addr + PRVS_TAG_LEN;
	if (len < PRVS_HEAD_LEN || !is_digit(p[0]) || !is_digit(p[1]) ||
	    !is_digit(p[2]) || !is_digit(p[3]) || p[10] != '=')
		return PB_SIGN_MALFORMED;
	for (size_t i = 4; i < 10; i++)
		if (!is_hex(p[i]))
			return PB_SIGN_MALFORMED;
	inner = addr + PRVS_HEAD_LEN;
	inner_len = len - PRVS_HEAD_LEN;
	if (!has_mailbox(inner, inner_len))
		return PB_SIGN_MALFORMED;
	if (o == NULL || o->keys == NULL || o->keys->n == 0 ||
	    o->keys->n > PB_KEYS_MAX || (age = max_age_of(o)) < 0)
		return PB_SIGN_NO_KEY;
	for (size_t i = 0; i < o->keys->n; i++) {
		const pb_key *key = &o->keys->keys[i];

		if (key->id != p[0] - '0' || !pb_key_usable(key))
			continue;
		if (prvs_hash(key, p[0], p + 1, inner, inner_len, hex) < 0)
			return PB_SIGN_NO_KEY;
		tried = 1;
		found |= pb_mac_equal_fold(p + 4, hex, PRVS_HASH_LEN);
	}
	if (!tried || !found)
		return PB_SIGN_BAD_HASH;
	expiry = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
	today = pb_sign_day(now) % PRVS_DAYS;
	if (today < 0)
		today += PRVS_DAYS;
	if ((expiry - today + PRVS_DAYS) % PRVS_DAYS > age)
		return PB_SIGN_EXPIRED;
	if (!fits(inner_len, outlen))
		return PB_SIGN_TOO_LONG;
	memcpy(out, inner, inner_len + 1);
	return PB_SIGN_OK;
}
