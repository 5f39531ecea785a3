/*
 * test_policy - unit tests for the parser half of frontend/policy: the
 * Postfix policy delegation request parser (pol_parser_new, pol_feed,
 * pol_error, pol_stage_known, pol_in_request).
 *
 * Every input is fed three ways (whole, one byte at a time, seven bytes
 * at a time) and must give the same results.  Every malformed request
 * that the parser can re-synchronise after is followed by a valid one,
 * which must parse as if it came first.
 *
 * Memory/threading: test-only, single-threaded; inputs are built in
 * malloc'd buffers.  Failures print "got X, want Y" with the case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/txn.h"
#include "frontend/policy.h"

/* The limits of a default pushback.conf. */
static const pol_limits def_lim = {4096, 256, 65536};

/* A complete request as Postfix 3.x sends it (SMTPD_POLICY_README). */
static const char full_request[] = "request=smtpd_access_policy\n"
				   "protocol_state=RCPT\n"
				   "protocol_name=ESMTP\n"
				   "helo_name=mx.example.net\n"
				   "queue_id=8045F2AB23\n"
				   "sender=alice@example.net\n"
				   "recipient=bob@example.org\n"
				   "recipient_count=3\n"
				   "client_address=192.0.2.10\n"
				   "client_name=mx.example.net\n"
				   "reverse_client_name=mx.example.net\n"
				   "instance=123.456.7\n"
				   "sasl_method=plain\n"
				   "sasl_username=alice\n"
				   "sasl_sender=\n"
				   "size=12345\n"
				   "ccert_subject=\n"
				   "ccert_issuer=\n"
				   "ccert_fingerprint=\n"
				   "ccert_pubkey_fingerprint=\n"
				   "encryption_protocol=TLSv1.3\n"
				   "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
				   "encryption_keysize=256\n"
				   "etrn_domain=\n"
				   "stress=\n"
				   "client_port=54321\n"
				   "policy_context=\n"
				   "server_address=198.51.100.1\n"
				   "server_port=25\n"
				   "compatibility_level=3.6\n"
				   "mail_version=3.7.11\n"
				   "\n";

/* What full_request must put in the txn. */
static const struct want_txn {
	const char *id, *queue_id, *client_address, *client_name, *helo,
	    *sasl_username, *sender, *recipient;
	pb_stage stage;
	bool stage_known;
	unsigned rcpt_count;
} full_want = {"123.456.7",
	       "8045F2AB23",
	       "192.0.2.10",
	       "mx.example.net",
	       "mx.example.net",
	       "alice",
	       "alice@example.net",
	       "bob@example.org",
	       PB_STAGE_RCPT,
	       true,
	       3};

/* A second, different request, used after every malformed one. */
static const char next_request[] = "request=smtpd_access_policy\n"
				   "protocol_state=MAIL\n"
				   "sender=next@example.com\n"
				   "client_address=203.0.113.5\n"
				   "\n";

static const struct want_txn next_want = {
    "",	  "", "203.0.113.5", "", "", "", "next@example.com", "", PB_STAGE_MAIL,
    true, 0};

/* ---- running the parser -----------------------------------------------
 */

#define MAX_RESULTS 8

typedef struct result {
	pol_status st;
	size_t end; /* offset in the input just after the request */
	pb_txn txn; /* copy taken when the request completed */
	bool stage_known;
	char error[160];
} result;

typedef struct run {
	size_t n;
	result r[MAX_RESULTS];
	bool in_request; /* pol_in_request after the last byte */
	bool used_bad;	 /* a call reported an impossible *used */
} run;

static const char *const status_names[] = {
    [POL_MORE] = "MORE",
    [POL_REQUEST] = "REQUEST",
    [POL_BAD] = "BAD",
    [POL_FATAL] = "FATAL",
};

/* sname - printable status */
static const char *sname(pol_status st)
{
	return (unsigned)st <= POL_FATAL ? status_names[st] : "?";
}

/* feed - run a new parser over buf in pieces of at most step bytes, the
 * way pol_serve does; stop after a FATAL (the server closes then). */
static void feed(const pol_limits *lim, const char *buf, size_t len,
		 size_t step, run *out)
{
	pb_txn txn;
	pol_parser *p = pol_parser_new(lim, &txn);
	size_t base = 0;

	memset(out, 0, sizeof(*out));
	if (p == NULL)
		fail_msg("pol_parser_new: got NULL, want a parser");
	while (base < len) {
		size_t n = len - base < step ? len - base : step;
		size_t off = 0;
		bool fatal = false;

		while (off < n) {
			size_t used = (size_t)-1;
			pol_status st =
			    pol_feed(p, buf + base + off, n - off, &used);

			if (used > n - off ||
			    (st == POL_MORE && used != n - off))
				out->used_bad = true;
			if (used > n - off)
				used = n - off;
			off += used;
			if (st == POL_MORE)
				break;
			if (out->n < MAX_RESULTS) {
				result *r = &out->r[out->n++];

				r->st = st;
				r->end = base + off;
				r->txn = txn;
				r->stage_known = pol_stage_known(p);
				snprintf(r->error, sizeof(r->error), "%s",
					 pol_error(p) ? pol_error(p) : "");
			}
			if (st == POL_FATAL) {
				fatal = true;
				break;
			}
			if (used == 0) { /* no progress: a parser bug */
				out->used_bad = true;
				break;
			}
		}
		if (fatal || out->used_bad)
			break;
		base += n;
	}
	out->in_request = pol_in_request(p);
	pol_parser_free(&p);
	if (p != NULL)
		fail_msg("pol_parser_free: got the pointer kept, want NULL");
}

