/* SPDX-License-Identifier: MIT */
/*
 * tests/official/mkofficial_dit.c - the diffusion transformers of
 * mkofficial whose compressed pieces are not all shaped by a bias:
 * HiDream (SwiGLU feed-forwards without biases: routed and shared
 * experts, the MoE router, ff_t) and Cosmos (no Linear of a block has a
 * bias), with the tensor names of diffusers transformer_hidream_image.py
 * and transformer_cosmos.py. HiDream's dim = 2 * 50 = 100 makes the
 * experts' hidden size int(8 * 100 / 3) = 266 round up to 512 and the
 * shared experts' int(4 * 100 / 3) = 133 to 256, so a rule that skips
 * the rounding, or mixes the two, gets the element count wrong.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "tests/official/mkofficial_i.h"

#define MAX_ATTR 32

/* a Linear [@r, @c] with a bias, as "@p.@s.weight" and "@p.@s.bias" */
static void linear_b(struct tlist *l, const char *p, const char *s, uint64_t r,
		     uint64_t c)
{
	mk_mat(l, mk_fmt("%s.%s.weight", p, s), r, c);
	mk_vec(l, mk_fmt("%s.%s.bias", p, s), r, 0.0);
}

/* a SwiGLU feed-forward "@p.@s" of hidden size @h: w1, w3 [h, d], w2 */
static void swiglu(struct tlist *l, const char *p, const char *s, uint64_t d,
		   uint64_t h)
{
	mk_mat(l, mk_fmt("%s.%s.w1.weight", p, s), h, d);
	mk_mat(l, mk_fmt("%s.%s.w2.weight", p, s), d, h);
	mk_mat(l, mk_fmt("%s.%s.w3.weight", p, s), h, d);
}

/* a JSON array of the @n strings @v (taken) */
static json_t *attrs(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_array_append_new(a, json_string(v[i]));
		free(v[i]);
	}
	return a;
}

/* one HiDream block at @p (@dbl: double stream) and its attribute list */
static json_t *hidream_block(struct tlist *l, const char *p, int dbl,
			     uint64_t d, uint64_t ff, uint64_t sh,
			     unsigned experts)
{
	static const char *const att[] = {"to_q", "to_k", "to_v", "to_out"};
	char *a[MAX_ATTR];
	size_t n = 0;

	linear_b(l, p, "block.adaLN_modulation.1", (dbl ? 12 : 6) * d, d);
	a[n++] = mk_fmt("block.adaLN_modulation.1");
	for (int t = 0; t <= dbl; t++) {
		for (unsigned i = 0; i < 4; i++) {
			char *s =
			    mk_fmt("block.attn1.%s%s", att[i], t ? "_t" : "");

			linear_b(l, p, s, d, d);
			a[n++] = s;
		}
		mk_vec(l,
		       mk_fmt("%s.block.attn1.q_rms_norm%s.weight", p,
			      t ? "_t" : ""),
		       d, 1.0);
		mk_vec(l,
		       mk_fmt("%s.block.attn1.k_rms_norm%s.weight", p,
			      t ? "_t" : ""),
		       d, 1.0);
	}
	swiglu(l, p, "block.ff_i.shared_experts", d, sh);
	for (unsigned e = 0; e < experts; e++) {
		char *s = mk_fmt("block.ff_i.experts.%u", e);

		swiglu(l, p, s, d, ff);
		for (unsigned w = 1; w <= 3; w++)
			a[n++] = mk_fmt("%s.w%u", s, w);
		free(s);
	}
	mk_mat(l, mk_fmt("%s.block.ff_i.gate.weight", p), experts, d);
	a[n++] = mk_fmt("block.ff_i.gate");
	for (unsigned w = 1; w <= 3; w++)
		a[n++] = mk_fmt("block.ff_i.shared_experts.w%u", w);
	if (dbl) {
		swiglu(l, p, "block.ff_t", d, ff);
		for (unsigned w = 1; w <= 3; w++)
			a[n++] = mk_fmt("block.ff_t.w%u", w);
	}
	return attrs(a, n);
}

