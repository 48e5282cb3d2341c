/* AVX2 element-wise modular add/sub (inputs < q < 2^62, so signed compares are exact).
 * Selected at run time by vec.c. */
#include "crypto/ntt/ring.h"

#include <immintrin.h>

void ppmli_vec_add_avx2(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q);
void ppmli_vec_add_avx2(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q)
{
    const __m256i vq = _mm256_set1_epi64x((long long)q), vqm1 = _mm256_set1_epi64x((long long)(q - 1));
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i s = _mm256_add_epi64(_mm256_loadu_si256((const __m256i *)(x + i)),
                                     _mm256_loadu_si256((const __m256i *)(y + i)));
        __m256i ge = _mm256_cmpgt_epi64(s, vqm1);
        _mm256_storeu_si256((__m256i *)(o + i), _mm256_sub_epi64(s, _mm256_and_si256(ge, vq)));
    }
    for (; i < n; i++)
        o[i] = ppmli_addmod(x[i], y[i], q);
}

void ppmli_vec_sub_avx2(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q);
void ppmli_vec_sub_avx2(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q)
{
    const __m256i vq = _mm256_set1_epi64x((long long)q);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(x + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(y + i));
        __m256i lt = _mm256_cmpgt_epi64(b, a);
        _mm256_storeu_si256((__m256i *)(o + i), _mm256_add_epi64(_mm256_sub_epi64(a, b), _mm256_and_si256(lt, vq)));
    }
    for (; i < n; i++)
        o[i] = ppmli_submod(x[i], y[i], q);
}
