// SPDX-License-Identifier: MIT
/*
 * fetch.c: URL inputs for files (files_fetch_url, POST files?url=).
 * data: URLs are decoded here; http and https go through libcurl with:
 * only those two protocols, also for redirects (at most
 * FETCH_REDIRECTS_MAX, each one re-checked); no proxy from the
 * environment; a total timeout; a byte cap checked against
 * Content-Length and again as bytes arrive; and an SSRF check in the
 * open-socket callback, which sees the resolved address of every
 * connection curl makes.  A prerequest callback checks the connected peer
 * once more before the request is sent (a reused connection skips the
 * socket callback).
 *
 * A fetch blocks the calling HTTP thread for at most the timeout: simple,
 * and bounded (docs/API.md says so).
 */
#define _GNU_SOURCE
#include "fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "multipart.h"

/* ------------------------------------------------------------------ */
/* the address rule                                                    */
/* ------------------------------------------------------------------ */

/* IPv4 networks refused by default (IANA special-purpose registry, the
 * ones not globally reachable). */
static const struct {
	uint32_t net;
	unsigned bits;
} v4_refused[] = {
	{0x00000000, 8},  /* 0/8 "this network" */
	{0x0a000000, 8},  /* 10/8 private */
	{0x64400000, 10}, /* 100.64/10 shared (CGNAT) */
	{0x7f000000, 8},  /* 127/8 loopback */
	{0xa9fe0000, 16}, /* 169.254/16 link-local (cloud metadata) */
	{0xac100000, 12}, /* 172.16/12 private */
	{0xc0000000, 24}, /* 192.0.0/24 IETF protocol assignments */
	{0xc0000200, 24}, /* 192.0.2/24 documentation */
	{0xc0586300, 24}, /* 192.88.99/24 6to4 relay anycast */
	{0xc0a80000, 16}, /* 192.168/16 private */
	{0xc6120000, 15}, /* 198.18/15 benchmarking */
	{0xc6336400, 24}, /* 198.51.100/24 documentation */
	{0xcb007100, 24}, /* 203.0.113/24 documentation */
	{0xe0000000, 4},  /* 224/4 multicast */
	{0xf0000000, 4},  /* 240/4 reserved, and the broadcast address */
};

static bool
v4_private(uint32_t a)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v4_refused); i++) {
		uint32_t mask = 0xffffffffu << (32 - v4_refused[i].bits);

		if ((a & mask) == v4_refused[i].net)
			return true;
	}
	return false;
}

static uint32_t
be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static bool
v6_private(const uint8_t *b)
{
	static const uint8_t zero[16];
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};

	if (memcmp(b, zero, 15) == 0)
		return true; /* :: and ::1 */
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0 ||
	    memcmp(b, nat64, 12) == 0)
		return v4_private(be32(b + 12)); /* embedded IPv4 */
	if (b[0] == 0x20 && b[1] == 0x02)
		return v4_private(be32(b + 2)); /* 6to4 */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
		return true; /* 2001::/32 Teredo: hides its IPv4 */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return true; /* 2001:db8::/32 documentation */
	if (b[0] == 0x01 && b[1] == 0 && memcmp(b + 2, zero, 6) == 0)
		return true; /* 100::/64 discard-only */
	if ((b[0] & 0xfe) == 0xfc)
		return true; /* fc00::/7 unique local */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return true; /* fe80::/10 link-local */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return true; /* fec0::/10 site-local (deprecated) */
	if (b[0] == 0xff)
		return true; /* ff00::/8 multicast */
	return false;
}

