/*
 * test_milter - unit tests for the milter codec (frontend/milter):
 * framing, limits, byte-at-a-time feeding, each command's arguments,
 * negotiation, and reply encoding.
 *
 * Inputs are written as C string literals with explicit lengths (the
 * protocol is binary: NULs and length prefixes are part of the data).
 * Single-threaded, test-only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/milter.h"

#define LIT(s) s, sizeof(s) - 1

typedef struct frame_case {
	const char *in;
	size_t len;
	size_t max;
	mlt_status want;
	char cmd;
	size_t dlen;
	size_t used;
} frame_case;

static const frame_case frames[] = {
    {LIT(""), 100, MLT_MORE, 0, 0, 0},
    {LIT("\0\0\0"), 100, MLT_MORE, 0, 0, 0},
    {LIT("\0\0\0\1"), 100, MLT_MORE, 0, 0, 0},
    {LIT("\0\0\0\1Q"), 100, MLT_PACKET, 'Q', 0, 5},
    {LIT("\0\0\0\1Qextra"), 100, MLT_PACKET, 'Q', 0, 5},
    {LIT("\0\0\0\3Hab"), 100, MLT_PACKET, 'H', 2, 7},
    {LIT("\0\0\0\4Hab"), 100, MLT_MORE, 0, 0, 0},
    {LIT("\0\0\0\0"), 100, MLT_FATAL, 0, 0, 0},
    {LIT("\0\0\0\0Q"), 100, MLT_FATAL, 0, 0, 0},
    {LIT("\0\0\0\x65"), 100, MLT_FATAL, 0, 0, 0}, /* 101 > max */
    {LIT("\0\0\0\x64"), 100, MLT_MORE, 0, 0, 0},  /* 100 = max: wait */
    {LIT("\xff\xff\xff\xff"), 100, MLT_FATAL, 0, 0, 0},
    {LIT("\x80\0\0\1Q"), 100, MLT_FATAL, 0, 0, 0},
    {LIT("GET / HTTP/1.0\r\n"), MLT_PACKET_MAX, MLT_FATAL, 0, 0, 0},
    {LIT("\0\x01\0\0"), MLT_PACKET_MAX, MLT_MORE, 0, 0, 0}, /* 65536 */
    {LIT("\0\x01\0\x01"), MLT_PACKET_MAX, MLT_FATAL, 0, 0, 0},
};

/* test_frame_table - mlt_parse on whole inputs. */
static void test_frame_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		const frame_case *fc = &frames[i];
		const char *data = NULL;
		size_t dlen = 99, used = 99;
		char cmd = 0;
		mlt_status st = mlt_parse(fc->in, fc->len, fc->max, &cmd, &data,
					  &dlen, &used);

		if (st != fc->want)
			fail_msg("case %zu: got status %d, want %d", i, st,
				 fc->want);
		if (st != MLT_PACKET) {
			assert_int_equal(used, 0);
			continue;
		}
		if (cmd != fc->cmd || dlen != fc->dlen || used != fc->used ||
		    data != fc->in + 5)
			fail_msg("case %zu: got cmd %c dlen %zu used %zu, want "
				 "%c %zu %zu",
				 i, cmd, dlen, used, fc->cmd, fc->dlen,
				 fc->used);
	}
}

/* test_frame_bytewise - a stream of packets fed one byte at a time gives
 * the same packets as fed whole. */
static void test_frame_bytewise(void **state)
{
	static const char stream[] =
	    "\0\0\0\x0dO\0\0\0\6\0\0\1\xff\0\x1f\xff\xff"
	    "\0\0\0\x0b"
	    "Dij\0ABC123\0"
	    "\0\0\0\x15"
	    "Cclient\0004\0\x19"
	    "192.0.2.1\0"
	    "\0\0\0\x07M<a@b>\0"
	    "\0\0\0\1N"
	    "\0\0\0\1Q";
	const char cmds[] = "ODCMNQ";
	size_t len = sizeof(stream) - 1, have = 0, off = 0, n = 0;
	char buf[sizeof(stream)];

	(void)state;
	for (size_t fed = 0; fed < len; fed++) {
		buf[have++] = stream[fed];
		for (;;) {
			const char *data;
			size_t dlen, used;
			char cmd;
			mlt_status st =
			    mlt_parse(buf + off, have - off, MLT_PACKET_MAX,
				      &cmd, &data, &dlen, &used);

			assert_int_not_equal(st, MLT_FATAL);
			if (st == MLT_MORE)
				break;
			assert_true(n < sizeof(cmds) - 1);
			if (cmd != cmds[n])
				fail_msg("packet %zu: got %c, want %c", n, cmd,
					 cmds[n]);
			n++;
			off += used;
		}
	}
	assert_int_equal(n, sizeof(cmds) - 1);
	assert_int_equal(off, len);
}

