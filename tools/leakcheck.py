"""Leak check: call each kind of fastact call many times and watch the
process's resident memory, the number of objects the garbage collector
tracks, and the reference counts of the arguments.

    PYTHONPATH=src python tools/leakcheck.py            # 1e5 calls per kind
    PYTHONPATH=src python tools/leakcheck.py --quick    # 1e4 calls per kind
    PYTHONPATH=src python tools/leakcheck.py --calls 200000 --only prelu

For each kind: a warm-up, then the calls in two halves.  A leak grows
linearly, so the growth over the second half is what is judged (the first
half absorbs caches and allocator pools):

* RSS growth over the second half above --rss-tol KiB (default 1024 KiB,
  about 20 bytes per call at 1e5 calls; scaled down with --quick),
* more objects tracked by gc after the calls than before (beyond
  --obj-tol, default 10), or more Python memory blocks allocated
  (sys.getallocatedblocks: every object, NumPy arrays included) over the
  second half (beyond --block-tol, default 100),
* any change in the reference count of an argument (the input arrays,
  out, the weight, the parameters),

print a table and exit 1.  Kinds that raise by design (the error paths)
must raise the expected exception on every call.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time

import numpy as np

import fastact as fa

try:
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE // 1024


def kinds():
    """[(name, fn, args to watch, expected exception or None, call weight)]"""
    rng = np.random.default_rng(0)
    x32 = rng.standard_normal(64).astype(np.float32)
    x64 = rng.standard_normal(64)
    g64 = rng.standard_normal(64)
    m32 = rng.standard_normal((8, 16)).astype(np.float32)
    g32 = rng.standard_normal((8, 16)).astype(np.float32)
    strided = rng.standard_normal(128)[::2]
    swapped = x64.astype(">f8")
    f16 = x32.astype(np.float16)
    ints = np.arange(-32, 32)
    lst = x64[:16].tolist()
    out32 = np.empty_like(x32)
    out_m = np.empty_like(m32)
    inplace = x64.copy()
    y = fa.sigmoid(x64)
    ysm = fa.softmax(m32)
    w8 = np.linspace(0.1, 0.8, 8).astype(np.float32)
    img = rng.standard_normal((2, 8, 4, 4)).astype(np.float32)
    gimg = rng.standard_normal((2, 8, 4, 4)).astype(np.float32)
    glu_x = rng.standard_normal((8, 16))
    glu_g = rng.standard_normal((8, 8))
    big = rng.standard_normal(1 << 18).astype(np.float32)
    cplx = x64.astype(np.complex128)
    bad_out = np.empty(63)
    ro_out = np.empty(64)
    ro_out.flags.writeable = False
    alpha = 0.5

    def threads_block():
        with fa.num_threads(1):
            pass

    def err(f, *a, **k):
        def run():
            f(*a, **k)
        return run

    K = [
        # fast paths
        ("fast sigmoid f32", lambda: fa.sigmoid(x32), [x32], None, 1),
        ("fast gelu f64", lambda: fa.gelu(x64), [x64], None, 1),
        ("fast elu param", lambda: fa.elu(x64, alpha=alpha), [x64, alpha], None, 1),
        ("scalar tanh", lambda: fa.tanh(0.5), [], None, 1),
        # general paths
        ("strided x", lambda: fa.silu(strided), [strided], None, 1),
        ("byte-swapped x", lambda: fa.mish(swapped), [swapped], None, 1),
        ("list x", lambda: fa.softplus(lst), [lst], None, 1),
        ("float16 x", lambda: fa.tanh(f16), [f16], None, 1),
        ("int x", lambda: fa.relu(ints), [ints], None, 1),
        # out=
        ("out=", lambda: fa.relu(x32, out=out32), [x32, out32], None, 1),
        ("out= in place", lambda: fa.hard_tanh(inplace, out=inplace), [inplace], None, 1),
        # backward, y=
        ("backward", lambda: fa.gelu_backward(g64, x64), [g64, x64], None, 1),
        ("backward out=", lambda: fa.tanh_backward(g64, x64, out=inplace),
         [g64, x64, inplace], None, 1),
        ("backward y=", lambda: fa.sigmoid_backward(g64, y=y), [g64, y], None, 1),
        ("backward mixed dtypes", lambda: fa.leaky_relu_backward(g64, x32), [g64, x32], None, 1),
        # along an axis
        ("softmax", lambda: fa.softmax(m32), [m32], None, 1),
        ("softmax axis=0", lambda: fa.softmax(m32, axis=0), [m32], None, 1),
        ("softmax F-order", lambda: fa.log_softmax(m32.T, axis=0), [m32], None, 1),
        ("softmax out=", lambda: fa.softmin(m32, out=out_m), [m32, out_m], None, 1),
        ("softmax_backward y=", lambda: fa.softmax_backward(g32, y=ysm), [g32, ysm], None, 1),
        ("log_softmax_backward", lambda: fa.log_softmax_backward(g32, m32), [g32, m32], None, 1),
        ("logsumexp", lambda: fa.logsumexp(m32, axis=0), [m32], None, 1),
        ("logsumexp_backward", lambda: fa.logsumexp_backward(m32[:, 0], m32, axis=1),
         [m32], None, 1),
        ("glu", lambda: fa.glu(glu_x), [glu_x], None, 1),
        ("geglu_backward", lambda: fa.geglu_backward(glu_g, glu_x), [glu_g, glu_x], None, 1),
        ("swiglu axis=0", lambda: fa.swiglu(glu_x, axis=0), [glu_x], None, 1),
        ("maxout", lambda: fa.maxout(m32, 4), [m32], None, 1),
        ("maxout_backward", lambda: fa.maxout_backward(m32[:, :4], m32, 4), [m32], None, 1),
        ("sparsemax", lambda: fa.sparsemax(m32), [m32], None, 1),
        ("sparsemax_backward", lambda: fa.sparsemax_backward(g32, m32), [g32, m32], None, 1),
        ("softmax_jacobian", lambda: fa.softmax_jacobian(m32[:2]), [m32], None, 1),
        # per channel
        ("prelu", lambda: fa.prelu(img, w8), [img, w8], None, 1),
        ("prelu strided", lambda: fa.prelu(img[:, :, ::2], w8), [img, w8], None, 1),
        ("prelu_backward", lambda: fa.prelu_backward(gimg, img, w8), [gimg, img, w8], None, 1),
        # threads: a large array (OpenMP when built with it)
        ("parallel sigmoid 2^18", lambda: fa.sigmoid(big), [big], None, 50),
        ("parallel softmax 2^18", lambda: fa.softmax(big.reshape(512, 512)), [big], None, 50),
        ("num_threads block", threads_block, [], None, 1),
        # error paths
        ("error: bad dtype", err(fa.sigmoid, cplx), [cplx], TypeError, 1),
        ("error: bad dtype axis", err(fa.softmax, cplx), [cplx], TypeError, 1),
        ("error: out shape", err(fa.relu, x64, out=bad_out), [x64, bad_out], ValueError, 1),
        ("error: out read-only", err(fa.relu, x64, out=ro_out), [x64, ro_out], ValueError, 1),
        ("error: out dtype", err(fa.softmax, m32, out=out32.reshape(4, 16).astype(np.float64)),
         [m32], (ValueError, TypeError), 1),
        ("error: bad param value", err(fa.celu, x64, alpha=0.0), [x64], ValueError, 1),
        ("error: bad param type", err(fa.elu, x64, alpha="1"), [x64], TypeError, 1),
        ("error: axis", err(fa.softmax, m32, axis=5), [m32], AxisError, 1),
        ("error: odd split", err(fa.glu, x64[:63]), [x64], ValueError, 1),
        ("error: x and y", err(fa.sigmoid_backward, g64, x64, y=y), [g64, x64, y], TypeError, 1),
        ("error: shape mismatch", err(fa.gelu_backward, g64[:5], x64), [g64, x64], ValueError, 1),
        ("error: prelu weight", err(fa.prelu, img, w8[:3]), [img, w8], ValueError, 1),
    ]
    return K


def measure(name, fn, watched, exc, n):
    def one():
        if exc is None:
            fn()
            return
        try:
            fn()
        except exc:
            return
        raise AssertionError(f"{name}: no {exc} raised")

    for _ in range(min(2000, n)):
        one()
    gc.collect()
    refs0 = [sys.getrefcount(o) for o in watched]
    objs0 = len(gc.get_objects())
    rss0 = rss_kib()
    half = n // 2
    t0 = time.perf_counter()
    for _ in range(half):
        one()
    gc.collect()
    rss1 = rss_kib()
    blocks1 = sys.getallocatedblocks()
    for _ in range(n - half):
        one()
    dt = time.perf_counter() - t0
    gc.collect()
    rss2 = rss_kib()
    objs1 = len(gc.get_objects())
    blocks2 = sys.getallocatedblocks()
    refs1 = [sys.getrefcount(o) for o in watched]
    return dict(name=name, calls=n, us=1e6 * dt / n, rss_first=rss1 - rss0,
                rss_second=rss2 - rss1, objs=objs1 - objs0, blocks=blocks2 - blocks1,
                refs=[b - a for a, b in zip(refs0, refs1)])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1e4 calls per kind (default 1e5)")
    ap.add_argument("--calls", type=int, default=None, help="calls per kind")
    ap.add_argument("--only", default=None, help="only kinds whose name contains this")
    ap.add_argument("--rss-tol", type=float, default=None,
                    help="KiB of RSS growth allowed over the second half of the calls")
    ap.add_argument("--obj-tol", type=int, default=10, help="gc-tracked objects allowed")
    ap.add_argument("--block-tol", type=int, default=100,
                    help="Python memory blocks allowed over the second half (any object, "
                         "NumPy arrays included)")
    a = ap.parse_args(argv)
    n = a.calls or (10_000 if a.quick else 100_000)
    rss_tol = a.rss_tol if a.rss_tol is not None else max(256.0, 1024.0 * n / 100_000)
    K = kinds()
    if a.only:
        K = [k for k in K if a.only in k[0]]
    print(f"fastact {fa.__version__}: {n} calls per kind (fewer for the large arrays), "
          f"RSS tolerance {rss_tol:.0f} KiB over the second half, objects {a.obj_tol}, "
          f"blocks {a.block_tol}")
    head = f"{'kind':<28s} {'calls':>7s} {'us/call':>8s} {'RSS 1st':>8s} {'RSS 2nd':>8s} " \
           f"{'blocks':>7s} {'objects':>8s} {'refcounts':>10s}  verdict"
    print(head)
    print("-" * len(head))
    bad = 0
    t0 = time.perf_counter()
    for name, fn, watched, exc, weight in K:
        r = measure(name, fn, watched, exc, max(100, n // weight))
        ok = (r["rss_second"] <= rss_tol and r["objs"] <= a.obj_tol
              and r["blocks"] <= a.block_tol
              and all(d == 0 for d in r["refs"]))
        bad += not ok
        refs = ",".join(str(d) for d in r["refs"]) or "-"
        print(f"{name:<28s} {r['calls']:>7d} {r['us']:>8.1f} {r['rss_first']:>7d}K "
              f"{r['rss_second']:>7d}K {r['blocks']:>7d} {r['objs']:>8d} {refs:>10s}  "
              f"{'ok' if ok else 'LEAK?'}",
              flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{len(K)} kinds in {time.perf_counter() - t0:.0f} s, peak RSS {peak // 1024} MiB: "
          + ("no growth" if not bad else f"{bad} kind(s) grew"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
