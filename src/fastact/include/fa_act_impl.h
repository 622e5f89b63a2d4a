/*
 * fa_act_impl.h -- the math of every elementwise activation, written once
 * for a generic floating type (see fa_math_impl.h for the macros) and
 * included twice by fa_math.h.
 *
 * For each kernel NAME listed in src/fastact/_spec.py there are
 *   FA_T FN(fa_NAME)(FA_T x, const FA_T *p)            forward
 *   FA_T FN(fa_NAME_bx)(FA_T g, FA_T x, const FA_T *p)  g * f'(x)
 *   FA_T FN(fa_NAME_by)(FA_T g, FA_T y, const FA_T *p)  g * f'(x) from y=f(x)
 *                                                      (where the spec says so)
 * p[] holds the parameters in the order of the spec, already converted to
 * FA_T.  Conventions (see README): NaN in x gives NaN out, forward and
 * backward (backward = g * f'(x) with IEEE arithmetic); +-inf give the
 * mathematical limits; kinks follow torch.
 */

#if FA_DOUBLE
#define FA_C(x) (x)
#define FA_MAXV 0x1.fffffffffffffp1023
#define FA_TWO_M64 0x1p-64
#define FA_TWO_64 0x1p64
#else
#define FA_C(x) (x##f)
#define FA_MAXV 0x1.fffffep127f
#define FA_TWO_M64 0x1p-64f
#define FA_TWO_64 0x1p64f
#endif

/* A kernel written in stages (for fa_kernels.h's staged loops) defines
 *   void FN(fa_NAME_st1)(FA_T x, const FA_T *p, FA_T *a, FA_T *b)
 *   void FN(fa_NAME_st2)(FA_T x, const FA_T *p, FA_T *a, FA_T *b)
 *   FA_T FN(fa_NAME_fwd3)(FA_T x, FA_T a, FA_T b, const FA_T *p)
 *   FA_T FN(fa_NAME_bx3)(FA_T g, FA_T x, FA_T a, FA_T b, const FA_T *p)
 * (stage 1 sets a and b from x, stage 2 updates them, the third stage
 * gives the forward or the backward); FA_STAGED(NAME) composes them into
 * the forward and backward above, so both forms compute the same values. */