/* test_strings - NUL-separated arguments. */
static void test_strings(void **state)
{
	mlt_str s[4];

	(void)state;
	assert_int_equal(mlt_strings("", 0, s, 4), 0);
	assert_int_equal(mlt_strings(LIT("a"), s, 4), -1);
	assert_int_equal(mlt_strings(LIT("a\0b"), s, 4), -1);
	assert_int_equal(mlt_strings("\0", 1, s, 4), 1);
	assert_int_equal(s[0].len, 0);
	assert_int_equal(mlt_strings("<a@b>\0SIZE=10\0BODY=8BITMIME\0",
				     sizeof("<a@b>\0SIZE=10\0BODY=8BITMIME"), s,
				     4),
			 3);
	assert_int_equal(s[0].len, 5);
	assert_memory_equal(s[0].p, "<a@b>", 5);
	assert_int_equal(s[2].len, 13);
	/* more strings than room: counted, the first ones kept */
	assert_int_equal(mlt_strings("a\0b\0c\0d\0e\0f\0", 12, s, 2), 6);
	assert_memory_equal(s[1].p, "b", 1);
}

/* test_optneg - parse and negotiate. */
static void test_optneg(void **state)
{
	mlt_optneg mta, out;

	(void)state;
	assert_int_equal(mlt_optneg_parse(LIT("\0\0\0\6\0\0\1"), &mta), -1);
	assert_int_equal(
	    mlt_optneg_parse(LIT("\0\0\0\6\0\0\1\xff\0\x1f\xff\xff"), &mta), 0);
	assert_int_equal(mta.version, 6);
	assert_int_equal(mta.actions, 0x1ff);
	assert_int_equal(mta.protocol, 0x1fffff);
	/* the answer is the intersection with what we want */
	assert_int_equal(
	    mlt_negotiate(&mta, MLT_F_ADDHDRS | MLT_F_SETSYMLIST,
			  MLT_P_NOBODY | MLT_P_NR_HDR | 0x80000000u, &out),
	    0);
	assert_int_equal(out.version, 6);
	assert_int_equal(out.actions, 0x101);
	assert_int_equal(out.protocol, MLT_P_NOBODY | MLT_P_NR_HDR);
	/* an older MTA: its version, only the flags it offers */
	mta = (mlt_optneg){2, MLT_F_ADDHDRS, 0x7f};
	assert_int_equal(mlt_negotiate(&mta, 0x101, 0xffffff, &out), 0);
	assert_int_equal(out.version, 2);
	assert_int_equal(out.actions, MLT_F_ADDHDRS);
	assert_int_equal(out.protocol, 0x7f);
	/* a newer MTA gets our version */
	mta.version = 7;
	assert_int_equal(mlt_negotiate(&mta, 0, 0, &out), 0);
	assert_int_equal(out.version, MLT_VERSION);
	mta.version = 1;
	assert_int_equal(mlt_negotiate(&mta, 0, 0, &out), -1);
}

/* test_optneg_encode - the reply and its macro lists. */
static void test_optneg_encode(void **state)
{
	static const char *const lists[MLT_M_COUNT] = {
	    [MLT_M_CONNECT] = "j {client_addr}", [MLT_M_EOH] = "i"};
	mlt_optneg o = {6, MLT_F_ADDHDRS | MLT_F_SETSYMLIST, MLT_P_NOBODY};
	const char want[] = "\0\0\0\x27O\0\0\0\6\0\0\1\1\0\0\0\x10"
			    "\0\0\0\0j {client_addr}\0"
			    "\0\0\0\6i\0";
	char out[128];
	size_t n;

	(void)state;
	n = mlt_encode_optneg(out, sizeof(out), &o, lists);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	/* without SETSYMLIST the lists are not sent */
	o.actions = MLT_F_ADDHDRS;
	n = mlt_encode_optneg(out, sizeof(out), &o, lists);
	assert_int_equal(n, 17);
	assert_memory_equal(out, "\0\0\0\x0dO\0\0\0\6\0\0\0\1\0\0\0\x10", 17);
	/* too small */
	assert_int_equal(mlt_encode_optneg(out, 16, &o, NULL), 0);
	o.actions |= MLT_F_SETSYMLIST;
	assert_int_equal(mlt_encode_optneg(out, 30, &o, lists), 0);
}

