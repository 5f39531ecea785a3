/*
 * srs - the Sender Rewriting Scheme, "guarded" form, byte-compatible with
 * Mail::SRS::Guarded (Perl, 0.31) and postsrsd 1.x (libsrs2's srs2.c).
 *
 *   SRS0 = "SRS0" sep hash "=" tt "=" host "=" local
 *          hash over lc(tt) lc(host) lc(local)       (Shortcut::compile)
 *   SRS1 = "SRS1" sep hash "=" srshost "=" opaque
 *          hash over lc(srshost) lc(opaque)           (Guarded::compile)
 *
 * sep is '=', '+' or '-' (Mail::SRS $SRS0RE/$SRS1RE: ^SRS0([-+=]), any
 * case); every later separator is '='.  hash is the first hash_length
 * characters of the unpadded base64 of HMAC-SHA1(secret, the fields
 * lower-cased and concatenated without separators).  tt is the day number
 * (seconds / 86400) in two base32 characters A-Z 2-7, high five bits
 * first, so it repeats every 1024 days.
 *
 * Forwarding an SRS0 address (of anyone's SRS domain) "srs0host": the tag
 * "SRS0" is cut and the rest, its separator included, is the opaque part,
 * hashed with srshost = srs0host: SRS1=HHHH=srs0host==HHHH=TT=h=l@us.
 * Forwarding an SRS1 address: its hash is dropped, srshost and opaque are
 * kept and hashed again with our key.  Reversing SRS1 checks that hash
 * (no timestamp: the SRS0 inside is checked by whoever made it) and gives
 * "SRS0" opaque "@" srshost.
 *
 * Decisions where the two implementations differ:
 * - Hash length on verify: Mail::SRS compares as many characters as were
 *   given (at least HashMin); postsrsd cuts a longer hash to hashlength.
 *   We compare all given characters (min_hash_length..27): stricter, and
 *   both write exactly hash_length, so their addresses verify.
 * - Order of checks: like Mail::SRS, the hash first, then the age, so
 *   "expired" means "ours, but too old".  A timestamp that is not two
 *   base32 characters is "malformed" (postsrsd: bad timestamp).
 * - Age: days since tt, counted modulo 1024, at most max_age (the
 *   timestamp_check loop "now += 1024 while now < then").
 * - Empty fields (hash, timestamp, host, local; SRS1 host or opaque) are
 *   "malformed".  The SRS domain of the address is not looked at (both
 *   implementations ignore it); callers decide which domains are ours.
 * - The fields are hashed without separators between them (the format
 *   is Mail::SRS's): a character can move between host and local part of
 *   a valid SRS0 ("...=foo.example=alice" to "...=foo.exampl=ealice")
 *   and it still verifies, in both implementations and here.
 * - Forward refuses (malformed) a local part holding '@' (Mail::SRS dies
 *   on it) and a domain holding '=' (it would not reverse); an address
 *   already at our SRS domain is returned unchanged (both do).
 * - Options left 0 take Mail::SRS's defaults ('=', 4, min = length, 21);
 *   options out of range, and an HMAC the crypto library fails to make,
 *   are "no-key": a fault of ours or of the configuration, never a
 *   verdict on the address.
 *
 * Memory: callers' buffers only; every scratch buffer is on the stack and
 * bounded by PB_SIGN_IN_MAX.  Pure and thread-safe.
 * SECURITY: addresses are untrusted: lengths are checked before any copy,
 * hashes compared in constant time, and nothing is written past outlen.
 */
#include "sign/sign.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "sign/hmac.h"

#define SRS_SLOTS 1024	   /* two base32 characters */
#define SRS_HASH_DEFAULT 4 /* Mail::SRS $SRSHASHLENGTH */
#define SRS_AGE_DEFAULT 21 /* Mail::SRS $SRSMAXAGE */

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* A piece of the input address. */
typedef struct span {
	const char *p;
	size_t n;
} span;

/* The options with defaults filled in and ranges checked. */
typedef struct srs_cfg {
	const pb_keys *keys;
	char sep;
	size_t hash_len, hash_min;
	long long max_age;
} srs_cfg;

/* The output being written: never more than cap - 1 bytes and a NUL. */
typedef struct obuf {
	char *p;
	size_t cap, n;
	bool over;
} obuf;

