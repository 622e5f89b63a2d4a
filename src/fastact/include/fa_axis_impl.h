/*
 * fa_axis_impl.h -- the along-axis kernels, written once for a generic
 * floating type and included twice by fa_axis.h (FA_T, FA_DOUBLE, FN as
 * in fa_math_impl.h).
 *
 * Numerics (see README "Along an axis"):
 *   - every exponential is max-shifted: exp(x - max), so no finite input
 *     overflows; log_softmax = (x - max) - log(sum), in that order;
 *   - sums of exponentials (and of g * y): rows add lane-parallel partial
 *     sums over blocks of FA_AX_BLK elements (64 or 128 terms per lane;
 *     float32 exponentials on AVX-512: 16, in four accumulators) and
 *     combine the blocks by Kahan summation in double; column blocks use
 *     Kahan summation per column.  Row sums of softmax are then 1 to within
 *     a few ulp whatever n.  softmax multiplies by 1/sum (fa_ax_recip).
 *   - special values come out of the IEEE arithmetic itself (max ignores
 *     NaN, the sum does not): NaN in a row -> the row is NaN; an all -inf
 *     row -> x - max = NaN -> NaN (softmax, log_softmax); a +inf entry ->
 *     inf - inf = NaN -> NaN (softmax, as torch); logsumexp tests max for
 *     +-inf explicitly.
 *
 * Memory: the forward rows are read once from memory (online max-and-sum
 * over L1-sized blocks, fa_ax_online); a block of columns is read twice
 * (max, then the exponentials) but the driver sizes it to stay in L2, so
 * memory is streamed once from DRAM there too.
 */

#if FA_DOUBLE
#define FA_C(x) (x)
#else
#define FA_C(x) (x##f)
#endif

/* Table entries are `flatten`ed: GCC otherwise stops inlining fa_exp into
 * functions this size and calls it once per element (scalar, 10x slower). */
#if defined(__GNUC__) || defined(__clang__)
#define FA_AX_FLAT __attribute__((flatten))
#define FA_AX_NOINLINE __attribute__((noinline))
#else
#define FA_AX_FLAT
#define FA_AX_NOINLINE
#endif
#define FA_AX_PRAGMA(x) _Pragma(#x)
#define FA_AX_SIMD _Pragma("omp simd")
#define FA_AX_SIMD_SUM(a) FA_AX_PRAGMA(omp simd reduction(+:a))
#define FA_AX_SIMD_SUM2(a, b) FA_AX_PRAGMA(omp simd reduction(+:a, b))
#define FA_AX_SIMD_MAX(a) FA_AX_PRAGMA(omp simd reduction(max:a))
/* for i in [0, n): dst[i] = EXPR, vectorized, dst prefetched ahead for
 * writing (fa_prefetch.h); the loops that write a row's output first */
#define FA_AX_STORE(dst, n, EXPR) FA_AX_STORE_PF(dst, n, EXPR, (void)0)
/* FA_AX_STORE with PF (a statement on the block [b_, e_)) before each block */
#define FA_AX_STORE_PF(dst, n, EXPR, PF) \
    FA_PF_BLOCKS(FA_T, n, b_, e_) { \
        FA_PF_W((dst) + b_); \
        PF; \
        FA_AX_SIMD for (ptrdiff_t i = b_; i < e_; i++) (dst)[i] = (EXPR); \
    }
/* FA_AX_STORE for the last pass of softmax's backward from y over a row
 * or a group of rows: where pf (the job streams), it also fetches, block
 * by block, the same span of the rows the caller handles next (nx, ny: g
 * and y there).  That pass computes from L1 and, when out is streamed,
 * waits on no memory read; the next rows then arrive during it rather
 * than at the start of their first pass (at 1.6e7 float32 elements,
 * streamed: 11.8 -> 9.4-10.3 ms, docs/design.md; the float32 forwards read
 * the next rows ahead in fa_ax_expsumw).  Not on data in cache: (100,
 * 1000) and (16384, 64) float32 ran 10% slower with it.  A prefetch past
 * the end of the array never faults. */
#define FA_AX_STORE_NEXT(dst, n, EXPR, nx, ny, pf) \
    if (pf) { \
        FA_AX_STORE_PF(dst, n, EXPR, FA_PF_SPAN((nx) + b_, FA_PF_LINES * 64, 0); \
                                     FA_PF_SPAN((ny) + b_, FA_PF_LINES * 64, 0)) \
    } else { \
        FA_AX_STORE(dst, n, EXPR) \
    }

/* the elements from p to the start of the next 64-byte line (0 on a line) */
static inline ptrdiff_t FN(fa_ax_line_head)(const FA_T *p)
{
    return (ptrdiff_t)(((64 - ((uintptr_t)p & 63)) & 63) / sizeof(FA_T));
}

/* dst[0, len) = src[0, len): the whole cache lines of dst with streaming
 * stores, the partial lines at either end with ordinary ones (dst is
 * aligned to its element, as the driver checks) */
static inline void FN(fa_ax_stream_put)(FA_T *dst, const FA_T *src, ptrdiff_t len)
{
    ptrdiff_t h = FN(fa_ax_line_head)(dst);
    if (h > len) h = len;
    ptrdiff_t body = (ptrdiff_t)(((size_t)(len - h) * sizeof(FA_T)) & ~(size_t)63);
    ptrdiff_t t = h + body / (ptrdiff_t)sizeof(FA_T);
    for (ptrdiff_t i = 0; i < h; i++) dst[i] = src[i];
    fa_stream_copy(dst + h, src + h, body);
    for (ptrdiff_t i = t; i < len; i++) dst[i] = src[i];
}

/* FA_AX_STORE for a row longer than a streaming job's row buffer
 * (FA_AX_SROW): the values of EXPR, FA_AX_BLK at a time, into a buffer in
 * L1, then to dst (fa_ax_stream_put), the blocks after the first starting
 * on a line of dst; a fence after the row.  Where the row's inputs fill
 * most of L2 (float64 softmax backward, 50257 entries: g and y 804 KB of
 * 1 MB), ordinary stores evict them before the pass reads them again. */
#define FA_AX_STORE_STREAMED(dst, n, EXPR) do { \
        FA_T sb_[FA_AX_BLK] __attribute__((aligned(64))); \
        ptrdiff_t h_ = FN(fa_ax_line_head)(dst); \
        for (ptrdiff_t b_ = 0, e_; b_ < (n); b_ = e_) { \
            e_ = b_ == 0 && h_ ? h_ : b_ + FA_AX_BLK; \
            if (e_ > (n)) e_ = (n); \
            FA_AX_SIMD for (ptrdiff_t i = b_; i < e_; i++) sb_[i - b_] = (EXPR); \
            FN(fa_ax_stream_put)((dst) + b_, sb_, e_ - b_); \
        } \
        fa_stream_fence(); \
    } while (0)

/* the most short rows handled as a group (fa_ax_grp below) */
#define FA_AX_GRP 16

/* sg x - m for sg = +-1 (softmax, softmin): sg x is exact, so one FMA
 * rounds as the two operations do (and costs one vector operation) */
#define FA_AX_SHIFT(sg, x, m) FN(fa_mad)(sg, x, -(m))

/* Kahan step (float64 columns and blocks): s + c += v */
static inline void FN(fa_ax_kahan)(double *s, double *c, double v)
{
    double y = v - *c;
    double t = *s + y;
    *c = (t - *s) - y;
    *s = t;
}

/* e^x on [FA_AX_XLO, FA_AX_XHI], bitwise equal to fa_exp there: 2^n is a
 * normal number (n >= -126 / -1022), so one scaling by 2^n rounds exactly
 * like fa_exp's two exact-then-rounding factors, and neither clamp is
 * active.  NaN propagates (through q).  About 7 vector operations fewer
 * than fa_exp; callers check the range of the arguments (a block min/max)
 * and fall back to fa_exp outside it. */
#if FA_DOUBLE
#define FA_AX_XLO (-708.0)
#define FA_AX_XHI 709.0
#else
#define FA_AX_XLO (-87.0f)
#define FA_AX_XHI 88.0f
#endif
static inline FA_T FN(fa_ax_expn)(FA_T x)
{
    FA_I ni;
    FA_T nf;
    FA_T r = FN(fa_exp_reduce)(x, FA_C(0.0), &ni, &nf);
    FA_T q = FN(fa_expm1_poly)(r);
    (void)nf;
    FA_T s = FN(fa_pow2i)(ni);
    return FN(fa_mad)(q, s, s);                 /* 2^n (1 + q): see fa_exp_k */
}

/* fa_ax_expn when fast (a compile-time constant after inlining), else fa_exp */
static inline FA_T FN(fa_ax_exps)(FA_T x, const int fast)
{
    return fast ? FN(fa_ax_expn)(x) : FN(fa_exp)(x);
}

/* fa_ax_expn, and 0 at -inf: the backward kernels' fast range is that of
 * the finite arguments (fa_ax_rminmax_z), so that rows with -inf entries
 * (masked logits) stay on it: -inf is an exact 0, and the slow form
 * (fa_ax_expmul, for a finite argument below FA_AX_XLO) is 2-3x dearer */
static inline FA_T FN(fa_ax_expz)(FA_T x)
{
    return x == -(FA_T)INFINITY ? FA_C(0.0) : FN(fa_ax_expn)(x);
}

/* the exponential by a compile-time constant `fast`: 2 fa_ax_expz (the
 * backward kernels' fast range), 1 fa_ax_expn, 0 fa_exp */
static inline FA_T FN(fa_ax_expc)(FA_T t, const int fast)
{
    return fast == 2 ? FN(fa_ax_expz)(t) : FN(fa_ax_exps)(t, fast);
}

/* e^t f for t <= 0 (or NaN, -inf: 0 f), without forming e^t first where
 * it is subnormal: a gradient f > 1 times a softmax entry below the
 * normal range (float32 x - max < -87) keeps all its bits (e^t rounded
 * to a subnormal first: 453 ulp at f = 1000, t = -100).  float: in double
 * (e^t normal to t = -708; one rounding to float).  double: (1 + q) f
 * rounded once, then 2^n in three exact factors of at least 2^-1022 (n
 * down to -2165: e^t f is 0 below t = -1500 for every finite f).  The
 * rows or columns with an argument below the fast range (FA_AX_XLO) take
 * it; the others keep e^t normal and multiply. */
static inline FA_T FN(fa_ax_expmul)(FA_T t, FA_T f)
{
#if FA_DOUBLE
    FA_T tc = t < -1500.0 ? -1500.0 : t;        /* NaN stays NaN */
    FA_I ni, ia, ib, ic;
    FA_T nf;
    FA_T q = FN(fa_expm1_poly)(FN(fa_exp_reduce)(tc, 0.0, &ni, &nf));
    (void)ni;
    FA_T a = nf < -1022.0 ? -1022.0 : nf;
    FA_T b = nf - a < -1022.0 ? -1022.0 : nf - a;
    (void)FN(fa_rint_magic)(a, &ia);
    (void)FN(fa_rint_magic)(b, &ib);
    (void)FN(fa_rint_magic)(nf - a - b, &ic);
    FA_T r = (((1.0 + q) * f) * FN(fa_pow2i)(ia)) * FN(fa_pow2i)(ib) * FN(fa_pow2i)(ic);
    return t == -INFINITY ? 0.0 * f : r;
#else
    return (float)(fa_exp_d((double)t) * (double)f);
#endif
}

/* ------------------------------------------------------------- rows */

/* sum of a[i] (b NULL) or a[i] b[i] over i < n, in FA_T vector lanes
 * (see fa_axis.h) */
#if FA_AX_VEC
#if FA_DOUBLE
#define FA_AX_V fa_ax_vd
#define FA_AX_N fa_ax_nd
#define FA_AX_FOLD fa_ax_fold_d
#else
#define FA_AX_V fa_ax_vf
#define FA_AX_N fa_ax_nf
#define FA_AX_FOLD fa_ax_fold_f
#endif
/* the L lanes held in K native vectors, folded pairwise in the order of
 * FA_AX_FOLD (lanes k and k + L/2 first, then k + L/4, ...) */
static inline FA_T FN(fa_ax_nfold)(FA_AX_N *s)
{
    enum { K = 64 / FA_AX_NB, W = FA_AX_NB / sizeof(FA_T) };
    if (K == 1) {
        FA_AX_V v;
        memcpy(&v, s, 64);
        return FA_AX_FOLD(v);
    }
    (void)W;
    for (int w = K / 2; w >= 1; w /= 2)
        for (int k = 0; k < w; k++) s[k] += s[k + w];
#if FA_AX_NB < 64
    return FN(fa_ax_nfold1)(s[0]);
#else
    return s[0][0];     /* not reached: K == 1 */
#endif
}

static inline FA_T FN(fa_ax_vdot_k)(const FA_T *a, const FA_T *b, ptrdiff_t n, const int pf)
{
    /* L lanes in K native vectors of W lanes each (fa_axis.h) */
    enum { L = 64 / sizeof(FA_T), K = 64 / FA_AX_NB, W = FA_AX_NB / sizeof(FA_T) };
    FA_AX_N s[K], va, vb;
    for (int k = 0; k < K; k++) s[k] = (FA_AX_N){0};
    ptrdiff_t i = 0;
    if (b) {
        for (; i + L <= n; i += L) {
            if (pf) { FA_PF_R1(a + i); FA_PF_R1(b + i); }
            for (int k = 0; k < K; k++) {
                memcpy(&va, a + i + k * W, FA_AX_NB); memcpy(&vb, b + i + k * W, FA_AX_NB);
                s[k] += va * vb;
            }
        }
    } else {
        for (; i + L <= n; i += L) {
            if (pf) FA_PF_R1(a + i);
            for (int k = 0; k < K; k++) { memcpy(&va, a + i + k * W, FA_AX_NB); s[k] += va; }
        }
    }
    if (i < n) {                       /* the tail, zero-padded */
        FA_T ta[L], tb[L];
        for (int k = 0; k < L; k++) {
            ta[k] = i + k < n ? a[i + k] : FA_C(0.0);
            tb[k] = b && i + k < n ? b[i + k] : FA_C(1.0);
        }
        for (int k = 0; k < K; k++) {
            memcpy(&va, ta + k * W, FA_AX_NB); memcpy(&vb, tb + k * W, FA_AX_NB);
            s[k] += va * vb;
        }
    }
    return FN(fa_ax_nfold)(s);
}

/* softmax's backward from y over nr <= FA_AX_GRP short rows whose length
 * is a multiple of the L lanes: fa_ax_softmax_by_short's arithmetic (the
 * dots in vdot's lanes and fold, so the same bits) in native vectors with
 * no tail code, no read-ahead and no prefetch for writing (pf: the job
 * streams, the next rows are fetched as in FA_AX_STORE_NEXT).  For data
 * in cache (FA_AX_NEAR): the generic loops ran 20-25% slower there (16384
 * rows of 64 floats: 290 -> 235 us, AVX2) */
static inline void FN(fa_ax_softmax_by_even)(const FA_T *g, const FA_T *y, FA_T *o,
                                             ptrdiff_t n, ptrdiff_t nr, FA_T sg, const int pf)
{
    enum { L = 64 / sizeof(FA_T), K = 64 / FA_AX_NB, W = FA_AX_NB / sizeof(FA_T) };
    FA_T d[FA_AX_GRP];
    for (ptrdiff_t r = 0; r < nr; r++) {
        const FA_T *a = g + r * n, *b = y + r * n;
        FA_AX_N s[K], va, vb;
        for (int k = 0; k < K; k++) s[k] = (FA_AX_N){0};
        for (ptrdiff_t i = 0; i < n; i += L)
            for (int k = 0; k < K; k++) {
                memcpy(&va, a + i + k * W, FA_AX_NB); memcpy(&vb, b + i + k * W, FA_AX_NB);
                s[k] += va * vb;
            }
        FA_T v = FN(fa_ax_nfold)(s);
        d[r] = (v - v) + v;                  /* as fa_ax_rdot1 */
    }
    for (ptrdiff_t r = 0; r < nr; r++) {
        const FA_T *gr = g + r * n, *yr = y + r * n;
        FA_T *orow = o + r * n;
        FA_AX_N vd, vs, vg, vy;
        for (int k = 0; k < W; k++) { vd[k] = d[r]; vs[k] = sg; }
        for (ptrdiff_t i = 0; i < n; i += W) {
            if (pf && i % L == 0) {  /* as FA_AX_STORE_NEXT: the next rows' lines */
                FA_PF_SPAN(gr + nr * n + i, 64, 0);
                FA_PF_SPAN(yr + nr * n + i, 64, 0);
            }
            memcpy(&vg, gr + i, FA_AX_NB); memcpy(&vy, yr + i, FA_AX_NB);
            vy = vs * (vy * (vg - vd));
            memcpy(orow + i, &vy, FA_AX_NB);
        }
    }
}
#undef FA_AX_V
#undef FA_AX_N
#undef FA_AX_FOLD
#else
static inline FA_T FN(fa_ax_vdot_k)(const FA_T *a, const FA_T *b, ptrdiff_t n, const int pf)
{
    (void)pf;
    FA_T s = FA_C(0.0);
    if (b) {
        FA_AX_SIMD_SUM(s) for (ptrdiff_t i = 0; i < n; i++) s += a[i] * b[i];
    } else {
        FA_AX_SIMD_SUM(s) for (ptrdiff_t i = 0; i < n; i++) s += a[i];
    }
    return s;
}
#endif

/* fa_ax_vdot_k with the lines 2 KB ahead fetched (a long row's blocks) */
static inline FA_T FN(fa_ax_vdot)(const FA_T *a, const FA_T *b, ptrdiff_t n)
{
    return FN(fa_ax_vdot_k)(a, b, n, 1);
}

#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
#ifndef FASTACT_AX_EXPT_V16
#define FASTACT_AX_EXPT_V16
/* e^x on 16 floats for the AVX-512 float32 forward loops (fa_ax_expsumw):
 * x = k ln2/16 + r, |r| <= ln2/32 (k = round(16 x / ln2), the reduction of
 * fa_exp with its constants over 16), e^x = 2^floor(k/16) 2^(j/16) e^r, j =
 * k mod 16: 2^(j/16) from a 16-entry table in one register (vpermps, whose
 * index is the low 4 bits of t's representation, k's), e^r - 1 a cubic
 * (r + r^2 (1/2 + r/6), truncation 1e-8 relative), the power of two by
 * vscalefps (which floors its second operand; NaN passes).  Eight
 * operations on the multiply-add ports per vector where fa_ax_expn has ten
 * (15% less time in the exponential loop on Zen 5).  Over every float32 x
 * in [-87, 0] (the fast range after the max shift): at most 1.06 ulp, as
 * fa_ax_expn's 1.04, 1.7% of results above 0.5 ulp (0.8%).  Not bitwise
 * fa_ax_expn: the AVX-512 forward sums use this form for every row they
 * take (fast 1 and 2), so a row's exponentials do not depend on the path. */
static const float fa_ax_exp2j16[16] __attribute__((aligned(64))) = {
    0x1.000000p+0f, 0x1.0b5586p+0f, 0x1.172b84p+0f, 0x1.2387a6p+0f,
    0x1.306fe0p+0f, 0x1.3dea64p+0f, 0x1.4bfdaep+0f, 0x1.5ab07ep+0f,
    0x1.6a09e6p+0f, 0x1.7a1148p+0f, 0x1.8ace54p+0f, 0x1.9c4918p+0f,
    0x1.ae89fap+0f, 0x1.c199bep+0f, 0x1.d5818ep+0f, 0x1.ea4afap+0f};
