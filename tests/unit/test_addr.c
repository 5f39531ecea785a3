/*
 * test_addr - unit tests for core/addr: the isemail vectors and
 * table-driven normalisation cases.
 *
 * The isemail vectors ($PB_VECTORS/address/isemail/tests.xml, read as it
 * is) test RFC 5322 header-form addresses; pushback parses the RFC 5321
 * envelope form (no comments, no folding white space, no obsolete forms).
 * The rule asserted for each case:
 *
 *   category                 diagnosis                     pushback
 *   ------------------------ ----------------------------- --------
 *   ISEMAIL_VALID_CATEGORY   (all)                         accept
 *   ISEMAIL_DNSWARN          (all: DNS does not matter)    accept
 *   ISEMAIL_RFC5321          (all: valid for SMTP)         accept
 *   ISEMAIL_ERR              (all)                         reject
 *   ISEMAIL_CFWS             CFWS_COMMENT, CFWS_FWS        reject
 *   ISEMAIL_DEPREC           RFC5321_IPV6DEPRECATED        accept
 *                            ("::" for one group; inet_pton takes it)
 *   ISEMAIL_DEPREC           every other diagnosis (CFWS   reject
 *                            near @, FWS, comments, CTEXT,
 *                            obs local part "a"."b", QP/QTEXT
 *                            with controls or DEL)
 *   ISEMAIL_RFC5322          LOCAL_TOOLONG (65 octets)     accept
 *                            (we accept up to PB_LOCAL_MAX: SRS/VERP)
 *   ISEMAIL_RFC5322          TOOLONG (255/257 octets whole, accept
 *                            domain <= 255)
 *   ISEMAIL_RFC5322          DOMAIN_TOOLONG (domain 256)   reject
 *   ISEMAIL_RFC5322          LABEL_TOOLONG (label 64)      reject
 *   ISEMAIL_RFC5322          DOMAINLITERAL, DOMLIT_OBSDTEXT, reject
 *                            IPV6_* (bad address literal),
 *                            RFC5322_DOMAIN ("iana/icann")
 *
 * Expected exceptions to that table, by id:
 *
 *   35  ISEMAIL_ERR_DOT_END "test@iana.org." accept: a trailing dot
 *       on the domain is the FQDN spelling and is removed.
 *   66  ISEMAIL_RFC5322_DOMAINLITERAL "[1111:2222:...:8888]" accept:
 *       RFC 5321 General-address-literal, tag "1111" (an Ldh-str).
 *
 * No ISEMAIL_RFC5321 case is rejected.  Any other deviation fails.
 *
 * Memory: test-only; the vector file is read into one malloc'd buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/addr.h"

/* ---- isemail vectors ---------------------------------------------------
 */

enum { ACCEPT = 1, REJECT = 0, NO_RULE = -1 };

struct rule {
	const char *category;
	const char *diagnosis; /* NULL: any */
	int expect;
};

/* First match wins. */
static const struct rule rules[] = {
    {"ISEMAIL_VALID_CATEGORY", NULL, ACCEPT},
    {"ISEMAIL_DNSWARN", NULL, ACCEPT},
    {"ISEMAIL_RFC5321", NULL, ACCEPT},
    {"ISEMAIL_ERR", NULL, REJECT},
    {"ISEMAIL_CFWS", "ISEMAIL_CFWS_COMMENT", REJECT},
    {"ISEMAIL_CFWS", "ISEMAIL_CFWS_FWS", REJECT},
    {"ISEMAIL_DEPREC", "ISEMAIL_RFC5321_IPV6DEPRECATED", ACCEPT},
    {"ISEMAIL_DEPREC", "ISEMAIL_DEPREC_CFWS_NEAR_AT", REJECT},
    {"ISEMAIL_DEPREC", "ISEMAIL_DEPREC_COMMENT", REJECT},
    {"ISEMAIL_DEPREC", "ISEMAIL_DEPREC_CTEXT", REJECT},
    {"ISEMAIL_DEPREC", "ISEMAIL_DEPREC_FWS", REJECT},
    {"ISEMAIL_DEPREC", "ISEMAIL_DEPREC_LOCALPART", REJECT},
    {"ISEMAIL_DEPREC", "ISEMAIL_DEPREC_QP", REJECT},
    {"ISEMAIL_DEPREC", "ISEMAIL_DEPREC_QTEXT", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_LOCAL_TOOLONG", ACCEPT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_TOOLONG", ACCEPT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_DOMAIN_TOOLONG", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_LABEL_TOOLONG", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_DOMAINLITERAL", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_DOMLIT_OBSDTEXT", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_IPV6_2X2XCOLON", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_IPV6_BADCHAR", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_IPV6_COLONEND", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_IPV6_COLONSTRT", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_IPV6_GRPCOUNT", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_IPV6_MAXGRPS", REJECT},
    {"ISEMAIL_RFC5322", "ISEMAIL_RFC5322_DOMAIN", REJECT},
};

