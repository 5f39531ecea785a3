/*
 * test_verdict - unit tests for core/verdict: building verdicts and
 * pb_verdict_render, the one place a verdict becomes an SMTP reply.
 *
 * What is asserted, table by table:
 *   - valid 4xx/5xx codes with an enhanced code of the same class are
 *     rendered as "CODE ENH text"; anything else (2xx, 6xx, class
 *     mismatch, malformed enhanced code) becomes 451 4.3.0, never a 5xx;
 *   - the text is printable US-ASCII ('?' for anything else) and the line
 *     is at most PB_REPLY_MAX octets;
 *   - soft_bounce turns 5xx into 4xx, shadow answers DUNNO;
 *   - the decision line goes to stderr as exactly one line, whatever
 *     control bytes the transaction's facts hold.
 *
 * Memory/threading: test-only, single-threaded; stderr is redirected to a
 * temporary file around the renders whose log line is inspected.
 * Failures print "got X, want Y" with the case that failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "core/reasons.h"
#include "core/txn.h"
#include "core/verdict.h"

/* ---- helpers ----------------------------------------------------------
 */

/* sample_txn - a transaction with every logged fact set. */
static void sample_txn(pb_txn *t)
{
	pb_txn_reset(t);
	snprintf(t->id, sizeof(t->id), "%s", "inst-42");
	snprintf(t->queue_id, sizeof(t->queue_id), "%s", "4Q1x2y3z");
	snprintf(t->client_address, sizeof(t->client_address), "%s",
		 "192.0.2.7");
	snprintf(t->sender, sizeof(t->sender), "%s", "alice@example.net");
	snprintf(t->recipient, sizeof(t->recipient), "%s",
		 "nobody@example.org");
	t->stage = PB_STAGE_RCPT;
}

/* printable - whether s holds only printable US-ASCII. */
static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* count_char - occurrences of c in p[0..len). */
static size_t count_char(const char *p, size_t len, char c)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (p[i] == c)
			n++;
	return n;
}

/* capture - what rendering v writes to stderr: a NUL-terminated malloc'd
 * buffer (caller frees), its length in *len; the reply in *out. */
static char *capture(const pb_verdict *v, const pb_render_opts *o,
		     const pb_txn *t, long us, pb_reply *out, size_t *len)
{
	char path[] = "/tmp/pb-test-verdict-XXXXXX";
	int fd = mkstemp(path);
	int saved;
	char *buf;
	off_t n;

	if (fd < 0)
		fail_msg("mkstemp: cannot create %s", path);
	unlink(path);
	saved = dup(STDERR_FILENO);
	if (saved < 0 || dup2(fd, STDERR_FILENO) < 0)
		fail_msg("cannot redirect stderr");
	pb_verdict_render(v, o, t, us, out);
	if (dup2(saved, STDERR_FILENO) < 0)
		fail_msg("cannot restore stderr");
	close(saved);
	n = lseek(fd, 0, SEEK_END);
	if (n < 0 || lseek(fd, 0, SEEK_SET) < 0)
		fail_msg("lseek on the captured stderr failed");
	buf = malloc((size_t)n + 1);
	if (buf == NULL)
		fail_msg("out of memory");
	if (read(fd, buf, (size_t)n) != (ssize_t)n)
		fail_msg("short read of the captured stderr");
	buf[n] = '\0';
	close(fd);
	*len = (size_t)n;
	return buf;
}

/* group_setup - decisions are logged at info, to stderr. */
static int group_setup(void **state)
{
	(void)state;
	pb_log_open("test", PB_LOG_STDERR, PB_LOG_INFO);
	return 0;
}

/* ---- pb_verdict_set / dunno / backend ---------------------------------
 */

