// SPDX-License-Identifier: MIT
/*
 * test_fetch.c: URL inputs.  The address rule and data: URLs are vector
 * tables; the http tests run in a private network namespace (the test's
 * own forked child) where 8.8.8.8 is a local "public" address, so that a
 * redirect from a public to a private address can be tested without any
 * real network.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch.h"
#include "t.h"

TEST(address_rule)
{
	static const struct {
		const char *a;
		bool priv;
	} v[] = {
		{"127.0.0.1", true},       {"127.255.1.2", true},
		{"10.1.2.3", true},        {"172.16.0.1", true},
		{"172.31.255.255", true},  {"172.32.0.1", false},
		{"192.168.1.1", true},     {"169.254.169.254", true},
		{"100.64.0.1", true},      {"100.128.0.1", false},
		{"0.0.0.0", true},         {"224.0.0.1", true},
		{"255.255.255.255", true}, {"192.0.2.2", true},
		{"198.18.0.1", true},      {"8.8.8.8", false},
		{"93.184.216.34", false},  {"::1", true},
		{"::", true},              {"fe80::1", true},
		{"fd00::2", true},         {"fc00::1", true},
		{"ff02::1", true},         {"::ffff:127.0.0.1", true},
		{"::ffff:8.8.8.8", false}, {"64:ff9b::a9fe:a9fe", true},
		{"2002:7f00:1::1", true},  {"2002:808:808::1", false},
		{"2001:db8::1", true},     {"2001::1", true},
		{"2606:4700::1111", false}, {"::127.0.0.1", true},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		struct sockaddr_in in = {.sin_family = AF_INET};
		struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
		const struct sockaddr *sa;

		if (inet_pton(AF_INET, v[i].a, &in.sin_addr) == 1)
			sa = (const struct sockaddr *)&in;
		else if (inet_pton(AF_INET6, v[i].a, &in6.sin6_addr) == 1)
			sa = (const struct sockaddr *)&in6;
		else {
			T_FAIL("bad vector %s", v[i].a);
			continue;
		}
		if (fetch_addr_private(sa) != v[i].priv)
			T_FAIL("%s: private=%d, wanted %d", v[i].a,
			       !v[i].priv, v[i].priv);
	}
}

TEST(data_urls)
{
	static const struct {
		const char *url;
		int http;          /* 0 = ok */
		const char *out;
		size_t len;
	} v[] = {
		{"data:,hello", 0, "hello", 5},
		{"data:text/plain;base64,aGVsbG8gd29ybGQ=", 0, "hello world",
		 11},
		{"data:text/plain;charset=utf-8;BASE64,aGk", 0, "hi", 2},
		{"data:text/csv,a%2Cb%0A1%2C2", 0, "a,b\n1,2", 7},
		{"data:;base64,AAEC", 0, "\0\1\2", 3},
		{"data:application/octet-stream;base64,aGk%3D", 0, "hi", 2},
		{"data:text/plain;base64,@@@", 400, NULL, 0},
		{"data:nocomma", 400, NULL, 0},
		{"data:,bad%zz", 400, NULL, 0},
		{"data:,bad%4", 400, NULL, 0},
		{"data:,0123456789ABCDEF-too-long", 413, NULL, 0},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		struct sp_err err = {0, NULL, ""};
		struct buf b;
		int rc = fetch_data_url(v[i].url, 16, &b, &err);

		if (v[i].http) {
			if (rc == 0 || err.http != v[i].http)
				T_FAIL("%s: rc %d http %d", v[i].url, rc,
				       err.http);
			continue;
		}
		if (rc < 0) {
			T_FAIL("%s: %s", v[i].url, err.msg);
			continue;
		}
		if (b.len != v[i].len || memcmp(b.data, v[i].out, b.len) != 0)
			T_FAIL("%s: wrong bytes (%zu)", v[i].url, b.len);
		buf_fini(&b);
	}
}

TEST(scheme_check)
{
	static const char *bad[] = {"file:///etc/passwd", "ftp://x/y",
				    "gopher://127.0.0.1/", "/etc/passwd",
				    "javascript:alert(1)", ""};
	struct fetch_opts o = {1024, 5, false};
	struct sp_err err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_INT(fetch_url(bad[i], &o, NULL, NULL, NULL, 0, &err), <,
			  0);
		CHECK_INT(err.http, ==, 400);
	}
}

