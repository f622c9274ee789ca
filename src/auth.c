// SPDX-License-Identifier: MIT
/*
 * auth.c: API-key authentication for http.c, and the loopback test that
 * main.c uses to refuse serving without keys on a public address.  Keys
 * are compared with ct_equal() against every configured key, always all
 * of them, so the time taken does not say which key (or how much of one)
 * matched; only the length of the candidate can leak.  Nothing here logs
 * or copies a key.
 */
#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim optional whitespace (RFC 9110 OWS) from both ends of s[0..*n). */
static const char *
trim(const char *s, size_t *n)
{
	while (*n > 0 && is_ows(s[0])) {
		s++;
		(*n)--;
	}
	while (*n > 0 && is_ows(s[*n - 1]))
		(*n)--;
	return s;
}

/*
 * If hdr is "Bearer TOKEN" (scheme in any case), point *tok at the token
 * and return 1; *toklen may be 0 for a bare "Bearer".  Otherwise return 0.
 */
static int
parse_bearer(const char *hdr, const char **tok, size_t *toklen)
{
	static const char scheme[] = "Bearer";
	size_t n = strlen(hdr), slen = sizeof(scheme) - 1;
	const char *s = trim(hdr, &n);

	if (n < slen || strncasecmp(s, scheme, slen) != 0)
		return 0;
	if (n > slen && !is_ows(s[slen]))
		return 0; /* "Bearerx": another scheme */
	n -= slen;
	*tok = trim(s + slen, &n);
	*toklen = n;
	return 1;
}

/*
 * Index of the configured key equal to key[0..len), or -1.  Every key is
 * compared and the selection is branch-free, so the running time depends
 * only on the number of keys and their lengths.
 */
static int
match_key(const struct config *cfg, const char *key, size_t len)
{
	int i, found = -1, nkeys = cfg->nkeys;

	if (nkeys > CONFIG_MAX_KEYS)
		nkeys = CONFIG_MAX_KEYS;
	for (i = 0; i < nkeys; i++) {
		const char *secret = cfg->keys[i].secret;
		int eq, mask;

		if (secret == NULL)
			continue;
		eq = ct_equal(key, len, secret, strlen(secret));
		mask = -eq; /* all ones on a match, else 0 */
		found = (found & ~mask) | (i & mask);
	}
	return found;
}

int
auth_check(const struct config *cfg, const char *authorization,
	   const char *apikey, char *principal, size_t principal_sz,
	   struct sp_err *err)
{
	const char *bearer = NULL, *key = NULL;
	size_t bearer_len = 0, key_len = 0;
	int idx = -1, other_scheme = 0;

	ENSURE(principal != NULL && principal_sz > 0);
	principal[0] = '\0';
	if (cfg->nkeys <= 0) {
		(void)snprintf(principal, principal_sz, "%s", "default");
		return 0;
	}

	if (authorization != NULL) {
		size_t n = strlen(authorization);

		if (!parse_bearer(authorization, &bearer, &bearer_len)) {
			bearer = NULL;
			(void)trim(authorization, &n);
			other_scheme = n > 0;
		}
	}
	if (apikey != NULL) {
		key_len = strlen(apikey);
		key = trim(apikey, &key_len);
	}

	if (bearer_len == 0 && key_len == 0) {
		if (other_scheme)
			return sp_errf(err, 401, "Unauthorized",
				       "the Authorization header must be "
				       "\"Bearer <key>\"; or send x-ms-apikey");
		return sp_errf(err, 401, "Unauthorized",
			       "missing API key: send Authorization: Bearer "
			       "<key> or x-ms-apikey");
	}
	if (bearer_len > 0)
		idx = match_key(cfg, bearer, bearer_len);
	if (idx < 0 && key_len > 0)
		idx = match_key(cfg, key, key_len);
	if (idx < 0)
		return sp_errf(err, 401, "Unauthorized", "invalid API key");
	(void)snprintf(principal, principal_sz, "%s", cfg->keys[idx].principal);
	return 0;
}

int
auth_listen_is_loopback(const char *listen)
{
	char host[256];
	const char *h, *end, *colon;
	size_t n;
	struct in_addr a4;
	struct in6_addr a6;

	if (listen == NULL)
		return 0;
	if (listen[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		h = listen + 1;
		end = strchr(h, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return 0;
	} else {
		/* One colon is host:port; two or more is a bare v6 address. */
		h = listen;
		colon = strchr(h, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL)
			end = colon;
		else
			end = h + strlen(h);
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return 0;
}
