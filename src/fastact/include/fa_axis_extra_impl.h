/*
 * fa_axis_extra_impl.h -- maxout, sparsemax (forward and backward) and the
 * softmax Jacobian, written once for a generic floating type and included
 * twice by fa_axis.h right after fa_axis_impl.h (FA_T, FA_DOUBLE, FN as
 * there; it uses that file's fa_ax_rmax and fa_ax_cmax).  Their driver is
 * fastact._axis.run_extra / fast_extra (items below); the interface is
 * fa_axis_table.h.
 *
 * maxout (items: W consecutive output elements of one outer index, cols =
 * (n / pieces) inner of them; pieces = n inner / cols): the max of each
 * group of `pieces` entries along the axis, NaN when the group holds NaN;
 * the backward sends g to the first maximum of the group (its first NaN),
 * +0 elsewhere.  Exact.
 *
 * sparsemax (items: one row when inner == 1, else a block of W columns):
 * p = max(z - tau, 0), z = x - max(x) in double, tau with sum(p) = 1
 * (Martins & Astudillo 2016).  tau >= -1 (the max entry has p <= 1), so
 * only entries with z > -1 can be in the support: those candidates are
 * gathered (a vector test skips the rows' blocks of 16 that hold none) and
 * Michelot's fixed point iteration (1986; Condat 2016, "Fast projection
 * onto the simplex") runs on them: tau = (sum - 1) / k over the set, drop
 * the entries <= tau, until none drops.  Each step's tau is at most the
 * true tau and each set holds the support, so it ends on exactly the
 * support, in a few steps in practice (at most k); tau is then formed from
 * a compensated sum of the support.  More than FA_AXE_BUF candidates: the
 * same steps as full passes over the row until the set fits.  A row with
 * NaN or +inf, or of only -inf, gives NaN (its max is not finite).  The
 * backward: s = [p > 0], g s - s mean_s(g), computed as s (g - sum(g s) /
 * sum(s)) (an infinite g off the support makes its entry and the mean NaN,
 * as 0 * inf).
 *
 * softmax_jacobian (items: rows; x is s = softmax(x) as (rows, n), out
 * (rows, n, n)): -s_i s_k off the diagonal, s_i (1 - s_i) on it in double,
 * with 1 - s_i replaced by the compensated sum of the other probabilities
 * for the one s_i > 1/2 (1 - s_i cancels there).
 */

#if FA_DOUBLE
#define FA_XC(x) (x)
#else
#define FA_XC(x) (x##f)
#endif
#define FA_XPRAGMA(x) _Pragma(#x)
#define FA_XSIMD _Pragma("omp simd")
#if defined(__GNUC__) || defined(__clang__)
#define FA_XFLAT __attribute__((flatten))
#else
#define FA_XFLAT
#endif

/* ------------------------------------------------------------ maxout */

/* v replaces m as the running maximum: larger, or NaN (the max) / the
 * first NaN (the backward's position); two forms, as GCC vectorizes each
 * only where it is used */
#define FA_X_TAKES_FWD(v, m) ((v) > (m) || (v) != (v))
#define FA_X_TAKES(v, m) (((v) > (m)) | (((v) != (v)) & ((m) == (m))))

/* groups of P consecutive entries (inner == 1): P a constant after inlining,
 * so the loads vectorize as interleaved loads */
static inline void FN(fa_axe_maxout_rows)(const FA_T *x, FA_T *o, ptrdiff_t G, const ptrdiff_t P)
{
    FA_XSIMD for (ptrdiff_t k = 0; k < G; k++) {
        FA_T m = x[k * P];
        for (ptrdiff_t j = 1; j < P; j++) {
            FA_T v = x[k * P + j];
            m = FA_X_TAKES_FWD(v, m) ? v : m;
        }
        o[k] = m;
    }
}

/* groups per block of the contiguous backward */
#define FA_AXE_RUN 256

/* the backward of G <= FA_AXE_RUN groups: the position of each group's max
 * (the first entry equal to it, or the first NaN when it is NaN), then
 * zeros, then g at those positions (in place: every position is found
 * before anything is written) */
