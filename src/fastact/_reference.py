"""Slow reference implementations of every elementwise activation (and
PReLU), keyed by name, for the tests.

Two kinds of reference, both evaluated at the *exact* value of the float
input (a float32 input is widened exactly to a Python float):

* ``mp_forward`` / ``mp_derivative``: high-precision values from mpmath.
  Each function is written in mpmath from its mathematical definition (the
  forms below avoid nothing: cancellation is handled by precision).  The
  working precision starts at 128 bits and doubles until two successive
  evaluations agree to 2**-90 relative (``_stable``), so x - tanh(x) at
  x = 1e-30 or at a subnormal x is still right; the value is returned as a
  double-double ``(hi, lo)`` with hi + lo equal to the exact value to about
  2**-106 relative.  +-inf and NaN are answered from the mathematical
  limits (``_limits``), never from mpmath.
* ``np_forward`` / ``np_derivative``: vectorized float64 NumPy formulas,
  written in stable forms (log1p, expm1, exp(-|x|), no subtraction of
  nearly equal terms), accurate to a few float64 ulp: a reference for
  dense float32 grids (its error is ~1e-8 float32 ulp) and for quick
  comparisons.

Conventions (those of the kernels, ../include/fa_act_impl.h):

* float parameters are first converted to the computation dtype:
  ``cast_params(name, params, dtype)`` gives ``float(np.float32(p))`` for
  float32 (and float16) input and ``float(p)`` for float64; the reference
  then computes exactly with those values;
* selu's alpha and scale are the spec's constants rounded to the dtype;
* gelu approximate="tanh" uses the float64 constants sqrt(2/pi) and
  0.044715 in both dtypes (the float32 kernel computes in double);
* hard_sigmoid / hard_swish: the kernels evaluate ``slope * x + offset``
  without FMA (documented: the product is rounded, then the sum), so the
  reference rounds the product ``slope * x`` to the dtype, then adds the
  offset exactly and clips (exact from there on).  The derivative follows
  torch on the exact input: hard_sigmoid' = slope on -3 < x < 3 for the
  default slope/offset (torch's hardsigmoid), else where the exact
  ``slope * x + offset`` is strictly inside (0, 1); hard_swish' = 0 for
  x <= -3, x/3 + 1/2 (2 * slope * x + 1/2) for -3 < x < 3, 1 for x >= 3
  (what torch 2.x's hardswish_backward does);
* softplus's threshold branch is taken where ``dtype(beta * x) > threshold``
  (the rounded product, as torch and the kernel do; the branch is part of
  the definition, it changes the value by up to ~2e-9 relative);
* derivatives at kinks follow torch: relu'(0) = 0, leaky_relu'(0) =
  negative_slope, relu6' = 1 on (0, 6) only, hard_tanh' = 1 on (min, max)
  only, shrink' = 0 on [-lambd, lambd], threshold' = 0 where x <= threshold,
  elu'(0) = alpha, celu'(0) = 1, selu'(0) = scale * alpha, squareplus'(0) =
  1/2 when b = 0.

``mp_derivative`` also returns the magnitude of the terms of f' (the sum of
the absolute values of the terms of the formula for f'), for the absolute
error floor of the backward checks near zeros of f' (silu' at
x = -1.2785, mish' at -1.1924, gelu' at -0.7518, hard_swish' at -1.5).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from fastact import _spec

__all__ = ["ulp_of", "ulp_errors", "PARAM_CASES", "REQUIRED_VALUES", "cast_params", "mp_forward",
           "mp_derivative", "np_forward", "np_derivative", "kinks", "TORCH"]

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
GELU_C = math.sqrt(2.0 / math.pi)          # float64 value 0x1.9884533d43651p-1
GELU_K = 0.044715

# values for the required parameters (the spec has no default for them)
REQUIRED_VALUES = {("threshold", "threshold"): 0.5, ("threshold", "value"): -2.0}


def _default_params(spec) -> dict:
    out = {}
    for p in spec.params:
        out[p.name] = REQUIRED_VALUES[(spec.name, p.name)] if p.required else p.default
    return out


# parameter sets tested for accuracy: the defaults first, then others
_EXTRA = {
    "leaky_relu": [{"negative_slope": 0.2}, {"negative_slope": -0.3}],
    "elu": [{"alpha": 0.5}, {"alpha": 2.0}],
    "celu": [{"alpha": 2.0}, {"alpha": 0.3}],
    "gelu": [{"approximate": "tanh"}],
    "swish": [{"beta": 0.5}, {"beta": 2.0}, {"beta": 1.7}],
    "softplus": [{"beta": 2.0, "threshold": 10.0}, {"beta": 0.7, "threshold": 20.0}],
    "hard_sigmoid": [{"slope": 0.2, "offset": 0.5}],
    "hard_tanh": [{"min_val": -2.0, "max_val": 3.0}, {"min_val": 0.5, "max_val": 0.5}],
    "softshrink": [{"lambd": 1.0}, {"lambd": 0.0}],
    "hardshrink": [{"lambd": 1.0}, {"lambd": 0.0}],
    "threshold": [{"threshold": -1.0, "value": 7.0}],
    "squareplus": [{"b": 1.0}, {"b": 0.0}],
}

PARAM_CASES = {
    s.name: [_default_params(s)] + [dict(_default_params(s), **e) for e in _EXTRA.get(s.name, [])]
    for s in _spec.SPECS if s.kind in ("elementwise", "channel")
}


def _base(name: str, params: dict, dtype=np.float64):
    """A special case of another activation (the spec's `special_of`): that
    activation's name and parameters (the fixed ones cast to the
    computation dtype, as the kernel sees them)."""
    spec = _spec.BY_NAME.get(name)
    if spec is None or not spec.special_of:
        return name, params
    comp = _comp(dtype)
    return spec.base.name, {**{k: float(comp(v)) for k, v in spec.fixed.items()}, **params}


def cast_params(name: str, params: dict, dtype) -> dict:
    """The parameters as the kernel sees them: float params rounded to the
    computation dtype (float32 for float16 input)."""
    dt = np.dtype(dtype)
    comp = np.float64 if dt == np.float64 else np.float32
    spec = _spec.BY_NAME[name]
    out = dict(params)
    for p in spec.float_params:
        out[p.name] = float(comp(params[p.name]))
    for k, v in spec.fixed.items():            # a special case's fixed parameters
        out[k] = float(comp(v))
    return out


def _comp(dtype):
    return np.float64 if np.dtype(dtype) == np.float64 else np.float32


def _rnd(v: float, dtype) -> float:
    """v (an exact float64 product of two dtype values) rounded to dtype."""
    return float(_comp(dtype)(v))


def kinks(name: str, params: dict) -> list:
    """Points where f or f' is not smooth (tests put points on and next to them)."""
    name, params = _base(name, params)
    p = params
    k = {
        "relu": [0.0], "relu6": [0.0, 6.0], "leaky_relu": [0.0], "elu": [0.0],
        "selu": [0.0], "celu": [0.0], "binary_step": [0.0], "hard_swish": [-3.0, 3.0],
        "squareplus": [0.0], "softsign": [0.0],
    }.get(name, [])
    if name in ("softshrink", "hardshrink"):
        k = [-p["lambd"], p["lambd"]]
    elif name == "hard_tanh":
        k = [p["min_val"], p["max_val"]]
    elif name == "threshold":
        k = [p["threshold"]]
    elif name == "hard_sigmoid":
        k = [-p["offset"] / p["slope"], (1 - p["offset"]) / p["slope"]]
    elif name == "softplus":
        k = [p["threshold"] / p["beta"]]
    return k


