/*
 * fa_math_impl.h -- vectorizable elementary functions, written once for a
 * generic floating type and included twice by fa_math.h (double, float).
 *
 * Expected macros: FA_T (the float type), FA_U / FA_I (unsigned / signed
 * integer of the same width), FA_DOUBLE (1 or 0), FN(name) (adds the type
 * suffix: _d or _f).
 *
 * Design: every function is branchless straight-line code (selects, not
 * `if`), uses only operations GCC/clang can vectorize on SSE2, AVX2 and
 * AVX-512 (add, mul, div, sqrt, fma where the ISA has it, compares and
 * blends, same-width integer add/sub/shift on the bit pattern), and no libm
 * call.  The modules are compiled with -ffp-contract=off, so every fused
 * multiply-add is explicit (FN(fa_mad)) and results are reproducible for a
 * given instruction-set level whatever the vector width or thread split.
 *
 * The constructions are the classical ones (Cody & Waite range reduction,
 * Tang / fdlibm style reconstruction); the polynomial degrees were chosen by
 * the Taylor remainder bounds noted beside them, not copied from a library.
 */

#if FA_DOUBLE
#define FA_MANT 52
#define FA_BIAS 1023
#define FA_MAGIC 0x1.8p52        /* 1.5 2^52: adding it rounds to an integer */
#define FA_C(x) (x)
#else
#define FA_MANT 23
#define FA_BIAS 127
#define FA_MAGIC FA_EXPF_MAGIC
#define FA_C(x) (x##f)
#endif

FA_INLINE FA_T FN(fa_from_bits)(FA_U u) { FA_T f; memcpy(&f, &u, sizeof f); return f; }
FA_INLINE FA_U FN(fa_bits)(FA_T f) { FA_U u; memcpy(&u, &f, sizeof u); return u; }

/* a * b + c: one rounding where the ISA has FMA, two elsewhere. */
FA_INLINE FA_T FN(fa_mad)(FA_T a, FA_T b, FA_T c)
{
#if FA_HAS_FMA
#if FA_DOUBLE
    return __builtin_fma(a, b, c);
#else
    return __builtin_fmaf(a, b, c);
#endif
#else
    return a * b + c;
#endif
}

/* Exact product a*b = *hi + *lo (FMA, or Dekker/Veltkamp splitting; exact
 * because the modules are built with -ffp-contract=off). */
FA_INLINE void FN(fa_two_prod)(FA_T a, FA_T b, FA_T *hi, FA_T *lo)
{
    FA_T p = a * b;
#if FA_HAS_FMA
    *hi = p;
    *lo = FN(fa_mad)(a, b, -p);
#else
#if FA_DOUBLE
    const FA_T split = 134217729.0;     /* 2^27 + 1 */
#else
    const FA_T split = 4097.0f;         /* 2^12 + 1 */
#endif
    FA_T ca = split * a, cb = split * b;
    FA_T ah = ca - (ca - a), al = a - ah;
    FA_T bh = cb - (cb - b), bl = b - bh;
    *hi = p;
    *lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
}

/* Exact sum a + b = *hi + *lo (Knuth's TwoSum, no ordering needed). */
FA_INLINE void FN(fa_two_sum)(FA_T a, FA_T b, FA_T *hi, FA_T *lo)
{
    FA_T s = a + b;
    FA_T bb = s - a;
    *hi = s;
    *lo = (a - (s - bb)) + (b - bb);
}

FA_INLINE FA_T FN(fa_abs)(FA_T x)
{
    return FN(fa_from_bits)(FN(fa_bits)(x) & ~((FA_U)1 << (sizeof(FA_T) * 8 - 1)));
}

FA_INLINE FA_T FN(fa_sqrt)(FA_T x)
{
#if FA_DOUBLE
    return __builtin_sqrt(x);
#else
    return __builtin_sqrtf(x);
#endif
}

/* v with its sign flipped where s is negative (v * sign(s), no select) */
FA_INLINE FA_T FN(fa_mulsign)(FA_T v, FA_T s)
{
    const FA_U sbit = (FA_U)1 << (sizeof(FA_T) * 8 - 1);
    return FN(fa_from_bits)(FN(fa_bits)(v) ^ (FN(fa_bits)(s) & sbit));
}

