/*
 * server - listeners, one thread per MTA connection, signals.
 *
 * Threading: the main thread polls every listener and a stop pipe; each
 * accepted connection gets a detached thread that runs its frontend.  At
 * max_connections the main thread stops accepting (new connections wait in
 * the kernel backlog) until a connection ends.
 */
#ifndef PB_SERVER_H
#define PB_SERVER_H

#include <stdbool.h>

#include "core/config.h"

typedef struct pb_server pb_server;

/* pb_listen_open - bind and listen on "inet:HOST:PORT" or "unix:/PATH".
 * Returns the socket, or -1 with an error message in errbuf. */
int pb_listen_open(const char *spec, char *errbuf, size_t errcap);

/* pb_server_new - bind every listener of cfg.  NULL with errbuf set on
 * failure (a listener that cannot be bound is a start-up error). */
pb_server *pb_server_new(const pb_config *cfg, char *errbuf, size_t errcap);

/* pb_server_run - serve until pb_server_stop; returns 0 on a clean stop. */
int pb_server_run(pb_server *srv);

/* pb_server_stop - async-signal-safe: ask the server to stop. */
void pb_server_stop(pb_server *srv);

void pb_server_free(pb_server **srv);

/* pb_serve_stdin - one policy connection on stdin/stdout (Postfix spawn). */
int pb_serve_stdin(const pb_config *cfg);

#endif
