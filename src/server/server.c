/*
 * server - listeners and connection threads for pushbackd.
 *
 * Memory: pb_server owns its listener sockets, the directory pool and
 * the per-connection argument blocks (freed by each thread on exit).
 * Threading: see server.h.  The connection count is guarded by a mutex;
 * the main thread waits on a condition variable while at the limit.
 */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "directory/pool.h"
#include "frontend/maps.h"
#include "frontend/milter.h"
#include "frontend/policy.h"
#include "sign/signer.h"

#define PB_BACKLOG 1024
#define PB_THREAD_STACK (256 * 1024)
/* policy, socketmap and milter listeners, and one tcp_table listener per
 * map */
#define PB_MAX_FDS (3 * PB_MAX_LISTEN + PB_MAP_COUNT)

typedef enum listen_kind {
	LISTEN_POLICY = 0,
	LISTEN_SOCKETMAP,
	LISTEN_TCP_TABLE,
	LISTEN_MILTER,
} listen_kind;

struct pb_server {
	const pb_config *cfg;
	int fds[PB_MAX_FDS];
	listen_kind kinds[PB_MAX_FDS];
	pb_map_id maps[PB_MAX_FDS]; /* for LISTEN_TCP_TABLE */
	char *unix_paths[PB_MAX_FDS];
	size_t n_fds;
	pb_signer signer;
	int stop_pipe[2];
	pb_dir_pool *pool;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int active;
	struct conn_arg **conns; /* max_connections slots, for stopping */
};

typedef struct conn_arg {
	pb_server *srv;
	int fd;
	listen_kind kind;
	pb_map_id map;
	int slot;
	char peer[80];
} conn_arg;

