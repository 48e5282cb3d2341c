/* AVX2 kernels for the radix-2 NTT stages with gap >= 4 (four butterflies per vector),
 * computing exactly the scalar formulas of ntt.c, so both paths give identical words.
 * AVX2 has no 64x64-bit multiply: products are assembled from 32x32 -> 64 pieces
 * (_mm256_mul_epu32). Lazy values stay below 4q < 2^63, so signed 64-bit compares are
 * exact. Selected at run time by ntt.c (__builtin_cpu_supports("avx2")). */
#include "crypto/ntt/ring.h"

#include <immintrin.h>

/* high 64 bits of a * b (unsigned), bh = b >> 32 precomputed */
static inline __m256i mulhi64(__m256i a, __m256i b, __m256i bh)
{
    const __m256i lo32 = _mm256_set1_epi64x(0xffffffff);
    __m256i ah = _mm256_srli_epi64(a, 32);
    __m256i ll = _mm256_mul_epu32(a, b);
    __m256i lh = _mm256_mul_epu32(a, bh);
    __m256i hl = _mm256_mul_epu32(ah, b);
    __m256i hh = _mm256_mul_epu32(ah, bh);
    __m256i mid = _mm256_add_epi64(_mm256_srli_epi64(ll, 32), _mm256_and_si256(lh, lo32));
    mid = _mm256_add_epi64(mid, _mm256_and_si256(hl, lo32));
    __m256i hi = _mm256_add_epi64(hh, _mm256_srli_epi64(lh, 32));
    hi = _mm256_add_epi64(hi, _mm256_srli_epi64(hl, 32));
    return _mm256_add_epi64(hi, _mm256_srli_epi64(mid, 32));
}

/* low 64 bits of a * b, bh = b >> 32 */
static inline __m256i mullo64(__m256i a, __m256i b, __m256i bh)
{
    __m256i ll = _mm256_mul_epu32(a, b);
    __m256i lh = _mm256_mul_epu32(a, bh);
    __m256i hl = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), b);
    return _mm256_add_epi64(ll, _mm256_slli_epi64(_mm256_add_epi64(lh, hl), 32));
}

/* Shoup lazy product x * w mod q in [0, 2q) */
static inline __m256i mul_shoup_lazy4(__m256i x, __m256i w, __m256i wh, __m256i wp, __m256i wph,
                                      __m256i q, __m256i qh)
{
    __m256i qt = mulhi64(x, wp, wph);
    return _mm256_sub_epi64(mullo64(x, w, wh), mullo64(qt, q, qh));
}

/* v - (v >= bound ? bound : 0), values < 2^63 */
static inline __m256i csub(__m256i v, __m256i bound, __m256i bound_m1)
{
    __m256i ge = _mm256_cmpgt_epi64(v, bound_m1);
    return _mm256_sub_epi64(v, _mm256_and_si256(ge, bound));
}

/* One Cooley-Tukey stage: m groups, gap >= 4. */
void ppmli_ntt_stage_fwd_avx2(const ppmli_ntt *t, uint64_t *a, size_t m, size_t gap);
void ppmli_ntt_stage_fwd_avx2(const ppmli_ntt *t, uint64_t *a, size_t m, size_t gap)
{
    const uint64_t qs = t->mod.q;
    const __m256i q = _mm256_set1_epi64x((long long)qs), qh = _mm256_srli_epi64(q, 32);
    const __m256i q2 = _mm256_set1_epi64x((long long)(2 * qs)), q2m1 = _mm256_set1_epi64x((long long)(2 * qs - 1));
    for (size_t i = 0; i < m; i++) {
        const __m256i w = _mm256_set1_epi64x((long long)t->tw[m + i]), wh = _mm256_srli_epi64(w, 32);
        const __m256i wp = _mm256_set1_epi64x((long long)t->tw_sh[m + i]), wph = _mm256_srli_epi64(wp, 32);
        uint64_t *x = a + 2 * i * gap, *y = x + gap;
        for (size_t j = 0; j < gap; j += 4) {
            __m256i u = _mm256_loadu_si256((const __m256i *)(x + j));
            __m256i v = _mm256_loadu_si256((const __m256i *)(y + j));
            u = csub(u, q2, q2m1);
            __m256i tt = mul_shoup_lazy4(v, w, wh, wp, wph, q, qh);
            _mm256_storeu_si256((__m256i *)(x + j), _mm256_add_epi64(u, tt));
            _mm256_storeu_si256((__m256i *)(y + j), _mm256_add_epi64(_mm256_sub_epi64(u, tt), q2));
        }
    }
}

