/*
 * test_dir - the SQLite directory: lookup semantics, administrative calls,
 * and the failures that must never read as "not found" (missing file,
 * garbage file, foreign database, lock held past busy_timeout).
 *
 * Each test works in its own temporary directory.  Failures print
 * "got X, want Y" with the case that failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/addr.h"
#include "directory/dir.h"

typedef struct fixture {
	char tmp[64];
	char path[128];
	pb_dir *dir; /* opened with create */
} fixture;

static const char *const kind_names[] = {
    [PB_RCPT_UNKNOWN] = "UNKNOWN",
    [PB_RCPT_ADDRESS] = "ADDRESS",
    [PB_RCPT_CATCHALL] = "CATCHALL",
    [PB_RCPT_LIST] = "LIST",
    [PB_RCPT_LIST_COMPANION] = "LIST_COMPANION",
};

#define EXPECT_INT(what, got, want)                                            \
	do {                                                                   \
		long long g_ = (got), w_ = (want);                             \
		if (g_ != w_)                                                  \
			fail_msg("%s: got %lld, want %lld", (what), g_, w_);   \
	} while (0)

#define EXPECT_STR(what, got, want)                                            \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (strcmp(g_, w_) != 0)                                       \
			fail_msg("%s: got \"%s\", want \"%s\"", (what), g_,    \
				 w_);                                          \
	} while (0)

/* setup - a fresh temporary directory and a created database. */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	pb_dir_opts opts = {.busy_timeout = 1000, .create = true};
	const char *error = NULL;

	if (f == NULL)
		return -1;
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/test_dir.XXXXXX");
	if (mkdtemp(f->tmp) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/pushback.db", f->tmp);
	umask(022);
	if (pb_dir_open(f->path, &opts, &f->dir, &error) < 0) {
		print_error("pb_dir_open: %s\n", error);
		return -1;
	}
	*state = f;
	return 0;
}

/* teardown - close and remove every file made. */
static int teardown(void **state)
{
	fixture *f = *state;
	DIR *d;
	struct dirent *e;
	char p[512];

	pb_dir_free(&f->dir);
	d = opendir(f->tmp);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->tmp, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(f->tmp);
	free(f);
	return 0;
}

/* parse - an address with the given options, or fail the test. */
static void parse(const char *s, const char *delims, bool fold, pb_addr *a)
{
	pb_addr_opts o = {.delimiters = delims, .fold_local = fold};
	pb_addr_err err = pb_addr_parse(s, strlen(s), &o, a);

	if (err != PB_ADDR_OK)
		fail_msg("parse %s: %s", s, pb_addr_strerror(err));
}

/* key - the stored form of an address (CLI: no stripping, folded). */
static const char *key(const char *s, bool fold, pb_addr *a)
{
	parse(s, "", fold, a);
	return a->full;
}

/* ok - a call that must succeed with a given result. */
static void ok(const char *what, int got, int want, const char *error)
{
	if (got != want)
		fail_msg("%s: got %d, want %d (%s)", what, got, want,
			 error ? error : "no error");
}

/* add_recipient / add_list / add_domain - setup helpers. */
static void add_domain(pb_dir *dir, const char *d, bool catch_all)
{
	const char *error = NULL;
	int r = pb_dir_domain_add(dir, d, catch_all, &error);

	if (r < 0)
		fail_msg("domain add %s: %s", d, error);
}

static void add_recipient(pb_dir *dir, const char *s, bool fold)
{
	const char *error = NULL;
	pb_addr a;

	ok(s, pb_dir_recipient_add(dir, key(s, fold, &a), &error), 1, error);
}

static long long add_list(pb_dir *dir, const char *s, pb_list_policy p,
			  const char *owner)
{
	const char *error = NULL;
	pb_dir_list l;
	pb_addr a;

	ok(s, pb_dir_list_add(dir, key(s, true, &a), p, owner, &error), 1,
	   error);
	ok(s, pb_dir_list_get(dir, a.full, &l, &error), 1, error);
	return l.id;
}

typedef struct lookup_case {
	const char *addr;
	const char *delims;
	bool fold;
	bool protected_domain;
	pb_rcpt_kind kind;
	const char *list;      /* NULL: not checked */
	const char *companion; /* NULL: not checked */
	const char *owner;     /* NULL: not checked */
	int policy;	       /* -1: not checked */
} lookup_case;

