/* SPDX-License-Identifier: MIT */
/*
 * gpu/gpu_i.h - the C ABI between gpu/gpu.c and libdf11gpu.so
 *
 * gpu.c (plain C, linked with the codec) turns each struct df11_gpu_job
 * into a struct df11_gpu_ijob: plain host pointers and sizes, everything
 * the CUDA side needs, so that libdf11gpu.so links no codec code. The
 * shared object exports the df11_gpu_impl_* functions below (C linkage,
 * the only symbols it exports); gpu.c resolves them with dlsym() and
 * refuses a library whose df11_gpu_impl_abi() differs from DF11_GPU_ABI.
 *
 * Also declares df11_gpu_time_kernel(), a benchmark hook for
 * tests/gpu/bench_gpu.c; it is not part of the public API.
 */
#ifndef DF11_GPU_I_H
#define DF11_GPU_I_H

#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu.h"

#define DF11_GPU_ABI 1
#define DF11_GPU_SO  "libdf11gpu.so"

/*
 * struct df11_gpu_ijob - one job as the CUDA side sees it: decode blocks
 * [b0, b1) of a unit and keep weights [a, b) of them.
 * @key:      the unit (cache key of its device tables; @luts is compared
 *            on every hit, so a reused address cannot alias a stale table)
 * @luts:     n_luts * 256 bytes, borrowed
 * @n, @n_bytes, @nb: the unit's weights, stream bytes and blocks
 * @op:       output_positions op[b0 .. b1] (b1 - b0 + 1 entries), borrowed
 * @max_cnt:  the largest op[k + 1] - op[k] among them (<= 32768)
 * @enc:      stream byte 4096 * b0; @enc_len bytes are copied and every
 *            bit past them reads as zero, exactly as df11_unit_decode()
 *            reads past the end of its span
 * @gaps:     gaps byte 320 * b0, @gaps_len bytes
 * @sm:       sign_mantissa of weight a (b - a bytes)
 * @out:      BF16 of weight a ((b - a) * 2 bytes)
 * @rc:       out: 0 or -EBADMSG
 */
struct df11_gpu_ijob {
	const void *key;
	const uint8_t *luts;
	unsigned n_luts;
	uint32_t max_cnt;
	uint64_t n, n_bytes, nb;
	uint64_t b0, b1, a, b;
	const uint32_t *op;
	const uint8_t *enc;
	uint64_t enc_len;
	const uint8_t *gaps;
	uint64_t gaps_len;
	const uint8_t *sm;
	void *out;
	int rc;
};

/*
 * struct df11_gpu_timing - df11_gpu_time_kernel() results, milliseconds.
 * @kernel_med, @kernel_min: one launch over all jobs, median and minimum
 * @kernel_b2b:  mean of 20 launches back to back
 * @copy_med:    cudaMemcpy device to device of the output size, median
 * @out_bytes:   BF16 bytes written per launch
 * @grid, @smem: blocks per launch and dynamic shared memory per block
 * @occupancy:   resident blocks per SM
 * @slow_blocks: blocks per launch the fast path could not prove good, so
 *               that the reference walk decided them (0 on valid data
 *               written by a conforming encoder)
 */
struct df11_gpu_timing {
	double kernel_med, kernel_min, kernel_b2b, copy_med;
	uint64_t out_bytes;
	unsigned grid, smem, occupancy, slow_blocks;
};

/* the exported functions, in the order gpu.c resolves them */
typedef int (*df11_gpu_impl_abi_fn)(void);
typedef int (*df11_gpu_impl_open_fn)(void **h, int device, uint64_t mem,
				     char *name, size_t namelen, char *err,
				     size_t errlen);
typedef void (*df11_gpu_impl_close_fn)(void *h);
typedef int (*df11_gpu_impl_decode_fn)(void *h, struct df11_gpu_ijob *jobs,
				       size_t n);
typedef void *(*df11_gpu_impl_host_alloc_fn)(void *h, size_t len);
typedef void (*df11_gpu_impl_host_free_fn)(void *h, void *p);
typedef int (*df11_gpu_impl_time_fn)(void *h, struct df11_gpu_ijob *jobs,
				     size_t n, unsigned reps,
				     struct df11_gpu_timing *t);

/**
 * df11_gpu_time_kernel() - benchmark hook: copy the jobs' inputs to the
 * device once, time @reps launches of the decode kernel over all of them
 * (CUDA events, after warm-up) and a device-to-device copy of the same
 * output size, then copy the output of the last launch back to the jobs.
 * Each job's rc is set as df11_gpu_decode() sets it.
 * Return: 0, -EIO on a CUDA error, -ENOMEM, -EINVAL for an empty batch.
 */
int df11_gpu_time_kernel(struct df11_gpu *g, struct df11_gpu_job *jobs,
			 size_t n, unsigned reps, struct df11_gpu_timing *t);

#endif
