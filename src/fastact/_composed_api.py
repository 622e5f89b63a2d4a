"""Functions composed in Python over the compiled families (no kernel of
their own): rrelu (training mode draws a slope per element), hardmax,
logmeanexp, entmax15 and softmax_cross_entropy, with their backward.

They follow the rules of the other families (../shared/API.md): dtypes
(float16 computed in float32, integers and bool in float64), `out=` checked
before anything is written, any axis, any memory layout.
"""

from __future__ import annotations

import math

import numpy as np

from fastact import _arrays, _axis_api, _elementwise

__all__ = [
    "rrelu", "rrelu_backward", "hardmax", "hardmax_backward", "logmeanexp",
    "logmeanexp_backward", "entmax15", "entmax15_backward", "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
]

_input = _axis_api._input
_axis_index = _axis_api._axis_index
_grad = _axis_api._grad
_x_or_y = _axis_api._x_or_y


def _float(fname: str, name: str, v) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                              np.floating)):
        raise TypeError(f"{fname}(): {name} must be a real number, got {type(v).__name__}")
    return float(v)


# ------------------------------------------------------------------ rrelu

def _rrelu_slopes(fname, lower, upper):
    lo, hi = _float(fname, "lower", lower), _float(fname, "upper", upper)
    if not lo <= hi:
        raise ValueError(f"{fname}(): lower must be <= upper, got lower={lower!r}, "
                         f"upper={upper!r}")
    return lo, hi


def _rrelu_noise(fname, noise, shape, comp, training):
    if noise is None:
        return None
    if not training:
        raise TypeError(f"{fname}(): noise= is used only with training=True (the slopes "
                        "drawn for each element); evaluation mode has one slope")
    if not isinstance(noise, np.ndarray):
        raise TypeError(f"{fname}(): noise must be a numpy.ndarray, got "
                        f"{type(noise).__name__}")
    if noise.shape != shape or noise.dtype != comp:
        raise ValueError(f"{fname}(): noise must have x's shape {shape} and the computation "
                         f"dtype {comp}, got {noise.shape} {noise.dtype}")
    return noise


def rrelu(x, lower=1.0 / 8.0, upper=1.0 / 3.0, *, training=False, generator=None, noise=None,
          scale=None, bias=None, out=None):
    """Randomized leaky ReLU (torch's rrelu): x if x > 0 else a * x.

    Parameters
    ----------
    x : array_like
        Input (the rules of every function).
    lower, upper : float, default 1/8 and 1/3
        The range of the negative slope; lower <= upper.
    training : bool, default False
        False: a = (lower + upper) / 2 for every element (leaky_relu with
        that slope, as torch's evaluation mode).  True: one slope per element
        drawn uniformly from [lower, upper) with `generator`.
    generator : numpy.random.Generator
        Required with training=True (draws x.size float64 uniforms, then
        rounded to the computation dtype).
    noise : ndarray, optional
        With training=True, an array of x's shape in the computation dtype
        that receives the factor used for each element (the slope where
        x <= 0, 1 where x > 0): pass it to rrelu_backward for the exact
        gradient (torch's rrelu_with_noise).
    scale, bias : array_like, optional
        The fused pre-activation: rrelu(x * scale + bias).
    out : ndarray, optional
        The result's array (may be x).

    Returns
    -------
    ndarray or NumPy scalar
    """
    fname = "rrelu"
    lo, hi = _rrelu_slopes(fname, lower, upper)
    if not training:
        if noise is not None:
            _rrelu_noise(fname, noise, (), None, False)
        return _elementwise.leaky_relu(x, negative_slope=(lo + hi) / 2, scale=scale, bias=bias,
                                       out=out)
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{fname}(): training=True needs generator=numpy.random.Generator "
                        f"(for example numpy.random.default_rng(0)), got "
                        f"{type(generator).__name__}")
    a, comp, res = _arrays.prepare(x, fname, "x")
    noise = _rrelu_noise(fname, noise, a.shape, comp, True)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"),) + (
        ((noise, "noise"),) if noise is not None else ()))
    if scale is not None or bias is not None:
        u = _elementwise.leaky_relu(a, negative_slope=1.0, scale=scale, bias=bias)
        u = _arrays.native(np.asarray(u), comp)
    else:
        u = _arrays.native(a, comp)
    slopes = generator.uniform(lo, hi, size=a.shape).astype(comp)
    r = np.where(u > 0, np.ones((), comp), slopes)      # NaN: 1 (as torch), y = NaN
    if noise is not None:
        np.copyto(noise, r)
    y = np.multiply(u, r, dtype=comp)
    return _arrays.finish(np.asarray(y), out, res, a.ndim == 0 and out is None)


