/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/load.c - a model loader's reads, without the framework
 *
 * Does to a model directory what safetensors does under from_pretrained:
 * each *.safetensors file in name order is opened and mapped whole
 * (MAP_PRIVATE, as torch.UntypedStorage.from_file), its header is read
 * from the mapping and parsed, and every tensor is copied out of the
 * mapping in data order into a destination buffer (standing in for the
 * copy to the device). The destination is allocated and touched before
 * the clock starts; it is reused, as large as the largest tensor, one per
 * thread. With -j N, N threads take tensors in turn from one queue over
 * all the files (HF_ENABLE_PARALLEL_LOADING spreads the tensors over
 * threads). With -r the tensors are read with pread(2) instead of mapped.
 *
 *   bench_load [-j THREADS] [-r] DIR|FILE...
 *
 * Prints one JSON line: {"files", "tensors", "bytes" (tensor bytes
 * copied), "seconds", "gbps", "minflt", "majflt"} (faults of this process
 * over the same span). Exit status: 0, 1 a file that cannot be read or
 * parsed (one line on stderr), 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec/safetensors.h"

#define MAX_THREADS 256

/* one file of the model, mapped while the tensors are copied */
struct file {
	char *path;
	int fd;
	uint64_t size, data; /* data: offset of the data region */
	const uint8_t *map;  /* NULL with -r */
	struct df11_st *st;
};

/* one tensor to copy: the queue's entries, in file then data order */
struct job {
	struct file *f;
	uint64_t off, len; /* in the file */
};

static struct {
	struct file *files;
	size_t n_files;
	struct job *jobs;
	size_t n_jobs;
	_Atomic size_t next;
	_Atomic int failed;
	uint64_t biggest;
	int use_read;
} g;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_path(char ***v, size_t *n, char *p)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv || !p) {
		free(p);
		return -ENOMEM;
	}
	*v = nv;
	nv[(*n)++] = p;
	return 0;
}

