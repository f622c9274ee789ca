// SPDX-License-Identifier: MIT
/*
 * procstat.c: per-sandbox CPU and peak-memory samples from /proc, for
 * audit rows (see procstat.h).  The text is the host kernel's, but the
 * process name inside it (the comm field of stat) is chosen by the
 * sandbox, so parsing starts after the last ')' and every number is
 * checked.  Files are opened O_CLOEXEC and re-read with pread() at offset
 * 0, which procfs regenerates; a process that is gone reads as -1.
 */
#define _GNU_SOURCE
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STAT_MAX 2048
#define STATUS_MAX 4096

void
procstat_init(struct procstat *ps)
{
	ps->init_stat = ps->kern_stat = ps->kern_status = ps->kern_clear = -1;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void
procstat_close(struct procstat *ps)
{
	close_fd(&ps->init_stat);
	close_fd(&ps->kern_stat);
	close_fd(&ps->kern_status);
	close_fd(&ps->kern_clear);
}

static int
open_proc(long pid, const char *file, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/%s", pid, file);
	return open(path, flags | O_CLOEXEC | O_NOFOLLOW);
}

/* Read a whole small proc file with pread into buf (NUL-terminated). */
static ssize_t
read_at0(int fd, char *buf, size_t n)
{
	ssize_t r;

	if (fd < 0)
		return -1;
	do
		r = pread(fd, buf, n - 1, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return r;
}

int
procstat_open(struct procstat *ps, pid_t pid1)
{
	char buf[256], *end = NULL;
	long kpid;
	int fd;

	procstat_close(ps);
	ps->init_stat = open_proc((long)pid1, "stat", O_RDONLY);
	if (ps->init_stat < 0)
		return -errno;
	/* pid 1 (our init) has one child: the kernel (sandbox.c). */
	snprintf(buf, sizeof(buf), "task/%ld/children", (long)pid1);
	fd = open_proc((long)pid1, buf, O_RDONLY);
	if (fd < 0 || read_at0(fd, buf, sizeof(buf)) <= 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	kpid = strtol(buf, &end, 10);
	if (end == buf || kpid <= 1)
		return 0;
	ps->kern_stat = open_proc(kpid, "stat", O_RDONLY);
	ps->kern_status = open_proc(kpid, "status", O_RDONLY);
	ps->kern_clear = open_proc(kpid, "clear_refs", O_WRONLY);
	return 0;
}

int64_t
procstat_parse_stat(const char *text)
{
	const char *p = strrchr(text, ')');
	int64_t sum = 0;
	int field;

	if (p == NULL)
		return -1;
	p++;
	/* After ')': field 3 (state) ... 14 utime, 15 stime, 16 cutime,
	 * 17 cstime. */
	for (field = 3; field <= 17; field++) {
		char *end = NULL;
		long long v;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			return -1;
		if (field < 14) {
			p += strcspn(p, " ");
			continue;
		}
		errno = 0;
		v = strtoll(p, &end, 10);
		if (end == p || errno || v < 0)
			return -1;
		sum += v;
		p = end;
	}
	return sum;
}

int64_t
procstat_parse_hwm(const char *text)
{
	const char *p = strstr(text, "\nVmHWM:");
	char *end = NULL;
	long long v;

	if (p == NULL)
		return -1;
	p += 7;
	while (*p == ' ' || *p == '\t')
		p++;
	errno = 0;
	v = strtoll(p, &end, 10);
	if (end == p || errno || v < 0 || strncmp(end, " kB", 3) != 0)
		return -1;
	return v;
}

static int64_t
stat_ticks(int fd)
{
	char buf[STAT_MAX];

	if (read_at0(fd, buf, sizeof(buf)) <= 0)
		return -1;
	return procstat_parse_stat(buf);
}

int64_t
procstat_cpu_ms(struct procstat *ps)
{
	long hz = sysconf(_SC_CLK_TCK);
	int64_t a, b;

	a = stat_ticks(ps->init_stat);
	if (a < 0 || hz <= 0)
		return -1;
	/* A dead kernel's time has moved into pid 1's cutime. */
	b = stat_ticks(ps->kern_stat);
	if (b < 0)
		b = 0;
	return (a + b) * 1000 / hz;
}

void
procstat_peak_reset(struct procstat *ps)
{
	ssize_t r;

	if (ps->kern_clear < 0)
		return;
	do
		r = pwrite(ps->kern_clear, "5", 1, 0);
	while (r < 0 && errno == EINTR);
}

int64_t
procstat_peak_bytes(struct procstat *ps)
{
	char buf[STATUS_MAX];
	int64_t kib;

	if (read_at0(ps->kern_status, buf, sizeof(buf)) <= 0)
		return -1;
	kib = procstat_parse_hwm(buf);
	return kib < 0 ? -1 : kib * 1024;
}
