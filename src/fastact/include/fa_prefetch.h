/*
 * fa_prefetch.h -- software prefetch for the streaming loops.
 *
 * On the machines fastact is measured on, the hardware prefetchers do not
 * run far enough ahead of a loop whose body is long (gelu, the float64
 * exponentials): the out-of-order window holds only a few iterations, so
 * a 1.6e7-element call waited on memory latency and ran 2-3.5x slower than
 * the same call on data in cache.  The loops therefore run in blocks of
 * FA_PF_LINES cache lines and, before each block, prefetch the block
 * FA_PF_DIST bytes ahead in every array they read (FA_PF_R) or write
 * (FA_PF_W).  A prefetch never faults, so the last blocks prefetch past the
 * end harmlessly.  The values were picked by measuring 1, 2, 4, 8, 16 lines
 * and 512 to 8192 bytes (docs/design.md); -DFA_PF_OFF builds without.
 */
#ifndef FASTACT_PREFETCH_H
#define FASTACT_PREFETCH_H

#include <stddef.h>

#ifndef FA_PF_LINES
#define FA_PF_LINES 4
#endif
#ifndef FA_PF_DIST
#define FA_PF_DIST 2048
#endif

/* elements of type T in one block */
#define FA_PF_STEP(T) ((ptrdiff_t)(FA_PF_LINES * 64 / sizeof(T)))

/* for (b, e) over [0, n) in blocks of FA_PF_STEP(T) elements */
#define FA_PF_BLOCKS(T, n, b, e) \
    for (ptrdiff_t b = 0, e = FA_PF_STEP(T) < (n) ? FA_PF_STEP(T) : (n); b < (n); \
         b = e, e = e + FA_PF_STEP(T) < (n) ? e + FA_PF_STEP(T) : (n))

#ifdef FA_PF_OFF
#define FA_PF_R(ptr) ((void)0)
#define FA_PF_W(ptr) ((void)0)
#define FA_PF_R1(ptr) ((void)0)
#define FA_PF_W1(ptr) ((void)0)
#define FA_PF_SPAN(ptr, bytes, rw) ((void)0)
#else
#define FA_PF_AHEAD(ptr, rw) do { \
        for (int l_ = 0; l_ < FA_PF_LINES; l_++) \
            __builtin_prefetch((const char *)(ptr) + FA_PF_DIST + 64 * l_, rw, 3); \
    } while (0)
#define FA_PF_R(ptr) FA_PF_AHEAD(ptr, 0)
#define FA_PF_W(ptr) FA_PF_AHEAD(ptr, 1)
/* one line, for a loop that handles at most a line per iteration */
#define FA_PF_R1(ptr) __builtin_prefetch((const char *)(ptr) + FA_PF_DIST, 0, 3)
#define FA_PF_W1(ptr) __builtin_prefetch((const char *)(ptr) + FA_PF_DIST, 1, 3)
/* the lines of [ptr, ptr + bytes), now (a strided walk computes where) */
#define FA_PF_SPAN(ptr, bytes, rw) do { \
        for (ptrdiff_t o_ = 0; o_ < (ptrdiff_t)(bytes); o_ += 64) \
            __builtin_prefetch((const char *)(ptr) + o_, rw, 3); \
    } while (0)
#endif

#endif
