/* SPDX-License-Identifier: MIT */
/*
 * official/families.c - the shape rules of every known architecture, as
 * data (official/shapes.c applies them)
 *
 * One table per family, found by the architecture config's "model_type"
 * (transformers) or "_class_name" (diffusers). A table has
 *
 *  - vars: named integers, each a list of alternatives separated by '|';
 *    the first alternative whose names all resolve is taken. A name is a
 *    var of the same table or a positive integer key of the config (of
 *    its "text_config" when the family says so; a whole real such as
 *    4.0 counts, as Python's int(dim * 4.0)); keys joined by '.' name
 *    nested objects ("vision_config.hidden_size"), a number an array
 *    element ("patch_size.0"). Expressions are integers and names
 *    joined by '+', '*' and '/' (floor division, as Python's "//" in the
 *    model code), '*' and '/' binding tighter and taken left to right, no
 *    brackets (a var is one: "ff_up / 256 * 256" rounds ff_up down).
 *  - rules: a module path pattern and the [rows, cols] of its nn.Linear
 *    or nn.Embedding weight. A pattern matches the end of the piece's
 *    module path at a '.' boundary ('^' in front: the whole path); '*'
 *    matches one path component. The first rule that matches is used.
 *
 * Adding a family is a table here plus a test. A shape goes in only when
 * the model code that builds the module is public and was read: a wrong
 * shape is worse than a refusal (docs/OFFICIAL.md lists what is covered).
 */
#include <stddef.h>

#include "official/official_i.h"

/*
 * transformers decoder-only LLMs: Llama, Mistral, Qwen2/3, Gemma, Phi-3;
 * and Qwen2-VL / Qwen2.5-VL (modeling_qwen2_vl.py, modeling_qwen2_5_vl.py),
 * whose text model is Qwen2's (head_dim = hidden / heads, q/k/v biases)
 * and whose vision tower and merger are nn.Linear layers that all have a
 * bias (qkv, proj, fc1/fc2 or gate/up/down_proj, merger.mlp.0/2): the bias
 * gives their shapes, never these rules. And GPT-OSS (modeling_gpt_oss.py):
 * head_dim given, q/k/v/o of the LLM sizes (with biases), embed_tokens and
 * lm_head; its routed experts are 3-D nn.Parameters (gate_up_proj [E,
 * hidden, 2 * intermediate], down_proj [E, intermediate, hidden]) that the
 * official compressor cannot make pieces of (it takes the .weight of a
 * module), so they are plain tensors; its router has a bias.
 */
static const struct off_var llm_vars[] = {
    {"hidden", "hidden_size"},
    {"heads", "num_attention_heads"},
    {"kv", "num_key_value_heads | heads"},
    {"head_dim", "head_dim | hidden / heads"},
    {"inter", "intermediate_size"},
    {"vocab", "vocab_size"},
    {NULL, NULL},
};

static const struct off_rule llm_rules[] = {
    {"q_proj", "heads * head_dim", "hidden"},
    {"k_proj", "kv * head_dim", "hidden"},
    {"v_proj", "kv * head_dim", "hidden"},
    {"o_proj", "hidden", "heads * head_dim"},
    {"qkv_proj", "heads * head_dim + 2 * kv * head_dim", "hidden"},
    {"gate_proj", "inter", "hidden"},
    {"up_proj", "inter", "hidden"},
    {"gate_up_proj", "2 * inter", "hidden"},
    {"down_proj", "hidden", "inter"},
    {"embed_tokens", "vocab", "hidden"},
    {"lm_head", "vocab", "hidden"},
    {NULL, NULL, NULL},
};

static const char *const llm_names[] = {
    "llama",	  "mistral", "qwen2",	    "qwen3", "gemma",
    "gemma2",	  "gemma3",  "gemma3_text", "phi3",  "qwen2_vl",
    "qwen2_5_vl", "gpt_oss", NULL,
};

