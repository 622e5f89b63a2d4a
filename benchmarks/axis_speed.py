"""Side-by-side speed of the along-axis kernels: fastact vs torch.

    PYTHONPATH=src python benchmarks/axis_speed.py [--threads 1,2] [--reps 9]
        [--funcs softmax,log_softmax,...] [--dtypes f32,f64] [--shapes 0,1,2,3,4]

Both libraries write into preallocated outputs (torch through the aten
`.out` overloads).  1 thread: CPU time of the calling thread
(time.thread_time_ns), best of --reps.  2 threads: wall-clock median (noisy
on a shared machine).  Ratio = torch time / fastact time (> 1: fastact is
faster).  logsumexp_backward in torch is what autograd runs:
grad.unsqueeze(dim) * exp(x - lse.unsqueeze(dim)), here with out= buffers.
Not a test (pytest does not collect it).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import fastact as fa

SHAPES = [((4096, 1000), -1), ((64, 50257), -1), ((16384, 64), -1), ((256, 4096), -1),
          ((1000, 4096), 0)]
FUNCS = ["softmax", "log_softmax", "logsumexp", "softmax_backward", "log_softmax_backward",
         "logsumexp_backward"]
DTYPES = {"f32": (np.float32, torch.float32), "f64": (np.float64, torch.float64)}


def make(func, shape, axis, dt):
    npdt, tdt = DTYPES[dt]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(npdt)
    tx = torch.from_numpy(x)
    ax = axis % len(shape)
    red = tuple(s for i, s in enumerate(shape) if i != ax)
    if func in ("softmax", "log_softmax"):
        o = np.empty_like(x)
        to = torch.from_numpy(o.copy())
        if func == "softmax":
            f = lambda: fa.softmax(x, axis, out=o)
            t = lambda: torch.ops.aten._softmax.out(tx, ax, False, out=to)
        else:
            f = lambda: fa.log_softmax(x, axis, out=o)
            t = lambda: torch.ops.aten._log_softmax.out(tx, ax, False, out=to)
    elif func == "logsumexp":
        o = np.empty(red, npdt)
        to = torch.from_numpy(o.copy())
        f = lambda: fa.logsumexp(x, axis, out=o)
        t = lambda: torch.logsumexp(tx, ax, out=to)
    elif func in ("softmax_backward", "log_softmax_backward"):
        g = rng.standard_normal(shape).astype(npdt)
        tg = torch.from_numpy(g)
        o = np.empty_like(x)
        to = torch.from_numpy(o.copy())
        if func == "softmax_backward":
            y = fa.softmax(x, axis)
            ty = torch.from_numpy(y)
            f = lambda: fa.softmax_backward(g, y=y, axis=axis, out=o)
            t = lambda: torch.ops.aten._softmax_backward_data.out(tg, ty, ax, tdt, grad_input=to)
        else:
            y = fa.log_softmax(x, axis)
            ty = torch.from_numpy(y)
            f = lambda: fa.log_softmax_backward(g, y=y, axis=axis, out=o)
            t = lambda: torch.ops.aten._log_softmax_backward_data.out(tg, ty, ax, tdt, out=to)
    else:  # logsumexp_backward
        g = rng.standard_normal(red).astype(npdt)
        tg = torch.from_numpy(g)
        lse = torch.logsumexp(tx, ax)
        o = np.empty_like(x)
        to = torch.from_numpy(o.copy())
        tmp = torch.empty_like(tx)

        def t():
            torch.sub(tx, lse.unsqueeze(ax), out=tmp)
            torch.exp(tmp, out=tmp)
            torch.mul(tmp, tg.unsqueeze(ax), out=to)
        f = lambda: fa.logsumexp_backward(g, x, axis, out=o)
    return f, t


def cpu_best(fn, reps, inner):
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.thread_time_ns()
        for _ in range(inner):
            fn()
        best = min(best, (time.thread_time_ns() - t0) / inner)
    return best / 1e3


def wall_median(fn, reps, inner):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter_ns() - t0) / inner)
    return statistics.median(ts) / 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--funcs", default=",".join(FUNCS))
    ap.add_argument("--dtypes", default="f32,f64")
    ap.add_argument("--shapes", default="0,1,2,3,4")
    a = ap.parse_args()
    shapes = [SHAPES[int(i)] for i in a.shapes.split(",")]
    print(f"fastact isa {fa.show_config(False)['isa']}, torch {torch.__version__}")
    for nt in [int(s) for s in a.threads.split(",")]:
        torch.set_num_threads(nt)
        fa.set_num_threads(nt)
        meas = cpu_best if nt == 1 else wall_median
        what = "CPU time, best" if nt == 1 else "wall median (noisy)"
        print(f"\n{nt} thread(s), {what} of {a.reps}; times in us; ratio = torch / fastact")
        print(f"{'function':22s} {'dtype':5s} {'shape':>16s} {'fastact':>10s} {'torch':>10s} {'ratio':>6s}")
        for func in a.funcs.split(","):
            for dt in a.dtypes.split(","):
                for shape, axis in shapes:
                    f, t = make(func, shape, axis, dt)
                    inner = 3
                    tf = meas(f, a.reps, inner)
                    tt = meas(t, a.reps, inner)
                    sh = f"{shape}" + ("" if axis == -1 else f" ax{axis}")
                    print(f"{func:22s} {dt:5s} {sh:>16s} {tf:10.0f} {tt:10.0f} {tt / tf:6.2f}",
                          flush=True)


if __name__ == "__main__":
    main()
