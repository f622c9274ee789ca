// SPDX-License-Identifier: MIT
/*
 * start_launcher.c: the launcher backend (start_launcher.h).  The
 * launcher (sandpool-sandbox, "The launcher contract" in
 * docs/ARCHITECTURE.md) clones the sandbox with CLONE_PARENT, so its pid
 * 1 is our child, and reports one line, "ok <pid>" or "err <message>",
 * once the kernel's execve succeeded or the setup failed; then it exits.
 * A starter thread waits for that line: a few milliseconds (the kernel's
 * imports come after it, and the loop thread waits for their "ready").
 */
#define _GNU_SOURCE
#include "start_launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"
#include "sandpool.h"

/* Longer than the launcher's own verdict timeout (10 s), which it
 * reports as an error line. */
#define REPORT_WAIT_MS 15000
#define REPORT_MAX 512

/* Read the launcher's line into b until EOF or the deadline. */
static int
read_report(int fd, struct buf *b)
{
	uint64_t until = now_ms() + REPORT_WAIT_MS;
	char chunk[256];

	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		uint64_t now = now_ms();
		ssize_t r;

		if (now >= until)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(until - now)) < 0 && errno != EINTR)
			return -errno;
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		if (buf_append(b, chunk, (size_t)r) < 0)
			return -E2BIG;
	}
}

int
start_launcher_spawn(struct sandpool *sp, const struct start_spec *spec,
		     struct start_result *r)
{
	char *env[START_ENV_MAX] = {NULL};
	int rp[2] = {-1, -1}, st, rc;
	struct priv_spawn req;
	struct buf b;
	pid_t lpid = -1;
	long pid = 0;
	size_t i;

	buf_init(&b, REPORT_MAX);
	r->backend = START_LAUNCHER;
	if (pipe2(rp, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(r->why, sizeof(r->why), "pipe: %s", strerror(errno));
		goto out;
	}
	start_kernel_env(spec->preload, env, ARRAY_SIZE(env));
	req = (struct priv_spawn){
		.sandbox_bin = sp->sandbox_bin,
		.data_dir = spec->data_dir,
		.runtime_dir = sp->runtime_dir,
		.python = sp->cfg->python,
		.uid0 = spec->uid0,
		.tmp_size = spec->tmp_size,
		.pids = spec->nproc,
		.env = (const char *const *)env,
		.ctl_fd = spec->ctl,
		.report_fd = rp[1],
		.cgroup_fds = spec->cgroup_fds,
		.ncgroup = spec->ncgroup,
	};
	rc = priv_sandbox_spawn(&req, &lpid);
	close(rp[1]);
	rp[1] = -1;
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why), "the launcher could not be "
			 "run: %s", strerror(-rc));
		goto out;
	}
	rc = read_report(rp[0], &b);
	if (rc < 0)
		kill(lpid, SIGKILL);
	/* It writes its line and exits; a killed one is gone at once. */
	while (waitpid(lpid, &st, 0) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why), "the launcher's report: %s",
			 strerror(-rc));
		goto out;
	}
	buf_append(&b, "", 1);
	if (b.len > 4 && strncmp(b.data, "ok ", 3) == 0) {
		char *end = NULL;

		pid = strtol(b.data + 3, &end, 10);
		if (end == NULL || (*end != '\n' && *end != '\0') || pid <= 1)
			pid = 0;
	}
	if (pid == 0) {
		const char *text = b.len > 1 ? b.data
					     : "the launcher gave no report";

		rc = -EIO;
		snprintf(r->why, sizeof(r->why), "%.*s",
			 (int)strcspn(text, "\n"), text);
		goto out;
	}
	r->pid1 = (pid_t)pid;
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid1, 0);
	if (r->pidfd < 0) {
		/* Our child (CLONE_PARENT), so the pid is still its own. */
		rc = -errno;
		snprintf(r->why, sizeof(r->why), "pidfd_open %ld: %s", pid,
			 strerror(errno));
		kill(r->pid1, SIGKILL);
		while (waitpid(r->pid1, &st, 0) < 0 && errno == EINTR)
			;
		r->pid1 = 0;
		goto out;
	}
	rc = 0;
out:
	for (i = 0; env[i]; i++)
		free(env[i]);
	if (rp[0] >= 0)
		close(rp[0]);
	buf_fini(&b);
	return rc;
}