/* txn_ok - compare the facts of one request with what is wanted. */
static bool txn_ok(const char *label, const result *r, const struct want_txn *w)
{
	static const struct {
		const char *name;
		size_t got_off;
		size_t want_off;
	} fields[] = {
#define FLD(f, wf) {#wf, offsetof(pb_txn, f), offsetof(struct want_txn, wf)}
	    FLD(id, id),
	    FLD(queue_id, queue_id),
	    FLD(client_address, client_address),
	    FLD(client_name, client_name),
	    FLD(helo, helo),
	    FLD(sasl_username, sasl_username),
	    FLD(sender, sender),
	    FLD(recipient, recipient),
#undef FLD
	};
	bool ok = true;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *got = (const char *)&r->txn + fields[i].got_off;
		const char *want =
		    *(const char *const *)(const void *)((const char *)w +
							 fields[i].want_off);

		if (strcmp(got, want) != 0) {
			print_error("%s: %s: got \"%s\", want \"%s\"\n", label,
				    fields[i].name, got, want);
			ok = false;
		}
	}
	if (r->stage_known != w->stage_known) {
		print_error("%s: stage_known: got %d, want %d\n", label,
			    r->stage_known, w->stage_known);
		ok = false;
	}
	if (w->stage_known && r->txn.stage != w->stage) {
		print_error("%s: stage: got %s, want %s\n", label,
			    pb_stage_name(r->txn.stage),
			    pb_stage_name(w->stage));
		ok = false;
	}
	if (r->txn.rcpt_count != w->rcpt_count) {
		print_error("%s: rcpt_count: got %u, want %u\n", label,
			    r->txn.rcpt_count, w->rcpt_count);
		ok = false;
	}
	return ok;
}

/* steps - the three ways every input is fed. */
static const size_t steps[] = {(size_t)-1, 1, 7};

/* txn_same - the same facts: the fixed part byte for byte, the kept
 * recipients and header fields as strings (the rest of those arrays is
 * not cleared between requests). */
static bool txn_same(const pb_txn *a, const pb_txn *b)
{
	if (memcmp(a, b, offsetof(pb_txn, n_rcpts)) != 0 ||
	    a->n_rcpts != b->n_rcpts || strcmp(a->hdr_from, b->hdr_from) != 0 ||
	    strcmp(a->hdr_reply_to, b->hdr_reply_to) != 0 ||
	    strcmp(a->hdr_sender, b->hdr_sender) != 0)
		return false;
	for (unsigned i = 0; i < a->n_rcpts; i++)
		if (strcmp(a->rcpts[i], b->rcpts[i]) != 0)
			return false;
	return true;
}

/* expect_run - feed buf three ways; each must give the statuses want[]
 * (and, for the whole-buffer run, end offsets ends[] when given).
 * Returns the number of failures; *whole gets the whole-buffer run. */
static int expect_run(const char *label, const pol_limits *lim, const char *buf,
		      size_t len, const pol_status *want, size_t n_want,
		      run *whole)
{
	int failures = 0;

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		run *got = malloc(sizeof(*got));
		char lab[160];
		bool ok = true;

		assert_non_null(got);
		snprintf(lab, sizeof(lab), "%s [%s]", label,
			 s == 0	  ? "whole"
			 : s == 1 ? "1 byte"
				  : "7 bytes");
		feed(lim, buf, len, steps[s], got);
		if (got->used_bad) {
			print_error("%s: *used: got a value past the input or "
				    "short on MORE, want 0..len\n",
				    lab);
			ok = false;
		}
		if (got->n != n_want) {
			print_error("%s: got %zu result(s), want %zu\n", lab,
				    got->n, n_want);
			for (size_t i = 0; i < got->n; i++)
				print_error("%s:   result %zu: %s (%s)\n", lab,
					    i, sname(got->r[i].st),
					    got->r[i].error);
			ok = false;
		} else {
			for (size_t i = 0; i < n_want; i++)
				if (got->r[i].st != want[i]) {
					print_error("%s: result %zu: got %s "
						    "(%s), want %s\n",
						    lab, i, sname(got->r[i].st),
						    got->r[i].error,
						    sname(want[i]));
					ok = false;
				}
		}
		if (s == 0 && whole != NULL)
			*whole = *got;
		if (s > 0 && ok && whole != NULL) {
			/* the same facts whatever the pieces */
			for (size_t i = 0; i < got->n; i++)
				if (!txn_same(&got->r[i].txn,
					      &whole->r[i].txn) &&
				    want[i] == POL_REQUEST) {
					print_error("%s: result %zu: got other "
						    "facts than fed whole\n",
						    lab, i);
					ok = false;
				}
		}
		if (!ok)
			failures++;
		free(got);
	}
	return failures;
}

