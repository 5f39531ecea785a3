/*
 * cli_check - `pushback check`: run one request through the same pipeline
 * and renderer the daemon uses, print the action line exactly as pushbackd
 * would send it, then every step taken and why.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/checks.h"
#include "cmd/cli.h"
#include "core/pipeline.h"
#include "core/verdict.h"
#include "directory/dir.h"
#include "sign/signer.h"

#define CHECK_MAX_RCPTS 64

/* check_usage - to out, returns code. */
static int check_usage(FILE *out, int code)
{
	fprintf(out,
		"usage: pushback check --sender S --recipient R "
		"[--recipient R2 ...] [--client-address IP] [--helo NAME]\n"
		"                      [--from-header TEXT] "
		"[--reply-to-header TEXT] [--sender-header TEXT]\n"
		"  --sender ''  is the null sender (a bounce)\n"
		"Prints the action pushbackd would answer, then each step.\n"
		"Several --recipient are one transaction, decided in order.\n"
		"With a header option, the end of headers is decided too, for\n"
		"the recipients that were not refused.\n");
	return code;
}

typedef struct step_sink {
	FILE *out;
	int n;
} step_sink;

/* print_step - a trace sink writing "  N. check: message". */
static void print_step(void *arg, const char *check, const char *msg)
{
	step_sink *sink = arg;

	fprintf(sink->out, "  %d. %s: %s\n", ++sink->n, check, msg);
}

/* set_fact - store an argument into a txn field, or complain. */
static int set_fact(char *field, size_t cap, const char *what,
		    const char *value)
{
	if (pb_txn_set(field, cap, value, strlen(value)) < 0) {
		fprintf(stderr, "pushback check: %s is too long\n", what);
		return -1;
	}
	return 0;
}

/* explain - decide t at stage and print the action line, the steps and
 * the verdict. */
static int explain(pb_env *env, pb_txn *t, pb_stage stage,
		   const pb_render_opts *ropts, step_sink *sink, pb_trace *tr,
		   pb_verdict *v, pb_reply *r)
{
	char *steps_text = NULL;
	size_t steps_len = 0;

	/* The action line comes first, so the steps are gathered in memory
	 * and printed after it. */
	sink->n = 0;
	sink->out = open_memstream(&steps_text, &steps_len);
	if (sink->out == NULL) {
		fprintf(stderr, "pushback check: out of memory\n");
		return -1;
	}
	tr->note = print_step;
	tr->arg = sink;
	pb_pipeline_decide(env, t, stage, v, tr);
	fclose(sink->out);
	pb_verdict_render(v, ropts, t, 0, r);
	printf("action=%s\n", r->line);
	if (stage == PB_STAGE_RCPT)
		printf("stage RCPT: sender=<%s> recipient=<%s>\n", t->sender,
		       t->recipient);
	else
		printf("stage %s: sender=<%s> recipients=%u From: %s "
		       "Reply-To: %s Sender: %s\n",
		       pb_stage_name(stage), t->sender, t->n_rcpts,
		       t->hdr_from[0] ? t->hdr_from : "-",
		       t->hdr_reply_to[0] ? t->hdr_reply_to : "-",
		       t->hdr_sender[0] ? t->hdr_sender : "-");
	fputs(steps_text, stdout);
	free(steps_text);
	printf("verdict: %s", pb_action_name(v->action));
	if (v->code != 0)
		printf(" %d %s", v->code, v->enh);
	printf(" [%s]%s%s\n", v->reason && v->reason[0] ? v->reason : "-",
	       v->check ? " by " : "", v->check ? v->check : "");
	if (r->shadowed)
		printf("shadow mode: the daemon would log this and answer "
		       "DUNNO\n");
	else if (ropts->soft_bounce && v->action == PB_REJECT)
		printf("soft_bounce: the 5xx is sent as a 4xx\n");
	return 0;
}

