"""Pipelines: fastact where its users run it, between matrix products and
beside a busy core, at 1 and 2 threads, next to torch's own functions.

    python -m fastact.bench.pipelines            # full: 120 rounds, 10,000 calls
                                                 # (e2e: 30 rounds)
    python -m fastact.bench.pipelines --quick    # what the report runs (e2e: 5)
    python -m fastact.bench.pipelines --quick --cases e2e   # some cases only

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
* ``e2e``: end-to-end inference, each library with its own idiom, the
  matrix products' threads (BLAS or torch) set to fastact's count:

  - ``mlp4``: a 4-layer MLP forward, batch 512, 2048 -> 2048 -> 2048 ->
    2048 -> 2048 float32, GELU after each of the first 3 layers, the last
    layer linear (its bias added, no activation: the four products are the
    same in every row, only the activations differ; the softmax head is the
    ``mlp-*`` cases' subject).  NumPy/SciPy: ``np.matmul(x, W, out=z);
    z += b`` then GELU by ``erf`` with one temporary; fastact:
    ``np.matmul(x, W, out=z); fa.gelu(z, bias=b, out=z)``; torch:
    ``torch.addmm(b, x, W, out=z)`` then ``gelu_`` (torch's own products,
    arrays shared through ``torch.from_numpy``).
  - ``mlp4 bf16``: the same MLP with bfloat16 (``ml_dtypes``) weights,
    biases and activations, run once fastact takes bfloat16 arrays (else
    skipped with a note).  NumPy has no bfloat16 product, so every row
    uses torch's bfloat16 ``torch.mm`` on tensors sharing the arrays'
    memory; the activations: NumPy/SciPy through a float32 temporary (cast
    in, ``+= b``, GELU, cast back), fastact ``fa.gelu(z, bias=b, out=z)``
    on the bfloat16 array, torch ``addmm`` + ``gelu_`` in bfloat16.
  - ``attn``: one attention block's scores and softmax, 16 heads, L 1024,
    d 64 float32, causal: ``s = q @ k^T`` (batched ``np.matmul``), the
    scaled masked softmax, ``s @ v``; the mask a (L, L) array of 0 / -inf.
    NumPy: ``s *= scale; s += mask`` then max, exp, sum, divide in place;
    fastact: ``fa.softmax(s, scale=scale, bias=mask, out=s)``; torch:
    ``bmm``, ``mul_``, ``add_``, softmax in place, ``bmm``; also torch with
    the scale and mask fused into ``baddbmm``, and
    ``F.scaled_dot_product_attention(is_causal=True)`` on (1, heads, L, d),
    the fully fused peer (flash attention, which skips the masked blocks;
    its products are not separable).

  The time per batch or block (median and p90 over the rounds) and the
  share outside the matrix products: NumPy and fastact time the products
  inside the same loop (the median over the rounds of the time outside
  them, over the median round); torch's ``addmm`` carries the bias, so its
  products are timed in a loop of their own (``torch.mm``/``bmm``) and the
  time outside is the difference of the medians.

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


# ------------------------------------------------ end-to-end inference

MLP = {"batch": 512, "width": 2048, "layers": 4}
ATTN = {"heads": 16, "length": 1024, "dim": 64}
TINY_MLP = {"batch": 8, "width": 32, "layers": 4}     # for the smoke checks
TINY_ATTN = {"heads": 2, "length": 16, "dim": 8}


def bf16_status():
    """None when the bfloat16 MLP can run here, else why not (a note)."""
    import importlib.util
    try:
        import ml_dtypes
    except ImportError:
        return "ml_dtypes is not installed"
    import fastact as fa
    bf = ml_dtypes.bfloat16
    try:
        x = np.zeros((2, 4), bf)
        fa.gelu(x, bias=np.zeros(4, bf), out=x)
    except (TypeError, ValueError) as e:
        return "fastact does not take bfloat16 arrays yet (" + str(e).split(";")[0] + ")"
    if importlib.util.find_spec("torch") is None:   # not imported: no OpenMP pool
        return "torch is not installed (NumPy has no bfloat16 matmul)"
    return None


def _torch_view(a):
    """A torch tensor sharing a's memory (bfloat16 through an int16 view)."""
    import torch
    if a.dtype == np.float32:
        return torch.from_numpy(a)
    return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)


