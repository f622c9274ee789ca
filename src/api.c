// SPDX-License-Identifier: MIT
/*
 * api.c: dispatch of routed requests.  In order: health probes (no auth),
 * routing errors, authentication, the method check (405 with Allow), the
 * identifier, then the handler.  Also the small session endpoints (GET and
 * DELETE session, listSessions, stopSession) and GET metadata.
 *
 * Every 4xx body is {"error":{"code","message"}} with x-ms-error-code, and
 * the message says what was wrong and what is accepted.
 */
#define _GNU_SOURCE
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "health.h"
#include "json.h"
#include "log.h"
#include "mcp_http.h"
#include "metrics.h"
#include "priv.h"

#define IDENT_MAX 256

int
api_identifier_ok(const char *id, struct sp_err *err)
{
	size_t n, i;

	if (id == NULL || id[0] == '\0')
		return sp_errf(err, 400, "InvalidIdentifier",
			       "the identifier query parameter is required: "
			       "1 to %d bytes, no control characters",
			       IDENT_MAX);
	n = strlen(id);
	if (n > IDENT_MAX)
		return sp_errf(err, 400, "InvalidIdentifier",
			       "the identifier is %zu bytes; 1 to %d bytes "
			       "are accepted",
			       n, IDENT_MAX);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)id[i];

		if (ch < 0x20 || ch == 0x7f)
			return sp_errf(err, 400, "InvalidIdentifier",
				       "the identifier contains a control "
				       "character (byte %zu); printable "
				       "characters only",
				       i);
	}
	return 0;
}

void
api_audit(struct api_ctx *c, struct audit_row *row)
{
	if (c->sp->audit == NULL)
		return;
	row->principal = c->principal;
	row->pool = c->pool;
	if (row->identifier == NULL)
		row->identifier = c->identifier;
	row->ctx = &c->actx;
	row->req_id = c->rq ? c->rq->id : 0;
	audit_record(c->sp->audit, row);
}

/* ---- session endpoints ---- */

static void
get_session(struct api_ctx *c)
{
	struct session *s = NULL;
	struct sp_err err;

	if (session_get(c->sp, c->principal, c->pool, c->identifier, false,
			&s, &err) < 0) {
		http_reply_error(c->rq, &err);
		return;
	}
	http_reply_json(c->rq, 200, session_describe(c->sp, s), NULL);
	session_unref(c->sp, s);
}

static void
delete_session(struct api_ctx *c, bool stop_text)
{
	struct session *s = NULL;
	struct sp_err err;
	char text[512];

	struct audit_row row = {.op = AUDIT_OP_SESSION_DELETE,
				.duration_ms = -1, .cpu_ms = -1,
				.peak_mem = -1, .bytes_in = -1,
				.bytes_out = -1};

	if (session_get(c->sp, c->principal, c->pool, c->identifier, false,
			&s, &err) < 0) {
		row.status = AUDIT_FAILED;
		row.error_code = err.code;
		row.http_status = err.http;
		api_audit(c, &row);
		http_reply_error(c->rq, &err);
		return;
	}
	row.sid = s->sid;
	snprintf(c->rq->sid, sizeof(c->rq->sid), "%s", s->sid);
	row.status = AUDIT_SUCCEEDED;
	row.http_status = stop_text ? 200 : 204;
	api_audit(c, &row);
	session_destroy(c->sp, s);
	session_unref(c->sp, s);
	if (stop_text) {
		snprintf(text, sizeof(text),
			 "Session %s in session pool %s stopped.",
			 c->identifier, c->pool);
		http_reply_raw(c->rq, 200, "text/plain; charset=utf-8", text,
			       strlen(text));
		return;
	}
	http_reply_empty(c->rq, 204);
}

