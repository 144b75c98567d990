/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_safetensors.c - safetensors header parser tests
 *
 * Unit tests for each validation rule of codec/safetensors.c, then many
 * mutations of a valid header. The data-driven pass over
 * tests/data/{valid,invalid}/<case>/file.safetensors is
 * tests/unit/test_safetensors_data.c.
 */
#include "codec/safetensors.h"
#include "tests/unit/test.h"

#include <errno.h>

#define ERRLEN 512

/* parse() - parse NUL-terminated @json from an exact-size heap copy. */
static int parse(struct df11_st **st, const char *json, uint64_t data_size,
		 char err[ERRLEN])
{
	size_t len = strlen(json);
	uint8_t *copy = malloc(len + 1); /* + 1: malloc(0) */
	int ret;

	memcpy(copy, json, len);
	ret = df11_st_parse(st, copy, len, data_size, err, ERRLEN);
	free(copy);
	return ret;
}

/* bad() - @json must fail with @want and a message holding @msg. */
static void bad_at(const char *json, uint64_t data_size, int want,
		   const char *msg, int line)
{
	struct df11_st *st = (struct df11_st *)&st; /* must become NULL */
	char err[ERRLEN];
	int ret = parse(&st, json, data_size, err);

	ASSERT_EQ(ret, want);
	ASSERT(st == NULL);
	ASSERT(strchr(err, '\n') == NULL);
	if (ret != want || !strstr(err, msg))
		fprintf(stderr, "%s:%d: want '%s' in '%s'\n", __FILE__, line,
			msg, err);
	ASSERT(strstr(err, msg) != NULL);
}
#define bad(json, size, want, msg) bad_at(json, size, want, msg, __LINE__)

static void test_dtypes(void)
{
	enum df11_dtype dt;

	ASSERT_EQ(df11_dtype_size(DF11_DT_BOOL), 1);
	ASSERT_EQ(df11_dtype_size(DF11_DT_BF16), 2);
	ASSERT_EQ(df11_dtype_size(DF11_DT_F32), 4);
	ASSERT_EQ(df11_dtype_size(DF11_DT_F64), 8);
	ASSERT_EQ(df11_dtype_size(DF11_DT_COUNT), 0);
	ASSERT(df11_dtype_name(DF11_DT_COUNT) == NULL);
	for (unsigned i = 0; i < DF11_DT_COUNT; i++) {
		ASSERT(df11_dtype_size((enum df11_dtype)i) != 0);
		ASSERT_EQ(
		    df11_dtype_parse(df11_dtype_name((enum df11_dtype)i), &dt),
		    0);
		ASSERT_EQ(dt, i);
	}
	ASSERT(strcmp(df11_dtype_name(DF11_DT_F8_E4M3), "F8_E4M3") == 0);
	ASSERT_EQ(df11_dtype_parse("bf16", &dt), -EBADMSG);
	ASSERT_EQ(df11_dtype_parse("", &dt), -EBADMSG);
	ASSERT_EQ(df11_dtype_parse(NULL, &dt), -EINVAL);
}