# ----------------------------------------------------------------- mpmath

mpf = mpmath.mpf


def _stable(fn, x: float):
    """fn(mpf(x)) at doubling precision until two evaluations agree."""
    prev = None
    prec = 128
    with mpmath.workprec(prec):
        prev = fn(mpf(x))
    while True:
        prec *= 2
        with mpmath.workprec(prec):
            v = fn(mpf(x))
            if prev == v:
                return v
            diff = abs(v - prev)
            if diff <= abs(v) * mpf(2) ** -90 or (abs(v) < mpf(2) ** -1200 and
                                                   abs(prev) < mpf(2) ** -1200):
                return v
        if prec >= 1 << 15:
            return v
        prev = v


def _dd(v):
    """mpf -> (hi, lo) float64 double-double (hi + lo ~ v)."""
    if isinstance(v, float):
        return v, 0.0
    with mpmath.workprec(4096):
        if mpmath.isnan(v):
            return math.nan, 0.0
        if mpmath.isinf(v):
            return float(v), 0.0
        hi = float(v)
        if math.isinf(hi):
            return hi, 0.0
        lo = float(v - hi)
    return hi, lo


def _sig(t):
    return 1 / (1 + mpmath.exp(-t))


def _ncdf(x):
    """Phi(x); mpmath's erfc fails on |x| > ~1e8, where the asymptotic
    series Phi(x) = phi(x)/|x| (1 - 1/x^2 + 3/x^4) (x < 0) is exact to
    far more than the working precision."""
    if abs(x) < 1e6:
        return mpmath.ncdf(x)
    if x > 0:
        return 1 - _ncdf(-x)
    return mpmath.npdf(x) / -x * (1 - 1 / x ** 2 + 3 / x ** 4 - 15 / x ** 6)


