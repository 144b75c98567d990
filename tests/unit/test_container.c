/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_container.c - container writer and reader tests
 *
 * Builds small original safetensors files in memory (BF16 weights, BF16
 * with Inf/NaN, all-zero BF16, empty and scalar tensors, F32, I64, bytes
 * covered by no tensor, data in another order than the header, headers
 * with and without padding), writes containers through an in-memory write
 * callback (also from several threads at once), reopens them through an
 * in-memory read callback and rebuilds the original byte for byte from
 * its chunks; checks the codec each tensor gets, the chunk layout, the
 * writer's errors and base64. Corruption: test_container_bad.c.
 *
 * `test_container DIR` also writes the containers it builds to DIR (the
 * seeds of tests/fuzz/corpus/fuzz_container/).
 */
#include "codec/base64.h"
#include "tests/unit/ct_test_i.h"

/* the segment of tensor @name */
static const struct df11_ct_seg *seg_of(const struct df11_ct *c,
					const char *name)
{
	for (size_t i = 0; i < df11_ct_n_segments(c); i++) {
		const struct df11_ct_seg *s = df11_ct_segment(c, i);

		if (s->name && !strcmp(s->name, name))
			return s;
	}
	return NULL;
}

/* chunk ranges tile [8 + N, size) in id order; find agrees */
static void check_layout(const struct df11_ct *c)
{
	size_t hl, prev_seg = 0;
	uint64_t pos, id, off, len;

	df11_ct_header(c, &hl);
	pos = hl;
	for (uint64_t i = 0; i < df11_ct_n_chunks(c); i++) {
		size_t seg;

		df11_ct_chunk_range(c, i, &off, &len, &seg);
		ASSERT_EQ(off, pos);
		ASSERT(seg >= prev_seg && seg < df11_ct_n_segments(c));
		prev_seg = seg;
		if (len) {
			ASSERT_EQ(df11_ct_chunk_find(c, off, &id), 0);
			ASSERT_EQ(id, i);
			ASSERT_EQ(df11_ct_chunk_find(c, off + len - 1, &id), 0);
			ASSERT_EQ(id, i);
		}
		pos += len;
	}
	ASSERT_EQ(pos, df11_ct_size(c));
	ASSERT_EQ(df11_ct_chunk_find(c, df11_ct_size(c), &id), -EINVAL);
	ASSERT_EQ(df11_ct_chunk_find(c, hl - 1, &id), -EINVAL);
}

static void expect_codec(const struct df11_ct *c, const char *name,
			 enum df11_codec want)
{
	const struct df11_ct_seg *s = seg_of(c, name);

	ASSERT(s != NULL);
	if (!s)
		return;
	ASSERT(s->tensor && !strcmp(s->tensor->name, name));
	if (s->codec != want)
		fprintf(stderr, "tensor '%s': codec %s, want %s\n", name,
			df11_codec_name(s->codec), df11_codec_name(want));
	ASSERT_EQ(s->codec, want);
}

static const char *corpus_dir;

