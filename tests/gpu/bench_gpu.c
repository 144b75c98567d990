/* SPDX-License-Identifier: MIT */
/*
 * tests/gpu/bench_gpu.c - DF11 GPU decode throughput next to a device copy
 *
 * For units of 16, 64 and 256 Mi weights drawn N(0, 0.02) and Student-t(3)
 * (scaled to sd 0.02, as tests/bench/codec.c draws them): encode on the
 * CPU, check the CPU decoder, then
 *   kernel   the decode kernel alone, inputs already on the device: median
 *            (and best) of 25 launches timed with CUDA events after
 *            warm-up, and 20 launches back to back
 *   copy     cudaMemcpy device to device of the same output size, timed the
 *            same way in the same run (the roofline)
 *   e2e      df11_gpu_decode() from host memory, transfers included: from
 *            pinned buffers (df11_gpu_host_alloc) and from malloc memory
 * All figures are GB/s of BF16 output (2 bytes per weight). Every output is
 * compared with the original weights first; any difference exits 1.
 *
 *   bench_gpu [Mi weights ...]      default: 16 64 256
 *
 * The library: $DF11_GPU_LIB, else df11_gpu_open()'s default search. Exits
 * 77 without a GPU. Benchmarks are not tests: it asserts only correctness.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/df11.h"
#include "gpu/gpu.h"
#include "gpu/gpu_i.h"
#include "tests/unit/units.h"
#include "tests/unit/decode_mt.h"
#include "tests/unit/weights.h"

#define REPS	 25
#define E2E_REPS 5

static struct df11_gpu *G;

struct genarg {
	uint8_t *w;
	size_t lo, hi;
	int t3;
	uint64_t seed;
};

static void *gen_part(void *p)
{
	struct genarg *g = p;
	uint64_t s = g->seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = g->lo; i < g->hi; i++) {
		uint16_t v = wt_bf16(
		    (float)(g->t3 ? wt_t3(&s, 0.02) : 0.02 * wt_gauss(&s)));
		g->w[2 * i] = (uint8_t)v;
		g->w[2 * i + 1] = (uint8_t)(v >> 8);
	}
	return NULL;
}

static void gen(uint8_t *w, size_t n, int t3, unsigned nthr)
{
	pthread_t tid[64];
	struct genarg a[64];
	if (nthr > 64)
		nthr = 64;
	for (unsigned t = 0; t < nthr; t++) {
		a[t] = (struct genarg){w, n * t / nthr, n * (t + 1) / nthr, t3,
				       1000 * (uint64_t)t3 + t + 1};
		if (pthread_create(&tid[t], NULL, gen_part, &a[t]))
			gen_part(&a[t]), tid[t] = 0;
	}
	for (unsigned t = 0; t < nthr; t++)
		if (tid[t])
			pthread_join(tid[t], NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int fail(const char *what, size_t mib, const char *dist)
{
	fprintf(stderr, "bench_gpu: %s (%zu Mi weights, %s)\n", what, mib,
		dist);
	exit(1);
}

/* df11_gpu_decode() of the whole unit from the given host buffers */
static double e2e(const struct unit *x, const uint8_t *enc, const uint8_t *gaps,
		  const uint8_t *sm, uint8_t *out, const uint8_t *w,
		  unsigned reps, size_t mib, const char *dist)
{
	uint64_t n = x->sz.n_elems;
	double t[16];
	for (unsigned r = 0; r <= reps; r++) { /* the first: warm-up */
		struct df11_gpu_job j = {x->u,
					 {enc, 0, x->sz.enc},
					 {gaps, 0, x->sz.gaps},
					 {sm, 0, n},
					 0,
					 n,
					 out,
					 1};
		memset(out, 0, 2 * n);
		double t0 = wt_now();
		int rc = df11_gpu_decode(G, &j, 1);
		double t1 = wt_now();
		if (rc || j.rc)
			fail("df11_gpu_decode failed", mib, dist);
		if (memcmp(out, w, 2 * n))
			fail("df11_gpu_decode output differs", mib, dist);
		if (r)
			t[r - 1] = t1 - t0;
	}
	qsort(t, reps, sizeof(double), cmp_double);
	return 2.0 * n / t[reps / 2] / 1e9;
}

