// SPDX-License-Identifier: MIT
/*
 * cli_http.c: the client commands' HTTP layer on libcurl: the connection
 * settings (SANDPOOL_URL, SANDPOOL_API_KEY, flags), one request with its
 * reply read under CLI_BODY_MAX (or streamed to a file), multipart
 * uploads, and the one place that turns a failed reply into a message
 * and an exit code.  The API key goes only into the Authorization header;
 * it is never printed.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void
cli_http_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
cli_http_fini(void)
{
	curl_global_cleanup();
}

void
cli_conn_init(struct cli_conn *c)
{
	const char *url = getenv("SANDPOOL_URL");
	const char *key = getenv("SANDPOOL_API_KEY");

	memset(c, 0, sizeof(*c));
	if (cli_conn_url(c, url && url[0] ? url : CLI_DEFAULT_URL) < 0)
		cli_conn_url(c, CLI_DEFAULT_URL);
	if (key)
		snprintf(c->key, sizeof(c->key), "%s", key);
}

int
cli_conn_url(struct cli_conn *c, const char *url)
{
	size_t n = strlen(url);

	if (n == 0 || n >= sizeof(c->url))
		return -EINVAL;
	while (n > 0 && url[n - 1] == '/')
		n--;
	snprintf(c->url, sizeof(c->url), "%.*s", (int)n, url);
	return 0;
}

char *
cli_escape(const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i, o = 0;
	char *out = xmalloc(3 * n + 1);

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}

void
cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
}

void
cli_resp_fini(struct cli_resp *r)
{
	buf_fini(&r->body);
	json_decref(r->json);
	r->json = NULL;
}

struct sink {
	struct buf *b;
	int fd; /* >= 0: write 2xx bodies here */
	CURL *h;
	bool too_big;
	bool write_failed;
	/* an event stream (cli_request_events) */
	cli_event_fn cb;
	void *arg;
	struct buf line;  /* the line being read */
	struct buf data;  /* the event's data lines, joined */
	char event[32];   /* the event's name */
};

/* Is the reply a 2xx event stream? */
static bool
is_stream(CURL *h)
{
	long status = 0;
	char *ct = NULL;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
	return status >= 200 && status < 300 && ct &&
	       strncasecmp(ct, "text/event-stream", 17) == 0;
}

/* One complete line of an event stream (without its end). */
static void
sse_line(struct sink *s, const char *p, size_t n)
{
	json_error_t jerr;
	json_t *j;

	if (n == 0) {
		if (s->data.len == 0)
			return;
		j = json_loadb(s->data.data, s->data.len, 0, &jerr);
		s->cb(s->arg, s->event[0] ? s->event : "message", j);
		json_decref(j);
		buf_reset(&s->data);
		s->event[0] = '\0';
		return;
	}
	if (n > 6 && strncmp(p, "event:", 6) == 0) {
		p += 6;
		n -= 6;
		while (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		snprintf(s->event, sizeof(s->event), "%.*s", (int)n, p);
	} else if (n >= 5 && strncmp(p, "data:", 5) == 0) {
		p += 5;
		n -= 5;
		if (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		if (s->data.len > 0)
			buf_append(&s->data, "\n", 1);
		if (buf_append(&s->data, p, n) < 0)
			s->too_big = true;
	}
	/* id:, retry: and comments need nothing here. */
}

static size_t
on_events(struct sink *s, const char *p, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (buf_append(&s->line, p + start, i - start) < 0) {
			s->too_big = true;
			return 0;
		}
		if (s->line.len > 0 && s->line.data[s->line.len - 1] == '\r')
			s->line.len--;
		sse_line(s, s->line.data ? s->line.data : "", s->line.len);
		buf_reset(&s->line);
		start = i + 1;
	}
	if (buf_append(&s->line, p + start, len - start) < 0) {
		s->too_big = true;
		return 0;
	}
	return s->too_big ? 0 : len;
}

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = sz * n;
	long status = 0;

	if (s->cb && is_stream(s->h))
		return on_events(s, p, len);
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	if (s->fd >= 0 && status >= 200 && status < 300) {
		if (write_all(s->fd, p, len) < 0) {
			s->write_failed = true;
			return 0;
		}
		return len;
	}
	if (buf_append(s->b, p, len) < 0) {
		s->too_big = true;
		return 0; /* abort the transfer */
	}
	return len;
}

/* Common options; returns the header list to free. */
static struct curl_slist *
setup(CURL *h, const struct cli_conn *c, const char *method, const char *url,
      const char *ctype, const char *const *extra, struct sink *sink)
{
	struct curl_slist *hdrs = NULL;
	char line[600];
	size_t i;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "sandpool-cli/0.1");
	/* Only http and https: an URL from the environment must not make
	 * us read file:// or speak other protocols. */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->key[0]) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
			 c->key);
		hdrs = curl_slist_append(hdrs, line);
		explicit_bzero(line, sizeof(line));
	}
	if (ctype) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, line);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (i = 0; extra && extra[i]; i++)
		hdrs = curl_slist_append(hdrs, extra[i]);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	return hdrs;
}

static int
finish(CURL *h, CURLcode cc, const struct cli_conn *c, struct sink *sink,
       struct cli_resp *r, const char *errbuf)
{
	json_error_t jerr;

