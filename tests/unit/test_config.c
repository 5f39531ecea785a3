/*
 * test_config - unit tests for core/config: the built-in defaults, every
 * key of pushback.conf, the listen list, the derived database path, and
 * errors that name FILE:LINE.
 *
 * Each test writes its configuration files into its own temporary
 * directory, removed afterwards.  Failures print "got X, want Y" with the
 * case that failed.
 * Memory/threading: test-only, single-threaded.
 */
#include <errno.h>
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

#include "core/config.h"
#include "core/log.h"

/* ---- helpers ----------------------------------------------------------
 */

typedef struct fixture {
	char dir[64];
	char path[128]; /* dir/pushback.conf */
} fixture;

/* setup - a fresh temporary directory. */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/pb-test-config-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/pushback.conf", f->dir);
	*state = f;
	return 0;
}

/* teardown - remove the file and the directory. */
static int teardown(void **state)
{
	fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* write_conf - replace the fixture's file with text. */
static void write_conf(const fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	if (fp == NULL)
		fail_msg("cannot write %s: %s", f->path, strerror(errno));
	if (fputs(text, fp) == EOF || fclose(fp) != 0)
		fail_msg("cannot write %s", f->path);
}

/* load_text - write text and load it; returns pb_config_load's result. */
static int load_text(const fixture *f, const char *text, pb_config *cfg,
		     const char **err)
{
	write_conf(f, text);
	*err = NULL;
	return pb_config_load(cfg, f->path, err);
}

#define EXPECT_INT(what, got, want)                                            \
	do {                                                                   \
		long long g_ = (long long)(got), w_ = (long long)(want);       \
		if (g_ != w_) {                                                \
			print_error("%s: got %lld, want %lld\n", (what), g_,   \
				    w_);                                       \
			failures++;                                            \
		}                                                              \
	} while (0)

#define EXPECT_STR(what, got, want)                                            \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (g_ == NULL || strcmp(g_, w_) != 0) {                       \
			print_error("%s: got \"%s\", want \"%s\"\n", (what),   \
				    g_ ? g_ : "(null)", w_);                   \
			failures++;                                            \
		}                                                              \
	} while (0)

/* ---- defaults ---------------------------------------------------------
 */

/* check_defaults - every field at its documented default. */
static int check_defaults(const pb_config *c, bool loaded)
{
	int failures = 0;

	EXPECT_STR("state_dir", c->state_dir, "/var/lib/pushback");
	EXPECT_INT("max_connections", c->max_connections, 256);
	EXPECT_INT("idle_timeout", c->idle_timeout, 300);
	EXPECT_INT("shadow", c->shadow, false);
	EXPECT_INT("soft_bounce", c->soft_bounce, false);
	EXPECT_INT("log", c->log_dest, PB_LOG_STDERR);
	EXPECT_INT("log_level", c->log_level, PB_LOG_INFO);
	EXPECT_INT("n_policy_listen", c->policy_listen.n, 1);
	if (c->policy_listen.n >= 1)
		EXPECT_STR("listen[0]", c->policy_listen.spec[0],
			   "inet:127.0.0.1:10040");
	EXPECT_INT("max_line_length", c->policy_max_line, 4096);
	EXPECT_INT("max_attributes", c->policy_max_attributes, 256);
	EXPECT_INT("max_request_size", c->policy_max_request, 65536);
	EXPECT_INT("on_error", c->on_error, PB_ON_ERROR_TEMPFAIL);
	EXPECT_STR("recipient_delimiter", c->recipient_delimiter, "+");
	EXPECT_INT("case_sensitive_local_parts", c->case_sensitive_local,
		   false);
	EXPECT_INT("busy_timeout", c->busy_timeout, 2000);
	EXPECT_INT("srs hash_length", c->srs_hash_length, 4);
	EXPECT_INT("srs min_hash_length", c->srs_min_hash_length, 4);
	EXPECT_INT("srs max_age", c->srs_max_age, 21);
	EXPECT_INT("srs separator", c->srs_separator, '=');
	EXPECT_INT("batv max_age", c->batv_max_age, 7);
	EXPECT_INT("srs off", c->srs_domain == NULL && c->srs_secrets == NULL,
		   1);
	EXPECT_INT("batv off", c->batv_secrets == NULL, 1);
	EXPECT_INT("protect empty", c->protect.n, 0);
	EXPECT_INT("no_bounces default", c->no_bounces.n, 5);
	EXPECT_INT("noreply in no_bounces",
		   pb_strlist_has(&c->no_bounces, "NoReply"), 1);
	EXPECT_INT("quarantine", c->quarantine, 0);
	EXPECT_INT("socketmap listeners", c->socketmap_listen.n, 1);
	if (c->socketmap_listen.n >= 1)
		EXPECT_STR("socketmap listen", c->socketmap_listen.spec[0],
			   "inet:127.0.0.1:10041");
	for (int m = 0; m < PB_MAP_COUNT; m++)
		EXPECT_INT("tcp_table off", c->tcp_table[m] == NULL, 1);
	if (loaded)
		EXPECT_STR("database", c->database,
			   "/var/lib/pushback/pushback.db");
	return failures;
}

