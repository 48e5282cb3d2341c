/* Element-wise modular vector operations with a run-time selected AVX2 path. */
#include "crypto/ntt/ring.h"

void ppmli_vec_add_avx2(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q);
void ppmli_vec_sub_avx2(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q);

void ppmli_vec_add(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q)
{
    if (ppmli_ntt_have_avx2()) {
        ppmli_vec_add_avx2(o, x, y, n, q);
        return;
    }
    for (size_t i = 0; i < n; i++)
        o[i] = ppmli_addmod(x[i], y[i], q);
}

void ppmli_vec_sub(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q)
{
    if (ppmli_ntt_have_avx2()) {
        ppmli_vec_sub_avx2(o, x, y, n, q);
        return;
    }
    for (size_t i = 0; i < n; i++)
        o[i] = ppmli_submod(x[i], y[i], q);
}
