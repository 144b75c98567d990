#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/hostile/measure.sh - the figures of the hostile containers, for
# one or more builds side by side (e.g. the base commit and this one)
#
# usage: [CASES=12345] tests/hostile/measure.sh WORKDIR BUILD...
#
# Writes the containers of tests/hostile/mkhostile.c (with the first
# BUILD's mkhostile) into WORKDIR, then for each BUILD mounts them and
# prints, one line per case: the daemon's VmRSS/VmHWM (KiB), wall time,
# df11 info's peak RSS, bytes decoded per byte served, and what a read
# returned; case 5: stats of 8 containers with 32 MiB headers of
# tiny metadata entries (the costliest legal header to parse). Needs
# /dev/fuse, fusermount3, getfattr and /usr/bin/time. CASES picks the
# cases by their numbers (default all).
# Benchmarks, not tests: nothing here fails on a figure.
set -eu

[ $# -ge 2 ] || {
	echo "usage: $0 WORKDIR BUILD..." >&2
	exit 2
}
w=$1
shift
mkh=$1/tests/mkhostile
cases=${CASES:-12345}
want() { case $cases in *"$1"*) return 0 ;; esac; return 1; }
mkdir -p "$w/s" "$w/b16" "$w/b64" "$w/m"
[ -e "$w/s/sparse.safetensors" ] ||
	"$mkh" raw-sparse "$w/s/sparse.safetensors" 549755813888 4096
[ -e "$w/s/lzhole.safetensors" ] ||
	"$mkh" lz4-sparse "$w/s/lzhole.safetensors" 4194304
[ -e "$w/t20k/many.safetensors" ] || {
	mkdir -p "$w/t20k" && "$mkh" tensors "$w/t20k/many.safetensors" 20000
}
[ -e "$w/t200k/many.safetensors" ] || {
	mkdir -p "$w/t200k" && "$mkh" tensors "$w/t200k/many.safetensors" 200000
}
[ -e "$w/s/v2.safetensors" ] || "$mkh" version "$w/s/v2.safetensors" 2.0
want 2 && [ ! -e "$w/b16/big.safetensors" ] &&
	"$mkh" lz4 "$w/b16/big.safetensors" "$w/b16.orig" 16 16777216
want 2 && [ ! -e "$w/b64/big.safetensors" ] &&
	"$mkh" lz4 "$w/b64/big.safetensors" "$w/b64.orig" 16 67108864
# one a directory: the kernel may serialize lookups in one directory
want 5 && [ ! -e "$w/h8/d7/big.safetensors" ] && {
	mkdir -p "$w/h8/d0"
	"$mkh" meta "$w/h8/d0/big.safetensors" "$w/h8.orig" 33000000
	for i in 1 2 3 4 5 6 7; do
		mkdir -p "$w/h8/d$i"
		cp "$w/h8/d0/big.safetensors" "$w/h8/d$i/big.safetensors"
	done
}

now() { date +%s.%N; }
st() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }
mnt() { # SRC OPTS
	"$b/df11fs" -f -o "$2" "$1" "$w/m" </dev/null >"$w/log" 2>&1 &
	pid=$!
	until mountpoint -q "$w/m"; do sleep 0.05; done
}
umnt() {
	fusermount3 -u "$w/m"
	wait "$pid" || :
}
xa() { getfattr --absolute-names --only-values -n "user.df11.$1" "$w/m"; }
errno() {
	python3 -c 'import sys
try:
    open(sys.argv[1], "rb").read(1 << 20); print("ok")
except OSError as e: print("errno", e.errno)' "$1"
}
info() { # FILE: peak KiB and seconds of df11 info
	/usr/bin/time -f "%M KiB %e s" -o "$w/t" "$b/df11" info "$1" \
		>/dev/null 2>&1 || :
	tail -n 1 "$w/t"
}

for b in "$@"; do
	echo "== $b"
	if want 1 || want 4; then
		mnt "$w/s" cache_size=16M
		t0=$(now)
		for i in 1 2 3 4; do stat "$w/m/sparse.safetensors" >/dev/null; done
		t1=$(now)
		echo "1 sparse 512G/4K: 4 stats $(echo "$t1 - $t0" | bc) s," \
			"VmRSS $(st VmRSS) KiB, read: $(errno "$w/m/sparse.safetensors")"
		t0=$(now)
		for i in 1 2 3 4; do stat "$w/m/lzhole.safetensors" >/dev/null; done
		t1=$(now)
		echo "1 lz4 holes 2^22 chunks: 4 stats $(echo "$t1 - $t0" | bc) s," \
			"VmRSS $(st VmRSS) KiB"
		echo "4 version 2.0: read: $(errno "$w/m/v2.safetensors")"
		umnt
		echo "1 df11 info sparse: $(info "$w/s/sparse.safetensors")"
		echo "1 df11 info lz4 holes: $(info "$w/s/lzhole.safetensors")"
	fi
	if want 3; then
		for n in t20k t200k; do
			mnt "$w/$n" cache_size=16M
			t0=$(now)
			stat "$w/m/many.safetensors" >/dev/null
			t1=$(now)
			echo "3 $n tensors: first stat $(echo "$t1 - $t0" | bc) s," \
				"VmRSS $(st VmRSS) KiB VmHWM $(st VmHWM) KiB," \
				"read: $(errno "$w/m/many.safetensors")"
			umnt
		done
	fi
	if want 5; then
		mnt "$w/h8" cache_size=16M
		t0=$(now)
		stat "$w/m/d0/big.safetensors" >/dev/null
		t1=$(now)
		echo "5 header 32M: one stat $(echo "$t1 - $t0" | bc) s," \
			"VmRSS $(st VmRSS) KiB VmHWM $(st VmHWM) KiB"
		umnt
		mnt "$w/h8" cache_size=16M
		t0=$(now)
		pids=
		for i in 0 1 2 3 4 5 6 7; do
			stat "$w/m/d$i/big.safetensors" >/dev/null &
			pids="$pids $!"
		done
		for j in $pids; do wait "$j" || :; done
		t1=$(now)
		hwm=$(st VmHWM) rss=$(st VmRSS) ok=0
		for i in 0 1 2 3 4 5 6 7; do
			if cmp -s "$w/m/d$i/big.safetensors" "$w/h8.orig"; then
				ok=$((ok + 1))
			fi
		done
		echo "5 header 32M x8 stats cache 16M: $(echo "$t1 - $t0" | bc) s," \
			"VmHWM $hwm KiB, VmRSS after $rss KiB," \
			"$ok/8 cmp ok, VmHWM after reads $(st VmHWM) KiB"
		umnt
	fi
	if want 2; then
		for c in b16 b64; do
			mnt "$w/$c" cache_size=1M
			t0=$(now)
			pids=
			for i in $(seq 16); do
				cmp "$w/m/big.safetensors" "$w/$c.orig" >/dev/null 2>&1 &
				pids="$pids $!"
			done
			wait_ok=0
			for j in $pids; do
				if wait "$j"; then wait_ok=$((wait_ok + 1)); fi
			done
			t1=$(now)
			d=$(xa bytes_decoded) s=$(xa bytes_served)
			echo "2 $c x16 readers cache 1M: $(echo "$t1 - $t0" | bc) s," \
				"VmHWM $(st VmHWM) KiB, $wait_ok/16 cmp ok," \
				"decoded/served $(echo "scale=2; $d / ($s + 1)" | bc)"
			umnt
		done
	fi
done