/* test_defaults - pb_config_defaults and pb_config_load(NULL). */
static void test_defaults(void **state)
{
	const char *err = NULL;
	pb_config cfg;
	int failures = 0;

	(void)state;
	if (pb_config_defaults(&cfg, &err) != 0)
		fail_msg("pb_config_defaults: got -1 (%s), want 0", err);
	failures += check_defaults(&cfg, false);
	pb_config_free(&cfg);

	if (pb_config_load(&cfg, NULL, &err) != 0)
		fail_msg("pb_config_load(NULL): got -1 (%s), want 0", err);
	failures += check_defaults(&cfg, true);
	pb_config_free(&cfg);
	if (cfg.state_dir != NULL || cfg.policy_listen.n != 0 ||
	    cfg.database != NULL) {
		print_error("pb_config_free: got fields still set, want "
			    "all cleared\n");
		failures++;
	}
	pb_config_free(&cfg); /* twice is harmless */
	assert_int_equal(failures, 0);
}

/* test_empty_file - an empty file, or one of comments only, is the
 * defaults. */
static void test_empty_file(void **state)
{
	static const char *const texts[] = {
	    "",
	    "\n\n\n",
	    "# a comment\n; another\n\n",
	    "[pushbackd]\n[policy]\n[directory]\n",
	    "  # indented comment\n",
	};
	fixture *f = *state;
	int failures = 0;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *err;
		pb_config cfg;

		if (load_text(f, texts[i], &cfg, &err) != 0) {
			print_error("text %zu: got error \"%s\", want 0\n", i,
				    err ? err : "(null)");
			failures++;
		} else {
			int n = check_defaults(&cfg, true);

			if (n > 0)
				print_error("text %zu: %d field(s) differ from "
					    "the defaults\n",
					    i, n);
			failures += n;
			EXPECT_STR("path", cfg.path, f->path);
		}
		pb_config_free(&cfg);
	}
	assert_int_equal(failures, 0);
}

/* ---- every key --------------------------------------------------------
 */

/* test_every_key - one file setting every key to a non-default value. */
static void test_every_key(void **state)
{
	static const char text[] = "# pushback.conf with every key\n"
				   "[pushbackd]\n"
				   "state_dir = /srv/pushback\n"
				   "max_connections = 17\n"
				   "idle_timeout = 42\n"
				   "shadow = yes\n"
				   "soft_bounce = true\n"
				   "log = syslog\n"
				   "log_level = debug\n"
				   "\n"
				   "[policy]\n"
				   "listen = inet:127.0.0.1:12345\n"
				   "max_line_length = 1000\n"
				   "max_attributes = 64\n"
				   "max_request_size = 20000\n"
				   "\n"
				   "[directory]\n"
				   "database = /data/dir.db\n"
				   "on_error = dunno\n"
				   "recipient_delimiter = -+\n"
				   "case_sensitive_local_parts = on\n"
				   "busy_timeout = 750\n";
	fixture *f = *state;
	const char *err;
	pb_config cfg;
	int failures = 0;

	if (load_text(f, text, &cfg, &err) != 0)
		fail_msg("got error \"%s\", want 0", err ? err : "(null)");
	EXPECT_STR("path", cfg.path, f->path);
	EXPECT_STR("state_dir", cfg.state_dir, "/srv/pushback");
	EXPECT_INT("max_connections", cfg.max_connections, 17);
	EXPECT_INT("idle_timeout", cfg.idle_timeout, 42);
	EXPECT_INT("shadow", cfg.shadow, true);
	EXPECT_INT("soft_bounce", cfg.soft_bounce, true);
	EXPECT_INT("log", cfg.log_dest, PB_LOG_SYSLOG);
	EXPECT_INT("log_level", cfg.log_level, PB_LOG_DEBUG);
	EXPECT_INT("n_policy_listen", cfg.policy_listen.n, 1);
	EXPECT_STR("listen[0]", cfg.policy_listen.spec[0],
		   "inet:127.0.0.1:12345");
	EXPECT_INT("max_line_length", cfg.policy_max_line, 1000);
	EXPECT_INT("max_attributes", cfg.policy_max_attributes, 64);
	EXPECT_INT("max_request_size", cfg.policy_max_request, 20000);
	EXPECT_STR("database", cfg.database, "/data/dir.db");
	EXPECT_INT("on_error", cfg.on_error, PB_ON_ERROR_DUNNO);
	EXPECT_STR("recipient_delimiter", cfg.recipient_delimiter, "-+");
	EXPECT_INT("case_sensitive_local_parts", cfg.case_sensitive_local,
		   true);
	EXPECT_INT("busy_timeout", cfg.busy_timeout, 750);
	pb_config_free(&cfg);
	assert_int_equal(failures, 0);
}

/* One key, one value, what it must read as.  want_s for strings, want_i
 * for numbers, booleans and enumerations. */
struct value_case {
	const char *section;
	const char *key;
	const char *value;
	size_t offset;
	enum { V_INT, V_SIZE, V_BOOL, V_STR } type;
	long long want_i;
	const char *want_s;
};

#define F(field) offsetof(pb_config, field)

