"""Hypothesis property tests (max_examples set in conftest's profile)."""

from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import fastact as fa  # noqa: E402
from fastact import _spec  # noqa: E402

IDS = ["f32", "f64"]


def arrays(dtype, lo=-1e4, hi=1e4, finite=True, min_size=1):
    elems = st.floats(lo, hi, allow_nan=not finite, allow_infinity=not finite,
                      width=32 if dtype == np.float32 else 64)
    return hnp.arrays(dtype, st.integers(min_size, 60), elements=elems)


FINITE_ANY = st.sampled_from([np.float32, np.float64]).flatmap(
    lambda dt: hnp.arrays(dt, st.integers(1, 60),
                          elements=st.floats(allow_nan=False, allow_infinity=False,
                                             width=32 if dt == np.float32 else 64)))


@given(FINITE_ANY)
def test_sigmoid_symmetry(x):
    eps = np.finfo(x.dtype).eps
    s = fa.sigmoid(x) + fa.sigmoid(-x)
    np.testing.assert_allclose(s, 1.0, rtol=0, atol=2 * eps)


@given(FINITE_ANY)
def test_ranges(x):
    assert (fa.log_sigmoid(x) <= 0).all()
    s = fa.sigmoid(x)
    assert ((s >= 0) & (s <= 1)).all()
    ss = fa.softsign(x)
    assert ((ss >= -1) & (ss <= 1)).all()
    t = fa.tanh(x)
    assert ((t >= -1) & (t <= 1)).all()
    assert (fa.softplus(x) >= 0).all()
    assert (fa.relu(x) >= 0).all()
    r6 = fa.relu6(x)
    assert ((r6 >= 0) & (r6 <= 6)).all()
    h = fa.hard_sigmoid(x)
    assert ((h >= 0) & (h <= 1)).all()
    assert (fa.squareplus(x) >= 0).all()
    assert (fa.elu(x) >= -1).all()
    assert (fa.softplus(x) >= fa.relu(x)).all()


@given(FINITE_ANY)
def test_odd_functions(x):
    for f in (fa.tanh, fa.softsign, fa.tanhshrink, fa.hard_tanh, fa.softshrink, fa.hardshrink):
        np.testing.assert_array_equal(f(-x), -f(x))


MONOTONE = [s.name for s in _spec.SPECS if s.kind == "elementwise" and s.monotone]


@pytest.mark.parametrize("name", MONOTONE)
@given(x=FINITE_ANY)
def test_monotone(name, x):
    from fastact import _reference as R
    params = R.PARAM_CASES[name][0]
    xs = np.sort(x)
    y = getattr(fa, name)(xs, **params)
    # compare neighbours (np.diff of inf, inf would be NaN where f overflows)
    assert (y[1:] >= y[:-1]).all(), (xs, y)


@given(FINITE_ANY)
def test_gradient_signs(x):
    g = np.ones_like(x)
    assert (fa.sigmoid_backward(g, x) >= 0).all()
    d = fa.softplus_backward(g, x)
    assert ((d >= 0) & (d <= 1)).all()
    d = fa.log_sigmoid_backward(g, x)
    assert ((d >= 0) & (d <= 1)).all()
    d = fa.tanh_backward(g, x)
    assert ((d >= 0) & (d <= 1)).all()
    d = fa.softsign_backward(g, x)
    assert ((d >= 0) & (d <= 1)).all()
    d = fa.squareplus_backward(g, x)
    assert ((d >= 0) & (d <= 1)).all()
    assert (fa.tanhshrink_backward(g, x) >= 0).all()
    # alpha e^x rounds to 0 below ~-103.97 (float32) / ~-745.13 (float64)
    lim = -103.9 if x.dtype == np.float32 else -745.0
    assert ((fa.elu_backward(g, x) > 0) | (x < lim)).all()
    d = fa.hard_tanh_backward(g, x)
    assert np.isin(d, [0, 1]).all()


@given(FINITE_ANY, st.floats(0.0, 5.0))
def test_leaky_relu_equals_prelu_shared(x, s):
    w = np.array([s], dtype=x.dtype)
    np.testing.assert_array_equal(fa.prelu(x, w), fa.leaky_relu(x, negative_slope=s))


@given(FINITE_ANY)
def test_silu_is_swish_beta1_and_identities(x):
    np.testing.assert_array_equal(fa.silu(x), fa.swish(x, beta=1.0))
    np.testing.assert_array_equal(fa.silu_backward(x, x), fa.swish_backward(x, x, beta=1.0))
    eps = np.finfo(x.dtype).eps
    # softplus returns x itself above its threshold (20), where the identity
    # below is off by log1p(e^-x) ~ 1e-9 relative in float64: stay inside
    xm = x[np.abs(x) <= 20]
    # softplus(x) - softplus(-x) = x
    d = fa.softplus(xm) - fa.softplus(-xm)
    np.testing.assert_allclose(d, xm, rtol=4 * eps, atol=4 * eps * 30)
    # log_sigmoid = -softplus(-x)
    np.testing.assert_allclose(fa.log_sigmoid(xm), -fa.softplus(-xm), rtol=4 * eps, atol=0)


@given(FINITE_ANY, st.floats(0.0, 10.0))
def test_shrink_relations(x, lam):
    lam32 = float(x.dtype.type(lam))
    s = fa.softshrink(x, lambd=lam)
    h = fa.hardshrink(x, lambd=lam)
    assert (np.abs(s) <= np.abs(x)).all()
    assert ((h == 0) | (h == x)).all()
    assert ((s == 0) == (h == 0)).all()
    assert (np.abs(x[h == 0]) <= lam32).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", [s for s in _spec.SPECS if s.same_as], ids=lambda s: s.name)
def test_same_as_shortcut_is_bitwise(spec, dtype):
    """Where a parameter value routes to another activation's kernel
    (spec.same_as), that kernel gives bitwise what the general one would:
    checked against the general kernel at a value a hair away and against
    the other activation itself."""
    x = np.concatenate([np.linspace(-120, 120, 20001), [0.0, -0.0, np.inf, -np.inf, np.nan,
                                                        1e-45, -1e-45, 1e-310, -1e-310]])
    x = x.astype(dtype)
    g = np.linspace(-2, 2, x.size).astype(dtype)
    for pname, val, other in spec.same_as:
        f, fb = getattr(fa, spec.name), getattr(fa, spec.name + "_backward")
        o, ob = getattr(fa, other), getattr(fa, other + "_backward")
        np.testing.assert_array_equal(f(x, **{pname: val}), o(x))
        np.testing.assert_array_equal(fb(g, x, **{pname: val}), ob(g, x))
        near = np.nextafter(val, 2 * val + 1)       # the general kernel, next double
        np.testing.assert_allclose(f(x, **{pname: near}), o(x), rtol=1e-6, atol=0)
