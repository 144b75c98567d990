#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/030-interrupt.bats - a signal during compress or decompress
# leaves neither the destination nor the temporary directory behind, and
# the process dies of that signal (status 128 + signo)
#
# No sleeps and no races with the end of the run: once the temporary
# directory shows that the run is inside its file loop, the process is
# stopped (SIGSTOP), sent the signal, and continued, so the signal always
# lands mid-run.

load helpers

setup_file() {
	require_bins
	export M=$BATS_FILE_TMPDIR/m D=$BATS_FILE_TMPDIR/d
	genmodel -S 384M -n 2 "$M"
	df11 compress -q "$M" "$D"
}

# interrupt SIGNAL STATUS CMD SRC DST - run "df11 CMD -q -j 1 SRC DST" in
# the background, send SIGNAL once it has copied generation_config.json
# (files go in path order, so the shards come next) and check that it
# exits with STATUS and leaves nothing behind
interrupt() {
	local sig=$1 want=$2 cmd=$3 src=$4 dst=$5 pid status=0

	"$DF11" "$cmd" -q -j 1 "$src" "$dst" &
	pid=$!
	if ! wait_until 30 test -e "$dst.df11-tmp.$pid/generation_config.json"
	then
		kill -KILL "$pid"
		false
	fi
	kill -STOP "$pid"
	kill -"$sig" "$pid"
	kill -CONT "$pid"
	wait "$pid" || status=$?
	echo "status $status"
	[ "$status" -eq "$want" ]
	no_output "$dst"
}

@test "SIGINT during compress leaves no DST and no temporary directory" {
	interrupt INT 130 compress "$M" "$BATS_TEST_TMPDIR/out"
}

@test "SIGTERM during compress leaves no DST and no temporary directory" {
	interrupt TERM 143 compress "$M" "$BATS_TEST_TMPDIR/out"
}

@test "SIGINT during decompress leaves no OUT and no temporary directory" {
	interrupt INT 130 decompress "$D" "$BATS_TEST_TMPDIR/out"
}

@test "an existing empty DST is left as it was" {
	local out=$BATS_TEST_TMPDIR/out pid status=0

	mkdir "$out"
	"$DF11" compress -q -j 1 "$M" "$out" &
	pid=$!
	wait_until 30 test -e "$out/.df11-tmp.$pid/generation_config.json"
	kill -STOP "$pid"
	kill -TERM "$pid"
	kill -CONT "$pid"
	wait "$pid" || status=$?
	[ "$status" -eq 143 ]
	[ -d "$out" ]
	[ -z "$(ls -A "$out")" ]
	no_tmp "$out"
}
