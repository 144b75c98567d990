/* SPDX-License-Identifier: MIT */
/*
 * tests/gen/gen_i.h - internals shared by the df11-genmodel sources
 *
 * genmodel.c parses the command line and plans a model (struct gen_model:
 * one struct gen_tensor per tensor, with its shard); gen_shard.c lays out a
 * shard (data order, gaps, offsets) and streams it; gen_rand.c turns a
 * tensor's seed into its bytes, a chunk at a time; gen_files.c writes files
 * atomically and makes the JSON and other side files.
 *
 * Everything is deterministic: a tensor's bytes depend only on its own
 * seed, which the plan draws from the -s seed, so the order in which data
 * is written (--shuffle) never changes what is written.
 */
#ifndef DF11_GEN_I_H
#define DF11_GEN_I_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define GEN_PROG     "df11-genmodel"
#define GEN_MAX_DIMS 4u

/* Exit statuses (the man page's EXIT STATUS). */
#define GEN_EXIT_OTHER 1 /* out of memory */
#define GEN_EXIT_USAGE 2
#define GEN_EXIT_IO    3

/** struct gen_rng - xoshiro256** state; never all zero once seeded. */
struct gen_rng {
	uint64_t s[4];
};

/** gen_splitmix64() - advance *@x and return the next splitmix64 output. */
static inline uint64_t gen_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/** gen_rng_seed() - seed @r from one 64-bit value (via splitmix64). */
static inline void gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = gen_splitmix64(&seed);
}

static inline uint64_t gen_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/** gen_rng_next() - next 64 random bits (xoshiro256**). */
static inline uint64_t gen_rng_next(struct gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = gen_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = gen_rotl(s[3], 45);
	return out;
}

/** gen_rng_unit() - a uniform double in [0, 1) with 53 random bits. */
static inline double gen_rng_unit(struct gen_rng *r)
{
	return (double)(gen_rng_next(r) >> 11) * 0x1.0p-53;
}

/** gen_rng_below() - a uniform integer in [0, @n), @n > 0 (tiny bias). */
static inline uint64_t gen_rng_below(struct gen_rng *r, uint64_t n)
{
	return gen_rng_next(r) % n;
}

/**
 * enum gen_fill - how a tensor's elements are made. The BF16 edge kinds
 * name the exponent field they exercise (bits 14..7 of a BF16 value).
 */
enum gen_fill {
	GEN_FILL_NORMAL,       /* BF16 N(mean, std^2) */
	GEN_FILL_STUDENT,      /* BF16 Student-t(3) scaled to std, + mean */
	GEN_FILL_ZERO,	       /* BF16 +0.0 everywhere */
	GEN_FILL_CONST,	       /* BF16 the pattern konst everywhere */
	GEN_FILL_SUBNORMAL,    /* BF16 exponent 0, random sign and mantissa */
	GEN_FILL_INF_NAN,      /* BF16 normals, 1 in 16 Inf or NaN (exp 255) */
	GEN_FILL_HUGE,	       /* BF16 exponents 240..254 */
	GEN_FILL_TWO_EXP,      /* BF16 exactly two exponents (120, 124) */
	GEN_FILL_ALL_EXP,      /* BF16 every exponent 0..239, then random */
	GEN_FILL_NEG_ZERO,     /* BF16 half -0.0, some +0.0, rest normals */
	GEN_FILL_F32_INV_FREQ, /* F32 1 / 10000^(i / n), rotary-like */
	GEN_FILL_F32_NAN,      /* F32 normals with NaNs (several payloads) */
	GEN_FILL_F16_NORMAL,   /* F16 N(mean, std^2) */
	GEN_FILL_I64_ARANGE,   /* I64 0, 1, 2, ... (position ids) */
	GEN_FILL_I32_RANDOM,   /* I32 in [0, 32000) (token ids) */
	GEN_FILL_U8_RANDOM,    /* U8 random bytes */
	GEN_FILL_BOOL_RANDOM,  /* BOOL random 0/1 bytes */
};

/**
 * struct gen_tensor - one planned tensor.
 * @name:      its key in the header and the weight map
 * @dtype:     safetensors spelling ("BF16"), static
 * @elem_size: bytes per element
 * @shape:     @n_dims dimensions (0 dims: a scalar)
 * @n_elems:   product of @shape; @nbytes = @n_elems * @elem_size
 * @fill:      how the elements are made, with @mean, @std and @konst
 * @seed:      seeds the tensor's own generator
 * @shard:     0-based shard index
 * @begin, @end: data_offsets inside the shard's data region (set when the
 *             shard is laid out)
 */