FA_INLINE FA_T FN(fa_copysign)(FA_T mag, FA_T sgn)
{
    const FA_U sbit = (FA_U)1 << (sizeof(FA_T) * 8 - 1);
    return FN(fa_from_bits)((FN(fa_bits)(mag) & ~sbit) | (FN(fa_bits)(sgn) & sbit));
}

/* v clamped to [0, hi] (hi >= 0) by signed-integer max/min on the bits
 * (floats >= 0 are ordered like their bit patterns; negative ones are
 * negative integers): GCC 12 turns two float selects on constants into a
 * chain of compares and blends, these into one vpmaxs and one vpmins.
 * -0 gives +0; NaN gives 0 or hi (callers that must return NaN restore it). */
FA_INLINE FA_T FN(fa_clamp0)(FA_T v, FA_T hi)
{
    FA_I b = (FA_I)FN(fa_bits)(v);
    const FA_I h = (FA_I)FN(fa_bits)(hi);
    b = b < 0 ? 0 : b;
    b = b > h ? h : b;
    return FN(fa_from_bits)((FA_U)b);
}

/* c ? a : b on the bits.  For a quotient of two selects on one condition:
 * GCC 12 turns (c ? a : b) / (c ? d : e) into two divisions, a / d and a
 * masked b / e; through the bits it stays one. */
FA_INLINE FA_T FN(fa_pick)(int c, FA_T a, FA_T b)
{
    FA_U m = (FA_U)0 - (FA_U)(c != 0);
    return FN(fa_from_bits)((FN(fa_bits)(a) & m) | (FN(fa_bits)(b) & ~m));
}

/* 2^k for an integer k held in the low bits, valid for -BIAS < k <= BIAS. */
FA_INLINE FA_T FN(fa_pow2i)(FA_I k)
{
    return FN(fa_from_bits)((FA_U)(k + FA_BIAS) << FA_MANT);
}

/* Round-to-nearest integer by the "magic constant" trick: returns n as a
 * float; *ni receives the same integer.  |v| < 2^(MANT-1). */
FA_INLINE FA_T FN(fa_rint_magic)(FA_T v, FA_I *ni)
{
    FA_T t = v + FA_MAGIC;
    *ni = (FA_I)(FN(fa_bits)(t) - FN(fa_bits)(FA_MAGIC));
    return t - FA_MAGIC;
}

/* e^r - 1 for |r| <= ln(2)/2 (a little more is fine).
 * float: degree 6, double: degree 11, both fitted (see below). */
FA_INLINE FA_T FN(fa_expm1_poly)(FA_T r)
{
    FA_T p;
#if FA_DOUBLE
    /* degree-9 P (q of degree 11): Chebyshev interpolant of (e^r - 1 - r)/r^2
     * on [-ln2/2, ln2/2] from mpmath (tools/fit_exp.py --double); max
     * relative error of q 4.1e-17 */
    /* Estrin's scheme (depth 5 instead of 9: the float64 loops that chain
     * an exponential into more work are latency bound) */
    {
        FA_T r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
        FA_T p01 = FN(fa_mad)(0x1.5555555555556p-3, r, 0x1.0000000000001p-1);
        FA_T p23 = FN(fa_mad)(0x1.11111111109adp-7, r, 0x1.5555555553d4fp-5);
        FA_T p45 = FN(fa_mad)(0x1.a01a01a7c8d47p-13, r, 0x1.6c16c17893833p-10);
        FA_T p67 = FN(fa_mad)(0x1.71de0d9c145d0p-19, r, 0x1.a019b8ef67c6cp-16);
        FA_T p89 = FN(fa_mad)(0x1.af38d53857513p-26, r, 0x1.2891a8c1d838dp-22);
        FA_T p03 = FN(fa_mad)(p23, r2, p01);
        FA_T p47 = FN(fa_mad)(p67, r2, p45);
        p = FN(fa_mad)(p89, r8, FN(fa_mad)(p47, r4, p03));
    }
#else
    /* degree-4 P in q = r + r^2 P(r): weighted least squares towards
     * minimax (Lawson iterations) on Chebyshev nodes of [-ln2/2, ln2/2]
     * against mpmath; max relative error of q 3.1e-9 (tools/fit_exp.py) */
    {
        FA_T r2 = r * r;
        FA_T p01 = FN(fa_mad)(FA_EXPF_P1, r, FA_EXPF_P0);
        FA_T p23 = FN(fa_mad)(FA_EXPF_P3, r, FA_EXPF_P2);
        p = FN(fa_mad)(FN(fa_mad)(FA_EXPF_P4, r2, p23), r2, p01);
    }
#endif
    return FN(fa_mad)(r * r, p, r);
}