/* run_cases - look each address up and compare every field asked for. */
static void run_cases(pb_dir *dir, const lookup_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++, c++) {
		const char *error = NULL;
		pb_dir_rcpt out;
		pb_addr a;
		char what[600];

		snprintf(what, sizeof(what), "%s (delimiters \"%s\", fold %d)",
			 c->addr, c->delims, c->fold);
		parse(c->addr, c->delims, c->fold, &a);
		memset(&out, 0x5a, sizeof(out));
		if (pb_dir_lookup_rcpt(dir, &a, &out, &error) != 0)
			fail_msg("%s: lookup failed: %s", what, error);
		if (out.protected_domain != c->protected_domain)
			fail_msg("%s: protected_domain: got %d, want %d", what,
				 out.protected_domain, c->protected_domain);
		if (out.kind != c->kind)
			fail_msg("%s: kind: got %s, want %s", what,
				 (unsigned)out.kind < 5 ? kind_names[out.kind]
							: "?",
				 kind_names[c->kind]);
		if (c->list != NULL && strcmp(out.list, c->list) != 0)
			fail_msg("%s: list: got %s, want %s", what, out.list,
				 c->list);
		if (c->companion != NULL &&
		    strcmp(out.companion, c->companion) != 0)
			fail_msg("%s: companion: got \"%s\", want \"%s\"", what,
				 out.companion, c->companion);
		if (c->owner != NULL && strcmp(out.owner, c->owner) != 0)
			fail_msg("%s: owner: got %s, want %s", what, out.owner,
				 c->owner);
		if (c->policy >= 0 && (int)out.policy != c->policy)
			fail_msg("%s: policy: got %s, want %s", what,
				 pb_list_policy_name(out.policy),
				 pb_list_policy_name(c->policy));
		if (c->kind != PB_RCPT_LIST &&
		    c->kind != PB_RCPT_LIST_COMPANION &&
		    (out.list[0] != '\0' || out.companion[0] != '\0'))
			fail_msg("%s: list fields set for a non-list: "
				 "list \"%s\" companion \"%s\"",
				 what, out.list, out.companion);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ANY NULL, NULL, NULL, -1

/* test_domains - protected, catch-all, not protected. */
static void test_domains(void **state)
{
	fixture *f = *state;
	const char *error = NULL;
	bool ca = true;
	static const lookup_case cases[] = {
	    {"nobody@example.org", "+", true, true, PB_RCPT_UNKNOWN, ANY},
	    {"anyone@catchall.org", "+", true, true, PB_RCPT_CATCHALL, ANY},
	    {"Any+Thing@CatchAll.ORG", "+", true, true, PB_RCPT_CATCHALL, ANY},
	    {"alice@other.org", "+", true, false, PB_RCPT_UNKNOWN, ANY},
	    /* a subdomain is another domain */
	    {"alice@sub.example.org", "+", true, false, PB_RCPT_UNKNOWN, ANY},
	};

	ok("add example.org",
	   pb_dir_domain_add(f->dir, "example.org", false, &error), 1, error);
	ok("add example.org again",
	   pb_dir_domain_add(f->dir, "example.org", false, &error), 0, error);
	ok("add catchall.org",
	   pb_dir_domain_add(f->dir, "catchall.org", true, &error), 1, error);
	run_cases(f->dir, cases, N(cases));

	ok("get example.org",
	   pb_dir_domain_get(f->dir, "example.org", &ca, &error), 1, error);
	EXPECT_INT("example.org catch_all", ca, 0);
	ok("get other.org", pb_dir_domain_get(f->dir, "other.org", &ca, &error),
	   0, error);
	/* add with a different flag changes it, and says so (2) */
	ok("catch-all on",
	   pb_dir_domain_add(f->dir, "example.org", true, &error), 2, error);
	ok("get example.org",
	   pb_dir_domain_get(f->dir, "example.org", &ca, &error), 1, error);
	EXPECT_INT("example.org catch_all after change", ca, 1);
	/* A domain-only probe (full = key = "@domain", as the recipient check
	 * builds for a local part that does not parse) answers for the
	 * domain alone. */
	{
		static const struct {
			const char *domain;
			bool protected_domain;
			pb_rcpt_kind kind;
		} probes[] = {
		    {"catchall.org", true, PB_RCPT_CATCHALL},
		    {"other.org", false, PB_RCPT_UNKNOWN},
		};

		for (size_t i = 0; i < N(probes); i++) {
			pb_dir_rcpt out;
			pb_addr a;

			memset(&a, 0, sizeof(a));
			snprintf(a.domain, sizeof(a.domain), "%s",
				 probes[i].domain);
			snprintf(a.full, sizeof(a.full), "@%s",
				 probes[i].domain);
			snprintf(a.key, sizeof(a.key), "@%s", probes[i].domain);
			ok(a.full, pb_dir_lookup_rcpt(f->dir, &a, &out, &error),
			   0, error);
			EXPECT_INT(a.full, out.protected_domain,
				   probes[i].protected_domain);
			EXPECT_INT(a.full, out.kind, probes[i].kind);
		}
	}
	ok("del catchall.org",
	   pb_dir_domain_del(f->dir, "catchall.org", &error), 1, error);
	ok("del catchall.org again",
	   pb_dir_domain_del(f->dir, "catchall.org", &error), 0, error);
	{
		static const lookup_case after[] = {
		    {"nobody@example.org", "+", true, true, PB_RCPT_CATCHALL,
		     ANY},
		    {"anyone@catchall.org", "+", true, false, PB_RCPT_UNKNOWN,
		     ANY},
		};
		run_cases(f->dir, after, N(after));
	}
}

/* test_recipients - exact recipients, subaddresses, full before key. */
static void test_recipients(void **state)
{
	fixture *f = *state;
	static const lookup_case cases[] = {
	    {"alice@example.org", "+", true, true, PB_RCPT_ADDRESS, ANY},
	    {"bob@example.org", "+", true, true, PB_RCPT_UNKNOWN, ANY},
	    /* stripped key */
	    {"alice+news@example.org", "+", true, true, PB_RCPT_ADDRESS, ANY},
	    {"alice-news@example.org", "+-", true, true, PB_RCPT_ADDRESS, ANY},
	    /* no stripping: the full address only */
	    {"alice+news@example.org", "", true, true, PB_RCPT_UNKNOWN, ANY},
	    /* '-' is not a delimiter here */
	    {"alice-news@example.org", "+", true, true, PB_RCPT_UNKNOWN, ANY},
	    /* an address stored with its extension matches only itself */
	    {"carol+x@example.org", "+", true, true, PB_RCPT_ADDRESS, ANY},
	    {"carol+y@example.org", "+", true, true, PB_RCPT_UNKNOWN, ANY},
	    {"carol@example.org", "+", true, true, PB_RCPT_UNKNOWN, ANY},
	    /* full before key: dev+x is a recipient though dev is a list */
	    {"dev+x@example.org", "+", true, true, PB_RCPT_ADDRESS, ANY},
	    {"dev+y@example.org", "+", true, true, PB_RCPT_LIST,
	     "dev@example.org", "", NULL, PB_POLICY_OPEN},
	    /* same name in an unprotected domain */
	    {"alice@example.net", "+", true, false, PB_RCPT_UNKNOWN, ANY},
	};

	add_domain(f->dir, "example.org", false);
	add_recipient(f->dir, "alice@example.org", true);
	add_recipient(f->dir, "carol+x@example.org", true);
	add_recipient(f->dir, "dev+x@example.org", true);
	add_recipient(f->dir, "alice@example.net", true);
	add_list(f->dir, "dev@example.org", PB_POLICY_OPEN, NULL);
	run_cases(f->dir, cases, N(cases));
	/* a domain-only probe in a protected, not catch-all domain */
	{
		const char *error = NULL;
		pb_dir_rcpt out;
		pb_addr a;

		memset(&a, 0, sizeof(a));
		snprintf(a.domain, sizeof(a.domain), "example.org");
		snprintf(a.full, sizeof(a.full), "@example.org");
		snprintf(a.key, sizeof(a.key), "@example.org");
		ok("@example.org", pb_dir_lookup_rcpt(f->dir, &a, &out, &error),
		   0, error);
		EXPECT_INT("@example.org protected", out.protected_domain, 1);
		EXPECT_INT("@example.org kind", out.kind, PB_RCPT_UNKNOWN);
	}
}

/* test_case_folding - fold_local on and off. */
static void test_case_folding(void **state)
{
	fixture *f = *state;
	static const lookup_case cases[] = {
	    /* folded store, folded lookups: any case matches */
	    {"Alice@Example.ORG", "+", true, true, PB_RCPT_ADDRESS, ANY},
	    {"ALICE+Tag@example.org", "+", true, true, PB_RCPT_ADDRESS, ANY},
	    /* case-sensitive store: only the exact local part matches; the
	     * domain is always folded */
	    {"Bob@EXAMPLE.org", "+", false, true, PB_RCPT_ADDRESS, ANY},
	    {"Bob+x@example.org", "+", false, true, PB_RCPT_ADDRESS, ANY},
	    {"bob@example.org", "+", false, true, PB_RCPT_UNKNOWN, ANY},
	    {"BOB@example.org", "+", false, true, PB_RCPT_UNKNOWN, ANY},
	    /* a folded lookup of a case-sensitive entry misses */
	    {"Bob@example.org", "+", true, true, PB_RCPT_UNKNOWN, ANY},
	    /* companions ignore the case of the suffix */
	    {"Dev-OWNER@example.org", "+", true, true, PB_RCPT_LIST_COMPANION,
	     "dev@example.org", "owner", NULL, -1},
	    /* ... also when local parts are case-sensitive: the list part
	     * must match exactly, the suffix in any case */
	    {"Ops-Request@example.org", "+", false, true,
	     PB_RCPT_LIST_COMPANION, "Ops@example.org", "request", NULL, -1},
	    {"ops-request@example.org", "+", false, true, PB_RCPT_UNKNOWN, ANY},
	    {"Ops@example.org", "+", false, true, PB_RCPT_LIST,
	     "Ops@example.org", "", "Ops-owner@example.org", PB_POLICY_OPEN},
	};

	add_domain(f->dir, "example.org", false);
	add_recipient(f->dir, "alice@example.org", true);
	add_recipient(f->dir, "Bob@example.org", false);
	add_list(f->dir, "dev@example.org", PB_POLICY_OPEN, NULL);
	{
		const char *error = NULL;
		pb_addr a;

		ok("list add Ops",
		   pb_dir_list_add(f->dir, key("Ops@example.org", false, &a),
				   PB_POLICY_OPEN, NULL, &error),
		   1, error);
	}
	run_cases(f->dir, cases, N(cases));
}

/* test_lists - each policy stored and returned; owner default/explicit. */
static void test_lists(void **state)
{
	fixture *f = *state;
	const char *error = NULL;
	long long ids[4];
	pb_dir_list l;
	static const lookup_case cases[] = {
	    {"open@lists.example.org", "+", true, true, PB_RCPT_LIST,
	     "open@lists.example.org", "", "open-owner@lists.example.org",
	     PB_POLICY_OPEN},
	    {"members@lists.example.org", "+", true, true, PB_RCPT_LIST,
	     "members@lists.example.org", "", "boss@example.org",
	     PB_POLICY_MEMBERS},
	    {"Moderated@Lists.Example.org", "+", true, true, PB_RCPT_LIST,
	     "moderated@lists.example.org", "",
	     "moderated-owner@lists.example.org", PB_POLICY_MODERATED},
	    {"closed+tag@lists.example.org", "+", true, true, PB_RCPT_LIST,
	     "closed@lists.example.org", "", "closed-owner@lists.example.org",
	     PB_POLICY_CLOSED},
	    {"other@lists.example.org", "+", true, true, PB_RCPT_UNKNOWN, ANY},
	};

	add_domain(f->dir, "lists.example.org", false);
	ids[0] =
	    add_list(f->dir, "open@lists.example.org", PB_POLICY_OPEN, NULL);
	ids[1] = add_list(f->dir, "members@lists.example.org",
			  PB_POLICY_MEMBERS, "boss@example.org");
	ids[2] = add_list(f->dir, "moderated@lists.example.org",
			  PB_POLICY_MODERATED, "");
	ids[3] = add_list(f->dir, "closed@lists.example.org", PB_POLICY_CLOSED,
			  NULL);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < i; j++)
			if (ids[i] == ids[j] || ids[i] <= 0)
				fail_msg("list ids not distinct: %lld, %lld",
					 ids[i], ids[j]);
	run_cases(f->dir, cases, N(cases));

	/* the lookup's list_id is the one list_get reports */
	{
		pb_dir_rcpt out;
		pb_addr a;

		parse("closed@lists.example.org", "+", true, &a);
		ok("lookup", pb_dir_lookup_rcpt(f->dir, &a, &out, &error), 0,
		   error);
		EXPECT_INT("closed list_id", out.list_id, ids[3]);
	}

	/* adding an existing list changes nothing */
	ok("list add again",
	   pb_dir_list_add(f->dir, "open@lists.example.org", PB_POLICY_CLOSED,
			   "x@example.org", &error),
	   0, error);
	ok("list get",
	   pb_dir_list_get(f->dir, "open@lists.example.org", &l, &error), 1,
	   error);
	EXPECT_STR("policy after re-add", pb_list_policy_name(l.policy),
		   "open");
	EXPECT_STR("owner after re-add", l.owner, "");
	EXPECT_STR("effective owner", l.owner_effective,
		   "open-owner@lists.example.org");
	EXPECT_STR("check_sender default", l.check_sender, "any");

	/* set: policy, owner, back to the default owner */
	ok("list set",
	   pb_dir_list_set(f->dir, "open@lists.example.org", PB_POLICY_MEMBERS,
			   "o@example.org", &error),
	   1, error);
	ok("list get",
	   pb_dir_list_get(f->dir, "open@lists.example.org", &l, &error), 1,
	   error);
	EXPECT_STR("policy after set", pb_list_policy_name(l.policy),
		   "members");
	EXPECT_STR("owner after set", l.owner, "o@example.org");
	ok("list set owner default",
	   pb_dir_list_set(f->dir, "open@lists.example.org", -1, "", &error), 1,
	   error);
	ok("list get",
	   pb_dir_list_get(f->dir, "open@lists.example.org", &l, &error), 1,
	   error);
	EXPECT_STR("policy kept", pb_list_policy_name(l.policy), "members");
	EXPECT_STR("owner after reset", l.owner_effective,
		   "open-owner@lists.example.org");
	ok("list set missing",
	   pb_dir_list_set(f->dir, "nope@lists.example.org", PB_POLICY_OPEN,
			   NULL, &error),
	   0, error);
}

