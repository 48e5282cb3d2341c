/* AVX-512 IFMA kernels for every NTT stage (eight butterflies per vector; the three short-gap
 * stages permute within 16-word blocks) and the merged last inverse stage. Used only for
 * primes q < 2^50 (ppmli_ntt.ifma), where every lazy value (< 4q) fits the 52-bit multiplier
 * inputs of vpmadd52{lo,hi}uq.
 *
 * Shoup's trick in radix 2^52: for w < q, w52 = floor(w 2^52 / q); for x < 2^52,
 * qt = floor(x w52 / 2^52) (vpmadd52huq) and r = (x w - qt q) mod 2^52 lies in [0, 2q)
 * (x w / q - qt < 2), so computing it with the low 52 bits of both products is exact.
 * The outputs are the same residues as the 64-bit Shoup path and keep its ranges
 * (forward [0, 4q), inverse [0, 2q)); a lazy word may differ from the scalar one by a
 * multiple of q, a fully reduced one never does. Selected at run time by ntt.c. */
#include "crypto/ntt/ring.h"

#include "crypto/ntt/ifma52.h"

/* q, 2q and the 52-bit mask in every lane */
typedef struct lanes {
    __m512i q, q2, mask52;
} lanes;

static inline lanes lanes_of(const ppmli_ntt *t)
{
    lanes l;
    l.q = _mm512_set1_epi64((long long)t->mod.q);
    l.q2 = _mm512_add_epi64(l.q, l.q);
    l.mask52 = _mm512_set1_epi64((long long)(((uint64_t)1 << 52) - 1));
    return l;
}

/* One Cooley-Tukey stage: m groups (twiddles tw[m + i]), gap >= 8; [0, 4q) -> [0, 4q). */
void ppmli_ntt_stage_fwd_ifma(const ppmli_ntt *t, uint64_t *a, size_t m, size_t gap);
void ppmli_ntt_stage_fwd_ifma(const ppmli_ntt *t, uint64_t *a, size_t m, size_t gap)
{
    const lanes l = lanes_of(t);
    const __m512i q = l.q, q2 = l.q2, mask52 = l.mask52;
    for (size_t i = 0; i < m; i++) {
        const __m512i w = _mm512_set1_epi64((long long)t->tw[m + i]);
        const __m512i wp = _mm512_set1_epi64((long long)t->tw_sh52[m + i]);
        uint64_t *x = a + 2 * i * gap, *y = x + gap;
        for (size_t j = 0; j < gap; j += 8) {
            __m512i u = csub8(_mm512_loadu_si512(x + j), q2);
            __m512i tt = mul_shoup52(_mm512_loadu_si512(y + j), w, wp, q, mask52);
            _mm512_storeu_si512(x + j, _mm512_add_epi64(u, tt));
            _mm512_storeu_si512(y + j, _mm512_add_epi64(_mm512_sub_epi64(u, tt), q2));
        }
    }
}

/* Two Cooley-Tukey stages at once (gaps 2h and h, h >= 8): four values loaded, two stages
 * applied, four stored. m groups in the first stage. */