typedef struct connect_case {
	const char *in;
	size_t len;
	int rc;
	const char *host;
	char family;
	unsigned port;
	const char *addr;
} connect_case;

static const connect_case connects[] = {
    {LIT("mx.example.net\0004\0\x19"
	 "192.0.2.1\0"),
     0, "mx.example.net", '4', 25, "192.0.2.1"},
    {LIT("[2001:db8::1]\0006\xff\xfe"
	 "2001:db8::1\0"),
     0, "[2001:db8::1]", '6', 65534, "2001:db8::1"},
    {LIT("v6.example\0006\0\1IPv6:2001:db8::2\0"), 0, "v6.example", '6', 1,
     "IPv6:2001:db8::2"},
    {LIT("localhost\0L\0\0/run/smtp.sock\0"), 0, "localhost", 'L', 0,
     "/run/smtp.sock"},
    {LIT("unknown\0U"), 0, "unknown", 'U', 0, ""},
    {LIT("\0U"), 0, "", 'U', 0, ""},
    {LIT("unknown\0Ux"), -1, NULL, 0, 0, NULL},	    /* trailing */
    {LIT("host\0X\0\0a\0"), -1, NULL, 0, 0, NULL},  /* family */
    {LIT("host\0004\0"), -1, NULL, 0, 0, NULL},	    /* half a port */
    {LIT("host\0004\0\x19"), -1, NULL, 0, 0, NULL}, /* no address */
    {LIT("host\0004\0\x19"
	 "1.2.3.4"),
     -1, NULL, 0, 0, NULL}, /* no NUL */
    {LIT("host\0004\0\x19"
	 "1.2.3.4\0x"),
     -1, NULL, 0, 0, NULL},
    {LIT("host"), -1, NULL, 0, 0, NULL},
    {LIT("host\0"), -1, NULL, 0, 0, NULL}, /* no family */
    {LIT(""), -1, NULL, 0, 0, NULL},
};

/* test_connect - the CONNECT packet's fields for each family. */
static void test_connect(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(connects) / sizeof(connects[0]); i++) {
		const connect_case *cc = &connects[i];
		mlt_connect c;
		int rc = mlt_connect_parse(cc->in, cc->len, &c);

		if (rc != cc->rc)
			fail_msg("case %zu: got %d, want %d", i, rc, cc->rc);
		if (rc < 0)
			continue;
		if (c.host.len != strlen(cc->host) ||
		    memcmp(c.host.p, cc->host, c.host.len) != 0 ||
		    c.family != cc->family || c.port != cc->port ||
		    c.addr.len != strlen(cc->addr) ||
		    memcmp(c.addr.p, cc->addr, c.addr.len) != 0)
			fail_msg("case %zu: got host %.*s family %c port %u "
				 "addr %.*s",
				 i, (int)c.host.len, c.host.p, c.family, c.port,
				 (int)c.addr.len, c.addr.p);
	}
}

/* test_header - name NUL value NUL, NULs inside the value. */
static void test_header(void **state)
{
	mlt_str n, v;

	(void)state;
	assert_int_equal(mlt_header_parse(LIT("From\0a@b\0"), &n, &v), 0);
	assert_int_equal(n.len, 4);
	assert_memory_equal(n.p, "From\0", 5); /* NUL-terminated in place */
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.p, "a@b", 3);
	assert_int_equal(mlt_header_parse(LIT("X\0\0"), &n, &v), 0);
	assert_int_equal(v.len, 0);
	/* a NUL inside the value: kept, the txn then ignores the value */
	assert_int_equal(mlt_header_parse(LIT("From\0a\0b\0"), &n, &v), 0);
	assert_int_equal(v.len, 3);
	assert_int_equal(mlt_header_parse(LIT("From\0a@b"), &n, &v), -1);
	assert_int_equal(mlt_header_parse(LIT("From\0"), &n, &v), -1);
	assert_int_equal(mlt_header_parse(LIT("\0value\0"), &n, &v), -1);
	assert_int_equal(mlt_header_parse(LIT("From"), &n, &v), -1);
	assert_int_equal(mlt_header_parse("", 0, &n, &v), -1);
}

