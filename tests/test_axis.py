"""Tests of the along-axis family (API.md, "Along an axis"): softmax,
log_softmax, softmin, logsumexp, glu, swiglu, geglu, maxout, sparsemax and
softmax_jacobian, forward and backward.

Parametrized over the spec entries of kind "axis".  References are float64
NumPy formulas evaluated on the (float32 or float64) input, plus mpmath
spot checks for logsumexp and log_softmax.  No timing is asserted.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import fastact as fa
from fastact import _spec

try:
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError

AXIS_SPECS = [s for s in _spec.SPECS if s.kind == "axis" and not s.composed]
AXIS_NAMES = [s.name for s in AXIS_SPECS]
WITH_BACKWARD = [n for n in AXIS_NAMES if n != "softmax_jacobian"]
C_KERNEL = ["softmax", "log_softmax", "softmin", "logsumexp", "glu", "swiglu", "geglu"]
FLOATS = (np.float32, np.float64)
RNG = np.random.default_rng(20240604)


def eps(dt):
    return float(np.finfo(dt).eps)


# --------------------------------------------------------------- references

def _erfc(v):
    try:
        from scipy.special import erfc
        return erfc(v)
    except ImportError:  # pragma: no cover
        return np.vectorize(math.erfc)(v)


def _sig(v):
    return np.where(v >= 0, 1 / (1 + np.exp(-np.abs(v))), np.exp(-np.abs(v)) / (1 + np.exp(-np.abs(v))))


def _gelu(v, approximate):
    if approximate == "tanh":
        # 0.5 v (1 + tanh(u)) = v sigmoid(2u), without the cancellation of 1 + tanh
        return v * _sig(2 * math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))
    return v * 0.5 * _erfc(-v / math.sqrt(2))   # erfc: accurate in the lower tail


def ref_forward(name, x, axis=-1, pieces=2, approximate="none"):
    """float64 reference on the values of x"""
    x = np.asarray(x, dtype=np.float64)
    if name in ("softmax", "softmin", "log_softmax", "logsumexp"):
        z = -x if name == "softmin" else x
        m = np.max(z, axis=axis, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=axis, keepdims=True)
        if name == "log_softmax":
            return (z - m) - np.log(s)
        if name == "logsumexp":
            return np.squeeze(m + np.log(s), axis=axis)
        return e / s
    if name in ("glu", "swiglu", "geglu"):
        a, b = np.split(x, 2, axis=axis)
        if name == "glu":
            return a * _sig(b)
        if name == "swiglu":
            return a * _sig(a) * b
        return _gelu(a, approximate) * b
    if name == "maxout":
        z = np.moveaxis(x, axis, -1)
        z = z.reshape(z.shape[:-1] + (z.shape[-1] // pieces, pieces)).max(axis=-1)
        return np.moveaxis(z, -1, axis)
    if name == "sparsemax":
        z = np.moveaxis(x, axis, -1)
        out = np.empty_like(z)
        for idx in np.ndindex(z.shape[:-1]):
            out[idx] = _sparsemax_brute(z[idx])
        return np.moveaxis(out, -1, axis)
    if name == "softmax_jacobian":
        s = np.moveaxis(ref_forward("softmax", x, axis), axis, -1)
        return np.einsum("...i,ij->...ij", s, np.eye(s.shape[-1])) - s[..., :, None] * s[..., None, :]
    raise KeyError(name)


def _sparsemax_brute(z):
    """Euclidean projection onto the simplex by bisection on tau."""
    lo, hi = z.max() - 1.0, z.max()
    for _ in range(200):
        tau = 0.5 * (lo + hi)
        if np.maximum(z - tau, 0).sum() > 1:
            lo = tau
        else:
            hi = tau
    return np.maximum(z - 0.5 * (lo + hi), 0)


def call(name, x, axis=-1, **kw):
    if name == "maxout":
        return fa.maxout(x, kw.pop("pieces", 2), axis=axis, **kw)
    return getattr(fa, name)(x, axis=axis, **kw)


def call_bwd(name, g, x, axis=-1, **kw):
    if name == "maxout":
        return fa.maxout_backward(g, x, kw.pop("pieces", 2), axis=axis, **kw)
    return getattr(fa, name + "_backward")(g, x, axis=axis, **kw)


def out_shape(name, shape, axis, pieces=2):
    shape = list(shape)
    ax = axis % len(shape)
    if name == "logsumexp":
        del shape[ax]
    elif name in ("glu", "swiglu", "geglu"):
        shape[ax] //= 2
    elif name == "maxout":
        shape[ax] //= pieces
    elif name == "softmax_jacobian":
        n = shape.pop(ax)
        shape += [n, n]
    return tuple(shape)


def tol(name, dt, x=None):
    # relative tolerance against the float64 reference, absolute floor
    # (log_softmax, logsumexp: plus a few eps of the shift, x - max)
    e = eps(dt)
    if name in ("log_softmax", "logsumexp") and x is not None:
        return 8 * e, 4 * e * max(1.0, float(np.abs(x).max()))
    if name in ("geglu",):
        return 16 * e, 4 * e
    if name in ("sparsemax",):
        return 64 * e, 64 * e
    return 8 * e, 2 * e


def assert_close(got, ref, rtol, atol, msg=""):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=msg + " (NaN positions)")
    fin = np.isfinite(ref)
    np.testing.assert_array_equal(got[~fin], ref[~fin], err_msg=msg + " (inf positions)")
    np.testing.assert_allclose(got[fin], ref[fin], rtol=rtol, atol=atol, err_msg=msg)


# ---------------------------------------------------------------- registry

def test_registry_and_exports():
    for name in WITH_BACKWARD:
        e = fa.ACTIVATIONS[name]
        assert e.kind == "axis"
        assert e.forward is getattr(fa, name)
        assert e.backward is getattr(fa, name + "_backward")
        assert e.params["axis"] == -1
        assert name in fa.__all__ and name + "_backward" in fa.__all__
    assert "softmax_jacobian" not in fa.ACTIVATIONS
    assert "softmax_jacobian" in fa.__all__
    assert fa.ACTIVATIONS["geglu"].params["approximate"] == "none"
    assert fa.ACTIVATIONS["maxout"].params["pieces"] is None
    for s in AXIS_SPECS:
        if s.grad_from_output:
            assert s.name in ("softmax", "log_softmax", "softmin")
    assert all(s.kind == "elementwise" for s in _spec.SPECS if s.name in _spec.KERNELS)


# ------------------------------------------------------- forward, every axis

SHAPES = [(6,), (4, 6), (2, 4, 6), (2, 2, 4, 6)]


@pytest.mark.parametrize("name", AXIS_NAMES)
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_forward_every_axis(name, dt):
    for shape in SHAPES:
        x = (RNG.standard_normal(shape) * 3).astype(dt)
        rtol, atol = tol(name, dt, x)
        for axis in list(range(len(shape))) + [-1]:
            got = call(name, x, axis)
            assert got.dtype == dt
            assert got.shape == out_shape(name, shape, axis)
            assert_close(got, ref_forward(name, x, axis), rtol, atol, f"{name} {shape} {axis}")


@pytest.mark.parametrize("name", C_KERNEL)
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("shape,axis", [((5, 1000), -1), ((4, 600), 0), ((3, 40, 530), 1),
                                        ((2, 300, 17), 1), ((70, 4), 0)])
def test_forward_larger(name, dt, shape, axis):
    """rows longer than a summation block, column blocks with ragged tails"""
    x = (RNG.standard_normal(shape) * 4).astype(dt)
    rtol, atol = tol(name, dt, x)
    assert_close(call(name, x, axis), ref_forward(name, x, axis), rtol, atol)


def test_geglu_tanh():
    for dt in FLOATS:
        x = (RNG.standard_normal((4, 8)) * 3).astype(dt)
        for axis in (0, 1):
            ref = ref_forward("geglu", x, axis, approximate="tanh")
            assert_close(fa.geglu(x, axis, approximate="tanh"), ref, 16 * eps(dt), 4 * eps(dt))


@pytest.mark.parametrize("name", ["glu", "swiglu", "geglu"])
@pytest.mark.parametrize("rows, n", [(12000, 250), (3, 2_000_002)])
def test_glu_out_of_cache_same_bits(name, rows, n):
    # over 16 MiB of x and out the forwards fetch ahead of each run, across
    # row ends (include/fa_axis_impl.h, fa_ax_pair_ahead): the same values
    # as on blocks of rows that stay in cache, at 1 and 2 threads
    # its own generator: the tests after it draw from RNG as before
    x = (np.random.default_rng(13).standard_normal((rows, n)) * 4).astype(np.float32)
    x[0, :7] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e30, -1e30]
    step = max(1, (1 << 20) // n)
    want = np.concatenate([getattr(fa, name)(x[i:i + step], -1) for i in range(0, rows, step)])
    for threads in (1, 2):
        with fa.num_threads(threads):
            got = getattr(fa, name)(x, -1)
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


# ------------------------------------------------------------------ layouts

def _layouts(x):
    yield "C", x
    yield "F", np.asfortranarray(x)
    yield "sliced", np.repeat(x, 2, axis=-1)[..., ::2]
    yield "negative", np.ascontiguousarray(x[::-1, ..., ::-1])[::-1, ..., ::-1]
    big = np.zeros((x.shape[0] * 2,) + x.shape[1:], x.dtype)
    big[::2] = x
    yield "strided0", big[::2]


@pytest.mark.parametrize("name", AXIS_NAMES)
def test_layouts(name):
    x = (RNG.standard_normal((4, 6, 8)) * 3).astype(np.float64)
    for axis in (0, 1, 2):
        ref = call(name, np.ascontiguousarray(x), axis)
        for lay, xv in _layouts(x):
            np.testing.assert_array_equal(xv, x)
            got = call(name, xv, axis)
            np.testing.assert_allclose(got, ref, rtol=16 * eps(np.float64),
                                       atol=1e-15 if name == "softmax_jacobian" else
                                       tol(name, np.float64, x)[1] if name in ("log_softmax", "logsumexp") else 1e-300,
                                       err_msg=f"{name} {lay} axis={axis}")
        if name != "softmax_jacobian":
            g = RNG.standard_normal(out_shape(name, x.shape, axis))
            refb = call_bwd(name, g, np.ascontiguousarray(x), axis)
            for lay, xv in _layouts(x):
                got = call_bwd(name, np.asfortranarray(g), xv, axis)
                np.testing.assert_allclose(got, refb, rtol=1e-13, atol=1e-15,
                                           err_msg=f"{name}_backward {lay} axis={axis}")


# -------------------------------------------------------------------- dtypes

@pytest.mark.parametrize("name", AXIS_NAMES)
def test_dtype_rules(name):
    x64 = np.array([[0.5, -1.0, 2.0, 0.25], [1.0, 3.0, -2.0, 0.0]])
    r16 = call(name, x64.astype(np.float16))
    assert r16.dtype == np.float16
    r32 = call(name, x64.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(r16, r32.astype(np.float16))
    for xi in (x64.astype(np.int32), x64.astype(np.int64)):
        r = call(name, xi)
        assert r.dtype == np.float64
        np.testing.assert_allclose(r, call(name, xi.astype(np.float64)), rtol=0, atol=0)
    rb = call(name, x64 > 0)
    assert rb.dtype == np.float64
    rl = call(name, x64.tolist())
    np.testing.assert_array_equal(rl, call(name, x64))
    sw = x64.astype(np.dtype(">f8"))
    np.testing.assert_array_equal(call(name, sw), call(name, x64))
    for bad in (x64.astype(np.complex128), np.array([["a", "b"]]), x64.astype(np.longdouble)):
        with pytest.raises(TypeError, match="x"):
            call(name, bad)


# -------------------------------------------------------------- out=, errors

@pytest.mark.parametrize("name", [n for n in AXIS_NAMES if n != "softmax_jacobian"])
@pytest.mark.parametrize("axis", [0, -1])
def test_out(name, axis):
    x = (RNG.standard_normal((4, 6)) * 2).astype(np.float32)
    ref = call(name, x, axis)
    o = np.full(ref.shape, 7.0, np.float32)
    r = call(name, x, axis, out=o)
    assert r is o
    np.testing.assert_array_equal(o, ref)
    # out of another layout
    o = np.asfortranarray(np.full(ref.shape, 7.0, np.float32))
    assert call(name, x, axis, out=o) is o
    np.testing.assert_array_equal(o, ref)
    # in place (same shape only)
    if ref.shape == x.shape:
        xi = x.copy()
        assert call(name, xi, axis, out=xi) is xi
        np.testing.assert_array_equal(xi, ref)
    # errors, nothing written
    o = np.full(ref.shape, 7.0, np.float32)
    with pytest.raises(TypeError):
        call(name, x, axis, out=o.astype(np.float64))
    with pytest.raises(ValueError):
        call(name, x, axis, out=np.zeros(ref.shape + (1,), np.float32))
    o.flags.writeable = False
    with pytest.raises(ValueError):
        call(name, x, axis, out=o)
    np.testing.assert_array_equal(o, 7.0)
    # partial overlap with the input
    buf = np.zeros(x.size + 1, np.float32)
    xb = buf[:-1].reshape(x.shape)
    xb[...] = x
    ob = buf[1:1 + int(np.prod(ref.shape))].reshape(ref.shape)
    with pytest.raises(ValueError, match="overlap"):
        call(name, xb, axis, out=ob)
    np.testing.assert_array_equal(xb, x)


@pytest.mark.parametrize("name", WITH_BACKWARD)
def test_backward_out_and_in_place(name):
    x = (RNG.standard_normal((4, 6)) * 2).astype(np.float64)
    for axis in (0, 1):
        g = RNG.standard_normal(out_shape(name, x.shape, axis))
        ref = call_bwd(name, g, x, axis)
        o = np.empty_like(x)
        assert call_bwd(name, g, x, axis, out=o) is o
        np.testing.assert_array_equal(o, ref)
        xi = x.copy()
        assert call_bwd(name, g, xi, axis, out=xi) is xi
        np.testing.assert_array_equal(xi, ref)
        if g.shape == x.shape:
            gi = g.copy()
            assert call_bwd(name, gi, x, axis, out=gi) is gi
            np.testing.assert_array_equal(gi, ref)
        with pytest.raises(ValueError, match="grad_output"):
            call_bwd(name, np.zeros(x.shape + (1,)), x, axis)
        with pytest.raises(TypeError):
            call_bwd(name, g, x, axis, out=np.empty_like(x, dtype=np.float32))


@pytest.mark.parametrize("name", AXIS_NAMES)
def test_errors(name):
    with pytest.raises(ValueError, match="x"):
        call(name, 1.5)
    with pytest.raises(ValueError, match="x"):
        call(name, np.float32(2.0))
    x = np.zeros((2, 4))
    with pytest.raises(AxisError):
        call(name, x, 2)
    with pytest.raises(AxisError):
        call(name, x, -3)
    with pytest.raises(TypeError, match="axis"):
        call(name, x, 1.0)
    with pytest.raises(TypeError, match="axis"):
        call(name, x, True)


def test_split_and_pieces_errors():
    for name in ("glu", "swiglu", "geglu"):
        with pytest.raises(ValueError, match="x"):
            getattr(fa, name)(np.zeros((2, 5)))
        with pytest.raises(ValueError, match="x"):
            getattr(fa, name + "_backward")(np.zeros((1, 5)), np.zeros((3, 5)), axis=0)
        getattr(fa, name)(np.zeros((2, 5)), axis=0)   # even along axis 0
    with pytest.raises(ValueError, match="approximate"):
        fa.geglu(np.zeros(4), approximate="erf")
    with pytest.raises(ValueError, match="approximate"):
        fa.geglu_backward(np.zeros(2), np.zeros(4), approximate=None)
    with pytest.raises(ValueError, match="pieces"):
        fa.maxout(np.zeros((2, 6)), 4)
    with pytest.raises(ValueError, match="pieces"):
        fa.maxout(np.zeros((2, 6)), 0)
    with pytest.raises(TypeError, match="pieces"):
        fa.maxout(np.zeros((2, 6)), 2.0)
    with pytest.raises(ValueError, match="pieces"):
        fa.maxout_backward(np.zeros((2, 1)), np.zeros((2, 6)), 4)
    assert not hasattr(fa, "softmax_jacobian_backward")
    with pytest.raises(TypeError):
        fa.softmax_jacobian(np.zeros(3), out=np.zeros((3, 3)))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_x_or_y(name):
    bwd = getattr(fa, name + "_backward")
    x = RNG.standard_normal((3, 5))
    g = RNG.standard_normal((3, 5))
    with pytest.raises(TypeError, match="y"):
        bwd(g, x, y=x)
    with pytest.raises(TypeError, match="y"):
        bwd(g)
    for dt in FLOATS:
        for axis in (0, 1, -1):
            xd, gd = x.astype(dt), g.astype(dt)
            y = getattr(fa, name)(xd, axis)
            a = bwd(gd, xd, axis)
            b = bwd(gd, y=y, axis=axis)
            assert b.dtype == dt
            np.testing.assert_allclose(a, b, rtol=16 * eps(dt), atol=16 * eps(dt))


# ------------------------------------------------------------ special values

NAN, INF = np.nan, np.inf


@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("transpose", [False, True], ids=["rows", "columns"])
def test_special_values(dt, transpose):
    x = np.array([
        [1000.0, 1000.0, -INF, 0.0],       # big, a -inf entry
        [-INF, -INF, -INF, -INF],          # all -inf
        [1.0, INF, 2.0, 3.0],              # +inf
        [1.0, NAN, 2.0, 3.0],              # NaN
        [-1e30 if dt == np.float32 else -1e300, 0.0, 1.0, 1e30 if dt == np.float32 else 1e300],
        [-INF, 5.0, -INF, -INF],           # one finite
    ], dtype=dt)
    axis = 0 if transpose else 1
    xx = np.ascontiguousarray(x.T) if transpose else x
    T = (lambda a: a.T) if transpose else (lambda a: a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sm = T(fa.softmax(xx, axis))
        lsm = T(fa.log_softmax(xx, axis))
        smin = T(fa.softmin(xx, axis))
        lse = fa.logsumexp(xx, axis)
    np.testing.assert_array_equal(sm[0], [0.5, 0.5, 0.0, 0.0])
    assert lsm[0, 2] == -INF and lsm[0, 0] == np.log(dt(0.5)).astype(dt)
    np.testing.assert_allclose(lse[0], 1000 + np.log(2), rtol=eps(dt))
    for a in (sm, lsm, smin):
        assert np.isnan(a[1]).all() and np.isnan(a[3]).all()
    assert np.isnan(sm[2]).all() and np.isnan(lsm[2]).all()
    assert lse[1] == -INF and lse[2] == INF and np.isnan(lse[3])
    assert lse[4] == x[4, 3]
    np.testing.assert_array_equal(sm[4], [0, 0, 0, 1])
    np.testing.assert_array_equal(sm[5], [0, 1, 0, 0])
    np.testing.assert_array_equal(lsm[5], [-INF, 0, -INF, -INF])
    assert lse[5] == 5.0
    # softmin of -x is softmax of x (up to the order of the rows' NaN rules)
    np.testing.assert_array_equal(T(fa.softmin(-xx, axis))[[0, 4, 5]], sm[[0, 4, 5]])
    # the x- and y-form backward of log_softmax give g at -inf entries
    g = np.arange(1.0, 1.0 + x.size, dtype=dt).reshape(x.shape)
    gg = np.ascontiguousarray(g.T) if transpose else g
    for gb in (fa.log_softmax_backward(gg, xx, axis), fa.log_softmax_backward(gg, y=T(lsm) if not transpose else np.ascontiguousarray(lsm.T), axis=axis)):
        gb = T(gb)
        assert gb[0, 2] == g[0, 2] and gb[5, 0] == g[5, 0] and gb[5, 3] == g[5, 3]
        np.testing.assert_allclose(gb[5, 1], g[5, 1] - g[5].sum(), rtol=eps(dt))
    # logsumexp backward: softmax weights; an all -inf row gets 0 (not NaN)
    lb = T(fa.logsumexp_backward(np.ones(6, dt), xx, axis))
    np.testing.assert_array_equal(lb[0], [0.5, 0.5, 0, 0])
    np.testing.assert_array_equal(lb[1], 0.0)
    assert np.isnan(lb[3]).all()
    np.testing.assert_array_equal(lb[5], [0, 1, 0, 0])


def test_log_softmax_dominant_entry():
    # log(1 + 2e-9): the float32 block sums are widened to double
    for dt in FLOATS:
        r = fa.log_softmax(np.array([0.0, -20.0], dt))
        # (float64: within the absolute eps of the shift, s = 1 + 2e-9 is a double)
        np.testing.assert_allclose(r[0], -np.log1p(np.exp(-20.0)), rtol=4 * eps(dt),
                                   atol=2 * eps(np.float64))


def test_empty_and_degenerate():
    assert fa.logsumexp(np.zeros((3, 0))).tolist() == [-INF] * 3
    assert fa.logsumexp(np.zeros(0)) == -INF
    assert isinstance(fa.logsumexp(np.zeros(0)), np.float64)
    assert fa.logsumexp(np.zeros((0, 3)), axis=0).tolist() == [-INF] * 3
    assert fa.logsumexp(np.zeros((0, 3))).shape == (0,)
    assert isinstance(fa.logsumexp(np.array([1.0, 2.0], np.float32)), np.float32)
    for name in AXIS_NAMES:
        x = np.zeros((0, 4), np.float32)
        r = call(name, x)
        assert r.shape == out_shape(name, x.shape, -1) and r.dtype == np.float32
        if name != "softmax_jacobian":
            gb = call_bwd(name, np.zeros(r.shape, np.float32), x)
            assert gb.shape == x.shape and gb.dtype == np.float32
    np.testing.assert_array_equal(fa.softmax(np.array([[3.0]])), [[1.0]])
    np.testing.assert_array_equal(fa.softmax(np.array([1e300, 1e300])), [0.5, 0.5])
    assert fa.softmax(np.array([1000.0, 1000.0]), axis=0).tolist() == [0.5, 0.5]


# ------------------------------------------------------------------ accuracy

@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("n", [3, 100, 1000, 50257])
def test_row_sums(dt, n):
    rows = max(2, 20000 // n)
    x = (RNG.standard_normal((rows, n)) * 5).astype(dt)
    bound = 4 * eps(dt) * max(1.0, math.log2(n))
    for axis, xx in ((1, x), (0, np.ascontiguousarray(x.T))):
        for f in (fa.softmax, fa.softmin):
            # pairwise sum along a contiguous last axis (numpy sums other axes
            # sequentially, which would add its own O(n) eps error)
            y = np.ascontiguousarray(np.moveaxis(f(xx, axis).astype(np.float64), axis, -1))
            s = y.sum(axis=-1)
            assert np.abs(s - 1).max() <= bound, (f.__name__, axis, np.abs(s - 1).max() / eps(dt))


def _ulp(ref, dt):
    return np.spacing(np.abs(ref).astype(dt)).astype(np.float64)


@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_logsumexp_log_softmax_mpmath(dt):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    rows = [RNG.standard_normal(50) * 3, RNG.standard_normal(7) * 30 + 100,
            RNG.standard_normal(300) - 200, np.linspace(-5, 5, 11), RNG.standard_normal(1000)]
    for r in rows:
        x = r.astype(dt)
        xs = [mpmath.mpf(float(v)) for v in x]
        lse_ref = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in xs))
        m = float(x.max())
        got = float(fa.logsumexp(x))
        ref = float(lse_ref)
        # 4 ulp of the result plus a few eps of the shift
        assert abs(got - ref) <= 4 * _ulp(np.array(ref), dt) + 2 * eps(dt) * abs(m), (got, ref)
        lsm = fa.log_softmax(x).astype(np.float64)
        lref = np.array([float(v - lse_ref) for v in xs])
        err = np.abs(lsm - lref)
        allowed = 4 * _ulp(lref, dt) + 2 * eps(dt) * (abs(m) + np.abs(x.astype(np.float64)))
        assert (err <= allowed).all(), (err / _ulp(lref, dt)).max()
        # the same along axis 0 (column kernel)
        xc = np.repeat(x[:, None], 3, axis=1)
        np.testing.assert_allclose(fa.logsumexp(xc, axis=0), np.full(3, got), rtol=4 * eps(dt))


@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ["softmax_backward", "log_softmax_backward",
                                  "log_softmax_backward_y", "logsumexp_backward"])
def test_softmax_backward_large_grad_tiny_softmax(dt, name):
    # g times a softmax entry below the normal range where the product is
    # normal: formed without the subnormal (fa_ax_expmul), over rows and
    # columns; deep enough that e^(x - max) itself is subnormal, and (the
    # second) that it underflows to 0 (float32 -150, float64 -1000)
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    big = 1e30 if dt == np.float32 else 1e300
    for deep in ((-100.0, -150.0) if dt == np.float32 else (-720.0, -1000.0)):
        x = np.array([0.0, deep, deep], dt)
        g = np.array([0.0, big, 0.0] if name == "softmax_backward" else [big, 0.0, 0.0], dt)
        if name == "logsumexp_backward":
            # (also e normal, e / s subnormal: a row of 2000 inside the
            # fast range of the exponential)
            xl = np.zeros(2000, dt)
            xl[1] = -86.0 if dt == np.float32 else -707.0
            s = mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in xl)
            ref = float(mpmath.mpf(big) * mpmath.exp(mpmath.mpf(float(xl[1]))) / s)
            got = float(fa.logsumexp_backward(np.array(big, dt), xl)[1])
            assert abs(got - ref) <= 8 * _ulp(np.array(ref), dt), (got, ref)
            g = np.array(big, dt)
        fn, from_y = name, name == "log_softmax_backward_y"
        if from_y:   # y = log_softmax(x) is normal; e^y is not (the reference from x)
            fn, x = "log_softmax_backward", fa.log_softmax(x)
        xs = [mpmath.mpf(float(v)) for v in x]
        s = mpmath.fsum(mpmath.exp(v) for v in xs)
        y = [mpmath.exp(v) / s for v in xs]
        gs = [mpmath.mpf(float(v)) for v in np.atleast_1d(g)]
        if name == "softmax_backward":
            dot = mpmath.fsum(a * b for a, b in zip(gs, y))
            ref = np.array([float(yi * (gi - dot)) for yi, gi in zip(y, gs)])
        elif name == "logsumexp_backward":
            ref = np.array([float(gs[0] * yi) for yi in y])
        else:
            tot = mpmath.fsum(gs)
            ref = np.array([float(gi - yi * tot) for yi, gi in zip(y, gs)])
        f = getattr(fa, fn)
        for axis in (-1, 0):
            xa, ga = x, g
            if axis == 0:    # three equal columns
                xa = np.ascontiguousarray(np.repeat(x[:, None], 3, axis=1))
                ga = np.full(3, g) if g.ndim == 0 else \
                    np.ascontiguousarray(np.repeat(g[:, None], 3, axis=1))
            got = f(ga, y=xa, axis=axis) if from_y else f(ga, xa, axis=axis)
            got = (got if axis == -1 else got[:, 1]).astype(np.float64)
            err = np.abs(got - ref)
            # log_softmax: g - y sum(g) where y ~ 1 cancels (0 for 7e-14 at
            # g = 1e30): the rounding of the operands, not of the tiny entry
            cancel = 2 * eps(dt) * np.abs(np.atleast_1d(g).astype(np.float64)) \
                if fn == "log_softmax_backward" else 0.0
            assert (err <= 8 * _ulp(ref, dt) + cancel + np.finfo(dt).smallest_subnormal).all(), \
                (deep, axis, got, ref)


@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_masked_backward_large_grad_tiny_softmax(dt):
    # with where= the softmax and logsumexp backward work from y; a row with
    # a subnormal y is recomputed from its logits: it matches the unmasked
    # call on the live entries (checked against mpmath above), not y's bits
    deep = -100.0 if dt == np.float32 else -720.0
    big = 1e30 if dt == np.float32 else 1e300
    x = np.array([[0.0, deep, deep, 5.0], [1.0, 2.0, 3.0, 4.0]], dt)
    g = np.array([[0.0, big, 0.0, 7.0], [1.0, -1.0, 2.0, 0.5]], dt)
    w = np.array([[True, True, True, False], [True, True, False, True]])
    tol = dict(rtol=8 * eps(dt), atol=0)
    got = fa.softmax_backward(g, x, where=w)
    np.testing.assert_allclose(got[0, :3], fa.softmax_backward(g[0, :3], x[0, :3]), **tol)
    assert got[0, 3] == 0
    got = fa.logsumexp_backward(np.array([big, 1.0], dt), x, where=w)
    np.testing.assert_allclose(got[0, :3], fa.logsumexp_backward(np.array(big, dt), x[0, :3]),
                               **tol)
    live = w[1]
    np.testing.assert_allclose(got[1, live], fa.logsumexp_backward(np.array(1.0, dt), x[1, live]),
                               **tol)


@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_logsumexp_backward_large_grad_tiny_softmax(dt):
    # g * softmax(x) where softmax(x) is below the normal range but the
    # product is not: the product must not carry the subnormal's lost bits
    # (the long fuzz profile found float32 g = 1000, x - max = -100 at 453
    # ulp); rows (axis -1), columns (axis 0), out = x
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    deep = -100.0 if dt == np.float32 else -720.0
    x = np.array([[0.0, deep, deep - 3.0, -np.inf, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0]], dt)
    g = np.array([1000.0 if dt == np.float32 else 1e300, 2.0], dt)
    ref = np.zeros(x.shape)
    for i in range(2):
        xs = [mpmath.mpf(float(v)) for v in x[i] if np.isfinite(v)]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in xs))
        for j in range(5):
            if np.isfinite(x[i, j]):
                ref[i, j] = float(mpmath.mpf(float(g[i])) * mpmath.exp(mpmath.mpf(float(x[i, j])) - lse))
    tiny = np.finfo(dt).smallest_subnormal
    for got in (fa.logsumexp_backward(g, x, axis=-1),
                fa.logsumexp_backward(g, np.ascontiguousarray(x.T), axis=0).T):
        err = np.abs(got.astype(np.float64) - ref)
        assert (err <= 4 * _ulp(ref, dt) + tiny).all(), (got, ref)
    xx = x.copy()
    same = fa.logsumexp_backward(g, xx, axis=-1, out=xx)       # in place
    np.testing.assert_array_equal(same, fa.logsumexp_backward(g, x, axis=-1))


# ------------------------------------------------------------------ gradients

def _fd_grad(f, x, g, h=1e-6):
    """d/dx sum(g * f(x)) by central differences (float64)"""
    gx = np.zeros_like(x)
    flat = x.reshape(-1)
    for i in range(flat.size):
        xp = flat.copy()
        xm = flat.copy()
        xp[i] += h
        xm[i] -= h
        gx.reshape(-1)[i] = (np.sum(g * f(xp.reshape(x.shape))) - np.sum(g * f(xm.reshape(x.shape)))) / (2 * h)
    return gx


@pytest.mark.parametrize("name", WITH_BACKWARD)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_backward_finite_differences(name, axis):
    x = RNG.standard_normal((4, 4)) * 1.5
    if name == "maxout":   # keep the maxima apart from ties
        x = x + np.arange(16).reshape(4, 4) * 0.01
    g = RNG.standard_normal(out_shape(name, x.shape, axis))
    kw = {}
    got = call_bwd(name, g, x, axis, **kw)
    ref = _fd_grad(lambda v: call(name, v, axis, **kw), x, g)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)
    if name == "geglu":
        got = fa.geglu_backward(g, x, axis, approximate="tanh")
        ref = _fd_grad(lambda v: fa.geglu(v, axis, approximate="tanh"), x, g)
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)


def _torch_fn(name, torch, axis, approximate="none"):
    F = torch.nn.functional
    return {
        "softmax": lambda t: torch.softmax(t, axis),
        "log_softmax": lambda t: torch.log_softmax(t, axis),
        "softmin": lambda t: F.softmin(t, axis),
        "logsumexp": lambda t: torch.logsumexp(t, axis),
        "glu": lambda t: F.glu(t, axis),
        "swiglu": lambda t: (lambda a, b: F.silu(a) * b)(*torch.chunk(t, 2, axis)),
        "geglu": lambda t: (lambda a, b: F.gelu(a, approximate=approximate) * b)(*torch.chunk(t, 2, axis)),
    }[name]


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "logsumexp", "glu",
                                  "swiglu", "geglu"])
def test_against_torch(name):
    torch = pytest.importorskip("torch")
    for shape, axis in (((5, 8), -1), ((6, 4, 10), 1), ((8, 3), 0)):
        x = RNG.standard_normal(shape) * 3
        for approx in (("none", "tanh") if name == "geglu" else ("none",)):
            kw = {"approximate": approx} if name == "geglu" else {}
            t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            y = _torch_fn(name, torch, axis, approx)(t)
            g = RNG.standard_normal(tuple(y.shape))
            y.backward(torch.tensor(g))
            np.testing.assert_allclose(call(name, x, axis, **kw), y.detach().numpy(),
                                       rtol=1e-13, atol=1e-15 if approx == "none" else 1e-13)
            # (torch's tanh-form gelu loses digits in the lower tail: atol)
            np.testing.assert_allclose(call_bwd(name, g, x, axis, **kw), t.grad.numpy(),
                                       rtol=1e-12, atol=1e-14 if approx == "none" else 1e-13)
            # float32 against torch float32: as close to the float64 values
            # as torch's, or within 2e-6 of them (torch float32 loses
            # digits where gelu(a) b or a sigmoid(b) is small against its
            # factors: 8e-5 relative on some draws)
            t32 = torch.tensor(x, dtype=torch.float32)
            ref = y.detach().numpy()
            err = np.abs(call(name, x.astype(np.float32), axis, **kw) - ref)
            terr = np.abs(_torch_fn(name, torch, axis, approx)(t32).numpy() - ref)
            assert np.all(err <= np.maximum(terr, 2e-6 * np.abs(ref) + 1e-6)), name


def test_torch_special_rows():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, INF, 2.0], [-INF, -INF, -INF], [NAN, 1.0, 2.0], [-INF, 1.0, 2.0]])
    t = torch.tensor(x)
    for name in ("softmax", "log_softmax", "logsumexp"):
        assert_close(call(name, x), _torch_fn(name, torch, -1)(t).numpy(), 2 * eps(np.float64), 0)


# ------------------------------------------------------------ maxout, sparsemax

def test_maxout_first_maximum():
    x = np.array([[1.0, 3.0, 3.0, 2.0, NAN, 5.0, 5.0, NAN]])
    np.testing.assert_array_equal(fa.maxout(x, 2), [[3.0, 3.0, NAN, NAN]])
    np.testing.assert_array_equal(fa.maxout(x, 4), [[3.0, NAN]])
    g = np.array([[10.0, 20.0]])
    np.testing.assert_array_equal(fa.maxout_backward(g, x, 4), [[0, 10, 0, 0, 20, 0, 0, 0]])
    xc = np.ascontiguousarray(x.T)
    np.testing.assert_array_equal(fa.maxout_backward(g.T, xc, 4, axis=0),
                                  np.array([[0, 10, 0, 0, 20, 0, 0, 0]]).T)


def test_sparsemax_properties():
    np.testing.assert_allclose(fa.sparsemax(np.array([0.0, 0.5, 2.0])), [0, 0, 1])
    np.testing.assert_allclose(fa.sparsemax(np.array([1.0, 1.2, 0.0])), [0.4, 0.6, 0.0])
    for dt in FLOATS:
        x = (RNG.standard_normal((50, 20)) * 2).astype(dt)
        for axis in (0, 1):
            p = fa.sparsemax(x, axis)
            assert p.dtype == dt and (p >= 0).all()
            np.testing.assert_allclose(p.sum(axis=axis), 1, rtol=0, atol=32 * eps(dt))
    x = np.array([[-INF, 1.0, 1.2], [-INF, -INF, -INF], [NAN, 1.0, 0.0]])
    p = fa.sparsemax(x)
    np.testing.assert_allclose(p[0], [0, 0.4, 0.6])
    assert np.isnan(p[1]).all() and np.isnan(p[2]).all()


def test_softmax_jacobian():
    x = RNG.standard_normal((2, 3, 5))
    for axis in (0, 1, 2, -1):
        J = fa.softmax_jacobian(x, axis)
        xm = np.moveaxis(x, axis, -1)
        assert J.shape == xm.shape + (x.shape[axis],)
        g = RNG.standard_normal(x.shape)
        gm = np.moveaxis(g, axis, -1)
        vjp = np.einsum("...i,...ij->...j", gm, J)
        np.testing.assert_allclose(vjp, np.moveaxis(fa.softmax_backward(g, x, axis), axis, -1),
                                   rtol=1e-12, atol=1e-15)
    J1 = fa.softmax_jacobian(np.array([0.0, 1.0]))
    assert J1.shape == (2, 2)
    np.testing.assert_allclose(J1, J1.T)
    assert fa.softmax_jacobian(np.zeros(3, np.float16)).dtype == np.float16


# ------------------------------------------------------- threads and levels

@pytest.mark.parametrize("name", C_KERNEL)
def test_threads_bitwise(name):
    for dt in FLOATS:
        for shape, axis in (((300, 500), -1), ((400, 300), 0), ((6, 120, 90), 1)):
            x = (RNG.standard_normal(shape) * 3).astype(dt)
            g = RNG.standard_normal(out_shape(name, shape, axis)).astype(dt)
            with fa.num_threads(1):
                a = call(name, x, axis)
                ab = call_bwd(name, g, x, axis)
            with fa.num_threads(2):
                b = call(name, x, axis)
                bb = call_bwd(name, g, x, axis)
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(ab, bb)


def test_every_isa_level():
    from fastact import _dispatch

    x = RNG.standard_normal((40, 64))
    g = RNG.standard_normal((40, 64))
    ref = {n: (call(n, x, 0), call(n, x, 1)) for n in C_KERNEL}
    refb = fa.softmax_backward(g, x)
    for isa in _dispatch.supported_isas():
        with _dispatch.using(isa):
            from fastact import _axis
            assert _axis._current_isa() == isa
            for n in C_KERNEL:
                for axis in (0, 1):
                    np.testing.assert_allclose(call(n, x, axis), ref[n][axis], rtol=1e-14,
                                               atol=1e-300, err_msg=f"{n} {isa}")
            np.testing.assert_allclose(fa.softmax_backward(g, x), refb, rtol=1e-13, atol=1e-15)


def test_many_python_threads():
    from concurrent.futures import ThreadPoolExecutor

    x = RNG.standard_normal((64, 1000)).astype(np.float32)
    ref = fa.softmax(x)
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda _: fa.softmax(x), range(8)))
    for o in outs:
        np.testing.assert_array_equal(o, ref)


# ------------------------------------------------------ the C fast path

FAST = [s.name for s in _spec.SPECS if s.fast_path]


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_fast_path_is_the_general_path(name, dt):
    """The forward ops take a C fast path for C-contiguous native arrays and
    a Python int axis (fastact._axis.fast); anything else goes through
    fastact._axis_api.  Both must give bitwise the same result, with and
    without out=, for every axis (a strided view of the same values takes
    the general path; so does a NumPy integer axis)."""
    x = (RNG.standard_normal((6, 8, 10)) * 3).astype(dt)
    big = np.zeros((6, 8, 20), dt)
    big[..., ::2] = x
    view = big[..., ::2]                      # same values, not contiguous
    f = getattr(fa, name)
    for axis in (0, 1, 2, -1, -3):
        fast = f(x, axis=axis)
        np.testing.assert_array_equal(fast, f(view, axis=axis), err_msg=f"{name} axis={axis}")
        np.testing.assert_array_equal(fast, f(x, axis=np.int64(axis)))
        o = np.empty_like(fast)
        assert f(x, axis=axis, out=o) is o
        np.testing.assert_array_equal(o, fast)
    with pytest.raises((ValueError, np.exceptions.AxisError)):
        f(x, axis=3)
    if name in ("glu", "swiglu", "geglu"):
        with pytest.raises(ValueError):
            f(x[..., :9].copy(), axis=-1)       # odd length: the general path says why


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_fast_path_backward_is_the_general_path(name, dt):
    """The same for the backward ops (from x, and from y= where the function
    has that form): C fast path and general path agree bitwise, with out=,
    in place into grad_output or x where the shapes allow."""
    x = (RNG.standard_normal((6, 8, 10)) * 3).astype(dt)
    fb = getattr(fa, name + "_backward")
    for axis in (0, 2, -2):
        yv = getattr(fa, name)(x, axis=axis)
        g = RNG.standard_normal(yv.shape).astype(dt)
        gbig = np.zeros(g.shape[:-1] + (2 * g.shape[-1],), dt)
        gbig[..., ::2] = g
        forms = [("x", x)] + ([("y", yv)] if name in ("softmax", "log_softmax", "softmin") else [])
        for form, arr in forms:
            kw = (lambda a: {"x": a}) if form == "x" else (lambda a: {"y": a})
            fast = fb(g, axis=axis, **kw(arr))
            np.testing.assert_array_equal(fast, fb(gbig[..., ::2], axis=axis, **kw(arr)),
                                          err_msg=f"{name}_backward {form} axis={axis}")
            o = np.empty_like(fast)
            assert fb(g, axis=axis, out=o, **kw(arr)) is o
            np.testing.assert_array_equal(o, fast)
            if g.shape == arr.shape:
                gi = g.copy()
                assert fb(gi, axis=axis, out=gi, **kw(arr)) is gi
                np.testing.assert_array_equal(gi, fast)
            ai = arr.copy()
            assert fb(g, axis=axis, out=ai, **kw(ai)) is ai
            np.testing.assert_array_equal(ai, fast)


# ------------------------------------------------- edge values (regressions)

def test_sparsemax_large_finite_inputs():
    """max-shifted: any finite row gives a finite result, without warnings"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x, want in ((np.array([3e7, 0], np.float32), [1, 0]),
                        (np.array([1e17, 0.0]), [1, 0]),
                        (np.array([[3.4e38, 0, -3.4e38, 1]], np.float32), [[1, 0, 0, 0]]),
                        (np.array([-1.7e308, 1.7e308, 0.85e308]), [0, 1, 0]),
                        (np.array([1e17 + 16, 1e17]), [1, 0])):
            p = fa.sparsemax(x)
            assert p.dtype == x.dtype
            np.testing.assert_array_equal(p, np.asarray(want, x.dtype))
            gx = fa.sparsemax_backward(np.ones_like(x), x)
            assert np.isfinite(gx).all()
        # shifted rows: the same result as the row near 0
        x = (RNG.standard_normal((20, 30)) * 2)
        for dt in FLOATS:
            xd = x.astype(dt)
            np.testing.assert_allclose(fa.sparsemax(xd + dt(1e4) if dt == np.float64 else xd),
                                       fa.sparsemax(xd), rtol=0, atol=1e-9 if dt == np.float64
                                       else 32 * eps(dt))


