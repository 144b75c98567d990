#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tests/bats/150-hub.bats - Hugging Face hub caches: compress keeps the
# snapshots' links and compresses every blob once, decompress gives the
# same tree back, info lists each blob once under its snapshot name, an
# index json may name shards that are snapshot links, df11fs recognises
# blob containers by their content and serves every snapshot file byte
# for byte

load helpers
load mount_helpers

setup_file() {
	require_bins
	export H=$BATS_FILE_TMPDIR/hub D=$BATS_FILE_TMPDIR/d
	export MNT=$BATS_FILE_TMPDIR/mnt
	local m=$BATS_FILE_TMPDIR/m
	mkdir -p "$m"
	genmodel -s 1 -S 6M -n 2 --edge "$m/one"
	genmodel -s 2 -S 3M "$m/two"
	"$BATS_TEST_DIRNAME/../mkhub.sh" "$H" org--name "$m/one" >/dev/null
	# a second revision: a new config.json, the same weight blobs
	echo '{"model_type": "llama", "rev": 2}' >"$m/one/config.json"
	"$BATS_TEST_DIRNAME/../mkhub.sh" "$H" org--name "$m/one" >/dev/null
	"$BATS_TEST_DIRNAME/../mkhub.sh" "$H" org--other "$m/two" >/dev/null
	mkdir -p "$H/.locks/models--org--name"
	echo 1 >"$H/version.txt"
	df11 compress -q "$H" "$D"
}

teardown() {
	unmount_all
}

# listing DIR - "type path [link target] [sha256]" of everything below DIR
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%y %p %l\n' | sort |
		while read -r y p l; do
			if [ "$y" = f ]; then
				echo "f $p $(sha256sum <"$p" | cut -c1-64)"
			else
				echo "$y $p $l"
			fi
		done)
}

# snapshot_files DIR - the path below DIR of every file of every snapshot
snapshot_files() {
	(cd "$1" && find . -path './models--*/snapshots/*' ! -type d | sort)
}

@test "compress keeps every snapshot link as a link with the same target" {
	local p n=0

	while read -r p; do
		[ -L "$H/$p" ]
		[ -L "$D/$p" ] || { echo "'$D/$p' is not a link" >&2; return 1; }
		[ "$(readlink "$D/$p")" = "$(readlink "$H/$p")" ]
		n=$((n + 1))
	done < <(snapshot_files "$H")
	[ "$n" -ge 20 ]
	run -0 find "$D" -path '*/snapshots/*' -type f
	[ -z "$output" ]
	cmp "$H/models--org--name/refs/main" "$D/models--org--name/refs/main"
	cmp "$H/version.txt" "$D/version.txt"
	[ -d "$D/.locks/models--org--name" ]
}

@test "every blob once: safetensors blobs are containers, the rest copies" {
	local b name s n_ct=0

	for b in "$H"/models--*/blobs/*; do
		name=${b#"$H"/}
		[ -f "$D/$name" ] && [ ! -L "$D/$name" ]
		if cmp -s "$b" "$D/$name"; then
			continue
		fi
		# a container: the df11 metadata in its outer header
		head -c 200 "$D/$name" | grep -q '"__metadata__":{"df11"'
		n_ct=$((n_ct + 1))
	done
	[ "$n_ct" -eq 3 ] # two shards of one, one file of two
	[ "$(ls "$H"/models--*/blobs | wc -l)" = "$(ls "$D"/models--*/blobs | wc -l)" ]
	# blobs shared by both revisions are stored once
	[ "$(ls "$H/models--org--name/snapshots" | wc -l)" -eq 2 ]
	s=$(du -sb "$H" | cut -f1)
	n=$(du -sb "$D" | cut -f1)
	echo "hub $s bytes -> $n bytes" >&3
	[ $((n * 10)) -lt $((s * 8)) ]
}

