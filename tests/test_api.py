"""The API rules of ../shared/API.md, "Arrays in, arrays out" and
"Elementwise activations", for every elementwise activation of the spec."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastact as fa
from fastact import _reference as R
from fastact import _spec

from conftest import DEFAULT_CASES, ELEMENTWISE, FLOATS, backward, bitwise_eq, forward, nan_eq

IDS = ["f32", "f64"]
GRAD_Y = [s.name for s in ELEMENTWISE if s.grad_from_output]


def _x(shape=(4, 5), dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 4).astype(dtype)


# ----------------------------------------------------------------- dtypes

@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_float_dtypes_preserved(name, params):
    for dt in FLOATS:
        x = _x(dtype=dt)
        assert forward(name, x, params).dtype == dt
        assert backward(name, _x(dtype=dt, seed=1), x, params).dtype == dt


@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_float16_computed_in_float32(name, params):
    x = _x(dtype=np.float16)
    with np.errstate(under="ignore", over="ignore"):
        y = forward(name, x, params)
        assert y.dtype == np.float16
        assert nan_eq(y, forward(name, x.astype(np.float32), params).astype(np.float16))
        g = _x(dtype=np.float16, seed=1)
        gx = backward(name, g, x, params)
        assert gx.dtype == np.float16
        ref = backward(name, g.astype(np.float32), x.astype(np.float32), params)
        assert nan_eq(gx, ref.astype(np.float16))


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64,
                                   np.uint64])
@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_bool_and_integers_as_float64(name, params, dtype):
    x = np.array([0, 1, 3, 7, 100], dtype=dtype) if dtype != np.bool_ else np.array([0, 1, 1])
    y = forward(name, x, params)
    assert y.dtype == np.float64
    assert nan_eq(y, forward(name, x.astype(np.float64), params))
    gx = backward(name, np.ones(x.shape, dtype=dtype), x, params)
    assert gx.dtype == np.float64
    assert nan_eq(gx, backward(name, np.ones(x.shape), x.astype(np.float64), params))


BAD_DTYPES = [
    np.array([1 + 2j, 3j], dtype=np.complex64),
    np.array([1 + 2j, 3j], dtype=np.complex128),
    np.array([1.0, 2.0], dtype=np.longdouble),
    np.array([1.0, "a"], dtype=object),
    np.array(["1.0", "2"]),
    np.array([b"1", b"2"]),
    np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]"),
    np.array([1, 2], dtype="timedelta64[s]"),
]
BAD_IDS = ["complex64", "complex128", "longdouble", "object", "str", "bytes", "datetime64",
           "timedelta64"]


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=BAD_IDS)
@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_unsupported_dtypes_raise_typeerror(name, params, bad):
    if np.dtype(bad.dtype) == np.longdouble and np.finfo(np.longdouble).bits == 64:
        pytest.skip("longdouble is float64 on this platform")
    dt = str(bad.dtype)
    with pytest.raises(TypeError, match=dt.split("[")[0]):
        forward(name, bad, params)
    ok = np.ones(bad.shape)
    with pytest.raises(TypeError, match=dt.split("[")[0]):
        backward(name, ok, bad, params)
    with pytest.raises(TypeError, match=dt.split("[")[0]):
        backward(name, bad, ok, params)


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_byteswapped_input(name, params, dtype):
    x = _x(dtype=dtype)
    g = _x(dtype=dtype, seed=1)
    xs = x.astype(np.dtype(dtype).newbyteorder())
    gs = g.astype(np.dtype(dtype).newbyteorder())
    y = forward(name, xs, params)
    assert y.dtype == dtype and y.dtype.isnative
    assert bitwise_eq(y, forward(name, x, params))
    assert bitwise_eq(backward(name, gs, xs, params), backward(name, g, x, params))
    assert bitwise_eq(backward(name, g, xs, params), backward(name, g, x, params))


@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_mixed_grad_dtype_gives_x_dtype(name, params):
    x32 = _x(dtype=np.float32)
    g64 = _x(dtype=np.float64, seed=1)
    r = backward(name, g64, x32, params)
    assert r.dtype == np.float32
    assert bitwise_eq(r, backward(name, g64.astype(np.float32), x32, params))
    r = backward(name, g64.astype(np.float32), x32.astype(np.float64), params)
    assert r.dtype == np.float64


# ------------------------------------------------------------------ shapes

@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_scalars_give_numpy_scalars(name, params):
    for x, dt in [(0.7, np.float64), (2, np.float64), (True, np.float64),
                  (np.float32(0.7), np.float32), (np.float64(-0.7), np.float64),
                  (np.array(-1.5, np.float32), np.float32), (np.float16(0.5), np.float16)]:
        y = forward(name, x, params)
        assert isinstance(y, np.generic) and not isinstance(y, np.ndarray), (x, type(y))
        assert y.dtype == dt, (x, y.dtype)
        ref = forward(name, np.array([x], dtype=dt), params)[0]
        assert nan_eq(np.asarray(y), np.asarray(ref))
        gx = backward(name, 1.0, x, params)
        assert isinstance(gx, np.generic) and gx.dtype == dt
    out = np.empty((), dtype=np.float64)
    r = forward(name, 0.3, params, out=out)
    assert r is out
    assert r[()] == forward(name, np.array([0.3]), params)[0]
    out = np.empty((), dtype=np.float64)
    assert backward(name, 1.0, 0.3, params, out=out) is out


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3, 0), (3, 1, 2), (2, 3, 4, 5)])
@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_shapes(name, params, shape):
    x = _x(shape)
    y = forward(name, x, params)
    assert type(y) is np.ndarray and y.shape == shape and y.dtype == np.float64
    flat = forward(name, x.ravel(), params)
    assert bitwise_eq(y.ravel(), flat)
    gx = backward(name, np.ones(shape), x, params)
    assert gx.shape == shape
    assert bitwise_eq(gx.ravel(), backward(name, np.ones(x.size), x.ravel(), params))


def test_lists_and_tuples_accepted():
    assert fa.relu([-1.0, 2.0]).tolist() == [0.0, 2.0]
    assert fa.relu(((-1, 2), (3, -4))).tolist() == [[0.0, 2.0], [3.0, 0.0]]
    assert fa.relu_backward([1.0, 1.0], [-1.0, 2.0]).tolist() == [0.0, 1.0]


# ---------------------------------------------------------------- layouts

def _layouts(dtype):
    """(description, array) pairs: views of every memory layout."""
    base = _x((6, 8), dtype=dtype, seed=3)
    big = _x((12, 16), dtype=dtype, seed=4)
    raw = np.zeros(6 * 8 * np.dtype(dtype).itemsize + 1, dtype=np.uint8)
    unaligned = raw[1:].view(dtype).reshape(6, 8)
    unaligned[...] = base
    return [
        ("C", base),
        ("F", np.asfortranarray(base)),
        ("sliced", big[::2, ::2]),
        ("negative", big[::-2, ::-2]),
        ("transposed", _x((8, 6), dtype=dtype, seed=5).T),
        ("rows", big[3:9, 4:12]),
        ("unaligned", unaligned),
        ("1d-strided", _x(96, dtype=dtype, seed=6)[::2].reshape(6, 8)),
        ("broadcast", np.broadcast_to(_x(8, dtype=dtype, seed=7), (6, 8))),
    ]


LAYOUT_IDS = [d for d, _ in _layouts(np.float64)]


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_layouts_x_g_out(name, params, dtype):
    lays = _layouts(dtype)
    for desc, x in lays:
        xc = np.ascontiguousarray(x)
        y_ref = forward(name, xc, params)
        assert bitwise_eq(forward(name, x, params), y_ref), desc
        for gdesc, g in lays:
            gc = np.ascontiguousarray(g)
            gx = backward(name, g, x, params)
            assert bitwise_eq(gx, backward(name, gc, xc, params)), (desc, gdesc)
        # out of every writeable layout
        for odesc, o in lays:
            if not o.flags.writeable:
                continue
            out = np.full_like(o, 7.0)
            out = o.copy() if o.flags.c_contiguous else out
            target = _fresh_like(odesc, dtype)
            r = forward(name, x, params, out=target)
            assert r is target
            assert bitwise_eq(r, y_ref), (desc, odesc)
            target = _fresh_like(odesc, dtype)
            r = backward(name, lays[0][1], x, params, out=target)
            assert r is target
            assert bitwise_eq(r, backward(name, lays[0][1], xc, params)), (desc, odesc)


def _fresh_like(desc, dtype):
    """A new (disjoint) array of the layout `desc`, filled with garbage."""
    for d, a in _layouts(dtype):
        if d == desc:
            a[...] = 123.0
            return a
    raise KeyError(desc)


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_non_contiguous_large(name, params, dtype):
    """Strided inputs big enough to use threads are never silently wrong."""
    x = _x((300, 2000), dtype=dtype)[:, ::3]
    ref = forward(name, np.ascontiguousarray(x), params)
    assert bitwise_eq(forward(name, x, params), ref)
    assert bitwise_eq(forward(name, x.T, params), ref.T)


# -------------------------------------------------------------------- out=

def _check_raises_untouched(exc, fn, *arrays):
    before = [a.copy() for a in arrays]
    with pytest.raises(exc) as ei:
        fn()
    for a, b in zip(arrays, before):
        assert nan_eq(a, b), "an input or out was modified before the error"
    return ei


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_out_errors_before_writing(name, params, dtype):
    x = _x((4, 5), dtype=dtype)
    g = _x((4, 5), dtype=dtype, seed=1)
    other = np.float64 if dtype == np.float32 else np.float32
    for fn_kind in ("fwd", "bwd"):
        def call(out, xx=x, gg=g):
            if fn_kind == "fwd":
                return forward(name, xx, params, out=out)
            return backward(name, gg, xx, params, out=out)
        bad_shape = np.full((5, 4), 9.0, dtype=dtype)
        ei = _check_raises_untouched(ValueError, lambda: call(bad_shape), bad_shape, x, g)
        assert "out" in str(ei.value)
        bad_shape2 = np.full((4, 5, 1), 9.0, dtype=dtype)
        _check_raises_untouched(ValueError, lambda: call(bad_shape2), bad_shape2, x, g)
        bad_dtype = np.full((4, 5), 9.0, dtype=other)
        ei = _check_raises_untouched(TypeError, lambda: call(bad_dtype), bad_dtype, x, g)
        assert "out" in str(ei.value)
        swapped = np.full((4, 5), 9.0, dtype=np.dtype(dtype).newbyteorder())
        _check_raises_untouched(TypeError, lambda: call(swapped), swapped, x, g)
        ro = np.full((4, 5), 9.0, dtype=dtype)
        ro.flags.writeable = False
        ei = _check_raises_untouched(ValueError, lambda: call(ro), ro, x, g)
        assert "out" in str(ei.value)
        with pytest.raises(TypeError, match="out"):
            call([[0.0] * 5] * 4)
        # partial overlap with x
        buf = _x((5, 5), dtype=dtype, seed=9)
        xv, ov = buf[:4], buf[1:]
        _check_raises_untouched(ValueError, lambda: call(ov, xx=xv), buf)
        buf = _x(21, dtype=dtype, seed=9)
        _check_raises_untouched(ValueError, lambda: call(buf[1:].reshape(4, 5),
                                                         xx=buf[:20].reshape(4, 5)), buf)
        # overlap through a transposed view of the same memory
        sq = _x((5, 5), dtype=dtype, seed=10)
        _check_raises_untouched(ValueError, lambda: call(sq.T, xx=sq, gg=g[:, :5].copy()
                                                         if False else sq.copy()), sq)
        if fn_kind == "bwd":
            gbuf = _x((5, 5), dtype=dtype, seed=11)
            _check_raises_untouched(ValueError, lambda: call(gbuf[1:], gg=gbuf[:4]), gbuf, x)


@pytest.mark.parametrize("dtype", FLOATS, ids=IDS)
@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_out_in_place(name, params, dtype):
    x = _x((64, 33), dtype=dtype)
    g = _x((64, 33), dtype=dtype, seed=1)
    ref = forward(name, x, params)
    xi = x.copy()
    assert forward(name, xi, params, out=xi) is xi
    assert bitwise_eq(xi, ref)
    # strided in place: the same view as out and x
    big = np.zeros((64, 66), dtype=dtype)
    view = big[:, ::2]
    view[...] = x
    assert forward(name, view, params, out=view) is view
    assert bitwise_eq(view, ref)
    assert (big[:, 1::2] == 0).all()
    bref = backward(name, g, x, params)
    gi = g.copy()
    assert backward(name, gi, x, params, out=gi) is gi
    assert bitwise_eq(gi, bref)
    xi = x.copy()
    assert backward(name, g, xi, params, out=xi) is xi
    assert bitwise_eq(xi, bref)
    # g and x the same array, written in place
    s = x.copy()
    assert backward(name, s, s, params, out=s) is s
    assert bitwise_eq(s, backward(name, x, x, params))


@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_out_float16(name, params):
    x = _x(dtype=np.float16)
    out = np.empty_like(x)
    with np.errstate(under="ignore", over="ignore"):
        assert forward(name, x, params, out=out) is out
        assert nan_eq(out, forward(name, x, params))
    with pytest.raises(TypeError):
        forward(name, x, params, out=np.empty(x.shape, np.float32))


# ---------------------------------------------------------------- backward

@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_backward_shape_mismatch(name, params):
    x = _x((4, 5))
    for g in (np.ones((5, 4)), np.ones(5), np.ones((1, 5)), np.ones((4, 5, 1)), 1.0):
        with pytest.raises(ValueError, match="grad_output"):
            backward(name, g, x, params)


@pytest.mark.parametrize("name,params", DEFAULT_CASES)
def test_backward_x_or_y(name, params):
    f = getattr(fa, name + "_backward")
    x = _x()
    with pytest.raises(TypeError):
        f(np.ones_like(x), **params)
    if name in GRAD_Y:
        y = forward(name, x, params)
        with pytest.raises(TypeError):
            f(np.ones_like(x), x, y=y, **params)
        with pytest.raises(TypeError):
            f(np.ones_like(x), None, y=None, **params)
    else:
        with pytest.raises(TypeError):
            f(np.ones_like(x), y=x, **params)


# -------------------------------------------------------------- parameters

FLOAT_PARAM_CASES = [pytest.param(s.name, p.name, id=f"{s.name}-{p.name}")
                     for s in ELEMENTWISE for p in s.float_params]


@pytest.mark.parametrize("name,pname", FLOAT_PARAM_CASES)
def test_bad_parameter_types(name, pname):
    params = dict(R.PARAM_CASES[name][0])
    x = _x()
    for bad in ("0.5", None, [0.5], 1 + 0j, b"1", object(), np.array([0.5, 0.5])):
        params[pname] = bad
        with pytest.raises(TypeError, match=pname):
            forward(name, x, params)
        with pytest.raises(TypeError, match=pname):
            backward(name, np.ones_like(x), x, params)


@pytest.mark.parametrize("name,pname", FLOAT_PARAM_CASES)
def test_numpy_parameter_values_accepted(name, pname):
    base = dict(R.PARAM_CASES[name][0])
    x = _x()
    ref = forward(name, x, base)
    v = base[pname]
    for good in (np.float64(v), np.float32(v), np.array(v)):
        p = dict(base, **{pname: good})
        assert nan_eq(forward(name, x, p), ref) or np.dtype(type(good)) == np.float32
    if float(v).is_integer():
        assert nan_eq(forward(name, x, dict(base, **{pname: int(v)})), ref)


INVALID = [
    ("softplus", {"beta": 0.0}, "beta"), ("softplus", {"beta": -1.0}, "beta"),
    ("softplus", {"beta": np.nan}, "beta"),
    ("celu", {"alpha": 0.0}, "alpha"), ("celu", {"alpha": -0.0}, "alpha"),
    ("hard_tanh", {"min_val": 2.0, "max_val": 1.0}, "min_val"),
    ("hard_tanh", {"min_val": np.nan, "max_val": 1.0}, "min_val"),
    ("softshrink", {"lambd": -0.1}, "lambd"), ("softshrink", {"lambd": np.nan}, "lambd"),
    ("hardshrink", {"lambd": -0.1}, "lambd"),
    ("squareplus", {"b": -1.0}, "b"), ("squareplus", {"b": np.nan}, "b"),
    ("gelu", {"approximate": "tan"}, "approximate"),
    ("gelu", {"approximate": "TANH"}, "approximate"),
    ("gelu", {"approximate": None}, "approximate"),
    ("gelu", {"approximate": True}, "approximate"),
]


@pytest.mark.parametrize("name,params,pname", [pytest.param(*c, id=f"{c[0]}-{c[1]}")
                                               for c in INVALID if c[0] in _spec.BY_NAME])
def test_invalid_parameter_values(name, params, pname):
    full = dict(R.PARAM_CASES[name][0], **params)
    x = _x()
    with pytest.raises(ValueError, match=pname):
        forward(name, x, full)
    with pytest.raises(ValueError, match=pname):
        backward(name, np.ones_like(x), x, full)


def test_spec_checks_are_all_tested():
    """Every check / relation in the spec has a case in INVALID."""
    tested = {(n, k) for n, p, _ in INVALID for k in p}
    for s in ELEMENTWISE:
        for p in s.params:
            if p.check or p.type == "choice":
                assert (s.name, p.name) in tested, (s.name, p.name)
        for rel in s.relations:
            a = rel.split("<=")[0]
            assert (s.name, a) in tested, (s.name, rel)


def test_required_parameters_are_required():
    for s in ELEMENTWISE:
        req = [p.name for p in s.params if p.required]
        if not req:
            continue
        params = dict(R.PARAM_CASES[s.name][0])
        for r in req:
            p = {k: v for k, v in params.items() if k != r}
            with pytest.raises(TypeError, match=r):
                forward(s.name, _x(), p)


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        fa.leaky_relu(_x(), 0.2)
    with pytest.raises(TypeError):
        fa.leaky_relu_backward(_x(), _x(), 0.2)


def test_parameters_rounded_to_float32():
    """float32 input: the parameter is converted to float32 first (torch)."""
    x = np.array([-3.0, -1.0, -0.1], dtype=np.float32)
    s = 0.1
    y = fa.leaky_relu(x, negative_slope=s)
    np.testing.assert_array_equal(y, np.float32(s) * x)
    y = fa.threshold(x, threshold=-1.0000000001, value=0.1)
    np.testing.assert_array_equal(y, [np.float32(0.1), np.float32(0.1), x[2]])


def test_no_warning_from_dtype_conversions():
    """a grad_output of a wider dtype is rounded to x's dtype (overflow to
    inf is that rounding), without a RuntimeWarning"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = fa.relu_backward(np.array([1e300]), np.float32([1.0]))
        assert r.dtype == np.float32 and r[0] == np.inf
        r = fa.relu_backward(np.float32([1e30]), np.float16([1.0]))
        assert r.dtype == np.float16 and r[0] == np.inf
        out = np.empty(1, np.float16)
        fa.relu_backward(np.float32([1e30]), np.float16([1.0]), out=out)
        assert out[0] == np.inf
        r = fa.softmax_backward(np.array([1e300, 1.0]), np.float32([0.0, 0.0]))
        assert r.dtype == np.float32
        r = fa.glu_backward(np.array([1e300]), np.float32([1.0, 1.0]))
        assert np.isinf(r[0])



