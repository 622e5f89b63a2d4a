"""Backward vs finite differences, vs torch autograd (float64), and the
y= (from the output) forms vs the x forms."""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa
from fastact import _reference as R
from fastact import _spec

from conftest import CASE_PARAMS, ELEMENTWISE, FLOATS, backward, forward

IDS = ["f32", "f64"]


def _away_from_kinks(name, params, x, gap=1e-3):
    ks = np.array(R.kinks(name, R.cast_params(name, params, np.float64)) or [np.inf])
    return x[np.min(np.abs(x[:, None] - ks[None, :]), axis=1) > gap]


@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_backward_vs_finite_differences(name, params):
    """4th-order central differences in float64, h = 1e-3 * max(1, |x|)."""
    x = np.concatenate([np.linspace(-12, 12, 481), [-1.2785, -0.75, 0.3, 2.5, 7.0]])
    x = _away_from_kinks(name, params, x, gap=0.02)
    h = 1e-3 * np.maximum(1.0, np.abs(x))
    f = lambda t: forward(name, t, params)  # noqa: E731
    fd = (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h)
    g = backward(name, np.ones_like(x), x, params)
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9, err_msg=name)
    # grad_output scales the result
    gs = backward(name, np.full_like(x, -2.5), x, params)
    np.testing.assert_allclose(gs, -2.5 * g, rtol=1e-15, atol=0)


# ------------------------------------------------------------------ torch

def _torch_points(name, params):
    x = np.concatenate([np.linspace(-25, 25, 1001), [0.0, -0.0, 3.0, -3.0, 6.0, 1e-8, -1e-8,
                                                      np.inf, -np.inf]])
    pc = R.cast_params(name, params, np.float64)
    for k in R.kinks(name, pc):
        x = np.concatenate([x, [k, np.nextafter(k, -np.inf), np.nextafter(k, np.inf)]])
    return x


TORCH_CASES = [c for c in CASE_PARAMS if c.values[0] in R.TORCH]


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", TORCH_CASES)
def test_vs_torch(name, params, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = _torch_points(name, params).astype(dtype)
    if name == "softplus" and dtype == np.float32:
        pass
    tx = torch.tensor(x, dtype=torch.float64 if dtype == np.float64 else torch.float32,
                      requires_grad=True)
    ty = R.TORCH[name](torch, F, tx, params)
    if ty is None:
        pytest.skip("torch has no equivalent for these parameters")
    rng = np.random.default_rng(0)
    g = rng.uniform(-2, 2, x.shape).astype(dtype)
    (tgx,) = torch.autograd.grad(ty, tx, torch.tensor(g))
    ty = ty.detach().numpy()
    tgx = tgx.numpy()
    y = forward(name, x, params)
    gx = backward(name, g, x, params)
    fin = np.isfinite(x)
    eps = np.finfo(dtype).eps
    # rtol grows with the argument of exp (beta x, x / alpha): both torch and
    # fastact round it (F3 in FAILURES.md); accuracy itself is checked
    # against mpmath in test_accuracy.py, this test checks the conventions
    c = max(1.0, abs(params.get("beta", 1.0)), 1 / abs(params.get("alpha", 1.0)))
    rtol = 64 * eps * (1 + c * np.abs(x[fin]))
    atol = 64 * eps if dtype == np.float64 else 1e-6
    _close(y[fin], ty[fin], rtol, atol, f"{name} forward")
    if _spec.BY_NAME[name].base.name in ("hard_sigmoid", "hard_swish") and dtype == np.float64:
        # torch's CPU kernels use the float32 constant 1.0f / 6.0f in float64
        # (hardsigmoid'(0.5) = 0.16666667163 in torch): decision D7
        rtol = np.maximum(rtol, 1e-7)
    if name == "celu" and params["alpha"] != 1.0:
        # torch's celu backward with alpha != 1 is off by ~7e-7 relative in
        # float64 (celu'(-5.35, alpha=0.3): torch 1.7992107e-08, mpmath
        # 1.7992095159e-08, fastact 1.79920952e-08): decision D8
        rtol = np.maximum(rtol, 1e-5)
    _close(gx[fin], tgx[fin], rtol, atol, f"{name} backward")
    # kinks of piecewise functions: exactly torch's convention
    if _spec.BY_NAME[name].piecewise:
        pc = R.cast_params(name, params, dtype)
        for k in R.kinks(name, pc):
            on = x == dtype(k)
            np.testing.assert_array_equal(gx[on], tgx[on], err_msg=f"{name}' at kink {k}")


def _close(a, b, rtol, atol, msg):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    ok = same | (np.abs(a - b) <= atol + rtol * np.abs(b))
    assert ok.all(), f"{msg}: " + ", ".join(
        f"x#{i}: {a[i]!r} vs torch {b[i]!r}" for i in np.flatnonzero(~ok)[:8])


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
def test_prelu_vs_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 5)).astype(dtype)
    x[0, :, 0] = 0.0
    w = np.array([0.25, -0.5, 0.0], dtype=dtype)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.prelu(tx, tw)
    g = rng.standard_normal(x.shape).astype(dtype)
    tgx, tgw = torch.autograd.grad(ty, (tx, tw), torch.tensor(g))
    y = fa.prelu(x, w)
    gx, gw = fa.prelu_backward(g, x, w)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(gx, tgx.numpy())
    np.testing.assert_allclose(gw, tgw.numpy(), rtol=10 * np.finfo(dtype).eps * 20)


