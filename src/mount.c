// SPDX-License-Identifier: MIT
/*
 * mount.c: the sandbox's filesystem as one ordered table of ops, run top
 * to bottom by mount_setup() (bubblewrap's SetupOp list, nsjail's mounts).
 * Used by the launcher's child while it is inside-root of its new user and
 * mount namespaces, after the uid maps and before the privilege drop.
 *
 * The new root is a 1 MiB tmpfs mounted over /tmp of the new mount
 * namespace (any directory works once "/" is private, and /tmp always
 * exists); every later path in the table is relative to it, because we
 * chdir into it first.  pivot_root(".", ".") then makes it "/" and the
 * host tree is detached.  See docs/reference platform-notes §2 for what was
 * measured on the target machine.
 */
#define _GNU_SOURCE
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

enum mount_op_type {
	MOP_PRIVATE,	/* make dst and everything below it private */
	MOP_ROOT,	/* tmpfs (options src) at dst, then chdir into it */
	MOP_DIR,	/* mkdir -p dst */
	MOP_SYMLINK,	/* symlink at dst pointing to src */
	MOP_FILE,	/* new file dst holding the string src, mode 0644 */
	MOP_BIND_RO,	/* bind host path src at dst, then read-only */
	MOP_BIND_DEV,	/* bind host device src onto an empty file dst */
	MOP_TMPFS,	/* tmpfs at dst with options src */
	MOP_PROC,	/* a new proc for our pid namespace at dst */
	MOP_ATTACH,	/* move the detached tree .fd to dst */
	MOP_REMOUNT_RO, /* make the mount at dst read-only */
	MOP_PIVOT,	/* pivot_root into the cwd and detach the old root */
};

struct mount_op {
	enum mount_op_type type;
	const char *src;
	const char *dst;
	unsigned long flags; /* MS_* added to the mount or remount */
	int fd;		     /* MOP_ATTACH: tree from open_tree() */
	bool optional;	     /* MOP_BIND_RO: skip if src does not exist */
};

static const char *const mount_op_names[] = {
	[MOP_PRIVATE] = "make private",
	[MOP_ROOT] = "mount root tmpfs",
	[MOP_DIR] = "mkdir",
	[MOP_SYMLINK] = "symlink",
	[MOP_FILE] = "write file",
	[MOP_BIND_RO] = "bind read-only",
	[MOP_BIND_DEV] = "bind device",
	[MOP_TMPFS] = "mount tmpfs",
	[MOP_PROC] = "mount proc",
	[MOP_ATTACH] = "attach tree",
	[MOP_REMOUNT_RO] = "remount read-only",
	[MOP_PIVOT] = "pivot_root",
};

/* ---- helpers: each returns 0 or -errno ---- */

/* mkdir -p with mode 0755; an existing directory is fine. */
static int
mkdir_p(const char *path)
{
	char *p = xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
out:
	free(p);
	return rc;
}

/* Create an empty regular file at path (a mountpoint for a file bind). */
static int
touch(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
				    O_NOFOLLOW, mode);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int
write_new_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
				    O_NOFOLLOW, 0644);
	int rc;

	if (fd < 0)
		return -errno;
	rc = write_all(fd, text, strlen(text));
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/*
 * The MS_* flags a remount of path must keep.  Flags inherited from a more
 * privileged mount namespace are locked: a bind remount that omits one of
 * them (nosuid, nodev, noexec, an atime mode) fails with EPERM, so OR in
 * whatever the mount already has (bubblewrap does the same).
 */
