"""Run-time choice of the kernel instruction-set level.

The kernels are built once per level (setup.py); at import the best level
that the running CPU supports is installed in fastact._elementwise.
FASTACT_ISA=<level> forces a level (baseline, avx2, avx512).
"""

from __future__ import annotations

import importlib
import os
from contextlib import contextmanager

from fastact import _elementwise, _spec
from fastact._build_info import BUILD

LEVELS = tuple(lv.name for lv in _spec.ISA_LEVELS)


def built_isas() -> list:
    return [isa for isa in LEVELS if isa in BUILD["isas"]]


def supported_isas() -> list:
    """Levels that are built and that this CPU can run, lowest first."""
    return [isa for isa in built_isas() if _elementwise.cpu_supports(LEVELS.index(isa))]


_current = None


def use(isa: str) -> None:
    global _current
    if isa not in supported_isas():
        raise ValueError(f"fastact: instruction-set level {isa!r} is not available here; "
                         f"this build and CPU support {supported_isas()}")
    mod = importlib.import_module(f"fastact._kernels_{isa}")
    _elementwise._set_table(mod.table)
    _use_axis(mod)
    _use_prelu(mod)
    _current = isa


def _use_axis(mod) -> None:
    # along-axis family: the same level's row kernels go to fastact._axis
    try:
        from fastact import _axis
    except ImportError:  # pragma: no cover - built without _axis.pyx
        return
    _axis._set_table(mod.axis_table, mod.table)


def _use_prelu(mod) -> None:
    # PReLU: the same level's loops go to fastact._prelu
    try:
        from fastact import _prelu
    except ImportError:  # pragma: no cover - built without _prelu.pyx
        return
    _prelu._set_table(mod.prelu_table)


def current() -> str:
    return _current


@contextmanager
def using(isa: str):
    """Temporarily run the kernels of another level (tests, benchmarks)."""
    prev = _current
    use(isa)
    try:
        yield
    finally:
        use(prev)


def select() -> str:
    forced = os.environ.get("FASTACT_ISA", "").strip().lower()
    if forced:
        if forced not in LEVELS:
            raise ImportError(f"fastact: FASTACT_ISA={forced!r} is not a level; "
                              f"use one of {', '.join(LEVELS)}")
        if forced not in supported_isas():
            raise ImportError(f"fastact: FASTACT_ISA={forced!r} is not supported by this "
                              f"build or CPU; available: {', '.join(supported_isas())}")
        use(forced)
    else:
        use(supported_isas()[-1])
    return _current
