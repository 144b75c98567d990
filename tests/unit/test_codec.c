/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_codec.c - the helpers every part of the codec shares:
 * little-endian integers (codec/le.h), failure reasons (codec/err.h) and
 * the safetensors frame (df11_st_read_header(), df11_st_header_frame())
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "codec/err.h"
#include "codec/le.h"
#include "codec/safetensors.h"
#include "tests/unit/test.h"

static void test_le(void)
{
	uint8_t b[9] = {0};

	df11_le_put64(b + 1, 0x0123456789abcdefull); /* unaligned */
	ASSERT_EQ(b[1], 0xef);
	ASSERT_EQ(b[8], 0x01);
	ASSERT(df11_le_get64(b + 1) == 0x0123456789abcdefull);
	ASSERT_EQ(df11_le_get32(b + 1), 0x89abcdef);
	df11_le_put32(b, 0xfeedf00d);
	ASSERT_EQ(b[0], 0x0d);
	ASSERT_EQ(b[3], 0xfe);
	ASSERT_EQ(df11_le_get32(b), 0xfeedf00d);
	df11_le_put64(b, UINT64_MAX);
	ASSERT(df11_le_get64(b) == UINT64_MAX);
}

static void test_err(void)
{
	char err[16];

	df11_err_set(err, sizeof(err), "tensor '%s'", "a\nb\x7f");
	ASSERT(!strcmp(err, "tensor 'a?b?'"));
	df11_err_set(err, sizeof(err), "%s", "a much longer reason than fits");
	ASSERT_EQ(strlen(err), sizeof(err) - 1);
	df11_err_set(NULL, 10, "x");   /* no-op */
	df11_err_set(err, 0, "%d", 1); /* no-op */
	ASSERT_EQ(strlen(err), sizeof(err) - 1);
}

struct mem {
	const uint8_t *p;
	size_t len;
	int fail; /* the error the callback returns, 0: none */
};

static int mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct mem *m = ctx;

	if (m->fail)
		return m->fail;
	if (off > m->len || len > m->len - off)
		return -EIO;
	memcpy(buf, m->p + off, len);
	return 0;
}

/* df11_st_read_header() of @file (@len bytes) must fail with @rc, @why */
static void bad_frame(const uint8_t *file, size_t len, int fail, int rc,
		      const char *why)
{
	struct mem m = {file, len, fail};
	uint8_t *hdr = (uint8_t *)1;
	size_t hl = 1;
	char err[128] = "";

	ASSERT_EQ(
	    df11_st_read_header(mem_read, &m, len, &hdr, &hl, err, sizeof(err)),
	    rc);
	ASSERT(hdr == NULL && hl == 0);
	ASSERT(!strcmp(err, why));
	if (strcmp(err, why))
		fprintf(stderr, "  got '%s'\n", err);
}

static void test_frame(void)
{
	static const char json[] = "{\"__metadata__\":{\"a\":\"b\"}}    ";
	uint8_t file[64] = {0}, *hdr;
	size_t n = sizeof(json) - 1, hl;
	struct mem m = {file, 8 + n + 4, 0};
	uint64_t got;

	df11_le_put64(file, n);
	memcpy(file + 8, json, n);
	ASSERT_EQ(df11_st_read_header(mem_read, &m, m.len, &hdr, &hl, NULL, 0),
		  0);
	ASSERT_EQ(hl, 8 + n);
	ASSERT_MEM(hdr, file, hl);
	ASSERT_EQ(df11_st_header_frame(hdr, hl, m.len, &got), 0);
	ASSERT_EQ(got, n);
	ASSERT_EQ(df11_st_header_frame(hdr, hl - 1, m.len, &got), -EBADMSG);
	ASSERT_EQ(df11_st_header_frame(hdr, 7, m.len, &got), -EBADMSG);
	ASSERT_EQ(df11_st_header_frame(hdr, hl, hl - 1, &got), -EBADMSG);
	free(hdr);

	bad_frame(file, 7, 0, -EBADMSG,
		  "file too short for a safetensors header");
	df11_le_put64(file, 0);
	bad_frame(file, 40, 0, -EBADMSG, "empty safetensors header");
	df11_le_put64(file, 1000);
	bad_frame(file, 40, 0, -EBADMSG,
		  "header length 1000 past the end of the file (40 bytes)");
	df11_le_put64(file, DF11_ST_MAX_HEADER + 1ull);
	bad_frame(file, 40, 0, -EBADMSG,
		  "header length 100000001 above the limit of 100000000");
	df11_le_put64(file, UINT64_MAX - 3); /* 8 + N wraps */
	bad_frame(file, 40, 0, -EBADMSG,
		  "header length 18446744073709551612 above the limit of "
		  "100000000");
	/* read errors keep their errno; a callback's -EBADMSG is -EIO */
	df11_le_put64(file, n);
	bad_frame(file, 40, -EACCES, -EACCES, "cannot read the header");
	bad_frame(file, 40, -EBADMSG, -EIO, "cannot read the header");
}

int main(void)
{
	test_le();
	test_err();
	test_frame();
	TEST_DONE();
}
