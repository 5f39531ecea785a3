/*
 * recipient - is the recipient ours, and does it exist?
 *
 * Looks the recipient up in the directory once and leaves what it found in
 * env->rinfo for the list checks after it.  A recipient whose domain is
 * not protected ends the stage with DUNNO: pushback has no opinion on mail
 * that is not for its applications.
 */
#include <stdio.h>
#include <string.h>

#include "checks/checks.h"
#include "core/reasons.h"

/* domain_only - for an address whose local part does not parse, a probe
 * holding just its domain (after the last '@'), with a key no stored
 * address can have.  Returns false when there is no valid domain. */
static bool domain_only(const char *addr, pb_addr *probe)
{
	const char *at = strrchr(addr, '@');
	int n;

	memset(probe, 0, sizeof(*probe));
	if (at == NULL ||
	    pb_domain_normalise(at + 1, strlen(at + 1), probe->domain,
				sizeof(probe->domain)) < 0)
		return false;
	n = snprintf(probe->full, sizeof(probe->full), "@%s", probe->domain);
	if (n < 0 || (size_t)n >= sizeof(probe->full))
		return false;
	memcpy(probe->key, probe->full, (size_t)n + 1);
	return true;
}

/* unparsed - a local part that does not parse can be no recipient or
 * list of ours: in a protected domain it is unknown (else the application
 * behind us would bounce it later); a catch-all domain takes it. */
static pb_step unparsed(pb_env *env, const char *rcpt, pb_verdict *v,
			pb_trace *tr, pb_addr_err err)
{
	if (!env->rinfo.protected_domain ||
	    env->rinfo.kind == PB_RCPT_CATCHALL) {
		pb_trace_note(tr, "recipient",
			      "recipient <%s> does not parse (%s); domain %s "
			      "is %s: no opinion",
			      rcpt, pb_addr_strerror(err), env->rcpt.domain,
			      env->rinfo.protected_domain ? "catch-all"
							  : "not protected");
		pb_verdict_dunno(v, PB_R_BAD_ADDRESS);
		return PB_DECIDED;
	}
	pb_trace_note(tr, "recipient",
		      "recipient <%s> does not parse (%s) in protected "
		      "domain %s: no such recipient",
		      rcpt, pb_addr_strerror(err), env->rcpt.domain);
	pb_verdict_set(v, 550, "5.1.1", PB_R_UNKNOWN_RECIPIENT,
		       "unknown recipient");
	return PB_DECIDED;
}

/* check_recipient - unknown recipients in protected domains: 550 5.1.1. */
pb_step check_recipient(pb_env *env, pb_txn *t, pb_verdict *v, pb_trace *tr)
{
	const char *error = NULL;
	pb_addr_err err;

	const char *rcpt =
	    env->rcpt_lookup != NULL ? env->rcpt_lookup : t->recipient;

	err = pb_addr_parse(rcpt, strlen(rcpt), &env->addr_opts, &env->rcpt);
	if (err != PB_ADDR_OK && !domain_only(rcpt, &env->rcpt)) {
		/* No domain we could protect: not ours to judge. */
		pb_trace_note(tr, "recipient",
			      "recipient <%s> does not parse (%s) and has no "
			      "valid domain: no opinion",
			      rcpt, pb_addr_strerror(err));
		pb_verdict_dunno(v, PB_R_BAD_ADDRESS);
		return PB_DECIDED;
	}
	if (env->dir == NULL)
		return pb_check_backend_fault(env, v, tr, "recipient",
					      env->dir_error ? env->dir_error
							     : "not open");
	if (pb_dir_lookup_rcpt(env->dir, &env->rcpt, &env->rinfo, &error) < 0)
		return pb_check_backend_fault(env, v, tr, "recipient", error);
	if (err != PB_ADDR_OK)
		return unparsed(env, rcpt, v, tr, err);
	env->rcpt_ok = true;
	if (!env->rinfo.protected_domain) {
		pb_trace_note(tr, "recipient",
			      "domain %s is not protected: no opinion",
			      env->rcpt.domain);
		pb_verdict_dunno(v, PB_R_NOT_PROTECTED);
		return PB_DECIDED;
	}
	switch (env->rinfo.kind) {
	case PB_RCPT_UNKNOWN:
		pb_trace_note(tr, "recipient",
			      "no recipient, list or catch-all matches %s "
			      "in protected domain %s",
			      env->rcpt.full, env->rcpt.domain);
		pb_verdict_set(v, 550, "5.1.1", PB_R_UNKNOWN_RECIPIENT,
			       "unknown recipient");
		return PB_DECIDED;
	case PB_RCPT_ADDRESS:
		pb_trace_note(tr, "recipient", "%s is a known recipient",
			      env->rcpt.full);
		break;
	case PB_RCPT_CATCHALL:
		pb_trace_note(tr, "recipient",
			      "domain %s is catch-all: every address exists",
			      env->rcpt.domain);
		break;
	case PB_RCPT_LIST:
		pb_trace_note(tr, "recipient",
			      "%s is the posting address of list %s (policy "
			      "%s, owner %s)",
			      env->rcpt.full, env->rinfo.list,
			      pb_list_policy_name(env->rinfo.policy),
			      env->rinfo.owner);
		break;
	case PB_RCPT_LIST_COMPANION:
		pb_trace_note(tr, "recipient",
			      "%s is the -%s address of list %s: open to all",
			      env->rcpt.full, env->rinfo.companion,
			      env->rinfo.list);
		break;
	}
	return PB_CONTINUE;
}
