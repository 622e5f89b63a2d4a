#!/usr/bin/env python3
"""Worst float32 forward error over many random inputs (beyond the test grid).

    python tools/ulp_sweep.py [--million 40] [--functions gelu,mish] [--lo -20 --hi 0]

For each float32 activation that has a vectorized float64 NumPy reference
(fastact._reference.np_forward; its error is ~1e-8 float32 ulp), draws
`--million` million uniform inputs in [lo, hi] (default: the spec's domain)
in chunks of 4 million and prints the largest error in ulp, where it
occurred, and the spec's budget.  The test suite checks 2**17 such inputs
per function on every run; this is the long version, run by hand when a
kernel changes (about 10 s per 40 million for the cheap ones, a minute for
gelu, whose reference calls math.erfc point by point).
"""
import argparse

import numpy as np

import fastact as fa
from fastact import _reference as R
from fastact import _spec

DEFAULT = [s.name for s in _spec.SPECS if s.dense_f32]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--million", type=float, default=40)
    ap.add_argument("--functions", default=",".join(DEFAULT))
    ap.add_argument("--lo", type=float)
    ap.add_argument("--hi", type=float)
    ap.add_argument("--seed", type=int, default=99)
    a = ap.parse_args()
    chunk = 4_000_000
    for name in a.functions.split(","):
        spec = _spec.BY_NAME[name]
        params = R.PARAM_CASES[name][0]
        pc = R.cast_params(name, params, np.float32)
        lo = spec.domain[0] if a.lo is None else a.lo
        hi = spec.domain[1] if a.hi is None else a.hi
        rng = np.random.default_rng(a.seed)
        worst, at = 0.0, None
        for _ in range(max(1, int(a.million * 1e6) // chunk)):
            x = rng.uniform(lo, hi, chunk).astype(np.float32)
            ref = R.np_forward(name, x.astype(np.float64), pc, np.float32)
            err = R.ulp_errors(getattr(fa, name)(x, **params), ref, np.zeros_like(ref), np.float32)
            i = int(np.argmax(err))
            if err[i] > worst:
                worst, at = float(err[i]), float(x[i])
        print(f"{name:12s} [{lo:g}, {hi:g}] {a.million:g}M inputs: max {worst:.2f} ulp at x = {at!r}"
              f"  (budget {spec.ulp[0]})", flush=True)


if __name__ == "__main__":
    main()
