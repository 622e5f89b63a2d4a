"""The peers fastact is measured against, and how each computes every
activation.

A peer is a library with a table of expressions keyed by activation name:
the code its user would write, with ``out=`` into the case's preallocated
buffer where the library allows it.  A function a peer lacks is absent from
its table (or ``make`` returns None for parameters it cannot express) and
the benchmark skips it for that peer.  Every peer but NumPy is optional: it
is reported as missing when its import fails.

* ``numpy``: ufunc expressions (chains of ``out=`` where the expression is a
  chain; ``np.where`` where it has branches, which allocates as it does for
  a NumPy user).
* ``torch``: the ``torch`` / ``torch.nn.functional`` kernels with ``out=``
  (``torch._C._nn.*``, which ``F.*`` calls), and for the backward torch's
  own kernels ``torch.ops.aten.*_backward`` (what autograd runs).  Where
  torch has no fused kernel (softsign, tanhshrink, squareplus, swish with
  beta != 1) the composition autograd would run.  Tensors share the NumPy
  buffers (``torch.from_numpy``).
* ``scipy``: ``scipy.special`` where it has the function (expit,
  log_expit, ndtr for the erf GELU).
* ``numexpr``: one ``numexpr.evaluate`` expression per function with
  ``out=`` (constants passed as typed variables, so float32 stays float32).
* ``onnxruntime``: a one-node ONNX model per function, float32 only,
  forward only (inference has no gradient kernels), IOBinding to the
  preallocated output.

Each ``make(case)`` returns a zero-argument callable that runs the peer on
the case's arrays and returns its result (an array, tensor or tuple), or
None when the peer lacks the function.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Peer", "NumPyPeer", "TorchPeer", "SciPyPeer", "NumExprPeer", "OnnxRuntimePeer",
           "all_peers", "PEER_NAMES"]

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
GELU_K = 0.044715


class Peer:
    """A library fastact is compared with."""
    name = "?"
    module = None

    def __init__(self):
        self.available = False
        self.version = None
        self.reason = None
        self.mod = None
        try:
            self.mod = self._import()
            self.available = True
            self.version = getattr(self.mod, "__version__", "?")
        except Exception as e:  # noqa: BLE001 - any import failure means "missing"
            self.reason = f"{type(e).__name__}: {e}"

    def _import(self):
        import importlib
        return importlib.import_module(self.module)

    def set_threads(self, n: int) -> None:
        """Run with n threads from now on (single-threaded peers ignore it)."""

    @property
    def threaded(self) -> bool:
        return False

    def make(self, case):
        raise NotImplementedError

    def __repr__(self):
        return f"<peer {self.name} {self.version if self.available else 'missing'}>"


# ------------------------------------------------------------------ NumPy

def _np_gelu_tanh(x, o, p):
    inner = x * x
    inner *= GELU_K * x
    inner += x
    inner *= SQRT_2_OVER_PI
    np.tanh(inner, out=inner)
    inner += 1.0
    return np.multiply(0.5 * x, inner, out=o)


def _np_gelu_tanh_bwd(g, x, y, o, p):
    x2 = x * x
    t = np.tanh(SQRT_2_OVER_PI * (x + GELU_K * x2 * x))
    d = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_K * x2)
    return np.multiply(g, d, out=o)


def _np_sigmoid(x, o):
    np.negative(x, out=o)
    np.exp(o, out=o)
    o += 1.0
    return np.reciprocal(o, out=o)


def _np_hard_sigmoid_bwd(g, x, y, o, p):
    s, b = p["slope"], p["offset"]
    z = s * x + b
    return np.where((z > 0) & (z < 1), g * s, 0)


def _w(o, v):
    """Store an allocated NumPy result into the output buffer."""
    np.copyto(o, v)
    return o


# forward: f(x, o, p) -> result ; backward: f(g, x, y, o, p) -> result.
# A `np.where` expression allocates its result as it does for a NumPy user;
# it is returned as is (no extra copy into o).
NUMPY_FWD = {
    "sigmoid": lambda x, o, p: _np_sigmoid(x, o),
    "log_sigmoid": lambda x, o, p: np.negative(np.logaddexp(0, np.negative(x, out=o), out=o),
                                               out=o),
    "tanh": lambda x, o, p: np.tanh(x, out=o),
    "relu": lambda x, o, p: np.maximum(x, 0, out=o),
    "relu6": lambda x, o, p: np.clip(x, 0, 6, out=o),
    "leaky_relu": lambda x, o, p: np.where(x > 0, x, p["negative_slope"] * x),
    "elu": lambda x, o, p: np.where(x > 0, x, p["alpha"] * np.expm1(x)),
    "selu": lambda x, o, p: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "celu": lambda x, o, p: np.add(np.maximum(x, 0),
                                   np.minimum(0, p["alpha"] * np.expm1(x / p["alpha"])), out=o),
    "gelu_tanh": _np_gelu_tanh,
    "silu": lambda x, o, p: np.divide(x, 1.0 + np.exp(-x), out=o),
    "swish": lambda x, o, p: np.divide(x, 1.0 + np.exp(-p["beta"] * x), out=o),
    "mish": lambda x, o, p: np.multiply(x, np.tanh(np.logaddexp(0, x, out=o), out=o), out=o),
    "softplus": lambda x, o, p: np.where(p["beta"] * x > p["threshold"], x,
                                         np.log1p(np.exp(p["beta"] * x)) / p["beta"]),
    "softsign": lambda x, o, p: np.divide(x, np.add(np.abs(x, out=o), 1.0, out=o), out=o),
    "hard_sigmoid": lambda x, o, p: np.clip(np.add(np.multiply(x, p["slope"], out=o),
                                                   p["offset"], out=o), 0, 1, out=o),
    "hard_swish": lambda x, o, p: np.multiply(x, np.clip(x / 6.0 + 0.5, 0, 1), out=o),
    "hard_tanh": lambda x, o, p: np.clip(x, p["min_val"], p["max_val"], out=o),
    "softshrink": lambda x, o, p: np.where(x > p["lambd"], x - p["lambd"],
                                           np.where(x < -p["lambd"], x + p["lambd"], 0)),
    "hardshrink": lambda x, o, p: np.where(np.abs(x) > p["lambd"], x, 0),
    "tanhshrink": lambda x, o, p: np.subtract(x, np.tanh(x, out=o), out=o),
    "threshold": lambda x, o, p: np.where(x > p["threshold"], x, p["value"]),
    "binary_step": lambda x, o, p: np.heaviside(x, 1, out=o),
    "squareplus": lambda x, o, p: np.multiply(np.add(x, np.sqrt(x * x + p["b"]), out=o), 0.5,
                                              out=o),
}


def _np_silu_bwd(g, x, y, o, p, beta=1.0):
    s = 1.0 / (1.0 + np.exp(-beta * x))
    return np.multiply(g, s * (1.0 + beta * x * (1.0 - s)), out=o)


def _np_mish_bwd(g, x, y, o, p):
    t = np.tanh(np.logaddexp(0, x))
    s = 1.0 / (1.0 + np.exp(-x))
    return np.multiply(g, t + x * s * (1.0 - t * t), out=o)


NUMPY_BWD = {
    # from the output y
    "sigmoid": lambda g, x, y, o, p: np.multiply(np.multiply(np.subtract(1.0, y, out=o), y,
                                                             out=o), g, out=o),
    "tanh": lambda g, x, y, o, p: np.multiply(np.subtract(1.0, np.multiply(y, y, out=o),
                                                          out=o), g, out=o),
    "elu": lambda g, x, y, o, p: np.where(y > 0, g, g * (y + p["alpha"])),
    # from the input x
    "log_sigmoid": lambda g, x, y, o, p: np.divide(g, np.add(np.exp(x, out=o), 1.0, out=o),
                                                   out=o),
    "relu": lambda g, x, y, o, p: np.where(x > 0, g, 0),
    "relu6": lambda g, x, y, o, p: np.where((x > 0) & (x < 6), g, 0),
    "leaky_relu": lambda g, x, y, o, p: np.where(x > 0, g, p["negative_slope"] * g),
    "selu": lambda g, x, y, o, p: np.where(x > 0, SELU_SCALE * g,
                                           g * (SELU_SCALE * SELU_ALPHA) * np.exp(x)),
    "celu": lambda g, x, y, o, p: np.where(x > 0, g, g * np.exp(x / p["alpha"])),
    "gelu_tanh": _np_gelu_tanh_bwd,
    "silu": _np_silu_bwd,
    "swish": lambda g, x, y, o, p: _np_silu_bwd(g, x, y, o, p, beta=p["beta"]),
    "mish": _np_mish_bwd,
    "softplus": lambda g, x, y, o, p: np.where(p["beta"] * x > p["threshold"], g,
                                               g / (1.0 + np.exp(-p["beta"] * x))),
    "softsign": lambda g, x, y, o, p: np.divide(g, np.square(1.0 + np.abs(x)), out=o),
    "hard_sigmoid": _np_hard_sigmoid_bwd,
    "hard_swish": lambda g, x, y, o, p: np.where(x < -3, 0,
                                                 np.where(x <= 3, g * (x / 3.0 + 0.5), g)),
    "hard_tanh": lambda g, x, y, o, p: np.where((x > p["min_val"]) & (x < p["max_val"]), g, 0),
    "softshrink": lambda g, x, y, o, p: np.where(np.abs(x) > p["lambd"], g, 0),
    "hardshrink": lambda g, x, y, o, p: np.where(np.abs(x) > p["lambd"], g, 0),
    "tanhshrink": lambda g, x, y, o, p: np.multiply(np.square(np.tanh(x, out=o), out=o), g,
                                                    out=o),
    "threshold": lambda g, x, y, o, p: np.where(x > p["threshold"], g, 0),
    "binary_step": lambda g, x, y, o, p: np.multiply(g, 0, out=o),
    "squareplus": lambda g, x, y, o, p: np.multiply(
        g, 0.5 * (1.0 + x / np.sqrt(x * x + p["b"])), out=o),
}


def _np_softmax(x, o, axis=-1):
    np.subtract(x, x.max(axis=axis, keepdims=True), out=o)
    np.exp(o, out=o)
    o /= o.sum(axis=axis, keepdims=True)
    return o


def _np_log_softmax(x, o, axis=-1):
    np.subtract(x, x.max(axis=axis, keepdims=True), out=o)
    o -= np.log(np.exp(o).sum(axis=axis, keepdims=True))
    return o


def _np_logsumexp(x, o, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    r = np.log(np.exp(x - m).sum(axis=axis)) + np.squeeze(m, axis)
    return _w(o, r)


# maxout, sparsemax and softmax_jacobian as fastact wrote them in NumPy
# before their compiled kernels (last axis): the NumPy peer, and the
# reference of benchmarks/axis_extra_speed.py
def np_maxout(x, o, pieces):
    return np.max(x.reshape(x.shape[:-1] + (-1, pieces)), axis=-1, out=o)


def np_maxout_backward(g, x, pieces):
    blk = x.reshape(x.shape[:-1] + (-1, pieces))
    r = np.zeros(blk.shape, x.dtype)
    np.put_along_axis(r, np.argmax(blk, axis=-1)[..., None], g[..., None], axis=-1)
    return r.reshape(x.shape)


def np_sparsemax(z):
    """sort, cumulative sums, support size, tau (Martins & Astudillo 2016,
    Alg. 1) in float64 on the max-shifted rows"""
    n = z.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        zmax = z.max(axis=-1, keepdims=True)
        bad = ~np.isfinite(zmax)
        zd = np.maximum(z.astype(np.float64) - np.where(bad, 0, zmax).astype(np.float64), -2.0)
        zs = -np.sort(-zd, axis=-1)
        cs = np.cumsum(zs, axis=-1)
        k = np.arange(1, n + 1, dtype=np.float64)
        kz = ((1 + k * zs) > cs).sum(axis=-1, keepdims=True)
        tau = (np.take_along_axis(cs, np.maximum(kz - 1, 0), axis=-1) - 1) / kz
        p = np.maximum(zd - tau, 0).astype(z.dtype)
    return np.where(bad | (kz == 0), np.asarray(np.nan, z.dtype), p)


def np_sparsemax_backward(g, x):
    p = np_sparsemax(x)
    s = (p > 0).astype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = (g * s).sum(axis=-1, keepdims=True) / s.sum(axis=-1, keepdims=True)
        r = s * (g - m)
    return np.where(np.isnan(p), p, r)


def np_softmax_jacobian(x):
    s = _np_softmax(x, np.empty_like(x))
    j = -(s[..., :, None] * s[..., None, :])
    i = np.arange(s.shape[-1])
    sd = s.astype(np.float64)
    big = sd > 0.5
    rest = np.where(big, 0.0, sd).sum(axis=-1, keepdims=True)
    j[..., i, i] = sd * np.where(big, rest, 1.0 - sd)
    return j


NUMPY_AXIS_FWD = {
    "softmax": lambda x, o, p: _np_softmax(x, o),
    "softmin": lambda x, o, p: _np_softmax(-x, o),
    "log_softmax": lambda x, o, p: _np_log_softmax(x, o),
    "logsumexp": lambda x, o, p: _np_logsumexp(x, o),
    "glu": lambda x, o, p: np.multiply(*(lambda a, b: (a, 1.0 / (1.0 + np.exp(-b))))(
        *np.split(x, 2, axis=-1)), out=o),
    "maxout": lambda x, o, p: np_maxout(x, o, p["pieces"]),
    "sparsemax": lambda x, o, p: _w(o, np_sparsemax(x)),
}
NUMPY_AXIS_BWD = {
    "softmax": lambda g, x, y, o, p: np.multiply(
        y, g - (g * y).sum(axis=-1, keepdims=True), out=o),
    "log_softmax": lambda g, x, y, o, p: np.subtract(
        g, np.exp(y) * g.sum(axis=-1, keepdims=True), out=o),
    "maxout": lambda g, x, y, o, p: _w(o, np_maxout_backward(g, x, p["pieces"])),
    "sparsemax": lambda g, x, y, o, p: _w(o, np_sparsemax_backward(g, x)),
}


class NumPyPeer(Peer):
    name = "numpy"
    module = "numpy"

    def make(self, case):
        x, g, y, o, p = case.x, case.g, case.y, case.out, case.p
        label = case.label
        if case.kind == "channel":
            if case.name != "prelu":
                return None
            w = case.w.reshape((-1,) + (1,) * (x.ndim - 1 - case.axis))
            if case.direction == "forward":
                return lambda: np.where(x > 0, x, w * x)
            red = tuple(i for i in range(x.ndim) if i != case.axis)
            return lambda: (np.where(x > 0, g, w * g),
                            np.where(x > 0, 0, g * x).sum(axis=red))
        if case.kind == "axis":
            table = NUMPY_AXIS_FWD if case.direction == "forward" else NUMPY_AXIS_BWD
        else:
            table = NUMPY_FWD if case.direction == "forward" else NUMPY_BWD
        f = table.get(label)
        if f is None or o is None:
            return None
        if case.direction == "forward":
            return lambda: f(x, o, p)
        return lambda: f(g, x, y, o, p)


# ------------------------------------------------------------------ torch

class TorchPeer(Peer):
    """torch, CPU; forward with out=, backward with the aten kernels."""
    name = "torch"
    module = "torch"

    @property
    def threaded(self) -> bool:
        return True

    def set_threads(self, n: int) -> None:
        self.mod.set_num_threads(int(n))

    def _tensors(self, case):
        t = case.cache.get("torch")
        if t is None:
            T = self.mod.from_numpy
            t = {k: (T(v) if isinstance(v, np.ndarray) else None)
                 for k, v in (("x", case.x), ("g", case.g), ("y", case.y), ("o", case.out),
                              ("w", case.w))}
            case.cache["torch"] = t
        return t

    def make(self, case):
        torch = self.mod
        nn = torch._C._nn
        A = torch.ops.aten
        t = self._tensors(case)
        x, g, y, o = t["x"], t["g"], t["y"], t["o"]
        p, label, fwd = case.p, case.label, case.direction == "forward"

        def op(name, overload):  # the C++ op, without OpOverload.__call__'s frame
            ov = getattr(getattr(A, name), overload)
            return getattr(ov, "_op", ov)

        if case.kind == "channel":
            if case.name != "prelu":
                return None
            shape = [1] * x.dim()
            shape[case.axis] = -1
            w = t["w"]
            wb = w.reshape(shape)
            if fwd:
                return lambda: torch.prelu(x, w)
            red = [i for i in range(x.dim()) if i != case.axis]
            kb = op("_prelu_kernel_backward", "default")

            def prelu_bwd():
                gx, gw = kb(g, x, wb)
                return gx, gw.sum(red)
            return prelu_bwd
        if case.kind == "axis":
            return self._make_axis(case, t)
        if o is None:
            return None
        if fwd:
            sel = {
                "sigmoid": lambda: torch.sigmoid(x, out=o),
                "log_sigmoid": lambda: nn.log_sigmoid(x, out=o),
                "tanh": lambda: torch.tanh(x, out=o),
                "relu": lambda: torch.clamp_min(x, 0, out=o),
                "relu6": lambda: nn.hardtanh(x, 0.0, 6.0, out=o),
                "leaky_relu": lambda: nn.leaky_relu(x, p["negative_slope"], out=o),
                "elu": lambda: nn.elu(x, p["alpha"], 1.0, 1.0, out=o),
                "selu": lambda: nn.elu(x, SELU_ALPHA, SELU_SCALE, 1.0, out=o),
                "celu": lambda: nn.elu(x, p["alpha"], 1.0, 1.0 / p["alpha"], out=o),
                "gelu": lambda: nn.gelu(x, approximate="none", out=o),
                "gelu_tanh": lambda: nn.gelu(x, approximate="tanh", out=o),
                "silu": lambda: nn.silu(x, out=o),
                "swish": ((lambda: nn.silu(x, out=o)) if p.get("beta") == 1.0 else
                          (lambda: torch.mul(x, torch.sigmoid(p["beta"] * x), out=o))),
                "mish": lambda: nn.mish(x, out=o),
                "softplus": lambda: nn.softplus(x, p["beta"], p["threshold"], out=o),
                "softsign": lambda: torch.div(x, x.abs().add_(1), out=o),
                "hard_sigmoid": ((lambda: nn.hardsigmoid(x, out=o))
                                 if (p.get("slope"), p.get("offset")) == (1 / 6, 0.5) else
                                 (lambda: torch.clamp(x * p["slope"] + p["offset"], 0, 1,
                                                      out=o))),
                "hard_swish": lambda: nn.hardswish(x, out=o),
                "hard_tanh": lambda: nn.hardtanh(x, p["min_val"], p["max_val"], out=o),
                "softshrink": lambda: nn.softshrink(x, p["lambd"], out=o),
                "hardshrink": lambda: torch.hardshrink(x, p["lambd"], out=o),
                "tanhshrink": lambda: torch.sub(x, torch.tanh(x), out=o),
                "threshold": lambda: torch.threshold(x, p["threshold"], p["value"], out=o),
                "squareplus": lambda: torch.add(x, (x * x).add_(p["b"]).sqrt_(), out=o).mul_(0.5),
            }
            if label == "binary_step":
                one = torch.ones((), dtype=x.dtype)
                return lambda: torch.heaviside(x, one, out=o)
            return sel.get(label)
        # backward: torch's own kernels (what autograd runs)
        if label == "log_sigmoid":
            buf = op("log_sigmoid_forward", "default")(x)[1]
            k = op("log_sigmoid_backward", "grad_input")
            return lambda: k(g, x, buf, grad_input=o)
        if label == "mish":
            k = op("mish_backward", "default")
            return lambda: k(g, x)
        if label == "hard_swish":
            k = op("hardswish_backward", "out")
            return lambda: k(g, x, out=o)
        if label == "hard_sigmoid" and (p["slope"], p["offset"]) != (1 / 6, 0.5):
            return None
        kernels = {  # label: (aten op, args after grad_output, kwargs)
            "sigmoid": ("sigmoid_backward", (y,), {}),
            "tanh": ("tanh_backward", (y,), {}),
            "elu": ("elu_backward", (p.get("alpha"), 1.0, 1.0, True, y), {}),
            "selu": ("elu_backward", (SELU_ALPHA, SELU_SCALE, 1.0, False, x), {}),
            "celu": ("elu_backward", (p.get("alpha"), 1.0, 1.0 / p.get("alpha", 1.0), False, x),
                     {}),
            "relu": ("threshold_backward", (x, 0.0), {}),
            "relu6": ("hardtanh_backward", (x, 0.0, 6.0), {}),
            "leaky_relu": ("leaky_relu_backward", (x, p.get("negative_slope"), False), {}),
            "gelu": ("gelu_backward", (x,), {"approximate": "none"}),
            "gelu_tanh": ("gelu_backward", (x,), {"approximate": "tanh"}),
            "silu": ("silu_backward", (x,), {}),
            "softplus": ("softplus_backward", (x, p.get("beta"), p.get("threshold")), {}),
            "hard_sigmoid": ("hardsigmoid_backward", (x,), {}),
            "hard_tanh": ("hardtanh_backward", (x, p.get("min_val"), p.get("max_val")), {}),
            "softshrink": ("softshrink_backward", (x, p.get("lambd")), {}),
            "hardshrink": ("hardshrink_backward", (x, p.get("lambd")), {}),
            "threshold": ("threshold_backward", (x, p.get("threshold")), {}),
        }
        if label == "swish" and p["beta"] == 1.0:
            label = "silu"
        if label in kernels:
            name, args, kw = kernels[label]
            k = op(name, "grad_input")
            return lambda: k(g, *args, grad_input=o, **kw)
        # no fused kernel: the composition autograd would run
        comp = {
            "softsign": lambda: torch.div(g, (x.abs() + 1).square_(), out=o),
            "tanhshrink": lambda: torch.mul(g, torch.tanh(x).square_(), out=o),
            "squareplus": lambda: torch.mul(g, (x / (x * x + p["b"]).sqrt_()).add_(1).mul_(0.5),
                                            out=o),
            "swish": lambda: self._swish_bwd(g, x, o, p["beta"]),
        }
        return comp.get(label)

    def _swish_bwd(self, g, x, o, beta):
        s = self.mod.sigmoid(beta * x)
        return self.mod.mul(g, s * (1 + beta * x * (1 - s)), out=o)

    def _make_axis(self, case, t):
        torch = self.mod
        x, g, y, o = t["x"], t["g"], t["y"], t["o"]
        A = torch.ops.aten
        fwd = case.direction == "forward"
        name = case.name
        if fwd:
            sel = {
                "softmax": lambda: torch.softmax(x, -1, out=o),
                "log_softmax": lambda: torch.log_softmax(x, -1, out=o),
                "softmin": lambda: torch.softmax(-x, -1, out=o),
                "logsumexp": lambda: torch.logsumexp(x, -1, out=o),
                "glu": lambda: torch._C._nn.glu(x, -1, out=o),
            }
            return sel.get(name)
        if o is None:
            return None
        sel = {
            "softmax": lambda: A._softmax_backward_data.out(g, y, -1, y.dtype, grad_input=o),
            "log_softmax": lambda: A._log_softmax_backward_data.out(g, y, -1, y.dtype, out=o),
            "glu": lambda: A.glu_backward.grad_input(g, x, -1, grad_input=o),
        }
        return sel.get(name)


# ------------------------------------------------------------------ SciPy

class SciPyPeer(Peer):
    """scipy.special where it has the function."""
    name = "scipy"
    module = "scipy.special"

    def _import(self):
        import scipy
        import scipy.special as sp
        sp.__version__ = scipy.__version__
        return sp

    def make(self, case):
        sp = self.mod
        x, g, o, p = case.x, case.g, case.out, case.p
        if case.kind == "axis":
            if case.direction == "forward" and case.name in ("softmax", "log_softmax",
                                                              "logsumexp"):
                f = getattr(sp, case.name)
                return lambda: f(x, axis=-1)
            return None
        if case.kind != "elementwise" or o is None:
            return None
        label = case.label
        beta = p.get("beta", 1.0)
        if case.direction == "forward":
            sel = {
                "sigmoid": lambda: sp.expit(x, out=o),
                "log_sigmoid": lambda: sp.log_expit(x, out=o),
                "silu": lambda: np.multiply(sp.expit(x, out=o), x, out=o),
                "swish": lambda: np.multiply(sp.expit(beta * x, out=o), x, out=o),
                "gelu": lambda: np.multiply(sp.ndtr(x, out=o), x, out=o),
            }
            return sel.get(label)

        def silu_bwd(b=1.0):
            s = sp.expit(b * x)
            return np.multiply(g, s * (1.0 + b * x * (1.0 - s)), out=o)

        sel = {
            "log_sigmoid": lambda: np.multiply(sp.expit(np.negative(x, out=o), out=o), g, out=o),
            "silu": silu_bwd,
            "swish": lambda: silu_bwd(beta),
            "gelu": lambda: np.multiply(g, sp.ndtr(x) + x * np.exp(-0.5 * x * x) * INV_SQRT_2PI,
                                        out=o),
        }
        return sel.get(label)


# ------------------------------------------------------------------ numexpr

# Expressions in x (input), y (forward output), g (grad_output); float
# constants are named (numexpr turns a float literal into float64) and
# passed as variables of the case's dtype.
NUMEXPR_FWD = {
    "sigmoid": "1 / (1 + exp(-x))",
    "log_sigmoid": "where(x < 0, x, 0) - log1p(exp(-abs(x)))",
    "tanh": "tanh(x)",
    "relu": "where(x > 0, x, 0)",
    "relu6": "where(x > 0, where(x < 6, x, 6), 0)",
    "leaky_relu": "where(x > 0, x, negative_slope * x)",
    "elu": "where(x > 0, x, alpha * expm1(x))",
    "selu": "where(x > 0, SCALE * x, SCALE_ALPHA * expm1(x))",
    "celu": "where(x > 0, x, alpha * expm1(x / alpha))",
    "gelu_tanh": "HALF * x * (1 + tanh(S2PI * (x + K * x * x * x)))",
    "silu": "x / (1 + exp(-x))",
    "swish": "x / (1 + exp(-beta * x))",
    "mish": "x * tanh(log1p(exp(x)))",
    "softplus": "where(beta * x > threshold, x, log1p(exp(beta * x)) / beta)",
    "softsign": "x / (1 + abs(x))",
    "hard_sigmoid": "where(slope * x + offset < 0, 0, where(slope * x + offset > 1, 1, "
                    "slope * x + offset))",
    "hard_swish": "x * where(x < -3, 0, where(x > 3, 1, x / 6 + HALF))",
    "hard_tanh": "where(x < min_val, min_val, where(x > max_val, max_val, x))",
    "softshrink": "where(x > lambd, x - lambd, where(x < -lambd, x + lambd, 0))",
    "hardshrink": "where(abs(x) > lambd, x, 0)",
    "tanhshrink": "x - tanh(x)",
    "threshold": "where(x > threshold, x, value)",
    "binary_step": "where(x >= 0, 1, 0)",
    "squareplus": "HALF * (x + sqrt(x * x + b))",
}
NUMEXPR_BWD = {
    "sigmoid": "g * y * (1 - y)",
    "tanh": "g * (1 - y * y)",
    "elu": "where(y > 0, g, g * (y + alpha))",
    "log_sigmoid": "g / (1 + exp(x))",
    "relu": "where(x > 0, g, 0)",
    "relu6": "where((x > 0) & (x < 6), g, 0)",
    "leaky_relu": "where(x > 0, g, negative_slope * g)",
    "selu": "where(x > 0, SCALE * g, SCALE_ALPHA * g * exp(x))",
    "celu": "where(x > 0, g, g * exp(x / alpha))",
    "gelu_tanh": "g * (HALF * (1 + tanh(S2PI * (x + K * x * x * x))) + HALF * x * "
                 "(1 - tanh(S2PI * (x + K * x * x * x)) ** 2) * S2PI * (1 + 3 * K * x * x))",
    "silu": "g / (1 + exp(-x)) * (1 + x * (1 - 1 / (1 + exp(-x))))",
    "swish": "g / (1 + exp(-beta * x)) * (1 + beta * x * (1 - 1 / (1 + exp(-beta * x))))",
    "mish": "g * (tanh(log1p(exp(x))) + x / (1 + exp(-x)) * (1 - tanh(log1p(exp(x))) ** 2))",
    "softplus": "where(beta * x > threshold, g, g / (1 + exp(-beta * x)))",
    "softsign": "g / ((1 + abs(x)) * (1 + abs(x)))",
    "hard_sigmoid": "where((slope * x + offset > 0) & (slope * x + offset < 1), g * slope, 0)",
    "hard_swish": "where(x < -3, 0, where(x <= 3, g * (x / 3 + HALF), g))",
    "hard_tanh": "where((x > min_val) & (x < max_val), g, 0)",
    "softshrink": "where(abs(x) > lambd, g, 0)",
    "hardshrink": "where(abs(x) > lambd, g, 0)",
    "tanhshrink": "g * tanh(x) * tanh(x)",
    "threshold": "where(x > threshold, g, 0)",
    "binary_step": "g * 0",
    "squareplus": "g * HALF * (1 + x / sqrt(x * x + b))",
}
NUMEXPR_CONSTS = {"HALF": 0.5, "S2PI": SQRT_2_OVER_PI, "K": GELU_K, "SCALE": SELU_SCALE,
                  "SCALE_ALPHA": SELU_SCALE * SELU_ALPHA}


class NumExprPeer(Peer):
    name = "numexpr"
    module = "numexpr"

    @property
    def threaded(self) -> bool:
        return True

    def set_threads(self, n: int) -> None:
        self.mod.set_num_threads(int(n))

    def make(self, case):
        if case.kind != "elementwise" or case.out is None:
            return None
        table = NUMEXPR_FWD if case.direction == "forward" else NUMEXPR_BWD
        expr = table.get(case.label)
        if expr is None:
            return None
        dt = case.dtype.type
        local = {k: dt(v) for k, v in {**NUMEXPR_CONSTS, **case.variant.float_params}.items()}
        local.update(x=case.x, y=case.y, g=case.g)
        names = set(self.mod.NumExpr(expr).input_names) if hasattr(self.mod, "NumExpr") else None
        if names is not None:
            local = {k: v for k, v in local.items() if k in names}
        ev, o = self.mod.evaluate, case.out
        return lambda: ev(expr, local_dict=local, out=o)


# ------------------------------------------------------------------ onnxruntime

def _onnx_node(label, p):
    """(op_type, attributes, extra constant inputs) of a one-node model, or
    None when ONNX has no single operator for the function."""
    table = {
        "sigmoid": ("Sigmoid", {}, ()),
        "tanh": ("Tanh", {}, ()),
        "relu": ("Relu", {}, ()),
        "relu6": ("Clip", {}, (0.0, 6.0)),
        "leaky_relu": ("LeakyRelu", {"alpha": p.get("negative_slope")}, ()),
        "elu": ("Elu", {"alpha": p.get("alpha")}, ()),
        "selu": ("Selu", {"alpha": SELU_ALPHA, "gamma": SELU_SCALE}, ()),
        "celu": ("Celu", {"alpha": p.get("alpha")}, ()),
        "gelu": ("Gelu", {"approximate": "none"}, ()),
        "gelu_tanh": ("Gelu", {"approximate": "tanh"}, ()),
        "silu": ("Swish", {"alpha": 1.0}, ()),
        "swish": ("Swish", {"alpha": p.get("beta")}, ()),
        "mish": ("Mish", {}, ()),
        "softsign": ("Softsign", {}, ()),
        "hard_sigmoid": ("HardSigmoid", {"alpha": p.get("slope"), "beta": p.get("offset")}, ()),
        "hard_swish": ("HardSwish", {}, ()),
        "hard_tanh": ("Clip", {}, (p.get("min_val"), p.get("max_val"))),
        "softshrink": ("Shrink", {"bias": p.get("lambd"), "lambd": p.get("lambd")}, ()),
        "hardshrink": ("Shrink", {"bias": 0.0, "lambd": p.get("lambd")}, ()),
    }
    if label == "softplus" and p.get("beta") == 1.0:
        return ("Softplus", {}, ())  # no threshold: same values in float32
    if label == "threshold" and p.get("value") == 0.0:
        return ("ThresholdedRelu", {"alpha": p.get("threshold")}, ())
    return table.get(label)


ONNX_AXIS = {"softmax": "Softmax", "log_softmax": "LogSoftmax"}


class OnnxRuntimePeer(Peer):
    """onnxruntime, CPU provider: one-node models, float32, forward only."""
    name = "onnxruntime"
    module = "onnxruntime"
    OPSET = 24

    def __init__(self):
        super().__init__()
        if self.available:
            try:
                import onnx  # noqa: F401
            except ImportError as e:
                self.available = False
                self.reason = f"onnx (to build the models) is missing: {e}"
        self.threads = None
        self._sessions = {}

    @property
    def threaded(self) -> bool:
        return True

    def set_threads(self, n: int) -> None:
        self.threads = int(n)

    def _session(self, key, op, attrs, consts, ndim):
        skey = (key, op, ndim, self.threads)
        if skey in self._sessions:
            return self._sessions[skey]
        import onnx
        from onnx import TensorProto, helper
        ort = self.mod
        shape = [None] * ndim
        inputs = ["x"]
        inits = []
        for i, c in enumerate(consts):
            nm = f"c{i}"
            inits.append(helper.make_tensor(nm, TensorProto.FLOAT, [], [float(c)]))
            inputs.append(nm)
        node = helper.make_node(op, inputs, ["y"], **{k: v for k, v in attrs.items()})
        graph = helper.make_graph(
            [node], key, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.OPSET)])
        model.ir_version = min(model.ir_version, 10)
        so = ort.SessionOptions()
        if self.threads:
            so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        # no spin-waiting between calls: onnxruntime's spinning workers would
        # otherwise keep the cores busy while fastact is timed beside it in
        # the same process (and slow it down by 1.5-3x at 2 threads)
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        sess = ort.InferenceSession(model.SerializeToString(), so,
                                    providers=["CPUExecutionProvider"])
        self._sessions[skey] = sess
        del onnx
        return sess

    def make(self, case):
        if case.direction != "forward" or case.dtype != np.float32 or case.out is None:
            return None
        if case.kind == "axis":
            op = ONNX_AXIS.get(case.name)
            if op is None:
                return None
            spec = (op, {"axis": -1}, ())
        elif case.kind == "elementwise":
            spec = _onnx_node(case.label, case.p)
        else:
            spec = None
        if spec is None:
            return None
        op, attrs, consts = spec
        try:
            sess = self._session(case.label, op, attrs, consts, case.x.ndim)
        except Exception:  # noqa: BLE001 - an operator this build lacks: absent
            return None
        x, o = case.x, case.out
        b = sess.io_binding()
        b.bind_cpu_input("x", x)
        b.bind_output("y", "cpu", 0, np.float32, list(o.shape), o.ctypes.data)
        run = sess.run_with_iobinding
        case.cache.setdefault("ort_bindings", []).append(b)  # keep alive

        def call():
            run(b)
            return o
        return call


PEER_CLASSES = (NumPyPeer, TorchPeer, SciPyPeer, NumExprPeer, OnnxRuntimePeer)
PEER_NAMES = tuple(c.name for c in PEER_CLASSES)


def all_peers(names=None) -> list:
    """One instance of every peer (available or not), optionally only those
    named."""
    return [c() for c in PEER_CLASSES if names is None or c.name in names]
