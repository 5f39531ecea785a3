/*
 * loadgen - a load generator for Postfix lookup servers: SMTPD access
 * policy (the default), tcp_table(5) and socketmap_table(5).
 *
 * Each connection is one thread that behaves like a Postfix process holding
 * a connection open: it sends one request, reads the whole reply, and only
 * then sends the next (one request in flight per connection, as Postfix
 * does; no pipelining).  For policy, a request is a Postfix-shaped RCPT
 * request and the reply runs up to the empty line; for tcp_table it is
 * "get KEY" with KEY %-encoded and the reply is one line; for socketmap it
 * is the netstring "MAP KEY" and the reply one netstring.  Latency is
 * measured per request with CLOCK_MONOTONIC into a per-thread log-linear
 * histogram (32 sub-buckets per power of two, about 3% resolution);
 * histograms are merged at the end and percentiles are read from the
 * merged one.  Output is one line of name=value fields.
 *
 * What is sent: either a mix file (--mix; policy: "sender TAB recipient
 * TAB expected-action-prefix" per line; maps: "key TAB expected-answer"),
 * checked per reply, or recipients and senders (--recipients / --senders,
 * one address a line, request k uses line k of each, modulo the file's
 * length; the maps take their keys from --senders), or generated
 * addresses.
 *
 * Memory: the address tables are loaded once, read-only afterwards and
 * shared by all threads; each thread owns its buffers and histogram.
 * Threading: one thread per connection; the main thread only starts,
 * times and joins.  Shared counters are per thread and merged at the end.
 * SECURITY: replies are untrusted; reading is bounded by a fixed buffer,
 * every socket operation has a timeout (SO_RCVTIMEO/SO_SNDTIMEO, which on
 * Linux also bounds connect), so a silent or slow server cannot hang us.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LG_SUB_BITS 5
#define LG_SUB (1u << LG_SUB_BITS)
#define LG_BUCKETS ((64 - LG_SUB_BITS + 1) * LG_SUB)
#define LG_REQ_CAP 4096
#define LG_REPLY_CAP 4096
#define LG_MAX_CONNS 4096
/* A connection gives up after this many failures in a row (a dead or
 * broken server), so a run always ends, even with --requests. */
#define LG_MAX_FAILS 20

typedef enum lg_proto {
	LG_POLICY = 0,
	LG_TCP_TABLE,
	LG_SOCKETMAP,
} lg_proto;

/* A map's answer in socketmap's words; tcp_table's 200, 500 and 400 read
 * as OK, NOTFOUND and TEMP. */
typedef enum lg_status {
	LG_ST_NONE = 0, /* no expectation */
	LG_ST_OK,
	LG_ST_NOTFOUND,
	LG_ST_TEMP,
	LG_ST_TIMEOUT,
	LG_ST_PERM,
	LG_ST_CODE, /* a tcp_table code that is none of 200, 400, 500 */
} lg_status;

static const char *const lg_status_name[] = {
    [LG_ST_NONE] = "",
    [LG_ST_OK] = "OK",
    [LG_ST_NOTFOUND] = "NOTFOUND",
    [LG_ST_TEMP] = "TEMP",
    [LG_ST_TIMEOUT] = "TIMEOUT",
    [LG_ST_PERM] = "PERM",
    [LG_ST_CODE] = "CODE",
};

typedef struct lg_entry {
	const char *sender;    /* policy: "" for the null sender */
	const char *recipient; /* policy: never empty */
	const char *expect;    /* policy: expected action prefix; maps: the
				  prefix an OK value must start with; NULL:
				  none */
	const char *key;       /* maps: the lookup key, never empty */
	lg_status want;	       /* maps: the expected status, or NONE */
} lg_entry;

typedef struct lg_opts {
	char host[256];
	char port[16];
	lg_proto proto;
	const char *map; /* socketmap: the map name sent with each key */
	unsigned conns;
	double duration;   /* seconds of measurement, when requests == 0 */
	uint64_t requests; /* total measured requests, or 0 */
	double warmup;
	double timeout;
	const char *recipients_file;
	const char *senders_file;
	const char *mix_file;
} lg_opts;

typedef struct lg_stats {
	uint64_t hist[LG_BUCKETS];
	uint64_t requests;			 /* measured */
	uint64_t dunno, reject, tempfail, other; /* policy; tempfail too */
	uint64_t found, notfound;		 /* maps */
	uint64_t mismatch;
	uint64_t errors; /* whole run, warm-up included */
	uint64_t err_connect, err_closed, err_timeout, err_malformed;
	uint64_t reconnects;
	uint64_t max_ns;
	uint64_t sum_ns;
	char first_error[200];
	char first_mismatch[300];
} lg_stats;

typedef struct lg_thread {
	pthread_t tid;
	unsigned index;
	const lg_opts *opts;
	const struct addrinfo *ai;
	uint64_t quota; /* measured requests to do, 0 = time-bound */
	lg_stats st;
	uint64_t t_done; /* when the thread ended; read after done */
	atomic_bool done;
} lg_thread;

/* Run-wide state written by main before the threads start (or atomics). */
static lg_entry *g_entries;
static size_t g_n_entries;
static uint64_t g_t_start;   /* ns, CLOCK_MONOTONIC */
static uint64_t g_t_measure; /* start of the measured window */
static uint64_t g_t_end;     /* end of the measured window (time mode) */
static atomic_bool g_stop;

/* now_ns - CLOCK_MONOTONIC in nanoseconds. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* hist_index - the log-linear bucket of a value. */
static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < LG_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	return (e - LG_SUB_BITS + 1) * LG_SUB +
	       (unsigned)((v >> (e - LG_SUB_BITS)) - LG_SUB);
}

