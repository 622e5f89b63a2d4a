"""Fit of the table-driven float32 functions of include/fa_tabpoly_v16.h.

    python tools/fit_tabpoly_f32.py           # prints the GENERATED block
    python tools/fit_tabpoly_f32.py --errors  # also the fit error per interval

For each function (FUNCS): |x| in [0, amax] is cut into intervals by the
top bits of its float representation (the exponent and `bits` mantissa
bits: 2^bits intervals per binade from `start` up, one interval [0, start)
below, the last one ending at amax), and f is a polynomial of degree `deg`
in d = |x| - c on each, c the interval's midpoint (d is exact: c and |x|
are within a factor of 2).  The first interval holds f(x) / x^xpow as an
odd polynomial in x (c = 0), the kernel multiplying by x^xpow there, so
tiny inputs get relative accuracy (tanhshrink: x^2 times ~x/3, a product
of two increasing factors, where Horner's last three products by x would
round to a decreasing step here and there).
What happens beyond amax is the kernel's (fa_tabpoly_v16.h).

Each polynomial is a weighted least-squares fit of the relative error on
Chebyshev nodes, reweighted towards minimax (Lawson), against mpmath; the
coefficients are rounded to float one at a time from the constant term up,
the remaining ones refitted to what the rounded ones leave.  `nudge` rounds
the constant term of the intervals named up instead of to nearest,
refitting the rest: the polynomials of neighbouring intervals then meet
without a decreasing step (both functions are monotone; checked over every
float32 input by tools/f32_exhaustive.py --func NAME).
"""
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 40

FUNCS = {
    # tanh: 1 beyond 9.1 (where tanh rounds to 1 in float)
    "tanh": dict(f=mp.tanh, bits=2, start=2.0 ** -4, amax=9.1, deg=5, xpow=0, nudge=(20, 25)),
    # x - tanh x: |x| - 1 beyond 8 (2 e^-2|x| below half an ulp of |x| - 1)
    "tanhshrink": dict(f=lambda v: v - mp.tanh(v), bits=1, start=2.0 ** -6, amax=8.0, deg=6,
                       xpow=2, nudge=()),
}


def _bits(v):
    return int(np.float32(v).view(np.uint32))


def _f32(v):
    return float(np.float32(v))


def layout(cfg):
    """(shift, b0, number of intervals)"""
    shift = 23 - cfg["bits"]
    b0 = (_bits(cfg["start"]) >> shift) - 1             # index 0: [0, start)
    top = _bits(cfg["amax"])
    return shift, b0, (top >> shift) - b0 + (1 if top & ((1 << shift) - 1) else 0)


def interval(cfg, i):
    shift, b0, _ = layout(cfg)
    if i == 0:
        return 0.0, cfg["start"]
    lo = float(np.uint32((i + b0) << shift).view(np.float32))
    hi = float(np.uint32((i + b0 + 1) << shift).view(np.float32))
    return lo, min(hi, cfg["amax"])


def fit_interval(cfg, lo, hi, nudge=False):
    """(c, [p0..p_deg] as floats, max relative error of the rounded polynomial)"""
    deg = cfg["deg"]
    c = 0.0 if lo == 0 else _f32((lo + hi) / 2)
    n = 400
    a = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    a = np.concatenate([a, [lo, hi]])
    a = a[a > 0]
    f = np.array([float(cfg["f"](mp.mpf(v)) / (1 if lo > 0 else mp.mpf(v) ** cfg["xpow"]))
                  for v in a])
    d = a - c
    powers = [j for j in range(deg + 1) if lo > 0 or j % 2 == 1]
    coef = [0.0] * (deg + 1)
    fixed = np.zeros_like(f)
    for step, j0 in enumerate(powers):
        rest = np.array(powers[step:])
        V = d[:, None] ** rest[None, :]
        wt = np.ones(len(a))
        for _ in range(30):
            W = np.sqrt(wt) / np.abs(f)
            sol, *_ = np.linalg.lstsq(V * W[:, None], (f - fixed) * W, rcond=None)
            err = np.abs((V @ sol + fixed - f) / f)
            wt = wt * (err / err.max() + 1e-12)
            wt /= wt.sum()
        cj = _f32(sol[0])
        if step == 0 and nudge:
            cj = float(np.nextafter(np.float32(cj), np.float32(np.inf)))
        coef[j0] = cj
        fixed = fixed + cj * d ** j0
    return c, coef, float(np.abs((fixed - f) / f).max())


def _hex(v):
    return "0.0f" if v == 0 else float(v).hex() + "f"


def block(name, cfg, errors=False):
    shift, b0, ni = layout(cfg)
    rows = []
    for i in range(ni):
        lo, hi = interval(cfg, i)
        c, coef, err = fit_interval(cfg, lo, hi, i in cfg["nudge"])
        rows.append([c] + coef)
        if errors:
            print(f"/* {name} {i:2d} [{lo:.6g}, {hi:.6g}] relative error {err:.3g} */")
    up = name.upper()
    out = [f"#define FA_{up}_SHIFT {shift}", f"#define FA_{up}_B0 {b0}",
           f"#define FA_{up}_DEG {cfg['deg']}", f"#define FA_{up}_AMAX {_hex(np.float32(cfg['amax']))}",
           f"#define FA_{up}_XPOW {cfg['xpow']}",
           f"/* [center, p0 .. p{cfg['deg']}][interval], padded to two 16-lane registers */",
           f"static const float fa_{name}_tab[{cfg['deg'] + 2}][32] = {{"]
    for k in range(cfg["deg"] + 2):
        col = [r[k] for r in rows]
        col += [col[-1]] * (32 - len(col))
        body = ",\n     ".join(", ".join(_hex(v) for v in col[j:j + 4]) for j in range(0, 32, 4))
        out.append(f"    {{{body}}},")
    out.append("};")
    return "\n".join(out)


def main():
    errors = "--errors" in sys.argv
    print("/* ---- GENERATED by tools/fit_tabpoly_f32.py: begin */")
    for name, cfg in FUNCS.items():
        print(block(name, cfg, errors))
    print("/* ---- GENERATED by tools/fit_tabpoly_f32.py: end */")


if __name__ == "__main__":
    main()
