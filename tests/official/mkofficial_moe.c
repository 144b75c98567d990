/* SPDX-License-Identifier: MIT */
/*
 * tests/official/mkofficial_moe.c - the mixture-of-experts architectures
 * of mkofficial: Mixtral (block_sparse_moe.gate, experts.N.w1/w2/w3),
 * Qwen3-MoE (mlp.gate, mlp.experts.N.{gate,up,down}_proj, q/k norms,
 * head_dim != hidden / heads, one dense layer of intermediate_size),
 * DeepSeek-V3 (MLA attention, routed and shared experts, a dense layer)
 * and GPT-OSS (fused 3-D experts left plain), with the tensor names of
 * their transformers checkpoints. Each layer is one
 * unit whose attribute list names every expert, as a pattern_dict for
 * these models would (the compressor takes any submodule path).
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "tests/official/mkofficial_i.h"

#define HIDDEN	 64
#define HEADS	 4
#define KV	 2
#define VOCAB	 256
#define LAYERS	 2
#define EXPERTS	 3
#define MAX_ATTR 32

/* the attention of layer @p and its two norms */
static void attention(struct tlist *l, const char *p, uint64_t head_dim,
		      int qk_norm)
{
	uint64_t q = HEADS * head_dim, kv = KV * head_dim;

	mk_vec(l, mk_fmt("%s.input_layernorm.weight", p), HIDDEN, 1.0);
	mk_vec(l, mk_fmt("%s.post_attention_layernorm.weight", p), HIDDEN, 1.0);
	mk_mat(l, mk_fmt("%s.self_attn.q_proj.weight", p), q, HIDDEN);
	mk_mat(l, mk_fmt("%s.self_attn.k_proj.weight", p), kv, HIDDEN);
	mk_mat(l, mk_fmt("%s.self_attn.v_proj.weight", p), kv, HIDDEN);
	mk_mat(l, mk_fmt("%s.self_attn.o_proj.weight", p), HIDDEN, q);
	if (qk_norm) {
		mk_vec(l, mk_fmt("%s.self_attn.q_norm.weight", p), head_dim,
		       1.0);
		mk_vec(l, mk_fmt("%s.self_attn.k_norm.weight", p), head_dim,
		       1.0);
	}
}

/* a JSON array of @n strings @v (taken) */
static json_t *attrs(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_array_append_new(a, json_string(v[i]));
		free(v[i]);
	}
	return a;
}

/* lm_head, embeddings, norm and the units of every layer */
static void common(struct model *m, const char *lk, json_t *layer_attrs)
{
	mk_mat(&m->orig, mk_fmt("model.embed_tokens.weight"), VOCAB, HIDDEN);
	mk_vec(&m->orig, mk_fmt("model.norm.weight"), HIDDEN, 1.0);
	mk_mat(&m->orig, mk_fmt("lm_head.weight"), VOCAB, HIDDEN);
	m->pat = json_object();
	json_object_set_new(m->pat, "lm_head", json_array());
	json_object_set_new(m->pat, "model.embed_tokens", json_array());
	json_object_set_new(m->pat, lk, layer_attrs);
	mk_unit_add(m, "lm_head", "lm_head", -1);
	mk_unit_add(m, "model.embed_tokens", "model.embed_tokens", -1);
	for (long i = 0; i < LAYERS; i++)
		mk_unit_add(m, lk, "model.layers", i);
}

