"""Run the benchmark: every variant x direction x dtype x size x thread
count, fastact and every installed peer side by side in this process, plus
the copy / add3 bandwidth limits; returns one dict of raw figures (what
results.json holds)."""

from __future__ import annotations

import math
import os
import platform
import sys
import time
import warnings
from time import perf_counter_ns
from dataclasses import asdict, dataclass, field

import numpy as np

import fastact as fa
from fastact import _dispatch
from fastact.bench import cases as C
from fastact.bench import peers as P
from fastact.bench.timing import FULL, QUICK, Timer, Timing

__all__ = ["Config", "run", "environment", "QUICK_SIZES", "FULL_SIZES"]

QUICK_SIZES = (1_000, 100_000, 1_000_000)
FULL_SIZES = (1_000, 10_000, 100_000, 1_000_000, 16_000_000)
DIRECTIONS = ("forward", "backward")


@dataclass
class Config:
    sizes: tuple = QUICK_SIZES
    dtypes: tuple = C.DTYPES
    threads: tuple = ()            # () = the current fastact thread count
    functions: tuple | None = None
    directions: tuple = DIRECTIONS
    peers: tuple | None = None     # None = every installed peer
    timer: Timer = field(default_factory=lambda: QUICK)
    mode: str = "quick"
    progress: bool = True
    seed: int = 0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["timer"] = asdict(self.timer)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        d = dict(d)
        d["timer"] = Timer(**d["timer"])
        for k in ("sizes", "dtypes", "threads", "functions", "directions", "peers"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        return cls(**d)


# ------------------------------------------------------------------ environment

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(peers) -> dict:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    env = {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "fastact": fa.__version__,
        "isa": _dispatch.current(),
        "fastact_config": fa.show_config(print_out=False),
        "numpy": np.__version__,
        "env_vars": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "FASTACT_ISA",
                                                 "OPENBLAS_CORETYPE", "MKL_NUM_THREADS",
                                                 "OMP_WAIT_POLICY") if k in os.environ},
        "peers": {p.name: {"available": p.available, "version": p.version,
                           "reason": p.reason} for p in peers},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    try:
        env["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    return env


# ------------------------------------------------------------------ progress

class _Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.n, self.bar = total, 0, None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, unit="case", file=sys.stderr, dynamic_ncols=True)
            except ImportError:
                self.bar = None

    def update(self, desc: str):
        self.n += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_description(desc, refresh=False)
            self.bar.update(1)
        else:
            sys.stderr.write(f"\r[{self.n}/{self.total}] {desc:<48}")
            sys.stderr.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            sys.stderr.write("\n")


# ------------------------------------------------------------------ agreement

def _tolerances(dtype) -> tuple:
    return (1e-4, 1e-6) if np.dtype(dtype) == np.float32 else (1e-9, 1e-12)


def _compare(res, ref, dtype) -> dict:
    rtol, atol = _tolerances(dtype)
    res = res if isinstance(res, tuple) else (res,)
    ref = ref if isinstance(ref, tuple) else (ref,)
    out = {"ok": True, "max_abs_err": 0.0, "max_rel_err": 0.0, "n_bad": 0}
    for a, b in zip(res, ref):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            out.update(ok=False, note=f"shape {a.shape} != {b.shape}")
            continue
        err = np.abs(a - b)
        fin = np.isfinite(err)
        nanmismatch = int(np.count_nonzero(np.isnan(a) != np.isnan(b)))
        bad = ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        if fin.any():
            out["max_abs_err"] = max(out["max_abs_err"], float(err[fin].max()))
            rel = err[fin] / np.maximum(np.abs(b[fin]), np.finfo(np.dtype(dtype)).tiny)
            out["max_rel_err"] = max(out["max_rel_err"], float(rel.max()))
        nb = int(bad.sum())
        if nb or nanmismatch:
            out["ok"] = False
            out["n_bad"] += nb
            i = int(np.argmax(np.where(bad, err, -1).ravel())) if nb else 0
            out.setdefault("worst", {"peer": float(a.ravel()[i]), "fastact": float(b.ravel()[i])})
    return out


def check(variant, direction, dtype, peers) -> dict:
    """Run fastact and every peer once over the test domain; returns
    {peer name: agreement record} (peers lacking the function absent)."""
    case = C.check_case(variant, direction, dtype)
    ref = C.fastact_call(case, out=False)()
    ref = tuple(np.array(r) for r in ref) if isinstance(ref, tuple) else np.array(ref)
    out = {}
    for p in peers:
        try:
            f = p.make(case)
            if f is None:
                continue
            r = f()
            r = tuple(np.array(t) for t in r) if isinstance(r, tuple) else np.array(r)
        except Exception as e:  # noqa: BLE001 - a peer failing is reported, not fatal
            out[p.name] = {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}
            continue
        rec = _compare(r, ref, dtype)
        if "worst" in rec:
            xs = case.x.ravel()
            a = np.asarray(r[0] if isinstance(r, tuple) else r, dtype=np.float64).ravel()
            b = np.asarray(ref[0] if isinstance(ref, tuple) else ref, dtype=np.float64).ravel()
            rtol, atol = _tolerances(dtype)
            bad = ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
            if bad.any() and a.size == xs.size:
                i = int(np.argmax(np.where(bad, np.abs(a - b), -1)))
                rec["worst"]["x"] = float(xs[i])
        out[p.name] = rec
    return out


