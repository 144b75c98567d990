#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/120-hostile.bats - a SOURCE tree with hostile entries: a
# symlink named *.safetensors pointing outside SOURCE (at a FIFO, at a
# container), a FIFO, a UNIX socket and a device node named
# *.safetensors, in a native and in an official DFloat11 directory. The
# daemon never follows or opens them, never blocks, shows the rest of
# the model unchanged; the df11 tool returns promptly naming the file.
# Descriptors of files deleted from SOURCE are released while mounted.

load helpers
load mount_helpers

DATA=$BATS_TEST_DIRNAME/../data/official

setup_file() {
	require_fuse
	require_bins
	export T=$BATS_FILE_TMPDIR
	export ORIG=$T/orig S=$T/src OUT=$T/outside M=$T/m MC=$T/mc
	mkdir -p "$ORIG" "$S" "$OUT"
	genmodel -s 5 -S 6M -n 2 "$ORIG/n"
	df11 compress -q "$ORIG/n" "$S/n"
	cp -r "$DATA/llama-tiny/df11" "$S/o"
	chmod -R u+w "$S/o"
	# outside SOURCE: a FIFO (opening it would block) and a container
	mkfifo "$OUT/fifo"
	cp "$S/n/model-00001-of-00002.safetensors" "$OUT/secret.safetensors"
	for d in "$S/n" "$S/o"; do
		hostile "$d"
	done
	mount_df11fs "$S" "$M"
	# the same official model without hostile entries, for comparison
	mount_df11fs "$DATA/llama-tiny/df11" "$MC"
}

teardown_file() {
	# unblock a daemon that (wrongly) opened a FIFO, then unmount
	local f
	for f in "$OUT/fifo" "$S/n/fifo.safetensors" "$S/o/fifo.safetensors"; do
		[ -p "$f" ] && timeout 2 sh -c ": >'$f'" 2>/dev/null
	done
	unmount_all
}

# hostile DIR - add the hostile entries to DIR
hostile() {
	ln -s "$OUT/fifo" "$1/zz.safetensors"
	ln -s "$OUT/secret.safetensors" "$1/model-00009-of-00009.safetensors"
	mkfifo "$1/fifo.safetensors"
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$1/sock.safetensors"
	if [ "$(id -u)" = 0 ]; then
		mknod "$1/null.safetensors" c 1 3
	fi
}

# specials - the names of the FIFO, socket and device node
specials() {
	echo fifo.safetensors sock.safetensors
	[ "$(id -u)" != 0 ] || echo null.safetensors
}

# no_outside_fd - the daemon holds no descriptor of a file outside SOURCE
no_outside_fd() {
	run ! sh -c "ls -l /proc/$(cat "$M.pid")/fd | grep -F '$OUT'"
}

@test "a symlink named *.safetensors is shown as a link, never followed" {
	for d in n o; do
		for f in zz.safetensors model-00009-of-00009.safetensors; do
			run -0 timeout -k 5 20 stat -c %F "$M/$d/$f"
			[ "$output" = "symbolic link" ]
			run -0 timeout -k 5 20 readlink "$M/$d/$f"
			[[ $output == "$OUT/"* ]]
		done
	done
	run -0 timeout -k 5 20 ls -l "$M/n" "$M/o"
	no_outside_fd
	grep -q "zz.safetensors': symbolic link, not followed" "$M.log"
}

@test "ls -l of a directory with a FIFO, socket, device works at once" {
	local list
	for d in n o; do
		run -0 timeout -k 5 20 ls -l "$M/$d"
		list=$output
		for f in $(specials); do
			[[ $list == *"$f"* ]]
			run -0 timeout -k 5 20 stat -c '%F %s %a' "$M/$d/$f"
			[ "$output" = "regular empty file 0 0" ]
		done
	done
}

@test "cat of a FIFO, socket or device node fails at once, logged" {
	for d in n o; do
		for f in $(specials); do
			run timeout -k 5 20 cat "$M/$d/$f"
			echo "$d/$f: $status $output"
			[ "$status" -eq 1 ]
			[[ $output == *"No such device or address"* ||
				$output == *"Permission denied"* ]]
		done
	done
	grep -q "n/fifo.safetensors': not a regular file (fifo)" "$M.log"
}

@test "the rest of the models read identically" {
	[ "$(tree_sums "$ORIG/n")" = \
		"$(cd "$M/n" && find . -type f ! -name '*.safetensors' -print0 \
			-o -name 'model-0000?-of-00002.safetensors' -print0 |
			sort -z | xargs -0 sha256sum)" ]
	for f in config.json model.safetensors; do
		[ "$(timeout -k 5 20 sha256sum <"$M/o/$f")" = \
			"$(timeout -k 5 20 sha256sum <"$MC/$f")" ]
	done
	cmp "$M/o/config.json" "$DATA/llama-tiny/orig/config.json"
	no_outside_fd
}

@test "df11 info, verify, decompress on an official dir: prompt, file named" {
	local cmd out
	for cmd in info verify "decompress -q"; do
		out=$T/out-${cmd%% *}
		# info takes DST alone, the others DST and OUT/SRC
		if [ "$cmd" = info ]; then set -- "$S/o"; else set -- "$S/o" "$out"; fi
		# shellcheck disable=SC2086 # two words
		run timeout -k 5 20 "$DF11" $cmd "$@"
		echo "$cmd: $status $output"
		[ "$status" -eq 5 ]
		[[ $output == *"/o/"*".safetensors': "*"not "* ]]
		[ ! -e "$out" ] || [ "$cmd" = verify ]
	done
}

@test "df11 info, verify, decompress on a native dir: prompt" {
	local cmd
	for cmd in info verify; do
		run timeout -k 5 20 "$DF11" $cmd "$S/n"
		echo "$cmd: $status $output"
		[ "$status" -ne 124 ]
	done
	run timeout -k 5 20 "$DF11" decompress -q "$S/n" "$T/out-n"
	echo "decompress: $status $output"
	[ "$status" -ne 124 ]
}

@test "the descriptors of a model deleted from SOURCE are released" {
	local pid
	pid=$(cat "$M.pid")
	df11 compress -q "$ORIG/n" "$S/gone-n"
	cp -r "$DATA/llama-tiny/df11" "$S/gone-o"
	find "$M/gone-n" "$M/gone-o" -type f -exec cat {} + >/dev/null
	ls -l "/proc/$pid/fd" | grep -q "$S/gone-n"
	rm -rf "$S/gone-n" "$S/gone-o"
	wait_until 10 sh -c "! ls -l /proc/$pid/fd | grep -q '(deleted)'" || {
		ls -l "/proc/$pid/fd" >&2
		false
	}
}
