"""Short calls of the cheap kernels against torch, round-robin: the 1e5
float64 cases where the report's figures at 2 threads move by +-20% from
run to run (8-18 us calls).  Each round times every case back to back
(fastact.bench.runner.SETTLE_NS of untimed calls first), `--repeat` rounds.

    cd benchmarks && PYTHONPATH=../src python cheap_calls.py [--threads 1,2] [--n 1e5]

Prints round-robin medians (ms) and torch / fastact.  Not collected by
pytest (no test_ prefix)."""

from __future__ import annotations

import argparse

import numpy as np

import fastact as fa
from side_by_side import medians_ms, ratio_line, thread_counts


def cases(n: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n) * 3.0
    g = rng.standard_normal(n)
    o = np.empty_like(x)
    out = {
        "hard_tanh": {"fastact": lambda: fa.hard_tanh(x, out=o)},
        "relu6": {"fastact": lambda: fa.relu6(x, out=o)},
        "relu": {"fastact": lambda: fa.relu(x, out=o)},
        "relu backward": {"fastact": lambda: fa.relu_backward(g, x, out=o)},
        "tanh backward (y)": {"fastact": lambda: fa.tanh_backward(g, y=x, out=o)},
    }
    try:
        import torch
    except ImportError:
        return out
    A = torch.ops.aten
    tx, tg, to = map(torch.from_numpy, (x, g, o))
    out["hard_tanh"]["torch"] = lambda: torch.clamp(tx, -1.0, 1.0, out=to)
    out["relu6"]["torch"] = lambda: torch.clamp(tx, 0.0, 6.0, out=to)
    out["relu"]["torch"] = lambda: torch.clamp_min(tx, 0.0, out=to)
    out["relu backward"]["torch"] = lambda: A.threshold_backward.grad_input(tg, tx, 0.0,
                                                                            grad_input=to)
    out["tanh backward (y)"]["torch"] = lambda: A.tanh_backward.grad_input(tg, tx, grad_input=to)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--n", type=float, default=1e5)
    ap.add_argument("--repeat", type=int, default=200)
    a = ap.parse_args()
    cs = cases(int(a.n))
    for nt in thread_counts(a.threads):
        for label, fns in cs.items():
            print(ratio_line(f"{nt} thread(s) float64 n={int(a.n)} {label}",
                             medians_ms(fns, a.repeat)))


if __name__ == "__main__":
    main()
