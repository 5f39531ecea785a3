/*
 * listpost - who may post to a list, decided from the envelope sender at
 * RCPT time, or handed on to the end of the headers.
 *
 * A list's check_sender says who counts as the poster: 'envelope' is
 * decided here; with 'any' (Mailman's rule) a permitted envelope sender
 * passes here and any other waits for From:, Reply-To: and Sender: at end
 * of headers (check header-sender); with 'headers' every post waits.  An
 * SMTP server answers once for all recipients after DATA, so a transaction
 * holds at most one list whose answer waits: a second one gets 452 4.5.3
 * and the sending server sends it in a transaction of its own.
 *
 * Only a list's posting address is judged here; its companion addresses
 * (-owner, -request, -bounces ...) are open to everyone, as in Mailman.
 * Texts name the list and its owner so an honest sender knows whom to ask.
 */
#include <stdio.h>
#include <string.h>

#include "checks/checks.h"
#include "core/reasons.h"

/* is_list_post - the recipient is a list's posting address. */
static bool is_list_post(const pb_env *env)
{
	return env->rcpt_ok && env->rinfo.protected_domain &&
	       env->rinfo.kind == PB_RCPT_LIST;
}

/* check_null_sender_to_list - bounces never go to a posting address. */
pb_step check_null_sender_to_list(pb_env *env, pb_txn *t, pb_verdict *v,
				  pb_trace *tr)
{
	if (!is_list_post(env))
		return PB_CONTINUE;
	if (t->sender[0] != '\0') {
		pb_trace_note(tr, "null-sender-to-list",
			      "sender is not null: go on");
		return PB_CONTINUE;
	}
	pb_trace_note(tr, "null-sender-to-list",
		      "null sender (a bounce or auto-reply) to the posting "
		      "address of %s",
		      env->rinfo.list);
	pb_verdict_set(v, 550, "5.7.1", PB_R_NULL_SENDER_TO_LIST,
		       "the list %s takes no mail from the null sender",
		       env->rinfo.list);
	return PB_DECIDED;
}

/* poster_status - member / allowed / none, or -1 on a backend fault. */
static int poster_status(pb_env *env, pb_txn *t, pb_trace *tr,
			 const char **error_r)
{
	pb_addr_err err;

	err = pb_addr_parse(t->sender, strlen(t->sender), &env->addr_opts,
			    &env->sender);
	if (err != PB_ADDR_OK) {
		pb_trace_note(tr, "list-post",
			      "sender <%s> does not parse (%s): not a member",
			      t->sender, pb_addr_strerror(err));
		return PB_POSTER_NONE;
	}
	env->sender_ok = true;
	return pb_dir_may_post(env->dir, env->rinfo.list_id, &env->sender,
			       error_r);
}

/* defer - the answer for this list waits for the headers; one such list
 * per transaction. */
static pb_step defer(pb_env *env, pb_txn *t, pb_verdict *v, pb_trace *tr,
		     const char *why)
{
	const char *list = env->rinfo.list;

	if (t->memo.data_list[0] != '\0' &&
	    strcmp(t->memo.data_list, list) != 0) {
		pb_trace_note(tr, "list-post",
			      "%s; but this transaction already waits for the "
			      "headers for %s, and after DATA one answer "
			      "serves all recipients",
			      why, t->memo.data_list);
		pb_verdict_set(v, 452, "4.5.3", PB_R_ONE_LIST_PER_TXN,
			       "one list per transaction; your server will "
			       "send the rest separately");
		return PB_DECIDED;
	}
	pb_trace_note(tr, "list-post",
		      "%s: decided at end of headers from From:, Reply-To: "
		      "and Sender: (check_sender %s)",
		      why, pb_check_sender_name(env->rinfo.check_sender));
	snprintf(t->memo.data_list, sizeof(t->memo.data_list), "%s", list);
	return PB_CONTINUE;
}

/* check_list_post - members-only and closed lists. */
pb_step check_list_post(pb_env *env, pb_txn *t, pb_verdict *v, pb_trace *tr)
{
	const char *error = NULL;
	const char *list = env->rinfo.list, *owner = env->rinfo.owner;
	int st;

	if (!is_list_post(env))
		return PB_CONTINUE;
	switch (env->rinfo.policy) {
	case PB_POLICY_OPEN:
		pb_trace_note(tr, "list-post", "list %s is open: anyone posts",
			      list);
		return PB_CONTINUE;
	case PB_POLICY_MODERATED:
		/* Moderation (holding the message) comes with the moderation
		 * queue; until then a moderated list gets no refusal. */
		pb_trace_note(tr, "list-post",
			      "list %s is moderated: no refusal at RCPT", list);
		return PB_CONTINUE;
	case PB_POLICY_MEMBERS:
	case PB_POLICY_CLOSED:
		break;
	}
	if (env->rinfo.check_sender == PB_CHECK_HEADERS)
		return defer(env, t, v, tr,
			     "the list judges the header senders only");
	st = poster_status(env, t, tr, &error);
	if (st < 0)
		return pb_check_backend_fault(env, v, tr, "list-post", error);
	if (st == PB_POSTER_ALLOWED) {
		pb_trace_note(tr, "list-post", "%s is an allowed poster of %s",
			      t->sender, list);
		return PB_CONTINUE;
	}
	if (env->rinfo.check_sender == PB_CHECK_ANY &&
	    (env->rinfo.policy == PB_POLICY_CLOSED || st != PB_POSTER_MEMBER))
		return defer(env, t, v, tr,
			     env->rinfo.policy == PB_POLICY_CLOSED
				 ? "the envelope sender is not an allowed "
				   "poster"
				 : "the envelope sender is neither member nor "
				   "allowed poster");
	if (env->rinfo.policy == PB_POLICY_CLOSED) {
		pb_trace_note(tr, "list-post",
			      "list %s is closed and <%s> is not an allowed "
			      "poster",
			      list, t->sender);
		pb_verdict_set(v, 550, "5.7.1", PB_R_LIST_CLOSED,
			       "%s is closed to posts; contact %s", list,
			       owner);
		return PB_DECIDED;
	}
	if (st == PB_POSTER_MEMBER) {
		pb_trace_note(tr, "list-post", "%s is a member of %s",
			      t->sender, list);
		return PB_CONTINUE;
	}
	pb_trace_note(tr, "list-post",
		      "list %s takes posts from members and allowed posters; "
		      "<%s> is neither",
		      list, t->sender);
	pb_verdict_set(v, 550, "5.7.1", PB_R_SENDER_NOT_PERMITTED,
		       "you are not permitted to post to %s; contact %s", list,
		       owner);
	return PB_DECIDED;
}
