/* SPDX-License-Identifier: MIT */
/*
 * tests/official/mkofficial.c - a tiny random BF16 model of one
 * transformers architecture, and the official DFloat11 form of it
 *
 * usage: mkofficial ARCH ORIG_DIR DF11_DIR [SEED]
 *
 * ARCH is one of mistral, qwen2, gemma2, gemma3, phi3 (families the
 * official reader has config shape rules for) or mamba (one it has not).
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
 * Tensors in a file are laid out as the safetensors package does: by
 * dtype alignment (largest first), then by name; header keys in data
 * order, the header padded with spaces to a multiple of 8. Units are
 * encoded with codec/df11.h over the BF16 pieces concatenated in
 * pattern_dict order. Each architecture uses the pattern_dict (and the
 * layer attribute order) of the official releases of that family, and
 * shapes that a wrong rule would get wrong (head_dim != hidden / heads,
 * text_config next to a vision_config with other sizes, fused
 * projections).
 *
 * Exit status: 0 done, 1 failure, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "codec/df11.h"

#define PROG	      "mkofficial"
#define MAX_UNITS     8
#define HF_JSON_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6))
#define LAYER_ATTRS_7                                                          \
	"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",            \
	    "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",                \
	    "mlp.down_proj"

enum dt { BF16, F32, U8, I64 };
static const char *const dt_name[] = {"BF16", "F32", "U8", "I64"};
static const unsigned dt_size[] = {2, 4, 1, 8};

struct tensor {
	char *name;
	enum dt dt;
	unsigned nd;
	uint64_t shape[4];
	uint8_t *data;
	uint64_t len; /* bytes */
	int used;     /* a unit piece, or placed in a unit file */
};

struct tlist {
	struct tensor *v;
	size_t n, cap;
};

/* a compressed unit: module path and its pattern_dict key */
struct unit {
	char path[96];
	const char *key;
};

struct model {
	struct tlist orig;
	json_t *cfg; /* the original config */
	json_t *pat; /* pattern_dict */
	struct unit units[MAX_UNITS];
	size_t n_units;
	/* the remainder's tied lm_head copy (name, copied from), or NULL */
	const char *tied_copy, *tied_src;
};

static uint64_t rng_state;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt,
								...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", PROG);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