/*
 * diffusers FluxTransformer2DModel (transformer_flux.py): inner = heads *
 * head_dim; double blocks: AdaLayerNormZero (6 * inner), attention with
 * added k/v/q projections, FeedForward mult 4 (GELU proj); single blocks:
 * AdaLayerNormZeroSingle (3 * inner), mlp_ratio 4, proj_out over the
 * concatenated attention and MLP outputs. The embedders: timesteps are
 * projected to 256 channels; out_channels null means in_channels.
 */
static const struct off_var flux_vars[] = {
    {"inner", "num_attention_heads * attention_head_dim"},
    {"mlp", "4 * inner"},
    {"out", "out_channels | in_channels"},
    {NULL, NULL},
};

static const struct off_rule flux_rules[] = {
    {"transformer_blocks.*.norm1.linear", "6 * inner", "inner"},
    {"transformer_blocks.*.norm1_context.linear", "6 * inner", "inner"},
    {"transformer_blocks.*.ff.net.0.proj", "4 * inner", "inner"},
    {"transformer_blocks.*.ff.net.2", "inner", "4 * inner"},
    {"transformer_blocks.*.ff_context.net.0.proj", "4 * inner", "inner"},
    {"transformer_blocks.*.ff_context.net.2", "inner", "4 * inner"},
    {"single_transformer_blocks.*.norm.linear", "3 * inner", "inner"},
    {"single_transformer_blocks.*.proj_mlp", "mlp", "inner"},
    {"single_transformer_blocks.*.proj_out", "inner", "inner + mlp"},
    {"attn.to_q", "inner", "inner"},
    {"attn.to_k", "inner", "inner"},
    {"attn.to_v", "inner", "inner"},
    {"attn.add_q_proj", "inner", "inner"},
    {"attn.add_k_proj", "inner", "inner"},
    {"attn.add_v_proj", "inner", "inner"},
    {"attn.to_out.0", "inner", "inner"},
    {"attn.to_add_out", "inner", "inner"},
    {"^x_embedder", "inner", "in_channels"},
    {"^context_embedder", "inner", "joint_attention_dim"},
    {"^norm_out.linear", "2 * inner", "inner"},
    {"^proj_out", "patch_size * patch_size * out", "inner"},
    {"^time_text_embed.timestep_embedder.linear_1", "inner", "256"},
    {"^time_text_embed.guidance_embedder.linear_1", "inner", "256"},
    {"^time_text_embed.text_embedder.linear_1", "inner",
     "pooled_projection_dim"},
    {"^time_text_embed.*.linear_2", "inner", "inner"},
    {NULL, NULL, NULL},
};

static const char *const flux_names[] = {"FluxTransformer2DModel", NULL};

/*
 * transformers MixtralForCausalLM (modeling_mixtral.py, checkpoint names):
 * the LLM attention; per layer a router block_sparse_moe.gate
 * [num_local_experts, hidden] and experts w1, w3 [intermediate, hidden],
 * w2 [hidden, intermediate].
 */
static const struct off_var mixtral_vars[] = {
    {"hidden", "hidden_size"},
    {"heads", "num_attention_heads"},
    {"kv", "num_key_value_heads | heads"},
    {"head_dim", "head_dim | hidden / heads"},
    {"inter", "intermediate_size"},
    {"vocab", "vocab_size"},
    {"experts", "num_local_experts"},
    {NULL, NULL},
};

static const struct off_rule mixtral_rules[] = {
    {"block_sparse_moe.gate", "experts", "hidden"},
    {"block_sparse_moe.experts.*.w1", "inter", "hidden"},
    {"block_sparse_moe.experts.*.w3", "inter", "hidden"},
    {"block_sparse_moe.experts.*.w2", "hidden", "inter"},
    {NULL, NULL, NULL},
};

static const char *const mixtral_names[] = {"mixtral", NULL};

/*
 * transformers Qwen3MoeForCausalLM (modeling_qwen3_moe.py): the Qwen3
 * attention; sparse layers have a router mlp.gate [num_experts, hidden]
 * and experts mlp.experts.N.{gate,up,down}_proj of moe_intermediate_size;
 * dense layers (mlp_only_layers, decoder_sparse_step) an MLP of
 * intermediate_size, which the LLM rules give.
 */
