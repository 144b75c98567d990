#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/220-official-stats.bats - official DFloat11 files have the
# per-file statistics of native ones: user.df11.* attributes through the
# mount, and the same figures from df11 info

load helpers
load mount_helpers

DATA=$BATS_TEST_DIRNAME/../data/official

setup_file() {
	require_bins
}

teardown() {
	unmount_all
}

@test "official virtual files carry user.df11.size, stored and ratio" {
	require_fuse
	local d=$DATA/llama-tiny/df11 m=$BATS_TEST_TMPDIR/m
	mount_df11fs "$d" "$m"
	run -0 getfattr --absolute-names -d -m user.df11 "$m/model.safetensors"
	echo "$output"
	[[ $output == *"user.df11.size=\"$(stat -c %s "$m/model.safetensors")\""* ]]
	[[ $output == *'user.df11.ratio="0.'* ]]
	stored=$(getfattr --absolute-names --only-values -n user.df11.stored "$m/model.safetensors")
	total=$(cat "$d"/*.safetensors | wc -c)
	[ "$stored" -gt 0 ] && [ "$stored" -le "$total" ]
	run -0 getfattr --absolute-names --only-values -n user.df11.size "$m/model.safetensors"
	[ "$output" -gt "$stored" ]
	# the rewritten config.json is shown as plain files are: no sizes
	run -0 getfattr --absolute-names -d -m user.df11 "$m/config.json"
	[ -z "$output" ]
	run -0 getfattr --absolute-names -d -m user.df11 "$m/generation_config.json"
	[ -z "$output" ]
}
