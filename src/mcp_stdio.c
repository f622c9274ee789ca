// SPDX-License-Identifier: MIT
/*
 * mcp_stdio.c: `sandpool mcp`, MCP over stdio (mcp.md §5): one JSON-RPC
 * message per line on stdin, one per line on stdout, logs on stderr, exit
 * when stdin ends.  Two modes:
 *
 *   embedded (default)  the whole server minus HTTP runs in this process
 *                       (server_open), with a private state directory
 *                       unless one is configured; MCP state and the
 *                       default sandpool session live as long as the
 *                       process ("mcp-stdio-<hex>").
 *   forward (--url)     every message is POSTed to a remote sandpool's
 *                       /mcp with libcurl's multi interface, several at
 *                       once, and the JSON or SSE answers are written back
 *                       as lines.  The Mcp-Session-Id and protocol
 *                       version headers are kept for the client.
 *
 * Before anything else, fd 1 is duplicated for the protocol and then
 * pointed at stderr: whatever a library might print cannot corrupt the
 * stream.  Every message written is re-serialised compactly by jansson, so
 * it never holds a raw newline.
 */
#define _GNU_SOURCE
#include "mcp_stdio.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mcp.h"
#include "server.h"

#define READ_CHUNK (64 * 1024)
#define FWD_BODY_MAX (256 * MiB) /* bytes of one remote answer */

extern char **environ;

/* ------------------------------------------------------------------ */
/* output: one compact JSON message per line                           */
/* ------------------------------------------------------------------ */

struct out {
	int fd;		      /* the real stdout */
	pthread_mutex_t lock; /* one line at a time */
};

/* Write msg as one line (steals msg). */
static void
emit(struct out *o, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t n;

	json_decref(msg);
	if (s == NULL)
		return;
	n = strlen(s);
	s[n] = '\n'; /* replaces the NUL; json_dumps left no newline */
	pthread_mutex_lock(&o->lock);
	if (write_all(o->fd, s, n + 1) < 0)
		log_warnx("mcp: writing stdout failed; is the client gone?");
	pthread_mutex_unlock(&o->lock);
	free(s);
}

/*
 * Line reader with a cap: an overlong line is skipped up to its newline
 * and answered with one error.  fn is called per complete line.
 */
struct lines {
	struct buf b;
	bool skipping;
};

static void
feed_lines(struct lines *l, const char *p, size_t n, struct out *o,
	   void (*fn)(void *arg, char *line, size_t len), void *arg)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (!l->skipping && buf_append(&l->b, p, k) < 0) {
			l->skipping = true;
			buf_reset(&l->b);
			emit(o, mcp_error(NULL, -32600,
					  "message larger than %zu bytes "
					  "(http.max_body); skipped",
					  l->b.cap));
		}
		if (nl == NULL)
			return;
		if (!l->skipping) {
			size_t len = l->b.len;

			while (len > 0 && (l->b.data[len - 1] == '\r' ||
					   l->b.data[len - 1] == ' ' ||
					   l->b.data[len - 1] == '\t'))
				len--;
			if (len > 0)
				fn(arg, l->b.data, len);
		}
		buf_reset(&l->b);
		l->skipping = false;
		p += k + 1;
		n -= k + 1;
	}
}

/* Take fd 1 for the protocol and point fd 1 at stderr. */
static int
claim_stdout(void)
{
	int fd = fcntl(1, F_DUPFD_CLOEXEC, 3);

	if (fd < 0 || dup2(2, 1) < 0)
		return -1;
	return fd;
}

/* ------------------------------------------------------------------ */
/* embedded mode                                                       */
/* ------------------------------------------------------------------ */

struct emb {
	struct sandpool *sp;
	struct mcp_session *ms;
	struct out *out;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t inflight; /* exchanges whose done has not come */
};

static void
emb_notify(void *arg, json_t *msg)
{
	struct emb *e = arg;

	if (msg)
		emit(e->out, msg);
}

static void
emb_done(void *arg, json_t *body)
{
	struct emb *e = arg;

	if (body)
		emit(e->out, body);
	pthread_mutex_lock(&e->lock);
	e->inflight--;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static const struct mcp_sink emb_sink = {emb_notify, emb_done};

static void
emb_line(void *arg, char *line, size_t len)
{
	struct emb *e = arg;
	json_t *msg = NULL, *errresp = NULL;

	if (mcp_parse(line, len, e->sp->cfg->max_json_depth, &msg, &errresp) <
	    0) {
		emit(e->out, errresp);
		return;
	}
	pthread_mutex_lock(&e->lock);
	e->inflight++;
	pthread_mutex_unlock(&e->lock);
	mcp_handle(e->sp, e->ms, msg, &emb_sink, e);
	json_decref(msg);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0)
		log_warn("removing %s", path);
	return 0;
}