static const struct off_var qwen3_moe_vars[] = {
    {"hidden", "hidden_size"},
    {"heads", "num_attention_heads"},
    {"kv", "num_key_value_heads | heads"},
    {"head_dim", "head_dim | hidden / heads"},
    {"inter", "intermediate_size"},
    {"vocab", "vocab_size"},
    {"moe", "moe_intermediate_size"},
    {"experts", "num_experts"},
    {NULL, NULL},
};

static const struct off_rule qwen3_moe_rules[] = {
    {"mlp.gate", "experts", "hidden"},
    {"mlp.experts.*.gate_proj", "moe", "hidden"},
    {"mlp.experts.*.up_proj", "moe", "hidden"},
    {"mlp.experts.*.down_proj", "hidden", "moe"},
    {NULL, NULL, NULL},
};

static const char *const qwen3_moe_names[] = {"qwen3_moe", NULL};

/*
 * transformers Mistral3ForConditionalGeneration (modeling_mistral3.py,
 * modeling_pixtral.py). The language model is Mistral's, sized by
 * text_config (the LLM rules). The Pixtral vision tower, sized by
 * vision_config: attention.{q,k,v,o}_proj [vh, vh] (whatever
 * vision_config.head_dim says) and feed_forward.{gate,up}_proj [vinter,
 * vh], down_proj [vh, vinter], none with a bias. The projector:
 * patch_merger.merging_layer [vh, vh * spatial_merge_size^2] and
 * linear_1 [hidden, vh] for one vision_feature_layer (a list of them
 * multiplies the columns: the product differs and the model is
 * refused), linear_2 [hidden, hidden].
 */
static const struct off_var mistral3_vars[] = {
    {"hidden", "text_config.hidden_size"},
    {"heads", "text_config.num_attention_heads"},
    {"kv", "text_config.num_key_value_heads | heads"},
    {"head_dim", "text_config.head_dim | hidden / heads"},
    {"inter", "text_config.intermediate_size"},
    {"vocab", "text_config.vocab_size"},
    {"vh", "vision_config.hidden_size"},
    {"vinter", "vision_config.intermediate_size"},
    {"merge", "spatial_merge_size"},
    {NULL, NULL},
};

static const struct off_rule mistral3_rules[] = {
    {"vision_tower.transformer.layers.*.attention.q_proj", "vh", "vh"},
    {"vision_tower.transformer.layers.*.attention.k_proj", "vh", "vh"},
    {"vision_tower.transformer.layers.*.attention.v_proj", "vh", "vh"},
    {"vision_tower.transformer.layers.*.attention.o_proj", "vh", "vh"},
    {"vision_tower.transformer.layers.*.feed_forward.gate_proj", "vinter",
     "vh"},
    {"vision_tower.transformer.layers.*.feed_forward.up_proj", "vinter", "vh"},
    {"vision_tower.transformer.layers.*.feed_forward.down_proj", "vh",
     "vinter"},
    {"multi_modal_projector.patch_merger.merging_layer", "vh",
     "vh * merge * merge"},
    {"multi_modal_projector.linear_1", "hidden", "vh"},
    {"multi_modal_projector.linear_2", "hidden", "hidden"},
    {NULL, NULL, NULL},
};

static const char *const mistral3_names[] = {"mistral3", NULL};

/*
 * transformers DeepseekV3ForCausalLM (modeling_deepseek_v3.py): MLA
 * attention, qk = qk_nope_head_dim + qk_rope_head_dim per head. With a
 * q_lora_rank: q_a_proj [q_lora_rank, hidden], q_b_proj [heads * qk,
 * q_lora_rank]; without (null): q_proj [heads * qk, hidden].
 * kv_a_proj_with_mqa [kv_lora_rank + qk_rope_head_dim, hidden], kv_b_proj
 * [heads * (qk_nope_head_dim + v_head_dim), kv_lora_rank], o_proj
 * [hidden, heads * v_head_dim]. Layers from first_k_dense_replace on are
 * MoE: the router mlp.gate [n_routed_experts, hidden], experts of
 * moe_intermediate_size, shared_experts of moe_intermediate_size *
 * n_shared_experts; the dense layers before them, the embedding and
 * lm_head by the LLM rules.
 */
