/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_container_bad.c - corrupted containers
 *
 * Single bit flips anywhere in a container (every header byte, random
 * data bytes) must give either the original bytes or a clean error:
 * open fails with -EBADMSG, -ENOTSUP or -EOVERFLOW, a chunk read with
 * -EBADMSG and a one-line message; never wrong bytes, never a crash.
 * Edited indexes and outer headers (another major version, wrong types,
 * bad coverage, bad chunk parameters, missing or mistyped streams) must be
 * refused at open with the right error and message.
 */
#include "tests/unit/ct_test_i.h"

/* flip bits; every outcome must be right bytes or a clean error */
static void test_bitflips(void)
{
	struct df11_ctw_opts o = {4096, 1};
	struct buf orig = {0}, ct = {0}, bent = {0};
	uint64_t rs = 42, hl;
	size_t caught = 0, opened = 0, tries = 0;
	int bad;

	make_orig(&orig, model, N_MODEL, 33, 1, 7);
	ASSERT_EQ(write_ct(&orig, &o, 1, &ct), 0);
	hl = hdr_n(&ct);
	bent.p = malloc(ct.len);
	bent.len = ct.len;
	for (size_t k = 0; k < 8 + hl + 3000; k++) {
		size_t pos = k < 8 + hl ? k : test_rand(&rs) % ct.len;
		int rc;

		memcpy(bent.p, ct.p, ct.len);
		bent.p[pos] ^= (uint8_t)(1u << (test_rand(&rs) % 8));
		rc = read_ct(&bent, &orig, NULL, &bad);
		tries++;
		if (rc) {
			if (rc != -EBADMSG && rc != -ENOTSUP && rc != -ENOMSG &&
			    rc != -EOVERFLOW)
				fprintf(stderr, "flip at %zu: open %d\n", pos,
					rc);
			ASSERT(rc == -EBADMSG || rc == -ENOTSUP ||
			       rc == -ENOMSG || rc == -EOVERFLOW);
			caught++;
		} else {
			opened++;
			caught += bad > 0;
		}
	}
	printf("bit flips: %zu tries, %zu caught, %zu opened\n", tries, caught,
	       opened);
	ASSERT(caught > tries / 2);
	free(bent.p);
	free(orig.p);
	free(ct.p);
}

struct index_case {
	int outer;
	const char *from, *to;
	int want;
	const char *msg;
};

