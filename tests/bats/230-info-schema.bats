#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/230-info-schema.bats - df11 info --json has one schema for
# native trees and official DFloat11 directories (man/df11.1, INFO
# SCHEMA): the same keys at every level, and figures that add up to the
# files on disk and to what df11 decompress writes

load helpers

DATA=$BATS_TEST_DIRNAME/../data/official

setup_file() {
	require_bins
	export M=$BATS_FILE_TMPDIR/m D=$BATS_FILE_TMPDIR/d
	genmodel -n 2 --edge "$M"
	df11 compress -q "$M" "$D"
}

# info_check JSON DIR OUT - check document JSON of directory DIR against
# OUT, DIR decompressed: the schema, sizes, stored bytes and ratios
info_check() {
	python3 - "$@" <<'PY'
import json, math, os, struct, sys

doc_path, src, out = sys.argv[1:4]
d = json.load(open(doc_path))

def close(a, b):
    return a is not None and math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-9)

def ratio_ok(r, stored, size):
    return r is None if size == 0 else close(r, stored / size)

assert d["format"] == "df11fs-info" and d["version"] == 1, d["format"]
assert d["kind"] in ("native", "official"), d["kind"]
assert isinstance(d["units"], list)
outs = {}
for root, _, names in os.walk(out):
    for n in names:
        p = os.path.join(root, n)
        outs[os.path.relpath(p, out)] = p
names = [f["name"] for f in d["files"]]
assert sorted(names) == sorted(outs), (names, sorted(outs))
for f in d["files"]:
    o = outs[f["name"]]
    assert f["kind"] in ("container", "official", "file"), f
    assert f["container"] == (f["kind"] != "file"), f
    assert f["size"] == os.path.getsize(o), (f["name"], f["size"])
    assert ratio_ok(f["ratio"], f["stored"], f["size"]), f["name"]
    disk = os.path.join(src, f["name"])
    if f["kind"] == "container" or (f["kind"] == "file" and
                                    os.path.exists(disk) and
                                    d["kind"] == "native"):
        assert f["stored"] == os.path.getsize(disk), f["name"]
    if f["kind"] == "file":
        assert f["stored"] == f["size"], f["name"]
    if f["kind"] == "official":
        assert sum(t["stored"] for t in f["tensors"]) == f["stored"], f
        on_disk = sum(os.path.getsize(os.path.join(src, n))
                      for n in os.listdir(src) if n.endswith(".safetensors"))
        assert 0 < f["stored"] < on_disk, (f["stored"], on_disk)
    if f["name"].endswith(".safetensors"):
        hdr = 8 + struct.unpack("<Q", open(o, "rb").read(8))[0]
        assert hdr + sum(t["bytes"] for t in f["tensors"]) == f["size"], f
        assert f["tensors"], f["name"]
    for t in f["tensors"]:
        assert ratio_ok(t["ratio"], t["stored"], t["bytes"]), t
        n = math.prod(t["shape"])
        if t["bytes"]:
            assert close(t["bits_per_weight"], t["stored"] * 8 / n), t
tot = d["total"]
assert tot["files"] == len(d["files"])
assert tot["size"] == sum(os.path.getsize(p) for p in outs.values())
assert tot["stored"] == sum(f["stored"] for f in d["files"])
assert ratio_ok(tot["ratio"], tot["stored"], tot["size"])
if d["kind"] == "native":
    assert tot["stored"] == sum(os.path.getsize(os.path.join(r, n))
                                for r, _, ns in os.walk(src) for n in ns)
    assert d["units"] == [] and d["dfloat11_version"] is None
else:
    assert d["units"] and isinstance(d["dfloat11_version"], str)
    for u in d["units"]:
        assert 0 < u["stored"] and u["weights"] > 0 and u["pieces"], u
PY
}

# keys_of JSON - the set of keys at every level of document JSON, one line
# per level: top, files[], tensors[], units[] (when any), total
keys_of() {
	python3 - "$1" <<'PY'
import json, sys

d = json.load(open(sys.argv[1]))
def keys(objs):
    ks = {tuple(sorted(o)) for o in objs}
    assert len(ks) <= 1, ("records with different keys", ks)
    return ",".join(ks.pop()) if ks else "-"
print("top", keys([d]))
print("files[]", keys(d["files"]))
print("tensors[]", keys([t for f in d["files"] for t in f["tensors"]]))
print("total", keys([d["total"]]))
PY
}

@test "native and official info --json share one schema" {
	local f n=$BATS_TEST_TMPDIR/native.json o=$BATS_TEST_TMPDIR/off.json
	df11 info --json "$D" >"$n"
	for f in llama-tiny qwen3-tiny; do
		df11 info --json "$DATA/$f/df11" >"$o"
		run -0 diff <(keys_of "$n") <(keys_of "$o")
		echo "$output"
		[[ $(keys_of "$o") == *"tensors[] bits_per_weight,bytes,codec,dtype,name,ratio,shape,stored"* ]]
	done
	python3 -c 'import json,sys; u=json.load(open(sys.argv[1]))["units"][0]; assert set(u) == {"path","file","weights","luts","blocks","stored","bits_per_weight","pieces"}, u' "$o"
}

@test "native info --json: figures add up to the files and the output" {
	df11 info --json "$D" >"$BATS_TEST_TMPDIR/i.json"
	df11 decompress -q "$D" "$BATS_TEST_TMPDIR/o"
	info_check "$BATS_TEST_TMPDIR/i.json" "$D" "$BATS_TEST_TMPDIR/o"
}

@test "official info --json: figures add up to the decompressed output" {
	local f
	for f in llama-tiny qwen3-tiny; do
		df11 info --json "$DATA/$f/df11" >"$BATS_TEST_TMPDIR/$f.json"
		df11 decompress -q "$DATA/$f/df11" "$BATS_TEST_TMPDIR/$f"
		info_check "$BATS_TEST_TMPDIR/$f.json" "$DATA/$f/df11" \
			"$BATS_TEST_TMPDIR/$f"
	done
	# with the original headers: the original layout, index json included
	df11 headers "$DATA/llama-tiny/orig" >"$BATS_TEST_TMPDIR/h.json"
	set -- --headers "$BATS_TEST_TMPDIR/h.json" "$DATA/llama-tiny/df11"
	df11 info --json "$@" >"$BATS_TEST_TMPDIR/h-info.json"
	df11 decompress -q "$@" "$BATS_TEST_TMPDIR/h"
	info_check "$BATS_TEST_TMPDIR/h-info.json" "$DATA/llama-tiny/df11" \
		"$BATS_TEST_TMPDIR/h"
}

@test "info text comes from the same document for both kinds" {
	run -0 df11 info "$D"
	[[ $output == *"model-00001-of-00002.safetensors: container, "* ]]
	[[ ${lines[-1]} == "total: "*" files, "*" bytes, ratio 0."* ]]
	run -0 df11 info "$DATA/llama-tiny/df11"
	[[ $output == *"model.safetensors: official, "*" bytes, ratio 0.6"* ]]
	[[ $output == *"generation_config.json: file, "* ]]
	[[ ${lines[-1]} == "total: "*" files, "*" bytes, ratio 0."* ]]
}