/* Constants of the Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2;
 * ln2_hi has few enough bits that n*ln2_hi is exact for every n used. */
#if FA_DOUBLE
#define FA_LOG2E 0x1.71547652b82fep0
#define FA_LN2_HI 0x1.62e42fee00000p-1
#define FA_LN2_LO 0x1.a39ef35793c76p-33
#else
#define FA_LOG2E FA_EXPF_LOG2E
#define FA_LN2_HI FA_EXPF_LN2_HI
#define FA_LN2_LO FA_EXPF_LN2_LO
#endif

/* The reduction: returns r + lo with x = n ln2 + r, n = round(x log2 e)
 * (a float in *nf, an integer in *ni). */
FA_INLINE FA_T FN(fa_exp_reduce)(FA_T x, FA_T lo, FA_I *ni, FA_T *nf)
{
    FA_T t = FN(fa_mad)(x, FA_LOG2E, FA_MAGIC);      /* round(x log2 e) + magic */
    FA_T n = t - FA_MAGIC;
    *ni = (FA_I)(FN(fa_bits)(t) - FN(fa_bits)(FA_MAGIC));
    *nf = n;
    FA_T r = FN(fa_mad)(n, -FA_LN2_HI, x);
    r = FN(fa_mad)(n, -FA_LN2_LO, r);
    /* r + 0 is not folded (it turns -0 into +0), an add per element for
     * the callers without a low part; r = -0 and +0 give the same e^r and
     * e^r - 1 (1 + q, and 2^n q + (2^n - 1) with n = 0) */
#if defined(__GNUC__)
    if (__builtin_constant_p(lo) && lo == FA_C(0.0))
        return r;
#endif
    return r + lo;
}

/* e^(x + lo) * 2^k (k = 0 or 64), lo the low part of a double-word
 * argument (0 for a plain one).  Design: no clamp on the way in (a clamp
 * costs more than it seems: GCC threads it into masked copies); the
 * reduction runs on any x and the lanes outside [xmin, xmax] are replaced
 * at the end: +inf above xmax, 0 below xmin, NaN kept.  Between the
 * thresholds and the true overflow / underflow points the arithmetic
 * overflows or underflows by itself.  2^(n+k) is applied as two factors so
 * that n = 128 (float) / 1024 (double) and gradual underflow into the
 * subnormals are reached without an invalid exponent field.  2^n (1 + q)
 * is one FMA, q s + s: with s = 2^n and the result normal it rounds once,
 * to s RN(1 + q), the value of the add and multiply it replaces (one
 * operation and two cycles of latency less: these loops are latency bound,
 * sigmoid and silu ~3% faster, the softmax rows ~7%). */
FA_INLINE FA_T FN(fa_exp_k)(FA_T x, FA_T lo, int k, FA_T xmin, FA_T xmax, int two)
{
    FA_I ni;
    FA_T n;
    FA_T q = FN(fa_expm1_poly)(FN(fa_exp_reduce)(x, lo, &ni, &n));
    ni = ni + (FA_I)k;
    FA_T res;
    if (two) {      /* a compile-time constant at every call */
        FA_I n1;
#if FA_DOUBLE && !defined(__AVX512F__)
        /* no packed 64-bit arithmetic shift below AVX-512: halve by magic */
        (void)FN(fa_rint_magic)((n + (FA_T)k) * FA_C(0.5), &n1);
#else
        n1 = ni >> 1;
#endif
        FA_T s1 = FN(fa_pow2i)(n1), s2 = FN(fa_pow2i)(ni - n1);
        res = FN(fa_mad)(q, s1, s1) * s2;
    } else {        /* n + k is a normal exponent on [xmin, xmax] */
        (void)n;
        FA_T s = FN(fa_pow2i)(ni);
        res = FN(fa_mad)(q, s, s);
    }
    /* the bounds are compile-time constants at every call: an infinite
     * one (argument known to be in range) costs nothing */
    if (xmax < (FA_T)INFINITY)
        res = x > xmax ? (FA_T)INFINITY : res;
    if (xmin > -(FA_T)INFINITY)
        res = x < xmin ? FA_C(0.0) : res;
    return res;
}

