/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_df11.c - DF11 unit encoder and decoder
 *
 * Every decode is compared with an independent reference decoder that
 * walks the official tables symbol by symbol from bit 0 (the simplest
 * decoder of the format spec, §3.3), and with the original weights.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "codec/df11.h"
#include "test.h"
#include "units.h"
#include "weights.h"

/* ---- reference: sequential walk, bytes past the end read as zero ---- */
static int ref_decode(const struct unit *x, uint8_t *out)
{
	unsigned n_luts = x->code.n_luts;
	const uint8_t *lens = x->luts + 256 * (n_luts - 1);
	uint64_t pos = 0;

	for (uint64_t i = 0; i < x->sz.n_elems; i++) {
		uint32_t w = 0;
		for (unsigned k = 0; k < 32; k++) {
			uint64_t bit = pos + k;
			unsigned v =
			    bit / 8 < x->sz.enc
				? (x->enc[bit / 8] >> (7 - bit % 8)) & 1
				: 0;
			w = w << 1 | v;
		}
		unsigned d = x->luts[w >> 24];
		for (unsigned lvl = 1; lvl < 4 && d >= 240; lvl++) {
			if (256 - d > n_luts - 2)
				return -1;
			d = x->luts[256 * (256 - d) +
				    ((w >> (24 - 8 * lvl)) & 0xFF)];
		}
		if (!lens[d])
			return -1;
		pos += lens[d];
		uint8_t s = x->sm[i];
		out[2 * i] = (uint8_t)((s & 0x7F) | (d & 1) << 7);
		out[2 * i + 1] = (uint8_t)((s & 0x80) | d >> 1);
	}
	return pos <= 8 * x->sz.enc && 8 * x->sz.enc - pos < 8 ? 0 : -1;
}

/* one scratch for the whole test run: its stage is reused call to call */
static struct df11_scratch *g_sc;

/* decode through g_sc (@keep) or a temporary stage */
static int decode(const struct unit *x, uint64_t a, uint64_t b, uint8_t *out,
		  int keep)
{
	struct df11_span e = {x->enc, 0, x->sz.enc},
			 g = {x->gaps, 0, x->sz.gaps}, s = {x->sm, 0, x->sz.sm};
	if (keep && !g_sc && df11_scratch_new(&g_sc))
		return -ENOMEM;
	return df11_unit_decode(x->u, &e, &g, &s, a, b, out,
				keep ? g_sc : NULL);
}

/* decode [a, b) from exactly the bytes df11_unit_need names */
static int decode_need(const struct unit *x, uint64_t a, uint64_t b,
		       uint8_t *out)
{
	struct df11_need nd;
	if (df11_unit_need(x->u, a, b, &nd))
		return -1;
	uint8_t *ec = malloc(nd.enc_len + 1), *gc = malloc(nd.gaps_len + 1);
	memcpy(ec, x->enc + nd.enc_off, nd.enc_len);
	memcpy(gc, x->gaps + nd.gaps_off, nd.gaps_len);
	struct df11_span e = {ec, nd.enc_off, nd.enc_len},
			 g = {gc, nd.gaps_off, nd.gaps_len},
			 s = {x->sm + nd.sm_off, nd.sm_off, nd.sm_len};
	int rc = df11_unit_decode(x->u, &e, &g, &s, a, b, out, NULL);
	free(ec);
	free(gc);
	return rc;
}

enum dist {
	NORMAL,
	HEAVY,
	UNIFORM_EXP,
	CONST,
	TWO,
	SUBNORMAL,
	ZEROS,
	LONGCODE
};