/* hist_value - the middle of a bucket's range. */
static double hist_value(unsigned idx)
{
	unsigned q = idx / LG_SUB, e;
	uint64_t m, low, width;

	if (q == 0)
		return (double)idx;
	e = q + LG_SUB_BITS - 1;
	m = idx % LG_SUB + LG_SUB;
	low = m << (e - LG_SUB_BITS);
	width = (uint64_t)1 << (e - LG_SUB_BITS);
	return (double)low + (double)(width - 1) / 2.0;
}

/* hist_percentile - value (ns) at or below which a fraction p of the
 * samples lie; 0 when there are no samples. */
static double hist_percentile(const uint64_t *hist, uint64_t n, double p,
			      uint64_t max_ns)
{
	uint64_t want, cum = 0;
	double v;

	if (n == 0)
		return 0.0;
	want = (uint64_t)(p * (double)n + 0.999999);
	if (want < 1)
		want = 1;
	if (want > n)
		want = n;
	for (unsigned i = 0; i < LG_BUCKETS; i++) {
		cum += hist[i];
		if (cum >= want) {
			v = hist_value(i);
			return v > (double)max_ns ? (double)max_ns : v;
		}
	}
	return (double)max_ns;
}

/* set_error - count an error of one kind and keep the first message. */
static void set_error(lg_stats *st, uint64_t *kind, const char *what,
		      const char *detail)
{
	st->errors++;
	(*kind)++;
	if (st->first_error[0] == '\0')
		snprintf(st->first_error, sizeof(st->first_error), "%s%s%s",
			 what, detail[0] ? ": " : "", detail);
}

/* open_conn - a connected socket with send/receive timeouts, or -1. */
static int open_conn(const lg_thread *t)
{
	struct timeval tv;
	int one = 1;
	double to = t->opts->timeout;

	for (const struct addrinfo *a = t->ai; a != NULL; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
				a->ai_protocol);
		if (fd < 0)
			continue;
		tv.tv_sec = (time_t)to;
		tv.tv_usec = (suseconds_t)((to - (double)tv.tv_sec) * 1e6);
		/* On Linux SO_SNDTIMEO also bounds connect(2). */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) <
			0 ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) <
			0 ||
		    connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(fd);
			continue;
		}
		if (a->ai_family == AF_INET || a->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		return fd;
	}
	return -1;
}

/* build_policy - one Postfix-shaped RCPT request into buf; its length,
 * or 0 when it does not fit. */
