/* SPDX-License-Identifier: MIT */
/*
 * gpu/kernel_i.h - between gpu/kernel.cu (device code) and gpu/gpu_cuda.cu
 * (host code) inside libdf11gpu.so
 */
#ifndef DF11_KERNEL_I_H
#define DF11_KERNEL_I_H

#ifdef DF11_EMU
#include "gpu/emu_i.h"
#else
#include <cuda_runtime.h>
#endif
#include <stddef.h>
#include <stdint.h>

#define DF11_K_THREADS	   512u		/* one 8-byte chunk each */
#define DF11_K_TAB_BYTES   (4096u * 8u) /* 12-bit multi-symbol table */
#define DF11_K_LUT_BYTES   (18u * 256u) /* the unit's luts, padded */
#define DF11_K_TABLE_BYTES (DF11_K_TAB_BYTES + DF11_K_LUT_BYTES)

/*
 * struct df11_djob - one piece of a job as the kernel reads it: blocks
 * [b0, b0 + nblk) of a unit, weights [a, b) of them. All pointers are
 * device pointers; enc is 16-byte aligned at stream byte 4096 * b0, sm is
 * 8-byte aligned and out 16-byte aligned at weight a. Work items (one per
 * block) of all pieces of a launch are numbered from 0; this piece owns
 * items [w0, w0 + nblk).
 */
struct df11_djob {
	const uint8_t *enc;  /* enc_len bytes; the stream reads 0 past them */
	const uint8_t *gaps; /* gaps_len bytes from gaps byte 320 * b0 */
	const uint8_t *sm;
	uint16_t *out;
	const uint32_t *op; /* op[b0 .. b0 + nblk] */
	const uint8_t *tab; /* DF11_K_TABLE_BYTES: table, then luts */
	uint64_t enc_len, gaps_len;
	uint64_t a, b, b0, nblk, w0;
	uint64_t nb, n, n_bytes; /* the unit */
	uint32_t n_luts, pad_;
};

/*
 * Fast table entry (8 bytes, little-endian): word x = up to four symbols,
 * one per byte, first symbol lowest, zero bytes after them; word y = k
 * (bits 0..2; y = 0: take the table walk) | c_1 << 8 | c_2 << 12 |
 * c_3 << 16 | c_4 << 20 | c_k << 28, with c_j the bits used by the first
 * j symbols (c_k <= 12; on top, so the walk gets it with one shift).
 */

/* dynamic shared memory for a launch whose blocks hold <= max_cnt weights */
size_t df11_k_smem(uint32_t max_cnt);

/* once per process and device: allow the largest shared memory we use */
cudaError_t df11_k_init(void);

/* resident blocks per SM at @smem bytes of dynamic shared memory */
cudaError_t df11_k_occupancy(size_t smem, int *blocks);

/*
 * Launch over @work items of @njobs pieces: rc[i] = -EBADMSG when piece i
 * failed; rc[njobs] counts the blocks the fast path could not decide.
 */
cudaError_t df11_k_launch(const struct df11_djob *jobs, uint32_t njobs,
			  uint64_t work, int *rc, unsigned grid, size_t smem,
			  cudaStream_t st);

#endif