static void bench(size_t mib, int t3, unsigned nthr)
{
	const char *dist = t3 ? "t(3)" : "N(0,.02)";
	size_t n = mib << 20;
	uint8_t *w = malloc(2 * n), *out = malloc(2 * n);
	struct unit x;
	struct df11_gpu_timing tm;

	if (!w || !out)
		fail("out of memory", mib, dist);
	gen(w, n, t3, nthr);
	if (unit_encode(&x, w, n))
		fail("cannot encode", mib, dist);
	/* the CPU decoder first: the reference */
	struct df11_span es = {x.enc, 0, x.sz.enc}, gs = {x.gaps, 0, x.sz.gaps},
			 ss = {x.sm, 0, n};
	memset(out, 0, 2 * n);
	double c0 = wt_now();
	if (unit_decode_mt(x.u, &es, &gs, &ss, 0, n, out, nthr) ||
	    memcmp(out, w, 2 * n))
		fail("the CPU decoder disagrees with the weights", mib, dist);
	double cpu = 2.0 * n / (wt_now() - c0) / 1e9;
	/* the kernel alone, next to a device copy */
	struct df11_gpu_job j = {x.u, es, gs, ss, 0, n, out, 1};
	memset(out, 0, 2 * n);
	int rc = df11_gpu_time_kernel(G, &j, 1, REPS, &tm);
	if (rc || j.rc)
		fail("df11_gpu_time_kernel failed", mib, dist);
	if (memcmp(out, w, 2 * n))
		fail("kernel output differs from the CPU decoder", mib, dist);
	double gb = 2.0 * n / 1e9;
	double k_med = gb / (tm.kernel_med / 1e3),
	       k_min = gb / (tm.kernel_min / 1e3);
	double k_b2b = gb / (tm.kernel_b2b / 1e3),
	       cp = gb / (tm.copy_med / 1e3);
	/* end to end from host memory */
	size_t in = x.sz.enc + x.sz.gaps + n;
	uint8_t *pin = df11_gpu_host_alloc(G, in),
		*pout = df11_gpu_host_alloc(G, 2 * n);
	double e_pin = 0, e_page;
	if (pin && pout) {
		memcpy(pin, x.enc, x.sz.enc);
		memcpy(pin + x.sz.enc, x.gaps, x.sz.gaps);
		memcpy(pin + x.sz.enc + x.sz.gaps, x.sm, n);
		e_pin = e2e(&x, pin, pin + x.sz.enc, pin + x.sz.enc + x.sz.gaps,
			    pout, w, E2E_REPS, mib, dist);
	}
	df11_gpu_host_free(G, pin);
	df11_gpu_host_free(G, pout);
	e_page = e2e(&x, x.enc, x.gaps, x.sm, out, w, 3, mib, dist);
	printf("%5zu Mi %-9s %6.4f %8.1f %8.1f %8.1f %8.1f %7.3f %7.1f "
	       "%7.1f %6.1f %5u\n",
	       mib, dist,
	       (double)(x.sz.enc + x.sz.gaps + x.sz.op + n) / (2.0 * n), k_med,
	       k_min, k_b2b, cp, k_med / cp, e_pin, e_page, cpu,
	       tm.slow_blocks);
	fprintf(stderr,
		"  %zu Mi %s: grid %u x 512, %u B shared, %u blocks/SM, "
		"kernel %.3f ms (min %.3f), copy %.3f ms\n",
		mib, dist, tm.grid, tm.smem, tm.occupancy, tm.kernel_med,
		tm.kernel_min, tm.copy_med);
	fflush(stdout);
	unit_free(&x);
	free(w);
	free(out);
}

int main(int argc, char **argv)
{
	struct df11_gpu_opts o = {0, (uint64_t)2 << 30, getenv("DF11_GPU_LIB")};
	char err[512] = "";
	size_t sizes[8] = {16, 64, 256};
	unsigned ns = 3, nthr = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);

	if (argc > 1)
		for (ns = 0; ns < 8 && ns + 1 < (unsigned)argc; ns++)
			sizes[ns] = strtoul(argv[ns + 1], NULL, 10);
	int rc = df11_gpu_open(&G, &o, err, sizeof(err));
	if (rc == -ENODEV) {
		printf("no GPU: %s\n", err);
		return 77;
	}
	if (rc) {
		fprintf(stderr, "bench_gpu: cannot open the GPU: %s\n",
			strerror(-rc));
		return 1;
	}
	printf("DF11 decode on %s; GB/s of BF16 output (2 B per weight)\n",
	       df11_gpu_name(G));
	printf("kernel: inputs on the device, CUDA events, median of %d "
	       "(best, 20 back to back)\n",
	       REPS);
	printf(
	    "copy: cudaMemcpy D2D of the output size (bytes copied / time)\n");
	printf("e2e: df11_gpu_decode() from host memory incl. transfers, "
	       "median of %d (pinned) / 3 (malloc)\n",
	       E2E_REPS);
	printf("official kernel on this H200 (anchors.md 8): 16 Mi 409/401, "
	       "64 Mi 498/468, 256 Mi 532/495 (normal/t3)\n\n");
	printf("%8s %-9s %6s %8s %8s %8s %8s %7s %7s %7s %6s %5s\n", "weights",
	       "dist", "ratio", "kernel", "best", "b2b", "copy", "k/copy",
	       "e2e-pin", "e2e-mal", "cpu", "slow");
	for (unsigned i = 0; i < ns; i++)
		for (int t3 = 0; t3 < 2; t3++)
			bench(sizes[i], t3, nthr);
	printf("\nslow: blocks per launch that the reference walk had to "
	       "decide (0 expected); cpu: df11_unit_decode on %u threads\n",
	       nthr);
	df11_gpu_close(G);
	return 0;
}
