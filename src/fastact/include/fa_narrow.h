/*
 * fa_narrow.h -- the narrow types (bfloat16, float16) to and from float32,
 * over contiguous runs: the conversions every family uses to compute a
 * narrow array in float32 inside its loop (a chunk at a time, in L1) and
 * write the result back in the array's own dtype.
 *
 *   widen:  exact (every narrow value is a float32); a NaN stays a NaN of
 *           its sign, made quiet (the float16 payload kept in the top bits,
 *           as F16C's vcvtph2ps does; bfloat16 is the top half of a float32
 *           and keeps its bits).
 *   narrow: round to nearest, ties to even; beyond the largest finite value
 *           (after rounding) +-inf, subnormal results rounded correctly (no
 *           flush to zero); a NaN gives a quiet NaN of its sign (bfloat16:
 *           0x7FC0 as ml_dtypes does; float16: the top payload bits kept
 *           with the quiet bit set, as vcvtps2ph does and as NumPy's cast
 *           does for every quiet NaN).
 *
 * bfloat16 is bit operations at every level (the loops vectorize).  float16
 * uses F16C where the instruction-set level has it (__F16C__: the avx2 and
 * avx512 levels; _mm512 forms under __AVX512F__) and an exact scalar
 * conversion elsewhere and for the tail (the same results bit for bit).
 *
 * Index of a type: FA_BF16 = 0, FA_F16 = 1 (the tables hold two entries).
 */
#ifndef FASTACT_NARROW_H
#define FASTACT_NARROW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "fa_table.h"      /* fa_widen_fn, fa_narrow_fn */
#include "fa_prefetch.h"
#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

enum { FA_BF16 = 0, FA_F16 = 1 };

#define FA_NARROW_SIMD _Pragma("omp simd")

static inline uint32_t fa_fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float fa_bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* ------------------------------------------------------------ bfloat16 */

static inline uint16_t fa_bf16_from_bits(uint32_t u)
{
    /* add half an ulp of bfloat16 less one, plus the kept lsb: ties to even;
     * a carry runs into the exponent (up to inf) as rounding should */
    uint32_t r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    uint32_t qnan = ((u >> 16) & 0x8000u) | 0x7FC0u;
    return (uint16_t)((int32_t)(u & 0x7FFFFFFFu) > 0x7F800000 ? qnan : r);
}

static inline void fa_widen_bf16(const void *sv, void *dv, ptrdiff_t n)
{
    const uint16_t *s = (const uint16_t *)sv;
    uint32_t *d = (uint32_t *)dv;
    FA_PF_BLOCKS(uint16_t, n, b, e) {
        FA_PF_R(s + b);
        FA_NARROW_SIMD for (ptrdiff_t i = b; i < e; i++) d[i] = (uint32_t)s[i] << 16;
    }
}

static inline void fa_narrow_bf16(const void *sv, void *dv, ptrdiff_t n)
{
    const uint32_t *s = (const uint32_t *)sv;
    uint16_t *d = (uint16_t *)dv;
    FA_PF_BLOCKS(uint16_t, n, b, e) {
        FA_PF_W(d + b);
        FA_NARROW_SIMD for (ptrdiff_t i = b; i < e; i++) d[i] = fa_bf16_from_bits(s[i]);
    }
}

/* ------------------------------------------------------------- float16 */

static inline uint32_t fa_f16_to_bits(uint32_t h)
{
    uint32_t sign = (h & 0x8000u) << 16;
    uint32_t o = (h & 0x7FFFu) << 13;             /* exponent and fraction in place */
    uint32_t e = o & 0x0F800000u;                 /* the half's exponent field */
    o += (127u - 15u) << 23;                      /* rebias */
    /* inf and NaN: the exponent all ones; a NaN made quiet */
    uint32_t special = (o + ((128u - 16u) << 23)) | ((h & 0x03FFu) ? 0x00400000u : 0u);
    /* zero and subnormal: f * 2^-24 exactly, by a float subtraction
     * (2^-14 (1 + f/1024) - 2^-14) */
    uint32_t sub = fa_fbits(fa_bitsf(o + (1u << 23)) - fa_bitsf(113u << 23));
    return sign | (e == 0x0F800000u ? special : (e == 0 ? sub : o));
}

static inline uint16_t fa_f16_from_bits(uint32_t u)
{
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7FFFFFFFu;
    uint32_t qnan = 0x7E00u | ((a >> 13) & 0x03FFu);
    /* normal half: rebias, then round the 13 dropped bits to nearest even
     * (a carry runs into the exponent) */
    uint32_t norm = (a - ((127u - 15u) << 23) + 0x0FFFu + ((a >> 13) & 1u)) >> 13;
    /* below 2^-14: a subnormal half, round(x * 2^24) by a float addition
     * (0.5 + x rounds to a multiple of 2^-24, ties to even; 1024 is the
     * smallest normal, which the result then is) */
    uint32_t sub = fa_fbits(fa_bitsf(a) + 0.5f) - 0x3F000000u;
    uint32_t r = a > 0x7F800000u ? qnan
               : a >= 0x477FF000u ? 0x7C00u      /* >= 65520: rounds to inf */
               : a < 0x38800000u ? sub : norm;
    return (uint16_t)(sign | r);
}

static inline void fa_widen_f16_scalar(const uint16_t *s, uint32_t *d, ptrdiff_t n)
{
    FA_NARROW_SIMD for (ptrdiff_t i = 0; i < n; i++) d[i] = fa_f16_to_bits(s[i]);
}

static inline void fa_narrow_f16_scalar(const uint32_t *s, uint16_t *d, ptrdiff_t n)
{
    FA_NARROW_SIMD for (ptrdiff_t i = 0; i < n; i++) d[i] = fa_f16_from_bits(s[i]);
}

static inline void fa_widen_f16(const void *sv, void *dv, ptrdiff_t n)
{
    const uint16_t *s = (const uint16_t *)sv;
    float *d = (float *)dv;
    ptrdiff_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) {
        FA_PF_R1(s + i);
        _mm512_storeu_ps(d + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(s + i))));
    }
#endif
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        FA_PF_R1(s + i);
        _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    }
#endif
    fa_widen_f16_scalar(s + i, (uint32_t *)(d + i), n - i);
}

static inline void fa_narrow_f16(const void *sv, void *dv, ptrdiff_t n)
{
    const float *s = (const float *)sv;
    uint16_t *d = (uint16_t *)dv;
    ptrdiff_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) {
        FA_PF_W1(d + i);
        _mm256_storeu_si256((__m256i *)(d + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT));
    }
#endif
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        FA_PF_W1(d + i);
        _mm_storeu_si128((__m128i *)(d + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT));
    }
#endif
    fa_narrow_f16_scalar((const uint32_t *)(s + i), d + i, n - i);
}

/* the tables of one instruction-set level: index FA_BF16, FA_F16 */
#define FA_NARROW_TABLES \
    static const fa_widen_fn fa_widen[] = { fa_widen_bf16, fa_widen_f16 }; \
    static const fa_narrow_fn fa_narrow[] = { fa_narrow_bf16, fa_narrow_f16 };

#endif
