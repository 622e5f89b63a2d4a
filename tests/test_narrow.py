"""The narrow types (../shared/API.md "Narrow types"): bfloat16 (ml_dtypes)
and float16 arrays are computed in float32 inside the kernel loop and
returned in their own dtype, rounded to nearest even.  So every result is
bitwise the float32 computation of the widened input, rounded once:
fa.NAME(x) == fa.NAME(x.astype(float32)).astype(x.dtype), for every
elementwise function, parameter set, backward form and fused scale/bias,
at every instruction-set level (the float16 conversions are F16C at the
AVX levels and a scalar conversion at the baseline).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastact as fa
from fastact import _arrays, _axis, _axis_api, _dispatch, _elementwise_api
from fastact import _reference as R

from conftest import CASE_PARAMS, DEFAULT_CASES, ELEMENTWISE, backward, forward

ml_dtypes = pytest.importorskip("ml_dtypes")
BF16 = np.dtype(ml_dtypes.bfloat16)
F16 = np.dtype(np.float16)
F32 = np.float32
NARROW = [BF16, F16]
NIDS = ["bf16", "f16"]
ISAS = _dispatch.supported_isas()
GRAD_Y = [s.name for s in ELEMENTWISE if s.grad_from_output]


def _traced_peak(f) -> int:
    """bytes at the peak of traced memory (NumPy reports its buffers to
    tracemalloc) during a second call of f (the first warms caches)"""
    import tracemalloc

    f()
    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _data(shape, dtype, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(F32)
    if x.size >= 10:
        x.flat[:10] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 6.0, 1e-40, -3e38]
    with np.errstate(all="ignore"):
        return x.astype(dtype)


def _bits_equal(a, b):
    """the same bit patterns, NaN for NaN (quiet NaN payloads are not part of
    the contract)"""
    assert a.dtype == b.dtype and a.shape == b.shape
    ab = np.ascontiguousarray(a).view(np.uint16)
    bb = np.ascontiguousarray(b).view(np.uint16)
    nan = (np.isnan(a.astype(F32)) & np.isnan(b.astype(F32)))
    bad = (ab != bb) & ~nan
    assert not bad.any(), (f"{bad.sum()} differ, first at {np.argwhere(bad)[:3].tolist()}: "
                           f"{a[bad][:3]} vs {b[bad][:3]}")


def _f32(a):
    return None if a is None else np.asarray(a).astype(F32)


def _narrow(a, dt):
    with np.errstate(all="ignore"):
        return a.astype(dt)


# --------------------------------------------------------------- dtypes

def test_bfloat16_detected_without_importing_ml_dtypes_by_name():
    assert _arrays.is_bfloat16(BF16)
    assert not _arrays.is_bfloat16(np.dtype("V2"))
    assert _arrays.narrow_index(BF16) == 0
    assert _arrays.narrow_index(F16) == 1
    assert _arrays.narrow_index(F16.newbyteorder()) == 1
    assert _arrays.narrow_index(np.dtype(F32)) == -1
    assert _arrays.dtypes(BF16, "f", "x") == (np.dtype(F32), BF16)


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_result_dtype_and_scalar(dt):
    assert fa.gelu(np.zeros(3, dt)).dtype == dt
    r = fa.sigmoid(np.zeros((), dt))
    assert isinstance(r, np.generic) and r.dtype == dt and float(r) == 0.5
    assert fa.relu(np.zeros((0, 3), dt)).shape == (0, 3)


# ------------------------------------------- conversions, exhaustively

def _identity(x, s):
    """hard_tanh(1 * s) over (-inf, inf): the float32 s narrowed by the
    kernel's conversion (s any float32, as a full-shape scale)"""
    return fa.hard_tanh(np.ones(s.shape, x), min_val=-np.inf, max_val=np.inf, scale=s)


