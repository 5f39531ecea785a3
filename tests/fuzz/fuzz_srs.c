/*
 * fuzz_srs - libFuzzer harness for pb_srs_forward, pb_srs_reverse and
 * pb_srs_is_srs.
 *
 * Input: an 8-byte header, then the address (NUL-terminated copy; an
 * embedded NUL ends it, as it would for any C caller).
 *   byte 0  bits 0-1 separator ('=', '+', '-', 0 = default); bit 2 sign
 *           with the new key of a rotation pair; bit 3 max_age += 768
 *   byte 1  hash_length % 28 (0 = default 4)
 *   byte 2  min_hash_length % 28 (0 = default: hash_length)
 *   byte 3  max_age (0 = default 21)
 *   4..7    the clock: a little-endian signed 32-bit time_t
 * Shorter inputs are the address alone, with the default options at a
 * fixed time.
 *
 * Invariants (the harness aborts when one breaks):
 * - results are one of the error classes; on error the output is empty;
 *   on success it is NUL-terminated, shorter than PB_SIGN_OUT_MAX and
 *   than the buffer given (checked with exactly-sized heap buffers, and
 *   once with a buffer too small by one);
 * - reverse never makes an address longer;
 * - reverse(forward(x)) gives x for a plain address, x with an
 *   upper-case "SRS0" tag for an SRS0 address, and "SRS0" opaque "@"
 *   srshost for an SRS1 address; forward of an address at the SRS domain
 *   is x itself; forward is deterministic;
 * - a fresh SRS0 is valid for max_age days and expired the day after
 *   (when max_age < 1023), also with every ASCII letter upper-cased, and
 *   also when verified with the key list of a rotation.
 *
 * Memory: heap copies sized exactly, freed each run.  Single-threaded.
 * SECURITY: the input is arbitrary bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* key_set - one key (SRS, unnumbered) */
static void key_set(pb_keys *k, const char *s)
{
	k->keys[k->n].id = -1;
	k->keys[k->n].len = strlen(s);
	memcpy(k->keys[k->n].secret, s, strlen(s));
	k->n++;
}

/* check_result - the output contract of one call */
static void check_result(const char *what, const char *in, pb_sign_err e,
			 const char *out, size_t outlen)
{
	size_t n = strnlen(out, outlen);

	if (strcmp(pb_sign_err_name(e), "unknown") == 0)
		die("unknown error class", in, NULL);
	if (n >= outlen || n >= PB_SIGN_OUT_MAX)
		die(what, in, "(not NUL-terminated in bounds)");
	if (e != PB_SIGN_OK && n != 0)
		die("output not empty on error", in, out);
}

/* call - run f on in with an exactly-sized heap buffer of outlen bytes,
 * check the result contract, leave the output in res (PB_SIGN_OUT_MAX) */
static pb_sign_err call(pb_sign_err (*f)(const pb_srs_opts *, time_t,
					 const char *, char *, size_t),
			const pb_srs_opts *o, time_t now, const char *in,
			size_t outlen, char *res)
{
	char *out = malloc(outlen);
	pb_sign_err e;

	if (out == NULL)
		abort();
	e = f(o, now, in, out, outlen);
	check_result("result", in, e, out, outlen);
	snprintf(res, PB_SIGN_OUT_MAX, "%s", out);
	free(out);
	return e;
}

/* upper - ASCII upper case of s into d (PB_SIGN_OUT_MAX) */
static void upper(const char *s, char *d)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < PB_SIGN_OUT_MAX; i++)
		d[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
	d[i] = '\0';
}

/* expected_back - what reverse(forward(in)) must give, in is an address
 * forward accepted */
static void expected_back(const char *in, char *want)
{
	const char *at = strrchr(in, '@');
	size_t local = (size_t)(at - in);

	if (local >= 5 && strncasecmp(in, "SRS1", 4) == 0 &&
	    strchr("=+-", in[4]) != NULL) {
		/* SRS1<sep>hash=host=opaque@x -> SRS0opaque@host */
		const char *h = memchr(in + 5, '=', local - 5);
		const char *o = memchr(h + 1, '=', (size_t)(at - h - 1));

		snprintf(want, PB_SIGN_OUT_MAX, "SRS0%.*s@%.*s",
			 (int)(at - o - 1), o + 1, (int)(o - h - 1), h + 1);
	} else if (local >= 5 && strncasecmp(in, "SRS0", 4) == 0 &&
		   strchr("=+-", in[4]) != NULL) {
		snprintf(want, PB_SIGN_OUT_MAX, "SRS0%s", in + 4);
	} else {
		snprintf(want, PB_SIGN_OUT_MAX, "%s", in);
	}
}

