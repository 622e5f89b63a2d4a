"""maxout, sparsemax (and their backward) and softmax_jacobian: fastact
against a memory copy of the same bytes and against the NumPy code they
were before their compiled kernels (fastact.bench.peers, np_*).

    PYTHONPATH=src python benchmarks/axis_extra_speed.py [--threads 1,2] [--reps 7]
        [--dtypes f32,f64]

Times: best of --reps (wall clock; 2 threads is noisy on a shared
machine), in ms.  "x copy" = fastact / np.copyto of the input (for
softmax_jacobian: of its output, the bytes it writes); "numpy/fa" = how
many times faster than the NumPy version.  Not a test (pytest does not
collect it).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fastact as fa
from fastact.bench import peers

SHAPES = [((4096, 1000), -1), ((1000, 4096), 0)]
JAC_SHAPES = [(2048, 64), (64, 512)]
DTYPES = {"f32": np.float32, "f64": np.float64}
PIECES = 4


def best(fn, reps):
    fn()
    t = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t * 1e3


def cases(dt):
    rng = np.random.default_rng(0)
    for shape, axis in SHAPES:
        x = rng.standard_normal(shape).astype(dt)
        xl = np.ascontiguousarray(np.moveaxis(x, axis, -1))     # the NumPy code's last axis
        m = fa.maxout(x, PIECES, axis)
        gm = rng.standard_normal(m.shape).astype(dt)
        gml = np.ascontiguousarray(np.moveaxis(gm, axis, -1))
        o, om = np.empty_like(x), np.empty_like(m)
        oml = np.empty(gml.shape, dt)
        g = rng.standard_normal(shape).astype(dt)
        gl = np.ascontiguousarray(np.moveaxis(g, axis, -1))
        yield ("maxout", shape, axis, x, lambda: fa.maxout(x, PIECES, axis, out=om),
               lambda: peers.np_maxout(xl, oml, PIECES))
        yield ("maxout_backward", shape, axis, x,
               lambda: fa.maxout_backward(gm, x, PIECES, axis, out=o),
               lambda: peers.np_maxout_backward(gml, xl, PIECES))
        yield ("sparsemax", shape, axis, x, lambda: fa.sparsemax(x, axis, out=o),
               lambda: peers.np_sparsemax(xl))
        yield ("sparsemax_backward", shape, axis, x,
               lambda: fa.sparsemax_backward(g, x, axis, out=o),
               lambda: peers.np_sparsemax_backward(gl, xl))
    for shape in JAC_SHAPES:
        x = rng.standard_normal(shape).astype(dt)
        yield ("softmax_jacobian", shape, -1, fa.softmax_jacobian(x),
               lambda: fa.softmax_jacobian(x), lambda: peers.np_softmax_jacobian(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--dtypes", default="f32,f64")
    a = ap.parse_args()
    print(f"fastact isa {fa.show_config(False)['isa']}; times in ms, best of {a.reps}")
    for nt in [int(s) for s in a.threads.split(",")]:
        fa.set_num_threads(nt)
        print(f"\n{nt} thread(s)")
        print(f"{'function':20s} {'dtype':5s} {'shape':>16s} {'copy':>8s} {'fastact':>8s} "
              f"{'x copy':>7s} {'numpy':>9s} {'numpy/fa':>8s}")
        for dn in a.dtypes.split(","):
            for name, shape, axis, src, f, npf in cases(DTYPES[dn]):
                dst = np.empty_like(src)
                tc = best(lambda: np.copyto(dst, src), a.reps)
                tf = best(f, a.reps)
                tn = best(npf, max(2, a.reps // 3))
                sh = f"{shape}" + ("" if axis == -1 else f" ax{axis}")
                print(f"{name:20s} {dn:5s} {sh:>16s} {tc:8.2f} {tf:8.2f} {tf / tc:7.2f} "
                      f"{tn:9.2f} {tn / tf:8.1f}", flush=True)


if __name__ == "__main__":
    main()
