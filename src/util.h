/* SPDX-License-Identifier: MIT */
/*
 * util.h: allocation wrappers that abort on OOM, a capped growable buffer,
 * fd and clock helpers, and the user-facing error record (struct sp_err).
 * No business logic lives here.  Every module may include it.
 */
#ifndef SANDPOOL_UTIL_H
#define SANDPOOL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KiB ((uint64_t)1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/*
 * ENSURE() is an always-on assertion for security invariants: it survives
 * NDEBUG and aborts with the location (Redis serverAssert).
 */
#define ENSURE(e) ((e) ? (void)0 : ensure_failed(#e, __FILE__, __LINE__))
void ensure_failed(const char *expr, const char *file, int line)
	__attribute__((noreturn));

/*
 * A user-facing error, written where the error is found and turned into
 * JSON only by the API layer.  http is the HTTP status (4xx for the
 * client's fault, 5xx for ours), code a stable identifier such as
 * "InvalidRequest", msg one sentence saying what was wrong and what is
 * accepted.
 */
struct sp_err {
	int http;
	const char *code; /* static string */
	char msg[200];
};

/* Fill err (which may be NULL) and return -EINVAL, for "goto out" use. */
int sp_errf(struct sp_err *err, int http, const char *code, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Allocating printf; aborts on OOM.  Caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A growable byte buffer with a hard cap set when it is created.  Appending
 * past the cap fails with -E2BIG and leaves the buffer unchanged, so a
 * client can never make us allocate more than the cap.  The data is always
 * NUL-terminated (the NUL is not counted in len).
 */
struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap; /* bytes; the most len may ever reach */
};

void buf_init(struct buf *b, size_t cap);
void buf_fini(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Hand the data over; the caller frees it.  The buffer is left empty. */
char *buf_steal(struct buf *b, size_t *len);

/* Monotonic clock in ms / ns, and wall clock in ms since the epoch. */
uint64_t now_ms(void);
uint64_t now_ns(void);
uint64_t wall_ms(void);
/* RFC 3339 UTC with milliseconds into out (at least 32 bytes). */
void fmt_time_rfc3339(uint64_t wall_ms, char *out, size_t outsz);

/*
 * A detached copy of the mount tree at path (open_tree(OPEN_TREE_CLONE),
 * recursive, close-on-exec) with the MOUNT_ATTR_* bits of attr set on
 * every mount in it, for a sandbox to move_mount() into place: a bind
 * mount refuses a source in another mount namespace, a detached tree
 * does not.  path must be a real directory (O_NOFOLLOW).  Returns 0 and
 * the fd in *out, or -errno with *step naming the call that failed
 * ("open", "open_tree", "mount_setattr").
 */
int fd_open_tree(const char *path, uint64_t attr, int *out,
		 const char **step);
int fd_set_nonblock(int fd);
int fd_set_cloexec(int fd);
/* One message of len bytes on a unix socket, with fds[0..n) attached
 * (SCM_RIGHTS; n at most 16, 0 for none); retries on EINTR, never
 * raises SIGPIPE.  Returns 0 or -errno. */
int fd_send(int sock, const void *buf, size_t len, const int *fds,
	    size_t n);
/* write() all of it, retrying on EINTR; returns 0 or -errno. */
int write_all(int fd, const void *p, size_t n);
/* Read a whole small file (at most cap bytes) into a NUL-terminated buffer. */
int read_file_capped(const char *path, size_t cap, char **out, size_t *len);
/* Write a string to a file (O_WRONLY|O_CLOEXEC, no O_CREAT). */
int write_file_str(const char *path, const char *s);

/* Fill p with n bytes from getrandom(). */
void random_bytes(void *p, size_t n);
/* n random bytes as 2n lowercase hex chars plus a NUL into out. */
void random_hex(char *out, size_t nbytes);

/* Strict unsigned parsers: whole string, no sign, no overflow. */
int parse_u64(const char *s, uint64_t *out);
/* Size with optional K, M, G, T suffix (powers of 1024; "KiB" too). */
int parse_size(const char *s, uint64_t *out);

/*
 * Base64 (RFC 4648, standard alphabet).  decode accepts padding or none
 * and ignores ASCII whitespace; it fails with -EINVAL on any other
 * character, or with -E2BIG when out's cap is reached.  encode appends.
 */
int base64_decode(const char *in, size_t len, struct buf *out);
int base64_encode(const void *in, size_t len, struct buf *out);

/* Constant-time comparison of two byte strings (length leaks). */
int ct_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
