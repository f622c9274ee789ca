// SPDX-License-Identifier: MIT
/*
 * sandbox_template.c: `sandpool-sandbox --template`, the exec wrapper that
 * starts a zygote template (runtime/zygote.py) for the server.  The server
 * is multi-threaded and root; posix_spawn cannot change uids, so this
 * small single-threaded step does, then execs PROGRAM:
 *
 *   sandpool-sandbox --template --uid U [--env K=V]... -- PROGRAM [ARG]...
 *
 * PROGRAM runs as host uid and gid U with no supplementary groups, no
 * capabilities (bounding set empty too), NO_NEW_PRIVS, RLIMIT_CORE 0, at
 * nice 10 with RLIMIT_NICE allowing 0 again (where we may raise that
 * limit), in
 * a new session, cwd "/", default signals and an empty mask, exactly the
 * --env environment, and fds 0-5 as the server passed them (0-2 stdio;
 * 3 the control socket, 4 the runtime directory, 5 the extension) with
 * every other fd closed.  It has a mount namespace of its own, the
 * host's but for a private tmpfs on /tmp: what it writes there
 * (matplotlib's font cache in MPLCONFIGDIR=/tmp/.mpl) never lands in the
 * host's /tmp.  Its sandboxes start from a copy of that namespace and
 * mount their own /tmp over it.  Why the template is not root is in
 * docs/ARCHITECTURE.md ("The zygote").
 */
#define _GNU_SOURCE
#include "sandbox_template.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

#define TEMPLATE_KEEP_FDS 6 /* 0-2 stdio, 3 control, 4 runtime, 5 .so */
#define TEMPLATE_TMP "size=16m,mode=1777,nr_inodes=4096"
#define TEMPLATE_NICE 10
#define TEMPLATE_UID_MIN 65536ULL

static int
fail(const char *what, int err)
{
	fprintf(stderr, "sandpool-sandbox --template: %s%s%s\n", what,
		err ? ": " : "", err ? strerror(err) : "");
	return 2;
}

static int
drop_to(uid_t uid)
{
	cap_value_t c;

	/* The bounding set while CAP_SETPCAP is still ours. */
	for (c = 0; c < cap_max_bits(); c++)
		if (cap_drop_bound(c) < 0)
			return -errno;
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	/* From root to a non-zero uid the kernel clears the permitted and
	 * effective sets; the ambient set goes with them.  Check. */
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 ||
	    geteuid() != uid || getegid() != uid)
		return -EPERM;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int
sandbox_template_main(int argc, char **argv)
{
	char *env[SANDBOX_MAX_ENV + 1];
	struct rlimit core = {0, 0}, nice_lim = {20, 20};
	struct sigaction dfl;
	sigset_t none;
	uint64_t uid = 0;
	size_t nenv = 0;
	int i, sig, rc;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (i + 1 >= argc)
			return fail("an option needs a value", 0);
		if (strcmp(argv[i], "--uid") == 0) {
			if (parse_u64(argv[++i], &uid) < 0 ||
			    uid < TEMPLATE_UID_MIN || uid > 0xfffffffeULL)
				return fail("--uid: expected 65536..2^32-2",
					    0);
		} else if (strcmp(argv[i], "--env") == 0) {
			if (nenv == SANDBOX_MAX_ENV ||
			    strchr(argv[i + 1], '=') == NULL)
				return fail("--env: K=V, at most 256", 0);
			env[nenv++] = argv[++i];
		} else {
			return fail("unknown option", 0);
		}
	}
	env[nenv] = NULL;
	if (i + 1 >= argc || argv[i + 1][0] != '/')
		return fail("expected -- /ABSOLUTE/PROGRAM [ARG]...", 0);
	if (uid == 0)
		return fail("--uid is required", 0);
	if (geteuid() != 0)
		return fail("must be started as root", 0);

	for (sig = 0; sig < TEMPLATE_KEEP_FDS; sig++)
		if (fcntl(sig, F_GETFD) < 0)
			return fail("fds 0-5 must be open", 0);
	if (close_range(TEMPLATE_KEEP_FDS, ~0U, 0) < 0)
		return fail("close_range", errno);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return fail("sigprocmask", errno);
	/* Out of the server's session and process group: ^C at the
	 * server's terminal is the server's to handle. */
	if (setsid() < 0)
		return fail("setsid", errno);
	/* Its memory is every session's memory: never dump it. */
	if (setrlimit(RLIMIT_CORE, &core) < 0)
		return fail("setrlimit", errno);
	/* Forking warm sandboxes is background work: it must not slow the
	 * cells of running sessions on a busy host.  The template and a
	 * new sandbox's setup run at nice TEMPLATE_NICE; RLIMIT_NICE lets
	 * the kernel go back to 0 (and no lower) once a client uses it
	 * (runtime/kernel.py). */
	if (setrlimit(RLIMIT_NICE, &nice_lim) == 0 &&
	    setpriority(PRIO_PROCESS, 0, TEMPLATE_NICE) < 0)
		return fail("nice", errno);
	/* Without CAP_SYS_RESOURCE (some containers) the limit cannot be
	 * raised, and a kernel could never come back to 0: stay at 0. */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
		  TEMPLATE_TMP) < 0)
		return fail("private /tmp", errno);
	if (chdir("/") < 0)
		return fail("chdir /", errno);
	rc = drop_to((uid_t)uid);
	if (rc < 0)
		return fail("drop privileges", -rc);
	execve(argv[i + 1], argv + i + 1, env);
	return fail("execve", errno);
}
