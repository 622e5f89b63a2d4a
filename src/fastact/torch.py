"""fastact for torch: differentiable custom ops on CPU tensors, and `patch`.

    import fastact.torch as ft
    y = ft.gelu(x, approximate="tanh")        # x: a CPU float32/float64 tensor
    model = ft.patch(model)                    # nn.GELU, nn.SiLU, ... -> fastact

Every function is a ``torch.library.custom_op`` (namespace ``fastact``:
``torch.ops.fastact.gelu``, ``torch.ops.fastact.gelu_backward``, ...) with a
fake (meta) implementation, so ``torch.compile(fullgraph=True)`` keeps it as
one opaque op, and a backward registered with ``register_autograd`` that
calls fastact's backward kernels (from the saved output where the spec's
``grad_from_output`` says the derivative is a function of it, else from the
saved input).  The backward is itself a custom op; it has no autograd of its
own, so second derivatives (``create_graph=True`` then a second backward)
are not supported.

Tensors are handed to the kernels without a copy: a contiguous CPU tensor is
viewed as a NumPy array, a non-contiguous one is made contiguous first, and
the result is a new contiguous tensor allocated by torch and filled in place
by fastact (``out=``).  Only float32 and float64 are accepted (any other
dtype is a ``TypeError`` naming it); a tensor on any device but the CPU is a
``ValueError`` (fastact runs on the CPU only).

Importing ``fastact`` never imports torch; importing ``fastact.torch`` does.
"""

from __future__ import annotations

import inspect
import types
import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import fastact as _fa
from fastact import _spec

try:  # numpy >= 1.25
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover
    from numpy import AxisError

_NS = "fastact"
_DTYPES = (torch.float32, torch.float64)

# the along-axis functions that have a torch meaning (and a backward)
AXIS_FUNCTIONS = ("softmax", "log_softmax", "softmin", "logsumexp", "glu", "swiglu", "geglu")
_HALVES = ("glu", "swiglu", "geglu")
_SPECS = tuple(s for s in _spec.SPECS if s.kind == "elementwise") + tuple(
    _spec.BY_NAME[n] for n in AXIS_FUNCTIONS)

__all__ = [s.name for s in _SPECS] + ["prelu", "patch", "patched_modules", "Activation",
                                      "PReLU", "AXIS_FUNCTIONS"]


# ----------------------------------------------------------------- checks

def _check(fname: str, t, argname: str = "x") -> None:
    """The tensor checks every function makes before anything runs."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"fastact.torch.{fname}(): {argname} must be a torch.Tensor, got "
                        f"{type(t).__name__} (for NumPy arrays use fastact.{fname})")
    if t.device.type != "cpu":
        raise ValueError(f"fastact.torch.{fname}(): {argname} is on device '{t.device}', but "
                         f"fastact runs on the CPU only; move the tensor with .cpu() (or use "
                         f"torch's own function on '{t.device.type}')")
    if t.dtype not in _DTYPES:
        raise TypeError(f"fastact.torch.{fname}(): {argname} has dtype {t.dtype}, which is not "
                        f"supported; fastact.torch takes torch.float32 and torch.float64 "
                        f"(convert with .float() or .double())")
    if t.layout != torch.strided:
        raise TypeError(f"fastact.torch.{fname}(): {argname} has layout {t.layout}; only dense "
                        f"(strided) tensors are supported")


def _np(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a contiguous CPU tensor (no copy)."""
    return t.detach().numpy()


