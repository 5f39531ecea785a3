/*
 * test_hdraddr - unit tests for core/hdraddr: the isemail vectors read as
 * header field bodies, a table of header fields from real list traffic,
 * and bounds (size, count, nesting, every byte value).
 *
 * The isemail vectors ($PB_VECTORS/address/isemail/tests.xml, read as it
 * is) are each used as a header field body twice: bare, and as
 * "Name <addr>".  The rule asserted: the header parser returns one
 * address exactly when pb_addr_parse accepts the vector, and then the
 * same address (equal pb_addr.full).  Expected exceptions, where the
 * vector is RFC 5322 header syntax that the envelope form does not have
 * (so the header parser returns the address with CFWS removed and obs
 * words joined, and pb_addr_parse accepts that):
 *
 *   diagnosis                     pushback header parser
 *   ----------------------------- ------------------------------------
 *   CFWS_COMMENT, DEPREC_COMMENT, accept: comments are CFWS
 *   DEPREC_CTEXT ("()" empty)
 *   CFWS_FWS, DEPREC_FWS          accept: folding white space is CFWS
 *   DEPREC_CFWS_NEAR_AT           accept: obs-local-part / obs-domain
 *   DEPREC_LOCALPART              accept: "test"."test" is obs-local-part
 *                                 (returned as test.test)
 *
 * and by id, bare form only: 99 (LF at the end), 150, 151, 152, 154
 * (ISEMAIL_ERR_FWS_CRLF_END): a line end that ends the body is taken as
 * the caller's field terminator and dropped; inside "Name <...>" it is
 * not at the end and stays an error.  Any other deviation fails, e.g.
 * CR or LF inside a comment or quoted-string (ERR_CR_NO_LF,
 * ERR_EXPECTING_CTEXT) and "\" before a non-ASCII byte
 * (ERR_EXPECTING_QPAIR) are refused as pb_addr_parse refuses them.
 *
 * Memory: test-only; the vector file is read into one malloc'd buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/hdraddr.h"

#define S(lit) lit, sizeof(lit) - 1
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- isemail vectors ---------------------------------------------------
 */

/* read_file - whole file into a malloc'd buffer; NULL on error */
#include "isemail.h"
}

enum { SAME = 0, ACCEPT = 1, REJECT = 2 };

/* Where the header parser differs from pb_addr_parse, by diagnosis (both
 * forms) and by id (one form); SAME for every other case. */
struct deviation {
	const char *diagnosis;
	int expect;
};

static const struct deviation deviations[] = {
    {"ISEMAIL_CFWS_COMMENT", ACCEPT},	     {"ISEMAIL_CFWS_FWS", ACCEPT},
    {"ISEMAIL_DEPREC_CFWS_NEAR_AT", ACCEPT}, {"ISEMAIL_DEPREC_COMMENT", ACCEPT},
    {"ISEMAIL_DEPREC_CTEXT", ACCEPT},	     {"ISEMAIL_DEPREC_FWS", ACCEPT},
    {"ISEMAIL_DEPREC_LOCALPART", ACCEPT},    {NULL, SAME},
};

struct id_deviation {
	int id;
	bool named; /* the "Name <addr>" form, else the bare one */
	int expect;
};

/* A line end that ends the body is the caller's: dropped. */
static const struct id_deviation id_deviations[] = {
    {99, false, ACCEPT},  {150, false, ACCEPT}, {151, false, ACCEPT},
    {152, false, ACCEPT}, {154, false, ACCEPT},
};

/* expect_for - ACCEPT, REJECT or SAME for one case in one form */
static int expect_for(int id, const char *diag, bool named)
{
	size_t i;

	for (i = 0; i < NELEM(id_deviations); i++)
		if (id_deviations[i].id == id &&
		    id_deviations[i].named == named)
			return id_deviations[i].expect;
	for (i = 0; deviations[i].diagnosis != NULL; i++)
		if (strcmp(deviations[i].diagnosis, diag) == 0)
			return deviations[i].expect;
	return SAME;
}