/* Mixtral: head_dim = hidden / heads (no key), untied */
void mk_arch_mixtral(struct model *m)
{
	const uint64_t inter = 96;
	const char *lk = "model\\.layers\\.\\d+";
	char *a[MAX_ATTR];
	size_t n = 0;

	for (unsigned i = 0; i < LAYERS; i++) {
		char *p = mk_fmt("model.layers.%u", i);

		attention(&m->orig, p, HIDDEN / HEADS, 0);
		mk_mat(&m->orig, mk_fmt("%s.block_sparse_moe.gate.weight", p),
		       EXPERTS, HIDDEN);
		for (unsigned e = 0; e < EXPERTS; e++) {
			const char *x = "block_sparse_moe.experts";

			mk_mat(&m->orig, mk_fmt("%s.%s.%u.w1.weight", p, x, e),
			       inter, HIDDEN);
			mk_mat(&m->orig, mk_fmt("%s.%s.%u.w2.weight", p, x, e),
			       HIDDEN, inter);
			mk_mat(&m->orig, mk_fmt("%s.%s.%u.w3.weight", p, x, e),
			       inter, HIDDEN);
		}
		free(p);
	}
	a[n++] = mk_fmt("self_attn.q_proj");
	a[n++] = mk_fmt("self_attn.k_proj");
	a[n++] = mk_fmt("self_attn.v_proj");
	a[n++] = mk_fmt("self_attn.o_proj");
	a[n++] = mk_fmt("block_sparse_moe.gate");
	for (unsigned e = 0; e < EXPERTS; e++)
		for (unsigned w = 1; w <= 3; w++)
			a[n++] =
			    mk_fmt("block_sparse_moe.experts.%u.w%u", e, w);
	common(m, lk, attrs(a, n));
	m->cfg = json_pack(
	    "{s:[s], s:f, s:i, s:i, s:s, s:i, s:f, s:i, s:i, s:s, s:i, s:i, "
	    "s:i, s:i, s:i, s:f, s:f, s:f, s:n, s:b, s:s, s:s, s:b, s:i}",
	    "architectures", "MixtralForCausalLM", "attention_dropout", 0.0,
	    "bos_token_id", 1, "eos_token_id", 2, "hidden_act", "silu",
	    "hidden_size", HIDDEN, "initializer_range", 0.02,
	    "intermediate_size", (int)inter, "max_position_embeddings", 32768,
	    "model_type", "mixtral", "num_attention_heads", HEADS,
	    "num_experts_per_tok", 2, "num_hidden_layers", LAYERS,
	    "num_key_value_heads", KV, "num_local_experts", EXPERTS,
	    "rms_norm_eps", 1e-05, "rope_theta", 1000000.0,
	    "router_aux_loss_coef", 0.02, "sliding_window",
	    "tie_word_embeddings", 0, "torch_dtype", "bfloat16",
	    "transformers_version", "4.51.3", "use_cache", 1, "vocab_size",
	    VOCAB);
}

