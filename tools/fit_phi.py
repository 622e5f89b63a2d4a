#!/usr/bin/env python3
"""Fit the polynomial coefficients of fa_erf_impl.h (standard normal CDF).

How the coefficients were produced
----------------------------------
Phi(x) is evaluated from two pieces, selected branchlessly:

* central, |x| < T1:   Phi(x) = 1/2 + x S(x^2),
  S(s) = (Phi(sqrt s) - 1/2) / sqrt s, an entire function of s = x^2.
* tails, |x| >= T1:    Phi(-a) = exp(-a^2/2) G(a),  a = |x|,
  G(a) = Phi(-a) exp(a^2/2) (= erfcx(a/sqrt2)/2), and Phi(x) = 1 - Phi(-x)
  for x > 0.  G is written as G(a) = w F(u) with w = 1/(a + K) and
  u = A - B w, the affine image of t = (a - K)/(a + K) = 1 - 2 K w that
  maps the fitted range a in [T1, AMAX] onto u in [-1, 1] (AMAX = inf for
  float64).
* float32 has a rational form of its own, fitted by tools/fit_gelu_f32.py.

Each smooth factor (S in s, F in u) is interpolated at N Chebyshev nodes
(first kind) with mpmath at 40 significant digits, i.e. the Chebyshev
interpolant of degree N-1, which is within a small factor of the minimax
polynomial; the Chebyshev series is converted exactly to the monomial
basis (in s, or in u on [-1, 1]) and each coefficient is rounded to the
nearest double.  The script then checks the *rounded* polynomial against
the mpmath function on a dense grid (exact evaluation of the rounded
coefficients, i.e. the approximation error alone, before the floating-point
evaluation error) and prints the C text that goes into fa_erf_impl.h.

The degrees were chosen from the decay of the Chebyshev coefficients so
that the approximation error is a small fraction of an ulp of the target
type (float64: < 2^-55 relative).

Run:  python3 tools/fit_phi.py          (about 10 s; needs mpmath)
No coefficient was copied from another library.
"""
import mpmath as mp

mp.mp.dps = 40


def G(a):
    """Phi(-a) exp(a^2/2) for a >= 0."""
    a = mp.mpf(a)
    return mp.erfc(a / mp.sqrt(2)) / 2 * mp.exp(a * a / 2)


def cheb_interp(f, N):
    """Chebyshev coefficients of the degree N-1 interpolant of f on [-1,1]."""
    xs = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / N) for k in range(N)]
    fs = [f(x) for x in xs]
    c = []
    for n in range(N):
        s = mp.fsum(fs[k] * mp.cos(mp.pi * n * (k + mp.mpf(1) / 2) / N)
                    for k in range(N))
        c.append(2 * s / N if n else s / N)
    return c


def cheb_to_mono(c):
    """sum c_n T_n(u) -> monomial coefficients (lowest first), exact."""
    N = len(c)
    T = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
    for n in range(2, N):
        a = [mp.mpf(0)] + [2 * v for v in T[n - 1]]
        b = T[n - 2] + [mp.mpf(0)] * (len(a) - len(T[n - 2]))
        T.append([x - y for x, y in zip(a, b)])
    m = [mp.mpf(0)] * N
    for n in range(N):
        for k, v in enumerate(T[n]):
            m[k] += c[n] * v
    return m


def to_double(m):
    return [float(v) for v in m]


def horner_exact(cs, u):
    r = mp.mpf(0)
    for v in reversed(cs):
        r = r * u + mp.mpf(v)
    return r


def fit_central(T1, N):
    S2 = mp.mpf(T1) ** 2

    def S_of_s(s):
        x = mp.sqrt(s)
        if x == 0:
            return 1 / mp.sqrt(2 * mp.pi)
        return (mp.ncdf(x) - mp.mpf(1) / 2) / x

    # interpolate in v in [-1,1], s = S2 (v+1)/2, then substitute back to s
    c = cheb_interp(lambda v: S_of_s(S2 * (v + 1) / 2), N)
    mv = cheb_to_mono(c)
    # p(v) with v = 2 s / S2 - 1  ->  coefficients in s
    ms = [mp.mpf(0)] * N
    for k, ck in enumerate(mv):
        # (2 s/S2 - 1)^k = sum_j binom(k,j) (2/S2)^j s^j (-1)^(k-j)
        for j in range(k + 1):
            ms[j] += ck * mp.binomial(k, j) * (2 / S2) ** j * (-1) ** (k - j)
    cs = to_double(ms)
    ce = [ms[0]] + cs[1:]      # leading term unrounded: it is used double-word
    err = 0
    for i in range(801):
        s = S2 * i / 800
        e = abs(horner_exact(ce, s) / S_of_s(s) - 1)
        err = max(err, e)
    return cs, ms, err