/* ---- well-formed requests ---------------------------------------------
 */

/* test_full_request - every field Postfix sends lands where it should. */
static void test_full_request(void **state)
{
	static const pol_status want[] = {POL_REQUEST};
	run *r = malloc(sizeof(*r));
	int failures;

	(void)state;
	assert_non_null(r);
	failures = expect_run("full request", &def_lim, full_request,
			      sizeof(full_request) - 1, want, 1, r);
	if (r->n == 1) {
		if (!txn_ok("full request", &r->r[0], &full_want))
			failures++;
		if (r->r[0].end != sizeof(full_request) - 1) {
			print_error("full request: used: got %zu, want %zu\n",
				    r->r[0].end, sizeof(full_request) - 1);
			failures++;
		}
	}
	if (r->in_request) {
		print_error("full request: pol_in_request after it: got true, "
			    "want false\n");
		failures++;
	}
	free(r);
	assert_int_equal(failures, 0);
}

/* test_full_request_steps - one byte at a time gives the same facts (the
 * comparison with the whole-buffer run is in expect_run; this checks the
 * byte-at-a-time facts against the wanted ones directly too). */
static void test_full_request_steps(void **state)
{
	run *r = malloc(sizeof(*r));
	int failures = 0;

	(void)state;
	assert_non_null(r);
	for (size_t step = 1; step <= 64; step++) {
		char label[64];

		snprintf(label, sizeof(label), "full request, %zu-byte pieces",
			 step);
		feed(&def_lim, full_request, sizeof(full_request) - 1, step, r);
		if (r->n != 1 || r->r[0].st != POL_REQUEST) {
			print_error("%s: got %zu result(s), first %s, want 1 "
				    "REQUEST\n",
				    label, r->n,
				    r->n ? sname(r->r[0].st) : "-");
			failures++;
			continue;
		}
		if (!txn_ok(label, &r->r[0], &full_want))
			failures++;
	}
	free(r);
	assert_int_equal(failures, 0);
}

/* test_crlf - CRLF line ends are tolerated; no CR lands in a fact. */
static void test_crlf(void **state)
{
	static const pol_status want[] = {POL_REQUEST, POL_REQUEST};
	char buf[4096];
	size_t o = 0;
	run *r = malloc(sizeof(*r));
	int failures;

	(void)state;
	assert_non_null(r);
	for (size_t i = 0; i < sizeof(full_request) - 1; i++) {
		if (full_request[i] == '\n')
			buf[o++] = '\r';
		buf[o++] = full_request[i];
	}
	memcpy(buf + o, next_request, sizeof(next_request) - 1);
	o += sizeof(next_request) - 1;
	failures = expect_run("CRLF", &def_lim, buf, o, want, 2, r);
	if (r->n == 2) {
		if (!txn_ok("CRLF", &r->r[0], &full_want))
			failures++;
		if (!txn_ok("CRLF then LF", &r->r[1], &next_want))
			failures++;
	}
	free(r);
	assert_int_equal(failures, 0);
}

/* test_two_requests - two requests in one buffer: two results, *used
 * ends the first exactly at its empty line, and no fact of the first
 * leaks into the second. */
static void test_two_requests(void **state)
{
	static const pol_status want[] = {POL_REQUEST, POL_REQUEST};
	size_t l1 = sizeof(full_request) - 1, l2 = sizeof(next_request) - 1;
	char *buf = malloc(l1 + l2);
	run *r = malloc(sizeof(*r));
	int failures;

	(void)state;
	assert_non_null(buf);
	assert_non_null(r);
	memcpy(buf, full_request, l1);
	memcpy(buf + l1, next_request, l2);
	failures =
	    expect_run("two requests", &def_lim, buf, l1 + l2, want, 2, r);
	if (r->n == 2) {
		if (r->r[0].end != l1 || r->r[1].end != l1 + l2) {
			print_error("two requests: ends: got %zu, %zu, want "
				    "%zu, %zu\n",
				    r->r[0].end, r->r[1].end, l1, l1 + l2);
			failures++;
		}
		if (!txn_ok("two requests, first", &r->r[0], &full_want))
			failures++;
		if (!txn_ok("two requests, second", &r->r[1], &next_want))
			failures++;
	}
	free(r);
	free(buf);
	assert_int_equal(failures, 0);
}

/* test_used - *used, called directly: the first request's bytes, then
 * the rest; MORE consumes everything. */
