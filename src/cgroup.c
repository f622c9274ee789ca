// SPDX-License-Identifier: MIT
/*
 * cgroup.c: the per-session cgroups (limits, OOM detection, usage) and the
 * per-instance subtree they live in.  Used by session.c, which creates a
 * group before a sandbox starts and removes it after pid 1 is reaped, and
 * by main.c at start and stop.
 *
 * Layout.  The server never writes to a cgroup it did not create (v1), and
 * creates only under its own cgroup, as /proc/self/cgroup names it:
 *
 *   v1: <mnt>/<own ctl path>/sandpool-<tag>/<sid>  for memory, pids, cpu
 *       and cpuacct (each hierarchy on this machine kind is separate; a
 *       co-mounted "cpu,cpuacct" is one directory serving both)
 *   v2: <mnt>/<own path>/sandpool-<tag>/<sid>, with the server itself in
 *       .../sandpool-<tag>/server (v2 forbids processes in a cgroup whose
 *       children get controllers, so a delegated server must leave its own)
 *
 * <tag> is 48 bits of FNV-1a over the state directory's real path.  The
 * subtree's directories are also written to <state>/cgroups, because the
 * server's own cgroup can differ between runs (here: one memory cgroup per
 * job), so that a successor still finds what a crashed run left.
 *
 * Limits (platform-notes §5).  v1: memory.limit_in_bytes first, then
 * memory.memsw.limit_in_bytes at the same value (memsw must stay >= limit),
 * so swap is 0; pids.max; cpu.cfs_quota_us over a 100 ms period.  v2:
 * memory.max, memory.swap.max 0, pids.max, cpu.max.
 *
 * OOM.  The memcg OOM killer sends SIGKILL and the wait status alone cannot
 * tell that from any other kill, so each group carries a notification: in
 * v1 an eventfd registered through cgroup.event_control on
 * memory.oom_control (it fires before the victim is killed), in v2 a
 * kernfs change notification on memory.events.  The "oom_kill" counter in
 * those same files is the synchronous cross-check at reap time.
 *
 * The text parsers (/proc/self/cgroup, mountinfo, counters) are in
 * cgroup_parse.c.
 */
#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define PROC_CAP (256 * 1024) /* /proc/self/cgroup, cgroup.procs */
#define MOUNTINFO_CAP (4 * 1024 * 1024)
#define SMALL_CAP 4096       /* a counter or limit file */
#define CPU_PERIOD_US 100000 /* the cfs period; quota is a share */
#define RMDIR_TRIES 3        /* immediate tries before deferring */
#define GRAVE_MS 10000       /* how long a busy group is retried */
#define STALE_WAIT_MS 3000   /* for killed stale tasks to exit */
#define MAX_MOUNTS 16        /* cgroup mounts remembered */

enum ctl { C_MEMORY, C_PIDS, C_CPU, C_CPUACCT, C_NCTL };
static const char *const ctl_names[C_NCTL] = {"memory", "pids", "cpu",
					      "cpuacct"};
#define BIT(c) (1u << (c))

struct cgroup_root {
	enum cgroup_mode mode;
	char tag[32]; /* "sandpool-" + 12 hex digits */
	int nbase;
	char *base[CGROUP_MAX_DIRS]; /* the instance subtree, per hierarchy */
	unsigned int serves[CGROUP_MAX_DIRS]; /* BIT(ctl)s each base carries */
	char *mnt[MAX_MOUNTS];                /* every cgroup mount point */
	int nmnt;
	char *record;         /* <state>/cgroups */
	/* Groups are created and removed by the starter threads (start.c)
	 * at once: grave_lock guards the grave list, the only state of r
	 * that changes after cgroup_init(). */
	pthread_mutex_t grave_lock;
	struct cgroup *grave; /* removed groups still busy */
};

struct cgroup {
	enum cgroup_mode mode;
	int ndir;
	char *dir[CGROUP_MAX_DIRS];
	unsigned int serves[CGROUP_MAX_DIRS];
	int oom_fd;          /* v1 eventfd, v2 memory.events; -1 = none */
	int oomctl_fd;       /* v1 memory.oom_control, read for oom_kill */
	uint64_t memory;     /* bytes: the limit */
	uint64_t v2_kills;   /* v2: oom_kill when last drained */
	uint64_t give_up_ms; /* on the grave list: stop retrying then */
	struct cgroup *next;
};

