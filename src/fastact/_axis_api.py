"""The along-axis family: softmax, log_softmax, softmin, logsumexp, the GLU
family, maxout, sparsemax and softmax_jacobian (../shared/API.md, "Along an
axis").

Layout: every input is seen as a C-contiguous (outer, n, inner) block, n the
length of the axis.  A C-ordered input is used as it is, a Fortran-ordered
one as its (C-ordered) transpose with the axis mirrored; only other strided
layouts, non-native byte orders and dtype conversions cost one copy.  The
kernels (include/fa_axis.h, one build per instruction-set level, driven by
fastact._axis) walk axis != -1 in blocks of adjacent columns, so no
transposed copy is ever made.  A bfloat16 or float16 array whose rows
along the axis are contiguous stays in its dtype: fastact._axis computes it
in float32 a chunk of rows at a time (`_view`, `_narrow`; a strided input
is first made contiguous in its own dtype); an axis with inner > 1 and
rows longer than the chunk buffer go through a float32 copy.

maxout, sparsemax (forward and backward) and softmax_jacobian have their
kernels in include/fa_axis_extra_impl.h, driven by fastact._axis.run
and fast; softmax_jacobian writes its (n, n) blocks from the
softmax's output.
"""

from __future__ import annotations

import math

import numpy as np

from fastact import _arrays, _axis, _containers

try:  # numpy >= 1.25
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError

__all__ = [
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "softmin", "softmin_backward", "logsumexp", "logsumexp_backward",
    "glu", "glu_backward", "swiglu", "swiglu_backward", "geglu", "geglu_backward",
    "maxout", "maxout_backward", "sparsemax", "sparsemax_backward", "softmax_jacobian",
]


# ------------------------------------------------------------ arguments

def _axis_index(fname: str, axis, ndim: int) -> int:
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{fname}(): axis must be an int, got {type(axis).__name__}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise AxisError(axis, ndim, f"{fname}(): axis")
    return axis % ndim


def _int_param(fname: str, name: str, v) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{fname}(): {name} must be an int, got {type(v).__name__}")
    if v < 1:
        raise ValueError(f"{fname}(): {name} must be >= 1, got {v}")
    return int(v)


def _input(fname: str, x, argname: str = "x"):
    a, comp, res = _arrays.prepare(x, fname, argname)
    if a.ndim == 0:
        raise ValueError(f"{fname}(): {argname} must have at least one dimension (the "
                         f"along-axis functions need ndim >= 1), got a 0-d input")
    return a, comp, res


def _grad(fname: str, g, shape, comp, what: str):
    ga = _arrays.as_array(g, fname, "grad_output")
    _arrays.dtypes(ga.dtype, fname, "grad_output")
    if ga.shape != tuple(shape):
        raise ValueError(f"{fname}(): grad_output has shape {ga.shape} but {what} has shape "
                         f"{tuple(shape)}; they must be equal (no broadcasting)")
    return ga


def _x_or_y(fname: str, x, y):
    if (x is None) == (y is None):
        raise TypeError(f"{fname}(): pass exactly one of x and y= (the forward output), "
                        f"got {'both' if x is not None else 'neither'}")
    return (y, "y", True) if x is None else (x, "x", False)


def _fast(op: str, x, g, axis, out, sg=1.0):
    """The common case in C (fastact._axis.fast), or None: the general path."""
    return _axis.fast(_axis.OP[op], x, g, axis, out, sg)


def _run(op: str, v: _arrays.AxisView, xb, gb, t, sg=1.0, n=None):
    _axis.run(_axis.OP[op], xb, gb, t, v.outer, v.n if n is None else n, v.inner, float(sg))


def _run_pieces(op: str, v: _arrays.AxisView, xb, gb, t, pieces=1):
    _axis.run(_axis.OP[op], xb, gb, t, v.outer, v.n, v.inner, 1.0, pieces)


def _narrow(op: str, a, res, ax: int, others=(), pieces=1, rows=False):
    """a's own dtype where op computes a narrow a (bfloat16, float16) in
    float32 a chunk of rows at a time inside fastact._axis: the result has
    that dtype, the other arrays (grad_output) share it, and the rows along
    ax are contiguous (inner == 1; rows: the caller makes them so) and fit
    the chunk buffer.  Else None: a float32 temporary of the whole array."""
    dt = a.dtype
    if (dt.itemsize != 2 or dt != res or _arrays.narrow_index(dt) < 0
            or any(o.dtype != dt for o in others)):
        return None
    if not rows:
        f = a.flags.f_contiguous and not a.flags.c_contiguous
        if math.prod(a.shape[:ax] if f else a.shape[ax + 1:]) != 1:
            return None
    bwd = op.endswith(("_b", "_bx", "_by", "_mb", "_mby"))
    return dt if _axis.narrow_fits(_axis.OP[op], a.shape[ax], pieces, bwd) else None


