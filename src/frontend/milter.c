/*
 * milter - the Sendmail milter protocol, filter side, version 6.
 *
 * Wire format (Sendmail libmilter mfdef.h, Postfix src/milter/milter8.c):
 *     packet  = length command data   ; length: 32 bits, network order,
 *                                     ; counts command and data
 *     OPTNEG  = version actions protocol        ; 3 x 32 bits
 *     reply   = version actions protocol *( stage(32 bits) names NUL )
 *     MACRO   = command-letter *( name NUL value NUL )
 *     CONNECT = hostname NUL family [ port(16 bits) address NUL ]
 *     HELO    = name NUL
 *     MAIL, RCPT = 1*( argument NUL )           ; "<address>" first
 *     HEADER  = name NUL value NUL
 *     REPLYCODE reply = "CODE ENH text" NUL
 *     ADDHEADER reply = name NUL value NUL
 *
 * What we negotiate (the MTA offers, we take the intersection): the
 * actions ADDHDRS (the X-Pushback-Reason header of a quarantine) and
 * SETSYMLIST (our macro lists); no body, no DATA, no unknown commands;
 * no reply awaited for headers, and for CONNECT, HELO and MAIL while the
 * pipeline has no check at those stages.  RCPT and end of headers are
 * always answered: that is where pushback decides.
 *
 * Memory: one mlt_conn (with its pb_txn) and one read buffer per
 * connection, from the heap; no allocation while serving.
 * SECURITY: untrusted input.  A packet's claimed length is bounded by
 * MLT_PACKET_MAX before it is awaited; every argument is parsed within
 * its packet and never relies on a NUL the parser has not checked.
 */
#include "frontend/milter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "checks/checks.h"
#include "core/log.h"
#include "core/pipeline.h"
#include "core/reasons.h"
#include "core/verdict.h"
#include "directory/pool.h"
#include "frontend/io.h"

/* get32 - a 32-bit big-endian value. */
static uint32_t get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
	       (uint32_t)u[2] << 8 | (uint32_t)u[3];
}

/* put32 - store a 32-bit value big-endian. */
static void put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24 & 0xff);
	p[1] = (char)(v >> 16 & 0xff);
	p[2] = (char)(v >> 8 & 0xff);
	p[3] = (char)(v & 0xff);
}

/* mlt_parse - frame one packet. */
mlt_status mlt_parse(const char *buf, size_t len, size_t max, char *cmd,
		     const char **data, size_t *dlen, size_t *used)
{
	uint32_t n;

	*used = 0;
	if (len < 4)
		return MLT_MORE;
	n = get32(buf);
	if (n == 0 || n > max)
		return MLT_FATAL;
	if (len - 4 < n)
		return MLT_MORE;
	*cmd = buf[4];
	*data = buf + 5;
	*dlen = n - 1;
	*used = 4 + (size_t)n;
	return MLT_PACKET;
}

/* mlt_strings - split NUL-terminated strings. */
int mlt_strings(const char *data, size_t dlen, mlt_str *out, size_t max)
{
	size_t off = 0;
	int n = 0;

	if (dlen > 0 && data[dlen - 1] != '\0')
		return -1;
	while (off < dlen) {
		const char *nul = memchr(data + off, '\0', dlen - off);
		size_t l = (size_t)(nul - (data + off)); /* found: see above */

		if ((size_t)n < max)
			out[n] = (mlt_str){data + off, l};
		n++;
		off += l + 1;
	}
	return n;
}

/* mlt_optneg_parse - the three 32-bit fields. */
int mlt_optneg_parse(const char *data, size_t dlen, mlt_optneg *o)
{
	if (dlen < 12)
		return -1;
	o->version = get32(data);
	o->actions = get32(data + 4);
	o->protocol = get32(data + 8);
	return 0;
}

/* mlt_negotiate - intersect what we want with what the MTA offers. */
int mlt_negotiate(const mlt_optneg *mta, uint32_t want_actions,
		  uint32_t want_protocol, mlt_optneg *out)
{
	if (mta->version < 2)
		return -1;
	out->version = mta->version < MLT_VERSION ? mta->version : MLT_VERSION;
	out->actions = want_actions & mta->actions;
	out->protocol = want_protocol & mta->protocol;
	return 0;
}

/* cstr - a NUL-terminated string at data[*off..dlen); advances *off. */
static int cstr(const char *data, size_t dlen, size_t *off, mlt_str *s)
{
	const char *nul;

	if (*off >= dlen)
		return -1;
	nul = memchr(data + *off, '\0', dlen - *off);
	if (nul == NULL)
		return -1;
	s->p = data + *off;
	s->len = (size_t)(nul - s->p);
	*off += s->len + 1;
	return 0;
}

