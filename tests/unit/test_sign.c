/*
 * test_sign - unit tests for sign/ (SRS and BATV prvs) and core/secrets.
 *
 * Known-answer vectors, produced by the real implementations and pasted
 * here as their output (they are what pushback must agree with):
 *
 * - SRS: Mail::SRS 0.31 (Debian libmail-srs-perl 0.31-9), the Guarded
 *   default class, with its clock fixed by overriding time() before the
 *   module is compiled:
 *
 *     BEGIN { our $T = 1700000000;
 *             *CORE::GLOBAL::time = sub () { $main::T }; }
 *     use Mail::SRS;
 *     my $s = Mail::SRS->new(Secret => SECRET, Separator => SEP,
 *                            HashLength => LEN);
 *     my $f  = $s->forward(ADDR, DOMAIN);        # SRS0
 *     my $f1 = $s->forward($f, "hop2.example");  # SRS1
 *     my $f2 = $s->forward($f1, "hop3.example"); # SRS1 again
 *     print $s->reverse($f), $s->reverse($f1), $s->reverse($f2);
 *
 *   and for the wrap-around vector $T = 20479 * 86400 + 3600 (day 20479,
 *   1023 modulo 1024, timestamp "77"), reversed with $T moved by -1, 0, 1,
 *   5, 21 and 22 days (valid for 0..21 only) and once upper-cased.
 *
 * - prvs: Exim 4.96 (Debian exim4-daemon-light 4.96-15+deb12u10, unpacked
 *   by scripts/fetch-exim) on day 20779 (2026-11-22 UTC), so the expiry
 *   stamp is 786:
 *
 *     exim4 -C private.conf -be '${prvs{alice@example.org}{testsecret}{0}}'
 *
 *   for each row of batv_kat below.
 *
 * Everything else is table-driven: round trips, every error class, case
 * folding, key rotation, the 1024-day (SRS) and 1000-day (prvs) wrap,
 * hash lengths, separators, and addresses at the length limits.  The
 * secrets tests write key files into a private temporary directory.
 *
 * Memory: test-only; fixed buffers, key files removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/secrets.h"
#include "sign/sign.h"

#define DAY 86400
#define T0 ((time_t)1700000000)		     /* day 19675, stamp "G3" */
#define T_WRAP ((time_t)20479 * DAY + 3600)  /* day 1023 mod 1024 */
#define T_EXIM ((time_t)20779 * DAY + 43200) /* the Exim vectors' day */

static int failures;

/* name - short alias for the error names */
static const char *name(pb_sign_err e)
{
	return pb_sign_err_name(e);
}

/* expect - compare one call's result and output with the wanted ones;
 * want_out NULL: output not checked */
static void expect(const char *what, const char *in, pb_sign_err got,
		   const char *out, pb_sign_err want, const char *want_out)
{
	if (got != want) {
		print_error("%s(\"%s\"): got %s (\"%s\"), want %s\n", what, in,
			    name(got), out, name(want));
		failures++;
		return;
	}
	if (want_out != NULL && strcmp(out, want_out) != 0) {
		print_error("%s(\"%s\"): got \"%s\", want \"%s\"\n", what, in,
			    out, want_out);
		failures++;
	}
	if (got != PB_SIGN_OK && out[0] != '\0') {
		print_error("%s(\"%s\"): %s but output \"%s\" not empty\n",
			    what, in, name(got), out);
		failures++;
	}
}

/* add_key - append a secret with BATV number id (-1 for SRS) */
static void add_key(pb_keys *k, int id, const char *secret)
{
	pb_key *key = &k->keys[k->n++];

	key->id = id;
	key->len = strlen(secret);
	memcpy(key->secret, secret, key->len);
}

/* srs_opts - options with the usual defaults */
static pb_srs_opts srs_opts(const pb_keys *k, const char *domain)
{
	return (pb_srs_opts){.keys = k,
			     .domain = domain,
			     .separator = '=',
			     .hash_length = 4,
			     .min_hash_length = 4,
			     .max_age = 21};
}

/* fwd - forward, checked */
static void fwd(const pb_srs_opts *o, time_t now, const char *in,
		pb_sign_err want, const char *want_out)
{
	char out[PB_SIGN_OUT_MAX];

	expect("pb_srs_forward", in,
	       pb_srs_forward(o, now, in, out, sizeof(out)), out, want,
	       want_out);
}

/* rev - reverse, checked */
static void rev(const pb_srs_opts *o, time_t now, const char *in,
		pb_sign_err want, const char *want_out)
{
	char out[PB_SIGN_OUT_MAX];

	expect("pb_srs_reverse", in,
	       pb_srs_reverse(o, now, in, out, sizeof(out)), out, want,
	       want_out);
}

/* bsign - BATV sign, checked */
static void bsign(const pb_batv_opts *o, time_t now, const char *in,
		  pb_sign_err want, const char *want_out)
{
	char out[PB_SIGN_OUT_MAX];

	expect("pb_batv_sign", in, pb_batv_sign(o, now, in, out, sizeof(out)),
	       out, want, want_out);
}

/* bver - BATV verify, checked */
static void bver(const pb_batv_opts *o, time_t now, const char *in,
		 pb_sign_err want, const char *want_out)
{
	char out[PB_SIGN_OUT_MAX];

	expect("pb_batv_verify", in,
	       pb_batv_verify(o, now, in, out, sizeof(out)), out, want,
	       want_out);
}

/* ---- error names ----------------------------------------------------- */

static void test_err_names(void **state)
{
	(void)state;
	assert_string_equal(pb_sign_err_name(PB_SIGN_OK), "ok");
	assert_string_equal(pb_sign_err_name(PB_SIGN_NOT_SIGNED), "not-srs");
	assert_string_equal(pb_sign_err_name(PB_SIGN_BAD_HASH), "bad-hash");
	assert_string_equal(pb_sign_err_name(PB_SIGN_EXPIRED), "expired");
	assert_string_equal(pb_sign_err_name(PB_SIGN_MALFORMED), "malformed");
	assert_string_equal(pb_sign_err_name(PB_SIGN_TOO_LONG), "too-long");
	assert_string_equal(pb_sign_err_name(PB_SIGN_NO_KEY), "no-key");
	assert_string_equal(pb_sign_err_name((pb_sign_err)99), "unknown");
}

/* ---- SRS known answers (Mail::SRS) ----------------------------------- */

struct srs_kat {
	const char *secret;
	char sep;
	int hash_length;
	const char *addr, *domain;
	const char *srs0, *srs1_hop2, *srs1_hop3;
};

static const struct srs_kat srs_kat[] = {
    {"testsecret", '=', 4, "alice@foo.example", "srs.example.org",
     "SRS0=AGeG=G3=foo.example=alice@srs.example.org",
     "SRS1=4TIx=srs.example.org==AGeG=G3=foo.example=alice@hop2.example",
     "SRS1=4TIx=srs.example.org==AGeG=G3=foo.example=alice@hop3.example"},
    {"testsecret", '+', 4, "Bob.Smith+tag@Example.COM", "srs.example.org",
     "SRS0+cktO=G3=Example.COM=Bob.Smith+tag@srs.example.org",
     "SRS1+9lDw=srs.example.org=+cktO=G3=Example.COM=Bob.Smith+tag@"
     "hop2.example",
     "SRS1+9lDw=srs.example.org=+cktO=G3=Example.COM=Bob.Smith+tag@"
     "hop3.example"},
    {"k2/with+chars", '-', 6, "x=y@a.example", "fwd.example.net",
     "SRS0-QA9I29=G3=a.example=x=y@fwd.example.net",
     "SRS1-sNnef3=fwd.example.net=-QA9I29=G3=a.example=x=y@hop2.example",
     "SRS1-sNnef3=fwd.example.net=-QA9I29=G3=a.example=x=y@hop3.example"},
    {"testsecret", '=', 8, "a@b.c", "srs.example.org",
     "SRS0=Q6djhkia=G3=b.c=a@srs.example.org",
     "SRS1=JyjPkuGk=srs.example.org==Q6djhkia=G3=b.c=a@hop2.example",
     "SRS1=JyjPkuGk=srs.example.org==Q6djhkia=G3=b.c=a@hop3.example"},
};

