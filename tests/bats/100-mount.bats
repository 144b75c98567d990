#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/100-mount.bats - df11fs: a mounted df11 tree reads back as
# the original files, byte for byte; damage is an error, never wrong
# bytes; the mount is read-only; daemons end with their mounts

load helpers
load mount_helpers

setup_file() {
	require_fuse
	require_bins
	export SRC=$BATS_FILE_TMPDIR/src D=$BATS_FILE_TMPDIR/d
	export M=$BATS_FILE_TMPDIR/m
	mkdir -p "$SRC"
	genmodel -s 1 -S 24M -n 3 --edge "$SRC/a"
	genmodel -s 2 -S 8M --shuffle --gap "$SRC/b"
	mkdir -p "$D"
	df11 compress -q "$SRC/a" "$D/a"
	df11 compress -q "$SRC/b" "$D/b"
	mount_df11fs "$D" "$M"
}

teardown() {
	# mounts of single tests (not the shared one)
	local mnt rc=0
	[ -f "$BATS_FILE_TMPDIR/mounts" ] || return 0
	while read -r mnt; do
		[ "$mnt" = "$M" ] || [ ! -f "$mnt.pid" ] ||
			unmount_df11fs "$mnt" || rc=1
	done <"$BATS_FILE_TMPDIR/mounts"
	return "$rc"
}

teardown_file() {
	unmount_all
	# no daemon of this file is left, whatever happened above
	run ! pgrep -f "df11fs .*$BATS_FILE_TMPDIR"
}

# tree_list DIR - "path size type" of everything below DIR
tree_list() {
	(cd "$1" && find . -printf '%P %s %y\n' | sort)
}

@test "every file reads back with the original sha256" {
	[ "$(tree_sums "$M")" = "$(tree_sums "$SRC")" ]
}

@test "names, sizes and types equal the original tree" {
	[ "$(tree_list "$M" | grep -v ' d$')" = \
		"$(tree_list "$SRC" | grep -v ' d$')" ]
	# shellcheck disable=SC2012 # ls is what is tested
	[ "$(ls -R "$M")" = "$(ls -R "$SRC" | sed "s|^$SRC|$M|")" ]
	[ "$(stat -c %s "$M/a/model-00001-of-00003.safetensors")" = \
		"$(stat -c %s "$SRC/a/model-00001-of-00003.safetensors")" ]
}

@test "300 reads at edges, odd and random offsets equal the original" {
	check_reads "$M/a/model-00001-of-00003.safetensors" \
		"$SRC/a/model-00001-of-00003.safetensors" 200 1
	check_reads "$M/b/model.safetensors" "$SRC/b/model.safetensors" 100 2
}

@test "reads through mmap equal the original" {
	check_mmap "$M/a/model-00003-of-00003.safetensors" \
		"$SRC/a/model-00003-of-00003.safetensors"
	check_mmap "$M/b/model.safetensors" "$SRC/b/model.safetensors"
}

