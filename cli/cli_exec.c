// SPDX-License-Identifier: MIT
/*
 * cli_exec.c: `sandpool exec`, code in a session from the command line.
 *
 *   sandpool exec [-s SESSION] [CODE | -f FILE | -] [--shell]
 *                 [--timeout S] [--save-images DIR] [--json]
 *
 * It posts a Gen2 execution, prints stdout and stderr on ours, then the
 * value of the last expression, saves the figures as PNG files when
 * asked, and exits 1 when the code failed (for --shell: with the
 * command's exit status).  Without -s it uses a fresh session and deletes
 * it afterwards, so a one-off run leaves nothing behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define CODE_MAX (64 * MiB)

static void
exec_usage(FILE *f)
{
	fprintf(f,
		"usage: sandpool exec [-s SESSION] [CODE | -f FILE | -] "
		"[options]\n"
		"  -s, --session ID      run in this session (kept); default: "
		"a new one,\n"
		"                        deleted afterwards\n"
		"  -f, --file FILE       read the code from FILE ('-' for "
		"stdin)\n"
		"      --shell           run CODE with bash instead of Python\n"
		"  -t, --timeout S       execution timeout in seconds\n"
		"      --save-images DIR write figures to DIR/<id>-<n>.png\n"
		"      --json            print the server's JSON reply (at "
		"the end;\n"
		"                        otherwise output prints as it "
		"comes)\n"
		"      --url URL         server (SANDPOOL_URL; default %s)\n"
		"      --api-key KEY     API key (SANDPOOL_API_KEY)\n"
		"Exit status: 0 success, 1 the code failed, 2 usage, 3 server "
		"unreachable,\n"
		"4 unauthorized; with --shell, the command's exit status.\n",
		CLI_DEFAULT_URL);
}

/* Read all of fd into a new string (capped). */
static int
read_all(int fd, char **out)
{
	struct buf b;
	char chunk[65536];
	ssize_t r;

	buf_init(&b, CODE_MAX);
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			buf_fini(&b);
			return -errno;
		}
		if (r == 0)
			break;
		if (buf_append(&b, chunk, (size_t)r) < 0) {
			buf_fini(&b);
			return -E2BIG;
		}
	}
	if (b.data == NULL)
		buf_append(&b, "", 0);
	*out = buf_steal(&b, NULL);
	return 0;
}

static int
load_code(const char *file, const char *arg, char **code)
{
	int fd, rc;

	if (file == NULL && arg && strcmp(arg, "-") != 0) {
		*code = xstrdup(arg);
		return 0;
	}
	if (file == NULL || strcmp(file, "-") == 0)
		return read_all(STDIN_FILENO, code);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = read_all(fd, code);
	close(fd);
	return rc;
}

/* Write the figures of outputs[] into dir; returns how many. */
static int
save_images(const json_t *outputs, const char *dir, const char *id)
{
	const json_t *o;
	size_t i;
	int n = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "sandpool: mkdir %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	json_array_foreach (outputs, i, o) {
		const char *type =
			json_string_value(json_object_get(o, "type"));
		const char *data =
			json_string_value(json_object_get(o, "base64_data"));
		struct buf png;
		char *path;
		int fd;

		if (data == NULL)
			data = json_string_value(json_object_get(o, "data"));
		if (type == NULL || strcmp(type, "image") != 0 || data == NULL)
			continue;
		buf_init(&png, CLI_BODY_MAX);
		if (base64_decode(data, strlen(data), &png) < 0) {
			buf_fini(&png);
			continue;
		}
		path = xasprintf("%s/%s-%d.png", dir, id, n + 1);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write_all(fd, png.data, png.len) < 0) {
			fprintf(stderr, "sandpool: writing %s: %s\n", path,
				strerror(errno));
		} else {
			n++;
			fprintf(stderr, "sandpool: saved %s\n", path);
		}
		if (fd >= 0)
			close(fd);
		free(path);
		buf_fini(&png);
	}
	return n;
}

/* The exit status for a finished Gen2 execution. */
static int
exit_status(const json_t *body, bool shell)
{
	const char *status = json_string_value(json_object_get(body, "status"));

	if (shell) {
		json_int_t code =
			json_integer_value(json_object_get(body, "exitCode"));

		return code < 0 || code > 255 ? 1 : (int)code;
	}
	return status && strcmp(status, "Succeeded") == 0 ? CLI_EXIT_OK
							  : CLI_EXIT_FAILED;
}