def _axis(fname: str, axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise AxisError(axis, ndim, f"fastact.torch.{fname}(): axis")
    return axis % ndim


def _out_shape(spec, shape: tuple, params: dict) -> tuple:
    """The forward result's shape (the real and the fake kernel agree)."""
    if spec.kind == "elementwise":
        return shape
    ax = _axis(spec.name, params["axis"], len(shape))
    if spec.name == "logsumexp":
        return shape[:ax] + shape[ax + 1:]
    if spec.name in _HALVES:
        if shape[ax] % 2:
            raise ValueError(f"fastact.torch.{spec.name}(): the length of x along axis {ax} "
                             f"is {shape[ax]}; it must be even (two halves)")
        return shape[:ax] + (shape[ax] // 2,) + shape[ax + 1:]
    return shape


# ------------------------------------------------------- the custom ops

_SCHEMA_TYPE = {"float": "float", "choice": "str", "int": "int"}


def _schema_params(spec) -> str:
    """The params of an op schema, all positional (the public functions make
    them keywords), with the spec's defaults."""
    parts = []
    for p in spec.params:
        s = f"{_SCHEMA_TYPE[p.type]} {p.name}"
        if not p.required:
            s += "=" + (f'"{p.default}"' if p.type == "choice" else repr(p.default))
        parts.append(s)
    return "".join(", " + s for s in parts)


def _uses_y(spec, params: dict) -> bool:
    """Whether the backward is computed from the saved output."""
    return spec.y_form_ok(params)


def _define(spec):
    """Registers fastact::NAME and fastact::NAME_backward for one spec entry
    and returns the forward op (one definition shape for every function)."""
    names = tuple(p.name for p in spec.params)
    defaults = spec.defaults

    def params_of(args) -> dict:
        # the dispatcher leaves out trailing arguments equal to their default
        return {**defaults, **dict(zip(names, args))}

    fwd_np = getattr(_fa, spec.name)
    bwd_np = getattr(_fa, spec.name + "_backward")

    def forward(x, *args):
        _check(spec.name, x)
        params = params_of(args)
        xc = x.contiguous()
        out = torch.empty(_out_shape(spec, tuple(xc.shape), params), dtype=x.dtype,
                          device="cpu")
        fwd_np(_np(xc), **params, out=out.numpy())
        return out

    def forward_fake(x, *args):
        if x.dtype not in _DTYPES:
            _check(spec.name, x)
        shape = _out_shape(spec, tuple(x.shape), params_of(args))
        return x.new_empty(shape)

    def backward(g, x, y, *args):
        params = params_of(args)
        ref = y if x is None else x
        out = torch.empty(tuple(ref.shape), dtype=ref.dtype, device="cpu")
        gn = _np(g.contiguous())
        if x is None:
            bwd_np(gn, y=_np(y.contiguous()), **params, out=out.numpy())
        else:
            bwd_np(gn, _np(x.contiguous()), **params, out=out.numpy())
        return out

    def backward_fake(g, x, y, *args):
        ref = y if x is None else x
        return ref.new_empty(tuple(ref.shape))

    ps = _schema_params(spec)
    op = torch.library.custom_op(f"{_NS}::{spec.name}", forward, mutates_args=(),
                                 schema=f"(Tensor x{ps}) -> Tensor")
    op.register_fake(forward_fake)
    bop = torch.library.custom_op(f"{_NS}::{spec.name}_backward", backward, mutates_args=(),
                                  schema=f"(Tensor grad_output, Tensor? x, Tensor? y{ps}) -> Tensor")
    bop.register_fake(backward_fake)

    def setup_context(ctx, inputs, output):
        x, *args = inputs
        params = params_of(args)
        ctx.args = tuple(params[n] for n in names)
        ctx.from_y = _uses_y(spec, params)
        ctx.save_for_backward(output if ctx.from_y else x)

    def grad(ctx, g):
        (saved,) = ctx.saved_tensors
        gx = None
        if ctx.needs_input_grad[0]:
            gx = (bop(g, None, saved, *ctx.args) if ctx.from_y
                  else bop(g, saved, None, *ctx.args))
        return (gx,) + (None,) * len(ctx.args)

    op.register_autograd(grad, setup_context=setup_context)
    return op


def _as_float(fname: str, k: str, v) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                             np.floating)):
        raise TypeError(f"fastact.torch.{fname}(): {k} must be a real number, got "
                        f"{type(v).__name__}")
    return float(v)


def _as_int(fname: str, k: str, v) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"fastact.torch.{fname}(): {k} must be an int, got {type(v).__name__}")
    return int(v)


# the op schema wants Python floats and ints (a NumPy scalar is converted)
_CONVERT = {"float": _as_float, "int": _as_int}


