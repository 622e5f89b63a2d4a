"""Shared helpers for the fastact test suite.

Everything is parametrized from the spec (fastact._spec.SPECS) and the
reference parameter sets (fastact._reference.PARAM_CASES); no hand-kept list
of activations.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import fastact as fa
from fastact import _reference as R
from fastact import _spec

ELEMENTWISE = [s for s in _spec.SPECS if s.kind == "elementwise"]
ELEMENTWISE_NAMES = [s.name for s in ELEMENTWISE]
FLOATS = (np.float32, np.float64)

# (name, params) for every elementwise activation and parameter set
CASES = [(s.name, p) for s in ELEMENTWISE for p in R.PARAM_CASES[s.name]]


def case_id(name, params):
    spec = _spec.BY_NAME[name]
    diff = {k: v for k, v in params.items() if k in spec.defaults and spec.defaults[k] != v}
    return name + "".join(f"-{k}={v}" for k, v in diff.items())


CASE_PARAMS = [pytest.param(n, p, id=case_id(n, p)) for n, p in CASES]
DEFAULT_CASES = [pytest.param(s.name, R.PARAM_CASES[s.name][0], id=s.name) for s in ELEMENTWISE]


def forward(name, x, params, **kw):
    return getattr(fa, name)(x, **params, **kw)


def backward(name, g, x, params, **kw):
    return getattr(fa, name + "_backward")(g, x, **params, **kw)


def eps(dtype):
    return float(np.finfo(dtype).eps)


# ULP errors: fastact._reference (shared with tools/ and the benchmarks)
ulp_of = R.ulp_of
ulp_errors = R.ulp_errors


# ------------------------------------------------------- results (README)

_RESULTS: dict = {}


@pytest.fixture(scope="session")
def ulp_results():
    return _RESULTS


def pytest_terminal_summary(terminalreporter):
    fuzz = sys.modules.get("test_fuzz")
    if fuzz is not None and fuzz.STATS["examples"]:
        terminalreporter.write_line(fuzz.summary_line())
    if not _RESULTS:
        return
    # the JSON (read by tools/readme_tables.py) only where asked for, so a
    # test run does not write into the source tree
    target = os.environ.get("FASTACT_ULP_REPORT")
    out = Path(target) if target else None
    if out is not None:
        out.write_text(json.dumps(_RESULTS, indent=1, sort_keys=True))
    tr = terminalreporter
    tr.section("fastact measured max ULP error (fwd / bwd)")
    isas = sorted({k.split("|")[0] for k in _RESULTS})
    for isa in isas:
        tr.write_line(f"[{isa}]  case: fwd f32 | fwd f64 || bwd f32 | bwd f64  (budgets in ())")
        rows = sorted({k.split("|")[1] for k in _RESULTS if k.startswith(isa + "|")})
        for case in rows:
            cells = []
            for which in ("fwd", "bwd"):
                for dt in ("float32", "float64"):
                    r = _RESULTS.get(f"{isa}|{case}|{dt}|{which}")
                    cells.append("-" if r is None else f"{r['max_ulp']:.3g} ({r['budget']})")
            tr.write_line(f"  {case:<40s} {cells[0]:>12s} {cells[1]:>12s} || "
                          f"{cells[2]:>12s} {cells[3]:>12s}")
    if out is not None:
        tr.write_line(f"written to {out}")


def record(isa, case, dtype, which, max_ulp, budget, **extra):
    _RESULTS[f"{isa}|{case}|{np.dtype(dtype).name}|{which}"] = dict(
        max_ulp=float(max_ulp), budget=budget, **extra)


def fmt_bad(x, y, ref, err, k=8):
    idx = np.argsort(-np.nan_to_num(err, nan=np.inf, posinf=1e300))[:k]
    return "\n".join(f"  x={x[i]!r:>26} got={y[i]!r:>26} ref={ref[i]!r:>26} err={err[i]:.3g} ulp"
                     for i in idx if err[i] > 0)


# ------------------------------------------------------------------ smoke
# `pytest -m smoke`: a fast, representative subset (run with
# `python -X dev -W error -m pytest -m smoke`, see docs/checks.md).  Test
# functions by file ("*": all of the file); for the fuzz tests, the functions
# fuzzed.
SMOKE = {
    "test_api.py": {"test_float_dtypes_preserved", "test_unsupported_dtypes_raise_typeerror",
                    "test_byteswapped_input", "test_scalars_give_numpy_scalars",
                    "test_out_errors_before_writing", "test_out_in_place",
                    "test_backward_x_or_y", "test_invalid_parameter_values"},
    "test_axis.py": {"test_forward_every_axis", "test_layouts", "test_out", "test_errors",
                     "test_split_and_pieces_errors", "test_x_or_y", "test_special_values",
                     "test_empty_and_degenerate"},
    "test_prelu.py": {"test_prelu_errors", "test_prelu_out", "test_prelu_nan"},
    "test_special.py": {"test_nan_in_nan_out", "test_no_floating_point_warnings"},
    "test_registry.py": {"*"},
    "test_threads.py": {"test_get_set_num_threads", "test_num_threads_context_restores"},
    "test_fuzz.py": {"test_every_public_function_is_fuzzed", "test_known_bugs_are_well_formed"},
}
SMOKE_FUZZED = {"sigmoid", "gelu_backward", "leaky_relu", "softmax", "log_softmax_backward",
                "glu_backward", "maxout", "prelu", "prelu_backward"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = SMOKE.get(item.path.name, ())
        func = getattr(item, "originalname", item.name)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "*" in names or func in names or (
                item.path.name == "test_fuzz.py" and params.get("fname") in SMOKE_FUZZED):
            item.add_marker(pytest.mark.smoke)


@pytest.fixture(autouse=True)
def _restore_threads():
    n = fa.get_num_threads()
    yield
    if fa.get_num_threads() != n:
        fa.set_num_threads(n)


def nan_eq(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and bool(
        np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def bitwise_eq(a, b):
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


try:
    from hypothesis import HealthCheck, settings
    settings.register_profile("fastact", max_examples=60, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    # CI: the same examples every run (a red CI must be reproducible);
    # locally, `HYPOTHESIS_PROFILE=explore pytest` searches afresh
    settings.register_profile("ci", parent=settings.get_profile("fastact"), derandomize=True,
                              database=None)
    settings.register_profile("explore", parent=settings.get_profile("fastact"),
                              max_examples=500)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE",
                                         "ci" if os.environ.get("CI") else "fastact"))
except ImportError:  # pragma: no cover
    pass

__all__ = ["math"]


# ------------------------------------ fused pre-activation (scale=, bias=)

def comp_dtype(dtype):
    """the computation dtype: float32 for float16/float32, else float64"""
    return np.dtype(np.float32) if np.dtype(dtype).itemsize <= 4 else np.dtype(np.float64)


def pre_reference(x, s, b):
    """x * s + b in the computation dtype, two roundings (NumPy's arithmetic)"""
    c = comp_dtype(x.dtype)
    u = np.asarray(x).astype(c)
    if s is not None:
        u = u * np.asarray(s).astype(c)
    if b is not None:
        u = u + np.asarray(b).astype(c)
    return u


def same_bits(a, b):
    """equal dtype, shape and values, NaN where NaN, -0 where -0"""
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b, strict=True)
    assert np.array_equal(np.signbit(a), np.signbit(b))


def raises_untouched(exc, match, fn, *arrays):
    """fn() raises exc (message matching `match`) and leaves every array
    as it was (nothing written on an error)"""
    before = [a.copy() for a in arrays]
    with pytest.raises(exc, match=match):
        fn()
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)