/* pb_sign_err_name - the fixed names of the error classes. */
const char *pb_sign_err_name(pb_sign_err err)
{
	static const char *const names[] = {
	    [PB_SIGN_OK] = "ok",
	    [PB_SIGN_NOT_SIGNED] = "not-srs",
	    [PB_SIGN_BAD_HASH] = "bad-hash",
	    [PB_SIGN_EXPIRED] = "expired",
	    [PB_SIGN_MALFORMED] = "malformed",
	    [PB_SIGN_TOO_LONG] = "too-long",
	    [PB_SIGN_NO_KEY] = "no-key",
	};

	if ((unsigned)err < sizeof(names) / sizeof(names[0]))
		return names[err];
	return "unknown";
}

/* is_sep - a separator allowed right after the SRS0/SRS1 tag */
static bool is_sep(char c)
{
	return c == '=' || c == '+' || c == '-';
}

/* has_tag - s[0..n) starts with "SRS" digit sep, any case */
static bool has_tag(const char *s, size_t n, char digit)
{
	return n >= 5 && (s[0] == 'S' || s[0] == 's') &&
	       (s[1] == 'R' || s[1] == 'r') && (s[2] == 'S' || s[2] == 's') &&
	       s[3] == digit && is_sep(s[4]);
}

/* pb_srs_is_srs - cheap test of the tag. */
int pb_srs_is_srs(const char *addr)
{
	size_t n;

	if (addr == NULL)
		return 0;
	n = strnlen(addr, 5);
	return has_tag(addr, n, '0') || has_tag(addr, n, '1');
}

/* lc - ASCII lower case (Perl's lc on bytes, postsrsd's tolower in C) */
static char lc(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* resolve - check the options and fill in defaults for zero fields */
static pb_sign_err resolve(const pb_srs_opts *o, srs_cfg *c)
{
	if (o == NULL || o->keys == NULL || o->keys->n == 0 ||
	    o->keys->n > PB_KEYS_MAX || !pb_key_usable(&o->keys->keys[0]))
		return PB_SIGN_NO_KEY;
	c->keys = o->keys;
	c->sep = o->separator == '\0' ? '=' : o->separator;
	c->hash_len =
	    o->hash_length == 0 ? SRS_HASH_DEFAULT : (size_t)o->hash_length;
	c->hash_min =
	    o->min_hash_length == 0 ? c->hash_len : (size_t)o->min_hash_length;
	c->max_age = o->max_age == 0 ? SRS_AGE_DEFAULT : o->max_age;
	if (!is_sep(c->sep) || o->hash_length < 0 ||
	    c->hash_len > PB_SHA1_B64_LEN || o->min_hash_length < 0 ||
	    c->hash_min > PB_SHA1_B64_LEN || c->max_age < 0 ||
	    c->max_age >= SRS_SLOTS)
		return PB_SIGN_NO_KEY;
	return PB_SIGN_OK;
}

/* split_addr - addr[0..len) into local and domain at the last '@'; false
 * when either would be empty */
static bool split_addr(const char *addr, size_t len, span *local, span *dom)
{
	const char *at = memrchr(addr, '@', len);

	if (at == NULL || at == addr || at + 1 == addr + len)
		return false;
	*local = (span){addr, (size_t)(at - addr)};
	*dom = (span){at + 1, len - (size_t)(at - addr) - 1};
	return true;
}

/* next_field - cut s at its first '=': *f gets the part before, s the
 * rest; false when there is no '=' */
static bool next_field(span *s, span *f)
{
	const char *eq = memchr(s->p, '=', s->n);

	if (eq == NULL)
		return false;
	*f = (span){s->p, (size_t)(eq - s->p)};
	s->n -= f->n + 1;
	s->p = eq + 1;
	return true;
}

/* srs_mac - the base64 MAC of the fields lower-cased and concatenated;
 * 0, or -1 when HMAC failed.  The fields lie inside one address, so
 * together they are shorter than PB_SIGN_IN_MAX (plus a timestamp). */
static int srs_mac(const pb_key *key, const span *f, size_t nf,
		   char b64[PB_SHA1_B64_LEN + 1])
{
	char msg[PB_SIGN_IN_MAX + 8];
	unsigned char mac[PB_SHA1_LEN];
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < nf; i++) {
		if (f[i].n > sizeof(msg) - n)
			return -1;
		for (size_t j = 0; j < f[i].n; j++)
			msg[n++] = lc(f[i].p[j]);
	}
	rc = pb_hmac_sha1(key, msg, n, mac);
	if (rc == 0)
		pb_mac_base64(mac, b64);
	return rc;
}

/* hash_check - whether hash matches the fields under some key: 1 yes,
 * 0 no, -1 HMAC failed.  Every key is tried, match or not. */
