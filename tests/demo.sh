#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/demo.sh - the walk-through that `make demo` runs
#
#   tests/demo.sh BUILD_DIR
#
# Generates a small synthetic BF16 model (df11-genmodel), compresses it with
# `df11 compress`, shows `df11 info` and the sizes, checks it with
# `df11 verify`, restores it with `df11 decompress`, then prints the sha256
# of every original file next to the restored one. Exits 0 only when every
# file matches; 1 when a step fails or a file differs.
#
# Everything goes to demo/ under the repository (git-ignored); the outputs of
# a previous run are removed first. DEMO_SIZE, DEMO_SHARDS and DEMO_SEED
# change the model (defaults 64M, 3, 1).

set -euo pipefail

usage() {
	echo "usage: tests/demo.sh BUILD_DIR" >&2
	exit 2
}

[ $# -eq 1 ] || usage
build=$(cd "$1" && pwd) || usage
cd "$(dirname "$0")/.."

DF11=$build/df11
GEN=$build/df11-genmodel
SIZE=${DEMO_SIZE:-64M}
SHARDS=${DEMO_SHARDS:-3}
SEED=${DEMO_SEED:-1}

DEMO=demo
ORIG=$DEMO/model           # the BF16 model, as downloaded
PACKED=$DEMO/model.df11    # df11 compress output
RESTORED=$DEMO/restored    # df11 decompress output

for b in "$DF11" "$GEN"; do
	if [ ! -x "$b" ]; then
		echo "demo: cannot run '$b': not built (run make all)" >&2
		exit 1
	fi
done

# now - seconds since the epoch, with microseconds
now() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		echo "${EPOCHREALTIME/,/.}"
	else
		date +%s.%N
	fi
}

# step TITLE COMMAND... - run one step, print its command and wall time;
# a failed step ends the demo with exit status 1
step() {
	local title=$1 t0 t1 rc=0
	shift
	printf '\n== %s\n$ %s\n' "$title" "$*"
	t0=$(now)
	"$@" || rc=$?
	t1=$(now)
	if [ "$rc" -ne 0 ]; then
		echo "demo: step '$title' failed (exit status $rc)" >&2
		exit 1
	fi
	awk -v a="$t0" -v b="$t1" -v s="$title" \
		'BEGIN { printf "-- %s: %.2f s\n", s, b - a }'
}

# bytes DIR - total size of the regular files under DIR
bytes() {
	find "$1" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }'
}

# files DIR - the regular files under DIR, relative to it, sorted
files() {
	(cd "$1" && find . -type f -printf '%P\n' | LC_ALL=C sort)
}

# sizes - original and compressed sizes and their ratio
sizes() {
	local a b
	a=$(bytes "$ORIG")
	b=$(bytes "$PACKED")
	awk -v a="$a" -v b="$b" 'BEGIN {
		printf "original   %14d bytes (%s)\n", a, "'"$ORIG"'"
		printf "compressed %14d bytes (%s)\n", b, "'"$PACKED"'"
		printf "ratio      %13.1f%%\n", a ? 100 * b / a : 0 }'
}

# show_info - df11 info: its per-file lines and totals; the per-tensor
# rows (indented) are left out when there are many
show_info() {
	local out files n
	out=$("$DF11" info "$PACKED") || return
	files=$(grep -v '^ ' <<<"$out" || true)
	n=$(grep -c '^ ' <<<"$out" || true)
	if [ -z "$files" ] || [ "$n" -le 20 ]; then
		printf '%s\n' "$out"
	else
		printf '%s\n' "$files"
		printf '(%d per-tensor lines left out: %s info %s)\n' "$n" \
			"$DF11" "$PACKED"
	fi
}

