"""fastact.dask: lazy fastact over Dask arrays, along-axis functions over
axes split across chunks, threads per task, a real dask.distributed
cluster (marker `cluster`)."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import fastact as fa  # noqa: E402
import fastact.dask as fad  # noqa: E402
from fastact import _spec  # noqa: E402

try:
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError

FLOATS = (np.float32, np.float64)
SOFTMAX_KINDS = ("softmax", "log_softmax", "softmin")
GLU = ("glu", "swiglu", "geglu")


@pytest.fixture(autouse=True)
def _threaded_scheduler():
    with dask.config.set(scheduler="threads"):
        yield


# ------------------------------------------------------------------ data

def _special(dt, shape=(7, 23, 5), seed=0, scale=4.0):
    """Random data with special rows: -inf entries, an all -inf row, a
    block of -inf (a whole chunk of a row), NaN, +inf."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dt)
    x[0, 3, 1] = -np.inf
    x[1, :, 2] = -np.inf          # row of only -inf
    x[2, 5, 0] = np.nan
    x[3, 7, 4] = np.inf
    x[4, :10, 3] = -np.inf        # the first chunk of the row is all -inf
    x[5, 12, 1] = -np.inf
    return x


# uneven chunks on the axis and on the other axes, for each axis
CHUNKS = {0: ((3, 1, 3), 8, 2), 1: (3, (10, 1, 7, 5), 2), 2: (4, 9, (2, 1, 2))}


def _ulp_close(r, f, x, axis, kind):
    """The Dask result r is as accurate as fastact's f: special values
    (NaN, +-inf, exact 0) identical; elsewhere within 8 ulp plus the
    conditioning of exp(x - max) (|x - max| eps relative, the same for
    both)."""
    assert r.dtype == f.dtype and r.shape == f.shape
    sp = ~np.isfinite(f) | ((f == 0) & (kind != "log_softmax"))
    np.testing.assert_array_equal(r[sp], f[sp])
    eps = np.finfo(f.dtype).eps
    with np.errstate(all="ignore"):
        xs = -x if kind == "softmin" else x
        fin = np.where(np.isfinite(xs), xs, -np.inf)
        m = np.max(fin, axis=axis, keepdims=True)
        cond = np.nan_to_num(np.abs(xs - m), nan=0.0, posinf=0.0)
        diff = np.abs(r - f)
    ok = ~sp
    if kind == "log_softmax":
        tol = 4 * eps * np.maximum(np.abs(f), 1)
    else:
        # 8 ulp, plus the conditioning; subnormal results: 64 steps absolute
        tol = (8 * np.spacing(np.abs(f)) + (2 * eps * cond) * np.abs(f)
               + 64 * float(np.finfo(f.dtype).smallest_subnormal))
    bad = diff[ok] > tol[ok]
    assert not bad.any(), (diff[ok][bad][:5], f[ok][bad][:5])


# ------------------------------------------------------- along the axis