/* test_companions - the eight Mailman addresses and the VERP forms. */
static void test_companions(void **state)
{
	fixture *f = *state;
	static const char *const names[] = {
	    "owner", "request", "bounces",   "confirm",
	    "join",  "leave",	"subscribe", "unsubscribe",
	};
	static const char *const delims[] = {"+", "", "-", "+-"};
	static const lookup_case cases[] = {
	    {"dev-bounces+alice=example.net@lists.example.org", "+", true, true,
	     PB_RCPT_LIST_COMPANION, "dev@lists.example.org", "bounces",
	     "dev-owner@lists.example.org", PB_POLICY_CLOSED},
	    {"dev-confirm+0123abcd@lists.example.org", "+", true, true,
	     PB_RCPT_LIST_COMPANION, "dev@lists.example.org", "confirm", NULL,
	     -1},
	    /* the VERP forms hold whatever the delimiters are */
	    {"dev-bounces+alice=example.net@lists.example.org", "", true, true,
	     PB_RCPT_LIST_COMPANION, "dev@lists.example.org", "bounces", NULL,
	     -1},
	    {"dev-bounces+alice=example.net@lists.example.org", "-", true, true,
	     PB_RCPT_LIST_COMPANION, "dev@lists.example.org", "bounces", NULL,
	     -1},
	    {"dev-confirm+tok@lists.example.org", "-", true, true,
	     PB_RCPT_LIST_COMPANION, "dev@lists.example.org", "confirm", NULL,
	     -1},
	    /* a list whose name has a dash */
	    {"my-list-request@lists.example.org", "+", true, true,
	     PB_RCPT_LIST_COMPANION, "my-list@lists.example.org", "request",
	     NULL, -1},
	    {"my-list-bounces+x=y.org@lists.example.org", "-", true, true,
	     PB_RCPT_LIST_COMPANION, "my-list@lists.example.org", "bounces",
	     NULL, -1},
	    /* not companions */
	    {"dev-admin@lists.example.org", "+", true, true, PB_RCPT_UNKNOWN,
	     ANY},
	    {"-owner@lists.example.org", "+", true, true, PB_RCPT_UNKNOWN, ANY},
	    {"devowner@lists.example.org", "+", true, true, PB_RCPT_UNKNOWN,
	     ANY},
	    {"nolist-owner@lists.example.org", "+", true, true, PB_RCPT_UNKNOWN,
	     ANY},
	    {"dev-owner@example.net", "+", true, false, PB_RCPT_UNKNOWN, ANY},
	    {"dev-owner+x@lists.example.org", "", true, true, PB_RCPT_UNKNOWN,
	     ANY},
	    /* "-owner+x" is covered by stripping only */
	    {"dev-owner+x@lists.example.org", "+", true, true,
	     PB_RCPT_LIST_COMPANION, "dev@lists.example.org", "owner", NULL,
	     -1},
	};

	add_domain(f->dir, "lists.example.org", false);
	add_list(f->dir, "dev@lists.example.org", PB_POLICY_CLOSED, NULL);
	add_list(f->dir, "my-list@lists.example.org", PB_POLICY_OPEN, NULL);
	for (size_t d = 0; d < N(delims); d++) {
		for (size_t i = 0; i < N(names); i++) {
			char addr[128];
			lookup_case c = {addr,
					 delims[d],
					 true,
					 true,
					 PB_RCPT_LIST_COMPANION,
					 "dev@lists.example.org",
					 names[i],
					 "dev-owner@lists.example.org",
					 PB_POLICY_CLOSED};

			snprintf(addr, sizeof(addr), "dev-%s@lists.example.org",
				 names[i]);
			run_cases(f->dir, &c, 1);
		}
	}
	run_cases(f->dir, cases, N(cases));
}

