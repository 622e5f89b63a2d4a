"""The along-axis family: softmax, log_softmax, softmin, logsumexp, the GLU
family, maxout, sparsemax and softmax_jacobian (../shared/API.md, "Along an
axis").

Layout: every input is seen as a C-contiguous (outer, n, inner) block, n the
length of the axis.  A C-ordered input is used as it is, a Fortran-ordered
one as its (C-ordered) transpose with the axis mirrored; only other strided
layouts, non-native byte orders and dtype conversions cost one copy.  The
kernels (include/fa_axis.h, one build per instruction-set level, driven by
fastact._axis) walk axis != -1 in blocks of adjacent columns, so no
transposed copy is ever made.

maxout, sparsemax (forward and backward) and softmax_jacobian have their
kernels in include/fa_axis_extra_impl.h, driven by fastact._axis.run_extra
and fast_extra; softmax_jacobian writes its (n, n) blocks from the
softmax's output.
"""

from __future__ import annotations


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


def _run_extra(op: str, v: _arrays.AxisView, xb, gb, t, pieces=1):
    _axis.run_extra(_axis.OP[op], xb, gb, t, v.outer, v.n, v.inner, pieces)


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
    v = _arrays.AxisView(a, comp, ax)
    t = v.target(out, a.shape)
    if a.size:
        _run(op, v, v.base, None, t, sg)
    return v.finish(t, out, res)


def softmax(x, axis=-1, *, out=None):
    """softmax(x, axis=-1, *, out=None)

    exp(x - max) / sum(exp(x - max)) along `axis` (max-shifted: finite for
    any finite input).  -inf entries get 0; a row of only -inf, a row with
    +inf or a row with NaN gives NaN (as torch)."""
    return _softmax_like("softmax", "softmax", x, axis, out)


def softmin(x, axis=-1, *, out=None):
    """softmin(x, axis=-1, *, out=None) = softmax(-x, axis)."""
    return _softmax_like("softmin", "softmax", x, axis, out, sg=-1.0)


def log_softmax(x, axis=-1, *, out=None):
    """log_softmax(x, axis=-1, *, out=None)

    (x - max) - log(sum(exp(x - max))) along `axis`, in that order."""
    return _softmax_like("log_softmax", "log_softmax", x, axis, out)


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
    v = _arrays.AxisView(a, comp, ax)
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run(op + ("_by" if from_y else "_bx"), v, v.base, gb, t, sg)
    return v.finish(t, out, res)


def softmax_backward(grad_output, x=None, axis=-1, *, y=None, out=None):
    """softmax_backward(grad_output, x, axis=-1, *, y=None, out=None)

    y * (grad_output - sum(grad_output * y)), y = softmax(x, axis); pass
    either x or y= (the forward output)."""
    return _softmax_like_backward("softmax_backward", "softmax", grad_output, x, y, axis, out)


def softmin_backward(grad_output, x=None, axis=-1, *, y=None, out=None):
    """softmin_backward(grad_output, x, axis=-1, *, y=None, out=None)

    -y * (grad_output - sum(grad_output * y)), y = softmin(x, axis); pass
    either x or y= (the forward output)."""
    return _softmax_like_backward("softmin_backward", "softmax", grad_output, x, y, axis, out,
                                  sg=-1.0)


def log_softmax_backward(grad_output, x=None, axis=-1, *, y=None, out=None):
    """log_softmax_backward(grad_output, x, axis=-1, *, y=None, out=None)

    grad_output - softmax(x) * sum(grad_output) (= grad_output at -inf
    entries); pass either x or y= (the forward output, then exp(y) is the
    softmax)."""
    return _softmax_like_backward("log_softmax_backward", "log_softmax", grad_output, x, y,
                                  axis, out)


def logsumexp(x, axis=-1, *, out=None):
    """logsumexp(x, axis=-1, *, out=None)

    max + log(sum(exp(x - max))) along `axis`, which is removed.  -inf for
    a row of only -inf and for an axis of length 0; +inf when a row holds
    +inf; NaN when it holds NaN."""
    fname = "logsumexp"
    if _containers.is_container(x):
        return _contained(fname, (x,), axis, out)
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    rshape = a.shape[:ax] + a.shape[ax + 1:]
    out = _arrays.check_out(out, rshape, res, fname, ((a, "x"),))
    v = _arrays.AxisView(a, comp, ax)
    t = v.target(out, rshape)
    if t.size:
        if v.n == 0:
            t[...] = -np.inf
        else:
            _run("logsumexp", v, v.base, None, t)
    r = v.finish(t, out, res)
    return r[()] if (out is None and r.ndim == 0) else r


def logsumexp_backward(grad_output, x, axis=-1, *, out=None):
    """logsumexp_backward(grad_output, x, axis=-1, *, out=None)

    grad_output (of logsumexp's shape, the axis removed) times softmax(x)
    along `axis`.  A row of only -inf (logsumexp constant -inf) gets 0
    (torch gives NaN there)."""
    fname = "logsumexp_backward"
    if _containers.is_container(grad_output, x):
        return _contained(fname, (grad_output, x), axis, out)
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    rshape = a.shape[:ax] + a.shape[ax + 1:]
    ga = _grad(fname, grad_output, rshape, comp, "logsumexp(x)")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (ga, "grad_output")))
    v = _arrays.AxisView(a, comp, ax)
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run("logsumexp_b", v, v.base, gb, t)
    return v.finish(t, out, res)


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


