/*
 * config - read pushback.conf into a pb_config.
 *
 * Syntax: "[section]" lines, "key = value" lines, blank lines, and
 * comments: a line starting with '#' or ';', or a '#'/';' that follows
 * white space after a value.  Lines may be of any length.  (Debian's inih
 * cuts lines at 200 bytes, keeps '#' comments after a value as part of
 * it and never reports a section without keys, so the few lines of
 * reading are our own.)
 *
 * The keys are one table (section, name, type, offset, bounds): reading
 * the table is reading the list of settings.  Errors name file:line.
 * Memory: every string is malloc'd and owned by the pb_config.
 */
#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/log.h"

typedef enum key_type {
	KEY_STRING,
	KEY_INT,
	KEY_SIZE,
	KEY_BOOL,
	KEY_LISTEN, /* pb_listen_list: appends; the file replaces defaults */
	KEY_LISTEN_ONE, /* char *: one listener */
	KEY_LIST, /* pb_strlist: appends words; the file replaces defaults */
	KEY_CHAR_SEP,	/* char: '=', '+' or '-' (SRS separator) */
	KEY_QUARANTINE, /* int: PB_Q_* bits from rule tokens */
	KEY_LOG_DEST,
	KEY_LOG_LEVEL,
	KEY_ON_ERROR,
} key_type;

typedef struct key_def {
	const char *section;
	const char *name;
	key_type type;
	size_t offset;
	long min, max; /* for KEY_INT and KEY_SIZE */
} key_def;

#define OFF(f) offsetof(pb_config, f)

static const key_def keys[] = {
    {"pushbackd", "state_dir", KEY_STRING, OFF(state_dir), 0, 0},
    {"pushbackd", "max_connections", KEY_INT, OFF(max_connections), 1, 65536},
    {"pushbackd", "idle_timeout", KEY_INT, OFF(idle_timeout), 1, 86400},
    {"pushbackd", "shadow", KEY_BOOL, OFF(shadow), 0, 0},
    {"pushbackd", "soft_bounce", KEY_BOOL, OFF(soft_bounce), 0, 0},
    {"pushbackd", "log", KEY_LOG_DEST, OFF(log_dest), 0, 0},
    {"pushbackd", "log_level", KEY_LOG_LEVEL, OFF(log_level), 0, 0},
    {"policy", "listen", KEY_LISTEN, OFF(policy_listen), 0, 0},
    {"policy", "max_line_length", KEY_SIZE, OFF(policy_max_line), 64, 1048576},
    {"policy", "max_attributes", KEY_SIZE, OFF(policy_max_attributes), 8,
     100000},
    {"policy", "max_request_size", KEY_SIZE, OFF(policy_max_request), 256,
     16777216},
    {"directory", "database", KEY_STRING, OFF(database), 0, 0},
    {"directory", "on_error", KEY_ON_ERROR, OFF(on_error), 0, 0},
    {"directory", "recipient_delimiter", KEY_STRING, OFF(recipient_delimiter),
     0, 0},
    {"directory", "case_sensitive_local_parts", KEY_BOOL,
     OFF(case_sensitive_local), 0, 0},
    {"directory", "busy_timeout", KEY_INT, OFF(busy_timeout), 0, 600000},
    {"srs", "domain", KEY_STRING, OFF(srs_domain), 0, 0},
    {"srs", "local_domains", KEY_LIST, OFF(local_domains), 0, 0},
    {"srs", "exclude_domains", KEY_LIST, OFF(exclude_domains), 0, 0},
    {"srs", "secrets", KEY_STRING, OFF(srs_secrets), 0, 0},
    {"srs", "hash_length", KEY_INT, OFF(srs_hash_length), 4, 27},
    {"srs", "min_hash_length", KEY_INT, OFF(srs_min_hash_length), 4, 27},
    {"srs", "max_age", KEY_INT, OFF(srs_max_age), 1, 1023},
    {"srs", "separator", KEY_CHAR_SEP, OFF(srs_separator), 0, 0},
    {"batv", "secrets", KEY_STRING, OFF(batv_secrets), 0, 0},
    {"batv", "max_age", KEY_INT, OFF(batv_max_age), 1, 999},
    {"bounces", "protect", KEY_LIST, OFF(protect), 0, 0},
    {"bounces", "no_bounces", KEY_LIST, OFF(no_bounces), 0, 0},
    {"bounces", "quarantine", KEY_QUARANTINE, OFF(quarantine), 0, 0},
    {"socketmap", "listen", KEY_LISTEN, OFF(socketmap_listen), 0, 0},
    {"milter", "listen", KEY_LISTEN, OFF(milter_listen), 0, 0},
    {"tcp_table", "forward", KEY_LISTEN_ONE, OFF(tcp_table[PB_MAP_FORWARD]), 0,
     0},
    {"tcp_table", "reverse", KEY_LISTEN_ONE, OFF(tcp_table[PB_MAP_REVERSE]), 0,
     0},
    {"tcp_table", "batv-sign", KEY_LISTEN_ONE, OFF(tcp_table[PB_MAP_BATV_SIGN]),
     0, 0},
    {"tcp_table", "batv-reverse", KEY_LISTEN_ONE,
     OFF(tcp_table[PB_MAP_BATV_REVERSE]), 0, 0},
};

