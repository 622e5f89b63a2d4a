"""PReLU (API.md, "Per-channel: PReLU")."""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa

from conftest import FLOATS, bitwise_eq, nan_eq

try:
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError

IDS = ["f32", "f64"]


def _ref(x, w, axis):
    """float64-exact reference: x if x > 0 else w[c] * x (rounded in x's dtype)."""
    shape = [1] * x.ndim
    if w.size > 1:
        shape[axis] = w.size
    wb = w.astype(x.dtype).reshape(shape) if x.ndim else w.astype(x.dtype).reshape(())
    return np.where(x > 0, x, wb * x)


def _ref_backward(g, x, w, axis):
    shape = [1] * x.ndim
    if w.size > 1:
        shape[axis] = w.size
    wb = w.astype(np.float64).reshape(shape)
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    gx = np.where(x64 > 0, g64, g64 * wb)
    contrib = np.where(x64 > 0, 0.0, g64 * x64)
    if w.size == 1:
        gw = np.array([contrib.sum()])
    else:
        gw = contrib.sum(axis=tuple(i for i in range(x.ndim) if i != axis))
    return gx, gw


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("shape,axis", [((5,), 1), ((4, 3), 1), ((2, 3, 4), 1), ((2, 3, 4), -1),
                                        ((2, 3, 4), 0), ((2, 3, 4, 5), 2), ((2, 3, 4), -3)])
def test_prelu_values(dtype, shape, axis):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    ax = 0 if len(shape) == 1 else axis % len(shape)
    w = rng.uniform(-1, 1, shape[ax]).astype(dtype)
    y = fa.prelu(x, w, axis=axis) if len(shape) > 1 else fa.prelu(x, w)
    assert y.dtype == dtype and y.shape == x.shape
    assert bitwise_eq(y, _ref(x, w, ax))
    g = rng.standard_normal(shape).astype(dtype)
    gx, gw = fa.prelu_backward(g, x, w, axis=axis) if len(shape) > 1 else fa.prelu_backward(g, x, w)
    rgx, rgw = _ref_backward(g, x, w, ax)
    assert gx.dtype == dtype and gx.shape == x.shape
    assert gw.shape == w.shape and gw.dtype == dtype
    np.testing.assert_array_equal(gx, rgx.astype(dtype))
    np.testing.assert_allclose(gw, rgw, rtol=x.size * np.finfo(dtype).eps, atol=1e-6)


def test_prelu_1d_uses_axis0_regardless_of_axis():
    x = np.array([-1.0, -2.0, 3.0])
    w = np.array([0.1, 0.2, 0.3])
    np.testing.assert_array_equal(fa.prelu(x, w), [-0.1, -0.4, 3.0])
    np.testing.assert_array_equal(fa.prelu(x, w, axis=1), [-0.1, -0.4, 3.0])


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
def test_prelu_shared_weight(dtype):
    x = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(dtype)
    w = np.array([0.25], dtype=dtype)
    assert bitwise_eq(fa.prelu(x, w), fa.leaky_relu(x, negative_slope=0.25))
    g = np.ones_like(x)
    gx, gw = fa.prelu_backward(g, x, w)
    assert gw.shape == (1,)
    assert bitwise_eq(gx, fa.leaky_relu_backward(g, x, negative_slope=0.25))
    np.testing.assert_allclose(gw, [np.where(x > 0, 0, x).sum()], rtol=1e-5)


def test_prelu_errors():
    x = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="weight"):
        fa.prelu(x, np.ones(4))              # axis 1 has 3 channels
    with pytest.raises(ValueError, match="weight"):
        fa.prelu(x, np.ones((3, 1)))          # 2-D weight
    with pytest.raises(ValueError, match="weight"):
        fa.prelu(x, np.ones(()))              # 0-d weight
    with pytest.raises(ValueError, match="weight"):
        fa.prelu(x, np.ones(0))
    with pytest.raises(AxisError):
        fa.prelu(x, np.ones(3), axis=3)
    with pytest.raises(AxisError):
        fa.prelu(x, np.ones(3), axis=-4)
    with pytest.raises(TypeError):
        fa.prelu(x, np.ones(3), axis=1.0)
    with pytest.raises(ValueError, match="weight"):
        fa.prelu_backward(x, x, np.ones(4))
    with pytest.raises(AxisError):
        fa.prelu_backward(x, x, np.ones(3), axis=5)
    with pytest.raises(ValueError, match="grad_output"):
        fa.prelu_backward(np.ones((2, 3)), x, np.ones(3))
    with pytest.raises(TypeError, match="complex"):
        fa.prelu(x.astype(complex), np.ones(3))
    with pytest.raises(TypeError):
        fa.prelu(x, np.ones(3, dtype=complex))


