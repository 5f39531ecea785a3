/*
 * maps - socketmap and tcp_table: Postfix asks, the signer answers.
 *
 * socketmap (Postfix socketmap_table(5)):
 *     request = netstring( map-name SP key )
 *     reply   = netstring( "OK" SP value | "NOTFOUND" SP |
 *                          "TEMP" SP text | "PERM" SP text )
 * tcp_table (Postfix tcp_table(5)):
 *     request = "get" SP %-encoded-key LF
 *     reply   = ( "200" SP %-encoded-value | "500" SP text |
 *                 "400" SP text ) LF
 * Both keep the connection open for more requests, so Postfix's
 * persistent connections and pipelined clients work; a client that
 * half-closes after one request (Exim's ${readsocket}) gets its answer
 * and then EOF.
 *
 * Memory: one read buffer and one write buffer per connection.
 * SECURITY: untrusted input; every length is checked before use, a
 * netstring's claimed length is bounded by MAPS_REQUEST_MAX before any
 * byte of it is awaited.
 */
#include "frontend/maps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "frontend/io.h"
#include "sign/signer.h"

#define MAPS_READ_SIZE 8192
#define MAPS_OUT_MAX 16384

/* ns_parse - one netstring at the start of buf. */
maps_status ns_parse(const char *buf, size_t len, size_t max,
		     const char **payload, size_t *plen, size_t *used)
{
	size_t n = 0, i = 0;

	*used = 0;
	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		if (i > 0 && buf[0] == '0')
			return MAPS_FATAL; /* leading zero */
		n = n * 10 + (size_t)(buf[i] - '0');
		if (n > max)
			return MAPS_FATAL;
		i++;
	}
	if (i == len)
		return i > 7 ? MAPS_FATAL : MAPS_MORE;
	if (i == 0 || buf[i] != ':')
		return MAPS_FATAL;
	i++;
	if (len - i < n + 1)
		return MAPS_MORE;
	if (buf[i + n] != ',')
		return MAPS_FATAL;
	*payload = buf + i;
	*plen = n;
	*used = i + n + 1;
	return MAPS_REQUEST;
}

/* ns_format - one netstring into out. */
size_t ns_format(char *out, size_t cap, const char *payload, size_t plen)
{
	int h = snprintf(out, cap, "%zu:", plen);

	if (h < 0 || (size_t)h + plen + 1 >= cap)
		return 0;
	memcpy(out + h, payload, plen);
	out[(size_t)h + plen] = ',';
	return (size_t)h + plen + 1;
}

/* hexval - a hex digit's value, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* tt_decode - %XX-decode s[0..len) into key; false on a bad escape, a
 * control byte, or no room. */
static bool tt_decode(const char *s, size_t len, char *key, size_t keycap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3 || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return false;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= keycap)
			return false;
		key[o++] = (char)c;
	}
	key[o] = '\0';
	return true;
}

/* tt_parse - one "get KEY" line at the start of buf. */
maps_status tt_parse(const char *buf, size_t len, size_t max, char *key,
		     size_t keycap, size_t *used)
{
	const char *nl = memchr(buf, '\n', len < max + 1 ? len : max + 1);
	size_t n;

	*used = 0;
	if (nl == NULL)
		return len > max ? MAPS_FATAL : MAPS_MORE;
	n = (size_t)(nl - buf);
	*used = n + 1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n < 5 || memcmp(buf, "get ", 4) != 0)
		return MAPS_BAD;
	if (!tt_decode(buf + 4, n - 4, key, keycap) || key[0] == '\0')
		return MAPS_BAD;
	return MAPS_REQUEST;
}

/* tt_encode - %XX-encode a reply value. */
size_t tt_encode(char *out, size_t cap, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const void *)value; *p; p++) {
		if (*p <= 0x20 || *p == '%' || *p >= 0x7f) {
			if (o + 4 > cap)
				return 0;
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			if (o + 2 > cap)
				return 0;
			out[o++] = (char)*p;
		}
	}
	if (o >= cap)
		return 0;
	out[o] = '\0';
	return o;
}

