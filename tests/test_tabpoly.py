"""The table-driven float32 tanh and tanhshrink (include/fa_tabpoly_v16.h,
the avx512 level): every float32 input in windows around the places where
one interval's polynomial hands over to the next (the float bit patterns
with their low 21 bits zero: quarter and half binades), a strided sweep of
all float32 bit patterns, and the tiny range.  Within the ulp budget at
every level; at the avx512 level also monotone across each window and
tanh(x) = x below 2^-12 (tools/f32_exhaustive.py checks every input)."""

from __future__ import annotations

import numpy as np
import pytest

import fastact as fa
from fastact import _dispatch
from fastact import _reference as R
from fastact import _spec

from conftest import fmt_bad, ulp_errors

NAMES = ("tanh", "tanhshrink")
HALF = 256                       # floats each side of a join


def _joins():
    """float32 bit patterns (ascending, positive) of the interval starts,
    each with the HALF floats either side"""
    lo, hi = np.float32(2.0 ** -7).view(np.uint32), np.float32(10.0).view(np.uint32)
    starts = np.arange((int(lo) >> 21) << 21, int(hi), 1 << 21, dtype=np.int64)
    offsets = np.arange(-HALF, HALF, dtype=np.int64)
    return (starts[:, None] + offsets[None, :]).astype(np.uint32)


def _check(name, x, isa):
    with _dispatch.using(isa):
        y = getattr(fa, name)(x)
    ref = R.np_forward(name, x.astype(np.float64), {}, np.float32)
    err = ulp_errors(y, ref, np.zeros_like(ref), np.float32)
    budget = _spec.BY_NAME[name].ulp[0] + 0.01
    assert err.max() <= budget, fmt_bad(x, y, ref, err)
    return y


@pytest.mark.parametrize("isa", _dispatch.supported_isas())
@pytest.mark.parametrize("name", NAMES)
def test_joins(name, isa):
    bits = _joins()
    x = bits.view(np.float32)
    y = _check(name, x.ravel(), isa).reshape(x.shape)
    yn = _check(name, -x.ravel(), isa).reshape(x.shape)
    np.testing.assert_array_equal(yn, -y)                 # odd, bit for bit
    if isa == "avx512":
        assert (np.diff(y, axis=1) >= 0).all(), x[np.nonzero(np.diff(y, axis=1) < 0)]


@pytest.mark.parametrize("isa", _dispatch.supported_isas())
@pytest.mark.parametrize("name", NAMES)
def test_strided_sweep(name, isa):
    bits = np.arange(0, 1 << 32, 40_009, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    finite = np.isfinite(x)
    _check(name, x[finite], isa)
    with _dispatch.using(isa):
        y = getattr(fa, name)(x[~finite])
    np.testing.assert_array_equal(np.isnan(y), np.isnan(x[~finite]))


@pytest.mark.skipif("avx512" not in _dispatch.supported_isas(), reason="the avx512 level's kernel")
def test_tanh_tiny_is_identity():
    bits = np.arange(0, np.float32(2.0 ** -12).view(np.uint32), 997, dtype=np.uint32)
    x = np.concatenate([bits.view(np.float32), -bits.view(np.float32)])
    with _dispatch.using("avx512"):
        np.testing.assert_array_equal(fa.tanh(x), x)