static void
list_sessions(struct api_ctx *c)
{
	const char *skip_s = http_query(c->rq, "skip");
	uint64_t skip = 0;
	struct sp_err err;

	if (skip_s && (parse_u64(skip_s, &skip) < 0 || skip > 1000000)) {
		sp_errf(&err, 400, "InvalidRequest",
			"skip must be a whole number from 0 to 1000000");
		http_reply_error(c->rq, &err);
		return;
	}
	http_reply_json(c->rq, 200,
			json_pack("{s:o, s:n}", "sessions",
				  session_list(c->sp, c->principal,
					       (c->auth.scopes &
						AUTH_SCOPE_ADMIN) != 0,
					       (uint32_t)skip),
				  "nextLink"),
			NULL);
}

/* ---- metadata ---- */

/*
 * The Python version and preinstalled packages, read once from the same
 * interpreter the sandboxes run (outside any sandbox: this is metadata
 * about the image, not a session).
 */
static const char metadata_script[] =
	"import json, sys, importlib.metadata as m\n"
	"pk = {}\n"
	"for d in m.distributions():\n"
	"    n = d.metadata['Name']\n"
	"    if n: pk[n.lower()] = d.version\n"
	"print(json.dumps({'python': '%d.%d.%d' % sys.version_info[:3],\n"
	"  'packages': sorted([{'name': k, 'version': v}\n"
	"                      for k, v in pk.items()],\n"
	"                     key=lambda x: x['name'])}))\n";

static char *
run_metadata(struct sandpool *sp)
{
	char *argv[] = {sp->cfg->python, (char *)"-I", (char *)"-c",
			(char *)metadata_script, NULL};
	char *envp[] = {(char *)"LANG=C.UTF-8", NULL};
	char *out = NULL;
	int rc = priv_run_capture(argv, envp, 4 * MiB, 20000, &out);

	if (rc < 0)
		log_warnx("reading the package list: %s", strerror(-rc));
	return out;
}

static void
get_metadata(struct api_ctx *c)
{
	struct sandpool *sp = c->sp;
	json_t *info = NULL, *body;
	json_error_t jerr;
	struct sp_err err;
	char *text;

	pthread_mutex_lock(&sp->metadata_lock);
	if (sp->metadata_json == NULL)
		sp->metadata_json = run_metadata(sp);
	text = sp->metadata_json ? xstrdup(sp->metadata_json) : NULL;
	pthread_mutex_unlock(&sp->metadata_lock);
	if (text)
		info = json_loads(text, 0, &jerr);
	free(text);
	if (!json_is_object(info)) {
		json_decref(info);
		sp_errf(&err, 500, "InternalError",
			"could not read the interpreter's package list");
		http_reply_error(c->rq, &err);
		return;
	}
	body = json_pack(
		"{s:[{s:s, s:O}], s:O, s:{s:s, s:s, s:s}}", "runtimes", "name",
		"python", "version", json_object_get(info, "python"),
		"preInstalledPackages", json_object_get(info, "packages"),
		"jupyterKernel", "name", "sandpool", "version", "1",
		"description", "sandpool Python kernel (not Jupyter)");
	json_decref(info);
	http_reply_json(c->rq, 200, body, NULL);
}

/* ---- health ---- */

/*
 * A startup probe: ready once every pool has had its warm sandboxes and
 * the probe ran 1+1 in a sandbox (health.c), and from then on, even while
 * a pool refills behind a new session.
 */
static bool
startup_ready(struct sandpool *sp)
{
	return health_startup_ready(sp);
}

/* ---- metrics ---- */

#define METRICS_MAX (8 * MiB)

static void
get_metrics(struct api_ctx *c)
{
	struct buf b;
	struct sp_err err;

	buf_init(&b, METRICS_MAX);
	if (metrics_render(c->sp, &b) < 0) {
		sp_errf(&err, 500, "InternalError",
			"the metrics page outgrew %llu bytes",
			(unsigned long long)METRICS_MAX);
		http_reply_error(c->rq, &err);
	} else {
		http_reply_raw(c->rq, 200,
			       "text/plain; version=0.0.4; charset=utf-8",
			       b.data ? b.data : "", b.len);
	}
	buf_fini(&b);
}

