/*
 * fa_prelu_table.h -- the interface between the PReLU driver
 * (fastact/_prelu.pyx, compiled once, OpenMP) and the PReLU loops
 * (include/fa_prelu.h, compiled once per instruction-set level into each
 * fastact._kernels_<isa> module and exported as the capsule `prelu_table`).
 *
 * Four contiguous loops per dtype (index 0 float32, 1 float64,
 * 2 + FA_BF16 = 2 bfloat16, 2 + FA_F16 = 3 float16; the narrow types with
 * float32 weights, computed in float32 inside the loop, include/fa_narrow.h):
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
 * A narrow type's loops give bitwise the float32 loops' results on the
 * widened arrays (g, x), gx and y rounded once to the narrow type.
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

#define FA_PR_NTYPES 4           /* float32, float64, bfloat16, float16 */

typedef struct {
    int version;                 /* FA_PR_VERSION */
    fa_pr_fwd_fn fwd_s[FA_PR_NTYPES];
    fa_pr_fwd_fn fwd_v[FA_PR_NTYPES];
    fa_pr_bwd_s_fn bwd_s[FA_PR_NTYPES];
    fa_pr_bwd_v_fn bwd_v[FA_PR_NTYPES];
    const char *isa;
} fa_pr_table;

#define FA_PR_VERSION 3
#define FA_PR_CAPSULE_NAME "fastact._prelu_table"

#endif
