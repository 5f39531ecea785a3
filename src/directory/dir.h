/*
 * dir - the directory: protected domains, recipients, lists, members and
 * allowed posters.  SQLite (WAL) in state_dir.
 *
 * Memory: a pb_dir is one database connection with its prepared
 * statements.  It is NOT thread-safe: each thread uses its own handle (the
 * server keeps a pool).  Every lookup reads the committed state, so changes
 * made by the CLI are seen by the running daemon at once.
 *
 * Errors: lookups return 0 ok / -1 error; predicates 1 yes / 0 no / -1
 * error.  An error (missing, corrupt or locked database past busy_timeout)
 * is never "not found": the caller turns it into a 4xx.
 *
 * Keys: addresses are stored in the normalised form pb_addr_parse gives
 * (domain lower-cased; local part folded unless case_sensitive_local).
 */
#ifndef PB_DIR_H
#define PB_DIR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/addr.h"

typedef struct pb_dir pb_dir;

typedef enum pb_list_policy {
	PB_POLICY_OPEN = 0,  /* anyone posts */
	PB_POLICY_MEMBERS,   /* members and allowed posters */
	PB_POLICY_MODERATED, /* members post; others held (later issue) */
	PB_POLICY_CLOSED,    /* allowed posters only */
} pb_list_policy;

/* Which addresses count as the poster (Mailman's rule is 'any'). */
typedef enum pb_check_sender {
	PB_CHECK_ANY = 0,  /* envelope sender, From:, Reply-To: or Sender: */
	PB_CHECK_ENVELOPE, /* the envelope sender only: decided at RCPT */
	PB_CHECK_HEADERS,  /* From:, Reply-To: or Sender: only */
} pb_check_sender;

typedef enum pb_rcpt_kind {
	PB_RCPT_UNKNOWN = 0,	/* protected domain, no such address */
	PB_RCPT_ADDRESS,	/* an explicit recipient */
	PB_RCPT_CATCHALL,	/* the domain accepts every local part */
	PB_RCPT_LIST,		/* a list's posting address */
	PB_RCPT_LIST_COMPANION, /* LIST-owner, LIST-request, ... */
} pb_rcpt_kind;

typedef struct pb_dir_opts {
	int busy_timeout; /* ms to wait on a locked database */
	bool create;	  /* create the file and schema if missing (CLI) */
	bool readonly;	  /* the daemon opens read-only */
} pb_dir_opts;

typedef struct pb_dir_rcpt {
	bool protected_domain; /* the recipient's domain is ours */
	pb_rcpt_kind kind;
	/* For LIST and LIST_COMPANION: */
	long long list_id;
	char list[PB_ADDR_MAX + 1];  /* posting address, e.g. dev@lists.x */
	char owner[PB_ADDR_MAX + 1]; /* owner address */
	char companion[32];	     /* "owner", "request", ... or "" */
	pb_list_policy policy;
	pb_check_sender check_sender;
} pb_dir_rcpt;

/* pb_dir_open - open the database at path.  Returns 0, or -1 with
 * *error_r (static or thread-local text). */
int pb_dir_open(const char *path, const pb_dir_opts *opts, pb_dir **dir_r,
		const char **error_r);

/* pb_dir_free - close; accepts NULL and sets *dir to NULL. */
void pb_dir_free(pb_dir **dir);

/* pb_dir_lookup_rcpt - what is this recipient?  Order: list posting
 * address, list companion, explicit recipient, catch-all domain; the full
 * address is tried before the one with its extension stripped.  Returns 0
 * and fills *out, or -1 on a backend error. */
int pb_dir_lookup_rcpt(pb_dir *dir, const pb_addr *rcpt, pb_dir_rcpt *out,
		       const char **error_r);

typedef enum pb_poster {
	PB_POSTER_NONE = 0,
	PB_POSTER_MEMBER = 1,
	PB_POSTER_ALLOWED = 2,
} pb_poster;

/* pb_dir_may_post - is sender a member (1) or an allowed poster (2) of the
 * list, or neither (0)?  -1 on a backend error. */
int pb_dir_may_post(pb_dir *dir, long long list_id, const pb_addr *sender,
		    const char **error_r);

/* pb_dir_release - end the read snapshot a read-only handle may hold
 * between lookups (see dir_sqlite.c); call before a handle goes idle. */
void pb_dir_release(pb_dir *dir);

/* pb_list_policy_name / _parse - "open", "members", "moderated", "closed";
 * parse returns -1 when unknown. */
const char *pb_list_policy_name(pb_list_policy p);
/* pb_check_sender_name - "any", "envelope", "headers". */
const char *pb_check_sender_name(pb_check_sender c);
/* pb_check_sender_parse - the word's value, or -1. */
int pb_check_sender_parse(const char *s);
int pb_list_policy_parse(const char *s);

/* The administrative API the CLI uses is declared below. */

