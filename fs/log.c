/* SPDX-License-Identifier: MIT */
/*
 * fs/log.c - the daemon's one way to report: stderr in the foreground,
 * syslog once daemonized
 *
 * Lines are git style: "df11fs: cannot open 'x': No such file or
 * directory". On stderr each line is written with a single write(2) so
 * lines of concurrent threads do not interleave. libfuse's own messages
 * (fuse_log) and the cache's error lines take the same route.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fs_i.h"

/* Set before the session starts, read-only afterwards. */
static int log_debug;
static int log_syslog;

void df11fs_log_debug(int on)
{
	log_debug = on;
}

void df11fs_log_to_syslog(void)
{
	openlog("df11fs", LOG_PID, LOG_DAEMON);
	log_syslog = 1;
}

__attribute__((format(printf, 2, 0))) static void
log_v(int prio, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (prio >= LOG_DEBUG && !log_debug)
		return;
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
		return;
	}
	n = snprintf(line, sizeof(line), "df11fs: ");
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	while (n > 0 && line[n - 1] == '\n')
		n--;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report to */
	}
}

void df11fs_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, fmt, ap);
	va_end(ap);
}

/* fuse_log_func_t: libfuse's levels are syslog's priorities. */
__attribute__((format(printf, 2, 0))) static void
fuse_log_cb(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int prio = (int)level;

	/* libfuse prefixes most messages with "fuse: " already */
	vsnprintf(line, sizeof(line), fmt, ap);
	if (prio >= LOG_DEBUG && !log_debug)
		return;
	if (log_syslog) {
		syslog(prio, "%s", line);
		return;
	}
	if (write(STDERR_FILENO, line, strlen(line)) < 0) {
		/* nowhere left to report to */
	}
}

void df11fs_log_install(void)
{
	fuse_set_log_func(fuse_log_cb);
}

void df11fs_cache_log(void *ctx, const char *line)
{
	(void)ctx;
	df11fs_log(LOG_ERR, "%s", line);
}
