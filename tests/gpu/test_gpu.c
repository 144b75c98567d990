/* SPDX-License-Identifier: MIT */
/*
 * tests/gpu/test_gpu.c - df11_gpu_decode() against df11_unit_decode()
 *
 * Every GPU job is decoded by the CPU decoder too, with the same spans:
 * the return codes must agree, and when both succeed the bytes must be
 * equal. Units of 1 to 16 Mi weights, many exponent distributions (normal,
 * heavy-tailed, all exponents 0..239, one and two symbols, subnormals,
 * rare exponents, Fibonacci counts that force codes of 20-30 bits), the
 * official short output_positions form, ranges at block boundaries +-1,
 * many jobs and units per batch, spans that are exactly what
 * df11_unit_need() names, pinned and pageable memory, and damaged streams,
 * gaps, tables and indexes.
 *
 *   test_gpu [-q] [example|short|many|corrupt|dist ...]
 *     -q: skip the 16 Mi-weight units (for the emulator); names: run only
 *     those groups
 *
 * The library: $DF11_GPU_LIB, else df11_gpu_open()'s default search.
 * Without a usable GPU it prints "no GPU: <reason>" and exits 77 (skip).
 * The fixture (weight generators, test jobs, the batch check against the
 * CPU) is tests/gpu/gpu_test_i.h.
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "tests/gpu/gpu_test_i.h"

static int quick;

/*
 * Under the emulator (libdf11gpu-emu.so): blocks the reference walk had to
 * decide so far. Valid units must never need it: the fast path is the
 * path, and a bug there would otherwise only show as lost speed.
 */
static uint64_t slow_blocks(void)
{
	const char *lib = getenv("DF11_GPU_LIB");
	void *h = lib ? dlopen(lib, RTLD_NOW | RTLD_NOLOAD) : NULL;
	uint64_t *(*fn)(void) = NULL;
	if (h)
		*(void **)(&fn) = dlsym(h, "df11_emu_counts");
	uint64_t v = fn ? fn()[1] : 0;
	if (h)
		dlclose(h);
	return v;
}

static void test_open(void)
{
	struct df11_gpu *g;
	struct df11_gpu_opts o = {0, 0, "/nonexistent/libdf11gpu.so"};
	char err[256] = "";

	ASSERT_EQ(df11_gpu_open(&g, &o, err, sizeof(err)), -ENODEV);
	ASSERT(g == NULL && strstr(err, "cannot load") != NULL);
	df11_gpu_close(NULL);
}

static void test_distributions(void)
{
	uint64_t slow = slow_blocks();
	static const size_t sizes[] = {1,    2,	    3,	    7,	     100,
				       4095, 12345, 100000, 1000003, 1u << 24};
	for (enum dist d = NORMAL; d < NDIST; d++)
		for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]);
		     k++) {
			size_t n = sizes[k];
			if (n == 1u << 24 &&
			    (quick || !(d == NORMAL || d == HEAVY ||
					d == ALL_EXP || d == FIB)))
				continue;
			uint8_t *w = malloc(2 * n);
			struct unit x;
			char what[64];
			gen(w, n, d, n * 31 + d);
			snprintf(what, sizeof(what), "%s n=%zu", dist_name[d],
				 n);
			int rc = unit_encode(&x, w, n);
			ASSERT_EQ(rc, 0);
			if (!rc)
				check_unit(&x, what, n + d);
			else
				fprintf(stderr, "  cannot encode %s\n", what);
			unit_free(&x);
			free(w);
		}
	ASSERT_EQ(slow_blocks() - slow, 0); /* emulator only */
}

/* the worked example of the official format spec: hand-made tables */
static void test_official_example(void)
{
	struct example x;
	struct df11_unit *u;

	unit_example(&x);
	ASSERT_EQ(df11_unit_new(&u, x.luts[0], sizeof(x.luts), x.op, 8, 3, 320,
				5, NULL, 0),
		  0);
	struct tjob tj[4];
	for (unsigned i = 0; i < 4; i++) {
		tj[i] = (struct tjob){u,	    {x.enc, 0, 3}, {x.gaps, 0, 320},
				      {x.sm, 0, 5}, i,		   5 - (i & 1),
				      5};
	}
	ASSERT_EQ(run_batch(tj, 4, 0, "official example"), 0);
	x.enc[2] ^= 0x40; /* the tail check sees this */
	run_batch(tj, 4, 0, "official example, damaged");
	df11_unit_free(u);
}