static void test_used(void **state)
{
	size_t l1 = sizeof(next_request) - 1;
	char buf[256];
	pb_txn txn;
	pol_parser *p = pol_parser_new(&def_lim, &txn);
	size_t used = 0;
	pol_status st;

	(void)state;
	assert_non_null(p);
	assert_true(2 * l1 + 10 < sizeof(buf));
	memcpy(buf, next_request, l1);
	memcpy(buf + l1, next_request, l1);
	memcpy(buf + 2 * l1, "request=sm", 10);

	if (pol_in_request(p))
		fail_msg("new parser: pol_in_request: got true, want false");
	st = pol_feed(p, buf, 2 * l1 + 10, &used);
	if (st != POL_REQUEST || used != l1)
		fail_msg("first: got %s used %zu, want REQUEST used %zu",
			 sname(st), used, l1);
	st = pol_feed(p, buf + l1, l1 + 10, &used);
	if (st != POL_REQUEST || used != l1)
		fail_msg("second: got %s used %zu, want REQUEST used %zu",
			 sname(st), used, l1);
	if (strcmp(txn.sender, "next@example.com") != 0)
		fail_msg("second: sender: got \"%s\", want "
			 "\"next@example.com\"",
			 txn.sender);
	st = pol_feed(p, buf + 2 * l1, 10, &used);
	if (st != POL_MORE || used != 10)
		fail_msg("partial: got %s used %zu, want MORE used 10",
			 sname(st), used);
	if (!pol_in_request(p))
		fail_msg("partial: pol_in_request: got false, want true");
	st = pol_feed(p, "rocol\n\n", 0, &used);
	if (st != POL_MORE || used != 0)
		fail_msg("empty feed: got %s used %zu, want MORE used 0",
			 sname(st), used);
	pol_parser_free(&p);
	pol_parser_free(&p); /* NULL is accepted */
}

/* Stages Postfix names in protocol_state. */
static const struct stage_case {
	const char *state;
	bool known;
	pb_stage stage;
} stage_cases[] = {
    {"CONNECT", true, PB_STAGE_CONNECT},    {"EHLO", true, PB_STAGE_HELO},
    {"HELO", true, PB_STAGE_HELO},	    {"MAIL", true, PB_STAGE_MAIL},
    {"RCPT", true, PB_STAGE_RCPT},	    {"DATA", true, PB_STAGE_DATA},
    {"END-OF-MESSAGE", true, PB_STAGE_EOM}, {"VRFY", false, PB_STAGE_CONNECT},
    {"ETRN", false, PB_STAGE_CONNECT},	    {"", false, PB_STAGE_CONNECT},
    {"RCPTX", false, PB_STAGE_CONNECT},	    {"RCP", false, PB_STAGE_CONNECT},
    {"RCPT ", false, PB_STAGE_CONNECT},
};

/* test_stages - protocol_state to stage; unknown states are not known. */
static void test_stages(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(stage_cases) / sizeof(stage_cases[0]);
	     i++) {
		const struct stage_case *c = &stage_cases[i];
		static const pol_status want[] = {POL_REQUEST};
		char buf[256], label[64];
		run *r = malloc(sizeof(*r));
		int n;

		assert_non_null(r);
		n = snprintf(buf, sizeof(buf),
			     "request=smtpd_access_policy\nprotocol_state=%s\n"
			     "recipient=a@example.org\n\n",
			     c->state);
		snprintf(label, sizeof(label), "protocol_state=\"%s\"",
			 c->state);
		failures +=
		    expect_run(label, &def_lim, buf, (size_t)n, want, 1, r);
		if (r->n == 1 && r->r[0].stage_known != c->known) {
			print_error("%s: stage_known: got %d, want %d\n", label,
				    r->r[0].stage_known, c->known);
			failures++;
		}
		if (r->n == 1 && c->known && r->r[0].txn.stage != c->stage) {
			print_error("%s: stage: got %s, want %s\n", label,
				    pb_stage_name(r->r[0].txn.stage),
				    pb_stage_name(c->stage));
			failures++;
		}
		free(r);
	}
	assert_int_equal(failures, 0);
}

/* test_stage_not_kept - a request without protocol_state does not keep
 * the previous request's stage. */
static void test_stage_not_kept(void **state)
{
	static const char in[] = "request=smtpd_access_policy\n"
				 "protocol_state=RCPT\n"
				 "recipient=a@example.org\n"
				 "\n"
				 "request=smtpd_access_policy\n"
				 "sender=b@example.org\n"
				 "\n";
	static const pol_status want[] = {POL_REQUEST, POL_REQUEST};
	run *r = malloc(sizeof(*r));
	int failures;

	(void)state;
	assert_non_null(r);
	failures = expect_run("stage not kept", &def_lim, in, sizeof(in) - 1,
			      want, 2, r);
	if (r->n == 2) {
		if (r->r[1].stage_known) {
			print_error("second request: stage_known: got true, "
				    "want false\n");
			failures++;
		}
		if (r->r[1].txn.recipient[0] != '\0') {
			print_error("second request: recipient: got \"%s\", "
				    "want \"\"\n",
				    r->r[1].txn.recipient);
			failures++;
		}
	}
	free(r);
	assert_int_equal(failures, 0);
}

