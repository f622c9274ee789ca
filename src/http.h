/* SPDX-License-Identifier: MIT */
/*
 * http.h: the libmicrohttpd glue.  http.c owns the daemon, the per-request
 * context, body accumulation under a cap, and the way a reply reaches the
 * client: at once from the handler (http_reply), or later from the loop
 * thread after the connection was suspended (http_suspend, then
 * http_complete, which resumes it).
 */
#ifndef SANDPOOL_HTTP_H
#define SANDPOOL_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "route.h"
#include "sandpool.h"
#include "util.h"

struct MHD_Connection;
struct MHD_Response;
struct api_upload;

struct http_req {
	struct sandpool *sp;
	struct MHD_Connection *conn;
	char method[16];
	char *url;              /* decoded path; owned */
	uint64_t id;            /* req= in logs */
	uint64_t start_ms;
	struct route route;
	bool routed;            /* route_match succeeded */
	struct sp_err route_err;
	struct buf body;        /* capped at http.max_body */
	struct api_upload *upload; /* a streamed upload body (api_files.c):
				    * not accumulated in body; owned */
	bool too_large;         /* body went past the cap: answer 413 */
	bool suspended;
	bool answered;          /* a response was queued */
	struct MHD_Response *pending; /* set by http_complete */
	unsigned pending_status;
	char principal[64];     /* set by api_context, for principal= */
	char sid[17];           /* the session addressed, for session= */
};

/* Start serving on cfg->listen.  Returns 0 or -errno (with err filled). */
int http_start(struct sandpool *sp, struct sp_err *err);
/* Stop accepting, wait up to wait_ms for open requests, stop the daemon. */
void http_stop(struct sandpool *sp, uint32_t wait_ms);
/* The port actually bound (useful with port 0). */
uint16_t http_port(struct sandpool *sp);

/* Header or query value, or NULL. */
const char *http_header(struct http_req *rq, const char *name);
const char *http_query(struct http_req *rq, const char *name);

/*
 * Replies from inside the handler (synchronous).  body is stolen.  extra
 * headers come as NULL-terminated name, value pairs (may be NULL).
 */
void http_reply_json(struct http_req *rq, unsigned status, json_t *body,
		     const char *const *headers);
void http_reply_error(struct http_req *rq, const struct sp_err *err);
void http_reply_raw(struct http_req *rq, unsigned status, const char *ctype,
		    const void *data, size_t len);
void http_reply_empty(struct http_req *rq, unsigned status);
/* Send size bytes read from fd (sendfile where possible, so a large file
 * costs no memory).  Takes ownership of fd. */
void http_reply_fd(struct http_req *rq, unsigned status, int fd,
		   uint64_t size, const char *const *headers);

/*
 * The client's socket, for the loop thread to peek at while the request
 * is suspended (has the client gone?): MHD does not watch a suspended
 * connection, and keeps it open until it is resumed.  -1 if unknown.
 */
int http_client_fd(struct http_req *rq);

/* Suspend the connection before handing work to another thread. */
void http_suspend(struct http_req *rq);
/* From any thread: answer a suspended request and resume it.  body is
 * stolen. */
void http_complete_json(struct http_req *rq, unsigned status, json_t *body,
			const char *const *headers);
void http_complete_error(struct http_req *rq, const struct sp_err *err);

/*
 * Answer with a response the caller built (a streamed body from
 * MHD_create_response_from_callback, say): at once from the handler, or,
 * for a suspended request, from any thread (resuming it).  Take ownership
 * of r.
 */
void http_reply_response(struct http_req *rq, unsigned status,
			 struct MHD_Response *r, const char *const *headers);
void http_complete_response(struct http_req *rq, unsigned status,
			    struct MHD_Response *r,
			    const char *const *headers);

/* The JSON error body {"error":{"code","message"}} (new reference). */
json_t *http_error_body(const struct sp_err *err);

#endif
