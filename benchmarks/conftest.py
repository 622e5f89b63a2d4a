"""Shared fixtures and options of fastact's pytest-benchmark suite.

    pytest benchmarks --benchmark-group-by=group           # N = 1e3, 1e5
    pytest benchmarks --bench-large --benchmark-group-by=group   # + N = 1.6e7

These files are only collected when ``benchmarks`` is named on the command
line (``testpaths = ["tests"]`` in pyproject.toml).  Options:

--bench-large          also N = 1.6e7 (or FASTACT_BENCH_LARGE=1)
--bench-threads N      threads for fastact and the threaded peers (default:
                       fastact's current count)
--bench-peers a,b|all  peers to compare with (default: numpy,scipy,torch;
                       "all": every installed one)
--bench-functions a,b  only these activations (names or labels: gelu_tanh)
--bench-rounds R       rounds per benchmark (default 7), each about
                       --bench-round-ms milliseconds (default 1.0)

Why not every peer by default: on a machine with few cores, three or more
thread pools in one process (fastact's pool, torch's OpenMP, numexpr's,
onnxruntime's) starve one another and a 10 µs call takes milliseconds.
Name numexpr or onnxruntime explicitly to measure them (one at a time,
ideally: ``--bench-peers numexpr``), or use ``python -m fastact.bench``,
which runs each threaded peer in a process of its own.

Fixtures for any benchmark module (benchmarks/test_bench_*.py); at
collection time (pytest_generate_tests) use ``fastact.bench.suite``
(sizes(config), peers(config), variants(config, kind)):
``bench_sizes``, ``bench_peers`` ({name: peer}), ``bench_threads``,
``bench_case(variant, direction, dtype, n)`` (arrays, cached for the
consecutive tests of one case) and ``run_bench(benchmark, fn, group,
nbytes=None)`` (calibrated ``benchmark.pedantic``).
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser):
    g = parser.getgroup("fastact benchmarks")
    g.addoption("--bench-large", action="store_true",
                default=os.environ.get("FASTACT_BENCH_LARGE", "") not in ("", "0"),
                help="also run N = 1.6e7 (env FASTACT_BENCH_LARGE=1)")
    g.addoption("--bench-threads", type=int, default=None,
                help="threads for fastact and the threaded peers")
    g.addoption("--bench-peers", default=None,
                help="comma-separated peers, or 'all' (default: numpy,scipy,torch)")
    g.addoption("--bench-functions", default=None,
                help="comma-separated activations (names or labels)")
    g.addoption("--bench-rounds", type=int, default=7, help="rounds per benchmark")
    g.addoption("--bench-round-ms", type=float, default=1.0,
                help="target duration of one round (ms)")


def pytest_report_header(config):
    try:
        import fastact as fa
        from fastact import _dispatch
        from fastact.bench.peers import all_peers
    except ImportError as e:  # pragma: no cover
        return [f"fastact benchmarks: cannot import fastact ({e})"]
    from fastact.bench import suite
    from fastact.bench.report import fmt_n

    used = {p.name for p in suite.peers(config)}
    lines = [f"fastact {fa.__version__}, ISA {_dispatch.current()}, threads "
             f"{config.getoption('--bench-threads') or fa.get_num_threads()}, sizes "
             f"{', '.join(fmt_n(n) for n in suite.sizes(config))}"]
    peers = []
    for p in all_peers():
        if not p.available:
            peers.append(f"{p.name} (not installed, skipped)")
        elif p.name in used:
            peers.append(f"{p.name} {p.version}")
        else:
            peers.append(f"{p.name} (not selected: --bench-peers)")
    lines.append("peers: " + "; ".join(peers))
    return lines


@pytest.fixture(scope="session")
def bench_sizes(pytestconfig):
    from fastact.bench import suite

    return suite.sizes(pytestconfig)


@pytest.fixture(scope="session")
def bench_peers(pytestconfig, bench_threads):
    from fastact.bench import suite

    peers = {p.name: p for p in suite.peers(pytestconfig)}
    for p in peers.values():
        p.set_threads(bench_threads)
    return peers


@pytest.fixture(scope="session")
def bench_threads(pytestconfig):
    import fastact as fa

    n = pytestconfig.getoption("--bench-threads") or fa.get_num_threads()
    prev = fa.get_num_threads()
    fa.set_num_threads(n)
    yield n
    fa.set_num_threads(prev)


@pytest.fixture(scope="session")
def bench_case():
    """bench_case(variant, direction, dtype, n) -> fastact.bench.cases.Case;
    the last case is kept, so that the libraries of one case (consecutive
    tests) share its arrays without holding every large case in memory."""
    from fastact.bench.cases import make_case

    last = {}

    def get(variant, direction, dtype, n):
        key = (variant.label, direction, str(dtype), n)
        if key not in last:
            last.clear()
            last[key] = make_case(variant, direction, dtype, n)
        return last[key]
    yield get
    last.clear()


@pytest.fixture
def run_bench(pytestconfig):
    """run_bench(benchmark, fn, group, nbytes=None, **extra): time fn with
    benchmark.pedantic, rounds of about --bench-round-ms each."""
    from fastact.bench.timing import Timer

    rounds = pytestconfig.getoption("--bench-rounds")
    timer = Timer(target_ms=pytestconfig.getoption("--bench-round-ms"), warmup_ms=0.5)

    def run(benchmark, fn, group, nbytes=None, **extra):
        benchmark.group = group
        benchmark.extra_info.update(extra)
        if getattr(benchmark, "disabled", False):  # --benchmark-disable: run once
            return benchmark(fn)
        iterations = timer.calibrate(fn)
        result = benchmark.pedantic(fn, rounds=rounds, iterations=iterations,
                                    warmup_rounds=1)
        stats = getattr(benchmark, "stats", None)
        if nbytes and stats is not None:
            med = stats.stats.median
            if med:
                benchmark.extra_info["GB/s"] = round(nbytes / med / 1e9, 2)
        return result
    return run