/* cli_check - explain RCPT decisions. */
int cli_check(const pb_config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"sender", required_argument, NULL, 's'},
	    {"recipient", required_argument, NULL, 'r'},
	    {"client-address", required_argument, NULL, 'a'},
	    {"helo", required_argument, NULL, 'e'},
	    {"from-header", required_argument, NULL, 'F'},
	    {"reply-to-header", required_argument, NULL, 'R'},
	    {"sender-header", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	pb_dir_opts opts = {.busy_timeout = cfg->busy_timeout,
			    .create = false,
			    .readonly = true};
	pb_render_opts ropts = {.soft_bounce = cfg->soft_bounce,
				.shadow = cfg->shadow,
				.log = false};
	const char *error = NULL, *sender = NULL, *rcpts[CHECK_MAX_RCPTS];
	size_t n_rcpts = 0;
	bool refused;
	pb_signer signer;
	char signer_error[512];
	pb_dir *dir = NULL;
	pb_trace tr;
	pb_verdict v;
	pb_reply r;
	pb_env env;
	pb_txn t;
	step_sink sink = {NULL, 0};
	int opt;

	pb_txn_reset(&t);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sender = optarg;
			break;
		case 'r':
			if (n_rcpts == CHECK_MAX_RCPTS) {
				fprintf(stderr,
					"pushback check: at most %d "
					"recipients\n",
					CHECK_MAX_RCPTS);
				return 2;
			}
			rcpts[n_rcpts++] = optarg;
			break;
		case 'a':
			if (set_fact(t.client_address, sizeof(t.client_address),
				     "--client-address", optarg) < 0)
				return 2;
			break;
		case 'e':
			if (set_fact(t.helo, sizeof(t.helo), "--helo", optarg) <
			    0)
				return 2;
			break;
		case 'F':
		case 'R':
		case 'S':
			if (pb_txn_set_header(&t,
					      opt == 'F'   ? "From"
					      : opt == 'R' ? "Reply-To"
							   : "Sender",
					      optarg, strlen(optarg)) < 0) {
				fprintf(stderr,
					"pushback check: header too long\n");
				return 2;
			}
			break;
		case 'h':
			return check_usage(stdout, 0);
		default:
			return check_usage(stderr, 2);
		}
	}
	if (sender == NULL || n_rcpts == 0 || optind != argc)
		return check_usage(stderr, 2);
	if (set_fact(t.sender, sizeof(t.sender), "--sender", sender) < 0)
		return 2;
	snprintf(t.id, sizeof(t.id), "check");
	if (pb_dir_open(cfg->database, &opts, &dir, &error) < 0)
		dir = NULL;
	if (pb_signer_init(&signer, cfg, signer_error, sizeof(signer_error)) <
	    0) {
		fprintf(stderr, "pushback check: %s\n", signer_error);
		pb_dir_free(&dir);
		return 2;
	}
	for (size_t i = 0; i < n_rcpts; i++) {
		if (i > 0)
			printf("\n");
		if (set_fact(t.recipient, sizeof(t.recipient), "--recipient",
			     rcpts[i]) < 0)
			break;
		pb_env_init(&env, cfg, dir, error, &signer);
		if (explain(&env, &t, PB_STAGE_RCPT, &ropts, &sink, &tr, &v,
			    &r) < 0)
			break;
		refused = r.action == PB_TEMPFAIL || r.action == PB_REJECT;
		pb_txn_note_answer(&t, refused);
		if (!refused)
			(void)pb_txn_add_rcpt(&t, t.recipient,
					      strlen(t.recipient));
	}
	if (t.headers_seen) {
		printf("\n");
		pb_env_init(&env, cfg, dir, error, &signer);
		(void)explain(&env, &t, PB_STAGE_EOH, &ropts, &sink, &tr, &v,
			      &r);
	}
	pb_signer_wipe(&signer);
	pb_dir_free(&dir);
	return 0;
}
