#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/135-decoded.bats - -o decoded_cache=: whole files decoded into
# backing files, opened with FUSE passthrough once complete (where the
# kernel and the daemon's privileges allow it), within the budget, never
# serving a broken or changed file's bytes

load helpers
load mount_helpers

setup_file() {
	require_fuse
	require_bins
	export SRC=$BATS_FILE_TMPDIR/src D=$BATS_FILE_TMPDIR/d
	mkdir -p "$SRC" "$D"
	genmodel -s 31 -S 12M -n 3 "$SRC/a"
	df11 compress -q "$SRC/a" "$D/a"
}

setup() {
	export DF11_GPU_LIB=/nonexistent/libdf11gpu.so
	M=$BATS_TEST_TMPDIR/m
}

teardown() {
	unmount_all
	# the small tmpfs of a decoded_dir= test, once its daemon is gone
	! mountpoint -q "$BATS_TEST_TMPDIR/dd" || umount "$BATS_TEST_TMPDIR/dd"
}

# dstat MNT KEY - a figure of the "decoded" object of MNT's statistics
dstat() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1] + "/.df11fs-stats.json"))
print(int(d["decoded"][sys.argv[2]]) if sys.argv[2] != "reads" else d["requests"]["reads"])' "$1" "$2"
}

# dstat_ge MNT KEY N - that figure is at least N
dstat_ge() { [ "$(dstat "$1" "$2")" -ge "$3" ]; }

# filled MNT N - at least N fills completed
filled() { dstat_ge "$1" filled "$2"; }

# shards DIR - the .safetensors files of DIR, by name
shards() { (cd "$1" && ls -- *.safetensors); }

# same_shards - every shard of $M/a is byte-identical to its original
same_shards() {
	local f
	for f in $(shards "$SRC/a"); do
		cmp "$SRC/a/$f" "$M/a/$f"
	done
}