/* round_trip - the invariants of a successful forward */
static void round_trip(const pb_srs_opts *o, const pb_srs_opts *verify,
		       time_t now, const char *in, const char *fwd)
{
	char back[PB_SIGN_OUT_MAX], want[PB_SIGN_OUT_MAX];
	char up[PB_SIGN_OUT_MAX], again[PB_SIGN_OUT_MAX];
	int hl = o->hash_length ? o->hash_length : 4;
	int hmin = o->min_hash_length ? o->min_hash_length : hl;
	int age = o->max_age ? o->max_age : 21;
	pb_sign_err e;

	if (call(pb_srs_forward, o, now, in, PB_SIGN_OUT_MAX, again) !=
		PB_SIGN_OK ||
	    strcmp(again, fwd) != 0)
		die("forward not deterministic", in, again);
	if (strcmp(fwd, in) == 0)
		return; /* at the SRS domain: left as it is */
	if (!pb_srs_is_srs(fwd))
		die("forward output is not SRS", in, fwd);
	/* (re-signing an SRS1 may shorten it: a long old hash or domain) */
	if (strncmp(fwd, "SRS0", 4) == 0 && strlen(fwd) <= strlen(in))
		die("SRS0 not longer than its address", in, fwd);
	/* exactly enough room works; one byte less is too-long */
	if (call(pb_srs_forward, o, now, in, strlen(fwd) + 1, again) !=
		PB_SIGN_OK ||
	    call(pb_srs_forward, o, now, in, strlen(fwd), again) !=
		PB_SIGN_TOO_LONG)
		die("output buffer bound", in, fwd);
	if (hmin > hl)
		return; /* our own hashes are too short to verify */
	e = call(pb_srs_reverse, verify, now, fwd, PB_SIGN_OUT_MAX, back);
	expected_back(in, want);
	if (e != PB_SIGN_OK || strcmp(back, want) != 0)
		die("reverse(forward(x)) != x", in, back);
	if (strncmp(fwd, "SRS0", 4) != 0)
		return;
	/* SRS0: the age window, and case folding */
	if (call(pb_srs_reverse, verify, now + (time_t)age * DAY, fwd,
		 PB_SIGN_OUT_MAX, back) != PB_SIGN_OK)
		die("SRS0 expired before max_age", in, fwd);
	if (age < 1023 &&
	    call(pb_srs_reverse, verify, now + (time_t)(age + 1) * DAY, fwd,
		 PB_SIGN_OUT_MAX, back) != PB_SIGN_EXPIRED)
		die("SRS0 valid after max_age", in, fwd);
	upper(fwd, up);
	upper(want, want);
	if (call(pb_srs_reverse, verify, now, up, PB_SIGN_OUT_MAX, back) !=
		PB_SIGN_OK ||
	    strcmp(back, want) != 0)
		die("upper-cased SRS0 does not reverse", up, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char seps[] = {'=', '+', '-', '\0'};
	pb_keys one = {0}, two = {0}, rot = {0};
	pb_srs_opts o = {.domain = "srs.example.org"}, verify;
	char res[PB_SIGN_OUT_MAX], res2[PB_SIGN_OUT_MAX];
	time_t now = 1700000000;
	size_t off = 0;
	char *in;
	pb_sign_err e;

	key_set(&one, "fuzz key one");
	key_set(&two, "fuzz key two");
	key_set(&rot, "fuzz key two");
	key_set(&rot, "fuzz key one");
	o.keys = &one;
	if (size >= HDR) {
		int32_t t;

		o.separator = seps[data[0] & 3];
		o.keys = (data[0] & 4) ? &two : &one;
		o.hash_length = data[1] % 28;
		o.min_hash_length = data[2] % 28;
		o.max_age = data[3] + ((data[0] & 8) ? 768 : 0);
		t = (int32_t)((uint32_t)data[4] | (uint32_t)data[5] << 8 |
			      (uint32_t)data[6] << 16 |
			      (uint32_t)data[7] << 24);
		now = (time_t)t;
		off = HDR;
	}
	in = malloc(size - off + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data + off, size - off);
	in[size - off] = '\0';

	if (pb_srs_is_srs(in) != 0 && pb_srs_is_srs(in) != 1)
		abort();
	/* reverse of anything */
	e = call(pb_srs_reverse, &o, now, in, PB_SIGN_OUT_MAX, res);
	if (e == PB_SIGN_OK && strlen(res) >= strlen(in))
		die("reverse made it longer", in, res);
	if (e != PB_SIGN_NOT_SIGNED && !pb_srs_is_srs(in) &&
	    strlen(in) <= PB_SIGN_IN_MAX)
		die("reverse took a non-SRS address", in, res);
	if (e == PB_SIGN_OK && call(pb_srs_reverse, &o, now, in, strlen(res),
				    res2) != PB_SIGN_TOO_LONG)
		die("reverse ignored outlen", in, res);
	/* forward of anything, and back */
	e = call(pb_srs_forward, &o, now, in, PB_SIGN_OUT_MAX, res);
	verify = o;
	verify.keys =
	    (data != NULL && size >= HDR && (data[0] & 4)) ? &rot : &one;
	if (e == PB_SIGN_OK)
		round_trip(&o, &verify, now, in, res);
	free(in);
	return 0;
}
