"""Hypothesis fuzz suite over every public function of fastact.__all__.

Each example builds one call: an input of any dtype (supported or not), 0-d
to 6-d, in any layout (C, Fortran, negative strides, strided, unaligned,
byte-swapped, read-only, a list, a scalar), with special values (+-inf,
NaN, +-0, huge finite, subnormals), parameters good or bad, and every kind
of `out=` (none, right, wrong shape, wrong dtype, read-only, overlapping,
in place, in another layout).  Every call checks:

* no crash, and no exception but the documented ones (ValueError,
  TypeError, numpy AxisError), raised exactly when the arguments are bad;
* no warning escapes (the call runs with warnings turned into errors and
  NumPy's default errstate);
* the inputs are unmodified (except the array given as `out=`), and `out`
  is untouched when the call raises;
* the result has the right shape and dtype, is `out` when given, is bitwise
  what the same call gives on a native C-contiguous copy (layouts and dtype
  conversions change nothing), and agrees with a reference within the
  spec's ulp budget: the mpmath references of fastact._reference for the
  elementwise functions and PReLU, and exact (fractions) or long-double
  references here for the along-axis family.  An error bound from the
  conditioning ("terms", as tests/DECISIONS.md D5) is added where the
  result is a difference of larger terms.  NaN and +-inf positions must
  match; where the result is 0 * inf in the formula, 0 and NaN are both
  accepted.  Values are checked only for finite parameters (a non-finite
  parameter is checked for the rest).

Profiles (FASTACT_FUZZ): unset or "short": a derandomized profile for CI
(the same examples every run); "long": many more examples, randomized, for
release checks.  FASTACT_FUZZ_EXAMPLES=N overrides the examples per test.

Known bugs: KNOWN_BUGS below lists every bug this suite hits that is not
fixed yet, each with the functions and the condition that trigger it and
the checks it relaxes.  Delete an entry when its fix is merged.
"""

from __future__ import annotations

import math
import os
import warnings
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

import mpmath
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fastact as fa  # noqa: E402
from fastact import _reference as R  # noqa: E402
from fastact import _spec  # noqa: E402

from conftest import ulp_errors, ulp_of  # noqa: E402

try:
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError

DOCUMENTED = (ValueError, TypeError, AxisError)


# ================================================================ known bugs
#
# name: Bug(functions, condition on the case, checks relaxed, reason).
# Relaxations: "value" (result not compared), "warning" (a warning may
# escape), "overflow" (OverflowError accepted), "no-error" (no exception
# although one is expected), "error" (a documented exception although none
# is expected).  A condition may also return a boolean mask of the result:
# then only those elements are left out of the value check.

class Bug(NamedTuple):
    funcs: tuple
    when: object
    relax: tuple
    reason: str


_SM = ("sparsemax", "sparsemax_backward")
_SOFTMAX_FAST = ("softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
                 "softmin", "softmin_backward", "glu", "glu_backward", "swiglu",
                 "swiglu_backward", "geglu", "geglu_backward", "prelu", "prelu_backward")


def _all_backward():
    return tuple(n for n in fa.__all__ if n.endswith("_backward"))


def _celu_overflow(c):
    """celu_backward with alpha < 0 where e^(x / alpha) overflows the dtype:
    the kernel forms g * inf (NaN for g = 0, inf for a tiny g) where the
    exact product is finite"""
    a = dict(_pkey(c)).get("alpha", 1.0)
    if not a < 0:
        return False
    x = np.asarray(c._x(), np.float64)
    with np.errstate(all="ignore"):      # the whole case (element masks are the axis family's)
        return bool((x / a > math.log(float(np.finfo(c.comp).max)) - 1).any())


KNOWN_BUGS = {
    "celu-negative-alpha-overflow": Bug(
        ("celu_backward",), _celu_overflow, ("value",),
        "celu_backward, alpha < 0, x / alpha above log(max) of the dtype: e^(x / alpha) "
        "overflows to inf before the product with grad_output (known since the reliability "
        "work; a fix needs a scaled exponential on that branch)"),
}


def relaxations(c):
    """(set of relaxed checks, value-exclusion mask or None, names) for case c."""
    relax, mask, names = set(), None, []
    for key, bug in KNOWN_BUGS.items():
        if c.fname not in bug.funcs:
            continue
        try:
            hit = bug.when(c)
        except Exception:  # noqa: BLE001 - a condition that cannot be evaluated is no hit
            hit = False
        if isinstance(hit, np.ndarray):
            if hit.any():
                mask = hit if mask is None else (mask | hit)
                relax |= set(bug.relax) - {"value"}
                names.append(key)
        elif hit:
            relax |= set(bug.relax)
            names.append(key)
    return relax, mask, names


# ================================================================== profiles

_EXAMPLES = {"short": 100, "long": 1500}
FUZZ = os.environ.get("FASTACT_FUZZ", "short")
if FUZZ not in _EXAMPLES:
    raise ValueError(f"FASTACT_FUZZ must be 'short' or 'long', got {FUZZ!r}")
_N = int(os.environ.get("FASTACT_FUZZ_EXAMPLES", _EXAMPLES[FUZZ]))
settings.register_profile(
    "fastact-fuzz-short", max_examples=_N, derandomize=True, database=None, deadline=None,
    suppress_health_check=list(HealthCheck), print_blob=True)
settings.register_profile(
    "fastact-fuzz-long", max_examples=_N, derandomize=False, deadline=None,
    suppress_health_check=list(HealthCheck), print_blob=True)
FUZZ_SETTINGS = settings(settings.get_profile(f"fastact-fuzz-{FUZZ}"))

# ============================================================== the functions

SPECS = _spec.BY_NAME
ELEM = [s.name for s in _spec.SPECS if s.kind == "elementwise"]
AXIS = [s.name for s in _spec.SPECS if s.kind == "axis" and not s.composed]
# the composed functions are fuzzed in tests/test_composed.py
COMPOSED_FUNCS = [n for s in _spec.SPECS if s.composed for n in (s.name, s.name + "_backward")]
NOT_ACTIVATIONS = {"ACTIVATIONS", "__version__", "get_num_threads", "set_num_threads",
                   "num_threads", "show_config"}
ELEM_FUNCS = [n for name in ELEM for n in (name, name + "_backward")]
AXIS_FUNCS = [n for name in AXIS for n in (name, name + "_backward")
              if n != "softmax_jacobian_backward"]
PRELU_FUNCS = ["prelu", "prelu_backward"]
Y_FORM = {s.name for s in _spec.SPECS if s.grad_from_output}


def test_every_public_function_is_fuzzed():
    fuzzed = (set(ELEM_FUNCS) | set(AXIS_FUNCS) | set(PRELU_FUNCS) | set(COMPOSED_FUNCS)
              | NOT_ACTIVATIONS)
    assert set(fa.__all__) == fuzzed
    for n in fuzzed - {"__version__", "ACTIVATIONS"}:
        assert callable(getattr(fa, n))


def test_known_bugs_are_well_formed():
    for key, bug in KNOWN_BUGS.items():
        assert bug.funcs and bug.reason and set(bug.relax) <= {
            "value", "warning", "overflow", "no-error", "error"}, key
        assert set(bug.funcs) <= set(fa.__all__), key


# ================================================================ the values

def _special(dt):
    fi = np.finfo(dt)
    big = float(fi.max)
    sub = float(fi.smallest_subnormal)
    tiny = float(fi.tiny)
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, math.inf, -math.inf, math.nan, big, -big,
            big / 3, -big / 7, tiny, -tiny, sub, -sub, tiny / 3, 3.0, -3.0, 6.0, 20.0,
            -38.6, -100.0, 30.0, -30.0, 88.7, -104.0, 710.0, -745.0, 1e-30, -1e-8]
    if dt == np.float64:
        vals += [1e300, -1e300, 1e17, -1e10, 3e38, -3e38]
    elif dt == np.float32:
        vals += [3e7, -3e38, 1e30]
    return vals


def float_values(dt, extra=()):
    """A strategy for one value of float dtype dt (as a Python float)."""
    dt = np.dtype(dt)
    width = {2: 16, 4: 32, 8: 64}[dt.itemsize]
    pool = [v for v in _special(dt)] + list(extra)
    return st.one_of(
        st.sampled_from(pool),
        st.floats(-8, 8, width=width),
        st.floats(allow_nan=True, allow_infinity=True, width=width),
        st.floats(-1e3, 1e3, width=width),
    )


SUPPORTED_DTYPES = [np.float32, np.float64, np.float16, np.bool_, np.int8, np.uint8,
                    np.int32, np.int64, np.uint64]
