/* SPDX-License-Identifier: MIT */
/*
 * api.h: the REST handlers.  api.c dispatches a routed request (auth, the
 * identifier, method checks) to the handlers; api_exec.c holds the
 * execution endpoints (Gen1 code/execute, Gen2 executions) and the shaping
 * of their replies.  Only the API layer turns a struct sp_err into JSON.
 */
#ifndef SANDPOOL_API_H
#define SANDPOOL_API_H

#include <jansson.h>
#include <stdbool.h>

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
};

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

/*
 * Validate an identifier: 1..256 bytes, no control characters (DESIGN.md
 * §2).  Returns 0 or -EINVAL with a 400 in err.
 */
int api_identifier_ok(const char *id, struct sp_err *err);

#endif
