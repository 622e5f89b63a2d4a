"""The general path of every entry point: input normalization, dtype rules,
`out=` checks, layouts.  The generated functions in `_core` handle
contiguous native float32/float64 arrays themselves and call here for
everything else; this module prepares dense arrays and calls back
`_core._kernel_unary` / `_core._kernel_binary`.

Rules (../shared/API.md, "Arrays in, arrays out"):
  * float32 -> float32, float64 -> float64, float16 computed in float32 and
    returned as float16, bool/integers -> float64; anything else TypeError.
  * any shape and memory layout; byte-swapped input is read correctly;
  * `out`: exact shape (ValueError) and dtype (TypeError), writeable
    (ValueError), no partial overlap with an input (ValueError); it may be
    an input itself; nothing is written before every check has passed;
  * a 0-d input (Python/NumPy scalar, 0-d array) gives a NumPy scalar
    unless `out` is given.
"""

from __future__ import annotations

import contextlib
import importlib
import numbers

import numpy as np

from fastact import _spec

SUPPORTED = "float16, float32, float64, bool or an integer dtype"

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


_EXT: dict = {}


def ext(name: str):
    """A compiled module of the package (`_core`, `_axis`, `_prelu`),
    imported on first use (fastact/__init__ imports the Python layer before
    the extensions are set up) and cached."""
    mod = _EXT.get(name)
    if mod is None:
        mod = _EXT[name] = importlib.import_module("fastact." + name)
    return mod


def _core():
    return ext("_core")


# ------------------------------------------------------------------ dtypes

def dtypes(dt: np.dtype, fname: str, argname: str):
    """(computation dtype, result dtype) for an input dtype, or TypeError."""
    kind = dt.kind
    if kind == "f":
        if dt.itemsize == 4:
            return _F32, _F32
        if dt.itemsize == 8:
            return _F64, _F64
        if dt.itemsize == 2:
            return _F32, _F16
    elif kind in "biu":
        return _F64, _F64
    raise TypeError(
        f"{fname}(): {argname} has dtype {dt}, which fastact does not support; "
        f"use {SUPPORTED} (for example {argname}.astype(numpy.float64))")


def as_array(x, fname: str, argname: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    try:
        a = np.asarray(x)
    except Exception as e:  # noqa: BLE001 - report it as a bad argument
        raise TypeError(f"{fname}(): {argname} could not be converted to an array: {e}") from e
    return a


def prepare(x, fname: str, argname: str):
    a = as_array(x, fname, argname)
    comp, res = dtypes(a.dtype, fname, argname)
    return a, comp, res


def _identical(a: np.ndarray, b: np.ndarray) -> bool:
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides and a.shape == b.shape and a.dtype == b.dtype)


def check_out(out, shape, res, fname: str, inputs) -> np.ndarray | None:
    if out is None:
        return None
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{fname}(): out must be a numpy.ndarray (or None), "
                        f"got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"{fname}(): out has shape {out.shape}, but the result has shape "
                         f"{shape}; pass an array of that shape or omit out")
    if out.dtype != res:
        raise TypeError(f"{fname}(): out has dtype {out.dtype}, but the result has dtype "
                        f"{res} (native byte order); pass an array of that dtype or omit out")
    if not out.flags.writeable:
        raise ValueError(f"{fname}(): out is read-only; pass a writeable array or omit out")
    for arr, name in inputs:
        if np.may_share_memory(out, arr) and not _identical(out, arr):
            if np.shares_memory(out, arr):
                raise ValueError(
                    f"{fname}(): out overlaps {name} without being the same array; pass "
                    f"{name} itself (in place) or a separate array")
    return out


_NO_CONTEXT = contextlib.nullcontext()


def overflow_ok(src: np.dtype, dst: np.dtype):
    """A context for a cast from src to dst: silences NumPy's overflow
    warning where the cast narrows a float (float64 -> float32 -> float16),
    whose overflow to +-inf is the intended rounding; a no-op otherwise."""
    if src.kind == "f" and src.itemsize > dst.itemsize:
        return np.errstate(over="ignore")
    return _NO_CONTEXT


def _order(a: np.ndarray) -> str:
    return "F" if (a.flags.f_contiguous and not a.flags.c_contiguous) else "C"


def _dense(a: np.ndarray, comp: np.dtype, order: str) -> np.ndarray:
    """a as an aligned, native, `order`-contiguous array of dtype comp
    (a itself when it already is one)."""
    with overflow_ok(a.dtype, comp):
        return np.require(a, dtype=comp, requirements=[order, "A"])


def _target(out, shape, comp, order):
    if (out is not None and out.dtype == comp and out.flags.aligned
            and (out.flags.c_contiguous if order == "C" else out.flags.f_contiguous)):
        return out
    return np.empty(shape, dtype=comp, order=order)


