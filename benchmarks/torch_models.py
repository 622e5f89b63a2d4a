"""End-to-end batch inference of two torch models on the CPU, float32, with
and without fastact.torch.patch:

* a 4-layer MLP: Linear(2048, 2048) x 4 with GELU between them (3 GELUs),
  batch 512, once with the erf form (nn.GELU()) and once with the tanh
  form (nn.GELU(approximate="tanh"));
* one nn.TransformerEncoderLayer(d_model=512, nhead=8, dim_feedforward=2048,
  activation="gelu", dropout=0), sequence 256, batch 8, in eval mode, with
  batch_first=False (torch's standard path) and batch_first=True (where
  torch takes its fused inference path; patch turns that path off, since it
  would not call the replaced activation).

Both libraries at their default thread counts (printed).  Each case is
warmed up, then the unpatched and patched models run alternately (so drift
on a shared machine hits both) and the medians (and minima) are
reported, with the
activation alone (torch's F.gelu and fastact.torch.gelu on the activation's
shape) to show its share of the batch time.

    python benchmarks/torch_models.py [--repeat 15] [--warmup 3] [--threads N]

A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F

import fastact as fa
import fastact.torch as ft


def mlp(hidden=2048, layers=4, approximate="none"):
    mods = []
    for i in range(layers):
        mods.append(nn.Linear(hidden, hidden))
        if i < layers - 1:
            mods.append(nn.GELU(approximate=approximate))
    return nn.Sequential(*mods)


def encoder(batch_first):
    return nn.TransformerEncoderLayer(d_model=512, nhead=8, dim_feedforward=2048, dropout=0.0,
                                      activation="gelu", batch_first=batch_first)


def _time(fn, x):
    t0 = time.perf_counter()
    fn(x)
    return time.perf_counter() - t0


def compare(fns, x, repeat, warmup):
    """(median, min) seconds of each function of `fns`, run alternately."""
    times = [[] for _ in fns]
    with torch.inference_mode():
        for _ in range(warmup):
            for f in fns:
                f(x)
        for _ in range(repeat):
            for i, f in enumerate(fns):
                times[i].append(_time(f, x))
    return [(statistics.median(t), min(t)) for t in times]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None,
                    help="set both torch's and fastact's thread count (default: theirs)")
    args = ap.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
        fa.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, fastact {fa.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs; torch threads {torch.get_num_threads()}, fastact threads "
          f"{fa.get_num_threads()}; median of {args.repeat} after {args.warmup} warm-up runs, "
          f"float32, inference_mode; load average {os.getloadavg()[0]:.2f}\n")

    cases = []
    for approx in ("none", "tanh"):
        cases.append((f"MLP 4x2048, batch 512, GELU({approx!r})", mlp(approximate=approx).eval(),
                      torch.randn(512, 2048), (512, 2048), approx))
    for bf in (False, True):
        e = encoder(bf).eval()
        shape = (8, 256, 512) if bf else (256, 8, 512)
        label = f"TransformerEncoderLayer 512/8h, seq 256, batch 8, batch_first={bf}"
        cases.append((label, e, torch.randn(shape), (8 * 256, 2048), "none"))

    rows = []
    for label, model, x, act_shape, approx in cases:
        patched = ft.patch(copy.deepcopy(model))
        with torch.inference_mode():
            err = (patched(x) - model(x)).abs().max().item()
        t_torch, t_fa = compare([model, patched], x, args.repeat, args.warmup)
        a = torch.randn(act_shape)
        g_torch, g_fa = compare([lambda t: F.gelu(t, approximate=approx),
                                 lambda t: ft.gelu(t, approximate=approx)],
                                a, args.repeat * 3, args.warmup)
        n_act = 3 if label.startswith("MLP") else 1
        rows.append((label, t_torch, t_fa, g_torch, g_fa, n_act, act_shape, err))

    def ms(t):
        return f"{1e3 * t[0]:.2f} ({1e3 * t[1]:.2f})"

    print("| model | torch ms/batch | patched ms/batch | speed-up | GELU calls x shape | "
          "torch F.gelu ms | fastact gelu ms | max abs diff |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for label, t_torch, t_fa, g_torch, g_fa, n_act, act_shape, err in rows:
        shape = "x".join(str(s) for s in act_shape)
        print(f"| {label} | {ms(t_torch)} | {ms(t_fa)} | {t_torch[0] / t_fa[0]:.2f}x "
              f"({t_torch[1] / t_fa[1]:.2f}x) | {n_act} x {shape} | {ms(g_torch)} | "
              f"{ms(g_fa)} | {err:.2g} |")
    print("\nmedian (min) of the runs.  speed-up = torch / patched (> 1: patched is faster).  "
          "The GELU columns time one activation call alone on the shape the model feeds it; "
          "the rest of the batch is matmuls, layer norm and attention, which patch does not "
          "touch.")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
