#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/fuzz/run.sh - build every libFuzzer target and fuzz each a while
#
# usage: tests/fuzz/run.sh [SECONDS]    (default 60 per target)
#
# Every tests/fuzz/fuzz_*.c is a target. The codec and official sources
# (codec/*.c, official/*.c) and the target are compiled with clang
# -fsanitize=fuzzer,address,undefined into build-fuzz/; each target then
# runs for SECONDS on a scratch copy of tests/fuzz/corpus/<target>/ (the
# checked-in seeds are never rewritten), with tests/fuzz/<target>.dict as
# its dictionary when that file exists. Crash inputs land in
# build-fuzz/artifacts/: copy one into the corpus to
# keep it as a regression test for `make fuzz-replay`.
#
# Environment: CC (default clang), FUZZ_FLAGS (extra libFuzzer options,
# e.g. "-jobs=4 -workers=4"), FUZZ_TARGETS (names to run, e.g.
# "fuzz_container"; default every target).
# Exit status: 0 when every target ran clean, 1 when one crashed or failed
# to build, 2 on bad usage.
set -eu

secs=${1:-60}
case $secs in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/../.."
CC=${CC:-clang}
out=build-fuzz
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
cflags="-std=c11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -D_GNU_SOURCE"
pkgs="jansson liblz4 libxxhash"
# as the Makefile: plain -l flags when pkg-config cannot answer
# shellcheck disable=SC2086
cflags="$cflags -D_FILE_OFFSET_BITS=64 -I. $(pkg-config --cflags $pkgs || :)"
# shellcheck disable=SC2086
libs="$(pkg-config --libs $pkgs || echo -ljansson -llz4 -lxxhash)"
libs="$libs -lpthread -lm"

mkdir -p "$out/codec" "$out/official" "$out/artifacts" "$out/corpus"

# The codec and official objects once, instrumented, shared by every
# target (the libraries that `make fuzz-replay` links the targets with).
objs=
for src in codec/*.c official/*.c; do
	[ -e "$src" ] || continue
	obj=$out/${src%.c}.o
	# shellcheck disable=SC2086
	$CC $cflags $san -c "$src" -o "$obj"
	objs="$objs $obj"
done

status=0
found=0
for src in tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	found=1
	name=$(basename "$src" .c)
	case " ${FUZZ_TARGETS:-$name} " in
	*" $name "*) ;;
	*) continue ;;
	esac
	bin=$out/$name
	echo "== build $name"
	# shellcheck disable=SC2086
	if ! $CC $cflags $san "$src" $objs -o "$bin" $libs; then
		echo "run.sh: cannot build '$name'" >&2
		status=1
		continue
	fi
	corpus=$out/corpus/$name
	mkdir -p "$corpus"
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -p "tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || :
	fi
	# the seeds too large to check in, when make has built mkhostile
	if [ "$name" = fuzz_container ] && [ -x build/tests/mkhostile ]; then
		tests/fuzz/seeds.sh build/tests/mkhostile "$corpus"
	fi
	dict=
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	echo "== fuzz $name for ${secs}s"
	# shellcheck disable=SC2086
	if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$name-" $dict \
		${FUZZ_FLAGS:-} "$corpus"; then
		echo "run.sh: '$name' crashed: see $out/artifacts/" >&2
		status=1
	fi
done
if [ "$found" = 0 ]; then
	echo "run.sh: no tests/fuzz/fuzz_*.c targets" >&2
	exit 1
fi
exit $status
