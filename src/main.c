// SPDX-License-Identifier: MIT
/*
 * main.c: argv, configuration, signals, start and serve.
 *
 * `sandpool serve` reads the effective configuration (built-in defaults <
 * config file < SANDPOOL_* environment < flags), refuses to serve a
 * non-loopback address without an API key, prepares the state directory,
 * starts the loop thread and the HTTP daemon, and then waits for SIGTERM or
 * SIGINT in the main thread, which drains and shuts everything down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "priv.h"
#include "sandpool.h"
#include "session.h"

#define DRAIN_MS 10000 /* bound on the SIGTERM drain of executions */

extern char **environ;

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: sandpool <command> [options]\n"
		"\n"
		"commands:\n"
		"  serve      run the server (ACA-compatible REST API)\n"
		"  version    print the version\n"
		"\n"
		"serve options:\n"
		"  -c, --config FILE     config file (default: none; built-in "
		"defaults)\n"
		"  -l, --listen ADDR     host:port to listen on (default "
		"127.0.0.1:6000)\n"
		"  -s, --state-dir DIR   state directory (default ./.sandpool)\n"
		"  -k, --api-key [NAME:]KEY  accept this API key (repeatable)\n"
		"  -v, --log-level LVL   debug, info, warn or error\n"
		"  -n                    print the effective config and exit\n"
		"\n"
		"Environment: SANDPOOL_<KEY> overrides a config key; see "
		"docs/CONFIG.md.\n");
}

/* Directory of our own binary, to find sandpool-sandbox and runtime/. */
static char *
exe_dir(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	if (n <= 0)
		fatal("readlink /proc/self/exe");
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash)
		*slash = '\0';
	return xstrdup(path);
}

static char *
find_runtime(const struct config *cfg, const char *dir)
{
	static const char *const tries[] = {"/../runtime",
					    "/../share/sandpool/runtime"};
	char kp[PATH_MAX + 16], real[PATH_MAX];
	size_t i;

	if (cfg->runtime_dir[0]) {
		snprintf(kp, sizeof(kp), "%s/kernel.py", cfg->runtime_dir);
		if (access(kp, R_OK) < 0)
			fatalx("runtime_dir %s has no readable kernel.py",
			       cfg->runtime_dir);
		if (realpath(cfg->runtime_dir, real) == NULL)
			fatal("realpath %s", cfg->runtime_dir);
		return xstrdup(real);
	}
	for (i = 0; i < ARRAY_SIZE(tries); i++) {
		char d[PATH_MAX];

		snprintf(d, sizeof(d), "%s%s", dir, tries[i]);
		snprintf(kp, sizeof(kp), "%s/kernel.py", d);
		if (access(kp, R_OK) == 0 && realpath(d, real) != NULL)
			return xstrdup(real);
	}
	fatalx("cannot find runtime/kernel.py next to %s; set runtime_dir",
	       dir);
}

/* mkdir -p for the state dir, mode 0700: it holds every session's files
 * and later the key database. */
static void
make_state_dir(struct sandpool *sp)
{
	char real[PATH_MAX], tmp[PATH_MAX];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", sp->cfg->state_dir);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			fatal("mkdir %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		fatal("mkdir %s", tmp);
	if (chmod(tmp, 0700) < 0)
		fatal("chmod %s", tmp);
	if (realpath(tmp, real) == NULL)
		fatal("realpath %s", tmp);
	if (strlen(real) >= sizeof(sp->cfg->state_dir))
		fatalx("state_dir %s is too long", real);
	memcpy(sp->cfg->state_dir, real, strlen(real) + 1);
	sp->sessions_dir = xasprintf("%s/sessions", real);
	if (mkdir(sp->sessions_dir, 0700) < 0 && errno != EEXIST)
		fatal("mkdir %s", sp->sessions_dir);
	priv_cleanup_stale(sp->sessions_dir);
}