static int hash_check(const srs_cfg *c, span hash, const span *f, size_t nf)
{
	char b64[PB_SHA1_B64_LEN + 1];
	int found = 0;

	if (hash.n < c->hash_min || hash.n > PB_SHA1_B64_LEN)
		return 0;
	for (size_t i = 0; i < c->keys->n; i++) {
		if (!pb_key_usable(&c->keys->keys[i]))
			continue;
		if (srs_mac(&c->keys->keys[i], f, nf, b64) < 0)
			return -1;
		found |= pb_mac_equal_fold(hash.p, b64, hash.n);
	}
	return found;
}

/* b32_value - the value of one base32 timestamp character, any case
 * (Mail::SRS upper-cases the timestamp before decoding), or -1 */
static int b32_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a';
	if (ch >= '2' && ch <= '7')
		return ch - '2' + 26;
	return -1;
}

/* age_ok - timestamp tt is at most max_age days old, counting modulo
 * 1024: 1 yes, 0 no, -1 when tt is not two base32 characters */
static int age_ok(const srs_cfg *c, span tt, time_t now)
{
	long long today;
	int hi, lo;

	if (tt.n != 2 || (hi = b32_value(tt.p[0])) < 0 ||
	    (lo = b32_value(tt.p[1])) < 0)
		return -1;
	today = pb_sign_day(now) % SRS_SLOTS;
	if (today < 0)
		today += SRS_SLOTS;
	return (today - (hi * 32 + lo) + SRS_SLOTS) % SRS_SLOTS <= c->max_age;
}

