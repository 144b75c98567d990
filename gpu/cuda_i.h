/* SPDX-License-Identifier: MIT */
/*
 * gpu/cuda_i.h - shared by the host files of libdf11gpu.so (gpu_cuda.cu,
 * gpu_table.cu, gpu_time.cu): the device handle, pieces, helpers
 */
#ifndef DF11_CUDA_I_H
#define DF11_CUDA_I_H

#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "gpu/gpu_i.h"
}
#include "gpu/kernel_i.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

#define NSLOT	   3
#define SLOT_MAX   ((size_t)64 << 20) /* device bytes per slot */
#define SLOT_MIN   ((size_t)4 << 20)
#define A16(x)	   (((size_t)(x) + 15) & ~(size_t)15)
#define BLK_BYTES  4096u
#define GAPS_BYTES 320u

/* a unit's device table (gpu_table.cu); luts kept to check cache hits */
struct tabent {
	const void *key;
	unsigned n_luts;
	uint8_t luts[DF11_K_LUT_BYTES];
	uint8_t *dev;
	uint64_t used; /* call counter at last use */
};

/* a df11_gpu_host_alloc() buffer: copied to and from directly */
struct hostbuf {
	uint8_t *p;
	size_t len;
};

/*
 * A piece: blocks of one job that go into one slot, with its host ranges
 * (borrowed from the job), whether they are pinned, and its offsets in the
 * slot's buffers (df11_gpu_layout()).
 */
struct piece {
	size_t job;
	uint64_t lb0, lb1; /* blocks [b0 + lb0, b0 + lb1) of the job */
	uint64_t a, b;
	const uint8_t *enc, *gaps, *sm;
	uint8_t *out;
	uint64_t enc_len, gaps_len;
	const uint32_t *op;
	int in_direct, out_direct;
	size_t o_enc, o_gaps, o_sm, o_op, o_out;
};

/* one batch in flight: a stream, its buffers, its pieces */
struct slot {
	cudaStream_t st;
	cudaEvent_t ev;
	uint8_t *h, *d;
	size_t cap;
	int busy;
	struct piece *pc;
	size_t npc, pccap;
	size_t rc_off;
};

/* the handle behind df11_gpu_impl_open(); one thread at a time */
struct impl {
	int dev, sms, broken;
	size_t mem, slot_cap;
	struct slot s[NSLOT];
	struct tabent *tabs;
	size_t ntabs, tabcap;
	uint64_t calls;
	struct hostbuf *hb;
	size_t nhb, hbcap;
};

/* a CUDA error: the device is unusable from now on; returns -EIO */
int df11_gpu_fail(struct impl *g);

#define CK(g, call)                                                            \
	do {                                                                   \
		if ((call) != cudaSuccess)                                     \
			return df11_gpu_fail(g);                               \
	} while (0)

/* gpu_table.cu: the device table of every job (tabs[] is malloc()ed) */
int df11_gpu_tables(struct impl *g, struct df11_gpu_ijob *jobs, size_t n,
		    const uint8_t ***tabs);

/* gpu_cuda.cu: pieces and launches */
void df11_gpu_derive(const struct impl *g, const struct df11_gpu_ijob *j,
		     struct piece *p);
size_t df11_gpu_layout(struct piece *pc, size_t n, size_t *rc_off,
		       size_t *in_end, size_t *out0, size_t *out1);
void df11_gpu_fill(struct piece *pc, size_t n, const struct df11_gpu_ijob *jobs,
		   const uint8_t *const *tabs, uint8_t *h, uint8_t *d,
		   uint64_t *work, uint32_t *max_cnt);
int df11_gpu_launch(struct impl *g, uint8_t *d, size_t n, size_t rc_off,
		    uint64_t work, uint32_t max_cnt, cudaStream_t st,
		    struct df11_gpu_timing *t);

#endif