/* One Gentleman-Sande stage: h groups (twiddles itw[h + i]), gap >= 4. */
void ppmli_ntt_stage_inv_avx2(const ppmli_ntt *t, uint64_t *a, size_t h, size_t gap);
void ppmli_ntt_stage_inv_avx2(const ppmli_ntt *t, uint64_t *a, size_t h, size_t gap)
{
    const uint64_t qs = t->mod.q;
    const __m256i q = _mm256_set1_epi64x((long long)qs), qh = _mm256_srli_epi64(q, 32);
    const __m256i q2 = _mm256_set1_epi64x((long long)(2 * qs)), q2m1 = _mm256_set1_epi64x((long long)(2 * qs - 1));
    for (size_t i = 0; i < h; i++) {
        const __m256i w = _mm256_set1_epi64x((long long)t->itw[h + i]), wh = _mm256_srli_epi64(w, 32);
        const __m256i wp = _mm256_set1_epi64x((long long)t->itw_sh[h + i]), wph = _mm256_srli_epi64(wp, 32);
        uint64_t *x = a + 2 * i * gap, *y = x + gap;
        for (size_t j = 0; j < gap; j += 4) {
            __m256i u = _mm256_loadu_si256((const __m256i *)(x + j));
            __m256i v = _mm256_loadu_si256((const __m256i *)(y + j));
            __m256i s = csub(_mm256_add_epi64(u, v), q2, q2m1);
            __m256i d = _mm256_add_epi64(_mm256_sub_epi64(u, v), q2);
            _mm256_storeu_si256((__m256i *)(x + j), s);
            _mm256_storeu_si256((__m256i *)(y + j), mul_shoup_lazy4(d, w, wh, wp, wph, q, qh));
        }
    }
}

/* Cooley-Tukey butterfly on vectors: u, v in [0, 4q) -> [0, 4q). */
static inline void ct4(__m256i *u, __m256i *v, __m256i w, __m256i wp, __m256i q, __m256i qh,
                       __m256i q2, __m256i q2m1)
{
    __m256i x = csub(*u, q2, q2m1);
    __m256i tt = mul_shoup_lazy4(*v, w, _mm256_srli_epi64(w, 32), wp, _mm256_srli_epi64(wp, 32), q, qh);
    *u = _mm256_add_epi64(x, tt);
    *v = _mm256_add_epi64(_mm256_sub_epi64(x, tt), q2);
}

/* Gentleman-Sande butterfly on vectors: u, v in [0, 2q) -> [0, 2q). */
static inline void gs4(__m256i *u, __m256i *v, __m256i w, __m256i wp, __m256i q, __m256i qh,
                       __m256i q2, __m256i q2m1)
{
    __m256i s = csub(_mm256_add_epi64(*u, *v), q2, q2m1);
    __m256i d = _mm256_add_epi64(_mm256_sub_epi64(*u, *v), q2);
    *v = mul_shoup_lazy4(d, w, _mm256_srli_epi64(w, 32), wp, _mm256_srli_epi64(wp, 32), q, qh);
    *u = s;
}

/* (w[0], w[0], w[1], w[1]) */
static inline __m256i dup_pairs(const uint64_t *w)
{
    __m128i x = _mm_loadu_si128((const __m128i *)w);
    return _mm256_permute4x64_epi64(_mm256_castsi128_si256(x), 0x50);
}

/* Last two forward stages (gaps 2 and 1), eight words per step; n >= 8. */
void ppmli_ntt_last2_fwd_avx2(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_last2_fwd_avx2(const ppmli_ntt *t, uint64_t *a)
{
    const uint64_t qs = t->mod.q;
    const __m256i q = _mm256_set1_epi64x((long long)qs), qh = _mm256_srli_epi64(q, 32);
    const __m256i q2 = _mm256_set1_epi64x((long long)(2 * qs)), q2m1 = _mm256_set1_epi64x((long long)(2 * qs - 1));
    const size_t m = t->n >> 2; /* groups of four */
    for (size_t i = 0; i < m; i += 2) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(a + 4 * i));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(a + 4 * i + 4));
        /* gap 2: x = (a0,a1,a4,a5), y = (a2,a3,a6,a7), twiddles (w_i,w_i,w_i+1,w_i+1) */
        __m256i x = _mm256_permute2x128_si256(v0, v1, 0x20);
        __m256i y = _mm256_permute2x128_si256(v0, v1, 0x31);
        ct4(&x, &y, dup_pairs(t->tw + m + i), dup_pairs(t->tw_sh + m + i), q, qh, q2, q2m1);
        /* gap 1: u = (a0,a2,a4,a6), v = (a1,a3,a5,a7), twiddles tw[2m+2i .. +3] */
        __m256i u = _mm256_unpacklo_epi64(x, y);
        __m256i v = _mm256_unpackhi_epi64(x, y);
        ct4(&u, &v, _mm256_loadu_si256((const __m256i *)(t->tw + 2 * m + 2 * i)),
            _mm256_loadu_si256((const __m256i *)(t->tw_sh + 2 * m + 2 * i)), q, qh, q2, q2m1);
        __m256i lo = _mm256_unpacklo_epi64(u, v); /* (a0,a1,a4,a5) */
        __m256i hi = _mm256_unpackhi_epi64(u, v); /* (a2,a3,a6,a7) */
        _mm256_storeu_si256((__m256i *)(a + 4 * i), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(a + 4 * i + 4), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}

