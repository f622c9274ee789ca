/* SPDX-License-Identifier: MIT */
/*
 * files.h: host-side access to a session's files (/mnt/data in the
 * sandbox, <state>/sessions/<sid>/data on the host).  The sandbox owns that
 * directory and may plant symlinks, FIFOs or renames in it at any moment,
 * so every operation here is relative to the directory's fd and resolves
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) and O_NOFOLLOW; nothing is ever
 * chowned, chmodded or renamed through a path the sandbox can change
 * (Judge0's 2024 CVEs were exactly that).  Names from clients are first
 * normalised by pure functions (files_normalize) into a relative path that
 * cannot leave the root; the resolver ENSUREs that invariant.
 *
 * Functions here never take sp->lock; they may block on the file system.
 */
#ifndef SANDPOOL_FILES_H
#define SANDPOOL_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util.h"

#define FILES_NAME_MAX 255   /* bytes in one path component */
#define FILES_PATH_MAX 4096  /* bytes in a normalised relative path */
#define FILES_DEPTH_MAX 32   /* directory levels a listing descends */
#define FILES_LIST_MAX 10000 /* entries one listing returns */
#define FILES_TMP_PREFIX ".sandpool-tmp-" /* hidden from listings */

/* files_normalize flags */
#define FILES_DIR 1 /* the path names a directory: "" (the root) is fine */

/* ---- pure functions: names and paths ---- */

/*
 * Check one path component of len bytes: 1..FILES_NAME_MAX bytes, not "."
 * or "..", valid UTF-8, no NUL (also not "%00" as the HTTP layer passes
 * it), no control characters, no '/'.  Returns 0 or -EINVAL with a 400
 * "InvalidFileName" in err that gives the reason.
 */
int files_check_name(const char *name, size_t len, struct sp_err *err);

/*
 * Normalise a client's file name or directory into out (outsz >=
 * FILES_PATH_MAX + 1): strip a leading "/mnt/data" or "mnt/data" (the
 * router drops the leading slash), drop empty and "." components, refuse
 * "..", other absolute paths and every component files_check_name
 * refuses.  The result is "" (only with FILES_DIR) or components joined by
 * single slashes, at most FILES_PATH_MAX bytes, with no leading or
 * trailing slash.  *absolute (may be NULL) says whether the name was
 * given under /mnt/data.  Returns 0 or -EINVAL with a 400 in err.
 */
int files_normalize(const char *in, unsigned flags, char *out, size_t outsz,
		    bool *absolute, struct sp_err *err);

/* Join a normalised directory and a normalised relative name into out
 * (FILES_PATH_MAX + 1 bytes).  Returns 0 or -ENAMETOOLONG with a 400. */
int files_join(const char *dir, const char *name, char *out, size_t outsz,
	       struct sp_err *err);

/* The invariant of a normalised path (see files_normalize), checked
 * without side effects.  The resolver ENSUREs it. */
bool files_rel_ok(const char *rel);

/* A Content-Type for name by its extension ("text/csv",
 * "application/octet-stream" when unknown).  Returns a static string. */
const char *files_content_type(const char *name);

/* ---- operations relative to the root fd ---- */

/* Open a session's data directory (a path the server built, never a
 * client's).  Returns 0 and *out (O_RDONLY | O_DIRECTORY) or -errno. */
int files_open_root(const char *data_dir, int *out);

/*
 * Open the directory rel (normalised; "" = the root) beneath root.  With
 * create, missing components are made (mode 0755) and the ones made here
 * are handed to uid with fchown on their fd.  Returns 0 and *out, or
 * -errno with err: 404 FileNotFound, 400 SymlinkNotFollowed, 409
 * NotADirectory.
 */
int files_open_dir(int root, const char *rel, bool create, uid_t uid, int *out,
		   struct sp_err *err);

/* lstat of rel (a symlink is described, not followed).  Returns 0 or
 * -errno with err filled (404 FileNotFound, ...). */
int files_stat(int root, const char *rel, struct stat *st, struct sp_err *err);

/*
 * Open the regular file rel for reading (O_NONBLOCK, so a FIFO planted by
 * the sandbox cannot block us).  A symlink anywhere on the path, a
 * directory or anything but a regular file is refused.  Returns 0 with
 * *out and *st, or -errno with err filled.  Caller closes *out.
 */
