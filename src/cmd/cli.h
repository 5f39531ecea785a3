/*
 * cli - the pushback(1) subcommands.  Each takes the loaded config and the
 * words after the subcommand name (argv[0] is the subcommand), prints its
 * result on stdout and errors on stderr, and returns the process exit code
 * (0 ok, 1 refused/not found, 2 usage or backend error).
 */
#ifndef PB_CLI_H
#define PB_CLI_H

#include "core/config.h"

/* domain, recipient, list, member, poster: src/cmd/cli_admin.c */
int cli_domain(const pb_config *cfg, int argc, char **argv);
int cli_recipient(const pb_config *cfg, int argc, char **argv);
int cli_list(const pb_config *cfg, int argc, char **argv);
int cli_member(const pb_config *cfg, int argc, char **argv);
int cli_poster(const pb_config *cfg, int argc, char **argv);

/* check: src/cmd/cli_check.c */
int cli_check(const pb_config *cfg, int argc, char **argv);

/* srs, batv, secret: src/cmd/cli_sign.c */
int cli_srs(const pb_config *cfg, int argc, char **argv);
int cli_batv(const pb_config *cfg, int argc, char **argv);
int cli_secret(const pb_config *cfg, int argc, char **argv);

#endif