@pytest.mark.parametrize("dt", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("kind", SOFTMAX_KINDS)
def test_softmax_family_chunked_axis(kind, axis, dt):
    x = _special(dt)
    ax = axis % 3
    d = da.from_array(x, chunks=CHUNKS[ax])
    assert len(d.chunks[ax]) > 1
    r = getattr(fad, kind)(d, axis=axis)
    assert isinstance(r, da.Array) and r.dtype == dt and r.chunks == d.chunks
    _ulp_close(r.compute(), getattr(fa, kind)(x, axis=axis), x, ax, kind)


@pytest.mark.parametrize("dt", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("scale", [1.0, 30.0, 300.0])
@pytest.mark.parametrize("kind", SOFTMAX_KINDS)
def test_softmax_family_accuracy_long_rows(kind, scale, dt):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((6, 3000, 3)) * scale).astype(dt)
    d = da.from_array(x, chunks=(4, (1000, 7, 1500, 493), 2))
    _ulp_close(getattr(fad, kind)(d, axis=1).compute(), getattr(fa, kind)(x, axis=1), x, 1,
               kind)


def test_no_task_holds_a_whole_row():
    """The axis is never gathered into one chunk: no task of the graph makes
    an array larger than one block of x (a row here has 10 blocks)."""
    from dask.callbacks import Callback

    d = da.random.default_rng(2).standard_normal((4, 1000), chunks=(2, 100),
                                                  dtype=np.float32)
    x = d.compute()
    sizes = []

    class Sizes(Callback):
        def _posttask(self, key, result, dsk, state, id):
            name = key[0] if isinstance(key, tuple) else key
            # the finalize task gathers the computed result for compute()
            if isinstance(result, np.ndarray) and not str(name).startswith("finalize"):
                sizes.append(result.size)

    for kind in SOFTMAX_KINDS:
        with Sizes():
            r = getattr(fad, kind)(d, axis=1).compute(scheduler="synchronous")
        assert r.shape == x.shape
    with Sizes():
        fad.softmax_backward(d, d, axis=1).compute(scheduler="synchronous")
        fad.logsumexp(d, axis=1).compute(scheduler="synchronous")
    assert sizes and max(sizes) <= 200
    p = fad.softmax(d, axis=1)
    assert p.chunks == d.chunks
    np.testing.assert_allclose(p.sum(axis=1).compute(), 1, rtol=1e-5)


@pytest.mark.parametrize("dt", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_logsumexp_chunked(axis, dt):
    x = _special(dt)
    ax = axis % 3
    d = da.from_array(x, chunks=CHUNKS[ax])
    r = fad.logsumexp(d, axis=axis)
    assert r.dtype == dt and r.shape == fa.logsumexp(x, axis=axis).shape
    f = fa.logsumexp(x, axis=axis)
    rr = r.compute()
    sp = ~np.isfinite(f)
    np.testing.assert_array_equal(rr[sp], f[sp])
    tol = 4 * np.finfo(dt).eps * np.maximum(np.abs(f[~sp]), 1)
    assert (np.abs(rr[~sp] - f[~sp]) <= tol).all()


def test_logsumexp_special_rows():
    x = np.array([[-np.inf] * 6, [1, 2, 3, np.inf, 4, 5], [1, np.nan, 2, 3, 4, 5],
                  [-np.inf, -np.inf, -np.inf, 0, -np.inf, -np.inf]])
    d = da.from_array(x, chunks=(1, 2))
    np.testing.assert_array_equal(fad.logsumexp(d, axis=1).compute(),
                                  [-np.inf, np.inf, np.nan, 0.0])
    np.testing.assert_array_equal(fad.softmax(d, axis=1).compute()[3],
                                  [0, 0, 0, 1, 0, 0])
    assert np.isnan(fad.softmax(d, axis=1).compute()[:3]).all()


@pytest.mark.parametrize("dt", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("kind", SOFTMAX_KINDS)
@pytest.mark.parametrize("from_y", [False, True], ids=["x", "y"])
def test_softmax_family_backward_chunked(kind, axis, dt, from_y):
    x = _special(dt)
    ax = axis % 3
    g = np.random.default_rng(3).standard_normal(x.shape).astype(dt)
    d = da.from_array(x, chunks=CHUNKS[ax])
    gd = da.from_array(g, chunks=(2, 6, 3))     # other chunks than x
    bwd_d, bwd = getattr(fad, kind + "_backward"), getattr(fa, kind + "_backward")
    if from_y:
        y = getattr(fa, kind)(x, axis=axis)
        r = bwd_d(gd, y=da.from_array(y, chunks=CHUNKS[ax]), axis=axis)
        f = bwd(g, y=y, axis=axis)
    else:
        r = bwd_d(gd, d, axis=axis)
        f = bwd(g, x, axis=axis)
    assert r.dtype == dt
    rr = r.compute()
    np.testing.assert_array_equal(np.isnan(rr), np.isnan(f))
    tol = 1e-4 if dt == np.float32 else 1e-11
    np.testing.assert_allclose(rr, f, rtol=tol, atol=tol, equal_nan=True)


@pytest.mark.parametrize("dt", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_logsumexp_backward_chunked(axis, dt):
    x = _special(dt)
    ax = axis % 3
    g = np.random.default_rng(4).standard_normal(fa.logsumexp(x, axis=axis).shape).astype(dt)
    d = da.from_array(x, chunks=CHUNKS[ax])
    r = fad.logsumexp_backward(da.from_array(g, chunks=2), d, axis=axis).compute()
    f = fa.logsumexp_backward(g, x, axis=axis)
    np.testing.assert_array_equal(np.isnan(r), np.isnan(f))
    np.testing.assert_allclose(r, f, rtol=32 * np.finfo(dt).eps, atol=1e-30, equal_nan=True)


@pytest.mark.parametrize("dt", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("name", GLU)
def test_glu_family_chunked(name, axis, dt):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((6, 22, 4)) * 3).astype(dt)
    x[0, 0, 0], x[1, 1, 1], x[2, 2, 2] = np.nan, np.inf, -np.inf
    ax = axis % 3
    chunks = {0: ((1, 4, 1), 9, 3), 1: (4, (5, 9, 8), 3), 2: (4, 9, (3, 1))}[ax]
    d = da.from_array(x, chunks=chunks)
    f = getattr(fa, name)(x, axis=axis)
    r = getattr(fad, name)(d, axis=axis)
    assert r.shape == f.shape and r.dtype == dt
    np.testing.assert_array_equal(r.compute(), f)          # fastact's own, bit for bit
    g = rng.standard_normal(f.shape).astype(dt)
    rb = getattr(fad, name + "_backward")(da.from_array(g, chunks=3), d, axis=axis)
    assert rb.shape == x.shape
    np.testing.assert_array_equal(rb.compute(), getattr(fa, name + "_backward")(g, x, axis=axis))


def test_geglu_tanh_and_one_chunk_paths():
    x = np.random.default_rng(6).standard_normal((5, 8)).astype(np.float32)
    d1 = da.from_array(x, chunks=(2, -1))
    d3 = da.from_array(x, chunks=(2, 3))
    for d in (d1, d3):
        np.testing.assert_array_equal(fad.geglu(d, approximate="tanh").compute(),
                                      fa.geglu(x, approximate="tanh"))
        for kind in SOFTMAX_KINDS:
            assert getattr(fad, kind)(d).compute().shape == x.shape
    # one chunk along the axis: a plain map_blocks of the fastact function
    np.testing.assert_array_equal(fad.softmax(d1).compute(), fa.softmax(x))
    np.testing.assert_array_equal(fad.logsumexp(d1).compute(), fa.logsumexp(x))


def test_maxout_sparsemax_jacobian():
    x = np.random.default_rng(7).standard_normal((4, 12)).astype(np.float64)
    d = da.from_array(x, chunks=(3, (6, 3, 3)))
    np.testing.assert_array_equal(fad.maxout(d, 3).compute(), fa.maxout(x, 3))
    g = np.ones((4, 4))
    np.testing.assert_array_equal(fad.maxout_backward(da.from_array(g, chunks=1), d, 3)
                                  .compute(), fa.maxout_backward(g, x, 3))
    d1 = d.rechunk({1: -1})
    np.testing.assert_array_equal(fad.sparsemax(d1).compute(), fa.sparsemax(x))
    np.testing.assert_array_equal(fad.sparsemax_backward(da.from_array(x, chunks=2), d1)
                                  .compute(), fa.sparsemax_backward(x, x))
    np.testing.assert_array_equal(fad.softmax_jacobian(d1, axis=1).compute(),
                                  fa.softmax_jacobian(x, axis=1))
    np.testing.assert_array_equal(fad.softmax_jacobian(d1.T.rechunk({0: -1}), axis=0)
                                  .compute(), fa.softmax_jacobian(x.T, axis=0))


# ---------------------------------------------------------- elementwise

ELEMENTWISE = [s for s in _spec.SPECS if s.kind == "elementwise"]
PARAMS = {"threshold": {"threshold": 0.5, "value": -2.0}, "leaky_relu": {"negative_slope": 0.2},
          "gelu": {"approximate": "tanh"}, "softplus": {"beta": 2.0, "threshold": 10.0}}


@pytest.mark.parametrize("dt", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("spec", ELEMENTWISE, ids=lambda s: s.name)
def test_elementwise(spec, dt):
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((9, 13)) * 5).astype(dt)
    x[0, :4] = [np.nan, np.inf, -np.inf, 0.0]
    g = rng.standard_normal(x.shape).astype(dt)
    p = PARAMS.get(spec.name, {})
    d = da.from_array(x, chunks=((4, 5), (6, 7)))
    gd = da.from_array(g, chunks=5)
    r = getattr(fad, spec.name)(d, **p)
    assert isinstance(r, da.Array) and r.dtype == dt and r.chunks == d.chunks
    np.testing.assert_array_equal(r.compute(), getattr(fa, spec.name)(x, **p))
    rb = getattr(fad, spec.name + "_backward")(gd, d, **p)
    np.testing.assert_array_equal(rb.compute(), getattr(fa, spec.name + "_backward")(g, x, **p))
    if spec.y_form_ok(p):
        y = getattr(fa, spec.name)(x, **p)
        ry = getattr(fad, spec.name + "_backward")(gd, y=da.from_array(y, chunks=4), **p)
        np.testing.assert_array_equal(ry.compute(),
                                      getattr(fa, spec.name + "_backward")(g, y=y, **p))


def test_elementwise_dtypes_and_numpy_input():
    for dt, res in ((np.float16, np.float16), (np.int32, np.float64), (np.bool_, np.float64)):
        d = da.ones((4,), dtype=dt, chunks=2)
        assert fad.sigmoid(d).dtype == res and fad.sigmoid(d).compute().dtype == res
    r = fad.relu(np.array([-1.0, 2.0]))
    assert isinstance(r, da.Array)
    np.testing.assert_array_equal(r.compute(), [0.0, 2.0])
    assert fad.softmax(da.ones((3, 4), dtype=np.float16, chunks=2)).compute().dtype == np.float16


def test_generated_names():
    for s in ELEMENTWISE:
        f = getattr(fad, s.name)
        assert f.__name__ == s.name and s.name in fad.__all__
        assert s.name in f.__doc__ and getattr(fad, s.name + "_backward").__doc__


# ------------------------------------------------------------ bad input

def test_axis_out_of_range():
    d = da.ones((3, 4), chunks=2)
    for name in ("softmax", "log_softmax", "softmin", "logsumexp", "glu", "sparsemax",
                 "softmax_jacobian"):
        with pytest.raises(AxisError):
            getattr(fad, name)(d, axis=2)
        with pytest.raises(AxisError):
            getattr(fad, name)(d, axis=-3)
    with pytest.raises(AxisError):
        fad.softmax_backward(d, d, axis=5)
    with pytest.raises(AxisError):
        fad.maxout(d, 2, axis=9)
    with pytest.raises(TypeError):
        fad.softmax(d, axis=1.0)


def test_cannot_split_errors_name_axis_and_fix():
    d = da.ones((4, 12), chunks=(2, 5))
    for call in (lambda: fad.sparsemax(d, axis=1),
                 lambda: fad.sparsemax_backward(d, d, axis=-1),
                 lambda: fad.softmax_jacobian(d, axis=1)):
        with pytest.raises(ValueError, match=r"axis 1 .*split.*rechunk\(\{1: -1\}\)"):
            call()
    with pytest.raises(ValueError, match=r"axis 1 .*multiples of pieces=3.*rechunk\(\{1: -1\}\)"):
        fad.maxout(d, 3, axis=1)
    with pytest.raises(ValueError, match=r"axis 0 .*split.*rechunk\(\{0: -1\}\)"):
        fad.sparsemax(d, axis=0)


def test_other_errors():
    d = da.ones((3, 5), chunks=2)
    with pytest.raises(ValueError, match="odd length 5 along axis 1"):
        fad.glu(d)
    with pytest.raises(ValueError, match="approximate"):
        fad.geglu(da.ones((2, 4), chunks=2), approximate="fast")
    with pytest.raises(TypeError, match="complex"):
        fad.sigmoid(da.ones(3, dtype=np.complex64, chunks=2))
    with pytest.raises(TypeError, match="complex"):
        fad.softmax(da.ones(3, dtype=np.complex64, chunks=2))
    with pytest.raises(ValueError):
        fad.celu(d, alpha=0.0)
    with pytest.raises(TypeError):
        fad.threshold(d)                      # required parameters
    with pytest.raises(ValueError, match="shape"):
        fad.sigmoid_backward(da.ones((3, 4), chunks=2), d)
    with pytest.raises(TypeError, match="exactly one of x and y"):
        fad.softmax_backward(d, d, y=d)
    with pytest.raises(TypeError, match="exactly one of x and y"):
        fad.sigmoid_backward(d)
    with pytest.raises(TypeError, match="y="):
        fad.gelu_backward(d, y=d)
    with pytest.raises(ValueError, match="0-d"):
        fad.softmax(da.ones((), chunks=()))
    with pytest.raises(ValueError, match="threads"):
        fad.sigmoid(d, threads=0)
    with pytest.raises(TypeError, match="threads"):
        fad.softmax(d, threads=1.5)


# ------------------------------------------------------- nothing eager

_CALLS = []


def _source_block(i, shape):
    _CALLS.append(i)
    return np.full(shape, float(i))


def _lazy_input(shape=(4, 12), pieces=3):
    """A Dask array whose blocks come from calls counted in _CALLS; split
    along axis 1 (in `pieces` chunks) and along axis 0."""
    w = shape[1] // pieces
    cols = [da.from_delayed(dask.delayed(_source_block)(i, (shape[0], w)), (shape[0], w),
                            dtype=np.float64) for i in range(pieces)]
    return da.concatenate(cols, axis=1).rechunk({0: 2})


def test_nothing_is_computed_when_building():
    _CALLS.clear()
    x = _lazy_input()
    g = _lazy_input()
    gr = _lazy_input((4, 12))[:, 0]
    gh = _lazy_input((4, 6), pieces=2)
    built = [getattr(fad, s.name)(x, **PARAMS.get(s.name, {})) for s in ELEMENTWISE]
    built += [getattr(fad, s.name + "_backward")(g, x, **PARAMS.get(s.name, {}))
              for s in ELEMENTWISE]
    for kind in SOFTMAX_KINDS:
        built += [getattr(fad, kind)(x, axis=a) for a in (0, 1)]
        built += [getattr(fad, kind + "_backward")(g, x, axis=1),
                  getattr(fad, kind + "_backward")(g, y=x, axis=1)]
    built += [fad.logsumexp(x, axis=1), fad.logsumexp_backward(gr, x, axis=1)]
    for name in GLU:
        built += [getattr(fad, name)(x, axis=1), getattr(fad, name + "_backward")(gh, x, axis=1)]
    built += [fad.maxout(x, 2, axis=1), fad.sigmoid(x).sum(), fad.softmax(x).mean(axis=1)]
    assert all(isinstance(b, da.Array) for b in built)
    assert _CALLS == []
    # the counter works: computing reads the blocks
    fad.softmax(x, axis=1).compute()
    assert sorted(set(_CALLS)) == [0, 1, 2]


def test_input_that_raises_is_never_computed():
    def boom():
        raise RuntimeError("materialised")
    x = da.concatenate([da.from_delayed(dask.delayed(boom)(), (3, 4), dtype=np.float32)] * 3,
                       axis=1)
    r = [fad.softmax(x), fad.log_softmax(x), fad.logsumexp(x), fad.glu(x), fad.gelu(x),
         fad.softmax_backward(x, x), fad.swiglu_backward(x[:, :6], x)]
    with pytest.raises(RuntimeError, match="materialised"):
        r[0].compute()


def test_importing_fastact_does_not_import_dask():
    code = "import sys, fastact\nassert not any(m == 'dask' or m.startswith('dask.') " \
           "for m in sys.modules)\n"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------- threads

def _probe(block):
    return np.full(block.shape, fa.get_num_threads(), dtype=np.int64)


def test_threads_per_task_threaded_scheduler():
    before = fa.get_num_threads()
    d = da.ones((8, 4), chunks=(1, 4))
    auto = d.map_blocks(fad._Call(_probe, None), dtype=np.int64).compute(scheduler="threads")
    assert (auto == 1).all()
    two = d.map_blocks(fad._Call(_probe, 2), dtype=np.int64).compute(scheduler="threads")
    assert (two == 2).all()
    assert fa.get_num_threads() == before
    # the synchronous scheduler runs in this thread: the setting is kept
    sync = d.map_blocks(fad._Call(_probe, None), dtype=np.int64).compute(
        scheduler="synchronous")
    assert (sync == before).all()
    assert fad.task_threads(None) is None and fad.task_threads(3) == 3
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("n", fad.task_threads(None)))
    t.start()
    t.join()
    assert out["n"] == 1


def test_threads_results_unchanged():
    x = np.random.default_rng(9).standard_normal((64, 4096)).astype(np.float32)
    d = da.from_array(x, chunks=(16, 1024))
    a = fad.softmax(d, threads=2).compute()
    b = fad.softmax(d).compute(scheduler="synchronous")
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------- dask.distributed cluster

@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.mark.cluster
@pytest.mark.parametrize("dt", FLOATS, ids=lambda d: d.__name__)
def test_cluster_along_axis(client, dt):
    x = _special(dt, shape=(9, 40, 5), seed=10)
    d = da.from_array(x, chunks=(4, (13, 1, 20, 6), (2, 3)))
    g = np.random.default_rng(11).standard_normal(x.shape).astype(dt)
    gd = da.from_array(g, chunks=(3, 7, 3))
    outs = client.compute([fad.softmax(d, axis=1), fad.log_softmax(d, axis=1),
                           fad.softmin(d, axis=1), fad.logsumexp(d, axis=1),
                           fad.softmax_backward(gd, d, axis=1), fad.swiglu(d, axis=1),
                           fad.gelu(d), fad.sigmoid(d).sum()], sync=True)
    for kind, r in zip(SOFTMAX_KINDS, outs[:3]):
        _ulp_close(r, getattr(fa, kind)(x, axis=1), x, 1, kind)
    f = fa.logsumexp(x, axis=1)
    np.testing.assert_allclose(outs[3], f, rtol=4 * np.finfo(dt).eps, equal_nan=True)
    tol = 1e-4 if dt == np.float32 else 1e-11
    np.testing.assert_allclose(outs[4], fa.softmax_backward(g, x, axis=1), rtol=tol,
                               atol=tol, equal_nan=True)
    np.testing.assert_array_equal(outs[5], fa.swiglu(x, axis=1))
    np.testing.assert_array_equal(outs[6], fa.gelu(x))
    np.testing.assert_allclose(outs[7], fa.sigmoid(x).sum(dtype=np.float64), rtol=1e-5)


@pytest.mark.cluster
def test_cluster_threads_per_worker(client):
    # distributed starts workers with OMP_NUM_THREADS=1, which fastact
    # honours; one task thread per worker: fastact uses 1 thread a task
    n = client.submit(fad.task_threads, None, pure=False).result()
    assert n == 1
    d = da.ones((4, 4), chunks=(1, 4))
    r = client.compute(d.map_blocks(fad._Call(_probe, None), dtype=np.int64), sync=True)
    assert (r == 1).all()
    r = client.compute(d.map_blocks(fad._Call(_probe, 2), dtype=np.int64), sync=True)
    assert (r == 2).all()