static void test_srs_kat(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof(srs_kat) / sizeof(srs_kat[0]); i++) {
		const struct srs_kat *v = &srs_kat[i];
		pb_keys k = {0};
		pb_srs_opts o, o2, o3;

		add_key(&k, -1, v->secret);
		o = srs_opts(&k, v->domain);
		o.separator = v->sep;
		o.hash_length = o.min_hash_length = v->hash_length;
		o2 = o;
		o2.domain = "hop2.example";
		o3 = o;
		o3.domain = "hop3.example";
		fwd(&o, T0, v->addr, PB_SIGN_OK, v->srs0);
		fwd(&o2, T0, v->srs0, PB_SIGN_OK, v->srs1_hop2);
		fwd(&o3, T0, v->srs1_hop2, PB_SIGN_OK, v->srs1_hop3);
		rev(&o, T0, v->srs0, PB_SIGN_OK, v->addr);
		rev(&o2, T0, v->srs1_hop2, PB_SIGN_OK, v->srs0);
		rev(&o3, T0, v->srs1_hop3, PB_SIGN_OK, v->srs0);
	}
	assert_int_equal(failures, 0);
}

/* The wrap-around vector: signed on day 1023 (mod 1024). */
static void test_srs_kat_wrap(void **state)
{
	static const char *srs0 =
	    "SRS0=ZKJ/=77=wrap.example=carol@srs.example.org";
	static const struct {
		int days;
		pb_sign_err want;
	} ages[] = {{-1, PB_SIGN_EXPIRED}, {0, PB_SIGN_OK},
		    {1, PB_SIGN_OK},	   {5, PB_SIGN_OK},
		    {21, PB_SIGN_OK},	   {22, PB_SIGN_EXPIRED}};
	pb_keys k = {0};
	pb_srs_opts o;

	(void)state;
	failures = 0;
	add_key(&k, -1, "testsecret");
	o = srs_opts(&k, "srs.example.org");
	fwd(&o, T_WRAP, "carol@wrap.example", PB_SIGN_OK, srs0);
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++)
		rev(&o, T_WRAP + (time_t)ages[i].days * DAY, srs0, ages[i].want,
		    ages[i].want == PB_SIGN_OK ? "carol@wrap.example" : NULL);
	rev(&o, T_WRAP, "SRS0=ZKJ/=77=WRAP.EXAMPLE=CAROL@SRS.EXAMPLE.ORG",
	    PB_SIGN_OK, "CAROL@WRAP.EXAMPLE");
	assert_int_equal(failures, 0);
}

/* ---- SRS round trips and chains -------------------------------------- */

static void test_srs_roundtrip(void **state)
{
	static const char *addrs[] = {
	    "alice@example.net",
	    "Mixed.Case@Example.NET",
	    "a@b",
	    "x=y=z@eq.example",
	    "plus+tag@example.net",
	    "minus-tag@example.net",
	    "\"quoted local\"@example.net",
	    "u@[192.0.2.1]",
	    "SRS0x@not-srs.example",
	    "srs@example.net",
	    "j\xc3\xb6rg@b\xc3\xbc"
	    "cher.example",
	};
	static const char seps[] = {'=', '+', '-'};
	static const int lens[] = {4, 5, 8, 27};
	pb_keys k = {0};

	(void)state;
	failures = 0;
	add_key(&k, -1, "roundtrip secret");
	for (size_t s = 0; s < sizeof(seps); s++)
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
			for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]);
			     i++) {
				pb_srs_opts o = srs_opts(&k, "srs.example.org");
				char f[PB_SIGN_OUT_MAX];
				pb_sign_err e;

				o.separator = seps[s];
				o.hash_length = lens[l];
				e = pb_srs_forward(&o, T0, addrs[i], f,
						   sizeof(f));
				expect("pb_srs_forward", addrs[i], e, f,
				       PB_SIGN_OK, NULL);
				if (e != PB_SIGN_OK)
					continue;
				if (strncmp(f, "SRS0", 4) != 0 ||
				    f[4] != seps[s] ||
				    strcspn(f + 5, "=") != (size_t)lens[l]) {
					print_error("forward(\"%s\") = \"%s\": "
						    "want SRS0%c and %d hash "
						    "characters\n",
						    addrs[i], f, seps[s],
						    lens[l]);
					failures++;
				}
				rev(&o, T0, f, PB_SIGN_OK, addrs[i]);
				rev(&o, T0 + 21 * DAY, f, PB_SIGN_OK, addrs[i]);
			}
	assert_int_equal(failures, 0);
}

/* Three forwarders with three keys: only the SRS1 hash is checked by the
 * last hop, the SRS0 inside by the first. */
static void test_srs_chain(void **state)
{
	pb_keys ka = {0}, kb = {0}, kc = {0};
	pb_srs_opts a, b, c, cb;
	char s0[PB_SIGN_OUT_MAX], s1[PB_SIGN_OUT_MAX], s1c[PB_SIGN_OUT_MAX];
	char back[PB_SIGN_OUT_MAX];

	(void)state;
	failures = 0;
	add_key(&ka, -1, "key of hop A");
	add_key(&kb, -1, "key of hop B");
	add_key(&kc, -1, "key of hop C");
	a = srs_opts(&ka, "a.example");
	b = srs_opts(&kb, "b.example");
	c = srs_opts(&kc, "c.example");
	cb = srs_opts(&kb, "c.example");
	assert_int_equal(
	    pb_srs_forward(&a, T0, "u@orig.example", s0, sizeof(s0)),
	    PB_SIGN_OK);
	assert_int_equal(pb_srs_forward(&b, T0, s0, s1, sizeof(s1)),
			 PB_SIGN_OK);
	/* SRS1 = SRS1=HHHH=a.example=<s0 without "SRS0">@b.example */
	{
		char want[PB_SIGN_OUT_MAX];
		const char *at = strrchr(s0, '@');

		snprintf(want, sizeof(want), "=a.example=%.*s@b.example",
			 (int)(at - s0 - 4), s0 + 4);
		if (strncmp(s1, "SRS1=", 5) != 0 || strcmp(s1 + 9, want) != 0) {
			print_error("SRS1 \"%s\": want SRS1=HHHH%s\n", s1,
				    want);
			failures++;
		}
	}
	assert_int_equal(pb_srs_forward(&c, T0, s1, s1c, sizeof(s1c)),
			 PB_SIGN_OK);
	/* the third hop keeps host and opaque, re-signs, changes domain */
	if (strcmp(strchr(s1c + 5, '='), strchr(s1 + 5, '=')) == 0 ||
	    strncmp(strchr(s1c + 5, '='), strchr(s1 + 5, '='),
		    strlen(strchr(s1 + 5, '=')) - strlen("b.example")) != 0) {
		print_error("re-signed SRS1 \"%s\" from \"%s\"\n", s1c, s1);
		failures++;
	}
	rev(&c, T0, s1c, PB_SIGN_OK, s0);
	rev(&cb, T0, s1c, PB_SIGN_BAD_HASH, NULL);
	rev(&b, T0, s1, PB_SIGN_OK, s0);
	/* SRS1 has no timestamp of its own */
	rev(&b, T0 + 500 * DAY, s1, PB_SIGN_OK, s0);
	rev(&a, T0, s0, PB_SIGN_OK, "u@orig.example");
	/* only A can undo the SRS0 */
	rev(&b, T0, s0, PB_SIGN_BAD_HASH, NULL);
	/* a lower-case tag forwards too; reversing writes "SRS0" */
	memcpy(back, s0, sizeof(back));
	memcpy(back, "srs", 3);
	assert_int_equal(pb_srs_forward(&b, T0, back, s1, sizeof(s1)),
			 PB_SIGN_OK);
	rev(&b, T0, s1, PB_SIGN_OK, s0);
	/* an address at our own SRS domain is left as it is */
	fwd(&a, T0, s0, PB_SIGN_OK, s0);
	fwd(&a, T0, "x@A.Example.", PB_SIGN_OK, "x@A.Example.");
	assert_int_equal(failures, 0);
}

/* ---- SRS errors ------------------------------------------------------- */

struct srs_err_case {
	const char *addr;
	pb_sign_err want;
};

