/* SPDX-License-Identifier: MIT */
/*
 * tests/hostile/starve.c - a load generator for one file: pread readers
 * and mmap readers at once, each operation timed
 *
 * usage: starve [-p N] [-m M] [-t SECS] [-r BYTES] [-q BYTES] [-s]
 *               [-d SECS] [-c ORIG] [-1] [-k] FILE
 *
 *   -p N      pread threads (default 16), each with its own open file
 *   -m M      mmap threads (default 4): each maps FILE, madvise()s it
 *             MADV_RANDOM and memcpy()s random ranges out of the map
 *   -t SECS   run for SECS seconds (default 10)
 *   -r BYTES  bytes per pread (default 1 MiB)
 *   -q BYTES  bytes per memcpy (default 64 KiB)
 *   -s        pread threads read sequentially (each from a random start,
 *             wrapping at the end) instead of at random offsets
 *   -d SECS   deadline: an operation that takes longer is reported, and
 *             the exit status is 1 (default 0: none)
 *   -c ORIG   compare every operation's bytes with file ORIG
 *   -1        the pread threads share one open file (and so the
 *             daemon's sequential detection of it)
 *   -k        keep the kernel's page cache: by default every operation
 *             drops the pages it read afterwards (madvise MADV_DONTNEED
 *             of the map, posix_fadvise POSIX_FADV_DONTNEED of the
 *             file), so that each one reaches the filesystem, as under
 *             memory pressure, instead of the page cache
 *
 * Prints one line per kind of reader: operations, p50, p99 and max
 * latency in ms, and MB/s (10^6 bytes per second of the run), then
 * "ok" or the first failure. Random offsets come from a fixed seed per
 * thread, so two runs ask for the same ranges. A read error or wrong
 * bytes give exit status 1; usage errors 2. A benchmark helper, not a
 * test: a figure fails nothing but -d.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_OPS	    (1u << 20) /* latencies kept per thread */

struct opts {
	unsigned n_pread, n_mmap;
	double secs, deadline;
	size_t rlen, qlen;
	int seq, shared, keep;
	int fd; /* with -1: the pread threads' file */
	const char *file, *orig;
	uint64_t size;
};

struct thr {
	pthread_t tid;
	const struct opts *o;
	unsigned idx;
	int mmap;
	uint64_t *lat; /* ns per operation */
	size_t n;
	uint64_t bytes;
	char err[256];
};

static atomic_int stop;
static atomic_int failed;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* xorshift64*: a fixed sequence per seed */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* the first failure of @t: @what at @off failed with errno @e */
static void fail(struct thr *t, const char *what, uint64_t off, int e)
{
	snprintf(t->err, sizeof(t->err), "%s at %" PRIu64 ": %s", what, off,
		 strerror(e));
	atomic_store(&failed, 1);
	atomic_store(&stop, 1);
}

/* are the @len bytes at @off equal to those of @ofd? */
static int same(int ofd, const uint8_t *p, size_t len, uint64_t off,
		uint8_t *tmp)
{
	ssize_t r = pread(ofd, tmp, len, (off_t)off);
	return r == (ssize_t)len && memcmp(p, tmp, len) == 0;
}

/* with -k, nothing; else drop the pages of [@off, @off + @len) of @fd */
static void drop(const struct opts *o, int fd, uint64_t off, size_t len)
{
	uint64_t a = off & ~4095ull, e = (off + len + 4095) & ~4095ull;

	if (!o->keep)
		posix_fadvise(fd, (off_t)a, (off_t)(e - a),
			      POSIX_FADV_DONTNEED);
}

/* one timed operation ended: keep its latency, check the deadline */
static void timed(struct thr *t, uint64_t dt, uint64_t off, size_t len)
{
	if (t->n < MAX_OPS)
		t->lat[t->n++] = dt;
	t->bytes += len;
	if (t->o->deadline > 0 && dt > t->o->deadline * 1e9 && !t->err[0]) {
		snprintf(t->err, sizeof(t->err),
			 "%s at %" PRIu64 " took %.3f s",
			 t->mmap ? "memcpy" : "pread", off, dt / 1e9);
		atomic_store(&failed, 1);
	}
}

