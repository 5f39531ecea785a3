/*
 * ceiling - a constant-answer server: the ceiling for this machine, for
 * each protocol bench-loadgen speaks.
 *
 * It has pushbackd's shape without its work: one listening socket, one
 * thread per connection (256 KiB stacks), TCP_NODELAY, a buffered reader,
 * one send(2) per reply, and nothing sent before a request is complete.
 *   policy (default): splits the stream into "name=value" lines and counts
 *     attributes up to the empty line, then sends "action=DUNNO\n\n" (a
 *     4xx for a line without '=' or too many attributes).
 *   tcp_table: for each line "get KEY" sends the constant
 *     "200 SRS0=xxxx=TT=example.com=user@srs.example.org" (a 400 for any
 *     other line); the key is not decoded.
 *   socketmap: for each netstring "NAME KEY" sends the netstring
 *     "OK SRS0=xxxx=TT=example.com=user@srs.example.org"; a broken
 *     netstring closes the connection, as Postfix's servers do.
 * Whatever a real server adds on top (parsing, lookups, signing, logging)
 * is the gap between the two in bench/run's and bench/srs's tables.
 *
 * Memory: each connection thread owns its read buffer and frees it on
 * exit.  Threading: the main thread accepts; connection threads are
 * detached and share nothing.
 * SECURITY: a benchmark tool for loopback; input is still bounded (a line
 * longer than the buffer closes the connection) and reads time out.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define CE_BUF_CAP 16384
#define CE_MAX_ATTRS 256
#define CE_IDLE_SECONDS 300
#define CE_STACK (256 * 1024)

#define CE_SRS_VALUE "SRS0=xxxx=TT=example.com=user@srs.example.org"

typedef enum ce_proto {
	CE_POLICY = 0,
	CE_TCP_TABLE,
	CE_SOCKETMAP,
} ce_proto;

static const char ce_reply[] = "action=DUNNO\n\n";
static const char ce_bad[] = "action=451 4.3.0 malformed policy request\n\n";
static const char ce_tt_reply[] = "200 " CE_SRS_VALUE "\n";
static const char ce_tt_bad[] = "400 malformed request\n";
/* Written by main before any thread starts, read-only afterwards. */
static ce_proto g_proto;
static char g_sm_reply[128]; /* the netstring "LEN:OK VALUE," */
static size_t g_sm_reply_len;

/* send_all - write the whole buffer; 0 ok, -1 error. */
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

/* One connection's parser state. */
typedef struct ce_conn {
	int fd;
	size_t n_attrs; /* policy: attributes of this request so far */
	bool bad;	/* policy: this request is malformed */
} ce_conn;

/* consume_policy - answer every complete policy request in buf; the bytes
 * consumed, or -1 to close the connection. */
static ssize_t consume_policy(ce_conn *c, const char *buf, size_t have)
{
	size_t off = 0;

	for (;;) {
		const char *nl = memchr(buf + off, '\n', have - off);
		size_t llen;

		if (nl == NULL)
			break;
		llen = (size_t)(nl - (buf + off));
		if (llen == 0) {
			/* End of request: one write per reply. */
			if ((c->bad
				 ? send_all(c->fd, ce_bad, sizeof(ce_bad) - 1)
				 : send_all(c->fd, ce_reply,
					    sizeof(ce_reply) - 1)) < 0)
				return -1;
			c->n_attrs = 0;
			c->bad = false;
		} else if (memchr(buf + off, '=', llen) == NULL ||
			   ++c->n_attrs > CE_MAX_ATTRS) {
			c->bad = true;
		}
		off += llen + 1;
	}
	return (ssize_t)off;
}

/* consume_tcp_table - answer every complete "get KEY" line in buf. */
static ssize_t consume_tcp_table(ce_conn *c, const char *buf, size_t have)
{
	size_t off = 0;

	for (;;) {
		const char *nl = memchr(buf + off, '\n', have - off);
		size_t llen;
		bool ok;

		if (nl == NULL)
			break;
		llen = (size_t)(nl - (buf + off));
		ok = llen > 4 && memcmp(buf + off, "get ", 4) == 0;
		if ((ok ? send_all(c->fd, ce_tt_reply, sizeof(ce_tt_reply) - 1)
			: send_all(c->fd, ce_tt_bad, sizeof(ce_tt_bad) - 1)) <
		    0)
			return -1;
		off += llen + 1;
	}
	return (ssize_t)off;
}

/* consume_socketmap - answer every complete netstring in buf:
 *     netstring = 1*5DIGIT ":" LEN-bytes ","   (payload "NAME SP KEY")
 * A broken one, or one longer than the buffer, closes the connection. */
