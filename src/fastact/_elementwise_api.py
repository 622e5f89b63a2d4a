"""The elementwise family's Python layer: the general path of the
functions (any input the C fast path of fastact._elementwise does not take:
scalars, lists, other dtypes, byte-swapped or strided arrays, a
grad_output of another dtype, out= of another layout; pandas, xarray and
Dask inputs go to fastact.ufunc; a narrow type, float16 or bfloat16, is
computed in float32 a chunk at a time by the same driver as on the fast
path) and the parameter rules.  The compiled module never imports this one: this
module installs itself there at import (fastact._elementwise._install), so
the two layers have no import cycle.
"""

from __future__ import annotations

import numbers

import numpy as np

from fastact import _arrays, _containers, _elementwise, _spec


def _ufunc(fname: str, kernel: str, suffix: str = ""):
    """The fastact.ufunc object of a function (and kernel variant)."""
    from fastact import ufunc

    base = fname.removesuffix("_backward")
    spec = _spec.BY_NAME[base]
    name = base
    if isinstance(spec.kernel, dict):
        for i, (choice, k) in enumerate(spec.kernel.items()):
            if k == kernel and i:
                name = f"{base}_{choice}"
    return getattr(ufunc, name + suffix)


def _user_params(fname: str, params: tuple) -> tuple:
    """The parameters a user passes (a special case's fixed ones left out:
    its ufunc has them built in)."""
    base = fname.removesuffix("_backward")
    return params[:len(_spec.BY_NAME[base].float_params)]


def _by_ufunc(uf, args, out):
    return uf(*args) if out is None else uf(*args, out=out)


def unary(fname: str, kernel: str, x, out, params: tuple):
    if _containers.is_container(x, out):
        return _by_ufunc(_ufunc(fname, kernel), (x,) + _user_params(fname, params), out)
    a, comp, res = _arrays.prepare(x, fname, "x")
    out = _arrays.check_out(out, a.shape, res, fname, ((a, "x"),))
    return _compute(kernel, 0, None, a, out, comp, res, params)


def binary(fname: str, kernel: str, from_y: bool, g, x, out, params: tuple):
    if _containers.is_container(g, x, out):
        uf = _ufunc(fname, kernel, "_backward_y" if from_y else "_backward")
        return _by_ufunc(uf, (g, x) + _user_params(fname, params), out)
    xname = "y" if from_y else "x"
    a, comp, res = _arrays.prepare(x, fname, xname)
    ga = _grad_output(g, a, fname, xname)
    out = _arrays.check_out(out, a.shape, res, fname, ((a, xname), (ga, "grad_output")))
    return _compute(kernel, 2 if from_y else 1, ga, a, out, comp, res, params)


def _grad_output(g, a: np.ndarray, fname: str, xname: str) -> np.ndarray:
    ga = _arrays.as_array(g, fname, "grad_output")
    _arrays.dtypes(ga.dtype, fname, "grad_output")
    if ga.shape != a.shape:
        raise ValueError(f"{fname}(): grad_output has shape {ga.shape} but {xname} has shape "
                         f"{a.shape}; they must be equal (no broadcasting)")
    return ga


def _compute(kernel: str, mode: int, ga, a: np.ndarray, out, comp: np.dtype, res: np.dtype,
             params: tuple, s=None, b=None):
    """The kernel over checked arrays (mode 0: forward of a; 1, 2: backward
    from x, from y, ga the grad_output; s, b: the fused scale and bias in the
    computation dtype, or None).  A narrow x (and a grad_output of the same
    narrow type) goes to the kernel as it is, computed in float32 a chunk at
    a time; anything else as a dense array of the computation dtype."""
    order = _arrays.order(a)
    nw = _arrays.narrow_index(res)
    if nw >= 0 and (ga is None or _arrays.narrow_index(ga.dtype) == nw):
        comp = res
    else:
        nw = -1
    xc = _arrays.dense(a, comp, order)
    gc = _arrays.dense(ga, comp, order) if mode else None
    target = _arrays.target(out, a.shape, comp, order)
    if mode == 2:
        b = None                         # the y form: the bias is in y already
    if s is None and b is None and nw < 0:
        if mode == 0:
            _elementwise.run_unary(kernel, xc, target, params)
        else:
            _elementwise.run_binary(kernel, mode == 2, gc, xc, target, params)
    else:
        period = 1
        if s is not None or b is not None:
            s, b, period = _arrays.periodic(s, b, a.shape, order, target)
        _elementwise.run_fused(kernel, mode, gc, xc, target, params, s, b, period, nw)
    return _arrays.finish(target, out, res, a.ndim == 0)


