// SPDX-License-Identifier: MIT
/*
 * files.c: resolving client names under a session's data directory, and
 * every host-side operation on it (list, stat, read, delete, atomic
 * write, URL fetch).  Used by api_files.c, and later by MCP tools.
 *
 * The sandbox's user owns the directory and can change anything in it
 * while we work, so the rules (docs/ARCHITECTURE.md, "Host-side file
 * access") are: parse names first into a relative path that cannot leave
 * the root (files_normalize, pure); resolve every path with openat2
 * relative to the root fd, refusing symlinks, magic links and mount
 * crossings; operate on the last component with *at() calls that do not
 * follow it; chown and chmod only fds we created ourselves.  New files are
 * written under O_TMPFILE and linked into place at the end, so a failure
 * leaves nothing and a replacement is atomic.
 */
#define _GNU_SOURCE
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fetch.h"
#include "log.h"

#define BADNAME(err, ...) sp_errf(err, 400, "InvalidFileName", __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* names                                                               */
/* ------------------------------------------------------------------ */

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid:
 * overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
files_check_name(const char *name, size_t len, struct sp_err *err)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i, k;

	if (len == 0)
		return BADNAME(err, "a file name or path component is empty");
	if (len > FILES_NAME_MAX)
		return BADNAME(err,
			       "a file name or path component is %zu bytes; "
			       "at most %d are accepted",
			       len, FILES_NAME_MAX);
	if ((len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return BADNAME(err, "\"..\" and \".\" are not accepted as "
				    "file names or path components");
	for (i = 0; i < len; i += k) {
		/* http.c decodes %00 as C0 80 (an invalid UTF-8 form), so
		 * that a NUL in a URL cannot cut a name short. */
		if (s[i] == 0 ||
		    (s[i] == 0xc0 && i + 1 < len && s[i + 1] == 0x80))
			return BADNAME(err, "the file name contains a NUL "
					    "byte; NUL is not accepted");
		if (s[i] < 0x20 || s[i] == 0x7f)
			return BADNAME(err,
				       "the file name contains a control "
				       "character (byte 0x%02x at %zu); "
				       "printable characters only",
				       s[i], i);
		if (s[i] == '/')
			return BADNAME(err, "a path component contains '/'");
		k = utf8_len(s + i, len - i);
		if (k == 0)
			return BADNAME(err,
				       "the file name is not valid UTF-8 "
				       "(byte %zu)",
				       i);
	}
	return 0;
}

/* Does s start with the path prefix p, followed by '/' or the end? */
static const char *
path_prefix(const char *s, const char *p)
{
	size_t n = strlen(p);

	if (strncmp(s, p, n) == 0 && (s[n] == '/' || s[n] == '\0'))
		return s + n;
	return NULL;
}

int
files_normalize(const char *in, unsigned flags, char *out, size_t outsz,
		bool *absolute, struct sp_err *err)
{
	const char *s = in, *rest;
	size_t o = 0;
	bool abs = false;
	int rc;

	ENSURE(outsz > 0);
	out[0] = '\0';
	if ((rest = path_prefix(s, "/mnt/data")) != NULL ||
	    (rest = path_prefix(s, "mnt/data")) != NULL) {
		s = rest;
		abs = true;
	} else if (s[0] == '/') {
		while (*s == '/')
			s++;
		if (*s != '\0')
			return BADNAME(err,
				       "absolute paths must be under "
				       "/mnt/data (got \"%.60s\")",
				       in);
		abs = true;
	}
	while (*s != '\0') {
		const char *c;
		size_t n;

		while (*s == '/')
			s++;
		if (*s == '\0')
			break;
		c = s;
		while (*s != '\0' && *s != '/')
			s++;
		n = (size_t)(s - c);
		if (n == 1 && c[0] == '.')
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return BADNAME(err, "\"..\" is not accepted in file "
					    "names or paths");
		rc = files_check_name(c, n, err);
		if (rc < 0)
			return rc;
		if (o + (o > 0) + n > FILES_PATH_MAX || o + 1 + n >= outsz)
			return BADNAME(err, "the path is longer than %d bytes",
				       FILES_PATH_MAX);
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
		out[o] = '\0';
	}
	if (o == 0 && !(flags & FILES_DIR))
		return BADNAME(err, "the file name is empty; name a file in "
				    "/mnt/data");
	if (absolute)
		*absolute = abs;
	ENSURE(files_rel_ok(out));
	return 0;
}

int
files_join(const char *dir, const char *name, char *out, size_t outsz,
	   struct sp_err *err)
{
	int n;

	if (dir[0] == '\0')
		n = snprintf(out, outsz, "%s", name);
	else if (name[0] == '\0')
		n = snprintf(out, outsz, "%s", dir);
	else
		n = snprintf(out, outsz, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= outsz || n > FILES_PATH_MAX)
		return BADNAME(err, "the path is longer than %d bytes",
			       FILES_PATH_MAX);
	return 0;
}

bool
files_rel_ok(const char *rel)
{
	const char *s = rel, *c;
	size_t total = strlen(rel);

	if (total == 0)
		return true;
	if (total > FILES_PATH_MAX || rel[0] == '/')
		return false;
	while (*s != '\0') {
		size_t n, i;

		c = s;
		while (*s != '\0' && *s != '/')
			s++;
		n = (size_t)(s - c);
		if (n == 0 || n > FILES_NAME_MAX)
			return false;
		if ((n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		for (i = 0; i < n; i++)
			if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
				return false;
		if (*s == '/' && *++s == '\0')
			return false; /* trailing slash */
	}
	return true;
}

static const struct {
	const char *ext;
	const char *type;
} ctypes[] = {
	{"txt", "text/plain; charset=utf-8"},
	{"log", "text/plain; charset=utf-8"},
	{"md", "text/markdown; charset=utf-8"},
	{"csv", "text/csv; charset=utf-8"},
	{"tsv", "text/tab-separated-values; charset=utf-8"},
	{"py", "text/x-python; charset=utf-8"},
	{"sh", "text/x-shellscript; charset=utf-8"},
	{"html", "text/html; charset=utf-8"},
	{"htm", "text/html; charset=utf-8"},
	{"css", "text/css; charset=utf-8"},
	{"js", "text/javascript; charset=utf-8"},
	{"xml", "application/xml"},
	{"json", "application/json"},
	{"jsonl", "application/jsonl"},
	{"yaml", "application/yaml"},
	{"yml", "application/yaml"},
	{"png", "image/png"},
	{"jpg", "image/jpeg"},
	{"jpeg", "image/jpeg"},
	{"gif", "image/gif"},
	{"webp", "image/webp"},
	{"bmp", "image/bmp"},
	{"svg", "image/svg+xml"},
	{"ico", "image/x-icon"},
	{"pdf", "application/pdf"},
	{"zip", "application/zip"},
	{"gz", "application/gzip"},
	{"tar", "application/x-tar"},
	{"parquet", "application/vnd.apache.parquet"},
	{"xlsx", "application/vnd.openxmlformats-officedocument."
		 "spreadsheetml.sheet"},
	{"xls", "application/vnd.ms-excel"},
	{"docx", "application/vnd.openxmlformats-officedocument."
		 "wordprocessingml.document"},
	{"pptx", "application/vnd.openxmlformats-officedocument."
		 "presentationml.presentation"},
	{"ipynb", "application/x-ipynb+json"},
	{"pkl", "application/octet-stream"},
	{"npy", "application/octet-stream"},
	{"mp3", "audio/mpeg"},
	{"wav", "audio/wav"},
	{"mp4", "video/mp4"},
};

const char *
files_content_type(const char *name)
{
	const char *slash = strrchr(name, '/'), *dot;
	size_t i;

	dot = strrchr(slash ? slash + 1 : name, '.');
	if (dot == NULL || dot[1] == '\0')
		return "application/octet-stream";
	for (i = 0; i < ARRAY_SIZE(ctypes); i++)
		if (strcasecmp(dot + 1, ctypes[i].ext) == 0)
			return ctypes[i].type;
	return "application/octet-stream";
}

/* ------------------------------------------------------------------ */
/* resolution                                                          */
/* ------------------------------------------------------------------ */

/* Every lookup: beneath dirfd, no symlinks (not even in the middle), no
 * /proc-style magic links, no mount crossings. */
#define RESOLVE_FLAGS                                                          \
	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |       \
	 RESOLVE_NO_XDEV)

/* openat2 with our resolve flags; returns an fd or -errno. */
static int
open_beneath(int dirfd, const char *rel, int flags)
{
	struct open_how how;
	int fd, tries;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.resolve = RESOLVE_FLAGS;
	/* EAGAIN: a concurrent rename or mount raced the lookup (only
	 * with RESOLVE_BENEATH); the sandbox can cause it, so retry a
	 * bounded number of times. */
	for (tries = 0; tries < 16; tries++) {
		fd = (int)syscall(SYS_openat2, dirfd, rel[0] ? rel : ".", &how,
				  sizeof(how));
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN && errno != EINTR)
			break;
	}
	return -errno;
}

/*
 * Resolve a normalised path beneath root.  The invariant is ENSUREd: the
 * path is relative and holds no "..", and the object found lies on the
 * root's own file system, where RESOLVE_BENEATH and RESOLVE_NO_XDEV make
 * the kernel keep it.
 */
static int
resolve(int root, const char *rel, int flags)
{
	struct stat rst, st;
	int fd, a, b;

	ENSURE(files_rel_ok(rel));
	fd = open_beneath(root, rel, flags);
	if (fd < 0)
		return fd;
	a = fstat(root, &rst);
	b = fstat(fd, &st);
	ENSURE(a == 0 && b == 0 && st.st_dev == rst.st_dev);
	return fd;
}

/*
 * A lookup of rel failed with ENOTDIR or ELOOP: find out whether a
 * symlink is to blame (O_DIRECTORY on a link says ENOTDIR), by looking at
 * each component without following it.  Returns -ELOOP for a link, else
 * rc.  Only on the error path.
 */
static int
refine(int root, const char *rel, int rc)
{
	char prefix[FILES_PATH_MAX + 1];
	const char *s = rel;
	struct stat st;
	int dfd = -1;

	if (rc != -ENOTDIR && rc != -ELOOP)
		return rc;
	dfd = open_beneath(root, "", O_RDONLY | O_DIRECTORY);
	while (dfd >= 0 && *s != '\0') {
		const char *c = s;
		size_t n;
		int next;

		while (*s != '\0' && *s != '/')
			s++;
		n = (size_t)(s - c);
		memcpy(prefix, c, n);
		prefix[n] = '\0';
		if (*s == '/')
			s++;
		if (fstatat(dfd, prefix, &st, AT_SYMLINK_NOFOLLOW) < 0)
			break;
		if (S_ISLNK(st.st_mode)) {
			rc = -ELOOP;
			break;
		}
		if (!S_ISDIR(st.st_mode))
			break;
		next = open_beneath(dfd, prefix, O_RDONLY | O_DIRECTORY);
		close(dfd);
		dfd = next;
	}
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* Turn an errno from a lookup of what into a user-facing error. */
static int
lookup_error(int rc, const char *what, struct sp_err *err)
{
	switch (-rc) {
	case ENOENT:
		return sp_errf(err, 404, "FileNotFound",
			       "\"%.120s\" does not exist in /mnt/data", what);
	case ELOOP:
		return sp_errf(err, 400, "SymlinkNotFollowed",
			       "\"%.100s\" is or passes through a symbolic "
			       "link; links in /mnt/data are never followed",
			       what);
	case ENOTDIR:
		return sp_errf(err, 409, "NotADirectory",
			       "a component of \"%.120s\" is not a directory",
			       what);
	case EXDEV:
		return sp_errf(err, 400, "InvalidPath",
			       "\"%.120s\" crosses a mount point", what);
	case ENAMETOOLONG:
		return BADNAME(err, "\"%.60s...\" is too long", what);
	case ENOSPC:
	case EDQUOT:
		return sp_errf(err, 507, "InsufficientStorage",
			       "/mnt/data is full (no space or inodes left); "
			       "delete files or raise files_quota");
	default:
		break;
	}
	log_warnx("files: %s: %s", what, strerror(-rc));
	return sp_errf(err, 500, "InternalError",
		       "file system error on \"%.100s\": %s", what,
		       strerror(-rc));
}

int
files_open_root(const char *data_dir, int *out)
{
	int fd =
		open(data_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

/* Split rel into its parent (into parent, FILES_PATH_MAX + 1 bytes) and
 * its last component (pointing into rel). */
static const char *
split_last(const char *rel, char *parent)
{
	const char *slash = strrchr(rel, '/');

	if (slash == NULL) {
		parent[0] = '\0';
		return rel;
	}
	memcpy(parent, rel, (size_t)(slash - rel));
	parent[slash - rel] = '\0';
	return slash + 1;
}

/* Open one directory component below dirfd, making it when create. */
static int
step_dir(int dirfd, const char *comp, bool create, uid_t uid)
{
	struct stat st;
	int fd = resolve(dirfd, comp, O_RDONLY | O_DIRECTORY);

	if (fd != -ENOENT || !create)
		return fd;
	if (mkdirat(dirfd, comp, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = resolve(dirfd, comp, O_RDONLY | O_DIRECTORY);
	/* Only a directory we made is root-owned (the sandbox cannot make
	 * one): hand that one, and nothing else, to the sandbox's user. */
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == 0 &&
	    fchown(fd, uid, uid) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int
files_open_dir(int root, const char *rel, bool create, uid_t uid, int *out,
	       struct sp_err *err)
{
	char comp[FILES_NAME_MAX + 1];
	const char *s = rel;
	int cur, fd;

	*out = -1;
	if (!create || rel[0] == '\0') {
		fd = resolve(root, rel, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			return lookup_error(refine(root, rel, fd), rel, err);
		*out = fd;
		return 0;
	}
	ENSURE(files_rel_ok(rel));
	cur = resolve(root, "", O_RDONLY | O_DIRECTORY);
	if (cur < 0)
		return lookup_error(cur, rel, err);
	while (*s != '\0') {
		const char *c = s;
		size_t n;

		while (*s != '\0' && *s != '/')
			s++;
		n = (size_t)(s - c);
		memcpy(comp, c, n);
		comp[n] = '\0';
		if (*s == '/')
			s++;
		fd = step_dir(cur, comp, true, uid);
		close(cur);
		if (fd < 0)
			return lookup_error(refine(root, rel, fd), rel, err);
		cur = fd;
	}
	*out = cur;
	return 0;
}

int
files_stat(int root, const char *rel, struct stat *st, struct sp_err *err)
{
	char parent[FILES_PATH_MAX + 1];
	const char *base;
	int dfd, rc = 0;

	if (rel[0] == '\0') {
		if (fstat(root, st) < 0)
			return lookup_error(-errno, "/mnt/data", err);
		return 0;
	}
	base = split_last(rel, parent);
	dfd = resolve(root, parent, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return lookup_error(refine(root, parent, dfd), rel, err);
	if (fstatat(dfd, base, st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = lookup_error(-errno, rel, err);
	close(dfd);
	return rc;
}

int
files_open_read(int root, const char *rel, int *out, struct stat *st,
		struct sp_err *err)
{
	int fd, rc = 0;

	*out = -1;
	fd = resolve(root, rel, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return lookup_error(refine(root, rel, fd), rel, err);
	if (fstat(fd, st) < 0) {
		rc = lookup_error(-errno, rel, err);
	} else if (S_ISDIR(st->st_mode)) {
		rc = sp_errf(err, 400, "NotAFile",
			     "\"%.120s\" is a directory; list it with GET "
			     "files?path=",
			     rel);
	} else if (!S_ISREG(st->st_mode)) {
		rc = sp_errf(err, 400, "NotAFile",
			     "\"%.120s\" is not a regular file", rel);
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

int
files_delete(int root, const char *rel, struct sp_err *err)
{
	char parent[FILES_PATH_MAX + 1];
	const char *base;
	int dfd, rc = 0;

	if (rel[0] == '\0')
		return BADNAME(err, "name a file or directory to delete; "
				    "/mnt/data itself cannot be deleted");
	base = split_last(rel, parent);
	dfd = resolve(root, parent, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return lookup_error(refine(root, parent, dfd), rel, err);
	/* unlinkat never follows base: a symlink goes, its target stays. */
	if (unlinkat(dfd, base, 0) < 0) {
		if (errno == EISDIR && unlinkat(dfd, base, AT_REMOVEDIR) == 0)
			goto out;
		if (errno == ENOTEMPTY || errno == EEXIST)
			rc = sp_errf(err, 409, "DirectoryNotEmpty",
				     "\"%.120s\" is a directory that is not "
				     "empty; delete its files first",
				     rel);
		else
			rc = lookup_error(-errno, rel, err);
	}
out:
	close(dfd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* listing                                                             */
/* ------------------------------------------------------------------ */

struct walk {
	files_list_fn fn;
	void *arg;
	bool recursive;
	unsigned count;
	bool truncated;
	char *path; /* the current directory, relative to the listed one */
	size_t path_len;
	size_t path_cap;
};

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Open a child directory of dfd by the name readdir gave (one component
 * the sandbox chose: never "." or "..", never holding '/'). */
static int
open_child_dir(int dfd, const char *name)
{
	ENSURE(strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0);
	return open_beneath(dfd, name, O_RDONLY | O_DIRECTORY);
}

static int
walk_dir(struct walk *w, int dfd, unsigned depth)
{
	DIR *d = NULL;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int fd, rc = 0;

	fd = dup(dfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (strncmp(e->d_name, FILES_TMP_PREFIX,
			    strlen(FILES_TMP_PREFIX)) == 0)
			continue;
		if (w->count + n >= FILES_LIST_MAX) {
			w->truncated = true;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && rc == 0; i++) {
		struct stat st;
		size_t saved = w->path_len, nl = strlen(names[i]);
		int sub;

		if (w->count >= FILES_LIST_MAX) {
			w->truncated = true;
			break;
		}
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* removed meanwhile */
		w->count++;
		rc = w->fn(w->arg, w->path, names[i], &st);
		if (rc < 0 || !w->recursive || !S_ISDIR(st.st_mode))
			continue;
		if (depth + 1 >= FILES_DEPTH_MAX) {
			w->truncated = true;
			continue;
		}
		sub = open_child_dir(dfd, names[i]);
		if (sub < 0)
			continue; /* replaced by a link or removed: skip */
		if (w->path_len + nl + 2 > w->path_cap) {
			w->path_cap = (w->path_len + nl + 2) * 2;
			w->path = xrealloc(w->path, w->path_cap);
		}
		if (w->path_len > 0)
			w->path[w->path_len++] = '/';
		memcpy(w->path + w->path_len, names[i], nl + 1);
		w->path_len += nl;
		rc = walk_dir(w, sub, depth + 1);
		close(sub);
		w->path_len = saved;
		w->path[saved] = '\0';
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
files_list(int root, const char *rel, bool recursive, files_list_fn fn,
	   void *arg, bool *truncated, struct sp_err *err)
{
	struct walk w = {.fn = fn, .arg = arg, .recursive = recursive};
	int dfd, rc;

	dfd = resolve(root, rel, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return lookup_error(refine(root, rel, dfd),
				    rel[0] ? rel : "/mnt/data", err);
	w.path_cap = 256;
	w.path = xcalloc(1, w.path_cap);
	rc = walk_dir(&w, dfd, 0);
	close(dfd);
	free(w.path);
	if (truncated)
		*truncated = w.truncated;
	if (rc < 0 && rc != -ECANCELED)
		return lookup_error(rc, rel[0] ? rel : "/mnt/data", err);
	return 0;
}

/* ------------------------------------------------------------------ */
/* writing                                                             */
/* ------------------------------------------------------------------ */

void
files_tmp_init(struct files_tmp *t)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->dirfd = -1;
}

static int
full_error(int fd, struct sp_err *err)
{
	struct statvfs vfs;

	if (fd >= 0 && fstatvfs(fd, &vfs) == 0)
		return sp_errf(err, 507, "InsufficientStorage",
			       "/mnt/data is full: its quota is %llu MiB "
			       "(files_quota); delete files or raise the "
			       "quota, nothing was stored",
			       (unsigned long long)((uint64_t)vfs.f_blocks *
							    vfs.f_frsize >>
						    20));
	return sp_errf(err, 507, "InsufficientStorage",
		       "/mnt/data is full; nothing was stored");
}

int
files_tmp_open(int dirfd, uid_t uid, uint64_t max, const char *max_key,
	       struct files_tmp *t, struct sp_err *err)
{
	char hex[17];
	int rc;

	files_tmp_init(t);
	t->max = max;
	t->max_key = max_key;
	t->fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (t->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		/* No O_TMPFILE on this file system: a hidden name that
		 * files_tmp_discard removes. */
		random_hex(hex, 8);
		snprintf(t->name, sizeof(t->name), "%s%s", FILES_TMP_PREFIX,
			 hex);
		t->fd = openat(dirfd, t->name,
			       O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
				       O_CLOEXEC,
			       0600);
		if (t->fd >= 0)
			t->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
		else
			t->name[0] = '\0';
	}
	if (t->fd < 0) {
		rc = -errno;
		if (rc == -ENOSPC || rc == -EDQUOT)
			return full_error(dirfd, err);
		return lookup_error(rc, "a new file", err);
	}
	/* Our own new fd: give the file to the sandbox's user so that its
	 * code can change it (platform-notes §3). */
	if (fchown(t->fd, uid, uid) < 0 || fchmod(t->fd, 0644) < 0) {
		rc = -errno;
		files_tmp_discard(t);
		return lookup_error(rc, "a new file", err);
	}
	return 0;
}

int
files_tmp_write(struct files_tmp *t, const void *p, size_t n,
		struct sp_err *err)
{
	int rc;

	ENSURE(t->fd >= 0);
	if (n > t->max - t->size)
		return sp_errf(err, 413, "FileTooLarge",
			       "the file is larger than the %llu bytes "
			       "accepted (%s); nothing was stored",
			       (unsigned long long)t->max,
			       t->max_key ? t->max_key : "the limit");
	rc = write_all(t->fd, p, n);
	if (rc == -ENOSPC || rc == -EDQUOT)
		return full_error(t->fd, err);
	if (rc < 0)
		return lookup_error(rc, "the file being written", err);
	t->size += n;
	return 0;
}

void
files_tmp_discard(struct files_tmp *t)
{
	if (t == NULL)
		return;
	if (t->name[0] != '\0' && t->dirfd >= 0)
		unlinkat(t->dirfd, t->name, 0);
	if (t->fd >= 0)
		close(t->fd);
	if (t->dirfd >= 0)
		close(t->dirfd);
	t->fd = t->dirfd = -1;
	t->name[0] = '\0';
}

int
files_tmp_commit(struct files_tmp *t, int dirfd, const char *base,
		 struct stat *st, struct sp_err *err)
{
	char name[48], hex[17];
	int srcdir, tries, rc = 0;

	ENSURE(t->fd >= 0 && strchr(base, '/') == NULL && files_rel_ok(base) &&
	       base[0] != '\0');
	if (t->name[0] == '\0') {
		/* Give the O_TMPFILE a hidden name, then rename it over the
		 * target: rename is atomic and never follows base. */
		for (tries = 0;; tries++) {
			random_hex(hex, 8);
			snprintf(name, sizeof(name), "%s%s", FILES_TMP_PREFIX,
				 hex);
			if (linkat(t->fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
				break;
			if (errno != EEXIST || tries >= 8) {
				rc = -errno;
				goto fail;
			}
		}
		srcdir = dirfd;
	} else {
		snprintf(name, sizeof(name), "%s", t->name);
		srcdir = t->dirfd;
	}
	if (renameat(srcdir, name, dirfd, base) < 0) {
		rc = -errno;
		unlinkat(srcdir, name, 0);
		t->name[0] = '\0';
		goto fail;
	}
	t->name[0] = '\0';
	if (st && fstat(t->fd, st) < 0)
		memset(st, 0, sizeof(*st));
	files_tmp_discard(t);
	return 0;
fail:
	if (rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST)
		sp_errf(err, 409, "IsADirectory",
			"\"%.120s\" is a directory; choose another name", base);
	else if (rc == -ENOSPC || rc == -EDQUOT)
		full_error(t->fd, err);
	else
		lookup_error(rc, base, err);
	files_tmp_discard(t);
	return rc;
}

/* ------------------------------------------------------------------ */
/* URL inputs                                                          */
/* ------------------------------------------------------------------ */

static int
fetch_write(void *arg, const void *p, size_t n, struct sp_err *err)
{
	return files_tmp_write(arg, p, n, err);
}

/* The name the response suggested, reduced to a safe last component;
 * "download" when there is none or it is not acceptable. */
static void
hint_name(const char *hint, char *out, size_t outsz)
{
	const char *base = strrchr(hint, '/');
	struct sp_err ignored;

	base = base ? base + 1 : hint;
	if (files_check_name(base, strlen(base), &ignored) < 0 ||
	    strlen(base) >= outsz)
		base = "download";
	snprintf(out, outsz, "%s", base);
}

int
files_fetch_url(int root, const struct files_fetch *f, char *rel, size_t relsz,
		struct stat *st, struct sp_err *err)
{
	char name[FILES_PATH_MAX + 1], path[FILES_PATH_MAX + 1];
	char parent[FILES_PATH_MAX + 1], hint[FILES_NAME_MAX + 1];
	struct fetch_opts o = {.max_bytes = f->max_bytes,
			       .timeout_s = f->timeout_s,
			       .allow_private = f->allow_private};
	struct files_tmp t;
	const char *base;
	int dirfd = -1, pfd = -1, rc;

	files_tmp_init(&t);
	name[0] = '\0';
	/* Parse first: a bad name fails before anything is fetched. */
	if (f->name && f->name[0] != '\0') {
		rc = files_normalize(f->name, 0, name, sizeof(name), NULL, err);
		if (rc < 0)
			goto out;
	}
	rc = files_open_dir(root, f->dir, true, f->uid, &dirfd, err);
	if (rc < 0)
		goto out;
	rc = files_tmp_open(dirfd, f->uid, f->max_bytes, "files.url_max_bytes",
			    &t, err);
	if (rc < 0)
		goto out;
	hint[0] = '\0';
	rc = fetch_url(f->url, &o, fetch_write, &t, hint, sizeof(hint), err);
	if (rc < 0)
		goto out;
	if (name[0] == '\0')
		hint_name(hint, name, sizeof(name));
	rc = files_join(f->dir, name, path, sizeof(path), err);
	if (rc < 0)
		goto out;
	base = split_last(path, parent);
	rc = files_open_dir(root, parent, true, f->uid, &pfd, err);
	if (rc < 0)
		goto out;
	rc = files_tmp_commit(&t, pfd, base, st, err);
	if (rc < 0)
		goto out;
	if (rel)
		snprintf(rel, relsz, "%s", path);
out:
	files_tmp_discard(&t);
	if (dirfd >= 0)
		close(dirfd);
	if (pfd >= 0)
		close(pfd);
	return rc;
}
