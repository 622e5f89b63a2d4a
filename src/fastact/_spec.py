"""The single source of truth for fastact's activations.

Every activation is declared once here: its name, kind, parameters and
defaults, formula, whether its gradient can be computed from the output,
its accuracy budget and its cost class.  From this table:

* ``_codegen.py`` (called by setup.py) renders the C kernel list
  (``include/fa_list.h``), the Cython entry points (``_elementwise.pyx`` from
  ``_elementwise.pyx.tp``) and the type stubs (``__init__.pyi``);
* ``fastact.ACTIVATIONS`` (the registry) is built;
* the tests and the benchmarks are parametrized.

The math itself is written once per kernel in ``include/fa_act_impl.h``
(generic over float/double); ``Activation.kernels`` names the C kernels an
activation uses.

This module must stay importable without the compiled extension (_codegen
loads it by path before anything is built).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Param", "Activation", "SPECS", "KERNELS", "BY_NAME", "GUFUNCS", "GRAINS", "AXIS_OPS",
           "AXIS_STREAM",
           "ISA_LEVELS", "IsaLevel", "kernel_index"]

REQUIRED = object()

# the validity checks a float parameter may declare (Param.check, y_needs)
CHECKS = {">0": lambda v: v > 0, ">=0": lambda v: v >= 0, "!=0": lambda v: v != 0}
CHECK_TEXT = {">0": "> 0", ">=0": ">= 0", "!=0": "non-zero"}


@dataclass(frozen=True)
class Param:
    name: str
    default: object = REQUIRED
    # "float" (converted to the computation dtype), "choice" (a string
    # selecting a kernel variant, never passed to C) or "int" (an axis or a
    # count of the along-axis family)
    type: str = "float"
    choices: tuple = ()
    # validity check on the float value: None, ">0", ">=0", "!=0"
    check: str | None = None
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Activation:
    name: str
    kind: str                      # "elementwise" | "axis" | "channel" | "random" (rrelu)
    formula: str
    params: tuple = ()
    # C kernel(s): {choice value: kernel} for a "choice" param, else one name
    kernel: object = None
    grad_from_output: bool = False
    # accuracy budgets in ulp (float32, float64); 0 = exact
    ulp: tuple = (4, 4)
    # backward budget in ulp, plus an absolute floor of `bwd_floor` eps times
    # the magnitude of the terms of f' (near zeros of the derivative)
    bwd_ulp: int = 8
    # "cheap" (a few flops: memory bound), "exp" (one exp/log), "heavy"
    cost: str = "exp"
    # the directions ("fwd", "bx": backward from x, "by": from y) whose
    # kernels are memory bound, so that an output larger than the caches is
    # written with non-temporal stores (README "Large outputs"); None: every
    # direction of a cheap kernel, and the backward from y of the others
    # (a few flops on y; where it has an exponential of its own, say ()).
    # Measured: docs/design.md, "streaming stores".
    stream: tuple = None
    # checks between params: e.g. "min_val<=max_val"
    relations: tuple = ()
    # elementwise functions that are piecewise linear (exact or 1-2 roundings)
    piecewise: bool = False
    # test domain for dense grids (the tests add special points)
    domain: tuple = (-30.0, 30.0)
    notes: str = ""
    # (param, value, kernel): where a float param has this value, another
    # activation's kernel gives bitwise the same results, faster
    same_as: tuple = ()
    # test flags: monotone non-decreasing (elementwise); checked on a dense
    # float32 sweep against a float64 NumPy reference (the transcendental
    # ones); has a C fast path (along an axis)
    monotone: bool = False
    dense_f32: bool = False
    fast_path: bool = False
    # a special case of another activation: (its name, ((param, value), ...))
    # -- its kernel with those parameters fixed, its references, its peers
    special_of: tuple = ()
    # written in Python over the compiled families (fastact/_composed_api.py;
    # tested in tests/test_composed.py, not by the family's generic tests)
    composed: bool = False
    # where the backward from the output (grad_from_output) holds only for
    # some parameter values: (param, check), e.g. ("alpha", ">=0")
    y_needs: tuple = ()

    @property
    def base(self) -> "Activation":
        """The activation whose kernel and references this one uses."""
        return BY_NAME[self.special_of[0]] if self.special_of else self

    @property
    def fixed(self) -> dict:
        """The base's parameters this activation fixes ({} if none)."""
        return dict(self.special_of[1]) if self.special_of else {}

    @property
    def kernels(self) -> tuple:
        if self.special_of:
            return self.base.kernels
        if isinstance(self.kernel, dict):
            return tuple(dict.fromkeys(self.kernel.values()))
        return (self.kernel or self.name,)

    def kernel_for(self, **params) -> str:
        if self.special_of:
            return self.base.kernel_for(**{**params, **self.fixed})
        if isinstance(self.kernel, dict):
            (pname,) = [p.name for p in self.params if p.type == "choice"]
            return self.kernel[params[pname]]
        return self.kernel or self.name

    def y_form_ok(self, params: dict) -> bool:
        """Whether the backward may take `y=` with these parameters (the
        values as given, defaults for those not given; the API checks them in
        the computation dtype)."""
        if not self.grad_from_output:
            return False
        if not self.y_needs:
            return True
        pname, check = self.y_needs
        return CHECKS[check]({**self.defaults, **params}[pname])

    @property
    def y_needs_text(self) -> str:
        """y_needs in words: "alpha >= 0"."""
        return f"{self.y_needs[0]} {CHECK_TEXT[self.y_needs[1]]}" if self.y_needs else ""

    @property
    def float_params(self) -> tuple:
        return tuple(p for p in self.params if p.type == "float")

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params if not p.required}