UNSUPPORTED = ["complex64", "complex128", "object", "str", "bytes", "datetime64",
               "timedelta64"] + (["longdouble"] if np.finfo(np.longdouble).bits > 64 else [])


@st.composite
def dtypes(draw, allow_bad=True):
    r = draw(st.integers(0, 19))
    if r < 8:
        return np.dtype(np.float32)
    if r < 14:
        return np.dtype(np.float64)
    if r < 18 or not allow_bad:
        return np.dtype(draw(st.sampled_from(SUPPORTED_DTYPES)))
    return draw(st.sampled_from(UNSUPPORTED))


def _bad_array(kind, shape):
    n = math.prod(shape)
    if kind == "complex64":
        return (np.arange(n) + 1j).astype(np.complex64).reshape(shape)
    if kind == "complex128":
        return (np.arange(n) - 2j).reshape(shape)
    if kind == "longdouble":
        return np.arange(n, dtype=np.longdouble).reshape(shape)
    if kind == "object":
        return np.array([1.0] * n, dtype=object).reshape(shape)
    if kind == "str":
        return np.array(["1.5"] * n).reshape(shape)
    if kind == "bytes":
        return np.array([b"1"] * n).reshape(shape)
    if kind == "datetime64":
        return np.arange(n).astype("datetime64[D]").reshape(shape)
    return np.arange(n).astype("timedelta64[s]").reshape(shape)


@st.composite
def value_arrays(draw, dt, shape, extra=(), finite=False):
    """A C-contiguous array of dtype dt (or an unsupported kind) and shape."""
    if isinstance(dt, str):
        return _bad_array(dt, shape)
    n = math.prod(shape)
    if dt.kind == "b":
        vals = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return np.array(vals, dtype=dt).reshape(shape)
    if dt.kind in "iu":
        ii = np.iinfo(dt)
        elt = st.one_of(st.integers(-3, 8).filter(lambda v: ii.min <= v <= ii.max),
                        st.integers(int(ii.min), int(ii.max)))
        vals = draw(st.lists(elt, min_size=n, max_size=n))
        return np.array(vals, dtype=dt).reshape(shape)
    if finite:
        elt = st.one_of(st.floats(-8, 8, width=32), st.sampled_from([0.0, -0.0, 1.0, 1e3, -1e-3]))
    else:
        elt = float_values(dt, extra)
    vals = draw(st.lists(elt, min_size=n, max_size=n))
    with np.errstate(all="ignore"):
        return np.array(vals, dtype=np.float64).astype(dt).reshape(shape)