def rrelu_backward(grad_output, x, lower=1.0 / 8.0, upper=1.0 / 3.0, *, training=False,
                   noise=None, scale=None, bias=None, out=None):
    """Gradient of rrelu with respect to x.

    training=False: leaky_relu_backward with slope (lower + upper) / 2.
    training=True: grad_output * noise, where noise is the array rrelu
    filled (required: the slopes drawn in the forward).  With scale, the
    result is also multiplied by scale (the gradient with respect to x of
    rrelu(x * scale + bias)).
    """
    fname = "rrelu_backward"
    lo, hi = _rrelu_slopes(fname, lower, upper)
    if not training:
        if noise is not None:
            _rrelu_noise(fname, noise, (), None, False)
        return _elementwise.leaky_relu_backward(grad_output, x, negative_slope=(lo + hi) / 2,
                                                scale=scale, bias=bias, out=out)
    a, comp, res = _arrays.prepare(x, fname, "x")
    if noise is None:
        raise TypeError(f"{fname}(): training=True needs noise= (the array rrelu filled with "
                        "the slopes it drew)")
    noise = _rrelu_noise(fname, noise, a.shape, comp, True)
    ga = _grad(fname, grad_output, a.shape, comp, "x")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (ga, "grad_output")))
    r = np.multiply(_arrays.native(ga, comp), noise, dtype=comp)
    if scale is not None:
        r = _elementwise.leaky_relu_backward(r, np.ones_like(r), negative_slope=1.0,
                                             scale=scale)
    return _arrays.finish(np.asarray(r), out, res, a.ndim == 0 and out is None)


# ---------------------------------------------------------------- hardmax

def _rows_moved(fname, x, axis):
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    return a, comp, res, ax, np.moveaxis(_arrays.native(a, comp), ax, -1)


def _bad_rows(z):
    """rows (last axis) holding NaN: their results are NaN"""
    return np.isnan(z).any(axis=-1, keepdims=True)


def hardmax(x, axis=-1, *, out=None):
    """hardmax(x, axis=-1, *, out=None): 1 at the first maximum of each row
    along `axis`, 0 elsewhere (ONNX Hardmax); a row holding NaN gives NaN."""
    fname = "hardmax"
    a, comp, res, ax, z = _rows_moved(fname, x, axis)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"),))
    r = np.zeros(z.shape, comp)
    if a.size:
        np.put_along_axis(r, np.argmax(z, axis=-1)[..., None], 1, axis=-1)
        r = np.where(_bad_rows(z), np.asarray(np.nan, comp), r)
    return _arrays.finish(np.moveaxis(r, -1, ax), out, res, False)


def hardmax_backward(grad_output, x, axis=-1, *, out=None):
    """hardmax_backward(grad_output, x, axis=-1, *, out=None): hardmax is
    constant between ties, so grad_output * 0 (NaN where grad_output is
    not finite, and on rows of x holding NaN)."""
    fname = "hardmax_backward"
    a, comp, res, ax, z = _rows_moved(fname, x, axis)
    ga = _grad(fname, grad_output, a.shape, comp, "x")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"), (ga, "grad_output")))
    with np.errstate(invalid="ignore"):
        r = np.moveaxis(_arrays.native(ga, comp), ax, -1) * np.zeros((), comp)
    if a.size:
        r = np.where(_bad_rows(z), np.asarray(np.nan, comp), r)
    return _arrays.finish(np.moveaxis(r, -1, ax), out, res, False)


# ------------------------------------------------------------- logmeanexp

