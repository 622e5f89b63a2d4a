"""softmax, log_softmax, softmin and logsumexp with scale=, bias=, where=
(logsumexp: b=, keepdims=; softmax and log_softmax: dtype=) and their
backward: against a float64 NumPy reference, torch autograd, finite
differences and scipy.special.logsumexp."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastact as fa

RNG = np.random.default_rng(1234)
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-14),
       np.float16: dict(rtol=2e-3, atol=2e-3)}
FWD = ("softmax", "log_softmax", "softmin", "logsumexp")


def _logits(x, scale, bias, where, sign=1.0):
    z = sign * x.astype(np.float64) * (1.0 if scale is None else float(scale))
    masked = np.zeros(z.shape, bool)
    if bias is not None:
        b = np.broadcast_to(np.asarray(bias, np.float64), z.shape)
        with np.errstate(invalid="ignore"):
            z = z + b
        masked |= b == -np.inf
    if where is not None:
        masked |= ~np.broadcast_to(where, z.shape)
    return np.where(masked, -np.inf, z), masked


def ref(name, x, axis=-1, scale=None, bias=None, where=None):
    """float64 reference; fully masked rows: 0 / -inf"""
    z, masked = _logits(x, scale, bias, where, -1.0 if name == "softmin" else 1.0)
    full = masked.all(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.max(z, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        e = np.exp(z - m)
        s = e.sum(axis=axis, keepdims=True)
        if name == "logsumexp":
            r = np.log(s) + m
            r = np.where(full, -np.inf, r)
            return np.squeeze(r, axis)
        if name == "log_softmax":
            return np.where(full, -np.inf, z - m - np.log(s))
        return np.where(full, 0.0, e / s)


def _check(got, want, dt):
    assert got.dtype == dt
    np.testing.assert_allclose(got.astype(np.float64), want, **TOL[dt])


def _attn(dt, H=3, L=9):
    x = RNG.standard_normal((H, L, L)).astype(dt) * 3
    mask = np.triu(np.full((L, L), -np.inf), 1).astype(dt)
    return x, mask


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("name", FWD)
def test_causal_mask(name, dt):
    x, mask = _attn(dt)
    s = 1 / np.sqrt(8)
    got = getattr(fa, name)(x, scale=s, bias=mask)
    sc = np.asarray(s, np.float64 if dt == np.float64 else np.float32)
    _check(got, ref(name, x, -1, sc, mask), dt)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", FWD)
@pytest.mark.parametrize("n", [5, 700, 3000])
def test_where_broadcast_and_full_rows(name, dt, n):
    x = RNG.standard_normal((2, 4, n)).astype(dt)
    w = RNG.random((4, n)) > 0.4
    w[1] = False                               # a fully masked row
    bias = RNG.standard_normal((n,)).astype(dt)
    bias[::7] = -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = getattr(fa, name)(x, scale=0.7, bias=bias, where=w)
    want = ref(name, x, -1, np.asarray(0.7, dt), bias, w)
    assert not np.isnan(got).any()
    _check(got, want, dt)
    full = got[:, 1]
    assert np.all(full == (0.0 if name in ("softmax", "softmin") else -np.inf))


@pytest.mark.parametrize("name", FWD)
def test_rules_without_mask_unchanged(name):
    """a row with no finite logit and no mask follows the plain rules"""
    x = np.full((2, 4), -np.inf)
    x[1] = [1.0, 2.0, 3.0, 4.0]
    got = getattr(fa, name)(x, scale=2.0, bias=np.zeros(4))
    plain = getattr(fa, name)(x * 2.0)
    np.testing.assert_array_equal(got, plain)
    # masked where x is +inf or NaN: those entries are left out
    y = np.array([[np.inf, 1.0, np.nan, 0.0]])
    got = getattr(fa, name)(y, bias=np.array([-np.inf, 0, 0, 0]), where=np.array([1, 1, 0, 1], bool))
    if name == "softmin":
        want = fa.softmax(np.array([[-np.inf, -1.0, -np.inf, -0.0]]))
    else:
        want = getattr(fa, name)(np.array([[-np.inf, 1.0, -np.inf, 0.0]]))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", FWD)
def test_fused_is_the_fallback(name):
    """strided, Fortran and axis != -1 inputs go through a contiguous copy
    with the axis last: bitwise the fused path on that copy"""
    x = RNG.standard_normal((6, 5, 40)).astype(np.float32)
    bias = RNG.standard_normal((5, 40)).astype(np.float32)
    bias[:, ::3] = -np.inf
    w = RNG.random((6, 1, 40)) > 0.2
    f = getattr(fa, name)
    base = f(x, scale=0.3, bias=bias, where=w)
    # strided
    big = np.zeros((6, 5, 80), np.float32)
    big[..., ::2] = x
    np.testing.assert_array_equal(f(big[..., ::2], scale=0.3, bias=bias, where=w), base)
    # axis != -1: the same rows, the axis moved
    xm = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    got = f(xm, axis=1, scale=0.3, bias=np.moveaxis(bias, -1, 0), where=np.moveaxis(w, -1, 1))
    want = base if name == "logsumexp" else np.moveaxis(base, -1, 1)
    np.testing.assert_array_equal(got, want)
    # Fortran order
    np.testing.assert_array_equal(f(np.asfortranarray(x), scale=0.3, bias=bias, where=w), base)
    # bias broadcast along the axis (a row constant): materialized == strided
    rb = RNG.standard_normal((6, 5, 1)).astype(np.float32)
    np.testing.assert_array_equal(f(x, bias=rb), f(x, bias=np.broadcast_to(rb, x.shape).copy()))
    with fa.num_threads(2):
        xl = np.concatenate([x] * 200)
        np.testing.assert_array_equal(f(xl, scale=0.3, bias=bias, where=w[:1])[:6],
                                      f(x, scale=0.3, bias=bias, where=w[:1]))


def test_scale_only_and_out():
    x = RNG.standard_normal((7, 33)).astype(np.float32)
    out = np.empty_like(x)
    r = fa.softmax(x, scale=0.5, out=out)
    assert r is out
    np.testing.assert_array_equal(out, fa.softmax(x * np.float32(0.5)))
    np.testing.assert_array_equal(fa.softmin(x, scale=0.5), fa.softmax(x * np.float32(-0.5)))
    np.testing.assert_array_equal(fa.log_softmax(x, scale=1.0, axis=0),
                                  fa.log_softmax(np.ascontiguousarray(x.T)).T)
    lo = np.empty((7, 1), np.float32)
    assert fa.logsumexp(x, scale=2.0, keepdims=True, out=lo) is lo
    np.testing.assert_array_equal(lo[:, 0], fa.logsumexp(x * np.float32(2.0)))


def test_keepdims_and_b_vs_scipy():
    sp = pytest.importorskip("scipy.special")
    x = RNG.standard_normal((3, 4, 6))
    b = RNG.random((4, 6))
    b[0, :2] = 0.0
    for ax in (0, 1, -1):
        bb = np.broadcast_to(b, x.shape)
        np.testing.assert_allclose(fa.logsumexp(x, axis=ax, b=bb, keepdims=True),
                                   sp.logsumexp(x, axis=ax, b=bb, keepdims=True), rtol=1e-13)
        np.testing.assert_allclose(fa.logsumexp(x, axis=ax, keepdims=True),
                                   sp.logsumexp(x, axis=ax, keepdims=True), rtol=1e-13)
    zero = np.zeros(6)
    assert fa.logsumexp(x, b=zero)[0, 0] == -np.inf
    assert fa.logsumexp(np.float32([[1, 2]]), b=[1.0, 1.0]).dtype == np.float32
    with pytest.raises(ValueError, match="negative"):
        fa.logsumexp(x, b=-b)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_dtype(name):
    x = RNG.standard_normal((4, 50)).astype(np.float16)
    f = getattr(fa, name)
    r = f(x, dtype=np.float32)
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r, f(x.astype(np.float32)))
    r = f(x, dtype="float64", bias=np.zeros(50))
    assert r.dtype == np.float64
    np.testing.assert_allclose(r, ref(name, x, -1), rtol=1e-13, atol=1e-15)
    assert f(x.astype(np.float32), dtype=np.float16).dtype == np.float16
    with pytest.raises(TypeError, match="dtype"):
        f(x, dtype=np.int32)
    with pytest.raises(TypeError, match="out"):
        f(x, dtype=np.float32, out=np.empty((4, 50), np.float16))


# ------------------------------------------------------------- backward

def _torch_grads(name, x, s, mask, g, axis=-1):
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    z = xt * s
    if name == "softmin":
        z = -z
    z = z.masked_fill(torch.tensor(np.broadcast_to(mask, x.shape)), float("-inf"))
    fn = {"softmax": torch.softmax, "softmin": torch.softmax,
          "log_softmax": torch.log_softmax, "logsumexp": torch.logsumexp}[name]
    y = fn(z, axis)
    y.backward(torch.tensor(g.astype(np.float64)))
    return xt.grad.numpy()


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", FWD)
@pytest.mark.parametrize("axis", [-1, 1])
def test_backward_vs_torch(name, dt, axis):
    x = RNG.standard_normal((3, 7, 7)).astype(dt)
    mask = np.triu(np.ones((7, 7), bool), 1)
    if axis != -1:
        mask = mask.T
    bias = np.where(mask, -np.inf, 0.0).astype(dt)
    s = 0.375
    red = name == "logsumexp"
    g = RNG.standard_normal(x.shape[:axis % 3] + x.shape[axis % 3 + 1:] if red else x.shape)
    g = g.astype(dt)
    if not red:
        g[np.broadcast_to(mask, x.shape)] = 0  # torch adds g at masked log_softmax entries
    want = _torch_grads(name, x, s, mask, g, axis)
    bwd = getattr(fa, name + "_backward")
    tol = dict(rtol=1e-4, atol=1e-5) if dt == np.float32 else dict(rtol=1e-11, atol=1e-13)
    for kw in (dict(bias=bias), dict(where=~mask), dict(bias=bias, where=~mask)):
        got = bwd(g, x, axis=axis, scale=s, **kw)
        assert got.dtype == dt
        np.testing.assert_allclose(got, want, **tol)
        assert np.all(got[np.broadcast_to(mask, x.shape)] == 0)
        if not red:
            y = getattr(fa, name)(x, axis=axis, scale=s, **kw)
            np.testing.assert_allclose(bwd(g, y=y, axis=axis, scale=s, **kw), want, **tol)


@pytest.mark.parametrize("n", [256, 1024, 2500])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_trailing_masked_entries_exact(name, n):
    """float32 rows whose last entries are masked (a causal or padding
    mask; the kernels skip them in whole 64-element steps): bitwise the
    unmasked rows of the kept length when that is a multiple of 64 (the
    same terms summed in the same lanes), 0 / -inf after; NaN rows stay
    NaN throughout, as the whole-row arithmetic gives"""
    keep_len = [64, n // 2 // 64 * 64, n - n % 64 if n % 64 else n - 64]
    x = RNG.standard_normal((3, n)).astype(np.float32) * 4
    w = np.arange(n)[None, :] < np.array(keep_len)[:, None]
    f = getattr(fa, name)
    xm = np.where(w, x, -np.inf).astype(np.float32)
    for got in (f(x, where=w), f(xm), f(x, bias=np.where(w, 0, -np.inf).astype(np.float32))):
        for r, k in enumerate(keep_len):
            want = f(x[r:r + 1, :k])
            if name == "logsumexp":
                np.testing.assert_array_equal(got[r:r + 1], want)
                continue
            np.testing.assert_array_equal(got[r, :k], want[0])
            assert np.all(got[r, k:] == (0.0 if name == "softmax" else -np.inf))
    xn = x.copy()
    xn[:, 1] = np.nan
    got = f(xn, where=w)
    assert np.isnan(got).all()


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_masked_backward_from_y_is_the_masked_composition(name, dt):
    """the masked backward from y (its own row kernel): bitwise the
    unmasked backward from y on grad_output with 0 at the masked entries
    (softmax's y is 0 there), the log_softmax result then times scale and
    0 at the masked entries; a NaN or inf grad_output at a masked entry
    changes nothing"""
    x = RNG.standard_normal((4, 5, 70)).astype(dt)
    w = RNG.random((5, 70)) > 0.3
    w[2] = False                               # a fully masked row
    bias = RNG.standard_normal(70).astype(dt)
    bias[::9] = -np.inf
    g = RNG.standard_normal(x.shape).astype(dt)
    m = np.broadcast_to(~w, x.shape) | np.broadcast_to(bias == -np.inf, x.shape)
    g[m & (RNG.random(x.shape) < 0.2)] = np.inf
    g[m & (RNG.random(x.shape) < 0.2)] = np.nan
    s = -0.6
    y = getattr(fa, name)(x, scale=s, bias=bias, where=w)
    bwd = getattr(fa, name + "_backward")
    got = bwd(g, y=y, scale=s, bias=bias, where=w)
    g0 = np.where(m, dt(0), g)
    if name == "log_softmax":
        want = fa.log_softmax_backward(g0, y=y) * dt(s)
        want[m] = 0
    else:                                      # softmin: the factor -scale
        want = fa.softmax_backward(g0, y=y) * dt(-s if name == "softmin" else s)
    np.testing.assert_array_equal(got, want)
    assert not np.isnan(got).any()


@pytest.mark.parametrize("name", FWD)
def test_backward_finite_differences_and_full_rows(name):
    x = RNG.standard_normal((4, 6))
    w = RNG.random((4, 6)) > 0.3
    w[2] = False
    bias = RNG.standard_normal(6)
    s = -0.8
    red = name == "logsumexp"
    g = RNG.standard_normal(4 if red else (4, 6))
    f = getattr(fa, name)
    bwd = getattr(fa, name + "_backward")

    def loss(v):
        r = f(v, scale=s, bias=bias, where=w)
        return float(np.sum(np.where(np.isfinite(r), r, 0) * g))
    got = bwd(g, x, scale=s, bias=bias, where=w)
    num = np.zeros_like(x)
    h = 1e-6
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        num[i] = (loss(x + e) - loss(x - e)) / (2 * h)
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-7)
    assert np.all(got[~w] == 0) and np.all(got[2] == 0)
    assert not np.isnan(got).any()


def test_bias_gradient_recipe():
    """grad w.r.t. bias = grad w.r.t. the logits (scale=1 result divided by
    scale... i.e. backward / scale), summed over broadcast axes"""
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 5, 5))
    bias = RNG.standard_normal((5, 5))
    g = RNG.standard_normal(x.shape)
    s = 0.5
    bt = torch.tensor(bias, requires_grad=True)
    torch.softmax(torch.tensor(x) * s + bt, -1).backward(torch.tensor(g))
    gb = (fa.softmax_backward(g, x, scale=s, bias=bias) / s).sum(axis=0)
    np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------- errors

@pytest.mark.parametrize("name", FWD)
def test_bad_arguments(name):
    x = np.ones((2, 3, 4), np.float32)
    out = np.full((2, 3) if name == "logsumexp" else x.shape, 7, np.float32)
    f = getattr(fa, name)
    with pytest.raises(TypeError, match="where must be a boolean"):
        f(x, where=np.ones(4), out=out)
    with pytest.raises(ValueError, match=r"bias has shape \(3, 3\).*\(2, 3, 4\)"):
        f(x, bias=np.zeros((3, 3)), out=out)
    with pytest.raises(ValueError, match=r"where has shape \(5, 2, 3, 4\)"):
        f(x, where=np.ones((5, 2, 3, 4), bool), out=out)
    with pytest.raises(ValueError, match="scale must be a scalar"):
        f(x, scale=np.ones(4), out=out)
    with pytest.raises(TypeError, match="scale"):
        f(x, scale="2", out=out)
    with pytest.raises(TypeError, match="bias"):
        f(x, bias=np.zeros(4, complex), out=out)
    assert np.all(out == 7)
    with pytest.raises(ValueError, match="bias"):
        getattr(fa, name + "_backward")(np.ones(out.shape, np.float32), x, bias=np.zeros(5))
