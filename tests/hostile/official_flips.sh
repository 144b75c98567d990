#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/hostile/official_flips.sh - what one flipped bit in an official
# DFloat11 directory does to what df11 decompress writes, per stream kind
#
# usage: tests/hostile/official_flips.sh [-n N] [-s SEED] [-b BUILD]
#                                        [-d FIXTURE] [KIND...]
#
#   -n N        trials per stream kind (default 100)
#   -s SEED     seed of bash's $RANDOM (default 1): the same seed, the
#               same flips, the same table
#   -b BUILD    build directory holding df11 (default build)
#   -d FIXTURE  a folder with df11/ (official output) and orig/ (the BF16
#               model it came from); default tests/data/official/llama-tiny
#   KIND        encoded_exponent sign_mantissa luts output_positions gaps
#               split_positions (default all)
#
# Copies FIXTURE/df11 once, checks that `df11 verify COPY FIXTURE/orig`
# passes, and decompresses the intact copy as the reference. Then for
# each trial it flips one bit, drawn uniformly from all the bytes of that
# kind in every *.safetensors file (located through the safetensors
# headers by official_streams.py), runs `df11 decompress -q`, flips the
# bit back, and classifies the trial:
#   detected      decompress failed (the same checks give EIO through
#                 df11fs and fail df11 verify without SRC)
#   silent wrong  decompress succeeded, and a written file differs from
#                 the reference (sha256sum)
#   harmless      decompress succeeded with the reference bytes
# A measurement, not a test: it fails only when it cannot measure.
set -euo pipefail

n=100 seed=1 build=build fix=
here=$(cd "$(dirname "$0")" && pwd)
while getopts n:s:b:d: opt; do
	case $opt in
	n) n=$OPTARG ;;
	s) seed=$OPTARG ;;
	b) build=$OPTARG ;;
	d) fix=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
fix=${fix:-$here/../data/official/llama-tiny}
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(encoded_exponent sign_mantissa luts
	output_positions gaps split_positions)
df11=$(cd "$build" && pwd)/df11
[ -x "$df11" ] || {
	echo "official_flips: no df11 in '$build' (make first)" >&2
	exit 2
}

w=$(mktemp -d "${TMPDIR:-/tmp}/official_flips.XXXXXX")
trap 'chmod -R u+w "$w"; rm -rf "$w"' EXIT
cp -r "$fix/df11" "$w/d"
chmod -R u+w "$w/d"
"$df11" verify -q "$w/d" "$fix/orig"
"$df11" decompress -q "$w/d" "$w/ref"
ref=$(cd "$w/ref" && sha256sum -- *)
rm -rf "$w/ref"
python3 "$here/official_streams.py" "$w/d" >"$w/streams"

# flip FILE OFF BIT - invert bit BIT of byte OFF of FILE in place
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1")
	b=$((b ^ (1 << $3)))
	# shellcheck disable=SC2059
	printf "\\$(printf %03o "$b")" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# pct K - "K (P%)", P of the n trials
pct() { echo "$1 ($((($1 * 100 + n / 2) / n))%)"; }

RANDOM=$seed
printf '%-17s %6s %9s %13s %9s\n' stream trials detected "silent wrong" \
	harmless
for kind in "${kinds[@]}"; do
	files=() starts=() lens=() total=0
	while read -r k f s l; do
		[ "$k" = "$kind" ] || continue
		files+=("$f") starts+=("$s") lens+=("$l")
		total=$((total + l))
	done <"$w/streams"
	[ "$total" -gt 0 ] || {
		echo "official_flips: no '$kind' stream in '$fix/df11'" >&2
		exit 2
	}
	det=0 bad=0 ok=0
	for ((t = 0; t < n; t++)); do
		r=$(((RANDOM << 30 | RANDOM << 15 | RANDOM) % (total * 8)))
		byte=$((r / 8)) bit=$((r % 8)) i=0
		while [ "$byte" -ge "${lens[i]}" ]; do
			byte=$((byte - lens[i]))
			i=$((i + 1))
		done
		f=$w/d/${files[i]} off=$((starts[i] + byte))
		flip "$f" "$off" "$bit"
		if ! "$df11" decompress -q "$w/d" "$w/out" 2>/dev/null; then
			det=$((det + 1))
		elif [ "$(cd "$w/out" && sha256sum -- *)" != "$ref" ]; then
			bad=$((bad + 1))
		else
			ok=$((ok + 1))
		fi
		flip "$f" "$off" "$bit"
		rm -rf "$w/out"
	done
	printf '%-17s %6d %9s %13s %9s\n' "$kind" "$n" "$(pct $det)" \
		"$(pct $bad)" "$(pct $ok)"
done
# every bit was flipped back: the copy is the fixture again
diff -r "$fix/df11" "$w/d" >/dev/null
echo "seed $seed, $n trials per stream, fixture $(basename "$fix")"