/* put - append s[0..n) to b, or mark it over-full */
static void put(obuf *b, const char *s, size_t n)
{
	if (b->over || n >= b->cap - b->n) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

/* put_span - append a span */
static void put_span(obuf *b, span s)
{
	put(b, s.p, s.n);
}

/* finish - NUL-terminate b: PB_SIGN_OK, or PB_SIGN_TOO_LONG with an
 * empty output when it did not fit */
static pb_sign_err finish(obuf *b)
{
	if (b->over) {
		b->p[0] = '\0';
		return PB_SIGN_TOO_LONG;
	}
	b->p[b->n] = '\0';
	return PB_SIGN_OK;
}

/* start - set up the output and check the input length; PB_SIGN_OK with
 * *len set, or the error */
static pb_sign_err start(obuf *b, char *out, size_t outlen, const char *addr,
			 size_t *len)
{
	if (out == NULL || outlen == 0)
		return PB_SIGN_TOO_LONG;
	out[0] = '\0';
	*b = (obuf){out, outlen < PB_SIGN_OUT_MAX ? outlen : PB_SIGN_OUT_MAX, 0,
		    false};
	if (addr == NULL)
		return PB_SIGN_MALFORMED;
	*len = strnlen(addr, PB_SIGN_IN_MAX + 1);
	return *len > PB_SIGN_IN_MAX ? PB_SIGN_TOO_LONG : PB_SIGN_OK;
}

/* same_domain - a equals b ignoring ASCII case and one trailing dot */
static bool same_domain(span a, const char *b)
{
	size_t bn = strlen(b);

	if (a.n > 0 && a.p[a.n - 1] == '.')
		a.n--;
	if (bn > 0 && b[bn - 1] == '.')
		bn--;
	return a.n == bn && strncasecmp(a.p, b, bn) == 0;
}

/* write_signed - tag sep hash "=" fields joined by "=" "@" domain */
static pb_sign_err write_signed(obuf *b, const srs_cfg *c, const char *tag,
				const char *b64, const span *f, size_t nf,
				const char *domain)
{
	put(b, tag, 4);
	put(b, &c->sep, 1);
	put(b, b64, c->hash_len);
	for (size_t i = 0; i < nf; i++) {
		put(b, "=", 1);
		put_span(b, f[i]);
	}
	put(b, "@", 1);
	put(b, domain, strlen(domain));
	return finish(b);
}

/* pb_srs_forward - plain → SRS0, SRS0 → SRS1, SRS1 → SRS1 (re-signed). */
pb_sign_err pb_srs_forward(const pb_srs_opts *o, time_t now, const char *addr,
			   char *out, size_t outlen)
{
	char b64[PB_SHA1_B64_LEN + 1], tt[2];
	span local, host, f[3];
	srs_cfg c;
	obuf b;
	size_t len = 0;
	pb_sign_err e;
	long long day;

	if ((e = start(&b, out, outlen, addr, &len)) != PB_SIGN_OK)
		return e;
	if ((e = resolve(o, &c)) != PB_SIGN_OK)
		return e;
	if (o->domain == NULL || o->domain[0] == '\0' ||
	    strchr(o->domain, '@') != NULL)
		return PB_SIGN_NO_KEY;
	if (!split_addr(addr, len, &local, &host) ||
	    memchr(local.p, '@', local.n) != NULL ||
	    memchr(host.p, '=', host.n) != NULL)
		return PB_SIGN_MALFORMED;
	if (same_domain(host, o->domain)) {
		put(&b, addr, len);
		return finish(&b);
	}
	if (has_tag(local.p, local.n, '1')) {
		/* keep srshost and opaque, sign them again */
		span rest = {local.p + 5, local.n - 5}, oldhash;

		if (!next_field(&rest, &oldhash) || !next_field(&rest, &f[0]) ||
		    f[0].n == 0 || rest.n == 0)
			return PB_SIGN_MALFORMED;
		f[1] = rest;
	} else if (has_tag(local.p, local.n, '0')) {
		/* the SRS0 minus its tag (separator kept) is opaque */
		f[0] = host;
		f[1] = (span){local.p + 4, local.n - 4};
	} else {
		day = ((pb_sign_day(now) % SRS_SLOTS) + SRS_SLOTS) % SRS_SLOTS;
		tt[0] = b32[day >> 5];
		tt[1] = b32[day & 31];
		f[0] = (span){tt, 2};
		f[1] = host;
		f[2] = local;
		if (srs_mac(&c.keys->keys[0], f, 3, b64) < 0)
			return PB_SIGN_NO_KEY;
		return write_signed(&b, &c, "SRS0", b64, f, 3, o->domain);
	}
	if (srs_mac(&c.keys->keys[0], f, 2, b64) < 0)
		return PB_SIGN_NO_KEY;
	return write_signed(&b, &c, "SRS1", b64, f, 2, o->domain);
}

/* reverse_srs1 - SRS1 local part → SRS0 at the first-hop domain */
static pb_sign_err reverse_srs1(const srs_cfg *c, span local, obuf *b)
{
	span rest = {local.p + 5, local.n - 5}, f[3];
	int ok;

	if (!next_field(&rest, &f[0]) || !next_field(&rest, &f[1]) ||
	    f[0].n == 0 || f[1].n == 0 || rest.n == 0)
		return PB_SIGN_MALFORMED;
	f[2] = rest;
	ok = hash_check(c, f[0], f + 1, 2);
	if (ok < 0)
		return PB_SIGN_NO_KEY;
	if (ok == 0)
		return PB_SIGN_BAD_HASH;
	put(b, "SRS0", 4);
	put_span(b, f[2]);
	put(b, "@", 1);
	put_span(b, f[1]);
	return finish(b);
}

/* reverse_srs0 - SRS0 local part → the original address */
static pb_sign_err reverse_srs0(const srs_cfg *c, span local, time_t now,
				obuf *b)
{
	span rest = {local.p + 5, local.n - 5}, f[4];
	int ok;

	/* hash, timestamp, host; the rest (may hold '=') is the local part */
	if (!next_field(&rest, &f[0]) || !next_field(&rest, &f[1]) ||
	    !next_field(&rest, &f[2]) || f[0].n == 0 || f[2].n == 0 ||
	    rest.n == 0)
		return PB_SIGN_MALFORMED;
	f[3] = rest;
	if (age_ok(c, f[1], now) < 0)
		return PB_SIGN_MALFORMED;
	ok = hash_check(c, f[0], f + 1, 3);
	if (ok < 0)
		return PB_SIGN_NO_KEY;
	if (ok == 0)
		return PB_SIGN_BAD_HASH;
	if (age_ok(c, f[1], now) == 0)
		return PB_SIGN_EXPIRED;
	put_span(b, f[3]);
	put(b, "@", 1);
	put_span(b, f[2]);
	return finish(b);
}

/* pb_srs_reverse - one step back: SRS1 → SRS0, SRS0 → original. */
pb_sign_err pb_srs_reverse(const pb_srs_opts *o, time_t now, const char *addr,
			   char *out, size_t outlen)
{
	span local, dom;
	srs_cfg c;
	obuf b;
	size_t len = 0;
	pb_sign_err e;

	if ((e = start(&b, out, outlen, addr, &len)) != PB_SIGN_OK)
		return e;
	if (!has_tag(addr, len, '0') && !has_tag(addr, len, '1'))
		return PB_SIGN_NOT_SIGNED;
	if ((e = resolve(o, &c)) != PB_SIGN_OK)
		return e;
	if (!split_addr(addr, len, &local, &dom) || local.n < 5)
		return PB_SIGN_MALFORMED;
	if (has_tag(local.p, local.n, '1'))
		return reverse_srs1(&c, local, &b);
	return reverse_srs0(&c, local, now, &b);
}