def _view(op: str, a, comp, res, ax: int, others=(), pieces=1):
    """the AxisView op runs on: in a's narrow dtype where _narrow allows, else
    in the computation dtype"""
    if a.dtype.itemsize == 2:                 # (float32, float64: nothing to ask)
        comp = _narrow(op, a, res, ax, others, pieces) or comp
    return _arrays.AxisView(a, comp, ax)


# ------------------------------------------------------- softmax family

def _contained(fname, arrays, axis, out, **kw):
    """A pandas, xarray or Dask input (fastact._containers)."""
    if out is not None:
        kw["out"] = out
    return _containers.call(fname, globals()[fname], arrays, axis, kw)


def _softmax_like(fname, op, x, axis, out, sg=1.0):
    r = _fast(op, x, None, axis, out, sg)
    if r is not None:
        return r
    if _containers.is_container(x):
        return _contained(fname, (x,), axis, out)
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"),))
    v = _view(op, a, comp, res, ax)
    t = v.target(out, a.shape)
    if a.size:
        _run(op, v, v.base, None, t, sg)
    return v.finish(t, out, res)


_MASK_DOC = """
    scale (a scalar), bias (broadcast against x) and where (boolean,
    broadcast against x) make the logits x * scale + bias, fused in the
    row kernel; entries where=False or bias=-inf are masked (left out,
    whatever x is there).  A fully masked row gives {full}."""


def softmax(x, axis=-1, *, scale=None, bias=None, where=None, dtype=None, out=None):
    """softmax(x, axis=-1, *, scale=None, bias=None, where=None, dtype=None, out=None)

    exp(x - max) / sum(exp(x - max)) along `axis` (max-shifted: finite for
    any finite input).  -inf entries get 0; a row of only -inf, a row with
    +inf or a row with NaN gives NaN (as torch).  dtype: x is converted to
    it first, and the result has it (float16 input, float32 result)."""
    if scale is None and bias is None and where is None:
        if dtype is not None:
            x = _with_dtype("softmax", x, dtype)
        return _softmax_like("softmax", "softmax", x, axis, out)
    return _masked_forward("softmax", "softmax", x, axis, out, 1.0, scale, bias, where, dtype)


def softmin(x, axis=-1, *, scale=None, bias=None, where=None, dtype=None, out=None):
    """softmin(x, axis=-1, *, scale=None, bias=None, where=None, dtype=None, out=None)

    softmax(-x, axis); with scale and bias: softmax(-x * scale + bias) (the
    bias, a mask, is added after the sign)."""
    if scale is None and bias is None and where is None:
        if dtype is not None:
            x = _with_dtype("softmin", x, dtype)
        return _softmax_like("softmin", "softmax", x, axis, out, sg=-1.0)
    return _masked_forward("softmin", "softmax", x, axis, out, -1.0, scale, bias, where, dtype)


def log_softmax(x, axis=-1, *, scale=None, bias=None, where=None, dtype=None, out=None):
    """log_softmax(x, axis=-1, *, scale=None, bias=None, where=None, dtype=None, out=None)

    (x - max) - log(sum(exp(x - max))) along `axis`, in that order."""
    if scale is None and bias is None and where is None:
        if dtype is not None:
            x = _with_dtype("log_softmax", x, dtype)
        return _softmax_like("log_softmax", "log_softmax", x, axis, out)
    return _masked_forward("log_softmax", "log_softmax", x, axis, out, 1.0, scale, bias, where,
                           dtype)


softmax.__doc__ += _MASK_DOC.format(full="zeros")
softmin.__doc__ += _MASK_DOC.format(full="zeros")
log_softmax.__doc__ += _MASK_DOC.format(full="-inf")


def _softmax_like_backward(fname, op, g, x, y, axis, out, sg=1.0):
    if (x is None) != (y is None):
        r = _fast(op + ("_by" if x is None else "_bx"), y if x is None else x, g, axis, out, sg)
        if r is not None:
            return r
    if _containers.is_container(g, x, y):
        return _contained(fname, (g, x), axis, out, **({} if y is None else {"y": y}))
    xv, xname, from_y = _x_or_y(fname, x, y)
    a, comp, res = _input(fname, xv, xname)
    ax = _axis_index(fname, axis, a.ndim)
    ga = _grad(fname, g, a.shape, comp, xname)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, xname), (ga, "grad_output")))
    op += "_by" if from_y else "_bx"
    v = _view(op, a, comp, res, ax, (ga,))
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run(op, v, v.base, gb, t, sg)
    return v.finish(t, out, res)