/* Qwen3-MoE: head_dim 32 != 64 / 4, layer 1 dense (mlp_only_layers) */
void mk_arch_qwen3_moe(struct model *m)
{
	const uint64_t head_dim = 32, moe = 48, inter = 96;
	const char *lk = "model\\.layers\\.\\d+";
	json_t *pat_attrs;
	char *a[MAX_ATTR];
	size_t n = 0;

	for (unsigned i = 0; i < LAYERS; i++) {
		char *p = mk_fmt("model.layers.%u", i);

		attention(&m->orig, p, head_dim, 1);
		if (i == 1) {
			mk_mat(&m->orig, mk_fmt("%s.mlp.gate_proj.weight", p),
			       inter, HIDDEN);
			mk_mat(&m->orig, mk_fmt("%s.mlp.up_proj.weight", p),
			       inter, HIDDEN);
			mk_mat(&m->orig, mk_fmt("%s.mlp.down_proj.weight", p),
			       HIDDEN, inter);
			free(p);
			continue;
		}
		mk_mat(&m->orig, mk_fmt("%s.mlp.gate.weight", p), EXPERTS,
		       HIDDEN);
		for (unsigned e = 0; e < EXPERTS; e++) {
			const char *x = "mlp.experts";

			mk_mat(&m->orig,
			       mk_fmt("%s.%s.%u.gate_proj.weight", p, x, e),
			       moe, HIDDEN);
			mk_mat(&m->orig,
			       mk_fmt("%s.%s.%u.up_proj.weight", p, x, e), moe,
			       HIDDEN);
			mk_mat(&m->orig,
			       mk_fmt("%s.%s.%u.down_proj.weight", p, x, e),
			       HIDDEN, moe);
		}
		free(p);
	}
	/* one key per layer kind: the dense layer's attributes differ */
	a[n++] = mk_fmt("self_attn.q_proj");
	a[n++] = mk_fmt("self_attn.k_proj");
	a[n++] = mk_fmt("self_attn.v_proj");
	a[n++] = mk_fmt("self_attn.o_proj");
	a[n++] = mk_fmt("mlp.gate");
	for (unsigned e = 0; e < EXPERTS; e++) {
		a[n++] = mk_fmt("mlp.experts.%u.gate_proj", e);
		a[n++] = mk_fmt("mlp.experts.%u.up_proj", e);
		a[n++] = mk_fmt("mlp.experts.%u.down_proj", e);
	}
	pat_attrs = attrs(a, n);
	mk_mat(&m->orig, mk_fmt("model.embed_tokens.weight"), VOCAB, HIDDEN);
	mk_vec(&m->orig, mk_fmt("model.norm.weight"), HIDDEN, 1.0);
	mk_mat(&m->orig, mk_fmt("lm_head.weight"), VOCAB, HIDDEN);
	m->pat = json_object();
	json_object_set_new(m->pat, "lm_head", json_array());
	json_object_set_new(m->pat, "model\\.layers\\.1",
			    json_pack("[s,s,s,s,s,s,s]", "self_attn.q_proj",
				      "self_attn.k_proj", "self_attn.v_proj",
				      "self_attn.o_proj", "mlp.gate_proj",
				      "mlp.up_proj", "mlp.down_proj"));
	json_object_set_new(m->pat, lk, pat_attrs);
	mk_unit_add(m, "lm_head", "lm_head", -1);
	mk_unit_add(m, "model\\.layers\\.1", "model.layers", 1);
	mk_unit_add(m, lk, "model.layers", 0);
	m->cfg = json_pack(
	    "{s:[s], s:b, s:f, s:i, s:i, s:i, s:s, s:i, s:i, s:f, s:i, s:i, "
	    "s:[i], s:s, s:i, s:i, s:i, s:i, s:i, s:b, s:f, s:f, s:b, s:s, "
	    "s:s, s:i, s:i}",
	    "architectures", "Qwen3MoeForCausalLM", "attention_bias", 0,
	    "attention_dropout", 0.0, "bos_token_id", 151643,
	    "decoder_sparse_step", 1, "eos_token_id", 151645, "hidden_act",
	    "silu", "hidden_size", HIDDEN, "head_dim", (int)head_dim,
	    "initializer_range", 0.02, "intermediate_size", (int)inter,
	    "max_position_embeddings", 40960, "mlp_only_layers", 1,
	    "model_type", "qwen3_moe", "moe_intermediate_size", (int)moe,
	    "num_attention_heads", HEADS, "num_experts", EXPERTS,
	    "num_experts_per_tok", 2, "num_hidden_layers", LAYERS,
	    "norm_topk_prob", 1, "rms_norm_eps", 1e-06, "rope_theta", 1000000.0,
	    "tie_word_embeddings", 0, "torch_dtype", "bfloat16",
	    "transformers_version", "4.51.3", "num_key_value_heads", KV,
	    "vocab_size", VOCAB);
}

/*
 * DeepSeek-V3 (modeling_deepseek_v3.py): MLA attention with a q LoRA
 * (q_a_proj, q_a_layernorm, q_b_proj), kv_a_proj_with_mqa, kv_a_layernorm,
 * kv_b_proj, o_proj of heads * v_head_dim; layer 0 dense
 * (first_k_dense_replace 1), layer 1 MoE with the router mlp.gate (and
 * its e_score_correction_bias), routed experts of moe_intermediate_size
 * and shared_experts of moe_intermediate_size * n_shared_experts.
 */
