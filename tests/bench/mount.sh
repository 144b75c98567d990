#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/mount.sh - df11fs read throughput and latency next to the
# page cache (a benchmark, not a test: it prints a table and checks only
# that the bytes are right)
#
#   tests/bench/mount.sh BUILD_DIR
#
# Generates a model of DF11_BENCH_SIZE (default 1G) in one file and
# another of the same size in four shards, compresses them, and in one
# run measures:
#   - `cat` of the original file from the page cache, best of seven: the
#     baseline;
#   - `cat` of a memory-served FUSE file of the same size (bench_memfuse,
#     connection set up as df11fs's, a fresh read through the daemon each
#     time, best of 3): the transport alone, no file system behind it;
#   - `cat` through a fresh mount after dropping the kernel caches (root
#     only; otherwise the source may still be cached): cold, decoding,
#     the DF11 source read from disk;
#   - the same with the DF11 source in the page cache, as the baseline's
#     original is: cold df11fs cache, decoding (fresh mounts, best of 3);
#   - the original itself, a plain file (not compressed), passed through
#     a fresh mount: what df11fs reaches without decoding;
#   - the same `cat` again, best of seven: warm, from the page cache;
#   - four concurrent `cat`s of the four shards, aggregate GB/s: of the
#     originals from the page cache (the baseline of that table), through
#     a fresh mount decoding (DF11 sources page-cached), and of plain
#     copies through a fresh mount; best of 3 each;
#   - 2000 random 4 KiB preads on a fresh mount, median and p99 latency,
#     next to the same on the original file (in the page cache);
#   - with -o decoded_cache= (fresh mounts, best of 3): the first `cat`
#     (its open waits for the whole-file decode), a second `cat` (read by
#     the kernel from the decoded file where passthrough is allowed), and
#     four concurrent readers;
#   - a model load's reads of the four shards (bench_load: each mapped,
#     its tensors copied out in data order, as safetensors does), best of
#     3: the originals from the page cache; a fresh mount, then a second
#     load on it; the same with -o decoded_cache= (the second once the
#     decodes have ended);
#   - the daemon's peak RSS (VmHWM) next to cache_size.
# The machine is shared and noisy: compare numbers of one run only.
# DF11_BENCH_DIR picks the work directory (default: a new one in /tmp),
# DF11_BENCH_CACHE the cache_size (default 1G), DF11_BENCH_OPTS adds -o
# options to every mount.
set -euo pipefail

B=${1:?usage: tests/bench/mount.sh BUILD_DIR}
B=$(cd "$B" && pwd)
SIZE=${DF11_BENCH_SIZE:-1G}
CACHE=${DF11_BENCH_CACHE:-1G}
OPTS=${DF11_BENCH_OPTS:+,$DF11_BENCH_OPTS}
W=${DF11_BENCH_DIR:-$(mktemp -d /tmp/df11fs-bench.XXXXXX)}
M=$W/mnt
PID=
MEMPID=
MEMFUSE=$B/tests/bench_memfuse

for b in df11 df11fs df11-genmodel; do
	[ -x "$B/$b" ] || { echo "missing $B/$b: run make first" >&2; exit 2; }
done
[ -x "$MEMFUSE" ] || echo "no $MEMFUSE (make bench builds it): no memfuse row" >&2
[ -e /dev/fuse ] || { echo "no /dev/fuse" >&2; exit 2; }

unmount() {
	[ -n "$PID" ] || return 0
	fusermount3 -u "$M" 2>/dev/null || umount "$M" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
}

# memfuse_stop - unmount bench_memfuse from $W/mem, wait for it
memfuse_stop() {
	[ -n "$MEMPID" ] || return 0
	fusermount3 -u "$W/mem" 2>/dev/null || umount "$W/mem" 2>/dev/null || true
	wait "$MEMPID" 2>/dev/null || true
	MEMPID=
}

# memfuse_start BYTES - a memory-served file of BYTES on $W/mem/file
memfuse_start() {
	local deadline=$((SECONDS + 30))
	memfuse_stop
	mkdir -p "$W/mem"
	"$MEMFUSE" -s "$1" "$W/mem" </dev/null >>"$W/memfuse.log" 2>&1 3>&- &
	MEMPID=$!
	until mountpoint -q "$W/mem"; do
		if ! kill -0 "$MEMPID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]
		then
			echo "bench_memfuse did not mount:" >&2
			cat "$W/memfuse.log" >&2
			exit 1
		fi
		sleep 0.01
	done
}