static size_t build_policy(char *buf, size_t cap, const lg_entry *e,
			   unsigned conn, uint64_t seq)
{
	int n = snprintf(buf, cap,
			 "request=smtpd_access_policy\n"
			 "protocol_state=RCPT\n"
			 "protocol_name=ESMTP\n"
			 "client_address=192.0.2.%u\n"
			 "client_name=mail%u.example.net\n"
			 "client_port=%u\n"
			 "reverse_client_name=mail%u.example.net\n"
			 "server_address=127.0.0.1\n"
			 "server_port=25\n"
			 "helo_name=mail%u.example.net\n"
			 "sender=%s\n"
			 "recipient=%s\n"
			 "recipient_count=0\n"
			 "queue_id=\n"
			 "instance=%x.%llx.%x.0\n"
			 "size=0\n"
			 "etrn_domain=\n"
			 "stress=\n"
			 "sasl_method=\n"
			 "sasl_username=\n"
			 "sasl_sender=\n"
			 "ccert_subject=\n"
			 "ccert_issuer=\n"
			 "ccert_fingerprint=\n"
			 "ccert_pubkey_fingerprint=\n"
			 "encryption_protocol=TLSv1.3\n"
			 "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
			 "encryption_keysize=256\n"
			 "policy_context=\n"
			 "compatibility_level=3.6\n"
			 "mail_version=3.7.11\n"
			 "\n",
			 conn % 254 + 1, conn, 40000 + conn % 20000, conn, conn,
			 e->sender, e->recipient, conn + 0x1000,
			 (unsigned long long)seq, (unsigned)(seq & 0xffff));

	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

/* build_tcp_table - "get KEY\n" into buf, KEY %XX-encoded as Postfix does
 * (bytes up to and including space, '%', DEL and above); its length, or
 * 0 when it does not fit. */
static size_t build_tcp_table(char *buf, size_t cap, const char *key)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 4;

	if (cap < 6)
		return 0;
	memcpy(buf, "get ", 4);
	for (const unsigned char *p = (const void *)key; *p != '\0'; p++) {
		if (cap - o < 5) /* room for one escape and the newline */
			return 0;
		if (*p <= 0x20 || *p == '%' || *p >= 0x7f) {
			buf[o++] = '%';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o++] = '\n';
	return o;
}

/* build_socketmap - the netstring "LEN:MAP KEY," into buf; its length, or
 * 0 when it does not fit. */
static size_t build_socketmap(char *buf, size_t cap, const char *map,
			      const char *key)
{
	size_t ml = strlen(map), kl = strlen(key);
	int n = snprintf(buf, cap, "%zu:%s %s,", ml + 1 + kl, map, key);

	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

/* build_request - the request for entry e in the run's protocol. */
static size_t build_request(const lg_opts *o, char *buf, size_t cap,
			    const lg_entry *e, unsigned conn, uint64_t seq)
{
	switch (o->proto) {
	case LG_TCP_TABLE:
		return build_tcp_table(buf, cap, e->key);
	case LG_SOCKETMAP:
		return build_socketmap(buf, cap, o->map, e->key);
	default:
		return build_policy(buf, cap, e, conn, seq);
	}
}

/* send_all - write the whole buffer; 0 ok, -1 error (errno set). */
static int send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

typedef enum rd_status {
	RD_OK = 0,
	RD_CLOSED,
	RD_TIMEOUT,
	RD_IOERR,
	RD_MALFORMED,
} rd_status;

/* One parsed reply.  Policy: text is the action.  Maps: status, and text
 * is the value (OK, %XX-decoded for tcp_table) or the server's words. */
typedef struct lg_reply {
	const char *text;
	size_t len;
	lg_status status;
} lg_reply;

/* is_digit - an ASCII digit, whatever the locale. */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* policy_frame - a policy reply ends at the first empty line.  Returns
 * its length, 0 when more bytes are needed, -1 (why set) when the bytes
 * cannot be the start of a reply. */
static ssize_t policy_frame(const char *buf, size_t have, char *why,
			    size_t why_cap)
{
	const char *nn;

	if (have >= 1 && buf[0] == '\n') {
		snprintf(why, why_cap, "empty reply");
		return -1;
	}
	nn = have >= 2 ? memmem(buf, have, "\n\n", 2) : NULL;
	return nn == NULL ? 0 : (ssize_t)(nn - buf) + 2;
}

/* tcp_table_frame - a tcp_table reply is one line. */
static ssize_t tcp_table_frame(const char *buf, size_t have, char *why,
			       size_t why_cap)
{
	const char *nl = memchr(buf, '\n', have);

	(void)why;
	(void)why_cap;
	return nl == NULL ? 0 : (ssize_t)(nl - buf) + 1;
}

/* socketmap_frame - a socketmap reply is one netstring:
 *     netstring = 1*6DIGIT ":" LEN-bytes ","
 * (Postfix caps replies at 100000 bytes; our buffer caps them lower.) */
static ssize_t socketmap_frame(const char *buf, size_t have, char *why,
			       size_t why_cap)
{
	size_t i = 0, n = 0;

	while (i < have && is_digit(buf[i])) {
		if (i == 6) {
			snprintf(why, why_cap,
				 "netstring length over 6 "
				 "digits");
			return -1;
		}
		n = n * 10 + (size_t)(buf[i] - '0');
		i++;
	}
	if (i == have)
		return 0;
	if (i == 0 || buf[i] != ':') {
		snprintf(why, why_cap, "not a netstring: \"%.*s\"",
			 (int)(have > 40 ? 40 : have), buf);
		return -1;
	}
	i++;
	if (have - i < n + 1)
		return 0;
	if (buf[i + n] != ',') {
		snprintf(why, why_cap,
			 "netstring of %zu bytes not ended by "
			 "','",
			 n);
		return -1;
	}
	return (ssize_t)(i + n + 1);
}

/* read_reply - read exactly one reply of the protocol into buf; its
 * length through end.  Anything after the reply is a protocol error: we
 * sent exactly one request, so the server has no business sending more. */
static rd_status read_reply(int fd, lg_proto proto, char *buf, size_t cap,
			    size_t *end, char *why, size_t why_cap)
{
	ssize_t (*frame)(const char *, size_t, char *, size_t) =
	    proto == LG_TCP_TABLE   ? tcp_table_frame
	    : proto == LG_SOCKETMAP ? socketmap_frame
				    : policy_frame;
	size_t have = 0;

	for (;;) {
		ssize_t n = frame(buf, have, why, why_cap);

		if (n < 0)
			return RD_MALFORMED;
		if (n > 0) {
			*end = (size_t)n;
			break;
		}
		if (have == cap) {
			snprintf(why, why_cap, "reply over %zu bytes", cap);
			return RD_MALFORMED;
		}
		n = recv(fd, buf + have, cap - have, 0);
		if (n == 0) {
			snprintf(why, why_cap,
				 "connection closed after %zu bytes of a "
				 "reply",
				 have);
			return have == 0 ? RD_CLOSED : RD_MALFORMED;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return RD_TIMEOUT;
			snprintf(why, why_cap, "%s", strerror(errno));
			return RD_IOERR;
		}
		have += (size_t)n;
	}
	if (*end != have) {
		snprintf(why, why_cap, "%zu unexpected bytes after the reply",
			 have - *end);
		return RD_MALFORMED;
	}
	return RD_OK;
}

/* parse_policy - exactly one attribute line: "action=TEXT\n\n". */
static rd_status parse_policy(const char *buf, size_t end, lg_reply *r,
			      char *why, size_t why_cap)
{
	if (end < 9 || memcmp(buf, "action=", 7) != 0 ||
	    memchr(buf, '\n', end - 2) != NULL) {
		snprintf(why, why_cap, "not a single action line: \"%.*s\"",
			 (int)(end > 80 ? 80 : end - 2), buf);
		return RD_MALFORMED;
	}
	r->text = buf + 7;
	r->len = end - 2 - 7;
	if (r->len == 0) {
		snprintf(why, why_cap, "empty action");
		return RD_MALFORMED;
	}
	return RD_OK;
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

/* parse_tcp_table - one reply line (tcp_table(5)):
 *     reply = 3DIGIT SP text LF
 * 200: text is the %XX-encoded value, decoded here in place; 500: not
 * found; 400: try again; any other code is counted, not trusted.  A
 * control byte anywhere, or a bad escape in a 200, is malformed. */
static rd_status parse_tcp_table(char *buf, size_t end, lg_reply *r, char *why,
				 size_t why_cap)
{
	size_t n = end - 1, o = 0; /* n: without the newline */
	int code;

	if (n < 4 || !is_digit(buf[0]) || !is_digit(buf[1]) ||
	    !is_digit(buf[2]) || buf[3] != ' ') {
		snprintf(why, why_cap, "not \"CODE SP TEXT\": \"%.*s\"",
			 (int)(n > 80 ? 80 : n), buf);
		return RD_MALFORMED;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) {
			snprintf(
			    why, why_cap, "control byte 0x%02x in \"%.*s\"",
			    (unsigned char)buf[i], (int)(n > 80 ? 80 : n), buf);
			return RD_MALFORMED;
		}
	}
	code = (buf[0] - '0') * 100 + (buf[1] - '0') * 10 + (buf[2] - '0');
	r->text = buf + 4;
	r->len = n - 4;
	switch (code) {
	case 200:
		r->status = LG_ST_OK;
		for (size_t i = 4; i < n; i++) {
			char c = buf[i];
			if (c == '%') {
				int hi = n - i >= 3 ? hexval(buf[i + 1]) : -1;
				int lo = n - i >= 3 ? hexval(buf[i + 2]) : -1;
				if (hi < 0 || lo < 0) {
					snprintf(why, why_cap,
						 "bad %%-escape in \"%.*s\"",
						 (int)(n > 80 ? 80 : n), buf);
					return RD_MALFORMED;
				}
				c = (char)(hi * 16 + lo);
				i += 2;
			}
			buf[4 + o++] = c;
		}
		r->len = o;
		break;
	case 500:
		r->status = LG_ST_NOTFOUND;
		break;
	case 400:
		r->status = LG_ST_TEMP;
		break;
	default:
		r->status = LG_ST_CODE;
		r->text = buf;
		r->len = n;
		break;
	}
	return RD_OK;
}

/* parse_socketmap - one framed netstring (socketmap_table(5)):
 *     payload = "OK" SP value | "NOTFOUND" [SP] | "TEMP" [SP text] |
 *               "TIMEOUT" [SP text] | "PERM" [SP text]
 */
static rd_status parse_socketmap(const char *buf, size_t end, lg_reply *r,
				 char *why, size_t why_cap)
{
	static const struct {
		const char *word;
		lg_status status;
	} words[] = {
	    {"OK", LG_ST_OK},	  {"NOTFOUND", LG_ST_NOTFOUND},
	    {"TEMP", LG_ST_TEMP}, {"TIMEOUT", LG_ST_TIMEOUT},
	    {"PERM", LG_ST_PERM},
	};
	const char *p = memchr(buf, ':', end), *sp;
	size_t plen, wlen;

	/* socketmap_frame has checked the framing. */
	p++;
	plen = end - 1 - (size_t)(p - buf);
	sp = memchr(p, ' ', plen);
	wlen = sp != NULL ? (size_t)(sp - p) : plen;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].word) == wlen &&
		    memcmp(words[i].word, p, wlen) == 0) {
			r->status = words[i].status;
			r->text = sp != NULL ? sp + 1 : p + plen;
			r->len = sp != NULL ? plen - wlen - 1 : 0;
			if (r->status == LG_ST_OK && sp == NULL) {
				snprintf(why, why_cap, "OK without a value");
				return RD_MALFORMED;
			}
			return RD_OK;
		}
	}
	snprintf(why, why_cap, "unknown status in \"%.*s\"",
		 (int)(plen > 80 ? 80 : plen), p);
	return RD_MALFORMED;
}