/* ------------------------------------------------------------------ */
/* small file helpers                                                  */
/* ------------------------------------------------------------------ */

static int
write_at(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	return write_file_str(path, val);
}

static int
read_at(const char *dir, const char *file, char **out)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	return read_file_capped(path, SMALL_CAP, out, NULL);
}

/* A file holding one number ("max" reads as UINT64_MAX). */
static int
read_u64_at(const char *dir, const char *file, uint64_t *v)
{
	char *s = NULL;
	int rc = read_at(dir, file, &s);

	if (rc == 0) {
		s[strcspn(s, "\n")] = '\0';
		if (strcmp(s, "max") == 0)
			*v = UINT64_MAX;
		else
			rc = parse_u64(s, v);
	}
	free(s);
	return rc;
}

static int
read_counter_at(const char *dir, const char *file, const char *key, uint64_t *v)
{
	char *s = NULL;
	int rc = read_at(dir, file, &s);

	if (rc == 0)
		rc = cgroup_counter(s, key, v);
	free(s);
	return rc;
}

/* pread a small file from offset 0 into buf (NUL-terminated). */
static int
pread_text(int fd, char *buf, size_t len)
{
	ssize_t n;

	do
		n = pread(fd, buf, len - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* rmdir, retried briefly on EBUSY; ENOENT counts as done. */
static int
rmdir_retry(const char *dir, int tries)
{
	int i;

	for (i = 0; i < tries; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		if (i + 1 < tries)
			usleep(1000);
	}
	return -EBUSY;
}

/* ------------------------------------------------------------------ */
/* stale groups                                                        */
/* ------------------------------------------------------------------ */

/* The pids listed in dir's cgroup.procs (caller frees), count in *n. */
static pid_t *
list_procs(const char *dir, size_t *n)
{
	char *text = NULL, path[PATH_MAX], *p, *save = NULL;
	pid_t *v = NULL;
	size_t cap = 0;

	*n = 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (read_file_capped(path, PROC_CAP, &text, NULL) < 0)
		return NULL;
	for (p = strtok_r(text, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save)) {
		uint64_t pid;

		if (parse_u64(p, &pid) < 0 || pid == 0 || pid > INT_MAX)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = (pid_t)pid;
	}
	free(text);
	return v;
}

/*
 * SIGKILL every task of a stale group of ours.  A pidfd is opened for each
 * listed pid and the list is read again: a pid still listed afterwards is
 * the very process the pidfd holds (or that process is dead and the
 * signal goes nowhere), so a recycled pid is never signalled.
 */
static void
kill_procs(const char *dir)
{
	size_t n1 = 0, n2 = 0, i, j;
	pid_t *a, *b;
	int *fds;

	if (write_at(dir, "cgroup.kill", "1") == 0)
		return; /* v2, 5.14+: the kernel does it atomically */
	a = list_procs(dir, &n1);
	if (n1 == 0) {
		free(a);
		return;
	}
	fds = xcalloc(n1, sizeof(*fds));
	for (i = 0; i < n1; i++)
		fds[i] = (int)syscall(SYS_pidfd_open, a[i], 0);
	b = list_procs(dir, &n2);
	for (i = 0; i < n1; i++) {
		for (j = 0; fds[i] >= 0 && j < n2; j++) {
			if (a[i] == b[j]) {
				syscall(SYS_pidfd_send_signal, fds[i], SIGKILL,
					NULL, 0);
				break;
			}
		}
		if (fds[i] >= 0)
			close(fds[i]);
	}
	free(fds);
	free(a);
	free(b);
}

/* Kill what runs in dir and below, and remove it all, deepest first;
 * keep_top keeps dir itself, and a child called skip is left alone. */
static int
clean_tree(const char *dir, int depth, bool keep_top, const char *skip)
{
	DIR *d;
	struct dirent *e;
	uint64_t until;
	int rc;

	if (depth > 4)
		return -ELOOP;
	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		char sub[PATH_MAX];

		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 ||
		    (skip && strcmp(e->d_name, skip) == 0))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir,
				     e->d_name) >= sizeof(sub))
			continue;
		log_info("removing stale cgroup %s", sub);
		clean_tree(sub, depth + 1, false, NULL);
	}
	closedir(d);
	if (keep_top)
		return 0;
	kill_procs(dir);
	until = now_ms() + STALE_WAIT_MS;
	for (;;) {
		rc = rmdir_retry(dir, 1);
		if (rc != -EBUSY || now_ms() >= until)
			break;
		usleep(10 * 1000);
	}
	if (rc < 0)
		log_warnx("cannot remove stale cgroup %s: %s", dir,
			  strerror(-rc));
	return rc;
}