def _mlp(lib, batch=512, width=2048, layers=4, bf16=False):
    """One MLP forward as ``lib``'s user writes it.

    Returns ``(forward, mm_only, result)``: ``forward()`` runs one batch and
    returns the seconds spent in the matrix products (None for torch, whose
    ``addmm`` carries the bias), ``mm_only()`` the products alone (torch
    only, else None), ``result()`` the output array."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    h = rng.standard_normal((batch, width), dtype=f32)
    Ws = [rng.standard_normal((width, width), dtype=f32) / f32(np.sqrt(width))
          for _ in range(layers)]
    bs = [rng.standard_normal(width, dtype=f32) * f32(0.1) for _ in range(layers)]
    dt = f32
    if bf16:
        import ml_dtypes
        dt = ml_dtypes.bfloat16
        h, Ws, bs = h.astype(dt), [W.astype(dt) for W in Ws], [b.astype(dt) for b in bs]
    zs = [np.empty((batch, width), dt), np.empty((batch, width), dt)]
    last = layers - 1
    result = lambda: zs[last % 2]  # noqa: E731

    if lib == "torch" or bf16:
        import torch
        th, tWs, tbs, tzs = (_torch_view(h), [_torch_view(W) for W in Ws],
                             [_torch_view(b) for b in bs], [_torch_view(z) for z in zs])

        def mm_only():
            x = th
            for i, W in enumerate(tWs):
                torch.mm(x, W, out=tzs[i % 2])
                x = tzs[i % 2]
    if lib == "torch":
        gelu_ = torch.ops.aten.gelu_

        def forward():
            x = th
            for i, (W, b) in enumerate(zip(tWs, tbs)):
                z = tzs[i % 2]
                torch.addmm(b, x, W, out=z)
                if i < last:
                    gelu_(z)
                x = z
        return forward, mm_only, result

    if bf16:     # layer i: the input h or the previous layer's output
        def matmul(i):
            torch.mm(th if i == 0 else tzs[(i - 1) % 2], tWs[i], out=tzs[i % 2])
    else:
        def matmul(i):
            np.matmul(h if i == 0 else zs[(i - 1) % 2], Ws[i], out=zs[i % 2])

    if lib == "fastact":
        import fastact as fa

        def act(z, i):
            fa.gelu(z, bias=bs[i], out=z)
    elif bf16:   # NumPy/SciPy: no bfloat16 erf, a float32 temporary
        gelu, t = _numpy_acts()["gelu"], np.empty((batch, width), f32)
        b32 = [b.astype(f32) for b in bs]   # converted once, at load

        def act(z, i):
            np.copyto(t, z)
            np.add(t, b32[i], out=t)
            gelu(t)
            np.copyto(z, t, casting="unsafe")
    else:
        gelu = _numpy_acts()["gelu"]

        def act(z, i):
            z += bs[i]
            gelu(z)

    def forward():
        pc = time.perf_counter
        mm = 0.0
        for i in range(layers):
            z = zs[i % 2]
            t0 = pc()
            matmul(i)
            mm += pc() - t0
            if i < last:
                act(z, i)
            else:
                z += bs[i]
        return mm
    return forward, None, result


def _attention(lib, heads=16, length=1024, dim=64, variant="plain"):
    """One attention block's ``softmax(q @ k^T * scale + causal mask) @ v``;
    returns ``(forward, mm_only, result)`` as ``_mlp``.  ``variant`` (torch):
    "plain" (bmm, mul_, add_, softmax), "baddbmm" (scale and mask in the
    product), "sdpa" (F.scaled_dot_product_attention, is_causal)."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    q, k, v = (rng.standard_normal((heads, length, dim), dtype=f32) for _ in range(3))
    mask = np.triu(np.full((length, length), -np.inf, f32), 1)
    scale = f32(1 / np.sqrt(dim))
    s = np.empty((heads, length, length), f32)
    o = np.empty((heads, length, dim), f32)
    kT = k.transpose(0, 2, 1)

    if lib == "torch":
        import torch
        tq, tk, tv, tm, ts, to = (torch.from_numpy(a) for a in (q, k, v, mask, s, o))
        tkT = tk.transpose(1, 2)
        softmax_ = torch.ops.aten._softmax.out

        def mm_only():
            torch.bmm(tq, tkT, out=ts)
            torch.bmm(ts, tv, out=to)

        if variant == "sdpa":   # (batch, heads, L, d): 3-d inputs miss the flash kernel
            import torch.nn.functional as F
            q4, k4, v4, res = tq[None], tk[None], tv[None], [to[None]]

            def forward():
                res[0] = F.scaled_dot_product_attention(q4, k4, v4, is_causal=True)
            return forward, None, lambda: res[0][0].numpy()
        if variant == "baddbmm":
            def forward():
                torch.baddbmm(tm, tq, tkT, alpha=float(scale), out=ts)
                softmax_(ts, -1, False, out=ts)
                torch.bmm(ts, tv, out=to)
        else:
            def forward():
                torch.bmm(tq, tkT, out=ts)
                ts.mul_(float(scale))
                ts.add_(tm)
                softmax_(ts, -1, False, out=ts)
                torch.bmm(ts, tv, out=to)
        return forward, mm_only, lambda: o

    if lib == "fastact":
        import fastact as fa

        def softmax():
            fa.softmax(s, scale=scale, bias=mask, out=s)
    else:
        numpy_softmax = _numpy_acts()["softmax"]

        def softmax():
            s.__imul__(scale)
            s.__iadd__(mask)
            numpy_softmax(s)

    def forward():
        pc = time.perf_counter
        t0 = pc()
        np.matmul(q, kT, out=s)
        t1 = pc()
        softmax()
        t2 = pc()
        np.matmul(s, v, out=o)
        return (t1 - t0) + (pc() - t2)
    return forward, None, lambda: o


