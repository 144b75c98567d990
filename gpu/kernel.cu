/* SPDX-License-Identifier: MIT */
/*
 * gpu/kernel.cu - the DF11 decode kernel
 *
 * Contract: bit-identical to df11_unit_decode() (codec/df11_dec.c). Block
 * b of a unit holds cnt = op[b+1] - op[b] symbols, starting at bit
 * P(b) = 32768 b + gap(512 b); each symbol is the reference table walk of
 * the next 32 bits (zero past the copied stream); a block is good when
 * every step is valid and its codes end exactly at P(b+1) (or, for the
 * last block that holds codes, inside the last byte of the stream).
 *
 * Design. A CUDA block of 512 threads decodes one DF11 block at a time,
 * one thread per 8-byte chunk, and loops over a contiguous share of the
 * launch's blocks (a persistent grid), so the unit's tables are copied to
 * shared memory once per unit, not once per block:
 *
 *   shared: [ 4096 x 8 B fast table | luts (<= 18 x 256 B) | scratch
 *             (512 x 32 B) | exponent stage (<= 32768 B + 16) ]
 *
 * The fast table is indexed by the next 12 bits and gives up to four
 * symbols at once, each filled only where the reference walk gives the
 * same symbol for every value of the later bits (as the CPU's table);
 * codes longer than 12 bits take the reference walk over the luts.
 *
 *  1. Thread t loads its chunk and the next 4 bytes (96 bits, registers)
 *     and the 5-bit gaps of chunks t and t+1. Starting at gap(t) it
 *     decodes the codes that start in its chunk: n_t, end e_t, whether a
 *     table step failed, and the first 32 symbols in its scratch (word j
 *     of thread t at word 512 j + t: no bank conflicts). The walk is
 *     issue-bound, so each step is kept short: it runs in two halves (bits
 *     0..31, then 32..63 of the chunk) so the window is one funnel shift
 *     and only the second half tests for entries that run past the chunk;
 *     the bits of all of an entry's symbols sit on top of its y word (one
 *     shift); the scratch word being filled is stored at every step
 *     instead of deciding when it is complete (no branch). Together
 *     +9-12% at 16 and 256 Mi, normal and t3 (H200).
 *  2. A block scan gives N_t = n_0 + .. + n_(t-1). The gaps inside a
 *     block are only hints (the CPU never reads them): the chunk walks are
 *     the reference walk only if they chain, e_t == 64 (t+1) + gap(t+1).
 *     Let T be the chunk holding symbol cnt-1. If the chain holds for all
 *     t < T (and no step before symbol cnt failed), the chunk walks *are*
 *     the block's reference walk; a __syncthreads_or() decides this.
 *  3. Threads t <= T copy their exponent bytes from the scratch to the
 *     stage at N_t, whole words where they can; thread T records the
 *     end. A chunk that held more than 32 symbols, or holds symbols past
 *     cnt-1 (thread T of a unit's last block), walks again instead. This
 *     single walk replaces a count walk and a write walk (the walk is
 *     about 37% of the time at 256 Mi).
 *  4. The end is checked against P(b+1) (thread 511 read that gap next
 *     to its own in step 1, so no global load waits here: +2-3%) or the
 *     stream tail. When the fast path cannot prove success (broken chain,
 *     failed step, wrong end: corrupt data or odd gaps), thread 0 runs
 *     the reference walk of the whole block and its verdict is final. So
 *     the fast path only ever says "good"; every "bad" comes from the
 *     reference walk.
 *  5. Good blocks merge exponents with sign_mantissa: 8 weights per
 *     thread step, 8-byte loads, 16-byte streaming stores, the stage
 *     offset chosen so both sides are aligned; the edges go one by one.
 *     A thread issues the loads of four steps before merging any, so a
 *     block's merge waits on one or two memory latencies, not ~4 (+3% at
 *     256 Mi). Measured and dropped (H200): L2 or L1 prefetch of the
 *     next block's stream and this block's sign_mantissa, loading the
 *     sign_mantissa before the walks (spills at 40 registers) or before
 *     the scan (spills too, -2%), 2 or 4 blocks/SM, one CUDA block per
 *     DF11 block instead of a persistent grid: all slower or no better.
 *     A bad block sets its piece's rc to -EBADMSG and writes nothing.
 *
 * Sizes: weights and offsets are 64-bit; bit positions inside a block walk
 * are 32-bit (at most 32768 x 32 + 31 bits).
 *
 * This file holds the kernel (the five steps above, in order) and its host
 * entry points; the device functions of each step (loads, walks, copy,
 * merge) are in gpu/kernel_dev_i.h.
 */
