/*
 * policy - the Postfix SMTPD access policy delegation protocol.
 *
 * A request is a sequence of "name=value" lines ended by an empty line; the
 * answer is "action=...\n\n".  pol_parser is a pure, incremental parser:
 * bytes in, complete requests out, every limit enforced, no I/O.  pol_serve
 * runs one connection: read, parse, decide through the pipeline, answer.
 *
 * Memory: a pol_parser owns one line buffer of max_line bytes.  Not
 * thread-safe; one per connection.
 * SECURITY: everything read is untrusted.  A malformed request is answered
 * with a 4xx and the connection goes on when the stream can be
 * re-synchronised (at the next empty line); a request over max_request
 * bytes cannot be, and the connection is closed after the answer.
 */
#ifndef PB_POLICY_H
#define PB_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/txn.h"

typedef struct pol_limits {
	size_t max_line;       /* bytes in one line, without the newline */
	size_t max_attributes; /* lines in one request */
	size_t max_request;    /* bytes in one request, newlines included */
} pol_limits;

typedef enum pol_status {
	POL_MORE = 0, /* all input consumed, request not complete yet */
	POL_REQUEST,  /* a well-formed request is complete */
	POL_BAD,      /* a malformed request is complete: answer 4xx */
	POL_FATAL,    /* cannot re-synchronise: answer 4xx, then close */
} pol_status;

typedef struct pol_parser pol_parser;

/* pol_parser_new - a parser filling txn; NULL when out of memory. */
pol_parser *pol_parser_new(const pol_limits *lim, pb_txn *txn);
void pol_parser_free(pol_parser **p);

/* pol_feed - consume input up to and including the end of one request.
 * *used is set to the bytes consumed; on POL_MORE that is len.  After
 * POL_REQUEST / POL_BAD the txn holds the request's facts and the next
 * call starts a new request (the txn is reset then). */
pol_status pol_feed(pol_parser *p, const char *buf, size_t len, size_t *used);

/* pol_error - why the last request was POL_BAD or POL_FATAL. */
const char *pol_error(const pol_parser *p);

/* pol_stage_known - whether the request's protocol_state named a stage
 * pushback decides at (CONNECT ... END-OF-MESSAGE). */
bool pol_stage_known(const pol_parser *p);

/* pol_in_request - some bytes of an unfinished request have been seen. */
bool pol_in_request(const pol_parser *p);

struct pb_config;
struct pb_dir_pool;
struct pb_signer;

/* pol_serve - serve one policy connection until EOF, error, idle timeout
 * or stop.  fd_in and fd_out may be the same socket (or stdin/stdout). */
void pol_serve(int fd_in, int fd_out, const struct pb_config *cfg,
	       struct pb_dir_pool *pool, const struct pb_signer *signer,
	       const char *peer);

#endif
