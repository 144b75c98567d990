/* SPDX-License-Identifier: MIT */
/*
 * tests/official/mkofficial_mm.c - the vision-language architectures of
 * mkofficial: Qwen2-VL and Qwen2.5-VL (a Qwen2 text model beside a vision
 * tower whose every nn.Linear has a bias) and Mistral3 (a Mistral text
 * model in text_config, a Pixtral vision tower and a projector without
 * biases, sized by vision_config) and Llama 4 (text_config with dense
 * and MoE layers, a vision model whose patch embedding, adapter and
 * projector have no bias), with the tensor names of their hub
 * checkpoints (transformers modeling_qwen2_vl.py, modeling_qwen2_5_vl.py,
 * modeling_mistral3.py, modeling_pixtral.py, modeling_llama4.py). The vision
 * sizes differ from the text sizes, so a text rule applied to a vision piece,
 * or the other way round, gets the element count wrong. The Qwen patch
 * embedding (a 5-D Conv3d weight, never compressed) is left out.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "tests/official/mkofficial_i.h"

#define HIDDEN 64
#define HEADS  4
#define KV     2
#define INTER  96
#define VOCAB  256
#define LAYERS 2
#define VH     32 /* vision hidden */
#define VHEADS 2
#define MERGE  2 /* spatial_merge_size */

/* a JSON array of the @n strings @v */
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

/* a Linear [@r, @c] with a bias, as "@p.weight" and "@p.bias" */
static void linear_b(struct tlist *l, const char *p, uint64_t r, uint64_t c)
{
	mk_mat(l, mk_fmt("%s.weight", p), r, c);
	mk_vec(l, mk_fmt("%s.bias", p), r, 0.0);
}

/* the Qwen2 text model under "model", head_dim = hidden / heads */
static void qwen_text(struct tlist *l)
{
	const uint64_t hd = HIDDEN / HEADS, q = HEADS * hd, kv = KV * hd;

	mk_mat(l, mk_fmt("model.embed_tokens.weight"), VOCAB, HIDDEN);
	for (unsigned i = 0; i < LAYERS; i++) {
		char *p = mk_fmt("model.layers.%u", i), *a;

		mk_vec(l, mk_fmt("%s.input_layernorm.weight", p), HIDDEN, 1.0);
		mk_vec(l, mk_fmt("%s.post_attention_layernorm.weight", p),
		       HIDDEN, 1.0);
		a = mk_fmt("%s.self_attn.q_proj", p);
		linear_b(l, a, q, HIDDEN);
		free(a);
		a = mk_fmt("%s.self_attn.k_proj", p);
		linear_b(l, a, kv, HIDDEN);
		free(a);
		a = mk_fmt("%s.self_attn.v_proj", p);
		linear_b(l, a, kv, HIDDEN);
		free(a);
		mk_mat(l, mk_fmt("%s.self_attn.o_proj.weight", p), HIDDEN, q);
		mk_mat(l, mk_fmt("%s.mlp.gate_proj.weight", p), INTER, HIDDEN);
		mk_mat(l, mk_fmt("%s.mlp.up_proj.weight", p), INTER, HIDDEN);
		mk_mat(l, mk_fmt("%s.mlp.down_proj.weight", p), HIDDEN, INTER);
		free(p);
	}
	mk_vec(l, mk_fmt("model.norm.weight"), HIDDEN, 1.0);
	mk_mat(l, mk_fmt("lm_head.weight"), VOCAB, HIDDEN);
}

/*
 * One vision block "visual.blocks.0" and the merger: Qwen2.5-VL (@v25)
 * has RMSNorms and a gated MLP of vision intermediate_size (@vi), Qwen2-VL
 * LayerNorms (with biases) and fc1/fc2 of embed_dim * mlp_ratio (@vi).
 */