/* parse_reply - the framed reply of the protocol into r. */
static rd_status parse_reply(lg_proto proto, char *buf, size_t end, lg_reply *r,
			     char *why, size_t why_cap)
{
	switch (proto) {
	case LG_TCP_TABLE:
		return parse_tcp_table(buf, end, r, why, why_cap);
	case LG_SOCKETMAP:
		return parse_socketmap(buf, end, r, why, why_cap);
	default:
		return parse_policy(buf, end, r, why, why_cap);
	}
}

/* classify - count one action by class and check the expectation. */
static void classify(lg_stats *st, const char *act, size_t len,
		     const char *expect, const lg_entry *e)
{
	if (len == 5 && strncasecmp(act, "DUNNO", 5) == 0)
		st->dunno++;
	else if (act[0] == '4' || (len >= 5 && !strncasecmp(act, "DEFER", 5)))
		st->tempfail++;
	else if (act[0] == '5' || (len >= 6 && !strncasecmp(act, "REJECT", 6)))
		st->reject++;
	else
		st->other++;
	if (expect != NULL) {
		size_t el = strlen(expect);
		if (len < el || strncasecmp(act, expect, el) != 0) {
			st->mismatch++;
			if (st->first_mismatch[0] == '\0')
				snprintf(st->first_mismatch,
					 sizeof(st->first_mismatch),
					 "<%s> -> <%s>: got \"%.*s\", want "
					 "\"%s\"",
					 e->sender, e->recipient,
					 (int)(len > 120 ? 120 : len), act,
					 expect);
		}
	}
}

/* classify_map - count one map answer by status and check the
 * expectation: the status, and for OK the value's prefix (exact case). */
static void classify_map(lg_stats *st, const lg_reply *r, const lg_entry *e)
{
	switch (r->status) {
	case LG_ST_OK:
		st->found++;
		break;
	case LG_ST_NOTFOUND:
		st->notfound++;
		break;
	case LG_ST_TEMP:
	case LG_ST_TIMEOUT:
		st->tempfail++;
		break;
	default:
		st->other++;
		break;
	}
	if (e->want == LG_ST_NONE)
		return;
	if (r->status != e->want ||
	    (e->expect != NULL &&
	     (r->len < strlen(e->expect) ||
	      memcmp(r->text, e->expect, strlen(e->expect)) != 0))) {
		st->mismatch++;
		if (st->first_mismatch[0] == '\0')
			snprintf(st->first_mismatch, sizeof(st->first_mismatch),
				 "<%s>: got \"%s %.*s\", want \"%s%s%s\"",
				 e->key, lg_status_name[r->status],
				 (int)(r->len > 120 ? 120 : r->len), r->text,
				 lg_status_name[e->want], e->expect ? " " : "",
				 e->expect ? e->expect : "");
	}
}