#include <errno.h>
#include <stdint.h>

#include "gpu/kernel_dev_i.h"
#include "gpu/kernel_i.h"

#ifdef DF11_EMU /* how blocks were decided, for tests of the emulation */
#define EMU_COUNT(cond, k) ((cond) ? (void)emu_count[k]++ : (void)0)
#else
#define EMU_COUNT(cond, k) ((void)0)
#endif

/* copy piece jn into sj (all threads; the caller syncs around it) */
static __device__ __forceinline__ void
load_piece(struct df11_djob *sj, const struct df11_djob *jobs, uint32_t jn)
{
	if (threadIdx.x < sizeof(*sj) / 8)
		((uint64_t *)sj)[threadIdx.x] =
		    ((const uint64_t *)&jobs[jn])[threadIdx.x];
}

static __device__ __forceinline__ void load_table(uint8_t *smem,
						  const uint8_t *tab)
{
	const uint4 *src = (const uint4 *)tab;
	for (unsigned i = threadIdx.x; i < DF11_K_TABLE_BYTES / 16; i += T)
		((uint4 *)smem)[i] = src[i];
}

/*
 * Register pressure: the walks want ~20 registers, and 3 blocks of 512
 * threads per SM allow 40. So everything uniform lives in shared memory
 * (sj, s_*) and is read again after each barrier instead of being held
 * across the walks.
 */