/* HiDream-I1 style: one double and one single stream block, 2 experts */
void mk_arch_hidream(struct model *m)
{
	const uint64_t d = 100, ff = 512, sh = 256, in = 16, patch = 2,
		       text = 48, cap = 40;
	const unsigned experts = 2;
	const char *dk = "double_stream_blocks\\.\\d+",
		   *sk = "single_stream_blocks\\.\\d+";
	struct tlist *l = &m->orig;
	json_t *da, *sa;

	linear_b(l, "t_embedder", "timestep_embedder.linear_1", d, 256);
	linear_b(l, "t_embedder", "timestep_embedder.linear_2", d, d);
	linear_b(l, "p_embedder", "pooled_embedder.linear_1", d, text);
	linear_b(l, "p_embedder", "pooled_embedder.linear_2", d, d);
	linear_b(l, "x_embedder", "proj", d, in * patch * patch);
	da = hidream_block(l, "double_stream_blocks.0", 1, d, ff, sh, experts);
	sa = hidream_block(l, "single_stream_blocks.0", 0, d, ff, sh, experts);
	linear_b(l, "final_layer", "linear", patch * patch * in, d);
	linear_b(l, "final_layer", "adaLN_modulation.1", 2 * d, d);
	for (unsigned i = 0; i < 3; i++)
		mk_mat(l, mk_fmt("caption_projection.%u.linear.weight", i), d,
		       cap);

	m->diffusers = 1;
	m->pat = json_object();
	json_object_set_new(m->pat, dk, da);
	json_object_set_new(m->pat, sk, sa);
	mk_unit_add(m, dk, "double_stream_blocks", 0);
	mk_unit_add(m, sk, "single_stream_blocks", 0);
	m->cfg = json_pack(
	    "{s:s, s:s, s:i, s:[i,i,i], s:[i,i], s:i, s:[i,i], s:[i,i], s:i, "
	    "s:i, s:i, s:i, s:i, s:i, s:i}",
	    "_class_name", "HiDreamImageTransformer2DModel",
	    "_diffusers_version", "0.33.1", "attention_head_dim", 50,
	    "axes_dims_rope", 26, 12, 12, "caption_channels", (int)cap,
	    (int)cap, "in_channels", (int)in, "llama_layers", 0, 1,
	    "max_resolution", 16, 16, "num_activated_experts", 1,
	    "num_attention_heads", 2, "num_layers", 1, "num_routed_experts",
	    (int)experts, "num_single_layers", 1, "out_channels", (int)in,
	    "patch_size", (int)patch, "text_emb_dim", (int)text);
}

/* a Linear [@r, @c] without a bias, "@p.@s.weight", and its attribute */
static void linear(struct tlist *l, const char *p, const char *s, uint64_t r,
		   uint64_t c, char **a, size_t *n)
{
	mk_mat(l, mk_fmt("%s.%s.weight", p, s), r, c);
	a[(*n)++] = mk_fmt("%s", s);
}

/*
 * Cosmos (Predict2.5 style: image context in the cross attention): hidden
 * 2 * 24 = 48, adaln_lora_dim 16, mlp_ratio 4.0 (a real), text_embed_dim
 * 40, patch_size [1, 2, 2]; no Linear of a block has a bias
 */