static const struct value_case value_cases[] = {
    /* booleans */
    {"pushbackd", "shadow", "yes", F(shadow), V_BOOL, 1, NULL},
    {"pushbackd", "shadow", "no", F(shadow), V_BOOL, 0, NULL},
    {"pushbackd", "shadow", "true", F(shadow), V_BOOL, 1, NULL},
    {"pushbackd", "shadow", "false", F(shadow), V_BOOL, 0, NULL},
    {"pushbackd", "shadow", "on", F(shadow), V_BOOL, 1, NULL},
    {"pushbackd", "shadow", "off", F(shadow), V_BOOL, 0, NULL},
    {"pushbackd", "shadow", "1", F(shadow), V_BOOL, 1, NULL},
    {"pushbackd", "shadow", "0", F(shadow), V_BOOL, 0, NULL},
    {"pushbackd", "shadow", "YES", F(shadow), V_BOOL, 1, NULL},
    {"pushbackd", "soft_bounce", "yes", F(soft_bounce), V_BOOL, 1, NULL},
    {"pushbackd", "soft_bounce", "No", F(soft_bounce), V_BOOL, 0, NULL},
    {"directory", "case_sensitive_local_parts", "yes", F(case_sensitive_local),
     V_BOOL, 1, NULL},
    {"directory", "case_sensitive_local_parts", "no", F(case_sensitive_local),
     V_BOOL, 0, NULL},
    /* log destination and level */
    {"pushbackd", "log", "stderr", F(log_dest), V_INT, PB_LOG_STDERR, NULL},
    {"pushbackd", "log", "syslog", F(log_dest), V_INT, PB_LOG_SYSLOG, NULL},
    {"pushbackd", "log_level", "debug", F(log_level), V_INT, PB_LOG_DEBUG,
     NULL},
    {"pushbackd", "log_level", "info", F(log_level), V_INT, PB_LOG_INFO, NULL},
    {"pushbackd", "log_level", "warn", F(log_level), V_INT, PB_LOG_WARN, NULL},
    {"pushbackd", "log_level", "error", F(log_level), V_INT, PB_LOG_ERROR,
     NULL},
    /* on_error */
    {"directory", "on_error", "tempfail", F(on_error), V_INT,
     PB_ON_ERROR_TEMPFAIL, NULL},
    {"directory", "on_error", "dunno", F(on_error), V_INT, PB_ON_ERROR_DUNNO,
     NULL},
    /* integer bounds, both ends */
    {"pushbackd", "max_connections", "1", F(max_connections), V_INT, 1, NULL},
    {"pushbackd", "max_connections", "65536", F(max_connections), V_INT, 65536,
     NULL},
    {"pushbackd", "idle_timeout", "1", F(idle_timeout), V_INT, 1, NULL},
    {"pushbackd", "idle_timeout", "86400", F(idle_timeout), V_INT, 86400, NULL},
    {"policy", "max_line_length", "64", F(policy_max_line), V_SIZE, 64, NULL},
    {"policy", "max_line_length", "1048576", F(policy_max_line), V_SIZE,
     1048576, NULL},
    {"policy", "max_attributes", "8", F(policy_max_attributes), V_SIZE, 8,
     NULL},
    {"policy", "max_attributes", "100000", F(policy_max_attributes), V_SIZE,
     100000, NULL},
    {"policy", "max_request_size", "256", F(policy_max_request), V_SIZE, 256,
     NULL},
    {"policy", "max_request_size", "16777216", F(policy_max_request), V_SIZE,
     16777216, NULL},
    {"directory", "busy_timeout", "0", F(busy_timeout), V_INT, 0, NULL},
    {"directory", "busy_timeout", "600000", F(busy_timeout), V_INT, 600000,
     NULL},
    /* strings */
    {"pushbackd", "state_dir", "/var/tmp/pb state", F(state_dir), V_STR, 0,
     "/var/tmp/pb state"},
    {"directory", "database", "/x/y.db", F(database), V_STR, 0, "/x/y.db"},
    {"directory", "recipient_delimiter", "", F(recipient_delimiter), V_STR, 0,
     ""},
    {"directory", "recipient_delimiter", "+", F(recipient_delimiter), V_STR, 0,
     "+"},
    {"directory", "recipient_delimiter", "+-_", F(recipient_delimiter), V_STR,
     0, "+-_"},
    /* white space around the name and the value is not part of them */
    {"pushbackd", "max_connections", "  99  ", F(max_connections), V_INT, 99,
     NULL},
};

/* test_values - each key alone, each accepted spelling. */
static void test_values(void **state)
{
	fixture *f = *state;
	int failures = 0;

	for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]);
	     i++) {
		const struct value_case *c = &value_cases[i];
		const char *err;
		char text[256], label[128];
		pb_config cfg;
		const char *p;

		snprintf(text, sizeof(text), "[%s]\n%s = %s\n", c->section,
			 c->key, c->value);
		snprintf(label, sizeof(label), "case %zu [%s] %s = \"%s\"", i,
			 c->section, c->key, c->value);
		if (load_text(f, text, &cfg, &err) != 0) {
			print_error("%s: got error \"%s\", want 0\n", label,
				    err ? err : "(null)");
			failures++;
			pb_config_free(&cfg);
			continue;
		}
		p = (const char *)&cfg + c->offset;
		switch (c->type) {
		case V_INT:
			EXPECT_INT(label, *(const int *)(const void *)p,
				   c->want_i);
			break;
		case V_SIZE:
			EXPECT_INT(label, *(const size_t *)(const void *)p,
				   c->want_i);
			break;
		case V_BOOL:
			EXPECT_INT(label, *(const bool *)(const void *)p,
				   c->want_i);
			break;
		case V_STR:
			EXPECT_STR(label, *(char *const *)(const void *)p,
				   c->want_s);
			break;
		}
		pb_config_free(&cfg);
	}
	assert_int_equal(failures, 0);
}

/* ---- listen -----------------------------------------------------------
 */

struct listen_case {
	const char *text;
	size_t n;
	const char *want[4];
};

