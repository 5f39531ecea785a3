/*
 * cli_admin - `pushback domain|recipient|list|member|poster ...`: manage
 * the directory the daemon reads.
 *
 * Each command is a table of actions; one generic runner parses the
 * options, opens the database the way the action needs (created only by
 * add, import and set, so a mistyped path for list/show/del is an error,
 * not a new empty database), runs the action in one transaction and
 * commits.  Addresses are stored as pb_addr_parse's full form, never
 * stripped, folded unless case_sensitive_local_parts.
 *
 * Output: what was done on stdout; notes ("already present", "protecting
 * domain") and errors on stderr.  Exit: 0 ok, 1 not found / refused, 2
 * usage or backend error (then nothing is changed).
 *
 * Memory: everything is freed before an action returns.  Single-threaded.
 * SECURITY: arguments and import files are the administrator's input;
 * every address goes through pb_addr_parse, every domain through
 * pb_domain_normalise, and reaches SQLite only as a bound parameter.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cli.h"
#include "core/addr.h"
#include "core/log.h"
#include "directory/dir.h"

/* How an action opens the database. */
typedef enum open_mode {
	OPEN_READ,   /* existing database, read-only */
	OPEN_WRITE,  /* existing database, read-write */
	OPEN_CREATE, /* create file and schema when missing */
} open_mode;

/* Options an action accepts. */
enum {
	OPT_CATCH_ALL = 1 << 0,
	OPT_POLICY = 1 << 1,
	OPT_OWNER = 1 << 2,
	OPT_CHECK_SENDER = 1 << 3,
};

typedef struct cli {
	const pb_config *cfg;
	const char *cmd;    /* "domain", "recipient", ... */
	const char *action; /* "add", "del", ... */
	pb_addr_opts aopts; /* how addresses are stored */
	pb_dir *dir;
	bool catch_all;
	const char *policy;	  /* --policy, or NULL */
	const char *owner;	  /* --owner, or NULL */
	const char *check_sender; /* --check-sender, or NULL */
	char **args;		  /* positional arguments after the action */
	int nargs;
	char done[160]; /* summary printed once the change is committed */
} cli;

typedef struct action {
	const char *name;
	open_mode mode;
	int min_args, max_args; /* max -1: any number */
	unsigned opts;		/* options accepted */
	unsigned need;		/* at least one of these must be given */
	int (*fn)(cli *c);
} action;