static int
run_embedded(struct config *cfg, bool temp_state, struct out *out)
{
	struct sandpool sp;
	struct lines in;
	struct emb e;
	sigset_t set;
	char *chunk = NULL;
	bool eof = false, stop = false;
	int sfd;

	memset(&sp, 0, sizeof(sp));
	server_open(&sp, cfg, false, &set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fatal("signalfd");
	memset(&e, 0, sizeof(e));
	e.sp = &sp;
	e.out = out;
	pthread_mutex_init(&e.lock, NULL);
	pthread_cond_init(&e.cond, NULL);
	e.ms = mcp_session_new(&sp, "default", "default", false);
	log_info("sandpool mcp: embedded pool ready (state %s); reading "
		 "JSON-RPC on stdin",
		 cfg->state_dir);
	buf_init(&in.b, cfg->max_body);
	in.skipping = false;
	chunk = xmalloc(READ_CHUNK);
	while (!eof && !stop) {
		struct pollfd p[2] = {{0, POLLIN, 0}, {sfd, POLLIN, 0}};
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) > 0 &&
			    si.ssi_signo != SIGHUP) {
				log_info("signal %u: stopping", si.ssi_signo);
				stop = true;
			}
			continue;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(0, chunk, READ_CHUNK);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			/* A last line without its newline still counts. */
			feed_lines(&in, "\n", 1, out, emb_line, &e);
			eof = true;
			break;
		}
		feed_lines(&in, chunk, (size_t)n, out, emb_line, &e);
	}
	free(chunk);
	buf_fini(&in.b);
	/* On EOF, answer what was asked (a client may close stdin right
	 * after writing); executions are bounded by their timeouts, and a
	 * signal still stops us. */
	pthread_mutex_lock(&e.lock);
	while (eof && !stop && e.inflight > 0) {
		struct timespec ts;
		struct signalfd_siginfo si;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&e.cond, &e.lock, &ts);
		if (read(sfd, &si, sizeof(si)) > 0 && si.ssi_signo != SIGHUP)
			stop = true;
	}
	pthread_mutex_unlock(&e.lock);
	/* The drain in server_close ends what still runs; their answers
	 * still go out as the calls finish (each call holds its own
	 * reference to the MCP session). */
	mcp_session_unref(&sp, e.ms);
	server_close(&sp);
	close(sfd);
	pthread_cond_destroy(&e.cond);
	pthread_mutex_destroy(&e.lock);
	if (temp_state && nftw(cfg->state_dir, rm_entry, 16,
			       FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		log_warn("removing %s", cfg->state_dir);
	return 0;
}

/* ------------------------------------------------------------------ */
/* forward mode                                                        */
/* ------------------------------------------------------------------ */

struct fwd {
	CURLM *multi;
	char *url;  /* .../mcp */
	char *auth; /* "Authorization: Bearer KEY" or NULL */
	char sid[MCP_SID_MAX + 32];
	char version[32]; /* negotiated, for MCP-Protocol-Version */
	struct out *out;
	int running;
	struct xfer *xfers;
};

struct xfer {
	struct fwd *f;
	CURL *e;
	struct curl_slist *hdrs;
	char *body;	 /* the line sent */
	json_t *ids;	 /* request ids, to answer on failure */
	bool init;	 /* an initialize request */
	bool sse;	 /* the answer is text/event-stream */
	bool answered;	 /* some response was written */
	struct buf resp; /* JSON answer, or SSE not yet parsed */
	struct xfer *next;
};

/* Write a message from the remote; learn the version from initialize. */
static void
fwd_emit(struct xfer *x, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *m = json_loadb(text, len, 0, &jerr);
	const char *v;

	if (m == NULL) {
		log_warnx("mcp forward: the server sent invalid JSON (%s)",
			  jerr.text);
		return;
	}
	v = json_string_value(json_object_get(json_object_get(m, "result"),
					      "protocolVersion"));
	if (x->init && v)
		snprintf(x->f->version, sizeof(x->f->version), "%s", v);
	if (json_object_get(m, "id") &&
	    (json_object_get(m, "result") || json_object_get(m, "error")))
		x->answered = true;
	if (json_is_array(m))
		x->answered = true;
	emit(x->f->out, m);
}

/* Parse complete SSE events in x->resp. */
static void
sse_parse(struct xfer *x)
{
	struct buf data;
	size_t start = 0;

	buf_init(&data, FWD_BODY_MAX);
	for (;;) {
		char *blk = x->resp.data + start, *end;
		size_t blen;

		end = x->resp.len > start ? strstr(blk, "\n\n") : NULL;
		if (end == NULL)
			break;
		blen = (size_t)(end - blk);
		buf_reset(&data);
		while (blen > 0) {
			char *nl = memchr(blk, '\n', blen);
			size_t ll = nl ? (size_t)(nl - blk) : blen;

			if (ll >= 5 && strncmp(blk, "data:", 5) == 0) {
				const char *d = blk + 5;
				size_t dl = ll - 5;

				if (dl > 0 && *d == ' ')
					d++, dl--;
				if (data.len)
					buf_append(&data, "\n", 1);
				buf_append(&data, d, dl);
			}
			blk += ll + (nl ? 1 : 0);
			blen -= ll + (nl ? 1 : 0);
		}
		if (data.len)
			fwd_emit(x, data.data, data.len);
		start = (size_t)(end - x->resp.data) + 2;
	}
	if (start > 0) {
		memmove(x->resp.data, x->resp.data + start,
			x->resp.len - start + 1);
		x->resp.len -= start;
	}
	buf_fini(&data);
}

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t i, len = sz * n;

	if (!x->sse)
		return buf_append(&x->resp, p, len) < 0 ? 0 : len;
	/* SSE: drop CRs so that events end in "\n\n". */
	for (i = 0; i < len; i++)
		if (p[i] != '\r' && buf_append(&x->resp, p + i, 1) < 0)
			return 0;
	sse_parse(x);
	return len;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n, k;
	char v[160];

	if (len > 15 && strncasecmp(p, "mcp-session-id:", 15) == 0 && x->init) {
		snprintf(v, sizeof(v), "%.*s", (int)(len - 15), p + 15);
		k = strspn(v, " \t");
		v[strcspn(v, "\r\n")] = '\0';
		snprintf(x->f->sid, sizeof(x->f->sid), "%s", v + k);
	} else if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
		snprintf(v, sizeof(v), "%.*s", (int)(len - 13), p + 13);
		x->sse = strcasestr(v, "text/event-stream") != NULL;
	}
	return len;
}

