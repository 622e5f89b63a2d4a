"""Turn the raw figures of a run (``runner.run``) into report.md and
results.json."""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict

__all__ = ["write_json", "write_markdown", "Index", "fmt_n"]


def fmt_n(n: int) -> str:
    """1000 -> 1e3, 16000000 -> 1.6e7."""
    e = int(math.floor(math.log10(n))) if n > 0 else 0
    m = n / 10 ** e
    return f"{m:g}e{e}"


def fmt_us(ns) -> str:
    if ns is None:
        return "-"
    us = ns / 1e3
    if us >= 1000:
        return f"{us:,.0f}"
    if us >= 100:
        return f"{us:.0f}"
    if us >= 10:
        return f"{us:.1f}"
    return f"{us:.2f}"


def fmt_x(r) -> str:
    if r is None:
        return "-"
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


class Index:
    """Lookups over the raw records of a run."""

    def __init__(self, data: dict):
        self.data = data
        self.t = {}  # (label, direction, dtype, n, threads, library) -> record
        for r in data["results"]:
            if "median_ns" in r:
                self.t[(r["label"], r["direction"], r["dtype"], r["n"], r["threads"],
                        r["library"])] = r
        self.lim = defaultdict(dict)  # (kind, dtype, n, threads) -> {library: record}
        for r in data["limits"]:
            self.lim[(r["kind"], r["dtype"], r["n"], r["threads"])][r["library"]] = r
        self.labels = [v["label"] for v in data["variants"]]
        self.sizes = sorted({r["n"] for r in data["results"]})
        self.dtypes = list(dict.fromkeys(r["dtype"] for r in data["results"]))
        self.threads = data["threads"]
        self.directions = list(dict.fromkeys(r["direction"] for r in data["results"]))
        self.peers = [k for k, v in data["environment"]["peers"].items() if v["available"]]
        self.checks = {(c["label"], c["direction"], c["dtype"], c["library"]): c
                       for c in data["checks"]}

    def time(self, label, direction, dtype, n, threads, lib):
        r = self.t.get((label, direction, dtype, n, threads, lib))
        return r["median_ns"] if r else None

    def gbps(self, label, direction, dtype, n, threads, lib):
        r = self.t.get((label, direction, dtype, n, threads, lib))
        return r["gbps"] if r else None

    def limit(self, direction, dtype, n, threads):
        """(ns, library) of the fastest copy (forward) / add3 (backward)."""
        kind = "copy" if direction == "forward" else "add3"
        recs = self.lim.get((kind, dtype, n, threads), {})
        if not recs:
            return None, None
        lib = min(recs, key=lambda k: recs[k]["median_ns"])
        return recs[lib]["median_ns"], lib

    def peer_times(self, label, direction, dtype, n, threads) -> dict:
        out = {}
        for p in self.peers:
            t = self.time(label, direction, dtype, n, threads, p)
            if t is not None:
                out[p] = t
        return out

    def noisy(self, label, direction, dtype, n, threads, lib) -> str:
        """"~" when the median is over 1.5x the minimum (a noisy figure)."""
        r = self.t.get((label, direction, dtype, n, threads, lib))
        return "~" if r and r["median_ns"] > 1.5 * r["min_ns"] else ""

    def ratio(self, label, direction, dtype, n, threads, lib):
        """Speed-up of fastact over lib: lib's time / fastact's time measured
        side by side in the same process."""
        r = self.t.get((label, direction, dtype, n, threads, lib))
        if r is None:
            return None
        fa = r.get("fastact_ns") or self.time(label, direction, dtype, n, threads, "fastact")
        return r["median_ns"] / fa if fa else None

    def best_peer(self, label, direction, dtype, n, threads):
        """(speed-up of fastact over the best peer, best peer) or (None, None)."""
        rs = {p: self.ratio(label, direction, dtype, n, threads, p) for p in self.peers}
        rs = {p: r for p, r in rs.items() if r is not None}
        if not rs:
            return None, None
        best = min(rs, key=rs.get)
        return rs[best], best

    def disagreements(self) -> list:
        return [c for c in self.data["checks"] if not c.get("ok", True)]


