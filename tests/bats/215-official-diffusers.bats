#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/215-official-diffusers.bats - official DFloat11 diffusion
# transformers: the flux-tiny fixture (made by the official package; its
# config.json holds only dfloat11_config). Shapes from the plain biases,
# the user's original-config.json (FLUX rules, shown as config.json) and
# original-headers.json (per model, also in a mount of several models),
# the diffusers layout (diffusion_pytorch_model.safetensors, sharded with
# its index json), pipeline folders passed through, and df11 info when
# shapes are unknown.

load helpers
load mount_helpers

CMP=$BATS_TEST_DIRNAME/st_compare.py
SAVE=$BATS_TEST_DIRNAME/st_save.py
FLUX=${DF11_FLUX_TINY:-/work/shared/fixtures/flux-tiny}

setup_file() {
	require_bins
}

setup() {
	[ -d "$FLUX/df11" ] || skip "no flux-tiny fixture at $FLUX"
	ORIG=$FLUX/orig
	SUM=$(grep ' ./orig/diffusion_pytorch_model.safetensors$' \
		"$FLUX/SHA256SUMS" | cut -d' ' -f1)
}

teardown() {
	unmount_all
}

sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

# flux DIR - a writable copy of flux-tiny's df11 directory at DIR
flux() {
	cp -r "$FLUX/df11" "$1"
	chmod -R u+w "$1"
}

# drop_tensor FILE NAME - rewrite safetensors FILE without tensor NAME
drop_tensor() {
	python3 - "$@" <<'EOF'
import json, struct, sys
path, drop = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
hdr, data = json.loads(b[8:8 + n]), b[8 + n:]
out, parts, off = {}, [], 0
for k, v in hdr.items():
    if k == "__metadata__" or k == drop:
        continue
    s, e = v["data_offsets"]
    parts.append(data[s:e])
    out[k] = dict(v, data_offsets=[off, off + e - s])
    off += e - s
h = json.dumps(out, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(parts))
EOF
}