/* e^(x + lo), whole range (overflow to +inf, gradual underflow, NaN). */
FA_INLINE FA_T FN(fa_exp2w)(FA_T x, FA_T lo)
{
#if FA_DOUBLE
    return FN(fa_exp_k)(x, lo, 0, -746.0, 710.0, 1);
#else
    return FN(fa_exp_k)(x, lo, 0, -104.0f, 89.0f, 1);
#endif
}

FA_INLINE FA_T FN(fa_exp)(FA_T x) { return FN(fa_exp2w)(x, FA_C(0.0)); }

/* e^(x + lo) * 2^64 on [-131, 43] (float) / [-752, 665] (double), where
 * n + 64 is a normal exponent (one scale factor); exactly 0 below, where
 * |x| e^x underflows even after the scaling back (the callers multiply by
 * x or by a power of e^x); +inf above.  For products like x e^x that land
 * in the subnormal range: computing e^x there first would keep only a few
 * significant bits; callers form the product on the scaled value and
 * multiply by 2^-64 once at the end. */
FA_INLINE FA_T FN(fa_exp2w_s64)(FA_T x, FA_T lo)
{
#if FA_DOUBLE
    return FN(fa_exp_k)(x, lo, 64, -752.0, 665.0, 0);
#else
    return FN(fa_exp_k)(x, lo, 64, -131.0f, 43.0f, 0);
#endif
}

/* fa_exp2w_s64 for an argument <= 0 (or NaN): no overflow check */
FA_INLINE FA_T FN(fa_exp2w_s64_neg)(FA_T x, FA_T lo)
{
#if FA_DOUBLE
    return FN(fa_exp_k)(x, lo, 64, -752.0, (FA_T)INFINITY, 0);
#else
    return FN(fa_exp_k)(x, lo, 64, -131.0f, (FA_T)INFINITY, 0);
#endif
}

/* e^x - 1 as 2^n (1 + q) - 1 = 2^n q + (2^n - 1), for x in
 * [xmin, 60] of fa_expm1 (no range selects; +0 at +0, NaN kept) */
FA_INLINE FA_T FN(fa_expm1_core)(FA_T x)
{
    FA_I ni;
    FA_T n;
    FA_T q = FN(fa_expm1_poly)(FN(fa_exp_reduce)(x, FA_C(0.0), &ni, &n));
    (void)n;
    FA_T s = FN(fa_pow2i)(ni);
    return FN(fa_mad)(s, q, s - FA_C(1.0));
}

/* e^x - 1 for x <= 60 (callers never pass more).  Keeps the sign of zero
 * and full relative accuracy near 0; -1 below -20 (float) / -40 (double),
 * where e^x is below half an ulp of 1. */
FA_INLINE FA_T FN(fa_expm1)(FA_T x)
{
#if FA_DOUBLE
    const FA_T xmin = -40.0;
#else
    const FA_T xmin = -20.0f;
#endif
    FA_T res = FN(fa_expm1_core)(x);
    res = x < xmin ? -FA_C(1.0) : res;
    return x == FA_C(0.0) ? x : res;
}

/* log(1 + f) for f = m - 1, m in [sqrt(2)/2, sqrt(2)]: s = f / (2 + f),
 * log(1+f) = f - f^2/2 + s (f^2/2 + R(s^2)), R(z) = 2z/3 + 2z^2/5 + ...
 * (the atanh series; truncation < 1e-9 float, < 1e-17 double relative). */
