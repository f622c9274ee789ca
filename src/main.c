// SPDX-License-Identifier: MIT
/*
 * main.c: argv, configuration, signals, start and serve.
 *
 * `sandpool serve` reads the effective configuration (built-in defaults <
 * config file < SANDPOOL_* environment < flags), refuses to serve a
 * non-loopback address without an API key, prepares the state directory,
 * starts the loop thread and the HTTP daemon, and then waits for SIGTERM or
 * SIGINT in the main thread, which drains and shuts everything down.
 * SIGHUP reads the configuration again (reload()).
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

#include "audit.h"
#include "auth.h"
#include "cli.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "mcp_stdio.h"
#include "mcp_tools.h"
#include "metrics.h"
#include "priv.h"
#include "sandpool.h"
#include "server.h"
#include "pool.h"
#include "session.h"
#include "start_zygote.h"
#include "store.h"

extern char **environ;

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: sandpool <command> [options]\n"
		"\n"
		"commands:\n"
		"  serve      run the server (ACA-compatible REST API)\n"
		"  mcp        MCP server on stdin/stdout (embedded pool, or "
		"--url)\n"
		"  tools      print tool definitions for function calling\n"
		"  exec       run code in a session (client)\n"
		"  files      ls|put|get|rm files of a session (client)\n"
		"  sessions   ls|rm sessions (client)\n"
		"  keys       create|ls|revoke API keys (admin, state dir)\n"
		"  audit      print the audit log (admin, state dir)\n"
		"  usage      session and CPU seconds per principal or pool "
		"(admin)\n"
		"  version    print the version\n"
		"\n"
		"serve options:\n"
		"  -c, --config FILE     config file (default: none; built-in "
		"defaults)\n"
		"  -l, --listen ADDR     host:port to listen on (default "
		"127.0.0.1:6000)\n"
		"  -s, --state-dir DIR   state directory (default "
		"./.sandpool)\n"
		"  -k, --api-key [NAME:]KEY  accept this API key (repeatable)\n"
		"  -v, --log-level LVL   debug, info, warn or error\n"
		"  -n                    print the effective config and exit\n"
		"\n"
		"Environment: SANDPOOL_<KEY> overrides a config key; see "
		"docs/CONFIG.md.\n"
		"Client commands take --url/SANDPOOL_URL and "
		"--api-key/SANDPOOL_API_KEY;\n"
		"admin commands take --state-dir/SANDPOOL_STATE_DIR. "
		"\"sandpool CMD --help\" for more.\n");
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
	optind = 1; /* a SIGHUP parses argv again */
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

/* config_dump() text of cfg, without its preload lines. */
static char *
dump_sans_preload(const struct config *cfg)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	struct buf b;
	FILE *f = open_memstream(&text, &len);

	buf_init(&b, 1 << 20);
	if (f == NULL)
		return xstrdup("");
	config_dump(cfg, f);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "preload = ", 10) != 0)
			buf_printf(&b, "%s\n", line);
	free(text);
	buf_append(&b, "", 1);
	return buf_steal(&b, NULL);
}

/*
 * SIGHUP: read the configuration again, as at startup.  A pool's preload
 * set takes effect for new sessions (its warm sandboxes are replaced, a
 * template of the new set is started); anything else needs a restart,
 * which the log says.  A configuration with errors changes nothing.
 */
static void
reload(struct sandpool *sp, const struct config *cfg, int argc, char **argv)
{
	struct config *nc = xcalloc(1, sizeof(*nc));
	char *before = NULL, *after = NULL;
	bool dump;
	int i;

	if (load_config(nc, argc, argv, &dump) < 0) {
		log_warnx("SIGHUP: the configuration has errors (above); "
			  "nothing changed");
		goto out;
	}
	for (i = 0; i < sp->npools; i++) {
		const struct pool_config *np =
			config_pool(nc, sp->pools[i].cfg->name);

		if (np == NULL)
			log_warnx("SIGHUP: pool %s is no longer configured; "
				  "restart the server to remove it",
				  sp->pools[i].cfg->name);
		else
			pool_set_preload(sp, &sp->pools[i], np->preload);
	}
	pthread_mutex_lock(&sp->lock);
	start_zygote_update(sp);
	pthread_mutex_unlock(&sp->lock);
	before = dump_sans_preload(cfg);
	after = dump_sans_preload(nc);
	if (strcmp(before, after) != 0)
		log_warnx("SIGHUP: changes to keys other than preload take "
			  "effect at the next restart");
	log_info("SIGHUP: configuration reloaded");
out:
	free(before);
	free(after);
	config_fini(nc);
	free(nc);
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
	server_open(&sp, &cfg, true, &set);
	if (http_start(&sp, &err) < 0) {
		log_errorx("%s", err.msg);
		server_close(&sp);
		return 1;
	}
	log_info("sandpool listening on %s (port %u), state %s, auth %s",
		 cfg.listen, http_port(&sp), cfg.state_dir,
		 sp.auth_required ? "on" : "off (loopback only)");

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&sp, &cfg, argc, argv);
			continue;
		}
		break;
	}
	log_info("signal %d: draining executions (up to %d ms)", sig,
		 SERVER_DRAIN_MS);
	server_close(&sp);
	config_fini(&cfg);
	return 0;
}

static int
version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("sandpool 0.1.0\n");
	return 0;
}

/*
 * The subcommands.  Each gets argv starting at its own name and returns the
 * process exit status.  Client commands (exec, files, sessions, ...) live
 * in cli/ and register here too.
 */
static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"serve", serve},
	{"mcp", mcp_stdio_main},
	{"tools", mcp_tools_main},
	{"exec", cli_exec},
	{"files", cli_files},
	{"sessions", cli_sessions},
	{"keys", cli_keys},
	{"audit", cli_audit},
	{"usage", cli_usage},
	{"version", version},
};

int
main(int argc, char **argv)
{
	size_t i;

	setvbuf(stderr, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "sandpool: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