/* mlt_connect_parse - hostname, family, port, address. */
int mlt_connect_parse(const char *data, size_t dlen, mlt_connect *c)
{
	size_t off = 0;

	memset(c, 0, sizeof(*c));
	c->addr.p = "";
	if (cstr(data, dlen, &off, &c->host) < 0 || off >= dlen)
		return -1;
	c->family = data[off++];
	switch (c->family) {
	case 'U':
		return off == dlen ? 0 : -1;
	case '4':
	case '6':
	case 'L':
		break;
	default:
		return -1;
	}
	if (dlen - off < 2)
		return -1;
	c->port = (unsigned)(unsigned char)data[off] << 8 |
		  (unsigned)(unsigned char)data[off + 1];
	off += 2;
	if (cstr(data, dlen, &off, &c->addr) < 0 || off != dlen)
		return -1;
	return 0;
}

/* mlt_header_parse - name NUL value NUL. */
int mlt_header_parse(const char *data, size_t dlen, mlt_str *name,
		     mlt_str *value)
{
	size_t off = 0;

	if (cstr(data, dlen, &off, name) < 0 || name->len == 0 || off >= dlen ||
	    data[dlen - 1] != '\0')
		return -1;
	value->p = data + off;
	value->len = dlen - off - 1;
	return 0;
}

/* mlt_path - strip blanks and one pair of angle brackets. */
mlt_str mlt_path(mlt_str a)
{
	while (a.len > 0 && (a.p[0] == ' ' || a.p[0] == '\t')) {
		a.p++;
		a.len--;
	}
	while (a.len > 0 && (a.p[a.len - 1] == ' ' || a.p[a.len - 1] == '\t'))
		a.len--;
	if (a.len >= 2 && a.p[0] == '<' && a.p[a.len - 1] == '>') {
		a.p++;
		a.len -= 2;
	}
	return a;
}

/* mlt_macro_name - drop the braces of a long macro name. */
mlt_str mlt_macro_name(mlt_str n)
{
	if (n.len >= 2 && n.p[0] == '{' && n.p[n.len - 1] == '}') {
		n.p++;
		n.len -= 2;
	}
	return n;
}

/* mlt_encode - length, command, data. */
size_t mlt_encode(char *out, size_t cap, char cmd, const char *data,
		  size_t dlen)
{
	if (dlen > MLT_PACKET_MAX || cap < 5 || cap - 5 < dlen)
		return 0;
	put32(out, (uint32_t)dlen + 1);
	out[4] = cmd;
	if (dlen > 0)
		memcpy(out + 5, data, dlen);
	return 5 + dlen;
}

/* mlt_encode_optneg - the negotiation reply, with macro lists. */
size_t mlt_encode_optneg(char *out, size_t cap, const mlt_optneg *o,
			 const char *const *lists)
{
	size_t n = 17;

	if (cap < n)
		return 0;
	out[4] = MLT_C_OPTNEG;
	put32(out + 5, o->version);
	put32(out + 9, o->actions);
	put32(out + 13, o->protocol);
	for (int s = 0; lists != NULL && (o->actions & MLT_F_SETSYMLIST) &&
			s < MLT_M_COUNT;
	     s++) {
		size_t l;

		if (lists[s] == NULL || lists[s][0] == '\0')
			continue;
		l = strlen(lists[s]);
		if (cap - n < 4 + l + 1)
			return 0;
		put32(out + n, (uint32_t)s);
		memcpy(out + n + 4, lists[s], l + 1);
		n += 4 + l + 1;
	}
	put32(out, (uint32_t)(n - 4));
	return n;
}

/* mlt_encode_replycode - "CODE ENH text" NUL, '%' doubled. */
size_t mlt_encode_replycode(char *out, size_t cap, const char *line)
{
	size_t n = 5;

	if (cap < 6)
		return 0;
	for (const char *p = line; *p != '\0'; p++) {
		if (cap - n < (*p == '%' ? 3 : 2))
			return 0;
		out[n++] = *p;
		if (*p == '%')
			out[n++] = '%';
	}
	out[n++] = '\0';
	put32(out, (uint32_t)(n - 4));
	out[4] = MLT_R_REPLYCODE;
	return n;
}

