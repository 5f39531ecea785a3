/*
 * policy - Postfix SMTPD access policy delegation (the "policy" protocol).
 *
 * Grammar (Postfix SMTPD_POLICY_README):
 *     request   = *( attribute LF ) LF
 *     attribute = name "=" value        ; name: no "=", value: to end of line
 *     reply     = "action=" text LF LF
 * Postfix sends LF only; a trailing CR is tolerated and dropped.
 *
 * Memory: the parser owns one line buffer (max_line + 1 bytes), used only
 * for a line split across reads; whole lines are parsed where they lie.
 * SECURITY: untrusted input.  Limits: max_line per line, max_attributes
 * per request, max_request bytes per request; claimed lengths do not exist
 * in this protocol, so nothing is allocated from input.
 */
#include "frontend/policy.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "checks/checks.h"
#include "core/config.h"
#include "core/log.h"
#include "frontend/io.h"
#include "core/pipeline.h"
#include "core/reasons.h"
#include "core/verdict.h"
#include "directory/pool.h"

struct pol_parser {
	pol_limits lim;
	pb_txn *txn;
	char *line; /* partial line carried over between reads */
	size_t line_len;
	bool discarding; /* skipping the rest of an over-long line */
	size_t n_attrs;
	size_t n_bytes; /* bytes of the current request so far */
	bool bad;
	bool have_request;
	bool stage_known;
	char error[160];
};

/* The attributes we use, and how each lands in the txn.  Everything else
 * Postfix sends (and any attribute a newer Postfix adds) is ignored.
 * Names carry their length: a request has some thirty lines, and this
 * table is searched for each. */
typedef enum attr_kind {
	ATTR_FIELD,   /* copied into a char array of pb_txn */
	ATTR_REQUEST, /* must be smtpd_access_policy */
	ATTR_STATE,   /* protocol_state: the stage */
	ATTR_RCPT_COUNT,
	ATTR_RECIPIENT, /* the recipient; repeated in a DATA request (Exim) */
	ATTR_HEADER,	/* a sender header field's body (Exim): name in field */
} attr_kind;

typedef struct attr_def {
	const char *name;
	size_t nlen;
	attr_kind kind;
	size_t offset; /* ATTR_FIELD: of a char array in pb_txn */
	size_t cap;
} attr_def;

#define NAME(lit) lit, sizeof(lit) - 1
#define TXN_FIELD(f) ATTR_FIELD, offsetof(pb_txn, f), sizeof(((pb_txn *)0)->f)

static const attr_def attrs[] = {
    {NAME("request"), ATTR_REQUEST, 0, 0},
    {NAME("protocol_state"), ATTR_STATE, 0, 0},
    {NAME("recipient_count"), ATTR_RCPT_COUNT, 0, 0},
    {NAME("instance"), TXN_FIELD(id)},
    {NAME("queue_id"), TXN_FIELD(queue_id)},
    {NAME("client_address"), TXN_FIELD(client_address)},
    {NAME("client_name"), TXN_FIELD(client_name)},
    {NAME("helo_name"), TXN_FIELD(helo)},
    {NAME("sasl_username"), TXN_FIELD(sasl_username)},
    {NAME("sender"), TXN_FIELD(sender)},
    {NAME("recipient"), ATTR_RECIPIENT, 0, 0},
    /* pushback's own, for Exim's DATA ACL: the header fields' bodies */
    {NAME("from_header"), ATTR_HEADER, 0, 0},
    {NAME("reply_to_header"), ATTR_HEADER, 0, 0},
    {NAME("sender_header"), ATTR_HEADER, 0, 0},
};

static const struct {
	const char *name;
	size_t len;
	pb_stage stage;
} states[] = {
    {NAME("CONNECT"), PB_STAGE_CONNECT},    {NAME("EHLO"), PB_STAGE_HELO},
    {NAME("HELO"), PB_STAGE_HELO},	    {NAME("MAIL"), PB_STAGE_MAIL},
    {NAME("RCPT"), PB_STAGE_RCPT},	    {NAME("DATA"), PB_STAGE_DATA},
    {NAME("END-OF-MESSAGE"), PB_STAGE_EOM},
};

/* pol_parser_new - allocate a parser and its line buffer. */
pol_parser *pol_parser_new(const pol_limits *lim, pb_txn *txn)
{
	pol_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->lim = *lim;
	p->txn = txn;
	p->line = malloc(lim->max_line + 1);
	if (p->line == NULL) {
		free(p);
		return NULL;
	}
	pb_txn_reset(txn);
	return p;
}

