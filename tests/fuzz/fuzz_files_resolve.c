// SPDX-License-Identifier: MIT
/*
 * fuzz_files_resolve.c: libFuzzer target for name normalisation and
 * resolution.  Byte 0 chooses the flags (bit 0: FILES_DIR), the rest is a
 * client's name.  A name files_normalize accepts must satisfy
 * files_rel_ok and, resolved for real beneath a scratch root full of
 * traps (symlinks to "..", "/", "/etc", a loop), must open something whose
 * path (/proc/self/fd) lies under the root, or fail.  Nothing is created.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root_path[64];
static int root_fd = -1;

/* The scratch root's entries, deepest first, for the cleanup. */
static const char *const entries[] = {"a/b/g", "a/loop", "a/self", "a/b",
				      "a",     "f",      "up",     "root",
				      "etc",   "passwd"};

static void
cleanup(void)
{
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root_path, entries[i]);
		if (unlink(p) < 0)
			rmdir(p);
	}
	rmdir(root_path);
}

/* The traps: a directory (NULL target, "" for a file) or a symlink. */
static const struct {
	const char *path, *target;
} traps[] = {
	{"a", NULL},           {"a/b", NULL},     {"f", ""},
	{"a/b/g", ""},         {"up", ".."},      {"root", "/"},
	{"etc", "/etc"},       {"passwd", "/etc/passwd"},
	{"a/loop", "../a"},    {"a/self", "/proc/self/root"},
};

static void
setup(void)
{
	char p[128];
	size_t i;
	int fd;

	snprintf(root_path, sizeof(root_path), "/tmp/sp-fuzz-root-XXXXXX");
	if (mkdtemp(root_path) == NULL)
		abort();
	for (i = 0; i < sizeof(traps) / sizeof(traps[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root_path, traps[i].path);
		if (traps[i].target == NULL) {
			if (mkdir(p, 0755) < 0)
				abort();
		} else if (traps[i].target[0] == '\0') {
			fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0)
				abort();
			close(fd);
		} else if (symlink(traps[i].target, p) < 0) {
			abort();
		}
	}
	if (files_open_root(root_path, &root_fd) < 0)
		abort();
	atexit(cleanup);
}

/* The fd's path must be the root or below it. */
static void
check_under_root(int fd)
{
	char link[64], target[4096 + 64];
	size_t n = strlen(root_path);
	ssize_t r;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	r = readlink(link, target, sizeof(target) - 1);
	if (r < 0)
		abort();
	target[r] = '\0';
	if (strncmp(target, root_path, n) != 0 ||
	    (target[n] != '\0' && target[n] != '/'))
		abort(); /* escaped the root */
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[FILES_PATH_MAX * 2 + 1], out[FILES_PATH_MAX + 1];
	char joined[FILES_PATH_MAX + 1];
	struct sp_err err;
	struct stat st;
	bool abs;
	int fd;
	const char *c;

	if (root_fd < 0)
		setup();
	if (size < 1 || size - 1 >= sizeof(in))
		return 0;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	files_check_name(in, strlen(in), &err);
	if (files_normalize(in, data[0] & 1 ? FILES_DIR : 0, out, sizeof(out),
			    &abs, &err) < 0)
		return 0;
	if (!files_rel_ok(out) || strlen(out) > FILES_PATH_MAX)
		abort();
	/* Lexically: no component climbs. */
	for (c = out; *c; c = strchr(c, '/') ? strchr(c, '/') + 1 : "") {
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			abort();
	}
	if (files_open_dir(root_fd, out, false, 0, &fd, &err) == 0)
		check_under_root(fd);
	if (out[0] != '\0' && files_open_read(root_fd, out, &fd, &st, &err) == 0)
		check_under_root(fd);
	files_stat(root_fd, out, &st, &err);
	if (files_join(out, "x", joined, sizeof(joined), &err) == 0 &&
	    !files_rel_ok(joined))
		abort();
	return 0;
}