static const struct srs_err_case srs_rev_errors[] = {
    /* not SRS at all */
    {"alice@example.org", PB_SIGN_NOT_SIGNED},
    {"", PB_SIGN_NOT_SIGNED},
    {"SRS0", PB_SIGN_NOT_SIGNED},
    {"SRS2=AGeG=G3=foo.example=alice@srs.example.org", PB_SIGN_NOT_SIGNED},
    {"SRS0*AGeG=G3=foo.example=alice@srs.example.org", PB_SIGN_NOT_SIGNED},
    {"SRS0AGeG=G3=foo.example=alice@srs.example.org", PB_SIGN_NOT_SIGNED},
    {" SRS0=AGeG=G3=foo.example=alice@srs.example.org", PB_SIGN_NOT_SIGNED},
    {"prvs=0786603318=alice@example.org", PB_SIGN_NOT_SIGNED},
    /* SRS0 fields */
    {"SRS0=@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G3@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G3=foo.example@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G3=foo.example=@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G3==alice@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0==G3=foo.example=alice@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG==foo.example=alice@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G=foo.example=alice@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G3X=foo.example=alice@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G1=foo.example=alice@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G8=foo.example=alice@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G+=foo.example=alice@srs.example.org", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G3=foo.example=alice", PB_SIGN_MALFORMED},
    {"SRS0=AGeG=G3=foo.example=alice@", PB_SIGN_MALFORMED},
    /* SRS1 fields */
    {"SRS1=4TIx@hop2.example", PB_SIGN_MALFORMED},
    {"SRS1=4TIx=srs.example.org@hop2.example", PB_SIGN_MALFORMED},
    {"SRS1=4TIx=srs.example.org=@hop2.example", PB_SIGN_MALFORMED},
    {"SRS1=4TIx==x@hop2.example", PB_SIGN_MALFORMED},
    {"SRS1==srs.example.org==AGeG=G3=foo.example=alice@hop2.example",
     PB_SIGN_MALFORMED},
    /* hashes that do not match */
    {"SRS0=AGeH=G3=foo.example=alice@srs.example.org", PB_SIGN_BAD_HASH},
    {"SRS0=BGeG=G3=foo.example=alice@srs.example.org", PB_SIGN_BAD_HASH},
    {"SRS0=AGe=G3=foo.example=alice@srs.example.org", PB_SIGN_BAD_HASH},
    {"SRS0=AGeGx=G3=foo.example=alice@srs.example.org", PB_SIGN_BAD_HASH},
    {"SRS0=AGeG=G4=foo.example=alice@srs.example.org", PB_SIGN_BAD_HASH},
    {"SRS0=AGeG=G3=foo.example=alicf@srs.example.org", PB_SIGN_BAD_HASH},
    {"SRS0=AG.G=G3=foo.example=alice@srs.example.org", PB_SIGN_BAD_HASH},
    {"SRS1=4TIy=srs.example.org==AGeG=G3=foo.example=alice@hop2.example",
     PB_SIGN_BAD_HASH},
    {"SRS1=4TIx=srs.example.net==AGeG=G3=foo.example=alice@hop2.example",
     PB_SIGN_BAD_HASH},
    {"SRS1=4T.x=srs.example.org==AGeG=G3=foo.example=alice@hop2.example",
     PB_SIGN_BAD_HASH},
    /* valid ones, for contrast */
    /* the fields are hashed without separators, so a character may move
     * between host and local part: Mail::SRS accepts this one too (its
     * reverse gives "ealice@foo.exampl"), and the format is theirs */
    {"SRS0=AGeG=G3=foo.exampl=ealice@srs.example.org", PB_SIGN_OK},
    {"SRS0=AGeG=G3=foo.example=alice@srs.example.org", PB_SIGN_OK},
    {"SRS0=AGeG=G3=foo.example=alice@anything.example", PB_SIGN_OK},
    {"SRS1=4TIx=srs.example.org==AGeG=G3=foo.example=alice@hop2.example",
     PB_SIGN_OK},
};

static void test_srs_errors(void **state)
{
	pb_keys k = {0}, none = {0};
	pb_srs_opts o, bad;
	char big[PB_SIGN_IN_MAX + 2], out[PB_SIGN_OUT_MAX];

	(void)state;
	failures = 0;
	add_key(&k, -1, "testsecret");
	o = srs_opts(&k, "srs.example.org");
	for (size_t i = 0;
	     i < sizeof(srs_rev_errors) / sizeof(srs_rev_errors[0]); i++)
		rev(&o, T0, srs_rev_errors[i].addr, srs_rev_errors[i].want,
		    NULL);

	/* expired: valid through day 21, not on day 22 */
	rev(&o, T0 + 21 * DAY, "SRS0=AGeG=G3=foo.example=alice@srs.example.org",
	    PB_SIGN_OK, "alice@foo.example");
	rev(&o, T0 + 22 * DAY, "SRS0=AGeG=G3=foo.example=alice@srs.example.org",
	    PB_SIGN_EXPIRED, NULL);
	/* a bad hash is reported before the age */
	rev(&o, T0 + 22 * DAY, "SRS0=AGeH=G3=foo.example=alice@srs.example.org",
	    PB_SIGN_BAD_HASH, NULL);

	/* forward: not local@domain */
	fwd(&o, T0, "alice", PB_SIGN_MALFORMED, NULL);
	fwd(&o, T0, "", PB_SIGN_MALFORMED, NULL);
	fwd(&o, T0, "@example.org", PB_SIGN_MALFORMED, NULL);
	fwd(&o, T0, "alice@", PB_SIGN_MALFORMED, NULL);
	fwd(&o, T0, "a@b@example.org", PB_SIGN_MALFORMED, NULL);
	fwd(&o, T0, "a@ex=ample.org", PB_SIGN_MALFORMED, NULL);
	fwd(&o, T0, "SRS1=x@hop.example", PB_SIGN_MALFORMED, NULL);
	fwd(&o, T0, "SRS1=x=host@hop.example", PB_SIGN_MALFORMED, NULL);
	fwd(&o, T0, "SRS1=x==opaque@hop.example", PB_SIGN_MALFORMED, NULL);
	fwd(&o, T0, "SRS1=x=host=@hop.example", PB_SIGN_MALFORMED, NULL);

	/* too long: more than PB_SIGN_IN_MAX bytes in */
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "SRS0=", 5);
	memcpy(big + sizeof(big) - 11, "@x.example", 10);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(strlen(big), PB_SIGN_IN_MAX + 1);
	rev(&o, T0, big, PB_SIGN_TOO_LONG, NULL);
	fwd(&o, T0, big, PB_SIGN_TOO_LONG, NULL);

	/* no key, and options nobody can use */
	bad = o;
	bad.keys = &none;
	fwd(&bad, T0, "alice@foo.example", PB_SIGN_NO_KEY, NULL);
	rev(&bad, T0, "SRS0=AGeG=G3=foo.example=alice@srs.example.org",
	    PB_SIGN_NO_KEY, NULL);
	rev(&bad, T0, "alice@foo.example", PB_SIGN_NOT_SIGNED, NULL);
	bad.keys = NULL;
	fwd(&bad, T0, "alice@foo.example", PB_SIGN_NO_KEY, NULL);
	assert_int_equal(pb_srs_forward(NULL, T0, "a@b", out, sizeof(out)),
			 PB_SIGN_NO_KEY);
	bad = o;
	bad.domain = NULL;
	fwd(&bad, T0, "alice@foo.example", PB_SIGN_NO_KEY, NULL);
	bad.domain = "";
	fwd(&bad, T0, "alice@foo.example", PB_SIGN_NO_KEY, NULL);
	bad = o;
	bad.separator = '*';
	fwd(&bad, T0, "alice@foo.example", PB_SIGN_NO_KEY, NULL);
	bad = o;
	bad.hash_length = 28;
	fwd(&bad, T0, "alice@foo.example", PB_SIGN_NO_KEY, NULL);
	bad = o;
	bad.hash_length = -1;
	fwd(&bad, T0, "alice@foo.example", PB_SIGN_NO_KEY, NULL);
	bad = o;
	bad.max_age = 1024;
	rev(&bad, T0, "SRS0=AGeG=G3=foo.example=alice@srs.example.org",
	    PB_SIGN_NO_KEY, NULL);
	/* zero fields take Mail::SRS's defaults: '=', 4, 4, 21 */
	bad = (pb_srs_opts){.keys = &k, .domain = "srs.example.org"};
	fwd(&bad, T0, "alice@foo.example", PB_SIGN_OK,
	    "SRS0=AGeG=G3=foo.example=alice@srs.example.org");
	rev(&bad, T0 + 21 * DAY,
	    "SRS0=AGeG=G3=foo.example=alice@srs.example.org", PB_SIGN_OK,
	    "alice@foo.example");
	rev(&bad, T0 + 22 * DAY,
	    "SRS0=AGeG=G3=foo.example=alice@srs.example.org", PB_SIGN_EXPIRED,
	    NULL);
	/* NULL in, no room out */
	assert_int_equal(pb_srs_forward(&o, T0, NULL, out, sizeof(out)),
			 PB_SIGN_MALFORMED);
	assert_int_equal(pb_srs_reverse(&o, T0, NULL, out, sizeof(out)),
			 PB_SIGN_MALFORMED);
	assert_int_equal(pb_srs_forward(&o, T0, "a@b.example", out, 0),
			 PB_SIGN_TOO_LONG);
	assert_int_equal(pb_srs_reverse(&o, T0, "a@b.example", NULL, 10),
			 PB_SIGN_TOO_LONG);
	assert_int_equal(failures, 0);
}

