/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_safetensors.c - libFuzzer target for the header parser
 *
 * The input is a whole safetensors file: 8-byte length prefix, header,
 * data region. The header bytes are copied into a buffer of exactly their
 * length, so that AddressSanitizer catches any read past the N bytes (the
 * parser must not expect a NUL terminator). Whatever the parser accepts is
 * then checked against every promise of codec/safetensors.h; a broken
 * promise aborts, which the fuzzer reports like a crash.
 */
#include "codec/safetensors.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_i.h"

/* check_tensor() - the invariants of one accepted tensor. */
static void check_tensor(const struct df11_st *st,
			 const struct df11_st_tensor *t, uint64_t data_size)
{
	uint64_t n = 1, nbytes;
	int has_zero = 0;

	CHECK(t->name && t->name[0] != '\0');
	CHECK(df11_st_find(st, t->name) == t);
	CHECK(df11_dtype_size(t->dtype) != 0);
	CHECK(t->n_dims <= DF11_ST_MAX_DIMS);
	for (unsigned d = 0; d < t->n_dims; d++)
		has_zero |= t->shape[d] == 0;
	for (unsigned d = 0; d < t->n_dims && !has_zero; d++)
		CHECK(!__builtin_mul_overflow(n, t->shape[d], &n));
	n = has_zero ? 0 : n;
	CHECK(n == t->n_elems);
	CHECK(!__builtin_mul_overflow(n, (uint64_t)df11_dtype_size(t->dtype),
				      &nbytes));
	CHECK(t->begin <= t->end && t->end <= data_size);
	CHECK(t->end - t->begin == nbytes);
}

/* walk() - every accessor of an accepted header, checked. */
static void walk(const struct df11_st *st, uint64_t data_size)
{
	size_t n = df11_st_n_tensors(st), len = 0;
	const size_t *order = df11_st_order(st);
	const struct df11_st_tensor *prev = NULL;
	const char *v;

	CHECK(order != NULL);
	CHECK(df11_st_tensor(st, n) == NULL);
	for (size_t i = 0; i < n; i++) {
		const struct df11_st_tensor *t;

		check_tensor(st, df11_st_tensor(st, i), data_size);
		CHECK(order[i] < n);
		t = df11_st_tensor(st, order[i]);
		if (i > 0) {
			const struct df11_st_tensor *u;

			u = df11_st_tensor(st, order[i - 1]);
			CHECK(u->begin < t->begin || (u->begin == t->begin &&
						      order[i - 1] < order[i]));
		}
		if (t->begin == t->end)
			continue;
		CHECK(!prev || prev->end <= t->begin);
		prev = t;
	}
	v = df11_st_meta(st, "df11", &len);
	CHECK(!v || v[len] == '\0');
	v = df11_st_meta(st, "format", NULL);
	CHECK(!v || strlen(v) < SIZE_MAX);
	CHECK(df11_st_find(st, "__metadata__") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct df11_st *st = NULL;
	uint64_t n = 0;
	uint8_t *json;
	char err[256];
	int ret;

	if (size < 8 || df11_st_header_len(data, size, &n) != 0)
		return 0;
	CHECK(n >= 1 && n <= DF11_ST_MAX_HEADER && n <= size - 8);
	json = malloc((size_t)n);
	if (!json)
		return 0;
	memcpy(json, data + 8, (size_t)n);
	ret =
	    df11_st_parse(&st, json, (size_t)n, size - 8 - n, err, sizeof(err));
	if (ret == 0) {
		CHECK(st != NULL);
		walk(st, size - 8 - n);
	} else {
		CHECK(st == NULL);
		CHECK(ret == -EBADMSG || ret == -EOVERFLOW || ret == -ENOMEM);
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(strchr(err, '\n') == NULL && err[0] != '\0');
	}
	df11_st_free(st);
	free(json);
	return 0;
}
