"""The one code generator of fastact: everything rendered from the spec.

setup.py calls :func:`generate` before the build; nothing here is needed at
run time.  It renders

* ``include/fa_list.h``: the C X-macro list of the elementwise kernels;
* ``_elementwise.pyx``: the Cython entry points (from ``_elementwise.pyx.tp``);
* ``_kernels_<isa>.pyx`` and the family C files of each instruction-set
  level (``_axis_kernels_<isa>.c``, ``_prelu_kernels_<isa>.c``);
* ``__init__.pyi``: the type stubs of the public API (the elementwise
  functions from the spec, the along-axis and PReLU functions from their
  Python signatures, read with ``ast``; each parameter typed by its name).

This module must stay importable without the compiled extension and
without importing fastact (setup.py loads it and ``_spec.py`` by path).
Generated files carry a "do not edit" banner and are not committed.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parent
INC = PKG / "include"
BANNER = "# GENERATED from {src} by fastact/_codegen.py -- do not edit\n"

# the C files of each family, compiled per instruction-set level into the
# _kernels_<isa> module, which exports the family's table
FAMILY_C = {
    "axis": '#include "fa_axis.h"\n#include "fa_axis_export.h"\n',
    "prelu": '#include "fa_prelu.h"\n',
}

def load_spec():
    name = "_fastact_spec"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PKG / "_spec.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


# ------------------------------------------------------------------ C and Cython

def render_kernel_list(spec) -> str:
    """C X-macro list of the kernels (include/fa_list.h): X(name, has_y)."""
    lines = ["/* generated from src/fastact/_spec.py by fastact/_codegen.py -- do not edit */",
             "#define FA_KERNELS(X) \\"]
    lines += [f"    X({k}, {int(spec.KERNEL_HAS_Y[k])}) \\"
              for k in spec.KERNELS]
    lines.append("")
    return "\n".join(lines) + "\n"


def render_axis_list(spec) -> str:
    """include/fa_axis_list.h: X-macro list of the along-axis kernels."""
    return ("/* generated from src/fastact/_spec.py (AXIS_OPS) by fastact/_codegen.py -- do "
            "not edit */\n#define FA_AX_OPS(X) \\\n"
            + "".join(f"    X({op}) \\\n" for op in spec.AXIS_OPS) + "\n")


def render_cpu_header(spec) -> str:
    """include/fa_cpu.h: fa_cpu_supports(level), level the index in
    ISA_LEVELS (the x86-64 levels need GCC/clang's CPU feature builtins)."""
    L = ["/* GENERATED from src/fastact/_spec.py (ISA_LEVELS) by fastact/_codegen.py -- do not",
         " * edit.  CPU features for the kernel dispatch. */",
         "#ifndef FASTACT_CPU_H", "#define FASTACT_CPU_H", "",
         "static inline int fa_cpu_supports(int level)", "{",
         "#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))",
         "    __builtin_cpu_init();"]
    for i, lv in enumerate(spec.ISA_LEVELS):
        test = " && ".join(f'__builtin_cpu_supports("{f}")' for f in lv.features) or "1"
        L.append(f"    if (level == {i}) return {test};   /* {lv.name} */")
    L += ["    return 0;", "#else", "    return level == 0;", "#endif", "}", "", "#endif", ""]
    return "\n".join(L)


def isa_names(spec, x86_64: bool) -> list:
    return [lv.name for lv in spec.ISA_LEVELS if x86_64 or not lv.x86_64]


def isa_flags(spec) -> dict:
    return {lv.name: list(lv.flags) for lv in spec.ISA_LEVELS}


def render_elementwise(spec) -> str:
    from Cython.Tempita import sub
    tp = (PKG / "_elementwise.pyx.tp").read_text()
    docs = {}
    for s in spec.SPECS:
        if s.kind == "elementwise":
            docs[s.name] = render_doc(s, backward=False)
            docs[s.name + "_backward"] = render_doc(s, backward=True)
    return BANNER.format(src="_elementwise.pyx.tp") + sub(
        tp, specs=spec.SPECS, kernels=spec.KERNELS, kernel_cost=spec.KERNEL_COST,
        kernel_has_y=spec.KERNEL_HAS_Y, kernel_stream=spec.KERNEL_STREAM,
        grains=spec.GRAINS, docs=docs)


# ------------------------------------------------------------------ docstrings

_X_DOC = ("    Input. float32 stays float32 and float64 stays float64; float16 and\n"
          "    bfloat16 (ml_dtypes) are computed in float32 inside the loop and\n"
          "    returned in their own dtype (rounded to nearest even); bool and\n"
          "    integers are computed as float64. Any shape and memory layout.")
# the fused pre-activation of every elementwise function (README "Fused
# pre-activation"): keyword arguments, their docs, forward and backward
FUSED_KW = [("scale", "None"), ("bias", "None")]
_FUSED_DOC = (
    "scale : array_like, optional\n"
    "    Multiplies x first: the result is {name}(x * scale + bias) (x * scale\n"
    "    without bias), in one pass over memory. Broadcasts against the\n"
    "    trailing axes of x without growing it (a scalar, one value per\n"
    "    feature, any shape that broadcasts to x.shape); converted to the\n"
    "    computation dtype. The product and the sum are rounded apart (no\n"
    "    FMA): bitwise {name}(x * scale + bias) with all three in that dtype.\n"
    "bias : array_like, optional\n"
    "    Added after scale (x + bias without scale); as scale.")
_FUSED_BWD_DOC = (
    "scale : array_like, optional\n"
    "    The forward's: the result is the gradient with respect to x of\n"
    "    {name}(x * scale + bias), grad_output * {name}'(x * scale + bias) *\n"
    "    scale, in one pass.{ynote}\n"
    "bias : array_like, optional\n"
    "    The forward's. Without scale the result is also the gradient with\n"
    "    respect to the pre-activation, so the bias gradient is\n"
    "    `{name}_backward(g, x, bias=b).sum(axis=<the axes b broadcasts\n"
    "    over>)`; with scale, see README \"Fused pre-activation\".")
_OUT_DOC = ("    Where to write the result: the result's shape and dtype, writeable;\n"
            "    it may be the input itself (in place).")


def _param_doc(p) -> str:
    if p.type == "choice":
        head = (f"{p.name} : {{{', '.join(repr(c) for c in p.choices)}}}, "
                f"default {p.default!r}")
    elif p.required:
        head = f"{p.name} : float"
    else:
        head = f"{p.name} : float, default {p.default!r}"
    body = p.doc or ("    Converted to the computation dtype (float32 for float32, "
                     "float16 and bfloat16 input)." if p.type == "float" else "    The variant.")
    check = {">0": " Must be > 0.", ">=0": " Must be >= 0.", "!=0": " Must not be 0."}
    return head + "\n" + body + check.get(p.check or "", "")


def render_doc(s, backward: bool) -> str:
    """The NumPy-style docstring of an elementwise function (indented for the
    body of its `def`, quotes included)."""
    name = s.name + ("_backward" if backward else "")
    if backward:
        summary = f"Gradient of {s.name}: grad_output * d{s.name}/dx, elementwise."
        params = ["grad_output : array_like\n    The gradient of the loss with respect to "
                  f"{s.name}(x); x's shape."]
        params.append("x : array_like\n    The forward input" + (
            " (or give `y=` instead)." if s.grad_from_output else "."))
    else:
        summary = f"{s.name}(x) = {s.formula}, elementwise."
        params = ["x : array_like\n" + _X_DOC]
    params += [_param_doc(p) for p in s.params]
    if backward and s.grad_from_output:
        needs = f" Needs {s.y_needs_text}." if s.y_needs else ""
        params.append("y : array_like, optional\n    The forward output "
                      f"{s.name}(x), instead of x (exactly one of x and y).{needs}")
    ynote = ("\n    With `y=` (the fused forward's output) the bias is not used and the\n"
             "    result is the y form times scale." if s.grad_from_output else "")
    params.append((_FUSED_BWD_DOC if backward else _FUSED_DOC).format(name=s.name, ynote=ynote))
    params.append("out : ndarray, optional\n" + _OUT_DOC)
    ret = ("ndarray or NumPy scalar\n    grad_output times the derivative at x, in x's "
           "dtype;\n    a NumPy scalar for scalar input (`out` when given)." if backward else
           "ndarray or NumPy scalar\n    The result, in the rules' dtype; a NumPy scalar "
           "for scalar\n    input (`out` when given).")
    call = (f"fa.{name}(np.ones_like(x), x)" if backward else f"fa.{name}(x)")
    notes = (("Exact (one rounding at most)." if s.ulp == (0, 0) else
              f"Accuracy: within {s.ulp[0]} ulp (float32) and {s.ulp[1]} ulp (float64) of "
              "the exact\nvalue.") if not backward else
             f"Accuracy: within {s.bwd_ulp} ulp of the exact value, away from the zeros "
             "of the\nderivative.")
    if not backward:
        notes += f" Gradient: `{s.name}_backward`."
    elif s.notes:
        notes += "\n" + s.notes
    text = "\n".join([summary, "", "Parameters", "----------", *params, "",
                      "Returns", "-------", ret, "", "Notes", "-----", notes, "",
                      "Examples", "--------", ">>> import numpy as np, fastact as fa",
                      ">>> x = np.linspace(-3, 3, 5, dtype=np.float32)",
                      f">>> r = {call}"])
    body = "\n".join(("    " + ln) if ln else "" for ln in text.splitlines())
    return '"""' + body.lstrip() + '\n    """'



def render_kernels(isa: str) -> str:
    from Cython.Tempita import sub
    return BANNER.format(src="_kernels.pyx.tp") + sub((PKG / "_kernels.pyx.tp").read_text(),
                                                      isa=isa)


def render_family_c(fam: str) -> str:
    return ("/* GENERATED by fastact/_codegen.py -- do not edit */\n" + FAMILY_C[fam]
            + f"void *fa_{fam}_table_export(void) {{ return fa_{fam}_table(); }}\n"
            + f"const char *fa_{fam}_capsule_name_export(void) "
            + f"{{ return fa_{fam}_capsule_name(); }}\n")


# ------------------------------------------------------------------ type stubs

# a parameter's type by its name (anything else: Any)
_ARRAY_PARAMS = ("x", "grad_output", "weight", "y", "scale", "bias")
_PARAM_TYPES = {"axis": "SupportsIndex", "pieces": "SupportsIndex",
                "out": "NDArray[Any] | None", "threads": "SupportsIndex | None",
                # the softmax family's scale=, bias=, where=, dtype=; logsumexp's b=, keepdims=
                "scale": "SupportsFloat | None", "bias": "ArrayLike | None",
                "where": "ArrayLike | None", "b": "ArrayLike | None", "dtype": "DTypeLike",
                "keepdims": "bool"}


def _stub_type(spec_params: dict, name: str, default) -> str:
    if name in spec_params and spec_params[name].type == "choice":
        return "Literal[" + ", ".join(repr(c) for c in spec_params[name].choices) + "]"
    if name in _ARRAY_PARAMS:
        return "ArrayLike | None" if default == "None" else "ArrayLike"
    if name in spec_params and spec_params[name].type == "float":
        return "float"
    return _PARAM_TYPES.get(name, "Any")


def _stub_def(spec_params: dict, name: str, pos: list, kw: list, ret: str) -> str:
    """pos, kw: [(name, default source or None)]"""
    def one(p, d):
        t = _stub_type(spec_params, p, d)
        return f"{p}: {t}" + ("" if d is None else " = ...")
    parts = [one(p, d) for p, d in pos]
    if kw:
        parts.append("*")
        parts += [one(p, d) for p, d in kw]
    return f"def {name}({', '.join(parts)}) -> {ret}: ..."


def _elementwise_stubs(spec, extra_kw: list, ret: str, backward: bool = True) -> tuple:
    """The stub lines of every elementwise function (and its backward) with
    the spec's parameters, keyword-only, then `extra_kw`; and their names."""
    L, names = [], []
    for s in spec.SPECS:
        if s.kind != "elementwise":
            continue
        sp = {p.name: p for p in s.params}
        kw = [(p.name, None if p.required else repr(p.default)) for p in s.params]
        L.append(_stub_def(sp, s.name, [("x", None)], kw + extra_kw, ret))
        names.append(s.name)
        if not backward:
            continue
        bkw = kw + ([("y", "None")] if s.grad_from_output else []) + extra_kw
        L.append(_stub_def(sp, s.name + "_backward", [("grad_output", None), ("x", "None")],
                           bkw, ret))
        names.append(s.name + "_backward")
    return L, names


def _signature_stubs(spec, path: Path, public, ret) -> list:
    """The stub lines of the functions `public` of a Python module, from
    their signatures (ret: name -> return type)."""
    defs = _python_defs(path, public)
    L = []
    for name in public:
        base = spec.BY_NAME.get(name.removesuffix("_backward"))
        sp = {p.name: p for p in base.params} if base else {}
        L.append(_stub_def(sp, name, defs[name][0], defs[name][1], ret(name)))
    return L


def _python_defs(path: Path, names) -> dict:
    """{name: (positional params, keyword-only params)} of module-level defs"""
    tree = ast.parse(path.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            a = node.args
            pos = [p.arg for p in a.posonlyargs + a.args]
            pdef = [None] * (len(pos) - len(a.defaults)) + [ast.unparse(d) for d in a.defaults]
            kw = [p.arg for p in a.kwonlyargs]
            kdef = [None if d is None else ast.unparse(d) for d in a.kw_defaults]
            out[node.name] = (list(zip(pos, pdef)), list(zip(kw, kdef)))
    return out


def _module_all(path: Path) -> list:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "__all__"):
            return list(ast.literal_eval(node.value))
    return []


def _python_apis() -> list:
    """(module path, its public names) of the families written in Python:
    the along-axis functions, the composed ones and PReLU."""
    return [(PKG / "_axis_api.py", _module_all(PKG / "_axis_api.py")),
            (PKG / "_composed_api.py", _module_all(PKG / "_composed_api.py")),
            (PKG / "_prelu_api.py", ["prelu", "prelu_backward"])]


def _python_return(name: str) -> str:
    if name == "prelu_backward":
        return "tuple[NDArray[Any], NDArray[Any]]"
    # a scalar for 0-d input (rrelu) or a reduced loss
    return "Any" if name in ("rrelu", "rrelu_backward", "softmax_cross_entropy") else "NDArray[Any]"


def render_stub(spec) -> str:
    """fastact/__init__.pyi"""
    L = ['"""Type stubs of fastact, GENERATED by fastact/_codegen.py from _spec.py and',
         'the Python signatures of _axis_api.py, _composed_api.py and _prelu_api.py -- '
         'do not edit."""',
         "",
         "from collections.abc import Mapping",
         "from contextlib import AbstractContextManager",
         "from typing import Any, Literal, SupportsFloat, SupportsIndex",
         "",
         "from numpy.typing import ArrayLike, DTypeLike, NDArray",
         "",
         "__version__: str",
         "",
         "class Entry:",
         "    name: str",
         "    forward: Any",
         "    backward: Any",
         "    params: Mapping[str, object]",
         "    kind: Literal['elementwise', 'axis', 'channel']",
         "",
         "ACTIVATIONS: Mapping[str, Entry]",
         "",
         "def get_num_threads() -> int: ...",
         "def set_num_threads(n: SupportsIndex) -> None: ...",
         "def num_threads(n: SupportsIndex) -> AbstractContextManager[None]: ...",
         "def show_config(print_out: bool = ...) -> dict[str, Any]: ...",
         "",
         "# ---- elementwise: arrays or scalars in, arrays or NumPy scalars out"]
    names = ["ACTIVATIONS", "__version__", "get_num_threads", "num_threads", "set_num_threads",
             "show_config"]
    lines, enames = _elementwise_stubs(spec, FUSED_KW + [("out", "None")], "Any")
    L += lines
    names += enames
    L += ["", "# ---- along an axis, and PReLU"]
    for path, public in _python_apis():
        L += _signature_stubs(spec, path, public, _python_return)
        names += public
    L += ["", "__all__ = [" + ", ".join(repr(n) for n in sorted(names)) + "]", ""]
    return "\n".join(L)


def ufunc_names(spec) -> list:
    """The names of fastact.ufunc, in the order _elementwise.pyx.tp makes them."""
    names = []
    for s in spec.SPECS:
        if s.kind != "elementwise":
            continue
        variants = list(s.kernel) if isinstance(s.kernel, dict) else [None]
        for i, c in enumerate(variants):
            base = s.name if i == 0 else f"{s.name}_{c}"
            names += [base, base + "_backward"] + ([base + "_backward_y"]
                                                   if s.grad_from_output else [])
    return names + [g[0] for g in spec.GUFUNCS]


def render_ufunc_stub(spec) -> str:
    """fastact/ufunc.pyi"""
    names = ufunc_names(spec)
    return "\n".join(['"""Type stubs of fastact.ufunc, GENERATED by fastact/_codegen.py -- '
                      'do not edit."""', "", "import numpy as np", "",
                      "UFUNCS: dict[str, np.ufunc]", "",
                      *[f"{n}: np.ufunc" for n in names], "",
                      "__all__ = [" + ", ".join(repr(n) for n in sorted(names)) + "]", ""])


_TORCH_STUB_TAIL = '''def prelu(x: Tensor, weight: Tensor, *, axis: SupportsIndex = ...) -> Tensor: ...

class Activation(nn.Module):
    fn_name: str
    params: dict[str, Any]
    replaced: str | None
    def __init__(self, name: str, replaced: str | None = ..., **params: Any) -> None: ...
    def forward(self, x: Tensor) -> Tensor: ...

class PReLU(nn.Module):
    weight: nn.Parameter
    num_parameters: int
    replaced: str | None
    def __init__(self, weight: nn.Parameter, replaced: str | None = ...) -> None: ...
    def forward(self, x: Tensor) -> Tensor: ...

def patch(model: nn.Module) -> nn.Module: ...
def patched_modules(model: nn.Module) -> dict[str, str | None]: ...
'''


def _module_tuple(path: Path, name: str) -> tuple:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == name):
            return tuple(ast.literal_eval(node.value))
    return ()


