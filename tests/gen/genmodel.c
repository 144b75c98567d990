/* SPDX-License-Identifier: MIT */
/*
 * tests/gen/genmodel.c - df11-genmodel: write a synthetic Hugging Face
 * model directory for tests and benchmarks
 *
 * The model is LLaMA-shaped: embeddings, per layer q/k/v/o and gate/up/down
 * projections with two RMS norms, a final norm and lm_head, all BF16. The
 * hidden size (a multiple of 64) is the largest whose model, with a
 * vocabulary of 8x hidden, fits in SIZE; the vocabulary then grows to take
 * up the rest, so the weights come within a few percent of SIZE. Small
 * tensors of other dtypes (F32 rotary inv_freq per layer, F16, I64, I32, U8,
 * BOOL) and, with --edge, BF16 edge cases are spread between the layers so
 * that every shard gets some.
 *
 * Memory stays bounded: the plan holds only names, shapes and seeds; each
 * shard is written one tensor at a time through a 1 MiB buffer.
 *
 * Layout of a shard (safetensors):
 *
 *   u64 LE N | N bytes of JSON header, space-padded to 8 unless --no-pad |
 *   data region: [gap] tensor [gap] tensor ... [gap]
 *
 * Gaps (--gap) are 1..61 random bytes before every third tensor in data
 * order, the first one included, plus 1..32 trailing bytes; --shuffle
 * writes the data in an order that differs from the header's key order.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/gen/gen_i.h"

#define BUF_BYTES  (1u << 20) /* streaming buffer; a multiple of 8 */
#define MAX_SHARDS 99999u     /* five digits in the shard names */
#define HEAD_DIM   64u

/* A small non-projection tensor, placed between the layers. */
struct extra_spec {
	const char *name;
	const char *dtype;
	enum gen_fill fill;
	unsigned n_dims;
	uint64_t d0, d1;
	float mean, std;
	uint16_t konst;
};

/* Always there: the non-BF16 dtypes. */
static const struct extra_spec extras[] = {
    {"model.position_ids", "I64", GEN_FILL_I64_ARANGE, 2, 1, 512, 0, 0, 0},
    {"model.attention_scale", "F16", GEN_FILL_F16_NORMAL, 1, 64, 0, 1, 0.02f,
     0},
    {"model.token_type_ids", "I32", GEN_FILL_I32_RANDOM, 2, 2, 64, 0, 0, 0},
    {"model.quant_zero_points", "U8", GEN_FILL_U8_RANDOM, 1, 255, 0, 0, 0, 0},
    {"model.causal_mask", "BOOL", GEN_FILL_BOOL_RANDOM, 2, 16, 16, 0, 0, 0},
};

/* With --edge. */
static const struct extra_spec edges[] = {
    {"edge.zeros", "BF16", GEN_FILL_ZERO, 2, 64, 64, 0, 0, 0},
    {"edge.constant", "BF16", GEN_FILL_CONST, 2, 33, 17, 0, 0, 0xbc23},
    {"edge.empty", "BF16", GEN_FILL_ZERO, 1, 0, 0, 0, 0, 0},
    {"edge.empty_4x0", "BF16", GEN_FILL_ZERO, 2, 4, 0, 0, 0, 0},
    {"edge.scalar", "BF16", GEN_FILL_NORMAL, 0, 0, 0, 0, 0.02f, 0},
    {"edge.subnormal", "BF16", GEN_FILL_SUBNORMAL, 1, 1000, 0, 0, 0, 0},
    {"edge.inf_nan", "BF16", GEN_FILL_INF_NAN, 1, 4096, 0, 0, 0, 0},
    {"edge.huge", "BF16", GEN_FILL_HUGE, 1, 2048, 0, 0, 0, 0},
    {"edge.odd_3x7", "BF16", GEN_FILL_NORMAL, 2, 3, 7, 0, 0.02f, 0},
    {"edge.odd_12345", "BF16", GEN_FILL_STUDENT, 1, 12345, 0, 0, 0.01f, 0},
    {"edge.two_exponents", "BF16", GEN_FILL_TWO_EXP, 1, 5000, 0, 0, 0, 0},
    {"edge.all_exponents", "BF16", GEN_FILL_ALL_EXP, 2, 240, 64, 0, 0, 0},
    {"edge.one", "BF16", GEN_FILL_NORMAL, 1, 1, 0, 0, 0.02f, 0},
    {"edge.negative_zero", "BF16", GEN_FILL_NEG_ZERO, 1, 777, 0, 0, 0, 0},
    {"edge.f32_nan", "F32", GEN_FILL_F32_NAN, 1, 100, 0, 0, 0, 0},
};

#define N_EXTRAS (sizeof(extras) / sizeof(extras[0]))
#define N_EDGES	 (sizeof(edges) / sizeof(edges[0]))