def _glu_forward(fname, name, x, axis, out, approximate="none"):
    op = _glu_op(fname, name, approximate)
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
    v = _arrays.AxisView(a, comp, ax)
    t = v.target(out, hshape)
    if a.size:
        _run(op, v, v.base, None, t)
    return v.finish(t, out, res)


def _glu_backward(fname, name, g, x, axis, out, approximate="none"):
    op = _glu_op(fname, name, approximate) + "_b"
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
    v = _arrays.AxisView(a, comp, ax)
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run(op, v, v.base, gb, t)
    return v.finish(t, out, res)


def glu(x, axis=-1, *, out=None):
    """glu(x, axis=-1, *, out=None): a * sigmoid(b), a and b the two halves
    of x along `axis` (odd length: ValueError)."""
    return _glu_forward("glu", "glu", x, axis, out)


def glu_backward(grad_output, x, axis=-1, *, out=None):
    """glu_backward(grad_output, x, axis=-1, *, out=None): the gradient
    with respect to x (x's shape): [g sigmoid(b), g a sigmoid'(b)]."""
    return _glu_backward("glu_backward", "glu", grad_output, x, axis, out)


def swiglu(x, axis=-1, *, out=None):
    """swiglu(x, axis=-1, *, out=None): silu(a) * b, a and b the two halves
    of x along `axis`."""
    return _glu_forward("swiglu", "swiglu", x, axis, out)


def swiglu_backward(grad_output, x, axis=-1, *, out=None):
    """swiglu_backward(grad_output, x, axis=-1, *, out=None):
    [g b silu'(a), g silu(a)]."""
    return _glu_backward("swiglu_backward", "swiglu", grad_output, x, axis, out)


def geglu(x, axis=-1, approximate="none", *, out=None):
    """geglu(x, axis=-1, approximate="none", *, out=None): gelu(a) * b, the
    erf form of gelu, or its tanh form with approximate="tanh"."""
    return _glu_forward("geglu", "geglu", x, axis, out, approximate)


def geglu_backward(grad_output, x, axis=-1, approximate="none", *, out=None):
    """geglu_backward(grad_output, x, axis=-1, approximate="none", *,
    out=None): [g b gelu'(a), g gelu(a)]."""
    return _glu_backward("geglu_backward", "geglu", grad_output, x, axis, out, approximate)


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
    r = _axis.fast_extra(_axis.OP["maxout"], x, None, axis, out, pieces)
    if r is not None:
        return r
    fname = "maxout"
    a, comp, res, ax, p, mshape = _maxout_prep(fname, x, pieces, axis)
    out = _arrays.check_out(out, mshape, res, fname, ((a, "x"),))
    v = _arrays.AxisView(a, comp, ax)
    t = v.target(out, mshape)
    if t.size:
        _run_extra("maxout", v, v.base, None, t, p)
    return v.finish(t, out, res)


def maxout_backward(grad_output, x, pieces, axis=-1, *, out=None):
    """maxout_backward(grad_output, x, pieces, axis=-1, *, out=None):
    grad_output goes to the first maximum of each group (the first NaN if
    the group holds NaN), 0 elsewhere."""
    r = _axis.fast_extra(_axis.OP["maxout_b"], x, grad_output, axis, out, pieces)
    if r is not None:
        return r
    fname = "maxout_backward"
    a, comp, res, ax, p, mshape = _maxout_prep(fname, x, pieces, axis)
    ga = _grad(fname, grad_output, mshape, comp, "maxout(x)")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (ga, "grad_output")))
    v = _arrays.AxisView(a, comp, ax)
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run_extra("maxout_b", v, v.base, gb, t, p)
    return v.finish(t, out, res)


# ------------------------------------------------------------- sparsemax

def sparsemax(x, axis=-1, *, out=None):
    """sparsemax(x, axis=-1, *, out=None): the Euclidean projection of each
    row onto the probability simplex (Martins & Astudillo 2016): max(x -
    tau, 0) with tau such that the row sums to 1.  -inf entries get 0; a
    row of only -inf, or with +inf or NaN, gives NaN."""
    r = _axis.fast_extra(_axis.OP["sparsemax"], x, None, axis, out, None)
    if r is not None:
        return r
    fname = "sparsemax"
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"),))
    v = _arrays.AxisView(a, comp, ax)
    t = v.target(out, a.shape)
    if a.size:
        _run_extra("sparsemax", v, v.base, None, t)
    return v.finish(t, out, res)


def sparsemax_backward(grad_output, x, axis=-1, *, out=None):
    """sparsemax_backward(grad_output, x, axis=-1, *, out=None): on the
    support S of sparsemax(x) (its positive entries), g - mean_S(g); 0
    elsewhere."""
    r = _axis.fast_extra(_axis.OP["sparsemax_b"], x, grad_output, axis, out, None)
    if r is not None:
        return r
    fname = "sparsemax_backward"
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    ga = _grad(fname, grad_output, a.shape, comp, "x")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (ga, "grad_output")))
    v = _arrays.AxisView(a, comp, ax)
    gb = v.like(ga)
    t = v.target(out, a.shape)
    if a.size:
        _run_extra("sparsemax_b", v, v.base, gb, t)
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
        _axis.run_extra(_axis.OP["softmax_jacobian"], s, None, j, s.size // n, n, 1, 1)
    if j.dtype == res:
        return j
    with _arrays.overflow_ok(j.dtype, res):
        return j.astype(res)
