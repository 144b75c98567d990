/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_official.c - the df11-headers file (written by
 * df11_off_headers_encode(), read back by df11_off_open()) and its
 * version check, what the reader says it needs (enum df11_off_need)
 * when shapes cannot be resolved, and the shape of a piece taken from its
 * plain bias (its edge cases: not dividing, not BF16, empty, not 1-D)
 *
 * Reads the official fixture tests/data/official/llama-tiny (df11/ made by
 * the official package, orig/ the model it came from) from the repo root,
 * or from $DF11_TEST_DATA.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/base64.h"
#include "codec/safetensors.h"
#include "official/official.h"
#include "tests/unit/test.h"

struct blob {
	uint8_t *p;
	size_t len;
};

static const char *data_root(void)
{
	const char *env = getenv("DF11_TEST_DATA");

	return env && env[0] ? env : "tests/data";
}

/* the whole file @dir/@name, or {NULL, 0} */
static struct blob slurp(const char *dir, const char *name)
{
	struct blob b = {0};
	char path[1024];
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/official/llama-tiny/%s/%s",
		 data_root(), dir, name);
	f = fopen(path, "rb");
	if (!f)
		return b;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b.p = malloc((size_t)n + 1)) &&
	    fread(b.p, 1, (size_t)n, f) == (size_t)n) {
		b.len = (size_t)n;
		b.p[n] = 0;
	} else {
		free(b.p);
		b.p = NULL;
	}
	fclose(f);
	return b;
}

static int mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct blob *b = ctx;

	if (off > b->len || len > b->len - off)
		return -EIO;
	memcpy(buf, b->p + off, len);
	return 0;
}

static const char *const df11_files[] = {
    "lm_head.safetensors",
    "model.safetensors",
    "model_embed_tokens.safetensors",
    "model_layers_0.safetensors",
    "model_layers_1.safetensors",
};
#define N_DF11 (sizeof(df11_files) / sizeof(df11_files[0]))

static const char *const orig_files[] = {
    "model-00001-of-00003.safetensors",
    "model-00002-of-00003.safetensors",
    "model-00003-of-00003.safetensors",
};
#define N_ORIG (sizeof(orig_files) / sizeof(orig_files[0]))

static struct blob df11_blob[N_DF11], cfg;
static char *headers; /* df11_off_headers_encode() of orig/ */
static size_t headers_len;

/* df11_off_open() of the fixture with @cfg_txt and headers @h (or NULL) */
static int open_dir(const char *cfg_txt, const char *h,
		    enum df11_off_need *need, char *err, size_t errlen)
{
	struct df11_off_file files[N_DF11];
	struct df11_off_opts o = {.need = need};
	struct df11_off *m = NULL;
	int rc;

	for (size_t i = 0; i < N_DF11; i++)
		files[i] = (struct df11_off_file){
		    df11_files[i], df11_blob[i].len, mem_read, &df11_blob[i]};
	o.headers = h;
	o.headers_len = h ? strlen(h) : 0;
	rc = df11_off_open(&m, cfg_txt, strlen(cfg_txt), files, N_DF11, &o, err,
			   errlen);
	ASSERT(rc == 0 ? m != NULL : m == NULL);
	df11_off_free(m);
	return rc;
}

/* the encoded headers with "version" replaced by the JSON text @v */
static char *with_version(const char *v)
{
	json_t *root = json_loads(headers, 0, NULL);
	json_t *val = json_loads(v, JSON_DECODE_ANY, NULL);
	char *s;

	ASSERT(root && val);
	json_object_set_new(root, "version", val);
	s = json_dumps(root, JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}

static void test_encode(void)
{
	struct df11_off_hfile hf[N_ORIG];
	struct blob orig[N_ORIG],
	    idx = slurp("orig", "model.safetensors.index.json");
	json_t *root, *files, *ix;
	uint8_t *back;
	size_t back_len;

	for (size_t i = 0; i < N_ORIG; i++) {
		uint64_t n = 0;

		orig[i] = slurp("orig", orig_files[i]);
		ASSERT(orig[i].p != NULL);
		ASSERT_EQ(df11_st_header_len(orig[i].p, orig[i].len, &n), 0);
		hf[i] = (struct df11_off_hfile){orig_files[i], orig[i].len,
						orig[i].p, (size_t)(8 + n)};
	}
	ASSERT(idx.p != NULL);
	ASSERT_EQ(df11_off_headers_encode(&headers, &headers_len, hf, N_ORIG,
					  "model.safetensors.index.json", idx.p,
					  idx.len),
		  0);
	ASSERT(headers && strlen(headers) == headers_len);

	/* the format and version constants, the keys, base64 round trip */
	root = json_loads(headers, JSON_REJECT_DUPLICATES, NULL);
	ASSERT(root != NULL);
	ASSERT(!strcmp(json_string_value(json_object_get(root, "format")),
		       DF11_OFF_HEADERS_FORMAT));
	ASSERT(!strcmp(json_string_value(json_object_get(root, "version")),
		       "1.0"));
	files = json_object_get(root, "files");
	ASSERT_EQ(json_array_size(files), N_ORIG);
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		const char *b64 =
		    json_string_value(json_object_get(f, "header"));

		ASSERT(!strcmp(json_string_value(json_object_get(f, "name")),
			       orig_files[i]));
		ASSERT_EQ(json_integer_value(json_object_get(f, "size")),
			  orig[i].len);
		back = malloc(strlen(b64) / 4 * 3 + 1);
		ASSERT_EQ(df11_b64_decode(b64, strlen(b64), back, &back_len),
			  0);
		ASSERT_EQ(back_len, hf[i].header_len);
		ASSERT_MEM(back, orig[i].p, back_len);
		free(back);
	}
	ix = json_object_get(root, "index");
	ASSERT(!strcmp(json_string_value(json_object_get(ix, "name")),
		       "model.safetensors.index.json"));
	json_decref(root);
	for (size_t i = 0; i < N_ORIG; i++)
		free(orig[i].p);
	free(idx.p);
}