/* ---- case folding, rotation, separators, hash lengths ----------------- */

static void test_srs_case(void **state)
{
	pb_keys k = {0};
	pb_srs_opts o, o2;

	(void)state;
	failures = 0;
	add_key(&k, -1, "testsecret");
	o = srs_opts(&k, "srs.example.org");
	o2 = srs_opts(&k, "hop2.example");
	/* upper-cased by a mail system: verifies, the case is kept */
	rev(&o, T0, "SRS0=AGEG=G3=FOO.EXAMPLE=ALICE@SRS.EXAMPLE.ORG",
	    PB_SIGN_OK, "ALICE@FOO.EXAMPLE");
	rev(&o, T0, "srs0=ageg=g3=foo.example=alice@srs.example.org",
	    PB_SIGN_OK, "alice@foo.example");
	rev(&o, T0, "sRs0=aGeG=g3=Foo.Example=Alice@srs.example.org",
	    PB_SIGN_OK, "Alice@Foo.Example");
	rev(&o2, T0,
	    "SRS1=4TIX=SRS.EXAMPLE.ORG==AGEG=G3=FOO.EXAMPLE=ALICE@HOP2.EXAMPLE",
	    PB_SIGN_OK, "SRS0=AGEG=G3=FOO.EXAMPLE=ALICE@SRS.EXAMPLE.ORG");
	rev(&o2, T0,
	    "srs1=4tix=srs.example.org==ageg=g3=foo.example=alice@hop2.example",
	    PB_SIGN_OK, "SRS0=ageg=g3=foo.example=alice@srs.example.org");
	/* the fields are hashed lower-cased: a case change is no forgery */
	fwd(&o, T0, "ALICE@FOO.EXAMPLE", PB_SIGN_OK,
	    "SRS0=AGeG=G3=FOO.EXAMPLE=ALICE@srs.example.org");
	assert_int_equal(failures, 0);
}

static void test_srs_rotation(void **state)
{
	pb_keys old = {0}, both = {0}, fresh = {0};
	pb_srs_opts o_old, o_both, o_fresh;
	char f_old[PB_SIGN_OUT_MAX], f_both[PB_SIGN_OUT_MAX];

	(void)state;
	failures = 0;
	add_key(&old, -1, "old secret");
	add_key(&both, -1, "new secret");
	add_key(&both, -1, "old secret");
	add_key(&fresh, -1, "new secret");
	o_old = srs_opts(&old, "srs.example.org");
	o_both = srs_opts(&both, "srs.example.org");
	o_fresh = srs_opts(&fresh, "srs.example.org");
	assert_int_equal(
	    pb_srs_forward(&o_old, T0, "u@x.example", f_old, sizeof(f_old)),
	    PB_SIGN_OK);
	assert_int_equal(
	    pb_srs_forward(&o_both, T0, "u@x.example", f_both, sizeof(f_both)),
	    PB_SIGN_OK);
	/* the first key signs */
	fwd(&o_fresh, T0, "u@x.example", PB_SIGN_OK, f_both);
	if (strcmp(f_old, f_both) == 0) {
		print_error("old and new key gave the same \"%s\"\n", f_old);
		failures++;
	}
	/* every key verifies */
	rev(&o_both, T0, f_old, PB_SIGN_OK, "u@x.example");
	rev(&o_both, T0, f_both, PB_SIGN_OK, "u@x.example");
	rev(&o_fresh, T0, f_old, PB_SIGN_BAD_HASH, NULL);
	rev(&o_old, T0, f_both, PB_SIGN_BAD_HASH, NULL);
	assert_int_equal(failures, 0);
}

static void test_srs_separators(void **state)
{
	static const char *forms[] = {
	    "SRS0=AGeG=G3=foo.example=alice@srs.example.org",
	    "SRS0+AGeG=G3=foo.example=alice@srs.example.org",
	    "SRS0-AGeG=G3=foo.example=alice@srs.example.org",
	    "srs0-AGeG=G3=foo.example=alice@srs.example.org",
	};
	static const struct {
		const char *addr;
		int is;
	} is_srs[] = {
	    {"SRS0=x@y", 1},	{"SRS1=x@y", 1}, {"srs0+x", 1}, {"Srs1-", 1},
	    {"SRS0", 0},	{"SRS0*x", 0},	 {"SRS2=x", 0}, {"xSRS0=x", 0},
	    {"SRS0x=y@z", 0},	{"", 0},	 {"SR", 0},	{"prvs=x", 0},
	    {"\"SRS0=\"@x", 0},
	};
	static const char seps[] = {'=', '+', '-'};
	pb_keys k = {0};
	pb_srs_opts o, o2;

	(void)state;
	failures = 0;
	add_key(&k, -1, "testsecret");
	/* any separator after the tag reverses, whichever we write */
	for (size_t s = 0; s < sizeof(seps); s++) {
		o = srs_opts(&k, "srs.example.org");
		o.separator = seps[s];
		for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
			rev(&o, T0, forms[i], PB_SIGN_OK, "alice@foo.example");
	}
	/* the SRS0's separator travels inside SRS1 and comes back */
	o = srs_opts(&k, "srs.example.org");
	o2 = srs_opts(&k, "hop2.example");
	o2.separator = '-';
	/* Mail::SRS (Separator => "-", same clock) writes this SRS1 */
	fwd(&o2, T0, forms[1], PB_SIGN_OK,
	    "SRS1-vqkA=srs.example.org=+AGeG=G3=foo.example=alice@"
	    "hop2.example");
	rev(&o2, T0,
	    "SRS1-vqkA=srs.example.org=+AGeG=G3=foo.example=alice@hop2.example",
	    PB_SIGN_OK, forms[1]);
	rev(&o2, T0,
	    "SRS1=vqkA=srs.example.org=+AGeG=G3=foo.example=alice@hop2.example",
	    PB_SIGN_OK, forms[1]);
	/* separators inside the address are always '=' */
	rev(&o, T0, "SRS0=AGeG+G3+foo.example+alice@srs.example.org",
	    PB_SIGN_MALFORMED, NULL);
	for (size_t i = 0; i < sizeof(is_srs) / sizeof(is_srs[0]); i++)
		if (pb_srs_is_srs(is_srs[i].addr) != is_srs[i].is) {
			print_error("pb_srs_is_srs(\"%s\"): got %d, want %d\n",
				    is_srs[i].addr,
				    pb_srs_is_srs(is_srs[i].addr),
				    is_srs[i].is);
			failures++;
		}
	assert_int_equal(pb_srs_is_srs(NULL), 0);
	assert_int_equal(failures, 0);
}

static void test_srs_hash_length(void **state)
{
	pb_keys k = {0};
	pb_srs_opts o;
	char f[PB_SIGN_OUT_MAX], g[PB_SIGN_OUT_MAX + 8];
	size_t hl;

	(void)state;
	failures = 0;
	add_key(&k, -1, "testsecret");
	o = srs_opts(&k, "srs.example.org");
	o.hash_length = 27;
	assert_int_equal(pb_srs_forward(&o, T0, "a@b.example", f, sizeof(f)),
			 PB_SIGN_OK);
	hl = strcspn(f + 5, "=");
	assert_int_equal(hl, 27);
	/* every prefix of at least min_hash_length verifies */
	for (size_t n = 1; n <= 28; n++) {
		for (int min = 4; min <= 8; min += 4) {
			pb_sign_err want = n >= (size_t)min && n <= 27
					       ? PB_SIGN_OK
					       : PB_SIGN_BAD_HASH;

			o.min_hash_length = min;
			/* SRS0= + n hash characters (the 28th repeats the
			 * last) + the rest */
			memcpy(g, f, 5);
			memcpy(g + 5, f + 5, n <= 27 ? n : 27);
			if (n == 28)
				g[5 + 27] = f[5 + 26];
			snprintf(g + 5 + n, sizeof(g) - 5 - n, "%s",
				 f + 5 + 27);
			rev(&o, T0, g, want,
			    want == PB_SIGN_OK ? "a@b.example" : NULL);
		}
	}
	/* the hash length option is what gets written */
	for (int len = 1; len <= 27; len++) {
		o.hash_length = len;
		o.min_hash_length = len;
		assert_int_equal(
		    pb_srs_forward(&o, T0, "a@b.example", f, sizeof(f)),
		    PB_SIGN_OK);
		if (strcspn(f + 5, "=") != (size_t)len) {
			print_error("hash_length %d: got \"%s\"\n", len, f);
			failures++;
		}
		rev(&o, T0, f, PB_SIGN_OK, "a@b.example");
	}
	assert_int_equal(failures, 0);
}

