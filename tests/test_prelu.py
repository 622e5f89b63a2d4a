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