/* mlt_encode_addheader - name NUL value NUL. */
size_t mlt_encode_addheader(char *out, size_t cap, const char *name,
			    const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	if (cap < 5 || cap - 5 < nl + vl + 2)
		return 0;
	put32(out, (uint32_t)(1 + nl + vl + 2));
	out[4] = MLT_R_ADDHEADER;
	memcpy(out + 5, name, nl + 1);
	memcpy(out + 5 + nl + 1, value, vl + 1);
	return 5 + nl + vl + 2;
}

/* ---- one connection ------------------------------------------------- */

#define MLT_READ_SIZE 16384
#define MLT_OUT_MAX 8192
#define MLT_MACRO_MAX 256    /* bytes of one macro value kept */
#define MLT_QUARANTINE_MAX 8 /* X-Pushback-Reason headers per message */

/* The macros we ask for and use; each belongs to the stage that sends it
 * and is forgotten when that stage (or an earlier one) begins again.
 * All may be missing: the packets carry the facts, macros only fill
 * gaps and name the message in the log. */
typedef enum mac_id {
	MAC_QUEUE_ID = 0, /* i */
	MAC_HOSTNAME,	  /* j: the MTA's name */
	MAC_DAEMON,	  /* {daemon_name} */
	MAC_CLIENT_ADDR,
	MAC_CLIENT_NAME,
	MAC_AUTH,
	MAC_MAIL_ADDR,
	MAC_RCPT_ADDR,
	MAC_COUNT
} mac_id;

static const struct {
	const char *name;
	int stage; /* 0 connect, 2 mail, 3 rcpt */
} macro_defs[MAC_COUNT] = {
    [MAC_QUEUE_ID] = {"i", 2},
    [MAC_HOSTNAME] = {"j", 0},
    [MAC_DAEMON] = {"daemon_name", 0},
    [MAC_CLIENT_ADDR] = {"client_addr", 0},
    [MAC_CLIENT_NAME] = {"client_name", 0},
    [MAC_AUTH] = {"auth_authen", 2},
    [MAC_MAIL_ADDR] = {"mail_addr", 2},
    [MAC_RCPT_ADDR] = {"rcpt_addr", 3},
};

/* The lists sent in the OPTNEG reply (Postfix then sends exactly these;
 * Sendmail sends them when configured with the same names). */
static const char *const macro_lists[MLT_M_COUNT] = {
    [MLT_M_CONNECT] = "j {daemon_name} {client_addr} {client_name}",
    [MLT_M_ENVFROM] = "i {auth_authen} {mail_addr}",
    [MLT_M_ENVRCPT] = "i {rcpt_addr}",
    [MLT_M_EOH] = "i",
};

typedef struct mlt_conn {
	const pb_config *cfg;
	pb_dir_pool *pool;
	pb_dir *dir;
	const struct pb_signer *signer;
	const char *peer;
	int fd;
	pb_env env;
	pb_render_opts ropts;
	char dir_error[256];
	bool negotiated;
	mlt_optneg opts; /* what was agreed */
	bool sender_bad; /* MAIL's address could not be kept */
	bool has_checks[PB_STAGE_COUNT];
	char macros[MAC_COUNT][MLT_MACRO_MAX];
	unsigned n_quarantine;
	char quarantine[MLT_QUARANTINE_MAX][PB_TEXT_MAX + 1];
	char why[160]; /* why the last packet was malformed */
	char out[MLT_OUT_MAX];
	size_t out_len;
	pb_txn txn; /* large: keep last */
} mlt_conn;

/* flush - send the replies gathered so far. */
static int flush(mlt_conn *c)
{
	int rc = c->out_len > 0 ? pb_write_all(c->fd, c->out, c->out_len) : 0;

	c->out_len = 0;
	return rc;
}

/* reserve - room for n more bytes in the output buffer, or NULL. */
static char *reserve(mlt_conn *c, size_t n)
{
	if (MLT_OUT_MAX - c->out_len < n && flush(c) < 0)
		return NULL;
	return MLT_OUT_MAX - c->out_len < n ? NULL : c->out + c->out_len;
}

/* reply_simple - a reply with no data (CONTINUE ...). */
static int reply_simple(mlt_conn *c, char cmd)
{
	char *p = reserve(c, 5);

	if (p == NULL)
		return -1;
	c->out_len += mlt_encode(p, 5, cmd, NULL, 0);
	return 0;
}

/* reply_code - SMFIR_REPLYCODE with a rendered "CODE ENH text". */
static int reply_code(mlt_conn *c, const char *line)
{
	size_t cap = 2 * PB_REPLY_MAX + 8, n;
	char *p = reserve(c, cap);

	if (p == NULL)
		return -1;
	n = mlt_encode_replycode(p, cap, line);
	if (n == 0)
		return -1;
	c->out_len += n;
	return 0;
}