/* ---- SRS time --------------------------------------------------------- */

static void test_srs_wrap(void **state)
{
	static const int max_ages[] = {1, 5, 21, 1023};
	pb_keys k = {0};
	pb_srs_opts o;
	char f[PB_SIGN_OUT_MAX];

	(void)state;
	failures = 0;
	add_key(&k, -1, "testsecret");
	o = srs_opts(&k, "srs.example.org");
	for (size_t m = 0; m < sizeof(max_ages) / sizeof(max_ages[0]); m++) {
		o.max_age = max_ages[m];
		/* signed on days ..., 1020 .. 1023, 0, 1, ... (mod 1024) */
		for (long long day = 1024LL * 20 + 1018;
		     day < 1024LL * 20 + 1030; day++) {
			time_t t = (time_t)(day * DAY + 12345);

			assert_int_equal(
			    pb_srs_forward(&o, t, "w@x.example", f, sizeof(f)),
			    PB_SIGN_OK);
			for (int age = -2; age <= 40; age++) {
				int ok = (age >= 0 && age <= o.max_age) ||
					 (age < 0 && 1024 + age <= o.max_age);

				rev(&o, t + (time_t)age * DAY, f,
				    ok ? PB_SIGN_OK : PB_SIGN_EXPIRED,
				    ok ? "w@x.example" : NULL);
			}
			/* one full cycle later the stamp is valid again */
			rev(&o, t + 1024 * (time_t)DAY, f, PB_SIGN_OK,
			    "w@x.example");
		}
	}
	/* before 1970: days round down, the stamp stays consistent */
	o.max_age = 21;
	assert_int_equal(
	    pb_srs_forward(&o, (time_t)-1, "w@x.example", f, sizeof(f)),
	    PB_SIGN_OK);
	assert_true(strstr(f, "=77=") != NULL);
	rev(&o, (time_t)-1, f, PB_SIGN_OK, "w@x.example");
	rev(&o, (time_t)0, f, PB_SIGN_OK, "w@x.example");
	assert_int_equal(failures, 0);
}

/* ---- SRS length limits ------------------------------------------------ */

/* mkaddr - local part of n 'a's "@h.example" into buf */
static void mkaddr(char *buf, size_t cap, size_t n)
{
	assert_true(n + sizeof("@h.example") <= cap);
	memset(buf, 'a', n);
	memcpy(buf + n, "@h.example", sizeof("@h.example"));
}

static void test_srs_limits(void **state)
{
	/* SRS0 = "SRS0=" 4 "=" 2 "=" host "=" local "@" domain: 30 bytes
	 * around host and local with a 15-byte domain */
	const size_t fixed = 5 + 4 + 1 + 2 + 1 + 1 + 1 + 15;
	const size_t host = strlen("h.example");
	const size_t max_local = PB_SIGN_OUT_MAX - 1 - fixed - host;
	char in[PB_SIGN_IN_MAX + 16], out[PB_SIGN_OUT_MAX + 64];
	char s1[PB_SIGN_OUT_MAX];
	pb_keys k = {0};
	pb_srs_opts o, o2;
	size_t need;

	(void)state;
	failures = 0;
	add_key(&k, -1, "testsecret");
	o = srs_opts(&k, "srs.example.org");
	o2 = srs_opts(&k, "hop2.example");

	/* the longest address that fits: output exactly OUT_MAX - 1 */
	mkaddr(in, sizeof(in), max_local);
	assert_int_equal(pb_srs_forward(&o, T0, in, out, sizeof(out)),
			 PB_SIGN_OK);
	assert_int_equal(strlen(out), PB_SIGN_OUT_MAX - 1);
	rev(&o, T0, out, PB_SIGN_OK, in);
	need = strlen(out) + 1;
	/* exactly enough room, one byte less, tiny */
	assert_int_equal(pb_srs_forward(&o, T0, in, out, need), PB_SIGN_OK);
	assert_int_equal(pb_srs_forward(&o, T0, in, out, need - 1),
			 PB_SIGN_TOO_LONG);
	assert_string_equal(out, "");
	assert_int_equal(pb_srs_forward(&o, T0, in, out, 1), PB_SIGN_TOO_LONG);
	/* one byte more never fits, however big the buffer */
	mkaddr(in, sizeof(in), max_local + 1);
	assert_int_equal(pb_srs_forward(&o, T0, in, out, sizeof(out)),
			 PB_SIGN_TOO_LONG);
	assert_string_equal(out, "");
	/* an input of exactly PB_SIGN_IN_MAX is read (and its signature
	 * checked); one more is refused unread */
	mkaddr(in, sizeof(in), PB_SIGN_IN_MAX - strlen("@h.example"));
	memcpy(in, "SRS0=AGeG=G3=x=", 15);
	assert_int_equal(strlen(in), PB_SIGN_IN_MAX);
	rev(&o, T0, in, PB_SIGN_BAD_HASH, NULL);
	fwd(&o, T0, in, PB_SIGN_TOO_LONG, NULL);
	mkaddr(in, sizeof(in), PB_SIGN_IN_MAX + 1 - strlen("@h.example"));
	memcpy(in, "SRS0=AGeG=G3=x=", 15);
	rev(&o, T0, in, PB_SIGN_TOO_LONG, NULL);
	/* reversing into a small buffer */
	mkaddr(in, sizeof(in), 10);
	assert_int_equal(pb_srs_forward(&o, T0, in, s1, sizeof(s1)),
			 PB_SIGN_OK);
	assert_int_equal(pb_srs_reverse(&o, T0, s1, out, strlen(in) + 1),
			 PB_SIGN_OK);
	assert_string_equal(out, in);
	assert_int_equal(pb_srs_reverse(&o, T0, s1, out, strlen(in)),
			 PB_SIGN_TOO_LONG);
	/* SRS1 of the SRS0 of a local part of L bytes: "SRS1=" 4 "="
	 * "srs.example.org" "=" opaque (SRS0 local part less "SRS0", L + 19
	 * bytes) "@hop2.example": 58 + L, so L = 965 is the longest */
	mkaddr(in, sizeof(in), 966);
	assert_int_equal(pb_srs_forward(&o, T0, in, out, sizeof(out)),
			 PB_SIGN_OK);
	assert_int_equal(pb_srs_forward(&o2, T0, out, s1, sizeof(s1)),
			 PB_SIGN_TOO_LONG);
	mkaddr(in, sizeof(in), 965);
	assert_int_equal(pb_srs_forward(&o, T0, in, out, sizeof(out)),
			 PB_SIGN_OK);
	assert_int_equal(pb_srs_forward(&o2, T0, out, s1, sizeof(s1)),
			 PB_SIGN_OK);
	assert_int_equal(strlen(s1), PB_SIGN_OUT_MAX - 1);
	rev(&o2, T0, s1, PB_SIGN_OK, out);
	assert_int_equal(failures, 0);
}

/* ---- BATV known answers (Exim ${prvs}) --------------------------------- */

struct batv_kat {
	const char *secret;
	int id;
	const char *addr, *prvs;
};

static const struct batv_kat batv_kat[] = {
    {"testsecret", 0, "alice@example.org", "prvs=0786603318=alice@example.org"},
    {"testsecret", 3, "Bob.Smith+tag@Example.COM",
     "prvs=3786b2aa8a=Bob.Smith+tag@Example.COM"},
    {"k2/with+chars", 9, "x=y@a.example", "prvs=9786da0e26=x=y@a.example"},
    {"0123456789012345678901234567890123456789012345678901234567890123", 1,
     "\"quoted local\"@example.net",
     "prvs=1786efcaa7=\"quoted local\"@example.net"},
};

static void test_batv_kat(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof(batv_kat) / sizeof(batv_kat[0]); i++) {
		const struct batv_kat *v = &batv_kat[i];
		pb_keys k = {0};
		pb_batv_opts o = {.keys = &k, .max_age = 7};

		add_key(&k, v->id, v->secret);
		bsign(&o, T_EXIM, v->addr, PB_SIGN_OK, v->prvs);
		bver(&o, T_EXIM, v->prvs, PB_SIGN_OK, v->addr);
		/* valid through the expiry day (786), not after */
		bver(&o, T_EXIM + 7 * DAY, v->prvs, PB_SIGN_OK, v->addr);
		bver(&o, T_EXIM + 8 * DAY, v->prvs, PB_SIGN_EXPIRED, NULL);
	}
	assert_int_equal(failures, 0);
}