/* test_builders - the three constructors fill what they say. */
static void test_builders(void **state)
{
	pb_verdict v;
	int failures = 0;

	(void)state;

	pb_verdict_set(&v, 550, "5.1.1", PB_R_UNKNOWN_RECIPIENT,
		       "unknown recipient %s (%d)", "x@example.org", 7);
	if (v.action != PB_REJECT) {
		print_error("set 550: action: got %s, want REJECT\n",
			    pb_action_name(v.action));
		failures++;
	}
	if (v.code != 550 || strcmp(v.enh, "5.1.1") != 0) {
		print_error("set 550: code/enh: got %d %s, want 550 5.1.1\n",
			    v.code, v.enh);
		failures++;
	}
	if (strcmp(v.text, "unknown recipient x@example.org (7)") != 0) {
		print_error("set 550: text: got \"%s\", want \"unknown "
			    "recipient x@example.org (7)\"\n",
			    v.text);
		failures++;
	}
	if (v.reason == NULL || strcmp(v.reason, "unknown-recipient") != 0) {
		print_error("set 550: reason: got %s, want unknown-recipient\n",
			    v.reason ? v.reason : "(null)");
		failures++;
	}
	if (v.check != NULL) {
		print_error("set 550: check: got %s, want NULL\n", v.check);
		failures++;
	}

	pb_verdict_set(&v, 451, "4.3.0", PB_R_BACKEND_UNAVAILABLE, "later");
	if (v.action != PB_TEMPFAIL || v.code != 451 ||
	    strcmp(v.enh, "4.3.0") != 0) {
		print_error("set 451: got %s %d %s, want TEMPFAIL 451 4.3.0\n",
			    pb_action_name(v.action), v.code, v.enh);
		failures++;
	}

	pb_verdict_dunno(&v, PB_R_NOT_PROTECTED);
	if (v.action != PB_DUNNO || v.code != 0 || v.enh[0] != '\0' ||
	    v.text[0] != '\0') {
		print_error("dunno: got %s code %d enh \"%s\" text \"%s\", "
			    "want DUNNO 0 \"\" \"\"\n",
			    pb_action_name(v.action), v.code, v.enh, v.text);
		failures++;
	}
	if (v.reason == NULL || strcmp(v.reason, "not-protected") != 0) {
		print_error("dunno: reason: got %s, want not-protected\n",
			    v.reason ? v.reason : "(null)");
		failures++;
	}
	pb_verdict_dunno(&v, NULL);
	if (v.reason == NULL || v.reason[0] != '\0') {
		print_error("dunno(NULL): reason: got %s, want \"\"\n",
			    v.reason ? v.reason : "(null)");
		failures++;
	}

	pb_verdict_backend(&v, false, "directory");
	if (v.action != PB_TEMPFAIL || v.code != 451 ||
	    strcmp(v.enh, "4.3.0") != 0) {
		print_error("backend: got %s %d %s, want TEMPFAIL 451 4.3.0\n",
			    pb_action_name(v.action), v.code, v.enh);
		failures++;
	}
	if (v.reason == NULL || strcmp(v.reason, "backend-unavailable") != 0) {
		print_error("backend: reason: got %s, want "
			    "backend-unavailable\n",
			    v.reason ? v.reason : "(null)");
		failures++;
	}
	if (strstr(v.text, "directory") == NULL) {
		print_error("backend: text: got \"%s\", want it to name "
			    "\"directory\"\n",
			    v.text);
		failures++;
	}
	pb_verdict_backend(&v, true, "directory");
	if (v.action != PB_DUNNO || v.code != 0) {
		print_error("backend fail_open: got %s %d, want DUNNO 0\n",
			    pb_action_name(v.action), v.code);
		failures++;
	}
	if (v.reason == NULL || strcmp(v.reason, "backend-unavailable") != 0) {
		print_error("backend fail_open: reason: got %s, want "
			    "backend-unavailable\n",
			    v.reason ? v.reason : "(null)");
		failures++;
	}
	assert_int_equal(failures, 0);
}

/* test_set_long_text - pb_verdict_set bounds the text it formats. */
static void test_set_long_text(void **state)
{
	char big[2001];
	pb_verdict v;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pb_verdict_set(&v, 550, "5.7.1", PB_R_LIST_CLOSED, "%s", big);
	if (strlen(v.text) != PB_TEXT_MAX)
		fail_msg("text length: got %zu, want %d", strlen(v.text),
			 PB_TEXT_MAX);
	if (strspn(v.text, "x") != PB_TEXT_MAX)
		fail_msg("text: got a byte other than the input's");
}

/* test_action_names - every action has its own printable name. */
static void test_action_names(void **state)
{
	static const struct {
		pb_action a;
		const char *want;
	} cases[] = {
	    {PB_DUNNO, "DUNNO"},
	    {PB_ACCEPT, "ACCEPT"},
	    {PB_TEMPFAIL, "TEMPFAIL"},
	    {PB_REJECT, "REJECT"},
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = pb_action_name(cases[i].a);

		if (got == NULL || strcmp(got, cases[i].want) != 0) {
			print_error("pb_action_name(%d): got %s, want %s\n",
				    (int)cases[i].a, got ? got : "(null)",
				    cases[i].want);
			failures++;
		}
	}
	assert_non_null(pb_action_name((pb_action)99));
	assert_int_equal(failures, 0);
}