def test_prelu_out():
    x = np.random.default_rng(2).standard_normal((3, 4))
    w = np.array([0.1, 0.2, 0.3, 0.4])
    ref = fa.prelu(x, w, axis=1)
    out = np.empty_like(x)
    assert fa.prelu(x, w, axis=1, out=out) is out
    assert bitwise_eq(out, ref)
    xi = x.copy()
    assert fa.prelu(xi, w, axis=1, out=xi) is xi
    assert bitwise_eq(xi, ref)
    for bad, exc in [(np.empty((4, 3)), ValueError), (np.empty((3, 4), np.float32), TypeError)]:
        keep = x.copy()
        with pytest.raises(exc):
            fa.prelu(x, w, axis=1, out=bad)
        assert bitwise_eq(x, keep)
    ro = np.zeros_like(x)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        fa.prelu(x, w, axis=1, out=ro)
    buf = np.random.default_rng(3).standard_normal((4, 4))
    keep = buf.copy()
    with pytest.raises(ValueError):
        fa.prelu(buf[:3], w, axis=1, out=buf[1:])
    assert bitwise_eq(buf, keep)


def test_prelu_dtypes_and_layouts():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 4, 8))
    w = rng.uniform(0, 1, 4)
    ref = fa.prelu(x, w)
    assert bitwise_eq(fa.prelu(np.asfortranarray(x), w), ref)
    assert bitwise_eq(fa.prelu(x[::-1], w), ref[::-1])
    assert bitwise_eq(fa.prelu(x.astype(">f8"), w), ref)
    y16 = fa.prelu(x.astype(np.float16), w)
    assert y16.dtype == np.float16
    xi = (x * 10).astype(np.int32)
    assert fa.prelu(xi, w).dtype == np.float64
    y = fa.prelu(np.float64(-2.0), np.array([0.5]))
    assert isinstance(y, np.generic) and y == -1.0
    y = fa.prelu(np.array(-2.0, np.float32), np.array([0.5]))
    assert y.dtype == np.float32
    assert fa.prelu(np.zeros((0, 4)), w).shape == (0, 4)
    gx, gw = fa.prelu_backward(np.zeros((0, 4)), np.zeros((0, 4)), w)
    assert gx.shape == (0, 4) and gw.shape == (4,) and (gw == 0).all()


def test_prelu_nan():
    x = np.array([[np.nan, -1.0]])
    w = np.array([0.5, 0.5])
    y = fa.prelu(x, w)
    assert np.isnan(y[0, 0]) and y[0, 1] == -0.5
    gx, gw = fa.prelu_backward(np.ones_like(x), x, w)
    assert np.isnan(gx[0, 0]) and np.isnan(gw[0]) and gw[1] == -1.0
    assert nan_eq(gx[0, 1:], np.array([0.5]))


# ------------------------------------------- the compiled kernels
# Shapes that reach each loop shape of fastact/_prelu.pyx: channels first
# (runs of `inner` >= 256 elements: grouped, single, cut into chunks),
# channels last (rows with an expanded weight row: short rows repeated to
# the period, long rows cut into column blocks, a partial last period), and
# one shared slope.

def _fsum_ref(g, x, w, axis):
    """grad_weight by exact summation (math.fsum) per channel, in float64."""
    import math

    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    contrib = np.where(x64 > 0, 0.0, g64 * x64)
    if w.size == 1:
        return np.array([math.fsum(contrib.ravel())])
    c = np.moveaxis(contrib, axis, 0).reshape(contrib.shape[axis], -1)
    return np.array([math.fsum(r) for r in c])


