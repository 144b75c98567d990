#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/bats/st_save.py - write safetensors files as Hugging Face does,
# without the safetensors and huggingface_hub packages
#
# usage: st_save.py resave SRC DST [--meta] [--f32 NAME]...
#          SRC's tensors (NAME converted from BF16 to F32, exactly) into
#          DST as safetensors' save_file writes them: --meta adds
#          {"__metadata__": {"format": "pt"}}
#        st_save.py shards FILE CAP DIR BASE
#          FILE's tensors cut into shards of at most CAP bytes as
#          huggingface_hub's split_state_dict_into_shards_factory does,
#          taking them in name order, written into DIR as save_pretrained
#          names them (BASE-0000i-of-0000N.safetensors, each as save_file
#          writes it, and BASE.safetensors.index.json)
#
# save_file (safetensors' Rust prepare()) sorts the tensors by dtype,
# descending in the order of its Dtype enum, then by name; the header is
# compact JSON (serde_json), "__metadata__" first, padded with spaces to
# a multiple of 8. The tests check this writer against the fixture's
# files, which safetensors itself wrote, before trusting it.
import json
import struct
import sys

# safetensors' Dtype enum order (save_file sorts by it, descending)
RANK = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
        "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]


def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr, data = json.loads(b[8:8 + n]), b[8 + n:]
    out = {}
    for name, t in hdr.items():
        if name != "__metadata__":
            s, e = t["data_offsets"]
            out[name] = (t["dtype"], t["shape"], data[s:e])
    return out


def save(tensors, path, meta):
    names = sorted(tensors, key=lambda k: (-RANK.index(tensors[k][0]), k))
    hdr, off = {}, 0
    if meta:
        hdr["__metadata__"] = {"format": "pt"}
    for k in names:
        dt, shape, data = tensors[k]
        hdr[k] = {"dtype": dt, "shape": shape,
                  "data_offsets": [off, off + len(data)]}
        off += len(data)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for k in names:
            f.write(tensors[k][2])


def bf16_to_f32(data):
    return b"".join(b"\0\0" + data[i:i + 2] for i in range(0, len(data), 2))


def resave(args):
    src, dst, meta, f32 = args[0], args[1], False, []
    rest = args[2:]
    while rest:
        if rest[0] == "--meta":
            meta, rest = True, rest[1:]
        else:
            f32.append(rest[1])
            rest = rest[2:]
    t = read(src)
    for k in f32:
        dt, shape, data = t[k]
        assert dt == "BF16", (k, dt)
        t[k] = ("F32", shape, bf16_to_f32(data))
    # the order the tensors come in must not matter
    save(dict(reversed(list(t.items()))), dst, meta)


def shards(args):
    t, cap, out, base = read(args[0]), int(args[1]), args[2], args[3]
    shard_list, cur, cur_size = [], [], 0
    for k in sorted(t):
        size = len(t[k][2])
        if size > cap:  # its own shard, the current one stays open
            shard_list.append([k])
            continue
        if cur_size + size > cap:
            shard_list.append(cur)
            cur, cur_size = [], 0
        cur.append(k)
        cur_size += size
    if cur:
        shard_list.append(cur)
    n, wmap = len(shard_list), {}
    for i, s in enumerate(shard_list):
        name = "%s-%05d-of-%05d.safetensors" % (base, i + 1, n)
        save({k: t[k] for k in s}, "%s/%s" % (out, name), True)
        wmap.update({k: name for k in s})
    idx = {"metadata": {"total_size": sum(len(v[2]) for v in t.values())},
           "weight_map": wmap}
    with open("%s/%s.safetensors.index.json" % (out, base), "w") as f:
        f.write(json.dumps(idx, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    {"resave": resave, "shards": shards}[sys.argv[1]](sys.argv[2:])