# demo_mount - mount $PACKED with df11fs on $MNT (foreground daemon, FD 3
# closed, readiness polled with a deadline), show the sha256 of every
# .safetensors file through the mount next to the original, unmount.
# Skipped, with a message, where FUSE is missing.
MNT=$DEMO/mnt
MNT_PID=
unmount_demo() {
	[ -n "$MNT_PID" ] || return 0
	fusermount3 -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null || true
	wait "$MNT_PID" 2>/dev/null || true
	MNT_PID=
}
trap unmount_demo EXIT
demo_mount() {
	local f a b deadline=$((SECONDS + 10)) bad=0
	if [ ! -e /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
		echo "(skipped: no /dev/fuse or fusermount3 on this machine)"
		return 0
	fi
	mkdir -p "$MNT"
	"$build/df11fs" -f "$PACKED" "$MNT" </dev/null 3>&- &
	MNT_PID=$!
	until mountpoint -q "$MNT"; do
		if ! kill -0 "$MNT_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			echo "demo: df11fs did not mount $MNT" >&2
			return 1
		fi
		sleep 0.05
	done
	printf '%-36s %-64s  %s\n' "file" "sha256 of $ORIG" "sha256 through $MNT"
	while IFS= read -r f; do
		a=$(sha256sum <"$ORIG/$f")
		b=$(sha256sum <"$MNT/$f")
		a=${a%% *}
		b=${b%% *}
		if [ "$a" = "$b" ]; then
			printf '%-36s %s  %s\n' "$f" "$a" "$b"
		else
			printf '%-36s %s  %s  DIFFERENT\n' "$f" "$a" "$b"
			bad=$((bad + 1))
		fi
	done < <(cd "$ORIG" && find . -name '*.safetensors' -type f | sed 's|^\./||' | sort)
	unmount_demo
	[ "$bad" -eq 0 ] || { echo "demo: $bad files differ through the mount" >&2; return 1; }
}

# compare - sha256 of every original file next to the restored one; sets
# n_files
n_files=0
compare() {
	local f a b n=0 bad=0
	if [ "$(files "$ORIG")" != "$(files "$RESTORED")" ]; then
		echo "demo: the restored tree does not list the same files:" >&2
		diff <(files "$ORIG") <(files "$RESTORED") >&2 || true
		return 1
	fi
	printf '%-36s %-64s  %s\n' "file" "sha256 of $ORIG" \
		"sha256 of $RESTORED"
	while IFS= read -r f; do
		a=$(sha256sum <"$ORIG/$f")
		b=$(sha256sum <"$RESTORED/$f")
		a=${a%% *}
		b=${b%% *}
		n=$((n + 1))
		if [ -n "$a" ] && [ "$a" = "$b" ]; then
			printf '%-36s %s  %s\n' "$f" "$a" "$b"
		else
			printf '%-36s %s  %s  DIFFERENT\n' "$f" "$a" "$b"
			bad=$((bad + 1))
		fi
	done < <(files "$ORIG")
	if [ "$n" -eq 0 ] || [ "$bad" -ne 0 ]; then
		echo "demo: $bad of $n files differ (sha256)" >&2
		return 1
	fi
	n_files=$n
}

start=$(now)
mkdir -p "$DEMO"
# previous outputs, and temporary trees of an interrupted df11 run
rm -rf "$ORIG" "$PACKED" "$RESTORED" "$DEMO"/*.df11-tmp.*

"$DF11" --version
step "generate a synthetic BF16 model ($SIZE, $SHARDS shards)" \
	"$GEN" -s "$SEED" -S "$SIZE" -n "$SHARDS" "$ORIG"
ls -l "$ORIG"
step "compress" "$DF11" compress "$ORIG" "$PACKED"
step "sizes" sizes
step "df11 info" show_info
step "verify (decode every chunk, compare with the originals)" \
	"$DF11" verify "$PACKED" "$ORIG"
step "decompress" "$DF11" decompress "$PACKED" "$RESTORED"
step "mount with df11fs, sha256 through the mount" demo_mount
step "compare sha256" compare
echo
awk -v a="$start" -v b="$(now)" \
	'BEGIN { printf "demo: done in %.2f s, outputs in demo/\n", b - a }'
echo "demo: all $n_files files identical (sha256)"
