"""Slow reference implementations of every elementwise activation (and
PReLU): one `Reference` record per activation (`REFS`), read by the
tests, tools/ and the benchmark checks.

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
from dataclasses import dataclass, field
from typing import Callable, Optional

import mpmath
import numpy as np

from fastact import _spec

__all__ = ["Reference", "REFS", "ulp_of", "ulp_errors", "PARAM_CASES", "cast_params",
           "mp_forward", "mp_derivative", "np_forward", "np_derivative", "kinks", "TORCH",
           "narrow_round", "narrow_steps", "narrow_sweep"]

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
GELU_C = math.sqrt(2.0 / math.pi)          # float64 value 0x1.9884533d43651p-1
GELU_K = 0.044715


# ------------------------------------------------------------ the records

@dataclass(frozen=True)
class Reference:
    """Everything the tests, tools/ and the benchmark know about one
    activation's mathematics, in one record.

    forward(p, dtype) -> f: f(mpf x) for finite x, in mpmath.
    derivative(p, dtype) -> (f', terms): mpmath f'(x) and the magnitude of
        the terms of the formula for f' (the absolute error floor near zeros
        of f').
    limits: ((f(+inf), f(-inf)), (f'(+inf), f'(-inf))), or a callable
        (p, dtype) -> that.
    kinks(p) -> points where f or f' is not smooth.
    numpy(x, p, dtype) / numpy_derivative: optional vectorized float64
        formulas (else the mpmath formula point by point).
    torch(torch, F, x, p): the same function in torch (autograd checks).
    cases: parameter sets tested beside the defaults; required: values for
        parameters the spec gives no default.
    from_y(p, dtype) -> (f', terms) as mpmath functions of the output y
        (finite or infinite), for the backward's y= form (the spec's
        grad_from_output); y_range: the outputs (lo, hi) the forward gives,
        or a callable (p, dtype) -> that.
    """
    name: str
    forward: Callable
    derivative: Callable
    limits: object
    kinks: Callable = lambda p: []
    numpy: Optional[Callable] = None
    numpy_derivative: Optional[Callable] = None
    torch: Optional[Callable] = None
    cases: tuple = ()
    required: dict = field(default_factory=dict)
    from_y: Optional[Callable] = None
    y_range: object = None


REFS: dict = {}


def _ref(name, **kw):
    REFS[name] = Reference(name, **kw)


def _fixed(points):
    return lambda p: list(points)


def _same(d):
    """f' whose terms are f' itself (|f'| for the error floor)."""
    return d, (lambda x: abs(d(x)))


def _parts(parts):
    """f' written as a sum of terms: (sum, sum of |terms|)."""
    return (lambda x: sum(parts(x))), (lambda x: sum(abs(t) for t in parts(x)))


# mpmath helpers

mpf = mpmath.mpf
ONE, ZERO = mpf(1), mpf(0)
INF = math.inf


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


# NumPy helpers

def _np_sig(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def _np_ncdf(x):
    from math import erfc
    return 0.5 * np.vectorize(erfc, otypes=[float])(-x / math.sqrt(2.0))


def _softplus_branch(p, dtype, z):
    """softplus's threshold branch: the rounded product beta * x > threshold."""
    return _comp(dtype)(z) > p["threshold"]


# ------------------------------------------------------- one per activation

_ref("sigmoid",
     forward=lambda p, dt: _sig,
     derivative=lambda p, dt: (lambda d: (d, d))(
         lambda x: mpmath.exp(-abs(x)) / (1 + mpmath.exp(-abs(x))) ** 2),
     limits=((1.0, 0.0), (0.0, 0.0)),
     numpy=lambda x, p, dt: _np_sig(x),
     numpy_derivative=lambda x, p, dt: np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))) ** 2,
     torch=lambda t, F, x, p: t.sigmoid(x),
     from_y=lambda p, dt: (lambda y: y * (1 - y), lambda y: abs(y) * (1 + abs(y))),
     y_range=(0.0, 1.0))

_ref("log_sigmoid",
     forward=lambda p, dt: (lambda x: -mpmath.log1p(mpmath.exp(-x))),
     derivative=lambda p, dt: (lambda d: (d, d))(lambda x: 1 / (1 + mpmath.exp(x))),
     limits=((0.0, -INF), (0.0, 1.0)),
     numpy=lambda x, p, dt: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
     numpy_derivative=lambda x, p, dt: _np_sig(-x),
     torch=lambda t, F, x, p: F.logsigmoid(x),
     from_y=lambda p, dt: _same(lambda y: -mpmath.expm1(y)), y_range=(-INF, 0.0))