/* test_posters - members, allowed posters, both, neither. */
static void test_posters(void **state)
{
	fixture *f = *state;
	const char *error = NULL;
	long long dev, ops;
	pb_addr a;
	struct {
		const char *sender;
		const char *delims;
		long long *list;
		int want;
	} cases[] = {
	    {"member@example.net", "+", &dev, PB_POSTER_MEMBER},
	    {"Member@Example.NET", "+", &dev, PB_POSTER_MEMBER},
	    {"member+tag@example.net", "+", &dev, PB_POSTER_MEMBER},
	    {"member+tag@example.net", "", &dev, PB_POSTER_NONE},
	    {"poster@example.net", "+", &dev, PB_POSTER_ALLOWED},
	    {"both@example.net", "+", &dev, PB_POSTER_ALLOWED},
	    {"stranger@example.net", "+", &dev, PB_POSTER_NONE},
	    /* rosters are per list */
	    {"member@example.net", "+", &ops, PB_POSTER_NONE},
	    {"poster@example.net", "+", &ops, PB_POSTER_NONE},
	    {"opsmember@example.net", "+", &ops, PB_POSTER_MEMBER},
	    {"opsmember@example.net", "+", &dev, PB_POSTER_NONE},
	};

	add_domain(f->dir, "lists.example.org", false);
	dev =
	    add_list(f->dir, "dev@lists.example.org", PB_POLICY_MEMBERS, NULL);
	ops = add_list(f->dir, "ops@lists.example.org", PB_POLICY_CLOSED, NULL);
	ok("member",
	   pb_dir_roster_add(f->dir, PB_ROSTER_MEMBERS, dev,
			     key("member@example.net", true, &a), &error),
	   1, error);
	ok("member again",
	   pb_dir_roster_add(f->dir, PB_ROSTER_MEMBERS, dev,
			     key("MEMBER@example.net", true, &a), &error),
	   0, error);
	ok("poster",
	   pb_dir_roster_add(f->dir, PB_ROSTER_POSTERS, dev,
			     key("poster@example.net", true, &a), &error),
	   1, error);
	ok("both m",
	   pb_dir_roster_add(f->dir, PB_ROSTER_MEMBERS, dev,
			     key("both@example.net", true, &a), &error),
	   1, error);
	ok("both p",
	   pb_dir_roster_add(f->dir, PB_ROSTER_POSTERS, dev,
			     key("both@example.net", true, &a), &error),
	   1, error);
	ok("opsmember",
	   pb_dir_roster_add(f->dir, PB_ROSTER_MEMBERS, ops,
			     key("opsmember@example.net", true, &a), &error),
	   1, error);
	ok("roster of a missing list",
	   pb_dir_roster_add(f->dir, PB_ROSTER_MEMBERS, 9999, "x@example.net",
			     &error),
	   -1, error);
	for (size_t i = 0; i < N(cases); i++) {
		char what[200];

		snprintf(what, sizeof(what), "may_post %s (delims \"%s\") %s",
			 cases[i].sender, cases[i].delims,
			 cases[i].list == &dev ? "dev" : "ops");
		parse(cases[i].sender, cases[i].delims, true, &a);
		EXPECT_INT(what,
			   pb_dir_may_post(f->dir, *cases[i].list, &a, &error),
			   cases[i].want);
	}
	{
		pb_dir_list l;

		ok("get dev",
		   pb_dir_list_get(f->dir, "dev@lists.example.org", &l, &error),
		   1, error);
		EXPECT_INT("dev members", l.members, 2);
		EXPECT_INT("dev posters", l.posters, 2);
	}
	ok("del member",
	   pb_dir_roster_del(f->dir, PB_ROSTER_MEMBERS, dev,
			     "member@example.net", &error),
	   1, error);
	ok("del member again",
	   pb_dir_roster_del(f->dir, PB_ROSTER_MEMBERS, dev,
			     "member@example.net", &error),
	   0, error);
	parse("member@example.net", "+", true, &a);
	EXPECT_INT("may_post after del",
		   pb_dir_may_post(f->dir, dev, &a, &error), PB_POSTER_NONE);
}