@test "decompress gives the same tree: links, blobs, refs, sha256 of all" {
	local o=$BATS_TEST_TMPDIR/o

	run -0 df11 decompress -q "$D" "$o"
	[ -z "$output" ]
	diff <(listing "$H") <(listing "$o")
	[ "$(cd "$H" && snapshot_files . | xargs sha256sum)" = \
		"$(cd "$o" && snapshot_files . | xargs sha256sum)" ]
	run -0 df11 verify -q "$D" "$H"
}

@test "one models--* folder compresses the same way" {
	local r=$BATS_TEST_TMPDIR/r o=$BATS_TEST_TMPDIR/o

	run -0 df11 compress -q "$H/models--org--name" "$r"
	diff <(listing "$D/models--org--name") <(listing "$r")
	run -0 df11 decompress -q "$r" "$o"
	diff <(listing "$H/models--org--name") <(listing "$o")
}

@test "compress reads each blob's header: no BF16 warning; a compressed cache refused" {
	local o=$BATS_TEST_TMPDIR/o

	run -0 --separate-stderr df11 compress -q "$H/models--org--name" "$o"
	[ -z "$stderr" ] || { echo "$stderr" >&2; return 1; }
	run -2 df11 compress -q "$D/models--org--name" "$BATS_TEST_TMPDIR/x"
	[[ "$output" == *"/blobs/"*"is a df11 container already"* ]]
	no_output "$BATS_TEST_TMPDIR/x"
}

@test "info lists every stored file once, a blob under its first snapshot name" {
	local j=$BATS_TEST_TMPDIR/info.json

	df11 info --json "$D" >"$j"
	python3 - "$j" "$D" <<'PY'
import json, os, sys
d, root = json.load(open(sys.argv[1])), sys.argv[2]
files = {}
for r, dirs, names in os.walk(root):
    for n in names:
        p = os.path.join(r, n)
        if not os.path.islink(p):
            files[os.path.relpath(p, root)] = os.path.getsize(p)
names = [f["name"] for f in d["files"]]
assert len(names) == len(set(names)) == len(files), (len(names), len(files))
assert names == sorted(names, key=lambda n: n.replace("/", "\0")), names
assert not [n for n in names if "/blobs/" in n], names
assert d["total"]["stored"] == sum(files.values()), d["total"]
cts = [f for f in d["files"] if f["kind"] == "container"]
assert len(cts) == 3, [f["name"] for f in cts]
for f in cts:
    assert "/snapshots/" in f["name"] and f["name"].endswith(".safetensors")
    assert f["tensors"] and f["size"] > f["stored"], f["name"]
# both revisions share the weight blobs: the other one is in "links"
shared = [f for f in cts if f["name"].startswith("models--org--name/")]
assert len(shared) == 2 and all(len(f["links"]) == 1 for f in shared), shared
for f in shared:
    assert os.path.realpath(os.path.join(root, f["name"])) == \
        os.path.realpath(os.path.join(root, f["links"][0]))
PY
	run -0 df11 info "$D"
	[ "$(grep -c ': container, ' <<<"$output")" -eq 3 ]
	[ "$(grep -c '^  also as models--org--name/snapshots/' <<<"$output")" -ge 2 ]
}

@test "an index json whose shards are snapshot links is accepted" {
	local r=$BATS_TEST_TMPDIR/r o=$BATS_TEST_TMPDIR/o s=$BATS_TEST_TMPDIR/s
	local rev idx

	cp -a "$H/models--org--name" "$r"
	rev=$(cat "$r/refs/main")
	idx=$r/snapshots/$rev/model.safetensors.index.json
	cp --remove-destination "$(realpath "$idx")" "$idx"
	[ -f "$idx" ] && [ ! -L "$idx" ]
	[ -L "$r/snapshots/$rev/model-00001-of-00002.safetensors" ]
	run -0 df11 compress -q "$r" "$s"
	run -0 df11 decompress -q "$s" "$o"
	diff <(listing "$r") <(listing "$o")
	# a shard link to a directory is still refused
	ln -sfn ../../refs "$r/snapshots/$rev/model-00002-of-00002.safetensors"
	run -4 df11 compress -q "$r" "$BATS_TEST_TMPDIR/x"
	[[ "$output" == *"shard 'model-00002-of-00002.safetensors' not found"* ]]
}

