// SPDX-License-Identifier: MIT
/*
 * seccomp.c: the sandbox's syscall policy, one table row per rule, each
 * with its reason, compiled by libseccomp and loaded as the last step of
 * the launcher child's setup (after NO_NEW_PRIVS and Landlock).
 *
 * The policy is default-allow with a deny list: the sandbox user has no
 * capabilities, so most of these calls would fail anyway; the filter takes
 * kernel attack surface away and closes what capabilities alone do not
 * (nested user namespaces, TIOCSTI, io_uring).  Denials return EPERM so
 * that programs see an ordinary error, except clone3, which must return
 * ENOSYS (platform-notes §9).
 *
 * Architectures: the filter holds the native ABI only, and a syscall made
 * through any other ABI (i386 via int 0x80, x32) kills the process.  The
 * deny list is written in native syscall numbers, so another ABI would be
 * a way around it, and nothing we run uses one.  libseccomp's x86_64
 * filter treats x32 numbers (bit 30 set) as a foreign ABI too.
 */
#define _GNU_SOURCE
#include "seccomp_policy.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* All namespace flags clone() takes (CLONE_NEWTIME overlaps CSIGNAL). */
#define CLONE_NEW_ANY                                                         \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |        \
	 CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* The kernel reads these arguments as int: compare the low 32 bits only. */
#define LOW32 0xffffffffULL
/* socket(2) type argument: the type is in the low 4 bits (SOCK_TYPE_MASK). */
#define SOCK_TYPE_MASK 0xfULL
/* personality(2): every flag bit, ADDR_NO_RANDOMIZE (0x40000) and up. */
#define PER_FLAGS_MIN 0x40000ULL

enum seccomp_match {
	ANY,	/* every call */
	EQ32,	/* (arg & LOW32) == val */
	MASKED, /* (arg & mask) == val */
	ANYBIT, /* (arg & bit) == bit for any bit in mask: one rule per bit */
	GE,	/* arg >= val */
};

struct seccomp_cmp {
	enum seccomp_match match;
	unsigned int arg; /* argument index for match != ANY */
	uint64_t mask;
	uint64_t val;
};

struct seccomp_rule {
	int nr;			/* SCMP_SYS(name) */
	int err;		/* errno the call returns */
	struct seccomp_cmp cmp;	 /* the rule matches if cmp ... */
	struct seccomp_cmp cmp2; /* ... and cmp2 (ANY: no test) hold */
};

#define NO_AND {ANY, 0, 0, 0}
#define DENY(name) {SCMP_SYS(name), EPERM, NO_AND, NO_AND}

static const struct seccomp_rule seccomp_policy[] = {
	/* The mount tree is final once we pivot; no caps are left to
	 * change it, this takes the code paths away. */
	DENY(mount),
	DENY(umount2),
	DENY(pivot_root),
	/* The new mount API (5.2+) reaches the same code as mount(2). */
	DENY(open_tree),
	DENY(move_mount),
	DENY(fsopen),
	DENY(fsconfig),
	DENY(fsmount),
	DENY(fspick),
	DENY(mount_setattr),
	/* A nested user namespace makes the user root again, with every
	 * namespaced kernel interface that brings (most container CVEs). */
	DENY(unshare),
	DENY(setns),
	{SCMP_SYS(clone), EPERM, {ANYBIT, 0, CLONE_NEW_ANY, 0}, NO_AND},
	/* clone3 passes its flags in memory, which seccomp cannot read:
	 * deny it whole, with ENOSYS so that glibc's pthread_create and
	 * fork fall back to clone(), whose flags are checked above. */
	{SCMP_SYS(clone3), ENOSYS, {ANY, 0, 0, 0}, NO_AND},
	/* Debugging other processes; also an old way around seccomp. */
	DENY(ptrace),
	/* Kernel programmability and profiling: large attack surface. */
	DENY(bpf),
	DENY(perf_event_open),
	/* Stalls kernel page faults on demand: an exploit primitive. */
	DENY(userfaultfd),
	/* The kernel keyring is not namespaced. */
	DENY(keyctl),
	DENY(add_key),
	DENY(request_key),
	/* io_uring bypasses seccomp for the operations it runs, and has a
	 * long CVE list. */
	DENY(io_uring_setup),
	DENY(io_uring_enter),
	DENY(io_uring_register),
	/* Replacing or extending the running kernel. */
	DENY(kexec_load),
	DENY(kexec_file_load),
	DENY(init_module),
	DENY(finit_module),
	DENY(delete_module),
	DENY(reboot),
	DENY(swapon),
	DENY(swapoff),
	/* File handles open any inode on the filesystem, bypassing paths
	 * (the 2014 "shocker" container escape). */
	DENY(open_by_handle_at),
	DENY(name_to_handle_at),
	/* Pushing input into a terminal that some other process reads. */
	{SCMP_SYS(ioctl), EPERM, {EQ32, 1, 0, TIOCSTI}, NO_AND},
	{SCMP_SYS(ioctl), EPERM, {EQ32, 1, 0, TIOCLINUX}, NO_AND},
	/* Raw link-layer and IP packets: crafting and sniffing.  Raw
	 * netlink stays: if_nameindex() and getaddrinfo() use it. */
	{SCMP_SYS(socket), EPERM, {EQ32, 0, 0, AF_PACKET}, NO_AND},
	{SCMP_SYS(socket), EPERM, {EQ32, 0, 0, AF_INET},
	 {MASKED, 1, SOCK_TYPE_MASK, SOCK_RAW}},
	{SCMP_SYS(socket), EPERM, {EQ32, 0, 0, AF_INET6},
	 {MASKED, 1, SOCK_TYPE_MASK, SOCK_RAW}},
	/* ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO and the other
	 * flags weaken memory protections for exploits.  The 0xffffffff
	 * query is denied too: libseccomp cannot AND two comparisons on one
	 * argument.  PER_LINUX, PER_LINUX32 and UNAME26 stay allowed. */
	{SCMP_SYS(personality), EPERM, {GE, 0, 0, PER_FLAGS_MIN}, NO_AND},
	/* Host-wide administration: accounting, quotas, profiling data,
	 * terminals, the kernel log and the clock. */
	DENY(acct),
	DENY(quotactl),
	DENY(lookup_dcookie),
	DENY(vhangup),
	DENY(syslog),
	DENY(settimeofday),
	DENY(clock_settime),
	DENY(adjtimex),
	DENY(clock_adjtime),
};