/* the short output_positions form on a unit whose last block is empty */
static void test_short_op(void)
{
	size_t n = DF11_BLOCK_BITS - 1;
	uint8_t *w = malloc(2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned e = i == 0 ? 100 : i == n - 1 ? 101 : 120;
		w[2 * i] = (uint8_t)((e & 1) << 7 | (i & 0x7F));
		w[2 * i + 1] = (uint8_t)(e >> 1 | (i & 0x100 ? 0x80 : 0));
	}
	struct unit x;
	ASSERT_EQ(unit_encode(&x, w, n), 0);
	ASSERT_EQ(df11_unit_n_blocks(x.u), 2);
	check_unit(&x, "short op, long form", 5);
	struct df11_unit *u;
	ASSERT_EQ(df11_unit_new(&u, x.luts, x.sz.luts, x.op, 8, x.sz.enc,
				x.sz.gaps, n, NULL, 0),
		  0);
	struct tjob tj[5] = {
	    tj_whole(&x, u, NULL, 0, n), tj_whole(&x, u, NULL, n - 1, n),
	    tj_whole(&x, u, NULL, 0, 1), tj_whole(&x, u, NULL, n / 2, n - 1)};
	void *keep = NULL;
	struct unit y = x;
	y.u = u;
	tj[4] = tj_need(&y, 1, n, 0, &keep);
	ASSERT_EQ(run_batch(tj, 5, 0, "short op"), 0);
	/* damage the last byte: the walk runs into the empty block */
	x.enc[x.sz.enc - 1] ^= 0x80;
	run_batch(tj, 4, 0, "short op, damaged");
	free(keep);
	df11_unit_free(u);
	unit_free(&x);
	free(w);
}

/* many jobs over many units in one call, pinned and pageable mixed */
static void test_many_jobs(void)
{
	enum { NU = 6, NJ = 600 };
	struct unit x[NU];
	uint8_t *w[NU];
	size_t sizes[NU] = {70000, 5, 300000, 12345, 1000, 2000000};
	struct tjob *tj = calloc(NJ, sizeof(*tj));
	void **keep = calloc(NJ, sizeof(*keep));
	uint64_t s = 99;

	for (unsigned k = 0; k < NU; k++) {
		w[k] = malloc(2 * sizes[k]);
		gen(w[k], sizes[k], (enum dist)(k % NDIST), k + 7);
		ASSERT_EQ(unit_encode(&x[k], w[k], sizes[k]), 0);
	}
	uint64_t slow = slow_blocks();
	for (unsigned pin = 0; pin < 2; pin++) {
		for (unsigned i = 0; i < NJ; i++) {
			const struct unit *u = &x[test_rand(&s) % NU];
			uint64_t n = u->sz.n_elems, a = test_rand(&s) % n;
			uint64_t len = 1 + test_rand(&s) %
					       (test_rand(&s) & 1 ? 40 : 70000);
			uint64_t b = a + len < n ? a + len : n;
			if (i % 3 == 2)
				tj[i] = tj_need(u, a, b, pin, &keep[i]);
			else
				tj[i] = tj_whole(u, NULL, NULL, a, b);
		}
		/* arguments the CPU refuses: the GPU refuses them too */
		tj[5].a = tj[5].b;
		tj[6].b = tj[6].n + 1;
		tj[7].e.len = 1;
		tj[8].s.off = tj[8].a + 1;
		ASSERT_EQ(run_batch(tj, NJ, (int)pin, "many jobs"), 0);
		for (unsigned i = 0; i < NJ; i++) {
			if (keep[i] && pin)
				df11_gpu_host_free(G, keep[i]);
			else
				free(keep[i]);
			keep[i] = NULL;
		}
	}
	ASSERT_EQ(slow_blocks() - slow, 0); /* emulator only */
	for (unsigned k = 0; k < NU; k++) {
		unit_free(&x[k]);
		free(w[k]);
	}
	free(keep);
	free(tj);
}

