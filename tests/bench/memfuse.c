/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/memfuse.c - a FUSE file served from memory, the baseline of
 * the transport
 *
 *   bench_memfuse [-s SIZE] [-t THREADS] [-r KERNEL_RA] [-n NAME] [-k] [-d]
 *                 MOUNTPOINT
 *
 * Shows one read-only file of SIZE bytes (default 1G; K, M, G are powers
 * of 1024) at the root of MOUNTPOINT, named NAME (default "file"). Its
 * bytes are filled in at start (word i of the file is i times a 64-bit
 * odd constant, so no page is zero and every page is resident) and every
 * read is answered with fuse_reply_buf from that buffer: what remains of
 * a read through df11fs once decoding, checksums and the cache cost
 * nothing. It runs in the foreground until unmounted or signalled.
 *
 * The connection is set up as df11fs sets it up (fs/main.c, fs/ops.c), so
 * that a comparison measures df11fs and not a different transport: mount
 * options ro, default_permissions and max_read=1 MiB; max_write 1 MiB
 * (which also sets max_pages); asynchronous reads; max_background at
 * least 64 and the congestion threshold equal to it; the kernel
 * read-ahead raised to KERNEL_RA KiB (default 1024, 0 leaves the kernel's)
 * both in the mount's bdi and in max_readahead; attribute and entry
 * timeouts of one second. Requests are served by a fixed pool of THREADS
 * workers (default 16, as df11fs), started once, all reading the one
 * /dev/fuse descriptor.
 *
 * Each open drops the kernel's cached pages of the file (keep_cache off),
 * so every `cat` goes through this daemon; -k keeps them instead, and a
 * second `cat` is then served by the page cache. -d logs every request.
 * A benchmark helper, not installed. Exit status: 0 after an unmount or a
 * signal, 1 on an error at start, 2 on a usage error.
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_READ    (1u << 20) /* df11fs's DF11FS_MAX_READ */
#define MAX_THREADS 1024
#define FILE_INO    2

struct memfs {
	char *data;
	size_t nbytes;
	const char *name;
	const char *mountpoint;
	unsigned ra_kb;
	int keep_cache;
	struct timespec mtime;
	struct fuse_session *se;
};

static struct memfs *memfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* --------------------------------------------------- kernel read-ahead */

/*
 * Set /sys/class/bdi/MAJ:MIN/read_ahead_kb of the memfuse mount on
 * @mnt, found in mountinfo (a stat of the mountpoint would wait for the
 * init this runs in). Best effort, as in df11fs: a failure is reported
 * and the kernel's default kept.
 */
static void set_readahead(const char *mnt, unsigned kb)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, path[4097], type[64], sys[64];
	size_t cap = 0;
	unsigned a, b, maj = 0, min = 0;
	int found = 0;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - ");
		/* a mountpoint with octal escapes is not matched: a bench */
		if (sep &&
		    sscanf(line, "%*u %*u %u:%u %*s %4096s", &a, &b, path) ==
			3 &&
		    sscanf(sep, " - %63s", type) == 1 &&
		    strcmp(path, mnt) == 0 &&
		    strcmp(type, "fuse.memfuse") == 0) {
			maj = a;
			min = b;
			found = 1;
		}
	}
	free(line);
	fclose(f);
	if (!found) {
		fprintf(stderr, "memfuse: cannot find '%s' in mountinfo\n",
			mnt);
		return;
	}
	snprintf(sys, sizeof(sys), "/sys/class/bdi/%u:%u/read_ahead_kb", maj,
		 min);
	f = fopen(sys, "we");
	if (!f || fprintf(f, "%u\n", kb) < 0 || fclose(f) != 0) {
		fprintf(stderr, "memfuse: cannot set '%s': %s\n", sys,
			strerror(errno));
		if (f)
			fclose(f);
	}
}

/* ---------------------------------------------------------- operations */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct memfs *m = userdata;

	conn->want |=
	    (FUSE_CAP_ASYNC_READ | FUSE_CAP_AUTO_INVAL_DATA) & conn->capable;
	conn->want &=
	    ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ATOMIC_O_TRUNC);
	conn->max_write = MAX_READ;
	conn->max_read = MAX_READ;
	if (conn->max_background < 64)
		conn->max_background = 64;
	conn->congestion_threshold = conn->max_background;
	if (m->ra_kb) {
		set_readahead(m->mountpoint, m->ra_kb);
		conn->max_readahead = m->ra_kb << 10;
	}
}

