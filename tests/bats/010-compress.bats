#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/010-compress.bats - df11 compress/decompress round trips,
# verify, info, and the rules for the destination

load helpers

setup_file() {
	require_bins
	export M=$BATS_FILE_TMPDIR/m D=$BATS_FILE_TMPDIR/d
	genmodel -n 3 --edge "$M"
	df11 compress -q "$M" "$D"
}

@test "compress then decompress gives every file back byte for byte" {
	local o=$BATS_TEST_TMPDIR/o

	run -0 df11 decompress -q "$D" "$o"
	[ -z "$output" ]
	diff -r "$M" "$o"
	[ "$(tree_sums "$M")" = "$(tree_sums "$o")" ]
	no_tmp "$o"
}

@test "compressed shards keep their names; other files are copies" {
	local f n=0

	for f in "$M"/*.safetensors; do
		[ -f "$D/${f##*/}" ]
		n=$((n + 1))
	done
	[ "$n" -eq 3 ]
	cmp "$M/config.json" "$D/config.json"
	cmp "$M/model.safetensors.index.json" "$D/model.safetensors.index.json"
	run -1 cmp -s "$M/model-00001-of-00003.safetensors" \
		"$D/model-00001-of-00003.safetensors"
}

@test "mode bits and modification times survive the round trip" {
	local m=$BATS_TEST_TMPDIR/m d=$BATS_TEST_TMPDIR/d o=$BATS_TEST_TMPDIR/o

	cp -r "$M" "$m"
	chmod 640 "$m/config.json" "$m/model-00002-of-00003.safetensors"
	touch -d '2001-02-03 04:05:06' "$m/config.json" \
		"$m/model-00002-of-00003.safetensors"
	run -0 df11 compress -q -j 2 "$m" "$d"
	run -0 df11 decompress -q "$d" "$o"
	for f in config.json model-00002-of-00003.safetensors; do
		[ "$(stat -c '%a %Y' "$m/$f")" = "$(stat -c '%a %Y' "$o/$f")" ]
	done
}

@test "verify passes without SRC and with SRC" {
	run -0 df11 verify "$D"
	[[ $output == *"ok: 3 containers"* ]]
	run -0 df11 verify -q -j 1 "$D" "$M"
	[ -z "$output" ]
}

@test "verify with SRC reports changed, missing and extra files" {
	local m=$BATS_TEST_TMPDIR/m

	cp -r "$M" "$m"
	echo '{}' >"$m/config.json"
	echo new >"$m/extra.txt"
	rm "$m/tokenizer.json"
	run -1 df11 verify -q "$D" "$m"
	[[ $output == *"config.json"*"differs"* ]]
	[[ $output == *"extra.txt': missing from"* ]]
	[[ $output == *"tokenizer.json': not in"* ]]
}

@test "info lists every tensor and the totals" {
	run -0 df11 info "$D"
	[[ $output == *"model-00001-of-00003.safetensors: container"* ]]
	[[ $output == *"model.embed_tokens.weight"*"BF16"*"df11"* ]]
	[[ $output == *"config.json: file"* ]]
	[[ ${lines[-1]} == "total: "* ]]
}

@test "info --json is valid JSON with the documented fields" {
	run -0 --separate-stderr df11 info --json "$D"
	echo "$output" | python3 -m json.tool >/dev/null
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ct = [f for f in d["files"] if f["container"]]
assert len(ct) == 3, ct
assert d["total"]["files"] == len(d["files"])
assert d["total"]["size"] == sum(f["size"] for f in d["files"])
t = [t for f in ct for t in f["tensors"] if t["codec"] == "df11"][0]
assert set(t) == {"name", "dtype", "shape", "codec", "bytes", "stored",
                  "ratio", "bits_per_weight"}, t
assert t["dtype"] == "BF16" and 9 < t["bits_per_weight"] < 13, t
'
}

@test "a destination that is not empty is refused" {
	run -2 df11 compress -q "$M" "$D"
	[[ $output == "df11: destination '$D' exists and is not empty" ]]
	run -2 df11 decompress -q "$D" "$M"
	touch "$BATS_TEST_TMPDIR/file"
	run -2 df11 compress -q "$M" "$BATS_TEST_TMPDIR/file"
	no_tmp "$D"
	no_tmp "$M"
	no_tmp "$BATS_TEST_TMPDIR/file"
}

@test "an empty destination directory is accepted" {
	mkdir "$BATS_TEST_TMPDIR/e"
	run -0 df11 compress -q "$M" "$BATS_TEST_TMPDIR/e"
	[ -f "$BATS_TEST_TMPDIR/e/config.json" ]
}

@test "an empty mount point as destination is built in place" {
	local p=$BATS_TEST_TMPDIR/p e o=$BATS_TEST_TMPDIR/o

	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
	e=$p/vol
	mkdir -p "$e"
	mount -t tmpfs -o size=64m df11test "$e" || skip "cannot mount a tmpfs"
	run df11 compress -q "$M" "$e"
	local rc=$status
	ls -A "$p" >"$BATS_TEST_TMPDIR/siblings"
	[ "$rc" -eq 0 ] && [ "$(tree_sums "$D")" = "$(tree_sums "$e")" ] &&
		[ -z "$(ls -A "$e" | grep df11-tmp)" ] &&
		run -0 df11 decompress -q "$e" "$o"
	rc=$?
	umount "$e"
	[ "$rc" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/siblings")" = vol ]
	[ "$(tree_sums "$M")" = "$(tree_sums "$o")" ]
}

@test "df11 shards are below 0.75 of the BF16 sizes" {
	local m=$BATS_TEST_TMPDIR/m d=$BATS_TEST_TMPDIR/d f a b

	genmodel -S 16M -n 2 "$m"
	run -0 df11 compress -q "$m" "$d"
	for f in "$m"/*.safetensors; do
		a=$(stat -c %s "$f")
		b=$(stat -c %s "$d/${f##*/}")
		echo "${f##*/}: $a -> $b"
		[ $((b * 100)) -lt $((a * 75)) ]
	done
}

@test "the summary goes to stdout, without a bar when not a terminal" {
	run -0 --separate-stderr df11 compress "$M" "$BATS_TEST_TMPDIR/d"
	[[ $output == "compressed 3 files, "*" MB/s" ]]
	[[ $output != *$'\r'* ]]
	[ -z "$stderr" ]
	run -0 df11 decompress -j 1 "$BATS_TEST_TMPDIR/d" "$BATS_TEST_TMPDIR/o"
	[[ $output == "decompressed 3 files, "* ]]
}

@test "--version and --help" {
	run -0 df11 --version
	[[ $output == "df11 "*"container format 1.0" ]]
	run -0 df11 -V
	run -0 df11 --help
	[[ $output == *"df11 compress"* ]]
	run -0 df11 help
	run -0 df11 compress -h
}

@test "the same input gives the same bytes with -j 1, 2 and 4, run after run" {
	local m=$BATS_TEST_TMPDIR/m j f

	genmodel -S 24M -n 2 --edge --gap --shuffle "$m"
	for j in 1 2 4 4 2; do
		df11 compress -q -j "$j" "$m" "$BATS_TEST_TMPDIR/j$j.$RANDOM"
	done
	set -- "$BATS_TEST_TMPDIR"/j*
	[ "$#" -eq 5 ]
	for f in "$@"; do
		[ "$(tree_sums "$1")" = "$(tree_sums "$f")" ]
	done
	for f in "$1"/*.safetensors; do
		run -1 cmp -s "$m/${f##*/}" "$f"
	done
}
