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

Three more parts (skip any with --no-small / --no-prelu / --no-axis):
  * per call on a small array (--small-n, 1000 elements): the cost of one
    call of gelu / gelu_backward / the y form of sigmoid_backward on
    float32, float64, float16 and bfloat16, in microseconds of thread CPU
    time (the best of --small-repeat loops of --small-loops calls each):
    the narrow types should cost about what float32 does (the C fast path);
  * PReLU forward and backward at --n elements, (n/64, 64) channels-last
    and (16, 64, n/1024) channels-first, one thread, narrow against float32
    and against the copy (median wall ms);
  * the along-axis family at --axis-shape (4096,4096), axis -1: softmax,
    log_softmax and swiglu on bfloat16 and float16 (computed in float32 a
    chunk of rows at a time), out preallocated, against the copy, against
    the former route (a float32 temporary of the whole array, then the
    cast into out) and against torch on the same memory (torch.softmax /
    log_softmax with out=, swiglu as silu into a preallocated buffer times
    the other half), 1 and 2 threads.
"""

from __future__ import annotations

import argparse
import time

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


def small_cases(n: int) -> dict:
    """{(dtype label, call label): callable} per call on n elements, outputs
    allocated by the call (as a small model's step does)"""
    dts = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64), **dtypes()}
    rng = np.random.default_rng(0)
    res = {}
    for label, dt in dts.items():
        x = rng.standard_normal(n, dtype=np.float32).astype(dt)
        g = rng.standard_normal(n, dtype=np.float32).astype(dt)
        y = fa.sigmoid(x)
        res[(label, "gelu")] = lambda x=x: fa.gelu(x)
        res[(label, "gelu_backward")] = lambda g=g, x=x: fa.gelu_backward(g, x)
        res[(label, "sigmoid_backward y=")] = lambda g=g, y=y: fa.sigmoid_backward(g, y=y)
        res[(label, "relu out=x")] = lambda x=x: fa.relu(x, out=x)
        res[(label, "softmax")] = lambda x=x: fa.softmax(x)
        res[(label, "swiglu")] = lambda x=x: fa.swiglu(x)
    return res


AXIS_FUNCS = ("softmax", "log_softmax", "swiglu")