# ------------------------------------------------------------------ limits

def _limit_calls(kind: str, dtype, n: int, peers):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(n).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    c = np.empty_like(a)
    calls = {}
    if kind == "copy":
        calls["numpy"] = lambda: np.copyto(c, a)
    else:
        calls["numpy"] = lambda: np.add(a, b, out=c)
    torch = next((p.mod for p in peers if p.name == "torch"), None)
    if torch is not None:
        ta, tb, tc = (torch.from_numpy(v) for v in (a, b, c))
        if kind == "copy":
            calls["torch"] = lambda: tc.copy_(ta)
        else:
            calls["torch"] = lambda: torch.add(ta, tb, out=tc)
    nbytes = (2 if kind == "copy" else 3) * a.nbytes
    return calls, nbytes


# ------------------------------------------------------------------ main loop

# untimed calls before timing a library: the previous library's idle thread
# pool may still spin on the cores.  torch's OpenMP workers spin for up to
# ~10 ms on the Intel machines (libgomp's spin count times a `pause` of
# ~140 cycles; ~1 ms on Zen 4): with 5 ms, fastact's 2-thread softmax
# backward after torch measured 1.9x its time alone.
SETTLE_NS = 20_000_000


def settle(fn, ns: int) -> None:
    """Call fn (untimed) until ns nanoseconds have passed, at least once."""
    t_end = perf_counter_ns() + ns
    fn()
    while perf_counter_ns() < t_end:
        fn()


def _time_all(calls: dict, timer: Timer) -> dict:
    """Time every callable, in two passes (forward order, then reversed) so
    that a burst of load on this shared machine hits both sides; returns
    {name: Timing or Exception}."""
    inner, res = {}, {}
    for name, fn in calls.items():
        try:
            inner[name] = timer.calibrate(fn)
        except Exception as e:  # noqa: BLE001
            res[name] = e
    names = [n for n in calls if n in inner]
    half = max(1, math.ceil(timer.repeats / 2))
    per_pass = Timer(**{**timer.__dict__, "repeats": half,
                        "min_repeats": max(1, math.ceil(timer.min_repeats / 2))})
    for order in (names, names[::-1]):
        for name in order:
            # untimed calls first (SETTLE_NS): the previous library's idle
            # pool stalls the first parallel calls of the next one
            settle(calls[name], SETTLE_NS)
            t = per_pass.measure(calls[name], inner[name])
            res[name] = res[name].merge(t) if name in res else t
    return res


# Threaded peers that must not share a process: on a machine with few
# cores, three or more thread pools alive in one process (fastact's pool,
# torch's own OpenMP, onnxruntime's pool, numexpr's) starve one another and
# a 10 µs call takes milliseconds (every parallel call waits for a time
# slice).  So fastact runs side by side with each group below in a process
# of its own; fastact's headline times come from the first group.
GROUPS = (("numpy", "scipy", "torch"), ("numexpr",), ("onnxruntime",))


def groups_for(peers) -> list:
    names = [p.name for p in peers if p.available]
    out = [[n for n in g if n in names] for g in GROUPS]
    out = [g for g in out if g]
    rest = [n for n in names if not any(n in g for g in out)]
    if rest:
        out.append(rest)
    return out or [[]]


def run(config: Config, isolate: bool = True) -> dict:
    """Run the whole benchmark; returns the raw figures (results.json)."""
    t_start = time.perf_counter()
    all_peers = P.all_peers(config.peers)
    env = environment(all_peers)
    threads = tuple(config.threads) or (fa.get_num_threads(),)
    config.threads = threads
    variants = C.variants(set(config.functions) if config.functions else None)
    if not variants:
        raise ValueError(f"no activation matches {config.functions}; "
                         f"known: {', '.join(v.label for v in C.variants())}")
    groups = groups_for(all_peers)
    n_cases = len(threads) * len(config.dtypes) * len(config.sizes) * len(variants) * len(
        config.directions)
    prog = _Progress(n_cases * len(groups), config.progress)
    parts = []
    try:
        for gi, names in enumerate(groups):
            if isolate and len(groups) > 1:
                parts.append(_run_in_subprocess(config, names, gi == 0, prog))
            else:
                parts.append(run_group(config, names, gi == 0, prog.update))
    finally:
        prog.close()
    results, limits, checks = [], [], []
    env["errors"] = [p["error"] for p in parts if p.get("error")]
    for gi, part in enumerate(parts):
        for r in part["results"]:
            if r["library"] == "fastact" and gi > 0:
                continue  # fastact's figures come from the first group
            results.append(r)
        limits += part["limits"]
        checks += [c for c in part["checks"]]
    try:
        env["loadavg_end"] = os.getloadavg()
    except OSError:
        pass
    env["process_groups"] = groups
    return {"environment": env, "config": config.as_dict(), "threads": list(threads),
            "results": results, "limits": limits, "checks": checks,
            "variants": [{"label": v.label, "function": v.name, "kind": v.kind,
                          "params": v.params, "backward_from_output": v.from_output}
                         for v in variants],
            "elapsed_s": time.perf_counter() - t_start}


