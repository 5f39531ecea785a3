/*
 * dir_sqlite - the directory in one SQLite database (WAL mode).
 *
 * Schema (application_id 'PshB', user_version 1): domains, recipients,
 * lists, members, posters; every table is keyed so that each lookup is one
 * index probe (WITHOUT ROWID, text primary keys).  The lookup statements
 * are prepared once in pb_dir_open and reset after every use; a lookup
 * that needs several probes runs them in one read transaction that ends
 * before it returns (also on error).  So no read transaction outlives a
 * call and each call sees the latest commit: the CLI changes the file, the
 * running daemon sees it on its next lookup.
 *
 * Memory: a pb_dir owns its connection, statements and an error buffer;
 * *error_r of any call except pb_dir_open points into that buffer (valid
 * until the next call on the handle).  pb_dir_open's error text is in a
 * thread-local buffer (valid until the next pb_dir_open in that thread).
 * Threading: one handle is used by one thread at a time (the connection is
 * opened with SQLITE_OPEN_NOMUTEX); different handles are independent.
 * Errors: every SQLite failure (BUSY/LOCKED past busy_timeout, CORRUPT,
 * NOTADB, IOERR, CANTOPEN ...) is -1 with a message naming the file; it
 * is never reported as "not found".
 * SECURITY: keys come from the MTA (untrusted) but reach SQLite only as
 * bound parameters; the database itself is trusted (written by the CLI).
 */
#include "directory/dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>
#include <sqlite3.h>

#define PB_DIR_APP_ID 0x50736842 /* "PshB" */
#define PB_DIR_SCHEMA 1

static const char schema_sql[] =
    "CREATE TABLE domains ("
    " domain TEXT NOT NULL PRIMARY KEY,"
    " catch_all INTEGER NOT NULL DEFAULT 0 CHECK (catch_all IN (0, 1))"
    ") WITHOUT ROWID;"
    "CREATE TABLE recipients ("
    " address TEXT NOT NULL PRIMARY KEY"
    ") WITHOUT ROWID;"
    "CREATE TABLE lists ("
    " address TEXT NOT NULL PRIMARY KEY,"
    " id INTEGER NOT NULL UNIQUE,"
    " owner TEXT,"
    " policy TEXT NOT NULL"
    "  CHECK (policy IN ('open', 'members', 'moderated', 'closed')),"
    " check_sender TEXT NOT NULL DEFAULT 'any'"
    "  CHECK (check_sender IN ('envelope', 'headers', 'any'))"
    ") WITHOUT ROWID;"
    "CREATE TABLE members ("
    " list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,"
    " address TEXT NOT NULL,"
    " PRIMARY KEY (list_id, address)"
    ") WITHOUT ROWID;"
    "CREATE TABLE posters ("
    " list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,"
    " address TEXT NOT NULL,"
    " PRIMARY KEY (list_id, address)"
    ") WITHOUT ROWID;"
    "PRAGMA application_id = 1349740610;" /* PB_DIR_APP_ID */
    "PRAGMA user_version = 1;";		  /* PB_DIR_SCHEMA */

/* Statements, prepared once.  The Q_ ones (lookups) are prepared in
 * pb_dir_open; the administrative ones on first use. */
enum {
	Q_KEY,
	Q_DOMAIN,
	Q_LIST,
	Q_RCPT,
	Q_POST,
	Q_READ_BEGIN,
	Q_READ_END,
	A_DOMAIN_ADD,
	A_DOMAIN_SET,
	A_DOMAIN_DEL,
	A_DOMAIN_EACH,
	A_RCPT_ADD,
	A_RCPT_DEL,
	A_RCPT_EACH,
	A_LIST_ADD,
	A_LIST_GET,
	A_LIST_POLICY,
	A_LIST_CHECK,
	A_LIST_OWNER,
	A_LIST_DEL,
	A_LIST_DEL_MEMBERS,
	A_LIST_DEL_POSTERS,
	A_LIST_EACH,
	A_LIST_COUNT,
	A_MEMBER_ADD,
	A_MEMBER_DEL,
	A_MEMBER_EACH,
	A_POSTER_ADD,
	A_POSTER_DEL,
	A_POSTER_EACH,
	A_BEGIN,
	A_COMMIT,
	A_ROLLBACK,
	N_STMT,
	N_LOOKUP = A_DOMAIN_ADD,
};