_MASK_BWD_DOC = """
    With scale=, bias=, where= (those of the forward): the gradient with
    respect to x, so scale times the gradient with respect to the logits
    z = x * scale + bias; 0 at masked entries and on fully masked rows.
    The gradient with respect to bias is that with respect to z: this
    result divided by scale (or the result of scale=1), summed over the
    axes that bias broadcasts along."""


def softmax_backward(grad_output, x=None, axis=-1, *, y=None, scale=None, bias=None,
                     where=None, out=None):
    """softmax_backward(grad_output, x, axis=-1, *, y=None, scale=None, bias=None, where=None, out=None)

    y * (grad_output - sum(grad_output * y)), y = softmax(x, axis); pass
    either x or y= (the forward output)."""
    if scale is None and bias is None and where is None:
        return _softmax_like_backward("softmax_backward", "softmax", grad_output, x, y, axis,
                                      out)
    return _masked_backward("softmax_backward", "softmax", grad_output, x, y, axis, out, 1.0,
                            scale, bias, where)


def softmin_backward(grad_output, x=None, axis=-1, *, y=None, scale=None, bias=None,
                     where=None, out=None):
    """softmin_backward(grad_output, x, axis=-1, *, y=None, scale=None, bias=None, where=None, out=None)

    -y * (grad_output - sum(grad_output * y)), y = softmin(x, axis); pass
    either x or y= (the forward output)."""
    if scale is None and bias is None and where is None:
        return _softmax_like_backward("softmin_backward", "softmax", grad_output, x, y, axis,
                                      out, sg=-1.0)
    return _masked_backward("softmin_backward", "softmax", grad_output, x, y, axis, out, -1.0,
                            scale, bias, where)


def log_softmax_backward(grad_output, x=None, axis=-1, *, y=None, scale=None, bias=None,
                         where=None, out=None):
    """log_softmax_backward(grad_output, x, axis=-1, *, y=None, scale=None, bias=None, where=None, out=None)

    grad_output - softmax(x) * sum(grad_output) (= grad_output at -inf
    entries); pass either x or y= (the forward output, then exp(y) is the
    softmax)."""
    if scale is None and bias is None and where is None:
        return _softmax_like_backward("log_softmax_backward", "log_softmax", grad_output, x, y,
                                      axis, out)
    return _masked_backward("log_softmax_backward", "log_softmax", grad_output, x, y, axis, out,
                            1.0, scale, bias, where)


softmax_backward.__doc__ += _MASK_BWD_DOC
softmin_backward.__doc__ += _MASK_BWD_DOC
log_softmax_backward.__doc__ += _MASK_BWD_DOC


def logsumexp(x, axis=-1, *, scale=None, bias=None, where=None, b=None, keepdims=False,
              out=None):
    """logsumexp(x, axis=-1, *, scale=None, bias=None, where=None, b=None, keepdims=False, out=None)

    max + log(sum(exp(x - max))) along `axis`, which is removed (kept with
    length 1 with keepdims=True).  -inf for a row of only -inf and for an
    axis of length 0; +inf when a row holds +inf; NaN when it holds NaN.
    b: SciPy's weights, log(sum(b * exp(x))), broadcast against x; b >= 0
    (a negative entry is a ValueError), an entry with b = 0 is masked."""
    if scale is not None or bias is not None or where is not None or b is not None or keepdims:
        return _masked_forward("logsumexp", "logsumexp", x, axis, out, 1.0, scale, bias, where,
                               b=b, keepdims=keepdims)
    fname = "logsumexp"
    if _containers.is_container(x):
        return _contained(fname, (x,), axis, out)
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    rshape = a.shape[:ax] + a.shape[ax + 1:]
    out = _arrays.check_out(out, rshape, res, fname, ((a, "x"),))
    v = _view("logsumexp", a, comp, res, ax)
    t = v.target(out, rshape)
    if t.size:
        if v.n == 0:
            t[...] = -np.inf
        else:
            _run("logsumexp", v, v.base, None, t)
    r = v.finish(t, out, res)
    return r[()] if (out is None and r.ndim == 0) else r