__attribute__((format(printf, 1, 2))) static char *xfmt(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("bad format");
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* xorshift64*: a uniform double in (0, 1) */
static double uni(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return ((rng_state * 2685821657736338717ull >> 11) + 0.5) /
	       9007199254740992.0;
}

static double gauss(void)
{
	const double two_pi = 6.283185307179586;

	return sqrt(-2.0 * log(uni())) * cos(two_pi * uni());
}

/* float to BF16, round to nearest even (finite values only) */
static uint16_t to_bf16(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

static struct tensor *tensor_new(struct tlist *l, char *name, enum dt dt,
				 unsigned nd, const uint64_t *shape)
{
	struct tensor *t;
	uint64_t n = 1;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			die("out of memory");
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
	t->len = n * dt_size[dt];
	t->data = xmalloc(t->len);
	return t;
}

/* a BF16 or F32 tensor of normal values (mean, std) */
static void add(struct tlist *l, enum dt dt, double mean, double std,
		char *name, unsigned nd, uint64_t d0, uint64_t d1, uint64_t d2,
		uint64_t d3)
{
	const uint64_t shape[4] = {d0, d1, d2, d3};
	struct tensor *t = tensor_new(l, name, dt, nd, shape);
	uint64_t n = t->len / dt_size[dt];

	for (uint64_t i = 0; i < n; i++) {
		float f = (float)(mean + std * gauss());

		if (dt == BF16) {
			uint16_t b = to_bf16(f);

			t->data[2 * i] = (uint8_t)b;
			t->data[2 * i + 1] = (uint8_t)(b >> 8);
		} else {
			memcpy(t->data + 4 * i, &f, 4);
		}
	}
}

/* a weight matrix [r, c] and a norm-like vector [n] */
static void mat(struct tlist *l, char *name, uint64_t r, uint64_t c)
{
	add(l, BF16, 0.0, 0.02, name, 2, r, c, 0, 0);
}

static void vec(struct tlist *l, char *name, uint64_t n, double mean)
{
	add(l, BF16, mean, 0.05, name, 1, n, 0, 0, 0);
}

static struct tensor *find(struct tlist *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

/* ------------------------------------------------------- architectures */

struct llm {
	const char *pre; /* "model" or "language_model.model" */
	uint64_t hidden, heads, kv, head_dim, inter, vocab, layers;
	int fused;	/* Phi-3: qkv_proj, gate_up_proj */
	int qkv_bias;	/* Qwen2: q/k/v biases */
	int qk_norm;	/* Gemma 3: q_norm, k_norm */
	int four_norms; /* Gemma 2/3: pre/post feedforward norms */
	int lm_head;	/* an untied lm_head.weight */
};

static void llm_tensors(struct tlist *l, const struct llm *a)
{
	uint64_t h = a->hidden, q = a->heads * a->head_dim,
		 kv = a->kv * a->head_dim;

	mat(l, xfmt("%s.embed_tokens.weight", a->pre), a->vocab, h);
	for (uint64_t i = 0; i < a->layers; i++) {
		char *p = xfmt("%s.layers.%llu", a->pre, (unsigned long long)i);

		vec(l, xfmt("%s.input_layernorm.weight", p), h, 1.0);
		vec(l, xfmt("%s.post_attention_layernorm.weight", p), h, 1.0);
		if (a->four_norms) {
			vec(l, xfmt("%s.pre_feedforward_layernorm.weight", p),
			    h, 1.0);
			vec(l, xfmt("%s.post_feedforward_layernorm.weight", p),
			    h, 1.0);
		}
		if (a->fused) {
			mat(l, xfmt("%s.self_attn.qkv_proj.weight", p),
			    q + 2 * kv, h);
		} else {
			mat(l, xfmt("%s.self_attn.q_proj.weight", p), q, h);
			mat(l, xfmt("%s.self_attn.k_proj.weight", p), kv, h);
			mat(l, xfmt("%s.self_attn.v_proj.weight", p), kv, h);
		}
		if (a->qkv_bias) {
			vec(l, xfmt("%s.self_attn.q_proj.bias", p), q, 0.0);
			vec(l, xfmt("%s.self_attn.k_proj.bias", p), kv, 0.0);
			vec(l, xfmt("%s.self_attn.v_proj.bias", p), kv, 0.0);
		}
		if (a->qk_norm) {
			vec(l, xfmt("%s.self_attn.q_norm.weight", p),
			    a->head_dim, 1.0);
			vec(l, xfmt("%s.self_attn.k_norm.weight", p),
			    a->head_dim, 1.0);
		}
		mat(l, xfmt("%s.self_attn.o_proj.weight", p), h, q);
		if (a->fused) {
			mat(l, xfmt("%s.mlp.gate_up_proj.weight", p),
			    2 * a->inter, h);
		} else {
			mat(l, xfmt("%s.mlp.gate_proj.weight", p), a->inter, h);
			mat(l, xfmt("%s.mlp.up_proj.weight", p), a->inter, h);
		}
		mat(l, xfmt("%s.mlp.down_proj.weight", p), h, a->inter);
		free(p);
	}
	vec(l, xfmt("%s.norm.weight", a->pre), h, 1.0);
	if (a->lm_head)
		mat(l, xfmt("lm_head.weight"), a->vocab, h);
}

static json_t *strs(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

#define STRS(...)                                                              \
	strs((const char *const[]){__VA_ARGS__},                               \
	     sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

/* unit "@path[.@i]" of pattern_dict key @key (@i < 0: none) */
static void unit_add(struct model *m, const char *key, const char *path, long i)
{
	struct unit *u = &m->units[m->n_units++];

	if (i < 0)
		snprintf(u->path, sizeof(u->path), "%s", path);
	else
		snprintf(u->path, sizeof(u->path), "%s.%ld", path, i);
	u->key = key;
}

/* units: [lm_head], [embed], every layer */
static void llm_units(struct model *m, const struct llm *a, const char *lm,
		      const char *emb, const char *layers)
{
	if (lm)
		unit_add(m, lm, "lm_head", -1);
	if (emb)
		unit_add(m, emb, emb, -1);
	for (uint64_t i = 0; i < a->layers; i++) {
		char p[64];

		snprintf(p, sizeof(p), "%s.layers", a->pre);
		unit_add(m, layers, p, (long)i);
	}
}

/* Mistral (Nemo-style head_dim != hidden / heads), untied, all compressed */
static void arch_mistral(struct model *m)
{
	const struct llm a = {.pre = "model",
			      .hidden = 128,
			      .heads = 4,
			      .kv = 2,
			      .head_dim = 48,
			      .inter = 256,
			      .vocab = 256,
			      .layers = 2,
			      .lm_head = 1};
	const char *lk = "model.layers.\\d+";

	llm_tensors(&m->orig, &a);
	m->cfg = json_pack(
	    "{s:[s], s:f, s:i, s:i, s:i, s:s, s:i, s:f, s:i, s:i, s:s, s:i, "
	    "s:i, s:i, s:f, s:f, s:n, s:b, s:s, s:s, s:b, s:i}",
	    "architectures", "MistralForCausalLM", "attention_dropout", 0.0,
	    "bos_token_id", 1, "eos_token_id", 2, "head_dim", 48, "hidden_act",
	    "silu", "hidden_size", 128, "initializer_range", 0.02,
	    "intermediate_size", 256, "max_position_embeddings", 4096,
	    "model_type", "mistral", "num_attention_heads", 4,
	    "num_hidden_layers", 2, "num_key_value_heads", 2, "rms_norm_eps",
	    1e-05, "rope_theta", 1000000.0, "sliding_window",
	    "tie_word_embeddings", 0, "torch_dtype", "bfloat16",
	    "transformers_version", "4.51.3", "use_cache", 1, "vocab_size",
	    256);
	m->pat = json_object();
	json_object_set_new(m->pat, "lm_head", json_array());
	json_object_set_new(m->pat, "model.embed_tokens", json_array());
	json_object_set_new(m->pat, lk, STRS(LAYER_ATTRS_7));
	llm_units(m, &a, "lm_head", "model.embed_tokens", lk);
}

/* Qwen2 (q/k/v biases, no head_dim key), tied; as Qwen3-4B-DF11: layers
 * only, the embedding stays in the remainder, no lm_head anywhere */
static void arch_qwen2(struct model *m)
{
	const struct llm a = {.pre = "model",
			      .hidden = 64,
			      .heads = 4,
			      .kv = 2,
			      .head_dim = 16,
			      .inter = 160,
			      .vocab = 256,
			      .layers = 2,
			      .qkv_bias = 1};
	const char *lk = "model\\.layers\\.\\d+";

	llm_tensors(&m->orig, &a);
	m->cfg = json_pack(
	    "{s:[s], s:f, s:i, s:i, s:s, s:i, s:f, s:i, s:i, s:i, s:s, s:i, "
	    "s:i, s:i, s:f, s:f, s:i, s:b, s:s, s:s, s:b, s:b, s:i}",
	    "architectures", "Qwen2ForCausalLM", "attention_dropout", 0.0,
	    "bos_token_id", 151643, "eos_token_id", 151645, "hidden_act",
	    "silu", "hidden_size", 64, "initializer_range", 0.02,
	    "intermediate_size", 160, "max_position_embeddings", 32768,
	    "max_window_layers", 21, "model_type", "qwen2",
	    "num_attention_heads", 4, "num_hidden_layers", 2,
	    "num_key_value_heads", 2, "rms_norm_eps", 1e-06, "rope_theta",
	    1000000.0, "sliding_window", 32768, "tie_word_embeddings", 1,
	    "torch_dtype", "bfloat16", "transformers_version", "4.51.3",
	    "use_cache", 1, "use_sliding_window", 0, "vocab_size", 256);
	m->pat = json_object();
	json_object_set_new(m->pat, lk, STRS(LAYER_ATTRS_7));
	llm_units(m, &a, NULL, NULL, lk);
}

/* Gemma 2 (four norms, head_dim != hidden / heads), tied; the embedding
 * compressed, so the remainder has the tied lm_head copy (as qwen3-tiny) */
static void arch_gemma2(struct model *m)
{
	const struct llm a = {.pre = "model",
			      .hidden = 64,
			      .heads = 2,
			      .kv = 1,
			      .head_dim = 48,
			      .inter = 128,
			      .vocab = 256,
			      .layers = 2,
			      .four_norms = 1};
	const char *lk = "model\\.layers\\.\\d+";

	llm_tensors(&m->orig, &a);
	m->cfg = json_pack(
	    "{s:[s], s:f, s:b, s:f, s:i, s:f, s:i, s:i, s:s, s:i, s:f, s:i, "
	    "s:i, s:s, s:i, s:i, s:i, s:i, s:f, s:f, s:i, s:b, s:s, s:s, "
	    "s:b, s:i}",
	    "architectures", "Gemma2ForCausalLM", "attention_dropout", 0.0,
	    "attention_bias", 0, "attn_logit_softcapping", 50.0, "bos_token_id",
	    2, "final_logit_softcapping", 30.0, "eos_token_id", 1, "head_dim",
	    48, "hidden_activation", "gelu_pytorch_tanh", "hidden_size", 64,
	    "initializer_range", 0.02, "intermediate_size", 128,
	    "max_position_embeddings", 8192, "model_type", "gemma2",
	    "num_attention_heads", 2, "num_hidden_layers", 2,
	    "num_key_value_heads", 1, "query_pre_attn_scalar", 48,
	    "rms_norm_eps", 1e-06, "rope_theta", 10000.0, "sliding_window",
	    4096, "tie_word_embeddings", 1, "torch_dtype", "bfloat16",
	    "transformers_version", "4.51.3", "use_cache", 1, "vocab_size",
	    256);
	m->pat = json_object();
	json_object_set_new(m->pat, "model.embed_tokens", json_array());
	json_object_set_new(m->pat, lk, STRS(LAYER_ATTRS_7));
	llm_units(m, &a, NULL, "model.embed_tokens", lk);
	m->tied_copy = "lm_head.weight";
	m->tied_src = "model.embed_tokens.weight";
}

/* Gemma 3 as Gemma3ForConditionalGeneration: language_model. prefix,
 * sizes in text_config next to a vision_config of other sizes, a few
 * vision tensors (one 4-D) in the remainder; as gemma-3-*-DF11: layers
 * only */
static void arch_gemma3(struct model *m)
{
	const struct llm a = {.pre = "language_model.model",
			      .hidden = 64,
			      .heads = 2,
			      .kv = 1,
			      .head_dim = 48,
			      .inter = 128,
			      .vocab = 256,
			      .layers = 2,
			      .qk_norm = 1,
			      .four_norms = 1};
	const char *lk = "language_model.model.layers.\\d+";
	struct tlist *l = &m->orig;

	llm_tensors(l, &a);
	mat(l, xfmt("multi_modal_projector.mm_input_projection_weight"), 32,
	    64);
	vec(l, xfmt("multi_modal_projector.mm_soft_emb_norm.weight"), 32, 1.0);
	add(l, BF16, 0.0, 0.02,
	    xfmt("vision_tower.vision_model.embeddings.patch_embedding.weight"),
	    4, 32, 3, 4, 4);
	vec(l,
	    xfmt("vision_tower.vision_model.embeddings.patch_embedding.bias"),
	    32, 0.0);
	mat(l,
	    xfmt("vision_tower.vision_model.embeddings.position_embedding."
		 "weight"),
	    16, 32);
	vec(l, xfmt("vision_tower.vision_model.post_layernorm.bias"), 32, 0.0);
	vec(l, xfmt("vision_tower.vision_model.post_layernorm.weight"), 32,
	    1.0);
	m->cfg = json_pack(
	    "{s:[s], s:i, s:i, s:[i,i], s:i, s:f, s:i, s:s, "
	    "s:{s:i, s:f, s:i, s:s, s:i, s:i, s:s, s:i, s:i, s:i, s:i, s:f, "
	    "s:{s:f, s:s}, s:i, s:i}, "
	    "s:s, s:s, "
	    "s:{s:i, s:i, s:i, s:s, s:i, s:i, s:i, s:b}}",
	    "architectures", "Gemma3ForConditionalGeneration",
	    "boi_token_index", 255999, "eoi_token_index", 256000,
	    "eos_token_id", 1, 106, "image_token_index", 262144,
	    "initializer_range", 0.02, "mm_tokens_per_image", 4, "model_type",
	    "gemma3", "text_config", "head_dim", 48, "final_logit_softcapping",
	    0.0, "hidden_size", 64, "hidden_activation", "gelu_pytorch_tanh",
	    "intermediate_size", 128, "max_position_embeddings", 131072,
	    "model_type", "gemma3_text", "num_attention_heads", 2,
	    "num_hidden_layers", 2, "num_key_value_heads", 1,
	    "query_pre_attn_scalar", 48, "rope_local_base_freq", 10000.0,
	    "rope_scaling", "factor", 8.0, "rope_type", "linear",
	    "sliding_window", 1024, "vocab_size", 256, "torch_dtype",
	    "bfloat16", "transformers_version", "4.51.3", "vision_config",
	    "hidden_size", 32, "image_size", 16, "intermediate_size", 96,
	    "model_type", "siglip_vision_model", "num_attention_heads", 4,
	    "num_hidden_layers", 1, "patch_size", 4, "vision_use_head", 0);
	m->pat = json_object();
	json_object_set_new(m->pat, lk, STRS(LAYER_ATTRS_7));
	llm_units(m, &a, NULL, NULL, lk);
}

/* Phi-3 / Phi-4: fused qkv_proj and gate_up_proj, Phi-4-DF11 attribute
 * order (o_proj first), untied, all compressed */
static void arch_phi3(struct model *m)
{
	const struct llm a = {.pre = "model",
			      .hidden = 64,
			      .heads = 4,
			      .kv = 2,
			      .head_dim = 16,
			      .inter = 96,
			      .vocab = 256,
			      .layers = 2,
			      .fused = 1,
			      .lm_head = 1};
	const char *lk = "model.layers.\\d+";

	llm_tensors(&m->orig, &a);
	m->cfg = json_pack(
	    "{s:[s], s:f, s:i, s:f, s:i, s:s, s:i, s:f, s:i, s:i, s:s, s:i, "
	    "s:i, s:i, s:i, s:f, s:f, s:f, s:n, s:b, s:s, s:s, s:b, s:i}",
	    "architectures", "Phi3ForCausalLM", "attention_dropout", 0.0,
	    "bos_token_id", 100257, "embd_pdrop", 0.0, "eos_token_id", 100265,
	    "hidden_act", "silu", "hidden_size", 64, "initializer_range", 0.02,
	    "intermediate_size", 96, "max_position_embeddings", 32768,
	    "model_type", "phi3", "num_attention_heads", 4, "num_hidden_layers",
	    2, "num_key_value_heads", 2, "original_max_position_embeddings",
	    32768, "resid_pdrop", 0.0, "rms_norm_eps", 1e-05, "rope_theta",
	    500000.0, "sliding_window", "tie_word_embeddings", 0, "torch_dtype",
	    "bfloat16", "transformers_version", "4.51.3", "use_cache", 1,
	    "vocab_size", 256);
	m->pat = json_object();
	json_object_set_new(m->pat, "lm_head", json_array());
	json_object_set_new(m->pat, "model.embed_tokens", json_array());
	json_object_set_new(m->pat, lk,
			    STRS("self_attn.o_proj", "self_attn.qkv_proj",
				 "mlp.gate_up_proj", "mlp.down_proj"));
	llm_units(m, &a, "lm_head", "model.embed_tokens", lk);
}

/* Mamba: no shape rules; F32 and 3-D plain tensors in the layer files */
static void arch_mamba(struct model *m)
{
	const uint64_t h = 64, in = 128, st = 16, rank = 4, k = 4, v = 256;
	const char *lk = "backbone\\.layers\\.\\d+";
	struct tlist *l = &m->orig;

	mat(l, xfmt("backbone.embeddings.weight"), v, h);
	for (unsigned i = 0; i < 2; i++) {
		char *p = xfmt("backbone.layers.%u.mixer", i);

		add(l, F32, -1.0, 0.5, xfmt("%s.A_log", p), 2, in, st, 0, 0);
		add(l, F32, 1.0, 0.1, xfmt("%s.D", p), 1, in, 0, 0, 0);
		add(l, BF16, 0.0, 0.1, xfmt("%s.conv1d.weight", p), 3, in, 1, k,
		    0);
		vec(l, xfmt("%s.conv1d.bias", p), in, 0.0);
		mat(l, xfmt("%s.dt_proj.weight", p), in, rank);
		vec(l, xfmt("%s.dt_proj.bias", p), in, 0.0);
		mat(l, xfmt("%s.in_proj.weight", p), 2 * in, h);
		mat(l, xfmt("%s.out_proj.weight", p), h, in);
		mat(l, xfmt("%s.x_proj.weight", p), rank + 2 * st, in);
		vec(l, xfmt("backbone.layers.%u.norm.weight", i), h, 1.0);
		free(p);
	}
	vec(l, xfmt("backbone.norm_f.weight"), h, 1.0);
	m->cfg = json_pack(
	    "{s:[s], s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:s, s:i, s:b, s:i, "
	    "s:b, s:i, s:s, s:s, s:b, s:b, s:i}",
	    "architectures", "MambaForCausalLM", "bos_token_id", 0,
	    "conv_kernel", 4, "eos_token_id", 0, "expand", 2, "hidden_size", 64,
	    "intermediate_size", 128, "layer_norm_epsilon", 1e-05, "model_type",
	    "mamba", "num_hidden_layers", 2, "residual_in_fp32", 1,
	    "state_size", 16, "tie_word_embeddings", 1, "time_step_rank", 4,
	    "torch_dtype", "bfloat16", "transformers_version", "4.51.3",
	    "use_bias", 0, "use_conv_bias", 1, "vocab_size", 256);
	m->pat = json_object();
	json_object_set_new(m->pat, "backbone.embeddings", json_array());
	json_object_set_new(m->pat, lk,
			    STRS("mixer.in_proj", "mixer.x_proj",
				 "mixer.dt_proj", "mixer.out_proj"));
	unit_add(m, "backbone.embeddings", "backbone.embeddings", -1);
	unit_add(m, lk, "backbone.layers", 0);
	unit_add(m, lk, "backbone.layers", 1);
	m->tied_copy = "lm_head.weight";
	m->tied_src = "backbone.embeddings.weight";
}

static const struct {
	const char *name;
	void (*build)(struct model *m);
} archs[] = {
    {"mistral", arch_mistral}, {"qwen2", arch_qwen2}, {"gemma2", arch_gemma2},
    {"gemma3", arch_gemma3},   {"phi3", arch_phi3},   {"mamba", arch_mamba},
};

/* ------------------------------------------------------------- writing */

static int by_layout(const void *pa, const void *pb)
{
	const struct tensor *a = *(const struct tensor *const *)pa,
			    *b = *(const struct tensor *const *)pb;

	if (dt_size[a->dt] != dt_size[b->dt])
		return dt_size[a->dt] > dt_size[b->dt] ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void put(FILE *f, const void *p, size_t n, const char *path)
{
	if (n && fwrite(p, 1, n, f) != n)
		die("cannot write '%s': %s", path, strerror(errno));
}

/* one safetensors file of @n tensors, laid out as the safetensors package
 * does; with @meta a {"format": "pt"} __metadata__ */
static void st_write(const char *dir, const char *name, struct tensor **v,
		     size_t n, int meta)
{
	json_t *h = json_object();
	char *path = xfmt("%s/%s", dir, name), *js;
	uint64_t off = 0, hl;
	uint8_t len8[8];
	size_t jl;
	FILE *f;

	qsort(v, n, sizeof(*v), by_layout);
	if (meta)
		json_object_set_new(h, "__metadata__",
				    json_pack("{s:s}", "format", "pt"));
	for (size_t i = 0; i < n; i++) {
		json_t *shape = json_array();

		for (unsigned d = 0; d < v[i]->nd; d++)
			json_array_append_new(
			    shape, json_integer((json_int_t)v[i]->shape[d]));
		if (json_object_set_new(
			h, v[i]->name,
			json_pack("{s:s, s:o, s:[I,I]}", "dtype",
				  dt_name[v[i]->dt], "shape", shape,
				  "data_offsets", (json_int_t)off,
				  (json_int_t)(off + v[i]->len))))
			die("cannot add '%s' to a header", v[i]->name);
		off += v[i]->len;
	}
	js = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!js)
		die("out of memory");
	jl = strlen(js);
	hl = (jl + 7) & ~(uint64_t)7;
	for (unsigned i = 0; i < 8; i++)
		len8[i] = (uint8_t)(hl >> (8 * i));
	f = fopen(path, "wb");
	if (!f)
		die("cannot create '%s': %s", path, strerror(errno));
	put(f, len8, 8, path);
	put(f, js, jl, path);
	put(f, "        ", (size_t)(hl - jl), path);
	for (size_t i = 0; i < n; i++)
		put(f, v[i]->data, (size_t)v[i]->len, path);
	if (fclose(f))
		die("cannot write '%s': %s", path, strerror(errno));
	free(js);
	free(path);
	json_decref(h);
}

static void json_write(const char *dir, const char *name, json_t *j)
{
	char *path = xfmt("%s/%s", dir, name);
	char *s = json_dumps(j, HF_JSON_FLAGS);
	FILE *f = fopen(path, "wb");

	if (!s || !f)
		die("cannot write '%s'", path);
	put(f, s, strlen(s), path);
	put(f, "\n", 1, path);
	if (fclose(f))
		die("cannot write '%s': %s", path, strerror(errno));
	free(s);
	free(path);
}

static void mkdir_or_die(const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("cannot create '%s': %s", dir, strerror(errno));
}

/* a U8 (or I64) stream tensor of unit @p; takes @data */
static struct tensor *stream(struct tlist *l, const char *p, const char *s,
			     enum dt dt, uint64_t d0, uint64_t d1, unsigned nd,
			     uint8_t *data)
{
	const uint64_t shape[2] = {d0, d1};
	struct tensor *t = tensor_new(l, xfmt("%s.%s", p, s), dt, nd, shape);

	free(t->data);
	t->data = data;
	return t;
}

/* Encode unit @u and write its file, with the layer's plain tensors. */
static void unit_write(struct model *m, const struct unit *u, const char *dir)
{
	json_t *attrs = json_object_get(m->pat, u->key);
	size_t k = json_array_size(attrs), np = k ? k : 1, nf = 0;
	struct tensor *pieces[16], **files;
	struct tlist s = {0};
	struct df11_code c;
	struct df11_sizes sz;
	struct df11_enc_out out;
	uint64_t hist[256] = {0}, n = 0, acc = 0;
	uint8_t *w, *split;
	char *fname, *pre;

	if (!json_is_array(attrs) || np > 16)
		die("unit '%s': bad pattern_dict entry", u->path);
	for (size_t i = 0; i < np; i++) {
		char *pn = k ? xfmt("%s.%s.weight", u->path,
				    json_string_value(json_array_get(attrs, i)))
			     : xfmt("%s.weight", u->path);

		pieces[i] = find(&m->orig, pn);
		if (!pieces[i] || pieces[i]->dt != BF16)
			die("unit '%s': no BF16 tensor '%s'", u->path, pn);
		pieces[i]->used = 1;
		n += pieces[i]->len / 2;
		free(pn);
	}
	w = xmalloc((size_t)n * 2);
	for (size_t i = 0; i < np; i++) {
		memcpy(w + 2 * acc, pieces[i]->data, (size_t)pieces[i]->len);
		acc += pieces[i]->len / 2;
	}
	df11_hist(w, (size_t)n, hist);
	if (df11_code_build(&c, hist) || df11_code_sizes(&c, hist, &sz))
		die("unit '%s': cannot build a code", u->path);
	out.luts = xmalloc((size_t)sz.luts);
	out.enc = xmalloc((size_t)sz.enc);
	out.sm = xmalloc((size_t)sz.sm);
	out.op = xmalloc((size_t)sz.op);
	out.gaps = xmalloc((size_t)sz.gaps);
	if (df11_encode(&c, w, (size_t)n, &out))
		die("unit '%s': encoding failed", u->path);
	free(w);
	if (sz.luts != (uint64_t)c.n_luts * 256 || sz.sm != n ||
	    sz.gaps != 320 * sz.n_blocks || sz.op != 4 * (sz.n_blocks + 1))
		die("unit '%s': unexpected stream sizes", u->path);

	split = xmalloc(8 * (np - 1));
	acc = 0;
	for (size_t i = 0; i + 1 < np; i++) {
		acc += pieces[i]->len / 2;
		for (unsigned b = 0; b < 8; b++)
			split[8 * i + b] = (uint8_t)(acc >> (8 * b));
	}
	stream(&s, u->path, "luts", U8, c.n_luts, 256, 2, out.luts);
	stream(&s, u->path, "encoded_exponent", U8, sz.enc, 0, 1, out.enc);
	stream(&s, u->path, "sign_mantissa", U8, sz.sm, 0, 1, out.sm);
	stream(&s, u->path, "output_positions", U8, sz.op, 0, 1, out.op);
	stream(&s, u->path, "gaps", U8, sz.gaps, 0, 1, out.gaps);
	stream(&s, u->path, "split_positions", I64, np - 1, 0, 1, split);

	files = xmalloc((s.n + m->orig.n) * sizeof(*files));
	for (size_t i = 0; i < s.n; i++)
		files[nf++] = &s.v[i];
	/* a layer module's whole state_dict goes with it */
	pre = xfmt("%s.", u->path);
	for (size_t i = 0; k && i < m->orig.n; i++) {
		struct tensor *t = &m->orig.v[i];

		if (!t->used && !strncmp(t->name, pre, strlen(pre))) {
			t->used = 1;
			files[nf++] = t;
		}
	}
	fname = xfmt("%s.safetensors", u->path);
	for (char *p = fname; *p && strcmp(p, ".safetensors"); p++)
		if (*p == '.')
			*p = '_';
	st_write(dir, fname, files, nf, 0);
	for (size_t i = 0; i < s.n; i++) {
		free(s.v[i].name);
		free(s.v[i].data);
	}
	free(s.v);
	free(files);
	free(fname);
	free(pre);
}

static void usage(void)
{
	fprintf(stderr, "usage: %s ARCH ORIG_DIR DF11_DIR [SEED]\nARCH:", PROG);
	for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++)
		fprintf(stderr, " %s", archs[i].name);
	fputc('\n', stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct model m = {0};
	struct tensor **v, *copy = NULL;
	const char *orig, *df11;
	json_t *dcfg, *gen;
	size_t a, nv = 0;

	if (argc < 4 || argc > 5)
		usage();
	for (a = 0; a < sizeof(archs) / sizeof(archs[0]); a++)
		if (!strcmp(argv[1], archs[a].name))
			break;
	if (a == sizeof(archs) / sizeof(archs[0]))
		usage();
	orig = argv[2];
	df11 = argv[3];
	rng_state = 0x9E3779B97F4A7C15ull ^
		    (argc == 5 ? strtoull(argv[4], NULL, 0) : 1) *
			0xD1B54A32D192ED03ull ^
		    (uint64_t)a;
	archs[a].build(&m);
	if (!m.cfg || !m.pat)
		die("cannot build the config");
	mkdir_or_die(orig);
	mkdir_or_die(df11);

	/* the original: config, generation config, one model.safetensors */
	gen = json_pack("{s:b, s:s, s:s}", "_from_model_config", 1,
			"transformers_version", "4.51.3",
			"cache_implementation", "hybrid");
	json_write(orig, "config.json", m.cfg);
	json_write(orig, "generation_config.json", gen);
	json_write(df11, "generation_config.json", gen);
	v = xmalloc((m.orig.n + 1) * sizeof(*v));
	for (size_t i = 0; i < m.orig.n; i++)
		v[i] = &m.orig.v[i];
	st_write(orig, "model.safetensors", v, m.orig.n, 1);

	/* the official form: unit files, remainder, config */
	for (size_t i = 0; i < m.n_units; i++)
		unit_write(&m, &m.units[i], df11);
	for (size_t i = 0; i < m.orig.n; i++)
		if (!m.orig.v[i].used)
			v[nv++] = &m.orig.v[i];
	if (m.tied_copy) {
		struct tlist t = {0};
		const struct tensor *src = find(&m.orig, m.tied_src);

		if (!src)
			die("no '%s'", m.tied_src);
		copy = tensor_new(&t, xfmt("%s", m.tied_copy), src->dt, src->nd,
				  src->shape);
		memcpy(copy->data, src->data, (size_t)src->len);
		v[nv++] = copy;
	}
	st_write(df11, "model.safetensors", v, nv, 1);
	dcfg = json_deep_copy(m.cfg);
	json_object_set_new(dcfg, "dfloat11_config",
			    json_pack("{s:s, s:[i], s:i, s:O}", "version",
				      "0.5.0", "threads_per_block", 512,
				      "bytes_per_thread", 8, "pattern_dict",
				      m.pat));
	json_write(df11, "config.json", dcfg);

	if (copy) {
		free(copy->name);
		free(copy->data);
		free(copy);
	}
	for (size_t i = 0; i < m.orig.n; i++) {
		free(m.orig.v[i].name);
		free(m.orig.v[i].data);
	}
	free(m.orig.v);
	free(v);
	json_decref(dcfg);
	json_decref(gen);
	json_decref(m.cfg);
	json_decref(m.pat);
	return 0;
}
