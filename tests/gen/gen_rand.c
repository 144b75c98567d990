/* SPDX-License-Identifier: MIT */
/*
 * tests/gen/gen_rand.c - element generators for df11-genmodel
 *
 * Weights must look like a trained LLM's (so that the exponent histogram,
 * which is what DF11 codes, has the usual 2.5-3 bits of entropy) and must
 * come fast: a 1 GiB model is 512M BF16 values, so the budget is a few
 * nanoseconds each.
 *
 * Normals and Student-t(3) values come from an inverse-CDF table: 65536
 * cells of equal probability, q[i] = F^-1(i / 65536). One 64-bit draw of
 * xoshiro256** gives two 32-bit words; per word the top 16 bits pick a cell
 * and the low 16 bits a point inside it by linear interpolation. The
 * density is thus piecewise flat over cells of probability 2^-16, far finer
 * than BF16's 8 bits of precision can see. The two outermost cells are the
 * tails past |q| ~ 4.2 (normal) or ~ 40 (t3) and are sampled from their
 * asymptotic forms with a fresh draw: sqrt(q^2 - 2 ln U) for the normal
 * and the Pareto(3) q * U^(-1/3) for t3, so heavy tails really are heavy.
 *
 * Edge-case kinds write BF16 bit patterns directly: bit 15 sign, bits 14..7
 * the exponent that DF11 Huffman-codes, bits 6..0 the mantissa.
 */
#include <math.h>
#include <string.h>

#include "tests/gen/gen_i.h"

#define CELLS 65536u

/* F^-1(i / CELLS) for i in 1..CELLS-1; [0] and [CELLS] are unused. */
static float norm_q[CELLS + 1];
static float t3_q[CELLS + 1];

/* Upper tail of N(0, 1). */
static double norm_sf(double x)
{
	return 0.5 * erfc(x / sqrt(2.0));
}

static double norm_pdf(double x)
{
	return exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
}

/* Upper tail of Student-t with 3 degrees of freedom (closed form). */
static double t3_sf(double t)
{
	double s = t / sqrt(3.0);

	return 0.5 - (atan(s) + s / (1.0 + s * s)) / M_PI;
}

static double t3_pdf(double t)
{
	double d = 1.0 + t * t / 3.0;

	return 2.0 / (M_PI * sqrt(3.0) * d * d);
}

/*
 * Fill q[CELLS/2 .. CELLS-1] by Newton's method on the upper tail, each
 * root starting from the previous one (the CDF is concave there, so the
 * iterates approach from below and never overshoot), then mirror.
 */
static void build_table(float *q, double (*sf)(double), double (*pdf)(double))
{
	double x = 0.0;

	for (unsigned i = CELLS / 2; i < CELLS; i++) {
		double tail = (double)(CELLS - i) / CELLS;

		for (int it = 0; it < 60; it++) {
			double step = (sf(x) - tail) / pdf(x);

			x += step;
			if (fabs(step) < 1e-12 * (1.0 + x))
				break;
		}
		q[i] = (float)x;
		q[CELLS - i] = (float)-x;
	}
	q[0] = q[1];
	q[CELLS] = q[CELLS - 1];
}

void gen_tables_init(void)
{
	build_table(norm_q, norm_sf, norm_pdf);
	build_table(t3_q, t3_sf, t3_pdf);
}

/* The tail cells 0 and CELLS-1: rare, so a fresh draw and libm are fine. */
static __attribute__((noinline)) float
tail_sample(const float *q, uint32_t cell, int heavy, struct gen_rng *rng)
{
	double u = (double)((gen_rng_next(rng) >> 11) + 1) * 0x1.0p-53;
	double edge = q[CELLS - 1];
	double x = heavy ? edge * pow(u, -1.0 / 3.0)
			 : sqrt(edge * edge - 2.0 * log(u));

	return (float)(cell == 0 ? -x : x);
}

/* One sample of the distribution tabulated in @q from 32 random bits. */
static inline float icdf_sample(const float *q, uint32_t r, int heavy,
				struct gen_rng *rng)
{
	uint32_t cell = r >> 16;
	float frac = (float)(r & 0xffffu) * 0x1.0p-16f;

	if (cell - 1u < CELLS - 2u)
		return q[cell] + (q[cell + 1] - q[cell]) * frac;
	return tail_sample(q, cell, heavy, rng);
}

uint16_t gen_bf16_from_float(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40u); /* keep NaN, quiet */
	u += 0x7fffu + ((u >> 16) & 1u);
	return (uint16_t)(u >> 16);
}

