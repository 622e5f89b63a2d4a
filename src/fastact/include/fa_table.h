/*
 * fa_table.h -- the table of kernel loops that one instruction-set module
 * (fastact._kernels_<isa>) exports to fastact._core through a capsule.
 * Entry 2*k + d is kernel k (in the order of src/fastact/_spec.py's
 * kernel list) for dtype d (0 = float32, 1 = float64).
 */
#ifndef FASTACT_TABLE_H
#define FASTACT_TABLE_H
#include <stddef.h>

#define FA_MAXP 4   /* parameters per kernel, passed as doubles */

typedef void (*fa_unary_fn)(const void *x, void *y, ptrdiff_t n, const double *p);
typedef void (*fa_binary_fn)(const void *g, const void *x, void *out, ptrdiff_t n, const double *p);

typedef struct {
    int n;                       /* number of kernels */
    const char *const *names;    /* kernel names, for a consistency check */
    const fa_unary_fn *fwd;      /* 2n entries */
    const fa_binary_fn *bx;      /* 2n entries: g * f'(x) */
    const fa_binary_fn *by;      /* 2n entries: g * f'(x) from y; NULL if none */
    const char *isa;             /* the level this module was built for */
} fa_table;

#define FA_CAPSULE_NAME "fastact._kernel_table"

#endif
