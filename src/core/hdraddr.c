/*
 * hdraddr - parse the addresses out of an address header field body.
 *
 * Grammar read (RFC 5322 3.4 with the 4.4 obsolete forms, RFC 6532 8-bit):
 *
 *   list        = [element] *( "," [element] )   ; empty elements (obs)
 *   element     = mailbox / group
 *   group       = phrase ":" [list-in-group] ";" [CFWS]
 *   mailbox     = name-addr / addr-spec
 *   name-addr   = [phrase] angle-addr
 *   angle-addr  = [CFWS] "<" [CFWS] ( ">" / [obs-route] addr-spec ">" )
 *                 [CFWS]
 *   obs-route   = *( CFWS / "," ) "@" domain *( "," [CFWS] ["@" domain] )
 *                 ":"
 *   addr-spec   = local-part "@" domain
 *   local-part  = word *( "." word )              ; dot-atom or obs
 *   domain      = atom *( "." atom ) [ "." ] / domain-literal
 *   domain-literal = [CFWS] "[" [FWS] *( dtext / quoted-pair ) [FWS] "]"
 *                 [CFWS]
 *   phrase      = *( word / encoded-word / "." )  ; obs-phrase
 *   word        = [CFWS] ( atom / quoted-string ) [CFWS]
 *   atom        = 1*( atext / %x80-FF )
 *   quoted-string = DQUOTE *( any byte but DQUOTE and "\" / "\" byte )
 *                 DQUOTE
 *   comment     = "(" *( ctext / "\" byte / comment ) ")"
 *   FWS         = 1*( WSP / CRLF WSP / LF WSP )
 *   encoded-word = "=?" charset "?" ( "B" / "Q" ) "?" text "?="
 *                 (RFC 2047; charset and text printable ASCII but "?")
 *
 * Folding: a CRLF or LF followed by WSP is deleted wherever it is, even in
 * a quoted-string or comment (RFC 5322 2.2.3 unfolding), and so is one
 * that ends the input (the line end a caller may have left on); any other
 * CR or LF is a syntax error (so "a@b\r\nc@d" is not two addresses), and
 * inside a quoted-string, comment or domain literal it loses the rest of
 * the field: the line was cut there.
 *
 * Each element either yields all its addresses or none.  Decisions:
 * - A malformed element (syntax error, trailing garbage as in
 *   "J <j@x> junk", two mailboxes without a comma "a@x b@y") yields
 *   nothing; parsing resumes after the next comma that is outside quotes,
 *   comments, <...>, [...] and, once a ":" was seen, outside the group
 *   up to ";".
 * - An unterminated quoted-string or comment, or a <...> or [...] still
 *   open at the end of a malformed element: that element and the rest of
 *   the field yield nothing (there is no telling where it was meant to
 *   end); the elements before it still count.  Comments nested deeper
 *   than PB_HDR_COMMENT_DEPTH count as unterminated.
 * - "Smith, John <john@x>" is what RFC 5322 says: the element "Smith"
 *   (a phrase without an address: nothing) and "John <john@x>".  So the
 *   unquoted comma some MUAs write costs nothing.
 * - "john@x <john@x>" (an address written as an unquoted display name, a
 *   common script and MUA bug): the angle address is returned when both
 *   are equal ignoring ASCII case; otherwise it is two mailboxes without
 *   a comma: malformed.
 * - "<>" and a phrase alone ("MAILER-DAEMON", "undisclosed-recipients")
 *   yield nothing, and are not errors.
 * - Groups yield their members; a group still open at the end of the
 *   field ("friends: a@x" without ";") is accepted.  A group inside a
 *   group is malformed.
 * - Encoded words are skipped as one display-name word even when they
 *   hold specials ("=?utf-8?q?Smith,_J?=" is one word), so a sloppy
 *   encoder does not split the element.  An encoded word made of atext
 *   only is an ordinary atom (it may be a local part).
 * - Bytes >= 0x80 count as atext and as quoted-string or comment text,
 *   whatever they are, so UTF-8 or Latin-1 display names never break
 *   parsing.  An address holding them is returned only if pb_addr_parse
 *   accepts it (well-formed UTF-8: EAI, RFC 6532).
 * - The local part is decoded (quotes dropped, quoted-pairs undone, obs
 *   words joined by ".") and written again in the form pb_addr_parse
 *   accepts.  A quoted-pair of a byte >= 0x80 in a local part drops the
 *   address, as pb_addr_parse refuses it; an address holding a NUL is
 *   dropped (the caller gets C strings).  A domain literal loses leading and
 * trailing FWS.  A trailing dot on a domain is kept (pb_addr_parse removes it).
 * - Every candidate address is run through pb_addr_parse; one it rejects
 *   (bad host name, invalid UTF-8, control bytes, too long) is dropped
 *   without making the element malformed.
 *
 * Cost: every byte is looked at a bounded number of times (an element
 * may be read twice: once to classify it, once to take it, and once more
 * to skip it when malformed); no recursion deeper than a group.
 *
 * Memory: results go into the caller's array; working buffers are on the
 * stack (under 8 KiB).  Thread-safe.
 * SECURITY: the body is untrusted; it is read as (p, len) through one
 * cursor whose every read checks off < len.
 */