_E = "elementwise"
_A = "axis"
# the axis of the along-axis family ("int": an integer, never passed to C)
_AXIS = Param("axis", -1, type="int")
_SELU = "alpha = 1.6732632423543772, scale = 1.0507009873554805"

SPECS: tuple = (
    Activation("sigmoid", _E, "1 / (1 + exp(-x))", grad_from_output=True, ulp=(3, 3),
               monotone=True, dense_f32=True),
    Activation("log_sigmoid", _E, "log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))", ulp=(3, 3),
               grad_from_output=True, monotone=True, dense_f32=True,
               stream=()),  # its backward from y is an expm1: compute bound
    Activation("tanh", _E, "tanh(x)", grad_from_output=True, ulp=(3, 3), monotone=True,
               dense_f32=True),
    Activation("relu", _E, "max(0, x)", grad_from_output=True, ulp=(0, 0), cost="cheap",
               piecewise=True, monotone=True),
    Activation("relu6", _E, "min(max(0, x), 6) (hard_tanh with min_val 0, max_val 6)",
               grad_from_output=True, ulp=(0, 0), cost="cheap", piecewise=True, monotone=True,
               special_of=("hard_tanh", (("min_val", 0.0), ("max_val", 6.0)))),
    Activation("leaky_relu", _E, "x if x > 0 else negative_slope * x",
               params=(Param("negative_slope", 0.01),), grad_from_output=True,
               y_needs=("negative_slope", ">=0"), ulp=(0, 0), cost="cheap",
               piecewise=True, monotone=True),
    Activation("elu", _E, "x if x > 0 else alpha * (exp(x) - 1)",
               params=(Param("alpha", 1.0),), grad_from_output=True, y_needs=("alpha", ">=0"),
               ulp=(3, 3), monotone=True),
    Activation("selu", _E, f"scale * elu(x, alpha), {_SELU}", grad_from_output=True,
               ulp=(4, 4), monotone=True),
    Activation("celu", _E, "max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
               params=(Param("alpha", 1.0, check="!=0"),), grad_from_output=True, ulp=(3, 3),
               same_as=(("alpha", 1.0, "elu"),), monotone=True),
    Activation("gelu", _E,
               "x * Phi(x) (erf form); approximate='tanh': "
               "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
               params=(Param("approximate", "none", type="choice", choices=("none", "tanh")),),
               kernel={"none": "gelu", "tanh": "gelu_tanh"}, ulp=(4, 4), cost="heavy",
               domain=(-40.0, 30.0), dense_f32=True),
    Activation("silu", _E, "x * sigmoid(x)", ulp=(4, 4), dense_f32=True),
    Activation("swish", _E, "x * sigmoid(beta * x)", params=(Param("beta", 1.0),), ulp=(4, 4),
               same_as=(("beta", 1.0, "silu"),), dense_f32=True),
    Activation("quick_gelu", _E, "x * sigmoid(1.702 x) (swish with beta = 1.702)", ulp=(4, 4),
               special_of=("swish", (("beta", 1.702),))),
    Activation("mish", _E, "x * tanh(softplus(x))", ulp=(5, 4), cost="heavy", dense_f32=True),
    Activation("softplus", _E,
               "log1p(exp(beta * x)) / beta; x where beta * x > threshold",
               params=(Param("beta", 1.0, check=">0"), Param("threshold", 20.0)), ulp=(3, 3),
               grad_from_output=True, monotone=True, dense_f32=True,
               stream=(),  # its backward from y is an expm1: compute bound
               notes="From y: 1 - exp(-beta y), and 1 where beta y > threshold; in float64, "
                     "within about exp(-threshold) relative below threshold / beta, y cannot "
                     "tell the branches apart and the gradient is 1 (not 1 - 2e-9)."),
    Activation("softsign", _E, "x / (1 + |x|)", grad_from_output=True, ulp=(2, 2),
               cost="cheap", monotone=True, dense_f32=True,
               notes="From y: (1 - |y|)^2, with an absolute error of about eps where |y| "
                     "nears 1."),
    Activation("hard_sigmoid", _E, "clip(slope * x + offset, 0, 1)",
               params=(Param("slope", 1.0 / 6.0), Param("offset", 0.5)), grad_from_output=True,
               ulp=(1, 1), cost="cheap", piecewise=True, monotone=True),
    Activation("hard_swish", _E, "x * hard_sigmoid(x) (slope 1/6, offset 1/2)", ulp=(2, 2),
               cost="cheap", piecewise=True),
    Activation("hard_silu", _E, "x * hard_sigmoid(x) (jax's name for hard_swish)", ulp=(2, 2),
               cost="cheap", special_of=("hard_swish", ())),
    Activation("hard_tanh", _E, "clip(x, min_val, max_val)",
               params=(Param("min_val", -1.0), Param("max_val", 1.0)),
               relations=("min_val<=max_val",), grad_from_output=True, ulp=(0, 0),
               cost="cheap", piecewise=True, monotone=True),
    Activation("squared_relu", _E, "max(0, x)^2 (Primer)", grad_from_output=True, ulp=(0, 0),
               cost="cheap", piecewise=True, monotone=True,
               notes="From y: 2 sqrt(y), within about 1 ulp of 2x; where x^2 overflowed "
                     "(y = inf) it is inf."),
    Activation("sparse_plus", _E, "0 if x <= -1, (x + 1)^2 / 4 if -1 < x < 1, x if x >= 1 "
               "(jax.nn)", ulp=(2, 2), bwd_ulp=2, cost="cheap", piecewise=True,
               monotone=True),
    Activation("sparse_sigmoid", _E, "0 if x <= -1, (x + 1) / 2 if -1 < x < 1, 1 if x >= 1 "
               "(jax.nn)", ulp=(1, 1), cost="cheap", piecewise=True, monotone=True),
    Activation("softshrink", _E,
               "x - lambd if x > lambd, x + lambd if x < -lambd, else 0",
               params=(Param("lambd", 0.5, check=">=0"),), ulp=(0, 0), cost="cheap",
               piecewise=True, monotone=True),
    Activation("hardshrink", _E, "x if |x| > lambd else 0",
               params=(Param("lambd", 0.5, check=">=0"),), ulp=(0, 0), cost="cheap",
               piecewise=True),
    Activation("tanhshrink", _E, "x - tanh(x)", ulp=(4, 4), cost="heavy", monotone=True,
               dense_f32=True),
    Activation("threshold", _E, "x if x > threshold else value",
               params=(Param("threshold"), Param("value")), ulp=(0, 0), cost="cheap",
               piecewise=True),
    Activation("binary_step", _E, "1 if x >= 0 else 0, NaN for NaN (derivative 0)",
               ulp=(0, 0), cost="cheap", piecewise=True, monotone=True),
    Activation("squareplus", _E, "(x + sqrt(x^2 + b)) / 2",
               params=(Param("b", 4.0, check=">=0"),), ulp=(3, 3), cost="cheap", monotone=True,
               dense_f32=True, stream=()),  # a square root and a division: compute bound
    Activation("prelu", "channel",
               "x if x > 0 else weight[c] * x (c: index along `axis`)",
               kernel="leaky_relu", ulp=(0, 0), cost="cheap", piecewise=True),
    Activation("rrelu", "random",
               "x if x > 0 else a x; a = (lower + upper) / 2 (training=False) or drawn "
               "uniformly from [lower, upper) per element (training=True)",
               params=(Param("lower", 1.0 / 8.0), Param("upper", 1.0 / 3.0)), ulp=(0, 0),
               cost="cheap", piecewise=True, composed=True),
    # ---- along an axis: kind "axis", not in KERNELS; the kernels
    # ---- are include/fa_axis.h, the entry points fastact/_axis_api.py
    Activation("softmax", _A, "exp(x - max) / sum(exp(x - max)) along axis",
               params=(_AXIS,), grad_from_output=True, ulp=(4, 4), fast_path=True),
    Activation("log_softmax", _A, "(x - max) - log(sum(exp(x - max))) along axis",
               params=(_AXIS,), grad_from_output=True, ulp=(4, 4), fast_path=True),
    Activation("softmin", _A, "softmax(-x) along axis",
               params=(_AXIS,), grad_from_output=True, ulp=(4, 4), fast_path=True),
    Activation("logsumexp", _A, "max + log(sum(exp(x - max))), the axis removed",
               params=(_AXIS,), ulp=(4, 4)),
    Activation("glu", _A, "a * sigmoid(b), a, b = halves of x along axis",
               params=(_AXIS,), ulp=(4, 4), fast_path=True),
    Activation("swiglu", _A, "silu(a) * b, a, b = halves of x along axis",
               params=(_AXIS,), ulp=(4, 4), fast_path=True),
    Activation("geglu", _A, "gelu(a) * b, a, b = halves of x along axis",
               params=(_AXIS, Param("approximate", "none", type="choice",
                                    choices=("none", "tanh"))),
               kernel={"none": "geglu", "tanh": "geglu_tanh"}, ulp=(4, 4), cost="heavy",
               fast_path=True),
    Activation("maxout", _A, "max over consecutive groups of `pieces` along axis",
               params=(Param("pieces", type="int", check=">0"), _AXIS), ulp=(0, 0),
               cost="cheap", piecewise=True),
    Activation("sparsemax", _A, "max(x - tau, 0), tau: the row sums to 1 "
               "(Martins & Astudillo 2016)", params=(_AXIS,), ulp=(8, 8), cost="cheap"),
    Activation("hardmax", _A, "1 at the first maximum along axis, 0 elsewhere (ONNX Hardmax)",
               params=(_AXIS,), ulp=(0, 0), cost="cheap", piecewise=True, composed=True),
    Activation("logmeanexp", _A, "log(mean(exp(x))) along axis (jax.nn), the axis removed",
               params=(_AXIS,), ulp=(4, 4), composed=True),
    Activation("entmax15", _A, "max(x / 2 - tau, 0)^2, tau: the row sums to 1 "
               "(Peters, Niculae & Martins 2019)", params=(_AXIS,), grad_from_output=True,
               ulp=(1, 8), composed=True),
    Activation("softmax_cross_entropy", _A, "logsumexp(z) sum(t) - sum(t z) per row, t the "
               "target (torch's cross_entropy)",
               params=(_AXIS, Param("label_smoothing", 0.0),
                       Param("reduction", "none", type="choice", choices=("none", "mean", "sum"))),
               ulp=(8, 8), composed=True),
    Activation("softmax_jacobian", _A, "diag(s) - s s^T, s = softmax(x) along axis "
               "(no backward)", params=(_AXIS,), ulp=(8, 8)),
)