/* run_conn - one connection's life: requests until time or quota ends. */
static void *run_conn(void *arg)
{
	lg_thread *t = arg;
	lg_stats *st = &t->st;
	char *req = malloc(LG_REQ_CAP);
	char *rep = malloc(LG_REPLY_CAP);
	char why[160];
	const lg_proto proto = t->opts->proto;
	size_t pos;
	uint64_t seq = 0, done = 0;
	unsigned fails = 0;
	int fd = -1;

	if (req == NULL || rep == NULL) {
		set_error(st, &st->err_connect, "out of memory", "");
		goto out;
	}
	/* Spread the connections over the table so they do not walk it
	 * in lockstep. */
	pos = g_n_entries / (t->opts->conns ? t->opts->conns : 1) * t->index;
	while (fails < LG_MAX_FAILS &&
	       !atomic_load_explicit(&g_stop, memory_order_relaxed)) {
		const lg_entry *e = &g_entries[pos % g_n_entries];
		lg_reply r = {.text = NULL};
		size_t end = 0, len;
		uint64_t t0, t1;
		rd_status rs;

		if (t->quota == 0 && now_ns() > g_t_end)
			break;
		if (fd < 0) {
			fd = open_conn(t);
			if (fd < 0) {
				set_error(st, &st->err_connect, "connect",
					  strerror(errno));
				fails++;
				/* Do not spin on a dead server. */
				usleep(100000);
				continue;
			}
			if (seq > 0)
				st->reconnects++;
		}
		len =
		    build_request(t->opts, req, LG_REQ_CAP, e, t->index, seq++);
		if (len == 0) {
			set_error(st, &st->err_malformed, "request too long",
				  proto == LG_POLICY ? e->recipient : e->key);
			fails++;
			pos++;
			continue;
		}
		t0 = now_ns();
		if (send_all(fd, req, len) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				set_error(st, &st->err_timeout, "send timeout",
					  "");
			else
				set_error(st, &st->err_closed, "send",
					  strerror(errno));
			fails++;
			close(fd);
			fd = -1;
			continue;
		}
		rs = read_reply(fd, proto, rep, LG_REPLY_CAP, &end, why,
				sizeof(why));
		t1 = now_ns();
		if (rs == RD_OK)
			rs = parse_reply(proto, rep, end, &r, why, sizeof(why));
		if (rs != RD_OK) {
			switch (rs) {
			case RD_CLOSED:
				set_error(st, &st->err_closed,
					  "connection closed by server", "");
				break;
			case RD_TIMEOUT:
				set_error(st, &st->err_timeout, "reply timeout",
					  "");
				break;
			case RD_IOERR:
				set_error(st, &st->err_closed, "recv", why);
				break;
			default:
				set_error(st, &st->err_malformed,
					  "malformed reply", why);
				break;
			}
			/* The stream is out of step now: start afresh. */
			fails++;
			close(fd);
			fd = -1;
			pos++;
			continue;
		}
		pos++;
		fails = 0;
		if (t0 >= g_t_measure && (t->quota > 0 || t1 <= g_t_end)) {
			uint64_t d = t1 - t0;
			st->hist[hist_index(d)]++;
			st->requests++;
			st->sum_ns += d;
			if (d > st->max_ns)
				st->max_ns = d;
			if (proto == LG_POLICY)
				classify(st, r.text, r.len, e->expect, e);
			else
				classify_map(st, &r, e);
			if (t->quota > 0 && ++done >= t->quota)
				break;
		}
		if (t->quota == 0 && t1 > g_t_end)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(rep);
	t->t_done = now_ns();
	atomic_store(&t->done, true);
	return NULL;
}

/* wait_threads - until all started threads are done or the deadline. */
static void wait_threads(lg_thread *th, unsigned started, uint64_t deadline)
{
	while (now_ns() < deadline) {
		bool all = true;
		for (unsigned i = 0; i < started && all; i++)
			all = atomic_load(&th[i].done);
		if (all)
			return;
		usleep(2000);
	}
}

/* read_lines - a file's non-empty lines, NUL-terminated in place; the
 * file's contents are kept for the life of the process. */
static char **read_lines(const char *path, size_t *n_out)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL, **lines = NULL;
	size_t cap = 0, len = 0, n = 0, lcap = 0;

	if (f == NULL) {
		fprintf(stderr, "loadgen: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t r;
		if (cap - len < 65536) {
			char *nd = realloc(data, cap * 2 + 65536);
			if (nd == NULL)
				goto oom;
			data = nd;
			cap = cap * 2 + 65536;
		}
		r = fread(data + len, 1, cap - len - 1, f);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "loadgen: %s: read error\n", path);
		goto fail;
	}
	fclose(f);
	f = NULL;
	data[len] = '\0';
	for (char *p = data; p < data + len;) {
		char *nl = memchr(p, '\n', (size_t)(data + len - p));
		char *end = nl ? nl : data + len;
		*end = '\0';
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		if (*p != '\0' && *p != '#') {
			if (n == lcap) {
				size_t nc = lcap ? lcap * 2 : 1024;
				char **nl2 =
				    realloc(lines, nc * sizeof(*lines));
				if (nl2 == NULL)
					goto oom;
				lines = nl2;
				lcap = nc;
			}
			lines[n++] = p;
		}
		p = end + 1;
	}
	if (n == 0) {
		fprintf(stderr, "loadgen: %s: no lines\n", path);
		goto fail;
	}
	*n_out = n;
	return lines;
oom:
	fprintf(stderr, "loadgen: %s: out of memory\n", path);
fail:
	if (f != NULL)
		fclose(f);
	free(data);
	free(lines);
	return NULL;
}

