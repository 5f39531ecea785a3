/*
 * addr - parse and normalise one envelope-form mailbox address.
 *
 * Grammar accepted (RFC 5321 4.1.2 and 4.1.3, with the RFC 6531 SMTPUTF8
 * extensions):
 *
 *   address   = [ "<" ] ( "" / local "@" domain ) [ ">" ]   (both or none)
 *   local     = dot-string / quoted-string
 *   dot-string = atom *( "." atom )
 *   atom      = 1*( ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~" / UTF8-non-ascii )
 *   quoted-string = DQUOTE *( qtext / "\" %d32-126 ) DQUOTE
 *   qtext     = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
 *   domain    = hostname [ "." ] / "[" address-literal "]"
 *   hostname  = label *( "." label ), label = 1..63 octets of ALPHA / DIGIT /
 *               "-" / "_" / UTF8-non-ascii, not starting or ending in "-"
 *   address-literal = IPv4 dotted quad / "IPv6:" IPv6 (inet_pton) /
 *               Ldh-str ":" 1*dcontent (dcontent = %d33-90 / %d94-126)
 *
 * Decisions:
 * - No comments, folding white space, obsolete local parts ("a"."b") or
 *   source routes: Postfix hands us the envelope form, not a header.
 * - Underscore is allowed anywhere in a label: such host names exist in
 *   the wild and the MTA has already accepted the address; rejecting it here
 *   would only turn a working address into an error.
 * - Bytes >= 0x80 are allowed in atoms, quoted strings and labels when they
 *   form well-formed UTF-8 (SMTPUTF8); quoted-pairs stay ASCII.  Label
 *   lengths count UTF-8 octets (no IDNA conversion here).  Case folding is
 *   ASCII only.
 * - A trailing dot on a host name is removed ("example.org." is the same
 *   domain).
 * - Address literals are canonicalised so equal addresses give equal keys:
 *   IPv4 without leading zeros, IPv6 as inet_ntop writes it, everything
 *   lower-cased ("[ipv6:2001:db8::1]").  A general literal keeps its text,
 *   lower-cased; "IPv6:" must hold a valid IPv6 address.
 * - Limits: the local part as written in full (see below) is at most
 *   PB_LOCAL_MAX octets, not RFC 5321's 64, because SRS/VERP addresses in
 *   the wild are longer; the domain (without trailing dot) at most
 *   PB_DOMAIN_MAX.  So full and key always fit PB_ADDR_MAX.  One corner:
 *   a base that needs quotes where the whole did not ("l...l.+x" has base
 *   "l...l.") is also limited to PB_LOCAL_MAX written, else TOO_LONG.
 *
 * Keys: full and key hold the local part as it must be written in an
 * address: as a dot-string when the (decoded) text is one, else as a
 * quoted-string with only '"' and '\' escaped.  So "\a"@x and a@x give the
 * same key a@x, while "john doe"@x gives "john doe"@x, and no two different
 * mailboxes share a key.  key_local is exactly the part of key before '@'
 * (written form, folded, extension stripped); extension is taken from the
 * local part as given (not folded: signatures in it may be case-sensitive).
 * Delimiters are matched as single ASCII bytes in the decoded local part;
 * the extension starts at the first one, and nothing is stripped when that
 * first one is the first character of the local part.
 *
 * Memory: pb_addr holds its text inline; no allocation.  Thread-safe (no
 * state).
 * SECURITY: input is untrusted; every parser here takes (p, len), never
 * reads past len and never relies on a NUL; an embedded NUL is a syntax
 * error.
 */
