"""The elementwise functions on inputs in windows where intermediates or
results fall below the normal range, against a window where none does.

    PYTHONPATH=src python benchmarks/subnormal_windows.py [--dtype float32]
        [--funcs sigmoid,log_sigmoid,silu,gelu,...] [--old DIR] [--rounds 5]

On x86 an operation with a subnormal operand or result takes a microcode
assist (with MXCSR's flush-to-zero off, as in every NumPy process): a vector
with one such lane costs tens of cycles more.  Each row is one function on
1e5 inputs spread over a window (a fixed permutation, so that most vectors
hold a few lanes from every part of it); ratio = that window's time / the
time on [-4, 4].  A function whose results themselves are subnormal in a
window (sigmoid below -87 in float32, silu below -87, gelu's tanh form
between -12.4 and -10.1) pays there by design: fastact returns them
correctly rounded, where flushing them to 0 would be off by up to 2^23 ulp.
With --old DIR (a built copy of the package, as benchmarks/ab_builds.py
takes), both builds side by side.  Thread CPU time, 1 thread: medians
of 21 calls, builds and windows interleaved, the median of --rounds.
Not a test (pytest does not collect it).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ab_builds import load, median_ns  # noqa: E402

WINDOWS = [(-4.0, 4.0), (-100.0, -80.0), (-15.0, -8.0), (10.0, 30.0), (80.0, 100.0)]
FUNCS = ["sigmoid", "log_sigmoid", "tanh", "elu", "gelu", "gelu_tanh", "silu", "quick_gelu",
         "mish", "softplus"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--funcs", default=",".join(FUNCS))
    ap.add_argument("--old", default=None)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    builds = [("new", load(here))]
    if a.old:
        builds.insert(0, ("old", load(a.old)))
    for _, m in builds:
        m.set_num_threads(1)
    n = 100_000
    perm = np.random.default_rng(0).permutation(n)
    o = np.empty(n, a.dtype)
    print(f"{a.dtype}, 1e5 elements, 1 thread; us per call (ratio to [-4, 4])")
    print(f"{'function':12s} {'build':5s} " + " ".join(f"{f'[{lo:g}, {hi:g}]':>17s}"
                                                    for lo, hi in WINDOWS))
    xs = [np.linspace(lo, hi, n)[perm].astype(a.dtype) for lo, hi in WINDOWS]
    for name in a.funcs.split(","):
        kw = {"approximate": "tanh"} if name == "gelu_tanh" else {}
        fs = [getattr(m, "gelu" if name == "gelu_tanh" else name) for _, m in builds]
        t = np.empty((a.rounds, len(builds), len(xs)))
        for r in range(a.rounds):       # builds and windows interleaved
            for b, f in enumerate(fs):
                for w, x in enumerate(xs):
                    # 20 ms of untimed calls first: the first window after
                    # the other build read 1.3-1.5x slow with the default 3
                    t[r, b, w] = median_ns(lambda: f(x, out=o, **kw), reps=21,
                                           warm_ns=2e7 if w == 0 else 3e6) / 1e3
        med = np.median(t, axis=0)
        for b, (tag, _) in enumerate(builds):
            print(f"{name:12s} {tag:5s} "
                  + " ".join(f"{v:8.1f} ({v / med[b, 0]:4.2f}x)" for v in med[b]))


if __name__ == "__main__":
    main()
