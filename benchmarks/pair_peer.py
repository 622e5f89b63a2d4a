"""fastact against one peer on one of the report's cases, in adjacent pairs.

    PYTHONPATH=src python benchmarks/pair_peer.py LABEL DIRECTION DTYPE N PEER [PAIRS] [THREADS]
    e.g. ... gelu_tanh forward float32 1e5 onnxruntime 150

The case is the report's own (fastact.bench.cases: its data, its
preallocated output, the peer's call from fastact.bench.peers).  Each of
PAIRS pairs times two calls of one library, then two of the other (wall
time; the order alternates; at 2 threads or more each half first runs
2 ms of untimed calls, as the report does, so that the other library's
idle workers stop spinning), and prints the median and quartiles of the
pairs' ratios, peer time / fastact time.  A change of this shared host's
speed state then falls inside a pair, not between the libraries.  Not a
test (pytest does not collect it).
"""

from __future__ import annotations

import sys
import time

import numpy as np

import fastact as fa
from fastact.bench import cases as C
from fastact.bench import peers as P

from ab_builds import pair_ratios


def main(argv):
    label, direction, dt, n, peer = argv[:5]
    pairs = int(argv[5]) if len(argv) > 5 else 300
    th = int(argv[6]) if len(argv) > 6 else 1
    n = int(float(n))
    fa.set_num_threads(th)
    v = next(v for v in C.variants() if v.label == label)
    case = C.make_case(v, direction, np.dtype(dt), n)
    pr = P.all_peers([peer])[0]
    pr.set_threads(th)
    fp, ff = pr.make(case), C.fastact_call(case)
    # peer / fastact: the peer as "old", fastact as "new"
    rs, tp, tf = pair_ratios(fp, ff, pairs, clock=time.perf_counter_ns,
                             settle_ns=2_000_000 if th > 1 else 0, warm=300)
    q1, q2, q3 = np.quantile(rs, (0.25, 0.5, 0.75))
    print(f"{label} {direction} {dt} {n:.0e} {th}t: fastact {tf / 1e3:.1f} us "
          f"{peer} {tp / 1e3:.1f} us  {peer}/fastact {q2:.3f} (quartiles {q1:.3f} {q3:.3f})")


if __name__ == "__main__":
    main(sys.argv[1:])
