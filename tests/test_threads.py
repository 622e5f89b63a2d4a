"""Threads: the thread-count API, OMP_NUM_THREADS, threadpoolctl, bitwise
identical results for any thread count, and concurrent Python threads.
No timing is asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import fastact as fa
from fastact import _elementwise
from fastact import _reference as R
from fastact import _spec

from conftest import DEFAULT_CASES, FLOATS, backward, bitwise_eq, forward

SRC = str(Path(fa.__file__).resolve().parents[1])

# a build without the pool (FASTACT_NO_THREADS=1) always runs on one
# thread: the thread-count tests do not apply there
needs_pool = pytest.mark.skipif(not fa.show_config(print_out=False)["thread_pool"],
                                reason="built without the thread pool: one thread")


@needs_pool
def test_get_set_num_threads():
    n0 = fa.get_num_threads()
    assert isinstance(n0, int) and n0 >= 1
    fa.set_num_threads(1)
    assert fa.get_num_threads() == 1
    fa.set_num_threads(3)
    assert fa.get_num_threads() == 3
    fa.set_num_threads(np.int64(2))
    assert fa.get_num_threads() == 2
    fa.set_num_threads(n0)
    assert fa.get_num_threads() == n0


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                     ("2", TypeError), (None, TypeError), (True, TypeError)])
def test_set_num_threads_invalid(bad, exc):
    n0 = fa.get_num_threads()
    with pytest.raises(exc):
        fa.set_num_threads(bad)
    assert fa.get_num_threads() == n0


@needs_pool
def test_num_threads_context_restores():
    n0 = fa.get_num_threads()
    with fa.num_threads(1):
        assert fa.get_num_threads() == 1
        with fa.num_threads(2):
            assert fa.get_num_threads() == 2
        assert fa.get_num_threads() == 1
    assert fa.get_num_threads() == n0
    with pytest.raises(RuntimeError):
        with fa.num_threads(1):
            raise RuntimeError
    assert fa.get_num_threads() == n0
    with pytest.raises(ValueError):
        with fa.num_threads(0):
            pass
    assert fa.get_num_threads() == n0


def _run(code, env_extra):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("OMP_NUM_THREADS", None)
    env.update(env_extra)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@needs_pool
def test_omp_num_threads_honoured():
    code = "import fastact as fa; print(fa.get_num_threads())"
    assert _run(code, {"OMP_NUM_THREADS": "1"}) == "1"
    assert _run(code, {"OMP_NUM_THREADS": "3"}) == "3"
    code = ("import fastact as fa, numpy as np; x = np.linspace(-5, 5, 2_000_003);"
            "print(float(fa.sigmoid(x).sum()))")
    assert _run(code, {"OMP_NUM_THREADS": "1"}) == _run(code, {"OMP_NUM_THREADS": "2"})


@needs_pool
def test_threadpoolctl_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    n0 = fa.get_num_threads()
    with threadpoolctl.threadpool_limits(1):
        assert fa.get_num_threads() == 1
        x = np.linspace(-5, 5, 1_500_001)
        y1 = fa.tanh(x)
    assert fa.get_num_threads() == n0
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fa.get_num_threads() == 1
    assert fa.get_num_threads() == n0
    assert bitwise_eq(y1, fa.tanh(x))
    info = threadpoolctl.threadpool_info()
    assert any(i.get("internal_api") == "fastact" and i.get("user_api") == "openmp"
               for i in info)


def _big(dtype, n=1_100_003):
    rng = np.random.default_rng(42)
    x = rng.uniform(-40, 40, n).astype(dtype)
    x[::1001] = np.nan
    x[7::997] = 0.0
    return x


KERNEL_CASES = [(s.name, p) for s in _spec.SPECS if s.kind == "elementwise"
                for p in R.PARAM_CASES[s.name][:1]] + [("gelu", {"approximate": "tanh"})]


@pytest.mark.parametrize("dtype", FLOATS, ids=["f32", "f64"])
@pytest.mark.parametrize("name,params", KERNEL_CASES,
                         ids=[n + ("-tanh" if p.get("approximate") == "tanh" else "")
                              for n, p in KERNEL_CASES])
def test_threads_bitwise_identical(name, params, dtype):
    x = _big(dtype)
    g = np.linspace(-2, 2, x.size).astype(dtype)
    k = _spec.BY_NAME[name].kernel_for(**params)
    assert x.size > _elementwise._grain(k), "array too small to use threads"
    with fa.num_threads(1):
        y1 = forward(name, x, params)
        b1 = backward(name, g, x, params)
    with fa.num_threads(2):
        y2 = forward(name, x, params)
        b2 = backward(name, g, x, params)
        # strided (general path) with threads
        ys = forward(name, x[::2], params)
    assert bitwise_eq(y1, y2)
    assert bitwise_eq(b1, b2)
    assert bitwise_eq(ys, y1[::2])
    if _spec.BY_NAME[name].y_form_ok(params):
        with fa.num_threads(1):
            c1 = getattr(fa, name + "_backward")(g, y=y1, **params)
        with fa.num_threads(2):
            c2 = getattr(fa, name + "_backward")(g, y=y1, **params)
        assert bitwise_eq(c1, c2)


def test_many_python_threads():
    """8 Python threads calling at once (the GIL is released) get the
    results a single call gives, with the pool's threads inside too."""
    rng = np.random.default_rng(7)
    cases = [c.values for c in DEFAULT_CASES]
    inputs = [rng.uniform(-10, 10, 300_001 + 1000 * i) for i in range(8)]
    expected = {(i, n): forward(n, inputs[i], p) for i in range(8) for n, p in cases}
    expected_b = {(i, n): backward(n, inputs[i], inputs[i], p) for i in range(8) for n, p in cases}

    def work(i):
        bad = []
        for _ in range(2):
            for n, p in cases:
                if not bitwise_eq(forward(n, inputs[i], p), expected[(i, n)]):
                    bad.append(("fwd", n))
                if not bitwise_eq(backward(n, inputs[i], inputs[i], p), expected_b[(i, n)]):
                    bad.append(("bwd", n))
                out = np.empty_like(inputs[i])
                forward(n, inputs[i], p, out=out)
                if not bitwise_eq(out, expected[(i, n)]):
                    bad.append(("out", n))
        return bad

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(work, range(8)))
    assert results == [[]] * 8


