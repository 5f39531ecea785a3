/*
 * pipeline - runs the checks of one stage in their fixed order; the table
 * in pipeline.c is the whole order, read it there.
 *
 * A check returns PB_CONTINUE (no decision, go on) or PB_DECIDED (the
 * verdict it filled is the answer; later checks do not run).  When every
 * check continues the answer is DUNNO.
 */
#ifndef PB_PIPELINE_H
#define PB_PIPELINE_H

#include "core/txn.h"
#include "core/verdict.h"

typedef struct pb_env pb_env; /* services and scratch: checks/checks.h */

typedef enum pb_step {
	PB_CONTINUE = 0,
	PB_DECIDED = 1,
} pb_step;

/* A trace receives one note per step taken, for `pushback check`.  The
 * daemon passes NULL and pays nothing. */
typedef struct pb_trace {
	void (*note)(void *arg, const char *check, const char *msg);
	void *arg;
} pb_trace;

void pb_trace_note(pb_trace *tr, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef pb_step (*pb_check_fn)(pb_env *env, pb_txn *t, pb_verdict *v,
			       pb_trace *tr);

typedef struct pb_check {
	pb_stage stage;
	const char *name;
	pb_check_fn fn;
} pb_check;

/* pb_pipeline_decide - run the checks for stage; always fills *v. */
void pb_pipeline_decide(pb_env *env, pb_txn *t, pb_stage stage, pb_verdict *v,
			pb_trace *tr);

/* pb_pipeline_table - the table itself, for documentation and tests. */
const pb_check *pb_pipeline_table(size_t *n);

#endif