FA_INLINE FA_T FN(fa_log1p_red)(FA_T f)
{
    FA_T s = f / (FA_C(2.0) + f);
    FA_T z = s * s;
    FA_T R;
#if FA_DOUBLE
    /* Estrin's scheme (depth 5 instead of 9; see fa_expm1_poly) */
    {
        FA_T z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
        FA_T q01 = FN(fa_mad)(2.0 / 5.0, z, 2.0 / 3.0);
        FA_T q23 = FN(fa_mad)(2.0 / 9.0, z, 2.0 / 7.0);
        FA_T q45 = FN(fa_mad)(2.0 / 13.0, z, 2.0 / 11.0);
        FA_T q67 = FN(fa_mad)(2.0 / 17.0, z, 2.0 / 15.0);
        FA_T q89 = FN(fa_mad)(2.0 / 21.0, z, 2.0 / 19.0);
        FA_T q03 = FN(fa_mad)(q23, z2, q01);
        FA_T q47 = FN(fa_mad)(q67, z2, q45);
        R = FN(fa_mad)(q89, z8, FN(fa_mad)(q47, z4, q03));
    }
#else
    R = (float)(2.0 / 9.0);
    R = FN(fa_mad)(R, z, (float)(2.0 / 7.0));
    R = FN(fa_mad)(R, z, (float)(2.0 / 5.0));
    R = FN(fa_mad)(R, z, (float)(2.0 / 3.0));
#endif
    R = R * z;
    FA_T hfsq = FA_C(0.5) * f * f;
    FA_T logm = f - (hfsq - s * (hfsq + R));
    return logm;
}

/* log(a) for a > 0 (finite, normal or subnormal).  a = m 2^k with m in [sqrt(2)/2, sqrt(2)), f = m - 1 (exact),
 * s = f / (2 + f), log(1+f) = f - f^2/2 + s (f^2/2 + R(s^2)) with
 * R(z) = 2z/3 + 2z^2/5 + ... (the atanh series; truncation < 1e-9 float,
 * < 1e-17 double relative). */
FA_INLINE FA_T FN(fa_log_core)(FA_T a)
{
#if FA_DOUBLE
    const FA_U off = 0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL;
    const FA_U sqrth = 0x3fe6a09e667f3bcdULL;      /* sqrt(2)/2 */
    const FA_U mmask = 0x000fffffffffffffULL;
    const FA_T tiny = 0x1p-1022, up = 0x1p54;
    const int upk = 54;
#else
    const FA_U off = 0x3f800000U - 0x3f3504f3U;
    const FA_U sqrth = 0x3f3504f3U;
    const FA_U mmask = 0x007fffffU;
    const FA_T tiny = 0x1p-126f, up = 0x1p25f;
    const int upk = 25;
#endif
    FA_T sub = a < tiny ? FA_C(1.0) : FA_C(0.0);
    FA_T as = a * (a < tiny ? up : FA_C(1.0));          /* a or a*2^upk */
    FA_U ua = FN(fa_bits)(as) + off;
    FA_I k = (FA_I)(ua >> FA_MANT) - FA_BIAS;
    FA_T m = FN(fa_from_bits)((ua & mmask) + sqrth);
    /* integer k -> float without an int->float conversion instruction
     * (there is no packed int64->double below AVX-512) */
    FA_T kf = FN(fa_from_bits)(FN(fa_bits)(FA_MAGIC) + (FA_U)k) - FA_MAGIC;
    kf = kf - sub * (FA_T)upk;
    FA_T f = m - FA_C(1.0);
    FA_T logm = FN(fa_log1p_red)(f);
    return FN(fa_mad)(kf, FA_LN2_HI, logm + kf * FA_LN2_LO);
}

/* Natural log, all inputs: log(0) = -inf, log(<0) = NaN, log(inf) = inf. */
FA_INLINE FA_T FN(fa_log)(FA_T x)
{
    FA_T xs = x > FA_C(0.0) ? x : FA_C(1.0);
    FA_T r = FN(fa_log_core)(xs);
    r = x == FA_C(0.0) ? -(FA_T)INFINITY : r;
    r = x < FA_C(0.0) ? (FA_T)NAN : r;
    r = x == (FA_T)INFINITY ? x : r;
    return x != x ? x : r;
}

