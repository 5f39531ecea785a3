/*
 * fuzz_batv - libFuzzer harness for pb_batv_sign, pb_batv_verify and
 * pb_batv_is_prvs.
 *
 * Input: an 8-byte header, then the address (NUL-terminated copy; an
 * embedded NUL ends it).
 *   byte 0  key number to sign with (% 10); bit 7: verify with a key list
 *           that also holds another number (rotation)
 *   byte 1  max_age (0 = default 7); byte 2 bit 0: max_age += 744
 *   3       unused
 *   4..7    the clock: a little-endian signed 32-bit time_t
 * Shorter inputs are the address alone, key 0, defaults, a fixed time.
 *
 * Invariants (the harness aborts when one breaks):
 * - results are one of the error classes; on error the output is empty;
 *   on success it is NUL-terminated, shorter than PB_SIGN_OUT_MAX and
 *   than the buffer given (exactly-sized heap buffers; once one byte too
 *   small);
 * - verify gives the text after "prvs=KDDDHHHHHH=", never anything else;
 *   it only answers for inputs starting with "prvs=";
 * - sign returns a prvs address unchanged; else sign is deterministic,
 *   its output is "prvs=" K DDD 6 lower-case hex "=" input, and it
 *   verifies to the input from the signing day through day max_age, is
 *   expired the day after (max_age < 999), and still verifies with the
 *   hex digits upper-cased and with a rotation key list.
 *
 * Memory: heap copies sized exactly, freed each run.  Single-threaded.
 * SECURITY: the input is arbitrary bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign/sign.h"

#define HDR 8
#define DAY 86400

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* die - report a broken invariant and abort */
static void die(const char *what, const char *in, const char *out)
{
	fprintf(stderr, "invariant broken: %s (in \"%s\" out \"%s\")\n", what,
		in, out != NULL ? out : "");
	abort();
}

/* key_add - one numbered key */
static void key_add(pb_keys *k, int id, const char *s)
{
	k->keys[k->n].id = id;
	k->keys[k->n].len = strlen(s);
	memcpy(k->keys[k->n].secret, s, strlen(s));
	k->n++;
}

/* call - run f with an exactly-sized heap buffer of outlen bytes, check
 * the output contract, copy the output to res (PB_SIGN_OUT_MAX) */
static pb_sign_err call(pb_sign_err (*f)(const pb_batv_opts *, time_t,
					 const char *, char *, size_t),
			const pb_batv_opts *o, time_t now, const char *in,
			size_t outlen, char *res)
{
	char *out = malloc(outlen);
	pb_sign_err e;
	size_t n;

	if (out == NULL)
		abort();
	e = f(o, now, in, out, outlen);
	n = strnlen(out, outlen);
	if (strcmp(pb_sign_err_name(e), "unknown") == 0)
		die("unknown error class", in, NULL);
	if (n >= outlen || n >= PB_SIGN_OUT_MAX)
		die("output not NUL-terminated in bounds", in, NULL);
	if (e != PB_SIGN_OK && n != 0)
		die("output not empty on error", in, out);
	snprintf(res, PB_SIGN_OUT_MAX, "%s", out);
	free(out);
	return e;
}

