"""fastact.torch: the custom ops (forward against torch within the spec's
budgets, gradcheck, backward against torch autograd, torch.compile), the
tensor checks, and patch(model)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ft = pytest.importorskip("fastact.torch")

import fastact as fa  # noqa: E402
from fastact import _reference as R  # noqa: E402
from fastact import _spec  # noqa: E402

from conftest import CASE_PARAMS, ELEMENTWISE, ulp_errors, ulp_of as R_ulp  # noqa: E402

nn = torch.nn
F = torch.nn.functional
TDT = {np.float32: torch.float32, np.float64: torch.float64}
AXIS = list(ft.AXIS_FUNCTIONS)
AXIS_PARAMS = [pytest.param(n, ap, id=f"{n}-{ap}") for n in AXIS
               for ap in (("none", "tanh") if n == "geglu" else ("none",))]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)   # every test sees the same random tensors


def _away_from_kinks(name, params, x, gap=1e-3):
    """x moved off the points where f or f' is not smooth (gradcheck's
    finite differences straddle them otherwise)."""
    for k in R.kinks(name, R.cast_params(name, params, np.float64)):
        near = np.abs(x - k) < gap
        x = np.where(near, k + 2 * gap, x)
    return x


def _torch_axis(name, axis, approximate="none"):
    def halves(t):
        return torch.chunk(t, 2, axis)
    return {
        "softmax": lambda t: F.softmax(t, axis),
        "log_softmax": lambda t: F.log_softmax(t, axis),
        "softmin": lambda t: F.softmin(t, axis),
        "logsumexp": lambda t: torch.logsumexp(t, axis),
        "glu": lambda t: F.glu(t, axis),
        "swiglu": lambda t: (lambda a, b: F.silu(a) * b)(*halves(t)),
        "geglu": lambda t: (lambda a, b: F.gelu(a, approximate=approximate) * b)(*halves(t)),
    }[name]


def _points(name, params):
    x = np.concatenate([np.linspace(-10, 10, 2001), [0.0, -0.0, 3.0, -3.0, 6.0, 1e-8, -1e-8]])
    pc = R.cast_params(name, params, np.float64)
    for k in R.kinks(name, pc):
        x = np.concatenate([x, [k, np.nextafter(k, -np.inf), np.nextafter(k, np.inf)]])
    return x


# ------------------------------------------------------------ the op set

def test_every_function_is_an_op():
    names = [s.name for s in ELEMENTWISE] + AXIS + ["prelu"]
    for n in names:
        assert callable(getattr(ft, n)), n
        assert hasattr(torch.ops.fastact, n) and hasattr(torch.ops.fastact, n + "_backward"), n
    assert sorted(ft.__all__) == sorted(set(ft.__all__))


def test_import_fastact_does_not_import_torch():
    code = "import sys, fastact; assert 'torch' not in sys.modules, 'torch imported'"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_signatures_follow_fastact():
    import inspect
    assert str(inspect.signature(ft.gelu)) == "(x, *, approximate='none')"
    assert str(inspect.signature(ft.threshold)) == "(x, *, threshold, value)"
    assert str(inspect.signature(ft.geglu)) == "(x, axis=-1, approximate='none')"
    assert ft.softplus.__name__ == "softplus" and ft.softplus.__module__ == "fastact.torch"


# ------------------------------------------------- forward against torch

@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_forward(name, params, dtype):
    """Bitwise fastact's NumPy result (whose accuracy test_accuracy.py checks
    against mpmath), and within the spec's budget of torch's float64 result
    at the same (dtype-rounded) parameters wherever that result is itself
    accurate: torch's float64 loses digits in places (gelu's lower tail
    through 1 + erf, x - tanh(x) near 0, log1p(exp(beta x)) / beta), so the
    points where it is more than 4 ulp from the float64 reference are left
    out (at most half of them: gelu's tail is long).  float64 adds those 4
    ulp, and half an ulp per unit of the argument of exp (beta x, x / alpha),
    which torch rounds (as in test_gradients.test_vs_torch)."""
    x = _points(name, params).astype(dtype)
    t = torch.from_numpy(x)
    y = getattr(ft, name)(t, **params)
    assert y.dtype == TDT[dtype] and y.shape == t.shape and y.is_contiguous()
    assert np.array_equal(y.numpy(), getattr(fa, name)(x, **params), equal_nan=True)
    ref_fn = R.TORCH.get(name)
    if ref_fn is None:
        pytest.skip("torch has no such function")
    pc = R.cast_params(name, params, dtype)
    ref = ref_fn(torch, F, torch.from_numpy(x.astype(np.float64)), pc)
    if ref is None:
        pytest.skip("torch has no equivalent for these parameters")
    ref = ref.numpy()
    npref = R.np_forward(name, x.astype(np.float64), pc, np.float64)
    torch_ok = ulp_errors(ref, npref, np.zeros_like(ref), np.float64) <= 4
    assert torch_ok.mean() >= 0.5, (name, float(torch_ok.mean()))
    budget = max(_spec.BY_NAME[name].ulp[0 if dtype == np.float32 else 1], 0.5)
    if dtype == np.float32:
        budget += 0.01
    else:
        c = max(abs(pc.get("beta", 1.0)), 1 / abs(pc.get("alpha", 1.0)))
        budget = budget + 4.0 + (0.5 * c * np.abs(x) if c != 1.0 else 0.0)
        if name == "gelu" and params["approximate"] == "none":
            budget = budget + x.astype(np.float64) ** 2   # erf(x / sqrt(2)): x / sqrt(2) rounded
    base = _spec.BY_NAME[name].base.name
    if base in ("hard_sigmoid", "hard_swish"):
        # the spec's form rounds slope * x before adding offset (torch: (x + 3) / 6)
        prod = np.abs(pc.get("slope", 1 / 6) * x.astype(np.float64))
        extra = 0.5 * R_ulp(prod, dtype) * (np.abs(x) if base == "hard_swish" else 1.0)
        budget = budget + extra / R_ulp(np.abs(ref), dtype)
    err = np.where(torch_ok, ulp_errors(y.numpy(), ref, np.zeros_like(ref), dtype), 0.0)
    assert np.all(err <= budget), (name, float(err.max()), x[np.argmax(err)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,approximate", AXIS_PARAMS)
def test_forward_axis(name, approximate, dtype):
    rng = np.random.default_rng(0)
    kw = {"approximate": approximate} if name == "geglu" else {}
    for shape, axis in (((5, 8), -1), ((6, 4, 10), 1), ((8, 3), 0)):
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        y = getattr(ft, name)(torch.from_numpy(x), axis, **kw)
        assert np.array_equal(y.numpy(), getattr(fa, name)(x, axis, **kw))
        ref = _torch_axis(name, axis, approximate)(torch.from_numpy(x.astype(np.float64)))
        budget = max(_spec.BY_NAME[name].ulp[0 if dtype == np.float32 else 1], 0.5)
        budget += 0.01 if dtype == np.float32 else 2.0
        # an absolute floor of a few eps of the row's scale (the terms of a
        # softmax row, the products of the GLU family)
        floor = 4 * np.finfo(dtype).eps * max(1.0, float(np.abs(ref.numpy()).max()))
        err = ulp_errors(y.numpy(), ref.numpy(), np.zeros(ref.shape), dtype)
        err = np.where(np.abs(y.numpy() - ref.numpy()) <= floor, 0.0, err)
        assert err.max() <= budget, (name, shape, axis, float(err.max()))


def test_prelu_forward_and_backward():
    rng = np.random.default_rng(1)
    for dt in (torch.float32, torch.float64):
        x = torch.tensor(rng.standard_normal((4, 3, 5)), dtype=dt, requires_grad=True)
        w = torch.tensor([0.1, -0.2, 0.3], dtype=dt, requires_grad=True)
        g = torch.tensor(rng.standard_normal((4, 3, 5)), dtype=dt)
        y = ft.prelu(x, w)
        y.backward(g)
        x2 = x.detach().clone().requires_grad_()
        w2 = w.detach().clone().requires_grad_()
        ty = F.prelu(x2, w2)
        ty.backward(g)
        assert torch.equal(y, ty) and torch.equal(x.grad, x2.grad)
        torch.testing.assert_close(w.grad, w2.grad, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------- gradients

@pytest.mark.parametrize("name,params", CASE_PARAMS)
def test_gradcheck_elementwise(name, params):
    rng = np.random.default_rng(2)
    x = _away_from_kinks(name, params, rng.uniform(-4, 4, (3, 7)))
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    f = getattr(ft, name)
    assert torch.autograd.gradcheck(lambda u: f(u, **params), (t,))


@pytest.mark.parametrize("name,approximate", AXIS_PARAMS)
@pytest.mark.parametrize("axis", [-1, 0])
def test_gradcheck_axis(name, approximate, axis):
    rng = np.random.default_rng(3)
    t = torch.tensor(rng.standard_normal((4, 6)), requires_grad=True)
    kw = {"approximate": approximate} if name == "geglu" else {}
    f = getattr(ft, name)
    assert torch.autograd.gradcheck(lambda u: f(u, axis, **kw), (t,))


def test_gradcheck_prelu():
    rng = np.random.default_rng(4)
    x = torch.tensor(_away_from_kinks("relu", {}, rng.standard_normal((3, 4, 2))),
                     requires_grad=True)
    w = torch.tensor([0.25, -0.5, 0.1, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ft.prelu, (x, w))
    w1 = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ft.prelu, (x, w1))


TORCH_CASES = [c for c in CASE_PARAMS if c.values[0] in R.TORCH]


@pytest.mark.parametrize("name,params", TORCH_CASES)
def test_backward_vs_torch_float32(name, params):
    x = _points(name, params).astype(np.float32)
    g = np.random.default_rng(5).uniform(-2, 2, x.shape).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    ty = R.TORCH[name](torch, F, tx, params)
    if ty is None:
        pytest.skip("torch has no equivalent for these parameters")
    (tg,) = torch.autograd.grad(ty, tx, torch.from_numpy(g))
    ux = torch.tensor(x, requires_grad=True)
    uy = getattr(ft, name)(ux, **params)
    (ug,) = torch.autograd.grad(uy, ux, torch.from_numpy(g))
    assert ug.dtype == torch.float32
    # the same as fastact's NumPy backward (from y where the spec says so)
    spec = _spec.BY_NAME[name]
    if spec.y_form_ok(params):
        ref = getattr(fa, name + "_backward")(g, y=uy.detach().numpy(), **params)
    else:
        ref = getattr(fa, name + "_backward")(g, x, **params)
    assert np.array_equal(ug.numpy(), ref)
    eps = np.finfo(np.float32).eps
    c = max(1.0, abs(params.get("beta", 1.0)), 1 / abs(params.get("alpha", 1.0)))
    # both round the argument of exp (beta x, x / alpha): a relative error
    # growing with it (as in test_gradients.test_vs_torch)
    tol = 1e-6 * c + 64 * eps * (1 + c * np.abs(x)) * np.abs(tg.numpy())
    bad = np.abs(ug.numpy() - tg.numpy()) > tol
    # where they differ by more, fastact must be the closer of the two to
    # torch's float64 gradient (torch's float32 tanh-form gelu gradient is
    # 0 for x < -5, where it is about -1e-6)
    x64 = torch.tensor(x.astype(np.float64), requires_grad=True)
    (tg64,) = torch.autograd.grad(R.TORCH[name](torch, F, x64, params), x64,
                                  torch.from_numpy(g.astype(np.float64)))
    tg64 = tg64.numpy()
    worse = bad & (np.abs(ug.numpy() - tg64) > np.abs(tg.numpy() - tg64) + tol)
    assert not worse.any(), (name, x[worse][:5], ug.numpy()[worse][:5], tg.numpy()[worse][:5])


@pytest.mark.parametrize("name,approximate", AXIS_PARAMS)
def test_backward_axis_vs_torch_float32(name, approximate):
    rng = np.random.default_rng(6)
    kw = {"approximate": approximate} if name == "geglu" else {}
    for shape, axis in (((5, 8), -1), ((6, 4, 10), 1)):
        x = (rng.standard_normal(shape) * 3).astype(np.float32)
        tx = torch.tensor(x, requires_grad=True)
        ty = _torch_axis(name, axis, approximate)(tx)
        g = torch.tensor(rng.standard_normal(tuple(ty.shape)), dtype=torch.float32)
        (tg,) = torch.autograd.grad(ty, tx, g)
        ux = torch.tensor(x, requires_grad=True)
        (ug,) = torch.autograd.grad(getattr(ft, name)(ux, axis, **kw), ux, g)
        torch.testing.assert_close(ug, tg, rtol=2e-5, atol=2e-5)


def test_requires_grad_noncontiguous_and_grad_mode():
    x = torch.randn(6, 8, generator=torch.Generator().manual_seed(7), requires_grad=True)
    y = ft.gelu(x.t())                            # a transposed (non-contiguous) view
    assert y.requires_grad and y.is_contiguous() and y.shape == (8, 6)
    assert torch.equal(y, torch.from_numpy(fa.gelu(x.detach().numpy().T)))
    # (torch's float32 gelu: 1 + erf(x / sqrt(2)) loses bits for x < -1)
    torch.testing.assert_close(y, F.gelu(x.t()), rtol=1e-6, atol=1e-6)
    y.sum().backward()
    x2 = x.detach().clone().requires_grad_()
    F.gelu(x2.t()).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        assert not ft.sigmoid(x).requires_grad
    with torch.inference_mode():
        z = ft.silu(torch.randn(5))
        assert z.shape == (5,)
    # a grad that arrives expanded (stride 0), through a from-output op
    s = ft.sigmoid(x)
    s.sum().backward()
    e = torch.zeros(0)
    assert ft.relu(e).shape == (0,)
    assert ft.tanh(torch.tensor(0.5, dtype=torch.float64)).shape == ()


def test_second_derivative_is_a_clear_error():
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(ft.gelu(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="gelu_backward"):
        torch.autograd.grad(g.sum(), x)


def test_elu_negative_alpha_backward_from_x():
    x = torch.linspace(-3.1, 3, 13, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u: ft.elu(u, alpha=-0.5), (x,))


def test_axis_0d_and_errors():
    assert ft.softmax(torch.tensor(3.0)).item() == 1.0
    assert ft.logsumexp(torch.tensor(3.0)).item() == 3.0
    with pytest.raises(ValueError, match="even"):
        ft.glu(torch.randn(3, 5))
    with pytest.raises(np.exceptions.AxisError):
        ft.softmax(torch.randn(3, 5), 2)
    with pytest.raises(ValueError, match="approximate"):
        ft.geglu(torch.randn(2, 4), approximate="tan")


# ------------------------------------------------------------ bad input

@pytest.mark.parametrize("device", ["meta"])
def test_non_cpu_device(device):
    t = torch.empty(3, 4, device=device)
    for f in (ft.gelu, ft.softmax, lambda u: ft.prelu(u, torch.ones(1, device=device))):
        with pytest.raises(ValueError, match="CPU only"):
            f(t)
    # the op itself has a fake (meta) kernel: shape propagation works
    assert torch.ops.fastact.glu(t, 1).shape == (3, 2)


def test_cuda_tensor_message():
    # no CUDA here: the check reads t.device, so a stand-in with a cuda device
    class FakeCuda(torch.Tensor):
        @property
        def device(self):
            return torch.device("cuda", 0)
    t = torch.randn(3).as_subclass(FakeCuda)
    with pytest.raises(ValueError, match=r"cuda:0.*CPU only.*\.cpu\(\)"):
        ft.gelu(t)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32, torch.bool,
                                   torch.complex64])
def test_bad_dtype(dtype):
    with pytest.raises(TypeError, match=str(dtype)):
        ft.sigmoid(torch.zeros(3, dtype=dtype))


def test_bad_arguments():
    x = torch.randn(3)
    with pytest.raises(TypeError, match="torch.Tensor"):
        ft.gelu(np.ones(3))
    with pytest.raises(TypeError, match="aproximate"):
        ft.gelu(x, aproximate="tanh")
    with pytest.raises(TypeError, match="positional"):
        ft.gelu(x, "tanh")
    with pytest.raises(TypeError, match="value"):
        ft.threshold(x, threshold=1.0)
    with pytest.raises(ValueError, match="approximate"):
        ft.gelu(x, approximate="tan")
    with pytest.raises(ValueError, match="beta"):
        ft.softplus(x, beta=0.0)
    with pytest.raises(TypeError, match="dtype"):
        ft.prelu(x, torch.ones(1, dtype=torch.float64))


# -------------------------------------------------------- torch.compile

def test_torch_compile_fullgraph():
    """One compile: three ops (softmax with a from-output backward, through
    a patched module) in a function with a backward, compiled with fullgraph=True (a graph break
    would raise), the results equal to eager."""
    w = torch.tensor([0.2, -0.1, 0.3, 0.05])
    softmax = ft.patch(nn.Softmax(dim=-1))        # a patched module inside the graph

    def f(x):
        h = ft.gelu(x * 1.5, approximate="tanh")
        h = ft.prelu(h, w, axis=1)
        return softmax(h)

    cf = torch.compile(f, fullgraph=True)
    x = torch.randn(8, 4, requires_grad=True)
    g = torch.randn(8, 4)
    y = cf(x)
    (gx,) = torch.autograd.grad(y, x, g)
    x2 = x.detach().clone().requires_grad_()
    y2 = f(x2)
    (gx2,) = torch.autograd.grad(y2, x2, g)
    torch.testing.assert_close(y, y2, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(gx, gx2, rtol=1e-5, atol=1e-6)


def test_opcheck():
    """torch's own consistency check of the schema, the fake kernel and the
    autograd registration, for a few representative ops."""
    opcheck = torch.library.opcheck
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    opcheck(torch.ops.fastact.gelu.default, (x, "tanh"))
    opcheck(torch.ops.fastact.sigmoid.default, (x,))
    opcheck(torch.ops.fastact.logsumexp.default, (x, 0))
    opcheck(torch.ops.fastact.geglu.default, (x, -1, "none"))
    opcheck(torch.ops.fastact.prelu.default,
            (x, torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], dtype=torch.float64,
                             requires_grad=True), 1))


# ---------------------------------------------------------------- patch

# one torch module per supported class, with non-default parameters where
# the class takes any (and an input range that exercises them)
PATCH_MODULES = [
    nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(), nn.Mish(), nn.Softplus(),
    nn.Softplus(beta=2, threshold=3), nn.ELU(), nn.ELU(alpha=0.5), nn.CELU(alpha=2.0),
    nn.SELU(), nn.ReLU(), nn.ReLU(inplace=True), nn.ReLU6(), nn.LeakyReLU(0.2), nn.Sigmoid(),
    nn.Tanh(), nn.Hardsigmoid(), nn.Hardswish(), nn.Hardtanh(-2.0, 3.0), nn.Softsign(),
    nn.Tanhshrink(), nn.Softshrink(0.7), nn.Hardshrink(1.2), nn.LogSigmoid(),
    nn.Threshold(0.3, -2.0), nn.Softmax(dim=-1), nn.Softmax(dim=0), nn.LogSoftmax(dim=1),
    nn.Softmin(dim=-1), nn.GLU(), nn.GLU(dim=0), nn.PReLU(), nn.PReLU(6, init=0.1),
]


@pytest.mark.parametrize("module", PATCH_MODULES, ids=repr)
def test_patch_each_module(module):
    torch.manual_seed(0)
    x = torch.randn(4, 6) * 4
    with torch.no_grad():
        if isinstance(module, nn.PReLU) and module.weight.numel() > 1:
            module.weight.uniform_(-0.5, 0.5)
    import copy
    ref = copy.deepcopy(module)
    new = ft.patch(module)
    assert isinstance(new, (ft.Activation, ft.PReLU)), new
    assert new.replaced == type(module).__name__
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    y1, y2 = new(x1), ref(x2 * 1.0)
    # (torch's float32 gelu is off by up to 1e-7 absolute in its tail)
    torch.testing.assert_close(y1, y2, rtol=1e-6, atol=1e-6)
    g = torch.randn_like(y1)
    y1.backward(g)
    y2.backward(g)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=2e-6, atol=1e-6)
    if isinstance(new, ft.PReLU):
        assert new.weight is module.weight
        torch.testing.assert_close(new.weight.grad, ref.weight.grad, rtol=1e-5, atol=1e-6)


def test_patch_leaves_others_alone():
    class MyGELU(nn.GELU):
        def forward(self, x):
            return super().forward(x) * 2

    model = nn.Sequential(nn.Linear(3, 3), MyGELU(), nn.Softplus(beta=-1.0), nn.Dropout(0.1),
                          nn.Hardshrink(-1.0), nn.CELU(alpha=0.0))
    ft.patch(model)
    assert ft.patched_modules(model) == {}
    assert type(model[1]) is MyGELU and type(model[2]) is nn.Softplus


def test_patch_mlp():
    torch.manual_seed(0)
    act = nn.GELU()                                   # one module used twice
    model = nn.Sequential(nn.Linear(32, 64), act, nn.Linear(64, 64), act,
                          nn.Linear(64, 64), nn.GELU(approximate="tanh"), nn.Linear(64, 10),
                          nn.Softmax(dim=-1))
    import copy
    ref = copy.deepcopy(model)
    assert ft.patch(model) is model
    assert ft.patched_modules(model) == {"1": "GELU", "3": "GELU", "5": "GELU", "7": "Softmax"}
    assert model[1] is model[3]                       # sharing kept
    assert ft.patched_modules(ft.patch(model)) == ft.patched_modules(model)   # idempotent
    x = torch.randn(16, 32)
    torch.testing.assert_close(model(x), ref(x), rtol=1e-6, atol=1e-7)
    # training through the patched model: same gradients
    model(x).sum().backward()
    ref(x).sum().backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)
    assert "gelu" in repr(model) and "replaces GELU" in repr(model)


@pytest.mark.parametrize("batch_first", [False, True])
def test_patch_transformer_encoder_layer(batch_first):
    """torch keeps F.gelu (a function) in `activation`, and takes a fused
    inference path (never calling it) when batch_first and in eval mode:
    patch replaces the function and turns that path off, so fastact's gelu
    is what runs."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, dropout=0.0,
                                       activation="gelu", batch_first=batch_first).eval()
    assert layer.activation is F.gelu and layer.activation_relu_or_gelu == 2
    import copy
    ref = copy.deepcopy(layer)
    ft.patch(layer)
    assert isinstance(layer.activation, ft.Activation) and layer.activation_relu_or_gelu == 0
    assert ft.patched_modules(layer) == {"activation": "torch.nn.functional.gelu"}
    calls = []
    layer.activation.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(10, 3, 32)
    with torch.no_grad():
        y, r = layer(x), ref(x)
    assert calls, "the patched activation did not run"
    torch.testing.assert_close(y, r, rtol=1e-5, atol=1e-5)
    # training mode and a module activation (nn.GELU) too
    layer2 = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation=nn.GELU(),
                                        batch_first=batch_first)
    ref2 = copy.deepcopy(layer2)
    ft.patch(layer2)
    assert ft.patched_modules(layer2) == {"activation": "GELU"}
    assert layer2.activation_relu_or_gelu == 0
    torch.testing.assert_close(layer2(x), ref2(x), rtol=1e-5, atol=1e-5)


