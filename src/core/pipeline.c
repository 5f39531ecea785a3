/*
 * pipeline - the order of checks, in one table.
 *
 * Read this table to know what pushback decides and in which order.  Each
 * stage runs its rows top to bottom; the first check that decides ends the
 * stage.  A stage with no decision answers DUNNO.
 */
#include "core/pipeline.h"

#include <stdarg.h>
#include <stdio.h>

#include "checks/checks.h"

static const pb_check pipeline[] = {
    /* RCPT: is a bounce genuine (signed return path)?  Is the recipient
     * ours, does it exist, may this sender post? */
    {PB_STAGE_RCPT, "bounce", check_bounce},
    {PB_STAGE_RCPT, "recipient", check_recipient},
    {PB_STAGE_RCPT, "null-sender-to-list", check_null_sender_to_list},
    {PB_STAGE_RCPT, "list-post", check_list_post},
    /* End of headers (milter), or DATA / END-OF-MESSAGE with the header
     * fields (policy, from Exim): may the author post to the list? */
    {PB_STAGE_DATA, "header-sender", check_header_sender},
    {PB_STAGE_EOH, "header-sender", check_header_sender},
    {PB_STAGE_EOM, "header-sender", check_header_sender},
};

/* pb_pipeline_table - the table, for tests and documentation. */
const pb_check *pb_pipeline_table(size_t *n)
{
	*n = sizeof(pipeline) / sizeof(pipeline[0]);
	return pipeline;
}

/* pb_trace_note - one step of the explanation; free when tr is NULL. */
void pb_trace_note(pb_trace *tr, const char *check, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	if (tr == NULL || tr->note == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	tr->note(tr->arg, check, msg);
}

/* pb_pipeline_decide - run stage's checks until one decides. */
void pb_pipeline_decide(pb_env *env, pb_txn *t, pb_stage stage, pb_verdict *v,
			pb_trace *tr)
{
	t->stage = stage;
	env->rcpt_ok = false;
	env->sender_ok = false;
	env->sender_null = false;
	env->rcpt_lookup = t->recipient;
	env->has_pending = false;
	for (size_t i = 0; i < sizeof(pipeline) / sizeof(pipeline[0]); i++) {
		const pb_check *c = &pipeline[i];

		if (c->stage != stage)
			continue;
		pb_verdict_dunno(v, NULL);
		if (c->fn(env, t, v, tr) == PB_DECIDED) {
			v->check = c->name;
			if (v->action == PB_DUNNO && env->has_pending)
				break;
			return;
		}
	}
	if (env->has_pending) {
		*v = env->pending;
		v->check = "bounce";
		pb_trace_note(tr, "pipeline",
			      "no check refused: QUARANTINE (%s)", v->reason);
		return;
	}
	pb_verdict_dunno(v, NULL);
	pb_trace_note(tr, "pipeline", "no check objected: DUNNO");
}
