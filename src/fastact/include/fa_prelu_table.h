/*
 * fa_prelu_table.h -- the interface between the PReLU driver
 * (fastact/_prelu.pyx, compiled once, OpenMP) and the PReLU loops
 * (include/fa_prelu.h, compiled once per instruction-set level into each
 * fastact._kernels_<isa> module and exported as the capsule `prelu_table`).
 *
 * Four contiguous loops per dtype (index 0 = float32, 1 = float64):
 *   fwd_s(x, y, n, w)            y = x > 0 ? x : w[0] * x   (one slope)
 *   fwd_v(x, y, n, w)            y = x > 0 ? x : w[i] * x   (a slope per element)
 *   bwd_s(g, x, gx, n, w)        gx = g * (x > 0 ? 1 : w[0]) (NaN x -> NaN);
 *                                returns sum(x > 0 ? 0 : g * x) in double
 *   bwd_v(g, x, gx, n, w, acc, rows, stride)
 *                                gx as above with w[i], over `rows` rows of n
 *                                elements `stride` apart; acc[i] += the sum
 *                                over the rows of (x > 0 ? 0 : g * x)
 * w == 0 gives 0 for every x < 0 (also -inf); NaN stays NaN.  Products
 * g * x of the weight gradient are formed in double (exact for float32).
 * Each call's result depends only on its arguments: the driver cuts the
 * work into pieces independent of the thread count, so results are bitwise
 * identical for any number of threads.
 */
#ifndef FASTACT_PRELU_TABLE_H
#define FASTACT_PRELU_TABLE_H
#include <stddef.h>

typedef void (*fa_pr_fwd_fn)(const void *x, void *y, ptrdiff_t n, const void *w);
typedef double (*fa_pr_bwd_s_fn)(const void *g, const void *x, void *gx, ptrdiff_t n,
                                 const void *w);
typedef void (*fa_pr_bwd_v_fn)(const void *g, const void *x, void *gx, ptrdiff_t n,
                               const void *w, double *acc, ptrdiff_t rows,
                               ptrdiff_t stride);

typedef struct {
    int version;                 /* FA_PR_VERSION */
    fa_pr_fwd_fn fwd_s[2];
    fa_pr_fwd_fn fwd_v[2];
    fa_pr_bwd_s_fn bwd_s[2];
    fa_pr_bwd_v_fn bwd_v[2];
    const char *isa;
} fa_pr_table;

#define FA_PR_VERSION 2
#define FA_PR_CAPSULE_NAME "fastact._prelu_table"

#endif