@needs_pool
def test_set_num_threads_seen_by_other_python_threads():
    n0 = fa.get_num_threads()
    try:
        fa.set_num_threads(1)
        with ThreadPoolExecutor(2) as ex:
            assert list(ex.map(lambda _: fa.get_num_threads(), range(4))) == [1] * 4
    finally:
        fa.set_num_threads(n0)


# --------------------------------------------------------- instruction sets

def test_supported_isas():
    from fastact import _dispatch
    isas = _dispatch.supported_isas()
    assert isas and isas[0] == "baseline"
    assert set(isas) <= set(_dispatch.LEVELS)
    assert set(isas) <= set(_dispatch.built_isas())
    assert _dispatch.current() == isas[-1] or os.environ.get("FASTACT_ISA")
    for isa in isas:
        with _dispatch.using(isa):
            assert _dispatch.current() == isa
            assert fa.show_config(print_out=False)["isa"] == isa
    with pytest.raises(ValueError):
        _dispatch.use("no-such-isa")


def test_fastact_isa_env():
    from fastact import _dispatch
    for isa in _dispatch.supported_isas():
        out = _run("import fastact as fa; print(fa._dispatch.current())", {"FASTACT_ISA": isa})
        assert out == isa
    env = dict(os.environ, PYTHONPATH=SRC, FASTACT_ISA="bogus")
    r = subprocess.run([sys.executable, "-c", "import fastact"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0 and "FASTACT_ISA" in r.stderr


# ------------------------------------------- one setting, every family/thread

HELPER = '''
import numpy as np, fastact as fa

def calls():
    rng = np.random.default_rng(3)
    x2 = rng.standard_normal((256, 4096)).astype(np.float32)
    x3 = rng.standard_normal((8, 64, 2048)).astype(np.float32)
    w = rng.uniform(0, 0.5, 64).astype(np.float32)
    return {
        "elementwise": lambda: fa.sigmoid(x2),
        "axis": lambda: fa.softmax(x2),
        "glu": lambda: fa.glu(x2),
        "prelu": lambda: fa.prelu(x3, w),
        "prelu_backward": lambda: fa.prelu_backward(x3, x3, w),
    }
'''


_ns: dict = {}
exec(HELPER, _ns)
_family_calls = _ns["calls"]


@needs_pool
@pytest.mark.parametrize("family", list(_family_calls()))
def test_setting_reaches_every_family_in_fresh_threads(family):
    """set_num_threads(1) holds in a Python thread started after it, for
    every family: that thread's call starts no pool worker; the results
    are bitwise those of any thread count."""
    call = _family_calls()[family]
    code = f"""
import threading, numpy as np, fastact as fa
from tests_threads_helper import calls
fa.set_num_threads(1)
res = {{}}
t = threading.Thread(target=lambda: res.update(n=fa.get_num_threads(), y=calls()[{family!r}]()))
t.start(); t.join()
print(res["n"], fa._fastact_pool._workers())
"""
    out = _run_helper(code)
    assert out == "1 0", out
    y2 = call()
    with fa.num_threads(1):
        y1 = call()
    for a, b in zip(y1 if isinstance(y1, tuple) else [y1], y2 if isinstance(y2, tuple) else [y2]):
        assert bitwise_eq(np.asarray(a), np.asarray(b))


def _run_helper(code, timeout=120, env_extra=None):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        Path(d, "tests_threads_helper.py").write_text(HELPER)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, d, os.environ.get("PYTHONPATH", "")]))
        env.pop("OMP_NUM_THREADS", None)
        env.update(env_extra or {})
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           timeout=timeout, cwd=d)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@needs_pool
def test_nesting_restores_exactly():
    """num_threads inside threadpool_limits (and the other way round), and
    set_num_threads inside either: leaving each block puts back exactly what
    was there, for this thread and every other."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    n0 = fa.get_num_threads()

    def seen_elsewhere():
        with ThreadPoolExecutor(2) as ex:
            return set(ex.map(lambda _: fa.get_num_threads(), range(4)))

    with threadpoolctl.threadpool_limits(1):
        assert fa.get_num_threads() == 1
        with fa.num_threads(4):
            assert fa.get_num_threads() == 4
            assert seen_elsewhere() == {4}
        assert fa.get_num_threads() == 1
        assert seen_elsewhere() == {1}
    assert fa.get_num_threads() == n0
    assert seen_elsewhere() == {n0}

    with fa.num_threads(3):
        with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
            assert fa.get_num_threads() == 1
            with fa.num_threads(2):
                fa.set_num_threads(5)
            assert fa.get_num_threads() == 1
        assert fa.get_num_threads() == 3
    assert fa.get_num_threads() == n0
    assert seen_elsewhere() == {n0}


@needs_pool
def test_omp_num_threads_nesting_in_subprocess():
    """OMP_NUM_THREADS sets the start value; the blocks restore it."""
    code = """
