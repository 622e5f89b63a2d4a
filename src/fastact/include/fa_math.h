/*
 * fa_math.h -- instantiates the generic math (fa_math_impl.h) and the
 * activation formulas (fa_act_impl.h) for double (suffix _d) and float
 * (suffix _f).  Included by every kernel module; each module is compiled
 * for one instruction-set level (see setup.py), so everything here is
 * static inline and carries no global state.
 */
#ifndef FASTACT_MATH_H
#define FASTACT_MATH_H

#include <stdint.h>
#include <string.h>
#include <math.h>

/* Every helper is force-inlined: the loops only vectorize when the whole
 * body is visible (GCC's heuristics otherwise keep some helpers out of line
 * and the loop stays scalar). */
#if defined(__GNUC__) || defined(__clang__)
#define FA_INLINE static inline __attribute__((always_inline))
#define FA_UNUSED __attribute__((unused))
#else
#define FA_INLINE static inline
#define FA_UNUSED
#endif

#if defined(__FMA__) || defined(__aarch64__) || defined(__ARM_FEATURE_FMA)
#define FA_HAS_FMA 1
#else
#define FA_HAS_FMA 0
#endif

/* The float32 exponential's constants (fa_math_impl.h: the Cody-Waite
 * reduction and q = r + r^2 P(r), P of degree 4), named once here: the
 * AVX-512 softmax loop's table form (fa_axis_impl.h, fa_ax_expt_v16)
 * reduces by the same constants over 16. */
#define FA_EXPF_MAGIC 0x1.8p23f
#define FA_EXPF_LOG2E 0x1.715476p0f
#define FA_EXPF_LN2_HI 0x1.62e4p-1f
#define FA_EXPF_LN2_LO 0x1.7f7d1cp-20f
#define FA_EXPF_P0 0x1.fffffep-2f
#define FA_EXPF_P1 0x1.55548ep-3f
#define FA_EXPF_P2 0x1.5556aep-5f
#define FA_EXPF_P3 0x1.123b28p-7f
#define FA_EXPF_P4 0x1.6be874p-10f

#define FA_IMPL "fa_math_impl.h"
#include "fa_instantiate.h"
#define FA_IMPL "fa_erf_impl.h"
#include "fa_instantiate.h"
#define FA_IMPL "fa_act_impl.h"
#include "fa_instantiate.h"

#endif