static void put_le64(uint8_t p[8], uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_header_len(void)
{
	uint8_t p[8];
	uint64_t n = 0;

	put_le64(p, 16);
	ASSERT_EQ(df11_st_header_len(p, 24, &n), 0);
	ASSERT_EQ(n, 16);
	ASSERT_EQ(df11_st_header_len(p, 23, &n), -EBADMSG);
	ASSERT_EQ(df11_st_header_len(p, 7, &n), -EBADMSG);
	ASSERT_EQ(df11_st_header_len(p, 0, &n), -EBADMSG);
	put_le64(p, 0);
	ASSERT_EQ(df11_st_header_len(p, 1000, &n), -EBADMSG);
	put_le64(p, DF11_ST_MAX_HEADER);
	ASSERT_EQ(df11_st_header_len(p, 8 + (uint64_t)DF11_ST_MAX_HEADER, &n),
		  0);
	ASSERT_EQ(n, DF11_ST_MAX_HEADER);
	put_le64(p, DF11_ST_MAX_HEADER + 1ull);
	ASSERT_EQ(df11_st_header_len(p, UINT64_MAX, &n), -EBADMSG);
	put_le64(p, UINT64_MAX - 3); /* 8 + N wraps */
	ASSERT_EQ(df11_st_header_len(p, UINT64_MAX, &n), -EBADMSG);
	/* little-endian, byte by byte */
	memcpy(p, "\x01\x02\x00\x00\x00\x00\x00\x00", 8);
	ASSERT_EQ(df11_st_header_len(p, 8 + 0x201, &n), 0);
	ASSERT_EQ(n, 0x201);
}

static void test_valid_basic(void)
{
	struct df11_st *st = NULL;
	const struct df11_st_tensor *t;
	char err[ERRLEN];
	int ret = parse(&st,
			"{\"z.w\":{\"dtype\":\"BF16\",\"shape\":[2,3],"
			"\"data_offsets\":[12,24]},"
			"\"a.b\":{\"shape\":[3],\"data_offsets\":[0,12],"
			"\"dtype\":\"F32\"}}   ",
			30, err);

	ASSERT_EQ(ret, 0);
	if (ret != 0)
		return;
	ASSERT_EQ(df11_st_n_tensors(st), 2);
	t = df11_st_tensor(st, 0); /* header order, not name order */
	ASSERT(strcmp(t->name, "z.w") == 0);
	ASSERT_EQ(t->dtype, DF11_DT_BF16);
	ASSERT_EQ(t->n_dims, 2);
	ASSERT_EQ(t->shape[0], 2);
	ASSERT_EQ(t->shape[1], 3);
	ASSERT_EQ(t->n_elems, 6);
	ASSERT_EQ(t->begin, 12);
	ASSERT_EQ(t->end, 24);
	t = df11_st_tensor(st, 1);
	ASSERT(strcmp(t->name, "a.b") == 0);
	ASSERT_EQ(t->dtype, DF11_DT_F32);
	ASSERT(df11_st_tensor(st, 2) == NULL);
	ASSERT(df11_st_find(st, "a.b") == t);
	ASSERT(df11_st_find(st, "z.w") == df11_st_tensor(st, 0));
	ASSERT(df11_st_find(st, "a") == NULL);
	ASSERT(df11_st_find(st, "") == NULL);
	ASSERT_EQ(df11_st_order(st)[0], 1);
	ASSERT_EQ(df11_st_order(st)[1], 0);
	ASSERT(df11_st_meta(st, "format", NULL) == NULL);
	df11_st_free(st);
	df11_st_free(NULL);
}

static void test_scalar_and_empty(void)
{
	struct df11_st *st = NULL;
	const struct df11_st_tensor *t;
	const size_t *order;
	char err[ERRLEN];
	int ret =
	    parse(&st,
		  "{\"s\":{\"dtype\":\"F64\",\"shape\":[],"
		  "\"data_offsets\":[8,16]},"
		  "\"e1\":{\"dtype\":\"F16\",\"shape\":[0],"
		  "\"data_offsets\":[8,8]},"
		  "\"u\":{\"dtype\":\"U8\",\"shape\":[8],"
		  "\"data_offsets\":[0,8]},"
		  "\"e0\":{\"dtype\":\"I32\",\"shape\":[4611686018427387904,"
		  "4611686018427387904,0],\"data_offsets\":[8,8]},"
		  "\"e2\":{\"dtype\":\"BOOL\",\"shape\":[0,5],"
		  "\"data_offsets\":[16,16]}}",
		  16, err);

	ASSERT_EQ(ret, 0);
	if (ret != 0)
		return;
	ASSERT_EQ(df11_st_n_tensors(st), 5);
	t = df11_st_find(st, "s");
	ASSERT_EQ(t->n_dims, 0);
	ASSERT_EQ(t->n_elems, 1);
	t = df11_st_find(st, "e0");
	ASSERT_EQ(t->n_dims, 3);
	ASSERT_EQ(t->n_elems, 0);
	ASSERT_EQ(df11_st_find(st, "e2")->n_elems, 0);
	/* by begin; ties (s, e1, e0 at 8) keep header order */
	order = df11_st_order(st);
	ASSERT_EQ(order[0], 2);
	ASSERT_EQ(order[1], 0);
	ASSERT_EQ(order[2], 1);
	ASSERT_EQ(order[3], 3);
	ASSERT_EQ(order[4], 4);
	df11_st_free(st);
}

static void test_padding(void)
{
	static const char *const ok[] = {
	    "{}", "{}       ", "{} \t\r\n ", " \n{}", "{\"__metadata__\":{}}  ",
	};
	static const char *const no[] = {"{} x", "{}\v", "{}{}", "{}  ]"};
	struct df11_st *st = NULL;
	char err[ERRLEN];
	uint8_t nul[4] = {'{', '}', ' ', '\0'};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ASSERT_EQ(parse(&st, ok[i], 0, err), 0);
		if (st)
			ASSERT_EQ(df11_st_n_tensors(st), 0);
		df11_st_free(st);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		bad(no[i], 0, -EBADMSG, "trailing bytes after the json object");
	ASSERT_EQ(df11_st_parse(&st, nul, sizeof(nul), 0, err, ERRLEN),
		  -EBADMSG);
	ASSERT(strstr(err, "trailing bytes") != NULL);
	/* the bytes need not be NUL-terminated: "{} " of "{}  x" */
	ASSERT_EQ(
	    df11_st_parse(&st, (const uint8_t *)"{}  x", 4, 0, err, ERRLEN), 0);
	df11_st_free(st);
}

static void test_metadata(void)
{
	struct df11_st *st = NULL;
	char err[ERRLEN];
	size_t len = 0;
	const char *v;
	int ret = parse(&st,
			"{\"__metadata__\":{\"format\":\"pt\",\"nul\":"
			"\"a\\u0000b\",\"empty\":\"\"},"
			"\"x\":{\"dtype\":\"U8\",\"shape\":[1],"
			"\"data_offsets\":[0,1]}}",
			1, err);

	ASSERT_EQ(ret, 0);
	if (ret != 0)
		return;
	ASSERT_EQ(df11_st_n_tensors(st), 1);
	ASSERT(df11_st_find(st, "__metadata__") == NULL);
	v = df11_st_meta(st, "format", &len);
	ASSERT(v && strcmp(v, "pt") == 0);
	ASSERT_EQ(len, 2);
	v = df11_st_meta(st, "nul", &len);
	ASSERT_EQ(len, 3);
	ASSERT(v && memcmp(v, "a\0b", 4) == 0);
	v = df11_st_meta(st, "empty", &len);
	ASSERT(v && v[0] == '\0');
	ASSERT_EQ(len, 0);
	ASSERT(df11_st_meta(st, "missing", &len) == NULL);
	ASSERT(df11_st_meta(st, "format", NULL) != NULL);
	df11_st_free(st);

	bad("{\"__metadata__\":[]}", 0, -EBADMSG,
	    "__metadata__ is not a json object");
	bad("{\"__metadata__\":{\"a\":\"b\",\"c\":null}}", 0, -EBADMSG,
	    "__metadata__ value of 'c' is not a string");
	bad("{\"__metadata__\":{\"a\":{}}}", 0, -EBADMSG, "not a string");
	bad("{\"__metadata__\":{},\"__metadata__\":{}}", 0, -EBADMSG,
	    "duplicate object key");
}

static void test_bad_json(void)
{
	struct df11_st *st = NULL;
	char err[ERRLEN];

	bad("{", 0, -EBADMSG, "invalid json at line 1");
	bad("", 0, -EBADMSG, "header length 0 out of range");
	bad("nul", 0, -EBADMSG, "invalid json");
	bad("\"str\"", 0, -EBADMSG, "invalid json");
	bad("[]", 0, -EBADMSG, "header is not a json object");
	bad("[{}]  ", 0, -EBADMSG, "header is not a json object");
	bad("{\"a\":1,\"a\":1}", 0, -EBADMSG, "duplicate object key");
	bad("{\"\xc3\x28\":1}", 0, -EBADMSG, "invalid json");
	bad("{\"a\\u0000\":1}", 0, -EBADMSG, "NUL byte in object key");
	bad("{\"w\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],"
	    "\"data_offsets\":[0,0]}}",
	    0, -EBADMSG, "too big integer");
	ASSERT_EQ(df11_st_parse(NULL, (const uint8_t *)"{}", 2, 0, err, 8),
		  -EINVAL);
	ASSERT_EQ(df11_st_parse(&st, NULL, 2, 0, err, 8), -EINVAL);
	ASSERT_EQ(df11_st_parse(&st, (const uint8_t *)"{}", 0, 0, err, 8),
		  -EBADMSG);
	ASSERT_EQ(df11_st_parse(&st, (const uint8_t *)"{}",
				DF11_ST_MAX_HEADER + (size_t)1, 0, NULL, 0),
		  -EBADMSG);
	/* nesting deeper than jansson's limit fails cleanly */
	{
		size_t n = 100000;
		char *deep = malloc(2 * n + 8);

		memcpy(deep, "{\"a\":", 5);
		memset(deep + 5, '[', n);
		memset(deep + 5 + n, ']', n);
		memcpy(deep + 5 + 2 * n, "}", 2);
		bad(deep, 0, -EBADMSG, "invalid json");
		free(deep);
	}
}

#define W(body) "{\"w\":{" body "}}"

static void test_bad_tensor(void)
{
	bad("{\"w\":1}", 0, -EBADMSG, "tensor 'w': not a json object");
	bad("{\"\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0,
	    -EBADMSG, "tensor with an empty name");
	bad(W("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],"
	      "\"x\":1"),
	    1, -EBADMSG, "tensor 'w': unknown key 'x'");
	bad(W("\"shape\":[1],\"data_offsets\":[0,1]"), 1, -EBADMSG,
	    "tensor 'w': missing dtype");
	bad(W("\"dtype\":\"U8\",\"data_offsets\":[0,1]"), 1, -EBADMSG,
	    "tensor 'w': missing shape");
	bad(W("\"dtype\":\"U8\",\"shape\":[1]"), 1, -EBADMSG,
	    "tensor 'w': missing data_offsets");
	bad(W("\"dtype\":2,\"shape\":[1],\"data_offsets\":[0,1]"), 1, -EBADMSG,
	    "dtype is not a string");
	bad(W("\"dtype\":\"bf16\",\"shape\":[1],\"data_offsets\":[0,2]"), 2,
	    -EBADMSG, "tensor 'w': unknown dtype 'bf16'");
	bad(W("\"dtype\":\"BF16\\u0000\",\"shape\":[1],\"data_offsets\":[0,2]"),
	    2, -EBADMSG, "unknown dtype 'BF16'");
	bad(W("\"dtype\":\"U8\",\"shape\":{},\"data_offsets\":[0,1]"), 1,
	    -EBADMSG, "shape is not an array");
	bad(W("\"dtype\":\"U8\",\"shape\":[1,-1],\"data_offsets\":[0,1]"), 1,
	    -EBADMSG, "shape entry 1 is not an integer >= 0");
	bad(W("\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]"), 1,
	    -EBADMSG, "shape entry 0");
	bad(W("\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]"), 1,
	    -EBADMSG, "shape entry 0");
	bad(W("\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"
	      "\"data_offsets\":[0,1]"),
	    1, -EBADMSG, "shape has 17 dims, at most 16");
	bad(W("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]"), 2,
	    -EBADMSG, "data_offsets is not an array of 2 integers");
	bad(W("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]"), 2,
	    -EBADMSG, "data_offsets is not an array of 2");
	bad(W("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]"), 2,
	    -EBADMSG, "data_offsets is not an array of 2");
	bad(W("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1e0]"), 2,
	    -EBADMSG, "data_offsets is not an array of 2");
	bad(W("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":\"0,1\""), 2,
	    -EBADMSG, "data_offsets is not an array of 2");
	bad(W("\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[3,2]"), 4,
	    -EBADMSG, "data_offsets begin 3 > end 2");
}

static void test_bad_extent(void)
{
	bad("{\"model.w\":{\"dtype\":\"BF16\",\"shape\":[3],"
	    "\"data_offsets\":[0,10]}}",
	    10, -EBADMSG,
	    "tensor 'model.w': data_offsets [0, 10) do not match shape [3] "
	    "of BF16 (6 bytes)");
	bad(W("\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]"), 4,
	    -EBADMSG, "do not match shape [] of F32 (4 bytes)");
	bad(W("\"dtype\":\"U8\",\"shape\":[2,3],\"data_offsets\":[10,16]"), 15,
	    -EBADMSG,
	    "tensor 'w': data_offsets [10, 16) past the end of the 15-byte "
	    "data region");
	bad(W("\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[16,16]"), 15,
	    -EBADMSG, "past the end");
	bad(W("\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],"
	      "\"data_offsets\":[0,0]"),
	    0, -EOVERFLOW, "tensor 'w': shape product overflows 64 bits");
	bad(W("\"dtype\":\"F64\",\"shape\":[2305843009213693952],"
	      "\"data_offsets\":[0,0]"),
	    0, -EOVERFLOW, "byte size of shape [2305843009213693952] of F64");
	/* 2^61 - 1 elements of F64 fit in 64 bits: a plain mismatch */
	bad(W("\"dtype\":\"F64\",\"shape\":[2305843009213693951],"
	      "\"data_offsets\":[0,0]"),
	    0, -EBADMSG, "(18446744073709551608 bytes)");
}

static void test_overlap(void)
{
	struct df11_st *st = NULL;
	char err[ERRLEN];

	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
	    "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[3,7]}}",
	    8, -EBADMSG, "tensors 'a' [0, 4) and 'b' [3, 7) overlap");
	/* found whatever the header order */
	bad("{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]},"
	    "\"c\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[4,5]},"
	    "\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}",
	    8, -EBADMSG, "tensors 'a' [0, 8) and 'c' [4, 5) overlap");
	bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},"
	    "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}",
	    8, -EBADMSG, "overlap");
	/* touching ranges and empty tensors inside others are fine */
	ASSERT_EQ(parse(&st,
			"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],"
			"\"data_offsets\":[0,4]},"
			"\"e\":{\"dtype\":\"U8\",\"shape\":[0],"
			"\"data_offsets\":[2,2]},"
			"\"b\":{\"dtype\":\"U8\",\"shape\":[4],"
			"\"data_offsets\":[4,8]}}",
			8, err),
		  0);
	df11_st_free(st);
}

