#!/usr/bin/env python3
"""float32 softmax accuracy of one or more builds, side by side.

    python tools/softmax_ulp.py [DIR ...]      # default: src

Each DIR holds a built `fastact` package (benchmarks/ab_builds.py's `load`).
Rows of 5 N(0, 1) (seed 0) are compared with a long double reference from
the rounded shift x - max (the error of that subtraction is the input's, not
the kernel's; rows of one block, n <= 1024, which shift by the row max
alone): the error in ulp of the float32 reference at the entries above
the subnormals (median, 99th percentile, max) and the largest
abs(row sum - 1) in eps.
"""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from ab_builds import load  # noqa: E402

SHAPES = ((64, 1000), (4096, 64), (1000, 1000))


def main(argv):
    builds = [(d, load(d)) for d in (argv or [str(ROOT / "src")])]
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        x = (5 * rng.standard_normal(shape)).astype(np.float32)
        v = (x - x.max(-1, keepdims=True)).astype(np.longdouble)
        e = np.exp(v)
        y = e / e.sum(-1, keepdims=True)
        sp = np.spacing(y.astype(np.float32)).astype(np.longdouble)
        cols = []
        for d, fa in builds:
            got = fa.softmax(x)
            u = (np.abs(got.astype(np.longdouble) - y) / sp).astype(np.float64)[y > 2.0 ** -126]
            rs = np.abs(got.astype(np.float64).sum(-1) - 1).max() / np.finfo(np.float32).eps
            cols.append(f"{d}: ulp median {np.median(u):.2f} p99 {np.percentile(u, 99):.2f} "
                        f"max {u.max():.2f}, row sum {rs:.2f} eps")
        print(shape, " | ".join(cols))


if __name__ == "__main__":
    main(sys.argv[1:])
