"""The GLU family against torch, float32, forward and backward, on
(8192, 8192) and (64, 2 * 11008) (a = first half, b = second half of the
last axis), 1 and 2 threads; outputs preallocated on both sides.

torch: glu through aten.glu.out / aten.glu_backward.grad_input; swiglu as
silu(a) * b and geglu as gelu(a) * b with out= (what a torch model runs),
their backward as the aten kernels of that composition.

    PYTHONPATH=src python benchmarks/glu_speed.py [--repeat 9] [--threads 1,2]

Prints round-robin medians (ms) and torch / fastact.  Not collected by
pytest (no test_ prefix)."""

from __future__ import annotations

import argparse

import numpy as np

import fastact as fa
from side_by_side import medians_ms, ratio_line, thread_counts

SHAPES = ((8192, 8192), (64, 2 * 11008))


def cases(shape, name: str, direction: str) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    h = shape[-1] // 2
    gh = rng.standard_normal(shape[:-1] + (h,), dtype=np.float32)
    o = np.empty(shape[:-1] + (h,), np.float32) if direction == "forward" else np.empty_like(x)
    f = getattr(fa, name) if direction == "forward" else getattr(fa, name + "_backward")
    c = {"fastact": (lambda: f(x, out=o)) if direction == "forward" else
         (lambda: f(gh, x, out=o))}
    try:
        import torch
    except ImportError:
        return c
    A = torch.ops.aten
    tx, tg, to = map(torch.from_numpy, (x, gh, o))
    a, b = tx[..., :h], tx[..., h:]
    t1 = torch.empty_like(a)
    t2 = torch.empty_like(a)
    if name == "glu":
        c["torch"] = ((lambda: A.glu.out(tx, -1, out=to)) if direction == "forward" else
                      (lambda: A.glu_backward.grad_input(tg, tx, -1, grad_input=to)))
        return c
    act = (lambda s, out: torch._C._nn.silu(s, out=out)) if name == "swiglu" else \
        (lambda s, out: torch._C._nn.gelu(s, out=out))
    bwd = (lambda g, s, out: A.silu_backward.grad_input(g, s, grad_input=out)) \
        if name == "swiglu" else \
        (lambda g, s, out: A.gelu_backward.grad_input(g, s, grad_input=out))
    if direction == "forward":
        def fwd():
            act(a, t1)
            torch.mul(t1, b, out=to)
        c["torch"] = fwd
    else:
        ga, gb = to[..., :h], to[..., h:]

        def back():
            act(a, t1)
            torch.mul(tg, t1, out=gb)            # d/db = g * act(a)
            torch.mul(tg, b, out=t2)
            bwd(t2, a, ga)                        # d/da = g * b * act'(a)
        c["torch"] = back
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    for n in thread_counts(args.threads):
        for shape in SHAPES:
            for name in ("glu", "swiglu", "geglu"):
                for direction in ("forward", "backward"):
                    r = medians_ms(cases(shape, name, direction), args.repeat)
                    print(ratio_line(f"{n} thread(s) {shape} {name} {direction}", r))


if __name__ == "__main__":
    main()