def e2e_variants(lib, tiny=False, bf16=None):
    """{name: builder} of the e2e cases ``lib`` runs; a builder returns
    ``(forward, mm_only, result)``.  ``bf16``: whether the bfloat16 MLP
    runs (default: when ``bf16_status()`` says it can)."""
    m, a = (TINY_MLP, TINY_ATTN) if tiny else (MLP, ATTN)
    if bf16 is None:
        bf16 = bf16_status() is None
    out = {"mlp4": lambda: _mlp(lib, **m)}
    if bf16:
        out["mlp4 bf16"] = lambda: _mlp(lib, bf16=True, **m)
    out["attn"] = lambda: _attention(lib, **a)
    if lib == "torch":
        out["attn baddbmm"] = lambda: _attention(lib, variant="baddbmm", **a)
        out["attn sdpa"] = lambda: _attention(lib, variant="sdpa", **a)
    return out


def _time_forward(forward, mm_only, rounds) -> dict:
    """Per-round seconds: the whole forward, and its matrix products (from
    the same loop, or from a loop of ``mm_only`` of its own)."""
    pc = time.perf_counter
    total, mm = [], []
    _settle(forward)
    for _ in range(rounds):
        t0 = pc()
        m = forward()
        total.append(pc() - t0)
        if m is not None:
            mm.append(m)
    same_loop = bool(mm)
    if mm_only is not None:
        _settle(mm_only)
        for _ in range(rounds):
            t0 = pc()
            mm_only()
            mm.append(pc() - t0)
    return {"total": total, "matmul": mm, "same_loop": same_loop}


def _limit_blas(nt):
    """BLAS threads of this process (the spawn's environment sets them too)."""
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(nt, user_api="blas")
    except ImportError:  # pragma: no cover
        pass


def _case_e2e(lib, nt, rounds, tiny=False) -> dict:
    _set_threads(lib, nt)
    _limit_blas(nt)
    variants = e2e_variants(lib, tiny)
    if "mlp4 bf16" in variants or lib == "torch":
        import torch
        torch.set_num_threads(nt)
    out = {}
    for name, build in variants.items():
        forward, mm_only, _ = build()
        out[name] = _time_forward(forward, mm_only, rounds)
        del forward, mm_only
    out["_blas"] = _blas_threads()
    return out


def _child(args) -> int:
    if args.case == "busy":
        res = _case_busy(args.lib, args.threads, args.calls)
    elif args.case == "e2e":
        res = _case_e2e(args.lib, args.threads, args.rounds, args.tiny)
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


def _spawn(case, lib, nt, rounds, calls, tiny=False) -> dict:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if case == "e2e":   # the products' threads: the same count as fastact's
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
            env[var] = str(nt)
    cmd = [sys.executable, "-m", "fastact.bench.pipelines", "--child", "--case", case,
           "--lib", lib, "--threads", str(nt), "--rounds", str(rounds), "--calls", str(calls)]
    if tiny:
        cmd.append("--tiny")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"pipelines: {case} {lib} {nt} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout)