static void qwen_vision(struct tlist *l, int v25, uint64_t vi)
{
	const uint64_t mh = VH * MERGE * MERGE;
	const char *p = "visual.blocks.0";

	mk_vec(l, mk_fmt("%s.norm1.weight", p), VH, 1.0);
	mk_vec(l, mk_fmt("%s.norm2.weight", p), VH, 1.0);
	if (!v25) {
		mk_vec(l, mk_fmt("%s.norm1.bias", p), VH, 0.0);
		mk_vec(l, mk_fmt("%s.norm2.bias", p), VH, 0.0);
	}
	linear_b(l, "visual.blocks.0.attn.qkv", 3 * VH, VH);
	linear_b(l, "visual.blocks.0.attn.proj", VH, VH);
	if (v25) {
		linear_b(l, "visual.blocks.0.mlp.gate_proj", vi, VH);
		linear_b(l, "visual.blocks.0.mlp.up_proj", vi, VH);
		linear_b(l, "visual.blocks.0.mlp.down_proj", VH, vi);
	} else {
		linear_b(l, "visual.blocks.0.mlp.fc1", vi, VH);
		linear_b(l, "visual.blocks.0.mlp.fc2", VH, vi);
	}
	mk_vec(l, mk_fmt("visual.merger.ln_q.weight"), VH, 1.0);
	if (!v25)
		mk_vec(l, mk_fmt("visual.merger.ln_q.bias"), VH, 0.0);
	linear_b(l, "visual.merger.mlp.0", mh, mh);
	linear_b(l, "visual.merger.mlp.2", HIDDEN, mh);
}

/* pattern_dict and units: lm_head, embedding, text layers, vision */
static void qwen_units(struct model *m, json_t *block_attrs)
{
	const char *lk = "model\\.layers\\.\\d+",
		   *vk = "visual\\.blocks\\.\\d+";

	m->pat = json_object();
	json_object_set_new(m->pat, "lm_head", json_array());
	json_object_set_new(m->pat, "model.embed_tokens", json_array());
	json_object_set_new(m->pat, lk,
			    STRS("self_attn.q_proj", "self_attn.k_proj",
				 "self_attn.v_proj", "self_attn.o_proj",
				 "mlp.gate_proj", "mlp.up_proj",
				 "mlp.down_proj"));
	json_object_set_new(m->pat, vk, block_attrs);
	json_object_set_new(m->pat, "visual.merger", STRS("mlp.0", "mlp.2"));
	mk_unit_add(m, "lm_head", "lm_head", -1);
	mk_unit_add(m, "model.embed_tokens", "model.embed_tokens", -1);
	for (long i = 0; i < LAYERS; i++)
		mk_unit_add(m, lk, "model.layers", i);
	mk_unit_add(m, vk, "visual.blocks", 0);
	mk_unit_add(m, "visual.merger", "visual.merger", -1);
}

/* Qwen2.5-VL: the text sizes at the top level, as the hub config.json */
void mk_arch_qwen2_5_vl(struct model *m)
{
	const uint64_t vi = 80;

	qwen_text(&m->orig);
	qwen_vision(&m->orig, 1, vi);
	qwen_units(m, STRS("attn.qkv", "attn.proj", "mlp.gate_proj",
			   "mlp.up_proj", "mlp.down_proj"));
	m->cfg = json_pack(
	    "{s:[s], s:f, s:i, s:i, s:s, s:i, s:f, s:i, s:i, s:i, s:s, s:i, "
	    "s:i, s:i, s:f, s:{s:s, s:[i,i,i]}, s:f, s:i, s:b, s:s, s:s, s:b, "
	    "s:b, s:{s:i, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
	    "s:[i]}, s:i}",
	    "architectures", "Qwen2_5_VLForConditionalGeneration",
	    "attention_dropout", 0.0, "bos_token_id", 151643, "eos_token_id",
	    151645, "hidden_act", "silu", "hidden_size", HIDDEN,
	    "initializer_range", 0.02, "intermediate_size", INTER,
	    "max_position_embeddings", 128000, "max_window_layers", 28,
	    "model_type", "qwen2_5_vl", "num_attention_heads", HEADS,
	    "num_hidden_layers", LAYERS, "num_key_value_heads", KV,
	    "rms_norm_eps", 1e-06, "rope_scaling", "type", "mrope",
	    "mrope_section", 2, 3, 3, "rope_theta", 1000000.0, "sliding_window",
	    32768, "tie_word_embeddings", 0, "torch_dtype", "bfloat16",
	    "transformers_version", "4.51.3", "use_cache", 1,
	    "use_sliding_window", 0, "vision_config", "depth", 1, "hidden_act",
	    "silu", "hidden_size", VH, "intermediate_size", (int)vi,
	    "num_heads", VHEADS, "in_chans", 3, "out_hidden_size", HIDDEN,
	    "patch_size", 2, "spatial_merge_size", MERGE, "temporal_patch_size",
	    2, "window_size", 8, "fullatt_block_indexes", 0, "vocab_size",
	    VOCAB);
}