static const struct listen_case listen_cases[] = {
    {"[policy]\nlisten = unix:/run/pb.sock\n", 1, {"unix:/run/pb.sock"}},
    {"[policy]\nlisten = inet:127.0.0.1:1 unix:/run/pb.sock\n",
     2,
     {"inet:127.0.0.1:1", "unix:/run/pb.sock"}},
    {"[policy]\nlisten = inet:127.0.0.1:1\nlisten = unix:/run/pb.sock\n",
     2,
     {"inet:127.0.0.1:1", "unix:/run/pb.sock"}},
    {"[policy]\nlisten = inet:127.0.0.1:1   inet:127.0.0.1:2\n"
     "listen = unix:/a\n",
     3,
     {"inet:127.0.0.1:1", "inet:127.0.0.1:2", "unix:/a"}},
    /* the first listen replaces the default, wherever it is */
    {"[policy]\nmax_attributes = 10\nlisten = inet:127.0.0.1:65535\n",
     1,
     {"inet:127.0.0.1:65535"}},
    {"[policy]\nlisten = inet:127.0.0.1:10040\n"
     "listen = inet:127.0.0.1:10041\n",
     2,
     {"inet:127.0.0.1:10040", "inet:127.0.0.1:10041"}},
    {"[policy]\nlisten = inet:localhost:10040\tinet:[::1]:10040\n",
     2,
     {"inet:localhost:10040", "inet:[::1]:10040"}},
    /* no listen in the file: the default */
    {"[pushbackd]\nshadow = no\n", 1, {"inet:127.0.0.1:10040"}},
};

/* test_listen - space-separated values and repeated keys. */
static void test_listen(void **state)
{
	fixture *f = *state;
	int failures = 0;

	for (size_t i = 0; i < sizeof(listen_cases) / sizeof(listen_cases[0]);
	     i++) {
		const struct listen_case *c = &listen_cases[i];
		const char *err;
		pb_config cfg;
		char label[64];

		snprintf(label, sizeof(label), "listen case %zu", i);
		if (load_text(f, c->text, &cfg, &err) != 0) {
			print_error("%s: got error \"%s\", want 0\n", label,
				    err ? err : "(null)");
			failures++;
			pb_config_free(&cfg);
			continue;
		}
		if (cfg.policy_listen.n != c->n) {
			print_error("%s: got %zu listeners, want %zu\n", label,
				    cfg.policy_listen.n, c->n);
			failures++;
		} else {
			for (size_t k = 0; k < c->n; k++)
				EXPECT_STR(label, cfg.policy_listen.spec[k],
					   c->want[k]);
		}
		pb_config_free(&cfg);
	}
	assert_int_equal(failures, 0);
}

/* test_listen_max - PB_MAX_LISTEN listeners fit, one more is an error. */
static void test_listen_max(void **state)
{
	fixture *f = *state;
	char text[2048];
	size_t off;
	const char *err;
	pb_config cfg;
	int failures = 0;

	for (int extra = 0; extra <= 1; extra++) {
		off = (size_t)snprintf(text, sizeof(text), "[policy]\n");
		for (int i = 0; i < PB_MAX_LISTEN + extra; i++)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						"listen = inet:127.0.0.1:%d\n",
						20000 + i);
		assert_true(off < sizeof(text));
		if (load_text(f, text, &cfg, &err) == 0) {
			if (extra) {
				print_error("%d listeners: got 0, want an "
					    "error\n",
					    PB_MAX_LISTEN + 1);
				failures++;
			} else {
				EXPECT_INT("listeners", cfg.policy_listen.n,
					   PB_MAX_LISTEN);
			}
		} else if (!extra) {
			print_error("%d listeners: got error \"%s\", want 0\n",
				    PB_MAX_LISTEN, err ? err : "(null)");
			failures++;
		} else {
			char want[160];

			snprintf(want, sizeof(want), "%s:%d:", f->path,
				 PB_MAX_LISTEN + 2);
			if (err == NULL ||
			    strncmp(err, want, strlen(want)) != 0) {
				print_error("%d listeners: got \"%s\", want "
					    "\"%s...\"\n",
					    PB_MAX_LISTEN + 1,
					    err ? err : "(null)", want);
				failures++;
			}
		}
		pb_config_free(&cfg);
	}
	assert_int_equal(failures, 0);
}

/* ---- database ---------------------------------------------------------
 */

struct db_case {
	const char *text;
	const char *want;
};

static const struct db_case db_cases[] = {
    {"", "/var/lib/pushback/pushback.db"},
    {"[pushbackd]\nstate_dir = /srv/pb\n", "/srv/pb/pushback.db"},
    {"[directory]\ndatabase = /elsewhere/x.db\n[pushbackd]\n"
     "state_dir = /srv/pb\n",
     "/elsewhere/x.db"},
    {"[pushbackd]\nstate_dir = /srv/pb\n[directory]\n"
     "database = /elsewhere/x.db\n",
     "/elsewhere/x.db"},
    {"[directory]\non_error = dunno\n[pushbackd]\nstate_dir = /a/b/c\n",
     "/a/b/c/pushback.db"},
};

/* test_database - derived from state_dir unless set. */
static void test_database(void **state)
{
	fixture *f = *state;
	int failures = 0;

	for (size_t i = 0; i < sizeof(db_cases) / sizeof(db_cases[0]); i++) {
		const char *err;
		pb_config cfg;
		char label[64];

		snprintf(label, sizeof(label), "database case %zu", i);
		if (load_text(f, db_cases[i].text, &cfg, &err) != 0) {
			print_error("%s: got error \"%s\", want 0\n", label,
				    err ? err : "(null)");
			failures++;
		} else {
			EXPECT_STR(label, cfg.database, db_cases[i].want);
		}
		pb_config_free(&cfg);
	}
	assert_int_equal(failures, 0);
}