/* test_path - MAIL and RCPT arguments. */
static void test_path(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"<a@example.org>", "a@example.org"},
	    {"<>", ""},
	    {"a@example.org", "a@example.org"},
	    {" <a@b> ", "a@b"},
	    {"<", "<"},
	    {"<a@b", "<a@b"},
	    {"", ""},
	    {"<<a@b>>", "<a@b>"},
	    {"<@relay:a@b>", "@relay:a@b"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mlt_str got =
		    mlt_path((mlt_str){cases[i].in, strlen(cases[i].in)});

		if (got.len != strlen(cases[i].want) ||
		    memcmp(got.p, cases[i].want, got.len) != 0)
			fail_msg("mlt_path(%s): got %.*s, want %s", cases[i].in,
				 (int)got.len, got.p, cases[i].want);
	}
}

/* test_macro_name - braces dropped. */
static void test_macro_name(void **state)
{
	mlt_str m;

	(void)state;
	m = mlt_macro_name((mlt_str){LIT("{client_addr}")});
	assert_int_equal(m.len, 11);
	assert_memory_equal(m.p, "client_addr", 11);
	m = mlt_macro_name((mlt_str){LIT("i")});
	assert_int_equal(m.len, 1);
	m = mlt_macro_name((mlt_str){LIT("{}")});
	assert_int_equal(m.len, 0);
	m = mlt_macro_name((mlt_str){LIT("{x")});
	assert_int_equal(m.len, 2);
}

/* test_replies - the reply encoders. */
static void test_replies(void **state)
{
	char out[256];
	size_t n;

	(void)state;
	n = mlt_encode(out, sizeof(out), MLT_R_CONTINUE, NULL, 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "\0\0\0\1c", 5);
	assert_int_equal(mlt_encode(out, 4, MLT_R_CONTINUE, NULL, 0), 0);
	n = mlt_encode_replycode(out, sizeof(out),
				 "550 5.1.1 unknown recipient");
	assert_int_equal(n, 5 + 28);
	assert_memory_equal(out, "\0\0\0\x1dy550 5.1.1 unknown recipient\0", n);
	/* '%' doubled: Sendmail reads the text as a format */
	n = mlt_encode_replycode(out, sizeof(out), "451 4.3.0 100% busy");
	assert_memory_equal(out, "\0\0\0\x16y451 4.3.0 100%% busy\0", n);
	assert_int_equal(mlt_encode_replycode(out, 12, "550 5.1.1 abc"), 0);
	n = mlt_encode_addheader(out, sizeof(out), "X-Pushback-Reason",
				 "unsigned-bounce (text)");
	assert_int_equal(n, 5 + 18 + 23);
	assert_memory_equal(out,
			    "\0\0\0\x2ahX-Pushback-Reason\0unsigned-bounce "
			    "(text)\0",
			    n);
	assert_int_equal(
	    mlt_encode_addheader(out, 20, "X-Pushback-Reason", "v"), 0);
}

/* test_roundtrip - what the encoders write, mlt_parse reads back. */
static void test_roundtrip(void **state)
{
	char out[128];
	const char *data;
	size_t n, dlen, used;
	char cmd;

	(void)state;
	n = mlt_encode_replycode(out, sizeof(out), "452 4.5.3 try later");
	assert_int_equal(
	    mlt_parse(out, n, MLT_PACKET_MAX, &cmd, &data, &dlen, &used),
	    MLT_PACKET);
	assert_int_equal(cmd, 'y');
	assert_int_equal(used, n);
	assert_string_equal(data, "452 4.5.3 try later");
	/* one byte short is "more" */
	assert_int_equal(
	    mlt_parse(out, n - 1, MLT_PACKET_MAX, &cmd, &data, &dlen, &used),
	    MLT_MORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_table),
	    cmocka_unit_test(test_frame_bytewise),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_optneg),
	    cmocka_unit_test(test_optneg_encode),
	    cmocka_unit_test(test_connect),
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_path),
	    cmocka_unit_test(test_macro_name),
	    cmocka_unit_test(test_replies),
	    cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
