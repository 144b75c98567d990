#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/200-official.bats - official DFloat11 directories (made by the
# official package 0.5.0, tests/data/official/*/df11) read as the BF16
# models they stand for: through df11 decompress/verify/info and through
# the mount; byte for byte with the original headers; damage is an error

load helpers
load mount_helpers

DATA=$BATS_TEST_DIRNAME/../data/official
CMP=$BATS_TEST_DIRNAME/st_compare.py
FIXTURES="llama-tiny qwen3-tiny"

setup_file() {
	require_bins
}

teardown() {
	unmount_all
}

# corrupt FIX FILE TENSOR POS - a writable copy of fixture FIX's df11 dir
# in $BATS_TEST_TMPDIR/c with byte POS ("mid" or a number) of TENSOR in
# FILE inverted
corrupt() {
	rm -rf "$BATS_TEST_TMPDIR/c"
	cp -r "$DATA/$1/df11" "$BATS_TEST_TMPDIR/c"
	chmod -R u+w "$BATS_TEST_TMPDIR/c"
	python3 - "$BATS_TEST_TMPDIR/c/$2" "$3" "$4" <<'PY'
import json, struct, sys
path, name, pos = sys.argv[1], sys.argv[2], sys.argv[3]
b = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
s, e = json.loads(b[8:8 + n])[name]["data_offsets"]
p = s + (e - s) // 2 if pos == "mid" else s + int(pos)
b[8 + n + p] ^= 0xFF
open(path, "wb").write(b)
PY
}

# sums DIR - sha256 of every *.safetensors and *.json of DIR, by name
sums() {
	(cd "$1" && sha256sum -- *.safetensors *.json)
}

@test "decompress: every tensor equals the original's, config.json too" {
	for f in $FIXTURES; do
		df11 decompress -q "$DATA/$f/df11" "$BATS_TEST_TMPDIR/$f"
		run python3 "$CMP" "$BATS_TEST_TMPDIR/$f" "$DATA/$f/orig"
		echo "$f: $output"
		[ "$status" -eq 0 ]
		cmp "$BATS_TEST_TMPDIR/$f/config.json" "$DATA/$f/orig/config.json"
		cmp "$BATS_TEST_TMPDIR/$f/generation_config.json" \
			"$DATA/$f/orig/generation_config.json"
		[ ! -e "$BATS_TEST_TMPDIR/$f/model_layers_0.safetensors" ]
		run ! grep -q dfloat11 "$BATS_TEST_TMPDIR/$f/config.json"
	done
	# the tied embedding: no lm_head invented
	run ! python3 -c 'import json,struct,sys; f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; sys.exit("lm_head.weight" not in json.loads(f.read(n)))' \
		"$BATS_TEST_TMPDIR/qwen3-tiny/model.safetensors"
}

@test "decompress with shards: the index json is consistent" {
	f=llama-tiny
	df11 decompress -q --max-shard-size 3M "$DATA/$f/df11" "$BATS_TEST_TMPDIR/s"
	[ -e "$BATS_TEST_TMPDIR/s/model-00001-of-00003.safetensors" ]
	[ -e "$BATS_TEST_TMPDIR/s/model.safetensors.index.json" ]
	python3 "$CMP" "$BATS_TEST_TMPDIR/s" "$DATA/$f/orig"
}

@test "with the original headers the files are the originals (sha256)" {
	for f in $FIXTURES; do
		df11 headers "$DATA/$f/orig" >"$BATS_TEST_TMPDIR/h-$f.json"
		df11 decompress -q --headers "$BATS_TEST_TMPDIR/h-$f.json" \
			"$DATA/$f/df11" "$BATS_TEST_TMPDIR/o-$f"
		[ "$(sums "$BATS_TEST_TMPDIR/o-$f")" = "$(sums "$DATA/$f/orig")" ]
		df11 verify -q --headers "$BATS_TEST_TMPDIR/h-$f.json" \
			"$DATA/$f/df11" "$DATA/$f/orig"
	done
}

@test "verify decodes every unit and compares with SRC; info shows units" {
	for f in $FIXTURES; do
		run -0 df11 verify "$DATA/$f/df11" "$DATA/$f/orig"
		[[ $output == *"units decoded, equal to"* ]]
		run -0 df11 info "$DATA/$f/df11"
		[[ $output == *"unit model.layers.0 (model_layers_0.safetensors)"* ]]
		[[ $output == *"model.layers.0.self_attn.k_proj.weight  BF16  [128, 256]"* ]]
		[[ $output == *"ratio 0.6"* ]]
		run -0 df11 info --json "$DATA/$f/df11"
		[[ $output == *'"bits_per_weight"'* ]]
	done
}

