#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/gpu/run.sh - the GPU checks, in one run on the GPU machine
#
# Run from the project root (after `source .device/setup.sh` there):
#   tests/gpu/run.sh
# Steps that exist now:
#   1. build libdf11gpu.so, test_gpu and bench_gpu (make GPU=1 BUILD=build-gpu)
#   2. test_gpu: df11_gpu_decode() against df11_unit_decode(), byte for byte
#      and verdict for verdict, on generated units (tests/gpu/test_gpu.c)
#   3. bench_gpu: kernel GB/s next to a device copy, and end to end
#      (tests/gpu/bench_gpu.c); every output is checked first
#   4. df11fs: build all; a 1 GiB generated model (2 shards) compressed and
#      mounted with -o decoder=gpu: the log says gpu, every file's sha256
#      equals the original's, user.df11.gpu_chunks > 0
#   5. sequential read GB/s of a 2 GiB file through a fresh mount with
#      decoder=gpu, cpu and auto, three rounds, best of each (DF11 source
#      in the page cache, after drop_caches when root), next to cat of the
#      original from the cache
#   6. transformers (tests/gpu/logits.py): a tiny random Llama saved in
#      bf16, compressed, mounted with decoder=gpu, loaded to cuda from the
#      mount and from the original: logits equal bit for bit
#   official: the official DFloat11 fixtures of tests/data/official
#      (llama-tiny, qwen3-tiny: made by the official compressor), each
#      mounted with decoder=gpu and loaded to cuda with transformers from
#      the mount and from its BF16 original: logits equal bit for bit
#   7. load time: a 2.2 GB random Llama, from_pretrained(device_map="cuda")
#      from a fresh decoder=gpu mount vs from the original directory
#      (both sources in the page cache), and the ratio
#   8. load8b (not in the default FS_STEPS: about 5 minutes at full size):
#      an 8B-class Qwen3-shaped model (tests/gpu/load.py gen: hidden 4096,
#      LOAD_LAYERS layers, intermediate 12288, vocab 151936, 16.4 GB bf16
#      in 4 shards at 36 layers) compressed with df11 compress -j$(nproc);
#      in one run, each load a fresh python3 (tests/gpu/load.py time:
#      from_pretrained(dtype=bfloat16, device_map=LOAD_DEVICE) and
#      torch.cuda.synchronize()): the original from the page cache; a
#      first load per decoder (gpu, cpu, auto), each on a fresh mount with
#      the DF11 source page-cached; a second load through the auto mount
#      (decoded pages in the kernel's cache); after drop_caches, when it
#      is writable, the original and a fresh auto mount from disk. Then
#      `cat` of the largest shard (original page-cached, a fresh auto
#      mount, bench_memfuse of the same size) and four concurrent `cat`s
#      of the four shards (original, fresh auto mount), best of 3 each.
#      Then, with -o decoded_cache=LOAD_DECODED (whole files decoded on
#      open, read by the kernel through passthrough once complete): a
#      first load with decoder=cpu; a first and a second load on one
#      decoder=auto mount (the second once the decodes
#      have all ended), `cat` of the shard and the
#      four concurrent `cat`s through it (complete by then), and a cold
#      load after drop_caches. Then the same loads' reads without the
#      framework (bench_load): the original, a fresh auto mount twice, a
#      fresh decoded_cache mount twice.
#      A table of seconds, GB/s and ratios to the original, with the
#      daemon's peak RSS (VmHWM before unmount) next to its cache_size.
#      gpu-fs.log has each load's JSON line, with the loader's page
#      faults and CPU seconds.
#
# Logs: ${OUT:-/tmp}/gpu-build.log, gpu-test.log, gpu-bench.log,
# gpu-fs.log (steps 4-7, daemon logs appended), step 8's statistics files
# (load8b-{gpu,cpu,auto,cold,cat,par}.stats.json, and
# load8b-decoded{-cpu,-first,,-cold}.stats.json); a summary on stdout.
# Exit status: 0 all good, 77 no usable GPU, 1 anything else.
# Knobs: BUILD, DF11_GPU_LIB, TEST_ARGS, BENCH_ARGS, KERNEL_STEPS
# (default "test bench"; "" skips steps 2-3), WORK (scratch
# directory for models and mounts, default /tmp/df11-gpu-run), FS_STEPS
# (default "mount speed logits official load"; "" skips steps 4-7), FS_SIZE (of the
# generated model, default 512M), SPEED_SIZE (step 5's file, default 2G),
# and for step 8 (FS_STEPS=load8b): LOAD_LAYERS (decoder layers, default
# 36: 8.19 G weights; 4: 1.55 G, a dry run of a minute or two), LOAD_DEVICE
# (device_map, default cuda; cpu runs the step without a GPU) and
# LOAD_OPTS (more -o options for every df11fs mount of step 8, e.g.
# cache_size=4G,kernel_readahead=4M), LOAD_DECODED (decoded_cache= of
# the extra mount that loads first and second, cold, and cats through
# passthrough; default 24G, "" leaves it out); e.g. a dry run of the
# script on the CPU emulation of the GPU (no GPU needed, slow):
#   make BUILD=build-gpu build-gpu/libdf11gpu-emu.so
#   DF11_GPU_LIB=$PWD/build-gpu/libdf11gpu-emu.so TEST_ARGS="-q example" \
#     BENCH_ARGS=1 tests/gpu/run.sh
# Meant to finish in well under 8 minutes on one H200 (16 cores).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
B=${BUILD:-build-gpu}
L=${OUT:-/tmp}
mkdir -p "$L"
t0=$(date +%s)
status=0

