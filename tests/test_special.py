"""Special values: NaN, +-inf, signed zeros, parameter edge cases, and no
floating-point warnings for finite input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import fastact as fa
from fastact import _reference as R
from fastact import _spec

from conftest import CASE_PARAMS, FLOATS, backward, forward

IDS = ["f32", "f64"]


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_nan_in_nan_out(name, params, dtype):
    x = np.array([np.nan, -np.nan, 1.0, np.nan], dtype=dtype)
    y = forward(name, x, params)
    assert np.isnan(y[[0, 1, 3]]).all(), y
    g = np.array([1.0, -2.0, 1.0, 0.0], dtype=dtype)
    gx = backward(name, g, x, params)
    # g * f'(NaN) is NaN, even for g = 0 and for piecewise-constant f'
    assert np.isnan(gx[[0, 1, 3]]).all(), gx
    assert not np.isnan(gx[2])


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_infinities_give_limits(name, params, dtype):
    pc = R.cast_params(name, params, dtype)
    x = np.array([np.inf, -np.inf], dtype=dtype)
    y = forward(name, x, params)
    expected = np.array([sum(R.mp_forward(name, v, pc, dtype)) for v in x], dtype=dtype)
    np.testing.assert_array_equal(y, expected, err_msg=f"{name}(+-inf)")
    gx = backward(name, np.ones_like(x), x, params)
    dexp = np.array([sum(R.mp_derivative(name, v, pc, dtype)[0]) for v in x], dtype=dtype)
    np.testing.assert_array_equal(gx, dexp, err_msg=f"{name}_backward(1, +-inf)")


# x times a factor in (0, 1): at -inf, and where the product underflows, the
# result is a negative number rounded to zero, so -0 (docs/numerics.md)
NEG_TAIL = [("silu", {}), ("swish", {"beta": 1.5}), ("quick_gelu", {}), ("mish", {}),
            ("gelu", {}), ("gelu", {"approximate": "tanh"})]


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", NEG_TAIL, ids=[f"{n}-{p}" for n, p in NEG_TAIL])
def test_negative_tail_is_negative_zero(name, params, dtype):
    x = np.array([-np.inf, -1e30, -1e4, -np.inf], dtype=dtype)
    y = getattr(fa, name)(x, **params)
    assert (y == 0).all() and np.signbit(y).all(), f"{name}{params}({x}) = {y}"


# beta x moderate while x is huge: x e^(beta x) 2^64 (the scaled form of the
# negative side) must not overflow
@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
def test_swish_small_beta_huge_x(dtype):
    big = 1e30 if dtype == np.float32 else 1e300
    for beta in (1 / big, 3 / big):
        x = np.array([-big, big, -big / 4, -np.inf, np.inf], dtype=dtype)
        bx = x.astype(np.float64) * float(dtype(beta))
        with np.errstate(over="ignore", invalid="ignore"):
            ref = x.astype(np.float64) / (1 + np.exp(-bx))
        ref[3], ref[4] = -0.0, np.inf
        y = fa.swish(x, beta=beta)
        np.testing.assert_allclose(y, ref.astype(dtype), rtol=8 * np.finfo(dtype).eps, atol=0)
        assert np.signbit(y[3])


# parameter values at the edge of their range, where 0 * inf must not
# turn a mathematical limit into NaN
EDGE_PARAMS = [
    ("leaky_relu", {"negative_slope": 0.0}),
    ("swish", {"beta": 0.0}),
    ("hard_sigmoid", {"slope": 0.0, "offset": 0.25}),
    ("softplus", {"beta": 1e-30, "threshold": 20.0}),
]


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", EDGE_PARAMS, ids=[f"{n}-{p}" for n, p in EDGE_PARAMS])
def test_edge_parameters_at_infinity(name, params, dtype):
    pc = R.cast_params(name, params, dtype)
    x = np.array([np.inf, -np.inf, -2.0, 3.0], dtype=dtype)
    y = forward(name, x, params)
    exp = np.array([sum(R.mp_forward(name, v, pc, dtype)) for v in x], dtype=dtype)
    np.testing.assert_allclose(y, exp, rtol=4 * np.finfo(dtype).eps, atol=0,
                               err_msg=f"{name}{params}")


ODD = [n for n in ("tanh", "softsign", "tanhshrink", "hard_tanh") if n in _spec.BY_NAME]


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name", ODD)
def test_odd_functions_keep_signed_zero(name, dtype):
    x = np.array([0.0, -0.0], dtype=dtype)
    y = getattr(fa, name)(x)
    assert y[0] == 0 and y[1] == 0
    assert not np.signbit(y[0]) and np.signbit(y[1]), f"{name}(+-0) = {y}"


def _finite_inputs(dtype):
    fi = np.finfo(dtype)
    with np.errstate(over="ignore"):    # NumPy's power overflows before the end is set
        mags = np.geomspace(float(fi.smallest_subnormal), float(fi.max), 400)
    assert np.isfinite(mags).all()
    x = np.concatenate([mags, -mags, np.linspace(-40, 40, 801), [0.0, -0.0]])
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_no_floating_point_warnings(name, params, dtype):
    """Finite input raises no FloatingPointError / RuntimeWarning, on the
    fast (contiguous) and the general (strided, float16, integer) paths."""
    x = _finite_inputs(dtype)
    g = np.full_like(x, 0.75)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            forward(name, x, params)
            backward(name, g, x, params)
            forward(name, x[::-2], params)
            backward(name, g[::-2], x[::-2], params)
            xi = np.arange(-50, 50, dtype=np.int64)
            forward(name, xi, params)
            backward(name, np.ones(100), xi, params)
            xh = np.linspace(-20, 20, 101).astype(np.float16)
            # float16 results computed in float32 may underflow when rounded
            # to float16; NumPy signals that too (np.exp(float16(-20))), so
            # underflow is allowed here (decision D6 in FAILURES.md)
            with np.errstate(under="ignore"):
                forward(name, xh, params)
                backward(name, np.ones_like(xh), xh, params)
            if _spec.BY_NAME[name].y_form_ok(params):
                y = forward(name, x, params)
                getattr(fa, name + "_backward")(g, y=y, **params)


def test_binary_step_values():
    x = np.array([-np.inf, -1.0, -0.0, 0.0, 5e-324, np.inf, np.nan])
    y = fa.binary_step(x)
    np.testing.assert_array_equal(y, [0, 0, 1, 1, 1, 1, np.nan])
    np.testing.assert_array_equal(fa.binary_step_backward(np.ones(6), x[:6]), np.zeros(6))


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
def test_prelu_special_values(dtype):
    x = np.array([[np.nan, np.inf, -np.inf, -0.0, 0.0]], dtype=dtype).T.repeat(2, axis=1)
    w = np.array([0.25, 0.0], dtype=dtype)
    y = fa.prelu(x, w)
    assert np.isnan(y[0]).all()
    np.testing.assert_array_equal(y[1], [np.inf, np.inf])
    # the limit of weight * x for x -> -inf: -inf for weight > 0, 0 for weight 0
    np.testing.assert_array_equal(y[2], [-np.inf, 0.0])
    gx, gw = fa.prelu_backward(np.ones_like(x), x, w)
    assert np.isnan(gx[0]).all()
    assert math.isnan(float(gw[0])) and math.isnan(float(gw[1]))


def test_gelu_far_tail_is_negative_zero():
    """x Phi(x) below -38.58 (float64) is under half the smallest subnormal:
    -0.0, as float32 gives below -14.5; geglu likewise"""
    x = np.array([-38.5802, -38.6, -39.0, -100.0, -1e4, -1e10, -1e300, -np.inf])
    y = fa.gelu(x)
    np.testing.assert_array_equal(y, np.zeros_like(x))
    assert np.signbit(y).all()
    assert fa.gelu(np.array([-38.58]))[0] == -5e-324          # the last nonzero
    y = fa.geglu(np.array([-1e4, -38.6, 1e300, 1e300]))
    assert (y == 0).all() and np.signbit(y).all()
    y32 = fa.gelu(np.array([-15.0, -100.0, -1e30], np.float32))
    assert (y32 == 0).all() and np.signbit(y32).all()


def test_celu_negative_alpha():
    """alpha < 0, x < 0: x / alpha > 0 and alpha (e^(x/alpha) - 1) grows to
    -inf; accurate where finite (the quotient's rounding error carried),
    -inf where it overflows, never +inf, NaN or 1"""
    import mpmath
    mpmath.mp.prec = 200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = fa.celu(np.float32([-100.0, -1e30, -3.4e38, -np.inf]), alpha=-1.0)
        np.testing.assert_array_equal(got, [-np.inf] * 4)
        got = fa.celu(np.array([-1e30, -710.0, -np.inf, -0.0, 0.0, np.nan]), alpha=-1.0)
        np.testing.assert_array_equal(got, [-np.inf, -np.inf, -np.inf, -0.0, 0.0, np.nan])
    # x / alpha up to the overflow threshold, small |alpha| where e^(x/alpha)
    # alone overflows but the product does not
    rng = np.random.default_rng(2)
    for dt, zmax in ((np.float32, 88.0), (np.float64, 709.0)):
        for alpha in (-1.5, -1.0, -0.3, -0.01, -7.0):
            a = float(dt(alpha))
            z = np.concatenate([rng.uniform(0, zmax, 300), [38.6 / 1.5, 4.0, 1e-3]])
            x = (-z * abs(a)).astype(dt)
            got = fa.celu(x, alpha=alpha)
            for xv, gv in zip(x, got):
                r = mpmath.mpf(a) * mpmath.expm1(mpmath.mpf(float(xv)) / mpmath.mpf(a))
                if abs(r) > float(np.finfo(dt).max):
                    assert gv == -np.inf, (dt, alpha, xv, gv)
                    continue
                ulp = float(np.spacing(dt(abs(float(r)))))
                err = float(abs(mpmath.mpf(float(gv)) - r)) / ulp
                assert err <= 3, (dt, alpha, xv, gv, float(r), err)