/* @arg's safetensors files: itself, or a directory's, in name order */
static int list(const char *arg, char ***v, size_t *n)
{
	size_t first = *n, al = strlen(arg);
	struct dirent *de;
	DIR *d = opendir(arg);

	if (!d)
		return errno == ENOTDIR ? add_path(v, n, strdup(arg)) : -errno;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		char *p;

		if (l < 12 || strcmp(de->d_name + l - 12, ".safetensors"))
			continue;
		if ((p = malloc(al + l + 2)))
			snprintf(p, al + l + 2, "%s/%s", arg, de->d_name);
		if (add_path(v, n, p)) { /* frees p */
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	qsort(*v + first, *n - first, sizeof(**v), by_name);
	return 0;
}

static int rd_cb(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct file *f = ctx;

	if (f->map) {
		memcpy(buf, f->map + off, len);
		return 0;
	}
	ssize_t r = pread(f->fd, buf, len, (off_t)off);
	return r == (ssize_t)len ? 0 : r < 0 ? -errno : -EIO;
}

/* open, map and parse @f; its tensors join the queue */
static int open_file(struct file *f)
{
	char err[256] = "";
	uint8_t *hdr = NULL;
	size_t hlen = 0, n;
	struct stat sb;
	struct job *nj;
	int rc;

	if ((f->fd = open(f->path, O_RDONLY)) < 0 || fstat(f->fd, &sb)) {
		fprintf(stderr, "bench_load: '%s': %s\n", f->path,
			strerror(errno));
		return -1;
	}
	f->size = (uint64_t)sb.st_size;
	if (!g.use_read && f->size) {
		void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
		if (m == MAP_FAILED) {
			fprintf(stderr, "bench_load: '%s': mmap: %s\n", f->path,
				strerror(errno));
			return -1;
		}
		f->map = m;
	}
	rc = df11_st_read_header(rd_cb, f, f->size, &hdr, &hlen, err,
				 sizeof(err));
	if (!rc)
		rc = df11_st_parse(&f->st, hdr + 8, hlen - 8, f->size - hlen,
				   err, sizeof(err));
	free(hdr);
	if (rc) {
		fprintf(stderr, "bench_load: '%s': %s\n", f->path,
			err[0] ? err : strerror(-rc));
		return -1;
	}
	f->data = hlen;
	n = df11_st_n_tensors(f->st);
	if (!(nj = realloc(g.jobs, (g.n_jobs + n) * sizeof(*nj))))
		return -1;
	g.jobs = nj;
	for (size_t i = 0; i < n; i++) {
		const struct df11_st_tensor *t =
		    df11_st_tensor(f->st, df11_st_order(f->st)[i]);
		struct job *j = &g.jobs[g.n_jobs++];

		j->f = f;
		j->off = f->data + t->begin;
		j->len = t->end - t->begin;
		if (j->len > g.biggest)
			g.biggest = j->len;
	}
	return 0;
}

static void *worker(void *arg)
{
	uint8_t *dst = arg;
	size_t i;

	while (!g.failed && (i = atomic_fetch_add(&g.next, 1)) < g.n_jobs) {
		const struct job *j = &g.jobs[i];

		if (j->f->map)
			memcpy(dst, j->f->map + j->off, (size_t)j->len);
		else if (rd_cb(j->f, dst, (size_t)j->len, j->off)) {
			fprintf(stderr,
				"bench_load: '%s': cannot read %llu "
				"bytes at offset %llu\n",
				j->f->path, (unsigned long long)j->len,
				(unsigned long long)j->off);
			g.failed = 1;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned threads = 1;
	char **paths = NULL;
	pthread_t tid[MAX_THREADS];
	uint8_t *dst[MAX_THREADS];
	struct rusage r0, ra, rb, r1;
	uint64_t bytes = 0;
	double t0, t;
	int c;

	while ((c = getopt(argc, argv, "j:r")) != -1) {
		if (c == 'j' && (threads = (unsigned)atoi(optarg)) >= 1 &&
		    threads <= MAX_THREADS)
			continue;
		if (c == 'r') {
			g.use_read = 1;
			continue;
		}
		fprintf(stderr,
			"usage: bench_load [-j THREADS (1-%d)] [-r] "
			"DIR|FILE...\n",
			MAX_THREADS);
		return 2;
	}
	if (optind == argc) {
		fprintf(stderr, "usage: bench_load [-j THREADS] [-r] "
				"DIR|FILE...\n");
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (list(argv[i], &paths, &g.n_files)) {
			fprintf(stderr, "bench_load: '%s': %s\n", argv[i],
				strerror(errno ? errno : ENOMEM));
			return 1;
		}
	if (!g.n_files || !(g.files = calloc(g.n_files, sizeof(*g.files)))) {
		fprintf(stderr, "bench_load: no .safetensors file\n");
		return 1;
	}
	for (size_t i = 0; i < g.n_files; i++)
		g.files[i].path = paths[i];

	/* opening and parsing count (an open may wait for the file); the
	 * destinations, sized by the headers, are made off the clock and
	 * their faults not counted */
	getrusage(RUSAGE_SELF, &r0);
	t0 = now_s();
	for (size_t i = 0; i < g.n_files; i++)
		if (open_file(&g.files[i]))
			return 1;
	t = now_s() - t0;
	getrusage(RUSAGE_SELF, &ra);
	for (unsigned i = 0; i < threads; i++) {
		if (!(dst[i] = malloc(g.biggest ? (size_t)g.biggest : 1)))
			return 1;
		memset(dst[i], 0, (size_t)g.biggest);
	}
	getrusage(RUSAGE_SELF, &rb);
	t0 = now_s() - t;
	for (unsigned i = 1; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker, dst[i]))
			return 1;
	worker(dst[0]);
	for (unsigned i = 1; i < threads; i++)
		pthread_join(tid[i], NULL);
	for (size_t i = 0; i < g.n_files; i++) {
		struct file *f = &g.files[i];
		if (f->map)
			munmap((void *)f->map, f->size);
		close(f->fd);
	}
	t = now_s() - t0;
	getrusage(RUSAGE_SELF, &r1);
	if (g.failed)
		return 1;
	for (size_t i = 0; i < g.n_jobs; i++)
		bytes += g.jobs[i].len;
	printf("{\"files\": %zu, \"tensors\": %zu, \"bytes\": %llu, "
	       "\"seconds\": %.3f, \"gbps\": %.2f, \"minflt\": %ld, "
	       "\"majflt\": %ld}\n",
	       g.n_files, g.n_jobs, (unsigned long long)bytes, t,
	       t > 0 ? (double)bytes / t / 1e9 : 0.0,
	       r1.ru_minflt - r0.ru_minflt - (rb.ru_minflt - ra.ru_minflt),
	       r1.ru_majflt - r0.ru_majflt - (rb.ru_majflt - ra.ru_majflt));
	for (size_t i = 0; i < g.n_files; i++) {
		df11_st_free(g.files[i].st);
		free(g.files[i].path);
	}
	for (unsigned i = 0; i < threads; i++)
		free(dst[i]);
	free(g.files);
	free(g.jobs);
	free(paths);
	return 0;
}