static int
load_config(struct config *cfg, int argc, char **argv, bool *dump)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"state-dir", required_argument, NULL, 's'},
		{"api-key", required_argument, NULL, 'k'},
		{"log-level", required_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	struct sp_err err = {0};
	int ch, i;

	*dump = false;
	/* First pass: only find the config file, which flags override. */
	while ((ch = getopt_long(argc, argv, "c:l:s:k:v:nh", opts, NULL)) !=
	       -1) {
		if (ch == 'c')
			file = optarg;
		else if (ch == 'h') {
			usage(stdout);
			exit(0);
		} else if (ch == '?') {
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sandpool serve: unexpected argument \"%s\"\n",
			argv[optind]);
		return -EINVAL;
	}
	config_defaults(cfg);
	if (file && config_load_file(cfg, file, &err) < 0)
		goto bad;
	if (config_load_env(cfg, environ, &err) < 0)
		goto bad;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:l:s:k:v:nh", opts, NULL)) !=
	       -1) {
		const char *key = NULL;

		switch (ch) {
		case 'l':
			key = "listen";
			break;
		case 's':
			key = "state_dir";
			break;
		case 'v':
			key = "log_level";
			break;
		case 'k':
			if (config_add_key(cfg, optarg, &err) < 0)
				goto bad;
			break;
		case 'n':
			*dump = true;
			break;
		default:
			break;
		}
		if (key && config_set(cfg, NULL, key, optarg, &err) < 0)
			goto bad;
	}
	if (config_finish(cfg, &err) < 0)
		goto bad;
	(void)i;
	return 0;
bad:
	fprintf(stderr, "sandpool: %s\n", err.msg);
	return -EINVAL;
}

static int
serve(int argc, char **argv)
{
	struct config cfg;
	struct sandpool sp;
	struct sp_err err = {0};
	sigset_t set;
	bool dump;
	int sig = 0;

	memset(&sp, 0, sizeof(sp));
	if (load_config(&cfg, argc, argv, &dump) < 0)
		return 2;
	if (dump) {
		config_dump(&cfg, stdout);
		config_fini(&cfg);
		return 0;
	}
	log_init((enum log_level)cfg.log_level);
	sp.cfg = &cfg;
	sp.auth_required = cfg.nkeys > 0;
	if (!sp.auth_required && !auth_listen_is_loopback(cfg.listen))
		fatalx("refusing to listen on %s without an API key: anyone "
		       "who can reach it could run code. Add --api-key (or "
		       "api_key in the config), or listen on 127.0.0.1",
		       cfg.listen);
	if (geteuid() != 0)
		fatalx("sandpool serve must run as root: it creates user "
		       "namespaces with mapped uids, mounts and cgroups");
	/* Drop supplementary groups before anything is cloned: a sandbox
	 * must never inherit the server's groups (platform-notes §1). */
	if (setgroups(0, NULL) < 0)
		fatal("setgroups");
	sp.exe_dir = exe_dir();
	sp.sandbox_bin = xasprintf("%s/sandpool-sandbox", sp.exe_dir);
	if (access(sp.sandbox_bin, X_OK) < 0)
		fatal("%s", sp.sandbox_bin);
	sp.runtime_dir = find_runtime(&cfg, sp.exe_dir);
	make_state_dir(&sp);

	/* Signals: the main thread waits for them; every other thread,
	 * created below, inherits this mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_mutex_init(&sp.lock, NULL);
	pthread_mutex_init(&sp.metadata_lock, NULL);
	sessions_init(&sp);
	if (loop_start(&sp) < 0)
		fatal("cannot start the event loop");
	if (http_start(&sp, &err) < 0) {
		log_errorx("%s", err.msg);
		loop_stop(&sp, 0);
		sessions_fini(&sp);
		return 1;
	}
	log_info("sandpool listening on %s (port %u), state %s, auth %s",
		 cfg.listen, http_port(&sp), cfg.state_dir,
		 sp.auth_required ? "on" : "off (loopback only)");

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP ignored: restart to change the config");
			continue;
		}
		break;
	}
	log_info("signal %d: draining executions (up to %d ms)", sig,
		 DRAIN_MS);
	loop_stop(&sp, DRAIN_MS);
	http_stop(&sp, 2000);
	sessions_fini(&sp);
	log_info("stopped");
	free(sp.exe_dir);
	free(sp.sandbox_bin);
	free(sp.runtime_dir);
	free(sp.sessions_dir);
	free(sp.metadata_json);
	pthread_mutex_destroy(&sp.lock);
	pthread_mutex_destroy(&sp.metadata_lock);
	config_fini(&cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0) {
		printf("sandpool 0.1.0\n");
		return 0;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "sandpool: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