def _count(fname, a, ax, where, keepdims):
    """entries averaged per row: the axis length, or where's True entries"""
    if where is None:
        n = np.asarray(float(a.shape[ax]))
    else:
        w = np.asarray(where)
        if w.dtype != np.bool_:
            raise TypeError(f"{fname}(): where must be a boolean array, got dtype {w.dtype}")
        try:
            w = np.broadcast_to(w, a.shape)
        except ValueError:
            raise ValueError(f"{fname}(): where has shape {w.shape}, which does not broadcast "
                             f"to x's shape {a.shape}") from None
        n = w.sum(axis=ax, keepdims=keepdims, dtype=np.float64)
    return n


def logmeanexp(x, axis=-1, *, where=None, keepdims=False, out=None):
    """logmeanexp(x, axis=-1, *, where=None, keepdims=False, out=None)

    log(mean(exp(x))) along `axis` (jax.nn.logmeanexp): logsumexp(x) -
    log(n), n the axis length or the count of where=True entries.  A row
    with nothing to average (fully masked, or an axis of length 0) gives
    -inf, as logsumexp does (jax gives NaN there).  The subtraction is made
    in float64 and rounded once."""
    fname = "logmeanexp"
    a, comp, res = _input(fname, x)
    ax = _axis_index(fname, axis, a.ndim)
    n = _count(fname, a, ax, where, keepdims)
    lse = _axis_api.logsumexp(_arrays.native(a, comp), axis=ax, where=where, keepdims=keepdims)
    rshape = np.shape(lse)
    out = _arrays.check_out(out, rshape, res, fname, ((a, "x"),))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.asarray(lse, np.float64) - np.log(np.maximum(n, 1.0))
    r = np.asarray(r).astype(comp)
    return _arrays.finish(r, out, res, out is None and r.ndim == 0)


def logmeanexp_backward(grad_output, x, axis=-1, *, where=None, keepdims=False, out=None):
    """logmeanexp_backward(grad_output, x, axis=-1, *, where=None, keepdims=False, out=None):
    the same as logsumexp_backward (log(n) is a constant): grad_output
    times softmax(x) along the axis, 0 at masked entries and on fully
    masked rows."""
    return _axis_api.logsumexp_backward(grad_output, x, axis=axis, where=where,
                                        keepdims=keepdims, out=out)


# --------------------------------------------------------------- entmax15

def _entmax15_rows(z: np.ndarray) -> np.ndarray:
    """1.5-entmax over the last axis of z (Peters, Niculae & Martins 2019,
    exact sort-based threshold): p = max(z/2 - tau, 0)^2 with tau such
    that the row sums to 1; in float64, on the row shifted by its max.
    tau >= -1 after the shift (the top entry has p <= 1), so an entry more
    than 2 below the max is never in the support: the shifted row is
    clamped there (a finite row never overflows)."""
    n = z.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        zmax = z.max(axis=-1, keepdims=True)
        bad = ~np.isfinite(zmax)                  # NaN, +inf, or only -inf
        X = (z.astype(np.float64) - np.where(bad, 0, zmax).astype(np.float64)) / 2
        X = np.maximum(X, -2.0)                   # NaN stays (its row is bad)
        Xs = -np.sort(-X, axis=-1)
        k = np.arange(1, n + 1, dtype=np.float64)
        mean = np.cumsum(Xs, axis=-1) / k
        msq = np.cumsum(Xs * Xs, axis=-1) / k
        delta = (1 - k * (msq - mean * mean)) / k
        tau_k = mean - np.sqrt(np.maximum(delta, 0))
        kz = (tau_k <= Xs).sum(axis=-1, keepdims=True)
        tau = np.take_along_axis(tau_k, np.maximum(kz - 1, 0), axis=-1)
        p = np.maximum(X - tau, 0) ** 2
    return np.where(bad | (kz == 0), np.nan, p)


