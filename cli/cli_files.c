// SPDX-License-Identifier: MIT
/*
 * cli_files.c: `sandpool files` and `sandpool sessions`, thin clients of
 * the Gen2 files and session routes.
 *
 *   sandpool files ls  -s SESSION [--path DIR]
 *   sandpool files put -s SESSION LOCAL [NAME]     (NAME may hold '/')
 *   sandpool files get -s SESSION NAME [LOCAL | -]
 *   sandpool files rm  -s SESSION NAME
 *   sandpool sessions ls
 *   sandpool sessions rm SESSION
 *
 * All take --json, --url and --api-key (see cli.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define V_FILES CLI_API_VERSION
#define V_SESSION "2025-10-02-preview"

static void
files_usage(FILE *f)
{
	fprintf(f, "usage: sandpool files ls  -s SESSION [--path DIR]\n"
		   "       sandpool files put -s SESSION LOCAL [NAME]\n"
		   "       sandpool files get -s SESSION NAME [LOCAL | -]\n"
		   "       sandpool files rm  -s SESSION NAME\n"
		   "options: --json, --url URL (SANDPOOL_URL), --api-key KEY "
		   "(SANDPOOL_API_KEY)\n");
}

static void
sessions_usage(FILE *f)
{
	fprintf(f, "usage: sandpool sessions ls | rm SESSION\n"
		   "options: --json, --url URL (SANDPOOL_URL), --api-key KEY "
		   "(SANDPOOL_API_KEY)\n");
}

/* Options shared by files and sessions; returns -1 for usage errors. */
static int
parse_common(int argc, char **argv, struct cli_conn *conn, const char **session,
	     const char **dir)
{
	static const struct option opts[] = {
		{"session", required_argument, NULL, 's'},
		{"path", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"url", required_argument, NULL, 'u'},
		{"api-key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:p:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			*session = optarg;
			break;
		case 'p':
			*dir = optarg;
			break;
		case 'j':
			conn->json = true;
			break;
		case 'u':
			if (cli_conn_url(conn, optarg) < 0)
				return -1;
			break;
		case 'k':
			snprintf(conn->key, sizeof(conn->key), "%s", optarg);
			break;
		case 'h':
			return 1;
		default:
			return -1;
		}
	}
	return 0;
}

/* "ls": a table of name, size, time; or the JSON. */
static int
files_ls(struct cli_conn *c, const char *q)
{
	struct cli_resp r;
	char *path = xasprintf("/files?%s", q);
	const json_t *f;
	size_t i;
	int rc;

	rc = cli_request(c, "GET", path, NULL, NULL, 0, -1, NULL, &r);
	if (rc == CLI_EXIT_OK && r.status != 200)
		rc = cli_fail(c, &r, "files ls");
	else if (rc == CLI_EXIT_OK && c->json)
		cli_print_json(r.json);
	else if (rc == CLI_EXIT_OK)
		json_array_foreach (json_object_get(r.json, "value"), i, f) {
			const char *name =
				json_string_value(json_object_get(f, "name"));
			const char *type =
				json_string_value(json_object_get(f, "type"));
			const char *t = json_string_value(
				json_object_get(f, "lastModifiedAt"));

			printf("%12lld  %-24s  %s%s\n",
			       (long long)json_integer_value(
				       json_object_get(f, "sizeInBytes")),
			       t ? t : "", name ? name : "?",
			       type && strcmp(type, "directory") == 0 ? "/"
								      : "");
		}
	cli_resp_fini(&r);
	free(path);
	return rc;
}

