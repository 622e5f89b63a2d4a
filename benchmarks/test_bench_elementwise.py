"""fastact against its peers, every elementwise activation, forward and
backward, float32 and float64, N = 1e3 and 1e5 (1.6e7 with --bench-large),
outputs preallocated; plus the copy / add3 limits.

    pytest benchmarks --benchmark-group-by=group

One benchmark group per function, direction, dtype and size, so the peers
of a case are printed together.  Functions, peers and expressions come from
fastact.bench (the registry and fastact.bench.peers).  No timing is
asserted.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastact.bench import suite
from fastact.bench.report import fmt_n

DTYPES = ("float32", "float64")
DIRECTIONS = ("forward", "backward")


def _libraries(config):
    return ["fastact"] + [p.name for p in suite.peers(config)]


def pytest_generate_tests(metafunc):
    config = metafunc.config
    sizes = suite.sizes(config)
    if "elementwise_case" in metafunc.fixturenames:
        params, ids = [], []
        libs = _libraries(config)
        for n in sizes:
            for v in suite.variants(config, kind="elementwise"):
                for direction in DIRECTIONS:
                    for dtype in DTYPES:
                        for lib in libs:  # innermost: a case's libraries run together
                            params.append((v, direction, dtype, n, lib))
                            ids.append(f"{v.label}-{direction}-{dtype}-{fmt_n(n)}-{lib}")
        metafunc.parametrize("elementwise_case", params, ids=ids)
    if "limit_case" in metafunc.fixturenames:
        params, ids = [], []
        for n in sizes:
            for dtype in DTYPES:
                for kind in ("copy", "add3"):
                    params.append((kind, dtype, n))
                    ids.append(f"{kind}-{dtype}-{fmt_n(n)}")
        metafunc.parametrize("limit_case", params, ids=ids)


def test_elementwise(benchmark, elementwise_case, bench_case, bench_peers, bench_threads,
                     run_bench):
    from fastact.bench.cases import fastact_call

    v, direction, dtype, n, lib = elementwise_case
    case = bench_case(v, direction, dtype, n)
    if lib == "fastact":
        fn = fastact_call(case)
    else:
        fn = bench_peers[lib].make(case)
        if fn is None:
            pytest.skip(f"{lib} lacks this function, direction or dtype")
    with np.errstate(all="ignore"):
        run_bench(benchmark, fn, f"{v.label}-{direction}-{dtype}-N={fmt_n(n)}", case.nbytes,
                  library=lib, threads=bench_threads, bytes=case.nbytes)


def test_limit(benchmark, limit_case, bench_threads, run_bench):
    """The bandwidth limit: np.copyto(y, x) (a forward reads one array and
    writes one) and np.add(a, b, out=c) (a backward reads two)."""
    kind, dtype, n = limit_case
    rng = np.random.default_rng(0)
    a = rng.standard_normal(n).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    c = np.empty_like(a)
    if kind == "copy":
        def fn():
            np.copyto(c, a)
        nbytes = 2 * a.nbytes
    else:
        def fn():
            np.add(a, b, out=c)
        nbytes = 3 * a.nbytes
    run_bench(benchmark, fn, f"limit-{kind}-{dtype}-N={fmt_n(n)}", nbytes, library="numpy",
              threads=bench_threads, bytes=nbytes)