def test_torch_table_covers_spec():
    """Every spec activation that torch has is compared (the others are
    binary_step and squareplus, which torch lacks)."""
    missing = {s.name for s in ELEMENTWISE} - set(R.TORCH)
    assert missing <= {"binary_step", "squareplus"}, missing


# ---------------------------------------------------------------- y= forms

GRAD_Y_CASES = [c for c in CASE_PARAMS if _spec.BY_NAME[c.values[0]].y_form_ok(c.values[1])]


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", GRAD_Y_CASES)
def test_y_form_equals_x_form(name, params, dtype):
    x = np.concatenate([np.linspace(-30, 30, 2001), [0.0, -0.0, 1e-30, -1e-30, np.inf,
                                                     -np.inf, np.nan]]).astype(dtype)
    g = np.random.default_rng(1).uniform(-3, 3, x.shape).astype(dtype)
    y = forward(name, x, params)
    bx = backward(name, g, x, params)
    by = getattr(fa, name + "_backward")(g, y=y, **params)
    assert by.dtype == dtype
    eps = np.finfo(dtype).eps
    scale = 1.0 + abs(float(params.get("alpha", 0.0)))
    # y = f(x) is rounded, so f'(x) from y has an absolute error of a few eps
    # (e.g. sigmoid' = y (1 - y) where y rounds to 1); relative where large
    np.testing.assert_allclose(by, bx, rtol=16 * eps, atol=8 * eps * scale * np.abs(g).max(),
                               err_msg=f"{name}_backward(y=)")
    # the equal_nan of assert_allclose compares NaN positions
    assert np.array_equal(np.isnan(by), np.isnan(bx))


@pytest.mark.parametrize("spec", [s for s in ELEMENTWISE if s.y_needs], ids=lambda s: s.name)
def test_y_form_rejects_parameters_it_does_not_hold_for(spec):
    pname, check = spec.y_needs
    bad = {">=0": -0.5, ">0": 0.0}[check]
    y = getattr(fa, spec.name)(np.array([-1.0, 1.0]), **{pname: bad})
    out = np.full(2, 7.0)
    with pytest.raises(ValueError, match=f"y= form needs {pname}"):
        getattr(fa, spec.name + "_backward")(np.ones(2), y=y, out=out, **{pname: bad})
    assert (out == 7.0).all()


def test_special_cases_are_their_base_bitwise():
    x = np.linspace(-8, 8, 1001)
    for s in ELEMENTWISE:
        if s.special_of:
            base = getattr(fa, s.base.name)
            assert np.array_equal(getattr(fa, s.name)(x), base(x, **s.fixed), equal_nan=True)