def _narrowing_inputs(dt):
    """float32 bit patterns around every rounding boundary of dt: each narrow
    value's neighbourhood (the low bits 0, 1, just below/at/above the tie,
    all ones), and for float16 the subnormal range on a 2**-26 grid"""
    drop = 16 if dt == BF16 else 13
    top = np.arange(1 << (32 - drop), dtype=np.uint64) << drop
    half = 1 << (drop - 1)
    lows = np.array([0, 1, half - 1, half, half + 1, (1 << drop) - 1], dtype=np.uint64)
    u = (top[:, None] + lows[None, :]).ravel().astype(np.uint32)
    if dt == F16:
        k = np.arange(1 << 13, dtype=np.float64) * 2.0 ** -27        # below 2**-14
        sub = np.concatenate([k, k * (1 + 2.0 ** -23), k * (1 - 2.0 ** -23)]).astype(F32)
        u = np.concatenate([u, sub.view(np.uint32), (-sub).view(np.uint32)])
    return u.view(F32)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_narrowing_rounds_to_nearest_even(dt, isa):
    s = _narrowing_inputs(dt)
    with _dispatch.using(isa):
        got = _identity(dt, s)
    want = _narrow(s, dt)
    _bits_equal(got, want)
    nan = np.isnan(s)
    assert np.isnan(got[nan].astype(F32)).all()
    # a NaN keeps its sign
    assert (np.signbit(got[nan].astype(F32)) == np.signbit(s[nan])).all()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_widening_is_exact(dt, isa):
    x = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(dt)
    with _dispatch.using(isa):
        # relu_backward(1, x) * x... the identity: hard_tanh over (-inf, inf)
        got = fa.hard_tanh(x, min_val=-np.inf, max_val=np.inf)
        # and the widened value itself, seen through a float32 product
        # that is exact: x * 1 rounded back to x
        _bits_equal(got, x)
        # x * 2**-8 is exact in float32 for every x; narrowing it back is
        # the value of the narrow type (or its rounding, for tiny x)
        sc = fa.hard_tanh(x, min_val=-np.inf, max_val=np.inf, scale=np.float32(2.0 ** -8))
    with np.errstate(all="ignore"):
        _bits_equal(sc, _narrow(x.astype(F32) * F32(2.0 ** -8), dt))


# ------------------------------------- bitwise the float32 computation

@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
@pytest.mark.parametrize("name, params", CASE_PARAMS)
def test_forward_backward_equal_float32_rounded(name, params, dt):
    x = _data((3, 1501), dt)                   # several chunks, odd tails
    g = _data((3, 1501), dt, seed=1)
    with np.errstate(all="ignore"):
        _bits_equal(forward(name, x, params), _narrow(forward(name, _f32(x), params), dt))
        _bits_equal(backward(name, g, x, params),
                    _narrow(backward(name, _f32(g), _f32(x), params), dt))
        if name in GRAD_Y:
            y = forward(name, x, params)
            bwd = getattr(fa, name + "_backward")
            try:
                want = _narrow(bwd(_f32(g), y=_f32(y), **params), dt)
            except ValueError:                   # the y form refuses these parameters
                with pytest.raises(ValueError, match="y= form"):
                    bwd(g, y=y, **params)
            else:
                _bits_equal(bwd(g, y=y, **params), want)


def _operands(f, dt):
    rng = np.random.default_rng(4)
    return [(None, rng.standard_normal(f).astype(F32)), (1.5, None), (-0.75, 0.25),
            (rng.standard_normal(f), rng.standard_normal(f).astype(dt))]


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
@pytest.mark.parametrize("name, params", CASE_PARAMS)
def test_fused_equal_float32_rounded(name, params, dt):
    x = _data((4, 777), dt)
    g = _data((4, 777), dt, seed=2)
    for s, b in _operands(777, dt):
        with np.errstate(all="ignore"):
            _bits_equal(forward(name, x, params, scale=s, bias=b),
                        _narrow(forward(name, _f32(x), params, scale=_f32(s), bias=_f32(b)), dt))
            _bits_equal(backward(name, g, x, params, scale=s, bias=b),
                        _narrow(backward(name, _f32(g), _f32(x), params, scale=_f32(s),
                                         bias=_f32(b)), dt))


@pytest.mark.parametrize("name", GRAD_Y)
def test_fused_y_form(name):
    for dt in NARROW:
        x = _data((3, 555), dt)
        g = _data((3, 555), dt, seed=3)
        y = getattr(fa, name)(x, scale=2.0, bias=0.5)
        bwd = getattr(fa, name + "_backward")
        with np.errstate(all="ignore"):
            _bits_equal(bwd(g, y=y, scale=2.0, bias=0.5),
                        _narrow(bwd(_f32(g), y=_f32(y), scale=2.0, bias=0.5), dt))
            _bits_equal(bwd(g, y=y, bias=0.5), _narrow(bwd(_f32(g), y=_f32(y)), dt))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name, params", DEFAULT_CASES)