void ppmli_ntt_stage2_fwd_ifma(const ppmli_ntt *t, uint64_t *a, size_t m, size_t gap);
void ppmli_ntt_stage2_fwd_ifma(const ppmli_ntt *t, uint64_t *a, size_t m, size_t gap)
{
    const lanes l = lanes_of(t);
    const __m512i q = l.q, q2 = l.q2, mask52 = l.mask52;
    const size_t h = gap >> 1;
    for (size_t i = 0; i < m; i++) {
        const __m512i w1 = _mm512_set1_epi64((long long)t->tw[m + i]);
        const __m512i w1p = _mm512_set1_epi64((long long)t->tw_sh52[m + i]);
        const __m512i w2 = _mm512_set1_epi64((long long)t->tw[2 * m + 2 * i]);
        const __m512i w2p = _mm512_set1_epi64((long long)t->tw_sh52[2 * m + 2 * i]);
        const __m512i w3 = _mm512_set1_epi64((long long)t->tw[2 * m + 2 * i + 1]);
        const __m512i w3p = _mm512_set1_epi64((long long)t->tw_sh52[2 * m + 2 * i + 1]);
        uint64_t *x = a + 2 * i * gap;
        for (size_t j = 0; j < h; j += 8) {
            __m512i x0 = _mm512_loadu_si512(x + j), x1 = _mm512_loadu_si512(x + j + h);
            __m512i x2 = _mm512_loadu_si512(x + j + gap), x3 = _mm512_loadu_si512(x + j + gap + h);
            /* stage 1: (x0, x2), (x1, x3) with w1 */
            x0 = csub8(x0, q2);
            x1 = csub8(x1, q2);
            __m512i t2 = mul_shoup52(x2, w1, w1p, q, mask52), t3 = mul_shoup52(x3, w1, w1p, q, mask52);
            x2 = _mm512_add_epi64(_mm512_sub_epi64(x0, t2), q2);
            x0 = _mm512_add_epi64(x0, t2);
            x3 = _mm512_add_epi64(_mm512_sub_epi64(x1, t3), q2);
            x1 = _mm512_add_epi64(x1, t3);
            /* stage 2: (x0, x1) with w2, (x2, x3) with w3 */
            x0 = csub8(x0, q2);
            x2 = csub8(x2, q2);
            __m512i t1 = mul_shoup52(x1, w2, w2p, q, mask52);
            t3 = mul_shoup52(x3, w3, w3p, q, mask52);
            _mm512_storeu_si512(x + j, _mm512_add_epi64(x0, t1));
            _mm512_storeu_si512(x + j + h, _mm512_add_epi64(_mm512_sub_epi64(x0, t1), q2));
            _mm512_storeu_si512(x + j + gap, _mm512_add_epi64(x2, t3));
            _mm512_storeu_si512(x + j + gap + h, _mm512_add_epi64(_mm512_sub_epi64(x2, t3), q2));
        }
    }
}

/* One Gentleman-Sande stage: h groups (twiddles itw[h + i]), gap >= 8; [0, 2q) -> [0, 2q). */
void ppmli_ntt_stage_inv_ifma(const ppmli_ntt *t, uint64_t *a, size_t h, size_t gap);
void ppmli_ntt_stage_inv_ifma(const ppmli_ntt *t, uint64_t *a, size_t h, size_t gap)
{
    const lanes l = lanes_of(t);
    const __m512i q = l.q, q2 = l.q2, mask52 = l.mask52;
    for (size_t i = 0; i < h; i++) {
        const __m512i w = _mm512_set1_epi64((long long)t->itw[h + i]);
        const __m512i wp = _mm512_set1_epi64((long long)t->itw_sh52[h + i]);
        uint64_t *x = a + 2 * i * gap, *y = x + gap;
        for (size_t j = 0; j < gap; j += 8) {
            __m512i u = _mm512_loadu_si512(x + j), v = _mm512_loadu_si512(y + j);
            __m512i s = csub8(_mm512_add_epi64(u, v), q2);
            __m512i d = _mm512_add_epi64(_mm512_sub_epi64(u, v), q2);
            _mm512_storeu_si512(x + j, s);
            _mm512_storeu_si512(y + j, mul_shoup52(d, w, wp, q, mask52));
        }
    }
}

/* Last inverse stage merged with the scaling: x' = (u + v) ni, y' = (u - v + 2q) w for
 * j < gap (gap >= 8), both in [0, 2q); nip, wp are 52-bit Shoup constants. */
void ppmli_ntt_last_inv_ifma(const ppmli_ntt *t, uint64_t *a, size_t gap, uint64_t ni, uint64_t nip,
                             uint64_t w, uint64_t wp);
