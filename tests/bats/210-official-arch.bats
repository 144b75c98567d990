#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/210-official-arch.bats - official DFloat11 directories of the
# families that only the config shape rules cover (Mistral, Qwen2, Gemma 2,
# Gemma 3 with the language_model. prefix, Phi-3/4 with fused projections,
# the Mixtral, Qwen3-MoE, DeepSeek-V3, GPT-OSS and Llama 4 experts,
# DeepSeek-V3's MLA attention, the Llama 4 vision model, the Qwen2-VL / Qwen2.5-VL and Mistral3 vision towers, the
# HiDream SwiGLU experts and the Cosmos blocks of diffusers models) and of
# one they do not (Mamba). tests/official/mkofficial.c writes, per
# architecture, a tiny random BF16 original and its official DF11 form,
# laid out as the official compressor does; each must read back as the
# original through df11 decompress and through the mount, and with the
# original headers byte for byte.

load helpers
load mount_helpers

CMP=$BATS_TEST_DIRNAME/st_compare.py
ROOT=$BATS_TEST_DIRNAME/../..
ARCHS="mistral qwen2 gemma2 gemma3 phi3 mixtral qwen3_moe deepseek_v3 gpt_oss
	llama4 qwen2_vl qwen2_5_vl mistral3 hidream cosmos mamba"

setup_file() {
	require_bins
	local mk=$BUILD/tests/mkofficial a
	if [ ! -x "$mk" ]; then
		echo "missing $mk: run make first" >&2
		return 1
	fi
	for a in $ARCHS; do
		mkdir -p "$BATS_FILE_TMPDIR/$a"
		timeout -k 5 "$DEADLINE" "$mk" "$a" "$BATS_FILE_TMPDIR/$a/orig" \
			"$BATS_FILE_TMPDIR/$a/df11"
		df11 headers "$BATS_FILE_TMPDIR/$a/orig" >"$BATS_FILE_TMPDIR/$a/h.json"
	done
}

teardown() {
	unmount_all
}

# sha DIR/FILE - the sha256 of one file
sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

# check_decompress ARCH - decompress ARCH's DF11 dir: every tensor equals
# the original's, config.json is the original's (no dfloat11_config),
# only the model files are written; with the headers the file is the
# original byte for byte; verify agrees
check_decompress() {
	local d=$BATS_FILE_TMPDIR/$1 o=$BATS_TEST_TMPDIR/out
	df11 decompress -q "$d/df11" "$o"
	run -0 python3 "$CMP" "$o" "$d/orig"
	echo "$1: $output"
	run ! grep -q dfloat11 "$o/config.json"
	cmp "$o/config.json" "$d/orig/config.json"
	cmp "$o/generation_config.json" "$d/orig/generation_config.json"
	run -0 ls "$o"
	[ "$output" = "$(printf 'config.json\ngeneration_config.json\nmodel.safetensors')" ]

	df11 decompress -q --headers "$d/h.json" "$d/df11" "$BATS_TEST_TMPDIR/hd"
	[ "$(sha "$BATS_TEST_TMPDIR/hd/model.safetensors")" = \
		"$(sha "$d/orig/model.safetensors")" ]
	run -0 df11 verify "$d/df11" "$d/orig"
	[[ $output == *"units decoded, equal to"* ]]
}

# check_mount ARCH - the same through df11fs, without and with headers
check_mount() {
	local d=$BATS_FILE_TMPDIR/$1 m=$BATS_TEST_TMPDIR/m
	require_fuse
	mount_df11fs "$d/df11" "$m"
	run -0 python3 "$CMP" "$m" "$d/orig"
	echo "$1: $output"
	cmp "$m/config.json" "$d/orig/config.json"
	run -0 ls "$m"
	[ "$output" = "$(printf 'config.json\ngeneration_config.json\nmodel.safetensors')" ]
	unmount_df11fs "$m"

	mount_df11fs "$d/df11" "$BATS_TEST_TMPDIR/mh" -o "headers=$d/h.json"
	[ "$(sha "$BATS_TEST_TMPDIR/mh/model.safetensors")" = \
		"$(sha "$d/orig/model.safetensors")" ]
}

