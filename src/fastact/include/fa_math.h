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

#define FA_IMPL "fa_math_impl.h"
#include "fa_instantiate.h"
#define FA_IMPL "fa_erf_impl.h"
#include "fa_instantiate.h"
#define FA_IMPL "fa_act_impl.h"
#include "fa_instantiate.h"

#endif