static inline __m512 fa_ax_expt_v16(__m512 x)
{
    const __m512 magic = _mm512_set1_ps(FA_EXPF_MAGIC);
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(16.0f * FA_EXPF_LOG2E), magic);
    __m512 k = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fmadd_ps(k, _mm512_set1_ps(-FA_EXPF_LN2_HI / 16.0f), x);
    r = _mm512_fmadd_ps(k, _mm512_set1_ps(-FA_EXPF_LN2_LO / 16.0f), r);
    __m512 c = _mm512_fmadd_ps(_mm512_set1_ps(0x1.555556p-3f), r, _mm512_set1_ps(0.5f));
    __m512 p = _mm512_fmadd_ps(_mm512_mul_ps(r, r), c, r);
    __m512 tj = _mm512_permutexvar_ps(_mm512_castps_si512(t), _mm512_load_ps(fa_ax_exp2j16));
    return _mm512_scalef_ps(_mm512_fmadd_ps(tj, p, tj),
                            _mm512_mul_ps(k, _mm512_set1_ps(1.0f / 16.0f)));
}
/* fa_ax_expt_v16, and with z 0 at -inf (fa_ax_expz's rule: masked logits) */
static inline __m512 fa_ax_expt_z16(__m512 x, const int z)
{
    __m512 e = fa_ax_expt_v16(x);
    if (!z) return e;
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-INFINITY), _CMP_NEQ_UQ), e);
}
#endif
#endif

#if !FA_DOUBLE && FA_AX_VEC && !defined(__AVX512F__)
#ifndef FASTACT_AX_LANESUM_F
#define FASTACT_AX_LANESUM_F
/* fa_ax_lanesum_f: the sum of e[0 .. n) in double, added as the AVX-512
 * fa_ax_expsumw adds it: four accumulators of 16 float lanes over
 * 64-element steps (in native vectors, fa_axis.h), the remaining
 * 16-element steps into the first, the last partial step (zero-padded)
 * into the second; then (a0 + a1) + (a2 + a3), its lanes k and k + 8 added
 * in double, and those 8 folded pairwise.  In pieces: the accumulators (its
 * loops, or fa_ax_expsum8_f's exponential loop), the last partial step
 * (fa_ax_lanetail_f) and the fold (fa_ax_lanefold_f). */
static inline double fa_ax_lanefold_f(fa_ax_nf a[4][64 / FA_AX_NB])
{
    enum { K = 64 / FA_AX_NB, W = FA_AX_NB / sizeof(float) };
#if FA_AX_NB == 32
    /* the same adds in registers: lanes k and k + 8 are lane k of the two
     * halves, widened four at a time */
    (void)K;
    (void)W;
    const __m256 lo = (__m256)((a[0][0] + a[1][0]) + (a[2][0] + a[3][0]));
    const __m256 hi = (__m256)((a[0][1] + a[1][1]) + (a[2][1] + a[3][1]));
    __m256d d03 = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(lo)),
                                _mm256_cvtps_pd(_mm256_castps256_ps128(hi)));
    __m256d d47 = _mm256_add_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(lo, 1)),
                                _mm256_cvtps_pd(_mm256_extractf128_ps(hi, 1)));
    __m256d d4 = _mm256_add_pd(d03, d47);
    __m128d d2 = _mm_add_pd(_mm256_castpd256_pd128(d4), _mm256_extractf128_pd(d4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(d2, _mm_unpackhi_pd(d2, d2)));
#else
    float f[16];
    double d[8];
    fa_ax_nf v;
    for (int k = 0; k < K; k++) {
        v = (a[0][k] + a[1][k]) + (a[2][k] + a[3][k]);
        memcpy(f + W * k, &v, FA_AX_NB);
    }
    for (int k = 0; k < 8; k++) d[k] = (double)f[k] + (double)f[k + 8];
    for (int k = 0; k < 4; k++) d[k] += d[k + 4];
    for (int k = 0; k < 2; k++) d[k] += d[k + 2];
    return d[0] + d[1];
#endif
}
/* a[1] += the last partial 16-element step e[i .. n) (n - i < 16), zero-padded */
static inline void fa_ax_lanetail_f(fa_ax_nf a[4][64 / FA_AX_NB], const float *e, ptrdiff_t i,
                                    ptrdiff_t n)
{
    enum { K = 64 / FA_AX_NB, W = FA_AX_NB / sizeof(float) };
    if (i < n) {
        float t[16] = {0};
        fa_ax_nf v;
        memcpy(t, e + i, (size_t)(n - i) * sizeof(float));
        for (int k = 0; k < K; k++) {
            memcpy(&v, t + W * k, FA_AX_NB);
            a[1][k] += v;
        }
    }
}
static inline double fa_ax_lanesum_f(const float *e, ptrdiff_t n)
{
    enum { K = 64 / FA_AX_NB, W = FA_AX_NB / sizeof(float) };
    fa_ax_nf a[4][K], v;
    for (int j = 0; j < 4; j++)
        for (int k = 0; k < K; k++) a[j][k] = (fa_ax_nf){0};
    ptrdiff_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < K; k++) {
                memcpy(&v, e + i + 16 * j + W * k, FA_AX_NB);
                a[j][k] += v;
            }
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < K; k++) {
            memcpy(&v, e + i + W * k, FA_AX_NB);
            a[0][k] += v;
        }
    fa_ax_lanetail_f(a, e, i, n);
    return fa_ax_lanefold_f(a);
}
#endif
#endif

#if !FA_DOUBLE && FA_AX_VEC && !defined(__AVX512F__)
#ifndef FASTACT_AX_EXPSUM8_F
#define FASTACT_AX_EXPSUM8_F
#if defined(__AVX2__) && defined(__FMA__)
/* fa_ax_expn_f on 8 lanes: the same operations in the same order */
FA_INLINE __m256 fa_ax_expn_v8(__m256 x)
{
    const __m256 magic = _mm256_set1_ps(FA_EXPF_MAGIC);
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(FA_EXPF_LOG2E), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(magic));
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-FA_EXPF_LN2_HI), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-FA_EXPF_LN2_LO), r);
    __m256 r2 = _mm256_mul_ps(r, r);
    __m256 p01 = _mm256_fmadd_ps(_mm256_set1_ps(FA_EXPF_P1), r, _mm256_set1_ps(FA_EXPF_P0));
    __m256 p23 = _mm256_fmadd_ps(_mm256_set1_ps(FA_EXPF_P3), r, _mm256_set1_ps(FA_EXPF_P2));
    __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(FA_EXPF_P4), r2, p23), r2, p01);
    __m256 q = _mm256_fmadd_ps(r2, p, r);
    __m256 sc = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
    return _mm256_fmadd_ps(q, sc, sc);
}
#endif
/* fa_ax_expsumw's float loops (fast 1 or 2) and the sum, as fa_ax_lanesum_f
 * adds it.  `one` (a constant after inlining: the caller tests sg == 1)
 * computes x - m as a subtraction, the value of the FMA sg x - m, in one
 * operation off the FMA pipes, which the exponential fills (softmax rows
 * of 4096 ~8% faster).  AVX2: the exponentials are added to the lane sums
 * as they are stored (fa_ax_expn_v8), not read back (~5% more). */
FA_INLINE double fa_ax_expsum8_f(const float *x, float *e, ptrdiff_t n, float sg, float m,
                                     const int fast, ptrdiff_t ra, const int one)
{
#define FA_AX_SHIFT1(v) (one ? (v) - m : fa_mad_f(sg, v, -m))
#define FA_AX_EXPF1(v) (fast == 1 ? fa_ax_expn_f(FA_AX_SHIFT1(v)) : fa_ax_expz_f(FA_AX_SHIFT1(v)))
#if defined(__AVX2__) && defined(__FMA__)
    const __m256 vs = _mm256_set1_ps(sg), vm = _mm256_set1_ps(m), vnm = _mm256_set1_ps(-m);
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    fa_ax_nf a[4][2];
    for (int j = 0; j < 4; j++) a[j][0] = a[j][1] = (fa_ax_nf){0};
    ptrdiff_t i = 0;
#define FA_AX_E8(off, j, k) { \
        __m256 t_ = _mm256_loadu_ps(x + i + (off)); \
        t_ = one ? _mm256_sub_ps(t_, vm) : _mm256_fmadd_ps(vs, t_, vnm); \
        __m256 v_ = fa_ax_expn_v8(t_); \
        if (fast == 2) v_ = _mm256_andnot_ps(_mm256_cmp_ps(t_, ninf, _CMP_EQ_OQ), v_); \
        _mm256_storeu_ps(e + i + (off), v_); \
        a[j][k] += (fa_ax_nf)v_; }
    for (; i + 64 <= n; i += 64) {
        FA_PF_W(e + i); FA_PF_R(x + ra + i);
        FA_AX_E8(0, 0, 0) FA_AX_E8(8, 0, 1) FA_AX_E8(16, 1, 0) FA_AX_E8(24, 1, 1)
        FA_AX_E8(32, 2, 0) FA_AX_E8(40, 2, 1) FA_AX_E8(48, 3, 0) FA_AX_E8(56, 3, 1)
    }
    if (i < n) { FA_PF_W(e + i); FA_PF_R(x + ra + i); }
    for (; i + 16 <= n; i += 16) { FA_AX_E8(0, 0, 0) FA_AX_E8(8, 0, 1) }
#undef FA_AX_E8
    for (ptrdiff_t k = i; k < n; k++) e[k] = FA_AX_EXPF1(x[k]);
    fa_ax_lanetail_f(a, e, i, n);
    return fa_ax_lanefold_f(a);
#else
    FA_PF_BLOCKS(float, n, b_, e_) {
        FA_PF_W(e + b_); FA_PF_R(x + ra + b_);
        FA_AX_SIMD for (ptrdiff_t i = b_; i < e_; i++) e[i] = FA_AX_EXPF1(x[i]);
    }
    return fa_ax_lanesum_f(e, n);
#endif
#undef FA_AX_EXPF1
#undef FA_AX_SHIFT1
}
#endif
#endif

#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
/* the sum in double of four accumulators of 16 float lanes, as
 * fa_ax_expsumw adds them: (a0 + a1) + (a2 + a3), its lanes k and k + 8
 * added in double, and those 8 folded pairwise */
static inline double fa_ax_fold4_f(__m512 a0, __m512 a1, __m512 a2, __m512 a3)
{
    a0 = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
    __m512d s0 = _mm512_cvtps_pd(_mm512_castps512_ps256(a0));
    __m512d s1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a0), 1)));
    return fa_ax_fold_d((fa_ax_vd)_mm512_add_pd(s0, s1));
}

/* e[i] = e^(sg x[i] - m), i < n, by fa_ax_expt_v16 (z: 0 at the -inf
 * arguments, masked logits), and their sum as fa_ax_expsumw says; x is
 * read `ra` elements on, so the caller's next block or group of rows is in
 * cache for its first pass (fa_ax_rminmax, whose reduction is not
 * blocked) */
static inline double fa_ax_expt_run(const float *x, float *e, ptrdiff_t n, float sg, float m,
                                    ptrdiff_t ra, const int z)
{
    const __m512 vs = _mm512_set1_ps(sg), vm = _mm512_set1_ps(-m);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    ptrdiff_t i = 0;
#define FA_AX_EXP16(acc, k) { \
        FA_PF_W1(e + i + (k)); FA_PF_R1(x + ra + i + (k)); \
        __m512 v_ = fa_ax_expt_z16(_mm512_fmadd_ps(vs, _mm512_loadu_ps(x + i + (k)), vm), z); \
        _mm512_storeu_ps(e + i + (k), v_); \
        acc = _mm512_add_ps(acc, v_); }
    for (; i + 64 <= n; i += 64) {
        FA_AX_EXP16(a0, 0) FA_AX_EXP16(a1, 16) FA_AX_EXP16(a2, 32) FA_AX_EXP16(a3, 48)
    }
    for (; i + 16 <= n; i += 16) FA_AX_EXP16(a0, 0)
#undef FA_AX_EXP16
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1u);
        __m512 v = fa_ax_expt_z16(_mm512_fmadd_ps(vs, _mm512_maskz_loadu_ps(k, x + i), vm), z);
        _mm512_mask_storeu_ps(e + i, k, v);
        a1 = _mm512_mask_add_ps(a1, k, a1, v);
    }
    return fa_ax_fold4_f(a0, a1, a2, a3);
}
#endif

/* e[i] = exp(sg x[i] - m) (fast: 1 every argument in the fast range, 2
 * the same but for -inf arguments, 0 neither: fa_ax_fastmode; float32
 * AVX-512: fa_ax_expt_v16 in both fast modes, otherwise fa_ax_expn,
 * fa_ax_expz, fa_exp); returns their sum in double (float32 AVX-512:
 * lane sums of n / 64 terms, then double).  x is prefetched `ahead`
 * elements on (the caller's next block or rows). */
static inline double FN(fa_ax_expsumw)(const FA_T *x, FA_T *e, ptrdiff_t n, FA_T sg, FA_T m,
                                       int fast, ptrdiff_t ahead)
{
#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
    /* the exponentials and their sum in float32 lanes widened once to
     * double, with a pairwise fold (GCC ends an omp simd sum with serial
     * lane adds, and lowers a widening of its generic vectors to 128-bit
     * pieces); one add per 16 terms, where a widening per 8 cost three.
     * Four float32 accumulators of 16 lanes (n / 64 terms each: 16 in a
     * block of 1024), added pairwise, then the lanes in double: each lane
     * sum is within a few eps, and a short row pays one widening.  x read
     * `ahead` elements on (at least FA_PF_DIST bytes) in the fast modes. */
    const ptrdiff_t ra = ahead * 4 > FA_PF_DIST ? ahead - FA_PF_DIST / 4 : 0;
    if (fast == 1) return fa_ax_expt_run(x, e, n, sg, m, ra, 0);
    if (fast) return fa_ax_expt_run(x, e, n, sg, m, ra, 1);
    /* an argument below the fast range (rare): the generic loop, no
     * read-ahead */
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    ptrdiff_t i = 0;
    FA_AX_STORE(e, n, FN(fa_exp)(FA_AX_SHIFT(sg, x[i], m)))
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(e + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(e + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(e + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(e + i + 48));
    }
    for (; i + 16 <= n; i += 16) a0 = _mm512_add_ps(a0, _mm512_loadu_ps(e + i));
    if (i < n)
        a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps((__mmask16)((1u << (n - i)) - 1u), e + i));
    return fa_ax_fold4_f(a0, a1, a2, a3);
#elif !FA_DOUBLE && FA_AX_VEC
    /* the exponentials in one vector loop, then their sum as the AVX-512
     * path adds them (fa_ax_lanesum_f): the same result, where widening
     * each term to double in the loop did not vectorize on AVX2.  As
     * there, e is prefetched for writing and x read `ahead` elements on. */
    const ptrdiff_t ra = ahead * 4 > FA_PF_DIST ? ahead - FA_PF_DIST / 4 : 0;
    if (fast == 1 && sg == 1.0f) return fa_ax_expsum8_f(x, e, n, 1.0f, m, 1, ra, 1);
    if (fast == 1) return fa_ax_expsum8_f(x, e, n, sg, m, 1, ra, 0);
    if (fast && sg == 1.0f) return fa_ax_expsum8_f(x, e, n, 1.0f, m, 2, ra, 1);
    if (fast) return fa_ax_expsum8_f(x, e, n, sg, m, 2, ra, 0);
    FA_AX_STORE(e, n, FN(fa_exp)(FA_AX_SHIFT(sg, x[i], m)))
    return fa_ax_lanesum_f(e, n);
#else
    double bs = 0.0;
    (void)ahead;     /* a reduction loop: not blocked, not prefetched */
    if (fast == 1) {
        FA_AX_SIMD_SUM(bs) for (ptrdiff_t i = 0; i < n; i++) {
            FA_T v = FN(fa_ax_expn)(FA_AX_SHIFT(sg, x[i], m));
            e[i] = v;
            bs += (double)v;
        }
    } else if (fast) {
        FA_AX_SIMD_SUM(bs) for (ptrdiff_t i = 0; i < n; i++) {
            FA_T v = FN(fa_ax_expz)(FA_AX_SHIFT(sg, x[i], m));
            e[i] = v;
            bs += (double)v;
        }
    } else {
        FA_AX_SIMD_SUM(bs) for (ptrdiff_t i = 0; i < n; i++) {
            FA_T v = FN(fa_exp)(FA_AX_SHIFT(sg, x[i], m));
            e[i] = v;
            bs += (double)v;
        }
    }
    return bs;
#endif
}

#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX__) && !defined(__AVX512F__)
#ifndef FASTACT_AX_FOLD8
#define FASTACT_AX_FOLD8
/* the max / min of 8 float lanes (pairwise; vmaxps / vminps return the
 * second operand where either is NaN: the lanes hold no NaN here) */
static inline float fa_ax_hmax8(__m256 v)
{
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps(h, h, 1)));
}
static inline float fa_ax_hmin8(__m256 v)
{
    __m128 l = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    l = _mm_min_ps(l, _mm_movehl_ps(l, l));
    return _mm_cvtss_f32(_mm_min_ss(l, _mm_shuffle_ps(l, l, 1)));
}
#if defined(__AVX2__)
/* the entries of 8 that a mask keeps: bias b not -inf, where w true (hb,
 * hw: given; constants after inlining) */
static inline __m256 fa_ax_keep8(const float *b, const unsigned char *w, ptrdiff_t i,
                                 const int hb, const int hw)
{
    __m256 keep = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    if (hb) keep = _mm256_cmp_ps(_mm256_loadu_ps(b + i), _mm256_set1_ps(-INFINITY), _CMP_NEQ_UQ);
    if (hw) {
        __m256i wi = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(w + i)));
        keep = _mm256_andnot_ps(
            _mm256_castsi256_ps(_mm256_cmpeq_epi32(wi, _mm256_setzero_si256())), keep);
    }
    return keep;
}
#endif
/* v, with +inf where v is -inf (a lane's min over the entries above -inf) */
static inline __m256 fa_ax_zinf8(__m256 v)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    return _mm256_blendv_ps(v, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(v, ninf, _CMP_EQ_OQ));
}
#endif
#endif

#ifndef FA_AX_MINMAX4
/* fa_ax_rminmax_k's long rows: four max / min pairs of vectors of type V
 * (W lanes; LOAD, MUL, MAX, MIN its intrinsics) over x[i ..] in steps of
 * 4 W while they fit in n, folded into hi and lo (running vectors of V).
 * One pair is a chain of one vmaxps per vector (2 cycles): a third of a
 * float32 log_softmax of rows of 1000 in L2.  MAX / MIN return the second
 * operand where either is NaN, so a NaN in x is passed over. */
#define FA_AX_MINMAX4(V, W, LOAD, MUL, MAX, MIN, x, i, n, vs, hi, lo) { \
        V h1_ = hi, h2_ = hi, h3_ = hi, l1_ = lo, l2_ = lo, l3_ = lo; \
        for (; i + 4 * (W) <= (n); i += 4 * (W)) { \
            V v0_ = MUL(vs, LOAD((x) + i)), v1_ = MUL(vs, LOAD((x) + i + (W))); \
            V v2_ = MUL(vs, LOAD((x) + i + 2 * (W))), v3_ = MUL(vs, LOAD((x) + i + 3 * (W))); \
            hi = MAX(v0_, hi); lo = MIN(v0_, lo); \
            h1_ = MAX(v1_, h1_); l1_ = MIN(v1_, l1_); \
            h2_ = MAX(v2_, h2_); l2_ = MIN(v2_, l2_); \
            h3_ = MAX(v3_, h3_); l3_ = MIN(v3_, l3_); \
        } \
        hi = MAX(MAX(hi, h1_), MAX(h2_, h3_)); \
        lo = MIN(MIN(lo, l1_), MIN(l2_, l3_)); \
    }