def test_every_level(name, params, isa):
    with _dispatch.using(isa):
        for dt in NARROW:
            x = _data(3001, dt, scale=6.0)
            g = _data(3001, dt, seed=5)
            with np.errstate(all="ignore"):
                _bits_equal(forward(name, x, params), _narrow(forward(name, _f32(x), params), dt))
                _bits_equal(backward(name, g, x, params, scale=0.5),
                            _narrow(backward(name, _f32(g), _f32(x), params, scale=0.5), dt))


def test_threads_same_result():
    for dt in NARROW:
        x = _data(1_000_003, dt)
        g = _data(1_000_003, dt, seed=1)
        with fa.num_threads(1):
            one = (fa.relu(x), fa.gelu(x), fa.sigmoid_backward(g, x), fa.mish(x, bias=0.5))
        with fa.num_threads(2):
            two = (fa.relu(x), fa.gelu(x), fa.sigmoid_backward(g, x), fa.mish(x, bias=0.5))
        for a, b in zip(one, two):
            _bits_equal(a, b)
        _bits_equal(one[1], _narrow(fa.gelu(_f32(x)), dt))


# ------------------------------------------------------ the C fast path

class _Sub(np.ndarray):
    """an ndarray subclass: the C fast path takes exact ndarrays only, so a
    call on one runs the general path (fastact._elementwise_api)"""


def _refuse_general(m):
    def refuse(*args, **kwargs):
        raise AssertionError("the general path was taken")
    m.setattr(_elementwise_api, "unary", refuse)
    m.setattr(_elementwise_api, "binary", refuse)


def _same_bits(a, b):
    """bit for bit, NaN payloads included"""
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(np.asarray(a).view(np.uint16), np.asarray(b).view(np.uint16))


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
@pytest.mark.parametrize("name, params", CASE_PARAMS)
def test_fast_path_equals_general_path(name, params, dt, monkeypatch):
    """C-contiguous narrow arrays take the C fast path (the general path
    refused here), bitwise as the general path computes them: forward,
    backward, the y form, and in place (out=x, out=grad_output)"""
    x = _data((3, 1501), dt)
    g = _data((3, 1501), dt, seed=1)
    xs, gs = x.view(_Sub), g.view(_Sub)
    bwd = getattr(fa, name + "_backward")
    with np.errstate(all="ignore"):
        want_f = np.asarray(forward(name, xs, params))
        want_b = np.asarray(backward(name, gs, xs, params))
        want_y = None
        if name in GRAD_Y:
            try:
                want_y = np.asarray(bwd(gs, y=want_f.view(_Sub), **params))
            except ValueError:                   # the y form refuses these parameters
                pass
        with monkeypatch.context() as m:
            _refuse_general(m)
            _same_bits(forward(name, x, params), want_f)
            _same_bits(forward(name, x[1], params), want_f[1])            # 1-D
            xi = x.copy()
            assert forward(name, xi, params, out=xi) is xi
            _same_bits(xi, want_f)
            _same_bits(backward(name, g, x, params), want_b)
            gi, xi = g.copy(), x.copy()
            assert backward(name, gi, x, params, out=gi) is gi
            assert backward(name, g, xi, params, out=xi) is xi
            _same_bits(gi, want_b)
            _same_bits(xi, want_b)
            if want_y is not None:
                _same_bits(bwd(g, y=want_f, **params), want_y)
                yi = want_f.copy()
                assert bwd(g, y=yi, out=yi, **params) is yi
                _same_bits(yi, want_y)


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_fast_path_leaves_the_rest_to_the_general_path(dt, monkeypatch):
    """what the fast path does not take still works: a grad_output or out
    of another dtype (TypeError for out), a strided x, an empty array"""
    x = _data((4, 50), dt)
    g32 = _data((4, 50), F32, seed=1)
    with np.errstate(all="ignore"):
        _bits_equal(fa.tanh_backward(g32, x), _narrow(fa.tanh_backward(g32, _f32(x)), dt))
        _bits_equal(fa.tanh(x[:, ::2]), _narrow(fa.tanh(_f32(x)[:, ::2]), dt))
    with pytest.raises(TypeError, match="out has dtype"):
        fa.tanh(x, out=np.empty(x.shape, F32))
    with monkeypatch.context() as m:
        _refuse_general(m)
        assert fa.relu(x[:0]).shape == (0, 50)
        assert fa.relu_backward(x[:0], x[:0]).dtype == dt