def _public(spec, op):
    """The user-facing function: fastact's signature (elementwise params
    keyword-only; the along-axis ones positional too, as in fastact), the
    checks, then the op with every param passed."""
    name = spec.name
    names = tuple(p.name for p in spec.params)
    positional = names if spec.kind == "axis" else ()
    required = tuple(p.name for p in spec.params if p.required)
    defaults = spec.defaults
    choices = {p.name: p.choices for p in spec.params if p.type == "choice"}
    convert = tuple((p.name, _CONVERT[p.type]) for p in spec.params if p.type in _CONVERT)

    def fn(x, *args, **kwargs):
        if len(args) > len(positional):
            raise TypeError(f"fastact.torch.{name}() takes {1 + len(positional)} positional "
                            f"argument(s) but {1 + len(args)} were given")
        params = dict(defaults)
        params.update(zip(positional, args))
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"fastact.torch.{name}() got an unexpected keyword argument "
                                f"'{k}'")
            if k in positional[:len(args)]:
                raise TypeError(f"fastact.torch.{name}() got multiple values for argument "
                                f"'{k}'")
            params[k] = v
        for k in required:
            if k not in params:
                raise TypeError(f"fastact.torch.{name}() missing required keyword argument "
                                f"'{k}'")
        for k, allowed in choices.items():
            if params[k] not in allowed:
                raise ValueError(f"fastact.torch.{name}(): {k} must be one of {allowed}, got "
                                 f"{params[k]!r}")
        for k, conv in convert:
            params[k] = conv(name, k, params[k])
        _check(name, x)
        if spec.kind == "axis" and x.ndim == 0:   # torch: a 0-d tensor is one entry
            if params["axis"] not in (0, -1):
                raise AxisError(params["axis"], 0, f"fastact.torch.{name}(): axis")
            params["axis"] = -1
            return op(x.reshape(1), *(params[n] for n in names)).reshape(())
        return op(x, *(params[n] for n in names))

    sig = [inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for p in spec.params:
        kind = (inspect.Parameter.POSITIONAL_OR_KEYWORD if p.name in positional
                else inspect.Parameter.KEYWORD_ONLY)
        sig.append(inspect.Parameter(p.name, kind, default=(inspect.Parameter.empty
                                                            if p.required else p.default)))
    fn.__signature__ = inspect.Signature(sig)
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    fn.__doc__ = (f"fastact's {name} of a CPU float32/float64 tensor, differentiable "
                  f"(torch.ops.{_NS}.{name}).\n\n{name}(x) = {spec.formula}\n\n"
                  f"Parameters as in fastact.{name}; returns a new contiguous tensor.")
    return fn


_OPS = {}
_PUBLIC = {}
for _s in _SPECS:
    _OPS[_s.name] = _define(_s)
    _PUBLIC[_s.name] = globals()[_s.name] = _public(_s, _OPS[_s.name])
del _s


# ------------------------------------------------------------------ PReLU

def _prelu_forward(x, weight, axis=1):
    _check("prelu", x)
    _check("prelu", weight, "weight")
    xc = x.contiguous()
    out = torch.empty(tuple(xc.shape), dtype=x.dtype, device="cpu")
    _fa.prelu(_np(xc), _np(weight.contiguous()), axis=axis, out=out.numpy())
    return out


def _prelu_backward(g, x, weight, axis=1):
    gx, gw = _fa.prelu_backward(_np(g.contiguous()), _np(x.contiguous()),
                                _np(weight.contiguous()), axis=axis)
    return torch.from_numpy(np.ascontiguousarray(gx)), torch.from_numpy(gw).to(weight.dtype)


_prelu_op = torch.library.custom_op(f"{_NS}::prelu", _prelu_forward, mutates_args=(),
                                    schema="(Tensor x, Tensor weight, int axis=1) -> Tensor")
_prelu_op.register_fake(lambda x, weight, axis=1: x.new_empty(tuple(x.shape)))
_prelu_bop = torch.library.custom_op(
    f"{_NS}::prelu_backward", _prelu_backward, mutates_args=(),
    schema="(Tensor grad_output, Tensor x, Tensor weight, int axis=1) -> (Tensor, Tensor)")
_prelu_bop.register_fake(lambda g, x, w, axis=1: (x.new_empty(tuple(x.shape)),
                                                  w.new_empty(tuple(w.shape))))


def _prelu_setup(ctx, inputs, output):
    x, weight, *rest = inputs
    ctx.axis = rest[0] if rest else 1
    ctx.save_for_backward(x, weight)


def _prelu_grad(ctx, g):
    x, weight = ctx.saved_tensors
    gx, gw = _prelu_bop(g, x, weight, ctx.axis)
    return (gx if ctx.needs_input_grad[0] else None,
            gw if ctx.needs_input_grad[1] else None, None)


_prelu_op.register_autograd(_prelu_grad, setup_context=_prelu_setup)
_OPS["prelu"] = _prelu_op


def prelu(x, weight, *, axis=1):
    """fastact's PReLU of a CPU float32/float64 tensor, differentiable in x
    and weight (torch.ops.fastact.prelu): x if x > 0 else weight[c] * x, c
    the index along `axis` (a 1-D x uses axis 0; `weight` has one entry per
    channel or one shared entry)."""
    _check("prelu", x)
    _check("prelu", weight, "weight")
    if weight.dtype != x.dtype:
        raise TypeError(f"fastact.torch.prelu(): weight has dtype {weight.dtype} but x has "
                        f"{x.dtype}; they must be equal")
    return _prelu_op(x, weight, axis)


# ------------------------------------------------------------------ patch

class Activation(nn.Module):
    """A fastact-backed activation module: ``forward(x)`` is
    ``fastact.torch.<name>(x, **params)``.  ``replaced`` names the torch
    module (or function) it stands for, when made by `patch`.

    For the softmax family, ``axis=None`` follows torch's legacy implicit
    dimension (0 for 0-, 1- and 3-d input, else 1, with torch's warning)."""

    def __init__(self, name: str, replaced: str | None = None, **params):
        super().__init__()
        if name not in _PUBLIC:
            raise ValueError(f"fastact.torch.Activation: unknown activation {name!r} (one of "
                             f"{sorted(_PUBLIC)})")
        params = dict(params)
        legacy = "axis" in params and params["axis"] is None
        # a wrong parameter name or a missing one fails here, not at forward
        inspect.signature(_PUBLIC[name]).bind(None, **dict(params, **(
            {"axis": -1} if legacy else {})))
        self.fn_name = name
        self.params = dict(params)
        self.replaced = replaced

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = self.params
        if "axis" in params and params["axis"] is None:
            params = dict(params, axis=_legacy_dim(self.fn_name, x.ndim))
        return _PUBLIC[self.fn_name](x, **params)

    def extra_repr(self) -> str:
        ps = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.fn_name}" + (f", {ps}" if ps else "") + (
            f"  (replaces {self.replaced})" if self.replaced else "")


