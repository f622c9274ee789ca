// SPDX-License-Identifier: MIT
/*
 * mcp_tools.c: the MCP tools, the code_interpreter prompt and `sandpool
 * tools`.  Each tool validates its arguments (a bad one is an isError
 * result naming it, as 2025-11-25 asks, so the model can correct itself),
 * then works on a sandpool session of the caller's principal: the one its
 * session_id or environmentId names (shared with the REST API, where it is
 * the identifier), or by default "mcp-<MCP session id>", so state persists
 * per MCP session.  Code runs as a job (session_submit); the job's callback
 * shapes the CallToolResult on the loop thread.  URL downloads run on a
 * worker thread (mcp_call_defer), never on an HTTP thread.
 *
 * Results: a compact text item (stdout, stderr, the last value), one image
 * item per figure, and structuredContent matching the tool's outputSchema
 * (every key optional, so failures conform too).  isError is true exactly
 * when the code failed, timed out, or a file could not be fetched.
 */
#define _GNU_SOURCE
#include "mcp_tools.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api.h"
#include "exec.h"
#include "fetch.h"
#include "files.h"
#include "log.h"
#include "result.h"

#define FILES_ARG_MAX 16	  /* URLs in execute_python.files */
#define LIST_MAX 1000		  /* entries list_files returns */
#define READ_TEXT_MAX (256 * KiB) /* text read_file returns (LLM context) */
#define READ_BLOB_MAX (8 * MiB)	  /* image or binary read_file returns */
#define ARGV_MAX 256		  /* execCommandAndArgs items */

/* ------------------------------------------------------------------ */
/* argument helpers                                                    */
/* ------------------------------------------------------------------ */

static const struct pool_config *
pool_of(const struct mcp_call *c)
{
	const struct pool_config *p = config_pool(c->sp->cfg, c->ms->pool);

	return p ? p : &c->sp->cfg->pools[0];
}

/* isError for an argument that is not in the tool's schema. */
static json_t *
unknown_args(const json_t *args, const char *const *known)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach ((json_t *)args, key, v) {
		for (i = 0; known[i]; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return mcp_tool_error(
				"unknown argument \"%.64s\"; this tool takes "
				"only the arguments of its inputSchema",
				key);
	}
	return NULL;
}

/* Where a code argument's cap comes from, for its error. */
static const char *
max_note(const char *key)
{
	static const char *const code[] = {"code", "command", "pythonCode",
					   "shellCommand"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(code); i++)
		if (strcmp(key, code[i]) == 0)
			return " (http.max_code)";
	return "";
}

/* A string argument; JSON null counts as absent.  Checked before the
 * tool does anything: an argument over its cap takes no session, fetches
 * nothing and leaves no audit row. */
static json_t *
arg_str(const json_t *args, const char *key, bool required, size_t max,
	const char **out)
{
	const json_t *v = json_object_get(args, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return mcp_tool_error("argument \"%s\" is required "
					      "(a string)",
					      key);
		return NULL;
	}
	if (!json_is_string(v))
		return mcp_tool_error("argument \"%s\" must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return mcp_tool_error("argument \"%s\" contains a NUL "
				      "character",
				      key);
	if (json_string_length(v) == 0)
		return mcp_tool_error("argument \"%s\" must not be empty", key);
	if (json_string_length(v) > max)
		return mcp_tool_error("argument \"%s\" is %zu bytes; at most "
				      "%zu are accepted%s",
				      key, json_string_length(v), max,
				      max_note(key));
	*out = json_string_value(v);
	return NULL;
}

/* The sandpool identifier of a session_id / environmentId argument
 * (validated like the REST identifier), or the MCP session's own. */
static json_t *
arg_ident(struct mcp_call *c, const char *key, bool required)
{
	const char *id = NULL;
	struct sp_err err;
	json_t *r;

	r = arg_str(c->args, key, required, 256, &id);
	if (r)
		return r;
	if (id == NULL) {
		snprintf(c->ident, sizeof(c->ident), "%s", c->ms->ident);
		return NULL;
	}
	if (api_identifier_ok(id, &err) < 0)
		return mcp_tool_error("argument \"%s\": %s", key, err.msg);
	snprintf(c->ident, sizeof(c->ident), "%s", id);
	return NULL;
}

/* A JSON string for a name the sandbox made: bytes that are not UTF-8
 * become U+FFFD instead of failing. */
static json_t *
jname(const char *s)
{
	json_t *j = json_string(s);
	struct buf b;
	size_t i;

	if (j)
		return j;
	buf_init(&b, strlen(s) * 3 + 1);
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] < 0x80)
			buf_append(&b, s + i, 1);
		else
			buf_append(&b, "\xef\xbf\xbd", 3);
	}
	j = json_string(b.data ? b.data : "");
	buf_fini(&b);
	return j;
}

/* Length of the longest valid UTF-8 prefix of p[0..n). */
static size_t
utf8_prefix(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char ch = p[i];
		size_t k, len;

		if (ch < 0x80) {
			if (ch == 0)
				return i;
			i++;
			continue;
		}
		if (ch >= 0xc2 && ch <= 0xdf)
			len = 2;
		else if (ch >= 0xe0 && ch <= 0xef)
			len = 3;
		else if (ch >= 0xf0 && ch <= 0xf4)
			len = 4;
		else
			return i;
		if (i + len > n)
			return i;
		for (k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return i;
		i += len;
	}
	return i;
}

/* ------------------------------------------------------------------ */
/* shaping a finished job                                              */
/* ------------------------------------------------------------------ */

static void
add_part(struct buf *b, const char *label, const char *text)
{
	size_t n = strlen(text);

	if (n == 0)
		return;
	if (b->len > 0 && b->data[b->len - 1] != '\n')
		buf_append(b, "\n", 1);
	if (label)
		buf_printf(b, "%s\n", label);
	buf_append(b, text, n);
}