typedef struct collect {
	char text[1024];
} collect;

/* collect_addr - append "addr," */
static int collect_addr(void *ctx, const char *address)
{
	collect *c = ctx;
	size_t n = strlen(c->text);

	snprintf(c->text + n, sizeof(c->text) - n, "%s,", address);
	return 0;
}

/* collect_domain - append "domain[*]," */
static int collect_domain(void *ctx, const char *domain, bool catch_all)
{
	collect *c = ctx;
	size_t n = strlen(c->text);

	snprintf(c->text + n, sizeof(c->text) - n, "%s%s,", domain,
		 catch_all ? "*" : "");
	return 0;
}

/* collect_list - append "address:policy:members/posters," */
static int collect_list(void *ctx, const pb_dir_list *l)
{
	collect *c = ctx;
	size_t n = strlen(c->text);

	snprintf(c->text + n, sizeof(c->text) - n, "%s:%s:%lld/%lld,",
		 l->address, pb_list_policy_name(l->policy), l->members,
		 l->posters);
	return 0;
}

/* test_del_and_each - deletions and the listing calls. */
static void test_del_and_each(void **state)
{
	fixture *f = *state;
	const char *error = NULL;
	long long dev;
	collect c;
	pb_addr a;
	pb_dir_rcpt out;

	add_domain(f->dir, "example.org", false);
	add_domain(f->dir, "b.example.org", true);
	add_recipient(f->dir, "zed@example.org", true);
	add_recipient(f->dir, "amy@example.org", true);
	ok("recipient add again",
	   pb_dir_recipient_add(f->dir, "amy@example.org", &error), 0, error);
	dev = add_list(f->dir, "dev@example.org", PB_POLICY_MEMBERS, NULL);
	ok("m",
	   pb_dir_roster_add(f->dir, PB_ROSTER_MEMBERS, dev, "m@x.org", &error),
	   1, error);
	ok("p",
	   pb_dir_roster_add(f->dir, PB_ROSTER_POSTERS, dev, "p@x.org", &error),
	   1, error);

	memset(&c, 0, sizeof(c));
	ok("domain each",
	   pb_dir_domain_each(f->dir, collect_domain, &c, &error), 0, error);
	EXPECT_STR("domains", c.text, "b.example.org*,example.org,");
	memset(&c, 0, sizeof(c));
	ok("recipient each",
	   pb_dir_recipient_each(f->dir, collect_addr, &c, &error), 0, error);
	EXPECT_STR("recipients", c.text, "amy@example.org,zed@example.org,");
	memset(&c, 0, sizeof(c));
	ok("list each", pb_dir_list_each(f->dir, collect_list, &c, &error), 0,
	   error);
	EXPECT_STR("lists", c.text, "dev@example.org:members:1/1,");
	memset(&c, 0, sizeof(c));
	ok("member each",
	   pb_dir_roster_each(f->dir, PB_ROSTER_MEMBERS, dev, collect_addr, &c,
			      &error),
	   0, error);
	EXPECT_STR("members", c.text, "m@x.org,");

	ok("recipient get",
	   pb_dir_recipient_get(f->dir, "amy@example.org", &error), 1, error);
	ok("recipient del",
	   pb_dir_recipient_del(f->dir, "amy@example.org", &error), 1, error);
	ok("recipient del again",
	   pb_dir_recipient_del(f->dir, "amy@example.org", &error), 0, error);
	ok("recipient get after del",
	   pb_dir_recipient_get(f->dir, "amy@example.org", &error), 0, error);
	parse("amy@example.org", "+", true, &a);
	ok("lookup", pb_dir_lookup_rcpt(f->dir, &a, &out, &error), 0, error);
	EXPECT_INT("amy after del", out.kind, PB_RCPT_UNKNOWN);

	ok("list del", pb_dir_list_del(f->dir, "dev@example.org", &error), 1,
	   error);
	ok("list del again", pb_dir_list_del(f->dir, "dev@example.org", &error),
	   0, error);
	parse("dev@example.org", "+", true, &a);
	ok("lookup", pb_dir_lookup_rcpt(f->dir, &a, &out, &error), 0, error);
	EXPECT_INT("dev after del", out.kind, PB_RCPT_UNKNOWN);
	parse("dev-owner@example.org", "+", true, &a);
	ok("lookup", pb_dir_lookup_rcpt(f->dir, &a, &out, &error), 0, error);
	EXPECT_INT("dev-owner after del", out.kind, PB_RCPT_UNKNOWN);
	parse("m@x.org", "+", true, &a);
	EXPECT_INT("member of a deleted list",
		   pb_dir_may_post(f->dir, dev, &a, &error), PB_POSTER_NONE);
	/* a new list does not inherit the old one's roster */
	{
		long long again = add_list(f->dir, "dev@example.org",
					   PB_POLICY_MEMBERS, NULL);

		EXPECT_INT("member of the re-added list",
			   pb_dir_may_post(f->dir, again, &a, &error),
			   PB_POSTER_NONE);
	}
}

