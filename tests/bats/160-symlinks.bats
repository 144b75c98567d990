#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/160-symlinks.bats - df11 compress and symbolic links: links
# out of SRC refused up front (exit 5) unless --follow-symlinks, links
# inside SRC kept; every output file and directory fsynced before the
# final rename, the parent after it

load helpers

setup_file() {
	require_bins
	export M=$BATS_FILE_TMPDIR/m OUTSIDE=$BATS_FILE_TMPDIR/outside
	genmodel -S 2M -n 2 "$M"
	mkdir -p "$OUTSIDE/etc"
	echo 'root:x:0:0:secret' >"$OUTSIDE/shadow"
	chmod 600 "$OUTSIDE/shadow"
	echo 'some setting' >"$OUTSIDE/etc/setting.conf"
}

# src NAME - a fresh copy of the model in the test's directory
src() {
	cp -a "$M" "$BATS_TEST_TMPDIR/$1"
	echo "$BATS_TEST_TMPDIR/$1"
}

@test "a link to a file outside SRC is refused up front: 5" {
	local s d=$BATS_TEST_TMPDIR/d
	s=$(src s)
	ln -s "$OUTSIDE/shadow" "$s/notes.txt"
	run -5 df11 compress -q "$s" "$d"
	[ "$output" = "df11: '$s/notes.txt' is a symbolic link to '$OUTSIDE/shadow', outside '$s'; use --follow-symlinks to copy what it points to" ]
	[ ! -e "$d" ]
	no_tmp "$d"
}

@test "a directory link outside SRC is refused, each link on its line" {
	local s d=$BATS_TEST_TMPDIR/d rel
	s=$(src s)
	ln -s "$OUTSIDE/etc" "$s/etc"
	rel=$(realpath --relative-to="$s/extra" "$OUTSIDE/shadow")
	ln -s "$rel" "$s/extra/secret"
	run -5 df11 compress -q "$s" "$d"
	[ "${#lines[@]}" -eq 2 ]
	[[ $output == *"df11: '$s/etc' is a symbolic link to '$OUTSIDE/etc', outside '$s'; use --follow-symlinks"* ]]
	[[ $output == *"'$s/extra/secret' is a symbolic link to '$rel', outside"* ]]
	[ ! -e "$d" ]
	no_tmp "$d"
	run -5 df11 decompress -q "$s" "$d"
	[ ! -e "$d" ]
}

@test "--follow-symlinks copies what the links point to" {
	local s d=$BATS_TEST_TMPDIR/d o=$BATS_TEST_TMPDIR/o
	s=$(src s)
	ln -s "$OUTSIDE/shadow" "$s/notes.txt"
	ln -s "$OUTSIDE/etc" "$s/etc"
	run -0 df11 compress -q --follow-symlinks "$s" "$d"
	[ -f "$d/notes.txt" ] && [ ! -L "$d/notes.txt" ]
	cmp "$OUTSIDE/shadow" "$d/notes.txt"
	[ "$(stat -c %a "$d/notes.txt")" = 600 ]
	[ -d "$d/etc" ] && [ ! -L "$d/etc" ]
	cmp "$OUTSIDE/etc/setting.conf" "$d/etc/setting.conf"
	run -0 df11 decompress -q "$d" "$o"
	cmp "$OUTSIDE/shadow" "$o/notes.txt"
}

@test "links inside SRC are kept as links and round-trip" {
	local s d=$BATS_TEST_TMPDIR/d o=$BATS_TEST_TMPDIR/o
	s=$(src s)
	ln -s config.json "$s/cfg.json"
	ln -s model-00001-of-00002.safetensors "$s/first.safetensors"
	ln -s .. "$s/extra/deep/up"
	ln -s "$(realpath "$s")/tokenizer.json" "$s/extra/tok.json"
	run -0 df11 compress -q "$s" "$d"
	[ "$(readlink "$d/cfg.json")" = config.json ]
	[ "$(readlink "$d/first.safetensors")" = model-00001-of-00002.safetensors ]
	[ "$(readlink "$d/extra/deep/up")" = .. ]
	# an absolute target inside SRC is made relative
	[ "$(readlink "$d/extra/tok.json")" = ../tokenizer.json ]
	cmp "$s/tokenizer.json" "$d/extra/tok.json"
	run -0 df11 decompress -q "$d" "$o"
	[ "$(readlink "$o/first.safetensors")" = model-00001-of-00002.safetensors ]
	cmp "$s/first.safetensors" "$o/first.safetensors"
	[ "$(tree_sums "$s")" = "$(tree_sums "$o")" ]
	run -0 df11 verify -q "$d" "$s"
}