/*
 * Keys given to the administrative calls must already be normalised by the
 * caller (pb_addr.full for addresses, pb_domain_normalise for domains):
 * nothing below folds case.  Calls that change something return 1 when
 * they did, 0 when there was nothing to do (already present / absent) and
 * -1 on error.  *error_r points into the handle and stays valid until the
 * next call on it; pb_dir_open's error text is thread-local.
 *
 * Lookup details: a recipient whose domain is not protected is answered
 * at once (protected_domain false, kind UNKNOWN, no further probes).  In a
 * protected domain the full address is tried against lists, companions and
 * recipients before the extension-stripped key is; so "dev-bounces@x" is a
 * companion even when '-' is a recipient delimiter.  Companions are
 * LIST-{owner,request,bounces,confirm,join,leave,subscribe,unsubscribe}
 * (suffix matched without regard to case), and LIST-bounces+ANY and
 * LIST-confirm+ANY whatever the delimiters are.
 */

/* pb_dir_begin / _commit / _rollback - group several changes in one write
 * transaction (BEGIN IMMEDIATE); without one each change commits alone.
 * Rollback accepts a handle with no transaction open. */
int pb_dir_begin(pb_dir *dir, const char **error_r);
int pb_dir_commit(pb_dir *dir, const char **error_r);
void pb_dir_rollback(pb_dir *dir);

/* Callbacks for the _each calls: return 0 to go on; any other value stops
 * the walk and is returned by _each. */
typedef int pb_dir_domain_fn(void *ctx, const char *domain, bool catch_all);
typedef int pb_dir_address_fn(void *ctx, const char *address);

/* pb_dir_domain_add - protect a domain, or set its catch-all flag when it
 * is already protected: 1 added, 0 present and unchanged, 2 present and
 * catch_all changed, -1 error. */
int pb_dir_domain_add(pb_dir *dir, const char *domain, bool catch_all,
		      const char **error_r);
/* pb_dir_domain_get - 1 protected (*catch_all_r set), 0 not, -1 error. */
int pb_dir_domain_get(pb_dir *dir, const char *domain, bool *catch_all_r,
		      const char **error_r);
int pb_dir_domain_del(pb_dir *dir, const char *domain, const char **error_r);
/* pb_dir_domain_each - every protected domain, in order. */
int pb_dir_domain_each(pb_dir *dir, pb_dir_domain_fn *fn, void *ctx,
		       const char **error_r);

/* pb_dir_recipient_add / _get / _del / _each - explicit recipients. */
int pb_dir_recipient_add(pb_dir *dir, const char *address,
			 const char **error_r);
int pb_dir_recipient_get(pb_dir *dir, const char *address,
			 const char **error_r);
int pb_dir_recipient_del(pb_dir *dir, const char *address,
			 const char **error_r);
int pb_dir_recipient_each(pb_dir *dir, pb_dir_address_fn *fn, void *ctx,
			  const char **error_r);

typedef struct pb_dir_list {
	long long id;
	char address[PB_ADDR_MAX + 1]; /* posting address */
	char owner[PB_ADDR_MAX + 1];   /* as set; "" = LOCAL-owner@DOMAIN */
	char owner_effective[PB_ADDR_MAX + 1]; /* owner, or the default */
	pb_list_policy policy;
	char check_sender[16]; /* "envelope", "headers" or "any" */
	long long members, posters;
} pb_dir_list;

typedef int pb_dir_list_fn(void *ctx, const pb_dir_list *list);

/* pb_dir_list_add - a new list (owner NULL or "" for the default): 1
 * added, 0 a list with that address exists (left unchanged), -1 error.
 * The list's domain is not protected here: the caller does that. */
int pb_dir_list_add(pb_dir *dir, const char *address, pb_list_policy policy,
		    const char *owner, const char **error_r);
/* pb_dir_list_get - 1 found (fills *out, with counts), 0 none, -1 error. */
int pb_dir_list_get(pb_dir *dir, const char *address, pb_dir_list *out,
		    const char **error_r);
/* pb_dir_list_set - change the policy (policy < 0 keeps it) and/or the
 * owner (NULL keeps it, "" restores the default): 1 done, 0 no such
 * list, -1 error. */
int pb_dir_list_set(pb_dir *dir, const char *address, int policy,
		    const char *owner, const char **error_r);
/* pb_dir_list_set_check_sender - which addresses count as the poster:
 * 1 done, 0 no such list, -1 error. */
int pb_dir_list_set_check_sender(pb_dir *dir, const char *address,
				 pb_check_sender check, const char **error_r);
/* pb_dir_list_del - the list with its members and posters. */
int pb_dir_list_del(pb_dir *dir, const char *address, const char **error_r);
/* pb_dir_list_each - every list, in address order, with counts. */
int pb_dir_list_each(pb_dir *dir, pb_dir_list_fn *fn, void *ctx,
		     const char **error_r);

/* A list's two rosters: members, and allowed posters. */
typedef enum pb_dir_roster {
	PB_ROSTER_MEMBERS = 0,
	PB_ROSTER_POSTERS,
} pb_dir_roster;

/* pb_dir_roster_add / _del / _each - one roster of list list_id. */
int pb_dir_roster_add(pb_dir *dir, pb_dir_roster which, long long list_id,
		      const char *address, const char **error_r);
int pb_dir_roster_del(pb_dir *dir, pb_dir_roster which, long long list_id,
		      const char *address, const char **error_r);
int pb_dir_roster_each(pb_dir *dir, pb_dir_roster which, long long list_id,
		       pb_dir_address_fn *fn, void *ctx, const char **error_r);

#endif
