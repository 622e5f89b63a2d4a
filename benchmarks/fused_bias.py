"""The fused pre-activation: gelu(x, bias=b) against gelu(x) alone, against
gelu(x + b) in two passes (fastact, and torch with preallocated outputs),
float32, 1 and 2 threads; and the same for the backward.  The GLU family:
swiglu(x, bias=b) on x of (rows, 2 * F), b of (2 * F,), against swiglu(x),
swiglu(x + b) and torch's silu(a + ba) * (b + bb).

    PYTHONPATH=src python benchmarks/fused_bias.py [--rows 4096] [--cols 4096] [--repeat 15]
        [--glu-rows 8192] [--glu-half 4096] [--only forward,backward,swiglu]

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


def swiglu_cases(rows: int, half: int) -> dict:
    """{label: callable} of swiglu with a bias of both halves, x (rows,
    2 * half) float32, every output preallocated.  torch is optional."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, 2 * half), dtype=np.float32)
    b = rng.standard_normal(2 * half, dtype=np.float32)
    t = np.empty_like(x)
    o = np.empty((rows, half), np.float32)
    c = {"fa.swiglu(x)": lambda: fa.swiglu(x, out=o),
         "fa.swiglu(x, bias=b)": lambda: fa.swiglu(x, bias=b, out=o),
         "fa.swiglu(x + b)": lambda: fa.swiglu(np.add(x, b, out=t), out=o)}
    try:
        import torch
    except ImportError:
        return c
    tx, tb, to = map(torch.from_numpy, (x, b, o))
    xa, xb, ba, bb = tx[:, :half], tx[:, half:], tb[:half], tb[half:]
    u, v = torch.empty_like(xa), torch.empty_like(xb)

    def tswiglu():
        torch.add(xa, ba, out=u)
        torch.add(xb, bb, out=v)
        torch.nn.functional.silu(u, inplace=True)
        torch.mul(u, v, out=to)
    c["torch silu(a + ba) * (b + bb)"] = tswiglu
    return c


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
    ap.add_argument("--glu-rows", type=int, default=8192)
    ap.add_argument("--glu-half", type=int, default=4096)
    ap.add_argument("--only", default="forward,backward,swiglu")
    args = ap.parse_args()
    prev = fa.get_num_threads()
    print(f"float32 ({args.rows}, {args.cols}), bias ({args.cols},); swiglu: x "
          f"({args.glu_rows}, {2 * args.glu_half}), bias ({2 * args.glu_half},); "
          f"median of {args.repeat} (wall ms)")
    try:
        for n in map(int, args.threads.split(",")):
            set_threads(n)
            for direction in args.only.split(","):
                fns = (swiglu_cases(args.glu_rows, args.glu_half) if direction == "swiglu"
                       else cases(args.rows, args.cols, direction))
                res = medians_ms(fns, args.repeat)
                del fns
                labels = list(res)
                fused = res[labels[1]]
                print(f"-- {n} thread(s), {direction}")
                for k, v in res.items():
                    print(f"  {k:36s} {v:9.2f} ms   {v / fused:5.2f}x the fused call")
    finally:
        set_threads(prev)


if __name__ == "__main__":
    main()