# check_dit ARCH - a diffusers model (original-config.json beside the
# release's dfloat11_config-only config.json): decompress and the mount
# give the original tensors and config.json; with the headers the file is
# the original byte for byte
check_dit() {
	local d=$BATS_FILE_TMPDIR/$1 o=$BATS_TEST_TMPDIR/out
	local w=diffusion_pytorch_model.safetensors m=$BATS_TEST_TMPDIR/m
	df11 decompress -q "$d/df11" "$o"
	run -0 python3 "$CMP" "$o" "$d/orig"
	echo "$1: $output"
	cmp "$o/config.json" "$d/orig/config.json"
	run -0 ls "$o"
	[ "$output" = "$(printf 'config.json\n%s' "$w")" ]
	df11 decompress -q --headers "$d/h.json" "$d/df11" "$BATS_TEST_TMPDIR/hd"
	[ "$(sha "$BATS_TEST_TMPDIR/hd/$w")" = "$(sha "$d/orig/$w")" ]

	require_fuse
	mount_df11fs "$d/df11" "$m"
	run -0 python3 "$CMP" "$m" "$d/orig"
	cmp "$m/config.json" "$d/orig/config.json"
	unmount_df11fs "$m"
}

@test "mistral (head_dim != hidden/heads, lm_head + embed + layers): decompress" {
	check_decompress mistral
}

@test "mistral: mount" {
	check_mount mistral
}

@test "qwen2 (q/k/v biases, tied, layers only, embed plain): decompress" {
	check_decompress qwen2
}

@test "qwen2: mount" {
	check_mount qwen2
}

@test "gemma2 (four norms, tied, embed compressed, lm_head copy dropped): decompress" {
	check_decompress gemma2
	# the tied copy in the remainder is not shown
	run ! grep -q '"lm_head.weight"' "$BATS_TEST_TMPDIR/out/model.safetensors"
}

@test "gemma2: mount" {
	check_mount gemma2
}

@test "gemma3 (language_model. prefix, text_config, vision tensors): decompress" {
	check_decompress gemma3
}

@test "gemma3: mount" {
	check_mount gemma3
}

@test "phi3 (fused qkv_proj / gate_up_proj, o_proj first): decompress" {
	check_decompress phi3
}

@test "phi3: mount" {
	check_mount phi3
}

@test "mixtral (block_sparse_moe router and w1/w2/w3 experts): decompress" {
	check_decompress mixtral
}

@test "mixtral: mount" {
	check_mount mixtral
}

@test "qwen3_moe (mlp.gate router, experts of moe_intermediate_size, a dense layer): decompress" {
	check_decompress qwen3_moe
}

@test "qwen3_moe: mount" {
	check_mount qwen3_moe
}

@test "qwen3_moe without moe_intermediate_size: refused, not guessed" {
	cp -r "$BATS_FILE_TMPDIR/qwen3_moe/df11" "$BATS_TEST_TMPDIR/q"
	chmod -R u+w "$BATS_TEST_TMPDIR/q"
	sed -i '/"moe_intermediate_size"/d' "$BATS_TEST_TMPDIR/q/config.json"
	run -5 df11 decompress -q "$BATS_TEST_TMPDIR/q" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"cannot resolve the shape of 'model.layers.0.mlp.experts.0.gate_proj.weight' from config.json (model_type 'qwen3_moe')"*"df11 headers"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
}

@test "deepseek_v3 (MLA q/kv LoRA projections, a dense layer, routed and shared experts): decompress" {
	check_decompress deepseek_v3
}

@test "deepseek_v3: mount" {
	check_mount deepseek_v3
}

@test "deepseek_v3 without qk_rope_head_dim: refused, not guessed" {
	cp -r "$BATS_FILE_TMPDIR/deepseek_v3/df11" "$BATS_TEST_TMPDIR/d"
	chmod -R u+w "$BATS_TEST_TMPDIR/d"
	sed -i '/"qk_rope_head_dim"/d' "$BATS_TEST_TMPDIR/d/config.json"
	run -5 df11 decompress -q "$BATS_TEST_TMPDIR/d" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"cannot resolve the shape of 'model.layers."*"from config.json (model_type 'deepseek_v3')"*"df11 headers"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
}

@test "gpt_oss (head_dim given, attention biases, router and 3-D experts plain): decompress" {
	check_decompress gpt_oss
}

@test "gpt_oss: mount" {
	check_mount gpt_oss
}

@test "llama4 (text_config: dense and MoE layers, router, shared expert, 3-D experts plain; vision model, adapter, projector): decompress" {
	check_decompress llama4
}

@test "llama4: mount" {
	check_mount llama4
}

@test "qwen2_vl (text rules; vision blocks and merger by their biases): decompress" {
	check_decompress qwen2_vl
}

@test "qwen2_vl: mount" {
	check_mount qwen2_vl
}

