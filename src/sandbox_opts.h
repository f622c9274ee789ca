/* SPDX-License-Identifier: MIT */
/*
 * sandbox_opts.h: the launcher's command line, parsed and validated into
 * a plain struct before anything is done with it.
 */
#ifndef SANDPOOL_SANDBOX_OPTS_H
#define SANDPOOL_SANDBOX_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sandbox.h"

struct sandbox_opts {
	const char *data;     /* host dir for /mnt/data (absolute) */
	const char *runtime;  /* host dir for /opt/sandpool (absolute) */
	uint64_t uid_base;    /* host uid of inside root; 65536..2^32-1002 */
	uint64_t tmp_size;    /* bytes; 1 MiB..64 GiB; default 256 MiB */
	uint64_t pids;	      /* RLIMIT_NPROC; 1..65536; default 256 */
	uint64_t fsize;	      /* bytes, RLIMIT_FSIZE; UINT64_MAX: none */
	const char *hostname; /* [A-Za-z0-9-]{1,63}; default "sandbox" */
	char *env[SANDBOX_MAX_ENV + 1]; /* K=V, NULL-terminated, into argv */
	size_t nenv;
	int cgroup_fds[SANDBOX_MAX_CGROUP_FDS]; /* open for writing, >= 4 */
	size_t ncgroup;
	int report_fd; /* open for writing, not 3; -1 = none */
	bool wait;     /* no CLONE_PARENT; wait and exit with the status */
	bool stdio;    /* PROGRAM gets our fds 0-2 */
	bool help;     /* --help: print usage, do nothing else */
	char **argv;   /* PROGRAM [ARG...], NULL-terminated, into argv */
};

/*
 * Parse argv into o without side effects (it only asks fcntl whether the
 * fds it is given are open).  Strings in o point into argv.  Returns 0,
 * or -EINVAL with a one-line message in e.
 */
int sandbox_opts_parse(int argc, char **argv, struct sandbox_opts *o,
		       struct sandbox_err *e);

void sandbox_opts_usage(FILE *f);

#endif