def logsumexp_backward(grad_output, x, axis=-1, *, scale=None, bias=None, where=None, b=None,
                       keepdims=False, out=None):
    """logsumexp_backward(grad_output, x, axis=-1, *, scale=None, bias=None, where=None, b=None, keepdims=False, out=None)

    grad_output (of logsumexp's shape, the axis removed, or kept with
    length 1 with keepdims=True) times softmax(x) along `axis`.  A row of
    only -inf (logsumexp constant -inf) gets 0 (torch gives NaN there).
    With b: times b * exp(x - logsumexp) instead."""
    if scale is not None or bias is not None or where is not None or b is not None or keepdims:
        return _masked_backward("logsumexp_backward", "logsumexp", grad_output, x, None, axis,
                                out, 1.0, scale, bias, where, b=b, keepdims=keepdims)
    fname = "logsumexp_backward"
    if _containers.is_container(grad_output, x):
        return _contained(fname, (grad_output, x), axis, out)
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    rshape = a.shape[:ax] + a.shape[ax + 1:]
    ga = _grad(fname, grad_output, rshape, comp, "logsumexp(x)")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (ga, "grad_output")))
    v = _view("logsumexp_b", a, comp, res, ax, (ga,))
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run("logsumexp_b", v, v.base, gb, t)
    return v.finish(t, out, res)


# ------------------------------------------ scale, bias, where, b, dtype
#
# softmax, log_softmax, softmin and logsumexp (and their backward) with
# scale=, bias=, where= (logsumexp also b= and keepdims=).  One path: x in
# its computation dtype (or its own narrow dtype: computed in float32 a
# chunk of rows at a time, fastact._axis) as C-contiguous rows with the axis
# last (a copy only where x is not already that), the bias and where (of
# the computation dtype, float32 for a narrow x) as strided views
# broadcast against x (never grown), and the fused row kernels (the *_m and
# *_mb ops of include/fa_axis_impl.h).  A fully masked row (every entry
# where=False or bias=-inf) gives 0 (softmax, softmin, every gradient) or
# -inf (log_softmax, logsumexp).

def _dtype_arg(fname, dtype):
    """the result dtype of dtype= (float16, float32 or float64)"""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"{fname}(): dtype={dtype!r} is not a dtype: {e}") from None
    if dt.kind != "f" or dt.itemsize not in (2, 4, 8):
        raise TypeError(f"{fname}(): dtype must be float16, float32 or float64, got {dt}")
    return dt.newbyteorder("=")


def _with_dtype(fname, x, dtype):
    """x converted to dtype= before the function (torch's rule)"""
    a = _arrays.as_array(x, fname, "x")
    _arrays.dtypes(a.dtype, fname, "x")
    dt = _dtype_arg(fname, dtype)
    with _arrays.overflow_ok(a.dtype, dt):
        return a.astype(dt, copy=False)


def _scale_arg(fname, scale, comp, sg):
    """sg * scale, scale rounded to the computation dtype"""
    if scale is None:
        return float(sg)
    s = scale
    if isinstance(s, np.ndarray):
        if s.ndim:
            raise ValueError(f"{fname}(): scale must be a scalar (a Python or NumPy number, "
                             f"or a 0-d array), got an array of shape {s.shape}; for a factor "
                             f"per entry multiply x first")
        s = s[()]
    if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, float, np.integer,
                                                             np.floating)):
        raise TypeError(f"{fname}(): scale must be a real number, got {type(scale).__name__}")
    try:
        v = float(s)
    except OverflowError:
        raise ValueError(f"{fname}(): scale={s} is too large for a float") from None
    with np.errstate(over="ignore"):
        return sg * float(comp.type(v))


def _operand(fname, name, arr, shape, comp):
    """(the argument as an array, the array the kernel reads): bias and b
    in the computation dtype, where boolean; broadcastable to x's shape"""
    a = _arrays.as_array(arr, fname, name)
    if name == "where":
        if a.dtype != np.bool_:
            raise TypeError(f"{fname}(): where must be a boolean array, got dtype {a.dtype}; "
                            f"pass a comparison such as mask != 0")
    else:
        _arrays.dtypes(a.dtype, fname, name)
    # broadcasts to shape without growing it (np.broadcast_shapes(a.shape,
    # shape) == shape, at a fraction of its cost)
    ok = a.ndim <= len(shape) and all(d == 1 or d == s for d, s in
                                      zip(a.shape[::-1], shape[::-1]))
    if not ok:
        raise ValueError(f"{fname}(): {name} has shape {a.shape}, which does not broadcast to "
                         f"x's shape {tuple(shape)} without growing it")
    return a, (a if name == "where" else _arrays.native(a, comp))


