"""fastact.ufunc: real NumPy ufuncs, bitwise the functions' results, with
everything a ufunc does (broadcasting, out=, where=, dtype=, casting=,
__array_ufunc__ overrides)."""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa
import fastact.ufunc as fu
from fastact import _reference as R
from fastact import _spec

from conftest import FLOATS, bitwise_eq

ELEMENTWISE = [s for s in _spec.SPECS if s.kind == "elementwise"]


def _variants():
    """(ufunc name, function name, params incl. the choice) per kernel variant"""
    out = []
    for s in ELEMENTWISE:
        params = R.PARAM_CASES[s.name][0]
        if isinstance(s.kernel, dict):
            (cname,) = [p.name for p in s.params if p.type == "choice"]
            for i, c in enumerate(s.kernel):
                out.append((s.name if i == 0 else f"{s.name}_{c}", s, {**params, cname: c}))
        else:
            out.append((s.name, s, params))
    return out


VARIANTS = _variants()


def _x(dtype, n=70_001):
    x = np.linspace(-12, 12, n).astype(dtype)
    x[::97] = 0.0
    x[5] = np.nan
    x[6], x[7] = np.inf, -np.inf
    return x


def test_every_function_has_its_ufuncs():
    names = set(fu.__all__)
    for uname, s, _ in VARIANTS:
        assert isinstance(getattr(fu, uname), np.ufunc)
        assert uname + "_backward" in names
        assert (uname + "_backward_y" in names) == s.grad_from_output
        assert getattr(fu, uname).nin == 1 + len(s.float_params)


@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("uname,s,params", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_ufunc_bitwise_the_function(uname, s, params, dtype):
    x = _x(dtype)
    with np.errstate(invalid="ignore"):
        g = np.cos(x).astype(dtype)
    fargs = [params[p.name] for p in s.float_params]
    fwd, bwd = getattr(fa, s.name), getattr(fa, s.name + "_backward")
    y = fwd(x, **params)
    assert bitwise_eq(getattr(fu, uname)(x, *fargs), y)
    # strided (buffered loop) and a result of x's dtype
    r = getattr(fu, uname)(x[::3], *fargs)
    assert r.dtype == dtype and bitwise_eq(r, y[::3])
    assert bitwise_eq(getattr(fu, uname + "_backward")(g, x, *fargs), bwd(g, x, **params))
    if s.y_form_ok(params):
        assert bitwise_eq(getattr(fu, uname + "_backward_y")(g, y, *fargs),
                          bwd(g, y=y, **params))


def test_ufunc_machinery():
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    # parameters broadcast like inputs (one slope per column)
    slopes = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    r = fu.leaky_relu(x, slopes)
    assert np.array_equal(r, np.where(x > 0, x, x * slopes))
    # out= and where=
    out = np.full_like(x, 7.0)
    mask = x > 0
    fu.sigmoid(x, out=out, where=mask)
    assert np.array_equal(out[mask], fa.sigmoid(x)[mask]) and np.all(out[~mask] == 7.0)
    # in place
    z = x.copy()
    fu.relu(z, out=z)
    assert np.array_equal(z, fa.relu(x))
    # dtype= picks the float64 loop; float16 and int inputs follow NumPy's casting
    assert fu.sigmoid(x, dtype=np.float64).dtype == np.float64
    assert fu.sigmoid(np.float16(1)).dtype == np.float32
    assert fu.sigmoid(np.arange(3)).dtype == np.float64
    # a scalar in, a NumPy scalar out
    assert isinstance(fu.tanh(0.5), np.floating)
    # casting= is honoured
    with pytest.raises(TypeError):
        fu.sigmoid(np.ones(3), out=np.empty(3, np.float32), casting="safe")
    # reduce is not defined for a 1-input ufunc; accumulate need not work
    with pytest.raises(ValueError):
        fu.sigmoid.reduce(x)


def test_ufunc_override_protocol():
    class Box:
        def __init__(self, v):
            self.v = v

        def __array_ufunc__(self, uf, method, *inputs, **kw):
            vals = [i.v if isinstance(i, Box) else i for i in inputs]
            return Box(getattr(uf, method)(*vals, **kw))

    b = fu.sigmoid(Box(np.zeros(2)))
    assert isinstance(b, Box) and np.array_equal(b.v, [0.5, 0.5])
    # and the function hands a container to the ufunc
    b = fa.gelu(Box(np.zeros(2)), approximate="tanh")
    assert isinstance(b, Box)
    b = fa.sigmoid_backward(Box(np.ones(2)), y=Box(np.full(2, 0.5)))
    assert isinstance(b, Box) and np.array_equal(b.v, [0.25, 0.25])


GUFUNCS = [("softmax", {}), ("log_softmax", {}), ("softmin", {}), ("logsumexp", {})]


@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "logsumexp"])
def test_gufuncs_bitwise_the_functions(name, dtype):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((64, 300)) * 4).astype(dtype)
    x[3, 7] = -np.inf
    x[4] = -np.inf
    g = rng.standard_normal(x.shape).astype(dtype)
    uf, fn = getattr(fu, name), getattr(fa, name)
    for axis in (-1, 0):
        assert bitwise_eq(uf(x, axis=axis), fn(x, axis=axis))
    # a strided axis: copied row by row, same accuracy
    xs = x[:, ::3]
    assert np.allclose(uf(xs), fn(xs), rtol=8 * np.finfo(dtype).eps, atol=0, equal_nan=True)
    if name == "logsumexp":
        lg = g[:, 0].copy()
        assert bitwise_eq(fu.logsumexp_backward(lg, x), fa.logsumexp_backward(lg, x))
        return
    y = fn(x)
    bwd = getattr(fa, name + "_backward")
    assert bitwise_eq(getattr(fu, name + "_backward")(g, x), bwd(g, x))
    assert bitwise_eq(getattr(fu, name + "_backward_y")(g, y), bwd(g, y=y))
    # broadcasting over loop dimensions, out=
    out = np.empty((2,) + x.shape, dtype)
    uf(np.stack([x, x]), out=out)
    assert bitwise_eq(out[1], fn(x))


def test_gufunc_empty_and_signature():
    assert fu.softmax.signature == "(n)->(n)" and fu.logsumexp.signature == "(n)->()"
    assert np.all(fu.logsumexp(np.empty((3, 0))) == -np.inf)
    assert fu.softmax(np.empty((3, 0))).shape == (3, 0)