CASES = ("mlp-numpy", "mlp-torch", "busy", "e2e")


def run(quick: bool = False, threads=(1, 2), progress: bool = True, cases=CASES,
        tiny: bool = False, e2e_rounds=None) -> dict:
    """Every case, each library and thread count in a process of its own.
    ``tiny``: the e2e cases at toy sizes (a smoke run, not a benchmark)."""
    rounds, calls = (40, 1000) if quick else (120, 10_000)
    if e2e_rounds is None:
        e2e_rounds = 5 if quick else 30
    plan = []
    for case in cases:
        if case == "mlp-torch" and not _available("torch"):
            continue
        for lib in (("numpy", "fastact", "torch") if case == "e2e"
                    else ("fastact", "torch", "numpy")):
            if not _available(lib) or (case == "busy" and lib == "numpy"):
                continue
            for nt in (threads if lib != "numpy" or case == "e2e" else (max(threads),)):
                plan.append((case, lib, nt))
    raw = {}
    for i, (case, lib, nt) in enumerate(plan):
        if progress:
            print(f"pipelines [{i + 1}/{len(plan)}] {case} {lib} {nt} thread(s)",
                  file=sys.stderr, flush=True)
        raw[f"{case}|{lib}|{nt}"] = _spawn(case, lib, nt, e2e_rounds if case == "e2e" else rounds,
                                           calls, tiny)
    # statistics, the 3x counts against the 1-thread median of the library
    stats, e2e = {}, {}
    for key, res in raw.items():
        case, lib, nt = key.split("|")
        if case == "e2e":
            e2e[key] = {"blas": res.pop("_blas"),
                        **{v: _e2e_stats(r) for v, r in res.items()}}
            continue
        one = raw.get(f"{case}|{lib}|1")
        stats[key] = {fn: _stats(ts, float(np.median(one[fn])) if one else None)
                      for fn, ts in res.items()}
    out = {"rounds": rounds, "calls": calls, "stats": stats,
           "numpy_blas_threads": _blas_threads()}
    if "e2e" in cases:
        out.update(e2e=e2e, e2e_rounds=e2e_rounds, e2e_bf16=bf16_status(),
                   e2e_sizes={"mlp": TINY_MLP if tiny else MLP,
                              "attn": TINY_ATTN if tiny else ATTN})
    return out


def _e2e_stats(r) -> dict:
    """Median and p90 of a forward, its products and the share outside."""
    tot = np.asarray(r["total"], np.float64)
    out = {"median": float(np.median(tot)), "p90": float(np.quantile(tot, 0.9)),
           "rounds": int(tot.size), "matmul": None, "outside": None, "share": None}
    if not r["matmul"]:
        return out
    mm = np.asarray(r["matmul"], np.float64)
    out["matmul"] = float(np.median(mm))
    if r["same_loop"]:     # round by round
        out["outside"] = float(np.median(tot - mm))
        out["share"] = float(np.median((tot - mm) / tot))
    else:                  # two loops: the difference of the medians
        out["outside"] = out["median"] - out["matmul"]
        out["share"] = out["outside"] / out["median"]
    return out


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
        return [(i["internal_api"], i["num_threads"]) for i in threadpool_info()
                if i["user_api"] == "blas"]
    except Exception:  # noqa: BLE001
        return []


def _ms(v) -> str:
    return f"{1e3 * v:.3g}"


def _ms_or_dash(v) -> str:
    return "–" if v is None else _ms(v)


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
    lines += _e2e_markdown(data)
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


E2E_ROWS = {   # (variant, library): the row's label
    ("mlp4", "numpy"): "NumPy/SciPy: `z += b`, erf GELU",
    ("mlp4", "fastact"): "fastact: `fa.gelu(z, bias=b, out=z)`",
    ("mlp4", "torch"): "torch: `addmm`, `gelu_`",
    ("mlp4 bf16", "numpy"): "NumPy/SciPy via a float32 temporary",
    ("mlp4 bf16", "fastact"): "fastact: `fa.gelu(z, bias=b, out=z)`",
    ("mlp4 bf16", "torch"): "torch: `addmm`, `gelu_`",
    ("attn", "numpy"): "NumPy: `s *= scale; s += mask`, max, exp, sum, divide",
    ("attn", "fastact"): "fastact: `fa.softmax(s, scale=, bias=mask, out=s)`",
    ("attn", "torch"): "torch: `bmm`, `mul_`, `add_`, softmax",
    ("attn baddbmm", "torch"): "torch: `baddbmm(mask, q, k^T, alpha=scale)`, softmax",
    ("attn sdpa", "torch"): "torch: `scaled_dot_product_attention(is_causal=True)` (fused)",
}


