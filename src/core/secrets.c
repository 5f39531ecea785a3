/*
 * secrets - load and create the SRS and BATV key files.
 *
 * File format, one secret a line:
 *   - a trailing CR, LF and other white space is removed (so CRLF files
 *     work; note postsrsd 1.x strips only CR/LF, keep secrets free of
 *     trailing blanks to share a file with it);
 *   - empty and all-blank lines are skipped, and so are lines whose first
 *     non-blank character is '#';
 *   - a secret may not start with white space: postsrsd would keep the
 *     blanks as part of the secret and sign with a different key, so such
 *     a line is an error rather than a silent mismatch;
 *   - control characters (other than the trailing ones removed) and NUL
 *     are refused: a secret is text that postsrsd, Mail::SRS and Exim's
 *     ${prvs} all read the same way;
 *   - numbered (BATV) files: "N SECRET", N one digit 0..9, then blanks,
 *     then the secret; a number used twice is an error.
 * Exim's ${prvs} refuses keys longer than 64 bytes; pb_keys_new writes 44.
 *
 * The file must be a regular file with no group or other permission bits
 * (open first, then fstat the descriptor: no window between check and
 * use).  At most PB_KEYS_FILE_MAX bytes are read.
 *
 * Memory: the file is read into one heap buffer that is wiped and freed
 * before returning; pb_keys itself is a fixed-size value.  Error messages
 * that do not fit errlen are cut short.  Loading runs at start-up (it uses
 * strerror); the loaded keys are read-only and shared by all threads.
 * SECURITY: the file content is trusted only as far as its permissions
 * say; every line is bounded by PB_KEY_LEN_MAX and PB_KEYS_MAX.
 */
#include "core/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define PB_KEYS_FILE_MAX 65536 /* bytes read from one key file */
#define PB_KEY_NEW_BYTES 32    /* random bytes in a new secret */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* set_err - format an error message into err (cut short if needed) */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(err, errlen, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

/* is_blank - the white space stripped from line ends */
static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/* is_control - bytes a secret may not hold */
static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* read_all - the whole of fd (at most PB_KEYS_FILE_MAX bytes) in a heap
 * buffer; *len gets its length.  NULL with err set on failure. */
static char *read_all(int fd, const char *path, size_t *len, char *err,
		      size_t errlen)
{
	char *buf = malloc(PB_KEYS_FILE_MAX + 1);
	size_t n = 0;
	ssize_t r;

	if (buf == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	for (;;) {
		r = read(fd, buf + n, PB_KEYS_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			break;
		}
		if (r == 0) {
			*len = n;
			return buf;
		}
		n += (size_t)r;
		if (n > PB_KEYS_FILE_MAX) {
			set_err(err, errlen,
				"%s: longer than %d bytes: not a key file",
				path, PB_KEYS_FILE_MAX);
			break;
		}
	}
	explicit_bzero(buf, n);
	free(buf);
	return NULL;
}

/* add_line - one line (without its newline) into keys; seen[] holds the
 * line of each BATV number used so far.  0 ok, -1 with err set. */
static int add_line(pb_keys *keys, const char *line, size_t len, bool numbered,
		    size_t seen[10], const char *path, size_t lineno, char *err,
		    size_t errlen)
{
	const unsigned char *u = (const unsigned char *)line;
	size_t i = 0;
	int id = -1;
	pb_key *k;

	while (len > 0 && is_blank(u[len - 1]))
		len--;
	while (i < len && is_blank(u[i]))
		i++;
	if (i == len || u[i] == '#')
		return 0;
	if (i > 0) {
		set_err(err, errlen,
			"%s:%zu: white space before the secret (postsrsd "
			"would sign with it); remove it",
			path, lineno);
		return -1;
	}
	if (numbered) {
		if (len < 3 || u[0] < '0' || u[0] > '9' ||
		    (u[1] != ' ' && u[1] != '\t')) {
			set_err(err, errlen,
				"%s:%zu: want \"N SECRET\" with N one digit "
				"0..9",
				path, lineno);
			return -1;
		}
		id = u[0] - '0';
		if (seen[id] != 0) {
			set_err(err, errlen,
				"%s:%zu: key number %d is already used on "
				"line %zu",
				path, lineno, id, seen[id]);
			return -1;
		}
		seen[id] = lineno;
		for (i = 1; i < len && is_blank(u[i]); i++)
			;
	}
	for (size_t j = i; j < len; j++)
		if (is_control(u[j])) {
			set_err(err, errlen,
				"%s:%zu: control character (byte 0x%02x) in "
				"the secret",
				path, lineno, u[j]);
			return -1;
		}
	if (len - i > PB_KEY_LEN_MAX) {
		set_err(err, errlen, "%s:%zu: secret is longer than %d bytes",
			path, lineno, PB_KEY_LEN_MAX);
		return -1;
	}
	if (keys->n >= PB_KEYS_MAX) {
		set_err(err, errlen, "%s:%zu: more than %d secrets", path,
			lineno, PB_KEYS_MAX);
		return -1;
	}
	k = &keys->keys[keys->n++];
	k->id = id;
	k->len = len - i;
	memcpy(k->secret, line + i, len - i);
	return 0;
}

/* parse - split buf[0..len) into lines and add each.  0 or -1. */
static int parse(pb_keys *keys, const char *buf, size_t len, bool numbered,
		 const char *path, char *err, size_t errlen)
{
	size_t seen[10] = {0};
	size_t off = 0, lineno = 0;

	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (buf + off)) : len - off;

		lineno++;
		if (add_line(keys, buf + off, n, numbered, seen, path, lineno,
			     err, errlen) < 0)
			return -1;
		off += n + (nl != NULL);
	}
	if (keys->n == 0) {
		set_err(err, errlen, "%s: no secret in the file%s", path,
			numbered ? " (want \"N SECRET\" lines)" : "");
		return -1;
	}
	return 0;
}