void ppmli_ntt_last_inv_ifma(const ppmli_ntt *t, uint64_t *a, size_t gap, uint64_t ni, uint64_t nip,
                             uint64_t w, uint64_t wp)
{
    const lanes l = lanes_of(t);
    const __m512i q = l.q, q2 = l.q2, mask52 = l.mask52;
    const __m512i vn = _mm512_set1_epi64((long long)ni), vnp = _mm512_set1_epi64((long long)nip);
    const __m512i vw = _mm512_set1_epi64((long long)w), vwp = _mm512_set1_epi64((long long)wp);
    uint64_t *x = a, *y = a + gap;
    for (size_t j = 0; j < gap; j += 8) {
        __m512i u = _mm512_loadu_si512(x + j), v = _mm512_loadu_si512(y + j);
        __m512i s = _mm512_add_epi64(u, v);
        __m512i d = _mm512_add_epi64(_mm512_sub_epi64(u, v), q2);
        _mm512_storeu_si512(x + j, mul_shoup52(s, vn, vnp, q, mask52));
        _mm512_storeu_si512(y + j, mul_shoup52(d, vw, vwp, q, mask52));
    }
}

/* a[i] from [0, 4q) (or [0, 2q)) to [0, q): csub by 2q, then by q; n a multiple of 8. */
void ppmli_reduce_4q_avx512(uint64_t *a, size_t n, uint64_t q);
void ppmli_reduce_4q_avx512(uint64_t *a, size_t n, uint64_t q)
{
    const __m512i vq = _mm512_set1_epi64((long long)q), vq2 = _mm512_add_epi64(vq, vq);
    for (size_t i = 0; i < n; i += 8)
        _mm512_storeu_si512(a + i, csub8(csub8(_mm512_loadu_si512(a + i), vq2), vq));
}

void ppmli_reduce_2q_avx512(uint64_t *a, size_t n, uint64_t q);
void ppmli_reduce_2q_avx512(uint64_t *a, size_t n, uint64_t q)
{
    const __m512i vq = _mm512_set1_epi64((long long)q);
    for (size_t i = 0; i < n; i += 8)
        _mm512_storeu_si512(a + i, csub8(_mm512_loadu_si512(a + i), vq));
}

/* The three short-gap stages (gaps 4, 2, 1) on 16 words at a time (blocks j = 2 g, 2 g + 1 of
 * eight). For each stage the butterfly operands are gathered from the natural layout (v0 =
 * words 0..7, v1 = words 8..15) with one permutation per side, and put back with its inverse.
 * Stage with gap G has n / (2 G) twiddle groups; group k covers words 2 G k .. 2 G k + 2 G - 1. */
static const long long gather_x[3][8] = {{0, 1, 2, 3, 8, 9, 10, 11}, {0, 1, 4, 5, 8, 9, 12, 13},
                                         {0, 2, 4, 6, 8, 10, 12, 14}};
static const long long gather_y[3][8] = {{4, 5, 6, 7, 12, 13, 14, 15}, {2, 3, 6, 7, 10, 11, 14, 15},
                                         {1, 3, 5, 7, 9, 11, 13, 15}};
static const long long scatter_lo[3][8] = {{0, 1, 2, 3, 8, 9, 10, 11}, {0, 1, 8, 9, 2, 3, 10, 11},
                                           {0, 8, 1, 9, 2, 10, 3, 11}};
static const long long scatter_hi[3][8] = {{4, 5, 6, 7, 12, 13, 14, 15}, {4, 5, 12, 13, 6, 7, 14, 15},
                                           {4, 12, 5, 13, 6, 14, 7, 15}};
/* Twiddle of lane l for stage s (gap 4 >> s), relative to the first group of the 16 words:
 * gap 4 -> groups 2g + (l >= 4), gap 2 -> 4g + l/2, gap 1 -> 8g + l. */
static const long long tw_lane[3][8] = {{0, 0, 0, 0, 1, 1, 1, 1}, {0, 0, 1, 1, 2, 2, 3, 3},
                                        {0, 1, 2, 3, 4, 5, 6, 7}};

typedef struct short_perms {
    __m512i gx[3], gy[3], sl[3], sh[3], ln[3];
} short_perms;

static void load_perms(short_perms *p)
{
    for (int s = 0; s < 3; s++) {
        p->gx[s] = _mm512_loadu_si512(gather_x[s]);
        p->gy[s] = _mm512_loadu_si512(gather_y[s]);
        p->sl[s] = _mm512_loadu_si512(scatter_lo[s]);
        p->sh[s] = _mm512_loadu_si512(scatter_hi[s]);
        p->ln[s] = _mm512_loadu_si512(tw_lane[s]);
    }
}