/* now_us - monotonic microseconds. */
static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* forget_macros - the macros of stage and the stages after it. */
static void forget_macros(mlt_conn *c, int stage)
{
	for (int m = 0; m < MAC_COUNT; m++)
		if (macro_defs[m].stage >= stage)
			c->macros[m][0] = '\0';
}

/* keep - copy src into dst[cap], cut to fit. */
static void keep(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* sync_macros - fill the facts the packets left empty. */
static void sync_macros(mlt_conn *c)
{
	pb_txn *t = &c->txn;
	const char *qid = c->macros[MAC_QUEUE_ID];

	if (qid[0] != '\0') {
		keep(t->id, sizeof(t->id), qid);
		keep(t->queue_id, sizeof(t->queue_id), qid);
	}
	if (t->client_address[0] == '\0')
		keep(t->client_address, sizeof(t->client_address),
		     c->macros[MAC_CLIENT_ADDR]);
	if (t->client_name[0] == '\0')
		keep(t->client_name, sizeof(t->client_name),
		     c->macros[MAC_CLIENT_NAME]);
	if (c->macros[MAC_AUTH][0] != '\0')
		keep(t->sasl_username, sizeof(t->sasl_username),
		     c->macros[MAC_AUTH]);
}

/* new_message - forget the message, keep the connection's facts. */
static void new_message(mlt_conn *c)
{
	pb_txn *t = &c->txn;
	char addr[sizeof(t->client_address)], name[sizeof(t->client_name)];
	char helo[sizeof(t->helo)];

	memcpy(addr, t->client_address, sizeof(addr));
	memcpy(name, t->client_name, sizeof(name));
	memcpy(helo, t->helo, sizeof(helo));
	pb_txn_reset(t);
	memcpy(t->client_address, addr, sizeof(addr));
	memcpy(t->client_name, name, sizeof(name));
	memcpy(t->helo, helo, sizeof(helo));
	c->n_quarantine = 0;
	c->sender_bad = false;
}

/* decide - run the pipeline for stage and render its answer. */
static void decide(mlt_conn *c, pb_stage stage, pb_reply *r)
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
	sync_macros(c);
	pb_pipeline_decide(&c->env, &c->txn, stage, &v, NULL);
	if (c->dir != NULL && v.reason != NULL &&
	    strcmp(v.reason, PB_R_BACKEND_UNAVAILABLE) == 0) {
		/* Reopen on the next decision: the file may have been
		 * replaced or repaired meanwhile. */
		pb_dir_pool_put(c->pool, c->dir, true);
		c->dir = NULL;
	}
	pb_verdict_render(&v, &c->ropts, &c->txn, (long)(now_us() - t0), r);
}

/* refuse_ours - a 4xx that is not a policy decision (never shadowed). */
static void refuse_ours(mlt_conn *c, const char *reason, const char *text,
			pb_reply *r)
{
	pb_render_opts ro = c->ropts;
	pb_verdict v;

	pb_verdict_set(&v, 451, "4.3.0", reason, "%s", text);
	v.check = "milter";
	ro.shadow = false;
	ro.soft_bounce = false;
	pb_verdict_render(&v, &ro, &c->txn, 0, r);
}

/* remember_quarantine - a header value to add at end of message. */
static void remember_quarantine(mlt_conn *c, const char *text)
{
	for (unsigned i = 0; i < c->n_quarantine; i++)
		if (strcmp(c->quarantine[i], text) == 0)
			return;
	if (c->n_quarantine >= MLT_QUARANTINE_MAX) {
		pb_log(PB_LOG_WARN,
		       "%s: more than %d quarantine reasons; "
		       "keeping the first",
		       c->peer, MLT_QUARANTINE_MAX);
		return;
	}
	snprintf(c->quarantine[c->n_quarantine++], PB_TEXT_MAX + 1, "%s", text);
}

/* answer - encode a decision at RCPT or end of headers; *refused is set
 * when a 4xx/5xx went out. */
static int answer(mlt_conn *c, const pb_reply *r, bool *refused)
{
	*refused = r->action == PB_REJECT || r->action == PB_TEMPFAIL;
	if (*refused)
		return reply_code(c, r->line);
	if (r->action == PB_QUARANTINE)
		remember_quarantine(c, r->text);
	return reply_simple(c, MLT_R_CONTINUE);
}