static const char *
exec_id(const json_t *body)
{
	const char *id = json_string_value(json_object_get(body, "id"));

	return id ? id : "exec";
}

/* What a streamed run printed so far (people's output). */
struct live {
	struct buf out, err; /* the text of the stdout and stderr events */
	json_t *result;      /* the result event's body */
	json_t *error;       /* an error event's body */
};

static void
on_event(void *arg, const char *event, const json_t *data)
{
	struct live *l = arg;
	const json_t *t = json_object_get(data, "text");
	bool out = strcmp(event, "stdout") == 0;

	if ((out || strcmp(event, "stderr") == 0) && json_is_string(t)) {
		fwrite(json_string_value(t), 1, json_string_length(t),
		       out ? stdout : stderr);
		fflush(out ? stdout : stderr);
		buf_append(out ? &l->out : &l->err, json_string_value(t),
			   json_string_length(t));
	} else if (strcmp(event, "result") == 0 && json_is_object(data)) {
		json_decref(l->result);
		l->result = json_deep_copy(data);
	} else if (strcmp(event, "error") == 0 && json_is_object(data)) {
		json_decref(l->error);
		l->error = json_deep_copy(data);
	}
}

/* Print s, or, when shown already printed a prefix of it, the rest. */
static void
print_rest(const json_t *s, const struct buf *shown, FILE *f)
{
	const char *p = json_string_value(s);
	size_t n = json_string_length(s), done = shown ? shown->len : 0;

	if (p == NULL)
		return;
	if (done > 0 && (done > n || memcmp(p, shown->data, done) != 0))
		return; /* the stream said it its own way (a cut) */
	fwrite(p + done, 1, n - done, f);
}

/* Print a finished Gen2 execution for people; returns the exit code.
 * With l, its stdout and stderr were printed as they came. */
static int
show(const json_t *body, bool shell, const char *images,
     const struct live *l)
{
	const json_t *res = json_object_get(body, "result");
	const json_t *err = json_object_get(body, "error");
	const json_t *val = json_object_get(res, "executionResult");
	const json_t *out = json_object_get(res, "stdout");
	const json_t *errs = json_object_get(res, "stderr");

	print_rest(out, l ? &l->out : NULL, stdout);
	fflush(stdout);
	print_rest(errs, l ? &l->err : NULL, stderr);
	if (json_is_string(val) && json_string_length(val) > 0) {
		const char *v = json_string_value(val);
		size_t n = json_string_length(val);

		fwrite(v, 1, n, stdout);
		if (v[n - 1] != '\n')
			fputc('\n', stdout);
	}
	if (images)
		save_images(json_object_get(res, "outputs"), images,
			    exec_id(body));
	/* The traceback is in stderr; say the error code too, unless the
	 * code merely ran long enough to truncate its output. */
	if (json_is_object(err) && !shell &&
	    exit_status(body, false) != CLI_EXIT_OK) {
		const char *code =
			json_string_value(json_object_get(err, "code"));

		fprintf(stderr, "sandpool: %s\n", code ? code : "Failed");
	}
	return exit_status(body, shell);
}