def test_bfloat16_found_without_importing_ml_dtypes():
    """float16 takes the fast path without ml_dtypes imported (fastact never
    imports it); another ml_dtypes dtype seen first does not stop bfloat16
    from being recognised afterwards"""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import fastact as fa
        from fastact import _elementwise_api
        x = np.linspace(-3, 3, 100).astype(np.float16)
        fa.gelu(x)
        assert "ml_dtypes" not in sys.modules
        import ml_dtypes
        try:
            fa.gelu(np.zeros(3, ml_dtypes.float8_e4m3fn))
        except TypeError:
            pass
        else:
            raise AssertionError("float8 accepted")
        def refuse(*a, **k):
            raise AssertionError("the general path was taken")
        _elementwise_api.unary = refuse
        b = x.astype(ml_dtypes.bfloat16)
        y = fa.gelu(b)
        assert y.dtype == b.dtype
        assert (y.view(np.uint16) == fa.gelu(b.astype(np.float32)).astype(b.dtype)
                .view(np.uint16)).all()
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


# ------------------------------------------------------ layouts and out=

def _layouts(dt):
    base = _data((12, 74), dt)
    lay = {
        "fortran": np.asfortranarray(base[:, :37]),
        "strided": base[::2, ::2],
        "negative": base[::-1, ::-3],
        "3d-transposed": np.ascontiguousarray(base.reshape(6, 2, 74)).transpose(1, 0, 2),
        "0-d": base[0, 0].reshape(()),
        "empty": base[:0],
    }
    if dt == F16:
        lay["byteswapped"] = base.astype(F16.newbyteorder())
    return lay


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_layouts(dt):
    for lname, x in _layouts(dt).items():
        g = _data(x.shape, dt, seed=9)
        for f in ("gelu", "relu", "softplus"):
            got = getattr(fa, f)(x)
            assert got.dtype == dt.newbyteorder("="), lname
            want = _narrow(getattr(fa, f)(_f32(x)), got.dtype)
            _bits_equal(np.asarray(got), np.asarray(want))
            gb = getattr(fa, f + "_backward")(g, x, bias=0.25)
            _bits_equal(np.asarray(gb), np.asarray(_narrow(
                getattr(fa, f + "_backward")(_f32(g), _f32(x), bias=0.25), got.dtype)))


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_out_and_in_place(dt):
    x = _data((5, 333), dt)
    want = _narrow(fa.silu(_f32(x)), dt)
    out = np.empty_like(x)
    assert fa.silu(x, out=out) is out
    _bits_equal(out, want)
    fort = np.empty(x.shape, dt, order="F")
    assert fa.silu(x, out=fort) is fort
    _bits_equal(fort, want)
    y = x.copy()
    assert fa.silu(y, out=y) is y
    _bits_equal(y, want)
    g = _data((5, 333), dt, seed=1)
    gw = _narrow(fa.silu_backward(_f32(g), _f32(x), scale=2.0), dt)
    assert fa.silu_backward(g, x, scale=2.0, out=g) is g
    _bits_equal(g, gw)


def test_bfloat16_out_of_another_dtype_is_type_error():
    x = _data(10, BF16)
    for o in (np.empty(10, F32), np.empty(10, F16)):
        before = o.copy()
        with pytest.raises(TypeError, match="out has dtype"):
            fa.gelu(x, out=o)
        with pytest.raises(TypeError, match="out has dtype"):
            fa.gelu_backward(x, x, out=o)
        assert np.array_equal(o, before, equal_nan=True)
    with pytest.raises(TypeError, match="out has dtype"):
        fa.relu(np.ones(3, F32), out=np.empty(3, BF16))


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_grad_output_of_another_dtype(dt):
    """a grad_output of another dtype is read in float32 (it is not first
    rounded to x's narrow type); the result has x's dtype"""
    x = _data(300, dt)
    g = np.random.default_rng(3).standard_normal(300) * 1e3
    want = _narrow(fa.elu_backward(g.astype(F32), _f32(x)), dt)
    _bits_equal(fa.elu_backward(g, x), want)
    _bits_equal(fa.elu_backward(g.astype(F32), x), want)


def test_parameters_checked_in_float32():
    x = np.ones(3, BF16)
    with pytest.raises(ValueError, match="beta"):
        fa.softplus(x, beta=1e-50)                 # 0 in float32
    assert fa.softplus(np.ones(3), beta=1e-50).dtype == np.float64


# ------------------------------------------------------------- accuracy

@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
@pytest.mark.parametrize("name, params", CASE_PARAMS)
def test_every_narrow_value_within_one_ulp(name, params, dt):
    """every finite value of the narrow type: forward and backward within
    one narrow ulp of the float64 reference correctly rounded (the float32
    result rounded once; docs/numerics.md has the share correctly rounded)"""
    with np.errstate(all="ignore"):
        res = R.narrow_sweep(name, params, dt)
    for which, steps in res.items():
        assert steps.max() <= 1, (which, int(steps.max()), float((steps == 0).mean()))