bool
fetch_addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in in;

		memcpy(&in, sa, sizeof(in));
		return v4_private(ntohl(in.sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 in6;

		memcpy(&in6, sa, sizeof(in6));
		return v6_private(in6.sin6_addr.s6_addr);
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* data: URLs                                                          */
/* ------------------------------------------------------------------ */

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

int
fetch_data_url(const char *url, uint64_t max, struct buf *out,
	       struct sp_err *err)
{
	const char *meta = url + 5, *comma = strchr(meta, ','), *s;
	size_t mlen, dlen, o = 0;
	char *text = NULL;
	bool b64;
	int rc = 0;

	buf_init(out, (size_t)max);
	if (strncasecmp(url, "data:", 5) != 0 || comma == NULL)
		return sp_errf(err, 400, "InvalidUrl",
			       "a data: URL is data:[TYPE][;base64],DATA");
	mlen = (size_t)(comma - meta);
	b64 = mlen >= 7 && strncasecmp(comma - 7, ";base64", 7) == 0;
	dlen = strlen(comma + 1);
	/* Percent-decoding never lengthens the text. */
	text = xmalloc(dlen + 1);
	for (s = comma + 1; *s != '\0'; s++) {
		if (*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if (hi < 0 || lo < 0) {
				rc = sp_errf(err, 400, "InvalidUrl",
					     "the data: URL has a bad "
					     "%%-escape at byte %zu",
					     (size_t)(s - url));
				goto out;
			}
			text[o++] = (char)(hi * 16 + lo);
			s += 2;
		} else {
			text[o++] = *s;
		}
	}
	if (b64)
		rc = base64_decode(text, o, out);
	else
		rc = buf_append(out, text, o);
	if (rc == -E2BIG)
		rc = sp_errf(err, 413, "FileTooLarge",
			     "the data: URL holds more than the %llu bytes "
			     "accepted (files.url_max_bytes)",
			     (unsigned long long)max);
	else if (rc < 0)
		rc = sp_errf(err, 400, "InvalidUrl",
			     "the data: URL is marked ;base64 but its data is "
			     "not valid base64");
out:
	free(text);
	if (rc < 0)
		buf_fini(out);
	return rc;
}

/* ------------------------------------------------------------------ */
/* http and https                                                      */
/* ------------------------------------------------------------------ */

struct ctx {
	const struct fetch_opts *o;
	fetch_write_fn w;
	void *arg;
	uint64_t bytes;
	int werr; /* the write side's error, or 0 */
	struct sp_err wmsg;
	bool refused; /* the address rule stopped a connection */
	char refused_addr[INET6_ADDRSTRLEN];
	struct mp_part *cd; /* Content-Disposition of the last response */
	bool cd_set;
};

static void
global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		log_warnx("curl_global_init failed");
}

static bool
addr_allowed(struct ctx *c, const struct sockaddr *sa)
{
	char text[INET6_ADDRSTRLEN] = "?";

	if (c->o->allow_private || !fetch_addr_private(sa))
		return true;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  text, sizeof(text));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, text,
			  sizeof(text));
	c->refused = true;
	snprintf(c->refused_addr, sizeof(c->refused_addr), "%s", text);
	return false;
}

static curl_socket_t
open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct ctx *c = ud;
	struct sockaddr_storage ss;
	int fd;

	if (purpose != CURLSOCKTYPE_IPCXN || a->addrlen > sizeof(ss))
		return CURL_SOCKET_BAD;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &a->addr, a->addrlen);
	if (!addr_allowed(c, (struct sockaddr *)&ss))
		return CURL_SOCKET_BAD;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/* The peer of the connection the request is about to go out on. */
static int
prereq(void *ud, char *primary_ip, char *local_ip, int primary_port,
       int local_port)
{
	struct ctx *c = ud;
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};

	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (inet_pton(AF_INET, primary_ip, &in.sin_addr) == 1)
		return addr_allowed(c, (struct sockaddr *)&in)
			       ? CURL_PREREQFUNC_OK
			       : CURL_PREREQFUNC_ABORT;
	if (inet_pton(AF_INET6, primary_ip, &in6.sin6_addr) == 1)
		return addr_allowed(c, (struct sockaddr *)&in6)
			       ? CURL_PREREQFUNC_OK
			       : CURL_PREREQFUNC_ABORT;
	c->refused = true;
	snprintf(c->refused_addr, sizeof(c->refused_addr), "%.40s", primary_ip);
	return CURL_PREREQFUNC_ABORT;
}

static size_t
on_header(char *b, size_t size, size_t n, void *ud)
{
	struct ctx *c = ud;
	size_t len = size * n, vlen;
	const char *v;
	struct sp_err ignored;

	if (len >= 5 && strncmp(b, "HTTP/", 5) == 0) {
		c->cd_set = false; /* a new response (after a redirect) */
		return len;
	}
	if (len < 20 || strncasecmp(b, "content-disposition:", 20) != 0)
		return len;
	v = b + 20;
	vlen = len - 20;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
			    v[vlen - 1] == ' '))
		vlen--;
	memset(c->cd, 0, sizeof(*c->cd));
	c->cd_set = mp_parse_disposition(v, vlen, c->cd, &ignored) == 0 &&
		    c->cd->has_filename;
	return len;
}

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct ctx *c = ud;
	size_t len = size * n;

	if (len > c->o->max_bytes - c->bytes) {
		c->werr = sp_errf(&c->wmsg, 413, "FileTooLarge",
				  "the URL's content is larger than the %llu "
				  "bytes accepted (files.url_max_bytes)",
				  (unsigned long long)c->o->max_bytes);
		return 0;
	}
	c->werr = c->w(c->arg, p, len, &c->wmsg);
	if (c->werr < 0)
		return 0;
	c->bytes += len;
	return len;
}