/* one_vector - check one header form of vector id; 0 ok, 1 deviation */
static int one_vector(int id, const char *cat, const char *diag,
		      const char *addr, size_t alen, const char *body,
		      size_t blen, const char *form)
{
	pb_hdr_addr out[4];
	pb_addr env, got;
	bool env_ok = pb_addr_parse(addr, alen, NULL, &env) == PB_ADDR_OK;
	int rule = expect_for(id, diag, form[0] == 'n');
	bool want = rule == SAME ? env_ok : rule == ACCEPT;
	size_t n = pb_hdr_addresses(body, blen, out, NELEM(out));

	if (n > 1 || (n == 1) != want) {
		print_error("test id %d (%s / %s) %s \"%.*s\": got %zu "
			    "address(es)%s%s, want %s (pb_addr_parse: %s)\n",
			    id, cat, diag, form, (int)blen, body, n,
			    n > 0 ? " " : "", n > 0 ? out[0].addr : "",
			    want ? "1" : "0", env_ok ? "accept" : "reject");
		return 1;
	}
	if (n == 0)
		return 0;
	if (pb_addr_parse(out[0].addr, strlen(out[0].addr), NULL, &got) !=
	    PB_ADDR_OK) {
		print_error("test id %d %s: \"%s\" does not parse\n", id, form,
			    out[0].addr);
		return 1;
	}
	if (env_ok && strcmp(got.full, env.full) != 0) {
		print_error("test id %d %s: got \"%s\", want \"%s\"\n", id,
			    form, got.full, env.full);
		return 1;
	}
	return 0;
}

/* test_isemail - every isemail vector as a bare header body and as
 * "Name <addr>" */
static void test_isemail(void **state)
{
	const char *dir = getenv("PB_VECTORS");
	char path[4096], addr[1024], cat[128], diag[128], body[1100];
	const char *p, *end, *t, *tend;
	char *xml;
	size_t len, alen, clen, dlen;
	int cases = 0, failures = 0, ret, hdr_accepted = 0;

	(void)state;
	if (dir == NULL)
		fail_msg("PB_VECTORS is not set (CTest sets it to "
			 "<source>/../shared/vectors)");
	ret = snprintf(path, sizeof(path), "%s/address/isemail/tests.xml", dir);
	assert_true(ret > 0 && (size_t)ret < sizeof(path));
	xml = read_file(path, &len);
	if (xml == NULL)
		fail_msg("cannot read %s", path);
	end = xml + len;
	for (p = xml; (t = find(p, end, "<test id=\"")) != NULL; p = tend) {
		int id = atoi(t + 10);
		pb_hdr_addr o[1];

		if ((tend = find(t, end, "</test>")) == NULL)
			fail_msg("test id %d: no </test>", id);
		if (element(t, tend, "address", addr, sizeof(addr), &alen) <
			0 ||
		    element(t, tend, "category", cat, sizeof(cat) - 1, &clen) <
			0 ||
		    element(t, tend, "diagnosis", diag, sizeof(diag) - 1,
			    &dlen) < 0)
			fail_msg("test id %d: cannot read its elements", id);
		cat[clen] = '\0';
		diag[dlen] = '\0';
		cases++;
		failures +=
		    one_vector(id, cat, diag, addr, alen, addr, alen, "bare");
		memcpy(body, "Name <", 6);
		memcpy(body + 6, addr, alen);
		body[6 + alen] = '>';
		failures += one_vector(id, cat, diag, addr, alen, body,
				       alen + 7, "named");
		hdr_accepted += pb_hdr_addresses(addr, alen, o, 1) == 1;
	}
	free(xml);
	printf("isemail: %d cases (x2 forms), %d accepted bare, %d "
	       "deviations\n",
	       cases, hdr_accepted, failures);
	assert_int_equal(cases, 164);
	assert_int_equal(failures, 0);
}

/* ---- header fields from real list traffic ------------------------------
 */

struct hcase {
	const char *body;
	size_t len;
	const char *want[5]; /* NULL-terminated */
};