static const struct off_var deepseek_v3_vars[] = {
    {"hidden", "hidden_size"},
    {"heads", "num_attention_heads"},
    {"qk", "qk_nope_head_dim + qk_rope_head_dim"},
    {"inter", "intermediate_size"},
    {"vocab", "vocab_size"},
    {"moe", "moe_intermediate_size"},
    {"shared", "moe_intermediate_size * n_shared_experts"},
    {"experts", "n_routed_experts"},
    {NULL, NULL},
};

static const struct off_rule deepseek_v3_rules[] = {
    {"self_attn.q_proj", "heads * qk", "hidden"},
    {"self_attn.q_a_proj", "q_lora_rank", "hidden"},
    {"self_attn.q_b_proj", "heads * qk", "q_lora_rank"},
    {"self_attn.kv_a_proj_with_mqa", "kv_lora_rank + qk_rope_head_dim",
     "hidden"},
    {"self_attn.kv_b_proj", "heads * qk_nope_head_dim + heads * v_head_dim",
     "kv_lora_rank"},
    {"self_attn.o_proj", "hidden", "heads * v_head_dim"},
    {"mlp.gate", "experts", "hidden"},
    {"mlp.experts.*.gate_proj", "moe", "hidden"},
    {"mlp.experts.*.up_proj", "moe", "hidden"},
    {"mlp.experts.*.down_proj", "hidden", "moe"},
    {"mlp.shared_experts.gate_proj", "shared", "hidden"},
    {"mlp.shared_experts.up_proj", "shared", "hidden"},
    {"mlp.shared_experts.down_proj", "hidden", "shared"},
    {NULL, NULL, NULL},
};

static const char *const deepseek_v3_names[] = {"deepseek_v3", NULL};

/*
 * transformers Llama4ForConditionalGeneration and Llama4ForCausalLM
 * (modeling_llama4.py), sized by text_config (model_type llama4) or the
 * config itself (llama4_text). The attention, embed_tokens and lm_head
 * are the LLM rules (head_dim given). MoE layers: feed_forward.router
 * (an nn.Linear) [num_local_experts, hidden], feed_forward.shared_expert
 * of intermediate_size; the routed experts are 3-D nn.Parameters
 * (gate_up_proj [E, hidden, 2 * intermediate_size], down_proj [E,
 * intermediate_size, hidden]) that the official compressor cannot make
 * pieces of, so they are plain tensors. Dense layers: feed_forward of
 * intermediate_size_mlp. The vision model (vision_config): attention and
 * MLP have biases; patch_embedding.linear [vh, num_channels * patch^2],
 * vision_adapter.mlp.fc1 [projector_input_dim, intermediate_size], fc2
 * [projector_output_dim, projector_output_dim], and
 * multi_modal_projector.linear_1 [hidden, vision_output_dim] have none.
 */
static const struct off_var llama4_vars[] = {
    {"hidden", "text_config.hidden_size | hidden_size"},
    {"heads", "text_config.num_attention_heads | num_attention_heads"},
    {"kv", "text_config.num_key_value_heads | num_key_value_heads | heads"},
    {"head_dim", "text_config.head_dim | head_dim | hidden / heads"},
    {"inter", "text_config.intermediate_size | intermediate_size"},
    {"inter_mlp", "text_config.intermediate_size_mlp | intermediate_size_mlp"},
    {"vocab", "text_config.vocab_size | vocab_size"},
    {"experts", "text_config.num_local_experts | num_local_experts"},
    {"vh", "vision_config.hidden_size"},
    {"vi", "vision_config.intermediate_size"},
    {"patch_in", "vision_config.num_channels * vision_config.patch_size * "
		 "vision_config.patch_size"},
    {"proj_in", "vision_config.projector_input_dim"},
    {"proj_out", "vision_config.projector_output_dim"},
    {"vout", "vision_config.vision_output_dim"},
    {NULL, NULL},
};