/* Small well-formed requests and what they must hold. */
static const struct value_case {
	const char *label;
	const char *in;
	const char *sender;
	const char *recipient;
	unsigned rcpt_count;
} value_cases[] = {
    {"null sender", "request=smtpd_access_policy\nsender=\n\n", "", "", 0},
    {"'=' in a value",
     "request=smtpd_access_policy\nsender=a=b@example.org\n\n",
     "a=b@example.org", "", 0},
    {"unknown attributes",
     "request=smtpd_access_policy\nx_future=1\nfoo=bar=baz\nempty=\n"
     "sender=s@example.org\nstress=yes\n\n",
     "s@example.org", "", 0},
    {"request= last",
     "recipient=r@example.org\nsender=s@example.org\n"
     "request=smtpd_access_policy\n\n",
     "s@example.org", "r@example.org", 0},
    {"spaces kept in a value",
     "request=smtpd_access_policy\nsender= s@example.org \n\n",
     " s@example.org ", "", 0},
    {"recipient_count 0", "request=smtpd_access_policy\nrecipient_count=0\n\n",
     "", "", 0},
    {"recipient_count 1000",
     "request=smtpd_access_policy\nrecipient_count=1000\n\n", "", "", 1000},
    {"recipient_count junk",
     "request=smtpd_access_policy\nrecipient_count=abc\n\n", "", "", 0},
    {"minimal", "request=smtpd_access_policy\n\n", "", "", 0},
};

/* test_values - small requests, their facts. */
static void test_values(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]);
	     i++) {
		const struct value_case *c = &value_cases[i];
		static const pol_status want[] = {POL_REQUEST};
		run *r = malloc(sizeof(*r));

		assert_non_null(r);
		failures += expect_run(c->label, &def_lim, c->in, strlen(c->in),
				       want, 1, r);
		if (r->n == 1) {
			if (strcmp(r->r[0].txn.sender, c->sender) != 0) {
				print_error("%s: sender: got \"%s\", want "
					    "\"%s\"\n",
					    c->label, r->r[0].txn.sender,
					    c->sender);
				failures++;
			}
			if (strcmp(r->r[0].txn.recipient, c->recipient) != 0) {
				print_error("%s: recipient: got \"%s\", want "
					    "\"%s\"\n",
					    c->label, r->r[0].txn.recipient,
					    c->recipient);
				failures++;
			}
			if (r->r[0].txn.rcpt_count != c->rcpt_count) {
				print_error("%s: rcpt_count: got %u, want "
					    "%u\n",
					    c->label, r->r[0].txn.rcpt_count,
					    c->rcpt_count);
				failures++;
			}
		}
		free(r);
	}
	assert_int_equal(failures, 0);
}

/* ---- malformed requests -----------------------------------------------
 */

/* A malformed request, built by a function so that long inputs need no
 * long literals.  Each is fed alone, then followed by next_request. */
typedef struct bad_case {
	const char *label;
	const pol_limits *lim;
	pol_status want; /* POL_BAD or POL_FATAL (or POL_REQUEST at a bound) */
	char *(*build)(size_t *len, size_t arg);
	size_t arg;
	const char *text; /* when build is NULL */
	size_t text_len;  /* 0: strlen */
} bad_case;

static const pol_limits small_lim = {64, 8, 256};

/* mk_lit - a copy of a literal (for a table entry with text). */
static char *mk_lit(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);

	assert_non_null(b);
	memcpy(b, s, len);
	return b;
}

/* mk_line - a request with one attribute line of exactly arg bytes
 * (name "x_long", value filled). */
static char *mk_line(size_t *len, size_t arg)
{
	static const char head[] = "request=smtpd_access_policy\n";
	char *b = malloc(sizeof(head) + arg + 2);

	assert_non_null(b);
	assert_true(arg >= 8);
	memcpy(b, head, sizeof(head) - 1);
	memcpy(b + sizeof(head) - 1, "x_long=", 7);
	memset(b + sizeof(head) - 1 + 7, 'v', arg - 7);
	memcpy(b + sizeof(head) - 1 + arg, "\n\n", 2);
	*len = sizeof(head) - 1 + arg + 2;
	return b;
}

/* mk_line_mid - an over-long line (arg bytes) between other lines, so
 * the parser must skip it and still find the request's empty line. */
static char *mk_line_mid(size_t *len, size_t arg)
{
	static const char head[] = "request=smtpd_access_policy\nsender=a@b\n";
	static const char tail[] = "recipient=c@d\n\n";
	char *b = malloc(sizeof(head) + arg + sizeof(tail));
	size_t o = 0;

	assert_non_null(b);
	memcpy(b, head, sizeof(head) - 1);
	o = sizeof(head) - 1;
	memset(b + o, 'z', arg); /* no '=' either */
	o += arg;
	b[o++] = '\n';
	memcpy(b + o, tail, sizeof(tail) - 1);
	*len = o + sizeof(tail) - 1;
	return b;
}

