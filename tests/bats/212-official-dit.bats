#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/212-official-dit.bats - official DFloat11 diffusion
# transformers whose every compressed nn.Linear has a plain bias, so that
# the bias alone gives each piece its shape (docs/OFFICIAL.md, Shapes):
# Chroma, Wan, Qwen-Image and SD3.5. tests/official/mkofficial_dit2.c
# writes, per class, a tiny random BF16 original with diffusers' tensor
# names, shapes and blocks and its official form with the release's
# pattern_dict, original-config.json beside the dfloat11_config-only
# config.json. Each is mounted in every layout the official tool and
# diffusers make: per-block files and the remainder, one file
# (save_single_file), a pipeline folder (model_index.json, transformer/,
# a plain vae/) and sharded above the shard size; every time the
# tensors, dtypes and shapes equal the original's by name, config.json is
# the original-config.json, and with original-headers.json (df11 headers
# ORIG) every file is the original's byte for byte. Then a piece whose
# bias is missing: refused in one line, the rest of the mount readable.

load helpers
load mount_helpers

CMP=$BATS_TEST_DIRNAME/st_compare.py
SAVE=$BATS_TEST_DIRNAME/st_save.py
W=diffusion_pytorch_model.safetensors
CLASSES="chroma wan qwenimage sd3"
# below every original (620 kB to 2 MB), above every tensor (92 kB)
SHARD=300000

# regroup FILE N DIR - FILE's tensors as N shards and an index in DIR,
# named as diffusers names them, tensor i of the sorted names in shard
# i mod N: a stand-in for an original sharded in module order, which a
# cut in name order does not reproduce
regroup() {
	python3 - "$SAVE" "$@" <<'EOF'
import json, os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import st_save
src, n, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
base = os.path.basename(src)[:-len(".safetensors")]
t = st_save.read(src)
names, wmap = sorted(t), {}
for i in range(n):
    fn = "%s-%05d-of-%05d.safetensors" % (base, i + 1, n)
    st_save.save({k: t[k] for k in names[i::n]}, os.path.join(out, fn), True)
    wmap.update({k: fn for k in names[i::n]})
idx = {"metadata": {"total_size": sum(len(v[2]) for v in t.values())},
       "weight_map": wmap}
with open(os.path.join(out, base + ".safetensors.index.json"), "w") as f:
    f.write(json.dumps(idx, indent=2, sort_keys=True) + "\n")
EOF
}

# drop_tensor FILE NAME - rewrite safetensors FILE without tensor NAME
drop_tensor() {
	python3 - "$SAVE" "$@" <<'EOF'
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import st_save
t = st_save.read(sys.argv[2])
del t[sys.argv[3]]
st_save.save(t, sys.argv[2], False)
EOF
}

setup_file() {
	require_bins
	local mk=$BUILD/tests/mkofficial a d
	if [ ! -x "$mk" ]; then
		echo "missing $mk: run make first" >&2
		return 1
	fi
	for a in $CLASSES; do
		d=$BATS_FILE_TMPDIR/$a
		mkdir -p "$d/orig-sh"
		timeout -k 5 "$DEADLINE" "$mk" "$a" "$d/orig" "$d/df11"
		timeout -k 5 "$DEADLINE" "$mk" --single-file "$a" "$d/orig.s" \
			"$d/single"
		# the same seed: the same model
		cmp "$d/orig/$W" "$d/orig.s/$W"
		df11 headers "$d/orig" >"$d/h.json"
		regroup "$d/orig/$W" 3 "$d/orig-sh"
		cp "$d/orig/config.json" "$d/orig-sh/"
		df11 headers "$d/orig-sh" >"$d/hs.json"
	done
	# Wan 2.2 A14B pipelines have a second transformer (another seed)
	d=$BATS_FILE_TMPDIR/wan
	timeout -k 5 "$DEADLINE" "$mk" wan "$d/orig2" "$d/df11-2" 2
	df11 headers "$d/orig2" >"$d/h2.json"
}

teardown() {
	unmount_all
}

sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

# copy SRC DST - a writable copy of directory SRC at DST
copy() {
	cp -r "$1" "$2"
	chmod -R u+w "$2"
}

# same_model GOT ORIG - GOT has ORIG's tensors by name (dtype, shape,
# bytes; its index, when sharded, names them where they are) and ORIG's
# config.json
same_model() {
	run -0 python3 "$CMP" "$1" "$2"
	echo "$1: $output"
	[[ $output == *" tensors equal" ]]
	cmp "$1/config.json" "$2/config.json"
}

# same_files GOT ORIG - GOT lists exactly ORIG's files, each with the
# same sha256
same_files() {
	local f
	run -0 ls "$1"
	[ "$output" = "$(ls "$2")" ]
	for f in "$2"/*; do
		[ "$(sha "$1/${f##*/}")" = "$(sha "$f")" ] ||
			{ echo "'$1/${f##*/}' differs from '$f'" >&2; return 1; }
	done
}

