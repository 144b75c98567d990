/* SPDX-License-Identifier: MIT */
/*
 * tests/official/mkofficial_dit2.c - the diffusion transformers of
 * mkofficial whose compressed pieces are all nn.Linear layers with a
 * bias, so that the bias alone shapes them (docs/OFFICIAL.md, Shapes 1):
 * Chroma, Wan 2.1/2.2, Qwen-Image and SD3.5, with the tensor names,
 * shapes, biases and block structure of diffusers' transformer_chroma.py,
 * transformer_wan.py, transformer_qwenimage.py and transformer_sd3.py
 * (and the Attention, FluxAttention, WanAttention, FeedForward,
 * AdaLayerNorm*, PixArtAlphaTextProjection, TimestepEmbedding and
 * PatchEmbed classes they build), and the pattern_dict of the model's
 * official DFloat11 release (Chroma-DF11, Wan2.1-T2V-14B-Diffusers-DF11
 * and the Wan2.2 releases, Qwen-Image-DF11, stable-diffusion-3.5-large-
 * DF11), attribute order included, as the releases' config.json publish
 * them (the official package's examples give only FLUX.1's). Hidden
 * sizes are 96 (3 heads of 32) and most pieces are not square, so a
 * transposed or wrong shape shows.
 *
 * No compressed piece of these four lacks a bias, so no shape rule table
 * is needed (official/families.c has none for them); which Linears stay
 * plain (embedders, norm_out, proj_out) does not matter to the reader.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "tests/official/mkofficial_i.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* a Linear [@r, @c] with its bias: "@p.@s.weight", "@p.@s.bias" (@p ""
 * for a module of the model itself) */
static void lin(struct tlist *l, const char *p, const char *s, uint64_t r,
		uint64_t c)
{
	const char *dot = *p ? "." : "";

	mk_mat(l, mk_fmt("%s%s%s.weight", p, dot, s), r, c);
	mk_vec(l, mk_fmt("%s%s%s.bias", p, dot, s), r, 0.0);
}

/* an RMSNorm (or LayerNorm without bias) weight "@p.@s.weight" [@n] */
static void norm(struct tlist *l, const char *p, const char *s, uint64_t n)
{
	mk_vec(l, mk_fmt("%s.%s.weight", p, s), n, 1.0);
}

/* a FeedForward "@p.@s" (GELU proj, then Linear), both with biases */
static void ff(struct tlist *l, const char *p, const char *s, uint64_t d,
	       uint64_t inner)
{
	char *a = mk_fmt("%s.net.0.proj", s), *b = mk_fmt("%s.net.2", s);

	lin(l, p, a, inner, d);
	lin(l, p, b, d, inner);
	free(a);
	free(b);
}

/*
 * The joint attention "@p.attn" of dim @d, heads of @hd: Attention or
 * FluxAttention with added_kv_proj_dim = dim, bias = True and qk_norm
 * "rms_norm" (per head): to_q/k/v, norm_q/k, add_q/k/v_proj,
 * norm_added_q/k, to_out.0 and, unless the context stream ends here
 * (context_pre_only, SD3's last block), to_add_out.
 */
static void joint_attn(struct tlist *l, const char *p, uint64_t d, uint64_t hd,
		       int add_out)
{
	static const char *const w[] = {
	    "to_q",	  "to_k",	"to_v",	   "add_q_proj",
	    "add_k_proj", "add_v_proj", "to_out.0"};
	char *a = mk_fmt("%s.attn", p);

	for (size_t i = 0; i < N_OF(w); i++)
		lin(l, a, w[i], d, d);
	if (add_out)
		lin(l, a, "to_add_out", d, d);
	norm(l, a, "norm_q", hd);
	norm(l, a, "norm_k", hd);
	norm(l, a, "norm_added_q", hd);
	norm(l, a, "norm_added_k", hd);
	free(a);
}

