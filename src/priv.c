// SPDX-License-Identifier: MIT
/*
 * priv.c: every privileged action of the server process.  Today the server
 * runs them itself as root; keeping them behind these few typed functions
 * means a later privilege-separated helper only has to re-validate the same
 * requests (bubblewrap's PrivSepOp, OpenBSD imsg).
 *
 * Trust: paths passed here are built by the server from its own state dir
 * and a server-generated session id, never from client input.  The content
 * of a data directory, however, is written by the sandbox, so removal walks
 * it with *at() calls and never follows a link.
 */
#define _GNU_SOURCE
#include "priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include "cgroup.h"
#include "idmap.h"
#include "log.h"
#include "util.h"

int
priv_data_create(const char *dir, const char *data_dir, uint64_t quota,
		 uid_t uid, bool *mounted)
{
	char opts[128];
	int rc = 0;

	*mounted = false;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(data_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (quota > 0) {
		/* nosuid,nodev,noexec: the sandbox may write here, so nothing
		 * in it may gain privileges or be mapped executable. */
		snprintf(opts, sizeof(opts),
			 "size=%llu,mode=0700,uid=%u,gid=%u,nr_inodes=65536",
			 (unsigned long long)quota, (unsigned)uid,
			 (unsigned)uid);
		if (mount("sandpool-data", data_dir, "tmpfs",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
			return -errno;
		*mounted = true;
		return 0;
	}
	/* A plain directory: created by us just now, so chown by path is
	 * safe (the sandbox does not exist yet). */
	if (chown(data_dir, uid, uid) < 0)
		rc = -errno;
	return rc;
}

/* Remove everything below the directory fd dfd.  Never follows links:
 * subdirectories are opened with O_NOFOLLOW relative to their parent. */
static int
remove_tree_at(int dfd, int depth)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > 256)
		return -ELOOP;
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return -errno;
	}
	while ((e = readdir(d)) != NULL) {
		int sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = -errno;
			continue;
		}
		sub = openat(dirfd(d), e->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			rc = -errno;
			continue;
		}
		remove_tree_at(sub, depth + 1);
		if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
			rc = -errno;
	}
	closedir(d);
	return rc;
}