#endif

#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
/* fa_ax_rminmax_k's AVX-512 float32 form; mul 0: of x itself (sg = 1) */
static inline void fa_ax_minmax_v16(const float *x, ptrdiff_t n, float sg, const int mul,
                                    float *mn, float *mx, float *mnz)
{
    const int z = mnz != NULL;
#define FA_AX_MUL16(s, v) (mul ? _mm512_mul_ps(s, v) : (v))
    /* 16 lanes and a folded end (an omp simd min/max ends with its lanes
     * one after another: most of the cost of a row of 64); vmaxps /
     * vminps return the second operand where either is NaN, so a NaN in
     * x is passed over as in the loop below */
    const __m512 vs = _mm512_set1_ps(sg);
    __m512 hi = _mm512_set1_ps(-INFINITY), lo = _mm512_set1_ps(INFINITY), lz = lo;
    ptrdiff_t i = 0;
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    if (!z && n >= 256)
        FA_AX_MINMAX4(__m512, 16, _mm512_loadu_ps, FA_AX_MUL16, _mm512_max_ps, _mm512_min_ps,
                      x, i, n, vs, hi, lo)
    for (; i + 16 <= n; i += 16) {
        __m512 v = FA_AX_MUL16(vs, _mm512_loadu_ps(x + i));
        hi = _mm512_max_ps(v, hi);
        lo = _mm512_min_ps(v, lo);
        if (z) lz = _mm512_mask_min_ps(lz, _mm512_cmp_ps_mask(v, ninf, _CMP_NEQ_UQ), v, lz);
    }
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1u);
        __m512 v = FA_AX_MUL16(vs, _mm512_maskz_loadu_ps(k, x + i));
        hi = _mm512_mask_max_ps(hi, k, v, hi);
        lo = _mm512_mask_min_ps(lo, k, v, lo);
        if (z) lz = _mm512_mask_min_ps(lz, k & _mm512_cmp_ps_mask(v, ninf, _CMP_NEQ_UQ), v, lz);
    }
    *mx = _mm512_reduce_max_ps(hi);
    *mn = _mm512_reduce_min_ps(lo);
    if (z) *mnz = _mm512_reduce_min_ps(lz);
#undef FA_AX_MUL16
}
#endif

/* min and max of sg * x over a row, ignoring NaN (+inf / -inf when empty) */
static inline void FN(fa_ax_rminmax_k)(const FA_T *x, ptrdiff_t n, FA_T sg, FA_T *mn, FA_T *mx,
                                       FA_T *mnz)
{
    const int z = mnz != NULL;
#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
    /* sg = +-1 without the multiplication (a vector operation in four of
     * the loop's: 5% of a float32 softmax): the max of -x is -(the min of
     * x), the same value but maybe the sign of a zero max, which x - max
     * and e^(x - max) do not see */
    if (!z && sg == 1.0f) {
        fa_ax_minmax_v16(x, n, sg, 0, mn, mx, NULL);
    } else if (!z && sg == -1.0f) {
        float a, b;
        fa_ax_minmax_v16(x, n, sg, 0, &a, &b, NULL);
        *mn = -b;
        *mx = -a;
    } else {
        fa_ax_minmax_v16(x, n, sg, 1, mn, mx, mnz);
    }
#else
    FA_T lo = (FA_T)INFINITY, hi = -(FA_T)INFINITY, loz = (FA_T)INFINITY;
    ptrdiff_t i0 = 0;
#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX__)
    /* on AVX2: 8 lanes with a folded end as above, the rest of the row
     * (< 8) in the loop below, not vectorized (a vector reduction would
     * end lane by lane again) */
    const __m256 vs = _mm256_set1_ps(sg);
    __m256 hv = _mm256_set1_ps(-INFINITY), lv = _mm256_set1_ps(INFINITY), lzv = lv;
    if (!z && n >= 128)
        FA_AX_MINMAX4(__m256, 8, _mm256_loadu_ps, _mm256_mul_ps, _mm256_max_ps, _mm256_min_ps,
                      x, i0, n, vs, hv, lv)
    for (; i0 + 8 <= n; i0 += 8) {
        __m256 v = _mm256_mul_ps(vs, _mm256_loadu_ps(x + i0));
        hv = _mm256_max_ps(v, hv);
        lv = _mm256_min_ps(v, lv);
        if (z) lzv = _mm256_min_ps(fa_ax_zinf8(v), lzv);
    }
    hi = fa_ax_hmax8(hv);
    lo = fa_ax_hmin8(lv);
    if (z) loz = fa_ax_hmin8(lzv);
#else
#if FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
    if (!z && n >= 128) {
        const __m512d vs = _mm512_set1_pd(sg);
        __m512d hv = _mm512_set1_pd(-INFINITY), lv = _mm512_set1_pd(INFINITY);
        FA_AX_MINMAX4(__m512d, 8, _mm512_loadu_pd, _mm512_mul_pd, _mm512_max_pd, _mm512_min_pd,
                      x, i0, n, vs, hv, lv)
        hi = _mm512_reduce_max_pd(hv);
        lo = _mm512_reduce_min_pd(lv);
    }
#endif
    FA_AX_PRAGMA(omp simd reduction(min:lo) reduction(max:hi))
#endif
    for (ptrdiff_t i = i0; i < n; i++) {
        FA_T v = sg * x[i];
        hi = v > hi ? v : hi;
        lo = v < lo ? v : lo;
    }
    /* the min above -inf of [i0, n) is lo unless the row holds -inf: then
     * a second pass.  (In one loop GCC merges the -inf test and the min
     * into mask operations on the loop-carried loz, a chain of ~9 cycles
     * per vector: 40% of a float64 log_softmax backward.)  loz holds the
     * AVX loop's lanes [0, i0) already, where there are any. */
    if (z && lo == -(FA_T)INFINITY) {
        FA_AX_PRAGMA(omp simd reduction(min:loz))
        for (ptrdiff_t i = i0; i < n; i++) {
            FA_T v = sg * x[i];
            FA_T vz = v == -(FA_T)INFINITY ? (FA_T)INFINITY : v;
            loz = vz < loz ? vz : loz;
        }
    } else if (z) {
        loz = lo < loz ? lo : loz;
    }
    *mn = lo;
    *mx = hi;
    if (z) *mnz = loz;
#endif
}

/* min and max of sg * x over a row, ignoring NaN (+inf / -inf when empty) */
static inline void FN(fa_ax_rminmax)(const FA_T *x, ptrdiff_t n, FA_T sg, FA_T *mn, FA_T *mx)
{
    FN(fa_ax_rminmax_k)(x, n, sg, mn, mx, NULL);
}

/* the same and mnz, the min over the entries above -inf (+inf when none) */
static inline void FN(fa_ax_rminmax_z)(const FA_T *x, ptrdiff_t n, FA_T sg, FA_T *mn, FA_T *mx,
                                       FA_T *mnz)
{
    FN(fa_ax_rminmax_k)(x, n, sg, mn, mx, mnz);
}

/* whether the exponentials of a row's sg x - m are in the fast range but
 * for -inf arguments (exact zeros, fa_ax_expz): mnz, m from fa_ax_rminmax_z
 * (not for a row of only -inf, or with +inf: their NaN comes from fa_exp) */
static inline int FN(fa_ax_zfast)(FA_T mnz, FA_T m)
{
    return m > -(FA_T)INFINITY && m < (FA_T)INFINITY && mnz - m >= FA_AX_XLO;
}

/* fa_ax_expsumw's mode for a row or block of sg x whose min and max
 * (fa_ax_rminmax) are mn, mx, the max taken as m = mx: 1 when every
 * argument sg x - m is in the fast range, 2 when the only ones below it
 * are -inf (masked logits: exact zeros, fa_ax_expz; found by a second
 * pass over x, in cache, only where mn is -inf), else 0 */
static inline int FN(fa_ax_fastmode)(const FA_T *x, ptrdiff_t n, FA_T sg, FA_T mn, FA_T mx)
{
    if (mn - mx >= FA_AX_XLO) return 1;
    if (mn != -(FA_T)INFINITY) return 0;
    FA_T a, b, mnz;
    FN(fa_ax_rminmax_z)(x, n, sg, &a, &b, &mnz);
    return FN(fa_ax_zfast)(mnz, mx) ? 2 : 0;
}

/* the same where the min over the entries above -inf, mnz, is known */
static inline int FN(fa_ax_fastmode_z)(FA_T mn, FA_T mnz, FA_T mx)
{
    return mn - mx >= FA_AX_XLO ? 1 : FN(fa_ax_zfast)(mnz, mx) ? 2 : 0;
}

/* max of sg * x over a row, ignoring NaN; -inf for an empty row */
static inline FA_T FN(fa_ax_rmax)(const FA_T *x, ptrdiff_t n, FA_T sg)
{
    FA_T m = -(FA_T)INFINITY;
    FA_AX_SIMD_MAX(m)
    for (ptrdiff_t i = 0; i < n; i++) {
        FA_T v = sg * x[i];
        m = v > m ? v : m;
    }
    return m;
}

/* whether a row holds a nonzero entry below the normal range */
static inline int FN(fa_ax_rsubn)(const FA_T *y, ptrdiff_t n)
{
#if FA_DOUBLE
    const FA_T tiny = 0x1p-1022;
#else
    const FA_T tiny = 0x1p-126f;
#endif
    int any = 0;
    FA_AX_PRAGMA(omp simd reduction(|:any))
    for (ptrdiff_t i = 0; i < n; i++) any |= (y[i] != FA_C(0.0)) & (FN(fa_abs)(y[i]) < tiny);
    return any;
}

static inline int FN(fa_ax_rhasnan)(const FA_T *x, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        if (x[i] != x[i]) return 1;
    return 0;
}

/* sum of e_i = exp(sg x_i - m); stores e_i in `store` when not NULL; when
 * g is not NULL also sums g_i e_i into *dot.  Returns the sum.
 * Per block of FA_AX_BLK elements: one elementwise loop (the exponentials,
 * into `store` or a stack buffer), then lane-parallel sums in FA_T, then Kahan summation of the block sums in double.
 * (Sums that widen float32 to double inside the loop did not vectorize.) */
static inline double FN(fa_ax_rsumexp_k)(const FA_T *x, const FA_T *g, FA_T *store,
                                         ptrdiff_t n, FA_T sg, FA_T m, double *dot,
                                         const int fast)
{
    FA_T buf[FA_AX_BLK], pbuf[FA_AX_BLK];
    double s = 0.0, c = 0.0, d = 0.0, dc = 0.0;
    for (ptrdiff_t b = 0; b < n; b += FA_AX_BLK) {
        ptrdiff_t len = n - b < FA_AX_BLK ? n - b : FA_AX_BLK;
        const FA_T *xb = x + b;
        FA_T *e = store ? store + b : buf;
        FA_AX_SIMD for (ptrdiff_t i = 0; i < len; i++)
            e[i] = FN(fa_ax_expc)(FA_AX_SHIFT(sg, xb[i], m), fast ? 2 : 0);
        FA_T bs = FN(fa_ax_vdot)(e, NULL, len);
        FN(fa_ax_kahan)(&s, &c, (double)bs);
        if (g && fast) {
            FN(fa_ax_kahan)(&d, &dc, (double)FN(fa_ax_vdot)(g + b, e, len));
        } else if (g) {     /* the terms g e without a subnormal e (fa_ax_expmul) */
            FA_AX_SIMD for (ptrdiff_t i = 0; i < len; i++)
                pbuf[i] = FN(fa_ax_expmul)(FA_AX_SHIFT(sg, xb[i], m), g[b + i]);
            FN(fa_ax_kahan)(&d, &dc, (double)FN(fa_ax_vdot)(pbuf, NULL, len));
        }
    }
    if (dot) *dot = d - dc;
    return s - c;
}

/* fast: every sg x - m of the row is >= FA_AX_XLO, -inf or NaN (fa_ax_zfast) */
static inline double FN(fa_ax_rsumexp)(const FA_T *x, const FA_T *g, FA_T *store,
                                       ptrdiff_t n, FA_T sg, FA_T m, double *dot, int fast)
{
    if (fast) return FN(fa_ax_rsumexp_k)(x, g, store, n, sg, m, dot, 1);
    return FN(fa_ax_rsumexp_k)(x, g, store, n, sg, m, dot, 0);
}

/* sum of a[i] * b[i] (b NULL: sum of a[i]), blocked as above; pf: the
 * lines 2 KB ahead fetched (fa_ax_vdot_k); fa_ax_rdot: with them */
static inline double FN(fa_ax_rdot_k)(const FA_T *a, const FA_T *b, ptrdiff_t n, const int pf)
{
    double s = 0.0, c = 0.0;
    for (ptrdiff_t k = 0; k < n; k += FA_AX_BLK) {
        ptrdiff_t len = n - k < FA_AX_BLK ? n - k : FA_AX_BLK;
        FA_T bs = FN(fa_ax_vdot_k)(a + k, b ? b + k : NULL, len, pf);
        FN(fa_ax_kahan)(&s, &c, (double)bs);
    }
    return s - c;
}
static inline double FN(fa_ax_rdot)(const FA_T *a, const FA_T *b, ptrdiff_t n)
{
    return FN(fa_ax_rdot_k)(a, b, n, 1);
}

/* fa_ax_rdot of a row of one block (n <= FA_AX_BLK), in FA_T: the same
 * value (the Kahan sum of one term v is (v - v) + v: v, +0 for -0, NaN
 * for +-inf), without the round trip through double or the read-ahead: a
 * short row's backward is a chain of a few dozen operations per row,
 * which these were a third of (16384 rows of 64 floats: 1.25 -> 1.0x
 * torch's time) */
static inline FA_T FN(fa_ax_rdot1)(const FA_T *a, const FA_T *b, ptrdiff_t n, const int pf)
{
    FA_T v = FN(fa_ax_vdot_k)(a, b, n, pf);
    return (v - v) + v;
}

/* log of a positive double sum, in double */
static inline double FN(fa_ax_logsum)(double s) { return fa_log_d(s); }

/* 1 / s rounded once to FA_T: softmax multiplies by it (a vector division
 * costs ~10x a multiplication).  y = e * (1/s) has two roundings after the
 * sum, like e / (FA_T)s: float: 1/s in double then rounded (0.5 ulp), the
 * product (0.5 ulp); float64: 0.5 ulp more than e / s. */
static inline FA_T FN(fa_ax_recip)(double s) { return (FA_T)(1.0 / s); }

static inline void FN(fa_ax_mfill)(FA_T *o, ptrdiff_t n, FA_T v)
{
    for (ptrdiff_t i = 0; i < n; i++) o[i] = v;
}

/* The length of a row of logits sg o (sg = +-1) without its trailing
 * -inf entries (a causal or padding mask's), in whole 64-element steps
 * (n when the entries after the last whole step are not all -inf):
 * fa_ax_expsumw on that prefix (of a row, or of fa_ax_online's block)
 * adds the same terms in the same float32 lanes as on the whole (the
 * 64-element steps of its sum, and of the AVX-512 loop's; the rest adds
 * exact zeros), so the results are bit for bit the same, for about half
 * the exponentials of a causal mask.  float32 only: float64 sums in a
 * reduction loop whose lanes GCC picks. */
static inline ptrdiff_t FN(fa_ax_live_len)(const FA_T *o, ptrdiff_t n, FA_T sg)
{
#if !FA_DOUBLE && FA_AX_VEC
    const FA_T ninf = -(FA_T)INFINITY;
    ptrdiff_t full = n / 64 * 64, e = full;
    for (ptrdiff_t i = full; i < n; i++)
        if (sg * o[i] != ninf) return n;
    while (e > 0) {
        int all = 1;
        FA_AX_PRAGMA(omp simd reduction(&:all))
        for (ptrdiff_t k = e - 64; k < e; k++) all &= sg * o[k] == ninf;
        if (!all) break;
        e -= 64;
    }
    return e;
#else
    (void)o;
    (void)sg;
    return n;
#endif
}

/* One read of the row from memory (online max-and-sum over blocks): for
 * each block of FA_AX_BLK elements, m = max(m, block max) (the running sum
 * in double is rescaled by exp(m_old - m) when m grows), then the block's
 * e = exp(sg x - m) are summed (and stored for softmax, with the m they
 * used).  The block is read twice from L1, the row once from memory.
 * Returns the sum (double) and the final max in *mfin; mb[b] receives the
 * max used by block b (store != NULL).  Blocks that are all -inf while the
 * running max is still -inf contribute 0 (stored as 0). */
static inline double FN(fa_ax_online)(const FA_T *x, FA_T *store, ptrdiff_t n, FA_T sg,
                                      FA_T *mfin, FA_T *mb)
{
    FA_T buf[FA_AX_BLK];
    FA_T m = -(FA_T)INFINITY;
    double s = 0.0, c = 0.0;
    /* the trailing -inf arguments (fa_ax_live_len): a block past them
     * adds an exact 0 (its Kahan step kept), one across them is summed
     * to there */
    ptrdiff_t live = FN(fa_ax_live_len)(x, n, sg);
    for (ptrdiff_t b = 0, k = 0; b < n; b += FA_AX_BLK, k++) {
        ptrdiff_t len = n - b < FA_AX_BLK ? n - b : FA_AX_BLK;
        ptrdiff_t ln = live - b < len ? (live > b ? live - b : 0) : len;
        const FA_T *xb = x + b;
        FA_T *e = store ? store + b : buf;
        if (ln == 0 && m != -(FA_T)INFINITY) {
            if (mb) mb[k] = m;
            if (store) FN(fa_ax_mfill)(e, len, FA_C(0.0));
            FN(fa_ax_kahan)(&s, &c, 0.0);
            continue;
        }
        FA_T bn, bm;
        FN(fa_ax_rminmax)(xb, ln, sg, &bn, &bm);
        if (bm > m) {
            if (m != -(FA_T)INFINITY) {
                double f = fa_exp_d((double)m - (double)bm);
                s *= f;
                c *= f;
            }
            m = bm;
        }
        if (mb) mb[k] = m;
        if (m == -(FA_T)INFINITY) {          /* nothing finite yet */
            if (store)
                for (ptrdiff_t i = 0; i < len; i++) e[i] = xb[i] != xb[i] ? xb[i] : FA_C(0.0);
            if (FN(fa_ax_rhasnan)(xb, len)) { s = (double)NAN; }
            continue;
        }
        double bs = FN(fa_ax_expsumw)(xb, e, ln, sg, m, FN(fa_ax_fastmode)(xb, ln, sg, bn, m),
                                      len);
        if (store) FN(fa_ax_mfill)(e + ln, len - ln, FA_C(0.0));
        FN(fa_ax_kahan)(&s, &c, (double)bs);
    }
    *mfin = m;
    return s - c;
}

/* rows longer than this many blocks use the three-pass form */
#define FA_AX_MAXB 1024

