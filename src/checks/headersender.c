/*
 * headersender - may the message's author post to the list it is for?
 * Decided once the headers are known (end of headers in the milter, a
 * DATA-stage policy request from Exim), for lists whose check_sender is
 * 'any' or 'headers'.
 *
 * The poster is permitted when one of these is a member (or an allowed
 * poster; only an allowed poster for a closed list): the envelope sender
 * (with 'any'), or any address in From:, Reply-To: or Sender:.  This is
 * Mailman 3's rule, so what pushback accepts is what the list would
 * accept, and what it refuses the list would have bounced later.
 * A header that does not parse yields no address; it never fails the
 * check by itself.
 */
#include <stdio.h>
#include <string.h>

#include "checks/checks.h"
#include "core/hdraddr.h"
#include "core/reasons.h"

#define HDR_ADDRS_MAX 16 /* addresses read from each header field */

/* permitted - addr may post to the list in env->rinfo: 1 yes, 0 no,
 * -1 backend fault (*error_r set). */
static int permitted(pb_env *env, const char *addr, const char **error_r)
{
	int st;

	if (pb_addr_parse(addr, strlen(addr), &env->addr_opts, &env->sender) !=
	    PB_ADDR_OK)
		return 0;
	st = pb_dir_may_post(env->dir, env->rinfo.list_id, &env->sender,
			     error_r);
	if (st < 0)
		return -1;
	if (env->rinfo.policy == PB_POLICY_CLOSED)
		return st == PB_POSTER_ALLOWED;
	return st != PB_POSTER_NONE;
}

/* header_permitted - some address of one header field may post: 1, 0,
 * or -1 on a backend fault. */
static int header_permitted(pb_env *env, pb_trace *tr, const char *field,
			    const char *body, const char **error_r)
{
	pb_hdr_addr addrs[HDR_ADDRS_MAX];
	size_t n;

	if (body[0] == '\0')
		return 0;
	n = pb_hdr_addresses(body, strlen(body), addrs, HDR_ADDRS_MAX);
	if (n == 0)
		pb_trace_note(tr, "header-sender",
			      "%s: holds no address that parses", field);
	for (size_t i = 0; i < n; i++) {
		int r = permitted(env, addrs[i].addr, error_r);

		if (r != 0) {
			if (r > 0)
				pb_trace_note(tr, "header-sender",
					      "%s: <%s> may post to %s", field,
					      addrs[i].addr, env->rinfo.list);
			return r;
		}
	}
	return 0;
}

/* judge_list - the list in env->rinfo, for this message. */
static pb_step judge_list(pb_env *env, pb_txn *t, pb_verdict *v, pb_trace *tr)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
	    {"From", offsetof(pb_txn, hdr_from)},
	    {"Reply-To", offsetof(pb_txn, hdr_reply_to)},
	    {"Sender", offsetof(pb_txn, hdr_sender)},
	};
	const char *error = NULL;
	int r;

	if (env->rinfo.check_sender == PB_CHECK_ANY && t->sender[0] != '\0') {
		r = permitted(env, t->sender, &error);
		if (r < 0)
			return pb_check_backend_fault(env, v, tr,
						      "header-sender", error);
		if (r > 0) {
			pb_trace_note(tr, "header-sender",
				      "the envelope sender <%s> may post to %s",
				      t->sender, env->rinfo.list);
			return PB_CONTINUE;
		}
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		r = header_permitted(env, tr, fields[i].name,
				     (const char *)t + fields[i].off, &error);
		if (r < 0)
			return pb_check_backend_fault(env, v, tr,
						      "header-sender", error);
		if (r > 0)
			return PB_CONTINUE;
	}
	pb_trace_note(
	    tr, "header-sender",
	    "list %s (check_sender %s): neither %sFrom: <%s>, "
	    "Reply-To: <%s> nor Sender: <%s> may post",
	    env->rinfo.list, pb_check_sender_name(env->rinfo.check_sender),
	    env->rinfo.check_sender == PB_CHECK_ANY ? "the envelope sender, "
						    : "",
	    t->hdr_from, t->hdr_reply_to, t->hdr_sender);
	pb_verdict_set(v, 550, "5.7.1", PB_R_SENDER_NOT_PERMITTED,
		       "you are not permitted to post to %s; contact %s",
		       env->rinfo.list, env->rinfo.owner);
	return PB_DECIDED;
}

/* check_header_sender - every list recipient of the message whose
 * posters are judged by the headers. */
pb_step check_header_sender(pb_env *env, pb_txn *t, pb_verdict *v, pb_trace *tr)
{
	const char *error = NULL;

	if (t->stage != PB_STAGE_EOH && !t->headers_seen) {
		pb_trace_note(tr, "header-sender",
			      "no header fields in this request: nothing to "
			      "judge");
		return PB_CONTINUE;
	}
	if (t->n_rcpts == 0)
		pb_trace_note(tr, "header-sender", "no recipients to judge");
	for (unsigned i = 0; i < t->n_rcpts; i++) {
		pb_step step;

		if (pb_addr_parse(t->rcpts[i], strlen(t->rcpts[i]),
				  &env->addr_opts, &env->rcpt) != PB_ADDR_OK)
			continue;
		if (env->dir == NULL)
			return pb_check_backend_fault(
			    env, v, tr, "header-sender",
			    env->dir_error ? env->dir_error : "not open");
		if (pb_dir_lookup_rcpt(env->dir, &env->rcpt, &env->rinfo,
				       &error) < 0)
			return pb_check_backend_fault(env, v, tr,
						      "header-sender", error);
		if (!env->rinfo.protected_domain ||
		    env->rinfo.kind != PB_RCPT_LIST ||
		    (env->rinfo.policy != PB_POLICY_MEMBERS &&
		     env->rinfo.policy != PB_POLICY_CLOSED))
			continue;
		if (env->rinfo.check_sender == PB_CHECK_ENVELOPE) {
			pb_trace_note(tr, "header-sender",
				      "list %s judges the envelope sender "
				      "only (decided at RCPT)",
				      env->rinfo.list);
			continue;
		}
		step = judge_list(env, t, v, tr);
		if (step == PB_DECIDED)
			return step;
	}
	return PB_CONTINUE;
}
