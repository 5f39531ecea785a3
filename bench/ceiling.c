/*
 * ceiling - a constant-answer policy server: the ceiling for this machine.
 *
 * It has pushbackd's shape without its work: one listening socket, one
 * thread per connection (256 KiB stacks), TCP_NODELAY, a buffered reader
 * that splits the stream into "name=value" lines and counts attributes up
 * to the empty line, then one send(2) of "action=DUNNO\n\n" per request
 * (a 4xx for a line without '=' or too many attributes).
 * Nothing is sent before the request's empty line has been read.  Whatever
 * pushbackd adds on top (parsing into a transaction, directory lookups,
 * logging) is the gap between the two in bench/run's table.
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

static const char ce_reply[] = "action=DUNNO\n\n";
static const char ce_bad[] = "action=451 4.3.0 malformed policy request\n\n";

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

/* serve - one connection: requests until EOF, error or idle timeout. */
static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(CE_BUF_CAP);
	size_t have = 0, off = 0, n_attrs = 0;
	bool bad = false;

	if (buf == NULL)
		goto out;
	for (;;) {
		ssize_t n;

		/* Consume every complete line in the buffer. */
		for (;;) {
			char *nl = memchr(buf + off, '\n', have - off);
			size_t llen;
			if (nl == NULL)
				break;
			llen = (size_t)(nl - (buf + off));
			if (llen == 0) {
				/* End of request: one write per reply. */
				if ((bad ? send_all(fd, ce_bad,
						    sizeof(ce_bad) - 1)
					 : send_all(fd, ce_reply,
						    sizeof(ce_reply) - 1)) < 0)
					goto out;
				n_attrs = 0;
				bad = false;
			} else if (memchr(buf + off, '=', llen) == NULL ||
				   ++n_attrs > CE_MAX_ATTRS) {
				bad = true;
			}
			off += llen + 1;
		}
		/* Keep the partial line; move it to the front. */
		if (off > 0) {
			memmove(buf, buf + off, have - off);
			have -= off;
			off = 0;
		}
		if (have == CE_BUF_CAP)
			goto out; /* a line longer than the buffer */
		n = recv(fd, buf + have, CE_BUF_CAP - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		have += (size_t)n;
	}
out:
	free(buf);
	close(fd);
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
	const char *spec = NULL, *colon;
	pthread_attr_t attr;
	int lfd;

	if (argc == 3 && strcmp(argv[1], "--listen") == 0)
		spec = argv[2];
	colon = spec ? strrchr(spec, ':') : NULL;
	if (colon == NULL || colon == spec ||
	    (size_t)(colon - spec) >= sizeof(host) ||
	    strlen(colon + 1) >= sizeof(port) || colon[1] == '\0') {
		fprintf(stderr, "usage: bench-ceiling --listen HOST:PORT\n");
		return 2;
	}
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