LAYOUTS = [
    ((4, 8, 300), 1),          # channels first, runs grouped
    ((2, 3, 20000), 1),        # channels first, runs cut into chunks
    ((5, 7, 16, 16), 1),       # NCHW
    ((300, 7), 1),             # (N, C) channels last, short rows repeated
    ((3, 9, 5, 6), -1),        # NHWC
    ((50, 3000), 1),           # long rows cut into column blocks
    ((37, 3, 10), 1),          # inner < 256: rows, partial last period
    ((7, 5, 300), 0),          # axis 0
    ((40000,), 0),             # 1-D: one channel per element
]


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("shape,axis", LAYOUTS, ids=[str(s) for s, _ in LAYOUTS])
def test_prelu_layouts(dtype, shape, axis):
    rng = np.random.default_rng(10)
    x = rng.standard_normal(shape).astype(dtype)
    ax = axis % len(shape)
    w = rng.uniform(-1, 1, shape[ax]).astype(dtype)
    w[::3] = 0                               # weight 0: 0 for every x < 0
    x.flat[::97] = -np.inf
    x.flat[::89] = 0.0
    assert bitwise_eq(fa.prelu(x, w, axis=axis), _ref_zero(x, w, ax))
    g = rng.standard_normal(shape).astype(dtype)
    x[np.isinf(x)] = -1.5                    # finite for the gradient sums
    gx, gw = fa.prelu_backward(g, x, w, axis=axis)
    rgx, _ = _ref_backward(g, x, w, ax)
    assert bitwise_eq(gx, rgx.astype(dtype))
    ref = _fsum_ref(g, x, w, ax)
    mag = np.abs(_fsum_ref(np.abs(g), -np.abs(x), w, ax))   # >= sum of |terms|
    eps = np.finfo(dtype).eps
    assert gw.dtype == dtype
    assert (np.abs(gw.astype(np.float64) - ref) <= eps * np.abs(ref) + 4 * 2.0**-52 * mag).all()


def _ref_zero(x, w, ax):
    """_ref with weight 0 giving 0 (not 0 * -inf = NaN) for x < 0."""
    shape = [1] * x.ndim
    shape[ax] = w.size
    wb = w.reshape(shape)
    with np.errstate(invalid="ignore"):
        neg = np.where(wb == 0, np.where(np.isnan(x), x, 0).astype(x.dtype), wb * x)
    return np.where(x > 0, x, neg)


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
def test_prelu_shared_weight_large(dtype):
    x = np.random.default_rng(11).standard_normal(1_000_003).astype(dtype)
    w = np.array([0.3], dtype=dtype)
    assert bitwise_eq(fa.prelu(x, w), fa.leaky_relu(x, negative_slope=float(w[0])))
    g = np.random.default_rng(12).standard_normal(x.size).astype(dtype)
    gx, gw = fa.prelu_backward(g, x, w)
    assert bitwise_eq(gx, fa.leaky_relu_backward(g, x, negative_slope=float(w[0])))
    ref = _fsum_ref(g, x, w, 0)
    assert abs(float(gw[0]) - ref[0]) <= np.finfo(dtype).eps * abs(ref[0]) + 1e-9


# (size > 1e6: the threaded path)
THREADED = [((8, 32, 64, 64), 1, 32), ((64 * 32 * 32, 64), 1, 64), ((16, 32, 32, 128), -1, 128),
            ((1_200_000,), 0, 1), ((3, 2, 400_000), 1, 2)]


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("shape,axis,nw", THREADED, ids=[str(s) for s, _, _ in THREADED])
def test_prelu_threads_bitwise(dtype, shape, axis, nw):
    rng = np.random.default_rng(13)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    w = rng.uniform(-1, 1, nw).astype(dtype)
    res = {}
    for nt in (1, 2):
        with fa.num_threads(nt):
            res[nt] = (fa.prelu(x, w, axis=axis),) + fa.prelu_backward(g, x, w, axis=axis)
    for a, b in zip(res[1], res[2]):
        assert bitwise_eq(a, b)
    ax = axis % len(shape)
    wr = w if nw > 1 else np.full(shape[ax], w[0])
    assert bitwise_eq(res[1][0], _ref_zero(x, wr, ax))
    ref = _fsum_ref(g, x, w, ax)
    mag = np.abs(_fsum_ref(np.abs(g), -np.abs(x), w, ax))
    eps = np.finfo(dtype).eps
    assert (np.abs(res[1][2].astype(np.float64) - ref) <= eps * np.abs(ref) + 4 * 2.0**-52 * mag).all()