/* ---- errors -----------------------------------------------------------
 */

struct err_case {
	const char *label;
	const char *text;
	int line;	  /* the line the error must name */
	const char *want; /* a word the message must hold */
	const char *not_want;
};

static const struct err_case err_cases[] = {
    {"unknown key", "[pushbackd]\nshadow = no\nbogus_key = 1\n", 3, "bogus_key",
     NULL},
    {"key of another section", "[pushbackd]\nlisten = inet:127.0.0.1:1\n", 2,
     "listen", NULL},
    {"unknown section", "[pushbackd]\nshadow = no\n[bogus]\nshadow = yes\n", 3,
     "bogus", NULL},
    {"key before any section", "shadow = yes\n", 1, "section", NULL},
    /* integers */
    {"bad int", "[pushbackd]\nmax_connections = abc\n", 2, "max_connections",
     NULL},
    {"int with junk", "[pushbackd]\n\n\nmax_connections = 12abc\n", 4,
     "max_connections", NULL},
    {"int empty", "[pushbackd]\nidle_timeout =\n", 2, "idle_timeout", NULL},
    {"int fraction", "[pushbackd]\nidle_timeout = 1.5\n", 2, "idle_timeout",
     NULL},
    {"int hex", "[policy]\nmax_attributes = 0x10\n", 2, "max_attributes", NULL},
    /* signing */
    {"srs separator", "[srs]\nseparator = /\n", 2, "separator", NULL},
    {"srs hash_length too short", "[srs]\nhash_length = 3\n", 2, "hash_length",
     NULL},
    {"srs max_age", "[srs]\nmax_age = 1024\n", 2, "max_age", NULL},
    {"batv max_age", "[batv]\nmax_age = 0\n", 2, "max_age", NULL},
    {"quarantine token", "[bounces]\nquarantine = unsigned\n", 2, "quarantine",
     NULL},
    {"tcp_table listener", "[tcp_table]\nforward = 127.0.0.1:10001\n", 2,
     "forward", NULL},
    {"tcp_table unknown map", "[tcp_table]\nsign = inet:127.0.0.1:1\n", 2,
     "sign", NULL},
    {"srs domain twice", "[srs]\ndomain = a\ndomain = b\n", 3, "twice", NULL},
    {"int spaces inside", "[policy]\nmax_attributes = 1 0\n", 2,
     "max_attributes", NULL},
    {"int overflow", "[pushbackd]\nmax_connections = 99999999999999999999999\n",
     2, "max_connections", NULL},
    {"int below", "[pushbackd]\nmax_connections = 0\n", 2, "max_connections",
     NULL},
    {"int negative", "[pushbackd]\nmax_connections = -5\n", 2,
     "max_connections", NULL},
    {"int above", "[pushbackd]\nmax_connections = 65537\n", 2,
     "max_connections", NULL},
    {"idle_timeout 0", "[pushbackd]\nidle_timeout = 0\n", 2, "idle_timeout",
     NULL},
    {"idle_timeout above", "[pushbackd]\nidle_timeout = 86401\n", 2,
     "idle_timeout", NULL},
    {"max_line below", "[policy]\nmax_line_length = 63\n", 2, "max_line_length",
     NULL},
    {"max_line above", "[policy]\nmax_line_length = 1048577\n", 2,
     "max_line_length", NULL},
    {"max_attributes below", "[policy]\nmax_attributes = 7\n", 2,
     "max_attributes", NULL},
    {"max_attributes above", "[policy]\nmax_attributes = 100001\n", 2,
     "max_attributes", NULL},
    {"max_request below", "[policy]\nmax_request_size = 255\n", 2,
     "max_request_size", NULL},
    {"max_request above", "[policy]\nmax_request_size = 16777217\n", 2,
     "max_request_size", NULL},
    {"max_request negative", "[policy]\nmax_request_size = -1\n", 2,
     "max_request_size", NULL},
    {"busy_timeout negative", "[directory]\nbusy_timeout = -1\n", 2,
     "busy_timeout", NULL},
    {"busy_timeout above", "[directory]\nbusy_timeout = 600001\n", 2,
     "busy_timeout", NULL},
    /* booleans */
    {"bad bool", "[pushbackd]\nshadow = maybe\n", 2, "shadow", NULL},
    {"bool empty", "[pushbackd]\nsoft_bounce =\n", 2, "soft_bounce", NULL},
    {"bool y", "[directory]\ncase_sensitive_local_parts = y\n", 2,
     "case_sensitive_local_parts", NULL},
    /* listeners */
    {"listen scheme", "[policy]\nlisten = tcp:127.0.0.1:10040\n", 2, "listen",
     NULL},
    {"listen no port", "[policy]\nlisten = inet:127.0.0.1\n", 2, "listen",
     NULL},
    {"listen port 0", "[policy]\nlisten = inet:127.0.0.1:0\n", 2, "listen",
     NULL},
    {"listen port 65536", "[policy]\nlisten = inet:127.0.0.1:65536\n", 2,
     "listen", NULL},
    {"listen port name", "[policy]\nlisten = inet:127.0.0.1:smtp\n", 2,
     "listen", NULL},
    {"listen no host", "[policy]\nlisten = inet::10040\n", 2, "listen", NULL},
    {"listen relative unix", "[policy]\nlisten = unix:run/pb.sock\n", 2,
     "listen", NULL},
    {"listen empty unix", "[policy]\nlisten = unix:\n", 2, "listen", NULL},
    {"listen bare path", "[policy]\nlisten = /run/pb.sock\n", 2, "listen",
     NULL},
    {"listen second word bad",
     "[policy]\nlisten = inet:127.0.0.1:1 inet:127.0.0.1:x\n", 2, "listen",
     NULL},
    {"listen second line bad",
     "[policy]\nlisten = inet:127.0.0.1:1\n\nlisten = bogus\n", 4, "listen",
     NULL},
    /* duplicates */
    {"duplicate key", "[pushbackd]\nshadow = yes\nshadow = no\n", 3, "shadow",
     NULL},
    {"duplicate key, same value",
     "[pushbackd]\nmax_connections = 5\nmax_connections = 5\n", 3,
     "max_connections", NULL},
    {"duplicate across sections",
     "[directory]\ndatabase = /a.db\n[pushbackd]\nshadow = no\n"
     "[directory]\ndatabase = /b.db\n",
     6, "database", NULL},
    {"duplicate string", "[pushbackd]\nstate_dir = /a\nstate_dir = /b\n", 3,
     "state_dir", NULL},
    /* enumerations */
    {"bad log level", "[pushbackd]\nlog_level = verbose\n", 2, "log_level",
     NULL},
    {"log level fatal", "[pushbackd]\nlog_level = fatal\n", 2, "log_level",
     NULL},
    {"bad log", "[pushbackd]\nlog = /var/log/pb.log\n", 2, "log", NULL},
    {"bad on_error", "[directory]\non_error = reject\n", 2, "on_error", NULL},
    {"on_error empty", "[directory]\non_error =\n", 2, "on_error", NULL},
    /* syntax */
    {"no '=' and no section", "[pushbackd]\nshadow = no\njust some words\n", 3,
     NULL, NULL},
    {"unterminated section", "[pushbackd\nshadow = no\n", 1, NULL, NULL},
};

