/*
 * fa_kernels.h -- the contiguous loops of every elementwise kernel, for
 * float32 and float64, and the table that exports them.  Included by each
 * generated fastact/_kernels_<isa>.pyx; the module's compiler flags pick the
 * instruction set.  The kernel list (fa_list.h) is generated from
 * src/fastact/_spec.py at build time.
 *
 * Loops carry `omp simd` (built with -fopenmp-simd, no OpenMP runtime):
 * each iteration reads x[i] (and g[i]) and writes out[i] only, so in-place
 * calls (out == x or out == g) are safe and still vectorized.
 */
#ifndef FASTACT_KERNELS_H
#define FASTACT_KERNELS_H

#include "fa_table.h"
#include "fa_math.h"
#include "fa_list.h"
#include "fa_narrow.h"
#include "fa_prefetch.h"
#include "fa_stream.h"

#define FA_SIMD _Pragma("omp simd")

#define FA_LOAD_PARAMS(T) \
    T p[FA_MAXP]; \
    for (int k_ = 0; k_ < FA_MAXP; k_++) p[k_] = (T)pd[k_];

/* (unused where an intrinsics loop replaces it, below) */
#if defined(__GNUC__)
#define FA_MAYBE_UNUSED __attribute__((unused))
#else
#define FA_MAYBE_UNUSED
#endif

/* i over [0, n), the expression (...) stored at dst[i], the prefetch
 * statements PF (on the block starting at b) before each block of
 * FA_PF_STEP(T) elements (fa_prefetch.h).  FA_LOOP_W, every kernel's: the
 * whole blocks run a loop of a constant FA_PF_STEP(T) iterations (no
 * alignment peel, trip count or remainder per block), the remainder a loop
 * of its own.  The generic loop's set-up and tail per 256-byte block
 * (FA_LOOP_B) weigh as much as a cheap body (1e5 elements in L2, 1 thread:
 * 3-18% faster, float32 relu 4%, hard_swish 18%; float64 0-13%), and a few
 * percent of the exponential ones (sigmoid, elu, tanh, softplus, mish 2-10%,
 * silu float32 19%; pairwise against the per-block loops, the same arrays).
 * FA_LOOP_B stays for gelu's float64 loops (below).  The prefetches stay:
 * without them the streamed float32 forwards at 1.6e7 ran 4-11% slower
 * (benchmarks/ab_builds.py --cases cheap). */
#define FA_LOOP_B(T, n, dst, PF, ...) \
    FA_PF_BLOCKS(T, n, b, e) { \
        PF; \
        FA_SIMD for (ptrdiff_t i = b; i < e; i++) (dst)[i] = (__VA_ARGS__); \
    }
#define FA_LOOP_W(T, n, dst, PF, ...) { \
        ptrdiff_t b = 0; \
        for (; b + FA_PF_STEP(T) <= (n); b += FA_PF_STEP(T)) { \
            PF; \
            FA_SIMD for (ptrdiff_t i = b; i < b + FA_PF_STEP(T); i++) (dst)[i] = (__VA_ARGS__); \
        } \
        FA_SIMD for (ptrdiff_t i = b; i < (n); i++) (dst)[i] = (__VA_ARGS__); \
    }

/* fa_loop_NAME_fwd_S<sfx> in loop form `form` (W or B) */
#define FA_DEF_FWD(name, T, s, sfx, form) \
static FA_MAYBE_UNUSED void fa_loop_##name##_fwd_##s##sfx(const void *xv, void *yv, ptrdiff_t n, const double *pd) \
{ \
    const T *x = (const T *)xv; T *y = (T *)yv; \
    FA_LOAD_PARAMS(T) \
    FA_LOOP_##form(T, n, y, FA_PF_R(x + b); FA_PF_W(y + b), fa_##name##_fwd_##s(x[i], p)) \
}

#define FA_DEF_B(name, which, T, s, sfx, form) \
static FA_MAYBE_UNUSED void fa_loop_##name##_##which##_##s##sfx(const void *gv, const void *xv, void *ov, ptrdiff_t n, const double *pd) \
{ \
    const T *g = (const T *)gv; const T *x = (const T *)xv; T *o = (T *)ov; \
    FA_LOAD_PARAMS(T) \
    FA_LOOP_##form(T, n, o, FA_PF_R(g + b); FA_PF_R(x + b); FA_PF_W(o + b), \
                   fa_##name##_##which##_##s(g[i], x[i], p)) \
}