/* Request ids of a message (object or batch). */
static json_t *
request_ids(const char *line, size_t len, bool *init)
{
	json_t *m = json_loadb(line, len, 0, NULL), *ids = json_array(), *e;
	size_t i;

	*init = false;
	if (json_is_object(m)) {
		e = json_object_get(m, "id");
		if (e && json_object_get(m, "method")) {
			json_array_append(ids, e);
			*init = strcmp(json_string_value(
					       json_object_get(m, "method"))
					       ?: "",
				       "initialize") == 0;
		}
	} else if (json_is_array(m)) {
		json_array_foreach (m, i, e)
			if (json_object_get(e, "id") &&
			    json_object_get(e, "method"))
				json_array_append(ids,
						  json_object_get(e, "id"));
	}
	json_decref(m);
	return ids;
}

static void
fwd_line(void *arg, char *line, size_t len)
{
	struct fwd *f = arg;
	struct xfer *x = xcalloc(1, sizeof(*x));
	char h[sizeof(f->sid) + 32];

	x->f = f;
	x->body = xstrndup(line, len);
	x->ids = request_ids(line, len, &x->init);
	buf_init(&x->resp, FWD_BODY_MAX);
	x->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	x->hdrs = curl_slist_append(x->hdrs, "Accept: application/json, "
					     "text/event-stream");
	if (f->auth)
		x->hdrs = curl_slist_append(x->hdrs, f->auth);
	if (f->sid[0] && !x->init) {
		snprintf(h, sizeof(h), "Mcp-Session-Id: %s", f->sid);
		x->hdrs = curl_slist_append(x->hdrs, h);
	}
	if (f->version[0] && !x->init) {
		snprintf(h, sizeof(h), "MCP-Protocol-Version: %s", f->version);
		x->hdrs = curl_slist_append(x->hdrs, h);
	}
	x->e = curl_easy_init();
	if (x->e == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_setopt(x->e, CURLOPT_URL, f->url);
	curl_easy_setopt(x->e, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->e, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->e, CURLOPT_PROTOCOLS_STR, "http,https");
	x->next = f->xfers;
	f->xfers = x;
	curl_multi_add_handle(f->multi, x->e);
	f->running++;
}

/* Answer every request of x with a JSON-RPC error. */
static void
fail_ids(struct xfer *x, const char *what, const char *detail)
{
	json_t *id;
	size_t i;

	json_array_foreach (x->ids, i, id)
		emit(x->f->out, mcp_error(id, -32603, "%s %s", what, detail));
}

static void
fwd_finish(struct fwd *f, CURL *e, CURLcode res)
{
	struct xfer *x = NULL, **pp;
	long status = 0;
	char detail[256];

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK) {
		snprintf(detail, sizeof(detail), "%s: %s", f->url,
			 curl_easy_strerror(res));
		fail_ids(x, "cannot reach the sandpool server at", detail);
	} else if (x->sse) {
		sse_parse(x);
	} else if (status >= 200 && status < 300) {
		if (x->resp.len > 0)
			fwd_emit(x, x->resp.data, x->resp.len);
	} else {
		json_t *m = json_loadb(x->resp.data ? x->resp.data : "",
				       x->resp.len, 0, NULL);
		json_t *err = json_object_get(m, "error");
		const char *msg =
			json_string_value(json_object_get(err, "message"));

		if (json_integer_value(json_object_get(err, "code")) < 0 &&
		    json_array_size(x->ids) == 1 &&
		    json_is_null(json_object_get(m, "id"))) {
			/* Our answer for the request's id. */
			json_object_set(m, "id", json_array_get(x->ids, 0));
		}
		snprintf(detail, sizeof(detail), "HTTP %ld: %s", status,
			 msg ? msg : "no JSON-RPC error in the body");
		if (status == 404 && f->sid[0])
			log_warnx("mcp forward: the remote MCP session "
				  "ended; the client must initialize again");
		if (json_is_object(m) && json_object_get(m, "id") &&
		    !json_is_null(json_object_get(m, "id")) && err)
			emit(f->out, json_incref(m));
		else
			fail_ids(x, "the sandpool server answered", detail);
		json_decref(m);
	}
	for (pp = &f->xfers; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	}
	curl_multi_remove_handle(f->multi, e);
	curl_easy_cleanup(e);
	curl_slist_free_all(x->hdrs);
	json_decref(x->ids);
	buf_fini(&x->resp);
	free(x->body);
	free(x);
	f->running--;
}