/* test_errors - every error names FILE:LINE and what was wrong. */
static void test_errors(void **state)
{
	fixture *f = *state;
	int failures = 0;

	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		char want[192];
		const char *err;
		pb_config cfg;
		int rc;

		rc = load_text(f, c->text, &cfg, &err);
		snprintf(want, sizeof(want), "%s:%d: ", f->path, c->line);
		if (rc != -1) {
			print_error("%s: got %d, want -1 (error at line %d)\n",
				    c->label, rc, c->line);
			failures++;
		} else if (err == NULL) {
			print_error("%s: got no message, want \"%s...\"\n",
				    c->label, want);
			failures++;
		} else if (strncmp(err, want, strlen(want)) != 0) {
			print_error("%s: got \"%s\", want \"%s...\"\n",
				    c->label, err, want);
			failures++;
		} else if (c->want != NULL && strstr(err, c->want) == NULL) {
			print_error("%s: got \"%s\", want it to name \"%s\"\n",
				    c->label, err, c->want);
			failures++;
		} else if (c->not_want != NULL &&
			   strstr(err, c->not_want) != NULL) {
			print_error("%s: got \"%s\", want it not to name "
				    "\"%s\" (a later line)\n",
				    c->label, err, c->not_want);
			failures++;
		}
		pb_config_free(&cfg);
	}
	assert_int_equal(failures, 0);
}

/* test_empty_listen - "listen =" with nothing leaves no listener: an
 * error naming the file. */
static void test_empty_listen(void **state)
{
	fixture *f = *state;
	const char *err;
	pb_config cfg;

	if (load_text(f, "[policy]\nlisten =\n", &cfg, &err) == 0) {
		pb_config_free(&cfg);
		fail_msg("empty listen: got 0, want an error");
	}
	if (err == NULL || strstr(err, f->path) == NULL ||
	    strstr(err, "listen") == NULL) {
		print_error("empty listen: got \"%s\", want the path and "
			    "\"listen\"\n",
			    err ? err : "(null)");
		pb_config_free(&cfg);
		fail();
	}
	pb_config_free(&cfg);
}

/* test_missing_file - the error names the path. */
static void test_missing_file(void **state)
{
	fixture *f = *state;
	char path[192];
	const char *err = NULL;
	pb_config cfg;
	int rc;

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", f->dir);
	rc = pb_config_load(&cfg, path, &err);
	if (rc != -1) {
		pb_config_free(&cfg);
		fail_msg("missing file: got %d, want -1", rc);
	}
	if (err == NULL || strstr(err, path) == NULL) {
		print_error("missing file: got \"%s\", want it to name %s\n",
			    err ? err : "(null)", path);
		pb_config_free(&cfg);
		fail();
	}
	pb_config_free(&cfg);
}

/* test_directory_as_file - "-c /etc/pushback/" (a directory) is an
 * error, not an empty configuration. */
static void test_directory_as_file(void **state)
{
	fixture *f = *state;
	const char *err = NULL;
	pb_config cfg;
	int rc;

	rc = pb_config_load(&cfg, f->dir, &err);
	pb_config_free(&cfg);
	if (rc != -1)
		fail_msg("directory %s as config: got %d, want -1", f->dir, rc);
}

/* test_first_error - with several faults in a file, the error names the
 * first faulty line and describes that line, not a later one. */
