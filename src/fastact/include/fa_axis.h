/*
 * fa_axis.h -- the along-axis kernels (softmax family, logsumexp, GLU
 * family) for float32 and float64, and the table that exports them.
 * Included by each generated fastact/_kernels_<isa>.pyx next to
 * fa_kernels.h; the module's flags pick the instruction set.  The driver
 * (threads, layouts, arguments) is fastact/_axis.pyx; the interface is
 * fa_axis_table.h.
 */
#ifndef FASTACT_AXIS_H
#define FASTACT_AXIS_H

#include "fa_axis_table.h"
#include "fa_math.h"

/* elements per block of a row sum: lane-parallel sums in the vector lanes
 * (8 or 16), Kahan between blocks.  1024 rather than 256: the horizontal
 * reductions per block cost ~20% at 256; the row-sum error stays < 4 eps
 * (tests/test_axis.py::test_row_sums) */
#define FA_AX_BLK 1024

#define FA_T double
#define FA_I int64_t
#define FA_DOUBLE 1
#define FN(name) name##_d
#include "fa_axis_impl.h"
#undef FA_I
#undef FA_T
#undef FA_DOUBLE
#undef FN

#define FA_T float
#define FA_I int32_t
#define FA_DOUBLE 0
#define FN(name) name##_f
#include "fa_axis_impl.h"
#undef FA_I
#undef FA_T
#undef FA_DOUBLE
#undef FN

#define FA_AX_PAIR(name) fa_ax_##name##_f, fa_ax_##name##_d
static const fa_ax_fn fa_ax_fns[2 * FA_AX_NOPS] = {
    FA_AX_PAIR(softmax), FA_AX_PAIR(log_softmax), FA_AX_PAIR(logsumexp),
    FA_AX_PAIR(softmax_bx), FA_AX_PAIR(softmax_by),
    FA_AX_PAIR(log_softmax_bx), FA_AX_PAIR(log_softmax_by), FA_AX_PAIR(logsumexp_b),
    FA_AX_PAIR(glu), FA_AX_PAIR(glu_b), FA_AX_PAIR(swiglu), FA_AX_PAIR(swiglu_b),
    FA_AX_PAIR(geglu), FA_AX_PAIR(geglu_b), FA_AX_PAIR(geglu_tanh), FA_AX_PAIR(geglu_tanh_b),
};
#undef FA_AX_PAIR

#ifndef FA_ISA_NAME
#define FA_ISA_NAME "unknown"
#endif

static const fa_ax_table fa_ax_the_table = { FA_AX_NOPS, fa_ax_fns, FA_ISA_NAME };
static const char fa_ax_capsule_name[] = FA_AX_CAPSULE_NAME;

static void *fa_axis_table(void) { return (void *)&fa_ax_the_table; }
static const char *fa_axis_capsule_name(void) { return fa_ax_capsule_name; }

#endif
