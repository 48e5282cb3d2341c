/* AVX-512 IFMA kernel of the multi-buffer Montgomery arithmetic (see mb.h): eight lanes per
 * 512-bit register, 52-bit limbs, vpmadd52luq / vpmadd52huq. Compiled with -mavx512ifma
 * (CMake, *_avx512.c) and only called after mb.c has checked the CPU.
 *
 * amm: operand scanning with one reduction step per limb of b. The accumulator is kept
 * shifted by one limb per step, so acc[j] always stands for limb i + j of the running sum.
 * Each acc[j] receives at most four 52-bit terms per step and lives for at most L steps, so
 * it stays below 4 L 2^52 + 2^12 < 2^61 for L <= 120: no carries are needed until the end.
 *
 * sqr: separated operand scanning, about 3 L^2 IFMAs against amm's 4 L^2 (see sqr_ifma). */
#include "mb.h"

#include <immintrin.h>
#include <stdlib.h>

#define MASK52 ((1ull << 52) - 1)

static void amm_ifma(uint64_t *r, const uint64_t *a8, const uint64_t *b8, const uint64_t *m8, uint64_t k0_,
                     size_t L)
{
    __m512i acc[PPMLI_MB_MAX_LIMBS];
    const __m512i *a = (const __m512i *)a8, *b = (const __m512i *)b8, *m = (const __m512i *)m8;
    const __m512i z = _mm512_setzero_si512(), mask = _mm512_set1_epi64((long long)MASK52);
    const __m512i k0 = _mm512_set1_epi64((long long)k0_);
    for (size_t j = 0; j < L; j++)
        acc[j] = z;
    for (size_t i = 0; i < L; i++) {
        const __m512i bi = _mm512_load_si512(&b[i]);
        __m512i t0 = _mm512_madd52lo_epu64(acc[0], _mm512_load_si512(&a[0]), bi);
        const __m512i u = _mm512_and_si512(_mm512_madd52lo_epu64(z, t0, k0), mask);
        t0 = _mm512_madd52lo_epu64(t0, _mm512_load_si512(&m[0]), u);
        const __m512i carry = _mm512_srli_epi64(t0, 52); /* the low 52 bits are now zero */
        for (size_t j = 0; j + 1 < L; j++) {
            __m512i t = acc[j + 1];
            t = _mm512_madd52lo_epu64(t, _mm512_load_si512(&a[j + 1]), bi);
            t = _mm512_madd52lo_epu64(t, _mm512_load_si512(&m[j + 1]), u);
            t = _mm512_madd52hi_epu64(t, _mm512_load_si512(&a[j]), bi);
            t = _mm512_madd52hi_epu64(t, _mm512_load_si512(&m[j]), u);
            acc[j] = t;
        }
        acc[L - 1] = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(z, _mm512_load_si512(&a[L - 1]), bi),
                                           _mm512_load_si512(&m[L - 1]), u);
        acc[0] = _mm512_add_epi64(acc[0], carry);
    }
    __m512i carry = z;
    for (size_t j = 0; j < L; j++) {
        const __m512i t = _mm512_add_epi64(acc[j], carry);
        carry = _mm512_srli_epi64(t, 52);
        _mm512_store_si512((__m512i *)r + j, _mm512_and_si512(t, mask));
    }
}

static inline __m512i lo52(__m512i acc, __m512i x, __m512i y) { return _mm512_madd52lo_epu64(acc, x, y); }
static inline __m512i hi52(__m512i acc, __m512i x, __m512i y) { return _mm512_madd52hi_epu64(acc, x, y); }

