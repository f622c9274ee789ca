/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h: one cgroup per session sandbox, for its memory (swap 0), pids
 * and cpu limits, OOM detection and usage figures.
 *
 * Every group lives in a subtree of this server instance's own, under the
 * server's own cgroup: <own>/sandpool-<tag>/<sid>, where <tag> is a hash
 * of the state directory's real path.  A server restarted on the same
 * state directory therefore finds (and removes) what a crashed predecessor
 * left, and servers on other state directories are never touched.  cgroup
 * v2 is used when its memory and pids controllers are available, else v1
 * (memory, pids, cpu and, for usage figures, cpuacct, each its own
 * hierarchy).  The server calls these from its loop thread (and at start
 * and stop) and its starter threads; cgroup_create() and cgroup_remove()
 * may run in several threads at once, the rest is per group.
 */
#ifndef SANDPOOL_CGROUP_H
#define SANDPOOL_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cgroup_mode { CGROUP_V1 = 1, CGROUP_V2 = 2 };

#define CGROUP_MAX_DIRS 4 /* v1: memory, pids, cpu, cpuacct */

struct cgroup_root;
struct cgroup;

struct cgroup_limits {
	uint64_t memory;     /* bytes; swap is held at 0 */
	uint32_t pids;       /* tasks (threads count) */
	uint32_t cpu_millis; /* thousandths of a core; 0 = no quota */
};

struct cgroup_stats {
	uint64_t mem_current; /* bytes charged now (files in tmpfs count) */
	uint64_t mem_peak;    /* bytes; highest charge since creation */
	uint64_t cpu_usec;    /* CPU time of every task ever in the group */
	uint64_t oom_kills;   /* tasks the OOM killer killed here */
};

/*
 * Detect the cgroup version, remove whatever a crashed predecessor on the
 * same state directory left (killing its sandboxes), create this
 * instance's subtree and record its paths in <state_dir>/cgroups for a
 * successor.  state_dir must be a real path.  Logs what it found.  Returns
 * 0 and the root in *out, or -errno with a reason in why (startup fails).
 */
int cgroup_init(const char *state_dir, struct cgroup_root **out, char *why,
		size_t whylen);

/* Remove the instance subtree (every session group must be gone) and the
 * record file, and free r.  Retries groups that were still busy for up to
 * about a second.  NULL is a no-op. */
void cgroup_fini(struct cgroup_root *r);

enum cgroup_mode cgroup_mode(const struct cgroup_root *r);

/*
 * For the reaper (priv.c), after the server died without cgroup_fini():
 * SIGKILL every task left in the instance subtree, wait for it to empty
 * (a few seconds at most) and remove it and the record file.  Blocks.
 */
void cgroup_abandon(const struct cgroup_root *r);

/*
 * Create the group called name (a session id: [0-9a-f]+) with lim, and
 * register its OOM notification.  Returns 0 and the group in *out (free it
 * with cgroup_remove()), or -errno; on failure nothing is left behind.
 * Costs about 0.1 ms: call it while a pool fills, not for a request.
 */
int cgroup_create(struct cgroup_root *r, const char *name,
		  const struct cgroup_limits *lim, struct cgroup **out);

/*
 * Open the group's attach files ("tasks" in v1, "cgroup.procs" in v2),
 * O_WRONLY|O_CLOEXEC, into fds[0..n-1]; the sandbox child writes "0" to
 * each while still single-threaded (platform-notes §5).  Returns n, or
 * -errno with nothing left open.  The caller closes them.
 */
int cgroup_attach_fds(const struct cgroup *cg, int *fds, size_t max);

/*
 * The fd to watch for OOM events and the epoll events to ask for: v1 an
 * eventfd registered on memory.oom_control (EPOLLIN), v2 memory.events
 * (EPOLLPRI, a kernfs change notification).  -1 when there is none.
 */
int cgroup_oom_fd(const struct cgroup *cg, uint32_t *events);

/* After the OOM fd fired: consume the event (so that it can fire again).
 * Returns true if it had fired.  Never blocks. */
bool cgroup_oom_drain(struct cgroup *cg);

/* The group's OOM kill counter ("oom_kill" in memory.oom_control or
 * memory.events).  Returns 0 or -errno. */
int cgroup_oom_kills(const struct cgroup *cg, uint64_t *n);

/* Usage figures for logs and audit.  Fields it cannot read are 0. */
void cgroup_stats(const struct cgroup *cg, struct cgroup_stats *st);

/* The memory limit the group was created with, in bytes. */
uint64_t cgroup_memory_limit(const struct cgroup *cg);

/*
 * Remove the group and free cg: call it once the sandbox's pid 1 has been
 * reaped (its tasks are gone by then).  A group that is still busy
 * (EBUSY) is kept on r and retried by later calls and by cgroup_fini().
 * NULL is a no-op.
 */
void cgroup_remove(struct cgroup_root *r, struct cgroup *cg);

/*
 * The parsers behind cgroup_init(), exported for tests/unit/test_cgroup.c.
 * cgroup_self_path: our cgroup's path for v1 controller ctl, or v2 when
 * ctl is "", from /proc/self/cgroup text.  cgroup_find_mount: the mount
 * point and hierarchy root of that controller's mount, from
 * /proc/self/mountinfo text.  cgroup_make_tag: "sandpool-" and 12 hex
 * digits of a hash of the state directory.  cgroup_counter: the number
 * after "key " on a line of a flat-keyed file (memory.events, ...).
 * Each returns 0 or -errno (-ENOENT when absent).
 */
int cgroup_self_path(const char *proc_cgroup, const char *ctl, char *out,
		     size_t outlen);
int cgroup_find_mount(const char *mountinfo, const char *ctl, char *mnt,
		      size_t mntlen, char *root, size_t rootlen);
void cgroup_make_tag(const char *state_dir, char *out, size_t outlen);
int cgroup_counter(const char *text, const char *key, uint64_t *out);

#endif
