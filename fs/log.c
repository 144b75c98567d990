/* SPDX-License-Identifier: MIT */
/*
 * fs/log.c - the daemon's one way to report: stderr, a log file or syslog
 *
 * Lines are git style: "df11fs: cannot open 'x': No such file or
 * directory". libfuse's own messages (fuse_log) and the cache's lines take
 * the same route. Where they go (-o log=):
 *
 *   (none)   stderr as it is in the foreground; once detached, syslog when
 *            /dev/log exists, else the stderr df11fs was started with
 *            (containers have no syslog daemon: their log is stderr),
 *            which is said once
 *   stderr   stderr, each line with a timestamp (kept when detached)
 *   FILE     appended to FILE with a timestamp; df11fs_log_reopen() (on
 *            SIGHUP) opens the path again, for logrotate
 *   syslog   syslog (LOG_DAEMON), which adds its own timestamp
 *
 * A timestamp is ISO 8601 UTC with milliseconds, then the name and pid:
 * "2026-12-03T17:21:09.123Z df11fs[4242]: text". Plain stderr lines keep
 * the git style "df11fs: text", which scripts and tests match.
 *
 * Each line is one write(2) on one descriptor, so lines of concurrent
 * threads never interleave, and O_APPEND keeps them whole in a shared
 * file. A reopen replaces the descriptor with dup3(), atomically: a
 * writer sees the old file or the new one, never a closed descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fs_i.h"

enum { TO_STDERR, TO_FD, TO_SYSLOG };

/* Set before the session's threads start; only log_fd's file changes. */
static int log_debug;
static int log_to = TO_STDERR;
static int log_fd = STDERR_FILENO;
static int log_stamp;
static int log_later_syslog; /* no -o log=: syslog once detached */
static char *log_path;	     /* -o log=FILE, absolute */

void df11fs_log_debug(int on)
{
	log_debug = on;
}

int df11fs_log_debugging(void)
{
	return log_debug;
}

/* "2026-12-03T17:21:09.123Z df11fs[42]: " into @buf. Return: length. */
static int stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	return (int)n + snprintf(buf + n, len - n,
				 ".%03ldZ df11fs[%ld]: ", ts.tv_nsec / 1000000L,
				 (long)getpid());
}

/* Write @text (no newline needed) as one line to the chosen descriptor. */
static void put_line(const char *text)
{
	char line[1200];
	int n;

	if (log_stamp)
		n = stamp(line, sizeof(line));
	else
		n = snprintf(line, sizeof(line), "df11fs: ");
	n += snprintf(line + n, sizeof(line) - (size_t)n, "%s", text);
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	while (n > 0 && line[n - 1] == '\n')
		n--;
	line[n++] = '\n';
	if (write(log_to == TO_FD ? log_fd : STDERR_FILENO, line, (size_t)n) <
	    0) {
		/* nowhere left to report to */
	}
}

__attribute__((format(printf, 2, 0))) static void
log_v(int prio, const char *fmt, va_list ap)
{
	char text[1024];

	if (prio >= LOG_DEBUG && !log_debug)
		return;
	if (log_to == TO_SYSLOG) {
		vsyslog(prio, fmt, ap);
		return;
	}
	vsnprintf(text, sizeof(text), fmt, ap);
	put_line(text);
}

void df11fs_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(prio, fmt, ap);
	va_end(ap);
}

/* O_APPEND, created 0640 when missing. Return: a descriptor or -errno. */
static int open_file(const char *path)
{
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);

	return fd < 0 ? -errno : fd;
}

/* @path made absolute against the working directory (detaching leaves /). */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *abs;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, path) < 0)
		return NULL;
	return abs;
}

/* A descriptor of the stderr we were started with, that outlives detaching. */
static int keep_stderr(void)
{
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);

	return fd < 0 ? -errno : fd;
}

