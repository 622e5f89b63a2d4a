#!/usr/bin/env python3
"""Every finite bfloat16 and float16 value through every elementwise
activation (forward, and backward with grad_output 1), against the float64
reference rounded once to the narrow type (fastact._reference.narrow_sweep):
the share of results correctly rounded and the largest error in narrow ulps,
as the Markdown table of docs/numerics.md ("Narrow types").

    python tools/narrow_ulp.py [--all-params]
"""
import argparse

import ml_dtypes
import numpy as np

from fastact import _dispatch
from fastact import _reference as R
from fastact import _spec

TYPES = (("bfloat16", np.dtype(ml_dtypes.bfloat16)), ("float16", np.dtype(np.float16)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all-params", action="store_true",
                    help="every parameter case of the tests, not only the defaults")
    a = ap.parse_args()
    print(f"instruction-set level: {_dispatch.current()}\n")
    print("| function | bfloat16 fwd | bfloat16 bwd | float16 fwd | float16 bwd |")
    print("| --- | --- | --- | --- | --- |")
    total = {}
    for s in _spec.SPECS:
        if s.kind != "elementwise":
            continue
        cases = R.PARAM_CASES[s.name] if a.all_params else R.PARAM_CASES[s.name][:1]
        for params in cases:
            cells = []
            for tname, dt in TYPES:
                with np.errstate(all="ignore"):
                    res = R.narrow_sweep(s.name, params, dt)
                for which in ("forward", "backward"):
                    st = res[which]
                    t = total.setdefault((tname, which), [0, 0, 0])
                    t[0] += int((st == 0).sum())
                    t[1] += st.size
                    t[2] = max(t[2], int(st.max()))
                    cells.append(f"{100 * (st == 0).mean():.3f}% (max {int(st.max())})")
            label = s.name + ("" if params == R.PARAM_CASES[s.name][0] else f" {params}")
            print(f"| {label} | " + " | ".join(cells) + " |")
    print("| **all** | " + " | ".join(
        f"**{100 * t[0] / t[1]:.3f}%** (max {t[2]})"
        for t in (total[(tn, w)] for tn, _ in TYPES for w in ("forward", "backward"))) + " |")


if __name__ == "__main__":
    main()