/* mk_attrs - a request of arg attribute lines in all (request= first). */
static char *mk_attrs(size_t *len, size_t arg)
{
	size_t cap = 32 + arg * 16, o;
	char *b = malloc(cap);

	assert_non_null(b);
	o = (size_t)snprintf(b, cap, "request=smtpd_access_policy\n");
	for (size_t i = 1; i < arg; i++)
		o += (size_t)snprintf(b + o, cap - o, "x%zu=1\n", i);
	b[o++] = '\n';
	*len = o;
	return b;
}

/* mk_size - a request of exactly arg bytes, newlines included, made of
 * lines short enough for max_line and few enough for max_attributes (so
 * only max_request can refuse it). */
static char *mk_size(size_t *len, size_t arg)
{
	static const char head[] = "request=smtpd_access_policy\n";
	size_t step = arg > 4096 ? 3000 : 40;
	char *b = malloc(arg);
	size_t o = sizeof(head) - 1, room;

	assert_non_null(b);
	assert_true(arg > sizeof(head) + 4);
	memcpy(b, head, o);
	while ((room = arg - 1 - o) > 0) { /* bytes before the final "\n" */
		size_t l = room > step + 4 ? step : room;

		b[o] = 'y';
		b[o + 1] = '=';
		memset(b + o + 2, 'w', l - 3);
		b[o + l - 1] = '\n';
		o += l;
	}
	b[o++] = '\n';
	*len = o;
	return b;
}

/* mk_endless - arg bytes of short lines and no empty line at all. */
static char *mk_endless(size_t *len, size_t arg)
{
	char *b = malloc(arg);

	assert_non_null(b);
	for (size_t i = 0; i < arg; i++)
		b[i] = (i % 20 == 19) ? '\n' : 'e';
	*len = arg;
	return b;
}

/* mk_sender - a request with a sender of arg bytes. */
static char *mk_sender(size_t *len, size_t arg)
{
	static const char head[] = "request=smtpd_access_policy\nsender=";
	char *b = malloc(sizeof(head) + arg + 2);

	assert_non_null(b);
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 's', arg);
	if (arg > 12)
		memcpy(b + sizeof(head) - 1 + arg - 12, "@example.org", 12);
	memcpy(b + sizeof(head) - 1 + arg, "\n\n", 2);
	*len = sizeof(head) - 1 + arg + 2;
	return b;
}

/* mk_client - a request with a client_address of arg bytes. */
static char *mk_client(size_t *len, size_t arg)
{
	static const char head[] =
	    "request=smtpd_access_policy\nclient_address=";
	char *b = malloc(sizeof(head) + arg + 2);

	assert_non_null(b);
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, '1', arg);
	memcpy(b + sizeof(head) - 1 + arg, "\n\n", 2);
	*len = sizeof(head) - 1 + arg + 2;
	return b;
}

/* mk_recipient - a request with a recipient of arg bytes. */
static char *mk_recipient(size_t *len, size_t arg)
{
	static const char head[] = "request=smtpd_access_policy\nrecipient=";
	char *b = malloc(sizeof(head) + arg + 2);

	assert_non_null(b);
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 'r', arg);
	memcpy(b + sizeof(head) - 1 + arg, "\n\n", 2);
	*len = sizeof(head) - 1 + arg + 2;
	return b;
}

#define LIT(s) NULL, 0, s, sizeof(s) - 1

