"""fastact: fast, accurate neural-network activation functions for NumPy.

    import fastact as fa
    y = fa.sigmoid(x)
    gx = fa.sigmoid_backward(gy, y=y)

Every function takes anything numpy.asarray takes, keeps float32 as float32
and float64 as float64, accepts `out=` (which may be the input) and releases
the GIL.  See README.md and fastact.ACTIVATIONS for the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__version__ = "0.1.0"

# The three families, each a compiled module (fast path, items for the
# thread pool) and its Python layer (general path): _elementwise /
# _elementwise_api, _axis / _axis_api, _prelu / _prelu_api.  The public
# names are listed statically in the generated stub (__init__.pyi).
from fastact import (_axis_api, _composed_api, _dispatch, _elementwise, _elementwise_api,
                     _fastact_pool, _spec)
from fastact._prelu_api import prelu, prelu_backward
from fastact._threads import get_num_threads, num_threads, set_num_threads

_dispatch.select()

_ELEMENTWISE = [s.name for s in _spec.SPECS if s.kind == "elementwise"]
for _name in _ELEMENTWISE:
    globals()[_name] = getattr(_elementwise, _name)
    globals()[_name + "_backward"] = getattr(_elementwise, _name + "_backward")
# the along-axis family, and the functions composed over the families
for _mod in (_axis_api, _composed_api):
    for _name in _mod.__all__:
        globals()[_name] = getattr(_mod, _name)


@dataclass(frozen=True)
class Entry:
    """One activation of the registry."""
    name: str
    forward: object
    backward: object
    params: MappingProxyType
    kind: str

    def __repr__(self):
        return f"<fastact activation {self.name!r} ({self.kind}) params={dict(self.params)}>"


def _build_registry():
    reg = {}
    for s in _spec.SPECS:
        fwd = globals().get(s.name)
        bwd = globals().get(s.name + "_backward")
        if fwd is None or bwd is None:
            continue
        params = MappingProxyType({p.name: (None if p.required else p.default)
                                   for p in s.params})
        # rrelu ("random": drawn slopes, no kernel) is elementwise to its users
        kind = "elementwise" if s.kind == "random" else s.kind
        reg[s.name] = Entry(s.name, fwd, bwd, params, kind)
    return MappingProxyType(reg)


ACTIVATIONS = _build_registry()


def show_config(print_out: bool = True) -> dict:
    """Print (and return) how fastact was built and what it runs now:
    whether the thread pool is built, the thread count, the output size
    from which memory-bound calls write with streaming stores (README
    "Large outputs"), the compiler, the instruction-set levels built, the
    one in use and its flags."""
    from fastact._build_info import BUILD

    isa = _dispatch.current()
    cfg = {
        "version": __version__,
        "thread_pool": BUILD["threads"] and _fastact_pool.have_threads(),
        "threads": get_num_threads(),
        "cpus": _fastact_pool.num_cpus(),
        "stream_bytes": _fastact_pool._stream_bytes(),
        "compiler": BUILD["compiler"],
        "machine": BUILD["machine"],
        "isas_built": list(BUILD["isas"]),
        "isas_supported": _dispatch.supported_isas(),
        "isa": isa,
        "kernel_flags": list(BUILD["kernel_flags"]) + list(BUILD["isa_flags"][isa]),
    }
    if print_out:
        w = max(len(k) for k in cfg)
        for k, v in cfg.items():
            print(f"{k:<{w}} : {v}")
    return cfg


__all__ = sorted(
    [n for s in _ELEMENTWISE for n in (s, s + "_backward")]
    + ["prelu", "prelu_backward", "get_num_threads", "set_num_threads", "num_threads",
       "ACTIVATIONS", "show_config", "__version__"]
    + list(_axis_api.__all__) + list(_composed_api.__all__)
)
del _name, _mod


def __dir__():
    return list(__all__)
