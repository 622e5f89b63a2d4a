"""The fused pre-activation (pytest-benchmark): gelu(x, bias=b) against
gelu(x) alone and against the two-pass gelu(x + b) of fastact and torch,
float32 (4096, 4096), forward and backward, 1 and 2 threads; swiglu(x,
bias=b) likewise, x (8192, 2 * 4096).  The cases
come from fused_bias.py (the script that prints the medians and ratios).

    pytest benchmarks/test_bench_fused.py --benchmark-group-by=group

No timing is asserted.
"""

from __future__ import annotations

import pytest

import fused_bias
from side_by_side import bench_at

SHAPE = (4096, 4096)
_CACHE: dict = {}


def _cases(direction):
    if direction not in _CACHE:
        _CACHE.clear()
        _CACHE[direction] = fused_bias.cases(*SHAPE, direction)
    return _CACHE[direction]


@pytest.mark.parametrize("case", range(4), ids=["alone", "fused", "two-pass", "torch"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_fused_bias(benchmark, direction, threads, case):
    fns = _cases(direction)
    if case >= len(fns):
        pytest.skip("torch is not installed")
    label = list(fns)[case]
    bench_at(benchmark, fns[label], threads, f"fused bias, {direction}, {threads} thread(s)",
             label)


GLU_SHAPE = (8192, 4096)        # x (8192, 2 * 4096), bias (2 * 4096,)


@pytest.mark.parametrize("case", range(4), ids=["alone", "fused", "two-pass", "torch"])
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_bias_swiglu(benchmark, threads, case):
    if "swiglu" not in _CACHE:
        _CACHE.clear()
        _CACHE["swiglu"] = fused_bias.swiglu_cases(*GLU_SHAPE)
    fns = _CACHE["swiglu"]
    if case >= len(fns):
        pytest.skip("torch is not installed")
    label = list(fns)[case]
    bench_at(benchmark, fns[label], threads, f"fused bias, swiglu, {threads} thread(s)", label)
