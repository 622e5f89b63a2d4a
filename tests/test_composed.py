"""The functions composed over the compiled families (fastact/_composed_api.py):
rrelu, hardmax, logmeanexp, entmax15, softmax_cross_entropy.  Float64
references, torch autograd where torch has the function, finite
differences, the edge cases and the bad-input rules, and a small
hypothesis fuzz of shapes, axes, dtypes and special values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastact as fa
from fastact import _spec

FLOATS = (np.float32, np.float64)
RNG = np.random.default_rng(7)
COMPOSED = [s.name for s in _spec.SPECS if s.composed]


def eps(dt):
    return float(np.finfo(dt).eps)


def test_registry_and_exports():
    for name in COMPOSED:
        e = fa.ACTIVATIONS[name]
        assert e.forward is getattr(fa, name) and e.backward is getattr(fa, name + "_backward")
        assert name in fa.__all__ and name + "_backward" in fa.__all__
    assert fa.ACTIVATIONS["rrelu"].kind == "elementwise"
    assert fa.ACTIVATIONS["entmax15"].kind == "axis"


# ------------------------------------------------------------------ rrelu

@pytest.mark.parametrize("dt", FLOATS + (np.float16,))
def test_rrelu_eval_is_leaky_relu(dt):
    x = (RNG.standard_normal(1000) * 4).astype(dt)
    g = RNG.standard_normal(1000).astype(dt)
    s = (0.1 + 0.3) / 2
    assert np.array_equal(fa.rrelu(x, 0.1, 0.3), fa.leaky_relu(x, negative_slope=s))
    assert np.array_equal(fa.rrelu_backward(g, x, 0.1, 0.3),
                          fa.leaky_relu_backward(g, x, negative_slope=s))
    assert np.array_equal(fa.rrelu(x), fa.leaky_relu(x, negative_slope=(1 / 8 + 1 / 3) / 2))


@pytest.mark.parametrize("dt", FLOATS)
def test_rrelu_eval_vs_torch(dt):
    torch = pytest.importorskip("torch")
    x = np.concatenate([RNG.standard_normal(500) * 4, [0.0, -0.0, np.inf, -np.inf]]).astype(dt)
    g = RNG.standard_normal(x.shape).astype(dt)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    ty = torch.nn.functional.rrelu(tx, 0.1, 0.3, training=False)
    (tg,) = torch.autograd.grad(ty, tx, torch.from_numpy(g))
    assert np.array_equal(fa.rrelu(x, 0.1, 0.3), ty.detach().numpy())
    assert np.array_equal(fa.rrelu_backward(g, x, 0.1, 0.3), tg.numpy())


@pytest.mark.parametrize("dt", FLOATS)
def test_rrelu_training_draws_slopes_and_backward_is_exact(dt):
    x = np.concatenate([(RNG.standard_normal(2000) * 3), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    x = x.astype(dt)
    noise = np.empty_like(x)
    y = fa.rrelu(x, 0.1, 0.4, training=True, generator=np.random.default_rng(1), noise=noise)
    pos = x > 0
    assert (noise[pos] == 1).all() and np.isnan(y[np.isnan(x)]).all()
    neg = x <= 0
    assert (noise[neg] >= dt(0.1)).all() and (noise[neg] <= dt(0.4)).all()
    assert len(np.unique(noise[neg])) > 100
    with np.errstate(invalid="ignore"):
        assert np.array_equal(y, x * noise, equal_nan=True)
    # the same generator state gives the same slopes
    y2 = fa.rrelu(x, 0.1, 0.4, training=True, generator=np.random.default_rng(1))
    assert np.array_equal(y, y2, equal_nan=True)
    g = RNG.standard_normal(x.shape).astype(dt)
    gx = fa.rrelu_backward(g, x, 0.1, 0.4, training=True, noise=noise)
    assert np.array_equal(gx, g * noise)
    torch = pytest.importorskip("torch")
    tx = torch.from_numpy(x.copy()).requires_grad_()
    (tg,) = torch.autograd.grad(tx * torch.from_numpy(noise), tx, torch.from_numpy(g))
    assert np.array_equal(gx, tg.numpy())


def test_rrelu_training_with_scale_and_bias():
    x = RNG.standard_normal((8, 5))
    b = RNG.standard_normal(5)
    noise = np.empty_like(x)
    y = fa.rrelu(x, training=True, generator=np.random.default_rng(3), noise=noise,
                 scale=2.0, bias=b)
    assert np.array_equal(y, (x * 2.0 + b) * noise)
    g = RNG.standard_normal(x.shape)
    assert np.array_equal(fa.rrelu_backward(g, x, training=True, noise=noise, scale=2.0),
                          g * noise * 2.0)


def test_rrelu_errors_write_nothing():
    x = np.array([-1.0, 1.0])
    out = np.full(2, 7.0)
    with pytest.raises(TypeError, match="generator"):
        fa.rrelu(x, training=True, out=out)
    with pytest.raises(TypeError, match="generator"):
        fa.rrelu(x, training=True, generator=np.random.default_rng(0).random, out=out)
    with pytest.raises(ValueError, match="lower must be <= upper"):
        fa.rrelu(x, 0.5, 0.1, out=out)
    with pytest.raises(ValueError, match="noise"):
        fa.rrelu(x, training=True, generator=np.random.default_rng(0), noise=np.empty(3),
                 out=out)
    with pytest.raises(TypeError, match="noise"):
        fa.rrelu(x, noise=np.empty(2), out=out)
    with pytest.raises(TypeError, match="noise="):
        fa.rrelu_backward(np.ones(2), x, training=True, out=out)
    with pytest.raises(TypeError, match="lower"):
        fa.rrelu(x, "0.1")
    assert (out == 7.0).all()


# ---------------------------------------------------------------- hardmax

def ref_hardmax(x, axis):
    z = np.moveaxis(x, axis, -1)
    r = np.zeros(z.shape)
    np.put_along_axis(r, np.argmax(z, axis=-1)[..., None], 1.0, axis=-1)
    r[np.isnan(z).any(axis=-1)] = np.nan
    return np.moveaxis(r, -1, axis)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dt", FLOATS + (np.float16,))
def test_hardmax(axis, dt):
    x = np.round(RNG.standard_normal((4, 6, 5)) * 2).astype(dt)    # ties
    x[0, 0, 0] = np.nan
    x[1, :, 2] = -np.inf
    y = fa.hardmax(x, axis)
    assert y.dtype == dt
    np.testing.assert_array_equal(y, ref_hardmax(x.astype(np.float64), axis))
    g = RNG.standard_normal(x.shape).astype(dt)
    gb = fa.hardmax_backward(g, x, axis)
    assert gb.dtype == dt and (np.isnan(gb) == np.isnan(y)).all()
    assert (gb[~np.isnan(gb)] == 0).all()


# ------------------------------------------------------------- logmeanexp

def ref_logmeanexp(x, axis, where=None, keepdims=False):
    x = np.asarray(x, np.float64)
    w = np.ones(x.shape, bool) if where is None else np.broadcast_to(where, x.shape)
    z = np.where(w, x, -np.inf)
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        r = np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) + m
        r = r - np.log(np.maximum(w.sum(axis=axis, keepdims=True), 1))
    return r if keepdims else np.squeeze(r, axis=axis)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("dt", FLOATS)
def test_logmeanexp(axis, dt, keepdims):
    x = (RNG.standard_normal((7, 9)) * 10).astype(dt)
    w = RNG.random((7, 9)) > 0.4
    w[2] = False
    w[:, 3] = False
    for where in (None, w):
        y = fa.logmeanexp(x, axis, where=where, keepdims=keepdims)
        ref = ref_logmeanexp(x, axis, where, keepdims)
        assert y.dtype == dt and y.shape == ref.shape
        np.testing.assert_allclose(y, ref, rtol=8 * eps(dt), atol=8 * eps(dt) * 30)
    # every entry equal: log(mean(exp(c))) = c
    c = np.full((3, 50), 2.5, dt)
    np.testing.assert_allclose(fa.logmeanexp(c), 2.5, rtol=4 * eps(dt))


def test_logmeanexp_fully_masked_and_backward():
    x = RNG.standard_normal((4, 6))
    w = np.ones((4, 6), bool)
    w[1] = False
    y = fa.logmeanexp(x, where=w)
    assert y[1] == -np.inf and np.isfinite(np.delete(y, 1)).all()
    g = RNG.standard_normal(4)
    gb = fa.logmeanexp_backward(g, x, where=w)
    assert (gb[1] == 0).all() and (gb[~w] == 0).all()
    # finite differences of the unmasked rows
    h = 1e-6
    for i, j in [(0, 0), (2, 3), (3, 5)]:
        xp, xm = x.copy(), x.copy()
        xp[i, j] += h
        xm[i, j] -= h
        d = fa.logmeanexp(xp, where=w)[i] - fa.logmeanexp(xm, where=w)[i]
        fd = d * g[i] / (2 * h)
        assert abs(fd - gb[i, j]) < 1e-6
    with pytest.raises(TypeError, match="where"):
        fa.logmeanexp(x, where=np.ones((4, 6)))


# --------------------------------------------------------------- entmax15

def entmax15_brute(z):
    """bisection on tau: sum(max(z/2 - tau, 0)^2) = 1"""
    z = np.asarray(z, np.float64) / 2
    lo, hi = z.max() - 1.0, z.max()
    for _ in range(200):
        tau = 0.5 * (lo + hi)
        if (np.maximum(z - tau, 0) ** 2).sum() > 1:
            lo = tau
        else:
            hi = tau
    return np.maximum(z - 0.5 * (lo + hi), 0) ** 2


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("dt", FLOATS)
def test_entmax15_matches_the_bisection(axis, dt):
    x = (RNG.standard_normal((5, 40)) * np.array([[0.1], [1], [3], [30], [100]])).astype(dt)
    if axis == 0:
        x = np.ascontiguousarray(x.T)
    y = fa.entmax15(x, axis)
    z = np.moveaxis(x, axis, -1)
    ref = np.stack([entmax15_brute(r) for r in z.reshape(-1, z.shape[-1])]).reshape(z.shape)
    np.testing.assert_allclose(np.moveaxis(y, axis, -1), ref, rtol=1e-5 if dt == np.float32
                               else 1e-10, atol=4 * eps(dt))
    np.testing.assert_allclose(y.sum(axis=axis), 1, rtol=16 * eps(dt))
    assert (y >= 0).all()


def test_entmax15_special_rows():
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf] * 3, [np.inf, 0, 0], [np.nan, 0, 0],
                  [1e308, -1e308, 0.0], [5.0, 5.0, 5.0]])
    y = fa.entmax15(x)
    assert y[0, 1] == 0 and abs(y[0].sum() - 1) < 1e-15
    assert np.isnan(y[1:4]).all()
    np.testing.assert_array_equal(y[4], [1, 0, 0])
    np.testing.assert_allclose(y[5], 1 / 3, rtol=1e-15)


@pytest.mark.parametrize("dt", FLOATS)
def test_entmax15_backward(dt):
    x = (RNG.standard_normal((6, 12)) * 2).astype(dt)
    g = RNG.standard_normal(x.shape).astype(dt)
    gb = fa.entmax15_backward(g, x)
    assert gb.dtype == dt
    assert np.array_equal(gb, fa.entmax15_backward(g, y=fa.entmax15(x))) or dt == np.float32
    np.testing.assert_allclose(fa.entmax15_backward(g, y=fa.entmax15(x)), gb,
                               atol=64 * eps(dt))
    if dt == np.float64:
        h = 1e-7
        J = np.empty((12, 12))
        for j in range(12):
            xp, xm = x.copy(), x.copy()
            xp[0, j] += h
            xm[0, j] -= h
            J[:, j] = (fa.entmax15(xp)[0] - fa.entmax15(xm)[0]) / (2 * h)
        np.testing.assert_allclose(gb[0], g[0] @ J, atol=1e-6)


# ------------------------------------------------- softmax_cross_entropy

def _torch():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("ls", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("kind", ["index", "prob"])
@pytest.mark.parametrize("dt", FLOATS)
def test_cross_entropy_vs_torch(dt, kind, ls, reduction):
    torch, F = _torch()
    logits = (RNG.standard_normal((16, 10)) * 4).astype(dt)
    if kind == "index":
        t = RNG.integers(0, 10, 16)
        tt = torch.from_numpy(t)
    else:
        t = RNG.random((16, 10)).astype(dt)
        t /= t.sum(axis=1, keepdims=True)
        tt = torch.from_numpy(t.astype(np.float64))
    loss = fa.softmax_cross_entropy(logits, t, label_smoothing=ls, reduction=reduction)
    x64 = torch.from_numpy(logits.astype(np.float64)).requires_grad_()
    ref = F.cross_entropy(x64, tt, label_smoothing=ls, reduction=reduction)
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=64 * eps(dt), atol=64 * eps(dt))
    assert np.asarray(loss).dtype == dt
    g = RNG.standard_normal(np.shape(loss)).astype(dt)
    gb = fa.softmax_cross_entropy_backward(g, logits, t, label_smoothing=ls,
                                           reduction=reduction)
    (tg,) = torch.autograd.grad(ref, x64, torch.from_numpy(g.astype(np.float64)))
    np.testing.assert_allclose(gb, tg.numpy(), rtol=64 * eps(dt), atol=64 * eps(dt))


def test_cross_entropy_class_axis_1_like_torch():
    torch, F = _torch()
    logits = RNG.standard_normal((3, 5, 7))          # (N, C, d): torch's K-dim form
    t = RNG.integers(0, 5, (3, 7))
    loss = fa.softmax_cross_entropy(logits, t, axis=1)
    ref = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(t), reduction="none")
    np.testing.assert_allclose(loss, ref.numpy(), rtol=1e-14)
    g = RNG.standard_normal(loss.shape)
    x = torch.from_numpy(logits).requires_grad_()
    (tg,) = torch.autograd.grad(F.cross_entropy(x, torch.from_numpy(t), reduction="none"), x,
                                torch.from_numpy(g))
    np.testing.assert_allclose(fa.softmax_cross_entropy_backward(g, logits, t, axis=1),
                               tg.numpy(), atol=1e-15)


def test_cross_entropy_stable_and_masked_logits():
    logits = np.array([[1e4, 0.0, -1e4], [0.0, -np.inf, 2.0]])
    loss = fa.softmax_cross_entropy(logits, np.array([0, 2]))
    np.testing.assert_allclose(loss, [0.0, np.log1p(np.exp(-2.0))], atol=1e-15)
    # a -inf logit whose target probability is 0 adds nothing (torch: NaN)
    t = np.array([[1.0, 0, 0], [0.5, 0, 0.5]])
    assert np.isfinite(fa.softmax_cross_entropy(logits, t)).all()
    gb = fa.softmax_cross_entropy_backward(np.ones(2), logits, np.array([0, 2]))
    assert np.isfinite(gb).all()


def test_cross_entropy_errors():
    x = np.zeros((3, 4))
    out = np.full((3, 4), 7.0)
    with pytest.raises(ValueError, match="outside"):
        fa.softmax_cross_entropy_backward(np.ones(3), x, np.array([0, 4, 1]), out=out)
    with pytest.raises(ValueError, match="shape"):
        fa.softmax_cross_entropy(x, np.array([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        fa.softmax_cross_entropy(x, np.zeros((3, 5)))
    with pytest.raises(TypeError, match="boolean"):
        fa.softmax_cross_entropy(x, np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match="reduction"):
        fa.softmax_cross_entropy(x, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        fa.softmax_cross_entropy(x, np.array([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="grad_output"):
        fa.softmax_cross_entropy_backward(np.ones(3), x, np.array([0, 1, 2]), reduction="mean",
                                          out=out)
    assert (out == 7.0).all()


# ------------------------------------------------------------------- fuzz

@st.composite
def arrays(draw):
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    dt = draw(st.sampled_from([np.float32, np.float64, np.float16]))
    vals = st.one_of(st.floats(-50, 50, width=16), st.sampled_from(
        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30]))
    x = np.array(draw(st.lists(vals, min_size=int(np.prod(shape)),
                               max_size=int(np.prod(shape)))), dtype=np.float64)
    with np.errstate(over="ignore"):
        x = x.reshape(shape).astype(dt)
    order = draw(st.sampled_from(["C", "F", "rev"]))
    if order == "F":
        x = np.asfortranarray(x)
    elif order == "rev":
        x = x[..., ::-1]
    return x, draw(st.integers(-len(shape), len(shape) - 1))


@settings(max_examples=150, deadline=None)
@given(arrays())
def test_fuzz_composed(case):
    x, axis = case
    x0 = x.copy()
    dt = np.float32 if x.dtype == np.float16 else x.dtype
    x64 = x.astype(np.float64)
    finite_rows = np.isfinite(x64).all(axis=axis)
    with np.errstate(all="ignore"):
        y = fa.hardmax(x, axis)
        np.testing.assert_array_equal(y, ref_hardmax(x64, axis))
        y = fa.entmax15(x, axis)
        s = np.nansum(y.astype(np.float64), axis=axis)
        assert np.allclose(s[finite_rows], 1, rtol=1e-2 if x.dtype == np.float16 else 1e-5)
        g = np.ones_like(x)
        gb = fa.entmax15_backward(g, x, axis)
        assert gb.shape == x.shape and gb.dtype == x.dtype
        y = fa.logmeanexp(x, axis)
        ref = ref_logmeanexp(x64, axis)
        ok = np.isfinite(ref)
        np.testing.assert_allclose(y[ok].astype(np.float64), ref[ok],
                                   rtol=1e-2 if x.dtype == np.float16 else 64 * eps(dt),
                                   atol=1e-2 if x.dtype == np.float16 else 64 * eps(dt) * 50)
        t = np.argmax(np.nan_to_num(np.moveaxis(x64, axis, -1)), axis=-1)
        loss = fa.softmax_cross_entropy(x, t, axis=axis)
        assert loss.shape == t.shape
        gb = fa.softmax_cross_entropy_backward(np.ones(t.shape, x.dtype), x, t, axis=axis)
        assert gb.shape == x.shape
        noise = np.empty(x.shape, dt)
        r = fa.rrelu(x, training=True, generator=np.random.default_rng(0), noise=noise)
        assert r.dtype == x.dtype and r.shape == x.shape
    assert np.array_equal(x, x0, equal_nan=True)          # inputs never written
