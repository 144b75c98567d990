#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/110-decoder.bats - df11fs -o decoder=auto|gpu|cpu: without a
# usable GPU every mode serves the original bytes on the CPU and says so
# once; a bad mode is a usage error. With the CPU emulation of the GPU
# built (make build/libdf11gpu-emu.so; make check does) the GPU path
# itself is checked too, and a device lost in the middle of a read
# (DF11_EMU_FAIL_AFTER) must leave the CPU decoding the same bytes.

load helpers
load mount_helpers

setup_file() {
	require_fuse
	require_bins
	export SRC=$BATS_FILE_TMPDIR/src D=$BATS_FILE_TMPDIR/d
	mkdir -p "$SRC"
	genmodel -s 3 -S 12M -n 2 --edge "$SRC/a"
	genmodel -s 4 -S 4M --shuffle --gap "$SRC/b"
	mkdir -p "$D"
	df11 compress -q "$SRC/a" "$D/a"
	df11 compress -q "$SRC/b" "$D/b"
}

setup() {
	# no GPU here, whatever the machine has: a library that cannot load
	if [ -e /dev/nvidiactl ]; then
		export DF11_GPU_LIB=$BATS_FILE_TMPDIR/no-such-libdf11gpu.so
	fi
}

teardown() {
	unmount_all
}

# check_mode MODE LOG_LINE - mount with decoder=MODE: files equal the
# originals, the log has LOG_LINE (a grep -E pattern), the CPU decoded
check_mode() {
	local m=$BATS_TEST_TMPDIR/m
	mount_df11fs "$D" "$m" -o "decoder=$1"
	[ "$(tree_sums "$m")" = "$(tree_sums "$SRC")" ]
	run -0 root_attr "$m" decoder
	[ "$output" = cpu ]
	run -0 root_attr "$m" gpu_chunks
	[ "$output" = 0 ]
	unmount_df11fs "$m"
	grep -E "$2" "$m.log"
	[ "$(grep -c 'decoder' "$m.log")" = 1 ]
}

@test "decoder=gpu without a GPU: a clear fallback line, the CPU serves" {
	check_mode gpu '^df11fs: decoder=gpu: no usable GPU \(.+\); decoding on the CPU$'
}

@test "decoder=auto without a GPU: the CPU serves, one line says why" {
	check_mode auto '^df11fs: decoder: cpu \(no GPU: .+\)$'
}

@test "decoder=cpu: the CPU serves, CUDA is not touched" {
	check_mode cpu '^df11fs: decoder: cpu$'
}

@test "the default is auto" {
	local m=$BATS_TEST_TMPDIR/m
	mount_df11fs "$D" "$m"
	unmount_df11fs "$m"
	grep -E '^df11fs: decoder: (cpu \(no GPU: .+\)|gpu \(.+\) \+ cpu)$' "$m.log"
}

@test "decoder=foo and gpu_mem=0 are usage errors" {
	local m=$BATS_TEST_TMPDIR/m
	mkdir -p "$m"
	run -2 "$DF11FS" -f -o decoder=foo "$D" "$m"
	[[ "$output" == *"invalid value for option 'decoder'"* ]]
	run -2 "$DF11FS" -f -o gpu_mem=0 "$D" "$m"
	[[ "$output" == *"invalid value for option 'gpu_mem'"* ]]
	run -2 "$DF11FS" -f -o decoder= "$D" "$m"
	! mountpoint -q "$m"
}

@test "GPU emulation: decoder=gpu and auto decode on the 'GPU', bit for bit" {
	local emu=$BUILD/libdf11gpu-emu.so m=$BATS_TEST_TMPDIR/m mode
	[ -f "$emu" ] || skip "no $emu (make BUILD=... $emu)"
	for mode in gpu auto; do
		DF11_GPU_LIB=$emu mount_df11fs "$D" "$m" -o "decoder=$mode"
		[ "$(tree_sums "$m")" = "$(tree_sums "$SRC")" ]
		check_reads "$m/a/model-00001-of-00002.safetensors" \
			"$SRC/a/model-00001-of-00002.safetensors" 60 3
		run -0 root_attr "$m" decoder
		[ "$output" = "$([ $mode = gpu ] && echo gpu || echo gpu+cpu)" ]
		run -0 root_attr "$m" gpu_chunks
		[ "$output" -gt 0 ]
		run -0 root_attr "$m" errors
		[ "$output" = 0 ]
		unmount_df11fs "$m"
		grep -E '^df11fs: decoder: gpu \(.+\)' "$m.log"
		rm -f "$m.log"
	done
}

@test "GPU emulation: the device lost mid-read: one log line, the CPU decodes, bytes right" {
	local emu=$BUILD/libdf11gpu-emu.so m=$BATS_TEST_TMPDIR/m
	[ -f "$emu" ] || skip "no $emu (make BUILD=... $emu)"
	DF11_GPU_LIB=$emu DF11_EMU_FAIL_AFTER=5 mount_df11fs "$D" "$m" \
		-o decoder=gpu
	[ "$(tree_sums "$m")" = "$(tree_sums "$SRC")" ]
	run -0 root_attr "$m" decoder
	[[ "$output" == "gpu (fell back to cpu: CUDA error on "* ]]
	run -0 root_attr "$m" gpu_chunks
	[ "$output" -gt 0 ]
	run -0 root_attr "$m" errors
	[ "$output" = 0 ]
	unmount_df11fs "$m"
	[ "$(grep -c 'CUDA error' "$m.log")" = 1 ]
}
