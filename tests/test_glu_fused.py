"""The fused pre-activation (`scale=`, `bias=`) of the GLU family: x is the
pre-activation of both halves, NAME(x, scale=s, bias=b) is NAME(x * s + b)
with the product and the sum rounded apart in the computation dtype (so it
equals the unfused composition bitwise), and the backward is
NAME_backward(g, x * s + b) * s, also bitwise.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import fastact as fa
from conftest import comp_dtype, pre_reference, raises_untouched, same_bits

# (function, keyword arguments): every kernel of the family
CASES = [("glu", {}), ("swiglu", {}), ("geglu", {}), ("geglu", {"approximate": "tanh"})]
IDS = ["glu", "swiglu", "geglu", "geglu_tanh"]
DTYPES = [np.float32, np.float64, np.float16]
F = 37                          # the half length: odd, not a vector width


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    if x.size >= 12:
        x.flat[:12] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 6.0, -90.0, 1e-30,
                       -1e4, 3e4]
    return x


def _operands(shape, dtype, seed=1):
    """(scale, bias): a scalar, one value per trailing entry ((2F,) for
    axis=-1), (1, n), the full shape, one along a leading axis only, only
    one of the two; some scales large enough to reach the kernels' far
    ranges"""
    rng = np.random.default_rng(seed)
    n = shape[-1]
    vec = lambda *s: (rng.standard_normal(s) * 2).astype(dtype)
    lead = (shape[0],) + (1,) * (len(shape) - 1)
    return [
        (None, vec(n)),
        (1.5, None),
        (vec(n), None),
        (-0.75, 0.25),
        (vec(n), vec(n)),
        (vec(1, n), vec(1, n)),
        (vec(*shape), vec(*shape)),
        (2.0, vec(n)),
        (vec(*lead), None),
        (None, vec(*lead)),
        (np.float32(40.0), -3.0),
    ]


def _fwd(name, kw, x, **k):
    return getattr(fa, name)(x, **kw, **k)


def _bwd(name, kw, g, x, **k):
    return getattr(fa, name + "_backward")(g, x, **kw, **k)


def _res(w, x):
    """w (computation dtype) in x's result dtype (float16 stays float16)"""
    with np.errstate(over="ignore"):
        return w.astype(x.dtype.newbyteorder("="))


def _want_fwd(name, kw, x, s, b, axis):
    return _res(_fwd(name, kw, pre_reference(x, s, b), axis=axis), x)


def _want_bwd(name, kw, g, x, s, b, axis):
    c = comp_dtype(x.dtype)
    w = _bwd(name, kw, np.asarray(g).astype(c), pre_reference(x, s, b), axis=axis)
    if s is not None:
        w = w * np.asarray(s).astype(c)
    return _res(w, x)


def _shape(base_shape, axis):
    """base_shape with the split axis doubled"""
    s = list(base_shape)
    s[axis] *= 2
    return tuple(s)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64", "f16"])
@pytest.mark.parametrize("axis, shape", [(-1, (9, 2 * F)), (0, (2 * F, 9)),
                                         (1, (3, 2 * F, 5)), (-1, (2 * F,))])
@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_equals_composition(name, kw, axis, shape, dtype):
    x = _data(shape, dtype)
    hshape = list(shape)
    hshape[axis] //= 2
    g = _data(tuple(hshape), dtype, seed=5)
    for s, b in _operands(shape, dtype):
        if max(np.ndim(s), np.ndim(b)) > len(shape):
            continue
        same_bits(_fwd(name, kw, x, axis=axis, scale=s, bias=b), _want_fwd(name, kw, x, s, b, axis))
        same_bits(_bwd(name, kw, g, x, axis=axis, scale=s, bias=b),
              _want_bwd(name, kw, g, x, s, b, axis))