# --------------------------------- the along-axis family, in the loop
#
# Narrow rows along the last axis (inner == 1) that fit the chunk buffer run
# the float32 kernels a chunk of rows at a time (fastact._axis); other
# layouts (inner > 1) and longer rows a float32 temporary.  Either way the
# result is bitwise the float32 result rounded once.

AXIS = ["softmax", "log_softmax", "softmin", "logsumexp", "glu", "swiglu", "geglu",
        "sparsemax"]
SOFTMAX = ["softmax", "log_softmax", "softmin"]
GLU = ["glu", "swiglu", "geglu"]
OP = _axis.OP


def _axis_x(shape, dt, seed=0):
    x = _data(shape, dt, seed=seed, scale=2.0)
    if x.ndim == 2 and x.shape[0] > 2:
        x[1] = 0.5                     # a finite row of ties
    return x


def _both(f, *arrays, dt, **kw):
    """f on the narrow arrays, and f on them widened then rounded"""
    return f(*arrays, **kw), _narrow(f(*(_f32(a) for a in arrays), **kw), dt)


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
@pytest.mark.parametrize("name", AXIS)
def test_axis_family_accepts_narrow(name, dt):
    """bitwise the float32 result rounded, in the narrow dtype, along
    either axis (axis 0 of a C array: the float32 temporary)"""
    x = _data((6, 40), dt, scale=2.0)
    x.flat[:10] = 0.5                 # finite rows (the NaN/inf cases are float32's)
    for axis in (-1, 0):
        f = getattr(fa, name)
        y = f(x, axis=axis)
        assert y.dtype == dt
        _bits_equal(y, _narrow(f(_f32(x), axis=axis), dt))
        g = _data(y.shape, dt, seed=1)
        b = getattr(fa, name + "_backward")(g, x, axis=axis)
        assert b.dtype == dt
        _bits_equal(b, _narrow(getattr(fa, name + "_backward")(_f32(g), _f32(x), axis=axis), dt))