_ref("tanh",
     forward=lambda p, dt: mpmath.tanh,
     derivative=lambda p, dt: (lambda x: mpmath.sech(x) ** 2, lambda x: ONE),
     limits=((1.0, -1.0), (0.0, 0.0)),
     numpy=lambda x, p, dt: np.tanh(x),
     numpy_derivative=lambda x, p, dt: (lambda e: 4 * e / (1 + e) ** 2)(np.exp(-2 * np.abs(x))),
     torch=lambda t, F, x, p: t.tanh(x),
     from_y=lambda p, dt: (lambda y: (1 - y) * (1 + y), lambda y: 1 + y * y),
     y_range=(-1.0, 1.0))

_ref("relu",
     forward=lambda p, dt: (lambda x: x if x > 0 else ZERO),
     derivative=lambda p, dt: _same(lambda x: ONE if x > 0 else ZERO),
     limits=((INF, 0.0), (1.0, 0.0)), kinks=_fixed([0.0]),
     torch=lambda t, F, x, p: F.relu(x),
     from_y=lambda p, dt: _same(lambda y: ONE if y > 0 else ZERO), y_range=(0.0, INF))


def _leaky(slope_param):
    def forward(p, dt):
        s = mpf(p[slope_param])
        return lambda x: x if x > 0 else s * x

    def derivative(p, dt):
        s = mpf(p[slope_param])
        return _same(lambda x: ONE if x > 0 else s)

    def limits(p, dt):
        s = p[slope_param]
        return (INF, -INF if s > 0 else (INF if s < 0 else 0.0)), (1.0, s)
    return dict(forward=forward, derivative=derivative, limits=limits, kinks=_fixed([0.0]))


_ref("leaky_relu", **_leaky("negative_slope"),
     torch=lambda t, F, x, p: F.leaky_relu(x, p["negative_slope"]),
     cases=({"negative_slope": 0.2}, {"negative_slope": -0.3}),
     from_y=lambda p, dt: (lambda sl: _same(lambda y: ONE if y > 0 else sl))(
         mpf(p["negative_slope"])),
     y_range=(-INF, INF))

_ref("prelu", **_leaky("weight"))

_ref("elu",
     forward=lambda p, dt: (lambda a: lambda x: x if x > 0 else a * mpmath.expm1(x))(
         mpf(p["alpha"])),
     derivative=lambda p, dt: (lambda a: _same(lambda x: ONE if x > 0 else a * mpmath.exp(x)))(
         mpf(p["alpha"])),
     limits=lambda p, dt: ((INF, -p["alpha"]), (1.0, 0.0)), kinks=_fixed([0.0]),
     torch=lambda t, F, x, p: F.elu(x, p["alpha"]),
     cases=({"alpha": 0.5}, {"alpha": 2.0}),
     from_y=lambda p, dt: (lambda a: _parts(lambda y: (ONE,) if y > 0 else (y, a)))(
         mpf(p["alpha"])),
     y_range=lambda p, dt: (-p["alpha"], INF))


def _selu_consts(dt):
    return mpf(_rnd(SELU_ALPHA, dt)), mpf(_rnd(SELU_SCALE, dt))


def _selu_forward(p, dt):
    a, sc = _selu_consts(dt)
    return lambda x: sc * x if x > 0 else sc * a * mpmath.expm1(x)


def _selu_derivative(p, dt):
    a, sc = _selu_consts(dt)
    d = lambda x: sc if x > 0 else sc * a * mpmath.exp(x)  # noqa: E731
    return d, d


def _selu_limits(p, dt):
    sc, sa = _rnd(SELU_SCALE, dt), _rnd(SELU_ALPHA, dt)
    return (INF, -sc * sa), (sc, 0.0)


def _selu_from_y(p, dt):
    """y > 0: scale; else y + scale * alpha, the product of the rounded
    constants rounded to the dtype as the kernel forms it (at y = -scale *
    alpha, x = -inf, the derivative is then exactly 0)"""
    a, sc = _selu_consts(dt)
    sa = mpf(_rnd(float(sc) * float(a), dt))
    return _parts(lambda y: (sc,) if y > 0 else (y, sa))