static ssize_t consume_socketmap(ce_conn *c, const char *buf, size_t have)
{
	size_t off = 0;

	for (;;) {
		size_t i = off, n = 0;

		while (i < have && buf[i] >= '0' && buf[i] <= '9') {
			if (i - off == 5)
				return -1;
			n = n * 10 + (size_t)(buf[i] - '0');
			i++;
		}
		if (i == have)
			break;
		if (i == off || buf[i] != ':' || n > CE_BUF_CAP - 16)
			return -1;
		i++;
		if (have - i < n + 1)
			break;
		if (buf[i + n] != ',' || memchr(buf + i, ' ', n) == NULL)
			return -1;
		if (send_all(c->fd, g_sm_reply, g_sm_reply_len) < 0)
			return -1;
		off = i + n + 1;
	}
	return (ssize_t)off;
}

/* serve - one connection: requests until EOF, error or idle timeout. */
static void *serve(void *arg)
{
	ce_conn c = {.fd = (int)(intptr_t)arg};
	ssize_t (*consume)(ce_conn *, const char *, size_t) =
	    g_proto == CE_TCP_TABLE   ? consume_tcp_table
	    : g_proto == CE_SOCKETMAP ? consume_socketmap
				      : consume_policy;
	char *buf = malloc(CE_BUF_CAP);
	size_t have = 0;

	if (buf == NULL)
		goto out;
	for (;;) {
		ssize_t n = consume(&c, buf, have);

		if (n < 0)
			goto out;
		/* Keep the partial request; move it to the front. */
		if (n > 0) {
			memmove(buf, buf + n, have - (size_t)n);
			have -= (size_t)n;
		}
		if (have == CE_BUF_CAP)
			goto out; /* a line longer than the buffer */
		n = recv(c.fd, buf + have, CE_BUF_CAP - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		have += (size_t)n;
	}
out:
	free(buf);
	close(c.fd);
	return NULL;
}

/* open_listener - a listening TCP socket on host:port, or -1. */
static int open_listener(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE},
			*ai, *a;
	int fd = -1, one = 1, rc;

	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "ceiling: %s:%s: %s\n", host, port,
			gai_strerror(rc));
		return -1;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof(one)) == 0 &&
		    bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
		    listen(fd, 1024) == 0)
			break;
		fprintf(stderr, "ceiling: %s:%s: %s\n", host, port,
			strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int main(int argc, char **argv)
{
	char host[256], port[16];
	const char *spec = NULL, *proto = "policy", *colon;
	pthread_attr_t attr;
	int lfd, n;
	bool bad = false;

	/* Options come in pairs: argc is odd when every one has its value. */
	for (int i = 1; i + 1 < argc && argc % 2 == 1; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			spec = argv[i + 1];
		else if (strcmp(argv[i], "--protocol") == 0)
			proto = argv[i + 1];
		else
			bad = true;
	}
	if (strcmp(proto, "policy") == 0)
		g_proto = CE_POLICY;
	else if (strcmp(proto, "tcp_table") == 0)
		g_proto = CE_TCP_TABLE;
	else if (strcmp(proto, "socketmap") == 0)
		g_proto = CE_SOCKETMAP;
	else
		bad = true;
	if (bad || argc % 2 == 0)
		spec = NULL;
	colon = spec ? strrchr(spec, ':') : NULL;
	if (colon == NULL || colon == spec ||
	    (size_t)(colon - spec) >= sizeof(host) ||
	    strlen(colon + 1) >= sizeof(port) || colon[1] == '\0') {
		fprintf(stderr, "usage: bench-ceiling --listen HOST:PORT "
				"[--protocol policy|tcp_table|socketmap]\n");
		return 2;
	}
	n = snprintf(g_sm_reply, sizeof(g_sm_reply), "%zu:OK %s,",
		     sizeof(CE_SRS_VALUE) - 1 + 3, CE_SRS_VALUE);
	if (n < 0 || (size_t)n >= sizeof(g_sm_reply))
		return 2;
	g_sm_reply_len = (size_t)n;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);

	signal(SIGPIPE, SIG_IGN);
	lfd = open_listener(host, port);
	if (lfd < 0)
		return 1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, CE_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		struct timeval tv = {.tv_sec = CE_IDLE_SECONDS};
		int one = 1;
		pthread_t tid;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE) {
				if (errno == EMFILE || errno == ENFILE)
					usleep(10000);
				continue;
			}
			fprintf(stderr, "ceiling: accept: %s\n",
				strerror(errno));
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (pthread_create(&tid, &attr, serve, (void *)(intptr_t)fd) !=
		    0)
			close(fd);
	}
}