typedef struct maps_conn {
	int fd;
	maps_proto proto;
	pb_map_id map;
	const pb_config *cfg;
	const pb_signer *signer;
	const char *peer;
	char out[MAPS_OUT_MAX];
	size_t out_len;
} maps_conn;

/* flush - send the replies gathered so far. */
static int flush(maps_conn *c)
{
	int rc = c->out_len > 0 ? pb_write_all(c->fd, c->out, c->out_len) : 0;

	c->out_len = 0;
	return rc;
}

/* queue - append one encoded reply; flush first when full. */
static int queue(maps_conn *c, const char *p, size_t n)
{
	if (MAPS_OUT_MAX - c->out_len < n && flush(c) < 0)
		return -1;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* reply - encode status and value/text in the connection's protocol. */
static int reply(maps_conn *c, pb_map_status st, const char *value)
{
	static const char *const sm[] = {"OK ", "NOTFOUND ", "TEMP ", "PERM "};
	static const char *const tt[] = {"200 ", "500 ", "400 ", "400 "};
	char payload[MAPS_REPLY_MAX + 16], wire[MAPS_REPLY_MAX + 32];
	size_t n;
	int h;

	if (c->proto == MAPS_SOCKETMAP) {
		h = snprintf(payload, sizeof(payload), "%s%s", sm[st],
			     st == PB_MAP_NOTFOUND ? "" : value);
		if (h < 0 || (size_t)h >= sizeof(payload))
			h = snprintf(payload, sizeof(payload),
				     "TEMP reply too long");
		n = ns_format(wire, sizeof(wire), payload, (size_t)h);
	} else {
		memcpy(wire, tt[st], 4);
		n = tt_encode(wire + 4, sizeof(wire) - 5, value);
		if (n == 0 && value[0] != '\0') {
			memcpy(wire, "400 reply%20too%20long", 22);
			n = 18;
		}
		n += 4;
		wire[n++] = '\n';
	}
	return n > 0 ? queue(c, wire, n) : -1;
}

/* lookup - answer one request for key in map. */
static int lookup(maps_conn *c, pb_map_id map, const char *key)
{
	char out[PB_SIGN_OUT_MAX], safe_key[256], safe_out[256];
	const char *why = "";
	pb_log_level level;
	pb_map_status st;

	st = pb_signer_map(c->signer, map, key, time(NULL), out, sizeof(out),
			   &why);
	level = st == PB_MAP_OK		? PB_LOG_INFO
		: st == PB_MAP_NOTFOUND ? PB_LOG_DEBUG
					: PB_LOG_WARN;
	/* escape the addresses only for a line that is written */
	if (pb_log_enabled(level)) {
		pb_log_safe(key, strlen(key), safe_key, sizeof(safe_key));
		if (st == PB_MAP_OK)
			pb_log(level, "map=%s key=<%s> result=OK value=<%s>",
			       pb_map_name(map), safe_key,
			       pb_log_safe(out, strlen(out), safe_out,
					   sizeof(safe_out)));
		else
			pb_log(level, "map=%s key=<%s> result=%s reason=%s",
			       pb_map_name(map), safe_key,
			       st == PB_MAP_NOTFOUND ? "NOTFOUND"
			       : st == PB_MAP_TEMP   ? "TEMP"
						     : "PERM",
			       why);
	}
	if (st == PB_MAP_OK)
		return reply(c, st, out);
	return reply(c, st, why);
}

/* socketmap_request - split "name key" and look it up. */
static int socketmap_request(maps_conn *c, const char *p, size_t n)
{
	char key[MAPS_REQUEST_MAX + 1];
	const char *sp = memchr(p, ' ', n);
	size_t nlen, klen;

	if (sp == NULL)
		return reply(c, PB_MAP_PERM, "expected: map-name SP key");
	nlen = (size_t)(sp - p);
	klen = n - nlen - 1;
	for (size_t i = 0; i < klen; i++)
		if ((unsigned char)sp[1 + i] < 0x20 || sp[1 + i] == 0x7f)
			return reply(c, PB_MAP_PERM, "control byte in key");
	memcpy(key, sp + 1, klen);
	key[klen] = '\0';
	for (int m = 0; m < PB_MAP_COUNT; m++) {
		const char *name = pb_map_name((pb_map_id)m);

		if (strlen(name) == nlen && memcmp(name, p, nlen) == 0)
			return lookup(c, (pb_map_id)m, key);
	}
	pb_log(PB_LOG_WARN, "%s: socketmap request for an unknown map",
	       c->peer);
	return reply(c, PB_MAP_PERM,
		     "unknown map (forward, reverse, batv-sign, batv-reverse)");
}

/* feed - answer every complete request in buf; returns the bytes used,
 * or -1 when the connection must close (after the queued answers). */
static ssize_t feed(maps_conn *c, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		char key[MAPS_REQUEST_MAX + 1];
		const char *payload = NULL;
		size_t plen = 0, used = 0;
		maps_status st;
		int rc = 0;

		if (c->proto == MAPS_SOCKETMAP)
			st = ns_parse(buf + off, len - off, MAPS_REQUEST_MAX,
				      &payload, &plen, &used);
		else
			st = tt_parse(buf + off, len - off, MAPS_REQUEST_MAX,
				      key, sizeof(key), &used);
		if (st == MAPS_MORE)
			break;
		off += used;
		if (st == MAPS_FATAL) {
			pb_log(PB_LOG_WARN,
			       "%s: malformed %s request (framing or size); "
			       "closing",
			       c->peer,
			       c->proto == MAPS_SOCKETMAP ? "socketmap"
							  : "tcp_table");
			reply(c, PB_MAP_PERM, "malformed request");
			return -1;
		}
		if (st == MAPS_BAD) {
			pb_log(PB_LOG_WARN, "%s: malformed tcp_table request",
			       c->peer);
			rc = reply(c, PB_MAP_PERM, "expected: get SP key");
		} else if (c->proto == MAPS_SOCKETMAP) {
			rc = socketmap_request(c, payload, plen);
		} else {
			rc = lookup(c, c->map, key);
		}
		if (rc < 0)
			return -1;
	}
	return (ssize_t)off;
}