_ref("selu", forward=_selu_forward, derivative=_selu_derivative, limits=_selu_limits,
     kinks=_fixed([0.0]), torch=lambda t, F, x, p: F.selu(x),
     from_y=_selu_from_y, y_range=lambda p, dt: (_selu_limits(p, dt)[0][1], INF))


def _celu_limits(p, dt):
    if p["alpha"] < 0:
        return (INF, -INF), (1.0, INF)
    return (INF, -p["alpha"]), (1.0, 0.0)


_ref("celu",
     forward=lambda p, dt: (lambda a: lambda x: x if x > 0 else a * mpmath.expm1(x / a))(
         mpf(p["alpha"])),
     derivative=lambda p, dt: (lambda a: (lambda d: (d, d))(
         lambda x: ONE if x > 0 else mpmath.exp(x / a)))(mpf(p["alpha"])),
     limits=_celu_limits, kinks=_fixed([0.0]),
     torch=lambda t, F, x, p: F.celu(x, p["alpha"]),
     cases=({"alpha": 2.0}, {"alpha": 0.3}),
     from_y=lambda p, dt: (lambda a: _parts(lambda y: (ONE,) if y > 0 else (y / a, ONE)))(
         mpf(p["alpha"])),
     y_range=lambda p, dt: (_celu_limits(p, dt)[0][1], INF))


def _gelu_tanh_u2(x):
    return 2 * mpf(GELU_C) * (x + mpf(GELU_K) * x ** 3)


def _gelu_forward(p, dt):
    if p.get("approximate", "none") == "tanh":
        return lambda x: x * _sig(_gelu_tanh_u2(x))
    return lambda x: x * _ncdf(x)


def _gelu_derivative(p, dt):
    if p.get("approximate", "none") == "tanh":
        c, k = mpf(GELU_C), mpf(GELU_K)

        def parts(x):
            s = _sig(_gelu_tanh_u2(x))
            return s, x * s * (1 - s) * 2 * c * (1 + 3 * k * x * x)
    else:
        def parts(x):
            return _ncdf(x), x * mpmath.npdf(x)
    return _parts(parts)


def _gelu_numpy(x, p, dt):
    if p.get("approximate", "none") != "none":
        return None
    return np.where(np.isneginf(x), 0.0, x * _np_ncdf(x))


_ref("gelu", forward=_gelu_forward, derivative=_gelu_derivative,
     limits=((INF, 0.0), (1.0, 0.0)), numpy=_gelu_numpy,
     torch=lambda t, F, x, p: F.gelu(x, approximate=p["approximate"]),
     cases=({"approximate": "tanh"},))


def _swish_forward(p, dt):
    b = mpf(p.get("beta", 1.0))
    return lambda x: x * _sig(b * x)


def _swish_derivative(p, dt):
    b = mpf(p.get("beta", 1.0))

    def parts(x):
        s = _sig(b * x)
        return s, s * b * x * (1 - s)
    return _parts(parts)


def _swish_numpy(x, p, dt):
    s = _np_sig(p.get("beta", 1.0) * x)
    return np.where(s == 0, 0.0 * x, x * s)


def _swish_limits(p, dt):
    b = p.get("beta", 1.0)
    if b == 0:
        return (INF, -INF), (0.5, 0.5)
    if b < 0:
        return (0.0, -INF), (0.0, 1.0)
    return (INF, 0.0), (1.0, 0.0)


_ref("silu", forward=_swish_forward, derivative=_swish_derivative, limits=_swish_limits,
     numpy=_swish_numpy, torch=lambda t, F, x, p: F.silu(x))

_ref("swish", forward=_swish_forward, derivative=_swish_derivative, limits=_swish_limits,
     numpy=_swish_numpy, torch=lambda t, F, x, p: x * t.sigmoid(p["beta"] * x),
     cases=({"beta": 0.5}, {"beta": 2.0}, {"beta": 1.7}))


def _mish_derivative(p, dt):
    def parts(x):
        sp = mpmath.log1p(mpmath.exp(x))
        return mpmath.tanh(sp), x * mpmath.sech(sp) ** 2 * _sig(x)
    return _parts(parts)


def _mish_numpy(x, p, dt):
    e = np.exp(np.minimum(x, 20.0))
    n = e * (e + 2)
    t = n / (n + 2)
    return np.where(t == 0, 0.0 * x, x * t)


_ref("mish",
     forward=lambda p, dt: (lambda x: x * mpmath.tanh(mpmath.log1p(mpmath.exp(x)))),
     derivative=_mish_derivative, limits=((INF, 0.0), (1.0, 0.0)), numpy=_mish_numpy,
     torch=lambda t, F, x, p: F.mish(x))


