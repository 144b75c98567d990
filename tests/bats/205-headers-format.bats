#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/205-headers-format.bats - the df11-headers file (`df11
# headers`): what it says of its format and version, and how df11 and
# df11fs refuse a file of another major version (unsupported, exit 5)
# while taking every minor of theirs

load helpers
load mount_helpers

DATA=$BATS_TEST_DIRNAME/../data/official
CMP=$BATS_TEST_DIRNAME/st_compare.py
NEWER="headers file version 2.0 is newer than this df11fs supports (1.x)"

setup_file() {
	require_bins
	df11 headers "$DATA/llama-tiny/orig" >"$BATS_FILE_TMPDIR/h.json"
}

teardown() {
	unmount_all
}

# hset KEY JSON OUT - the headers of llama-tiny with KEY set to the JSON
# value (or removed when JSON is "del") into OUT
hset() {
	python3 - "$BATS_FILE_TMPDIR/h.json" "$1" "$2" "$3" <<'PY'
import json, sys
src, key, val, out = sys.argv[1:]
d = json.load(open(src))
if val == "del":
    del d[key]
else:
    d[key] = json.loads(val)
json.dump(d, open(out, "w"), indent=2)
PY
}

sums() {
	(cd "$1" && sha256sum -- *.safetensors *.json)
}

@test "df11 headers writes format df11-headers, version 1.0" {
	run -0 python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(d["format"], d["version"])' "$BATS_FILE_TMPDIR/h.json"
	[ "$output" = "df11-headers 1.0" ]
}

@test "version 2.0: decompress, verify and info refuse it (exit 5), naming both versions" {
	local h=$BATS_TEST_TMPDIR/h2.json
	hset version '"2.0"' "$h"
	run -5 df11 decompress -q --headers "$h" "$DATA/llama-tiny/df11" \
		"$BATS_TEST_TMPDIR/x"
	[[ $output == *"$NEWER"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
	run -5 df11 verify -q --headers "$h" "$DATA/llama-tiny/df11"
	[[ $output == *"$NEWER"* ]]
	run -5 df11 info --headers "$h" "$DATA/llama-tiny/df11"
	[[ $output == *"$NEWER"* ]]
}

@test "a later major version is named as written" {
	hset version '"17.3"' "$BATS_TEST_TMPDIR/h17.json"
	run -5 df11 info --headers "$BATS_TEST_TMPDIR/h17.json" \
		"$DATA/llama-tiny/df11"
	[[ $output == *"headers file version 17.3 is newer than this df11fs supports (1.x)"* ]]
}

@test "version 1.x and the integer 1 of earlier writers: the original files, byte for byte" {
	local v
	for v in '"1.0"' '"1.7"' '1'; do
		rm -rf "$BATS_TEST_TMPDIR/y"
		hset version "$v" "$BATS_TEST_TMPDIR/h1.json"
		run -0 df11 decompress -q --headers "$BATS_TEST_TMPDIR/h1.json" \
			"$DATA/llama-tiny/df11" "$BATS_TEST_TMPDIR/y"
		[ "$(sums "$BATS_TEST_TMPDIR/y")" = "$(sums "$DATA/llama-tiny/orig")" ]
	done
}

@test "another format, a missing or malformed version: malformed (exit 4)" {
	local h=$BATS_TEST_TMPDIR/hb.json
	hset format '"df11-other"' "$h"
	run -4 df11 info --headers "$h" "$DATA/llama-tiny/df11"
	[[ $output == *"headers: not a 'df11 headers' file"* ]]
	local v
	for v in del '"2"' '"1.x"' '"0.9"' '0' '-1' '"v1.0"' '[1]'; do
		hset version "$v" "$h"
		run -4 df11 info --headers "$h" "$DATA/llama-tiny/df11"
		[[ $output == *"headers: bad version"* ]]
	done
}

@test "mount with headers of version 2.0: the daemon says why, nothing is served wrong" {
	require_fuse
	hset version '"2.0"' "$BATS_TEST_TMPDIR/h2.json"
	mount_df11fs "$DATA/llama-tiny/df11" "$BATS_TEST_TMPDIR/m" \
		-o "headers=$BATS_TEST_TMPDIR/h2.json"
	run -2 ls "$BATS_TEST_TMPDIR/m"
	[[ $output == *"Input/output error"* ]]
	run -1 cat "$BATS_TEST_TMPDIR/m/model.safetensors"
	grep -qF "'.': official DFloat11 directory: $NEWER" "$BATS_TEST_TMPDIR/m.log"
}
