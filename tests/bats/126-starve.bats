#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/126-starve.bats - many readers under a cache far smaller
# than what they read at once (issue 13, item 8): 16 pread readers at
# random offsets and 4 readers of an mmap with MADV_RANDOM (page faults
# one page at a time) against cache_size=16M, with the page cache dropped
# after every read so that each one reaches the daemon
# (tests/hostile/starve.c). Every reader's bytes must be the original's,
# every operation must end within a deadline that only a hang passes,
# and chunk buffers must be reused, not mapped afresh for most misses
# (cache.maps of .df11fs-stats.json: before the fix, about one map per
# two misses). Counts, never timings, are asserted.

load helpers
load mount_helpers

STARVE=$BUILD/tests/starve

setup_file() {
	require_fuse
	require_bins
	[ -x "$STARVE" ] || {
		echo "missing $STARVE: run make check" >&2
		return 1
	}
	export O=$BATS_FILE_TMPDIR/orig D=$BATS_FILE_TMPDIR/d
	genmodel -s 26 -S 64M "$O"
	df11 compress -q "$O" "$D"
}

setup() {
	export DF11_GPU_LIB=/nonexistent/libdf11gpu.so
	M=$BATS_TEST_TMPDIR/m
}

teardown() {
	unmount_all
}

# cache_stat KEY - a counter of the cache in the mount's statistics file
cache_stat() {
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["cache"][sys.argv[2]])' \
		"$M/.df11fs-stats.json" "$1"
}

@test "16 pread + 4 mmap readers, cache_size=16M: right bytes, no hang, buffers reused" {
	mount_df11fs "$D" "$M" -o cache_size=16M,decoder=cpu
	# -d: an operation over 120 s is a hang (they take milliseconds)
	run -0 timeout -k 5 300 "$STARVE" -p 16 -m 4 -t 5 -d 120 \
		-c "$O/model.safetensors" "$M/model.safetensors"
	echo "$output"
	[[ ${lines[-1]} == ok ]]
	[[ $output == *"mmap   threads 4 ops "* ]]
	maps=$(cache_stat maps) misses=$(cache_stat misses)
	echo "maps $maps, misses $misses"
	[ "$misses" -gt 100 ] # the cache was too small: the load is real
	# a fresh buffer for at most one miss in ten (spares fill the
	# budget plus the slack once, then are reused)
	[ "$maps" -le $((misses / 10 + 64)) ]
	[ "$(cache_stat errors)" = 0 ]
	unmount_df11fs "$M"
}

@test "sequential pread readers sharing one open file, with mmap readers: right bytes, no hang" {
	mount_df11fs "$D" "$M" -o cache_size=16M,decoder=cpu
	run -0 timeout -k 5 300 "$STARVE" -p 8 -m 4 -t 3 -s -1 -d 120 \
		-c "$O/model.safetensors" "$M/model.safetensors"
	echo "$output"
	[[ ${lines[-1]} == ok ]]
	[ "$(cache_stat errors)" = 0 ]
	unmount_df11fs "$M"
}