def _softplus_forward(p, dt):
    b, thr = p["beta"], p["threshold"]

    def f(x):
        if _rnd(b * float(x), dt) > thr:
            return x
        return mpmath.log1p(mpmath.exp(mpf(b) * x)) / mpf(b)
    return f


def _softplus_derivative(p, dt):
    b, thr = p["beta"], p["threshold"]

    def d(x):
        if _rnd(b * float(x), dt) > thr:
            return ONE
        return _sig(mpf(b) * x)
    return d, d


def _softplus_numpy(x, p, dt):
    z = p["beta"] * x
    sp = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / p["beta"]
    return np.where(_softplus_branch(p, dt, z), x, sp)


def _softplus_numpy_derivative(x, p, dt):
    z = p["beta"] * x
    return np.where(_softplus_branch(p, dt, z), 1.0, _np_sig(z))


def _softplus_from_y(p, dt):
    """1 - e^(-beta y); 1 where the rounded beta * y passes the threshold."""
    b, thr = p["beta"], p["threshold"]

    def d(y):
        if _rnd(b * float(y), dt) > thr:
            return ONE
        return -mpmath.expm1(-mpf(b) * y)
    return d, d


_ref("softplus", forward=_softplus_forward, derivative=_softplus_derivative,
     limits=((INF, 0.0), (1.0, 0.0)), kinks=lambda p: [p["threshold"] / p["beta"]],
     numpy=_softplus_numpy, numpy_derivative=_softplus_numpy_derivative,
     torch=lambda t, F, x, p: F.softplus(x, p["beta"], p["threshold"]),
     cases=({"beta": 2.0, "threshold": 10.0}, {"beta": 0.7, "threshold": 20.0}),
     from_y=_softplus_from_y, y_range=(0.0, INF))

_ref("softsign",
     forward=lambda p, dt: (lambda x: x / (1 + abs(x))),
     derivative=lambda p, dt: (lambda d: (d, d))(lambda x: 1 / (1 + abs(x)) ** 2),
     limits=((1.0, -1.0), (0.0, 0.0)), kinks=_fixed([0.0]),
     numpy=lambda x, p, dt: np.where(np.isinf(x), np.sign(x), x / (1 + np.abs(x))),
     numpy_derivative=lambda x, p, dt: 1 / (1 + np.abs(x)) ** 2,
     torch=lambda t, F, x, p: F.softsign(x),
     from_y=lambda p, dt: _same(lambda y: (1 - abs(y)) ** 2), y_range=(-1.0, 1.0))


def _hard_sigmoid_of(s, o, dt):
    def v(x):
        # the product slope * x rounded to the dtype (no FMA, documented)
        t = mpf(_rnd(s * float(x), dt)) + mpf(o)
        return min(max(ZERO, t), ONE)
    return v


def _hard_sigmoid_derivative(p, dt):
    s, o = mpf(p["slope"]), mpf(p["offset"])
    if p["slope"] == _rnd(1 / 6, dt) and p["offset"] == 0.5:
        # torch's hardsigmoid: slope on -3 < x < 3 exactly
        return _same(lambda x: s if -3 < x < 3 else ZERO)
    return _same(lambda x: s if 0 < s * x + o < 1 else ZERO)


def _hard_sigmoid_limits(p, dt):
    s, o = p["slope"], p["offset"]
    if s == 0:
        c = min(max(o, 0.0), 1.0)
        return (c, c), (0.0, 0.0)
    return ((1.0, 0.0) if s > 0 else (0.0, 1.0)), (0.0, 0.0)


def _hard_sigmoid_torch(t, F, x, p):
    if abs(p["slope"] - 1 / 6) > 1e-12 or p["offset"] != 0.5:
        return None
    return F.hardsigmoid(x)


_ref("hard_sigmoid",
     forward=lambda p, dt: _hard_sigmoid_of(p["slope"], p["offset"], dt),
     derivative=_hard_sigmoid_derivative, limits=_hard_sigmoid_limits,
     kinks=lambda p: [-p["offset"] / p["slope"], (1 - p["offset"]) / p["slope"]],
     torch=_hard_sigmoid_torch, cases=({"slope": 0.2, "offset": 0.5},),
     from_y=lambda p, dt: (lambda sl: _same(lambda y: sl if 0 < y < 1 else ZERO))(
         mpf(p["slope"])),
     y_range=(0.0, 1.0))