/* note - a remark on stderr that is not an error. */
static void note(const cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(const cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pushback %s%s%s: note: ", c->cmd, c->action ? " " : "",
		c->action ? c->action : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* complain - an error on stderr; returns code. */
static int complain(const cli *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int complain(const cli *c, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pushback %s%s%s: ", c->cmd, c->action ? " " : "",
		c->action ? c->action : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* backend - a directory error: exit 2. */
static int backend(const cli *c, const char *error)
{
	return complain(c, 2, "%s", error ? error : "directory error");
}

/* parse_addr - one address argument in stored form; -1 with a message. */
static int parse_addr(const cli *c, const char *s, pb_addr *a)
{
	pb_addr_err err = pb_addr_parse(s, strlen(s), &c->aopts, a);

	if (err != PB_ADDR_OK) {
		complain(c, 2, "bad address '%s': %s", s,
			 pb_addr_strerror(err));
		return -1;
	}
	return 0;
}

/* parse_addrs - every argument from first on; NULL (after a message) when
 * one is bad, so nothing is changed. */
static pb_addr *parse_addrs(const cli *c, int first)
{
	int n = c->nargs - first;
	pb_addr *a = calloc(n > 0 ? (size_t)n : 1, sizeof(*a));

	if (a == NULL) {
		complain(c, 2, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		if (parse_addr(c, c->args[first + i], &a[i]) < 0) {
			free(a);
			return NULL;
		}
	}
	return a;
}

/* parse_domain - one domain argument; -1 with a message. */
static int parse_domain(const cli *c, const char *s, char *out, size_t cap)
{
	if (pb_domain_normalise(s, strlen(s), out, cap) < 0) {
		complain(c, 2, "bad domain '%s'", s);
		return -1;
	}
	return 0;
}

/* check_domain - note when an address's domain is not protected (its
 * entry would never be consulted).  Returns -1 on a backend error. */
static int check_domain(cli *c, const char *domain)
{
	const char *error = NULL;
	int r = pb_dir_domain_get(c->dir, domain, NULL, &error);

	if (r < 0)
		return backend(c, error), -1;
	if (r == 0)
		note(c,
		     "domain %s is not protected, so the daemon ignores "
		     "addresses in it; protect it with 'pushback domain add "
		     "%s'",
		     domain, domain);
	return 0;
}

/* get_list - the list named by args[0]; 0 with a message when absent. */
static int get_list(cli *c, pb_dir_list *l)
{
	const char *error = NULL;
	pb_addr a;
	int r;

	if (parse_addr(c, c->args[0], &a) < 0)
		return -2;
	r = pb_dir_list_get(c->dir, a.full, l, &error);
	if (r < 0)
		return backend(c, error), -1;
	if (r == 0)
		complain(c, 1, "no list %s", a.full);
	return r;
}

/* list_status - exit code for get_list's result when it is not 1. */
static int list_status(int r)
{
	return r == 0 ? 1 : 2;
}

/* ---- domain ---- */

/* domain_add - protect each domain (set catch-all as asked). */
static int domain_add(cli *c)
{
	char d[PB_DOMAIN_MAX + 1];
	const char *error = NULL;

	for (int i = 0; i < c->nargs; i++)
		if (parse_domain(c, c->args[i], d, sizeof(d)) < 0)
			return 2;
	for (int i = 0; i < c->nargs; i++) {
		parse_domain(c, c->args[i], d, sizeof(d));
		switch (pb_dir_domain_add(c->dir, d, c->catch_all, &error)) {
		case 1:
			printf("added domain %s%s\n", d,
			       c->catch_all ? " (catch-all)" : "");
			break;
		case 2:
			printf("domain %s: catch-all turned %s\n", d,
			       c->catch_all ? "on" : "off");
			break;
		case 0:
			note(c, "domain %s is already protected%s", d,
			     c->catch_all ? " (catch-all)" : "");
			break;
		default:
			return backend(c, error);
		}
	}
	return 0;
}

/* domain_del - stop protecting each domain. */
static int domain_del(cli *c)
{
	char d[PB_DOMAIN_MAX + 1];
	const char *error = NULL;
	int rc = 0;

	for (int i = 0; i < c->nargs; i++)
		if (parse_domain(c, c->args[i], d, sizeof(d)) < 0)
			return 2;
	for (int i = 0; i < c->nargs; i++) {
		parse_domain(c, c->args[i], d, sizeof(d));
		switch (pb_dir_domain_del(c->dir, d, &error)) {
		case 1:
			printf("deleted domain %s\n", d);
			note(c,
			     "recipients and lists in %s are kept but no "
			     "longer consulted",
			     d);
			break;
		case 0:
			rc = complain(c, 1, "domain %s is not protected", d);
			break;
		default:
			return backend(c, error);
		}
	}
	return rc;
}

/* print_domain - one line of `domain list`. */
static int print_domain(void *ctx, const char *domain, bool catch_all)
{
	(void)ctx;
	printf("%s%s\n", domain, catch_all ? " catch-all" : "");
	return 0;
}

/* domain_list - all protected domains, or those named. */
static int domain_list(cli *c)
{
	char d[PB_DOMAIN_MAX + 1];
	const char *error = NULL;
	bool ca = false;
	int rc = 0;

	if (c->nargs == 0)
		return pb_dir_domain_each(c->dir, print_domain, NULL, &error) <
			       0
			   ? backend(c, error)
			   : 0;
	for (int i = 0; i < c->nargs; i++) {
		if (parse_domain(c, c->args[i], d, sizeof(d)) < 0)
			return 2;
		switch (pb_dir_domain_get(c->dir, d, &ca, &error)) {
		case 1:
			print_domain(NULL, d, ca);
			break;
		case 0:
			rc = complain(c, 1, "domain %s is not protected", d);
			break;
		default:
			return backend(c, error);
		}
	}
	return rc;
}

/* ---- recipient ---- */

/* recipient_add - add each address. */
static int recipient_add(cli *c)
{
	pb_addr *a = parse_addrs(c, 0);
	const char *error = NULL;
	int rc = 0;

	if (a == NULL)
		return 2;
	for (int i = 0; i < c->nargs && rc == 0; i++) {
		switch (pb_dir_recipient_add(c->dir, a[i].full, &error)) {
		case 1:
			printf("added recipient %s\n", a[i].full);
			break;
		case 0:
			note(c, "recipient %s is already present", a[i].full);
			break;
		default:
			rc = backend(c, error);
			continue;
		}
		if (check_domain(c, a[i].domain) < 0)
			rc = 2;
	}
	free(a);
	return rc;
}

/* recipient_del - delete each address. */
static int recipient_del(cli *c)
{
	pb_addr *a = parse_addrs(c, 0);
	const char *error = NULL;
	int rc = 0;

	if (a == NULL)
		return 2;
	for (int i = 0; i < c->nargs && rc != 2; i++) {
		switch (pb_dir_recipient_del(c->dir, a[i].full, &error)) {
		case 1:
			printf("deleted recipient %s\n", a[i].full);
			break;
		case 0:
			rc = complain(c, 1, "no recipient %s", a[i].full);
			break;
		default:
			rc = backend(c, error);
			break;
		}
	}
	free(a);
	return rc;
}

/* print_address - one address a line. */
static int print_address(void *ctx, const char *address)
{
	(void)ctx;
	return puts(address) < 0 ? -1 : 0;
}

/* recipient_list - all recipients, or those named that exist. */
static int recipient_list(cli *c)
{
	const char *error = NULL;
	pb_addr *a;
	int rc = 0;

	if (c->nargs == 0)
		return pb_dir_recipient_each(c->dir, print_address, NULL,
					     &error) < 0
			   ? backend(c, error)
			   : 0;
	a = parse_addrs(c, 0);
	if (a == NULL)
		return 2;
	for (int i = 0; i < c->nargs && rc != 2; i++) {
		switch (pb_dir_recipient_get(c->dir, a[i].full, &error)) {
		case 1:
			puts(a[i].full);
			break;
		case 0:
			rc = complain(c, 1, "no recipient %s", a[i].full);
			break;
		default:
			rc = backend(c, error);
			break;
		}
	}
	free(a);
	return rc;
}

/* ---- import (recipients, members, posters) ---- */

typedef struct importer importer;
struct importer {
	/* add one address: 1 added, 0 present, -1 error */
	int (*add)(cli *c, const importer *imp, const pb_addr *a,
		   const char **error_r);
	long long list_id;
	pb_dir_roster roster;
	bool check_domains;
	char last_domain[PB_DOMAIN_MAX + 1]; /* last domain checked */
	int domain_notes;
};

/* import_recipient - importer callback for recipients. */
static int import_recipient(cli *c, const importer *imp, const pb_addr *a,
			    const char **error_r)
{
	(void)imp;
	return pb_dir_recipient_add(c->dir, a->full, error_r);
}

/* trim - strip leading and trailing white space (and a CR) in place. */
static char *trim(char *s, size_t *len)
{
	while (*len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r' ||
			    s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

/* import_file - one address a line from path ("-" is stdin); blank lines
 * and '#' comment lines are skipped, bad lines reported and counted.  The
 * caller's transaction makes the import all or nothing on a backend
 * error. */
static int import_file(cli *c, const char *path, importer *imp)
{
	const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	long long lineno = 0, imported = 0, skipped = 0, present = 0;
	char safe[128];
	const char *error = NULL;
	char *line = NULL, *s;
	size_t cap = 0, len;
	ssize_t n;
	pb_addr a;
	int rc = 0;

	if (in == NULL)
		return complain(c, 2, "%s: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, in)) >= 0) {
		pb_addr_err err;

		lineno++;
		len = (size_t)n;
		s = trim(line, &len);
		if (len == 0 || s[0] == '#')
			continue;
		err = pb_addr_parse(s, len, &c->aopts, &a);
		if (err != PB_ADDR_OK) {
			fprintf(stderr,
				"pushback %s %s: %s:%lld: bad address "
				"'%s': %s\n",
				c->cmd, c->action, name, lineno,
				pb_log_safe(s, len, safe, sizeof(safe)),
				pb_addr_strerror(err));
			skipped++;
			continue;
		}
		switch (imp->add(c, imp, &a, &error)) {
		case 1:
			break;
		case 0:
			present++;
			break;
		default:
			rc = backend(c, error);
			goto out;
		}
		imported++;
		if (imp->check_domains &&
		    strcmp(a.domain, imp->last_domain) != 0) {
			/* One probe per run of equal domains; notes capped. */
			snprintf(imp->last_domain, sizeof(imp->last_domain),
				 "%s", a.domain);
			if (pb_dir_domain_get(c->dir, a.domain, NULL, &error) ==
				0 &&
			    imp->domain_notes++ < 5)
				note(c,
				     "%s:%lld: domain %s is not protected, "
				     "so the daemon ignores addresses in it",
				     name, lineno, a.domain);
		}
	}
	if (ferror(in))
		rc =
		    complain(c, 2, "%s: read error: %s", name, strerror(errno));
out:
	free(line);
	if (in != stdin)
		fclose(in);
	if (rc != 0)
		return rc;
	if (present > 0)
		note(c, "%lld of them were already present", present);
	snprintf(c->done, sizeof(c->done), "imported %lld, skipped %lld",
		 imported, skipped);
	return 0;
}

/* recipient_import - recipients from a file. */
static int recipient_import(cli *c)
{
	importer imp = {.add = import_recipient, .check_domains = true};

	return import_file(c, c->args[0], &imp);
}

/* ---- list ---- */

/* parse_policy - --policy's value; -1 with a usage message. */
static int parse_policy(const cli *c)
{
	int p = pb_list_policy_parse(c->policy);

	if (p < 0)
		complain(c, 2,
			 "bad policy '%s': open, members, moderated or closed",
			 c->policy);
	return p;
}

/* parse_check_sender - --check-sender's value (PB_CHECK_ANY when not
 * given); -1 with a usage message. */
static int parse_check_sender(const cli *c)
{
	int v;

	if (c->check_sender == NULL)
		return PB_CHECK_ANY;
	v = pb_check_sender_parse(c->check_sender);
	if (v < 0) {
		complain(c, 2,
			 "bad --check-sender '%s': envelope, headers or any",
			 c->check_sender);
		return -1;
	}
	return v;
}

/* parse_owner - --owner's value into out (stored form); "" stays "". */
static int parse_owner(const cli *c, char *out, size_t cap)
{
	pb_addr o;

	out[0] = '\0';
	if (c->owner == NULL || c->owner[0] == '\0')
		return 0;
	if (parse_addr(c, c->owner, &o) < 0)
		return -1;
	snprintf(out, cap, "%s", o.full);
	return 0;
}

/* list_add - a new list; its domain becomes protected. */
static int list_add(cli *c)
{
	char owner[PB_ADDR_MAX + 1];
	const char *error = NULL;
	pb_dir_list l;
	pb_addr a;
	int policy, check, r;

	policy = parse_policy(c);
	check = parse_check_sender(c);
	if (policy < 0 || check < 0 || parse_addr(c, c->args[0], &a) < 0 ||
	    parse_owner(c, owner, sizeof(owner)) < 0)
		return 2;
	r = pb_dir_list_add(c->dir, a.full, (pb_list_policy)policy, owner,
			    &error);
	if (r < 0)
		return backend(c, error);
	if (r > 0 && check != PB_CHECK_ANY &&
	    pb_dir_list_set_check_sender(c->dir, a.full, (pb_check_sender)check,
					 &error) < 0)
		return backend(c, error);
	if (pb_dir_list_get(c->dir, a.full, &l, &error) <= 0)
		return backend(c, error ? error : "list vanished");
	if (r == 0) {
		if ((int)l.policy == policy && strcmp(l.owner, owner) == 0 &&
		    strcmp(l.check_sender,
			   pb_check_sender_name((pb_check_sender)check)) == 0) {
			note(c, "list %s already exists", a.full);
			return 0;
		}
		return complain(c, 1,
				"list %s already exists with policy %s, "
				"owner %s; change it with 'pushback list set'",
				a.full, pb_list_policy_name(l.policy),
				l.owner_effective);
	}
	printf("added list %s (policy %s, owner %s, check_sender %s)\n",
	       l.address, pb_list_policy_name(l.policy), l.owner_effective,
	       l.check_sender);
	r = pb_dir_domain_get(c->dir, a.domain, NULL, &error);
	if (r < 0)
		return backend(c, error);
	if (r == 0) {
		if (pb_dir_domain_add(c->dir, a.domain, false, &error) < 0)
			return backend(c, error);
		note(c, "domain %s is now protected (for list %s)", a.domain,
		     a.full);
	}
	return 0;
}

/* list_set - change policy and/or owner. */
static int list_set(cli *c)
{
	char owner[PB_ADDR_MAX + 1];
	const char *error = NULL;
	pb_dir_list l;
	pb_addr a;
	int policy = -1, check = -1, r;

	if (c->policy != NULL && (policy = parse_policy(c)) < 0)
		return 2;
	if (c->check_sender != NULL && (check = parse_check_sender(c)) < 0)
		return 2;
	if (parse_addr(c, c->args[0], &a) < 0 ||
	    parse_owner(c, owner, sizeof(owner)) < 0)
		return 2;
	r = pb_dir_list_set(c->dir, a.full, policy,
			    c->owner != NULL ? owner : NULL, &error);
	if (r < 0)
		return backend(c, error);
	if (r == 0)
		return complain(c, 1, "no list %s", a.full);
	if (check >= 0 &&
	    pb_dir_list_set_check_sender(c->dir, a.full, (pb_check_sender)check,
					 &error) < 0)
		return backend(c, error);
	if (pb_dir_list_get(c->dir, a.full, &l, &error) <= 0)
		return backend(c, error ? error : "list vanished");
	printf("list %s: policy %s, owner %s%s, check_sender %s\n", l.address,
	       pb_list_policy_name(l.policy), l.owner_effective,
	       l.owner[0] == '\0' ? " (default)" : "", l.check_sender);
	return 0;
}

/* list_del - a list with its members and posters. */
static int list_del(cli *c)
{
	const char *error = NULL;
	pb_dir_list l;
	int r = get_list(c, &l);

	if (r != 1)
		return list_status(r);
	if (pb_dir_list_del(c->dir, l.address, &error) != 1)
		return backend(c, error ? error : "list vanished");
	printf("deleted list %s (%lld members, %lld allowed posters)\n",
	       l.address, l.members, l.posters);
	return 0;
}

/* list_show - every field of one list. */
static int list_show(cli *c)
{
	pb_dir_list l;
	int r = get_list(c, &l);

	if (r != 1)
		return list_status(r);
	printf("list: %s\n"
	       "policy: %s\n"
	       "owner: %s%s\n"
	       "check_sender: %s\n"
	       "members: %lld\n"
	       "allowed posters: %lld\n",
	       l.address, pb_list_policy_name(l.policy), l.owner_effective,
	       l.owner[0] == '\0' ? " (default)" : "", l.check_sender,
	       l.members, l.posters);
	return 0;
}

/* print_list - one line of `list list`. */
static int print_list(void *ctx, const pb_dir_list *l)
{
	(void)ctx;
	printf("%s policy=%s owner=%s members=%lld posters=%lld\n", l->address,
	       pb_list_policy_name(l->policy), l->owner_effective, l->members,
	       l->posters);
	return 0;
}

/* list_list - every list. */
static int list_list(cli *c)
{
	const char *error = NULL;

	return pb_dir_list_each(c->dir, print_list, NULL, &error) < 0
		   ? backend(c, error)
		   : 0;
}

/* ---- member / poster ---- */

/* roster_of - which roster the command manages. */
static pb_dir_roster roster_of(const cli *c)
{
	return strcmp(c->cmd, "poster") == 0 ? PB_ROSTER_POSTERS
					     : PB_ROSTER_MEMBERS;
}

/* roster_word - "member" or "allowed poster". */
static const char *roster_word(const cli *c)
{
	return roster_of(c) == PB_ROSTER_POSTERS ? "allowed poster" : "member";
}

/* roster_add - add addresses to a list's roster. */
static int roster_add(cli *c)
{
	const char *error = NULL;
	pb_dir_list l;
	pb_addr *a;
	int r = get_list(c, &l), rc = 0;

	if (r != 1)
		return list_status(r);
	if ((a = parse_addrs(c, 1)) == NULL)
		return 2;
	for (int i = 0; i < c->nargs - 1 && rc == 0; i++) {
		switch (pb_dir_roster_add(c->dir, roster_of(c), l.id, a[i].full,
					  &error)) {
		case 1:
			printf("added %s %s to %s\n", roster_word(c), a[i].full,
			       l.address);
			break;
		case 0:
			note(c, "%s is already a%s %s of %s", a[i].full,
			     roster_of(c) == PB_ROSTER_POSTERS ? "n" : "",
			     roster_word(c), l.address);
			break;
		default:
			rc = backend(c, error);
			break;
		}
	}
	free(a);
	return rc;
}

/* roster_del - remove addresses from a list's roster. */
static int roster_del(cli *c)
{
	const char *error = NULL;
	pb_dir_list l;
	pb_addr *a;
	int r = get_list(c, &l), rc = 0;

	if (r != 1)
		return list_status(r);
	if ((a = parse_addrs(c, 1)) == NULL)
		return 2;
	for (int i = 0; i < c->nargs - 1 && rc != 2; i++) {
		switch (pb_dir_roster_del(c->dir, roster_of(c), l.id, a[i].full,
					  &error)) {
		case 1:
			printf("deleted %s %s from %s\n", roster_word(c),
			       a[i].full, l.address);
			break;
		case 0:
			rc = complain(c, 1, "%s is not a%s %s of %s", a[i].full,
				      roster_of(c) == PB_ROSTER_POSTERS ? "n"
									: "",
				      roster_word(c), l.address);
			break;
		default:
			rc = backend(c, error);
			break;
		}
	}
	free(a);
	return rc;
}

/* roster_list - a list's roster, one address a line. */
static int roster_list(cli *c)
{
	const char *error = NULL;
	pb_dir_list l;
	int r = get_list(c, &l);

	if (r != 1)
		return list_status(r);
	return pb_dir_roster_each(c->dir, roster_of(c), l.id, print_address,
				  NULL, &error) < 0
		   ? backend(c, error)
		   : 0;
}

/* import_roster - importer callback for members and posters. */
static int import_roster(cli *c, const importer *imp, const pb_addr *a,
			 const char **error_r)
{
	return pb_dir_roster_add(c->dir, imp->roster, imp->list_id, a->full,
				 error_r);
}

/* roster_import - a list's roster from a file. */
static int roster_import(cli *c)
{
	importer imp = {.add = import_roster, .roster = roster_of(c)};
	pb_dir_list l;
	int r = get_list(c, &l);

	if (r != 1)
		return list_status(r);
	imp.list_id = l.id;
	return import_file(c, c->args[1], &imp);
}

/* ---- the runner ---- */

static const action domain_actions[] = {
    {"add", OPEN_CREATE, 1, -1, OPT_CATCH_ALL, 0, domain_add},
    {"del", OPEN_WRITE, 1, -1, 0, 0, domain_del},
    {"list", OPEN_READ, 0, -1, 0, 0, domain_list},
    {NULL, 0, 0, 0, 0, 0, NULL},
};

static const action recipient_actions[] = {
    {"add", OPEN_CREATE, 1, -1, 0, 0, recipient_add},
    {"del", OPEN_WRITE, 1, -1, 0, 0, recipient_del},
    {"list", OPEN_READ, 0, -1, 0, 0, recipient_list},
    {"import", OPEN_CREATE, 1, 1, 0, 0, recipient_import},
    {NULL, 0, 0, 0, 0, 0, NULL},
};

static const action list_actions[] = {
    {"add", OPEN_CREATE, 1, 1, OPT_POLICY | OPT_OWNER | OPT_CHECK_SENDER,
     OPT_POLICY, list_add},
    {"set", OPEN_CREATE, 1, 1, OPT_POLICY | OPT_OWNER | OPT_CHECK_SENDER,
     OPT_POLICY | OPT_OWNER | OPT_CHECK_SENDER, list_set},
    {"del", OPEN_WRITE, 1, 1, 0, 0, list_del},
    {"show", OPEN_READ, 1, 1, 0, 0, list_show},
    {"list", OPEN_READ, 0, 0, 0, 0, list_list},
    {NULL, 0, 0, 0, 0, 0, NULL},
};

static const action roster_actions[] = {
    {"add", OPEN_CREATE, 2, -1, 0, 0, roster_add},
    {"del", OPEN_WRITE, 2, -1, 0, 0, roster_del},
    {"list", OPEN_READ, 1, 1, 0, 0, roster_list},
    {"import", OPEN_CREATE, 2, 2, 0, 0, roster_import},
    {NULL, 0, 0, 0, 0, 0, NULL},
};

static const char domain_usage[] =
    "usage: pushback domain add DOMAIN... [--catch-all]\n"
    "       pushback domain del DOMAIN...\n"
    "       pushback domain list [DOMAIN...]\n"
    "Protected domains are the ones pushback answers for: an address in\n"
    "one must be a recipient, a list or a list's companion address, or\n"
    "the domain must be catch-all.  'add' on a protected domain sets its\n"
    "catch-all flag to what is given.\n";

static const char recipient_usage[] =
    "usage: pushback recipient add ADDRESS...\n"
    "       pushback recipient del ADDRESS...\n"
    "       pushback recipient list [ADDRESS...]\n"
    "       pushback recipient import FILE|-\n"
    "import reads one address a line; blank lines and lines starting\n"
    "with '#' are skipped, bad lines are reported and skipped.\n";

static const char list_usage[] =
    "usage: pushback list add LIST --policy POLICY [--owner ADDRESS]\n"
    "                             [--check-sender envelope|headers|any]\n"
    "       pushback list set LIST [--policy POLICY] [--owner ADDRESS]\n"
    "                             [--check-sender envelope|headers|any]\n"
    "       pushback list del LIST\n"
    "       pushback list show LIST\n"
    "       pushback list list\n"
    "POLICY: open (anyone posts), members (members and allowed posters),\n"
    "moderated, closed (allowed posters only).  The owner defaults to\n"
    "LOCAL-owner@DOMAIN; --owner '' restores the default.  'add' also\n"
    "protects the list's domain.  --check-sender: who counts as the\n"
    "poster: the envelope sender (decided at RCPT), From:/Reply-To:/\n"
    "Sender: (at end of headers), or any of them (default, Mailman's).\n";

static const char member_usage[] =
    "usage: pushback member add LIST ADDRESS...\n"
    "       pushback member del LIST ADDRESS...\n"
    "       pushback member list LIST\n"
    "       pushback member import LIST FILE|-\n";

static const char poster_usage[] =
    "usage: pushback poster add LIST ADDRESS...\n"
    "       pushback poster del LIST ADDRESS...\n"
    "       pushback poster list LIST\n"
    "       pushback poster import LIST FILE|-\n"
    "Allowed posters may post to a members-only or closed list.\n";

/* usage - the command's usage to out; returns code. */
static int usage(const char *text, FILE *out, int code)
{
	fputs(text, out);
	return code;
}

/* option_value - "--name VALUE" or "--name=VALUE"; advances *i. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* parse_args - options and positional arguments after the action word.
 * Returns 0, or the exit code when done (help) or wrong (usage). */
static int parse_args(cli *c, const action *a, const char *text, int argc,
		      char **argv)
{
	bool options = true;
	const char *v;

	c->args = calloc((size_t)argc, sizeof(*c->args));
	if (c->args == NULL)
		return complain(c, 2, "out of memory");
	for (int i = 2; i < argc; i++) {
		const char *s = argv[i];

		if (!options || s[0] != '-' || strcmp(s, "-") == 0) {
			c->args[c->nargs++] = argv[i];
		} else if (strcmp(s, "--") == 0) {
			options = false;
		} else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			return usage(text, stdout, -1);
		} else if ((a->opts & OPT_CATCH_ALL) &&
			   strcmp(s, "--catch-all") == 0) {
			c->catch_all = true;
		} else if ((a->opts & OPT_POLICY) &&
			   (v = option_value(argc, argv, &i, "--policy")) !=
			       NULL) {
			c->policy = v;
		} else if ((a->opts & OPT_OWNER) &&
			   (v = option_value(argc, argv, &i, "--owner")) !=
			       NULL) {
			c->owner = v;
		} else if ((a->opts & OPT_CHECK_SENDER) &&
			   (v = option_value(argc, argv, &i,
					     "--check-sender")) != NULL) {
			c->check_sender = v;
		} else {
			complain(c, 2, "unknown or incomplete option %s", s);
			return usage(text, stderr, 2);
		}
	}
	if (c->nargs < a->min_args ||
	    (a->max_args >= 0 && c->nargs > a->max_args)) {
		complain(c, 2, "wrong number of arguments");
		return usage(text, stderr, 2);
	}
	if (a->need != 0 &&
	    ((a->need & OPT_POLICY) == 0 || c->policy == NULL) &&
	    ((a->need & OPT_OWNER) == 0 || c->owner == NULL) &&
	    ((a->need & OPT_CHECK_SENDER) == 0 || c->check_sender == NULL)) {
		complain(c, 2, "needs %s",
			 a->need & OPT_OWNER
			     ? "--policy, --owner or --check-sender"
			     : "--policy");
		return usage(text, stderr, 2);
	}
	return 0;
}

/* check_db_dir - the database's directory must exist before we create a
 * file in it. */
static int check_db_dir(cli *c)
{
	char *copy = strdup(c->cfg->database);
	struct stat sb;
	int rc = 0;

	if (copy == NULL)
		return complain(c, 2, "out of memory");
	if (stat(dirname(copy), &sb) < 0 || !S_ISDIR(sb.st_mode))
		rc = complain(c, 2,
			      "the directory of the database %s does not "
			      "exist; create it first (state_dir)",
			      c->cfg->database);
	free(copy);
	return rc;
}

/* open_dir - open the database as the action needs. */
static int open_dir(cli *c, open_mode mode)
{
	pb_dir_opts opts = {.busy_timeout = c->cfg->busy_timeout,
			    .create = mode == OPEN_CREATE,
			    .readonly = mode == OPEN_READ};
	const char *error = NULL;

	if (mode == OPEN_CREATE && check_db_dir(c) != 0)
		return 2;
	if (pb_dir_open(c->cfg->database, &opts, &c->dir, &error) < 0)
		return backend(c, error);
	return 0;
}

/* run - the generic subcommand: find the action, parse, open, run it in
 * one transaction, commit, print the summary. */
static int run(const pb_config *cfg, int argc, char **argv,
	       const action *actions, const char *text)
{
	cli c = {.cfg = cfg, .cmd = argv[0]};
	const action *a = NULL;
	const char *error = NULL;
	int rc;

	c.aopts.delimiters = "";
	c.aopts.fold_local = !cfg->case_sensitive_local;
	if (argc < 2)
		return usage(text, stderr, 2);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return usage(text, stdout, 0);
	for (const action *p = actions; p->name != NULL; p++)
		if (strcmp(argv[1], p->name) == 0)
			a = p;
	if (a == NULL) {
		complain(&c, 2, "unknown action '%s'", argv[1]);
		return usage(text, stderr, 2);
	}
	c.action = a->name;
	rc = parse_args(&c, a, text, argc, argv);
	if (rc != 0) {
		free(c.args);
		return rc < 0 ? 0 : rc;
	}
	rc = open_dir(&c, a->mode);
	if (rc != 0) {
		free(c.args);
		return rc;
	}
	if (a->mode != OPEN_READ && pb_dir_begin(c.dir, &error) < 0) {
		rc = backend(&c, error);
	} else {
		rc = a->fn(&c);
		if (a->mode != OPEN_READ && rc != 2 &&
		    pb_dir_commit(c.dir, &error) < 0)
			rc = backend(&c, error);
		if (rc == 2 && a->mode != OPEN_READ) {
			pb_dir_rollback(c.dir);
			fprintf(stderr, "pushback %s %s: nothing was changed\n",
				c.cmd, c.action);
		} else if (c.done[0] != '\0') {
			puts(c.done);
		}
	}
	pb_dir_free(&c.dir);
	free(c.args);
	if (fflush(stdout) != 0 && rc == 0)
		rc = 2;
	return rc;
}

/* cli_domain - `pushback domain ...` */
int cli_domain(const pb_config *cfg, int argc, char **argv)
{
	return run(cfg, argc, argv, domain_actions, domain_usage);
}

/* cli_recipient - `pushback recipient ...` */
int cli_recipient(const pb_config *cfg, int argc, char **argv)
{
	return run(cfg, argc, argv, recipient_actions, recipient_usage);
}

/* cli_list - `pushback list ...` */
int cli_list(const pb_config *cfg, int argc, char **argv)
{
	return run(cfg, argc, argv, list_actions, list_usage);
}

/* cli_member - `pushback member ...` */
int cli_member(const pb_config *cfg, int argc, char **argv)
{
	return run(cfg, argc, argv, roster_actions, member_usage);
}

/* cli_poster - `pushback poster ...` */
int cli_poster(const pb_config *cfg, int argc, char **argv)
{
	return run(cfg, argc, argv, roster_actions, poster_usage);
}