/* test_transaction - rollback undoes, commit keeps. */
static void test_transaction(void **state)
{
	fixture *f = *state;
	const char *error = NULL;

	add_domain(f->dir, "example.org", false);
	ok("begin", pb_dir_begin(f->dir, &error), 0, error);
	ok("add", pb_dir_recipient_add(f->dir, "a@example.org", &error), 1,
	   error);
	pb_dir_rollback(f->dir);
	ok("get after rollback",
	   pb_dir_recipient_get(f->dir, "a@example.org", &error), 0, error);
	ok("begin", pb_dir_begin(f->dir, &error), 0, error);
	ok("add", pb_dir_recipient_add(f->dir, "a@example.org", &error), 1,
	   error);
	ok("commit", pb_dir_commit(f->dir, &error), 0, error);
	ok("get after commit",
	   pb_dir_recipient_get(f->dir, "a@example.org", &error), 1, error);
	pb_dir_rollback(f->dir); /* nothing open: harmless */
}

/* open_ro - open an existing database read-only (as the daemon does). */
static int open_ro(const char *path, int busy, pb_dir **dir, const char **error)
{
	pb_dir_opts o = {.busy_timeout = busy, .readonly = true};

	return pb_dir_open(path, &o, dir, error);
}

/* test_open_errors - missing, empty, garbage, foreign files. */
static void test_open_errors(void **state)
{
	fixture *f = *state;
	pb_dir_opts create = {.busy_timeout = 50, .create = true};
	pb_dir_opts rw = {.busy_timeout = 50};
	const char *error = NULL;
	pb_dir *d = NULL;
	char p[256];
	struct stat sb;
	int fd;

	/* missing file, no create: an error, and no file appears */
	snprintf(p, sizeof(p), "%s/missing.db", f->tmp);
	ok("missing ro", open_ro(p, 50, &d, &error), -1, NULL);
	if (error == NULL || strstr(error, p) == NULL)
		fail_msg("missing: error does not name the file: %s",
			 error ? error : "(null)");
	ok("missing rw", pb_dir_open(p, &rw, &d, &error), -1, NULL);
	if (d != NULL)
		fail_msg("missing: handle returned with an error");
	EXPECT_INT("missing file created", stat(p, &sb), -1);

	/* create in a directory that does not exist: an error */
	snprintf(p, sizeof(p), "%s/nodir/x.db", f->tmp);
	ok("no directory", pb_dir_open(p, &create, &d, &error), -1, NULL);

	/* created with mode 0640 (umask 022) */
	snprintf(p, sizeof(p), "%s/new.db", f->tmp);
	ok("create", pb_dir_open(p, &create, &d, &error), 0, error);
	pb_dir_free(&d);
	EXPECT_INT("stat", stat(p, &sb), 0);
	EXPECT_INT("mode of a new database", sb.st_mode & 07777, 0640);
	ok("reopen ro", open_ro(p, 50, &d, &error), 0, error);
	pb_dir_free(&d);

	/* an empty file is not a directory unless we create it */
	snprintf(p, sizeof(p), "%s/empty.db", f->tmp);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	close(fd);
	ok("empty ro", open_ro(p, 50, &d, &error), -1, NULL);
	ok("empty rw", pb_dir_open(p, &rw, &d, &error), -1, NULL);

	/* garbage */
	snprintf(p, sizeof(p), "%s/garbage.db", f->tmp);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	for (int i = 0; i < 64; i++)
		if (write(fd, "this is not a database, not at all\n", 35) != 35)
			fail_msg("write garbage");
	close(fd);
	ok("garbage ro", open_ro(p, 50, &d, &error), -1, NULL);
	ok("garbage rw", pb_dir_open(p, &rw, &d, &error), -1, NULL);
	ok("garbage create", pb_dir_open(p, &create, &d, &error), -1, NULL);
	EXPECT_INT("garbage kept", stat(p, &sb) == 0 && sb.st_size == 64 * 35,
		   1);

	/* a SQLite database of someone else */
	snprintf(p, sizeof(p), "%s/foreign.db", f->tmp);
	{
		sqlite3 *db = NULL;

		if (sqlite3_open(p, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL) !=
			SQLITE_OK)
			fail_msg("make foreign db");
		sqlite3_close(db);
	}
	ok("foreign ro", open_ro(p, 50, &d, &error), -1, NULL);
	ok("foreign create", pb_dir_open(p, &create, &d, &error), -1, NULL);
	if (error == NULL || strstr(error, "not a pushback") == NULL)
		fail_msg("foreign: got error \"%s\", want \"not a pushback "
			 "database\"",
			 error ? error : "(null)");
	/* ... and left as it was: not switched to WAL */
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;
		char mode[16] = "";

		if (sqlite3_open(p, &db) == SQLITE_OK &&
		    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
				       NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			snprintf(mode, sizeof(mode), "%s",
				 (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		sqlite3_close(db);
		EXPECT_STR("journal mode of the foreign database", mode,
			   "delete");
	}
}

/* elapsed_ms - milliseconds since t0. */
static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* lookup_locked - a lookup on a locked database: -1 with an error that
 * says so, after waiting about busy_timeout (50 ms). */
static void lookup_locked(const char *what, pb_dir *dir, const char *addr)
{
	const char *error = NULL;
	struct timespec t0;
	pb_dir_rcpt out;
	pb_addr a;
	long ms;
	int r;

	parse(addr, "+", true, &a);
	out.kind = PB_RCPT_UNKNOWN;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = pb_dir_lookup_rcpt(dir, &a, &out, &error);
	ms = elapsed_ms(&t0);
	if (r != -1)
		fail_msg("%s: lookup: got %d (kind %s), want -1", what, r,
			 kind_names[out.kind]);
	if (error == NULL || strstr(error, "lock") == NULL)
		fail_msg("%s: error \"%s\", want one saying locked", what,
			 error ? error : "(null)");
	if (ms < 40)
		fail_msg("%s: gave up after %ld ms, want >= busy_timeout (50)",
			 what, ms);
	error = NULL;
	r = pb_dir_may_post(dir, 1, &a, &error);
	if (r != -1 || error == NULL)
		fail_msg("%s: may_post: got %d, want -1 with an error", what,
			 r);
}

/* lookup_kind - a lookup that must succeed with kind. */
static void lookup_kind(const char *what, pb_dir *dir, const char *addr,
			pb_rcpt_kind kind)
{
	const char *error = NULL;
	pb_dir_rcpt out;
	pb_addr a;

	parse(addr, "+", true, &a);
	ok(what, pb_dir_lookup_rcpt(dir, &a, &out, &error), 0, error);
	if (out.kind != kind)
		fail_msg("%s: kind: got %s, want %s", what,
			 kind_names[out.kind], kind_names[kind]);
}

/* test_locked_rollback_journal - a database not in WAL mode (someone ran
 * journal_mode = DELETE): another connection's exclusive transaction
 * shuts out an open handle's lookups. */
static void test_locked_rollback_journal(void **state)
{
	fixture *f = *state;
	const char *error = NULL;
	pb_dir *ro = NULL;
	sqlite3 *locker = NULL;

	add_domain(f->dir, "example.org", false);
	add_recipient(f->dir, "alice@example.org", true);
	pb_dir_free(&f->dir);
	if (sqlite3_open(f->path, &locker) != SQLITE_OK ||
	    sqlite3_exec(locker, "PRAGMA journal_mode = DELETE", NULL, NULL,
			 NULL) != SQLITE_OK)
		fail_msg("leave WAL mode: %s", sqlite3_errmsg(locker));

	ok("open ro", open_ro(f->path, 50, &ro, &error), 0, error);
	lookup_kind("before lock", ro, "alice@example.org", PB_RCPT_ADDRESS);
	if (sqlite3_exec(
		locker,
		"BEGIN EXCLUSIVE;"
		"INSERT INTO recipients VALUES ('locked@example.org');",
		NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("take the lock: %s", sqlite3_errmsg(locker));
	lookup_locked("rollback journal, exclusive transaction", ro,
		      "alice@example.org");
	/* with an extension the probes share a read transaction */
	lookup_locked("rollback journal, exclusive transaction", ro,
		      "alice+ext@example.org");
	lookup_locked("rollback journal, exclusive transaction", ro,
		      "dev-owner@example.org");
	sqlite3_exec(locker, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(locker);
	lookup_kind("after unlock", ro, "alice@example.org", PB_RCPT_ADDRESS);
	lookup_kind("locker's commit seen", ro, "locked@example.org",
		    PB_RCPT_ADDRESS);
	lookup_kind("locker's commit seen", ro, "locked+x@example.org",
		    PB_RCPT_ADDRESS);
	/* the failed lookups left no transaction open: a writer gets in
	 * and its change is seen */
	if (sqlite3_open(f->path, &locker) != SQLITE_OK ||
	    sqlite3_exec(locker,
			 "INSERT INTO recipients VALUES ('later@example.org')",
			 NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("write after the lock: got \"%s\", want success",
			 sqlite3_errmsg(locker));
	sqlite3_close(locker);
	lookup_kind("later write seen", ro, "later@example.org",
		    PB_RCPT_ADDRESS);
	pb_dir_free(&ro);
}

/* test_locked_exclusive_mode - WAL: a connection in exclusive locking
 * mode holds the file; opening a handle fails after busy_timeout. */
static void test_locked_exclusive_mode(void **state)
{
	fixture *f = *state;
	const char *error = NULL;
	pb_dir *ro = NULL;
	sqlite3 *locker = NULL;
	struct timespec t0;
	long ms;

	add_domain(f->dir, "example.org", false);
	pb_dir_free(&f->dir);
	if (sqlite3_open(f->path, &locker) != SQLITE_OK ||
	    sqlite3_exec(
		locker,
		"PRAGMA locking_mode = EXCLUSIVE;"
		"BEGIN EXCLUSIVE;"
		"INSERT INTO recipients VALUES ('locked@example.org');",
		NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("take the lock: %s", sqlite3_errmsg(locker));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok("open under lock", open_ro(f->path, 50, &ro, &error), -1, NULL);
	ms = elapsed_ms(&t0);
	if (error == NULL || strstr(error, "lock") == NULL)
		fail_msg("open under lock: error \"%s\", want one saying "
			 "locked",
			 error ? error : "(null)");
	if (ms < 40)
		fail_msg("open under lock gave up after %ld ms, want >= 50",
			 ms);
	sqlite3_exec(locker, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(locker);
	ok("open after unlock", open_ro(f->path, 50, &ro, &error), 0, error);
	lookup_kind("locker's commit seen", ro, "locked@example.org",
		    PB_RCPT_ADDRESS);
	pb_dir_free(&ro);
}

/* test_live_changes - a handle opened before a change sees it at once
 * (how the CLI's changes reach the running daemon). */
static void test_live_changes(void **state)
{
	fixture *f = *state;
	const char *error = NULL;
	pb_dir *daemon = NULL;
	pb_dir_rcpt out;
	long long id;
	pb_addr a, s;

	add_domain(f->dir, "example.org", false);
	ok("open daemon handle", open_ro(f->path, 50, &daemon, &error), 0,
	   error);
	parse("new@example.org", "+", true, &a);
	ok("lookup", pb_dir_lookup_rcpt(daemon, &a, &out, &error), 0, error);
	EXPECT_INT("before add", out.kind, PB_RCPT_UNKNOWN);

	add_recipient(f->dir, "new@example.org", true);
	ok("lookup", pb_dir_lookup_rcpt(daemon, &a, &out, &error), 0, error);
	EXPECT_INT("after add", out.kind, PB_RCPT_ADDRESS);

	id = add_list(f->dir, "dev@example.org", PB_POLICY_CLOSED, NULL);
	parse("dev@example.org", "+", true, &a);
	ok("lookup", pb_dir_lookup_rcpt(daemon, &a, &out, &error), 0, error);
	EXPECT_INT("list seen", out.kind, PB_RCPT_LIST);
	EXPECT_STR("policy seen", pb_list_policy_name(out.policy), "closed");
	parse("p@example.net", "+", true, &s);
	EXPECT_INT("not yet a poster", pb_dir_may_post(daemon, id, &s, &error),
		   PB_POSTER_NONE);
	ok("poster add",
	   pb_dir_roster_add(f->dir, PB_ROSTER_POSTERS, id, s.full, &error), 1,
	   error);
	EXPECT_INT("poster seen", pb_dir_may_post(daemon, id, &s, &error),
		   PB_POSTER_ALLOWED);
	ok("set",
	   pb_dir_list_set(f->dir, "dev@example.org", PB_POLICY_OPEN, NULL,
			   &error),
	   1, error);
	ok("lookup", pb_dir_lookup_rcpt(daemon, &a, &out, &error), 0, error);
	EXPECT_STR("policy change seen", pb_list_policy_name(out.policy),
		   "open");
	ok("domain del", pb_dir_domain_del(f->dir, "example.org", &error), 1,
	   error);
	ok("lookup", pb_dir_lookup_rcpt(daemon, &a, &out, &error), 0, error);
	EXPECT_INT("domain del seen", out.protected_domain, 0);

	/* the daemon's handle cannot write */
	EXPECT_INT("write through a read-only handle",
		   pb_dir_recipient_add(daemon, "x@example.org", &error), -1);
	pb_dir_free(&daemon);
}

/* test_policy_names - name and parse are inverse; unknown is -1. */
static void test_policy_names(void **state)
{
	static const struct {
		pb_list_policy p;
		const char *name;
	} t[] = {
	    {PB_POLICY_OPEN, "open"},
	    {PB_POLICY_MEMBERS, "members"},
	    {PB_POLICY_MODERATED, "moderated"},
	    {PB_POLICY_CLOSED, "closed"},
	};

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		EXPECT_STR("name", pb_list_policy_name(t[i].p), t[i].name);
		EXPECT_INT(t[i].name, pb_list_policy_parse(t[i].name),
			   (int)t[i].p);
	}
	EXPECT_INT("parse Open", pb_list_policy_parse("Open"), -1);
	EXPECT_INT("parse ''", pb_list_policy_parse(""), -1);
	EXPECT_INT("parse member", pb_list_policy_parse("member"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recipients, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_case_folding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_companions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_posters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_del_and_each, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_locked_rollback_journal, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_locked_exclusive_mode, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_live_changes, setup, teardown),
	    cmocka_unit_test(test_policy_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