static const struct hcase hcases[] = {
    /* plain forms */
    {S("john@example.org"), {"john@example.org"}},
    {S("<john@example.org>"), {"john@example.org"}},
    {S("John Smith <john@example.org>"), {"john@example.org"}},
    {S("\"John Smith\" <john@example.org>"), {"john@example.org"}},
    {S("  John Smith   <john@example.org>  "), {"john@example.org"}},
    {S("John@Example.ORG"), {"John@Example.ORG"}},
    /* Outlook: "Last, First" quoted */
    {S("\"Smith, John\" <john.smith@example.com>"), {"john.smith@example.com"}},
    {S("\"Doe, Jane\" <jane@example.org>, \"Roe, Rick\" <rick@example.org>"),
     {"jane@example.org", "rick@example.org"}},
    /* MUA bug: the comma unquoted.  RFC 5322: "Smith" is an element of
     * its own without an address; "John <john@x>" is the mailbox. */
    {S("Smith, John <john@example.com>"), {"john@example.com"}},
    {S("Smith, John <john@example.com>, Doe, Jane <jane@example.com>"),
     {"john@example.com", "jane@example.com"}},
    /* Gmail, Apple Mail, Thunderbird */
    {S("Jane Doe <jane.doe@gmail.com>"), {"jane.doe@gmail.com"}},
    {S("\"Jane Doe\" <jane.doe+lists@gmail.com>"),
     {"jane.doe+lists@gmail.com"}},
    {S("Zo\xc3\xab Martin <zoe@example.fr>"), {"zoe@example.fr"}},
    {S("\"Zo\xc3\xab Martin\" <zoe@example.fr>"), {"zoe@example.fr"}},
    /* Mailman 3 DMARC mitigation: From rewritten to the list, the
     * poster moved to Reply-To (or Cc) */
    {S("\"Alice via dev\" <dev@lists.example.org>"), {"dev@lists.example.org"}},
    {S("Alice via dev <dev@lists.example.org>"), {"dev@lists.example.org"}},
    {S("dev@lists.example.org, Alice <alice@example.com>"),
     {"dev@lists.example.org", "alice@example.com"}},
    {S("\"Alice Smith\" <alice@example.com>, dev@lists.example.org"),
     {"alice@example.com", "dev@lists.example.org"}},
    /* Mailman's Sender and list bounce addresses (VERP) */
    {S("\"dev\" <dev-bounces+alice=example.com@lists.example.org>"),
     {"dev-bounces+alice=example.com@lists.example.org"}},
    {S("dev-bounces@lists.example.org"), {"dev-bounces@lists.example.org"}},
    {S("owner-dev@lists.example.org"), {"owner-dev@lists.example.org"}},
    /* RFC 2047 encoded display names, never decoded */
    {S("=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>"),
     {"joerg@example.de"}},
    {S("=?UTF-8?B?w4Zyb24gVsOtc3Nvbg==?= <aeron@example.is>"),
     {"aeron@example.is"}},
    {S("=?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>"),
     {"PIRARD@vm1.ulg.ac.be"}},
    {S("=?utf-8?b?5byg5LiJ?= =?utf-8?b?5p2O5Zub?= <zhang@example.cn>"),
     {"zhang@example.cn"}},
    {S("\"=?utf-8?b?Sm9obg==?=\" <john@example.org>"), {"john@example.org"}},
    /* a sloppy encoder left a comma in a Q word: still one word */
    {S("=?utf-8?q?Smith,_John?= <john@example.org>"), {"john@example.org"}},
    /* folded lines */
    {S("\"A Very Long Display Name For Folding\"\r\n <long@example.org>"),
     {"long@example.org"}},
    {S("Alice\n\t<alice@example.org>"), {"alice@example.org"}},
    {S("a@example.org,\r\n b@example.org,\r\n\tc@example.org"),
     {"a@example.org", "b@example.org", "c@example.org"}},
    {S("Mary Smith\r\n  \r\n <mary@example.net>"), {"mary@example.net"}},
    {S("\"folded\r\n quoted\" <fq@example.org>"), {"fq@example.org"}},
    {S("alice@\r\n example.org"), {"alice@example.org"}},
    {S("john@example.org\r\n"), {"john@example.org"}},
    /* a line end not followed by white space ends the field: garbage */
    {S("a@example.org\r\nb@example.org"), {NULL}},
    {S("a@example.org\rb"), {NULL}},
    /* ... and inside a comment or quoted-string loses the rest */
    {S("a@example.org (cut\r\nhere), b@example.org"), {NULL}},
    {S("ok@example.org, \"cut\nhere\" <b@example.org>"), {"ok@example.org"}},
    /* RFC 5322 appendix A */
    {S("\"Joe Q. Public\" <john.q.public@example.com>"),
     {"john.q.public@example.com"}},
    {S("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
     {"mary@x.test", "jdoe@example.org", "one@y.test"}},
    {S("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" "
       "<sysservices@example.net>"),
     {"boss@nil.test", "sysservices@example.net"}},
    {S("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;"),
     {"c@a.test", "joe@where.test", "jdoe@one.test"}},
    {S("Undisclosed recipients:;"), {NULL}},
    {S("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
     {"pete@silly.test"}},
    {S("A Group(Some people)\r\n     :Chris Jones <c@(Chris's "
       "host.)public.example>,\r\n         joe@example.org,\r\n  John "
       "<jdoe@one.test> (my dear friend); (the end of the group)"),
     {"c@public.example", "joe@example.org", "jdoe@one.test"}},
    {S("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;"),
     {NULL}},
    /* obsolete syntax (RFC 5322 4.4, appendix A.6) */
    {S("Joe Q. Public <john.q.public@example.com>"),
     {"john.q.public@example.com"}},
    {S("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example"),
     {"mary@example.net", "jdoe@test.example"}},
    {S("John Doe <jdoe@machine(comment).  example>"), {"jdoe@machine.example"}},
    {S("<@relay1.example,@relay2.example:alice@example.org>"),
     {"alice@example.org"}},
    {S("<,@relay1.example,,@relay2.example:alice@example.org>"),
     {"alice@example.org"}},
    {S("alice . smith@example.org"), {"alice.smith@example.org"}},
    {S("\"alice\".\"smith jr\"@example.org"),
     {"\"alice.smith jr\"@example.org"}},
    {S("a@example.org,,b@example.org"), {"a@example.org", "b@example.org"}},
    {S(", a@example.org ,"), {"a@example.org"}},
    /* comments wherever CFWS may be */
    {S("alice(comment)@example.org"), {"alice@example.org"}},
    {S("alice@(comment)example.org"), {"alice@example.org"}},
    {S("alice@example.org (Alice Smith)"), {"alice@example.org"}},
    {S("(a (nested \\( comment))alice@example.org"), {"alice@example.org"}},
    {S("\"Dev List\" <dev@lists.example.org> (via Mailman)"),
     {"dev@lists.example.org"}},
    /* quoted local parts, domain literals, EAI */
    {S("\"alice smith\"@example.org"), {"\"alice smith\"@example.org"}},
    {S("\"alice\"@example.org"), {"alice@example.org"}},
    {S("Alice <\"a\\\"b\"@example.org>"), {"\"a\\\"b\"@example.org"}},
    {S("alice@[192.0.2.1]"), {"alice@[192.0.2.1]"}},
    {S("Alice <alice@[IPv6:2001:db8::1]>"), {"alice@[IPv6:2001:db8::1]"}},
    {S("alice@[ 192.0.2.1 ]"), {"alice@[192.0.2.1]"}},
    {S("alice@[192.0.2.999]"), {NULL}},
    /* an embedded NUL never reaches the caller's C string */
    {S("alice@[IPv6:2001:db8::1\0x]"), {NULL}},
    {S("ali\0ce@example.org, ok@example.org"), {"ok@example.org"}},
    {S("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc"
       "cher.example>"),
     {"j\xc3\xb6rg@b\xc3\xbc"
      "cher.example"}},
    /* Latin-1 in a display name does not break parsing; in an address it
     * is not UTF-8: dropped */
    {S("J\xf6rg M\xfcller <joerg@example.de>"), {"joerg@example.de"}},
    {S("j\xf6rg@example.de, ok@example.de"), {"ok@example.de"}},
    /* bounces and daemons */
    {S("MAILER-DAEMON"), {NULL}},
    {S("MAILER-DAEMON@mx.example.org (Mail Delivery System)"),
     {"MAILER-DAEMON@mx.example.org"}},
    {S("Mail Delivery Subsystem <mailer-daemon@googlemail.com>"),
     {"mailer-daemon@googlemail.com"}},
    {S("<>"), {NULL}},
    {S("\"\" <>"), {NULL}},
    {S(""), {NULL}},
    {S("   "), {NULL}},
    /* services */
    {S("GitHub <noreply@github.com>"), {"noreply@github.com"}},
    {S("\"Alice\" <notifications@github.com>"), {"notifications@github.com"}},
    {S("Facebook <notification+zj4za_3d-=-x@facebookmail.com>"),
     {"notification+zj4za_3d-=-x@facebookmail.com"}},
    {S("\"Jira\" <jira@example.atlassian.net>"),
     {"jira@example.atlassian.net"}},
    /* the address as an unquoted display name: same address, taken */
    {S("john@example.org <john@example.org>"), {"john@example.org"}},
    {S("john@example.org <John@Example.org>"), {"John@Example.org"}},
    {S("john@home.example <john@example.org>"), {NULL}},
    {S("\"john@home.example\" <john@example.org>"), {"john@example.org"}},
    /* malformed elements yield nothing, the others still count */
    {S("a@example.org b@example.org"), {NULL}},
    {S("<a@example.org> <b@example.org>"), {NULL}},
    {S("John <john@example.org> garbage"), {NULL}},
    {S("John <john@example.org> garbage, jane@example.org"),
     {"jane@example.org"}},
    {S("John [Work] <john@example.org>, jane@example.org"),
     {"jane@example.org"}},
    {S("a@example.org; b@example.org"), {NULL}},
    {S("john"), {NULL}},
    {S("John <john>"), {NULL}},
    {S("john@"), {NULL}},
    {S("@example.org"), {NULL}},
    {S("john@@example.org, ok@example.org"), {"ok@example.org"}},
    {S("john..doe@example.org"), {NULL}},
    {S("john@example..org"), {NULL}},
    {S("john@example.org."), {"john@example.org."}},
    {S("<<john@example.org>>"), {NULL}},
    {S("john@example.org>, ok@example.org"), {"ok@example.org"}},
    /* unterminated: that mailbox, or the rest of the field, is lost */
    {S("\"John <john@example.org>"), {NULL}},
    {S("jane@example.org, \"John <john@example.org>, x@example.org"),
     {"jane@example.org"}},
    {S("john@example.org (John"), {NULL}},
    {S("John <john@example.org"), {NULL}},
    {S("John <john@example.org, jane@example.org"), {NULL}},
    {S("jane@example.org, John <john@example.org"), {"jane@example.org"}},
    {S("alice@[192.0.2.1"), {NULL}},
    /* groups */
    {S("undisclosed-recipients:;"), {NULL}},
    {S("undisclosed-recipients: ;"), {NULL}},
    {S("friends: a@example.org, b@example.org;"),
     {"a@example.org", "b@example.org"}},
    {S("friends: a@example.org, b@example.org"),
     {"a@example.org", "b@example.org"}},
    {S("friends: a@example.org, bad], b@example.org;, c@example.org"),
     {"a@example.org", "b@example.org", "c@example.org"}},
    {S("friends: a@example.org; junk, c@example.org"), {"c@example.org"}},
    {S("outer: inner: a@example.org;;"), {NULL}},
    {S("dev: ;, alice@example.org"), {"alice@example.org"}},
    {S(": a@example.org;"), {NULL}},
};

/* test_header_table - the table above */
static void test_header_table(void **state)
{
	pb_hdr_addr out[PB_HDR_ADDRS_MAX];
	size_t i, k, n, nwant;
	int failures = 0;

	(void)state;
	for (i = 0; i < NELEM(hcases); i++) {
		char *heap = malloc(hcases[i].len ? hcases[i].len : 1);

		/* exactly sized: ASan sees any read past len */
		assert_non_null(heap);
		memcpy(heap, hcases[i].body, hcases[i].len);
		n = pb_hdr_addresses(heap, hcases[i].len, out, NELEM(out));
		free(heap);
		for (nwant = 0; hcases[i].want[nwant] != NULL; nwant++)
			;
		for (k = 0; k < n && k < nwant; k++)
			if (strcmp(out[k].addr, hcases[i].want[k]) != 0)
				break;
		if (n != nwant || k != n) {
			print_error("\"%.*s\": got %zu:", (int)hcases[i].len,
				    hcases[i].body, n);
			for (k = 0; k < n; k++)
				print_error(" <%s>", out[k].addr);
			print_error(", want %zu:", nwant);
			for (k = 0; k < nwant; k++)
				print_error(" <%s>", hcases[i].want[k]);
			print_error("\n");
			failures++;
		}
	}
	printf("header table: %zu cases, %d failures\n", NELEM(hcases),
	       failures);
	assert_true(NELEM(hcases) >= 60);
	assert_int_equal(failures, 0);
}

/* ---- bounds ------------------------------------------------------------
 */

/* test_body_size - a body of PB_HDR_BODY_MAX octets is read, one more is
 * not */
static void test_body_size(void **state)
{
	static const char tail[] = "<alice@example.org>";
	pb_hdr_addr out[2];
	size_t len = PB_HDR_BODY_MAX;
	char *body = malloc(len + 1);

	(void)state;
	assert_non_null(body);
	/* a display name of PB_HDR_BODY_MAX - sizeof(tail) + 1 letters */
	memset(body, 'x', len + 1);
	memcpy(body + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	assert_int_equal(pb_hdr_addresses(body, len, out, 2), 1);
	assert_string_equal(out[0].addr, "alice@example.org");
	memset(body, 'x', len + 1);
	memcpy(body + len + 1 - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	assert_int_equal(pb_hdr_addresses(body, len + 1, out, 2), 0);
	/* a comment as long as the limit allows */
	body[0] = '(';
	memset(body + 1, 'c', len - 1);
	body[len - 1 - (sizeof(tail) - 1)] = ')';
	memcpy(body + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	assert_int_equal(pb_hdr_addresses(body, len, out, 2), 1);
	/* the same without ")" is unterminated */
	body[len - 1 - (sizeof(tail) - 1)] = 'c';
	assert_int_equal(pb_hdr_addresses(body, len, out, 2), 0);
	free(body);
}

/* test_many - at most max, at most PB_HDR_ADDRS_MAX, in order */
static void test_many(void **state)
{
	pb_hdr_addr out[PB_HDR_ADDRS_MAX + 10];
	char body[4096], want[64];
	size_t o = 0, i, n;
	int r;

	(void)state;
	for (i = 0; i < 100; i++) {
		r = snprintf(body + o, sizeof(body) - o, "%su%zu@example.org",
			     i ? ", " : "", i);
		assert_true(r > 0 && (size_t)r < sizeof(body) - o);
		o += (size_t)r;
	}
	n = pb_hdr_addresses(body, o, out, NELEM(out));
	assert_int_equal(n, PB_HDR_ADDRS_MAX);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "u%zu@example.org", i);
		assert_string_equal(out[i].addr, want);
	}
	assert_int_equal(pb_hdr_addresses(body, o, out, 5), 5);
	assert_string_equal(out[4].addr, "u4@example.org");
	assert_int_equal(pb_hdr_addresses(body, o, out, 1), 1);
	assert_int_equal(pb_hdr_addresses(body, o, out, 0), 0);
	assert_int_equal(pb_hdr_addresses(body, o, NULL, 0), 0);
	assert_int_equal(pb_hdr_addresses(NULL, 0, out, 1), 0);
	/* a group that holds more than max: the first max, not nothing */
	o = 0;
	r = snprintf(body, sizeof(body), "all:");
	o = (size_t)r;
	for (i = 0; i < 80; i++) {
		r = snprintf(body + o, sizeof(body) - o, "%sg%zu@example.org",
			     i ? "," : "", i);
		o += (size_t)r;
	}
	body[o++] = ';';
	n = pb_hdr_addresses(body, o, out, NELEM(out));
	assert_int_equal(n, PB_HDR_ADDRS_MAX);
	assert_string_equal(out[PB_HDR_ADDRS_MAX - 1].addr, "g63@example.org");
}

/* nested - "(((x)))a@example.org" with depth levels into buf */
static size_t nested(char *buf, size_t depth)
{
	size_t o = 0, i;

	for (i = 0; i < depth; i++)
		buf[o++] = '(';
	buf[o++] = 'x';
	for (i = 0; i < depth; i++)
		buf[o++] = ')';
	memcpy(buf + o, "a@example.org", 13);
	return o + 13;
}

/* test_nesting - comments nest up to PB_HDR_COMMENT_DEPTH */
static void test_nesting(void **state)
{
	static char buf[2 * 100000 + 16];
	pb_hdr_addr out[2];
	size_t len;

	(void)state;
	len = nested(buf, PB_HDR_COMMENT_DEPTH);
	assert_int_equal(pb_hdr_addresses(buf, len, out, 2), 1);
	assert_string_equal(out[0].addr, "a@example.org");
	len = nested(buf, PB_HDR_COMMENT_DEPTH + 1);
	assert_int_equal(pb_hdr_addresses(buf, len, out, 2), 0);
	len = nested(buf, 30000);
	assert_int_equal(pb_hdr_addresses(buf, len, out, 2), 0);
	/* over the size limit: nothing, and no work */
	len = nested(buf, 100000);
	assert_int_equal(pb_hdr_addresses(buf, len, out, 2), 0);
	/* an earlier element survives a too-deep one after it */
	memcpy(buf, "ok@example.org, ", 16);
	len = 16 + nested(buf + 16, 1000);
	assert_int_equal(pb_hdr_addresses(buf, len, out, 2), 1);
	assert_string_equal(out[0].addr, "ok@example.org");
}

static void check_results(const pb_hdr_addr *out, size_t n, size_t max);

/* test_linear - hostile shapes of a PB_HDR_BODY_MAX body are read in
 * linear time (a quadratic parser takes seconds here, even without ASan) */
static void test_linear(void **state)
{
	static const struct {
		const char *unit, *tail;
	} shapes[] = {
	    {"g:a,", "; junk"}, /* groups read again as elements */
	    {"g:a@b.c;x,", ""}, /* malformed groups */
	    {"a ", "@"},	/* phrase that turns out an addr-spec */
	    {"a.", "@x"},	/* obs-local-part */
	    {"<@a,", ""},	/* open route */
	    {"=?a?q?,", ""},	/* encoded word starts */
	    {"=?a?q?x?", "="},	/* encoded word starts */
	    {"a@b <", ""},	/* open angles */
	    {"x] ", ""},	/* garbage */
	    {"(a)", ""},	/* comments */
	    {"\"a\"", "@b.c"},	/* quoted words */
	    {"a@b.c, ", ""},	/* many addresses */
	    {"\r\n ", "a@b.c"}, /* folds */
	    {"[", ""},		/* brackets */
	};
	static char body[PB_HDR_BODY_MAX];
	pb_hdr_addr out[PB_HDR_ADDRS_MAX];
	size_t i, o, ul, tl;

	(void)state;
	for (i = 0; i < NELEM(shapes); i++) {
		clock_t t0;
		double secs;

		ul = strlen(shapes[i].unit);
		tl = strlen(shapes[i].tail);
		for (o = 0; o + ul + tl <= sizeof(body); o += ul)
			memcpy(body + o, shapes[i].unit, ul);
		memcpy(body + o, shapes[i].tail, tl);
		t0 = clock();
		check_results(out,
			      pb_hdr_addresses(body, o + tl, out, NELEM(out)),
			      NELEM(out));
		secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
		if (secs > 0.5)
			fail_msg("shape \"%s\"...\"%s\" (%zu octets): %.2f s",
				 shapes[i].unit, shapes[i].tail, o + tl, secs);
	}
}

/* check_results - every result is NUL-terminated and parses */
static void check_results(const pb_hdr_addr *out, size_t n, size_t max)
{
	pb_addr a;
	size_t i;

	assert_true(n <= max);
	for (i = 0; i < n; i++) {
		const char *z = memchr(out[i].addr, '\0', sizeof(out[i].addr));
		assert_non_null(z);
		assert_int_equal(pb_addr_parse(out[i].addr,
					       (size_t)(z - out[i].addr), NULL,
					       &a),
				 PB_ADDR_OK);
	}
}

#define COUNT(lit) pb_hdr_addresses(lit, sizeof(lit) - 1, out, 4)

/* test_all_bytes - every byte value, alone and in every position of a
 * few templates; the result is one address exactly when the byte is
 * harmless there */
static void test_all_bytes(void **state)
{
	static const char *const templates[] = {
	    "Na#e <a@example.org>",	"\"Na#e\" <a@example.org>",
	    "(c#) <a@example.org>",	"a#b@example.org",
	    "\"a#b\"@example.org",	"a@exa#ple.org",
	    "a@[192.0.2.1#]",		"a@example.org, #",
	    "g: a@example.org#;",	"<@r#:a@example.org>",
	    "=?utf-8?q?#?= <a@ex.org>",
	};
	pb_hdr_addr out[4];
	char body[64], all[256];
	size_t i, n, len, pos;
	int c;

	(void)state;
	for (c = 0; c < 256; c++) {
		body[0] = (char)c;
		check_results(out, pb_hdr_addresses(body, 1, out, 4), 4);
		all[c] = (char)c;
		for (i = 0; i < NELEM(templates); i++) {
			len = strlen(templates[i]);
			pos =
			    (size_t)(strchr(templates[i], '#') - templates[i]);
			memcpy(body, templates[i], len);
			body[pos] = (char)c;
			n = pb_hdr_addresses(body, len, out, 4);
			check_results(out, n, 4);
		}
	}
	check_results(out, pb_hdr_addresses(all, sizeof(all), out, 4), 4);
	/* spot checks: a display name takes any byte but specials */
	assert_int_equal(COUNT("Na\xff"
			       "e <a@example.org>"),
			 1);
	assert_int_equal(COUNT("Na\x01"
			       "e <a@example.org>"),
			 0);
	assert_int_equal(COUNT("Na\0e <a@example.org>"), 0);
	assert_int_equal(COUNT("\"Na\0e\" <a@example.org>"), 1);
	assert_int_equal(COUNT("\"a\0b\"@example.org"), 0);
	assert_int_equal(COUNT("(\0) <a@example.org>"), 1);
}

/* test_unterminated_buffer - the body is (p, len): nothing after len is
 * read, and a cut in the middle of a token is an unterminated token */
static void test_unterminated_buffer(void **state)
{
	static const char text[] = "\"A B\" <ab@example.org>, c@example.org";
	pb_hdr_addr out[4];
	size_t cut;

	(void)state;
	for (cut = 0; cut <= sizeof(text) - 1; cut++) {
		char *heap = malloc(cut ? cut : 1);
		size_t n;

		assert_non_null(heap);
		memcpy(heap, text, cut);
		n = pb_hdr_addresses(heap, cut, out, 4);
		check_results(out, n, 4);
		if (cut >= 22)
			assert_true(n >= 1);
		else
			assert_int_equal(n, 0);
		free(heap);
	}
	assert_int_equal(pb_hdr_addresses("a@example.org, x@y.z", 13, out, 4),
			 1);
	assert_string_equal(out[0].addr, "a@example.org");
}

/* test_folding - CRLF SP or LF SP in place of a space changes nothing */
static void test_folding(void **state)
{
	size_t i, j, k, len, n1, n2, flen;
	const char *fold;
	char body[256];
	pb_hdr_addr a[8], b[8];
	int folds = 0;

	(void)state;
	for (i = 0; i < NELEM(hcases); i++) {
		const char *s = hcases[i].body;

		len = hcases[i].len;
		if (len + 2 > sizeof(body))
			continue;
		n1 = pb_hdr_addresses(s, len, a, NELEM(a));
		for (j = 0; j < len; j++) {
			if (s[j] != ' ' ||
			    (j > 0 && (s[j - 1] == '\r' || s[j - 1] == '\n' ||
				       s[j - 1] == '\\')))
				continue;
			memcpy(body, s, j);
			fold = (j & 1) ? "\r\n " : "\n ";
			flen = strlen(fold);
			memcpy(body + j, fold, flen);
			memcpy(body + j + flen, s + j + 1, len - j - 1);
			n2 =
			    pb_hdr_addresses(body, len - 1 + flen, b, NELEM(b));
			folds++;
			if (n1 != n2)
				fail_msg("\"%.*s\" folded at %zu: got %zu, "
					 "want %zu",
					 (int)len, s, j, n2, n1);
			for (k = 0; k < n1; k++)
				assert_string_equal(a[k].addr, b[k].addr);
		}
	}
	printf("folding: %d variants\n", folds);
}

/* main - run the hdraddr tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_isemail),
	    cmocka_unit_test(test_header_table),
	    cmocka_unit_test(test_body_size),
	    cmocka_unit_test(test_many),
	    cmocka_unit_test(test_nesting),
	    cmocka_unit_test(test_linear),
	    cmocka_unit_test(test_all_bytes),
	    cmocka_unit_test(test_unterminated_buffer),
	    cmocka_unit_test(test_folding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