# rows shorter than the buffer (one or many per chunk), 1-D, 3-D, and
# longer than it (the float32 temporary)
AXIS_SHAPES = [(7, 34), (60, 1000), (100,), (2, 3, 66), (3, 40000)]


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
@pytest.mark.parametrize("shape", AXIS_SHAPES, ids=str)
@pytest.mark.parametrize("name", AXIS + ["maxout"])
def test_axis_in_the_loop(name, shape, dt):
    """forward, backward (from x, and from y= for the softmax family), out=
    and in place, the C fast path and the general path (a NumPy integer
    axis), a Fortran-ordered array along axis 0 (its C transpose): bitwise
    the float32 results rounded once, special values included"""
    x = _axis_x(shape, dt)
    f, bw = getattr(fa, name), getattr(fa, name + "_backward")
    kw = {"pieces": 2} if name == "maxout" else {}
    with np.errstate(all="ignore"):
        for axis in (-1, np.int64(-1)):
            y, want = _both(f, x, dt=dt, axis=axis, **kw)
            _bits_equal(y, want)
            g = _data(np.shape(y), dt, seed=1)
            gx, want_b = _both(bw, g, x, dt=dt, axis=axis, **kw)
            _bits_equal(gx, want_b)
            if name in SOFTMAX:
                _bits_equal(bw(g, y=y, axis=axis), _narrow(bw(_f32(g), y=_f32(y), axis=axis), dt))
            if np.ndim(y) == x.ndim:
                o = np.empty_like(np.asarray(y))
                assert f(x, axis=axis, out=o, **kw) is o
                _bits_equal(o, want)
            if name not in GLU + ["maxout", "logsumexp"]:
                xi = x.copy()
                assert f(xi, axis=axis, out=xi) is xi
                _bits_equal(xi, want)
            gi = g.copy() if np.shape(g) == x.shape and name != "logsumexp" else None
            if gi is not None:
                assert bw(gi, x, axis=axis, out=gi) is gi
                _bits_equal(gi, want_b)
        if x.ndim == 2:
            xf = np.asfortranarray(x.T)
            _bits_equal(f(xf, axis=0, **kw), _narrow(f(_f32(xf), axis=0, **kw), dt))


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
@pytest.mark.parametrize("name", SOFTMAX + ["logsumexp"])
def test_axis_masked_in_the_loop(name, dt):
    """scale=, bias=, where= (and logsumexp's b=, keepdims=): the masked row
    kernels on float32 chunks (the bias and where rows of each chunk found
    through the coalesced outer dims), forward, backward from x and from
    y=: bitwise the float32 results rounded once"""
    shape = (3, 5, 70)
    x = _axis_x(shape, dt)
    rng = np.random.default_rng(3)
    bias = rng.standard_normal(shape).astype(F32)
    bias[0, 1, :3] = -np.inf
    where = rng.random(shape) > 0.3
    where[1, 2] = False                          # a fully masked row
    f, bw = getattr(fa, name), getattr(fa, name + "_backward")
    kws = [{"scale": 0.7}, {"bias": bias[:, :1]}, {"bias": bias[0]}, {"where": where[:1]},
           {"where": where, "scale": -1.5, "bias": _narrow(bias[:1, :, :1], dt)}]
    if name == "logsumexp":
        kws += [{"b": np.abs(bias[:, :1, :])}, {"keepdims": True, "where": where}]
    with np.errstate(all="ignore"):
        for kw in kws:
            y, want = _both(f, x, dt=dt, **kw)
            _bits_equal(y, want)
            g = _data(np.shape(y), dt, seed=1)
            gx, want_b = _both(bw, g, x, dt=dt, **kw)
            _bits_equal(gx, want_b)
            if name != "logsumexp":
                _bits_equal(bw(g, y=y, **kw), _narrow(bw(_f32(g), y=_f32(y), **kw), dt))
        # along axis 1 (the rows made contiguous, in the narrow dtype)
        xs = np.ascontiguousarray(x.swapaxes(1, 2))
        ws = np.ascontiguousarray(where.swapaxes(1, 2))
        _bits_equal(*_both(f, xs, dt=dt, axis=1, where=ws, scale=0.5))
        g = _data(np.shape(f(xs, axis=1)), dt, seed=2)
        _bits_equal(*_both(bw, g, xs, dt=dt, axis=1, where=ws))


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
@pytest.mark.parametrize("n", [64, 90, 512, 1000])
@pytest.mark.parametrize("name", GLU)
def test_glu_fused_in_the_loop(name, n, dt):
    """the GLU family's scale= and bias= on float32 chunks: the period of
    scale and bias divides n (512), is a multiple of it (64 and a scalar's
    256; an operand along an outer axis), or neither (90, 1000: two periods
    read from each chunk's offset)"""
    x = _axis_x((37, 2 * n), dt)
    rng = np.random.default_rng(4)
    s_row = rng.uniform(0.5, 1.5, 2 * n).astype(F32)
    b_col = rng.standard_normal((37, 1)).astype(F32)
    b_full = rng.standard_normal(x.shape).astype(F32)
    f, bw = getattr(fa, name), getattr(fa, name + "_backward")
    kwargs = [{"scale": 0.5}, {"bias": 0.25}, {"scale": s_row, "bias": -1.0},
              {"bias": b_col}, {"bias": b_full, "scale": s_row}]
    if name == "geglu":
        kwargs.append({"approximate": "tanh", "bias": 0.5})
    with np.errstate(all="ignore"):
        for kw in kwargs:
            y, want = _both(f, x, dt=dt, **kw)
            _bits_equal(y, want)
            g = _data(y.shape, dt, seed=1)
            _bits_equal(*_both(bw, g, x, dt=dt, **kw))


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_axis_threads_same_result(dt):
    """1 and 2 threads: the same bits (chunks of rows never depend on the
    thread count)"""
    x = _axis_x((700, 300), dt)
    g = _data((700, 300), dt, seed=1)
    gh = _data((700, 150), dt, seed=2)
    where = np.random.default_rng(5).random(x.shape) > 0.2

    def calls():
        return (fa.softmax(x), fa.log_softmax_backward(g, x), fa.softmin_backward(g, y=x),
                fa.logsumexp(x), fa.swiglu(x), fa.geglu_backward(gh, x, bias=0.5),
                fa.softmax(x, where=where, scale=0.5), fa.sparsemax(x), fa.maxout(x, 3))
    with np.errstate(all="ignore"):
        with fa.num_threads(1):
            one = calls()
        with fa.num_threads(2):
            two = calls()
    for a, b in zip(one, two):
        _bits_equal(np.asarray(a), np.asarray(b))
    _bits_equal(one[0], _narrow(fa.softmax(_f32(x)), dt))