static void test_messages(void)
{
	char name[300], json[600], err[ERRLEN];
	struct df11_st *st = NULL;

	/* a name with a newline stays one line */
	bad("{\"a\\nb\":1}", 0, -EBADMSG, "tensor 'a?b': not a json object");
	/* a long name is cut, on a UTF-8 boundary */
	memset(name, 'x', 63);
	memcpy(name + 63, "\xc3\xa9yyyyyyyy", 11);
	snprintf(json, sizeof(json), "{\"%s\":1}", name);
	bad(json, 0, -EBADMSG,
	    "tensor 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxx...': not");
	memset(name, 'y', 299);
	name[299] = '\0';
	snprintf(json, sizeof(json), "{\"%s\":1}", name);
	bad(json, 0, -EBADMSG, "yyy...': not a json object");
	/* NULL error buffer, and a tiny one that still ends in NUL */
	ASSERT_EQ(df11_st_parse(&st, (const uint8_t *)"[]", 2, 0, NULL, 0),
		  -EBADMSG);
	memset(err, 'Z', sizeof(err));
	ASSERT_EQ(df11_st_parse(&st, (const uint8_t *)"[]", 2, 0, err, 7),
		  -EBADMSG);
	ASSERT(strcmp(err, "header") == 0);
	ASSERT(err[7] == 'Z');
	/* success leaves an empty message */
	ASSERT_EQ(df11_st_parse(&st, (const uint8_t *)"{}", 2, 0, err, ERRLEN),
		  0);
	ASSERT(err[0] == '\0');
	df11_st_free(st);
}