# shard2 SRC OUT - OUT: SRC's tensors in two shards plus an index json,
# as diffusers names them (a stand-in for an original saved sharded)
shard2() {
	python3 - "$@" <<'EOF'
import json, os, struct, sys
src, out = sys.argv[1], sys.argv[2]
b = open(os.path.join(src, "diffusion_pytorch_model.safetensors"), "rb").read()
n = struct.unpack("<Q", b[:8])[0]
hdr, data = json.loads(b[8:8 + n]), b[8 + n:]
names = sorted(k for k in hdr if k != "__metadata__")
os.makedirs(out)
wmap = {}
for i, part in enumerate((names[:len(names) // 2], names[len(names) // 2:])):
    fn = "diffusion_pytorch_model-%05d-of-00002.safetensors" % (i + 1)
    h, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k in part:
        s, e = hdr[k]["data_offsets"]
        blobs.append(data[s:e])
        h[k] = dict(hdr[k], data_offsets=[off, off + e - s])
        off += e - s
        wmap[k] = fn
    hb = json.dumps(h, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(os.path.join(out, fn), "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
idx = {"metadata": {"total_size": len(data)}, "weight_map": wmap}
with open(os.path.join(out, "diffusion_pytorch_model.safetensors.index.json"), "w") as f:
    f.write(json.dumps(idx, indent=2, sort_keys=True) + "\n")
EOF
}

@test "flux-tiny alone (config.json only dfloat11_config): shapes from biases, the original file byte for byte" {
	local o=$BATS_TEST_TMPDIR/o
	df11 decompress -q "$FLUX/df11" "$o"
	run -0 ls "$o"
	[ "$output" = "$(printf 'config.json\ndiffusion_pytorch_model.safetensors')" ]
	[ "$(sha "$o/diffusion_pytorch_model.safetensors")" = "$SUM" ]
	run -0 python3 "$CMP" "$o" "$ORIG"
	[[ $output == "126 tensors equal" ]]
	run ! grep -q dfloat11 "$o/config.json"
	run -0 df11 verify "$FLUX/df11" "$ORIG"
	# df11 info resolves every piece too
	run -0 df11 info "$FLUX/df11"
	[[ $output == *"single_transformer_blocks.0.proj_out.weight  BF16  [128, 640]"* ]]
}

@test "no original-config.json: config.json is {} with one warning (df11 decompress, info; df11fs log), the same bytes everywhere" {
	local o=$BATS_TEST_TMPDIR/o m=$BATS_TEST_TMPDIR/m d=$BATS_TEST_TMPDIR/d
	local warn="config.json holds no architecture (no _class_name: the DFloat11 release's config.json has only dfloat11_config), which diffusers needs to load the model; copy the original model's config.json into the directory as original-config.json"
	run -0 --separate-stderr df11 decompress -q "$FLUX/df11" "$o"
	[ "$stderr" = "df11: warning: '$FLUX/df11': $warn" ]
	[ "$(cat "$o/config.json")" = "{}" ]
	run -0 --separate-stderr df11 info "$FLUX/df11"
	[ "$stderr" = "df11: warning: '$FLUX/df11': $warn" ]
	[[ $output == *"config.json: file, 2 -> 2 bytes"* ]]
	# the two-key config.json of the published releases: model_type kept
	flux "$d"
	python3 - "$d/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["model_type"] = "llama"
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
	run -0 --separate-stderr df11 decompress -q "$d" "$BATS_TEST_TMPDIR/o2"
	[ "$stderr" = "df11: warning: '$d': $warn" ]
	python3 -c 'import json,sys; assert json.load(open(sys.argv[1])) == {"model_type": "llama"}' \
		"$BATS_TEST_TMPDIR/o2/config.json"
	# with the original config: no warning
	cp "$ORIG/config.json" "$d/original-config.json"
	run -0 --separate-stderr df11 decompress -q "$d" "$BATS_TEST_TMPDIR/o3"
	[ -z "$stderr" ]
	cmp "$BATS_TEST_TMPDIR/o3/config.json" "$ORIG/config.json"

	require_fuse
	mount_df11fs "$FLUX/df11" "$m"
	cmp "$m/config.json" "$o/config.json"
	[ "$(sha "$m/diffusion_pytorch_model.safetensors")" = "$SUM" ]
	grep -qF "$warn" "$m.log"
	[ "$(grep -c "holds no architecture" "$m.log")" -eq 1 ]
}

@test "tensors in a file as safetensors' save_file orders them: dtype, then name (byte for byte, also with F32 tensors)" {
	local d=$BATS_TEST_TMPDIR/d o=$BATS_TEST_TMPDIR/o w=$BATS_TEST_TMPDIR/want f
	mkdir -p "$w"
	# the writer of the test first reproduces every file of the fixture,
	# which safetensors wrote (the unit files hold I64, BF16 and U8)
	python3 "$SAVE" resave "$ORIG/diffusion_pytorch_model.safetensors" \
		"$w/orig" --meta
	cmp "$w/orig" "$ORIG/diffusion_pytorch_model.safetensors"
	for f in "$FLUX"/df11/*.safetensors; do
		python3 "$SAVE" resave "$f" "$w/x"
		cmp "$w/x" "$f"
	done
	# two plain tensors F32: save_file puts them first
	flux "$d"
	python3 "$SAVE" resave "$FLUX/df11/model.safetensors" \
		"$d/model.safetensors" --f32 proj_out.bias --f32 x_embedder.bias
	python3 "$SAVE" resave "$ORIG/diffusion_pytorch_model.safetensors" \
		"$w/diffusion_pytorch_model.safetensors" --meta \
		--f32 proj_out.bias --f32 x_embedder.bias
	df11 decompress -q "$d" "$o" 2>/dev/null
	[ "$(sha "$o/diffusion_pytorch_model.safetensors")" = \
		"$(sha "$w/diffusion_pytorch_model.safetensors")" ]

	require_fuse
	mount_df11fs "$d" "$BATS_TEST_TMPDIR/m"
	cmp "$BATS_TEST_TMPDIR/m/diffusion_pytorch_model.safetensors" \
		"$w/diffusion_pytorch_model.safetensors"
}

@test "shards cut as huggingface_hub cuts them (a tensor above the size gets its own shard where it is met), in name order" {
	local o=$BATS_TEST_TMPDIR/o w=$BATS_TEST_TMPDIR/want f
	mkdir -p "$w"
	# 196608- and 163840-byte tensors are above 150000 bytes
	python3 "$SAVE" shards "$ORIG/diffusion_pytorch_model.safetensors" \
		150000 "$w" diffusion_pytorch_model
	df11 decompress -q --max-shard-size 150000 "$FLUX/df11" "$o" 2>/dev/null
	rm "$o/config.json"
	run -0 ls "$o"
	[ "$output" = "$(ls "$w")" ]
	for f in "$w"/*; do
		cmp "$f" "$o/${f##*/}"
	done
}

@test "original-config.json: FLUX rules where a bias is missing, shown as config.json" {
	local d=$BATS_TEST_TMPDIR/d o=$BATS_TEST_TMPDIR/o
	flux "$d"
	drop_tensor "$d/transformer_blocks_1.safetensors" \
		transformer_blocks.1.attn.to_q.bias
	# without the config: refused, naming the tensor and what to supply
	run -5 df11 decompress -q "$d" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"'transformer_blocks.1.attn.to_q.weight': no bias"*"original-config.json"*"df11 headers"* ]]
	no_output "$BATS_TEST_TMPDIR/x"

	cp "$ORIG/config.json" "$d/original-config.json"
	df11 decompress -q "$d" "$o"
	run -0 ls "$o"
	[ "$output" = "$(printf 'config.json\ndiffusion_pytorch_model.safetensors')" ]
	cmp "$o/config.json" "$ORIG/config.json"
	python3 - "$o/diffusion_pytorch_model.safetensors" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
h = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])
assert h["transformer_blocks.1.attn.to_q.weight"]["shape"] == [128, 128], h
assert "transformer_blocks.1.attn.to_q.bias" not in h
EOF
	# the full fixture with the config: still the original byte for byte
	flux "$BATS_TEST_TMPDIR/f"
	cp "$ORIG/config.json" "$BATS_TEST_TMPDIR/f/original-config.json"
	df11 decompress -q "$BATS_TEST_TMPDIR/f" "$BATS_TEST_TMPDIR/fo"
	[ "$(sha "$BATS_TEST_TMPDIR/fo/diffusion_pytorch_model.safetensors")" = "$SUM" ]
	cmp "$BATS_TEST_TMPDIR/fo/config.json" "$ORIG/config.json"
}

