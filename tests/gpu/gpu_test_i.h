/* SPDX-License-Identifier: MIT */
/*
 * tests/gpu/gpu_test_i.h - the fixture of tests/gpu/test_gpu.c
 *
 * Weights: BF16 generators for the exponent distributions the tests
 * sweep (normal, heavy-tailed, all exponents, one and two symbols,
 * subnormals, rare exponents, Fibonacci counts for codes of 20-30 bits).
 * Batches: a test job is a unit with its spans and a range, either the
 * whole streams (tj_whole) or exactly what df11_unit_need() names
 * (tj_need); run_batch() decodes jobs in one df11_gpu_decode() call and
 * checks each against the CPU decoder; check_unit() runs one unit over
 * ranges ending at every kind of boundary.
 *
 * Included by test_gpu.c alone, which opens G: the ASSERT counters of
 * tests/unit/test.h are per translation unit, so the fixture and the
 * tests must be one.
 */
#ifndef DF11_GPU_TEST_I_H
#define DF11_GPU_TEST_I_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/df11.h"
#include "gpu/gpu.h"
#include "tests/unit/test.h"
#include "tests/unit/units.h"
#include "tests/unit/decode_mt.h"
#include "tests/unit/weights.h"

/* the GPU every batch runs on, opened by main() */
static struct df11_gpu *G;

/* ------------------------------------------------------------ weights */

enum dist { NORMAL, HEAVY, ALL_EXP, CONST, TWO, SUBNORMAL, RARE, FIB, NDIST };
static const char *dist_name[] = {"normal",    "student-t3",  "all-exponents",
				  "constant",  "two-symbols", "subnormal",
				  "rare-exps", "fibonacci"};

static void put(uint8_t *w, size_t i, uint16_t v)
{
	w[2 * i] = (uint8_t)v;
	w[2 * i + 1] = (uint8_t)(v >> 8);
}

/*
 * Exponents with Fibonacci frequencies (31 of them, each at least once,
 * shuffled): a 1-bit code next to codes of up to ~30 bits
 */
static void gen_fib(uint8_t *w, size_t n, uint64_t *s)
{
	double cum[31], f1 = 1, f2 = 1, tot = 0;
	for (int k = 0; k < 31; k++) {
		tot += k < 30 ? f1 : 1.5 * f1; /* the top clearly gets 1 bit */
		cum[k] = tot;
		double t = f1 + f2;
		f1 = f2;
		f2 = t;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned k = 0;
		if (i < 31) {
			k = (unsigned)i;
		} else {
			double u =
			    (test_rand(s) >> 11) / 9007199254740992.0 * tot;
			while (k < 30 && cum[k] <= u)
				k++;
		}
		put(w, i, (uint16_t)((100 + k) << 7 | (test_rand(s) & 0x807F)));
	}
	for (size_t k = n; k > 1; k--) { /* shuffle */
		size_t j = test_rand(s) % k;
		uint16_t a =
		    (uint16_t)(w[2 * (k - 1)] | w[2 * (k - 1) + 1] << 8);
		uint16_t b = (uint16_t)(w[2 * j] | w[2 * j + 1] << 8);
		put(w, k - 1, b);
		put(w, j, a);
	}
}

static void gen(uint8_t *w, size_t n, enum dist d, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
	if (d == FIB) {
		gen_fib(w, n, &s);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t r = test_rand(&s);
		uint16_t v;
		switch (d) {
		case NORMAL:
			v = wt_bf16((float)(0.02 * wt_gauss(&s)));
			break;
		case HEAVY:
			v = wt_bf16((float)wt_t3(&s, 0.02));
			break;
		case ALL_EXP:
			v = (uint16_t)((r & 0x807F) | (r >> 20) % 240 << 7);
			break;
		case CONST:
			v = 0x3F80;
			break;
		case TWO:
			v = (uint16_t)((r & 1 ? 0x3F80 : 0xBF00) |
				       (r >> 8 & 0x7F));
			break;
		case SUBNORMAL:
			v = (uint16_t)(r & 0x807F);
			break;
		default: /* RARE: a few very rare exponents */
			v = (r % 20000 == 0)
				? (uint16_t)(((r >> 32) % 240) << 7)
				: wt_bf16((float)(0.02 * wt_gauss(&s)));
		}
		put(w, i, v);
	}
}

/* ------------------------------------------------------------ batches */

/* one test job: a unit (its own unit object), spans, a range */
struct tjob {
	const struct df11_unit *u;
	struct df11_span e, g, s;
	uint64_t a, b;
	uint64_t n; /* weights of the unit, for the output size */
};

static struct tjob tj_whole(const struct unit *x, const struct df11_unit *u,
			    const uint8_t *enc, uint64_t a, uint64_t b)
{
	struct tjob t = {u ? u : x->u,
			 {enc ? enc : x->enc, 0, x->sz.enc},
			 {x->gaps, 0, x->sz.gaps},
			 {x->sm, 0, x->sz.sm},
			 a,
			 b,
			 x->sz.n_elems};
	return t;
}

/*
 * Spans that are exactly what df11_unit_need() names, in pinned memory
 * when @pin: copies owned by @keep (freed by the caller).
 */