/* is_lower_hex - s[0..n) are 0-9 a-f */
static int is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* signed_ok - the invariants of a successful sign */
static void signed_ok(const pb_batv_opts *o, const pb_batv_opts *verify,
		      time_t now, const char *in, const char *s, int id)
{
	char back[PB_SIGN_OUT_MAX], up[PB_SIGN_OUT_MAX], again[PB_SIGN_OUT_MAX];
	int age = o->max_age ? o->max_age : 7;

	if (pb_batv_is_prvs(in)) {
		if (strcmp(s, in) != 0)
			die("a prvs address was changed", in, s);
		return;
	}
	if (call(pb_batv_sign, o, now, in, PB_SIGN_OUT_MAX, again) !=
		PB_SIGN_OK ||
	    strcmp(again, s) != 0)
		die("sign not deterministic", in, again);
	if (strlen(s) != strlen(in) + 16 || strncmp(s, "prvs=", 5) != 0 ||
	    s[5] != '0' + id || s[6] < '0' || s[6] > '9' || s[7] < '0' ||
	    s[7] > '9' || s[8] < '0' || s[8] > '9' || !is_lower_hex(s + 9, 6) ||
	    s[15] != '=' || strcmp(s + 16, in) != 0)
		die("sign output format", in, s);
	if (call(pb_batv_sign, o, now, in, strlen(s) + 1, again) !=
		PB_SIGN_OK ||
	    call(pb_batv_sign, o, now, in, strlen(s), again) !=
		PB_SIGN_TOO_LONG)
		die("output buffer bound", in, s);
	for (int d = 0; d <= age; d += (age > 40 ? age / 7 + 1 : 1))
		if (call(pb_batv_verify, verify, now + (time_t)d * DAY, s,
			 PB_SIGN_OUT_MAX, back) != PB_SIGN_OK ||
		    strcmp(back, in) != 0)
			die("verify(sign(x)) != x within max_age", in, back);
	if (call(pb_batv_verify, verify, now + (time_t)age * DAY, s,
		 PB_SIGN_OUT_MAX, back) != PB_SIGN_OK)
		die("expired on the expiry day", in, s);
	if (age < 999 &&
	    call(pb_batv_verify, verify, now + (time_t)(age + 1) * DAY, s,
		 PB_SIGN_OUT_MAX, back) != PB_SIGN_EXPIRED)
		die("valid after the expiry day", in, s);
	snprintf(up, sizeof(up), "%s", s);
	for (size_t i = 9; i < 15; i++)
		if (up[i] >= 'a' && up[i] <= 'f')
			up[i] = (char)(up[i] - 32);
	up[0] = 'P';
	if (call(pb_batv_verify, verify, now, up, PB_SIGN_OUT_MAX, back) !=
		PB_SIGN_OK ||
	    strcmp(back, in) != 0)
		die("upper-cased hash does not verify", up, back);
	/* another key number does not verify */
	up[5] = (char)('0' + (id + 1) % 10);
	if (call(pb_batv_verify, verify, now, up, PB_SIGN_OUT_MAX, back) ==
	    PB_SIGN_OK)
		die("verified under another key number", up, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pb_keys k = {0}, rot = {0};
	pb_batv_opts o = {.keys = &k}, verify;
	char res[PB_SIGN_OUT_MAX], res2[PB_SIGN_OUT_MAX];
	time_t now = 1700000000;
	size_t off = 0;
	int id = 0;
	char *in;
	pb_sign_err e;

	if (size >= HDR) {
		int32_t t;

		id = data[0] % 10;
		o.max_age = data[1] + ((data[2] & 1) ? 744 : 0);
		t = (int32_t)((uint32_t)data[4] | (uint32_t)data[5] << 8 |
			      (uint32_t)data[6] << 16 |
			      (uint32_t)data[7] << 24);
		now = (time_t)t;
		off = HDR;
	}
	key_add(&k, id, "fuzz batv key");
	key_add(&rot, (id + 5) % 10, "another key");
	key_add(&rot, id, "fuzz batv key");
	verify = o;
	if (size >= HDR && (data[0] & 0x80))
		verify.keys = &rot;
	in = malloc(size - off + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data + off, size - off);
	in[size - off] = '\0';

	/* verify anything */
	e = call(pb_batv_verify, &o, now, in, PB_SIGN_OUT_MAX, res);
	if (e != PB_SIGN_NOT_SIGNED && !pb_batv_is_prvs(in) &&
	    strlen(in) <= PB_SIGN_IN_MAX)
		die("verify took a non-prvs address", in, res);
	if (e == PB_SIGN_OK) {
		if (strlen(in) < 16 || strcmp(res, in + 16) != 0)
			die("verify gave something but the inner address", in,
			    res);
		if (call(pb_batv_verify, &o, now, in, strlen(res), res2) !=
		    PB_SIGN_TOO_LONG)
			die("verify ignored outlen", in, res);
	}
	/* sign anything, and verify it */
	e = call(pb_batv_sign, &o, now, in, PB_SIGN_OUT_MAX, res);
	if (e == PB_SIGN_OK)
		signed_ok(&o, &verify, now, in, res, id);
	free(in);
	return 0;
}
