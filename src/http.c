// SPDX-License-Identifier: MIT
/*
 * http.c: libmicrohttpd glue.  The daemon runs its own polling threads
 * (http.threads of them); each request gets a struct http_req, its body is
 * accumulated under the http.max_body cap, and once the body is complete
 * api_dispatch() answers it -- either at once or, for executions, by
 * suspending the connection until the loop thread calls http_complete_*.
 * Upload bodies (POST files, files/upload) are the exception: they are
 * handed to api_upload_data() chunk by chunk and written to disk, never
 * accumulated, under the upload's own caps (api_files.c).
 *
 * Limits enforced here: header bytes (MHD's per-connection memory pool),
 * body bytes (checked against Content-Length up front and counted as
 * chunks arrive), connections, and an idle timeout.
 */
#define _GNU_SOURCE
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "log.h"
#include "metrics.h"

static atomic_int open_requests;

const char *
http_header(struct http_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *
http_query(struct http_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

json_t *
http_error_body(const struct sp_err *err)
{
	return json_pack("{s:{s:s, s:s}}", "error", "code",
			 err->code ? err->code : "Error", "message", err->msg);
}

static struct MHD_Response *
make_json(json_t *body, size_t *len_out)
{
	char *s = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *r;
	size_t len;

	json_decref(body);
	if (s == NULL)
		s = xstrdup("{}");
	len = strlen(s);
	r = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type",
				"application/json; charset=utf-8");
	if (len_out)
		*len_out = len;
	return r;
}

static void
add_headers(struct MHD_Response *r, const char *const *headers)
{
	size_t i;

	for (i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		MHD_add_response_header(r, headers[i], headers[i + 1]);
}

static void
queue(struct http_req *rq, unsigned status, struct MHD_Response *r)
{
	ENSURE(!rq->answered);
	rq->answered = true;
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (MHD_queue_response(rq->conn, status, r) != MHD_YES)
		log_warnx("req=%llu could not queue the response",
			  (unsigned long long)rq->id);
	MHD_destroy_response(r);
	metrics_http(rq->sp->metrics, rq->route.id, status);
	/* One access line per request.  The route's name, not the decoded
	 * URL, which a client controls (a %0A would forge a log line);
	 * probes and scrapes only at debug. */
	if (rq->route.id == ROUTE_HEALTH ||
	    rq->route.id == ROUTE_HEALTH_STARTUP ||
	    rq->route.id == ROUTE_METRICS)
		log_debug("req=%llu %s %s -> %u", (unsigned long long)rq->id,
			  rq->method, route_name(rq->route.id), status);
	else if (status >= 500)
		log_warnx("req=%llu principal=%s session=%s %s %s -> %u "
			  "(%llu ms)",
			  (unsigned long long)rq->id,
			  rq->principal[0] ? rq->principal : "-",
			  rq->sid[0] ? rq->sid : "-", rq->method,
			  route_name(rq->route.id), status,
			  (unsigned long long)(now_ms() - rq->start_ms));
	else
		log_info("req=%llu principal=%s session=%s %s %s -> %u "
			 "(%llu ms)",
			 (unsigned long long)rq->id,
			 rq->principal[0] ? rq->principal : "-",
			 rq->sid[0] ? rq->sid : "-", rq->method,
			 route_name(rq->route.id), status,
			 (unsigned long long)(now_ms() - rq->start_ms));
}

void
http_reply_json(struct http_req *rq, unsigned status, json_t *body,
		const char *const *headers)
{
	struct MHD_Response *r = make_json(body, NULL);

	add_headers(r, headers);
	queue(rq, status, r);
}

/* The error body plus x-ms-error-code, and Retry-After where a retry
 * can succeed (429 PoolFull/SessionBusy, 503). */
static json_t *
error_with_header(const struct sp_err *err, const char *hdr[5])
{
	int n = 0;

	hdr[n++] = "x-ms-error-code";
	hdr[n++] = err->code ? err->code : "Error";
	if (err->http == 429 || err->http == 503) {
		hdr[n++] = "Retry-After";
		hdr[n++] = "1";
	}
	hdr[n] = NULL;
	return http_error_body(err);
}

static unsigned
error_status(const struct sp_err *err)
{
	return err->http >= 400 && err->http <= 599 ? (unsigned)err->http
						    : 500;
}

void
http_reply_error(struct http_req *rq, const struct sp_err *err)
{
	const char *hdr[5];
	json_t *body = error_with_header(err, hdr);

	http_reply_json(rq, error_status(err), body, hdr);
}

void
http_reply_raw(struct http_req *rq, unsigned status, const char *ctype,
	       const void *data, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, (void *)data, MHD_RESPMEM_MUST_COPY);

	if (ctype)
		MHD_add_response_header(r, "Content-Type", ctype);
	queue(rq, status, r);
}

void
http_reply_empty(struct http_req *rq, unsigned status)
{
	http_reply_raw(rq, status, NULL, "", 0);
}

void
http_reply_fd(struct http_req *rq, unsigned status, int fd, uint64_t size,
	      const char *const *headers)
{
	struct MHD_Response *r = MHD_create_response_from_fd64(size, fd);

	if (r == NULL) {
		struct sp_err e;

		close(fd);
		sp_errf(&e, 500, "InternalError", "cannot send the file");
		http_reply_error(rq, &e);
		return;
	}
	add_headers(r, headers);
	queue(rq, status, r);
}

int
http_client_fd(struct http_req *rq)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci ? ci->connect_fd : -1;
}