def _hard_swish_derivative(p, dt):
    s = mpf(_rnd(1 / 6, dt))

    def parts(x):
        # torch's hardswish backward (torch 2.x): 0 for x <= -3,
        # x/3 + 1/2 for -3 < x < 3, 1 for x >= 3
        if x <= -3:
            return (ZERO,)
        if x < 3:
            return (2 * s * x, mpf(0.5))
        return (ONE,)
    return _parts(parts)


_ref("hard_swish",
     forward=lambda p, dt: (lambda v: lambda x: x * v(x))(
         _hard_sigmoid_of(_rnd(1 / 6, dt), 0.5, dt)),
     derivative=_hard_swish_derivative, limits=((INF, 0.0), (1.0, 0.0)),
     kinks=_fixed([-3.0, 3.0]), torch=lambda t, F, x, p: F.hardswish(x))

_ref("hard_tanh",
     forward=lambda p, dt: (lambda lo, hi: lambda x: min(max(lo, x), hi))(
         mpf(p["min_val"]), mpf(p["max_val"])),
     derivative=lambda p, dt: (lambda lo, hi: (lambda d: (d, d))(
         lambda x: ONE if lo < x < hi else ZERO))(mpf(p["min_val"]), mpf(p["max_val"])),
     limits=lambda p, dt: ((p["max_val"], p["min_val"]), (0.0, 0.0)),
     kinks=lambda p: [p["min_val"], p["max_val"]],
     torch=lambda t, F, x, p: F.hardtanh(x, p["min_val"], p["max_val"]),
     cases=({"min_val": -2.0, "max_val": 3.0}, {"min_val": 0.5, "max_val": 0.5}),
     from_y=lambda p, dt: (lambda lo, hi: _same(lambda y: ONE if lo < y < hi else ZERO))(
         mpf(p["min_val"]), mpf(p["max_val"])),
     y_range=lambda p, dt: (p["min_val"], p["max_val"]))


def _shrink_derivative(p, dt):
    lam = mpf(p["lambd"])
    d = lambda x: ZERO if -lam <= x <= lam else ONE  # noqa: E731
    return d, d


def _shrink_kinks(p):
    return [-p["lambd"], p["lambd"]]


_ref("softshrink",
     forward=lambda p, dt: (lambda lam: lambda x: x - lam if x > lam else (
         x + lam if x < -lam else ZERO))(mpf(p["lambd"])),
     derivative=_shrink_derivative, limits=((INF, -INF), (1.0, 1.0)), kinks=_shrink_kinks,
     torch=lambda t, F, x, p: F.softshrink(x, p["lambd"]),
     cases=({"lambd": 1.0}, {"lambd": 0.0}))

_ref("hardshrink",
     forward=lambda p, dt: (lambda lam: lambda x: x if abs(x) > lam else ZERO)(mpf(p["lambd"])),
     derivative=_shrink_derivative, limits=((INF, -INF), (1.0, 1.0)), kinks=_shrink_kinks,
     torch=lambda t, F, x, p: F.hardshrink(x, p["lambd"]),
     cases=({"lambd": 1.0}, {"lambd": 0.0}))


def _tanhshrink_numpy(x, p, dt):
    # |x| < 1e-2: x^3/3 - 2x^5/15 + 17x^7/315 (relative error < 1e-16);
    # else x - tanh(x) in long double (cancels at most ~15 of 64 bits)
    x2 = x * x
    ser = x * x2 * (1 / 3 - x2 * (2 / 15 - x2 * (17 / 315)))
    xl = x.astype(np.longdouble)
    direct = (xl - np.tanh(xl)).astype(np.float64)
    return np.where(np.abs(x) < 1e-2, ser, direct)


_ref("tanhshrink",
     forward=lambda p, dt: (lambda x: x - mpmath.tanh(x)),
     derivative=lambda p, dt: (lambda d: (d, d))(lambda x: mpmath.tanh(x) ** 2),
     limits=((INF, -INF), (1.0, 1.0)), numpy=_tanhshrink_numpy,
     torch=lambda t, F, x, p: F.tanhshrink(x))

