#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/040-wrong-input.bats - input of the wrong kind is refused up
# front, in one line that says what to do, with a non-zero status of its
# class, and nothing is written; what is valid but gains nothing is said
#
# Exit statuses (man/df11.1): 2 usage (the operand is the wrong kind of
# directory), 4 malformed input (a Git LFS pointer in place of a file).

load helpers

setup_file() {
	require_bins
	export M=$BATS_FILE_TMPDIR/m D=$BATS_FILE_TMPDIR/d
	genmodel -S 1M "$M"
	df11 compress -q "$M" "$D"
}

# refused STATUS MESSAGE CMD... - CMD fails with STATUS and prints exactly
# one line, "df11: " followed by MESSAGE (a glob pattern)
refused() {
	local status=$1 msg=$2
	shift 2
	run -"$status" df11 "$@"
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == "df11: "$msg ]]
}

# lfs_pointer FILE - the text Git writes in place of a file kept in LFS
lfs_pointer() {
	printf '%s\n' "version https://git-lfs.github.com/spec/v1" \
		"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393" \
		"size 2200000" >"$1"
}

@test "decompress of a plain BF16 model: 2, nothing written" {
	local out=$BATS_TEST_TMPDIR/out

	refused 2 "'$M' holds no df11 containers and is not an official DFloat11 directory: nothing to decompress; compress a model with 'df11 compress' first" \
		decompress "$M" "$out"
	no_output "$out"
}

@test "verify of a plain BF16 model: 2" {
	refused 2 "'$M' holds no df11 containers *nothing to verify; compress a model with 'df11 compress' first" \
		verify "$M"
	refused 2 "'$M' holds no df11 containers *nothing to verify*" \
		verify -q "$M" "$M"
}

@test "decompress of a directory without safetensors: 2" {
	local e=$BATS_TEST_TMPDIR/e out=$BATS_TEST_TMPDIR/out

	mkdir "$e"
	echo '{}' >"$e/config.json"
	refused 2 "'$e' holds no df11 containers*" decompress "$e" "$out"
	no_output "$out"
}

@test "compress of a DF11 directory: 2, detected by content" {
	local c=$BATS_TEST_TMPDIR/c out=$BATS_TEST_TMPDIR/out

	refused 2 "'$D/model.safetensors' is a df11 container already: '$D' is compressed; compress the original model, or decompress this one" \
		compress "$D" "$out"
	no_output "$out"
	# the name does not matter: a container renamed is still one
	mkdir "$c"
	cp "$M/config.json" "$c/"
	cp "$D/model.safetensors" "$c/renamed.safetensors"
	refused 2 "'$c/renamed.safetensors' is a df11 container already*" \
		compress -q "$c" "$out"
	no_output "$out"
}

@test "compress of an official DFloat11 directory: 2" {
	local o=$BATS_TEST_DIRNAME/../data/official/llama-tiny/df11
	local out=$BATS_TEST_TMPDIR/out

	[ -d "$o" ] || skip "no official fixture"
	refused 2 "'$o' is an official DFloat11 directory, compressed already*" \
		compress -q "$o" "$out"
	no_output "$out"
}

@test "compress of a directory without safetensors: 2" {
	local e=$BATS_TEST_TMPDIR/e out=$BATS_TEST_TMPDIR/out

	mkdir -p "$e/sub"
	echo '{}' >"$e/config.json"
	echo hello >"$e/sub/README.md"
	refused 2 "'$e' holds no \*.safetensors files: nothing to compress; give the directory of a safetensors model" \
		compress -q "$e" "$out"
	no_output "$out"
}

@test "compress with DST inside SRC or equal to it: 2, SRC unchanged" {
	local s=$BATS_TEST_TMPDIR/s before

	cp -r "$M" "$s"
	before=$(tree_sums "$s")
	refused 2 "'$s/out' is inside the source '$s': give a directory outside it" \
		compress -q "$s" "$s/out"
	no_output "$s/out"
	mkdir "$s/sub"
	refused 2 "'$s/sub/x' is inside the source*" compress -q "$s" "$s/sub/x"
	no_output "$s/sub/x"
	# through a symbolic link and a relative path: resolved paths count
	ln -s "$s" "$BATS_TEST_TMPDIR/link"
	refused 2 "'$BATS_TEST_TMPDIR/link/y' is inside the source*" \
		compress -q "$s" "$BATS_TEST_TMPDIR/link/y"
	refused 2 "'$s' is the source itself: give a new directory outside it" \
		compress -q "$s" "$s"
	refused 2 "'$s/./' is the source itself*" compress -q "$s" "$s/./"
	(cd "$s" && run -2 "$DF11" compress -q . ./out2 &&
		[[ $output == *"'./out2' is inside the source '.'"* ]])
	no_output "$s/out2"
	rmdir "$s/sub"
	[ "$(tree_sums "$s")" = "$before" ]
}

@test "a Git LFS pointer as model.safetensors: 4, with the fix" {
	local s=$BATS_TEST_TMPDIR/s out=$BATS_TEST_TMPDIR/out

	cp -r "$M" "$s"
	lfs_pointer "$s/model.safetensors"
	refused 4 "'$s/model.safetensors' is a Git LFS pointer, not the file: fetch it with git lfs pull" \
		compress -q "$s" "$out"
	no_output "$out"
	run -4 df11 info "$s/model.safetensors"
	[[ $output == *"'$s/model.safetensors' is a Git LFS pointer, not the file: fetch it with git lfs pull"* ]]
	[[ $output != *"above the limit"* ]]
	refused 4 "'$s/model.safetensors' is a Git LFS pointer, not the file: fetch it with git lfs pull" \
		headers "$s"
}

