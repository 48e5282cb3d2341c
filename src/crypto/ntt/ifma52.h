/* AVX-512 IFMA helpers shared by the *_avx512.c kernels (include only from files compiled
 * with -mavx512ifma). Private; never installed. */
#ifndef PPMLI_IFMA52_H
#define PPMLI_IFMA52_H
#include <immintrin.h>

/* Shoup's trick in radix 2^52: x < 2^52, w < q < 2^50, wp = floor(w 2^52 / q):
 * x w mod q in [0, 2q) (the low 52 bits of x w - floor(x wp / 2^52) q). */
static inline __m512i mul_shoup52(__m512i x, __m512i w, __m512i wp, __m512i q, __m512i mask52)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i qt = _mm512_madd52hi_epu64(zero, x, wp);
    __m512i xw = _mm512_madd52lo_epu64(zero, x, w);
    __m512i tq = _mm512_madd52lo_epu64(zero, qt, q);
    return _mm512_and_si512(_mm512_sub_epi64(xw, tq), mask52);
}

/* v - b if v >= b, else v (unsigned) */
static inline __m512i csub8(__m512i v, __m512i b)
{
    return _mm512_min_epu64(v, _mm512_sub_epi64(v, b));
}
#endif