/* pattern_dict entry @key: the @n attribute names @v, in that order */
static void pat(struct model *m, const char *key, const char *const *v,
		size_t n)
{
	json_t *a = json_array();

	if (!m->pat)
		m->pat = json_object();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	json_object_set_new(m->pat, key, a);
}

/* FLUX-style double block order (also SD3.5's); Chroma drops the norms */
#define JOINT_ATTRS                                                            \
	"attn.to_q", "attn.to_k", "attn.to_v", "attn.add_k_proj",              \
	    "attn.add_v_proj", "attn.add_q_proj", "attn.to_out.0"

/*
 * ChromaTransformer2DModel: inner 3 * 32 = 96; the approximator
 * (distilled_guidance_layer: in_proj, 5 PixArtAlphaTextProjection layers
 * with RMSNorms, out_proj) is one unit of 12 pieces; double blocks are
 * FLUX's without the modulation Linears (ChromaAdaLayerNormZeroPruned has
 * none), single blocks proj_mlp [4 inner, inner], proj_out [inner,
 * 5 inner] and attention without to_out; no norm_out Linear.
 */
void mk_arch_chroma(struct model *m)
{
	static const char *const dbl[] = {
	    JOINT_ATTRS, "attn.to_add_out",	  "ff.net.0.proj",
	    "ff.net.2",	 "ff_context.net.0.proj", "ff_context.net.2"};
	static const char *const sgl[] = {"proj_mlp", "proj_out", "attn.to_q",
					  "attn.to_k", "attn.to_v"};
	static const char *const dgl[] = {
	    "in_proj",		 "layers.0.linear_1", "layers.0.linear_2",
	    "layers.1.linear_1", "layers.1.linear_2", "layers.2.linear_1",
	    "layers.2.linear_2", "layers.3.linear_1", "layers.3.linear_2",
	    "layers.4.linear_1", "layers.4.linear_2", "out_proj"};
	const uint64_t d = 96, hd = 32, in = 16, joint = 48, ach = 16, ah = 40;
	const char *dk = "transformer_blocks\\.\\d+",
		   *sk = "single_transformer_blocks\\.\\d+";
	struct tlist *l = &m->orig;
	const char *g = "distilled_guidance_layer";

	lin(l, g, "in_proj", ah, ach);
	for (unsigned i = 0; i < 5; i++) {
		char *s1 = mk_fmt("layers.%u.linear_1", i),
		     *s2 = mk_fmt("layers.%u.linear_2", i),
		     *n = mk_fmt("norms.%u", i);

		lin(l, g, s1, ah, ah);
		lin(l, g, s2, ah, ah);
		norm(l, g, n, ah);
		free(s1);
		free(s2);
		free(n);
	}
	lin(l, g, "out_proj", d, ah);
	lin(l, "", "context_embedder", d, joint);
	lin(l, "", "x_embedder", d, in);
	for (unsigned b = 0; b < 2; b++) {
		char *p = mk_fmt("transformer_blocks.%u", b);

		joint_attn(l, p, d, hd, 1);
		ff(l, p, "ff", d, 4 * d);
		ff(l, p, "ff_context", d, 4 * d);
		free(p);
	}
	for (unsigned b = 0; b < 2; b++) {
		char *p = mk_fmt("single_transformer_blocks.%u", b), *a;

		lin(l, p, "proj_mlp", 4 * d, d);
		lin(l, p, "proj_out", d, 5 * d);
		a = mk_fmt("%s.attn", p);
		lin(l, a, "to_q", d, d);
		lin(l, a, "to_k", d, d);
		lin(l, a, "to_v", d, d);
		norm(l, a, "norm_q", hd);
		norm(l, a, "norm_k", hd);
		free(a);
		free(p);
	}
	lin(l, "", "proj_out", in, d);

	pat(m, g, dgl, N_OF(dgl));
	pat(m, dk, dbl, N_OF(dbl));
	pat(m, sk, sgl, N_OF(sgl));
	mk_unit_add(m, g, g, -1);
	mk_unit_add(m, dk, "transformer_blocks", 0);
	mk_unit_add(m, dk, "transformer_blocks", 1);
	mk_unit_add(m, sk, "single_transformer_blocks", 0);
	mk_unit_add(m, sk, "single_transformer_blocks", 1);
	m->diffusers = 1;
	m->cfg = json_pack(
	    "{s:s, s:s, s:i, s:i, s:i, s:i, s:[i,i,i], s:i, s:i, s:i, s:i, "
	    "s:i, s:n, s:i}",
	    "_class_name", "ChromaTransformer2DModel", "_diffusers_version",
	    "0.35.0", "approximator_hidden_dim", (int)ah, "approximator_layers",
	    5, "approximator_num_channels", (int)ach, "attention_head_dim",
	    (int)hd, "axes_dims_rope", 8, 12, 12, "in_channels", (int)in,
	    "joint_attention_dim", (int)joint, "num_attention_heads", 3,
	    "num_layers", 2, "num_single_layers", 2, "out_channels",
	    "patch_size", 1);
}