step() { printf '== %s (%ss)\n' "$*" "$(($(date +%s) - t0))"; }
die() {
	echo "FAIL: $*"
	exit 1
}

step "GPU"
{ nvidia-smi -L 2>&1; git log -1 --format="rev %h %s" 2>&1; git status --short gpu tests/gpu Makefile 2>&1; } | tee "$L/gpu-info.log"

step "build: make GPU=1 BUILD=$B gpu"
if ! timeout 150 make -j"$(nproc)" GPU=1 BUILD="$B" gpu >"$L/gpu-build.log" 2>&1; then
	tail -n 30 "$L/gpu-build.log"
	die "build failed (log: $L/gpu-build.log)"
fi
grep -E 'warning|error' "$L/gpu-build.log" | head -n 20
export DF11_GPU_LIB="${DF11_GPU_LIB:-$(cd "$B" && pwd)/libdf11gpu.so}"

KERNEL_STEPS=${KERNEL_STEPS-test bench}
test_result="not run" bench_result="not run"
if [[ " $KERNEL_STEPS " == *" test "* ]]; then
step "test_gpu"
timeout 170 "$B/tests/test_gpu" ${TEST_ARGS:-} >"$L/gpu-test.log" 2>&1
rc=$?
grep -v '^  ' "$L/gpu-test.log" | tail -n 40
grep '^  ' "$L/gpu-test.log" | head -n 30
case $rc in
0) test_result="PASS" ;;
77)
	echo "SKIP: $(head -n 1 "$L/gpu-test.log")"
	exit 77
	;;
124) test_result="FAIL (timed out)"; status=1 ;;
*) test_result="FAIL (exit $rc)"; status=1 ;;
esac
fi

if [[ " $KERNEL_STEPS " == *" bench "* ]]; then
step "bench_gpu"
timeout 200 "$B/tests/bench_gpu" ${BENCH_ARGS:-} >"$L/gpu-bench.log" 2>"$L/gpu-bench.err"
brc=$?
cat "$L/gpu-bench.log"
cat "$L/gpu-bench.err"
cat "$L/gpu-bench.err" >>"$L/gpu-bench.log"
if [ $brc -ne 0 ]; then
	bench_result="FAIL (exit $brc)"
	status=1
else
	bench_result="PASS (outputs checked)"
fi
fi

# ------------------------------------------------------ df11fs on the GPU
W=${WORK:-/tmp/df11-gpu-run}
FS_STEPS=${FS_STEPS-mount speed logits official load}
FS=$B/df11fs
FL=$L/gpu-fs.log
export PYTHONUNBUFFERED=1
fs_summary=()
fsum() { fs_summary+=("$*"); echo "$*" | tee -a "$FL"; }
ffail() { fsum "FAIL: $*"; status=1; }
has() { [[ " $FS_STEPS " == *" $1 "* ]]; }

