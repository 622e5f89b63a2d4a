"""PReLU: a learned slope per channel along `axis`."""

from __future__ import annotations

import numpy as np

from fastact import _api

try:  # numpy >= 1.25
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError


def _prepare(fname, x, weight, axis):
    a, comp, res = _api.prepare(x, fname, "x")
    w = _api.as_array(weight, fname, "weight")
    _api.dtypes(w.dtype, fname, "weight")
    if w.ndim != 1:
        raise ValueError(f"{fname}(): weight must be 1-D, got shape {w.shape}")
    if a.ndim <= 1:
        ax = 0                     # a 1-D x uses axis 0 (and a 0-d x one slope)
        nch = a.shape[0] if a.ndim == 1 else 1
    else:
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{fname}(): axis must be an int, got {type(axis).__name__}")
        if not -a.ndim <= axis < a.ndim:
            raise AxisError(axis, a.ndim, f"{fname}(): axis")
        ax = axis % a.ndim
        nch = a.shape[ax]
    if w.size not in (1, nch):
        raise ValueError(f"{fname}(): weight has {w.size} entries but x has {nch} channels "
                         f"along axis {ax}; pass {nch} entries (or 1 for a shared slope)")
    shape = [1] * a.ndim
    if a.ndim and w.size != 1:
        shape[ax] = nch
    wb = w.astype(comp).reshape(shape) if a.ndim else w.astype(comp).reshape(())
    return a, comp, res, w, wb, ax


def prelu(x, weight, *, axis=1, out=None):
    """prelu(x, weight, *, axis=1, out=None)

    x if x > 0 else weight[c] * x, c the index along `axis` (a 1-D x uses
    axis 0).  `weight` is 1-D with x.shape[axis] entries, or 1 (shared).
    """
    fname = "prelu"
    a, comp, res, w, wb, ax = _prepare(fname, x, weight, axis)
    out = _api.check_out(out, a.shape, res, fname, ((a, "x"), (w, "weight")))
    with np.errstate(all="ignore"):
        return _prelu_fwd(a, comp, res, wb, out)


def _prelu_fwd(a, comp, res, wb, out):
    xc = a.astype(comp, copy=False)
    # weight 0 gives 0 for every x < 0 (also -inf: the limit, not 0 * -inf)
    neg = np.where(wb == 0, np.where(np.isnan(xc), xc, 0), wb * xc)
    y = np.where(xc > 0, xc, neg)
    return _api._finish(y.astype(comp, copy=False), out, res, a.ndim == 0)


def prelu_backward(grad_output, x, weight, *, axis=1):
    """prelu_backward(grad_output, x, weight, *, axis=1) -> (grad_x, grad_weight)

    grad_x = grad_output * (1 if x > 0 else weight[c]); grad_weight has
    weight's shape: the sum of grad_output * x where x <= 0 over every other
    axis.  NaN in x gives NaN in both.
    """
    fname = "prelu_backward"
    a, comp, res, w, wb, ax = _prepare(fname, x, weight, axis)
    g = _api.as_array(grad_output, fname, "grad_output")
    _api.dtypes(g.dtype, fname, "grad_output")
    if g.shape != a.shape:
        raise ValueError(f"{fname}(): grad_output has shape {g.shape} but x has shape "
                         f"{a.shape}; they must be equal (no broadcasting)")
    with np.errstate(all="ignore"):
        return _prelu_bwd(a, g, w, wb, ax, comp, res, fname)


def _prelu_bwd(a, g, w, wb, ax, comp, res, fname):
    xc = a.astype(comp, copy=False)
    gc = g.astype(comp, copy=False)
    d = np.where(xc > 0, np.ones((), comp), wb)
    d = np.where(np.isnan(xc), xc, d)
    gx = (gc * d).astype(comp, copy=False)
    contrib = np.where(xc > 0, np.zeros((), comp), gc * xc)
    if w.size == 1 or a.ndim == 0:
        gw = np.sum(contrib, dtype=comp).reshape(w.shape)
    else:
        others = tuple(i for i in range(a.ndim) if i != ax)
        gw = np.sum(contrib, axis=others, dtype=comp)
    gw_res = _api.dtypes(w.dtype, fname, "weight")[1]
    gw_res = np.result_type(gw_res, res)
    gx = gx.astype(res, copy=False)
    return (gx[()] if a.ndim == 0 else gx), gw.astype(gw_res, copy=False)