/* pol_parser_free - release; accepts NULL. */
void pol_parser_free(pol_parser **pp)
{
	if (*pp == NULL)
		return;
	free((*pp)->line);
	free(*pp);
	*pp = NULL;
}

const char *pol_error(const pol_parser *p)
{
	return p->error;
}

bool pol_stage_known(const pol_parser *p)
{
	return p->stage_known;
}

bool pol_in_request(const pol_parser *p)
{
	return p->n_bytes > 0;
}

/* mark_bad - the request is malformed; keep the first reason. */
static void mark_bad(pol_parser *p, const char *why)
{
	if (!p->bad)
		snprintf(p->error, sizeof(p->error), "%s", why);
	p->bad = true;
}

/* begin_request - forget the previous request. */
static void begin_request(pol_parser *p)
{
	pb_txn_reset(p->txn);
	p->n_attrs = 0;
	p->n_bytes = 0;
	p->bad = false;
	p->have_request = false;
	p->stage_known = false;
	p->error[0] = '\0';
}

/* set_attr - one name=value pair. */
static void set_attr(pol_parser *p, const char *name, size_t nlen,
		     const char *val, size_t vlen)
{
	static const char request[] = "smtpd_access_policy";
	const attr_def *a = NULL;
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (attrs[i].nlen == nlen &&
		    memcmp(attrs[i].name, name, nlen) == 0) {
			a = &attrs[i];
			break;
		}
	if (a == NULL)
		return;
	switch (a->kind) {
	case ATTR_REQUEST:
		if (vlen == sizeof(request) - 1 &&
		    memcmp(val, request, vlen) == 0)
			p->have_request = true;
		else
			mark_bad(p, "request= is not smtpd_access_policy");
		return;
	case ATTR_STATE:
		for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
			if (states[i].len == vlen &&
			    memcmp(states[i].name, val, vlen) == 0) {
				p->txn->stage = states[i].stage;
				p->stage_known = true;
			}
		return;
	case ATTR_RCPT_COUNT:
		for (size_t i = 0; i < vlen && val[i] >= '0' && val[i] <= '9' &&
				   n < 100000000;
		     i++)
			n = n * 10 + (unsigned)(val[i] - '0');
		p->txn->rcpt_count = n;
		return;
	case ATTR_RECIPIENT:
		/* The last one is the recipient decided at RCPT; all are
		 * kept for the checks after DATA. */
		if (pb_txn_set(p->txn->recipient, sizeof(p->txn->recipient),
			       val, vlen) < 0)
			mark_bad(p, "attribute recipient is too long");
		else if (pb_txn_add_rcpt(p->txn, val, vlen) < 0 &&
			 p->txn->n_rcpts >= PB_TXN_RCPTS_MAX)
			mark_bad(p, "too many recipients");
		return;
	case ATTR_HEADER:
		/* A field too long to keep counts as holding no address. */
		(void)pb_txn_set_header(p->txn,
					a->name[0] == 'f'   ? "From"
					: a->name[0] == 'r' ? "Reply-To"
							    : "Sender",
					val, vlen);
		return;
	case ATTR_FIELD:
		if (pb_txn_set((char *)p->txn + a->offset, a->cap, val, vlen) <
		    0) {
			char why[96];

			snprintf(why, sizeof(why), "attribute %s is too long",
				 a->name);
			mark_bad(p, why);
		}
		return;
	}
}

/* parse_line - one complete line (without LF).  Returns true at the empty
 * line that ends a request. */
static bool parse_line(pol_parser *p, const char *s, size_t len)
{
	const char *eq;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len == 0)
		return true;
	if (++p->n_attrs > p->lim.max_attributes) {
		mark_bad(p, "too many attributes");
		return false;
	}
	if (memchr(s, '\0', len) != NULL) {
		mark_bad(p, "NUL byte in request");
		return false;
	}
	eq = memchr(s, '=', len);
	if (eq == NULL || eq == s) {
		mark_bad(p, "line is not name=value");
		return false;
	}
	set_attr(p, s, (size_t)(eq - s), eq + 1, len - (size_t)(eq - s) - 1);
	return false;
}

/* finish_request - classify a request whose empty line has arrived. */
static pol_status finish_request(pol_parser *p)
{
	if (p->n_attrs == 0)
		mark_bad(p, "empty request");
	else if (!p->have_request && !p->bad)
		mark_bad(p, "no request=smtpd_access_policy attribute");
	return p->bad ? POL_BAD : POL_REQUEST;
}