cleanup() {
	unmount
	memfuse_stop
	[ -n "${DF11_BENCH_DIR:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

# mount_fresh [,OPTS] - a new mount of $W/d on $M (empty df11fs cache),
# with more -o options
mount_fresh() {
	local deadline=$((SECONDS + 10))
	unmount
	mkdir -p "$M"
	"$B/df11fs" -f -o "cache_size=$CACHE$OPTS${1:-}" "$W/d" "$M" \
		</dev/null >>"$W/df11fs.log" 2>&1 3>&- &
	PID=$!
	until mountpoint -q "$M"; do
		if ! kill -0 "$PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]
		then
			echo "df11fs did not mount:" >&2
			cat "$W/df11fs.log" >&2
			exit 1
		fi
		sleep 0.01
	done
}

drop_caches() {
	sync
	if [ -w /proc/sys/vm/drop_caches ]; then
		echo 3 >/proc/sys/vm/drop_caches
	else
		DROP_NOTE=" (caches not dropped: not root)"
	fi
}

# load_secs DIR - seconds of one bench_load of DIR's shards
load_secs() {
	"$LOAD" "$1" | sed -n 's/.*"seconds": *\([0-9.]*\).*/\1/p'
}

# fill_idle - wait (up to 60 s) until the mount's whole-file decodes end
fill_idle() {
	local deadline=$((SECONDS + 60))
	until python3 -c 'import json, sys
x = json.load(open(sys.argv[1]))["decoded"]
sys.exit(x["started"] > x["filled"] + x["failed"])' "$M/.df11fs-stats.json" ||
		[ "$SECONDS" -ge "$deadline" ]; do
		sleep 0.1
	done
}

# best FILE - the shortest of seven `cat FILE` runs (page-cache reads,
# which a shared machine slows at random)
best() {
	local i
	for i in 1 2 3 4 5 6 7; do secs_cat "$1"; echo; done | sort -n | head -n 1
}

# least A B - the smaller of two numbers; A may be empty
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

# secs_cat FILE - seconds `cat FILE >/dev/null` takes
secs_cat() {
	local t0 t1
	t0=$(date +%s.%N)
	cat "$1" >/dev/null
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}

# secs_par FILE... - seconds `cat` of every FILE at once takes
secs_par() {
	local t0 t1 f pids=()
	t0=$(date +%s.%N)
	for f; do
		cat "$f" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}

# latency FILE - "median p99" microseconds of 2000 random 4 KiB preads
latency() {
	python3 - "$1" <<'EOF'
import os, random, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
rnd = random.Random(1)
lat = []
for _ in range(2000):
    off = rnd.randrange(0, size - 4096) & ~4095
    t = time.perf_counter_ns()
    if len(os.pread(fd, 4096, off)) != 4096:
        sys.exit("short read")
    lat.append((time.perf_counter_ns() - t) / 1000)
lat.sort()
print("%.0f %.0f" % (lat[len(lat) // 2], lat[int(len(lat) * 0.99)]))
EOF
}

row() { printf '%-34s %10s %10s %12s\n' "$@"; }

echo "== generating a $SIZE model (one file, then four shards) and compressing it in $W"
mkdir -p "$W"
rm -rf "$W/src" "$W/src4" "$W/d"
"$B/df11-genmodel" -s 3 -S "$SIZE" "$W/src" >/dev/null
"$B/df11" compress -q "$W/src" "$W/d"
F=model.safetensors
bytes=$(stat -c %s "$W/src/$F")
stored=$(stat -c %s "$W/d/$F")
gbs() { awk -v b="${2:-$bytes}" -v s="$1" 'BEGIN { printf "%.2f", b / s / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
vs() { awk -v a="${2:-$base}" -v b="$1" 'BEGIN { printf "%.2f", a / b }'; }

DROP_NOTE=
cat "$W/src/$F" >/dev/null
base=$(best "$W/src/$F")

# a file of the same size served from memory by a FUSE daemon: the transport
# alone; each `cat` reads through the daemon (no keep_cache)
mem=
if [ -x "$MEMFUSE" ]; then
	memfuse_start "$bytes"
	for _ in 1 2 3; do
		mem=$(least "$mem" "$(secs_cat "$W/mem/file")")
	done
	memfuse_stop
fi

# the original, uncompressed, passed through the mount: a plain file,
# no decoding
mkdir -p "$W/d/plain"
cp "$W/src/$F" "$W/d/plain/$F"

drop_caches
mount_fresh
cold_disk=$(secs_cat "$M/$F")
# the same with the DF11 source in the page cache, as the baseline's is;
# each cold read on a fresh mount, best of three
cat "$W/d/$F" "$W/d/plain/$F" >/dev/null
cold=
fuse=
for _ in 1 2 3; do
	mount_fresh
	fuse=$(least "$fuse" "$(secs_cat "$M/plain/$F")")
	mount_fresh
	cold=$(least "$cold" "$(secs_cat "$M/$F")")
done
warm=$(best "$M/$F")
cmp -s "$M/$F" "$W/src/$F" || {
	echo "df11fs read wrong bytes" >&2
	exit 1
}
decode=$(getfattr --absolute-names --only-values -n user.df11.decode_gbps \
	"$M" 2>/dev/null || echo "?")
hwm=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$PID/status")

mount_fresh
lat_mnt=$(latency "$M/$F")
cat "$W/src/$F" >/dev/null # dropped with the caches above
lat_org=$(latency "$W/src/$F")
hwm2=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$PID/status")

# four concurrent readers, each source in the page cache (written after
# the caches were dropped)
# the four-shard model: compressed under d/four, plain copies under
# d/plain4, so that one mount shows both
"$B/df11-genmodel" -s 4 -S "$SIZE" -n 4 "$W/src4" >/dev/null
"$B/df11" compress -q "$W/src4" "$W/d/four"
mkdir -p "$W/d/plain4"
cp "$W"/src4/*.safetensors "$W/d/plain4/"
sync
SHARDS=()
for f in "$W"/src4/*.safetensors; do SHARDS+=("${f##*/}"); done
org4=("${SHARDS[@]/#/$W/src4/}")
df4=("${SHARDS[@]/#/$M/four/}")
plain4=("${SHARDS[@]/#/$M/plain4/}")
bytes4=$(stat -c %s "${org4[@]}" | awk '{ s += $1 } END { print s }')
cat "${org4[@]}" "${SHARDS[@]/#/$W/d/four/}" "${SHARDS[@]/#/$W/d/plain4/}" >/dev/null
par_org=
par_df=
par_plain=
for _ in 1 2 3; do
	par_org=$(least "$par_org" "$(secs_par "${org4[@]}")")
	mount_fresh
	par_plain=$(least "$par_plain" "$(secs_par "${plain4[@]}")")
	mount_fresh
	par_df=$(least "$par_df" "$(secs_par "${df4[@]}")")
done
for f in "${SHARDS[@]}"; do
	cmp -s "$M/four/$f" "$W/src4/$f" || {
		echo "df11fs read wrong bytes ('four/$f')" >&2
		exit 1
	}
done
hwm3=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$PID/status")

# -o decoded_cache=: the first open waits while the whole file is decoded,
# a later open is read by the kernel (passthrough) or copied from the
# decoded file; then four readers on a fresh mount (the first open queues
# the other shards)
DEC=",decoded_cache=$((2 * (bytes + bytes4)))"
dec_first=
dec_second=
par_dec=
for _ in 1 2 3; do
	mount_fresh "$DEC"
	dec_first=$(least "$dec_first" "$(secs_cat "$M/$F")")
	dec_second=$(least "$dec_second" "$(secs_cat "$M/$F")")
	mount_fresh "$DEC"
	stat "${df4[@]}" >/dev/null
	par_dec=$(least "$par_dec" "$(secs_par "${df4[@]}")")
done
cmp -s "$M/$F" "$W/src/$F" || {
	echo "df11fs read wrong bytes (decoded_cache)" >&2
	exit 1
}
# a loader's reads (bench_load: each shard mapped, its header parsed, the
# tensors copied out in data order, as safetensors does): the originals
# from the page cache, then a fresh mount twice (the second from the
# kernel's cache) with and without decoded_cache
LOAD=$B/tests/bench_load
load_org='' load_first='' load_second='' load_dfirst='' load_dsecond=''
if [ -x "$LOAD" ]; then
	for _ in 1 2 3; do
		load_org=$(least "$load_org" "$(load_secs "$W/src4")")
		mount_fresh
		load_first=$(least "$load_first" "$(load_secs "$M/four")")
		load_second=$(least "$load_second" "$(load_secs "$M/four")")
		mount_fresh "$DEC"
		load_dfirst=$(least "$load_dfirst" "$(load_secs "$M/four")")
		fill_idle
		load_dsecond=$(least "$load_dsecond" "$(load_secs "$M/four")")
	done
fi
dec_pt=$(python3 -c 'import json, sys
print("passthrough" if json.load(open(sys.argv[1]))["decoded"]["passthrough"] else "no passthrough")' "$M/.df11fs-stats.json")
unmount

echo
echo "df11fs: $F, $bytes bytes, stored $stored ($(ratio "$bytes" \
	"$stored")), cache_size=$CACHE$OPTS, $(nproc) CPUs"
echo
row "sequential cat" seconds GB/s "vs baseline"
row "original, page cache (baseline)" "$base" "$(gbs "$base")" 1.00
[ -z "$mem" ] ||
	row "memory-served FUSE file (memfuse)" "$mem" "$(gbs "$mem")" "$(vs "$mem")"
row "df11fs cold, source from disk" "$cold_disk" "$(gbs "$cold_disk")" "$(vs "$cold_disk")"
row "df11fs cold, source page-cached" "$cold" "$(gbs "$cold")" "$(vs "$cold")"
row "plain file through the mount" "$fuse" "$(gbs "$fuse")" "$(vs "$fuse")"
row "df11fs warm, page cache" "$warm" "$(gbs "$warm")" "$(vs "$warm")"
row "decoded_cache, first open" "$dec_first" "$(gbs "$dec_first")" "$(vs "$dec_first")"
row "decoded_cache, next open ($dec_pt)" "$dec_second" "$(gbs "$dec_second")" "$(vs "$dec_second")"
[ -z "$DROP_NOTE" ] || echo "  cold$DROP_NOTE"
echo "  decoder: $decode GB/s of decoding time (user.df11.decode_gbps)"
[ -z "$mem" ] ||
	echo "  df11fs cold (source page-cached) vs memfuse, speed: $(vs "$cold" "$mem")"
echo "  plain file vs df11fs cold (source page-cached), speed: $(vs "$fuse" "$cold")"
echo
row "4 concurrent readers (4 shards)" seconds GB/s "vs baseline"
row "original, page cache (baseline)" "$par_org" "$(gbs "$par_org" "$bytes4")" 1.00
row "df11fs fresh, source page-cached" "$par_df" "$(gbs "$par_df" "$bytes4")" "$(vs "$par_df" "$par_org")"
row "plain files through the mount" "$par_plain" "$(gbs "$par_plain" "$bytes4")" "$(vs "$par_plain" "$par_org")"
row "df11fs decoded_cache, fresh" "$par_dec" "$(gbs "$par_dec" "$bytes4")" "$(vs "$par_dec" "$par_org")"
echo "  $bytes4 bytes in all, aggregate GB/s"
if [ -n "$load_org" ]; then
	echo
	row "model load, 4 shards (bench_load)" seconds GB/s "x time"
	# lrow NAME SECONDS - a row: GB/s of the four shards, x the time
	lrow() { row "$1" "$2" "$(gbs "$2" "$bytes4")" "$(ratio "$load_org" "$2")"; }
	lrow "original, page cache (baseline)" "$load_org"
	lrow "df11fs fresh, source page-cached" "$load_first"
	lrow "df11fs, second load (page cache)" "$load_second"
	lrow "decoded_cache, first load" "$load_dfirst"
	lrow "decoded_cache, second load" "$load_dsecond"
	echo "  mmap, tensors copied in data order; x: time / the original's"
fi
echo
row "random 4 KiB pread, 2000" "median us" "p99 us" ""
row "original, page cache" "${lat_org% *}" "${lat_org#* }" ""
row "df11fs, fresh mount" "${lat_mnt% *}" "${lat_mnt#* }" ""
echo
row "daemon peak RSS (VmHWM)" "MiB" "" ""
row "after cold + warm cat" "$hwm" "" ""
row "after random reads" "$hwm2" "" ""
row "after 4 concurrent readers" "$hwm3" "" ""
row "cache_size" "$CACHE" "" ""

if command -v hyperfine >/dev/null; then
	echo
	echo "== hyperfine: warm cat through the mount"
	mount_fresh
	cat "$M/$F" >/dev/null
	hyperfine -N --warmup 1 --runs 5 "cat $M/$F" 2>&1 | sed -n '1,4p'
	unmount
fi