/* ---- codes ------------------------------------------------------------
 */

struct code_case {
	int code;
	const char *enh;
	const char *text;
	pb_action want_action;
	int want_code;
	const char *want_enh;
	const char *want_line; /* NULL: only the "451 4.3.0 " prefix */
};

#define FIXED(c, e)                                                            \
	{                                                                      \
		c, e, "refused", PB_TEMPFAIL, 451, "4.3.0", NULL               \
	}

static const struct code_case code_cases[] = {
    /* valid refusals are rendered as they are */
    {550, "5.1.1", "unknown recipient", PB_REJECT, 550, "5.1.1",
     "550 5.1.1 unknown recipient"},
    {554, "5.7.1", "closed", PB_REJECT, 554, "5.7.1", "554 5.7.1 closed"},
    {451, "4.3.0", "try later", PB_TEMPFAIL, 451, "4.3.0",
     "451 4.3.0 try later"},
    {450, "4.2.0", "busy", PB_TEMPFAIL, 450, "4.2.0", "450 4.2.0 busy"},
    {421, "4.7.0", "bye", PB_TEMPFAIL, 421, "4.7.0", "421 4.7.0 bye"},
    {599, "5.0.0", "z", PB_REJECT, 599, "5.0.0", "599 5.0.0 z"},
    {400, "4.0.0", "z", PB_TEMPFAIL, 400, "4.0.0", "400 4.0.0 z"},
    {550, "5.123.456", "three digits", PB_REJECT, 550, "5.123.456",
     "550 5.123.456 three digits"},
    {550, "5.12.3", "mixed", PB_REJECT, 550, "5.12.3", "550 5.12.3 mixed"},
    /* not a refusal code */
    FIXED(250, "2.0.0"),
    FIXED(250, "5.1.1"),
    FIXED(250, "4.1.1"),
    FIXED(354, "3.0.0"),
    FIXED(0, "4.0.0"),
    FIXED(-550, "5.1.1"),
    FIXED(600, "6.0.0"),
    FIXED(600, "5.1.1"),
    FIXED(999, "5.1.1"),
    FIXED(5500, "5.1.1"),
    FIXED(4500, "4.1.1"),
    /* class mismatch */
    FIXED(450, "5.1.1"),
    FIXED(550, "4.1.1"),
    FIXED(550, "2.0.0"),
    FIXED(451, "5.3.0"),
    /* malformed enhanced code */
    FIXED(550, "5.1"),
    FIXED(550, "5..1"),
    FIXED(550, "5.1."),
    FIXED(550, ".1.1"),
    FIXED(550, "5.1.1.1"),
    FIXED(550, "5.1234.1"),
    FIXED(550, "5.1.1234"),
    FIXED(550, ""),
    FIXED(550, "5"),
    FIXED(550, "5.a.1"),
    FIXED(550, "5.1.x"),
    FIXED(550, " 5.1.1"),
    FIXED(550, "5.1.1 "),
    FIXED(550, "5,1,1"),
    FIXED(550, "51.1.1"),
    FIXED(450, "4.-1.1"),
    FIXED(450, "4.+1.1"),
};

/* check_reply - compare a reply with a case; print what differs. */
static bool check_reply(const char *label, const pb_reply *r,
			pb_action want_action, int want_code,
			const char *want_enh, const char *want_line)
{
	bool ok = true;

	if (r->action != want_action) {
		print_error("%s: action: got %s, want %s\n", label,
			    pb_action_name(r->action),
			    pb_action_name(want_action));
		ok = false;
	}
	if (want_action != PB_DUNNO && r->code != want_code) {
		print_error("%s: code: got %d, want %d\n", label, r->code,
			    want_code);
		ok = false;
	}
	if (want_action != PB_DUNNO && strcmp(r->enh, want_enh) != 0) {
		print_error("%s: enh: got \"%s\", want \"%s\"\n", label, r->enh,
			    want_enh);
		ok = false;
	}
	if (want_line != NULL && strcmp(r->line, want_line) != 0) {
		print_error("%s: line: got \"%s\", want \"%s\"\n", label,
			    r->line, want_line);
		ok = false;
	}
	if (strlen(r->line) > PB_REPLY_MAX || !printable(r->line)) {
		print_error("%s: line: got %zu bytes \"%s\", want <= %d "
			    "printable\n",
			    label, strlen(r->line), r->line, PB_REPLY_MAX);
		ok = false;
	}
	return ok;
}

