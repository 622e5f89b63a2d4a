"""Golden output hashes: every public function's outputs on fixed inputs,
per instruction-set level and dtype, hashed (SHA-256 of the bytes).

    python tools/golden.py --write     # record tests/golden_hashes.json
    python tools/golden.py             # compare, print the differences

tests/test_golden.py runs the comparison: a refactor that is meant to
change no result must leave every hash as recorded.  A change that is
meant to change results records the file anew in the same commit.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

import fastact as fa
from fastact import _dispatch
from fastact import _reference as R
from fastact import _spec

PATH = Path(__file__).resolve().parents[1] / "tests" / "golden_hashes.json"


def _h(a) -> str:
    if isinstance(a, tuple):
        return "+".join(_h(v) for v in a)
    a = np.ascontiguousarray(a)
    return hashlib.sha256(str(a.dtype).encode() + str(a.shape).encode()
                          + a.tobytes()).hexdigest()[:20]


# NumPy's float64 power, sin and cos give CPU-specific last bits (SVML on
# AVX-512 machines), so the float64 inputs take them from the math module
# (one scalar libm on every CPU); the float32 ones are NumPy's, as recorded.
def _geomspace(a, b, n):
    return np.array([a * (b / a) ** (i / (n - 1)) for i in range(n)])


def _f64(fn, a):
    a = np.asarray(a)
    if a.dtype != np.float64:
        return getattr(np, fn.__name__)(a)
    return np.array([fn(v) if math.isfinite(v) else math.nan
                     for v in a.ravel().tolist()]).reshape(a.shape)


def _elementwise_input(dtype):
    geom = _geomspace if dtype == np.float64 else np.geomspace
    x = np.concatenate([np.linspace(-40, 40, 20_011), geom(1e-30, 3e4, 2_000),
                        -geom(1e-30, 3e4, 2_000),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, 5e-324]])
    with np.errstate(over="ignore"):
        return x.astype(dtype)


def _axis_input(dtype):
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((38, 64)) * 5).astype(dtype)
    x[2, 3] = -np.inf
    x[4] = -np.inf
    return x


def cases():
    """{key: callable} for every public function and parameter case."""
    out = {}
    for dtype in (np.float32, np.float64):
        dn = np.dtype(dtype).name
        x = _elementwise_input(dtype)
        g = _f64(math.cos, np.linspace(0, 50, x.size)).astype(dtype)
        for s in _spec.SPECS:
            if s.kind != "elementwise":
                continue
            for i, p in enumerate(R.PARAM_CASES[s.name]):
                fwd, bwd = getattr(fa, s.name), getattr(fa, s.name + "_backward")
                key = f"{s.name}-{i}|{dn}"
                out[key + "|fwd"] = (lambda f=fwd, p=p, x=x: f(x, **p))
                out[key + "|bwd"] = (lambda f=bwd, p=p, x=x, g=g: f(g, x, **p))
                if s.y_form_ok(p):
                    out[key + "|bwd_y"] = (lambda f=bwd, fw=fwd, p=p, x=x, g=g:
                                           f(g, y=fw(x, **p), **p))
        xa = _axis_input(dtype)
        ga = _f64(math.sin, xa).astype(dtype)
        for name in ("softmax", "log_softmax", "softmin"):
            f, b = getattr(fa, name), getattr(fa, name + "_backward")
            for axis in (-1, 0):
                k = f"{name}-axis{axis}|{dn}"
                out[k + "|fwd"] = (lambda f=f, axis=axis, xa=xa: f(xa, axis=axis))
                out[k + "|bwd"] = (lambda b=b, axis=axis, xa=xa, ga=ga: b(ga, xa, axis=axis))
                out[k + "|bwd_y"] = (lambda b=b, f=f, axis=axis, xa=xa, ga=ga:
                                     b(ga, y=f(xa, axis=axis), axis=axis))
        for axis in (-1, 0):
            k = f"logsumexp-axis{axis}|{dn}"
            out[k + "|fwd"] = (lambda axis=axis, xa=xa: fa.logsumexp(xa, axis=axis))
            out[k + "|bwd"] = (lambda axis=axis, xa=xa: fa.logsumexp_backward(
                np.ones(xa.shape[1 - (axis % 2)], xa.dtype), xa, axis=axis))
            for name, kw in (("glu", {}), ("swiglu", {}), ("geglu", {}),
                             ("geglu", {"approximate": "tanh"})):
                f, b = getattr(fa, name), getattr(fa, name + "_backward")
                k = f"{name}{'-tanh' if kw else ''}-axis{axis}|{dn}"
                out[k + "|fwd"] = (lambda f=f, axis=axis, kw=kw, xa=xa: f(xa, axis=axis, **kw))
                out[k + "|bwd"] = (lambda b=b, f=f, axis=axis, kw=kw, xa=xa:
                                   b(_f64(math.cos, f(xa, axis=axis, **kw)), xa, axis=axis, **kw))
        out[f"maxout|{dn}|fwd"] = lambda xa=xa: fa.maxout(xa, 4)
        out[f"maxout|{dn}|bwd"] = lambda xa=xa: fa.maxout_backward(np.ones((38, 16), xa.dtype),
                                                                   xa, 4)
        out[f"sparsemax|{dn}|fwd"] = lambda xa=xa: fa.sparsemax(xa)
        out[f"sparsemax|{dn}|bwd"] = lambda xa=xa, ga=ga: fa.sparsemax_backward(ga, xa)
        out[f"softmax_jacobian|{dn}|fwd"] = lambda xa=xa: fa.softmax_jacobian(xa[:5, :9])
        x3 = xa.reshape(38, 4, 16).copy()
        w = np.linspace(-0.5, 0.5, 4).astype(dtype)
        out[f"prelu|{dn}|fwd"] = lambda x3=x3, w=w: fa.prelu(x3, w)
        out[f"prelu|{dn}|bwd"] = lambda x3=x3, w=w: fa.prelu_backward(_f64(math.cos, x3), x3, w)
    return out


def compute() -> dict:
    res = {}
    with np.errstate(all="ignore"):
        for isa in _dispatch.supported_isas():
            with _dispatch.using(isa):
                for key, fn in cases().items():
                    res[f"{isa}|{key}"] = _h(fn())
    return res


def main(argv) -> int:
    got = compute()
    if "--write" in argv:
        # the hashes of levels this CPU cannot run are kept as recorded
        kept = json.loads(PATH.read_text()) if PATH.exists() else {}
        here = {f"{isa}|" for isa in _dispatch.supported_isas()}
        got = {**{k: v for k, v in kept.items() if not any(k.startswith(h) for h in here)}, **got}
        PATH.write_text(json.dumps(got, indent=0, sort_keys=True) + "\n")
        print(f"wrote {len(got)} hashes to {PATH}")
        return 0
    want = json.loads(PATH.read_text())
    bad = [k for k in got if k in want and want[k] != got[k]]
    print(f"{len(got)} hashes, {len([k for k in got if k in want])} recorded, "
          f"{len(bad)} differ")
    for k in bad:
        print("  differs:", k)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
