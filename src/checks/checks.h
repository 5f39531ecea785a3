/*
 * checks - the environment every check sees, and the checks themselves.
 * A check reads facts from the pb_txn, asks services in pb_env, and knows
 * nothing of protocols.
 */
#ifndef PB_CHECKS_H
#define PB_CHECKS_H

#include <stdbool.h>

#include "core/addr.h"
#include "core/config.h"
#include "core/pipeline.h"
#include "directory/dir.h"

struct pb_signer;

/* One per MTA connection (thread).  The scratch part is reset by the
 * pipeline at the start of each decision. */
struct pb_env {
	const pb_config *cfg;
	pb_dir *dir;	       /* NULL when the directory cannot be opened */
	const char *dir_error; /* why dir is NULL */
	pb_addr_opts addr_opts;
	const struct pb_signer *signer; /* SRS/BATV keys and bounce rules */

	/* scratch for one decision.  rcpt_lookup is the recipient the
	 * directory is asked about: t->recipient, or the mailbox inside its
	 * signed form (set by the bounce check). */
	const char *rcpt_lookup;
	char unwrapped[PB_TXN_ADDR_MAX];
	/* a quarantine a check asked for, given unless a later check
	 * refuses */
	bool has_pending;
	pb_verdict pending;
	/* filled by the recipient check */
	bool rcpt_ok;
	pb_addr rcpt;
	bool sender_null;
	bool sender_ok; /* sender parsed */
	pb_addr sender;
	pb_dir_rcpt rinfo;
};

/* pb_env_init - bind config and directory handle (dir may be NULL). */
void pb_env_init(pb_env *env, const pb_config *cfg, pb_dir *dir,
		 const char *dir_error, const struct pb_signer *signer);

/* pb_check_backend_fault - the fail-safe verdict every check gives when
 * a service fails: 451 4.3.0 [backend-unavailable], or DUNNO when
 * on_error = dunno.  Notes the error in the trace. */
pb_step pb_check_backend_fault(pb_env *env, pb_verdict *v, pb_trace *tr,
			       const char *check, const char *error);

pb_step check_bounce(pb_env *env, pb_txn *t, pb_verdict *v, pb_trace *tr);
pb_step check_recipient(pb_env *env, pb_txn *t, pb_verdict *v, pb_trace *tr);
pb_step check_null_sender_to_list(pb_env *env, pb_txn *t, pb_verdict *v,
				  pb_trace *tr);
pb_step check_list_post(pb_env *env, pb_txn *t, pb_verdict *v, pb_trace *tr);
pb_step check_header_sender(pb_env *env, pb_txn *t, pb_verdict *v,
			    pb_trace *tr);

#endif