static void
health(struct http_req *rq, bool startup)
{
	struct sandpool *sp = rq->sp;
	bool stopping;

	pthread_mutex_lock(&sp->lock);
	stopping = sp->stopping;
	pthread_mutex_unlock(&sp->lock);
	if (stopping) {
		http_reply_json(rq, 503,
				json_pack("{s:s}", "status", "stopping"),
				NULL);
		return;
	}
	if (startup && !startup_ready(sp)) {
		http_reply_json(rq, 503,
				json_pack("{s:s}", "status", "starting"),
				NULL);
		return;
	}
	http_reply_json(rq, 200, json_pack("{s:s}", "status", "healthy"),
			NULL);
}

/* ---- dispatch ---- */

/* Allowed methods per route, for 405 and Allow. */
static const char *
allowed_methods(enum route_id id)
{
	switch (id) {
	case ROUTE_GEN1_EXECUTE:
	case ROUTE_EXECUTIONS:
	case ROUTE_GEN1_UPLOAD:
	case ROUTE_STOP_SESSION:
		return "POST";
	case ROUTE_EXECUTION:
	case ROUTE_GEN1_CONTENT:
	case ROUTE_FILE_CONTENT:
	case ROUTE_LIST_SESSIONS:
	case ROUTE_METADATA:
	case ROUTE_HEALTH:
	case ROUTE_HEALTH_STARTUP:
	case ROUTE_METRICS:
		return "GET";
	case ROUTE_FILES:
		return "GET, POST";
	case ROUTE_FILE:
	case ROUTE_SESSION:
		return "GET, DELETE";
	case ROUTE_MCP:
		return "POST, DELETE";
	case ROUTE_NONE:
		break;
	}
	return "";
}