/* Is path a directory a predecessor of ours recorded: absolute, below a
 * cgroup mount, no "." or ".." components, named after our tag, and a
 * real directory (not a link)? */
static bool
record_line_ok(const struct cgroup_root *r, const char *path)
{
	const char *base = strrchr(path, '/');
	struct stat st;
	int i;

	if (path[0] != '/' || strstr(path, "/./") || strstr(path, "/../") ||
	    base == NULL || strcmp(base + 1, r->tag) != 0)
		return false;
	for (i = 0; i < r->nmnt; i++) {
		size_t l = strlen(r->mnt[i]);

		if (strncmp(path, r->mnt[i], l) == 0 && path[l] == '/')
			break;
	}
	if (i == r->nmnt)
		return false;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Remove the subtrees a previous run on this state directory recorded. */
static void
clean_recorded(const struct cgroup_root *r)
{
	char *text = NULL, *p, *save = NULL;

	if (read_file_capped(r->record, PROC_CAP, &text, NULL) < 0)
		return;
	for (p = strtok_r(text, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save)) {
		if (!record_line_ok(r, p))
			continue;
		log_info("removing cgroups a previous run left in %s", p);
		clean_tree(p, 0, false, NULL);
	}
	free(text);
}

static int
write_record(const struct cgroup_root *r)
{
	struct buf b;
	int fd, rc, i;

	buf_init(&b, 64 * 1024);
	for (i = 0; i < r->nbase; i++)
		buf_printf(&b, "%s\n", r->base[i]);
	fd = open(r->record,
		  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	rc = fd < 0 ? -errno : write_all(fd, b.data, b.len);
	if (fd >= 0)
		close(fd);
	buf_fini(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* detection and the instance subtree                                  */
/* ------------------------------------------------------------------ */

/* Our cgroup directory for ctl ("" = v2): mount point plus our path
 * below the mount's root.  Returns 0, -ENOENT or -ENAMETOOLONG. */
static int
own_dir(const char *pc, const char *mi, const char *ctl, char *out,
	size_t outlen)
{
	char mnt[PATH_MAX], root[PATH_MAX], path[PATH_MAX];
	const char *rel;
	size_t rl;
	int rc;

	rc = cgroup_find_mount(mi, ctl, mnt, sizeof(mnt), root, sizeof(root));
	if (rc == 0)
		rc = cgroup_self_path(pc, ctl, path, sizeof(path));
	if (rc < 0)
		return rc;
	/* A mount may show a subtree (its root); our cgroup must lie in
	 * it, or it is not reachable through this mount. */
	rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (strncmp(path, root, rl) != 0 ||
	    (path[rl] != '/' && path[rl] != '\0'))
		return -ENOENT;
	rel = path + rl;
	if (strcmp(rel, "/") == 0)
		rel = "";
	if ((size_t)snprintf(out, outlen, "%s%s", mnt, rel) >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

/* Remember every cgroup and cgroup2 mount point (to validate records). */
static void
collect_mounts(struct cgroup_root *r, const char *mi)
{
	const char *probe[] = {"", "memory", "pids", "cpu", "cpuacct"};
	char mnt[PATH_MAX], root[PATH_MAX];
	size_t i;
	int j;

	for (i = 0; i < ARRAY_SIZE(probe) && r->nmnt < MAX_MOUNTS; i++) {
		if (cgroup_find_mount(mi, probe[i], mnt, sizeof(mnt), root,
				      sizeof(root)) < 0)
			continue;
		for (j = 0; j < r->nmnt; j++)
			if (strcmp(r->mnt[j], mnt) == 0)
				break;
		if (j == r->nmnt)
			r->mnt[r->nmnt++] = xstrdup(mnt);
	}
}

/* v2 when the server's v2 cgroup offers memory and pids. */
static bool
v2_usable(const char *pc, const char *mi, char *own, size_t ownlen,
	  unsigned int *serves)
{
	char *ctls = NULL;
	size_t i;

	*serves = 0;
	if (own_dir(pc, mi, "", own, ownlen) < 0 ||
	    read_at(own, "cgroup.controllers", &ctls) < 0)
		return false;
	for (i = 0; i < 3; i++) {
		char *p = ctls;
		size_t l = strlen(ctl_names[i]);

		while ((p = strstr(p, ctl_names[i])) != NULL) {
			if ((p == ctls || p[-1] == ' ') &&
			    (p[l] == ' ' || p[l] == '\n' || p[l] == '\0')) {
				*serves |= BIT(i);
				break;
			}
			p += l;
		}
	}
	free(ctls);
	/* cpu accounting is always on in v2 (cpu.stat usage_usec). */
	return (*serves & (BIT(C_MEMORY) | BIT(C_PIDS))) ==
	       (BIT(C_MEMORY) | BIT(C_PIDS));
}

/*
 * v2 delegation: controllers reach our groups only through
 * cgroup.subtree_control of every ancestor, and a cgroup with processes
 * cannot enable them ("no internal processes").  So the server moves
 * itself into <base>/server and enables the controllers on its former
 * cgroup and on <base>.  The server must run in a cgroup delegated to it
 * (systemd Delegate=yes) holding no other process.
 */
static int
v2_delegate(struct cgroup_root *r, const char *own, unsigned int serves,
	    char *why, size_t whylen)
{
	char leaf[PATH_MAX], ctl[64] = "";
	int rc;
	size_t i;

	for (i = 0; i < 3; i++)
		if (serves & BIT(i)) {
			size_t l = strlen(ctl);

			snprintf(ctl + l, sizeof(ctl) - l, "%s+%s",
				 l ? " " : "", ctl_names[i]);
		}
	snprintf(leaf, sizeof(leaf), "%s/server", r->base[0]);
	if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(why, whylen, "mkdir %s: %s", leaf, strerror(-rc));
		return rc;
	}
	rc = write_at(leaf, "cgroup.procs", "0");
	if (rc == 0)
		rc = write_at(own, "cgroup.subtree_control", ctl);
	if (rc == 0)
		rc = write_at(r->base[0], "cgroup.subtree_control", ctl);
	if (rc < 0)
		snprintf(why, whylen,
			 "cgroup v2: cannot enable \"%s\" below %s: %s (run "
			 "sandpool in a cgroup delegated to it and holding "
			 "no other process, e.g. systemd Delegate=yes)",
			 ctl, own, strerror(-rc));
	return rc;
}

/* Fill r->base[] for v1: one directory per hierarchy we use. */
static int
v1_bases(struct cgroup_root *r, const char *pc, const char *mi, char *why,
	 size_t whylen)
{
	char own[C_NCTL][PATH_MAX], *cand;
	int c, i;

	for (c = 0; c < C_NCTL; c++) {
		int rc = own_dir(pc, mi, ctl_names[c], own[c], PATH_MAX);

		if (rc < 0 && c <= C_PIDS) {
			snprintf(why, whylen,
				 "no usable cgroup v1 \"%s\" hierarchy and no "
				 "cgroup v2 with memory and pids: sandbox "
				 "limits cannot be enforced",
				 ctl_names[c]);
			return rc;
		}
		if (rc < 0) {
			log_warnx("cgroup v1 \"%s\" is not mounted: %s",
				  ctl_names[c],
				  c == C_CPU ? "no CPU quota"
					     : "no CPU time figures");
			continue;
		}
		cand = xasprintf("%s/%s", own[c], r->tag);
		/* Co-mounted (cpu,cpuacct): one group serves both. */
		for (i = 0; i < r->nbase; i++)
			if (strcmp(r->base[i], cand) == 0)
				break;
		if (i < r->nbase) {
			r->serves[i] |= BIT(c);
			free(cand);
			continue;
		}
		r->base[r->nbase] = cand;
		r->serves[r->nbase++] = BIT(c);
	}
	return 0;
}

int
cgroup_init(const char *state_dir, struct cgroup_root **out, char *why,
	    size_t whylen)
{
	struct cgroup_root *r = xcalloc(1, sizeof(*r));
	char *pc = NULL, *mi = NULL, own[PATH_MAX];
	struct buf desc;
	unsigned int serves = 0;
	int rc, i, c;

	*out = NULL;
	why[0] = '\0';
	pthread_mutex_init(&r->grave_lock, NULL);
	buf_init(&desc, 8192);
	cgroup_make_tag(state_dir, r->tag, sizeof(r->tag));
	r->record = xasprintf("%s/cgroups", state_dir);
	rc = read_file_capped("/proc/self/cgroup", PROC_CAP, &pc, NULL);
	if (rc == 0)
		rc = read_file_capped("/proc/self/mountinfo", MOUNTINFO_CAP,
				      &mi, NULL);
	if (rc < 0) {
		snprintf(why, whylen, "reading /proc/self: %s", strerror(-rc));
		goto out;
	}
	collect_mounts(r, mi);
	if (v2_usable(pc, mi, own, sizeof(own), &serves)) {
		r->mode = CGROUP_V2;
		r->base[0] = xasprintf("%s/%s", own, r->tag);
		r->serves[0] = serves;
		r->nbase = 1;
	} else {
		r->mode = CGROUP_V1;
		rc = v1_bases(r, pc, mi, why, whylen);
		if (rc < 0)
			goto out;
	}
	/* A crashed predecessor's groups: those it recorded (its own cgroup
	 * may have been another), then any below our current bases. */
	clean_recorded(r);
	for (i = 0; i < r->nbase; i++) {
		clean_tree(r->base[i], 0, true, NULL);
		if (mkdir(r->base[i], 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			snprintf(why, whylen, "mkdir %s: %s", r->base[i],
				 strerror(-rc));
			goto out;
		}
	}
	rc = write_record(r);
	if (rc < 0) {
		snprintf(why, whylen, "writing %s: %s", r->record,
			 strerror(-rc));
		goto out;
	}
	if (r->mode == CGROUP_V2) {
		rc = v2_delegate(r, own, serves, why, whylen);
		if (rc < 0)
			goto out;
	}
	for (i = 0; i < r->nbase; i++) {
		const char *sep = i ? ", " : "";

		for (c = 0; c < C_NCTL; c++) {
			if (r->serves[i] & BIT(c)) {
				buf_printf(&desc, "%s%s", sep, ctl_names[c]);
				sep = "+";
			}
		}
		buf_printf(&desc, "=%s", r->base[i]);
	}
	log_info("cgroups: v%d; session groups under %s", (int)r->mode,
		 desc.data);
out:
	buf_fini(&desc);
	free(pc);
	free(mi);
	if (rc < 0) {
		for (i = 0; i < r->nbase; i++)
			if (r->base[i])
				rmdir(r->base[i]);
		cgroup_fini(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* ------------------------------------------------------------------ */
/* per-session groups                                                  */
/* ------------------------------------------------------------------ */

static void
group_free(struct cgroup *cg)
{
	int i;

	if (cg->oom_fd >= 0)
		close(cg->oom_fd);
	if (cg->oomctl_fd >= 0)
		close(cg->oomctl_fd);
	for (i = 0; i < cg->ndir; i++)
		free(cg->dir[i]);
	free(cg);
}

/* Try to rmdir every directory left; true when all are gone.  pids and
 * cpu go before memory, which may still be settling its charges. */
static bool
group_rmdir(struct cgroup *cg, int tries)
{
	bool all = true;
	int i;

	for (i = cg->ndir - 1; i >= 0; i--) {
		int rc;

		if (cg->dir[i] == NULL)
			continue;
		rc = rmdir_retry(cg->dir[i], tries);
		if (rc == 0) {
			free(cg->dir[i]);
			cg->dir[i] = NULL;
		} else {
			if (rc != -EBUSY)
				log_warnx("rmdir %s: %s", cg->dir[i],
					  strerror(-rc));
			all = false;
		}
	}
	return all;
}

/* Retry the groups that were busy; drop those past their deadline (or
 * all of them, at the end). */
static void
grave_retry(struct cgroup_root *r, bool last)
{
	struct cgroup **pp = &r->grave;

	while (*pp) {
		struct cgroup *cg = *pp;
		bool gone = group_rmdir(cg, last ? 100 : 1);

		if (!gone && !last && now_ms() < cg->give_up_ms) {
			pp = &cg->next;
			continue;
		}
		if (!gone)
			log_warnx("cgroup %s stays busy; leaving it",
				  cg->dir[0] ? cg->dir[0] : "?");
		*pp = cg->next;
		group_free(cg);
	}
}

static int
dir_index(const struct cgroup *cg, enum ctl c)
{
	int i;

	for (i = 0; i < cg->ndir; i++)
		if (cg->serves[i] & BIT(c))
			return i;
	return -1;
}

static int
set_limits(const struct cgroup *cg, const struct cgroup_limits *lim)
{
	char v[64];
	int m = dir_index(cg, C_MEMORY), p = dir_index(cg, C_PIDS);
	int c = dir_index(cg, C_CPU), rc;
	uint64_t quota = (uint64_t)lim->cpu_millis * CPU_PERIOD_US / 1000;

	/* The kernel refuses a cfs quota under 1 ms. */
	if (quota < 1000)
		quota = 1000;
	snprintf(v, sizeof(v), "%" PRIu64, lim->memory);
	if (cg->mode == CGROUP_V1) {
		rc = write_at(cg->dir[m], "memory.limit_in_bytes", v);
		/* memsw is memory plus swap; equal means no swap.  It is
		 * absent when the kernel does not account swap. */
		if (rc == 0) {
			rc = write_at(cg->dir[m], "memory.memsw.limit_in_bytes",
				      v);
			if (rc == -ENOENT)
				rc = 0;
		}
	} else {
		rc = write_at(cg->dir[m], "memory.max", v);
		if (rc == 0) {
			rc = write_at(cg->dir[m], "memory.swap.max", "0");
			if (rc == -ENOENT)
				rc = 0;
		}
	}
	if (rc < 0)
		return rc;
	snprintf(v, sizeof(v), "%" PRIu32, lim->pids);
	rc = write_at(cg->dir[p], "pids.max", v);
	if (rc < 0 || c < 0 || lim->cpu_millis == 0)
		return rc;
	if (cg->mode == CGROUP_V1) {
		snprintf(v, sizeof(v), "%d", CPU_PERIOD_US);
		rc = write_at(cg->dir[c], "cpu.cfs_period_us", v);
		snprintf(v, sizeof(v), "%" PRIu64, quota);
		if (rc == 0)
			rc = write_at(cg->dir[c], "cpu.cfs_quota_us", v);
	} else {
		snprintf(v, sizeof(v), "%" PRIu64 " %d", quota, CPU_PERIOD_US);
		rc = write_at(cg->dir[c], "cpu.max", v);
	}
	return rc;
}

/* Arrange to hear of OOM kills in the group's memory controller. */
static int
watch_oom(struct cgroup *cg)
{
	const char *mem = cg->dir[dir_index(cg, C_MEMORY)];
	char path[PATH_MAX], text[64];
	char buf[512];
	int rc;

	if (cg->mode == CGROUP_V2) {
		snprintf(path, sizeof(path), "%s/memory.events", mem);
		cg->oom_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (cg->oom_fd < 0)
			return -errno;
		/* Reading arms the change notification. */
		rc = pread_text(cg->oom_fd, buf, sizeof(buf));
		if (rc == 0 &&
		    cgroup_counter(buf, "oom_kill", &cg->v2_kills) < 0)
			cg->v2_kills = 0;
		return rc;
	}
	snprintf(path, sizeof(path), "%s/memory.oom_control", mem);
	cg->oomctl_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (cg->oomctl_fd < 0)
		return -errno;
	cg->oom_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cg->oom_fd < 0)
		return -errno;
	snprintf(text, sizeof(text), "%d %d", cg->oom_fd, cg->oomctl_fd);
	return write_at(mem, "cgroup.event_control", text);
}

int
cgroup_create(struct cgroup_root *r, const char *name,
	      const struct cgroup_limits *lim, struct cgroup **out)
{
	struct cgroup *cg = xcalloc(1, sizeof(*cg));
	const char *p;
	int i, rc = 0;

	*out = NULL;
	cg->mode = r->mode;
	cg->oom_fd = cg->oomctl_fd = -1;
	cg->memory = lim->memory;
	/* The name becomes a path component: only a session id will do. */
	for (p = name; *p; p++)
		ENSURE((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
	ENSURE(p > name && p - name < 64);
	pthread_mutex_lock(&r->grave_lock);
	grave_retry(r, false);
	pthread_mutex_unlock(&r->grave_lock);
	for (i = 0; i < r->nbase; i++) {
		cg->dir[i] = xasprintf("%s/%s", r->base[i], name);
		cg->serves[i] = r->serves[i];
		cg->ndir = i + 1;
		if (mkdir(cg->dir[i], 0755) < 0) {
			rc = -errno;
			free(cg->dir[i]);
			cg->dir[i] = NULL;
			break;
		}
	}
	if (rc == 0)
		rc = set_limits(cg, lim);
	if (rc == 0)
		rc = watch_oom(cg);
	if (rc < 0) {
		log_warnx("cgroup %s/%s: %s", r->base[0], name, strerror(-rc));
		if (cg->oom_fd >= 0)
			close(cg->oom_fd);
		if (cg->oomctl_fd >= 0)
			close(cg->oomctl_fd);
		cg->oom_fd = cg->oomctl_fd = -1;
		group_rmdir(cg, RMDIR_TRIES);
		group_free(cg);
		return rc;
	}
	*out = cg;
	return 0;
}

int
cgroup_attach_fds(const struct cgroup *cg, int *fds, size_t max)
{
	const char *file = cg->mode == CGROUP_V1 ? "tasks" : "cgroup.procs";
	char path[PATH_MAX];
	int i, n = 0, rc = 0;

	for (i = 0; i < cg->ndir && rc == 0; i++) {
		if ((size_t)n == max) {
			rc = -E2BIG;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", cg->dir[i], file);
		fds[n] = open(path, O_WRONLY | O_CLOEXEC);
		if (fds[n] < 0)
			rc = -errno;
		else
			n++;
	}
	if (rc < 0) {
		while (n > 0)
			close(fds[--n]);
		return rc;
	}
	return n;
}

int
cgroup_oom_fd(const struct cgroup *cg, uint32_t *events)
{
	*events = cg->mode == CGROUP_V1 ? EPOLLIN : EPOLLPRI;
	return cg->oom_fd;
}

bool
cgroup_oom_drain(struct cgroup *cg)
{
	char buf[512];
	uint64_t v = 0;

	if (cg->oom_fd < 0)
		return false;
	if (cg->mode == CGROUP_V1) {
		ssize_t n = read(cg->oom_fd, &v, sizeof(v));

		return n == (ssize_t)sizeof(v) && v > 0;
	}
	if (pread_text(cg->oom_fd, buf, sizeof(buf)) < 0 ||
	    cgroup_counter(buf, "oom_kill", &v) < 0 || v <= cg->v2_kills)
		return false;
	cg->v2_kills = v;
	return true;
}

int
cgroup_oom_kills(const struct cgroup *cg, uint64_t *n)
{
	char buf[512];
	int fd = cg->mode == CGROUP_V1 ? cg->oomctl_fd : cg->oom_fd;
	int rc;

	*n = 0;
	if (fd < 0)
		return -EBADF;
	rc = pread_text(fd, buf, sizeof(buf));
	if (rc == 0)
		rc = cgroup_counter(buf, "oom_kill", n);
	return rc;
}

void
cgroup_stats(const struct cgroup *cg, struct cgroup_stats *st)
{
	int m = dir_index(cg, C_MEMORY), a = dir_index(cg, C_CPUACCT);
	uint64_t ns = 0;

	memset(st, 0, sizeof(*st));
	cgroup_oom_kills(cg, &st->oom_kills);
	if (m >= 0 && cg->dir[m] == NULL)
		m = -1;
	if (cg->mode == CGROUP_V1) {
		if (m >= 0) {
			read_u64_at(cg->dir[m], "memory.usage_in_bytes",
				    &st->mem_current);
			read_u64_at(cg->dir[m], "memory.max_usage_in_bytes",
				    &st->mem_peak);
		}
		if (a >= 0 && cg->dir[a] &&
		    read_u64_at(cg->dir[a], "cpuacct.usage", &ns) == 0)
			st->cpu_usec = ns / 1000;
		return;
	}
	if (m >= 0) {
		read_u64_at(cg->dir[m], "memory.current", &st->mem_current);
		read_u64_at(cg->dir[m], "memory.peak", &st->mem_peak);
		read_counter_at(cg->dir[m], "cpu.stat", "usage_usec",
				&st->cpu_usec);
	}
}

uint64_t
cgroup_memory_limit(const struct cgroup *cg)
{
	return cg->memory;
}

void
cgroup_remove(struct cgroup_root *r, struct cgroup *cg)
{
	if (cg == NULL)
		return;
	/* Closing the eventfd unregisters the v1 notification. */
	if (cg->oom_fd >= 0)
		close(cg->oom_fd);
	if (cg->oomctl_fd >= 0)
		close(cg->oomctl_fd);
	cg->oom_fd = cg->oomctl_fd = -1;
	if (group_rmdir(cg, RMDIR_TRIES)) {
		group_free(cg);
	} else {
		/* Pid 1 is reaped, so its tasks are gone; the kernel may
		 * still be releasing them.  Retry later, bounded. */
		cg->give_up_ms = now_ms() + GRAVE_MS;
		pthread_mutex_lock(&r->grave_lock);
		cg->next = r->grave;
		r->grave = cg;
		pthread_mutex_unlock(&r->grave_lock);
	}
	pthread_mutex_lock(&r->grave_lock);
	grave_retry(r, false);
	pthread_mutex_unlock(&r->grave_lock);
}

void
cgroup_abandon(const struct cgroup_root *r)
{
	int i;

	for (i = 0; i < r->nbase; i++) {
		/* v2: the dead server's leaf holds the caller; it stays. */
		if (r->mode == CGROUP_V2)
			clean_tree(r->base[i], 0, true, "server");
		else
			clean_tree(r->base[i], 0, false, NULL);
	}
	if (r->mode == CGROUP_V1)
		unlink(r->record);
}

enum cgroup_mode
cgroup_mode(const struct cgroup_root *r)
{
	return r->mode;
}

void
cgroup_fini(struct cgroup_root *r)
{
	bool left = false;
	int i;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->grave_lock);
	grave_retry(r, true);
	pthread_mutex_unlock(&r->grave_lock);
	for (i = 0; i < r->nbase; i++) {
		int rc = 0;

		/* v2: we live in <base>/server and cannot leave (our old
		 * cgroup now has controllers enabled); the base stays and
		 * the next run on this state directory reuses it. */
		if (r->mode == CGROUP_V1)
			rc = rmdir_retry(r->base[i], 100);
		if (rc < 0) {
			log_warnx("rmdir %s: %s", r->base[i], strerror(-rc));
			left = true;
		}
		free(r->base[i]);
	}
	/* The record stays while something is left for a successor. */
	if (r->mode == CGROUP_V1 && r->nbase > 0 && !left)
		unlink(r->record);
	for (i = 0; i < r->nmnt; i++)
		free(r->mnt[i]);
	free(r->record);
	pthread_mutex_destroy(&r->grave_lock);
	free(r);
}