def _gelu_tanh_u2(x):
    c = mpf(GELU_C)
    k = mpf(GELU_K)
    return 2 * c * (x + k * x ** 3)


def _fwd_fn(name: str, p: dict, dtype):
    """f as an mpmath function of an mpf x (finite)."""
    if name == "sigmoid":
        return _sig
    if name == "log_sigmoid":
        return lambda x: -mpmath.log1p(mpmath.exp(-x))
    if name == "tanh":
        return mpmath.tanh
    if name == "relu":
        return lambda x: x if x > 0 else mpf(0)
    if name == "relu6":
        return lambda x: min(max(mpf(0), x), mpf(6))
    if name in ("leaky_relu", "prelu"):
        s = mpf(p["negative_slope"] if name == "leaky_relu" else p["weight"])
        return lambda x: x if x > 0 else s * x
    if name == "elu":
        a = mpf(p["alpha"])
        return lambda x: x if x > 0 else a * mpmath.expm1(x)
    if name == "selu":
        a, sc = mpf(_rnd(SELU_ALPHA, dtype)), mpf(_rnd(SELU_SCALE, dtype))
        return lambda x: sc * x if x > 0 else sc * a * mpmath.expm1(x)
    if name == "celu":
        a = mpf(p["alpha"])
        return lambda x: x if x > 0 else a * mpmath.expm1(x / a)
    if name == "gelu":
        if p.get("approximate", "none") == "tanh":
            return lambda x: x * _sig(_gelu_tanh_u2(x))
        return lambda x: x * _ncdf(x)
    if name in ("silu", "swish"):
        b = mpf(p.get("beta", 1.0))
        return lambda x: x * _sig(b * x)
    if name == "mish":
        return lambda x: x * mpmath.tanh(mpmath.log1p(mpmath.exp(x)))
    if name == "softplus":
        b, thr = p["beta"], p["threshold"]

        def f(x):
            if _rnd(b * float(x), dtype) > thr:
                return x
            return mpmath.log1p(mpmath.exp(mpf(b) * x)) / mpf(b)
        return f
    if name == "softsign":
        return lambda x: x / (1 + abs(x))
    if name in ("hard_sigmoid", "hard_swish"):
        s = p.get("slope", _rnd(1.0 / 6.0, dtype)) if name == "hard_sigmoid" else _rnd(1 / 6, dtype)
        o = p.get("offset", 0.5) if name == "hard_sigmoid" else 0.5

        def v(x):
            # the product slope * x rounded to the dtype (no FMA, documented)
            t = mpf(_rnd(s * float(x), dtype)) + mpf(o)
            return min(max(mpf(0), t), mpf(1))
        if name == "hard_sigmoid":
            return v
        return lambda x: x * v(x)
    if name == "hard_tanh":
        lo, hi = mpf(p["min_val"]), mpf(p["max_val"])
        return lambda x: min(max(lo, x), hi)
    if name == "softshrink":
        lam = mpf(p["lambd"])
        return lambda x: x - lam if x > lam else (x + lam if x < -lam else mpf(0))
    if name == "hardshrink":
        lam = mpf(p["lambd"])
        return lambda x: x if abs(x) > lam else mpf(0)
    if name == "tanhshrink":
        return lambda x: x - mpmath.tanh(x)
    if name == "threshold":
        t, v = mpf(p["threshold"]), mpf(p["value"])
        return lambda x: x if x > t else v
    if name == "binary_step":
        return lambda x: mpf(1) if x >= 0 else mpf(0)
    if name == "squareplus":
        b = mpf(p["b"])

        def f(x):
            s = mpmath.sqrt(x * x + b)
            return (x + s) / 2 if x >= 0 else b / (2 * (s - x))
        return f
    raise KeyError(name)