static void test_batv_errors(void **state)
{
	static const struct {
		const char *addr;
		pb_sign_err want;
	} cases[] = {
	    {"alice@example.org", PB_SIGN_NOT_SIGNED},
	    {"", PB_SIGN_NOT_SIGNED},
	    {"prvs", PB_SIGN_NOT_SIGNED},
	    {"prv=0786603318=alice@example.org", PB_SIGN_NOT_SIGNED},
	    {"SRS0=AGeG=G3=foo.example=alice@srs.example.org",
	     PB_SIGN_NOT_SIGNED},
	    {"prvs=", PB_SIGN_MALFORMED},
	    {"prvs=078660331=alice@example.org", PB_SIGN_MALFORMED},
	    {"prvs=0786603318alice@example.org", PB_SIGN_MALFORMED},
	    {"prvs=A786603318=alice@example.org", PB_SIGN_MALFORMED},
	    {"prvs=07866033g8=alice@example.org", PB_SIGN_MALFORMED},
	    {"prvs=07a6603318=alice@example.org", PB_SIGN_MALFORMED},
	    {"prvs=0786603318=aliceexample.org", PB_SIGN_MALFORMED},
	    {"prvs=0786603318=@example.org", PB_SIGN_MALFORMED},
	    {"prvs=0786603318=alice@", PB_SIGN_MALFORMED},
	    {"prvs=0786603318=", PB_SIGN_MALFORMED},
	    {"prvs=0786603318", PB_SIGN_MALFORMED},
	    {"prvs=0786603319=alice@example.org", PB_SIGN_BAD_HASH},
	    {"prvs=0786603318=alice@example.net", PB_SIGN_BAD_HASH},
	    {"prvs=0785603318=alice@example.org", PB_SIGN_BAD_HASH},
	    {"prvs=5786603318=alice@example.org", PB_SIGN_BAD_HASH},
	    /* the address is hashed as given (as Exim does) */
	    {"prvs=0786603318=Alice@example.org", PB_SIGN_BAD_HASH},
	    {"PRVS=0786603318=ALICE@EXAMPLE.ORG", PB_SIGN_BAD_HASH},
	    /* the tag and the hex digits fold */
	    {"PRVS=0786603318=alice@example.org", PB_SIGN_OK},
	    {"prvs=0786603318=alice@example.org", PB_SIGN_OK},
	    {"Prvs=0786603318=alice@example.org", PB_SIGN_OK},
	};
	pb_keys k = {0}, none = {0}, unnumbered = {0};
	pb_batv_opts o = {.keys = &k, .max_age = 7}, bad;
	char big[PB_SIGN_IN_MAX + 2], out[PB_SIGN_OUT_MAX];

	(void)state;
	failures = 0;
	add_key(&k, 0, "testsecret");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bver(&o, T_EXIM, cases[i].addr, cases[i].want,
		     cases[i].want == PB_SIGN_OK ? "alice@example.org" : NULL);
	/* upper-case hash digits */
	{
		pb_keys k3 = {0};
		pb_batv_opts o3 = {.keys = &k3, .max_age = 7};

		add_key(&k3, 3, "testsecret");
		bver(&o3, T_EXIM, "prvs=3786B2AA8A=Bob.Smith+tag@Example.COM",
		     PB_SIGN_OK, "Bob.Smith+tag@Example.COM");
	}
	/* sign: not local@domain, already signed */
	bsign(&o, T_EXIM, "alice", PB_SIGN_MALFORMED, NULL);
	bsign(&o, T_EXIM, "", PB_SIGN_MALFORMED, NULL);
	bsign(&o, T_EXIM, "@example.org", PB_SIGN_MALFORMED, NULL);
	bsign(&o, T_EXIM, "alice@", PB_SIGN_MALFORMED, NULL);
	bsign(&o, T_EXIM, "prvs=0786603318=alice@example.org", PB_SIGN_OK,
	      "prvs=0786603318=alice@example.org");
	bsign(&o, T_EXIM, "PRVS=junk", PB_SIGN_OK, "PRVS=junk");
	/* Exim takes the domain after the last '@' too */
	bsign(&o, T_EXIM, "a@b@example.org", PB_SIGN_OK, NULL);
	/* no key, unusable key, bad max_age */
	bad = o;
	bad.keys = &none;
	bsign(&bad, T_EXIM, "alice@example.org", PB_SIGN_NO_KEY, NULL);
	bver(&bad, T_EXIM, "prvs=0786603318=alice@example.org", PB_SIGN_NO_KEY,
	     NULL);
	bver(&bad, T_EXIM, "alice@example.org", PB_SIGN_NOT_SIGNED, NULL);
	bad.keys = NULL;
	bsign(&bad, T_EXIM, "alice@example.org", PB_SIGN_NO_KEY, NULL);
	add_key(&unnumbered, -1, "testsecret");
	bad.keys = &unnumbered;
	bsign(&bad, T_EXIM, "alice@example.org", PB_SIGN_NO_KEY, NULL);
	bver(&bad, T_EXIM, "prvs=0786603318=alice@example.org",
	     PB_SIGN_BAD_HASH, NULL);
	bad = o;
	bad.max_age = 1000;
	bsign(&bad, T_EXIM, "alice@example.org", PB_SIGN_NO_KEY, NULL);
	bad.max_age = -3;
	bver(&bad, T_EXIM, "prvs=0786603318=alice@example.org", PB_SIGN_NO_KEY,
	     NULL);
	bad.max_age = 0; /* default: Exim's 7 */
	bsign(&bad, T_EXIM, "alice@example.org", PB_SIGN_OK,
	      "prvs=0786603318=alice@example.org");
	assert_int_equal(pb_batv_sign(NULL, T_EXIM, "a@b", out, sizeof(out)),
			 PB_SIGN_NO_KEY);
	/* too long in */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "prvs=0786603318=", 16);
	big[100] = '@';
	bver(&o, T_EXIM, big, PB_SIGN_TOO_LONG, NULL);
	bsign(&o, T_EXIM, big + 16, PB_SIGN_TOO_LONG, NULL);
	/* NULL in, no room out */
	assert_int_equal(pb_batv_sign(&o, T_EXIM, NULL, out, sizeof(out)),
			 PB_SIGN_MALFORMED);
	assert_int_equal(pb_batv_verify(&o, T_EXIM, NULL, out, sizeof(out)),
			 PB_SIGN_MALFORMED);
	assert_int_equal(pb_batv_sign(&o, T_EXIM, "a@b", out, 0),
			 PB_SIGN_TOO_LONG);
	assert_int_equal(pb_batv_verify(&o, T_EXIM, "a@b", NULL, 5),
			 PB_SIGN_TOO_LONG);
	/* is_prvs */
	assert_true(pb_batv_is_prvs("prvs=x"));
	assert_true(pb_batv_is_prvs("PRVS="));
	assert_false(pb_batv_is_prvs("prvs"));
	assert_false(pb_batv_is_prvs("xprvs=1"));
	assert_false(pb_batv_is_prvs(NULL));
	assert_int_equal(failures, 0);
}

static void test_batv_rotation(void **state)
{
	pb_keys old = {0}, both = {0}, fresh = {0};
	pb_batv_opts o_old = {.keys = &old, .max_age = 7};
	pb_batv_opts o_both = {.keys = &both, .max_age = 7};
	pb_batv_opts o_fresh = {.keys = &fresh, .max_age = 7};
	char s_old[PB_SIGN_OUT_MAX], s_new[PB_SIGN_OUT_MAX];

	(void)state;
	failures = 0;
	add_key(&old, 1, "old secret");
	add_key(&both, 2, "new secret");
	add_key(&both, 1, "old secret");
	add_key(&fresh, 2, "new secret");
	assert_int_equal(
	    pb_batv_sign(&o_old, T0, "u@x.example", s_old, sizeof(s_old)),
	    PB_SIGN_OK);
	assert_int_equal(
	    pb_batv_sign(&o_both, T0, "u@x.example", s_new, sizeof(s_new)),
	    PB_SIGN_OK);
	assert_int_equal(s_old[5], '1');
	assert_int_equal(s_new[5], '2');
	bver(&o_both, T0, s_old, PB_SIGN_OK, "u@x.example");
	bver(&o_both, T0, s_new, PB_SIGN_OK, "u@x.example");
	bver(&o_fresh, T0, s_old, PB_SIGN_BAD_HASH, NULL);
	bver(&o_old, T0, s_new, PB_SIGN_BAD_HASH, NULL);
	/* the key number selects the key: a new key under an old number
	 * does not verify the old signatures */
	{
		pb_keys reused = {0};
		pb_batv_opts o_reused = {.keys = &reused, .max_age = 7};

		add_key(&reused, 1, "new secret");
		bver(&o_reused, T0, s_old, PB_SIGN_BAD_HASH, NULL);
	}
	assert_int_equal(failures, 0);
}

