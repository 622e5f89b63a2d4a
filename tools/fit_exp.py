"""Fit of the float32 exp polynomial in include/fa_math_impl.h.

q(r) = e^r - 1 = r + r^2 P(r) on [-ln2/2, ln2/2]: weighted least squares on
Chebyshev nodes, reweighted towards minimax (Lawson), against mpmath.
Run: python tools/fit_exp.py  (prints degree, max relative error, coefficients).
"""
import numpy as np, mpmath as mp
mp.mp.prec=100
# fit q(r) = e^r - 1 = r + r^2 * P(r), P degree d, on [-a, a], minimize max relative error of q
a = float(mp.log(2)/2)*1.0005
def fit(d, n=4000):
    # Chebyshev nodes
    k=np.arange(n); r=a*np.cos(np.pi*(k+0.5)/n)
    target=np.array([float((mp.expm1(mp.mpf(x)) - x)/mp.mpf(x)**2) for x in r])
    w=np.array([float(abs(mp.mpf(x)/mp.expm1(mp.mpf(x)))) for x in r])  # relative weight of q
    V=np.vander(r, d+1, increasing=True)
    # iterative reweighting towards minimax (Lawson)
    wt=np.ones(n)
    for it in range(60):
        W=np.sqrt(wt)*w*r*r
        c,*_=np.linalg.lstsq(V*W[:,None], target*W, rcond=None)
        err=np.abs((V@c-target)*w*r*r)
        wt=wt*(err/err.max()+1e-30); wt/=wt.sum()
    return c, err.max()
for d in (4,5):
    c,e=fit(d); print(d, e, [float(x).hex() for x in c], list(c))


def fit_double():
    """The float64 polynomial: Chebyshev interpolant (mpmath.chebyfit) of
    (e^r - 1 - r)/r^2 on [-ln2/2, ln2/2] (slightly widened), degree 9; prints
    the max relative error of q = r + r^2 P(r) and the coefficients."""
    mp.mp.dps = 40
    a = mp.log(2) / 2 * mp.mpf("1.0005")
    f = lambda r: (mp.expm1(r) - r) / r**2 if r != 0 else mp.mpf(1) / 2  # noqa: E731
    poly = mp.chebyfit(f, [-a, a], 10)
    cs = [float(c) for c in poly[::-1]]
    worst = 0
    for i in range(2001):
        r = -a + 2 * a * i / 2000
        if r == 0:
            continue
        P = mp.mpf(0)
        for c in reversed(cs):
            P = P * r + mp.mpf(c)
        worst = max(worst, abs((r + r * r * P) / mp.expm1(r) - 1))
    print("double degree 9:", float(worst), [c.hex() for c in cs])


if __name__ == "__main__" and "--double" in __import__("sys").argv:
    fit_double()