/*
 * WanTransformer3DModel (text-to-video: no image_dim, no added k/v):
 * inner 3 * 32 = 96, ffn_dim 160, patch [1, 2, 2]; blocks with two
 * WanAttentions (norms across heads, [inner]), the affine cross-attention
 * norm2 (cross_attn_norm), a FeedForward of ffn_dim and a
 * scale_shift_table [1, 6, inner]; the Conv3d patch embedding
 * [inner, in, 1, 2, 2] and the embedder Linears stay plain.
 */
void mk_arch_wan(struct model *m)
{
	static const char *const blk[] = {
	    "attn1.to_q",     "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
	    "attn2.to_q",     "attn2.to_k", "attn2.to_v", "attn2.to_out.0",
	    "ffn.net.0.proj", "ffn.net.2"};
	const uint64_t d = 96, in = 16, out = 16, text = 48, freq = 32,
		       ffn = 160;
	const char *bk = "blocks\\.\\d+";
	struct tlist *l = &m->orig;
	const char *ce = "condition_embedder";
	struct tensor *pe;

	/* a Conv3d weight: 5 dims, filled as 4 and given its real shape */
	mk_nd(l, mk_fmt("patch_embedding.weight"), 4, d, in, 2, 2);
	pe = &l->v[l->n - 1];
	pe->nd = 5;
	pe->shape[2] = 1;
	pe->shape[3] = 2;
	pe->shape[4] = 2;
	mk_vec(l, mk_fmt("patch_embedding.bias"), d, 0.0);
	lin(l, ce, "time_embedder.linear_1", d, freq);
	lin(l, ce, "time_embedder.linear_2", d, d);
	lin(l, ce, "time_proj", 6 * d, d);
	lin(l, ce, "text_embedder.linear_1", d, text);
	lin(l, ce, "text_embedder.linear_2", d, d);
	for (unsigned b = 0; b < 2; b++) {
		char *p = mk_fmt("blocks.%u", b);

		for (unsigned k = 1; k <= 2; k++) {
			char *a = mk_fmt("%s.attn%u", p, k);

			lin(l, a, "to_q", d, d);
			lin(l, a, "to_k", d, d);
			lin(l, a, "to_v", d, d);
			lin(l, a, "to_out.0", d, d);
			norm(l, a, "norm_q", d);
			norm(l, a, "norm_k", d);
			free(a);
		}
		/* FP32LayerNorm(elementwise_affine=True): weight, bias */
		norm(l, p, "norm2", d);
		mk_vec(l, mk_fmt("%s.norm2.bias", p), d, 0.0);
		ff(l, p, "ffn", d, ffn);
		mk_nd(l, mk_fmt("%s.scale_shift_table", p), 3, 1, 6, d, 0);
		free(p);
	}
	lin(l, "", "proj_out", out * 4, d);
	mk_nd(l, mk_fmt("scale_shift_table"), 3, 1, 2, d, 0);

	pat(m, bk, blk, N_OF(blk));
	mk_unit_add(m, bk, "blocks", 0);
	mk_unit_add(m, bk, "blocks", 1);
	m->diffusers = 1;
	m->cfg = json_pack(
	    "{s:s, s:s, s:n, s:i, s:b, s:f, s:i, s:i, s:n, s:i, s:i, s:i, "
	    "s:i, s:[i,i,i], s:n, s:s, s:i, s:i}",
	    "_class_name", "WanTransformer3DModel", "_diffusers_version",
	    "0.33.0.dev0", "added_kv_proj_dim", "attention_head_dim", 32,
	    "cross_attn_norm", 1, "eps", 1e-6, "ffn_dim", (int)ffn, "freq_dim",
	    (int)freq, "image_dim", "in_channels", (int)in,
	    "num_attention_heads", 3, "num_layers", 2, "out_channels", (int)out,
	    "patch_size", 1, 2, 2, "pos_embed_seq_len", "qk_norm",
	    "rms_norm_across_heads", "rope_max_seq_len", 1024, "text_dim",
	    (int)text);
}