#include "core/hdraddr.h"

#include <stdbool.h>
#include <string.h>

enum {
	R_OK = 0,
	R_BAD = -1,   /* malformed element: skip to the next comma */
	R_FATAL = -2, /* unterminated: the rest of the field is lost */
};

typedef struct cursor {
	const unsigned char *p;
	size_t len, off;
} cursor;

/* A bounded text being built; p == NULL discards. */
typedef struct buf {
	char *p;
	size_t cap, len;
	bool bad; /* did not fit, or holds what no address may: unusable */
} buf;

/* One candidate address. */
typedef struct cand {
	char addr[PB_ADDR_MAX + 1];
	bool ok; /* addr holds an address pb_addr_parse accepts */
} cand;

typedef struct state {
	cursor c;
	pb_hdr_addr *out;
	size_t n, max;
} state;

/* is_wsp - RFC 5234 WSP */
static bool is_wsp(int ch)
{
	return ch == ' ' || ch == '\t';
}

/* is_atext - RFC 5322 atext, plus every byte >= 0x80 */
static bool is_atext(int ch)
{
	if (ch >= 0x80)
		return true;
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return true;
	return ch > 0 && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

/* peek - the byte at the cursor after deleting folds (CRLF or LF
 * followed by WSP, or ending the input), or -1 at the end */
static int peek(cursor *c)
{
	for (;;) {
		size_t left = c->len - c->off;

		if (left == 0)
			return -1;
		if (c->p[c->off] == '\r' && left >= 2 &&
		    c->p[c->off + 1] == '\n' &&
		    (left == 2 || is_wsp(c->p[c->off + 2])))
			c->off += 2;
		else if (c->p[c->off] == '\n' &&
			 (left == 1 || is_wsp(c->p[c->off + 1])))
			c->off += 1;
		else
			return c->p[c->off];
	}
}

/* put - append one byte to b (or note that it did not fit) */
static void put(buf *b, int ch)
{
	if (b == NULL || b->p == NULL)
		return;
	if (b->cap - b->len < 2) {
		b->bad = true;
		return;
	}
	b->p[b->len++] = (char)ch;
	b->p[b->len] = '\0';
}

/* skip_comment - past the comment at the cursor (which is at "(") */
static int skip_comment(cursor *c)
{
	unsigned depth = 0;
	int ch;

	for (;;) {
		if ((ch = peek(c)) < 0 || ch == '\r' || ch == '\n')
			return R_FATAL;
		c->off++;
		if (ch == '\\') {
			if ((ch = peek(c)) < 0 || ch == '\r' || ch == '\n')
				return R_FATAL;
			c->off++;
		} else if (ch == '(') {
			if (++depth > PB_HDR_COMMENT_DEPTH)
				return R_FATAL;
		} else if (ch == ')') {
			if (--depth == 0)
				return R_OK;
		}
	}
}

/* skip_cfws - past any white space, folds and comments */
static int skip_cfws(cursor *c)
{
	int ch, r;

	while ((ch = peek(c)) >= 0) {
		if (is_wsp(ch)) {
			c->off++;
		} else if (ch == '(') {
			if ((r = skip_comment(c)) != R_OK)
				return r;
		} else {
			break;
		}
	}
	return R_OK;
}

/* read_qstring - the quoted-string at the cursor (at DQUOTE), its decoded
 * text appended to b (may be NULL) */
static int read_qstring(cursor *c, buf *b)
{
	int ch;

	c->off++;
	for (;;) {
		if ((ch = peek(c)) < 0 || ch == '\r' || ch == '\n')
			return R_FATAL;
		c->off++;
		if (ch == '"')
			return R_OK;
		if (ch == '\\') {
			if ((ch = peek(c)) < 0 || ch == '\r' || ch == '\n')
				return R_FATAL;
			c->off++;
			if (ch >= 0x80 && b != NULL)
				b->bad = true; /* as pb_addr_parse */
		}
		put(b, ch);
	}
}

/* read_atom - the atom at the cursor appended to b (may be NULL) */
static void read_atom(cursor *c, buf *b)
{
	int ch;

	while ((ch = peek(c)) >= 0 && is_atext(ch)) {
		put(b, ch);
		c->off++;
	}
}

/* encword_len - length of the RFC 2047 encoded-word at the cursor that
 * holds a byte that is not atext, else 0 (then it is read as an atom).
 * The word is read raw: it cannot hold white space, so no fold either. */
static size_t encword_len(const cursor *c)
{
	const unsigned char *p = c->p + c->off;
	size_t left = c->len - c->off, i = 2, start;
	bool special = false;

	if (left < 2 || p[0] != '=' || p[1] != '?')
		return 0;
	for (start = i; i < left && p[i] > 32 && p[i] < 127 && p[i] != '?'; i++)
		special = special || !is_atext(p[i]);
	if (i == start || left - i < 3 || p[i] != '?' ||
	    strchr("BbQq", p[i + 1]) == NULL || p[i + 2] != '?')
		return 0;
	for (i += 3; i < left && p[i] > 32 && p[i] < 127 && p[i] != '?'; i++)
		special = special || !is_atext(p[i]);
	if (left - i < 2 || p[i] != '?' || p[i + 1] != '=')
		return 0;
	i += 2;
	if (i < left && is_atext(p[i]))
		return 0;
	return special ? i : 0;
}

/* scan_phrase - past a display name (possibly empty); *words gets the
 * number of words in it */
static int scan_phrase(cursor *c, size_t *words)
{
	size_t n;
	int ch, r;

	*words = 0;
	for (;;) {
		if ((r = skip_cfws(c)) != R_OK)
			return r;
		ch = peek(c);
		if (ch == '"') {
			if ((r = read_qstring(c, NULL)) != R_OK)
				return r;
		} else if (ch == '=' && (n = encword_len(c)) > 0) {
			c->off += n;
		} else if (ch >= 0 && is_atext(ch)) {
			read_atom(c, NULL);
		} else if (ch == '.') {
			c->off++;
			continue;
		} else {
			return R_OK;
		}
		(*words)++;
	}
}

/* read_domain - a domain (obs-domain or domain-literal, with CFWS around)
 * appended to b (may be NULL) */
static int read_domain(cursor *c, buf *b)
{
	bool space = false;
	int ch, r;

	if ((r = skip_cfws(c)) != R_OK)
		return r;
	ch = peek(c);
	if (ch == '[') {
		put(b, '[');
		c->off++;
		for (;;) {
			if ((ch = peek(c)) < 0 || ch == '\r' || ch == '\n')
				return R_FATAL;
			c->off++;
			if (is_wsp(ch)) {
				space = true;
				continue;
			}
			if (ch == ']')
				break;
			if (ch == '[')
				return R_BAD;
			if (space && b != NULL && b->len > 1)
				put(b, ' '); /* inner FWS: pb_addr_parse
						refuses it */
			space = false;
			if (ch == '\\') {
				put(b, ch);
				if ((ch = peek(c)) < 0 || ch == '\r' ||
				    ch == '\n')
					return R_FATAL;
				c->off++;
			}
			put(b, ch);
		}
		put(b, ']');
		return skip_cfws(c);
	}
	if (ch < 0 || !is_atext(ch))
		return R_BAD;
	for (;;) {
		read_atom(c, b);
		if ((r = skip_cfws(c)) != R_OK)
			return r;
		if (peek(c) != '.')
			return R_OK;
		c->off++;
		put(b, '.');
		if ((r = skip_cfws(c)) != R_OK)
			return r;
		ch = peek(c);
		if (ch < 0 || !is_atext(ch))
			return R_OK; /* trailing dot */
	}
}

/* read_local - a local part (dot-atom or obs-local-part) decoded into b */
static int read_local(cursor *c, buf *b)
{
	int ch, r;

	for (;;) {
		if ((r = skip_cfws(c)) != R_OK)
			return r;
		ch = peek(c);
		if (ch == '"') {
			if ((r = read_qstring(c, b)) != R_OK)
				return r;
		} else if (ch >= 0 && is_atext(ch)) {
			read_atom(c, b);
		} else {
			return R_BAD;
		}
		if ((r = skip_cfws(c)) != R_OK)
			return r;
		if (peek(c) != '.')
			return R_OK;
		c->off++;
		put(b, '.');
	}
}

/* is_dot_atom - whether s[0..len) is a dot-atom (8-bit counted as atext;
 * pb_addr_parse judges the UTF-8) */
static bool is_dot_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.' ? s[i - 1] == '.' : !is_atext(ch))
			return false;
	}
	return true;
}

