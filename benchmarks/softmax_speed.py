"""The softmax family side by side with torch and onnxruntime, in one process.

    PYTHONPATH=src python benchmarks/softmax_speed.py [--threads 1,2] [--reps 15]
        [--funcs softmax,log_softmax,softmin,softmax_backward,log_softmax_backward,logsumexp]
        [--dtypes f32,f64] [--shapes 0,1,2,3,4]

Every library writes into a preallocated output: fastact through out=,
torch through the aten .out overloads (softmin: torch.softmax(-x, out=), what
a torch user writes), onnxruntime through a one-node Softmax / LogSoftmax
model bound to the output (IOBinding, spinning disabled, as
fastact.bench.peers builds it; forward only).  The backward is from y, as
torch's autograd runs it (_softmax_backward_data / _log_softmax_backward_data).

The libraries are timed in alternation (round r times fastact, then torch,
then onnxruntime, each after 20 ms of untimed calls: SETTLE_NS), --reps rounds; each
figure is the median of the rounds' times per call: at 1 thread the CPU
time of the calling thread (time.thread_time_ns; every library runs in the
caller's thread there), less disturbed by other processes on a shared
machine; at 2 threads wall time.  The machine may be
shared: read the ratios, not the absolute times.  ratio = best peer time /
fastact time (> 1: fastact is faster).  Not a test (pytest does not collect
it).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import fastact as fa
from fastact.bench.runner import SETTLE_NS, settle

SHAPES = [((4096, 1000), -1), ((64, 50257), -1), ((16384, 64), -1), ((256, 4096), -1),
          ((1000, 4096), 0)]
FUNCS = ["softmax", "log_softmax", "softmin", "softmax_backward", "log_softmax_backward",
         "logsumexp"]
DTYPES = {"f32": (np.float32, torch.float32), "f64": (np.float64, torch.float64)}


class Ort:
    """one-node onnxruntime sessions per (op, axis, dtype, threads)"""

    def __init__(self):
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
            self.ok = True
        except ImportError:
            self.ok = False
        self.sessions = {}

    def make(self, op, x, o, axis, threads):
        if not self.ok:
            return None
        import onnxruntime as ort
        from onnx import TensorProto, helper
        tp = TensorProto.FLOAT if x.dtype == np.float32 else TensorProto.DOUBLE
        key = (op, axis, x.ndim, tp, threads)
        if key not in self.sessions:
            node = helper.make_node(op, ["x"], ["y"], axis=axis)
            shape = [None] * x.ndim
            graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", tp, shape)],
                                      [helper.make_tensor_value_info("y", tp, shape)])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
            model.ir_version = min(model.ir_version, 10)
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            so.log_severity_level = 3
            try:
                self.sessions[key] = ort.InferenceSession(model.SerializeToString(), so,
                                                          providers=["CPUExecutionProvider"])
            except Exception:  # noqa: BLE001 - a type this build lacks
                self.sessions[key] = None
        sess = self.sessions[key]
        if sess is None:
            return None
        b = sess.io_binding()
        b.bind_cpu_input("x", x)
        b.bind_output("y", "cpu", 0, x.dtype, list(o.shape), o.ctypes.data)
        run = sess.run_with_iobinding

        def call(b=b, keep=(x, o)):   # the bound buffers live as long as the call
            run(b)
        return call


def make(func, shape, axis, dt, ort, threads):
    """{library: zero-argument callable} for one case"""
    npdt, tdt = DTYPES[dt]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3).astype(npdt)
    tx = torch.from_numpy(x)
    ax = axis % len(shape)
    o = np.empty_like(x)
    to = torch.from_numpy(np.empty_like(x))
    oo = np.empty_like(x)
    libs = {}
    if func in ("softmax", "log_softmax", "softmin"):
        fafn = getattr(fa, func)
        libs["fastact"] = lambda: fafn(x, axis, out=o)
        if func == "softmax":
            libs["torch"] = lambda: torch.softmax(tx, ax, out=to)
        elif func == "log_softmax":
            libs["torch"] = lambda: torch.log_softmax(tx, ax, out=to)
        else:
            libs["torch"] = lambda: torch.softmax(-tx, ax, out=to)
        if func != "softmin":
            f = ort.make("Softmax" if func == "softmax" else "LogSoftmax", x, oo, ax, threads)
            if f is not None:
                libs["onnxruntime"] = f
    elif func == "logsumexp":
        red = tuple(s for i, s in enumerate(shape) if i != ax)
        o = np.empty(red, npdt)
        to = torch.from_numpy(np.empty(red, npdt))
        libs["fastact"] = lambda: fa.logsumexp(x, axis, out=o)
        libs["torch"] = lambda: torch.logsumexp(tx, ax, out=to)
    else:
        g = rng.standard_normal(shape).astype(npdt)
        tg = torch.from_numpy(g)
        if func == "softmax_backward":
            y = fa.softmax(x, axis)
            ty = torch.from_numpy(y)
            libs["fastact"] = lambda: fa.softmax_backward(g, y=y, axis=axis, out=o)
            libs["torch"] = lambda: torch.ops.aten._softmax_backward_data.out(
                tg, ty, ax, tdt, grad_input=to)
        else:
            y = fa.log_softmax(x, axis)
            ty = torch.from_numpy(y)
            libs["fastact"] = lambda: fa.log_softmax_backward(g, y=y, axis=axis, out=o)
            libs["torch"] = lambda: torch.ops.aten._log_softmax_backward_data.out(
                tg, ty, ax, tdt, out=to)
    return libs


def per_call(fn):
    """calls per timing so that one timing is >= ~2 ms"""
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    return max(1, min(200, int(0.002 / max(dt, 1e-7))))


def measure(libs, reps, clock=time.perf_counter_ns):
    inner = {k: per_call(f) for k, f in libs.items()}
    ts = {k: [] for k in libs}
    for _ in range(reps):
        for k, f in libs.items():
            settle(f, SETTLE_NS)
            n = inner[k]
            t0 = clock()
            for _ in range(n):
                f()
            ts[k].append((clock() - t0) / n / 1e3)
    return {k: statistics.median(v) for k, v in ts.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--funcs", default=",".join(FUNCS))
    ap.add_argument("--dtypes", default="f32,f64")
    ap.add_argument("--shapes", default="0,1,2,3,4")
    a = ap.parse_args()
    shapes = [SHAPES[int(i)] for i in a.shapes.split(",")]
    ort = Ort()
    print(f"fastact isa {fa.show_config(False)['isa']}, torch {torch.__version__}, "
          f"onnxruntime {'yes' if ort.ok else 'missing'}")
    ratios = []
    for nt in [int(s) for s in a.threads.split(",")]:
        torch.set_num_threads(nt)
        fa.set_num_threads(nt)
        clk = "thread CPU time" if nt == 1 else "wall time"
        print(f"\n{nt} thread(s): median {clk} of {a.reps} alternating rounds, us per call; "
              f"ratio = best peer / fastact")
        print(f"{'function':21s} {'dt':3s} {'shape':>17s} {'fastact':>9s} {'torch':>9s} "
              f"{'ort':>9s} {'ratio':>6s}")
        for func in a.funcs.split(","):
            for dt in a.dtypes.split(","):
                for shape, axis in shapes:
                    libs = make(func, shape, axis, dt, ort, nt)
                    t = measure(libs, a.reps,
                                time.thread_time_ns if nt == 1 else time.perf_counter_ns)
                    best = min(v for k, v in t.items() if k != "fastact")
                    r = best / t["fastact"]
                    ratios.append(r)
                    sh = f"{shape}" + ("" if axis == -1 else f" ax{axis}")
                    ot = f"{t['onnxruntime']:9.0f}" if "onnxruntime" in t else f"{'-':>9s}"
                    print(f"{func:21s} {dt:3s} {sh:>17s} {t['fastact']:9.0f} {t['torch']:9.0f} "
                          f"{ot} {r:6.2f}", flush=True)
    if ratios:
        print(f"\nratios: min {min(ratios):.2f}, geometric mean "
              f"{float(np.exp(np.mean(np.log(ratios)))):.2f}")


if __name__ == "__main__":
    main()