/* pol_feed - consume input up to the end of one request. */
pol_status pol_feed(pol_parser *p, const char *buf, size_t len, size_t *used)
{
	size_t off = 0;

	if (p->n_bytes == 0 && p->line_len == 0 && !p->discarding)
		begin_request(p);
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t chunk = nl ? (size_t)(nl - (buf + off)) : len - off;
		size_t taken = chunk + (nl ? 1 : 0);
		bool end = false;

		if (p->lim.max_request - p->n_bytes < taken) {
			*used = off + (p->lim.max_request - p->n_bytes);
			snprintf(p->error, sizeof(p->error),
				 "request larger than %zu bytes",
				 p->lim.max_request);
			p->n_bytes = 0;
			p->line_len = 0;
			p->discarding = false;
			return POL_FATAL;
		}
		p->n_bytes += taken;
		off += taken;
		if (p->discarding) {
			if (nl != NULL)
				p->discarding = false;
			continue;
		}
		if (p->line_len + chunk > p->lim.max_line) {
			mark_bad(p, "line too long");
			p->line_len = 0;
			p->discarding = nl == NULL;
			/* an over-long line still counts as an attribute */
			if (++p->n_attrs > p->lim.max_attributes)
				mark_bad(p, "too many attributes");
			continue;
		}
		if (nl == NULL) { /* partial line: keep it for the next read */
			memcpy(p->line + p->line_len, buf + off - taken, chunk);
			p->line_len += chunk;
			continue;
		}
		if (p->line_len > 0) {
			memcpy(p->line + p->line_len, buf + off - taken, chunk);
			end = parse_line(p, p->line, p->line_len + chunk);
			p->line_len = 0;
		} else {
			end = parse_line(p, buf + off - taken, chunk);
		}
		if (end) {
			pol_status st = finish_request(p);

			*used = off;
			p->n_bytes = 0;
			return st;
		}
	}
	*used = off;
	return POL_MORE;
}

/* ---- one connection ------------------------------------------------- */

#define POL_READ_SIZE 16384
#define POL_OUT_MAX (64 * 1024)

typedef struct pol_conn {
	const pb_config *cfg;
	pb_dir_pool *pool;
	pb_dir *dir;
	pb_env env;
	pb_txn txn;
	pb_render_opts ropts;
	char dir_error[256];
	const struct pb_signer *signer;
	/* what this transaction was told so far, while instance stays */
	char memo_id[sizeof(((pb_txn *)0)->id)];
	pb_txn_memo memo;
	char out[POL_OUT_MAX];
	size_t out_len;
	int fd_out;
	const char *peer;
} pol_conn;

/* flush - send the replies gathered so far. */
static int flush(pol_conn *c)
{
	int rc = pb_write_all(c->fd_out, c->out, c->out_len);

	c->out_len = 0;
	return rc;
}

/* queue_reply - append "action=LINE\n\n"; flush first when full. */
static int queue_reply(pol_conn *c, const pb_reply *r)
{
	size_t need = strlen(r->line) + sizeof("action=\n\n") - 1;

	if (POL_OUT_MAX - c->out_len < need && flush(c) < 0)
		return -1;
	memcpy(c->out + c->out_len, "action=", 7);
	memcpy(c->out + c->out_len + 7, r->line, need - 9);
	memcpy(c->out + c->out_len + need - 2, "\n\n", 2);
	c->out_len += need;
	return 0;
}

/* now_us - monotonic microseconds. */
static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* decide - run the pipeline for a well-formed request. */
static void decide(pol_conn *c, bool stage_known, pb_reply *r)
{
	long long t0 = now_us();
	pb_verdict v;

	if (c->dir == NULL) {
		c->dir = pb_dir_pool_get(c->pool, c->dir_error,
					 sizeof(c->dir_error));
		if (c->dir == NULL)
			pb_log(PB_LOG_ERROR, "directory %s: %s",
			       c->cfg->database, c->dir_error);
	}
	pb_env_init(&c->env, c->cfg, c->dir, c->dir_error, c->signer);
	/* Postfix's instance names the transaction: requests with the same
	 * one are its recipients, so they share the memo. */
	if (c->txn.id[0] == '\0' || strcmp(c->txn.id, c->memo_id) != 0) {
		memcpy(c->memo_id, c->txn.id, sizeof(c->memo_id));
		memset(&c->memo, 0, sizeof(c->memo));
	}
	c->txn.memo = c->memo;
	if (stage_known)
		pb_pipeline_decide(&c->env, &c->txn, c->txn.stage, &v, NULL);
	else
		pb_verdict_dunno(&v, NULL);
	if (c->dir != NULL && v.reason != NULL &&
	    strcmp(v.reason, PB_R_BACKEND_UNAVAILABLE) == 0) {
		/* Reopen on the next request: the file may have been
		 * replaced or repaired meanwhile. */
		pb_dir_pool_put(c->pool, c->dir, true);
		c->dir = NULL;
	}
	pb_verdict_render(&v, &c->ropts, &c->txn, (long)(now_us() - t0), r);
	pb_txn_note_answer(&c->txn,
			   r->action == PB_TEMPFAIL || r->action == PB_REJECT);
	c->memo = c->txn.memo;
}