/* Compact text: stdout, stderr (labelled), then the last value. */
static char *
compose(const char *out, const char *err, const char *value, const char *tail)
{
	struct buf b;

	buf_init(&b, strlen(out) + strlen(err) + strlen(value) + 256);
	add_part(&b, NULL, out);
	add_part(&b, b.len || value[0] ? "[stderr]" : NULL, err);
	add_part(&b, NULL, value);
	if (tail)
		add_part(&b, NULL, tail);
	while (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (b.len == 0)
		buf_printf(&b, "(no output)");
	return buf_steal(&b, NULL);
}

/* The text of a kernel string as C text (it stops at a NUL, as the
 * Gen2 body read back as C text did). */
static const char *
ctext(const struct kernel_str *s)
{
	return s->s ? s->s : "";
}

/* CallToolResult of a Python job (execute_python and
 * runPythonCodeInRemoteEnvironment). */
static json_t *
python_result(const struct job *j, const struct exec_view *v)
{
	const struct kernel_reply *rp = exec_reply(j);
	json_t *val = result_gen2(&rp->value, rp->outputs, rp->noutputs);
	json_t *err = exec_error_json(v);
	json_t *serr = exec_stderr_json(v);
	json_t *content, *sc, *r;
	char *text;
	size_t i;

	text = compose(ctext(&v->out), json_string_value(serr),
		       json_is_string(val) ? json_string_value(val) : "", NULL);
	content = json_pack("[{s:s, s:s}]", "type", "text", "text", text);
	free(text);
	for (i = 0; i < rp->noutputs; i++)
		if (rp->outputs[i].type == KOUT_PNG)
			json_array_append_new(
				content,
				json_pack("{s:s, s:s, s:s}", "type", "image",
					  "data", rp->outputs[i].data.s,
					  "mimeType", "image/png"));
	sc = json_pack("{s:o, s:s, s:s}", "result", val, "stdout",
		       ctext(&v->out), "stderr", json_string_value(serr));
	if (err)
		json_object_set_new(sc, "error", err);
	r = json_pack("{s:o, s:o, s:b}", "content", content,
		      "structuredContent", sc, "isError", v->failed);
	json_decref(serr);
	return r;
}

/* CallToolResult of a shell job: {stdout, stderr, exitCode}.  A timeout
 * reads 124 as with timeout(1); a killed kernel 137, as in Gen2. */
static json_t *
shell_result(const struct job *j, const struct exec_view *v)
{
	json_t *serr = exec_stderr_json(v), *err = exec_error_json(v), *r;
	long long code = v->exit_code;
	char tail[48] = "", *text;

	if (j->outcome == JOB_TIMEOUT || j->outcome == JOB_TIMEOUT_KILLED)
		code = 124;
	else if (j->outcome != JOB_OK)
		code = 137;
	if (code != 0)
		snprintf(tail, sizeof(tail), "[exit code %lld]", code);
	text = compose(ctext(&v->out), json_string_value(serr), "",
		       tail[0] ? tail : NULL);
	r = json_pack("{s:[{s:s, s:s}], s:{s:s, s:s, s:I}, s:b}", "content",
		      "type", "text", "text", text, "structuredContent",
		      "stdout", ctext(&v->out), "stderr",
		      json_string_value(serr), "exitCode", (json_int_t)code,
		      "isError", code != 0);
	if (err)
		json_object_set_new(json_object_get(r, "structuredContent"),
				    "error", err);
	free(text);
	json_decref(serr);
	return r;
}

/* The execution service's done for every tool run. */
static void
run_done(void *arg, const struct job *j, const struct exec_view *v,
	 const char *sid)
{
	struct mcp_call *c = arg;

	(void)sid;
	mcp_call_job_ended(c);
	if (j->outcome == JOB_SYSTEM)
		log_warnx("mcp execution %s failed: %s", j->id, j->detail);
	mcp_call_finish(c, j->kind == JOB_SHELL ? shell_result(j, v)
						: python_result(j, v));
}

/* Output while it runs: progress notifications with the new text. */
static void
run_output(void *arg, const struct kernel_events *ev)
{
	size_t i;

	for (i = 0; i < ev->n; i++)
		if (ev->ev[i].type == KEV_STDOUT ||
		    ev->ev[i].type == KEV_STDERR)
			mcp_call_output(arg, ev->ev[i].data.s,
					ev->ev[i].data.len);
}

static const struct exec_sink run_sink = {run_output, run_done};

/*
 * Run code (or a shell command) on session c->ident: created when create
 * is set, else it must exist (environmentId).  Ends the call one way or
 * another.
 */
static void
run(struct mcp_call *c, enum job_kind kind, const char *code, bool create)
{
	const struct pool_config *p = pool_of(c);
	struct exec_req r = {
		.kind = kind,
		.code = code,
		.principal = c->ms->principal,
		.pool = c->ms->pool,
		.identifier = c->ident,
		.create = create,
		.stream = c->token != NULL,
		.actx = &c->ms->actx,
		.client_fd = -1,
	};
	struct sp_err err;
	struct exec *x;
	int rc;

	x = exec_prepare(c->sp, &r, &run_sink, c, &err);
	if (x == NULL) {
		if (!create && err.http == 404)
			mcp_call_finish(
				c, mcp_tool_error(
					   "the environment \"%.80s\" has "
					   "expired or does not exist "
					   "(sessions end after %u s idle); "
					   "call launchShell again for a new "
					   "environmentId",
					   c->ident, p->cooldown));
		else
			mcp_call_finish(c, mcp_tool_error("%s", err.msg));
		return;
	}
	rc = mcp_call_submit(c, x, &err);
	if (rc < 0) {
		exec_abort(x);
		mcp_call_finish(c, rc == -ECANCELED
					   ? NULL
					   : mcp_tool_error("%s", err.msg));
	}
}

/* ------------------------------------------------------------------ */
/* session files                                                       */
/* ------------------------------------------------------------------ */

/* A session's data directory, open.  With create the session is made
 * when missing; without, *missing says it does not exist. */
struct files_at {
	struct session *s;
	int root;
	uid_t uid;
};

static int
files_at_open(struct mcp_call *c, bool create, struct files_at *fa,
	      bool *missing, struct sp_err *err)
{
	int rc;

	fa->s = NULL;
	fa->root = -1;
	if (missing)
		*missing = false;
	rc = session_get(c->sp, c->ms->principal, c->ms->pool, c->ident, create,
			 &fa->s, err);
	if (rc < 0) {
		if (missing && err->http == 404)
			*missing = true;
		return rc;
	}
	return session_open_files(c->sp, fa->s, &fa->root, &fa->uid, err);
}

static void
files_at_close(struct mcp_call *c, struct files_at *fa)
{
	if (fa->root >= 0)
		close(fa->root);
	fa->root = -1;
	session_unref(c->sp, fa->s);
	fa->s = NULL;
}

/* Fetch one URL into dir/name of the session (worker thread). */
static int
fetch_into(struct mcp_call *c, struct files_at *fa, const char *url,
	   const char *dir, const char *name, char *rel, size_t relsz,
	   struct stat *st, struct sp_err *err)
{
	struct files_fetch f = {
		.url = url,
		.name = name,
		.dir = dir,
		.uid = fa->uid,
		.max_bytes = c->sp->cfg->url_max_bytes,
		.timeout_s = c->sp->cfg->url_timeout,
		.allow_private = c->sp->cfg->url_allow_private,
	};

	return files_fetch_url(fa->root, &f, rel, relsz, st, err);
}

/* ------------------------------------------------------------------ */
/* execute_python, run_shell                                           */
/* ------------------------------------------------------------------ */

/* Worker: fetch execute_python.files, then run the code. */
static void
fetch_then_run(struct mcp_call *c)
{
	json_t *files = json_object_get(c->args, "files");
	const char *code = json_string_value(json_object_get(c->args, "code"));
	char rel[FILES_PATH_MAX + 1];
	struct files_at fa;
	struct sp_err err;
	struct stat st;
	json_t *u;
	size_t i;
	int rc;

	rc = files_at_open(c, true, &fa, NULL, &err);
	if (rc < 0) {
		files_at_close(c, &fa);
		mcp_call_finish(c, mcp_tool_error("%s", err.msg));
		return;
	}
	json_array_foreach (files, i, u) {
		if (mcp_call_cancelled(c))
			break;
		rc = fetch_into(c, &fa, json_string_value(u), "", NULL, rel,
				sizeof(rel), &st, &err);
		if (rc < 0)
			break;
		log_debug("mcp fetched files[%zu] into %s", i, rel);
	}
	files_at_close(c, &fa);
	if (mcp_call_cancelled(c)) {
		mcp_call_finish(c, NULL);
		return;
	}
	if (rc < 0) {
		mcp_call_finish(
			c,
			mcp_tool_error("argument \"files\": files[%zu] could "
				       "not be fetched, so the code did not "
				       "run: %s",
				       i, err.msg));
		return;
	}
	run(c, JOB_EXECUTE, code, true);
}

static json_t *
check_files_arg(const json_t *files)
{
	json_t *u;
	size_t i;

	if (files == NULL || json_is_null(files))
		return NULL;
	if (!json_is_array(files))
		return mcp_tool_error("argument \"files\" must be an array of "
				      "URL strings");
	if (json_array_size(files) > FILES_ARG_MAX)
		return mcp_tool_error("argument \"files\" has %zu URLs; at "
				      "most %d are accepted",
				      json_array_size(files), FILES_ARG_MAX);
	json_array_foreach (files, i, u) {
		const char *s = json_string_value(u);

		if (s == NULL || s[0] == '\0')
			return mcp_tool_error("argument \"files\": files[%zu] "
					      "must be a non-empty URL string",
					      i);
		if (strncasecmp(s, "http://", 7) != 0 &&
		    strncasecmp(s, "https://", 8) != 0 &&
		    strncasecmp(s, "data:", 5) != 0)
			return mcp_tool_error("argument \"files\": files[%zu] "
					      "must be an http:, https: or "
					      "data: URL",
					      i);
	}
	return NULL;
}

static void
tool_execute_python(struct mcp_call *c)
{
	static const char *const known[] = {"code", "files", "session_id",
					    NULL};
	json_t *files = json_object_get(c->args, "files"), *r;
	const char *code = NULL;

	r = unknown_args(c->args, known);
	if (r == NULL)
		r = arg_str(c->args, "code", true,
				    c->sp->cfg->max_code, &code);
	if (r == NULL)
		r = check_files_arg(files);
	if (r == NULL)
		r = arg_ident(c, "session_id", false);
	if (r) {
		mcp_call_finish(c, r);
		return;
	}
	if (json_array_size(files) == 0) {
		run(c, JOB_EXECUTE, code, true);
		return;
	}
	if (mcp_call_defer(c, fetch_then_run) < 0)
		mcp_call_finish(
			c, mcp_tool_error("%d downloads are already running; "
					  "retry in a moment",
					  MCP_FETCH_WORKERS));
}

static void
tool_run_shell(struct mcp_call *c)
{
	static const char *const known[] = {"command", "session_id", NULL};
	const char *cmd = NULL;
	json_t *r;

	r = unknown_args(c->args, known);
	if (r == NULL)
		r = arg_str(c->args, "command", true,
				    c->sp->cfg->max_code, &cmd);
	if (r == NULL)
		r = arg_ident(c, "session_id", false);
	if (r) {
		mcp_call_finish(c, r);
		return;
	}
	run(c, JOB_SHELL, cmd, true);
}

/* ------------------------------------------------------------------ */
/* list_files, read_file, upload_file                                  */
/* ------------------------------------------------------------------ */

struct list_ctx {
	json_t *arr;
	struct buf text;
	size_t n;
	bool truncated;
};

static const char *
kind_of(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return "file";
	if (S_ISDIR(st->st_mode))
		return "directory";
	if (S_ISLNK(st->st_mode))
		return "symlink";
	return "other";
}

static int
list_one(void *arg, const char *dir, const char *name, const struct stat *st)
{
	struct list_ctx *l = arg;
	char *path;
	json_t *jp, *e;

	if (l->n >= LIST_MAX) {
		l->truncated = true;
		return 0;
	}
	l->n++;
	path = xasprintf("%s%s%s", dir, dir[0] ? "/" : "", name);
	jp = jname(path);
	e = json_pack("{s:O, s:s}", "path", jp, "type", kind_of(st));
	if (S_ISDIR(st->st_mode)) {
		buf_printf(&l->text, "%s/\n", json_string_value(jp));
	} else {
		json_object_set_new(e, "size",
				    json_integer((json_int_t)st->st_size));
		buf_printf(&l->text, "%s  (%lld bytes)\n",
			   json_string_value(jp), (long long)st->st_size);
	}
	json_array_append_new(l->arr, e);
	json_decref(jp);
	free(path);
	return 0;
}

static void
tool_list_files(struct mcp_call *c)
{
	static const char *const known[] = {"path", "session_id", NULL};
	char dir[FILES_PATH_MAX + 1];
	struct list_ctx l = {0};
	const char *path = NULL;
	struct files_at fa = {NULL, -1, 0};
	bool missing = false;
	struct sp_err err;
	json_t *r;
	char *head;
	int rc;

	r = unknown_args(c->args, known);
	if (r == NULL)
		r = arg_str(c->args, "path", false, FILES_PATH_MAX, &path);
	if (r == NULL)
		r = arg_ident(c, "session_id", false);
	if (r == NULL && files_normalize(path ? path : "", FILES_DIR, dir,
					 sizeof(dir), NULL, &err) < 0)
		r = mcp_tool_error("argument \"path\": %s", err.msg);
	if (r) {
		mcp_call_finish(c, r);
		return;
	}
	l.arr = json_array();
	buf_init(&l.text, 4 * MiB);
	rc = files_at_open(c, false, &fa, &missing, &err);
	if (rc == 0)
		rc = files_list(fa.root, dir, true, list_one, &l, NULL, &err);
	files_at_close(c, &fa);
	if (rc < 0 && !missing) {
		r = mcp_tool_error("argument \"path\": %s", err.msg);
	} else {
		head = xasprintf("/mnt/data%s%s: %zu entr%s%s\n",
				 dir[0] ? "/" : "", dir, l.n,
				 l.n == 1 ? "y" : "ies",
				 l.truncated ? " (truncated)" : "");
		r = json_pack("{s:[{s:s, s:s}], s:{s:s, s:O, s:b}, s:b}",
			      "content", "type", "text", "text", head,
			      "structuredContent", "path", dir, "files", l.arr,
			      "truncated", l.truncated, "isError", 0);
		free(head);
		if (l.text.len) {
			json_t *t = json_object_get(
				json_array_get(json_object_get(r, "content"),
					       0),
				"text");
			char *all = xasprintf("%s%s", json_string_value(t),
					      l.text.data);

			json_string_set(t, all);
			free(all);
		}
	}
	json_decref(l.arr);
	buf_fini(&l.text);
	mcp_call_finish(c, r);
}

/* Read up to max bytes of fd into b. */
static int
read_upto(int fd, struct buf *b, size_t max)
{
	char chunk[65536];

	while (b->len < max) {
		size_t want = max - b->len < sizeof(chunk) ? max - b->len
							   : sizeof(chunk);
		ssize_t n = read(fd, chunk, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if (buf_append(b, chunk, (size_t)n) < 0)
			return -E2BIG;
	}
	return 0;
}

static bool
is_image(const char *ctype)
{
	return strcmp(ctype, "image/png") == 0 ||
	       strcmp(ctype, "image/jpeg") == 0 ||
	       strcmp(ctype, "image/gif") == 0 ||
	       strcmp(ctype, "image/webp") == 0;
}

static bool
is_textual(const char *ctype)
{
	return strncmp(ctype, "text/", 5) == 0 || strstr(ctype, "json") ||
	       strstr(ctype, "xml") || strstr(ctype, "javascript") ||
	       strstr(ctype, "yaml") || strstr(ctype, "csv") ||
	       strcmp(ctype, "application/octet-stream") == 0;
}

static json_t *
read_result(const char *rel, int fd, const struct stat *st)
{
	const char *full = files_content_type(rel);
	char ctype[96];
	uint64_t size = (uint64_t)st->st_size;
	bool text;
	struct buf b, enc;
	json_t *item, *r;
	size_t ok;
	bool cut = false;
	char *uri;
	int rc;

	/* The media type without parameters ("; charset=utf-8"). */
	snprintf(ctype, sizeof(ctype), "%.*s", (int)strcspn(full, "; "), full);
	text = is_textual(ctype) && !is_image(ctype);
	buf_init(&b, READ_BLOB_MAX);
	rc = read_upto(fd, &b, text ? READ_TEXT_MAX + 4 : READ_BLOB_MAX);
	if (rc < 0) {
		buf_fini(&b);
		return mcp_tool_error("argument \"path\": reading %s failed: "
				      "%s",
				      rel, strerror(-rc));
	}
	if (text) {
		ok = utf8_prefix((const unsigned char *)b.data, b.len);
		/* A cut inside a character at the cap is fine; anything
		 * else not UTF-8 is binary. */
		if (ok == b.len || (b.len > READ_TEXT_MAX && b.len - ok <= 4 &&
				    ok >= READ_TEXT_MAX - 4))
			cut = size > ok;
		else
			text = false;
		if (text && ok > READ_TEXT_MAX) {
			ok = utf8_prefix((const unsigned char *)b.data,
					 READ_TEXT_MAX);
			cut = true;
		}
	}
	if (text) {
		char *t = cut ? xasprintf("%.*s\n[sandpool: the file is %llu "
					  "bytes; only the first %zu are "
					  "shown]",
					  (int)ok, b.data,
					  (unsigned long long)size, ok)
			      : xstrndup(b.data, ok);

		item = json_pack("{s:s, s:s}", "type", "text", "text", t);
		free(t);
	} else {
		if (size > READ_BLOB_MAX) {
			buf_fini(&b);
			return mcp_tool_error(
				"argument \"path\": %s is %llu bytes; "
				"read_file returns binary files of at most "
				"%llu bytes (read it in execute_python "
				"instead)",
				rel, (unsigned long long)size,
				(unsigned long long)READ_BLOB_MAX);
		}
		buf_init(&enc, READ_BLOB_MAX / 3 * 4 + 16);
		base64_encode(b.data ? b.data : "", b.len, &enc);
		if (is_image(ctype)) {
			item = json_pack("{s:s, s:s, s:s}", "type", "image",
					 "data", enc.data ? enc.data : "",
					 "mimeType", ctype);
		} else {
			uri = xasprintf("file:///mnt/data/%s", rel);
			item = json_pack("{s:s, s:{s:o, s:s, s:s}}", "type",
					 "resource", "resource", "uri",
					 jname(uri), "mimeType", ctype, "blob",
					 enc.data ? enc.data : "");
			free(uri);
		}
		buf_fini(&enc);
	}
	buf_fini(&b);
	r = json_pack("{s:[o], s:{s:o, s:I, s:s, s:b}, s:b}", "content", item,
		      "structuredContent", "path", jname(rel), "size",
		      (json_int_t)size, "mimeType", ctype, "truncated", cut,
		      "isError", 0);
	return r;
}

static void
tool_read_file(struct mcp_call *c)
{
	static const char *const known[] = {"path", "session_id", NULL};
	char rel[FILES_PATH_MAX + 1];
	struct files_at fa = {NULL, -1, 0};
	const char *path = NULL;
	bool missing = false;
	struct sp_err err;
	struct stat st;
	int fd = -1, rc;
	json_t *r;

	r = unknown_args(c->args, known);
	if (r == NULL)
		r = arg_str(c->args, "path", true, FILES_PATH_MAX, &path);
	if (r == NULL)
		r = arg_ident(c, "session_id", false);
	if (r == NULL &&
	    files_normalize(path, 0, rel, sizeof(rel), NULL, &err) < 0)
		r = mcp_tool_error("argument \"path\": %s", err.msg);
	if (r) {
		mcp_call_finish(c, r);
		return;
	}
	rc = files_at_open(c, false, &fa, &missing, &err);
	if (rc == 0)
		rc = files_open_read(fa.root, rel, &fd, &st, &err);
	if (rc < 0)
		r = missing ? mcp_tool_error("argument \"path\": no file "
					     "\"%.200s\": the session has no "
					     "files yet",
					     path)
			    : mcp_tool_error("argument \"path\": %s", err.msg);
	else
		r = read_result(rel, fd, &st);
	if (fd >= 0)
		close(fd);
	files_at_close(c, &fa);
	mcp_call_finish(c, r);
}

/* Split a normalised file path into its directory and last name. */
static void
split_rel(const char *rel, char *dir, size_t dirsz, const char **base)
{
	const char *slash = strrchr(rel, '/');

	snprintf(dir, dirsz, "%.*s", slash ? (int)(slash - rel) : 0, rel);
	*base = slash ? slash + 1 : rel;
}

static json_t *
stored(const char *rel, const struct stat *st)
{
	char *text = xasprintf("stored /mnt/data/%s (%lld bytes)", rel,
			       (long long)st->st_size);
	json_t *r =
		mcp_tool_text(text, json_pack("{s:o, s:I}", "path", jname(rel),
					      "size", (json_int_t)st->st_size));

	free(text);
	return r;
}

/* Worker: upload_file with a url. */
static void
upload_fetch(struct mcp_call *c)
{
	const char *url = json_string_value(json_object_get(c->args, "url"));
	char rel[FILES_PATH_MAX + 1], dir[FILES_PATH_MAX + 1];
	char got[FILES_PATH_MAX + 1];
	struct files_at fa;
	const char *base;
	struct sp_err err;
	struct stat st;
	json_t *r;
	int rc;

	/* tool_upload_file normalised it already. */
	files_normalize(json_string_value(json_object_get(c->args, "path")), 0,
			rel, sizeof(rel), NULL, &err);
	split_rel(rel, dir, sizeof(dir), &base);
	rc = files_at_open(c, true, &fa, NULL, &err);
	if (rc == 0)
		rc = fetch_into(c, &fa, url, dir, base, got, sizeof(got), &st,
				&err);
	files_at_close(c, &fa);
	if (rc < 0)
		r = mcp_tool_error("argument \"url\": %s", err.msg);
	else
		r = stored(got, &st);
	mcp_call_finish(c, r);
}

static json_t *
upload_bytes(struct mcp_call *c, const char *rel, const char *b64)
{
	char dir[FILES_PATH_MAX + 1];
	struct files_at fa;
	struct files_tmp t;
	const char *base;
	struct sp_err err;
	struct stat st;
	struct buf data;
	int dfd = -1, rc;
	json_t *r;

	files_tmp_init(&t);
	buf_init(&data, c->sp->cfg->upload_max);
	if (base64_decode(b64, strlen(b64), &data) < 0) {
		buf_fini(&data);
		return mcp_tool_error(
			"argument \"content_base64\" is not "
			"valid base64, or decodes to more than "
			"%llu bytes (files.upload_max)",
			(unsigned long long)c->sp->cfg->upload_max);
	}
	split_rel(rel, dir, sizeof(dir), &base);
	rc = files_at_open(c, true, &fa, NULL, &err);
	if (rc == 0)
		rc = files_open_dir(fa.root, dir, true, fa.uid, &dfd, &err);
	if (rc == 0)
		rc = files_tmp_open(dfd, fa.uid, c->sp->cfg->upload_max,
				    "files.upload_max", &t, &err);
	if (rc == 0 && data.len > 0)
		rc = files_tmp_write(&t, data.data, data.len, &err);
	if (rc == 0)
		rc = files_tmp_commit(&t, dfd, base, &st, &err);
	files_tmp_discard(&t);
	if (dfd >= 0)
		close(dfd);
	files_at_close(c, &fa);
	buf_fini(&data);
	if (rc < 0)
		return mcp_tool_error("argument \"path\": %s", err.msg);
	r = stored(rel, &st);
	return r;
}

static void
tool_upload_file(struct mcp_call *c)
{
	static const char *const known[] = {"path", "url", "content_base64",
					    "session_id", NULL};
	char rel[FILES_PATH_MAX + 1];
	const char *path = NULL, *url = NULL, *b64 = NULL;
	const json_t *bv = json_object_get(c->args, "content_base64");
	struct sp_err err;
	json_t *r;

	r = unknown_args(c->args, known);
	if (r == NULL)
		r = arg_str(c->args, "path", true, FILES_PATH_MAX, &path);
	if (r == NULL)
		r = arg_str(c->args, "url", false, FETCH_URL_MAX, &url);
	if (r == NULL && bv && !json_is_null(bv)) {
		if (!json_is_string(bv))
			r = mcp_tool_error("argument \"content_base64\" must "
					   "be a string");
		else
			b64 = json_string_value(bv); /* "" = empty file */
	}
	if (r == NULL && (url == NULL) == (b64 == NULL))
		r = mcp_tool_error("send exactly one of the arguments \"url\" "
				   "(a URL to download) or \"content_base64\" "
				   "(the file's bytes in base64)");
	if (r == NULL)
		r = arg_ident(c, "session_id", false);
	if (r == NULL &&
	    files_normalize(path, 0, rel, sizeof(rel), NULL, &err) < 0)
		r = mcp_tool_error("argument \"path\": %s", err.msg);
	if (r) {
		mcp_call_finish(c, r);
		return;
	}
	if (b64) {
		mcp_call_finish(c, upload_bytes(c, rel, b64));
		return;
	}
	if (mcp_call_defer(c, upload_fetch) < 0)
		mcp_call_finish(
			c, mcp_tool_error("%d downloads are already running; "
					  "retry in a moment",
					  MCP_FETCH_WORKERS));
}

/* ------------------------------------------------------------------ */
/* the Azure Container Apps set                                        */
/* ------------------------------------------------------------------ */

static void
tool_launch_shell(struct mcp_call *c)
{
	static const char *const known[] = {NULL};
	struct session *s = NULL;
	struct sp_err err;
	char hex[33];
	json_t *r;
	char *text;

	r = unknown_args(c->args, known);
	if (r) {
		mcp_call_finish(c, r);
		return;
	}
	random_hex(hex, 16);
	snprintf(c->ident, sizeof(c->ident), "env-%s", hex);
	/* Made now, so that an unknown environmentId later means expired. */
	if (session_get(c->sp, c->ms->principal, c->ms->pool, c->ident, true,
			&s, &err) < 0) {
		mcp_call_finish(c, mcp_tool_error("%s", err.msg));
		return;
	}
	session_unref(c->sp, s);
	text = xasprintf("environmentId: %s", c->ident);
	mcp_call_finish(c,
			mcp_tool_text(text, json_pack("{s:s}", "environmentId",
						      c->ident)));
	free(text);
}

static void
tool_run_python_env(struct mcp_call *c)
{
	static const char *const known[] = {"environmentId", "pythonCode",
					    NULL};
	const char *code = NULL;
	json_t *r;

	r = unknown_args(c->args, known);
	if (r == NULL)
		r = arg_ident(c, "environmentId", true);
	if (r == NULL)
		r = arg_str(c->args, "pythonCode", true,
				    c->sp->cfg->max_code, &code);
	if (r) {
		mcp_call_finish(c, r);
		return;
	}
	run(c, JOB_EXECUTE, code, false);
}

/* Append s to b as one single-quoted shell word. */
static void
shell_quote(struct buf *b, const char *s)
{
	buf_append(b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			buf_append(b, "'\\''", 4);
		else
			buf_append(b, s, 1);
	}
	buf_append(b, "'", 1);
}

static void
tool_run_shell_env(struct mcp_call *c)
{
	static const char *const known[] = {"environmentId", "shellCommand",
					    "execCommandAndArgs", NULL};
	const json_t *argv = json_object_get(c->args, "execCommandAndArgs");
	const char *cmd = NULL;
	struct buf line;
	json_t *r, *a;
	size_t i;

	buf_init(&line, c->sp->cfg->max_code + 1);
	r = unknown_args(c->args, known);
	if (r == NULL)
		r = arg_ident(c, "environmentId", true);
	if (r == NULL)
		r = arg_str(c->args, "shellCommand", false,
				    c->sp->cfg->max_code, &cmd);
	if (r == NULL && argv && !json_is_null(argv)) {
		if (!json_is_array(argv) || json_array_size(argv) == 0 ||
		    json_array_size(argv) > ARGV_MAX)
			r = mcp_tool_error("argument \"execCommandAndArgs\" "
					   "must be an array of 1 to %d "
					   "strings",
					   ARGV_MAX);
		json_array_foreach (argv, i, a) {
			const char *s = json_string_value(a);

			if (r)
				break;
			if (s == NULL || strlen(s) != json_string_length(a)) {
				r = mcp_tool_error(
					"argument \"execCommandAndArgs\": "
					"item %zu must be a string without "
					"NUL",
					i);
				break;
			}
			if (i > 0)
				buf_append(&line, " ", 1);
			shell_quote(&line, s);
		}
	}
	if (r == NULL && (cmd == NULL) == (line.len == 0))
		r = mcp_tool_error("send exactly one of the arguments "
				   "\"shellCommand\" (a bash command line) or "
				   "\"execCommandAndArgs\" (argv as an array)");
	if (r) {
		buf_fini(&line);
		mcp_call_finish(c, r);
		return;
	}
	run(c, JOB_SHELL, cmd ? cmd : line.data, false);
	buf_fini(&line);
}

/* ------------------------------------------------------------------ */
/* the table                                                           */
/* ------------------------------------------------------------------ */

#define SESSION_ID_PROP                                                        \
	"\"session_id\": {\"type\": \"string\", \"minLength\": 1, "            \
	"\"maxLength\": 256, \"description\": \"Optional. The session to "     \
	"use; the same identifier the REST API takes. Omit it to use this "    \
	"conversation's own session.\"}"

#define PY_OUT                                                                 \
	"{\"type\": \"object\", \"properties\": {"                             \
	"\"result\": {\"type\": [\"string\", \"null\"], \"description\": "     \
	"\"Text of the last expression's value; null for None; empty when "    \
	"the code ends with a statement.\"}, "                                 \
	"\"stdout\": {\"type\": \"string\"}, "                                 \
	"\"stderr\": {\"type\": \"string\"}, "                                 \
	"\"error\": {\"type\": \"object\", \"description\": \"Present when "   \
	"the code failed: code is PythonError, Timeout, OutOfMemory, "         \
	"KernelDied, ImportNotAllowed, OutputTruncated or "                    \
	"SandboxUnavailable.\", \"properties\": {"                             \
	"\"code\": {\"type\": \"string\"}, "                                   \
	"\"message\": {\"type\": \"string\"}, "                                \
	"\"stack\": {\"type\": \"string\"}}}}}"

#define SH_OUT                                                                 \
	"{\"type\": \"object\", \"properties\": {"                             \
	"\"stdout\": {\"type\": \"string\"}, "                                 \
	"\"stderr\": {\"type\": \"string\"}, "                                 \
	"\"exitCode\": {\"type\": \"integer\"}, "                              \
	"\"error\": {\"type\": \"object\"}}}"

static const struct mcp_tool tools[] = {
	{
		.name = "execute_python",
		.title = "Run Python",
		.description =
			"Run Python 3 code in a sandboxed, stateful session "
			"and return what it printed, the value of its last "
			"expression and any matplotlib figures (as PNG "
			"images). Use it to compute instead of guessing: "
			"arithmetic, statistics, dates, parsing, CSV or "
			"Excel analysis, charts. Variables, imports and "
			"files persist between calls. The working "
			"directory is /mnt/data; files listed in `files` "
			"(URLs) are downloaded there first, so open them "
			"by name. There is no network access. numpy, "
			"pandas, matplotlib and the standard library are "
			"available. On an error the traceback comes back "
			"with isError: fix the code and call again.",
		.input_schema =
			"{\"type\": \"object\", \"properties\": {"
			"\"code\": {\"type\": \"string\", \"minLength\": 1, "
			"\"description\": \"A complete Python script. Print "
			"results or end with an expression whose value you "
			"want back.\"}, "
			"\"files\": {\"type\": \"array\", \"maxItems\": 16, "
			"\"items\": {\"type\": \"string\"}, \"description\": "
			"\"Optional. URLs (https: or data:) to download into "
			"/mnt/data before the code runs.\"}, " SESSION_ID_PROP
			"}, \"required\": [\"code\"], "
			"\"additionalProperties\": false}",
		.output_schema = PY_OUT,
		.destructive = true,
		.function_calling = true,
		.call = tool_execute_python,
	},
	{
		.name = "run_shell",
		.title = "Run a shell command",
		.description =
			"Run a bash command line in the same sandbox as "
			"execute_python (same session, same /mnt/data "
			"working directory, no network) and return stdout, "
			"stderr and the exit code. Use it for file "
			"management (ls, head, unzip, wc) or command-line "
			"tools; use execute_python for computation.",
		.input_schema =
			"{\"type\": \"object\", \"properties\": {"
			"\"command\": {\"type\": \"string\", \"minLength\": "
			"1, \"description\": \"The command line, run with "
			"bash -c.\"}, " SESSION_ID_PROP
			"}, \"required\": [\"command\"], "
			"\"additionalProperties\": false}",
		.output_schema = SH_OUT,
		.destructive = true,
		.function_calling = true,
		.call = tool_run_shell,
	},
	{
		.name = "list_files",
		.title = "List session files",
		.description =
			"List the files in the session's working directory "
			"/mnt/data (recursively), with their sizes: inputs "
			"you uploaded and files your code wrote.",
		.input_schema =
			"{\"type\": \"object\", \"properties\": {"
			"\"path\": {\"type\": \"string\", \"description\": "
			"\"Optional. A directory under /mnt/data to list; "
			"default /mnt/data itself.\"}, " SESSION_ID_PROP
			"}, \"additionalProperties\": false}",
		.output_schema = "{\"type\": \"object\", \"properties\": {"
				 "\"path\": {\"type\": \"string\"}, "
				 "\"files\": {\"type\": \"array\", \"items\": "
				 "{\"type\": \"object\", \"properties\": {"
				 "\"path\": {\"type\": \"string\"}, "
				 "\"type\": {\"type\": \"string\"}, "
				 "\"size\": {\"type\": \"integer\"}}}}, "
				 "\"truncated\": {\"type\": \"boolean\"}}}",
		.read_only = true,
		.idempotent = true,
		.function_calling = true,
		.call = tool_list_files,
	},
	{
		.name = "read_file",
		.title = "Read a session file",
		.description =
			"Read a file from the session's /mnt/data: text "
			"comes back as text (the first 256 KiB), images as "
			"images, other files as a base64 resource (up to 8 "
			"MiB). For large data, analyse it with "
			"execute_python instead.",
		.input_schema =
			"{\"type\": \"object\", \"properties\": {"
			"\"path\": {\"type\": \"string\", \"minLength\": 1, "
			"\"description\": \"The file, relative to /mnt/data "
			"or absolute under it.\"}, " SESSION_ID_PROP
			"}, \"required\": [\"path\"], "
			"\"additionalProperties\": false}",
		.output_schema = "{\"type\": \"object\", \"properties\": {"
				 "\"path\": {\"type\": \"string\"}, "
				 "\"size\": {\"type\": \"integer\"}, "
				 "\"mimeType\": {\"type\": \"string\"}, "
				 "\"truncated\": {\"type\": \"boolean\"}}}",
		.read_only = true,
		.idempotent = true,
		.function_calling = true,
		.call = tool_read_file,
	},
	{
		.name = "upload_file",
		.title = "Put a file into the session",
		.description =
			"Store a file in the session's /mnt/data, from a URL "
			"(downloaded by the server) or from base64 content, "
			"so that code can open it by name. Send exactly one "
			"of url or content_base64. An existing file is "
			"replaced.",
		.input_schema =
			"{\"type\": \"object\", \"properties\": {"
			"\"path\": {\"type\": \"string\", \"minLength\": 1, "
			"\"description\": \"Where to store it, relative to "
			"/mnt/data (directories are created).\"}, "
			"\"url\": {\"type\": \"string\", \"description\": "
			"\"An http(s): or data: URL to download.\"}, "
			"\"content_base64\": {\"type\": \"string\", "
			"\"description\": \"The file's bytes, "
			"base64.\"}, " SESSION_ID_PROP
			"}, \"required\": [\"path\"], "
			"\"additionalProperties\": false}",
		.output_schema = "{\"type\": \"object\", \"properties\": {"
				 "\"path\": {\"type\": \"string\"}, "
				 "\"size\": {\"type\": \"integer\"}}}",
		.destructive = true,
		.idempotent = true,
		.open_world = true,
		.function_calling = true,
		.call = tool_upload_file,
	},
	{
		.name = "launchShell",
		.title = "Start an environment",
		.description =
			"Start a new sandboxed environment (a Python and "
			"bash session) and return its environmentId, which "
			"runPythonCodeInRemoteEnvironment and "
			"runShellCommandInRemoteEnvironment take. An "
			"environment idle for the pool's cooldown expires; "
			"then call launchShell again.",
		.input_schema = "{\"type\": \"object\", \"properties\": {}, "
				"\"additionalProperties\": false}",
		.output_schema = "{\"type\": \"object\", \"properties\": {"
				 "\"environmentId\": {\"type\": "
				 "\"string\"}}}",
		.call = tool_launch_shell,
	},
	{
		.name = "launchPythonEnvironment",
		.title = "Start an environment",
		.description = "The older name of launchShell: start a new "
			       "sandboxed environment and return its "
			       "environmentId.",
		.input_schema = "{\"type\": \"object\", \"properties\": {}, "
				"\"additionalProperties\": false}",
		.output_schema = "{\"type\": \"object\", \"properties\": {"
				 "\"environmentId\": {\"type\": "
				 "\"string\"}}}",
		.call = tool_launch_shell,
	},
	{
		.name = "runPythonCodeInRemoteEnvironment",
		.title = "Run Python in an environment",
		.description =
			"Run Python code in the environment launchShell "
			"returned; state persists between calls. Returns "
			"stdout, stderr, the last expression's value and "
			"figures as PNG images.",
		.input_schema =
			"{\"type\": \"object\", \"properties\": {"
			"\"environmentId\": {\"type\": \"string\", "
			"\"description\": \"From launchShell.\"}, "
			"\"pythonCode\": {\"type\": \"string\", "
			"\"minLength\": 1, \"description\": \"The Python "
			"code to run.\"}}, \"required\": [\"environmentId\", "
			"\"pythonCode\"], \"additionalProperties\": false}",
		.output_schema = PY_OUT,
		.destructive = true,
		.call = tool_run_python_env,
	},
	{
		.name = "runShellCommandInRemoteEnvironment",
		.title = "Run a command in an environment",
		.description =
			"Run a shell command in the environment launchShell "
			"returned, given as a bash command line "
			"(shellCommand) or as argv (execCommandAndArgs). "
			"Returns stdout, stderr and exitCode.",
		.input_schema =
			"{\"type\": \"object\", \"properties\": {"
			"\"environmentId\": {\"type\": \"string\", "
			"\"description\": \"From launchShell.\"}, "
			"\"shellCommand\": {\"type\": \"string\", "
			"\"description\": \"A command line for bash -c.\"}, "
			"\"execCommandAndArgs\": {\"type\": \"array\", "
			"\"items\": {\"type\": \"string\"}, \"description\": "
			"\"The program and its arguments, not interpreted "
			"by a shell.\"}}, \"required\": [\"environmentId\"], "
			"\"additionalProperties\": false}",
		.output_schema = SH_OUT,
		.destructive = true,
		.call = tool_run_shell_env,
	},
};

const struct mcp_tool *
mcp_tool_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tools); i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

static json_t *
schema(const char *text, const char *tool)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (!json_is_object(v))
		fatalx("built-in schema of %s: %s (column %d)", tool, e.text,
		       e.column);
	return v;
}

