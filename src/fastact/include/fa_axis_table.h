/*
 * fa_axis_table.h -- the interface between the along-axis driver
 * (fastact/_axis.pyx, compiled once) and the along-axis row kernels
 * (include/fa_axis.h, compiled once per instruction-set level into each
 * fastact._kernels_<isa> module and exported as the capsule `axis_table`).
 *
 * Every operation sees its array as a C-contiguous (outer, n, inner) block:
 * n is the length of the axis, inner the product of the dimensions after
 * it.  The driver never copies or transposes a contiguous input: a
 * Fortran-ordered array is the C-ordered transpose with the axis mirrored.
 *
 * Work is cut into "items", which the driver hands out to OpenMP threads:
 *   - reductions (softmax family, logsumexp): one row when inner == 1,
 *     else one block of W adjacent columns (W <= FA_AX_WMAX) of one outer
 *     index, walked row by row with a running max/sum per column;
 *   - elementwise pairs (GLU family): W consecutive elements of one outer
 *     index's half of length cols = (n / 2) * inner.
 * An item's result depends only on the item, never on the thread split:
 * results are bitwise identical for any thread count.
 */
#ifndef FASTACT_AXIS_TABLE_H
#define FASTACT_AXIS_TABLE_H
#include <stddef.h>

#define FA_AX_WMAX 512

typedef struct {
    const void *x;      /* input (the forward output y for the *_BY ops) */
    const void *g;      /* grad_output (backward ops), else NULL */
    void *out;          /* result */
    ptrdiff_t outer, n, inner;
    ptrdiff_t cols;     /* elementwise ops: (n / 2) * inner; maxout: (n / pieces) * inner */
    ptrdiff_t W;        /* item width (columns or elements) */
    double sg;          /* +1, or -1 for softmin (softmax of -x) */
} fa_ax_job;

typedef void (*fa_ax_fn)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1);

/* The ops, in the order of the spec's AXIS_OPS (include/fa_axis_list.h,
 * generated): FA_AX_OP_<name>.  softmax also serves softmin (sg = -1);
 * logsumexp's out and logsumexp_b's g are (outer, inner); the ops from glu
 * to geglu_tanh_b are the elementwise pairs (GLU family); the ops from
 * maxout on (maxout, sparsemax, softmax_jacobian: fa_axis_extra_impl.h)
 * have their own driver, fastact._axis.run_extra. */
#include "fa_axis_list.h"
#define FA_AX_ENUM(name) FA_AX_OP_##name,
enum { FA_AX_OPS(FA_AX_ENUM) FA_AX_NOPS };
#undef FA_AX_ENUM
#define FA_AX_GLU FA_AX_OP_glu
#define FA_AX_EXTRA FA_AX_OP_maxout

/* entry 2 * op + d: d = 0 float32, 1 float64; names[op]: the op's name */
typedef struct {
    int nops;
    const fa_ax_fn *fns;
    const char *isa;
    const char *const *names;
} fa_ax_table;

#define FA_AX_CAPSULE_NAME "fastact._axis_table"

#endif
