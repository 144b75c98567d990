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
# The mount with decoder=gpu and the transformers logits check join this
# script when the GPU decoder is wired into the cache; they are not here.
#
# Logs: ${OUT:-/tmp}/gpu-build.log, gpu-test.log, gpu-bench.log; a summary
# on stdout. Exit status: 0 all good, 77 no usable GPU, 1 anything else.
# Knobs: BUILD, DF11_GPU_LIB, TEST_ARGS, BENCH_ARGS; e.g. a dry run of the
# script on the CPU emulation of the GPU (no GPU needed, slow):
#   make BUILD=build-gpu build-gpu/libdf11gpu-emu.so
#   DF11_GPU_LIB=$PWD/build-gpu/libdf11gpu-emu.so TEST_ARGS="-q example" \
#     BENCH_ARGS=1 tests/gpu/run.sh
# Meant to finish in well under 5 minutes on one H200.
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

step "summary"
echo "test_gpu:  $test_result  ($(grep -E 'checks, [0-9]+ failures' "$L/gpu-test.log" | tail -n 1))"
echo "bench_gpu: $bench_result"
# targets: >= 2x the official kernel (1050 GB/s at 256 Mi, 800 at 16 Mi)
awk 'NF >= 12 && $2 == "Mi" && $4 ~ /^[0-9.]+$/ && ($1 == 16 || $1 == 256) {
	want = $1 == 256 ? 1050 : 800
	met = ($5 >= want) ? "met" : "MISSED"
	printf "kernel %3d Mi %-9s %7.1f GB/s  target %d: %s\n", $1, $3, $5, want, met
}' "$L/gpu-bench.log"
echo "logs: $L/gpu-{info,build,test,bench}.log; total $(($(date +%s) - t0))s"
[ $status -eq 0 ] && echo "ALL GPU CHECKS PASSED" || echo "GPU CHECKS FAILED"
exit $status