/* Qwen2-VL: vision embed_dim, mlp_ratio 4; its "hidden_size" is the text's */
void mk_arch_qwen2_vl(struct model *m)
{
	qwen_text(&m->orig);
	qwen_vision(&m->orig, 0, 4 * VH);
	qwen_units(m, STRS("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"));
	m->cfg = json_pack(
	    "{s:[s], s:f, s:i, s:i, s:s, s:i, s:f, s:i, s:i, s:i, s:s, s:i, "
	    "s:i, s:i, s:f, s:{s:s, s:[i,i,i]}, s:f, s:i, s:b, s:s, s:s, s:b, "
	    "s:b, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}, s:i}",
	    "architectures", "Qwen2VLForConditionalGeneration",
	    "attention_dropout", 0.0, "bos_token_id", 151643, "eos_token_id",
	    151645, "hidden_act", "silu", "hidden_size", HIDDEN,
	    "initializer_range", 0.02, "intermediate_size", INTER,
	    "max_position_embeddings", 32768, "max_window_layers", 28,
	    "model_type", "qwen2_vl", "num_attention_heads", HEADS,
	    "num_hidden_layers", LAYERS, "num_key_value_heads", KV,
	    "rms_norm_eps", 1e-06, "rope_scaling", "type", "mrope",
	    "mrope_section", 2, 3, 3, "rope_theta", 1000000.0, "sliding_window",
	    32768, "tie_word_embeddings", 0, "torch_dtype", "bfloat16",
	    "transformers_version", "4.51.3", "use_cache", 1,
	    "use_sliding_window", 0, "vision_config", "depth", 1, "embed_dim",
	    VH, "mlp_ratio", 4, "num_heads", VHEADS, "in_chans", 3,
	    "hidden_size", HIDDEN, "patch_size", 2, "spatial_merge_size", MERGE,
	    "temporal_patch_size", 2, "vocab_size", VOCAB);
}

/*
 * Mistral3 (Mistral-Small-3.1 checkpoint names: language_model.model.*,
 * language_model.lm_head, vision_tower.*, multi_modal_projector.*), text
 * head_dim 24 != 64 / 4, vision head_dim 16 = 32 / 2, no projector bias
 */
