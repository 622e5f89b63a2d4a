"""What the streaming stores for large outputs buy (README "Large outputs"):
every elementwise function, forward and backward (from y where the spec
allows it), with the shipped setting against streaming off
(fastact._fastact_pool._set_stream_bytes(0)), round-robin in one process.
Directions whose kernel does not stream (_spec.KERNEL_STREAM) run the
same code both ways: their ratio shows the noise.

    PYTHONPATH=src python benchmarks/stream_stores.py [--n 1.6e7] [--dtypes float32,float64]
        [--threads 1,2] [--functions relu,sigmoid] [--repeat 7]

Prints per case the medians (ms) and off / on.  Not collected by pytest
(no test_ prefix)."""

from __future__ import annotations

import argparse

import numpy as np

import fastact as fa
from fastact import _fastact_pool
from fastact._spec import KERNEL_STREAM, SPECS
from side_by_side import medians_ms, thread_counts

DIRS = ("fwd", "bx", "by")


def cases(spec, x, g, out):
    """(direction, call) pairs of one activation with its default parameters"""
    fw = getattr(fa, spec.name)
    yield "fwd", lambda: fw(x, out=out)
    bw = getattr(fa, spec.name + "_backward")
    if spec.grad_from_output:
        y = fw(x)
        yield "by", lambda: bw(g, y=y, out=out)
    else:
        yield "bx", lambda: bw(g, x, out=out)


def with_setting(nbytes: int, f):
    def call():
        old = _fastact_pool._set_stream_bytes(nbytes)
        try:
            f()
        finally:
            _fastact_pool._set_stream_bytes(old)
    return call


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1.6e7)
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--functions", default=None)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    only = set(a.functions.split(",")) if a.functions else None
    specs = [s for s in SPECS if s.kind == "elementwise" and not s.composed and not s.special_of
             and not any(p.required for p in s.params) and (only is None or s.name in only)]
    shipped = _fastact_pool._stream_bytes()
    rng = np.random.default_rng(0)
    for nt in thread_counts(a.threads):
        for dt in a.dtypes.split(","):
            x = (rng.standard_normal(int(a.n)) * 3).astype(dt)
            g = rng.standard_normal(int(a.n)).astype(dt)
            out = np.empty_like(x)
            for s in specs:
                for d, f in cases(s, x, g, out):
                    k = s.kernels[0]
                    r = medians_ms({"on": with_setting(shipped, f), "off": with_setting(0, f)},
                                   a.repeat)
                    mark = "streams" if KERNEL_STREAM[k] >> DIRS.index(d) & 1 else "ordinary"
                    print(f"{s.name:16s} {d:3s} {dt} {nt} thread(s) {mark:8s}: "
                          f"on {r['on']:8.2f} ms  off {r['off']:8.2f} ms  off / on "
                          f"{r['off'] / r['on']:.2f}", flush=True)


if __name__ == "__main__":
    main()