static const char usage_text[] =
    "usage: " GEN_PROG " [-s SEED] [-S SIZE] [-n SHARDS] [--edge]\n"
    "                     [--no-pad] [--shuffle] [--gap] OUTDIR\n"
    "Write a synthetic LLaMA-like BF16 model directory to OUTDIR.\n"
    "  -s, --seed SEED      PRNG seed (default 0): same seed, same bytes\n"
    "  -S, --size SIZE      approximate bytes of weights, with an optional\n"
    "                       K, M or G (powers of 1024; default 8M)\n"
    "  -n, --shards SHARDS  number of .safetensors files (default 1);\n"
    "                       more than one adds model.safetensors.index.json\n"
    "      --edge           add BF16 edge cases (zeros, empty, scalar,\n"
    "                       subnormal, Inf/NaN, huge, odd sizes, ...)\n"
    "      --no-pad         do not pad headers to a multiple of 8 bytes\n"
    "      --shuffle        write tensor data in another order than the\n"
    "                       header's\n"
    "      --gap            leave random bytes covered by no tensor\n"
    "  -h, --help           print this help\n"
    "Exit status: 0 success, 1 out of memory, 2 usage, 3 I/O error.\n";

static unsigned dtype_size(const char *dtype)
{
	static const struct {
		const char *name;
		unsigned size;
	} sizes[] = {{"BF16", 2}, {"F16", 2}, {"F32", 4}, {"I64", 8},
		     {"I32", 4},  {"U8", 1},  {"BOOL", 1}};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (!strcmp(sizes[i].name, dtype))
			return sizes[i].size;
	return 0;
}

/*
 * Append a tensor named by @fmt; its seed comes from @lay. Returns the new
 * entry (valid until the next call) or NULL on -ENOMEM / -EOVERFLOW.
 */
static __attribute__((format(printf, 8, 9))) struct gen_tensor *
plan_add(struct gen_model *m, struct gen_rng *lay, enum gen_fill fill,
	 const char *dtype, unsigned n_dims, uint64_t d0, uint64_t d1,
	 const char *fmt, ...)
{
	struct gen_tensor *t;
	uint64_t dims[2] = {d0, d1}, n = 1;
	va_list ap;

	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 256;
		void *p = reallocarray(m->t, cap, sizeof(*m->t));

		if (!p)
			return NULL;
		m->t = p;
		m->cap = cap;
	}
	t = &m->t[m->n];
	memset(t, 0, sizeof(*t));
	va_start(ap, fmt);
	vsnprintf(t->name, sizeof(t->name), fmt, ap);
	va_end(ap);
	t->dtype = dtype;
	t->elem_size = dtype_size(dtype);
	t->n_dims = n_dims;
	for (unsigned i = 0; i < n_dims; i++) {
		t->shape[i] = dims[i];
		if (__builtin_mul_overflow(n, dims[i], &n))
			return NULL;
	}
	t->n_elems = n;
	if (__builtin_mul_overflow(n, (uint64_t)t->elem_size, &t->nbytes))
		return NULL;
	t->fill = fill;
	t->seed = gen_rng_next(lay);
	m->n++;
	return t;
}

/* Hidden size @h fixes the rest of the shape but the vocabulary. */
static uint64_t dims_for(struct gen_model *m, uint64_t h)
{
	uint64_t kvd, inter;

	m->hidden = h;
	m->layers = h / 128 < 1 ? 1 : h / 128 > 128 ? 128 : h / 128;
	m->heads = h / HEAD_DIM;
	m->kv_heads = m->heads % 4 ? m->heads : m->heads / 4;
	inter = (27 * h / 10 + 32) / 64 * 64;
	m->inter = inter < 64 ? 64 : inter;
	kvd = m->kv_heads * HEAD_DIM;
	/* parameters of all layers plus the final norm */
	return m->layers *
		   (2 * h * h + 2 * kvd * h + 3 * h * m->inter + 2 * h) +
	       h;
}

static void plan_dims(struct gen_model *m, uint64_t size)
{
	uint64_t target = size / 2, best = 64, base;

	for (uint64_t h = 64; h <= 16384; h += 64) {
		if (dims_for(m, h) + 16 * h * h > target) /* vocab 8h */
			break;
		best = h;
	}
	base = dims_for(m, best);
	m->vocab = target > base ? (target - base) / (2 * best) / 64 * 64 : 0;
	if (m->vocab < 64)
		m->vocab = 64;
}

