/* SPDX-License-Identifier: MIT */
/*
 * fs/main.c - the df11fs daemon: checks, mount, session loop, shutdown
 *
 * Order matters: the source is opened and checked before anything is
 * mounted (mounting itself scans nothing); the process daemonizes after
 * the mount succeeded (so mount(8) sees a failure as an exit status) and
 * before any thread exists (fork keeps only the calling thread); then the
 * cache and its workers start, and the multi-threaded loop runs until the
 * filesystem is unmounted or SIGINT or SIGTERM arrives.
 *
 * Operation: once the mount is made and the cache runs, just before the
 * loop, -f prints the readiness line "df11fs: mounted SOURCE on
 * MOUNTPOINT" on stdout and READY=1 goes to $NOTIFY_SOCKET (systemd's
 * Type=notify); STOPPING=1 when the loop ends. SIGUSR1 logs the
 * statistics line, SIGHUP reopens the log file; both are only flagged by
 * their handlers and acted on by the main thread in its tick. The
 * statistics line is logged at exit too.
 *
 * Exit status: 0 clean unmount, 1 runtime or mount failure, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "fs_i.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* Many inodes hold an O_PATH descriptor: allow as many as permitted. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Replace *@path by its absolute, resolved form. Return: 0 or -errno. */
static int resolve(char **path)
{
	char *abs = realpath(*path, NULL);

	if (!abs)
		return -errno;
	free(*path);
	*path = abs;
	return 0;
}

/*
 * SOURCE must be a readable directory, MOUNTPOINT a directory outside it.
 * Return: an O_PATH descriptor of SOURCE, or -1 (reported).
 */
static int check_paths(struct df11fs_conf *c)
{
	char **what = &c->source; /* resolve() replaces the string */
	size_t n;
	int fd, rc;
	struct stat st;

	rc = resolve(&c->source);
	if (rc)
		goto fail;
	fd = open(c->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	close(fd);
	what = &c->mountpoint;
	rc = resolve(&c->mountpoint);
	if (rc == 0 && stat(c->mountpoint, &st) != 0)
		rc = -errno;
	else if (rc == 0 && !S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	if (rc)
		goto fail;
	n = strlen(c->source);
	if (strncmp(c->mountpoint, c->source, n) == 0 &&
	    c->mountpoint[n] == '/') {
		df11fs_log(LOG_ERR, "mountpoint '%s' is inside source '%s'",
			   c->mountpoint, c->source);
		return -1;
	}
	fd = open(c->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		what = &c->source;
		goto fail;
	}
	return fd;

fail:
	df11fs_log(LOG_ERR, "cannot use '%s': %s", *what, strerror(-rc));
	return -1;
}

/* Options every mount gets. Return: 0 or -1 (out of memory). */
static int add_mount_opts(const struct df11fs_conf *c, struct fuse_args *args)
{
	char *opts = NULL, *fsname = NULL;
	char max_read[32];
	int rc = -1;

	snprintf(max_read, sizeof(max_read), "max_read=%u", c->max_read);
	if (asprintf(&fsname, "fsname=%s", c->fsname ? c->fsname : c->source) <
	    0) {
		fsname = NULL;
		goto out;
	}
	if (fuse_opt_add_opt(&opts, "ro") || /* last word: never rw */
	    fuse_opt_add_opt(&opts, "default_permissions") ||
	    fuse_opt_add_opt(&opts, "subtype=df11fs") ||
	    fuse_opt_add_opt(&opts, max_read) ||
	    fuse_opt_add_opt_escaped(&opts, fsname) ||
	    fuse_opt_add_arg(args, "-o") || fuse_opt_add_arg(args, opts))
		goto out;
	rc = 0;
out:
	free(fsname);
	free(opts);
	return rc;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* The device (major:minor) of the df11fs mount on @mnt, from mountinfo. */
static int mount_dev(const char *mnt, unsigned *maj, unsigned *min)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *sep;
	char path[PATH_MAX + 1], type[64];
	size_t cap = 0;
	unsigned a, b;
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		sep = strstr(line, " - ");
		if (!sep ||
		    sscanf(line, "%*u %*u %u:%u %*s %4096s", &a, &b, path) !=
			3 ||
		    sscanf(sep, " - %63s", type) != 1)
			continue;
		unescape(path);
		if (strcmp(path, mnt) == 0 &&
		    strcmp(type, "fuse.df11fs") == 0) {
			*maj = a; /* the last one is on top */
			*min = b;
			found = 0;
		}
	}
	free(line);
	fclose(f);
	return found;
}

void df11fs_set_readahead(const char *mnt, unsigned kb)
{
	char path[64], val[32];
	unsigned maj, min;
	int fd, len, rc;

	rc = mount_dev(mnt, &maj, &min);
	if (rc) {
		df11fs_log(LOG_DEBUG, "cannot find '%s' in mountinfo: %s", mnt,
			   strerror(-rc));
		return;
	}
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", maj,
		 min);
	len = snprintf(val, sizeof(val), "%u\n", kb);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, (size_t)len) != len)
		df11fs_log(LOG_DEBUG, "cannot set '%s' to %u: %s", path, kb,
			   strerror(errno));
	else
		df11fs_log(LOG_DEBUG, "kernel read-ahead %u KiB ('%s')", kb,
			   path);
	if (fd >= 0)
		close(fd);
}