static void FN(fa_ax_softmax_row)(const FA_T *x, FA_T *o, ptrdiff_t n, FA_T sg)
{
    FA_T m, mb[FA_AX_MAXB];
    if (n > FA_AX_BLK * FA_AX_MAXB) {
        m = FN(fa_ax_rmax)(x, n, sg);
        FA_T r = FN(fa_ax_recip)(FN(fa_ax_rsumexp)(x, NULL, o, n, sg, m, NULL, 0));
        FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) o[i] = o[i] * r;
        return;
    }
    double s = FN(fa_ax_online)(x, o, n, sg, &m, mb);
    if (m == -(FA_T)INFINITY) {               /* all -inf (or NaN): NaN as torch */
        for (ptrdiff_t i = 0; i < n; i++) o[i] = (FA_T)NAN;
        return;
    }
    /* block b holds exp(sg x - mb[b]); y = that * exp(mb[b] - m) / s.  The
     * blocks after the last raise of the max (usually all but a few)
     * multiply by 1 / s. */
    FA_T sf = FN(fa_ax_recip)(s);
    for (ptrdiff_t b = 0, k = 0; b < n; b += FA_AX_BLK, k++) {
        ptrdiff_t len = n - b < FA_AX_BLK ? n - b : FA_AX_BLK;
        FA_T *ob = o + b;
        if (mb[k] == m) {
            FA_AX_SIMD for (ptrdiff_t i = 0; i < len; i++) ob[i] = ob[i] * sf;
        } else {
            FA_T f = (FA_T)(fa_exp_d((double)mb[k] - (double)m) / s);
            FA_AX_SIMD for (ptrdiff_t i = 0; i < len; i++) ob[i] = ob[i] * f;
        }
    }
}

static void FN(fa_ax_log_softmax_row)(const FA_T *x, FA_T *o, ptrdiff_t n, FA_T sg)
{
    FA_T m;
    /* the exponentials go to o (not needed after, but the output's lines
     * are then fetched while the exponentials are computed, not by the
     * stores of the last pass, ~1.5x faster), unless o is x */
    double s = FN(fa_ax_online)(x, o != x ? o : NULL, n, sg, &m, NULL);
    /* an all -inf row: x - m is NaN, as it should be */
    /* log of the double sum, in double: where one entry dominates, s = 1 +
     * (small) and rounding s to FA_T first would cost up to ~1000 ulp of
     * the tiny log(s) */
    FA_T ls = (FA_T)FN(fa_ax_logsum)(s);
    FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) o[i] = FA_AX_SHIFT(sg, x[i], m) - ls;
}

static FA_T FN(fa_ax_lse_finish)(FA_T m, double s, int hasnan)
{
    if (m == (FA_T)INFINITY || m == -(FA_T)INFINITY)
        return hasnan ? (FA_T)NAN : m;
    return (FA_T)((double)m + FN(fa_ax_logsum)(s));   /* NaN in the row: s is NaN */
}

static FA_T FN(fa_ax_logsumexp_row)(const FA_T *x, ptrdiff_t n)
{
    FA_T m;
    double s = FN(fa_ax_online)(x, NULL, n, FA_C(1.0), &m, NULL);
    if (m == (FA_T)INFINITY || m == -(FA_T)INFINITY)
        return FN(fa_ax_lse_finish)(m, 0.0, FN(fa_ax_rhasnan)(x, n));
    return FN(fa_ax_lse_finish)(m, s, 0);
}

/* Short rows (n <= FA_AX_BLK: one block), FA_AX_GRP rows at a time: the
 * arithmetic of fa_ax_online on one block, with none of its block
 * bookkeeping, the maxima of the group's rows first (their reductions
 * overlap), and the logs of the sums taken for the whole group in one
 * vector loop.  Sums in double as fa_ax_online's (float32 lane sums were
 * ~15% faster on rows of 64 but took softmax row sums of 1000 floats from
 * ~0.6 to ~6 eps).  Rows whose max is not finite (all -inf,
 * a +inf, all NaN) get ok[r] = 0 and go through the general row code.
 * (FA_AX_GRP, the most rows in a group, is defined above.) */
/* rows per group: at most FA_AX_GRP, and ~8 KB of each array, so that the
 * group's rows are still in L1 for the second pass (16 rows of 1000
 * floats went to L2 and cost ~20% on memory-bound shapes) */
static inline ptrdiff_t FN(fa_ax_grp)(ptrdiff_t n)
{
    ptrdiff_t g = 8192 / ((n > 0 ? n : 1) * (ptrdiff_t)sizeof(FA_T));
    return g < 1 ? 1 : g > FA_AX_GRP ? FA_AX_GRP : g;
}
/* (len[r]: the length summed, fa_ax_live_len; the exponentials from there
 * on are 0 and not stored) */
static inline void FN(fa_ax_short_stats)(const FA_T *x, FA_T *store, ptrdiff_t n, ptrdiff_t nr,
                                         FA_T sg, FA_T *m, double *s, int *ok, ptrdiff_t *len)
{
    FA_T buf[FA_AX_BLK], mnr[FA_AX_GRP];
    /* the maxima of all rows first: independent reductions overlap */
    for (ptrdiff_t r = 0; r < nr; r++) FN(fa_ax_rminmax)(x + r * n, n, sg, &mnr[r], &m[r]);
    for (ptrdiff_t r = 0; r < nr; r++) {
        const FA_T *xr = x + r * n;
        FA_T *e = store ? store + r * n : buf;
        FA_T mn = mnr[r], mx = m[r];
        ok[r] = mx > -(FA_T)INFINITY && mx < (FA_T)INFINITY;
        s[r] = 1.0;
        len[r] = n;
        if (!ok[r]) continue;
        int fast = FN(fa_ax_fastmode)(xr, n, sg, mn, mx);
        if (fast == 2) len[r] = FN(fa_ax_live_len)(xr, n, sg);
        s[r] = FN(fa_ax_expsumw)(xr, e, len[r], sg, mx, fast, nr * n);
    }
}

static void FN(fa_ax_softmax_short)(const FA_T *x, FA_T *o, ptrdiff_t n, ptrdiff_t nr, FA_T sg)
{
    FA_T m[FA_AX_GRP];
    double s[FA_AX_GRP];
    int ok[FA_AX_GRP];
    ptrdiff_t len[FA_AX_GRP];
    FN(fa_ax_short_stats)(x, o, n, nr, sg, m, s, ok, len);
    for (ptrdiff_t r = 0; r < nr; r++) {
        FA_T *orow = o + r * n;
        if (!ok[r]) { FN(fa_ax_softmax_row)(x + r * n, orow, n, sg); continue; }
        FA_T sf = FN(fa_ax_recip)(s[r]);
        ptrdiff_t lr = len[r];
        FA_AX_SIMD for (ptrdiff_t i = 0; i < lr; i++) orow[i] = orow[i] * sf;
        FN(fa_ax_mfill)(orow + lr, n - lr, FA_C(0.0) * sf);       /* NaN for a NaN sum */
    }
}

static void FN(fa_ax_log_softmax_short)(const FA_T *x, FA_T *o, ptrdiff_t n, ptrdiff_t nr, FA_T sg)
{
    FA_T m[FA_AX_GRP], ls[FA_AX_GRP];
    double s[FA_AX_GRP];
    int ok[FA_AX_GRP];
    /* the exponentials to o as in fa_ax_log_softmax_row (o, x: the
     * group's rows, which o may overlap only as o == x) */
    ptrdiff_t len[FA_AX_GRP];
    FN(fa_ax_short_stats)(x, o != x ? o : NULL, n, nr, sg, m, s, ok, len);
    FA_AX_SIMD for (ptrdiff_t r = 0; r < nr; r++) ls[r] = (FA_T)FN(fa_ax_logsum)(s[r]);
    for (ptrdiff_t r = 0; r < nr; r++) {
        const FA_T *xr = x + r * n;
        FA_T *orow = o + r * n;
        if (!ok[r]) { FN(fa_ax_log_softmax_row)(xr, orow, n, sg); continue; }
        FA_T mr = m[r], lr = ls[r];
        FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) orow[i] = FA_AX_SHIFT(sg, xr[i], mr) - lr;
    }
}

static void FN(fa_ax_logsumexp_short)(const FA_T *x, FA_T *o, ptrdiff_t n, ptrdiff_t nr)
{
    FA_T m[FA_AX_GRP];
    double s[FA_AX_GRP], ls[FA_AX_GRP];
    int ok[FA_AX_GRP];
    ptrdiff_t len[FA_AX_GRP];
    FN(fa_ax_short_stats)(x, NULL, n, nr, FA_C(1.0), m, s, ok, len);
    FA_AX_SIMD for (ptrdiff_t r = 0; r < nr; r++) ls[r] = FN(fa_ax_logsum)(s[r]);
    for (ptrdiff_t r = 0; r < nr; r++)
        o[r] = ok[r] ? (FA_T)((double)m[r] + ls[r]) : FN(fa_ax_logsumexp_row)(x + r * n, n);
}

/* g * dsoftmax(sg x): sg (y (g - sum(g y))), y = e / s, sum(g y) = sum(g e) / s */
static void FN(fa_ax_softmax_bx_row)(const FA_T *g, const FA_T *x, FA_T *o, ptrdiff_t n, FA_T sg)
{
    double dot;
    FA_T mn, m;
    FA_T mnz;
    FN(fa_ax_rminmax_z)(x, n, sg, &mn, &m, &mnz);
    int fast = FN(fa_ax_zfast)(mnz, m);
    double sd = FN(fa_ax_rsumexp)(x, g, NULL, n, sg, m, &dot, fast);
    FA_T s = (FA_T)sd, d = (FA_T)(dot / sd);
    /* e ((g - d) / s): e / s would be subnormal for e < s 2^-126 */
    if (fast) {
        FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++)
            o[i] = sg * (FN(fa_ax_expz)(FA_AX_SHIFT(sg, x[i], m)) * ((g[i] - d) / s));
    } else {
        FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++)
            o[i] = sg * FN(fa_ax_expmul)(FA_AX_SHIFT(sg, x[i], m), (g[i] - d) / s);
    }
}

/* pf: the job streams (j->stream); a row longer than its row buffer
 * (FA_AX_SROW) then streams itself, without the next rows' read-ahead
 * (theirs and this row's g and y overflow L2 at float64 (64, 50257):
 * 3.48 -> 3.18 ms without it, 2.93 streamed; torch 3.3).  A job that does
 * not stream reads with no software prefetch (the dot's lines 2 KB ahead
 * cost more issue slots than they saved: float32 (256, 4096) and (100,
 * 4096), 0.84-0.87x -> 0.92-0.94x torch's time), and near (its data in
 * the last-level cache, FA_AX_NEAR) writes with none either (-> 1.06-1.09x;
 * out of cache the prefetch for writing pays: float64 (256, 4096) 1.24x
 * with it, 1.05x without). */
/* the row's output entry i, written once for every store form below */
#define FA_AX_BY_OUT (sg * (y[i] * (g[i] - d)))
static FA_AX_NOINLINE void FN(fa_ax_softmax_by_put)(const FA_T *g, const FA_T *y, FA_T *o,
                                                   ptrdiff_t n, FA_T sg, FA_T d)
{
    FA_AX_STORE_STREAMED(o, n, FA_AX_BY_OUT);
}
static void FN(fa_ax_softmax_by_row)(const FA_T *g, const FA_T *y, FA_T *o, ptrdiff_t n, FA_T sg,
                                     int pf, int near)
{
    if (pf) {
        FA_T d = (FA_T)FN(fa_ax_rdot_k)(g, y, n, 1);
        if (n * (ptrdiff_t)sizeof(FA_T) > FA_AX_SROW) FN(fa_ax_softmax_by_put)(g, y, o, n, sg, d);
        else FA_AX_STORE_NEXT(o, n, FA_AX_BY_OUT, g + n, y + n, 1)
        return;
    }
    FA_T d = (FA_T)FN(fa_ax_rdot_k)(g, y, n, 0);
    if (near) {
        FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) o[i] = FA_AX_BY_OUT;
    } else {
        FA_AX_STORE(o, n, FA_AX_BY_OUT)
    }
}
#undef FA_AX_BY_OUT

/* g - softmax(x) sum(g) */
static void FN(fa_ax_log_softmax_bx_row)(const FA_T *g, const FA_T *x, FA_T *o, ptrdiff_t n)
{
    FA_T mn, m;
    FA_T mnz;
    FN(fa_ax_rminmax_z)(x, n, FA_C(1.0), &mn, &m, &mnz);
    int fast = FN(fa_ax_zfast)(mnz, m);
    FA_T s = (FA_T)FN(fa_ax_rsumexp)(x, NULL, NULL, n, FA_C(1.0), m, NULL, fast);
    FA_T f = (FA_T)FN(fa_ax_rdot)(g, NULL, n) / s;     /* e (sum(g) / s), as softmax's */
    if (fast) {
        FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) o[i] = g[i] - FN(fa_ax_expz)(x[i] - m) * f;
    } else {
        FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) o[i] = g[i] - FN(fa_ax_expmul)(x[i] - m, f);
    }
}

/* o = g - e^y gs over [0, len), the exponential chosen by y's range (mn,
 * mx, and mnz, the min above -inf).  (Fetching the next rows during this
 * pass, as FA_AX_STORE_NEXT does for softmax, changed nothing measurable
 * at 1.6e7 float32 / float64 elements.) */
#undef FA_AX_LSM_FAST
#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
/* float32 AVX-512: o = g - e^y gs by fa_ax_expt_v16 (z: 0 at -inf), the
 * product rounded, then the difference, as the generic loop (a vfnmadd
 * gave a NaN's sign by the form GCC picked: a row of NaN came out with
 * other sign bits when out started elsewhere on a line) */
static inline void fa_ax_lsm_by_v16(float *o, ptrdiff_t n, const float *g, const float *y,
                                    float gs, const int z)
{
    const __m512 vg = _mm512_set1_ps(gs);
    ptrdiff_t i = 0;
#define FA_AX_LSM16(j, k) { \
        __m512 e_ = fa_ax_expt_z16(_mm512_maskz_loadu_ps(k, y + (j)), z); \
        _mm512_mask_storeu_ps(o + (j), k, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, g + (j)), \
                                                        _mm512_mul_ps(e_, vg))); }
    for (; i + 16 <= n; i += 16) {
        FA_PF_W1(o + i);
        FA_AX_LSM16(i, (__mmask16)0xffff)
    }
    if (i < n) FA_AX_LSM16(i, (__mmask16)((1u << (n - i)) - 1u))
#undef FA_AX_LSM16
}
#define FA_AX_LSM_FAST(o, len, g, y, gs, z) fa_ax_lsm_by_v16(o, len, g, y, gs, z);
#else
#define FA_AX_LSM_FAST(o, len, g, y, gs, z) \
    FA_AX_STORE(o, len, (g)[i] - ((z) ? FN(fa_ax_expz)((y)[i]) : FN(fa_ax_expn)((y)[i])) * (gs))
#endif
#define FA_AX_LSM_BY_STORE(o, len, g, y, gs, mn, mx, mnz) \
    if ((mn) >= FA_AX_XLO && (mx) <= FA_AX_XHI) { \
        FA_AX_LSM_FAST(o, len, g, y, gs, 0) \
    } else if ((mnz) >= FA_AX_XLO && (mx) <= FA_AX_XHI) {   /* and -inf (masked) */ \
        FA_AX_LSM_FAST(o, len, g, y, gs, 1) \
    } else if ((mx) <= FA_C(0.0)) { \
        FA_AX_STORE(o, len, (g)[i] - FN(fa_ax_expmul)((y)[i], gs)) \
    } else {        /* y > 0: not a log-probability */ \
        FA_AX_STORE(o, len, (g)[i] - FN(fa_exp)((y)[i]) * (gs)) \
    }

static void FN(fa_ax_log_softmax_by_row)(const FA_T *g, const FA_T *y, FA_T *o, ptrdiff_t n)
{
    FA_T gs = (FA_T)FN(fa_ax_rdot)(g, NULL, n);
    /* the range of y per block (read from L1 just before its exp pass;
     * o[i] depends on g[i], y[i] only, so o may alias either) */
    for (ptrdiff_t b = 0; b < n; b += FA_AX_BLK) {
        ptrdiff_t len = n - b < FA_AX_BLK ? n - b : FA_AX_BLK;
        const FA_T *gb = g + b, *yb = y + b;
        FA_T *ob = o + b, mn, mx;
        FA_T mnz;
        FN(fa_ax_rminmax_z)(yb, len, FA_C(1.0), &mn, &mx, &mnz);
        FA_AX_LSM_BY_STORE(ob, len, gb, yb, gs, mn, mx, mnz)
    }
}

/* short rows (n <= FA_AX_BLK), FA_AX_GRP at a time: the sums of all rows
 * of the group first (independent reductions overlap), then the outputs;
 * the same arithmetic as the row functions above.  near: the call's data
 * (g, y and out) fit in the last-level cache (FA_AX_NEAR), where
 * fa_ax_softmax_by_even runs the rows whose length allows; out of cache
 * the loops below, whose read-ahead and prefetch for writing pay there
 * (float64 (16384, 64), 24 MB: 0.71 vs 0.86 ms; float32 (16384, 64), 12
 * MB: 0.31 vs 0.24 ms the other way).  A streamed call is never near at
 * the default stream setting; streamed or not, a call runs the same code. */
#define FA_AX_NEAR ((ptrdiff_t)16 << 20)
static inline int FN(fa_ax_near)(const fa_ax_job *j)
{
    return j->outer * j->n * (ptrdiff_t)sizeof(FA_T) * 3 <= FA_AX_NEAR;
}
static void FN(fa_ax_softmax_by_short)(const FA_T *g, const FA_T *y, FA_T *o, ptrdiff_t n,
                                       ptrdiff_t nr, FA_T sg, int pf, int near)
{
#if FA_AX_VEC
    if (near && n % (64 / (ptrdiff_t)sizeof(FA_T)) == 0) {
        if (pf) FN(fa_ax_softmax_by_even)(g, y, o, n, nr, sg, 1);
        else FN(fa_ax_softmax_by_even)(g, y, o, n, nr, sg, 0);
        return;
    }
#endif
    FA_T d[FA_AX_GRP];
    for (ptrdiff_t r = 0; r < nr; r++)
        d[r] = near ? FN(fa_ax_rdot1)(g + r * n, y + r * n, n, 0)
                    : FN(fa_ax_rdot1)(g + r * n, y + r * n, n, 1);
    for (ptrdiff_t r = 0; r < nr; r++) {
        const FA_T *gr = g + r * n, *yr = y + r * n;
        FA_T *orow = o + r * n, dr = d[r];
        FA_AX_STORE_NEXT(orow, n, sg * (yr[i] * (gr[i] - dr)), gr + nr * n, yr + nr * n, pf)
    }
}

static void FN(fa_ax_log_softmax_by_short)(const FA_T *g, const FA_T *y, FA_T *o, ptrdiff_t n,
                                           ptrdiff_t nr)
{
    FA_T gs[FA_AX_GRP], mn[FA_AX_GRP], mx[FA_AX_GRP], mnz[FA_AX_GRP];
    for (ptrdiff_t r = 0; r < nr; r++) {
        gs[r] = FN(fa_ax_rdot1)(g + r * n, NULL, n, 0);
        FN(fa_ax_rminmax_z)(y + r * n, n, FA_C(1.0), &mn[r], &mx[r], &mnz[r]);
    }
    for (ptrdiff_t r = 0; r < nr; r++) {
        const FA_T *gr = g + r * n, *yr = y + r * n;
        FA_T *orow = o + r * n, gsr = gs[r];
        FA_AX_LSM_BY_STORE(orow, n, gr, yr, gsr, mn[r], mx[r], mnz[r])
    }
}

