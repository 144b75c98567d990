#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/207-official-integrity.bats - df11 verify on official
# DFloat11 directories checks each *.safetensors file against the hash
# huggingface_hub recorded: a hub cache snapshot's blob names, a
# --local-dir folder's .cache/huggingface/download/*.metadata etags;
# damage that decoding cannot see (sign_mantissa) fails verify, naming
# the file; files with nothing recorded are named as not checked

load helpers

DATA=$BATS_TEST_DIRNAME/../data/official
FIX=$DATA/llama-tiny

setup_file() {
	require_bins
}

# snapshot HUB - lay out the llama-tiny fixture as a hub cache in HUB;
# prints the snapshot directory
snapshot() {
	local rev
	rev=$("$BATS_TEST_DIRNAME/../mkhub.sh" "$1" org--llama "$FIX/df11")
	chmod -R u+w "$1"
	echo "$1/models--org--llama/snapshots/$rev"
}

# local_dir DIR [SUB] - the llama-tiny fixture as huggingface-cli download
# --local-dir DIR writes it (below DIR/SUB when given): each
# *.safetensors file's metadata (commit, etag, timestamp), the etag its
# sha256; model.safetensors, the small one, as a file kept in git, its
# etag the git blob sha1
local_dir() {
	local d=$1/${2:-.} m=$1/.cache/huggingface/download/${2:-.}
	mkdir -p "$m"
	cp -r "$FIX/df11/." "$d"
	chmod -R u+w "$1"
	python3 - "$d" "$m" <<'PY'
import hashlib, os, sys
d, m = sys.argv[1], sys.argv[2]
for f in sorted(os.listdir(d)):
    if not f.endswith(".safetensors"):
        continue
    b = open(os.path.join(d, f), "rb").read()
    if f == "model.safetensors":
        etag = hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest()
    else:
        etag = hashlib.sha256(b).hexdigest()
    with open(os.path.join(m, f + ".metadata"), "w") as fh:
        fh.write("%s\n%s\n%s\n" % ("1" * 40, etag, "1712656091.123"))
PY
}

# flip_mantissa FILE - invert the middle byte of the sign_mantissa stream
# of layer 0 in FILE (through a link: its target)
flip_mantissa() {
	python3 - "$1" <<'PY'
import json, struct, sys
path = sys.argv[1]
b = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
s, e = json.loads(b[8:8 + n])["model.layers.0.sign_mantissa"]["data_offsets"]
b[8 + n + s + (e - s) // 2] ^= 0x01
open(path, "wb").write(b)
PY
}

@test "hub cache snapshot and --local-dir folder with their hashes: every file checked, verify passes" {
	local s l=$BATS_TEST_TMPDIR/l
	s=$(snapshot "$BATS_TEST_TMPDIR/hub")
	run -0 df11 verify "$s"
	[[ $output == *"ok: 5 of 5 *.safetensors files of '$s' have the hash huggingface_hub recorded"* ]]
	[[ $output == *"ok: 4 units decoded"* ]]
	[[ $output != *"not checked"* ]]
	local_dir "$l"
	run -0 df11 verify "$l"
	[[ $output == *"ok: 5 of 5 *.safetensors files of '$l' have the hash huggingface_hub recorded"* ]]
	[[ $output != *"not checked"* ]]
	# with the original too: the tensors compared as before
	run -0 df11 verify "$l" "$FIX/orig"
	[[ $output == *"ok: 5 of 5 "* ]]
	[[ $output == *"units decoded, equal to '$FIX/orig'"* ]]
	run -0 df11 verify -q "$s"
	[ -z "$output" ]
}

@test "a flipped sign_mantissa byte decodes silently; verify fails (1) naming the file and both digests" {
	local s l=$BATS_TEST_TMPDIR/l blob f
	s=$(snapshot "$BATS_TEST_TMPDIR/hub")
	blob=$(readlink "$s/model_layers_0.safetensors")
	flip_mantissa "$s/$blob"
	# decoding cannot see it: decompress writes wrong weights, status 0
	run -0 df11 decompress -q "$s" "$BATS_TEST_TMPDIR/x"
	run -1 df11 verify -q "$s"
	[[ $output == *"df11: '$s/model_layers_0.safetensors': sha256 "*" differs from ${blob##*/}, recorded by huggingface_hub as the link's target '$blob'"* ]]
	[[ $output != *lm_head* ]]
	# the same in a --local-dir folder, also with the original given
	local_dir "$l"
	flip_mantissa "$l/model_layers_0.safetensors"
	f=$(realpath "$l")/.cache/huggingface/download/model_layers_0.safetensors.metadata
	run -1 df11 verify -q "$l"
	[[ $output == *"df11: '$l/model_layers_0.safetensors': sha256 "*"recorded by huggingface_hub in '$f'"* ]]
	run -1 df11 verify -q "$l" "$FIX/orig"
	[[ $output == *"'$l/model_layers_0.safetensors': sha256 "* ]]
	# a file kept in git: its git blob sha1
	printf 'x' >>"$l/model.safetensors"
	run -1 df11 verify -q "$l"
	[[ $output == *"'$l/model.safetensors': git blob sha1 "*" differs from "* ]]
}

@test "files without a recorded hash are named as not checked" {
	local l=$BATS_TEST_TMPDIR/l
	local_dir "$l"
	rm "$l/.cache/huggingface/download/lm_head.safetensors.metadata"
	# an etag that is no digest records nothing either
	printf 'c\nnot-a-digest\n1\n' \
		>"$l/.cache/huggingface/download/model.safetensors.metadata"
	run -0 df11 verify "$l"
	[[ $output == *"not checked '$l/lm_head.safetensors': no hash recorded by huggingface_hub"* ]]
	[[ $output == *"not checked '$l/model.safetensors': no hash recorded by huggingface_hub"* ]]
	[[ $output == *"ok: 3 of 5 *.safetensors files of '$l' have the hash"* ]]
	[[ $output != *"not checked '$l/model_layers_0"* ]]
	# a plain directory: one line for all of its files
	run -0 df11 verify "$FIX/df11"
	[[ $output == *"not checked: no hash recorded by huggingface_hub for the 5 *.safetensors files of '$FIX/df11'"* ]]
}

@test "pipeline folder downloaded with --local-dir: a component's files checked against download/COMPONENT/" {
	local p=$BATS_TEST_TMPDIR/p
	mkdir -p "$p/transformer" "$p/vae"
	echo '{}' >"$p/model_index.json"
	local_dir "$p" transformer
	run -0 df11 verify "$p"
	[[ $output == *"ok: 5 of 5 *.safetensors files of '$p/transformer' have the hash"* ]]
	flip_mantissa "$p/transformer/model_layers_0.safetensors"
	run -1 df11 verify -q "$p"
	[[ $output == *"'$p/transformer/model_layers_0.safetensors': sha256 "*"download/transformer/model_layers_0.safetensors.metadata'"* ]]
	# the component on its own finds the folder's metadata above it
	run -1 df11 verify -q "$p/transformer"
	[[ $output == *"'$p/transformer/model_layers_0.safetensors': sha256 "* ]]
}