/* refuse_malformed - the protocol's own error answer: a 4xx. */
static void refuse_malformed(pol_conn *c, const char *why, pb_reply *r)
{
	pb_verdict v;
	pb_render_opts ro = c->ropts;

	pb_log(PB_LOG_WARN, "%s: malformed policy request: %s", c->peer, why);
	pb_verdict_set(&v, 451, "4.3.0", PB_R_MALFORMED_REQUEST,
		       "malformed policy request");
	v.check = "policy";
	ro.shadow = false; /* not a policy refusal: never turned to DUNNO */
	ro.soft_bounce = false;
	pb_verdict_render(&v, &ro, &c->txn, 0, r);
}

/* read_timeout - read(2), or poll(2) then read(2) on a descriptor that
 * has no receive timeout; a timeout is -1 with errno EAGAIN. */
static ssize_t read_timeout(int fd, char *buf, size_t cap, bool use_poll,
			    int timeout_s)
{
	if (use_poll) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n = poll(&pfd, 1, timeout_s * 1000);

		if (n == 0)
			errno = EAGAIN;
		if (n <= 0)
			return -1;
	}
	return read(fd, buf, cap);
}

/* pol_serve - one connection: read, parse, decide, answer. */
void pol_serve(int fd_in, int fd_out, const pb_config *cfg, pb_dir_pool *pool,
	       const struct pb_signer *signer, const char *peer)
{
	pol_limits lim = {cfg->policy_max_line, cfg->policy_max_attributes,
			  cfg->policy_max_request};
	pol_conn *c = calloc(1, sizeof(*c));
	pol_parser *p = NULL;
	char *buf = malloc(POL_READ_SIZE);
	bool open = true;

	if (c == NULL || buf == NULL ||
	    (p = pol_parser_new(&lim, &c->txn)) == NULL) {
		pb_log(PB_LOG_ERROR, "%s: out of memory", peer);
		goto done;
	}
	c->cfg = cfg;
	c->pool = pool;
	c->signer = signer;
	c->fd_out = fd_out;
	c->peer = peer;
	c->ropts.soft_bounce = cfg->soft_bounce;
	c->ropts.shadow = cfg->shadow;
	c->ropts.log = true;
	/* On a socket the idle timeout is a receive timeout: one read(2) per
	 * request and no poll(2).  Pipes (--stdin) fall back to poll. */
	struct timeval tv = {.tv_sec = cfg->idle_timeout};
	bool use_poll =
	    setsockopt(fd_in, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0;
	bool resync_failed = false;

	/* A client that stops reading its answers must not hold a thread
	 * for ever: a blocked write gives up after idle_timeout too. */
	(void)setsockopt(fd_out, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	while (open) {
		ssize_t n;
		size_t off = 0;

		n = read_timeout(fd_in, buf, POL_READ_SIZE, use_poll,
				 cfg->idle_timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			pb_log(PB_LOG_INFO, "%s: idle for %d s, closing", peer,
			       cfg->idle_timeout);
			break;
		}
		if (n <= 0) {
			if (pol_in_request(p))
				pb_log(PB_LOG_WARN,
				       "%s: connection closed inside a request",
				       peer);
			break;
		}
		while (off < (size_t)n && open) {
			size_t used = 0;
			pol_status st =
			    pol_feed(p, buf + off, (size_t)n - off, &used);
			pb_reply r;

			off += used;
			if (st == POL_MORE)
				break;
			if (st == POL_REQUEST)
				decide(c, pol_stage_known(p), &r);
			else
				refuse_malformed(c, pol_error(p), &r);
			if (queue_reply(c, &r) < 0)
				open = false;
			if (st == POL_FATAL) {
				pb_log(PB_LOG_WARN,
				       "%s: cannot re-synchronise, closing",
				       peer);
				open = false;
				resync_failed = true;
			}
		}
		if (c->out_len > 0 && flush(c) < 0)
			break;
	}
	if (resync_failed)
		pb_close_gently(fd_in, fd_out);
done:
	if (c != NULL) {
		pb_dir_pool_put(pool, c->dir, false);
		free(c);
	}
	pol_parser_free(&p);
	free(buf);
}