/* open_unix - a stream socket at path, replacing a stale socket file. */
static int open_unix(const char *path, char *errbuf, size_t errcap)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(errbuf, errcap, "unix:%s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* Only ever remove a socket, never a file someone put there. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(errbuf, errcap,
				 "unix:%s: exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, PB_BACKLOG) < 0) {
		snprintf(errbuf, errcap, "unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* open_inet - a TCP listener on host:port (IPv4 or IPv6 host). */
static int open_inet(const char *hostport, char *errbuf, size_t errcap)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	const char *colon = strrchr(hostport, ':');
	char host[256];
	size_t hlen;
	int fd = -1, one = 1, rc;

	if (colon == NULL) {
		snprintf(errbuf, errcap, "inet:%s: no port", hostport);
		return -1;
	}
	hlen = (size_t)(colon - hostport);
	if (hlen >= sizeof(host)) {
		snprintf(errbuf, errcap, "inet:%s: host too long", hostport);
		return -1;
	}
	memcpy(host, hostport, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(errbuf, errcap, "inet:%s: %s", hostport,
			 gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, PB_BACKLOG) < 0) {
		snprintf(errbuf, errcap, "inet:%s: %s", hostport,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* pb_listen_open - bind one listener spec. */
int pb_listen_open(const char *spec, char *errbuf, size_t errcap)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return open_unix(spec + 5, errbuf, errcap);
	if (strncmp(spec, "inet:", 5) == 0)
		return open_inet(spec + 5, errbuf, errcap);
	snprintf(errbuf, errcap,
		 "%s: listener must be inet:HOST:PORT or "
		 "unix:/PATH",
		 spec);
	return -1;
}

/* new_pool - the directory pool for cfg's database. */
static pb_dir_pool *new_pool(const pb_config *cfg)
{
	pb_dir_opts opts = {.busy_timeout = cfg->busy_timeout,
			    .create = false,
			    .readonly = true};

	return pb_dir_pool_new(cfg->database, &opts,
			       (unsigned)cfg->max_connections);
}

/* add_listener - bind spec for kind (and map). */
static int add_listener(pb_server *srv, const char *spec, listen_kind kind,
			pb_map_id map, char *errbuf, size_t errcap)
{
	int fd = pb_listen_open(spec, errbuf, errcap);

	if (fd < 0)
		return -1;
	if (strncmp(spec, "unix:", 5) == 0)
		srv->unix_paths[srv->n_fds] = strdup(spec + 5);
	srv->kinds[srv->n_fds] = kind;
	srv->maps[srv->n_fds] = map;
	srv->fds[srv->n_fds++] = fd;
	return 0;
}

/* add_listeners - every listener cfg names. */
static int add_listeners(pb_server *srv, const pb_config *cfg, char *errbuf,
			 size_t errcap)
{
	for (size_t i = 0; i < cfg->policy_listen.n; i++)
		if (add_listener(srv, cfg->policy_listen.spec[i], LISTEN_POLICY,
				 0, errbuf, errcap) < 0)
			return -1;
	for (size_t i = 0; i < cfg->socketmap_listen.n; i++)
		if (add_listener(srv, cfg->socketmap_listen.spec[i],
				 LISTEN_SOCKETMAP, 0, errbuf, errcap) < 0)
			return -1;
	for (size_t i = 0; i < cfg->milter_listen.n; i++)
		if (add_listener(srv, cfg->milter_listen.spec[i], LISTEN_MILTER,
				 0, errbuf, errcap) < 0)
			return -1;
	for (int m = 0; m < PB_MAP_COUNT; m++)
		if (cfg->tcp_table[m] != NULL &&
		    add_listener(srv, cfg->tcp_table[m], LISTEN_TCP_TABLE,
				 (pb_map_id)m, errbuf, errcap) < 0)
			return -1;
	return 0;
}

/* pb_server_new - load the keys, bind every listener. */
pb_server *pb_server_new(const pb_config *cfg, char *errbuf, size_t errcap)
{
	pb_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL) {
		snprintf(errbuf, errcap, "out of memory");
		return NULL;
	}
	srv->cfg = cfg;
	srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	if (pb_signer_init(&srv->signer, cfg, errbuf, errcap) < 0 ||
	    add_listeners(srv, cfg, errbuf, errcap) < 0) {
		pb_server_free(&srv);
		return NULL;
	}
	srv->pool = new_pool(cfg);
	srv->conns = calloc((size_t)cfg->max_connections, sizeof(*srv->conns));
	if (srv->pool == NULL || srv->conns == NULL ||
	    pipe2(srv->stop_pipe, O_CLOEXEC) < 0) {
		snprintf(errbuf, errcap, "out of memory or descriptors");
		pb_server_free(&srv);
		return NULL;
	}
	return srv;
}

/* conn_main - one MTA connection's thread. */
static void *conn_main(void *arg)
{
	conn_arg *ca = arg;
	pb_server *srv = ca->srv;

	pb_log(PB_LOG_DEBUG, "%s: connected", ca->peer);
	switch (ca->kind) {
	case LISTEN_POLICY:
		pol_serve(ca->fd, ca->fd, srv->cfg, srv->pool, &srv->signer,
			  ca->peer);
		break;
	case LISTEN_SOCKETMAP:
		maps_serve(ca->fd, MAPS_SOCKETMAP, 0, srv->cfg, &srv->signer,
			   ca->peer);
		break;
	case LISTEN_TCP_TABLE:
		maps_serve(ca->fd, MAPS_TCP_TABLE, ca->map, srv->cfg,
			   &srv->signer, ca->peer);
		break;
	case LISTEN_MILTER:
		mlt_serve(ca->fd, srv->cfg, srv->pool, &srv->signer, ca->peer);
		break;
	}
	pb_log(PB_LOG_DEBUG, "%s: disconnected", ca->peer);
	pthread_mutex_lock(&srv->lock);
	close(ca->fd); /* under the lock: the stop path may shut it down */
	pthread_mutex_unlock(&srv->lock);
	pthread_mutex_lock(&srv->lock);
	srv->conns[ca->slot] = NULL;
	srv->active--;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	free(ca);
	return NULL;
}

/* peer_name - printable peer of an accepted socket. */
static void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	} else {
		snprintf(out, cap, "unix");
		return;
	}
	snprintf(out, cap, "%s:%d", host, port);
}

/* start_conn - hand an accepted socket to a new thread. */
static void start_conn(pb_server *srv, int fd,
		       const struct sockaddr_storage *ss, size_t listener)
{
	conn_arg *ca = calloc(1, sizeof(*ca));
	pthread_attr_t attr;
	pthread_t tid;
	int one = 1, rc;

	if (ca == NULL) {
		pb_log(PB_LOG_ERROR, "out of memory: dropping a connection");
		close(fd);
		return;
	}
	if (ss->ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ca->srv = srv;
	ca->fd = fd;
	ca->kind = srv->kinds[listener];
	ca->map = srv->maps[listener];
	peer_name(ss, ca->peer, sizeof(ca->peer));
	pthread_mutex_lock(&srv->lock);
	srv->active++;
	for (int i = 0; i < srv->cfg->max_connections; i++)
		if (srv->conns[i] == NULL) {
			srv->conns[i] = ca;
			ca->slot = i;
			break;
		}
	pthread_mutex_unlock(&srv->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, PB_THREAD_STACK);
	rc = pthread_create(&tid, &attr, conn_main, ca);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pb_log(PB_LOG_ERROR, "cannot start a thread: %s; dropping %s",
		       strerror(rc), ca->peer);
		close(fd);
		pthread_mutex_lock(&srv->lock);
		srv->conns[ca->slot] = NULL;
		srv->active--;
		pthread_mutex_unlock(&srv->lock);
		free(ca);
	}
}