# check_dir CLASS LAYOUT - mount CLASS's DF11 directory of LAYOUT (df11:
# per-block files and the remainder; single: one model.safetensors):
# the original's tensors, config.json and files; then with
# original-headers.json the same files by sha256
check_dir() {
	local d=$BATS_FILE_TMPDIR/$1 s=$BATS_TEST_TMPDIR/src m=$BATS_TEST_TMPDIR/m
	require_fuse
	copy "$d/$2" "$s"
	mount_df11fs "$s" "$m"
	same_model "$m" "$d/orig"
	same_files "$m" "$d/orig"
	unmount_df11fs "$m"
	cp "$d/h.json" "$s/original-headers.json"
	mount_df11fs "$s" "$m"
	same_files "$m" "$d/orig"
	same_model "$m" "$d/orig"
}

# check_pipeline CLASS PIPELINE VAE - a pipeline folder: model_index.json,
# transformer/ (and for Wan transformer_2/) official, vae/ plain
check_pipeline() {
	local d=$BATS_FILE_TMPDIR/$1 p=$BATS_TEST_TMPDIR/p m=$BATS_TEST_TMPDIR/m
	local want="model_index.json transformer vae" t2=
	require_fuse
	mkdir -p "$p/vae"
	copy "$d/df11" "$p/transformer"
	if [ "$1" = wan ]; then
		copy "$d/df11-2" "$p/transformer_2"
		want="model_index.json transformer transformer_2 vae"
		t2=', "transformer_2": ["diffusers", "WanTransformer3DModel"]'
	fi
	printf '{"_class_name": "%s", "transformer": ["diffusers", "%s"]%s, "vae": ["diffusers", "%s"]}\n' \
		"$2" "$(sed -n 's/.*"_class_name": "\(.*\)".*/\1/p' "$d/orig/config.json")" \
		"$t2" "$3" >"$p/model_index.json"
	cp "$d/orig/$W" "$p/vae/"
	echo "{\"_class_name\": \"$3\"}" >"$p/vae/config.json"
	mount_df11fs "$p" "$m"
	run -0 ls "$m"
	[ "$output" = "$(printf '%s\n' $want)" ]
	cmp "$m/model_index.json" "$p/model_index.json"
	same_files "$m/vae" "$p/vae"
	same_model "$m/transformer" "$d/orig"
	same_files "$m/transformer" "$d/orig"
	if [ -n "$t2" ]; then
		same_model "$m/transformer_2" "$d/orig2"
		same_files "$m/transformer_2" "$d/orig2"
		# two seeds: two models, not one shown twice
		run ! cmp -s "$m/transformer/$W" "$m/transformer_2/$W"
	fi
	unmount_df11fs "$m"
	cp "$d/h.json" "$p/transformer/original-headers.json"
	[ -z "$t2" ] || cp "$d/h2.json" "$p/transformer_2/original-headers.json"
	mount_df11fs "$p" "$m"
	same_files "$m/transformer" "$d/orig"
	[ -z "$t2" ] || same_files "$m/transformer_2" "$d/orig2"
	same_files "$m/vae" "$p/vae"
}

# check_sharded CLASS - above -o max_shard_size: shards and index cut as
# huggingface_hub cuts them in name order; with the original-headers.json
# of an original sharded otherwise, that original's shards and index byte
# for byte (and not without it); a DF11 remainder itself sharded reads
# the same
check_sharded() {
	local d=$BATS_FILE_TMPDIR/$1 s=$BATS_TEST_TMPDIR/src m=$BATS_TEST_TMPDIR/m
	local w=$BATS_TEST_TMPDIR/want
	require_fuse
	mkdir -p "$w"
	python3 "$SAVE" shards "$d/orig/$W" "$SHARD" "$w" diffusion_pytorch_model
	cp "$d/orig/config.json" "$w/"
	[ "$(ls "$w" | grep -c -- '-of-')" -ge 3 ]
	copy "$d/df11" "$s"
	mount_df11fs "$s" "$m" -o "max_shard_size=$SHARD"
	same_model "$m" "$d/orig"
	same_files "$m" "$w"
	# the regrouped original is not what the name order gives
	run ! same_files "$m" "$d/orig-sh"
	unmount_df11fs "$m"

	cp "$d/hs.json" "$s/original-headers.json"
	mount_df11fs "$s" "$m"
	same_files "$m" "$d/orig-sh"
	same_model "$m" "$d/orig-sh"
	unmount_df11fs "$m"

	# the remainder in two shards and an index, as save_pretrained
	# writes one above its shard size
	rm "$s/original-headers.json"
	regroup "$s/$W" 2 "$s"
	rm "$s/$W"
	mount_df11fs "$s" "$m"
	same_model "$m" "$d/orig"
	same_files "$m" "$d/orig"
}

@test "chroma (approximator unit of 12, double blocks without modulation Linears): per-block files" {
	check_dir chroma df11
}

@test "chroma: single file" {
	check_dir chroma single
}

@test "chroma: pipeline folder" {
	check_pipeline chroma ChromaPipeline AutoencoderKL
}

@test "chroma: sharded" {
	check_sharded chroma
}

