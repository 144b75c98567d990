#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/fuzz/seeds.sh - write the seeds too large to check in
#
# usage: tests/fuzz/seeds.sh MKHOSTILE DIR
#
# Writes into DIR (fuzz_container's format, tests/fuzz/fuzz_container.c)
# hole-heavy and huge-stream containers of build/tests/mkhostile -f, and
# headers of tiny metadata entries, the costliest JSON to parse (up to
# 1 MiB, the largest header df11fs parses without waiting). `make
# fuzz-replay` replays them after the checked-in corpus; tests/fuzz/run.sh
# adds them to fuzz_container's. Exit status: 0, 1 on a failed write.
set -eu

[ $# -eq 2 ] || {
	echo "usage: $0 MKHOSTILE DIR" >&2
	exit 2
}
mkh=$1 d=$2
mkdir -p "$d"
# every stream a hole: 1 TiB of raw bytes in 4 KiB chunks (over the chunk
# count), 16 TiB less 16 MiB (the largest a seed says) in 4 MiB chunks
# (just under it), 2^22 lz4 chunks and one more
"$mkh" -f raw-sparse "$d/gen-hole-raw-1t-4k" 1099511627776 4096
"$mkh" -f raw-sparse "$d/gen-hole-raw-16t-4m" 17592169267200 4194304
"$mkh" -f lz4-sparse "$d/gen-hole-lz4-4m" 4194304
"$mkh" -f lz4-sparse "$d/gen-hole-lz4-4m-plus-1" 4194305
# headers of tiny metadata entries
"$mkh" -f meta "$d/gen-meta-64k" - 65536
"$mkh" -f meta "$d/gen-meta-1m" - 1048576
