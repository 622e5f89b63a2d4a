"""End-to-end inference (see fastact/bench/pipelines.py, the ``e2e`` case):
a 4-layer MLP forward (512 x 2048 float32, GELU) and one attention block's
scores, causal softmax and ``@ v`` (16 heads, L 1024, d 64), each library
with its own idiom, in this process at fastact's thread count (the report,
``python -m fastact.bench.pipelines --cases e2e``, runs each library and
thread count in a process of its own and splits off the matrix products):

    PYTHONPATH=src python -m pytest benchmarks/test_bench_e2e.py \\
        --benchmark-columns=min,median,rounds

The ``test_e2e_*`` checks run at toy sizes without pytest-benchmark: the
libraries' pipelines agree, the bfloat16 MLP's code path runs (fastact's
bfloat16 stood in for by a float32 round trip until fastact takes
bfloat16), and the report's e2e tables come out.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa
from fastact.bench import pipelines as pl

LIBS = ("numpy", "fastact", "torch")


def _libs():
    return [lib for lib in LIBS if pl._available(lib)]


def _results(tiny=True, bf16=False):
    out = {}
    for lib in _libs():
        for name, build in pl.e2e_variants(lib, tiny=tiny, bf16=bf16).items():
            forward, mm_only, result = build()
            forward()
            if mm_only is not None:
                mm_only()
                forward()          # the products alone overwrite the buffers
            out[lib, name] = np.asarray(result(), np.float32).copy()
    return out


def test_e2e_pipelines_agree():
    res = _results()
    for (lib, name), y in res.items():
        ref = res["numpy", "attn" if name.startswith("attn") else "mlp4"]
        assert y.shape == ref.shape and np.isfinite(y).all(), (lib, name)
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5, err_msg=f"{lib} {name}")


def test_e2e_bf16_code_path(monkeypatch):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    pytest.importorskip("torch")
    bf, real = ml_dtypes.bfloat16, fa.gelu
    if pl.bf16_status() is not None:      # until fastact takes bfloat16
        def gelu(x, *, bias=None, out=None):
            y = real(x.astype(np.float32), bias=None if bias is None else bias.astype(np.float32))
            if out is None:
                return y.astype(bf)
            out[...] = y
            return out
        monkeypatch.setattr(fa, "gelu", gelu)
    res = _results(bf16=True)
    ref = res["numpy", "mlp4"]
    for (lib, name), y in res.items():
        if name == "mlp4 bf16":
            np.testing.assert_allclose(y, ref, rtol=0.05, atol=0.05 * np.abs(ref).max(),
                                       err_msg=lib)
    assert {lib for lib, name in res if name == "mlp4 bf16"} == set(_libs())


def test_e2e_report_tables():
    data = pl.run(threads=(1,), progress=False, cases=("e2e",), tiny=True, e2e_rounds=1)
    text = "\n".join(pl.markdown(data))
    assert "### End-to-end inference" in text
    assert "4-layer MLP forward" in text and "Attention block" in text
    assert ("Skipped: " in text) == (data["e2e_bf16"] is not None)
    for lib in _libs():
        assert f"e2e|{lib}|1" in data["e2e"]


# --------------------------------------------------------- the benchmarks

@pytest.mark.parametrize("case", [(lib, name) for lib in LIBS if pl._available(lib)
                                  for name in pl.e2e_variants(lib)],
                         ids=lambda c: f"{c[0]}-{c[1].replace(' ', '-')}")
def test_bench_e2e(benchmark, case):
    pytest.importorskip("pytest_benchmark")
    lib, name = case
    if lib == "torch":
        import torch
        torch.set_num_threads(fa.get_num_threads())
    forward, _, _ = pl.e2e_variants(lib)[name]()
    benchmark.pedantic(forward, rounds=5, warmup_rounds=1)