/* Handler results. */
typedef enum h_result {
	H_CONTINUE = 0, /* answer CONTINUE unless the MTA awaits none */
	H_DONE,		/* the handler answered (or no answer is due) */
	H_QUIT,		/* end the connection */
	H_BAD,		/* malformed or unexpected: c->why, close */
	H_IOERR,	/* could not write */
} h_result;

typedef h_result (*mlt_handler)(mlt_conn *c, const char *d, size_t n);

/* bad - note why a packet is refused. */
static h_result bad(mlt_conn *c, const char *why)
{
	snprintf(c->why, sizeof(c->why), "%s", why);
	return H_BAD;
}

/* want_protocol - the protocol flags we ask for: skip what we never
 * read, and await no reply where we never decide. */
static uint32_t want_protocol(const mlt_conn *c)
{
	uint32_t p = MLT_P_NOBODY | MLT_P_NOUNKNOWN | MLT_P_NODATA |
		     MLT_P_NR_HDR | MLT_P_NR_DATA | MLT_P_NR_UNKN |
		     MLT_P_NR_BODY;

	if (!c->has_checks[PB_STAGE_CONNECT])
		p |= MLT_P_NR_CONN;
	if (!c->has_checks[PB_STAGE_HELO])
		p |= MLT_P_NR_HELO;
	if (!c->has_checks[PB_STAGE_MAIL])
		p |= MLT_P_NR_MAIL;
	return p;
}

/* on_optneg - agree on version, actions and events. */
static h_result on_optneg(mlt_conn *c, const char *d, size_t n)
{
	mlt_optneg mta;
	size_t cap = 256, len;
	char *p;

	if (mlt_optneg_parse(d, n, &mta) < 0)
		return bad(c, "OPTNEG shorter than 12 bytes");
	if (mlt_negotiate(&mta, MLT_F_ADDHDRS | MLT_F_SETSYMLIST,
			  want_protocol(c), &c->opts) < 0)
		return bad(c, "MTA speaks milter protocol version < 2");
	if (!(c->opts.actions & MLT_F_ADDHDRS))
		pb_log(PB_LOG_INFO,
		       "%s: the MTA does not let filters add headers; "
		       "quarantine headers will be missing",
		       c->peer);
	pb_log(PB_LOG_DEBUG,
	       "%s: milter version %u (MTA %u), actions 0x%x, protocol 0x%x "
	       "(MTA offers 0x%x)",
	       c->peer, c->opts.version, mta.version, c->opts.actions,
	       c->opts.protocol, mta.protocol);
	c->negotiated = true;
	p = reserve(c, cap);
	if (p == NULL ||
	    (len = mlt_encode_optneg(p, cap, &c->opts, macro_lists)) == 0)
		return H_IOERR;
	c->out_len += len;
	return H_DONE;
}

/* on_macro - remember the macros we use. */
static h_result on_macro(mlt_conn *c, const char *d, size_t n)
{
	mlt_str s[64];
	int k, stage;

	if (n < 1)
		return bad(c, "MACRO without a command letter");
	k = mlt_strings(d + 1, n - 1, s, 64);
	if (k < 0)
		return bad(c, "MACRO data does not end in NUL");
	stage = d[0] == MLT_C_CONNECT ? 0
		: d[0] == MLT_C_HELO  ? 1
		: d[0] == MLT_C_MAIL  ? 2
		: d[0] == MLT_C_RCPT  ? 3
				      : 4;
	if (stage < 4)
		forget_macros(c, stage);
	/* An odd last name has no value; names past 64 are not read. */
	for (int i = 0; i + 1 < k && i + 1 < 64; i += 2) {
		mlt_str name = mlt_macro_name(s[i]);

		for (int m = 0; m < MAC_COUNT; m++)
			if (strlen(macro_defs[m].name) == name.len &&
			    memcmp(macro_defs[m].name, name.p, name.len) == 0)
				snprintf(c->macros[m], MLT_MACRO_MAX, "%.*s",
					 (int)(s[i + 1].len < MLT_MACRO_MAX
						   ? s[i + 1].len
						   : MLT_MACRO_MAX - 1),
					 s[i + 1].p);
	}
	return H_DONE;
}