static void test_batv_wrap(void **state)
{
	static const int max_ages[] = {1, 7, 30, 999};
	pb_keys k = {0};
	pb_batv_opts o = {.keys = &k};
	char s[PB_SIGN_OUT_MAX];

	(void)state;
	failures = 0;
	add_key(&k, 4, "wrap secret");
	for (size_t m = 0; m < sizeof(max_ages) / sizeof(max_ages[0]); m++) {
		o.max_age = max_ages[m];
		/* signed on days ..., 990 .. 999, 0, 1, ... (mod 1000) */
		for (long long day = 20990; day < 21005; day++) {
			time_t t = (time_t)(day * DAY + 7);
			char ddd[8];

			assert_int_equal(
			    pb_batv_sign(&o, t, "w@x.example", s, sizeof(s)),
			    PB_SIGN_OK);
			snprintf(ddd, sizeof(ddd), "%03lld",
				 (day + o.max_age) % 1000);
			if (strncmp(s + 6, ddd, 3) != 0) {
				print_error("day %lld max_age %d: got \"%s\", "
					    "want expiry %s\n",
					    day, o.max_age, s, ddd);
				failures++;
			}
			for (int age = -2; age <= 40; age++) {
				/* days left until expiry, mod 1000 */
				int left =
				    ((o.max_age - age) % 1000 + 1000) % 1000;
				int ok = left <= o.max_age;

				bver(&o, t + (time_t)age * DAY, s,
				     ok ? PB_SIGN_OK : PB_SIGN_EXPIRED,
				     ok ? "w@x.example" : NULL);
			}
		}
	}
	/* Exim's own case: signed on day 995 with 7 days, expiry 002 */
	o.max_age = 7;
	assert_int_equal(
	    pb_batv_sign(&o, (time_t)20995 * DAY, "w@x.example", s, sizeof(s)),
	    PB_SIGN_OK);
	assert_int_equal(strncmp(s + 6, "002", 3), 0);
	bver(&o, (time_t)20999 * DAY, s, PB_SIGN_OK, "w@x.example");
	bver(&o, (time_t)21002 * DAY + DAY - 1, s, PB_SIGN_OK, "w@x.example");
	bver(&o, (time_t)21003 * DAY, s, PB_SIGN_EXPIRED, NULL);
	bver(&o, (time_t)20994 * DAY, s, PB_SIGN_EXPIRED, NULL);
	assert_int_equal(failures, 0);
}

static void test_batv_limits(void **state)
{
	char in[PB_SIGN_IN_MAX + 16], out[PB_SIGN_OUT_MAX + 64];
	char back[PB_SIGN_OUT_MAX];
	pb_keys k = {0};
	pb_batv_opts o = {.keys = &k, .max_age = 7};
	const size_t max_in = PB_SIGN_OUT_MAX - 1 - 16;

	(void)state;
	failures = 0;
	add_key(&k, 0, "testsecret");
	/* 16 bytes of "prvs=KDDDHHHHHH=" in front */
	mkaddr(in, sizeof(in), max_in - strlen("@h.example"));
	assert_int_equal(pb_batv_sign(&o, T0, in, out, sizeof(out)),
			 PB_SIGN_OK);
	assert_int_equal(strlen(out), PB_SIGN_OUT_MAX - 1);
	bver(&o, T0, out, PB_SIGN_OK, in);
	assert_int_equal(pb_batv_sign(&o, T0, in, out, PB_SIGN_OUT_MAX),
			 PB_SIGN_OK);
	assert_int_equal(pb_batv_sign(&o, T0, in, out, PB_SIGN_OUT_MAX - 1),
			 PB_SIGN_TOO_LONG);
	assert_string_equal(out, "");
	assert_int_equal(pb_batv_sign(&o, T0, in, back, sizeof(back)),
			 PB_SIGN_OK);
	assert_int_equal(pb_batv_verify(&o, T0, back, out, strlen(in) + 1),
			 PB_SIGN_OK);
	assert_int_equal(pb_batv_verify(&o, T0, back, out, strlen(in)),
			 PB_SIGN_TOO_LONG);
	mkaddr(in, sizeof(in), max_in + 1 - strlen("@h.example"));
	assert_int_equal(pb_batv_sign(&o, T0, in, out, sizeof(out)),
			 PB_SIGN_TOO_LONG);
	/* exactly PB_SIGN_IN_MAX in: read and checked */
	mkaddr(in, sizeof(in), PB_SIGN_IN_MAX - strlen("@h.example"));
	memcpy(in, "prvs=0786603318=", 16);
	assert_int_equal(strlen(in), PB_SIGN_IN_MAX);
	bver(&o, T0, in, PB_SIGN_BAD_HASH, NULL);
	mkaddr(in, sizeof(in), PB_SIGN_IN_MAX + 1 - strlen("@h.example"));
	memcpy(in, "prvs=0786603318=", 16);
	bver(&o, T0, in, PB_SIGN_TOO_LONG, NULL);
	assert_int_equal(failures, 0);
}

/* ---- secrets ----------------------------------------------------------- */

static char tmpdir[256];

/* path_of - name inside the test's temporary directory */
static const char *path_of(const char *name)
{
	static char path[512];

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", tmpdir,
				     name) < sizeof(path));
	return path;
}