def _legacy_dim(name: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


class PReLU(nn.Module):
    """A fastact-backed ``nn.PReLU``: the same ``weight`` parameter (one
    slope per channel on dim 1, or one shared slope), so a state dict and an
    optimizer made before `patch` still apply."""

    def __init__(self, weight: nn.Parameter, replaced: str | None = "PReLU"):
        super().__init__()
        self.weight = weight
        self.num_parameters = weight.numel()
        self.replaced = replaced

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 2 and self.weight.numel() != 1:
            raise ValueError(f"fastact.torch.PReLU: a {x.ndim}-d input has no channel dim (dim "
                             f"1) but the module has {self.weight.numel()} parameters")
        return prelu(x, self.weight, axis=1 if x.ndim >= 2 else 0)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}  (replaces {self.replaced})"


def _f(v) -> float:
    return float(v)


# torch module class -> (fastact name, params) or None where fastact does
# not mean the same (then the module is left alone).  Exact classes only:
# a subclass may override forward.
_MODULES = {
    nn.GELU: lambda m: ("gelu", {"approximate": m.approximate}),
    nn.SiLU: lambda m: ("silu", {}),
    nn.Mish: lambda m: ("mish", {}),
    nn.Softplus: lambda m: (("softplus", {"beta": _f(m.beta), "threshold": _f(m.threshold)})
                            if m.beta > 0 else None),
    nn.ELU: lambda m: ("elu", {"alpha": _f(m.alpha)}),
    nn.CELU: lambda m: ("celu", {"alpha": _f(m.alpha)}) if m.alpha != 0 else None,
    nn.SELU: lambda m: ("selu", {}),
    nn.ReLU: lambda m: ("relu", {}),
    nn.ReLU6: lambda m: ("relu6", {}),
    nn.LeakyReLU: lambda m: ("leaky_relu", {"negative_slope": _f(m.negative_slope)}),
    nn.Sigmoid: lambda m: ("sigmoid", {}),
    nn.Tanh: lambda m: ("tanh", {}),
    nn.Hardsigmoid: lambda m: ("hard_sigmoid", {}),      # relu6(x + 3) / 6
    nn.Hardswish: lambda m: ("hard_swish", {}),
    nn.Hardtanh: lambda m: (("hard_tanh", {"min_val": _f(m.min_val), "max_val": _f(m.max_val)})
                            if m.min_val <= m.max_val else None),
    nn.Softsign: lambda m: ("softsign", {}),
    nn.Tanhshrink: lambda m: ("tanhshrink", {}),
    nn.Softshrink: lambda m: ("softshrink", {"lambd": _f(m.lambd)}) if m.lambd >= 0 else None,
    nn.Hardshrink: lambda m: ("hardshrink", {"lambd": _f(m.lambd)}) if m.lambd >= 0 else None,
    nn.LogSigmoid: lambda m: ("log_sigmoid", {}),
    nn.Threshold: lambda m: ("threshold", {"threshold": _f(m.threshold), "value": _f(m.value)}),
    nn.Softmax: lambda m: ("softmax", {"axis": m.dim}),
    nn.LogSoftmax: lambda m: ("log_softmax", {"axis": m.dim}),
    nn.Softmin: lambda m: ("softmin", {"axis": m.dim}),
    nn.GLU: lambda m: ("glu", {"axis": m.dim}),
}