void mk_arch_deepseek_v3(struct model *m)
{
	const uint64_t qr = 24, kvr = 16, rope = 8, nope = 16, vhd = 12,
		       inter = 96, moe = 40, shared = 2;
	const uint64_t qk = nope + rope;
	const char *lk = "model\\.layers\\.\\d+", *dk = "model\\.layers\\.0";
	char *a[MAX_ATTR];
	size_t n = 0;

	for (unsigned i = 0; i < LAYERS; i++) {
		char *p = mk_fmt("model.layers.%u", i);
		const char *s = "self_attn";

		mk_vec(&m->orig, mk_fmt("%s.input_layernorm.weight", p), HIDDEN,
		       1.0);
		mk_vec(&m->orig,
		       mk_fmt("%s.post_attention_layernorm.weight", p), HIDDEN,
		       1.0);
		mk_mat(&m->orig, mk_fmt("%s.%s.q_a_proj.weight", p, s), qr,
		       HIDDEN);
		mk_vec(&m->orig, mk_fmt("%s.%s.q_a_layernorm.weight", p, s), qr,
		       1.0);
		mk_mat(&m->orig, mk_fmt("%s.%s.q_b_proj.weight", p, s),
		       HEADS * qk, qr);
		mk_mat(&m->orig,
		       mk_fmt("%s.%s.kv_a_proj_with_mqa.weight", p, s),
		       kvr + rope, HIDDEN);
		mk_vec(&m->orig, mk_fmt("%s.%s.kv_a_layernorm.weight", p, s),
		       kvr, 1.0);
		mk_mat(&m->orig, mk_fmt("%s.%s.kv_b_proj.weight", p, s),
		       HEADS * (nope + vhd), kvr);
		mk_mat(&m->orig, mk_fmt("%s.%s.o_proj.weight", p, s), HIDDEN,
		       HEADS * vhd);
		if (i == 0) {
			mk_mat(&m->orig, mk_fmt("%s.mlp.gate_proj.weight", p),
			       inter, HIDDEN);
			mk_mat(&m->orig, mk_fmt("%s.mlp.up_proj.weight", p),
			       inter, HIDDEN);
			mk_mat(&m->orig, mk_fmt("%s.mlp.down_proj.weight", p),
			       HIDDEN, inter);
			free(p);
			continue;
		}
		mk_mat(&m->orig, mk_fmt("%s.mlp.gate.weight", p), EXPERTS,
		       HIDDEN);
		mk_vec(&m->orig,
		       mk_fmt("%s.mlp.gate.e_score_correction_bias", p),
		       EXPERTS, 0.0);
		for (unsigned e = 0; e < EXPERTS; e++) {
			const char *x = "mlp.experts";

			mk_mat(&m->orig,
			       mk_fmt("%s.%s.%u.gate_proj.weight", p, x, e),
			       moe, HIDDEN);
			mk_mat(&m->orig,
			       mk_fmt("%s.%s.%u.up_proj.weight", p, x, e), moe,
			       HIDDEN);
			mk_mat(&m->orig,
			       mk_fmt("%s.%s.%u.down_proj.weight", p, x, e),
			       HIDDEN, moe);
		}
		mk_mat(&m->orig,
		       mk_fmt("%s.mlp.shared_experts.gate_proj.weight", p),
		       moe * shared, HIDDEN);
		mk_mat(&m->orig,
		       mk_fmt("%s.mlp.shared_experts.up_proj.weight", p),
		       moe * shared, HIDDEN);
		mk_mat(&m->orig,
		       mk_fmt("%s.mlp.shared_experts.down_proj.weight", p),
		       HIDDEN, moe * shared);
		free(p);
	}
	a[n++] = mk_fmt("self_attn.q_a_proj");
	a[n++] = mk_fmt("self_attn.q_b_proj");
	a[n++] = mk_fmt("self_attn.kv_a_proj_with_mqa");
	a[n++] = mk_fmt("self_attn.kv_b_proj");
	a[n++] = mk_fmt("self_attn.o_proj");
	a[n++] = mk_fmt("mlp.gate");
	for (unsigned e = 0; e < EXPERTS; e++) {
		a[n++] = mk_fmt("mlp.experts.%u.gate_proj", e);
		a[n++] = mk_fmt("mlp.experts.%u.up_proj", e);
		a[n++] = mk_fmt("mlp.experts.%u.down_proj", e);
	}
	a[n++] = mk_fmt("mlp.shared_experts.gate_proj");
	a[n++] = mk_fmt("mlp.shared_experts.up_proj");
	a[n++] = mk_fmt("mlp.shared_experts.down_proj");
	mk_mat(&m->orig, mk_fmt("model.embed_tokens.weight"), VOCAB, HIDDEN);
	mk_vec(&m->orig, mk_fmt("model.norm.weight"), HIDDEN, 1.0);
	mk_mat(&m->orig, mk_fmt("lm_head.weight"), VOCAB, HIDDEN);
	m->pat = json_object();
	json_object_set_new(m->pat, "lm_head", json_array());
	json_object_set_new(m->pat, "model.embed_tokens", json_array());
	json_object_set_new(
	    m->pat, dk,
	    json_pack("[s,s,s,s,s,s,s,s]", "self_attn.q_a_proj",
		      "self_attn.q_b_proj", "self_attn.kv_a_proj_with_mqa",
		      "self_attn.kv_b_proj", "self_attn.o_proj",
		      "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"));
	json_object_set_new(m->pat, lk, attrs(a, n));
	mk_unit_add(m, "lm_head", "lm_head", -1);
	mk_unit_add(m, "model.embed_tokens", "model.embed_tokens", -1);
	mk_unit_add(m, dk, "model.layers", 0);
	mk_unit_add(m, lk, "model.layers", 1);
	m->cfg = json_pack(
	    "{s:[s], s:b, s:f, s:i, s:i, s:i, s:s, s:i, s:f, s:i, s:i, s:i, "
	    "s:i, s:s, s:i, s:i, s:i, s:b, s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
	    "s:i, s:f, s:f, s:f, s:s, s:b, s:i, s:i, s:s, s:s, s:i, s:i}",
	    "architectures", "DeepseekV3ForCausalLM", "attention_bias", 0,
	    "attention_dropout", 0.0, "bos_token_id", 0, "eos_token_id", 1,
	    "first_k_dense_replace", 1, "hidden_act", "silu", "hidden_size",
	    HIDDEN, "initializer_range", 0.02, "intermediate_size", (int)inter,
	    "kv_lora_rank", (int)kvr, "max_position_embeddings", 163840,
	    "moe_intermediate_size", (int)moe, "model_type", "deepseek_v3",
	    "n_group", 1, "n_routed_experts", EXPERTS, "n_shared_experts",
	    (int)shared, "norm_topk_prob", 1, "num_attention_heads", HEADS,
	    "num_experts_per_tok", 2, "num_hidden_layers", LAYERS,
	    "num_key_value_heads", HEADS, "q_lora_rank", (int)qr,
	    "qk_nope_head_dim", (int)nope, "qk_rope_head_dim", (int)rope,
	    "topk_group", 1, "rms_norm_eps", 1e-06, "rope_theta", 10000.0,
	    "routed_scaling_factor", 2.5, "scoring_func", "sigmoid",
	    "tie_word_embeddings", 0, "v_head_dim", (int)vhd, "vocab_size",
	    VOCAB, "torch_dtype", "bfloat16", "transformers_version", "4.51.3",
	    "ep_size", 1, "num_nextn_predict_layers", 1);
}

