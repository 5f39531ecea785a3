/*
 * signer - map lookups and bounce classification over sign/ and the keys.
 *
 * What each map answers (the MTA keeps the address on NOTFOUND):
 *   forward       a sender outside local_domains, exclude_domains and the
 *                 SRS domain → SRS0 (SRS1 when it already is SRS0);
 *   reverse       SRS0/SRS1 at the SRS domain or a local domain, valid →
 *                 one step back;
 *   batv-sign     a protected sender, not yet signed → prvs;
 *   batv-reverse  a valid prvs address → the mailbox inside.
 * The null sender, addresses without a domain, and signatures that do not
 * verify are NOTFOUND: a map never turns a bad address into an error that
 * would hold the mail queue.  TEMP is kept for "not configured", so a
 * half-finished set-up defers mail instead of sending it unsigned.
 */
#include "sign/signer.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* domain_of - the text after the last '@', or NULL. */
static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && at != addr && at[1] != '\0' ? at + 1 : NULL;
}

/* same_domain - domains equal ignoring case and one trailing dot. */
static bool same_domain(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* in_domains - domain is one of the list's domains. */
static bool in_domains(const pb_strlist *l, const char *domain)
{
	for (size_t i = 0; i < l->n; i++)
		if (same_domain(l->v[i], domain))
			return true;
	return false;
}

/* pb_signer_init - keys from the files cfg names. */
int pb_signer_init(pb_signer *s, const pb_config *cfg, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	if (cfg->srs_secrets != NULL) {
		if (pb_keys_load(&s->srs_keys, cfg->srs_secrets, false, err,
				 errlen) < 0)
			return -1;
		if (cfg->srs_domain == NULL) {
			snprintf(err, errlen,
				 "[srs] secrets is set but [srs] domain is "
				 "not: SRS needs both");
			return -1;
		}
		s->srs_on = true;
	}
	if (cfg->batv_secrets != NULL) {
		if (pb_keys_load(&s->batv_keys, cfg->batv_secrets, true, err,
				 errlen) < 0)
			return -1;
		s->batv_on = true;
	}
	s->srs = (pb_srs_opts){.keys = &s->srs_keys,
			       .domain = cfg->srs_domain,
			       .separator = cfg->srs_separator,
			       .hash_length = cfg->srs_hash_length,
			       .min_hash_length = cfg->srs_min_hash_length,
			       .max_age = cfg->srs_max_age};
	s->batv =
	    (pb_batv_opts){.keys = &s->batv_keys, .max_age = cfg->batv_max_age};
	return 0;
}

/* pb_signer_wipe - overwrite the keys. */
void pb_signer_wipe(pb_signer *s)
{
	pb_keys_wipe(&s->srs_keys);
	pb_keys_wipe(&s->batv_keys);
	s->srs_on = s->batv_on = false;
}

/* base_local_len - length of addr's local part without its extension
 * (recipient_delimiter), for matching alice+tag against alice. */
static size_t base_local_len(const pb_signer *s, const char *addr,
			     const char *at)
{
	const char *delims = s->cfg->recipient_delimiter;
	size_t n = (size_t)(at - addr);

	if (delims != NULL && delims[0] != '\0') {
		size_t k = strcspn(addr, delims);

		if (k > 0 && k < n)
			return k;
	}
	return n;
}

/* pb_signer_protected - addr or its domain is protected. */
bool pb_signer_protected(const pb_signer *s, const char *addr)
{
	const char *domain = domain_of(addr);
	size_t base;

	if (domain == NULL)
		return false;
	if (s->cfg->srs_domain != NULL &&
	    same_domain(s->cfg->srs_domain, domain))
		return true;
	base = base_local_len(s, addr, domain - 1);
	for (size_t i = 0; i < s->cfg->protect.n; i++) {
		const char *p = s->cfg->protect.v[i], *pat = strrchr(p, '@');

		if (pat == NULL) {
			if (same_domain(p, domain))
				return true;
			continue;
		}
		/* an address: whole local part, or base local part */
		if (!same_domain(pat + 1, domain))
			continue;
		if (((size_t)(pat - p) == (size_t)(domain - 1 - addr) &&
		     strncasecmp(p, addr, (size_t)(pat - p)) == 0) ||
		    ((size_t)(pat - p) == base &&
		     strncasecmp(p, addr, base) == 0))
			return true;
	}
	return false;
}

/* pb_signer_no_bounces - addr is an address that never takes bounces. */
bool pb_signer_no_bounces(const pb_signer *s, const char *addr)
{
	const char *domain = domain_of(addr);
	size_t base, whole;

	if (domain == NULL)
		return false;
	whole = (size_t)(domain - 1 - addr);
	base = base_local_len(s, addr, domain - 1);
	for (size_t i = 0; i < s->cfg->no_bounces.n; i++) {
		const char *p = s->cfg->no_bounces.v[i], *pat = strrchr(p, '@');
		size_t plen = pat != NULL ? (size_t)(pat - p) : strlen(p);

		if (pat != NULL && !same_domain(pat + 1, domain))
			continue;
		if ((plen == whole || plen == base) &&
		    strncasecmp(p, addr, plen) == 0)
			return true;
	}
	return false;
}

/* map_forward - SRS-sign a foreign sender. */
static pb_map_status map_forward(const pb_signer *s, const char *key,
				 time_t now, char *out, size_t outlen,
				 const char **why)
{
	const char *domain = domain_of(key);
	pb_sign_err e;

	if (domain == NULL) {
		*why = "no domain";
		return PB_MAP_NOTFOUND;
	}
	if (!s->srs_on) {
		*why = "SRS is not configured ([srs] domain and secrets)";
		return PB_MAP_TEMP;
	}
	if (same_domain(s->cfg->srs_domain, domain) ||
	    in_domains(&s->cfg->local_domains, domain) ||
	    in_domains(&s->cfg->exclude_domains, domain)) {
		*why = "local domain";
		return PB_MAP_NOTFOUND;
	}
	e = pb_srs_forward(&s->srs, now, key, out, outlen);
	if (e != PB_SIGN_OK) {
		*why = pb_sign_err_name(e);
		return e == PB_SIGN_NO_KEY ? PB_MAP_TEMP : PB_MAP_NOTFOUND;
	}
	return PB_MAP_OK;
}

/* map_reverse - undo one SRS step for an address of ours. */
static pb_map_status map_reverse(const pb_signer *s, const char *key,
				 time_t now, char *out, size_t outlen,
				 const char **why)
{
	const char *domain = domain_of(key);
	pb_sign_err e;

	if (domain == NULL || !pb_srs_is_srs(key)) {
		*why = "not-srs";
		return PB_MAP_NOTFOUND;
	}
	if (!s->srs_on) {
		*why = "SRS is not configured ([srs] domain and secrets)";
		return PB_MAP_TEMP;
	}
	if (!same_domain(s->cfg->srs_domain, domain) &&
	    !in_domains(&s->cfg->local_domains, domain)) {
		*why = "not our SRS domain";
		return PB_MAP_NOTFOUND;
	}
	e = pb_srs_reverse(&s->srs, now, key, out, outlen);
	if (e != PB_SIGN_OK) {
		*why = pb_sign_err_name(e);
		return e == PB_SIGN_NO_KEY ? PB_MAP_TEMP : PB_MAP_NOTFOUND;
	}
	return PB_MAP_OK;
}

/* map_batv_sign - prvs-sign a protected sender. */
static pb_map_status map_batv_sign(const pb_signer *s, const char *key,
				   time_t now, char *out, size_t outlen,
				   const char **why)
{
	pb_sign_err e;

	if (domain_of(key) == NULL) {
		*why = "no domain";
		return PB_MAP_NOTFOUND;
	}
	if (pb_batv_is_prvs(key) || pb_srs_is_srs(key)) {
		*why = "already signed";
		return PB_MAP_NOTFOUND;
	}
	if (!pb_signer_protected(s, key)) {
		*why = "not protected";
		return PB_MAP_NOTFOUND;
	}
	if (!s->batv_on) {
		*why = "BATV is not configured ([batv] secrets)";
		return PB_MAP_TEMP;
	}
	e = pb_batv_sign(&s->batv, now, key, out, outlen);
	if (e != PB_SIGN_OK) {
		*why = pb_sign_err_name(e);
		return e == PB_SIGN_NO_KEY ? PB_MAP_TEMP : PB_MAP_NOTFOUND;
	}
	return PB_MAP_OK;
}

/* map_batv_reverse - the mailbox inside a valid prvs address. */
static pb_map_status map_batv_reverse(const pb_signer *s, const char *key,
				      time_t now, char *out, size_t outlen,
				      const char **why)
{
	pb_sign_err e;

	if (!pb_batv_is_prvs(key)) {
		*why = "not-prvs";
		return PB_MAP_NOTFOUND;
	}
	if (!s->batv_on) {
		*why = "BATV is not configured ([batv] secrets)";
		return PB_MAP_TEMP;
	}
	e = pb_batv_verify(&s->batv, now, key, out, outlen);
	if (e != PB_SIGN_OK) {
		*why = pb_sign_err_name(e);
		return e == PB_SIGN_NO_KEY ? PB_MAP_TEMP : PB_MAP_NOTFOUND;
	}
	return PB_MAP_OK;
}

/* pb_signer_map - one lookup in one map. */
pb_map_status pb_signer_map(const pb_signer *s, pb_map_id map, const char *key,
			    time_t now, char *out, size_t outlen,
			    const char **why)
{
	*why = "";
	if (key[0] == '\0' || strcmp(key, "<>") == 0) {
		*why = "null address";
		return PB_MAP_NOTFOUND;
	}
	if (strlen(key) > PB_SIGN_IN_MAX) {
		*why = "too-long";
		return PB_MAP_NOTFOUND;
	}
	switch (map) {
	case PB_MAP_FORWARD:
		return map_forward(s, key, now, out, outlen, why);
	case PB_MAP_REVERSE:
		return map_reverse(s, key, now, out, outlen, why);
	case PB_MAP_BATV_SIGN:
		return map_batv_sign(s, key, now, out, outlen, why);
	case PB_MAP_BATV_REVERSE:
		return map_batv_reverse(s, key, now, out, outlen, why);
	case PB_MAP_COUNT:
		break;
	}
	*why = "no such map";
	return PB_MAP_PERM;
}

/* classify - a verifier's answer as a bounce kind. */
static pb_bounce_kind classify(pb_sign_err e)
{
	switch (e) {
	case PB_SIGN_OK:
		return PB_BOUNCE_VALID;
	case PB_SIGN_EXPIRED:
		return PB_BOUNCE_EXPIRED;
	case PB_SIGN_NO_KEY:
		return PB_BOUNCE_NO_KEY;
	case PB_SIGN_NOT_SIGNED:
		return PB_BOUNCE_UNSIGNED;
	case PB_SIGN_BAD_HASH:
	case PB_SIGN_MALFORMED:
	case PB_SIGN_TOO_LONG:
		break;
	}
	return PB_BOUNCE_BAD_SIGNATURE;
}

/* pb_signer_bounce - how a bounce to rcpt looks to the rules. */
void pb_signer_bounce(const pb_signer *s, const char *rcpt, time_t now,
		      pb_bounce_info *bi)
{
	const char *domain = domain_of(rcpt);
	char buf[PB_SIGN_OUT_MAX];

	memset(bi, 0, sizeof(*bi));
	bi->scheme = "";
	snprintf(bi->inner, sizeof(bi->inner), "%s", rcpt);
	if (domain == NULL || strlen(rcpt) > PB_SIGN_IN_MAX) {
		bi->kind = PB_BOUNCE_UNPROTECTED;
		return;
	}
	if (pb_batv_is_prvs(rcpt)) {
		bi->scheme = "prvs";
		if (pb_signer_unwrap(rcpt, buf, sizeof(buf)))
			snprintf(bi->inner, sizeof(bi->inner), "%s", buf);
		if (!pb_signer_protected(s, bi->inner) &&
		    !pb_signer_protected(s, rcpt)) {
			bi->kind = PB_BOUNCE_UNPROTECTED;
			return;
		}
		bi->err = s->batv_on ? pb_batv_verify(&s->batv, now, rcpt, buf,
						      sizeof(buf))
				     : PB_SIGN_NO_KEY;
		bi->kind = classify(bi->err);
		return;
	}
	if (pb_srs_is_srs(rcpt) && s->cfg->srs_domain != NULL &&
	    (same_domain(s->cfg->srs_domain, domain) ||
	     in_domains(&s->cfg->local_domains, domain))) {
		bi->scheme = "srs";
		if (!pb_signer_protected(s, rcpt)) {
			bi->kind = PB_BOUNCE_UNPROTECTED;
			return;
		}
		bi->err = s->srs_on ? pb_srs_reverse(&s->srs, now, rcpt, buf,
						     sizeof(buf))
				    : PB_SIGN_NO_KEY;
		bi->kind = classify(bi->err);
		if (bi->err == PB_SIGN_OK)
			snprintf(bi->inner, sizeof(bi->inner), "%s", buf);
		return;
	}
	bi->kind = pb_signer_protected(s, rcpt) ? PB_BOUNCE_UNSIGNED
						: PB_BOUNCE_UNPROTECTED;
}

/* pb_signer_unwrap - the mailbox inside a prvs address, unverified. */
bool pb_signer_unwrap(const char *rcpt, char *out, size_t outlen)
{
	const char *p, *eq;
	int n;

	if (!pb_batv_is_prvs(rcpt))
		return false;
	p = rcpt + 5; /* "prvs=" */
	eq = strchr(p, '=');
	if (eq == NULL || strchr(eq + 1, '@') == NULL || eq[1] == '@')
		return false;
	n = snprintf(out, outlen, "%s", eq + 1);
	return n > 0 && (size_t)n < outlen;
}