static json_t *
tool_mcp(const struct mcp_tool *t)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:{s:s, s:b, s:b, s:b, "
			 "s:b}}",
			 "name", t->name, "title", t->title, "description",
			 t->description, "inputSchema",
			 schema(t->input_schema, t->name), "outputSchema",
			 schema(t->output_schema, t->name), "annotations",
			 "title", t->title, "readOnlyHint", t->read_only,
			 "destructiveHint", t->destructive, "idempotentHint",
			 t->idempotent, "openWorldHint", t->open_world);
}

json_t *
mcp_tools_list(void)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tools); i++)
		json_array_append_new(arr, tool_mcp(&tools[i]));
	return arr;
}

/* ------------------------------------------------------------------ */
/* the code_interpreter prompt (seed 003's companion skill)            */
/* ------------------------------------------------------------------ */

static const char skill[] =
	"You can run Python with the execute_python tool. Follow these "
	"rules.\n"
	"\n"
	"When to run code: whenever an answer is better computed than "
	"recalled. Arithmetic beyond a trivial sum, statistics, unit or "
	"date calculations, counting, sorting or aggregating data, parsing "
	"long text or large tool outputs, and anything about an attached "
	"file all go through code. Do not estimate a number you could "
	"compute.\n"
	"\n"
	"Attached files: pass their URLs in the `files` argument; they are "
	"downloaded into the working directory before the code runs. Open "
	"them by file name in the code (csv, json, openpyxl or pandas) and "
	"work on them there. Never paste a file's contents into the code "
	"or the conversation.\n"
	"\n"
	"Writing the code: send a complete script. Print what you need, or "
	"end with an expression whose value you want back. State persists "
	"between calls, so you can build on earlier results. There is no "
	"network access.\n"
	"\n"
	"When it fails: the result has isError set and carries the "
	"traceback. Read it, fix the code and run it again, at most twice. "
	"If it still fails, tell the user what went wrong.\n"
	"\n"
	"Missing libraries: if an import is refused (error code "
	"ImportNotAllowed) or a module is missing, redo the work with the "
	"standard library (csv, json, statistics, math, datetime, re), or "
	"tell the user the library is not available.\n"
	"\n"
	"Honesty: report only what the code actually returned. If the code "
	"failed, never make up a result; say that it failed and why.\n";

