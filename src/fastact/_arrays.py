"""The array rules shared by every family's general path: input
normalization, dtype rules, `out=` checks, dense layouts and finishing.
Imports no compiled module (the compiled modules and the `_*_api` modules
import it).

Rules (../shared/API.md, "Arrays in, arrays out"):
  * float32 -> float32, float64 -> float64; the narrow types float16 and
    bfloat16 (ml_dtypes') computed in float32 and returned in their own
    dtype, bool/integers -> float64; anything else TypeError.
  * any shape and memory layout; byte-swapped input is read correctly;
  * `out`: exact shape (ValueError) and dtype (TypeError), writeable
    (ValueError), no partial overlap with an input (ValueError); it may be
    an input itself; nothing is written before every check has passed;
  * a 0-d input (Python/NumPy scalar, 0-d array) gives a NumPy scalar
    unless `out` is given.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

SUPPORTED = "float16, bfloat16, float32, float64, bool or an integer dtype"

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


# ------------------------------------------------------------------ dtypes

def is_bfloat16(dt: np.dtype) -> bool:
    """ml_dtypes' bfloat16 (told by its name, size and kind, without
    importing ml_dtypes: it is an optional dependency)."""
    return (dt.kind == "V" and dt.itemsize == 2 and dt.name == "bfloat16"
            and dt.type.__module__.split(".")[0] == "ml_dtypes")


def narrow_index(dt: np.dtype) -> int:
    """The narrow type of a dtype as the kernels number them (include/fa_narrow.h):
    0 bfloat16, 1 float16 (either byte order), -1 any other dtype."""
    if dt.kind == "f" and dt.itemsize == 2:
        return 1
    return 0 if is_bfloat16(dt) else -1


def dtypes(dt: np.dtype, fname: str, argname: str):
    """(computation dtype, result dtype) for an input dtype, or TypeError."""
    kind = dt.kind
    if kind == "V" and is_bfloat16(dt):
        return _F32, dt
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
        hint = ""
        if type(x).__module__.split(".")[0] == "torch":
            hint = (f"; for torch tensors (autograd included) use fastact.torch."
                    f"{fname.split('(')[0]}")
        raise TypeError(f"{fname}(): {argname} could not be converted to an array: "
                        f"{e}{hint}") from e
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
    if src.kind == "f" and src.itemsize > dst.itemsize:   # (bfloat16: itemsize 2)
        return np.errstate(over="ignore")
    return _NO_CONTEXT


def order(a: np.ndarray) -> str:
    return "F" if (a.flags.f_contiguous and not a.flags.c_contiguous) else "C"


def dense(a: np.ndarray, comp: np.dtype, order: str) -> np.ndarray:
    """a as an aligned, native, `order`-contiguous array of dtype comp
    (a itself when it already is one)."""
    with overflow_ok(a.dtype, comp):
        return np.require(a, dtype=comp, requirements=[order, "A"])


def target(out, shape, comp, order):
    if (out is not None and out.dtype == comp and out.flags.aligned
            and (out.flags.c_contiguous if order == "C" else out.flags.f_contiguous)):
        return out
    return np.empty(shape, dtype=comp, order=order)


def finish(target, out, res, scalar):
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


# --------------------------------------------------- fused pre-activation
#
# scale= and bias= of the elementwise functions and the GLU family: the
# kernels read them as flat arrays periodic in x's flat index.

def pre_container_error(fname: str, xname: str) -> TypeError:
    return TypeError(f"{fname}(): scale= and bias= take NumPy arrays and array-likes; "
                     f"for a pandas, xarray or Dask {xname}, compute {xname} * scale + bias "
                     "first, or pass numpy.asarray(...)")


def pre_operand(v, name: str, fname: str, shape: tuple, xname: str, comp: np.dtype):
    """scale or bias: an array of the computation dtype that broadcasts to
    x's shape without growing it (None stays None)."""
    if v is None:
        return None
    arr = v if isinstance(v, np.ndarray) else as_array(v, fname, name)
    if arr.dtype.kind not in "iuf" and not is_bfloat16(arr.dtype):
        raise TypeError(f"{fname}(): {name} must be a real number or an array of real numbers, "
                        f"got {type(v).__name__} of dtype {arr.dtype}")
    if arr.ndim > len(shape) or any(d not in (1, n) for d, n in zip(arr.shape[::-1],
                                                                   shape[::-1])):
        raise ValueError(
            f"{fname}(): {name} has shape {arr.shape}, which does not broadcast to {xname}'s "
            f"shape {shape} without growing it; give {name} a shape that broadcasts against "
            f"the trailing axes of {xname} (a scalar, or ({shape[-1] if shape else 1},) "
            f"for one value per feature)")
    with overflow_ok(arr.dtype, comp):
        return arr.astype(comp, copy=False)


