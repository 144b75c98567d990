#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/hostile/mkheader.py - a safetensors file with a large header

usage: mkheader.py OUT HEADER_BYTES N_TENSORS [gaps]

N_TENSORS BF16 tensors of one element, named "t<i>." and padded with "x"
so that the JSON header has HEADER_BYTES bytes (exactly, with trailing
spaces); the data region (2 bytes a tensor) is a hole. With "gaps", two
bytes no tensor covers follow each tensor: a gap segment each, whose
streams df11_ctw_check() does not count. Legal for safetensors up to a
header of 100,000,000 bytes.
"""
import json
import struct
import sys

out, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
step = 4 if sys.argv[4:] == ["gaps"] else 2


def header(pad):
    return json.dumps(
        {
            "t%d." % i + "x" * pad: {
                "dtype": "BF16",
                "shape": [1],
                "data_offsets": [step * i, step * i + 2],
            }
            for i in range(n)
        },
        separators=(",", ":"),
    ).encode()


pad = max(0, (size - len(header(0))) // n)
h = header(pad)
if len(h) > size:
    sys.exit("mkheader.py: %d tensors need more than %d bytes" % (n, size))
h += b" " * (size - len(h))
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    f.truncate(8 + len(h) + step * n)