/* test_codes - valid codes pass, everything else becomes 451 4.3.0. */
static void test_codes(void **state)
{
	pb_render_opts o = {false, false, false};
	int failures = 0;
	pb_txn t;

	(void)state;
	sample_txn(&t);
	for (size_t i = 0; i < sizeof(code_cases) / sizeof(code_cases[0]);
	     i++) {
		const struct code_case *c = &code_cases[i];
		char label[96];
		pb_verdict v;
		pb_reply r;
		bool ok;

		snprintf(label, sizeof(label), "case %zu (%d \"%s\")", i,
			 c->code, c->enh);
		pb_verdict_set(&v, c->code, c->enh, PB_R_UNKNOWN_RECIPIENT,
			       "%s", c->text);
		memset(&r, 0x5a, sizeof(r));
		pb_verdict_render(&v, &o, &t, 0, &r);
		ok = check_reply(label, &r, c->want_action, c->want_code,
				 c->want_enh, c->want_line);
		if (c->want_line == NULL &&
		    strncmp(r.line, "451 4.3.0 ", 10) != 0) {
			print_error("%s: line: got \"%s\", want \"451 4.3.0 "
				    "...\"\n",
				    label, r.line);
			ok = false;
		}
		if (r.shadowed) {
			print_error("%s: shadowed: got true, want false\n",
				    label);
			ok = false;
		}
		if (!ok)
			failures++;
	}
	assert_int_equal(failures, 0);
}

/* test_action_code_mismatch - a hand-built verdict whose action and code
 * disagree is our bug: 451 4.3.0. */
