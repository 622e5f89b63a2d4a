"""PReLU: a learned slope per channel along `axis`."""

from __future__ import annotations


import numpy as np

from fastact import _arrays, _prelu

try:  # numpy >= 1.25
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError


def _prepare(fname, x, weight, axis):
    a, comp, res = _arrays.prepare(x, fname, "x")
    w = _arrays.as_array(weight, fname, "weight")
    _arrays.dtypes(w.dtype, fname, "weight")
    if w.ndim != 1:
        raise ValueError(f"{fname}(): weight must be 1-D, got shape {w.shape}")
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{fname}(): axis must be an int, got {type(axis).__name__}")
    if a.ndim <= 1:
        ax = 0                     # a 1-D x uses axis 0 (and a 0-d x one slope)
        nch = a.shape[0] if a.ndim == 1 else 1
    else:
        if not -a.ndim <= axis < a.ndim:
            raise AxisError(axis, a.ndim, f"{fname}(): axis")
        ax = axis % a.ndim
        nch = a.shape[ax]
    if w.size not in (1, nch):
        raise ValueError(f"{fname}(): weight has {w.size} entries but x has {nch} channels "
                         f"along axis {ax}; pass {nch} entries (or 1 for a shared slope)")
    return a, comp, res, w, ax


def _view(a, comp, ax, w):
    """a as the (outer, C, inner) block of the channel axis
    (_arrays.AxisView).  Returns (dense, transposed, outer, C, inner)."""
    v = _arrays.AxisView(a, comp, ax)
    if w.size == 1 or v.base.ndim == 0:
        return v.base, v.tr, 1, 1, v.base.size
    return v.base, v.tr, v.outer, v.n, v.inner


def _kernel_dtype(res, comp, *others):
    """The dtype the loops read and write: a narrow result type (bfloat16,
    float16) as it is, computed in float32 inside the loop, where every
    other array (grad_output) has that narrow type too; else the
    computation dtype (a float32 or float64 copy where the input has
    another dtype)."""
    nw = _arrays.narrow_index(res)
    if nw >= 0 and all(_arrays.narrow_index(o.dtype) == nw for o in others):
        return res.newbyteorder("=")
    return comp


def _weights(w, comp):
    with _arrays.overflow_ok(w.dtype, comp):
        return np.require(w.reshape(-1), dtype=comp, requirements=["C", "A"])


def prelu(x, weight, *, axis=1, out=None):
    """prelu(x, weight, *, axis=1, out=None)

    x if x > 0 else weight[c] * x, c the index along `axis` (a 1-D x uses
    axis 0).  `weight` is 1-D with x.shape[axis] entries, or 1 (shared).
    """
    fname = "prelu"
    r = _prelu.fast_forward(x, weight, axis, out)   # the common case, in C
    if r is not None:
        return r
    a, comp, res, w, ax = _prepare(fname, x, weight, axis)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (w, "weight")))
    kdt = _kernel_dtype(res, comp)
    d, tr, outer, nch, inner = _view(a, kdt, ax, w)
    target = None
    if out is not None:
        cand = out.T if tr else out
        if cand.dtype == kdt and cand.flags.c_contiguous and cand.flags.aligned:
            target = cand
    into_out = target is not None
    if target is None:
        target = np.empty(d.shape, dtype=kdt)
    _prelu.forward(d, target, _weights(w, comp), outer, nch, inner)
    u = target.T if tr else target
    if out is not None:
        if not into_out:
            with _arrays.overflow_ok(u.dtype, out.dtype):
                np.copyto(out, u, casting="unsafe")
        return out
    with _arrays.overflow_ok(u.dtype, res):
        result = u if u.dtype == res else u.astype(res)
    return result[()] if a.ndim == 0 else result


def prelu_backward(grad_output, x, weight, *, axis=1):
    """prelu_backward(grad_output, x, weight, *, axis=1) -> (grad_x, grad_weight)

    grad_x = grad_output * (1 if x > 0 else weight[c]); grad_weight has
    weight's shape: the sum of grad_output * x where x <= 0 over every other
    axis.  NaN in x gives NaN in both.
    """
    fname = "prelu_backward"
    r = _prelu.fast_backward(grad_output, x, weight, axis)  # the common case, in C
    if r is not None:
        return r
    a, comp, res, w, ax = _prepare(fname, x, weight, axis)
    g = _arrays.as_array(grad_output, fname, "grad_output")
    _arrays.dtypes(g.dtype, fname, "grad_output")
    if g.shape != a.shape:
        raise ValueError(f"{fname}(): grad_output has shape {g.shape} but x has shape "
                         f"{a.shape}; they must be equal (no broadcasting)")
    kdt = _kernel_dtype(res, comp, g)
    d, tr, outer, nch, inner = _view(a, kdt, ax, w)
    with _arrays.overflow_ok(g.dtype, kdt):
        gd = np.require(g.T if tr else g, dtype=kdt, requirements=["C", "A"])
    gxt = np.empty(d.shape, dtype=kdt)
    # grad_weight: summed in double (float32 products are exact there)
    gw = _prelu.backward(gd, d, gxt, _weights(w, comp), outer, nch, inner)
    gw_res = _arrays.dtypes(w.dtype, fname, "weight")[1]
    gw_res = np.result_type(gw_res, res)
    if gw_res != np.float64:
        # round as the computation dtype would (float16 via float32)
        with np.errstate(over="ignore"):       # a sum beyond the dtype's range is inf
            gw = gw.astype(comp).astype(gw_res, copy=False)
    gx = gxt.T if tr else gxt
    with _arrays.overflow_ok(gx.dtype, res):
        gx = gx.astype(res, copy=False)
    return (gx[()] if a.ndim == 0 else gx), gw.reshape(w.shape)