/* r = a^2 R^-1 (mod m), the same limbs as amm_ifma(r, a, a, ...): the reduction adds U M with
 * U the unique value in [0, R) making a^2 + U M divisible by R, whatever the order of the
 * additions, and both write (a^2 + U M) / R < 2m in normalised limbs. Nothing here depends on
 * the (secret) values: the sequence depends on L only.
 *
 * T[0..2L) are 64-bit accumulators, T[k] standing for limb k (weight 2^(52 k)):
 * 1. off-diagonal products a_i a_j (i < j) once each, lo52 into T[i + j] and hi52 into
 *    T[i + j + 1]. Rows go in pairs (i, i + 1) so that one load and store of T[k] carries
 *    four IFMAs: lo(a_i a_{k-i}), hi(a_i a_{k-i-1}), lo(a_{i+1} a_{k-i-1}), hi(a_{i+1} a_{k-i-2});
 *    a is copied with a zero limb a_L, so the terms that fall past the top vanish.
 * 2. T doubled (shift left by 1) and the squares a_i^2 added: lo52 at 2i, hi52 at 2i + 1.
 * 3. Montgomery reduction, rows again in pairs: u_i = lo52(T[i] k0) (vpmadd52luq reads the
 *    low 52 bits of T[i], which are limb i of the running sum since the carries of T[< i]
 *    have been moved up), T[i + j] += lo(u_i m_j) + hi(u_i m_{j-1}), T[i + L] +=
 *    hi(u_i m_{L-1}); T[i] is then 0 mod 2^52 and T[i] >> 52 goes into T[i + 1]. The second
 *    row's u_{i+1} is computed once T[i + 1] has received the first row's terms and carry.
 * 4. T[L..2L) normalised into r with carries.
 * Bound: T[k] receives at most L - 1 off-diagonal terms below 2^52 (doubled: 2L - 2), one
 * square half and 2L reduction terms, and one carry below 2^9: at most (4L + 2) 2^52 < 2^61
 * for L <= 120 (PPMLI_MB_MAX_LIMBS), so no lane ever overflows. */
static void sqr_ifma(uint64_t *r, const uint64_t *a8, const uint64_t *m8, uint64_t k0_, size_t L)
{
    __m512i t[2 * PPMLI_MB_MAX_LIMBS], a[PPMLI_MB_MAX_LIMBS + 1];
    const __m512i *m = (const __m512i *)m8;
    const __m512i z = _mm512_setzero_si512(), mask = _mm512_set1_epi64((long long)MASK52);
    const __m512i k0 = _mm512_set1_epi64((long long)k0_);
    for (size_t j = 0; j < L; j++) /* a copy: r may alias a8 */
        a[j] = _mm512_load_si512((const __m512i *)a8 + j);
    a[L] = z;
    for (size_t k = 0; k < 2 * L; k++)
        t[k] = z;
    /* 1. off-diagonal products; rows i < L - 1 have some (row i: T[2i + 1 .. i + L]) */
    size_t i = 0;
    for (; i + 3 <= L; i += 2) {
        const __m512i x = a[i], y = a[i + 1];
        t[2 * i + 1] = lo52(t[2 * i + 1], x, a[i + 1]);
        t[2 * i + 2] = hi52(lo52(t[2 * i + 2], x, a[i + 2]), x, a[i + 1]);
        t[2 * i + 3] = lo52(hi52(lo52(t[2 * i + 3], x, a[i + 3]), x, a[i + 2]), y, a[i + 2]);
        for (size_t k = 2 * i + 4; k <= i + L; k++)
            t[k] = hi52(lo52(hi52(lo52(t[k], x, a[k - i]), x, a[k - i - 1]), y, a[k - i - 1]), y, a[k - i - 2]);
        t[i + L + 1] = hi52(t[i + L + 1], y, a[L - 1]);
    }
    if (i + 2 == L) { /* the last row with an off-diagonal product, a_{L-2} a_{L-1} */
        t[2 * i + 1] = lo52(t[2 * i + 1], a[i], a[i + 1]);
        t[2 * i + 2] = hi52(t[2 * i + 2], a[i], a[i + 1]);
    }
    /* 2. doubled, plus the squares */
    for (i = 0; i < L; i++) {
        t[2 * i] = lo52(_mm512_slli_epi64(t[2 * i], 1), a[i], a[i]);
        t[2 * i + 1] = hi52(_mm512_slli_epi64(t[2 * i + 1], 1), a[i], a[i]);
    }
    /* 3. reduction */
    const __m512i m0 = _mm512_load_si512(&m[0]);
    for (i = 0; i + 2 <= L; i += 2) {
        const __m512i u0 = _mm512_and_si512(lo52(z, t[i], k0), mask);
        const __m512i c0 = _mm512_srli_epi64(lo52(t[i], m0, u0), 52); /* low 52 bits now zero */
        __m512i x = _mm512_add_epi64(t[i + 1], c0);
        x = hi52(lo52(x, _mm512_load_si512(&m[1]), u0), m0, u0);
        const __m512i u1 = _mm512_and_si512(lo52(z, x, k0), mask);
        const __m512i c1 = _mm512_srli_epi64(lo52(x, m0, u1), 52);
        for (size_t k = i + 2; k < i + L; k++) {
            const __m512i mj = _mm512_load_si512(&m[k - i - 1]);
            t[k] = hi52(lo52(hi52(lo52(t[k], _mm512_load_si512(&m[k - i]), u0), mj, u0), mj, u1),
                        _mm512_load_si512(&m[k - i - 2]), u1);
        }
        const __m512i mt = _mm512_load_si512(&m[L - 1]);
        t[i + L] = hi52(lo52(hi52(t[i + L], mt, u0), mt, u1), _mm512_load_si512(&m[L - 2]), u1);
        t[i + L + 1] = hi52(t[i + L + 1], mt, u1);
        t[i + 2] = _mm512_add_epi64(t[i + 2], c1);
    }
    if (i < L) { /* odd L: the last row alone */
        const __m512i u = _mm512_and_si512(lo52(z, t[i], k0), mask);
        const __m512i c = _mm512_srli_epi64(lo52(t[i], m0, u), 52);
        for (size_t j = 1; j < L; j++)
            t[i + j] = hi52(lo52(t[i + j], _mm512_load_si512(&m[j]), u), _mm512_load_si512(&m[j - 1]), u);
        t[i + L] = hi52(t[i + L], _mm512_load_si512(&m[L - 1]), u);
        t[i + 1] = _mm512_add_epi64(t[i + 1], c);
    }
    /* 4. normalise T[L..2L) into r */
    __m512i carry = z;
    for (size_t j = 0; j < L; j++) {
        const __m512i v = _mm512_add_epi64(t[L + j], carry);
        carry = _mm512_srli_epi64(v, 52);
        _mm512_store_si512((__m512i *)r + j, _mm512_and_si512(v, mask));
    }
}

