#!/usr/bin/env python3
"""Fit the float32 rational G(a) = Phi(-a) e^(a^2/2) of fa_phi_rat_ff (fa_erf_impl.h).

    G(a) = P(a) / (L(a) P(a) + R(a)),  P of degree 4, L linear, R of degree 3,

on a = |x| in [0, 15].  The float32 gelu kernels compute x Phi(x) =
-a e^(-a^2/2) G(a) for x <= 0 and x - a e^(-a^2/2) G(a) for x > 0, so the
fit minimizes the largest error *in float32 ulp of gelu*: the relative
error of G times a Phi(-a) / ulp(result) / 2^23 for either sign (a weight
in [1, 2) that is larger where the result lies high in its binade, and that
falls off where the result is subnormal, a > 13.2).  Steps:

1. weighted minimax in float64 coefficients (Lawson's iteratively
   reweighted least squares around a nonlinear least-squares solve), from
   a rough start;
2. P and R are scaled by s (G is unchanged: the leading coefficient of P
   becomes s) so that P(0) and Q(0) = 2 P(0) are 1.75 2^k, high in their
   binades (smaller relative rounding errors near a = 0), and s picks the
   float lattice of the coefficients;
3. the coefficients are rounded to float one at a time, largest effect
   first (l1, c0, r0, c1, r1, c2, c3, r2), the others refitted after each;
   the last two (r3, l0, the smallest effects) are searched over +-20 ulp.

Prints the coefficients as C float literals and the fit error in ulp of
gelu.  The float evaluation's own roundings add about 3.4 ulp: the whole
kernel is checked over every float32 input by tools/f32_exhaustive.py.

Run:  python3 tools/fit_gelu_f32.py     (about a minute; needs scipy)
No coefficient was copied from another library.
"""
import itertools

import numpy as np
import scipy.special as sp
from scipy.optimize import least_squares

AMAX = 15.0
MANT = 1.75           # P(0) = MANT 2^k
ORDER = [5, 0, 6, 1, 7, 2, 3, 8]   # indices into (c0..c3, l0, l1, r0..r3)
LAST = [4, 9]
# rough start (an unweighted fit); only the starting point of step 1
START = [float.fromhex(h) for h in (
    "0x1.e18c50p+6", "0x1.a712bcp+6", "0x1.625c84p+5", "0x1.3afb1ep+3", "0x1.c7df4ap-10",
    "0x1.40d850p+1", "0x1.e12120p+7", "0x1.96cd26p+6", "0x1.911cccp+4", "0x1.3a5d9cp+1")]

f32 = lambda v: float(np.float32(v))


def G(a):
    return sp.erfcx(a / np.sqrt(2)) / 2


def ulp32(v):
    e = np.floor(np.log2(np.abs(v)))
    return np.maximum(2.0 ** (e - 23), 2.0 ** -149)


def weights(a):
    v = a * sp.ndtr(-a)
    return np.maximum(v / ulp32(v), v / ulp32(a - v)) / 2**23


def model(c, a):
    c0, c1, c2, c3, l0, l1, r0, r1, r2, r3 = c
    P = (((a + c3) * a + c2) * a + c1) * a + c0
    R = ((r3 * a + r2) * a + r1) * a + r0
    return P / ((l1 * a + l0) * P + R)


A = np.concatenate([np.linspace(0, AMAX, 120001)[1:], [1e-6]])
A.sort()
F = G(A)
W = weights(A)


def werr(c, s=slice(None)):
    return (model(c, A[s]) / F[s] - 1) * W[s]


def minimax(c, free, iters, s=slice(None)):
    n = len(A[s])
    lam = np.ones(n) / n
    best = None
    for _ in range(iters):
        sl = np.sqrt(lam)

        def fun(x):
            cc = c.copy()
            cc[free] = x
            return sl * werr(cc, s)
        c = c.copy()
        c[free] = least_squares(fun, c[free], method='lm', x_scale='jac', max_nfev=200).x
        e = werr(c, s)
        m = np.max(np.abs(e))
        if best is None or m < best[0]:
            best = (m, c.copy())
        lam = lam * (np.abs(e) + 1e-3 * m)
        lam /= lam.sum()
    return best


def main():
    ulp = lambda m: m * 2**23
    m, c = minimax(np.array(START), list(range(10)), 80)
    print("float64 coefficients: %.3f ulp" % ulp(m))
    scale = f32(MANT * 128 / c[0])
    SC = [1.0 if i in (4, 5) else scale for i in range(10)]
    qz = lambda x, i: f32(x * SC[i]) / SC[i]
    sub = slice(None, None, 4)
    fixed = []
    for i in ORDER:
        c[i] = qz(c[i], i)
        fixed.append(i)
        m, c = minimax(c, [j for j in range(10) if j not in fixed], 25, sub)

    def nb(x, k, i):                 # k float steps from qz(x) on the scaled lattice
        y = np.float32(qz(x, i) * SC[i])
        for _ in range(abs(k)):
            y = np.nextafter(y, np.float32(np.inf if k > 0 else -np.inf))
        return float(y) / SC[i]
    best = (np.inf, None)
    for ks in itertools.product(range(-20, 21), repeat=len(LAST)):
        v = c.copy()
        for j, k in zip(LAST, ks):
            v[j] = nb(c[j], k, j)
        e = np.max(np.abs(werr(v, sub)))
        if e < best[0]:
            best = (e, v)
    v = best[1]
    print("float coefficients: %.3f ulp of gelu" % ulp(np.max(np.abs(werr(v)))))
    out = [f32(x * S) for x, S in zip(v, SC)]
    h = lambda x: float.hex(x).replace("0000000p", "p") + "f"
    c0, c1, c2, c3, l0, l1, r0, r1, r2, r3 = out
    print("P: %s %s %s %s %s (a^4 .. a^0)" % tuple(map(h, [scale, c3, c2, c1, c0])))
    print("R: %s %s %s %s (a^3 .. a^0)" % tuple(map(h, [r3, r2, r1, r0])))
    print("L: %s %s (a^1, a^0)" % (h(l1), h(l0)))


if __name__ == "__main__":
    main()