_ref("threshold",
     forward=lambda p, dt: (lambda t, v: lambda x: x if x > t else v)(
         mpf(p["threshold"]), mpf(p["value"])),
     derivative=lambda p, dt: (lambda t: (lambda d: (d, d))(
         lambda x: ONE if x > t else ZERO))(mpf(p["threshold"])),
     limits=lambda p, dt: ((INF, p["value"]), (1.0, 0.0)),
     kinks=lambda p: [p["threshold"]],
     torch=lambda t, F, x, p: F.threshold(x, p["threshold"], p["value"]),
     cases=({"threshold": -1.0, "value": 7.0},),
     required={"threshold": 0.5, "value": -2.0})

_ref("binary_step",
     forward=lambda p, dt: (lambda x: ONE if x >= 0 else ZERO),
     derivative=lambda p, dt: (lambda x: ZERO, lambda x: ZERO),
     limits=((1.0, 0.0), (0.0, 0.0)), kinks=_fixed([0.0]))


_ref("squared_relu",
     forward=lambda p, dt: (lambda x: x * x if x > 0 else ZERO),
     derivative=lambda p, dt: _same(lambda x: 2 * x if x > 0 else ZERO),
     limits=((INF, 0.0), (INF, 0.0)), kinks=_fixed([0.0]),
     torch=lambda t, F, x, p: F.relu(x) ** 2,
     from_y=lambda p, dt: _same(lambda y: 2 * mpmath.sqrt(max(y, ZERO))),
     y_range=(0.0, INF))


def _sparse_plus_forward(p, dt):
    return lambda x: ZERO if x <= -1 else (x if x >= 1 else (x + 1) ** 2 / 4)


def _sparse_sigmoid_forward(p, dt):
    return lambda x: ZERO if x <= -1 else (ONE if x >= 1 else (x + 1) / 2)


def _sparse_torch(t, F, x, p):
    """jax.nn's formulas, written with torch.where (as jax writes them)."""
    one = t.ones_like(x)
    return t.where(x <= -1, 0 * x, t.where(x >= 1, x, (x + one) ** 2 / 4))


_ref("sparse_plus", forward=_sparse_plus_forward,
     derivative=lambda p, dt: _same(_sparse_sigmoid_forward(p, dt)),
     limits=((INF, 0.0), (1.0, 0.0)), kinks=_fixed([-1.0, 1.0]), torch=_sparse_torch)

_ref("sparse_sigmoid", forward=_sparse_sigmoid_forward,
     derivative=lambda p, dt: _same(lambda x: mpf(0.5) if -1 < x < 1 else ZERO),
     limits=((1.0, 0.0), (0.0, 0.0)), kinks=_fixed([-1.0, 1.0]),
     torch=lambda t, F, x, p: t.where(x <= -1, 0 * x, t.where(x >= 1, 0 * x + 1, (x + 1) / 2)))


def _squareplus_forward(p, dt):
    b = mpf(p["b"])

    def f(x):
        s = mpmath.sqrt(x * x + b)
        return (x + s) / 2 if x >= 0 else b / (2 * (s - x))
    return f


def _squareplus_derivative(p, dt):
    b = mpf(p["b"])

    def d(x):
        s = mpmath.sqrt(x * x + b)
        if s == 0:
            return mpf(0.5)
        return (1 + x / s) / 2 if x >= 0 else b / (2 * s * (s - x))
    return d, d


def _squareplus_numpy(x, p, dt):
    b = p["b"]
    s = np.where(np.abs(x) > 1e150, np.abs(x), np.sqrt(x * x + b))
    return np.where(x >= 0, 0.5 * (x + s), np.where(x < 0, b / (2 * (s - x)), x))


_ref("squareplus", forward=_squareplus_forward, derivative=_squareplus_derivative,
     limits=((INF, 0.0), (1.0, 0.0)), kinks=_fixed([0.0]), numpy=_squareplus_numpy,
     cases=({"b": 1.0}, {"b": 0.0}))


# ------------------------------------------------ what the tests read

def _default_params(spec) -> dict:
    ref = REFS[spec.base.name]
    return {p.name: ref.required[p.name] if p.required else p.default for p in spec.params}


# parameter sets tested for accuracy: the defaults first, then the record's cases
# (a special case of another activation has its fixed parameters and no cases)
PARAM_CASES = {
    s.name: [_default_params(s)] + ([] if s.special_of else
                                    [dict(_default_params(s), **c) for c in REFS[s.name].cases])
    for s in _spec.SPECS if s.kind in ("elementwise", "channel")
}


def _comp(dtype):
    return np.float64 if np.dtype(dtype) == np.float64 else np.float32


