// SPDX-License-Identifier: MIT
/*
 * log.c: one line per event on stderr, with an RFC 3339 time and a level
 * word first, so that journald and grep both read it.  errno is saved and
 * restored so that logging never changes what the caller sees.
 */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static enum log_level log_min = LOG_LVL_INFO;

void
log_init(enum log_level level)
{
	log_min = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void vlog(enum log_level lvl, const char *word, int with_errno,
		 int saved, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static void
vlog(enum log_level lvl, const char *word, int with_errno, int saved,
     const char *fmt, va_list ap)
{
	char ts[40], line[2048];
	int n;

	if (lvl < log_min)
		return;
	fmt_time_rfc3339(wall_ms(), ts, sizeof(ts));
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		line[0] = '\0';
	if (with_errno)
		fprintf(stderr, "%s %s %s: %s\n", ts, word, line,
			strerror(saved));
	else
		fprintf(stderr, "%s %s %s\n", ts, word, line);
}

#define LOGFN(name, lvl, word, with_errno)                                   \
	void name(const char *fmt, ...)                                       \
	{                                                                     \
		int saved = errno;                                            \
		va_list ap;                                                   \
		va_start(ap, fmt);                                            \
		vlog(lvl, word, with_errno, saved, fmt, ap);                  \
		va_end(ap);                                                   \
		errno = saved;                                                \
	}

LOGFN(log_debug, LOG_LVL_DEBUG, "debug", 0)
LOGFN(log_info, LOG_LVL_INFO, "info", 0)
LOGFN(log_warn, LOG_LVL_WARN, "warn", 1)
LOGFN(log_warnx, LOG_LVL_WARN, "warn", 0)
LOGFN(log_errorx, LOG_LVL_ERROR, "error", 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, "fatal", 1, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, "fatal", 0, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
