"""PReLU speed: fastact vs torch, single thread, float32.

    PYTHONPATH=src python benchmarks/prelu_speed.py [--repeat 7] [--scale 1.0]

CPU time of the calling thread (time.thread_time_ns), best of --repeat, with
fastact and torch both limited to one thread (the machine is shared: CPU
time is steadier than wall time).  torch's backward is what autograd runs
for F.prelu: aten._prelu_kernel_backward (grad_input and a full-size
weight-gradient term) followed by the sum to weight's shape.
Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fastact as fa


def best(fn, repeat):
    fn()                                  # warm-up (allocations, code paths)
    ts = []
    for _ in range(repeat):
        t0 = time.thread_time_ns()
        fn()
        ts.append(time.thread_time_ns() - t0)
    return min(ts) * 1e-9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="scale the leading dimension (quick runs: 0.1)")
    args = ap.parse_args()
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    n0 = max(1, int(64 * args.scale))
    cases = [
        ("NCHW (64,256,56,56) axis=1", (n0, 256, 56, 56), 1, 256),
        ("channels-last (64*56*56,256) axis=1", (n0 * 56 * 56, 256), 1, 256),
        ("(1e6,) one shared weight", (int(1_000_000 * args.scale),), 0, 1),
    ]
    rng = np.random.default_rng(0)
    print(f"fastact {fa.__version__}, torch {torch.__version__}; float32, 1 thread, "
          f"best of {args.repeat} (thread CPU time)")
    print(f"{'case':40s} {'pass':8s} {'fastact ms':>11s} {'torch ms':>10s} {'torch/fastact':>15s}")
    with fa.num_threads(1):
        for name, shape, axis, nw in cases:
            x = rng.standard_normal(shape, dtype=np.float32)
            g = rng.standard_normal(shape, dtype=np.float32)
            w = rng.uniform(0, 0.5, nw).astype(np.float32)
            tx, tg, tw = torch.from_numpy(x), torch.from_numpy(g), torch.from_numpy(w)
            # weight as _prelu_kernel sees it: broadcast along the channel axis
            wshape = [1] * (len(shape) - axis)
            wshape[0] = nw
            twv = tw.view(wshape) if nw > 1 else tw
            # same results (forward exactly, gradients to rounding)
            ty = F.prelu(tx, tw)
            assert np.array_equal(fa.prelu(x, w, axis=axis), ty.numpy())

            def t_bwd():
                gi, gwf = torch.ops.aten._prelu_kernel_backward(tg, tx, twv)
                return gi, gwf.sum_to_size(twv.shape).reshape(tw.shape)

            gx, gw = fa.prelu_backward(g, x, w, axis=axis)
            tgx, tgw = t_bwd()
            assert np.array_equal(gx, tgx.numpy())
            assert np.allclose(gw, tgw.numpy(), rtol=1e-3, atol=1e-2)
            rows = [
                ("forward", lambda: fa.prelu(x, w, axis=axis), lambda: F.prelu(tx, tw)),
                ("backward", lambda: fa.prelu_backward(g, x, w, axis=axis), t_bwd),
            ]
            for pname, f_fa, f_t in rows:
                a = best(f_fa, args.repeat)
                b = best(f_t, args.repeat)
                print(f"{name:40s} {pname:8s} {a * 1e3:11.2f} {b * 1e3:10.2f} {b / a:14.2f}x",
                      flush=True)
            del x, g, tx, tg, ty, gx, tgx


if __name__ == "__main__":
    main()