static void test_versions(void)
{
	static const char *const ok[] = {"\"1.0\"", "\"1.7\"", "\"1.123\"",
					 "1"};
	static const struct {
		const char *v, *msg;
	} newer[] = {
	    {"\"2.0\"", "headers file version 2.0 is newer than this df11fs "
			"supports (1.x)"},
	    {"\"17.3\"", "headers file version 17.3 is newer than this "
			 "df11fs supports (1.x)"},
	    {"2", "headers file version 2 is newer than this df11fs "
		  "supports (1.x)"},
	};
	static const char *const bad[] = {
	    "\"1\"", "\"1.\"", "\".0\"", "\"1.x\"",  "\"0.9\"",		"0",
	    "-1",    "null",   "[1]",	 "\"1.0 \"", "\"1234567890.0\""};
	enum df11_off_need need;
	char err[512], *h;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		h = with_version(ok[i]);
		err[0] = 0;
		ASSERT_EQ(open_dir((char *)cfg.p, h, &need, err, sizeof(err)),
			  0);
		if (err[0])
			fprintf(stderr, "version %s: %s\n", ok[i], err);
		free(h);
	}
	for (size_t i = 0; i < sizeof(newer) / sizeof(newer[0]); i++) {
		h = with_version(newer[i].v);
		ASSERT_EQ(open_dir((char *)cfg.p, h, &need, err, sizeof(err)),
			  -ENOTSUP);
		ASSERT(!strcmp(err, newer[i].msg));
		ASSERT_EQ(need, DF11_OFF_NEED_NONE);
		free(h);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = with_version(bad[i]);
		ASSERT_EQ(open_dir((char *)cfg.p, h, &need, err, sizeof(err)),
			  -EBADMSG);
		ASSERT(!strcmp(err, "headers: bad version"));
		free(h);
	}
	/* another format */
	ASSERT_EQ(open_dir((char *)cfg.p,
			   "{\"format\": \"x\", \"version\": "
			   "\"1.0\", \"files\": []}",
			   &need, err, sizeof(err)),
		  -EBADMSG);
	ASSERT(!strcmp(err, "headers: not a 'df11 headers' file"));
}

/* a config that names no shape rules: the reader asks for the headers */
static void test_need(void)
{
	char *c = malloc(cfg.len + 16), *p, err[512];
	enum df11_off_need need = DF11_OFF_NEED_HEADERS;

	ASSERT_EQ(open_dir((char *)cfg.p, NULL, &need, err, sizeof(err)), 0);
	ASSERT_EQ(need, DF11_OFF_NEED_NONE);

	memcpy(c, cfg.p, cfg.len + 1);
	p = strstr(c, "\"llama\"");
	ASSERT(p != NULL);
	if (p)
		memcpy(p, "\"mamba\"", 7);
	ASSERT_EQ(open_dir(c, NULL, &need, err, sizeof(err)), -ENOTSUP);
	ASSERT_EQ(need, DF11_OFF_NEED_HEADERS);
	ASSERT(strstr(err, "model_type 'mamba' has no shape rules") != NULL);
	/* no front end's flag is spelled by the reader */
	ASSERT(strstr(err, "--") == NULL && strstr(err, "-o ") == NULL &&
	       strstr(err, "headers=") == NULL);
	/* with the headers the same directory opens */
	ASSERT_EQ(open_dir(c, headers, &need, err, sizeof(err)), 0);
	ASSERT_EQ(need, DF11_OFF_NEED_NONE);
	/* a NULL need is fine */
	ASSERT_EQ(open_dir(c, NULL, NULL, err, sizeof(err)), -ENOTSUP);
	free(c);
}

/* a safetensors file with one tensor @name of @dtype, shape @shape */
static struct blob st_one(const char *name, const char *dtype,
			  const char *shape, size_t nbytes)
{
	struct blob b = {0};
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "{\"%s\":{\"dtype\":\"%s\",\"shape\":%s,"
			 "\"data_offsets\":[0,%zu]}}",
			 name, dtype, shape, nbytes);
	size_t pad = (8 - (size_t)n % 8) % 8;

	b.len = 8 + (size_t)n + pad + nbytes;
	b.p = calloc(1, b.len);
	ASSERT(b.p != NULL);
	if (!b.p)
		return b;
	for (int i = 0; i < 8; i++)
		b.p[i] = (uint8_t)(((size_t)n + pad) >> (8 * i));
	memcpy(b.p + 8, hdr, (size_t)n);
	memset(b.p + 8 + n, ' ', pad);
	return b;
}

