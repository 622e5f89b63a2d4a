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