class _Masks:
    """The checked scale=, bias=, where= (and b=) of one call: sc (the
    factor of x, softmin's sign in it), bias (computation dtype, log(b)
    added), where (bool), and `raw` (the arguments as arrays, for the out=
    overlap checks)."""

    def __init__(self, fname, shape, comp, sg, scale, bias, where, b=None):
        self.sc = _scale_arg(fname, scale, comp, sg)
        self.raw = []
        self.bias = self.where = None
        if bias is not None:
            r, self.bias = _operand(fname, "bias", bias, shape, comp)
            self.raw.append((r, "bias"))
        if where is not None:
            r, self.where = _operand(fname, "where", where, shape, comp)
            self.raw.append((r, "where"))
        if b is not None:
            r, bw = _operand(fname, "b", b, shape, comp)
            self.raw.append((r, "b"))
            with np.errstate(invalid="ignore"):
                neg = bool(np.any(bw < 0))
            if neg:
                raise ValueError(f"{fname}(): b has negative entries; the sum of b * exp(x) "
                                 f"may then be negative (SciPy's return_sign), which fastact "
                                 f"does not support: pass b >= 0")
            with np.errstate(divide="ignore", invalid="ignore"):
                lb = np.log(bw)
            self.bias = lb if self.bias is None else np.add(self.bias, lb)

    def run(self, op, xr, gr, t, ax, shape):
        """the fused op over the rows xr (x's shape with axis `ax` last)"""
        nd = len(shape)
        outer_shape = shape[:ax] + shape[ax + 1:]
        views = []
        for arr in (self.bias, self.where):
            if arr is None:
                views.append((None, 0, (0,) * (nd - 1)))
                continue
            # its strides broadcast against x's shape, in elements (0 along
            # the dims it lacks or has as 1: np.broadcast_to's, without its
            # cost: a few microseconds a call)
            isz, lead = arr.itemsize, nd - arr.ndim
            st = [0] * lead + [0 if d == 1 else s // isz
                               for d, s in zip(arr.shape, arr.strides)]
            views.append((arr, st[ax], tuple(st[:ax] + st[ax + 1:])))
        (bv, bsn, bst), (wv, wsn, wst) = views
        dims, bs, ws = [], [], []                # the outer dims, coalesced
        for d, sb, sw in zip(outer_shape, bst, wst):
            if d == 1:
                continue
            if dims and bs[-1] == sb * d and ws[-1] == sw * d:
                dims[-1] *= d
                bs[-1], ws[-1] = sb, sw
            else:
                dims.append(d)
                bs.append(sb)
                ws.append(sw)
        n = shape[ax]
        outer = math.prod(outer_shape)
        _axis.run_masked(_axis.OP[op], xr, gr, t, outer, n, self.sc, bv, bsn, wv, wsn,
                         tuple(dims), tuple(bs), tuple(ws))


def _rows(a, comp, ax):
    """a in dtype comp as C-contiguous rows along axis ax (moved last)"""
    if ax != a.ndim - 1:
        a = np.moveaxis(a, ax, -1)
    if a.dtype == comp and a.flags.c_contiguous and a.flags.aligned:
        return a
    return _arrays.dense(a, comp, "C")


def _row_target(out, shape, comp, ax):
    """where the kernel writes a result of x's shape, axis ax last"""
    if (out is not None and ax == len(shape) - 1 and out.dtype == comp
            and out.flags.c_contiguous and out.flags.aligned):
        return out
    return np.empty(shape[:ax] + shape[ax + 1:] + (shape[ax],), comp)


def _row_finish(t, out, res, ax):
    if t is out:
        return out
    return _arrays.finish(t if ax == t.ndim - 1 else np.moveaxis(t, -1, ax), out, res, False)


def _masked_forward(fname, op, x, axis, out, sg, scale, bias, where, dtype=None, b=None,
                    keepdims=False):
    a, comp, res = _input(fname, x)
    if dtype is not None:
        res = _dtype_arg(fname, dtype)
        comp = _arrays.dtypes(res, fname, "dtype")[0]
    ax = _axis_index(fname, axis, a.ndim)
    mk = _Masks(fname, a.shape, comp, sg, scale, bias, where, b)
    if op == "logsumexp":
        if not isinstance(keepdims, (bool, np.bool_)):
            raise TypeError(f"{fname}(): keepdims must be a bool, got "
                            f"{type(keepdims).__name__}")
        kshape = a.shape[:ax] + a.shape[ax + 1:]
        rshape = a.shape[:ax] + ((1,) if keepdims else ()) + a.shape[ax + 1:]
        out = _arrays.check_out(out, rshape, res, fname, ((a, "x"), *mk.raw))
        rt = _narrow(op + "_m", a, res, ax, rows=True) or comp    # the rows' dtype
        t = (out.reshape(kshape) if out is not None and out.dtype == rt
             and out.flags.c_contiguous and out.flags.aligned else np.empty(kshape, rt))
        if t.size:
            if a.shape[ax] == 0:
                t[...] = -np.inf
            else:
                mk.run(op + "_m", _rows(a, rt, ax), None, t, ax, a.shape)
        r = _arrays.finish(t.reshape(rshape), out, res, False)
        return r[()] if (out is None and r.ndim == 0) else r
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), *mk.raw))
    rt = _narrow(op + "_m", a, res, ax, rows=True) or comp
    t = _row_target(out, a.shape, rt, ax)
    if a.size:
        mk.run(op + "_m", _rows(a, rt, ax), None, t, ax, a.shape)
    return _row_finish(t, out, res, ax)