/* The bounce rules [bounces] quarantine may name. */
static const struct {
	const char *token;
	int bit;
} quarantine_rules[] = {
    {"unsigned-bounce", PB_Q_UNSIGNED},
    {"bad-signature", PB_Q_BAD_SIGNATURE},
    {"expired-signature", PB_Q_EXPIRED},
    {"no-bounces-here", PB_Q_NO_BOUNCES},
};

/* Addresses that send and never receive: bounces to them are refused
 * when their domain is protected ([bounces] no_bounces). */
static const char *const default_no_bounces[] = {
    "noreply", "no-reply", "donotreply", "do-not-reply", "mailer-daemon",
};

static const char *const map_names[PB_MAP_COUNT] = {
    [PB_MAP_FORWARD] = "forward",
    [PB_MAP_REVERSE] = "reverse",
    [PB_MAP_BATV_SIGN] = "batv-sign",
    [PB_MAP_BATV_REVERSE] = "batv-reverse",
};

/* pb_map_name - the map's name in socketmap requests and [tcp_table]. */
const char *pb_map_name(pb_map_id id)
{
	return (unsigned)id < PB_MAP_COUNT ? map_names[id] : "?";
}

_Static_assert(sizeof(keys) / sizeof(keys[0]) <= 64,
	       "pb_config.seen has one bit per key");

typedef struct parse_ctx {
	pb_config *cfg;
	const char *path;
	bool first; /* the key is set for the first time in this file */
} parse_ctx;

/* set_string - replace an owned string. */
static int set_string(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

/* parse_long - whole-string decimal integer in [min, max]. */
static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* parse_bool - yes/no, true/false, on/off, 1/0. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* listen_valid - "inet:HOST:PORT" or "unix:/PATH". */
static int listen_valid(const char *s)
{
	if (strncmp(s, "unix:", 5) == 0)
		return s[5] == '/' ? 0 : -1;
	if (strncmp(s, "inet:", 5) == 0) {
		const char *colon = strrchr(s + 5, ':');
		long port;

		if (colon == NULL || colon == s + 5)
			return -1;
		return parse_long(colon + 1, 1, 65535, &port);
	}
	return -1;
}

/* listen_clear - forget every listener (the file replaces defaults). */
static void listen_clear(pb_listen_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->spec[i]);
		l->spec[i] = NULL;
	}
	l->n = 0;
}

/* add_listen - append each space-separated listener of value. */
static int add_listen(parse_ctx *pc, pb_listen_list *l, const char *value,
		      const char **why)
{
	char *copy = strdup(value), *save = NULL;

	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (pc->first)
		listen_clear(l);
	for (char *w = strtok_r(copy, " \t,", &save); w != NULL;
	     w = strtok_r(NULL, " \t,", &save)) {
		if (listen_valid(w) < 0) {
			*why = "listener must be inet:HOST:PORT or unix:/PATH";
			free(copy);
			return -1;
		}
		if (l->n == PB_MAX_LISTEN) {
			*why = "too many listeners";
			free(copy);
			return -1;
		}
		l->spec[l->n] = strdup(w);
		if (l->spec[l->n] == NULL) {
			*why = "out of memory";
			free(copy);
			return -1;
		}
		l->n++;
	}
	free(copy);
	return 0;
}