# a period shorter than this many elements is repeated up to at least it
# (so the C loop over one period is long enough to vectorize)
_MIN_PERIOD = 256


def periodic(s, b, shape: tuple, order: str, target: np.ndarray):
    """(s, b, period): scale and bias (broadcastable to shape; None left
    out) as flat C-contiguous arrays of `period` entries, entry i % period
    for the flat index i of x in `order`.  Where they vary only along the
    trailing axes (a scalar, a (features,) bias on C-ordered x) these are
    the operands themselves; else their broadcast over the axes from the
    first one along which one varies (at most x's size).  The kernels write
    `target` while they read s and b: a copy where they share its memory."""
    nd = len(shape)
    shp = tuple(shape) if order == "C" else tuple(shape)[::-1]
    ops = []
    for v in (s, b):
        if v is not None:
            v = v.reshape((1,) * (nd - v.ndim) + v.shape)
            v = v if order == "C" else v.T
        ops.append(v)
    # k: the first axis along which an operand varies (all are constant before it)
    k = min(next((i for i, d in enumerate(v.shape) if d != 1), nd) for v in ops if v is not None)
    tail = shp[k:]
    period = max(math.prod(tail), 1)
    reps = -(-_MIN_PERIOD // period) if period > 1 else 1
    flat = [None if v is None else
            np.ascontiguousarray(np.broadcast_to(v[(0,) * k], tail)).reshape(-1)
            for v in ops]
    if reps > 1:
        flat = [None if v is None else np.tile(v, reps) for v in flat]
    flat = [v.copy() if v is not None and np.may_share_memory(v, target) else v for v in flat]
    return flat[0], flat[1], period * reps



# ------------------------------------------------------------ axis views

def native(a: np.ndarray, comp: np.dtype) -> np.ndarray:
    """a in dtype comp, native byte order and aligned (a itself when it is)."""
    if a.dtype == comp and a.dtype.isnative and a.flags.aligned:
        return a
    with overflow_ok(a.dtype, comp):
        return a.astype(comp, order="K")


class AxisView:
    """The one strided-view helper of the along-axis and per-channel
    families: an array as a C-contiguous (outer, n, inner) block around one
    axis, without a copy where the input is C- or Fortran-contiguous (a
    Fortran array is its C-ordered transpose, the axis mirrored).  `base`
    (C-contiguous, dtype comp), `ax` (the axis in base), `tr` (base is the
    transpose of the input); a 0-d array is one element."""

    def __init__(self, a: np.ndarray, comp: np.dtype, ax: int):
        a = native(a, comp)
        if a.flags.c_contiguous:
            self.base, self.ax, self.tr = a, ax, False
        elif a.flags.f_contiguous:
            self.base, self.ax, self.tr = a.T, a.ndim - 1 - ax, True
        else:
            self.base, self.ax, self.tr = np.ascontiguousarray(a), ax, False
        shp = self.base.shape
        if not shp:
            self.outer = self.n = self.inner = 1
        else:
            self.outer = math.prod(shp[:self.ax])
            self.n = shp[self.ax]
            self.inner = math.prod(shp[self.ax + 1:])
        self.comp = comp

    def like(self, arr: np.ndarray) -> np.ndarray:
        """another array of the input's (user) shape, in base layout"""
        arr = native(arr, self.comp)
        return np.ascontiguousarray(arr.T if self.tr else arr)

    def bshape(self, user_shape) -> tuple:
        return tuple(reversed(user_shape)) if self.tr else tuple(user_shape)

    def target(self, out, user_shape) -> np.ndarray:
        """where the kernel writes: out itself when its layout fits"""
        if out is not None:
            cand = out.T if self.tr else out
            if cand.dtype == self.comp and cand.flags.c_contiguous and cand.flags.aligned:
                return cand
        return np.empty(self.bshape(user_shape), dtype=self.comp)

    def finish(self, t: np.ndarray, out, res) -> np.ndarray:
        u = t.T if self.tr else t
        if out is not None:
            if not np.shares_memory(u, out):
                with overflow_ok(u.dtype, out.dtype):
                    np.copyto(out, u, casting="unsafe")
            return out
        if u.dtype == res:
            return u
        with overflow_ok(u.dtype, res):
            return u.astype(res)