static void save(const struct buf *b, const char *name)
{
	char path[512];
	FILE *f;

	if (!corpus_dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", corpus_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b->p, 1, b->len, f) != b->len)
		fprintf(stderr, "cannot write '%s'\n", path);
	if (f)
		fclose(f);
}

static void test_roundtrip(void)
{
	static const struct df11_ctw_opts opts[] = {
	    {0, 0}, {4096, 1}, {8192, 3}};
	struct buf orig = {0}, ct = {0};
	int bad;

	for (int v = 0; v < 6; v++) {
		const struct df11_ctw_opts *o = &opts[v % 3];
		struct df11_ct *c = NULL;

		make_orig(&orig, model, N_MODEL, v % 2 ? 77 : 0, v % 2,
			  (uint64_t)v + 1);
		ASSERT_EQ(write_ct(&orig, o, v < 3 ? 1 : 4, &ct), 0);
		ASSERT_EQ(read_ct(&ct, &orig, &c, &bad), 0);
		ASSERT_EQ(bad, 0);
		if (!c)
			continue;
		check_layout(c);
		expect_codec(c, "w.normal", DF11_CODEC_DF11);
		expect_codec(c, "w.zero", DF11_CODEC_DF11);
		expect_codec(c, "w.big", DF11_CODEC_DF11);
		expect_codec(c, "f32", DF11_CODEC_RAW);
		expect_codec(c, "scalar", DF11_CODEC_RAW);
		expect_codec(c, "tiny", DF11_CODEC_RAW);
		expect_codec(c, "ids", DF11_CODEC_LZ4);
		ASSERT(seg_of(c, "w.inf")->codec != DF11_CODEC_DF11);
		ASSERT(seg_of(c, "empty") == NULL);
		ASSERT(ct.len < orig.len);
		if (o->blocks_per_chunk == 1)
			ASSERT(seg_of(c, "w.big")->n_chunks > 2);
		ASSERT_EQ(df11_st_n_tensors(df11_ct_orig(c)), N_MODEL);
		df11_ct_free(c);
	}
	free(orig.p);
	free(ct.p);
}

/* files with no data, only gap bytes, one tensor, one empty tensor */
static void test_small_files(void)
{
	static const struct tdesc one[] = {
	    {"a", "BF16", "[6000]", 12000, 0, F_NORMAL}};
	static const struct tdesc none[] = {{"e", "U8", "[0]", 0, 0, F_ZERO}};
	struct buf orig = {0}, ct = {0};
	int bad;

	for (int v = 0; v < 6; v++) {
		if (v < 4)
			make_orig(&orig, none, v % 2 ? 1 : 0, v < 2 ? 0 : 5000,
				  v % 2, 9);
		else
			make_orig(&orig, one, 1, v == 5 ? 3 : 0, 1, 9);
		ASSERT_EQ(write_ct(&orig, NULL, 1, &ct), 0);
		ASSERT_EQ(read_ct(&ct, &orig, NULL, &bad), 0);
		ASSERT_EQ(bad, 0);
	}
	free(orig.p);
	free(ct.p);
}

/* ------------------------------------------------------ writer, base64 */

static void test_writer_errors(void)
{
	struct tdesc clash[] = {{"x", "U8", "[10]", 10, 0, F_RANDOM},
				{NULL, "U8", "[10]", 10, 5, F_RANDOM}};
	struct df11_ctw_opts o = {100, 0};
	struct buf orig = {0};
	struct df11_ctw *w;
	char err[ERRLEN], name[NAME_LEN];
	uint64_t gap = 0;
	uint8_t *h;
	size_t hl;

	make_orig(&orig, model, 3, 0, 1, 1);
	ASSERT_EQ(df11_ctw_new(&w, orig.p, 8, orig.len, &o, err, ERRLEN),
		  -EINVAL);
	ASSERT_EQ(df11_ctw_new(&w, orig.p, 9, orig.len, NULL, err, ERRLEN),
		  -EBADMSG);
	o.chunk = 0;
	for (hl = 0; hl < 8; hl++)
		ASSERT(df11_ctw_new(&w, orig.p, hl, orig.len, &o, err, ERRLEN) <
		       0);
	hl = 8 + hdr_n(&orig);
	ASSERT_EQ(df11_ctw_new(&w, orig.p, hl, orig.len, &o, err, ERRLEN), 0);
	ASSERT_EQ(df11_ctw_header(w, 0, &h, &hl), -EINVAL);
	ASSERT_EQ(df11_ctw_encode(w, 99, orig.p, mem_write, NULL), -EINVAL);
	df11_ctw_free(w);
	df11_ctw_free(NULL);
	/* a tensor named like the gap before it: a fixed point of its name */
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "df11.gap.%" PRIu64, gap);
		clash[1].name = name;
		make_orig(&orig, clash, 2, 0, 1, 1);
		gap = 8 + hdr_n(&orig) + 10;
	}
	ASSERT_EQ(df11_ctw_new(&w, orig.p, 8 + hdr_n(&orig), orig.len, NULL,
			       err, ERRLEN),
		  -ENOTSUP);
	ASSERT(strstr(err, "clashes") != NULL);
	free(orig.p);
}