/* g * softmax(x); a row of only -inf (logsumexp = -inf, a constant) gets 0 */
static void FN(fa_ax_logsumexp_b_row)(FA_T gv, const FA_T *x, FA_T *o, ptrdiff_t n)
{
    FA_T mn, m;
    FA_T mnz;
    FN(fa_ax_rminmax_z)(x, n, FA_C(1.0), &mn, &m, &mnz);
    if (m == -(FA_T)INFINITY) {
        FA_T f = FN(fa_ax_rhasnan)(x, n) ? (FA_T)NAN : gv * FA_C(0.0);
        for (ptrdiff_t i = 0; i < n; i++) o[i] = f;
        return;
    }
    if (FN(fa_ax_zfast)(mnz, m)) {  /* every e normal or 0: stored, then e (g / s) */
        FA_T f = gv / (FA_T)FN(fa_ax_rsumexp)(x, NULL, o, n, FA_C(1.0), m, NULL, 1);
        FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) o[i] = o[i] * f;
        return;
    }
    /* the sum alone, then e^(x - m) (g / s) from x (o may be x) */
    FA_T f = gv / (FA_T)FN(fa_ax_rsumexp)(x, NULL, NULL, n, FA_C(1.0), m, NULL, 0);
    FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) o[i] = FN(fa_ax_expmul)(x[i] - m, f);
}

/* ---------------------------------------------------------- columns */
/* A block of w <= FA_AX_WMAX adjacent columns: element (j, k) at
 * p[j * inner + k].  Vectorized across the columns. */

/* Prefetch row j + FA_AX_AHEAD(w) of a block (w columns, rows `inner`
 * apart): a column walk touches a new line or two per row, and the
 * hardware prefetchers do not follow it far enough (fa_prefetch.h); about
 * FA_PF_DIST bytes of the block ahead. */
#define FA_AX_AHEAD(w) (1 + FA_PF_DIST / ((w) * (ptrdiff_t)sizeof(FA_T)))
#define FA_AX_PF_ROW(p, j, w, rw) \
    FA_PF_SPAN((p) + ((j) + FA_AX_AHEAD(w)) * inner, (w) * (ptrdiff_t)sizeof(FA_T), rw)

/* per column max of sg x (ignoring NaN); returns 1 when every column's
 * sg x - max is >= FA_AX_XLO or NaN (fa_ax_expn applies) */
static inline int FN(fa_ax_cmax_k)(const FA_T *x, ptrdiff_t n, ptrdiff_t inner, ptrdiff_t w,
                                   FA_T sg, FA_T *m, const int z)
{
    FA_T mn[FA_AX_WMAX];
    for (ptrdiff_t k = 0; k < w; k++) { m[k] = -(FA_T)INFINITY; mn[k] = (FA_T)INFINITY; }
    for (ptrdiff_t j = 0; j < n; j++) {
        const FA_T *r = x + j * inner;
        FA_AX_PF_ROW(x, j, w, 0);
        FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) {
            FA_T v = sg * r[k];
            m[k] = v > m[k] ? v : m[k];
            if (z) v = v == -(FA_T)INFINITY ? (FA_T)INFINITY : v;
            mn[k] = v < mn[k] ? v : mn[k];
        }
    }
    int fast = 1;
    for (ptrdiff_t k = 0; k < w; k++) fast &= !(mn[k] - m[k] < FA_AX_XLO) && m[k] != (FA_T)INFINITY;
    return fast ? 1 + z : 0;
}

/* per column of a block: the max m; returns 1 when every sg x - m is in
 * the fast range of the exponential (>= FA_AX_XLO, or NaN), else 0 */
static inline int FN(fa_ax_cmax)(const FA_T *x, ptrdiff_t n, ptrdiff_t inner, ptrdiff_t w,
                                 FA_T sg, FA_T *m)
{
    return FN(fa_ax_cmax_k)(x, n, inner, w, sg, m, 0);
}

/* the same but for -inf arguments (exact zeros, fa_ax_expz): 2 then */
static inline int FN(fa_ax_cmax_z)(const FA_T *x, ptrdiff_t n, ptrdiff_t inner, ptrdiff_t w,
                                   FA_T sg, FA_T *m)
{
    return FN(fa_ax_cmax_k)(x, n, inner, w, sg, m, 1);
}

/* per column: s = sum e, e = exp(sg x - m) (stored when store != NULL);
 * with g: d = sum g e.  Kahan summation per column in FA_T, vectorized
 * across the columns (compensated: error ~ 2 eps whatever n). */
#define FA_AX_KAHAN_K(S, C, V) do { FA_T y_ = (V) - C[k], t_ = S[k] + y_; \
    C[k] = (t_ - S[k]) - y_; S[k] = t_; } while (0)

static inline void FN(fa_ax_csum_k)(const FA_T *x, const FA_T *g, FA_T *store, ptrdiff_t n,
                                    ptrdiff_t inner, ptrdiff_t w, FA_T sg, const FA_T *m,
                                    FA_T *s, FA_T *d, const int fast)
{
    FA_T c[FA_AX_WMAX], dc[FA_AX_WMAX];
    for (ptrdiff_t k = 0; k < w; k++) {
        s[k] = FA_C(0.0); c[k] = FA_C(0.0); dc[k] = FA_C(0.0);
        if (d) d[k] = FA_C(0.0);
    }
    for (ptrdiff_t j = 0; j < n; j++) {
        const FA_T *r = x + j * inner;
        if (g) {
            const FA_T *gr = g + j * inner;
            FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) {
                FA_T t = FA_AX_SHIFT(sg, r[k], m[k]), v = FN(fa_ax_expc)(t, fast);
                FA_AX_KAHAN_K(s, c, v);
                /* slow: g e without a subnormal e (fa_ax_expmul) */
                FA_AX_KAHAN_K(d, dc, fast ? gr[k] * v : FN(fa_ax_expmul)(t, gr[k]));
            }
        } else if (store) {
            FA_T *st = store + j * inner;
            FA_AX_PF_ROW(store, j, w, 1);
            FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) {
                FA_T v = FN(fa_ax_expc)(FA_AX_SHIFT(sg, r[k], m[k]), fast);
                st[k] = v;
                FA_AX_KAHAN_K(s, c, v);
            }
        } else {
            FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) {
                FA_T v = FN(fa_ax_expc)(FA_AX_SHIFT(sg, r[k], m[k]), fast);
                FA_AX_KAHAN_K(s, c, v);
            }
        }
    }
    for (ptrdiff_t k = 0; k < w; k++) {
        s[k] -= c[k];
        if (d) d[k] -= dc[k];
    }
}

static inline void FN(fa_ax_csum)(const FA_T *x, const FA_T *g, FA_T *store, ptrdiff_t n,
                                  ptrdiff_t inner, ptrdiff_t w, FA_T sg, const FA_T *m,
                                  FA_T *s, FA_T *d, int fast)
{
    if (fast == 2) FN(fa_ax_csum_k)(x, g, store, n, inner, w, sg, m, s, d, 2);
    else if (fast) FN(fa_ax_csum_k)(x, g, store, n, inner, w, sg, m, s, d, 1);
    else FN(fa_ax_csum_k)(x, g, store, n, inner, w, sg, m, s, d, 0);
}

/* per column: sum of a * b (b NULL: of a), Kahan per column */
static inline void FN(fa_ax_cdot)(const FA_T *a, const FA_T *b, ptrdiff_t n, ptrdiff_t inner,
                                  ptrdiff_t w, FA_T *s)
{
    FA_T c[FA_AX_WMAX];
    for (ptrdiff_t k = 0; k < w; k++) { s[k] = FA_C(0.0); c[k] = FA_C(0.0); }
    for (ptrdiff_t j = 0; j < n; j++) {
        const FA_T *ar = a + j * inner;
        FA_AX_PF_ROW(a, j, w, 0);
        if (b) FA_AX_PF_ROW(b, j, w, 0);
        if (b) {
            const FA_T *br = b + j * inner;
            FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) FA_AX_KAHAN_K(s, c, ar[k] * br[k]);
        } else {
            FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) FA_AX_KAHAN_K(s, c, ar[k]);
        }
    }
    for (ptrdiff_t k = 0; k < w; k++) s[k] -= c[k];
}
#undef FA_AX_KAHAN_K

/* the column block of item it: x offset, output offset (reduced), width */
static inline ptrdiff_t FN(fa_ax_block)(const fa_ax_job *j, ptrdiff_t it, ptrdiff_t *xoff,
                                        ptrdiff_t *roff)
{
    ptrdiff_t nblk = (j->inner + j->W - 1) / j->W;
    ptrdiff_t o = it / nblk, c0 = (it % nblk) * j->W;
    *xoff = o * j->n * j->inner + c0;
    *roff = o * j->inner + c0;
    return j->inner - c0 < j->W ? j->inner - c0 : j->W;
}

/* ------------------------------------------------ rows (inner == 1) */

/* The row ops of the softmax family as functions of rows [r, r + nr) into
 * o (their nr * n outputs, contiguous): what fa_ax_rows hands them. */
typedef void (*FN(fa_ax_rows_fn))(const fa_ax_job *j, ptrdiff_t r, ptrdiff_t nr, FA_T *o);

/* the streamed form of fa_ax_rows: each group of rows into a buffer in L1,
 * then to out (fa_ax_stream_put); one fence for the range.  The row code
 * is the same, so are the results, bit for bit. */
static FA_AX_NOINLINE void FN(fa_ax_rows_streamed)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1,
                                                FN(fa_ax_rows_fn) f, ptrdiff_t gz)
{
    FA_T buf[FA_AX_SROW / sizeof(FA_T)] __attribute__((aligned(64)));
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t n = j->n;
    for (ptrdiff_t r = i0; r < i1; r += gz) {
        ptrdiff_t nr = i1 - r < gz ? i1 - r : gz;
        f(j, r, nr, buf);
        FN(fa_ax_stream_put)(out + r * n, buf, nr * n);
    }
    fa_stream_fence();
}

/* rows [i0, i1) of a row op, FA_AX_GRP-size groups of short rows (n <=
 * FA_AX_BLK) where the op has a group form (grouped), else one by one;
 * streamed where the job says so (the driver decides per op, from the
 * spec's AXIS_STREAM) */
static inline void FN(fa_ax_rows)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1,
                                  FN(fa_ax_rows_fn) f, int grouped)
{
    ptrdiff_t n = j->n, gz = grouped && n <= FA_AX_BLK ? FN(fa_ax_grp)(n) : 1;
    FA_T *out = (FA_T *)j->out;
    if (j->stream && n * (ptrdiff_t)sizeof(FA_T) <= FA_AX_SROW) {
        FN(fa_ax_rows_streamed)(j, i0, i1, f, gz);
        return;
    }
    for (ptrdiff_t r = i0; r < i1; r += gz) f(j, r, i1 - r < gz ? i1 - r : gz, out + r * n);
}

/* the rows functions: x (or y) and g of row r on, results to o.  Flattened
 * as the table entries are, and never inlined: the ordinary and the
 * streamed form of fa_ax_rows call the same code (a NaN's sign depends on
 * the operand order GCC picks where it inlines) */
#define FA_AX_ROWS_HEAD \
    ptrdiff_t n = j->n; \
    const FA_T *x = (const FA_T *)j->x + r * n; \
    const FA_T *g = j->g ? (const FA_T *)j->g + r * n : NULL; \
    FA_T sg = (FA_T)j->sg; \
    (void)g; (void)sg;

FA_AX_FLAT FA_AX_NOINLINE static void FN(fa_ax_softmax_rows)(const fa_ax_job *j, ptrdiff_t r,
                                                             ptrdiff_t nr, FA_T *o)
{
    FA_AX_ROWS_HEAD
    if (n <= FA_AX_BLK) { FN(fa_ax_softmax_short)(x, o, n, nr, sg); return; }
    for (ptrdiff_t k = 0; k < nr; k++) FN(fa_ax_softmax_row)(x + k * n, o + k * n, n, sg);
}

FA_AX_FLAT FA_AX_NOINLINE static void FN(fa_ax_log_softmax_rows)(const fa_ax_job *j, ptrdiff_t r,
                                                                 ptrdiff_t nr, FA_T *o)
{
    FA_AX_ROWS_HEAD
    if (n <= FA_AX_BLK) { FN(fa_ax_log_softmax_short)(x, o, n, nr, sg); return; }
    for (ptrdiff_t k = 0; k < nr; k++) FN(fa_ax_log_softmax_row)(x + k * n, o + k * n, n, sg);
}

FA_AX_FLAT FA_AX_NOINLINE static void FN(fa_ax_softmax_bx_rows)(const fa_ax_job *j, ptrdiff_t r,
                                                                ptrdiff_t nr, FA_T *o)
{
    FA_AX_ROWS_HEAD
    for (ptrdiff_t k = 0; k < nr; k++)
        FN(fa_ax_softmax_bx_row)(g + k * n, x + k * n, o + k * n, n, sg);
}

FA_AX_FLAT FA_AX_NOINLINE static void FN(fa_ax_softmax_by_rows)(const fa_ax_job *j, ptrdiff_t r,
                                                                ptrdiff_t nr, FA_T *o)
{
    FA_AX_ROWS_HEAD
    if (n <= FA_AX_BLK) {
        FN(fa_ax_softmax_by_short)(g, x, o, n, nr, sg, j->stream, FN(fa_ax_near)(j));
        return;
    }
    for (ptrdiff_t k = 0; k < nr; k++)
        FN(fa_ax_softmax_by_row)(g + k * n, x + k * n, o + k * n, n, sg, j->stream,
                                 FN(fa_ax_near)(j));
}

FA_AX_FLAT FA_AX_NOINLINE static void FN(fa_ax_log_softmax_bx_rows)(const fa_ax_job *j, ptrdiff_t r,
                                                                    ptrdiff_t nr, FA_T *o)
{
    FA_AX_ROWS_HEAD
    for (ptrdiff_t k = 0; k < nr; k++)
        FN(fa_ax_log_softmax_bx_row)(g + k * n, x + k * n, o + k * n, n);
}

FA_AX_FLAT FA_AX_NOINLINE static void FN(fa_ax_log_softmax_by_rows)(const fa_ax_job *j, ptrdiff_t r,
                                                                    ptrdiff_t nr, FA_T *o)
{
    FA_AX_ROWS_HEAD
    if (n <= FA_AX_BLK) { FN(fa_ax_log_softmax_by_short)(g, x, o, n, nr); return; }
    for (ptrdiff_t k = 0; k < nr; k++)
        FN(fa_ax_log_softmax_by_row)(g + k * n, x + k * n, o + k * n, n);
}
#undef FA_AX_ROWS_HEAD

/* ------------------------------------------------------ table entries */

FA_AX_FLAT static void FN(fa_ax_softmax)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x;
    FA_T *out = (FA_T *)j->out;
    FA_T sg = (FA_T)j->sg;
    ptrdiff_t n = j->n, inner = j->inner;
    if (inner == 1) { FN(fa_ax_rows)(j, i0, i1, FN(fa_ax_softmax_rows), 1); return; }
    FA_T m[FA_AX_WMAX], sf[FA_AX_WMAX];
    FA_T s[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        int fast = FN(fa_ax_cmax)(x + xo, n, inner, w, sg, m);
        FN(fa_ax_csum)(x + xo, NULL, out + xo, n, inner, w, sg, m, s, NULL, fast);
        for (ptrdiff_t k = 0; k < w; k++) sf[k] = FN(fa_ax_recip)((double)s[k]);
        for (ptrdiff_t r = 0; r < n; r++) {
            FA_T *orow = out + xo + r * inner;
            FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) orow[k] = orow[k] * sf[k];
        }
    }
}

FA_AX_FLAT static void FN(fa_ax_log_softmax)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x;
    FA_T *out = (FA_T *)j->out;
    FA_T sg = (FA_T)j->sg;
    ptrdiff_t n = j->n, inner = j->inner;
    if (inner == 1) { FN(fa_ax_rows)(j, i0, i1, FN(fa_ax_log_softmax_rows), 1); return; }
    FA_T m[FA_AX_WMAX], ls[FA_AX_WMAX];
    FA_T s[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        int fast = FN(fa_ax_cmax)(x + xo, n, inner, w, sg, m);
        FN(fa_ax_csum)(x + xo, NULL, NULL, n, inner, w, sg, m, s, NULL, fast);
        for (ptrdiff_t k = 0; k < w; k++) ls[k] = (FA_T)FN(fa_ax_logsum)(s[k]);
        for (ptrdiff_t r = 0; r < n; r++) {
            const FA_T *xr = x + xo + r * inner;
            FA_T *orow = out + xo + r * inner;
            FA_AX_PF_ROW(out + xo, r, w, 1);
            FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) orow[k] = FA_AX_SHIFT(sg, xr[k], m[k]) - ls[k];
        }
    }
}

FA_AX_FLAT static void FN(fa_ax_logsumexp)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x;
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t n = j->n, inner = j->inner;
    if (inner == 1) {
        if (n <= FA_AX_BLK) {
            for (ptrdiff_t r = i0, gz = FN(fa_ax_grp)(n); r < i1; r += gz)
                FN(fa_ax_logsumexp_short)(x + r * n, out + r, n,
                                          i1 - r < gz ? i1 - r : gz);
            return;
        }
        for (ptrdiff_t r = i0; r < i1; r++) out[r] = FN(fa_ax_logsumexp_row)(x + r * n, n);
        return;
    }
    FA_T m[FA_AX_WMAX];
    FA_T s[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        int fast = FN(fa_ax_cmax)(x + xo, n, inner, w, FA_C(1.0), m);
        FN(fa_ax_csum)(x + xo, NULL, NULL, n, inner, w, FA_C(1.0), m, s, NULL, fast);
        for (ptrdiff_t k = 0; k < w; k++) {
            int nan = 0;
            if (m[k] == (FA_T)INFINITY || m[k] == -(FA_T)INFINITY)
                for (ptrdiff_t r = 0; r < n; r++) nan |= x[xo + r * inner + k] != x[xo + r * inner + k];
            out[ro + k] = FN(fa_ax_lse_finish)(m[k], s[k], nan);
        }
    }
}

FA_AX_FLAT static void FN(fa_ax_softmax_bx)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x, *g = (const FA_T *)j->g;
    FA_T *out = (FA_T *)j->out;
    FA_T sg = (FA_T)j->sg;
    ptrdiff_t n = j->n, inner = j->inner;
    if (inner == 1) { FN(fa_ax_rows)(j, i0, i1, FN(fa_ax_softmax_bx_rows), 0); return; }
    FA_T m[FA_AX_WMAX], sf[FA_AX_WMAX], df[FA_AX_WMAX];
    FA_T s[FA_AX_WMAX], d[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        int fast = FN(fa_ax_cmax_z)(x + xo, n, inner, w, sg, m);
        FN(fa_ax_csum)(x + xo, g + xo, NULL, n, inner, w, sg, m, s, d, fast);
        for (ptrdiff_t k = 0; k < w; k++) { sf[k] = (FA_T)s[k]; df[k] = (FA_T)((double)d[k] / (double)s[k]); }
        for (ptrdiff_t r = 0; r < n; r++) {
            const FA_T *xr = x + xo + r * inner, *gr = g + xo + r * inner;
            FA_T *orow = out + xo + r * inner;
            FA_AX_PF_ROW(out + xo, r, w, 1);
            if (fast) {      /* as the rows: e ((g - d) / s) */
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++)
                    orow[k] = sg * (FN(fa_ax_expz)(FA_AX_SHIFT(sg, xr[k], m[k])) *
                                    ((gr[k] - df[k]) / sf[k]));
            } else {
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++)
                    orow[k] = sg * FN(fa_ax_expmul)(FA_AX_SHIFT(sg, xr[k], m[k]),
                                                    (gr[k] - df[k]) / sf[k]);
            }
        }
    }
}