/* wait_for_slot - block while at max_connections; false when stopping. */
static bool wait_for_slot(pb_server *srv)
{
	struct pollfd pfd = {.fd = srv->stop_pipe[0], .events = POLLIN};
	bool warned = false;

	pthread_mutex_lock(&srv->lock);
	while (srv->active >= srv->cfg->max_connections) {
		struct timespec ts;

		if (!warned) {
			pb_log(PB_LOG_WARN,
			       "max_connections (%d) reached; new connections "
			       "wait",
			       srv->cfg->max_connections);
			warned = true;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&srv->cond, &srv->lock, &ts);
		if (poll(&pfd, 1, 0) > 0) {
			pthread_mutex_unlock(&srv->lock);
			return false;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	return true;
}

/* drain - end every connection after the request it is answering: shut
 * the read side, so each thread sees EOF once its reply is written, and
 * wait (bounded) for them to leave. */
static void drain(pb_server *srv)
{
	struct timespec ts;

	pthread_mutex_lock(&srv->lock);
	for (int i = 0; i < srv->cfg->max_connections; i++)
		if (srv->conns[i] != NULL)
			shutdown(srv->conns[i]->fd, SHUT_RD);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	while (srv->active > 0)
		if (pthread_cond_timedwait(&srv->cond, &srv->lock, &ts) != 0)
			break;
	if (srv->active > 0)
		pb_log(PB_LOG_WARN, "%d connections still busy at exit",
		       srv->active);
	pthread_mutex_unlock(&srv->lock);
}

/* pb_server_run - the accept loop. */
int pb_server_run(pb_server *srv)
{
	struct pollfd pfds[PB_MAX_FDS + 1];

	for (size_t i = 0; i < srv->n_fds; i++)
		pfds[i] = (struct pollfd){.fd = srv->fds[i], .events = POLLIN};
	pfds[srv->n_fds] =
	    (struct pollfd){.fd = srv->stop_pipe[0], .events = POLLIN};
	for (;;) {
		if (!wait_for_slot(srv))
			break;
		if (poll(pfds, srv->n_fds + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			pb_log(PB_LOG_ERROR, "poll: %s", strerror(errno));
			return -1;
		}
		if (pfds[srv->n_fds].revents)
			break;
		for (size_t i = 0; i < srv->n_fds; i++) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			int fd;

			if (!(pfds[i].revents & POLLIN))
				continue;
			fd = accept4(srv->fds[i], (struct sockaddr *)&ss, &sl,
				     SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno == EMFILE || errno == ENFILE) {
					pb_log(PB_LOG_ERROR, "accept: %s",
					       strerror(errno));
					usleep(100000);
				}
				continue;
			}
			start_conn(srv, fd, &ss, i);
		}
	}
	pb_log(PB_LOG_INFO, "stopping");
	drain(srv);
	return 0;
}

/* pb_server_stop - async-signal-safe stop request. */
void pb_server_stop(pb_server *srv)
{
	char c = 's';

	if (srv != NULL && srv->stop_pipe[1] >= 0 &&
	    write(srv->stop_pipe[1], &c, 1) < 0)
		return;
}

/* pb_server_free - close listeners; running connections end with the
 * process. */
void pb_server_free(pb_server **srvp)
{
	pb_server *srv = *srvp;

	if (srv == NULL)
		return;
	for (size_t i = 0; i < srv->n_fds; i++) {
		close(srv->fds[i]);
		if (srv->unix_paths[i] != NULL) {
			unlink(srv->unix_paths[i]);
			free(srv->unix_paths[i]);
		}
	}
	if (srv->stop_pipe[0] >= 0)
		close(srv->stop_pipe[0]);
	if (srv->stop_pipe[1] >= 0)
		close(srv->stop_pipe[1]);
	/* A connection still busy after drain() keeps its handle: free the
	 * pool only when every thread has left. */
	if (srv->active == 0) {
		pb_dir_pool_free(&srv->pool);
		pb_signer_wipe(&srv->signer);
	}
	free(srv->conns);
	free(srv);
	*srvp = NULL;
}

/* pb_serve_stdin - Postfix spawn(8): one connection on stdin/stdout. */
int pb_serve_stdin(const pb_config *cfg)
{
	pb_dir_pool *pool;
	pb_signer signer;
	char err[512];

	if (pb_signer_init(&signer, cfg, err, sizeof(err)) < 0) {
		pb_log(PB_LOG_ERROR, "%s", err);
		return -1;
	}
	pool = new_pool(cfg);
	if (pool == NULL) {
		pb_log(PB_LOG_ERROR, "out of memory");
		pb_signer_wipe(&signer);
		return -1;
	}
	pol_serve(STDIN_FILENO, STDOUT_FILENO, cfg, pool, &signer, "stdin");
	pb_dir_pool_free(&pool);
	pb_signer_wipe(&signer);
	return 0;
}
