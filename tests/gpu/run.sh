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
#   7. load time: a 2.2 GB random Llama, from_pretrained(device_map="cuda")
#      from a fresh decoder=gpu mount vs from the original directory
#      (both sources in the page cache), and the ratio
#
# Logs: ${OUT:-/tmp}/gpu-build.log, gpu-test.log, gpu-bench.log,
# gpu-fs.log (steps 4-7, daemon logs appended); a summary on stdout.
# Exit status: 0 all good, 77 no usable GPU, 1 anything else.
# Knobs: BUILD, DF11_GPU_LIB, TEST_ARGS, BENCH_ARGS, KERNEL_STEPS
# (default "test bench"; "" skips steps 2-3), WORK (scratch
# directory for models and mounts, default /tmp/df11-gpu-run), FS_STEPS
# (default "mount speed logits load"; "" skips steps 4-7), FS_SIZE (of the
# generated model, default 512M), SPEED_SIZE (step 5's file, default 2G);
# e.g. a dry run of the
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
FS_STEPS=${FS_STEPS-mount speed logits load}
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
	if ! timeout 150 make -j"$(nproc)" GPU=1 BUILD="$B" all >>"$L/gpu-build.log" 2>&1; then
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