def _rnd(v: float, dtype) -> float:
    """v (an exact float64 product of two dtype values) rounded to dtype."""
    return float(_comp(dtype)(v))


def _base(name: str, params: dict, dtype=np.float64):
    """A special case of another activation (the spec's `special_of`): that
    activation's record and parameters (the fixed ones cast to the
    computation dtype, as the kernel sees them)."""
    spec = _spec.BY_NAME.get(name)
    if spec is not None and spec.special_of:
        comp = _comp(dtype)
        name, params = spec.base.name, {**{k: float(comp(v)) for k, v in spec.fixed.items()},
                                        **params}
    return REFS[name], params


def cast_params(name: str, params: dict, dtype) -> dict:
    """The parameters as the kernel sees them: float params rounded to the
    computation dtype (float32 for float16 input)."""
    comp = _comp(dtype)
    spec = _spec.BY_NAME[name]
    out = dict(params)
    for p in spec.float_params:
        out[p.name] = float(comp(params[p.name]))
    for k, v in spec.fixed.items():            # a special case's fixed parameters
        out[k] = float(comp(v))
    return out


def kinks(name: str, params: dict) -> list:
    """Points where f or f' is not smooth (tests put points on and next to them)."""
    ref, params = _base(name, params)
    return ref.kinks(params)


def _limits(ref, p, dtype):
    return ref.limits(p, dtype) if callable(ref.limits) else ref.limits


def mp_forward(name: str, x: float, params: dict, dtype):
    """f(x) as a double-double (hi, lo); params already cast (cast_params)."""
    ref, params = _base(name, params, dtype)
    x = float(x)
    if math.isnan(x):
        return math.nan, 0.0
    if math.isinf(x):
        (fp, fm), _ = _limits(ref, params, dtype)
        if ref.name == "selu" and x < 0:
            with mpmath.workprec(256):
                return _dd(-mpf(_rnd(SELU_SCALE, dtype)) * mpf(_rnd(SELU_ALPHA, dtype)))
        return float(fp if x > 0 else fm), 0.0
    return _dd(_stable(ref.forward(params, dtype), x))


def mp_derivative(name: str, x: float, params: dict, dtype):
    """(f'(x) as (hi, lo), magnitude of the terms of f' as a float)."""
    ref, params = _base(name, params, dtype)
    x = float(x)
    if math.isnan(x):
        return (math.nan, 0.0), math.nan
    if math.isinf(x):
        _, (dp, dm) = _limits(ref, params, dtype)
        v = float(dp if x > 0 else dm)
        return (v, 0.0), abs(v)
    d, t = ref.derivative(params, dtype)
    val = _dd(_stable(d, x))
    with mpmath.workprec(128):
        terms = float(t(mpf(x)))
    return val, terms


def y_range(name: str, params: dict, dtype) -> tuple:
    """(lo, hi): the outputs the forward gives (params already cast)."""
    ref, p = _base(name, params, dtype)
    return ref.y_range(p, dtype) if callable(ref.y_range) else ref.y_range


def from_y(name: str, params: dict, dtype):
    """The record's from_y for these parameters (params already cast)."""
    ref, p = _base(name, params, dtype)
    return ref.from_y(p, dtype)


def _pointwise(fn, x):
    out = np.empty_like(x)
    for i, xi in enumerate(x.ravel()):
        out.flat[i] = fn(xi)
    return out


def np_forward(name: str, x, params: dict, dtype=np.float64):
    """float64 NumPy reference of f (params already cast): the record's
    vectorized formula, else the mpmath formula point by point."""
    ref, p = _base(name, params, dtype)
    x = np.asarray(x, dtype=np.float64)
    if ref.numpy is not None:
        with np.errstate(all="ignore"):
            y = ref.numpy(x, p, dtype)
        if y is not None:
            return y
    return _pointwise(lambda xi: sum(mp_forward(ref.name, xi, p, dtype)), x)


def np_derivative(name: str, x, params: dict, dtype=np.float64):
    """float64 NumPy reference of f' (params already cast)."""
    ref, p = _base(name, params, dtype)
    x = np.asarray(x, dtype=np.float64)
    if ref.numpy_derivative is not None:
        with np.errstate(all="ignore"):
            return ref.numpy_derivative(x, p, dtype)
    return _pointwise(lambda xi: sum(mp_derivative(ref.name, xi, p, dtype)[0]), x)


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