@test "df11fs: every snapshot file reads back as the original" {
	require_fuse
	local p n=0

	mount_df11fs "$D" "$MNT"
	while read -r p; do
		[ -L "$MNT/$p" ]
		[ "$(readlink "$MNT/$p")" = "$(readlink "$H/$p")" ]
		[ "$(sha256sum <"$MNT/$p")" = "$(sha256sum <"$H/$p")" ] ||
			{ echo "'$p' differs through the mount" >&2; return 1; }
		n=$((n + 1))
	done < <(snapshot_files "$H")
	[ "$n" -ge 20 ]
	# blobs have no extension: recognised by content, shown decoded
	for p in "$H"/models--*/blobs/*; do
		[ "$(stat -c %s "$MNT/${p#"$H"/}")" = "$(stat -c %s "$p")" ]
	done
}

@test "df11fs: a plain blob that looks like safetensors stays plain" {
	require_fuse
	local s=$BATS_TEST_TMPDIR/s f

	mkdir -p "$s"
	# an uncompressed safetensors file, and others' metadata
	f=$BATS_FILE_TMPDIR/m/two/model.safetensors
	cp "$f" "$s/plainblob"
	printf '\x18\0\0\0\0\0\0\0{"__metadata__":{"x":""}}' >"$s/junk"
	mount_df11fs "$s" "$MNT"
	cmp "$f" "$MNT/plainblob"
	cmp "$s/junk" "$MNT/junk"
	run -1 getfattr -n user.df11.error "$MNT/plainblob"
}

@test "df11fs: an absolute link into SOURCE resolves inside the mount" {
	require_fuse
	local s=$BATS_TEST_TMPDIR/s r=models--org--name p blob

	cp -a "$D" "$s"
	p=$(cd "$H/$r/snapshots" && ls | head -1)
	blob=$(readlink "$H/$r/snapshots/$p/model-00001-of-00002.safetensors")
	blob=${blob##*/}
	mkdir "$s/$r/snapshots/abs"
	ln -s "$(realpath "$s")/$r/blobs/$blob" \
		"$s/$r/snapshots/abs/model.safetensors"
	ln -s "$(realpath "$s")" "$s/$r/snapshots/abs/top"
	mount_df11fs "$s" "$MNT"
	[ "$(readlink "$MNT/$r/snapshots/abs/model.safetensors")" = \
		"../../../$r/blobs/$blob" ]
	[ "$(readlink "$MNT/$r/snapshots/abs/top")" = "../../.." ]
	cmp "$MNT/$r/snapshots/abs/model.safetensors" \
		"$H/$r/snapshots/$p/model-00001-of-00002.safetensors"
}

@test "python: safetensors loads through HF_HUB_CACHE on the mount" {
	require_fuse
	python3 -c 'import safetensors, torch' 2>/dev/null ||
		skip "no python3 safetensors and torch"
	mount_df11fs "$D" "$MNT"
	HF_HUB_CACHE=$MNT HF_HUB_OFFLINE=1 python3 - "$H" <<'EOF'
import glob, os, sys
from safetensors.torch import load_file
try:
    from huggingface_hub import snapshot_download
    snap = snapshot_download("org/name", local_files_only=True)
except ImportError:
    repo = os.path.join(os.environ["HF_HUB_CACHE"], "models--org--name")
    snap = os.path.join(repo, "snapshots", open(repo + "/refs/main").read())
assert snap.startswith(os.environ["HF_HUB_CACHE"]), snap
orig = os.path.join(sys.argv[1], os.path.relpath(snap, os.environ["HF_HUB_CACHE"]))
files = sorted(glob.glob(snap + "/*.safetensors"))
assert len(files) == 2, files
for f in files:
    got, want = load_file(f), load_file(os.path.join(orig, os.path.basename(f)))
    assert got.keys() == want.keys()
    for k in want:
        assert got[k].dtype == want[k].dtype and got[k].equal(want[k]), k
EOF
}