static void test_base64(void)
{
	static const char *vec[][2] = {{"", ""},
				       {"f", "Zg=="},
				       {"fo", "Zm8="},
				       {"foo", "Zm9v"},
				       {"foob", "Zm9vYg=="},
				       {"fooba", "Zm9vYmE="},
				       {"foobar", "Zm9vYmFy"}};
	static const char *bad[] = {
	    "Zg=",  "Zh==", "Zm9=", "Z===",	"Zg=a",	   "Zm 8",
	    "Zm-8", "Zm_8", "=Zg=", "Zg==Zg==", "Zm8=Zm9v"};
	char enc[64];
	uint8_t dec[64];
	size_t n;

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t l = strlen(vec[i][0]);

		ASSERT_EQ(df11_b64_encoded_len(l), strlen(vec[i][1]));
		df11_b64_encode((const uint8_t *)vec[i][0], l, enc);
		ASSERT(strcmp(enc, vec[i][1]) == 0);
		ASSERT_EQ(df11_b64_decode(enc, strlen(enc), dec, &n), 0);
		ASSERT_EQ(n, l);
		ASSERT_MEM(dec, vec[i][0], l);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(df11_b64_decode(bad[i], strlen(bad[i]), dec, &n),
			  -EBADMSG);
	ASSERT_EQ(df11_b64_encoded_len(SIZE_MAX), 0);
}

/* ---------------------------------------------------------- fuzz seeds */

static const struct tdesc mini[] = {
    {"w", "BF16", "[2000]", 4000, 0, F_NORMAL},
    {"inf", "BF16", "[40]", 80, 8, F_INF},
    {"zero", "BF16", "[1024]", 2048, 0, F_ZERO},
    {"e", "F32", "[0]", 0, 0, F_ZERO},
    {"ids", "I64", "[1100]", 8800, 5, F_IDS},
    {"s", "U8", "[]", 1, 0, F_RANDOM},
};

/* small containers (and one plain file) into @dir */
static void write_seeds(const char *dir)
{
	static const struct tdesc big[] = {
	    {"a", "BF16", "[14000]", 28000, 0, F_WIDE}};
	struct df11_ctw_opts o = {4096, 1};
	struct buf orig = {0}, ct = {0}, bent = {0};
	char name[64];

	corpus_dir = dir;
	make_orig(&orig, mini, 6, 7, 1, 5);
	save(&orig, "plain-safetensors");
	ASSERT_EQ(write_ct(&orig, &o, 1, &ct), 0);
	save(&ct, "mini-4k-g1");
	if (!edit(&ct, 0, "\"version\":\"1.0\"", "\"version\":\"2.0\"", &bent))
		save(&bent, "mini-version-2");
	make_orig(&orig, mini, 6, 0, 0, 6);
	ASSERT_EQ(write_ct(&orig, NULL, 1, &ct), 0);
	save(&ct, "mini-default");
	make_orig(&orig, big, 1, 0, 1, 8);
	ASSERT_EQ(write_ct(&orig, &o, 1, &ct), 0);
	save(&ct, "df11-3-chunks");
	for (int v = 0; v < 4; v++) {
		make_orig(&orig, mini + 3, v % 2 + 1, v < 2 ? 0 : 300, v % 2,
			  (uint64_t)v);
		ASSERT_EQ(write_ct(&orig, &o, 1, &ct), 0);
		snprintf(name, sizeof(name), "small-%d", v);
		save(&ct, name);
	}
	free(bent.p);
	free(orig.p);
	free(ct.p);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		write_seeds(argv[1]);
	test_base64();
	test_roundtrip();
	test_small_files();
	test_writer_errors();
	TEST_DONE();
}