static const char *const stmt_sql[N_STMT] = {
    /* The common case in one statement: no row when the domain is not
     * protected, else catch-all, the list (NULLs if none) and whether
     * ?2 is a recipient. */
    [Q_KEY] = "SELECT d.catch_all, l.id, l.owner, l.policy, l.check_sender,"
	      " EXISTS (SELECT 1 FROM recipients WHERE address = ?2)"
	      " FROM domains AS d LEFT JOIN lists AS l ON l.address = ?2"
	      " WHERE d.domain = ?1",
    [Q_DOMAIN] = "SELECT catch_all FROM domains WHERE domain = ?1",
    [Q_LIST] = "SELECT id, owner, policy, check_sender FROM lists"
	       " WHERE address = ?1",
    [Q_RCPT] = "SELECT 1 FROM recipients WHERE address = ?1",
    /* An allowed poster outranks a member (a closed list needs the
     * former), so the best of the (at most four) probes wins. */
    [Q_POST] = "SELECT coalesce("
	       "(SELECT 2 FROM posters WHERE list_id = ?1 AND address = ?2),"
	       "(SELECT 2 FROM posters WHERE list_id = ?1 AND address = ?3),"
	       "(SELECT 1 FROM members WHERE list_id = ?1 AND address = ?2),"
	       "(SELECT 1 FROM members WHERE list_id = ?1 AND address = ?3),"
	       "0)",
    /* One read transaction around the probes of a lookup: one lock and
     * one WAL snapshot instead of one per probe (and a consistent view). */
    [Q_READ_BEGIN] = "BEGIN DEFERRED",
    [Q_READ_END] = "COMMIT",
    [A_DOMAIN_ADD] = "INSERT INTO domains (domain, catch_all) VALUES (?1, ?2)"
		     " ON CONFLICT (domain) DO NOTHING",
    [A_DOMAIN_SET] = "UPDATE domains SET catch_all = ?2"
		     " WHERE domain = ?1 AND catch_all <> ?2",
    [A_DOMAIN_DEL] = "DELETE FROM domains WHERE domain = ?1",
    [A_DOMAIN_EACH] = "SELECT domain, catch_all FROM domains ORDER BY domain",
    [A_RCPT_ADD] = "INSERT INTO recipients (address) VALUES (?1)"
		   " ON CONFLICT (address) DO NOTHING",
    [A_RCPT_DEL] = "DELETE FROM recipients WHERE address = ?1",
    [A_RCPT_EACH] = "SELECT address FROM recipients ORDER BY address",
    [A_LIST_ADD] = "INSERT INTO lists (address, id, owner, policy)"
		   " SELECT ?1, coalesce(max(id), 0) + 1, ?2, ?3 FROM lists"
		   " WHERE true ON CONFLICT (address) DO NOTHING",
    [A_LIST_GET] = "SELECT id, address, owner, policy, check_sender"
		   " FROM lists WHERE address = ?1",
    [A_LIST_POLICY] = "UPDATE lists SET policy = ?2 WHERE address = ?1",
    [A_LIST_CHECK] = "UPDATE lists SET check_sender = ?2 WHERE address = ?1",
    [A_LIST_OWNER] = "UPDATE lists SET owner = nullif(?2, '')"
		     " WHERE address = ?1",
    [A_LIST_DEL] = "DELETE FROM lists WHERE address = ?1",
    [A_LIST_DEL_MEMBERS] = "DELETE FROM members WHERE list_id = ?1",
    [A_LIST_DEL_POSTERS] = "DELETE FROM posters WHERE list_id = ?1",
    [A_LIST_EACH] = "SELECT id, address, owner, policy, check_sender"
		    " FROM lists ORDER BY address",
    [A_LIST_COUNT] = "SELECT (SELECT count(*) FROM members WHERE list_id = ?1),"
		     " (SELECT count(*) FROM posters WHERE list_id = ?1)",
    [A_MEMBER_ADD] = "INSERT INTO members (list_id, address) VALUES (?1, ?2)"
		     " ON CONFLICT DO NOTHING",
    [A_MEMBER_DEL] = "DELETE FROM members WHERE list_id = ?1 AND address = ?2",
    [A_MEMBER_EACH] = "SELECT address FROM members WHERE list_id = ?1"
		      " ORDER BY address",
    [A_POSTER_ADD] = "INSERT INTO posters (list_id, address) VALUES (?1, ?2)"
		     " ON CONFLICT DO NOTHING",
    [A_POSTER_DEL] = "DELETE FROM posters WHERE list_id = ?1 AND address = ?2",
    [A_POSTER_EACH] = "SELECT address FROM posters WHERE list_id = ?1"
		      " ORDER BY address",
    [A_BEGIN] = "BEGIN IMMEDIATE",
    [A_COMMIT] = "COMMIT",
    [A_ROLLBACK] = "ROLLBACK",
};

/* Size of one copy of SQLite's WAL-index header, at the start of the
 * -shm file; two copies follow each other (SQLite file format, "WAL-Index
 * Format").  Every commit rewrites it (its change counter, frame count and
 * checksums), so an unchanged header means an unchanged database. */
#define WAL_HDR_SIZE 48
/* A held snapshot is given up after this long even if nothing changed,
 * so checkpoints can reset the WAL behind it. */
#define SNAPSHOT_MAX_MS 1000

struct pb_dir {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[N_STMT];
	char error[512];
	/* Snapshot reuse (read-only daemon handles, see snapshot()). */
	const volatile unsigned char *shm; /* mapped -shm header, or NULL */
	size_t shm_len;
	bool held; /* a read transaction is open */
	long long held_since_ms;
	unsigned char sig[WAL_HDR_SIZE]; /* header when it was opened */
};

/* The only error text not kept in a handle: pb_dir_open's. */
static _Thread_local char open_error[512];

/* The companion addresses Mailman 3 answers for every list. */
static const char *const companions[] = {
    "owner", "request", "bounces",   "confirm",
    "join",  "leave",	"subscribe", "unsubscribe",
};

/* set_error - format into the handle's buffer; returns -1. */
static int set_error(pb_dir *dir, const char **error_r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int set_error(pb_dir *dir, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* A truncated message is still the right message. */
	(void)vsnprintf(dir->error, sizeof(dir->error), fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = dir->error;
	return -1;
}

/* db_error - the connection's last error as "PATH: WHAT: message". */
static int db_error(pb_dir *dir, const char **error_r, const char *what, int rc)
{
	int ext = sqlite3_extended_errcode(dir->db);
	const char *msg = sqlite3_errmsg(dir->db);
	const char *str = sqlite3_errstr(ext != 0 ? ext : rc);

	if (strcmp(msg, str) == 0)
		return set_error(dir, error_r, "database %s: %s: %s", dir->path,
				 what, msg);
	return set_error(dir, error_r, "database %s: %s: %s (%s)", dir->path,
			 what, msg, str);
}

/* get_stmt - the prepared statement id, preparing it on first use. */
static sqlite3_stmt *get_stmt(pb_dir *dir, int id, const char **error_r)
{
	int rc;

	if (dir->stmt[id] != NULL)
		return dir->stmt[id];
	rc =
	    sqlite3_prepare_v3(dir->db, stmt_sql[id], -1,
			       SQLITE_PREPARE_PERSISTENT, &dir->stmt[id], NULL);
	if (rc != SQLITE_OK) {
		db_error(dir, error_r, "prepare", rc);
		dir->stmt[id] = NULL;
		return NULL;
	}
	return dir->stmt[id];
}

/* bind_text - bind a NUL-terminated key (not copied: it outlives the
 * step). */
static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* finish - reset after the last step; returns ret, or -1 with the step's
 * error when rc is neither ROW nor DONE. */
static int finish(pb_dir *dir, sqlite3_stmt *st, int rc, int ret,
		  const char *what, const char **error_r)
{
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_error(dir, error_r, what, rc);
		ret = -1;
	}
	sqlite3_reset(st);
	return ret;
}

/* exec_change - step a one-shot INSERT/UPDATE/DELETE: 1 when it changed a
 * row, 0 when not, -1 error.  The statement's parameters are bound. */
static int exec_change(pb_dir *dir, sqlite3_stmt *st, const char *what,
		       const char **error_r)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return finish(dir, st, rc == SQLITE_ROW ? SQLITE_MISUSE : rc,
			      -1, what, error_r);
	sqlite3_reset(st);
	return sqlite3_changes(dir->db) > 0 ? 1 : 0;
}