def _der_fn(name: str, p: dict, dtype):
    """(f', terms of f') as mpmath functions of an mpf x (finite)."""
    one, zero = mpf(1), mpf(0)
    if name == "sigmoid":
        def d(x):
            e = mpmath.exp(-abs(x))
            return e / (1 + e) ** 2
        return d, d
    if name == "log_sigmoid":
        d = lambda x: 1 / (1 + mpmath.exp(x))  # noqa: E731
        return d, d
    if name == "tanh":
        d = lambda x: mpmath.sech(x) ** 2  # noqa: E731
        return d, lambda x: one
    if name == "relu":
        d = lambda x: one if x > 0 else zero  # noqa: E731
        return d, d
    if name == "relu6":
        d = lambda x: one if 0 < x < 6 else zero  # noqa: E731
        return d, d
    if name in ("leaky_relu", "prelu"):
        s = mpf(p["negative_slope"] if name == "leaky_relu" else p["weight"])
        d = lambda x: one if x > 0 else s  # noqa: E731
        return d, lambda x: abs(d(x))
    if name == "elu":
        a = mpf(p["alpha"])
        d = lambda x: one if x > 0 else a * mpmath.exp(x)  # noqa: E731
        return d, lambda x: abs(d(x))
    if name == "selu":
        a, sc = mpf(_rnd(SELU_ALPHA, dtype)), mpf(_rnd(SELU_SCALE, dtype))
        d = lambda x: sc if x > 0 else sc * a * mpmath.exp(x)  # noqa: E731
        return d, d
    if name == "celu":
        a = mpf(p["alpha"])
        d = lambda x: one if x > 0 else mpmath.exp(x / a)  # noqa: E731
        return d, d
    if name == "gelu":
        if p.get("approximate", "none") == "tanh":
            c, k = mpf(GELU_C), mpf(GELU_K)

            def parts(x):
                s = _sig(_gelu_tanh_u2(x))
                return s, x * s * (1 - s) * 2 * c * (1 + 3 * k * x * x)
        else:
            def parts(x):
                return _ncdf(x), x * mpmath.npdf(x)
        return (lambda x: sum(parts(x))), (lambda x: sum(abs(t) for t in parts(x)))
    if name in ("silu", "swish"):
        b = mpf(p.get("beta", 1.0))

        def parts(x):
            s = _sig(b * x)
            return s, s * b * x * (1 - s)
        return (lambda x: sum(parts(x))), (lambda x: sum(abs(t) for t in parts(x)))
    if name == "mish":
        def parts(x):
            sp = mpmath.log1p(mpmath.exp(x))
            return mpmath.tanh(sp), x * mpmath.sech(sp) ** 2 * _sig(x)
        return (lambda x: sum(parts(x))), (lambda x: sum(abs(t) for t in parts(x)))
    if name == "softplus":
        b, thr = p["beta"], p["threshold"]

        def d(x):
            if _rnd(b * float(x), dtype) > thr:
                return one
            return _sig(mpf(b) * x)
        return d, d
    if name == "softsign":
        d = lambda x: 1 / (1 + abs(x)) ** 2  # noqa: E731
        return d, d
    if name == "hard_sigmoid":
        s, o = mpf(p["slope"]), mpf(p["offset"])
        if p["slope"] == _rnd(1 / 6, dtype) and p["offset"] == 0.5:
            # torch's hardsigmoid: slope on -3 < x < 3 exactly
            d = lambda x: s if -3 < x < 3 else zero  # noqa: E731
        else:
            d = lambda x: s if 0 < s * x + o < 1 else zero  # noqa: E731
        return d, lambda x: abs(d(x))
    if name == "hard_swish":
        s = mpf(_rnd(1 / 6, dtype))

        def parts(x):
            # torch's hardswish backward (torch 2.x): 0 for x <= -3,
            # x/3 + 1/2 for -3 < x < 3, 1 for x >= 3
            if x <= -3:
                return (zero,)
            if x < 3:
                return (2 * s * x, mpf(0.5))
            return (one,)
        return (lambda x: sum(parts(x))), (lambda x: sum(abs(t) for t in parts(x)))
    if name == "hard_tanh":
        lo, hi = mpf(p["min_val"]), mpf(p["max_val"])
        d = lambda x: one if lo < x < hi else zero  # noqa: E731
        return d, d
    if name in ("softshrink", "hardshrink"):
        lam = mpf(p["lambd"])
        d = lambda x: zero if -lam <= x <= lam else one  # noqa: E731
        return d, d
    if name == "tanhshrink":
        d = lambda x: mpmath.tanh(x) ** 2  # noqa: E731
        return d, d
    if name == "threshold":
        t = mpf(p["threshold"])
        d = lambda x: one if x > t else zero  # noqa: E731
        return d, d
    if name == "binary_step":
        return (lambda x: zero), (lambda x: zero)
    if name == "squareplus":
        b = mpf(p["b"])

        def d(x):
            s = mpmath.sqrt(x * x + b)
            if s == 0:
                return mpf(0.5)
            return (1 + x / s) / 2 if x >= 0 else b / (2 * s * (s - x))
        return d, d
    raise KeyError(name)