struct exception {
	int id;
	int expect;
	const char *why;
};

static const struct exception exceptions[] = {
    {35, ACCEPT, "trailing dot on the domain is removed"},
    {66, ACCEPT, "general address literal with tag \"1111\""},
};

/* rule_for - the expected outcome for one case, or NO_RULE */
static int rule_for(int id, const char *cat, const char *diag)
{
	size_t i;

	for (i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++)
		if (exceptions[i].id == id)
			return exceptions[i].expect;
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].category, cat) == 0 &&
		    (rules[i].diagnosis == NULL ||
		     strcmp(rules[i].diagnosis, diag) == 0))
			return rules[i].expect;
	return NO_RULE;
}

/* read_file - whole file into a malloc'd buffer; NULL on error */
#include "isemail.h"
}

struct tally {
	const char *category;
	int accepted, rejected;
};

/* tally_add - count one outcome for its category */
static void tally_add(struct tally *t, size_t n, const char *cat, bool ok)
{
	size_t i;

	for (i = 0; i < n && t[i].category != NULL; i++)
		if (strcmp(t[i].category, cat) == 0)
			break;
	if (i == n)
		return;
	if (t[i].category == NULL)
		t[i].category = strdup(cat);
	if (ok)
		t[i].accepted++;
	else
		t[i].rejected++;
}

/* test_isemail - every isemail vector against the table above */
static void test_isemail(void **state)
{
	const char *dir = getenv("PB_VECTORS");
	char path[4096], addr[1024], cat[128], diag[128];
	struct tally tally[16];
	const char *p, *end, *t, *tend;
	char *xml;
	size_t len, alen, clen, dlen, i;
	int cases = 0, failures = 0, ret;

	(void)state;
	memset(tally, 0, sizeof(tally));
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
		pb_addr a;
		pb_addr_err err;
		int id = atoi(t + 10), want;

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

		want = rule_for(id, cat, diag);
		err = pb_addr_parse(addr, alen, NULL, &a);
		tally_add(tally, sizeof(tally) / sizeof(tally[0]), cat,
			  err == PB_ADDR_OK);
		if (want == NO_RULE) {
			print_error("test id %d: no rule for %s / %s\n", id,
				    cat, diag);
			failures++;
		} else if ((err == PB_ADDR_OK) != (want == ACCEPT)) {
			print_error("test id %d (%s / %s) \"%.*s\": got %s, "
				    "want %s\n",
				    id, cat, diag, (int)alen, addr,
				    pb_addr_strerror(err),
				    want == ACCEPT ? "accept" : "reject");
			failures++;
		} else if (err == PB_ADDR_OK) {
			/* Re-parsing the normalised form gives it again. */
			pb_addr b;
			pb_addr_err e2 =
			    pb_addr_parse(a.full, strlen(a.full), NULL, &b);
			if (e2 != PB_ADDR_OK || strcmp(a.full, b.full) != 0) {
				print_error(
				    "test id %d: reparse of \"%s\": got "
				    "%s \"%s\", want ok \"%s\"\n",
				    id, a.full, pb_addr_strerror(e2),
				    e2 == PB_ADDR_OK ? b.full : "", a.full);
				failures++;
			}
		}
		/* DOMAIN_TOOLONG must say so, not "bad domain". */
		if (strcmp(diag, "ISEMAIL_RFC5322_DOMAIN_TOOLONG") == 0 &&
		    err != PB_ADDR_TOO_LONG) {
			print_error("test id %d: got %s, want %s\n", id,
				    pb_addr_strerror(err),
				    pb_addr_strerror(PB_ADDR_TOO_LONG));
			failures++;
		}
	}
	free(xml);
	for (i = 0;
	     i < sizeof(tally) / sizeof(tally[0]) && tally[i].category != NULL;
	     i++) {
		printf("isemail %-24s accepted %3d rejected %3d\n",
		       tally[i].category, tally[i].accepted, tally[i].rejected);
		free((void *)(uintptr_t)tally[i].category);
	}
	printf("isemail: %d cases, %d deviations\n", cases, failures);
	assert_int_equal(cases, 164);
	assert_int_equal(failures, 0);
}

