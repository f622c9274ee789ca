// SPDX-License-Identifier: MIT
/*
 * cgroup_parse.c: the pure parsers behind cgroup_init() (src/cgroup.c):
 * /proc/self/cgroup, /proc/self/mountinfo, the instance tag and the
 * flat-keyed counter files.  No side effects, so tests/unit/test_cgroup.c
 * runs them on the texts of real machines.
 */
#define _GNU_SOURCE
#include "cgroup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Is word one of the comma-separated items of list[0..n)? */
static bool
in_list(const char *list, size_t n, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list, *end = list + n;

	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t l = c ? (size_t)(c - p) : (size_t)(end - p);

		if (l == wl && memcmp(p, word, wl) == 0)
			return true;
		p += l + 1;
	}
	return false;
}

/*
 * The path of our cgroup for v1 controller ctl, or for v2 when ctl is "",
 * from /proc/self/cgroup text ("ID:CONTROLLERS:PATH" lines; v2 is
 * "0::PATH").  Returns 0, -ENOENT or -ENAMETOOLONG.
 */
int
cgroup_self_path(const char *text, const char *ctl, char *out, size_t outlen)
{
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		const char *c1 = memchr(line, ':', (size_t)(end - line));
		const char *c2 =
			c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;

		if (c2) {
			size_t cl = (size_t)(c2 - c1 - 1);
			bool hit = ctl[0] == '\0'
					   ? (cl == 0 && c1 - line == 1 &&
					      line[0] == '0')
					   : in_list(c1 + 1, cl, ctl);
			size_t pl = (size_t)(end - c2 - 1);

			if (hit) {
				if (pl == 0 || c2[1] != '/')
					return -ENOENT;
				if (pl >= outlen)
					return -ENAMETOOLONG;
				memcpy(out, c2 + 1, pl);
				out[pl] = '\0';
				return 0;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

/* Copy a mountinfo field, decoding its \ooo escapes. */
static int
unescape_field(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < n && s[i + 1] >= '0' &&
		    s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 +
				   (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/*
 * Find the mount of v1 controller ctl (fstype cgroup with ctl among its
 * super options), or of cgroup2 when ctl is "", in /proc/self/mountinfo
 * text.  Gives its mount point and the root of the hierarchy it shows.
 * The first match wins.  Returns 0, -ENOENT or -ENAMETOOLONG.
 */
int
cgroup_find_mount(const char *text, const char *ctl, char *mnt, size_t mntlen,
		  char *root, size_t rootlen)
{
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		const char *f[6];
		size_t fl[6];
		const char *p = line, *sep;
		int n = 0;

		/* Fields 0..5: id, parent, dev, root, mount point, options. */
		while (n < 6 && p < end) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));

			f[n] = p;
			fl[n] = sp ? (size_t)(sp - p) : (size_t)(end - p);
			n++;
			p = sp ? sp + 1 : end;
		}
		/* Optional fields follow the options, then " - ". */
		sep = n == 6 ? strstr(f[5], " - ") : NULL;
		if (sep && sep < end) {
			const char *fs = sep + 3, *fse, *src, *so, *soe;

			fse = memchr(fs, ' ', (size_t)(end - fs));
			src = fse ? fse + 1 : NULL;
			so = src ? memchr(src, ' ', (size_t)(end - src)) : NULL;
			so = so ? so + 1 : NULL;
			soe = end;
			if (fse && so) {
				size_t fsl = (size_t)(fse - fs);
				bool hit;

				if (ctl[0] == '\0')
					hit = fsl == 7 &&
					      memcmp(fs, "cgroup2", 7) == 0;
				else
					hit = fsl == 6 &&
					      memcmp(fs, "cgroup", 6) == 0 &&
					      in_list(so, (size_t)(soe - so),
						      ctl);
				if (hit) {
					int rc = unescape_field(f[4], fl[4],
								mnt, mntlen);

					if (rc == 0)
						rc = unescape_field(f[3], fl[3],
								    root,
								    rootlen);
					return rc;
				}
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

/* "sandpool-" and 48 bits of FNV-1a 64 of the state directory's path. */
void
cgroup_make_tag(const char *state_dir, char *out, size_t outlen)
{
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)state_dir; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	snprintf(out, outlen, "sandpool-%012" PRIx64, h >> 16);
}

/* The number after "key " at the start of a line of text. */
int
cgroup_counter(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');

		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			char num[32];
			const char *v = line + kl + 1;
			size_t n = nl ? (size_t)(nl - v) : strlen(v);

			if (n == 0 || n >= sizeof(num))
				return -EINVAL;
			memcpy(num, v, n);
			num[n] = '\0';
			return parse_u64(num, out);
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}
