#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/127-hostile-names.bats - names that talk to the terminal:
# a tensor named "\e[2J" (clear screen) and one holding U+009B (CSI for
# some terminals), a file name with an OSC title sequence and one that is
# not UTF-8. df11 info writes none of their control bytes to the
# terminal (text form: \xNN, \u00NN escapes), and --json stays valid
# JSON (C0 controls escaped) that gives the names back exactly.

load helpers

setup_file() {
	require_bins
	export T=$BATS_FILE_TMPDIR
	export S=$T/src D=$T/dst
	mkdir -p "$S"
	# JSON escapes in the header: jansson decodes them to the raw bytes
	st_write "$S/model.safetensors" \
		'{"\u001b[2Jwiped":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"csi\u009b31m\\b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}' 8
	printf '{}' >"$S/"$'\e]0;pwned\a'.json
	printf 'x' >"$S/"$'bad\xff'.bin
	df11 compress -q "$S" "$D"
}

# no_controls [c1] - stdin holds no C0 control but newline, no DEL; with
# c1, no U+0080..U+009F either
no_controls() {
	python3 -c '
import sys
b = sys.stdin.buffer.read()
bad = [c for c in b if (c < 0x20 and c != 10) or c == 0x7f]
t = b.decode("utf-8", "replace")
if sys.argv[1:] == ["c1"]:
    bad += [c for c in t if 0x80 <= ord(c) <= 0x9f]
sys.exit("control characters: %r" % bad if bad else 0)' "$@"
}

@test "info text: no control byte of a tensor or file name reaches the terminal" {
	local d
	for d in "$S" "$D"; do
		run -0 df11 info "$d"
		no_controls c1 <<<"$output"
		[[ $output == *'  \x1b[2Jwiped  BF16  [2]'* ]]
		[[ $output == *'  csi\u009b31m\\b  BF16  [2]'* ]]
		[[ $output == *'\x1b]0;pwned\x07.json: file, 2 -> 2 bytes'* ]]
		[[ $output == *'bad?.bin: file, 1 -> 1 bytes'* ]]
	done
}

@test "info --json: valid JSON that gives the names back exactly" {
	local d
	for d in "$S" "$D"; do
		run -0 df11 info --json "$d"
		# jansson escapes C0 controls; U+009B is valid JSON as it is
		no_controls <<<"$output"
		python3 - "$output" <<'PY'
import json, sys
doc = json.loads(sys.argv[1])
names = {f["name"] for f in doc["files"]}
assert "\x1b]0;pwned\x07.json" in names, names
assert "bad?.bin" in names, names
st = [f for f in doc["files"] if f["name"] == "model.safetensors"][0]
assert {t["name"] for t in st["tensors"]} == {"\x1b[2Jwiped", "csi\x9b31m\\b"}
PY
	done
}
