// SPDX-License-Identifier: MIT
/*
 * standalone.c: replays fuzz inputs without libFuzzer (SQLite's fuzzcheck
 * idea), so that `make test` runs every corpus under gcc.  Linked with one
 * fuzz_*.c target; each argument is a file or a directory of files.
 * Prints "fuzz-regress: NAME: N inputs" and exits 0, or dies (abort) on
 * the first input a target rejects.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	int i, count = 0, bad = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		char **names = NULL;
		size_t n = 0, k;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad += replay_file(argv[i]) < 0;
			count++;
			continue;
		}
		d = opendir(argv[i]);
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			names = realloc(names, (n + 1) * sizeof(*names));
			if (names == NULL)
				return 2;
			names[n] = malloc(strlen(argv[i]) +
					  strlen(e->d_name) + 2);
			if (names[n] == NULL)
				return 2;
			snprintf(names[n], strlen(argv[i]) +
						   strlen(e->d_name) + 2,
				 "%s/%s", argv[i], e->d_name);
			n++;
		}
		if (d)
			closedir(d);
		qsort(names, n, sizeof(*names), cmp);
		for (k = 0; k < n; k++) {
			bad += replay_file(names[k]) < 0;
			count++;
			free(names[k]);
		}
		free(names);
	}
	printf("fuzz-regress: %s: %d inputs\n", argc > 1 ? argv[1] : "-",
	       count);
	return bad ? 1 : 0;
}