static int
remove_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	remove_tree_at(fd, 0);
	if (rmdir(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int
priv_data_remove(const char *dir, const char *data_dir, bool mounted)
{
	int rc;

	if (mounted && umount2(data_dir, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 &&
	    errno != EINVAL && errno != ENOENT)
		log_warn("umount %s", data_dir);
	rc = remove_dir(dir);
	if (rc < 0)
		log_warnx("remove %s: %s", dir, strerror(-rc));
	return rc;
}

void
priv_cleanup_stale(const char *sessions_dir)
{
	DIR *d = opendir(sessions_dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *dir, *data;

		if (e->d_name[0] == '.')
			continue;
		dir = xasprintf("%s/%s", sessions_dir, e->d_name);
		data = xasprintf("%s/data", dir);
		/* Unmount repeatedly: a crash may have left stacked mounts. */
		while (umount2(data, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			;
		log_info("removed stale session directory %s", e->d_name);
		remove_dir(dir);
		free(data);
		free(dir);
	}
	closedir(d);
}

/* Children start with default signal dispositions and an empty mask: the
 * server blocks SIGTERM and SIGINT in every thread, and a blocked or
 * ignored SIGINT inherited by the kernel would defeat the timeout's
 * KeyboardInterrupt (platform-notes §6). */
static void
spawnattr_clean(posix_spawnattr_t *at)
{
	sigset_t none, all;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(at);
	posix_spawnattr_setsigmask(at, &none);
	posix_spawnattr_setsigdefault(at, &all);
	posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK |
					     POSIX_SPAWN_SETSIGDEF);
}

int
priv_sandbox_spawn(const struct priv_spawn *req, pid_t *launcher_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char uidbuf[32], tmpbuf[32], pidsbuf[16];
	char cgbuf[PRIV_MAX_CGROUP_FDS][8];
	const char *argv[96];
	char *const *envp;
	size_t n = 0, i;
	int rc, ctl = -1, rep = -1, cg[PRIV_MAX_CGROUP_FDS];
	static char *const empty_env[] = {NULL};

	ENSURE(req->ncgroup >= 0 && req->ncgroup <= PRIV_MAX_CGROUP_FDS);
	for (i = 0; i < PRIV_MAX_CGROUP_FDS; i++)
		cg[i] = -1;

	snprintf(uidbuf, sizeof(uidbuf), "%llu",
		 (unsigned long long)req->uid0);
	snprintf(tmpbuf, sizeof(tmpbuf), "%llu",
		 (unsigned long long)req->tmp_size);
	snprintf(pidsbuf, sizeof(pidsbuf), "%u", req->pids);
	argv[n++] = req->sandbox_bin;
	argv[n++] = "--data";
	argv[n++] = req->data_dir;
	argv[n++] = "--runtime";
	argv[n++] = req->runtime_dir;
	argv[n++] = "--uid-base";
	argv[n++] = uidbuf;
	argv[n++] = "--tmp-size";
	argv[n++] = tmpbuf;
	argv[n++] = "--pids";
	argv[n++] = pidsbuf;
	argv[n++] = "--report-fd";
	argv[n++] = "4";
	/* The cgroup attach files become fds 5.. of the launcher. */
	for (i = 0; i < (size_t)req->ncgroup; i++) {
		snprintf(cgbuf[i], sizeof(cgbuf[i]), "%zu", 5 + i);
		argv[n++] = "--cgroup-fd";
		argv[n++] = cgbuf[i];
	}
	for (i = 0; req->env && req->env[i] && n < ARRAY_SIZE(argv) - 8; i++) {
		argv[n++] = "--env";
		argv[n++] = req->env[i];
	}
	argv[n++] = "--";
	argv[n++] = req->python;
	argv[n++] = "-I";
	argv[n++] = "/opt/sandpool/kernel.py";
	argv[n] = NULL;

	/* dup2(3, 3) would keep FD_CLOEXEC set, so move both fds out of the
	 * way first; the copies are closed again below. */
	ctl = fcntl(req->ctl_fd, F_DUPFD_CLOEXEC, 10);
	rep = fcntl(req->report_fd, F_DUPFD_CLOEXEC, 10);
	if (ctl < 0 || rep < 0) {
		rc = errno;
		goto out;
	}
	for (i = 0; i < (size_t)req->ncgroup; i++) {
		cg[i] = fcntl(req->cgroup_fds[i], F_DUPFD_CLOEXEC, 10);
		if (cg[i] < 0) {
			rc = errno;
			goto out;
		}
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	/* fd 2 stays the server's stderr: the launcher's own diagnostics. */
	posix_spawn_file_actions_adddup2(&fa, ctl, 3);
	posix_spawn_file_actions_adddup2(&fa, rep, 4);
	for (i = 0; i < (size_t)req->ncgroup; i++)
		posix_spawn_file_actions_adddup2(&fa, cg[i], (int)(5 + i));
	/* The launcher gets no environment of ours: nothing leaks. */
	envp = empty_env;
	spawnattr_clean(&at);
	rc = posix_spawn(launcher_pid, req->sandbox_bin, &fa, &at,
			 (char *const *)argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
out:
	if (ctl >= 0)
		close(ctl);
	if (rep >= 0)
		close(rep);
	for (i = 0; i < PRIV_MAX_CGROUP_FDS; i++)
		if (cg[i] >= 0)
			close(cg[i]);
	return -rc;
}

int
priv_template_spawn(const struct priv_template *req, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	const char *argv[32 + 2 * 64];
	char uidbuf[24];
	static char *const empty_env[] = {NULL};
	int src[3] = {req->chan_fd, req->runtime_fd, req->ext_fd};
	int tmp[3] = {-1, -1, -1};
	size_t n = 0, i;
	int rc = 0;

	snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned)req->uid);
	argv[n++] = req->sandbox_bin;
	argv[n++] = "--template";
	argv[n++] = "--uid";
	argv[n++] = uidbuf;
	for (i = 0; req->env && req->env[i] && n < ARRAY_SIZE(argv) - 12;
	     i++) {
		argv[n++] = "--env";
		argv[n++] = req->env[i];
	}
	argv[n++] = "--";
	argv[n++] = req->python;
	argv[n++] = "-I";
	argv[n++] = "/proc/self/fd/4/zygote.py";
	argv[n++] = "--chan";
	argv[n++] = "3";
	argv[n++] = "--ext";
	argv[n++] = "/proc/self/fd/5";
	argv[n] = NULL;
	/* Out of the way of 3-5 first (dup2 onto itself would keep
	 * FD_CLOEXEC). */
	for (i = 0; i < 3; i++) {
		tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10);
		if (tmp[i] < 0) {
			rc = -errno;
			goto out;
		}
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, tmp[i], (int)(3 + i));
	spawnattr_clean(&at);
	rc = -posix_spawn(pid, req->sandbox_bin, &fa, &at,
			  (char *const *)argv, empty_env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
out:
	for (i = 0; i < 3; i++)
		if (tmp[i] >= 0)
			close(tmp[i]);
	return rc;
}

int
priv_memfd_copy(const char *path, const char *name)
{
	int in = open(path, O_RDONLY | O_CLOEXEC), fd = -1, err;
	struct stat st;
	off_t off = 0;

	if (in < 0 || fstat(in, &st) < 0)
		goto fail;
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto fail;
	while (off < st.st_size)
		if (sendfile(fd, in, &off, (size_t)(st.st_size - off)) <= 0)
			goto fail;
	/* Nobody changes it once made: not we, not a sandbox. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
					   F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		goto fail;
	close(in);
	return fd;
fail:
	err = errno;
	if (in >= 0)
		close(in);
	if (fd >= 0)
		close(fd);
	errno = err;
	return -1;
}

/* The parent pid of pid, from /proc/<pid>/stat. */
static int
parent_of(int procdir, pid_t *ppid)
{
	char buf[512], *p;
	ssize_t n;
	int fd = openat(procdir, "stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, so parse
	 * from the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %d", ppid) != 1)
		return -EIO;
	return 0;
}

int
priv_zygote_release(pid_t pid, uint64_t uid0, int release_fd,
		    const int *fds, size_t n)
{
	char path[32];
	pid_t ppid = 0;
	int dir, rc;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	/* Our child cannot be reaped by anyone else, so its pid cannot be
	 * reused under us; anything else is not a sandbox of ours. */
	rc = parent_of(dir, &ppid);
	if (rc == 0 && ppid != getpid())
		rc = -ESRCH;
	if (rc == 0)
		rc = idmap_write(dir, uid0);
	close(dir);
	if (rc == 0)
		rc = fd_send(release_fd, "x", 1, fds, n);
	return rc;
}

/* The reaper's life: wait for the server's word or its death. */
static void
reaper_main(const struct cgroup_root *cg, const char *sessions_dir, int rfd,
	    int lock_fd)
{
	unsigned int keep[2] = {(unsigned int)rfd, (unsigned int)lock_fd};
	char c = 0;
	ssize_t n;

	prctl(PR_SET_NAME, "sp-reaper", 0, 0, 0);
	/* A signal meant for the server's process group (^C) must not take
	 * the reaper first; it ends by the pipe alone. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Nothing of the server's (sockets, the database) stays open here
	 * but stdio: stderr is the server's log. */
	if (keep[0] > keep[1]) {
		keep[0] = (unsigned int)lock_fd;
		keep[1] = (unsigned int)rfd;
	}
	ENSURE(keep[0] > 2);
	close_range(3, keep[0] - 1, 0);
	close_range(keep[0] + 1, keep[1] - 1, 0);
	close_range(keep[1] + 1, ~0U, 0);
	do
		n = read(rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == 'q')
		_exit(0);
	/* The server is gone without cleaning up. */
	log_warnx("reaper: the server died; killing its sandboxes and "
		  "removing its cgroups and session directories");
	cgroup_abandon(cg);
	priv_cleanup_stale(sessions_dir);
	log_info("reaper: done");
	_exit(0);
}

int
priv_reaper_start(const struct cgroup_root *cg, const char *sessions_dir,
		  int lock_fd, int *fd, pid_t *pid)
{
	int p[2];
	pid_t child;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (child == 0) {
		close(p[1]);
		reaper_main(cg, sessions_dir, p[0], lock_fd);
	}
	close(p[0]);
	*fd = p[1];
	*pid = child;
	return 0;
}

void
priv_reaper_stop(int fd, pid_t pid)
{
	int st;

	if (fd < 0)
		return;
	if (write(fd, "q", 1) != 1)
		log_warn("reaper");
	close(fd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

int
priv_signal(int pidfd, int sig)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return -errno;
	return 0;
}

int
priv_run_capture(char *const *argv, char *const *envp, size_t cap,
		 uint32_t timeout_ms, char **out)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	uint64_t until = now_ms() + timeout_ms;
	int p[2] = {-1, -1}, st, rc = 0;
	char chunk[4096];
	struct buf b;
	pid_t pid = -1;

	*out = NULL;
	buf_init(&b, cap);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	spawnattr_clean(&at);
	rc = -posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc < 0)
		goto out;
	for (;;) {
		struct pollfd pf = {p[0], POLLIN, 0};
		uint64_t now = now_ms();
		ssize_t r;

		if (now >= until) {
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(&pf, 1, (int)(until - now)) <= 0)
			continue;
		r = read(p[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		if (r <= 0)
			break;
		if (buf_append(&b, chunk, (size_t)r) < 0) {
			rc = -E2BIG;
			break;
		}
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
out:
	close(p[0]);
	if (rc == 0)
		*out = buf_steal(&b, NULL);
	buf_fini(&b);
	return rc;
}