static void *run_pread(void *arg)
{
	struct thr *t = arg;
	const struct opts *o = t->o;
	uint64_t seed = 0x9E3779B97F4A7C15ull * (t->idx + 1);
	size_t len = o->rlen < o->size ? o->rlen : o->size;
	uint8_t *buf = malloc(len), *tmp = malloc(len);
	int fd = o->shared ? o->fd : open(o->file, O_RDONLY);
	int ofd = o->orig ? open(o->orig, O_RDONLY) : -1;
	uint64_t off = rnd(&seed) % (o->size - len + 1);

	if (!buf || !tmp || fd < 0 || (o->orig && ofd < 0)) {
		fail(t, "start of a pread thread", 0, errno ? errno : ENOMEM);
		goto out;
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (!o->seq)
			off = rnd(&seed) % (o->size - len + 1);
		else if (off + len > o->size)
			off = 0;
		uint64_t t0 = now_ns();
		ssize_t r = pread(fd, buf, len, (off_t)off);
		uint64_t dt = now_ns() - t0;
		if (r != (ssize_t)len) {
			fail(t, "pread", off, r < 0 ? errno : EIO);
			break;
		}
		if (ofd >= 0 && !same(ofd, buf, len, off, tmp)) {
			fail(t, "pread", off, EBADMSG);
			break;
		}
		timed(t, dt, off, len);
		drop(o, fd, off, len);
		off += len;
	}
out:
	if (ofd >= 0)
		close(ofd);
	if (fd >= 0 && !o->shared)
		close(fd);
	free(tmp);
	free(buf);
	return NULL;
}

static void *run_mmap(void *arg)
{
	struct thr *t = arg;
	const struct opts *o = t->o;
	uint64_t seed = 0xD1B54A32D192ED03ull * (t->idx + 1);
	size_t len = o->qlen < o->size ? o->qlen : o->size;
	uint8_t *buf = malloc(len), *tmp = malloc(len);
	int fd = open(o->file, O_RDONLY);
	int ofd = o->orig ? open(o->orig, O_RDONLY) : -1;
	uint8_t *map = MAP_FAILED;

	if (fd >= 0)
		map = mmap(NULL, o->size, PROT_READ, MAP_SHARED, fd, 0);
	if (!buf || !tmp || map == MAP_FAILED || (o->orig && ofd < 0)) {
		fail(t, "start of an mmap thread", 0, errno ? errno : ENOMEM);
		goto out;
	}
	madvise(map, o->size, MADV_RANDOM);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t off = rnd(&seed) % (o->size - len + 1);
		uint64_t t0 = now_ns();
		memcpy(buf, map + off, len);
		uint64_t dt = now_ns() - t0;
		if (ofd >= 0 && !same(ofd, buf, len, off, tmp)) {
			fail(t, "memcpy", off, EBADMSG);
			break;
		}
		timed(t, dt, off, len);
		if (!o->keep) {
			uint64_t a = off & ~4095ull;
			madvise(map + a, off + len - a, MADV_DONTNEED);
		}
		drop(o, fd, off, len);
	}
