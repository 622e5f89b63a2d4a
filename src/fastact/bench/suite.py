"""Helpers of the pytest-benchmark suite (benchmarks/): which sizes, peers
and activations a pytest run selects, from its command-line options
(declared in benchmarks/conftest.py).  Kept here, not in conftest.py, so
that benchmark modules can import them whatever other conftest.py files the
run loads."""

from __future__ import annotations

__all__ = ["SMALL_SIZES", "LARGE_SIZES", "DEFAULT_PEERS", "sizes", "peers", "variants"]

SMALL_SIZES = (1_000, 100_000)
LARGE_SIZES = (16_000_000,)
# numexpr and onnxruntime only when asked for: see benchmarks/conftest.py
DEFAULT_PEERS = ("numpy", "scipy", "torch")


def sizes(config) -> tuple:
    """N = 1e3, 1e5, and 1.6e7 with --bench-large."""
    return SMALL_SIZES + (LARGE_SIZES if config.getoption("--bench-large") else ())


def peers(config) -> list:
    """The installed peers selected by --bench-peers (instances)."""
    from fastact.bench.peers import PEER_NAMES, all_peers

    opt = config.getoption("--bench-peers")
    if opt in (None, ""):
        names = DEFAULT_PEERS
    elif opt == "all":
        names = PEER_NAMES
    else:
        names = tuple(s.strip() for s in opt.split(",") if s.strip())
    return [p for p in all_peers(names) if p.available]


def variants(config, kind=None) -> list:
    """The registry's variants selected by --bench-functions (of one kind)."""
    from fastact.bench.cases import variants as _variants

    opt = config.getoption("--bench-functions")
    names = set(s.strip() for s in opt.split(",")) if opt else None
    return [v for v in _variants(names) if kind is None or v.kind == kind]