/* on_connect - the SMTP client. */
static h_result on_connect(mlt_conn *c, const char *d, size_t n)
{
	mlt_connect cc;
	pb_txn *t = &c->txn;
	pb_reply r;
	bool refused;

	if (mlt_connect_parse(d, n, &cc) < 0)
		return bad(c, "CONNECT: bad hostname, family, port or address");
	pb_txn_reset(t);
	c->n_quarantine = 0;
	c->sender_bad = false;
	if (cc.family == '4' || cc.family == '6') {
		mlt_str a = cc.addr;

		/* Sendmail writes IPv6 clients as "IPv6:2001:db8::1". */
		if (a.len > 5 && strncasecmp(a.p, "IPv6:", 5) == 0) {
			a.p += 5;
			a.len -= 5;
		}
		(void)pb_txn_set(t->client_address, sizeof(t->client_address),
				 a.p, a.len);
	}
	/* An unresolved client is "[addr]" here, "unknown" in the policy
	 * protocol: checks see the policy form. */
	if (cc.host.len > 0 && cc.host.p[0] == '[')
		snprintf(t->client_name, sizeof(t->client_name), "unknown");
	else
		(void)pb_txn_set(t->client_name, sizeof(t->client_name),
				 cc.host.p, cc.host.len);
	sync_macros(c);
	pb_log(PB_LOG_DEBUG, "%s: milter connect from %s [%s] to %s (%s)",
	       c->peer, t->client_name[0] ? t->client_name : "-",
	       t->client_address[0] ? t->client_address : "-",
	       c->macros[MAC_HOSTNAME][0] ? c->macros[MAC_HOSTNAME] : "-",
	       c->macros[MAC_DAEMON][0] ? c->macros[MAC_DAEMON] : "-");
	if (!c->has_checks[PB_STAGE_CONNECT])
		return H_CONTINUE;
	decide(c, PB_STAGE_CONNECT, &r);
	return answer(c, &r, &refused) < 0 ? H_IOERR : H_DONE;
}

/* on_helo - the HELO/EHLO name. */
static h_result on_helo(mlt_conn *c, const char *d, size_t n)
{
	mlt_str s[1];
	pb_reply r;
	bool refused;

	if (mlt_strings(d, n, s, 1) < 1)
		return bad(c, "HELO without a NUL-terminated name");
	(void)pb_txn_set(c->txn.helo, sizeof(c->txn.helo), s[0].p, s[0].len);
	if (!c->has_checks[PB_STAGE_HELO])
		return H_CONTINUE;
	decide(c, PB_STAGE_HELO, &r);
	return answer(c, &r, &refused) < 0 ? H_IOERR : H_DONE;
}

/* on_mail - a new message and its envelope sender. */
static h_result on_mail(mlt_conn *c, const char *d, size_t n)
{
	mlt_str s[1], path;
	pb_reply r;
	bool refused;

	if (mlt_strings(d, n, s, 1) < 1)
		return bad(c, "MAIL without a NUL-terminated address");
	new_message(c);
	path = mlt_path(s[0]);
	/* "<>" is the null sender; a bare empty argument is not: use the
	 * MTA's {mail_addr} then. */
	if (path.len == 0 && s[0].len == 0) {
		path.p = c->macros[MAC_MAIL_ADDR];
		path.len = strlen(path.p);
	}
	if (pb_txn_set(c->txn.sender, sizeof(c->txn.sender), path.p, path.len) <
	    0) {
		pb_log(PB_LOG_WARN,
		       "%s: MAIL address too long or holds a NUL; its "
		       "recipients get 451",
		       c->peer);
		c->sender_bad = true;
	}
	if (!c->has_checks[PB_STAGE_MAIL])
		return H_CONTINUE;
	decide(c, PB_STAGE_MAIL, &r);
	return answer(c, &r, &refused) < 0 ? H_IOERR : H_DONE;
}

/* on_rcpt - decide for one recipient. */
static h_result on_rcpt(mlt_conn *c, const char *d, size_t n)
{
	pb_txn *t = &c->txn;
	mlt_str s[1], path;
	pb_reply r;
	bool refused, had_list;

	if (mlt_strings(d, n, s, 1) < 1)
		return bad(c, "RCPT without a NUL-terminated address");
	path = mlt_path(s[0]);
	if (path.len == 0 && s[0].len == 0) {
		path.p = c->macros[MAC_RCPT_ADDR];
		path.len = strlen(path.p);
	}
	if (c->sender_bad ||
	    pb_txn_set(t->recipient, sizeof(t->recipient), path.p, path.len) <
		0 ||
	    path.len == 0) {
		t->stage = PB_STAGE_RCPT;
		refuse_ours(c, PB_R_MALFORMED_REQUEST,
			    "malformed milter request", &r);
		return answer(c, &r, &refused) < 0 ? H_IOERR : H_DONE;
	}
	had_list = t->memo.data_list[0] != '\0';
	decide(c, PB_STAGE_RCPT, &r);
	refused = r.action == PB_REJECT || r.action == PB_TEMPFAIL;
	if (!refused && pb_txn_add_rcpt(t, path.p, path.len) < 0 && !had_list &&
	    t->memo.data_list[0] != '\0') {
		/* This recipient is a list judged at end of headers, and
		 * there is no room to remember it: it must come in a
		 * transaction of its own. */
		pb_verdict v;

		t->memo.data_list[0] = '\0';
		pb_verdict_set(&v, 452, "4.5.3", PB_R_TOO_MANY_RCPTS,
			       "too many recipients; your server will send "
			       "the rest separately");
		v.check = "milter";
		pb_verdict_render(&v, &c->ropts, t, 0, &r);
	}
	if (answer(c, &r, &refused) < 0)
		return H_IOERR;
	pb_txn_note_answer(t, refused);
	return H_DONE;
}