# ------------------------------------------------- the narrow types
# (bfloat16, float16: computed in float32, rounded once to the narrow type)

# precision in bits (with the implicit one), smallest normal exponent, largest exponent
_NARROW = {"bfloat16": (8, -126, 127), "float16": (11, -14, 15)}


def narrow_round(v, dtype) -> np.ndarray:
    """float64 values rounded to the narrow dtype (bfloat16 or float16) to
    nearest, ties to even, as float64: +-inf beyond its range, subnormals
    on its subnormal grid, NaN kept (one rounding: no float32 step)."""
    prec, emin, emax = _NARROW[np.dtype(dtype).name]
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(all="ignore"):
        _, e = np.frexp(v)                        # v = m 2**e, 1/2 <= |m| < 1
        e = np.maximum(e, emin + 1)               # below the normals: the subnormal grid
        r = np.ldexp(np.rint(np.ldexp(v, prec - e)), e - prec)
        big = (2.0 - 2.0 ** (1 - prec)) * 2.0 ** emax
        r = np.where(np.abs(r) > big, np.copysign(np.inf, v), r)
    return np.where(np.isfinite(v), r, v)


def _ordered(bits: np.ndarray) -> np.ndarray:
    mag = (bits & 0x7FFF).astype(np.int64)
    return np.where(bits & 0x8000, -mag, mag)


def narrow_steps(y, ref, dtype) -> np.ndarray:
    """How far y (an array of the narrow dtype) is from the narrow rounding
    of ref (float64, the exact value), counted in values of the narrow type
    between them: 0 where y is ref correctly rounded, 1 for one ulp; +0 and
    -0 are one value; NaN against NaN is 0, NaN against a number 2**16."""
    dt = np.dtype(dtype)
    want = narrow_round(ref, dt).astype(dt)
    yb, wb = np.asarray(y, dtype=dt).view(np.uint16), want.view(np.uint16)
    nan_bits = 0x7F80 if dt.name == "bfloat16" else 0x7C00
    yn, wn = (yb & 0x7FFF) > nan_bits, (wb & 0x7FFF) > nan_bits
    d = np.abs(_ordered(yb) - _ordered(wb))
    return np.where(yn | wn, np.where(yn & wn, 0, 1 << 16), d)


def narrow_sweep(name: str, params: dict, dtype) -> dict:
    """Every finite value of the narrow dtype through fastact's NAME and
    NAME_backward (grad_output 1), against the float64 reference:
    {"forward": steps, "backward": steps} (narrow_steps), at the
    instruction-set level in use.  The reference is np_forward /
    np_derivative with the parameters cast to float32 (what the kernel
    uses), and for the activations without a vectorized NumPy formula
    (mostly piecewise linear ones) fastact's float64 kernel, which the
    accuracy tests hold to a few float64 ulp of mpmath: 2**29 times finer
    than a bfloat16 ulp, so either rounds to the same narrow value but at
    ties of probability ~2**-40."""
    import fastact as fa

    dt = np.dtype(dtype)
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    x = bits.view(dt)
    x = x[np.isfinite(x.astype(np.float32))]
    x64 = x.astype(np.float64)
    pc = cast_params(name, params, np.float32)
    user = {k: pc[k] if isinstance(v, (int, float)) else v for k, v in params.items()}
    ref_rec, _ = _base(name, pc, np.float32)
    fwd = getattr(fa, name)
    bwd = getattr(fa, name + "_backward")
    ones = np.ones(x.shape, dt)
    if ref_rec.numpy is not None:
        ref_f = np_forward(name, x64, pc, np.float32)
    else:
        ref_f = fwd(x64, **user)
    if ref_rec.numpy_derivative is not None:
        ref_b = np_derivative(name, x64, pc, np.float32)
    else:
        ref_b = bwd(np.ones(x.shape), x64, **user)
    return {"forward": narrow_steps(fwd(x, **params), ref_f, dt),
            "backward": narrow_steps(bwd(ones, x, **params), ref_b, dt)}


# torch equivalents (float64 comparisons): name -> callable(torch, F, x, params);
# a special case of another activation uses that one's, with its parameters fixed
TORCH = {}
for _s in _spec.SPECS:
    if _s.kind == "elementwise" and REFS[_s.base.name].torch is not None:
        TORCH[_s.name] = (lambda f, fixed: lambda t, F, x, p: f(t, F, x, {**fixed, **p}))(
            REFS[_s.base.name].torch, _s.fixed)
