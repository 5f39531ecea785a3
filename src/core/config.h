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
	char *policy_listen[PB_MAX_LISTEN];
	size_t n_policy_listen;
	size_t policy_max_line;	      /* bytes in one attribute line, 4096 */
	size_t policy_max_attributes; /* attributes in one request, 256 */
	size_t policy_max_request;    /* bytes in one request, 65536 */

	/* [directory] */
	char *database;		   /* default state_dir/pushback.db */
	int on_error;		   /* pb_on_error */
	char *recipient_delimiter; /* default "+"; "" disables */
	bool case_sensitive_local; /* default false */
	int busy_timeout;	   /* ms to wait for a locked database, 2000 */

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

#endif