FA_AX_FLAT static void FN(fa_ax_softmax_by)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *y = (const FA_T *)j->x, *g = (const FA_T *)j->g;
    FA_T *out = (FA_T *)j->out;
    FA_T sg = (FA_T)j->sg;
    ptrdiff_t n = j->n, inner = j->inner;
    if (inner == 1) { FN(fa_ax_rows)(j, i0, i1, FN(fa_ax_softmax_by_rows), 1); return; }
    FA_T df[FA_AX_WMAX];
    FA_T d[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        FN(fa_ax_cdot)(g + xo, y + xo, n, inner, w, d);
        for (ptrdiff_t k = 0; k < w; k++) df[k] = (FA_T)d[k];
        for (ptrdiff_t r = 0; r < n; r++) {
            const FA_T *yr = y + xo + r * inner, *gr = g + xo + r * inner;
            FA_T *orow = out + xo + r * inner;
            FA_AX_PF_ROW(out + xo, r, w, 1);
            FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) orow[k] = sg * (yr[k] * (gr[k] - df[k]));
        }
    }
}

FA_AX_FLAT static void FN(fa_ax_log_softmax_bx)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x, *g = (const FA_T *)j->g;
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t n = j->n, inner = j->inner;
    if (inner == 1) { FN(fa_ax_rows)(j, i0, i1, FN(fa_ax_log_softmax_bx_rows), 0); return; }
    FA_T m[FA_AX_WMAX], gf[FA_AX_WMAX];
    FA_T s[FA_AX_WMAX], gs[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        int fast = FN(fa_ax_cmax_z)(x + xo, n, inner, w, FA_C(1.0), m);
        FN(fa_ax_csum)(x + xo, NULL, NULL, n, inner, w, FA_C(1.0), m, s, NULL, fast);
        FN(fa_ax_cdot)(g + xo, NULL, n, inner, w, gs);
        /* gf = sum(g) / s: e gf, as the rows */
        for (ptrdiff_t k = 0; k < w; k++) gf[k] = (FA_T)gs[k] / (FA_T)s[k];
        for (ptrdiff_t r = 0; r < n; r++) {
            const FA_T *xr = x + xo + r * inner, *gr = g + xo + r * inner;
            FA_T *orow = out + xo + r * inner;
            FA_AX_PF_ROW(out + xo, r, w, 1);
            if (fast) {
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++)
                    orow[k] = gr[k] - FN(fa_ax_expz)(xr[k] - m[k]) * gf[k];
            } else {
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++)
                    orow[k] = gr[k] - FN(fa_ax_expmul)(xr[k] - m[k], gf[k]);
            }
        }
    }
}

FA_AX_FLAT static void FN(fa_ax_log_softmax_by)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *y = (const FA_T *)j->x, *g = (const FA_T *)j->g;
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t n = j->n, inner = j->inner;
    if (inner == 1) { FN(fa_ax_rows)(j, i0, i1, FN(fa_ax_log_softmax_by_rows), 1); return; }
    FA_T gf[FA_AX_WMAX];
    FA_T gs[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        FN(fa_ax_cdot)(g + xo, NULL, n, inner, w, gs);
        for (ptrdiff_t k = 0; k < w; k++) gf[k] = (FA_T)gs[k];
        FA_T lo = (FA_T)INFINITY, hi = -(FA_T)INFINITY, loz = (FA_T)INFINITY;
        for (ptrdiff_t r = 0; r < n; r++) {
            FA_T a, b, az;
            FN(fa_ax_rminmax_z)(y + xo + r * inner, w, FA_C(1.0), &a, &b, &az);
            lo = a < lo ? a : lo;
            hi = b > hi ? b : hi;
            loz = az < loz ? az : loz;
        }
        /* as the rows: fast, fast but for -inf (masked), then the rest */
        int fast = hi <= FA_AX_XHI ? (lo >= FA_AX_XLO ? 1 : loz >= FA_AX_XLO ? 2 : 0) : 0;
        for (ptrdiff_t r = 0; r < n; r++) {
            const FA_T *yr = y + xo + r * inner, *gr = g + xo + r * inner;
            FA_T *orow = out + xo + r * inner;
            FA_AX_PF_ROW(out + xo, r, w, 1);
            if (fast == 1) {
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++)
                    orow[k] = gr[k] - FN(fa_ax_expn)(yr[k]) * gf[k];
            } else if (fast == 2) {
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++)
                    orow[k] = gr[k] - FN(fa_ax_expz)(yr[k]) * gf[k];
            } else if (hi <= FA_C(0.0)) {
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++)
                    orow[k] = gr[k] - FN(fa_ax_expmul)(yr[k], gf[k]);
            } else {     /* y > 0: not a log-probability */
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++)
                    orow[k] = gr[k] - FN(fa_exp)(yr[k]) * gf[k];
            }
        }
    }
}

FA_AX_FLAT static void FN(fa_ax_logsumexp_b)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1)
{
    const FA_T *x = (const FA_T *)j->x, *g = (const FA_T *)j->g;
    FA_T *out = (FA_T *)j->out;
    ptrdiff_t n = j->n, inner = j->inner;
    if (inner == 1) {
        for (ptrdiff_t r = i0; r < i1; r++)
            FN(fa_ax_logsumexp_b_row)(g[r], x + r * n, out + r * n, n);
        return;
    }
    FA_T m[FA_AX_WMAX], q[FA_AX_WMAX];
    FA_T s[FA_AX_WMAX];
    for (ptrdiff_t it = i0; it < i1; it++) {
        ptrdiff_t xo, ro, w = FN(fa_ax_block)(j, it, &xo, &ro);
        int fast = FN(fa_ax_cmax_z)(x + xo, n, inner, w, FA_C(1.0), m);
        int anyinf = 0;
        for (ptrdiff_t k = 0; k < w; k++) anyinf |= m[k] == -(FA_T)INFINITY;
        if (anyinf) {   /* rare: a column of only -inf (or NaN) */
            for (ptrdiff_t k = 0; k < w; k++) {
                const FA_T *xc = x + xo + k;
                FA_T *oc = out + xo + k;
                if (m[k] == -(FA_T)INFINITY) {
                    int nan = 0;
                    for (ptrdiff_t r = 0; r < n; r++) nan |= xc[r * inner] != xc[r * inner];
                    FA_T f = nan ? (FA_T)NAN : g[ro + k] * FA_C(0.0);
                    for (ptrdiff_t r = 0; r < n; r++) oc[r * inner] = f;
                } else {
                    FA_T mk = m[k];
                    double sk = 0.0, ck = 0.0;
                    for (ptrdiff_t r = 0; r < n; r++)
                        FN(fa_ax_kahan)(&sk, &ck, (double)FN(fa_exp)(xc[r * inner] - mk));
                    FA_T f = g[ro + k] / (FA_T)(sk - ck);
                    for (ptrdiff_t r = 0; r < n; r++)
                        oc[r * inner] = FN(fa_ax_expmul)(xc[r * inner] - mk, f);
                }
            }
            continue;
        }
        /* q = g / s: e q, as the rows (every e normal: stored, then
         * scaled; else the sums alone, then e q from x, which out may be) */
        FN(fa_ax_csum)(x + xo, NULL, fast ? out + xo : NULL, n, inner, w, FA_C(1.0), m, s, NULL,
                       fast);
        for (ptrdiff_t k = 0; k < w; k++) q[k] = g[ro + k] / (FA_T)s[k];
        for (ptrdiff_t r = 0; r < n; r++) {
            const FA_T *xr = x + xo + r * inner;
            FA_T *orow = out + xo + r * inner;
            if (fast) {
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++) orow[k] = orow[k] * q[k];
            } else {
                FA_AX_SIMD for (ptrdiff_t k = 0; k < w; k++)
                    orow[k] = FN(fa_ax_expmul)(xr[k] - m[k], q[k]);
            }
        }
    }
}

/* ------------------------------------------ scale, bias, where (fused) */
/* The *_m and *_mb ops (inner == 1): the logits of a group of rows are
 * written where the row code then reads them (the output rows, or a
 * scratch buffer for logsumexp), and the row code above runs on them in
 * place: x and the bias are read once from memory, the logits stay in L1
 * (a group is ~8 KB; a long row is read back from L2).  Rows with no entry
 * left (every entry masked) are then set to 0 (softmax, gradients) or
 * -inf (log_softmax, logsumexp). */

/* the bias and where offsets of row r (see fa_axis_table.h) */
static inline void FN(fa_ax_moff)(const fa_ax_mask *mk, ptrdiff_t r, ptrdiff_t *bo,
                                  ptrdiff_t *wo)
{
    ptrdiff_t b = 0, w = 0;
    for (ptrdiff_t d = mk->nd - 1; d >= 0; d--) {
        ptrdiff_t q = r / mk->dim[d], i = r - q * mk->dim[d];
        b += i * mk->bst[d];
        w += i * mk->wst[d];
        r = q;
    }
    *bo = b;
    *wo = w;
}

/* gm[i] = g[i], or 0 where masked; with mf: mf[i] = 1 where masked, else
 * 0.  Returns 1 when some entry is not masked.  hb, hw: b, w given,
 * contiguous (constants after inlining). */
#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
#ifndef FASTACT_AX_KEEP16
#define FASTACT_AX_KEEP16
/* the kept lanes of the 16 entries from i (b above -inf, w nonzero), as
 * fa_ax_keep8 */
static inline __mmask16 fa_ax_keep16(const float *b, const unsigned char *w, ptrdiff_t i,
                                     const int hb, const int hw)
{
    __mmask16 keep = (__mmask16)0xffff;
    if (hb)
        keep = _mm512_cmp_ps_mask(_mm512_loadu_ps(b + i), _mm512_set1_ps(-INFINITY), _CMP_NEQ_UQ);
    if (hw) {
        __m128i wv = _mm_loadu_si128((const __m128i *)(w + i));
        keep &= _mm_test_epi8_mask(wv, wv);
    }
    return keep;
}
#endif
#endif

static inline int FN(fa_ax_mgrad_k)(const FA_T *g, const FA_T *b, const unsigned char *w,
                                    FA_T *gm, unsigned char *mf, ptrdiff_t n, const int hb,
                                    const int hw)
{
    int live = 0;
    ptrdiff_t i0 = 0;
#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
    /* 16 lanes in intrinsics, as fa_ax_mlz_k (the loop below: 0.57x
     * torch's backward on a causal (16, 1024, 1024)) */
    __mmask16 kv = 0;
    for (; i0 + 16 <= n; i0 += 16) {
        __mmask16 keep = fa_ax_keep16(b, w, i0, hb, hw);
        _mm512_storeu_ps(gm + i0, _mm512_maskz_mov_ps(keep, _mm512_loadu_ps(g + i0)));
        kv |= keep;
        if (mf) _mm_storeu_si128((__m128i *)(mf + i0), _mm_maskz_set1_epi8((__mmask16)~keep, 1));
    }
    live = kv != 0;
#elif !FA_DOUBLE && FA_AX_VEC && defined(__AVX2__)
    /* on AVX2 in intrinsics, as fa_ax_mlogits_k */
    __m256 kv = _mm256_setzero_ps();
    for (; i0 + 8 <= n; i0 += 8) {
        __m256 keep = fa_ax_keep8(b, w, i0, hb, hw);
        _mm256_storeu_ps(gm + i0, _mm256_and_ps(keep, _mm256_loadu_ps(g + i0)));
        kv = _mm256_or_ps(kv, keep);
        if (mf) {
            int bits = _mm256_movemask_ps(keep);
            for (int t = 0; t < 8; t++) mf[i0 + t] = (unsigned char)!((bits >> t) & 1);
        }
    }
    live = _mm256_movemask_ps(kv) != 0;
#endif
    for (ptrdiff_t i = i0; i < n; i++) {
        int keep = 1;
        if (hb) keep = b[i] != -(FA_T)INFINITY;
        if (hw) keep &= w[i] != 0;
        gm[i] = keep ? g[i] : FA_C(0.0);
        if (mf) mf[i] = (unsigned char)!keep;
        live |= keep;
    }
    return live;
}

/* lz[i] = x[i] sc + b[i], or -inf where masked; returns 1 when some entry
 * is not masked; *mn and *mx receive the min and max of the logits
 * (ignoring NaN, as fa_ax_rminmax) and *mnz their min over the entries
 * above -inf (fa_ax_rminmax_z).  hb, hw: b, w given, contiguous
 * (constants after inlining). */
static inline int FN(fa_ax_mlz_k)(const FA_T *x, const FA_T *b, const unsigned char *w,
                                  FA_T *lz, ptrdiff_t n, FA_T sc, FA_T *mn, FA_T *mx,
                                  FA_T *mnz, const int hb, const int hw)
{
    const FA_T ninf = -(FA_T)INFINITY;
    int live = 0;
    FA_T lo = (FA_T)INFINITY, hi = ninf, loz = (FA_T)INFINITY;
    ptrdiff_t i0 = 0;
#if !FA_DOUBLE && FA_AX_VEC && defined(__AVX512F__)
    /* the AVX2 loop below on 16 lanes, the masks in mask registers: GCC's
     * AVX-512 form of the generic loop took 70% of a causal-masked float32
     * softmax of (16, 1024, 1024), the exponentials after it 10% */
    const __m512 vsc = _mm512_set1_ps(sc), vn = _mm512_set1_ps(-INFINITY);
    __m512 hv = vn, lv = _mm512_set1_ps(INFINITY), lzv = lv;
    __mmask16 kv = 0;
    for (; i0 + 16 <= n; i0 += 16) {
        FA_PF_SPAN(x + n + i0, 64, 0);
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i0), vsc);
        __mmask16 keep = fa_ax_keep16(b, w, i0, hb, hw);
        if (hb) v = _mm512_add_ps(v, _mm512_loadu_ps(b + i0));
        v = _mm512_mask_blend_ps(keep, vn, v);
        _mm512_storeu_ps(lz + i0, v);
        hv = _mm512_max_ps(v, hv);
        lv = _mm512_min_ps(v, lv);
        lzv = _mm512_mask_min_ps(lzv, _mm512_cmp_ps_mask(v, vn, _CMP_NEQ_UQ), v, lzv);
        kv |= keep;
    }
    hi = _mm512_reduce_max_ps(hv);
    lo = _mm512_reduce_min_ps(lv);
    loz = _mm512_reduce_min_ps(lzv);
    live = kv != 0;
#elif !FA_DOUBLE && FA_AX_VEC && defined(__AVX2__)
    /* on AVX2, 8 lanes in intrinsics: GCC widens where's bytes for the
     * loop below in steps through the stack (where= cost ~0.7 ns an
     * element, more than the softmax after it).  x's next row (the
     * caller's next) is fetched meanwhile: nothing else reads ahead on
     * this path ((16, 1024, 1024) float32 waited on memory here a third
     * of its time) */
    const __m256 vsc = _mm256_set1_ps(sc), vn = _mm256_set1_ps(-INFINITY);
    __m256 hv = vn, lv = _mm256_set1_ps(INFINITY), lzv = lv, kv = _mm256_setzero_ps();
    for (; i0 + 8 <= n; i0 += 8) {
        FA_PF_SPAN(x + n + i0, 32, 0);
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i0), vsc);
        __m256 keep = fa_ax_keep8(b, w, i0, hb, hw);
        if (hb) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i0));
        v = _mm256_blendv_ps(vn, v, keep);
        _mm256_storeu_ps(lz + i0, v);
        hv = _mm256_max_ps(v, hv);
        lv = _mm256_min_ps(v, lv);
        lzv = _mm256_min_ps(fa_ax_zinf8(v), lzv);
        kv = _mm256_or_ps(kv, keep);
    }
    hi = fa_ax_hmax8(hv);
    lo = fa_ax_hmin8(lv);
    loz = fa_ax_hmin8(lzv);
    live = _mm256_movemask_ps(kv) != 0;
#endif
    FA_AX_PRAGMA(omp simd reduction(|:live) reduction(min:lo, loz) reduction(max:hi))
    for (ptrdiff_t i = i0; i < n; i++) {
        FA_T v = x[i] * sc;
        int keep = 1;
        if (hb) { v = v + b[i]; keep = b[i] != ninf; }
        if (hw) keep &= w[i] != 0;
        v = keep ? v : ninf;
        lz[i] = v;
        hi = v > hi ? v : hi;
        lo = v < lo ? v : lo;
        FA_T vz = v == ninf ? (FA_T)INFINITY : v;
        loz = vz < loz ? vz : loz;
        live |= keep;
    }
    *mn = lo;
    *mx = hi;
    *mnz = loz;
    return live;
}

/* fa_ax_mlz_k, and with g: gm[i] = g[i], or 0 where masked (then mn, mx,
 * mnz are not set); with mf: mf[i] = 1 where masked, else 0 */
static inline int FN(fa_ax_mlogits_k)(const FA_T *x, const FA_T *b, const unsigned char *w,
                                      const FA_T *g, FA_T *lz, FA_T *gm, unsigned char *mf,
                                      ptrdiff_t n, FA_T sc, FA_T *mn, FA_T *mx, FA_T *mnz,
                                      const int hb, const int hw)
{
    if (!g) return FN(fa_ax_mlz_k)(x, b, w, lz, n, sc, mn, mx, mnz, hb, hw);
    FA_T l, h, lzm;
    (void)FN(fa_ax_mlz_k)(x, b, w, lz, n, sc, &l, &h, &lzm, hb, hw);
    return FN(fa_ax_mgrad_k)(g, b, w, gm, mf, n, hb, hw);
}

/* the same for row r, any strides along the row (mn, mx, mnz: without g) */
static int FN(fa_ax_mlogits)(const fa_ax_mask *mk, ptrdiff_t r, const FA_T *x, const FA_T *g,
                             FA_T *lz, FA_T *gm, unsigned char *mf, ptrdiff_t n, FA_T *mn,
                             FA_T *mx, FA_T *mnz)
{
    ptrdiff_t bo, wo;
    FN(fa_ax_moff)(mk, r, &bo, &wo);
    const FA_T *b = mk->bias ? (const FA_T *)mk->bias + bo : NULL;
    const unsigned char *w = mk->where ? mk->where + wo : NULL;
    FA_T sc = (FA_T)mk->scale;
    if ((!b || mk->bsn == 1) && (!w || mk->wsn == 1)) {
        if (b && w) return FN(fa_ax_mlogits_k)(x, b, w, g, lz, gm, mf, n, sc, mn, mx, mnz, 1, 1);
        if (b) return FN(fa_ax_mlogits_k)(x, b, w, g, lz, gm, mf, n, sc, mn, mx, mnz, 1, 0);
        if (w) return FN(fa_ax_mlogits_k)(x, b, w, g, lz, gm, mf, n, sc, mn, mx, mnz, 0, 1);
        return FN(fa_ax_mlogits_k)(x, b, w, g, lz, gm, mf, n, sc, mn, mx, mnz, 0, 0);
    }
    const FA_T ninf = -(FA_T)INFINITY;
    int live = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        FA_T v = x[i] * sc;
        int keep = 1;
        if (b) { FA_T bv = b[i * mk->bsn]; v = v + bv; keep = bv != ninf; }
        if (w) keep &= w[i * mk->wsn] != 0;
        lz[i] = keep ? v : ninf;
        if (g) gm[i] = keep ? g[i] : FA_C(0.0);
        if (mf) mf[i] = (unsigned char)!keep;
        live |= keep;
    }
    if (!g) FN(fa_ax_rminmax_z)(lz, n, FA_C(1.0), mn, mx, mnz);
    return live;
}

