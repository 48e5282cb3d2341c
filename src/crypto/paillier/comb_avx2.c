/* AVX2 constant-time table selection for the DJN comb (compiled with -mavx2; called only
 * when the CPU has AVX2, see comb.c). */
#include "paillier_internal.h"

#include <string.h>

typedef uint64_t u64x4 __attribute__((vector_size(32)));

/* out = tab[which * stride .. + stride), reading all nents entries; stride % 16 == 0.
 * Sixteen limbs of the output stay in four registers while the entries stream past, and the
 * mask is computed without a branch, so time and memory accesses do not depend on which. */
void ppmli_ct_select_avx2(mp_limb_t *out, const mp_limb_t *tab, size_t stride, size_t nents, size_t which)
{
    _Static_assert(sizeof(mp_limb_t) == 8, "64-bit limbs expected");
    for (size_t j = 0; j < stride; j += 16) {
        u64x4 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        const mp_limb_t *src = tab + j;
        for (size_t e = 0; e < nents; e++, src += stride) {
            uint64_t d = (uint64_t)(e ^ which);
            uint64_t m = 0 - (((d - 1) >> 63) & ~(d >> 63)); /* all ones iff e == which */
            u64x4 mv = {m, m, m, m}, v0, v1, v2, v3;
            memcpy(&v0, src, 32);
            memcpy(&v1, src + 4, 32);
            memcpy(&v2, src + 8, 32);
            memcpy(&v3, src + 12, 32);
            a0 |= v0 & mv;
            a1 |= v1 & mv;
            a2 |= v2 & mv;
            a3 |= v3 & mv;
        }
        memcpy(out + j, &a0, 32);
        memcpy(out + j + 4, &a1, 32);
        memcpy(out + j + 8, &a2, 32);
        memcpy(out + j + 12, &a3, 32);
    }
}
