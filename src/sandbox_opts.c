// SPDX-License-Identifier: MIT
/*
 * sandbox_opts.c: the launcher's command line (docs/ARCHITECTURE.md, "The
 * launcher contract").  Parse, then act: every option is checked here and
 * lands in struct sandbox_opts; sandbox.c only acts on the result.  Every
 * bad option gives one clear message (the launcher exits 2).
 */
#define _GNU_SOURCE
#include "sandbox_opts.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "sandbox_child.h"
#include "util.h"

/* Inside root must never be a host system or login account. */
#define UID_BASE_MIN 65536ULL
/* X + 1000 must stay a valid uid: (uid_t)-1 is "no change". */
#define UID_BASE_MAX (0xfffffffeULL - SANDBOX_UID)
#define TMP_SIZE_MIN MiB
#define TMP_SIZE_MAX (64 * GiB)
#define TMP_SIZE_DEFAULT (256 * MiB)
#define PIDS_MAX 65536
#define PIDS_DEFAULT 256

enum {
	OPT_DATA = 256,
	OPT_RUNTIME,
	OPT_UID_BASE,
	OPT_TMP_SIZE,
	OPT_PIDS,
	OPT_FSIZE,
	OPT_HOSTNAME,
	OPT_ENV,
	OPT_CGROUP_FD,
	OPT_REPORT_FD,
	OPT_WAIT,
	OPT_STDIO,
};

