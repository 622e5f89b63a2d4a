"""softmax_cross_entropy forward + backward against torch's
F.cross_entropy forward + backward (autograd), float32, class indices,
reduction="none", on (4096, 1000) and (64, 50257), 1 and 2 threads.

    PYTHONPATH=src python benchmarks/cross_entropy.py [--repeat 15] [--threads 1,2]

Prints the median wall time of each (ms, the cases round-robin) and torch
/ fastact.  Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse

import numpy as np

import fastact as fa
from side_by_side import medians_ms, ratio_line, thread_counts

SHAPES = ((4096, 1000), (64, 50257))


def cases(shape) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    t = rng.integers(0, shape[1], shape[0])
    g = np.ones(shape[0], np.float32)

    def fastact():
        fa.softmax_cross_entropy(x, t)
        fa.softmax_cross_entropy_backward(g, x, t)
    c = {"fastact": fastact}
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return c
    tx, tt, tg = torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(g)

    def torch_xent():
        xx = tx.detach().requires_grad_()
        F.cross_entropy(xx, tt, reduction="none").backward(tg)
    c["torch"] = torch_xent
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    for n in thread_counts(args.threads):
        for shape in SHAPES:
            print(ratio_line(f"{n} thread(s) {shape}", medians_ms(cases(shape), args.repeat)))


if __name__ == "__main__":
    main()