def _limits(name: str, p: dict, dtype):
    """((f(+inf), f(-inf)), (f'(+inf), f'(-inf))): the mathematical limits."""
    inf, nan = math.inf, math.nan
    sc = _rnd(SELU_SCALE, dtype)
    sa = _rnd(SELU_ALPHA, dtype)
    if name in ("leaky_relu", "prelu"):
        s = p["negative_slope"] if name == "leaky_relu" else p["weight"]
        fm = -inf if s > 0 else (inf if s < 0 else 0.0)
        return (inf, fm), (1.0, s)
    if name == "hard_tanh":
        return (p["max_val"], p["min_val"]), (0.0, 0.0)
    if name == "threshold":
        return (inf, p["value"]), (1.0, 0.0)
    if name == "hard_sigmoid":
        s, o = p["slope"], p["offset"]
        if s == 0:
            c = min(max(o, 0.0), 1.0)
            return (c, c), (0.0, 0.0)
        return ((1.0, 0.0) if s > 0 else (0.0, 1.0)), (0.0, 0.0)
    if name == "swish" and p["beta"] <= 0:
        b = p["beta"]
        if b == 0:
            return (inf, -inf), (0.5, 0.5)
        return (0.0, -inf), (0.0, 1.0)
    if name == "celu" and p["alpha"] < 0:
        return (inf, -inf), (1.0, inf)
    table = {
        "sigmoid": ((1.0, 0.0), (0.0, 0.0)),
        "log_sigmoid": ((0.0, -inf), (0.0, 1.0)),
        "tanh": ((1.0, -1.0), (0.0, 0.0)),
        "relu": ((inf, 0.0), (1.0, 0.0)),
        "relu6": ((6.0, 0.0), (0.0, 0.0)),
        "elu": ((inf, -p.get("alpha", 1.0)), (1.0, 0.0)),
        "selu": ((inf, float(np.float64(sc) * sa) if False else -sc * sa), (sc, 0.0)),
        "celu": ((inf, -p.get("alpha", 1.0)), (1.0, 0.0)),
        "gelu": ((inf, 0.0), (1.0, 0.0)),
        "silu": ((inf, 0.0), (1.0, 0.0)),
        "swish": ((inf, 0.0), (1.0, 0.0)),
        "mish": ((inf, 0.0), (1.0, 0.0)),
        "softplus": ((inf, 0.0), (1.0, 0.0)),
        "softsign": ((1.0, -1.0), (0.0, 0.0)),
        "hard_swish": ((inf, 0.0), (1.0, 0.0)),
        "softshrink": ((inf, -inf), (1.0, 1.0)),
        "hardshrink": ((inf, -inf), (1.0, 1.0)),
        "tanhshrink": ((inf, -inf), (1.0, 1.0)),
        "binary_step": ((1.0, 0.0), (0.0, 0.0)),
        "squareplus": ((inf, 0.0), (1.0, 0.0)),
    }
    del nan
    return table[name]


def mp_forward(name: str, x: float, params: dict, dtype):
    """f(x) as a double-double (hi, lo); params already cast (cast_params)."""
    name, params = _base(name, params, dtype)
    x = float(x)
    if math.isnan(x):
        return math.nan, 0.0
    if math.isinf(x):
        (fp, fm), _ = _limits(name, params, dtype)
        v = fp if x > 0 else fm
        if name == "selu" and x < 0:
            with mpmath.workprec(256):
                return _dd(-mpf(_rnd(SELU_SCALE, dtype)) * mpf(_rnd(SELU_ALPHA, dtype)))
        return float(v), 0.0
    return _dd(_stable(_fwd_fn(name, params, dtype), x))