def test_softmax_implicit_dim_follows_torch():
    for shape in ((5,), (3, 4), (2, 3, 4), (2, 3, 4, 5)):
        x = torch.randn(shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = nn.Softmax()(x)
        with pytest.warns(UserWarning, match="Implicit dimension"):
            y = ft.patch(nn.Softmax())(x)
        torch.testing.assert_close(y, ref, rtol=1e-6, atol=1e-7)


def test_patch_bad_input():
    with pytest.raises(TypeError, match="nn.Module"):
        ft.patch(lambda x: x)


def test_activation_module_directly():
    m = ft.Activation("softplus", beta=2.0)
    x = torch.randn(5)
    torch.testing.assert_close(m(x), F.softplus(x, beta=2.0), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="unknown"):
        ft.Activation("nope")
    with pytest.raises(TypeError, match="bta"):
        ft.Activation("softplus", bta=2.0)
    with pytest.raises(TypeError, match="value"):
        ft.Activation("threshold", threshold=1.0)


def test_patched_model_state_dict_and_pickle(tmp_path):
    import copy
    model = nn.Sequential(nn.Linear(4, 6), nn.PReLU(6), nn.Linear(6, 3), nn.Softplus(beta=2))
    ref = copy.deepcopy(model)
    keys = set(model.state_dict())
    ft.patch(model)
    assert set(model.state_dict()) == keys
    model.load_state_dict(ref.state_dict())
    torch.save(model, tmp_path / "m.pt")
    again = torch.load(tmp_path / "m.pt", weights_only=False)
    x = torch.randn(5, 4)
    torch.testing.assert_close(again(x), ref(x), rtol=1e-6, atol=1e-6)
    assert ft.patched_modules(again) == {"1": "PReLU", "3": "Softplus"}


def test_numpy_scalar_params():
    x = torch.randn(4, 6)
    torch.testing.assert_close(ft.leaky_relu(x, negative_slope=np.float32(0.2)),
                               F.leaky_relu(x, 0.2))
    torch.testing.assert_close(ft.softmax(x, np.int64(0)), F.softmax(x, 0))
    with pytest.raises(TypeError, match="axis"):
        ft.softmax(x, 1.0)
    with pytest.raises(TypeError, match="alpha"):
        ft.elu(x, alpha="1")


# ----------------------------------------------------------------- types

def test_stub_matches_signatures():
    """fastact/torch.pyi (hand-written) has every public name, and each
    function's parameters (names, kinds, which have defaults) are the
    module's."""
    import ast
    import inspect
    from pathlib import Path
    tree = ast.parse(Path(ft.__file__).with_suffix(".pyi").read_text())
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names = defs.keys() | {t.id for n in tree.body if isinstance(n, ast.AnnAssign)
                           for t in [n.target]}
    assert set(ft.__all__) <= names, set(ft.__all__) - names
    for name in ft.__all__:
        if not isinstance(defs.get(name), ast.FunctionDef):
            continue
        a = defs[name].args
        stub = [(p.arg, "pos", d is not None) for p, d in
                zip(a.args, [None] * (len(a.args) - len(a.defaults)) + list(a.defaults))]
        stub += [(p.arg, "kw", d is not None) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
        real = [(p.name, "kw" if p.kind == p.KEYWORD_ONLY else "pos",
                 p.default is not p.empty)
                for p in inspect.signature(getattr(ft, name)).parameters.values()]
        assert stub == real, name


def test_mypy_strict_torch_script(tmp_path):
    from test_types import _mypy
    good = """
    import torch
    import fastact.torch as ft

    x = torch.randn(4, 6, requires_grad=True)
    y: torch.Tensor = ft.gelu(x, approximate="tanh")
    s = ft.softmax(y, -1) + ft.geglu(torch.ones(4, 12), 1, "none").sum()
    t = ft.threshold(x, threshold=0.5, value=0.0) + ft.prelu(x, torch.ones(1))
    m = ft.patch(torch.nn.Sequential(torch.nn.Linear(6, 6), torch.nn.GELU()))
    names: dict[str, str | None] = ft.patched_modules(m)
    """
    bad = ['ft.gelu(x, aproximate="tanh")', 'ft.gelu(x, approximate="tan")',
           "ft.threshold(x, value=1.0)", "ft.sigmoidd(x)"]
    import textwrap
    code = textwrap.dedent(good) + "".join(f"{b}  # bad\n" for b in bad)
    r = _mypy(code, tmp_path)
    n_good = len(textwrap.dedent(good).splitlines())
    lines = {int(ln.split(":")[1]) for ln in r.stdout.splitlines() if ": error:" in ln}
    assert all(n > n_good for n in lines) and len(lines) == len(bad), r.stdout
