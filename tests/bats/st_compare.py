#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/bats/st_compare.py - compare two model directories tensor by tensor
#
# usage: st_compare.py GOT_DIR WANT_DIR
#
# Reads every top-level *.safetensors file of both directories with the
# json module only (no safetensors package): 8-byte little-endian header
# length, JSON header, data region. Every tensor name must be in both,
# with the same dtype, shape and bytes. GOT_DIR's index json, when there
# is one, must name exactly GOT_DIR's tensors, each in the file that holds
# it, and its metadata.total_size must be the sum of their sizes.
# Exit status 0 when everything matches, 1 with a reason otherwise.
import glob
import json
import os
import struct
import sys


def tensors(d):
    out = {}
    for path in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            hdr = json.loads(f.read(n))
            data = f.read()
        for name, t in hdr.items():
            if name == "__metadata__":
                continue
            if name in out:
                sys.exit("%s: tensor %s twice" % (d, name))
            s, e = t["data_offsets"]
            out[name] = (t["dtype"], t["shape"], data[s:e],
                         os.path.basename(path))
    return out


def check_index(d, got):
    idx = glob.glob(os.path.join(d, "*.safetensors.index.json"))
    if not idx:
        return
    with open(idx[0]) as f:
        j = json.load(f)
    wm = j["weight_map"]
    if set(wm) != set(got):
        sys.exit("index: weight_map names differ from the tensors")
    for name, fname in wm.items():
        if got[name][3] != fname:
            sys.exit("index: %s is in %s, not %s" % (name, got[name][3],
                                                     fname))
    total = sum(len(t[2]) for t in got.values())
    if j["metadata"]["total_size"] != total:
        sys.exit("index: total_size %d, tensors %d" %
                 (j["metadata"]["total_size"], total))


def main():
    got, want = tensors(sys.argv[1]), tensors(sys.argv[2])
    if set(got) != set(want):
        sys.exit("names differ: only in got %s, only in want %s" %
                 (sorted(set(got) - set(want))[:5],
                  sorted(set(want) - set(got))[:5]))
    for name in sorted(want):
        if got[name][:3] != want[name][:3]:
            sys.exit("tensor %s differs" % name)
    check_index(sys.argv[1], got)
    print("%d tensors equal" % len(want))


main()
