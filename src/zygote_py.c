// SPDX-License-Identifier: MIT
/*
 * zygote_py.c: _sandpool_zygote, the CPython extension that a zygote
 * template (runtime/zygote.py) uses to start a session: spawn() clones
 * the template into a new sandbox and returns in the sandbox's PROGRAM,
 * which then serves as that session's kernel.  Built as a shared object
 * beside the sandpool binary (Makefile: $(B)/sandpool-zygote.so) and
 * loaded by path; never linked into the server.
 *
 * The child runs exactly the ritual a launcher-started sandbox runs
 * (sandbox_child_enter(), the same object code): the clone flags are
 * SANDBOX_CLONE_NS plus CLONE_PARENT, so the sandbox's pid 1 is the
 * server's child, as with the launcher, and the template holds nothing
 * of it.  The uid maps are written by the server (the template has no
 * capabilities) between the clone and the release.
 *
 * Python's fork protocol is kept: PyOS_BeforeFork() before the clone,
 * PyOS_AfterFork_Parent() in the template, and PyOS_AfterFork_Child()
 * in PROGRAM (pid 2), which runs the os.register_at_fork() handlers
 * (random re-seeds itself there).  Pid 1 never runs Python again: it is
 * the C init until the sandbox ends.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "init.h"
#include "sandbox_child.h"
#include "util.h"

PyMODINIT_FUNC PyInit__sandpool_zygote(void);

/* The seccomp policy, compiled in the template at its first spawn and
 * kept: its children only load it. */
static struct seccomp_prog zy_seccomp;

/* Threads of this process (the template must have exactly one). */
static int
count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Is fd one of the n in set? */
static bool
fd_in(int fd, const int *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == fd)
			return true;
	return false;
}

/*
 * A file the template's Python holds and a session may keep: /dev/null,
 * or a regular file under /usr opened read-only (matplotlib keeps its
 * fonts open and reads glyphs lazily; IPython keeps /dev/null).  The
 * sandbox can read those files anyway; anything else would be a way out
 * (a directory fd, a socket, a host file), so spawn() refuses it.
 */
static bool
fd_shareable(int fd, char *path, size_t n)
{
	char link[32];
	struct stat st;
	ssize_t len;
	int fl;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, n - 1);
	if (len < 0 || fstat(fd, &st) < 0)
		return false;
	path[len] = '\0';
	if (S_ISCHR(st.st_mode))
		return st.st_rdev == makedev(1, 3) &&
		       strcmp(path, "/dev/null") == 0;
	fl = fcntl(fd, F_GETFL);
	return S_ISREG(st.st_mode) && fl >= 0 && (fl & O_ACCMODE) == O_RDONLY &&
	       strncmp(path, "/usr/", 5) == 0;
}

/*
 * The fds PROGRAM keeps: every open fd from 3 up that is not one of the
 * n in skip (the request's and the template's socket).  Returns the
 * count, or -1 with a Python exception set when one is not shareable.
 */
static int
kept_fds(const int *skip, size_t nskip, int *keep)
{
	char path[256];
	struct dirent *e;
	int n = 0, fd;
	DIR *d = opendir("/proc/self/fd");

	if (d == NULL) {
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		uint64_t v;

		if (e->d_name[0] == '.')
			continue;
		if (parse_u64(e->d_name, &v) < 0 || v > INT32_MAX)
			continue; /* not an fd */
		fd = (int)v;
		if (fd < 3 || fd == dirfd(d) || fd_in(fd, skip, nskip))
			continue;
		if (!fd_shareable(fd, path, sizeof(path))) {
			PyErr_Format(PyExc_RuntimeError,
				     "the template holds fd %d (%s), which a "
				     "session must not inherit",
				     fd, path);
			n = -1;
			break;
		}
		if (n == SANDBOX_MAX_KEEP_FDS) {
			PyErr_SetString(PyExc_RuntimeError,
					"the template holds too many files");
			n = -1;
			break;
		}
		keep[n++] = fd;
	}
	closedir(d);
	return n;
}

/*
 * spawn(chan, ctl, release, err, runtime_tree, init, hostname, tmp_size,
 *       pids, fsize) -> pid
 *
 * chan is the template's own socket (closed in the sandbox).  In the
 * template: the host pid of the new sandbox's pid 1 (it waits on
 * `release`, a unix socket, for its uid maps, and receives its session's
 * data tree and cgroup attach files with the word).  In the sandbox's
 * PROGRAM: 0.  A failed clone raises OSError; a failing setup step is
 * reported by the child on `err` (the template only sees the pid).
 */