/* test_many() - 2000 tensors in reverse offset order; find and order. */
static void test_many(void)
{
	enum { N = 2000 };
	size_t cap = (size_t)N * 80 + 16, off = 1;
	char *json = malloc(cap), name[32], err[ERRLEN];
	struct df11_st *st = NULL;
	int ok = 1;

	json[0] = '{';
	for (unsigned i = 0; i < N; i++)
		off += (size_t)snprintf(
		    json + off, cap - off,
		    "%s\"layer.%u\":{\"dtype\":\"BF16\","
		    "\"shape\":[2],\"data_offsets\":[%u,%u]}",
		    i ? "," : "", i, 4 * (N - 1 - i), 4 * (N - i));
	memcpy(json + off, "}", 2);
	ASSERT_EQ(parse(&st, json, 4 * N, err), 0);
	free(json);
	if (!st)
		return;
	ASSERT_EQ(df11_st_n_tensors(st), N);
	for (unsigned i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "layer.%u", i);
		ok &= df11_st_find(st, name) == df11_st_tensor(st, i);
		ok &= df11_st_order(st)[i] == N - 1 - i;
	}
	ASSERT(ok);
	df11_st_free(st);
}

/*
 * test_mutations() - flip, drop and repeat bytes of a valid header many
 * times: the parser must never crash, and what it accepts must be sound.
 */
