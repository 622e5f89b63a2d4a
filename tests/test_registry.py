"""The registry, __all__, __version__, show_config, and their agreement
with the spec."""

from __future__ import annotations

import types

import numpy as np
import pytest

import fastact as fa
from fastact import _spec

from conftest import ELEMENTWISE


def test_registry_is_read_only():
    assert isinstance(fa.ACTIVATIONS, types.MappingProxyType)
    with pytest.raises(TypeError):
        fa.ACTIVATIONS["relu"] = None
    with pytest.raises(TypeError):
        del fa.ACTIVATIONS["relu"]
    e = fa.ACTIVATIONS["relu"]
    with pytest.raises(Exception):
        e.name = "x"
    with pytest.raises(TypeError):
        fa.ACTIVATIONS["leaky_relu"].params["negative_slope"] = 1.0


@pytest.mark.parametrize("spec", [s for s in _spec.SPECS if s.kind in ("elementwise", "channel")],
                         ids=lambda s: s.name)
def test_registry_entry_per_spec(spec):
    e = fa.ACTIVATIONS[spec.name]
    assert e.name == spec.name
    assert e.kind == spec.kind
    assert e.forward is getattr(fa, spec.name)
    assert e.backward is getattr(fa, spec.name + "_backward")
    assert isinstance(e.params, types.MappingProxyType)
    expected = {p.name: (None if p.required else p.default) for p in spec.params}
    assert dict(e.params) == expected
    assert repr(e)


def test_registry_matches_spec_and_all():
    spec_names = {s.name for s in _spec.SPECS}
    for name in fa.ACTIVATIONS:
        assert name in spec_names or fa.ACTIVATIONS[name].kind == "axis", name
    for s in _spec.SPECS:
        if hasattr(fa, s.name) and hasattr(fa, s.name + "_backward"):
            assert s.name in fa.ACTIVATIONS
    for s in ELEMENTWISE:
        assert s.name in fa.__all__ and s.name + "_backward" in fa.__all__
    for n in ("prelu", "prelu_backward", "get_num_threads", "set_num_threads", "num_threads",
              "ACTIVATIONS", "show_config", "__version__"):
        assert n in fa.__all__, n
    for n in fa.__all__:
        assert hasattr(fa, n), n
    assert len(set(fa.__all__)) == len(fa.__all__)
    for name, e in fa.ACTIVATIONS.items():
        assert e.kind in ("elementwise", "axis", "channel")
        assert name in fa.__all__


def test_every_function_keeps_float32():
    """Registry-wide: float32 in, float32 out (SciPy's meta-test)."""
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    for name, e in fa.ACTIVATIONS.items():
        if e.kind != "elementwise":
            continue
        params = {k: (0.5 if v is None else v) for k, v in e.params.items()}
        assert e.forward(x, **params).dtype == np.float32, name
        assert e.backward(x, x, **params).dtype == np.float32, name


def test_docstrings():
    for s in ELEMENTWISE:
        assert getattr(fa, s.name).__doc__, s.name
        assert getattr(fa, s.name + "_backward").__doc__, s.name


def test_version():
    assert isinstance(fa.__version__, str)
    parts = fa.__version__.split(".")
    assert len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit()


def test_show_config(capsys):
    cfg = fa.show_config()
    out = capsys.readouterr().out
    assert isinstance(cfg, dict)
    for k in ("thread_pool", "threads", "cpus", "stream_bytes", "isa"):
        assert k in cfg, k
        assert k in out
    assert cfg["threads"] == fa.get_num_threads()
    assert cfg["isa"] in fa._dispatch.supported_isas()
    cfg2 = fa.show_config(print_out=False)
    assert capsys.readouterr().out == ""
    assert cfg2 == cfg
