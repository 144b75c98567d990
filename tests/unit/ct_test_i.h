/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/ct_test_i.h - helpers of the container tests
 *
 * In-memory read and write callbacks, original safetensors files built
 * from a table of tensors, writing a container (from several threads if
 * asked), reading every chunk back against the original, and editing a
 * container's index or outer header. Included by test_container.c and
 * test_container_bad.c only.
 */
#ifndef DF11_CT_TEST_I_H
#define DF11_CT_TEST_I_H

#include "codec/container.h"
#include "tests/unit/test.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>

#define ERRLEN	 256
#define NAME_LEN 64

/* ------------------------------------------------------------- buffers */

struct buf {
	uint8_t *p;
	size_t len, cap;
	pthread_mutex_t lock;
};

static void buf_put(struct buf *b, const void *p, size_t len)
{
	if (!len)
		return;
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static int mem_write(void *ctx, const void *p, size_t len, uint64_t *off)
{
	struct buf *b = ctx;

	pthread_mutex_lock(&b->lock);
	*off = b->len;
	buf_put(b, p, len);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int mem_read(void *ctx, void *p, size_t len, uint64_t off)
{
	const struct buf *b = ctx;

	if (off > b->len || len > b->len - off)
		return -EIO;
	memcpy(p, b->p + off, len);
	return 0;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* N, the header length of a safetensors file */
static uint64_t hdr_n(const struct buf *b)
{
	uint64_t n = 0;

	for (int i = 0; i < 8; i++)
		n |= (uint64_t)b->p[i] << (8 * i);
	return n;
}

/* ------------------------------------------------- original test files */

enum fill { F_NORMAL, F_INF, F_ZERO, F_RANDOM, F_IDS, F_WIDE };

struct tdesc {
	const char *name, *dtype, *shape;
	size_t nbytes, hole; /* hole: bytes covered by no tensor before it */
	enum fill fill;
};

/* BF16 of roughly normal weights with sigma 0.02 (truncated F32) */
static uint16_t bf16_normal(uint64_t *rs)
{
	float f = 0;
	uint32_t u;

	for (int i = 0; i < 4; i++)
		f += (float)(test_rand(rs) >> 11) / 9007199254740992.0f - 0.5f;
	f *= 0.035f;
	memcpy(&u, &f, 4);
	return (uint16_t)(u >> 16);
}

static void fill(uint8_t *p, size_t n, enum fill how, uint64_t *rs)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t r = test_rand(rs);

		switch (how) {
		case F_NORMAL:
		case F_INF:
			if (i % 2 == 0) {
				uint16_t v = bf16_normal(rs);

				if (how == F_INF && r % 50 == 0)
					v = r & 64 ? 0x7f80 : 0xffc1;
				p[i] = (uint8_t)v;
				if (i + 1 < n)
					p[i + 1] = (uint8_t)(v >> 8);
			}
			break;
		case F_ZERO:
			p[i] = 0;
			break;
		case F_RANDOM:
			p[i] = (uint8_t)(r >> 32);
			break;
		case F_WIDE: /* BF16 with 32 exponents: 5-bit codes */
			p[i] = i % 2 ? (uint8_t)((r & 0x80) | (50 + r % 16))
				     : (uint8_t)r;
			break;
		case F_IDS: /* little-endian I64 below 300 */
			p[i] = i % 8 == 0   ? (uint8_t)(r % 300)
			       : i % 8 == 1 ? (uint8_t)(r % 2)
					    : 0;
			break;
		}
	}
}

/*
 * An original file: tensors laid out in @d order (holes before each, and
 * @tail bytes after the last), listed in the header in reverse order.
 */
static void make_orig(struct buf *out, const struct tdesc *d, size_t nd,
		      size_t tail, int pad, uint64_t seed)
{
	char *json = malloc(65536);
	size_t jl, off = 0, n, data0;
	uint64_t rs = seed, *begin = calloc(nd + 1, sizeof(*begin));

	for (size_t i = 0; i < nd; i++) {
		off += d[i].hole;
		begin[i] = off;
		off += d[i].nbytes;
	}
	jl = (size_t)sprintf(json, "{\"__metadata__\":{\"format\":\"pt\"}");
	for (size_t i = nd; i-- > 0;)
		jl += (size_t)sprintf(json + jl,
				      ",\"%s\":{\"dtype\":\"%s\",\"shape\":%s,"
				      "\"data_offsets\":[%" PRIu64 ",%" PRIu64
				      "]}",
				      d[i].name, d[i].dtype, d[i].shape,
				      begin[i], begin[i] + d[i].nbytes);
	json[jl++] = '}';
	n = pad ? (jl + 7) / 8 * 8 : jl;
	memset(json + jl, ' ', n - jl);
	out->len = 0;
	data0 = 8 + n;
	uint8_t pre[8];
	put_le64(pre, n);
	buf_put(out, pre, 8);
	buf_put(out, json, n);
	/* holes get random bytes, tensors their fill */
	uint8_t *data = malloc(off + tail + 1);
	fill(data, off + tail, F_RANDOM, &rs);
	for (size_t i = 0; i < nd; i++)
		fill(data + begin[i], d[i].nbytes, d[i].fill, &rs);
	buf_put(out, data, off + tail);
	ASSERT_EQ(out->len, data0 + off + tail);
	free(data);
	free(begin);
	free(json);
}

static const struct tdesc model[] = {
    {"w.normal", "BF16", "[64,160]", 20480, 0, F_NORMAL},
    {"w.inf", "BF16", "[4000]", 8000, 16, F_INF},
    {"w.zero", "BF16", "[2048,2]", 8192, 0, F_ZERO},
    {"empty", "F32", "[0,4]", 0, 0, F_ZERO},
    {"scalar", "F32", "[]", 4, 3, F_RANDOM},
    {"f32", "F32", "[3000]", 12000, 0, F_RANDOM},
    {"ids", "I64", "[5000]", 40000, 100, F_IDS},
    {"tiny", "BF16", "[3]", 6, 0, F_NORMAL},
    {"w.big", "BF16", "[50000]", 100000, 1, F_NORMAL},
    {"empty2", "BF16", "[0]", 0, 0, F_ZERO},
};
#define N_MODEL (sizeof(model) / sizeof(model[0]))

/* ---------------------------------------------------- write, then read */

struct enc_job {
	struct df11_ctw *w;
	const struct buf *orig;
	struct buf *out;
	size_t first, step;
	int rc;
};

static void *enc_thread(void *arg)
{
	struct enc_job *j = arg;

	for (size_t i = j->first; i < df11_ctw_n_segments(j->w); i += j->step) {
		uint64_t off, len;

		df11_ctw_segment(j->w, i, &off, &len, NULL);
		j->rc |= df11_ctw_encode(j->w, i, j->orig->p + off, mem_write,
					 j->out);
	}
	return NULL;
}

/* the container of @orig into @out, encoded by @threads threads */
static int write_ct(const struct buf *orig, const struct df11_ctw_opts *o,
		    unsigned threads, struct buf *out)
{
	struct df11_ctw *w;
	struct buf data = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct enc_job jobs[4];
	pthread_t th[4];
	uint64_t n;
	uint8_t *h;
	size_t hl;
	char err[ERRLEN];
	int rc;

	n = hdr_n(orig);
	rc = df11_ctw_new(&w, orig->p, 8 + n, orig->len, o, err, ERRLEN);
	if (rc)
		return rc;
	for (unsigned t = 0; t < threads; t++) {
		jobs[t] = (struct enc_job){w, orig, &data, t, threads, 0};
		pthread_create(&th[t], NULL, enc_thread, &jobs[t]);
	}
	for (unsigned t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		ASSERT_EQ(jobs[t].rc, 0);
	}
	rc = df11_ctw_header(w, data.len, &h, &hl);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(hl % 8, 0);
	out->len = 0;
	buf_put(out, h, hl);
	buf_put(out, data.p, data.len);
	free(h);
	free(data.p);
	df11_ctw_free(w);
	return rc;
}

/*
 * Open @ct and read every chunk. Return: the open error, else 0 when every
 * chunk read back @orig's bytes; a chunk that fails must fail with
 * -EBADMSG (counted in *@bad) and never give wrong bytes.
 */
static int read_ct(const struct buf *ct, const struct buf *orig,
		   struct df11_ct **keep, int *bad)
{
	struct df11_ct *c;
	struct df11_scratch *sc;
	char err[ERRLEN] = "";
	uint8_t *out;
	int rc = df11_ct_open(&c, mem_read, (void *)ct, ct->len, err, ERRLEN);
	size_t hl;

	*bad = 0;
	if (rc) {
		ASSERT(strchr(err, '\n') == NULL && err[0]);
		return rc;
	}
	ASSERT_EQ(df11_ct_size(c), orig->len);
	const uint8_t *h = df11_ct_header(c, &hl);
	ASSERT(hl <= orig->len && memcmp(h, orig->p, hl) == 0);
	ASSERT_EQ(df11_scratch_new(&sc), 0);
	out = malloc(df11_ct_max_chunk(c) + 1);
	for (uint64_t id = 0; id < df11_ct_n_chunks(c); id++) {
		uint64_t off, len;
		size_t seg;

		df11_ct_chunk_range(c, id, &off, &len, &seg);
		ASSERT(off + len <= orig->len && len <= df11_ct_max_chunk(c));
		rc = df11_ct_chunk_read(c, id, mem_read, (void *)ct, sc, out,
					err, ERRLEN);
		if (rc) {
			ASSERT_EQ(rc, -EBADMSG);
			ASSERT(strchr(err, '\n') == NULL);
			ASSERT(strstr(err, " at offset ") != NULL);
			(*bad)++;
		} else {
			ASSERT_MEM(out, orig->p + off, len);
		}
	}
	free(out);
	df11_scratch_free(sc);
	if (keep)
		*keep = c;
	else
		df11_ct_free(c);
	return 0;
}

/*
 * Replace the first @from in the index (@outer 0) or in the outer JSON
 * (@outer 1) of @in by @to, into @out. Return: 0, -1 if @from is absent.
 */
static int edit(const struct buf *in, int outer, const char *from,
		const char *to, struct buf *out)
{
	uint64_t n;
	json_t *root, *meta;
	char *text, *hit, *res;
	const char *src;
	uint8_t pre[8];
	int rc = -1;

	n = hdr_n(in);
	root = json_loadb((const char *)in->p + 8, n, 0, NULL);
	meta = json_object_get(root, "__metadata__");
	text = outer ? json_dumps(root, JSON_COMPACT)
		     : strdup(json_string_value(json_object_get(meta, "df11")));
	hit = strstr(text, from);
	if (hit) {
		res = malloc(strlen(text) + strlen(to) + 1);
		sprintf(res, "%.*s%s%s", (int)(hit - text), text, to,
			hit + strlen(from));
		if (!outer) {
			json_object_set_new(meta, "df11", json_string(res));
			free(res);
			res = json_dumps(root, JSON_COMPACT);
		}
		src = res;
		size_t l = strlen(src), pn = (l + 7) / 8 * 8;
		out->len = 0;
		put_le64(pre, pn);
		buf_put(out, pre, 8);
		buf_put(out, src, l);
		for (size_t i = l; i < pn; i++)
			buf_put(out, " ", 1);
		buf_put(out, in->p + 8 + n, in->len - 8 - n);
		free(res);
		rc = 0;
	}
	free(text);
	json_decref(root);
	return rc;
}

#endif