/* A weight of std log-uniform in [0.005, 0.05]; 1 in 3 heavy-tailed. */
static struct gen_tensor *plan_proj(struct gen_model *m, struct gen_rng *lay,
				    unsigned *n_proj, uint64_t rows,
				    uint64_t cols, const char *name, int layer)
{
	int heavy = (*n_proj)++ % 3 == 0;
	struct gen_tensor *t;
	float std = 0.005f * powf(10.0f, (float)gen_rng_unit(lay));

	if (layer < 0)
		t = plan_add(m, lay, heavy ? GEN_FILL_STUDENT : GEN_FILL_NORMAL,
			     "BF16", 2, rows, cols, "%s", name);
	else
		t = plan_add(m, lay, heavy ? GEN_FILL_STUDENT : GEN_FILL_NORMAL,
			     "BF16", 2, rows, cols, "model.layers.%d.%s", layer,
			     name);
	if (t)
		t->std = std;
	return t;
}

static int plan_extra(struct gen_model *m, struct gen_rng *lay,
		      const struct extra_spec *e)
{
	struct gen_tensor *t = plan_add(m, lay, e->fill, e->dtype, e->n_dims,
					e->d0, e->d1, "%s", e->name);

	if (!t)
		return -ENOMEM;
	t->mean = e->mean;
	t->std = e->std;
	t->konst = e->konst;
	return 0;
}

static int plan_layer(struct gen_model *m, struct gen_rng *lay,
		      unsigned *n_proj, int l)
{
	uint64_t h = m->hidden, kvd = m->kv_heads * HEAD_DIM, i = m->inter;
	struct gen_tensor *t;
	int ok = 1;

	ok &= !!plan_proj(m, lay, n_proj, h, h, "self_attn.q_proj.weight", l);
	ok &= !!plan_proj(m, lay, n_proj, kvd, h, "self_attn.k_proj.weight", l);
	ok &= !!plan_proj(m, lay, n_proj, kvd, h, "self_attn.v_proj.weight", l);
	ok &= !!plan_proj(m, lay, n_proj, h, h, "self_attn.o_proj.weight", l);
	ok &= !!plan_add(m, lay, GEN_FILL_F32_INV_FREQ, "F32", 1, HEAD_DIM / 2,
			 0, "model.layers.%d.self_attn.rotary_emb.inv_freq", l);
	ok &= !!plan_proj(m, lay, n_proj, i, h, "mlp.gate_proj.weight", l);
	ok &= !!plan_proj(m, lay, n_proj, i, h, "mlp.up_proj.weight", l);
	ok &= !!plan_proj(m, lay, n_proj, h, i, "mlp.down_proj.weight", l);
	for (int k = 0; k < 2 && ok; k++) {
		t = plan_add(m, lay, GEN_FILL_NORMAL, "BF16", 1, h, 0,
			     "model.layers.%d.%s", l,
			     k ? "post_attention_layernorm.weight"
			       : "input_layernorm.weight");
		if (t) {
			t->mean = 1.0f;
			t->std = 0.02f;
		}
		ok = !!t;
	}
	return ok ? 0 : -ENOMEM;
}

/* The whole plan in header order. Return: 0 or -ENOMEM (also overflow). */
static int plan_model(struct gen_model *m, const struct gen_opts *o)
{
	const struct extra_spec *todo[N_EXTRAS + N_EDGES];
	size_t n_todo = 0, next = 0;
	struct gen_rng lay;
	struct gen_tensor *t;
	unsigned n_proj;
	int err;

	gen_rng_seed(&lay, o->seed);
	n_proj = (unsigned)gen_rng_below(&lay, 3);
	plan_dims(m, o->size);
	for (size_t k = 0; k < N_EXTRAS; k++)
		todo[n_todo++] = &extras[k];
	for (size_t k = 0; k < N_EDGES && o->edge; k++)
		todo[n_todo++] = &edges[k];
	t = plan_add(m, &lay, GEN_FILL_NORMAL, "BF16", 2, m->vocab, m->hidden,
		     "model.embed_tokens.weight");
	if (!t)
		return -ENOMEM;
	t->std = 0.02f;
	for (uint64_t l = 0; l < m->layers; l++) {
		err = plan_layer(m, &lay, &n_proj, (int)l);
		/* extra k goes after layer floor(k * layers / n_todo) */
		while (!err && next < n_todo && next * m->layers / n_todo <= l)
			err = plan_extra(m, &lay, todo[next++]);
		if (err)
			return err;
	}
	t = plan_add(m, &lay, GEN_FILL_NORMAL, "BF16", 1, m->hidden, 0,
		     "model.norm.weight");
	if (!t)
		return -ENOMEM;
	t->mean = 1.0f;
	t->std = 0.02f;
	if (!plan_proj(m, &lay, &n_proj, m->vocab, m->hidden, "lm_head.weight",
		       -1))
		return -ENOMEM;
	return 0;
}

/*
 * Consecutive runs of tensors in header order, about total / @n bytes
 * each, every shard holding at least one tensor.
 */