void mk_arch_mistral3(struct model *m)
{
	const uint64_t hd = 24, vi = 80;
	const char *lk = "language_model\\.model\\.layers\\.\\d+",
		   *vk = "vision_tower\\.transformer\\.layers\\.\\d+";
	struct tlist *l = &m->orig;

	mk_mat(l, mk_fmt("language_model.model.embed_tokens.weight"), VOCAB,
	       HIDDEN);
	for (unsigned i = 0; i < LAYERS; i++) {
		char *p = mk_fmt("language_model.model.layers.%u", i);

		mk_vec(l, mk_fmt("%s.input_layernorm.weight", p), HIDDEN, 1.0);
		mk_vec(l, mk_fmt("%s.post_attention_layernorm.weight", p),
		       HIDDEN, 1.0);
		mk_mat(l, mk_fmt("%s.self_attn.q_proj.weight", p), HEADS * hd,
		       HIDDEN);
		mk_mat(l, mk_fmt("%s.self_attn.k_proj.weight", p), KV * hd,
		       HIDDEN);
		mk_mat(l, mk_fmt("%s.self_attn.v_proj.weight", p), KV * hd,
		       HIDDEN);
		mk_mat(l, mk_fmt("%s.self_attn.o_proj.weight", p), HIDDEN,
		       HEADS * hd);
		mk_mat(l, mk_fmt("%s.mlp.gate_proj.weight", p), INTER, HIDDEN);
		mk_mat(l, mk_fmt("%s.mlp.up_proj.weight", p), INTER, HIDDEN);
		mk_mat(l, mk_fmt("%s.mlp.down_proj.weight", p), HIDDEN, INTER);
		free(p);
	}
	mk_vec(l, mk_fmt("language_model.model.norm.weight"), HIDDEN, 1.0);
	mk_mat(l, mk_fmt("language_model.lm_head.weight"), VOCAB, HIDDEN);

	mk_nd(l, mk_fmt("vision_tower.patch_conv.weight"), 4, VH, 3, 4, 4);
	mk_vec(l, mk_fmt("vision_tower.ln_pre.weight"), VH, 1.0);
	{
		const char *p = "vision_tower.transformer.layers.0";

		mk_vec(l, mk_fmt("%s.attention_norm.weight", p), VH, 1.0);
		mk_vec(l, mk_fmt("%s.ffn_norm.weight", p), VH, 1.0);
		mk_mat(l, mk_fmt("%s.attention.q_proj.weight", p), VH, VH);
		mk_mat(l, mk_fmt("%s.attention.k_proj.weight", p), VH, VH);
		mk_mat(l, mk_fmt("%s.attention.v_proj.weight", p), VH, VH);
		mk_mat(l, mk_fmt("%s.attention.o_proj.weight", p), VH, VH);
		mk_mat(l, mk_fmt("%s.feed_forward.gate_proj.weight", p), vi,
		       VH);
		mk_mat(l, mk_fmt("%s.feed_forward.up_proj.weight", p), vi, VH);
		mk_mat(l, mk_fmt("%s.feed_forward.down_proj.weight", p), VH,
		       vi);
	}
	mk_vec(l, mk_fmt("multi_modal_projector.norm.weight"), VH, 1.0);
	mk_mat(l,
	       mk_fmt("multi_modal_projector.patch_merger.merging_layer."
		      "weight"),
	       VH, VH * MERGE * MERGE);
	mk_mat(l, mk_fmt("multi_modal_projector.linear_1.weight"), HIDDEN, VH);
	mk_mat(l, mk_fmt("multi_modal_projector.linear_2.weight"), HIDDEN,
	       HIDDEN);

	m->pat = json_object();
	json_object_set_new(m->pat, "language_model.lm_head", json_array());
	json_object_set_new(m->pat, "language_model.model.embed_tokens",
			    json_array());
	json_object_set_new(m->pat, lk,
			    STRS("self_attn.q_proj", "self_attn.k_proj",
				 "self_attn.v_proj", "self_attn.o_proj",
				 "mlp.gate_proj", "mlp.up_proj",
				 "mlp.down_proj"));
	json_object_set_new(
	    m->pat, vk,
	    STRS("attention.q_proj", "attention.k_proj", "attention.v_proj",
		 "attention.o_proj", "feed_forward.gate_proj",
		 "feed_forward.up_proj", "feed_forward.down_proj"));
	json_object_set_new(
	    m->pat, "multi_modal_projector",
	    STRS("patch_merger.merging_layer", "linear_1", "linear_2"));
	mk_unit_add(m, "language_model.lm_head", "language_model.lm_head", -1);
	mk_unit_add(m, "language_model.model.embed_tokens",
		    "language_model.model.embed_tokens", -1);
	for (long i = 0; i < LAYERS; i++)
		mk_unit_add(m, lk, "language_model.model.layers", i);
	mk_unit_add(m, vk, "vision_tower.transformer.layers", 0);
	mk_unit_add(m, "multi_modal_projector", "multi_modal_projector", -1);
	m->cfg = json_pack(
	    "{s:[s], s:i, s:s, s:b, s:s, s:i, "
	    "s:{s:f, s:i, s:s, s:i, s:f, s:i, s:i, s:s, s:i, s:i, s:i, s:f, "
	    "s:f, s:n, s:i}, "
	    "s:s, s:s, "
	    "s:{s:f, s:i, s:s, s:i, s:i, s:i, s:s, s:i, s:i, s:i, s:i, s:f}, "
	    "s:i}",
	    "architectures", "Mistral3ForConditionalGeneration",
	    "image_token_index", 10, "model_type", "mistral3",
	    "multimodal_projector_bias", 0, "projector_hidden_act", "gelu",
	    "spatial_merge_size", MERGE, "text_config", "attention_dropout",
	    0.0, "head_dim", (int)hd, "hidden_act", "silu", "hidden_size",
	    HIDDEN, "initializer_range", 0.02, "intermediate_size", INTER,
	    "max_position_embeddings", 131072, "model_type", "mistral",
	    "num_attention_heads", HEADS, "num_hidden_layers", LAYERS,
	    "num_key_value_heads", KV, "rms_norm_eps", 1e-05, "rope_theta",
	    1000000000.0, "sliding_window", "vocab_size", VOCAB, "torch_dtype",
	    "bfloat16", "transformers_version", "4.51.3", "vision_config",
	    "attention_dropout", 0.0, "head_dim", VH / VHEADS, "hidden_act",
	    "silu", "hidden_size", VH, "image_size", 16, "intermediate_size",
	    (int)vi, "model_type", "pixtral", "num_attention_heads", VHEADS,
	    "num_channels", 3, "num_hidden_layers", 1, "patch_size", 4,
	    "rope_theta", 10000.0, "vision_feature_layer", -1);
}

