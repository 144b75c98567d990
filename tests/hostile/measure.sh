#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/hostile/measure.sh - the figures of the hostile containers, for
# one or more builds side by side (e.g. the base commit and this one)
#
# usage: [CASES="1 2 3 4 5 6"] [STARVE_SECS=15] [STARVE_OPTS=...]
#        tests/hostile/measure.sh WORKDIR BUILD...
#
# Writes the containers of tests/hostile/mkhostile.c (with the first
# BUILD's mkhostile) into WORKDIR, then for each BUILD mounts them and
# prints, one line per case: the daemon's VmRSS/VmHWM (KiB), wall time,
# df11 info's peak RSS, bytes decoded per byte served, and what a read
# returned. Needs /dev/fuse, fusermount3, getfattr and /usr/bin/time.
# Benchmarks, not tests: nothing here fails on a figure.
#
# Case 5 (starvation) compresses a 256 MiB model (with the first BUILD's
# df11-genmodel and df11), mounts it with decoder=cpu, cache_size=16M and
# then the default cache, and runs each BUILD's tests/starve against it
# for STARVE_SECS seconds: 16 pread threads at random offsets and 4 mmap
# MADV_RANDOM threads, every read compared with the original; with -c
# in STARVE_OPTS the mount takes decoder=cpu, its other words go to
# starve (starve.c lists them). It prints starve's latency and MB/s lines, then
# the daemon's buffer maps and misses (cache.maps, cache.misses of
# .df11fs-stats.json) and its VmHWM. Case 6 stats 8 containers with
# 32 MiB headers of tiny metadata entries (the costliest legal header to
# parse), one alone and then all at once. CASES picks the cases (default
# all).
set -eu
CASES=${CASES:-1 2 3 4 5 6}
STARVE_SECS=${STARVE_SECS:-15}
STARVE_OPTS=${STARVE_OPTS:-}
want() {
	case " $CASES " in *" $1 "*) return 0 ;; esac
	return 1
}

[ $# -ge 2 ] || {
	echo "usage: $0 WORKDIR BUILD..." >&2
	exit 2
}
w=$1
shift
mkh=$1/tests/mkhostile
mkdir -p "$w/s" "$w/b16" "$w/b64" "$w/m"
if want 5 && [ ! -e "$w/g/model.safetensors" ]; then
	rm -rf "$w/g.orig" "$w/g"
	"$1/df11-genmodel" -s 5 -S 256M "$w/g.orig" >/dev/null
	"$1/df11" compress -q "$w/g.orig" "$w/g"
fi
if want 1 || want 4; then
	[ -e "$w/s/sparse.safetensors" ] ||
		"$mkh" raw-sparse "$w/s/sparse.safetensors" 549755813888 4096
	[ -e "$w/s/lzhole.safetensors" ] ||
		"$mkh" lz4-sparse "$w/s/lzhole.safetensors" 4194304
	[ -e "$w/s/v2.safetensors" ] || "$mkh" version "$w/s/v2.safetensors" 2.0
fi
if want 3; then
	[ -e "$w/t20k/many.safetensors" ] || {
		mkdir -p "$w/t20k" && "$mkh" tensors "$w/t20k/many.safetensors" 20000
	}
	[ -e "$w/t200k/many.safetensors" ] || {
		mkdir -p "$w/t200k" && "$mkh" tensors "$w/t200k/many.safetensors" 200000
	}
fi
if want 2; then
	[ -e "$w/b16/big.safetensors" ] ||
		"$mkh" lz4 "$w/b16/big.safetensors" "$w/b16.orig" 16 16777216
	[ -e "$w/b64/big.safetensors" ] ||
		"$mkh" lz4 "$w/b64/big.safetensors" "$w/b64.orig" 16 67108864
fi
# one a directory: the kernel may serialize lookups in one directory
if want 6 && [ ! -e "$w/h8/d7/big.safetensors" ]; then
	mkdir -p "$w/h8/d0"
	"$mkh" meta "$w/h8/d0/big.safetensors" "$w/h8.orig" 33000000
	for i in 1 2 3 4 5 6 7; do
		mkdir -p "$w/h8/d$i"
		cp "$w/h8/d0/big.safetensors" "$w/h8/d$i/big.safetensors"
	done
fi

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

# starve OPTS: case 5 with cache OPTS, the stats of the run after it
starve() {
	dec= so=
	for o in $STARVE_OPTS; do
		if [ "$o" = -c ]; then dec=decoder=cpu, ; else so="$so $o"; fi
	done
	mnt "$w/g" "$dec$1"
	# shellcheck disable=SC2086 # $so: words
	"$b/tests/starve" -p 16 -m 4 -t "$STARVE_SECS" $so \
		-c "$w/g.orig/model.safetensors" "$w/m/model.safetensors" |
		sed "s/^/5 $1: /"
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
c, d = j["cache"], j["decoder"]
print("maps", c["maps"], "misses", c["misses"], "waits", c["waits"],
      "evictions", c["evictions"], "readahead", c["readahead"],
      "decoded MB", c["bytes_decoded"] // 1000000,
      "decode GB/s %.2f" % d["decode_gbps"], end=" ")' \
		"$w/m/.df11fs-stats.json" |
		sed "s/^/5 $1: /"
	echo "VmHWM $(st VmHWM) KiB"
	umnt
}

for b in "$@"; do
	echo "== $b"
	if want 5; then
		starve cache_size=16M
		starve cache_size=1G
	fi
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
	if want 6; then
		mnt "$w/h8" cache_size=16M
		t0=$(now)
		stat "$w/m/d0/big.safetensors" >/dev/null
		t1=$(now)
		echo "6 header 32M: one stat $(echo "$t1 - $t0" | bc) s," \
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
		echo "6 header 32M x8 stats cache 16M: $(echo "$t1 - $t0" | bc) s," \
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
