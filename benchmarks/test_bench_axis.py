"""Benchmarks of the along-axis family: fastact vs torch, side by side.

Run explicitly (pytest's default run collects only tests/):

    PYTHONPATH=src python -m pytest benchmarks/test_bench_axis.py \
        --benchmark-group-by=param:case --benchmark-columns=min,median,rounds

Both libraries allocate their result (fastact without out=), use the same
thread count (fastact.get_num_threads(), torch.set_num_threads) and the same
input.  torch rows are skipped when torch is not installed.  Group by case
and compare the two rows of each group; nothing here asserts a time.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa

pytest.importorskip("pytest_benchmark")

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None

SOFTMAX_SHAPES = [((4096, 1000), -1), ((64, 50257), -1), ((16384, 64), -1), ((256, 4096), -1),
                  ((1000, 4096), 0)]
GLU_SHAPE = (8192, 8192)
DTYPES = {"f32": np.float32, "f64": np.float64}


def _fa(name, x, axis):
    return {
        "softmax": lambda: fa.softmax(x, axis),
        "log_softmax": lambda: fa.log_softmax(x, axis),
        "logsumexp": lambda: fa.logsumexp(x, axis),
        "softmax_backward": lambda: fa.softmax_backward(x, y=x, axis=axis),
        "glu": lambda: fa.glu(x, axis),
        "swiglu": lambda: fa.swiglu(x, axis),
        "geglu": lambda: fa.geglu(x, axis),
        "geglu_tanh": lambda: fa.geglu(x, axis, approximate="tanh"),
    }[name]


def _torch(name, t, axis):
    def chunks():
        return torch.chunk(t, 2, axis)
    return {
        "softmax": lambda: torch.softmax(t, axis),
        "log_softmax": lambda: torch.log_softmax(t, axis),
        "logsumexp": lambda: torch.logsumexp(t, axis),
        "softmax_backward": lambda: torch.ops.aten._softmax_backward_data(t, t, axis, t.dtype),
        "glu": lambda: F.glu(t, axis),
        "swiglu": lambda: (lambda a, b: F.silu(a) * b)(*chunks()),
        "geglu": lambda: (lambda a, b: F.gelu(a) * b)(*chunks()),
        "geglu_tanh": lambda: (lambda a, b: F.gelu(a, approximate="tanh") * b)(*chunks()),
    }[name]


CASES = [(name, shape, axis) for name in ("softmax", "log_softmax", "logsumexp",
                                          "softmax_backward")
         for shape, axis in SOFTMAX_SHAPES]
CASES += [(name, GLU_SHAPE, -1) for name in ("glu", "swiglu", "geglu", "geglu_tanh")]

_DATA = {}


def _data(shape, dt):
    key = (shape, dt)
    if key not in _DATA:
        _DATA.clear()   # keep one (possibly 512 MB) input alive at a time
        _DATA[key] = np.random.default_rng(0).standard_normal(shape).astype(dt)
    return _DATA[key]


@pytest.mark.parametrize("lib", ["fastact", "torch"])
@pytest.mark.parametrize("dt", list(DTYPES))
@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c[0]}-{'x'.join(map(str, c[1]))}-ax{c[2]}")
                                  for c in CASES])
def test_bench_axis(benchmark, case, dt, lib):
    name, shape, axis = case
    x = _data(shape, DTYPES[dt])
    benchmark.group = f"{name} {shape} axis={axis} {dt}"
    benchmark.extra_info.update(threads=fa.get_num_threads(), function=name, shape=shape)
    if lib == "fastact":
        f = _fa(name, x, axis)
    else:
        if torch is None:
            pytest.skip("torch is not installed")
        torch.set_num_threads(fa.get_num_threads())
        f = _torch(name, torch.from_numpy(x), axis)
    rounds = 5 if x.size >= 1 << 24 else 20
    benchmark.pedantic(f, rounds=rounds, warmup_rounds=1)
