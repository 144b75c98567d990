#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/125-hostile-containers.bats - containers made to exhaust
# memory or bend the contract (tests/hostile/mkhostile.c writes them):
# sparse files that declare gigabytes of checksums and lz4 offsets in a
# few KiB, chunks of the largest size with a 1M cache and 16 readers, more
# tensors than a container may hold, another major version, headers
# whose parse costs ten times their size. Memory is
# read from /proc (VmRSS, VmHWM), never timed; under a sanitizer build
# (make asan, make tsan: shadow memory, quarantine) the bounds are not
# checked, the behaviour is.

load helpers
load mount_helpers

MKH=$BUILD/tests/mkhostile
MIB=1048576

setup_file() {
	require_fuse
	require_bins
	[ -x "$MKH" ] || {
		echo "missing $MKH: run make check" >&2
		return 1
	}
	export T=$BATS_FILE_TMPDIR
	export S=$T/src B=$T/big M=$T/m MB=$T/mb
	mkdir -p "$S" "$B"
	# 512 GiB of 4096-byte raw chunks: a 1 GiB .xxh3 stream, all a hole
	"$MKH" raw-sparse "$S/sparse.safetensors" 549755813888 4096
	# 2^22 lz4 chunks (the limit): 32 MiB of index and of checksums, holes
	"$MKH" lz4-sparse "$S/lzhole.safetensors" 4194304
	"$MKH" tensors "$S/many.safetensors" 20000
	"$MKH" version "$S/v2.safetensors" 2.0
	# df11 verify takes directories: one file each
	mkdir -p "$T/vs" "$T/vv"
	ln "$S/sparse.safetensors" "$T/vs/"
	ln "$S/v2.safetensors" "$T/vv/"
	# 16 chunks of the largest size a reader takes, and of 64 MiB
	"$MKH" lz4 "$B/big.safetensors" "$T/big.orig" 16 16777216
	"$MKH" lz4 "$B/huge.safetensors" - 16 67108864
	mount_df11fs "$S" "$M" -o cache_size=16M
	mount_df11fs "$B" "$MB" -o cache_size=1M
}

teardown_file() {
	unmount_all
}

# below KIB LIMIT - KIB < LIMIT, or any KIB in a sanitizer build
below() {
	grep -qaE "__(asan|tsan)_init" "$DF11FS" || [ "$1" -lt "$2" ]
}

# kib FIELD MNT - a /proc status field (VmRSS, VmHWM) of MNT's daemon
kib() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$(cat "$2.pid")/status"
}

# peak_kib CMD... - the peak RSS of CMD in KiB (its status is ignored)
peak_kib() {
	/usr/bin/time -f %M -o "$T/time.out" timeout -k 5 60 "$@" \
		>/dev/null 2>&1 || true
	tail -n 1 "$T/time.out"
}

@test "stat of sparse containers keeps the daemon under cache_size + 64M" {
	for i in 1 2 3 4; do
		run -0 timeout -k 5 30 stat "$M/sparse.safetensors"
		run -0 timeout -k 5 30 stat "$M/lzhole.safetensors"
	done
	run -0 timeout -k 5 30 ls -l "$M"
	rss=$(kib VmRSS "$M")
	echo "VmRSS ${rss} KiB"
	below "$rss" $(((16 + 64) * 1024))
	# over the limit: a broken file, with the reason
	[ "$(read_errno "$M/sparse.safetensors")" = 5 ]
	run -0 getfattr --absolute-names --only-values -n user.df11.error \
		"$M/sparse.safetensors"
	[[ $output == *"more than 4194304 chunks"* ]]
	# within the limits: served, and its holes are caught per chunk
	run -0 stat -c %s "$M/lzhole.safetensors"
	[ "$output" -gt 17179869184 ]
	[ "$(read_errno "$M/lzhole.safetensors")" = 5 ]
	grep -q "lzhole.safetensors'.*bad lz4 index" "$M.log"
}

@test "df11 info and verify of sparse containers stay small and quick" {
	[ -x /usr/bin/time ] || skip "no /usr/bin/time"
	kb=$(peak_kib "$DF11" info "$S/sparse.safetensors")
	echo "info sparse: ${kb} KiB"
	below "$kb" $((64 * 1024))
	kb=$(peak_kib "$DF11" info "$S/lzhole.safetensors")
	echo "info lzhole: ${kb} KiB"
	below "$kb" $((64 * 1024))
	run -4 df11 info "$S/sparse.safetensors"
	[[ $output == *"more than 4194304 chunks"* ]]
	# refused before a chunk is read: no minutes over holes
	run -4 timeout -k 5 20 "$DF11" verify "$T/vs"
	[[ $output == *"more than 4194304 chunks"* ]]
}