/* compose - "local@domain" into a->addr, local written as pb_addr_parse
 * reads it; a->ok when it fits and pb_addr_parse accepts it */
static void compose(cand *a, const buf *local, const buf *domain)
{
	buf o = {a->addr, sizeof(a->addr), 0, false};
	pb_addr parsed;
	size_t i;

	a->ok = false;
	a->addr[0] = '\0';
	if (local->bad || domain->bad)
		return;
	if (is_dot_atom(local->p, local->len)) {
		for (i = 0; i < local->len; i++)
			put(&o, local->p[i]);
	} else {
		put(&o, '"');
		for (i = 0; i < local->len; i++) {
			if (local->p[i] == '"' || local->p[i] == '\\')
				put(&o, '\\');
			put(&o, local->p[i]);
		}
		put(&o, '"');
	}
	put(&o, '@');
	for (i = 0; i < domain->len; i++)
		put(&o, domain->p[i]);
	/* An embedded NUL would cut the C string the caller gets (and
	 * pb_addr_parse reads an IPv6 literal as a C string). */
	if (o.bad || memchr(a->addr, '\0', o.len) != NULL) {
		a->addr[0] = '\0';
		return;
	}
	a->ok = pb_addr_parse(a->addr, o.len, NULL, &parsed) == PB_ADDR_OK;
}