@test "qwen2_5_vl (text rules; gated vision MLP and merger by their biases): decompress" {
	check_decompress qwen2_5_vl
}

@test "qwen2_5_vl: mount" {
	check_mount qwen2_5_vl
}

@test "mistral3 (text_config, Pixtral vision tower and projector by vision_config): decompress" {
	check_decompress mistral3
}

@test "mistral3: mount" {
	check_mount mistral3
}

@test "mistral3 without vision_config.intermediate_size: refused, not guessed" {
	cp -r "$BATS_FILE_TMPDIR/mistral3/df11" "$BATS_TEST_TMPDIR/v"
	chmod -R u+w "$BATS_TEST_TMPDIR/v"
	python3 - "$BATS_TEST_TMPDIR/v/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
del c["vision_config"]["intermediate_size"]
json.dump(c, open(sys.argv[1], "w"))
EOF
	run -5 df11 decompress -q "$BATS_TEST_TMPDIR/v" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"cannot resolve the shape of 'vision_tower.transformer.layers.0.feed_forward."*"(model_type 'mistral3')"*"df11 headers"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
}

@test "hidream (diffusers: SwiGLU experts, shared experts, router and ff_t without biases): decompress and mount" {
	check_dit hidream
}

@test "hidream without its original-config.json: refused, asking for it" {
	cp -r "$BATS_FILE_TMPDIR/hidream/df11" "$BATS_TEST_TMPDIR/h"
	chmod -R u+w "$BATS_TEST_TMPDIR/h"
	rm "$BATS_TEST_TMPDIR/h/original-config.json"
	run -5 df11 decompress -q "$BATS_TEST_TMPDIR/h" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"cannot resolve the shape of '"*"original-config.json"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
}

@test "cosmos (diffusers: no bias in any block Linear, mlp_ratio a real, patch_size a list): decompress and mount" {
	check_dit cosmos
}

@test "cosmos whose mlp_ratio is not whole: refused, not rounded" {
	cp -r "$BATS_FILE_TMPDIR/cosmos/df11" "$BATS_TEST_TMPDIR/c"
	chmod -R u+w "$BATS_TEST_TMPDIR/c"
	sed -i 's/"mlp_ratio": 4.0/"mlp_ratio": 4.5/' "$BATS_TEST_TMPDIR/c/original-config.json"
	grep -q '"mlp_ratio": 4.5' "$BATS_TEST_TMPDIR/c/original-config.json"
	run -5 df11 decompress -q "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"cannot resolve the shape of 'transformer_blocks.0.ff.net.0.proj.weight'"*"(class 'CosmosTransformer3DModel')"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
}

@test "mamba (no shape rules): refused, asking for headers; fine with them" {
	local d=$BATS_FILE_TMPDIR/mamba
	run -5 df11 decompress -q "$d/df11" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"model_type 'mamba' has no shape rules"*"df11 headers"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
	run -5 df11 info "$d/df11"
	[[ $output == *"df11 headers"* ]]
	# with the headers: the original file (F32 and 3-D plain tensors
	# included, the tied lm_head copy of the remainder left out)
	df11 decompress -q --headers "$d/h.json" "$d/df11" "$BATS_TEST_TMPDIR/y"
	[ "$(sha "$BATS_TEST_TMPDIR/y/model.safetensors")" = \
		"$(sha "$d/orig/model.safetensors")" ]
	python3 "$CMP" "$BATS_TEST_TMPDIR/y" "$d/orig"
}

@test "gemma3 without head_dim in text_config: refused, not guessed" {
	cp -r "$BATS_FILE_TMPDIR/gemma3/df11" "$BATS_TEST_TMPDIR/g"
	chmod -R u+w "$BATS_TEST_TMPDIR/g"
	sed -i '/"head_dim"/d' "$BATS_TEST_TMPDIR/g/config.json"
	run -4 df11 decompress -q "$BATS_TEST_TMPDIR/g" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"q_proj.weight': 6144 weights, but config.json gives [64, 64]"*"df11 headers"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
}

@test "gemma2 whose config leaves tie_word_embeddings out (tied by default): no lm_head invented" {
	local d=$BATS_TEST_TMPDIR/g
	cp -r "$BATS_FILE_TMPDIR/gemma2" "$d"
	sed -i '/tie_word_embeddings/d' "$d/orig/config.json" "$d/df11/config.json"
	! grep -q tie_word_embeddings "$d/df11/config.json"
	df11 decompress -q "$d/df11" "$d/out"
	python3 "$CMP" "$d/out" "$d/orig"
}
