"""What the side-by-side benchmark scripts share (fused_bias.py, narrow.py,
cross_entropy.py and their pytest-benchmark files): one thread count for
fastact and torch, round-robin medians, and a pytest-benchmark run at a
thread count.  Not collected by pytest (no test_ prefix)."""

from __future__ import annotations

import statistics
import time

import fastact as fa
from fastact.bench.runner import SETTLE_NS, settle


def set_threads(n: int) -> None:
    fa.set_num_threads(n)
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


def medians_ms(fns: dict, repeat: int) -> dict:
    """{label: median wall ms}; the cases run round-robin, so that a noisy
    neighbour slows them alike, each timed call after untimed ones
    (fastact.bench.runner.SETTLE_NS: the previous case's library may still
    spin on the cores)"""
    ts = {k: [] for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            settle(f, SETTLE_NS)
            t0 = time.perf_counter()
            f()
            ts[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) * 1e3 for k, v in ts.items()}


def bench_at(benchmark, fn, threads: int, group: str, label: str) -> None:
    """benchmark.pedantic(fn) with fastact and torch at `threads`, the
    previous count restored after"""
    prev = fa.get_num_threads()
    set_threads(threads)
    try:
        benchmark.group = group
        benchmark.extra_info["case"] = label
        benchmark.pedantic(fn, rounds=7, warmup_rounds=1)
    finally:
        set_threads(prev)


def thread_counts(spec: str):
    """the counts of a "1,2" option, fastact and torch set to each in turn
    (a generator; the previous count is restored when it ends)"""
    prev = fa.get_num_threads()
    try:
        for n in map(int, spec.split(",")):
            set_threads(n)
            yield n
    finally:
        set_threads(prev)


def ratio_line(label: str, r: dict) -> str:
    """"label: name ms ... torch / fastact R" for a {name: median ms} with a
    "fastact" entry (and a "torch" one when torch is installed)"""
    ratio = f"  torch / fastact {r['torch'] / r['fastact']:.2f}x" if "torch" in r else ""
    return f"{label}: " + "  ".join(f"{k} {v:.2f} ms" for k, v in r.items()) + ratio
