#!/usr/bin/env python3
"""Fit the float32 log1p(u), u in [0, 1], of fa_math_impl.h (fa_log1p_01).

softplus and log_sigmoid need log1p(e^-|z|), an argument in [0, 1].  In
float32 it is evaluated as

    log1p(u) = u + u^2 Q(u),    Q(u) = (log1p(u) - u) / u^2  (Q(0) = -1/2),

with Q a polynomial of degree N-1: its Chebyshev interpolant on [0, 1]
(N nodes, mpmath at 40 digits), converted exactly to monomials in u, each
coefficient rounded to float.  u^2 Q is at most 0.45 of the result, so Q
needs less accuracy than the result; no division and no select (the
float64 kernels keep the reduction m 2^k with the atanh series).  The
script prints the error of u + u^2 Q(u) against mpmath with the float
coefficients (before the rounding of the evaluation) and the C lines.

Run:  python3 tools/fit_log1p.py     (needs mpmath; about a second)
No coefficient was copied from another library.
"""
import struct

import mpmath as mp

from fit_phi import cheb_interp, cheb_to_mono, horner_exact

mp.mp.dps = 40
N = 10


def f32(v):
    return struct.unpack("f", struct.pack("f", float(v)))[0]


def Q(u):
    if u < mp.mpf("1e-10"):
        return -mp.mpf(1) / 2 + u / 3 - u * u / 4
    return (mp.log1p(u) - u) / (u * u)


def hexf(v):
    """float hex literal without trailing zeros"""
    m, e = float(v).hex().split("p")
    return m.rstrip("0").rstrip(".") + "p" + e


def main():
    c = cheb_interp(lambda v: Q((v + 1) / 2), N)       # in v = 2u - 1
    mv = cheb_to_mono(c)
    mu = [mp.mpf(0)] * N                               # in u
    for k, ck in enumerate(mv):
        for j in range(k + 1):
            mu[j] += ck * mp.binomial(k, j) * 2 ** j * (-1) ** (k - j)
    cf = [f32(v) for v in mu]
    err = 0
    for i in range(1, 4001):
        u = mp.mpf(i) / 4000
        err = max(err, abs((u + u * u * horner_exact(cf, u)) / mp.log1p(u) - 1))
    print("/* degree %d, fit error of u + u^2 Q(u) 2^%.1f with float coefficients */"
          % (N - 1, float(mp.log(err, 2))))
    print("    FA_T q = %sf;" % hexf(cf[-1]))
    for v in reversed(cf[:-1]):
        print("    q = FN(fa_mad)(q, u, %sf);" % hexf(v))


if __name__ == "__main__":
    main()