__global__ void __launch_bounds__(T, 3)
    df11_decode_kernel(const struct df11_djob *__restrict__ jobs,
		       uint32_t njobs, uint64_t work, int *__restrict__ rc)
{
#ifdef DF11_EMU
	uint8_t *const smem = emu_dyn_smem;
#else
	extern __shared__ __align__(16) uint8_t smem[];
#endif
	__shared__ __align__(16) struct df11_djob sj;
	__shared__ uint32_t s_wsum[NWARP];
	__shared__ uint64_t s_wend;
	__shared__ uint32_t s_j, s_end, s_gnext;
	__shared__ int s_ok;

	const uint2 *tab = (const uint2 *)smem;
	const uint8_t *L = smem + DF11_K_TAB_BYTES;
	uint32_t *const scr =
	    (uint32_t *)(smem + DF11_K_TABLE_BYTES) + threadIdx.x;
	uint8_t *stage = smem + DF11_K_TABLE_BYTES + SCR_BYTES;
	uint64_t w;

	{ /* this block's contiguous share of the work items, its first piece */
		const uint64_t G = gridDim.x, bid = blockIdx.x;
		const uint64_t per = work / G, rem = work % G;
		w = bid * per + (bid < rem ? bid : rem);
		if (threadIdx.x == 0) {
			uint32_t lo = 0, hi = njobs;
			while (hi - lo > 1) {
				uint32_t mid = lo + (hi - lo) / 2;
				if (jobs[mid].w0 <= w)
					lo = mid;
				else
					hi = mid;
			}
			s_j = lo;
			s_wend = w + per + (bid < rem ? 1 : 0);
		}
		__syncthreads();
		if (w >= s_wend)
			return;
		load_piece(&sj, jobs, s_j);
		__syncthreads();
		load_table(smem, sj.tab);
		__syncthreads();
	}

	for (; w < s_wend; w++) {
		if (w >= sj.w0 + sj.nblk) { /* uniform: the next piece */
			uint32_t jn = s_j + 1;
			while (w >= jobs[jn].w0 + jobs[jn].nblk)
				jn++;
			const uint8_t *old = sj.tab;
			__syncthreads(); /* all done with sj, s_j, the tables */
			load_piece(&sj, jobs, jn);
			if (threadIdx.x == 0)
				s_j = jn;
			__syncthreads();
			if (sj.tab != old) {
				load_table(smem, sj.tab);
				__syncthreads();
			}
		}
		const unsigned t = threadIdx.x;
		uint64_t lb = w - sj.w0;
		const uint32_t op_b = __ldg(sj.op + lb);
		const uint32_t op_e = __ldg(sj.op + lb + 1);

		/* 1. this thread's chunk and its walk */
		const uint64_t off = lb * BLKB + 8 * t;
		uint32_t w0, w1, w2;
		load_chunk(sj.enc, sj.enc_len, off, w0, w1, w2);
		const uint64_t gi = (uint64_t)T * lb + t;
		const unsigned g = gap_get(sj.gaps, sj.gaps_len, gi);
		/* for the last thread: the next block's, for the end check */
		const unsigned gn = gap_get(sj.gaps, sj.gaps_len, gi + 1);
		const unsigned nl = sj.n_luts;

		unsigned p = g, c = 0;
		uint32_t cur = 0;
		bool err = !walk_half<false>(tab, L, nl, w0, w1, p, c, cur, scr);
		if (!err) {
			p -= 32;
			err = !walk_half<true>(tab, L, nl, w1, w2, p, c, cur, scr);
			p += 32;
		}
		if ((c & 3) && c < 4 * SCR_WORDS) /* the partial word */
			scr[(c >> 2) * T] = cur;
		const bool chained = !err && p == 64 + gn;
		const uint32_t cnt = op_e - op_b;
		if (op_e <= op_b)
			continue; /* empty tail blocks: the CPU skips them */

		/* 2. block scan of the counts; does the chain reach symbol cnt?
		 */
		const unsigned lane = t & 31, wid = t >> 5;
		uint32_t incl = c;
#pragma unroll
		for (unsigned o = 1; o < 32; o <<= 1) {
			uint32_t y = __shfl_up_sync(FULL, incl, o);
			if (lane >= o)
				incl += y;
		}
		if (lane == 31)
			s_wsum[wid] = incl;
		__syncthreads();
		const uint32_t v = lane < NWARP ? s_wsum[lane] : 0;
		const uint32_t total = __reduce_add_sync(FULL, v);
		const uint32_t before =
		    __reduce_add_sync(FULL, lane < wid ? v : 0);
		const uint32_t N = before + incl - c; /* exclusive */
		const bool matters =
		    t + 1 < T && !chained && (uint64_t)N + c < cnt;
		const bool fast = !__syncthreads_or(matters) && total >= cnt;

		/* 3. the threads holding symbols < cnt put them in the stage:
		 * from the scratch, or by walking again when it holds too few
		 * or the chunk holds symbols past the block's last */
		if (t == T - 1) /* past a barrier: all done with the last */
			s_gnext = gn;
		if (fast && N < cnt) {
			const uint32_t lim = min(c, cnt - N);
			const uint32_t pad = (uint32_t)((op_b - sj.a) & 7);
			uint8_t *dst = stage + pad + N;
			if (lim == c && c <= 4 * SCR_WORDS)
				scr_copy(scr, dst, c);
			else
				p = write_walk(&sj, tab, L, lb, t, lim, dst);
			if (cnt <= N + c) /* this is chunk T */
				s_end = 64 * t + p;
		}
		__syncthreads();

		/* 4. the end check; the reference walk when unproven */
		lb = w - sj.w0;
		const uint64_t blk = sj.b0 + lb;
		const bool nonlast = blk + 1 < sj.nb && op_e < sj.n;
		const uint32_t pad = (uint32_t)((op_b - sj.a) & 7);
		bool ok = false;
		if (fast)
			ok = end_ok(&sj, blk, nonlast, s_end, s_gnext);
		EMU_COUNT(t == 0, ok ? EMU_FAST : EMU_SLOW);
		if (!ok) {
			if (t == 0) {
				atomicAdd((unsigned *)&rc[njobs], 1u);
				s_ok = fallback(&sj, tab, L, lb, blk, nonlast,
						s_gnext, cnt, stage + pad);
			}
			__syncthreads();
			ok = s_ok;
			EMU_COUNT(t == 0 && ok, EMU_SLOW_GOOD);
		}
		if (!ok) {
			if (t == 0)
				rc[s_j] = -EBADMSG;
			continue;
		}

		/* 5. merge into BF16: groups of 8 weights aligned to the
		 * piece's start; 32-bit offsets u from weight a + g0 inside the
		 * block */
		const uint64_t a = sj.a;
		const uint64_t lo = op_b > a ? op_b : a;
		const uint64_t hi = op_e < sj.b ? op_e : sj.b;
		if (lo >= hi)
			continue;
		const uint64_t g0 = (lo - a) & ~(uint64_t)7;
		const uint32_t ulo = (uint32_t)(lo - a - g0);
		const uint32_t uhi = (uint32_t)(hi - a - g0);
		const uint8_t *smg = sj.sm + g0;
		uint16_t *outg = sj.out + g0;
		/* stage index of u: pad + (a + g0 - op_b) + u, >= 0 for u >=
		 * ulo */
		const uint8_t *exg =
		    stage + (int32_t)(pad + (int32_t)(int64_t)(a + g0 - op_b));
		/* rounds of four 8-weight groups per thread: the four
		 * sign_mantissa loads go out before the first is used (one
		 * memory latency per round, not per group) */
#pragma unroll 1
		for (uint32_t u0 = 8 * t; u0 < uhi; u0 += 4 * 8 * T) {
			uint2 s8[4];
#pragma unroll
			for (unsigned i = 0; i < 4; i++) {
				const uint32_t u = u0 + i * 8 * T;
				s8[i].x = s8[i].y = 0;
				if (u >= ulo && u + 8 <= uhi)
					s8[i] =
					    __ldcs((const uint2 *)(smg + u));
			}
#pragma unroll
			for (unsigned i = 0; i < 4; i++) {
				const uint32_t u = u0 + i * 8 * T;
				if (u >= uhi)
					break;
				if (u >= ulo && u + 8 <= uhi) {
					uint2 e8 = *(const uint2 *)(exg + u);
					__stcs((uint4 *)(outg + u),
					       merge8(e8, s8[i]));
				} else {
					uint32_t v = u > ulo ? u : ulo;
					uint32_t e = u + 8 < uhi ? u + 8 : uhi;
#pragma unroll 1
					for (; v < e; v++)
						outg[v] = bf16(exg[v], smg[v]);
				}
			}
		}
	}
}