# ------------------------------------------------ fused pre-activation

def fused(fname: str, kernel: str, mode: int, g, x, out, params: tuple, scale, bias):
    """fname(x * scale + bias) in one pass (mode 0); its gradient with
    respect to x, grad_output * f'(x * scale + bias) * scale, from x (mode 1)
    or from y = f(x * scale + bias) (mode 2: the bias is in y already and
    does not enter).  scale or bias may be None (left out)."""
    xname = "y" if mode == 2 else "x"
    if _containers.is_container(g, x, out):
        raise _arrays.pre_container_error(fname, xname)
    a, comp, res = _arrays.prepare(x, fname, xname)
    s = _arrays.pre_operand(scale, "scale", fname, a.shape, xname, comp)
    b = _arrays.pre_operand(bias, "bias", fname, a.shape, xname, comp)
    ga = _grad_output(g, a, fname, xname) if mode else None
    out = _arrays.check_out(out, a.shape, res, fname,
                            ((a, xname),) + (((ga, "grad_output"),) if mode else ()))
    return _compute(kernel, mode, ga, a, out, comp, res, params, s, b)


# --------------------------------------------------------------- parameters

def param_value(v, name: str, fname: str) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.floating,
                                                             np.integer)):
        if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "fiu":
            return float(v)
        raise TypeError(f"{fname}(): {name} must be a real number, got {type(v).__name__}")
    try:
        return float(v)
    except OverflowError:
        raise ValueError(f"{fname}(): {name} is too large for a float (got an integer "
                         f"of {int(v).bit_length()} bits)") from None


def _in_float32(x) -> bool:
    """whether x's computation dtype is float32 (float32 or a narrow type)"""
    try:
        dt = _arrays.as_array(x, "", "x").dtype
    except TypeError:
        return False
    return (dt.kind == "f" and dt.itemsize in (2, 4)) or _arrays.is_bfloat16(dt)


def _f32(v: float) -> float:
    with np.errstate(over="ignore"):
        return float(np.float32(v))


def check_param(fname: str, name: str, value, check: str, v: float, x):
    """The validity check of a float parameter on its value converted to the
    computation dtype (v: the float64 value; x: the array that sets the
    dtype).  The generated entry points call this only where the check
    fails in float64 or in float32; it raises unless the value in the
    computation dtype passes."""
    if _in_float32(x):
        v = _f32(v)
    if not _spec.CHECKS[check](v):
        bad_param(fname, name, value, check)


def check_relation(fname: str, rel: str, a, b, va: float, vb: float, x):
    """As check_param, for a relation `a <= b` that fails in float64."""
    if _in_float32(x) and _f32(va) <= _f32(vb):
        return
    bad_relation(fname, rel, a, b)


def bad_param(fname: str, name: str, value, check: str):
    raise ValueError(f"{fname}(): {name} must be {_spec.CHECK_TEXT[check]}, got {value!r}")


def bad_relation(fname: str, rel: str, a, b):
    raise ValueError(f"{fname}(): parameters must satisfy {rel.replace('<=', ' <= ')}, "
                     f"got {a!r} and {b!r}")


def choose_kernel(fname: str, value) -> str:
    spec = _spec.BY_NAME[fname.removesuffix("_backward")]
    (p,) = [p for p in spec.params if p.type == "choice"]
    if not isinstance(value, str) or value not in spec.kernel:
        raise ValueError(f"{fname}(): {p.name} must be one of "
                         f"{', '.join(repr(c) for c in p.choices)}, got {value!r}")
    return spec.kernel[value]


def check_y_form(name: str, p) -> None:
    """The spec's `y_needs`: where the derivative from the output holds only
    for some parameter values (elu: y + alpha needs alpha >= 0)."""
    spec = _spec.BY_NAME[name]
    if not spec.y_needs:
        return
    pname, check = spec.y_needs
    i = [q.name for q in spec.float_params].index(pname)
    if not _spec.CHECKS[check](p[i]):
        raise ValueError(f"{name}_backward(): the y= form needs {spec.y_needs_text} (the "
                         f"derivative is a function of the output only then), got {p[i]!r}; "
                         "pass x instead")


_elementwise._install(__import__(__name__, fromlist=["*"]))