/* addr_spec - the addr-spec at the cursor into *a (CFWS after it read) */
static int addr_spec(cursor *c, cand *a)
{
	char lbuf[PB_LOCAL_MAX + 1], dbuf[PB_DOMAIN_MAX + 2];
	buf local = {lbuf, sizeof(lbuf), 0, false};
	buf domain = {dbuf, sizeof(dbuf), 0, false};
	int r;

	lbuf[0] = dbuf[0] = '\0';
	if ((r = read_local(c, &local)) != R_OK)
		return r;
	if (peek(c) != '@')
		return R_BAD;
	c->off++;
	if ((r = read_domain(c, &domain)) != R_OK)
		return r;
	compose(a, &local, &domain);
	return R_OK;
}

/* angle_addr - the angle-addr at the cursor (at "<") into *a; *has is
 * false for "<>" */
static int angle_addr(cursor *c, cand *a, bool *has)
{
	size_t domains = 0;
	int ch, r;

	*has = false;
	c->off++;
	if ((r = skip_cfws(c)) != R_OK)
		return r;
	ch = peek(c);
	if (ch == '>') {
		c->off++;
		return skip_cfws(c);
	}
	if (ch == '@' || ch == ',') { /* obs-route: ignored */
		for (;;) {
			if ((r = skip_cfws(c)) != R_OK)
				return r;
			if ((ch = peek(c)) < 0)
				return R_BAD;
			c->off++;
			if (ch == ',')
				continue;
			if (ch == ':' && domains > 0)
				break;
			if (ch != '@')
				return R_BAD;
			if ((r = read_domain(c, NULL)) != R_OK)
				return r;
			domains++;
		}
	}
	if ((r = addr_spec(c, a)) != R_OK)
		return r;
	if (peek(c) != '>')
		return R_BAD;
	c->off++;
	*has = true;
	return skip_cfws(c);
}

/* emit - store a candidate that pb_addr_parse accepted */
static void emit(state *st, const cand *a)
{
	if (!a->ok || st->n >= st->max)
		return;
	memcpy(st->out[st->n].addr, a->addr, sizeof(a->addr));
	st->n++;
}

