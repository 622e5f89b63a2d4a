"""Large outputs written with non-temporal stores (README "Large outputs").

The streamed path must give the very bits of the ordinary one: every head
and tail split (out at each element offset from a cache line), both
dtypes, 1 and 2 threads, every instruction-set level, the ufuncs; calls
that overwrite an input and kernels that do not stream take the ordinary
path.  The threshold is lowered here so that small arrays stream.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastact as fa
from fastact import _dispatch, _fastact_pool
from fastact._spec import AXIS_OPS, AXIS_STREAM, BY_NAME, KERNEL_STREAM

from conftest import same_bits


@pytest.fixture
def stream_all():
    """every eligible call streams (threshold 1 byte) while the test runs"""
    old = _fastact_pool._set_stream_bytes(1)
    yield
    _fastact_pool._set_stream_bytes(old)


def _plain(fn):
    old = _fastact_pool._set_stream_bytes(0)
    try:
        return fn()
    finally:
        _fastact_pool._set_stream_bytes(old)


def _data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    x[::97] = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 6.0, -1.0])[np.arange(x[::97].size) % 7]
    return x


# (function, direction): a cheap forward, a cheap backward from x, the
# backward from y of an exp-class kernel (streams), an exp-class forward
# (does not)
CASES = [("relu6", "fwd"), ("hardshrink", "bx"), ("sigmoid", "by"), ("tanh", "fwd")]


def _call(name, direction, x, g, out):
    if direction == "fwd":
        return getattr(fa, name)(x, out=out)
    bw = getattr(fa, name + "_backward")
    if direction == "by":
        return bw(g, y=x, out=out)
    return bw(g, x, out=out)


@pytest.mark.parametrize("name,direction", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_bitwise_the_ordinary_path(stream_all, name, direction, dtype, threads):
    n = 20011 if threads == 1 else 200003      # the pool splits the second
    x = _data(n, dtype)
    g = _data(n, dtype, seed=1)
    line = 64 // np.dtype(dtype).itemsize
    with fa.num_threads(threads):
        for off in range(line + 1):
            for m in (n - off, 5, line - 1, 3 * line + 1):
                buf = np.full(n + line, 7.0, dtype)
                out = buf[off:off + m]
                got = _call(name, direction, x[:m], g[:m], out)
                assert got is out
                want = _plain(lambda: _call(name, direction, x[:m], g[:m], None))
                same_bits(got, want)
                # nothing written outside out
                assert np.all(buf[:off] == 7.0) and np.all(buf[off + m:] == 7.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_output_and_in_place(stream_all, dtype):
    x = _data(50000, dtype)
    want = _plain(lambda: fa.hard_tanh(x))
    same_bits(fa.hard_tanh(x), want)
    y = x.copy()
    same_bits(fa.hard_tanh(y, out=y), want)         # in place: the ordinary path
    g = _data(50000, dtype, seed=2)
    want = _plain(lambda: fa.relu_backward(g, y=np.abs(x)))
    gg = g.copy()
    same_bits(fa.relu_backward(gg, y=np.abs(x), out=gg), want)


def test_every_isa_level(stream_all):
    x = _data(30011, np.float32)
    g = _data(30011, np.float32, seed=3)
    for isa in _dispatch.supported_isas():
        with _dispatch.using(isa):
            for name, direction in CASES:
                got = _call(name, direction, x, g, np.empty_like(x))
                want = _plain(lambda: _call(name, direction, x, g, None))
                same_bits(got, want)


def test_ufunc_streams(stream_all):
    from fastact import ufunc
    x = _data(40000, np.float64)
    g = _data(40000, np.float64, seed=4)
    same_bits(ufunc.relu6(x), _plain(lambda: fa.relu6(x)))
    same_bits(ufunc.sigmoid_backward_y(g, x), _plain(lambda: fa.sigmoid_backward(g, y=x)))


def test_stream_directions_from_the_spec():
    # every direction of a cheap kernel, the backward from y of the others,
    # none for squareplus and the two whose backward from y is an expm1
    assert KERNEL_STREAM["relu"] == 0b111
    assert KERNEL_STREAM["sigmoid"] == 0b100
    assert KERNEL_STREAM["gelu"] == 0b100
    assert KERNEL_STREAM["squareplus"] == 0
    assert BY_NAME["squareplus"].stream == ()
    assert KERNEL_STREAM["log_sigmoid"] == KERNEL_STREAM["softplus"] == 0


@pytest.mark.skipif("FASTACT_STREAM_BYTES" in os.environ, reason="the setting comes from the "
                    "environment (a whole-suite run with streaming forced on)")
def test_threshold_setting():
    assert _fastact_pool._stream_bytes() == 16 << 20
    old = _fastact_pool._set_stream_bytes(123)
    try:
        assert old == 16 << 20 and _fastact_pool._stream_bytes() == 123
    finally:
        _fastact_pool._set_stream_bytes(old)


@pytest.mark.parametrize("value,expect", [("4096", "4096"), ("0", "0"), (" ", str(16 << 20))])
def test_environment_variable(value, expect):
    env = dict(os.environ, FASTACT_STREAM_BYTES=value)
    r = subprocess.run([sys.executable, "-c",
                        "from fastact import _fastact_pool as p; print(p._stream_bytes())"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expect


def test_environment_variable_bad_value():
    env = dict(os.environ, FASTACT_STREAM_BYTES="lots")
    r = subprocess.run([sys.executable, "-c", "import fastact"], env=env, capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert "FASTACT_STREAM_BYTES='lots'" in r.stderr and "integer number of bytes" in r.stderr


# ---------------------------------------------------------------- the softmax family
# the row ops of the spec's AXIS_STREAM (inner == 1) stream a row (or a
# group of short rows) at a time through a row buffer: short rows (groups),
# long rows, rows longer than the buffer (the ordinary stores, but softmax's
# backward from y: a block at a time, its first block up to a line of out);
# every direction is compared (the others take the ordinary path both ways)

AXIS_CASES = [("softmax", "fwd"), ("log_softmax", "fwd"), ("softmin", "fwd"),
              ("softmax", "bx"), ("softmax", "by"), ("softmin", "by"), ("log_softmax", "bx"),
              ("log_softmax", "by")]


def _axis_call(name, direction, x, g, out):
    if direction == "fwd":
        return getattr(fa, name)(x, axis=-1, out=out)
    bw = getattr(fa, name + "_backward")
    if direction == "by":
        return bw(g, y=x, axis=-1, out=out)
    return bw(g, x, axis=-1, out=out)


def _rows(shape, dtype, seed=0):
    x = _data(int(np.prod(shape)), dtype, seed).reshape(shape)
    x[1] = -np.inf                       # a row of -inf (the general row code)
    return x


@pytest.mark.parametrize("name,direction", AXIS_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_axis_rows_bitwise(stream_all, name, direction, dtype, threads):
    line = 64 // np.dtype(dtype).itemsize
    with fa.num_threads(threads):
        for rows, n in ((37, 64), (9, 1000), (5, 1500), (3, 5000), (2, 4099)):
            x = _rows((rows, n), dtype)
            g = _data(rows * n, dtype, seed=1).reshape(rows, n)
            if direction == "by":
                x = getattr(fa, name)(x, axis=-1)
            want = _plain(lambda: _axis_call(name, direction, x, g, None))
            for off in (0, 1, line - 1):
                buf = np.full(rows * n + line, 7.0, dtype)
                out = buf[off:off + rows * n].reshape(rows, n)
                got = _axis_call(name, direction, x, g, out)
                assert got is out
                same_bits(got, want)
                assert np.all(buf[:off] == 7.0) and np.all(buf[off + rows * n:] == 7.0)


def test_axis_stream_ops_from_the_spec():
    from fastact._axis import STREAM_ROW_BYTES
    assert AXIS_STREAM == {"softmax": ("float32",), "log_softmax": ("float32",),
                           "softmax_by": ("float32", "float64")}
    assert set(AXIS_STREAM) <= set(AXIS_OPS)
    assert STREAM_ROW_BYTES == 16384


def test_axis_in_place_and_columns(stream_all):
    x = _rows((40, 1000), np.float32)
    want = _plain(lambda: fa.softmax(x, axis=-1))
    y = x.copy()
    same_bits(fa.softmax(y, axis=-1, out=y), want)       # in place: the ordinary path
    same_bits(fa.log_softmax(x, axis=0), _plain(lambda: fa.log_softmax(x, axis=0)))


def test_axis_every_isa_level_and_ufunc(stream_all):
    from fastact import ufunc
    x = _rows((24, 700), np.float32)
    g = _data(x.size, np.float32, seed=5).reshape(x.shape)
    y = fa.softmax(x, axis=-1)
    for isa in _dispatch.supported_isas():
        with _dispatch.using(isa):
            same_bits(fa.softmax(x, axis=-1), _plain(lambda: fa.softmax(x, axis=-1)))
            same_bits(fa.softmax_backward(g, y=y, axis=-1),
                      _plain(lambda: fa.softmax_backward(g, y=y, axis=-1)))
    same_bits(ufunc.log_softmax(x), _plain(lambda: fa.log_softmax(x, axis=-1)))