int
cli_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{"session", required_argument, NULL, 's'},
		{"file", required_argument, NULL, 'f'},
		{"timeout", required_argument, NULL, 't'},
		{"shell", no_argument, NULL, 'S'},
		{"save-images", required_argument, NULL, 'I'},
		{"json", no_argument, NULL, 'j'},
		{"url", required_argument, NULL, 'u'},
		{"api-key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_conn conn;
	struct cli_resp r = {0};
	const char *session = NULL, *file = NULL, *images = NULL;
	char ident[40], *code = NULL, *esc = NULL, *path = NULL;
	char *text = NULL;
	uint64_t timeout = 0;
	bool shell = false, temp = false;
	json_t *req = NULL;
	struct live live = {0};
	const char *const accept[] = {"Accept: text/event-stream", NULL};
	int ch, rc = CLI_EXIT_USAGE;

	cli_conn_init(&conn);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:f:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			session = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 't':
			if (parse_u64(optarg, &timeout) < 0 || timeout == 0 ||
			    timeout > 86400) {
				fprintf(stderr, "sandpool exec: --timeout: "
						"1..86400 seconds\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case 'S':
			shell = true;
			break;
		case 'I':
			images = optarg;
			break;
		case 'j':
			conn.json = true;
			break;
		case 'u':
			if (cli_conn_url(&conn, optarg) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'k':
			snprintf(conn.key, sizeof(conn.key), "%s", optarg);
			break;
		case 'h':
			exec_usage(stdout);
			return CLI_EXIT_OK;
		default:
			exec_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind > 1 || (file && argc - optind > 0)) {
		exec_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (file == NULL && optind == argc && isatty(STDIN_FILENO)) {
		fprintf(stderr, "sandpool exec: give CODE, -f FILE, or '-' "
				"to read stdin\n");
		return CLI_EXIT_USAGE;
	}
	rc = load_code(file, optind < argc ? argv[optind] : NULL, &code);
	if (rc < 0) {
		fprintf(stderr, "sandpool exec: cannot read the code: %s\n",
			rc == -E2BIG ? "larger than 64 MiB" : strerror(-rc));
		return CLI_EXIT_USAGE;
	}
	if (session == NULL) {
		random_hex(ident + 4, 8);
		memcpy(ident, "cli-", 4);
		session = ident;
		temp = true;
	}

	cli_http_init();
	req = json_object();
	json_object_set_new(req, shell ? "shellCommand" : "code",
			    json_string(code));
	if (json_object_size(req) == 0) {
		fprintf(stderr, "sandpool exec: the code is not valid "
				"UTF-8\n");
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (timeout)
		json_object_set_new(req, "timeoutInSeconds",
				    json_integer((json_int_t)timeout));
	text = json_dumps(req, JSON_COMPACT);
	esc = cli_escape(session, false);
	path = xasprintf("/executions?identifier=%s&api-version=%s", esc,
			 CLI_API_VERSION);
	/* People see the output as it comes; --json waits for the object. */
	buf_init(&live.out, SIZE_MAX);
	buf_init(&live.err, SIZE_MAX);
	if (conn.json)
		rc = cli_request(&conn, "POST", path, "application/json", text,
				 strlen(text), -1, NULL, &r);
	else
		rc = cli_request_events(&conn, "POST", path,
					"application/json", text, strlen(text),
					accept, on_event, &live, &r);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (live.error) {
		const json_t *e = json_object_get(live.error, "error");
		const char *msg =
			json_string_value(json_object_get(e, "message"));

		fprintf(stderr, "sandpool exec: %s\n", msg ? msg : "failed");
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	if (live.result) {
		rc = show(live.result, shell, images, &live);
		goto out;
	}
	if (r.status < 200 || r.status >= 300 || !json_is_object(r.json)) {
		rc = r.status >= 200 && r.status < 300
			     ? CLI_EXIT_UNREACHABLE
			     : cli_fail(&conn, &r, "exec");
		if (r.status >= 200 && r.status < 300)
			fprintf(stderr, "sandpool exec: the reply is not a "
					"JSON object\n");
		goto out;
	}
	if (conn.json) {
		if (temp)
			json_object_set_new(r.json, "temporarySession",
					    json_true());
		cli_print_json(r.json);
		rc = exit_status(r.json, shell);
		if (images)
			save_images(json_object_get(
					    json_object_get(r.json, "result"),
					    "outputs"),
				    images, exec_id(r.json));
	} else {
		rc = show(r.json, shell, images, NULL);
	}
out:
	if (temp && r.status > 0) {
		struct cli_resp d = {0};
		char *dpath = xasprintf("/session?identifier=%s&api-version="
					"2025-10-02-preview",
					esc);

		/* Best effort: the session was ours alone. */
		if (cli_request(&conn, "DELETE", dpath, NULL, NULL, 0, -1, NULL,
				&d) == CLI_EXIT_OK &&
		    d.status >= 300 && d.status != 404)
			fprintf(stderr,
				"sandpool exec: could not delete the "
				"temporary session (%ld)\n",
				d.status);
		cli_resp_fini(&d);
		free(dpath);
	}
	cli_resp_fini(&r);
	buf_fini(&live.out);
	buf_fini(&live.err);
	json_decref(live.result);
	json_decref(live.error);
	json_decref(req);
	free(text);
	free(esc);
	free(path);
	free(code);
	cli_http_fini();
	return rc;
}