def _masked_backward(fname, op, g, x, y, axis, out, sg, scale, bias, where, b=None,
                     keepdims=False):
    if op == "logsumexp":
        xv, xname, from_y = x, "x", False
    else:
        xv, xname, from_y = _x_or_y(fname, x, y)
    a, comp, res = _input(fname, xv, xname)
    ax = _axis_index(fname, axis, a.ndim)
    mk = _Masks(fname, a.shape, comp, sg, scale, bias, where, b)
    kshape = a.shape[:ax] + a.shape[ax + 1:]
    if op == "logsumexp":
        ga = _grad(fname, g, a.shape[:ax] + ((1,) if keepdims else ()) + a.shape[ax + 1:],
                   comp, "logsumexp(x)")
    else:
        ga = _grad(fname, g, a.shape, comp, xname)
    out = _arrays.check_out(out, a.shape, res, fname,
                            ((a, xname), (ga, "grad_output"), *mk.raw))
    # from y (0, softmax, or -inf, log_softmax, where masked): the "_mby"
    # ops, the kernels from y with grad_output 0 at the masked entries
    kop = op + ("_mby" if from_y else "_mb")
    rt = _narrow(kop, a, res, ax, (ga,), rows=True) or comp
    t = _row_target(out, a.shape, rt, ax)
    if a.size:
        gr = (_arrays.dense(ga.reshape(kshape), rt, "C") if op == "logsumexp"
              else _rows(ga, rt, ax))
        mk.run(kop, _rows(a, rt, ax), gr, t, ax, a.shape)
    return _row_finish(t, out, res, ax)


# ----------------------------------------------------------- GLU family

_GEGLU_OPS = {"none": "geglu", "tanh": "geglu_tanh"}


def _glu_op(fname, name, approximate):
    if name != "geglu":
        return name
    if not isinstance(approximate, str) or approximate not in _GEGLU_OPS:
        raise ValueError(f"{fname}(): approximate must be 'none' or 'tanh', "
                         f"got {approximate!r}")
    return _GEGLU_OPS[approximate]


def _half(fname, a, ax):
    n = a.shape[ax]
    if n % 2:
        raise ValueError(f"{fname}(): x has odd length {n} along axis {ax}; it must split "
                         f"into two halves of equal length")
    return a.shape[:ax] + (n // 2,) + a.shape[ax + 1:]


def _glu_forward(fname, name, x, axis, out, approximate="none", scale=None, bias=None):
    op = _glu_op(fname, name, approximate)
    if scale is not None or bias is not None:
        return _glu_fused(fname, name, op, None, x, axis, out, scale, bias)
    r = _fast(op, x, None, axis, out)
    if r is not None:
        return r
    if _containers.is_container(x):
        return _contained(fname, (x,), axis, out,
                          **({"approximate": approximate} if name == "geglu" else {}))
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    hshape = _half(fname, a, ax)
    out = _arrays.check_out(out, hshape, res, fname, ((a, "x"),))
    v = _view(op, a, comp, res, ax)
    t = v.target(out, hshape)
    if a.size:
        _run(op, v, v.base, None, t)
    return v.finish(t, out, res)


def _glu_backward(fname, name, g, x, axis, out, approximate="none", scale=None, bias=None):
    op = _glu_op(fname, name, approximate)
    if scale is not None or bias is not None:
        return _glu_fused(fname, name, op, g, x, axis, out, scale, bias)
    op += "_b"
    r = _fast(op, x, g, axis, out)
    if r is not None:
        return r
    if _containers.is_container(g, x):
        return _contained(fname, (g, x), axis, out,
                          **({"approximate": approximate} if name == "geglu" else {}))
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    hshape = _half(fname, a, ax)
    ga = _grad(fname, g, hshape, comp, f"{name}(x)")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (ga, "grad_output")))
    v = _view(op, a, comp, res, ax, (ga,))
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run(op, v, v.base, gb, t)
    return v.finish(t, out, res)


# the shortest period of scale and bias the *_m / *_mb ops take (a run of
# their kernels, FA_AX_PRUN in include/fa_axis_impl.h)
_PRE_PERIOD = 256