def test_prelu_float32_grad_weight_accuracy():
    """float32 grad_weight is summed in double: within one float32 rounding
    of the exact sum."""
    rng = np.random.default_rng(14)
    x = (rng.standard_normal((4, 3, 300_000)) - 0.5).astype(np.float32)
    g = (rng.standard_normal(x.shape) + 2.0).astype(np.float32)   # little cancellation
    w = np.array([0.1, 0.2, 0.3], np.float32)
    _, gw = fa.prelu_backward(g, x, w)
    ref = _fsum_ref(g, x, w, 1)
    assert (np.abs(gw - ref) <= np.finfo(np.float32).eps * np.abs(ref)).all()
    # the same for channels last
    xl, gl = np.moveaxis(x, 1, -1).copy(), np.moveaxis(g, 1, -1).copy()
    _, gwl = fa.prelu_backward(gl, xl, w, axis=-1)
    assert (np.abs(gwl - ref) <= np.finfo(np.float32).eps * np.abs(ref)).all()


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("shape,axis", [((20, 6, 500), 1), ((500, 6), 1), ((1_100_000, 2), 1)])
def test_prelu_in_place_out(dtype, shape, axis):
    rng = np.random.default_rng(15)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.uniform(-1, 1, shape[axis]).astype(dtype)
    ref = fa.prelu(x, w, axis=axis)
    xi = x.copy()
    assert fa.prelu(xi, w, axis=axis, out=xi) is xi
    assert bitwise_eq(xi, ref)
    out = np.empty_like(x)
    assert fa.prelu(x, w, axis=axis, out=out) is out
    assert bitwise_eq(out, ref)
    # Fortran order in and out (no copy: the transposed view)
    xf = np.asfortranarray(x)
    outf = np.empty_like(xf, order="F")
    assert fa.prelu(xf, w, axis=axis, out=outf) is outf
    assert bitwise_eq(outf, ref)
    assert fa.prelu(xf, w, axis=axis, out=xf) is xf
    assert bitwise_eq(xf, ref)
    # out of another layout than x
    outs = np.empty(shape[::-1], dtype).T
    assert fa.prelu(x, w, axis=axis, out=outs) is outs
    assert bitwise_eq(outs, ref)


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
def test_prelu_strided(dtype):
    rng = np.random.default_rng(16)
    big = rng.standard_normal((10, 12, 9, 40)).astype(dtype)
    gbig = rng.standard_normal(big.shape).astype(dtype)
    for sl, axis in [((slice(None, None, 2), slice(None, None, 2)), 1),
                     ((slice(None), slice(None), slice(None), slice(None, None, -8)), 1),
                     ((slice(None), slice(None, 6)), 1)]:
        x, g = big[sl], gbig[sl]
        w = rng.uniform(-1, 1, x.shape[1]).astype(dtype)
        xt = np.moveaxis(x, 1, -1)                     # channels last, strided
        gt = np.moveaxis(g, 1, -1)
        for xx, gg, ax in [(x, g, axis), (xt, gt, -1)]:
            xc, gc = np.ascontiguousarray(xx), np.ascontiguousarray(gg)
            assert bitwise_eq(fa.prelu(xx, w, axis=ax), fa.prelu(xc, w, axis=ax))
            gx, gw = fa.prelu_backward(gg, xx, w, axis=ax)
            gxc, gwc = fa.prelu_backward(gc, xc, w, axis=ax)
            assert bitwise_eq(gx, gxc)
            np.testing.assert_allclose(gw, gwc, rtol=4 * np.finfo(dtype).eps)


def test_prelu_every_isa():
    from fastact import _dispatch

    rng = np.random.default_rng(17)
    cases = [((6, 5, 700), 1), ((900, 5), 1)]
    for shape, axis in cases:
        x = rng.standard_normal(shape)
        g = rng.standard_normal(shape)
        w = rng.uniform(-1, 1, 5)
        w[2] = 0
        for dtype in FLOATS:
            xd, gd, wd = x.astype(dtype), g.astype(dtype), w.astype(dtype)
            base = None
            for isa in _dispatch.supported_isas():
                with _dispatch.using(isa):
                    r = (fa.prelu(xd, wd, axis=axis),) + fa.prelu_backward(gd, xd, wd, axis=axis)
                if base is None:
                    base = r
                else:
                    assert bitwise_eq(r[0], base[0]) and bitwise_eq(r[1], base[1]), isa
                    # summed in another order (vector width): within the sum's error
                    mag = np.abs(g * x).sum()
                    np.testing.assert_allclose(r[2], base[2], rtol=4 * np.finfo(dtype).eps,
                                               atol=16 * 2.0**-52 * mag)


