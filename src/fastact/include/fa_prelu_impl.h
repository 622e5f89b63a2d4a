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
        FA_PF_BLOCKS(FA_T, n, b, e) {
            FA_PF_R(x + b); FA_PF_W(y + b);
            FA_PR_SIMD for (ptrdiff_t i = b; i < e; i++) {
                FA_T v = x[i];
                FA_T neg = v != v ? v : FA_C(0.0);
                y[i] = v > FA_C(0.0) ? v : neg;
            }
        }
    } else {
        FA_PF_BLOCKS(FA_T, n, b, e) {
            FA_PF_R(x + b); FA_PF_W(y + b);
            FA_PR_SIMD for (ptrdiff_t i = b; i < e; i++) {
                FA_T v = x[i];
                y[i] = v > FA_C(0.0) ? v : a * v;
            }
        }
    }
}

static void FN(fa_pr_fwd_v)(const void *xv, void *yv, ptrdiff_t n, const void *wv)
{
    const FA_T *x = (const FA_T *)xv;
    const FA_T *w = (const FA_T *)wv;
    FA_T *y = (FA_T *)yv;
    FA_PF_BLOCKS(FA_T, n, b, e) {
        FA_PF_R(x + b); FA_PF_R1(w + b); FA_PF_W(y + b);
        FA_PR_SIMD for (ptrdiff_t i = b; i < e; i++) {
            FA_T v = x[i], a = w[i];
            FA_T z = v != v ? v : FA_C(0.0);
            FA_T neg = a == FA_C(0.0) ? z : a * v;
            y[i] = v > FA_C(0.0) ? v : neg;
        }
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
        /* a reduction: not blocked for prefetch (fa_prefetch.h) */
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

/* contribution of one element to grad_x and to the weight gradient */
#define FA_PR_B1(k) \
    FA_T v##k = x##k[i], g##k = gg##k[i]; \
    FA_T d##k = v##k > FA_C(0.0) ? FA_C(1.0) : a; \
    d##k = v##k != v##k ? v##k : d##k; \
    gx##k[i] = g##k * d##k; \
    double p##k = (double)g##k * (double)v##k; \
    p##k = v##k > FA_C(0.0) ? 0.0 : p##k;

/* `rows` rows of n elements, `stride` elements apart; acc[i] gets the sum
 * over the rows of column i.  Four rows per pass: the double accumulator
 * is read and written once per four elements. */
static void FN(fa_pr_bwd_v)(const void *gv, const void *xv, void *gxv, ptrdiff_t n,
                            const void *wv, double *acc, ptrdiff_t rows, ptrdiff_t stride)
{
    const FA_T *w = (const FA_T *)wv;
    ptrdiff_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const FA_T *gg0 = (const FA_T *)gv + r * stride, *gg1 = gg0 + stride,
                   *gg2 = gg1 + stride, *gg3 = gg2 + stride;
        const FA_T *x0 = (const FA_T *)xv + r * stride, *x1 = x0 + stride,
                   *x2 = x1 + stride, *x3 = x2 + stride;
        FA_T *gx0 = (FA_T *)gxv + r * stride, *gx1 = gx0 + stride,
             *gx2 = gx1 + stride, *gx3 = gx2 + stride;
        FA_PR_SIMD for (ptrdiff_t i = 0; i < n; i++) {
            FA_T a = w[i];
            FA_PR_B1(0) FA_PR_B1(1) FA_PR_B1(2) FA_PR_B1(3)
            acc[i] += ((p0 + p1) + (p2 + p3));
        }
    }
    for (; r < rows; r++) {
        const FA_T *gg0 = (const FA_T *)gv + r * stride;
        const FA_T *x0 = (const FA_T *)xv + r * stride;
        FA_T *gx0 = (FA_T *)gxv + r * stride;
        FA_PR_SIMD for (ptrdiff_t i = 0; i < n; i++) {
            FA_T a = w[i];
            FA_PR_B1(0)
            acc[i] += p0;
        }
    }
}
#undef FA_PR_B1

#undef FA_C