# mount_fs SRC MNT OPTS... - df11fs in the foreground, log MNT.log; wait
mount_fs() {
	local src=$1 mnt=$2 pid deadline=$((SECONDS + 20))
	shift 2
	mkdir -p "$mnt"
	"$FS" -f "$@" "$src" "$mnt" </dev/null >"$mnt.log" 2>&1 &
	pid=$!
	echo "$pid" >"$mnt.pid"
	until mountpoint -q "$mnt"; do
		if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			cat "$mnt.log"
			return 1
		fi
		sleep 0.05
	done
}
# umount_fs MNT - unmount, wait for the daemon, keep its log in $FL
umount_fs() {
	local mnt=$1 pid i
	pid=$(cat "$mnt.pid" 2>/dev/null) || return 0
	fusermount3 -u "$mnt" 2>/dev/null || { sleep 1; fusermount3 -u -z "$mnt"; }
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	{ echo "--- $mnt.log"; cat "$mnt.log"; } >>"$FL"
	rm -f "$mnt.pid"
}
# xattr MNT NAME - user.df11.NAME of the mount's root
xattr() {
	python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.df11." + sys.argv[2]).decode())' "$1" "$2"
}
# secs CMD... - run CMD, print the seconds it took
secs() {
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null || return 1
	e=$(date +%s.%N)
	echo "$s $e" | awk '{ printf "%.3f", $2 - $1 }'
}
gbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.2f", (t > 0 ? b / t / 1e9 : 0) }'; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
cleanup_fs() {
	local p
	for p in "$W"/*.pid; do [ -e "$p" ] && umount_fs "${p%.pid}"; done
}
trap cleanup_fs EXIT

if [ -n "$FS_STEPS" ]; then
	: >"$FL"
	step "df11fs: make GPU=1 BUILD=$B all"
	if ! timeout 150 make -j"$(nproc)" GPU=1 BUILD="$B" all "$B/tests/bench_memfuse" "$B/tests/bench_load" >>"$L/gpu-build.log" 2>&1; then
		tail -n 30 "$L/gpu-build.log"
		die "build of df11fs failed (log: $L/gpu-build.log)"
	fi
	command -v fusermount3 >/dev/null && [ -e /dev/fuse ] ||
		die "no FUSE here (/dev/fuse, fusermount3): cannot mount"
	rm -rf "$W"
	mkdir -p "$W/orig" "$W/df11"
fi

if has mount; then
	step "df11fs: generate 2 x ${FS_SIZE:-512M}, compress"
	timeout 120 "$B/df11-genmodel" -s 5 -S "${FS_SIZE:-512M}" -n 2 "$W/orig/m" >>"$FL" 2>&1 &&
		timeout 120 "$B/df11" compress -q "$W/orig/m" "$W/df11/m" >>"$FL" 2>&1 ||
		die "cannot make the test model (log: $FL)"
	du -sb "$W/orig/m" "$W/df11/m" | tee -a "$FL"
fi

if has mount; then
	step "df11fs: mount with decoder=gpu, sha256 of every file"
	if mount_fs "$W/df11" "$W/mnt" -o decoder=gpu; then
		a=$(cd "$W/orig" && find . -type f | sort | xargs sha256sum)
		b=$(cd "$W/mnt" && timeout 120 find . -type f | sort | xargs sha256sum)
		n=$(xattr "$W/mnt" gpu_chunks)
		d=$(xattr "$W/mnt" decoder)
		e=$(xattr "$W/mnt" errors)
		umount_fs "$W/mnt"
		grep 'decoder' "$W/mnt.log"
		if ! grep -q '^df11fs: decoder: gpu (' "$W/mnt.log"; then
			ffail "mount decoder=gpu: the log does not say gpu"
		elif [ "$a" != "$b" ]; then
			ffail "mount decoder=gpu: sha256 differs from the original"
		elif ! [ "${n:-0}" -gt 0 ] || [ "$e" != 0 ]; then
			ffail "mount decoder=gpu: gpu_chunks=$n errors=$e"
		else
			fsum "mount decoder=gpu: PASS ($(echo "$a" | wc -l) files equal, decoder '$d', gpu_chunks $n)"
		fi
	else
		ffail "cannot mount with decoder=gpu"
	fi
fi

if has speed; then
	step "df11fs: sequential read GB/s of one ${SPEED_SIZE:-2G} file, fresh mounts"
	mkdir -p "$W/sorig" "$W/sdf"
	timeout 120 "$B/df11-genmodel" -s 6 -S "${SPEED_SIZE:-2G}" "$W/sorig/s" >>"$FL" 2>&1 &&
		timeout 120 "$B/df11" compress -q "$W/sorig/s" "$W/sdf/s" >>"$FL" 2>&1 ||
		die "cannot make the speed model (log: $FL)"
	big=$(ls -S "$W"/sorig/s/*.safetensors | head -n 1)
	rel=${big#"$W"/sorig/}
	size=$(stat -c %s "$big")
	declare -A best=()
	for round in 1 2 3; do # one read each is too noisy to compare
		for dec in gpu cpu auto; do
			drop_caches
			find "$W/sdf" -type f -exec cat {} + >/dev/null
			if ! mount_fs "$W/sdf" "$W/mnt-$dec" -o "decoder=$dec"; then
				ffail "cannot mount with decoder=$dec"
				continue
			fi
			t=$(secs timeout 120 cat "$W/mnt-$dec/$rel") || t=0
			n=$(xattr "$W/mnt-$dec" gpu_chunks)
			nb=$(xattr "$W/mnt-$dec" gpu_batches)
			umount_fs "$W/mnt-$dec"
			printf 'round %s read %-16s %6s GB/s  (%s bytes in %s s, gpu_chunks %s, gpu_batches %s)\n' \
				"$round" "decoder=$dec" "$(gbps "$size" "$t")" "$size" "$t" "$n" "$nb" | tee -a "$FL"
			b=${best[$dec]:-0}
			if awk -v t="$t" -v b="$b" 'BEGIN { exit !(t > 0 && (b == 0 || t < b)) }'; then
				best[$dec]=$t
			fi
		done
	done
	for dec in gpu cpu auto; do
		fsum "$(printf 'read %-16s %6s GB/s  (best of 3 fresh mounts, %s bytes)' "decoder=$dec" "$(gbps "$size" "${best[$dec]:-0}")" "$size")"
	done
	cat "$big" >/dev/null
	t=$(secs cat "$big")
	fsum "$(printf 'read %-16s %6s GB/s  (original, page cache)' cat "$(gbps "$size" "$t")")"
fi

if has logits; then
	step "transformers: logits through decoder=gpu, bit for bit"
	mkdir -p "$W/tdf"
	if timeout 120 python3 tests/gpu/logits.py save "$W/tiny" tiny >>"$FL" 2>&1 &&
		timeout 60 "$B/df11" compress -q "$W/tiny" "$W/tdf/tiny" >>"$FL" 2>&1 &&
		mount_fs "$W/tdf" "$W/tmnt" -o decoder=gpu; then
		r=$(timeout 180 python3 tests/gpu/logits.py compare "$W/tiny" "$W/tmnt/tiny" 2>>"$FL")
		rc=$?
		umount_fs "$W/tmnt"
		echo "$r" >>"$FL"
		if [ $rc -eq 0 ]; then
			fsum "transformers $(echo "$r" | tail -n 1)"
		else
			ffail "transformers logits (exit $rc): $(echo "$r" | tail -n 1)"
		fi
	else
		ffail "transformers logits: setup failed (log: $FL)"
		tail -n 20 "$FL"
	fi
fi

if has official; then
	step "transformers: official DFloat11 fixtures through decoder=gpu, bit for bit"
	for fx in tests/data/official/*/; do
		fx=${fx%/}
		n=$(basename "$fx")
		if mount_fs "$fx/df11" "$W/omnt-$n" -o decoder=gpu; then
			r=$(timeout 180 python3 tests/gpu/logits.py compare "$fx/orig" "$W/omnt-$n" 2>>"$FL")
			rc=$?
			umount_fs "$W/omnt-$n"
			echo "$r" >>"$FL"
			if [ $rc -eq 0 ]; then
				fsum "official $n: transformers $(echo "$r" | tail -n 1)"
			else
				ffail "official $n: transformers logits (exit $rc): $(echo "$r" | tail -n 1)"
			fi
		else
			ffail "official $n: mount failed (log: $FL)"
		fi
	done
fi

if has load; then
	step "transformers: load time of a 2.2 GB model, mount vs original"
	mkdir -p "$W/bdf"
	if timeout 180 python3 tests/gpu/logits.py save "$W/big" big >>"$FL" 2>&1 &&
		timeout 120 "$B/df11" compress -q "$W/big" "$W/bdf/big" >>"$FL" 2>&1; then
		du -sb "$W/big" "$W/bdf/big" | tee -a "$FL"
		find "$W/big" "$W/bdf" -type f -exec cat {} + >/dev/null
		if mount_fs "$W/bdf" "$W/bmnt" -o decoder=gpu; then
			r=$(timeout 240 python3 tests/gpu/logits.py load "$W/big" "$W/bmnt/big" 2>>"$FL")
			rc=$?
			n=$(xattr "$W/bmnt" gpu_chunks)
			umount_fs "$W/bmnt"
			echo "$r" | tee -a "$FL"
			if [ $rc -eq 0 ]; then
				while read -r line; do fsum "$line (gpu_chunks $n)"; done < <(echo "$r" | grep '^load ratio')
			else
				ffail "load time (exit $rc)"
			fi
		else
			ffail "cannot mount the big model"
		fi
	else
		ffail "load time: setup failed (log: $FL)"
		tail -n 20 "$FL"
	fi
fi
# ------------------------------------------------- step 8: load8b
# mount_mem BYTES MNT - bench_memfuse (one file, MNT/file) like mount_fs
mount_mem() {
	local pid deadline=$((SECONDS + 60))
	mkdir -p "$2"
	"$B/tests/bench_memfuse" -s "$1" "$2" </dev/null >"$2.log" 2>&1 &
	pid=$!
	echo "$pid" >"$2.pid"
	until mountpoint -q "$2"; do
		if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			cat "$2.log"
			return 1
		fi
		sleep 0.05
	done
}
# hwm MNT - the peak RSS of MNT's daemon, MiB
hwm() { awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$(cat "$1.pid")/status" 2>/dev/null; }
# keep_stats MNT NAME - MNT's statistics file (stages, request sizes) as
# $L/NAME.stats.json, the last one of a name kept
keep_stats() { cp "$1/.df11fs-stats.json" "$L/$2.stats.json" 2>/dev/null || :; }
# secs_par FILE... - seconds that `cat` of every FILE at once takes
secs_par() {
	local s e f pids=()
	s=$(date +%s.%N)
	for f; do
		cat "$f" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}" || return 1
	e=$(date +%s.%N)
	echo "$s $e" | awk '{ printf "%.3f", $2 - $1 }'
}
# fill_idle MNT - wait (up to 300 s) until MNT's whole-file decodes have
# all ended; prints the seconds waited
fill_idle() {
	local t0=$SECONDS
	until python3 -c 'import json, sys
x = json.load(open(sys.argv[1]))["decoded"]
sys.exit(x["started"] > x["filled"] + x["failed"])' "$1/.df11fs-stats.json" 2>/dev/null ||
		[ $((SECONDS - t0)) -ge 300 ]; do
		sleep 0.2
	done
	echo $((SECONDS - t0))
}
# least A B - the smaller of two positive numbers; A may be empty, B 0
least() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || (b > 0 && b + 0 < a + 0)) ? b : a }'; }
# load_secs DIR WHAT - seconds of one from_pretrained of DIR, a fresh python3
load_secs() {
	local r
	r=$(timeout 300 python3 tests/gpu/load.py time "$1" --device "$LDEV" 2>>"$FL")
	echo "load $2: $r" >>"$FL"
	echo "$r" | sed -n 's/.*"seconds": *\([0-9.]*\).*/\1/p' | grep . || echo 0
}
# bl_secs DIR - seconds of one bench_load of DIR's shards (0: it failed)
bl_secs() {
	local r
	r=$("$B/tests/bench_load" "$1" 2>>"$FL")
	echo "bench_load $1: $r" >>"$FL"
	echo "$r" | sed -n 's/.*"seconds": *\([0-9.]*\).*/\1/p' | grep . || echo 0
}
# l8row NAME SECONDS BYTES BASE_SECONDS NOTE - a row of the load table; a
# load that failed (0 seconds) fails the step
l8row() {
	awk -v t="$2" 'BEGIN { exit !(t > 0) }' ||
		ffail "load8b: $1: the load failed (log: $FL)"
	fsum "$(awk -v n="$1" -v t="$2" -v b="$3" -v a="$4" -v x="$5" 'BEGIN {
		printf "  %-50s %7.2f s %6.2f GB/s %6.2fx  %s", n, t,
			(t > 0 ? b / t / 1e9 : 0), (a > 0 ? t / a : 0), x }')"
}
# l8cat NAME SECONDS BYTES BASE_SECONDS - the same, speed against the base
l8cat() {
	fsum "$(awk -v n="$1" -v t="$2" -v b="$3" -v a="$4" 'BEGIN {
		printf "  %-50s %7.3f s %6.2f GB/s %6.2fx", n, t,
			(t > 0 ? b / t / 1e9 : 0), (t > 0 ? a / t : 0) }')"
}

