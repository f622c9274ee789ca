/* SPDX-License-Identifier: MIT */
/*
 * t.h: the in-tree unit-test harness (in the spirit of Redis testhelp.h and
 * libuv's runner).  A test file defines tests with TEST(name) { ... } and
 * ends with T_MAIN().  Each test runs in a forked child under alarm(), so a
 * crash, a hang or mutated process state stays inside that test.  Output:
 *   ok 3 - parse_size
 *   not ok 4 - bad_key # tests/unit/test_config.c:88 CHECK(rc < 0)
 * and a final line "N passed, N failed" that CI reads.
 */
#ifndef SANDPOOL_T_H
#define SANDPOOL_T_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef T_TIMEOUT
#define T_TIMEOUT 30 /* seconds per test */
#endif
#define T_MAX 512

typedef void (*t_fn)(void);
struct t_case {
	const char *name;
	t_fn fn;
};
static struct t_case t_cases[T_MAX];
static int t_ncases;
static int t_failed_here; /* inside the child: number of failed checks */

#define TEST(name)                                                            \
	static void t_##name(void);                                           \
	__attribute__((constructor)) static void t_reg_##name(void)           \
	{                                                                     \
		if (t_ncases < T_MAX)                                         \
			t_cases[t_ncases++] = (struct t_case){#name, t_##name}; \
	}                                                                     \
	static void t_##name(void)

#define T_FAIL(...)                                                           \
	do {                                                                  \
		fprintf(stdout, "# %s:%d ", __FILE__, __LINE__);              \
		fprintf(stdout, __VA_ARGS__);                                 \
		fputc('\n', stdout);                                          \
		t_failed_here++;                                              \
	} while (0)

#define CHECK(e)                                                              \
	do {                                                                  \
		if (!(e))                                                     \
			T_FAIL("CHECK(%s)", #e);                              \
	} while (0)

#define CHECK_INT(a, op, b)                                                   \
	do {                                                                  \
		long long t_a = (long long)(a), t_b = (long long)(b);         \
		if (!(t_a op t_b))                                            \
			T_FAIL("CHECK_INT(%s %s %s): %lld vs %lld", #a, #op,  \
			       #b, t_a, t_b);                                 \
	} while (0)

#define CHECK_STR(a, b)                                                       \
	do {                                                                  \
		const char *t_a = (a), *t_b = (b);                            \
		if (t_a == NULL || t_b == NULL || strcmp(t_a, t_b) != 0)      \
			T_FAIL("CHECK_STR(%s, %s): \"%s\" vs \"%s\"", #a, #b, \
			       t_a ? t_a : "(null)", t_b ? t_b : "(null)");  \
	} while (0)

static int
t_run_all(int argc, char **argv)
{
	int i, passed = 0, failed = 0;

	for (i = 0; i < t_ncases; i++) {
		pid_t pid;
		int st = 0;

		if (argc > 1 && strcmp(argv[1], t_cases[i].name) != 0)
			continue;
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			alarm(T_TIMEOUT);
			t_cases[i].fn();
			fflush(stdout);
			exit(t_failed_here ? 1 : 0); /* exit: LeakSanitizer runs */
		}
		while (waitpid(pid, &st, 0) < 0)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			printf("ok %d - %s\n", i + 1, t_cases[i].name);
			passed++;
		} else {
			if (WIFSIGNALED(st))
				printf("# killed by signal %d%s\n", WTERMSIG(st),
				       WTERMSIG(st) == SIGALRM ? " (timeout)"
							       : "");
			printf("not ok %d - %s\n", i + 1, t_cases[i].name);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define T_MAIN()                                                              \
	int main(int argc, char **argv)                                       \
	{                                                                     \
		setvbuf(stdout, NULL, _IOLBF, 0);                             \
		return t_run_all(argc, argv);                                 \
	}

#endif