static void test_first_error(void **state)
{
	static const struct err_case cases[] = {
	    {"two errors",
	     "[pushbackd]\nbogus_one = 1\nmax_connections = abc\n", 2,
	     "bogus_one", "max_connections"},
	    {"syntax then key",
	     "[pushbackd]\nwords without equals\nbogus_two = 1\n", 2, NULL,
	     "bogus_two"},
	};
	fixture *f = *state;
	int failures = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *c = &cases[i];
		char want[192];
		const char *err;
		pb_config cfg;
		int rc;

		rc = load_text(f, c->text, &cfg, &err);
		snprintf(want, sizeof(want), "%s:%d: ", f->path, c->line);
		if (rc != -1 || err == NULL ||
		    strncmp(err, want, strlen(want)) != 0) {
			print_error("%s: got %d \"%s\", want -1 \"%s...\"\n",
				    c->label, rc, err ? err : "(null)", want);
			failures++;
		} else if (c->want != NULL && strstr(err, c->want) == NULL) {
			print_error("%s: got \"%s\", want it to name \"%s\"\n",
				    c->label, err, c->want);
			failures++;
		} else if (c->not_want != NULL &&
			   strstr(err, c->not_want) != NULL) {
			print_error("%s: got \"%s\", want it not to name "
				    "\"%s\" (a later line)\n",
				    c->label, err, c->not_want);
			failures++;
		}
		pb_config_free(&cfg);
	}
	assert_int_equal(failures, 0);
}

/* test_reload - a pb_config can be freed and loaded again; a failed load
 * leaves nothing of the previous one. */
static void test_reload(void **state)
{
	fixture *f = *state;
	const char *err;
	pb_config cfg;
	int failures = 0;

	if (load_text(f, "[pushbackd]\nshadow = yes\n", &cfg, &err) != 0)
		fail_msg("first load: got error \"%s\", want 0", err);
	pb_config_free(&cfg);
	/* the same key again in a new load is not a duplicate */
	if (load_text(f, "[pushbackd]\nshadow = no\n", &cfg, &err) != 0) {
		print_error("second load: got error \"%s\", want 0\n", err);
		failures++;
	} else {
		EXPECT_INT("shadow after reload", cfg.shadow, false);
	}
	pb_config_free(&cfg);
	assert_int_equal(failures, 0);
}

/* ---- what a user writes -----------------------------------------------
 */

/* test_long_lines - a valid line longer than a few hundred bytes (many
 * listeners, a deep path) is read whole, never cut into two lines. */
static void test_long_lines(void **state)
{
	fixture *f = *state;
	char text[2048], path[400];
	size_t off;
	const char *err;
	pb_config cfg;
	int failures = 0;

	off = (size_t)snprintf(text, sizeof(text), "[policy]\nlisten =");
	for (int i = 0; i < 12; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					" inet:127.0.0.1:%d", 30000 + i);
	off += (size_t)snprintf(text + off, sizeof(text) - off, "\n");
	assert_true(off > 200 && off < sizeof(text));
	if (load_text(f, text, &cfg, &err) != 0) {
		print_error("12 listeners on one %zu-byte line: got error "
			    "\"%s\", want 0\n",
			    off, err ? err : "(null)");
		failures++;
	} else {
		EXPECT_INT("listeners on one line", cfg.policy_listen.n, 12);
		if (cfg.policy_listen.n == 12)
			EXPECT_STR("last listener", cfg.policy_listen.spec[11],
				   "inet:127.0.0.1:30011");
	}
	pb_config_free(&cfg);

	memset(path, 'd', sizeof(path));
	path[0] = '/';
	for (size_t i = 50; i < 300; i += 50)
		path[i] = '/';
	path[300] = '\0';
	snprintf(text, sizeof(text), "[directory]\ndatabase = %s\n", path);
	if (load_text(f, text, &cfg, &err) != 0) {
		print_error("300-byte database path: got error \"%s\", want "
			    "0\n",
			    err ? err : "(null)");
		failures++;
	} else {
		EXPECT_STR("300-byte database path", cfg.database, path);
	}
	pb_config_free(&cfg);
	assert_int_equal(failures, 0);
}

/* test_trailing_comment - a '#' comment after a value (as in the sample
 * configuration of the documentation) is never silently part of the
 * value: it is a comment, or an error that names the line. */
static void test_trailing_comment(void **state)
{
	static const struct {
		const char *text;
		size_t offset;
		const char *want; /* the value when accepted */
	} cases[] = {
	    {"[pushbackd]\nstate_dir = /srv/pb   # where state lives\n",
	     F(state_dir), "/srv/pb"},
	    {"[directory]\ndatabase = /srv/pb/x.db # the directory\n",
	     F(database), "/srv/pb/x.db"},
	    {"[directory]\nrecipient_delimiter = +   # plus addressing\n",
	     F(recipient_delimiter), "+"},
	};
	fixture *f = *state;
	int failures = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err;
		pb_config cfg;
		char want[160];

		snprintf(want, sizeof(want), "%s:2: ", f->path);
		if (load_text(f, cases[i].text, &cfg, &err) != 0) {
			if (err == NULL || strncmp(err, want, strlen(want))) {
				print_error("comment case %zu: got \"%s\", "
					    "want \"%s...\"\n",
					    i, err ? err : "(null)", want);
				failures++;
			}
		} else {
			const char *got =
			    *(char *const *)(const void *)((const char *)&cfg +
							   cases[i].offset);

			if (strcmp(got, cases[i].want) != 0) {
				print_error("comment case %zu: got \"%s\", "
					    "want \"%s\" or an error at line "
					    "2\n",
					    i, got, cases[i].want);
				failures++;
			}
		}
		pb_config_free(&cfg);
	}
	assert_int_equal(failures, 0);
}