def test_sparsemax_infinities_no_warning():
    x = np.array([[np.inf, -np.inf, 0.0], [-np.inf, 1.0, 1.2], [-np.inf, -np.inf, -np.inf],
                  [np.nan, 1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = fa.sparsemax(x)
        gx = fa.sparsemax_backward(np.array([[1.0, np.inf, 2.0]] * 4), x)
    assert np.isnan(p[0]).all() and np.isnan(p[2]).all() and np.isnan(p[3]).all()
    np.testing.assert_allclose(p[1], [0, 0.4, 0.6])
    assert np.isnan(gx[0]).all() and np.isnan(gx[2]).all()


def _jac_diag_ref(x):
    import mpmath as mp
    mp.mp.prec = 120
    e = [mp.exp(mp.mpf(float(v))) for v in x]
    tot = mp.fsum(e)
    return [float(e[i] * mp.fsum(e[:i] + e[i + 1:]) / tot ** 2) for i in range(len(e))]


def test_softmax_jacobian_diagonal_no_cancellation():
    """s_i (1 - s_i) with 1 - s_i from the other probabilities: within 8 ulp"""
    cases = [np.array([0.0, -30.0]), np.array([0.0, -13.0], np.float32),
             np.array([5.0, -3.0, -40.0, 0.0, 1.0]), np.array([0.0, -700.0]),
             np.array([0.0, 0.0]), np.array([0.0, -1e-9]),
             np.array([2.0, -20.0, -25.0], np.float32)]
    # (those shifts x - max are exact; random rows add softmax's own error,
    # the rounding of x - max amplified by |x - max| ulp)
    cases = [(x, 8) for x in cases]
    cases += [(x, 8 + np.ptp(x)) for x in (RNG.standard_normal(7) * 10 for _ in range(20))]
    for x, budget in cases:
        d = np.diagonal(fa.softmax_jacobian(x)).astype(np.float64)
        ref = np.array(_jac_diag_ref(x))
        ulp = np.spacing(np.abs(ref).astype(x.dtype)).astype(np.float64)
        err = np.abs(d - ref) / np.maximum(ulp, np.finfo(x.dtype).smallest_subnormal)
        assert err.max() <= budget, (x, d, ref, err)
    assert fa.softmax_jacobian(np.array([0.0, -30.0]))[0, 0] == pytest.approx(9.357622968840175e-14,
                                                                             rel=1e-14)


@pytest.mark.parametrize("name", ["softmax", "glu", "log_softmax", "softmin", "swiglu",
                                  "geglu", "logsumexp", "sparsemax", "maxout"])
def test_huge_axis_is_axis_error(name):
    x = np.ones((2, 4))
    for axis in (2 ** 70, -2 ** 70, 2 ** 63):
        with pytest.raises(AxisError):
            call(name, x, axis=axis)
        if name != "logsumexp":
            with pytest.raises(AxisError):
                call_bwd(name, np.ones(out_shape(name, x.shape, 0)), x, axis=axis)


def test_glu_family_float32_backward_range():
    """g b and a sigmoid'(b) formed without overflow/underflow of an
    intermediate (the float64 kernels on float32 data, rounded once)"""
    got = fa.swiglu_backward(np.float32([2.0]), np.float32([-1.0, -3e38]))
    exact = 2.0 * -3e38 * float(fa.silu_backward(np.ones(1), np.array([-1.0]))[0])
    np.testing.assert_allclose(got[0], exact, rtol=2 * eps(np.float32))
    got = fa.glu_backward(np.float32([1.0]), np.float32([3e38, -104.0]))
    assert got[0] == 0
    np.testing.assert_allclose(got[1], 3e38 * math.exp(-104.0), rtol=2 * eps(np.float32))
    # every member on such data agrees with its float64 counterpart
    x = np.float32([[-100.0, 3e38, -3e38, 1.0, -20.0, -11.5],
                    [2.0, -120.0, 5.0, -3e38, 2e38, 7.0]])
    g = np.float32([[2.0, -3.0, 1e-30], [3e38, 1.0, -2.0]])
    x3 = np.concatenate([x] * 3, axis=1)     # 2 x 18: halves of 9
    g3 = np.concatenate([g] * 3, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, kw in (("glu", {}), ("swiglu", {}), ("geglu", {}),
                         ("geglu", {"approximate": "tanh"})):
            b = getattr(fa, name + "_backward")
            got = b(g3, x3, **kw)
            with np.errstate(over="ignore"):
                ref = b(g3.astype(np.float64), x3.astype(np.float64), **kw).astype(np.float32)
            np.testing.assert_allclose(got, ref, rtol=4 * eps(np.float32), atol=0,
                                       err_msg=f"{name} {kw}")
            xi = x3.copy()
            assert b(g3, xi, out=xi, **kw) is xi                    # in place
            np.testing.assert_array_equal(xi, got)


_GLU_KW = (("glu", {}), ("swiglu", {}), ("geglu", {}), ("geglu", {"approximate": "tanh"}))


@pytest.mark.parametrize("in_place", [False, True])
def test_glu_family_element_depends_only_on_its_inputs(in_place):
    """an element whose intermediates leave the float range (recomputed in
    double) changes no other element's result: each result is bitwise the
    same as with safe neighbours, and as the element computed alone"""
    rng = np.random.default_rng(5)
    n = 2500                                   # more than one run of elements
    x = rng.standard_normal((2, 2 * n)).astype(np.float32)
    g = rng.standard_normal((2, n)).astype(np.float32)
    for name, kw in _GLU_KW:
        b = getattr(fa, name + "_backward")

        def run(gg, xx):
            if not in_place:
                return b(gg, xx, **kw)
            xi = xx.copy()
            return b(gg, xi, out=xi, **kw)
        base = run(g, x)
        x2, g2 = x.copy(), g.copy()
        x2[0, 7] = x2[0, n + 7] = -104.0       # a and b: sigmoid'/silu'/gelu' underflow
        g2[1, 1500] = 3e38
        x2[1, 1500] = x2[1, n + 1500] = 3e38   # g times the other half overflows
        got = run(g2, x2)
        keep = np.ones(x.shape, bool)
        keep[0, [7, n + 7]] = keep[1, [1500, n + 1500]] = False
        np.testing.assert_array_equal(got[keep], base[keep], err_msg=f"{name} {kw}")
        for r, c in ((0, 7), (1, 1500), (0, 8), (1, 2400)):
            alone = b(g2[r:r + 1, c:c + 1], x2[r:r + 1, [c, n + c]], **kw)
            np.testing.assert_array_equal(got[r, [c, n + c]], alone[0], err_msg=f"{name} {kw}")


def _mp_glu_member(name, approximate, a, der=False):
    import mpmath
    a = mpmath.mpf(a)
    if name == "glu":
        s = 1 / (1 + mpmath.exp(-a))
        return s * (1 - s) if der else s
    if name == "swiglu":
        s = 1 / (1 + mpmath.exp(-a))
        return s * (1 + a * (1 - s)) if der else a * s
    if approximate == "tanh":
        c = mpmath.mpf(math.sqrt(2 / math.pi))     # the float64 constants
        u = c * (a + mpmath.mpf(0.044715) * a ** 3)
        s = 1 / (1 + mpmath.exp(-2 * u))           # (1 + tanh(u)) / 2
        if der:
            du = c * (1 + 3 * mpmath.mpf(0.044715) * a ** 2)
            return s + 2 * a * s * (1 - s) * du
        return a * s
    phi = mpmath.ncdf(a)
    return phi + a * mpmath.npdf(a) if der else a * phi


def test_glu_family_intermediates_out_of_range():
    """results that are ordinary numbers although an intermediate product,
    sigmoid, silu or gelu (or a derivative) overflows or underflows"""
    import mpmath
    mpmath.mp.prec = 200
    got = fa.glu_backward(np.array([2.0]), np.array([1.7976931348623157e308, 0.0]))
    np.testing.assert_array_equal(got, [1.0, 1.7976931348623157e308 / 2])
    got = fa.glu(np.float32([0, 3.4e38, 0, -104]))
    exact = float(mpmath.mpf(float(np.float32(3.4e38))) * _mp_glu_member("glu", "", -104))
    np.testing.assert_allclose(got, [0, exact], rtol=eps(np.float32))
    # forward: the nonlinearity below the normal range, the other half huge
    cases = [(np.float32, "glu", "none", 3e38, -104.0), (np.float32, "swiglu", "none", -100.0, 3e38),
             (np.float32, "geglu", "none", -13.5, 3e38), (np.float32, "geglu", "tanh", -10.0, 3e38),
             (np.float64, "glu", "none", 1e300, -745.0), (np.float64, "glu", "none", 1e300, -1400.0),
             (np.float64, "swiglu", "none", -745.0, 1e300), (np.float64, "swiglu", "none", -1400.0, 1e300)]
    for dt, name, ap, a, b in cases:
        kw = {"approximate": ap} if name == "geglu" else {}
        got = getattr(fa, name)(np.array([a, b], dt), **kw)[0]
        a_, b_ = float(dt(a)), float(dt(b))
        if name == "glu":
            exact = mpmath.mpf(a_) * _mp_glu_member("glu", ap, b_)
        else:
            exact = _mp_glu_member(name, ap, a_) * b_
        np.testing.assert_allclose(got, float(exact), rtol=2 * eps(dt), err_msg=f"{name} {dt}")
    # backward: g times the other half overflows, or the derivative underflows
    cases = [(np.float64, "glu", "none", 1e300, 1e300, -600.0), (np.float64, "glu", "none", 1e200, 1.0, -745.0),
             (np.float64, "glu", "none", 1e300, 1e300, -1400.0),
             (np.float64, "swiglu", "none", 1e200, -700.0, 1e200),
             (np.float64, "swiglu", "none", 1e300, -1300.0, 1e300),
             (np.float64, "geglu", "none", 1e200, -30.0, 1e200),
             (np.float64, "geglu", "tanh", 1e200, -17.0, 1e200),
             (np.float32, "swiglu", "none", 2.0, -1.0, -3e38),
             (np.float32, "geglu", "none", 1e30, -13.0, 1e30)]
    for dt, name, ap, g, a, b in cases:
        kw = {"approximate": ap} if name == "geglu" else {}
        got = getattr(fa, name + "_backward")(np.array([g], dt), np.array([a, b], dt), **kw)
        g_, a_, b_ = (mpmath.mpf(float(dt(v))) for v in (g, a, b))
        if name == "glu":
            exact = [g_ * _mp_glu_member("glu", ap, b_), g_ * a_ * _mp_glu_member("glu", ap, b_, True)]
        else:
            exact = [g_ * b_ * _mp_glu_member(name, ap, a_, True), g_ * _mp_glu_member(name, ap, a_)]
        np.testing.assert_allclose(got, [float(v) for v in exact], rtol=4 * eps(dt),
                                   err_msg=f"{name} {ap} {dt}")


# ------------------------------ maxout, sparsemax, softmax_jacobian (compiled)

EXTRA = ["maxout", "sparsemax", "softmax_jacobian"]


def _sparsemax_sort(z):
    """float64 sparsemax over the last axis by sorting (Martins & Astudillo
    2016, Alg. 1), rows of finite values"""
    z = np.asarray(z, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    zs = -np.sort(-z, axis=-1)
    cs = np.cumsum(zs, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    kz = ((1 + k * zs) > cs).sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cs, kz - 1, axis=-1) - 1) / kz
    return np.maximum(z - tau, 0)


def _extra_calls(name, x, axis, g=None):
    if name == "maxout":
        return fa.maxout(x, 3, axis) if g is None else fa.maxout_backward(g, x, 3, axis)
    if name == "sparsemax":
        return fa.sparsemax(x, axis) if g is None else fa.sparsemax_backward(g, x, axis)
    return fa.softmax_jacobian(x, axis)


@pytest.mark.parametrize("name", EXTRA)
def test_extra_threads_bitwise(name):
    for dt in FLOATS:
        for shape, axis in (((300, 501), -1), ((402, 300), 0), ((6, 120, 90), 1),
                            ((3, 3000, 9), 1)):
            if name == "softmax_jacobian" and shape[axis] > 500:
                continue
            x = (RNG.standard_normal(shape) * 3).astype(dt)
            g = None
            if name != "softmax_jacobian":
                g = RNG.standard_normal(_extra_calls(name, x, axis).shape).astype(dt)
            with fa.num_threads(1):
                a = _extra_calls(name, x, axis)
                ab = None if g is None else _extra_calls(name, x, axis, g)
            with fa.num_threads(2):
                b = _extra_calls(name, x, axis)
                bb = None if g is None else _extra_calls(name, x, axis, g)
            np.testing.assert_array_equal(a, b)
            if g is not None:
                np.testing.assert_array_equal(ab, bb)


@pytest.mark.parametrize("name", ["maxout", "sparsemax"])
@pytest.mark.parametrize("dt", FLOATS, ids=["f32", "f64"])
def test_extra_fast_path_is_the_general_path(name, dt):
    """C-contiguous inputs take fastact._axis.fast_extra, strided views,
    NumPy integer axes and pieces the general path: bitwise the same,
    forward and backward, with out= and in place"""
    x = (RNG.standard_normal((6, 9, 12)) * 3).astype(dt)
    big = np.zeros((6, 9, 24), dt)
    big[..., ::2] = x
    view = big[..., ::2]
    kw = {"pieces": 3} if name == "maxout" else {}
    for axis in (0, 1, 2, -1):
        fast = call(name, x, axis, **kw)
        np.testing.assert_array_equal(fast, call(name, view, axis, **kw))
        np.testing.assert_array_equal(fast, call(name, x, np.int64(axis), **kw))
        if name == "maxout":
            np.testing.assert_array_equal(fast, fa.maxout(x, np.int64(3), axis))
        o = np.empty_like(fast)
        assert call(name, x, axis, out=o, **kw) is o
        np.testing.assert_array_equal(o, fast)
        g = RNG.standard_normal(fast.shape).astype(dt)
        gbig = np.zeros(g.shape[:-1] + (2 * g.shape[-1],), dt)
        gbig[..., ::2] = g
        fb = call_bwd(name, g, x, axis, **kw)
        np.testing.assert_array_equal(fb, call_bwd(name, gbig[..., ::2], view, axis, **kw))
        # (a Fortran x runs the other layout's kernel: its sums in another order)
        np.testing.assert_allclose(fb, call_bwd(name, g, np.asfortranarray(x), axis, **kw),
                                   rtol=0, atol=16 * eps(dt) * np.abs(g).max())
        xi = x.copy()
        assert call_bwd(name, g, xi, axis, out=xi, **kw) is xi
        np.testing.assert_array_equal(xi, fb)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_sparsemax_against_sort(axis):
    """rows of every kind of support: a few entries, all of them, more
    candidates than the kernel keeps at once (1024: full passes), along
    the last axis and across columns; float32 against the float64 result"""
    for scale, n in ((5.0, 50), (1.0, 1000), (1e-3, 3000), (0.3, 2500)):
        shape = [3, 4, 5]
        shape[axis] = n
        x = RNG.standard_normal(shape) * scale
        ref = np.moveaxis(_sparsemax_sort(np.moveaxis(x, axis, -1)), -1, axis)
        p = fa.sparsemax(x, axis)
        np.testing.assert_allclose(p, ref, rtol=0, atol=8 * eps(np.float64))
        # (pairwise along a contiguous axis: NumPy sums other axes sequentially)
        rows = np.ascontiguousarray(np.moveaxis(p, axis, -1))
        np.testing.assert_allclose(rows.sum(axis=-1), 1, rtol=0, atol=8 * eps(np.float64))
        x32 = x.astype(np.float32)
        ref32 = np.moveaxis(_sparsemax_sort(np.moveaxis(x32, axis, -1)), -1, axis)
        p32 = fa.sparsemax(x32, axis)
        assert p32.dtype == np.float32
        np.testing.assert_allclose(p32, ref32, rtol=0, atol=2 * eps(np.float32))
        # backward: g - mean over the support, 0 off it
        g = RNG.standard_normal(shape)
        s = ref > 0
        mean = (g * s).sum(axis=axis, keepdims=True) / s.sum(axis=axis, keepdims=True)
        np.testing.assert_allclose(fa.sparsemax_backward(g, x, axis), np.where(s, g - mean, 0),
                                   rtol=0, atol=64 * eps(np.float64) * np.abs(g).max())


@pytest.mark.parametrize("transpose", [False, True], ids=["rows", "columns"])
def test_sparsemax_special_rows(transpose):
    x = np.array([[np.inf, -np.inf, 0.0, 1.0], [-np.inf, 1.0, 1.2, -np.inf],
                  [-np.inf] * 4, [np.nan, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, np.nan],
                  [5.0, -np.inf, 5.0, 5.0]])
    g = np.tile([1.0, 2.0, 3.0, 4.0], (6, 1))
    for dt in FLOATS:
        xd, gd = x.astype(dt), g.astype(dt)
        if transpose:
            p = fa.sparsemax(np.ascontiguousarray(xd.T), 0).T
            gb = fa.sparsemax_backward(np.ascontiguousarray(gd.T), np.ascontiguousarray(xd.T), 0).T
        else:
            p, gb = fa.sparsemax(xd), fa.sparsemax_backward(gd, xd)
        for r in (0, 2, 3, 4):
            assert np.isnan(p[r]).all() and np.isnan(gb[r]).all()
        np.testing.assert_allclose(p[1], [0, 0.4, 0.6, 0], atol=2 * eps(dt))
        np.testing.assert_allclose(p[5], [1 / 3, 0, 1 / 3, 1 / 3], atol=2 * eps(dt))
        np.testing.assert_allclose(gb[1], [0, -0.5, 0.5, 0], atol=4 * eps(dt))
        np.testing.assert_allclose(gb[5], [-5 / 3, 0, 1 / 3, 4 / 3], atol=8 * eps(dt))


def test_maxout_ties_nan_and_layouts():
    """the max and the first maximum (the first NaN) of each group, along
    the last axis (contiguous groups, pieces 1..9) and across columns
    (runs longer than the kernel's blocks), forward and in place backward"""
    rng = np.random.default_rng(3)
    for pieces in range(1, 10):
        x = rng.integers(-2, 3, (7, 6 * pieces)).astype(np.float64)   # many ties
        x[1, 3] = np.nan
        x[2, ::5] = np.nan
        x[3, 1] = -0.0
        for dt in FLOATS:
            xd = x.astype(dt)
            blk = xd.reshape(7, 6, pieces)
            want = np.where(np.isnan(blk).any(-1), np.nan, blk.max(-1))
            np.testing.assert_array_equal(fa.maxout(xd, pieces), want)
            g = np.arange(1, 43, dtype=dt).reshape(7, 6)
            idx = np.argmax(blk, axis=-1)
            ref = np.zeros(blk.shape, dt)
            np.put_along_axis(ref, idx[..., None], g[..., None], axis=-1)
            np.testing.assert_array_equal(fa.maxout_backward(g, xd, pieces), ref.reshape(xd.shape))
            # across columns: the same through the transpose (inner = 300 columns)
            xc = np.ascontiguousarray(np.tile(xd.T, (1, 50)))          # (6 pieces, 350)
            gc = np.ascontiguousarray(np.tile(g.T, (1, 50)))
            rc = np.tile(ref.reshape(xd.shape).T, (1, 50))
            np.testing.assert_array_equal(fa.maxout(xc, pieces, 0), np.tile(want.T, (1, 50)))
            xi = xc.copy()
            assert fa.maxout_backward(gc, xi, pieces, 0, out=xi) is xi
            np.testing.assert_array_equal(xi, rc)
            xi = xd.copy()
            assert fa.maxout_backward(g, xi, pieces, out=xi) is xi
            np.testing.assert_array_equal(xi, ref.reshape(xd.shape))


def test_extra_empty_axes():
    for dt in FLOATS:
        for shape, axis in (((4, 0), -1), ((0, 6), 0), ((0, 6), 1), ((3, 0, 2), 1)):
            x = np.zeros(shape, dt)
            assert fa.sparsemax(x, axis).shape == shape
            assert fa.sparsemax_backward(x, x, axis).shape == shape
            m = fa.maxout(x, 2, axis)
            assert m.shape == out_shape("maxout", shape, axis) and m.dtype == dt
            assert fa.maxout_backward(m, x, 2, axis).shape == shape
            j = fa.softmax_jacobian(x, axis)
            assert j.shape == out_shape("softmax_jacobian", shape, axis)


def test_softmax_jacobian_layouts_and_float32():
    x = RNG.standard_normal((5, 7, 6)) * 4
    for axis in (0, 1, 2):
        J = fa.softmax_jacobian(x, axis)
        s = np.moveaxis(fa.softmax(x, axis), axis, -1)
        ref = -s[..., :, None] * s[..., None, :]
        i = np.arange(s.shape[-1])
        ref[..., i, i] = s * (1 - s)
        np.testing.assert_allclose(J, ref, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(J, fa.softmax_jacobian(np.asfortranarray(x), axis),
                                   rtol=1e-14, atol=1e-16)
        J32 = fa.softmax_jacobian(x.astype(np.float32), axis)
        assert J32.dtype == np.float32
        np.testing.assert_allclose(J32, J, rtol=0, atol=4 * eps(np.float32))
        xn = x.copy()
        xn[0, 0, 0] = np.nan
        Jn = fa.softmax_jacobian(xn, axis)
        assert np.isnan(Jn).sum() == Jn.shape[-1] ** 2