/* parse_expect - a map mix line's expected answer into e; 0 ok, -1 bad.
 *     expect = "OK" [SP value-prefix] | "NOTFOUND" | "TEMP" | "TIMEOUT" |
 *              "PERM"
 */
static int parse_expect(char *x, lg_entry *e)
{
	char *sp = strchr(x, ' ');

	if (sp != NULL)
		*sp++ = '\0';
	for (int st = LG_ST_OK; st < LG_ST_CODE; st++) {
		if (strcmp(x, lg_status_name[st]) == 0) {
			e->want = (lg_status)st;
			if (sp != NULL && st != LG_ST_OK)
				return -1; /* only OK takes a value */
			e->expect = sp != NULL && *sp ? sp : NULL;
			return 0;
		}
	}
	return -1;
}

/* load_map_mix - a map mix: "key [TAB expect]" lines; 0 ok, -1 error. */
static int load_map_mix(const lg_opts *o)
{
	size_t n;
	char **lines = read_lines(o->mix_file, &n);

	if (lines == NULL)
		return -1;
	g_entries = calloc(n, sizeof(*g_entries));
	if (g_entries == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char *k = lines[i], *x = strchr(k, '\t');

		if (x != NULL)
			*x++ = '\0';
		g_entries[i].key = k;
		if (*k == '\0' ||
		    (x != NULL && parse_expect(x, &g_entries[i]) < 0)) {
			fprintf(stderr,
				"loadgen: %s:%zu: want key[<TAB>OK [prefix]|"
				"NOTFOUND|TEMP|TIMEOUT|PERM]\n",
				o->mix_file, i + 1);
			return -1;
		}
	}
	free(lines);
	g_n_entries = n;
	return 0;
}

/* load_entries - the request table from the options; 0 ok, -1 error. */
static int load_entries(const lg_opts *o)
{
	char **rc = NULL, **sd = NULL;
	size_t nr = 0, ns = 0, n;

	if (o->mix_file != NULL && o->proto != LG_POLICY)
		return load_map_mix(o);
	if (o->mix_file != NULL) {
		char **lines = read_lines(o->mix_file, &n);
		if (lines == NULL)
			return -1;
		g_entries = calloc(n, sizeof(*g_entries));
		if (g_entries == NULL)
			return -1;
		for (size_t i = 0; i < n; i++) {
			char *s = lines[i], *r, *x;
			r = strchr(s, '\t');
			if (r == NULL) {
				fprintf(stderr,
					"loadgen: %s:%zu: want "
					"sender<TAB>recipient[<TAB>expect]\n",
					o->mix_file, i + 1);
				return -1;
			}
			*r++ = '\0';
			x = strchr(r, '\t');
			if (x != NULL)
				*x++ = '\0';
			g_entries[i].sender = strcmp(s, "<>") == 0 ? "" : s;
			g_entries[i].recipient = r;
			g_entries[i].expect = x && *x ? x : NULL;
		}
		free(lines);
		g_n_entries = n;
		return 0;
	}
	if (o->recipients_file != NULL &&
	    (rc = read_lines(o->recipients_file, &nr)) == NULL)
		return -1;
	if (o->senders_file != NULL &&
	    (sd = read_lines(o->senders_file, &ns)) == NULL)
		return -1;
	/* Without files: 1000 generated recipients and 100 senders. */
	n = nr > ns ? nr : ns;
	if (n == 0)
		n = 1000;
	g_entries = calloc(n, sizeof(*g_entries));
	if (g_entries == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char tmp[64];
		int k;
		if (rc != NULL) {
			g_entries[i].recipient = rc[i % nr];
		} else {
			k = snprintf(tmp, sizeof(tmp), "user%07zu@example.org",
				     i % 1000);
			if (k < 0 || (size_t)k >= sizeof(tmp) ||
			    (g_entries[i].recipient = strdup(tmp)) == NULL)
				return -1;
		}
		if (sd != NULL) {
			g_entries[i].sender = sd[i % ns];
		} else {
			k = snprintf(tmp, sizeof(tmp),
				     "sender%03zu@example.net", i % 100);
			if (k < 0 || (size_t)k >= sizeof(tmp) ||
			    (g_entries[i].sender = strdup(tmp)) == NULL)
				return -1;
		}
		g_entries[i].key = g_entries[i].sender; /* maps */
	}
	free(rc);
	free(sd);
	g_n_entries = n;
	return 0;
}

/* usage - print the options and exit. */
static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: bench-loadgen --connect HOST:PORT [options]\n"
		"  --protocol P        policy (default), tcp_table or "
		"socketmap\n"
		"  --map NAME          socketmap: the map name sent with "
		"each key\n"
		"  --connections N     parallel connections (default 1)\n"
		"  --duration SECONDS  measured time (default 10)\n"
		"  --requests N        measured requests in all, instead of "
		"--duration\n"
		"  --warmup SECONDS    unmeasured time before (default 0)\n"
		"  --timeout SECONDS   socket timeout (default 5)\n"
		"  --recipients FILE   recipient addresses, one a line\n"
		"  --senders FILE      sender addresses, one a line "
		"(line k pairs with recipient k); the maps' keys\n"
		"  --mix FILE          policy lines: sender TAB recipient "
		"[TAB expected-action-prefix]; <> is the null sender\n"
		"                      map lines: key [TAB expected], "
		"expected one of\n"
		"                        OK [VALUE-PREFIX]  found (tcp_table "
		"200), value starts so\n"
		"                        NOTFOUND           not found "
		"(tcp_table 500)\n"
		"                        TEMP | TIMEOUT | PERM  (tcp_table "
		"400 is TEMP)\n"
		"                      keys are sent as they are; tcp_table "
		"%%XX-encodes them\n"
		"Output: one line of name=value fields on stdout (maps count "
		"found= notfound=\n"
		"where policy counts dunno= reject=); the first "
		"error and mismatch on stderr.\n"
		"Exit: 0, or 1 when there were errors or mismatches, "
		"2 on bad usage.\n");
	exit(code);
}

