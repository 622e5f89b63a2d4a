"""The narrow types at memory speed: fastact gelu, sigmoid and relu on
bfloat16 and float16 arrays of 1.6e7 elements (computed in float32 a chunk
at a time, no float32 temporary) against the copy of the same bytes
(np.copyto of the narrow array: the memory floor) and against torch's
bfloat16/float16 kernels on the same memory, forward and backward, 1 and 2
threads.  Every output is preallocated.

    PYTHONPATH=src python benchmarks/narrow.py [--n 16000000] [--repeat 15] [--threads 1,2]

Prints median wall times (ms) and the ratios the design aims at: fastact /
copy (target <= 1.25) and torch / fastact (target >= 1.2).  The cases are
shared with test_bench_narrow.py.  Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse

import numpy as np

import fastact as fa
from side_by_side import medians_ms, set_threads

FUNCS = ("gelu", "sigmoid", "relu")


def dtypes() -> dict:
    """{label: numpy dtype} of the narrow types available"""
    res = {"float16": np.dtype(np.float16)}
    try:
        import ml_dtypes
        res = {"bfloat16": np.dtype(ml_dtypes.bfloat16), **res}
    except ImportError:
        pass
    return res


def _torch_view(a: np.ndarray, dt_label: str):
    import torch
    t = torch.from_numpy(a.view(np.uint16))
    return t.view(torch.bfloat16 if dt_label == "bfloat16" else torch.float16)


def cases(n: int, dt_label: str, direction: str = "forward") -> dict:
    """{label: callable} for one narrow type and direction, outputs
    preallocated; "copy" first, then fastact per function, then torch
    (when installed)."""
    dt = dtypes()[dt_label]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n, dtype=np.float32) * 3).astype(dt)
    g = rng.standard_normal(n, dtype=np.float32).astype(dt)
    o = np.empty_like(x)
    c = {"copy": lambda: np.copyto(o, x)}
    for f in FUNCS:
        if direction == "forward":
            c[f"fa.{f}"] = (lambda fn: lambda: fn(x, out=o))(getattr(fa, f))
        else:
            c[f"fa.{f}_backward"] = (lambda fn: lambda: fn(g, x, out=o))(
                getattr(fa, f + "_backward"))
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return c
    tx, tg, to = (_torch_view(a, dt_label) for a in (x, g, o))
    aten = torch.ops.aten
    if direction == "forward":
        c["torch gelu"] = lambda: torch._C._nn.gelu(tx, out=to)
        c["torch sigmoid"] = lambda: torch.sigmoid(tx, out=to)
        c["torch relu"] = lambda: torch.clamp_min(tx, 0, out=to)
        del F
    else:
        ty = torch.sigmoid(tx)            # sigmoid's backward takes the output
        c["torch gelu_backward"] = lambda: aten.gelu_backward.grad_input(tg, tx, grad_input=to)
        c["torch sigmoid_backward"] = lambda: aten.sigmoid_backward.grad_input(tg, ty,
                                                                               grad_input=to)
        c["torch relu_backward"] = lambda: aten.threshold_backward.grad_input(
            tg, tx, 0, grad_input=to)
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    prev = fa.get_num_threads()
    print(f"n = {args.n:.3g}, median of {args.repeat} (wall ms); isa {fa._dispatch.current()}")
    try:
        for nt in map(int, args.threads.split(",")):
            set_threads(nt)
            for dt_label in dtypes():
                for direction in ("forward", "backward"):
                    res = medians_ms(cases(args.n, dt_label, direction), args.repeat)
                    print(f"-- {dt_label}, {direction}, {nt} thread(s): copy {res['copy']:.2f} ms")
                    for f in FUNCS:
                        suf = "" if direction == "forward" else "_backward"
                        mine = res[f"fa.{f}{suf}"]
                        line = (f"  {f + suf:18s} fastact {mine:8.2f} ms  {mine / res['copy']:5.2f}x copy")
                        tk = f"torch {f}{suf}"
                        if tk in res:
                            line += f"   torch {res[tk]:8.2f} ms  torch/fastact {res[tk] / mine:5.2f}"
                        print(line, flush=True)
    finally:
        set_threads(prev)


if __name__ == "__main__":
    main()