static const struct off_rule llama4_rules[] = {
    {"feed_forward.router", "experts", "hidden"},
    {"feed_forward.shared_expert.gate_proj", "inter", "hidden"},
    {"feed_forward.shared_expert.up_proj", "inter", "hidden"},
    {"feed_forward.shared_expert.down_proj", "hidden", "inter"},
    {"feed_forward.gate_proj", "inter_mlp", "hidden"},
    {"feed_forward.up_proj", "inter_mlp", "hidden"},
    {"feed_forward.down_proj", "hidden", "inter_mlp"},
    {"vision_model.patch_embedding.linear", "vh", "patch_in"},
    {"vision_model.vision_adapter.mlp.fc1", "proj_in", "vi"},
    {"vision_model.vision_adapter.mlp.fc2", "proj_out", "proj_out"},
    {"multi_modal_projector.linear_1", "hidden", "vout"},
    {NULL, NULL, NULL},
};

static const char *const llama4_names[] = {"llama4", "llama4_text", NULL};

/*
 * diffusers HiDreamImageTransformer2DModel (transformer_hidream_image.py):
 * every nn.Linear of the attention, adaLN_modulation and the embedders
 * has a bias (the bias rule); the SwiGLU feed-forwards have none. A
 * HiDreamImageFeedForwardSwiGLU(dim, hidden) has w1, w3 [h, dim] and w2
 * [dim, h], h = int(2 * hidden / 3) rounded up to a multiple of 256:
 * ff_t, a dense ff_i and each routed expert are built with hidden = 4 *
 * dim, the shared experts with 2 * dim; the router ff_i.gate (MoEGate)
 * is [num_routed_experts, dim]. dim = heads * head_dim. The blocks sit
 * under HiDreamBlock's "block". Not covered: caption_projection.N.linear
 * (no bias) takes caption_channels[1] except the last, caption_channels[0],
 * which a pattern cannot tell apart.
 */
static const struct off_var hidream_vars[] = {
    {"inner", "num_attention_heads * attention_head_dim"},
    {"ff_up", "8 * inner / 3 + 255"},
    {"ff", "ff_up / 256 * 256"},
    {"sh_up", "4 * inner / 3 + 255"},
    {"sh", "sh_up / 256 * 256"},
    {NULL, NULL},
};

static const struct off_rule hidream_rules[] = {
    {"ff_i.experts.*.w1", "ff", "inner"},
    {"ff_i.experts.*.w3", "ff", "inner"},
    {"ff_i.experts.*.w2", "inner", "ff"},
    {"ff_i.shared_experts.w1", "sh", "inner"},
    {"ff_i.shared_experts.w3", "sh", "inner"},
    {"ff_i.shared_experts.w2", "inner", "sh"},
    {"ff_i.gate", "num_routed_experts", "inner"},
    {"ff_i.w1", "ff", "inner"},
    {"ff_i.w3", "ff", "inner"},
    {"ff_i.w2", "inner", "ff"},
    {"ff_t.w1", "ff", "inner"},
    {"ff_t.w3", "ff", "inner"},
    {"ff_t.w2", "inner", "ff"},
    {NULL, NULL, NULL},
};

static const char *const hidream_names[] = {"HiDreamImageTransformer2DModel",
					    NULL};