/* maps_serve - one connection. */
void maps_serve(int fd, maps_proto proto, pb_map_id map, const pb_config *cfg,
		const pb_signer *signer, const char *peer)
{
	struct timeval tv = {.tv_sec = cfg->idle_timeout};
	maps_conn *c = calloc(1, sizeof(*c));
	char *buf = malloc(MAPS_READ_SIZE + MAPS_REQUEST_MAX + 16);
	size_t have = 0;

	if (c == NULL || buf == NULL) {
		pb_log(PB_LOG_ERROR, "%s: out of memory", peer);
		goto done;
	}
	*c = (maps_conn){.fd = fd,
			 .proto = proto,
			 .map = map,
			 .cfg = cfg,
			 .signer = signer,
			 .peer = peer};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = read(fd, buf + have, MAPS_READ_SIZE), used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pb_log(PB_LOG_INFO, "%s: idle for %d s, closing", peer,
			       cfg->idle_timeout);
			break;
		}
		if (n <= 0) {
			if (have > 0)
				pb_log(PB_LOG_WARN,
				       "%s: connection closed inside a request",
				       peer);
			break;
		}
		have += (size_t)n;
		used = feed(c, buf, have);
		if (flush(c) < 0)
			break;
		if (used < 0) {
			pb_close_gently(fd, fd);
			break;
		}
		have -= (size_t)used;
		memmove(buf, buf + used, have);
	}
done:
	free(c);
	free(buf);
}
