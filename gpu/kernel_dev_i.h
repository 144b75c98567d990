/* SPDX-License-Identifier: MIT */
/*
 * gpu/kernel_dev_i.h - the device steps of the DF11 decode kernel
 *
 * What gpu/kernel.cu's df11_decode_kernel() is built from: reading the
 * stream (96-bit chunks, 32-bit windows) and the 5-bit gaps, the
 * reference table walk and the verdict of a whole block's walk, the
 * two-half chunk walk into the scratch and the walk again that writes
 * past it, the scratch-to-stage copy and the BF16 merge. The design, the
 * shared memory layout and the terms (chunk, scratch, stage, P(b)) are in
 * the header comment of gpu/kernel.cu.
 *
 * Included by gpu/kernel.cu only. These are static device functions in a
 * header rather than a .cu file of their own because libdf11gpu.so is
 * built without relocatable device code: a kernel can call only the
 * device functions of its own translation unit.
 */
#ifndef DF11_KERNEL_DEV_I_H
#define DF11_KERNEL_DEV_I_H

#include <stdint.h>

#include "gpu/kernel_i.h"

#define T	  DF11_K_THREADS
#define NWARP	  (T / 32)
#define FULL	  0xFFFFFFFFu
#define BLKBITS	  32768u
#define BLKB	  4096u
#define GAPB	  320u
#define SCR_WORDS 8u /* scratch: the first 32 symbols of each chunk */
#define SCR_BYTES (4u * SCR_WORDS * T)

static __device__ __forceinline__ uint32_t bswap32(uint32_t x)
{
	return __byte_perm(x, 0, 0x0123);
}

/* 32 bits at bit p (0..63) of the 96-bit chunk w0:w1:w2 */
static __device__ __forceinline__ uint32_t window(uint32_t w0, uint32_t w1,
						  uint32_t w2, unsigned p)
{
	uint32_t hi = (p & 32) ? w1 : w0, lo = (p & 32) ? w2 : w1;
	return __funnelshift_l(lo, hi, p);
}

/* 32 bits at bit pos of p[0 .. avail) (zero beyond), as the CPU reads */
static __device__ uint32_t window_g(const uint8_t *p, uint64_t avail,
				    uint32_t pos)
{
	uint64_t j = pos >> 3, v = 0;
	for (unsigned k = 0; k < 5; k++)
		v = v << 8 | (j + k < avail ? __ldg(p + j + k) : 0u);
	return (uint32_t)(v >> (8 - (pos & 7)));
}

/* 5-bit gap entry i of a gaps range of len bytes (zero beyond) */
static __device__ __forceinline__ unsigned gap_get(const uint8_t *g,
						   uint64_t len, uint64_t i)
{
	uint64_t bit = 5 * i, j = bit >> 3;
	unsigned hi = j < len ? __ldg(g + j) : 0u;
	unsigned lo = j + 1 < len ? __ldg(g + j + 1) : 0u;
	return ((hi << 8 | lo) >> (11 - (unsigned)(bit & 7))) & 0x1F;
}

/* the reference table walk: false on an invalid step or length 0 */
static __device__ __forceinline__ bool
ref_sym(const uint8_t *L, unsigned nl, uint32_t w, unsigned &sym, unsigned &len)
{
	unsigned d = L[w >> 24];
#pragma unroll
	for (unsigned lvl = 1; lvl < 4; lvl++) {
		if (d < 240)
			break;
		unsigned row = 256 - d;
		if (row > nl - 2)
			return false;
		d = L[row * 256 + ((w >> (24 - 8 * lvl)) & 0xFF)];
	}
	sym = d;
	len = L[(nl - 1) * 256 + d];
	return len != 0;
}

/* bits used by the first k symbols of entry y */
static __device__ __forceinline__ unsigned used_bits(uint32_t y, unsigned k)
{
	return (y >> (4 + 4 * k)) & 15;
}

/* bits used by all symbols of entry y (no variable shift on the hot path) */
static __device__ __forceinline__ unsigned all_bits(uint32_t y)
{
	return y >> 28;
}

/*
 * The reference walk of cnt symbols from bit pos of p (thread 0 only),
 * exponents to dst. Returns false on an invalid step; *end = final bit.
 */
