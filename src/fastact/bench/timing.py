"""How a call is timed.

Repeated calls with preallocated outputs, ``time.perf_counter_ns``: a
warm-up, an inner loop sized so that one repeat takes about ``target_ms``,
then ``repeats`` repeats (fewer, but at least ``min_repeats``, when a
repeat is slow and ``budget_ms`` is spent).  The figure is the median of
the per-call times of the repeats; the minimum is kept too.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from time import perf_counter_ns

__all__ = ["Timing", "Timer", "block"]


@dataclass
class Timing:
    times: list          # per-call ns of each repeat
    inner: int

    @property
    def median_ns(self) -> float:
        return statistics.median(self.times)

    @property
    def min_ns(self) -> float:
        return min(self.times)

    @property
    def repeats(self) -> int:
        return len(self.times)

    def merge(self, other: "Timing") -> "Timing":
        return Timing(self.times + other.times, self.inner)

    def as_dict(self) -> dict:
        return {"median_ns": self.median_ns, "min_ns": self.min_ns,
                "repeats": self.repeats, "inner": self.inner}


def block(fn, n: int) -> int:
    """Nanoseconds for n calls of fn."""
    t0 = perf_counter_ns()
    for _ in range(n):
        fn()
    return perf_counter_ns() - t0


@dataclass
class Timer:
    target_ms: float = 2.0     # one repeat (inner loop) lasts about this long
    repeats: int = 9           # median of this many repeats
    min_repeats: int = 3
    budget_ms: float = 150.0   # stop adding repeats past this (slow calls)
    warmup_ms: float = 1.0

    def calibrate(self, fn) -> int:
        """Warm up, then return the inner-loop count for one repeat."""
        target = self.target_ms * 1e6
        spent = block(fn, 1)                  # first call: caches, page faults
        t1 = max(block(fn, 1), 1)
        spent += t1
        n = max(1, int(target / 4 / t1))      # about a quarter of a repeat
        t = block(fn, n)
        spent += t
        while spent < self.warmup_ms * 1e6:   # finish the warm-up
            spent += block(fn, n)
        per_call = t / n
        return max(1, int(round(target / per_call))) if per_call < target else 1

    def measure(self, fn, inner: int | None = None, repeats: int | None = None) -> Timing:
        if inner is None:
            inner = self.calibrate(fn)
        times = []
        budget = self.budget_ms * 1e6 * (repeats or self.repeats) / self.repeats
        spent = 0
        for _ in range(repeats or self.repeats):
            t = block(fn, inner)
            spent += t
            times.append(t / inner)
            if spent > budget and len(times) >= min(self.min_repeats, repeats or self.repeats):
                # a slow call: enough repeats once the budget is spent
                break
        return Timing(times, inner)


QUICK = Timer(target_ms=0.5, repeats=6, min_repeats=2, budget_ms=15.0, warmup_ms=0.25)
FULL = Timer(target_ms=2.0, repeats=12, min_repeats=4, budget_ms=200.0, warmup_ms=2.0)