#define FA_DEF_BY_0(name)
#define FA_DEF_BY_1(name) FA_DEF_B(name, by, float, f, , W) FA_DEF_B(name, by, double, d, , W)
#define FA_PTR_BY_0(name, s) NULL
#define FA_PTR_BY_1(name, s) fa_loop_##name##_by_##s

#define FA_DEF_ALL(name, has_y) \
    FA_DEF_FWD(name, float, f, , W) FA_DEF_FWD(name, double, d, , W) \
    FA_DEF_B(name, bx, float, f, , W) FA_DEF_B(name, bx, double, d, , W) \
    FA_DEF_BY_##has_y(name)

FA_KERNELS(FA_DEF_ALL)

/* gelu's float64 body (Phi in double: some 190 vector operations) spills
 * in FA_LOOP_W's constant-count loop, which GCC unrolls and interleaves
 * (300 stack accesses against 12; 0.72-0.74x the per-block loop's speed):
 * its loops keep FA_LOOP_B. */
FA_DEF_FWD(gelu, double, d, _blk, B)
FA_DEF_B(gelu, bx, double, d, _blk, B)
#define fa_loop_gelu_fwd_d fa_loop_gelu_fwd_d_blk
#define fa_loop_gelu_bx_d fa_loop_gelu_bx_d_blk

/* Staged loops (fa_act_impl.h, FA_STAGED) take the place of the generic
 * ones for the kernels named below: each block of FA_ST_BYTES runs the
 * three stages as three loops, the two values between them in buffers on
 * the stack (in L1).  A kernel whose chain per vector is long (dozens of
 * dependent operations) keeps only a few iterations in flight in the
 * out-of-order window; a stage's chain is short, so many are.  The
 * arithmetic is the fused form's, so are the bits.  Blocks prefetch as the
 * generic loops do (fa_prefetch.h), each FA_PF_STEP of the block. */