@st.composite
def shapes(draw, min_ndim=0, max_size=36):
    nd = draw(st.sampled_from([0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6]))
    nd = max(nd, min_ndim)
    dims = []
    for _ in range(nd):
        dims.append(draw(st.sampled_from([1, 2, 3, 4, 2, 1, 5, 0]) if nd <= 3 else
                         st.sampled_from([1, 2, 1, 2, 3])))
    while math.prod(dims) > max_size:
        i = dims.index(max(dims))
        dims[i] = max(1, dims[i] // 2)
    return tuple(dims)


LAYOUTS = ["C", "C", "C", "F", "neg", "strided", "unaligned", "swapped", "readonly", "list"]


def layout(a, how, rng_axis=0):
    """The values of `a` in another memory layout (same logical values)."""
    if how == "C" or (isinstance(a, np.ndarray) and a.dtype.kind in "OUSMm" and how not in
                      ("F", "readonly", "neg")):
        return a.copy()
    if how == "F":
        return np.asfortranarray(a) if a.ndim else a.copy()
    if how == "neg":
        if a.ndim == 0:
            return a.copy()
        ax = rng_axis % a.ndim
        return np.flip(np.flip(a, ax).copy(), ax)
    if how == "strided":
        if a.ndim == 0:
            return a.copy()
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    if how == "unaligned":
        if a.dtype.itemsize == 1:
            return a.copy()
        buf = np.zeros(a.nbytes + 1, np.uint8)
        u = np.ndarray(a.shape, a.dtype, buffer=buf.data, offset=1)
        u[...] = a
        return u
    if how == "swapped":
        if a.dtype.itemsize == 1:
            return a.copy()
        return a.astype(a.dtype.newbyteorder())
    if how == "readonly":
        r = a.copy()
        r.flags.writeable = False
        return r
    if how == "list":
        return a.tolist() if a.size else a.copy()   # an empty list loses the shape
    if how == "scalar":
        return a[()] if a.ndim == 0 else a.copy()
    if how == "pyscalar":
        return a.item() if a.ndim == 0 else a.copy()
    raise KeyError(how)


def as_output(name, a, axis=-1, params=None):
    """a turned into what the forward `name` gives (for the y= forms); an
    elementwise forward with finite float `params` is fastact's own in
    float64 (any output of it is a valid y)."""
    if a.dtype.kind != "f" or a.size == 0:
        return a
    v = a.astype(np.float64)
    with np.errstate(all="ignore"):
        if SPECS[name].kind == "elementwise":
            try:
                v = getattr(fa, name)(v, **params) if params is not None else v
            except ValueError:       # invalid parameters: a fault case anyway
                pass
        elif name in ("softmax", "softmin", "log_softmax") and a.ndim:
            z = -v if name == "softmin" else v
            m = np.max(z, axis=axis, keepdims=True)
            e = np.exp(z - m)
            ssum = e.sum(axis=axis, keepdims=True)
            v = (z - m) - np.log(ssum) if name == "log_softmax" else e / ssum
        return np.asarray(v).astype(a.dtype).reshape(a.shape)


@st.composite
def inputs(draw, dt, shape, extra=(), finite=False, transform=None):
    """(object passed, the layout's name)."""
    a = draw(value_arrays(dt, shape, extra, finite))
    if transform is not None and draw(st.integers(0, 4)):
        a = transform(a)
    how = draw(st.sampled_from(LAYOUTS + (["scalar", "pyscalar"] if len(shape) == 0 else [])))
    obj = layout(a, how, draw(st.integers(0, 5)))
    return obj, how


# ================================================================ parameters

class P(NamedTuple):
    passed: object           # what the call gets
    value: float | None      # its float value (None: not a real number)
    fault: type | None       # the exception it must raise by itself (type check)
    huge: bool = False


@st.composite
def float_params(draw, default):
    r = draw(st.integers(0, 31))
    if r < 12:
        v = default if default is not _spec.REQUIRED else 0.5
        return P(v, float(v), None)
    if r < 16:
        v = draw(st.floats(-10, 10, width=32))
        return P(v, v, None)
    if r < 20:
        v = draw(st.sampled_from([0.0, -0.0, 1e-50, -1e-50, 1e-30, 1e300, -1e300, 3e38,
                                  math.inf, -math.inf, math.nan, 2.0, -1.0, 1e-6]))
        return P(v, v, None)
    if r < 24:
        v = draw(st.floats(-4, 4, width=32))
        wrap = draw(st.sampled_from(["f32", "f64", "i64", "int", "0d"]))
        if wrap == "f32":
            return P(np.float32(v), float(np.float32(v)), None)
        if wrap == "f64":
            return P(np.float64(v), v, None)
        if wrap in ("i64", "int"):
            iv = int(v)
            return P(np.int64(iv) if wrap == "i64" else iv, float(iv), None)
        return P(np.array(v), v, None)
    if r < 27:
        big = draw(st.sampled_from([10 ** 400, -(10 ** 309), 2 ** 1024]))
        return P(big, None, ValueError, huge=True)
    bad = draw(st.sampled_from(["1.0", None, 1j, [1.0], True, np.bool_(False),
                                np.array([1.0, 2.0]), b"1"]))
    return P(bad, None, TypeError)


# ===================================================================== cases

class Case:
    """One call and what to expect of it."""

    def __init__(self, fname):
        self.fname = fname
        self.base = fname.removesuffix("_backward")
        self.spec = SPECS[self.base]
        self.bwd = fname.endswith("_backward")
        self.args = []
        self.kwargs = {}
        self.faults = set()          # exception types the arguments call for
        self.arrays = {}             # argument name -> object passed
        self.layouts = {}
        self.out = None
        self.out_kind = "none"
        self.from_y = False
        self.pvals = {}
        self.axis = None
        self.bad_axis = False
        self.pieces = None
        self.approximate = "none"
        self.params = {}             # float params: P
        self.huge_int_param = False
        self.nan_param = False
        self.check_after_cast_differs = False
        self.downcast_overflow = False
        self.x_ndim = None
        self.comp = None
        self.res = None

    # --- helpers for the known-bug conditions
    def _vals(self, name):
        a = self.arrays.get(name)
        try:
            v = np.asarray(a)
            if v.dtype.kind not in "fiub":
                return np.zeros(0)
            return v.astype(np.float64)
        except Exception:  # noqa: BLE001
            return np.zeros(0)

    def _x(self):
        return self._vals("y" if self.from_y else "x")

    def max_abs_x(self):
        v = self._x()
        v = v[np.isfinite(v)]
        return float(np.abs(v).max()) if v.size else 0.0

    def max_abs_g(self):
        v = self._vals("grad_output")
        v = v[np.isfinite(v)]
        return float(np.abs(v).max()) if v.size else 0.0

    def min_x(self):
        v = self._x()
        v = v[~np.isnan(v)]
        return float(v.min()) if v.size else 0.0

    def has_inf_x(self):
        return bool(np.isinf(self._x()).any())

    def __repr__(self):
        def show(o):
            if isinstance(o, np.ndarray):
                return (f"array({np.asarray(o).tolist()!r}, dtype={o.dtype.str!r}, shape="
                        f"{o.shape}, strides={o.strides}, C={o.flags.c_contiguous}, "
                        f"aligned={o.flags.aligned}, writeable={o.flags.writeable})")
            return repr(o)
        args = ", ".join(show(a) for a in self.args)
        kw = ", ".join(f"{k}={show(v)}" for k, v in self.kwargs.items())
        return (f"fa.{self.fname}({args}{', ' if kw else ''}{kw})  "
                f"[layouts {self.layouts}, out {self.out_kind}, faults "
                f"{sorted(f.__name__ for f in self.faults)}]")


def _draw_grad(draw, c, dt, shape, wrong_shape):
    """grad_output for a backward call: mostly x's shape and dtype; now and
    then another shape (ValueError) or dtype (TypeError where unsupported)."""
    gshape = shape if draw(st.integers(0, 15)) else wrong_shape
    if gshape != shape:
        c.faults.add(ValueError)
    gdt = dt if draw(st.integers(0, 3)) else draw(dtypes())
    gobj, ghow = draw(inputs(gdt, gshape))
    c.layouts["grad_output"] = ghow
    if _dtype_rule(gobj) is None:
        c.faults.add(TypeError)
    return gobj


def _dtype_rule(a):
    """(computation dtype, result dtype) of a value passed, or None (TypeError)."""
    try:
        dt = np.asarray(a).dtype
    except Exception:  # noqa: BLE001
        return None
    if dt.kind == "f" and dt.itemsize in (2, 4, 8):
        return (np.dtype(np.float32), np.dtype(np.float16)) if dt.itemsize == 2 else (dt.newbyteorder("="),) * 2
    if dt.kind in "biu":
        return np.dtype(np.float64), np.dtype(np.float64)
    return None


def _downcasts(a, comp):
    """a holds finite values beyond comp's range (a float64 -> float32 cast overflows)."""
    if comp != np.float32:
        return False
    try:
        v = np.asarray(a)
    except Exception:  # noqa: BLE001
        return False
    if v.dtype.kind not in "fiu" or v.dtype.itemsize < 8 and v.dtype.kind == "f":
        return False
    v = v.astype(np.float64)
    return bool((np.isfinite(v) & (np.abs(v) > float(np.finfo(np.float32).max))).any())


@st.composite
def out_choice(draw, c, shape, res, inputs_):
    """Pick an `out=` for case c whose result has `shape` and dtype `res`."""
    kind = draw(st.sampled_from(["none"] * 6 + ["right", "right", "F", "strided", "unaligned",
                                               "inplace", "inplace_g", "shape", "dtype",
                                               "readonly", "list", "overlap"]))
    c.out_kind = kind
    if kind == "none":
        return
    if res is None or shape is None:
        res = np.dtype(np.float64) if res is None else res
        shape = (2,) if shape is None else shape
    fill = np.full(shape, 7.25, dtype=res) if res.kind == "f" else np.zeros(shape, res)
    if kind == "right":
        out = fill
    elif kind == "F":
        out = layout(fill, "F")
    elif kind == "strided":
        out = layout(fill, "strided")
    elif kind == "unaligned":
        out = layout(fill, "unaligned")
    elif kind == "shape":
        out = np.full(shape + (1,), 7.25, res)
        c.faults.add(ValueError)
    elif kind == "dtype":
        odt = draw(st.sampled_from([np.float32, np.float64, np.float16, np.int32,
                                    np.complex128]))
        if np.dtype(odt) == res:
            odt = np.float32 if res != np.float32 else np.float64
        out = np.zeros(shape, odt)
        c.faults.add(TypeError)
    elif kind == "readonly":
        out = fill.copy()
        out.flags.writeable = False
        c.faults.add(ValueError)
    elif kind == "list":
        out = fill.tolist()
        c.faults.add(TypeError)
    elif kind in ("inplace", "inplace_g"):
        which = "grad_output" if kind == "inplace_g" else ("y" if c.from_y else "x")
        out = inputs_.get(which)
        if not isinstance(out, np.ndarray):
            c.out_kind = "none"
            return
        if out.shape != tuple(shape):
            c.faults.add(ValueError)
        elif out.dtype != res:
            c.faults.add(TypeError)
        elif not out.flags.writeable:
            c.faults.add(ValueError)
    else:  # overlap: a view of the input's memory shifted by one element
        which = "y" if c.from_y else "x"
        src = inputs_.get(which)
        if not (isinstance(src, np.ndarray) and src.dtype == res and src.flags.writeable
                and src.flags.c_contiguous and src.size >= 2 and src.shape == tuple(shape)):
            c.out_kind = "none"
            return
        buf = np.empty(src.size + 1, res)
        buf[:-1] = src.reshape(-1)
        newsrc = buf[:-1].reshape(src.shape)
        inputs_[which] = newsrc
        out = buf[1:].reshape(shape)
        c.faults.add(ValueError)
    if kind not in ("shape", "dtype", "list", "inplace", "inplace_g", "overlap") and \
            not isinstance(out, np.ndarray):
        return
    c.out = out
    c.kwargs["out"] = out


@st.composite
def bad_axis(draw, c, ndim):
    """An axis: mostly valid, sometimes out of range, huge or of a bad type."""
    r = draw(st.integers(0, 19))
    if r < 15 and ndim > 0:
        return draw(st.integers(-ndim, ndim - 1)), None
    if r < 17:
        ax = draw(st.sampled_from([ndim, -ndim - 1, 2 ** 70, -(2 ** 70), 2 ** 63, 10 ** 30]))
        return ax, AxisError
    return draw(st.sampled_from(["abc", 1.0, None, np.float64(0.0), True, [0]])), TypeError


# ------------------------------------------------------------- elementwise

@st.composite
def elementwise_case(draw, fname):
    c = Case(fname)
    spec = c.spec
    # parameters
    pvals = {}
    for p in spec.params:
        if p.type == "choice":
            a = draw(st.sampled_from(list(p.choices) * 4 + ["exact", None, 1]))
            if a not in p.choices:
                c.faults.add(ValueError if isinstance(a, str) or a is None else (ValueError, TypeError))
            else:
                c.approximate = a
            c.kwargs[p.name] = a
            pvals[p.name] = a
            continue
        if p.required and draw(st.integers(0, 15)) == 0:
            c.faults.add(TypeError)          # a required parameter left out
            continue
        if not p.required and draw(st.integers(0, 2)) == 0:
            c.params[p.name] = P(p.default, float(p.default), None)
            pvals[p.name] = float(p.default)
            continue                           # omitted: the default
        pp = draw(float_params(p.default))
        c.kwargs[p.name] = pp.passed
        c.params[p.name] = pp
        pvals[p.name] = pp.value
        if pp.fault:
            c.faults.add(pp.fault)
        c.huge_int_param |= pp.huge
    # arrays
    shape = draw(shapes())
    dt = draw(dtypes())
    kinks = []
    try:
        numeric = {k: v for k, v in pvals.items() if isinstance(v, float) and math.isfinite(v)}
        if len(numeric) == len(spec.float_params):
            kinks = [k for k in R.kinks(c.base, dict(pvals)) if math.isfinite(k)]
    except Exception:  # noqa: BLE001
        kinks = []
    c.from_y = c.bwd and c.base in Y_FORM and draw(st.booleans())
    fwd_params = _finite_params(spec, pvals)
    tf = (lambda a: as_output(c.base, a, params=fwd_params)) if c.from_y else None
    xobj, how = draw(inputs(dt, shape, extra=kinks + [np.nextafter(k, math.inf) for k in kinks],
                            transform=tf))
    c.layouts["x"] = how
    rule = _dtype_rule(xobj)
    if rule is None:
        c.faults.add(TypeError)
    c.comp, c.res = rule if rule else (None, None)
    c.x_ndim = len(shape)
    inputs_ = {}
    if c.bwd:
        gobj = _draw_grad(draw, c, dt, shape, shape + (2,) if shape != () else (3,))
        inputs_["grad_output"] = gobj
        form = draw(st.sampled_from(["kw", "kw", "kw", "kw", "pos", "both", "neither"]))
        inputs_["y" if c.from_y else "x"] = xobj
        if form == "both" and c.base in Y_FORM:
            c.faults.add(TypeError)
        elif form == "neither" and draw(st.booleans()):
            c.faults.add(TypeError)
        else:
            form = "kw" if form in ("both", "neither") else form
        c.form = form
        if c.from_y and spec.y_needs:
            pname, check = spec.y_needs
            # checked on the value as passed (-1e-50 is refused though it
            # rounds to -0 in float32: the caller asked for a negative one)
            v = pvals.get(pname, spec.defaults[pname])
            if isinstance(v, float) and not _spec.CHECKS[check](v):
                c.faults.add(ValueError)
        if c.comp is not None:
            c.downcast_overflow = _downcasts(gobj, c.comp)
    else:
        inputs_["x"] = xobj
        c.form = "pos"
    _param_checks(c, pvals)
    # out
    draw(out_choice(c, shape, c.res, inputs_))
    # the call
    c.arrays = dict(inputs_)
    c.pvals = pvals
    xkey = "y" if c.from_y else "x"
    if not c.bwd:
        c.args = [inputs_["x"]]
    else:
        g = inputs_["grad_output"]
        if c.form == "pos":
            c.args = [g, inputs_[xkey]] if not c.from_y else [g]
            if c.from_y:
                c.kwargs["y"] = inputs_["y"]
        elif c.form == "both":
            c.args = [g, inputs_[xkey]]
            c.kwargs["y"] = inputs_[xkey]
        elif c.form == "neither":
            c.args = [g]
        else:
            c.args = [g]
            c.kwargs[xkey] = inputs_[xkey]
    return c


def _cast(v, comp):
    with np.errstate(all="ignore"):
        return float((np.float32 if comp == np.float32 else np.float64)(v))


def _param_checks(c, pvals):
    """Faults from the parameter values (on the values cast to the computation dtype)."""
    spec = c.spec
    comp = c.comp or np.float64
    for p in spec.float_params:
        v = pvals.get(p.name)
        if not isinstance(v, float):
            continue
        if math.isnan(v):
            c.nan_param = True
        vc = _cast(v, comp)
        if p.check:
            ok = {">0": vc > 0, ">=0": vc >= 0, "!=0": vc != 0}[p.check]
            ok64 = {">0": v > 0, ">=0": v >= 0, "!=0": v != 0}[p.check]
            if not ok:
                c.faults.add(ValueError)
            if ok != ok64:
                c.check_after_cast_differs = True
    for rel in spec.relations:
        lo, hi = rel.split("<=")
        a, b = pvals.get(lo), pvals.get(hi)
        if isinstance(a, float) and isinstance(b, float):
            if not _cast(a, comp) <= _cast(b, comp):
                c.faults.add(ValueError)
            if (_cast(a, comp) <= _cast(b, comp)) != (a <= b):
                c.check_after_cast_differs = True


# -------------------------------------------------------------- along axis

def _axis_shape(c, shape, ax):
    """Result shape and the shape of grad_output for the along-axis functions."""
    shape = list(shape)
    n = shape[ax]
    if c.base == "logsumexp":
        r = shape[:ax] + shape[ax + 1:]
    elif c.base in ("glu", "swiglu", "geglu"):
        r = shape[:ax] + [n // 2] + shape[ax + 1:]
    elif c.base == "maxout":
        r = shape[:ax] + [n // c.pieces if isinstance(c.pieces, int) and c.pieces > 0 else n] \
            + shape[ax + 1:]
    elif c.base == "softmax_jacobian":
        r = shape[:ax] + shape[ax + 1:] + [n, n]
    else:
        r = shape
    return tuple(r)


@st.composite
def axis_case(draw, fname):
    c = Case(fname)
    base = c.base
    shape = list(draw(shapes(min_ndim=draw(st.sampled_from([1, 1, 1, 1, 1, 1, 1, 0])))))
    c.x_ndim = len(shape)
    if len(shape) == 0:
        c.faults.add(ValueError)
    axis, afault = draw(bad_axis(c, len(shape)))
    c.axis = axis
    ax = None
    if afault:
        c.faults.add(afault)
        c.bad_axis = True
    elif len(shape):
        ax = axis % len(shape)
    if base == "maxout":
        pieces = draw(st.sampled_from([1, 2, 2, 3, 3, 0, -1, 2.0, "2", np.int64(2)]))
        c.pieces = pieces
        if isinstance(pieces, (bool, np.bool_)) or not isinstance(pieces, (int, np.integer)):
            c.faults.add(TypeError)
        elif pieces < 1:
            c.faults.add(ValueError)
        else:
            c.pieces = int(pieces)
    if ax is not None:
        mult = 2 if base in ("glu", "swiglu", "geglu") else (
            c.pieces if isinstance(c.pieces, int) and c.pieces > 0 else 1)
        if draw(st.integers(0, 9)) and shape[ax] % mult:
            shape[ax] = max(mult * (shape[ax] // mult), mult if shape[ax] else 0)
            while math.prod(shape) > 48 and shape[ax] > mult:
                shape[ax] -= mult
        if shape[ax] % mult:
            c.faults.add(ValueError)
    shape = tuple(shape)
    if base == "geglu":
        a = draw(st.sampled_from(["none", "none", "tanh", "tanh", "exact", None]))
        c.approximate = a
        if a not in ("none", "tanh"):
            c.faults.add(ValueError)
    dt = draw(dtypes())
    c.from_y = c.bwd and base in Y_FORM and draw(st.booleans())
    tf = (lambda a: as_output(base, a, axis=ax)) if c.from_y and ax is not None else None
    xobj, how = draw(inputs(dt, shape, transform=tf))
    c.layouts["x"] = how
    rule = _dtype_rule(xobj)
    if rule is None:
        c.faults.add(TypeError)
    c.comp, c.res = rule if rule else (None, None)
    rshape = _axis_shape(c, shape, ax) if ax is not None else None
    inputs_ = {}
    gshape = None
    if c.bwd:
        gshape = shape if base in ("softmax", "log_softmax", "softmin", "sparsemax") else rshape
        if gshape is not None and not draw(st.integers(0, 15)):
            gshape = tuple(gshape) + (2,)
            c.faults.add(ValueError)
        gdt = dt if draw(st.integers(0, 3)) else draw(dtypes())
        gobj, ghow = draw(inputs(gdt, gshape if gshape is not None else (2,), finite=True))
        c.layouts["grad_output"] = ghow
        if _dtype_rule(gobj) is None:
            c.faults.add(TypeError)
        inputs_["grad_output"] = gobj
        if c.comp is not None:
            c.downcast_overflow = _downcasts(gobj, c.comp)
    inputs_["y" if c.from_y else "x"] = xobj
    c.form = "kw"
    if c.bwd and base in Y_FORM:
        c.form = draw(st.sampled_from(["kw", "kw", "kw", "pos", "both", "neither"]))
        if c.form in ("both", "neither"):
            c.faults.add(TypeError)
    # out
    res_shape = shape if c.bwd else rshape
    if base != "softmax_jacobian":
        draw(out_choice(c, res_shape, c.res, inputs_))
    c.arrays = dict(inputs_)
    # the call
    xkey = "y" if c.from_y else "x"
    args = []
    if c.bwd:
        args.append(inputs_["grad_output"])
        if c.form == "pos" and not c.from_y or not (base in Y_FORM):
            args.append(inputs_[xkey])
        elif c.form == "both":
            args.append(inputs_[xkey])
            c.kwargs["y"] = inputs_[xkey]
        elif c.form == "neither":
            pass
        else:
            c.kwargs[xkey] = inputs_[xkey]
    else:
        args.append(inputs_["x"])
    if base == "maxout":
        args.append(c.pieces)
    c.kwargs["axis"] = axis
    if base == "geglu":
        c.kwargs["approximate"] = c.approximate
    c.args = args
    c.rshape = rshape
    return c


# ------------------------------------------------------------------- PReLU

@st.composite
def prelu_case(draw, fname):
    c = Case(fname)
    shape = draw(shapes())
    c.x_ndim = len(shape)
    dt = draw(dtypes())
    xobj, how = draw(inputs(dt, shape))
    c.layouts["x"] = how
    rule = _dtype_rule(xobj)
    if rule is None:
        c.faults.add(TypeError)
    c.comp, c.res = rule if rule else (None, None)
    if draw(st.integers(0, 3)):
        axis, afault = draw(bad_axis(c, max(len(shape), 1)))
    else:
        axis, afault = 1, None
    c.axis = axis
    if len(shape) >= 2:
        nch = None
        if afault:
            c.faults.add(afault)
            c.bad_axis = True
        else:
            nch = shape[axis % len(shape)]
    else:
        # a 1-D (or 0-d) x uses axis 0 whatever int axis says; a non-int is still a TypeError
        if afault is TypeError:
            c.faults.add(TypeError)
            c.bad_axis = True
        nch = shape[0] if len(shape) == 1 else 1
    wdt = (dt if draw(st.integers(0, 2)) else draw(dtypes())) if not isinstance(dt, str) \
        else np.dtype(np.float32)
    r = draw(st.integers(0, 9))
    wlen = nch if (nch is not None and r < 6) else (1 if r < 9 else 3)
    if nch is not None and wlen not in (1, nch):
        c.faults.add(ValueError)
    wshape = (wlen if wlen is not None else 1,)
    if draw(st.integers(0, 19)) == 0:
        wshape = (1, 1)
        c.faults.add(ValueError)
    wobj, whow = draw(inputs(wdt, wshape, extra=(0.0, -0.25, 0.01, 3.0)))
    c.layouts["weight"] = whow
    if _dtype_rule(wobj) is None:
        c.faults.add(TypeError)
    inputs_ = {"x": xobj, "weight": wobj}
    if c.comp is not None:
        c.downcast_overflow = _downcasts(wobj, c.comp)
    if c.bwd:
        gobj = _draw_grad(draw, c, dt, shape, shape + (2,))
        inputs_["grad_output"] = gobj
        if c.comp is not None:
            c.downcast_overflow |= _downcasts(gobj, c.comp)
        c.args = [gobj, xobj, wobj]
    else:
        draw(out_choice(c, shape, c.res, inputs_))
        c.args = [inputs_["x"], wobj]
    c.arrays = dict(inputs_)
    c.kwargs["axis"] = axis
    return c


# ================================================================ the runner

def _snapshot(o):
    if isinstance(o, np.ndarray):
        return ("nd", o.dtype, o.shape, o.strides, np.array(o, copy=True).tobytes())
    if isinstance(o, list):
        return ("list", repr(o))
    return ("other", repr(o))


def _same_bits(a, b):
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and (
        a.tobytes() == b.tobytes() or bool(np.all(
            ((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b)))))


def call(c):
    """Run the call as a user would with warnings made errors; (result, exception)."""
    f = getattr(fa, c.fname)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
            try:
                return f(*c.args, **c.kwargs), None
            except Exception as e:  # noqa: BLE001 - judged below
                return None, e


STATS = {"examples": 0, "raised": 0, "values checked": 0, "known bug relaxed": 0}
BUG_HITS = {k: 0 for k in KNOWN_BUGS}


def summary_line():
    """The counts of this run (printed by conftest's terminal summary)."""
    return (f"fuzz profile {FUZZ!r} ({_N} examples per test): "
            + ", ".join(f"{k}: {v}" for k, v in STATS.items())
            + "\nknown-bug conditions met: " + ", ".join(f"{k} {v}" for k, v in BUG_HITS.items()))


def run_case(c):
    relax, mask, names = relaxations(c)
    STATS["examples"] += 1
    STATS["known bug relaxed"] += bool(names)
    for k in names:
        BUG_HITS[k] += 1
    before = {k: _snapshot(v) for k, v in c.arrays.items()}
    out_before = _snapshot(c.out) if isinstance(c.out, np.ndarray) else None
    canonical = _canonical_args(c) if not c.faults else None   # before an in-place call
    r, err = call(c)
    for k, v in c.arrays.items():
        if v is c.out:
            continue
        assert _snapshot(v) == before[k], f"{k} was modified by {c!r}"
    if err is not None:
        STATS["raised"] += 1
        if isinstance(err, Warning):
            assert "warning" in relax, f"a warning escaped: {err!r} from {c!r}"
            return
        if isinstance(err, OverflowError) and "overflow" in relax:
            return
        assert isinstance(err, DOCUMENTED), f"undocumented exception {err!r} from {c!r}"
        if not c.faults:
            assert "error" in relax, f"unexpected {err!r} from {c!r}"
        else:
            ok = tuple(t for f in c.faults for t in (f if isinstance(f, tuple) else (f,)))
            assert isinstance(err, ok), f"{err!r} where {c.faults} expected, from {c!r}"
            assert str(err), "empty message"
        if out_before is not None:
            assert _snapshot(c.out) == out_before, f"out was written before {err!r}: {c!r}"
        return
    if c.faults:
        assert "no-error" in relax, f"no exception, {c.faults} expected, from {c!r}"
        return
    check_result(c, r, relax, mask, canonical)


def _canonical_args(c):
    """The same call on native C-contiguous arrays of the computation dtype."""
    def conv(o):
        with np.errstate(all="ignore"):
            return np.array(np.asarray(o), dtype=c.comp, order="C")
    args = [conv(a) if not isinstance(a, (int, np.integer, type(None))) or
            isinstance(a, (bool, np.bool_)) else a for a in c.args]
    if c.base == "maxout":
        args[-1] = c.pieces
    kwargs = {k: (conv(v) if k in ("y", "x") else v) for k, v in c.kwargs.items() if k != "out"}
    return args, kwargs


def check_result(c, r, relax, mask, canonical):
    f = getattr(fa, c.fname)
    if c.fname == "prelu_backward":
        assert isinstance(r, tuple) and len(r) == 2, c
        gx, gw = r
        check_shape_dtype(c, gx)
    else:
        check_shape_dtype(c, r)
    if c.out is not None:
        assert r is c.out, f"the result is not out: {c!r}"
    # bitwise equal to the canonical call
    args, kwargs = canonical
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            canon = f(*args, **kwargs)   # in the computation dtype
            canon_res = canon if c.fname == "prelu_backward" else np.asarray(canon).astype(c.res)
    if c.fname == "prelu_backward":
        assert _same_bits(r[0], np.asarray(canon[0]).astype(c.res)), \
            f"grad_x differs from the native C call: {r[0]!r} vs {canon[0]!r}: {c!r}"
        assert _same_bits(r[1], canon[1]) or c.layouts.get("weight") in ("swapped", "list") \
            or np.asarray(c.arrays["weight"]).dtype != c.comp, c
    elif c.spec.kind == "elementwise":
        assert _same_bits(r, canon_res), \
            f"differs from the native C-contiguous call:\n{np.asarray(r)!r}\n{canon!r}\n{c!r}"
    else:
        # the along-axis kernels may sum in another order for another layout
        # (an ulp apart): the result itself is checked against the reference
        if c.res == c.comp:
            canon = r
        else:
            with np.errstate(all="ignore"):
                a64, c64 = np.asarray(r, np.float64), np.asarray(canon_res, np.float64)
                near = (a64 == c64) | (np.isnan(a64) & np.isnan(c64)) | (
                    np.abs(a64 - c64) <= np.spacing(np.abs(c64).astype(c.res)).astype(
                        np.float64))
            assert near.all(), f"differs from the native call by more than an ulp: {c!r}"
    if "value" in relax:
        return
    if c.from_y and not _y_in_range(c):
        return               # y= that no forward call gives: no value reference
    if any(not (isinstance(p.value, float) and math.isfinite(_cast(p.value, c.comp)))
           for p in c.params.values()):
        return               # non-finite parameter: no value reference (see the docstring)
    STATS["values checked"] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            if c.fname.startswith("prelu"):
                check_prelu_values(c, args, canon)
            elif c.spec.kind == "elementwise":
                check_elementwise_values(c, args, kwargs, canon)
            else:
                check_axis_values(c, args, kwargs, mask, canon)


AXIS_Y_RANGE = {"softmax": (0.0, 1.0), "softmin": (0.0, 1.0), "log_softmax": (-math.inf, 0.0)}


def _finite_params(spec, pvals):
    """The drawn parameters as keywords, or None unless every float one is
    finite (choice parameters are left to their defaults)."""
    p = {k: v for k, v in pvals.items() if k in {q.name for q in spec.float_params}}
    ok = all(isinstance(v, float) and math.isfinite(v) for v in p.values())
    return p if ok else None


def _y_in_range(c):
    y = c._x()
    if c.base in AXIS_Y_RANGE:
        lo, hi = AXIS_Y_RANGE[c.base]
    else:
        lo, hi = R.y_range(c.base, dict(_pkey(c)), np.dtype(c.comp).type)
    y = y[~np.isnan(y)]
    return bool(((y >= lo) & (y <= hi)).all())


def check_shape_dtype(c, r):
    if c.fname.startswith("prelu") or c.spec.kind == "elementwise":
        shape = np.shape(np.asarray(c.arrays["y" if c.from_y else "x"]))
    else:
        shape = np.shape(np.asarray(c.arrays["y" if c.from_y else "x"])) if c.bwd else c.rshape
    scalar = len(shape) == 0 and c.out is None
    if scalar:
        assert isinstance(r, np.generic), f"expected a NumPy scalar, got {type(r)}: {c!r}"
    else:
        assert isinstance(r, np.ndarray), f"expected an ndarray, got {type(r)}: {c!r}"
    assert np.shape(r) == tuple(shape), f"shape {np.shape(r)} != {shape}: {c!r}"
    assert np.asarray(r).dtype == c.res, f"dtype {np.asarray(r).dtype} != {c.res}: {c!r}"


# ------------------------------------------------------------- comparisons

def _assert_close(c, got, hi, lo=None, floor=None, amb=None, budget=0.5, mask=None, what=""):
    """got (computation dtype) vs the reference hi + lo within `budget` ulp
    or the absolute `floor`; `amb`: 0 * inf in the formula (0 or NaN both
    accepted); `mask`: left out (known bug)."""
    got = np.atleast_1d(np.asarray(got, dtype=np.float64))    # 0-d: one element
    hi = np.atleast_1d(np.asarray(hi, dtype=np.float64))
    lo = np.zeros_like(hi) if lo is None else np.atleast_1d(np.asarray(lo, dtype=np.float64))
    floor = None if floor is None else np.atleast_1d(floor)
    amb = None if amb is None else np.atleast_1d(amb)
    mask = None if mask is None else np.atleast_1d(mask)
    err = ulp_errors(got, hi, lo, c.comp)
    ok = err <= max(budget, 0.5)
    if floor is not None:
        abs_err = np.abs((got - hi) - lo)
        ok |= np.isfinite(abs_err) & (abs_err <= np.asarray(floor))
    if amb is not None:
        ok |= np.asarray(amb) & ((got == 0) | np.isnan(got))
    if mask is not None:
        ok |= mask
    if not ok.all():
        idx = list(zip(*np.nonzero(~ok)))[:6]
        lines = [f"  at {i}: got {got[i]!r} ref {hi[i]!r} (+{lo[i]:.3g}) err {err[i]:.3g} ulp"
                 + (f" floor {np.asarray(floor)[i]:.3g}" if floor is not None else "")
                 for i in idx]
        raise AssertionError(f"{what} beyond {budget} ulp:\n" + "\n".join(lines) + f"\n{c!r}")


@lru_cache(maxsize=200_000)
def _mp_fwd(name, x, pkey, dt):
    return R.mp_forward(name, x, dict(pkey), np.dtype(dt))


@lru_cache(maxsize=200_000)
def _mp_der(name, x, pkey, dt):
    return R.mp_derivative(name, x, dict(pkey), np.dtype(dt))


def _pkey(c, base=None):
    base = base or c.base
    spec = SPECS[base]
    p = {}
    for q in spec.params:
        if q.type == "choice":
            p[q.name] = c.approximate
        elif q.type == "float":
            v = c.pvals[q.name] if q.name in c.pvals else q.default
            p[q.name] = v
    p = R.cast_params(base, p, c.comp)
    return tuple(sorted(p.items()))


def _prod_ref(g, hi, lo):
    """g * (hi + lo) as a double-double, IEEE for non-finite factors;
    plus the 0 * inf mask."""
    g = np.asarray(g, np.float64)
    ph = np.empty(hi.shape)
    pl = np.zeros(hi.shape)
    amb = np.zeros(hi.shape, bool)
    for i in np.ndindex(hi.shape):
        gi, h, l_ = float(g[i]), float(hi[i]), float(lo[i])
        if math.isfinite(gi) and math.isfinite(h):
            with mpmath.workprec(200):
                ph[i], pl[i] = R._dd(mpmath.mpf(gi) * (mpmath.mpf(h) + mpmath.mpf(l_)))
        else:
            ph[i] = gi * h
            amb[i] = (gi == 0 and math.isinf(h)) or (h == 0 and math.isinf(gi))
    return ph, pl, amb


def check_elementwise_values(c, args, kwargs, got):
    name = c.base
    spec = c.spec
    pk = _pkey(c)
    dt = np.dtype(c.comp).name
    if c.bwd:
        x = kwargs.get("y", kwargs.get("x", args[1] if len(args) > 1 else None))
    else:
        x = args[0]
    x = np.asarray(x, np.float64)
    got = np.asarray(got)
    if not c.bwd:
        ref = [_mp_fwd(name, float(v), pk, dt) for v in x.reshape(-1)]
        hi = np.array([h for h, _ in ref]).reshape(x.shape)
        lo = np.array([l_ for _, l_ in ref]).reshape(x.shape)
        _assert_close(c, got, hi, lo, budget=spec.ulp[0 if c.comp == np.float32 else 1],
                      what=f"{c.fname}")
        return
    g = np.asarray(args[0], np.float64)
    if c.from_y:
        dhi, dlo, terms = _y_derivative(c, x)
    else:
        ref = [_mp_der(name, float(v), pk, dt) for v in x.reshape(-1)]
        dhi = np.array([d[0][0] for d in ref]).reshape(x.shape)
        dlo = np.array([d[0][1] for d in ref]).reshape(x.shape)
        terms = np.array([d[1] for d in ref]).reshape(x.shape)
    ph, pl, amb = _prod_ref(g, dhi, dlo)
    kink = None
    if name == "hard_sigmoid":
        # the kernel decides "inside (0, 1)" on the rounded slope * x + offset,
        # the reference on the exact value: a point on a kink may go either way
        p = dict(pk)
        cd = np.float32 if c.comp == np.float32 else np.float64
        t_r = (cd(p["slope"]) * x.astype(cd) + cd(p["offset"])).astype(np.float64)
        t_e = (np.longdouble(p["slope"]) * x.astype(np.longdouble)
               + np.longdouble(p["offset"]))
        kink = ((t_r > 0) & (t_r < 1)) != ((t_e > 0) & (t_e < 1))
    e = float(np.finfo(c.comp).eps)
    sub = float(np.finfo(c.comp).smallest_subnormal)
    # f' is computed in the dtype, then multiplied by g: where f' is
    # subnormal its rounding (bwd_ulp of its ulp) is scaled by g, and an f'
    # that rounds to 0 makes g = inf give NaN (inf * 0)
    floor = 4 * e * terms * np.abs(g) + spec.bwd_ulp * np.abs(g) * ulp_of(dhi, c.comp)
    amb |= np.isinf(g) & (np.abs(dhi) < 16 * sub)
    _assert_close(c, got, ph, pl, floor=floor, amb=amb, budget=spec.bwd_ulp + 1,
                  mask=kink, what=f"{c.fname}")


def _y_derivative(c, y):
    """f' from the output y: the reference record's from_y, in mpmath."""
    d, t = R.from_y(c.base, dict(_pkey(c)), np.dtype(c.comp).type)
    hi = np.empty(y.shape)
    lo = np.zeros(y.shape)
    terms = np.empty(y.shape)
    for i in np.ndindex(y.shape):
        if math.isnan(y[i]):         # NaN in, NaN out
            hi[i] = terms[i] = math.nan
            continue
        with mpmath.workprec(300):
            m = mpmath.mpf(float(y[i]))
            hi[i], lo[i] = R._dd(d(m))
            terms[i] = float(t(m))
    return hi, lo, terms


# ------------------------------------------------------------------- PReLU

def check_prelu_values(c, args, got):
    x = np.asarray(args[-2] if c.bwd else args[0])
    w = np.asarray(args[-1]).reshape(-1)
    comp = c.comp
    ax = 0 if x.ndim <= 1 else c.axis % x.ndim
    if w.size == 1 or x.ndim == 0:
        wb = np.broadcast_to(w[0], x.shape)
    else:
        shp = [1] * x.ndim
        shp[ax] = w.size
        wb = np.broadcast_to(w.reshape(shp), x.shape)
    if x.size == 0:
        return
    xd = x.astype(np.float64)
    wd = wb.astype(np.float64)
    neg = ~(xd > 0)
    if not c.bwd:
        # x if x > 0 else w * x, one rounding; w = 0 at -inf gives the limit 0 (D3)
        exp = np.where(xd > 0, xd, np.where((wd == 0) & np.isinf(xd), 0.0, wd * xd))
        amb = neg & np.isinf(wd) & (xd == 0)
        _assert_close(c, np.asarray(got), exp.astype(comp), amb=amb, budget=0.5, what="prelu")
        return
    g = np.asarray(args[0]).astype(np.float64)
    gx, gw = got
    expx = np.where(np.isnan(xd), np.nan, np.where(xd > 0, g, g * wd))
    amb = neg & ((np.isinf(g) & (wd == 0)) | ((g == 0) & np.isinf(wd)))
    _assert_close(c, np.asarray(gx), expx.astype(comp), amb=amb, budget=0.5,
                  what="prelu_backward grad_x")
    # grad_weight: the sum of g * x where x <= 0 (NaN x: NaN), per channel
    prod = np.where(np.isnan(xd), np.nan, np.where(neg, g * xd, 0.0))
    pamb = neg & (((g == 0) & np.isinf(xd)) | (np.isinf(g) & (xd == 0)))
    if w.size == 1 or x.ndim == 0:
        groups, gamb = [prod.reshape(-1)], [pamb.reshape(-1)]
    else:
        groups = list(np.moveaxis(prod, ax, 0).reshape(w.size, -1))
        gamb = list(np.moveaxis(pamb, ax, 0).reshape(w.size, -1))
    e = float(np.finfo(comp).eps)
    hi = np.empty(len(groups))
    floor = np.zeros(len(groups))
    for k, grp in enumerate(groups):
        if np.isfinite(grp).all():
            hi[k] = math.fsum(grp.tolist())
            floor[k] = 2 * e * float(np.abs(grp).sum())
        else:
            hi[k] = float(np.sum(grp))
    _assert_close(c, np.asarray(gw).reshape(-1).astype(np.float64), hi, floor=floor,
                  amb=np.array([a.any() for a in gamb]), budget=1,
                  what="prelu_backward grad_weight")


# -------------------------------------------------------------- along axis

LD = np.longdouble


def _rows(a, ax):
    return np.moveaxis(np.asarray(a), ax, -1)


def _sig_ld(b):
    with np.errstate(all="ignore"):
        return LD(1) / (LD(1) + np.exp(-b))


def _glu_ld_tail(base, v, ref, der=False):
    """The references of _mp_ld are double-doubles, which keep few bits
    where they are subnormal doubles; where the GLU family multiplies such
    a value by a large number, use long double there instead: sigmoid'
    (glu), silu and silu' (swiglu), gelu(v) = v / 2 for a tiny v (geglu)."""
    with np.errstate(all="ignore"):
        small = (np.abs(ref) < 1e-290) & np.isfinite(v)
        if base == "glu":
            ld = _sig_ld(-np.abs(v)) * _sig_ld(np.abs(v)) if der else ref
        elif base == "swiglu":
            s, sm = _sig_ld(v), _sig_ld(-v)
            ld = s * (1 + v * sm) if der else v * s
        else:
            ld = ref if der else v / 2
            small &= np.abs(v) < 1e-290
        return np.where(small, ld, ref)


def _softmax_ld(z):
    """softmax of the last axis in long double with the max shift (IEEE)."""
    with np.errstate(all="ignore"):
        m = np.max(z, axis=-1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=-1, keepdims=True)
        return e / s, m, s


def jacobian_diag_mask(c):
    """The diagonal entries where s > 1/4 (there s(1 - s) loses bits today)."""
    x = np.asarray(c.arrays["x"]).astype(LD)
    ax = c.axis % x.ndim
    s, _, _ = _softmax_ld(_rows(x, ax))
    n = s.shape[-1]
    mask = np.zeros(s.shape + (n,), bool)
    i = np.arange(n)
    mask[..., i, i] = s > 0.25
    return mask


def _fmul(a, b, tiny=0.0):
    """a * b in long double, with the 0 * inf mask (a factor up to `tiny`
    may be 0 in the computation dtype)."""
    with np.errstate(all="ignore"):
        amb = ((np.abs(a) <= tiny) & np.isinf(b)) | (np.isinf(a) & (np.abs(b) <= tiny))
        return a * b, amb


def _mp_ld(name, vals, params, comp, der=False):
    dt = np.dtype(comp).name
    pk = tuple(sorted(R.cast_params(name, params, comp).items()))
    flat = vals.reshape(-1)
    out = np.empty(flat.shape, LD)
    terms = np.empty(flat.shape, LD)
    for k, v in enumerate(flat):
        if der:
            (h, l_), t = _mp_der(name, float(v), pk, dt)
            terms[k] = t
        else:
            h, l_ = _mp_fwd(name, float(v), pk, dt)
            terms[k] = abs(h)
        out[k] = LD(h) + LD(l_)
    return out.reshape(vals.shape), terms.reshape(vals.shape)


def _sparsemax_exact(z):
    """(p, support) of one row, exact (fractions); NaN row for NaN, +inf or all -inf."""
    n = len(z)
    if n == 0:
        return np.zeros(0), np.zeros(0, bool), math.nan
    if any(math.isnan(v) for v in z) or any(v == math.inf for v in z) or all(
            v == -math.inf for v in z):
        return np.full(n, math.nan), np.zeros(n, bool), math.nan
    fin = [Fraction(v) for v in z if math.isfinite(v)]
    zs = sorted(fin, reverse=True)
    cs = Fraction(0)
    k = 0
    csk = Fraction(0)
    for i, v in enumerate(zs, 1):
        cs += v
        if 1 + i * v > cs:
            k, csk = i, cs
    tau = (csk - 1) / k
    p = [float(max(Fraction(v) - tau, Fraction(0))) if math.isfinite(v) else 0.0 for v in z]
    sup = np.array([math.isfinite(v) and Fraction(v) > tau for v in z])
    return np.array(p), sup, float(tau)


def check_axis_values(c, args, kwargs, mask, got):
    base = c.base
    comp = c.comp
    e = float(np.finfo(comp).eps)
    got = np.asarray(got, np.float64)
    if got.size == 0:
        return
    xin = kwargs.get("y", kwargs.get("x"))
    if xin is None:
        xin = args[1] if c.bwd else args[0]
    x = np.asarray(xin)
    ax = c.axis % x.ndim
    z = _rows(x, ax).astype(LD)
    n = z.shape[-1]
    if n == 0:      # only logsumexp has a non-empty result here: -inf
        assert (got == -np.inf).all(), f"logsumexp over an empty axis: {got!r}: {c!r}"
        return
    budget = c.spec.ulp[0 if comp == np.float32 else 1]
    bbudget = c.spec.bwd_ulp + 1
    tiny = 16 * float(np.finfo(comp).smallest_subnormal)   # may be 0 in the dtype
    amb = None
    if c.bwd:
        g = np.asarray(args[0]).astype(LD)
        gz = _rows(g, ax) if base not in ("logsumexp",) else g
    with np.errstate(all="ignore"):
        finite = np.where(np.isfinite(z), np.abs(z), 0)
        K = finite.max(axis=-1, keepdims=True) * 2 + n + 1 if n else 0
        if base in ("softmax", "softmin", "log_softmax", "logsumexp", "softmax_jacobian"):
            zz = -z if base == "softmin" else z
            if c.bwd and c.from_y:
                s = np.exp(z) if base == "log_softmax" else z   # y: the forward output
                K = n + 1
            else:
                s, m, S = _softmax_ld(zz)
            if not c.bwd:
                if base in ("softmax", "softmin"):
                    ref = s
                    floor = 4 * e * s * K
                elif base == "log_softmax":
                    ref = (zz - m) - np.log(S)
                    floor = 4 * e * (np.abs(zz) + np.abs(m) + np.abs(np.log(S)) + n)
                elif base == "logsumexp":
                    ref = np.where(np.isneginf(m) & ~np.isnan(S), -np.inf, m + np.log(S))[..., 0]
                    # a row of only -inf: -inf (the contract)
                    ref = np.where(np.isneginf(zz).all(axis=-1), -np.inf, ref)
                    ref = np.where(np.isposinf(np.max(zz, axis=-1)) & ~np.isnan(zz).any(-1),
                                   np.inf, ref)
                    floor = 4 * e * (np.abs(m) + np.abs(np.log(S)) + n)[..., 0]
                    if n == 0:
                        ref = np.full(z.shape[:-1], -np.inf)
                        floor = np.zeros(z.shape[:-1])
                    _assert_close(c, got, ref, floor=floor, budget=budget, mask=mask,
                                  what=base)
                    return
                else:
                    J = -(s[..., :, None] * s[..., None, :])
                    i = np.arange(n)
                    J[..., i, i] = s * (1 - s)
                    floor = 4 * e * K[..., None] * (np.abs(s[..., :, None] * s[..., None, :])
                                                    + np.eye(n) * s[..., None, :])
                    _assert_close(c, got, J, floor=floor, budget=budget, mask=mask, what=base)
                    return
            else:
                if base == "logsumexp":
                    # a row of only -inf (logsumexp constant -inf) gets 0
                    s = np.where(np.isneginf(z).all(axis=-1, keepdims=True), 0.0, s)
                    ref = g[..., None] * s
                    gg = g[..., None]
                    floor = 4 * e * K * np.abs(ref)
                    ref, amb = _fmul(gg, s)
                elif base == "log_softmax":
                    sg = gz.sum(axis=-1, keepdims=True)
                    ref = gz - s * sg
                    floor = 4 * e * (np.abs(gz) + K * s * np.abs(gz).sum(-1, keepdims=True))
                else:
                    dot = (gz * s).sum(axis=-1, keepdims=True)
                    ref = s * (gz - dot)
                    if base == "softmin":
                        ref = -ref
                    floor = 4 * e * K * s * (np.abs(gz) + (np.abs(gz) * np.abs(s)).sum(
                        -1, keepdims=True))
                budget = bbudget
        elif base in ("glu", "swiglu", "geglu"):
            a, b = np.split(z, 2, axis=-1)
            gelu_p = {"approximate": c.approximate}
            if not c.bwd:
                if base == "glu":
                    ref, amb = _fmul(a, _sig_ld(b), tiny)
                    floor = None
                else:
                    fa_, _ = _mp_ld("silu" if base == "swiglu" else "gelu", a,
                                    {} if base == "swiglu" else gelu_p, comp)
                    fa_ = _glu_ld_tail(base, a, fa_)
                    ref, amb = _fmul(fa_, b, tiny)
                    floor = None
            else:
                gz = _rows(g, ax)
                if base == "glu":
                    sb = _sig_ld(b)
                    d, dterms = _mp_ld("sigmoid", b, {}, comp, der=True)
                    d = _glu_ld_tail("glu", b, d, der=True)
                    ra, amb_a = _fmul(gz, sb, tiny)
                    ga, amb_b1 = _fmul(gz, a)
                    rb, amb_b2 = _fmul(ga, d, tiny)
                    fl_b = 4 * e * np.abs(rb)
                else:
                    nm, pp = ("silu", {}) if base == "swiglu" else ("gelu", gelu_p)
                    d, dterms = _mp_ld(nm, a, pp, comp, der=True)
                    fv, _ = _mp_ld(nm, a, pp, comp)
                    d = _glu_ld_tail(base, a, d, der=True)
                    fv = _glu_ld_tail(base, a, fv)
                    gb, amb_1 = _fmul(gz, b)
                    ra, amb_a = _fmul(gb, d, tiny)
                    rb, amb_b2 = _fmul(gz, fv, tiny)
                    amb_b1 = amb_1
                    fl_a = 4 * e * np.abs(gb) * dterms
                    fl_b = None
                if base == "glu":
                    fl_a = None
                ref = np.concatenate([ra, rb], axis=-1)
                amb = np.concatenate([amb_a | (amb_b1 if base != "glu" else False),
                                      amb_b2 | (amb_b1 if base == "glu" else False)], axis=-1)
                floor = None
                if fl_a is not None or fl_b is not None:
                    zero = np.zeros(ra.shape, LD)
                    floor = np.concatenate([fl_a if fl_a is not None else zero,
                                            fl_b if fl_b is not None else zero], axis=-1)
                budget = bbudget
        elif base == "maxout":
            p = c.pieces
            blk = z.reshape(z.shape[:-1] + (n // p, p))
            if not c.bwd:
                ref = np.where(np.isnan(blk).any(-1), np.nan, np.max(blk, axis=-1))
                floor = None
                budget = 0.5
            else:
                idx = np.argmax(blk, axis=-1)
                gz = _rows(g, ax).reshape(blk.shape[:-1] + (1,))
                r = np.zeros(blk.shape, LD)
                np.put_along_axis(r, idx[..., None], gz, axis=-1)
                ref = r.reshape(z.shape)
                floor = None
                budget = 0.5
        elif base == "sparsemax":
            rows = z.reshape(-1, n).astype(np.float64)
            ex = [_sparsemax_exact(list(r)) for r in rows]
            P_ = np.array([r[0] for r in ex]).reshape(z.shape)
            sup = np.array([r[1] for r in ex], bool).reshape(z.shape)
            tau = np.array([r[2] for r in ex]).reshape(z.shape[:-1] + (1,))
            zd = z.astype(np.float64)
            fin = np.isfinite(zd)
            zmax = np.where(fin, zd, -np.inf).max(axis=-1, keepdims=True)
            spread = np.where(fin, np.abs(zd - zmax), 0).max(axis=-1, keepdims=True)
            tolr = 4 * e * (n + 1) * (spread + 1)
            if not c.bwd:
                ref = P_
                floor = np.broadcast_to(tolr, z.shape)
            else:
                gz = _rows(g, ax).astype(np.float64)
                cnt = sup.sum(-1, keepdims=True)
                mean = (gz * sup).sum(-1, keepdims=True) / np.maximum(cnt, 1)
                ref = np.where(sup, gz - mean, 0.0)
                ref = np.where(np.isnan(P_), np.nan, ref)
                floor = 4 * e * (n + 1) * (np.abs(gz) + np.abs(gz).sum(-1, keepdims=True))
                # rows whose support is decided by less than the rounding: not checked
                near = (fin & (np.abs(zd - tau) <= 8 * tolr)).any(-1, keepdims=True)
                m2 = np.moveaxis(np.broadcast_to(near, z.shape), -1, ax)
                mask = m2 if mask is None else mask | m2
                budget = bbudget
        else:
            raise KeyError(base)
    ref = np.asarray(ref)
    rshape = ref.shape
    ref = np.moveaxis(ref, -1, ax)
    if floor is not None:
        floor = np.moveaxis(np.broadcast_to(np.asarray(floor), rshape), -1, ax)
    if amb is not None:
        amb = np.moveaxis(np.broadcast_to(np.asarray(amb), rshape), -1, ax)
    hi = np.asarray(ref, np.float64)
    with np.errstate(all="ignore"):
        lo = np.where(np.isfinite(hi), np.asarray(ref, LD) - hi.astype(LD), 0).astype(np.float64)
    _assert_close(c, got, hi, lo, floor=None if floor is None else np.asarray(
        floor, np.float64), amb=amb, budget=budget, mask=mask, what=c.fname)


# ================================================================= the tests

@pytest.mark.parametrize("fname", ELEM_FUNCS)
@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_elementwise(fname, data):
    run_case(data.draw(elementwise_case(fname), label="case"))


@pytest.mark.parametrize("fname", AXIS_FUNCS)
@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_along_axis(fname, data):
    run_case(data.draw(axis_case(fname), label="case"))


@pytest.mark.parametrize("fname", PRELU_FUNCS)
@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzz_prelu(fname, data):
    run_case(data.draw(prelu_case(fname), label="case"))


@FUZZ_SETTINGS
@given(n=st.one_of(st.integers(-3, 8), st.sampled_from([0, 2 ** 70, -(2 ** 70), 1.5, "2",
                                                        None, np.int64(3)])))
def test_fuzz_thread_settings(n):
    before = fa.get_num_threads()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                fa.set_num_threads(n)
            except (ValueError, TypeError, OverflowError) as e:
                assert not isinstance(e, OverflowError) or abs(n) >= 2 ** 63, repr(e)
                assert fa.get_num_threads() == before
                return
            assert isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1
            got = fa.get_num_threads()
            assert got == int(n) if n <= 64 else got >= 1     # a huge n may be capped
            with fa.num_threads(1):
                assert fa.get_num_threads() == 1
            assert fa.get_num_threads() == got
    finally:
        fa.set_num_threads(before)