json_t *
mcp_prompts_list(void)
{
	return json_pack("[{s:s, s:s, s:s, s:[]}]", "name", "code_interpreter",
			 "title", "Code interpreter skill", "description",
			 "When and how to use execute_python: compute instead "
			 "of guessing, read attached files in code, retry "
			 "after errors, never fabricate results.",
			 "arguments");
}

json_t *
mcp_prompt_get(const char *name)
{
	if (strcmp(name, "code_interpreter") != 0)
		return NULL;
	return json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}]}", "description",
			 "Guidance for using the execute_python tool",
			 "messages", "role", "user", "content", "type", "text",
			 "text", skill);
}

/* ------------------------------------------------------------------ */
/* sandpool tools                                                      */
/* ------------------------------------------------------------------ */

static void
tools_usage(FILE *f)
{
	fprintf(f, "usage: sandpool tools --format FORMAT [--tool NAME]...\n"
		   "\n"
		   "Print tool definitions for LLM function calling.\n"
		   "  -f, --format FORMAT  openai-chat (Chat Completions), "
		   "openai-responses\n"
		   "                       (Responses API), anthropic "
		   "(Messages API) or mcp\n"
		   "  -t, --tool NAME      only this tool (repeatable); "
		   "default: execute_python,\n"
		   "                       run_shell, list_files, read_file, "
		   "upload_file\n");
}