def mp_derivative(name: str, x: float, params: dict, dtype):
    """(f'(x) as (hi, lo), magnitude of the terms of f' as a float)."""
    name, params = _base(name, params, dtype)
    x = float(x)
    if math.isnan(x):
        return (math.nan, 0.0), math.nan
    if math.isinf(x):
        _, (dp, dm) = _limits(name, params, dtype)
        v = float(dp if x > 0 else dm)
        return (v, 0.0), abs(v)
    d, t = _der_fn(name, params, dtype)
    val = _dd(_stable(d, x))
    with mpmath.workprec(128):
        terms = float(t(mpf(x)))
    return val, terms


# ------------------------------------------------------------------ NumPy

def _np_sig(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def _np_ncdf(x):
    from math import erfc
    return 0.5 * np.vectorize(erfc, otypes=[float])(-x / math.sqrt(2.0))


def np_forward(name: str, x, params: dict, dtype=np.float64):
    """float64 NumPy reference of f (params already cast)."""
    name, params = _base(name, params, dtype)
    p = params
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            return _np_sig(x)
        if name == "log_sigmoid":
            return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))
        if name == "tanh":
            return np.tanh(x)
        if name in ("silu", "swish"):
            b = p.get("beta", 1.0)
            s = _np_sig(b * x)
            return np.where(s == 0, 0.0 * x, x * s)
        if name == "softplus":
            b = p["beta"]
            z = b * x
            sp = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / b
            return np.where(_comp(dtype)(z) > p["threshold"], x, sp)
        if name == "softsign":
            return np.where(np.isinf(x), np.sign(x), x / (1 + np.abs(x)))
        if name == "mish":
            e = np.exp(np.minimum(x, 20.0))
            n = e * (e + 2)
            t = n / (n + 2)
            return np.where(t == 0, 0.0 * x, x * t)
        if name == "gelu" and p.get("approximate", "none") == "none":
            return np.where(np.isneginf(x), 0.0, x * _np_ncdf(x))
        if name == "tanhshrink":
            # |x| < 1e-2: x^3/3 - 2x^5/15 + 17x^7/315 (relative error < 1e-16);
            # else x - tanh(x) in long double (cancels at most ~15 of 64 bits)
            x2 = x * x
            ser = x * x2 * (1 / 3 - x2 * (2 / 15 - x2 * (17 / 315)))
            xl = x.astype(np.longdouble)
            direct = (xl - np.tanh(xl)).astype(np.float64)
            return np.where(np.abs(x) < 1e-2, ser, direct)
        if name == "squareplus":
            b = p["b"]
            s = np.where(np.abs(x) > 1e150, np.abs(x), np.sqrt(x * x + b))
            return np.where(x >= 0, 0.5 * (x + s), np.where(x < 0, b / (2 * (s - x)), x))
    # everything else: the mpmath reference's formula, point by point
    out = np.empty_like(x)
    for i, xi in enumerate(x.ravel()):
        out.flat[i] = sum(mp_forward(name, xi, p, dtype))
    return out


def np_derivative(name: str, x, params: dict, dtype=np.float64):
    """float64 NumPy reference of f' (params already cast)."""
    name, params = _base(name, params, dtype)
    p = params
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        if name == "sigmoid":
            e = np.exp(-np.abs(x))
            return e / (1 + e) ** 2
        if name == "tanh":
            e = np.exp(-2 * np.abs(x))
            return 4 * e / (1 + e) ** 2
        if name == "log_sigmoid":
            return _np_sig(-x)
        if name == "softsign":
            return 1 / (1 + np.abs(x)) ** 2
        if name == "softplus":
            z = p["beta"] * x
            return np.where(_comp(dtype)(z) > p["threshold"], 1.0, _np_sig(z))
    out = np.empty_like(x)
    for i, xi in enumerate(x.ravel()):
        out.flat[i] = sum(mp_derivative(name, xi, p, dtype)[0])
    return out


# ------------------------------------------------------------ ULP errors
# (the tests, tools/ulp_sweep.py and the benchmark's checks measure with these)