def _run_in_subprocess(config, names, with_limits, prog) -> dict:
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fastact-bench-") as tmp:
        spec = os.path.join(tmp, "spec.json")
        out = os.path.join(tmp, "out.json")
        with open(spec, "w") as f:
            json.dump({"config": config.as_dict(), "peers": names, "limits": with_limits,
                       "out": out}, f)
        proc = subprocess.Popen([sys.executable, "-m", "fastact.bench._worker", spec],
                                stdout=subprocess.PIPE, text=True, bufsize=1)
        for line in proc.stdout:
            if line.startswith("P "):
                prog.update(line[2:].rstrip("\n") + f" [{'+'.join(names)}]")
        rc = proc.wait()
        if rc != 0 or not os.path.exists(out):
            # report it and go on with the other groups
            sys.stderr.write(f"\nfastact.bench: the worker for {names} failed (exit {rc}); "
                             f"their figures are missing from the report\n")
            return {"results": [], "limits": [], "checks": [],
                    "error": f"worker for {'+'.join(names)} failed (exit {rc})"}
        with open(out) as f:
            return json.load(f)


def run_group(config: Config, names, with_limits: bool, progress) -> dict:
    """fastact and the peers ``names`` side by side, in this process."""
    peers = [p for p in P.all_peers(names) if p.available]
    variants = C.variants(set(config.functions) if config.functions else None)
    results, limits, checks = [], [], []
    checked = set()
    prev_threads = fa.get_num_threads()
    try:
        for nt in config.threads:
            fa.set_num_threads(nt)
            for p in peers:
                p.set_threads(nt)
            for dtype in config.dtypes:
                for n in config.sizes:
                    if with_limits:
                        for kind in ("copy", "add3"):
                            calls, nbytes = _limit_calls(kind, dtype, n, peers)
                            for lib, t in _time_all(calls, config.timer).items():
                                limits.append({"kind": kind, "dtype": dtype, "n": n,
                                               "threads": nt, "library": lib, "bytes": nbytes,
                                               **t.as_dict(), "gbps": nbytes / t.median_ns})
                    for v in variants:
                        for direction in config.directions:
                            progress(f"{v.label} {direction[0]}wd {dtype} N={n:.0e} t{nt}")
                            key = (v.label, direction, dtype)
                            with warnings.catch_warnings(), np.errstate(all="ignore"):
                                warnings.simplefilter("ignore")
                                if key not in checked and peers:
                                    checked.add(key)
                                    for lib, rec in check(v, direction, dtype, peers).items():
                                        checks.append({"label": v.label, "function": v.name,
                                                       "direction": direction, "dtype": dtype,
                                                       "library": lib, **rec})
                                results += _run_case(v, direction, dtype, n, nt, peers, config)
    finally:
        fa.set_num_threads(prev_threads)
    return {"results": results, "limits": limits, "checks": checks}


def _run_case(v, direction, dtype, n, nt, peers, config) -> list:
    try:
        case = C.make_case(v, direction, dtype, n, seed=config.seed)
    except Exception as e:  # noqa: BLE001 - e.g. a function fastact rejects at this size
        return [{"label": v.label, "function": v.name, "kind": v.kind, "direction": direction,
                 "dtype": dtype, "n": n, "threads": nt, "library": "fastact",
                 "error": f"{type(e).__name__}: {e}"[:300]}]
    calls = {"fastact": C.fastact_call(case)}
    for p in peers:
        try:
            f = p.make(case)
        except Exception:  # noqa: BLE001 - the agreement check reports it
            f = None
        if f is not None:
            calls[p.name] = f
    out = []
    timings = _time_all(calls, config.timer)
    fa_t = timings.get("fastact")
    for lib, t in timings.items():
        rec = {"label": v.label, "function": v.name, "kind": v.kind, "direction": direction,
               "dtype": dtype, "n": case.n, "threads": nt, "library": lib,
               "bytes": case.nbytes}
        if isinstance(t, Exception):
            rec["error"] = f"{type(t).__name__}: {t}"[:300]
        else:
            rec.update(t.as_dict(), gbps=case.nbytes / t.median_ns)
            if lib != "fastact" and isinstance(fa_t, Timing):
                # fastact measured side by side in this process (speed-ups use it)
                rec["fastact_ns"] = fa_t.median_ns
        out.append(rec)
    return out


def default_config(mode: str = "quick", **kw) -> Config:
    if mode == "full":
        try:
            usable = len(os.sched_getaffinity(0))
        except AttributeError:
            usable = os.cpu_count() or 1
        threads = sorted({1, fa.get_num_threads()} | ({2} if usable >= 2 else set()))
        base = Config(sizes=FULL_SIZES, threads=tuple(threads), timer=FULL, mode="full")
    else:
        base = Config()
    for k, v in kw.items():
        if v is not None:
            setattr(base, k, v)
    return base