/* ------------------------------------------------- signals, readiness */

/*
 * Set by the handlers, taken by tick(). Atomic, not only sig_atomic_t: a
 * thread that does not block the signals (one a library started) may run
 * the handler while the main thread reads the flag.
 */
static atomic_int got_usr1, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		atomic_store(&got_usr1, 1);
	else
		atomic_store(&got_hup, 1);
}

/*
 * SIGUSR1 and SIGHUP after fuse_set_signal_handlers(), which makes SIGHUP
 * end the session: here it must not take the models away.
 */
static int set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) || sigaction(SIGHUP, &sa, NULL))
		return -errno;
	return 0;
}

static void reset_signals(void)
{
	signal(SIGUSR1, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}

/*
 * sd_notify(3) without libsystemd: one datagram to the AF_UNIX socket
 * named by $NOTIFY_SOCKET (a leading '@' is the abstract namespace).
 * Without the variable nothing is sent; a failure is logged at debug.
 */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n;
	socklen_t len;
	int fd;

	if (!path || !*path)
		return;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@')) {
		df11fs_log(LOG_DEBUG, "NOTIFY_SOCKET '%s' not usable", path);
		return;
	}
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			  (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
			     (struct sockaddr *)&sa, len) < 0)
		df11fs_log(LOG_DEBUG, "cannot notify '%s': %s", path,
			   strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void log_stats(struct df11fs *fs)
{
	char line[512];

	df11fs_stats_line(fs, line, sizeof(line));
	df11fs_log(LOG_INFO, "%s", line);
}

/*
 * The main thread, at least every 100 ms: the signals' work, and once a
 * second letting go of source files deleted since, and of decoded files
 * when the machine runs short of memory.
 */
static void tick(void *ctx)
{
	static uint64_t last_sweep;
	struct df11fs *fs = ctx;
	uint64_t t = df11fs_now_ns();

	if (atomic_exchange(&got_hup, 0))
		df11fs_log_reopen();
	if (atomic_exchange(&got_usr1, 0))
		log_stats(fs);
	if (t - last_sweep >= 1000000000u) {
		last_sweep = t;
		df11fs_itable_sweep(&fs->itab);
		df11fs_fill_tick(fs->fill);
	}
}

/* -s: one worker serves, the main thread still takes the signals */
static int session_loop(struct df11fs *fs, struct fuse_session *se,
			const struct df11fs_conf *c)
{
	return df11fs_loop(se, c->single ? 1 : c->threads, tick, fs);
}

/* The mount is there and the cache runs: say so, to a script and systemd. */
static void ready(const struct df11fs_conf *c)
{
	char msg[64];

	if (c->foreground) {
		printf("df11fs: mounted %s on %s\n", c->source, c->mountpoint);
		fflush(stdout);
	}
	df11fs_log(c->foreground && !c->log ? LOG_DEBUG : LOG_INFO,
		   "mounted '%s' on '%s'", c->source, c->mountpoint);
	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld", (long)getpid());
	notify(msg);
}

/*
 * Where the decoded files go without -o decoded_dir=: a tmpfs of the
 * daemon's own, with huge pages (so that a file is written, read and
 * mapped in 2 MiB pages, which halves a load's time against 4 KiB memfd
 * pages), detached at once: only its descriptor reaches it, and it goes
 * with the daemon. Needs CAP_SYS_ADMIN; -1 without (memfds then).
 */
static int private_tmpfs(uint64_t budget)
{
	char dir[] = "/tmp/df11fs-decoded-XXXXXX", opts[96];
	int fd = -1;

	if (!mkdtemp(dir))
		return -1;
	snprintf(opts, sizeof(opts), "mode=0700,huge=within_size,size=%llu",
		 (unsigned long long)(budget + (64u << 20)));
	if (mount("df11fs-decoded", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) ==
	    0) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		umount2(dir, MNT_DETACH);
	}
	rmdir(dir);
	return fd;
}