def entmax15(x, axis=-1, *, out=None):
    """entmax15(x, axis=-1, *, out=None): 1.5-entmax along `axis` (Peters,
    Niculae & Martins 2019), max(x/2 - tau, 0)^2 with tau such that each
    row sums to 1; sparse like sparsemax, smooth like softmax.  -inf
    entries get 0; a row of only -inf, or with +inf or NaN, gives NaN.
    Computed in float64 and rounded once."""
    fname = "entmax15"
    a, comp, res, ax, z = _rows_moved(fname, x, axis)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"),))
    p = _entmax15_rows(z).astype(comp) if a.size else np.empty(z.shape, comp)
    return _arrays.finish(np.moveaxis(p, -1, ax), out, res, False)


def entmax15_backward(grad_output, x=None, axis=-1, *, y=None, out=None):
    """entmax15_backward(grad_output, x=None, axis=-1, *, y=None, out=None)

    With s = sqrt(entmax15(x)): s * g - s * sum(s * g) / sum(s) along the
    axis (0 off the support).  Pass x, or y= (the forward output)."""
    fname = "entmax15_backward"
    v, vname, from_y = _x_or_y(fname, x, y)
    a, comp, res, ax, z = _rows_moved(fname, v, axis)
    ga = _grad(fname, grad_output, a.shape, comp, vname)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, vname), (ga, "grad_output")))
    if not a.size:
        return _arrays.finish(np.empty(a.shape, comp), out, res, False)
    p = z.astype(np.float64) if from_y else _entmax15_rows(z)
    g = np.moveaxis(_arrays.native(ga, comp), ax, -1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(np.maximum(p, 0))
        s = np.where(np.isnan(p), p, s)
        sg = s * g
        r = sg - s * (sg.sum(axis=-1, keepdims=True) / s.sum(axis=-1, keepdims=True))
    return _arrays.finish(np.moveaxis(r.astype(comp), -1, ax), out, res, False)


# ------------------------------------------------------- cross-entropy

_REDUCTIONS = ("none", "mean", "sum")


def _xent_args(fname, logits, target, axis, label_smoothing, reduction):
    a, comp, res = _input(fname, logits, "logits")
    ax = _axis_index(fname, axis, a.ndim)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fname}(): reduction must be one of 'none', 'mean', 'sum', got "
                         f"{reduction!r}")
    eps = _float(fname, "label_smoothing", label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{fname}(): label_smoothing must be in [0, 1], got "
                         f"{label_smoothing!r}")
    t = _arrays.as_array(target, fname, "target")
    rshape = a.shape[:ax] + a.shape[ax + 1:]
    if t.dtype.kind in "iu":
        if t.shape != rshape:
            raise ValueError(f"{fname}(): integer target (class indices) must have logits' "
                             f"shape without the class axis, {rshape}, got {t.shape}")
        n = a.shape[ax]
        if t.size and (t.min() < 0 or t.max() >= n):
            raise ValueError(f"{fname}(): target holds class indices outside [0, {n}) (the "
                             f"length of logits along axis {ax})")
        return a, comp, res, ax, t.astype(np.intp, copy=False), None, eps, rshape
    _arrays.dtypes(t.dtype, fname, "target")
    if t.dtype.kind == "b":
        raise TypeError(f"{fname}(): target must be integer class indices or float "
                        "probabilities, got a boolean array")
    if t.shape != a.shape:
        raise ValueError(f"{fname}(): probability target must have logits' shape {a.shape}, "
                         f"got {t.shape} (class indices need an integer dtype)")
    return a, comp, res, ax, None, _arrays.native(t, comp), eps, rshape


def _rows_of(a, comp, ax):
    return np.moveaxis(_arrays.native(a, comp), ax, -1)


