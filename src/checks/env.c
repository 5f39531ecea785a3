/*
 * env - binding services to a pb_env.
 */
#include "checks/checks.h"

#include <string.h>

/* pb_env_init - bind config and directory handle (dir may be NULL). */
void pb_env_init(pb_env *env, const pb_config *cfg, pb_dir *dir,
		 const char *dir_error, const struct pb_signer *signer)
{
	/* Runs for every request: set the bindings and the flags that say
	 * the scratch addresses are empty, without clearing their buffers. */
	env->cfg = cfg;
	env->dir = dir;
	env->dir_error = dir_error;
	env->signer = signer;
	env->rcpt_lookup = NULL;
	env->addr_opts.delimiters =
	    cfg->recipient_delimiter != NULL ? cfg->recipient_delimiter : "";
	env->addr_opts.fold_local = !cfg->case_sensitive_local;
	env->rcpt_ok = env->sender_ok = env->sender_null = false;
}

/* pb_check_backend_fault - the directory failed: 451 4.3.0, or DUNNO
 * with on_error = dunno; never a 5xx. */
pb_step pb_check_backend_fault(pb_env *env, pb_verdict *v, pb_trace *tr,
			       const char *check, const char *error)
{
	bool open = env->cfg->on_error == PB_ON_ERROR_DUNNO;

	pb_trace_note(tr, check, "directory error: %s; on_error = %s", error,
		      open ? "dunno" : "tempfail");
	pb_verdict_backend(v, open, "directory");
	return PB_DECIDED;
}
