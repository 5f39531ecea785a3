/*
 * config - pushback.conf: INI sections, key = value, '#' comments (inih).
 *
 * Memory: pb_config owns every string in it; pb_config_free releases them.
 * A loaded config is read-only and shared by all threads.
 * Unknown sections and keys, bad values and duplicates are errors that name
 * file:line.
 */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define PB_MAX_LISTEN 16

/* Listeners of one kind: "inet:HOST:PORT" or "unix:/PATH" each. */
typedef struct pb_listen_list {
	char *spec[PB_MAX_LISTEN];
	size_t n;
} pb_listen_list;

/* A list of words (domains, addresses, tokens), lower-cased. */
typedef struct pb_strlist {
	char **v;
	size_t n;
} pb_strlist;

/* The tcp_table maps, one listener each (as postsrsd 1.x). */
typedef enum pb_map_id {
	PB_MAP_FORWARD = 0,  /* SRS-sign a foreign sender */
	PB_MAP_REVERSE,	     /* SRS-unsign a recipient */
	PB_MAP_BATV_SIGN,    /* prvs-sign a protected sender */
	PB_MAP_BATV_REVERSE, /* prvs-unsign a recipient */
	PB_MAP_COUNT
} pb_map_id;

/* Bounce rules that may quarantine instead of reject ([bounces]
 * quarantine), as bits. */
enum {
	PB_Q_UNSIGNED = 1 << 0,	     /* unsigned-bounce */
	PB_Q_BAD_SIGNATURE = 1 << 1, /* bad-signature */
	PB_Q_EXPIRED = 1 << 2,	     /* expired-signature */
	PB_Q_NO_BOUNCES = 1 << 3,    /* no-bounces-here */
};

typedef enum pb_on_error {
	PB_ON_ERROR_TEMPFAIL = 0,
	PB_ON_ERROR_DUNNO,
} pb_on_error;

typedef struct pb_config {
	char *path; /* the file it was read from, or "(defaults)" */

	/* [pushbackd] */
	char *state_dir;     /* default /var/lib/pushback */
	int max_connections; /* default 256: one thread each */
	int idle_timeout;    /* seconds an idle MTA connection is kept, 300 */
	bool shadow;	     /* log "would REJECT", answer DUNNO */
	bool soft_bounce;    /* turn every 5xx into 4xx */
	int log_dest;	     /* pb_log_dest */
	int log_level;	     /* pb_log_level */

	/* [policy] */
	pb_listen_list policy_listen;
	size_t policy_max_line;	      /* bytes in one attribute line, 4096 */
	size_t policy_max_attributes; /* attributes in one request, 256 */
	size_t policy_max_request;    /* bytes in one request, 65536 */

	/* [directory] */
	char *database;		   /* default state_dir/pushback.db */
	int on_error;		   /* pb_on_error */
	char *recipient_delimiter; /* default "+"; "" disables */
	bool case_sensitive_local; /* default false */
	int busy_timeout;	   /* ms to wait for a locked database, 2000 */

	/* [srs] */
	char *srs_domain;	    /* NULL: SRS maps answer TEMP */
	pb_strlist local_domains;   /* never SRS-forwarded */
	pb_strlist exclude_domains; /* never SRS-forwarded either */
	char *srs_secrets;	    /* key file; NULL: not configured */
	int srs_hash_length;	    /* written, 4 */
	int srs_min_hash_length;    /* accepted, 4 */
	int srs_max_age;	    /* days, 21 */
	char srs_separator;	    /* '=', '+' or '-' */

	/* [batv] */
	char *batv_secrets; /* "N KEY" lines; NULL: not configured */
	int batv_max_age;   /* days, 7 */

	/* [bounces] */
	pb_strlist protect;    /* domains and addresses that must be signed */
	pb_strlist no_bounces; /* local parts or addresses never bounced to */
	int quarantine;	       /* PB_Q_* rules that quarantine */

	/* [socketmap] */
	pb_listen_list socketmap_listen;
	/* [milter] */
	pb_listen_list milter_listen;
	/* [tcp_table], indexed by pb_map_id; NULL when off */
	char *tcp_table[PB_MAP_COUNT];

	/* private to config.c */
	char error[512];
	unsigned long long seen; /* keys already set, for duplicates */
} pb_config;

/* pb_config_defaults - fill cfg with the built-in defaults (allocates). */
int pb_config_defaults(pb_config *cfg, const char **error_r);

/* pb_config_load - defaults, then the file at path.  Returns 0, or -1 with
 * *error_r pointing at a static-lifetime message owned by cfg ("FILE:LINE:
 * ..."); cfg must still be freed. */
int pb_config_load(pb_config *cfg, const char *path, const char **error_r);

/* pb_config_free - release every string; cfg may be reused after. */
void pb_config_free(pb_config *cfg);

/* pb_strlist_has - s is one of the words (compared case-insensitively). */
bool pb_strlist_has(const pb_strlist *l, const char *s);

/* pb_map_name - "forward", "reverse", "batv-sign", "batv-reverse". */
const char *pb_map_name(pb_map_id id);

#endif