@pytest.mark.parametrize("isa", ISAS)
def test_axis_every_level(isa):
    """at every instruction-set level (float16: F16C or the scalar
    conversion)"""
    with _dispatch.using(isa):
        for dt in NARROW:
            x = _axis_x((9, 300), dt)
            g = _data((9, 150), dt, seed=1)
            with np.errstate(all="ignore"):
                _bits_equal(*_both(fa.softmax, x, dt=dt))
                _bits_equal(*_both(fa.log_softmax, x, dt=dt, where=x != 0))
                _bits_equal(*_both(fa.swiglu_backward, g, x, dt=dt))


def test_axis_narrow_fits_the_buffer():
    """a row fits the chunk buffer (256 KiB of float32: x, grad_output and
    the result) or takes the float32 temporary"""
    fits = _axis.narrow_fits
    assert fits(OP["softmax"], 32768) and not fits(OP["softmax"], 32769)
    assert fits(OP["softmax_bx"], 21845, 1, True) and not fits(OP["softmax_bx"], 21846, 1, True)
    assert fits(OP["logsumexp"], 65535) and not fits(OP["logsumexp"], 65536)
    assert fits(OP["swiglu"], 43690) and not fits(OP["swiglu"], 43692)
    assert not fits(OP["softmax_jacobian"], 4)


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_axis_fast_path(dt, monkeypatch):
    """small narrow calls along the last axis take the C fast path (the
    general path refused here); the rest goes on to the general path"""
    x = _axis_x((5, 64), dt)
    g = _data((5, 64), dt, seed=1)
    gh = _data((5, 32), dt, seed=2)
    want = [np.asarray(f()) for f in (lambda: fa.softmax(x, axis=np.int64(-1)),
                                      lambda: fa.softmax_backward(g, x, axis=np.int64(-1)),
                                      lambda: fa.swiglu_backward(gh, x, axis=np.int64(-1)))]

    def refuse(*a, **k):
        raise AssertionError("the general path was taken")
    with monkeypatch.context() as m:
        m.setattr(_axis_api, "_input", refuse)
        _bits_equal(fa.softmax(x), want[0])
        _bits_equal(fa.softmax_backward(g, x), want[1])
        _bits_equal(fa.swiglu_backward(gh, x), want[2])
        xi = x.copy()
        assert fa.softmax(xi, out=xi) is xi
        _bits_equal(xi, want[0])
    # not the fast path's: axis 0, a grad_output of another dtype, a strided x
    with np.errstate(all="ignore"):
        _bits_equal(*_both(fa.softmax, x, dt=dt, axis=0))
        _bits_equal(fa.softmax_backward(_f32(g), x), _narrow(fa.softmax_backward(_f32(g), _f32(x)),
                                                             dt))
        _bits_equal(*_both(fa.log_softmax, x[:, ::2], dt=dt))


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_axis_no_float32_temporary(dt):
    """no float32 copy of the array along the last axis: the peak of traced
    memory stays near the narrow result"""
    x = _axis_x((256, 4096), dt)
    g = _data(x.shape, dt, seed=1)
    gh = _data((256, 2048), dt, seed=2)
    where = np.random.default_rng(6).random(x.shape) > 0.1
    bias = np.random.default_rng(7).standard_normal(4096).astype(F32)
    calls = [lambda: fa.softmax(x), lambda: fa.log_softmax(x, axis=np.int64(1)),
             lambda: fa.softmax_backward(g, x), lambda: fa.log_softmax_backward(g, y=x),
             lambda: fa.logsumexp_backward(g[:, 0], x), lambda: fa.softmin(x, where=where),
             lambda: fa.softmax_backward(g, x, bias=bias), lambda: fa.swiglu(x, scale=bias),
             lambda: fa.geglu_backward(gh, x, bias=bias), lambda: fa.sparsemax(x),
             lambda: fa.softmax(np.asfortranarray(x.T), axis=0)]
    with np.errstate(all="ignore"):
        for f in calls:
            peak = _traced_peak(f)
            assert peak < 1.25 * x.nbytes, (peak, x.nbytes)


# ----------------------------------------------------- PReLU, in the loop

# (shape, axis, weight entries): the run shape (one run, runs of one
# channel, runs cut into chunks: inner > 16384) and the row shape
# (channels last: whole and partial periods, row counts not a multiple of 4)
PRELU_SHAPES = [
    ((5, 4, 7), 1, 4),
    ((3, 5, 300), 1, 5),
    ((2, 3, 20000), 1, 3),
    ((40001,), 0, 1),
    ((7, 2, 33), 1, 1),
    ((1003, 6), 1, 6),
    ((9, 700, 3), 1, 700),
    ((37, 3, 5), 1, 3),
    ((4100, 3), 1, 3),
]