/* pragma_int - the integer a PRAGMA returns. */
static int pragma_int(pb_dir *dir, const char *sql, long long *out,
		      const char **error_r)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(dir->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_error(dir, error_r, "read header", rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		db_error(dir, error_r, "read header", rc);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* read_header - application_id, user_version and the number of schema
 * objects. */
static int read_header(pb_dir *dir, long long *app, long long *version,
		       long long *objects, const char **error_r)
{
	if (pragma_int(dir, "PRAGMA application_id", app, error_r) < 0 ||
	    pragma_int(dir, "PRAGMA user_version", version, error_r) < 0 ||
	    pragma_int(dir, "SELECT count(*) FROM sqlite_schema", objects,
		       error_r) < 0)
		return -1;
	return 0;
}

/* is_empty - a database nobody has used: no id, no version, no tables. */
static bool is_empty(long long app, long long version, long long objects)
{
	return app == 0 && version == 0 && objects == 0;
}

/* create_schema - an empty database becomes a directory; anything else is
 * left untouched (check_schema then says what it is).  WAL is switched on
 * only for an empty or pushback database, never for someone else's.  The
 * tables are created in one write transaction that checks again, so two
 * CLIs creating the same file do not both create them. */
static int create_schema(pb_dir *dir, const char **error_r)
{
	long long app = 0, version = 0, objects = 0;
	char *msg = NULL;
	int rc;

	if (read_header(dir, &app, &version, &objects, error_r) < 0)
		return -1;
	if (!is_empty(app, version, objects) && app != PB_DIR_APP_ID)
		return 0;
	/* WAL is a property of the file; it cannot be set in a transaction. */
	rc = sqlite3_exec(dir->db, "PRAGMA journal_mode = WAL", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK)
		return db_error(dir, error_r, "set WAL mode", rc);
	if (!is_empty(app, version, objects))
		return 0;
	rc = sqlite3_exec(dir->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_error(dir, error_r, "begin", rc);
	if (read_header(dir, &app, &version, &objects, error_r) < 0)
		goto fail;
	if (is_empty(app, version, objects)) {
		rc = sqlite3_exec(dir->db, schema_sql, NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			set_error(dir, error_r,
				  "database %s: create schema: %s", dir->path,
				  msg ? msg : sqlite3_errstr(rc));
			sqlite3_free(msg);
			goto fail;
		}
	}
	rc = sqlite3_exec(dir->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		db_error(dir, error_r, "commit", rc);
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(dir->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* check_schema - the file is a pushback directory of a version we read. */
static int check_schema(pb_dir *dir, const char **error_r)
{
	long long app = 0, version = 0, objects = 0;

	if (read_header(dir, &app, &version, &objects, error_r) < 0)
		return -1;
	if (is_empty(app, version, objects))
		return set_error(dir, error_r,
				 "database %s: empty, no pushback schema (the "
				 "CLI's add commands create one)",
				 dir->path);
	if (app != PB_DIR_APP_ID)
		return set_error(dir, error_r,
				 "database %s: not a pushback database "
				 "(application_id %lld)",
				 dir->path, app);
	if (version != PB_DIR_SCHEMA)
		return set_error(dir, error_r,
				 "database %s: schema version %lld, this "
				 "program reads version %d",
				 dir->path, version, PB_DIR_SCHEMA);
	return 0;
}

/* give_to_directory_owner - chown fd to the owner of path's directory. */
static void give_to_directory_owner(int fd, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	struct stat st;
	size_t n;

	if (slash == NULL) {
		memcpy(dir, ".", 2);
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if (stat(dir, &st) == 0 && (st.st_uid != 0 || st.st_gid != 0) &&
	    fchown(fd, st.st_uid, st.st_gid) < 0)
		return; /* best effort: the daemon's error will say why */
}

/* create_file - create a missing database file with mode 0640 (SQLite
 * would use 0644; its -wal and -shm files copy the database's mode).
 * Created by root, the file is given to the owner of its directory (the
 * daemon's state_dir), so `pushback` run as root does not lock the daemon
 * out; SQLite, running as root, gives its -wal and -shm files the
 * database's owner too.
 * Returns 1 created, 0 it already existed, -1 error (in open_error). */
static int create_file(const char *path)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);

	if (fd >= 0) {
		if (geteuid() == 0)
			give_to_directory_owner(fd, path);
		close(fd);
		return 1;
	}
	if (errno == EEXIST)
		return 0;
	snprintf(open_error, sizeof(open_error),
		 "database %s: cannot create: %s", path, strerror(errno));
	return -1;
}

/* sqlite_setup - process-wide SQLite settings, before its first use.
 * Memory statistics take a global mutex on every allocation: with one
 * handle per connection thread that mutex is the hottest lock in the
 * daemon, and we never read the statistics. */
static void sqlite_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* map_shm - map the WAL-index header read-only, for snapshot reuse.  The
 * schema check has read the database, so SQLite has opened the WAL and
 * its -shm file (named after the path SQLite resolved).  Any failure
 * leaves dir->shm NULL: every lookup then takes a fresh snapshot. */
static void map_shm(pb_dir *dir)
{
	const char *db = sqlite3_db_filename(dir->db, "main");
	char shm[4096];
	void *map;
	int fd, n;

	if (db == NULL || db[0] == '\0')
		return;
	n = snprintf(shm, sizeof(shm), "%s-shm", db);
	if (n < 0 || (size_t)n >= sizeof(shm))
		return;
	fd = open(shm, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	map = mmap(NULL, 2 * WAL_HDR_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	dir->shm = map;
	dir->shm_len = 2 * WAL_HDR_SIZE;
}

/* pb_dir_open - connect, check (or create) the schema, prepare lookups. */
int pb_dir_open(const char *path, const pb_dir_opts *opts, pb_dir **dir_r,
		const char **error_r)
{
	pb_dir *dir;
	int flags = SQLITE_OPEN_NOMUTEX, rc, created = 0;
	struct stat sb;

	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, sqlite_setup);
	*dir_r = NULL;
	*error_r = open_error;
	if (opts->create && opts->readonly) {
		snprintf(open_error, sizeof(open_error),
			 "database %s: create and readonly both asked", path);
		return -1;
	}
	if (opts->create) {
		created = create_file(path);
		if (created < 0)
			return -1;
		flags |= SQLITE_OPEN_READWRITE;
	} else {
		/* SQLite's "unable to open database file" does not say why. */
		if (stat(path, &sb) < 0) {
			snprintf(open_error, sizeof(open_error),
				 "database %s: %s", path, strerror(errno));
			return -1;
		}
		flags |= opts->readonly ? SQLITE_OPEN_READONLY
					: SQLITE_OPEN_READWRITE;
	}
	dir = calloc(1, sizeof(*dir));
	if (dir == NULL || (dir->path = strdup(path)) == NULL) {
		free(dir);
		snprintf(open_error, sizeof(open_error),
			 "database %s: out of memory", path);
		return -1;
	}
	rc = sqlite3_open_v2(path, &dir->db, flags, NULL);
	if (rc != SQLITE_OK) {
		db_error(dir, NULL, "open", rc);
		goto fail;
	}
	sqlite3_extended_result_codes(dir->db, 1);
	sqlite3_busy_timeout(dir->db, opts->busy_timeout);
	if (opts->readonly) {
		/* The daemon holds one handle per MTA connection: a small
		 * private page cache each (the interior pages of the B-trees
		 * fit) keeps memory flat however many connections there are;
		 * the kernel's page cache serves the leaves.  (A shared
		 * mmap(2) would save the pread(2), but each handle maps the
		 * file anew and RSS counts every mapping.)  Best effort: a
		 * failure only costs speed. */
		(void)sqlite3_exec(dir->db, "PRAGMA cache_size = -512", NULL,
				   NULL, NULL);
	}
	if (opts->create && create_schema(dir, NULL) < 0)
		goto fail;
	if (check_schema(dir, NULL) < 0)
		goto fail;
	rc =
	    sqlite3_exec(dir->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		db_error(dir, NULL, "enable foreign keys", rc);
		goto fail;
	}
	for (int i = 0; i < N_LOOKUP; i++)
		if (get_stmt(dir, i, NULL) == NULL)
			goto fail;
	if (opts->readonly)
		map_shm(dir);
	*dir_r = dir;
	return 0;
fail:
	snprintf(open_error, sizeof(open_error), "%s", dir->error);
	pb_dir_free(&dir);
	/* Leave no empty file behind that a later open would reject. */
	if (created == 1 && stat(path, &sb) == 0 && sb.st_size == 0)
		unlink(path);
	return -1;
}

/* pb_dir_free - finalize statements, close the connection. */
void pb_dir_free(pb_dir **dirp)
{
	pb_dir *dir = *dirp;

	if (dir == NULL)
		return;
	pb_dir_release(dir);
	if (dir->shm != NULL)
		munmap((void *)(uintptr_t)dir->shm, dir->shm_len);
	for (int i = 0; i < N_STMT; i++)
		sqlite3_finalize(dir->stmt[i]);
	sqlite3_close_v2(dir->db);
	free(dir->path);
	free(dir);
	*dirp = NULL;
}

/* split_at - position of the '@' before the domain (the last one: a
 * quoted local part may hold '@'), or NULL. */
static const char *split_at(const char *addr)
{
	return strrchr(addr, '@');
}

/* default_owner - LOCAL-owner@DOMAIN for a posting address. */
static int default_owner(const char *list, char *out, size_t cap)
{
	const char *at = split_at(list);
	int n;

	if (at == NULL)
		return -1;
	n = snprintf(out, cap, "%.*s-owner%s", (int)(at - list), list, at);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* probe_domain - 1 protected (catch_all set), 0 not, -1 error. */
static int probe_domain(pb_dir *dir, const char *domain, bool *catch_all,
			const char **error_r)
{
	sqlite3_stmt *st = dir->stmt[Q_DOMAIN];
	int rc, ret = 0;

	if (bind_text(st, 1, domain) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*catch_all = sqlite3_column_int(st, 0) != 0;
		ret = 1;
	}
	return finish(dir, st, rc, ret, "look up domain", error_r);
}

/* fill_list - the list fields of out from columns col.. (id, owner,
 * policy, check_sender) of the current row.  Returns 1, or -1 on a bad
 * row. */
static int fill_list(pb_dir *dir, sqlite3_stmt *st, int col,
		     const char *address, pb_dir_rcpt *out,
		     const char **error_r)
{
	const char *owner = (const char *)sqlite3_column_text(st, col + 1);
	const char *policy = (const char *)sqlite3_column_text(st, col + 2);
	const char *check = (const char *)sqlite3_column_text(st, col + 3);
	int p = policy != NULL ? pb_list_policy_parse(policy) : -1, n;
	int c = check != NULL ? pb_check_sender_parse(check) : -1;

	if (p < 0 || c < 0)
		return set_error(dir, error_r,
				 "database %s: list %s has bad policy or "
				 "check_sender",
				 dir->path, address);
	out->list_id = sqlite3_column_int64(st, col);
	out->policy = (pb_list_policy)p;
	out->check_sender = (pb_check_sender)c;
	n = snprintf(out->list, sizeof(out->list), "%s", address);
	if (n < 0 || (size_t)n >= sizeof(out->list))
		goto too_long;
	if (owner != NULL && owner[0] != '\0') {
		n = snprintf(out->owner, sizeof(out->owner), "%s", owner);
		if (n < 0 || (size_t)n >= sizeof(out->owner))
			goto too_long;
	} else if (default_owner(address, out->owner, sizeof(out->owner)) < 0) {
		goto too_long;
	}
	return 1;
too_long:
	return set_error(dir, error_r, "database %s: list %s: address too long",
			 dir->path, address);
}

/* probe_list - is address a posting address?  Fills the list fields of
 * out: 1 yes, 0 no, -1 error. */
static int probe_list(pb_dir *dir, const char *address, pb_dir_rcpt *out,
		      const char **error_r)
{
	sqlite3_stmt *st = dir->stmt[Q_LIST];
	int rc, ret;

	if (bind_text(st, 1, address) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return finish(dir, st, rc, 0, "look up list", error_r);
	ret = fill_list(dir, st, 0, address, out, error_r);
	sqlite3_reset(st);
	return ret;
}

/* probe_key - Q_KEY for one key: 0 the domain is not protected, 1 it is
 * (*catch_all, *is_list with out's list fields, *is_rcpt set), -1 error. */
static int probe_key(pb_dir *dir, const char *domain, const char *key,
		     pb_dir_rcpt *out, bool *catch_all, bool *is_list,
		     bool *is_rcpt, const char **error_r)
{
	sqlite3_stmt *st = dir->stmt[Q_KEY];
	int rc, ret = 1;

	if (bind_text(st, 1, domain) != SQLITE_OK ||
	    bind_text(st, 2, key) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return finish(dir, st, rc, 0, "look up recipient", error_r);
	*catch_all = sqlite3_column_int(st, 0) != 0;
	*is_list = sqlite3_column_type(st, 1) != SQLITE_NULL;
	*is_rcpt = sqlite3_column_int(st, 5) != 0;
	if (*is_list)
		ret = fill_list(dir, st, 1, key, out, error_r);
	sqlite3_reset(st);
	return ret;
}

/* probe_base - is base@domain (base = local[0..base_len)) a list?  Then
 * out is the companion name. */
static int probe_base(pb_dir *dir, const char *local, size_t base_len,
		      const char *at, const char *name, pb_dir_rcpt *out,
		      const char **error_r)
{
	char addr[PB_ADDR_MAX + 1];
	int n, r;

	n = snprintf(addr, sizeof(addr), "%.*s%s", (int)base_len, local, at);
	if (n < 0 || (size_t)n >= sizeof(addr))
		return 0; /* longer than any stored address */
	if (out == NULL)
		return 1; /* a candidate: the caller only asked that */
	r = probe_list(dir, addr, out, error_r);
	if (r == 1)
		snprintf(out->companion, sizeof(out->companion), "%s", name);
	return r;
}

/* probe_companion - is address LIST-owner, -request, ... of a list, or
 * LIST-bounces+ANY / LIST-confirm+ANY (Mailman's VERP and confirmation
 * forms)?  1 yes (out filled), 0 no, -1 error.  With out NULL nothing is
 * probed: 1 says the address has a companion's form. */
static int probe_companion(pb_dir *dir, const char *address, pb_dir_rcpt *out,
			   const char **error_r)
{
	const char *at = split_at(address);
	size_t llen;
	int r;

	if (at == NULL)
		return 0;
	llen = (size_t)(at - address);
	if (llen < 2)
		return 0;
	for (size_t i = 0; i < sizeof(companions) / sizeof(companions[0]);
	     i++) {
		size_t slen = strlen(companions[i]);
		const char *dash;

		/* LIST-NAME: at least one character of LIST. */
		if (llen >= slen + 2 && address[llen - slen - 1] == '-' &&
		    strncasecmp(address + llen - slen, companions[i], slen) ==
			0) {
			r = probe_base(dir, address, llen - slen - 1, at,
				       companions[i], out, error_r);
			if (r != 0)
				return r;
		}
		if (strcmp(companions[i], "bounces") != 0 &&
		    strcmp(companions[i], "confirm") != 0)
			continue;
		/* LIST-bounces+ANY: the first "-NAME+" after LIST. */
		for (dash = memchr(address + 1, '-', llen - 1); dash != NULL;
		     dash = memchr(dash + 1, '-',
				   llen - (size_t)(dash + 1 - address))) {
			size_t off = (size_t)(dash - address);

			if (llen - off < slen + 3)
				break;
			if (strncasecmp(dash + 1, companions[i], slen) != 0 ||
			    dash[1 + slen] != '+')
				continue;
			r = probe_base(dir, address, off, at, companions[i],
				       out, error_r);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

/* probe_rcpt - is address an explicit recipient? */
static int probe_rcpt(pb_dir *dir, const char *address, const char **error_r)
{
	sqlite3_stmt *st = dir->stmt[Q_RCPT];
	int rc;

	if (bind_text(st, 1, address) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	rc = sqlite3_step(st);
	return finish(dir, st, rc, rc == SQLITE_ROW ? 1 : 0,
		      "look up recipient", error_r);
}

/* read_begin - open a read transaction unless one is open (the CLI's
 * write transaction).  Returns 1 when it opened one, 0 not, -1 error. */
static int read_begin(pb_dir *dir, const char **error_r)
{
	sqlite3_stmt *st = dir->stmt[Q_READ_BEGIN];
	int rc;

	if (!sqlite3_get_autocommit(dir->db))
		return 0;
	rc = sqlite3_step(st);
	return finish(dir, st, rc, 1, "begin read", error_r);
}

/* read_end - close what read_begin opened; ret (the lookup's result) is
 * kept unless closing fails.  After an error SQLite may have ended the
 * transaction already; whatever is left is rolled back. */
static int read_end(pb_dir *dir, int opened, int ret, const char **error_r)
{
	sqlite3_stmt *st = dir->stmt[Q_READ_END];
	int rc;

	if (opened != 1 || sqlite3_get_autocommit(dir->db))
		return ret;
	if (ret < 0) {
		sqlite3_exec(dir->db, "ROLLBACK", NULL, NULL, NULL);
		return ret;
	}
	rc = sqlite3_step(st);
	return finish(dir, st, rc, ret, "end read", error_r);
}

/* now_ms - a cheap monotonic clock (no system call). */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* read_hdr - the current WAL-index header, if both copies agree (SQLite
 * writes the second copy, then the first; a reader racing a commit sees
 * them differ and must not trust either). */
static bool read_hdr(const pb_dir *dir, unsigned char *out)
{
	unsigned char second[WAL_HDR_SIZE];

	for (size_t i = 0; i < WAL_HDR_SIZE; i++)
		out[i] = dir->shm[i];
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	for (size_t i = 0; i < WAL_HDR_SIZE; i++)
		second[i] = dir->shm[WAL_HDR_SIZE + i];
	return memcmp(out, second, WAL_HDR_SIZE) == 0;
}

/* pb_dir_release - end a held snapshot (before a handle goes idle). */
void pb_dir_release(pb_dir *dir)
{
	if (dir == NULL || !dir->held)
		return;
	dir->held = false;
	if (!sqlite3_get_autocommit(dir->db))
		(void)sqlite3_exec(dir->db, "ROLLBACK", NULL, NULL, NULL);
}

/* snapshot - on a read-only daemon handle, keep one read transaction open
 * across lookups for as long as the database has not changed.
 *
 * Why: starting a read transaction costs SQLite a lock round and an
 * fstat(2), several times a lookup's own work.  Why it is still exact:
 * the snapshot is given up as soon as the WAL-index header differs from
 * the one seen when it was taken, i.e. after any commit (a CLI change is
 * seen by the next lookup, as without reuse), and after SNAPSHOT_MAX_MS
 * in any case.  The header is read before the snapshot starts, so a
 * commit in between only makes the next call refresh needlessly.
 * Returns 0, or -1 when ending the old snapshot failed. */
static int snapshot(pb_dir *dir, const char **error_r)
{
	unsigned char hdr[WAL_HDR_SIZE];
	bool consistent;
	long long now;
	int rc;

	if (dir->shm == NULL)
		return 0;
	consistent = read_hdr(dir, hdr);
	now = now_ms();
	if (dir->held) {
		if (consistent && memcmp(hdr, dir->sig, WAL_HDR_SIZE) == 0 &&
		    now - dir->held_since_ms < SNAPSHOT_MAX_MS)
			return 0;
		dir->held = false;
		rc = sqlite3_step(dir->stmt[Q_READ_END]);
		if (finish(dir, dir->stmt[Q_READ_END], rc, 0, "end snapshot",
			   error_r) < 0) {
			pb_dir_release(dir);
			return -1;
		}
	}
	if (!consistent || !sqlite3_get_autocommit(dir->db))
		return 0; /* this lookup takes its own snapshot */
	rc = sqlite3_step(dir->stmt[Q_READ_BEGIN]);
	if (finish(dir, dir->stmt[Q_READ_BEGIN], rc, 0, "begin snapshot",
		   error_r) < 0)
		return -1;
	memcpy(dir->sig, hdr, WAL_HDR_SIZE);
	dir->held_since_ms = now;
	dir->held = true;
	return 0;
}

/* lookup - the probes of pb_dir_lookup_rcpt. */
static int lookup(pb_dir *dir, const pb_addr *rcpt, size_t n_keys,
		  pb_dir_rcpt *out, const char **error_r)
{
	const char *keys[2] = {rcpt->full, rcpt->key};
	bool catch_all = false, is_list = false, is_rcpt = false;
	int r;

	for (size_t i = 0; i < n_keys; i++) {
		r = probe_key(dir, rcpt->domain, keys[i], out, &catch_all,
			      &is_list, &is_rcpt, error_r);
		if (r <= 0)
			return r; /* error, or domain not protected */
		out->protected_domain = true;
		if (is_list) {
			out->kind = PB_RCPT_LIST;
			return 0;
		}
		r = probe_companion(dir, keys[i], out, error_r);
		if (r < 0)
			return -1;
		if (r > 0) {
			out->kind = PB_RCPT_LIST_COMPANION;
			return 0;
		}
		if (is_rcpt) {
			out->kind = PB_RCPT_ADDRESS;
			return 0;
		}
	}
	if (catch_all)
		out->kind = PB_RCPT_CATCHALL;
	return 0;
}

/* pb_dir_lookup_rcpt - see dir.h for the order.  The common case (no
 * extension, not shaped like a companion) is one statement; otherwise the
 * statements share one read transaction, so they see one snapshot. */
int pb_dir_lookup_rcpt(pb_dir *dir, const pb_addr *rcpt, pb_dir_rcpt *out,
		       const char **error_r)
{
	size_t n_keys = strcmp(rcpt->full, rcpt->key) != 0 ? 2 : 1;
	int opened = 0, ret;

	out->protected_domain = false;
	out->kind = PB_RCPT_UNKNOWN;
	out->list_id = 0;
	out->list[0] = out->owner[0] = out->companion[0] = '\0';
	out->policy = PB_POLICY_OPEN;
	out->check_sender = PB_CHECK_ANY;
	if (snapshot(dir, error_r) < 0)
		return -1;
	if (n_keys > 1 || probe_companion(dir, rcpt->full, NULL, NULL) > 0) {
		opened = read_begin(dir, error_r);
		if (opened < 0) {
			pb_dir_release(dir);
			return -1;
		}
	}
	ret = lookup(dir, rcpt, n_keys, out, error_r);
	if (ret < 0)
		pb_dir_release(dir);
	return read_end(dir, opened, ret, error_r);
}

/* pb_dir_may_post - poster (2), member (1) or neither (0). */
int pb_dir_may_post(pb_dir *dir, long long list_id, const pb_addr *sender,
		    const char **error_r)
{
	sqlite3_stmt *st = dir->stmt[Q_POST];
	int rc, ret = 0;

	if (snapshot(dir, error_r) < 0)
		return -1;
	if (sqlite3_bind_int64(st, 1, list_id) != SQLITE_OK ||
	    bind_text(st, 2, sender->full) != SQLITE_OK ||
	    bind_text(st, 3, sender->key) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		switch (sqlite3_column_int(st, 0)) {
		case 2:
			ret = PB_POSTER_ALLOWED;
			break;
		case 1:
			ret = PB_POSTER_MEMBER;
			break;
		default:
			ret = PB_POSTER_NONE;
			break;
		}
	}
	ret = finish(dir, st, rc, ret, "look up poster", error_r);
	if (ret < 0)
		pb_dir_release(dir);
	return ret;
}

static const char *const policy_names[] = {
    [PB_POLICY_OPEN] = "open",
    [PB_POLICY_MEMBERS] = "members",
    [PB_POLICY_MODERATED] = "moderated",
    [PB_POLICY_CLOSED] = "closed",
};

static const char *const check_names[] = {
    [PB_CHECK_ANY] = "any",
    [PB_CHECK_ENVELOPE] = "envelope",
    [PB_CHECK_HEADERS] = "headers",
};

/* pb_check_sender_name - the setting's word. */
const char *pb_check_sender_name(pb_check_sender c)
{
	if ((size_t)c >= sizeof(check_names) / sizeof(check_names[0]))
		return "?";
	return check_names[c];
}

/* pb_check_sender_parse - the word's setting, or -1. */
int pb_check_sender_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(check_names) / sizeof(check_names[0]);
	     i++)
		if (strcmp(s, check_names[i]) == 0)
			return (int)i;
	return -1;
}

/* pb_list_policy_name - the policy's word. */
const char *pb_list_policy_name(pb_list_policy p)
{
	if ((size_t)p >= sizeof(policy_names) / sizeof(policy_names[0]))
		return "?";
	return policy_names[p];
}

/* pb_list_policy_parse - the word's policy, or -1. */
int pb_list_policy_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]);
	     i++)
		if (strcmp(s, policy_names[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- administrative API ---- */

/* run_simple - step a parameterless statement to DONE. */
static int run_simple(pb_dir *dir, int id, const char *what,
		      const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, id, error_r);

	if (st == NULL)
		return -1;
	return exec_change(dir, st, what, error_r) < 0 ? -1 : 0;
}

/* pb_dir_begin - BEGIN IMMEDIATE (waits busy_timeout for other writers). */
int pb_dir_begin(pb_dir *dir, const char **error_r)
{
	return run_simple(dir, A_BEGIN, "begin", error_r);
}

/* pb_dir_commit - COMMIT. */
int pb_dir_commit(pb_dir *dir, const char **error_r)
{
	return run_simple(dir, A_COMMIT, "commit", error_r);
}

/* pb_dir_rollback - ROLLBACK if a transaction is open. */
void pb_dir_rollback(pb_dir *dir)
{
	if (dir != NULL && !sqlite3_get_autocommit(dir->db))
		run_simple(dir, A_ROLLBACK, "rollback", NULL);
}

/* change_text - run statement id with text parameters ?1 (and ?2). */
static int change_text(pb_dir *dir, int id, const char *a, const char *b,
		       const char *what, const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, id, error_r);

	if (st == NULL)
		return -1;
	if (bind_text(st, 1, a) != SQLITE_OK ||
	    (b != NULL && bind_text(st, 2, b) != SQLITE_OK))
		return finish(dir, st, SQLITE_ERROR, -1, what, error_r);
	return exec_change(dir, st, what, error_r);
}

/* pb_dir_domain_add - insert, or update catch_all. */
int pb_dir_domain_add(pb_dir *dir, const char *domain, bool catch_all,
		      const char **error_r)
{
	sqlite3_stmt *st;
	int r;

	for (int id = A_DOMAIN_ADD; id <= A_DOMAIN_SET; id++) {
		st = get_stmt(dir, id, error_r);
		if (st == NULL)
			return -1;
		if (bind_text(st, 1, domain) != SQLITE_OK ||
		    sqlite3_bind_int(st, 2, catch_all) != SQLITE_OK)
			return finish(dir, st, SQLITE_ERROR, -1, "bind",
				      error_r);
		r = exec_change(dir, st, "add domain", error_r);
		if (r != 0)
			return r < 0 ? -1 : (id == A_DOMAIN_ADD ? 1 : 2);
	}
	return 0;
}

/* pb_dir_domain_get - the lookup's probe. */
int pb_dir_domain_get(pb_dir *dir, const char *domain, bool *catch_all_r,
		      const char **error_r)
{
	bool ca = false;
	int r = probe_domain(dir, domain, &ca, error_r);

	if (catch_all_r != NULL)
		*catch_all_r = ca;
	return r;
}

/* pb_dir_domain_del - delete one domain. */
int pb_dir_domain_del(pb_dir *dir, const char *domain, const char **error_r)
{
	return change_text(dir, A_DOMAIN_DEL, domain, NULL, "delete domain",
			   error_r);
}

/* A walk hands each row to one of two callback kinds. */
typedef struct walker {
	pb_dir_domain_fn *domain_fn;   /* (domain, catch_all) rows */
	pb_dir_address_fn *address_fn; /* (address) rows */
	void *ctx;
} walker;

/* walk - step a bound SELECT, passing each row to w's callback. */
static int walk(pb_dir *dir, sqlite3_stmt *st, const walker *w,
		const char *what, const char **error_r)
{
	int rc, stop = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);

		if (s == NULL)
			s = "";
		if (w->domain_fn != NULL)
			stop = w->domain_fn(w->ctx, s,
					    sqlite3_column_int(st, 1) != 0);
		else
			stop = w->address_fn(w->ctx, s);
		if (stop != 0)
			break;
	}
	if (stop != 0) {
		sqlite3_reset(st);
		return stop;
	}
	return finish(dir, st, rc, 0, what, error_r);
}

/* pb_dir_domain_each - every domain. */
int pb_dir_domain_each(pb_dir *dir, pb_dir_domain_fn *fn, void *ctx,
		       const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, A_DOMAIN_EACH, error_r);
	walker w = {fn, NULL, ctx};

	if (st == NULL)
		return -1;
	return walk(dir, st, &w, "list domains", error_r);
}

/* pb_dir_recipient_add - insert if absent. */
int pb_dir_recipient_add(pb_dir *dir, const char *address, const char **error_r)
{
	return change_text(dir, A_RCPT_ADD, address, NULL, "add recipient",
			   error_r);
}

/* pb_dir_recipient_get - 1 present, 0 absent. */
int pb_dir_recipient_get(pb_dir *dir, const char *address, const char **error_r)
{
	return probe_rcpt(dir, address, error_r);
}

/* pb_dir_recipient_del - delete one recipient. */
int pb_dir_recipient_del(pb_dir *dir, const char *address, const char **error_r)
{
	return change_text(dir, A_RCPT_DEL, address, NULL, "delete recipient",
			   error_r);
}

/* pb_dir_recipient_each - every recipient. */
int pb_dir_recipient_each(pb_dir *dir, pb_dir_address_fn *fn, void *ctx,
			  const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, A_RCPT_EACH, error_r);
	walker w = {NULL, fn, ctx};

	if (st == NULL)
		return -1;
	return walk(dir, st, &w, "list recipients", error_r);
}

/* pb_dir_list_add - insert with the next id, if absent. */
int pb_dir_list_add(pb_dir *dir, const char *address, pb_list_policy policy,
		    const char *owner, const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, A_LIST_ADD, error_r);
	int rc;

	if (st == NULL)
		return -1;
	if (bind_text(st, 1, address) != SQLITE_OK ||
	    (owner != NULL && owner[0] != '\0'
		 ? bind_text(st, 2, owner)
		 : sqlite3_bind_null(st, 2)) != SQLITE_OK ||
	    bind_text(st, 3, pb_list_policy_name(policy)) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	rc = exec_change(dir, st, "add list", error_r);
	return rc;
}

/* copy_col - a text column into a fixed buffer; -1 if it does not fit. */
static int copy_col(sqlite3_stmt *st, int col, char *out, size_t cap)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	int n = snprintf(out, cap, "%s", s != NULL ? s : "");

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* count_rosters - the members and posters of one list. */
static int count_rosters(pb_dir *dir, pb_dir_list *out, const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, A_LIST_COUNT, error_r);
	int rc;

	if (st == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, out->id) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->members = sqlite3_column_int64(st, 0);
		out->posters = sqlite3_column_int64(st, 1);
	}
	return finish(dir, st, rc, 0, "count members", error_r);
}

/* list_row - a lists row (id, address, owner, policy, check_sender). */
static int list_row(pb_dir *dir, sqlite3_stmt *st, pb_dir_list *out,
		    const char **error_r)
{
	const char *policy = (const char *)sqlite3_column_text(st, 3);
	int p = policy != NULL ? pb_list_policy_parse(policy) : -1;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	if (copy_col(st, 1, out->address, sizeof(out->address)) < 0 ||
	    copy_col(st, 2, out->owner, sizeof(out->owner)) < 0 ||
	    copy_col(st, 4, out->check_sender, sizeof(out->check_sender)) < 0 ||
	    p < 0)
		return set_error(dir, error_r, "database %s: bad list row",
				 dir->path);
	out->policy = (pb_list_policy)p;
	if (out->owner[0] != '\0')
		snprintf(out->owner_effective, sizeof(out->owner_effective),
			 "%s", out->owner);
	else if (default_owner(out->address, out->owner_effective,
			       sizeof(out->owner_effective)) < 0)
		return set_error(dir, error_r,
				 "database %s: list %s: bad address", dir->path,
				 out->address);
	return 0;
}

/* pb_dir_list_get - one list with its counts. */
int pb_dir_list_get(pb_dir *dir, const char *address, pb_dir_list *out,
		    const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, A_LIST_GET, error_r);
	int rc;

	if (st == NULL)
		return -1;
	if (bind_text(st, 1, address) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return finish(dir, st, rc, 0, "look up list", error_r);
	if (list_row(dir, st, out, error_r) < 0) {
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return count_rosters(dir, out, error_r) < 0 ? -1 : 1;
}

/* pb_dir_list_set - policy and/or owner. */
int pb_dir_list_set(pb_dir *dir, const char *address, int policy,
		    const char *owner, const char **error_r)
{
	pb_dir_list cur;
	int r = pb_dir_list_get(dir, address, &cur, error_r);

	if (r <= 0)
		return r;
	if (policy >= 0 &&
	    change_text(dir, A_LIST_POLICY, address,
			pb_list_policy_name((pb_list_policy)policy),
			"set policy", error_r) < 0)
		return -1;
	if (owner != NULL && change_text(dir, A_LIST_OWNER, address, owner,
					 "set owner", error_r) < 0)
		return -1;
	return 1;
}

/* pb_dir_list_set_check_sender - which addresses count as the poster. */
int pb_dir_list_set_check_sender(pb_dir *dir, const char *address,
				 pb_check_sender check, const char **error_r)
{
	pb_dir_list cur;
	int r = pb_dir_list_get(dir, address, &cur, error_r);

	if (r <= 0)
		return r;
	if (change_text(dir, A_LIST_CHECK, address, pb_check_sender_name(check),
			"set check_sender", error_r) < 0)
		return -1;
	return 1;
}

/* pb_dir_list_del - the list, then its rosters (also cascaded). */
int pb_dir_list_del(pb_dir *dir, const char *address, const char **error_r)
{
	pb_dir_list cur;
	sqlite3_stmt *st;
	int r = pb_dir_list_get(dir, address, &cur, error_r);

	if (r <= 0)
		return r;
	for (int id = A_LIST_DEL_MEMBERS; id <= A_LIST_DEL_POSTERS; id++) {
		st = get_stmt(dir, id, error_r);
		if (st == NULL)
			return -1;
		if (sqlite3_bind_int64(st, 1, cur.id) != SQLITE_OK)
			return finish(dir, st, SQLITE_ERROR, -1, "bind",
				      error_r);
		if (exec_change(dir, st, "delete roster", error_r) < 0)
			return -1;
	}
	return change_text(dir, A_LIST_DEL, address, NULL, "delete list",
			   error_r);
}

/* pb_dir_list_each - every list with counts.  The rows are read first
 * (counting needs another statement), so the callback sees a snapshot. */
int pb_dir_list_each(pb_dir *dir, pb_dir_list_fn *fn, void *ctx,
		     const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, A_LIST_EACH, error_r);
	pb_dir_list *lists = NULL, *grown;
	size_t n = 0, cap = 0;
	int rc, ret = 0;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(lists, cap * sizeof(*lists));
			if (grown == NULL) {
				sqlite3_reset(st);
				free(lists);
				return set_error(dir, error_r, "out of memory");
			}
			lists = grown;
		}
		if (list_row(dir, st, &lists[n++], error_r) < 0) {
			sqlite3_reset(st);
			free(lists);
			return -1;
		}
	}
	if (finish(dir, st, rc, 0, "list lists", error_r) < 0) {
		free(lists);
		return -1;
	}
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (count_rosters(dir, &lists[i], error_r) < 0)
			ret = -1;
		else
			ret = fn(ctx, &lists[i]);
	}
	free(lists);
	return ret;
}