/* strlist_clear - free every word. */
static void strlist_clear(pb_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* strlist_add - append one word, lower-cased. */
static int strlist_add(pb_strlist *l, const char *w)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
	char *copy;

	if (v == NULL)
		return -1;
	l->v = v;
	copy = strdup(w);
	if (copy == NULL)
		return -1;
	for (char *p = copy; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	l->v[l->n++] = copy;
	return 0;
}

/* add_words - append each space- or comma-separated word of value. */
static int add_words(parse_ctx *pc, pb_strlist *l, const char *value,
		     const char **why)
{
	char *copy = strdup(value), *save = NULL;

	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (pc->first)
		strlist_clear(l);
	for (char *w = strtok_r(copy, " \t,", &save); w != NULL;
	     w = strtok_r(NULL, " \t,", &save)) {
		if (strlist_add(l, w) < 0) {
			*why = "out of memory";
			free(copy);
			return -1;
		}
	}
	free(copy);
	return 0;
}

/* pb_strlist_has - s is one of the words, ignoring case. */
bool pb_strlist_has(const pb_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* parse_quarantine - rule tokens to PB_Q_* bits ("none" for no rule). */
static int parse_quarantine(const char *value, int *bits, const char **why)
{
	char *copy = strdup(value), *save = NULL;
	int out = 0;

	if (copy == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (char *w = strtok_r(copy, " \t,", &save); w != NULL;
	     w = strtok_r(NULL, " \t,", &save)) {
		size_t i,
		    n = sizeof(quarantine_rules) / sizeof(quarantine_rules[0]);

		if (strcmp(w, "none") == 0)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(w, quarantine_rules[i].token) == 0)
				break;
		if (i == n) {
			*why = "expected rule names: unsigned-bounce, "
			       "bad-signature, expired-signature, "
			       "no-bounces-here (or none)";
			free(copy);
			return -1;
		}
		out |= quarantine_rules[i].bit;
	}
	free(copy);
	*bits = out;
	return 0;
}

/* set_key - store one value; *why says what was wrong. */
static int set_key(parse_ctx *pc, const key_def *k, const char *value,
		   const char **why)
{
	void *slot = (char *)pc->cfg + k->offset;
	long n;
	int i;

	switch (k->type) {
	case KEY_STRING:
		if (set_string(slot, value) < 0) {
			*why = "out of memory";
			return -1;
		}
		return 0;
	case KEY_INT:
	case KEY_SIZE:
		if (parse_long(value, k->min, k->max, &n) < 0) {
			*why = "expected a whole number in range";
			return -1;
		}
		if (k->type == KEY_INT)
			*(int *)slot = (int)n;
		else
			*(size_t *)slot = (size_t)n;
		return 0;
	case KEY_BOOL:
		if (parse_bool(value, slot) < 0) {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	case KEY_LISTEN:
		return add_listen(pc, slot, value, why);
	case KEY_LISTEN_ONE:
		if (listen_valid(value) < 0) {
			*why = "listener must be inet:HOST:PORT or unix:/PATH";
			return -1;
		}
		if (set_string(slot, value) < 0) {
			*why = "out of memory";
			return -1;
		}
		return 0;
	case KEY_LIST:
		return add_words(pc, slot, value, why);
	case KEY_CHAR_SEP:
		if (strcmp(value, "=") != 0 && strcmp(value, "+") != 0 &&
		    strcmp(value, "-") != 0) {
			*why = "expected one of = + -";
			return -1;
		}
		*(char *)slot = value[0];
		return 0;
	case KEY_QUARANTINE:
		return parse_quarantine(value, slot, why);
	case KEY_LOG_DEST:
		if (strcmp(value, "stderr") == 0)
			*(int *)slot = PB_LOG_STDERR;
		else if (strcmp(value, "syslog") == 0)
			*(int *)slot = PB_LOG_SYSLOG;
		else {
			*why = "expected stderr or syslog";
			return -1;
		}
		return 0;
	case KEY_LOG_LEVEL:
		i = pb_log_level_parse(value);
		if (i < 0) {
			*why = "expected debug, info, warn or error";
			return -1;
		}
		*(int *)slot = i;
		return 0;
	case KEY_ON_ERROR:
		if (strcmp(value, "tempfail") == 0)
			*(int *)slot = PB_ON_ERROR_TEMPFAIL;
		else if (strcmp(value, "dunno") == 0)
			*(int *)slot = PB_ON_ERROR_DUNNO;
		else {
			*why = "expected tempfail or dunno";
			return -1;
		}
		return 0;
	}
	*why = "internal: unknown key type";
	return -1;
}

/* handler - inih callback: find the key in the table and set it. */
static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	parse_ctx *pc = user;
	const char *why = NULL;
	bool known_section = false;

	if (section[0] == '\0') {
		snprintf(pc->cfg->error, sizeof(pc->cfg->error),
			 "key '%s' before any [section]", name);
		return 0;
	}

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const key_def *k = &keys[i];

		if (strcmp(k->section, section) != 0)
			continue;
		known_section = true;
		if (strcmp(k->name, name) != 0)
			continue;
		pc->first = !(pc->cfg->seen & (1ULL << i));
		if (!pc->first && k->type != KEY_LISTEN && k->type != KEY_LIST)
			why = "set twice";
		else if (set_key(pc, k, value, &why) == 0) {
			pc->cfg->seen |= 1ULL << i;
			return 1;
		}
		snprintf(pc->cfg->error, sizeof(pc->cfg->error),
			 "[%s] %s = %s: %s", section, name, value, why);
		return 0;
	}
	if (known_section)
		snprintf(pc->cfg->error, sizeof(pc->cfg->error),
			 "unknown key '%s' in section [%s]", name, section);
	else
		snprintf(pc->cfg->error, sizeof(pc->cfg->error),
			 "unknown section [%s]", section);
	return 0;
}

/* pb_config_defaults - the embedded defaults. */
int pb_config_defaults(pb_config *cfg, const char **error_r)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_connections = 256;
	cfg->idle_timeout = 300;
	cfg->log_dest = PB_LOG_STDERR;
	cfg->log_level = PB_LOG_INFO;
	cfg->policy_max_line = 4096;
	cfg->policy_max_attributes = 256;
	cfg->policy_max_request = 65536;
	cfg->on_error = PB_ON_ERROR_TEMPFAIL;
	cfg->busy_timeout = 2000;
	cfg->srs_hash_length = 4;
	cfg->srs_min_hash_length = 4;
	cfg->srs_max_age = 21;
	cfg->srs_separator = '=';
	cfg->batv_max_age = 7;
	for (size_t i = 0;
	     i < sizeof(default_no_bounces) / sizeof(default_no_bounces[0]);
	     i++)
		if (strlist_add(&cfg->no_bounces, default_no_bounces[i]) < 0) {
			*error_r = "out of memory";
			return -1;
		}
	if (set_string(&cfg->path, "(defaults)") < 0 ||
	    set_string(&cfg->state_dir, "/var/lib/pushback") < 0 ||
	    set_string(&cfg->recipient_delimiter, "+") < 0 ||
	    (cfg->policy_listen.spec[0] = strdup("inet:127.0.0.1:10040")) ==
		NULL ||
	    (cfg->socketmap_listen.spec[0] = strdup("inet:127.0.0.1:10041")) ==
		NULL ||
	    (cfg->milter_listen.spec[0] = strdup("inet:127.0.0.1:10042")) ==
		NULL) {
		*error_r = "out of memory";
		return -1;
	}
	cfg->policy_listen.n = 1;
	cfg->socketmap_listen.n = 1;
	cfg->milter_listen.n = 1;
	return 0;
}