static inline void FN(fa_axe_maxout_b_rows)(const FA_T *g, const FA_T *x, FA_T *o, ptrdiff_t G,
                                            const ptrdiff_t P)
{
    FA_I at[FA_AXE_RUN];
    FA_XSIMD for (ptrdiff_t k = 0; k < G; k++) {
        FA_T m = x[k * P];
        for (ptrdiff_t j = 1; j < P; j++) {
            FA_T v = x[k * P + j];
            m = FA_X_TAKES_FWD(v, m) ? v : m;
        }
        FA_I a = 0;
        for (ptrdiff_t j = P - 1; j >= 0; j--) {
            FA_T v = x[k * P + j];
            a = v == m || v != v ? (FA_I)j : a;
        }
        at[k] = a;
    }
    FA_XSIMD for (ptrdiff_t i = 0; i < G * P; i++) o[i] = FA_XC(0.0);
    for (ptrdiff_t k = 0; k < G; k++) o[k * P + at[k]] = g[k];
}

/* P = 2..8 as constants, else the generic loop */
#define FA_AXE_BY_P(CALL, P) do { switch (P) { \
    case 2: CALL(2); break; case 3: CALL(3); break; case 4: CALL(4); break; \
    case 5: CALL(5); break; case 6: CALL(6); break; case 7: CALL(7); break; \
    case 8: CALL(8); break; default: CALL(P); } } while (0)

FA_XFLAT static void FN(fa_ax_maxout)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x;
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t cols = j->cols, inner = j->inner, nblk = (cols + j->W - 1) / j->W;
    ptrdiff_t p = j->n * inner / cols;
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t o = it / nblk, e = (it % nblk) * j->W;
        ptrdiff_t e1 = cols - e < j->W ? cols : e + j->W;
        if (inner == 1) {
            const FA_T *xs = x + (o * cols + e) * p;
            FA_T *os = out + o * cols + e;
#define FA_AXE_CALL(P) FN(fa_axe_maxout_rows)(xs, os, e1 - e, P)
            FA_AXE_BY_P(FA_AXE_CALL, p);
#undef FA_AXE_CALL
            continue;
        }
        while (e < e1) {           /* runs of columns of one group row */
            ptrdiff_t k = e / inner, c = e % inner;
            ptrdiff_t len = inner - c < e1 - e ? inner - c : e1 - e;
            const FA_T *xs = x + o * j->n * inner + k * p * inner + c;
            FA_T *os = out + o * cols + e;
            FA_XSIMD for (ptrdiff_t t = 0; t < len; t++) os[t] = xs[t];
            for (ptrdiff_t q = 1; q < p; q++) {
                const FA_T *r = xs + q * inner;
                FA_XSIMD for (ptrdiff_t t = 0; t < len; t++) {
                    FA_T v = r[t], m = os[t];
                    os[t] = FA_X_TAKES_FWD(v, m) ? v : m;
                }
            }
            e += len;
        }
    }
}

FA_XFLAT static void FN(fa_ax_maxout_b)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x, *g = (const FA_T *)j->g;
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t cols = j->cols, inner = j->inner, nblk = (cols + j->W - 1) / j->W;
    ptrdiff_t p = j->n * inner / cols;
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t o = it / nblk, e = (it % nblk) * j->W;
        ptrdiff_t e1 = cols - e < j->W ? cols : e + j->W;
        if (inner == 1) {
            for (; e < e1; e += FA_AXE_RUN) {
                ptrdiff_t G = e1 - e < FA_AXE_RUN ? e1 - e : FA_AXE_RUN;
                const FA_T *xs = x + (o * cols + e) * p, *gs = g + o * cols + e;
                FA_T *os = out + (o * cols + e) * p;
#define FA_AXE_CALL(P) FN(fa_axe_maxout_b_rows)(gs, xs, os, G, P)
                FA_AXE_BY_P(FA_AXE_CALL, p);
#undef FA_AXE_CALL
            }
            continue;
        }
        while (e < e1) {
            ptrdiff_t k = e / inner, c = e % inner;
            ptrdiff_t len = inner - c < e1 - e ? inner - c : e1 - e;
            if (len > FA_AXE_RUN) len = FA_AXE_RUN;
            ptrdiff_t xo = o * j->n * inner + k * p * inner + c;
            const FA_T *xs = x + xo, *gs = g + o * cols + e;
            FA_T m[FA_AXE_RUN];
            FA_I at[FA_AXE_RUN];
            /* the whole group is read before any of it is written (in place) */
            FA_XSIMD for (ptrdiff_t t = 0; t < len; t++) { m[t] = xs[t]; at[t] = 0; }
            for (ptrdiff_t q = 1; q < p; q++) {
                const FA_T *r = xs + q * inner;
                FA_XSIMD for (ptrdiff_t t = 0; t < len; t++) {
                    FA_T v = r[t];
                    int tk = FA_X_TAKES(v, m[t]);
                    m[t] = tk ? v : m[t];
                    at[t] = tk ? q : at[t];
                }
            }
            for (ptrdiff_t q = 0; q < p; q++) {
                FA_T *orow = out + xo + q * inner;
                FA_XSIMD for (ptrdiff_t t = 0; t < len; t++) orow[t] = at[t] == q ? gs[t] : FA_XC(0.0);
            }
            e += len;
        }
    }
}

