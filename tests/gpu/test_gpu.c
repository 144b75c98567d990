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
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "codec/df11.h"
#include "gpu/gpu.h"
#include "tests/unit/test.h"
#include "tests/unit/units.h"
#include "tests/unit/decode_mt.h"
#include "tests/unit/weights.h"

static struct df11_gpu *G;
static int quick;

/* ------------------------------------------------------------ weights */

enum dist { NORMAL, HEAVY, ALL_EXP, CONST, TWO, SUBNORMAL, RARE, FIB, NDIST };
static const char *dist_name[] = {"normal",    "student-t3",  "all-exponents",
				  "constant",  "two-symbols", "subnormal",
				  "rare-exps", "fibonacci"};

static void put(uint8_t *w, size_t i, uint16_t v)
{
	w[2 * i] = (uint8_t)v;
	w[2 * i + 1] = (uint8_t)(v >> 8);
}

/*
 * Exponents with Fibonacci frequencies (31 of them, each at least once,
 * shuffled): a 1-bit code next to codes of up to ~30 bits
 */
static void gen_fib(uint8_t *w, size_t n, uint64_t *s)
{
	double cum[31], f1 = 1, f2 = 1, tot = 0;
	for (int k = 0; k < 31; k++) {
		tot += k < 30 ? f1 : 1.5 * f1; /* the top clearly gets 1 bit */
		cum[k] = tot;
		double t = f1 + f2;
		f1 = f2;
		f2 = t;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned k = 0;
		if (i < 31) {
			k = (unsigned)i;
		} else {
			double u =
			    (test_rand(s) >> 11) / 9007199254740992.0 * tot;
			while (k < 30 && cum[k] <= u)
				k++;
		}
		put(w, i, (uint16_t)((100 + k) << 7 | (test_rand(s) & 0x807F)));
	}
	for (size_t k = n; k > 1; k--) { /* shuffle */
		size_t j = test_rand(s) % k;
		uint16_t a =
		    (uint16_t)(w[2 * (k - 1)] | w[2 * (k - 1) + 1] << 8);
		uint16_t b = (uint16_t)(w[2 * j] | w[2 * j + 1] << 8);
		put(w, k - 1, b);
		put(w, j, a);
	}
}

static void gen(uint8_t *w, size_t n, enum dist d, uint64_t seed)
{
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
	if (d == FIB) {
		gen_fib(w, n, &s);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t r = test_rand(&s);
		uint16_t v;
		switch (d) {
		case NORMAL:
			v = wt_bf16((float)(0.02 * wt_gauss(&s)));
			break;
		case HEAVY:
			v = wt_bf16((float)wt_t3(&s, 0.02));
			break;
		case ALL_EXP:
			v = (uint16_t)((r & 0x807F) | (r >> 20) % 240 << 7);
			break;
		case CONST:
			v = 0x3F80;
			break;
		case TWO:
			v = (uint16_t)((r & 1 ? 0x3F80 : 0xBF00) |
				       (r >> 8 & 0x7F));
			break;
		case SUBNORMAL:
			v = (uint16_t)(r & 0x807F);
			break;
		default: /* RARE: a few very rare exponents */
			v = (r % 20000 == 0)
				? (uint16_t)(((r >> 32) % 240) << 7)
				: wt_bf16((float)(0.02 * wt_gauss(&s)));
		}
		put(w, i, v);
	}
}

/* ------------------------------------------------------------ batches */

/* one test job: a unit (its own unit object), spans, a range */
struct tjob {
	const struct df11_unit *u;
	struct df11_span e, g, s;
	uint64_t a, b;
	uint64_t n; /* weights of the unit, for the output size */
};

static struct tjob tj_whole(const struct unit *x, const struct df11_unit *u,
			    const uint8_t *enc, uint64_t a, uint64_t b)
{
	struct tjob t = {u ? u : x->u,
			 {enc ? enc : x->enc, 0, x->sz.enc},
			 {x->gaps, 0, x->sz.gaps},
			 {x->sm, 0, x->sz.sm},
			 a,
			 b,
			 x->sz.n_elems};
	return t;
}

/*
 * Spans that are exactly what df11_unit_need() names, in pinned memory
 * when @pin: copies owned by @keep (freed by the caller).
 */
static struct tjob tj_need(const struct unit *x, uint64_t a, uint64_t b,
			   int pin, void **keep)
{
	struct tjob t = tj_whole(x, NULL, NULL, a, b);
	struct df11_need nd;
	if (df11_unit_need(x->u, a, b, &nd))
		return t;
	size_t len = nd.enc_len + nd.gaps_len + nd.sm_len;
	uint8_t *p = pin ? df11_gpu_host_alloc(G, len) : malloc(len);
	if (!p)
		return t;
	memcpy(p, x->enc + nd.enc_off, nd.enc_len);
	memcpy(p + nd.enc_len, x->gaps + nd.gaps_off, nd.gaps_len);
	memcpy(p + nd.enc_len + nd.gaps_len, x->sm + nd.sm_off, nd.sm_len);
	t.e = (struct df11_span){p, nd.enc_off, nd.enc_len};
	t.g = (struct df11_span){p + nd.enc_len, nd.gaps_off, nd.gaps_len};
	t.s = (struct df11_span){p + nd.enc_len + nd.gaps_len, nd.sm_off,
				 nd.sm_len};
	*keep = p;
	return t;
}