static inline __m512i twiddles(const uint64_t *tab, size_t first, int s, __m512i lane)
{
    /* the (1 << (s + 1)) twiddles of these 16 words, spread over the lanes */
    __m512i w = _mm512_maskz_loadu_epi64((__mmask8)((1u << (2u << s)) - 1), tab + first);
    return _mm512_permutexvar_epi64(lane, w);
}

/* Last three forward stages (gaps 4, 2, 1); n >= 16; [0, 4q) -> [0, 4q). */
void ppmli_ntt_last3_fwd_ifma(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_last3_fwd_ifma(const ppmli_ntt *t, uint64_t *a)
{
    const size_t n = t->n;
    const lanes l = lanes_of(t);
    const __m512i q = l.q, q2 = l.q2, mask52 = l.mask52;
    short_perms pm;
    load_perms(&pm);
    for (size_t g = 0; g < n / 16; g++) {
        __m512i v0 = _mm512_loadu_si512(a + 16 * g), v1 = _mm512_loadu_si512(a + 16 * g + 8);
        for (int s = 0; s < 3; s++) {
            const size_t groups = n >> (3 - s); /* n / (2 gap) */
            const size_t first = groups + ((size_t)2 << s) * g;
            __m512i w = twiddles(t->tw, first, s, pm.ln[s]), wp = twiddles(t->tw_sh52, first, s, pm.ln[s]);
            __m512i x = _mm512_permutex2var_epi64(v0, pm.gx[s], v1), y = _mm512_permutex2var_epi64(v0, pm.gy[s], v1);
            x = csub8(x, q2);
            __m512i tt = mul_shoup52(y, w, wp, q, mask52);
            y = _mm512_add_epi64(_mm512_sub_epi64(x, tt), q2);
            x = _mm512_add_epi64(x, tt);
            v0 = _mm512_permutex2var_epi64(x, pm.sl[s], y);
            v1 = _mm512_permutex2var_epi64(x, pm.sh[s], y);
        }
        _mm512_storeu_si512(a + 16 * g, v0);
        _mm512_storeu_si512(a + 16 * g + 8, v1);
    }
}

/* First three inverse stages (gaps 1, 2, 4); n >= 16; [0, 2q) -> [0, 2q). */
void ppmli_ntt_first3_inv_ifma(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_first3_inv_ifma(const ppmli_ntt *t, uint64_t *a)
{
    const size_t n = t->n;
    const lanes l = lanes_of(t);
    const __m512i q = l.q, q2 = l.q2, mask52 = l.mask52;
    short_perms pm;
    load_perms(&pm);
    for (size_t g = 0; g < n / 16; g++) {
        __m512i v0 = _mm512_loadu_si512(a + 16 * g), v1 = _mm512_loadu_si512(a + 16 * g + 8);
        for (int s = 2; s >= 0; s--) {
            const size_t groups = n >> (3 - s);
            const size_t first = groups + ((size_t)2 << s) * g;
            __m512i w = twiddles(t->itw, first, s, pm.ln[s]), wp = twiddles(t->itw_sh52, first, s, pm.ln[s]);
            __m512i x = _mm512_permutex2var_epi64(v0, pm.gx[s], v1), y = _mm512_permutex2var_epi64(v0, pm.gy[s], v1);
            __m512i sum = csub8(_mm512_add_epi64(x, y), q2);
            __m512i d = _mm512_add_epi64(_mm512_sub_epi64(x, y), q2);
            y = mul_shoup52(d, w, wp, q, mask52);
            v0 = _mm512_permutex2var_epi64(sum, pm.sl[s], y);
            v1 = _mm512_permutex2var_epi64(sum, pm.sh[s], y);
        }
        _mm512_storeu_si512(a + 16 * g, v0);
        _mm512_storeu_si512(a + 16 * g + 8, v1);
    }
}