@test "mount: every tensor equals the original's; unit files hidden" {
	require_fuse
	for f in $FIXTURES; do
		mount_df11fs "$DATA/$f/df11" "$BATS_TEST_TMPDIR/m-$f"
		python3 "$CMP" "$BATS_TEST_TMPDIR/m-$f" "$DATA/$f/orig"
		cmp "$BATS_TEST_TMPDIR/m-$f/config.json" "$DATA/$f/orig/config.json"
		run -0 ls "$BATS_TEST_TMPDIR/m-$f"
		[ "$output" = "$(printf 'config.json\ngeneration_config.json\nmodel.safetensors')" ]
		[ ! -e "$BATS_TEST_TMPDIR/m-$f/model_layers_0.safetensors" ]
	done
}

@test "mount with headers: sha256 of every file equals the original" {
	require_fuse
	for f in $FIXTURES; do
		df11 headers "$DATA/$f/orig" >"$BATS_TEST_TMPDIR/h-$f.json"
		mount_df11fs "$DATA/$f/df11" "$BATS_TEST_TMPDIR/mh-$f" \
			-o "headers=$BATS_TEST_TMPDIR/h-$f.json"
		[ "$(sums "$BATS_TEST_TMPDIR/mh-$f")" = "$(sums "$DATA/$f/orig")" ]
	done
}

@test "mount with shards: index consistent, tensors equal" {
	require_fuse
	mount_df11fs "$DATA/llama-tiny/df11" "$BATS_TEST_TMPDIR/ms" \
		-o max_shard_size=3000000
	[ -e "$BATS_TEST_TMPDIR/ms/model.safetensors.index.json" ]
	python3 "$CMP" "$BATS_TEST_TMPDIR/ms" "$DATA/llama-tiny/orig"
}

@test "corrupt luts, output_positions, encoded_exponent: errors, not bytes" {
	local spec
	for spec in "luts 0" "output_positions 4" "encoded_exponent 100"; do
		set -- $spec
		corrupt llama-tiny model_layers_0.safetensors "model.layers.0.$1" "$2"
		run -1 df11 verify -q "$BATS_TEST_TMPDIR/c"
		[[ $output == *"unit 'model.layers.0'"*"corrupt DF11 data"* ]]
		run ! df11 decompress -q "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/x"
		no_output "$BATS_TEST_TMPDIR/x"
	done
}

@test "corrupt encoded_exponent through the mount: EIO" {
	require_fuse
	corrupt llama-tiny model_layers_0.safetensors \
		model.layers.0.encoded_exponent 100
	mount_df11fs "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/mc"
	[ "$(read_errno "$BATS_TEST_TMPDIR/mc/model.safetensors")" = 5 ]
	grep -q "corrupt DF11 data" "$BATS_TEST_TMPDIR/mc.log"
}

@test "a source file rewritten or removed under the mount: EIO, not mixed bytes" {
	require_fuse
	local c=$BATS_TEST_TMPDIR/c m=$BATS_TEST_TMPDIR/mw
	cp -r "$DATA/llama-tiny/df11" "$c"
	mount_df11fs "$c" "$m"
	ls "$m" >/dev/null # the directory is read now
	touch -d '+1 hour' "$c/model_layers_1.safetensors" # rewritten in place
	[ "$(read_errno "$m/model.safetensors")" = 5 ]
	grep -q "source file changed or removed" "$m.log"
	cmp "$m/generation_config.json" "$c/generation_config.json"
	unmount_df11fs "$m"
	mount_df11fs "$c" "$m"
	[ "$(read_errno "$m/model.safetensors")" = 0 ] # a new mount reads it
	unmount_df11fs "$m"
	mount_df11fs "$c" "$m"
	ls "$m" >/dev/null
	rm "$c/lm_head.safetensors"
	[ "$(read_errno "$m/model.safetensors")" = 5 ]
}

@test "malformed unit tables: the directory is refused with a reason" {
	corrupt llama-tiny model_layers_0.safetensors model.layers.0.split_positions 0
	run -4 df11 info "$BATS_TEST_TMPDIR/c"
	[[ $output == *"65791 weights, but config.json gives [256, 256]"* ]]
}

