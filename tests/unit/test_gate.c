/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_gate.c - store/gate.c: admission of header parses
 *
 * Large costs wait in arrival order while the budget is taken (one over
 * the budget runs alone), small ones never wait behind them; jansson
 * works inside and outside a large parse's region (values made before
 * it outlive it and may be freed inside it; none made inside may
 * outlive it, which ct_read.c keeps); a container opened
 * through the gate is counted with its index until its set is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/container.h"
#include "codec/source.h"
#include "store/store_i.h"
#include "test.h"

#define MIB (1u << 20)

struct parse {
	pthread_t th;
	struct df11_store_gate *g;
	size_t cost;
	atomic_int in, release;
};

static void *hold(void *p)
{
	struct parse *a = p;

	store_gate_enter(a->g, a->cost);
	atomic_store(&a->in, 1);
	while (!atomic_load(&a->release))
		usleep(1000);
	store_gate_leave(a->g, a->cost);
	return NULL;
}

static void start(struct parse *a, struct df11_store_gate *g, size_t cost)
{
	memset(a, 0, sizeof(*a));
	a->g = g;
	a->cost = cost;
	ASSERT_EQ(pthread_create(&a->th, NULL, hold, a), 0);
}

static void wait_in(struct parse *a)
{
	while (!atomic_load(&a->in))
		usleep(1000);
}

static void test_lanes(void)
{
	struct df11_store_gate *g;
	struct df11_store_gate_stats st;
	struct parse a, b, c;

	ASSERT_EQ(df11_store_gate_new(&g, MIB), 0);
	start(&a, g, 32 * MIB); /* over the budget: runs alone */
	wait_in(&a);
	start(&b, g, 32 * MIB);
	usleep(50000);
	ASSERT(!atomic_load(&b.in));
	/* a small one passes the waiting large one */
	store_gate_enter(g, MIB);
	store_gate_leave(g, MIB);
	start(&c, g, 17 * MIB);
	usleep(50000);
	atomic_store(&a.release, 1);
	wait_in(&b); /* first come, first served */
	usleep(50000);
	ASSERT(!atomic_load(&c.in));
	atomic_store(&b.release, 1);
	wait_in(&c);
	atomic_store(&c.release, 1);
	pthread_join(a.th, NULL);
	pthread_join(b.th, NULL);
	pthread_join(c.th, NULL);
	df11_store_gate_stats(g, &st);
	ASSERT_EQ(st.budget, MIB);
	ASSERT_EQ(st.used, 0);
	ASSERT_EQ(st.parses, 4);
	ASSERT_EQ(st.waits, 2);
	ASSERT_EQ(st.peak, 33 * MIB);
	ASSERT(st.wait_ns > 0);
	df11_store_gate_free(g);
	ASSERT_EQ(df11_store_gate_cost(1000), 1000 * DF11_STORE_PARSE_FACTOR);
	ASSERT_EQ(df11_store_gate_cost(UINT64_MAX), SIZE_MAX);
}

/* an object of @n entries "k<i>": i, as text */
static char *doc(size_t n)
{
	size_t cap = 32 + 24 * n, at = 0;
	char *s = malloc(cap);

	ASSERT(s != NULL);
	s[at++] = '{';
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(s + at, cap - at, "%s\"k%zu\":%zu",
				       i ? "," : "", i, i);
	s[at++] = '}';
	s[at] = '\0';
	return s;
}

/* jansson inside a large parse (its region) and outside (malloc) */
static void test_region(void)
{
	struct df11_store_gate *g;
	char *txt = doc(100000);
	json_t *in, *out, *old;

	ASSERT_EQ(df11_store_gate_new(&g, MIB), 0);
	out = json_loads(txt, 0, NULL); /* outlives the region */
	old = json_loads(txt, 0, NULL); /* freed inside it */
	ASSERT(out != NULL && old != NULL);
	store_gate_enter(g, 64 * MIB);
	in = json_loads(txt, JSON_REJECT_DUPLICATES, NULL);
	ASSERT(in != NULL);
	ASSERT_EQ(json_object_size(in), 100000);
	ASSERT_EQ(json_integer_value(json_object_get(in, "k99999")), 99999);
	ASSERT_EQ(json_object_del(in, "k5"), 0);
	json_decref(old); /* malloc'ed blocks go back to malloc */
	json_decref(in);
	store_gate_leave(g, 64 * MIB);
	ASSERT_EQ(json_integer_value(json_object_get(out, "k77")), 77);
	ASSERT_EQ(json_object_size(out), 100000);
	json_decref(out);
	df11_store_gate_free(g);
	free(txt);
}