/* End the remote session (best effort, 5 s). */
static void
fwd_delete(struct fwd *f)
{
	struct curl_slist *h = NULL;
	char line[sizeof(f->sid) + 32];
	CURL *e;

	if (f->sid[0] == '\0')
		return;
	e = curl_easy_init();
	if (e == NULL)
		return;
	snprintf(line, sizeof(line), "Mcp-Session-Id: %s", f->sid);
	h = curl_slist_append(h, line);
	if (f->auth)
		h = curl_slist_append(h, f->auth);
	curl_easy_setopt(e, CURLOPT_URL, f->url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	curl_easy_perform(e);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
}

static int
run_forward(const char *url, const char *key, size_t max_line, struct out *out)
{
	struct fwd f;
	struct lines in;
	char *chunk;
	bool eof = false;
	size_t ul = strlen(url);

	memset(&f, 0, sizeof(f));
	f.out = out;
	while (ul > 0 && url[ul - 1] == '/')
		ul--;
	if (ul >= 4 && strncmp(url + ul - 4, "/mcp", 4) == 0)
		f.url = xstrndup(url, ul);
	else
		f.url = xasprintf("%.*s/mcp", (int)ul, url);
	if (key && key[0])
		f.auth = xasprintf("Authorization: Bearer %s", key);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
	f.multi = curl_multi_init();
	log_info("sandpool mcp: forwarding to %s", f.url);
	buf_init(&in.b, max_line);
	in.skipping = false;
	chunk = xmalloc(READ_CHUNK);
	while (!eof || f.running > 0) {
		struct curl_waitfd w = {0, CURL_WAIT_POLLIN, 0};
		struct CURLMsg *m;
		int n = 0, left;

		curl_multi_poll(f.multi, &w, eof ? 0 : 1, 1000, &n);
		if (!eof &&
		    (w.revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI))) {
			ssize_t r = read(0, chunk, READ_CHUNK);

			if (r > 0) {
				feed_lines(&in, chunk, (size_t)r, out, fwd_line,
					   &f);
			} else if (r == 0 ||
				   (errno != EINTR && errno != EAGAIN)) {
				feed_lines(&in, "\n", 1, out, fwd_line, &f);
				eof = true;
			}
		}
		curl_multi_perform(f.multi, &n);
		while ((m = curl_multi_info_read(f.multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE)
				fwd_finish(&f, m->easy_handle, m->data.result);
	}
	free(chunk);
	buf_fini(&in.b);
	fwd_delete(&f);
	curl_multi_cleanup(f.multi);
	curl_global_cleanup();
	if (f.auth) {
		explicit_bzero(f.auth, strlen(f.auth));
		free(f.auth);
	}
	free(f.url);
	return 0;
}

/* ------------------------------------------------------------------ */
/* the command                                                         */
/* ------------------------------------------------------------------ */

static void
mcp_usage(FILE *f)
{
	fprintf(f,
		"usage: sandpool mcp [options]\n"
		"\n"
		"MCP server on stdin/stdout (newline-delimited JSON-RPC; logs "
		"on stderr).\n"
		"By default it runs an embedded sandbox pool in this process "
		"(as root).\n"
		"  -c, --config FILE     config file, as for serve\n"
		"  -s, --state-dir DIR   state directory (default: a private "
		"temporary one,\n"
		"                        removed at exit)\n"
		"  -v, --log-level LVL   debug, info, warn or error\n"
		"  -u, --url URL         forward to a remote sandpool's /mcp "
		"instead\n"
		"                        (or SANDPOOL_URL)\n"
		"  -k, --api-key KEY     API key for --url (or "
		"SANDPOOL_API_KEY)\n");
}

int
mcp_stdio_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, 's'},
		{"log-level", required_argument, NULL, 'v'},
		{"url", required_argument, NULL, 'u'},
		{"api-key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL, *state = NULL, *level = NULL;
	const char *url = getenv("SANDPOOL_URL");
	const char *key = getenv("SANDPOOL_API_KEY");
	struct config cfg;
	struct sp_err err = {0};
	struct out out;
	char tmpl[] = "/tmp/sandpool-mcp-XXXXXX";
	bool temp = false;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:v:u:k:h", opts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'v':
			level = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'h':
			mcp_usage(stderr);
			return 0;
		default:
			mcp_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sandpool mcp: unexpected argument \"%s\"\n",
			argv[optind]);
		return 2;
	}
	out.fd = claim_stdout();
	if (out.fd < 0) {
		fprintf(stderr, "sandpool mcp: cannot set up stdout: %s\n",
			strerror(errno));
		return 1;
	}
	pthread_mutex_init(&out.lock, NULL);
	config_defaults(&cfg);
	if (file && config_load_file(&cfg, file, &err) < 0)
		goto bad;
	if (config_load_env(&cfg, environ, &err) < 0)
		goto bad;
	if (level && config_set(&cfg, NULL, "log_level", level, &err) < 0)
		goto bad;
	if (state && config_set(&cfg, NULL, "state_dir", state, &err) < 0)
		goto bad;
	if (config_finish(&cfg, &err) < 0)
		goto bad;
	log_init((enum log_level)cfg.log_level);
	if (url && url[0]) {
		rc = run_forward(url, key, cfg.max_body, &out);
		goto done;
	}
	/* The default state dir would be shared with a `sandpool serve`
	 * started here, or with another client's `sandpool mcp`: use a
	 * private one unless told otherwise. */
	if (state == NULL && strcmp(cfg.state_dir, "./.sandpool") == 0) {
		if (mkdtemp(tmpl) == NULL)
			fatal("mkdtemp %s", tmpl);
		snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", tmpl);
		temp = true;
	}
	rc = run_embedded(&cfg, temp, &out);
done:
	config_fini(&cfg);
	close(out.fd);
	pthread_mutex_destroy(&out.lock);
	return rc;
bad:
	fprintf(stderr, "sandpool mcp: %s\n", err.msg);
	config_fini(&cfg);
	close(out.fd);
	return 2;
}