static const struct index_case cases[] = {
    {0, "\"version\":\"1.0\"", "\"version\":\"2.0\"", -ENOTSUP,
     "unsupported df11 format version 2.0 (this reader knows 1.x)"},
    {0, "\"version\":\"1.0\"", "\"version\":\"1.7\"", 0, ""},
    {0, "\"version\":\"1.0\"", "\"version\":\"1\"", -EBADMSG, "version"},
    {0, "\"version\":\"1.0\"", "\"version\":1.0", -EBADMSG, "version"},
    {0, "\"version\":\"1.0\"", "\"version\":\"1.0\",\"version\":\"1.0\"",
     -EBADMSG, "duplicate"},
    {0, "\"size\":", "\"size\":1", -EBADMSG, "bad df11 index"},
    {0, "\"size\":", "\"size\":-", -EBADMSG, "bad df11 index"},
    {0, "\"header\":\"", "\"header\":\"AAAA", -EBADMSG, "checksum"},
    {0, "\"header\":\"", "\"header\":\"A", -EBADMSG, "bad df11 index"},
    {0, "\"header\":\"", "\"header\":\"\\n", -EBADMSG, "bad df11 index"},
    {0, "\"header_xxh3\":\"", "\"header_xxh3\":\"00", -EBADMSG, "index"},
    {0, "\"segments\":[", "\"segments\":[{\"off\":0},", -EBADMSG, "segment 0"},
    {0, "\"segments\":[", "\"segments\":3,\"x\":[", -EBADMSG, "cover"},
    {0, "\"off\":", "\"off\":1", -EBADMSG, "segment 0"},
    {0, "\"len\":", "\"len\":1", -EBADMSG, "segment 0"},
    {0, "\"len\":", "\"len\":0,\"l\":", -EBADMSG, "segment 0"},
    {0, "\"codec\":\"raw\"", "\"codec\":\"zstd\"", -EBADMSG, "codec"},
    {0, "\"codec\":\"lz4\"", "\"codec\":\"raw\"", -EBADMSG, "stream"},
    {0, "\"codec\":\"raw\"", "\"codec\":\"lz4\"", -EBADMSG, "stream"},
    {0, "\"chunk\":4096", "\"chunk\":4095", -EBADMSG, "chunk"},
    {0, "\"chunk\":4096", "\"chunk\":67108865", -EBADMSG, "chunk"},
    {0, "\"chunk\":4096", "\"chunk\":16777217", -EBADMSG, "chunk"},
    {0, "\"stream\":\"ids\",\"chunk\":4096",
     "\"stream\":\"ids\",\"chunk\":8192", -EBADMSG, "lz4_index"},
    {0, "\"blocks_per_chunk\":1", "\"blocks_per_chunk\":0", -EBADMSG, "df11"},
    {0, "\"blocks_per_chunk\":1", "\"blocks_per_chunk\":1025", -EBADMSG,
     "df11"},
    {0, "\"stream\":\"w.normal\"", "\"stream\":\"w.zero\"", -EBADMSG,
     "'w.zero'"},
    {0, "\"stream\":\"df11.gap.", "\"stream\":\"df11.gap.1", -EBADMSG, "gap"},
    {0, "{", "[", -EBADMSG, "bad df11 index"},
    {1, "\"w.big.xxh3\"", "\"w.big.xxh4\"", -EBADMSG, "missing"},
    {1, "\"w.big.gaps\":{\"dtype\":\"U8\"", "\"w.big.gaps\":{\"dtype\":\"I8\"",
     -EBADMSG, "U8"},
    {1, "\"df11\":", "\"df12\":", -ENOMSG, "not a df11 container"},
};

static void test_index(void)
{
	struct df11_ctw_opts o = {4096, 1};
	struct buf orig = {0}, ct = {0}, bent = {0};
	int bad;

	make_orig(&orig, model, N_MODEL, 10, 1, 3);
	ASSERT_EQ(write_ct(&orig, &o, 2, &ct), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct index_case *t = &cases[i];
		struct df11_ct *c = NULL;
		char err[ERRLEN] = "";
		int rc;

		if (edit(&ct, t->outer, t->from, t->to, &bent)) {
			fprintf(stderr, "case %zu: '%s' not found\n", i,
				t->from);
			ASSERT(0);
			continue;
		}
		rc = df11_ct_open(&c, mem_read, &bent, bent.len, err, ERRLEN);
		if (rc != t->want || !strstr(err, t->msg))
			fprintf(stderr, "case %zu: %d '%s'\n", i, rc, err);
		ASSERT_EQ(rc, t->want);
		ASSERT(strstr(err, t->msg) != NULL);
		ASSERT(rc != 0 || c != NULL);
		ASSERT(rc == 0 || c == NULL);
		df11_ct_free(c);
		if (rc == 0)
			ASSERT_EQ(read_ct(&bent, &orig, NULL, &bad) || bad, 0);
	}
	/* a plain safetensors file, a truncated container */
	struct df11_ct *c = NULL;
	char err[ERRLEN];
	ASSERT_EQ(df11_ct_open(&c, mem_read, &orig, orig.len, err, ERRLEN),
		  -ENOMSG);
	ASSERT(strcmp(err, "not a df11 container") == 0);
	for (size_t cut = 0; cut < ct.len; cut += 1 + cut / 2) {
		struct buf t = ct;

		t.len = cut;
		ASSERT(df11_ct_open(&c, mem_read, &t, t.len, err, ERRLEN) < 0);
	}
	free(bent.p);
	free(orig.p);
	free(ct.p);
}

int main(void)
{
	test_index();
	test_bitflips();
	TEST_DONE();
}
