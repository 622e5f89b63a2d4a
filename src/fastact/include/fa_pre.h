/*
 * fa_pre.h -- the fused pre-activation t = x * s + b (scale=, bias=) over a
 * short run of elements, for float32 (fa_pre_f) and float64 (fa_pre_d).
 * Shared by the elementwise loops (fa_kernels.h, fa_table.h: fa_pre_fn)
 * and the GLU family (fa_axis_impl.h), which are compiled in separate
 * translation units; each includes this once.
 *
 * The scale and the bias are periodic in the flat index: entry i of the
 * array is element (start + i) % period of s and b (a scalar: period 1,
 * kept in a register).  -ffp-contract=off keeps the product and the sum
 * two roundings, so a fused call equals the unfused composition bitwise.
 * A NULL s or b leaves that operation out (x + 0 would turn -0 into +0).
 * t may be x (in place).
 */
#ifndef FASTACT_PRE_H
#define FASTACT_PRE_H

#include <stddef.h>

#define FA_PRE_SIMD _Pragma("omp simd")

/* t = x * S + B over m elements, S and B the value expressions at i */
#define FA_PRE_LOOPS(has_s, has_b, S, B) \
    if (has_s && has_b) { FA_PRE_SIMD for (ptrdiff_t i = 0; i < m; i++) t[i] = x[i] * (S) + (B); } \
    else if (has_s)     { FA_PRE_SIMD for (ptrdiff_t i = 0; i < m; i++) t[i] = x[i] * (S); } \
    else                { FA_PRE_SIMD for (ptrdiff_t i = 0; i < m; i++) t[i] = x[i] + (B); }

#define FA_DEF_PRE(T, s) \
static inline void fa_pre_##s(const void *xv, void *tv, ptrdiff_t n, const void *sv, \
                              const void *bv, ptrdiff_t period, ptrdiff_t start) \
{ \
    const T *x = (const T *)xv; T *t = (T *)tv; \
    const T *s0 = (const T *)sv, *b0 = (const T *)bv; \
    if (period == 1) { \
        const T a = s0 ? s0[0] : (T)1, c = b0 ? b0[0] : (T)0; \
        ptrdiff_t m = n; \
        FA_PRE_LOOPS(s0, b0, a, c) \
        return; \
    } \
    ptrdiff_t j = start % period; \
    while (n > 0) { \
        ptrdiff_t m = period - j < n ? period - j : n; \
        const T *sc = s0 ? s0 + j : NULL, *bi = b0 ? b0 + j : NULL; \
        FA_PRE_LOOPS(sc, bi, sc[i], bi[i]) \
        x += m; t += m; n -= m; j = 0; \
    } \
}

FA_DEF_PRE(float, f)
FA_DEF_PRE(double, d)

#undef FA_DEF_PRE
#undef FA_PRE_LOOPS
#undef FA_PRE_SIMD

#endif
