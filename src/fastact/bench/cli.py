"""``python -m fastact.bench``: the benchmark report."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

__all__ = ["main"]


def _ints(s: str) -> tuple:
    return tuple(int(float(v)) for v in s.split(",") if v.strip())


def _names(s: str) -> tuple:
    return tuple(v.strip() for v in s.split(",") if v.strip())


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m fastact.bench",
        description="Benchmark every fastact activation (forward and backward) against "
                    "NumPy, torch, SciPy, numexpr and onnxruntime (those installed) and write "
                    "a report: report.md, results.json and PNG plots.")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick",
                      help="(default) N = 1e3, 1e5, 1e6; float32 and float64; the current "
                           "thread count; short repeats (about a minute or two)")
    mode.add_argument("--full", action="store_const", dest="mode", const="full",
                      help="N = 1e3, 1e4, 1e5, 1e6, 1.6e7; threads 1 and 2; longer repeats")
    ap.add_argument("--out", default="fastact-report", metavar="DIR",
                    help="output directory (default: ./fastact-report/)")
    ap.add_argument("--threads", type=_ints, metavar="1,2",
                    help="thread counts to measure (default: quick: the current count; "
                         "full: 1 and 2)")
    ap.add_argument("--functions", type=_names, metavar="a,b",
                    help="only these activations (names, or variant labels such as gelu_tanh)")
    ap.add_argument("--dtypes", type=_names, metavar="float32,float64")
    ap.add_argument("--sizes", type=_ints, metavar="1e3,1e5",
                    help="array sizes (number of elements)")
    ap.add_argument("--directions", type=_names, metavar="forward,backward")
    ap.add_argument("--peers", type=_names, metavar="numpy,torch",
                    help="only these peers (default: every installed one)")
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    ap.add_argument("--no-pipelines", action="store_true",
                    help="skip the pipelines section (an MLP loop with NumPy and torch matrix "
                         "products, calls beside a busy core, and end-to-end inference: a 4-layer "
                         "MLP forward and an attention block; python -m "
                         "fastact.bench.pipelines runs it alone)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--list", action="store_true",
                    help="list the functions and peers, and exit")
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    from fastact.bench import cases, peers
    from fastact.bench.runner import default_config

    if args.list:
        for v in cases.variants():
            print(f"{v.label:<14} {v.kind:<12} {v.params}")
        for p in peers.all_peers():
            print(f"peer {p.name:<12} {p.version if p.available else 'missing: ' + p.reason}")
        return 0
    for d in args.dtypes or ():
        if d not in cases.DTYPES:
            print(f"--dtypes: {d!r} is not one of {', '.join(cases.DTYPES)}", file=sys.stderr)
            return 2
    for d in args.directions or ():
        if d not in ("forward", "backward"):
            print(f"--directions: {d!r} is not forward or backward", file=sys.stderr)
            return 2
    if args.threads and min(args.threads) < 1:
        print("--threads: counts must be >= 1", file=sys.stderr)
        return 2
    if args.peers:
        unknown = set(args.peers) - set(peers.PEER_NAMES)
        if unknown:
            print(f"--peers: unknown {sorted(unknown)}; known: {', '.join(peers.PEER_NAMES)}",
                  file=sys.stderr)
            return 2
    if args.functions:
        known = {v.label for v in cases.variants()} | {v.name for v in cases.variants()}
        unknown = set(args.functions) - known
        if unknown:
            print(f"--functions: unknown {sorted(unknown)}; known: {', '.join(sorted(known))}",
                  file=sys.stderr)
            return 2
    config = default_config(args.mode or "quick", sizes=args.sizes, dtypes=args.dtypes,
                            threads=args.threads, functions=args.functions,
                            directions=args.directions, peers=args.peers)
    config.progress = not args.no_progress
    command = "python -m fastact.bench " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    return write(config, args.out, plots=not args.no_plots, command=command.strip(),
                 pipelines=not args.no_pipelines)


def write(config, out_dir: str, plots: bool = True, command: str = "",
          pipelines: bool = True) -> int:
    from fastact.bench import report
    from fastact.bench.runner import run

    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    data = run(config)
    data["command"] = command
    if pipelines:
        from fastact.bench import pipelines as pl
        data["pipelines"] = pl.run(quick=config.mode != "full", progress=config.progress)
    made = {}
    if plots:
        from fastact.bench.plots import write_plots
        made = write_plots(data, out_dir)
    report.write_json(data, os.path.join(out_dir, "results.json"))
    report.write_markdown(data, os.path.join(out_dir, "report.md"), plots=made, command=command)
    missing = [k for k, v in data["environment"]["peers"].items() if not v["available"]]
    print(f"fastact.bench: {len(data['results'])} timings in {time.perf_counter() - t0:.0f} s; "
          f"wrote {os.path.join(out_dir, 'report.md')}, results.json and {len(made)} plots"
          + (f"; skipped (not installed): {', '.join(missing)}" if missing else ""),
          file=sys.stderr)
    return 0
