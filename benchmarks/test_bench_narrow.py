"""The narrow types (pytest-benchmark): fastact gelu, sigmoid and relu on
bfloat16 and float16 arrays of 1.6e7 elements against the copy of the same
bytes and against torch's narrow kernels on the same memory, forward and
backward, 1 and 2 threads; softmax, log_softmax and swiglu on (4096, 4096)
(test_narrow_axis).  The cases come from narrow.py (the script that
prints the medians and ratios).

    pytest benchmarks/test_bench_narrow.py --benchmark-group-by=group

No timing is asserted.
"""

from __future__ import annotations

import pytest

import narrow
from side_by_side import bench_at

N = 16_000_000
_CACHE: dict = {}
LABELS = ["copy"] + [f"fa.{f}" for f in narrow.FUNCS] + [f"torch {f}" for f in narrow.FUNCS]


def _cases(dt_label, direction):
    key = (dt_label, direction)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = narrow.cases(N, dt_label, direction)
    return _CACHE[key]


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("dt_label", ["bfloat16", "float16"])
def test_narrow(benchmark, dt_label, direction, threads, label):
    if dt_label not in narrow.dtypes():
        pytest.skip("ml_dtypes is not installed")
    fns = _cases(dt_label, direction)
    key = label if direction == "forward" or label == "copy" else label + "_backward"
    if key not in fns:
        pytest.skip("torch is not installed")
    bench_at(benchmark, fns[key], threads, f"narrow {dt_label}, {direction}, {threads} thread(s)",
             key)


AXIS_SHAPE = (4096, 4096)
AXIS_LABELS = (["copy"] + [f"fa.{f}" for f in narrow.AXIS_FUNCS]
               + [f"torch {f}" for f in narrow.AXIS_FUNCS])


@pytest.mark.parametrize("label", AXIS_LABELS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dt_label", ["bfloat16", "float16"])
def test_narrow_axis(benchmark, dt_label, threads, label):
    if dt_label not in narrow.dtypes():
        pytest.skip("ml_dtypes is not installed")
    key = ("axis", dt_label)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = narrow.axis_cases(AXIS_SHAPE, dt_label)
    fns = _CACHE[key]
    if label not in fns:
        pytest.skip("torch is not installed")
    bench_at(benchmark, fns[label], threads,
             f"narrow along an axis {dt_label}, {threads} thread(s)", label)