/*
 * df11_off_open() of the fixture plus a file "bias.safetensors" holding
 * q_proj's bias (@dtype, @shape, @nbytes); on success *@r, *@c: the shape
 * of model.layers.0.self_attn.q_proj.weight.
 */
static int open_bias(const char *dtype, const char *shape, size_t nbytes,
		     uint64_t *r, uint64_t *c, enum df11_off_need *need,
		     char *err, size_t errlen)
{
	struct blob extra = st_one("model.layers.0.self_attn.q_proj.bias",
				   dtype, shape, nbytes);
	struct df11_off_file files[N_DF11 + 1];
	struct df11_off_opts o = {.need = need};
	struct df11_off *m = NULL;
	int rc;

	for (size_t i = 0; i < N_DF11; i++)
		files[i] = (struct df11_off_file){
		    df11_files[i], df11_blob[i].len, mem_read, &df11_blob[i]};
	files[N_DF11] = (struct df11_off_file){"bias.safetensors", extra.len,
					       mem_read, &extra};
	rc = df11_off_open(&m, (char *)cfg.p, cfg.len, files, N_DF11 + 1, &o,
			   err, errlen);
	*r = *c = 0;
	for (size_t i = 0; m && i < df11_off_n_tensors(m); i++) {
		struct df11_off_tensor_info t;

		df11_off_tensor(m, i, &t);
		if (!strcmp(t.name, "model.layers.0.self_attn.q_proj.weight") &&
		    t.n_dims == 2) {
			*r = t.shape[0];
			*c = t.shape[1];
		}
	}
	df11_off_free(m);
	free(extra.p);
	return rc;
}

static void test_bias(void)
{
	enum df11_off_need need;
	char err[512];
	uint64_t r, c;

	/* the bias gives out_features: the config's [256, 256] */
	ASSERT_EQ(
	    open_bias("BF16", "[256]", 512, &r, &c, &need, err, sizeof(err)),
	    0);
	ASSERT_EQ(r, 256);
	ASSERT_EQ(c, 256);
	ASSERT_EQ(need, DF11_OFF_NEED_NONE);
	/* the bias decides, before the config rules: 65536 = 128 x 512 */
	ASSERT_EQ(
	    open_bias("BF16", "[128]", 256, &r, &c, &need, err, sizeof(err)),
	    0);
	ASSERT_EQ(r, 128);
	ASSERT_EQ(c, 512);
	/* 65536 weights are no multiple of 300 */
	ASSERT_EQ(
	    open_bias("BF16", "[300]", 600, &r, &c, &need, err, sizeof(err)),
	    -EBADMSG);
	ASSERT_EQ(need, DF11_OFF_NEED_HEADERS);
	ASSERT(strstr(err, "'model.layers.0.self_attn.q_proj.weight': 65536 "
			   "weights do not fit its bias") != NULL);
	ASSERT(strstr(err, "original headers") != NULL);
	/* not BF16 */
	ASSERT_EQ(
	    open_bias("F32", "[256]", 1024, &r, &c, &need, err, sizeof(err)),
	    -EBADMSG);
	ASSERT(strstr(err, "(F32, 1 dims, 256 values") != NULL);
	ASSERT_EQ(
	    open_bias("F16", "[256]", 512, &r, &c, &need, err, sizeof(err)),
	    -EBADMSG);
	/* empty: no division by zero, refused */
	ASSERT_EQ(open_bias("BF16", "[0]", 0, &r, &c, &need, err, sizeof(err)),
		  -EBADMSG);
	ASSERT(strstr(err, "0 values") != NULL);
	/* not a vector */
	ASSERT_EQ(
	    open_bias("BF16", "[16, 16]", 512, &r, &c, &need, err, sizeof(err)),
	    -EBADMSG);
	ASSERT_EQ(open_bias("BF16", "[]", 2, &r, &c, &need, err, sizeof(err)),
		  -EBADMSG);
	/* a bias longer than the weights */
	ASSERT_EQ(open_bias("BF16", "[131072]", 262144, &r, &c, &need, err,
			    sizeof(err)),
		  -EBADMSG);
}

int main(void)
{
	cfg = slurp("df11", "config.json");
	ASSERT(cfg.p != NULL);
	for (size_t i = 0; i < N_DF11; i++) {
		df11_blob[i] = slurp("df11", df11_files[i]);
		ASSERT(df11_blob[i].p != NULL);
	}
	if (!cfg.p)
		TEST_DONE();
	test_encode();
	if (headers) {
		test_versions();
		test_need();
		test_bias();
	}
	free(headers);
	free(cfg.p);
	for (size_t i = 0; i < N_DF11; i++)
		free(df11_blob[i].p);
	TEST_DONE();
}