/* One seccomp_arg_cmp for c, with bit standing in for ANYBIT's mask. */
static struct scmp_arg_cmp
to_scmp(const struct seccomp_cmp *c, uint64_t bit)
{
	struct scmp_arg_cmp a = {.arg = c->arg};

	switch (c->match) {
	case ANY: /* not used: callers skip ANY */
	case EQ32:
		a.op = SCMP_CMP_MASKED_EQ;
		a.datum_a = LOW32;
		a.datum_b = c->val;
		break;
	case MASKED:
		a.op = SCMP_CMP_MASKED_EQ;
		a.datum_a = c->mask;
		a.datum_b = c->val;
		break;
	case ANYBIT:
		a.op = SCMP_CMP_MASKED_EQ;
		a.datum_a = bit;
		a.datum_b = bit;
		break;
	case GE:
		a.op = SCMP_CMP_GE;
		a.datum_a = c->val;
		break;
	}
	return a;
}

static int
add_one(scmp_filter_ctx ctx, const struct seccomp_rule *r, uint64_t bit)
{
	struct scmp_arg_cmp cmps[2];
	unsigned int n = 0;

	if (r->cmp.match != ANY)
		cmps[n++] = to_scmp(&r->cmp, bit);
	if (r->cmp2.match != ANY)
		cmps[n++] = to_scmp(&r->cmp2, 0);
	return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(r->err), r->nr, n,
				      cmps);
}

/* Add row r; ANYBIT becomes one libseccomp rule per bit (they OR). */
static int
add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *r)
{
	uint64_t bit;
	int rc = 0;

	if (r->cmp.match != ANYBIT)
		return add_one(ctx, r, 0);
	for (bit = 1; bit != 0 && rc == 0; bit <<= 1)
		if (r->cmp.mask & bit)
			rc = add_one(ctx, r, bit);
	return rc;
}

int
seccomp_compile(struct seccomp_prog *out, struct sandbox_err *e)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	char *name = NULL;
	struct stat st;
	size_t i;
	int rc = 0, fd = -1;

	out->filter = NULL;
	out->len = 0;
	if (ctx == NULL) {
		rc = sandbox_errf(e, -ENOMEM, "seccomp_init");
		goto out;
	}
	/* Another ABI would get around a list of native numbers. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			      SCMP_ACT_KILL_PROCESS);
	/* Report the kernel's errno, not ECANCELED. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	/* A binary search over syscall numbers instead of a linear scan:
	 * the filter runs on every syscall of the user's code. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc < 0) {
		sandbox_errf(e, rc, "seccomp attributes");
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(seccomp_policy); i++) {
		const struct seccomp_rule *r = &seccomp_policy[i];

		rc = add_rule(ctx, r);
		if (rc < 0) {
			name = seccomp_syscall_resolve_num_arch(
				SCMP_ARCH_NATIVE, r->nr);
			sandbox_errf(e, rc, "seccomp rule %zu (%s)", i,
				     name ? name : "?");
			goto out;
		}
	}
	/* libseccomp 2.5 exports the BPF only to an fd. */
	fd = memfd_create("seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		rc = sandbox_errf(e, -errno, "memfd_create");
		goto out;
	}
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0) {
		sandbox_errf(e, rc, "seccomp_export_bpf");
		goto out;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		rc = sandbox_errf(e, -EINVAL, "seccomp program size");
		goto out;
	}
	out->filter = xmalloc((size_t)st.st_size);
	if (pread(fd, out->filter, (size_t)st.st_size, 0) != st.st_size) {
		rc = sandbox_errf(e, -EIO, "seccomp program read");
		free(out->filter);
		out->filter = NULL;
		goto out;
	}
	out->len = (unsigned short)(st.st_size /
				    (off_t)sizeof(struct sock_filter));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(name);
	if (ctx != NULL)
		seccomp_release(ctx);
	return rc;
}

int
seccomp_load_prog(const struct seccomp_prog *p, struct sandbox_err *e)
{
	struct sock_fprog prog = {.len = p->len, .filter = p->filter};

	if (p->filter == NULL || p->len == 0)
		return sandbox_errf(e, -EINVAL, "no seccomp program");
	/* What seccomp_load() does with the attributes we set: NO_NEW_PRIVS
	 * is already on (sandbox_child.c), and no filter flags. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return sandbox_errf(e, -errno, "seccomp(SET_MODE_FILTER)");
	return 0;
}
