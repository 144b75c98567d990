/* SPDX-License-Identifier: MIT */
/*
 * tests/official/mkofficial_arch.c - the architectures of mkofficial
 *
 * Per family: the tensors transformers names (exact names and shapes),
 * filled with seeded normal BF16 or F32 values; the config.json
 * save_pretrained writes for it; the pattern_dict (and layer attribute
 * order) of the official DFloat11 releases of that family; and which
 * modules the official compressor makes units of. The shapes are ones a
 * wrong shape rule would get wrong: head_dim != hidden / heads,
 * text_config next to a vision_config of other sizes, fused projections.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tests/official/mkofficial_i.h"

#define LAYER_ATTRS_7                                                          \
	"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",            \
	    "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",                \
	    "mlp.down_proj"

static uint64_t rng_state;

void mk_seed(uint64_t seed)
{
	rng_state = seed;
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

/* a BF16 or F32 tensor of normal values (mean, std) */
static void add(struct tlist *l, enum dt dt, double mean, double std,
		char *name, unsigned nd, uint64_t d0, uint64_t d1, uint64_t d2,
		uint64_t d3)
{
	const uint64_t shape[4] = {d0, d1, d2, d3};
	struct tensor *t = mk_tensor_new(l, name, dt, nd, shape);
	uint64_t n = t->len / mk_dt_size[dt];

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

void mk_mat(struct tlist *l, char *name, uint64_t r, uint64_t c)
{
	mat(l, name, r, c);
}

void mk_vec(struct tlist *l, char *name, uint64_t n, double mean)
{
	vec(l, name, n, mean);
}

void mk_nd(struct tlist *l, char *name, unsigned nd, uint64_t d0, uint64_t d1,
	   uint64_t d2, uint64_t d3)
{
	add(l, BF16, 0.0, 0.02, name, nd, d0, d1, d2, d3);
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

	mat(l, mk_fmt("%s.embed_tokens.weight", a->pre), a->vocab, h);
	for (uint64_t i = 0; i < a->layers; i++) {
		char *p =
		    mk_fmt("%s.layers.%llu", a->pre, (unsigned long long)i);

		vec(l, mk_fmt("%s.input_layernorm.weight", p), h, 1.0);
		vec(l, mk_fmt("%s.post_attention_layernorm.weight", p), h, 1.0);
		if (a->four_norms) {
			vec(l, mk_fmt("%s.pre_feedforward_layernorm.weight", p),
			    h, 1.0);
			vec(l,
			    mk_fmt("%s.post_feedforward_layernorm.weight", p),
			    h, 1.0);
		}
		if (a->fused) {
			mat(l, mk_fmt("%s.self_attn.qkv_proj.weight", p),
			    q + 2 * kv, h);
		} else {
			mat(l, mk_fmt("%s.self_attn.q_proj.weight", p), q, h);
			mat(l, mk_fmt("%s.self_attn.k_proj.weight", p), kv, h);
			mat(l, mk_fmt("%s.self_attn.v_proj.weight", p), kv, h);
		}
		if (a->qkv_bias) {
			vec(l, mk_fmt("%s.self_attn.q_proj.bias", p), q, 0.0);
			vec(l, mk_fmt("%s.self_attn.k_proj.bias", p), kv, 0.0);
			vec(l, mk_fmt("%s.self_attn.v_proj.bias", p), kv, 0.0);
		}
		if (a->qk_norm) {
			vec(l, mk_fmt("%s.self_attn.q_norm.weight", p),
			    a->head_dim, 1.0);
			vec(l, mk_fmt("%s.self_attn.k_norm.weight", p),
			    a->head_dim, 1.0);
		}
		mat(l, mk_fmt("%s.self_attn.o_proj.weight", p), h, q);
		if (a->fused) {
			mat(l, mk_fmt("%s.mlp.gate_up_proj.weight", p),
			    2 * a->inter, h);
		} else {
			mat(l, mk_fmt("%s.mlp.gate_proj.weight", p), a->inter,
			    h);
			mat(l, mk_fmt("%s.mlp.up_proj.weight", p), a->inter, h);
		}
		mat(l, mk_fmt("%s.mlp.down_proj.weight", p), h, a->inter);
		free(p);
	}
	vec(l, mk_fmt("%s.norm.weight", a->pre), h, 1.0);
	if (a->lm_head)
		mat(l, mk_fmt("lm_head.weight"), a->vocab, h);
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

void mk_unit_add(struct model *m, const char *key, const char *path, long i)
{
	unit_add(m, key, path, i);
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
	mat(l, mk_fmt("multi_modal_projector.mm_input_projection_weight"), 32,
	    64);
	vec(l, mk_fmt("multi_modal_projector.mm_soft_emb_norm.weight"), 32,
	    1.0);
	add(l, BF16, 0.0, 0.02,
	    mk_fmt(
		"vision_tower.vision_model.embeddings.patch_embedding.weight"),
	    4, 32, 3, 4, 4);
	vec(l,
	    mk_fmt("vision_tower.vision_model.embeddings.patch_embedding.bias"),
	    32, 0.0);
	mat(l,
	    mk_fmt("vision_tower.vision_model.embeddings.position_embedding."
		   "weight"),
	    16, 32);
	vec(l, mk_fmt("vision_tower.vision_model.post_layernorm.bias"), 32,
	    0.0);
	vec(l, mk_fmt("vision_tower.vision_model.post_layernorm.weight"), 32,
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

	mat(l, mk_fmt("backbone.embeddings.weight"), v, h);
	for (unsigned i = 0; i < 2; i++) {
		char *p = mk_fmt("backbone.layers.%u.mixer", i);

		add(l, F32, -1.0, 0.5, mk_fmt("%s.A_log", p), 2, in, st, 0, 0);
		add(l, F32, 1.0, 0.1, mk_fmt("%s.D", p), 1, in, 0, 0, 0);
		add(l, BF16, 0.0, 0.1, mk_fmt("%s.conv1d.weight", p), 3, in, 1,
		    k, 0);
		vec(l, mk_fmt("%s.conv1d.bias", p), in, 0.0);
		mat(l, mk_fmt("%s.dt_proj.weight", p), in, rank);
		vec(l, mk_fmt("%s.dt_proj.bias", p), in, 0.0);
		mat(l, mk_fmt("%s.in_proj.weight", p), 2 * in, h);
		mat(l, mk_fmt("%s.out_proj.weight", p), h, in);
		mat(l, mk_fmt("%s.x_proj.weight", p), rank + 2 * st, in);
		vec(l, mk_fmt("backbone.layers.%u.norm.weight", i), h, 1.0);
		free(p);
	}
	vec(l, mk_fmt("backbone.norm_f.weight"), h, 1.0);
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

const struct mk_arch mk_archs[] = {
    {"mistral", arch_mistral},
    {"qwen2", arch_qwen2},
    {"gemma2", arch_gemma2},
    {"gemma3", arch_gemma3},
    {"phi3", arch_phi3},
    {"mamba", arch_mamba},
    {"mixtral", mk_arch_mixtral},
    {"qwen3_moe", mk_arch_qwen3_moe},
    {"deepseek_v3", mk_arch_deepseek_v3},
    {"gpt_oss", mk_arch_gpt_oss},
    {"qwen2_vl", mk_arch_qwen2_vl},
    {"qwen2_5_vl", mk_arch_qwen2_5_vl},
    {"mistral3", mk_arch_mistral3},
    {"llama4", mk_arch_llama4},
    {"hidream", mk_arch_hidream},
    {"cosmos", mk_arch_cosmos},
    {"chroma", mk_arch_chroma},
    {"wan", mk_arch_wan},
    {"qwenimage", mk_arch_qwenimage},
    {"sd3", mk_arch_sd3},
};
const size_t mk_n_archs = sizeof(mk_archs) / sizeof(mk_archs[0]);
