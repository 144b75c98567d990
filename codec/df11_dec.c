/* SPDX-License-Identifier: MIT */
/*
 * codec/df11_dec.c - DF11 decoder: a multi-lane table-driven decoder of
 * element ranges (the tables and their validation: codec/df11_unit.c)
 *
 * Reference semantics (what the official kernel does, hardened): with W the
 * next 32 stream bits (zero past the end of the stream),
 *
 *   d = luts[0][W >> 24]
 *   up to three times: if d >= 240: row = 256 - d (must be 1..n_luts-2),
 *                      d = luts[row][next byte of W]
 *   symbol = d, length = lens[d] (must be 1..32)
 *
 * The fast path resolves up to six symbols with one lookup in a table
 * indexed by the next 12 bits. An entry is filled only when the reference
 * walk gives the same symbols for every possible value of the bits beyond
 * those 12, so the fast path is the reference walk, bit for bit, on any
 * input, valid or not. Entries that would need more bits (codes longer
 * than 12 bits, invalid table steps) are 0 and fall back to the walk.
 *
 * Blocks of 4096 stream bytes decode independently: block b starts at bit
 * 32768 b + gap(512 b) and holds op[b+1] - op[b] symbols. One thread runs
 * four blocks at once (independent dependency chains), writing exponent
 * bytes to a stage buffer, then merges them with sign_mantissa into BF16
 * (SSE2). Each block must end exactly where the next block's first code
 * begins (or in the last byte of the stream): a corrupt stream is caught
 * by this check or by a table error, never decoded silently out of step.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "df11.h"
#include "df11_i.h"
#include "scratch_i.h"
#include "unit_i.h"

#define GROUP	      4 /* fast steps per load of a lane's 64-bit window */
#define STAGE_SLACK   16
#define STAGE_LEN     (DF11_BLOCK_BITS + STAGE_SLACK)
#define LANES	      4

/* ------------------------------------------------------------ hot loops */

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

/* 32 bits at bit @pos of @p (@len bytes; zero beyond) */
static inline uint32_t window_safe(const uint8_t *p, uint64_t len, uint64_t pos)
{
	uint64_t v = 0, j = pos >> 3;
	for (unsigned k = 0; k < 5; k++)
		v = v << 8 | (j + k < len ? p[j + k] : 0);
	return (uint32_t)(v >> (8 - (pos & 7)));
}

static inline int walk(const struct df11_unit *u, uint32_t w, unsigned *sym,
		       unsigned *len)
{
	unsigned d = u->luts[0][w >> 24];

	for (unsigned lvl = 1; lvl < 4 && d >= 240; lvl++) {
		unsigned row = 256 - d;
		if (row > u->n_luts - 2)
			return -EBADMSG;
		d = u->luts[row][(w >> (24 - 8 * lvl)) & 0xFF];
	}
	if (!u->lens[d])
		return -EBADMSG;
	*sym = d;
	*len = u->lens[d];
	return 0;
}

/* one block lane: stream position (bits in the span), stage cursor, end */
struct lane {
	uint64_t pos;
	uint8_t *st, *end;
};

/* 64 stream bits from bit @pos, at least 57 of them real (8 bytes read) */
#define WINDOW(pos) (load_be64(enc + ((pos) >> 3)) << ((pos) & 7))

/* the reference walk for one symbol at @pos; its length, 0 on error */
static __attribute__((noinline)) unsigned
slow_sym(const struct df11_unit *u, const uint8_t *enc, uint64_t pos,
	 uint8_t *st)
{
	unsigned s, n;

	if (walk(u, (uint32_t)(WINDOW(pos) >> 32), &s, &n))
		return 0;
	*st = (uint8_t)s;
	return n;
}

/*
 * One step of lane L, whose window w was loaded at L.pos and has c bits
 * used (c <= 36, so the 12 fast bits are real). A fast entry stores up to
 * six symbols (8 bytes written); a miss walks one symbol and reloads the
 * window. Jumps to the caller's `bad` label on a table error.
 */
#define STEP(L, w, c)                                                          \
	do {                                                                   \
		uint64_t e_ = fast[((w) << (c)) >> (64 - FAST_BITS)];          \
		if (__builtin_expect(e_ != 0, 1)) {                            \
			memcpy((L).st, &e_, 8);                                \
			(L).st += (e_ >> 48) & 0xFF;                           \
			(c) += (unsigned)(e_ >> 56);                           \
		} else {                                                       \
			unsigned n_ = slow_sym(u, enc, (L).pos + (c), (L).st); \
			if (!n_)                                               \
				goto bad;                                      \
			(L).st++;                                              \
			(L).pos += (c) + n_;                                   \
			(w) = WINDOW((L).pos);                                 \
			(c) = 0;                                               \
		}                                                              \
	} while (0)