#ifndef FA_STAGED
#define FA_STAGED(name) \
FA_INLINE FA_T FN(fa_##name##_fwd)(FA_T x, const FA_T *p) \
{ \
    FA_T a, b; \
    FN(fa_##name##_st1)(x, p, &a, &b); \
    FN(fa_##name##_st2)(x, p, &a, &b); \
    return FN(fa_##name##_fwd3)(x, a, b, p); \
} \
FA_INLINE FA_T FN(fa_##name##_bx)(FA_T g, FA_T x, const FA_T *p) \
{ \
    FA_T a, b; \
    FN(fa_##name##_st1)(x, p, &a, &b); \
    FN(fa_##name##_st2)(x, p, &a, &b); \
    return FN(fa_##name##_bx3)(g, x, a, b, p); \
}
#endif

/* x if x is NaN, else d: makes the derivative of a piecewise function NaN
 * at NaN. */
FA_INLINE FA_T FN(fa_nanpass)(FA_T x, FA_T d) { return x != x ? x : d; }

/* x with -inf (and NaN) raised to the most negative finite value, one max:
 * for x e where e underflows to 0, so that the product is -0 for every
 * negative x (the rounded negative value), never NaN from -inf * 0 (a
 * NaN x leaves e NaN).  A select on e == 0 or a copysign cost 10-25% more
 * (silu float32), mish's forward half its time. */
FA_INLINE FA_T FN(fa_finite_lo)(FA_T x) { return x > -FA_MAXV ? x : -FA_MAXV; }

/* ------------------------------------------------------------ sigmoid */
FA_INLINE FA_T FN(fa_sigmoid_fwd)(FA_T x, const FA_T *p) { (void)p; return FN(fa_sigmoid)(x); }
FA_INLINE FA_T FN(fa_sigmoid_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    FA_T e = FN(fa_exp)(-FN(fa_abs)(x));          /* s(1-s) = e/(1+e)^2 */
    FA_T d = FA_C(1.0) + e;
    return g * (e / (d * d));
}
FA_INLINE FA_T FN(fa_sigmoid_by)(FA_T g, FA_T y, const FA_T *p)
{
    (void)p;
    return g * (y * (FA_C(1.0) - y));
}

/* the low part of -|bx| for the double-word bx + bxl: -sign(bx) bxl; a
 * literal 0 (silu) stays a literal, so that fa_exp_reduce adds nothing
 * (-sign(bx) 0 is a signed 0 the compiler cannot fold; r + +-0 and r
 * give the same exponential) */
FA_INLINE FA_T FN(fa_neg_lo)(FA_T bxl, FA_T bx)
{
#if defined(__GNUC__)
    if (__builtin_constant_p(bxl) && bxl == FA_C(0.0))
        return FA_C(0.0);
#endif
    return -FN(fa_mulsign)(bxl, bx);
}
/* e^-|z| for the double-word z + zl (zl = 0: a plain one), rounded once
 * into the subnormals (the scaled exponential, one factor), for z +
 * log1p(e^-|z|) (softplus, log_sigmoid): 0 where z > FA_EXP_CUT, where
 * e^-z is under half an ulp of z and the sum is z with it or without.
 * There it would be subnormal beyond 87 (float) / 708 (double), or its
 * square in fa_log1p_01 (float) beyond 44, and an operation with a
 * subnormal operand or result takes a microcode assist on x86 (float32
 * inputs in [80, 100]: 3-4x the time).  The select is on the bits
 * (fa_pick): as a float select GCC sinks it below the product by 2^-64,
 * which then still underflows. */
#if FA_DOUBLE
#define FA_EXP_CUT 708.0
#else
#define FA_EXP_CUT 32.0f
#endif
FA_INLINE FA_T FN(fa_exp_negabs)(FA_T z, FA_T zl)
{
    FA_T es = FN(fa_exp2w_s64_neg)(-FN(fa_abs)(z), FN(fa_neg_lo)(zl, z));
    return FN(fa_pick)(z > FA_EXP_CUT, FA_C(0.0), es) * FA_TWO_M64;
}
#undef FA_EXP_CUT

/* -------------------------------------------------------- log_sigmoid */
FA_INLINE FA_T FN(fa_log_sigmoid_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
    FA_T e = FN(fa_exp_negabs)(-x, FA_C(0.0));
    FA_T m = x < FA_C(0.0) ? x : FA_C(0.0);
    return m - FN(fa_log1p_01)(e);
}
FA_INLINE FA_T FN(fa_log_sigmoid_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    return g * FN(fa_sigmoid)(-x);
}
/* sigmoid(-x) = 1 - e^y */
FA_INLINE FA_T FN(fa_log_sigmoid_by)(FA_T g, FA_T y, const FA_T *p)
{
    (void)p;
    return g * -FN(fa_expm1)(y);
}

/* --------------------------------------------------------------- tanh */
FA_INLINE FA_T FN(fa_tanh_fwd)(FA_T x, const FA_T *p) { (void)p; return FN(fa_tanh)(x); }
FA_INLINE FA_T FN(fa_tanh_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    /* 1 - tanh^2 = 4e/(1+e)^2, e = exp(-2|x|): no cancellation */
    FA_T ax = FN(fa_abs)(x);
    FA_T e = FN(fa_exp)(-(ax + ax));
    FA_T d = FA_C(1.0) + e;
    FA_T s2 = (FA_C(4.0) * e) / (d * d);
    return g * (s2 > FA_C(1.0) ? FA_C(1.0) : s2);      /* keep sech^2 <= 1 */
}
FA_INLINE FA_T FN(fa_tanh_by)(FA_T g, FA_T y, const FA_T *p)
{
    (void)p;
    return g * ((FA_C(1.0) - y) * (FA_C(1.0) + y));
}

/* --------------------------------------------------------------- relu */
FA_INLINE FA_T FN(fa_relu_fwd)(FA_T x, const FA_T *p) { (void)p; return x < FA_C(0.0) ? FA_C(0.0) : x; }
FA_INLINE FA_T FN(fa_relu_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    return g * FN(fa_nanpass)(x, x > FA_C(0.0) ? FA_C(1.0) : FA_C(0.0));
}
FA_INLINE FA_T FN(fa_relu_by)(FA_T g, FA_T y, const FA_T *p)
{
    (void)p;
    return g * FN(fa_nanpass)(y, y > FA_C(0.0) ? FA_C(1.0) : FA_C(0.0));
}

/* --------------------------------------------------------- leaky_relu */
/* p[0] = negative_slope (also the PReLU kernel, with p[0] = weight[c]) */
FA_INLINE FA_T FN(fa_leaky_relu_fwd)(FA_T x, const FA_T *p)
{
    FA_T neg = p[0] == FA_C(0.0) ? FA_C(0.0) * (x != x ? x : FA_C(1.0)) : p[0] * x;  /* 0*-inf -> 0 */
    return x > FA_C(0.0) ? x : neg;
}
FA_INLINE FA_T FN(fa_leaky_relu_bx)(FA_T g, FA_T x, const FA_T *p)
{
    return g * FN(fa_nanpass)(x, x > FA_C(0.0) ? FA_C(1.0) : p[0]);
}
/* y > 0 exactly where x > 0 when negative_slope >= 0 (the API checks) */
FA_INLINE FA_T FN(fa_leaky_relu_by)(FA_T g, FA_T y, const FA_T *p)
{
    return FN(fa_leaky_relu_bx)(g, y, p);
}

/* ---------------------------------------------------------------- elu */
/* p[0] = alpha */
FA_INLINE FA_T FN(fa_elu_fwd)(FA_T x, const FA_T *p)
{
    FA_T neg = p[0] * FN(fa_expm1)(x > FA_C(0.0) ? FA_C(0.0) : x);
    return x > FA_C(0.0) ? x : neg;
}
FA_INLINE FA_T FN(fa_elu_bx)(FA_T g, FA_T x, const FA_T *p)
{
    FA_T neg = p[0] * FN(fa_exp)(x > FA_C(0.0) ? FA_C(0.0) : x);
    return g * (x > FA_C(0.0) ? FA_C(1.0) : neg);
}
FA_INLINE FA_T FN(fa_elu_by)(FA_T g, FA_T y, const FA_T *p)
{
    return g * (y > FA_C(0.0) ? FA_C(1.0) : y + p[0]);
}

/* --------------------------------------------------------------- selu */
#if FA_DOUBLE
#define FA_SELU_ALPHA 1.6732632423543772
#define FA_SELU_SCALE 1.0507009873554805
#else
#define FA_SELU_ALPHA 1.6732632423543772f
#define FA_SELU_SCALE 1.0507009873554805f
#endif
FA_INLINE FA_T FN(fa_selu_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
    const FA_T sa = FA_SELU_SCALE * FA_SELU_ALPHA;
    FA_T neg = sa * FN(fa_expm1)(x > FA_C(0.0) ? FA_C(0.0) : x);
    return x > FA_C(0.0) ? FA_SELU_SCALE * x : neg;
}
FA_INLINE FA_T FN(fa_selu_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    const FA_T sa = FA_SELU_SCALE * FA_SELU_ALPHA;
    FA_T neg = sa * FN(fa_exp)(x > FA_C(0.0) ? FA_C(0.0) : x);
    return g * (x > FA_C(0.0) ? FA_SELU_SCALE : neg);
}
/* x <= 0: scale alpha e^x = y + scale alpha */
FA_INLINE FA_T FN(fa_selu_by)(FA_T g, FA_T y, const FA_T *p)
{
    (void)p;
    const FA_T sa = FA_SELU_SCALE * FA_SELU_ALPHA;
    return g * (y > FA_C(0.0) ? FA_SELU_SCALE : y + sa);
}
#undef FA_SELU_ALPHA
#undef FA_SELU_SCALE

/* --------------------------------------------------------------- celu */
/* p[0] = alpha (non-zero, checked by the API) */
/* alpha < 0 and x < 0: z = x / alpha > 0 (q = z, correctly rounded), and
 * alpha (e^z - 1) grows to -inf.  z = q + ql to about twice the precision
 * (exp amplifies the error of the quotient by z; as celu_bx), e^(q + ql) =
 * 2^n (1 + e) by the reduction of fa_exp, and alpha (e^z - 1) = (alpha
 * (1 - 2^-n + e)) 2^n (n >= 0; for n = 0 it is alpha expm1(z)).  alpha is
 * scaled by 2^64 where |alpha| < 1 so that the product is a normal
 * number; 2^(n - 64 or n) is applied as two factors, clamped where the
 * result overflows anyway (z clamped likewise, so the reduction stays in
 * range): -inf, as for x = -inf.  Where z <= 0 (alpha > 0, or x = 0) the
 * same reduction (then with ql = 0) gives fa_expm1(z) operation for
 * operation: alpha > 0 is bitwise what it was.  (One select per element:
 * GCC 12 vectorizes no select on the loop-invariant sign of alpha.) */
#if FA_DOUBLE
#define FA_CELU_ZMAX 1500.0
#define FA_CELU_KMAX 2040.0
#define FA_CELU_TMIN 60.0
#define FA_CELU_XMIN (-40.0)
#define FA_CELU_I int64_t
#else
#define FA_CELU_ZMAX 200.0f
#define FA_CELU_KMAX 240.0f
#define FA_CELU_TMIN 30.0f
#define FA_CELU_XMIN (-20.0f)
#define FA_CELU_I int32_t
#endif
FA_INLINE FA_T FN(fa_celu_fwd)(FA_T x, const FA_T *p)
{
    const FA_T alpha = p[0], inv = FA_C(1.0) / p[0];
    const int small = FN(fa_abs)(alpha) < FA_C(1.0);
    const FA_T as = small ? alpha * FA_TWO_64 : alpha;
    const FA_T koff = small ? FA_C(-64.0) : FA_C(0.0);
    FA_T xn = x > FA_C(0.0) ? FA_C(0.0) : x;
    FA_T z = xn / alpha;
    int up = z > FA_C(0.0);
    FA_T ph, pl;
    FN(fa_two_prod)(z, alpha, &ph, &pl);
    FA_T ql = ((xn - ph) - pl) * inv;
    ql = FN(fa_abs)(ql) < (FA_T)INFINITY ? ql : FA_C(0.0);
    ql = up & (z <= FA_CELU_ZMAX) ? ql : FA_C(0.0);
    FA_T zc = z > FA_CELU_ZMAX ? FA_CELU_ZMAX : z;
    FA_CELU_I ni, nt, ki, k1;
    FA_T nf;
    FA_T e = FN(fa_expm1_poly)(FN(fa_exp_reduce)(zc, ql, &ni, &nf));
    /* z <= 0: fa_expm1(z) */
    FA_T s2n = FN(fa_pow2i)(ni);
    FA_T em1 = FN(fa_mad)(s2n, e, s2n - FA_C(1.0));
    em1 = z < FA_CELU_XMIN ? -FA_C(1.0) : em1;
    em1 = z == FA_C(0.0) ? z : em1;
    /* z > 0 */
    FA_T tf = nf < FA_CELU_TMIN ? nf : FA_CELU_TMIN;     /* 2^-n, or below an ulp of 1 */
    (void)FN(fa_rint_magic)(-tf, &nt);
    FA_T m = (FA_C(1.0) - FN(fa_pow2i)(nt)) + e;
    FA_T kf = nf + koff;
    kf = kf < FA_CELU_KMAX ? kf : FA_CELU_KMAX;
    (void)FN(fa_rint_magic)(kf, &ki);
    (void)FN(fa_rint_magic)(kf * FA_C(0.5), &k1);
    FA_T negup = ((as * m) * FN(fa_pow2i)(k1)) * FN(fa_pow2i)(ki - k1);
    FA_T neg = up ? negup : alpha * em1;
    return x > FA_C(0.0) ? x : neg;
}
#undef FA_CELU_ZMAX
#undef FA_CELU_KMAX
#undef FA_CELU_TMIN
#undef FA_CELU_XMIN
#undef FA_CELU_I
/* exp(x / alpha) with the quotient's rounding error carried (exp amplifies
 * it by |x / alpha|): q + ql = x / alpha to about twice the precision.  q
 * is a product by 1/alpha (a loop invariant, no division per element): the
 * residual xn - q alpha, exact by a two-product, carries whatever error q
 * has. */
FA_INLINE FA_T FN(fa_celu_bx)(FA_T g, FA_T x, const FA_T *p)
{
    const FA_T inv = FA_C(1.0) / p[0];
    FA_T xn = x > FA_C(0.0) ? FA_C(0.0) : x;
    FA_T q = xn * inv;
    q = xn == FA_C(0.0) ? xn : q;                   /* 1/alpha may overflow */
    FA_T ph, pl;
    FN(fa_two_prod)(q, p[0], &ph, &pl);
    FA_T ql = ((xn - ph) - pl) * inv;
    ql = FN(fa_abs)(ql) < (FA_T)INFINITY ? ql : FA_C(0.0);
    return g * (x > FA_C(0.0) ? FA_C(1.0) : FN(fa_exp2w)(q, ql));
}
/* x <= 0: e^(x/alpha) = y/alpha + 1 (y <= 0 there for either sign of alpha) */
FA_INLINE FA_T FN(fa_celu_by)(FA_T g, FA_T y, const FA_T *p)
{
    return g * (y > FA_C(0.0) ? FA_C(1.0) : y / p[0] + FA_C(1.0));
}

/* ------------------------------------------------------ silu / swish */
/* x * sigmoid(b x) with one division.  For b x < 0 the product is formed
 * on e^-|bx| scaled by 2^64 and scaled back once, so results in the
 * subnormal range keep their accuracy (silu(-100) in float32); where the
 * product underflows it is a signed 0 (swish(-inf) = 0). */
/* b x = bx + bxl exactly (two-product): exp amplifies the rounding error of
 * b x by |b x|; beta = 0 gives x/2 (also at +-inf) */
FA_INLINE void FN(fa_scaled_arg)(FA_T x, FA_T b, FA_T *bx, FA_T *bxl)
{
    /* (no select on the loop-invariant b: GCC 12 cannot vectorize a
     * select between an invariant and a vector mask) */
    FA_T h, l;
    FN(fa_two_prod)(b, x, &h, &l);
    /* 0 * inf (beta = 0) -> 0; a NaN x stays NaN via x; a NaN beta gives
     * NaN (the formula's sigmoid(NaN)) */
    FA_T nb = b != b ? b : FA_C(0.0);
    *bx = h != h ? nb : h;
    *bxl = FN(fa_abs)(l) < (FA_T)INFINITY ? l : FA_C(0.0);  /* NaN/inf: drop */
}
/* e^-|bx + bxl| 2^64 (bxl the low part of a double-word argument) */
FA_INLINE FA_T FN(fa_swish_es)(FA_T bx, FA_T bxl)
{
    return FN(fa_exp2w_s64_neg)(-FN(fa_abs)(bx), FN(fa_neg_lo)(bxl, bx));
}
/* x sigmoid(bx) from es = fa_swish_es(bx, bxl) */
FA_INLINE FA_T FN(fa_swish_fin)(FA_T x, FA_T es, FA_T bx)
{
    /* 1 + es 2^-64 in one FMA: the value of the product and the sum (the
     * product is exact where it is normal, and below 2^-126 either way
     * rounds to 1), without the subnormal product beyond |bx| = 87 that
     * made each such vector take a microcode assist (silu at x in [80,
     * 100]: 2.8x the time) */
    FA_T d = FN(fa_mad)(es, FA_TWO_M64, FA_C(1.0));
    FA_T xs = FN(fa_finite_lo)(x);             /* silu(-200), silu(-inf): -0 */
    int pos = bx >= FA_C(0.0);
    /* bx < 0: (x es 2^64) / (d 2^64), one rounding even into the
     * subnormals, and one division for both signs */
    FA_T num = pos ? x : xs * es;
    FA_T den = d * (pos ? FA_C(1.0) : FA_TWO_64);
    return num / den;
}
/* on bx + bxl = b x (bxl = 0 for silu, where the product is exact) */
FA_INLINE FA_T FN(fa_swish_core_w)(FA_T x, FA_T bx, FA_T bxl)
{
    return FN(fa_swish_fin)(x, FN(fa_swish_es)(bx, bxl), bx);
}
/* d/dx x sigmoid(bx) = s (1 + b x sm), s = sigmoid(bx), sm = sigmoid(-bx);
 * limits 1 (bx -> inf) and 0 (bx -> -inf).  With e = e^-|bx|, d = 1 + e:
 * bx >= 0: (d + bx e) / d^2;  bx < 0: e (d + bx) / d^2 (one division; the
 * second form on e scaled by 2^64, as the forward), from es =
 * fa_swish_es(bx, bxl). */
FA_INLINE FA_T FN(fa_swish_dfin)(FA_T es, FA_T bx)
{
    FA_T e = es * FA_TWO_M64;
    FA_T d = FA_C(1.0) + e;
    FA_T bxs = es == FA_C(0.0) ? FA_C(0.0) : bx;    /* +-inf: the limits */
    int pos = bx >= FA_C(0.0);
    FA_T num = pos ? FN(fa_mad)(bxs, e, d) : es * (d + bxs);
    FA_T den = (d * d) * (pos ? FA_C(1.0) : FA_TWO_64);
    return num / den;
}
FA_INLINE FA_T FN(fa_silu_fwd)(FA_T x, const FA_T *p) { (void)p; return FN(fa_swish_core_w)(x, x, FA_C(0.0)); }
FA_INLINE FA_T FN(fa_silu_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    return g * FN(fa_swish_dfin)(FN(fa_swish_es)(x, FA_C(0.0)), x);
}
/* swish in stages (FA_STAGED): b x (a = bx, b = bxl), then a = es =
 * fa_swish_es(bx, bxl), b = bx (fa_swish_st2), then the end.  Staged
 * loops (fa_kernels.h) for swish but not silu, whose chain is short (b x
 * exact, no two-product): float32 1e5 in L2, staged / fused: swish
 * 1.13-1.22x, silu 0.91-1.05x */
FA_INLINE void FN(fa_swish_st2)(FA_T x, const FA_T *p, FA_T *a, FA_T *b)
{
    (void)x; (void)p;
    FA_T bx = *a;
    *a = FN(fa_swish_es)(bx, *b);
    *b = bx;
}
/* x es (es <= 2^64) overflows for |x| > 2^(emax - 64): beta x can still be
 * moderate there (swish(-1e30, beta=1e-30) in float32), so such x is
 * scaled by 2^-64 and the result back (both exact: the result is below
 * |x|, the scaled x normal) */
#if FA_DOUBLE
#define FA_SWISH_BIG 0x1p958
#else
#define FA_SWISH_BIG 0x1p62f
#endif
FA_INLINE FA_T FN(fa_swish_fwd3)(FA_T x, FA_T a, FA_T b, const FA_T *p)
{
    (void)p;
    int big = FN(fa_abs)(x) > FA_SWISH_BIG;
    FA_T r = FN(fa_swish_fin)(big ? x * FA_TWO_M64 : x, a, b);
    return big ? r * FA_TWO_64 : r;
}
#undef FA_SWISH_BIG
/* p[0] = beta */
FA_INLINE void FN(fa_swish_st1)(FA_T x, const FA_T *p, FA_T *a, FA_T *b) { FN(fa_scaled_arg)(x, p[0], a, b); }
FA_INLINE FA_T FN(fa_swish_bx3)(FA_T g, FA_T x, FA_T a, FA_T b, const FA_T *p)
{
    (void)p;
    return g * FN(fa_nanpass)(x, FN(fa_swish_dfin)(a, b));
}
FA_STAGED(swish)

/* --------------------------------------------------------------- gelu */
/* erf form: x Phi(x), Phi from fa_erf_impl.h (vectorized, relative accuracy
 * in the lower tail).  For x < 0 the product is formed on Phi * 2^64 and
 * scaled back once (results reach the subnormals near x = -38).  The float
 * kernels use the float evaluation fa_phi_rat_ff. */
#if FA_DOUBLE
FA_INLINE double fa_gelu_fwd_d(double x, const double *p)
{
    (void)p;
    double ph = fa_phi_k_d(x, 64);                   /* Phi 2^64 */
    double xs = ph == 0.0 ? 0.0 : x;                 /* -inf * 0 -> -0 */
    double y = x < 0.0 ? (xs * ph) * 0x1p-64 : x * (ph * 0x1p-64);
    /* below -38.5801..., |x Phi(x)| < 2^-1075 rounds to -0; Phi's argument
     * is clamped at -38.6, so x Phi(-38.6) would not (-1e300: -3e-26) */
    return x < -38.59 ? -0.0 : y;
}
/* Phi(x) + x phi(x) */
FA_INLINE double fa_gelu_bx_d(double g, double x, const double *p)
{
    (void)p;
    double ph = fa_phi_k_d(x, 64);                   /* both scaled by 2^64 */
    double pd = fa_npdf_s64_d(x);
    double d = fa_mad_d(x, pd, ph) * 0x1p-64;
    double lim = x > 0.0 ? 1.0 : 0.0;
    return g * (fa_abs_d(x) > 40.0 ? fa_nanpass_d(x, lim) : d);
}
/* tanh form: 0.5x(1 + tanh(u)) = x sigmoid(2u), u = c(x + k x^3), with the
 * float64 constants c = sqrt(2/pi), k = 0.044715.  2u is formed in
 * double-word arithmetic (the exponential amplifies its rounding error by
 * |2u|, up to ~700), then sigmoid of the double-word argument. */
FA_INLINE void fa_gelu_tanh_arg_d(double x, double *uh, double *ul)
{
    const double k = 0.044715, c2 = 2.0 * 0x1.9884533d43651p-1;
    double x2h, x2l, x3h, x3l, kh, kl, ah, al, vh, vl;
    fa_two_prod_d(x, x, &x2h, &x2l);
    fa_two_prod_d(x2h, x, &x3h, &x3l);
    x3l = fa_mad_d(x2l, x, x3l);
    fa_two_prod_d(k, x3h, &kh, &kl);
    kl = fa_mad_d(k, x3l, kl);
    fa_two_sum_d(x, kh, &ah, &al);
    al += kl;
    fa_two_prod_d(c2, ah, &vh, &vl);
    vl = fa_mad_d(c2, al, vl);
    /* where x^3 overflows the low parts are NaN/inf: drop them */
    int fin = fa_abs_d(x) < 1e100;
    *uh = fin ? vh : x;
    *ul = fin ? vl : 0.0;
}
/* the end of the forward from es = e^-|2u| 2^64 and uh (fa_gelu_tanh_st2) */
FA_INLINE double fa_gelu_tanh_fwd3_d(double x, double es, double uh, const double *p)
{
    (void)p;
    double d = 1.0 + es * 0x1p-64;
    double xs = fa_finite_lo_d(x);
    double neg = ((xs * es) / d) * 0x1p-64;
    return uh >= 0.0 ? x / d : neg;
}
/* d/dx x sigmoid(2u) = s + x s sm (2u)',  (2u)' = 2c (1 + 3k x^2) */
FA_INLINE double fa_gelu_tanh_bx3_d(double g, double x, double es, double uh, const double *p)
{
    (void)p;
    const double k3 = 3.0 * 0.044715, c2 = 2.0 * 0x1.9884533d43651p-1;
    double e = es * 0x1p-64;
    double d = 1.0 + e;
    double du = c2 * fa_mad_d(k3 * x, x, 1.0);
    /* s + x s sm du with s = 1/d, sm = e/d (uh >= 0) or s = e/d, sm = 1/d;
     * x du is finite below |x| = 1e10, where r is used */
    double pos = fa_mad_d(x * (e / d), du, 1.0) / d;
    double neg = ((es / d) * fa_mad_d(x * du, 1.0 / d, 1.0)) * 0x1p-64;
    double r = uh >= 0.0 ? pos : neg;
    double lim = x > 0.0 ? 1.0 : 0.0;
    return g * (fa_abs_d(x) > 1e10 ? fa_nanpass_d(x, lim) : r);
}
#else
/* |x| clamped to 15, as an unsigned-integer min on the bits (a float
 * select on a constant lets GCC 12 specialize every later operation on
 * both sides and blend them all); NaN becomes 15 too, so the callers
 * restore it.  Beyond 15, gelu is x or -0 and its derivative 1 or -0 in
 * float, which the clamped formulas give. */
FA_INLINE float fa_gelu_abs_f(float x)
{
    const uint32_t m = fa_bits_f(FA_PHI_AMAX_F);
    uint32_t b = fa_bits_f(x) & 0x7fffffffu;
    return fa_from_bits_f(b < m ? b : m);
}
/* 2^(n+64) v for v >= 2^-60 normal and n + 64 in [-99, 64]: exact, an
 * integer add on the exponent field */
FA_INLINE float fa_gelu_scale_f(float v, int32_t n)
{
    return fa_from_bits_f(fa_bits_f(v) + ((uint32_t)(n + 64) << 23));
}
FA_INLINE float fa_gelu_fwd_f(float x, const float *p)
{
    (void)p;
    float a = fa_gelu_abs_f(x), Q, e, r;
    int32_t n;
    float P = fa_phi_rat_ff(a, &Q, &e, &r, &n);
    /* a Ps (1 + e r), Ps = P 2^(n+64): a Ps is exact inside the FMA, only
     * the term (N e) r, at most 0.41 of the sum, carries its roundings */
    float Ps = fa_gelu_scale_f(P, n);
    float N = a * Ps;
    float M = fa_mad_f(a, Ps, (N * e) * r) / Q;          /* a Phi(-a) 2^64 */
    /* x <= 0 (or -0): -M 2^-64 (x Phi(x), a signed 0 where it underflows);
     * else x - M 2^-64; NaN stays NaN (a max in x86 operand order) */
    float xp = -0.0f > x ? -0.0f : x;
    return fa_mad_f(M, -0x1p-64f, xp);
}
/* Phi(x) + x phi(x), phi = e^(-x^2/2) / sqrt(2 pi), one exponential:
 * x <= 0: D = Phi(-a) - a phi(a) = e^(-a^2/2) (G - a c);  x > 0: 1 - D */
FA_INLINE float fa_gelu_bx_f(float g, float x, const float *p)
{
    (void)p;
    const float c = (float)0x1.9884533d43651p-2;         /* 1/sqrt(2 pi) */
    float a = fa_gelu_abs_f(x), Q, e, r;
    int32_t n;
    float P = fa_phi_rat_ff(a, &Q, &e, &r, &n);
    float H = fa_mad_f(-a, c, P / Q);                    /* G - a c */
    float D = fa_mad_f(H * e, r, H) * fa_from_bits_f((uint32_t)(n + 64 + 127) << 23);
    int neg = x <= 0.0f;
    float d = fa_mad_f(D, neg ? 0x1p-64f : -0x1p-64f, neg ? 0.0f : 1.0f);
    return g * fa_nanpass_f(x, d);
}
/* float: 2u in float-float arithmetic (the float64 constants as float
 * pairs), then x sigmoid(2u) on float lanes as for swish */
#define FA_GT_KH ((float)0.044715)
#define FA_GT_KL ((float)(0.044715 - (double)(float)0.044715))
#define FA_GT_CH ((float)(2.0 * 0x1.9884533d43651p-1))
#define FA_GT_CL ((float)(2.0 * 0x1.9884533d43651p-1 - (double)(float)(2.0 * 0x1.9884533d43651p-1)))
FA_INLINE void fa_gelu_tanh_arg_f(float x, float *uh, float *ul)
{
    float x2h, x2l, x3h, x3l, qh, ql, ah, al, vh, vl;
    fa_two_prod_f(x, x, &x2h, &x2l);
    fa_two_prod_f(x2h, x, &x3h, &x3l);
    x3l = fa_mad_f(x2l, x, x3l);
    fa_two_prod_f(FA_GT_KH, x3h, &qh, &ql);
    ql = fa_mad_f(FA_GT_KH, x3l, fa_mad_f(FA_GT_KL, x3h, ql));
    fa_two_sum_f(x, qh, &ah, &al);
    al += ql;
    fa_two_prod_f(FA_GT_CH, ah, &vh, &vl);
    vl = fa_mad_f(FA_GT_CH, al, fa_mad_f(FA_GT_CL, ah, vl));
    int fin = fa_abs_f(x) < 1e11f;               /* x^3 overflows beyond */
    *uh = fin ? vh : x;
    *ul = fin ? vl : 0.0f;
}
FA_INLINE float fa_gelu_tanh_fwd3_f(float x, float es, float uh, const float *p)
{
    (void)p;
    return fa_swish_fin_f(x, es, uh);
}
/* s + x s sm (2u)',  (2u)' = 2c (1 + 3k x^2); e scaled by 2^64 for 2u < 0 */
FA_INLINE float fa_gelu_tanh_bx3_f(float g, float x, float es, float uh, const float *p)
{
    (void)p;
    const float k3 = (float)(3.0 * 0.044715), c2 = FA_GT_CH;
    float e = es * 0x1p-64f;
    float d = 1.0f + e;
    float rd = 1.0f / d;
    float du = c2 * fa_mad_f(k3 * x, x, 1.0f);
    int pos = uh >= 0.0f;
    float s = pos ? rd : es * rd;                /* sigmoid(2u) (2^64 if 2u < 0) */
    float sm = pos ? e * rd : rd;
    /* x du is finite below |x| = 1e10, where r is used */
    float r = (s * fa_mad_f(x * du, sm, 1.0f)) * (pos ? 1.0f : 0x1p-64f);
    float lim = x > 0.0f ? 1.0f : 0.0f;
    return g * (fa_abs_f(x) > 1e10f ? fa_nanpass_f(x, lim) : r);
}
#endif
/* gelu_tanh in the three stages of a staged loop (fa_kernels.h): 2u in
 * double-word arithmetic (a = uh, b = ul), then es = e^-|2u| 2^64 (a = es,
 * b = uh), then the function or its derivative.  Each stage alone is a
 * short chain: the fused form's chain of some 60 vector operations held
 * only a few iterations in the out-of-order window (float32, 1e5 elements
 * in L2, AVX-512: 39 -> 29 us staged, the same bits). */
FA_INLINE void FN(fa_gelu_tanh_st1)(FA_T x, const FA_T *p, FA_T *a, FA_T *b)
{
    (void)p;
    FN(fa_gelu_tanh_arg)(x, a, b);
}
FA_INLINE void FN(fa_gelu_tanh_st2)(FA_T x, const FA_T *p, FA_T *a, FA_T *b)
{
    FN(fa_swish_st2)(x, p, a, b);
}
FA_STAGED(gelu_tanh)

/* --------------------------------------------------------------- mish */
/* tanh(softplus(x)) = n / (n + 2) with e = e^x, n = e (e + 2): no
 * overflow (x clamped where the ratio is 1), no cancellation. */
#if FA_DOUBLE
#define FA_MISH_CLAMP 20.0
#else
#define FA_MISH_CLAMP 15.0f
#endif
/* computed on e scaled by 2^64 (see fa_swish_core) */
FA_INLINE FA_T FN(fa_mish_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
    FA_T xc = x > FA_MISH_CLAMP ? FA_MISH_CLAMP : x;
    FA_T es = FN(fa_exp2w_s64)(xc, FA_C(0.0));
    FA_T e = es * FA_TWO_M64;
    FA_T ns = FN(fa_mad)(es, e, es + es);                /* n 2^64, one rounding */
    FA_T ts = ns / FN(fa_mad)(ns, FA_TWO_M64, FA_C(2.0));  /* t 2^64 */
    FA_T xs = FN(fa_finite_lo)(x);              /* mish(-inf) = -0 */
    /* x >= 0: t >= 0.6, scale t back first (x * t 2^64 could overflow) */
    return x >= FA_C(0.0) ? x * (ts * FA_TWO_M64) : (xs * ts) * FA_TWO_M64;
}
/* mish' = t + x sech^2(sp) sigmoid(x), sech^2(sp) = 4(n+1)/(n+2)^2 */
FA_INLINE FA_T FN(fa_mish_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    FA_T xc = x > FA_MISH_CLAMP ? FA_MISH_CLAMP : x;
    FA_T es = FN(fa_exp2w_s64)(xc, FA_C(0.0));
    FA_T e = es * FA_TWO_M64;
    FA_T n = FN(fa_mad)(e, e, e + e);
    FA_T n2 = n + FA_C(2.0);
    FA_T ts = FN(fa_mad)(es, e, es + es) / n2;
    FA_T sech2 = (FA_C(4.0) * (n + FA_C(1.0))) / (n2 * n2);
    FA_T sigs = es / (FA_C(1.0) + e);
    /* x * 0 where es is 0: -0 (x = -inf: below) */
    FA_T r = FN(fa_mad)(x, sech2 * sigs, ts) * FA_TWO_M64;
    /* above the clamp mish' = 1 + x 4 e^-2x (...) rounds to 1 */
    r = x > FA_MISH_CLAMP ? FA_C(1.0) : r;
    return g * (x == -(FA_T)INFINITY ? FA_C(0.0) : r);
}
#undef FA_MISH_CLAMP

/* ----------------------------------------------------------- softplus */
/* p[0] = beta (> 0), p[1] = threshold.  max(z,0) + log1p(e^-|z|), z = bx */
/* z + zl = beta x exactly (beta > 0, checked by the API) */
FA_INLINE void FN(fa_prod_w)(FA_T b, FA_T x, FA_T *z, FA_T *zl)
{
    FA_T l;
    FN(fa_two_prod)(b, x, z, &l);
    *zl = FN(fa_abs)(l) < (FA_T)INFINITY ? l : FA_C(0.0);
}
FA_INLINE FA_T FN(fa_softplus_fwd)(FA_T x, const FA_T *p)
{
    FA_T z, zl;
    FN(fa_prod_w)(p[0], x, &z, &zl);
    FA_T e = FN(fa_exp_negabs)(z, zl);
    FA_T m = z > FA_C(0.0) ? z : FA_C(0.0);
    FA_T sp = (m + FN(fa_log1p_01)(e)) / p[0];
    return z > p[1] ? x : sp;
}
FA_INLINE FA_T FN(fa_softplus_bx)(FA_T g, FA_T x, const FA_T *p)
{
    FA_T z, zl;
    FN(fa_prod_w)(p[0], x, &z, &zl);
    FA_T e = FN(fa_exp2w)(-FN(fa_abs)(z), FN(fa_neg_lo)(zl, z));
    FA_T s = (z >= FA_C(0.0) ? FA_C(1.0) : e) / (FA_C(1.0) + e);
    return z > p[1] ? g : g * s;
}
/* sigmoid(beta x) = 1 - e^(-beta y); 1 on the threshold branch (y = x
 * there).  Within about e^-threshold relative below threshold / beta the two
 * branches cannot be told apart from y: float64 gives 1 there. */
FA_INLINE FA_T FN(fa_softplus_by)(FA_T g, FA_T y, const FA_T *p)
{
    FA_T z = p[0] * y;
    return z > p[1] ? g : g * -FN(fa_expm1)(-z);
}

/* ----------------------------------------------------------- softsign */
/* |x| <= 1: x / (1 + |x|); beyond: sign(x) (1 - 1/(1 + |x|)), which is
 * monotone under rounding (x / fl(1 + |x|) is not near 2^53) and gives
 * +-1 at +-inf.  The two quotients share their divisor: one division, of
 * |x| or of 1 (a NaN x: NaN / NaN). */
FA_INLINE FA_T FN(fa_softsign_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
    FA_T ax = FN(fa_abs)(x);
    int big = ax > FA_C(1.0);
    FA_T q = FN(fa_pick)(big, FA_C(1.0), ax) / (FA_C(1.0) + ax);
    return FN(fa_copysign)(big ? FA_C(1.0) - q : q, x);
}
FA_INLINE FA_T FN(fa_softsign_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    FA_T d = FA_C(1.0) + FN(fa_abs)(x);
    return (g / d) / d;
}
/* 1 / (1 + |x|) = 1 - |y| (absolute error ~eps where |y| nears 1) */
FA_INLINE FA_T FN(fa_softsign_by)(FA_T g, FA_T y, const FA_T *p)
{
    (void)p;
    FA_T d = FA_C(1.0) - FN(fa_abs)(y);
    return (g * d) * d;
}

/* ------------------------------------------------------- hard_sigmoid */
/* p[0] = slope, p[1] = offset.  No FMA: slope*x + offset is rounded twice
 * on every ISA, so hard_sigmoid(+-3) is exactly 1 / 0 with the defaults. */
FA_INLINE FA_T FN(fa_hard_sigmoid_fwd)(FA_T x, const FA_T *p)
{
    FA_T v = (p[0] == FA_C(0.0) ? FA_C(0.0) * (x != x ? x : FA_C(1.0)) : p[0] * x) + p[1];
    return v != v ? v : FN(fa_clamp0)(v, FA_C(1.0));
}
/* slope strictly between the kinks, decided on x as torch does (-3 < x < 3
 * for the defaults); the kinks -offset/slope and (1-offset)/slope are
 * correctly rounded quotients, loop-invariant */
FA_INLINE FA_T FN(fa_hard_sigmoid_bx)(FA_T g, FA_T x, const FA_T *p)
{
    FA_T k0 = -p[1] / p[0], k1 = (FA_C(1.0) - p[1]) / p[0];
    FA_T lo = k0 < k1 ? k0 : k1, hi = k0 < k1 ? k1 : k0;
    FA_T d = (x > lo) & (x < hi) ? p[0] : FA_C(0.0);
    d = p[0] == FA_C(0.0) ? FA_C(0.0) : d;
    return g * FN(fa_nanpass)(x, d);
}
/* slope where the output is strictly inside (0, 1) */
FA_INLINE FA_T FN(fa_hard_sigmoid_by)(FA_T g, FA_T y, const FA_T *p)
{
    FA_T d = (y > FA_C(0.0)) & (y < FA_C(1.0)) ? p[0] : FA_C(0.0);
    return g * FN(fa_nanpass)(y, d);
}

/* --------------------------------------------------------- hard_swish */
/* x * hard_sigmoid(x) with slope 1/6, offset 1/2 (torch's hardswish) */
FA_INLINE FA_T FN(fa_hard_swish_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
    const FA_T slope = (FA_T)(1.0 / 6.0);
    FA_T v = FN(fa_clamp0)(slope * x + FA_C(0.5), FA_C(1.0));
    /* x = -inf: -max * 0 = -0 (the limit); NaN: xc is NaN */
    FA_T xc = x < -FA_MAXV ? -FA_MAXV : x;
    return xc * v;
}
FA_INLINE FA_T FN(fa_hard_swish_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    const FA_T slope = (FA_T)(1.0 / 6.0);
    /* torch: 0 for x <= -3, x/3 + 1/2 strictly inside, 1 for x >= 3 */
    FA_T mid = (slope + slope) * x + FA_C(0.5);
    FA_T d = x <= FA_C(-3.0) ? FA_C(0.0) : (x < FA_C(3.0) ? mid : FA_C(1.0));
    return g * FN(fa_nanpass)(x, d);
}

/* ------------------------------------------------------- squared_relu */
/* relu(x)^2 (So et al. 2021, Primer): one rounding */
FA_INLINE FA_T FN(fa_squared_relu_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
    return x < FA_C(0.0) ? FA_C(0.0) : x * x;
}
/* g * 2x: where 2x overflows but x is finite, (g x) 2 instead (g = 0 must
 * give 0 there, not 0 * inf) */
FA_INLINE FA_T FN(fa_squared_relu_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    FA_T d = x > FA_C(0.0) ? x : FA_C(0.0);
    FA_T r = g * (d + d);
    FA_T big = (g * d) * FA_C(2.0);
    r = (d + d == (FA_T)INFINITY) & (d < (FA_T)INFINITY) ? big : r;
    return FN(fa_nanpass)(x, r);
}
/* 2 sqrt(y): correctly rounded from the rounded y (within ~1 ulp of 2x);
 * where x^2 overflowed (y = inf) it is inf */
FA_INLINE FA_T FN(fa_squared_relu_by)(FA_T g, FA_T y, const FA_T *p)
{
    (void)p;
    FA_T r = FN(fa_sqrt)(y > FA_C(0.0) ? y : FA_C(0.0));
    return g * FN(fa_nanpass)(y, r + r);
}

/* ------------------------------------------ sparse_plus / sparse_sigmoid */
/* jax.nn: 0 for x <= -1, (x + 1)^2 / 4 on (-1, 1), x for x >= 1; its
 * derivative is sparse_sigmoid: 0, (x + 1) / 2, 1 */
FA_INLINE FA_T FN(fa_sparse_plus_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
    FA_T h = (x + FA_C(1.0)) * FA_C(0.5);
    FA_T mid = h * h;
    return x <= FA_C(-1.0) ? FA_C(0.0) : (x >= FA_C(1.0) ? x : mid);
}
FA_INLINE FA_T FN(fa_sparse_sigmoid_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
    FA_T mid = (x + FA_C(1.0)) * FA_C(0.5);
    return x <= FA_C(-1.0) ? FA_C(0.0) : (x >= FA_C(1.0) ? FA_C(1.0) : mid);
}
FA_INLINE FA_T FN(fa_sparse_plus_bx)(FA_T g, FA_T x, const FA_T *p)
{
    return g * FN(fa_sparse_sigmoid_fwd)(x, p);
}
/* 1/2 strictly inside (-1, 1), 0 elsewhere (jax's gradient at the kinks) */
FA_INLINE FA_T FN(fa_sparse_sigmoid_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    FA_T d = (x > FA_C(-1.0)) & (x < FA_C(1.0)) ? FA_C(0.5) : FA_C(0.0);
    return g * FN(fa_nanpass)(x, d);
}

/* ---------------------------------------------------------- hard_tanh */
/* p[0] = min_val, p[1] = max_val; relu6's kernel too (0, 6).  With the
 * bounds in registers GCC 12 turns the two selects into vmaxps / vminps;
 * with literal bounds it made a chain of masked compares and blends
 * (float32 relu6 at 1e5 on data in L2: 8.6 us, hard_tanh 6.3 us) */
FA_INLINE FA_T FN(fa_hard_tanh_fwd)(FA_T x, const FA_T *p)
{
    FA_T t = x < p[0] ? p[0] : x;
    return t > p[1] ? p[1] : t;
}
FA_INLINE FA_T FN(fa_hard_tanh_bx)(FA_T g, FA_T x, const FA_T *p)
{
    FA_T d = (x > p[0]) & (x < p[1]) ? FA_C(1.0) : FA_C(0.0);
    return g * FN(fa_nanpass)(x, d);
}
/* y = clip(x) lies strictly inside (min_val, max_val) exactly where x does */
FA_INLINE FA_T FN(fa_hard_tanh_by)(FA_T g, FA_T y, const FA_T *p)
{
    return FN(fa_hard_tanh_bx)(g, y, p);
}

/* --------------------------------------------------- soft/hard shrink */
/* p[0] = lambd */
FA_INLINE FA_T FN(fa_softshrink_fwd)(FA_T x, const FA_T *p)
{
    FA_T l = p[0];
    FA_T s = x > l ? x - l : x + l;
    return (x >= -l) & (x <= l) ? FA_C(0.0) : s;
}
FA_INLINE FA_T FN(fa_shrink_d)(FA_T x, FA_T l)
{
    return FN(fa_nanpass)(x, (x >= -l) & (x <= l) ? FA_C(0.0) : FA_C(1.0));
}
FA_INLINE FA_T FN(fa_softshrink_bx)(FA_T g, FA_T x, const FA_T *p) { return g * FN(fa_shrink_d)(x, p[0]); }
FA_INLINE FA_T FN(fa_hardshrink_fwd)(FA_T x, const FA_T *p)
{
    FA_T l = p[0];
    return (x >= -l) & (x <= l) ? FA_C(0.0) : x;
}
FA_INLINE FA_T FN(fa_hardshrink_bx)(FA_T g, FA_T x, const FA_T *p) { return g * FN(fa_shrink_d)(x, p[0]); }

/* --------------------------------------------------------- tanhshrink */
/* x - tanh x.  |x| <= 1: Lambert's continued fraction,
 *   x - tanh x = x^3 M / (N + x^2 M),  N/M = 3 + x^2/(5 + x^2/(7 + ...)),
 * evaluated bottom-up without divisions (all terms positive: stable, no
 * cancellation; truncation < 2e-9 float with 5 levels, < 3e-19 double with
 * 9).  |x| > 1: (|x| - 1) + 2/(1 + e^2|x|), a sum of two non-negative
 * terms.  Odd: the sign is copied from x. */
FA_INLINE FA_T FN(fa_tanhshrink_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
#if FA_DOUBLE
    const int levels = 9;
#else
    const int levels = 5;
#endif
    FA_T ax = FN(fa_abs)(x);
    FA_T as = ax > FA_C(1.0) ? FA_C(1.0) : ax;
    FA_T x2 = as * as;
    FA_T N = (FA_T)(2 * levels + 1), M = FA_C(1.0);
    for (int j = levels - 1; j >= 1; j--) {
        FA_T Nn = FN(fa_mad)((FA_T)(2 * j + 1), N, x2 * M);
        M = N;
        N = Nn;
    }
    /* 2/(1 + e^2|x|) = 2e/(1 + e), e = e^-2|x| (0 where it would not be
     * a normal number, far below an ulp of |x| - 1); one division for
     * both branches */
#if FA_DOUBLE
    FA_T e = FN(fa_exp_k)(-(ax + ax), FA_C(0.0), 0, -708.0, (FA_T)INFINITY, 0);
#else
    FA_T e = FN(fa_exp_k)(-(ax + ax), FA_C(0.0), 0, -87.0f, (FA_T)INFINITY, 0);
#endif
    int big = ax > FA_C(1.0);
    /* x^3 M with x^2 exact (two-product): one rounding where there were
     * three (float, over every input: 4.1 -> 3.5 ulp at the avx2 level) */
    FA_T aM = as * M;
    FA_T x3M = FN(fa_mad)(x2, aM, FN(fa_mad)(as, as, -x2) * aM);
    FA_T q = FN(fa_pick)(big, e + e, x3M) /
             FN(fa_pick)(big, FA_C(1.0) + e, FN(fa_mad)(x2, M, N));
    FA_T r = big ? (ax - FA_C(1.0)) + q : q;
    r = x != x ? x : r;
    return FN(fa_copysign)(r, x);
}
FA_INLINE FA_T FN(fa_tanhshrink_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    FA_T t = FN(fa_tanh)(x);
    return g * (t * t);
}

/* ---------------------------------------------------------- threshold */
/* p[0] = threshold, p[1] = value.  As the formula reads: x > threshold
 * decides, so a NaN threshold gives value (derivative 0); a NaN x gives NaN */
FA_INLINE FA_T FN(fa_threshold_fwd)(FA_T x, const FA_T *p) { return (x > p[0]) | (x != x) ? x : p[1]; }
FA_INLINE FA_T FN(fa_threshold_bx)(FA_T g, FA_T x, const FA_T *p)
{
    return g * FN(fa_nanpass)(x, x > p[0] ? FA_C(1.0) : FA_C(0.0));
}

/* -------------------------------------------------------- binary_step */
FA_INLINE FA_T FN(fa_binary_step_fwd)(FA_T x, const FA_T *p)
{
    (void)p;
    return x >= FA_C(0.0) ? FA_C(1.0) : (x < FA_C(0.0) ? FA_C(0.0) : x);
}
FA_INLINE FA_T FN(fa_binary_step_bx)(FA_T g, FA_T x, const FA_T *p)
{
    (void)p;
    return g * FN(fa_nanpass)(x, FA_C(0.0));
}

/* --------------------------------------------------------- squareplus */
/* p[0] = b (>= 0).  s = sqrt(x^2 + b) with one square root: |x| and b are
 * scaled by a power of two (exact) where x^2 or b would overflow (|x| >
 * 2^60 / 2^500, b > 2^120 / 2^1000) or where x^2 would underflow below a
 * b too small to absorb it (|x| < 2^-60 / 2^-500 and b < 2^-120 /
 * 2^-1000; b = 0 included), and s scaled back (x >= 2^-149 / 2^-1074
 * squares to a normal number after the scaling up).  x >= 0: x/2 + s/2;
 * x < 0: (b/4) / (s/2 + |x|/2) (no cancellation, no overflow). */
#if FA_DOUBLE
#define FA_SQP_BIG 0x1p500
#define FA_SQP_SMALL 0x1p-500
#define FA_SQP_DN 0x1p-520
#define FA_SQP_UP 0x1p563
#else
#define FA_SQP_BIG 0x1p60f
#define FA_SQP_SMALL 0x1p-60f
#define FA_SQP_DN 0x1p-66f
#define FA_SQP_UP 0x1p90f
#endif
FA_INLINE FA_T FN(fa_squareplus_s)(FA_T ax, FA_T b)
{
    int dn = (ax > FA_SQP_BIG) | (b > FA_SQP_BIG * FA_SQP_BIG);
    int up = (ax < FA_SQP_SMALL) & (b < FA_SQP_SMALL * FA_SQP_SMALL);
    FA_T sc = dn ? FA_SQP_DN : (up ? FA_SQP_UP : FA_C(1.0));
    FA_T isc = dn ? FA_C(1.0) / FA_SQP_DN : (up ? FA_C(1.0) / FA_SQP_UP : FA_C(1.0));
    FA_T xs = ax * sc;
    return FN(fa_sqrt)(FN(fa_mad)(xs, xs, (b * sc) * sc)) * isc;
}
#undef FA_SQP_BIG
#undef FA_SQP_SMALL
#undef FA_SQP_DN
#undef FA_SQP_UP
FA_INLINE FA_T FN(fa_squareplus_fwd)(FA_T x, const FA_T *p)
{
    FA_T b = p[0], ax = FN(fa_abs)(x);
    FA_T s = FN(fa_squareplus_s)(ax, b);
    FA_T pos = FA_C(0.5) * x + FA_C(0.5) * s;
    FA_T neg = (FA_C(0.25) * b) / (FA_C(0.5) * s + FA_C(0.5) * ax);
    neg = b == FA_C(0.0) ? FA_C(0.0) : neg;     /* x = -2^-149: 0 / 0 */
    return x >= FA_C(0.0) ? pos : (x < FA_C(0.0) ? neg : x);
}
/* x >= 0: (1 + |x|/s)/2; x < 0: (1 + x/s)/2 = y/s.  |x|/s and y share
 * one division. */
FA_INLINE FA_T FN(fa_squareplus_bx)(FA_T g, FA_T x, const FA_T *p)
{
    FA_T b = p[0], ax = FN(fa_abs)(x);
    FA_T s = FN(fa_squareplus_s)(ax, b);
    int pos = x >= FA_C(0.0);
    FA_T q = FN(fa_pick)(pos, ax, FA_C(0.25) * b) /
             FN(fa_pick)(pos, s, FA_C(0.5) * s + FA_C(0.5) * ax);
    FA_T d = pos ? FA_C(0.5) + FA_C(0.5) * q : q / s;
    d = x == (FA_T)INFINITY ? FA_C(1.0) : d;    /* inf / inf */
    d = b == FA_C(0.0) && !pos ? FA_C(0.0) : d; /* x = -2^-149: 0 / 0 */
    d = s == FA_C(0.0) ? FA_C(0.5) : d;         /* b = 0, x = 0 */
    return g * FN(fa_nanpass)(x, d);
}

#undef FA_C
#undef FA_TWO_M64
#undef FA_TWO_64
#undef FA_MAXV
