/*
 * fa_axis.h -- the along-axis kernels (softmax family, logsumexp, GLU
 * family; maxout, sparsemax, softmax_jacobian in fa_axis_extra_impl.h) for
 * float32 and float64, and the table that exports them.
 * Included by each generated fastact/_kernels_<isa>.pyx next to
 * fa_kernels.h; the module's flags pick the instruction set.  The driver
 * (threads, layouts, arguments) is fastact/_axis.pyx; the interface is
 * fa_axis_table.h.
 */
#ifndef FASTACT_AXIS_H
#define FASTACT_AXIS_H

#include <stdlib.h>
#include "fa_axis_table.h"
#include "fa_math.h"
#include "fa_prefetch.h"
#include "fa_stream.h"

/* elements per block of a row sum: lane-parallel sums in the vector lanes
 * (8 or 16), Kahan between blocks.  1024 rather than 256: the horizontal
 * reductions per block cost ~20% at 256; the row-sum error stays < 4 eps
 * (tests/test_axis.py::test_row_sums) */
#define FA_AX_BLK 1024

/* Sums over a block in 64-byte vector lanes with a pairwise horizontal
 * fold.  GCC finishes an `omp simd reduction(+)` with the lanes added one
 * after another through memory (16 dependent adds, ~60 cycles: most of the
 * cost of a row of 64 floats); here the fold is 4 shuffles and adds.  The
 * order depends only on n (not on the thread count). */
#if defined(__GNUC__) || defined(__clang__)
#define FA_AX_VEC 1
#if defined(__AVX__)
#include <immintrin.h>
#endif
/* The hot loops accumulate in vectors of the native width (FA_AX_NB
 * bytes; 64 / FA_AX_NB of them hold the 64 bytes of lanes): GCC lowers a
 * 64-byte vector on AVX2 or SSE through the stack, a store-forwarding
 * round trip per add (softmax_backward ran 2.5x slower than torch on an
 * AVX2 machine).  The lanes and their order are the same at every width. */
#if defined(__AVX512F__)
#define FA_AX_NB 64
#elif defined(__AVX__)
#define FA_AX_NB 32
#else
#define FA_AX_NB 16
#endif
typedef float fa_ax_nf __attribute__((vector_size(FA_AX_NB)));
typedef double fa_ax_nd __attribute__((vector_size(FA_AX_NB)));
typedef float fa_ax_vf __attribute__((vector_size(64), aligned(64)));
typedef double fa_ax_vd __attribute__((vector_size(64), aligned(64)));
typedef int32_t fa_ax_vfi __attribute__((vector_size(64)));
typedef int64_t fa_ax_vdi __attribute__((vector_size(64)));
#if defined(__clang__)
#define FA_AX_SHUF(v, m, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#else
#define FA_AX_SHUF(v, m, ...) __builtin_shuffle(v, (m){__VA_ARGS__})
#endif
static inline float fa_ax_fold_f(fa_ax_vf s)
{
    s += FA_AX_SHUF(s, fa_ax_vfi, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    s += FA_AX_SHUF(s, fa_ax_vfi, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
    s += FA_AX_SHUF(s, fa_ax_vfi, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    s += FA_AX_SHUF(s, fa_ax_vfi, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    return s[0];
}
static inline double fa_ax_fold_d(fa_ax_vd s)
{
    s += FA_AX_SHUF(s, fa_ax_vdi, 4, 5, 6, 7, 0, 1, 2, 3);
    s += FA_AX_SHUF(s, fa_ax_vdi, 2, 3, 0, 1, 6, 7, 4, 5);
    s += FA_AX_SHUF(s, fa_ax_vdi, 1, 0, 3, 2, 5, 4, 7, 6);
    return s[0];
}
/* a native vector's lanes folded pairwise, in fa_ax_fold's order (lanes k
 * and k + W/2 first, the lower lane the first operand), in registers: a
 * fold through an array on the stack cost a quarter of a short row's
 * backward (16384 rows of 64 floats) */
#if FA_AX_NB == 32
typedef int32_t fa_ax_nfi __attribute__((vector_size(32)));
typedef int64_t fa_ax_ndi __attribute__((vector_size(32)));
static inline float fa_ax_nfold1_f(fa_ax_nf s)
{
    s += FA_AX_SHUF(s, fa_ax_nfi, 4, 5, 6, 7, 0, 1, 2, 3);
    s += FA_AX_SHUF(s, fa_ax_nfi, 2, 3, 0, 1, 6, 7, 4, 5);
    s += FA_AX_SHUF(s, fa_ax_nfi, 1, 0, 3, 2, 5, 4, 7, 6);
    return s[0];
}
static inline double fa_ax_nfold1_d(fa_ax_nd s)
{
    s += FA_AX_SHUF(s, fa_ax_ndi, 2, 3, 0, 1);
    s += FA_AX_SHUF(s, fa_ax_ndi, 1, 0, 3, 2);
    return s[0];
}
#elif FA_AX_NB == 16
typedef int32_t fa_ax_nfi __attribute__((vector_size(16)));
typedef int64_t fa_ax_ndi __attribute__((vector_size(16)));
static inline float fa_ax_nfold1_f(fa_ax_nf s)
{
    s += FA_AX_SHUF(s, fa_ax_nfi, 2, 3, 0, 1);
    s += FA_AX_SHUF(s, fa_ax_nfi, 1, 0, 3, 2);
    return s[0];
}
static inline double fa_ax_nfold1_d(fa_ax_nd s)
{
    s += FA_AX_SHUF(s, fa_ax_ndi, 1, 0);
    return s[0];
}
#endif
#else
#define FA_AX_VEC 0
#endif

#define FA_T double
#define FA_I int64_t
#define FA_DOUBLE 1
#define FN(name) name##_d
#include "fa_axis_impl.h"
#include "fa_axis_extra_impl.h"
#undef FA_I
#undef FA_T
#undef FA_DOUBLE
#undef FN

#define FA_T float
#define FA_I int32_t
#define FA_DOUBLE 0
#define FN(name) name##_f
#include "fa_axis_impl.h"
#include "fa_axis_extra_impl.h"
#undef FA_I
#undef FA_T
#undef FA_DOUBLE
#undef FN

#define FA_AX_PAIR(name) fa_ax_##name##_f, fa_ax_##name##_d,
static const fa_ax_fn fa_ax_fns[2 * FA_AX_NOPS] = { FA_AX_OPS(FA_AX_PAIR) };
#undef FA_AX_PAIR
#define FA_AX_NAME(name) #name,
static const char *const fa_ax_names[FA_AX_NOPS] = { FA_AX_OPS(FA_AX_NAME) };
#undef FA_AX_NAME

#ifndef FA_ISA_NAME
#define FA_ISA_NAME "unknown"
#endif

static const fa_ax_table fa_ax_the_table = { FA_AX_NOPS, fa_ax_fns, FA_ISA_NAME, fa_ax_names };
static const char fa_ax_capsule_name[] = FA_AX_CAPSULE_NAME;

static void *fa_axis_table(void) { return (void *)&fa_ax_the_table; }
static const char *fa_axis_capsule_name(void) { return fa_ax_capsule_name; }

#endif
