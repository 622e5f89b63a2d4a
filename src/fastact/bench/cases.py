"""What is benchmarked: the variants of every registered activation, the
arrays they run on, and fastact's own calls.

Everything is derived from ``fastact.ACTIVATIONS`` and ``fastact._spec``:
no list of functions is kept here.  A "choice" parameter (gelu's
``approximate``) gives one variant per choice; a required parameter without
a default (threshold's ``threshold`` and ``value``) takes its value from
``BENCH_PARAMS``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

import fastact as fa
from fastact import _spec

__all__ = ["Variant", "Case", "BENCH_PARAMS", "variants", "make_case", "check_case",
           "fastact_call", "DTYPES"]

DTYPES = ("float32", "float64")

# Values for parameters that have no default (the benchmark needs some).
BENCH_PARAMS = {
    "threshold": {"threshold": 0.1, "value": 0.0},
    "maxout": {"pieces": 4},
}

# Length of the last axis for the along-axis and per-channel functions: an
# array of N elements is shaped (N // ROW, ROW) (axis) or
# (N // ROW, CHANNELS, ROW // CHANNELS) (channel, axis=1).
ROW = 1000
CHANNELS = 10


@dataclass(frozen=True)
class Variant:
    """One benchmarked function: an activation with fixed parameters."""
    name: str          # the activation (registry key)
    label: str         # how reports name it: "gelu", "gelu_tanh"
    kind: str
    params: dict       # keyword arguments for fastact (choices included)
    from_output: bool  # the backward is computed from y (the forward output)
    spec: object = None
    # a special case of another activation (quick_gelu: swish, beta=1.702) is
    # run by the peers as that one, with the fixed parameters
    peer_label: str = ""
    peer_params: dict = field(default_factory=dict)

    @property
    def float_params(self) -> dict:
        """The float parameters the peers compute with."""
        return {k: v for k, v in (self.peer_params or self.params).items()
                if not isinstance(v, str)}


def _needs_more_arrays(entry) -> bool:
    """whether the forward needs an input beyond x and the registry's
    parameters (softmax_cross_entropy's target: benchmarked on its own in
    benchmarks/cross_entropy.py)"""
    import inspect
    try:
        sig = inspect.signature(entry.forward)
    except (TypeError, ValueError):      # a compiled function without one
        return False
    req = [n for n, p in list(sig.parameters.items())[1:]
           if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return any(n not in entry.params for n in req)


def variants(names=None) -> list:
    """Every variant of every registered activation (optionally only those
    whose name or label is in ``names``), in registry order."""
    out = []
    for name, entry in fa.ACTIVATIONS.items():
        spec = _spec.BY_NAME.get(name)
        base = {}
        missing = []
        for pname, default in entry.params.items():
            if default is None:
                if pname in BENCH_PARAMS.get(name, {}):
                    base[pname] = BENCH_PARAMS[name][pname]
                else:
                    missing.append(pname)
            else:
                base[pname] = default
        if missing or _needs_more_arrays(entry):  # a new required parameter, or
            continue                                  # softmax_cross_entropy's target
        choices = [p for p in (spec.params if spec else ()) if p.type == "choice"]
        combos = itertools.product(*[p.choices for p in choices]) if choices else [()]
        for combo in combos:
            params = dict(base)
            suffix = []
            for p, value in zip(choices, combo):
                params[p.name] = value
                if value != p.default:
                    suffix.append(str(value))
            label = "_".join([name] + suffix)
            special = bool(spec and spec.special_of)
            v = Variant(name, label, entry.kind, params,
                        bool(spec and spec.grad_from_output), spec,
                        spec.base.name if special else label,
                        {**spec.fixed, **params} if special else params)
            if names is None or name in names or label in names:
                out.append(v)
    return out


@dataclass
class Case:
    """One benchmark: a variant, a direction, a dtype and a size, with the
    arrays every library reads (shared, read-only by convention) and the
    output buffer every library writes."""
    variant: Variant
    direction: str     # "forward" | "backward"
    dtype: np.dtype
    n: int
    x: np.ndarray
    g: np.ndarray | None = None      # grad_output (backward)
    y: np.ndarray | None = None      # forward output (backward from y)
    w: np.ndarray | None = None      # per-channel weight (prelu)
    out: np.ndarray | None = None    # preallocated result
    axis: int | None = None
    nbytes: int = 0    # bytes read and written by one call (inputs + outputs)
    cache: dict = field(default_factory=dict)  # per-peer prepared objects

    @property
    def label(self) -> str:
        """The label the peers know the function by."""
        return self.variant.peer_label or self.variant.label

    @property
    def name(self) -> str:
        return self.variant.name

    @property
    def kind(self) -> str:
        return self.variant.kind

    @property
    def p(self) -> dict:
        return self.variant.peer_params or self.variant.params


    @property
    def key(self) -> tuple:
        return (self.variant.label, self.direction, str(self.dtype), self.n)


def _shape(kind: str, n: int) -> tuple:
    if kind == "elementwise" or n < ROW:
        return (n,)
    if kind == "channel":
        return (n // ROW, CHANNELS, ROW // CHANNELS)
    return (n // ROW, ROW)


def _data(shape, dtype, rng, check=False, domain=(-30.0, 30.0)):
    n = int(np.prod(shape))
    if check:  # the whole test domain plus typical values
        half = n // 2
        a = np.concatenate([np.linspace(domain[0], domain[1], half),
                            rng.standard_normal(n - half) * 3.0])
    else:  # typical pre-activations: both branches of every kink
        a = rng.standard_normal(n) * 3.0
    return a.reshape(shape).astype(dtype)


def fastact_call(case: Case, out=True, direction=None):
    """A zero-argument callable running fastact on the case (into
    case.out when ``out``); ``direction`` overrides the case's."""
    v, entry = case.variant, fa.ACTIVATIONS[case.name]
    kw = dict(v.params)
    if case.kind == "axis":
        kw["axis"] = -1
    if case.kind == "channel":
        kw["axis"] = case.axis
    o = case.out if out else None
    x, g, y, w = case.x, case.g, case.y, case.w
    if (direction or case.direction) == "forward":
        f = entry.forward
        if w is not None:
            return (lambda: f(x, w, out=o, **kw)) if o is not None else (lambda: f(x, w, **kw))
        return (lambda: f(x, out=o, **kw)) if o is not None else (lambda: f(x, **kw))
    b = entry.backward
    if w is not None:  # prelu_backward returns (grad_x, grad_weight), no out=
        return lambda: b(g, x, w, **kw)
    if v.from_output:
        return (lambda: b(g, y=y, out=o, **kw)) if o is not None else (lambda: b(g, y=y, **kw))
    return (lambda: b(g, x, out=o, **kw)) if o is not None else (lambda: b(g, x, **kw))


