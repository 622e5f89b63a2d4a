"""fastact over Dask arrays: lazy, chunk by chunk, on any Dask scheduler.

    import dask.array as da
    import fastact.dask as fad

    x = da.random.default_rng(0).standard_normal((20_000, 100_000),
                                                  chunks=(1_000, 25_000))
    p = fad.softmax(x, axis=-1)        # lazy; axis -1 is split in 4 chunks
    s = fad.sigmoid(x).sum()           # lazy
    s.compute()

Every function returns a Dask array and computes nothing: the graph is
built from the input's chunks and shapes only (bad dtypes, parameters and
axes are found by calling fastact on a one-element array of the input's
dtype, never on the data).

Elementwise functions (``sigmoid``, ``gelu``, ... and their ``_backward``)
are ``map_blocks`` of the fastact function, any chunking.

The along-axis family handles an axis split across chunks without ever
gathering the axis into one chunk:

* ``softmax``/``softmin``/``log_softmax``: fastact's function on every
  block, then per block and row the block's max ``m_b`` and a quantity from
  which fastact's own normaliser is recovered exactly (the largest entry of
  the block's softmax is ``1 / s_b``, of its log_softmax ``-log s_b``); the
  rows' global max ``M`` and sum ``S = sum_b s_b exp(m_b - M)`` (float64),
  then each block rescaled: ``y_b * s_b exp(m_b - M) / S`` (softmax) or
  ``y_b + (m_b - M) + (log s_b - log S)`` (log_softmax).  Blocks of a row
  that are all ``-inf`` give 0 (``-inf``); a row that is all ``-inf``, or
  holds ``+inf`` or NaN, is NaN, as fastact.
* ``logsumexp``: ``da.reduction`` with fastact's logsumexp per block and
  again over the blocks' results (in float64): exact special cases (all
  ``-inf`` gives ``-inf``, ``+inf`` gives ``+inf``, NaN gives NaN).
* the backward functions: the row sums they need (``sum(g * y)``,
  ``sum(g)``) are Dask reductions (per block, then combined), then a
  blockwise update.
* ``glu``/``swiglu``/``geglu``: the two halves of the axis are sliced
  lazily, the second rechunked to the first's chunks along the axis when
  they differ, and fastact's own function runs on each pair of blocks (so
  the results are fastact's, bit for bit).
* ``maxout``: blockwise when every chunk along the axis is a multiple of
  ``pieces``; ``sparsemax`` and ``softmax_jacobian``: need the axis in one
  chunk.  Otherwise a ``ValueError`` names the axis and the rechunk to do.

When the axis is in one chunk every function is just ``map_blocks`` of the
fastact function.

Threads: every task runs fastact with ``threads`` threads.  The default
(``threads=None``) decides inside the task: on a ``dask.distributed``
worker, fastact's setting in that worker process divided by the worker's
thread count (distributed starts its worker processes with
``OMP_NUM_THREADS=1``, which fastact honours, so 1 by default); in a
thread of the threaded scheduler (or any other thread pool) or a process of
the processes scheduler, 1; in the synchronous scheduler (the calling
thread) fastact's setting unchanged.  Pass ``threads=n`` to choose.
fastact's setting is process-wide: while tasks run it is set for them and
put back when the last one ends.
"""

from __future__ import annotations

import functools
import multiprocessing
import sys
import threading

import numpy as np

import fastact as fa
from fastact import _spec
from fastact._axis_api import _axis_index
from fastact._threads import check_count

try:
    import dask.array as da
except ImportError as _e:  # pragma: no cover - exercised without dask only
    raise ImportError("fastact.dask needs Dask: pip install 'fastact[dask]' "
                      "(which installs dask[array])") from _e

__all__ = [
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "softmin", "softmin_backward", "logsumexp", "logsumexp_backward",
    "glu", "glu_backward", "swiglu", "swiglu_backward", "geglu", "geglu_backward",
    "maxout", "maxout_backward", "sparsemax", "sparsemax_backward", "softmax_jacobian",
    "task_threads",
]

_F8 = np.dtype(np.float64)


# ---------------------------------------------------------------- threads

class _ThreadState:
    """fastact's (process-wide) thread setting while fastact.dask tasks run
    in this process: set for the tasks, put back when the last one ends."""

    lock = threading.Lock()
    active = 0
    saved = 1


