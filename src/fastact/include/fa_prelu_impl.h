/*
 * fa_prelu_impl.h -- the PReLU loops for one floating type, included twice
 * by fa_prelu.h (FA_T, FA_DOUBLE, FN as in fa_axis_impl.h).
 */

#if FA_DOUBLE
#define FA_C(x) (x)
#else
#define FA_C(x) (x##f)
#endif

static void FN(fa_pr_fwd_s)(const void *xv, void *yv, ptrdiff_t n, const void *wv)
{
    const FA_T *x = (const FA_T *)xv;
    FA_T *y = (FA_T *)yv;
    const FA_T a = *(const FA_T *)wv;
    if (a == FA_C(0.0)) {
        /* the limit of a * x: 0 also at -inf; NaN stays NaN */
        FA_PR_SIMD for (ptrdiff_t i = 0; i < n; i++) {
            FA_T v = x[i];
            FA_T neg = v != v ? v : FA_C(0.0);
            y[i] = v > FA_C(0.0) ? v : neg;
        }
    } else {
        FA_PR_SIMD for (ptrdiff_t i = 0; i < n; i++) {
            FA_T v = x[i];
            y[i] = v > FA_C(0.0) ? v : a * v;
        }
    }
}

static void FN(fa_pr_fwd_v)(const void *xv, void *yv, ptrdiff_t n, const void *wv)
{
    const FA_T *x = (const FA_T *)xv;
    const FA_T *w = (const FA_T *)wv;
    FA_T *y = (FA_T *)yv;
    FA_PR_SIMD for (ptrdiff_t i = 0; i < n; i++) {
        FA_T v = x[i], a = w[i];
        FA_T z = v != v ? v : FA_C(0.0);
        FA_T neg = a == FA_C(0.0) ? z : a * v;
        y[i] = v > FA_C(0.0) ? v : neg;
    }
}

/* Kahan step in double: s + c += v (c holds minus the lost low part) */
static inline void FN(fa_pr_kahan)(double *s, double *c, double v)
{
    double yk = v - *c;
    double t = *s + yk;
    *c = (t - *s) - yk;
    *s = t;
}

static double FN(fa_pr_bwd_s)(const void *gv, const void *xv, void *gxv, ptrdiff_t n,
                              const void *wv)
{
    const FA_T *g = (const FA_T *)gv;
    const FA_T *x = (const FA_T *)xv;
    FA_T *gx = (FA_T *)gxv;
    const FA_T a = *(const FA_T *)wv;
    double s = 0.0, c = 0.0, plain = 0.0;
    for (ptrdiff_t b = 0; b < n; b += FA_PR_BLK) {
        ptrdiff_t e = n - b < FA_PR_BLK ? n : b + FA_PR_BLK;
        double bs = 0.0;
        FA_PR_SIMD_SUM(bs)
        for (ptrdiff_t i = b; i < e; i++) {
            FA_T v = x[i], gi = g[i];
            FA_T d = v > FA_C(0.0) ? FA_C(1.0) : a;
            d = v != v ? v : d;
            gx[i] = gi * d;
            double p = (double)gi * (double)v;
            bs += v > FA_C(0.0) ? 0.0 : p;
        }
        FN(fa_pr_kahan)(&s, &c, bs);
        plain += bs;
    }
    /* Kahan turns an infinite sum into NaN (inf - inf): keep the plain one */
    return isfinite(plain) ? s : plain;
}

static void FN(fa_pr_bwd_v)(const void *gv, const void *xv, void *gxv, ptrdiff_t n,
                            const void *wv, double *acc)
{
    const FA_T *g = (const FA_T *)gv;
    const FA_T *x = (const FA_T *)xv;
    const FA_T *w = (const FA_T *)wv;
    FA_T *gx = (FA_T *)gxv;
    FA_PR_SIMD for (ptrdiff_t i = 0; i < n; i++) {
        FA_T v = x[i], gi = g[i];
        FA_T d = v > FA_C(0.0) ? FA_C(1.0) : w[i];
        d = v != v ? v : d;
        gx[i] = gi * d;
        double p = (double)gi * (double)v;
        acc[i] += v > FA_C(0.0) ? 0.0 : p;
    }
}

#undef FA_C