@test "a hub snapshot alone: links into its blobs/ are followed" {
	local h=$BATS_TEST_TMPDIR/hub d=$BATS_TEST_TMPDIR/d o=$BATS_TEST_TMPDIR/o
	local rev
	rev=$("$BATS_TEST_DIRNAME/../mkhub.sh" "$h" org--name "$M")
	run -0 df11 compress -q "$h/models--org--name/snapshots/$rev" "$d"
	run -0 find "$d" -type l
	[ -z "$output" ]
	run -0 df11 decompress -q "$d" "$o"
	[ "$(tree_sums "$M")" = "$(tree_sums "$o")" ]
}

# traced ARGS... - ARGS under strace, the calls that matter to TRACE ($tr);
# LeakSanitizer cannot run under ptrace (make asan): no leak check there
traced() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		timeout -k 5 "$DEADLINE" strace -f -y -o "$tr" \
		-e trace=fsync,fdatasync,rename,renameat,renameat2 "$@"
}

# fsynced TRACE PATH - line number of the first fsync of PATH in TRACE
fsynced() {
	# a call another thread interrupts is "<unfinished ...>" then "resumed>"
	grep -n "fsync([0-9]*<$2>[) ]" "$1" | head -1 | cut -d: -f1
}

# check_fsyncs TRACE TMP FINAL - every file and directory of FINAL was
# fsynced under its temporary name TMP before the line that renamed it,
# and the parent of FINAL after that line
check_fsyncs() {
	local trace=$1 tmp=$2 final=$3 ren at p
	ren=$(grep -n 'rename' "$trace" | tail -1 | cut -d: -f1)
	[ -n "$ren" ] || { echo "no rename in $trace" >&2; return 1; }
	while read -r p; do
		at=$(fsynced "$trace" "$tmp${p#.}")
		[ -n "$at" ] && [ "$at" -lt "$ren" ] ||
			{ echo "'$p' not fsynced before the rename" >&2; return 1; }
	done < <(cd "$final" && find . \( -type f -o -type d \) | sed 's|^\.$|.|')
	at=$(grep -n "fsync([0-9]*<$(dirname "$final")>[) ]" "$trace" | tail -1 |
		cut -d: -f1)
	[ -n "$at" ] && [ "$at" -gt "$ren" ] ||
		{ echo "parent of '$final' not fsynced after the rename" >&2; return 1; }
}

@test "compress and decompress fsync every output before the rename" {
	command -v strace >/dev/null || skip "no strace"
	local t=$BATS_TEST_TMPDIR d o tr=$BATS_TEST_TMPDIR/trace
	d=$(realpath "$t")/d o=$(realpath "$t")/o
	traced "$DF11" compress -q -j 2 "$M" "$d"
	grep -q "rename(.*\.df11-tmp\.[0-9]*\", \"$d\")" "$tr"
	check_fsyncs "$tr" "$(grep -o "$d\.df11-tmp\.[0-9]*" "$tr" | head -1)" "$d"
	traced "$DF11" decompress -q -j 2 "$d" "$o"
	check_fsyncs "$tr" "$(grep -o "$o\.df11-tmp\.[0-9]*" "$tr" | head -1)" "$o"
}

@test "an empty DST built in place is fsynced after the renames" {
	command -v strace >/dev/null || skip "no strace"
	local d tr=$BATS_TEST_TMPDIR/trace ren at
	d=$(realpath "$BATS_TEST_TMPDIR")/d
	mkdir "$d"
	traced "$DF11" compress -q "$M" "$d"
	at=$(fsynced "$tr" "$d/.df11-tmp.[0-9]*/config.json")
	ren=$(grep -n 'renameat' "$tr" | head -1 | cut -d: -f1)
	[ -n "$at" ] && [ -n "$ren" ] && [ "$at" -lt "$ren" ]
	at=$(grep -n "fsync([0-9]*<$d>[) ]" "$tr" | tail -1 | cut -d: -f1)
	ren=$(grep -n 'renameat' "$tr" | tail -1 | cut -d: -f1)
	[ -n "$at" ] && [ "$at" -gt "$ren" ]
}
