/* SPDX-License-Identifier: MIT */
/*
 * procstat.h: CPU time and peak memory of a sandbox, read by the server
 * from /proc (the kernel's accounting, not the sandbox's word), for the
 * audit rows and usage.  Until sessions get cgroups of their own, this is
 * the measure: CPU is pid 1's and the Python kernel's user + system time,
 * each including their reaped children; peak memory is the kernel
 * process's VmHWM, reset at the start of each execution through
 * clear_refs ("5").  The files stay open, so a sample is a few pread()s.
 * Loop thread only (it owns the session's sandbox).
 */
#ifndef SANDPOOL_PROCSTAT_H
#define SANDPOOL_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

struct procstat {
	int init_stat;   /* /proc/<pid1>/stat, or -1 */
	int kern_stat;   /* /proc/<kernel>/stat, or -1 */
	int kern_status; /* /proc/<kernel>/status (VmHWM), or -1 */
	int kern_clear;  /* /proc/<kernel>/clear_refs, or -1 */
};

/* Mark every fd closed.  Call once on a new struct. */
void procstat_init(struct procstat *ps);
/*
 * Open the files of pid 1 (pid1, as the host sees it) and of its first
 * child, the kernel.  Closes what was open before.  Returns 0, or -errno
 * when pid 1's stat cannot be opened (then every sample is -1).
 */
int procstat_open(struct procstat *ps, pid_t pid1);
/* Close the files; idempotent. */
void procstat_close(struct procstat *ps);

/* CPU ms used so far by pid 1 and the kernel, children included; -1 when
 * unknown.  Differences of two samples give an execution's CPU time. */
int64_t procstat_cpu_ms(struct procstat *ps);
/* Reset the kernel's peak RSS (VmHWM) to its current RSS. */
void procstat_peak_reset(struct procstat *ps);
/* The kernel's peak RSS in bytes since the last reset; -1 if unknown. */
int64_t procstat_peak_bytes(struct procstat *ps);

/* Parsers, exposed for the unit tests.  stat_cpu_ticks: utime + stime +
 * cutime + cstime of a /proc/PID/stat text, or -1.  status_hwm_kib: the
 * VmHWM line of a /proc/PID/status text in KiB, or -1. */
int64_t procstat_parse_stat(const char *text);
int64_t procstat_parse_hwm(const char *text);

#endif