/* parse_num - a non-negative number option, or exit(2). */
static double parse_num(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 1e12) {
		fprintf(stderr, "loadgen: %s: bad number \"%s\"\n", opt, s);
		exit(2);
	}
	return v;
}

/* parse_hostport - split HOST:PORT ([v6]:PORT allowed); 0 ok, -1 error. */
static int parse_hostport(const char *s, lg_opts *o)
{
	const char *colon = strrchr(s, ':');
	size_t hl;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(o->host) ||
	    strlen(colon + 1) >= sizeof(o->port))
		return -1;
	memcpy(o->host, s, hl);
	o->host[hl] = '\0';
	memcpy(o->port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

/* parse_args - the options, or exit(2). */
static void parse_args(int argc, char **argv, lg_opts *o)
{
	bool have_connect = false, have_duration = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			usage(0);
		if (v == NULL) {
			fprintf(stderr, "loadgen: %s: missing value\n", a);
			usage(2);
		}
		i++;
		if (strcmp(a, "--protocol") == 0) {
			if (strcmp(v, "policy") == 0)
				o->proto = LG_POLICY;
			else if (strcmp(v, "tcp_table") == 0)
				o->proto = LG_TCP_TABLE;
			else if (strcmp(v, "socketmap") == 0)
				o->proto = LG_SOCKETMAP;
			else {
				fprintf(stderr, "loadgen: --protocol: policy, "
						"tcp_table or socketmap\n");
				exit(2);
			}
		} else if (strcmp(a, "--map") == 0) {
			if (*v == '\0' || strpbrk(v, " ,:") != NULL ||
			    strlen(v) > 100) {
				fprintf(stderr, "loadgen: --map: a name "
						"without spaces\n");
				exit(2);
			}
			o->map = v;
		} else if (strcmp(a, "--connect") == 0) {
			if (parse_hostport(v, o) < 0) {
				fprintf(stderr,
					"loadgen: --connect: want HOST:PORT\n");
				exit(2);
			}
			have_connect = true;
		} else if (strcmp(a, "--connections") == 0) {
			double c = parse_num(a, v);
			if (c < 1 || c > LG_MAX_CONNS) {
				fprintf(stderr,
					"loadgen: --connections: 1..%d\n",
					LG_MAX_CONNS);
				exit(2);
			}
			o->conns = (unsigned)c;
		} else if (strcmp(a, "--duration") == 0) {
			o->duration = parse_num(a, v);
			have_duration = true;
		} else if (strcmp(a, "--requests") == 0) {
			o->requests = (uint64_t)parse_num(a, v);
		} else if (strcmp(a, "--warmup") == 0) {
			o->warmup = parse_num(a, v);
		} else if (strcmp(a, "--timeout") == 0) {
			o->timeout = parse_num(a, v);
		} else if (strcmp(a, "--recipients") == 0) {
			o->recipients_file = v;
		} else if (strcmp(a, "--senders") == 0) {
			o->senders_file = v;
		} else if (strcmp(a, "--mix") == 0) {
			o->mix_file = v;
		} else {
			fprintf(stderr, "loadgen: unknown option %s\n", a);
			usage(2);
		}
	}
	if (!have_connect) {
		fprintf(stderr, "loadgen: --connect HOST:PORT is required\n");
		usage(2);
	}
	if (o->requests > 0 && have_duration) {
		fprintf(stderr,
			"loadgen: --duration and --requests exclude each "
			"other\n");
		exit(2);
	}
	if (o->requests == 0 && o->duration <= 0) {
		fprintf(stderr, "loadgen: --duration must be > 0\n");
		exit(2);
	}
	if (o->timeout < 0.001)
		o->timeout = 0.001;
	if (o->mix_file != NULL &&
	    (o->recipients_file != NULL || o->senders_file != NULL)) {
		fprintf(stderr,
			"loadgen: --mix excludes --recipients/--senders\n");
		exit(2);
	}
	if ((o->proto == LG_SOCKETMAP) != (o->map != NULL)) {
		fprintf(stderr, "loadgen: --map NAME goes with --protocol "
				"socketmap, and only there\n");
		exit(2);
	}
	if (o->proto != LG_POLICY && o->recipients_file != NULL) {
		fprintf(stderr, "loadgen: the maps take their keys from "
				"--senders or --mix, not --recipients\n");
		exit(2);
	}
}

/* merge - add one thread's counters into the total. */
static void merge(lg_stats *to, const lg_stats *from)
{
	for (unsigned i = 0; i < LG_BUCKETS; i++)
		to->hist[i] += from->hist[i];
	to->requests += from->requests;
	to->dunno += from->dunno;
	to->reject += from->reject;
	to->tempfail += from->tempfail;
	to->other += from->other;
	to->found += from->found;
	to->notfound += from->notfound;
	to->mismatch += from->mismatch;
	to->errors += from->errors;
	to->err_connect += from->err_connect;
	to->err_closed += from->err_closed;
	to->err_timeout += from->err_timeout;
	to->err_malformed += from->err_malformed;
	to->reconnects += from->reconnects;
	to->sum_ns += from->sum_ns;
	if (from->max_ns > to->max_ns)
		to->max_ns = from->max_ns;
	if (to->first_error[0] == '\0')
		memcpy(to->first_error, from->first_error,
		       sizeof(to->first_error));
	if (to->first_mismatch[0] == '\0')
		memcpy(to->first_mismatch, from->first_mismatch,
		       sizeof(to->first_mismatch));
}