# functions held in a module's `activation` attribute (torch's Transformer
# layers keep F.relu / F.gelu there, not a module): function -> (name, params)
_FUNCTIONS = {
    F.relu: ("relu", {}), F.gelu: ("gelu", {}), F.silu: ("silu", {}), F.mish: ("mish", {}),
    F.elu: ("elu", {}), F.selu: ("selu", {}), F.celu: ("celu", {}), F.relu6: ("relu6", {}),
    F.softsign: ("softsign", {}), F.logsigmoid: ("log_sigmoid", {}),
    F.hardswish: ("hard_swish", {}), F.hardsigmoid: ("hard_sigmoid", {}),
    F.tanhshrink: ("tanhshrink", {}), torch.sigmoid: ("sigmoid", {}),
    torch.tanh: ("tanh", {}), F.sigmoid: ("sigmoid", {}), F.tanh: ("tanh", {}),
}


def _replacement(m):
    if isinstance(m, (Activation, PReLU)):
        return None
    if type(m) is nn.PReLU:
        return PReLU(m.weight).train(m.training)
    rule = _MODULES.get(type(m))
    r = rule(m) if rule is not None else None
    if r is None:
        return None
    name, params = r
    return Activation(name, replaced=type(m).__name__, **params).train(m.training)


def _patch(module, memo) -> None:
    for key, child in list(module._modules.items()):
        if child is None:
            continue
        if id(child) in memo:
            new = memo[id(child)]
        else:
            new = _replacement(child)
            memo[id(child)] = new
            if new is None:
                _patch(child, memo)
        if new is not None:
            module._modules[key] = new
    act = module.__dict__.get("activation")
    if isinstance(act, (types.FunctionType, types.BuiltinFunctionType)):
        r = next((v for f, v in _FUNCTIONS.items() if f is act), None)
        if r is not None:
            name, params = r
            del module.__dict__["activation"]
            where = "torch.nn.functional" if getattr(F, act.__name__, None) is act else "torch"
            module.activation = Activation(name, replaced=f"{where}.{act.__name__}", **params)
    # torch's TransformerEncoderLayer takes a fused inference path (its own
    # relu/gelu, never calling `activation`) while this flag is set: clear it
    # so the replaced activation is the one that runs
    if hasattr(module, "activation_relu_or_gelu") and isinstance(
            module._modules.get("activation"), (Activation, PReLU)):
        module.activation_relu_or_gelu = 0


def patch(model: nn.Module) -> nn.Module:
    """Replace, in place and recursively, the activation modules of `model`
    that fastact computes with the same meaning (nn.GELU, nn.SiLU, nn.Mish,
    nn.Softplus, nn.ELU, nn.CELU, nn.SELU, nn.ReLU, nn.ReLU6, nn.LeakyReLU,
    nn.Sigmoid, nn.Tanh, nn.Hardsigmoid, nn.Hardswish, nn.Hardtanh,
    nn.Softsign, nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.LogSigmoid,
    nn.Threshold, nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.GLU, nn.PReLU;
    exact classes, not subclasses) with `Activation` / `PReLU` modules, and
    a function such as F.gelu held in a module's ``activation`` attribute
    (torch's Transformer layers) likewise.  Returns `model` (or the
    replacement, when `model` itself is such a module).

    What was replaced: `patched_modules(model)`.  Modules of other classes,
    and ones whose parameters fastact does not take (Softplus beta <= 0,
    CELU alpha == 0, a negative shrink lambd) are left alone.  The
    replacements compute out of place (``inplace=True`` modules no longer
    modify their input), support float32/float64 CPU tensors only, and drop
    hooks registered on the replaced modules.  A TransformerEncoderLayer
    whose activation is replaced no longer takes torch's fused inference
    path (which would bypass the activation)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"fastact.torch.patch(): model must be a torch.nn.Module, got "
                        f"{type(model).__name__}")
    new = _replacement(model)
    if new is not None:
        return new
    _patch(model, {})
    return model


def patched_modules(model: nn.Module) -> dict:
    """{qualified name: what it replaced} for every fastact-backed module of
    `model` (the root is named ''; a module used in two places is listed
    under both names)."""
    return {n: m.replaced for n, m in model.named_modules(remove_duplicate=False)
            if isinstance(m, (Activation, PReLU))}
