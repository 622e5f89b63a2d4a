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

/* A job that streams (fa_ax_job.stream) writes rows of at most this many
 * bytes through a row buffer (a group of short rows, FA_AX_GRP: at most
 * 8 KiB); longer rows take ordinary stores (fa_axis_impl.h, fa_ax_rows),
 * but softmax's backward from y, which streams them a block at a time
 * (FA_AX_STORE_STREAMED). */
#define FA_AX_SROW 16384

struct fa_ax_mask;
struct fa_ax_pre;

typedef struct {
    const void *x;      /* input (the forward output y for the *_BY ops) */
    const void *g;      /* grad_output (backward ops), else NULL */
    void *out;          /* result */
    ptrdiff_t outer, n, inner;
    ptrdiff_t cols;     /* elementwise ops: (n / 2) * inner; maxout: (n / pieces) * inner */
    ptrdiff_t W;        /* item width (columns or elements) */
    double sg;          /* +1, or -1 for softmin (softmax of -x) */
    const struct fa_ax_mask *mk;  /* the *_m / *_mb ops: scale, bias, where; else unused */
    const struct fa_ax_pre *pre;  /* the GLU family's *_m / *_mb ops; else unused */
    int stream;         /* nonzero: a row op of the softmax family (inner == 1)
                         * writes out with non-temporal stores (fa_axis_impl.h,
                         * fa_ax_rows); the driver sets it for the ops of the
                         * spec's AXIS_STREAM on a large output that overlaps
                         * no input; the other ops ignore it */
} fa_ax_job;

/* The fused pre-activation of the GLU family's *_m and *_mb ops: the pair
 * kernels run on x * s + b, s and b (FA_T, both given: a missing scale is
 * 1, a missing bias -0) periodic in the flat index of the (outer, n, inner)
 * block: element i of x has s[i % period], b[i % period]; period >= 256 (a
 * run of the kernels, FA_AX_PRUN).  The backward multiplies its result by
 * s where mul is 1 (a scale given). */
typedef struct fa_ax_pre {
    const void *s, *b;
    ptrdiff_t period;
    int mul;
} fa_ax_pre;

/* The fused logits of the softmax family (the *_m forward and *_mb
 * backward-from-x ops; inner == 1 only): logit j of row r is
 * x[j] * scale + bias[j], and -inf where the entry is masked (where[j]
 * false, or bias[j] = -inf, whatever x[j] is).  The bias and where rows of
 * row r start at the offsets of r split over the (coalesced) outer dims,
 * last fastest: sum_d i_d bst[d] (elements of FA_T) and sum_d i_d wst[d]
 * (bytes); a stride 0 broadcasts.  Along the row their strides are bsn and
 * wsn. */
#define FA_AX_MAXD 64
typedef struct fa_ax_mask {
    const void *bias;               /* FA_T, or NULL */
    const unsigned char *where;     /* numpy bool (0 masked), or NULL */
    double scale;                   /* softmin: -scale */
    ptrdiff_t bsn, wsn;
    ptrdiff_t nd;
    ptrdiff_t dim[FA_AX_MAXD], bst[FA_AX_MAXD], wst[FA_AX_MAXD];
} fa_ax_mask;

typedef void (*fa_ax_fn)(const fa_ax_job *j, ptrdiff_t i0, ptrdiff_t i1);

/* The ops, in the order of the spec's AXIS_OPS (include/fa_axis_list.h,
 * generated): FA_AX_OP_<name>.  softmax also serves softmin (sg = -1);
 * logsumexp's out and logsumexp_b's g are (outer, inner); the ops from glu
 * to geglu_tanh_mb are the elementwise pairs (GLU family); the ops from
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