static void test_action_code_mismatch(void **state)
{
	static const struct {
		pb_action action;
		int code;
		const char *enh;
	} cases[] = {
	    {PB_REJECT, 451, "4.3.0"},	 {PB_REJECT, 451, "5.3.0"},
	    {PB_TEMPFAIL, 550, "5.1.1"}, {PB_TEMPFAIL, 550, "4.1.1"},
	    {PB_REJECT, 0, ""},		 {PB_TEMPFAIL, 0, ""},
	};
	pb_render_opts o = {false, false, false};
	int failures = 0;
	pb_txn t;

	(void)state;
	sample_txn(&t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char label[96];
		pb_verdict v;
		pb_reply r;

		memset(&v, 0, sizeof(v));
		v.action = cases[i].action;
		v.code = cases[i].code;
		snprintf(v.enh, sizeof(v.enh), "%s", cases[i].enh);
		snprintf(v.text, sizeof(v.text), "%s", "hand-built");
		v.reason = PB_R_LIST_CLOSED;
		snprintf(label, sizeof(label), "case %zu (%s %d %s)", i,
			 pb_action_name(cases[i].action), cases[i].code,
			 cases[i].enh);
		pb_verdict_render(&v, &o, &t, 0, &r);
		if (!check_reply(label, &r, PB_TEMPFAIL, 451, "4.3.0", NULL) ||
		    strncmp(r.line, "451 4.3.0 ", 10) != 0) {
			print_error("%s: got \"%s\", want \"451 4.3.0 ...\"\n",
				    label, r.line);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* test_dunno_accept - no objection is always "DUNNO" (never "OK"). */
static void test_dunno_accept(void **state)
{
	pb_render_opts o = {false, false, false};
	pb_verdict v;
	pb_reply r;
	pb_txn t;
	int failures = 0;

	(void)state;
	sample_txn(&t);
	pb_verdict_dunno(&v, PB_R_NOT_PROTECTED);
	memset(&r, 0x5a, sizeof(r));
	pb_verdict_render(&v, &o, &t, 0, &r);
	if (!check_reply("DUNNO", &r, PB_DUNNO, 0, "", "DUNNO"))
		failures++;
	if (r.code != 0 || r.shadowed) {
		print_error("DUNNO: code/shadowed: got %d/%d, want 0/0\n",
			    r.code, r.shadowed);
		failures++;
	}

	memset(&v, 0, sizeof(v));
	v.action = PB_ACCEPT;
	v.reason = PB_R_NONE;
	pb_verdict_render(&v, &o, &t, 0, &r);
	if (!check_reply("ACCEPT", &r, PB_DUNNO, 0, "", "DUNNO"))
		failures++;

	/* a code on a DUNNO is ignored, not rendered */
	memset(&v, 0, sizeof(v));
	v.action = PB_DUNNO;
	v.code = 550;
	snprintf(v.enh, sizeof(v.enh), "%s", "5.1.1");
	snprintf(v.text, sizeof(v.text), "%s", "ignored");
	pb_verdict_render(&v, &o, &t, 0, &r);
	if (!check_reply("DUNNO with a code", &r, PB_DUNNO, 0, "", "DUNNO"))
		failures++;
	assert_int_equal(failures, 0);
}

/* ---- text -------------------------------------------------------------
 */

struct text_case {
	const char *in;
	const char *want; /* the rendered text */
};

static const struct text_case text_cases[] = {
    {"plain text, 100% ok", "plain text, 100% ok"},
    {"", ""},
    {"line\r\nInjected: header", "line??Injected: header"},
    {"a\nb", "a?b"},
    {"a\rb", "a?b"},
    {"tab\there", "tab?here"},
    {"bell\a esc\x1b[31m", "bell? esc?[31m"},
    {"del\x7f", "del?"},
    {"caf\xc3\xa9", "caf??"},
    {"\xff\x80\xa0", "???"},
    {"\x01\x1f ~", "?? ~"},
    {"\r\n\r\n", "????"},
};

/* test_text_printable - control, CR, LF and 8-bit bytes become '?'. */
static void test_text_printable(void **state)
{
	pb_render_opts o = {false, false, false};
	int failures = 0;
	pb_txn t;

	(void)state;
	sample_txn(&t);
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]);
	     i++) {
		const struct text_case *c = &text_cases[i];
		char want_line[PB_REPLY_MAX + 1], label[64];
		pb_verdict v;
		pb_reply r;

		pb_verdict_set(&v, 550, "5.7.1", PB_R_LIST_CLOSED, "%s", c->in);
		pb_verdict_render(&v, &o, &t, 0, &r);
		/* no trailing space when there is no text */
		snprintf(want_line, sizeof(want_line), "550 5.7.1%s%s",
			 c->want[0] ? " " : "", c->want);
		snprintf(label, sizeof(label), "text case %zu", i);
		if (strcmp(r.text, c->want) != 0) {
			print_error("%s: text: got \"%s\", want \"%s\"\n",
				    label, r.text, c->want);
			failures++;
			continue;
		}
		if (!check_reply(label, &r, PB_REJECT, 550, "5.7.1", want_line))
			failures++;
	}
	assert_int_equal(failures, 0);
}

/* test_text_long - the reply line never exceeds 510 octets, whatever the
 * text and the enhanced code. */
static void test_text_long(void **state)
{
	static const struct {
		int code;
		const char *enh;
		size_t text_len;
		char fill;
	} cases[] = {
	    {550, "5.1.1", 2000, 'x'},
	    {550, "5.123.456", 2000, 'y'},
	    {451, "4.3.0", PB_TEXT_MAX, 'z'},
	    {550, "5.1.1", 600, '\n'}, /* each byte becomes '?' */
	    {550, "5.1.1", 600, (char)0xe9},
	};
	pb_render_opts both[] = {
	    {false, false, false},
	    {true, false, false},
	};
	int failures = 0;
	pb_txn t;

	(void)state;
	sample_txn(&t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t j = 0; j < 2; j++) {
			char *text = malloc(cases[i].text_len + 1);
			char prefix[32];
			pb_verdict v;
			pb_reply r;

			assert_non_null(text);
			memset(text, cases[i].fill, cases[i].text_len);
			text[cases[i].text_len] = '\0';
			pb_verdict_set(&v, cases[i].code, cases[i].enh,
				       PB_R_LIST_CLOSED, "%s", text);
			free(text);
			pb_verdict_render(&v, &both[j], &t, 0, &r);
			if (strlen(r.line) > PB_REPLY_MAX ||
			    !printable(r.line)) {
				print_error("long case %zu/%zu: got %zu "
					    "bytes, want <= %d printable\n",
					    i, j, strlen(r.line), PB_REPLY_MAX);
				failures++;
			}
			snprintf(prefix, sizeof(prefix), "%d %s ",
				 j == 1 && cases[i].code >= 500
				     ? cases[i].code - 100
				     : cases[i].code,
				 cases[i].enh);
			if (j == 1 && cases[i].code >= 500)
				prefix[4] = '4';
			if (strncmp(r.line, prefix, strlen(prefix)) != 0) {
				print_error("long case %zu/%zu: got \"%.20s"
					    "...\", want \"%s...\"\n",
					    i, j, r.line, prefix);
				failures++;
			}
			/* the text is cut, not dropped */
			if (strlen(r.line) < strlen(prefix) + 400) {
				print_error("long case %zu/%zu: got %zu bytes, "
					    "want the text kept up to the "
					    "limit\n",
					    i, j, strlen(r.line));
				failures++;
			}
		}
	}
	assert_int_equal(failures, 0);
}

