"""2 threads vs 1 thread, idle and with a CPU-bound process beside it.

    python benchmarks/busy_core.py

With another process busy on a core of this 2-core machine, 2 threads must
not be slower than 1 thread (include/fa_pool.h: the caller never waits for
a worker that has not started, and the contention back-off).  Prints the median time per call for 1 and 2 threads,
first on an idle machine, then with a `while True: pass` process running,
and the ratio (2 threads / 1 thread).  A benchmark, not a test: timings on a
shared machine are noisy.
"""
import subprocess
import sys
import time

import numpy as np

import fastact as fa


def med(f, reps=60, inner=10):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        ts.append((time.perf_counter() - t0) / inner)
    ts.sort()
    return ts[len(ts) // 2] * 1e6


def main():
    rng = np.random.default_rng(0)
    x6 = rng.standard_normal(1_000_000).astype(np.float32)
    x5 = rng.standard_normal(100_000).astype(np.float32)
    y6, y5 = np.empty_like(x6), np.empty_like(x5)
    cases = {"sigmoid 1e6": lambda: fa.sigmoid(x6, out=y6),
             "relu 1e6": lambda: fa.relu(x6, out=y6),
             "gelu 1e5": lambda: fa.gelu(x5, out=y5),
             "sigmoid 1e5": lambda: fa.sigmoid(x5, out=y5)}
    n0 = fa.get_num_threads()
    for busy in (False, True):
        p = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            time.sleep(0.3)
            for name, f in cases.items():
                fa.set_num_threads(1)
                a = med(f)
                fa.set_num_threads(2)
                b = med(f)
                print(f"{'busy' if busy else 'idle'}  {name:12s} 1 thread {a:8.1f} us   "
                      f"2 threads {b:8.1f} us   ratio {b / a:.2f}", flush=True)
        finally:
            if p:
                p.kill()
    fa.set_num_threads(n0)


if __name__ == "__main__":
    main()
