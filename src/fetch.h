/* SPDX-License-Identifier: MIT */
/*
 * fetch.h: URL inputs.  The server (never the sandbox, which has no
 * network) fetches data: and http(s): URLs with libcurl, capped in bytes,
 * time and redirects, and refuses private, loopback and link-local
 * addresses unless configured otherwise.  The address check runs on the
 * address curl actually connects to, for every connection including each
 * redirect's, so neither a redirect nor DNS rebinding gets around it.
 */
#ifndef SANDPOOL_FETCH_H
#define SANDPOOL_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

#define FETCH_URL_MAX 8192 /* bytes of an http(s) URL */
#define FETCH_REDIRECTS_MAX 5

struct fetch_opts {
	uint64_t max_bytes; /* bytes of the decoded body; past it 413 */
	uint32_t timeout_s; /* whole fetch, connect and redirects included */
	bool allow_private; /* let private, loopback, link-local through */
};

/* Receives the body in pieces; returns 0 or a negative errno with err
 * filled, which stops the fetch and is returned by fetch_url. */
typedef int (*fetch_write_fn)(void *arg, const void *p, size_t n,
			      struct sp_err *err);

/*
 * Fetch url and pass its body to w.  name (namesz bytes, may be NULL)
 * gets the name the response suggests: the Content-Disposition filename,
 * else the last segment of the final URL's path, else "".  Blocks up to
 * o->timeout_s seconds (DNS, connect, redirects and transfer), takes no
 * lock; thread-safe.  Returns 0, or a negative errno with err: 400
 * InvalidUrl / UrlNotAllowed, 413 FileTooLarge, 502 FetchFailed, 504
 * FetchTimeout, or w's own error.
 */
int fetch_url(const char *url, const struct fetch_opts *o, fetch_write_fn w,
	      void *arg, char *name, size_t namesz, struct sp_err *err);

/*
 * Decode a data: URL (RFC 2397: percent-encoded, or ";base64") into out,
 * which this initialises with a cap of max bytes; the caller frees it with
 * buf_fini.  Returns 0 or -errno with err (400 InvalidUrl, 413).
 */
int fetch_data_url(const char *url, uint64_t max, struct buf *out,
		   struct sp_err *err);

/*
 * Is sa an address URL inputs must not reach by default: unspecified,
 * loopback, private (RFC 1918, ULA), shared (CGNAT), link-local,
 * documentation, benchmarking, multicast, reserved, or an IPv6 form that
 * embeds such an IPv4 address (mapped, compatible, NAT64, 6to4)?  Also
 * true for any family but AF_INET and AF_INET6.  Pure.
 */
bool fetch_addr_private(const struct sockaddr *sa);

#endif