/* the same for row r, any strides along the row */
static int FN(fa_ax_mgrad)(const fa_ax_mask *mk, ptrdiff_t r, const FA_T *g, FA_T *gm,
                           unsigned char *mf, ptrdiff_t n)
{
    ptrdiff_t bo, wo;
    FN(fa_ax_moff)(mk, r, &bo, &wo);
    const FA_T *b = mk->bias ? (const FA_T *)mk->bias + bo : NULL;
    const unsigned char *w = mk->where ? mk->where + wo : NULL;
    if ((!b || mk->bsn == 1) && (!w || mk->wsn == 1)) {
        if (b && w) return FN(fa_ax_mgrad_k)(g, b, w, gm, mf, n, 1, 1);
        if (b) return FN(fa_ax_mgrad_k)(g, b, w, gm, mf, n, 1, 0);
        if (w) return FN(fa_ax_mgrad_k)(g, b, w, gm, mf, n, 0, 1);
        return FN(fa_ax_mgrad_k)(g, b, w, gm, mf, n, 0, 0);
    }
    int live = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        int keep = 1;
        if (b) keep = b[i * mk->bsn] != -(FA_T)INFINITY;
        if (w) keep &= w[i * mk->wsn] != 0;
        gm[i] = keep ? g[i] : FA_C(0.0);
        if (mf) mf[i] = (unsigned char)!keep;
        live |= keep;
    }
    return live;
}

/* softmax (0) or log_softmax (1) of a short row of logits whose min and
 * max are mn, mx (mnz: the min above -inf), in place: the arithmetic of
 * fa_ax_softmax_short and fa_ax_log_softmax_short (their row code when
 * the max is not finite) */
static inline void FN(fa_ax_mshort)(FA_T *o, ptrdiff_t n, FA_T mn, FA_T mx, FA_T mnz, int kind)
{
    if (!(mx > -(FA_T)INFINITY && mx < (FA_T)INFINITY)) {
        if (kind == 0) FN(fa_ax_softmax_row)(o, o, n, FA_C(1.0));
        else FN(fa_ax_log_softmax_row)(o, o, n, FA_C(1.0));
        return;
    }
    int fast = FN(fa_ax_fastmode_z)(mn, mnz, mx);
    ptrdiff_t len = fast == 2 ? FN(fa_ax_live_len)(o, n, FA_C(1.0)) : n;
    if (kind == 0) {
        FA_T sf = FN(fa_ax_recip)(FN(fa_ax_expsumw)(o, o, len, FA_C(1.0), mx, fast, len));
        FA_AX_SIMD for (ptrdiff_t i = 0; i < len; i++) o[i] = o[i] * sf;
        FN(fa_ax_mfill)(o + len, n - len, FA_C(0.0) * sf);        /* NaN for a NaN sum */
        return;
    }
    FA_T buf[FA_AX_BLK];
    FA_T ls = (FA_T)FN(fa_ax_logsum)(FN(fa_ax_expsumw)(o, buf, len, FA_C(1.0), mx, fast, len));
    FA_AX_SIMD for (ptrdiff_t i = 0; i < len; i++) o[i] = (o[i] - mx) - ls;
    FN(fa_ax_mfill)(o + len, n - len, (-(FA_T)INFINITY - mx) - ls);
}

/* softmax (0) or log_softmax (1) of nr rows in place (the row code above) */
static inline void FN(fa_ax_mrows)(FA_T *o, ptrdiff_t n, ptrdiff_t nr, int kind)
{
    if (n <= FA_AX_BLK) {
        if (kind == 0) FN(fa_ax_softmax_short)(o, o, n, nr, FA_C(1.0));
        else FN(fa_ax_log_softmax_short)(o, o, n, nr, FA_C(1.0));
        return;
    }
    for (ptrdiff_t r = 0; r < nr; r++) {
        if (kind == 0) FN(fa_ax_softmax_row)(o + r * n, o + r * n, n, FA_C(1.0));
        else FN(fa_ax_log_softmax_row)(o + r * n, o + r * n, n, FA_C(1.0));
    }
}

/* kind 0 softmax (softmin: scale < 0), 1 log_softmax, 2 logsumexp; bwd:
 * the gradient with respect to x (g: grad_output, (outer,) for
 * logsumexp), = scale times the gradient with respect to the logits, 0 at
 * masked entries; bwd 2 (softmax, log_softmax): the same from y, which x
 * then holds (0, softmax, or -inf, log_softmax, at the masked entries) */
static void FN(fa_ax_masked)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1, int kind, int bwd)
{
    const fa_ax_mask *mk = j->mk;
    const FA_T *x = (const FA_T *)j->x, *g = (const FA_T *)j->g;
    FA_T *out = (FA_T *)j->out;
    FA_T sc = (FA_T)mk->scale;
    const FA_T ninf = -(FA_T)INFINITY;
    ptrdiff_t n = j->n;
    ptrdiff_t gz = n <= FA_AX_BLK ? FN(fa_ax_grp)(n) : 1;
    /* scratch: logsumexp's logits, or the backward's masked grad_output
     * (and log_softmax's masked flags) */
    int scr = (kind == 2 && !bwd) || (bwd && kind != 2);
    FA_T sbuf[8192 / sizeof(FA_T)];
    unsigned char fbuf[8192 / sizeof(FA_T)];
    FA_T *zs = sbuf;
    unsigned char *fs = fbuf;
    void *heap = NULL;
    if (scr && gz * n > (ptrdiff_t)(8192 / sizeof(FA_T))) {
        heap = malloc((size_t)(gz * n) * (sizeof(FA_T) + 1));
        if (!heap) {              /* no memory: NaN rather than garbage */
            for (ptrdiff_t r = i0; r < i1; r++) {
                if (kind == 2 && !bwd) out[r] = (FA_T)NAN;
                else FN(fa_ax_mfill)(out + r * n, n, (FA_T)NAN);
            }
            return;
        }
        zs = (FA_T *)heap;
        fs = (unsigned char *)(zs + gz * n);
    }
    for (ptrdiff_t r0 = i0; r0 < i1; r0 += gz) {
        ptrdiff_t nr = i1 - r0 < gz ? i1 - r0 : gz;
        FA_T *o = out + r0 * n;
        int live[FA_AX_GRP];
        FA_T mn, mx, mnz;
        if (bwd == 2) {
            /* grad_output with 0 at the masked entries, then the row code
             * from y (softmax: its entries are 0 there; log_softmax: its
             * result is set to 0 there, and scaled) */
            const FA_T *yr = x + r0 * n;
            for (ptrdiff_t k = 0; k < nr; k++)
                (void)FN(fa_ax_mgrad)(mk, r0 + k, g + (r0 + k) * n, zs + k * n,
                                      kind == 1 ? fs + k * n : NULL, n);
            if (kind == 0 && n <= FA_AX_BLK) {
                FN(fa_ax_softmax_by_short)(zs, yr, o, n, nr, sc, 0, FN(fa_ax_near)(j));
            } else if (kind == 0) {
                FN(fa_ax_softmax_by_row)(zs, yr, o, n, sc, 0, 0);
            } else {
                if (n <= FA_AX_BLK) FN(fa_ax_log_softmax_by_short)(zs, yr, o, n, nr);
                else FN(fa_ax_log_softmax_by_row)(zs, yr, o, n);
                for (ptrdiff_t k = 0; k < nr; k++) {
                    FA_T *ok = o + k * n;
                    const unsigned char *mf = fs + k * n;
                    FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++)
                        ok[i] = mf[i] ? FA_C(0.0) : sc * ok[i];
                }
            }
            continue;
        }
        if (!bwd && kind != 2 && n <= FA_AX_BLK) {
            /* one row at a time: logits, min and max in one loop, then the
             * exponentials while the row is in L1 */
            for (ptrdiff_t k = 0; k < nr; k++) {
                FA_T *ok = o + k * n;
                int lv = FN(fa_ax_mlogits)(mk, r0 + k, x + (r0 + k) * n, NULL, ok, NULL, NULL, n,
                                           &mn, &mx, &mnz);
                if (!lv) FN(fa_ax_mfill)(ok, n, kind == 0 ? FA_C(0.0) : ninf);
                else FN(fa_ax_mshort)(ok, n, mn, mx, mnz, kind);
            }
            continue;
        }
        for (ptrdiff_t k = 0; k < nr; k++) {
            ptrdiff_t r = r0 + k;
            int gm = bwd && kind != 2;
            live[k] = FN(fa_ax_mlogits)(mk, r, x + r * n, gm ? g + r * n : NULL,
                                        (kind == 2 && !bwd) ? zs + k * n : o + k * n,
                                        gm ? zs + k * n : NULL,
                                        gm && kind == 1 ? fs + k * n : NULL, n, &mn, &mx,
                                        &mnz);
        }
        if (!bwd) {
            if (kind == 2) {
                if (n <= FA_AX_BLK) FN(fa_ax_logsumexp_short)(zs, out + r0, n, nr);
                else out[r0] = FN(fa_ax_logsumexp_row)(zs, n);
                for (ptrdiff_t k = 0; k < nr; k++) if (!live[k]) out[r0 + k] = ninf;
                continue;
            }
            FN(fa_ax_mrows)(o, n, nr, kind);
            for (ptrdiff_t k = 0; k < nr; k++)
                if (!live[k]) FN(fa_ax_mfill)(o + k * n, n, kind == 0 ? FA_C(0.0) : ninf);
            continue;
        }
        if (kind == 1) {
            for (ptrdiff_t k = 0; k < nr; k++) {
                FA_T *ok = o + k * n;
                const unsigned char *mf = fs + k * n;
                FN(fa_ax_log_softmax_bx_row)(zs + k * n, ok, ok, n);
                FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) ok[i] = mf[i] ? FA_C(0.0) : sc * ok[i];
            }
            continue;
        }
        /* softmax and logsumexp: y = softmax of the logits, in place */
        FN(fa_ax_mrows)(o, n, nr, 0);
        int redo[FA_AX_GRP], anyredo = 0;
        for (ptrdiff_t k = 0; k < nr; k++) {
            if (!live[k]) FN(fa_ax_mfill)(o + k * n, n, FA_C(0.0));
            /* a softmax entry below the normal range (rare): the row from
             * its logits again, through the unmasked row code, which
             * forms g times such an entry without the subnormal */
            redo[k] = live[k] && FN(fa_ax_rsubn)(o + k * n, n);
            anyredo |= redo[k];
        }
        for (ptrdiff_t k = 0; k < nr; k++) {
            FA_T *ok = o + k * n;
            if (!redo[k]) continue;
            ptrdiff_t r = r0 + k;
            (void)FN(fa_ax_mlogits)(mk, r, x + r * n, kind == 0 ? g + r * n : NULL, ok,
                                    kind == 0 ? zs + k * n : NULL, NULL, n, &mn, &mx, &mnz);
            if (kind == 0) {
                FN(fa_ax_softmax_bx_row)(zs + k * n, ok, ok, n, FA_C(1.0));
                FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) ok[i] = sc * ok[i];
            } else {
                FN(fa_ax_logsumexp_b_row)(g[r] * sc, ok, ok, n);
            }
        }
        if (kind == 0) {
            if (!anyredo && n <= FA_AX_BLK) {
                FN(fa_ax_softmax_by_short)(zs, o, o, n, nr, sc, 0, 1);
                continue;
            }
            for (ptrdiff_t k = 0; k < nr; k++) {
                if (redo[k]) continue;
                if (n <= FA_AX_BLK)
                    FN(fa_ax_softmax_by_short)(zs + k * n, o + k * n, o + k * n, n, 1, sc, 0, 1);
                else FN(fa_ax_softmax_by_row)(zs + k * n, o + k * n, o + k * n, n, sc, 0, 0);
            }
            continue;
        }
        for (ptrdiff_t k = 0; k < nr; k++) {
            FA_T *ok = o + k * n;
            if (!live[k] || redo[k]) continue;
            FA_T f = g[r0 + k] * sc;
            FA_AX_SIMD for (ptrdiff_t i = 0; i < n; i++) ok[i] = f * ok[i];
        }
    }
    free(heap);
}