/* ---- soft_bounce and shadow -------------------------------------------
 */

struct switch_case {
	int code; /* 0: a DUNNO verdict */
	const char *enh;
	bool soft_bounce, shadow;
	pb_action want_action;
	int want_code;
	const char *want_enh;
	const char *want_line;
	bool want_shadowed;
};

static const struct switch_case switch_cases[] = {
    /* soft_bounce */
    {550, "5.1.1", true, false, PB_TEMPFAIL, 450, "4.1.1", "450 4.1.1 text",
     false},
    {554, "5.7.1", true, false, PB_TEMPFAIL, 454, "4.7.1", "454 4.7.1 text",
     false},
    {550, "5.123.45", true, false, PB_TEMPFAIL, 450, "4.123.45",
     "450 4.123.45 text", false},
    {451, "4.3.0", true, false, PB_TEMPFAIL, 451, "4.3.0", "451 4.3.0 text",
     false},
    {450, "4.2.2", true, false, PB_TEMPFAIL, 450, "4.2.2", "450 4.2.2 text",
     false},
    {0, "", true, false, PB_DUNNO, 0, "", "DUNNO", false},
    /* an invalid verdict is 451 4.3.0 with or without soft_bounce */
    {450, "5.1.1", true, false, PB_TEMPFAIL, 451, "4.3.0", NULL, false},
    /* neither switch */
    {550, "5.1.1", false, false, PB_REJECT, 550, "5.1.1", "550 5.1.1 text",
     false},
    /* shadow: every refusal is answered DUNNO */
    {550, "5.1.1", false, true, PB_DUNNO, 0, "", "DUNNO", true},
    {451, "4.3.0", false, true, PB_DUNNO, 0, "", "DUNNO", true},
    {0, "", false, true, PB_DUNNO, 0, "", "DUNNO", false},
    {250, "2.0.0", false, true, PB_DUNNO, 0, "", "DUNNO", true},
    /* both */
    {550, "5.1.1", true, true, PB_DUNNO, 0, "", "DUNNO", true},
    {451, "4.3.0", true, true, PB_DUNNO, 0, "", "DUNNO", true},
    {0, "", true, true, PB_DUNNO, 0, "", "DUNNO", false},
};

/* test_switches - soft_bounce and shadow, alone and together. */
static void test_switches(void **state)
{
	int failures = 0;
	pb_txn t;

	(void)state;
	sample_txn(&t);
	for (size_t i = 0; i < sizeof(switch_cases) / sizeof(switch_cases[0]);
	     i++) {
		const struct switch_case *c = &switch_cases[i];
		pb_render_opts o = {c->soft_bounce, c->shadow, false};
		char label[96];
		pb_verdict v;
		pb_reply r;
		bool ok;

		if (c->code == 0)
			pb_verdict_dunno(&v, PB_R_NOT_PROTECTED);
		else
			pb_verdict_set(&v, c->code, c->enh,
				       PB_R_UNKNOWN_RECIPIENT, "text");
		snprintf(label, sizeof(label),
			 "switch case %zu (%d %s soft=%d shadow=%d)", i,
			 c->code, c->enh, c->soft_bounce, c->shadow);
		pb_verdict_render(&v, &o, &t, 0, &r);
		ok = check_reply(label, &r, c->want_action, c->want_code,
				 c->want_enh, c->want_line);
		if (c->want_line == NULL &&
		    strncmp(r.line, "451 4.3.0 ", 10) != 0) {
			print_error("%s: line: got \"%s\", want \"451 4.3.0 "
				    "...\"\n",
				    label, r.line);
			ok = false;
		}
		if (r.shadowed != c->want_shadowed) {
			print_error("%s: shadowed: got %d, want %d\n", label,
				    r.shadowed, c->want_shadowed);
			ok = false;
		}
		if (!ok)
			failures++;
	}
	assert_int_equal(failures, 0);
}

