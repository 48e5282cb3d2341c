/* AVX-512 IFMA kernel of the multi-buffer Montgomery arithmetic (see mb.h): eight lanes per
 * 512-bit register, 52-bit limbs, vpmadd52luq / vpmadd52huq. Compiled with -mavx512ifma
 * (CMake, *_avx512.c) and only called after mb.c has checked the CPU.
 *
 * amm: operand scanning with one reduction step per limb of b. The accumulator is kept
 * shifted by one limb per step, so acc[j] always stands for limb i + j of the running sum.
 * Each acc[j] receives at most four 52-bit terms per step and lives for at most L steps, so
 * it stays below 4 L 2^52 + 2^12 < 2^61 for L <= 120: no carries are needed until the end. */
#include "mb.h"

#include <immintrin.h>

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

const ppmli_mb_kernel ppmli_mb_kernel_ifma = {amm_ifma, sel_ifma};