static void assign_shards(struct gen_model *m, unsigned n)
{
	uint64_t total = 0, cum = 0;
	unsigned s = 0;
	size_t in_shard = 0;

	for (size_t i = 0; i < m->n; i++)
		total += m->t[i].nbytes;
	for (size_t i = 0; i < m->n; i++) {
		if (in_shard && s + 1 < n &&
		    (cum >= total / n * (s + 1) || m->n - i <= n - 1 - s)) {
			s++;
			in_shard = 0;
		}
		m->t[i].shard = s;
		in_shard++;
		cum += m->t[i].nbytes;
	}
}

/* SIZE: digits with an optional K, M or G (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	uint64_t mul = 1;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1ull << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1ull << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1ull << 30;
		end++;
		break;
	}
	if (*end || v == 0)
		return -EINVAL;
	if (__builtin_mul_overflow((uint64_t)v, mul, out))
		return -EOVERFLOW;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int usage_hint(void)
{
	fprintf(stderr, "Try '%s -h' for help.\n", GEN_PROG);
	return GEN_EXIT_USAGE;
}

/* Return: 0, or GEN_EXIT_USAGE after printing why. */
static int parse_args(int argc, char **argv, struct gen_opts *o)
{
	static const struct option longs[] = {
	    {"seed", required_argument, NULL, 's'},
	    {"size", required_argument, NULL, 'S'},
	    {"shards", required_argument, NULL, 'n'},
	    {"edge", no_argument, NULL, 'e'},
	    {"no-pad", no_argument, NULL, 'p'},
	    {"shuffle", no_argument, NULL, 'x'},
	    {"gap", no_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	*o = (struct gen_opts){.size = 8u << 20, .shards = 1, .pad = 1};
	opterr = 0; /* our own messages */
	while ((c = getopt_long(argc, argv, ":s:S:n:h", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64(optarg, &o->seed))
				goto bad_value;
			break;
		case 'S':
			if (parse_size(optarg, &o->size))
				goto bad_value;
			break;
		case 'n':
			if (parse_u64(optarg, &v) || v < 1 || v > MAX_SHARDS)
				goto bad_value;
			o->shards = (unsigned)v;
			break;
		case 'e':
			o->edge = 1;
			break;
		case 'p':
			o->pad = 0;
			break;
		case 'x':
			o->shuffle = 1;
			break;
		case 'g':
			o->gap = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			fprintf(stderr, "%s: option '%s' needs a value\n",
				GEN_PROG, argv[optind - 1]);
			return usage_hint();
		default:
			if (optopt)
				fprintf(stderr, "%s: unknown option '-%c'\n",
					GEN_PROG, optopt);
			else
				fprintf(stderr, "%s: unknown option '%s'\n",
					GEN_PROG, argv[optind - 1]);
			return usage_hint();
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: %s\n", GEN_PROG,
			optind < argc ? "too many arguments"
				      : "missing OUTDIR");
		return usage_hint();
	}
	o->outdir = argv[optind];
	return 0;
bad_value:
	fprintf(stderr, "%s: invalid value '%s' for -%c\n", GEN_PROG, optarg,
		c);
	return usage_hint();
}

static int exit_for(int err)
{
	if (err == -ENOMEM || err == -EOVERFLOW) {
		fprintf(stderr, "%s: out of memory\n", GEN_PROG);
		return GEN_EXIT_OTHER;
	}
	return GEN_EXIT_IO; /* already printed */
}

int main(int argc, char **argv)
{
	struct gen_opts o;
	struct gen_model m = {0};
	uint8_t *buf = NULL;
	int err, rc;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	gen_tables_init();
	err = plan_model(&m, &o);
	if (err) {
		rc = exit_for(err);
		goto out;
	}
	if (o.shards > m.n) {
		fprintf(stderr, "%s: cannot make %u shards of %zu tensors\n",
			GEN_PROG, o.shards, m.n);
		rc = GEN_EXIT_USAGE;
		goto out;
	}
	assign_shards(&m, o.shards);
	if (mkdir(o.outdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create '%s': %s\n", GEN_PROG,
			o.outdir, strerror(errno));
		rc = GEN_EXIT_IO;
		goto out;
	}
	buf = malloc(BUF_BYTES);
	err = buf ? 0 : -ENOMEM;
	for (unsigned s = 0; s < o.shards && !err; s++)
		err = gen_write_shard(&m, &o, s, buf, BUF_BYTES);
	if (!err && o.shards > 1)
		err = gen_write_index(o.outdir, &m, o.shards);
	if (!err)
		err = gen_write_side_files(o.outdir, &m, o.seed);
	if (err)
		rc = exit_for(err);
out:
	free(buf);
	free(m.t);
	return rc;
}
