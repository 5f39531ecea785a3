/*
 * pushbackd - the policy daemon.
 *
 *     pushbackd [-c FILE] [-f] [-t] [--stdin]
 *
 * Reads the config, binds every listener, and answers the MTA until
 * SIGTERM or SIGINT.  Start-up errors are fatal and name what is wrong;
 * nothing after start-up is.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "directory/dir.h"
#include "server/server.h"
#include "sign/signer.h"

#define DEFAULT_CONFIG "/etc/pushback/pushback.conf"

static pb_server *the_server;

/* on_stop - SIGTERM/SIGINT: ask the accept loop to stop. */
static void on_stop(int sig)
{
	(void)sig;
	pb_server_stop(the_server);
}

/* usage - to out, exit with code. */
static void usage(FILE *out, int code)
{
	fprintf(out,
		"usage: pushbackd [-c FILE] [-f] [-t] [--stdin]\n"
		"  -c, --config FILE  configuration (default %s)\n"
		"  -f, --foreground   stay in the foreground\n"
		"  -t, --test         check the configuration and exit\n"
		"      --stdin        serve one policy client on stdin/stdout\n"
		"                     (Postfix spawn(8))\n"
		"  -V, --version      print the version\n"
		"  -h, --help         this text\n",
		DEFAULT_CONFIG);
	exit(code);
}

/* check_directory - say at start-up whether the directory opens; the
 * daemon serves either way (a missing directory gives 4xx answers). */
static void check_directory(const pb_config *cfg)
{
	pb_dir_opts opts = {.busy_timeout = cfg->busy_timeout,
			    .create = false,
			    .readonly = true};
	const char *error = NULL;
	pb_dir *dir = NULL;

	if (pb_dir_open(cfg->database, &opts, &dir, &error) < 0) {
		pb_log(PB_LOG_WARN,
		       "directory %s: %s; answering %s until it opens",
		       cfg->database, error,
		       cfg->on_error == PB_ON_ERROR_DUNNO ? "DUNNO"
							  : "451 4.3.0");
		return;
	}
	pb_dir_free(&dir);
}

/* stderr_is_socket - spawn(8) hands us the client socket as stderr. */
static bool stderr_is_socket(void)
{
	struct stat st;

	return fstat(STDERR_FILENO, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* daemonize - fork into the background, detach from the terminal. */
static int daemonize(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		return -1;
	if (freopen("/dev/null", "r", stdin) == NULL ||
	    freopen("/dev/null", "w", stdout) == NULL)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"test", no_argument, NULL, 't'},
	    {"stdin", no_argument, NULL, 's'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = DEFAULT_CONFIG, *error = NULL;
	bool foreground = false, test = false, use_stdin = false;
	char errbuf[512];
	pb_config cfg;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:ftVh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			test = true;
			break;
		case 's':
			use_stdin = true;
			break;
		case 'V':
			printf("pushbackd %s\n", PB_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	if (pb_config_load(&cfg, path, &error) < 0) {
		fprintf(stderr, "pushbackd: %s\n", error);
		pb_config_free(&cfg);
		return 1;
	}
	if (test) {
		/* The key files are part of the configuration: a missing or
		 * group-readable one would stop the daemon at start. */
		pb_signer signer;

		if (pb_signer_init(&signer, &cfg, errbuf, sizeof(errbuf)) < 0) {
			fprintf(stderr, "pushbackd: %s\n", errbuf);
			pb_config_free(&cfg);
			return 1;
		}
		pb_signer_wipe(&signer);
		printf("pushbackd: %s: configuration OK\n", cfg.path);
		pb_config_free(&cfg);
		return 0;
	}
	/* Postfix spawn(8) connects stderr to the client too: a log line
	 * there would corrupt the replies, so then we log to syslog. */
	pb_log_open("pushbackd",
		    use_stdin && stderr_is_socket() ? PB_LOG_SYSLOG
						    : (pb_log_dest)cfg.log_dest,
		    (pb_log_level)cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	if (use_stdin) {
		rc = pb_serve_stdin(&cfg);
		pb_config_free(&cfg);
		return rc < 0 ? 1 : 0;
	}
	the_server = pb_server_new(&cfg, errbuf, sizeof(errbuf));
	if (the_server == NULL) {
		pb_log(PB_LOG_FATAL, "%s", errbuf);
		pb_config_free(&cfg);
		return 1;
	}
	check_directory(&cfg);
	if (!foreground && daemonize() < 0) {
		pb_log(PB_LOG_FATAL, "cannot go to the background: %s",
		       strerror(errno));
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Nothing to reload: directory changes are seen at once, and the
	 * config is read at start.  A stray HUP must not stop the service. */
	signal(SIGHUP, SIG_IGN);
	for (size_t i = 0; i < cfg.policy_listen.n; i++)
		pb_log(PB_LOG_INFO, "listening on %s (policy)",
		       cfg.policy_listen.spec[i]);
	for (size_t i = 0; i < cfg.socketmap_listen.n; i++)
		pb_log(PB_LOG_INFO, "listening on %s (socketmap)",
		       cfg.socketmap_listen.spec[i]);
	for (size_t i = 0; i < cfg.milter_listen.n; i++)
		pb_log(PB_LOG_INFO, "listening on %s (milter)",
		       cfg.milter_listen.spec[i]);
	for (int m = 0; m < PB_MAP_COUNT; m++)
		if (cfg.tcp_table[m] != NULL)
			pb_log(PB_LOG_INFO, "listening on %s (tcp_table %s)",
			       cfg.tcp_table[m], pb_map_name((pb_map_id)m));
	if (cfg.srs_secrets == NULL || cfg.batv_secrets == NULL)
		pb_log(PB_LOG_INFO,
		       "signing:%s%s (maps without keys answer TEMP)",
		       cfg.srs_secrets == NULL ? " no [srs] secrets" : "",
		       cfg.batv_secrets == NULL ? " no [batv] secrets" : "");
	pb_log(PB_LOG_INFO, "pushbackd %s ready; directory %s%s%s", PB_VERSION,
	       cfg.database, cfg.shadow ? "; shadow mode" : "",
	       cfg.soft_bounce ? "; soft_bounce" : "");
	rc = pb_server_run(the_server);
	pb_server_free(&the_server);
	pb_config_free(&cfg);
	return rc < 0 ? 1 : 0;
}