static void gen(uint8_t *w, size_t n, enum dist d, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		uint16_t v;
		uint64_t r = test_rand(&s);
		switch (d) {
		case NORMAL:
			v = wt_bf16((float)(0.02 * wt_gauss(&s)));
			break;
		case HEAVY:
			v = wt_bf16((float)wt_t3(&s, 0.01 * sqrt(3.0)));
			break;
		case UNIFORM_EXP:
			v = (uint16_t)((r & 0x807F) | (r >> 20) % 240 << 7);
			break;
		case CONST:
			v = 0x3F80;
			break;
		case TWO:
			v = (uint16_t)(r & 1 ? 0x3F80 : 0xBF00) |
			    (r >> 8 & 0x7F);
			break;
		case SUBNORMAL:
			v = (uint16_t)(r & 0x807F);
			break;
		case ZEROS:
			v = r & 1 ? 0x8000 : 0;
			break;
		default: /* a few very rare exponents: codes beyond 12 bits */
			v = (r % 100000 == 0)
				? (uint16_t)(((r >> 32) % 240) << 7)
				: wt_bf16((float)(0.02 * wt_gauss(&s)));
		}
		w[2 * i] = (uint8_t)v;
		w[2 * i + 1] = (uint8_t)(v >> 8);
	}
}

static void check_unit(const uint8_t *w, size_t n, const char *what)
{
	struct unit x;
	uint8_t *out = malloc(2 * n + 2), *ref = malloc(2 * n + 2);
	int rc = unit_encode(&x, w, n);
	ASSERT_EQ(rc, 0);
	if (rc) {
		fprintf(stderr, "  encode failed for %s n=%zu\n", what, n);
		goto out;
	}
	ASSERT_EQ(ref_decode(&x, ref), 0);
	ASSERT_MEM(ref, w, 2 * n);
	ASSERT_EQ(decode(&x, 0, n, out, 1), 0);
	ASSERT_MEM(out, w, 2 * n);
	ASSERT_EQ(decode(&x, 0, n, out, 0), 0);
	ASSERT_MEM(out, w, 2 * n);
	/* ranges starting and ending at every kind of boundary */
	uint64_t nb = df11_unit_n_blocks(x.u), pts[64];
	unsigned np = 0;
	uint64_t cand[] = {0, 1, 2, n / 2, n - 1, n};
	for (unsigned k = 0; k < 6; k++)
		pts[np++] = cand[k];
	for (uint64_t b = 1; b < nb && np < 60; b += 1 + nb / 8) {
		uint64_t s = df11_unit_block_start(x.u, b);
		pts[np++] = s;
		pts[np++] = s ? s - 1 : s;
		pts[np++] = s + 1 < n ? s + 1 : s;
	}
	for (unsigned i = 0; i < np; i++)
		for (unsigned j = 0; j < np; j++) {
			uint64_t a = pts[i], b = pts[j];
			if (a >= b || b > n)
				continue;
			memset(out, 0xEE, 2 * n);
			ASSERT_EQ(decode_need(&x, a, b, out), 0);
			ASSERT_MEM(out, w + 2 * a, 2 * (b - a));
		}
out:
	unit_free(&x);
	free(out);
	free(ref);
}

static void test_distributions(void)
{
	size_t sizes[] = {1, 2, 3, 7, 100, 4095, 12345, 100000, 1000003};
	for (enum dist d = NORMAL; d <= LONGCODE; d++)
		for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]);
		     k++) {
			size_t n = sizes[k];
			uint8_t *w = malloc(2 * n);
			gen(w, n, d, n + d);
			check_unit(w, n, "dist");
			free(w);
		}
}

/* the worked example of the official format spec (§3.7) */
static void test_official_example(void)
{
	struct example x;
	uint8_t out[10];
	struct df11_unit *u;

	unit_example(&x);
	ASSERT_EQ(df11_unit_new(&u, x.luts[0], sizeof(x.luts), x.op, 8, 3, 320,
				5, NULL, 0),
		  0);
	struct df11_span e = {x.enc, 0, 3}, g = {x.gaps, 0, 320},
			 s = {x.sm, 0, 5};
	ASSERT_EQ(df11_unit_decode(u, &e, &g, &s, 0, 5, out, NULL), 0);
	for (unsigned i = 0; i < 5; i++) {
		ASSERT_EQ(out[2 * i + 1], (x.sm[i] & 0x80) | x.exps[i] >> 1);
		ASSERT_EQ(out[2 * i], (x.sm[i] & 0x7F) | (x.exps[i] & 1) << 7);
	}
	/* the short output_positions form (n_blocks entries) is accepted */
	df11_unit_free(u);
	ASSERT_EQ(df11_unit_new(&u, x.luts[0], sizeof(x.luts), x.op, 4, 3, 320,
				5, NULL, 0),
		  -EBADMSG); /* op[0]=0 != n */
	df11_unit_free(u);
}