def _check_threads(fname: str, threads):
    """None (the default rule), or a thread count (fastact._threads.check_count)."""
    if threads is None:
        return None
    return check_count(threads, f"fastact.dask.{fname}()", "threads")


def _dask_worker_threads():
    """The thread count of the dask.distributed worker running this task,
    or None outside a worker."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import get_worker
        w = get_worker()
    except (ImportError, ValueError):
        return None
    state = getattr(w, "state", None)
    n = getattr(state, "nthreads", None) or getattr(w, "nthreads", None)
    return int(n) if n else 1


def task_threads(threads=None):
    """The number of threads fastact uses in a fastact.dask task running
    here and now, for the task option `threads` (None: automatic; see the
    module docstring), or None where the setting is left as it is."""
    if threads is not None:
        return int(threads)
    with _ThreadState.lock:
        base = _ThreadState.saved if _ThreadState.active else fa.get_num_threads()
    nw = _dask_worker_threads()
    if nw is not None:
        return max(1, base // nw)
    if threading.current_thread() is not threading.main_thread():
        return 1
    if multiprocessing.parent_process() is not None:
        return 1
    return None


class _threads_for_task:
    def __init__(self, threads):
        self.n = task_threads(threads)

    def __enter__(self):
        if self.n is None:
            return
        with _ThreadState.lock:
            cur = fa.get_num_threads()
            if _ThreadState.active == 0:
                _ThreadState.saved = cur
            _ThreadState.active += 1
            if cur != self.n:
                fa.set_num_threads(self.n)

    def __exit__(self, *exc):
        if self.n is None:
            return
        with _ThreadState.lock:
            _ThreadState.active -= 1
            if _ThreadState.active == 0 and fa.get_num_threads() != _ThreadState.saved:
                fa.set_num_threads(_ThreadState.saved)


class _Call:
    """A task: fn(*blocks, **kw) with fastact's threads set for the task.
    Picklable (fn is a fastact function or a function of this module)."""

    def __init__(self, fn, threads, **kw):
        self.fn = fn
        self.threads = threads
        self.kw = kw
        self.__name__ = "fastact-" + getattr(fn, "__name__", "task").lstrip("_")

    def __call__(self, *blocks):
        with _threads_for_task(self.threads):
            return self.fn(*blocks, **self.kw)

    def __dask_tokenize__(self):
        return ("fastact.dask._Call", self.fn, self.threads,
                sorted(self.kw.items(), key=lambda kv: kv[0]))

    def __repr__(self):
        return f"<{self.__name__} threads={self.threads} {self.kw}>"


# -------------------------------------------------------------- arguments

def _as_dask(x):
    if isinstance(x, da.Array):
        return x
    return da.asarray(x)


def _like(a, ref):
    """a with ref's chunks (a lazy rechunk where they differ)."""
    return a if a.chunks == ref.chunks else a.rechunk(ref.chunks)


def _meta(ndim: int, dtype) -> np.ndarray:
    return np.empty((0,) * ndim, dtype=dtype)