static int
locked_flags(const char *path, unsigned long *out)
{
	static const struct {
		unsigned long st, ms;
	} map[] = {
		{ST_NOSUID, MS_NOSUID},	      {ST_NODEV, MS_NODEV},
		{ST_NOEXEC, MS_NOEXEC},	      {ST_NOATIME, MS_NOATIME},
		{ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
		{ST_SYNCHRONOUS, MS_SYNCHRONOUS},
	};
	struct statvfs sv;
	size_t i;

	*out = 0;
	if (statvfs(path, &sv) < 0)
		return -errno;
	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (sv.f_flag & map[i].st)
			*out |= map[i].ms;
	return 0;
}

static int
remount_ro(const char *path, unsigned long extra)
{
	unsigned long keep;
	int rc = locked_flags(path, &keep);

	if (rc < 0)
		return rc;
	if (mount(NULL, path, NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | extra | keep, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * Bind src at dst and make it read-only.  Not MS_REC: a remount covers
 * only the top mount, so a submount would stay writable.  Without MS_REC
 * the kernel refuses (EINVAL) a source with locked submounts, which fails
 * loudly instead.  Returns 1 when an optional src is missing.
 */
static int
bind_ro(const struct mount_op *op)
{
	struct stat st;
	int rc;

	if (stat(op->src, &st) < 0) {
		if (errno == ENOENT && op->optional)
			return 1;
		return -errno;
	}
	rc = S_ISDIR(st.st_mode) ? mkdir_p(op->dst) : touch(op->dst, 0644);
	if (rc < 0)
		return rc;
	if (mount(op->src, op->dst, NULL, MS_BIND, NULL) < 0)
		return -errno;
	return remount_ro(op->dst, op->flags);
}

static int
mount_op_run(const struct mount_op *op)
{
	int rc;

	switch (op->type) {
	case MOP_PRIVATE:
		if (mount(NULL, op->dst, NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return -errno;
		return 0;
	case MOP_ROOT:
		if (mount("tmpfs", op->dst, "tmpfs", op->flags, op->src) < 0 ||
		    chdir(op->dst) < 0)
			return -errno;
		return 0;
	case MOP_DIR:
		return mkdir_p(op->dst);
	case MOP_SYMLINK:
		return symlink(op->src, op->dst) < 0 ? -errno : 0;
	case MOP_FILE:
		return write_new_file(op->dst, op->src);
	case MOP_BIND_RO:
		return bind_ro(op);
	case MOP_BIND_DEV:
		rc = touch(op->dst, 0666);
		if (rc == 0 && mount(op->src, op->dst, NULL, MS_BIND, NULL) < 0)
			rc = -errno;
		return rc;
	case MOP_TMPFS:
		rc = mkdir_p(op->dst);
		if (rc == 0 &&
		    mount("tmpfs", op->dst, "tmpfs", op->flags, op->src) < 0)
			rc = -errno;
		return rc;
	case MOP_PROC:
		rc = mkdir_p(op->dst);
		if (rc == 0 &&
		    mount("proc", op->dst, "proc", op->flags, NULL) < 0)
			rc = -errno;
		return rc;
	case MOP_ATTACH:
		rc = mkdir_p(op->dst);
		if (rc == 0 && move_mount(op->fd, "", AT_FDCWD, op->dst,
					  MOVE_MOUNT_F_EMPTY_PATH) < 0)
			rc = -errno;
		return rc;
	case MOP_REMOUNT_RO:
		return remount_ro(op->dst, op->flags);
	case MOP_PIVOT:
		/* The old root lands on top of the new one; detach it. */
		if (syscall(SYS_pivot_root, ".", ".") < 0 ||
		    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
			return -errno;
		return 0;
	}
	return -EINVAL;
}

int
mount_setup(const struct mount_cfg *cfg, struct sandbox_err *e)
{
	/* A tmpfs or proc nobody may use for privileges or devices. */
	const unsigned long safe = MS_NOSUID | MS_NODEV;
	char *hosts = xasprintf("127.0.0.1\tlocalhost\n"
				"::1\tlocalhost ip6-localhost ip6-loopback\n"
				"127.0.1.1\t%s\n",
				cfg->hostname);
	char *hostname = xasprintf("%s\n", cfg->hostname);
	char *tmp_opts = xasprintf("size=%llu,mode=1777,nr_inodes=16384",
				   (unsigned long long)cfg->tmp_size);
	const struct mount_op plan[] = {
		/* Nothing we mount may propagate back to the host (and
		 * pivot_root refuses a shared old root). */
		{MOP_PRIVATE, NULL, "/", 0, -1, false},
		/* 1 MiB is plenty for mountpoints and /etc; nosuid,nodev
		 * because nothing on it is a program or a device. */
		{MOP_ROOT, "size=1m,mode=0755", "/tmp", safe, -1, false},

		/* Merged /usr, read-only; nosuid,nodev: no setuid programs
		 * (NNP would ignore them anyway) and no device nodes. */
		{MOP_BIND_RO, "/usr", "usr", safe, -1, false},
		{MOP_SYMLINK, "usr/bin", "bin", 0, -1, false},
		{MOP_SYMLINK, "usr/sbin", "sbin", 0, -1, false},
		{MOP_SYMLINK, "usr/lib", "lib", 0, -1, false},
		{MOP_SYMLINK, "usr/lib64", "lib64", 0, -1, false},
		{MOP_SYMLINK, "usr/lib32", "lib32", 0, -1, false},

		/* A generated /etc: only the sandbox's own users, no host
		 * accounts, no resolver beyond /etc/hosts. */
		{MOP_DIR, NULL, "etc", 0, -1, false},
		{MOP_FILE,
		 "root:x:0:0:root:/root:/usr/sbin/nologin\n"
		 "sandbox:x:1000:1000::/tmp:/bin/bash\n"
		 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		 "etc/passwd", 0, -1, false},
		{MOP_FILE, "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n",
		 "etc/group", 0, -1, false},
		{MOP_FILE, hosts, "etc/hosts", 0, -1, false},
		{MOP_FILE, hostname, "etc/hostname", 0, -1, false},
		{MOP_FILE,
		 "passwd: files\ngroup: files\nshadow: files\n"
		 "hosts: files\nnetworks: files\nprotocols: files\n"
		 "services: files\n",
		 "etc/nsswitch.conf", 0, -1, false},
		{MOP_SYMLINK, "/usr/share/zoneinfo/UTC", "etc/localtime", 0, -1,
		 false},
		/* Host config the Python stack reads; nosuid,nodev,noexec:
		 * data only.  Each is skipped if the host lacks it. */
		{MOP_BIND_RO, "/etc/ssl/certs", "etc/ssl/certs",
		 safe | MS_NOEXEC, -1, true},
		{MOP_BIND_RO, "/etc/fonts", "etc/fonts", safe | MS_NOEXEC, -1,
		 true},
		{MOP_BIND_RO, "/etc/matplotlibrc", "etc/matplotlibrc",
		 safe | MS_NOEXEC, -1, true},
		{MOP_BIND_RO, "/etc/python3", "etc/python3", safe | MS_NOEXEC,
		 -1, true},
		{MOP_BIND_RO, "/etc/python3.11", "etc/python3.11",
		 safe | MS_NOEXEC, -1, true},
		/* numpy's libblas/liblapack are symlinks through it (notes
		 * §2: without it "import numpy" fails). */
		{MOP_BIND_RO, "/etc/alternatives", "etc/alternatives",
		 safe | MS_NOEXEC, -1, true},
		{MOP_BIND_RO, "/etc/ld.so.cache", "etc/ld.so.cache",
		 safe | MS_NOEXEC, -1, true},
		{MOP_BIND_RO, "/etc/services", "etc/services", safe | MS_NOEXEC,
		 -1, true},
		{MOP_BIND_RO, "/etc/protocols", "etc/protocols",
		 safe | MS_NOEXEC, -1, true},

		/* Our pid namespace's proc: only our processes.  Nothing in
		 * it is a program, setuid or a device. */
		{MOP_PROC, NULL, "proc", safe | MS_NOEXEC, -1, false},

		/* /dev: a tmpfs with six host devices bound onto empty
		 * files (mknod is EPERM in a user namespace).  nodev does
		 * not affect the binds, which are their own mounts. */
		{MOP_TMPFS, "size=64k,mode=0755", "dev", safe | MS_NOEXEC, -1,
		 false},
		{MOP_BIND_DEV, "/dev/null", "dev/null", 0, -1, false},
		{MOP_BIND_DEV, "/dev/zero", "dev/zero", 0, -1, false},
		{MOP_BIND_DEV, "/dev/full", "dev/full", 0, -1, false},
		{MOP_BIND_DEV, "/dev/random", "dev/random", 0, -1, false},
		{MOP_BIND_DEV, "/dev/urandom", "dev/urandom", 0, -1, false},
		{MOP_BIND_DEV, "/dev/tty", "dev/tty", 0, -1, false},
		{MOP_SYMLINK, "/proc/self/fd", "dev/fd", 0, -1, false},
		{MOP_SYMLINK, "/proc/self/fd/0", "dev/stdin", 0, -1, false},
		{MOP_SYMLINK, "/proc/self/fd/1", "dev/stdout", 0, -1, false},
		{MOP_SYMLINK, "/proc/self/fd/2", "dev/stderr", 0, -1, false},
		{MOP_SYMLINK, "pts/ptmx", "dev/ptmx", 0, -1, false},
		{MOP_DIR, NULL, "dev/shm", 0, -1, false},
		/* Nothing may add files to /dev later. */
		{MOP_REMOUNT_RO, NULL, "dev", safe | MS_NOEXEC, -1, false},
		/* POSIX shm and multiprocessing locks; 64 MiB, data only. */
		{MOP_TMPFS, "size=64m,mode=1777", "dev/shm",
		 safe | MS_NOEXEC, -1, false},

		/* Scratch space; exec from it is refused by Landlock. */
		{MOP_TMPFS, tmp_opts, "tmp", safe, -1, false},

		/* The session's files.  The launcher already set nosuid,
		 * nodev,noexec on the tree (host side, recursive). */
		{MOP_ATTACH, NULL, "mnt/data", 0, cfg->data_tree, false},
		/* Our runtime (kernel.py), read-only from the launcher. */
		{MOP_ATTACH, NULL, "opt/sandpool", 0, cfg->runtime_tree, false},

		{MOP_PIVOT, NULL, ".", 0, -1, false},
		/* The root tmpfs is done: mountpoints and /etc stay as
		 * they are. */
		{MOP_REMOUNT_RO, NULL, "/", safe, -1, false},
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < ARRAY_SIZE(plan); i++) {
		rc = mount_op_run(&plan[i]);
		if (rc < 0) {
			bool ro = plan[i].type == MOP_BIND_RO;

			sandbox_errf(e, rc, "mount plan: %s %s%s%s",
				     mount_op_names[plan[i].type], plan[i].dst,
				     ro ? " from " : "", ro ? plan[i].src : "");
			goto out;
		}
	}
	rc = 0;
out:
	free(hosts);
	free(hostname);
	free(tmp_opts);
	return rc;
}
