// SPDX-License-Identifier: MIT
/*
 * test_files.c: name rules and normalisation (vector tables), then the
 * host-side operations in a scratch directory, with the traps a sandbox
 * can set: symlinks to host files, FIFOs, a full quota.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "t.h"

/* ---- names ---- */

TEST(normalize_vectors)
{
	static const struct {
		const char *in;
		unsigned flags;
		const char *out; /* NULL: refused */
		int abs;
		const char *why; /* part of the message when refused */
	} v[] = {
		{"a.txt", 0, "a.txt", 0, NULL},
		{"/mnt/data/a.txt", 0, "a.txt", 1, NULL},
		{"mnt/data/a.txt", 0, "a.txt", 1, NULL},
		{"/mnt/data/sub//x/./y.csv", 0, "sub/x/y.csv", 1, NULL},
		{"./a/b/", 0, "a/b", 0, NULL},
		{"mnt/database/x", 0, "mnt/database/x", 0, NULL},
		{"caf\xc3\xa9 \xe6\x97\xa5.txt", 0, "caf\xc3\xa9 \xe6\x97\xa5.txt", 0,
		 NULL},
		{"", FILES_DIR, "", 0, NULL},
		{"/", FILES_DIR, "", 1, NULL},
		{"/mnt/data", FILES_DIR, "", 1, NULL},
		{"/mnt/data/", FILES_DIR, "", 1, NULL},
		{"mnt/data", FILES_DIR, "", 1, NULL},
		{"test-directory", FILES_DIR, "test-directory", 0, NULL},
		{"", 0, NULL, 0, "empty"},
		{"/mnt/data", 0, NULL, 0, "empty"},
		{"..", 0, NULL, 0, ".."},
		{"../etc/passwd", 0, NULL, 0, ".."},
		{"a/../../b", 0, NULL, 0, ".."},
		{"/mnt/data/../etc", 0, NULL, 0, ".."},
		{"/etc/passwd", 0, NULL, 0, "absolute"},
		{"/mnt/database/x", 0, NULL, 0, "absolute"},
		{"a\nb", 0, NULL, 0, "control"},
		{"a\x7f", 0, NULL, 0, "control"},
		{"tab\there", 0, NULL, 0, "control"},
		{"nul\xc0\x80.png", 0, NULL, 0, "NUL"},
		{"bad\xff.txt", 0, NULL, 0, "UTF-8"},
		{"over\xc3", 0, NULL, 0, "UTF-8"},
		{"surrogate\xed\xa0\x80", 0, NULL, 0, "UTF-8"},
		{"overlong\xe0\x80\xaf", 0, NULL, 0, "UTF-8"},
	};
	char out[FILES_PATH_MAX + 1];
	struct sp_err err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		bool abs = false;
		int rc = files_normalize(v[i].in, v[i].flags, out, sizeof(out),
					 &abs, &err);

		if (v[i].out == NULL) {
			if (rc == 0)
				T_FAIL("\"%s\" accepted as \"%s\"", v[i].in,
				       out);
			else if (err.http != 400 ||
				 strstr(err.msg, v[i].why) == NULL)
				T_FAIL("\"%s\": %d %s", v[i].in, err.http,
				       err.msg);
			continue;
		}
		if (rc != 0) {
			T_FAIL("\"%s\" refused: %s", v[i].in, err.msg);
			continue;
		}
		CHECK_STR(out, v[i].out);
		CHECK_INT(abs, ==, v[i].abs);
		CHECK(files_rel_ok(out));
	}
}

TEST(length_limits)
{
	char in[FILES_PATH_MAX + 600], out[FILES_PATH_MAX + 1];
	struct sp_err err;
	size_t i;

	/* 255 bytes per component is fine, 256 is not. */
	memset(in, 'a', 255);
	in[255] = '\0';
	CHECK_INT(files_normalize(in, 0, out, sizeof(out), NULL, &err), ==, 0);
	memset(in, 'a', 256);
	in[256] = '\0';
	CHECK_INT(files_normalize(in, 0, out, sizeof(out), NULL, &err), <, 0);
	CHECK(strstr(err.msg, "255") != NULL);
	/* 4096 bytes of path is fine, 4097 is not. */
	for (i = 0; i < 4096; i++)
		in[i] = (i % 128 == 127) ? '/' : 'b';
	in[4095] = 'b';
	in[4096] = '\0';
	CHECK_INT(files_normalize(in, 0, out, sizeof(out), NULL, &err), ==, 0);
	CHECK_INT(strlen(out), ==, 4096);
	in[4096] = 'c';
	in[4097] = '\0';
	CHECK_INT(files_normalize(in, 0, out, sizeof(out), NULL, &err), <, 0);
	CHECK(strstr(err.msg, "4096") != NULL);
	/* A too small output buffer is refused, never overrun. */
	CHECK_INT(files_normalize("abcdef", 0, out, 4, NULL, &err), <, 0);
}