static const bad_case bad_cases[] = {
    /* request= */
    {"missing request=", &def_lim, POL_BAD,
     LIT("sender=a@example.org\nrecipient=b@example.org\n\n")},
    {"request=other", &def_lim, POL_BAD,
     LIT("request=junk_policy\nsender=a@example.org\n\n")},
    {"request= empty", &def_lim, POL_BAD, LIT("request=\n\n")},
    {"request= longer", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policyX\n\n")},
    {"request= shorter", &def_lim, POL_BAD,
     LIT("request=smtpd_access_polic\n\n")},
    {"request= case", &def_lim, POL_BAD,
     LIT("request=SMTPD_ACCESS_POLICY\n\n")},
    {"request= then other", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policy\nrequest=other\n\n")},
    {"only unknown attributes", &def_lim, POL_BAD, LIT("foo=bar\n\n")},
    /* line shape */
    {"line without '='", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policy\nthis is not an attribute\n\n")},
    {"line without '=' first", &def_lim, POL_BAD,
     LIT("garbage\nrequest=smtpd_access_policy\n\n")},
    {"empty name", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policy\n=value\n\n")},
    {"empty name, empty value", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policy\n=\n\n")},
    {"empty request", &def_lim, POL_BAD, LIT("\n")},
    {"empty request CRLF", &def_lim, POL_BAD, LIT("\r\n")},
    {"HTTP request", &def_lim, POL_BAD,
     LIT("GET / HTTP/1.0\r\nHost: x\r\n\r\n")},
    /* NUL bytes */
    {"NUL in a value", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policy\nsender=a\0b@example.org\n\n")},
    {"NUL in a name", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policy\nsen\0der=a@example.org\n\n")},
    {"NUL in an unknown attribute", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policy\nfoo=\0\n\n")},
    {"NUL alone on a line", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policy\n\0\n\n")},
    {"NUL in request=", &def_lim, POL_BAD,
     LIT("request=smtpd_access_policy\0\n\n")},
    /* max_line (64 in small_lim, 4096 by default) */
    {"line of max_line bytes", &small_lim, POL_REQUEST, mk_line, 64, NULL, 0},
    {"line of max_line+1 bytes", &small_lim, POL_BAD, mk_line, 65, NULL, 0},
    {"line of 4096 bytes", &def_lim, POL_REQUEST, mk_line, 4096, NULL, 0},
    {"line of 4097 bytes", &def_lim, POL_BAD, mk_line, 4097, NULL, 0},
    {"line of 60000 bytes", &def_lim, POL_BAD, mk_line, 60000, NULL, 0},
    {"over-long line in the middle", &small_lim, POL_BAD, mk_line_mid, 100,
     NULL, 0},
    {"over-long line in the middle, default", &def_lim, POL_BAD, mk_line_mid,
     10000, NULL, 0},
    /* max_attributes (8 in small_lim, 256 by default) */
    {"max_attributes lines", &small_lim, POL_REQUEST, mk_attrs, 8, NULL, 0},
    {"max_attributes+1 lines", &small_lim, POL_BAD, mk_attrs, 9, NULL, 0},
    {"256 attributes", &def_lim, POL_REQUEST, mk_attrs, 256, NULL, 0},
    {"257 attributes", &def_lim, POL_BAD, mk_attrs, 257, NULL, 0},
    {"3000 attributes", &def_lim, POL_BAD, mk_attrs, 3000, NULL, 0},
    /* max_request (256 in small_lim, 65536 by default) */
    {"request of max_request bytes", &small_lim, POL_REQUEST, mk_size, 256,
     NULL, 0},
    {"request of max_request+1 bytes", &small_lim, POL_FATAL, mk_size, 257,
     NULL, 0},
    {"request of 65536 bytes", &def_lim, POL_REQUEST, mk_size, 65536, NULL, 0},
    {"request of 65537 bytes", &def_lim, POL_FATAL, mk_size, 65537, NULL, 0},
    {"no empty line, 70000 bytes", &def_lim, POL_FATAL, mk_endless, 70000, NULL,
     0},
    {"over-long line past max_request", &small_lim, POL_FATAL, mk_line, 300,
     NULL, 0},
    /* values too long for their txn field */
    {"sender of 2000 bytes", &def_lim, POL_REQUEST, mk_sender, 2000, NULL, 0},
    {"sender of PB_TXN_ADDR_MAX-1 bytes", &def_lim, POL_REQUEST, mk_sender,
     PB_TXN_ADDR_MAX - 1, NULL, 0},
    {"sender of PB_TXN_ADDR_MAX bytes", &def_lim, POL_BAD, mk_sender,
     PB_TXN_ADDR_MAX, NULL, 0},
    {"recipient of 4000 bytes", &def_lim, POL_BAD, mk_recipient, 4000, NULL, 0},
    {"client_address of 63 bytes", &def_lim, POL_REQUEST, mk_client, 63, NULL,
     0},
    {"client_address of 64 bytes", &def_lim, POL_BAD, mk_client, 64, NULL, 0},
};

/* build_case - the input bytes of a bad_case (malloc'd). */
static char *build_case(const bad_case *c, size_t *len)
{
	if (c->build != NULL)
		return c->build(len, c->arg);
	*len = c->text_len;
	return mk_lit(c->text, c->text_len);
}

/* test_malformed - each case alone, then followed by a valid request on
 * the same parser: the valid one parses as if it came first. */
static void test_malformed(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const bad_case *c = &bad_cases[i];
		size_t len, nl = sizeof(next_request) - 1;
		char *in = build_case(c, &len);
		char *both = malloc(len + nl);
		pol_status want2[2] = {c->want, POL_REQUEST};
		char label[128];
		run *r = malloc(sizeof(*r));

		assert_non_null(both);
		assert_non_null(r);
		memcpy(both, in, len);
		memcpy(both + len, next_request, nl);

		snprintf(label, sizeof(label), "%s", c->label);
		failures += expect_run(label, c->lim, in, len, want2, 1, r);
		if (c->want != POL_REQUEST && r->n >= 1 &&
		    r->r[0].error[0] == '\0') {
			print_error("%s: pol_error: got \"\", want a reason\n",
				    c->label);
			failures++;
		}
		if (c->want != POL_FATAL) {
			snprintf(label, sizeof(label), "%s, then a request",
				 c->label);
			failures += expect_run(label, c->lim, both, len + nl,
					       want2, 2, r);
			if (r->n == 2) {
				if (r->r[0].end != len) {
					print_error("%s: first ends at: got "
						    "%zu, want %zu\n",
						    label, r->r[0].end, len);
					failures++;
				}
				if (!txn_ok(label, &r->r[1], &next_want))
					failures++;
			}
		}
		free(r);
		free(both);
		free(in);
	}
	assert_int_equal(failures, 0);
}

/* test_fatal_used - after FATAL, *used never runs past the input and the
 * parser says so through pol_error. */
static void test_fatal_used(void **state)
{
	size_t len;
	char *in = mk_endless(&len, 1000);
	pb_txn txn;
	pol_parser *p = pol_parser_new(&small_lim, &txn);
	size_t used = (size_t)-1;
	pol_status st;

	(void)state;
	assert_non_null(p);
	st = pol_feed(p, in, len, &used);
	free(in);
	if (st != POL_FATAL)
		fail_msg("got %s, want FATAL", sname(st));
	if (used > len)
		fail_msg("*used: got %zu, want <= %zu", used, len);
	if (pol_error(p) == NULL || pol_error(p)[0] == '\0')
		fail_msg("pol_error: got \"\", want a reason");
	pol_parser_free(&p);
}

/* test_bad_reason - pol_error says what was wrong with a BAD request. */
static void test_bad_reason(void **state)
{
	static const struct {
		const char *in;
		const char *want; /* a word of pol_error */
	} cases[] = {
	    {"request=smtpd_access_policy\nnoequals\n\n", "="},
	    {"request=smtpd_access_policy\n=v\n\n", "="},
	    {"sender=a@b\n\n", "request"},
	    {"\n", "empty"},
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run *r = malloc(sizeof(*r));

		assert_non_null(r);
		feed(&def_lim, cases[i].in, strlen(cases[i].in), (size_t)-1, r);
		if (r->n != 1 || r->r[0].st != POL_BAD) {
			print_error("reason case %zu: got %zu result(s) %s, "
				    "want BAD\n",
				    i, r->n, r->n ? sname(r->r[0].st) : "-");
			failures++;
		} else if (strstr(r->r[0].error, cases[i].want) == NULL) {
			print_error("reason case %zu: pol_error: got \"%s\", "
				    "want it to hold \"%s\"\n",
				    i, r->r[0].error, cases[i].want);
			failures++;
		}
		free(r);
	}
	assert_int_equal(failures, 0);
}

/* test_in_request - pol_in_request follows the bytes of an unfinished
 * request, and not the bytes of a finished one. */
static void test_in_request(void **state)
{
	static const struct {
		const char *in;
		bool want;
	} cases[] = {
	    {"", false},
	    {"r", true},
	    {"request=smtpd_access_policy\n", true},
	    {"request=smtpd_access_policy\n\n", false},
	    {"request=smtpd_access_policy\n\nsender", true},
	    {"junk\n\n", false},
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			run *r = malloc(sizeof(*r));

			assert_non_null(r);
			feed(&def_lim, cases[i].in, strlen(cases[i].in),
			     steps[s], r);
			if (r->in_request != cases[i].want) {
				print_error("in_request \"%s\" step %zu: got "
					    "%d, want %d\n",
					    cases[i].in, steps[s],
					    r->in_request, cases[i].want);
				failures++;
			}
			free(r);
		}
	}
	assert_int_equal(failures, 0);
}

/* test_many_requests - a long stream of alternating good and bad
 * requests on one parser keeps its footing. */
static void test_many_requests(void **state)
{
	static const char bad[] = "request=smtpd_access_policy\nnope\n\n";
	size_t lg = sizeof(next_request) - 1, lb = sizeof(bad) - 1;
	size_t n = 200, len = n * (lg + lb);
	char *buf = malloc(len);
	pb_txn txn;
	pol_parser *p = pol_parser_new(&def_lim, &txn);
	size_t off = 0, k = 0;
	int failures = 0;

	(void)state;
	assert_non_null(buf);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + i * (lg + lb), next_request, lg);
		memcpy(buf + i * (lg + lb) + lg, bad, lb);
	}
	while (off < len) {
		size_t used = 0;
		pol_status st = pol_feed(p, buf + off, len - off, &used);
		pol_status want = k % 2 == 0 ? POL_REQUEST : POL_BAD;

		if (used == 0)
			fail_msg("request %zu: no progress", k);
		off += used;
		if (st != want) {
			print_error("request %zu: got %s, want %s\n", k,
				    sname(st), sname(want));
			failures++;
		}
		if (st == POL_REQUEST &&
		    strcmp(txn.sender, "next@example.com") != 0) {
			print_error("request %zu: sender: got \"%s\", want "
				    "\"next@example.com\"\n",
				    k, txn.sender);
			failures++;
		}
		k++;
	}
	if (k != 2 * n) {
		print_error("got %zu results, want %zu\n", k, 2 * n);
		failures++;
	}
	pol_parser_free(&p);
	free(buf);
	assert_int_equal(failures, 0);
}

/* main - run the policy parser tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_request),
	    cmocka_unit_test(test_full_request_steps),
	    cmocka_unit_test(test_crlf),
	    cmocka_unit_test(test_two_requests),
	    cmocka_unit_test(test_used),
	    cmocka_unit_test(test_stages),
	    cmocka_unit_test(test_stage_not_kept),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_fatal_used),
	    cmocka_unit_test(test_bad_reason),
	    cmocka_unit_test(test_in_request),
	    cmocka_unit_test(test_many_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