def render_torch_stub(spec) -> str:
    """fastact/torch.pyi: the elementwise functions from the spec, the
    along-axis ones named by torch.py's AXIS_FUNCTIONS, and the rest."""
    L = ['"""Type stubs of fastact.torch, GENERATED by fastact/_codegen.py from _spec.py '
         '-- do not', 'edit (tests/test_torch.py checks them against the module\'s signatures)."""',
         "", "from typing import Any, Literal, SupportsIndex", "", "from torch import Tensor, nn",
         "", "AXIS_FUNCTIONS: tuple[str, ...]", ""]
    L += _elementwise_stubs(spec, [], "Tensor", backward=False)[0]
    for name in _module_tuple(PKG / "torch.py", "AXIS_FUNCTIONS"):
        s = spec.BY_NAME[name]
        sp = {p.name: p for p in s.params}
        pos = [("x", None)] + [(p.name, None if p.required else repr(p.default))
                               for p in s.params]
        L.append(_stub_def(sp, name, pos, [], "Tensor"))
    text = "\n".join(L).replace("x: ArrayLike", "x: Tensor") + "\n" + _TORCH_STUB_TAIL
    return text


def render_dask_stub(spec) -> str:
    """fastact/dask.pyi: the elementwise functions from the spec (plus the
    task option `threads`), the rest from dask.py's signatures."""
    L = ['"""Type stubs of fastact.dask, GENERATED by fastact/_codegen.py from _spec.py and',
         'dask.py -- do not edit.  Dask arrays in, Dask arrays out (typed Any)."""', "",
         "from typing import Any, Literal, SupportsIndex", ""]
    lines, names = _elementwise_stubs(spec, [("threads", "None")], "Any")
    L += lines
    public = _module_all(PKG / "dask.py")
    L += _signature_stubs(spec, PKG / "dask.py", public,
                          lambda n: "int | None" if n == "task_threads" else "Any")
    names += public
    text = "\n".join(L + ["", "__all__ = [" + ", ".join(repr(n) for n in sorted(names)) + "]",
                          ""])
    return (text.replace("ArrayLike | None", "Any").replace("ArrayLike", "Any")
            .replace("NDArray[Any] | None", "Any").replace("threads: Any", "threads: "
                                                            "SupportsIndex | None"))


