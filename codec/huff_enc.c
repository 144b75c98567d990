/* SPDX-License-Identifier: MIT */
/*
 * codec/huff_enc.c - DF11 encoder: exponent histogram, length-limited
 * Huffman code, the official table layout, and the bitstream writer
 *
 * The code is a canonical Huffman code of the exponent bytes. The official
 * decoder walks at most four 8-bit table levels, takes values >= 240 as
 * pointers to one of at most 16 sub-tables, and cannot hold exponents
 * >= 240 as symbols. So: codes are at most 32 bits, and when a code needs
 * more than 16 sub-tables the frequencies are flattened (halved, kept >= 1)
 * and the code rebuilt. Flattening always ends: with equal frequencies
 * and at most 240 symbols every code is at most 8 bits and no sub-table is
 * needed. Real weights never get there; the loop only guards odd inputs.
 *
 * Unlike the official compressor we add no EOF pseudo-symbol: the last
 * byte is padded with zero bits, and a decoder decodes exactly n symbols.
 * A one-symbol alphabet gets the 1-bit code "0" (the official compressor
 * cannot build that table at all).
 *
 * Table layout (rows of 256 bytes, indexed by the next 8 stream bits):
 *   row 0      the root; rows 1..16 sub-tables for 8/16/24-bit prefixes
 *   value < 240  the exponent whose code ends in this byte
 *   value >= 240 continue in row 256 - value with the next byte
 *   last row   code length per exponent (0 = absent)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "df11.h"
#include "df11_i.h"

void df11_hist(const void *w, size_t n, uint64_t hist[256])
{
	/* four partial histograms hide the store-to-load dependency */
	uint32_t h[4][256];
	const uint8_t *p = w;
	size_t i = 0;

	while (i < n) {
		size_t end = n - i > (1u << 30) ? i + (1u << 30) : n;
		memset(h, 0, sizeof(h));
		for (; i + 4 <= end; i += 4) {
			h[0][df11_exp_of(p + 2 * i)]++;
			h[1][df11_exp_of(p + 2 * i + 2)]++;
			h[2][df11_exp_of(p + 2 * i + 4)]++;
			h[3][df11_exp_of(p + 2 * i + 6)]++;
		}
		for (; i < end; i++)
			h[0][df11_exp_of(p + 2 * i)]++;
		for (int s = 0; s < 256; s++)
			hist[s] +=
			    (uint64_t)h[0][s] + h[1][s] + h[2][s] + h[3][s];
	}
}

struct node {
	uint64_t f;
	int l, r; /* children, -1 for a leaf */
	int sym;
};

static int cmp_node(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	if (x->f != y->f)
		return x->f < y->f ? -1 : 1;
	return x->sym - y->sym;
}

static void depths(const struct node *t, int i, unsigned d, uint8_t len[256])
{
	if (t[i].l < 0) {
		len[t[i].sym] = (uint8_t)(d ? d : 1);
		return;
	}
	depths(t, t[i].l, d + 1, len);
	depths(t, t[i].r, d + 1, len);
}

/* Huffman code lengths by the two-queue method; returns the longest */
static unsigned huff_lengths(const uint64_t f[256], uint8_t len[256])
{
	struct node t[512];
	int n = 0;

	memset(len, 0, 256);
	for (int s = 0; s < 256; s++)
		if (f[s])
			t[n++] = (struct node){f[s], -1, -1, s};
	qsort(t, n, sizeof(t[0]), cmp_node);

	/* leaves t[0..n) sorted; internal nodes appended in order */
	int lq = 0, iq = n, m = n;
	while ((n - lq) + (m - iq) > 1) {
		int pick[2];
		for (int k = 0; k < 2; k++) {
			if (lq < n && (iq >= m || t[lq].f <= t[iq].f))
				pick[k] = lq++;
			else
				pick[k] = iq++;
		}
		t[m] = (struct node){t[pick[0]].f + t[pick[1]].f, pick[0],
				     pick[1], 256};
		m++;
	}
	depths(t, m - 1, 0, len);
	unsigned max = 0;
	for (int s = 0; s < 256; s++)
		max = len[s] > max ? len[s] : max;
	return max;
}

