/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/weights.h - deterministic weights for tests and benchmarks
 *
 * One generator for every test and benchmark that makes BF16 weights:
 * xorshift64* numbers, Box-Muller normals, Student-t(3) heavy tails,
 * round-to-nearest-even BF16, and
 * a monotonic clock for the benchmarks.
 */
#ifndef DF11_WEIGHTS_H
#define DF11_WEIGHTS_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* xorshift64*: the same sequence as test_rand() in test.h */
static inline uint64_t wt_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* a standard normal (Box-Muller, two draws) */
static inline double wt_gauss(uint64_t *s)
{
	double u1 = ((wt_rand(s) >> 11) + 1.0) / 9007199254740993.0;
	double u2 = (wt_rand(s) >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Student-t(3) scaled to standard deviation @sd: heavy-tailed weights */
static inline double wt_t3(uint64_t *s, double sd)
{
	double g = wt_gauss(s), c = 0;
	for (int k = 0; k < 3; k++) {
		double z = wt_gauss(s);
		c += z * z;
	}
	return sd * g / sqrt(c / 3) / sqrt(3.0);
}

/* float -> BF16, round to nearest even */
static inline uint16_t wt_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	u += 0x7FFF + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

/* seconds on the monotonic clock */
static inline double wt_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#endif
