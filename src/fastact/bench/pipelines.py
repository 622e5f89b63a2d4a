"""Pipelines: fastact where its users run it, between matrix products and
beside a busy core, at 1 and 2 threads, next to torch's own functions.

    python -m fastact.bench.pipelines            # full: 120 rounds, 10,000 calls
    python -m fastact.bench.pipelines --quick    # what the report runs

Cases (each library and thread count in a process of its own):

* ``mlp-numpy``: a NumPy MLP loop, each round ``z = h @ W; z += b;
  gelu(z, out=z)`` then ``l = z @ Wc; softmax(l, out=l)``, (512, 2048) and
  (512, 1000) float32, NumPy's BLAS with its own thread count.  The
  activations by fastact (1 and 2 threads), by NumPy/SciPy as a user writes
  them (the matmul baseline), and by torch (1 and 2 threads).
* ``mlp-torch``: the same loop with ``torch.mm`` for the products (arrays
  shared with torch, no copies).
* ``busy``: a CPU-bound process pinned to one core (started here, stopped
  after), and many calls each of sigmoid on 1e5 and 1e6 float32 and
  softmax on (100, 1000) float32.

Each call is timed on its own (perf_counter); the tables give the median,
p90, p99.9, max and total per function, the calls above 3x the 1-thread
median, and the matmul time of the loop.  A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

__all__ = ["run", "markdown", "main"]

SQRT1_2 = 0.7071067811865476


# ----------------------------------------------------------- the activations

def _numpy_acts():
    from scipy.special import erf

    def gelu(z):
        t = erf(z * np.float32(SQRT1_2))
        t += 1
        t *= 0.5
        z *= t

    def softmax(l):
        l -= l.max(axis=-1, keepdims=True)
        np.exp(l, out=l)
        l /= l.sum(axis=-1, keepdims=True)

    def sigmoid(x, out):
        np.negative(x, out=out)
        np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)

    return {"gelu": gelu, "softmax": softmax, "sigmoid": sigmoid}


def _fastact_acts():
    import fastact as fa
    return {"gelu": lambda z: fa.gelu(z, out=z), "softmax": lambda l: fa.softmax(l, out=l),
            "sigmoid": lambda x, out: fa.sigmoid(x, out=out)}


def _torch_acts():
    import torch

    # the out= forms of F.gelu and torch.softmax (in place, as fastact's)
    def gelu(z):
        t = torch.from_numpy(z)
        torch._C._nn.gelu(t, out=t)

    def softmax(l):
        t = torch.from_numpy(l)
        torch.ops.aten._softmax.out(t, -1, False, out=t)

    def sigmoid(x, out):
        torch.sigmoid(torch.from_numpy(x), out=torch.from_numpy(out))

    return {"gelu": gelu, "softmax": softmax, "sigmoid": sigmoid}


def _acts(lib):
    return {"numpy": _numpy_acts, "fastact": _fastact_acts, "torch": _torch_acts}[lib]()


def _set_threads(lib, nt):
    import fastact as fa
    if lib == "torch":
        import torch
        torch.set_num_threads(nt)
    fa.set_num_threads(nt)


def _settle(fn, seconds=0.005):
    t_end = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < t_end:
        fn()


# ------------------------------------------------------------- one process

def _case_mlp(lib, nt, rounds, mm):
    """One MLP loop; returns per-call times (seconds) of each step."""
    _set_threads(lib, nt)
    rng = np.random.default_rng(0)
    h = rng.standard_normal((512, 2048), dtype=np.float32)
    W = (rng.standard_normal((2048, 2048), dtype=np.float32) / 45)
    b = rng.standard_normal(2048, dtype=np.float32) * 0.1
    Wc = (rng.standard_normal((2048, 1000), dtype=np.float32) / 45)
    z = np.empty((512, 2048), np.float32)
    logits = np.empty((512, 1000), np.float32)
    if mm == "torch":
        import torch
        th, tW, tWc = torch.from_numpy(h), torch.from_numpy(W), torch.from_numpy(Wc)
        tz, tl = torch.from_numpy(z), torch.from_numpy(logits)

        def mm1():
            torch.mm(th, tW, out=tz)

        def mm2():
            torch.mm(tz, tWc, out=tl)
    else:
        def mm1():
            np.matmul(h, W, out=z)

        def mm2():
            np.matmul(z, Wc, out=logits)
    act = _acts(lib)
    gelu, softmax = act["gelu"], act["softmax"]

    def one_round(times=None):
        pc = time.perf_counter
        t0 = pc()
        mm1()
        t1 = pc()
        z.__iadd__(b)
        t2 = pc()
        gelu(z)
        t3 = pc()
        mm2()
        t4 = pc()
        softmax(logits)
        t5 = pc()
        if times is not None:
            times["matmul"].append((t1 - t0) + (t4 - t3))
            times["gelu"].append(t3 - t2)
            times["softmax"].append(t5 - t4)

    _settle(one_round, 0.05)
    times = {"matmul": [], "gelu": [], "softmax": []}
    for _ in range(rounds):
        one_round(times)
    return times


def _busy_process():
    """A CPU-bound process pinned to the last CPU this process may use."""
    code = "while True: pass"
    p = subprocess.Popen([sys.executable, "-c", code])
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(p.pid, {cpus[-1]})
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        pass
    time.sleep(0.2)
    return p


def _case_busy(lib, nt, calls):
    _set_threads(lib, nt)
    rng = np.random.default_rng(0)
    x5 = rng.standard_normal(100_000, dtype=np.float32)
    x6 = rng.standard_normal(1_000_000, dtype=np.float32)
    xs = rng.standard_normal((100, 1000), dtype=np.float32)
    y5, y6, ys = np.empty_like(x5), np.empty_like(x6), np.empty_like(xs)
    act = _acts(lib)
    sig, smax = act["sigmoid"], act["softmax"]
    cases = {"sigmoid 1e5": lambda: sig(x5, y5), "sigmoid 1e6": lambda: sig(x6, y6),
             "softmax (100, 1000)": lambda: (np.copyto(ys, xs), smax(ys))}
    out = {}
    p = _busy_process()
    try:
        for name, fn in cases.items():
            _settle(fn)
            ts = []
            pc = time.perf_counter
            for _ in range(calls):
                t0 = pc()
                fn()
                ts.append(pc() - t0)
            out[name] = ts
    finally:
        p.kill()
        p.wait()
    return out


def _child(args) -> int:
    if args.case == "busy":
        res = _case_busy(args.lib, args.threads, args.calls)
    else:
        res = _case_mlp(args.lib, args.threads, args.rounds,
                        "torch" if args.case == "mlp-torch" else "numpy")
    json.dump(res, sys.stdout)
    return 0


# ------------------------------------------------------------- the parent

def _stats(ts, ref_median=None) -> dict:
    a = np.sort(np.asarray(ts, dtype=np.float64))
    med = float(np.median(a))
    ref = med if ref_median is None else ref_median
    return {"median": med, "p90": float(np.quantile(a, 0.9)),
            "p999": float(np.quantile(a, 0.999)), "max": float(a[-1]), "total": float(a.sum()),
            "calls": int(a.size), "over3x": int((a > 3 * ref).sum())}


def _available(lib) -> bool:
    try:
        __import__({"numpy": "scipy.special", "fastact": "fastact", "torch": "torch"}[lib])
        return True
    except ImportError:
        return False


def _spawn(case, lib, nt, rounds, calls) -> dict:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    cmd = [sys.executable, "-m", "fastact.bench.pipelines", "--child", "--case", case,
           "--lib", lib, "--threads", str(nt), "--rounds", str(rounds), "--calls", str(calls)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"pipelines: {case} {lib} {nt} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout)


def run(quick: bool = False, threads=(1, 2), progress: bool = True) -> dict:
    """Every case, each library and thread count in a process of its own."""
    rounds, calls = (40, 1000) if quick else (120, 10_000)
    plan = []
    for case in ("mlp-numpy", "mlp-torch", "busy"):
        if case == "mlp-torch" and not _available("torch"):
            continue
        for lib in ("fastact", "torch", "numpy"):
            if not _available(lib) or (case == "busy" and lib == "numpy"):
                continue
            for nt in (threads if lib != "numpy" else (max(threads),)):
                plan.append((case, lib, nt))
    raw = {}
    for i, (case, lib, nt) in enumerate(plan):
        if progress:
            print(f"pipelines [{i + 1}/{len(plan)}] {case} {lib} {nt} thread(s)",
                  file=sys.stderr, flush=True)
        raw[f"{case}|{lib}|{nt}"] = _spawn(case, lib, nt, rounds, calls)
    # statistics, the 3x counts against the 1-thread median of the library
    stats = {}
    for key, res in raw.items():
        case, lib, nt = key.split("|")
        one = raw.get(f"{case}|{lib}|1")
        stats[key] = {fn: _stats(ts, float(np.median(one[fn])) if one else None)
                      for fn, ts in res.items()}
    return {"rounds": rounds, "calls": calls, "stats": stats,
            "numpy_blas_threads": _blas_threads()}


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
        return [(i["internal_api"], i["num_threads"]) for i in threadpool_info()
                if i["user_api"] == "blas"]
    except Exception:  # noqa: BLE001
        return []


def _ms(v) -> str:
    return f"{1e3 * v:.3g}"


def markdown(data: dict) -> list:
    """The report's "Pipelines" section (Markdown lines)."""
    st = data["stats"]
    lines = ["## Pipelines", "",
             f"Each step timed on its own, {data['rounds']} rounds of the MLP loops, "
             f"{data['calls']} calls per function beside a busy core; each library and "
             "thread count in a process of its own (`python -m fastact.bench.pipelines`). "
             "Times in ms: median / p90 / p99.9 / max, then the total; `>3x`: calls "
             "above 3x the same library's 1-thread median.  BLAS libraries loaded "
             f"(threads): {data.get('numpy_blas_threads')}.", ""]
    for case, title in (("mlp-numpy", "NumPy MLP (NumPy matmul)"),
                        ("mlp-torch", "MLP with torch.mm for the products")):
        keys = [k for k in st if k.startswith(case + "|")]
        if not keys:
            continue
        lines += [f"### {title}", "",
                  "| activations by | threads | gelu | gelu total | softmax | softmax total "
                  "| >3x (gelu, softmax) | matmul total |",
                  "| --- | ---: | --- | ---: | --- | ---: | ---: | ---: |"]
        for k in keys:
            _, lib, nt = k.split("|")
            s = st[k]
            cell = lambda f: " / ".join(_ms(s[f][q]) for q in ("median", "p90", "p999", "max"))
            lines.append(f"| {lib} | {nt} | {cell('gelu')} | {_ms(s['gelu']['total'])} | "
                         f"{cell('softmax')} | {_ms(s['softmax']['total'])} | "
                         f"{s['gelu']['over3x']}, {s['softmax']['over3x']} | "
                         f"{_ms(s['matmul']['total'])} |")
        lines.append("")
    keys = [k for k in st if k.startswith("busy|")]
    if keys:
        lines += ["### Beside a busy core", "",
                  "| library | threads | function | median | p90 | p99.9 | max | >3x |",
                  "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
        for k in keys:
            _, lib, nt = k.split("|")
            for fn, s in st[k].items():
                lines.append(f"| {lib} | {nt} | {fn} | {_ms(s['median'])} | {_ms(s['p90'])} | "
                             f"{_ms(s['p999'])} | {_ms(s['max'])} | {s['over3x']} |")
        lines.append("")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fastact.bench.pipelines",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="40 rounds, 1000 calls")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--lib", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=120, help=argparse.SUPPRESS)
    ap.add_argument("--calls", type=int, default=10_000, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)
    data = run(quick=args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    print("\n".join(markdown(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
