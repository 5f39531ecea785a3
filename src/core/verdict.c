/*
 * verdict - building verdicts, and pb_verdict_render: the one place a
 * verdict becomes an SMTP reply and a log line.
 *
 * Rules enforced here, whatever a check asked for:
 *   - a refusal has a 4xx or 5xx code and an enhanced code of the same
 *     class (RFC 3463: "4.x.x" with 4yz, "5.x.x" with 5yz); anything else
 *     is our bug and becomes 451 4.3.0, never a 5xx;
 *   - the text is printable US-ASCII, and code + text fit in 510 octets;
 *   - soft_bounce turns 5xx into 4xx (both codes), shadow answers DUNNO
 *     and logs what would have been said.
 * Threading: pure apart from the log line.
 */
#include "core/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/reasons.h"

/* pb_action_name - "DUNNO", "REJECT", ... */
const char *pb_action_name(pb_action a)
{
	switch (a) {
	case PB_DUNNO:
		return "DUNNO";
	case PB_ACCEPT:
		return "ACCEPT";
	case PB_TEMPFAIL:
		return "TEMPFAIL";
	case PB_REJECT:
		return "REJECT";
	case PB_QUARANTINE:
		return "QUARANTINE";
	}
	return "?";
}

/* pb_verdict_dunno - no opinion. */
void pb_verdict_dunno(pb_verdict *v, const char *reason)
{
	memset(v, 0, sizeof(*v));
	v->action = PB_DUNNO;
	v->reason = reason != NULL ? reason : PB_R_NONE;
}

/* pb_verdict_set - a refusal with code, enhanced code and text. */
void pb_verdict_set(pb_verdict *v, int code, const char *enh,
		    const char *reason, const char *fmt, ...)
{
	va_list ap;
	int n;

	memset(v, 0, sizeof(*v));
	v->action = code >= 500 ? PB_REJECT : PB_TEMPFAIL;
	v->code = code;
	snprintf(v->enh, sizeof(v->enh), "%s", enh);
	v->reason = reason;
	va_start(ap, fmt);
	n = vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
	if (n < 0)
		v->text[0] = '\0';
}

/* pb_verdict_quarantine - accept, marked with a header. */
void pb_verdict_quarantine(pb_verdict *v, const char *reason, const char *fmt,
			   ...)
{
	size_t n;
	va_list ap;
	int k;

	memset(v, 0, sizeof(*v));
	v->action = PB_QUARANTINE;
	v->reason = reason;
	/* "reason (why)", cut to fit */
	k = snprintf(v->text, sizeof(v->text) - 1, "%s (", reason);
	n = k < 0			       ? 0
	    : (size_t)k >= sizeof(v->text) - 1 ? sizeof(v->text) - 2
					       : (size_t)k;
	va_start(ap, fmt);
	k = vsnprintf(v->text + n, sizeof(v->text) - 1 - n, fmt, ap);
	va_end(ap);
	n += k < 0				    ? 0
	     : (size_t)k >= sizeof(v->text) - 1 - n ? sizeof(v->text) - 2 - n
						    : (size_t)k;
	v->text[n] = ')';
	v->text[n + 1] = '\0';
}

/* pb_verdict_backend - our fault or a backend's: never a 5xx. */
void pb_verdict_backend(pb_verdict *v, bool fail_open, const char *what)
{
	if (fail_open) {
		pb_verdict_dunno(v, PB_R_BACKEND_UNAVAILABLE);
		return;
	}
	pb_verdict_set(v, 451, "4.3.0", PB_R_BACKEND_UNAVAILABLE,
		       "%s unavailable, try again later", what);
}

/* enh_valid - "C.SSS.DDD" with C the reply class (RFC 3463 grammar:
 * subject 1-3 digits, detail 1-3 digits). */
