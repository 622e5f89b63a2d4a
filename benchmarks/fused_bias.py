"""The fused pre-activation: gelu(x, bias=b) against gelu(x) alone, against
gelu(x + b) in two passes (fastact, and torch with preallocated outputs),
float32, 1 and 2 threads; and the same for the backward.

    PYTHONPATH=src python benchmarks/fused_bias.py [--rows 4096] [--cols 4096] [--repeat 15]

Prints the median wall time of each (ms) and the ratios the fusion is meant
for: fused / gelu(x) alone (near 1: a bias costs no extra pass over memory)
and two-pass / fused.  The cases are shared with test_bench_fused.py.
Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse

import numpy as np

import fastact as fa
from side_by_side import medians_ms, set_threads


def cases(rows: int, cols: int, direction: str = "forward") -> dict:
    """{label: callable}, every output preallocated.  torch is optional."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, cols), dtype=np.float32)
    g = rng.standard_normal((rows, cols), dtype=np.float32)
    b = rng.standard_normal(cols, dtype=np.float32)
    t = np.empty_like(x)
    o = np.empty_like(x)
    if direction == "forward":
        c = {"fa.gelu(x)": lambda: fa.gelu(x, out=o),
             "fa.gelu(x, bias=b)": lambda: fa.gelu(x, bias=b, out=o),
             "fa.gelu(x + b)": lambda: fa.gelu(np.add(x, b, out=t), out=o)}
    else:
        c = {"fa.gelu_backward(g, x)": lambda: fa.gelu_backward(g, x, out=o),
             "fa.gelu_backward(g, x, bias=b)": lambda: fa.gelu_backward(g, x, bias=b, out=o),
             "fa.gelu_backward(g, x + b)": lambda: fa.gelu_backward(g, np.add(x, b, out=t),
                                                                    out=o)}
    try:
        import torch
    except ImportError:
        return c
    tx, tg, tb, tt, to = map(torch.from_numpy, (x, g, b, t, o))
    if direction == "forward":
        def tgelu():
            torch.add(tx, tb, out=tt)
            torch._C._nn.gelu(tt, out=to)
        c["torch gelu(x + b)"] = tgelu
    else:
        def tgelu_b():
            torch.add(tx, tb, out=tt)
            torch.ops.aten.gelu_backward.grad_input(tg, tt, grad_input=to)
        c["torch gelu_backward(g, x + b)"] = tgelu_b
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    prev = fa.get_num_threads()
    print(f"float32 ({args.rows}, {args.cols}), bias ({args.cols},); median of {args.repeat} "
          "(wall ms)")
    try:
        for n in map(int, args.threads.split(",")):
            set_threads(n)
            for direction in ("forward", "backward"):
                res = medians_ms(cases(args.rows, args.cols, direction), args.repeat)
                labels = list(res)
                fused = res[labels[1]]
                print(f"-- {n} thread(s), {direction}")
                for k, v in res.items():
                    print(f"  {k:36s} {v:9.2f} ms   {v / fused:5.2f}x the fused call")
    finally:
        set_threads(prev)


if __name__ == "__main__":
    main()
