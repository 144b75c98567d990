#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/deps.sh - check the build and test dependencies, install what is missing
#
# Checks the pkg-config modules and commands that `make`, `make check`,
# `make asan`, `make fuzz` and `make demo` need. When all is present it
# prints nothing and exits 0 at once. When something is missing:
#   - root on Debian/Ubuntu: `apt-get update` once, then
#     `apt-get install -y --no-install-recommends` of the package list below,
#     plus the compiler-rt package (libFuzzer, ASan) matching clang's version;
#   - otherwise: prints what to install and exits 1.
# Idempotent: a second run after an install is a no-op.

set -euo pipefail

# Everything the project uses; apt-get skips what is already installed.
APT_PKGS=(build-essential pkg-config libfuse3-dev fuse3 libjansson-dev
	liblz4-dev libxxhash-dev libssl-dev bats mandoc clang python3 attr
	strace acl)

missing=() # what is missing, in words
pkgs=()    # the Debian packages that provide it

# need DESCRIPTION PACKAGE - record a missing item
need() {
	missing+=("$1")
	case " ${pkgs[*]} " in *" $2 "*) ;; *) pkgs+=("$2") ;; esac
}

# clang_major - major version of the clang on PATH ("14"), empty if none
clang_major() {
	local v
	command -v clang >/dev/null 2>&1 || return 0
	v=$(clang --version 2>/dev/null) || return 0
	[[ $v =~ clang\ version\ ([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
	return 0
}

# have_clang_rt - does clang's runtime directory hold libFuzzer?
# (Debian 12: libclang-rt-14-dev; old layout lib/linux/*-ARCH.a, new layout
# lib/TRIPLE/*.a)
have_clang_rt() {
	local res f
	res=$(clang -print-resource-dir 2>/dev/null) || return 1
	for f in "$res"/lib/linux/libclang_rt.fuzzer-*.a \
		"$res"/lib/*/libclang_rt.fuzzer.a; do
		[ -e "$f" ] && return 0
	done
	return 1
}

# apt_has PACKAGE - does apt know an installable version of PACKAGE?
# (no pipe into grep -q: with pipefail its early exit would fail the test)
apt_has() {
	local p
	command -v apt-cache >/dev/null 2>&1 || return 1
	p=$(apt-cache policy "$1" 2>/dev/null) || return 1
	[[ $p =~ Candidate:\ [^\(] ]]
}

check() {
	local c m pair
	missing=()
	pkgs=()
	for pair in cc:build-essential make:build-essential \
		pkg-config:pkg-config fusermount3:fuse3 bats:bats \
		mandoc:mandoc clang:clang python3:python3 setfattr:attr \
		strace:strace setfacl:acl; do
		c=${pair%%:*}
		command -v "$c" >/dev/null 2>&1 || need "command $c" "${pair#*:}"
	done
	if command -v pkg-config >/dev/null 2>&1 &&
		pkg-config --exists fuse3 jansson liblz4 libxxhash libcrypto; then
		:
	else
		for pair in fuse3:libfuse3-dev jansson:libjansson-dev \
			liblz4:liblz4-dev libxxhash:libxxhash-dev \
			libcrypto:libssl-dev; do
			m=${pair%%:*}
			command -v pkg-config >/dev/null 2>&1 &&
				pkg-config --exists "$m" && continue
			need "pkg-config module $m" "${pair#*:}"
		done
	fi
	# libFuzzer/ASan: required where a package provides it (Debian 12:
	# libclang-rt-14-dev); elsewhere only a warning (see below).
	rt_pkg=
	if command -v clang >/dev/null 2>&1 && ! have_clang_rt; then
		rt_pkg="libclang-rt-$(clang_major)-dev"
		if apt_has "$rt_pkg"; then
			need "clang runtime (libFuzzer, ASan)" "$rt_pkg"
			rt_pkg=
		fi
	fi
}

is_debian() {
	[ -e /etc/debian_version ] && command -v apt-get >/dev/null 2>&1
}

report() {
	local IFS=,
	echo "deps: missing:${missing[*]/#/ }" >&2
}

# warn_rt - the clang runtime is missing and no package provides it
warn_rt() {
	[ -n "$rt_pkg" ] || return 0
	echo "deps: warning: clang has no libFuzzer/ASan runtime and no" \
		"$rt_pkg package is known: make asan and make fuzz may not link" >&2
}

check
if [ ${#missing[@]} -eq 0 ]; then
	warn_rt
	exit 0
fi

report
if [ "$(id -u)" != 0 ] || ! is_debian; then
	if [ -e /etc/debian_version ]; then
		echo "deps: install them as root with:" >&2
		echo "  apt-get update && apt-get install -y" \
			"--no-install-recommends ${pkgs[*]}" >&2
	else
		echo "deps: install the equivalents of these Debian packages:" \
			"${pkgs[*]}" >&2
	fi
	command -v hyperfine >/dev/null 2>&1 ||
		echo "deps: optional: hyperfine (make bench)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update" >&2
apt-get update -q

install=("${APT_PKGS[@]}")
apt_has hyperfine && install+=(hyperfine)
echo "deps: apt-get install ${install[*]}" >&2
apt-get install -y -q --no-install-recommends "${install[@]}"

# The compiler-rt package is named after clang's version (Debian 12:
# libclang-rt-14-dev); clang may have just been installed, so derive the
# name now. Releases that ship the runtime inside libclang-common-N-dev
# (pulled in by clang) have no such package: skip it there.
v=$(clang_major)
if [ -n "$v" ] && ! have_clang_rt && apt_has "libclang-rt-$v-dev"; then
	echo "deps: apt-get install libclang-rt-$v-dev" >&2
	apt-get install -y -q --no-install-recommends "libclang-rt-$v-dev"
fi

check
if [ ${#missing[@]} -ne 0 ]; then
	report
	echo "deps: still missing after apt-get install" >&2
	exit 1
fi
warn_rt
echo "deps: all dependencies installed" >&2
