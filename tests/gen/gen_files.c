/* SPDX-License-Identifier: MIT */
/*
 * tests/gen/gen_files.c - atomic file writes and the side files of a
 * generated model directory
 *
 * Every file goes to ".<name>.tmp<pid>" beside its final name and is
 * renamed into place once complete, so a reader never sees half a file and
 * an interrupted run leaves only dot-files behind.
 *
 * The JSON side files are shaped like what transformers writes
 * (json.dumps(indent=2, sort_keys=True) plus a newline) so that tools
 * handling "every other file" see realistic bytes: config.json,
 * generation_config.json, model.safetensors.index.json; tokenizer.json is a
 * few KB of BPE vocabulary with non-ASCII text. A README.md and an extra/
 * folder (a text file, a nested folder with a binary and an empty file)
 * exercise the copy-everything-else paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/gen/gen_i.h"

/* Python's json.dumps(indent=2, sort_keys=True) as far as jansson goes. */
#define HF_JSON_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6))

static int oom(void)
{
	fprintf(stderr, "%s: out of memory\n", GEN_PROG);
	return -ENOMEM;
}

int gen_file_open(struct gen_file *f, const char *dir, const char *name)
{
	const char *base;
	int err;

	f->fd = -1;
	f->tmp = NULL;
	if (asprintf(&f->path, "%s/%s", dir, name) < 0) {
		f->path = NULL;
		return oom();
	}
	base = strrchr(f->path, '/') + 1;
	if (asprintf(&f->tmp, "%.*s.%s.tmp%ld", (int)(base - f->path), f->path,
		     base, (long)getpid()) < 0) {
		f->tmp = NULL;
		err = oom();
		goto fail;
	}
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->fd < 0) {
		err = -errno;
		fprintf(stderr, "%s: cannot create '%s': %s\n", GEN_PROG,
			f->path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	return err;
}

int gen_file_write(struct gen_file *f, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(f->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			fprintf(stderr, "%s: cannot write '%s': %s\n", GEN_PROG,
				f->path, strerror(err));
			return -err;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void file_release(struct gen_file *f)
{
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	f->fd = -1;
}

int gen_file_commit(struct gen_file *f)
{
	int err = 0;

	if (close(f->fd) < 0) {
		err = -errno;
		fprintf(stderr, "%s: cannot write '%s': %s\n", GEN_PROG,
			f->path, strerror(errno));
	} else if (rename(f->tmp, f->path) < 0) {
		err = -errno;
		fprintf(stderr, "%s: cannot rename '%s' to '%s': %s\n",
			GEN_PROG, f->tmp, f->path, strerror(errno));
	}
	if (err)
		unlink(f->tmp);
	file_release(f);
	return err;
}

void gen_file_abort(struct gen_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp)
		unlink(f->tmp);
	file_release(f);
}

int gen_write_text(const char *dir, const char *name, const void *text,
		   size_t len)
{
	struct gen_file f;
	int err = gen_file_open(&f, dir, name);

	if (err)
		return err;
	err = gen_file_write(&f, text, len);
	if (err) {
		gen_file_abort(&f);
		return err;
	}
	return gen_file_commit(&f);
}

/* Dump @j (a reference is stolen) with @flags plus "\n" to @dir/@name. */
static int write_json(const char *dir, const char *name, json_t *j,
		      size_t flags)
{
	char *s = j ? json_dumps(j, flags) : NULL;
	size_t len;
	int err;

	json_decref(j);
	if (!s)
		return oom();
	len = strlen(s);
	s[len] = '\n'; /* replaces the NUL: the text is written by length */
	err = gen_write_text(dir, name, s, len + 1);
	free(s);
	return err;
}

static int make_dir(const char *dir, const char *name)
{
	char *path;
	int err = 0;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return oom();
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		fprintf(stderr, "%s: cannot create '%s': %s\n", GEN_PROG, path,
			strerror(errno));
	}
	free(path);
	return err;
}

static json_t *config_json(const struct gen_model *m)
{
	return json_pack(
	    "{s:[s], s:b, s:f, s:i, s:i, s:s, s:I, s:f, s:I, s:i, s:s,"
	    " s:I, s:I, s:I, s:i, s:f, s:n, s:f, s:b, s:s, s:s, s:b, s:I}",
	    "architectures", "LlamaForCausalLM", "attention_bias", 0,
	    "attention_dropout", 0.0, "bos_token_id", 1, "eos_token_id", 2,
	    "hidden_act", "silu", "hidden_size", (json_int_t)m->hidden,
	    "initializer_range", 0.02, "intermediate_size",
	    (json_int_t)m->inter, "max_position_embeddings", 2048, "model_type",
	    "llama", "num_attention_heads", (json_int_t)m->heads,
	    "num_hidden_layers", (json_int_t)m->layers, "num_key_value_heads",
	    (json_int_t)m->kv_heads, "pretraining_tp", 1, "rms_norm_eps", 1e-6,
	    "rope_scaling", "rope_theta", 10000.0, "tie_word_embeddings", 0,
	    "torch_dtype", "bfloat16", "transformers_version", "4.40.0",
	    "use_cache", 1, "vocab_size", (json_int_t)m->vocab);
}

static const char *const words[] = {
    "the",   "of",    "and",	  "to",	      "in",	 "is",
    "that",  "for",   "it",	  "with",     "as",	 "was",
    "on",    "be",    "by",	  "at",	      "this",	 "from",
    "model", "layer", "weight",	  "token",    "tensor",	 "float",
    "brain", "half",  "exponent", "mantissa", "entropy", "huffman",
    "café",  "naïve", "Straße",	  "東京",     "данные",	 "λόγος",
};

/* A BPE tokenizer.json: special tokens, 256 byte tokens, some words. */
static json_t *tokenizer_json(uint64_t seed)
{
	json_t *root, *added, *vocab, *merges;
	struct gen_rng rng;
	char buf[64];
	json_int_t id = 0;
	int bad = 0;
	static const char *const special[] = {"<unk>", "<s>", "</s>"};

	gen_rng_seed(&rng, seed ^ 0x746f6b656e697a65u);
	added = json_array();
	vocab = json_object();
	merges = json_array();
	for (int i = 0; i < 3; i++, id++) {
		bad |= json_array_append_new(
		    added,
		    json_pack("{s:I, s:s, s:b, s:b, s:b, s:b, s:b}", "id", id,
			      "content", special[i], "single_word", 0, "lstrip",
			      0, "rstrip", 0, "normalized", 0, "special", 1));
		bad |= json_object_set_new(vocab, special[i], json_integer(id));
	}
	for (int b = 0; b < 256; b++, id++) {
		snprintf(buf, sizeof(buf), "<0x%02X>", b);
		bad |= json_object_set_new(vocab, buf, json_integer(id));
	}
	bad |= json_object_set_new(vocab, "\xe2\x96\x81", json_integer(id++));
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++, id++) {
		/* "▁word", a merge for it and, seed-dependent, "words" */
		snprintf(buf, sizeof(buf), "\xe2\x96\x81%s", words[w]);
		bad |= json_object_set_new(vocab, buf, json_integer(id));
		snprintf(buf, sizeof(buf), "\xe2\x96\x81 %s", words[w]);
		bad |= json_array_append_new(merges, json_string(buf));
		if (gen_rng_below(&rng, 2)) {
			snprintf(buf, sizeof(buf), "%s%s", words[w], "s");
			bad |=
			    json_object_set_new(vocab, buf, json_integer(++id));
		}
	}
	root = json_pack(
	    "{s:s, s:n, s:n, s:o, s:{s:s, s:[{s:s, s:s}]}, s:n, s:n,"
	    " s:{s:s}, s:{s:s, s:n, s:s, s:n, s:n, s:b, s:b, s:b, s:o,"
	    " s:o}}",
	    "version", "1.0", "truncation", "padding", "added_tokens", added,
	    "normalizer", "type", "Sequence", "normalizers", "type", "Prepend",
	    "prepend", "\xe2\x96\x81", "pre_tokenizer", "post_processor",
	    "decoder", "type", "ByteFallback", "model", "type", "BPE",
	    "dropout", "unk_token", "<unk>", "continuing_subword_prefix",
	    "end_of_word_suffix", "fuse_unk", 1, "byte_fallback", 1,
	    "ignore_merges", 0, "vocab", vocab, "merges", merges);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static int write_readme(const char *dir, const struct gen_model *m,
			uint64_t seed)
{
	char *s;
	int n, err;

	n = asprintf(
	    &s,
	    "---\nlibrary_name: transformers\nlicense: mit\n"
	    "tags:\n- df11fs-test\n- synthetic\n---\n\n"
	    "# Synthetic LLaMA-like model\n\n"
	    "Random weights written by `%s -s %llu`: hidden size "
	    "%llu, %llu layers, vocabulary %llu. Not a trained "
	    "model; it only looks like one to a compressor.\n",
	    GEN_PROG, (unsigned long long)seed, (unsigned long long)m->hidden,
	    (unsigned long long)m->layers, (unsigned long long)m->vocab);
	if (n < 0)
		return oom();
	err = gen_write_text(dir, "README.md", s, (size_t)n);
	free(s);
	return err;
}

/* extra/notes.txt, extra/deep/blob.bin (random), extra/deep/empty. */
static int write_extra(const char *dir, uint64_t seed)
{
	static const char notes[] =
	    "Training notes\n==============\n\n"
	    "This folder is not part of the model. It is here so that\n"
	    "tools copying every other file and subfolder of a model\n"
	    "directory have a nested folder to copy.\n";
	uint8_t blob[257];
	struct gen_rng rng;
	int err;

	gen_rng_seed(&rng, seed ^ 0x626c6f62u);
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(gen_rng_next(&rng) >> 56);
	err = make_dir(dir, "extra");
	if (!err)
		err = make_dir(dir, "extra/deep");
	if (!err)
		err = gen_write_text(dir, "extra/notes.txt", notes,
				     sizeof(notes) - 1);
	if (!err)
		err = gen_write_text(dir, "extra/deep/blob.bin", blob,
				     sizeof(blob));
	if (!err)
		err = gen_write_text(dir, "extra/deep/empty", "", 0);
	return err;
}

int gen_write_side_files(const char *dir, const struct gen_model *m,
			 uint64_t seed)
{
	json_t *gen_cfg;
	int err;

	err = write_json(dir, "config.json", config_json(m), HF_JSON_FLAGS);
	if (err)
		return err;
	gen_cfg = json_pack("{s:b, s:i, s:i, s:s}", "_from_model_config", 1,
			    "bos_token_id", 1, "eos_token_id", 2,
			    "transformers_version", "4.40.0");
	err = write_json(dir, "generation_config.json", gen_cfg, HF_JSON_FLAGS);
	if (err)
		return err;
	/* tokenizers keeps insertion order and writes UTF-8 as is */
	err = write_json(dir, "tokenizer.json", tokenizer_json(seed),
			 JSON_INDENT(2));
	if (err)
		return err;
	err = write_readme(dir, m, seed);
	if (err)
		return err;
	return write_extra(dir, seed);
}

void gen_shard_name(char *buf, size_t len, unsigned i, unsigned n)
{
	if (n == 1)
		snprintf(buf, len, "model.safetensors");
	else
		snprintf(buf, len, "model-%05u-of-%05u.safetensors", i + 1, n);
}

int gen_write_index(const char *dir, const struct gen_model *m,
		    unsigned n_shards)
{
	json_t *map = json_object();
	uint64_t total = 0;
	char shard[64];
	int bad = !map;

	for (size_t i = 0; i < m->n && !bad; i++) {
		gen_shard_name(shard, sizeof(shard), m->t[i].shard, n_shards);
		bad |=
		    json_object_set_new(map, m->t[i].name, json_string(shard));
		total += m->t[i].nbytes;
	}
	if (bad) {
		json_decref(map);
		return oom();
	}
	return write_json(dir, "model.safetensors.index.json",
			  json_pack("{s:{s:I}, s:o}", "metadata", "total_size",
				    (json_int_t)total, "weight_map", map),
			  HF_JSON_FLAGS);
}
