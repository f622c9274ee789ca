// SPDX-License-Identifier: MIT
/*
 * util.c: allocation wrappers, the capped buffer, clocks, fd helpers and
 * strict number parsers shared by the server, the sandbox launcher and the
 * CLI.  Allocation failure aborts: everything a client can size is capped
 * before it reaches an allocator, so OOM here means a bug, not load.
 */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void
ensure_failed(const char *expr, const char *file, int line)
{
	fprintf(stderr, "ENSURE failed: %s at %s:%d\n", expr, file, line);
	abort();
}

int
sp_errf(struct sp_err *err, int http, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -EINVAL;
	err->http = http;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void
oom(size_t n)
{
	fprintf(stderr, "out of memory allocating %zu bytes\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		oom(n * sz);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	return p;
}

/* ---- capped buffer ---- */

void
buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void
buf_fini(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int
buf_reserve(struct buf *b, size_t n)
{
	size_t want;

	if (n > b->cap || b->len > b->cap - n)
		return -E2BIG;
	want = b->len + n + 1;
	if (want <= b->alloc)
		return 0;
	if (b->alloc == 0)
		b->alloc = 256;
	while (b->alloc < want)
		b->alloc *= 2;
	b->data = xrealloc(b->data, b->alloc);
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);

	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	rc = buf_append(b, s, (size_t)n);
	free(s);
	return rc;
}

char *
buf_steal(struct buf *b, size_t *len)
{
	char *p = b->data;

	if (p == NULL)
		p = xstrdup("");
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}

/* ---- clocks ---- */

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
now_ms(void)
{
	return now_ns() / 1000000u;
}

uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
fmt_time_rfc3339(uint64_t ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char tmp[32];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outsz, "%s.%03uZ", tmp, (unsigned)(ms % 1000));
}

/* ---- fds ---- */

int
fd_open_tree(const char *path, uint64_t attr, int *out, const char **step)
{
	struct mount_attr ma = {.attr_set = attr, .propagation = MS_PRIVATE};
	int dir = -1, tree = -1, rc = 0;

	*out = -1;
	*step = "open";
	dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dir < 0) {
		rc = -errno;
		goto out;
	}
	*step = "open_tree";
	/* AT_RECURSIVE: like MS_BIND|MS_REC, submounts come along. */
	tree = (int)syscall(SYS_open_tree, dir, "",
			    AT_EMPTY_PATH | OPEN_TREE_CLONE |
				    OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0) {
		rc = -errno;
		goto out;
	}
	*step = "mount_setattr";
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE,
		    &ma, sizeof(ma)) < 0) {
		rc = -errno;
		goto out;
	}
	*out = tree;
	tree = -1;
out:
	if (dir >= 0)
		close(dir);
	if (tree >= 0)
		close(tree);
	return rc;
}

int
fd_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int
fd_set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

int
fd_send(int sock, const void *buf, size_t len, const int *fds, size_t n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} u;
	struct iovec iov = {(void *)buf, len};
	struct msghdr mh = {0};
	struct cmsghdr *cm;
	ssize_t r;

	if (n > 16)
		return -EINVAL;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (n > 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	do
		r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO;
}

int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
read_file_capped(const char *path, size_t cap, char **out, size_t *len)
{
	struct buf b;
	char chunk[4096];
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf_init(&b, cap);
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		rc = buf_append(&b, chunk, (size_t)r);
		if (rc < 0)
			break;
	}
	close(fd);
	if (rc < 0) {
		buf_fini(&b);
		return rc;
	}
	*out = buf_steal(&b, len);
	return 0;
}

int
write_file_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = write_all(fd, s, strlen(s));
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* ---- randomness ---- */

void
random_bytes(void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = getrandom(c, n, 0);

		if (r < 0) {
			ENSURE(errno == EINTR);
			continue;
		}
		c += r;
		n -= (size_t)r;
	}
}

void
random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	size_t i;

	ENSURE(nbytes <= sizeof(raw));
	random_bytes(raw, nbytes);
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

/* ---- parsers ---- */

int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
parse_size(const char *s, uint64_t *out)
{
	char digits[32];
	size_t n = 0;
	uint64_t v, mul = 1;
	const char *suf;
	int rc;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	rc = parse_u64(digits, &v);
	if (rc < 0)
		return rc;
	suf = s + n;
	if (*suf == ' ')
		suf++;
	if (*suf == '\0' || strcmp(suf, "B") == 0)
		mul = 1;
	else if (strcmp(suf, "K") == 0 || strcmp(suf, "KiB") == 0 ||
		 strcmp(suf, "k") == 0)
		mul = KiB;
	else if (strcmp(suf, "M") == 0 || strcmp(suf, "MiB") == 0)
		mul = MiB;
	else if (strcmp(suf, "G") == 0 || strcmp(suf, "GiB") == 0)
		mul = GiB;
	else if (strcmp(suf, "T") == 0 || strcmp(suf, "TiB") == 0)
		mul = GiB * 1024;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

int
ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}

/* ---- base64 ---- */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int
base64_decode(const char *in, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0, rc;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad)
			return -EINVAL; /* data after padding */
		v = b64_value(c);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			unsigned char byte;

			bits -= 8;
			byte = (unsigned char)(acc >> bits);
			rc = buf_append(out, &byte, 1);
			if (rc < 0)
				return rc;
		}
	}
	if (pad > 2 || bits >= 6)
		return -EINVAL;
	return 0;
}

int
base64_encode(const void *in, size_t len, struct buf *out)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	char q[4];
	size_t i;
	int rc;

	for (i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		q[0] = tbl[(v >> 18) & 63];
		q[1] = tbl[(v >> 12) & 63];
		q[2] = n > 1 ? tbl[(v >> 6) & 63] : '=';
		q[3] = n > 2 ? tbl[v & 63] : '=';
		rc = buf_append(out, q, 4);
		if (rc < 0)
			return rc;
	}
	return 0;
}
