# SPDX-License-Identifier: MIT
# tests/bats/helpers.bash - shared setup of the df11 bats tests
#
# $BUILD is the build directory holding df11 and df11-genmodel; `make bats`
# sets it (BUILD=$(abspath $(BUILD)) bats tests/bats), and it defaults to
# build/ of this checkout. Every command runs under a deadline so that a
# hang fails the test instead of blocking the suite.

bats_require_minimum_version 1.5.0

: "${BUILD:=$BATS_TEST_DIRNAME/../../build}"
DF11=$BUILD/df11
GEN=$BUILD/df11-genmodel
DEADLINE=${DF11_TEST_DEADLINE:-120}

# require_bins - fail early, and say why, when the binaries are missing
require_bins() {
	local b
	for b in "$DF11" "$GEN"; do
		if [ ! -x "$b" ]; then
			echo "missing $b: run make first (BUILD=$BUILD)" >&2
			return 1
		fi
	done
}

# df11 ARGS... - the tool under the deadline
df11() {
	timeout -k 5 "$DEADLINE" "$DF11" "$@"
}

# genmodel ARGS... OUTDIR - a synthetic model, quietly
genmodel() {
	timeout -k 5 "$DEADLINE" "$GEN" "$@" >/dev/null
}

# tree_sums DIR - "sha256  ./path" of every file below DIR, sorted by path
tree_sums() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# wait_until SECONDS CMD... - poll CMD every 10 ms until it succeeds;
# return 1 when the deadline passes first
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.01
	done
}

# no_tmp DIR - no temporary directory DIR.df11-tmp.* is left
no_tmp() {
	local t
	for t in "$1".df11-tmp.*; do
		[ ! -e "$t" ] || { echo "'$t' exists" >&2; return 1; }
	done
}

# no_output DIR - neither DIR nor a temporary DIR.df11-tmp.* exists
no_output() {
	[ ! -e "$1" ] || { echo "'$1' exists" >&2; return 1; }
	no_tmp "$1"
}

# st_write FILE HEADER_JSON DATA_BYTES [HEADER_LEN] - a safetensors file:
# 8-byte length (HEADER_LEN, default the JSON's length), the JSON as
# given, then DATA_BYTES zero bytes
st_write() {
	python3 - "$@" <<'EOF'
import struct, sys
path, hdr, n = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
hlen = int(sys.argv[4]) if len(sys.argv) > 4 else len(hdr)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", hlen) + hdr + bytes(n))
EOF
}

# ct_flip FILE SUFFIX - flip one bit in the middle of the first stream of
# container FILE whose name ends in SUFFIX; print the stream's tensor name
ct_flip() {
	python3 - "$@" <<'EOF'
import json, struct, sys
path, suffix = sys.argv[1], sys.argv[2]
b = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
for name, t in json.loads(b[8:8 + n]).items():
    if name.endswith(suffix):
        s, e = t["data_offsets"]
        b[8 + n + (s + e) // 2] ^= 0x10
        print(name[: -len(suffix)])
        break
else:
    sys.exit("no stream ending in " + suffix)
open(path, "wb").write(b)
EOF
}

# ct_set_version FILE VERSION - rewrite the index version of container FILE
ct_set_version() {
	python3 - "$@" <<'EOF'
import json, struct, sys
path, version = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
idx = json.loads(h["__metadata__"]["df11"])
idx["version"] = version
h["__metadata__"]["df11"] = json.dumps(idx)
j = json.dumps(h).encode()
j += b" " * (-len(j) % 8)
open(path, "wb").write(struct.pack("<Q", len(j)) + j + b[8 + n:])
EOF
}
