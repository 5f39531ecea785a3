/*
 * log - one line per event to stderr or syslog.
 *
 * Threading: the settings are written once at start-up (pb_log_open) and
 * read afterwards; each line is built in a stack buffer and handed to the
 * kernel in one write(2), so lines from threads never interleave.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static const char *log_ident = "pushback";
static pb_log_dest log_dest = PB_LOG_STDERR;
static pb_log_level log_min = PB_LOG_INFO;

static const char *const level_names[] = {
    [PB_LOG_DEBUG] = "debug",  [PB_LOG_INFO] = "info",
    [PB_LOG_WARN] = "warning", [PB_LOG_ERROR] = "error",
    [PB_LOG_FATAL] = "fatal",
};

static const int level_syslog[] = {
    [PB_LOG_DEBUG] = LOG_DEBUG,	 [PB_LOG_INFO] = LOG_INFO,
    [PB_LOG_WARN] = LOG_WARNING, [PB_LOG_ERROR] = LOG_ERR,
    [PB_LOG_FATAL] = LOG_CRIT,
};

/* pb_log_open - choose destination and minimum level. */
void pb_log_open(const char *ident, pb_log_dest dest, pb_log_level level)
{
	log_ident = ident;
	log_dest = dest;
	log_min = level;
	if (dest == PB_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* pb_log_level_parse - level name to value, -1 when unknown. */
int pb_log_level_parse(const char *s)
{
	if (strcmp(s, "debug") == 0)
		return PB_LOG_DEBUG;
	if (strcmp(s, "info") == 0)
		return PB_LOG_INFO;
	if (strcmp(s, "warn") == 0 || strcmp(s, "warning") == 0)
		return PB_LOG_WARN;
	if (strcmp(s, "error") == 0)
		return PB_LOG_ERROR;
	return -1;
}

/* pb_log_enabled - would a line at this level be written? */
int pb_log_enabled(pb_log_level level)
{
	return level >= log_min;
}

/* pb_log - format and write one line. */
void pb_log(pb_log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	size_t off = 0;
	va_list ap;
	int n;

	if (level < log_min)
		return;
	if (log_dest == PB_LOG_STDERR) {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		off = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line + off, sizeof(line) - off,
			     ".%03ld %s[%ld]: %s: ", (long)(tv.tv_usec / 1000),
			     log_ident, (long)getpid(), level_names[level]);
		if (n < 0 || (size_t)n >= sizeof(line) - off)
			return;
		off += (size_t)n;
	}
	va_start(ap, fmt);
	n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - off) /* truncated: mark it */
		memcpy(line + sizeof(line) - 5, "...", 4);
	off = strlen(line);
	if (log_dest == PB_LOG_SYSLOG) {
		syslog(level_syslog[level], "%s: %s", level_names[level], line);
		return;
	}
	line[off++] = '\n';
	/* One write per line; a failed log write has nowhere to be told. */
	if (write(STDERR_FILENO, line, off) < 0)
		return;
}

/* pb_log_safe - escape untrusted text for a log line. */
char *pb_log_safe(const char *p, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (cap < 4) { /* no room for anything but the marker */
		out[0] = '\0';
		return out;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		size_t need = (c < 0x20 || c >= 0x7f || c == '\\') ? 4 : 1;

		/* o <= cap - 4 always holds: room for "..." and the NUL. */
		if (o + need > cap - 4) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