int df11fs_log_setup(const char *spec, int foreground)
{
	int fd;

	if (!spec) {
		if (foreground)
			return 0;
		if (access("/dev/log", F_OK) == 0) {
			log_later_syslog = 1;
			return 0;
		}
		/* said on the terminal, before stderr goes away */
		df11fs_log(LOG_NOTICE,
			   "no syslog ('/dev/log' does not exist): logging to "
			   "stderr");
		spec = "stderr";
	}
	if (strcmp(spec, "syslog") == 0) {
		if (foreground)
			df11fs_log_to_syslog();
		else
			log_later_syslog = 1;
		return 0;
	}
	if (strcmp(spec, "stderr") == 0) {
		fd = foreground ? STDERR_FILENO : keep_stderr();
	} else {
		if (!(log_path = absolute(spec)))
			return -ENOMEM;
		fd = open_file(log_path);
		if (fd < 0) {
			df11fs_log(LOG_ERR, "cannot open log file '%s': %s",
				   spec, strerror(-fd));
			return fd;
		}
	}
	if (fd < 0) {
		df11fs_log(LOG_ERR, "cannot keep stderr: %s", strerror(-fd));
		return fd;
	}
	log_fd = fd;
	log_to = TO_FD;
	log_stamp = 1;
	return 0;
}

void df11fs_log_detached(void)
{
	if (log_later_syslog)
		df11fs_log_to_syslog();
}

void df11fs_log_to_syslog(void)
{
	openlog("df11fs", LOG_PID, LOG_DAEMON);
	log_to = TO_SYSLOG;
}

int df11fs_log_reopen(void)
{
	int fd;

	if (!log_path)
		return 0;
	fd = open_file(log_path);
	if (fd < 0) {
		df11fs_log(LOG_ERR, "cannot reopen log file '%s': %s", log_path,
			   strerror(-fd));
		return fd;
	}
	if (dup3(fd, log_fd, O_CLOEXEC) < 0) {
		int rc = -errno;
		close(fd);
		df11fs_log(LOG_ERR, "cannot reopen log file '%s': %s", log_path,
			   strerror(-rc));
		return rc;
	}
	close(fd);
	df11fs_log(LOG_INFO, "log file '%s' reopened", log_path);
	return 0;
}

void df11fs_log_close(void)
{
	if (log_to == TO_FD && log_fd > STDERR_FILENO)
		close(log_fd);
	if (log_to == TO_SYSLOG)
		closelog();
	log_to = TO_STDERR;
	log_fd = STDERR_FILENO;
	log_stamp = 0;
	free(log_path);
	log_path = NULL;
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
	if (log_to == TO_SYSLOG) {
		syslog(prio, "%s", line);
		return;
	}
	if (log_to == TO_FD) {
		put_line(line);
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

/*
 * The cache's lines are errors, except the decoder's choice at start:
 * "decoder: gpu (...)" and "decoder: cpu" are information, and in mode
 * auto the reason there is no GPU ("decoder: cpu (no GPU: CUDA driver
 * version is insufficient ...)" on every machine without one) is detail
 * for -d: by default the line only says that there is none. In mode gpu
 * ("decoder=gpu: no usable GPU ...") and at run time ("decoder: CUDA
 * error ...") they stay errors.
 */
void df11fs_cache_log(void *ctx, const char *line)
{
	static const char nogpu[] = "decoder: cpu (no GPU: ";

	(void)ctx;
	if (strncmp(line, nogpu, sizeof(nogpu) - 1) == 0) {
		if (log_debug)
			df11fs_log(LOG_DEBUG, "%s", line);
		else
			df11fs_log(LOG_INFO,
				   "decoder: cpu (no GPU: none usable; -d says "
				   "why)");
	} else if (strncmp(line, "decoder: ", 9) == 0 &&
		   strncmp(line, "decoder: CUDA", 13) != 0) {
		df11fs_log(LOG_INFO, "%s", line);
	} else {
		df11fs_log(LOG_ERR, "%s", line);
	}
}