/* Single-valued tables are stored limb-major (tab[j * nents + s]): limb j of every entry is
 * one row, and each lane picks its entry from the row with vpermq / vpermt2q (16 entries per
 * instruction) and a blend tree over the higher digit bits: every entry is read, the
 * permutation indices stay in registers. */
static void sel_shared(uint64_t *out, const uint64_t *tab, size_t L, size_t nents, const __m512i d)
{
    const __m512i one = _mm512_set1_epi64(1);
    __mmask8 bit[8];
    for (unsigned b = 0; b < 8; b++)
        bit[b] = _mm512_test_epi64_mask(d, _mm512_slli_epi64(one, b));
    for (size_t j = 0; j < L; j++) {
        const uint64_t *row = tab + j * nents;
        __m512i v;
        if (nents <= 8) {
            v = _mm512_permutexvar_epi64(d, _mm512_maskz_loadu_epi64((__mmask8)((1u << nents) - 1), row));
        } else {
            __m512i r[16];
            size_t nr = nents / 16;
            for (size_t c = 0; c < nr; c++)
                r[c] = _mm512_permutex2var_epi64(_mm512_loadu_si512(row + 16 * c), d,
                                                 _mm512_loadu_si512(row + 16 * c + 8));
            for (unsigned b = 4; nr > 1; b++, nr /= 2)
                for (size_t c = 0; c < nr / 2; c++)
                    r[c] = _mm512_mask_blend_epi64(bit[b], r[2 * c], r[2 * c + 1]);
            v = r[0];
        }
        _mm512_store_si512((__m512i *)out + j, v);
    }
}

static void sel_ifma(uint64_t *out, const uint64_t *tab, size_t L, size_t nents, const uint64_t *digits,
                     int shared)
{
    if (nents > 256 || (nents & (nents - 1))) /* an internal invariant: tables have 2^w entries, w <= 8 */
        abort();
    const __m512i d = _mm512_loadu_si512(digits);
    if (shared) {
        sel_shared(out, tab, L, nents, d);
        return;
    }
    __mmask8 hit[256];
    for (size_t s = 0; s < nents && s < 256; s++)
        hit[s] = _mm512_cmpeq_epi64_mask(d, _mm512_set1_epi64((long long)s));
    for (size_t j = 0; j < L; j++) {
        __m512i v = _mm512_setzero_si512();
        for (size_t s = 0; s < nents; s++)
            v = _mm512_mask_mov_epi64(v, hit[s], _mm512_load_si512((const __m512i *)(tab + (s * L + j) * 8)));
        _mm512_store_si512((__m512i *)out + j, v);
    }
}

const ppmli_mb_kernel ppmli_mb_kernel_ifma = {amm_ifma, sqr_ifma, sel_ifma};