/* ---- table-driven normalisation --------------------------------------
 */

#define S(lit) lit, sizeof(lit) - 1

struct ncase {
	const char *in;
	size_t len;
	bool use_opts;
	const char *delims;
	bool fold;
	pb_addr_err err;
	/* checked only when err == PB_ADDR_OK */
	const char *local, *domain, *full, *key, *key_local, *extension;
	bool quoted, literal;
};

static const struct ncase ncases[] = {
    /* case folding */
    {S("Alice@Example.ORG"), false, NULL, false, PB_ADDR_OK, "Alice",
     "example.org", "Alice@example.org", "Alice@example.org", "Alice", "",
     false, false},
    {S("Alice@Example.ORG"), true, "", false, PB_ADDR_OK, "Alice",
     "example.org", "Alice@example.org", "Alice@example.org", "Alice", "",
     false, false},
    {S("Alice@Example.ORG"), true, "", true, PB_ADDR_OK, "Alice", "example.org",
     "alice@example.org", "alice@example.org", "alice", "", false, false},
    /* only ASCII is folded */
    {S("J\xc3\x96RG@B\xc3\x9c"
       "CHER.DE"),
     true, "", true, PB_ADDR_OK, "J\xc3\x96RG",
     "b\xc3\x9c"
     "cher.de",
     "j\xc3\x96rg@b\xc3\x9c"
     "cher.de",
     "j\xc3\x96rg@b\xc3\x9c"
     "cher.de",
     "j\xc3\x96rg", "", false, false},
    /* delimiters */
    {S("Alice+Tag@example.org"), true, "+", true, PB_ADDR_OK, "Alice+Tag",
     "example.org", "alice+tag@example.org", "alice@example.org", "alice",
     "Tag", false, false},
    {S("alice+tag@example.org"), true, "+", false, PB_ADDR_OK, "alice+tag",
     "example.org", "alice+tag@example.org", "alice@example.org", "alice",
     "tag", false, false},
    {S("alice+tag@example.org"), true, "", false, PB_ADDR_OK, "alice+tag",
     "example.org", "alice+tag@example.org", "alice+tag@example.org",
     "alice+tag", "", false, false},
    {S("alice+tag@example.org"), false, NULL, false, PB_ADDR_OK, "alice+tag",
     "example.org", "alice+tag@example.org", "alice+tag@example.org",
     "alice+tag", "", false, false},
    {S("alice+tag@example.org"), true, "-", false, PB_ADDR_OK, "alice+tag",
     "example.org", "alice+tag@example.org", "alice+tag@example.org",
     "alice+tag", "", false, false},
    {S("bob-list+x@example.org"), true, "+-", false, PB_ADDR_OK, "bob-list+x",
     "example.org", "bob-list+x@example.org", "bob@example.org", "bob",
     "list+x", false, false},
    {S("bob+a-b@example.org"), true, "+-", false, PB_ADDR_OK, "bob+a-b",
     "example.org", "bob+a-b@example.org", "bob@example.org", "bob", "a-b",
     false, false},
    {S("bob+@example.org"), true, "+", false, PB_ADDR_OK, "bob+", "example.org",
     "bob+@example.org", "bob@example.org", "bob", "", false, false},
    {S("+foo@example.org"), true, "+", false, PB_ADDR_OK, "+foo", "example.org",
     "+foo@example.org", "+foo@example.org", "+foo", "", false, false},
    {S("+foo+bar@example.org"), true, "+", false, PB_ADDR_OK, "+foo+bar",
     "example.org", "+foo+bar@example.org", "+foo+bar@example.org", "+foo+bar",
     "", false, false},
    {S("-a+b@example.org"), true, "+-", false, PB_ADDR_OK, "-a+b",
     "example.org", "-a+b@example.org", "-a+b@example.org", "-a+b", "", false,
     false},
    {S("nodelim@example.org"), true, "+-", true, PB_ADDR_OK, "nodelim",
     "example.org", "nodelim@example.org", "nodelim@example.org", "nodelim", "",
     false, false},
    /* base "a." is no dot-string: the key quotes it */
    {S("a.+b@example.org"), true, "+", false, PB_ADDR_OK, "a.+b", "example.org",
     "a.+b@example.org", "\"a.\"@example.org", "\"a.\"", "b", false, false},
    /* angle brackets, null sender */
    {S("<alice@example.org>"), false, NULL, false, PB_ADDR_OK, "alice",
     "example.org", "alice@example.org", "alice@example.org", "alice", "",
     false, false},
    {S("<>"), false, NULL, false, PB_ADDR_EMPTY, 0, 0, 0, 0, 0, 0, 0, 0},
    {S(""), false, NULL, false, PB_ADDR_EMPTY, 0, 0, 0, 0, 0, 0, 0, 0},
    {S("<alice@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0, 0,
     0, 0, 0, 0},
    {S("alice@example.org>"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0,
     0, 0, 0, 0, 0},
    {S("<<alice@example.org>>"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0,
     0, 0, 0, 0, 0},
    /* trailing dot */
    {S("alice@Example.ORG."), false, NULL, false, PB_ADDR_OK, "alice",
     "example.org", "alice@example.org", "alice@example.org", "alice", "",
     false, false},
    {S("alice@example.org.."), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0,
     0, 0, 0, 0, 0},
    {S("alice@."), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0, 0, 0,
     0},
    /* host names */
    {S("a@x_y.example"), false, NULL, false, PB_ADDR_OK, "a", "x_y.example",
     "a@x_y.example", "a@x_y.example", "a", "", false, false},
    {S("a@-x.example"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0,
     0, 0, 0},
    {S("a@x-.example"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0,
     0, 0, 0},
    {S("a@x..example"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0,
     0, 0, 0},
    {S("a@x y.example"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0,
     0, 0, 0},
    {S("a@x\xc3.example"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0,
     0, 0, 0, 0},
    /* address literals */
    {S("u@[192.0.2.1]"), false, NULL, false, PB_ADDR_OK, "u", "[192.0.2.1]",
     "u@[192.0.2.1]", "u@[192.0.2.1]", "u", "", false, true},
    {S("u@[192.000.002.001]"), false, NULL, false, PB_ADDR_OK, "u",
     "[192.0.2.1]", "u@[192.0.2.1]", "u@[192.0.2.1]", "u", "", false, true},
    {S("U+x@[IPv6:2001:DB8::1]"), true, "+", true, PB_ADDR_OK, "U+x",
     "[ipv6:2001:db8::1]", "u+x@[ipv6:2001:db8::1]", "u@[ipv6:2001:db8::1]",
     "u", "x", false, true},
    /* a NUL inside a literal must not hide what follows it */
    {S("u@[IPv6:2001:db8::1\0junk]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0,
     0, 0, 0, 0, 0, 0, 0},
    {S("u@[IPv6:2001:db8:0:0:0:0:0:1]"), false, NULL, false, PB_ADDR_OK, "u",
     "[ipv6:2001:db8::1]", "u@[ipv6:2001:db8::1]", "u@[ipv6:2001:db8::1]", "u",
     "", false, true},
    {S("u@[IPv6:::ffff:192.0.2.1]"), false, NULL, false, PB_ADDR_OK, "u",
     "[ipv6:::ffff:192.0.2.1]", "u@[ipv6:::ffff:192.0.2.1]",
     "u@[ipv6:::ffff:192.0.2.1]", "u", "", false, true},
    {S("u@[X-Tag:Some.Thing]"), false, NULL, false, PB_ADDR_OK, "u",
     "[x-tag:some.thing]", "u@[x-tag:some.thing]", "u@[x-tag:some.thing]", "u",
     "", false, true},
    {S("u@[256.0.2.1]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0,
     0, 0, 0},
    {S("u@[1.2.3]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0, 0,
     0, 0},
    {S("u@[0001.2.3.4]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0,
     0, 0, 0},
    {S("u@[IPv6:1.2.3.4]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0,
     0, 0, 0, 0},
    {S("u@[IPv6:fe80::1%eth0]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0,
     0, 0, 0, 0, 0, 0},
    {S("u@[192.0.2.1"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0,
     0, 0, 0},
    {S("u@[]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0, 0, 0, 0},
    {S("u@[tag-:x]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0, 0,
     0, 0},
    {S("u@[tag:]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0, 0, 0,
     0},
    {S("u@[tag:a b]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0, 0,
     0, 0},
    /* quoted local parts */
    {S("\"john doe\"@example.org"), false, NULL, false, PB_ADDR_OK, "john doe",
     "example.org", "\"john doe\"@example.org", "\"john doe\"@example.org",
     "\"john doe\"", "", true, false},
    {S("\"john\"@example.org"), false, NULL, false, PB_ADDR_OK, "john",
     "example.org", "john@example.org", "john@example.org", "john", "", true,
     false},
    {S("\"\\j\\o\\h\\n\"@example.org"), false, NULL, false, PB_ADDR_OK, "john",
     "example.org", "john@example.org", "john@example.org", "john", "", true,
     false},
    {S("\"a\\\"b\"@example.org"), false, NULL, false, PB_ADDR_OK, "a\"b",
     "example.org", "\"a\\\"b\"@example.org", "\"a\\\"b\"@example.org",
     "\"a\\\"b\"", "", true, false},
    {S("\"a\\\\b\"@example.org"), false, NULL, false, PB_ADDR_OK, "a\\b",
     "example.org", "\"a\\\\b\"@example.org", "\"a\\\\b\"@example.org",
     "\"a\\\\b\"", "", true, false},
    {S("\"\"@example.org"), false, NULL, false, PB_ADDR_OK, "", "example.org",
     "\"\"@example.org", "\"\"@example.org", "\"\"", "", true, false},
    {S("\"a..b\"@example.org"), false, NULL, false, PB_ADDR_OK, "a..b",
     "example.org", "\"a..b\"@example.org", "\"a..b\"@example.org", "\"a..b\"",
     "", true, false},
    {S("\"a@b\"@example.org"), false, NULL, false, PB_ADDR_OK, "a@b",
     "example.org", "\"a@b\"@example.org", "\"a@b\"@example.org", "\"a@b\"", "",
     true, false},
    {S("\"John Doe+Ext\"@Example.org"), true, "+", true, PB_ADDR_OK,
     "John Doe+Ext", "example.org", "\"john doe+ext\"@example.org",
     "\"john doe\"@example.org", "\"john doe\"", "Ext", true, false},
    {S("\"J+x y\"@example.org"), true, "+", false, PB_ADDR_OK, "J+x y",
     "example.org", "\"J+x y\"@example.org", "J@example.org", "J", "x y", true,
     false},
    {S("\"a\"b@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0, 0,
     0, 0, 0, 0},
    {S("\"a\".b@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0,
     0, 0, 0, 0, 0},
    {S("\"ab@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0, 0,
     0, 0, 0, 0},
    {S("\"ab\""), false, NULL, false, PB_ADDR_NO_AT, 0, 0, 0, 0, 0, 0, 0, 0},
    {S("\"a\tb\"@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0,
     0, 0, 0, 0, 0},
    {S("\"a\\\xc3\xa9\"@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0,
     0, 0, 0, 0, 0, 0, 0},
    /* other syntax errors */
    {S("alice"), false, NULL, false, PB_ADDR_NO_AT, 0, 0, 0, 0, 0, 0, 0, 0},
    {S("@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0, 0, 0, 0,
     0, 0},
    {S("alice@"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0, 0, 0,
     0},
    {S("a..b@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0, 0,
     0, 0, 0, 0},
    {S("a b@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0, 0, 0,
     0, 0, 0},
    {S("a\xff@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0, 0,
     0, 0, 0, 0},
    {S("a\xc0\xaf@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0,
     0, 0, 0, 0, 0},
    {S("a\xed\xa0\x80@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0,
     0, 0, 0, 0, 0, 0, 0},
    {S("a@b@example.org"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0,
     0, 0, 0, 0},
    /* embedded NUL */
    {S("a\0b@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0, 0,
     0, 0, 0, 0},
    {S("ab@exam\0ple.org"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0,
     0, 0, 0, 0},
    {S("\"a\0b\"@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0, 0,
     0, 0, 0, 0, 0},
    {S("\"a\\\0b\"@example.org"), false, NULL, false, PB_ADDR_BAD_LOCAL, 0, 0,
     0, 0, 0, 0, 0, 0},
    {S("ab@example.org\0"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0,
     0, 0, 0, 0},
    {S("ab@[1.2.3.4\0]"), false, NULL, false, PB_ADDR_BAD_DOMAIN, 0, 0, 0, 0, 0,
     0, 0, 0},
};

/* field_ok - compare one string field; print "got X, want Y" if not */
static bool field_ok(size_t i, const char *in, size_t len, const char *name,
		     const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return true;
	print_error("case %zu \"%.*s\": %s: got \"%s\", want \"%s\"\n", i,
		    (int)len, in, name, got, want);
	return false;
}

/* test_normalise_table - table-driven parse and normalisation cases */
static void test_normalise_table(void **state)
{
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < sizeof(ncases) / sizeof(ncases[0]); i++) {
		const struct ncase *c = &ncases[i];
		pb_addr_opts o = {c->delims, c->fold};
		pb_addr a;
		pb_addr_err err;
		bool ok = true;

		err = pb_addr_parse(c->in, c->len, c->use_opts ? &o : NULL, &a);
		if (err != c->err) {
			print_error("case %zu \"%.*s\": got %s, want %s\n", i,
				    (int)c->len, c->in, pb_addr_strerror(err),
				    pb_addr_strerror(c->err));
			failures++;
			continue;
		}
		if (err != PB_ADDR_OK)
			continue;
		ok &= field_ok(i, c->in, c->len, "local", a.local, c->local);
		ok &= field_ok(i, c->in, c->len, "domain", a.domain, c->domain);
		ok &= field_ok(i, c->in, c->len, "full", a.full, c->full);
		ok &= field_ok(i, c->in, c->len, "key", a.key, c->key);
		ok &= field_ok(i, c->in, c->len, "key_local", a.key_local,
			       c->key_local);
		ok &= field_ok(i, c->in, c->len, "extension", a.extension,
			       c->extension);
		if (a.quoted != c->quoted || a.literal != c->literal) {
			print_error("case %zu \"%.*s\": quoted/literal: got "
				    "%d/%d, want %d/%d\n",
				    i, (int)c->len, c->in, a.quoted, a.literal,
				    c->quoted, c->literal);
			ok = false;
		}
		if (!ok)
			failures++;
	}
	assert_int_equal(failures, 0);
}

/* ---- length limits -----------------------------------------------------
 */

/* fill - n copies of c at p */
static char *fill(char *p, char c, size_t n)
{
	memset(p, c, n);
	return p + n;
}

/* make_domain - a valid host name of exactly n octets (labels <= 63) */
static void make_domain(char *p, size_t n)
{
	size_t i;

	memset(p, 'd', n);
	for (i = 63; i + 1 < n; i += 64)
		p[i] = '.';
	if (n % 64 == 0 && n >= 2) /* last label would be 64: split it */
		p[n - 2] = '.';
}

/* expect_err - parse buf[0..len) and compare the error */
static int expect_err(const char *what, const char *buf, size_t len,
		      pb_addr_err want, pb_addr *a)
{
	pb_addr_err err = pb_addr_parse(buf, len, NULL, a);

	if (err == want)
		return 0;
	print_error("%s (len %zu): got %s, want %s\n", what, len,
		    pb_addr_strerror(err), pb_addr_strerror(want));
	return 1;
}

/* test_limits - length limits exactly at and one over */
static void test_limits(void **state)
{
	char buf[2048], *p;
	pb_addr a;
	int failures = 0;
	size_t n, i;

	(void)state;

	/* local part: PB_LOCAL_MAX ok, one more too long */
	p = fill(buf, 'l', PB_LOCAL_MAX);
	memcpy(p, "@x.org", 6);
	failures +=
	    expect_err("local at limit", buf, PB_LOCAL_MAX + 6, PB_ADDR_OK, &a);
	if (failures == 0)
		assert_int_equal(strlen(a.full), PB_LOCAL_MAX + 6);
	p = fill(buf, 'l', PB_LOCAL_MAX + 1);
	memcpy(p, "@x.org", 6);
	failures += expect_err("local over limit", buf, PB_LOCAL_MAX + 7,
			       PB_ADDR_TOO_LONG, &a);

	/* quoted local part: the written form counts ("..." with a space) */
	buf[0] = '"';
	fill(buf + 1, 'q', PB_LOCAL_MAX - 2);
	buf[5] = ' ';
	buf[PB_LOCAL_MAX - 1] = '"';
	memcpy(buf + PB_LOCAL_MAX, "@x.org", 6);
	failures += expect_err("quoted local at limit", buf, PB_LOCAL_MAX + 6,
			       PB_ADDR_OK, &a);
	buf[0] = '"';
	fill(buf + 1, 'q', PB_LOCAL_MAX - 1);
	buf[5] = ' ';
	buf[PB_LOCAL_MAX] = '"';
	memcpy(buf + PB_LOCAL_MAX + 1, "@x.org", 6);
	failures += expect_err("quoted local over limit", buf, PB_LOCAL_MAX + 7,
			       PB_ADDR_TOO_LONG, &a);

	/* quoted-pairs that need no quoting: 2*256+2 octets in, 256 out */
	n = 0;
	buf[n++] = '"';
	for (i = 0; i < PB_LOCAL_MAX; i++) {
		buf[n++] = '\\';
		buf[n++] = 'a';
	}
	buf[n++] = '"';
	memcpy(buf + n, "@x.org", 6);
	failures +=
	    expect_err("escaped local at limit", buf, n + 6, PB_ADDR_OK, &a);
	if (failures == 0)
		assert_int_equal(strlen(a.local), PB_LOCAL_MAX);

	/* domain: PB_DOMAIN_MAX ok (also with a trailing dot), +1 too long */
	memcpy(buf, "u@", 2);
	make_domain(buf + 2, PB_DOMAIN_MAX);
	failures += expect_err("domain at limit", buf, 2 + PB_DOMAIN_MAX,
			       PB_ADDR_OK, &a);
	if (failures == 0)
		assert_int_equal(strlen(a.domain), PB_DOMAIN_MAX);
	buf[2 + PB_DOMAIN_MAX] = '.';
	failures += expect_err("domain at limit + trailing dot", buf,
			       3 + PB_DOMAIN_MAX, PB_ADDR_OK, &a);
	make_domain(buf + 2, PB_DOMAIN_MAX + 1);
	failures += expect_err("domain over limit", buf, 3 + PB_DOMAIN_MAX,
			       PB_ADDR_TOO_LONG, &a);

	/* label: 63 ok, 64 bad */
	memcpy(buf, "u@", 2);
	p = fill(buf + 2, 'b', 63);
	memcpy(p, ".org", 4);
	failures +=
	    expect_err("label at limit", buf, 2 + 63 + 4, PB_ADDR_OK, &a);
	p = fill(buf + 2, 'b', 64);
	memcpy(p, ".org", 4);
	failures += expect_err("label over limit", buf, 2 + 64 + 4,
			       PB_ADDR_BAD_DOMAIN, &a);

	/* whole: local and domain both at their limits = PB_ADDR_MAX */
	p = fill(buf, 'l', PB_LOCAL_MAX);
	*p++ = '@';
	make_domain(p, PB_DOMAIN_MAX);
	failures +=
	    expect_err("whole at limit", buf, PB_ADDR_MAX, PB_ADDR_OK, &a);
	if (failures == 0) {
		assert_int_equal(strlen(a.full), PB_ADDR_MAX);
		assert_int_equal(strlen(a.key), PB_ADDR_MAX);
	}
	p = fill(buf, 'l', PB_LOCAL_MAX + 1);
	*p++ = '@';
	make_domain(p, PB_DOMAIN_MAX);
	failures += expect_err("whole over limit", buf, PB_ADDR_MAX + 1,
			       PB_ADDR_TOO_LONG, &a);

	/* A base that needs quotes where the whole did not ("l...l.+x" has
	 * base "l...l."): it fits while its written form does, else the
	 * address is too long for key_local. */
	{
		pb_addr_opts o = {"+", false};
		pb_addr_err err;

		p = fill(buf, 'l', PB_LOCAL_MAX - 3);
		memcpy(p, ".+x@x.org", 9);
		err = pb_addr_parse(buf, PB_LOCAL_MAX + 6, &o, &a);
		if (err != PB_ADDR_OK) {
			print_error("quoted base at limit: got %s, want ok\n",
				    pb_addr_strerror(err));
			failures++;
		} else if (strlen(a.key_local) != PB_LOCAL_MAX) {
			print_error("quoted base at limit: got key_local "
				    "length %zu, want %d\n",
				    strlen(a.key_local), PB_LOCAL_MAX);
			failures++;
		}
		p = fill(buf, 'l', PB_LOCAL_MAX - 2);
		memcpy(p, ".+@x.org", 8);
		err = pb_addr_parse(buf, PB_LOCAL_MAX + 6, &o, &a);
		if (err != PB_ADDR_TOO_LONG) {
			print_error("quoted base over limit: got %s, want %s\n",
				    pb_addr_strerror(err),
				    pb_addr_strerror(PB_ADDR_TOO_LONG));
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* ---- unterminated input ------------------------------------------------
 */

/* test_unterminated - input without NUL, exactly sized */
static void test_unterminated(void **state)
{
	static const char text[] = {'B', 'o', 'b', '+', 'x', '@',
				    'E', 'x', '.', 'o', 'r', 'g'};
	pb_addr_opts o = {"+", true};
	pb_addr a;
	char *heap;

	(void)state;
	/* Exactly-sized heap copy: ASan flags any read past the end. */
	heap = malloc(sizeof(text));
	assert_non_null(heap);
	memcpy(heap, text, sizeof(text));
	assert_int_equal(pb_addr_parse(heap, sizeof(text), &o, &a), PB_ADDR_OK);
	assert_string_equal(a.full, "bob+x@ex.org");
	assert_string_equal(a.key, "bob@ex.org");
	assert_string_equal(a.extension, "x");
	/* A prefix of a longer buffer: what follows len is not looked at. */
	assert_int_equal(pb_addr_parse("a@b.c!!!", 5, NULL, &a), PB_ADDR_OK);
	assert_string_equal(a.full, "a@b.c");
	assert_int_equal(pb_addr_parse("\"a b\"@x.y\xff", 9, NULL, &a),
			 PB_ADDR_OK);
	assert_string_equal(a.full, "\"a b\"@x.y");
	/* len cuts a quoted string: unclosed */
	assert_int_equal(pb_addr_parse("\"a b\"@x.y", 3, NULL, &a),
			 PB_ADDR_BAD_LOCAL);
	free(heap);
}

/* ---- pb_domain_normalise and pb_addr_strerror -------------------------
 */

/* test_domain_normalise - pb_domain_normalise cases */
static void test_domain_normalise(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		size_t cap;
		int ret;
		const char *out;
	} cases[] = {
	    {S("Example.ORG"), 64, 0, "example.org"},
	    {S("Example.ORG."), 64, 0, "example.org"},
	    {S("x_y.example"), 64, 0, "x_y.example"},
	    {S("B\xc3\x9c"
	       "CHER.de"),
	     64, 0,
	     "b\xc3\x9c"
	     "cher.de"},
	    {S("example.org"), 12, 0, "example.org"},
	    {S("example.org"), 11, -1, NULL},
	    {S(""), 64, -1, NULL},
	    {S("."), 64, -1, NULL},
	    {S("a..b"), 64, -1, NULL},
	    {S("a.b.."), 64, -1, NULL},
	    {S("-a.b"), 64, -1, NULL},
	    {S("[192.0.2.1]"), 64, -1, NULL},
	    {S("a@b"), 64, -1, NULL},
	    {S("ex\0ample.org"), 64, -1, NULL},
	};
	char out[PB_DOMAIN_MAX + 1];
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = pb_domain_normalise(cases[i].in, cases[i].len, out,
					      cases[i].cap);
		if (ret != cases[i].ret) {
			print_error("domain \"%.*s\" cap %zu: got %d, want "
				    "%d\n",
				    (int)cases[i].len, cases[i].in,
				    cases[i].cap, ret, cases[i].ret);
			failures++;
		} else if (ret == 0 && strcmp(out, cases[i].out) != 0) {
			print_error("domain \"%.*s\": got \"%s\", want "
				    "\"%s\"\n",
				    (int)cases[i].len, cases[i].in, out,
				    cases[i].out);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* test_strerror - every code has a short distinct text */
static void test_strerror(void **state)
{
	static const pb_addr_err errs[] = {
	    PB_ADDR_OK,	       PB_ADDR_EMPTY,	   PB_ADDR_NO_AT,
	    PB_ADDR_BAD_LOCAL, PB_ADDR_BAD_DOMAIN, PB_ADDR_TOO_LONG};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *s = pb_addr_strerror(errs[i]);
		assert_non_null(s);
		assert_true(strlen(s) > 0 && strlen(s) < 40);
		for (j = 0; j < i; j++)
			assert_string_not_equal(s, pb_addr_strerror(errs[j]));
	}
	assert_non_null(pb_addr_strerror((pb_addr_err)99));
}

/* main - run the addr tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_isemail),
	    cmocka_unit_test(test_normalise_table),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_unterminated),
	    cmocka_unit_test(test_domain_normalise),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
