/*
 * test_maps - unit tests for the socketmap and tcp_table codecs
 * (frontend/maps): framing, limits, %-encoding, and the answers each
 * malformed input gets.
 *
 * Every table row is also fed one byte at a time where that matters: a
 * parser must say "more" until the request is complete, whatever the
 * split.  Single-threaded, test-only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/maps.h"

typedef struct ns_case {
	const char *in;
	maps_status want;
	const char *payload; /* for MAPS_REQUEST */
	size_t used;	     /* for MAPS_REQUEST */
} ns_case;

/* test_netstring_table - ns_parse on whole inputs. */
static void test_netstring_table(void **state)
{
	static const ns_case cases[] = {
	    {"7:forward,", MAPS_REQUEST, "forward", 10},
	    {"0:,", MAPS_REQUEST, "", 3},
	    {"5:a b c,rest", MAPS_REQUEST, "a b c", 8},
	    {"", MAPS_MORE, NULL, 0},
	    {"12", MAPS_MORE, NULL, 0},
	    {"12:forward a@", MAPS_MORE, NULL, 0},
	    {"3:abc", MAPS_MORE, NULL, 0},
	    {"3:abcd", MAPS_FATAL, NULL, 0},  /* no comma after 3 bytes */
	    {":abc,", MAPS_FATAL, NULL, 0},   /* no length */
	    {"x:abc,", MAPS_FATAL, NULL, 0},  /* not a digit */
	    {"03:abc,", MAPS_FATAL, NULL, 0}, /* leading zero */
	    {"3;abc,", MAPS_FATAL, NULL, 0},
	    {"99999999:", MAPS_FATAL, NULL, 0}, /* over the limit */
	    {"2049:", MAPS_FATAL, NULL, 0},	/* limit + 1 */
	    {"-1:a,", MAPS_FATAL, NULL, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const ns_case *c = &cases[i];
		const char *payload = NULL;
		size_t plen = 0, used = 0;
		maps_status st =
		    ns_parse(c->in, strlen(c->in), MAPS_REQUEST_MAX, &payload,
			     &plen, &used);

		if (st != c->want)
			fail_msg("ns_parse(\"%s\"): got %d, want %d", c->in, st,
				 c->want);
		if (st == MAPS_REQUEST &&
		    (plen != strlen(c->payload) ||
		     memcmp(payload, c->payload, plen) != 0 || used != c->used))
			fail_msg("ns_parse(\"%s\"): got payload \"%.*s\" "
				 "used %zu, want \"%s\" %zu",
				 c->in, (int)plen, payload, used, c->payload,
				 c->used);
	}
}

/* test_netstring_limit - exactly the limit is fine, one more is not. */
static void test_netstring_limit(void **state)
{
	static char buf[MAPS_REQUEST_MAX + 16];
	const char *payload;
	size_t plen, used;
	int h = snprintf(buf, sizeof(buf), "%d:", MAPS_REQUEST_MAX);

	(void)state;
	memset(buf + h, 'a', MAPS_REQUEST_MAX);
	buf[h + MAPS_REQUEST_MAX] = ',';
	assert_int_equal(ns_parse(buf, (size_t)h + MAPS_REQUEST_MAX + 1,
				  MAPS_REQUEST_MAX, &payload, &plen, &used),
			 MAPS_REQUEST);
	assert_int_equal(plen, MAPS_REQUEST_MAX);
}

/* test_netstring_bytewise - every prefix of a request is "more". */
static void test_netstring_bytewise(void **state)
{
	const char *in = "24:forward user@example.com,";
	const char *payload;
	size_t plen, used, n = strlen(in);

	(void)state;
	for (size_t k = 0; k < n; k++)
		if (ns_parse(in, k, MAPS_REQUEST_MAX, &payload, &plen, &used) !=
		    MAPS_MORE)
			fail_msg("prefix of %zu bytes is not MORE", k);
	assert_int_equal(
	    ns_parse(in, n, MAPS_REQUEST_MAX, &payload, &plen, &used),
	    MAPS_REQUEST);
	assert_int_equal(used, n);
}

/* test_ns_format - replies are netstrings; too small a buffer is 0. */
static void test_ns_format(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(ns_format(out, sizeof(out), "OK x@y", 6), 9);
	assert_memory_equal(out, "6:OK x@y,", 9);
	assert_int_equal(ns_format(out, sizeof(out), "NOTFOUND ", 9), 12);
	assert_memory_equal(out, "9:NOTFOUND ,", 12);
	assert_int_equal(ns_format(out, 8, "OK x@y", 6), 0);
}

typedef struct tt_case {
	const char *in;
	maps_status want;
	const char *key;
} tt_case;

/* test_tcp_table_table - tt_parse on whole inputs. */
static void test_tcp_table_table(void **state)
{
	static const tt_case cases[] = {
	    {"get a@example.com\n", MAPS_REQUEST, "a@example.com"},
	    {"get a@example.com\r\n", MAPS_REQUEST, "a@example.com"},
	    {"get a%2Bb@example.com\n", MAPS_REQUEST, "a+b@example.com"},
	    {"get a%2bb%40x\n", MAPS_REQUEST, "a+b@x"},
	    {"get %25\n", MAPS_REQUEST, "%"},
	    {"get a b\n", MAPS_REQUEST, "a b"},
	    {"get a@example.com", MAPS_MORE, NULL},
	    {"", MAPS_MORE, NULL},
	    {"get \n", MAPS_BAD, NULL}, /* empty key */
	    {"get\n", MAPS_BAD, NULL},
	    {"put a b\n", MAPS_BAD, NULL},
	    {"GET a\n", MAPS_BAD, NULL},     /* the protocol is lower case */
	    {"get a%0Ab\n", MAPS_BAD, NULL}, /* an encoded newline */
	    {"get a%00b\n", MAPS_BAD, NULL}, /* an encoded NUL */
	    {"get a%zzb\n", MAPS_BAD, NULL}, /* a bad escape */
	    {"get a%2\n", MAPS_BAD, NULL},   /* a cut escape */
	    {"\n", MAPS_BAD, NULL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const tt_case *c = &cases[i];
		char key[MAPS_REQUEST_MAX + 1];
		size_t used = 0;
		maps_status st =
		    tt_parse(c->in, strlen(c->in), MAPS_REQUEST_MAX, key,
			     sizeof(key), &used);

		if (st != c->want)
			fail_msg("tt_parse(\"%s\"): got %d, want %d", c->in, st,
				 c->want);
		if (st == MAPS_REQUEST && strcmp(key, c->key) != 0)
			fail_msg("tt_parse(\"%s\"): key \"%s\", want \"%s\"",
				 c->in, key, c->key);
		if (st != MAPS_MORE && used != strlen(c->in))
			fail_msg("tt_parse(\"%s\"): used %zu of %zu", c->in,
				 used, strlen(c->in));
	}
}

/* test_tcp_table_limit - a line over the limit is FATAL even before its
 * newline arrives; one at the limit is a request. */
static void test_tcp_table_limit(void **state)
{
	static char buf[MAPS_REQUEST_MAX + 16];
	char key[MAPS_REQUEST_MAX + 1];
	size_t used;

	(void)state;
	memcpy(buf, "get ", 4);
	memset(buf + 4, 'a', MAPS_REQUEST_MAX - 4);
	buf[MAPS_REQUEST_MAX] = '\n';
	assert_int_equal(tt_parse(buf, MAPS_REQUEST_MAX + 1, MAPS_REQUEST_MAX,
				  key, sizeof(key), &used),
			 MAPS_REQUEST);
	memset(buf + 4, 'a', MAPS_REQUEST_MAX + 4);
	assert_int_equal(tt_parse(buf, MAPS_REQUEST_MAX + 1, MAPS_REQUEST_MAX,
				  key, sizeof(key), &used),
			 MAPS_FATAL);
}

/* test_tt_encode - what Postfix's tcp_table decodes. */
static void test_tt_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(tt_encode(out, sizeof(out), "a@b"), 3);
	assert_string_equal(out, "a@b");
	tt_encode(out, sizeof(out), "a b%c\x7f\xc3");
	assert_string_equal(out, "a%20b%25c%7F%C3");
	assert_int_equal(tt_encode(out, 3, "abc"), 0);
	assert_int_equal(tt_encode(out, 4, "ab "), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_netstring_table),
	    cmocka_unit_test(test_netstring_limit),
	    cmocka_unit_test(test_netstring_bytewise),
	    cmocka_unit_test(test_ns_format),
	    cmocka_unit_test(test_tcp_table_table),
	    cmocka_unit_test(test_tcp_table_limit),
	    cmocka_unit_test(test_tt_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