void
http_suspend(struct http_req *rq)
{
	rq->suspended = true;
	MHD_suspend_connection(rq->conn);
}

void
http_complete_json(struct http_req *rq, unsigned status, json_t *body,
		   const char *const *headers)
{
	struct MHD_Response *r = make_json(body, NULL);

	add_headers(r, headers);
	ENSURE(rq->suspended && rq->pending == NULL);
	rq->pending = r;
	rq->pending_status = status;
	MHD_resume_connection(rq->conn);
}

void
http_reply_response(struct http_req *rq, unsigned status,
		    struct MHD_Response *r, const char *const *headers)
{
	add_headers(r, headers);
	queue(rq, status, r);
}

void
http_complete_response(struct http_req *rq, unsigned status,
		       struct MHD_Response *r, const char *const *headers)
{
	add_headers(r, headers);
	ENSURE(rq->suspended && rq->pending == NULL);
	rq->pending = r;
	rq->pending_status = status;
	MHD_resume_connection(rq->conn);
}

void
http_complete_error(struct http_req *rq, const struct sp_err *err)
{
	const char *hdr[5];
	json_t *body = error_with_header(err, hdr);

	http_complete_json(rq, error_status(err), body, hdr);
}

/* ---- the MHD callbacks ---- */

static struct http_req *
req_new(struct sandpool *sp, struct MHD_Connection *conn, const char *url,
	const char *method)
{
	struct http_req *rq = xcalloc(1, sizeof(*rq));

	rq->sp = sp;
	rq->conn = conn;
	snprintf(rq->method, sizeof(rq->method), "%s", method);
	rq->url = xstrdup(url);
	pthread_mutex_lock(&sp->lock);
	rq->id = ++sp->req_seq;
	pthread_mutex_unlock(&sp->lock);
	rq->start_ms = now_ms();
	buf_init(&rq->body, sp->cfg->max_body);
	atomic_fetch_add(&open_requests, 1);
	return rq;
}

static void
req_free(struct http_req *rq)
{
	if (rq == NULL)
		return;
	if (rq->pending)
		MHD_destroy_response(rq->pending);
	api_upload_free(rq->upload);
	buf_fini(&rq->body);
	free(rq->url);
	free(rq);
	atomic_fetch_sub(&open_requests, 1);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	req_free(*con_cls);
	*con_cls = NULL;
}