#undef FA_AXE_BY_P

/* --------------------------------------------------------- sparsemax */

/* candidates gathered on the stack; more take full passes over the row */
#ifndef FA_AXE_BUF
#define FA_AXE_BUF 1024
#endif

/* compensated sum of c[0..k) (two-sum per term) */
static inline double FN(fa_axe_csum)(const double *c, ptrdiff_t k)
{
    double s = 0.0, e = 0.0;
    for (ptrdiff_t i = 0; i < k; i++) {
        double t = s + c[i], bp = t - s;
        e += (s - (t - bp)) + (c[i] - bp);
        s = t;
    }
    return s + e;
}

/* The entries z = x - m > lo of n values at stride st: their number, their
 * (compensated) sum in *sum, the first FA_AXE_BUF of them in c; -1 when the
 * values hold NaN (st > 1; a row, st = 1, is tested before: blocks of 16
 * below the threshold are skipped unread). */
static ptrdiff_t FN(fa_axe_collect)(const FA_T *x, ptrdiff_t n, ptrdiff_t st, double m, double lo,
                                    double *c, double *sum)
{
    ptrdiff_t k = 0;
    double s = 0.0, e = 0.0;
    /* a looser test in FA_T to skip blocks of 16: z > lo implies x - m >
     * lt in FA_T (x - m rounds by at most an ulp of 2 where z > lo >= -1) */
    const FA_T mt = (FA_T)m, lt = (FA_T)lo - FA_XC(0x1p-10);
    for (ptrdiff_t i0 = 0; i0 < n; i0 += 16) {
        ptrdiff_t i1 = n - i0 < 16 ? n : i0 + 16;
        if (st == 1) {             /* (NaN: found by the caller) */
            FA_T cm = -(FA_T)INFINITY;
            FA_XPRAGMA(omp simd reduction(max:cm))
            for (ptrdiff_t i = i0; i < i1; i++) cm = x[i] > cm ? x[i] : cm;
            if (!(cm - mt > lt))
                continue;
        }
        for (ptrdiff_t i = i0; i < i1; i++) {
            FA_T v = x[i * st];
            if (v != v)
                return -1;
            double z = (double)v - m;
            if (z > lo) {
                if (k < FA_AXE_BUF)
                    c[k] = z;
                k++;
                double t = s + z, bp = t - s;
                e += (s - (t - bp)) + (z - bp);
                s = t;
            }
        }
    }
    *sum = s + e;
    return k;
}

/* Michelot's steps on the candidates c[0..k) (sum s): the support stays in
 * c[0..k); returns tau */
static double FN(fa_axe_michelot)(double *c, ptrdiff_t k, double s)
{
    for (;;) {
        double tau = (s - 1.0) / (double)k, s2 = 0.0;
        ptrdiff_t k2 = 0;
        for (ptrdiff_t i = 0; i < k; i++) {
            double v = c[i];
            int in = v > tau;
            c[k2] = v;
            k2 += in;
            s2 += in ? v : 0.0;
        }
        if (k2 == k)
            break;
        k = k2;
        s = s2;
    }
    return (FN(fa_axe_csum)(c, k) - 1.0) / (double)k;
}

