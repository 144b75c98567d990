#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/gpu/logits.py - transformers through a df11fs mount, on the GPU
#
#   logits.py save DIR [tiny|big]   a random LlamaForCausalLM (fixed seed,
#                                   built from a config: no network), saved
#                                   in bfloat16 by save_pretrained
#   logits.py compare ORIG MNT      load both to cuda, run the same
#                                   input_ids, torch.equal on the logits:
#                                   prints PASS or FAIL (exit 0 or 1)
#   logits.py load ORIG MNT         time from_pretrained(device_map="cuda")
#                                   of ORIG, then of MNT; prints seconds
#                                   and the ratio
# Used by tests/gpu/run.sh; needs torch and transformers.
import sys
import time

import torch
from transformers import (AutoConfig, AutoModelForCausalLM, LlamaConfig,
                          LlamaForCausalLM)

CONFIGS = {
    # about 21 M weights, 42 MB: three 20 MB shards
    "tiny": dict(hidden_size=512, intermediate_size=1376, num_hidden_layers=4,
                 num_attention_heads=8, num_key_value_heads=4,
                 vocab_size=8000, max_position_embeddings=512),
    # about 1.08 G weights, 2.2 GB
    "big": dict(hidden_size=2048, intermediate_size=5632,
                num_hidden_layers=20, num_attention_heads=16,
                num_key_value_heads=8, vocab_size=32000,
                max_position_embeddings=2048),
}


def save(path, kind):
    torch.manual_seed(1234)
    cfg = LlamaConfig(**CONFIGS[kind], tie_word_embeddings=False)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(dev):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    shard = "20MB" if kind == "tiny" else "1GB"
    model.save_pretrained(path, max_shard_size=shard)
    n = sum(p.numel() for p in model.parameters())
    print(f"saved {kind} llama: {n / 1e6:.1f} M weights to {path}")


def load(path):
    try:
        m = AutoModelForCausalLM.from_pretrained(
            path, dtype=torch.bfloat16, device_map="cuda")
    except (ImportError, ValueError):  # no accelerate: load, then move
        m = AutoModelForCausalLM.from_pretrained(
            path, dtype=torch.bfloat16).cuda()
    return m.eval()


def compare(orig, mnt):
    # ids inside the model's vocabulary: the official fixtures have 4096
    vocab = AutoConfig.from_pretrained(orig).vocab_size
    ids = torch.randint(0, min(8000, vocab), (2, 64),
                        generator=torch.Generator().manual_seed(7)).cuda()
    out = []
    for p in (orig, mnt):
        m = load(p)
        with torch.no_grad():
            out.append(m(input_ids=ids).logits.float().cpu())
        del m
        torch.cuda.empty_cache()
    same = torch.equal(out[0], out[1])
    print(f"logits {tuple(out[0].shape)}: "
          f"{'PASS (bit for bit)' if same else 'FAIL'}"
          f" max |diff| {(out[0] - out[1]).abs().max().item():g}")
    return 0 if same else 1


def load_time(orig, mnt):
    torch.zeros(1, device="cuda")  # CUDA context outside the timing
    t = {}
    for name, p in (("original", orig), ("df11fs", mnt)):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        m = load(p)
        torch.cuda.synchronize()
        t[name] = time.perf_counter() - t0
        n = sum(x.numel() for x in m.parameters()) * 2
        del m
        torch.cuda.empty_cache()
        print(f"load {name:8s} {t[name]:7.2f} s  {n / t[name] / 1e9:6.2f} GB/s")
    print(f"load ratio df11fs/original: {t['df11fs'] / t['original']:.2f}")
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "save":
        save(argv[1], argv[2] if len(argv) > 2 else "tiny")
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "load":
        return load_time(argv[1], argv[2])
    print(__doc__ or "usage: logits.py save|compare|load ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
