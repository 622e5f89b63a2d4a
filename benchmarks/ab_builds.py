"""Two builds of fastact side by side in one process: before / after a kernel change.

    python benchmarks/ab_builds.py OLD NEW [--rounds 8] [--threads 1] [--cases default|float64|cheap|heavy]
        [--only TEXT] [--pairs N]

OLD and NEW are directories holding a built `fastact` package (a copy of
`src/` taken before the change, e.g. `cp -r src/fastact /tmp/old/`, and `src`).
Both are imported into this process (the extension modules load from their
own paths), then each case is timed with the builds interleaved, the order
alternating from round to round: medians of 41 calls of thread CPU time per
round, the median over the rounds, and old time / new time (above 1: the new
build is faster).  On a shared machine, separate processes for the two builds
read 5-10% apart from one another's cache placement and the neighbours' load;
interleaving in one process takes both out of the ratio.

--pairs N times each case as N adjacent pairs instead (two calls of one
build, then two of the other, the order alternating, after a warm-up), and
prints the median and quartiles of the N ratios: a change of the machine's
speed state (this 2-core host has two about 1.5x apart) then falls inside
one pair, not between the builds' rounds, and unchanged code reads within
~2% of 1.000 where the rounds' medians can read 0.7-1.4.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

import numpy as np


def load(path):
    """the fastact package under `path`, imported afresh"""
    for k in [k for k in sys.modules if k == "fastact" or k.startswith("fastact.")]:
        del sys.modules[k]
    sys.path.insert(0, path)
    try:
        return importlib.import_module("fastact")
    finally:
        sys.path.pop(0)


def median_ns(f, reps=41, warm_ns=3e6):
    t = time.thread_time_ns()
    while time.thread_time_ns() - t < warm_ns:
        f()
    ts = []
    for _ in range(reps):
        t = time.thread_time_ns()
        f()
        ts.append(time.thread_time_ns() - t)
    return float(np.median(ts))


def pair_ratios(f_old, f_new, pairs, clock=time.thread_time_ns, settle_ns=0, warm=100):
    """old/new time ratios of `pairs` adjacent pairs (two calls of one,
    then two of the other, the order alternating; `clock`'s time), and
    each side's median time per call.  settle_ns: each half first runs that
    long untimed (another library's idle workers may spin on the cores)."""
    for _ in range(warm):
        f_old(); f_new()
    rs, to, tn = [], [], []
    for i in range(pairs):
        fs = (f_old, f_new) if i % 2 == 0 else (f_new, f_old)
        t = []
        for f in fs:
            end = clock() + settle_ns
            while settle_ns and clock() < end:
                f()
            t0 = clock()
            f(); f()
            t.append(clock() - t0)
        a, b = t if i % 2 == 0 else t[::-1]
        rs.append(a / b); to.append(a / 2); tn.append(b / 2)
    return rs, float(np.median(to)), float(np.median(tn))


def cases(which="default"):
    """(label, function name, arguments, keywords): "default", the softmax
    family's row shapes, float32 (and softmax's backward from y), and the
    exponential-based elementwise functions at 1e5; "float64", the softmax
    family in float64 forward and backward (from y, as torch) on the
    report's shapes; "cheap", the elementwise functions of the cheap cost
    class forward and backward (from x) at 1e5 (float32, float64) and 1.6e7
    (float32); "heavy", the other elementwise functions (one case per kernel:
    gelu's two forms) forward and backward at 1e5 (float32, float64)"""
    rng = np.random.default_rng(0)
    out = []
    if which in ("cheap", "heavy"):
        from fastact import _spec
        cheap = which == "cheap"
        specs = [a for a in _spec.SPECS if a.kind == _spec._E and (a.cost == "cheap") == cheap]
        sizes = ((100_000, (np.float32, np.float64)),) + (((16_000_000, (np.float32,)),) if cheap else ())
        for n, dts in sizes:
            for dt in dts:
                x = (rng.standard_normal(n) * 4).astype(dt)
                g = rng.standard_normal(n).astype(dt)
                tag = f"{np.dtype(dt).name} {n:.0e}"
                for a in specs:
                    kw = {p.name: 0.5 for p in a.params if p.default is _spec.REQUIRED}  # threshold
                    # one case per kernel of a choice parameter (gelu's approximate)
                    ch = next((p for p in a.params if p.type == "choice"), None)
                    for kv in ([{}] if ch is None else [{ch.name: c} for c in ch.choices]):
                        lb = a.name + "".join(f" {v}" for v in kv.values())
                        out += [(f"{lb} {tag}", a.name, (x,), {**kw, **kv}),
                                (f"{lb} backward {tag}", a.name + "_backward", (g, x), {**kw, **kv})]
        return out
    if which == "float64":
        for shape in ((100, 1000), (4096, 1000), (16384, 64), (256, 4096), (64, 50257)):
            x = rng.standard_normal(shape) * 3
            g = rng.standard_normal(shape)
            z = x - x.max(axis=-1, keepdims=True)
            ly = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
            for nm, y in (("softmax", np.exp(ly)), ("log_softmax", ly)):
                out += [(f"{nm} float64 {shape}", nm, (x,), {}),
                        (f"{nm}_backward float64 {shape}", nm + "_backward", (g,), {"y": y})]
        return out
    for shape in ((100, 1000), (256, 4096), (16384, 64), (4096, 1000), (64, 50257)):
        x = rng.standard_normal(shape).astype(np.float32)
        out += [(f"{nm} float32 {shape}", nm, (x,), {}) for nm in ("softmax", "log_softmax", "softmin")]
        out.append((f"softmax_backward float32 {shape}", "softmax_backward",
                    (rng.standard_normal(shape).astype(np.float32),),
                    {"y": np.exp(x - np.logaddexp.reduce(x, axis=-1, keepdims=True))}))
    x = (rng.standard_normal(100_000) * 4).astype(np.float32)
    out += [(f"{nm} float32 1e5", nm, (x,), {}) for nm in ("sigmoid", "silu", "quick_gelu", "softplus", "elu")]
    x = x.astype(np.float64)
    out += [(f"{nm} float64 1e5", nm, (x,), {}) for nm in ("sigmoid", "silu", "softplus")]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cases", choices=("default", "float64", "cheap", "heavy"), default="default")
    ap.add_argument("--only", default="", help="the cases whose label holds this text")
    ap.add_argument("--pairs", type=int, default=0, help="adjacent pairs per case instead of rounds")
    a = ap.parse_args()
    old, new = load(a.old), load(a.new)
    if old.__file__ == new.__file__:
        sys.exit(f"ab_builds.py: both directories load {old.__file__}")
    for m in (old, new):
        m.set_num_threads(a.threads)
    todo = [c for c in cases(a.cases) if a.only in c[0]]
    if a.pairs:
        print(f"old {old.__file__}\nnew {new.__file__}\n{a.threads} thread(s), {a.pairs} pairs")
        for label, nm, args, kw in todo:
            o = np.empty_like(args[0])
            fo, fn = (lambda f=getattr(m, nm): f(*args, **kw, out=o) for m in (old, new))
            rs, to, tn = pair_ratios(fo, fn, a.pairs)
            q1, q2, q3 = np.quantile(rs, (0.25, 0.5, 0.75))
            print(f"{label:32s} old {to / 1e3:9.1f} us  new {tn / 1e3:9.1f} us  "
                  f"old/new {q2:.3f} (quartiles {q1:.3f} {q3:.3f})")
        return
    times = {label: ([], []) for label, *_ in todo}
    for r in range(a.rounds):
        for label, nm, args, kw in todo:
            o = np.empty_like(args[0])
            for k in ((0, 1) if r % 2 == 0 else (1, 0)):
                f = getattr((old, new)[k], nm)
                times[label][k].append(median_ns(lambda: f(*args, **kw, out=o)))
    print(f"old {old.__file__}\nnew {new.__file__}\n{a.threads} thread(s), {a.rounds} rounds")
    for label, (t_old, t_new) in times.items():
        to, tn = np.median(t_old), np.median(t_new)
        print(f"{label:32s} old {to / 1e3:9.1f} us  new {tn / 1e3:9.1f} us  old/new {to / tn:.3f}")


if __name__ == "__main__":
    main()