@test "8 concurrent readers all read the original bytes" {
	local i f files=() pids=()

	for f in "$SRC"/a/*.safetensors "$SRC"/b/*.safetensors; do
		files+=("${f#"$SRC"/}")
	done
	for i in 0 1 2 3 4 5 6 7; do
		f=${files[i % ${#files[@]}]}
		sha256sum <"$M/$f" >"$BATS_TEST_TMPDIR/r$i" 3>&- &
		pids+=($!)
	done
	for i in 0 1 2 3 4 5 6 7; do
		wait "${pids[i]}"
		f=${files[i % ${#files[@]}]}
		[ "$(cat "$BATS_TEST_TMPDIR/r$i")" = \
			"$(sha256sum <"$SRC/$f")" ]
	done
}

@test "a cache smaller than one file still reads every byte" {
	local m=$BATS_TEST_TMPDIR/m

	mount_df11fs "$D" "$m" -o cache_size=1M,readahead=2M,workers=2
	[ "$(tree_sums "$m")" = "$(tree_sums "$SRC")" ]
	run -0 getfattr --absolute-names --only-values -n user.df11.cache_budget "$m"
	[ "$output" = 1048576 ]
	unmount_df11fs "$m"
}

@test "cache_size=: K, M, G and KiB, MiB, GiB in 1024s, KB, MB, GB in 1000s" {
	local m=$BATS_TEST_TMPDIR/m spec

	for spec in 1G=1073741824 1GiB=1073741824 1GB=1000000000 \
		64M=67108864 64MiB=67108864 64MB=64000000 64kB=64000; do
		mount_df11fs "$D" "$m" -o "cache_size=${spec%=*}"
		run -0 getfattr --absolute-names --only-values \
			-n user.df11.cache_budget "$m"
		[ "$output" = "${spec#*=}" ]
		unmount_df11fs "$m"
	done
	# a lower-case b is bits to Hugging Face: refused, not guessed
	run -2 "$DF11FS" -f -o cache_size=1Gb "$D" "$m"
	[[ $output == *"invalid value for option 'cache_size'"* ]]
}

@test "a corrupted container fails with EIO; other files stay readable" {
	local c=$BATS_TEST_TMPDIR/c m=$BATS_TEST_TMPDIR/m f

	cp -r "$D" "$c"
	ct_corrupt "$c/b/model.safetensors"
	mount_df11fs "$c" "$m"
	run -0 read_errno "$m/b/model.safetensors"
	[ "$output" = 5 ]
	for f in a/model-00001-of-00003.safetensors b/config.json \
		b/tokenizer.json; do
		cmp "$m/$f" "$SRC/$f"
	done
	unmount_df11fs "$m"
	grep -q "b/model.safetensors" "$m.log"
}

@test "a truncated container fails with EIO; other files stay readable" {
	local c=$BATS_TEST_TMPDIR/c m=$BATS_TEST_TMPDIR/m
	local f=a/model-00002-of-00003.safetensors

	cp -r "$D" "$c"
	truncate -s $(($(stat -c %s "$c/$f") / 2)) "$c/$f"
	mount_df11fs "$c" "$m"
	run -0 read_errno "$m/$f"
	[ "$output" = 5 ]
	run -0 getfattr --absolute-names --only-values -n user.df11.error "$m/$f"
	[ -n "$output" ]
	cmp "$m/a/model-00001-of-00003.safetensors" \
		"$SRC/a/model-00001-of-00003.safetensors"
	cmp "$m/b/model.safetensors" "$SRC/b/model.safetensors"
	unmount_df11fs "$m"
	grep -q "'$f': " "$m.log"
}

@test "every write fails with 'Read-only file system'" {
	run ! touch "$M/new"
	[[ $output == *"Read-only file system"* ]]
	run ! bash -c "echo x >'$M/a/config.json'"
	[[ $output == *"Read-only file system"* ]]
	run ! mkdir "$M/a/dir"
	[[ $output == *"Read-only file system"* ]]
	run ! rm "$M/a/config.json"
	[[ $output == *"Read-only file system"* ]]
	run ! mv "$M/a/config.json" "$M/a/moved.json"
	[[ $output == *"Read-only file system"* ]]
	run ! chmod 777 "$M/a/config.json"
	[[ $output == *"Read-only file system"* ]]
	run ! setfattr -n user.x -v 1 "$M/a/config.json"
	[[ $output == *"Read-only file system"* ]]
	cmp "$M/a/config.json" "$SRC/a/config.json"
}

@test "user.df11 attributes show cache statistics and file ratios" {
	cat "$M/b/model.safetensors" >/dev/null
	run -0 getfattr --absolute-names -d -m user.df11 "$M"
	[[ $output == *'user.df11.cache_budget="1073741824"'* ]]
	[[ $output == *'user.df11.bytes_served="'* ]]
	[[ $output == *'user.df11.decoder="cpu"'* ]]
	run -0 getfattr --absolute-names --only-values -n user.df11.bytes_decoded "$M"
	[ "$output" -gt 0 ]
	run -0 getfattr --absolute-names -d -m user.df11 "$M/b/model.safetensors"
	[[ $output == *"user.df11.size=\"$(stat -c %s "$SRC/b/model.safetensors")\""* ]]
	[[ $output == *"user.df11.stored=\"$(stat -c %s "$D/b/model.safetensors")\""* ]]
	[[ $output == *'user.df11.ratio="0.'* ]]
	run -1 getfattr --absolute-names -n user.df11.nothing "$M"
	[[ $output == *"No such attribute"* ]]
	run -0 getfattr --absolute-names -d -m user.df11 "$M/b/config.json"
	[ -z "$output" ]
}

@test "symlinks are shown as stored, hard links share an inode" {
	local t=$BATS_TEST_TMPDIR/t m=$BATS_TEST_TMPDIR/m i

	mkdir -p "$t/x"
	cp "$D/b/model.safetensors" "$t/x/model.safetensors"
	ln "$t/x/model.safetensors" "$t/x/same.safetensors"
	ln -s model.safetensors "$t/x/link.safetensors"
	ln -s /etc/passwd "$t/x/outside"
	ln -s ../../../.. "$t/x/up"
	for i in $(seq 300); do : >"$t/x/f$i"; done
	mount_df11fs "$t" "$m"
	[ "$(readlink "$m/x/link.safetensors")" = model.safetensors ]
	[ "$(readlink "$m/x/outside")" = /etc/passwd ]
	[ "$(readlink "$m/x/up")" = ../../../.. ]
	cmp "$m/x/link.safetensors" "$SRC/b/model.safetensors"
	[ "$(stat -c %i "$m/x/model.safetensors")" = \
		"$(stat -c %i "$m/x/same.safetensors")" ]
	[ "$(stat -c %i "$m/x/model.safetensors")" = \
		"$(stat -c %i "$t/x/model.safetensors")" ]
	# shellcheck disable=SC2012 # ls is what is tested
	[ "$(ls "$m/x" | wc -l)" -eq 305 ]
	[ "$(find "$m/x" -type f | wc -l)" -eq 302 ]
	[ "$(find "$m/x" -type l | wc -l)" -eq 3 ]
	unmount_df11fs "$m"
}

@test "fstab and mount(8) options are tolerated; rw stays read-only" {
	local m=$BATS_TEST_TMPDIR/m

	mount_df11fs "$D" "$m" -o rw,defaults,noauto,user,_netdev,nofail \
		-o x-systemd.automount,comment=models,allow_other,cache_size=4G
	grep -q " $m fuse.df11fs ro," /proc/mounts
	run ! touch "$m/new"
	[[ $output == *"Read-only file system"* ]]
	cmp "$m/b/config.json" "$SRC/b/config.json"
	unmount_df11fs "$m"
}

@test "SIGTERM unmounts and exits 0; no daemon is left" {
	local m=$BATS_TEST_TMPDIR/m pid st=0

	mount_df11fs "$D" "$m"
	pid=$(cat "$m.pid")
	kill -TERM "$pid"
	wait_until "$MOUNT_DEADLINE" daemon_gone "$pid"
	wait "$pid" || st=$?
	rm -f "$m.pid"
	[ "$st" -eq 0 ]
	run ! mountpoint -q "$m"
}

@test "usage errors exit 2, unusable paths exit 1" {
	run -2 "$DF11FS"
	[[ $output == *usage:* ]]
	run -2 "$DF11FS" "$D"
	run -2 "$DF11FS" -o cache_size=12Q "$D" "$BATS_TEST_TMPDIR"
	[[ $output == *"invalid value for option 'cache_size'"* ]]
	run -2 "$DF11FS" -o no_such_option "$D" "$BATS_TEST_TMPDIR"
	run -1 "$DF11FS" "$BATS_TEST_TMPDIR/none" "$BATS_TEST_TMPDIR"
	[[ $output == *"cannot use '$BATS_TEST_TMPDIR/none'"* ]]
	run -1 "$DF11FS" "$D" "$D/a/config.json"
	[[ $output == *"cannot use '$(realpath "$D/a/config.json")': Not a directory"* ]]
	run -1 "$DF11FS" -f "$D/a/config.json" "$BATS_TEST_TMPDIR"
	[[ $output == *"cannot use '$(realpath "$D/a/config.json")'"* ]]
	run -0 "$DF11FS" --version
	[[ $output == *"df11fs version"* ]]
	run -0 "$DF11FS" --help
	[[ $output == *cache_size=SIZE* ]]
}
