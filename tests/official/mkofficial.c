/* SPDX-License-Identifier: MIT */
/*
 * tests/official/mkofficial.c - a tiny random BF16 model of one
 * transformers architecture, and the official DFloat11 form of it
 *
 * usage: mkofficial [--single-file] ARCH ORIG_DIR DF11_DIR [SEED]
 *
 * ARCH is one of mistral, qwen2, gemma2, gemma3, phi3, mixtral,
 * qwen3_moe, deepseek_v3, gpt_oss, llama4, qwen2_vl, qwen2_5_vl,
 * mistral3, hidream, cosmos (families the official reader has config
 * shape rules for), chroma, wan, qwenimage, sd3 (diffusion transformers
 * whose compressed pieces all have a bias) or mamba (one it has not).
 * ORIG_DIR gets what save_pretrained writes: config.json (indent 2, sorted
 * keys, final newline), generation_config.json and one model.safetensors
 * with the exact tensor names and shapes transformers uses. DF11_DIR gets
 * what the official compressor (0.5.0, directory mode) writes for it
 * (df11-format.md §1.2-§1.5):
 *
 *   - per unit P one file "P with dots as underscores".safetensors, no
 *     __metadata__, holding P.luts U8 [n_luts, 256], P.encoded_exponent,
 *     P.sign_mantissa, P.output_positions U8 [4 (nb + 1)], P.gaps U8
 *     [320 nb], P.split_positions I64 [k - 1], and, for a layer unit, every
 *     other tensor of that layer (norms, biases) uncompressed;
 *   - the remainder in model.safetensors ({"format": "pt"}), with the tied
 *     lm_head copy the compressor leaves when the tied embedding itself
 *     was compressed;
 *   - config.json = the original config plus "dfloat11_config".
 *
 * --single-file writes DF11_DIR as compress_model(save_single_file=True)
 * does: every tensor (the streams of every unit, the plain tensors of the
 * layers and the remainder) in one model.safetensors without
 * __metadata__ (safetensors' save_file of the model's state_dict).
 *
 * A diffusers model (hidream, cosmos, chroma, wan, qwenimage, sd3) is written
 * as diffusers and the public compressor do:
 * diffusion_pytorch_model.safetensors and no generation config; the DF11
 * config.json is {"dfloat11_config": ...} alone, and the original config is
 * given as the user would, as original-config.json.
 *
 * How the files are laid out and units encoded is in mkofficial_write.c;
 * each family's tensors, config and pattern_dict (with shapes that a wrong
 * shape rule would get wrong) in mkofficial_arch.c; mkofficial_i.h is
 * between them. This file: main, the options and the tensor list.
 *
 * Exit status: 0 done, 1 failure, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "tests/official/mkofficial_i.h"

const unsigned mk_dt_size[] = {2, 4, 1, 8};

void mk_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", PROG);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

void *mk_alloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		mk_die("out of memory");
	return p;
}

char *mk_fmt(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		mk_die("bad format");
	s = mk_alloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

struct tensor *mk_tensor_new(struct tlist *l, char *name, enum dt dt,
			     unsigned nd, const uint64_t *shape)
{
	struct tensor *t;
	uint64_t n = 1;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			mk_die("out of memory");
	}
	t = &l->v[l->n++];
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->dt = dt;
	t->nd = nd;
	for (unsigned i = 0; i < nd; i++) {
		t->shape[i] = shape[i];
		n *= shape[i];
	}
	t->len = n * mk_dt_size[dt];
	t->data = mk_alloc(t->len);
	return t;
}

struct tensor *mk_find(struct tlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

static void mkdir_or_die(const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		mk_die("cannot create '%s': %s", dir, strerror(errno));
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: %s [--single-file] ARCH ORIG_DIR DF11_DIR [SEED]\nARCH:",
	    PROG);
	for (size_t i = 0; i < mk_n_archs; i++)
		fprintf(stderr, " %s", mk_archs[i].name);
	fputc('\n', stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct model m = {0};
	struct tensor **v, *copy = NULL;
	struct tlist streams = {0};
	const char *orig, *df11, *weights;
	json_t *dcfg, *gen;
	size_t a, nv = 0;
	int single = 0;

	if (argc > 1 && !strcmp(argv[1], "--single-file")) {
		single = 1;
		argv++;
		argc--;
	}
	if (argc < 4 || argc > 5)
		usage();
	for (a = 0; a < mk_n_archs; a++)
		if (!strcmp(argv[1], mk_archs[a].name))
			break;
	if (a == mk_n_archs)
		usage();
	orig = argv[2];
	df11 = argv[3];
	mk_seed(0x9E3779B97F4A7C15ull ^
		(argc == 5 ? strtoull(argv[4], NULL, 0) : 1) *
		    0xD1B54A32D192ED03ull ^
		(uint64_t)a);
	mk_archs[a].build(&m);
	if (!m.cfg || !m.pat)
		mk_die("cannot build the config");
	mkdir_or_die(orig);
	mkdir_or_die(df11);

	/* the original: config, generation config, one model.safetensors */
	gen = json_pack("{s:b, s:s, s:s}", "_from_model_config", 1,
			"transformers_version", "4.51.3",
			"cache_implementation", "hybrid");
	weights = m.diffusers ? "diffusion_pytorch_model.safetensors"
			      : "model.safetensors";
	mk_json_write(orig, "config.json", m.cfg);
	if (!m.diffusers) {
		mk_json_write(orig, "generation_config.json", gen);
		mk_json_write(df11, "generation_config.json", gen);
	}
	v = mk_alloc((m.orig.n + 1) * sizeof(*v));
	for (size_t i = 0; i < m.orig.n; i++)
		v[i] = &m.orig.v[i];
	mk_st_write(orig, weights, v, m.orig.n, 1);

	/* the official form: unit files, remainder, config */
	for (size_t i = 0; i < m.n_units; i++)
		mk_unit_write(&m, &m.units[i], df11, single ? &streams : NULL);
	v = realloc(v, (m.orig.n + streams.n + 1) * sizeof(*v));
	if (!v)
		mk_die("out of memory");
	for (size_t i = 0; i < m.orig.n; i++)
		if (!m.orig.v[i].used)
			v[nv++] = &m.orig.v[i];
	for (size_t i = 0; i < streams.n; i++)
		v[nv++] = &streams.v[i];
	if (m.tied_copy) {
		struct tlist t = {0};
		const struct tensor *src = mk_find(&m.orig, m.tied_src);

		if (!src)
			mk_die("no '%s'", m.tied_src);
		copy = mk_tensor_new(&t, mk_fmt("%s", m.tied_copy), src->dt,
				     src->nd, src->shape);
		memcpy(copy->data, src->data, (size_t)src->len);
		v[nv++] = copy;
	}
	if (single)
		mk_st_write(df11, "model.safetensors", v, nv, 0);
	else
		mk_st_write(df11, weights, v, nv, 1);
	/* save_single_file skips save_pretrained: config.json is then
	 * {"dfloat11_config": ...} alone, for transformers models too */
	dcfg = m.diffusers || single ? json_object() : json_deep_copy(m.cfg);
	if (m.diffusers || single)
		mk_json_write(df11, "original-config.json", m.cfg);
	json_object_set_new(dcfg, "dfloat11_config",
			    json_pack("{s:s, s:[i], s:i, s:O}", "version",
				      "0.5.0", "threads_per_block", 512,
				      "bytes_per_thread", 8, "pattern_dict",
				      m.pat));
	mk_json_write(df11, "config.json", dcfg);

	if (copy) {
		free(copy->name);
		free(copy->data);
		free(copy);
	}
	for (size_t i = 0; i < m.orig.n; i++) {
		free(m.orig.v[i].name);
		free(m.orig.v[i].data);
	}
	for (size_t i = 0; i < streams.n; i++) {
		free(streams.v[i].name);
		free(streams.v[i].data);
	}
	free(streams.v);
	free(m.orig.v);
	free(v);
	json_decref(dcfg);
	json_decref(gen);
	json_decref(m.cfg);
	json_decref(m.pat);
	return 0;
}