@test "original-config.json that contradicts a piece: refused, not guessed" {
	local d=$BATS_TEST_TMPDIR/d
	flux "$d"
	drop_tensor "$d/transformer_blocks_0.safetensors" \
		transformer_blocks.0.ff.net.2.bias
	sed 's/"attention_head_dim": 64/"attention_head_dim": 32/' \
		"$ORIG/config.json" >"$d/original-config.json"
	run -4 df11 decompress -q "$d" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"'transformer_blocks.0.ff.net.2.weight': 65536 weights, but original-config.json gives [64, 256]"* ]]
}

@test "info with unknown shapes: units and files listed, then the reason (exit 5)" {
	local d=$BATS_TEST_TMPDIR/d
	flux "$d"
	drop_tensor "$d/single_transformer_blocks_2.safetensors" \
		single_transformer_blocks.2.proj_mlp.bias
	run -5 df11 info "$d"
	[[ $output == *"unit transformer_blocks.0 (transformer_blocks_0.safetensors): 589824 weights"* ]]
	[[ $output == *"unit single_transformer_blocks.2 "* ]]
	[[ $output == *"config.json: file"* ]]
	[[ $output == *"cannot resolve the shape of 'single_transformer_blocks.2.proj_mlp.weight'"*"original-config.json"* ]]
	run -5 --separate-stderr df11 info --json "$d"
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert len(d["units"]) == 5, d["units"]
assert [f["name"] for f in d["files"]] == ["config.json"], d["files"]
' "$output"
}