def _layouts(dtype):
    base = _data((12, 4 * F), dtype)
    return {
        "fortran": np.asfortranarray(base[:, :2 * F]),
        "strided": base[::2, ::2],
        "negative": base[::-1, ::-2],
        "3d-transposed": np.ascontiguousarray(base.reshape(6, 2, 4 * F)).transpose(1, 0, 2),
        "byteswapped": base.astype(np.dtype(dtype).newbyteorder()),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layout", list(_layouts(np.float32)))
@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_layouts(name, kw, axis, layout, dtype):
    x = _layouts(dtype)[layout]
    if x.shape[axis] % 2:
        x = x[:-1] if axis == 0 else x[..., :-1]
    hshape = list(x.shape)
    hshape[axis] //= 2
    g = _data(tuple(hshape), dtype, seed=9)
    for s, b in _operands(x.shape, dtype):
        same_bits(_fwd(name, kw, x, axis=axis, scale=s, bias=b), _want_fwd(name, kw, x, s, b, axis))
        same_bits(_bwd(name, kw, g, x, axis=axis, scale=s, bias=b),
              _want_bwd(name, kw, g, x, s, b, axis))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_backward_in_place(name, kw, dtype):
    for order in ("C", "F"):
        x = np.asarray(_data((8, 2 * F), dtype), order=order)
        g = _data((8, F), dtype, seed=2)
        s = np.linspace(-1, 1, 2 * F).astype(dtype)
        b = np.float32(0.3)
        want = _want_bwd(name, kw, g, x, s, b, -1)
        xx = x.copy(order="K")
        assert _bwd(name, kw, g, xx, scale=s, bias=b, out=xx) is xx
        same_bits(xx, want)


def test_out_arguments():
    x = _data((6, 2 * F), np.float16)
    b = np.linspace(-1, 1, 2 * F)
    out = np.empty((6, F), np.float16)
    assert fa.swiglu(x, bias=b, out=out) is out
    same_bits(out, _res(fa.swiglu(pre_reference(x, None, b)), x))
    x = _data((6, 2 * F), np.float32)
    out = np.empty((6, F), np.float32, order="F")
    assert fa.geglu(x, scale=2.0, out=out) is out
    same_bits(out, fa.geglu(x * np.float32(2.0)))
    # out is the bias (of x's shape): read before it is written
    g = _data((6, F), np.float32, seed=3)
    bb = _data((6, 2 * F), np.float32, seed=4)
    want = fa.glu_backward(g, x + bb)
    assert fa.glu_backward(g, x, bias=bb, out=bb) is bb
    same_bits(bb, want)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_threads_bitwise(name, kw, threads):
    # large enough to be split between threads; a period that divides
    # neither a half nor the item size
    x = _data((300, 2 * 1001), np.float32)
    b = np.linspace(-3, 3, 2 * 1001, dtype=np.float32)
    s = np.linspace(0.1, 2, 2 * 1001, dtype=np.float32)
    g = _data((300, 1001), np.float32, seed=8)
    x0, s0, b0, g0 = x.T.copy(), s[:, None], b[:, None], g.T.copy()    # axis=0
    with fa.num_threads(threads):
        got = _fwd(name, kw, x, scale=s, bias=b)
        gotb = _bwd(name, kw, g, x, scale=s, bias=b)
        got0 = _fwd(name, kw, x0, axis=0, scale=s0, bias=b0)
        gotb0 = _bwd(name, kw, g0, x0, axis=0, scale=s0, bias=b0)
    with fa.num_threads(1):
        want = _fwd(name, kw, x * s + b)
        wantb = _bwd(name, kw, g, x * s + b) * s
    same_bits(got, want)
    same_bits(gotb, wantb)
    same_bits(got0, want.T)
    same_bits(gotb0, wantb.T)


def test_all_isa_levels():
    from fastact import _dispatch
    x = _data((50, 260), np.float32)
    g = _data((50, 130), np.float32, seed=1)
    b = np.linspace(-3, 3, 260, dtype=np.float32)
    for isa in _dispatch.supported_isas():
        with _dispatch.using(isa):
            for name, kw in CASES:
                same_bits(_fwd(name, kw, x, scale=0.5, bias=b),
                      _fwd(name, kw, x * np.float32(0.5) + b))
                same_bits(_bwd(name, kw, g, x, scale=0.5, bias=b),
                      _bwd(name, kw, g, x * np.float32(0.5) + b) * np.float32(0.5))


@pytest.mark.parametrize("shape", [(0, 2 * F), (3, 0), (0,), (4, 2)])
def test_small_and_empty(shape):
    x = _data(shape, np.float32)
    for s, b in [(2.0, -1.0), (None, np.ones(shape[-1:], np.float32)),
                 (np.full(shape, 3.0, np.float32), None)]:
        for name, kw in CASES:
            same_bits(_fwd(name, kw, x, scale=s, bias=b), _want_fwd(name, kw, x, s, b, -1))
            g = np.ones(shape[:-1] + (shape[-1] // 2,), np.float32)
            same_bits(_bwd(name, kw, g, x, scale=s, bias=b), _want_bwd(name, kw, g, x, s, b, -1))


def test_negative_zero_kept():
    # x + 0 would turn -0 into +0: without a bias nothing is added
    x = np.array([-0.0, 2.0], np.float32)
    assert np.signbit(fa.swiglu(x, scale=1.0)[0])
    assert np.signbit(fa.geglu(x, scale=np.ones(2, np.float32))[0])
    assert not np.signbit(fa.swiglu(x, bias=0.0)[0])


def test_no_scale_no_bias_is_the_plain_call():
    x = _data((8, 2 * F), np.float32)
    g = _data((8, F), np.float32, seed=1)
    for name, kw in CASES:
        same_bits(_fwd(name, kw, x, scale=None, bias=None), _fwd(name, kw, x))
        same_bits(_bwd(name, kw, g, x, scale=None, bias=None), _bwd(name, kw, g, x))


def test_swiglu_against_torch_autograd():
    torch = pytest.importorskip("torch")
    x = _data((5, 2 * F), np.float64)
    x[~np.isfinite(x)] = 0.5
    x[np.abs(x) > 100] = -2.0
    g = _data((5, F), np.float64, seed=7)
    s = np.linspace(-2, 2, 2 * F)
    b = np.linspace(-1, 1, 2 * F)
    xt = torch.tensor(x, requires_grad=True)
    u = xt * torch.tensor(s) + torch.tensor(b)
    yt = torch.nn.functional.silu(u[:, :F]) * u[:, F:]
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(fa.swiglu(x, scale=s, bias=b), yt.detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fa.swiglu_backward(g, x, scale=s, bias=b), xt.grad.numpy(),
                               rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("name, kw", CASES, ids=IDS)
def test_bad_shapes(name, kw):
    x = _data((4, 6), np.float32)
    out = np.zeros((4, 3), np.float32)
    outb = np.zeros_like(x)
    g = np.ones((4, 3), np.float32)
    for arg in ("scale", "bias"):
        for bad in (np.ones(3), np.ones(4), np.ones((3, 6)), np.ones((2, 4, 6)),
                    np.ones((4, 1, 6))):
            msg = rf"{name}\(\): {arg} has shape {re.escape(str(bad.shape))}.*x's shape \(4, 6\)"
            raises_untouched(ValueError, msg, lambda: _fwd(name, kw, x, out=out, **{arg: bad}),
                       x, out)
            raises_untouched(ValueError, msg.replace(name, name + "_backward", 1),
                       lambda: _bwd(name, kw, g, x, out=outb, **{arg: bad}), x, g, outb)


@pytest.mark.parametrize("bad", ["a", [1j], np.array([True]), True, object()])
def test_bad_types(bad):
    x = np.ones(2, np.float32)
    out = np.zeros(1, np.float32)
    for arg in ("scale", "bias"):
        raises_untouched(TypeError, arg, lambda: fa.swiglu(x, out=out, **{arg: bad}), x, out)
        raises_untouched(TypeError, arg, lambda: fa.swiglu_backward(out, x, **{arg: bad}), x, out)


def test_other_errors_still_raised():
    x = np.ones((2, 5), np.float32)
    with pytest.raises(ValueError, match="odd length"):
        fa.swiglu(x, bias=1.0)
    with pytest.raises(ValueError, match="approximate"):
        fa.geglu(np.ones((2, 4)), approximate="fast", bias=1.0)
    with pytest.raises(ValueError, match="grad_output has shape"):
        fa.glu_backward(np.ones((2, 4)), np.ones((2, 4)), scale=2.0)
    with pytest.raises(ValueError, match="out has shape"):
        fa.glu(np.ones((2, 4)), bias=1.0, out=np.empty((2, 4)))
    with pytest.raises(ValueError, match="at least one dimension"):
        fa.glu(1.0, bias=1.0)


def test_containers_refused():
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match="scale= and bias="):
        fa.swiglu(pd.DataFrame(np.ones((2, 4))), bias=1.0)