static int mismatches;

/*
 * Decode @n jobs in one df11_gpu_decode() call (outputs in pinned memory
 * when @pin) and compare each with df11_unit_decode(). Returns the number
 * of jobs that failed with -EBADMSG on both.
 */
static unsigned run_batch(const struct tjob *tj, size_t n, int pin,
			  const char *what)
{
	struct df11_gpu_job *jobs = calloc(n, sizeof(*jobs));
	uint8_t **out = calloc(n, sizeof(*out));
	unsigned bad = 0;
	size_t maxlen = 2;

	ASSERT(jobs && out);
	for (size_t i = 0; i < n; i++) {
		size_t len = tj[i].b > tj[i].a ? 2 * (tj[i].b - tj[i].a) : 2;
		maxlen = len > maxlen ? len : maxlen;
		out[i] = pin ? df11_gpu_host_alloc(G, len) : malloc(len);
		ASSERT(out[i] != NULL);
		memset(out[i], 0xEE, len);
		jobs[i] =
		    (struct df11_gpu_job){tj[i].u, tj[i].e, tj[i].g, tj[i].s,
					  tj[i].a, tj[i].b, out[i],  1};
	}
	int rc = df11_gpu_decode(G, jobs, n);
	ASSERT_EQ(rc, 0);
	uint8_t *ref = malloc(maxlen);
	for (size_t i = 0; i < n && !rc; i++) {
		memset(ref, 0x11, maxlen);
		int crc = unit_decode_mt(tj[i].u, &tj[i].e, &tj[i].g, &tj[i].s,
					 tj[i].a, tj[i].b, ref, 4);
		int same =
		    jobs[i].rc == crc &&
		    (crc || !memcmp(ref, out[i], 2 * (tj[i].b - tj[i].a)));
		ASSERT(same);
		if (!same && mismatches++ < 20)
			fprintf(stderr,
				"  %s: job %zu [%llu, %llu) of %llu: gpu rc "
				"%d, cpu rc %d%s\n",
				what, i, (unsigned long long)tj[i].a,
				(unsigned long long)tj[i].b,
				(unsigned long long)tj[i].n, jobs[i].rc, crc,
				jobs[i].rc == crc ? ", bytes differ" : "");
		bad += crc == -EBADMSG;
	}
	for (size_t i = 0; i < n; i++)
		if (pin)
			df11_gpu_host_free(G, out[i]);
		else
			free(out[i]);
	free(ref);
	free(out);
	free(jobs);
	return bad;
}

/* ranges whose ends sit at every kind of boundary */
static size_t boundary_ranges(const struct unit *x, uint64_t (*r)[2],
			      size_t max, uint64_t *s)
{
	uint64_t n = x->sz.n_elems, nb = df11_unit_n_blocks(x->u), pts[40];
	unsigned np = 0;
	uint64_t cand[] = {0, 1, 2, n / 2, n - 1, n};
	size_t k = 0;

	for (unsigned i = 0; i < 6; i++)
		pts[np++] = cand[i];
	for (uint64_t b = 1; b < nb && np < 36; b += 1 + nb / 10) {
		uint64_t st = df11_unit_block_start(x->u, b);
		pts[np++] = st;
		pts[np++] = st ? st - 1 : st;
		pts[np++] = st + 1 < n ? st + 1 : st;
	}
	r[k][0] = 0, r[k++][1] = n;
	for (unsigned tries = 0; k < max && tries < 40 * max; tries++) {
		uint64_t a = pts[test_rand(s) % np], b = pts[test_rand(s) % np];
		if (a >= b || b > n || (n > 2000000 && b - a > n / 4))
			continue;
		r[k][0] = a, r[k++][1] = b;
	}
	return k;
}

static void check_unit(struct unit *x, const char *what, uint64_t seed)
{
	uint64_t s = seed, r[48][2];
	size_t nr = boundary_ranges(x, r, 48, &s);
	struct tjob tj[96];
	void *keep[48] = {0};
	int pin = (int)(seed & 1);

	for (size_t i = 0; i < nr; i++) {
		tj[i] = tj_whole(x, NULL, NULL, r[i][0], r[i][1]);
		tj[nr + i] = tj_need(x, r[i][0], r[i][1], pin, &keep[i]);
	}
	ASSERT_EQ(run_batch(tj, 2 * nr, pin, what), 0);
	/* the whole unit decodes to the original weights */
	uint64_t n = x->sz.n_elems;
	uint8_t *out = malloc(2 * n);
	struct df11_gpu_job j = {x->u,
				 {x->enc, 0, x->sz.enc},
				 {x->gaps, 0, x->sz.gaps},
				 {x->sm, 0, n},
				 0,
				 n,
				 out,
				 1};
	ASSERT_EQ(df11_gpu_decode(G, &j, 1), 0);
	ASSERT_EQ(j.rc, 0);
	ASSERT_MEM(out, x->w, 2 * n);
	free(out);
	for (size_t i = 0; i < nr; i++)
		if (keep[i]) {
			if (pin)
				df11_gpu_host_free(G, keep[i]);
			else
				free(keep[i]);
		}
}

/* ------------------------------------------------------------ tests */

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