/* tau of n values at stride st whose max (ignoring NaN) is mx; NaN for a
 * row with NaN or +inf or of only -inf */
static double FN(fa_axe_tau)(const FA_T *x, ptrdiff_t n, ptrdiff_t st, FA_T mx, double *c)
{
    if (!(mx > -(FA_T)INFINITY && mx < (FA_T)INFINITY))
        return (double)NAN;
    if (st == 1) {                 /* NaN: sum(x 0) is NaN, then look */
        FA_T z = FA_XC(0.0);
        FA_XPRAGMA(omp simd reduction(+:z))
        for (ptrdiff_t i = 0; i < n; i++) z += x[i] * FA_XC(0.0);
        if (z != z && FN(fa_ax_rhasnan)(x, n))
            return (double)NAN;
    }
    double m = (double)mx, lo = -1.0;
    ptrdiff_t prev = -1;
    for (;;) {
        double s;
        ptrdiff_t k = FN(fa_axe_collect)(x, n, st, m, lo, c, &s);
        if (k < 0)
            return (double)NAN;
        if (k <= FA_AXE_BUF)
            return FN(fa_axe_michelot)(c, k, s);
        double tau = (s - 1.0) / (double)k;
        if (k == prev)             /* a fixed point larger than the buffer */
            return tau;
        prev = k;
        lo = tau;
    }
}

/* p over one row (or w columns at stride inner: md, tau per column) */
static inline void FN(fa_axe_sparsemax_out)(const FA_T *x, FA_T *o, ptrdiff_t n, double m,
                                            double tau)
{
    if (tau != tau) {
        for (ptrdiff_t i = 0; i < n; i++) o[i] = (FA_T)NAN;
        return;
    }
    FA_XSIMD for (ptrdiff_t i = 0; i < n; i++) {
        double d = ((double)x[i] - m) - tau;
        o[i] = (FA_T)(d > 0.0 ? d : 0.0);
    }
}

/* backward of one row: s (g - sum(g s) / sum(s)), s = [p > 0] */
static inline void FN(fa_axe_sparsemax_b_out)(const FA_T *g, const FA_T *x, FA_T *o, ptrdiff_t n,
                                              double m, double tau)
{
    if (tau != tau) {
        for (ptrdiff_t i = 0; i < n; i++) o[i] = (FA_T)NAN;
        return;
    }
    double sum = 0.0, cnt = 0.0;
    FA_XPRAGMA(omp simd reduction(+:sum, cnt))
    for (ptrdiff_t i = 0; i < n; i++) {
        FA_T sv = ((double)x[i] - m) - tau > 0.0 ? FA_XC(1.0) : FA_XC(0.0);
        sum += (double)(g[i] * sv);
        cnt += (double)sv;
    }
    FA_T mean = (FA_T)(sum / cnt);
    FA_XSIMD for (ptrdiff_t i = 0; i < n; i++) {
        FA_T sv = ((double)x[i] - m) - tau > 0.0 ? FA_XC(1.0) : FA_XC(0.0);
        o[i] = sv * (g[i] - mean);
    }
}

/* per column of a block: the max (fa_ax_cmax) and tau */
static inline void FN(fa_axe_ctau)(const FA_T *x, ptrdiff_t n, ptrdiff_t inner, ptrdiff_t w,
                                   double *md, double *tau, double *c)
{
    FA_T m[FA_AX_WMAX];
    (void)FN(fa_ax_cmax)(x, n, inner, w, FA_XC(1.0), m);
    for (ptrdiff_t k = 0; k < w; k++) {
        tau[k] = FN(fa_axe_tau)(x + k, n, inner, m[k], c);
        md[k] = (double)m[k];
    }
}

