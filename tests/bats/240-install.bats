#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/240-install.bats - make install into a DESTDIR: the programs,
# the man pages, the GPU library where the installed df11fs finds it, the
# mount helper link only where SBINDIR says

load helpers
load mount_helpers

setup_file() {
	require_bins
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	export ROOT
}

teardown() {
	unmount_all
}

# install PREFIX DESTDIR [make args...]
install_to() {
	local prefix=$1 dest=$2
	shift 2
	make -s -C "$ROOT" BUILD="$BUILD" PREFIX="$prefix" DESTDIR="$dest" \
		"$@" install
}

@test "make install puts the programs, pages and GPU library under PREFIX" {
	local t=$BATS_TEST_TMPDIR/t

	install_to /usr "$t" SBINDIR=
	[ -x "$t/usr/bin/df11" ] && [ -x "$t/usr/bin/df11fs" ]
	[ -f "$t/usr/share/man/man1/df11.1" ]
	[ -f "$t/usr/share/man/man1/df11fs.1" ]
	[ ! -e "$t/sbin" ]
	if [ -f "$BUILD/libdf11gpu.so" ]; then
		cmp "$BUILD/libdf11gpu.so" "$t/usr/lib/df11fs/libdf11gpu.so"
	fi
	run -0 "$t/usr/bin/df11" --version
	make -s -C "$ROOT" BUILD="$BUILD" PREFIX=/usr DESTDIR="$t" SBINDIR= \
		uninstall
	[ -z "$(find "$t" -type f)" ]
}

@test "the mount helper link goes to SBINDIR and points into PREFIX" {
	local t=$BATS_TEST_TMPDIR/t

	install_to /opt/df "$t" SBINDIR=/opt/df/sbin
	[ "$(readlink "$t/opt/df/sbin/mount.fuse.df11fs")" = /opt/df/bin/df11fs ]
}

@test "an installed df11fs finds the GPU library in PREFIX/lib/df11fs" {
	local t=$BATS_TEST_TMPDIR/t emu=$BUILD/libdf11gpu-emu.so
	local m=$BATS_TEST_TMPDIR/m s=$BATS_TEST_TMPDIR/s d=$BATS_TEST_TMPDIR/d

	[ -f "$emu" ] || skip "no $emu"
	require_fuse
	install_to /usr "$t" SBINDIR=
	mkdir -p "$t/usr/lib/df11fs"
	cp "$emu" "$t/usr/lib/df11fs/libdf11gpu.so"
	genmodel "$s"
	df11 compress -q "$s" "$d"
	unset DF11_GPU_LIB
	DF11FS=$t/usr/bin/df11fs mount_df11fs "$d" "$m" -o decoder=gpu
	[ "$(tree_sums "$m")" = "$(tree_sums "$s")" ]
	unmount_df11fs "$m"
	grep -E '^df11fs: decoder: gpu \(.+\)' "$m.log"
}