BY_NAME = {s.name: s for s in SPECS}

# The kernels of the along-axis family, in table order (include/fa_axis_list.h
# is generated from this): the softmax family and logsumexp (forward,
# backward from x "_bx" or from y "_by", logsumexp's "_b"; with scale=, bias=,
# where=: forward "_m", backward from x "_mb" and from y "_mby"), then from "glu" on
# the elementwise pairs of the GLU family (forward, backward "_b"; with
# scale=, bias=: forward "_m", backward "_mb").  softmin runs softmax's ops on -x.
# From "maxout" on: the ops of include/fa_axis_extra_impl.h (maxout and sparsemax,
# forward and backward "_b", and the Jacobian from the softmax output).
AXIS_OPS: tuple = ("softmax", "log_softmax", "logsumexp", "softmax_bx", "softmax_by",
                   "log_softmax_bx", "log_softmax_by", "logsumexp_b",
                   "softmax_m", "log_softmax_m", "logsumexp_m",
                   "softmax_mb", "log_softmax_mb", "logsumexp_mb", "softmax_mby",
                   "log_softmax_mby",
                   "glu", "glu_b", "swiglu", "swiglu_b", "geglu", "geglu_b", "geglu_tanh",
                   "geglu_tanh_b",
                   "glu_m", "glu_mb", "swiglu_m", "swiglu_mb", "geglu_m", "geglu_mb",
                   "geglu_tanh_m", "geglu_tanh_mb",
                   "maxout", "maxout_b", "sparsemax", "sparsemax_b", "softmax_jacobian")