/* ---- http, in a network namespace of our own ---- */

static void
run_ip(const char *a1, const char *a2, const char *a3, const char *a4,
       const char *a5, const char *a6)
{
	pid_t p = fork();
	int st;

	if (p == 0) {
		execlp("ip", "ip", a1, a2, a3, a4, a5, a6, (char *)NULL);
		_exit(127);
	}
	waitpid(p, &st, 0);
}

static int
listen_on(const char *addr, int port)
{
	struct sockaddr_in in = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, addr, &in.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&in, sizeof(in)) < 0 ||
	    listen(fd, 16) < 0)
		return -1;
	return fd;
}

static void
say(int c, const char *s)
{
	if (write(c, s, strlen(s)) < 0)
		return;
}

/* A tiny HTTP/1.0 server: one answer per connection, chosen by path. */
static void
serve(int lfd)
{
	for (;;) {
		char req[2048], path[256] = "";
		ssize_t n = 0, r;
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			continue;
		while ((size_t)n < sizeof(req) - 1 &&
		       (r = read(c, req + n, sizeof(req) - 1 - (size_t)n)) > 0) {
			n += r;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[n < 0 ? 0 : n] = '\0';
		sscanf(req, "GET %255s", path);
		if (strcmp(path, "/hello") == 0) {
			say(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n"
			       "Content-Disposition: attachment; "
			       "filename=\"greet.txt\"\r\n\r\nhello");
		} else if (strcmp(path, "/dir/data.csv?x=1") == 0) {
			say(c, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n"
			       "a,b");
		} else if (strcmp(path, "/redir-private") == 0) {
			say(c, "HTTP/1.0 302 Found\r\nLocation: "
			       "http://127.0.0.1:8081/secret\r\n"
			       "Content-Length: 0\r\n\r\n");
		} else if (strcmp(path, "/redir-ok") == 0) {
			say(c, "HTTP/1.0 302 Found\r\nLocation: /hello\r\n"
			       "Content-Length: 0\r\n\r\n");
		} else if (strcmp(path, "/redir-file") == 0) {
			say(c, "HTTP/1.0 302 Found\r\nLocation: "
			       "file:///etc/passwd\r\nContent-Length: 0\r\n\r\n");
		} else if (strcmp(path, "/loop") == 0) {
			say(c, "HTTP/1.0 302 Found\r\nLocation: /loop\r\n"
			       "Content-Length: 0\r\n\r\n");
		} else if (strcmp(path, "/big") == 0) {
			say(c, "HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n"
			       "\r\n");
		} else if (strcmp(path, "/bigstream") == 0) {
			static char x[4096];
			int i;

			memset(x, 'x', sizeof(x));
			say(c, "HTTP/1.0 200 OK\r\n\r\n");
			for (i = 0; i < 40; i++)
				if (write(c, x, sizeof(x)) < 0)
					break;
		} else if (strcmp(path, "/slow") == 0) {
			sleep(4);
			say(c, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nz");
		} else if (strcmp(path, "/secret") == 0) {
			say(c, "HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\n"
			       "secret");
		} else {
			say(c, "HTTP/1.0 404 Not Found\r\nContent-Length: 0"
			       "\r\n\r\n");
		}
		close(c);
	}
}

static pid_t
spawn_server(const char *addr, int port)
{
	int fd = listen_on(addr, port);
	pid_t p;

	if (fd < 0)
		return -1;
	p = fork();
	if (p == 0) {
		serve(fd);
		_exit(0);
	}
	close(fd);
	return p;
}

static int
sink(void *arg, const void *p, size_t n, struct sp_err *err)
{
	(void)err;
	return buf_append(arg, p, n);
}

static int
get(const char *url, bool allow_private, uint64_t max, uint32_t timeout,
    struct buf *out, char *name, struct sp_err *err)
{
	struct fetch_opts o = {max, timeout, allow_private};

	buf_init(out, 1 << 20);
	return fetch_url(url, &o, sink, out, name, 256, err);
}

TEST(http_fetches_in_a_private_netns)
{
	pid_t pub, priv;
	struct sp_err err = {0, NULL, ""};
	struct buf b;
	char name[256];

	if (unshare(CLONE_NEWNET) < 0) {
		printf("# skipped: cannot make a network namespace\n");
		return;
	}
	run_ip("link", "set", "lo", "up", NULL, NULL);
	run_ip("addr", "add", "8.8.8.8/32", "dev", "lo", NULL);
	pub = spawn_server("8.8.8.8", 8080);
	priv = spawn_server("127.0.0.1", 8081);
	if (pub < 0 || priv < 0) {
		printf("# skipped: cannot listen in the namespace\n");
		return;
	}

	/* A public address: fine; the name from Content-Disposition. */
	CHECK_INT(get("http://8.8.8.8:8080/hello", false, 1000, 10, &b, name,
		      &err),
		  ==, 0);
	CHECK_INT(b.len, ==, 5);
	CHECK_STR(name, "greet.txt");
	buf_fini(&b);
	/* The name from the path's last segment, query dropped. */
	CHECK_INT(get("http://8.8.8.8:8080/dir/data.csv?x=1", false, 1000, 10,
		      &b, name, &err),
		  ==, 0);
	CHECK_STR(name, "data.csv");
	buf_fini(&b);
	/* Redirects are followed, and re-checked. */
	CHECK_INT(get("http://8.8.8.8:8080/redir-ok", false, 1000, 10, &b,
		      name, &err),
		  ==, 0);
	CHECK_STR(name, "greet.txt");
	buf_fini(&b);
	CHECK_INT(get("http://8.8.8.8:8080/redir-private", false, 1000, 10, &b,
		      name, &err),
		  <, 0);
	CHECK_INT(err.http, ==, 400);
	CHECK_STR(err.code, "UrlNotAllowed");
	CHECK(strstr(err.msg, "127.0.0.1") != NULL);
	CHECK(strstr(err.msg, "url_allow_private") != NULL);
	CHECK_INT(b.len, ==, 0);
	buf_fini(&b);
	CHECK_INT(get("http://8.8.8.8:8080/redir-file", false, 1000, 10, &b,
		      name, &err),
		  <, 0);
	CHECK_INT(err.http, ==, 400);
	buf_fini(&b);
	CHECK_INT(get("http://8.8.8.8:8080/loop", false, 1000, 10, &b, name,
		      &err),
		  <, 0);
	CHECK_INT(err.http, ==, 502);
	CHECK(strstr(err.msg, "redirected") != NULL);
	buf_fini(&b);
	/* Private addresses: refused by name or number unless allowed. */
	CHECK_INT(get("http://127.0.0.1:8081/secret", false, 1000, 10, &b,
		      name, &err),
		  <, 0);
	CHECK_STR(err.code, "UrlNotAllowed");
	buf_fini(&b);
	CHECK_INT(get("http://localhost:8081/secret", false, 1000, 10, &b,
		      name, &err),
		  <, 0);
	CHECK_STR(err.code, "UrlNotAllowed");
	buf_fini(&b);
	CHECK_INT(get("http://127.0.0.1:8081/secret", true, 1000, 10, &b, name,
		      &err),
		  ==, 0);
	CHECK_INT(b.len, ==, 6);
	buf_fini(&b);
	/* Caps: by Content-Length, by counting, by time. */
	CHECK_INT(get("http://8.8.8.8:8080/big", false, 1000, 10, &b, name,
		      &err),
		  <, 0);
	CHECK_INT(err.http, ==, 413);
	buf_fini(&b);
	CHECK_INT(get("http://8.8.8.8:8080/bigstream", false, 5000, 10, &b,
		      name, &err),
		  <, 0);
	CHECK_INT(err.http, ==, 413);
	CHECK_INT(b.len, <=, 5000);
	buf_fini(&b);
	CHECK_INT(get("http://8.8.8.8:8080/missing", false, 1000, 10, &b, name,
		      &err),
		  <, 0);
	CHECK_INT(err.http, ==, 502);
	CHECK(strstr(err.msg, "404") != NULL);
	buf_fini(&b);
	CHECK_INT(get("http://8.8.8.8:8080/slow", false, 1000, 1, &b, name,
		      &err),
		  <, 0);
	CHECK_INT(err.http, ==, 504);
	buf_fini(&b);
	CHECK_INT(get("http://8.8.8.8:1/", false, 1000, 5, &b, name, &err), <,
		  0);
	CHECK_INT(err.http, ==, 502);
	buf_fini(&b);

	kill(pub, SIGKILL);
	kill(priv, SIGKILL);
	waitpid(pub, NULL, 0);
	waitpid(priv, NULL, 0);
}

T_MAIN()
