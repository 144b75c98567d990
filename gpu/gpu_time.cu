/* SPDX-License-Identifier: MIT */
/*
 * gpu/gpu_time.cu - df11_gpu_impl_time(), the benchmark hook of
 * libdf11gpu.so (tests/gpu/bench_gpu.c)
 *
 * Copies the jobs' inputs to the device once, then times single kernel
 * launches (CUDA events on the legacy stream, 3 warm-up runs, median and
 * minimum), 20 launches back to back, and device-to-device copies of the
 * same output size; one last launch gives the verdicts, the count of
 * blocks the reference walk decided, and the output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_i.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* what a timed run does: a kernel launch or a device-to-device copy */
struct trun {
	uint8_t *d;
	size_t n, rc_off;
	uint64_t work;
	uint32_t max_cnt;
	uint8_t *dst;
	const uint8_t *src;
	size_t bytes;
};

static int run_once(struct impl *g, const struct trun *r, int copy,
		    struct df11_gpu_timing *t)
{
	if (copy)
		return cudaMemcpyAsync(r->dst, r->src, r->bytes,
				       cudaMemcpyDeviceToDevice, 0)
			   ? df11_gpu_fail(g)
			   : 0;
	return df11_gpu_launch(g, r->d, r->n, r->rc_off, r->work, r->max_cnt, 0,
			       t);
}

/*
 * Time @reps single runs after 3 warm-up runs (median and minimum, ms),
 * or with @b2b, 20 runs back to back (mean in *med).
 */
static int time_runs(struct impl *g, const struct trun *r, int copy,
		     unsigned reps, int b2b, double *med, double *mn,
		     struct df11_gpu_timing *t)
{
	cudaEvent_t e[2];
	unsigned total = b2b ? 1 : reps + 3;
	double *ms = (double *)calloc(total, sizeof(double));
	int rc = 0, made = 0;

	if (!ms)
		return -ENOMEM;
	for (; made < 2 && !rc; made++)
		if (cudaEventCreate(&e[made]) != cudaSuccess)
			rc = df11_gpu_fail(g);
	for (unsigned k = 0; k < total && !rc; k++) {
		float f = 0;
		if (cudaEventRecord(e[0], 0) != cudaSuccess) {
			rc = df11_gpu_fail(g);
			break;
		}
		for (unsigned q = 0; q < (b2b ? 20u : 1u) && !rc; q++)
			rc = run_once(g, r, copy, t);
		if (!rc &&
		    (cudaEventRecord(e[1], 0) != cudaSuccess ||
		     cudaEventSynchronize(e[1]) != cudaSuccess ||
		     cudaEventElapsedTime(&f, e[0], e[1]) != cudaSuccess))
			rc = df11_gpu_fail(g);
		ms[k] = b2b ? f / 20 : f;
	}
	if (!rc && b2b) {
		*med = ms[0];
	} else if (!rc) {
		qsort(ms + 3, reps, sizeof(double), cmp_double);
		*med = ms[3 + reps / 2];
		*mn = ms[3];
	}
	while (made-- > 0)
		cudaEventDestroy(e[made]);
	free(ms);
	return rc;
}

EXPORT int df11_gpu_impl_time(void *h, struct df11_gpu_ijob *jobs, size_t n,
			      unsigned reps, struct df11_gpu_timing *t)
{
	struct impl *g = (struct impl *)h;
	const uint8_t **tabs;
	struct piece *pc = NULL;
	uint8_t *hbuf = NULL, *d = NULL, *d2 = NULL;
	size_t rc_off, in_end, out0, out1, total, hdr;
	struct trun r;
	double unused;
	int rc;

	if (g->broken)
		return -EIO;
	CK(g, cudaSetDevice(g->dev));
	memset(t, 0, sizeof(*t));
	if ((rc = df11_gpu_tables(g, jobs, n, &tabs)))
		return rc;
	rc = -ENOMEM;
	if (!(pc = (struct piece *)calloc(n, sizeof(*pc))))
		goto out;
	for (size_t i = 0; i < n; i++) { /* one piece per job */
		pc[i].job = i;
		pc[i].lb1 = jobs[i].b1 - jobs[i].b0;
		df11_gpu_derive(NULL, &jobs[i], &pc[i]);
		t->out_bytes += 2 * (pc[i].b - pc[i].a);
	}
	total = df11_gpu_layout(pc, n, &rc_off, &in_end, &out0, &out1);
	hdr = pc[0].o_enc; /* pieces, rc and op slices come first */
	if (!(hbuf = (uint8_t *)calloc(1, hdr)))
		goto out;
	memset(&r, 0, sizeof(r));
	rc = -EIO;
	if (cudaMalloc(&d, total) != cudaSuccess ||
	    cudaMalloc(&d2, out1 - out0) != cudaSuccess)
		goto out;
	df11_gpu_fill(pc, n, jobs, tabs, hbuf, d, &r.work, &r.max_cnt);
	if (cudaMemcpy(d, hbuf, hdr, cudaMemcpyHostToDevice) != cudaSuccess)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (cudaMemcpy(d + pc[i].o_enc, pc[i].enc, pc[i].enc_len,
			       cudaMemcpyHostToDevice) != cudaSuccess ||
		    cudaMemcpy(d + pc[i].o_gaps, pc[i].gaps, pc[i].gaps_len,
			       cudaMemcpyHostToDevice) != cudaSuccess ||
		    cudaMemcpy(d + pc[i].o_sm, pc[i].sm, pc[i].b - pc[i].a,
			       cudaMemcpyHostToDevice) != cudaSuccess)
			goto out;
	if (cudaDeviceSynchronize() != cudaSuccess) /* the uploads landed */
		goto out;
	r.d = d;
	r.n = n;
	r.rc_off = rc_off;
	r.dst = d2;
	r.src = d + out0;
	r.bytes = out1 - out0;
	if ((rc = time_runs(g, &r, 0, reps, 0, &t->kernel_med, &t->kernel_min,
			    t)) ||
	    (rc = time_runs(g, &r, 0, reps, 1, &t->kernel_b2b, &unused, t)) ||
	    (rc = time_runs(g, &r, 1, reps, 0, &t->copy_med, &unused, t)))
		goto out;
	/* one more launch: its reference walks, verdicts and output */
	rc = -EIO;
	if (cudaMemcpy(d + rc_off + 4 * n, hbuf + rc_off + 4 * n, 4,
		       cudaMemcpyHostToDevice) != cudaSuccess ||
	    run_once(g, &r, 0, t) || cudaDeviceSynchronize() != cudaSuccess)
		goto out;
	if (cudaMemcpy(hbuf, d + rc_off, 4 * (n + 1), cudaMemcpyDeviceToHost) !=
	    cudaSuccess)
		goto out;
	t->slow_blocks = ((const uint32_t *)hbuf)[n];
	for (size_t i = 0; i < n; i++) {
		jobs[i].rc = ((const int *)hbuf)[i] ? -EBADMSG : 0;
		if (cudaMemcpy(pc[i].out, d + pc[i].o_out,
			       2 * (pc[i].b - pc[i].a),
			       cudaMemcpyDeviceToHost) != cudaSuccess)
			goto out;
	}
	rc = 0;
out:
	if (rc == -EIO)
		g->broken = 1;
	cudaFree(d);
	cudaFree(d2);
	free(hbuf);
	free(pc);
	free(tabs);
	return rc;
}
