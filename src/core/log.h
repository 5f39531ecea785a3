/*
 * log - the daemon's and CLI's log: stderr or syslog, fixed severities.
 *
 * Thread-safe: each line is formatted into a local buffer and written with
 * one write(2) / syslog(3) call.  Untrusted text must be passed through
 * pb_log_safe() (or %s of already-sanitised text) so that a CR, LF or other
 * control byte in an address never forges a log line.
 */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <stddef.h>

typedef enum pb_log_level {
	PB_LOG_DEBUG = 0,
	PB_LOG_INFO,
	PB_LOG_WARN,
	PB_LOG_ERROR,
	PB_LOG_FATAL,
} pb_log_level;

typedef enum pb_log_dest {
	PB_LOG_STDERR = 0,
	PB_LOG_SYSLOG,
} pb_log_dest;

/* pb_log_open - choose destination and minimum level; ident is the program
 * name shown in each line. */
void pb_log_open(const char *ident, pb_log_dest dest, pb_log_level level);

/* pb_log_level_parse - "debug|info|warn|error"; -1 when unknown. */
int pb_log_level_parse(const char *s);

/* pb_log_enabled - whether a line at this level would be written. */
int pb_log_enabled(pb_log_level level);

void pb_log(pb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define pb_debug(...) pb_log(PB_LOG_DEBUG, __VA_ARGS__)
#define pb_info(...) pb_log(PB_LOG_INFO, __VA_ARGS__)
#define pb_warn(...) pb_log(PB_LOG_WARN, __VA_ARGS__)
#define pb_error(...) pb_log(PB_LOG_ERROR, __VA_ARGS__)

/* pb_log_safe - copy at most len bytes of untrusted text into out (cap
 * bytes incl. NUL), replacing control bytes, backslash and non-ASCII by
 * \xHH escapes; truncated text ends in "...".  Returns out. */
char *pb_log_safe(const char *p, size_t len, char *out, size_t cap);

#endif
