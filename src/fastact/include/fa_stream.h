/*
 * fa_stream.h -- non-temporal stores for outputs larger than the caches.
 *
 * An ordinary store to a line that is not in cache first reads the line
 * from memory (a read for ownership), so a call that writes an output much
 * larger than the last-level cache moves three bytes for each byte it
 * reads and writes in a unary kernel (x in, the line of out in, out back).
 * A non-temporal store writes whole lines without reading them: two.  The
 * drivers (fastact/_elementwise.pyx; the along-axis rows in
 * fa_axis_impl.h) run the kernel into a buffer in L1 and hand it here a
 * chunk (a row) at a time when the output is large (README,
 * "Large outputs"); the values are those of the ordinary path bit for bit,
 * only the way they reach memory differs.
 *
 * fa_stream_copy: dst 64-byte aligned, src of any alignment (the
 * along-axis rows copy from a row buffer to a row of out that starts
 * anywhere in a line; an unaligned load from L1 costs what an aligned one
 * does), bytes a multiple of 64, no overlap.  Compiled once per
 * instruction-set module (the vector width of that level); a plain copy
 * where x86 streaming stores do not exist.
 * fa_stream_fence: after the last copy of a range, before the range is
 * handed back (the pool's hand-back orders only ordinary stores).  Once
 * per range, not per copy: a fence waits until every line written so far
 * has left the core (a fence per 8 KiB chunk cost 7% in a float32 sigmoid).
 */
#ifndef FASTACT_STREAM_H
#define FASTACT_STREAM_H

#include <stddef.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

static inline void fa_stream_copy(void *dst, const void *src, ptrdiff_t bytes)
{
#if defined(__AVX512F__)
    for (ptrdiff_t o = 0; o < bytes; o += 64)
        _mm512_stream_ps((float *)((char *)dst + o), _mm512_loadu_ps((const float *)((const char *)src + o)));
#elif defined(__AVX__)
    for (ptrdiff_t o = 0; o < bytes; o += 32)
        _mm256_stream_ps((float *)((char *)dst + o), _mm256_loadu_ps((const float *)((const char *)src + o)));
#elif defined(__SSE2__)
    for (ptrdiff_t o = 0; o < bytes; o += 16)
        _mm_stream_ps((float *)((char *)dst + o), _mm_loadu_ps((const float *)((const char *)src + o)));
#else
    memcpy(dst, src, (size_t)bytes);
#endif
}

static inline void fa_stream_fence(void)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_sfence();
#endif
}

#endif