/* IEEE binary16 from float, round to nearest even, subnormals included. */
static uint16_t f16_from_float(float f)
{
	uint32_t u, a, sign;
	float v;

	memcpy(&u, &f, sizeof(u));
	sign = (u >> 16) & 0x8000u;
	a = u & 0x7fffffffu;
	if (a > 0x7f800000u)
		return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
	if (a >= 0x477ff000u) /* >= 65520 rounds past 65504 */
		return (uint16_t)(sign | 0x7c00u);
	if (a >= 0x38800000u) { /* 2^-14 and up: normal half */
		a += 0xfffu + ((a >> 13) & 1u);
		return (uint16_t)(sign | ((a - 0x38000000u) >> 13));
	}
	memcpy(&v, &a, sizeof(v));
	return (uint16_t)(sign | (uint32_t)lrintf(v * 0x1.0p24f));
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* The hot loop: BF16 normals or scaled t3, two values per 64-bit draw. */
static void fill_real(const struct gen_tensor *t, struct gen_rng *rng,
		      size_t count, uint8_t *out)
{
	int heavy = t->fill == GEN_FILL_STUDENT;
	const float *q = heavy ? t3_q : norm_q;
	/* t3 has variance 3: scale it down to the wanted std */
	float sc = heavy ? t->std / sqrtf(3.0f) : t->std;
	float mu = t->mean;
	size_t i = 0;

	for (; i + 2 <= count; i += 2) {
		uint64_t r = gen_rng_next(rng);
		float x0 = icdf_sample(q, (uint32_t)(r >> 32), heavy, rng);
		float x1 = icdf_sample(q, (uint32_t)r, heavy, rng);

		put16(out + 2 * i, gen_bf16_from_float(mu + sc * x0));
		put16(out + 2 * i + 2, gen_bf16_from_float(mu + sc * x1));
	}
	if (i < count) {
		uint64_t r = gen_rng_next(rng);
		float x = icdf_sample(q, (uint32_t)(r >> 32), heavy, rng);

		put16(out + 2 * i, gen_bf16_from_float(mu + sc * x));
	}
}

/* A BF16 pattern from sign, exponent and mantissa fields. */
static inline uint16_t bf16_bits(uint64_t sign, uint64_t exp, uint64_t mant)
{
	return (uint16_t)(((sign & 1u) << 15) | ((exp & 0xffu) << 7) |
			  (mant & 0x7fu));
}

/* N(0, 0.02^2) as BF16 from 32 random bits. */
static inline uint16_t small_normal(uint32_t r, struct gen_rng *rng)
{
	return gen_bf16_from_float(0.02f * icdf_sample(norm_q, r, 0, rng));
}

/* One BF16 edge-case element @idx from the 64 random bits @r. */
static uint16_t edge_bf16(const struct gen_tensor *t, uint64_t idx, uint64_t r,
			  struct gen_rng *rng)
{
	switch (t->fill) {
	case GEN_FILL_SUBNORMAL:
		return bf16_bits(r >> 63, 0, r);
	case GEN_FILL_INF_NAN:
		if (idx < 3) /* +Inf, -Inf and a NaN whatever the size */
			return bf16_bits(idx == 1, 255, idx == 2 ? r | 1u : 0);
		if ((r & 15u) == 0) /* mantissa 0: Inf, else NaN */
			return bf16_bits(r >> 63, 255, r >> 8);
		return small_normal((uint32_t)(r >> 16), rng);
	case GEN_FILL_HUGE:
		return bf16_bits(r >> 63, 240 + (r >> 8) % 15, r);
	case GEN_FILL_TWO_EXP:
		if (idx < 2) /* both exponents appear whatever the size */
			return bf16_bits(r >> 63, idx ? 124 : 120, r);
		return bf16_bits(r >> 63, (r >> 8) & 1u ? 124 : 120, r);
	case GEN_FILL_ALL_EXP:
		return bf16_bits(r >> 63, idx < 240 ? idx : (r >> 8) % 240, r);
	case GEN_FILL_NEG_ZERO:
		if ((r & 7u) < 4)
			return 0x8000u;
		if ((r & 7u) == 4)
			return 0x0000u;
		return small_normal((uint32_t)(r >> 16), rng);
	default:
		return 0;
	}
}

/* F32 normals with NaNs of several payloads and signs, and two Infs. */
static uint32_t f32_nan(uint64_t idx, uint64_t r, struct gen_rng *rng)
{
	static const uint32_t special[] = {
	    0x7fc00000u, 0xffc00000u, 0x7f800001u,
	    0x7fc12345u, 0x7f800000u, 0xff800000u,
	};
	float f;
	uint32_t u;

	if (idx < 6)
		return special[idx];
	if ((r & 7u) == 0)
		return special[(r >> 8) % 4];
	f = 0.02f * icdf_sample(norm_q, (uint32_t)(r >> 16), 0, rng);
	memcpy(&u, &f, sizeof(u));
	return u;
}

void gen_fill(const struct gen_tensor *t, struct gen_rng *rng, uint64_t first,
	      size_t count, uint8_t *out)
{
	switch (t->fill) {
	case GEN_FILL_NORMAL:
	case GEN_FILL_STUDENT:
		fill_real(t, rng, count, out);
		return;
	case GEN_FILL_ZERO:
		memset(out, 0, count * 2);
		return;
	case GEN_FILL_CONST:
		for (size_t i = 0; i < count; i++)
			put16(out + 2 * i, t->konst);
		return;
	default:
		break;
	}
	/* The small kinds: one draw per element, clarity over speed. */
	for (size_t i = 0; i < count; i++) {
		uint64_t idx = first + i, r = gen_rng_next(rng);
		uint8_t *p = out + i * t->elem_size;
		float f;
		uint32_t u;

		switch (t->fill) {
		case GEN_FILL_F32_INV_FREQ:
			f = 1.0f /
			    powf(10000.0f, (float)idx / (float)t->n_elems);
			memcpy(&u, &f, sizeof(u));
			put32(p, u);
			break;
		case GEN_FILL_F32_NAN:
			put32(p, f32_nan(idx, r, rng));
			break;
		case GEN_FILL_F16_NORMAL:
			f = t->mean +
			    t->std * icdf_sample(norm_q, (uint32_t)r, 0, rng);
			put16(p, f16_from_float(f));
			break;
		case GEN_FILL_I64_ARANGE:
			put64(p, idx);
			break;
		case GEN_FILL_I32_RANDOM:
			put32(p, (uint32_t)(r % 32000u));
			break;
		case GEN_FILL_U8_RANDOM:
			p[0] = (uint8_t)(r >> 56);
			break;
		case GEN_FILL_BOOL_RANDOM:
			p[0] = (uint8_t)(r >> 63);
			break;
		default:
			put16(p, edge_bf16(t, idx, r, rng));
			break;
		}
	}
}