	if (cc != CURLE_OK) {
		if (sink->too_big)
			fprintf(stderr,
				"sandpool: the reply is larger than %llu "
				"bytes\n",
				(unsigned long long)CLI_BODY_MAX);
		else if (sink->write_failed)
			fprintf(stderr, "sandpool: writing the output: %s\n",
				strerror(errno));
		else
			fprintf(stderr,
				"sandpool: cannot reach the server at %s: "
				"%s (is `sandpool serve` running? set "
				"SANDPOOL_URL or --url)\n",
				c->url,
				errbuf[0] ? errbuf : curl_easy_strerror(cc));
		if (c->json)
			printf("{\"error\": {\"code\": \"Unreachable\", "
			       "\"message\": \"cannot reach %s\"}}\n",
			       c->url);
		return CLI_EXIT_UNREACHABLE;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body.len > 0 &&
	    (r->body.data[0] == '{' || r->body.data[0] == '['))
		r->json = json_loadb(r->body.data, r->body.len, 0, &jerr);
	return CLI_EXIT_OK;
}

/* cli_request and cli_request_events; sink is set up by the caller. */
static int
perform(const struct cli_conn *c, const char *method, const char *path,
	const char *ctype, const void *body, size_t len,
	const char *const *extra, struct sink *s, struct cli_resp *r);

int
cli_request(const struct cli_conn *c, const char *method, const char *path,
	    const char *ctype, const void *body, size_t len, int out_fd,
	    const char *const *extra, struct cli_resp *r)
{
	struct sink sink = {.b = &r->body, .fd = out_fd};

	return perform(c, method, path, ctype, body, len, extra, &sink, r);
}

int
cli_request_events(const struct cli_conn *c, const char *method,
		   const char *path, const char *ctype, const void *body,
		   size_t len, const char *const *extra, cli_event_fn cb,
		   void *arg, struct cli_resp *r)
{
	struct sink sink = {.b = &r->body, .fd = -1, .cb = cb, .arg = arg};
	int rc;

	buf_init(&sink.line, CLI_BODY_MAX);
	buf_init(&sink.data, CLI_BODY_MAX);
	rc = perform(c, method, path, ctype, body, len, extra, &sink, r);
	buf_fini(&sink.line);
	buf_fini(&sink.data);
	return rc;
}

static int
perform(const struct cli_conn *c, const char *method, const char *path,
	const char *ctype, const void *body, size_t len,
	const char *const *extra, struct sink *s, struct cli_resp *r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs;
	char *url = xasprintf("%s%s", c->url, path);
	CURL *h = curl_easy_init();
	CURLcode cc;
	int rc;

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, CLI_BODY_MAX);
	ENSURE(h != NULL);
	s->h = h;
	hdrs = setup(h, c, method, url, ctype, extra, s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
	}
	cc = curl_easy_perform(h);
	rc = finish(h, cc, c, s, r, errbuf);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(url);
	return rc;
}

int
cli_upload(const struct cli_conn *c, const char *path, const char *local,
	   const char *name, struct cli_resp *r)
{
	struct sink sink = {.b = &r->body, .fd = -1};
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs;
	char *url = xasprintf("%s%s", c->url, path);
	CURL *h = curl_easy_init();
	curl_mime *mime;
	curl_mimepart *part;
	CURLcode cc;
	int rc;

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, CLI_BODY_MAX);
	ENSURE(h != NULL);
	sink.h = h;
	hdrs = setup(h, c, "POST", url, NULL, NULL, &sink);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	mime = curl_mime_init(h);
	part = curl_mime_addpart(mime);
	curl_mime_name(part, "file");
	cc = curl_mime_filedata(part, local);
	if (cc != CURLE_OK) {
		fprintf(stderr, "sandpool: cannot read %s: %s\n", local,
			curl_easy_strerror(cc));
		rc = CLI_EXIT_FAILED;
		goto out;
	}
	curl_mime_filename(part, name);
	curl_mime_type(part, "application/octet-stream");
	curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
	cc = curl_easy_perform(h);
	rc = finish(h, cc, c, &sink, r, errbuf);
out:
	curl_mime_free(mime);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(url);
	return rc;
}

int
cli_fail(const struct cli_conn *c, const struct cli_resp *r, const char *what)
{
	const json_t *e = json_object_get(r->json, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	if (msg == NULL && r->body.len > 0 && r->json == NULL)
		msg = r->body.data; /* a text reply */
	fprintf(stderr, "sandpool: %s: %ld %s%s%.500s\n", what, r->status,
		code ? code : "", code && msg ? ": " : "", msg ? msg : "");
	if (r->status == 401)
		fprintf(stderr, "sandpool: set SANDPOOL_API_KEY or pass "
				"--api-key\n");
	else if (r->status == 403)
		fprintf(stderr, "sandpool: this key lacks the scope or pool; "
				"see `sandpool keys ls`\n");
	if (c->json) {
		if (r->json)
			cli_print_json(r->json);
		else
			printf("{\"error\": {\"code\": \"HttpError\", "
			       "\"status\": %ld}}\n",
			       r->status);
	}
	return r->status == 401 || r->status == 403 ? CLI_EXIT_AUTH
						    : CLI_EXIT_FAILED;
}