static struct tjob tj_need(const struct unit *x, uint64_t a, uint64_t b,
			   int pin, void **keep)
{
	struct tjob t = tj_whole(x, NULL, NULL, a, b);
	struct df11_need nd;
	if (df11_unit_need(x->u, a, b, &nd))
		return t;
	size_t len = nd.enc_len + nd.gaps_len + nd.sm_len;
	uint8_t *p = pin ? df11_gpu_host_alloc(G, len) : malloc(len);
	if (!p)
		return t;
	memcpy(p, x->enc + nd.enc_off, nd.enc_len);
	memcpy(p + nd.enc_len, x->gaps + nd.gaps_off, nd.gaps_len);
	memcpy(p + nd.enc_len + nd.gaps_len, x->sm + nd.sm_off, nd.sm_len);
	t.e = (struct df11_span){p, nd.enc_off, nd.enc_len};
	t.g = (struct df11_span){p + nd.enc_len, nd.gaps_off, nd.gaps_len};
	t.s = (struct df11_span){p + nd.enc_len + nd.gaps_len, nd.sm_off,
				 nd.sm_len};
	*keep = p;
	return t;
}

static int mismatches;

/*
 * Decode @n jobs in one df11_gpu_decode() call (outputs in pinned memory
 * when @pin) and compare each with df11_unit_decode(). Returns the number
 * of jobs that failed with -EBADMSG on both.
 */
static unsigned run_batch(const struct tjob *tj, size_t n, int pin,
			  const char *what)
{
	struct df11_gpu_job *jobs = calloc(n, sizeof(*jobs));
	uint8_t **out = calloc(n, sizeof(*out));
	unsigned bad = 0;
	size_t maxlen = 2;

	ASSERT(jobs && out);
	for (size_t i = 0; i < n; i++) {
		size_t len = tj[i].b > tj[i].a ? 2 * (tj[i].b - tj[i].a) : 2;
		maxlen = len > maxlen ? len : maxlen;
		out[i] = pin ? df11_gpu_host_alloc(G, len) : malloc(len);
		ASSERT(out[i] != NULL);
		memset(out[i], 0xEE, len);
		jobs[i] =
		    (struct df11_gpu_job){tj[i].u, tj[i].e, tj[i].g, tj[i].s,
					  tj[i].a, tj[i].b, out[i],  1};
	}
	int rc = df11_gpu_decode(G, jobs, n);
	ASSERT_EQ(rc, 0);
	uint8_t *ref = malloc(maxlen);
	for (size_t i = 0; i < n && !rc; i++) {
		memset(ref, 0x11, maxlen);
		int crc = unit_decode_mt(tj[i].u, &tj[i].e, &tj[i].g, &tj[i].s,
					 tj[i].a, tj[i].b, ref, 4);
		int same =
		    jobs[i].rc == crc &&
		    (crc || !memcmp(ref, out[i], 2 * (tj[i].b - tj[i].a)));
		ASSERT(same);
		if (!same && mismatches++ < 20)
			fprintf(stderr,
				"  %s: job %zu [%llu, %llu) of %llu: gpu rc "
				"%d, cpu rc %d%s\n",
				what, i, (unsigned long long)tj[i].a,
				(unsigned long long)tj[i].b,
				(unsigned long long)tj[i].n, jobs[i].rc, crc,
				jobs[i].rc == crc ? ", bytes differ" : "");
		bad += crc == -EBADMSG;
	}
	for (size_t i = 0; i < n; i++)
		if (pin)
			df11_gpu_host_free(G, out[i]);
		else
			free(out[i]);
	free(ref);
	free(out);
	free(jobs);
	return bad;
}

/* ranges whose ends sit at every kind of boundary */
static size_t boundary_ranges(const struct unit *x, uint64_t (*r)[2],
			      size_t max, uint64_t *s)
{
	uint64_t n = x->sz.n_elems, nb = df11_unit_n_blocks(x->u), pts[40];
	unsigned np = 0;
	uint64_t cand[] = {0, 1, 2, n / 2, n - 1, n};
	size_t k = 0;

	for (unsigned i = 0; i < 6; i++)
		pts[np++] = cand[i];
	for (uint64_t b = 1; b < nb && np < 36; b += 1 + nb / 10) {
		uint64_t st = df11_unit_block_start(x->u, b);
		pts[np++] = st;
		pts[np++] = st ? st - 1 : st;
		pts[np++] = st + 1 < n ? st + 1 : st;
	}
	r[k][0] = 0, r[k++][1] = n;
	for (unsigned tries = 0; k < max && tries < 40 * max; tries++) {
		uint64_t a = pts[test_rand(s) % np], b = pts[test_rand(s) % np];
		if (a >= b || b > n || (n > 2000000 && b - a > n / 4))
			continue;
		r[k][0] = a, r[k++][1] = b;
	}
	return k;
}

static void check_unit(struct unit *x, const char *what, uint64_t seed)
{
	uint64_t s = seed, r[48][2];
	size_t nr = boundary_ranges(x, r, 48, &s);
	struct tjob tj[96];
	void *keep[48] = {0};
	int pin = (int)(seed & 1);

	for (size_t i = 0; i < nr; i++) {
		tj[i] = tj_whole(x, NULL, NULL, r[i][0], r[i][1]);
		tj[nr + i] = tj_need(x, r[i][0], r[i][1], pin, &keep[i]);
	}
	ASSERT_EQ(run_batch(tj, 2 * nr, pin, what), 0);
	/* the whole unit decodes to the original weights */
	uint64_t n = x->sz.n_elems;
	uint8_t *out = malloc(2 * n);
	struct df11_gpu_job j = {x->u,
				 {x->enc, 0, x->sz.enc},
				 {x->gaps, 0, x->sz.gaps},
				 {x->sm, 0, n},
				 0,
				 n,
				 out,
				 1};
	ASSERT_EQ(df11_gpu_decode(G, &j, 1), 0);
	ASSERT_EQ(j.rc, 0);
	ASSERT_MEM(out, x->w, 2 * n);
	free(out);
	for (size_t i = 0; i < nr; i++)
		if (keep[i]) {
			if (pin)
				df11_gpu_host_free(G, keep[i]);
			else
				free(keep[i]);
		}
}

#endif