/* canonical codes: by (length, symbol) */
static void canonical(const uint8_t len[256], uint32_t code[256])
{
	uint32_t next = 0;
	unsigned prev = 0;

	for (unsigned l = 1; l <= DF11_MAX_CODE_LEN; l++)
		for (int s = 0; s < 256; s++) {
			if (len[s] != l)
				continue;
			next <<= l - prev;
			prev = l;
			code[s] = next++;
		}
}

/* row index of the prefix (level, bits) in the prefix list, adding it */
static int prefix_row(uint32_t pfx[][2], unsigned *n_pfx, unsigned level,
		      uint32_t bits)
{
	for (unsigned i = 0; i < *n_pfx; i++)
		if (pfx[i][0] == level && pfx[i][1] == bits)
			return (int)i + 1;
	if (*n_pfx >= DF11_MAX_LUTS - 2)
		return -1;
	pfx[*n_pfx][0] = level;
	pfx[*n_pfx][1] = bits;
	return (int)++*n_pfx;
}

/*
 * Lay the code out as official tables. Rows follow the first-seen order
 * of prefixes by increasing length, so row 0 is the root.
 * Returns -1 if more than 16 sub-tables would be needed.
 */
static int build_luts(struct df11_code *c)
{
	uint32_t pfx[DF11_MAX_LUTS][2]; /* (bytes, prefix bits) */
	unsigned n_pfx = 0;
	int16_t row[DF11_MAX_LUTS][256];

	/* sub-tables by level first so that rows sort by prefix length */
	for (unsigned lvl = 1; lvl <= 3; lvl++)
		for (int s = 0; s < 256; s++) {
			unsigned l = c->len[s];
			if (l && (l - 1) / 8 >= lvl &&
			    prefix_row(pfx, &n_pfx, lvl,
				       c->code[s] >> (l - 8 * lvl)) < 0)
				return -1;
		}
	memset(row, -1, sizeof(row));
	for (int s = 0; s < 256; s++) {
		unsigned l = c->len[s];
		if (!l)
			continue;
		unsigned end = (l - 1) / 8; /* level where the code ends */
		for (unsigned lvl = 0; lvl <= end; lvl++) {
			int r = lvl ? prefix_row(pfx, &n_pfx, lvl,
						 c->code[s] >> (l - 8 * lvl))
				    : 0;
			if (lvl < end) {
				unsigned key =
				    (c->code[s] >> (l - 8 * lvl - 8)) & 0xFF;
				int to =
				    prefix_row(pfx, &n_pfx, lvl + 1,
					       c->code[s] >> (l - 8 * lvl - 8));
				row[r][key] = (int16_t)(256 - to);
			} else {
				unsigned rem = l - 8 * lvl;
				unsigned key = (c->code[s] & ((1u << rem) - 1))
					       << (8 - rem);
				for (unsigned k = 0; k < (1u << (8 - rem)); k++)
					row[r][key + k] = (int16_t)s;
			}
		}
	}
	c->n_luts = n_pfx + 2;
	memset(c->luts, 0, sizeof(c->luts));
	for (unsigned r = 0; r <= n_pfx; r++) {
		int cur = -1;
		for (int i = 0; i < 256 && cur < 0; i++)
			cur = row[r][i];
		for (int i = 0; i < 256; i++) { /* fill-forward, as official */
			if (row[r][i] >= 0)
				cur = row[r][i];
			c->luts[r][i] = (uint8_t)cur;
		}
	}
	memcpy(c->luts[n_pfx + 1], c->len, 256);
	return 0;
}

int df11_code_build(struct df11_code *c, const uint64_t hist[256])
{
	uint64_t f[256];
	int n = 0;

	memset(c, 0, sizeof(*c));
	for (int s = 0; s < 256; s++) {
		if (hist[s] && s > (int)DF11_MAX_EXP)
			return -ENOTSUP;
		n += hist[s] != 0;
		f[s] = hist[s];
	}
	if (!n)
		return -ENOTSUP;
	for (;;) {
		unsigned max = huff_lengths(f, c->len);
		if (max <= DF11_MAX_CODE_LEN) {
			canonical(c->len, c->code);
			if (build_luts(c) == 0)
				return 0;
		}
		for (int s = 0; s < 256; s++) /* flatten and retry */
			f[s] = f[s] ? f[s] / 2 + 1 : 0;
	}
}

