/* SPDX-License-Identifier: MIT */
/*
 * fs/reqstat.c - where the time of read requests goes
 *
 * Every read request is timed from the moment a worker starts it to the
 * moment its reply is written: the service time, and within it the time
 * the reply took (the copy into the kernel). Counters are atomics, so
 * workers never take a lock for them; the statistics file shows them
 * ("requests") next to the cache's stages (wait, fetch, decode, check).
 *
 * With -o trace=FILE, each read request is also one line of FILE:
 *
 *   T_US INO OFF SIZE INFLIGHT SERVICE_US REPLY_US
 *
 * (T_US: microseconds since the mount, at the start; INFLIGHT: requests
 * being served when it started, itself included), the request pattern
 * of a loader: sizes, order, concurrency. Lines are buffered and written
 * under one lock; the trace costs a few percent and is meant for
 * measurements, not for production.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fs_i.h"

uint64_t df11fs_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void df11fs_deadline(struct timespec *t, long ns)
{
	clock_gettime(CLOCK_REALTIME, t);
	t->tv_sec += ns / 1000000000L;
	t->tv_nsec += ns % 1000000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/* bucket of a request of @size bytes: 0 for <= 4 KiB, ..., 8 for 1 MiB+ */
static unsigned size_bucket(size_t size)
{
	unsigned b = 0;

	for (size_t s = 4096; s < size && b < DF11FS_REQ_BUCKETS - 1; s <<= 1)
		b++;
	return b;
}

int df11fs_reqstat_trace_open(struct df11fs *fs, const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	if (pthread_mutex_init(&fs->req.trace_lock, NULL) != 0) {
		fclose(f);
		return -ENOMEM;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	fs->req.trace = f;
	return 0;
}

void df11fs_reqstat_trace_close(struct df11fs *fs)
{
	if (!fs->req.trace)
		return;
	fclose(fs->req.trace);
	fs->req.trace = NULL;
	pthread_mutex_destroy(&fs->req.trace_lock);
}

void df11fs_reqstat_begin(struct df11fs *fs, struct df11fs_reqtime *t)
{
	struct df11fs_reqstat *r = &fs->req;
	uint64_t n = atomic_fetch_add_explicit(&r->in_flight, 1,
					       memory_order_relaxed) +
		     1;
	uint64_t max = atomic_load_explicit(&r->in_flight_max,
					    memory_order_relaxed);

	while (n > max && !atomic_compare_exchange_weak_explicit(
			      &r->in_flight_max, &max, n, memory_order_relaxed,
			      memory_order_relaxed))
		;
	atomic_fetch_add_explicit(&r->in_flight_sum, n, memory_order_relaxed);
	t->in_flight = n;
	t->start = df11fs_now_ns();
	t->reply = 0;
}

void df11fs_reqstat_end(struct df11fs *fs, const struct df11fs_reqtime *t,
			uint64_t ino, uint64_t off, size_t size, ssize_t served)
{
	struct df11fs_reqstat *r = &fs->req;
	uint64_t end = df11fs_now_ns(), dt = end - t->start;

	atomic_fetch_sub_explicit(&r->in_flight, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->reads, 1, memory_order_relaxed);
	if (served > 0)
		atomic_fetch_add_explicit(&r->bytes, (uint64_t)served,
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&r->service_ns, dt, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->reply_ns, t->reply, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->sizes[size_bucket(size)], 1,
				  memory_order_relaxed);
	if (!r->trace)
		return;
	pthread_mutex_lock(&r->trace_lock);
	fprintf(r->trace, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %zu %" PRIu64
			  " %" PRIu64 " %" PRIu64 "\n",
		(t->start - fs->start_ns) / 1000, ino, off, size, t->in_flight,
		dt / 1000, t->reply / 1000);
	pthread_mutex_unlock(&r->trace_lock);
}

json_t *df11fs_reqstat_json(struct df11fs *fs)
{
	static const char *const names[DF11FS_REQ_BUCKETS] = {
	    "4K", "8K", "16K", "32K", "64K", "128K", "256K", "512K", "1M"};
	struct df11fs_reqstat *r = &fs->req;
	json_t *o = json_object(), *sz = json_object();
	uint64_t reads = atomic_load(&r->reads);
	int bad = !o || !sz;

	for (unsigned i = 0; !bad && i < DF11FS_REQ_BUCKETS; i++)
		bad = json_object_set_new(sz, names[i],
					  df11fs_json_u64(atomic_load(&r->sizes[i])));
	bad = bad ||
	      json_object_set_new(o, "reads", df11fs_json_u64(reads)) ||
	      json_object_set_new(o, "bytes", df11fs_json_u64(atomic_load(&r->bytes))) ||
	      json_object_set_new(o, "service_ns",
				  df11fs_json_u64(atomic_load(&r->service_ns))) ||
	      json_object_set_new(o, "reply_ns",
				  df11fs_json_u64(atomic_load(&r->reply_ns))) ||
	      json_object_set_new(o, "in_flight_max",
				  df11fs_json_u64(atomic_load(&r->in_flight_max))) ||
	      json_object_set_new(
		  o, "in_flight_mean",
		  json_real(reads ? (double)atomic_load(&r->in_flight_sum) /
					(double)reads
				  : 0.0)) ||
	      json_object_set(o, "sizes", sz);
	json_decref(sz);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