void mk_arch_cosmos(struct model *m)
{
	const uint64_t h = 48, hd = 24, lora = 16, mlp = 4 * h, text = 40,
		       in = 16, ctx_in = 32, ctx_out = 40;
	const char *bk = "transformer_blocks\\.\\d+";
	struct tlist *l = &m->orig;
	char *a[MAX_ATTR];
	size_t n = 0;

	mk_mat(l, mk_fmt("patch_embed.proj.weight"), h, (in + 1) * 4);
	linear(l, "time_embed.t_embedder", "linear_1", h, h, a, &n);
	linear(l, "time_embed.t_embedder", "linear_2", 3 * h, h, a, &n);
	m->pat = json_object();
	json_object_set_new(m->pat, "time_embed.t_embedder", attrs(a, n));
	mk_vec(l, mk_fmt("time_embed.norm.weight"), h, 1.0);
	for (unsigned b = 0; b < 2; b++) {
		char *p = mk_fmt("transformer_blocks.%u", b);

		n = 0;
		for (unsigned k = 1; k <= 3; k++) {
			char *s1 = mk_fmt("norm%u.linear_1", k),
			     *s2 = mk_fmt("norm%u.linear_2", k);

			linear(l, p, s1, lora, h, a, &n);
			linear(l, p, s2, 3 * h, lora, a, &n);
			free(s1);
			free(s2);
			if (k == 3)
				break;
			for (unsigned q = 0; q < 4; q++) {
				static const char *const w[] = {
				    "to_q", "to_k", "to_v", "to_out.0"};
				char *s = mk_fmt("attn%u.%s", k, w[q]);

				linear(l, p, s, h,
				       k == 2 && (q == 1 || q == 2) ? text : h,
				       a, &n);
				free(s);
			}
			mk_vec(l, mk_fmt("%s.attn%u.norm_q.weight", p, k), hd,
			       1.0);
			mk_vec(l, mk_fmt("%s.attn%u.norm_k.weight", p, k), hd,
			       1.0);
		}
		linear(l, p, "attn2.q_img", h, h, a, &n);
		linear(l, p, "attn2.k_img", h, h, a, &n);
		linear(l, p, "attn2.v_img", h, h, a, &n);
		mk_vec(l, mk_fmt("%s.attn2.q_img_norm.weight", p), hd, 1.0);
		mk_vec(l, mk_fmt("%s.attn2.k_img_norm.weight", p), hd, 1.0);
		linear(l, p, "ff.net.0.proj", mlp, h, a, &n);
		linear(l, p, "ff.net.2", h, mlp, a, &n);
		if (b == 0)
			json_object_set_new(m->pat, bk, attrs(a, n));
		else
			for (size_t i = 0; i < n; i++)
				free(a[i]);
		free(p);
	}
	n = 0;
	linear(l, "norm_out", "linear_1", lora, h, a, &n);
	linear(l, "norm_out", "linear_2", 2 * h, lora, a, &n);
	json_object_set_new(m->pat, "norm_out", attrs(a, n));
	mk_mat(l, mk_fmt("proj_out.weight"), 4 * in, h);
	json_object_set_new(m->pat, "proj_out", json_array());
	linear_b(l, "img_context_proj", "0", ctx_out, ctx_in);
	mk_unit_add(m, "time_embed.t_embedder", "time_embed.t_embedder", -1);
	mk_unit_add(m, bk, "transformer_blocks", 0);
	mk_unit_add(m, bk, "transformer_blocks", 1);
	mk_unit_add(m, "norm_out", "norm_out", -1);
	mk_unit_add(m, "proj_out", "proj_out", -1);
	m->diffusers = 1;
	m->cfg = json_pack(
	    "{s:s, s:s, s:i, s:i, s:b, s:i, s:n, s:i, s:i, s:i, s:i, s:i, "
	    "s:[i,i,i], s:f, s:i, s:i, s:[i,i,i], s:[f,f,f], s:i, s:b}",
	    "_class_name", "CosmosTransformer3DModel", "_diffusers_version",
	    "0.35.0", "adaln_lora_dim", (int)lora, "attention_head_dim",
	    (int)hd, "concat_padding_mask", 1, "crossattn_proj_in_channels",
	    1024, "extra_pos_embed_type", "img_context_dim_in", (int)ctx_in,
	    "img_context_dim_out", (int)ctx_out, "img_context_num_tokens", 8,
	    "encoder_hidden_states_channels", 1024, "in_channels", (int)in,
	    "max_size", 8, 16, 16, "mlp_ratio", 4.0, "num_attention_heads", 2,
	    "num_layers", 2, "patch_size", 1, 2, 2, "rope_scale", 1.0, 4.0, 4.0,
	    "text_embed_dim", (int)text, "use_crossattn_projection", 0);
	json_object_set_new(m->cfg, "out_channels", json_integer((int)in));
}
