/*
 * verdict - one type for every answer, and the one function that renders
 * it into an SMTP reply.
 *
 * pb_verdict_render validates the code (4xx/5xx, enhanced code class equal
 * to the reply class), makes the text printable and bounded, applies the
 * global soft_bounce and shadow switches and logs the decision.  Every
 * frontend encodes the resulting pb_reply in its own protocol; none builds
 * an SMTP reply by itself.
 */
#ifndef PB_VERDICT_H
#define PB_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/txn.h"

/* SMTP reply lines are at most 512 octets including CRLF (RFC 5321
 * 4.5.3.1.5): code, space and text fit in 510. */
#define PB_REPLY_MAX 510
#define PB_TEXT_MAX 480

typedef enum pb_action {
	PB_DUNNO = 0,  /* no opinion: let the MTA go on */
	PB_ACCEPT,     /* no objection (never rendered as Postfix OK) */
	PB_TEMPFAIL,   /* 4xx: not now */
	PB_REJECT,     /* 5xx: never */
	PB_QUARANTINE, /* accept, marked: text is the X-Pushback-Reason value */
} pb_action;

typedef struct pb_verdict {
	pb_action action;
	int code;     /* 0 for DUNNO/ACCEPT, else 4xx/5xx */
	char enh[16]; /* "5.1.1" */
	char text[PB_TEXT_MAX + 1];
	const char *reason; /* a token from reasons.h; static storage */
	const char *check;  /* name of the check that decided; static */
} pb_verdict;

/* pb_verdict_dunno - no opinion, with a reason token (may be ""). */
void pb_verdict_dunno(pb_verdict *v, const char *reason);

/* pb_verdict_set - a TEMPFAIL or REJECT with code, enhanced code, reason
 * and printf-style text.  The action follows from the code's class. */
void pb_verdict_set(pb_verdict *v, int code, const char *enh,
		    const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* pb_verdict_quarantine - accept but mark the message: a check that
 * would refuse, where the admin chose a soft roll-out.  The header
 * "X-Pushback-Reason: REASON (TEXT)" is added. */
void pb_verdict_quarantine(pb_verdict *v, const char *reason, const char *fmt,
			   ...) __attribute__((format(printf, 3, 4)));

#define PB_QUARANTINE_HEADER "X-Pushback-Reason"

/* pb_verdict_backend - the fail-safe answer for a fault of ours or of a
 * backend: 451 4.3.0 [backend-unavailable], or DUNNO when fail_open. */
void pb_verdict_backend(pb_verdict *v, bool fail_open, const char *what);

typedef struct pb_render_opts {
	bool soft_bounce;
	bool shadow;
	bool log; /* write the decision line (the daemon does) */
} pb_render_opts;

typedef struct pb_reply {
	pb_action action; /* after soft_bounce/shadow */
	int code;	  /* 0 for DUNNO; in shadow mode, the code not sent */
	char enh[16];
	char text[PB_TEXT_MAX + 1];
	/* "550 5.1.1 text", "DUNNO" or "PREPEND X-Pushback-Reason: ...":
	 * what a policy frontend puts after "action=".  For a quarantine,
	 * text holds the header's value. */
	char line[PB_REPLY_MAX + 1];
	bool shadowed; /* shadow mode turned a refusal into DUNNO */
} pb_reply;

/* pb_verdict_render - the one place a verdict becomes an SMTP reply.
 * An invalid verdict (bad code, class mismatch) is logged as our fault and
 * rendered as 451 4.3.0 (never 5xx).  elapsed_us is logged. */
void pb_verdict_render(const pb_verdict *v, const pb_render_opts *opts,
		       const pb_txn *t, long elapsed_us, pb_reply *out);

const char *pb_action_name(pb_action a);

#endif
