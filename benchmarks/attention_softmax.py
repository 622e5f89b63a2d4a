"""Masked attention softmax: fastact.softmax(x, scale=s, bias=mask) on
(16, 1024, 1024) float32 with a causal mask, against plain
fastact.softmax(x) (the cost of the fused scale and mask; target <= 1.15x)
and torch.softmax(x * s + mask) with preallocated outputs (target: fastact
>= 1.5x faster).  Prints medians; asserts nothing.

    PYTHONPATH=src python benchmarks/attention_softmax.py [--rounds 9] [--where]

pytest-benchmark: benchmarks/test_bench_attention.py.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fastact as fa

H, L = 16, 1024


def inputs(dtype=np.float32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((H, L, L), dtype=np.float32).astype(dtype)
    mask = np.triu(np.full((L, L), -np.inf, dtype), 1)
    return x, mask, dtype(1 / np.sqrt(64))


def cases(use_where=False):
    """{name: zero-argument callable}: the same work, results preallocated"""
    x, mask, s = inputs()
    o = np.empty_like(x)
    c = {"fastact plain softmax(x)": lambda: fa.softmax(x, out=o),
         "fastact softmax(x, scale, bias=mask)": lambda: fa.softmax(x, scale=s, bias=mask, out=o)}
    if use_where:
        w = mask == 0
        c["fastact softmax(x, scale, where=mask)"] = lambda: fa.softmax(x, scale=s, where=w, out=o)
    try:
        import torch
    except ImportError:  # pragma: no cover
        return c
    torch.set_num_threads(fa.get_num_threads())
    xt, mt = torch.from_numpy(x), torch.from_numpy(mask)
    t, ot = torch.empty_like(xt), torch.empty_like(xt)

    def tor():
        torch.mul(xt, float(s), out=t)
        t.add_(mt)
        torch.softmax(t, -1, out=ot)
    c["torch softmax(x * s + mask)"] = tor
    return c


def median_ms(f, rounds):
    f()
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(ts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--where", action="store_true")
    a = ap.parse_args()
    res = {k: median_ms(f, a.rounds) for k, f in cases(a.where).items()}
    for k, v in res.items():
        print(f"{k:42s} {v:8.2f} ms")
    fused = res["fastact softmax(x, scale, bias=mask)"]
    print(f"fused / plain: {fused / res['fastact plain softmax(x)']:.2f}x (target <= 1.15)")
    if "torch softmax(x * s + mask)" in res:
        print(f"torch / fused: {res['torch softmax(x * s + mask)'] / fused:.2f}x (target >= 1.5)")
    print(f"threads: {fa.get_num_threads()}")


if __name__ == "__main__":
    main()