TEST(rel_ok_vectors)
{
	static const struct {
		const char *rel;
		bool ok;
	} v[] = {
		{"", true},         {"a", true},     {"a/b", true},
		{"/a", false},      {"a/", false},   {"a//b", false},
		{"..", false},      {"a/../b", false}, {".", false},
		{"a/./b", false},   {"a\x01", false}, {"...", true},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		if (files_rel_ok(v[i].rel) != v[i].ok)
			T_FAIL("files_rel_ok(\"%s\") != %d", v[i].rel, v[i].ok);
}

TEST(join_and_content_type)
{
	char out[FILES_PATH_MAX + 1];
	struct sp_err err;

	CHECK_INT(files_join("", "a", out, sizeof(out), &err), ==, 0);
	CHECK_STR(out, "a");
	CHECK_INT(files_join("d/e", "a", out, sizeof(out), &err), ==, 0);
	CHECK_STR(out, "d/e/a");
	CHECK_STR(files_content_type("x.csv"), "text/csv; charset=utf-8");
	CHECK_STR(files_content_type("dir.png/CHART.PNG"), "image/png");
	CHECK_STR(files_content_type("noext"), "application/octet-stream");
	CHECK_STR(files_content_type("a.tar.gz"), "application/gzip");
	CHECK_STR(files_content_type("weird."), "application/octet-stream");
	CHECK_STR(files_content_type("a.json"), "application/json");
}

/* ---- operations ---- */

static char scratch[64];

/* A fresh root directory; returns its fd. */
static int
mkroot(void)
{
	int fd;

	snprintf(scratch, sizeof(scratch), "/tmp/sp-files-XXXXXX");
	if (mkdtemp(scratch) == NULL)
		return -1;
	CHECK_INT(files_open_root(scratch, &fd), ==, 0);
	return fd;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static void
rmroot(void)
{
	/* Depth first, links not followed. */
	nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
put(int root, const char *rel, const char *text, uid_t uid)
{
	char parent[FILES_PATH_MAX + 1];
	const char *slash = strrchr(rel, '/');
	struct files_tmp t;
	struct sp_err err;
	int dfd, rc;

	snprintf(parent, sizeof(parent), "%.*s",
		 slash ? (int)(slash - rel) : 0, rel);
	rc = files_open_dir(root, parent, true, uid, &dfd, &err);
	if (rc < 0)
		return rc;
	rc = files_tmp_open(dfd, uid, 1 << 20, "test", &t, &err);
	if (rc == 0)
		rc = files_tmp_write(&t, text, strlen(text), &err);
	if (rc == 0)
		rc = files_tmp_commit(&t, dfd, slash ? slash + 1 : rel, NULL,
				      &err);
	files_tmp_discard(&t);
	close(dfd);
	return rc;
}

static int
slurp(int root, const char *rel, char *out, size_t n, struct sp_err *err)
{
	struct stat st;
	ssize_t r;
	int fd, rc;

	rc = files_open_read(root, rel, &fd, &st, err);
	if (rc < 0)
		return rc;
	r = read(fd, out, n - 1);
	close(fd);
	out[r < 0 ? 0 : r] = '\0';
	return 0;
}

TEST(write_read_replace_owner)
{
	int root = mkroot();
	char buf[64];
	struct sp_err err;
	struct stat st;

	CHECK_INT(put(root, "a.txt", "one", 4242), ==, 0);
	CHECK_INT(slurp(root, "a.txt", buf, sizeof(buf), &err), ==, 0);
	CHECK_STR(buf, "one");
	CHECK_INT(files_stat(root, "a.txt", &st, &err), ==, 0);
	CHECK_INT(st.st_uid, ==, 4242);
	CHECK_INT(st.st_gid, ==, 4242);
	CHECK_INT(st.st_mode & 07777, ==, 0644);
	CHECK_INT(put(root, "a.txt", "two!", 4242), ==, 0);
	CHECK_INT(slurp(root, "a.txt", buf, sizeof(buf), &err), ==, 0);
	CHECK_STR(buf, "two!");
	/* Subdirectories are made and handed over too. */
	CHECK_INT(put(root, "d1/d2/b.txt", "deep", 4242), ==, 0);
	CHECK_INT(files_stat(root, "d1/d2", &st, &err), ==, 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_INT(st.st_uid, ==, 4242);
	CHECK_INT(files_stat(root, "nope", &st, &err), <, 0);
	CHECK_INT(err.http, ==, 404);
	close(root);
	rmroot();
}

TEST(discard_leaves_nothing_and_cap)
{
	int root = mkroot();
	struct files_tmp t;
	struct sp_err err;
	DIR *d;
	struct dirent *e;
	int n = 0;

	CHECK_INT(files_tmp_open(root, 0, 10, "files.upload_max", &t, &err),
		  ==, 0);
	CHECK_INT(files_tmp_write(&t, "0123456789", 10, &err), ==, 0);
	CHECK_INT(files_tmp_write(&t, "x", 1, &err), <, 0);
	CHECK_INT(err.http, ==, 413);
	CHECK(strstr(err.msg, "files.upload_max") != NULL);
	files_tmp_discard(&t);
	files_tmp_discard(&t); /* idempotent */
	d = opendir(scratch);
	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	CHECK_INT(n, ==, 0);
	close(root);
	rmroot();
}

TEST(symlinks_are_never_followed)
{
	int root = mkroot();
	char buf[256], path[128];
	struct sp_err err;
	struct stat st;
	int fd;

	/* What sandboxed code could plant. */
	snprintf(path, sizeof(path), "%s/passwd", scratch);
	CHECK_INT(symlink("/etc/passwd", path), ==, 0);
	snprintf(path, sizeof(path), "%s/up", scratch);
	CHECK_INT(symlink("/etc", path), ==, 0);
	snprintf(path, sizeof(path), "%s/env", scratch);
	CHECK_INT(symlink("/proc/1/environ", path), ==, 0);

	CHECK_INT(slurp(root, "passwd", buf, sizeof(buf), &err), <, 0);
	CHECK_INT(err.http, ==, 400);
	CHECK(strstr(err.msg, "symbolic link") != NULL);
	CHECK_INT(slurp(root, "env", buf, sizeof(buf), &err), <, 0);
	CHECK_INT(slurp(root, "up/passwd", buf, sizeof(buf), &err), <, 0);
	CHECK(strstr(err.msg, "symbolic link") != NULL);
	/* Listing a link describes the link. */
	CHECK_INT(files_stat(root, "passwd", &st, &err), ==, 0);
	CHECK(S_ISLNK(st.st_mode));
	/* A directory through a link is refused, also for writing. */
	CHECK_INT(files_open_dir(root, "up", false, 0, &fd, &err), <, 0);
	CHECK_INT(put(root, "up/evil", "x", 0), <, 0);
	CHECK_INT(access("/etc/evil", F_OK), <, 0);
	/* Writing over the link replaces the link, not /etc/passwd. */
	CHECK_INT(stat("/etc/passwd", &st), ==, 0);
	CHECK_INT(put(root, "passwd", "mine", 4242), ==, 0);
	CHECK_INT(slurp(root, "passwd", buf, sizeof(buf), &err), ==, 0);
	CHECK_STR(buf, "mine");
	CHECK(strstr(buf, "root:") == NULL);
	fd = open("/etc/passwd", O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, 5) == 5 && memcmp(buf, "root:", 5) == 0);
	close(fd);
	/* Deleting a link removes the link only. */
	CHECK_INT(files_delete(root, "up", &err), ==, 0);
	CHECK_INT(access("/etc/passwd", F_OK), ==, 0);
	CHECK_INT(files_stat(root, "up", &st, &err), <, 0);
	close(root);
	rmroot();
}

TEST(fifo_does_not_block)
{
	int root = mkroot(), fd = -1;
	char path[128];
	struct sp_err err;
	struct stat st;

	snprintf(path, sizeof(path), "%s/fifo", scratch);
	CHECK_INT(mkfifo(path, 0644), ==, 0);
	CHECK_INT(files_open_read(root, "fifo", &fd, &st, &err), <, 0);
	CHECK_INT(err.http, ==, 400);
	CHECK(strstr(err.msg, "regular") != NULL);
	CHECK_INT(files_open_read(root, "", &fd, &st, &err), <, 0);
	close(root);
	rmroot();
}

struct seen {
	int n;
	char names[16][64];
	char dirs[16][64];
	mode_t modes[16];
};

static int
collect(void *arg, const char *dir, const char *name, const struct stat *st)
{
	struct seen *s = arg;

	if (s->n < 16) {
		snprintf(s->names[s->n], 64, "%s", name);
		snprintf(s->dirs[s->n], 64, "%s", dir);
		s->modes[s->n] = st->st_mode;
		s->n++;
	}
	return 0;
}

TEST(list_sorted_recursive_links_as_links)
{
	int root = mkroot();
	struct seen s;
	struct sp_err err;
	bool trunc = true;
	char path[128];

	CHECK_INT(put(root, "b.txt", "b", 0), ==, 0);
	CHECK_INT(put(root, "a/x.txt", "x", 0), ==, 0);
	snprintf(path, sizeof(path), "%s/z", scratch);
	CHECK_INT(symlink("/", path), ==, 0); /* never descended into */
	snprintf(path, sizeof(path), "%s/" FILES_TMP_PREFIX "1", scratch);
	CHECK_INT(mkdir(path, 0700), ==, 0); /* hidden */

	memset(&s, 0, sizeof(s));
	CHECK_INT(files_list(root, "", false, collect, &s, &trunc, &err), ==,
		  0);
	CHECK(!trunc);
	CHECK_INT(s.n, ==, 3);
	CHECK_STR(s.names[0], "a");
	CHECK_STR(s.names[1], "b.txt");
	CHECK_STR(s.names[2], "z");
	CHECK(S_ISLNK(s.modes[2]));

	memset(&s, 0, sizeof(s));
	CHECK_INT(files_list(root, "", true, collect, &s, NULL, &err), ==, 0);
	CHECK_INT(s.n, ==, 4);
	CHECK_STR(s.names[1], "x.txt");
	CHECK_STR(s.dirs[1], "a");

	memset(&s, 0, sizeof(s));
	CHECK_INT(files_list(root, "a", false, collect, &s, NULL, &err), ==, 0);
	CHECK_INT(s.n, ==, 1);
	CHECK_STR(s.dirs[0], "");
	CHECK_INT(files_list(root, "z", false, collect, &s, NULL, &err), <, 0);
	CHECK_INT(files_list(root, "missing", false, collect, &s, NULL, &err),
		  <, 0);
	CHECK_INT(err.http, ==, 404);
	close(root);
	rmroot();
}

TEST(delete_rules)
{
	int root = mkroot();
	struct sp_err err;

	CHECK_INT(put(root, "d/f", "x", 0), ==, 0);
	CHECK_INT(files_delete(root, "d", &err), <, 0);
	CHECK_INT(err.http, ==, 409);
	CHECK_INT(files_delete(root, "d/f", &err), ==, 0);
	CHECK_INT(files_delete(root, "d", &err), ==, 0);
	CHECK_INT(files_delete(root, "d", &err), <, 0);
	CHECK_INT(err.http, ==, 404);
	CHECK_INT(files_delete(root, "", &err), <, 0);
	CHECK_INT(err.http, ==, 400);
	close(root);
	rmroot();
}

TEST(upload_over_a_directory_is_a_conflict)
{
	int root = mkroot();
	char path[128];

	snprintf(path, sizeof(path), "%s/dir", scratch);
	CHECK_INT(mkdir(path, 0755), ==, 0);
	CHECK_INT(put(root, "dir", "x", 0), <, 0);
	close(root);
	rmroot();
}

TEST(quota_full_leaves_nothing)
{
	struct files_tmp t;
	struct sp_err err;
	static char chunk[64 * 1024];
	int root, rc = 0, i;
	DIR *d;
	struct dirent *e;
	int n = 0;

	/* A private mount namespace (this test runs in its own child). */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("# skipped: needs root for a tmpfs\n");
		return;
	}
	root = mkroot();
	close(root);
	CHECK_INT(mount("t", scratch, "tmpfs", 0, "size=256k"), ==, 0);
	CHECK_INT(files_open_root(scratch, &root), ==, 0);
	CHECK_INT(files_tmp_open(root, 0, 1 << 30, "files.upload_max", &t,
				 &err),
		  ==, 0);
	for (i = 0; i < 16 && rc == 0; i++)
		rc = files_tmp_write(&t, chunk, sizeof(chunk), &err);
	CHECK_INT(rc, <, 0);
	CHECK_INT(err.http, ==, 507);
	CHECK(strstr(err.msg, "quota") != NULL);
	files_tmp_discard(&t);
	d = opendir(scratch);
	while (d && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	CHECK_INT(n, ==, 0);
	close(root);
	umount(scratch);
	rmdir(scratch);
}

T_MAIN()