/*
 * diffusers CosmosTransformer3DModel (transformer_cosmos.py): hidden =
 * heads * head_dim; no compressed-size Linear of a block has a bias
 * (out_bias False, Attention's bias False). Per block: norm1/2/3
 * (CosmosAdaLayerNormZero) linear_1 [adaln_lora_dim, hidden], linear_2
 * [3 * hidden, adaln_lora_dim]; attn1 to_q/k/v, to_out.0 [hidden,
 * hidden]; attn2 (cross attention) to_q, to_out.0 [hidden, hidden],
 * to_k/v [hidden, text_embed_dim], the image context q_img/k_img/v_img
 * [hidden, hidden]; ff.net.0.proj [int(hidden * mlp_ratio), hidden],
 * ff.net.2 back. time_embed.t_embedder linear_1 [hidden, hidden],
 * linear_2 [3 * hidden, hidden]; norm_out linear_1 [adaln_lora_dim,
 * hidden], linear_2 [2 * hidden, adaln_lora_dim]; proj_out [prod(
 * patch_size) * out_channels, hidden]. Not covered: patch_embed.proj,
 * whose columns count the padding mask channel only when
 * concat_padding_mask is true.
 */
static const struct off_var cosmos_vars[] = {
    {"hidden", "num_attention_heads * attention_head_dim"},
    {"lora", "adaln_lora_dim"},
    {"mlp", "mlp_ratio * hidden"},
    {"text", "text_embed_dim"},
    {"patch", "patch_size.0 * patch_size.1 * patch_size.2"},
    {NULL, NULL},
};

static const struct off_rule cosmos_rules[] = {
    {"transformer_blocks.*.norm1.linear_1", "lora", "hidden"},
    {"transformer_blocks.*.norm2.linear_1", "lora", "hidden"},
    {"transformer_blocks.*.norm3.linear_1", "lora", "hidden"},
    {"transformer_blocks.*.norm1.linear_2", "3 * hidden", "lora"},
    {"transformer_blocks.*.norm2.linear_2", "3 * hidden", "lora"},
    {"transformer_blocks.*.norm3.linear_2", "3 * hidden", "lora"},
    {"transformer_blocks.*.attn1.to_q", "hidden", "hidden"},
    {"transformer_blocks.*.attn1.to_k", "hidden", "hidden"},
    {"transformer_blocks.*.attn1.to_v", "hidden", "hidden"},
    {"transformer_blocks.*.attn1.to_out.0", "hidden", "hidden"},
    {"transformer_blocks.*.attn2.to_q", "hidden", "hidden"},
    {"transformer_blocks.*.attn2.to_k", "hidden", "text"},
    {"transformer_blocks.*.attn2.to_v", "hidden", "text"},
    {"transformer_blocks.*.attn2.to_out.0", "hidden", "hidden"},
    {"transformer_blocks.*.attn2.q_img", "hidden", "hidden"},
    {"transformer_blocks.*.attn2.k_img", "hidden", "hidden"},
    {"transformer_blocks.*.attn2.v_img", "hidden", "hidden"},
    {"transformer_blocks.*.ff.net.0.proj", "mlp", "hidden"},
    {"transformer_blocks.*.ff.net.2", "hidden", "mlp"},
    {"^time_embed.t_embedder.linear_1", "hidden", "hidden"},
    {"^time_embed.t_embedder.linear_2", "3 * hidden", "hidden"},
    {"^norm_out.linear_1", "lora", "hidden"},
    {"^norm_out.linear_2", "2 * hidden", "lora"},
    {"^proj_out", "patch * out_channels", "hidden"},
    {NULL, NULL, NULL},
};

static const char *const cosmos_names[] = {"CosmosTransformer3DModel", NULL};

const struct off_family off_families[] = {
    {llm_names, "text_config", llm_vars, llm_rules, NULL},
    {flux_names, NULL, flux_vars, flux_rules, NULL},
    {mixtral_names, NULL, mixtral_vars, mixtral_rules, llm_rules},
    {qwen3_moe_names, NULL, qwen3_moe_vars, qwen3_moe_rules, llm_rules},
    {mistral3_names, NULL, mistral3_vars, mistral3_rules, llm_rules},
    {deepseek_v3_names, NULL, deepseek_v3_vars, deepseek_v3_rules, llm_rules},
    {llama4_names, NULL, llama4_vars, llama4_rules, llm_rules},
    {hidream_names, NULL, hidream_vars, hidream_rules, NULL},
    {cosmos_names, NULL, cosmos_vars, cosmos_rules, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};
