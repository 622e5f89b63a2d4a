"""Static types: the generated stub (fastact/__init__.pyi) lets `mypy
--strict` check a user's script, and catches a misspelt keyword or an
unknown choice value.  `dir(fastact)` is the public API."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fastact as fa

PKG_PARENT = str(Path(fa.__file__).resolve().parents[1])

GOOD = """
import numpy as np
import fastact as fa

x = np.linspace(-3, 3, 7, dtype=np.float32)
y: np.ndarray = fa.sigmoid(x)
g = fa.sigmoid_backward(np.ones_like(x), y=y)
fa.gelu(x, approximate="tanh", out=x)
fa.leaky_relu(x, negative_slope=0.1)
fa.threshold(x, threshold=0.5, value=0.0)
fa.gelu(x, scale=2.0, bias=np.zeros(7, np.float32), out=x)
gb = fa.sigmoid_backward(np.ones_like(x), y=y, scale=x, bias=1.0)
s = fa.softmax(x.reshape(1, 7), axis=-1)
l = fa.logsumexp(x)
m = np.triu(np.full((7, 7), -np.inf, np.float32), 1)
a = fa.softmax(np.ones((2, 7, 7), np.float16), scale=np.float32(0.125), bias=m, dtype=np.float32)
a2 = fa.log_softmax(a, where=m == 0, dtype="float64")
l2 = fa.logsumexp(x, b=np.ones(7), keepdims=True)
ga = fa.softmax_backward(a, y=a, scale=0.125, bias=m)
h = fa.geglu(np.ones((2, 4)), axis=1, approximate="none")
gx, gw = fa.prelu_backward(x, x, np.ones(1, np.float32))
with fa.num_threads(1):
    n: int = fa.get_num_threads()
fa.set_num_threads(2)
print(fa.ACTIVATIONS["gelu"].params, fa.__version__)

import fastact.ufunc as fu
u: np.ufunc = fu.leaky_relu
z = fu.gelu_tanh(x, out=x)

import fastact.dask as fd
from typing import Any
d: Any = None
lazy = fd.softmax(d, axis=-1, threads=1)
lazy2 = fd.gelu_backward(d, d, approximate="tanh")
"""

BAD = {
    "misspelt keyword": 'fa.gelu(x, aproximate="tanh")',
    "unknown choice": 'fa.gelu(x, approximate="tan")',
    "no such function": "fa.sigmoidd(x)",
    "missing required": "fa.threshold(x, value=1.0)",
    "misspelt bias": "fa.relu(x, biases=x)",
    "wrong type": 'fa.set_num_threads("2")',
    "no such ufunc": "fu.sigmoidd(x)",
    "dask: unknown choice": 'fd.gelu(d, approximate="tan")',
    "dask: misspelt keyword": "fd.softmax(d, axes=0)",
}


def mypy_env() -> dict:
    """The environment for mypy: fastact found where it is imported from
    (MYPYPATH for a source tree; nothing for an installed package, which mypy
    finds in site-packages and refuses on MYPYPATH)."""
    import site
    env = dict(os.environ)
    installed = {str(Path(p).resolve()) for p in site.getsitepackages() + [site.getusersitepackages()]}
    if PKG_PARENT not in installed:
        env["MYPYPATH"] = PKG_PARENT
    return env


def _mypy(code: str, tmp_path: Path):
    pytest.importorskip("mypy")
    f = tmp_path / "user.py"
    f.write_text(textwrap.dedent(code))
    env = mypy_env()
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           "--cache-dir", str(tmp_path / ".mypy_cache"), str(f)],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)


def test_stub_exists_and_matches_all():
    import fastact.ufunc as fu
    stub = Path(fa.__file__).with_name("__init__.pyi")
    assert stub.exists() and Path(fa.__file__).with_name("py.typed").exists()
    text = stub.read_text()
    for name in fa.__all__:
        assert (f"def {name}(" in text) or (f"{name}:" in text), name
    text = Path(fa.__file__).with_name("ufunc.pyi").read_text()
    for name in fu.__all__:
        assert f"\n{name}: np.ufunc" in text, name
    text = Path(fa.__file__).with_name("dask.pyi").read_text()
    try:
        import fastact.dask as fd
    except ImportError:
        return
    for name in fd.__all__ + [n for n in dir(fd) if n in fa.__all__]:
        assert f"def {name}(" in text, name


def test_mypy_strict_user_script(tmp_path):
    bad = "\n".join(f"{line}  # case {i}" for i, line in enumerate(BAD.values()))
    code = GOOD + "\n" + bad + "\n"
    r = _mypy(code, tmp_path)
    out = r.stdout + r.stderr
    assert "Found" in out, out                # mypy ran and checked the script
    good_lines = len(textwrap.dedent(GOOD).splitlines()) + 1
    errors = [ln for ln in out.splitlines() if ": error:" in ln]
    # every error is on a BAD line, and every BAD line has one
    lines = {int(ln.split(":")[1]) for ln in errors}
    assert all(n > good_lines for n in lines), out
    assert len(lines) == len(BAD), out


def test_dir_is_the_public_api():
    assert sorted(dir(fa)) == sorted(fa.__all__)
    for name in ("dataclass", "MappingProxyType", "annotations", "Entry"):
        assert name not in dir(fa)


def test_readme_api_table_is_current():
    """README.md's API reference is what the spec and the signatures give
    (python tools/readme_tables.py --api rewrites it)."""
    import importlib.util
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "_fastact_codegen_t", root / "src" / "fastact" / "_codegen.py")
    codegen = importlib.util.module_from_spec(spec)
    sys.modules["_fastact_codegen_t"] = codegen
    spec.loader.exec_module(codegen)
    text = (root / "README.md").read_text()
    a = text.index("<!-- API-TABLE-START -->") + len("<!-- API-TABLE-START -->")
    b = text.index("<!-- API-TABLE-END -->")
    assert text[a:b].strip().splitlines() == codegen.render_api_table(codegen.load_spec())
