"""Accuracy in ULP against mpmath (fastact._reference), for every
elementwise activation, parameter set, dtype and instruction-set level.

Error measure: |y - ref| / ulp(ref), ref the exact value (double-double from
mpmath at the exact float input), ulp(ref) = 2**(floor(log2|ref|) - p + 1) in
the dtype, never below the smallest subnormal.  A correctly rounded result
has error <= 0.5; a budget of 0 in the spec ("exact") means <= 0.5 here.

Backward (grad_output = 1): within `bwd_ulp` ulp, OR an absolute error of at
most BWD_FLOOR * eps * (sum of |terms| of the formula of f'), which is what
is achievable near a zero of f' (silu' at -1.2785, mish' at -1.1924, gelu'
at -0.7518, hard_swish' at -1.5, swish' at -1.2785/beta).

Run with `-s` or look at the terminal summary for the table of measured
maxima; with FASTACT_ULP_REPORT=path they are also written there as JSON.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa
from fastact import _dispatch
from fastact import _reference as R
from fastact import _spec

from conftest import CASE_PARAMS, FLOATS, case_id, eps, fmt_bad, record, ulp_errors

ISAS = _dispatch.supported_isas()
BWD_FLOOR = 4          # eps multiples of the magnitude of the terms of f'
N_DENSE = 1201
N_LOG = 160

# zeros of derivatives and other places where accuracy is hard
CRITICAL = [-1.2784645427610738, -1.1924, -0.7518, -1.5, -0.6, 0.6, 1.0, -1.0]

SPECIALS = [0.0, 1e-45, 1e-40, 1e-38, 1.1754944e-38, 5e-324, 1e-323, 2.2250738585072014e-308,
            2.225073858507201e-308, 1e-300, 1e-30, 1e-20, 1e-10, 1e-8, 1e-5, 1e-3, 0.1, 0.25,
            0.5, 1.0, 2.0, 3.0, 5.0, 6.0, 8.0, 10.0, 15.0, 15.5, 16.0, 17.0, 18.0, 19.0, 20.0,
            20.5, 25.0, 30.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 45.0, 50.0, 80.0,
            87.0, 88.0, 88.7, 88.72, 88.8, 89.0, 100.0, 103.0, 103.97, 104.0, 105.0, 200.0,
            700.0, 708.0, 709.78, 710.0, 744.0, 745.13, 746.0, 1000.0, 1e5, 2.0 ** 30,
            2.0 ** 30 + 64, 1e10, 1e20, 2.0 ** 60, 1e30, 1e38, 3e38, 3.4028235e38, 1e100,
            1e200, 1.7e308, 1.7976931348623157e308, np.inf]


def _to(dtype, vals):
    with np.errstate(all="ignore"):
        return np.asarray(vals, dtype=np.float64).astype(dtype)


def points(name, params, dtype):
    """The test inputs: dense grid over the spec's domain, log-spaced
    magnitudes of both signs, special points, windows around CRITICAL
    points and the kinks (with their float neighbours), +-inf and NaN."""
    spec = _spec.BY_NAME[name]
    lo, hi = spec.domain
    fi = np.finfo(dtype)
    parts = [np.linspace(lo, hi, N_DENSE)]
    mags = np.geomspace(float(fi.smallest_subnormal), float(fi.max), N_LOG)
    parts += [mags, -mags]
    sp = np.array(SPECIALS)
    parts += [sp, -sp]
    for c in CRITICAL:
        parts.append(np.linspace(c - 0.02, c + 0.02, 41))
    parts.append([np.nan])
    x = np.concatenate([_to(dtype, p) for p in parts])
    pc = R.cast_params(name, params, dtype)
    ks = _to(dtype, R.kinks(name, pc))
    with np.errstate(all="ignore"):
        for k in ks:
            near = [k]
            a = b = k
            for _ in range(3):
                a = np.nextafter(a, dtype(-np.inf))
                b = np.nextafter(b, dtype(np.inf))
                near += [a, b]
            x = np.concatenate([x, np.asarray(near, dtype=dtype)])
    # unique, keeping -0.0 and a single NaN
    keys = x.view(np.uint32 if dtype == np.float32 else np.uint64)
    _, idx = np.unique(keys, return_index=True)
    x = x[np.sort(idx)]
    nan = np.isnan(x)
    x = np.concatenate([x[~nan], x[nan][:1]])
    return x


_REF_CACHE: dict = {}


def reference(name, params, dtype):
    key = (name, tuple(sorted(params.items())), np.dtype(dtype).name)
    if key not in _REF_CACHE:
        x = points(name, params, dtype)
        pc = R.cast_params(name, params, dtype)
        f = np.array([R.mp_forward(name, float(v), pc, dtype) for v in x])
        dv = [R.mp_derivative(name, float(v), pc, dtype) for v in x]
        d = np.array([v[0] for v in dv])
        terms = np.array([v[1] for v in dv])
        _REF_CACHE[key] = (x, f[:, 0], f[:, 1], d[:, 0], d[:, 1], terms)
    return _REF_CACHE[key]


def _budget(spec, dtype):
    b = spec.ulp[0 if dtype == np.float32 else 1]
    return max(b, 0.5)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_forward_ulp(name, params, dtype, isa):
    spec = _spec.BY_NAME[name]
    x, hi, lo, *_ = reference(name, params, dtype)
    with _dispatch.using(isa):
        with np.errstate(all="raise"):
            y = getattr(fa, name)(x, **params)
    assert y.dtype == dtype
    err = ulp_errors(y, hi, lo, dtype)
    m = float(np.max(err))
    budget = spec.ulp[0 if dtype == np.float32 else 1]
    record(isa, case_id(name, params), dtype, "fwd", m, budget,
           worst_x=float(x[int(np.argmax(err))]))
    assert m <= _budget(spec, dtype), (
        f"{name}{params} {np.dtype(dtype).name} [{isa}]: max error {m:.3g} ulp > budget "
        f"{budget}\n" + fmt_bad(x, y, hi, err))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_backward_ulp(name, params, dtype, isa):
    spec = _spec.BY_NAME[name]
    x, _, _, dhi, dlo, terms = reference(name, params, dtype)
    g = np.ones_like(x)
    with _dispatch.using(isa):
        with np.errstate(all="raise"):
            y = getattr(fa, name + "_backward")(g, x, **params)
    assert y.dtype == dtype
    err = ulp_errors(y, dhi, dlo, dtype)
    with np.errstate(all="ignore"):
        abs_err = np.abs((y.astype(np.float64) - dhi) - dlo)
        floor = BWD_FLOOR * eps(dtype) * terms
        rescued = np.isfinite(err) & np.isfinite(abs_err) & (abs_err <= floor) & (
            err > spec.bwd_ulp)
    bad = (err > spec.bwd_ulp) & ~rescued
    shown = np.where(rescued, 0.0, err)
    m = float(np.max(shown))
    record(isa, case_id(name, params), dtype, "bwd", m, spec.bwd_ulp,
           floor_points=int(rescued.sum()), worst_x=float(x[int(np.argmax(shown))]))
    assert not bad.any(), (
        f"{name}_backward{params} {np.dtype(dtype).name} [{isa}]: {int(bad.sum())} points over "
        f"{spec.bwd_ulp} ulp (and over the {BWD_FLOOR} eps * |terms| floor)\n"
        + fmt_bad(x, y, dhi, np.where(bad, err, 0.0)))


# ------------------------------------------------ dense float32 (NumPy ref)

VECTORIZED = [s.name for s in _spec.SPECS if s.dense_f32]


@pytest.mark.parametrize("name", [n for n in VECTORIZED if n in _spec.BY_NAME])
def test_forward_dense_float32(name):
    """2**17 random float32 inputs (uniform in the domain and log-uniform in
    magnitude) against the float64 NumPy reference: its error (~1e-8 float32
    ulp) is negligible."""
    spec = _spec.BY_NAME[name]
    params = R.PARAM_CASES[name][0]
    rng = np.random.default_rng(1234)
    lo, hi = spec.domain
    n = 1 << 16
    x = np.concatenate([rng.uniform(lo, hi, n),
                        np.sign(rng.uniform(-1, 1, n)) * 10.0 ** rng.uniform(-40, 38, n)])
    x = x.astype(np.float32)
    pc = R.cast_params(name, params, np.float32)
    ref = R.np_forward(name, x.astype(np.float64), pc, np.float32)
    y = getattr(fa, name)(x, **params)
    err = ulp_errors(y, ref, np.zeros_like(ref), np.float32)
    budget = max(spec.ulp[0], 0.5) + 0.01
    record(_dispatch.current(), f"{name}-dense", np.float32, "fwd", float(err.max()),
           spec.ulp[0], worst_x=float(x[int(np.argmax(err))]))
    assert err.max() <= budget, fmt_bad(x, y, ref, err)


def test_reference_self_check():
    """The NumPy float64 references agree with mpmath (guards the dense test)."""
    x = np.array([-700.0, -40.0, -20.0, -3.0, -1.0, -0.3, -1e-5, 0.0, 1e-6, 0.2, 0.49,
                  0.51, 1.0, 7.0, 19.0, 21.0, 35.0, 500.0])
    for name in VECTORIZED:
        pc = R.cast_params(name, R.PARAM_CASES[name][0], np.float64)
        a = R.np_forward(name, x, pc)
        b = np.array([sum(R.mp_forward(name, v, pc, np.float64)) for v in x])
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, err_msg=name)
        da = R.np_derivative(name, x, pc)
        db = np.array([sum(R.mp_derivative(name, v, pc, np.float64)[0]) for v in x])
        np.testing.assert_allclose(da, db, rtol=1e-12, atol=1e-300, err_msg=name)