/* Reject a body that announces more than the cap before reading it. */
static bool
length_too_big(struct http_req *rq)
{
	const char *cl = MHD_lookup_connection_value(
		rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n;

	return cl && parse_u64(cl, &n) == 0 && n > rq->sp->cfg->max_body;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
	   const char *method, const char *version, const char *upload_data,
	   size_t *upload_data_size, void **con_cls)
{
	struct sandpool *sp = cls;
	struct http_req *rq = *con_cls;

	(void)version;
	if (rq == NULL) {
		rq = req_new(sp, conn, url, method);
		*con_cls = rq;
		rq->routed = route_match(method, url, &rq->route,
					 &rq->route_err) == 0;
		/* Uploads stream to disk under their own caps instead. */
		if (rq->routed && api_upload_begin(rq))
			return MHD_YES;
		if (length_too_big(rq))
			rq->too_large = true;
		return MHD_YES;
	}
	if (rq->pending) {
		/* Resumed after http_complete_*: send what was prepared. */
		struct MHD_Response *r = rq->pending;

		rq->pending = NULL;
		rq->suspended = false;
		queue(rq, rq->pending_status, r);
		return MHD_YES;
	}
	if (*upload_data_size > 0 && rq->upload) {
		api_upload_data(rq, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!rq->too_large &&
		    buf_append(&rq->body, upload_data, *upload_data_size) < 0) {
			rq->too_large = true;
			buf_fini(&rq->body); /* drop what we have */
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->answered || rq->suspended)
		return MHD_YES;
	if (rq->too_large) {
		struct sp_err e;

		sp_errf(&e, 413, "PayloadTooLarge",
			"the request body is larger than the %llu bytes "
			"accepted (http.max_body)",
			(unsigned long long)sp->cfg->max_body);
		http_reply_error(rq, &e);
		return MHD_YES;
	}
	api_dispatch(rq);
	if (!rq->answered && !rq->suspended) {
		struct sp_err e;

		sp_errf(&e, 500, "InternalError", "the request got no answer");
		http_reply_error(rq, &e);
	}
	return MHD_YES;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decoding of the path and the query, as MHD's default does
 * (%HH only), except that %00 becomes C0 80 (an invalid UTF-8 form of
 * NUL) rather than a NUL that would cut the string short: files/content/
 * a%00.png must not name the file "a".  files_check_name refuses the
 * bytes by name; anywhere else they are just two more bytes.
 */
static size_t
unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *r = s, *w = s;

	(void)cls;
	(void)conn;
	while (*r != '\0') {
		int hi = r[0] == '%' ? hexval(r[1]) : -1;
		int lo = hi >= 0 ? hexval(r[2]) : -1;

		if (lo < 0) {
			*w++ = *r++;
			continue;
		}
		if (hi == 0 && lo == 0) {
			*w++ = (char)0xc0;
			*w++ = (char)0x80;
		} else {
			*w++ = (char)(hi * 16 + lo);
		}
		r += 3;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Split "host:port" / "[v6]:port" into a sockaddr. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss,
	     struct sp_err *err)
{
	char host[128];
	const char *colon, *port;
	struct addrinfo hints = {0}, *res = NULL;
	int rc;

	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (end == NULL || end[1] != ':')
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(end - listen - 1),
			 listen + 1);
		port = end + 2;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL)
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - listen),
			 listen);
		port = colon + 1;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	hints.ai_flags |= AI_NUMERICHOST;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || res == NULL)
		goto bad;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
bad:
	return sp_errf(err, 0, "ConfigError",
		       "listen \"%s\": expected host:port with a numeric "
		       "address, e.g. 127.0.0.1:6000 or [::1]:6000",
		       listen);
}

int
http_start(struct sandpool *sp, struct sp_err *err)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	int rc;

	rc = parse_listen(sp->cfg->listen, &ss, err);
	if (rc < 0)
		return rc;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	sp->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, sp,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, sp,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sp->cfg->http_threads,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)sp->cfg->max_connections,
		/* The pool holds the headers and the read buffer, so it caps
		 * header bytes; MHD answers 431 past it. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(sp->cfg->max_header + 16 * 1024),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_END);
	if (sp->mhd == NULL)
		return sp_errf(err, 0, "ListenFailed",
			       "cannot listen on %s (is the port in use?)",
			       sp->cfg->listen);
	return 0;
}

uint16_t
http_port(struct sandpool *sp)
{
	const union MHD_DaemonInfo *di;

	if (sp->mhd == NULL)
		return 0;
	di = MHD_get_daemon_info(sp->mhd, MHD_DAEMON_INFO_BIND_PORT);
	return di ? di->port : 0;
}

void
http_stop(struct sandpool *sp, uint32_t wait_ms)
{
	uint64_t until = now_ms() + wait_ms;

	if (sp->mhd == NULL)
		return;
	MHD_quiesce_daemon(sp->mhd);
	while (atomic_load(&open_requests) > 0 && now_ms() < until)
		usleep(10 * 1000);
	MHD_stop_daemon(sp->mhd);
	sp->mhd = NULL;
}