/* GROUP steps of one lane from one window load */
#define GROUP_STEPS(L)                                                         \
	do {                                                                   \
		uint64_t w1_ = WINDOW((L).pos);                                \
		unsigned c1_ = 0;                                              \
		for (unsigned g_ = 0; g_ < GROUP; g_++)                        \
			STEP(L, w1_, c1_);                                     \
		(L).pos += c1_;                                                \
	} while (0)

/*
 * Groups a lane can surely run: a group reads at most GROUP * 32 bits (8
 * readable bytes at every window load) and writes at most GROUP * FAST_SYMS
 * symbols, plus 2 bytes of the last 8-byte store into the stage slack.
 */
static inline uint64_t budget(const struct lane *l, uint64_t safe)
{
	uint64_t by_out = (uint64_t)(l->end - l->st) / (GROUP * FAST_SYMS);
	uint64_t by_in = l->pos < safe ? (safe - l->pos) / (GROUP * 32) : 0;
	return by_out < by_in ? by_out : by_in;
}

/* finish one lane: fast while safe, then symbol by symbol */
static int lane_finish(const struct df11_unit *u, const uint8_t *enc,
		       uint64_t len, uint64_t safe, struct lane *l)
{
	const uint64_t *fast = u->fast;

	for (uint64_t k; (k = budget(l, safe)) != 0;)
		while (k--)
			GROUP_STEPS(*l);
	while (l->st < l->end) {
		unsigned s, n;
		if (walk(u, window_safe(enc, len, l->pos), &s, &n))
			goto bad;
		*l->st++ = (uint8_t)s;
		l->pos += n;
	}
	return 0;
bad:
	return -EBADMSG;
}

static inline uint64_t min4(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	a = a < b ? a : b;
	c = c < d ? c : d;
	return a < c ? a : c;
}

/* four lanes in step while every one can surely run k more groups */
static void lanes4(const struct df11_unit *u, const uint8_t *enc, uint64_t safe,
		   struct lane *l, int *rc)
{
	const uint64_t *fast = u->fast;
	struct lane l0 = l[0], l1 = l[1], l2 = l[2], l3 = l[3];

	for (uint64_t k; (k = min4(budget(&l0, safe), budget(&l1, safe),
				   budget(&l2, safe), budget(&l3, safe))) != 0;)
		while (k--) {
			uint64_t w0 = WINDOW(l0.pos), w1 = WINDOW(l1.pos);
			uint64_t w2 = WINDOW(l2.pos), w3 = WINDOW(l3.pos);
			unsigned c0 = 0, c1 = 0, c2 = 0, c3 = 0;
#pragma GCC unroll 4
			for (unsigned g = 0; g < GROUP; g++) {
				STEP(l0, w0, c0);
				STEP(l1, w1, c1);
				STEP(l2, w2, c2);
				STEP(l3, w3, c3);
			}
			l0.pos += c0, l1.pos += c1, l2.pos += c2, l3.pos += c3;
		}
	l[0] = l0, l[1] = l1, l[2] = l2, l[3] = l3;
	return;
bad:
	*rc = -EBADMSG;
}

/* BF16 = sign | exponent | mantissa, from exponent bytes and sm bytes */
static void merge(uint8_t *out, const uint8_t *e, const uint8_t *sm, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	const __m128i m7f = _mm_set1_epi8(0x7F), m80 = _mm_set1_epi8(-128);
	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(e + i));
		__m128i s = _mm_loadu_si128((const __m128i *)(sm + i));
		__m128i lo =
		    _mm_or_si128(_mm_and_si128(s, m7f),
				 _mm_and_si128(_mm_slli_epi16(x, 7), m80));
		__m128i hi =
		    _mm_or_si128(_mm_and_si128(s, m80),
				 _mm_and_si128(_mm_srli_epi16(x, 1), m7f));
		_mm_storeu_si128((__m128i *)(out + 2 * i),
				 _mm_unpacklo_epi8(lo, hi));
		_mm_storeu_si128((__m128i *)(out + 2 * i + 16),
				 _mm_unpackhi_epi8(lo, hi));
	}
#endif
	for (; i < n; i++) {
		out[2 * i] = (uint8_t)((sm[i] & 0x7F) | (e[i] & 1) << 7);
		out[2 * i + 1] = (uint8_t)((sm[i] & 0x80) | e[i] >> 1);
	}
}

struct job {
	const struct df11_unit *u;
	const struct df11_span *enc, *gaps, *sm;
	uint64_t blo, bhi, a, b;
	uint8_t *out;
};

static unsigned gap_at(const struct df11_span *gaps, uint64_t b)
{
	return gaps->p[b * DF11_GAPS_PER_BLOCK - gaps->off] >> 3;
}

/* the bit where block b's codes must end, relative to the enc span */
static uint64_t block_end(const struct df11_unit *u, const struct job *j,
			  uint64_t b)
{
	if (b + 1 < u->nb && u->op[b + 1] < u->n)
		return (b + 1) * DF11_BLOCK_BITS + gap_at(j->gaps, b + 1) -
		       8 * j->enc->off;
	return UINT64_MAX; /* the last block: checked against the tail */
}