int main(int argc, char **argv)
{
	lg_opts o = {.conns = 1, .duration = 10.0, .timeout = 5.0};
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	lg_thread *th;
	lg_stats *total;
	pthread_attr_t attr;
	uint64_t deadline, t_last = 0;
	unsigned started = 0, stuck = 0;
	double secs, us = 1000.0;
	int rc;

	parse_args(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	rc = getaddrinfo(o.host, o.port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "loadgen: %s:%s: %s\n", o.host, o.port,
			gai_strerror(rc));
		return 2;
	}
	if (load_entries(&o) < 0)
		return 2;
	th = calloc(o.conns, sizeof(*th));
	total = calloc(1, sizeof(*total));
	if (th == NULL || total == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 2;
	}
	g_t_start = now_ns();
	g_t_measure = g_t_start + (uint64_t)(o.warmup * 1e9);
	g_t_end = o.requests > 0 ? UINT64_MAX
				 : g_t_measure + (uint64_t)(o.duration * 1e9);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (unsigned i = 0; i < o.conns; i++) {
		th[i].index = i;
		th[i].opts = &o;
		th[i].ai = ai;
		if (o.requests > 0)
			th[i].quota = o.requests / o.conns +
				      (i < o.requests % o.conns ? 1 : 0);
		if (o.requests > 0 && th[i].quota == 0) {
			atomic_store(&th[i].done, true);
			continue;
		}
		if (pthread_create(&th[i].tid, &attr, run_conn, &th[i]) != 0) {
			fprintf(stderr, "loadgen: pthread_create failed\n");
			atomic_store(&g_stop, true);
			break;
		}
		started = i + 1;
	}
	pthread_attr_destroy(&attr);

	/* Wait for the threads, but never forever: in time mode a thread
	 * stops at the end of the window, after at most one send and one
	 * receive timeout; with --requests, after its quota or
	 * LG_MAX_FAILS failures in a row.  Then stop and wait once more. */
	deadline = o.requests > 0
		       ? UINT64_MAX
		       : g_t_end + (uint64_t)((2 * o.timeout + 2) * 1e9);
	wait_threads(th, started, deadline);
	atomic_store(&g_stop, true);
	wait_threads(th, started,
		     now_ns() + (uint64_t)((2 * o.timeout + 1) * 1e9));
	for (unsigned i = 0; i < started; i++) {
		if (!atomic_load(&th[i].done)) {
			stuck++;
			continue;
		}
		pthread_join(th[i].tid, NULL);
		merge(total, &th[i].st);
		if (th[i].t_done > t_last)
			t_last = th[i].t_done;
	}
	if (o.requests > 0) {
		secs = (double)(t_last - g_t_measure) / 1e9;
		if (t_last < g_t_measure)
			secs = 0;
	} else {
		secs = o.duration;
	}
	printf(
	    "conns=%u requests=%llu seconds=%.2f rps=%.1f "
	    "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f "
	    "max_us=%.1f mean_us=%.1f "
	    "%s=%llu %s=%llu tempfail=%llu other=%llu "
	    "mismatch=%llu errors=%llu err_connect=%llu err_closed=%llu "
	    "err_timeout=%llu err_malformed=%llu reconnects=%llu "
	    "stuck=%u\n",
	    o.conns, (unsigned long long)total->requests, secs,
	    secs > 0 ? (double)total->requests / secs : 0.0,
	    hist_percentile(total->hist, total->requests, 0.50, total->max_ns) /
		us,
	    hist_percentile(total->hist, total->requests, 0.90, total->max_ns) /
		us,
	    hist_percentile(total->hist, total->requests, 0.99, total->max_ns) /
		us,
	    hist_percentile(total->hist, total->requests, 0.999,
			    total->max_ns) /
		us,
	    (double)total->max_ns / us,
	    total->requests
		? (double)total->sum_ns / (double)total->requests / us
		: 0.0,
	    o.proto == LG_POLICY ? "dunno" : "found",
	    (unsigned long long)(o.proto == LG_POLICY ? total->dunno
						      : total->found),
	    o.proto == LG_POLICY ? "reject" : "notfound",
	    (unsigned long long)(o.proto == LG_POLICY ? total->reject
						      : total->notfound),
	    (unsigned long long)total->tempfail,
	    (unsigned long long)total->other,
	    (unsigned long long)total->mismatch,
	    (unsigned long long)total->errors,
	    (unsigned long long)total->err_connect,
	    (unsigned long long)total->err_closed,
	    (unsigned long long)total->err_timeout,
	    (unsigned long long)total->err_malformed,
	    (unsigned long long)total->reconnects, stuck);
	fflush(stdout);
	if (total->first_error[0] != '\0')
		fprintf(stderr, "loadgen: first error: %s\n",
			total->first_error);
	if (total->first_mismatch[0] != '\0')
		fprintf(stderr, "loadgen: first mismatch: %s\n",
			total->first_mismatch);
	rc = total->errors > 0 || total->mismatch > 0 || stuck > 0 ? 1 : 0;
	if (stuck > 0)
		_exit(rc); /* threads still blocked: do not free under them */
	freeaddrinfo(ai);
	free(th);
	free(total);
	return rc;
}