/* damaged streams, gaps, tables and indexes: the verdicts must agree */
static void test_corrupt(enum dist d, size_t n, unsigned flips)
{
	uint8_t *w = malloc(2 * n);
	struct unit x;
	uint64_t s = n + d;
	enum { K = 64 };
	struct tjob tj[2 * K];
	uint8_t *copy[K];
	char what[80];

	gen(w, n, d, 3 + d);
	ASSERT_EQ(unit_encode(&x, w, n), 0);
	uint64_t nb = x.sz.n_blocks;
	/* bit flips in the stream: whole unit and a range, per copy */
	for (unsigned round = 0; round < flips / K; round++) {
		for (unsigned k = 0; k < K; k++) {
			copy[k] = malloc(x.sz.enc);
			memcpy(copy[k], x.enc, x.sz.enc);
			unsigned nf = 1 + (unsigned)(test_rand(&s) % 3);
			for (unsigned f = 0; f < nf; f++) {
				uint64_t bit = test_rand(&s) % (8 * x.sz.enc);
				copy[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			uint64_t a = test_rand(&s) % n;
			tj[2 * k] = tj_whole(&x, NULL, copy[k], 0, n);
			tj[2 * k + 1] = tj_whole(&x, NULL, copy[k], a,
						 a + 1 + (n - a - 1) / 3);
		}
		snprintf(what, sizeof(what), "%s n=%zu stream flips",
			 dist_name[d], n);
		unsigned bad = run_batch(tj, 2 * K, 0, what);
		if (round == 0)
			printf("  %s: %u of %u jobs caught\n", what, bad,
			       2 * K);
		for (unsigned k = 0; k < K; k++)
			free(copy[k]);
	}
	/* gaps: inner entries are hints (the CPU ignores them), block-start
	 * entries are not */
	uint8_t *g0 = x.gaps;
	for (unsigned k = 0; k < K; k++) {
		copy[k] = malloc(x.sz.gaps);
		memcpy(copy[k], g0, x.sz.gaps);
		unsigned nf = 1 + (unsigned)(test_rand(&s) % 8);
		for (unsigned f = 0; f < nf; f++) {
			uint64_t byte = test_rand(&s) % x.sz.gaps;
			if (k % 4 == 3)
				byte -= byte % DF11_GAPS_PER_BLOCK;
			copy[k][byte] ^= (uint8_t)(1u << (test_rand(&s) % 8));
		}
		x.gaps = copy[k];
		tj[k] = tj_whole(&x, NULL, NULL, 0, n);
	}
	x.gaps = g0;
	snprintf(what, sizeof(what), "%s n=%zu gaps flips", dist_name[d], n);
	run_batch(tj, K, 0, what);
	for (unsigned k = 0; k < K; k++)
		free(copy[k]);
	/* tables: random bytes; what df11_unit_new() accepts must agree */
	struct df11_unit *uu[K] = {0};
	unsigned nt = 0;
	for (unsigned k = 0; k < 4 * K && nt < K; k++) {
		uint8_t *l = malloc(x.sz.luts);
		memcpy(l, x.luts, x.sz.luts);
		l[test_rand(&s) % x.sz.luts] = (uint8_t)test_rand(&s);
		if (k & 1)
			l[test_rand(&s) % 256] =
			    (uint8_t)(240 + test_rand(&s) % 16);
		if (df11_unit_new(&uu[nt], l, x.sz.luts, x.op, x.sz.op,
				  x.sz.enc, x.sz.gaps, n, NULL, 0) == 0) {
			tj[nt] = tj_whole(&x, uu[nt], NULL, 0, n);
			nt++;
		}
		free(l);
	}
	snprintf(what, sizeof(what), "%s n=%zu luts damage", dist_name[d], n);
	run_batch(tj, nt, 0, what);
	for (unsigned k = 0; k < nt; k++)
		df11_unit_free(uu[k]);
	/* output_positions moved by a little, where still monotonic */
	nt = 0;
	for (unsigned k = 0; nb >= 3 && k < 4 * K && nt < K; k++) {
		uint8_t *o = malloc(x.sz.op);
		memcpy(o, x.op, x.sz.op);
		uint64_t b = 1 + test_rand(&s) % (nb - 1);
		uint32_t v = o[4 * b] | o[4 * b + 1] << 8 |
			     (uint32_t)o[4 * b + 2] << 16 |
			     (uint32_t)o[4 * b + 3] << 24;
		v += (uint32_t)(test_rand(&s) % 5) - 2;
		memcpy(o + 4 * b, &v, 4);
		if (df11_unit_new(&uu[nt], x.luts, x.sz.luts, o, x.sz.op,
				  x.sz.enc, x.sz.gaps, n, NULL, 0) == 0) {
			uint64_t a = test_rand(&s) % n;
			tj[nt] = tj_whole(&x, uu[nt], NULL, k & 1 ? a : 0, n);
			nt++;
		}
		free(o);
	}
	snprintf(what, sizeof(what), "%s n=%zu op damage", dist_name[d], n);
	run_batch(tj, nt, 0, what);
	for (unsigned k = 0; k < nt; k++)
		df11_unit_free(uu[k]);
	unit_free(&x);
	free(w);
}

static int want(int argc, char **argv, const char *name)
{
	int any = 0;
	for (int i = 1; i < argc; i++)
		if (argv[i][0] != '-') {
			any = 1;
			if (!strcmp(argv[i], name))
				return 1;
		}
	return !any;
}

int main(int argc, char **argv)
{
	struct df11_gpu_opts o = {0, 0, getenv("DF11_GPU_LIB")};
	char err[512] = "";

	for (int i = 1; i < argc; i++)
		quick |= !strcmp(argv[i], "-q");
	test_open();
	int rc = df11_gpu_open(&G, &o, err, sizeof(err));
	if (rc == -ENODEV) {
		printf("no GPU: %s\n", err);
		return test_failures ? 1 : 77;
	}
	ASSERT_EQ(rc, 0);
	if (rc)
		TEST_DONE();
	printf("device: %s\n", df11_gpu_name(G));
	if (want(argc, argv, "example"))
		test_official_example();
	if (want(argc, argv, "short"))
		test_short_op();
	if (want(argc, argv, "many"))
		test_many_jobs();
	if (want(argc, argv, "corrupt")) {
		test_corrupt(RARE, 50000, 256);
		test_corrupt(NORMAL, 1000003, 128);
		test_corrupt(FIB, 200000, 128);
		test_corrupt(CONST, 70000, 64);
	}
	if (want(argc, argv, "dist"))
		test_distributions();
	df11_gpu_close(G);
	TEST_DONE();
}
