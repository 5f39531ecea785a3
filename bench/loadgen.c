/*
 * loadgen - a load generator for Postfix SMTPD access policy servers.
 *
 * Each connection is one thread that behaves like a Postfix smtpd process
 * holding a policy connection open: it sends one Postfix-shaped RCPT
 * request, reads the whole reply (up to the empty line), and only then
 * sends the next.  Latency is measured per request with CLOCK_MONOTONIC
 * into a per-thread log-linear histogram (32 sub-buckets per power of two,
 * about 3% resolution); histograms are merged at the end and percentiles
 * are read from the merged one.  Output is one line of name=value fields.
 *
 * What is sent: either a mix file (--mix: "sender TAB recipient TAB
 * expected-action-prefix" per line, checked per reply), or recipients and
 * senders (--recipients / --senders, one address a line, request k uses
 * line k of each, modulo the file's length), or generated addresses.
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

typedef struct lg_entry {
	const char *sender;    /* "" for the null sender */
	const char *recipient; /* never empty */
	const char *expect;    /* expected action prefix, or NULL */
} lg_entry;

typedef struct lg_opts {
	char host[256];
	char port[16];
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
	uint64_t requests; /* measured */
	uint64_t dunno, reject, tempfail, other;
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

/* build_request - one Postfix-shaped RCPT request into buf; its length,
 * or 0 when it does not fit. */
static size_t build_request(char *buf, size_t cap, const lg_entry *e,
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

/* read_reply - read one reply (lines up to an empty line) into buf.
 * The action text (after "action=") is returned through act/act_len.
 * Anything after the empty line is a protocol error: we sent exactly one
 * request, so the server has no business sending more. */
static rd_status read_reply(int fd, char *buf, size_t cap, const char **act,
			    size_t *act_len, char *why, size_t why_cap)
{
	size_t have = 0, end = 0;
	const char *nn;

	for (;;) {
		ssize_t n;

		if (have >= 1 && buf[0] == '\n') {
			snprintf(why, why_cap, "empty reply");
			return RD_MALFORMED;
		}
		nn = have >= 2 ? memmem(buf, have, "\n\n", 2) : NULL;
		if (nn != NULL) {
			end = (size_t)(nn - buf) + 2;
			break;
		}
		if (have == cap) {
			snprintf(why, why_cap, "reply over %zu bytes", cap);
			return RD_MALFORMED;
		}
		n = recv(fd, buf + have, cap - have, 0);
		if (n == 0)
			return have == 0 ? RD_CLOSED : RD_MALFORMED;
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
	if (end != have) {
		snprintf(why, why_cap, "%zu unexpected bytes after the reply",
			 have - end);
		return RD_MALFORMED;
	}
	/* Exactly one attribute line: "action=TEXT\n\n". */
	if (end < 9 || memcmp(buf, "action=", 7) != 0 ||
	    memchr(buf, '\n', end - 2) != NULL) {
		snprintf(why, why_cap, "not a single action line: \"%.*s\"",
			 (int)(end > 80 ? 80 : end - 2), buf);
		return RD_MALFORMED;
	}
	*act = buf + 7;
	*act_len = end - 2 - 7;
	if (*act_len == 0) {
		snprintf(why, why_cap, "empty action");
		return RD_MALFORMED;
	}
	return RD_OK;
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

/* run_conn - one connection's life: requests until time or quota ends. */
static void *run_conn(void *arg)
{
	lg_thread *t = arg;
	lg_stats *st = &t->st;
	char *req = malloc(LG_REQ_CAP);
	char *rep = malloc(LG_REPLY_CAP);
	char why[160];
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
		const char *act = NULL;
		size_t act_len = 0, len;
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
		len = build_request(req, LG_REQ_CAP, e, t->index, seq++);
		if (len == 0) {
			set_error(st, &st->err_malformed, "request too long",
				  e->recipient);
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
		rs = read_reply(fd, rep, LG_REPLY_CAP, &act, &act_len, why,
				sizeof(why));
		t1 = now_ns();
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
			classify(st, act, act_len, e->expect, e);
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

/* load_entries - the request table from the options; 0 ok, -1 error. */
static int load_entries(const lg_opts *o)
{
	char **rc = NULL, **sd = NULL;
	size_t nr = 0, ns = 0, n;

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
		"  --connections N     parallel connections (default 1)\n"
		"  --duration SECONDS  measured time (default 10)\n"
		"  --requests N        measured requests in all, instead of "
		"--duration\n"
		"  --warmup SECONDS    unmeasured time before (default 0)\n"
		"  --timeout SECONDS   socket timeout (default 5)\n"
		"  --recipients FILE   recipient addresses, one a line\n"
		"  --senders FILE      sender addresses, one a line "
		"(line k pairs with recipient k)\n"
		"  --mix FILE          lines: sender TAB recipient "
		"[TAB expected-action-prefix]; <> is the null sender\n"
		"Output: one line of name=value fields on stdout; the first "
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
		if (strcmp(a, "--connect") == 0) {
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
	    "dunno=%llu reject=%llu tempfail=%llu other=%llu "
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
	    (unsigned long long)total->dunno, (unsigned long long)total->reject,
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