static int check_end(const struct df11_unit *u, const struct job *j, uint64_t b,
		     uint64_t pos)
{
	uint64_t want = block_end(u, j, b);
	if (want != UINT64_MAX)
		return pos == want ? 0 : -EBADMSG;
	pos += 8 * j->enc->off;
	return pos <= 8 * u->n_bytes && pos + 8 > 8 * u->n_bytes ? 0 : -EBADMSG;
}

/* point lane @l at the next non-empty block; 0 when none is left */
static int lane_load(const struct job *j, uint64_t *next, struct lane *l,
		     uint64_t *blk, uint8_t *stage)
{
	const struct df11_unit *u = j->u;

	for (; *next < j->bhi; ++*next) {
		uint64_t b = *next;
		uint32_t cnt = u->op[b + 1] - u->op[b];
		if (!cnt)
			continue;
		*blk = b;
		l->pos =
		    b * DF11_BLOCK_BITS + gap_at(j->gaps, b) - 8 * j->enc->off;
		l->st = stage;
		l->end = stage + cnt;
		++*next;
		return 1;
	}
	return 0;
}

/* finish lane @l (block @blk), check where it ended, merge its output */
static int lane_done(const struct job *j, struct lane *l, uint64_t blk,
		     uint8_t *stage, uint64_t safe)
{
	const struct df11_unit *u = j->u;
	uint64_t b0 = u->op[blk], b1 = u->op[blk + 1];
	uint64_t lo = b0 > j->a ? b0 : j->a, hi = b1 < j->b ? b1 : j->b;

	if (lane_finish(u, j->enc->p, j->enc->len, safe, l) ||
	    check_end(u, j, blk, l->pos))
		return -EBADMSG;
	if (lo < hi)
		merge(j->out + 2 * (lo - j->a), stage + (lo - b0),
		      j->sm->p + (lo - j->sm->off), hi - lo);
	return 0;
}

/*
 * Decode blocks [blo, bhi) of a job. Four lanes run in step; when one runs
 * low it is finished, merged and refilled with the next block, so all four
 * stay busy until the last blocks. Each lane slot owns a part of @stage
 * (LANES * STAGE_LEN bytes).
 */
static int run_job(struct job *j, uint8_t *stage)
{
	uint64_t len = j->enc->len, safe = len >= 8 ? (len - 8) * 8 : 0;
	struct lane l[LANES];
	uint64_t blk[LANES], next = j->blo;
	unsigned live = 0, done[LANES] = {0};
	int rc = 0;

	for (unsigned k = 0; k < LANES; k++)
		if (lane_load(j, &next, &l[k], &blk[k],
			      stage + (size_t)k * STAGE_LEN))
			live++;
		else
			done[k] = 1;
	while (live == LANES && !rc) {
		lanes4(j->u, j->enc->p, safe, l, &rc);
		for (unsigned k = 0; k < LANES && !rc; k++) {
			uint8_t *st = stage + (size_t)k * STAGE_LEN;
			if (budget(&l[k], safe))
				continue;
			rc = lane_done(j, &l[k], blk[k], st, safe);
			if (!rc && !lane_load(j, &next, &l[k], &blk[k], st)) {
				done[k] = 1;
				live--;
			}
		}
	}
	for (unsigned k = 0; k < LANES && !rc; k++)
		if (!done[k])
			rc = lane_done(j, &l[k], blk[k],
				       stage + (size_t)k * STAGE_LEN, safe);
	return rc;
}

static int covers(const struct df11_span *s, uint64_t off, uint64_t len)
{
	return s && s->p && s->off <= off && off - s->off + len <= s->len;
}

int df11_unit_decode(const struct df11_unit *u, const struct df11_span *enc,
		     const struct df11_span *gaps, const struct df11_span *sm,
		     uint64_t a, uint64_t b, void *out, struct df11_scratch *s)
{
	struct df11_need nd;
	uint8_t *stage, *own = NULL;
	int rc;

	if ((rc = df11_unit_need(u, a, b, &nd)))
		return rc;
	if (!covers(enc, nd.enc_off, nd.enc_len) ||
	    !covers(gaps, nd.gaps_off, nd.gaps_len) ||
	    !covers(sm, nd.sm_off, nd.sm_len))
		return -EINVAL;
	/*
	 * The stage lives in the caller's scratch, kept for its next decode:
	 * a fresh 128 KiB allocation per call is an mmap, page faults and an
	 * munmap, a tenth of the decoding time of a 1 MiB chunk.
	 */
	stage = s ? df11_scratch_stage(s, (size_t)LANES * STAGE_LEN)
		  : (own = malloc((size_t)LANES * STAGE_LEN));
	if (!stage)
		return -ENOMEM;
	struct job j = {u, enc, gaps, sm, nd.b0, nd.b1, a, b, out};
	rc = run_job(&j, stage);
	free(own);
	return rc;
}