/* log(1 + u) for u in [0, 1] or NaN: the case of softplus and log_sigmoid
 * (u = e^-|z|).  double: 1 + u = m 2^k with k in {0, 1} chosen by a compare
 * (no bit manipulation, no special cases: NaN propagates). */
FA_INLINE FA_T FN(fa_log1p_01)(FA_T u)
{
#if FA_DOUBLE
    const FA_T sqrt2 = 0x1.6a09e667f3bcdp0;
    FA_T a = FA_C(1.0) + u;
    FA_T c = (FA_C(1.0) - a) + u;                 /* exact: a = 1 + u - c */
    int big = a > sqrt2;
    FA_T m = big ? FA_C(0.5) * a : a;
    FA_T kf = big ? FA_C(1.0) : FA_C(0.0);
    FA_T logm = FN(fa_log1p_red)(m - FA_C(1.0));
    FA_T lo = FN(fa_mad)(kf, FA_LN2_LO, c / a);
    return FN(fa_mad)(kf, FA_LN2_HI, logm + lo);
#else
    /* float: log1p(u) = u + u^2 Q(u), Q(u) = (log1p(u) - u)/u^2 a polynomial
     * (tools/fit_log1p.py): no division, no select, a short dependency
     * chain after the exponential (these loops are latency bound) */
    /* degree 9, fit error of u + u^2 Q(u) 2^-24.9 with float coefficients */
    FA_T q = 0x1.6f3782p-9f;
    q = FN(fa_mad)(q, u, -0x1.198c0ap-6f);
    q = FN(fa_mad)(q, u, 0x1.93f282p-5f);
    q = FN(fa_mad)(q, u, -0x1.7659b4p-4f);
    q = FN(fa_mad)(q, u, 0x1.0aec5ep-3f);
    q = FN(fa_mad)(q, u, -0x1.4f2888p-3f);
    q = FN(fa_mad)(q, u, 0x1.98b6ap-3f);
    q = FN(fa_mad)(q, u, -0x1.ffef04p-3f);
    q = FN(fa_mad)(q, u, 0x1.555514p-2f);
    q = FN(fa_mad)(q, u, -0x1p-1f);
    return FN(fa_mad)(u * u, q, u);
#endif
}

/* tanh(x) = sign(x) em / (em + 2), em = expm1(2|x|); |x| is clamped where
 * tanh rounds to 1 (float: 10, double: 20).  <= ~2.5 ulp. */
FA_INLINE FA_T FN(fa_tanh)(FA_T x)
{
#if FA_DOUBLE
    const FA_T big = 20.0;
#else
    const FA_T big = 10.0f;
#endif
    FA_T ax = FN(fa_abs)(x);
    ax = ax > big ? big : ax;
    /* e^(2 ax) - 1 without fa_expm1's range selects: the argument is in
     * [0, 2 big] (or NaN) */
    FA_T em = FN(fa_expm1_core)(ax + ax);
    FA_T t = em / (em + FA_C(2.0));
    return FN(fa_copysign)(t, x);
}

/* 1 / (1 + e^-x), one division, no overflow, relative accuracy in both
 * tails (sigmoid(-100) = 3.7e-44, not 0). */
FA_INLINE FA_T FN(fa_sigmoid)(FA_T x)
{
    /* e^-|x| scaled by 2^64 (one scale factor; below the range of the
     * scaled exp, sigmoid is below the smallest subnormal anyway) */
    FA_T es = FN(fa_exp2w_s64_neg)(-FN(fa_abs)(x), FA_C(0.0));
    FA_T num = x >= FA_C(0.0) ? (FA_T)0x1p64 : es;   /* NaN: es is NaN */
    return (num / FN(fa_mad)(es, (FA_T)0x1p-64, FA_C(1.0))) * (FA_T)0x1p-64;
}

#undef FA_MANT
#undef FA_BIAS
#undef FA_C
#undef FA_LOG2E
#undef FA_LN2_HI
#undef FA_LN2_LO
#undef FA_MAGIC
