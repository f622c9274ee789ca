// SPDX-License-Identifier: MIT
/*
 * landlock.c: the sandbox's Landlock ruleset (platform-notes §8), through
 * the raw syscalls; applied by the launcher child after pivot_root and
 * NO_NEW_PRIVS, before seccomp.
 *
 * With read-only binds, a read-only root and an empty network namespace
 * most of this is defence in depth.  What it adds: no execve from /tmp,
 * /dev/shm or /mnt/data, no device ioctls, no TCP bind or connect (for
 * when the sandbox gets a network), and no signals or abstract-socket
 * connections to processes outside the sandbox.
 *
 * The constants are spelled out here: Debian 12's linux-libc-dev (6.1)
 * stops at ABI 2, and the kernel we run speaks ABI 7.  Rights newer than
 * the running ABI are dropped (the kernel rejects unknown bits), so the
 * ruleset degrades instead of failing on older kernels.
 */
#define _GNU_SOURCE
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* Filesystem rights, by the ABI that introduced them. */
#define FS_EXECUTE (1ULL << 0)
#define FS_WRITE_FILE (1ULL << 1)
#define FS_READ_FILE (1ULL << 2)
#define FS_READ_DIR (1ULL << 3)
#define FS_MAKE_CHAR (1ULL << 6)
#define FS_MAKE_BLOCK (1ULL << 11)
#define FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define FS_REFER (1ULL << 13)	   /* ABI 2 */
#define FS_TRUNCATE (1ULL << 14)   /* ABI 3 */
#define FS_IOCTL_DEV (1ULL << 15)  /* ABI 5 */
/* TCP rights (ABI 4) and scopes (ABI 6). */
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

#define CREATE_RULESET_VERSION (1U << 0)
#define RULE_PATH_BENEATH 1

struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* Read, and list directories. */
#define R (FS_READ_FILE | FS_READ_DIR)
/* Writable scratch: everything but execute, device ioctls and device
 * nodes (mknod is EPERM anyway; this also covers a future devpts). */
#define RW_ALL (~(FS_EXECUTE | FS_IOCTL_DEV | FS_MAKE_CHAR | FS_MAKE_BLOCK))
/* Devices: read and write; truncate because "> /dev/null" opens with
 * O_TRUNC.  No ioctl_dev. */
#define DEV (FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE)

static const struct {
	const char *path;
	uint64_t allowed;
} landlock_rules[] = {
	/* Read the whole tree (it is read-only apart from the ones below). */
	{"/", R},
	/* Programs and shared libraries run only from /usr: granting
	 * execute higher up could not be taken back below. */
	{"/usr", R | FS_EXECUTE},
	{"/tmp", RW_ALL},
	{"/dev/shm", RW_ALL},
	{"/mnt/data", RW_ALL},
	{"/dev/null", DEV},
	{"/dev/zero", DEV},
	{"/dev/full", DEV},
	{"/dev/random", DEV},
	{"/dev/urandom", DEV},
	{"/dev/tty", DEV},
};

/* The filesystem rights the running ABI knows. */
static uint64_t
fs_rights(int abi)
{
	uint64_t fs = FS_ABI1;

	if (abi >= 2)
		fs |= FS_REFER;
	if (abi >= 3)
		fs |= FS_TRUNCATE;
	if (abi >= 5)
		fs |= FS_IOCTL_DEV;
	return fs;
}

int
landlock_install(struct sandbox_err *e)
{
	struct ruleset_attr attr = {0};
	int abi, ruleset = -1, fd = -1, rc = 0;
	size_t i;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
			   CREATE_RULESET_VERSION);
	if (abi < 0) {
		/* Not built in (ENOSYS) or not enabled at boot (EOPNOTSUPP):
		 * the other layers still hold. */
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			goto out;
		rc = sandbox_errf(e, -errno, "landlock ABI version");
		goto out;
	}
	attr.handled_access_fs = fs_rights(abi);
	if (abi >= 4)
		attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
	/* The full struct is fine on older kernels: the fields they do not
	 * know are zero, which is what the kernel checks. */
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr,
			       sizeof(attr), 0);
	if (ruleset < 0) {
		rc = sandbox_errf(e, -errno, "landlock_create_ruleset (ABI %d)",
				  abi);
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(landlock_rules); i++) {
		struct path_beneath_attr pb;

		fd = open(landlock_rules[i].path, O_PATH | O_CLOEXEC);
		if (fd < 0) {
			rc = sandbox_errf(e, -errno, "landlock: open %s",
					  landlock_rules[i].path);
			goto out;
		}
		pb.allowed_access =
			landlock_rules[i].allowed & attr.handled_access_fs;
		pb.parent_fd = fd;
		if (syscall(SYS_landlock_add_rule, ruleset, RULE_PATH_BENEATH,
			    &pb, 0) < 0) {
			rc = sandbox_errf(e, -errno, "landlock rule for %s",
					  landlock_rules[i].path);
			goto out;
		}
		close(fd);
		fd = -1;
	}
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		rc = sandbox_errf(e, -errno, "landlock_restrict_self");
out:
	if (fd >= 0)
		close(fd);
	if (ruleset >= 0)
		close(ruleset);
	return rc;
}