def test_float16_results_beyond_its_range_round_to_inf_silently():
    """a float16 result beyond 65504 is +-inf, with no 'overflow encountered
    in cast' warning, on the fast and the general paths of every family"""
    big = np.float16([65504, -65504, 60000, -60000, 1, -1, 0, 3e4]).reshape(2, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fa.selu(np.float16([65504]))[0] == np.inf
        r = fa.leaky_relu_backward(np.float16([60000]), np.float16([-1]), negative_slope=10.0)
        assert r[0] == np.inf
        for x in (big, big.astype(">f2"), np.repeat(big, 2, axis=1)[:, ::2], big.T.copy().T):
            for case in DEFAULT_CASES:
                name, params = case.values
                forward(name, x, params)
                backward(name, x, x, params)
                forward(name, x, params, out=np.empty(x.shape, np.float16))
            fa.leaky_relu(x, negative_slope=10.0)
            fa.elu_backward(x, x, alpha=10.0)
            for name in ("softmax", "log_softmax", "logsumexp", "glu", "swiglu", "geglu"):
                y = getattr(fa, name)(x)
                getattr(fa, name + "_backward")(np.full(y.shape, 60000, np.float16), x)
            fa.prelu(x, np.float16([10.0] * 4))
            fa.prelu_backward(x, x, np.float16([10.0] * 4))
        assert fa.selu(np.float16(65504)) == np.inf

# ------------------------------------------ the parameter rule (API.md, "Parameters")

@pytest.mark.parametrize("name,pname", FLOAT_PARAM_CASES)
def test_integer_parameter_too_large_is_valueerror(name, pname):
    params = dict(R.PARAM_CASES[name][0])
    x = _x()
    for big in (10 ** 400, -(10 ** 400), 2 ** 1024):
        params[pname] = big
        with pytest.raises(ValueError, match=pname):
            forward(name, x, params)
        with pytest.raises(ValueError, match=pname):
            backward(name, np.ones_like(x), x, params)


def test_parameter_checks_on_the_converted_value():
    """alpha = 1e-50 is 0 in float32: the ValueError of a zero alpha"""
    for dt in (np.float32, np.float16):
        x = np.zeros(3, dt)
        with pytest.raises(ValueError, match="alpha"):
            fa.celu(x, alpha=1e-50)
        with pytest.raises(ValueError, match="alpha"):
            fa.celu_backward(x, x, alpha=1e-50)
        with pytest.raises(ValueError, match="beta"):
            fa.softplus(x + 1, beta=1e-50)
        with pytest.raises(ValueError, match="beta"):
            fa.softplus_backward(x, x, beta=-1e-50)
        # -1e-50 is -0.0 in float32, which lambd >= 0 allows; min_val and
        # max_val that are equal in float32 satisfy min_val <= max_val
        np.testing.assert_array_equal(fa.softshrink(x + 1, lambd=-1e-50), x + 1)
        np.testing.assert_array_equal(fa.hard_tanh(x + 2, min_val=1.00000001, max_val=1.0),
                                      x + 1)
    with pytest.raises(ValueError, match="alpha"):
        fa.celu(np.float32(0.0), alpha=1e-50)           # a float32 scalar
    # float64 keeps 1e-50 (not 0) and rejects -1e-50
    assert fa.celu(np.zeros(1), alpha=1e-50)[0] == 0
    with pytest.raises(ValueError, match="lambd"):
        fa.softshrink(np.ones(1), lambd=-1e-50)
    with pytest.raises(ValueError, match="min_val"):
        fa.hard_tanh(np.ones(1), min_val=1.00000001, max_val=1.0)


def test_nan_parameters_follow_the_formula():
    """the table's formula in IEEE arithmetic: a NaN parameter propagates
    exactly where the formula uses it"""
    nan = np.nan
    for dt in FLOATS:
        x = np.array([-3.0, -0.5, 0.0, 0.5, 3.0, 40.0], dt)
        g = np.ones_like(x)
        neg = x <= 0
        # swish: x sigmoid(nan x) is NaN everywhere
        assert np.isnan(fa.swish(x, beta=nan)).all()
        assert np.isnan(fa.swish_backward(g, x, beta=nan)).all()
        # threshold: x > nan is false -> value everywhere, derivative 0
        np.testing.assert_array_equal(fa.threshold(x, threshold=nan, value=7.0), np.full_like(x, 7))
        np.testing.assert_array_equal(fa.threshold_backward(g, x, threshold=nan, value=7.0),
                                      np.zeros_like(x))
        assert np.isnan(fa.threshold(np.array([nan], dt), threshold=nan, value=7.0)).all()
        np.testing.assert_array_equal(fa.threshold(x, threshold=0.0, value=nan)[~neg], x[~neg])
        assert np.isnan(fa.threshold(x, threshold=0.0, value=nan)[neg]).all()
        # softplus: "x where beta x > threshold" never holds -> the log1p branch
        sp = fa.softplus(x, threshold=nan)
        np.testing.assert_array_equal(sp, fa.softplus(x, threshold=np.inf))
        np.testing.assert_array_equal(fa.softplus_backward(g, x, threshold=nan),
                                      fa.softplus_backward(g, x, threshold=np.inf))
        # leaky_relu, elu: NaN exactly where x <= 0
        for f, kw in ((fa.leaky_relu, {"negative_slope": nan}), (fa.elu, {"alpha": nan})):
            y = f(x, **kw)
            assert np.isnan(y[neg]).all() and (y[~neg] == x[~neg]).all()
        # hard_sigmoid: NaN slope or offset makes clip's argument NaN
        assert np.isnan(fa.hard_sigmoid(x, slope=nan)).all()
        assert np.isnan(fa.hard_sigmoid(x, offset=nan)).all()