def fit_tail(T1, K, AMAX, N):
    T1, K = mp.mpf(T1), mp.mpf(K)
    tmin = (T1 - K) / (T1 + K)
    tmax = mp.mpf(1) if AMAX is None else (AMAX - K) / (AMAX + K)
    m, hw = (tmin + tmax) / 2, (tmax - tmin) / 2
    # u = (t - m)/hw = (1 - m)/hw - (2K/hw) w  =  A - B w
    A, B = (1 - m) / hw, 2 * K / hw

    def F(u):
        t = m + hw * u
        if t >= 1:
            return 1 / mp.sqrt(2 * mp.pi)
        w = (1 - t) / (2 * K)
        return G(1 / w - K) / w

    c = cheb_interp(F, N)
    mm = cheb_to_mono(c)
    cs = to_double(mm)
    # error of the rounded coefficients, the leading one excepted (its
    # rounding is part of the final rounding of the Horner scheme)
    ce = [mm[0]] + cs[1:]
    err = 0
    for i in range(1201):
        u = mp.cos(mp.pi * i / 1200) if i % 2 else mp.mpf(-1) + mp.mpf(2) * i / 1200
        e = abs(horner_exact(ce, u) / F(u) - 1)
        err = max(err, e)
    return cs, float(A), float(B), err, c, mm


def cfmt(v):
    return float(v).hex()


def horner(name, cs, var, doc):
    """C text of an evaluation of sum cs[k] var^k with explicit FMAs, by
    Estrin's scheme (pairs c[2i] + c[2i+1] var, then pairs of pairs with
    var^2, var^4, ...): depth log2(n) instead of n, for loops that are
    latency bound; the same terms as Horner's, rounded in another order."""
    lines = ["/* %s */" % doc,
             "FA_ERF_INLINE double %s(double %s)" % (name, var), "{"]
    terms = []
    for i in range(0, len(cs), 2):
        if i + 1 < len(cs):
            terms.append("fa_mad_d(%s, %s, %s)" % (cfmt(cs[i + 1]), var, cfmt(cs[i])))
        else:
            terms.append(cfmt(cs[i]))
    names = []
    for i, t in enumerate(terms):
        lines.append("    double e0_%d = %s;" % (i, t))
        names.append("e0_%d" % i)
    level, pw = 0, var
    while len(names) > 1:
        nxt = "%s_p%d" % (var, 2 ** (level + 1))
        lines.append("    double %s = %s * %s;" % (nxt, pw, pw))
        new = []
        for i in range(0, len(names), 2):
            if i + 1 < len(names):
                nm = "e%d_%d" % (level + 1, i // 2)
                lines.append("    double %s = fa_mad_d(%s, %s, %s);" % (nm, names[i + 1], nxt, names[i]))
                new.append(nm)
            else:
                new.append(names[i])
        names, pw, level = new, nxt, level + 1
    lines += ["    return %s;" % names[0], "}"]
    return "\n".join(lines)


# the configuration used by fa_erf_impl.h
T1 = 1.0                                  # central |x| < T1, tails beyond
D_CENTRAL_N, D_TAIL_K, D_TAIL_N = 11, 3.0, 24


def main():
    import sys
    out = []
    log2 = lambda e: float(mp.log(e, 2))
    # ---- float64
    cs, ms, err = fit_central(T1, D_CENTRAL_N)
    c0h = float(ms[0]); c0l = float(ms[0] - mp.mpf(c0h))
    print("float64 central: degree %d in s, |x| < %g, rel err 2^%.1f"
          % (len(cs) - 1, T1, log2(err)), file=sys.stderr)
    out.append("#define FA_PHI_C0HI_D %s\n#define FA_PHI_C0LO_D %s" % (cfmt(c0h), cfmt(c0l)))
    out.append(horner("fa_phi_cpoly_d", cs[1:], "s",
                      "float64 central |x| < %g: S(s) = C0 + s fa_phi_cpoly_d(s), s = x^2; "
                      "fit error 2^%.1f relative" % (T1, log2(err))))
    cs, A, B, err, c, mm = fit_tail(T1, D_TAIL_K, None, D_TAIL_N)
    t0h = float(mm[0]); t0l = float(mm[0] - mp.mpf(t0h))
    print("float64 tail: degree %d in u, K=%g, rel err 2^%.1f"
          % (len(cs) - 1, D_TAIL_K, log2(err)), file=sys.stderr)
    out.append("#define FA_PHI_K_D %s\n#define FA_PHI_A_D %s\n#define FA_PHI_B_D %s"
               % (cfmt(D_TAIL_K), cfmt(A), cfmt(B)))
    out.append("#define FA_PHI_T0HI_D %s\n#define FA_PHI_T0LO_D %s" % (cfmt(t0h), cfmt(t0l)))
    out.append(horner("fa_phi_tpoly_d", cs[1:], "u",
                      "float64 tail a = |x| >= %g: Phi(-a) e^(a^2/2) = w F(u), w = 1/(a + K), "
                      "u = A - B w, F(u) = T0 + u fa_phi_tpoly_d(u); fit error 2^%.1f relative"
                      % (T1, log2(err))))
    print("\n\n".join(out))


if __name__ == "__main__":
    main()