@test "decoded_cache: files read right while and after they are decoded whole" {
	mount_df11fs "$D" "$M" -o decoded_cache=256M
	same_shards
	# opening the first shard queued the others: all three complete
	wait_until 30 filled "$M" 3
	[ "$(dstat "$M" failed)" -eq 0 ]
	[ "$(dstat "$M" held)" -eq "$(cat "$SRC"/a/*.safetensors | wc -c)" ]
	[ "$(dstat "$M" map_ns)" -gt 0 ] && [ "$(dstat "$M" decode_ns)" -gt 0 ]
	for f in $(shards "$SRC/a"); do
		cmp "$SRC/a/$f" "$M/a/$f"
		python3 -c 'import mmap, sys
a = open(sys.argv[1], "rb").read()
f = open(sys.argv[2], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
sys.exit(m[:] != a)' "$SRC/a/$f" "$M/a/$f"
	done
}

@test "decoded_cache: a complete file is read by the kernel, without requests" {
	mount_df11fs "$D" "$M" -o decoded_cache=256M
	f=$(shards "$SRC/a" | head -n 1)
	# the kernel knows the other shards: opening the first queues them
	stat "$M"/a/* >/dev/null
	cmp "$SRC/a/$f" "$M/a/$f"
	wait_until 30 filled "$M" 3
	if [ "$(dstat "$M" passthrough)" -ne 1 ]; then
		skip "no FUSE passthrough here (kernel before 6.9, or not root)"
	fi
	n=$(dstat "$M" reads)
	same_shards
	[ "$(dstat "$M" reads)" -eq "$n" ]
	[ "$(dstat "$M" passthrough_opens)" -ge 3 ]
}

@test "decoded_cache: files over the budget are not decoded whole; one that fits evicts" {
	mount_df11fs "$D" "$M" -o decoded_cache=1M
	tree_sums "$SRC/a" >"$BATS_TEST_TMPDIR/want"
	tree_sums "$M/a" | diff - "$BATS_TEST_TMPDIR/want"
	[ "$(dstat "$M" started)" -eq 0 ]
	[ "$(dstat "$M" held)" -eq 0 ]
	unmount_df11fs "$M"
	# room for one shard at a time: each read evicts the one before
	big=$(stat -c %s "$SRC"/a/*.safetensors | sort -n | tail -n 1)
	mount_df11fs "$D" "$M" -o decoded_cache=$((big + 4096))
	for round in 1 2; do
		for f in $(shards "$SRC/a"); do
			cmp "$SRC/a/$f" "$M/a/$f"
		done
	done
	[ "$(dstat "$M" held)" -le $((big + 4096)) ]
	[ "$(dstat "$M" evicted)" -ge 1 ]
	[ "$(dstat "$M" failed)" -eq 0 ]
}

@test "decoded_cache: a broken chunk stops the fill; its bytes are never served" {
	cp -r "$D/a" "$BATS_TEST_TMPDIR/bad"
	f=$(shards "$SRC/a" | head -n 1)
	ct_flip "$BATS_TEST_TMPDIR/bad/$f" .encoded_exponent >/dev/null
	mkdir -p "$BATS_TEST_TMPDIR/src"
	mv "$BATS_TEST_TMPDIR/bad" "$BATS_TEST_TMPDIR/src/a"
	mount_df11fs "$BATS_TEST_TMPDIR/src" "$M" -o decoded_cache=256M
	run cat "$M/a/$f"
	[ "$status" -ne 0 ]
	wait_until 30 dstat_ge "$M" failed 1
	run cat "$M/a/$f"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	grep -q "whole-file decode stopped" "$M.log"
	# the other shards are whole and right
	for g in $(shards "$SRC/a" | tail -n +2); do
		cmp "$SRC/a/$g" "$M/a/$g"
	done
}

@test "decoded_cache: a source rewritten after its fill is read anew" {
	mkdir -p "$BATS_TEST_TMPDIR/src" "$BATS_TEST_TMPDIR/o2"
	cp -r "$D/a" "$BATS_TEST_TMPDIR/src/a"
	mount_df11fs "$BATS_TEST_TMPDIR/src" "$M" -o decoded_cache=256M,attr_timeout=0
	f=$(shards "$SRC/a" | head -n 1)
	stat "$M"/a/* >/dev/null
	cmp "$SRC/a/$f" "$M/a/$f"
	wait_until 30 filled "$M" 3
	genmodel -s 32 -S 12M -n 3 "$BATS_TEST_TMPDIR/o2/a"
	df11 compress -q "$BATS_TEST_TMPDIR/o2/a" "$BATS_TEST_TMPDIR/c2"
	cp "$BATS_TEST_TMPDIR/c2/$f" "$BATS_TEST_TMPDIR/src/a/$f.new"
	mv "$BATS_TEST_TMPDIR/src/a/$f.new" "$BATS_TEST_TMPDIR/src/a/$f"
	cmp "$BATS_TEST_TMPDIR/o2/a/$f" "$M/a/$f"
}

@test "decoded_dir=: decoded files in that directory, unnamed, none left behind" {
	mkdir -p "$BATS_TEST_TMPDIR/dd"
	# no reserve: the test is of the directory, not of its disk's room
	mount_df11fs "$D" "$M" -o decoded_cache=256M,decoded_dir="$BATS_TEST_TMPDIR/dd",decoded_reserve=0
	tree_sums "$SRC/a" >"$BATS_TEST_TMPDIR/want"
	tree_sums "$M/a" | diff - "$BATS_TEST_TMPDIR/want"
	wait_until 30 filled "$M" 3
	tree_sums "$M/a" | diff - "$BATS_TEST_TMPDIR/want"
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/dd")" ]
	unmount_df11fs "$M"
	run "$DF11FS" -f -o decoded_cache=1G,decoded_dir=/nonexistent "$D" "$M"
	[ "$status" -ne 0 ]
	run "$DF11FS" -f -o decoded_cache=lots "$D" "$M"
	[ "$status" -eq 2 ]
	[[ "$output" == *"decoded_cache"* ]]
}

@test "passthrough=0: complete files are copied from their backing files into replies" {
	mount_df11fs "$D" "$M" -o decoded_cache=256M,passthrough=0
	stat "$M"/a/* >/dev/null
	same_shards
	wait_until 30 filled "$M" 3
	[ "$(dstat "$M" passthrough)" -eq 0 ]
	# O_DIRECT: past the kernel's page cache, every byte a request
	for f in $(shards "$SRC/a"); do
		dd if="$M/a/$f" iflag=direct bs=1M status=none | cmp - "$SRC/a/$f"
	done
	[ "$(dstat "$M" passthrough_opens)" -eq 0 ]
	[ "$(dstat "$M" backed_reads)" -gt 0 ]
	run "$DF11FS" -f -o passthrough=2 "$D" "$M"
	[ "$status" -eq 2 ]
}

@test "decoded_cache: 8 readers at once while files decode, opens of both modes never mixed" {
	mount_df11fs "$D" "$M" -o decoded_cache=256M
	stat "$M"/a/* >/dev/null
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		for f in $(shards "$SRC/a"); do
			if [ $((i % 2)) -eq 0 ]; then
				cmp "$SRC/a/$f" "$M/a/$f" &
			else
				python3 -c 'import mmap, sys
a = open(sys.argv[1], "rb").read()
f = open(sys.argv[2], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
sys.exit(m[:] != a)' "$SRC/a/$f" "$M/a/$f" &
			fi
			pids+=($!)
		done
	done
	for p in "${pids[@]}"; do wait "$p"; done
	wait_until 30 filled "$M" 3
	[ "$(dstat "$M" failed)" -eq 0 ]
	! grep -q "Input/output error" "$M.log"
	same_shards
}

@test "decoded_cache: plain files are read by the kernel straight from the source" {
	mkdir -p "$BATS_TEST_TMPDIR/src/plain"
	cp -r "$D/a" "$BATS_TEST_TMPDIR/src/a"
	f=$(shards "$SRC/a" | head -n 1)
	cp "$SRC/a/$f" "$BATS_TEST_TMPDIR/src/plain/$f"
	mount_df11fs "$BATS_TEST_TMPDIR/src" "$M" -o decoded_cache=256M
	cmp "$SRC/a/config.json" "$M/a/config.json"
	if [ "$(dstat "$M" passthrough)" -ne 1 ]; then
		skip "no FUSE passthrough here (kernel before 6.9, or not root)"
	fi
	n=$(dstat "$M" reads)
	pids=()
	for i in 1 2 3 4 5 6; do
		cmp "$SRC/a/$f" "$M/plain/$f" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	cmp "$SRC/a/config.json" "$M/a/config.json"
	[ "$(dstat "$M" reads)" -eq "$n" ]
	[ "$(dstat "$M" passthrough_plain_opens)" -ge 7 ]
}

@test "decoded_reserve=: no whole-file decode that would leave the machine less room" {
	mount_df11fs "$D" "$M" -o decoded_cache=256M,decoded_reserve=1000T
	same_shards
	[ "$(dstat "$M" started)" -eq 0 ]
	[ "$(dstat "$M" no_room)" -ge 3 ]
	grep -q "not decoded whole: it needs .* more than the machine has free" "$M.log"
	[ "$(grep -c "not decoded whole" "$M.log")" -eq 3 ] # once per file
	unmount_df11fs "$M"
	run "$DF11FS" -f -o decoded_cache=1G,decoded_reserve=some "$D" "$M"
	[ "$status" -eq 2 ]
	[[ "$output" == *"decoded_reserve"* ]]
}

# tmpfs_free DIR - bytes free on the file system of DIR
tmpfs_free() { df -B1 --output=avail "$1" | tail -n 1 | tr -d ' '; }

@test "decoded_dir= on a small tmpfs: unopened complete files make room, and go when it runs short" {
	[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
	local dd=$BATS_TEST_TMPDIR/dd big=0 s f1 f2 f3
	for f in $(shards "$SRC/a"); do
		s=$(stat -c %s "$SRC/a/$f")
		[ "$s" -le "$big" ] || big=$s
	done
	# room for two and a half of the largest, a quarter of it reserved
	mkdir -p "$dd"
	mount -t tmpfs -o size=$((big * 5 / 2 / 4096 * 4096 + 4096)) df11test "$dd" ||
		skip "cannot mount a tmpfs"
	mount_df11fs "$D" "$M" -o decoded_cache=256M,decoded_dir="$dd",decoded_reserve=$((big / 4))
	read -r f1 f2 f3 <<<"$(shards "$SRC/a" | tr '\n' ' ')"
	# one at a time (only the opened name is looked up: nothing queued)
	cmp "$SRC/a/$f1" "$M/a/$f1"
	wait_until 30 filled "$M" 1
	cmp "$SRC/a/$f2" "$M/a/$f2"
	wait_until 30 filled "$M" 2
	[ "$(dstat "$M" shed)" -eq 0 ]
	# the third fits only once the least recently opened is freed
	cmp "$SRC/a/$f3" "$M/a/$f3"
	wait_until 30 filled "$M" 3
	[ "$(dstat "$M" shed)" -eq 1 ]
	[ "$(dstat "$M" no_room)" -eq 0 ]
	# something else takes the room: the daemon lets go within seconds
	s=$(tmpfs_free "$dd")
	head -c $((s - big / 8)) /dev/zero >"$dd/other"
	wait_until 10 dstat_ge "$M" shed 2
	[ "$(tmpfs_free "$dd")" -ge $((big / 4)) ]
	for f in $f1 $f2 $f3; do
		cmp "$SRC/a/$f" "$M/a/$f"
	done
	unmount_df11fs "$M"
	umount "$dd"
}

@test "decoded_cache on the GPU emulation: whole files decoded in GPU batches, bit for bit; a lost device leaves the CPU" {
	local emu=$BUILD/libdf11gpu-emu.so
	[ -f "$emu" ] || skip "no $emu (make BUILD=... $emu)"
	DF11_GPU_LIB=$emu mount_df11fs "$D" "$M" -o decoder=gpu,decoded_cache=256M
	# open the first, reading nothing (the kernel knows the others: they
	# are queued): no chunk goes through the cache, so only the
	# whole-file decode can use the GPU
	stat "$M"/a/* >/dev/null
	: <"$M/a/$(shards "$SRC/a" | head -n 1)"
	wait_until 120 filled "$M" 3
	[ "$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["cache"]["misses"])' "$M/.df11fs-stats.json")" -eq 0 ]
	run -0 root_attr "$M" gpu_chunks
	[ "$output" -gt 0 ]
	[ "$(root_attr "$M" errors)" = 0 ]
	[ "$(dstat "$M" failed)" -eq 0 ]
	same_shards
	unmount_df11fs "$M"
	# the device fails after 5 launches: the fill goes on on the CPU
	DF11_GPU_LIB=$emu DF11_EMU_FAIL_AFTER=5 mount_df11fs "$D" "$M" \
		-o decoder=gpu,decoded_cache=256M
	stat "$M"/a/* >/dev/null
	same_shards
	wait_until 120 filled "$M" 3
	[ "$(dstat "$M" failed)" -eq 0 ]
	[[ "$(root_attr "$M" decoder)" == "gpu (fell back to cpu: CUDA error on "* ]]
	unmount_df11fs "$M"
	[ "$(grep -c 'CUDA error' "$M.log")" = 1 ]
}