#include "core/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* lower - ASCII lower-case of one byte */
static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* is_alnum - ASCII letter or digit */
static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* is_atext - RFC 5322 atext, ASCII part */
static bool is_atext(unsigned char c)
{
	return is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* is_qtext - RFC 5321 qtextSMTP, ASCII part */
static bool is_qtext(unsigned char c)
{
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

/* utf8_len - length of the well-formed UTF-8 sequence at s (first byte
 * >= 0x80), or 0 when it is not well-formed (RFC 3629 table 3-7) */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (len < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* is_dot_string - whether s[0..len) is a non-empty RFC 5321 dot-string */
static bool is_dot_string(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	bool atom_start = true;

	if (len == 0)
		return false;
	while (i < len) {
		if (u[i] == '.') {
			if (atom_start)
				return false;
			atom_start = true;
			i++;
			continue;
		}
		if (u[i] >= 0x80) {
			if ((n = utf8_len(u + i, len - i)) == 0)
				return false;
			i += n;
		} else if (is_atext(u[i])) {
			i++;
		} else {
			return false;
		}
		atom_start = false;
	}
	return !atom_start;
}

/* decode_quoted - decode the quoted-string at p (p[0] == '"') into out (cap
 * bytes, NUL-terminated); *used gets the octets consumed, *outlen the
 * decoded length */
static pb_addr_err decode_quoted(const char *p, size_t len, char *out,
				 size_t cap, size_t *used, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 1, o = 0, n;

	while (i < len && u[i] != '"') {
		if (u[i] == '\\') {
			if (len - i < 2 || u[i + 1] < 32 || u[i + 1] > 126)
				return PB_ADDR_BAD_LOCAL;
			n = 1;
			i++;
		} else if (u[i] >= 0x80) {
			if ((n = utf8_len(u + i, len - i)) == 0)
				return PB_ADDR_BAD_LOCAL;
		} else if (is_qtext(u[i])) {
			n = 1;
		} else {
			return PB_ADDR_BAD_LOCAL;
		}
		if (cap - o <= n)
			return PB_ADDR_TOO_LONG;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	if (i >= len)
		return PB_ADDR_BAD_LOCAL; /* unclosed */
	out[o] = '\0';
	*used = i + 1;
	*outlen = o;
	return PB_ADDR_OK;
}

/* write_local - write decoded local part s[0..len) as it must appear in an
 * address (dot-string, or quoted-string with '"' and '\' escaped) into out;
 * -1 when it needs more than cap - 1 octets */
static int write_local(const char *s, size_t len, char *out, size_t cap)
{
	size_t i, o = 0;

	if (is_dot_string(s, len)) {
		if (len >= cap)
			return -1;
		memcpy(out, s, len);
		out[len] = '\0';
		return 0;
	}
	if (cap - o < 2)
		return -1;
	out[o++] = '"';
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			if (cap - o < 2)
				return -1;
			out[o++] = '\\';
		}
		if (cap - o < 2)
			return -1;
		out[o++] = s[i];
	}
	if (cap - o < 2)
		return -1;
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

/* check_hostname - whether p[0..len) (no trailing dot) is a host name */
static bool check_hostname(const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, start = 0, n;

	if (len == 0)
		return false;
	for (;;) {
		if (i == len || u[i] == '.') {
			if (i == start || i - start > 63)
				return false;
			if (u[start] == '-' || u[i - 1] == '-')
				return false;
			if (i == len)
				return true;
			start = ++i;
			continue;
		}
		if (u[i] >= 0x80) {
			if ((n = utf8_len(u + i, len - i)) == 0)
				return false;
			i += n;
		} else if (is_alnum(u[i]) || u[i] == '-' || u[i] == '_') {
			i++;
		} else {
			return false;
		}
	}
}

/* copy_lower - ASCII-lower-case p[0..len) into out; caller checked size */
static void copy_lower(const char *p, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = (char)lower((unsigned char)p[i]);
	out[len] = '\0';
}

/* parse_ipv4 - RFC 5321 IPv4-address-literal (4 Snum of 1-3 digits, each
 * <= 255) into its canonical text; -1 if invalid */
static int parse_ipv4(const char *p, size_t len, char *out, size_t cap)
{
	unsigned v[4];
	size_t i = 0, k, digits;
	int r;

	for (k = 0; k < 4; k++) {
		if (k > 0) {
			if (i >= len || p[i] != '.')
				return -1;
			i++;
		}
		v[k] = 0;
		for (digits = 0; i < len && p[i] >= '0' && p[i] <= '9';
		     i++, digits++) {
			if (digits == 3)
				return -1;
			v[k] = v[k] * 10 + (unsigned)(p[i] - '0');
		}
		if (digits == 0 || v[k] > 255)
			return -1;
	}
	if (i != len)
		return -1;
	r = snprintf(out, cap, "[%u.%u.%u.%u]", v[0], v[1], v[2], v[3]);
	return (r < 0 || (size_t)r >= cap) ? -1 : 0;
}

/* parse_literal - the text between "[" and "]" into the canonical domain
 * form (with brackets); -1 if it is not an RFC 5321 address literal */
static int parse_literal(const char *p, size_t len, char *out, size_t cap)
{
	const unsigned char *u = (const unsigned char *)p;
	char buf[64], text[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	size_t i, tag;
	int r;

	for (i = 0; i < len && ((u[i] >= '0' && u[i] <= '9') || u[i] == '.');
	     i++)
		;
	if (i == len)
		return parse_ipv4(p, len, out, cap);

	/* Standardized-tag = Ldh-str */
	for (tag = 0; tag < len && (is_alnum(u[tag]) || u[tag] == '-'); tag++)
		;
	if (tag == 0 || tag == len || u[tag] != ':' || u[tag - 1] == '-')
		return -1;
	if (tag == 4 && lower(u[0]) == 'i' && lower(u[1]) == 'p' &&
	    lower(u[2]) == 'v' && u[3] == '6') {
		/* inet_pton stops at a NUL: one inside would hide a tail */
		if (len - 5 >= sizeof(buf) || memchr(p + 5, '\0', len - 5))
			return -1;
		memcpy(buf, p + 5, len - 5);
		buf[len - 5] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1 ||
		    inet_ntop(AF_INET6, &a6, text, sizeof(text)) == NULL)
			return -1;
		r = snprintf(out, cap, "[ipv6:%s]", text);
		return (r < 0 || (size_t)r >= cap) ? -1 : 0;
	}
	if (tag + 1 == len)
		return -1;
	for (i = tag + 1; i < len; i++)
		if (u[i] < 33 || u[i] > 126 || u[i] == '[' || u[i] == '\\' ||
		    u[i] == ']')
			return -1;
	if (len + 2 >= cap)
		return -1;
	out[0] = '[';
	copy_lower(p, len, out + 1);
	out[len + 1] = ']';
	out[len + 2] = '\0';
	return 0;
}

/* parse_domain - the domain part into out->domain */
static pb_addr_err parse_domain(const char *p, size_t len, pb_addr *out)
{
	if (len > 0 && p[0] == '[') {
		if (len > PB_DOMAIN_MAX)
			return PB_ADDR_TOO_LONG;
		if (len < 2 || p[len - 1] != ']')
			return PB_ADDR_BAD_DOMAIN;
		if (parse_literal(p + 1, len - 2, out->domain,
				  sizeof(out->domain)) < 0)
			return PB_ADDR_BAD_DOMAIN;
		out->literal = true;
		return PB_ADDR_OK;
	}
	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len > PB_DOMAIN_MAX)
		return PB_ADDR_TOO_LONG;
	if (!check_hostname(p, len))
		return PB_ADDR_BAD_DOMAIN;
	copy_lower(p, len, out->domain);
	return PB_ADDR_OK;
}

/* find_delimiter - offset of the first delimiter in s[0..len), or len
 * when there is none or it is the first character (then nothing is
 * stripped: "+foo+bar" stays whole, as with Postfix recipient_delimiter) */
static size_t find_delimiter(const char *s, size_t len, const char *delims)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != 0 && c < 0x80 && strchr(delims, c) != NULL)
			return i == 0 ? len : i;
	}
	return len;
}