int
mcp_tools_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"tool", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *format = NULL, *want[ARRAY_SIZE(tools)];
	size_t nwant = 0, i, k;
	json_t *out, *t;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			format = optarg;
			break;
		case 't':
			if (mcp_tool_find(optarg) == NULL) {
				fprintf(stderr,
					"sandpool tools: unknown tool \"%s\"\n",
					optarg);
				return 2;
			}
			if (nwant < ARRAY_SIZE(want))
				want[nwant++] = optarg;
			break;
		case 'h':
			tools_usage(stdout);
			return 0;
		default:
			tools_usage(stderr);
			return 2;
		}
	}
	if (optind < argc || format == NULL ||
	    (strcmp(format, "openai-chat") != 0 &&
	     strcmp(format, "openai-responses") != 0 &&
	     strcmp(format, "anthropic") != 0 && strcmp(format, "mcp") != 0)) {
		fprintf(stderr, "sandpool tools: --format must be openai-chat, "
				"openai-responses, anthropic or mcp\n");
		tools_usage(stderr);
		return 2;
	}
	out = json_array();
	for (i = 0; i < ARRAY_SIZE(tools); i++) {
		const struct mcp_tool *tl = &tools[i];
		json_t *in;

		if (nwant == 0 && !tl->function_calling)
			continue;
		for (k = 0; k < nwant; k++)
			if (strcmp(want[k], tl->name) == 0)
				break;
		if (nwant > 0 && k == nwant)
			continue;
		in = schema(tl->input_schema, tl->name);
		if (strcmp(format, "openai-chat") == 0)
			t = json_pack("{s:s, s:{s:s, s:s, s:o}}", "type",
				      "function", "function", "name", tl->name,
				      "description", tl->description,
				      "parameters", in);
		else if (strcmp(format, "openai-responses") == 0)
			t = json_pack("{s:s, s:s, s:s, s:o}", "type",
				      "function", "name", tl->name,
				      "description", tl->description,
				      "parameters", in);
		else if (strcmp(format, "anthropic") == 0)
			t = json_pack("{s:s, s:s, s:o}", "name", tl->name,
				      "description", tl->description,
				      "input_schema", in);
		else {
			json_decref(in);
			t = tool_mcp(tl);
		}
		json_array_append_new(out, t);
	}
	if (strcmp(format, "mcp") == 0)
		out = json_pack("{s:o}", "tools", out);
	if (json_dumpf(out, stdout, JSON_INDENT(2)) < 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		json_decref(out);
		fprintf(stderr, "sandpool tools: writing stdout failed\n");
		return 1;
	}
	json_decref(out);
	return 0;
}
