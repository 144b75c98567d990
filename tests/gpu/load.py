#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/gpu/load.py - an 8B-class model for load-time benchmarks, and one
# timed load
#
#   load.py gen DIR [--layers N] [--shards S] [--seed K]
#       write a Qwen3-shaped model to DIR as save_pretrained would lay it
#       out: config.json, S safetensors shards of about equal size,
#       model.safetensors.index.json. The shape is Qwen3-8B's (hidden
#       4096, intermediate 12288, vocab 151936, 32 heads, 8 KV heads,
#       head_dim 128, untied lm_head, bf16) with N decoder layers (default
#       36: 8.19 G weights, 16.4 GB). The tensor names and shapes come from
#       the model class built on the meta device, so they are the ones this
#       transformers loads; the weights are random normal (std 0.02, norms
#       1.0) drawn on the GPU when there is one: much faster than the
#       model's own initialisation, and as compressible as it.
#   load.py time DIR [--device cuda|cpu]
#       time AutoModelForCausalLM.from_pretrained(DIR, dtype=bfloat16,
#       device_map=DEVICE) up to torch.cuda.synchronize(); the imports and
#       the CUDA context are made before the clock starts. Prints one JSON
#       line: {"seconds": ..., "bytes": ..., "gbps": ..., "minflt": ...,
#       "majflt": ..., "utime": ..., "stime": ...}, the last four the
#       loader's page faults and CPU seconds over the same span.
# Used by tests/gpu/run.sh (step load8b); needs torch, transformers and
# safetensors, and no network.
import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

SHAPE = dict(hidden_size=4096, intermediate_size=12288, vocab_size=151936,
             num_attention_heads=32, num_key_value_heads=8, head_dim=128,
             max_position_embeddings=40960, rms_norm_eps=1e-6,
             tie_word_embeddings=False)


def gen(path, layers, shards, seed):
    import transformers
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, Qwen3Config

    dt = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 \
        else "torch_dtype"
    cfg = Qwen3Config(num_hidden_layers=layers, **SHAPE,
                      **{dt: "bfloat16"})
    cfg.architectures = ["Qwen3ForCausalLM"]
    with torch.device("meta"):
        meta = AutoModelForCausalLM.from_config(cfg)
    names = [(n, tuple(t.shape)) for n, t in meta.state_dict().items()]
    del meta
    total = sum(2 * _numel(s) for _, s in names)

    # consecutive tensors in state_dict order; a shard ends before the
    # tensor whose middle lies past its share of the bytes
    groups, cur, done = [], [], 0
    for n, s in names:
        b = 2 * _numel(s)
        if cur and len(groups) < shards - 1 and \
                done + b / 2 > total * (len(groups) + 1) / shards:
            groups.append(cur)
            cur = []
        cur.append((n, s))
        done += b
    groups.append(cur)

    os.makedirs(path, exist_ok=True)
    cfg.save_pretrained(path)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch.Generator(device=dev).manual_seed(seed)
    weight_map = {}
    t0 = time.perf_counter()
    for i, group in enumerate(groups):
        fname = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        tensors = {}
        for n, s in group:
            if len(s) == 1:  # RMSNorm weights
                t = torch.ones(s, dtype=torch.bfloat16, device=dev)
            else:
                t = torch.empty(s, dtype=torch.bfloat16, device=dev)
                t.normal_(0.0, 0.02, generator=g)
            tensors[n] = t.cpu()
            weight_map[n] = fname
        save_file(tensors, os.path.join(path, fname),
                  metadata={"format": "pt"})
        del tensors
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(path, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"gen: {len(names)} tensors, {total / 2e9:.2f} G weights, "
          f"{total} bytes in {len(groups)} shards, {layers} layers, "
          f"{time.perf_counter() - t0:.1f} s, on {dev}")
    return 0


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def time_load(path, device):
    from transformers import AutoModelForCausalLM

    cuda = device == "cuda"
    if cuda:
        torch.zeros(1, device="cuda")  # the context outside the clock
        torch.cuda.synchronize()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    m = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16,
                                             device_map=device)
    if cuda:
        torch.cuda.synchronize()
    t = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    n = sum(p.numel() * p.element_size() for p in m.parameters())
    # the loader's own costs: page faults (minor: mapped from the page
    # cache; major: read from the file) and CPU seconds, user and system
    print(json.dumps({"seconds": round(t, 3), "bytes": n,
                      "gbps": round(n / t / 1e9, 2),
                      "minflt": r1.ru_minflt - r0.ru_minflt,
                      "majflt": r1.ru_majflt - r0.ru_majflt,
                      "utime": round(r1.ru_utime - r0.ru_utime, 3),
                      "stime": round(r1.ru_stime - r0.ru_stime, 3)}))
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="load.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("dir")
    g.add_argument("--layers", type=int, default=36)
    g.add_argument("--shards", type=int, default=4)
    g.add_argument("--seed", type=int, default=1234)
    t = sub.add_parser("time")
    t.add_argument("dir")
    t.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    a = ap.parse_args(argv)
    if a.cmd == "gen":
        if a.layers < 1 or a.shards < 1:
            ap.error("--layers and --shards must be at least 1")
        return gen(a.dir, a.layers, a.shards, a.seed)
    return time_load(a.dir, a.device)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