/* ---- the log line -----------------------------------------------------
 */

struct log_case {
	const char *label;
	int code; /* 0: DUNNO */
	const char *enh;
	const char *reason;
	bool soft_bounce, shadow;
	const char *want[6];	 /* substrings the line must hold */
	const char *not_want[3]; /* substrings it must not hold */
};

static const struct log_case log_cases[] = {
    {"reject",
     550,
     "5.1.1",
     PB_R_UNKNOWN_RECIPIENT,
     false,
     false,
     {"unknown-recipient", "REJECT", "550", "5.1.1", "nobody@example.org",
      "alice@example.net"},
     {"would", NULL, NULL}},
    {"shadow reject",
     550,
     "5.1.1",
     PB_R_UNKNOWN_RECIPIENT,
     false,
     true,
     {"unknown-recipient", "would REJECT", "DUNNO", "inst-42", "192.0.2.7",
      "98765"},
     {NULL, NULL, NULL}},
    {"shadow closed list",
     550,
     "5.7.1",
     PB_R_LIST_CLOSED,
     false,
     true,
     {"list-closed", "would REJECT", "5.7.1", NULL, NULL, NULL},
     {NULL, NULL, NULL}},
    {"shadow soft_bounce",
     550,
     "5.1.1",
     PB_R_UNKNOWN_RECIPIENT,
     true,
     true,
     {"unknown-recipient", "would TEMPFAIL", "450", "4.1.1", NULL, NULL},
     {"would REJECT", "5.1.1", NULL}},
    {"soft_bounce",
     550,
     "5.1.1",
     PB_R_UNKNOWN_RECIPIENT,
     true,
     false,
     {"unknown-recipient", "TEMPFAIL", "450", "4.1.1", NULL, NULL},
     {"would", "5.1.1", NULL}},
    {"tempfail",
     451,
     "4.3.0",
     PB_R_BACKEND_UNAVAILABLE,
     false,
     false,
     {"backend-unavailable", "TEMPFAIL", "451", "4.3.0", NULL, NULL},
     {"would", NULL, NULL}},
    {"dunno",
     0,
     "",
     PB_R_NOT_PROTECTED,
     false,
     false,
     {"not-protected", "DUNNO", "nobody@example.org", NULL, NULL, NULL},
     {"would", NULL, NULL}},
    {"dunno shadow",
     0,
     "",
     PB_R_NOT_PROTECTED,
     false,
     true,
     {"not-protected", "DUNNO", NULL, NULL, NULL, NULL},
     {"would", NULL, NULL}},
};

/* test_log_line - one decision, one line, with its reason token. */
static void test_log_line(void **state)
{
	int failures = 0;
	pb_txn t;

	(void)state;
	sample_txn(&t);
	for (size_t i = 0; i < sizeof(log_cases) / sizeof(log_cases[0]); i++) {
		const struct log_case *c = &log_cases[i];
		pb_render_opts o = {c->soft_bounce, c->shadow, true};
		pb_verdict v;
		pb_reply r;
		size_t len;
		char *out;

		if (c->code == 0)
			pb_verdict_dunno(&v, c->reason);
		else
			pb_verdict_set(&v, c->code, c->enh, c->reason, "text");
		v.check = "testcheck";
		out = capture(&v, &o, &t, 98765, &r, &len);
		if (count_char(out, len, '\n') != 1 || len == 0 ||
		    out[len - 1] != '\n') {
			print_error("%s: got %zu lines \"%s\", want one line\n",
				    c->label, count_char(out, len, '\n'), out);
			failures++;
			free(out);
			continue;
		}
		for (size_t k = 0; k < 6 && c->want[k] != NULL; k++)
			if (strstr(out, c->want[k]) == NULL) {
				print_error("%s: got \"%s\", want it to hold "
					    "\"%s\"\n",
					    c->label, out, c->want[k]);
				failures++;
			}
		for (size_t k = 0; k < 3 && c->not_want[k] != NULL; k++)
			if (strstr(out, c->not_want[k]) != NULL) {
				print_error("%s: got \"%s\", want no \"%s\"\n",
					    c->label, out, c->not_want[k]);
				failures++;
			}
		free(out);
	}
	assert_int_equal(failures, 0);
}