def _glu_fused(fname, name, op, g, x, axis, out, scale, bias):
    """NAME(x * scale + bias) (g None), or its gradient with respect to x,
    NAME_backward(g, x * scale + bias) * scale, in one pass: the *_m / *_mb
    ops read x * scale + bias in their loops (scale or bias may be None)."""
    if _containers.is_container(g, x, out):
        raise _arrays.pre_container_error(fname, "x")
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    hshape = _half(fname, a, ax)
    s = _arrays.pre_operand(scale, "scale", fname, a.shape, "x", comp)
    b = _arrays.pre_operand(bias, "bias", fname, a.shape, "x", comp)
    bwd = g is not None
    rshape = a.shape if bwd else hshape
    ga = _grad(fname, g, hshape, comp, f"{name}(x)") if bwd else None
    out = _arrays.check_out(out, rshape, res, fname,
                            ((a, "x"),) + (((ga, "grad_output"),) if bwd else ()))
    v = _view(op + ("_mb" if bwd else "_m"), a, comp, res, ax, (ga,) if bwd else ())
    gb = v.like(ga) if bwd else None
    t = v.target(out, rshape)
    if a.size:
        mul = s is not None
        s, b, period = _arrays.periodic(s, b, a.shape, "F" if v.tr else "C", t)
        if period < _PRE_PERIOD:                 # a scalar: repeated over one run
            reps = -(-_PRE_PERIOD // period)
            s, b = (None if u is None else np.tile(u, reps) for u in (s, b))
            period *= reps
        # the kernels read both: x * 1 and x + -0 are x exactly
        s = np.ones(period, comp) if s is None else s
        b = np.full(period, -0.0, comp) if b is None else b
        _axis.run_pre(_axis.OP[op + ("_mb" if bwd else "_m")], v.base, gb, t, v.outer, v.n,
                      v.inner, s, b, period, mul)
    return v.finish(t, out, res)



_PRE_DOC = """

    scale, bias: the fused pre-activation of both halves, NAME(x * scale +
    bias) in one pass (each broadcast against x: a scalar, a (2 * F,)
    vector for axis=-1, ...; x * scale or x + bias with one of them)."""

_PRE_BWD_DOC = """

    scale, bias: those of the forward; the gradient with respect to x of
    NAME(x * scale + bias), NAME_backward(g, x * scale + bias) * scale, in
    one pass."""


def glu(x, axis=-1, *, scale=None, bias=None, out=None):
    """glu(x, axis=-1, *, scale=None, bias=None, out=None): a * sigmoid(b),
    a and b the two halves of x along `axis` (odd length: ValueError)."""
    return _glu_forward("glu", "glu", x, axis, out, "none", scale, bias)


def glu_backward(grad_output, x, axis=-1, *, scale=None, bias=None, out=None):
    """glu_backward(grad_output, x, axis=-1, *, scale=None, bias=None, out=None):
    the gradient with respect to x (x's shape): [g sigmoid(b), g a sigmoid'(b)]."""
    return _glu_backward("glu_backward", "glu", grad_output, x, axis, out, "none", scale, bias)


def swiglu(x, axis=-1, *, scale=None, bias=None, out=None):
    """swiglu(x, axis=-1, *, scale=None, bias=None, out=None): silu(a) * b,
    a and b the two halves of x along `axis`."""
    return _glu_forward("swiglu", "swiglu", x, axis, out, "none", scale, bias)


def swiglu_backward(grad_output, x, axis=-1, *, scale=None, bias=None, out=None):
    """swiglu_backward(grad_output, x, axis=-1, *, scale=None, bias=None, out=None):
    [g b silu'(a), g silu(a)]."""
    return _glu_backward("swiglu_backward", "swiglu", grad_output, x, axis, out, "none", scale,
                         bias)


def geglu(x, axis=-1, approximate="none", *, scale=None, bias=None, out=None):
    """geglu(x, axis=-1, approximate="none", *, scale=None, bias=None, out=None):
    gelu(a) * b, the erf form of gelu, or its tanh form with approximate="tanh"."""
    return _glu_forward("geglu", "geglu", x, axis, out, approximate, scale, bias)


def geglu_backward(grad_output, x, axis=-1, approximate="none", *, scale=None, bias=None,
                   out=None):
    """geglu_backward(grad_output, x, axis=-1, approximate="none", *, scale=None, bias=None,
    out=None): [g b gelu'(a), g gelu(a)]."""
    return _glu_backward("geglu_backward", "geglu", grad_output, x, axis, out, approximate,
                         scale, bias)


for _f in (glu, swiglu, geglu):
    _f.__doc__ += _PRE_DOC.replace("NAME", _f.__name__)
for _f in (glu_backward, swiglu_backward, geglu_backward):
    _f.__doc__ += _PRE_BWD_DOC.replace("NAME", _f.__name__.removesuffix("_backward"))
del _f


# ---------------------------------------------------------------- maxout

def _maxout_prep(fname, x, pieces, axis):
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    p = _int_param(fname, "pieces", pieces)
    n = a.shape[ax]
    if n % p:
        raise ValueError(f"{fname}(): x has length {n} along axis {ax}, which pieces={p} "
                         f"does not divide")
    mshape = a.shape[:ax] + (n // p,) + a.shape[ax + 1:]
    return a, comp, res, ax, p, mshape


def maxout(x, pieces, axis=-1, *, out=None):
    """maxout(x, pieces, axis=-1, *, out=None): the max over consecutive
    groups of `pieces` entries along `axis` (its length must be a multiple
    of pieces); NaN in a group gives NaN."""
    r = _axis.fast(_axis.OP["maxout"], x, None, axis, out, pieces=pieces)
    if r is not None:
        return r
    fname = "maxout"
    a, comp, res, ax, p, mshape = _maxout_prep(fname, x, pieces, axis)
    out = _arrays.check_out(out, mshape, res, fname, ((a, "x"),))
    v = _view("maxout", a, comp, res, ax, (), p)
    t = v.target(out, mshape)
    if t.size:
        _run_pieces("maxout", v, v.base, None, t, p)
    return v.finish(t, out, res)


def maxout_backward(grad_output, x, pieces, axis=-1, *, out=None):
    """maxout_backward(grad_output, x, pieces, axis=-1, *, out=None):
    grad_output goes to the first maximum of each group (the first NaN if
    the group holds NaN), 0 elsewhere."""
    r = _axis.fast(_axis.OP["maxout_b"], x, grad_output, axis, out, pieces=pieces)
    if r is not None:
        return r
    fname = "maxout_backward"
    a, comp, res, ax, p, mshape = _maxout_prep(fname, x, pieces, axis)
    ga = _grad(fname, grad_output, mshape, comp, "maxout(x)")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (ga, "grad_output")))
    v = _view("maxout_b", a, comp, res, ax, (ga,), p)
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run_pieces("maxout_b", v, v.base, gb, t, p)
    return v.finish(t, out, res)


