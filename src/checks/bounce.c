/*
 * bounce - a bounce (null envelope sender) must come back to a return
 * address we signed.
 *
 * Mail we send carries a signed, dated envelope sender (BATV prvs for our
 * own users, SRS for what we forward), so every genuine bounce is
 * addressed to a signed address.  For protected addresses and domains
 * ([bounces] protect, and the SRS domain), in this order:
 *   - an address that never takes bounces (no-reply ...)   550 5.7.1
 *   - an unsigned address                                  550 5.7.1
 *   - a signature that does not verify                     550 5.7.1
 *   - a signature that has expired                         550 5.7.1
 *   - a second recipient of the same bounce                452 4.5.3
 * A valid signature passes, and the checks after this one look up the
 * mailbox inside it.  Each 550 rule may quarantine instead ([bounces]
 * quarantine): the message is accepted with an X-Pushback-Reason header,
 * unless a later check refuses it for another reason.
 *
 * Mail with a real sender is not judged here; only a prvs-signed
 * recipient is unwrapped, so the directory is asked about the mailbox.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "checks/checks.h"
#include "core/reasons.h"
#include "sign/signer.h"

/* refuse - 550 5.7.1, or a quarantine when the admin chose one. */
static pb_step refuse(pb_env *env, pb_verdict *v, pb_trace *tr, int q_bit,
		      const char *reason, const char *text)
{
	if (env->cfg->quarantine & q_bit) {
		pb_trace_note(tr, "bounce",
			      "[bounces] quarantine names %s: accept, with "
			      "an " PB_QUARANTINE_HEADER " header, unless a "
			      "later check refuses",
			      reason);
		pb_verdict_quarantine(&env->pending, reason, "%s", text);
		env->has_pending = true;
		return PB_CONTINUE;
	}
	pb_verdict_set(v, 550, "5.7.1", reason, "%s", text);
	return PB_DECIDED;
}

/* unwrap - look up the mailbox inside a prvs-signed recipient. */
static void unwrap(pb_env *env, pb_txn *t, pb_trace *tr)
{
	if (pb_signer_unwrap(t->recipient, env->unwrapped,
			     sizeof(env->unwrapped))) {
		env->rcpt_lookup = env->unwrapped;
		pb_trace_note(tr, "bounce",
			      "recipient is prvs-signed: the mailbox is <%s>",
			      env->unwrapped);
	}
}

/* check_bounce - the bounce rules, for the null sender only. */
pb_step check_bounce(pb_env *env, pb_txn *t, pb_verdict *v, pb_trace *tr)
{
	pb_bounce_info bi;

	if (t->sender[0] != '\0' || env->signer == NULL) {
		unwrap(env, t, tr);
		return PB_CONTINUE;
	}
	pb_signer_bounce(env->signer, t->recipient, time(NULL), &bi);
	if (bi.kind == PB_BOUNCE_UNPROTECTED) {
		pb_trace_note(tr, "bounce",
			      "null sender; <%s> is not a protected address "
			      "([bounces] protect): the bounce rules do not "
			      "apply",
			      t->recipient);
		unwrap(env, t, tr);
		return PB_CONTINUE;
	}
	if (pb_signer_no_bounces(env->signer, bi.inner)) {
		pb_trace_note(tr, "bounce",
			      "null sender to <%s>, which never takes bounces "
			      "([bounces] no_bounces)",
			      bi.inner);
		return refuse(env, v, tr, PB_Q_NO_BOUNCES, PB_R_NO_BOUNCES_HERE,
			      "this address sends only and takes no bounces");
	}
	switch (bi.kind) {
	case PB_BOUNCE_UNPROTECTED:
	case PB_BOUNCE_VALID:
		break;
	case PB_BOUNCE_UNSIGNED:
		pb_trace_note(tr, "bounce",
			      "null sender to <%s>: protected, and not a "
			      "signed return address, so we never sent the "
			      "message this bounce is about",
			      t->recipient);
		return refuse(env, v, tr, PB_Q_UNSIGNED, PB_R_UNSIGNED_BOUNCE,
			      "bounce to an address that sends only signed "
			      "mail: not our message");
	case PB_BOUNCE_BAD_SIGNATURE:
		pb_trace_note(tr, "bounce",
			      "null sender to <%s>: %s signature does not "
			      "verify (%s)",
			      t->recipient, bi.scheme,
			      pb_sign_err_name(bi.err));
		return refuse(env, v, tr, PB_Q_BAD_SIGNATURE,
			      PB_R_BAD_SIGNATURE,
			      "bounce to a return address we did not sign");
	case PB_BOUNCE_EXPIRED:
		pb_trace_note(tr, "bounce",
			      "null sender to <%s>: %s signature is valid "
			      "but older than max_age",
			      t->recipient, bi.scheme);
		return refuse(env, v, tr, PB_Q_EXPIRED, PB_R_EXPIRED_SIGNATURE,
			      "bounce to a return address that has expired");
	case PB_BOUNCE_NO_KEY:
		pb_trace_note(tr, "bounce",
			      "null sender to <%s>: %s-signed, but no %s key "
			      "is configured; deferring",
			      t->recipient, bi.scheme, bi.scheme);
		pb_verdict_set(v, 451, "4.3.5", PB_R_BACKEND_UNAVAILABLE,
			       "signing keys not configured, try again later");
		return PB_DECIDED;
	}
	/* Counted by us on this connection (Postfix: one per smtpd), or
	 * by the MTA (Exim asks on a new connection for each recipient and
	 * sends recipient_count; Postfix sends 0 at RCPT). */
	if (t->memo.null_rcpts > 0 || t->rcpt_count > 0) {
		pb_trace_note(tr, "bounce",
			      "null sender: this transaction already has %u "
			      "recipient(s), and a bounce has one",
			      t->memo.null_rcpts > t->rcpt_count
				  ? t->memo.null_rcpts
				  : t->rcpt_count);
		pb_verdict_set(v, 452, "4.5.3", PB_R_ONE_RCPT_PER_BOUNCE,
			       "one recipient per bounce; your server will "
			       "send the rest separately");
		return PB_DECIDED;
	}
	pb_trace_note(tr, "bounce",
		      "null sender to <%s>: valid %s signature; the mailbox "
		      "is <%s>",
		      t->recipient, bi.scheme, bi.inner);
	if (strcmp(bi.scheme, "prvs") == 0 &&
	    strlen(bi.inner) < sizeof(env->unwrapped)) {
		memcpy(env->unwrapped, bi.inner, strlen(bi.inner) + 1);
		env->rcpt_lookup = env->unwrapped;
	}
	return PB_CONTINUE;
}
