"""Masked attention softmax: fastact.softmax(x, scale=s, bias=mask) on
(16, 1024, 1024) float32 with a causal mask, against plain
fastact.softmax(x) (the cost of the fused scale and mask; target <= 1.15x)
and torch.softmax(x * s + mask) with preallocated outputs (target: fastact
>= 1.5x faster).  With --where also where= (the mask as booleans) and
softmax(x with -inf at the masked entries); with --backward the gradient
from y: fastact.softmax_backward(g, y=y, where=) against torch's
_softmax_backward_data on the same y (what autograd runs, with no mask to
apply).  The cases run round-robin (side_by_side.medians_ms); prints
medians, asserts nothing.

    PYTHONPATH=src python benchmarks/attention_softmax.py [--rounds 9] [--where]
        [--backward] [--shape 16,1024,1024] [--threads 1,2]

pytest-benchmark: benchmarks/test_bench_attention.py.
"""

from __future__ import annotations

import argparse

import numpy as np

import fastact as fa
from side_by_side import medians_ms, thread_counts

SHAPE = (16, 1024, 1024)


def inputs(dtype=np.float32, shape=SHAPE):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32).astype(dtype)
    mask = np.triu(np.full(shape[-2:], -np.inf, dtype), 1)
    return x, mask, dtype(1 / np.sqrt(64))


def cases(use_where=False, backward=False, shape=SHAPE):
    """{name: zero-argument callable}: the same work, results preallocated"""
    x, mask, s = inputs(shape=shape)
    o = np.empty_like(x)
    w = mask == 0
    xm = x * s + mask
    c = {"fastact plain softmax(x)": lambda: fa.softmax(x, out=o),
         "fastact softmax(x, scale, bias=mask)": lambda: fa.softmax(x, scale=s, bias=mask, out=o)}
    if use_where:
        c["fastact softmax(x, scale, where=mask)"] = lambda: fa.softmax(x, scale=s, where=w, out=o)
        c["fastact softmax(x * s + mask)"] = lambda: fa.softmax(xm, out=o)
    y = fa.softmax(xm)
    g = np.random.default_rng(1).standard_normal(x.shape, dtype=np.float32)
    if backward:
        c["fastact softmax_backward(g, y=y, where=mask)"] = \
            lambda: fa.softmax_backward(g, y=y, scale=s, where=w, out=o)
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
    if backward:
        gt, yt = torch.from_numpy(g), torch.from_numpy(y)
        c["torch _softmax_backward_data(g, y)"] = lambda: torch._softmax_backward_data(
            gt, yt, -1, torch.float32, grad_input=ot)
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--where", action="store_true")
    ap.add_argument("--backward", action="store_true")
    ap.add_argument("--shape", default=",".join(map(str, SHAPE)))
    ap.add_argument("--threads", default=str(fa.get_num_threads()))
    a = ap.parse_args()
    shape = tuple(int(v) for v in a.shape.split(","))
    for n in thread_counts(a.threads):
        res = medians_ms(cases(a.where, a.backward, shape), a.rounds)
        print(f"{shape} float32, threads: {n}")
        for k, v in res.items():
            print(f"  {k:46s} {v:8.2f} ms")
        fused = res["fastact softmax(x, scale, bias=mask)"]
        print(f"  fused / plain: {fused / res['fastact plain softmax(x)']:.2f}x (target <= 1.15)")
        if "torch softmax(x * s + mask)" in res:
            print(f"  torch / fused: {res['torch softmax(x * s + mask)'] / fused:.2f}x "
                  f"(target >= 1.5)")
        if "torch _softmax_backward_data(g, y)" in res:
            b = res["fastact softmax_backward(g, y=y, where=mask)"]
            print(f"  backward: torch / fastact masked {res['torch _softmax_backward_data(g, y)'] / b:.2f}x")


if __name__ == "__main__":
    main()