def ulp_of(ref_hi, dtype):
    """Spacing of the dtype at the (exact) reference: 2**(floor(log2|ref|)
    - (p - 1)), never below the smallest subnormal (so a tiny or zero
    reference uses the subnormal spacing)."""
    fi = np.finfo(dtype)
    p = fi.nmant + 1
    tiny_sub = float(fi.smallest_subnormal)
    _, e = np.frexp(np.abs(ref_hi))
    u = np.ldexp(1.0, (e - p).astype(np.int32))
    return np.maximum(u, tiny_sub)


def ulp_errors(y, hi, lo, dtype):
    """|y - ref| in ulp of ref (dtype), ref = hi + lo (double-double).
    NaN/inf must match exactly (0 if they do, inf if not); a reference
    beyond the dtype's range expects the infinity of its sign."""
    y = np.asarray(y, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    lo = np.asarray(lo, dtype=np.float64)
    fi = np.finfo(dtype)
    exp_nan = np.isnan(hi)
    if np.dtype(dtype) == np.float64:
        exp_inf = np.isinf(hi)
    else:   # beyond max + half an ulp rounds to inf
        big = float(fi.max) + 2.0 ** (fi.maxexp - fi.nmant - 2)
        exp_inf = ~exp_nan & (np.abs(hi) >= big)
    err = np.zeros(y.shape)
    with np.errstate(all="ignore"):
        exp_inf_val = np.where(exp_inf, np.sign(hi) * np.inf, 0.0)
        fin = ~exp_nan & ~exp_inf
        d = np.abs((y - hi) - lo) / ulp_of(np.where(fin, hi, 1.0), dtype)
        err = np.where(fin, np.where(np.isfinite(y), d, np.inf), err)
        err = np.where(exp_nan, np.where(np.isnan(y), 0.0, np.inf), err)
        err = np.where(exp_inf, np.where(y == exp_inf_val, 0.0, np.inf), err)
    return err



# torch equivalents (float64 comparisons): name -> callable(torch, F, x, params)
def _torch_table():
    def hs(t, F, x, p):
        if abs(p["slope"] - 1 / 6) > 1e-12 or p["offset"] != 0.5:
            return None
        return F.hardsigmoid(x)
    return {
        "sigmoid": lambda t, F, x, p: t.sigmoid(x),
        "log_sigmoid": lambda t, F, x, p: F.logsigmoid(x),
        "tanh": lambda t, F, x, p: t.tanh(x),
        "relu": lambda t, F, x, p: F.relu(x),
        "relu6": lambda t, F, x, p: F.relu6(x),
        "leaky_relu": lambda t, F, x, p: F.leaky_relu(x, p["negative_slope"]),
        "elu": lambda t, F, x, p: F.elu(x, p["alpha"]),
        "selu": lambda t, F, x, p: F.selu(x),
        "celu": lambda t, F, x, p: F.celu(x, p["alpha"]),
        "gelu": lambda t, F, x, p: F.gelu(x, approximate=p["approximate"]),
        "silu": lambda t, F, x, p: F.silu(x),
        "swish": lambda t, F, x, p: x * t.sigmoid(p["beta"] * x),
        "mish": lambda t, F, x, p: F.mish(x),
        "softplus": lambda t, F, x, p: F.softplus(x, p["beta"], p["threshold"]),
        "softsign": lambda t, F, x, p: F.softsign(x),
        "hard_sigmoid": hs,
        "hard_swish": lambda t, F, x, p: F.hardswish(x),
        "hard_tanh": lambda t, F, x, p: F.hardtanh(x, p["min_val"], p["max_val"]),
        "softshrink": lambda t, F, x, p: F.softshrink(x, p["lambd"]),
        "hardshrink": lambda t, F, x, p: F.hardshrink(x, p["lambd"]),
        "tanhshrink": lambda t, F, x, p: F.tanhshrink(x),
        "threshold": lambda t, F, x, p: F.threshold(x, p["threshold"], p["value"]),
    }


TORCH = _torch_table()
# the special cases of another activation: its torch expression, parameters fixed
for _s in _spec.SPECS:
    if _s.special_of and _s.base.name in TORCH:
        TORCH[_s.name] = (lambda f, fixed: lambda t, F, x, p: f(t, F, x, {**fixed, **p}))(
            TORCH[_s.base.name], _s.fixed)