static bool
method_ok(const char *method, enum route_id id)
{
	const char *allowed = allowed_methods(id);
	size_t n = strlen(method);
	const char *p;

	if (strcmp(method, "HEAD") == 0)
		method = "GET", n = 3;
	for (p = allowed; (p = strstr(p, method)) != NULL; p += n)
		if ((p == allowed || p[-2] == ',') &&
		    (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

static bool
needs_identifier(enum route_id id)
{
	switch (id) {
	case ROUTE_LIST_SESSIONS:
	case ROUTE_METADATA:
	case ROUTE_HEALTH:
	case ROUTE_HEALTH_STARTUP:
	case ROUTE_METRICS:
	case ROUTE_MCP:
	case ROUTE_NONE:
		return false;
	case ROUTE_GEN1_EXECUTE:
	case ROUTE_GEN1_UPLOAD:
	case ROUTE_GEN1_CONTENT:
	case ROUTE_EXECUTIONS:
	case ROUTE_EXECUTION:
	case ROUTE_FILES:
	case ROUTE_FILE:
	case ROUTE_FILE_CONTENT:
	case ROUTE_SESSION:
	case ROUTE_STOP_SESSION:
		break;
	}
	return true;
}

/*
 * The scope a route needs.  Reading one's own sessions and the metadata
 * needs only a valid key; executions and the session lifecycle need
 * "execute", files "files", and /metrics (every tenant's counts)
 * "admin".
 */
static unsigned
route_scope(enum route_id id, const char *method)
{
	switch (id) {
	case ROUTE_GEN1_EXECUTE:
	case ROUTE_EXECUTIONS:
	case ROUTE_EXECUTION:
	case ROUTE_STOP_SESSION:
	case ROUTE_MCP:
		return AUTH_SCOPE_EXECUTE;
	case ROUTE_SESSION:
		return strcmp(method, "DELETE") == 0 ? AUTH_SCOPE_EXECUTE : 0;
	case ROUTE_GEN1_UPLOAD:
	case ROUTE_GEN1_CONTENT:
	case ROUTE_FILES:
	case ROUTE_FILE:
	case ROUTE_FILE_CONTENT:
		return AUTH_SCOPE_FILES;
	case ROUTE_METRICS:
		return AUTH_SCOPE_ADMIN;
	case ROUTE_LIST_SESSIONS:
	case ROUTE_METADATA:
	case ROUTE_HEALTH:
	case ROUTE_HEALTH_STARTUP:
	case ROUTE_NONE:
		break;
	}
	return 0;
}

int
api_context(struct http_req *rq, struct api_ctx *c, struct sp_err *err)
{
	enum route_id id = rq->route.id;
	int rc;

	memset(c, 0, sizeof(*c));
	c->rq = rq;
	c->sp = rq->sp;
	rc = auth_resolve(rq->sp->cfg, rq->sp->store,
			  http_header(rq, "Authorization"),
			  http_header(rq, "x-ms-apikey"), &c->auth, err);
	if (rc < 0)
		return rc;
	snprintf(c->principal, sizeof(c->principal), "%s",
		 c->auth.principal);
	snprintf(rq->principal, sizeof(rq->principal), "%s", c->principal);
	c->pool = rq->route.pool[0] ? rq->route.pool : "default";
	if (config_pool(rq->sp->cfg, c->pool) == NULL)
		return sp_errf(err, 404, "PoolNotFound",
			       "no pool named \"%.64s\" is configured",
			       c->pool);
	rc = auth_require(&c->auth, route_scope(id, rq->method), c->pool, err);
	if (rc < 0)
		return rc;
	audit_ctx_set(&c->actx, http_header(rq, "x-sandpool-agent"),
		      http_header(rq, "x-sandpool-thread"),
		      http_header(rq, "x-sandpool-run"));
	c->api_version = http_query(rq, "api-version");
	if (needs_identifier(id)) {
		c->identifier = http_query(rq, "identifier");
		rc = api_identifier_ok(c->identifier, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void
api_dispatch(struct http_req *rq)
{
	struct api_ctx c = {.rq = rq, .sp = rq->sp};
	enum route_id id = rq->route.id;
	struct sp_err err;

	if (!rq->routed) {
		http_reply_error(rq, &rq->route_err);
		return;
	}
	if (!method_ok(rq->method, id)) {
		const char *hdr[] = {"Allow", allowed_methods(id),
				     "x-ms-error-code", "MethodNotAllowed",
				     NULL};

		sp_errf(&err, 405, "MethodNotAllowed",
			"%s is not accepted on %s; use %s", rq->method,
			route_name(id), allowed_methods(id));
		http_reply_json(rq, 405, http_error_body(&err), hdr);
		return;
	}
	if (id == ROUTE_HEALTH || id == ROUTE_HEALTH_STARTUP) {
		health(rq, id == ROUTE_HEALTH_STARTUP);
		return;
	}
	if (api_context(rq, &c, &err) < 0) {
		http_reply_error(rq, &err);
		return;
	}
	switch (id) {
	case ROUTE_GEN1_EXECUTE:
		api_gen1_execute(&c);
		return;
	case ROUTE_EXECUTIONS:
		api_gen2_execute(&c);
		return;
	case ROUTE_EXECUTION:
		api_gen2_get_execution(&c);
		return;
	case ROUTE_SESSION:
		if (strcmp(rq->method, "DELETE") == 0)
			delete_session(&c, false);
		else
			get_session(&c);
		return;
	case ROUTE_STOP_SESSION:
		delete_session(&c, true);
		return;
	case ROUTE_LIST_SESSIONS:
		list_sessions(&c);
		return;
	case ROUTE_METADATA:
		get_metadata(&c);
		return;
	case ROUTE_GEN1_UPLOAD:
		api_files_upload(&c);
		return;
	case ROUTE_GEN1_CONTENT:
	case ROUTE_FILE_CONTENT:
		api_files_content(&c);
		return;
	case ROUTE_FILES:
		if (strcmp(rq->method, "POST") == 0)
			api_files_upload(&c);
		else
			api_files_list(&c);
		return;
	case ROUTE_FILE:
		if (strcmp(rq->method, "DELETE") == 0)
			api_files_delete(&c);
		else
			api_files_get(&c);
		return;
	case ROUTE_METRICS:
		get_metrics(&c);
		return;
	case ROUTE_MCP:
		mcp_http_handle(&c);
		return;
	case ROUTE_HEALTH:
	case ROUTE_HEALTH_STARTUP:
	case ROUTE_NONE:
		break;
	}
	sp_errf(&err, 404, "NotFound",
		"%s is not served by this build of sandpool", route_name(id));
	http_reply_error(rq, &err);
}