/*
 * QwenImageTransformer2DModel: inner 3 * 32 = 96, in_channels 64,
 * joint_attention_dim 80, patch 2, out 16; blocks with img_mod.1 and
 * txt_mod.1 [6 inner, inner], the joint attention and two FeedForwards
 * (img_mlp, txt_mlp); txt_norm (RMSNorm [joint]), img_in, txt_in, the
 * timestep embedder, norm_out.linear [2 inner, inner] and proj_out stay
 * plain.
 */
void mk_arch_qwenimage(struct model *m)
{
	static const char *const blk[] = {
	    "img_mod.1",	  JOINT_ATTRS,	   "attn.to_add_out",
	    "img_mlp.net.0.proj", "img_mlp.net.2", "txt_mod.1",
	    "txt_mlp.net.0.proj", "txt_mlp.net.2"};
	const uint64_t d = 96, hd = 32, in = 64, joint = 80, out = 16;
	const char *bk = "transformer_blocks\\.\\d+";
	struct tlist *l = &m->orig;
	const char *te = "time_text_embed.timestep_embedder";

	lin(l, te, "linear_1", d, 256);
	lin(l, te, "linear_2", d, d);
	mk_vec(l, mk_fmt("txt_norm.weight"), joint, 1.0);
	lin(l, "", "img_in", d, in);
	lin(l, "", "txt_in", d, joint);
	for (unsigned b = 0; b < 2; b++) {
		char *p = mk_fmt("transformer_blocks.%u", b);

		lin(l, p, "img_mod.1", 6 * d, d);
		lin(l, p, "txt_mod.1", 6 * d, d);
		joint_attn(l, p, d, hd, 1);
		ff(l, p, "img_mlp", d, 4 * d);
		ff(l, p, "txt_mlp", d, 4 * d);
		free(p);
	}
	lin(l, "norm_out", "linear", 2 * d, d);
	lin(l, "", "proj_out", 4 * out, d);

	pat(m, bk, blk, N_OF(blk));
	mk_unit_add(m, bk, "transformer_blocks", 0);
	mk_unit_add(m, bk, "transformer_blocks", 1);
	m->diffusers = 1;
	m->cfg = json_pack(
	    "{s:s, s:s, s:i, s:[i,i,i], s:b, s:i, s:i, s:i, "
	    "s:i, s:i, s:i}",
	    "_class_name", "QwenImageTransformer2DModel", "_diffusers_version",
	    "0.35.0.dev0", "attention_head_dim", (int)hd, "axes_dims_rope", 8,
	    12, 12, "guidance_embeds", 0, "in_channels", (int)in,
	    "joint_attention_dim", (int)joint, "num_attention_heads", 3,
	    "num_layers", 2, "out_channels", (int)out, "patch_size", 2);
}