static int
files_put(struct cli_conn *c, const char *q, const char *local,
	  const char *name)
{
	struct cli_resp r;
	char *copy = xstrdup(name ? name : local), *slash, *base;
	char *path = NULL, *dir = NULL;
	int rc;

	/* NAME "a/b.csv": upload b.csv into the directory a. */
	slash = strrchr(copy, '/');
	if (name && slash) {
		*slash = '\0';
		base = slash + 1;
		dir = cli_escape(copy, false);
		path = xasprintf("/files?%s&path=%s", q, dir);
	} else {
		base = name ? copy : basename(copy);
		path = xasprintf("/files?%s", q);
	}
	if (access(local, R_OK) < 0) {
		fprintf(stderr, "sandpool files put: %s: %s\n", local,
			strerror(errno));
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	rc = cli_upload(c, path, local, base, &r);
	if (rc == CLI_EXIT_OK && (r.status < 200 || r.status >= 300))
		rc = cli_fail(c, &r, "files put");
	else if (rc == CLI_EXIT_OK && c->json)
		cli_print_json(r.json);
	else if (rc == CLI_EXIT_OK)
		printf("%s\n",
		       json_string_value(json_object_get(r.json, "name"))
			       ? json_string_value(
					 json_object_get(r.json, "name"))
			       : base);
	cli_resp_fini(&r);
out:
	free(copy);
	free(dir);
	free(path);
	return rc;
}

static int
files_get(struct cli_conn *c, const char *q, const char *name,
	  const char *local)
{
	struct cli_resp r;
	char *esc = cli_escape(name, true), *path, *copy = xstrdup(name);
	const char *dest = local ? local : basename(copy);
	bool to_stdout = strcmp(dest, "-") == 0;
	int fd, rc;

	path = xasprintf("/files/%s/content?%s", esc, q);
	fd = to_stdout ? STDOUT_FILENO
		       : open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);
	if (fd < 0) {
		fprintf(stderr, "sandpool files get: %s: %s\n", dest,
			strerror(errno));
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	rc = cli_request(c, "GET", path, NULL, NULL, 0, fd, NULL, &r);
	if (rc == CLI_EXIT_OK && r.status != 200) {
		rc = cli_fail(c, &r, "files get");
		if (!to_stdout)
			unlink(dest);
	} else if (rc == CLI_EXIT_OK && !to_stdout) {
		if (c->json) {
			json_t *o = json_pack("{s:s, s:s}", "name", name,
					      "saved", dest);

			cli_print_json(o);
			json_decref(o);
		} else
			fprintf(stderr, "sandpool: saved %s\n", dest);
	}
	cli_resp_fini(&r);
	if (!to_stdout)
		close(fd);
out:
	free(esc);
	free(path);
	free(copy);
	return rc;
}

static int
files_rm(struct cli_conn *c, const char *q, const char *name)
{
	struct cli_resp r;
	char *esc = cli_escape(name, true);
	char *path = xasprintf("/files/%s?%s", esc, q);
	int rc;

	rc = cli_request(c, "DELETE", path, NULL, NULL, 0, -1, NULL, &r);
	if (rc == CLI_EXIT_OK && (r.status < 200 || r.status >= 300))
		rc = cli_fail(c, &r, "files rm");
	else if (rc == CLI_EXIT_OK && c->json)
		printf("{\"deleted\": true}\n");
	cli_resp_fini(&r);
	free(esc);
	free(path);
	return rc;
}

int
cli_files(int argc, char **argv)
{
	struct cli_conn conn;
	const char *session = NULL, *dir = NULL, *sub;
	char *esc = NULL, *q = NULL;
	int rc, nargs;

	cli_conn_init(&conn);
	if (argc < 2 || argv[1][0] == '-') {
		files_usage(argc >= 2 && strcmp(argv[1], "--help") == 0
				    ? stdout
				    : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0
			       ? CLI_EXIT_OK
			       : CLI_EXIT_USAGE;
	}
	sub = argv[1];
	rc = parse_common(argc - 1, argv + 1, &conn, &session, &dir);
	if (rc != 0) {
		files_usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	/* parse_common permuted argv + 1: operands follow optind there. */
	argv += 1 + optind;
	nargs = argc - 1 - optind;
	if (session == NULL) {
		fprintf(stderr, "sandpool files: -s SESSION is required\n");
		return CLI_EXIT_USAGE;
	}
	esc = cli_escape(session, false);
	q = xasprintf("identifier=%s&api-version=%s", esc, V_FILES);
	if (dir && strcmp(sub, "ls") == 0) {
		char *d = cli_escape(dir, false), *q2;

		q2 = xasprintf("%s&path=%s", q, d);
		free(q);
		free(d);
		q = q2;
	}
	rc = CLI_EXIT_USAGE;
	cli_http_init();
	if (strcmp(sub, "ls") == 0 && nargs == 0)
		rc = files_ls(&conn, q);
	else if (strcmp(sub, "put") == 0 && (nargs == 1 || nargs == 2))
		rc = files_put(&conn, q, argv[0], nargs == 2 ? argv[1] : NULL);
	else if (strcmp(sub, "get") == 0 && (nargs == 1 || nargs == 2))
		rc = files_get(&conn, q, argv[0], nargs == 2 ? argv[1] : NULL);
	else if (strcmp(sub, "rm") == 0 && nargs == 1)
		rc = files_rm(&conn, q, argv[0]);
	else
		files_usage(stderr);
	cli_http_fini();
	free(esc);
	free(q);
	return rc;
}

static int
sessions_ls(struct cli_conn *c)
{
	struct cli_resp r;
	const json_t *s;
	size_t i;
	int rc;

	rc = cli_request(c, "GET", "/listSessions?api-version=" V_SESSION, NULL,
			 NULL, 0, -1, NULL, &r);
	if (rc == CLI_EXIT_OK && r.status != 200)
		rc = cli_fail(c, &r, "sessions ls");
	else if (rc == CLI_EXIT_OK && c->json)
		cli_print_json(r.json);
	else if (rc == CLI_EXIT_OK)
		json_array_foreach (json_object_get(r.json, "sessions"), i, s) {
			const char *id = json_string_value(
				json_object_get(s, "identifier"));
			const char *pool =
				json_string_value(json_object_get(s, "pool"));
			const char *used = json_string_value(
				json_object_get(s, "lastAccessedAt"));

			printf("%-24s  %-10s  %s\n", used ? used : "",
			       pool ? pool : "", id ? id : "?");
		}
	cli_resp_fini(&r);
	return rc;
}

static int
sessions_rm(struct cli_conn *c, const char *id)
{
	struct cli_resp r;
	char *esc = cli_escape(id, false);
	char *path = xasprintf("/session?identifier=%s&api-version=%s", esc,
			       V_SESSION);
	int rc;

	rc = cli_request(c, "DELETE", path, NULL, NULL, 0, -1, NULL, &r);
	if (rc == CLI_EXIT_OK && (r.status < 200 || r.status >= 300))
		rc = cli_fail(c, &r, "sessions rm");
	else if (rc == CLI_EXIT_OK && c->json)
		printf("{\"deleted\": true}\n");
	cli_resp_fini(&r);
	free(esc);
	free(path);
	return rc;
}

int
cli_sessions(int argc, char **argv)
{
	struct cli_conn conn;
	const char *session = NULL, *dir = NULL, *sub;
	int rc, nargs;

	cli_conn_init(&conn);
	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;

		sessions_usage(help ? stdout : stderr);
		return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	sub = argv[1];
	rc = parse_common(argc - 1, argv + 1, &conn, &session, &dir);
	if (rc != 0) {
		sessions_usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	argv += 1 + optind;
	nargs = argc - 1 - optind;
	rc = CLI_EXIT_USAGE;
	cli_http_init();
	if (strcmp(sub, "ls") == 0 && nargs == 0)
		rc = sessions_ls(&conn);
	else if (strcmp(sub, "rm") == 0 && nargs == 1)
		rc = sessions_rm(&conn, argv[0]);
	else if (strcmp(sub, "rm") == 0 && nargs == 0 && session)
		rc = sessions_rm(&conn, session);
	else
		sessions_usage(stderr);
	cli_http_fini();
	return rc;
}