@test "original-headers.json per model, in a mount of two models" {
	local r=$BATS_TEST_TMPDIR/r m=$BATS_TEST_TMPDIR/m
	require_fuse
	mkdir -p "$r"
	shard2 "$ORIG" "$BATS_TEST_TMPDIR/o2"
	flux "$r/a"
	flux "$r/b"
	df11 headers "$BATS_TEST_TMPDIR/o2" >"$r/a/original-headers.json"
	df11 headers "$ORIG" >"$r/b/original-headers.json"
	cp "$ORIG/config.json" "$r/b/original-config.json"
	# the tool takes them too
	df11 decompress -q "$r/a" "$BATS_TEST_TMPDIR/ao"
	for f in "$BATS_TEST_TMPDIR"/o2/*; do
		cmp "$f" "$BATS_TEST_TMPDIR/ao/${f##*/}"
	done

	mount_df11fs "$r" "$m"
	run -0 ls "$m/a"
	[ "$output" = "$(printf '%s\n' config.json \
		diffusion_pytorch_model-00001-of-00002.safetensors \
		diffusion_pytorch_model-00002-of-00002.safetensors \
		diffusion_pytorch_model.safetensors.index.json)" ]
	for f in "$BATS_TEST_TMPDIR"/o2/*; do
		cmp "$f" "$m/a/${f##*/}"
	done
	run -0 ls "$m/b"
	[ "$output" = "$(printf 'config.json\ndiffusion_pytorch_model.safetensors')" ]
	[ "$(sha "$m/b/diffusion_pytorch_model.safetensors")" = "$SUM" ]
	cmp "$m/b/config.json" "$ORIG/config.json"
}

@test "diffusers shards and index above --max-shard-size / -o max_shard_size" {
	local o=$BATS_TEST_TMPDIR/o m=$BATS_TEST_TMPDIR/m
	df11 decompress -q --max-shard-size 1000000 "$FLUX/df11" "$o"
	run -0 ls "$o"
	[ "$output" = "$(printf '%s\n' config.json \
		diffusion_pytorch_model-00001-of-00005.safetensors \
		diffusion_pytorch_model-00002-of-00005.safetensors \
		diffusion_pytorch_model-00003-of-00005.safetensors \
		diffusion_pytorch_model-00004-of-00005.safetensors \
		diffusion_pytorch_model-00005-of-00005.safetensors \
		diffusion_pytorch_model.safetensors.index.json)" ]
	run -0 python3 "$CMP" "$o" "$ORIG"
	tail -c 1 "$o/diffusion_pytorch_model.safetensors.index.json" | od -c | grep -q '\\n'
	grep -q '"total_size": 4206112' \
		"$o/diffusion_pytorch_model.safetensors.index.json"

	require_fuse
	mount_df11fs "$FLUX/df11" "$m" -o max_shard_size=1000000
	run -0 python3 "$CMP" "$m" "$ORIG"
	for f in "$o"/*; do
		cmp "$f" "$m/${f##*/}"
	done
}

@test "--max-shard-size and -o max_shard_size read a size alike: 1M = 1MiB, 1MB = 10^6" {
	local m=$BATS_TEST_TMPDIR/m s
	for s in 1M 1MiB 1048576 1MB 1000000; do
		df11 decompress -q --max-shard-size "$s" "$FLUX/df11" \
			"$BATS_TEST_TMPDIR/o-$s"
	done
	for s in 1MiB 1048576; do
		diff -r "$BATS_TEST_TMPDIR/o-1M" "$BATS_TEST_TMPDIR/o-$s"
	done
	diff -r "$BATS_TEST_TMPDIR/o-1MB" "$BATS_TEST_TMPDIR/o-1000000"
	# the two cuts differ, so the test tells 1000 from 1024
	run ! cmp -s "$BATS_TEST_TMPDIR/o-1M/diffusion_pytorch_model.safetensors.index.json" \
		"$BATS_TEST_TMPDIR/o-1MB/diffusion_pytorch_model.safetensors.index.json"
	run -2 df11 decompress -q --max-shard-size 1Mb "$FLUX/df11" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"invalid shard size '1Mb'"* ]]

	require_fuse
	for s in 1M 1MB; do
		mount_df11fs "$FLUX/df11" "$m" -o "max_shard_size=$s"
		run -0 ls "$m"
		[ "$output" = "$(ls "$BATS_TEST_TMPDIR/o-$s")" ]
		for f in "$BATS_TEST_TMPDIR/o-$s"/*; do
			cmp "$f" "$m/${f##*/}"
		done
		unmount_df11fs "$m"
	done
}

