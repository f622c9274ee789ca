/* SPDX-License-Identifier: MIT */
/*
 * api.h: the REST handlers.  api.c dispatches a routed request (auth, the
 * identifier, method checks) to the handlers; api_exec.c holds the
 * execution endpoints (Gen1 code/execute, Gen2 executions), which shape
 * the execution service's runs (exec.h) into their replies.  Only the
 * API layer turns a struct sp_err into JSON.
 */
#ifndef SANDPOOL_API_H
#define SANDPOOL_API_H

#include <jansson.h>
#include <stdbool.h>

#include "audit.h"
#include "auth.h"
#include "http.h"
#include "session.h"

/* Answer rq (now or after suspending it).  Called by http.c once the
 * body is complete. */
void api_dispatch(struct http_req *rq);

/* What a handler needs about the caller and the session it addresses. */
struct api_ctx {
	struct http_req *rq;
	struct sandpool *sp;
	const char *pool;       /* pool name */
	const char *identifier; /* validated, or NULL */
	const char *api_version;
	char principal[64];
	struct auth_id auth;    /* scopes and pool restriction of the key */
	struct audit_ctx actx;  /* x-sandpool-agent/thread/run; MCP client */
};

/*
 * Authenticate rq and fill c (principal, pool, api-version, and the
 * identifier where the route needs one), and check that the key has the
 * route's scope and may use the pool.  Returns 0 or a negative errno
 * with err filled (401, 403 Forbidden, 404 PoolNotFound, 400
 * InvalidIdentifier, 503 KeyStoreUnavailable).  Used by
 * api_dispatch and, before an upload's bytes are stored, by
 * api_upload_begin.
 */
int api_context(struct http_req *rq, struct api_ctx *c, struct sp_err *err);

/*
 * Record one audit row for the request c: fills in principal, pool,
 * identifier (unless set), the client context and req from c, then
 * audit_record()s it (a no-op with audit.enabled off).  The caller sets
 * op, status, error_code, http_status, the numbers (-1 = unknown) and
 * files.  Never blocks on the database.
 */
void api_audit(struct api_ctx *c, struct audit_row *row);

/* ---- api_exec.c ---- */

void api_gen1_execute(struct api_ctx *c);
void api_gen2_execute(struct api_ctx *c);
void api_gen2_get_execution(struct api_ctx *c);

/*
 * The wire shape of a finished job: the Gen1 body ({"$id","properties"})
 * or the Gen2 body.  Pure functions of the job, exposed for unit tests.
 * Return new references.
 */
json_t *api_gen1_body(const struct job *job);
json_t *api_gen2_body(const struct job *job, const char *identifier,
		      bool async);

/* ---- api_files.c ---- */
void api_files_list(struct api_ctx *c);    /* GET files */
void api_files_upload(struct api_ctx *c);  /* POST files, files/upload */
void api_files_get(struct api_ctx *c);     /* GET files/{name} */
void api_files_delete(struct api_ctx *c);  /* DELETE files/{name} */
void api_files_content(struct api_ctx *c); /* GET the bytes of a file */

/*
 * Streaming of upload bodies, called by http.c.  api_upload_begin runs
 * when a request's headers are in: for POST files and files/upload it
 * sets rq->upload and returns true, and the body then goes to
 * api_upload_data as it arrives (written to disk, never accumulated in
 * rq->body) instead of being buffered; api_files_upload finishes it.
 * api_upload_free releases what an upload holds (temp files vanish);
 * NULL-safe.  MHD threads; take sp->lock only through session calls.
 */
struct api_upload;
bool api_upload_begin(struct http_req *rq);
void api_upload_data(struct http_req *rq, const char *data, size_t n);
void api_upload_free(struct api_upload *up);

/*
 * Validate an identifier: 1..256 bytes, no control characters (DESIGN.md
 * §2).  Returns 0 or -EINVAL with a 400 in err.
 */
int api_identifier_ok(const char *id, struct sp_err *err);

#endif