static int fill_attr(struct memfs *m, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atim = st->st_mtim = st->st_ctim = m->mtime;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
	} else if (ino == FILE_INO) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)m->nbytes;
		st->st_blocks = (blkcnt_t)((m->nbytes + 511) / 512);
		st->st_blksize = MAX_READ;
	} else {
		return -ENOENT;
	}
	return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct memfs *m = memfs_of(req);
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr_timeout = e.entry_timeout = 1.0;
	if (parent != FUSE_ROOT_ID || strcmp(name, m->name) != 0) {
		fuse_reply_entry(req, &e); /* a negative entry, cached */
		return;
	}
	e.ino = FILE_INO;
	fill_attr(m, FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;

	if (fill_attr(memfs_of(req), ino, &st) != 0)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, 1.0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->keep_cache = memfs_of(req)->keep_cache;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct memfs *m = memfs_of(req);
	(void)ino;
	(void)fi;

	if (off < 0 || (uint64_t)off >= m->nbytes) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > m->nbytes - (size_t)off)
		size = m->nbytes - (size_t)off;
	fuse_reply_buf(req, m->data + off, size);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct memfs *m = memfs_of(req);
	const char *names[] = {".", "..", m->name};
	const fuse_ino_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, FILE_INO};
	char buf[1024];
	size_t used = 0;
	(void)fi;

	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);
	for (off_t i = off < 0 ? 0 : off; i < 3; i++) {
		struct stat st = {.st_ino = inos[i]};
		size_t n;

		st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
		n = fuse_add_direntry(req, buf + used, size - used, names[i],
				      &st, i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

/* --------------------------------------------------------------- loop */

static void *worker(void *arg)
{
	struct memfs *m = arg;
	struct fuse_buf buf = {.mem = NULL};

	/* cancelled only where it waits for a request (see serve) */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	while (!fuse_session_exited(m->se)) {
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		int r = fuse_session_receive_buf(m->se, &buf);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r <= 0)
			break; /* unmounted */
		fuse_session_process_buf(m->se, &buf);
	}
	fuse_session_exit(m->se);
	kill(getpid(), SIGUSR1); /* wake the main thread */
	free(buf.mem);
	return NULL;
}

/*
 * A fixed pool of @threads workers. Every thread blocks the signals in
 * @set (from before the mount on, so that a signal always unmounts); the
 * main thread takes them with sigwait(). A worker that leaves (unmount)
 * sends SIGUSR1; then, or on SIGINT, SIGTERM or SIGHUP, the rest are
 * cancelled where they wait. A worker holding a cancelled request's
 * buffer leaks it: the process is about to exit.
 */
static int serve(struct memfs *m, const sigset_t *set, unsigned threads)
{
	pthread_t tid[MAX_THREADS];
	unsigned n;
	int sig;

	for (n = 0; n < threads; n++)
		if (pthread_create(&tid[n], NULL, worker, m) != 0)
			break;
	if (n == 0) {
		fprintf(stderr, "memfuse: cannot start a thread\n");
		return -1;
	}
	sigwait(set, &sig);
	fuse_session_exit(m->se);
	for (unsigned i = 0; i < n; i++)
		pthread_cancel(tid[i]);
	for (unsigned i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

/* ----------------------------------------------------------------- main */

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (*end || (v << shift) >> shift != v)
		return -EINVAL;
	*out = v << shift;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_memfuse [-s SIZE] [-t THREADS] [-r KERNEL_RA_KB]"
		" [-n NAME] [-k] [-d] MOUNTPOINT\n");
}

/* word i is i * an odd constant: distinct, never zero past word 0 */
static void fill(char *p, size_t nbytes)
{
	uint64_t w;
	size_t i;

	for (i = 0; i + 8 <= nbytes; i += 8) {
		w = (uint64_t)(i / 8) * 0x9e3779b97f4a7c15ull;
		memcpy(p + i, &w, 8);
	}
	w = (uint64_t)(i / 8) * 0x9e3779b97f4a7c15ull;
	memcpy(p + i, &w, nbytes - i);
}

int main(int argc, char **argv)
{
	struct fuse_lowlevel_ops ops = {
	    .init = op_init,
	    .lookup = op_lookup,
	    .getattr = op_getattr,
	    .open = op_open,
	    .read = op_read,
	    .readdir = op_readdir,
	};
	struct memfs m = {.name = "file", .ra_kb = 1024};
	uint64_t size = 1ull << 30, v;
	unsigned threads = 16;
	int debug = 0, c, status = 1;
	char *fargv[4] = {argv[0], "-o", NULL, "-d"};
	char opts[128];
	struct fuse_args args;
	sigset_t set;

	while ((c = getopt(argc, argv, "s:t:r:n:kdh")) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size) || size == 0 ||
			    size > SIZE_MAX / 2) {
				fprintf(stderr, "memfuse: invalid size '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_size(optarg, &v) || v < 1 ||
			    v > MAX_THREADS) {
				fprintf(stderr,
					"memfuse: threads must be 1 to %d\n",
					MAX_THREADS);
				return 2;
			}
			threads = (unsigned)v;
			break;
		case 'r':
			if (parse_size(optarg, &v) || v > (1u << 20)) {
				fprintf(stderr,
					"memfuse: invalid read-ahead "
					"'%s' (KiB)\n",
					optarg);
				return 2;
			}
			m.ra_kb = (unsigned)v;
			break;
		case 'n':
			if (!*optarg || strchr(optarg, '/')) {
				fprintf(stderr, "memfuse: invalid name '%s'\n",
					optarg);
				return 2;
			}
			m.name = optarg;
			break;
		case 'k':
			m.keep_cache = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	m.mountpoint = realpath(argv[optind], NULL);
	if (!m.mountpoint) {
		fprintf(stderr, "memfuse: cannot use '%s': %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	m.nbytes = (size_t)size;
	m.data = malloc(m.nbytes);
	if (!m.data) {
		fprintf(stderr, "memfuse: cannot allocate %zu bytes\n",
			m.nbytes);
		goto out_path;
	}
	fill(m.data, m.nbytes);
	clock_gettime(CLOCK_REALTIME, &m.mtime);

	snprintf(opts, sizeof(opts),
		 "ro,default_permissions,fsname=memfuse,subtype=memfuse,"
		 "max_read=%u",
		 MAX_READ);
	fargv[2] = opts;
	args = (struct fuse_args)FUSE_ARGS_INIT(debug ? 4 : 3, fargv);
	m.se = fuse_session_new(&args, &ops, sizeof(ops), &m);
	fuse_opt_free_args(&args);
	if (!m.se)
		goto out_data;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (fuse_session_mount(m.se, m.mountpoint) != 0)
		goto out_session;
	if (serve(&m, &set, threads) == 0)
		status = 0;
	fuse_session_unmount(m.se);
out_session:
	fuse_session_destroy(m.se);
out_data:
	free(m.data);
out_path:
	free((char *)m.mountpoint);
	return status;
}
