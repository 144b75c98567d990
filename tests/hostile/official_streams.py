#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/hostile/official_streams.py - where the stored streams of an
# official DFloat11 directory lie, for tests/hostile/official_flips.sh
#
# usage: official_streams.py DIR
#
# Prints one line per U8/I64 stream tensor of every DIR/*.safetensors:
#   KIND FILE START NBYTES
# KIND is the tensor name's last component (encoded_exponent, gaps, ...),
# FILE the file name, START the stream's first byte counted from the
# start of the file (8 + header length + data_offsets[0]). Empty streams
# are left out.
import json
import os
import struct
import sys

KINDS = ("encoded_exponent", "sign_mantissa", "luts", "output_positions",
         "gaps", "split_positions")


def main():
    d = sys.argv[1]
    for f in sorted(os.listdir(d)):
        if not f.endswith(".safetensors"):
            continue
        with open(os.path.join(d, f), "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            h = json.loads(fh.read(n))
        for name, t in h.items():
            kind = name.rsplit(".", 1)[-1]
            if name == "__metadata__" or kind not in KINDS:
                continue
            s, e = t["data_offsets"]
            if e > s:
                print(kind, f, 8 + n + s, e - s)


main()
