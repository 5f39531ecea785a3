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

typedef enum pb_rcpt_kind {
	PB_RCPT_UNKNOWN = 0,    /* protected domain, no such address */
	PB_RCPT_ADDRESS,        /* an explicit recipient */
	PB_RCPT_CATCHALL,       /* the domain accepts every local part */
	PB_RCPT_LIST,           /* a list's posting address */
	PB_RCPT_LIST_COMPANION, /* LIST-owner, LIST-request, ... */
} pb_rcpt_kind;

typedef struct pb_dir_opts {
	int busy_timeout;   /* ms to wait on a locked database */
	bool create;        /* create the file and schema if missing (CLI) */
	bool readonly;      /* the daemon opens read-only */
} pb_dir_opts;

typedef struct pb_dir_rcpt {
	bool protected_domain;   /* the recipient's domain is ours */
	pb_rcpt_kind kind;
	/* For LIST and LIST_COMPANION: */
	long long list_id;
	char list[PB_ADDR_MAX + 1];   /* posting address, e.g. dev@lists.x */
	char owner[PB_ADDR_MAX + 1];  /* owner address */
	char companion[32];           /* "owner", "request", ... or "" */
	pb_list_policy policy;
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

/* pb_list_policy_name / _parse - "open", "members", "moderated", "closed";
 * parse returns -1 when unknown. */
const char *pb_list_policy_name(pb_list_policy p);
int pb_list_policy_parse(const char *s);

/* The administrative API the CLI uses is declared below. */

#endif
