"""pytest-benchmark of the masked attention softmax (see
benchmarks/attention_softmax.py):

    PYTHONPATH=src python -m pytest benchmarks/test_bench_attention.py \
        --benchmark-columns=min,median,rounds
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_benchmark")
sys.path.insert(0, str(Path(__file__).parent))
import attention_softmax as att  # noqa: E402

CASES = att.cases(use_where=True, backward=True)


@pytest.mark.parametrize("case", list(CASES))
def test_attention_softmax(benchmark, case):
    benchmark(CASES[case])