@pytest.mark.parametrize("dtype", FLOATS)
def test_prelu_fast_path_is_the_general_path(dtype):
    """prelu takes a C fast path for C-contiguous native x and weight of one
    dtype and a Python int axis (fastact._prelu.fast_forward); anything else
    goes through fastact._prelu_api.  Bitwise the same results, every axis,
    shared and per-channel weights, with and without out=."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 6, 7)).astype(dtype)
    big = np.zeros((5, 6, 14), dtype)
    big[..., ::2] = x
    view = big[..., ::2]
    for axis in (0, 1, 2, -1):
        for nw in (1, x.shape[axis]):
            w = rng.uniform(0.05, 0.5, nw).astype(dtype)
            fast = fa.prelu(x, w, axis=axis)
            np.testing.assert_array_equal(fast, fa.prelu(view, w, axis=axis))
            np.testing.assert_array_equal(fast, fa.prelu(x, w, axis=np.int64(axis)))
            o = np.empty_like(x)
            assert fa.prelu(x, w, axis=axis, out=o) is o
            np.testing.assert_array_equal(o, fast)
    # out overlapping the weight: the general path refuses
    buf = np.zeros(x.size + 7, dtype)
    o = buf[:x.size].reshape(x.shape)
    w = buf[x.size - 3:x.size + 4]
    with pytest.raises(ValueError, match="overlap"):
        fa.prelu(x, w, axis=-1, out=o)


@pytest.mark.parametrize("dtype", FLOATS)
def test_prelu_backward_fast_path_is_the_general_path(dtype):
    """prelu_backward's C fast path (fastact._prelu.fast_backward) and the
    general path agree bitwise, grad_x and grad_weight (dtype included)."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 6, 7)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    big = np.zeros((5, 6, 14), dtype)
    big[..., ::2] = x
    for axis in (0, 1, 2, -1):
        for nw in (1, x.shape[axis]):
            w = rng.uniform(0.05, 0.5, nw).astype(dtype)
            gx, gw = fa.prelu_backward(g, x, w, axis=axis)
            gx2, gw2 = fa.prelu_backward(g, big[..., ::2], w, axis=axis)
            assert gx.dtype == gx2.dtype == dtype and gw.dtype == gw2.dtype
            assert gw.shape == gw2.shape == w.shape
            np.testing.assert_array_equal(gx, gx2)
            np.testing.assert_array_equal(gw, gw2)


def test_weight_gradient_overflow_no_warning():
    """a float32 weight gradient beyond float32's range is -inf, no warning"""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gx, gw = fa.prelu_backward(np.full(4, 3e38, np.float32), np.full(4, -3e38, np.float32),
                                   np.ones(1, np.float32))
        assert gw.dtype == np.float32 and gw[0] == -np.inf
        gx, gw = fa.prelu_backward(np.full((4, 2), 3e38, np.float32),
                                   np.full((4, 2), -3e38, np.float32)[:, ::1].copy(order="F"),
                                   np.ones(2, np.float32))
        assert (gw == -np.inf).all()
        y = fa.prelu(np.float32([-1.0, 2.0]), np.array([1e300]))
        assert y.dtype == np.float32 and y[0] == -np.inf


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
def test_huge_axis_is_axis_error(dtype):
    x = np.ones((2, 4), dtype)
    for axis in (2 ** 70, -2 ** 70, 2 ** 63):
        with pytest.raises(AxisError):
            fa.prelu(x, np.ones(4, dtype), axis=axis)
        with pytest.raises(AxisError):
            fa.prelu_backward(x, x, np.ones(4, dtype), axis=axis)


def test_axis_checked_for_every_ndim():
    for x in (np.ones(3), np.ones((2, 3)), np.float64(1.0)):
        w = np.ones(x.shape[0] if np.ndim(x) == 1 else (3 if np.ndim(x) == 2 else 1))
        for bad in ("abc", 1.0, None, True):
            with pytest.raises(TypeError, match="axis"):
                fa.prelu(x, w, axis=bad)
            with pytest.raises(TypeError, match="axis"):
                fa.prelu_backward(np.ones_like(x), x, w, axis=bad)