def softmax_cross_entropy(logits, target, *, axis=-1, label_smoothing=0.0, reduction="none"):
    """softmax_cross_entropy(logits, target, *, axis=-1, label_smoothing=0.0, reduction="none")

    The cross-entropy of softmax(logits) along `axis` against `target`, as
    torch.nn.functional.cross_entropy: target is integer class indices
    (logits' shape without the axis) or probabilities (logits' shape).
    label_smoothing mixes the target with the uniform distribution:
    (1 - e) target + e / C.  The loss of a row is logsumexp(z) * sum(t) -
    sum(t * z), t the (smoothed) target; an entry whose target is 0 adds
    nothing, even at a logit of -inf (torch gives NaN there).  Stable for
    any finite logits.  reduction: "none" (one loss per row), "mean" (over
    the rows) or "sum"."""
    fname = "softmax_cross_entropy"
    a, comp, res, ax, idx, prob, eps, rshape = _xent_args(fname, logits, target, axis,
                                                          label_smoothing, reduction)
    z = _rows_of(a, comp, ax)
    n = z.shape[-1]
    lse = np.asarray(_axis_api.logsumexp(z, axis=-1), comp)
    with np.errstate(invalid="ignore", over="ignore"):
        if idx is not None:
            zt = np.take_along_axis(z, idx[..., None], axis=-1)[..., 0] if z.size else lse
            loss = lse - (1 - eps) * zt if eps < 1 else lse
            if eps:
                loss = loss - eps * z.mean(axis=-1, dtype=comp)
        else:
            t = np.moveaxis(prob, ax, -1)
            if eps:
                t = (1 - eps) * t + eps / n
            tz = np.where(t == 0, np.zeros((), comp), t * z).sum(axis=-1, dtype=comp)
            loss = lse * t.sum(axis=-1, dtype=comp) - tz
    loss = np.asarray(loss, comp)
    if reduction == "mean":
        loss = loss.mean(dtype=comp) if loss.size else np.asarray(np.nan, comp)
    elif reduction == "sum":
        loss = loss.sum(dtype=comp)
    r = np.asarray(loss).astype(res)
    return r[()] if r.ndim == 0 else r


def softmax_cross_entropy_backward(grad_output, logits, target, *, axis=-1,
                                   label_smoothing=0.0, reduction="none", out=None):
    """softmax_cross_entropy_backward(grad_output, logits, target, *, axis=-1, label_smoothing=0.0, reduction="none", out=None)

    The gradient with respect to logits: (softmax(logits) * sum(t) - t) *
    grad_output, t the (smoothed) target, grad_output of the loss's shape
    (one per row for reduction="none", a scalar otherwise; "mean" divides by
    the number of rows)."""
    fname = "softmax_cross_entropy_backward"
    a, comp, res, ax, idx, prob, eps, rshape = _xent_args(fname, logits, target, axis,
                                                          label_smoothing, reduction)
    gshape = rshape if reduction == "none" else ()
    ga = _grad(fname, grad_output, gshape, comp, "the loss")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "logits"), (ga, "grad_output")))
    n = a.shape[ax]
    gr = np.array(_row_scale(ga, reduction, rshape, comp))          # keeps 0-d
    t = g = None
    if idx is None:
        t = np.moveaxis(prob, ax, -1)
        if eps:
            t = (1 - eps) * t + eps / n
        g = gr * t.sum(axis=-1, dtype=comp)
    # grad * sum(t) * softmax(logits): logsumexp's backward, one threaded pass
    r = _axis_api.logsumexp_backward(gr if g is None else g, _arrays.native(a, comp), axis=ax)
    s = np.moveaxis(r, ax, -1)
    with np.errstate(invalid="ignore", over="ignore"):
        if idx is not None:
            if eps:
                s -= (gr * comp.type(eps / n))[..., None]
            _sub_onehot(s, idx, gr * comp.type(1 - eps))
        else:
            s -= gr[..., None] * t
    return _arrays.finish(r, out, res, False)


def _row_scale(ga, reduction, rshape, comp):
    """grad_output per row (a scalar loss's gradient spread over the rows;
    "mean" divides it by the number of rows)"""
    g = _arrays.native(ga, comp)
    if reduction == "mean":
        g = g / np.asarray(max(math.prod(rshape), 1), comp)
    return np.broadcast_to(g, rshape)


def _sub_onehot(s, idx, v):
    """s[..., idx] -= v (v one value per row), row by row"""
    if s.size:
        sel = np.take_along_axis(s, idx[..., None], axis=-1)
        np.put_along_axis(s, idx[..., None], sel - np.asarray(v)[..., None], axis=-1)
