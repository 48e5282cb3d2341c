/* AVX-512 IFMA kernel for the key-switching inner product (see ring.h: ppmli_dot2_ifma).
 *
 * Eight coefficients per vector. Each product x*b (x < 2^52, b < 2^52) is accumulated as its
 * low and high 52-bit halves (vpmadd52luq / vpmadd52huq), so the exact sum is
 * X = hi 2^52 + lo; ppmli_dot2_ifma_ok guarantees X < 2^104 and at most 2^11 terms, so lo
 * and hi stay below 2^64 and, after the carry of lo's top bits into hi, both are below 2^52.
 * Then X mod q = hi (2^52 mod q) + lo mod q, each by Shoup's trick in radix 2^52 ([0, 2q),
 * as in ntt_avx512.c), and two conditional subtractions give [0, q). Selected at run time by
 * the caller (ppmli_ntt_have_ifma). */
#include "crypto/ntt/ring.h"

#include "crypto/ntt/ifma52.h"

typedef struct red52 {
    __m512i q, q2, mask52, c, cp, one, onep; /* c = 2^52 mod q; cp, onep: Shoup constants */
} red52;

/* hi 2^52 + lo (lo < 2^64, hi + (lo >> 52) < 2^52) -> [0, q) */
static inline __m512i reduce52(const red52 *r, __m512i lo, __m512i hi)
{
    hi = _mm512_add_epi64(hi, _mm512_srli_epi64(lo, 52));
    lo = _mm512_and_si512(lo, r->mask52);
    __m512i s = _mm512_add_epi64(mul_shoup52(hi, r->c, r->cp, r->q, r->mask52),
                                 mul_shoup52(lo, r->one, r->onep, r->q, r->mask52)); /* < 4q */
    return csub8(csub8(s, r->q2), r->q);
}

void ppmli_dot2_ifma(const ppmli_mod *m, uint64_t *o0, uint64_t *o1, const uint64_t *const *x,
                     const uint64_t *const *b, const uint64_t *const *a, size_t k, size_t n)
{
    const uint64_t q = m->q, c = ((uint64_t)1 << 52) % q;
    red52 r;
    r.q = _mm512_set1_epi64((long long)q);
    r.q2 = _mm512_add_epi64(r.q, r.q);
    r.mask52 = _mm512_set1_epi64((long long)(((uint64_t)1 << 52) - 1));
    r.c = _mm512_set1_epi64((long long)c);
    r.cp = _mm512_set1_epi64((long long)ppmli_shoup52(c, q));
    r.one = _mm512_set1_epi64(1);
    r.onep = _mm512_set1_epi64((long long)ppmli_shoup52(1, q));
    for (size_t i = 0; i < n; i += 8) {
        __m512i lo0 = _mm512_setzero_si512(), hi0 = lo0, lo1 = lo0, hi1 = lo0;
        for (size_t d = 0; d < k; d++) {
            __m512i xv = _mm512_loadu_si512(x[d] + i);
            __m512i bv = _mm512_loadu_si512(b[d] + i), av = _mm512_loadu_si512(a[d] + i);
            lo0 = _mm512_madd52lo_epu64(lo0, xv, bv);
            hi0 = _mm512_madd52hi_epu64(hi0, xv, bv);
            lo1 = _mm512_madd52lo_epu64(lo1, xv, av);
            hi1 = _mm512_madd52hi_epu64(hi1, xv, av);
        }
        _mm512_storeu_si512(o0 + i, reduce52(&r, lo0, hi0));
        _mm512_storeu_si512(o1 + i, reduce52(&r, lo1, hi1));
    }
}