def _e2e_markdown(data: dict) -> list:
    """The e2e tables: one row per library (and torch variant) and thread
    count, times in ms."""
    e2e = data.get("e2e")
    if not e2e:
        return []
    m, a = data["e2e_sizes"]["mlp"], data["e2e_sizes"]["attn"]
    blas = sorted({f"{api} {n}" for r in e2e.values() for api, n in r["blas"]})
    lines = ["### End-to-end inference", "",
             f"Median / p90 over {data['e2e_rounds']} rounds (ms per batch or block), after an "
             "untimed warm-up; the products' threads (NumPy's BLAS, torch) set to fastact's "
             f"count (BLAS in the NumPy processes: {', '.join(blas) or 'unknown'}).  "
             "`matmuls`: NumPy and fastact time them inside the same loop, torch in a loop "
             "of `mm`/`bmm` alone (its `addmm` carries the bias); `outside`: the rest, "
             "and its share of the batch; `NumPy / this`: the NumPy row's median over this "
             "row's, same threads.", ""]
    bf = data.get("e2e_bf16")
    for prefix, title in (
            ("mlp4", f"{m['layers']}-layer MLP forward, batch {m['batch']}, "
                     f"{m['width']} wide, GELU after the first {m['layers'] - 1} layers, "
                     "the last linear"),
            ("attn", f"Attention block, {a['heads']} heads, L {a['length']}, d {a['dim']}: "
                     "`q @ k^T`, causal softmax, `@ v`")):
        for dtype in (("float32", "bfloat16") if prefix == "mlp4" else ("float32",)):
            bf16 = dtype == "bfloat16"
            head = f"#### {title}, {dtype}" + (" (torch's bfloat16 `mm` in every row)"
                                               if bf16 else "")
            if bf16 and bf:
                lines += [head, "", f"Skipped: {bf}.", ""]
                continue
            rows = []
            for key, res in e2e.items():
                _, lib, nt = key.split("|")
                for variant, st in res.items():
                    if variant == "blas" or not variant.startswith(prefix) or \
                            ("bf16" in variant) != bf16:
                        continue
                    base = e2e.get(f"e2e|numpy|{nt}", {}).get(variant if lib != "torch"
                                                               else prefix + (" bf16" * bf16))
                    rows.append((int(nt), E2E_ROWS.get((variant, lib), f"{lib} {variant}"),
                                 st, base))
            if not rows:
                continue
            lines += [head, "",
                      f"| library | threads | per {'batch' if prefix == 'mlp4' else 'block'} "
                      "| matmuls | outside | share outside "
                      "| NumPy / this |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for nt, label, st, base in sorted(rows, key=lambda r: r[0]):
                share = "–" if st["share"] is None else f"{100 * st['share']:.0f}%"
                ratio = "–" if base is None else f"{base['median'] / st['median']:.2f}x"
                lines.append(
                    f"| {label} | {nt} | {_ms(st['median'])} / {_ms(st['p90'])} | "
                    f"{_ms_or_dash(st['matmul'])} | {_ms_or_dash(st['outside'])} | "
                    f"{share} | {ratio} |")
            lines.append("")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fastact.bench.pipelines",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="40 rounds, 1000 calls")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"comma-separated, of {', '.join(CASES)} (default: all)")
    ap.add_argument("--tiny", action="store_true",
                    help="e2e cases at toy sizes, 1 round (a smoke run, not a benchmark)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--lib", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=120, help=argparse.SUPPRESS)
    ap.add_argument("--calls", type=int, default=10_000, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)
    cases = tuple(c for c in args.cases.split(",") if c)
    unknown = set(cases) - set(CASES)
    if unknown:
        ap.error(f"--cases: unknown {', '.join(sorted(unknown))}; known: {', '.join(CASES)}")
    data = run(quick=args.quick, cases=cases, tiny=args.tiny,
               e2e_rounds=1 if args.tiny else None)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    print("\n".join(markdown(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
