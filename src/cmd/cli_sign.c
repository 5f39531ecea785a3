/*
 * cli_sign - `pushback srs`, `pushback batv` and `pushback secret`: the
 * signer the daemon uses, with the same config and keys, one address at a
 * time.  Results go alone on stdout, so scripts can use them; on a
 * refusal the error class (not-srs, bad-hash, expired, malformed ...)
 * goes to stderr and the exit code is 1.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/cli.h"
#include "sign/signer.h"

/* sign_usage - the three commands' usage. */
static int sign_usage(FILE *out, int code)
{
	fprintf(out,
		"usage: pushback srs forward|reverse ADDRESS\n"
		"       pushback batv sign|verify ADDRESS\n"
		"       pushback secret new FILE [--batv]\n"
		"Prints the resulting address; on a refusal prints the reason "
		"(not-srs,\nbad-hash, expired, malformed, too-long) on stderr "
		"and exits 1.\n");
	return code;
}

/* args_ok - "CMD a|b ADDRESS". */
static bool args_ok(int argc, char **argv, const char *a, const char *b)
{
	return argc == 3 &&
	       (strcmp(argv[1], a) == 0 || strcmp(argv[1], b) == 0);
}

/* bad_args - usage on stdout for --help (exit 0), else on stderr. */
static int bad_args(int argc, char **argv)
{
	bool help = argc == 2 && strcmp(argv[1], "--help") == 0;

	return sign_usage(help ? stdout : stderr, help ? 0 : 2);
}

/* load - the signer for cfg; prints why not. */
static int load(pb_signer *s, const pb_config *cfg)
{
	char err[512];

	if (pb_signer_init(s, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "pushback: %s\n", err);
		return -1;
	}
	return 0;
}

/* result - print a pure function's answer; the exit code. */
static int result(pb_sign_err e, const char *out)
{
	if (e == PB_SIGN_OK) {
		printf("%s\n", out);
		return 0;
	}
	fprintf(stderr, "%s\n", pb_sign_err_name(e));
	return e == PB_SIGN_NO_KEY ? 2 : 1;
}

/* cli_srs - forward or reverse one address. */
int cli_srs(const pb_config *cfg, int argc, char **argv)
{
	char out[PB_SIGN_OUT_MAX];
	const char *why = "";
	pb_signer s;
	int rc;

	if (!args_ok(argc, argv, "forward", "reverse"))
		return bad_args(argc, argv);
	if (load(&s, cfg) < 0)
		return 2;
	if (!s.srs_on) {
		fprintf(stderr,
			"pushback: SRS is not configured: set [srs] "
			"domain and secrets in %s\n",
			cfg->path);
		return 2;
	}
	if (strcmp(argv[1], "reverse") == 0) {
		rc = result(pb_srs_reverse(&s.srs, time(NULL), argv[2], out,
					   sizeof(out)),
			    out);
		pb_signer_wipe(&s);
		return rc;
	}
	switch (pb_signer_map(&s, PB_MAP_FORWARD, argv[2], time(NULL), out,
			      sizeof(out), &why)) {
	case PB_MAP_OK:
		printf("%s\n", out);
		rc = 0;
		break;
	case PB_MAP_NOTFOUND:
		if (strcmp(why, "local domain") == 0 ||
		    strcmp(why, "null address") == 0) {
			/* what the MTA does: keep the address */
			printf("%s\n", argv[2]);
			fprintf(stderr, "not rewritten: %s\n", why);
			rc = 0;
		} else {
			fprintf(stderr, "%s\n", why);
			rc = 1;
		}
		break;
	default:
		fprintf(stderr, "%s\n", why);
		rc = 2;
		break;
	}
	pb_signer_wipe(&s);
	return rc;
}

/* cli_batv - sign or verify one address. */
int cli_batv(const pb_config *cfg, int argc, char **argv)
{
	char out[PB_SIGN_OUT_MAX];
	pb_signer s;
	int rc;

	if (!args_ok(argc, argv, "sign", "verify"))
		return bad_args(argc, argv);
	if (load(&s, cfg) < 0)
		return 2;
	if (!s.batv_on) {
		fprintf(stderr,
			"pushback: BATV is not configured: set [batv] "
			"secrets in %s\n",
			cfg->path);
		return 2;
	}
	if (strcmp(argv[1], "verify") == 0) {
		rc = result(pb_batv_verify(&s.batv, time(NULL), argv[2], out,
					   sizeof(out)),
			    out);
	} else {
		if (!pb_signer_protected(&s, argv[2]))
			fprintf(stderr,
				"note: %s is not in [bounces] protect; the "
				"daemon's batv-sign map leaves it unsigned\n",
				argv[2]);
		rc = result(pb_batv_sign(&s.batv, time(NULL), argv[2], out,
					 sizeof(out)),
			    out);
	}
	pb_signer_wipe(&s);
	return rc;
}

/* cli_secret - `secret new FILE [--batv]`: a fresh key file. */
int cli_secret(const pb_config *cfg, int argc, char **argv)
{
	bool batv = argc == 4 && strcmp(argv[3], "--batv") == 0;
	char err[512];

	(void)cfg;
	if ((argc != 3 && !batv) || strcmp(argv[1], "new") != 0)
		return sign_usage(stderr, 2);
	if (pb_keys_new(argv[2], batv, err, sizeof(err)) < 0) {
		fprintf(stderr, "pushback: %s\n", err);
		return 2;
	}
	fprintf(stderr,
		"wrote a new %s key to %s (mode 0600); to rotate, put its "
		"line first in the key file the daemon reads and keep the old "
		"ones after it for %s\n",
		batv ? "BATV" : "SRS", argv[2],
		batv ? "[batv] max_age days" : "[srs] max_age days");
	return 0;
}
