#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/020-errors.bats - one test per class of bad input: the exact
# exit status, a one-line message naming the file, and no output left
#
# Exit statuses (man/df11.1): 1 data mismatch, 2 usage, 3 I/O error,
# 4 malformed input, 5 unsupported.

load helpers

MKHEADER=$BATS_TEST_DIRNAME/../hostile/mkheader.py

setup_file() {
	require_bins
	export M=$BATS_FILE_TMPDIR/m D=$BATS_FILE_TMPDIR/d
	genmodel -S 2M -n 2 "$M"
	df11 compress -q "$M" "$D"
}

teardown() {
	if mountpoint -q "$BATS_TEST_TMPDIR/small" 2>/dev/null; then
		umount "$BATS_TEST_TMPDIR/small"
	fi
}

# bad_model HEADER_JSON DATA_BYTES [HEADER_LEN] - $BATS_TEST_TMPDIR/src
# with config.json and a model.safetensors built by st_write
bad_model() {
	S=$BATS_TEST_TMPDIR/src
	mkdir -p "$S"
	echo '{}' >"$S/config.json"
	st_write "$S/model.safetensors" "$@"
}

# compress_fails STATUS MESSAGE - compress $S fails with STATUS, names
# model.safetensors and MESSAGE in one line, and leaves no output
compress_fails() {
	local out=$BATS_TEST_TMPDIR/out

	run -"$1" df11 compress -q "$S" "$out"
	echo "$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == "df11: '$S/model.safetensors': "*"$2"* ]]
	no_output "$out"
}

# copy_d - a private copy of the compressed model: $BATS_TEST_TMPDIR/d
copy_d() {
	C=$BATS_TEST_TMPDIR/d
	cp -r "$D" "$C"
}

@test "invalid JSON in a safetensors header: 4" {
	bad_model '{"a": {"dtype": "BF16"' 8
	compress_fails 4 "json"
}

@test "header length past the end of the file: 4" {
	bad_model '{}' 0 1000
	compress_fails 4 "header length 1000 past the end of the file"
}

@test "file shorter than the length prefix: 4" {
	S=$BATS_TEST_TMPDIR/src
	mkdir -p "$S"
	printf 'abc' >"$S/model.safetensors"
	compress_fails 4 "too short"
}

@test "data_offsets out of range: 4" {
	bad_model '{"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}' 4
	compress_fails 4 "tensor 'w'"
}

@test "overlapping data_offsets: 4" {
	bad_model '{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]},
		"b":{"dtype":"BF16","shape":[4],"data_offsets":[4,12]}}' 12
	compress_fails 4 "overlap"
}

@test "dtype size not matching the shape: 4" {
	bad_model '{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}' 8
	compress_fails 4 "tensor 'w'"
}

@test "index json naming a missing shard: 4" {
	local out=$BATS_TEST_TMPDIR/out

	S=$BATS_TEST_TMPDIR/src
	cp -r "$M" "$S"
	rm "$S/model-00002-of-00002.safetensors"
	run -4 df11 compress -q "$S" "$out"
	[ "$output" = "df11: '$S/model.safetensors.index.json': shard \
'model-00002-of-00002.safetensors' not found" ]
	no_output "$out"
}

@test "invalid index json: 4" {
	local out=$BATS_TEST_TMPDIR/out

	S=$BATS_TEST_TMPDIR/src
	cp -r "$M" "$S"
	printf '{"weight_map": {' >"$S/model.safetensors.index.json"
	run -4 df11 compress -q "$S" "$out"
	[[ $output == "df11: '$S/model.safetensors.index.json': invalid JSON"* ]]
	no_output "$out"
}

@test "corrupted container byte: verify and decompress exit 1 naming tensor and offset" {
	local f t

	copy_d
	f=$C/model-00001-of-00002.safetensors
	t=$(ct_flip "$f" .sign_mantissa)
	run -1 df11 verify -q "$C"
	[[ ${lines[0]} == "df11: '$f': tensor '$t' at offset "[0-9]*": checksum mismatch" ]]
	[ "${lines[-1]}" = "df11: verify failed: 1 mismatch" ]
	run -1 df11 decompress -q "$C" "$BATS_TEST_TMPDIR/out"
	[[ $output == "df11: '$f': tensor '$t' at offset "* ]]
	no_output "$BATS_TEST_TMPDIR/out"
}

@test "corrupted coded exponents are caught too: 1" {
	copy_d
	ct_flip "$C/model-00002-of-00002.safetensors" .encoded_exponent
	run -1 df11 verify -q "$C"
	[[ $output == *"model-00002-of-00002.safetensors': tensor '"* ]]
}

@test "truncated container: 4" {
	local f

	copy_d
	f=$C/model-00001-of-00002.safetensors
	truncate -s -100 "$f"
	run -4 df11 verify -q "$C"
	[[ $output == "df11: '$f': "* ]]
	run -4 df11 decompress -q "$C" "$BATS_TEST_TMPDIR/out"
	[[ $output == "df11: '$f': "* ]]
	no_output "$BATS_TEST_TMPDIR/out"
	run -4 df11 info "$f"
}

@test "container of format version 2.0: 5" {
	local f

	copy_d
	f=$C/model-00002-of-00002.safetensors
	ct_set_version "$f" 2.0
	run -5 df11 verify -q "$C"
	[[ $output == "df11: '$f': "*"2.0"* ]]
	run -5 df11 decompress -q "$C" "$BATS_TEST_TMPDIR/out"
	no_output "$BATS_TEST_TMPDIR/out"
	run -5 df11 info --json "$C"
}