static void test_edges(void)
{
	uint64_t hist[256] = {0};
	struct df11_code c;

	ASSERT_EQ(df11_code_build(&c, hist), -ENOTSUP); /* empty */
	hist[250] = 3;
	ASSERT_EQ(df11_code_build(&c, hist), -ENOTSUP); /* Inf/NaN range */
	hist[250] = 0;
	hist[127] = 10;
	ASSERT_EQ(df11_code_build(&c, hist), 0);
	ASSERT_EQ(c.len[127], 1);
	ASSERT_EQ(c.n_luts, 2);
	/* every exponent 0..239 with skewed counts: tables must stay valid */
	for (int s = 0; s < 240; s++)
		hist[s] = 1 + (uint64_t)s * s * s;
	ASSERT_EQ(df11_code_build(&c, hist), 0);
	ASSERT(c.n_luts >= 2 && c.n_luts <= 18);
	/* Fibonacci counts force codes past 32 bits before limiting */
	uint64_t f1 = 1, f2 = 1;
	memset(hist, 0, sizeof(hist));
	for (int s = 0; s < 60; s++) {
		hist[s] = f1;
		uint64_t t = f1 + f2;
		f1 = f2;
		f2 = t;
	}
	ASSERT_EQ(df11_code_build(&c, hist), 0);
	for (int s = 0; s < 60; s++)
		ASSERT(c.len[s] >= 1 && c.len[s] <= 32);
	/* a 100-symbol flat-ish alphabet needing many sub-tables */
	memset(hist, 0, sizeof(hist));
	for (int s = 0; s < 200; s++)
		hist[s] = s < 4 ? 1000000 : 1 + s % 3;
	ASSERT_EQ(df11_code_build(&c, hist), 0);
	ASSERT(c.n_luts <= 18);
	uint8_t w[2 * 600];
	for (int i = 0; i < 600; i++) {
		w[2 * i] = (uint8_t)((i % 200) << 7);
		w[2 * i + 1] = (uint8_t)((i % 200) >> 1);
	}
	check_unit(w, 600, "200 symbols");
}

/* the short output_positions form on a unit whose last block is empty */
static void test_short_op(void)
{
	/* C, then 32765 x A (1-bit code), then B (2 bits) starting at bit
	 * 32767: the stream ends at bit 32769, in a block with no code start */
	size_t n = DF11_BLOCK_BITS - 1;
	uint8_t *w = malloc(2 * n), *out = malloc(2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned e = i == 0 ? 100 : i == n - 1 ? 101 : 120;
		w[2 * i] = (uint8_t)((e & 1) << 7 | (i & 0x7F));
		w[2 * i + 1] = (uint8_t)(e >> 1 | (i & 0x100 ? 0x80 : 0));
	}
	struct unit x;
	ASSERT_EQ(unit_encode(&x, w, n), 0);
	ASSERT_EQ(df11_unit_n_blocks(x.u), 2);
	ASSERT_EQ(df11_unit_block_start(x.u, 1), n);
	ASSERT_EQ(decode(&x, 0, n, out, 1), 0);
	ASSERT_MEM(out, w, 2 * n);
	/* the same unit with the official short output_positions */
	struct df11_unit *u;
	struct df11_span e = {x.enc, 0, x.sz.enc}, g = {x.gaps, 0, x.sz.gaps},
			 s = {x.sm, 0, n};
	ASSERT_EQ(df11_unit_new(&u, x.luts, x.sz.luts, x.op, 8, x.sz.enc,
				x.sz.gaps, n, NULL, 0),
		  0);
	memset(out, 0, 2 * n);
	ASSERT_EQ(df11_unit_decode(u, &e, &g, &s, 0, n, out, NULL), 0);
	ASSERT_MEM(out, w, 2 * n);
	ASSERT_EQ(df11_unit_decode(u, &e, &g, &s, n - 1, n, out, NULL), 0);
	ASSERT_MEM(out, w + 2 * (n - 1), 2);
	df11_unit_free(u);
	unit_free(&x);
	free(w);
	free(out);
}

