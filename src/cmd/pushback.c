/*
 * pushback - the admin CLI: manage the directory, explain decisions.
 *
 *     pushback [-c FILE] COMMAND ARGS...
 *
 * Subcommands are a table; each lives in a cli_*.c file.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cli.h"
#include "core/config.h"
#include "core/log.h"

#define DEFAULT_CONFIG "/etc/pushback/pushback.conf"

static const struct {
	const char *name;
	int (*fn)(const pb_config *cfg, int argc, char **argv);
	const char *help;
} commands[] = {
    {"domain", cli_domain, "add|del|list protected domains"},
    {"recipient", cli_recipient, "add|del|list|import recipients"},
    {"list", cli_list, "add|set|del|show|list mailing lists"},
    {"member", cli_member, "add|del|list|import list members"},
    {"poster", cli_poster, "add|del|list a list's allowed posters"},
    {"check", cli_check,
     "run one request through the pipeline and "
     "explain"},
    {"srs", cli_srs, "forward|reverse an address with SRS"},
    {"batv", cli_batv, "sign|verify an address with BATV prvs"},
    {"secret", cli_secret, "new FILE [--batv]: write a fresh key file"},
};

/* usage - the command list. */
static int usage(FILE *out, int code)
{
	fprintf(out, "usage: pushback [-c FILE] COMMAND [ARGS...]\n"
		     "  -c FILE   configuration (default " DEFAULT_CONFIG ")\n"
		     "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].help);
	fprintf(out, "Run 'pushback COMMAND --help' for a command's usage.\n");
	return code;
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG, *error = NULL;
	pb_config cfg;
	int i = 1, rc;

	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-c") == 0 ||
		     strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			path = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			path = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 ||
			   strcmp(argv[i], "--help") == 0) {
			return usage(stdout, 0);
		} else if (strcmp(argv[i], "-V") == 0 ||
			   strcmp(argv[i], "--version") == 0) {
			printf("pushback %s\n", PB_VERSION);
			return 0;
		} else {
			fprintf(stderr, "pushback: unknown option %s\n",
				argv[i]);
			return usage(stderr, 2);
		}
	}
	if (i >= argc)
		return usage(stderr, 2);
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		/* A new key file needs no configuration (it is made
		 * before there is one), and neither does --help. */
		bool wants_help =
		    i + 1 < argc && (strcmp(argv[i + 1], "--help") == 0 ||
				     strcmp(argv[i + 1], "-h") == 0);

		if (pb_config_load(&cfg,
				   strcmp(argv[i], "secret") == 0 || wants_help
				       ? NULL
				       : path,
				   &error) < 0) {
			fprintf(stderr, "pushback: %s\n", error);
			pb_config_free(&cfg);
			return 2;
		}
		pb_log_open("pushback", PB_LOG_STDERR, PB_LOG_WARN);
		rc = commands[k].fn(&cfg, argc - i, argv + i);
		pb_config_free(&cfg);
		return rc;
	}
	fprintf(stderr, "pushback: unknown command '%s'\n", argv[i]);
	return usage(stderr, 2);
}