static const struct option sandbox_long_opts[] = {
	{"data", required_argument, NULL, OPT_DATA},
	{"runtime", required_argument, NULL, OPT_RUNTIME},
	{"uid-base", required_argument, NULL, OPT_UID_BASE},
	{"tmp-size", required_argument, NULL, OPT_TMP_SIZE},
	{"pids", required_argument, NULL, OPT_PIDS},
	{"fsize", required_argument, NULL, OPT_FSIZE},
	{"hostname", required_argument, NULL, OPT_HOSTNAME},
	{"env", required_argument, NULL, OPT_ENV},
	{"cgroup-fd", required_argument, NULL, OPT_CGROUP_FD},
	{"report-fd", required_argument, NULL, OPT_REPORT_FD},
	{"wait", no_argument, NULL, OPT_WAIT},
	{"stdio", no_argument, NULL, OPT_STDIO},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

void
sandbox_opts_usage(FILE *f)
{
	fputs("usage: sandpool-sandbox [options] -- PROGRAM [ARG...]\n"
	      "  --data DIR        bound read-write at /mnt/data (required)\n"
	      "  --runtime DIR     bound read-only at /opt/sandpool"
	      " (required)\n"
	      "  --uid-base X      inside 0 is host X, inside 1000 is X+1000"
	      " (required, >= 65536)\n"
	      "  --tmp-size BYTES  /tmp tmpfs size (default 256M)\n"
	      "  --pids N          RLIMIT_NPROC (default 256)\n"
	      "  --fsize BYTES     RLIMIT_FSIZE (default unlimited)\n"
	      "  --hostname NAME   (default sandbox)\n"
	      "  --env K=V         PROGRAM's environment (repeatable)\n"
	      "  --cgroup-fd N     tasks/cgroup.procs fd to join (repeatable)\n"
	      "  --report-fd N     gets \"ok <pid>\" or \"err <message>\"\n"
	      "  --wait            wait for the sandbox, exit with its status\n"
	      "  --stdio           PROGRAM keeps our stdin/stdout/stderr\n"
	      "PROGRAM is an absolute path.  See docs/ARCHITECTURE.md.\n",
	      f);
}

/* Format a usage error into e (no errno text) and return -EINVAL. */
static int __attribute__((format(printf, 2, 3)))
bad(struct sandbox_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An fd number that is open for writing. */
static int
parse_wfd(const char *s, const char *opt, int *out, struct sandbox_err *e)
{
	uint64_t v;
	int fl;

	if (parse_u64(s, &v) < 0 || v > INT_MAX)
		return bad(e, "%s: '%s' is not an fd number",
				    opt, s);
	fl = fcntl((int)v, F_GETFL);
	if (fl < 0)
		return bad(e, "%s %s: not an open fd", opt, s);
	if ((fl & O_ACCMODE) == O_RDONLY)
		return bad(e, "%s %s: not open for writing",
				    opt, s);
	*out = (int)v;
	return 0;
}

static int
parse_range(const char *s, const char *opt, bool size, uint64_t min,
	    uint64_t max, uint64_t *out, struct sandbox_err *e)
{
	uint64_t v;
	int rc = size ? parse_size(s, &v) : parse_u64(s, &v);

	if (rc < 0)
		return bad(e, "%s: '%s' is not %s", opt, s,
				    size ? "a size (digits, then K, M, G or T)"
					 : "a whole number");
	if (v < min || v > max)
		return bad(e, "%s: %s is out of range (%llu..%llu)", opt,
				    s, (unsigned long long)min,
				    (unsigned long long)max);
	*out = v;
	return 0;
}

static int
check_hostname(const char *s, struct sandbox_err *e)
{
	if (sandbox_child_hostname_ok(s))
		return 0;
	return bad(e, "--hostname: '%s' is not 1-63 letters, digits or "
			    "inner hyphens",
			    s);
}

static int
add_env(struct sandbox_opts *o, char *kv, struct sandbox_err *e)
{
	const char *eq = strchr(kv, '=');
	size_t klen, i;

	if (eq == NULL || eq == kv)
		return bad(e, "--env: '%.40s' is not NAME=VALUE", kv);
	if (strlen(kv) > SANDBOX_MAX_ENV_LEN)
		return bad(e, "--env: %.40s...: longer than "
				    "%d bytes", kv, SANDBOX_MAX_ENV_LEN);
	if (o->nenv == SANDBOX_MAX_ENV)
		return bad(e, "--env: more than %d variables",
				    SANDBOX_MAX_ENV);
	klen = (size_t)(eq - kv) + 1;
	for (i = 0; i < o->nenv; i++)
		if (strncmp(o->env[i], kv, klen) == 0)
			return bad(e, "--env: %.*s given twice",
					    (int)klen - 1, kv);
	o->env[o->nenv++] = kv;
	o->env[o->nenv] = NULL;
	return 0;
}

static int
add_cgroup_fd(struct sandbox_opts *o, const char *s, struct sandbox_err *e)
{
	size_t i;
	int fd, rc;

	rc = parse_wfd(s, "--cgroup-fd", &fd, e);
	if (rc < 0)
		return rc;
	if (fd <= 3)
		return bad(e, "--cgroup-fd %d: fds 0-3 are "
				    "stdio and the control socket", fd);
	if (o->ncgroup == SANDBOX_MAX_CGROUP_FDS)
		return bad(e, "--cgroup-fd: more than %d",
				    SANDBOX_MAX_CGROUP_FDS);
	for (i = 0; i < o->ncgroup; i++)
		if (o->cgroup_fds[i] == fd)
			return bad(e, "--cgroup-fd %d given twice", fd);
	o->cgroup_fds[o->ncgroup++] = fd;
	return 0;
}

/* A required host directory: absolute, given once. */
static int
set_dir(const char **dst, const char *s, const char *opt,
	struct sandbox_err *e)
{
	if (*dst != NULL)
		return bad(e, "%s given twice", opt);
	if (s[0] != '/')
		return bad(e, "%s: '%s' is not an absolute "
				    "path", opt, s);
	*dst = s;
	return 0;
}

static int
parse_one(struct sandbox_opts *o, int c, char *arg, bool *have_uid,
	  struct sandbox_err *e)
{
	size_t i;
	int rc = 0;

	switch (c) {
	case OPT_DATA:
		return set_dir(&o->data, arg, "--data", e);
	case OPT_RUNTIME:
		return set_dir(&o->runtime, arg, "--runtime", e);
	case OPT_UID_BASE:
		*have_uid = true;
		return parse_range(arg, "--uid-base", false, UID_BASE_MIN,
				   UID_BASE_MAX, &o->uid_base, e);
	case OPT_TMP_SIZE:
		return parse_range(arg, "--tmp-size", true, TMP_SIZE_MIN,
				   TMP_SIZE_MAX, &o->tmp_size, e);
	case OPT_PIDS:
		return parse_range(arg, "--pids", false, 1, PIDS_MAX, &o->pids,
				   e);
	case OPT_FSIZE:
		return parse_range(arg, "--fsize", true, 1, INT64_MAX,
				   &o->fsize, e);
	case OPT_HOSTNAME:
		o->hostname = arg;
		return check_hostname(arg, e);
	case OPT_ENV:
		return add_env(o, arg, e);
	case OPT_CGROUP_FD:
		rc = add_cgroup_fd(o, arg, e);
		break;
	case OPT_REPORT_FD:
		if (o->report_fd >= 0)
			return bad(e, "--report-fd given twice");
		if (strcmp(arg, "3") == 0)
			return bad(e, "--report-fd 3: fd 3 is PROGRAM's "
				   "control socket");
		rc = parse_wfd(arg, "--report-fd", &o->report_fd, e);
		break;
	case OPT_WAIT:
		o->wait = true;
		return 0;
	case OPT_STDIO:
		o->stdio = true;
		return 0;
	case 'h':
		o->help = true;
		return 0;
	default:
		return bad(e, "unknown option");
	}
	if (rc < 0)
		return rc;
	/* The report fd is ours and the cgroup fds are the child's. */
	for (i = 0; i < o->ncgroup; i++)
		if (o->cgroup_fds[i] == o->report_fd)
			return bad(e, "fd %d is both "
					    "--report-fd and --cgroup-fd",
					    o->report_fd);
	return 0;
}

int
sandbox_opts_parse(int argc, char **argv, struct sandbox_opts *o,
		   struct sandbox_err *e)
{
	bool have_uid = false;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->tmp_size = TMP_SIZE_DEFAULT;
	o->pids = PIDS_DEFAULT;
	o->fsize = UINT64_MAX;
	o->hostname = "sandbox";
	o->report_fd = -1;

	/* "+": stop at PROGRAM; ":": report a missing value as ':'. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", sandbox_long_opts,
				NULL)) != -1) {
		const char *what = argv[optind - 1];

		if (c == '?')
			return bad(e, "unknown option '%s'",
					    what);
		if (c == ':')
			return bad(e, "option '%s' needs a "
					    "value", what);
		rc = parse_one(o, c, optarg, &have_uid, e);
		if (rc < 0)
			return rc;
	}
	if (o->help)
		return 0;
	if (o->data == NULL || o->runtime == NULL || !have_uid)
		return bad(e, "--data, --runtime and "
				    "--uid-base are required");
	if (optind >= argc)
		return bad(e, "no PROGRAM given after --");
	if (argv[optind][0] != '/')
		return bad(e, "PROGRAM '%s' is not an "
				    "absolute path (there is no PATH search)",
				    argv[optind]);
	o->argv = argv + optind;
	return 0;
}