static void test_mutations(void)
{
	static const char seed[] =
	    "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"BF16\","
	    "\"shape\":[2,2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":"
	    "\"U8\",\"shape\":[],\"data_offsets\":[8,9]}}  ";
	static const char alphabet[] = "{}[],:\"0123456789- \\u";
	uint8_t buf[sizeof(seed)];
	uint64_t s = 42;
	int sound = 1;

	for (unsigned iter = 0; iter < 20000; iter++) {
		size_t len = sizeof(seed) - 1;
		struct df11_st *st = NULL;
		char err[64];

		memcpy(buf, seed, len);
		for (unsigned k = 1 + test_rand(&s) % 3; k; k--) {
			size_t at = test_rand(&s) % len;

			if (test_rand(&s) & 1)
				buf[at] =
				    (uint8_t)alphabet[test_rand(&s) %
						      (sizeof(alphabet) - 1)];
			else
				len = at + 1;
		}
		if (df11_st_parse(&st, buf, len, 16, err, sizeof(err)) != 0) {
			sound &= st == NULL && strlen(err) < sizeof(err);
			continue;
		}
		for (size_t i = 0; i < df11_st_n_tensors(st); i++) {
			const struct df11_st_tensor *t = df11_st_tensor(st, i);

			sound &= t->begin <= t->end && t->end <= 16;
			sound &= df11_st_find(st, t->name) == t;
		}
		df11_st_free(st);
	}
	ASSERT(sound);
}

int main(void)
{
	test_dtypes();
	test_header_len();
	test_valid_basic();
	test_scalar_and_empty();
	test_padding();
	test_metadata();
	test_bad_json();
	test_bad_tensor();
	test_bad_extent();
	test_overlap();
	test_messages();
	test_many();
	test_mutations();
	TEST_DONE();
}