/* The last segment of the final URL's path, decoded, into name. */
static void
url_name(CURL *h, char *name, size_t namesz)
{
	char *eff = NULL, *path = NULL;
	const char *slash;
	CURLU *u;

	if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) != CURLE_OK ||
	    eff == NULL)
		return;
	u = curl_url();
	if (u && curl_url_set(u, CURLUPART_URL, eff, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) ==
		    CURLUE_OK &&
	    path) {
		slash = strrchr(path, '/');
		snprintf(name, namesz, "%s", slash ? slash + 1 : path);
	}
	curl_free(path);
	curl_url_cleanup(u);
}

static int
curl_error(struct ctx *c, CURL *h, CURLcode cc, const char *ebuf,
	   struct sp_err *err)
{
	long status = 0;

	if (c->werr < 0) {
		if (err)
			*err = c->wmsg;
		return c->werr;
	}
	if (c->refused)
		return sp_errf(err, 400, "UrlNotAllowed",
			       "the URL leads to %s, a private, loopback or "
			       "link-local address; URL inputs may not reach "
			       "those unless files.url_allow_private = true",
			       c->refused_addr);
	/* An if-chain: CURLcode has ~100 values (-Wswitch-enum). */
	if (cc == CURLE_HTTP_RETURNED_ERROR) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		return sp_errf(err, 502, "FetchFailed",
			       "the URL's server answered HTTP %ld", status);
	}
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return sp_errf(err, 504, "FetchTimeout",
			       "fetching the URL took longer than %u s "
			       "(files.url_timeout)",
			       c->o->timeout_s);
	if (cc == CURLE_FILESIZE_EXCEEDED)
		return sp_errf(err, 413, "FileTooLarge",
			       "the URL's content is larger than the %llu "
			       "bytes accepted (files.url_max_bytes)",
			       (unsigned long long)c->o->max_bytes);
	if (cc == CURLE_UNSUPPORTED_PROTOCOL)
		return sp_errf(err, 400, "InvalidUrl",
			       "only http and https URLs are fetched, and "
			       "redirects only to those: %s",
			       ebuf);
	if (cc == CURLE_TOO_MANY_REDIRECTS)
		return sp_errf(err, 502, "FetchFailed",
			       "the URL redirected more than %d times",
			       FETCH_REDIRECTS_MAX);
	if (cc == CURLE_URL_MALFORMAT)
		return sp_errf(err, 400, "InvalidUrl",
			       "the URL is malformed: %s", ebuf);
	return sp_errf(err, 502, "FetchFailed", "fetching the URL failed: %s",
		       ebuf[0] ? ebuf : curl_easy_strerror(cc));
}

static int
fetch_http(const char *url, const struct fetch_opts *o, fetch_write_fn w,
	   void *arg, char *name, size_t namesz, struct sp_err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct ctx c = {.o = o, .w = w, .arg = arg};
	char ebuf[CURL_ERROR_SIZE] = "";
	CURL *h = NULL;
	CURLcode cc;
	int rc = 0;

	pthread_once(&once, global_init);
	c.cd = xcalloc(1, sizeof(*c.cd));
	h = curl_easy_init();
	if (h == NULL) {
		rc = sp_errf(err, 500, "InternalError",
			     "cannot start a URL fetch");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)FETCH_REDIRECTS_MAX);
	/* Never a proxy from http_proxy & co: the peer we check must be
	 * the server we talk to. */
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)o->timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
			 (long)(o->timeout_s < 10 ? o->timeout_s : 10));
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)(o->max_bytes > INT64_MAX ? INT64_MAX
							       : o->max_bytes));
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "sandpool-fetch/0.1");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &c);
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, prereq);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, &c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK || c.werr < 0) {
		rc = curl_error(&c, h, cc, ebuf, err);
		goto out;
	}
	if (name && c.cd_set)
		snprintf(name, namesz, "%s", c.cd->filename);
	else if (name)
		url_name(h, name, namesz);
out:
	curl_easy_cleanup(h);
	free(c.cd);
	return rc;
}

int
fetch_url(const char *url, const struct fetch_opts *o, fetch_write_fn w,
	  void *arg, char *name, size_t namesz, struct sp_err *err)
{
	struct buf data;
	int rc;

	if (name && namesz > 0)
		name[0] = '\0';
	if (strncasecmp(url, "data:", 5) == 0) {
		rc = fetch_data_url(url, o->max_bytes, &data, err);
		if (rc < 0)
			return rc;
		rc = data.len ? w(arg, data.data, data.len, err) : 0;
		buf_fini(&data);
		return rc;
	}
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		return sp_errf(err, 400, "InvalidUrl",
			       "the URL must start with http://, https:// or "
			       "data:");
	if (strlen(url) > FETCH_URL_MAX)
		return sp_errf(err, 400, "InvalidUrl",
			       "the URL is longer than %d bytes",
			       FETCH_URL_MAX);
	return fetch_http(url, o, w, arg, name, namesz, err);
}