@test "a Git LFS pointer in a DF11 directory: 4 from decompress and verify" {
	local c=$BATS_TEST_TMPDIR/c out=$BATS_TEST_TMPDIR/out

	cp -r "$D" "$c"
	lfs_pointer "$c/model.safetensors"
	run -4 df11 verify -q "$c"
	[[ $output == *"'$c/model.safetensors' is a Git LFS pointer, not the file: fetch it with git lfs pull"* ]]
	run -4 df11 decompress -q "$c" "$out"
	[[ $output == *"Git LFS pointer"* ]]
	no_output "$out"
}

@test "an F32-only model: compressed, with a warning and the ratio" {
	local s=$BATS_TEST_TMPDIR/s out=$BATS_TEST_TMPDIR/out

	mkdir "$s"
	echo '{}' >"$s/config.json"
	python3 - "$s/model.safetensors" <<'EOF'
import json, os, struct, sys
h = json.dumps({"w": {"dtype": "F32", "shape": [4096],
                      "data_offsets": [0, 16384]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h +
                              os.urandom(16384))
EOF
	run -0 --separate-stderr df11 compress -q "$s" "$out"
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "df11: warning: no tensor of '$s' is BF16, so nothing was DF11-coded: tensors are stored raw or LZ4, "*" -> "*" ("*"%)" ]]
	[ -z "$output" ]
	df11 verify -q "$out" "$s"
	# one BF16 tensor is enough to say nothing
	run -0 --separate-stderr df11 compress -q "$M" "$BATS_TEST_TMPDIR/o2"
	[ -z "$stderr" ]
}

# bar_frames COLS OUT CMD... - run df11 CMD on a pty of COLS columns (0:
# size unknown, then $COLUMNS says); the frames of the progress bar,
# one a line, into OUT
bar_frames() {
	local cols=$1 out=$2 cmd
	shift 2
	command -v script >/dev/null || skip "no script(1)"
	printf -v cmd '%q ' "$DF11" "$@"
	timeout -k 5 "$DEADLINE" script -qec "stty cols $cols rows 24; $cmd" \
		/dev/null >"$out.raw"
	python3 - "$out.raw" >"$out" <<'PY'
import re, sys
s = open(sys.argv[1], "rb").read().decode()
for seg in re.split(r"[\r\n]", s.replace("\x1b[K", "")):
    if seg.startswith("compressing"):
        print(seg)
PY
}

# narrow FRAMES - every frame leaves the 40th column free (no wrap)
narrow() {
	awk 'length($0) >= 40 { print "too wide: " $0; bad = 1 }
	     END { exit bad }' "$1"
}

@test "the progress bar fits 40 columns and shows no ETA before 1% is done" {
	local big=$BATS_FILE_TMPDIR/big f=$BATS_TEST_TMPDIR/frames

	[ -d "$big" ] || genmodel -S 128M "$big"
	bar_frames 40 "$f" compress -j 1 "$big" "$BATS_TEST_TMPDIR/o1"
	[ -s "$f" ] || skip "done before the first frame"
	cat "$f"
	narrow "$f"
	# a pty of unknown size: $COLUMNS
	COLUMNS=40 bar_frames 0 "$f" compress -j 1 "$big" "$BATS_TEST_TMPDIR/o2"
	narrow "$f"
	bar_frames 100 "$f" compress -j 1 "$big" "$BATS_TEST_TMPDIR/o3"
	cat "$f"
	python3 - "$f" <<'PY'
import re, sys
unit = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30,
        "kB": 1e3, "MB": 1e6, "GB": 1e9}
for line in open(sys.argv[1]):
    assert len(line.rstrip("\n")) < 100, "too wide: " + line
    m = re.search(r"([\d.]+) (\w+)/([\d.]+) (\w+)", line)
    done = float(m[1]) * unit[m[2]] / (float(m[3]) * unit[m[4]])
    assert done >= 0.01 or not re.search(r"ETA +\d", line), \
        "ETA before 1%: " + line
PY
}

@test "decompress with OUT inside DST: 2, DST unchanged" {
	local c=$BATS_TEST_TMPDIR/c o=$BATS_TEST_DIRNAME/../data/official/llama-tiny/df11
	local before

	cp -r "$D" "$c"
	before=$(tree_sums "$c")
	refused 2 "'$c/out' is inside the source '$c': give a directory outside it" \
		decompress -q "$c" "$c/out"
	no_output "$c/out"
	refused 2 "'$c' is the source itself: give a new directory outside it" \
		decompress -q "$c" "$c"
	[ "$(tree_sums "$c")" = "$before" ]
	[ -d "$o" ] || skip "no official fixture"
	cp -r "$o" "$BATS_TEST_TMPDIR/off"
	chmod -R u+w "$BATS_TEST_TMPDIR/off"
	refused 2 "'$BATS_TEST_TMPDIR/off/out' is inside the source*" \
		decompress -q "$BATS_TEST_TMPDIR/off" "$BATS_TEST_TMPDIR/off/out"
	no_output "$BATS_TEST_TMPDIR/off/out"
}