/* finish - values derived from others once the file is read. */
static int finish(pb_config *cfg, const char **error_r)
{
	if (cfg->database == NULL) {
		size_t n = strlen(cfg->state_dir) + sizeof("/pushback.db");

		cfg->database = malloc(n);
		if (cfg->database == NULL) {
			*error_r = "out of memory";
			return -1;
		}
		snprintf(cfg->database, n, "%s/pushback.db", cfg->state_dir);
	}
	if (cfg->srs_min_hash_length > cfg->srs_hash_length) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "%s: [srs] min_hash_length (%d) is longer than "
			 "hash_length (%d): our own addresses would not verify",
			 cfg->path, cfg->srs_min_hash_length,
			 cfg->srs_hash_length);
		*error_r = cfg->error;
		return -1;
	}
	if (cfg->policy_listen.n == 0) {
		snprintf(cfg->error, sizeof(cfg->error),
			 "%s: [policy] listen: no listener", cfg->path);
		*error_r = cfg->error;
		return -1;
	}
	return 0;
}

/* trim - strip white space at both ends, in place. */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* cut_comment - end the text at a '#' or ';' that follows white space. */
static void cut_comment(char *s)
{
	for (char *p = s + 1; *p; p++)
		if ((*p == '#' || *p == ';') &&
		    (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

/* section_known - some key lives in this section. */
static bool section_known(const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, name) == 0)
			return true;
	return false;
}

/* read_lines - feed each key = value of f to handler; returns 0, or the
 * number of the first bad line with cfg->error saying why. */
static int read_lines(FILE *f, parse_ctx *pc)
{
	char *buf = NULL, section[64] = "";
	size_t cap = 0;
	int lineno = 0, bad = 0;

	while (getline(&buf, &cap, f) >= 0) {
		char *line = trim(buf), *eq, *end;

		lineno++;
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			end = strchr(line, ']');
			if (end != NULL) {
				*end = '\0';
				cut_comment(end + 1);
			}
			if (end == NULL || *trim(end + 1) != '\0') {
				snprintf(pc->cfg->error, sizeof(pc->cfg->error),
					 "syntax error in section header");
				bad = lineno;
				break;
			}
			line = trim(line + 1);
			if (!section_known(line) ||
			    strlen(line) >= sizeof(section)) {
				snprintf(pc->cfg->error, sizeof(pc->cfg->error),
					 "unknown section [%s]", line);
				bad = lineno;
				break;
			}
			memcpy(section, line, strlen(line) + 1);
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL) {
			snprintf(pc->cfg->error, sizeof(pc->cfg->error),
				 "syntax error (expected [section] or key = "
				 "value)");
			bad = lineno;
			break;
		}
		*eq = '\0';
		cut_comment(eq); /* a value may start with white space */
		if (!handler(pc, section, trim(line), trim(eq + 1))) {
			bad = lineno;
			break;
		}
	}
	free(buf);
	return bad;
}