@test "pipeline folder: transformer/ shown as diffusers writes it, the other components as they are" {
	local p=$BATS_TEST_TMPDIR/p m=$BATS_TEST_TMPDIR/m
	require_fuse
	mkdir -p "$p/vae" "$p/text_encoder"
	flux "$p/transformer"
	echo '{"_class_name": "FluxPipeline"}' >"$p/model_index.json"
	cp "$ORIG/diffusion_pytorch_model.safetensors" "$p/vae/"
	echo '{"_class_name": "AutoencoderKL"}' >"$p/vae/config.json"
	echo '{"architectures": ["CLIPTextModel"]}' >"$p/text_encoder/config.json"
	mount_df11fs "$p" "$m"
	run -0 ls "$m"
	[ "$output" = "$(printf 'model_index.json\ntext_encoder\ntransformer\nvae')" ]
	cmp "$m/model_index.json" "$p/model_index.json"
	cmp "$m/vae/diffusion_pytorch_model.safetensors" \
		"$p/vae/diffusion_pytorch_model.safetensors"
	cmp "$m/vae/config.json" "$p/vae/config.json"
	cmp "$m/text_encoder/config.json" "$p/text_encoder/config.json"
	run -0 ls "$m/transformer"
	[ "$output" = "$(printf 'config.json\ndiffusion_pytorch_model.safetensors')" ]
	[ "$(sha "$m/transformer/diffusion_pytorch_model.safetensors")" = "$SUM" ]

	# df11 decompress writes the same tree
	df11 decompress -q "$p" "$BATS_TEST_TMPDIR/o"
	run -0 find "$BATS_TEST_TMPDIR/o" -type f -printf '%P\n'
	[ "$(sort <<<"$output")" = "$(printf '%s\n' model_index.json \
		text_encoder/config.json transformer/config.json \
		transformer/diffusion_pytorch_model.safetensors \
		vae/config.json vae/diffusion_pytorch_model.safetensors)" ]
	for f in model_index.json text_encoder/config.json vae/config.json \
		vae/diffusion_pytorch_model.safetensors transformer/config.json \
		transformer/diffusion_pytorch_model.safetensors; do
		cmp "$BATS_TEST_TMPDIR/o/$f" "$m/$f"
	done
}

# pipeline DIR - a diffusers pipeline folder at DIR: transformer/ is
# flux-tiny's df11 directory, vae/ and text_encoder/ are plain
pipeline() {
	mkdir -p "$1/vae" "$1/text_encoder"
	flux "$1/transformer"
	echo '{"_class_name": "FluxPipeline"}' >"$1/model_index.json"
	cp "$ORIG/diffusion_pytorch_model.safetensors" "$1/vae/"
	echo '{"_class_name": "AutoencoderKL"}' >"$1/vae/config.json"
	echo '{"architectures": ["CLIPTextModel"]}' >"$1/text_encoder/config.json"
}

@test "info and verify of a pipeline folder: the official component in full, the others passed over with a line" {
	local p=$BATS_TEST_TMPDIR/p s=$BATS_TEST_TMPDIR/s
	pipeline "$p"
	cp "$ORIG/config.json" "$p/transformer/original-config.json"
	run -0 --separate-stderr df11 info "$p"
	[[ $output == *"unit transformer_blocks.0 (transformer/transformer_blocks_0.safetensors): 589824 weights"* ]]
	[[ $output == *"transformer/diffusion_pytorch_model.safetensors: official, 4219848 -> "* ]]
	[[ $output == *"vae/diffusion_pytorch_model.safetensors: file, 4219848 -> 4219848 bytes"* ]]
	[[ $output != *"transformer_blocks_0.safetensors: file"* ]]
	[ "$stderr" = "$(printf '%s\n' \
		"df11: '$p/text_encoder': not an official DFloat11 component: passed over, its files listed as they are" \
		"df11: '$p/vae': not an official DFloat11 component: passed over, its files listed as they are")" ]
	# the document lists what decompress writes
	df11 decompress -q "$p" "$BATS_TEST_TMPDIR/o"
	run -0 --separate-stderr df11 info --json "$p"
	python3 - "$output" "$BATS_TEST_TMPDIR/o" <<'PY'
import json, os, sys
d = json.loads(sys.argv[1])
files = sorted(os.path.relpath(os.path.join(r, f), sys.argv[2])
               for r, _, fs in os.walk(sys.argv[2]) for f in fs)
assert [f["name"] for f in d["files"]] == files, (d["files"], files)
for f in d["files"]:
    assert f["size"] == os.path.getsize(os.path.join(sys.argv[2], f["name"])), f
assert len(d["units"]) == 5 and all(u["file"].startswith("transformer/") for u in d["units"])
assert d["kind"] == "official" and d["dfloat11_version"] == "0.5.0"
PY

	run -0 df11 verify "$p"
	[[ $output == *"ok 'transformer/diffusion_pytorch_model.safetensors'"* ]]
	[[ $output == *"ok: transformer/: 5 units decoded"* ]]
	[[ $output == *"passed over '$p/text_encoder': not an official DFloat11 component"* ]]
	[[ $output == *"passed over '$p/vae': not an official DFloat11 component"* ]]
	# against the original pipeline: the component against its original
	mkdir -p "$s"
	cp -r "$ORIG" "$s/transformer"
	chmod -R u+w "$s"
	run -0 df11 verify "$p" "$s"
	[[ $output == *"ok: transformer/: 5 units decoded, equal to '$s/transformer'"* ]]
	python3 - "$s/transformer/diffusion_pytorch_model.safetensors" <<'PY'
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", b[:8])[0]
s, e = json.loads(b[8:8 + n])["transformer_blocks.1.ff.net.2.weight"]["data_offsets"]
b[8 + n + s + 10] ^= 0x01
open(sys.argv[1], "wb").write(b)
PY
	run -1 df11 verify -q "$p" "$s"
	[[ $output == *"transformer/diffusion_pytorch_model.safetensors"*"transformer_blocks.1.ff.net.2.weight"* ]]
}