#define FA_AX_MASKED(NAME, KIND, BWD) \
FA_AX_FLAT static void FN(fa_ax_##NAME)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1) \
{ \
    FN(fa_ax_masked)(j, i0, i1, KIND, BWD); \
}
FA_AX_MASKED(softmax_m, 0, 0)
FA_AX_MASKED(log_softmax_m, 1, 0)
FA_AX_MASKED(logsumexp_m, 2, 0)
FA_AX_MASKED(softmax_mb, 0, 1)
FA_AX_MASKED(log_softmax_mb, 1, 1)
FA_AX_MASKED(logsumexp_mb, 2, 1)
FA_AX_MASKED(softmax_mby, 0, 2)
FA_AX_MASKED(log_softmax_mby, 1, 2)
#undef FA_AX_MASKED

/* ------------------------------------------------------- GLU family */
/* a, b: the two halves (each `cols` elements per outer index); the item
 * is W consecutive elements of one outer index.
 *
 * Every element's result depends on its own inputs only (not on its
 * neighbours, so not on how an array is chunked).  The ordinary formulas
 * run vectorized over a run of up to FA_AX_PRUN elements together with a
 * per-element test UNSAFE: an intermediate of those formulas may overflow
 * or underflow where the result does not (the product of two inputs, a
 * sigmoid, silu or gelu or its derivative beyond the normal range).  Only
 * in a run where some element is unsafe does a scalar loop recompute just
 * those elements by the exact-range formulas X: for float, the float64
 * kernels rounded once (the product of two floats is exact in double);
 * for float64, the exponents of the factors kept apart (frexp) and
 * applied once at the end (ldexp), with e^x for x < -700 as a mantissa
 * and an exponent (fa_ax_exp_mn).  In place (out is x) the unsafe
 * elements are recomputed before the vector loop overwrites their inputs.
 * The safe elements are bitwise what the ordinary formulas give. */
#ifndef FA_AX_PRUN
#define FA_AX_PRUN 256
#endif

#if FA_DOUBLE
/* e^x = m 2^n, m in [0.7, 1.42], for x <= 0 with no underflow; x is
 * clamped at -3000 (not NaN), where m times three finite doubles
 * (< 2^3072) scaled by 2^n is still below the smallest subnormal. */
static inline double fa_ax_exp_mn(double x, int *n)
{
    int64_t ni;
    double nf;
    x = x > -3000.0 ? x : -3000.0;
    double q = fa_expm1_poly_d(fa_exp_reduce_d(x, 0.0, &ni, &nf));
    *n = (int)ni;
    return 1.0 + q;
}
static inline int fa_ax_fin2(double u, double v)
{
    return fa_abs_d(u) < INFINITY && fa_abs_d(v) < INFINITY;
}
/* glu: a sigmoid(b); for b < -700, sigmoid(b) = e^b to within e^-700 */
static inline double fa_ax_glu_x_d(double a, double b)
{
    if (!(b < -700.0 && fa_abs_d(a) < INFINITY))
        return a * fa_sigmoid_d(b);
    int ea, n;
    double am = frexp(a, &ea), m = fa_ax_exp_mn(b, &n);
    return ldexp(am * m, ea + n);
}
/* d/da = g sigmoid(b), d/db = g a sigmoid'(b); sigmoid'(b) = e^-|b| to
 * within e^-700 for |b| > 700 */
static inline void fa_ax_glu_bxx_d(double g, double a, double b, double *ga, double *gb)
{
    if (!(fa_ax_fin2(g, a) && b == b)) {
        *ga = fa_ax_glu_x_d(g, b);
        *gb = fa_sigmoid_bx_d(g * a, b, 0);
        return;
    }
    int eg, ea, n = 0;
    double gm = frexp(g, &eg), am = frexp(a, &ea), d;
    *ga = fa_ax_glu_x_d(g, b);
    if (fa_abs_d(b) > 700.0)
        d = fa_ax_exp_mn(-fa_abs_d(b), &n);
    else
        d = fa_sigmoid_bx_d(1.0, b, 0);
    *gb = ldexp((gm * am) * d, eg + ea + n);
}
/* silu(a) and gelu(a) are a / 2 to within 2^-900 for |a| < 2^-900 (a
 * subnormal value of which the product with b keeps all its bits) */
static inline int fa_ax_half_x_d(double a, double b, double *r)
{
    if (!(fa_abs_d(a) < 0x1p-900 && fa_abs_d(b) < INFINITY))
        return 0;
    int ea, eb;
    double am = frexp(a, &ea), bm = frexp(b, &eb);
    *r = ldexp(am * bm, ea + eb - 1);
    return 1;
}
/* swiglu: silu(a) b; for a < -700, silu(a) = a e^a and silu'(a) =
 * (1 + a) e^a to within e^-700 (below -3000 the ordinary formulas give
 * their signed zeros) */
static inline double fa_ax_swiglu_x_d(double a, double b)
{
    double r;
    if (fa_ax_half_x_d(a, b, &r))
        return r;
    if (!(a < -700.0 && a >= -3000.0 && fa_abs_d(b) < INFINITY))
        return fa_silu_fwd_d(a, 0) * b;
    int ea, eb, n;
    double am = frexp(a, &ea), bm = frexp(b, &eb), m = fa_ax_exp_mn(a, &n);
    return ldexp((am * m) * bm, ea + eb + n);
}
static inline void fa_ax_swiglu_bxx_d(double g, double a, double b, double *ga, double *gb)
{
    if (!(fa_ax_fin2(g, b) && a == a)) {
        *ga = fa_silu_bx_d(g * b, a, 0);
        *gb = fa_ax_swiglu_x_d(a, g);
        return;
    }
    int eg, eb;
    double gm = frexp(g, &eg), bm = frexp(b, &eb);
    if (a < -700.0 && a >= -3000.0) {
        int n;
        double m = fa_ax_exp_mn(a, &n);
        *ga = ldexp((gm * bm) * ((1.0 + a) * m), eg + eb + n);
    } else {
        *ga = ldexp(fa_silu_bx_d(gm * bm, a, 0), eg + eb);
    }
    *gb = fa_ax_swiglu_x_d(a, g);
}
/* geglu: g b overflowing, gelu(a) subnormal for a tiny a (gelu and its
 * derivative below the normal range near a = -38 are left as they are) */
#define FA_AX_GEGLU_BXX(NAME, BX, FWD) \
static inline double fa_ax_##NAME##_x_d(double a, double b) \
{ \
    double r; \
    return fa_ax_half_x_d(a, b, &r) ? r : FWD(a, 0) * b; \
} \
static inline void fa_ax_##NAME##_bxx_d(double g, double a, double b, double *ga, double *gb) \
{ \
    int eg, eb; \
    double gm = frexp(g, &eg), bm = frexp(b, &eb); \
    *ga = fa_ax_fin2(g, b) ? ldexp(BX(gm * bm, a, 0), eg + eb) : BX(g * b, a, 0); \
    *gb = fa_ax_##NAME##_x_d(a, g); \
}
FA_AX_GEGLU_BXX(geglu, fa_gelu_bx_d, fa_gelu_fwd_d)
FA_AX_GEGLU_BXX(geglu_tanh, fa_gelu_tanh_bx_d, fa_gelu_tanh_fwd_d)
#undef FA_AX_GEGLU_BXX
#else
/* float: the float64 kernels on the exact float inputs, rounded once */
static inline float fa_ax_glu_x_f(float a, float b) { return (float)((double)a * fa_sigmoid_d(b)); }
static inline float fa_ax_swiglu_x_f(float a, float b) { return (float)(fa_silu_fwd_d(a, 0) * b); }
static inline float fa_ax_geglu_x_f(float a, float b) { return (float)(fa_gelu_fwd_d(a, 0) * b); }
static inline float fa_ax_geglu_tanh_x_f(float a, float b) { return (float)(fa_gelu_tanh_fwd_d(a, 0) * b); }
static inline void fa_ax_glu_bxx_f(float g, float a, float b, float *ga, float *gb)
{
    double gv = g, av = a, bv = b;
    *ga = (float)(gv * fa_sigmoid_d(bv));
    *gb = (float)fa_sigmoid_bx_d(gv * av, bv, 0);
}
#define FA_AX_GLU_BXX_F(NAME, BX, FWD) \
static inline void fa_ax_##NAME##_bxx_f(float g, float a, float b, float *ga, float *gb) \
{ \
    double gv = g, av = a, bv = b; \
    *ga = (float)BX(gv * bv, av, 0); \
    *gb = (float)(gv * FWD(av, 0)); \
}
FA_AX_GLU_BXX_F(swiglu, fa_silu_bx_d, fa_silu_fwd_d)
FA_AX_GLU_BXX_F(geglu, fa_gelu_bx_d, fa_gelu_fwd_d)
FA_AX_GLU_BXX_F(geglu_tanh, fa_gelu_tanh_bx_d, fa_gelu_tanh_fwd_d)
#undef FA_AX_GLU_BXX_F
#endif

/* The forwards out of cache (x and out over FA_AX_NEAR): each run first
 * fetches the lines of both halves of x that the run FA_AX_PAIR_AHEAD
 * bytes further on in the order of the outputs will read, wherever the
 * rows end.  The hardware's prefetch alone left them at the memory's
 * latency (glu float32, 1 thread: (4000, 4000) 4.1 -> 3.1 ms, (16000,
 * 1000), rows of 500 per half, 4.0 -> 3.2 ms; on a slower hour of the
 * machine 6.6 -> 3.8 and 6.5 -> 3.8 ms); a fixed distance in memory (2 KB
 * on from each run) fetched the other half of the same short row instead.
 * In cache it cost 15-30% ((100, 1000), (128, 22016)): not there.  Not the
 * backward: 1.0-1.1x out of cache, and GCC allocated geglu's backward loop
 * worse with it (0.73-0.84x in cache). */
#define FA_AX_PAIR_AHEAD 4096
static inline int FN(fa_ax_pair_far)(const fa_ax_job *j)
{
    return j->outer * j->cols * (ptrdiff_t)sizeof(FA_T) * 3 > FA_AX_NEAR;
}
static inline void FN(fa_ax_pair_ahead)(const FA_T *x, ptrdiff_t cols, ptrdiff_t p, ptrdiff_t ws)
{
    ptrdiff_t o = p / cols;
    const FA_T *a = x + o * 2 * cols + (p - o * cols);
    FA_PF_SPAN(a, ws * (ptrdiff_t)sizeof(FA_T), 0);
    FA_PF_SPAN(a + cols, ws * (ptrdiff_t)sizeof(FA_T), 0);
}

/* The runs of the items i0..i1 of job j: o the outer index, e the run's
 * first element in its half (of cols elements), ws its length (up to
 * FA_AX_PRUN); the statements run once per run.  FA_AX_PAIR_RUNS_FAR: the
 * same, each run after the fetch ahead where FAR (fa_ax_pair_far). */
#define FA_AX_PAIR_RUNS_FAR(FAR, ...) \
    ptrdiff_t cols = j->cols, nblk = (cols + j->W - 1) / j->W; \
    const int far_ = (FAR); \
    for (ptrdiff_t it = i0; it < i1; it++) { \
        ptrdiff_t o = it / nblk, c0 = (it % nblk) * j->W; \
        ptrdiff_t w = cols - c0 < j->W ? cols - c0 : j->W; \
        for (ptrdiff_t s0 = 0; s0 < w; s0 += FA_AX_PRUN) { \
            ptrdiff_t ws = w - s0 < FA_AX_PRUN ? w - s0 : FA_AX_PRUN, e = c0 + s0; \
            if (far_) \
                FN(fa_ax_pair_ahead)((const FA_T *)j->x, cols, \
                                     o * cols + e + FA_AX_PAIR_AHEAD / (ptrdiff_t)sizeof(FA_T), ws); \
            __VA_ARGS__ \
        } \
    }
#define FA_AX_PAIR_RUNS(...) FA_AX_PAIR_RUNS_FAR(0, __VA_ARGS__)

/* scale=, bias= (fa_ax_pre): the pieces of a run of ws elements whose
 * halves start at the flat indices ia and ib, none across the end of a
 * period of the operands: k0 the piece's offset in the run, m its length,
 * sa, ba (sb, bb) the scale and bias of its a (b) half; the statements run
 * once per piece.  The period P is >= FA_AX_PRUN: at most 3 pieces.  The
 * positions ja, jb in the period are taken modulo P once per item, then
 * advanced. */
#define FA_AX_PRE_PIECES(...) \
    if (s0 == 0) { \
        ja = ia % P; \
        jb = ib % P; \
    } \
    for (ptrdiff_t k0 = 0, m; k0 < ws; k0 += m) { \
        m = ws - k0; \
        m = P - ja < m ? P - ja : m; \
        m = P - jb < m ? P - jb : m; \
        const FA_T *sa = S + ja, *ba = B + ja, *sb = S + jb, *bb = B + jb; \
        __VA_ARGS__ \
        ja = ja + m == P ? 0 : ja + m; \
        jb = jb + m == P ? 0 : jb + m; \
    }

/* FA_AX_FRUN: a run of ws results y from the halves' values LA and LB
 * (expressions in i); FA_AX_BRUN: the gradients oa, ob of a run from LA,
 * LB and grad_output gg, in place when INPLACE (oa is the a half).  Plain
 * ops read a[i] and b[i]; the fused ops a[i] * sa[i] + ba[i] and
 * b[i] * sb[i] + bb[i] (the product and the sum rounded apart; a missing
 * scale is 1 and a missing bias -0, both exact), so each value is bitwise
 * that of the unfused composition.  Statements, not inline functions: as a
 * function GCC allocated the plain backward's vector loop worse (~10%
 * slower). */
#define FA_AX_FRUN(UNSAFE, EXPR, XF, LA, LB, y, ws) \
{ \
    int any = 0; \
    FA_AX_PRAGMA(omp simd reduction(|:any)) \
    for (ptrdiff_t i = 0; i < ws; i++) { \
        FA_T av = LA, bv = LB; \
        any |= UNSAFE; \
        y[i] = EXPR; \
    } \
    if (any) \
        for (ptrdiff_t i = 0; i < ws; i++) { \
            FA_T av = LA, bv = LB; \
            if (UNSAFE) \
                y[i] = XF(av, bv); \
        } \
}

#define FA_AX_BRUN(UNSAFE, GA, GB, XB, LA, LB, INPLACE, gg, oa, ob, ws) \
{ \
    int any = 0; \
    if (!(INPLACE)) {   /* not in place: compute, then fix */ \
        FA_AX_PRAGMA(omp simd reduction(|:any)) \
        for (ptrdiff_t i = 0; i < ws; i++) { \
            FA_T av = LA, bv = LB, gv = gg[i]; \
            any |= UNSAFE; \
            FA_T ga = GA, gb = GB; \
            oa[i] = ga; \
            ob[i] = gb; \
        } \
        if (any) \
            for (ptrdiff_t i = 0; i < ws; i++) { \
                FA_T av = LA, bv = LB, gv = gg[i]; \
                if (UNSAFE) \
                    XB(gv, av, bv, oa + i, ob + i); \
            } \
    } else {            /* in place: scan and recompute the unsafe ones aside first */ \
        FA_AX_PRAGMA(omp simd reduction(|:any)) \
        for (ptrdiff_t i = 0; i < ws; i++) { \
            FA_T av = LA, bv = LB, gv = gg[i]; \
            (void)av; (void)bv; (void)gv; \
            any |= UNSAFE; \
        } \
        int nf = 0, fi[FA_AX_PRUN]; \
        FA_T fa_[FA_AX_PRUN], fb_[FA_AX_PRUN]; \
        if (any) \
            for (ptrdiff_t i = 0; i < ws; i++) { \
                FA_T av = LA, bv = LB, gv = gg[i]; \
                if (UNSAFE) { \
                    XB(gv, av, bv, fa_ + nf, fb_ + nf); \
                    fi[nf++] = (int)i; \
                } \
            } \
        FA_AX_SIMD for (ptrdiff_t i = 0; i < ws; i++) { \
            FA_T av = LA, bv = LB, gv = gg[i]; \
            FA_T ga = GA, gb = GB; \
            oa[i] = ga; \
            ob[i] = gb; \
        } \
        for (int k = 0; k < nf; k++) { \
            oa[fi[k]] = fa_[k]; \
            ob[fi[k]] = fb_[k]; \
        } \
    } \
}

/* the operands of a fused op */
#define FA_AX_PRE_OPERANDS \
    const FA_T *S = (const FA_T *)j->pre->s, *B = (const FA_T *)j->pre->b; \
    const ptrdiff_t P = j->pre->period; \
    ptrdiff_t ja = 0, jb = 0;

/* Per NAME: the op NAME over the halves of x, and NAME_m over those of
 * x * s + b. */
#define FA_AX_PAIR_FWD(NAME, UNSAFE, EXPR, XF) \
FA_AX_FLAT static void FN(fa_ax_##NAME)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1) \
{ \
    const FA_T *x = (const FA_T *)j->x; \
    FA_T *out = (FA_T *)j->out; \
    FA_AX_PAIR_RUNS_FAR(FN(fa_ax_pair_far)(j), \
        const FA_T *a = x + o * 2 * cols + e, *b = a + cols; \
        FA_T *y = out + o * cols + e; \
        FA_AX_FRUN(UNSAFE, EXPR, XF, a[i], b[i], y, ws)) \
} \
FA_AX_FLAT static void FN(fa_ax_##NAME##_m)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1) \
{ \
    const FA_T *x = (const FA_T *)j->x; \
    FA_T *out = (FA_T *)j->out; \
    FA_AX_PRE_OPERANDS \
    FA_AX_PAIR_RUNS_FAR(FN(fa_ax_pair_far)(j), \
        ptrdiff_t ia = o * 2 * cols + e, ib = ia + cols; \
        FA_AX_PRE_PIECES( \
            const FA_T *a = x + ia + k0, *b = x + ib + k0; \
            FA_T *y = out + o * cols + e + k0; \
            FA_AX_FRUN(UNSAFE, EXPR, XF, a[i] * sa[i] + ba[i], b[i] * sb[i] + bb[i], y, m))) \
}

/* Per NAME: the op NAME_b, and NAME_mb, the gradient with respect to x of
 * NAME(x * s + b): NAME_b's on x * s + b, then times s (where a scale is
 * given: fa_ax_pre.mul). */
#define FA_AX_PAIR_BWD(NAME, UNSAFE, GA, GB, XB) \
FA_AX_FLAT static void FN(fa_ax_##NAME##_b)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1) \
{ \
    const FA_T *x = (const FA_T *)j->x, *g = (const FA_T *)j->g; \
    FA_T *out = (FA_T *)j->out; \
    FA_AX_PAIR_RUNS( \
        const FA_T *a = x + o * 2 * cols + e, *b = a + cols, *gg = g + o * cols + e; \
        FA_T *oa = out + o * 2 * cols + e, *ob = oa + cols; \
        FA_AX_BRUN(UNSAFE, GA, GB, XB, a[i], b[i], oa == a, gg, oa, ob, ws)) \
} \
FA_AX_FLAT static void FN(fa_ax_##NAME##_mb)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1) \
{ \
    const FA_T *x = (const FA_T *)j->x, *g = (const FA_T *)j->g; \
    FA_T *out = (FA_T *)j->out; \
    const int mul = j->pre->mul; \
    FA_AX_PRE_OPERANDS \
    FA_AX_PAIR_RUNS( \
        ptrdiff_t ia = o * 2 * cols + e, ib = ia + cols; \
        FA_AX_PRE_PIECES( \
            const FA_T *a = x + ia + k0, *b = x + ib + k0, *gg = g + o * cols + e + k0; \
            FA_T *oa = out + ia + k0, *ob = out + ib + k0; \
            FA_AX_BRUN(UNSAFE, GA, GB, XB, a[i] * sa[i] + ba[i], b[i] * sb[i] + bb[i], \
                       oa == a, gg, oa, ob, m) \
            if (mul) { \
                FA_AX_SIMD for (ptrdiff_t i = 0; i < m; i++) { \
                    oa[i] = oa[i] * sa[i]; \
                    ob[i] = ob[i] * sb[i]; \
                } \
            })) \
}

/* The tests UNSAFE.  float: the nonlinearity's argument >= LO (glu: -|b|
 * >= -80, as sigmoid' is even; silu -80; gelu -12 (gelu(-12) = -2e-32)
 * and the tanh form -9 (-9 Phi~(-9) = -1e-28): value and derivative are
 * normal floats; the tanh form's value alone down to -10, -1.2e-37), |g| |other half| < 2^126, and for silu and gelu a = 0
 * or |a| >= 2^-100 (silu(a) = a / 2 is subnormal below 2^-125).  float64:
 * |g| |other half| <= 2^1000, for glu |b| <= 700, for swiglu a >= -700,
 * and a = 0 or |a| >= 2^-900 for silu and gelu. */
#if FA_DOUBLE
#define FA_AX_BIG(u, v) (FN(fa_abs)((u) * (v)) > 0x1p1000)
#define FA_AX_TINY(v) ((FN(fa_abs)(v) < 0x1p-900) & ((v) != 0.0))
#define FA_AX_GLU_FWD_UNSAFE (bv < -700.0)
#define FA_AX_GLU_BWD_UNSAFE ((FN(fa_abs)(bv) > 700.0) | FA_AX_BIG(gv, av))
#define FA_AX_SWIGLU_FWD_UNSAFE ((av < -700.0) | FA_AX_TINY(av))
#define FA_AX_SWIGLU_BWD_UNSAFE ((av < -700.0) | FA_AX_TINY(av) | FA_AX_BIG(gv, bv))
#define FA_AX_GEGLU_FWD_UNSAFE(LO) FA_AX_TINY(av)
#define FA_AX_GEGLU_BWD_UNSAFE(LO) (FA_AX_TINY(av) | FA_AX_BIG(gv, bv))
#else
#define FA_AX_BIG(u, v) (FN(fa_abs)(u) * FN(fa_abs)(v) >= 0x1p126f)
#define FA_AX_TINY(v) ((FN(fa_abs)(v) < 0x1p-100f) & ((v) != 0.0f))
#define FA_AX_GLU_FWD_UNSAFE (bv < -80.0f)
#define FA_AX_GLU_BWD_UNSAFE ((-FN(fa_abs)(bv) < -80.0f) | FA_AX_BIG(gv, av))
#define FA_AX_SWIGLU_FWD_UNSAFE ((av < -80.0f) | FA_AX_TINY(av))
#define FA_AX_SWIGLU_BWD_UNSAFE ((av < -80.0f) | FA_AX_TINY(av) | FA_AX_BIG(gv, bv))
#define FA_AX_GEGLU_FWD_UNSAFE(LO) ((av < (LO)) | FA_AX_TINY(av))
#define FA_AX_GEGLU_BWD_UNSAFE(LO) ((av < (LO)) | FA_AX_TINY(av) | FA_AX_BIG(gv, bv))
#endif

/* sigmoid(b) from e = e^-|b| as fa_sigmoid_bx computes it: on glu's safe
 * lanes (e normal) fa_sigmoid's value, with the exponential shared with
 * fa_sigmoid_bx's (the compiler merges the two) */
FA_INLINE FA_T FN(fa_ax_sigmoid_e)(FA_T b, FA_T e)
{
    return (b >= FA_C(0.0) ? FA_C(1.0) : e) / (FA_C(1.0) + e);
}
/* glu: a sigmoid(b); d/da = sigmoid(b), d/db = a sigmoid'(b) */
FA_AX_PAIR_FWD(glu, FA_AX_GLU_FWD_UNSAFE, av * FN(fa_sigmoid)(bv), FN(fa_ax_glu_x))
FA_AX_PAIR_BWD(glu, FA_AX_GLU_BWD_UNSAFE,
               gv * FN(fa_ax_sigmoid_e)(bv, FN(fa_exp)(-FN(fa_abs)(bv))),
               FN(fa_sigmoid_bx)(gv * av, bv, 0), FN(fa_ax_glu_bxx))
/* swiglu: silu(a) b */
FA_AX_PAIR_FWD(swiglu, FA_AX_SWIGLU_FWD_UNSAFE, FN(fa_silu_fwd)(av, 0) * bv, FN(fa_ax_swiglu_x))
FA_AX_PAIR_BWD(swiglu, FA_AX_SWIGLU_BWD_UNSAFE,
               FN(fa_silu_bx)(gv * bv, av, 0), gv * FN(fa_silu_fwd)(av, 0), FN(fa_ax_swiglu_bxx))
/* geglu: gelu(a) b (erf form and tanh form) */
FA_AX_PAIR_FWD(geglu, FA_AX_GEGLU_FWD_UNSAFE(-12.0f), FN(fa_gelu_fwd)(av, 0) * bv,
               FN(fa_ax_geglu_x))
FA_AX_PAIR_FWD(geglu_tanh, FA_AX_GEGLU_FWD_UNSAFE(-10.0f), FN(fa_gelu_tanh_fwd)(av, 0) * bv,
               FN(fa_ax_geglu_tanh_x))
FA_AX_PAIR_BWD(geglu, FA_AX_GEGLU_BWD_UNSAFE(-12.0f),
               FN(fa_gelu_bx)(gv * bv, av, 0), gv * FN(fa_gelu_fwd)(av, 0), FN(fa_ax_geglu_bxx))
FA_AX_PAIR_BWD(geglu_tanh, FA_AX_GEGLU_BWD_UNSAFE(-9.0f),
               FN(fa_gelu_tanh_bx)(gv * bv, av, 0), gv * FN(fa_gelu_tanh_fwd)(av, 0),
               FN(fa_ax_geglu_tanh_bxx))
#undef FA_AX_BIG
#undef FA_AX_TINY
#undef FA_AX_GLU_FWD_UNSAFE
#undef FA_AX_GLU_BWD_UNSAFE
#undef FA_AX_SWIGLU_FWD_UNSAFE
#undef FA_AX_SWIGLU_BWD_UNSAFE
#undef FA_AX_GEGLU_FWD_UNSAFE
#undef FA_AX_GEGLU_BWD_UNSAFE

#undef FA_AX_XLO
#undef FA_AX_XHI
#undef FA_AX_PAIR_FWD
#undef FA_AX_PAIR_BWD
#undef FA_AX_PAIR_RUNS
#undef FA_AX_PAIR_RUNS_FAR
#undef FA_AX_PAIR_AHEAD
#undef FA_AX_PRE_PIECES
#undef FA_AX_PRE_OPERANDS
#undef FA_AX_FRUN
#undef FA_AX_BRUN
#undef FA_AX_SIMD
#undef FA_AX_SIMD_SUM
#undef FA_AX_SIMD_SUM2
#undef FA_AX_SIMD_MAX
#undef FA_AX_PRAGMA
#undef FA_AX_FLAT
#undef FA_AX_SHIFT
#undef FA_C