/*
 * SD3Transformer2DModel, SD3.5 Large style (qk_norm "rms_norm", no dual
 * attention): inner 3 * 32 = 96, 3 JointTransformerBlocks; the last one
 * is context_pre_only: its norm1_context is an AdaLayerNormContinuous
 * ([2 inner, inner]), its attention has no to_add_out and it has no
 * ff_context, so the release gives it a pattern_dict key of its own with
 * 11 attributes (transformer_blocks.37 of 38 there; .2 of 3 here). The
 * PatchEmbed (Conv2d [inner, in, 2, 2], pos_embed [1, max^2, inner]),
 * embedders, norm_out and proj_out stay plain.
 */
void mk_arch_sd3(struct model *m)
{
	static const char *const blk[] = {
	    "norm1.linear",	     "norm1_context.linear", JOINT_ATTRS,
	    "attn.to_add_out",	     "ff.net.0.proj",	     "ff.net.2",
	    "ff_context.net.0.proj", "ff_context.net.2"};
	static const char *const last[] = {"norm1.linear",
					   "norm1_context.linear", JOINT_ATTRS,
					   "ff.net.0.proj", "ff.net.2"};
	const uint64_t d = 96, hd = 32, in = 16, joint = 80, pooled = 48,
		       out = 16, pmax = 8;
	const char *k1 = "transformer_blocks\\.([0-1])",
		   *k2 = "transformer_blocks\\.2";
	struct tlist *l = &m->orig;
	const char *tt = "time_text_embed";

	mk_nd(l, mk_fmt("pos_embed.proj.weight"), 4, d, in, 2, 2);
	mk_vec(l, mk_fmt("pos_embed.proj.bias"), d, 0.0);
	mk_nd(l, mk_fmt("pos_embed.pos_embed"), 3, 1, pmax * pmax, d, 0);
	lin(l, tt, "timestep_embedder.linear_1", d, 256);
	lin(l, tt, "timestep_embedder.linear_2", d, d);
	lin(l, tt, "text_embedder.linear_1", d, pooled);
	lin(l, tt, "text_embedder.linear_2", d, d);
	lin(l, "", "context_embedder", d, joint);
	for (unsigned b = 0; b < 3; b++) {
		char *p = mk_fmt("transformer_blocks.%u", b);
		int pre = b == 2;

		lin(l, p, "norm1.linear", 6 * d, d);
		lin(l, p, "norm1_context.linear", (pre ? 2 : 6) * d, d);
		joint_attn(l, p, d, hd, !pre);
		ff(l, p, "ff", d, 4 * d);
		if (!pre)
			ff(l, p, "ff_context", d, 4 * d);
		free(p);
	}
	lin(l, "norm_out", "linear", 2 * d, d);
	lin(l, "", "proj_out", 4 * out, d);

	pat(m, k1, blk, N_OF(blk));
	pat(m, k2, last, N_OF(last));
	mk_unit_add(m, k1, "transformer_blocks", 0);
	mk_unit_add(m, k1, "transformer_blocks", 1);
	mk_unit_add(m, k2, "transformer_blocks", 2);
	m->diffusers = 1;
	m->cfg = json_pack(
	    "{s:s, s:s, s:i, s:i, s:[], s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
	    "s:i, s:s, s:i}",
	    "_class_name", "SD3Transformer2DModel", "_diffusers_version",
	    "0.31.0.dev0", "attention_head_dim", (int)hd,
	    "caption_projection_dim", (int)d, "dual_attention_layers",
	    "in_channels", (int)in, "joint_attention_dim", (int)joint,
	    "num_attention_heads", 3, "num_layers", 3, "out_channels", (int)out,
	    "patch_size", 2, "pooled_projection_dim", (int)pooled,
	    "pos_embed_max_size", (int)pmax, "qk_norm", "rms_norm",
	    "sample_size", 16);
}