/* First two inverse stages (gaps 1 and 2), eight words per step; n >= 8. */
void ppmli_ntt_first2_inv_avx2(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_first2_inv_avx2(const ppmli_ntt *t, uint64_t *a)
{
    const uint64_t qs = t->mod.q;
    const __m256i q = _mm256_set1_epi64x((long long)qs), qh = _mm256_srli_epi64(q, 32);
    const __m256i q2 = _mm256_set1_epi64x((long long)(2 * qs)), q2m1 = _mm256_set1_epi64x((long long)(2 * qs - 1));
    const size_t h = t->n >> 1, m = t->n >> 2;
    for (size_t k = 0; k < m; k += 2) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(a + 4 * k));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(a + 4 * k + 4));
        __m256i x = _mm256_permute2x128_si256(v0, v1, 0x20); /* (a0,a1,a4,a5) */
        __m256i y = _mm256_permute2x128_si256(v0, v1, 0x31); /* (a2,a3,a6,a7) */
        /* gap 1: pairs (a0,a1),(a2,a3),(a4,a5),(a6,a7), twiddles itw[h+2k .. +3] */
        __m256i u = _mm256_unpacklo_epi64(x, y); /* (a0,a2,a4,a6) */
        __m256i v = _mm256_unpackhi_epi64(x, y); /* (a1,a3,a5,a7) */
        gs4(&u, &v, _mm256_loadu_si256((const __m256i *)(t->itw + h + 2 * k)),
            _mm256_loadu_si256((const __m256i *)(t->itw_sh + h + 2 * k)), q, qh, q2, q2m1);
        /* gap 2: x = (a0,a1,a4,a5), y = (a2,a3,a6,a7), twiddles (w_k,w_k,w_k+1,w_k+1) */
        x = _mm256_unpacklo_epi64(u, v);
        y = _mm256_unpackhi_epi64(u, v);
        gs4(&x, &y, dup_pairs(t->itw + m + k), dup_pairs(t->itw_sh + m + k), q, qh, q2, q2m1);
        _mm256_storeu_si256((__m256i *)(a + 4 * k), _mm256_permute2x128_si256(x, y, 0x20));
        _mm256_storeu_si256((__m256i *)(a + 4 * k + 4), _mm256_permute2x128_si256(x, y, 0x31));
    }
}

/* Last inverse stage merged with the scaling: x' = (u + v) ni, y' = (u - v + 2q) w, for
 * j < gap (gap >= 4), both Shoup-lazy in [0, 2q). */
void ppmli_ntt_last_inv_avx2(const ppmli_ntt *t, uint64_t *a, size_t gap, uint64_t ni, uint64_t nip,
                             uint64_t w, uint64_t wp);
void ppmli_ntt_last_inv_avx2(const ppmli_ntt *t, uint64_t *a, size_t gap, uint64_t ni, uint64_t nip,
                             uint64_t w, uint64_t wp)
{
    const uint64_t qs = t->mod.q;
    const __m256i q = _mm256_set1_epi64x((long long)qs), qh = _mm256_srli_epi64(q, 32);
    const __m256i q2 = _mm256_set1_epi64x((long long)(2 * qs));
    const __m256i vn = _mm256_set1_epi64x((long long)ni), vnh = _mm256_srli_epi64(vn, 32);
    const __m256i vnp = _mm256_set1_epi64x((long long)nip), vnph = _mm256_srli_epi64(vnp, 32);
    const __m256i vw = _mm256_set1_epi64x((long long)w), vwh = _mm256_srli_epi64(vw, 32);
    const __m256i vwp = _mm256_set1_epi64x((long long)wp), vwph = _mm256_srli_epi64(vwp, 32);
    uint64_t *x = a, *y = a + gap;
    for (size_t j = 0; j < gap; j += 4) {
        __m256i u = _mm256_loadu_si256((const __m256i *)(x + j));
        __m256i v = _mm256_loadu_si256((const __m256i *)(y + j));
        __m256i s = _mm256_add_epi64(u, v);
        __m256i d = _mm256_add_epi64(_mm256_sub_epi64(u, v), q2);
        _mm256_storeu_si256((__m256i *)(x + j), mul_shoup_lazy4(s, vn, vnh, vnp, vnph, q, qh));
        _mm256_storeu_si256((__m256i *)(y + j), mul_shoup_lazy4(d, vw, vwh, vwp, vwph, q, qh));
    }
}