@test "16 readers of 16 MiB chunks with cache_size=1M: bytes right, VmHWM bounded" {
	local pids=() i
	for i in $(seq 16); do
		timeout -k 5 300 cmp "$MB/big.safetensors" "$T/big.orig" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	hwm=$(kib VmHWM "$MB")
	echo "VmHWM ${hwm} KiB"
	below "$hwm" $(((1 + 64) * 1024))
}

@test "chunks larger than 16 MiB are refused, not decoded past the budget" {
	[ "$(read_errno "$MB/huge.safetensors")" = 5 ]
	run -0 getfattr --absolute-names --only-values -n user.df11.error \
		"$MB/huge.safetensors"
	[[ $output == *"bad chunk size"* ]]
	run -4 df11 info "$B/huge.safetensors"
	hwm=$(kib VmHWM "$MB")
	below "$hwm" $(((1 + 64) * 1024))
}

@test "a container of more tensors than the limit is refused with the reason" {
	run -4 df11 info "$S/many.safetensors"
	[[ $output == *"20000 tensors: more than the limit of 16384"* ]]
	[ "$(read_errno "$M/many.safetensors")" = 5 ]
	run -0 getfattr --absolute-names --only-values -n user.df11.error \
		"$M/many.safetensors"
	[[ $output == *"20000 tensors: more than the limit of 16384"* ]]
	grep -q "many.safetensors': 20000 tensors" "$M.log"
}

@test "a container of version 2.0 is EIO with user.df11.error, never raw bytes" {
	run -0 stat -c %s "$M/v2.safetensors"
	[ "$(read_errno "$M/v2.safetensors")" = 5 ]
	run -0 getfattr --absolute-names --only-values -n user.df11.error \
		"$M/v2.safetensors"
	[[ $output == *"unsupported df11 format version 2.0"* ]]
	grep -q "v2.safetensors': unsupported df11 format version 2.0" "$M.log"
	run -5 df11 info "$S/v2.safetensors"
	run -5 df11 verify "$T/vv"
}

@test "8 parallel stats of 8 MiB headers with cache_size=16M: parses admitted one at a time, indexes capped, VmHWM bounded" {
	local H=$T/hdr MH=$T/mh pids=() i
	# 8 MiB outer headers of tiny metadata entries: about 10 bytes of
	# jansson tree a byte, admitted for 16 (DF11_STORE_PARSE_FACTOR);
	# one a directory, as the kernel may serialize lookups in one
	mkdir -p "$H/d0"
	"$MKH" meta "$H/d0/h.safetensors" "$T/h.orig" 8388608
	for i in 1 2 3 4 5 6 7; do
		mkdir -p "$H/d$i"
		cp "$H/d0/h.safetensors" "$H/d$i/h.safetensors"
	done
	mount_df11fs "$H" "$MH" -o cache_size=16M
	for i in 0 1 2 3 4 5 6 7; do
		timeout -k 5 120 stat "$MH/d$i/h.safetensors" >/dev/null &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	hwm=$(kib VmHWM "$MH")
	rss=$(kib VmRSS "$MH")
	# what df11fs(1) bounds: cache_size + 64M + the small lane's 64M +
	# the larger of a quarter of cache_size and one admitted parse
	# (16 x 8 MiB) + the resident indexes, as .df11fs-stats.json counts
	index=$(python3 -c 'import json, sys
a = json.load(open(sys.argv[1]))["headers"]
assert a["parses"] >= 8 and 1 <= a["containers"] < 8, a
assert a["waits"] >= 1 and a["peak"] <= 16 * 8388608 + 64 * 2**20, a
# 8 indexes of 6 MiB pass the cap of 32M: the oldest idle ones go
assert a["index_cap"] == 32 * 2**20 and a["evictions"] >= 1, a
assert a["index_kept"] == a["index"] <= a["index_cap"] + 8 * 2**20, a
print(a["index"] // 1024)' "$MH/.df11fs-stats.json")
	echo "VmHWM ${hwm} KiB, VmRSS ${rss} KiB, index ${index} KiB"
	below "$hwm" $(((16 + 64 + 64 + 128) * 1024 + index))
	# the trees are gone once parsed: what stays is about the indexes
	below "$rss" $(((16 + 64) * 1024 + index))
	# the ones let go of are probed again when opened
	want=$(sha256sum <"$T/h.orig")
	for i in 0 1 2 3 4 5 6 7; do
		[ "$(sha256sum <"$MH/d$i/h.safetensors")" = "$want" ]
	done
}