static __device__ bool walk_block(const uint2 *tab, const uint8_t *L,
				  unsigned nl, const uint8_t *p, uint64_t avail,
				  uint32_t pos, uint32_t cnt, uint8_t *dst,
				  uint32_t *end)
{
	uint32_t i = 0;

	while (i < cnt) {
		uint32_t w = window_g(p, avail, pos);
		uint2 e = tab[w >> 20];
		unsigned k = e.y & 7;
		if (k) {
			unsigned kk = min(k, cnt - i);
			for (unsigned q = 0; q < kk; q++)
				dst[i + q] = (uint8_t)(e.x >> (8 * q));
			i += kk;
			pos += used_bits(e.y, kk);
		} else {
			unsigned s, l;
			if (!ref_sym(L, nl, w, s, l))
				return false;
			dst[i++] = (uint8_t)s;
			pos += l;
		}
	}
	*end = pos;
	return true;
}

/*
 * Is a block walk that ended at bit @end (block-relative) good? @gnext:
 * the gap of the next block's first chunk.
 */
static __device__ __forceinline__ bool end_ok(const struct df11_djob *sj,
					      uint64_t blk, bool nonlast,
					      uint32_t end, unsigned gnext)
{
	if (nonlast) /* the next block's first code starts there */
		return end == BLKBITS + gnext;
	uint64_t abs = (uint64_t)BLKBITS * blk + end, nbits = 8 * sj->n_bytes;
	return abs <= nbits && abs + 8 > nbits; /* inside the last byte */
}

/* thread 0: the reference walk of block lb, its verdict */
static __device__ __noinline__ int fallback(const struct df11_djob *sj,
					    const uint2 *tab, const uint8_t *L,
					    uint64_t lb, uint64_t blk,
					    bool nonlast, unsigned gnext,
					    uint32_t cnt, uint8_t *dst)
{
	uint64_t boff = lb * BLKB;
	uint64_t avail = sj->enc_len > boff ? sj->enc_len - boff : 0;
	uint32_t start = gap_get(sj->gaps, sj->gaps_len, (uint64_t)T * lb);
	uint32_t end = 0;

	if (!walk_block(tab, L, sj->n_luts, sj->enc + boff, avail, start, cnt,
			dst, &end))
		return 0;
	return end_ok(sj, blk, nonlast, end, gnext);
}

/* the 96 bits at stream byte off (zero past enc_len), as three words */
static __device__ __forceinline__ void load_chunk(const uint8_t *enc,
						  uint64_t enc_len,
						  uint64_t off, uint32_t &w0,
						  uint32_t &w1, uint32_t &w2)
{
	w0 = w1 = w2 = 0;
	if (off + 12 <= enc_len) {
		uint2 v = __ldg((const uint2 *)(enc + off));
		uint32_t z = __ldg((const uint32_t *)(enc + off + 8));
		w0 = bswap32(v.x);
		w1 = bswap32(v.y);
		w2 = bswap32(z);
		return;
	}
#pragma unroll 1
	for (unsigned k = 0; k < 12; k++) {
		uint32_t by = off + k < enc_len ? __ldg(enc + off + k) : 0u;
		uint32_t sh = 24 - 8 * (k & 3);
		if (k < 4)
			w0 |= by << sh;
		else if (k < 8)
			w1 |= by << sh;
		else
			w2 |= by << sh;
	}
}

/*
 * Copy n <= 4 SCR_WORDS symbols from a thread's scratch to dst: whole
 * aligned words where dst allows (a byte permute lines two scratch words
 * up with each), single bytes at the two ends, which neighbouring threads
 * share.
 */
static __device__ __forceinline__ void scr_copy(const uint32_t *scr,
						uint8_t *dst, unsigned n)
{
	const unsigned s = (unsigned)(-(uintptr_t)dst) & 3; /* head bytes */
	const unsigned nw = n > s ? (n - s) >> 2 : 0;
	uint32_t cur = scr[0];
#pragma unroll 1
	for (unsigned i = 0; i < min(s, n); i++)
		dst[i] = (uint8_t)(cur >> (8 * i));
	uint32_t *dw = (uint32_t *)(dst + s);
#pragma unroll 1
	for (unsigned m = 0; m < nw; m++) {
		uint32_t nxt = scr[min(m + 1, SCR_WORDS - 1) * T];
		dw[m] = __byte_perm(cur, nxt, 0x3210 + 0x1111 * s);
		cur = nxt;
	}
#pragma unroll 1
	for (unsigned i = s + 4 * nw; i < n; i++)
		dst[i] = (uint8_t)(scr[(i >> 2) * T] >> (8 * (i & 3)));
}