# ------------------------------------------------------------- sparsemax

def sparsemax(x, axis=-1, *, out=None):
    """sparsemax(x, axis=-1, *, out=None): the Euclidean projection of each
    row onto the probability simplex (Martins & Astudillo 2016): max(x -
    tau, 0) with tau such that the row sums to 1.  -inf entries get 0; a
    row of only -inf, or with +inf or NaN, gives NaN."""
    r = _axis.fast(_axis.OP["sparsemax"], x, None, axis, out)
    if r is not None:
        return r
    fname = "sparsemax"
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"),))
    v = _view("sparsemax", a, comp, res, ax)
    t = v.target(out, a.shape)
    if a.size:
        _run_pieces("sparsemax", v, v.base, None, t)
    return v.finish(t, out, res)


def sparsemax_backward(grad_output, x, axis=-1, *, out=None):
    """sparsemax_backward(grad_output, x, axis=-1, *, out=None): on the
    support S of sparsemax(x) (its positive entries), g - mean_S(g); 0
    elsewhere."""
    r = _axis.fast(_axis.OP["sparsemax_b"], x, grad_output, axis, out)
    if r is not None:
        return r
    fname = "sparsemax_backward"
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    ga = _grad(fname, grad_output, a.shape, comp, "x")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (ga, "grad_output")))
    v = _view("sparsemax_b", a, comp, res, ax, (ga,))
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run_pieces("sparsemax_b", v, v.base, gb, t)
    return v.finish(t, out, res)


# ------------------------------------------------------ softmax_jacobian

def softmax_jacobian(x, axis=-1):
    """softmax_jacobian(x, axis=-1): the Jacobian diag(s) - s s^T of
    s = softmax(x, axis) for each row; shape
    np.moveaxis(x, axis, -1).shape + (n,) (for 1-D x the (n, n) matrix)."""
    fname = "softmax_jacobian"
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    s = np.moveaxis(softmax(_arrays.native(a, comp), axis=ax), ax, -1)
    s = np.ascontiguousarray(s)
    n = s.shape[-1]
    # -s_i s_k; the diagonal s_i (1 - s_i) in double, rounded once, with
    # 1 - s_i from the other probabilities for the one s_i above 1/2
    # (x = [0, -30] has 1 - s_0 = 9.4e-14: 1 - s_i cancels there)
    j = np.empty(s.shape + (n,), comp)
    if j.size:
        _axis.run(_axis.OP["softmax_jacobian"], s, None, j, s.size // n, n, 1, 1.0)
    if j.dtype == res:
        return j
    with _arrays.overflow_ok(j.dtype, res):
        return j.astype(res)