/* corrupt streams: an error or (if the damage keeps step) some output,
 * never a crash or a hang; corrupt tables are refused or caught */
static void test_corrupt(void)
{
	size_t n = 50000;
	uint8_t *w = malloc(2 * n), *out = malloc(2 * n);
	uint64_t s = 7;
	gen(w, n, LONGCODE, 3);
	struct unit x;
	ASSERT_EQ(unit_encode(&x, w, n), 0);
	unsigned bad = 0;
	uint8_t *ref = malloc(2 * n);
	for (unsigned k = 0; k < 400; k++) {
		uint64_t bit = test_rand(&s) % (8 * x.sz.enc);
		x.enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = decode(&x, 0, n, out, 1);
		ASSERT(rc == 0 || rc == -EBADMSG);
		bad += rc != 0;
		/* accepted: every block ended where the next begins, so the
		 * sequential reference walk went the same way */
		if (rc == 0) {
			ASSERT_EQ(ref_decode(&x, ref), 0);
			ASSERT_MEM(out, ref, 2 * n);
		}
		x.enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* many flips desynchronise a block; the rest keep step (codes of
	 * equal length) and are left to the container's checksums */
	printf("  %u of 400 single-bit flips caught by the stream checks\n",
	       bad);
	free(ref);
	ASSERT(bad > 50);
	for (unsigned k = 0; k < 400; k++) {
		uint64_t i = test_rand(&s) % x.sz.luts;
		uint8_t old = x.luts[i];
		x.luts[i] = (uint8_t)test_rand(&s);
		struct df11_unit *u;
		if (df11_unit_new(&u, x.luts, x.sz.luts, x.op, x.sz.op,
				  x.sz.enc, x.sz.gaps, n, NULL, 0) == 0) {
			struct df11_span e = {x.enc, 0, x.sz.enc},
					 g = {x.gaps, 0, x.sz.gaps},
					 sp = {x.sm, 0, n};
			int rc =
			    df11_unit_decode(u, &e, &g, &sp, 0, n, out, NULL);
			ASSERT(rc == 0 || rc == -EBADMSG);
			df11_unit_free(u);
		}
		x.luts[i] = old;
	}
	/* index damage is refused at load */
	struct df11_unit *u;
	x.op[7] ^= 0x80; /* op[1] beyond n */
	ASSERT_EQ(df11_unit_new(&u, x.luts, x.sz.luts, x.op, x.sz.op, x.sz.enc,
				x.sz.gaps, n, NULL, 0),
		  -EBADMSG);
	x.op[7] ^= 0x80;
	x.op[0] = 1; /* op[0] != 0 */
	ASSERT_EQ(df11_unit_new(&u, x.luts, x.sz.luts, x.op, x.sz.op, x.sz.enc,
				x.sz.gaps, n, NULL, 0),
		  -EBADMSG);
	x.op[0] = 0;
	ASSERT_EQ(df11_unit_new(&u, x.luts, x.sz.luts - 1, x.op, x.sz.op,
				x.sz.enc, x.sz.gaps, n, NULL, 0),
		  -EBADMSG);
	ASSERT_EQ(df11_unit_new(&u, x.luts, x.sz.luts, x.op, x.sz.op, x.sz.enc,
				x.sz.gaps + 1, n, NULL, 0),
		  -EBADMSG);
	/* spans that do not cover the request */
	struct df11_span e = {x.enc, 0, 10}, g = {x.gaps, 0, x.sz.gaps},
			 sp = {x.sm, 0, n};
	ASSERT_EQ(df11_unit_decode(x.u, &e, &g, &sp, 0, n, out, NULL), -EINVAL);
	unit_free(&x);
	free(w);
	free(out);
}

int main(void)
{
	test_official_example();
	test_edges();
	test_short_op();
	test_distributions();
	test_corrupt();
	df11_scratch_free(g_sc);
	TEST_DONE();
}