/* join - "local@domain" into out (cap bytes) */
static int join(char *out, size_t cap, const char *local, const char *domain)
{
	int r = snprintf(out, cap, "%s@%s", local, domain);

	return (r < 0 || (size_t)r >= cap) ? -1 : 0;
}

/* pb_addr_parse - parse and normalise one envelope-form address */
pb_addr_err pb_addr_parse(const char *p, size_t len, const pb_addr_opts *opts,
			  pb_addr *out)
{
	const char *delims =
	    (opts != NULL && opts->delimiters != NULL) ? opts->delimiters : "";
	bool fold = opts != NULL && opts->fold_local;
	char folded[PB_LOCAL_MAX + 1];
	const char *at;
	size_t local_len, used, i, base;
	pb_addr_err err;

	memset(out, 0, sizeof(*out));
	if (len >= 2 && p[0] == '<' && p[len - 1] == '>') {
		p++;
		len -= 2;
	}
	if (len == 0)
		return PB_ADDR_EMPTY;

	if (p[0] == '"') {
		err = decode_quoted(p, len, out->local, sizeof(out->local),
				    &used, &local_len);
		if (err != PB_ADDR_OK)
			return err;
		if (used == len)
			return PB_ADDR_NO_AT;
		if (p[used] != '@')
			return PB_ADDR_BAD_LOCAL;
		out->quoted = true;
		at = p + used;
	} else {
		at = memchr(p, '@', len);
		if (at == NULL)
			return PB_ADDR_NO_AT;
		local_len = (size_t)(at - p);
		if (local_len > PB_LOCAL_MAX)
			return PB_ADDR_TOO_LONG;
		if (!is_dot_string(p, local_len))
			return PB_ADDR_BAD_LOCAL;
		memcpy(out->local, p, local_len);
		out->local[local_len] = '\0';
	}

	err = parse_domain(at + 1, len - (size_t)(at + 1 - p), out);
	if (err != PB_ADDR_OK)
		return err;

	/* full: the whole local part, folded, as written */
	for (i = 0; i < local_len; i++)
		folded[i] = fold ? (char)lower((unsigned char)out->local[i])
				 : out->local[i];
	folded[local_len] = '\0';
	if (write_local(folded, local_len, out->key_local,
			sizeof(out->key_local)) < 0)
		return PB_ADDR_TOO_LONG;
	if (join(out->full, sizeof(out->full), out->key_local, out->domain) < 0)
		return PB_ADDR_TOO_LONG;

	/* key: the base before the first delimiter */
	base = find_delimiter(folded, local_len, delims);
	if (base < local_len) {
		memcpy(out->extension, out->local + base + 1,
		       local_len - base - 1);
		out->extension[local_len - base - 1] = '\0';
		/* The base may need quotes where the whole did not ("a.+b"
		 * has base "a."), so it can outgrow key_local at the limit. */
		if (write_local(folded, base, out->key_local,
				sizeof(out->key_local)) < 0)
			return PB_ADDR_TOO_LONG;
	}
	if (join(out->key, sizeof(out->key), out->key_local, out->domain) < 0)
		return PB_ADDR_TOO_LONG;
	return PB_ADDR_OK;
}

/* pb_addr_strerror - short human text for an error code */
const char *pb_addr_strerror(pb_addr_err err)
{
	switch (err) {
	case PB_ADDR_OK:
		return "ok";
	case PB_ADDR_EMPTY:
		return "empty address";
	case PB_ADDR_NO_AT:
		return "missing @";
	case PB_ADDR_BAD_LOCAL:
		return "bad local part";
	case PB_ADDR_BAD_DOMAIN:
		return "bad domain";
	case PB_ADDR_TOO_LONG:
		return "address too long";
	}
	return "unknown address error";
}

/* pb_domain_normalise - lower-cased host name without trailing dot */
int pb_domain_normalise(const char *p, size_t len, char *out, size_t cap)
{
	if (len > 0 && p[len - 1] == '.')
		len--;
	if (len > PB_DOMAIN_MAX || len >= cap || !check_hostname(p, len))
		return -1;
	copy_lower(p, len, out);
	return 0;
}