static bool enh_valid(const char *enh, int code)
{
	const char *p = enh;
	int digits;

	if (p[0] != '0' + code / 100 || p[1] != '.')
		return false;
	p += 2;
	for (int part = 0; part < 2; part++) {
		for (digits = 0; *p >= '0' && *p <= '9'; p++)
			digits++;
		if (digits < 1 || digits > 3)
			return false;
		if (part == 0 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

/* clean_text - printable ASCII only, bounded. */
static void clean_text(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; in[i] != '\0' && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)in[i];

		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
}

/* log_decision - the one line per decision.  In shadow mode the line
 * says what would have been answered. */
static void log_decision(const pb_reply *r, pb_action would,
			 const pb_verdict *v, const pb_txn *t, long elapsed_us)
{
	char sender[128], rcpt[128], client[80], id[80], qid[40];

	if (!pb_log_enabled(PB_LOG_INFO))
		return;
	pb_log_safe(t->id, strlen(t->id), id, sizeof(id));
	pb_log_safe(t->queue_id, strlen(t->queue_id), qid, sizeof(qid));
	pb_log_safe(t->client_address, strlen(t->client_address), client,
		    sizeof(client));
	pb_log_safe(t->sender, strlen(t->sender), sender, sizeof(sender));
	pb_log_safe(t->recipient, strlen(t->recipient), rcpt, sizeof(rcpt));
	pb_log(PB_LOG_INFO,
	       "id=%s queue_id=%s client=%s sender=<%s> recipient=<%s> "
	       "stage=%s action=%s%s%s code=%d enh=%s reason=%s check=%s "
	       "us=%ld",
	       id[0] ? id : "-", qid[0] ? qid : "-", client[0] ? client : "-",
	       sender, rcpt, pb_stage_name(t->stage), pb_action_name(r->action),
	       r->shadowed ? " shadow=would " : "",
	       r->shadowed ? pb_action_name(would) : "", r->code,
	       r->enh[0] ? r->enh : "-",
	       v->reason != NULL && v->reason[0] ? v->reason : "-",
	       v->check != NULL ? v->check : "-", elapsed_us);
}

/* pb_verdict_render - validate, apply switches, encode, log. */
void pb_verdict_render(const pb_verdict *v, const pb_render_opts *opts,
		       const pb_txn *t, long elapsed_us, pb_reply *out)
{
	pb_verdict fixed;
	pb_action would = PB_DUNNO;
	int n;

	memset(out, 0, sizeof(*out));
	if (v->action == PB_TEMPFAIL || v->action == PB_REJECT) {
		int class = v->action == PB_REJECT ? 5 : 4;

		if (v->code / 100 != class || !enh_valid(v->enh, v->code)) {
			pb_log(PB_LOG_ERROR,
			       "internal: invalid verdict code=%d enh=%s from "
			       "check %s; answering 451 4.3.0",
			       v->code, v->enh, v->check ? v->check : "-");
			pb_verdict_backend(&fixed, false, "policy service");
			fixed.check = v->check;
			v = &fixed;
		}
		out->action = v->action;
		out->code = v->code;
		memcpy(out->enh, v->enh, sizeof(out->enh));
		clean_text(v->text, out->text, sizeof(out->text));
		if (opts->soft_bounce && out->action == PB_REJECT) {
			out->action = PB_TEMPFAIL;
			out->code -= 100;
			out->enh[0] = '4';
		}
		would = out->action;
		if (opts->shadow) {
			out->shadowed = true;
			out->action = PB_DUNNO;
		}
	} else if (v->action == PB_QUARANTINE) {
		out->action = PB_QUARANTINE;
		clean_text(v->text, out->text, sizeof(out->text));
		would = out->action;
		if (opts->shadow) {
			out->shadowed = true;
			out->action = PB_DUNNO;
		}
	} else {
		out->action = PB_DUNNO;
	}
	if (out->action == PB_DUNNO) {
		memcpy(out->line, "DUNNO", sizeof("DUNNO"));
	} else if (out->action == PB_QUARANTINE) {
		snprintf(out->line, sizeof(out->line),
			 "PREPEND " PB_QUARANTINE_HEADER ": %s", out->text);
	} else {
		n = snprintf(out->line, sizeof(out->line), "%d %s%s%s",
			     out->code, out->enh, out->text[0] ? " " : "",
			     out->text);
		if (n < 0)
			memcpy(out->line, "451 4.3.0 internal error",
			       sizeof("451 4.3.0 internal error"));
		/* snprintf truncation keeps the line within 510 octets */
	}
	if (opts->log)
		log_decision(out, would, v, t, elapsed_us);
}
