"""PNG plots of a run (matplotlib, Agg backend): throughput against size per
function, and speed-up bars over all functions."""

from __future__ import annotations

import os

from fastact.bench.report import Index, fmt_n

__all__ = ["write_plots"]

# one colour per library, stable across plots
COLORS = {"fastact": "#d62728", "numpy": "#1f77b4", "torch": "#ff7f0e", "scipy": "#2ca02c",
          "numexpr": "#9467bd", "onnxruntime": "#8c564b", "limit": "#555555"}
SIZE_COLORS = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"]


def write_plots(data: dict, out_dir: str) -> dict:
    """Write the PNGs into out_dir; returns {key: file name} for the report
    (key ("throughput", label) or ("speedup", direction, dtype, threads)).
    Returns {} when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    ix = Index(data)
    made = {}
    for label in ix.labels:
        name = f"throughput_{label}.png"
        if _throughput(plt, ix, label, os.path.join(out_dir, name)):
            made[("throughput", label)] = name
    for nt in ix.threads:
        for direction in ix.directions:
            for dtype in ix.dtypes:
                name = f"speedup_{direction}_{dtype}_t{nt}.png"
                if _speedup(plt, ix, direction, dtype, nt, os.path.join(out_dir, name)):
                    made[("speedup", direction, dtype, nt)] = name
    return made


def _throughput(plt, ix, label, path) -> bool:
    panels = [(d, t) for d in ix.directions for t in ix.dtypes]
    threads = ix.threads
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.0), squeeze=False,
                             sharey=True)
    drew = False
    styles = ["-", "--", ":", "-."]
    for ax, (direction, dtype) in zip(axes[0], panels):
        libs = ["fastact"] + ix.peers
        for ti, nt in enumerate(threads):
            ls = styles[ti % len(styles)]
            for lib in libs:
                pts = [(n, ix.gbps(label, direction, dtype, n, nt, lib)) for n in ix.sizes]
                pts = [(n, g) for n, g in pts if g]
                if not pts:
                    continue
                drew = True
                lab = lib + (f" ({nt} thr)" if len(threads) > 1 else "")
                ax.plot([p[0] for p in pts], [p[1] for p in pts], ls, marker="o", ms=4,
                        lw=2.4 if lib == "fastact" else 1.4, color=COLORS.get(lib),
                        label=lab, zorder=3 if lib == "fastact" else 2)
            kind = "copy" if direction == "forward" else "add3"
            pts = []
            for n in ix.sizes:
                lim, _ = ix.limit(direction, dtype, n, nt)
                recs = ix.lim.get((kind, dtype, n, nt), {})
                if lim and recs:
                    pts.append((n, next(iter(recs.values()))["bytes"] / lim))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], ls, color=COLORS["limit"],
                        lw=1.0, alpha=0.7, label=f"{kind} limit" + (
                            f" ({nt} thr)" if len(threads) > 1 else ""))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{direction}, {dtype}", fontsize=11)
        ax.set_xlabel("N (elements)")
        ax.set_xticks(ix.sizes)
        ax.set_xticklabels([fmt_n(n) for n in ix.sizes])
        ax.minorticks_off()
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("GB/s (bytes read + written)")
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center",
               ncol=min(len(handles), 7), fontsize=9, frameon=False)
    fig.suptitle(f"{label}: throughput (higher is better)", fontsize=13)
    fig.tight_layout(rect=(0, 0.1 if len(handles) <= 7 else 0.16, 1, 0.95))
    if drew:
        fig.savefig(path, dpi=80)
    plt.close(fig)
    return drew


def _speedup(plt, ix, direction, dtype, nt, path) -> bool:
    import numpy as np
    labels = [lab for lab in ix.labels
              if any(ix.best_peer(lab, direction, dtype, n, nt)[0] for n in ix.sizes)]
    if not labels:
        return False
    sizes = ix.sizes
    h = 0.8 / len(sizes)
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(labels) * max(1, len(sizes) / 3) + 1.6))
    y = np.arange(len(labels))
    vmax = 1.0
    vmin = 1.0
    for i, n in enumerate(sizes):
        vals = [ix.best_peer(lab, direction, dtype, n, nt)[0] or np.nan for lab in labels]
        vmax = max(vmax, np.nanmax(vals) if not np.all(np.isnan(vals)) else 1)
        vmin = min(vmin, np.nanmin(vals) if not np.all(np.isnan(vals)) else 1)
        # bars grow from 1x: right when fastact is faster, left when slower
        ax.barh(y + (i - (len(sizes) - 1) / 2) * h, np.asarray(vals) - 1.0, height=h, left=1.0,
                color=SIZE_COLORS[min(i + (6 - len(sizes)) // 2, 5)] if len(sizes) <= 6
                else None, label=f"N={fmt_n(n)}", edgecolor="white", lw=0.3)
    ax.set_xscale("log")
    ax.set_xlim(min(0.8, vmin * 0.8), vmax * 1.3)
    ax.axvline(1.0, color="k", lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up of fastact over the best peer (best peer time / fastact time; "
                  ">1: fastact faster)", fontsize=9)
    ax.set_title(f"{direction}, {dtype}, {nt} thread{'s' if nt > 1 else ''}")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True