/* same_addr - equal ignoring ASCII case */
static bool same_addr(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return *a == *b;
}

static int parse_list(state *st, bool in_group);

/* parse_element - one mailbox or group; on R_OK the cursor is at a
 * separator ("," or ";" in a group) or at the end */
static int parse_element(state *st, bool in_group)
{
	cursor *c = &st->c;
	size_t start = c->off, words;
	cand a, b;
	bool has;
	int ch, r;

	if ((r = scan_phrase(c, &words)) != R_OK)
		return r;
	ch = peek(c);
	if (ch == '@') {
		c->off = start;
		if ((r = addr_spec(c, &a)) != R_OK)
			return r;
		if (peek(c) == '<') {
			/* "john@x <john@x>": the same address twice */
			if ((r = angle_addr(c, &b, &has)) != R_OK)
				return r;
			if (!has || !a.ok || !same_addr(a.addr, b.addr))
				return R_BAD;
			a = b;
		}
		emit(st, &a);
	} else if (ch == '<') {
		if ((r = angle_addr(c, &a, &has)) != R_OK)
			return r;
		if (has)
			emit(st, &a);
	} else if (ch == ':' && words > 0 && !in_group) {
		c->off++;
		if ((r = parse_list(st, true)) != R_OK)
			return r;
		if ((r = skip_cfws(c)) != R_OK)
			return r;
	}
	ch = peek(c);
	if (ch < 0 || ch == ',' || (in_group && ch == ';'))
		return R_OK;
	return R_BAD;
}

/* skip_element - from the start of a malformed element to the next
 * separator outside quotes, comments, <...> and [...], or the end.  Out
 * of a group, a ":" starts a group that only ";" ends: a malformed group
 * is skipped whole, as parse_element read it, so its members are not read
 * again as elements (which would make the work quadratic). */
static int skip_element(cursor *c, bool in_group)
{
	bool angle = false, bracket = false, group = false;
	int ch, r;

	while ((ch = peek(c)) >= 0) {
		if (bracket) {
			c->off++;
			if (ch == '\r' || ch == '\n')
				return R_FATAL;
			if (ch == '\\') {
				if ((ch = peek(c)) < 0 || ch == '\r' ||
				    ch == '\n')
					return R_FATAL;
				c->off++;
			} else if (ch == ']') {
				bracket = false;
			}
			continue;
		}
		if (ch == '"' || ch == '(') {
			r = ch == '"' ? read_qstring(c, NULL) : skip_comment(c);
			if (r != R_OK)
				return r;
			continue;
		}
		if (!angle && !group && (ch == ',' || (in_group && ch == ';')))
			return R_OK;
		if (!angle && !in_group && ch == ':')
			group = true;
		else if (!angle && ch == ';')
			group = false;
		else if (ch == '[')
			bracket = true;
		else if (ch == '<')
			angle = true;
		else if (ch == '>')
			angle = false;
		c->off++;
	}
	return (angle || bracket) ? R_FATAL : R_OK;
}

/* parse_list - elements up to the end, or up to and including ";" in a
 * group; R_FATAL when the rest of the field is lost */
static int parse_list(state *st, bool in_group)
{
	cursor *c = &st->c;
	size_t start, n0;
	int ch, r;

	for (;;) {
		start = c->off;
		n0 = st->n;
		r = parse_element(st, in_group);
		if (r == R_BAD) {
			st->n = n0;
			c->off = start;
			r = skip_element(c, in_group);
		}
		if (r != R_OK) {
			st->n = n0;
			return r;
		}
		if ((ch = peek(c)) < 0)
			return R_OK;
		c->off++;
		if (ch == ';')
			return R_OK;
	}
}

/* pb_hdr_addresses - the addr-specs in one header field body */
size_t pb_hdr_addresses(const char *body, size_t len, pb_hdr_addr *out,
			size_t max)
{
	state st;

	if (body == NULL || out == NULL || max == 0 || len > PB_HDR_BODY_MAX)
		return 0;
	st.c.p = (const unsigned char *)body;
	st.c.len = len;
	st.c.off = 0;
	st.out = out;
	st.n = 0;
	st.max = max < PB_HDR_ADDRS_MAX ? max : PB_HDR_ADDRS_MAX;
	(void)parse_list(&st, false);
	return st.n;
}