/* on_header - keep the sender header fields. */
static h_result on_header(mlt_conn *c, const char *d, size_t n)
{
	mlt_str name, value;

	if (mlt_header_parse(d, n, &name, &value) < 0)
		return bad(c, "HEADER is not name NUL value NUL");
	/* name.p is NUL-terminated inside the packet (checked). */
	(void)pb_txn_set_header(&c->txn, name.p, value.p, value.len);
	return H_CONTINUE;
}

/* on_eoh - decide on the headers. */
static h_result on_eoh(mlt_conn *c, const char *d, size_t n)
{
	pb_reply r;
	bool refused;

	(void)d;
	(void)n;
	decide(c, PB_STAGE_EOH, &r);
	if (answer(c, &r, &refused) < 0)
		return H_IOERR;
	pb_txn_note_answer(&c->txn, refused);
	return H_DONE;
}

/* on_eom - add the quarantine headers, then continue. */
static h_result on_eom(mlt_conn *c, const char *d, size_t n)
{
	(void)d;
	(void)n;
	for (unsigned i = 0; i < c->n_quarantine; i++) {
		size_t cap = PB_TEXT_MAX + 64, len;
		char *p;

		if (!(c->opts.actions & MLT_F_ADDHDRS))
			break;
		p = reserve(c, cap);
		if (p == NULL)
			return H_IOERR;
		len = mlt_encode_addheader(p, cap, PB_QUARANTINE_HEADER,
					   c->quarantine[i]);
		c->out_len += len;
	}
	if (reply_simple(c, MLT_R_CONTINUE) < 0)
		return H_IOERR;
	new_message(c);
	forget_macros(c, 2);
	return H_DONE;
}

/* on_abort - the message is gone; the connection stays. */
static h_result on_abort(mlt_conn *c, const char *d, size_t n)
{
	(void)d;
	(void)n;
	new_message(c);
	forget_macros(c, 2);
	return H_DONE;
}

/* on_quit - end of the connection. */
static h_result on_quit(mlt_conn *c, const char *d, size_t n)
{
	(void)c;
	(void)d;
	(void)n;
	return H_QUIT;
}

/* on_quit_nc - the next SMTP connection reuses this one. */
static h_result on_quit_nc(mlt_conn *c, const char *d, size_t n)
{
	(void)d;
	(void)n;
	pb_txn_reset(&c->txn);
	c->n_quarantine = 0;
	c->sender_bad = false;
	forget_macros(c, 0);
	return H_DONE;
}

/* on_ignored - DATA, BODY, UNKNOWN: nothing to keep. */
static h_result on_ignored(mlt_conn *c, const char *d, size_t n)
{
	(void)c;
	(void)d;
	(void)n;
	return H_CONTINUE;
}

/* Every command: its handler, and the flag with which the MTA awaits no
 * reply (0: always awaited; NONE: never). */
#define NONE 0xffffffffu

static const struct {
	char cmd;
	const char *name;
	uint32_t noreply;
	mlt_handler fn;
} commands[] = {
    {MLT_C_OPTNEG, "OPTNEG", NONE, on_optneg},
    {MLT_C_MACRO, "MACRO", NONE, on_macro},
    {MLT_C_CONNECT, "CONNECT", MLT_P_NR_CONN, on_connect},
    {MLT_C_HELO, "HELO", MLT_P_NR_HELO, on_helo},
    {MLT_C_MAIL, "MAIL", MLT_P_NR_MAIL, on_mail},
    {MLT_C_RCPT, "RCPT", MLT_P_NR_RCPT, on_rcpt},
    {MLT_C_DATA, "DATA", MLT_P_NR_DATA, on_ignored},
    {MLT_C_HEADER, "HEADER", MLT_P_NR_HDR, on_header},
    {MLT_C_EOH, "EOH", MLT_P_NR_EOH, on_eoh},
    {MLT_C_BODY, "BODY", MLT_P_NR_BODY, on_ignored},
    {MLT_C_BODYEOB, "BODYEOB", 0, on_eom},
    {MLT_C_ABORT, "ABORT", NONE, on_abort},
    {MLT_C_QUIT, "QUIT", NONE, on_quit},
    {MLT_C_QUIT_NC, "QUIT_NC", NONE, on_quit_nc},
    {MLT_C_UNKNOWN, "UNKNOWN", MLT_P_NR_UNKN, on_ignored},
};

