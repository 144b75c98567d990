#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/180-acl.bats - POSIX ACLs of SOURCE hold through an
# allow_other mount: a user whom an ACL denies a file, a container or a
# directory of SOURCE is denied it through the mount too (the kernel
# checks the ACLs that df11fs passes through, FUSE_CAP_POSIX_ACL), as is
# a virtual file of an official directory whose config.json denies him.
# Needs root (a mount others may use, and setpriv to become nobody) and
# setfacl on a filesystem with ACLs.

load helpers
load mount_helpers

DATA=$BATS_TEST_DIRNAME/../data/official

setup_file() {
	require_fuse
	require_bins
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v setfacl >/dev/null || skip "no setfacl (apt-get install acl)"
	command -v setpriv >/dev/null || skip "no setpriv"
	export T=$BATS_FILE_TMPDIR
	export ORIG=$T/orig S=$T/src
	touch "$T/probe"
	setfacl -m u:nobody:r "$T/probe" 2>/dev/null ||
		skip "no ACLs on the filesystem of $T"
	mkdir -p "$ORIG" "$S"
	genmodel -s 3 -S 2M "$ORIG/a"
	genmodel -s 4 -S 2M "$ORIG/b"
	df11 compress -q "$ORIG/a" "$S/a"
	df11 compress -q "$ORIG/b" "$S/b"
	mkdir -p "$S/secret"
	cp "$ORIG/b/config.json" "$S/secret/"
	cp -r "$DATA/llama-tiny/df11" "$S/o"
	chmod -R u+w,go+rX "$S"
	# mode bits let everyone read; the ACLs deny nobody
	setfacl -m u:nobody:--- "$S/a/config.json" "$S/a/model.safetensors" \
		"$S/o/config.json"
	setfacl -m u:nobody:--- "$S/secret"
	# and the other way: mode bits deny, an ACL grants
	cp "$ORIG/b/config.json" "$S/b/granted.json"
	chmod 600 "$S/b/granted.json"
	setfacl -m u:nobody:r "$S/b/granted.json"
	# a mountpoint others can reach (bats' own directories are 0700)
	M=$(mktemp -d /tmp/df11-acl.XXXXXX)
	chmod 755 "$M"
	export M
	mount_df11fs "$S" "$M" -o allow_other
}

teardown_file() {
	unmount_all
	# outside bats' directories: the mountpoint and its log
	[ -z "${M:-}" ] || { rm -f "$M.log"; rmdir "$M"; }
}

# as_nobody CMD... - CMD as user and group 65534, no other groups
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

@test "a file without an ACL is readable by nobody through the mount" {
	as_nobody cat "$M/b/config.json" >/dev/null
	as_nobody cat "$M/b/model.safetensors" | cmp - "$ORIG/b/model.safetensors"
}

@test "a file, a container, a directory an ACL denies: denied through the mount" {
	run ! as_nobody cat "$S/a/config.json"
	run ! as_nobody cat "$M/a/config.json"
	[[ $output == *"Permission denied"* ]]
	run ! as_nobody cat "$M/a/model.safetensors"
	[[ $output == *"Permission denied"* ]]
	run ! as_nobody ls "$M/secret"
	[[ $output == *"Permission denied"* ]]
	run ! as_nobody cat "$M/secret/config.json"
	[[ $output == *"Permission denied"* ]]
	# root (the owner) still reads them all
	cmp "$M/a/model.safetensors" "$ORIG/a/model.safetensors"
}

@test "an ACL that grants what the mode bits do not: granted through the mount" {
	as_nobody cat "$M/b/granted.json" | cmp - "$ORIG/b/config.json"
	run ! setpriv --reuid=65533 --regid=65533 --clear-groups \
		cat "$M/b/granted.json"
}

@test "an official directory's files carry config.json's ACL" {
	as_nobody cat "$M/o/generation_config.json" >/dev/null
	run ! as_nobody cat "$M/o/model.safetensors"
	[[ $output == *"Permission denied"* ]]
	run ! as_nobody cat "$M/o/config.json"
	[[ $output == *"Permission denied"* ]]
}

@test "getfacl through the mount shows the source's ACL; setfacl is refused" {
	run -0 getfacl -c "$M/a/model.safetensors"
	[[ $output == *"user:nobody:---"* ]]
	run -0 getfacl -c -d "$M/secret"
	run -0 getfacl -c "$M/secret"
	[[ $output == *"user:nobody:---"* ]]
	run -0 getfacl -c "$M/b/config.json"
	[[ $output != *"user:nobody"* ]]
	run ! setfacl -m u:nobody:r "$M/a/config.json"
	# only the ACLs pass through, no other attribute of the source
	setfattr -n user.note -v x "$S/b/config.json"
	run ! getfattr -n user.note "$M/b/config.json"
}