/* test_unknown_empty_section - a misspelt section with no keys under it
 * is still an unknown section (config.h: unknown sections are errors). */
static void test_unknown_empty_section(void **state)
{
	fixture *f = *state;
	const char *err;
	pb_config cfg;
	char want[160];
	int rc;

	rc =
	    load_text(f, "[pushbackd]\nshadow = no\n[directroy]\n", &cfg, &err);
	snprintf(want, sizeof(want), "%s:3: ", f->path);
	if (rc != -1) {
		pb_config_free(&cfg);
		fail_msg("empty [directroy]: got %d, want -1 at \"%s\"", rc,
			 want);
	}
	if (err == NULL || strncmp(err, want, strlen(want)) != 0) {
		print_error("empty [directroy]: got \"%s\", want \"%s...\"\n",
			    err ? err : "(null)", want);
		pb_config_free(&cfg);
		fail();
	}
	pb_config_free(&cfg);
}

/* test_signing_keys - [srs], [batv], [bounces], [socketmap] and
 * [tcp_table], every key. */
static void test_signing_keys(void **state)
{
	static const char text[] =
	    "[srs]\n"
	    "domain = srs.example.org\n"
	    "local_domains = Example.ORG, lists.example.org\n"
	    "local_domains = third.example\n"
	    "exclude_domains = partner.example\n"
	    "secrets = /etc/pushback/srs.keys\n"
	    "hash_length = 6\n"
	    "min_hash_length = 5\n"
	    "max_age = 30\n"
	    "separator = +\n"
	    "[batv]\n"
	    "secrets = /etc/pushback/batv.keys\n"
	    "max_age = 10\n"
	    "[bounces]\n"
	    "protect = example.org alice@example.net\n"
	    "no_bounces = dmarc-reports\n"
	    "quarantine = unsigned-bounce expired-signature\n"
	    "[socketmap]\n"
	    "listen = unix:/run/pushback/sm inet:127.0.0.1:2\n"
	    "[tcp_table]\n"
	    "forward = inet:127.0.0.1:10001\n"
	    "batv-reverse = unix:/run/pushback/br\n";
	fixture *f = *state;
	const char *err;
	pb_config cfg;
	int failures = 0;

	if (load_text(f, text, &cfg, &err) != 0)
		fail_msg("got error \"%s\", want 0", err ? err : "(null)");
	EXPECT_STR("srs domain", cfg.srs_domain, "srs.example.org");
	EXPECT_INT("local_domains add up", cfg.local_domains.n, 3);
	EXPECT_INT("local_domains folded",
		   cfg.local_domains.n > 0 &&
		       strcmp(cfg.local_domains.v[0], "example.org") == 0,
		   1);
	EXPECT_INT("exclude_domains", cfg.exclude_domains.n, 1);
	EXPECT_STR("srs secrets", cfg.srs_secrets, "/etc/pushback/srs.keys");
	EXPECT_INT("hash_length", cfg.srs_hash_length, 6);
	EXPECT_INT("min_hash_length", cfg.srs_min_hash_length, 5);
	EXPECT_INT("srs max_age", cfg.srs_max_age, 30);
	EXPECT_INT("separator", cfg.srs_separator, '+');
	EXPECT_STR("batv secrets", cfg.batv_secrets, "/etc/pushback/batv.keys");
	EXPECT_INT("batv max_age", cfg.batv_max_age, 10);
	EXPECT_INT("protect", cfg.protect.n, 2);
	EXPECT_INT("no_bounces replaces the default", cfg.no_bounces.n, 1);
	EXPECT_INT("noreply no longer listed",
		   pb_strlist_has(&cfg.no_bounces, "noreply"), 0);
	EXPECT_INT("quarantine", cfg.quarantine, PB_Q_UNSIGNED | PB_Q_EXPIRED);
	EXPECT_INT("socketmap listeners replace the default",
		   cfg.socketmap_listen.n, 2);
	EXPECT_STR("tcp_table forward", cfg.tcp_table[PB_MAP_FORWARD],
		   "inet:127.0.0.1:10001");
	EXPECT_INT("tcp_table reverse off",
		   cfg.tcp_table[PB_MAP_REVERSE] == NULL, 1);
	EXPECT_STR("tcp_table batv-reverse", cfg.tcp_table[PB_MAP_BATV_REVERSE],
		   "unix:/run/pushback/br");
	EXPECT_STR("map name", pb_map_name(PB_MAP_BATV_SIGN), "batv-sign");
	pb_config_free(&cfg);
	if (load_text(f, "[socketmap]\nlisten =\n", &cfg, &err) != 0)
		fail_msg("empty socketmap listen: error \"%s\"", err);
	EXPECT_INT("empty socketmap listen turns it off",
		   cfg.socketmap_listen.n, 0);
	pb_config_free(&cfg);
	/* Our own addresses must verify: min_hash_length <= hash_length. */
	EXPECT_INT("min_hash_length > hash_length refused",
		   load_text(f, "[srs]\nmin_hash_length = 8\n", &cfg, &err),
		   -1);
	EXPECT_INT("... and the message says why",
		   err != NULL && strstr(err, "min_hash_length") != NULL, 1);
	pb_config_free(&cfg);
	assert_int_equal(failures, 0);
}

/* main - run the config tests */
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signing_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listen_max, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_listen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_directory_as_file, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_first_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trailing_comment, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_empty_section, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