/*
 * One half of a chunk walk: the codes that start at bits p < 32 of the 64
 * bits hi:lo, the first 32 symbols to the scratch. Half 1 (TAIL false)
 * needs no end test: an entry's symbols start within 12 bits, so inside
 * the chunk. Half 2 keeps only the symbols that start before bit 32.
 * The scratch word being filled (cur) is stored at every step, so no
 * branch decides when a word is complete; its row is taken mod SCR_WORDS
 * since a chunk with more than 4 SCR_WORDS symbols walks again anyway.
 */
template <bool TAIL>
static __device__ __forceinline__ bool
walk_half(const uint2 *tab, const uint8_t *L, unsigned nl, uint32_t hi,
	  uint32_t lo, unsigned &p, unsigned &c, uint32_t &cur, uint32_t *scr)
{
	while (p < 32) {
		const uint32_t x = __funnelshift_l(lo, hi, p);
		const uint2 e = tab[x >> 20];
		uint32_t syms = e.x;
		unsigned k = e.y & 7, l = all_bits(e.y);
		if (!k) {
			unsigned sy;
			if (!ref_sym(L, nl, x, sy, l))
				return false;
			syms = sy;
			k = 1;
		} else if (TAIL && p > 20) { /* fewer than 12 bits left */
			const unsigned R = 32 - p;
			unsigned kk = 1;
			kk += (k > 1) & (used_bits(e.y, 1) < R);
			kk += (k > 2) & (used_bits(e.y, 2) < R);
			kk += (k > 3) & (used_bits(e.y, 3) < R);
			k = kk;
			syms &= 0xFFFFFFFFu >> (32 - 8 * k);
			l = used_bits(e.y, k);
		}
		const unsigned s = 8 * (c & 3), c2 = c + k;
		cur |= syms << s;
		scr[(c & (4 * SCR_WORDS - 4)) * (T / 4)] = cur;
		if ((c2 ^ c) & ~3u) /* the word is full: start the next */
			cur = __funnelshift_l(syms, 0, s);
		c = c2;
		p += l;
	}
	return true;
}

/*
 * Walk thread t's chunk of block lb again from its first code and write
 * its first lim symbols to dst (they decoded before, so no step fails).
 * Returns the chunk-relative bit after them. For chunks whose symbols did
 * not fit the scratch, and for the one that holds the block's last symbol
 * when symbols follow it.
 */
static __device__ __noinline__ unsigned
write_walk(const struct df11_djob *sj, const uint2 *tab, const uint8_t *L,
	   uint64_t lb, unsigned t, uint32_t lim, uint8_t *dst)
{
	uint32_t w0, w1, w2;
	load_chunk(sj->enc, sj->enc_len, lb * BLKB + 8 * t, w0, w1, w2);
	unsigned q = gap_get(sj->gaps, sj->gaps_len, (uint64_t)T * lb + t);
	uint32_t done = 0;

	while (done < lim) {
		uint32_t x = window(w0, w1, w2, q);
		uint2 e = tab[x >> 20];
		unsigned k = e.y & 7;
		if (k) {
			unsigned kk = min(k, lim - done);
			for (unsigned j = 0; j < kk; j++)
				dst[done + j] = (uint8_t)(e.x >> (8 * j));
			done += kk;
			q += used_bits(e.y, kk);
		} else {
			unsigned s = 0, l = 0;
			ref_sym(L, sj->n_luts, x, s, l);
			dst[done++] = (uint8_t)s;
			q += l;
		}
	}
	return q;
}

/* 8 BF16 from 8 exponents and 8 sign_mantissa bytes */
static __device__ __forceinline__ uint4 merge8(uint2 e, uint2 s)
{
	uint32_t lo0 = (s.x & 0x7F7F7F7Fu) | ((e.x << 7) & 0x80808080u);
	uint32_t hi0 = (s.x & 0x80808080u) | ((e.x >> 1) & 0x7F7F7F7Fu);
	uint32_t lo1 = (s.y & 0x7F7F7F7Fu) | ((e.y << 7) & 0x80808080u);
	uint32_t hi1 = (s.y & 0x80808080u) | ((e.y >> 1) & 0x7F7F7F7Fu);
	return make_uint4(
	    __byte_perm(lo0, hi0, 0x5140), __byte_perm(lo0, hi0, 0x7362),
	    __byte_perm(lo1, hi1, 0x5140), __byte_perm(lo1, hi1, 0x7362));
}

static __device__ __forceinline__ uint16_t bf16(unsigned e, unsigned s)
{
	return (uint16_t)((s & 0x80) << 8 | e << 7 | (s & 0x7F));
}

#endif