# The along-axis ops whose output, when large, is written with non-temporal
# stores (README "Large outputs"; rows of inner == 1 up to the row buffer,
# include/fa_axis_table.h FA_AX_SROW), and for which dtypes: the float32
# forwards (softmin: softmax's op) and softmax's backward from y, measured
# 1.0-1.3x at 1.6e7 elements.  Not the float64 forwards (an exponential in
# float64 an element, compute bound: 0.89-0.96x), the backward from x or
# log_softmax's from y (an exponential an element: 0.89-1.08x)
# (docs/design.md, "Memory: streaming stores").
AXIS_STREAM: dict = {"softmax": ("float32",), "log_softmax": ("float32",),
                     "softmax_by": ("float32", "float64")}

# The threading cut-over, in float32 elements (float64: half): per cost class
# of the elementwise kernels, and of the along-axis and PReLU families.
# Measured on the project's 2-core Zen 4 machine: 1 vs 2 threads crossed
# over at ~100k (relu), ~6k (sigmoid), ~5k (mish) float32 elements.
GRAINS = {"cheap": 98304, "exp": 8192, "heavy": 6144, "axis": 32768, "channel": 98304}


@dataclass(frozen=True)
class IsaLevel:
    """An instruction-set level the kernels are built for: its name, the
    compiler flags of its modules and the CPU features it needs (GCC's
    __builtin_cpu_supports names; include/fa_cpu.h is generated from them)."""
    name: str
    flags: tuple = ()
    features: tuple = ()
    x86_64: bool = True          # built on x86-64 only (baseline: everywhere)