def _comp(res: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if res == np.float16 else res


def _axis_input(fname: str, x, axis):
    d = _as_dask(x)
    if d.ndim == 0:
        raise ValueError(f"fastact.dask.{fname}(): x must have at least one dimension (the "
                         f"along-axis functions need ndim >= 1), got a 0-d input")
    ax = _axis_index(f"fastact.dask.{fname}", axis, d.ndim)
    return d, ax


def _x_or_y(fname: str, x, y):
    if (x is None) == (y is None):
        raise TypeError(f"fastact.dask.{fname}(): pass exactly one of x and y= (the forward "
                        f"output), got {'both' if x is not None else 'neither'}")
    return (y, True) if x is None else (x, False)


def _same_shape(fname, g, v, what):
    if g.shape != v.shape and not (any(map(np.isnan, g.shape)) or
                                   any(map(np.isnan, v.shape))):
        raise ValueError(f"fastact.dask.{fname}(): grad_output has shape {g.shape} but {what} "
                         f"has shape {v.shape}; they must be equal (no broadcasting)")


def _known_axis(fname, d, ax):
    if any(np.isnan(c) for c in d.chunks[ax]):
        raise ValueError(f"fastact.dask.{fname}(): the chunk sizes of x along axis {ax} are "
                         f"unknown; call x.compute_chunk_sizes() first")


def _index(ndim: int) -> str:
    return "".join(chr(ord("a") + i) for i in range(ndim))


def _take(a, ax, i):
    """a[..., i, ...] on axis ax, keepdims (i an int or a slice)."""
    idx = [slice(None)] * a.ndim
    idx[ax] = slice(i, i + 1) if isinstance(i, int) else i
    return a[tuple(idx)]


def _whole_axis_error(fname, d, ax, why):
    return ValueError(
        f"fastact.dask.{fname}(): axis {ax} of x is split across {len(d.chunks[ax])} chunks "
        f"(chunks {d.chunks[ax]}); {fname} {why}, so it cannot be computed across chunks. "
        f"Rechunk that axis to one chunk first: x.rechunk({{{ax}: -1}})")


# ------------------------------------------------------------ elementwise

def _make_elementwise(spec):
    name = spec.name
    fwd = getattr(fa, name)
    bwd = getattr(fa, name + "_backward")
    pnames = [p.name for p in spec.params]
    psig = "".join(f", {p.name}" + ("" if p.required else f"={p.default!r}")
                   for p in spec.params)

    def forward(x, *, threads=None, **params):
        threads = _check_threads(name, threads)
        d = _as_dask(x)
        res = np.asarray(fwd(np.zeros(1, d.dtype), **params)).dtype  # checks dtype, params
        return d.map_blocks(_Call(fwd, threads, **params), dtype=res, meta=_meta(d.ndim, res))

    def backward(grad_output, x=None, *, y=None, threads=None, **params):
        fname = name + "_backward"
        threads = _check_threads(fname, threads)
        if y is not None and not spec.grad_from_output:
            raise TypeError(f"fastact.dask.{fname}(): y= is not accepted ({name}'s gradient "
                            f"is computed from x)")
        v, from_y = _x_or_y(fname, x, y)
        g, v = _as_dask(grad_output), _as_dask(v)
        _same_shape(fname, g, v, "y" if from_y else "x")
        z = (np.zeros(1, g.dtype), np.zeros(1, v.dtype))
        kw = dict(params)
        if from_y:
            res = np.asarray(bwd(z[0], y=z[1], **params)).dtype
            fn = functools.partial(_grad_from_y, bwd)
        else:
            res = np.asarray(bwd(*z, **params)).dtype
            fn = bwd
        return da.map_blocks(_Call(fn, threads, **kw), _like(g, v), v, dtype=res,
                             meta=_meta(v.ndim, res))

    forward.__name__ = forward.__qualname__ = name
    backward.__name__ = backward.__qualname__ = name + "_backward"
    forward.__doc__ = (
        f"{name}(x, *{psig}, threads=None)\n\n"
        f"fastact.{name} on every block of the Dask array x (lazy; chunks and dtype "
        f"kept).\n{spec.formula}.  `threads`: fastact's threads per task (None: "
        f"automatic, see fastact.dask).")
    backward.__doc__ = (
        f"{name}_backward(grad_output, x{', *, y=None' if spec.grad_from_output else ''}"
        f"{psig}, threads=None)\n\n"
        f"fastact.{name}_backward blockwise over Dask arrays of equal shape (lazy).")
    return forward, backward, pnames


def _grad_from_y(bwd, g, y, **params):
    return bwd(g, y=y, **params)


for _s in _spec.SPECS:
    if _s.kind != "elementwise":
        continue
    _f, _b, _ = _make_elementwise(_s)
    globals()[_s.name] = _f
    globals()[_s.name + "_backward"] = _b
    __all__ += [_s.name, _s.name + "_backward"]
del _s, _f, _b


# --------------------------------------------------------- softmax family
#
# Per block b and row: m_b (the block's max; of -x for softmin) and q_b,
# the largest entry of fastact's result on the block: 1/s_b for softmax
# (exp(0)/s_b at the max), -log(s_b) for log_softmax.  From those, in
# float64: M = max_b m_b and S = sum_b s_b exp(m_b - M).

def _block_stats(xb, yb, axis, neg):
    shp = list(xb.shape)
    shp[axis] = 1
    if xb.shape[axis] == 0:
        m = np.full(shp, -np.inf)
        q = np.full(shp, np.nan)
    else:
        m = -np.min(xb, axis=axis, keepdims=True) if neg else np.max(xb, axis=axis,
                                                                     keepdims=True)
        q = np.max(yb, axis=axis, keepdims=True)
    return np.concatenate([m.astype(_F8), q.astype(_F8)], axis=axis)


def _block_sums(q, log):
    return np.exp(-q) if log else 1.0 / q


def _combine_stats(st, axis, log):
    m = _take(st, axis, slice(0, None, 2))
    s = _block_sums(_take(st, axis, slice(1, None, 2)), log)
    with np.errstate(all="ignore"):
        M = np.max(m, axis=axis, keepdims=True)
        terms = np.where(m == -np.inf, 0.0, np.exp(m - M) * s)
        S = np.sum(terms, axis=axis, keepdims=True)
    return np.concatenate([M, S], axis=axis)


def _finish_softmax(yb, st, glob, axis, log, comp):
    m, q = _take(st, axis, 0), _take(st, axis, 1)
    M, S = _take(glob, axis, 0), _take(glob, axis, 1)
    with np.errstate(all="ignore"):
        finite = np.isfinite(M)
        dead = (m == -np.inf) & finite
        if log:
            # y_b = (x - m) - L_b, L_b = -q: y = y_b + (m - M) + (L_b - log S)
            k = np.where(finite, (m - M) + (-q - np.log(S)), np.nan)
        else:
            k = np.where(finite, np.exp(m - M) / (q * S), np.nan)
        k = k.astype(comp)
        out = yb.astype(comp, copy=True)
        if log:
            out += k
        else:
            out *= k
        if dead.any():
            np.copyto(out, -np.inf if log else 0, where=np.broadcast_to(dead, out.shape))
    return out.astype(yb.dtype, copy=False)


def _softmax_parts(fname, kind, d, ax, threads):
    """(y, glob): y the Dask result of fastact.<kind> along ax; glob the
    rows' (M, S) (2 along ax, float64), or None when ax is in one chunk."""
    fn = getattr(fa, kind)
    res = np.asarray(fn(np.zeros(1, d.dtype))).dtype
    yb = d.map_blocks(_Call(fn, threads, axis=ax), dtype=res, meta=_meta(d.ndim, res))
    if len(d.chunks[ax]) <= 1:
        return yb, None
    log = kind == "log_softmax"
    st_chunks = tuple((2,) * len(c) if i == ax else c for i, c in enumerate(d.chunks))
    st = da.map_blocks(_block_stats, d, yb, axis=ax, neg=(kind == "softmin"),
                       chunks=st_chunks, dtype=_F8, meta=_meta(d.ndim, _F8))
    glob_chunks = tuple((2,) if i == ax else c for i, c in enumerate(d.chunks))
    glob = st.rechunk({ax: -1}).map_blocks(_combine_stats, axis=ax, log=log,
                                           chunks=glob_chunks, dtype=_F8,
                                           meta=_meta(d.ndim, _F8))
    ind = _index(d.ndim)
    y = da.blockwise(_finish_softmax, ind, yb, ind, st, ind, glob, ind, align_arrays=False,
                     axis=ax, log=log, comp=_comp(res), dtype=res, meta=_meta(d.ndim, res))
    return y, glob


def _softmax_like(fname, kind, x, axis, threads):
    threads = _check_threads(fname, threads)
    d, ax = _axis_input(fname, x, axis)
    return _softmax_parts(fname, kind, d, ax, threads)[0]


def softmax(x, axis=-1, *, threads=None):
    """softmax(x, axis=-1, *, threads=None): fastact.softmax of a Dask
    array along `axis`, which may be split across chunks (exact two-stage
    normalisation; see fastact.dask).  Lazy."""
    return _softmax_like("softmax", "softmax", x, axis, threads)


def softmin(x, axis=-1, *, threads=None):
    """softmin(x, axis=-1, *, threads=None) = softmax(-x, axis), any
    chunking along `axis`.  Lazy."""
    return _softmax_like("softmin", "softmin", x, axis, threads)


def log_softmax(x, axis=-1, *, threads=None):
    """log_softmax(x, axis=-1, *, threads=None), any chunking along
    `axis`.  Lazy."""
    return _softmax_like("log_softmax", "log_softmax", x, axis, threads)


def _lse_chunk(xb, axis, keepdims, threads=None):
    (ax,) = axis
    with _threads_for_task(threads):
        r = np.asarray(fa.logsumexp(xb, axis=ax), dtype=_F8)
    return np.expand_dims(r, ax)


def _lse_combine(xb, axis, keepdims, res=_F8):
    (ax,) = axis
    r = np.asarray(fa.logsumexp(xb, axis=ax), dtype=res)
    return np.expand_dims(r, ax) if keepdims else r


def logsumexp(x, axis=-1, *, threads=None):
    """logsumexp(x, axis=-1, *, threads=None): the axis removed; any
    chunking along `axis` (a tree reduction of fastact.logsumexp over the
    blocks, combined in float64).  Lazy."""
    fname = "logsumexp"
    threads = _check_threads(fname, threads)
    d, ax = _axis_input(fname, x, axis)
    res = np.asarray(fa.logsumexp(np.zeros(1, d.dtype))).dtype
    meta = _meta(d.ndim - 1, res)
    if len(d.chunks[ax]) <= 1:
        return d.map_blocks(_Call(_lse_squeezed, threads, axis=ax), drop_axis=ax,
                            dtype=res, meta=meta)
    return da.reduction(d, functools.partial(_lse_chunk, threads=threads),
                        functools.partial(_lse_combine, res=res), axis=ax, keepdims=False,
                        combine=_lse_combine, dtype=res, concatenate=True, meta=meta)


def _lse_squeezed(xb, axis):
    return np.asarray(fa.logsumexp(xb, axis=axis))


def _softmax_like_backward(fname, kind, grad_output, x, y, axis, threads):
    threads = _check_threads(fname, threads)
    v, from_y = _x_or_y(fname, x, y)
    d, ax = _axis_input(fname, v, axis)
    g = _as_dask(grad_output)
    _same_shape(fname, g, d, "y" if from_y else "x")
    fn = getattr(fa, fname)
    z = (np.zeros(2, g.dtype), np.zeros(2, d.dtype))
    res = np.asarray(fn(z[0], y=z[1]) if from_y else fn(*z)).dtype
    comp = _comp(res)
    if len(d.chunks[ax]) <= 1:
        f = functools.partial(_grad_from_y, fn) if from_y else fn
        return da.map_blocks(_Call(f, threads, axis=ax), _like(g, d), d, dtype=res,
                             meta=_meta(d.ndim, res))
    g = g.astype(comp)
    if kind == "log_softmax":
        # grad_output - softmax(x) * sum(grad_output); softmax = exp(y)
        if from_y:
            p = da.exp(d.astype(comp))
        else:
            p = _softmax_parts(fname, "softmax", d, ax, threads)[0].astype(comp)
        tot = g.sum(axis=ax, keepdims=True, dtype=_F8).astype(comp)
        r = g - p * tot
    else:
        # (+-) y * (grad_output - sum(grad_output * y))
        yv = d if from_y else _softmax_parts(fname, kind, d, ax, threads)[0]
        yv = yv.astype(comp)
        tot = (g * yv).sum(axis=ax, keepdims=True, dtype=_F8).astype(comp)
        r = yv * (g - tot)
        if kind == "softmin":
            r = -r
    return r.astype(res)


def softmax_backward(grad_output, x=None, axis=-1, *, y=None, threads=None):
    """softmax_backward(grad_output, x=None, axis=-1, *, y=None,
    threads=None): y * (grad_output - sum(grad_output * y)), the row sum a
    Dask reduction across chunks.  Pass x or y= (the forward output)."""
    return _softmax_like_backward("softmax_backward", "softmax", grad_output, x, y, axis,
                                  threads)


def softmin_backward(grad_output, x=None, axis=-1, *, y=None, threads=None):
    """softmin_backward(grad_output, x=None, axis=-1, *, y=None,
    threads=None): -y * (grad_output - sum(grad_output * y)), y = softmin(x)."""
    return _softmax_like_backward("softmin_backward", "softmin", grad_output, x, y, axis,
                                  threads)


def log_softmax_backward(grad_output, x=None, axis=-1, *, y=None, threads=None):
    """log_softmax_backward(grad_output, x=None, axis=-1, *, y=None,
    threads=None): grad_output - softmax(x) * sum(grad_output)."""
    return _softmax_like_backward("log_softmax_backward", "log_softmax", grad_output, x, y,
                                  axis, threads)


def _lse_bwd_finish(p, g, glob, axis, comp):
    out = p.astype(comp) * np.expand_dims(g, axis).astype(comp)
    dead = _take(glob, axis, 0) == -np.inf
    if dead.any():
        np.copyto(out, 0, where=np.broadcast_to(dead, out.shape))
    return out.astype(p.dtype, copy=False)


def logsumexp_backward(grad_output, x, axis=-1, *, threads=None):
    """logsumexp_backward(grad_output, x, axis=-1, *, threads=None):
    grad_output (the axis removed) times softmax(x) along `axis`, any
    chunking; a row of only -inf gets 0 (as fastact)."""
    fname = "logsumexp_backward"
    threads = _check_threads(fname, threads)
    d, ax = _axis_input(fname, x, axis)
    g = _as_dask(grad_output)
    rshape = d.shape[:ax] + d.shape[ax + 1:]
    if g.shape != rshape:
        raise ValueError(f"fastact.dask.{fname}(): grad_output has shape {g.shape} but "
                         f"logsumexp(x) has shape {rshape}; they must be equal")
    res = np.asarray(fa.logsumexp_backward(np.zeros((), g.dtype), np.zeros(1, d.dtype))).dtype
    ind = _index(d.ndim)
    gind = ind[:ax] + ind[ax + 1:]
    g = g.rechunk(d.chunks[:ax] + d.chunks[ax + 1:])
    if len(d.chunks[ax]) <= 1:
        return da.blockwise(_Call(fa.logsumexp_backward, threads, axis=ax), ind, g, gind,
                            d, ind, align_arrays=False, dtype=res, meta=_meta(d.ndim, res))
    p, glob = _softmax_parts(fname, "softmax", d, ax, threads)
    return da.blockwise(_lse_bwd_finish, ind, p, ind, g, gind, glob, ind, align_arrays=False,
                        axis=ax, comp=_comp(res), dtype=res, meta=_meta(d.ndim, res))


# ------------------------------------------------------------- GLU family

def _glu_check(fname, approximate):
    if approximate is not None and (not isinstance(approximate, str) or
                                    approximate not in ("none", "tanh")):
        raise ValueError(f"fastact.dask.{fname}(): approximate must be 'none' or 'tanh', "
                         f"got {approximate!r}")


def _halves(fname, d, ax):
    _known_axis(fname, d, ax)
    n = d.shape[ax]
    if n % 2:
        raise ValueError(f"fastact.dask.{fname}(): x has odd length {n} along axis {ax}; it "
                         f"must split into two halves of equal length")
    h = n // 2
    a = _take(d, ax, slice(0, h))
    b = _take(d, ax, slice(h, n))
    if b.chunks[ax] != a.chunks[ax]:
        b = b.rechunk({ax: a.chunks[ax]})
    return a, b


def _glu_kw(name, approximate):
    return {"approximate": approximate} if name == "geglu" else {}


def _glu_pair(ab, bb, name, axis, **kw):
    return getattr(fa, name)(np.concatenate([ab, bb], axis=axis), axis=axis, **kw)


def _glu_forward(name, x, axis, threads, approximate=None):
    threads = _check_threads(name, threads)
    _glu_check(name, approximate)
    d, ax = _axis_input(name, x, axis)
    kw = _glu_kw(name, approximate)
    fn = getattr(fa, name)
    res = np.asarray(fn(np.zeros(2, d.dtype), **kw)).dtype
    meta = _meta(d.ndim, res)
    if len(d.chunks[ax]) <= 1:
        _known_axis(name, d, ax)
        if d.shape[ax] % 2:
            _halves(name, d, ax)  # raises
        chunks = tuple(tuple(c // 2 for c in cs) if i == ax else cs
                       for i, cs in enumerate(d.chunks))
        return d.map_blocks(_Call(fn, threads, axis=ax, **kw), chunks=chunks, dtype=res,
                            meta=meta)
    a, b = _halves(name, d, ax)
    return da.map_blocks(_Call(_glu_pair, threads, name=name, axis=ax, **kw), a, b,
                         dtype=res, meta=meta)


def _glu_pair_backward(gb, ab, bb, name, axis, **kw):
    return getattr(fa, name + "_backward")(gb, np.concatenate([ab, bb], axis=axis),
                                           axis=axis, **kw)


def _half_of(r, axis, second):
    n = r.shape[axis] // 2
    return _take(r, axis, slice(n, None) if second else slice(0, n))


def _glu_backward(name, grad_output, x, axis, threads, approximate=None):
    fname = name + "_backward"
    threads = _check_threads(fname, threads)
    _glu_check(fname, approximate)
    d, ax = _axis_input(fname, x, axis)
    kw = _glu_kw(name, approximate)
    fn = getattr(fa, fname)
    g = _as_dask(grad_output)
    _known_axis(fname, d, ax)
    if d.shape[ax] % 2:
        _halves(fname, d, ax)  # raises
    hshape = d.shape[:ax] + (d.shape[ax] // 2,) + d.shape[ax + 1:]
    if g.shape != hshape:
        raise ValueError(f"fastact.dask.{fname}(): grad_output has shape {g.shape} but "
                         f"{name}(x) has shape {hshape}; they must be equal")
    res = np.asarray(fn(np.zeros(1, g.dtype), np.zeros(2, d.dtype), **kw)).dtype
    meta = _meta(d.ndim, res)
    ind = _index(d.ndim)
    if len(d.chunks[ax]) <= 1:
        g = g.rechunk(tuple((hshape[ax],) if i == ax else c for i, c in enumerate(d.chunks)))
        return da.blockwise(_Call(fn, threads, axis=ax, **kw), ind, g, ind, d, ind,
                            align_arrays=False, dtype=res, meta=meta)
    a, b = _halves(fname, d, ax)
    g = g.rechunk(a.chunks)
    both = da.blockwise(_Call(_glu_pair_backward, threads, name=name, axis=ax, **kw), ind,
                        g, ind, a, ind, b, ind, align_arrays=False,
                        adjust_chunks={ind[ax]: lambda c: 2 * c}, dtype=res, meta=meta)
    ga = both.map_blocks(_half_of, axis=ax, second=False, chunks=a.chunks, dtype=res,
                         meta=meta)
    gb = both.map_blocks(_half_of, axis=ax, second=True, chunks=a.chunks, dtype=res,
                         meta=meta)
    return da.concatenate([ga, gb], axis=ax)


def glu(x, axis=-1, *, threads=None):
    """glu(x, axis=-1, *, threads=None): a * sigmoid(b), a and b the halves
    of x along `axis`, any chunking (fastact's glu on each pair of blocks)."""
    return _glu_forward("glu", x, axis, threads)


def glu_backward(grad_output, x, axis=-1, *, threads=None):
    """glu_backward(grad_output, x, axis=-1, *, threads=None): x's shape."""
    return _glu_backward("glu", grad_output, x, axis, threads)


def swiglu(x, axis=-1, *, threads=None):
    """swiglu(x, axis=-1, *, threads=None): silu(a) * b, any chunking."""
    return _glu_forward("swiglu", x, axis, threads)


def swiglu_backward(grad_output, x, axis=-1, *, threads=None):
    """swiglu_backward(grad_output, x, axis=-1, *, threads=None)."""
    return _glu_backward("swiglu", grad_output, x, axis, threads)


def geglu(x, axis=-1, approximate="none", *, threads=None):
    """geglu(x, axis=-1, approximate="none", *, threads=None): gelu(a) * b,
    any chunking."""
    return _glu_forward("geglu", x, axis, threads, approximate)


def geglu_backward(grad_output, x, axis=-1, approximate="none", *, threads=None):
    """geglu_backward(grad_output, x, axis=-1, approximate="none", *,
    threads=None)."""
    return _glu_backward("geglu", grad_output, x, axis, threads, approximate)


# ----------------------------------------------- maxout, sparsemax, jacobian

def _maxout_prep(fname, x, pieces, axis):
    d, ax = _axis_input(fname, x, axis)
    if isinstance(pieces, (bool, np.bool_)) or not isinstance(pieces, (int, np.integer)):
        raise TypeError(f"fastact.dask.{fname}(): pieces must be an int, got "
                        f"{type(pieces).__name__}")
    p = int(pieces)
    if p < 1:
        raise ValueError(f"fastact.dask.{fname}(): pieces must be >= 1, got {p}")
    _known_axis(fname, d, ax)
    if d.shape[ax] % p:
        raise ValueError(f"fastact.dask.{fname}(): x has length {d.shape[ax]} along axis "
                         f"{ax}, which pieces={p} does not divide")
    if any(c % p for c in d.chunks[ax]):
        raise ValueError(
            f"fastact.dask.{fname}(): axis {ax} of x is split into chunks {d.chunks[ax]}, "
            f"not all multiples of pieces={p}, so a group of {p} would straddle two chunks. "
            f"Rechunk that axis to multiples of {p}, or to one chunk: x.rechunk({{{ax}: -1}})")
    mchunks = tuple(tuple(c // p for c in cs) if i == ax else cs
                    for i, cs in enumerate(d.chunks))
    return d, ax, p, mchunks


def maxout(x, pieces, axis=-1, *, threads=None):
    """maxout(x, pieces, axis=-1, *, threads=None): blockwise; every chunk
    along `axis` must be a multiple of `pieces` (else ValueError)."""
    fname = "maxout"
    threads = _check_threads(fname, threads)
    d, ax, p, mchunks = _maxout_prep(fname, x, pieces, axis)
    res = np.asarray(fa.maxout(np.zeros(p, d.dtype), p)).dtype
    return d.map_blocks(_Call(fa.maxout, threads, pieces=p, axis=ax), chunks=mchunks,
                        dtype=res, meta=_meta(d.ndim, res))


def maxout_backward(grad_output, x, pieces, axis=-1, *, threads=None):
    """maxout_backward(grad_output, x, pieces, axis=-1, *, threads=None):
    blockwise, with the same chunking rule as maxout."""
    fname = "maxout_backward"
    threads = _check_threads(fname, threads)
    d, ax, p, mchunks = _maxout_prep(fname, x, pieces, axis)
    g = _as_dask(grad_output)
    mshape = tuple(sum(c) for c in mchunks)
    if g.shape != mshape:
        raise ValueError(f"fastact.dask.{fname}(): grad_output has shape {g.shape} but "
                         f"maxout(x) has shape {mshape}; they must be equal")
    res = np.asarray(fa.maxout_backward(np.zeros(1, g.dtype), np.zeros(p, d.dtype), p)).dtype
    ind = _index(d.ndim)
    return da.blockwise(_Call(_maxout_bwd, threads, pieces=p, axis=ax), ind,
                        g.rechunk(mchunks), ind, d, ind, align_arrays=False, dtype=res,
                        meta=_meta(d.ndim, res))


def _maxout_bwd(g, x, pieces, axis):
    return fa.maxout_backward(g, x, pieces, axis=axis)


def _one_chunk_axis(fname, x, axis, why):
    d, ax = _axis_input(fname, x, axis)
    if len(d.chunks[ax]) > 1:
        raise _whole_axis_error(fname, d, ax, why)
    return d, ax


_SPARSEMAX_WHY = "needs the whole row at once (its threshold comes from the sorted row)"


def sparsemax(x, axis=-1, *, threads=None):
    """sparsemax(x, axis=-1, *, threads=None): needs `axis` in one chunk
    (else ValueError naming the rechunk)."""
    fname = "sparsemax"
    threads = _check_threads(fname, threads)
    d, ax = _one_chunk_axis(fname, x, axis, _SPARSEMAX_WHY)
    res = np.asarray(fa.sparsemax(np.zeros(1, d.dtype))).dtype
    return d.map_blocks(_Call(fa.sparsemax, threads, axis=ax), dtype=res,
                        meta=_meta(d.ndim, res))


def sparsemax_backward(grad_output, x, axis=-1, *, threads=None):
    """sparsemax_backward(grad_output, x, axis=-1, *, threads=None): needs
    `axis` in one chunk."""
    fname = "sparsemax_backward"
    threads = _check_threads(fname, threads)
    d, ax = _one_chunk_axis(fname, x, axis, _SPARSEMAX_WHY)
    g = _as_dask(grad_output)
    _same_shape(fname, g, d, "x")
    res = np.asarray(fa.sparsemax_backward(np.zeros(1, g.dtype), np.zeros(1, d.dtype))).dtype
    ind = _index(d.ndim)
    return da.blockwise(_Call(_sparsemax_bwd, threads, axis=ax), ind, _like(g, d),
                        ind, d, ind, align_arrays=False, dtype=res, meta=_meta(d.ndim, res))


def _sparsemax_bwd(g, x, axis):
    return fa.sparsemax_backward(g, x, axis=axis)


def softmax_jacobian(x, axis=-1, *, threads=None):
    """softmax_jacobian(x, axis=-1, *, threads=None): shape
    moveaxis(x, axis, -1).shape + (n,); needs `axis` in one chunk."""
    fname = "softmax_jacobian"
    threads = _check_threads(fname, threads)
    d, ax = _one_chunk_axis(fname, x, axis,
                            "builds each row's (n, n) Jacobian from the whole row")
    _known_axis(fname, d, ax)
    n = d.shape[ax]
    res = np.asarray(fa.softmax_jacobian(np.zeros(1, d.dtype))).dtype
    xm = da.moveaxis(d, ax, -1)
    return xm.map_blocks(_Call(fa.softmax_jacobian, threads, axis=-1), new_axis=d.ndim,
                         chunks=xm.chunks + ((n,),), dtype=res, meta=_meta(d.ndim + 1, res))