/* roster_stmt - the statement for op (0 add, 1 del, 2 each) on which. */
static int roster_stmt(pb_dir_roster which, int op)
{
	return (which == PB_ROSTER_POSTERS ? A_POSTER_ADD : A_MEMBER_ADD) + op;
}

/* roster_change - add or delete one address. */
static int roster_change(pb_dir *dir, pb_dir_roster which, int op,
			 long long list_id, const char *address,
			 const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, roster_stmt(which, op), error_r);

	if (st == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, list_id) != SQLITE_OK ||
	    bind_text(st, 2, address) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	return exec_change(
	    dir, st, op == 0 ? "add to roster" : "delete from roster", error_r);
}

/* pb_dir_roster_add - insert if absent. */
int pb_dir_roster_add(pb_dir *dir, pb_dir_roster which, long long list_id,
		      const char *address, const char **error_r)
{
	return roster_change(dir, which, 0, list_id, address, error_r);
}

/* pb_dir_roster_del - delete if present. */
int pb_dir_roster_del(pb_dir *dir, pb_dir_roster which, long long list_id,
		      const char *address, const char **error_r)
{
	return roster_change(dir, which, 1, list_id, address, error_r);
}

/* pb_dir_roster_each - every address of one roster. */
int pb_dir_roster_each(pb_dir *dir, pb_dir_roster which, long long list_id,
		       pb_dir_address_fn *fn, void *ctx, const char **error_r)
{
	sqlite3_stmt *st = get_stmt(dir, roster_stmt(which, 2), error_r);
	walker w = {NULL, fn, ctx};

	if (st == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, list_id) != SQLITE_OK)
		return finish(dir, st, SQLITE_ERROR, -1, "bind", error_r);
	return walk(dir, st, &w, "list roster", error_r);
}
