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
/* the fused pre-activation: t[i] = x[i] * s[j] + b[j], j = (start + i) % period,
 * the product and the sum rounded apart (no FMA); s or b NULL: left out.  t
 * may be x (in place). */
typedef void (*fa_pre_fn)(const void *x, void *t, ptrdiff_t n, const void *s, const void *b,
                          ptrdiff_t period, ptrdiff_t start);

/* the narrow types (include/fa_narrow.h): src n narrow values, dst n float32
 * (widen), or src n float32, dst n narrow (narrow); no overlap */
typedef void (*fa_widen_fn)(const void *src, void *dst, ptrdiff_t n);
typedef void (*fa_narrow_fn)(const void *src, void *dst, ptrdiff_t n);
/* non-temporal copy (include/fa_stream.h): dst 64-byte aligned (src any),
 * bytes a multiple of 64; the caller fences (fa_stream_fence) */
typedef void (*fa_stream_fn)(void *dst, const void *src, ptrdiff_t bytes);

typedef struct {
    int n;                       /* number of kernels */
    const char *const *names;    /* kernel names, for a consistency check */
    const fa_unary_fn *fwd;      /* 2n entries */
    const fa_binary_fn *bx;      /* 2n entries: g * f'(x) */
    const fa_binary_fn *by;      /* 2n entries: g * f'(x) from y; NULL if none */
    const fa_pre_fn *pre;        /* 2 entries (float32, float64): x * s + b */
    const fa_widen_fn *widen;    /* 2 entries (FA_BF16, FA_F16): narrow -> float32 */
    const fa_narrow_fn *narrow;  /* 2 entries: float32 -> narrow, nearest even */
    fa_stream_fn stream;         /* non-temporal copy of whole cache lines */
    const char *isa;             /* the level this module was built for */
} fa_table;

#define FA_CAPSULE_NAME "fastact._kernel_table"

#endif