size_t df11_k_smem(uint32_t max_cnt)
{
	/* stage: pad (< 8) + max_cnt bytes, 16-byte rounded, plus slack */
	return DF11_K_TABLE_BYTES + SCR_BYTES +
	       (((size_t)max_cnt + 8 + 15) & ~(size_t)15) + 16;
}

cudaError_t df11_k_init(void)
{
	return cudaFuncSetAttribute(df11_decode_kernel,
				    cudaFuncAttributeMaxDynamicSharedMemorySize,
				    (int)df11_k_smem(BLKBITS));
}

cudaError_t df11_k_occupancy(size_t smem, int *blocks)
{
	return cudaOccupancyMaxActiveBlocksPerMultiprocessor(
	    blocks, df11_decode_kernel, T, smem);
}

cudaError_t df11_k_launch(const struct df11_djob *jobs, uint32_t njobs,
			  uint64_t work, int *rc, unsigned grid, size_t smem,
			  cudaStream_t st)
{
#ifdef DF11_EMU
	emu_launch(st, grid, T, smem,
		   [=]() { df11_decode_kernel(jobs, njobs, work, rc); });
#else
	df11_decode_kernel<<<grid, T, smem, st>>>(jobs, njobs, work, rc);
#endif
	return cudaGetLastError();
}
