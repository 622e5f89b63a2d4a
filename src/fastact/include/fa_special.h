/*
 * fa_special.h -- the normal distribution for the GELU kernels (double).
 *
 * Phi(x) = erfc(-x/sqrt2)/2 is ill-conditioned in the lower tail: a relative
 * error d in the argument z = -x/sqrt2 becomes 2 z^2 d in erfc(z) (100 ulp
 * at x = -10).  So z is formed exactly as zh + zl (two-product with a
 * double-word 1/sqrt2) and erfc(zh + zl) = erfc(zh) - zl 2/sqrt(pi) e^-zh^2
 * (first-order term; the second is below 2^-100 relative).
 * erfc itself comes from the C library for now (glibc: < 1 ulp).
 */
#ifndef FASTACT_SPECIAL_H
#define FASTACT_SPECIAL_H

/* standard normal density, with x^2 split exactly */
static inline double fa_npdf_d(double x)
{
    double h, l;
    fa_two_prod_d(x, x, &h, &l);
    l = fa_abs_d(x) < 1e150 ? l : 0.0;
    return 0x1.9884533d43651p-2 * fa_exp2w_d(-0.5 * h, -0.5 * l);
}

/* standard normal CDF with relative accuracy in the lower tail */
static inline double fa_phi_d(double x)
{
    const double c_hi = 0x1.6a09e667f3bcdp-1, c_lo = -0x1.bdd3413b26456p-55;
    double zh, zl;
    fa_two_prod_d(-x, c_hi, &zh, &zl);
    zl = fa_mad_d(-x, c_lo, zl);
    zl = fa_abs_d(x) < 1e150 ? zl : 0.0;
    double e = erfc(zh);
    double corr = zl * (0x1.20dd750429b6dp+0 * fa_exp_d(-zh * zh));
    return 0.5 * (e - corr);
}

#endif