/* dispatch - one packet; false when the connection must end. */
static h_result dispatch(mlt_conn *c, char cmd, const char *d, size_t n)
{
	h_result h;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].cmd != cmd)
			continue;
		if (!c->negotiated && cmd != MLT_C_OPTNEG)
			return bad(c, "command before option negotiation");
		h = commands[i].fn(c, d, n);
		if (h == H_BAD) {
			char why[sizeof(c->why)];

			memcpy(why, c->why, sizeof(why));
			snprintf(c->why, sizeof(c->why), "%s: %.140s",
				 commands[i].name, why);
			return H_BAD;
		}
		if (h != H_CONTINUE)
			return h;
		if (commands[i].noreply == NONE ||
		    (c->opts.protocol & commands[i].noreply))
			return H_DONE;
		return reply_simple(c, MLT_R_CONTINUE) < 0 ? H_IOERR : H_DONE;
	}
	snprintf(c->why, sizeof(c->why), "unknown command 0x%02x",
		 (unsigned char)cmd);
	return H_BAD;
}

/* mlt_serve - one connection: read, frame, dispatch, answer. */
void mlt_serve(int fd, const pb_config *cfg, pb_dir_pool *pool,
	       const struct pb_signer *signer, const char *peer)
{
	struct timeval tv = {.tv_sec = cfg->idle_timeout};
	size_t cap = MLT_READ_SIZE + MLT_PACKET_MAX + 4, have = 0;
	mlt_conn *c = calloc(1, sizeof(*c));
	char *buf = malloc(cap);
	bool framing_lost = false, open = true;
	size_t n_checks;
	const pb_check *table = pb_pipeline_table(&n_checks);

	if (c == NULL || buf == NULL) {
		pb_log(PB_LOG_ERROR, "%s: out of memory", peer);
		goto done;
	}
	c->cfg = cfg;
	c->pool = pool;
	c->signer = signer;
	c->peer = peer;
	c->fd = fd;
	c->ropts.soft_bounce = cfg->soft_bounce;
	c->ropts.shadow = cfg->shadow;
	c->ropts.log = true;
	for (size_t i = 0; i < n_checks; i++)
		c->has_checks[table[i].stage] = true;
	pb_txn_reset(&c->txn);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (open) {
		ssize_t n = read(fd, buf + have, cap - have);
		size_t off = 0;

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
				       "%s: milter connection closed inside a "
				       "packet",
				       peer);
			break;
		}
		have += (size_t)n;
		while (open) {
			const char *data = NULL;
			size_t dlen = 0, used = 0;
			char cmd = 0;
			mlt_status st =
			    mlt_parse(buf + off, have - off, MLT_PACKET_MAX,
				      &cmd, &data, &dlen, &used);
			h_result h;

			if (st == MLT_MORE)
				break;
			if (st == MLT_FATAL) {
				pb_log(PB_LOG_WARN,
				       "%s: milter packet length %u is 0 or "
				       "over %d; closing",
				       peer, (unsigned)get32(buf + off),
				       MLT_PACKET_MAX);
				framing_lost = true;
				open = false;
				break;
			}
			off += used;
			h = dispatch(c, cmd, data, dlen);
			if (h == H_BAD) {
				char safe[240];

				pb_log(PB_LOG_WARN,
				       "%s: malformed or unexpected milter "
				       "packet: %s; closing",
				       peer,
				       pb_log_safe(c->why, strlen(c->why), safe,
						   sizeof(safe)));
				framing_lost = true;
				open = false;
			} else if (h == H_QUIT || h == H_IOERR) {
				open = false;
			}
		}
		if (flush(c) < 0)
			break;
		have -= off;
		memmove(buf, buf + off, have);
	}
	if (framing_lost)
		pb_close_gently(fd, fd);
done:
	if (c != NULL) {
		pb_dir_pool_put(pool, c->dir, false);
		free(c);
	}
	free(buf);
}