static PyObject *
zy_spawn(PyObject *self, PyObject *args)
{
	const char *hostname;
	unsigned long long tmp_size, pids, fsize;
	int chan, ctl, release, errfd, runtime_tree, init_fd;
	int keep[SANDBOX_MAX_KEEP_FDS], skip[6], nkeep;
	struct sigaction saved[NSIG];
	long pid;
	int sig, n, err;

	(void)self;
	if (!PyArg_ParseTuple(args, "iiiiiisKKK", &chan, &ctl, &release,
			      &errfd, &runtime_tree, &init_fd, &hostname,
			      &tmp_size, &pids, &fsize))
		return NULL;
	if (chan < 0 || ctl < 0 || release < 0 || errfd < 0 ||
	    runtime_tree < 0 || init_fd < 0) {
		PyErr_SetString(PyExc_ValueError, "bad file descriptor");
		return NULL;
	}
	if (!sandbox_child_hostname_ok(hostname)) {
		PyErr_SetString(PyExc_ValueError, "hostname: 1-63 letters, "
						  "digits or inner hyphens");
		return NULL;
	}
	if (tmp_size < (1ULL << 20) || pids < 1 || pids > 65536) {
		PyErr_SetString(PyExc_ValueError, "tmp_size or pids");
		return NULL;
	}
	if (zy_seccomp.filter == NULL) {
		struct sandbox_err se = {{0}};

		if (seccomp_compile(&zy_seccomp, &se) < 0) {
			PyErr_Format(PyExc_RuntimeError, "%s", se.msg);
			return NULL;
		}
	}
	/* Only the calling thread survives a fork: any other thread's
	 * locks (malloc's, the GIL's helpers) would stay held forever. */
	n = count_threads();
	if (n != 1) {
		PyErr_Format(PyExc_RuntimeError,
			     "the template has %d threads; it must have one",
			     n);
		return NULL;
	}
	skip[0] = chan;
	skip[1] = ctl;
	skip[2] = release;
	skip[3] = errfd;
	skip[4] = runtime_tree;
	skip[5] = init_fd;
	nkeep = kept_fds(skip, 6, keep);
	if (nkeep < 0)
		return NULL;
	/* The ritual resets every signal to SIG_DFL for pid 1; PROGRAM
	 * gets the template's dispositions back (Python ignores SIGPIPE
	 * and SIGXFSZ and owns SIGINT's), as an exec would have set them
	 * up afresh. */
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &saved[sig]) < 0)
			saved[sig].sa_handler = SIG_DFL;

	PyOS_BeforeFork();
	/* No new stack: the child continues like a fork, on a copy of
	 * ours (sandbox.c's raw clone). */
	pid = syscall(SYS_clone, SANDBOX_CLONE_NS | CLONE_PARENT | SIGCHLD,
		      NULL, NULL, NULL, 0);
	if (pid != 0) {
		err = errno;
		PyOS_AfterFork_Parent();
		if (pid < 0) {
			errno = err;
			return PyErr_SetFromErrno(PyExc_OSError);
		}
		return PyLong_FromLong(pid);
	}

	/* Pid 1 of the new sandbox, then (on return) its PROGRAM. */
	{
		struct sandbox_child c = {
			.hostname = hostname,
			.tmp_size = tmp_size,
			.pids = pids,
			.fsize = fsize,
			.release_fd = release,
			.release_brings_fds = true,
			.errfd = errfd,
			.data_tree = -1,
			.runtime_tree = runtime_tree,
			.ctl_fd = ctl,
			.keep_fds = keep,
			.nkeep = (size_t)nkeep,
			.init_fd = init_fd,
			.seccomp = &zy_seccomp,
			.stdio = false,
			.argv = NULL,
			.envp = NULL,
		};

		sandbox_child_enter(&c);
	}
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &saved[sig], NULL);
	/* The kernel's name, as a launcher session shows it. */
	prctl(PR_SET_NAME, "python3", 0, 0, 0);
	PyOS_AfterFork_Child();
	return PyLong_FromLong(0);
}

/* set_name(name): the process name (comm), e.g. "sp-zygote". */
static PyObject *
zy_set_name(PyObject *self, PyObject *args)
{
	const char *name;

	(void)self;
	if (!PyArg_ParseTuple(args, "s", &name))
		return NULL;
	if (prctl(PR_SET_NAME, name, 0, 0, 0) < 0)
		return PyErr_SetFromErrno(PyExc_OSError);
	Py_RETURN_NONE;
}

/* threads() -> the number of threads of this process. */
static PyObject *
zy_threads(PyObject *self, PyObject *args)
{
	int n = count_threads();

	(void)self;
	(void)args;
	if (n < 0) {
		errno = -n;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	return PyLong_FromLong(n);
}

/*
 * wait_init() in a sandbox's PROGRAM: until pid 1 has exec'd into the
 * init it is still a copy of the template; wait for that (at most 5 s,
 * the GIL released) before any code of the session runs.  -> None, or
 * TimeoutError.
 */
static PyObject *
zy_wait_init(PyObject *self, PyObject *args)
{
	int rc;

	(void)self;
	(void)args;
	Py_BEGIN_ALLOW_THREADS
	rc = init_wait_exec(5000);
	Py_END_ALLOW_THREADS
	if (rc < 0) {
		errno = -rc;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	Py_RETURN_NONE;
}

static PyMethodDef zy_methods[] = {
	{"spawn", zy_spawn, METH_VARARGS,
	 "Clone into a new sandbox; 0 in its PROGRAM, pid 1's pid here."},
	{"set_name", zy_set_name, METH_VARARGS, "Set the process name."},
	{"threads", zy_threads, METH_NOARGS, "Threads of this process."},
	{"wait_init", zy_wait_init, METH_NOARGS,
	 "In a sandbox: wait until pid 1 is the init."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef zy_module = {
	PyModuleDef_HEAD_INIT, "_sandpool_zygote",
	"sandpool's zygote: fork a warm template into a sandbox", -1,
	zy_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__sandpool_zygote(void)
{
	return PyModule_Create(&zy_module);
}
