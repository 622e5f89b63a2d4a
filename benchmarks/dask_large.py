"""fastact.dask on data larger than memory: peak RSS and time.

    python benchmarks/dask_large.py                 # 2e9 float32 (8 GB), chunks of 1e7
    python benchmarks/dask_large.py --size 2e8      # smaller

The input is generated lazily, chunk by chunk (a cheap deterministic
pattern: np.linspace per chunk, values in [-8, 8]); it never exists whole.
Each case runs in its own process (so its peak RSS, getrusage maxrss, is its
own) on Dask's threaded scheduler (one thread per core; fastact.dask runs
fastact with 1 thread per task there):

  sigmoid_sum     fad.sigmoid(x).sum()           x: (size,), chunks of `chunk`
  softmax_sum     fad.softmax(x, -1).sum()       rows of 1e5, whole rows per chunk
  softmax_split   fad.softmax(x, -1).sum()       rows of 1e6 split in 2 chunks (two-stage)

against the loop a user would write by hand, generating each chunk the
same way: NumPy (1/(1+exp(-x)); exp(x - max) / sum), one core, and the same
loop with fastact's functions (fastact's own threads, all cores).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROW_WHOLE = 100_000
ROW_SPLIT = 1_000_000


def gen(i: int, shape) -> np.ndarray:
    """Chunk i of the input: cheap and deterministic."""
    n = int(np.prod(shape))
    lo = -8.0 + 0.01 * (i % 13)
    return np.linspace(lo, 8.0, n, dtype=np.float32).reshape(shape)


def _layout(case, size, chunk):
    if case.startswith("sigmoid"):
        nb = size // chunk
        return (nb * chunk,), (chunk,)
    row = ROW_WHOLE if case == "softmax_sum" else ROW_SPLIT
    if case == "softmax_sum":
        rows_per = max(1, chunk // row)
        cshape = (rows_per, row)
    else:  # rows split in two chunks along the axis
        rows_per = max(1, 2 * chunk // row)
        cshape = (rows_per, row // 2)
    nrows = (size // row) // rows_per * rows_per
    return (nrows, row), cshape


def _dask_input(case, size, chunk):
    import dask.array as da
    shape, cshape = _layout(case, size, chunk)
    nbs = [s // c for s, c in zip(shape, cshape)]

    def block(block_info=None):
        loc = block_info[None]["chunk-location"]
        i = int(np.ravel_multi_index(loc, nbs))
        return gen(i, cshape)

    chunks = tuple((c,) * nb for c, nb in zip(cshape, nbs))
    return da.map_blocks(block, chunks=chunks, dtype=np.float32,
                         meta=np.empty((0,) * len(shape), np.float32))


def run_dask(case, size, chunk):
    import dask
    import fastact.dask as fad
    x = _dask_input(case, size, chunk)
    t0 = time.perf_counter()
    if case == "sigmoid_sum":
        r = fad.sigmoid(x).sum(dtype=np.float64)
    else:
        r = fad.softmax(x, axis=-1).sum(dtype=np.float64)
    t_build = time.perf_counter() - t0
    with dask.config.set(scheduler="threads"):
        v = float(r.compute())
    return v, t_build


def _blocks(case, size, chunk):
    """The chunks a hand-written loop visits, in the same numbering as the
    Dask array; softmax_split yields whole row groups (both halves)."""
    shape, cshape = _layout(case, size, chunk)
    nbs = [s // c for s, c in zip(shape, cshape)]
    if case != "softmax_split":
        for i in range(int(np.prod(nbs))):
            yield gen(i, cshape)
    else:
        for r in range(nbs[0]):
            yield np.concatenate([gen(r * 2 + j, cshape) for j in range(2)], axis=1)


def run_loop(case, size, chunk, lib):
    import fastact as fa
    total = 0.0
    for x in _blocks(case, size, chunk):
        if case == "sigmoid_sum":
            if lib == "numpy":
                y = np.exp(-x)
                y += 1
                np.reciprocal(y, out=y)
            else:
                y = fa.sigmoid(x)
        else:
            if lib == "numpy":
                y = np.exp(x - x.max(axis=-1, keepdims=True))
                y /= y.sum(axis=-1, keepdims=True)
            else:
                y = fa.softmax(x, axis=-1)
        total += float(y.sum(dtype=np.float64))
    return total


def child(args):
    import fastact  # noqa: F401  (imports are not timed)
    if args.how == "dask":
        import dask.array  # noqa: F401
        import fastact.dask  # noqa: F401
    t0 = time.perf_counter()
    extra = {}
    if args.how == "dask":
        v, extra["build_s"] = run_dask(args.case, args.size, args.chunk)
    else:
        v = run_loop(args.case, args.size, args.chunk, args.how)
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    print(json.dumps({"case": args.case, "how": args.how, "time_s": dt, "peak_rss_mib": rss,
                      "value": v, **extra}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=float, default=2e9, help="elements (default 2e9)")
    p.add_argument("--chunk", type=float, default=1e7, help="elements a chunk (default 1e7)")
    p.add_argument("--cases", default="sigmoid_sum,softmax_sum,softmax_split")
    p.add_argument("--hows", default="dask,numpy,fastact")
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--how", help=argparse.SUPPRESS)
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    args.size, args.chunk = int(args.size), int(args.chunk)
    if args.case:
        return child(args)
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(here), "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    results = []
    print(f"size {args.size:.3g} float32 ({args.size * 4 / 2**30:.1f} GiB), chunks of "
          f"{args.chunk:.3g}, {os.cpu_count()} CPUs")
    for case in args.cases.split(","):
        row = {}
        for how in args.hows.split(","):
            out = subprocess.run([sys.executable, __file__, "--case", case, "--how", how,
                                  "--size", str(args.size), "--chunk", str(args.chunk)],
                                 env=env, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            row[how] = r
            print(f"  {case:14s} {how:8s} {r['time_s']:8.2f} s   peak RSS "
                  f"{r['peak_rss_mib']:7.0f} MiB   value {r['value']:.6g}", flush=True)
        if "dask" in row and "numpy" in row:
            print(f"  {case:14s} dask / numpy loop: "
                  f"{row['dask']['time_s'] / row['numpy']['time_s']:.2f}x", end="")
            if "fastact" in row:
                print(f"   dask / fastact loop: "
                      f"{row['dask']['time_s'] / row['fastact']['time_s']:.2f}x", end="")
            print()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