struct gen_tensor {
	char name[96];
	const char *dtype;
	unsigned elem_size;
	unsigned n_dims;
	uint64_t shape[GEN_MAX_DIMS];
	uint64_t n_elems, nbytes;
	enum gen_fill fill;
	float mean, std;
	uint16_t konst;
	uint64_t seed;
	unsigned shard;
	uint64_t begin, end;
};

/**
 * struct gen_opts - the command line.
 * @seed:    -s; every random choice derives from it
 * @size:    -S, approximate bytes of weights
 * @shards:  -n, 1..99999
 * @edge, @pad, @shuffle, @gap: --edge, not --no-pad, --shuffle, --gap
 * @outdir:  the model directory (borrowed from argv)
 */
struct gen_opts {
	uint64_t seed;
	uint64_t size;
	unsigned shards;
	int edge, pad, shuffle, gap;
	const char *outdir;
};

/** struct gen_model - LLaMA-like dimensions and the planned tensors. */
struct gen_model {
	uint64_t hidden, inter, layers, heads, kv_heads, vocab;
	struct gen_tensor *t; /* owned, @n used of @cap */
	size_t n, cap;
};

/* gen_rand.c */

/**
 * gen_tables_init() - build the inverse-CDF tables the normal and
 * Student-t samplers use (about 0.5 MiB of static storage, a few ms).
 * Call once before gen_fill(); not thread-safe.
 */
void gen_tables_init(void);

/**
 * gen_fill() - make elements [@first, @first + @count) of @t.
 * @rng: the tensor's generator, seeded from @t->seed before the first call
 *       and passed unchanged between calls; calls must cover the tensor in
 *       order, and every call but the last must pass an even @count
 * @out: @count * @t->elem_size bytes, written little-endian
 */
void gen_fill(const struct gen_tensor *t, struct gen_rng *rng, uint64_t first,
	      size_t count, uint8_t *out);

/** gen_bf16_from_float() - round @f to BF16, nearest-even; NaN stays NaN. */
uint16_t gen_bf16_from_float(float f);

/* gen_shard.c */

/**
 * gen_write_shard() - lay out and write shard @shard of @m into @o->outdir,
 * setting begin/end of its tensors; @buf of @buflen bytes (a multiple of
 * 8, at least 8) is the streaming buffer.
 * Return: 0, -ENOMEM, or -errno of a failed write (printed).
 */
int gen_write_shard(struct gen_model *m, const struct gen_opts *o,
		    unsigned shard, uint8_t *buf, size_t buflen);

/* gen_files.c */

/**
 * struct gen_file - a file being written under a temporary name in the
 * directory of its final name, renamed into place by gen_file_commit().
 */
struct gen_file {
	int fd;
	char *path; /* final path, owned */
	char *tmp;  /* temporary path, owned */
};

/**
 * gen_file_open() - create the temporary file for @dir/@name (@name may
 * hold a '/': its directory must exist).
 * Return: 0, or -errno after printing a one-line error.
 */
int gen_file_open(struct gen_file *f, const char *dir, const char *name);

/** gen_file_write() - write all of @buf. Return: 0 or -errno (printed). */
int gen_file_write(struct gen_file *f, const void *buf, size_t len);

/** gen_file_commit() - close and rename into place; @f is done either way.
 * Return: 0 or -errno (printed; the temporary file is removed). */
int gen_file_commit(struct gen_file *f);

/** gen_file_abort() - close and remove the temporary file. */
void gen_file_abort(struct gen_file *f);

/**
 * gen_write_text() - write @len bytes of @text to @dir/@name atomically.
 * Return: 0 or -errno (printed).
 */
int gen_write_text(const char *dir, const char *name, const void *text,
		   size_t len);

/**
 * gen_write_side_files() - write config.json, generation_config.json,
 * tokenizer.json, README.md and extra/notes.txt for @m into @dir.
 * Return: 0 or -errno (printed).
 */
int gen_write_side_files(const char *dir, const struct gen_model *m,
			 uint64_t seed);

/**
 * gen_write_index() - write model.safetensors.index.json the way
 * transformers does (indent 2, sorted keys, trailing newline), mapping
 * every tensor of @m to the name of its shard.
 * Return: 0 or -errno (printed).
 */
int gen_write_index(const char *dir, const struct gen_model *m,
		    unsigned n_shards);

/**
 * gen_shard_name() - the file name of shard @i of @n ("model.safetensors"
 * when @n is 1) into @buf of @len bytes.
 */
void gen_shard_name(char *buf, size_t len, unsigned i, unsigned n);

#endif /* DF11_GEN_I_H */