# load8b_measure ORIG SRC - step 8's measurements: ORIG the original
# model directory, SRC the df11fs source that holds its DF11 twin as q/
load8b_measure() {
	local o=$1 src=$2 m=$W/m8 dec t2 n bytes budget shard rel size base
	local c_org='' c_df='' c_mem='' p_org='' p_df='' cold_o='' cold_d=''
	local -A first=() note=()
	local shards=("$o"/*.safetensors)
	bytes=$(stat -c %s "${shards[@]}" | awk '{ s += $1 } END { print s }')
	find "$o" "$src" -type f -exec cat {} + >/dev/null
	base=$(load_secs "$o" original)
	for dec in gpu cpu auto; do
		find "$src" -type f -exec cat {} + >/dev/null
		mount_fs "$src" "$m" -o "decoder=$dec$LOPTS" ||
			{ ffail "load8b: cannot mount with decoder=$dec"; continue; }
		first[$dec]=$(load_secs "$m/q" "df11fs $dec first")
		[ "$dec" = auto ] && t2=$(load_secs "$m/q" "df11fs $dec second")
		n=$(xattr "$m" gpu_chunks)
		budget=$(xattr "$m" cache_budget)
		budget=$((${budget:-0} >> 20))
		note[$dec]="peak RSS $(hwm "$m") MiB, cache_size $budget MiB, gpu_chunks $n"
		keep_stats "$m" "load8b-$dec"
		umount_fs "$m"
	done
	if sync && echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then
		cold_o=$(load_secs "$o" "original cold")
		drop_caches
		if mount_fs "$src" "$m" -o "decoder=auto$LOPTS"; then
			cold_d=$(load_secs "$m/q" "df11fs auto cold")
			note[cold]="peak RSS $(hwm "$m") MiB, cache_size $budget MiB"
			keep_stats "$m" load8b-cold
			umount_fs "$m"
		fi
	fi

	# cat: the largest shard alone, then the four at once
	shard=$(stat -c '%s %n' "${shards[@]}" | sort -rn | head -n 1 | cut -d' ' -f2-)
	rel=${shard#"$o"/}
	size=$(stat -c %s "$shard")
	find "$o" "$src" -type f -exec cat {} + >/dev/null
	for _ in 1 2 3; do
		c_org=$(least "$c_org" "$(secs cat "$shard")")
		p_org=$(least "$p_org" "$(secs_par "${shards[@]}")")
		if mount_fs "$src" "$m" -o "decoder=auto$LOPTS"; then
			c_df=$(least "$c_df" "$(secs timeout 120 cat "$m/q/$rel" || echo 0)")
			keep_stats "$m" load8b-cat
			umount_fs "$m"
		fi
		if mount_fs "$src" "$m" -o "decoder=auto$LOPTS"; then
			p_df=$(least "$p_df" "$(secs_par "${shards[@]/#"$o"/"$m/q"}" || echo 0)")
			note[par]="peak RSS $(hwm "$m") MiB"
			keep_stats "$m" load8b-par
			umount_fs "$m"
		fi
	done
	# -o decoded_cache=: whole files decoded on open, then passthrough
	local d1='' d2='' dcold='' dcat='' dpar='' idle='' dcpu=''
	if [ -n "$LDEC" ]; then
		# the whole-file decode on the CPU alone, to weigh the GPU's part
		find "$src" -type f -exec cat {} + >/dev/null
		if mount_fs "$src" "$m" -o "decoder=cpu,decoded_cache=$LDEC$LOPTS"; then
			dcpu=$(load_secs "$m/q" "df11fs decoded cpu first")
			keep_stats "$m" load8b-decoded-cpu
			umount_fs "$m"
		fi
		find "$src" -type f -exec cat {} + >/dev/null
		if mount_fs "$src" "$m" -o "decoder=auto,decoded_cache=$LDEC$LOPTS"; then
			d1=$(load_secs "$m/q" "df11fs decoded first")
			keep_stats "$m" load8b-decoded-first
			# where the decoded pages are: per NUMA node, and in
			# huge pages or not (the second load maps them)
			grep -E ' (Shmem|ShmemHugePages|ShmemPmdMapped|FilePages|FilePmdMapped):' \
				/sys/devices/system/node/node*/meminfo >>"$FL" 2>/dev/null || :
			# the second load measures complete files, not the decode
			# of the shards the first did not wait for
			idle=$(fill_idle "$m")
			# during it: how much of the decoded files is mapped by
			# PMD (2M pages), the most seen
			(while :; do grep ShmemPmdMapped /proc/meminfo; sleep 0.2; done) >"$W/pmd" 2>/dev/null &
			local pmd=$!
			d2=$(load_secs "$m/q" "df11fs decoded second")
			kill "$pmd" 2>/dev/null
			wait "$pmd" 2>/dev/null
			echo "decoded second load: ShmemPmdMapped at most $(awk '$2 > m { m = $2 } END { print m + 0 }' "$W/pmd") kB" >>"$FL"
			dcat=$(secs cat "$m/q/$rel")
			dpar=$(secs_par "${shards[@]/#"$o"/"$m/q"}" || echo 0)
			note[dec]="peak RSS $(hwm "$m") MiB, $(python3 -c 'import json, sys
x = json.load(open(sys.argv[1]))["decoded"]
print("passthrough opens %d, open waits %.2f s, backed reads %d, fill threads mapping %.1f s and decoding %.1f s" % (x["passthrough_opens"], x["open_wait_ns"] / 1e9, x["backed_reads"], x["map_ns"] / 1e9, x["decode_ns"] / 1e9))' "$m/.df11fs-stats.json" 2>/dev/null), decode idle ${idle}s after the first load"
			keep_stats "$m" load8b-decoded
			umount_fs "$m"
		else
			ffail "load8b: cannot mount with decoded_cache=$LDEC"
		fi
		if [ -n "$cold_o" ]; then
			drop_caches
			if mount_fs "$src" "$m" -o "decoder=auto,decoded_cache=$LDEC$LOPTS"; then
				dcold=$(load_secs "$m/q" "df11fs decoded cold")
				keep_stats "$m" load8b-decoded-cold
				umount_fs "$m"
			fi
		fi
	fi
	# the loader's reads alone, without the framework (bench_load: each
	# shard mapped, the tensors copied out in data order)
	local b_org='' b_1='' b_2='' b_d1='' b_d2=''
	find "$o" "$src" -type f -exec cat {} + >/dev/null
	b_org=$(bl_secs "$o")
	if mount_fs "$src" "$m" -o "decoder=auto$LOPTS"; then
		b_1=$(bl_secs "$m/q")
		b_2=$(bl_secs "$m/q")
		umount_fs "$m"
	fi
	if [ -n "$LDEC" ] && mount_fs "$src" "$m" -o "decoder=auto,decoded_cache=$LDEC$LOPTS"; then
		b_d1=$(bl_secs "$m/q")
		fill_idle "$m" >/dev/null
		b_d2=$(bl_secs "$m/q")
		umount_fs "$m"
	fi
	if mount_mem "$size" "$W/mem8"; then
		for _ in 1 2 3; do c_mem=$(least "$c_mem" "$(secs cat "$W/mem8/file")"); done
		umount_fs "$W/mem8"
	else
		ffail "load8b: bench_memfuse did not mount"
	fi

	fsum "load8b: from_pretrained(dtype=bfloat16, device_map=$LDEV), a fresh python3 each; x = time / the original's"
	l8row "original, page cache" "$base" "$bytes" "$base" ""
	for dec in gpu cpu auto; do
		[ -n "${first[$dec]:-}" ] || continue
		l8row "df11fs decoder=$dec, first load (source cached)" "${first[$dec]}" "$bytes" "$base" "${note[$dec]}"
	done
	[ -z "${t2:-}" ] || l8row "df11fs decoder=auto, second load (same mount)" "$t2" "$bytes" "$base" ""
	if [ -n "$cold_o" ]; then
		l8row "original, after drop_caches" "$cold_o" "$bytes" "$cold_o" ""
		[ -z "$cold_d" ] || l8row "df11fs decoder=auto, after drop_caches" "$cold_d" "$bytes" "$cold_o" "${note[cold]} (x: / the cold original)"
	else
		fsum "  (no cold rows: /proc/sys/vm/drop_caches is not writable)"
	fi
	if [ -n "$d1" ]; then
		[ -z "$dcpu" ] || l8row "df11fs decoded_cache=$LDEC, decoder=cpu, first load" "$dcpu" "$bytes" "$base" ""
		l8row "df11fs decoded_cache=$LDEC, first load" "$d1" "$bytes" "$base" "${note[dec]}"
		l8row "df11fs decoded_cache=$LDEC, second load" "$d2" "$bytes" "$base" ""
		[ -z "$dcold" ] || l8row "df11fs decoded_cache=$LDEC, after drop_caches" "$dcold" "$bytes" "$cold_o" "(x: / the cold original)"
	fi
	fsum "load8b: bench_load (mmap, tensors copied out in data order, no framework); x = time / the original's"
	l8row "original, page cache" "$b_org" "$bytes" "$b_org" ""
	l8row "df11fs decoder=auto, first load" "$b_1" "$bytes" "$b_org" ""
	l8row "df11fs decoder=auto, second load" "$b_2" "$bytes" "$b_org" ""
	if [ -n "$b_d1" ]; then
		l8row "df11fs decoded_cache=$LDEC, first load" "$b_d1" "$bytes" "$b_org" ""
		l8row "df11fs decoded_cache=$LDEC, second load" "$b_d2" "$bytes" "$b_org" ""
	fi
	fsum "load8b: cat, best of 3 (one shard: $size bytes); x = speed / the original's"
	l8cat "one shard, original, page cache" "$c_org" "$size" "$c_org"
	l8cat "one shard, df11fs decoder=auto, fresh mount" "${c_df:-0}" "$size" "$c_org"
	l8cat "one shard, memory-served FUSE file (memfuse)" "${c_mem:-0}" "$size" "$c_org"
	l8cat "${#shards[@]} concurrent cats, original, page cache" "$p_org" "$bytes" "$p_org"
	l8cat "${#shards[@]} concurrent cats, df11fs decoder=auto, fresh" "${p_df:-0}" "$bytes" "$p_org"
	if [ -n "$dcat" ]; then
		l8cat "one shard, decoded_cache, complete (passthrough)" "$dcat" "$size" "$c_org"
		l8cat "${#shards[@]} concurrent cats, decoded_cache, complete" "${dpar:-0}" "$bytes" "$p_org"
	fi
	fsum "  (${note[par]:-}; df11fs vs memfuse, speed: $(awk -v a="${c_df:-0}" -v b="${c_mem:-0}" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }'))"
}

if has load8b; then
	LL=${LOAD_LAYERS:-36}
	LDEV=${LOAD_DEVICE:-cuda}
	LOPTS=${LOAD_OPTS:+,$LOAD_OPTS}
	LDEC=${LOAD_DECODED-24G}
	step "transformers: an 8B-class Qwen3-shaped model ($LL layers), generate, compress"
	mkdir -p "$W/q8o" "$W/q8d"
	g0=$SECONDS
	if timeout 900 python3 tests/gpu/load.py gen "$W/q8o/q" --layers "$LL" --shards 4 >>"$FL" 2>&1; then
		g1=$SECONDS
		if timeout 600 "$B/df11" compress -q -j"$(nproc)" "$W/q8o/q" "$W/q8d/q" >>"$FL" 2>&1; then
			a=$(du -sb "$W/q8o/q" | cut -f1)
			b=$(du -sb "$W/q8d/q" | cut -f1)
			fsum "$(awk -v a="$a" -v b="$b" -v l="$LL" -v g=$((g1 - g0)) -v c=$((SECONDS - g1)) 'BEGIN {
				printf "load8b: %d layers, %.2f GB in 4 shards, DF11 %.2f GB (%.1f%%); generated in %d s, compressed in %d s", l, a / 1e9, b / 1e9, 100 * b / a, g, c }')"
			step "transformers: load times of the 8B-class model"
			load8b_measure "$W/q8o/q" "$W/q8d"
		else
			ffail "load8b: compress failed (log: $FL)"
		fi
	else
		ffail "load8b: generating the model failed (log: $FL)"
		tail -n 20 "$FL"
	fi
	rm -rf "$W/q8o" "$W/q8d"
fi
cleanup_fs
[ -n "$FS_STEPS" ] && rm -rf "$W"

step "summary"
echo "test_gpu:  $test_result  ($(grep -E 'checks, [0-9]+ failures' "$L/gpu-test.log" | tail -n 1))"
echo "bench_gpu: $bench_result"
# targets: >= 2x the official kernel (1050 GB/s at 256 Mi, 800 at 16 Mi)
awk 'NF >= 12 && $2 == "Mi" && $4 ~ /^[0-9.]+$/ && ($1 == 16 || $1 == 256) {
	want = $1 == 256 ? 1050 : 800
	met = ($5 >= want) ? "met" : "MISSED"
	printf "kernel %3d Mi %-9s %7.1f GB/s  target %d: %s\n", $1, $3, $5, want, met
}' "$L/gpu-bench.log"
for line in "${fs_summary[@]}"; do echo "$line"; done
echo "logs: $L/gpu-{info,build,test,bench,fs}.log; total $(($(date +%s) - t0))s"
[ $status -eq 0 ] && echo "ALL GPU CHECKS PASSED" || echo "GPU CHECKS FAILED"
exit $status