def axis_cases(shape, dt_label: str) -> dict:
    """{label: callable}: the along-axis family on one narrow type, axis -1,
    outputs preallocated: "copy", then per function fastact, the former
    float32-temporary route and torch (when installed)"""
    dt = dtypes()[dt_label]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape, dtype=np.float32) * 3).astype(dt)
    o = np.empty_like(x)
    h = np.empty(shape[:-1] + (shape[-1] // 2,), dt)
    c = {"copy": lambda: np.copyto(o, x)}
    for f in AXIS_FUNCS:
        fn, dst = getattr(fa, f), (h if f == "swiglu" else o)
        c[f"fa.{f}"] = (lambda fn, dst: lambda: fn(x, out=dst))(fn, dst)
        c[f"float32 temp {f}"] = (lambda fn, dst: lambda: np.copyto(
            dst, fn(x.astype(np.float32)), casting="unsafe"))(fn, dst)
    try:
        import torch
    except ImportError:
        return c
    tx, to, th = (_torch_view(a, dt_label) for a in (x, o, h))
    ta, tb = tx[..., :shape[-1] // 2], tx[..., shape[-1] // 2:]
    tmp = torch.empty_like(th)
    c["torch softmax"] = lambda: torch.softmax(tx, -1, out=to)
    c["torch log_softmax"] = lambda: torch.log_softmax(tx, -1, out=to)
    c["torch swiglu"] = lambda: torch.mul(torch.ops.aten.silu.out(ta, out=tmp), tb, out=th)
    return c


def per_call_us(fn, loops: int, repeat: int) -> float:
    """microseconds of thread CPU time per call: the best of `repeat` loops
    of `loops` calls (the minimum: the least disturbed loop)"""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.thread_time_ns()
        for _ in range(loops):
            fn()
        best = min(best, (time.thread_time_ns() - t0) / loops)
    return best * 1e-3


def prelu_cases(n: int, dt_label: str) -> dict:
    """{label: callable}: prelu and prelu_backward on n elements of one
    dtype (a label of dtypes() or "float32"), in two layouts; forward
    writes into a preallocated out"""
    dt = {"float32": np.dtype(np.float32), **dtypes()}[dt_label]
    rng = np.random.default_rng(0)
    res = {}
    for lay, shape in (("channels-last", (n // 64, 64)), ("channels-first", (16, 64, n // 1024))):
        x = (rng.standard_normal(shape, dtype=np.float32) * 3).astype(dt)
        g = rng.standard_normal(shape, dtype=np.float32).astype(dt)
        w = rng.uniform(0, 0.5, 64).astype(dt)
        o = np.empty_like(x)
        axis = 1
        if lay == "channels-last":
            res[f"copy {lay}"] = lambda x=x, o=o: np.copyto(o, x)
        res[f"prelu {lay}"] = lambda x=x, w=w, o=o: fa.prelu(x, w, axis=axis, out=o)
        res[f"prelu_backward {lay}"] = lambda g=g, x=x, w=w: fa.prelu_backward(g, x, w, axis=axis)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--small-n", type=int, default=1000)
    ap.add_argument("--small-loops", type=int, default=2000)
    ap.add_argument("--small-repeat", type=int, default=30)
    ap.add_argument("--no-small", action="store_true")
    ap.add_argument("--no-prelu", action="store_true")
    ap.add_argument("--no-large", action="store_true")
    ap.add_argument("--no-axis", action="store_true")
    ap.add_argument("--axis-shape", default="4096,4096")
    args = ap.parse_args()
    prev = fa.get_num_threads()
    if not args.no_small:
        print(f"-- per call, n = {args.small_n}: us of thread CPU time, best of "
              f"{args.small_repeat} x {args.small_loops} calls")
        res = {k: per_call_us(f, args.small_loops, args.small_repeat)
               for k, f in small_cases(args.small_n).items()}
        labels = list(dict.fromkeys(k[0] for k in res))
        print(f"  {'call':22s}" + "".join(f"{lab:>10s}" for lab in labels))
        for call in dict.fromkeys(k[1] for k in res):
            print(f"  {call:22s}" + "".join(f"{res[(lab, call)]:10.2f}" for lab in labels))
    if not args.no_prelu:
        set_threads(1)
        try:
            rows = {lab: medians_ms(prelu_cases(args.n, lab), args.repeat)
                    for lab in ("float32", *dtypes())}
        finally:
            set_threads(prev)
        print(f"-- PReLU, n = {args.n:.3g}, 1 thread, median of {args.repeat} (wall ms)")
        labels = list(rows)
        print(f"  {'case':30s}" + "".join(f"{lab:>10s}" for lab in labels))
        for case in rows["float32"]:
            print(f"  {case:30s}" + "".join(f"{rows[lab][case]:10.2f}" for lab in labels))
    if not args.no_axis:
        shape = tuple(map(int, args.axis_shape.split(",")))
        try:
            for nt in map(int, args.threads.split(",")):
                set_threads(nt)
                for dt_label in dtypes():
                    res = medians_ms(axis_cases(shape, dt_label), args.repeat)
                    print(f"-- along an axis {shape}, {dt_label}, {nt} thread(s): "
                          f"copy {res['copy']:.2f} ms")
                    for f in AXIS_FUNCS:
                        mine = res[f"fa.{f}"]
                        line = (f"  {f:12s} fastact {mine:8.2f} ms  {mine / res['copy']:5.2f}x copy"
                                f"   float32 temp {res[f'float32 temp {f}']:8.2f} ms")
                        if f"torch {f}" in res:
                            line += (f"   torch {res[f'torch {f}']:8.2f} ms  torch/fastact "
                                     f"{res[f'torch {f}'] / mine:5.2f}")
                        print(line, flush=True)
        finally:
            set_threads(prev)
    if args.no_large:
        return
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