struct buf {
	uint8_t *p;
	size_t len;
};

static int append(void *ctx, const void *b, size_t len, uint64_t *off)
{
	struct buf *d = ctx;

	d->p = realloc(d->p, d->len + len);
	ASSERT(d->p != NULL);
	memcpy(d->p + d->len, b, len);
	*off = d->len;
	d->len += len;
	return 0;
}

/* a container of one BF16 tensor, written to @path */
static void write_container(const char *path)
{
	static const char json[] = "{\"w\":{\"dtype\":\"BF16\",\"shape\":"
				   "[20000],\"data_offsets\":[0,40000]}}";
	size_t hl = (sizeof(json) - 1 + 7) / 8 * 8, len = 8 + hl + 40000;
	uint8_t *orig = calloc(1, len), *hdr;
	struct buf data = {0};
	struct df11_ctw *w;
	size_t hdr_len;
	FILE *f;

	ASSERT(orig != NULL);
	orig[0] = (uint8_t)hl;
	memset(orig + 8, ' ', hl);
	memcpy(orig + 8, json, sizeof(json) - 1);
	for (size_t i = 0; i < 20000; i++)
		orig[8 + hl + 2 * i + 1] = (uint8_t)(0x3c + i % 3);
	ASSERT_EQ(df11_ctw_new(&w, orig, 8 + hl, len, NULL, NULL, 0), 0);
	for (size_t i = 0; i < df11_ctw_n_segments(w); i++) {
		uint64_t off, n;
		const struct df11_st_tensor *t;

		df11_ctw_segment(w, i, &off, &n, &t);
		ASSERT_EQ(df11_ctw_encode(w, i, orig + off, append, &data), 0);
	}
	ASSERT_EQ(df11_ctw_header(w, data.len, &hdr, &hdr_len), 0);
	ASSERT((f = fopen(path, "wb")) != NULL);
	ASSERT_EQ(fwrite(hdr, 1, hdr_len, f), hdr_len);
	ASSERT_EQ(fwrite(data.p, 1, data.len, f), data.len);
	ASSERT_EQ(fclose(f), 0);
	free(hdr);
	free(data.p);
	free(orig);
	df11_ctw_free(w);
}

/* an open container is counted with its index until its set is freed */
static void test_index(const char *path)
{
	struct df11_store_gate *g;
	struct df11_store_gate_stats st;
	struct df11_store_set *set;
	struct df11_source *src;
	char err[256];

	write_container(path);
	ASSERT_EQ(df11_store_gate_new(&g, MIB), 0);
	ASSERT_EQ(df11_store_ct_open(AT_FDCWD, path, 0, g, &src, &set, err,
				     sizeof(err)),
		  0);
	df11_store_gate_stats(g, &st);
	ASSERT_EQ(st.parses, 1);
	ASSERT_EQ(st.waits, 0);
	ASSERT_EQ(st.used, 0);
	ASSERT(st.peak > 0 && st.peak <= DF11_STORE_GATE_SMALL);
	ASSERT_EQ(st.containers, 1);
	/* one df11 unit: its fast table alone is 32 KiB */
	ASSERT(st.index > 32768 && st.index < 256 * 1024);
	ASSERT_EQ(st.index_peak, st.index);
	df11_source_free(src);
	df11_store_set_put(set);
	df11_store_gate_stats(g, &st);
	ASSERT_EQ(st.containers, 0);
	ASSERT_EQ(st.index, 0);
	ASSERT(st.index_peak > 32768);
	df11_store_gate_free(g);
}

int main(void)
{
	char path[] = "/tmp/df11-gate-XXXXXX";
	int fd = mkstemp(path);

	ASSERT(fd >= 0);
	close(fd);
	test_lanes();
	test_region();
	test_index(path);
	unlink(path);
	TEST_DONE();
}