/* write_file - create name with content (len bytes) and mode */
static const char *write_file(const char *name, const char *content, size_t len,
			      mode_t mode)
{
	const char *path = path_of(name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static int setup_tmp(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_sign.XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* key_is - keys->keys[i] is (id, secret) */
static void key_is(const pb_keys *keys, size_t i, int id, const char *secret)
{
	assert_true(i < keys->n);
	assert_int_equal(keys->keys[i].id, id);
	assert_int_equal(keys->keys[i].len, strlen(secret));
	assert_memory_equal(keys->keys[i].secret, secret, strlen(secret));
}

static void test_secrets_load(void **state)
{
	static const char good[] = "# SRS secrets, newest first\n"
				   "\n"
				   "secret-one\r\n"
				   "   # an indented comment\n"
				   "secret two  \t\n"
				   " \t \n"
				   "last-no-newline";
	static const char numbered[] = "# BATV\n"
				       "0 abc\n"
				       "1\tdef ghi\r\n"
				       "9   jkl  \n";
	pb_keys keys;
	char err[512];
	const char *p;

	(void)state;
	p = write_file("good", good, sizeof(good) - 1, 0600);
	assert_int_equal(pb_keys_load(&keys, p, false, err, sizeof(err)), 0);
	assert_int_equal(keys.n, 3);
	key_is(&keys, 0, -1, "secret-one");
	key_is(&keys, 1, -1, "secret two");
	key_is(&keys, 2, -1, "last-no-newline");

	p = write_file("numbered", numbered, sizeof(numbered) - 1, 0400);
	assert_int_equal(pb_keys_load(&keys, p, true, err, sizeof(err)), 0);
	assert_int_equal(keys.n, 3);
	key_is(&keys, 0, 0, "abc");
	key_is(&keys, 1, 1, "def ghi");
	key_is(&keys, 2, 9, "jkl");
	/* read unnumbered, each line is a secret as it stands, and a tab
	 * inside one is a control character */
	p = write_file("numbered", numbered, 13, 0600);
	assert_int_equal(pb_keys_load(&keys, p, false, err, sizeof(err)), 0);
	assert_int_equal(keys.n, 1);
	key_is(&keys, 0, -1, "0 abc");
	p = write_file("numbered", numbered, sizeof(numbered) - 1, 0600);
	assert_int_equal(pb_keys_load(&keys, p, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":3: control character (byte 0x09)"));

	pb_keys_wipe(&keys);
	assert_int_equal(keys.n, 0);
	for (size_t i = 0; i < sizeof(keys.keys[0].secret); i++)
		assert_int_equal(keys.keys[0].secret[i], 0);
	pb_keys_wipe(NULL);
}

static void test_secrets_mode(void **state)
{
	static const mode_t refused[] = {0644, 0640, 0604, 0660, 0602,
					 0620, 0610, 0601, 0777};
	static const mode_t accepted[] = {0600, 0400, 0700, 0200};
	pb_keys keys;
	char err[512];
	const char *p;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		p = write_file("mode", "s\n", 2, refused[i]);
		err[0] = '\0';
		assert_int_equal(
		    pb_keys_load(&keys, p, false, err, sizeof(err)), -1);
		if (strstr(err, "chmod 600") == NULL || strstr(err, p) == NULL)
			fail_msg("mode %04o: got \"%s\", want the path and "
				 "\"chmod 600\"",
				 (unsigned)refused[i], err);
		assert_int_equal(keys.n, 0);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		p = write_file("mode", "s\n", 2, accepted[i]);
		/* root reads 0200 too; the point is the mode check passes */
		if (accepted[i] == 0200 && geteuid() != 0)
			continue;
		if (pb_keys_load(&keys, p, false, err, sizeof(err)) != 0)
			fail_msg("mode %04o: got \"%s\", want it loaded",
				 (unsigned)accepted[i], err);
	}
	/* not a regular file, not there */
	assert_int_equal(pb_keys_load(&keys, tmpdir, false, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not a regular file"));
	p = path_of("missing");
	assert_int_equal(pb_keys_load(&keys, p, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, "No such file"));
	/* a tiny err buffer is cut, not overrun */
	p = write_file("mode", "s\n", 2, 0644);
	memset(err, 'x', sizeof(err));
	assert_int_equal(pb_keys_load(&keys, p, false, err, 8), -1);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'x');
	assert_int_equal(pb_keys_load(&keys, p, false, NULL, 0), -1);
}

static void test_secrets_bad_lines(void **state)
{
	static const struct {
		const char *content;
		bool numbered;
		const char *want; /* in the message, after "path:" */
	} cases[] = {
	    {"0 abc\nx def\n", true, ":2: want \"N SECRET\""},
	    {"0 abc\n10 def\n", true, ":2: want \"N SECRET\""},
	    {"0\n", true, ":1: want \"N SECRET\""},
	    {"0 \n", true, ":1: want \"N SECRET\""},
	    {"0abc\n", true, ":1: want \"N SECRET\""},
	    {"#\n0 a\n\n0 b\n", true,
	     ":4: key number 0 is already used on "
	     "line 2"},
	    {"a\n b\n", false, ":2: white space before the secret"},
	    {"\tb\n", false, ":1: white space before the secret"},
	    {" 0 b\n", true, ":1: white space before the secret"},
	    {"ok\nab\x01"
	     "c\n",
	     false, ":2: control character (byte 0x01)"},
	    {"ab\x7f\n", false, ":1: control character (byte 0x7f)"},
	    {"ab\rc\n", false, ":1: control character (byte 0x0d)"},
	    {"", false, ": no secret in the file"},
	    {"# only\n\n  \n", false, ": no secret in the file"},
	    {"# only\n", true, ": no secret in the file (want \"N SECRET\""},
	};
	pb_keys keys;
	char err[512], line[PB_KEY_LEN_MAX + 8];
	char many[PB_KEYS_MAX * 8 + 16];
	const char *p;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = write_file("bad", cases[i].content,
			       strlen(cases[i].content), 0600);
		err[0] = '\0';
		if (pb_keys_load(&keys, p, cases[i].numbered, err,
				 sizeof(err)) != -1 ||
		    strncmp(err, p, strlen(p)) != 0 ||
		    strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s%s\"", i, err,
				 p, cases[i].want);
		assert_int_equal(keys.n, 0);
	}
	/* an embedded NUL is a control character too */
	p = write_file("bad", "ab\0c\n", 5, 0600);
	assert_int_equal(pb_keys_load(&keys, p, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: control character (byte 0x00)"));
	/* PB_KEY_LEN_MAX bytes is fine, one more is not */
	memset(line, 'k', sizeof(line));
	line[PB_KEY_LEN_MAX] = '\n';
	p = write_file("long", line, PB_KEY_LEN_MAX + 1, 0600);
	assert_int_equal(pb_keys_load(&keys, p, false, err, sizeof(err)), 0);
	assert_int_equal(keys.keys[0].len, PB_KEY_LEN_MAX);
	line[PB_KEY_LEN_MAX] = 'k';
	line[PB_KEY_LEN_MAX + 1] = '\n';
	p = write_file("long", line, PB_KEY_LEN_MAX + 2, 0600);
	assert_int_equal(pb_keys_load(&keys, p, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: secret is longer than 256 bytes"));
	/* PB_KEYS_MAX keys are fine, one more is not */
	for (int i = 0; i < PB_KEYS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "key%d\n", i);
	p = write_file("many", many, n, 0600);
	assert_int_equal(pb_keys_load(&keys, p, false, err, sizeof(err)), 0);
	assert_int_equal(keys.n, PB_KEYS_MAX);
	n += (size_t)snprintf(many + n, sizeof(many) - n, "one-more\n");
	p = write_file("many", many, n, 0600);
	assert_int_equal(pb_keys_load(&keys, p, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":17: more than 16 secrets"));
	/* a huge file is not read to the end */
	{
		size_t big = 70000;
		char *buf = malloc(big);

		assert_non_null(buf);
		memset(buf, '#', big);
		p = write_file("huge", buf, big, 0600);
		free(buf);
		assert_int_equal(
		    pb_keys_load(&keys, p, false, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "longer than 65536 bytes"));
	}
}

static void test_secrets_new(void **state)
{
	pb_keys keys, again;
	char err[512], buf[128];
	struct stat st;
	const char *p;
	char path[512], target[512];
	int fd;
	ssize_t n;
	mode_t old_mask;

	(void)state;
	snprintf(path, sizeof(path), "%s", path_of("new.key"));
	assert_int_equal(pb_keys_new(path, false, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	/* 32 bytes in base64: 43 characters, one '=', a newline */
	assert_int_equal(n, 45);
	assert_int_equal(buf[43], '=');
	assert_int_equal(buf[44], '\n');
	for (int i = 0; i < 43; i++)
		assert_non_null(
		    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
			   "opqrstuvwxyz0123456789+/",
			   buf[i]));
	assert_int_equal(pb_keys_load(&keys, path, false, err, sizeof(err)), 0);
	assert_int_equal(keys.n, 1);
	assert_int_equal(keys.keys[0].len, 44);
	/* never overwrites */
	assert_int_equal(pb_keys_new(path, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "File exists"));
	assert_int_equal(pb_keys_load(&again, path, false, err, sizeof(err)),
			 0);
	assert_memory_equal(keys.keys[0].secret, again.keys[0].secret, 44);
	/* nor follows a symlink */
	snprintf(target, sizeof(target), "%s", path_of("elsewhere"));
	p = path_of("link.key");
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(pb_keys_new(p, false, err, sizeof(err)), -1);
	assert_int_equal(lstat(target, &st), -1);
	/* numbered, whatever the umask: "0 SECRET", mode 0600 */
	old_mask = umask(0777);
	snprintf(path, sizeof(path), "%s", path_of("new-batv.key"));
	assert_int_equal(pb_keys_new(path, true, err, sizeof(err)), 0);
	umask(old_mask);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(pb_keys_load(&again, path, true, err, sizeof(err)), 0);
	assert_int_equal(again.n, 1);
	assert_int_equal(again.keys[0].id, 0);
	assert_int_equal(again.keys[0].len, 44);
	/* two new keys differ */
	assert_memory_not_equal(keys.keys[0].secret, again.keys[0].secret, 44);
	/* a directory that is not there */
	assert_int_equal(
	    pb_keys_new(path_of("no/such/dir"), false, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_err_names),
	    cmocka_unit_test(test_srs_kat),
	    cmocka_unit_test(test_srs_kat_wrap),
	    cmocka_unit_test(test_srs_roundtrip),
	    cmocka_unit_test(test_srs_chain),
	    cmocka_unit_test(test_srs_errors),
	    cmocka_unit_test(test_srs_case),
	    cmocka_unit_test(test_srs_rotation),
	    cmocka_unit_test(test_srs_separators),
	    cmocka_unit_test(test_srs_hash_length),
	    cmocka_unit_test(test_srs_wrap),
	    cmocka_unit_test(test_srs_limits),
	    cmocka_unit_test(test_batv_kat),
	    cmocka_unit_test(test_batv_errors),
	    cmocka_unit_test(test_batv_rotation),
	    cmocka_unit_test(test_batv_wrap),
	    cmocka_unit_test(test_batv_limits),
	    cmocka_unit_test(test_secrets_load),
	    cmocka_unit_test(test_secrets_mode),
	    cmocka_unit_test(test_secrets_bad_lines),
	    cmocka_unit_test(test_secrets_new),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
