/* SPDX-License-Identifier: MIT */
/*
 * log.h: one line per event on stderr, OpenBSD log.c style.
 * log_warn() appends strerror(errno); log_warnx() does not.  Lines look like
 *   2026-11-22T04:30:00.123Z warn req=12 session=ab12 message: reason
 * Callers put key=value fields at the front of the message themselves.
 * Never log secrets (keys) or user code.
 */
#ifndef SANDPOOL_LOG_H
#define SANDPOOL_LOG_H

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_init(enum log_level level);
int log_level_parse(const char *s, enum log_level *out);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Startup only: log and exit(1).  Never on the request path. */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