def _finish(target, out, res, scalar):
    if out is not None:
        if target is not out:
            with overflow_ok(target.dtype, out.dtype):
                np.copyto(out, target, casting="unsafe")
        return out
    if target.dtype == res:
        result = target
    else:
        with overflow_ok(target.dtype, res):
            result = target.astype(res)
    return result[()] if scalar else result


# -------------------------------------------------------------- elementwise

def _container(*objs) -> bool:
    """An input that is not an ndarray but implements __array_ufunc__
    (pandas, xarray, Dask, a user's container): handed to fastact.ufunc,
    which keeps its type, index, coordinates or laziness."""
    return any(o is not None and not isinstance(o, np.ndarray)
               and getattr(type(o), "__array_ufunc__", None) is not None for o in objs)


def _ufunc(fname: str, kernel: str, suffix: str = ""):
    """The fastact.ufunc object of a function (and kernel variant)."""
    from fastact import _spec, ufunc

    base = fname[:-len("_backward")] if fname.endswith("_backward") else fname
    spec = _spec.BY_NAME[base]
    name = base
    if isinstance(spec.kernel, dict):
        for i, (choice, k) in enumerate(spec.kernel.items()):
            if k == kernel and i:
                name = f"{base}_{choice}"
    return getattr(ufunc, name + suffix)


def _by_ufunc(uf, args, out):
    return uf(*args) if out is None else uf(*args, out=out)


def unary(fname: str, kernel: str, x, out, params: tuple):
    if _container(x, out):
        return _by_ufunc(_ufunc(fname, kernel), (x,) + params, out)
    a, comp, res = prepare(x, fname, "x")
    out = check_out(out, a.shape, res, fname, ((a, "x"),))
    order = _order(a)
    xc = _dense(a, comp, order)
    target = _target(out, a.shape, comp, order)
    _core()._kernel_unary(kernel, xc, target, params)
    return _finish(target, out, res, a.ndim == 0)


def binary(fname: str, kernel: str, from_y: bool, g, x, out, params: tuple):
    if _container(g, x, out):
        uf = _ufunc(fname, kernel, "_backward_y" if from_y else "_backward")
        return _by_ufunc(uf, (g, x) + params, out)
    xname = "y" if from_y else "x"
    a, comp, res = prepare(x, fname, xname)
    ga = as_array(g, fname, "grad_output")
    dtypes(ga.dtype, fname, "grad_output")
    if ga.shape != a.shape:
        raise ValueError(f"{fname}(): grad_output has shape {ga.shape} but {xname} has shape "
                         f"{a.shape}; they must be equal (no broadcasting)")
    out = check_out(out, a.shape, res, fname, ((a, xname), (ga, "grad_output")))
    order = _order(a)
    xc = _dense(a, comp, order)
    gc = _dense(ga, comp, order)
    target = _target(out, a.shape, comp, order)
    _core()._kernel_binary(kernel, from_y, gc, xc, target, params)
    return _finish(target, out, res, a.ndim == 0)


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


_CHECK_TEXT = {">0": "> 0", ">=0": ">= 0", "!=0": "non-zero"}


def _in_float32(x) -> bool:
    """whether x's computation dtype is float32 (float32 or float16 input)"""
    try:
        dt = as_array(x, "", "x").dtype
    except TypeError:
        return False
    return dt.kind == "f" and dt.itemsize in (2, 4)


def _f32(v: float) -> float:
    with np.errstate(over="ignore"):
        return float(np.float32(v))


_CHECKS = {">0": lambda v: v > 0, ">=0": lambda v: v >= 0, "!=0": lambda v: v != 0}


def check_param(fname: str, name: str, value, check: str, v: float, x):
    """The validity check of a float parameter on its value converted to the
    computation dtype (v: the float64 value; x: the array that sets the
    dtype).  The generated entry points call this only where the check
    fails in float64 or in float32; it raises unless the value in the
    computation dtype passes."""
    if _in_float32(x):
        v = _f32(v)
    if not _CHECKS[check](v):
        bad_param(fname, name, value, check)


def check_relation(fname: str, rel: str, a, b, va: float, vb: float, x):
    """As check_param, for a relation `a <= b` that fails in float64."""
    if _in_float32(x) and _f32(va) <= _f32(vb):
        return
    bad_relation(fname, rel, a, b)


def bad_param(fname: str, name: str, value, check: str):
    raise ValueError(f"{fname}(): {name} must be {_CHECK_TEXT[check]}, got {value!r}")


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
    # elu's derivative from the output is y + alpha, valid for alpha >= 0
    if name == "elu" and not p[0] >= 0:
        raise ValueError("elu_backward(): the y= form needs alpha >= 0 (y + alpha is the "
                         "derivative only then); pass x instead")