/* pb_keys_load - read and check one key file. */
int pb_keys_load(pb_keys *keys, const char *path, bool numbered, char *err,
		 size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	int fd, rc;

	memset(keys, 0, sizeof(*keys));
	/* O_NONBLOCK: a FIFO must not hang us before fstat refuses it */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		set_err(err, errlen,
			"%s: mode %04o lets group or others at the secret; "
			"run chmod 600 %s",
			path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	buf = read_all(fd, path, &len, err, errlen);
	close(fd);
	if (buf == NULL)
		return -1;
	rc = parse(keys, buf, len, numbered, path, err, errlen);
	explicit_bzero(buf, len);
	free(buf);
	if (rc < 0)
		pb_keys_wipe(keys);
	return rc;
}

/* base64 - encode in[0..n) with padding into out (4 * ((n + 2) / 3) + 1
 * bytes); returns the length written */
static size_t base64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 |
				  (unsigned long)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		unsigned long v = (unsigned long)in[i] << 16;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		unsigned long v =
		    (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* random_bytes - fill buf from the kernel's generator (blocks until it is
 * seeded, as a key must not come from an unseeded pool).  0 or -1. */
static int random_bytes(unsigned char *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = getrandom(buf + off, n - off, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/* write_all - write buf[0..n) to fd.  0 or -1 (errno set). */
static int write_all(int fd, const char *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = write(fd, buf + off, n - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/* pb_keys_new - a new key file with one random secret. */
int pb_keys_new(const char *path, bool numbered, char *err, size_t errlen)
{
	unsigned char raw[PB_KEY_NEW_BYTES];
	char line[2 + 4 * ((PB_KEY_NEW_BYTES + 2) / 3) + 2];
	size_t n = 0;
	int fd, saved;

	if (random_bytes(raw, sizeof(raw)) < 0) {
		set_err(err, errlen, "%s: getrandom: %s", path,
			strerror(errno));
		return -1;
	}
	if (numbered) {
		line[n++] = '0';
		line[n++] = ' ';
	}
	n += base64(raw, sizeof(raw), line + n);
	line[n++] = '\n';
	explicit_bzero(raw, sizeof(raw));
	/* O_EXCL: never overwrite a key (mail signed with it would bounce);
	 * O_NOFOLLOW: nor write through a planted symlink */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	/* exactly 0600 whatever the umask, so pb_keys_load accepts it */
	if (fchmod(fd, 0600) < 0 || write_all(fd, line, n) < 0 ||
	    fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(path);
		set_err(err, errlen, "%s: %s", path, strerror(saved));
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	explicit_bzero(line, sizeof(line));
	if (close(fd) < 0) {
		saved = errno;
		unlink(path);
		set_err(err, errlen, "%s: %s", path, strerror(saved));
		return -1;
	}
	return 0;
}

/* pb_keys_wipe - overwrite every secret and forget them. */
void pb_keys_wipe(pb_keys *keys)
{
	if (keys == NULL)
		return;
	explicit_bzero(keys, sizeof(*keys));
}