FA_XFLAT static void FN(fa_ax_sparsemax)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x;
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t n = j->n, inner = j->inner;
    double c[FA_AXE_BUF];
    if (inner == 1) {
        for (ptrdiff_t r = i0; r < i1; r++) {
            const FA_T *xr = x + r * n;
            FA_T mx = FN(fa_ax_rmax)(xr, n, FA_XC(1.0));
            double tau = FN(fa_axe_tau)(xr, n, 1, mx, c);
            FN(fa_axe_sparsemax_out)(xr, out + r * n, n, (double)mx, tau);
        }
        return;
    }
    double md[FA_AX_WMAX], tau[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        FN(fa_axe_ctau)(x + xo, n, inner, w, md, tau, c);
        for (ptrdiff_t r = 0; r < n; r++) {
            const FA_T *xr = x + xo + r * inner;
            FA_T *orow = out + xo + r * inner;
            FA_XSIMD for (ptrdiff_t k = 0; k < w; k++) {
                double d = ((double)xr[k] - md[k]) - tau[k];
                orow[k] = tau[k] != tau[k] ? (FA_T)NAN : (FA_T)(d > 0.0 ? d : 0.0);
            }
        }
    }
}

FA_XFLAT static void FN(fa_ax_sparsemax_b)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x, *g = (const FA_T *)j->g;
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t n = j->n, inner = j->inner;
    double c[FA_AXE_BUF];
    if (inner == 1) {
        for (ptrdiff_t r = i0; r < i1; r++) {
            const FA_T *xr = x + r * n;
            FA_T mx = FN(fa_ax_rmax)(xr, n, FA_XC(1.0));
            double tau = FN(fa_axe_tau)(xr, n, 1, mx, c);
            FN(fa_axe_sparsemax_b_out)(g + r * n, xr, out + r * n, n, (double)mx, tau);
        }
        return;
    }
    double md[FA_AX_WMAX], tau[FA_AX_WMAX], sum[FA_AX_WMAX], cnt[FA_AX_WMAX];
    FA_T mean[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        FN(fa_axe_ctau)(x + xo, n, inner, w, md, tau, c);
        for (ptrdiff_t k = 0; k < w; k++) { sum[k] = 0.0; cnt[k] = 0.0; }
        for (ptrdiff_t r = 0; r < n; r++) {
            const FA_T *xr = x + xo + r * inner, *gr = g + xo + r * inner;
            FA_XSIMD for (ptrdiff_t k = 0; k < w; k++) {
                FA_T sv = ((double)xr[k] - md[k]) - tau[k] > 0.0 ? FA_XC(1.0) : FA_XC(0.0);
                sum[k] += (double)(gr[k] * sv);
                cnt[k] += (double)sv;
            }
        }
        for (ptrdiff_t k = 0; k < w; k++)   /* NaN for a NaN row: 0 * NaN below */
            mean[k] = tau[k] != tau[k] ? (FA_T)NAN : (FA_T)(sum[k] / cnt[k]);
        for (ptrdiff_t r = 0; r < n; r++) {
            const FA_T *xr = x + xo + r * inner, *gr = g + xo + r * inner;
            FA_T *orow = out + xo + r * inner;
            FA_XSIMD for (ptrdiff_t k = 0; k < w; k++) {
                FA_T sv = ((double)xr[k] - md[k]) - tau[k] > 0.0 ? FA_XC(1.0) : FA_XC(0.0);
                orow[k] = sv * (gr[k] - mean[k]);
            }
        }
    }
}

/* -------------------------------------------------- softmax_jacobian */

FA_XFLAT static void FN(fa_ax_softmax_jacobian)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *s = (const FA_T *)j->x;
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t n = j->n;
    for (ptrdiff_t r = i0; r < i1; r++) {
        const FA_T *sr = s + r * n;
        FA_T *blk = out + r * n * n;
        /* the sum of the probabilities <= 1/2, compensated */
        double rest = 0.0, e = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double v = (double)sr[i] > 0.5 ? 0.0 : (double)sr[i];
            double t = rest + v, bp = t - rest;
            e += (rest - (t - bp)) + (v - bp);
            rest = t;
        }
        rest += e;
        for (ptrdiff_t i = 0; i < n; i++) {
            FA_T *orow = blk + i * n;
            FA_T si = sr[i];
            FA_XSIMD for (ptrdiff_t k = 0; k < n; k++) orow[k] = -(si * sr[k]);
            double sd = (double)si;
            orow[i] = (FA_T)(sd * (sd > 0.5 ? rest : 1.0 - sd));
        }
    }
}

#undef FA_AXE_RUN
#undef FA_X_TAKES
#undef FA_X_TAKES_FWD
#undef FA_XSIMD
#undef FA_XFLAT
#undef FA_XPRAGMA
#undef FA_XC