@test "wan (blocks.N, 5-D Conv3d patch embedding, scale_shift_tables): per-block files" {
	check_dir wan df11
}

@test "wan: single file" {
	check_dir wan single
}

@test "wan: pipeline folder with transformer/ and transformer_2/ (Wan 2.2)" {
	check_pipeline wan WanPipeline AutoencoderKLWan
}

@test "wan: sharded" {
	check_sharded wan
}

@test "qwenimage (img_mod/txt_mod, joint attention, two MLPs): per-block files" {
	check_dir qwenimage df11
}

@test "qwenimage: single file, also named as the releases name it" {
	local d=$BATS_FILE_TMPDIR/qwenimage s=$BATS_TEST_TMPDIR/r m=$BATS_TEST_TMPDIR/m2
	check_dir qwenimage single
	# the Qwen-Image releases: one diffusion_pytorch_model.safetensors
	copy "$d/single" "$s"
	mv "$s/model.safetensors" "$s/$W"
	mount_df11fs "$s" "$m"
	same_model "$m" "$d/orig"
	same_files "$m" "$d/orig"
}

@test "qwenimage: pipeline folder" {
	check_pipeline qwenimage QwenImagePipeline AutoencoderKLQwenImage
}

@test "qwenimage: sharded" {
	check_sharded qwenimage
}

@test "sd3 (SD3.5 Large: qk rms norms, a context_pre_only last block with its own pattern key): per-block files" {
	check_dir sd3 df11
	# the last block's context norm is the continuous one, [2 dim, dim]
	run -0 df11 info "$BATS_FILE_TMPDIR/sd3/df11"
	[[ $output == *"transformer_blocks.2.norm1_context.linear.weight  BF16  [192, 96]"* ]]
	[[ $output != *"transformer_blocks.2.attn.to_add_out"* ]]
}

@test "sd3: single file" {
	check_dir sd3 single
}

@test "sd3: pipeline folder" {
	check_pipeline sd3 StableDiffusion3Pipeline AutoencoderKL
}

@test "sd3: sharded" {
	check_sharded sd3
}

# piece CLASS - the piece whose bias the refusal test drops: its module
# $t, the file $f of layout $src holding the bias, the class name $cls
piece() {
	case $1 in
	chroma)
		src=df11 f=distilled_guidance_layer.safetensors
		t=distilled_guidance_layer.layers.2.linear_1
		cls=ChromaTransformer2DModel ;;
	wan)
		src=df11 f=blocks_1.safetensors t=blocks.1.ffn.net.2
		cls=WanTransformer3DModel ;;
	qwenimage)
		src=single f=model.safetensors
		t=transformer_blocks.1.txt_mod.1
		cls=QwenImageTransformer2DModel ;;
	sd3)
		src=df11 f=transformer_blocks_2.safetensors
		t=transformer_blocks.2.norm1_context.linear
		cls=SD3Transformer2DModel ;;
	esac
}

# why MODULE CLASS - the reason a piece without its bias is refused
why() {
	echo "cannot resolve the shape of '$1.weight': no bias, and class '$2' has no shape rules; the original headers give every shape"
}

@test "a piece without its bias: refused in one line naming it and the headers; the rest of the mount reads" {
	local r=$BATS_TEST_TMPDIR/r m=$BATS_TEST_TMPDIR/m a src f t cls
	mkdir -p "$r"
	for a in $CLASSES; do
		piece "$a"
		copy "$BATS_FILE_TMPDIR/$a/$src" "$r/$a-broken"
		copy "$BATS_FILE_TMPDIR/$a/$src" "$r/$a"
		drop_tensor "$r/$a-broken/$f" "$t.bias"
		run -5 --separate-stderr df11 decompress -q "$r/$a-broken" \
			"$BATS_TEST_TMPDIR/x-$a"
		echo "$a: $stderr"
		[ "$stderr" = "df11: '$r/$a-broken': $(why "$t" "$cls") (write them with 'df11 headers ORIGINAL_DIR > h.json', then give --headers h.json or save them as DIR/original-headers.json)" ]
		no_output "$BATS_TEST_TMPDIR/x-$a"
	done

	require_fuse
	mount_df11fs "$r" "$m"
	for a in $CLASSES; do
		piece "$a"
		run ls "$m/$a-broken"
		[ "$status" -ne 0 ]
		[[ $output == *"Input/output error"* ]]
		run cat "$m/$a-broken/config.json"
		[ "$status" -ne 0 ]
		# logged once, on one line, naming the piece
		[ "$(grep -cF "'$a-broken': official DFloat11 directory: $(why "$t" "$cls") (write them with 'df11 headers ORIGINAL_DIR > h.json', then save them as DIR/original-headers.json or mount with -o headers=h.json)" "$m.log")" -eq 1 ]
		[ "$(grep -c "cannot resolve the shape of '$t.weight'" "$m.log")" -eq 1 ]
		# the intact copy beside it reads as the original
		same_model "$m/$a" "$BATS_FILE_TMPDIR/$a/orig"
		same_files "$m/$a" "$BATS_FILE_TMPDIR/$a/orig"
	done
}