import threadpoolctl, fastact as fa
a = fa.get_num_threads()
with threadpoolctl.threadpool_limits(1):
    with fa.num_threads(4):
        pass
print(a, fa.get_num_threads())
"""
    assert _run_helper(code, env_extra={"OMP_NUM_THREADS": "3"}) == "3 3"


# ----------------------------------------------------------------- fork()

FORK_CODE = """
import multiprocessing as mp, numpy as np, fastact as fa, sys
from tests_threads_helper import calls
fam = sys.argv[1]
c = calls()[fam]
ref = c()                                   # the parent's pool is running now
q = mp.get_context("fork").Queue()

def child():
    y = c()
    q.put(np.array_equal(np.asarray(y[0] if isinstance(y, tuple) else y),
                         np.asarray(ref[0] if isinstance(ref, tuple) else ref)))

p = mp.get_context("fork").Process(target=child)
p.start(); p.join(60)
alive = p.is_alive()
if alive:
    p.kill()
ok = (not alive) and p.exitcode == 0 and q.get(timeout=5)
with mp.get_context("fork").Pool(2) as pool:
    xs = [np.full(300_000, float(i), np.float32) for i in range(4)]
    r = pool.map_async(fa.sigmoid, xs).get(timeout=60)
    ok = ok and all(np.array_equal(a, fa.sigmoid(b)) for a, b in zip(r, xs))
c()                                          # the parent still works
print("ok" if ok else "hung" if alive else "bad")
"""


@needs_pool
@pytest.mark.parametrize("family", ["elementwise", "axis", "glu", "prelu", "prelu_backward"])
def test_forked_child_works(family):
    """A child made by fork() after the parent ran a parallel call can call
    every family (it starts its own workers); the parent is unaffected."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        Path(d, "tests_threads_helper.py").write_text(HELPER)
        Path(d, "fork_case.py").write_text(FORK_CODE)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, d, os.environ.get("PYTHONPATH", "")]))
        r = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "fork_case.py",
                            family], env=env, capture_output=True, text=True, timeout=150, cwd=d)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok", r.stdout + r.stderr


@needs_pool
def test_pool_bounded_workers_and_results():
    """The pool starts at most setting - 1 workers, and many threads calling
    at once with different settings still get bitwise the one-thread result."""
    x = _big(np.float32, 2_000_003)
    with fa.num_threads(1):
        ref = fa.gelu(x)
    errs = []

    def work(i):
        for _ in range(5):
            if not bitwise_eq(fa.gelu(x), ref):
                errs.append(i)
            fa.set_num_threads(1 + (i % 3))
    n0 = fa.get_num_threads()
    try:
        with ThreadPoolExecutor(6) as ex:
            list(ex.map(work, range(6)))
    finally:
        fa.set_num_threads(n0)
    assert not errs
    assert fa._fastact_pool._workers() <= 2