@test "original-config.json / original-headers.json that are not regular files: refused, naming them" {
	local d=$BATS_TEST_TMPDIR/d m=$BATS_TEST_TMPDIR/m
	flux "$d"
	mkfifo "$d/original-config.json"
	run -5 df11 decompress -q "$d" "$BATS_TEST_TMPDIR/x"
	[[ $output == *"original-config.json"*"not a regular file"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
	rm "$d/original-config.json"
	df11 headers "$ORIG" >"$BATS_TEST_TMPDIR/h.json"
	ln -s "$BATS_TEST_TMPDIR/h.json" "$d/original-headers.json"
	# the tool follows links (a Hugging Face snapshot), the daemon never
	df11 decompress -q "$d" "$BATS_TEST_TMPDIR/y"
	[ "$(sha "$BATS_TEST_TMPDIR/y/diffusion_pytorch_model.safetensors")" = "$SUM" ]
	require_fuse
	mkdir -p "$BATS_TEST_TMPDIR/r"
	mv "$d" "$BATS_TEST_TMPDIR/r/d"
	flux "$BATS_TEST_TMPDIR/r/e"
	mount_df11fs "$BATS_TEST_TMPDIR/r" "$m"
	run ls "$m/d"
	[ "$status" -ne 0 ]
	grep -q "original-headers.json" "$m.log"
	# the other model of the mount still reads
	[ "$(sha "$m/e/diffusion_pytorch_model.safetensors")" = "$SUM" ]
}

@test "an LLM whose config.json holds only dfloat11_config: original-config.json gives shapes and ties" {
	local data=$BATS_TEST_DIRNAME/../data/official f d
	for f in llama-tiny qwen3-tiny; do
		d=$BATS_TEST_TMPDIR/$f
		cp -r "$data/$f/df11" "$d"
		chmod -R u+w "$d"
		python3 - "$d/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
json.dump({"dfloat11_config": c["dfloat11_config"]}, open(sys.argv[1], "w"), indent=2)
PY
		run -5 df11 decompress -q "$d" "$BATS_TEST_TMPDIR/x"
		[[ $output == *"names no architecture"*"original-config.json"* ]]
		cp "$data/$f/orig/config.json" "$d/original-config.json"
		df11 decompress -q "$d" "$BATS_TEST_TMPDIR/$f.out"
		run -0 python3 "$CMP" "$BATS_TEST_TMPDIR/$f.out" "$data/$f/orig"
		cmp "$BATS_TEST_TMPDIR/$f.out/config.json" "$data/$f/orig/config.json"
		[ ! -e "$BATS_TEST_TMPDIR/$f.out/original-config.json" ]
		# an LLM stays model.safetensors, not the diffusers name
		[ -e "$BATS_TEST_TMPDIR/$f.out/model.safetensors" ]
	done
}