def _prelu_case(shape, nw, dt):
    x = _data(shape, dt)
    g = _data(shape, dt, seed=1)
    w = _narrow(np.random.default_rng(2).uniform(-1, 1, nw).astype(F32), dt)
    w.flat[0] = 0.0                        # the w == 0 loops
    return x, g, w


def _prelu_want(x, g, w, axis, dt):
    y = _narrow(fa.prelu(_f32(x), _f32(w), axis=axis), dt)
    gx, gw = fa.prelu_backward(_f32(g), _f32(x), _f32(w), axis=axis)
    return y, _narrow(gx, dt), _narrow(gw, dt)


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
@pytest.mark.parametrize("shape, axis, nw", PRELU_SHAPES)
def test_prelu_equals_float32_rounded(shape, axis, nw, dt):
    """PReLU on a narrow array: computed in float32 inside the loop, bitwise
    the float32 result rounded (grad_weight summed as for float32, then
    rounded via float32), at every instruction-set level, 1 and 2 threads"""
    x, g, w = _prelu_case(shape, nw, dt)
    with np.errstate(all="ignore"):
        want = _prelu_want(x, g, w, axis, dt)
        for isa in ISAS:
            for nt in (1, 2):
                with _dispatch.using(isa), fa.num_threads(nt):
                    y = fa.prelu(x, w, axis=axis)
                    gx, gw = fa.prelu_backward(g, x, w, axis=axis)
                for got, ref in zip((y, gx, gw), want):
                    assert got.dtype == dt
                    _bits_equal(got, ref)


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_prelu_layouts_out_and_weights(dt):
    """other layouts, out= (in place too) and weights of another dtype: the
    float32 computation rounded"""
    x, g, w = _prelu_case((6, 5, 300), 5, dt)
    w64 = np.random.default_rng(3).uniform(-1, 1, 5)
    with np.errstate(all="ignore"):
        for xv, gv, axis in ((np.asfortranarray(x), np.asfortranarray(g), 1),
                             (x[:, :, ::2], g[:, :, ::2], 1),
                             (x.transpose(2, 1, 0), g.transpose(2, 1, 0), 1),
                             (x, g, -2)):
            y, gx, gw = _prelu_want(xv, gv, w, axis, dt)
            _bits_equal(fa.prelu(xv, w, axis=axis), y)
            got = fa.prelu_backward(gv, xv, w, axis=axis)
            _bits_equal(got[0], gx)
            _bits_equal(got[1], gw)
        out = np.empty_like(x)
        assert fa.prelu(x, w, out=out) is out
        _bits_equal(out, _prelu_want(x, g, w, 1, dt)[0])
        xi = x.copy()
        assert fa.prelu(xi, w, out=xi) is xi
        _bits_equal(xi, out)
        # float64 weights: used as float32 (the computation dtype)
        y64 = fa.prelu(x, w64)
        assert y64.dtype == dt
        _bits_equal(y64, _narrow(fa.prelu(_f32(x), w64.astype(F32)), dt))
        gx, gw = fa.prelu_backward(g, x, w64)
        assert gx.dtype == dt and gw.dtype == np.float64
        rx, rw = fa.prelu_backward(_f32(g), _f32(x), w64.astype(F32))
        _bits_equal(gx, _narrow(rx, dt))
        # a grad_output of another dtype is read as float32
        g32 = np.random.default_rng(4).standard_normal(x.shape).astype(F32) * 100
        gx, gw = fa.prelu_backward(g32, x, w)
        rx, rw = fa.prelu_backward(g32, _f32(x), _f32(w))
        _bits_equal(gx, _narrow(rx, dt))
        _bits_equal(gw, _narrow(rw, dt))
        if dt == F16:
            xs = x.astype(F16.newbyteorder())
            _bits_equal(fa.prelu(xs, w), out)


@pytest.mark.parametrize("dt", NARROW, ids=NIDS)
def test_prelu_no_float32_temporary(dt):
    """no float32 copy of the array: the peak of traced memory (NumPy
    reports its buffers to tracemalloc) stays near the narrow result"""
    x, g, w = _prelu_case((64, 8, 2048), 8, dt)
    for f in (lambda: fa.prelu(x, w), lambda: fa.prelu_backward(g, x, w)):
        peak = _traced_peak(f)
        assert peak < 1.25 * x.nbytes, (peak, x.nbytes)