/*
 * GPT-OSS (modeling_gpt_oss.py): head_dim 24 != 64 / 4, attention with
 * biases and sinks, the router's weight and bias and the fused 3-D
 * experts (gate_up_proj [E, hidden, 2 * intermediate], down_proj [E,
 * intermediate, hidden] and their biases) plain: the official compressor
 * takes only the .weight of a module, which a 3-D parameter has not.
 */
void mk_arch_gpt_oss(struct model *m)
{
	const uint64_t hd = 24, inter = 40;
	const char *lk = "model\\.layers\\.\\d+";

	for (unsigned i = 0; i < LAYERS; i++) {
		char *p = mk_fmt("model.layers.%u", i);
		const char *x = "mlp.experts";

		attention(&m->orig, p, hd, 0);
		mk_vec(&m->orig, mk_fmt("%s.self_attn.q_proj.bias", p),
		       HEADS * hd, 0.0);
		mk_vec(&m->orig, mk_fmt("%s.self_attn.k_proj.bias", p), KV * hd,
		       0.0);
		mk_vec(&m->orig, mk_fmt("%s.self_attn.v_proj.bias", p), KV * hd,
		       0.0);
		mk_vec(&m->orig, mk_fmt("%s.self_attn.o_proj.bias", p), HIDDEN,
		       0.0);
		mk_vec(&m->orig, mk_fmt("%s.self_attn.sinks", p), HEADS, 0.0);
		mk_mat(&m->orig, mk_fmt("%s.mlp.router.weight", p), EXPERTS,
		       HIDDEN);
		mk_vec(&m->orig, mk_fmt("%s.mlp.router.bias", p), EXPERTS, 0.0);
		mk_nd(&m->orig, mk_fmt("%s.%s.gate_up_proj", p, x), 3, EXPERTS,
		      HIDDEN, 2 * inter, 0);
		mk_nd(&m->orig, mk_fmt("%s.%s.gate_up_proj_bias", p, x), 2,
		      EXPERTS, 2 * inter, 0, 0);
		mk_nd(&m->orig, mk_fmt("%s.%s.down_proj", p, x), 3, EXPERTS,
		      inter, HIDDEN, 0);
		mk_nd(&m->orig, mk_fmt("%s.%s.down_proj_bias", p, x), 2,
		      EXPERTS, HIDDEN, 0, 0);
		free(p);
	}
	common(m, lk,
	       json_pack("[s,s,s,s]", "self_attn.q_proj", "self_attn.k_proj",
			 "self_attn.v_proj", "self_attn.o_proj"));
	m->cfg = json_pack(
	    "{s:[s], s:b, s:f, s:i, s:i, s:i, s:s, s:i, s:f, s:i, s:[s,s], "
	    "s:i, s:s, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:i, s:b, s:s, s:s, "
	    "s:b, s:i}",
	    "architectures", "GptOssForCausalLM", "attention_bias", 1,
	    "attention_dropout", 0.0, "eos_token_id", 200002, "head_dim",
	    (int)hd, "hidden_size", HIDDEN, "hidden_act", "silu",
	    "intermediate_size", (int)inter, "initializer_range", 0.02,
	    "max_position_embeddings", 131072, "layer_types",
	    "sliding_attention", "full_attention", "num_local_experts", EXPERTS,
	    "model_type", "gpt_oss", "num_attention_heads", HEADS,
	    "num_experts_per_tok", 2, "num_hidden_layers", LAYERS,
	    "num_key_value_heads", KV, "pad_token_id", 199999, "rms_norm_eps",
	    1e-05, "rope_theta", 150000.0, "sliding_window", 128,
	    "tie_word_embeddings", 0, "torch_dtype", "bfloat16",
	    "transformers_version", "4.55.0", "use_cache", 1, "vocab_size",
	    VOCAB);
}