#define FA_ST_BYTES 1024
#define FA_ST_LOOP(T, n, dst, PF, ST1, ST2, OUT) { \
    enum { B_ = FA_ST_BYTES / sizeof(T) }; \
    T a_[B_] __attribute__((aligned(64))), b_[B_] __attribute__((aligned(64))); \
    for (ptrdiff_t o_ = 0; o_ < (n); o_ += B_) { \
        const ptrdiff_t m_ = (n) - o_ < B_ ? (n) - o_ : B_; \
        for (ptrdiff_t b = o_; b < o_ + m_; b += FA_PF_STEP(T)) { PF; } \
        FA_SIMD for (ptrdiff_t i = o_; i < o_ + m_; i++) ST1(x[i], p, &a_[i - o_], &b_[i - o_]); \
        FA_SIMD for (ptrdiff_t i = o_; i < o_ + m_; i++) ST2(x[i], p, &a_[i - o_], &b_[i - o_]); \
        FA_SIMD for (ptrdiff_t i = o_; i < o_ + m_; i++) (dst)[i] = OUT; \
    } \
}
#define FA_DEF_STAGED1(name, T, s) \
static void fa_loop_##name##_fwd_##s##_st(const void *xv, void *yv, ptrdiff_t n, const double *pd) \
{ \
    const T *x = (const T *)xv; T *y = (T *)yv; \
    FA_LOAD_PARAMS(T) \
    FA_ST_LOOP(T, n, y, FA_PF_R(x + b); FA_PF_W(y + b), fa_##name##_st1_##s, fa_##name##_st2_##s, \
               fa_##name##_fwd3_##s(x[i], a_[i - o_], b_[i - o_], p)) \
} \
static void fa_loop_##name##_bx_##s##_st(const void *gv, const void *xv, void *ov, ptrdiff_t n, \
                                        const double *pd) \
{ \
    const T *g = (const T *)gv; const T *x = (const T *)xv; T *o = (T *)ov; \
    FA_LOAD_PARAMS(T) \
    FA_ST_LOOP(T, n, o, FA_PF_R(g + b); FA_PF_R(x + b); FA_PF_W(o + b), fa_##name##_st1_##s, \
               fa_##name##_st2_##s, fa_##name##_bx3_##s(g[i], x[i], a_[i - o_], b_[i - o_], p)) \
}
#define FA_DEF_STAGED(name) FA_DEF_STAGED1(name, float, f) FA_DEF_STAGED1(name, double, d)

FA_DEF_STAGED(gelu_tanh)
#define fa_loop_gelu_tanh_fwd_f fa_loop_gelu_tanh_fwd_f_st
#define fa_loop_gelu_tanh_fwd_d fa_loop_gelu_tanh_fwd_d_st
#define fa_loop_gelu_tanh_bx_f fa_loop_gelu_tanh_bx_f_st
#define fa_loop_gelu_tanh_bx_d fa_loop_gelu_tanh_bx_d_st
FA_DEF_STAGED(swish)
#define fa_loop_swish_fwd_f fa_loop_swish_fwd_f_st
#define fa_loop_swish_fwd_d fa_loop_swish_fwd_d_st
#define fa_loop_swish_bx_f fa_loop_swish_bx_f_st
#define fa_loop_swish_bx_d fa_loop_swish_bx_d_st

/* Loops written in AVX-512 intrinsics take the place of the generic ones
 * in the table below (the generic loop is then left unused). */
#if defined(__AVX512F__)
#include "fa_tabpoly_v16.h"
#define fa_loop_tanh_fwd_f fa_loop_tanh_fwd_f16
#define fa_loop_tanhshrink_fwd_f fa_loop_tanhshrink_fwd_f16
#endif

/* The fused pre-activation x * s + b (fa_table.h: fa_pre_fn): the scale and
 * the bias are periodic in the flat index (a scalar: period 1, kept in a
 * register).  -ffp-contract=off keeps the product and the sum two roundings,
 * so a fused call equals the unfused composition bitwise.  FA_PRE_LOOPS:
 * t = x * S + B over m elements, S and B the value expressions at i; a NULL
 * has_s / has_b leaves that operation out (x + 0 would turn -0 into +0);
 * x is read in prefetched blocks (fa_prefetch.h). */
#define FA_PRE_LOOPS(T, has_s, has_b, S, B) \
    FA_PF_BLOCKS(T, m, b_, e_) { \
        FA_PF_R(x + b_); \
        if (has_s && has_b) { FA_SIMD for (ptrdiff_t i = b_; i < e_; i++) t[i] = x[i] * (S) + (B); } \
        else if (has_s)     { FA_SIMD for (ptrdiff_t i = b_; i < e_; i++) t[i] = x[i] * (S); } \
        else                { FA_SIMD for (ptrdiff_t i = b_; i < e_; i++) t[i] = x[i] + (B); } \
    }

#define FA_DEF_PRE(T, s) \
static void fa_pre_##s(const void *xv, void *tv, ptrdiff_t n, const void *sv, const void *bv, \
                       ptrdiff_t period, ptrdiff_t start) \
{ \
    const T *x = (const T *)xv; T *t = (T *)tv; \
    const T *s0 = (const T *)sv, *b0 = (const T *)bv; \
    if (period == 1) { \
        const T a = s0 ? s0[0] : (T)1, c = b0 ? b0[0] : (T)0; \
        ptrdiff_t m = n; \
        FA_PRE_LOOPS(T, s0, b0, a, c) \
        return; \
    } \
    ptrdiff_t j = start % period; \
    while (n > 0) { \
        ptrdiff_t m = period - j < n ? period - j : n; \
        const T *sc = s0 ? s0 + j : NULL, *bi = b0 ? b0 + j : NULL; \
        FA_PRE_LOOPS(T, sc, bi, sc[i], bi[i]) \
        x += m; t += m; n -= m; j = 0; \
    } \
}

FA_DEF_PRE(float, f)
FA_DEF_PRE(double, d)

#define FA_NAME(name, has_y) #name,
#define FA_FWD(name, has_y) fa_loop_##name##_fwd_f, fa_loop_##name##_fwd_d,
#define FA_BX(name, has_y) fa_loop_##name##_bx_f, fa_loop_##name##_bx_d,
#define FA_BY(name, has_y) FA_PTR_BY_##has_y(name, f), FA_PTR_BY_##has_y(name, d),

static const char *const fa_names[] = { FA_KERNELS(FA_NAME) };
static const fa_unary_fn fa_fwd[] = { FA_KERNELS(FA_FWD) };
static const fa_binary_fn fa_bx[] = { FA_KERNELS(FA_BX) };
static const fa_binary_fn fa_by[] = { FA_KERNELS(FA_BY) };
static const fa_pre_fn fa_pre[] = { fa_pre_f, fa_pre_d };
FA_NARROW_TABLES

#ifndef FA_ISA_NAME
#define FA_ISA_NAME "unknown"
#endif

static const fa_table fa_the_table = {
    (int)(sizeof(fa_names) / sizeof(fa_names[0])),
    fa_names, fa_fwd, fa_bx, fa_by, fa_pre, fa_widen, fa_narrow, fa_stream_copy, FA_ISA_NAME
};

static const char fa_capsule_name[] = FA_CAPSULE_NAME;

static void *fa_kernel_table(void) { return (void *)&fa_the_table; }
static const char *fa_kernel_capsule_name(void) { return fa_capsule_name; }

#endif
