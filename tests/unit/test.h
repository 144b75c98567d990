/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test.h - tiny assertion macros for the unit tests
 *
 * A failed check prints file:line and the expression and makes the test
 * binary exit 1 at the end (TEST_DONE), so one run shows every failure.
 */
#ifndef DF11_TEST_H
#define DF11_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define ASSERT(cond)                                                          \
	do {                                                                  \
		test_checks++;                                                \
		if (!(cond)) {                                                \
			test_failures++;                                      \
			fprintf(stderr, "%s:%d: ASSERT(%s) failed\n",         \
				__FILE__, __LINE__, #cond);                   \
		}                                                             \
	} while (0)

#define ASSERT_EQ(a, b)                                                       \
	do {                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);           \
		test_checks++;                                                \
		if (a_ != b_) {                                               \
			test_failures++;                                      \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, a_, b_);          \
		}                                                             \
	} while (0)

#define ASSERT_MEM(a, b, n) ASSERT(memcmp((a), (b), (n)) == 0)

#define TEST_DONE()                                                           \
	do {                                                                  \
		printf("%s: %d checks, %d failures\n", __FILE__, test_checks, \
		       test_failures);                                        \
		return test_failures ? 1 : 0;                                 \
	} while (0)

/* xorshift64* - deterministic test randomness */
static inline uint64_t test_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

#endif