/* the room backing files leave free by default: 1/8 of memory, <= 4 GiB */
#define RESERVE_MAX (4ull << 30)

/* -o decoded_cache=: the fill threads, one per CPU (or workers=). */
static int start_fill(struct df11fs *fs, const struct df11fs_conf *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct df11fs_fill_conf fc = {
	    .budget = c->decoded_cache,
	    .reserve = c->decoded_reserve,
	    .threads = c->cache.workers ? c->cache.workers
					: (unsigned)(cpus > 0 ? cpus : 1),
	};
	int dirfd = -1, rc;
	sigset_t old;

	if (!c->decoded_reserve_set) {
		fc.reserve = df11fs_mem_total() / 8;
		if (fc.reserve > RESERVE_MAX)
			fc.reserve = RESERVE_MAX;
	}

	if (c->decoded_dir) {
		int t;
		dirfd =
		    open(c->decoded_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		t = dirfd < 0 ? -1
			      : openat(dirfd, ".",
				       O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (t < 0) {
			df11fs_log(LOG_ERR,
				   "decoded_dir '%s': cannot make unnamed "
				   "files there: %s",
				   c->decoded_dir, strerror(errno));
			if (dirfd >= 0)
				close(dirfd);
			return -1;
		}
		close(t);
	} else {
		dirfd = private_tmpfs(c->decoded_cache);
		fc.own_dir = 1;
	}
	df11fs_log(LOG_DEBUG, "decoded files: %s, leaving %llu bytes free",
		   c->decoded_dir ? c->decoded_dir
		   : dirfd >= 0	  ? "a private tmpfs with huge pages"
				  : "memfds",
		   (unsigned long long)fc.reserve);
	fc.dirfd = dirfd;
	df11fs_signals_block(&old);
	rc = df11fs_fill_new(&fs->fill, &fc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		df11fs_log(LOG_ERR, "cannot start the whole-file decode: %s",
			   strerror(-rc));
	return rc;
}

/* Mounted and daemonized: start the cache, serve, unmount. */
static int serve(struct df11fs *fs, struct fuse_session *se,
		 const struct df11fs_conf *c)
{
	struct df11_cache_stats cst;
	sigset_t old;
	int rc;

	/* its workers (and a GPU library's threads) leave signals to us */
	df11fs_signals_block(&old);
	rc = df11_cache_new(&fs->cache, &c->cache, df11fs_cache_log, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		df11fs_log(LOG_ERR, "cannot start the cache: %s",
			   strerror(-rc));
		return EXIT_RUNTIME;
	}
	fs->itab.cache = fs->cache;
	/* header parses in flight: a quarter of the cache (df11fs(1)) */
	df11_cache_stats(fs->cache, &cst);
	if (df11_store_gate_new(&fs->gate, (size_t)(cst.budget / 4))) {
		df11fs_log(LOG_ERR, "cannot start: %s", strerror(ENOMEM));
		return EXIT_RUNTIME;
	}
	fs->itab.gate = fs->gate;
	/* idle containers' indexes: a quarter of the cache, at least 32M */
	fs->itab.index_cap =
	    (size_t)(cst.budget / 4 > DF11FS_INDEX_MIN ? cst.budget / 4
						       : DF11FS_INDEX_MIN);
	if (c->decoded_cache && start_fill(fs, c) != 0)
		return EXIT_RUNTIME;
	fs->se = se;
	ready(c);
	rc = df11fs_loop_init(se, fs->fill && !c->no_passthrough);
	if (rc == 1) {
		df11fs_fill_passthrough(fs->fill, se);
		df11fs_log(LOG_DEBUG, "init: passthrough accepted");
	}
	rc = rc < 0 ? 0 : session_loop(fs, se, c);
	df11fs_fill_stop(fs->fill);
	notify("STOPPING=1");
	log_stats(fs);
	/* > 0: the signal that ended the loop; < 0: an error */
	if (rc < 0) {
		df11fs_log(LOG_ERR, "session ended: %s", strerror(-rc));
		return EXIT_RUNTIME;
	}
	return 0;
}

/* -o headers=FILE: read it whole before mounting. Return: 0 or -1. */
static int read_headers(const struct df11fs_conf *c, char **txt, size_t *len)
{
	struct stat st;
	int fd, rc = -1;

	*txt = NULL;
	if (!c->headers)
		return 0;
	fd = open(c->headers, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size <= 100000000 &&
	    (*txt = malloc((size_t)st.st_size + 1)) &&
	    read(fd, *txt, (size_t)st.st_size) == st.st_size) {
		*len = (size_t)st.st_size;
		rc = 0;
	} else {
		df11fs_log(LOG_ERR, "cannot read '%s': %s", c->headers,
			   errno ? strerror(errno) : "too large");
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static int run(struct df11fs_conf *c, struct fuse_args *args)
{
	struct fuse_lowlevel_ops ops;
	struct fuse_session *se;
	struct df11fs fs;
	int status = EXIT_RUNTIME, root_fd, rc;
	char *headers = NULL;
	size_t headers_len = 0;

	raise_nofile();
	if (read_headers(c, &headers, &headers_len))
		return EXIT_RUNTIME;
	memset(&fs, 0, sizeof(fs));
	if (c->trace && (rc = df11fs_reqstat_trace_open(&fs, c->trace))) {
		df11fs_log(LOG_ERR, "cannot open trace file '%s': %s",
			   c->trace, strerror(-rc));
		free(headers);
		return EXIT_RUNTIME;
	}
	fs.attr_timeout = c->attr_timeout;
	fs.entry_timeout = c->entry_timeout;
	fs.allow_other = c->allow_other;
	fs.debug = c->debug;
	fs.kernel_ra_kb =
	    (unsigned)(c->kernel_ra >> 10 > UINT_MAX ? UINT_MAX
						     : c->kernel_ra >> 10);
	root_fd = check_paths(c);
	if (root_fd < 0) {
		df11fs_reqstat_trace_close(&fs);
		free(headers);
		return EXIT_RUNTIME;
	}
	fs.mountpoint = c->mountpoint; /* resolved now */
	fs.source = c->source;
	fs.max_read = c->max_read;
	fs.stats_ino.fd = -1;
	fs.stats_ino.path = (char *)DF11FS_STATS_NAME;
	if (pthread_mutex_init(&fs.lock, NULL) != 0) {
		close(root_fd);
		df11fs_reqstat_trace_close(&fs);
		free(headers);
		return EXIT_RUNTIME;
	}
	if (df11fs_itable_init(&fs.itab, root_fd) != 0) {
		df11fs_log(LOG_ERR, "out of memory");
		goto out_lock;
	}
	fs.itab.off_headers = headers;
	fs.itab.off_headers_len = headers_len;
	fs.itab.off_shard_size = c->shard_size;
	if (add_mount_opts(c, args) != 0) {
		df11fs_log(LOG_ERR, "out of memory");
		goto out_itab;
	}
	df11fs_ops_fill(&ops);
	se = fuse_session_new(args, &ops, sizeof(ops), &fs);
	if (!se) {
		status = EXIT_USAGE; /* libfuse said why */
		goto out_itab;
	}
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (set_signals() != 0)
		goto out_signals;
	if (df11fs_log_setup(c->log, c->foreground) != 0)
		goto out_signals;
	if (fuse_session_mount(se, c->mountpoint) != 0) {
		df11fs_log(LOG_ERR, "cannot mount '%s' on '%s'", c->source,
			   c->mountpoint);
		goto out_signals;
	}
	if (fuse_daemonize(c->foreground) != 0)
		goto out_unmount;
	if (!c->foreground)
		df11fs_log_detached();
	fs.start_ns = df11fs_now_ns();
	status = serve(&fs, se, c);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	reset_signals();
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	df11fs_handles_free_all(&fs);
	df11fs_fill_free(fs.fill);
out_itab:
	df11fs_itable_destroy(&fs.itab);
	df11_cache_free(fs.cache);
	df11_store_gate_free(fs.gate); /* after the sets the cache held */
out_lock:
	pthread_mutex_destroy(&fs.lock);
	df11fs_reqstat_trace_close(&fs);
	free(headers);
	return status;
}

int main(int argc, char **argv)
{
	struct df11fs_conf conf;
	struct fuse_args args;
	int rc, status;

	df11fs_log_install();
	rc = df11fs_opts_parse(argc, argv, &conf, &args);
	if (rc == DF11FS_OPTS_EXIT)
		status = 0;
	else if (rc != 0)
		status = EXIT_USAGE;
	else if (conf.fake)
		status = 0;
	else {
		df11fs_log_debug(conf.debug);
		status = run(&conf, &args);
	}
	fuse_opt_free_args(&args);
	df11fs_conf_free(&conf);
	df11fs_log_close();
	return status;
}