@test "unknown architecture: refused, asking for the headers" {
	cp -r "$DATA/llama-tiny/df11" "$BATS_TEST_TMPDIR/u"
	chmod -R u+w "$BATS_TEST_TMPDIR/u"
	sed -i 's/"model_type": "llama"/"model_type": "mystery"/' \
		"$BATS_TEST_TMPDIR/u/config.json"
	run -5 df11 decompress -q "$BATS_TEST_TMPDIR/u" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"cannot resolve the shape of"*"df11 headers"* ]]
	df11 headers "$DATA/llama-tiny/orig" >"$BATS_TEST_TMPDIR/h.json"
	df11 decompress -q --headers "$BATS_TEST_TMPDIR/h.json" \
		"$BATS_TEST_TMPDIR/u" "$BATS_TEST_TMPDIR/y"
	python3 "$CMP" "$BATS_TEST_TMPDIR/y" "$DATA/llama-tiny/orig"
}

@test "a pattern_dict regex that cannot be translated is refused" {
	cp -r "$DATA/llama-tiny/df11" "$BATS_TEST_TMPDIR/r"
	chmod -R u+w "$BATS_TEST_TMPDIR/r"
	sed -i 's/"lm_head": \[\]/"(?=lm)lm_head": []/' "$BATS_TEST_TMPDIR/r/config.json"
	run -5 df11 info "$BATS_TEST_TMPDIR/r"
	[[ $output == *"regex feature not supported"* ]]
}

@test "the DFloat11 0.1 layout is refused" {
	mkdir -p "$BATS_TEST_TMPDIR/legacy"
	echo '{"model_type": "llama"}' >"$BATS_TEST_TMPDIR/legacy/config.json"
	: >"$BATS_TEST_TMPDIR/legacy/decode.ptx"
	: >"$BATS_TEST_TMPDIR/legacy/model.layers.0.pkl"
	run -5 df11 decompress -q "$BATS_TEST_TMPDIR/legacy" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"0.1 layout"*"not supported"* ]]
}

@test "--headers on a directory that is not official is a usage error" {
	mkdir -p "$BATS_TEST_TMPDIR/plain"
	run -2 df11 info --headers /dev/null "$BATS_TEST_TMPDIR/plain"
}

@test "a Git LFS pointer in place of a unit file: one line naming it (df11 4; df11fs EIO and the log line)" {
	local r=$BATS_TEST_TMPDIR/r m=$BATS_TEST_TMPDIR/ml c msg
	mkdir -p "$r"
	cp -r "$DATA/llama-tiny/df11" "$r/l"
	cp -r "$DATA/qwen3-tiny/df11" "$r/q"
	chmod -R u+w "$r"
	c=$r/l
	printf '%s\n' "version https://git-lfs.github.com/spec/v1" \
		"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393" \
		"size 1300000" >"$c/model_layers_1.safetensors"
	msg="'$c/model_layers_1.safetensors' is a Git LFS pointer, not the file: fetch it with git lfs pull"
	run -4 df11 info "$c"
	[ "$output" = "df11: $msg" ]
	run -4 df11 verify -q "$c"
	[ "$output" = "df11: $msg" ]
	run -4 df11 verify -q "$c" "$DATA/llama-tiny/orig"
	[ "$output" = "df11: $msg" ]
	run -4 df11 decompress -q "$c" "$BATS_TEST_TMPDIR/x"
	[ "$output" = "df11: $msg" ]
	no_output "$BATS_TEST_TMPDIR/x"

	require_fuse
	mount_df11fs "$r" "$m"
	run ls "$m/l"
	[ "$status" -ne 0 ]
	[ "$(read_errno "$m/l/model.safetensors")" = 5 ]
	grep -q "l/model_layers_1.safetensors' is a Git LFS pointer, not the file: fetch it with git lfs pull" "$m.log"
	[ "$(grep -c "Git LFS pointer" "$m.log")" -eq 1 ]
	# the other model of the mount reads as usual
	python3 "$CMP" "$m/q" "$DATA/qwen3-tiny/orig"
}

@test "decompress and info of an official directory with the wrong operand count: usage errors" {
	run -2 df11 decompress "$DATA/llama-tiny/df11"
	[[ $output == *"decompress: expected DST and OUT"* ]]
	run -2 df11 info "$DATA/llama-tiny/df11" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"info: expected DST"* ]]
}