def write_json(data: dict, path: str) -> None:
    def default(o):
        if hasattr(o, "item"):
            return o.item()
        if isinstance(o, (set, tuple)):
            return list(o)
        return str(o)
    with open(path, "w") as f:
        json.dump(data, f, indent=1, default=default)


def _table(header, rows) -> list:
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---" if i == 0 else "---:" for i in range(len(header))) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def write_markdown(data: dict, path: str, plots: dict | None = None, command: str = "") -> None:
    ix = Index(data)
    env = data["environment"]
    cfg = env["fastact_config"]
    plots = plots or {}
    L = ["# fastact benchmark report", ""]
    L.append(f"Generated {env['date']} by `{command or 'python -m fastact.bench'}` "
             f"({data['config']['mode']} mode) in {data['elapsed_s']:.0f} s.")
    L.append("")

    # ---------------------------------------------------------- environment
    L += ["## Environment", ""]
    peers_rows = []
    for name, p in env["peers"].items():
        peers_rows.append(f"{name} {p['version']}" if p["available"]
                          else f"{name}: **not installed, skipped** ({p['reason']})")
    rows = [
        ("CPU", f"{env['cpu']} ({env['logical_cpus']} logical CPUs, "
                f"{env['usable_cpus']} usable)"),
        ("Platform", f"{env['platform']}, Python {env['python']}"),
        ("fastact", f"{env['fastact']}, ISA level in use **{env['isa']}** "
                    f"(built: {', '.join(cfg['isas_built'])}; this CPU: "
                    f"{', '.join(cfg['isas_supported'])})"),
        ("fastact build", f"{cfg['compiler']}; thread pool {cfg.get('thread_pool')}; "
                          f"flags `{' '.join(cfg['kernel_flags'])}`"),
        ("Threads measured", ", ".join(str(t) for t in data["threads"]) +
         " (fastact `fa.num_threads`, torch `set_num_threads`, numexpr and onnxruntime "
         "likewise; NumPy and SciPy are single-threaded)"),
        ("Peers", "; ".join(peers_rows)),
        ("Environment variables", ", ".join(f"{k}={v}" for k, v in env["env_vars"].items())
         or "none of OMP_NUM_THREADS, FASTACT_ISA, OMP_WAIT_POLICY set"),
        ("Load average (1, 5, 15 min)", f"start {_la(env.get('loadavg_start'))}, "
                                        f"end {_la(env.get('loadavg_end'))}"),
    ]
    L += _table(["", ""], rows)
    L.append("")
    for err in env.get("errors", ()):
        L += [f"> **Error:** {err}; those peers are missing below.", ""]
    la = env.get("loadavg_start") or (0,)
    if la[0] > 0.5:
        L += [f"> **Warning: the machine was busy** (load average {la[0]:.2f} at the start, "
              f"{_la((env.get('loadavg_end') or (0,))[:1])} at the end, on "
              f"{env['usable_cpus']} CPUs). Multi-threaded figures suffer most: a parallel "
              "call waits for a time slice when another process holds a core, and a 10 µs "
              "call can take milliseconds. Figures whose median is over 1.5x their minimum are "
              "marked `~`. Rerun on an idle machine for figures to quote.", ""]

    # ---------------------------------------------------------- how to read
    tm = data["config"]["timer"]
    from_y = [v["label"] for v in data["variants"] if v["backward_from_output"]]
    L += ["## How to read this", "",
          f"- Times are µs per call: the median of up to {tm['repeats']} repeats (in two "
          f"passes, the libraries in one order then the other), each repeat an inner loop "
          f"of about {tm['target_ms']:g} ms of calls, after a warm-up, and each library's "
          f"repeats after 2 ms of untimed calls of its own (the previous library's idle "
          f"workers may still spin, torch's OpenMP workers for about a millisecond, and "
          f"would slow the next parallel call, whichever library it is); outputs preallocated "
          f"(`out=`) wherever the library allows. All libraries run side by side in one "
          f"process on the same input buffers.",
          "- Process groups: fastact runs side by side with each group of peers in a process "
          f"of its own ({'; '.join('+'.join(g) for g in env.get('process_groups', []))}), "
          "because three or more thread pools in one process (fastact's, torch's OpenMP, "
          "numexpr's, onnxruntime's) starve one another on a machine with few cores. A "
          "speed-up uses the fastact time measured in the peer's own process; fastact's "
          "figures in the tables come from the first group.",
          "- A `~` after a time: its median is over 1.5x its minimum (a noisy figure; "
          "the minimum is in results.json).",
          "- **Speed-up** = peer time / fastact time: above 1, fastact is faster. "
          "**Best peer**: the fastest installed peer for that case.",
          "- **GB/s** = (bytes read + bytes written) / time. **Limit**: the faster of "
          "`np.copyto(y, x)` and torch `y.copy_(x)` for a forward (read one array, write one), "
          "of `np.add(a, b, out=c)` and `torch.add(a, b, out=c)` for a backward (read two, "
          "write one), same size, dtype and thread count. **×limit** = fastact time / limit "
          "time (1.0: as fast as copying the data).",
          f"- The backward of {', '.join(from_y) or 'none'} is computed from the forward "
          "output y (`fa.NAME_backward(g, y=y)`; torch's `aten.NAME_backward(grad, output)`, "
          "NumPy/numexpr `g*y*(1-y)`...), every other backward from x. torch's backward uses "
          "its own `aten.*_backward` kernels (what autograd runs), or the composition autograd "
          "would run where torch has none.",
          "- NumPy: the expression a NumPy user writes; `np.where` expressions allocate their "
          "result. onnxruntime: one-node models, float32 forward only (no gradient kernels in "
          "inference builds).",
          "- Agreement: before timing, every peer's output is compared once with fastact's "
          "over the whole test domain (`np.allclose`, rtol 1e-4 / atol 1e-6 for float32, "
          "1e-9 / 1e-12 for float64); disagreements are listed below, not treated as errors.",
          ""]

    # ---------------------------------------------------------- summary
    L += ["## Summary: speed-up of fastact over the best peer", ""]
    for nt in ix.threads:
        for direction in ix.directions:
            for dtype in ix.dtypes:
                L.append(f"**{direction}, {dtype}, {nt} thread{'s' if nt > 1 else ''}**")
                L.append("")
                header = ["function"] + [f"N={fmt_n(n)}" for n in ix.sizes]
                rows, cols = [], defaultdict(list)
                for label in ix.labels:
                    row = [label]
                    any_ = False
                    for n in ix.sizes:
                        s, best = ix.best_peer(label, direction, dtype, n, nt)
                        if s is None:
                            row.append("-")
                        else:
                            any_ = True
                            cols[n].append(s)
                            row.append(f"{_bold(s)} ({best})")
                    if any_:
                        rows.append(row)
                rows.append(["*geometric mean*"] + [fmt_x(_geomean(cols[n])) for n in ix.sizes])
                L += _table(header, rows)
                L.append("")
                key = ("speedup", direction, dtype, nt)
                if key in plots:
                    L += [f"![speed-up {direction} {dtype}]({plots[key]})", ""]

    # ---------------------------------------------------------- agreement
    L += ["## Agreement with the peers", ""]
    bad = ix.disagreements()
    if not bad:
        L += ["Every peer agrees with fastact on every function it has.", ""]
    else:
        rows = []
        for c in bad:
            w = c.get("worst", {})
            where = (f"x={w['x']:.6g}: peer {w['peer']:.6g}, fastact {w['fastact']:.6g}"
                     if "x" in w else (f"peer {w['peer']:.6g}, fastact {w['fastact']:.6g}"
                                       if w else ""))
            rows.append([c["label"], c["direction"], c["dtype"], c["library"],
                         c.get("error") or f"{c.get('n_bad', 0)} points",
                         f"{c.get('max_abs_err', float('nan')):.3g}",
                         f"{c.get('max_rel_err', float('nan')):.3g}", where])
        L += ["Flagged (not a failure): the two disagree beyond the tolerance somewhere in "
              "the test domain. Which one is right is for the accuracy tests to say.", ""]
        L += _table(["function", "direction", "dtype", "peer", "points off", "max abs err",
                     "max rel err", "worst point"], rows)
        L.append("")

    # ---------------------------------------------------------- limits
    L += ["## The bandwidth limit", ""]
    rows = []
    for nt in ix.threads:
        for dtype in ix.dtypes:
            for n in ix.sizes:
                row = [dtype, fmt_n(n), nt]
                for kind in ("copy", "add3"):
                    recs = ix.lim.get((kind, dtype, n, nt), {})
                    for lib in ("numpy", "torch"):
                        r = recs.get(lib)
                        row.append(f"{fmt_us(r['median_ns'])} ({r['gbps']:.1f})" if r else "-")
                rows.append(row)
    L += ["µs (GB/s).", ""]
    L += _table(["dtype", "N", "threads", "copy numpy", "copy torch", "add3 numpy",
                 "add3 torch"], rows)
    L.append("")

    # ---------------------------------------------------------- pipelines
    if data.get("pipelines"):
        from fastact.bench.pipelines import markdown as pipelines_markdown
        L += pipelines_markdown(data["pipelines"])

    # ---------------------------------------------------------- per function
    L += ["## Per function", ""]
    for label in ix.labels:
        L += [f"### {label}", ""]
        if ("throughput", label) in plots:
            L += [f"![throughput {label}]({plots[('throughput', label)]})", ""]
        for direction in ix.directions:
            peers = [p for p in ix.peers
                     if any(ix.time(label, direction, d, n, t, p) is not None
                            for d in ix.dtypes for n in ix.sizes for t in ix.threads)]
            header = (["dtype", "N", "thr", "limit µs", "fastact µs", "GB/s", "×limit"]
                      + [f"{p} µs (speed-up)" for p in peers] + ["best peer"])
            rows = []
            for nt in ix.threads:
                for dtype in ix.dtypes:
                    for n in ix.sizes:
                        fa = ix.time(label, direction, dtype, n, nt, "fastact")
                        if fa is None:
                            continue
                        lim, _ = ix.limit(direction, dtype, n, nt)
                        noisy = ix.noisy(label, direction, dtype, n, nt, "fastact")
                        row = [dtype, fmt_n(n), nt, fmt_us(lim), f"**{fmt_us(fa)}**{noisy}",
                               f"{ix.gbps(label, direction, dtype, n, nt, 'fastact'):.1f}",
                               f"{fa / lim:.2f}" if lim else "-"]
                        for p in peers:
                            t = ix.time(label, direction, dtype, n, nt, p)
                            r = ix.ratio(label, direction, dtype, n, nt, p)
                            row.append(f"{fmt_us(t)}{ix.noisy(label, direction, dtype, n, nt, p)}"
                                       f" ({fmt_x(r)})" if t else "-")
                        s, best = ix.best_peer(label, direction, dtype, n, nt)
                        row.append(f"{best} {fmt_x(s)}" if best else "-")
                        rows.append(row)
            if rows:
                L += [f"**{direction}**", ""]
                L += _table(header, rows)
                L.append("")
        errs = [r for r in data["results"] if r["label"] == label and "error" in r]
        for r in errs:
            L.append(f"- error: {r['library']} {r['direction']} {r['dtype']} "
                     f"N={fmt_n(r['n'])}: {r['error']}")
        if errs:
            L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def _bold(s) -> str:
    txt = fmt_x(s)
    return f"**{txt}**" if s >= 1.0 else txt


def _la(t) -> str:
    return ", ".join(f"{v:.2f}" for v in t) if t else "?"


def relpath(p, start) -> str:
    return os.path.relpath(p, start)