def make_case(variant: Variant, direction: str, dtype, n: int, seed: int = 0,
              check: bool = False) -> Case:
    """Build the arrays of a case; the shapes of the outputs come from a
    first (allocating) fastact call."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    shape = _shape(variant.kind, n)
    domain = getattr(variant.spec, "domain", (-30.0, 30.0))
    x = _data(shape, dtype, rng, check=check, domain=domain)
    case = Case(variant, direction, dtype, int(np.prod(shape)), x)
    if variant.kind == "channel":
        case.axis = 1 if x.ndim > 1 else 0
        case.w = (rng.uniform(0.05, 0.5, x.shape[case.axis])).astype(dtype)
    elif variant.kind == "axis":
        case.axis = -1
    with np.errstate(all="ignore"):
        y = fastact_call(case, out=False, direction="forward")()
        case.y = np.ascontiguousarray(y)
        if direction == "forward":
            case.out = np.empty_like(case.y)
        else:
            case.g = rng.standard_normal(case.y.shape).astype(dtype)
            r = fastact_call(case, out=False)()
            if isinstance(r, tuple):
                case.out = None  # no out= for tuple results
            else:
                case.out = np.empty_like(r)
    outs = r if direction == "backward" else y
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    if direction == "forward":
        ins = [x]
    else:
        ins = [case.g, case.y if variant.from_output else x]
    ins += [case.w] if case.w is not None else []
    case.nbytes = int(sum(a.nbytes for a in ins) + sum(np.asarray(a).nbytes for a in outs))
    return case


def check_case(variant: Variant, direction: str, dtype) -> Case:
    """A case over the whole test domain, for the agreement check."""
    n = 4 * ROW if variant.kind != "elementwise" else 4097
    return make_case(variant, direction, dtype, n, seed=1, check=True)