/* test_log_off - log = false writes nothing. */
static void test_log_off(void **state)
{
	pb_render_opts o = {false, true, false};
	pb_verdict v;
	pb_reply r;
	size_t len;
	pb_txn t;
	char *out;

	(void)state;
	sample_txn(&t);
	pb_verdict_set(&v, 550, "5.1.1", PB_R_UNKNOWN_RECIPIENT, "x");
	out = capture(&v, &o, &t, 0, &r, &len);
	if (len != 0) {
		print_error("got \"%s\", want nothing\n", out);
		free(out);
		fail_msg("log = false: got %zu bytes, want 0", len);
	}
	free(out);
}

/* test_log_injection - CR, LF and other bytes in the transaction's facts
 * never forge a second log line. */
static void test_log_injection(void **state)
{
	static const struct {
		const char *field;
		const char *value;
	} cases[] = {
	    {"recipient", "victim@example.org\nfake: id=x action=OK"},
	    {"recipient", "victim@example.org\r\nfake"},
	    {"recipient", "a\n\n\nb@example.org"},
	    {"sender", "evil@example.net\nfake: line"},
	    {"sender", "evil\r@example.net"},
	    {"id", "inst\nfake"},
	    {"client_address", "192.0.2.1\nfake"},
	    {"recipient", "\x1b[2J\x08\x7f\xc3\xa9@example.org"},
	};
	pb_render_opts modes[] = {
	    {false, false, true},
	    {false, true, true},
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t j = 0; j < 2; j++) {
			pb_verdict v;
			pb_reply r;
			size_t len;
			pb_txn t;
			char *out, *field;
			size_t cap;

			sample_txn(&t);
			if (strcmp(cases[i].field, "recipient") == 0) {
				field = t.recipient;
				cap = sizeof(t.recipient);
			} else if (strcmp(cases[i].field, "sender") == 0) {
				field = t.sender;
				cap = sizeof(t.sender);
			} else if (strcmp(cases[i].field, "id") == 0) {
				field = t.id;
				cap = sizeof(t.id);
			} else {
				field = t.client_address;
				cap = sizeof(t.client_address);
			}
			snprintf(field, cap, "%s", cases[i].value);
			pb_verdict_set(&v, 550, "5.1.1", PB_R_UNKNOWN_RECIPIENT,
				       "unknown %s", t.recipient);
			out = capture(&v, &modes[j], &t, 0, &r, &len);
			if (count_char(out, len, '\n') != 1 ||
			    count_char(out, len, '\r') != 0 ||
			    out[len - 1] != '\n') {
				print_error("injection case %zu/%zu (%s): got "
					    "%zu LF and %zu CR in \"%s\", "
					    "want one line\n",
					    i, j, cases[i].field,
					    count_char(out, len, '\n'),
					    count_char(out, len, '\r'), out);
				failures++;
			}
			for (size_t k = 0; k + 1 < len; k++)
				if ((unsigned char)out[k] < 0x20 ||
				    (unsigned char)out[k] >= 0x7f) {
					print_error("injection case %zu/%zu: "
						    "got byte 0x%02x at %zu, "
						    "want printable\n",
						    i, j, (unsigned char)out[k],
						    k);
					failures++;
					break;
				}
			if (!printable(r.line)) {
				print_error("injection case %zu/%zu: reply "
					    "got \"%s\", want printable\n",
					    i, j, r.line);
				failures++;
			}
			free(out);
		}
	}
	assert_int_equal(failures, 0);
}

/* main - run the verdict tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builders),
	    cmocka_unit_test(test_set_long_text),
	    cmocka_unit_test(test_action_names),
	    cmocka_unit_test(test_codes),
	    cmocka_unit_test(test_action_code_mismatch),
	    cmocka_unit_test(test_dunno_accept),
	    cmocka_unit_test(test_text_printable),
	    cmocka_unit_test(test_text_long),
	    cmocka_unit_test(test_switches),
	    cmocka_unit_test(test_log_line),
	    cmocka_unit_test(test_log_off),
	    cmocka_unit_test(test_log_injection),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
