"""What the streaming stores for large outputs buy (README "Large outputs"):
every elementwise function, forward and backward (from y where the spec
allows it), and the softmax family over rows of --row elements (forward,
backward from x and from y), with the shipped setting against streaming
off (fastact._fastact_pool._set_stream_bytes(0)), round-robin in one
process.  Directions whose kernel does not stream (_spec.KERNEL_STREAM)
run the same code both ways: their ratio shows the noise.

    PYTHONPATH=src python benchmarks/stream_stores.py [--n 1.6e7] [--dtypes float32,float64]
        [--threads 1,2] [--functions relu,sigmoid,softmax] [--row 1000] [--repeat 7]

Prints per case the medians (ms) and off / on.  Not collected by pytest
(no test_ prefix)."""

from __future__ import annotations

import argparse

import numpy as np

import fastact as fa
from fastact import _fastact_pool
from fastact._axis import STREAM_ROW_BYTES
from fastact._spec import AXIS_STREAM, KERNEL_STREAM, SPECS
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


# the softmax family: the ops of the spec's AXIS_STREAM stream (rows of up
# to fastact._axis.STREAM_ROW_BYTES); softmin runs softmax's ops
AXIS = ("softmax", "log_softmax", "softmin")


def axis_op(name, d):
    base = "softmax" if name == "softmin" else name
    return base if d == "fwd" else f"{base}_{d}"


def axis_cases(name, x, g, out):
    fw = getattr(fa, name)
    bw = getattr(fa, name + "_backward")
    y = fw(x, axis=-1)
    yield "fwd", lambda: fw(x, axis=-1, out=out)
    yield "bx", lambda: bw(g, x, axis=-1, out=out)
    yield "by", lambda: bw(g, y=y, axis=-1, out=out)


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
    ap.add_argument("--row", type=int, default=1000,
                    help="row length of the softmax family (shape (n // row, row))")
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
                    show(s.name, d, dt, nt, mark, r)
            rows = (x.size // a.row, a.row)
            for name in AXIS:
                if only is not None and name not in only:
                    continue
                for d, f in axis_cases(name, x[:rows[0] * a.row].reshape(rows),
                                       g[:rows[0] * a.row].reshape(rows),
                                       out[:rows[0] * a.row].reshape(rows)):
                    r = medians_ms({"on": with_setting(shipped, f), "off": with_setting(0, f)},
                                   a.repeat)
                    mark = ("streams" if dt in AXIS_STREAM.get(axis_op(name, d), ())
                            and a.row * x.itemsize <= STREAM_ROW_BYTES else "ordinary")
                    show(name, d, dt, nt, mark, r)


def show(name, d, dt, nt, mark, r) -> None:
    print(f"{name:16s} {d:3s} {dt} {nt} thread(s) {mark:8s}: "
          f"on {r['on']:8.2f} ms  off {r['off']:8.2f} ms  off / on "
          f"{r['off'] / r['on']:.2f}", flush=True)


if __name__ == "__main__":
    main()