/* pb_config_load - defaults, then the file. */
int pb_config_load(pb_config *cfg, const char *path, const char **error_r)
{
	parse_ctx pc = {.cfg = cfg, .path = path, .first = true};
	char msg[sizeof(cfg->error)];
	struct stat st;
	FILE *f;
	int line;

	if (pb_config_defaults(cfg, error_r) < 0)
		return -1;
	if (path == NULL)
		return finish(cfg, error_r);
	if (set_string(&cfg->path, path) < 0) {
		*error_r = "out of memory";
		return -1;
	}
	f = fopen(path, "r");
	if (f == NULL || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: cannot read: %s",
			 path, f == NULL ? strerror(errno) : "not a file");
		if (f != NULL)
			fclose(f);
		*error_r = cfg->error;
		return -1;
	}
	line = read_lines(f, &pc);
	if (line == 0 && ferror(f)) {
		snprintf(cfg->error, sizeof(cfg->error), "%s: read error",
			 path);
		fclose(f);
		*error_r = cfg->error;
		return -1;
	}
	fclose(f);
	if (line > 0) {
		memcpy(msg, cfg->error, sizeof(msg));
		if (snprintf(cfg->error, sizeof(cfg->error), "%s:%d: %s", path,
			     line, msg) >= (int)sizeof(cfg->error))
			cfg->error[sizeof(cfg->error) - 1] = '\0'; /* cut */
		*error_r = cfg->error;
		return -1;
	}
	return finish(cfg, error_r);
}

/* pb_config_free - release every owned string. */
void pb_config_free(pb_config *cfg)
{
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->database);
	free(cfg->recipient_delimiter);
	listen_clear(&cfg->policy_listen);
	listen_clear(&cfg->socketmap_listen);
	listen_clear(&cfg->milter_listen);
	free(cfg->srs_domain);
	free(cfg->srs_secrets);
	free(cfg->batv_secrets);
	strlist_clear(&cfg->local_domains);
	strlist_clear(&cfg->exclude_domains);
	strlist_clear(&cfg->protect);
	strlist_clear(&cfg->no_bounces);
	for (size_t i = 0; i < PB_MAP_COUNT; i++)
		free(cfg->tcp_table[i]);
	memset(cfg, 0, sizeof(*cfg));
}