@test "a 94 MB header (legal safetensors) is refused up front: 5, the limit named" {
	S=$BATS_TEST_TMPDIR/src
	mkdir -p "$S"
	"$MKHEADER" "$S/model.safetensors" 94000000 8000
	compress_fails 5 "safetensors header of 94000008 bytes: too large for a df11 container"
	[[ $output == *", more than the limit of 33554432" ]]
	# before anything is made: a DST whose parent is missing is not reached
	run -5 df11 compress -q "$S" "$BATS_TEST_TMPDIR/none/out"
}

@test "a header within the up-front bound but not the container's: 5, sizes named" {
	S=$BATS_TEST_TMPDIR/src
	mkdir -p "$S"
	# 16000 gap segments, whose streams the up-front bound does not count
	"$MKHEADER" "$S/model.safetensors" 7000000 16000 gaps
	compress_fails 5 "its df11 container header would have "
	[[ $output == *" bytes, more than the limit of 33554432" ]]
}

@test "a 7 MB header of long names compresses and decompresses" {
	S=$BATS_TEST_TMPDIR/src
	mkdir -p "$S"
	"$MKHEADER" "$S/model.safetensors" 7000000 2000
	df11 compress -q "$S" "$BATS_TEST_TMPDIR/d"
	df11 decompress -q "$BATS_TEST_TMPDIR/d" "$BATS_TEST_TMPDIR/out"
	cmp "$S/model.safetensors" "$BATS_TEST_TMPDIR/out/model.safetensors"
}

@test "a fifo in SRC is refused: 5" {
	S=$BATS_TEST_TMPDIR/src
	cp -r "$M" "$S"
	mkfifo "$S/pipe"
	run -5 df11 compress -q "$S" "$BATS_TEST_TMPDIR/out"
	[ "$output" = "df11: '$S/pipe': unsupported file type (fifo)" ]
	no_output "$BATS_TEST_TMPDIR/out"
}

@test "usage errors: 2" {
	run -2 df11
	run -2 df11 frobnicate
	[ "$output" = "df11: unknown command 'frobnicate' (see 'df11 --help')" ]
	run -2 df11 compress "$M"
	run -2 df11 compress "$M" a b
	run -2 df11 compress -x "$M" "$BATS_TEST_TMPDIR/out"
	[[ $output == "df11: unknown option '-x'"* ]]
	run -2 df11 compress -j 0 "$M" "$BATS_TEST_TMPDIR/out"
	run -2 df11 compress -j many "$M" "$BATS_TEST_TMPDIR/out"
	run -2 df11 decompress -j
	run -2 df11 verify
	run -2 df11 info
	run -2 df11 info -q "$D"
	no_output "$BATS_TEST_TMPDIR/out"
}

@test "missing SRC: 3" {
	run -3 df11 compress -q "$BATS_TEST_TMPDIR/nothing" "$BATS_TEST_TMPDIR/out"
	[ "$output" = "df11: cannot open '$BATS_TEST_TMPDIR/nothing': \
No such file or directory" ]
	no_output "$BATS_TEST_TMPDIR/out"
	run -3 df11 verify "$BATS_TEST_TMPDIR/nothing"
	run -3 df11 info "$BATS_TEST_TMPDIR/nothing"
}

@test "a dangling symlink in SRC: 3" {
	S=$BATS_TEST_TMPDIR/src
	cp -r "$M" "$S"
	ln -s nowhere "$S/link.json"
	run -3 df11 compress -q "$S" "$BATS_TEST_TMPDIR/out"
	[[ $output == "df11: cannot stat '$S/link.json': "* ]]
	no_output "$BATS_TEST_TMPDIR/out"
}

@test "the parent of DST does not exist: 3" {
	run -3 df11 compress -q "$M" "$BATS_TEST_TMPDIR/no/such/dir"
	[[ $output == "df11: cannot create '$BATS_TEST_TMPDIR/no/such/dir.df11-tmp."* ]]
}

@test "disk full: 3, and no output left" {
	local mnt=$BATS_TEST_TMPDIR/small

	mkdir "$mnt"
	mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null ||
		skip "cannot mount a tmpfs (needs root)"
	run -3 df11 compress -q "$M" "$mnt/d"
	[[ ${lines[0]} == "df11: cannot write '$mnt/d.df11-tmp."*": No space left on device" ]]
	no_output "$mnt/d"
	run -3 df11 decompress -q "$D" "$mnt/o"
	no_output "$mnt/o"
	[ -z "$(ls -A "$mnt")" ]
}

@test "output that cannot be written to stdout fails with status 3" {
	local m=$BATS_TEST_TMPDIR/m d=$BATS_TEST_TMPDIR/d

	[ -w /dev/full ] || skip "no /dev/full"
	genmodel "$m"
	df11 compress -q "$m" "$d"
	run -3 bash -c '"$1" headers "$2" >/dev/full' _ "$DF11" "$m"
	[[ "$output" == *"cannot write the standard output"* ]]
	run -3 bash -c '"$1" info --json "$2" >/dev/full' _ "$DF11" "$d"
	run -3 bash -c '"$1" --version >/dev/full' _ "$DF11"
	run -0 bash -c '"$1" headers "$2" >/dev/null' _ "$DF11" "$m"
}