# ------------------------------------------------------------------ README

def _sig_text(pos, kw) -> str:
    parts = [p if d is None else f"{p}={d}" for p, d in pos if p != "out"]
    kws = [p if d is None else f"{p}={d}" for p, d in kw if p != "out"]
    return ", ".join(parts + (["*"] + kws if kws else []))


def render_api_table(spec) -> list:
    """README.md's API reference (between the API-TABLE markers): every
    public function with its parameters and defaults, its backward, whether
    the backward takes `y=`, and what the backward returns."""
    L = ["| function | computes | backward | `y=` | backward returns |",
         "| --- | --- | --- | :---: | --- |"]
    esc = lambda t: t.replace("|", "&#124;")
    for s in spec.SPECS:
        if s.kind != "elementwise":
            continue
        kw = [(p.name, None if p.required else repr(p.default)) for p in s.params]
        fwd = _sig_text([("x", None)], kw + FUSED_KW)
        bwd = _sig_text([("grad_output", None), ("x", "None" if s.grad_from_output else None)],
                        kw + ([("y", "None")] if s.grad_from_output else []) + FUSED_KW)
        L.append(f"| `{s.name}({fwd})` | {esc(s.formula)} | `{s.name}_backward({bwd})` | "
                 f"{'yes' if s.grad_from_output else ''} | gradient w.r.t. x (x's shape) |")
    defs = {k: v for path, public in _python_apis() for k, v in _python_defs(path, public).items()}
    for name in [n for n in defs if not n.endswith("_backward")]:
        s = spec.BY_NAME.get(name)
        fwd = _sig_text(*defs[name])
        b = defs.get(name + "_backward")
        if b is None:
            bcell, ycell, ret = "(none)", "", ""
        else:
            bcell = f"`{name}_backward({_sig_text(*b)})`"
            ycell = "yes" if any(p == "y" for p, _ in b[1]) else ""
            ret = ("(grad_x, grad_weight), grad_weight of weight's shape" if name == "prelu"
                   else "gradient w.r.t. x (x's shape)")
        L.append(f"| `{name}({fwd})` | {esc(s.formula) if s else ''} | {bcell} | {ycell} | "
                 f"{ret} |")
    return L


# ------------------------------------------------------------------ all of it

def generate(isas) -> None:
    """Render every generated file of the build (only files that changed are
    rewritten, so the build stays incremental)."""
    spec = load_spec()
    write_if_changed(INC / "fa_list.h", render_kernel_list(spec))
    write_if_changed(INC / "fa_cpu.h", render_cpu_header(spec))
    write_if_changed(INC / "fa_axis_list.h", render_axis_list(spec))
    write_if_changed(PKG / "_elementwise.pyx", render_elementwise(spec))
    for isa in isas:
        write_if_changed(PKG / f"_kernels_{isa}.pyx", render_kernels(isa))
        for fam in FAMILY_C:
            write_if_changed(PKG / f"_{fam}_kernels_{isa}.c", render_family_c(fam))
    write_if_changed(PKG / "__init__.pyi", render_stub(spec))
    write_if_changed(PKG / "ufunc.pyi", render_ufunc_stub(spec))
    write_if_changed(PKG / "torch.pyi", render_torch_stub(spec))
    write_if_changed(PKG / "dask.pyi", render_dask_stub(spec))
    write_if_changed(PKG / "py.typed", "")
