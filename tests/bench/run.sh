#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/bench/run.sh BUILD_DIR - the benchmarks `make bench` prints
#
# 1. the unit codec next to memcpy (build/tests/bench_codec, 256 MiB)
# 2. df11 compress / decompress of a generated 256 MiB model, one thread
#    and all threads, next to `cat` of the same files from the page cache
# 3. the mount (tests/bench/mount.sh), when df11fs and FUSE are there
# Benchmarks are not tests: they print figures and assert nothing.
set -euo pipefail
B=${1:?usage: run.sh BUILD_DIR}
T=$(mktemp -d "${TMPDIR:-/tmp}/df11-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
ncpu=$(nproc)

echo "== unit codec"
"$B/tests/bench_codec" 256 "$ncpu"

echo
echo "== df11 tool on a generated 256 MiB model ($ncpu CPUs)"
"$B/df11-genmodel" -s 5 -S 256M -n 2 "$T/src" >/dev/null
bytes=$(du -sb "$T/src" | cut -f1)
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); calc "$t1 - $t0"; }
cat "$T/src"/*.safetensors >/dev/null
base=$(secs sh -c "cat '$T'/src/*.safetensors")
printf '%-34s %8s %10s %10s\n' "" "seconds" "MB/s" "x cat"
row() { printf '%-34s %8.3f %10.1f %10.3f\n' "$1" "$2" "$(calc "$bytes / $2 / 1000000")" "$(calc "$base / $2")"; }
row "cat (page cache, baseline)" "$base"
for j in 1 "$ncpu"; do
	rm -rf "$T/d" "$T/r"
	row "compress -j $j" "$(secs "$B/df11" compress -q -j "$j" "$T/src" "$T/d")"
	row "decompress -j $j" "$(secs "$B/df11" decompress -q -j "$j" "$T/d" "$T/r")"
	row "verify -j $j" "$(secs "$B/df11" verify -q -j "$j" "$T/d")"
done
stored=$(du -sb "$T/d" | cut -f1)
echo "stored $stored of $bytes bytes: $(calc "$stored / $bytes")"
"$B/df11" info "$T/d" | tail -n 3
rm -rf "$T/src" "$T/d" "$T/r"

if [ -x "$B/df11fs" ] && [ -e /dev/fuse ] && command -v fusermount3 >/dev/null && [ -x tests/bench/mount.sh ]; then
	echo
	echo "== mount"
	tests/bench/mount.sh "$B"
fi