out:
	if (map != MAP_FAILED)
		munmap(map, o->size);
	if (ofd >= 0)
		close(ofd);
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(buf);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* the line of one kind of reader: threads [from, to) of @t */
static void report(const char *kind, struct thr *t, unsigned from, unsigned to,
		   double secs)
{
	size_t n = 0, k = 0;
	uint64_t bytes = 0, *all;

	for (unsigned i = from; i < to; i++)
		n += t[i].n, bytes += t[i].bytes;
	if (from == to)
		return;
	if (!n || !(all = malloc(n * sizeof(*all)))) {
		printf("%-6s threads %u ops 0\n", kind, to - from);
		return;
	}
	for (unsigned i = from; i < to; i++) {
		memcpy(all + k, t[i].lat, t[i].n * sizeof(*all));
		k += t[i].n;
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	printf("%-6s threads %u ops %zu p50 %.1f ms p99 %.1f ms max %.1f ms "
	       "%.1f MB/s\n",
	       kind, to - from, n, all[n / 2] / 1e6, all[n * 99 / 100] / 1e6,
	       all[n - 1] / 1e6, bytes / secs / 1e6);
	free(all);
}

static int usage(void)
{
	fputs("usage: starve [-p N] [-m M] [-t SECS] [-r BYTES] [-q BYTES] "
	      "[-s] [-d SECS] [-c ORIG] [-1] [-k] FILE\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = {.n_pread = 16,
			 .n_mmap = 4,
			 .secs = 10,
			 .rlen = 1u << 20,
			 .qlen = 64u << 10,
			 .fd = -1};
	struct thr *t;
	struct stat sb;
	int ch, rc = 0;

	while ((ch = getopt(argc, argv, "p:m:t:r:q:sd:c:1k")) != -1) {
		switch (ch) {
		case 'p':
			o.n_pread = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			o.n_mmap = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 't':
			o.secs = strtod(optarg, NULL);
			break;
		case 'r':
			o.rlen = strtoul(optarg, NULL, 0);
			break;
		case 'q':
			o.qlen = strtoul(optarg, NULL, 0);
			break;
		case 's':
			o.seq = 1;
			break;
		case 'd':
			o.deadline = strtod(optarg, NULL);
			break;
		case 'c':
			o.orig = optarg;
			break;
		case '1':
			o.shared = 1;
			break;
		case 'k':
			o.keep = 1;
			break;
		default:
			return usage();
		}
	}
	if (optind + 1 != argc || o.n_pread + o.n_mmap == 0 ||
	    o.n_pread + o.n_mmap > MAX_THREADS || !o.rlen || !o.qlen ||
	    !(o.secs > 0))
		return usage();
	o.file = argv[optind];
	if (stat(o.file, &sb) || sb.st_size <= 0) {
		fprintf(stderr, "starve: cannot use '%s': %s\n", o.file,
			sb.st_size ? strerror(errno) : "empty file");
		return 1;
	}
	o.size = (uint64_t)sb.st_size;
	if (o.shared && (o.fd = open(o.file, O_RDONLY)) < 0) {
		fprintf(stderr, "starve: cannot open '%s': %s\n", o.file,
			strerror(errno));
		return 1;
	}
	unsigned n = o.n_pread + o.n_mmap;
	if (!(t = calloc(n, sizeof(*t))))
		return 1;
	uint64_t t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		t[i] = (struct thr){.o = &o, .idx = i, .mmap = i >= o.n_pread};
		if (!(t[i].lat = malloc(MAX_OPS * sizeof(*t[i].lat))) ||
		    pthread_create(&t[i].tid, NULL,
				   t[i].mmap ? run_mmap : run_pread, &t[i])) {
			fprintf(stderr, "starve: cannot start thread %u\n", i);
			return 1;
		}
	}
	struct timespec ts = {(time_t)o.secs,
			      (long)((o.secs - (time_t)o.secs) * 1e9)};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	atomic_store(&stop, 1);
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i].tid, NULL);
	double secs = (now_ns() - t0) / 1e9;
	report("pread", t, 0, o.n_pread, secs);
	report("mmap", t, o.n_pread, n, secs);
	for (unsigned i = 0; i < n; i++)
		if (t[i].err[0]) {
			printf("starve: %s\n", t[i].err);
			rc = 1;
			break;
		}
	if (!rc && !atomic_load(&failed))
		printf("ok\n");
	for (unsigned i = 0; i < n; i++)
		free(t[i].lat);
	free(t);
	if (o.fd >= 0)
		close(o.fd);
	return rc || atomic_load(&failed);
}
