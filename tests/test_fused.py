"""The fused pre-activation (`scale=`, `bias=`) of every elementwise
function: NAME(x, scale=s, bias=b) is NAME(x * s + b) with the product and
the sum rounded apart in the computation dtype, so it equals the unfused
composition bitwise; the backward is NAME_backward(g, x * s + b) * s.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import fastact as fa
from conftest import (CASE_PARAMS, DEFAULT_CASES, ELEMENTWISE, FLOATS, backward, comp_dtype,
                      forward, pre_reference, raises_untouched, same_bits)

FEAT = 37


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    if x.size >= 8:
        x.flat[:8] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 6.0]
    return x


def _operands(shape, dtype, seed=1):
    """(scale, bias) pairs of every kind: scalar, (features,), (1, features),
    full shape, only one of the two"""
    rng = np.random.default_rng(seed)
    f = shape[-1]
    vec = lambda *s: (rng.standard_normal(s) * 2).astype(dtype)
    return [
        (None, vec(f)),
        (1.5, None),
        (vec(f), None),
        (-0.75, 0.25),
        (vec(f), vec(f)),
        (vec(1, f), vec(1, f)),
        (vec(*shape), vec(*shape)),
        (2.0, vec(f)),
        (vec(shape[-2], 1), None),           # varies along a leading axis only
    ]


@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name, params", CASE_PARAMS)
def test_forward_equals_composition(name, params, dtype):
    x = _data((9, FEAT), dtype)
    for s, b in _operands(x.shape, dtype):
        same_bits(forward(name, x, params, scale=s, bias=b),
                  forward(name, pre_reference(x, s, b), params))


@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name, params", CASE_PARAMS)
def test_backward_equals_composition(name, params, dtype):
    x = _data((9, FEAT), dtype)
    g = _data((9, FEAT), dtype, seed=5)
    for s, b in _operands(x.shape, dtype):
        got = backward(name, g, x, params, scale=s, bias=b)
        want = backward(name, g, pre_reference(x, s, b), params)
        if s is not None:
            want = want * np.asarray(s).astype(dtype)
        same_bits(got, want)


@pytest.mark.parametrize("name", [s.name for s in ELEMENTWISE if s.grad_from_output])
def test_backward_from_y(name):
    x = _data((6, FEAT), np.float32)
    g = _data((6, FEAT), np.float32, seed=3)
    s = np.linspace(-2, 2, FEAT, dtype=np.float32)
    b = np.float32(0.5)
    y = getattr(fa, name)(x, scale=s, bias=b)
    bwd = getattr(fa, name + "_backward")
    same_bits(bwd(g, y=y, scale=s, bias=b), bwd(g, y=y) * s)
    same_bits(bwd(g, y=y, bias=b), bwd(g, y=y))          # the bias is in y already
    ref = bwd(g, x, scale=s, bias=b)
    np.testing.assert_allclose(bwd(g, y=y, scale=s), ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, params", DEFAULT_CASES)
def test_float16_computed_in_float32(name, params):
    x = _data((5, FEAT), np.float16)
    s = np.linspace(0.5, 1.5, FEAT)                  # float64: converted to float32
    b = np.float16(0.25)
    got = forward(name, x, params, scale=s, bias=b)
    assert got.dtype == np.float16
    same_bits(got, forward(name, pre_reference(x, s, b), params).astype(np.float16))


@pytest.mark.parametrize("name, params", DEFAULT_CASES)
def test_integers_computed_in_float64(name, params):
    x = np.arange(-6, 6).reshape(3, 4)
    got = forward(name, x, params, scale=np.float32(0.5), bias=[1, 2, 3, 4])
    assert got.dtype == np.float64
    same_bits(got, forward(name, pre_reference(x, 0.5, [1, 2, 3, 4]), params))


def _layouts(dtype):
    base = _data((12, 2 * FEAT), dtype)
    return {
        "fortran": np.asfortranarray(base[:, :FEAT]),
        "strided": base[::2, ::2],
        "negative": base[::-1, ::-3],
        "3d-transposed": np.ascontiguousarray(base.reshape(6, 2, 2 * FEAT)).transpose(1, 0, 2),
        "byteswapped": base.astype(np.dtype(dtype).newbyteorder()),
    }


@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("layout", list(_layouts(np.float32)))
@pytest.mark.parametrize("name", ["gelu", "relu", "softplus", "sigmoid"])
def test_layouts(name, layout, dtype):
    x = _layouts(dtype)[layout]
    f = getattr(fa, name)
    fb = getattr(fa, name + "_backward")
    g = _data(x.shape, dtype, seed=9)
    for s, b in _operands(x.shape, dtype):
        same_bits(f(x, scale=s, bias=b), f(pre_reference(x, s, b)))
        want = fb(g, pre_reference(x, s, b))
        same_bits(fb(g, x, scale=s, bias=b),
              want if s is None else want * np.asarray(s).astype(want.dtype))


@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (0, 4), (1,), (7,), (2, 3, 5)])
def test_shapes(shape):
    x = _data(shape, np.float32)
    for s, b in [(2.0, -1.0), (None, np.ones(shape[-1:], np.float32)),
                 (np.full(shape, 3.0), None)]:
        got = fa.silu(x, scale=s, bias=b)
        want = fa.silu(pre_reference(x, s, b))
        if not shape:
            assert isinstance(got, np.float32) and type(want) is type(got)
        same_bits(np.asarray(got), np.asarray(want))


def test_python_scalar_input():
    assert fa.relu(-1.0, bias=2.0) == 1.0
    assert fa.sigmoid_backward(1.0, 0.0, scale=2.0) == 0.5


@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name, params", DEFAULT_CASES)
def test_in_place(name, params, dtype):
    x = _data((8, FEAT), dtype)
    s = np.linspace(-1, 1, FEAT).astype(dtype)
    b = np.float32(0.3)
    want = forward(name, pre_reference(x, s, b), params)
    xx = x.copy()
    assert forward(name, xx, params, scale=s, bias=b, out=xx) is xx
    same_bits(xx, want)
    g = _data(x.shape, dtype, seed=2)
    wantb = backward(name, g, pre_reference(x, s, b), params) * s
    for which in ("g", "x"):
        gg, xx = g.copy(), x.copy()
        o = gg if which == "g" else xx
        assert backward(name, gg, xx, params, scale=s, bias=b, out=o) is o
        same_bits(o, wantb)


def test_out_is_the_bias():
    x = _data((4, FEAT), np.float32)
    b = _data((4, FEAT), np.float32, seed=4)
    want = fa.gelu(x + b)
    assert fa.gelu(x, bias=b, out=b) is b
    same_bits(b, want)
    s = np.linspace(0.5, 2.0, FEAT * 4, dtype=np.float32).reshape(4, FEAT)
    g = _data(x.shape, np.float32, seed=6)
    want = fa.gelu_backward(g, x * s) * s
    assert fa.gelu_backward(g, x, scale=s, out=s) is s
    same_bits(s, want)


def test_out_overlapping_the_scale():
    big = np.linspace(0.5, 2.0, 2 * FEAT, dtype=np.float32)
    s = big[:FEAT].copy()
    x = _data((1, FEAT), np.float32)
    want = fa.tanh(x * s)
    big[:FEAT] = s
    out = big[FEAT // 2:FEAT // 2 + FEAT].reshape(1, FEAT)
    fa.tanh(x, scale=big[:FEAT], out=out)
    same_bits(out, want)


def test_out_float16_and_other_layout():
    x = _data((6, FEAT), np.float16)
    out = np.empty((6, FEAT), np.float16)
    assert fa.elu(x, bias=1.0, out=out) is out
    same_bits(out, fa.elu(pre_reference(x, None, 1.0)).astype(np.float16))
    x = _data((6, FEAT), np.float32)
    out = np.empty((6, FEAT), np.float32, order="F")
    fa.elu(x, scale=2.0, out=out)
    same_bits(out, fa.elu(x * np.float32(2.0)))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", ["gelu", "relu", "mish"])
def test_threads_bitwise(name, threads):
    # large enough to be split between threads, with a period that does not
    # divide the block size
    x = _data((300, 1001), np.float32)
    b = np.linspace(-3, 3, 1001, dtype=np.float32)
    s = np.linspace(0.1, 2, 1001, dtype=np.float32)
    g = _data(x.shape, np.float32, seed=8)
    with fa.num_threads(threads):
        got = getattr(fa, name)(x, scale=s, bias=b)
        gotb = getattr(fa, name + "_backward")(g, x, scale=s, bias=b)
    with fa.num_threads(1):
        want = getattr(fa, name)(x * s + b)
        wantb = getattr(fa, name + "_backward")(g, x * s + b) * s
    same_bits(got, want)
    same_bits(gotb, wantb)


def test_all_isa_levels():
    from fastact import _dispatch
    x = _data((50, 130), np.float32)
    b = np.linspace(-3, 3, 130, dtype=np.float32)
    for isa in _dispatch.supported_isas():
        with _dispatch.using(isa):
            same_bits(fa.gelu(x, scale=0.5, bias=b), fa.gelu(x * np.float32(0.5) + b))
            same_bits(fa.softplus_backward(x, x, bias=b), fa.softplus_backward(x, x + b))


def test_negative_zero_kept():
    # x + 0 would turn -0 into +0: without a bias nothing is added
    x = np.array([-0.0, 0.0], np.float32)
    assert np.signbit(fa.relu6(x, scale=1.0)[0])
    assert np.signbit(fa.hard_tanh(x, scale=np.ones(2, np.float32))[0])
    assert not np.signbit(fa.hard_tanh(x, bias=0.0)[0])


@pytest.mark.parametrize("name", ["gelu", "silu", "softplus", "elu", "hard_swish"])
def test_backward_against_torch_autograd(name):
    torch = pytest.importorskip("torch")
    x = _data((5, FEAT), np.float64)
    x[~np.isfinite(x)] = 0.5
    g = _data((5, FEAT), np.float64, seed=7)
    s = np.linspace(-2, 2, FEAT)
    b = np.linspace(-1, 1, FEAT)
    fns = {"gelu": torch.nn.functional.gelu, "silu": torch.nn.functional.silu,
           "softplus": torch.nn.functional.softplus, "elu": torch.nn.functional.elu,
           "hard_swish": torch.nn.functional.hardswish}
    xt = torch.tensor(x, requires_grad=True)
    st = torch.tensor(s, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    yt = fns[name](xt * st + bt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(getattr(fa, name)(x, scale=s, bias=b), yt.detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    bwd = getattr(fa, name + "_backward")
    np.testing.assert_allclose(bwd(g, x, scale=s, bias=b), xt.grad.numpy(), rtol=1e-12,
                               atol=1e-14)
    # the recipes of README "Fused pre-activation"
    gu = bwd(g, x * s + b)
    np.testing.assert_allclose(gu.sum(axis=0), bt.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose((gu * x).sum(axis=0), st.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bwd(g, x, bias=b).sum(axis=0),
                               torch.autograd.grad(fns[name](xt + bt), bt,
                                                   torch.tensor(g))[0].numpy(),
                               rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("name, params", DEFAULT_CASES)
def test_bad_shapes(name, params):
    x = _data((4, 5), np.float32)
    out = np.zeros_like(x)
    g = np.ones_like(x)
    for arg in ("scale", "bias"):
        for bad in (np.ones(4), np.ones((3, 5)), np.ones((2, 4, 5)), np.ones((4, 1, 5))):
            msg = rf"{name}\(\): {arg} has shape {re.escape(str(bad.shape))}.*x's shape \(4, 5\)"
            raises_untouched(ValueError, msg, lambda: forward(name, x, params, out=out, **{arg: bad}),
                       x, out)
            raises_untouched(ValueError, msg.replace(name, name + "_backward", 1),
                       lambda: backward(name, g, x, params, out=out, **{arg: bad}), x, g, out)


def test_growing_broadcast():
    with pytest.raises(ValueError, match=r"bias has shape \(2, 3\).*shape \(3,\)"):
        fa.gelu(np.ones(3, np.float32), bias=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"scale has shape \(1,\).*shape \(\)"):
        fa.gelu(np.float32(1.0), scale=np.ones(1))
    with pytest.raises(ValueError, match=r"bias has shape \(2,\).*y's shape \(3,\)"):
        fa.sigmoid_backward(np.ones(3), y=np.ones(3), bias=np.ones(2))


@pytest.mark.parametrize("bad", ["a", [1j], np.array([1 + 2j]), np.array([True]), True,
                                 np.array(["x"]), object(), np.array(["2020-01-01"],
                                                                      dtype="datetime64[D]")])
def test_bad_types(bad):
    x = np.ones(1, np.float32)
    out = np.zeros(1, np.float32)
    for arg in ("scale", "bias"):
        raises_untouched(TypeError, arg, lambda: fa.silu(x, out=out, **{arg: bad}), x, out)
        raises_untouched(TypeError, arg, lambda: fa.silu_backward(x, x, out=out, **{arg: bad}), x, out)


def test_bad_out_checked_too():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="out has shape"):
        fa.relu(x, bias=1.0, out=np.empty(3, np.float32))
    with pytest.raises(TypeError, match="out has dtype"):
        fa.relu(x, bias=1.0, out=np.empty((2, 3), np.float64))


def test_containers_refused():
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match="scale= and bias="):
        fa.gelu(pd.Series([1.0, 2.0]), bias=1.0)


def test_no_scale_no_bias_is_the_plain_call():
    x = _data((8, FEAT), np.float32)
    same_bits(fa.gelu(x, scale=None, bias=None), fa.gelu(x))