/* a text decoder layer "@p" of Llama 4: the attention and two norms */
static void llama4_attention(struct tlist *l, const char *p, uint64_t hd)
{
	mk_vec(l, mk_fmt("%s.input_layernorm.weight", p), HIDDEN, 1.0);
	mk_vec(l, mk_fmt("%s.post_attention_layernorm.weight", p), HIDDEN, 1.0);
	mk_mat(l, mk_fmt("%s.self_attn.q_proj.weight", p), HEADS * hd, HIDDEN);
	mk_mat(l, mk_fmt("%s.self_attn.k_proj.weight", p), KV * hd, HIDDEN);
	mk_mat(l, mk_fmt("%s.self_attn.v_proj.weight", p), KV * hd, HIDDEN);
	mk_mat(l, mk_fmt("%s.self_attn.o_proj.weight", p), HIDDEN, HEADS * hd);
}

/*
 * Llama 4 (Llama4ForConditionalGeneration checkpoint names): text
 * head_dim 24, layer 0 dense (intermediate_size_mlp 112), layer 1 MoE
 * (router, shared_expert of intermediate_size 48, plain 3-D experts); a
 * vision model of one layer, its adapter and the projector
 */
void mk_arch_llama4(struct model *m)
{
	const uint64_t hd = 24, inter = 48, inter_mlp = 112, experts = 3,
		       vi = 80, patch = 4, pin = 64, pout = 48, vout = 48;
	const char *dk = "language_model\\.model\\.layers\\.0",
		   *lk = "language_model\\.model\\.layers\\.\\d+",
		   *vk = "vision_model\\.model\\.layers\\.\\d+";
	const char *p0 = "language_model.model.layers.0",
		   *p1 = "language_model.model.layers.1",
		   *vp = "vision_model.model.layers.0";
	struct tlist *l = &m->orig;

	mk_mat(l, mk_fmt("language_model.model.embed_tokens.weight"), VOCAB,
	       HIDDEN);
	llama4_attention(l, p0, hd);
	mk_mat(l, mk_fmt("%s.feed_forward.gate_proj.weight", p0), inter_mlp,
	       HIDDEN);
	mk_mat(l, mk_fmt("%s.feed_forward.up_proj.weight", p0), inter_mlp,
	       HIDDEN);
	mk_mat(l, mk_fmt("%s.feed_forward.down_proj.weight", p0), HIDDEN,
	       inter_mlp);
	llama4_attention(l, p1, hd);
	mk_mat(l, mk_fmt("%s.feed_forward.router.weight", p1), experts, HIDDEN);
	mk_mat(l, mk_fmt("%s.feed_forward.shared_expert.gate_proj.weight", p1),
	       inter, HIDDEN);
	mk_mat(l, mk_fmt("%s.feed_forward.shared_expert.up_proj.weight", p1),
	       inter, HIDDEN);
	mk_mat(l, mk_fmt("%s.feed_forward.shared_expert.down_proj.weight", p1),
	       HIDDEN, inter);
	mk_nd(l, mk_fmt("%s.feed_forward.experts.gate_up_proj", p1), 3, experts,
	      HIDDEN, 2 * inter, 0);
	mk_nd(l, mk_fmt("%s.feed_forward.experts.down_proj", p1), 3, experts,
	      inter, HIDDEN, 0);
	mk_vec(l, mk_fmt("language_model.model.norm.weight"), HIDDEN, 1.0);
	mk_mat(l, mk_fmt("language_model.lm_head.weight"), VOCAB, HIDDEN);

	mk_mat(l, mk_fmt("vision_model.patch_embedding.linear.weight"), VH,
	       3 * patch * patch);
	mk_vec(l, mk_fmt("vision_model.class_embedding"), VH, 0.0);
	mk_mat(l, mk_fmt("vision_model.positional_embedding_vlm"), 17, VH);
	mk_vec(l, mk_fmt("vision_model.layernorm_pre.weight"), VH, 1.0);
	mk_vec(l, mk_fmt("vision_model.layernorm_pre.bias"), VH, 0.0);
	mk_vec(l, mk_fmt("vision_model.layernorm_post.weight"), VH, 1.0);
	mk_vec(l, mk_fmt("vision_model.layernorm_post.bias"), VH, 0.0);
	mk_vec(l, mk_fmt("%s.input_layernorm.weight", vp), VH, 1.0);
	mk_vec(l, mk_fmt("%s.input_layernorm.bias", vp), VH, 0.0);
	mk_vec(l, mk_fmt("%s.post_attention_layernorm.weight", vp), VH, 1.0);
	mk_vec(l, mk_fmt("%s.post_attention_layernorm.bias", vp), VH, 0.0);
	linear_b(l, "vision_model.model.layers.0.self_attn.q_proj", VH, VH);
	linear_b(l, "vision_model.model.layers.0.self_attn.k_proj", VH, VH);
	linear_b(l, "vision_model.model.layers.0.self_attn.v_proj", VH, VH);
	linear_b(l, "vision_model.model.layers.0.self_attn.o_proj", VH, VH);
	linear_b(l, "vision_model.model.layers.0.mlp.fc1", vi, VH);
	linear_b(l, "vision_model.model.layers.0.mlp.fc2", VH, vi);
	mk_mat(l, mk_fmt("vision_model.vision_adapter.mlp.fc1.weight"), pin,
	       vi);
	mk_mat(l, mk_fmt("vision_model.vision_adapter.mlp.fc2.weight"), pout,
	       pout);
	mk_mat(l, mk_fmt("multi_modal_projector.linear_1.weight"), HIDDEN,
	       vout);

	m->pat = json_object();
	json_object_set_new(m->pat, "language_model.lm_head", json_array());
	json_object_set_new(m->pat, "language_model.model.embed_tokens",
			    json_array());
	json_object_set_new(
	    m->pat, dk,
	    STRS("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
		 "self_attn.o_proj", "feed_forward.gate_proj",
		 "feed_forward.up_proj", "feed_forward.down_proj"));
	json_object_set_new(m->pat, lk,
			    STRS("self_attn.q_proj", "self_attn.k_proj",
				 "self_attn.v_proj", "self_attn.o_proj",
				 "feed_forward.router",
				 "feed_forward.shared_expert.gate_proj",
				 "feed_forward.shared_expert.up_proj",
				 "feed_forward.shared_expert.down_proj"));
	json_object_set_new(m->pat, vk,
			    STRS("self_attn.q_proj", "self_attn.k_proj",
				 "self_attn.v_proj", "self_attn.o_proj",
				 "mlp.fc1", "mlp.fc2"));
	json_object_set_new(m->pat, "vision_model.patch_embedding",
			    STRS("linear"));
	json_object_set_new(m->pat, "vision_model.vision_adapter",
			    STRS("mlp.fc1", "mlp.fc2"));
	json_object_set_new(m->pat, "multi_modal_projector", STRS("linear_1"));
	mk_unit_add(m, "language_model.lm_head", "language_model.lm_head", -1);
	mk_unit_add(m, "language_model.model.embed_tokens",
		    "language_model.model.embed_tokens", -1);
	mk_unit_add(m, dk, "language_model.model.layers", 0);
	mk_unit_add(m, lk, "language_model.model.layers", 1);
	mk_unit_add(m, vk, "vision_model.model.layers", 0);
	mk_unit_add(m, "vision_model.patch_embedding",
		    "vision_model.patch_embedding", -1);
	mk_unit_add(m, "vision_model.vision_adapter",
		    "vision_model.vision_adapter", -1);
	mk_unit_add(m, "multi_modal_projector", "multi_modal_projector", -1);
	m->cfg = json_pack(
	    "{s:[s], s:i, s:i, s:s, "
	    "s:{s:b, s:i, s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:i, s:i, s:i, "
	    "s:i, s:i, s:f, s:f, s:b, s:i}, "
	    "s:b, s:s, s:s, "
	    "s:{s:s, s:i, s:i, s:i, s:s, s:i, s:i, s:i, s:i, s:f, s:i, s:i, "
	    "s:f, s:i, s:i}}",
	    "architectures", "Llama4ForConditionalGeneration",
	    "boi_token_index", 200080, "image_token_index", 200092,
	    "model_type", "llama4", "text_config", "attention_bias", 0,
	    "head_dim", (int)hd, "hidden_act", "silu", "hidden_size", HIDDEN,
	    "interleave_moe_layer_step", 2, "intermediate_size", (int)inter,
	    "intermediate_size_mlp", (int)inter_mlp, "max_position_embeddings",
	    10485760, "model_type", "llama4_text", "num_attention_heads", HEADS,
	    "num_experts_per_tok", 1, "num_hidden_layers", LAYERS,
	    "num_key_value_heads", KV, "num_local_experts", (int)experts,
	    "rms_norm_eps", 1e-05, "rope_theta", 500000.0, "use_qk_norm", 1,
	    "vocab_size", VOCAB, "tie_word_embeddings", 0, "torch_dtype",
	    "bfloat16", "transformers_version", "4.51.3", "vision_config",
	    "hidden_act", "gelu", "hidden_size", VH, "image_size", 16,
	    "intermediate_size", (int)vi, "model_type", "llama4_vision_model",
	    "num_attention_heads", VHEADS, "num_channels", 3,
	    "num_hidden_layers", 1, "patch_size", (int)patch,
	    "pixel_shuffle_ratio", 0.5, "projector_input_dim", (int)pin,
	    "projector_output_dim", (int)pout, "rope_theta", 10000.0,
	    "vision_output_dim", (int)vout, "vision_feature_layer", -1);
}