int df11_code_sizes(const struct df11_code *c, const uint64_t hist[256],
		    struct df11_sizes *s)
{
	uint64_t n = 0, bits = 0;

	memset(s, 0, sizeof(*s));
	for (int e = 0; e < 256; e++) {
		if (!hist[e])
			continue;
		if (!c->len[e])
			return -EINVAL;
		uint64_t b;
		if (__builtin_mul_overflow(hist[e], (uint64_t)c->len[e], &b) ||
		    __builtin_add_overflow(bits, b, &bits) ||
		    __builtin_add_overflow(n, hist[e], &n))
			return -EOVERFLOW;
	}
	if (n > DF11_MAX_UNIT_ELEMS)
		return -EOVERFLOW;
	s->n_elems = n;
	s->enc = (bits + 7) / 8;
	s->n_blocks = (s->enc + DF11_BLOCK_BYTES - 1) / DF11_BLOCK_BYTES;
	s->luts = (uint64_t)c->n_luts * 256;
	s->sm = n;
	s->op = 4 * (s->n_blocks + 1);
	s->gaps = DF11_GAPS_PER_BLOCK * s->n_blocks;
	return 0;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * One pass over the weights: no histogram is needed here, since the caller
 * sized the buffers with df11_code_sizes(). The gaps of a block are zeroed
 * when its first code is written (5-bit entries are OR-ed in), and the
 * sizes that depend on the total bit count are settled at the end.
 */
int df11_encode(const struct df11_code *c, const void *w, size_t n,
		const struct df11_enc_out *o)
{
	const uint8_t *p = w;
	uint64_t tab[256]; /* code << 8 | len */
	uint64_t acc = 0, total = 0, next_chunk = 0, started = 0, nb;
	unsigned nacc = 0;
	uint8_t *enc = o->enc;

	if (n > DF11_MAX_UNIT_ELEMS)
		return -EOVERFLOW;
	for (int e = 0; e < 256; e++)
		tab[e] = (uint64_t)c->code[e] << 8 | c->len[e];
	memcpy(o->luts, c->luts, (size_t)c->n_luts * 256);

	for (size_t i = 0; i < n; i++) {
		const uint8_t *x = p + 2 * i;
		uint64_t t = tab[df11_exp_of(x)];
		unsigned l = t & 0xFF;

		if (__builtin_expect(!l, 0))
			return -EINVAL; /* an exponent the code cannot say */
		o->sm[i] = (uint8_t)df11_sm_of(x);
		if (total >= next_chunk) { /* first code of a new chunk */
			uint64_t ch = total >> 6;
			if (!(ch & (DF11_THREADS - 1))) {
				uint64_t b = ch / DF11_THREADS;
				memset(o->gaps + DF11_GAPS_PER_BLOCK * b, 0,
				       DF11_GAPS_PER_BLOCK);
				df11_le_put32(o->op + 4 * b, (uint32_t)i);
				started = b + 1;
			}
			df11_gap_put(o->gaps, ch, total & 63);
			next_chunk = (ch + 1) << 6;
		}
		acc = acc << l | t >> 8;
		nacc += l;
		total += l;
		if (nacc >= 32) {
			nacc -= 32;
			put_be32(enc, (uint32_t)(acc >> nacc));
			enc += 4;
		}
	}
	while (nacc >= 8) {
		nacc -= 8;
		*enc++ = (uint8_t)(acc >> nacc);
	}
	if (nacc)
		*enc++ = (uint8_t)(acc << (8 - nacc));
	nb = ((total + 7) / 8 + DF11_BLOCK_BYTES - 1) / DF11_BLOCK_BYTES;
	/* the last block may hold no code start; the end entry is n */
	for (uint64_t b = started; b <= nb; b++) {
		if (b < nb)
			memset(o->gaps + DF11_GAPS_PER_BLOCK * b, 0,
			       DF11_GAPS_PER_BLOCK);
		df11_le_put32(o->op + 4 * b, (uint32_t)n);
	}
	return 0;
}