# lowest first; the best one the CPU supports is used (fastact._dispatch).
# F16C (float16 conversions, include/fa_narrow.h) comes with every AVX2 CPU.
ISA_LEVELS: tuple = (
    IsaLevel("baseline", x86_64=False),
    IsaLevel("avx2", ("-mavx2", "-mfma", "-mf16c"), ("avx2", "fma", "f16c")),
    IsaLevel("avx512", ("-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2",
                        "-mfma", "-mf16c", "-mprefer-vector-width=512"),
             ("avx512f", "avx512dq", "avx512bw", "avx512vl", "avx2", "fma", "f16c")),
)

# The generalized ufuncs of the along-axis family (fastact.ufunc):
# (name, the op of include/fa_axis_table.h, sign of x, kind, docstring);
# kind 0 (n)->(n), 1 (n)->(), 2 (n),(n)->(n), 3 (),(n)->(n).
GUFUNCS: tuple = tuple(
    (name, op, sg, kind, f"fastact.{fname} {what}as a generalized ufunc {sig}.")
    for name, op, sg, kind, fname, what, sig in (
        ("softmax", "softmax", 1.0, 0, "softmax", "", "(n)->(n)"),
        ("log_softmax", "log_softmax", 1.0, 0, "log_softmax", "", "(n)->(n)"),
        ("softmin", "softmax", -1.0, 0, "softmin", "", "(n)->(n)"),
        ("logsumexp", "logsumexp", 1.0, 1, "logsumexp", "", "(n)->()"),
        ("softmax_backward", "softmax_bx", 1.0, 2, "softmax_backward",
         "(grad_output, x) ", "(n),(n)->(n)"),
        ("softmax_backward_y", "softmax_by", 1.0, 2, "softmax_backward",
         "(grad_output, y) ", "(n),(n)->(n)"),
        ("log_softmax_backward", "log_softmax_bx", 1.0, 2, "log_softmax_backward",
         "(grad_output, x) ", "(n),(n)->(n)"),
        ("log_softmax_backward_y", "log_softmax_by", 1.0, 2, "log_softmax_backward",
         "(grad_output, y) ", "(n),(n)->(n)"),
        ("softmin_backward", "softmax_bx", -1.0, 2, "softmin_backward",
         "(grad_output, x) ", "(n),(n)->(n)"),
        ("softmin_backward_y", "softmax_by", -1.0, 2, "softmin_backward",
         "(grad_output, y) ", "(n),(n)->(n)"),
        ("logsumexp_backward", "logsumexp_b", 1.0, 3, "logsumexp_backward",
         "(grad_output, x) ", "(),(n)->(n)"),
    ))

# The C kernels, in table order (fa_list.h is generated from this).  A
# kernel has a from-output backward ("by") when its activation says so.
KERNELS: tuple = tuple(dict.fromkeys(k for s in SPECS if s.kind == _E for k in s.kernels))
KERNEL_HAS_Y = {k: any(s.grad_from_output and k in s.kernels for s in SPECS) for k in KERNELS}
# cost class of a kernel (threading cut-over)
KERNEL_COST = {k: next(s.cost for s in SPECS if k in s.kernels) for k in KERNELS}


def _stream_dirs(s: "Activation") -> tuple:
    if s.stream is not None:
        return s.stream
    return ("fwd", "bx", "by") if s.cost == "cheap" else ("by",)


# streaming stores per kernel: a bit mask over (fwd, bx, by), bit 0 = fwd
KERNEL_STREAM = {k: sum(1 << i for i, d in enumerate(("fwd", "bx", "by"))
                        if d in _stream_dirs(next(s for s in SPECS if k in s.kernels)))
                 for k in KERNELS}


def kernel_index(name: str) -> int:
    return KERNELS.index(name)