int files_open_read(int root, const char *rel, int *out, struct stat *st,
		    struct sp_err *err);

/* Remove rel: a file or a symlink (the link, never its target), or an
 * empty directory (409 DirectoryNotEmpty otherwise).  Returns 0 or -errno
 * with err filled. */
int files_delete(int root, const char *rel, struct sp_err *err);

/*
 * Called per entry by files_list: dir is the entry's directory relative
 * to the listed one ("" at the top), name its raw name as read from the
 * directory (may be any bytes but '/' and NUL: the sandbox made it), st
 * its lstat.  Return 0 to go on, negative to stop.
 */
typedef int (*files_list_fn)(void *arg, const char *dir, const char *name,
			     const struct stat *st);

/*
 * List the directory rel, sorted by name within each directory, without
 * following links; with recursive, descend into subdirectories (at most
 * FILES_DEPTH_MAX levels) after reporting them.  At most FILES_LIST_MAX
 * entries: *truncated (may be NULL) says whether some were left out.
 * Returns 0 or -errno with err filled.
 */
int files_list(int root, const char *rel, bool recursive, files_list_fn fn,
	       void *arg, bool *truncated, struct sp_err *err);

/*
 * A file being written: an O_TMPFILE (or, where the file system lacks
 * it, a FILES_TMP_PREFIX name) that becomes visible only at commit, so a
 * failed or aborted write never leaves a partial file.
 */
struct files_tmp {
	int fd;              /* -1 when closed */
	int dirfd;           /* where the fallback name lives; -1 if none */
	char name[48];       /* fallback temp name; "" with O_TMPFILE */
	uint64_t size;       /* bytes written */
	uint64_t max;        /* bytes; a write past it fails with 413 */
	const char *max_key; /* the config key of max, for the message */
};

void files_tmp_init(struct files_tmp *t);

/* Start a file in dirfd, owned by uid (fchown on the new fd) with mode
 * 0644.  Returns 0 or -errno with err filled (507 when full). */
int files_tmp_open(int dirfd, uid_t uid, uint64_t max, const char *max_key,
		   struct files_tmp *t, struct sp_err *err);

/* Append n bytes.  Returns 0 or -errno with err: 413 FileTooLarge past
 * t->max, 507 InsufficientStorage when the quota is full. */
int files_tmp_write(struct files_tmp *t, const void *p, size_t n,
		    struct sp_err *err);

/*
 * Make the file visible as base (one component) in dirfd, atomically
 * replacing what was there (a file or a symlink: the link itself is
 * replaced, its target untouched).  *st (may be NULL) gets the new file's
 * stat.  Closes the temp file in every case.  Returns 0 or -errno with err
 * (409 when base is a directory).
 */
int files_tmp_commit(struct files_tmp *t, int dirfd, const char *base,
		     struct stat *st, struct sp_err *err);

/* Drop an uncommitted file (nothing is left behind).  NULL-safe,
 * idempotent. */
void files_tmp_discard(struct files_tmp *t);

/* ---- URL inputs ---- */

struct files_fetch {
	const char *url;    /* data:, http: or https: */
	const char *name;   /* client's name; NULL or "": from the response */
	const char *dir;    /* normalised directory; "" = the root */
	uid_t uid;          /* owner of what is written */
	uint64_t max_bytes; /* files.url_max_bytes */
	uint32_t timeout_s; /* files.url_timeout */
	bool allow_private; /* files.url_allow_private */
};

/*
 * Fetch f->url (fetch.c: capped, SSRF-checked on the resolved address)
 * into the session's files beneath root.  The name is f->name, else the
 * response's Content-Disposition filename, else the last segment of the
 * URL's path, else "download".  On success *rel gets the stored path
 * (relative to the root) and *st its stat.  Blocks for up to
 * f->timeout_s seconds; takes no lock.  Returns 0 or -errno with err.
 * Used by POST files?url= and, later, MCP tools' file arguments.
 */
int files_fetch_url(int root, const struct files_fetch *f, char *rel,
		    size_t relsz, struct stat *st, struct sp_err *err);

#endif
