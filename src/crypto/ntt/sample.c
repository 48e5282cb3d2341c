/* Constant-time samplers for BFV (see ring.h). */
#include "crypto/ntt/ring.h"
#include "ppml/mem.h"
#include "ppml/rand.h"

void ppmli_sample_ternary(int8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* floor(3 * r / 2^64) is in {0, 1, 2}; its bias is below 2^-62. */
        uint64_t r = ppml_rand_u64();
        uint64_t v = (uint64_t)(((ppmli_u128)r * 3) >> 64);
        out[i] = (int8_t)((int64_t)v - 1);
    }
}

/* SWAR popcount: libgcc's __popcountdi2 (used without -mpopcnt) reads a table indexed by
 * the secret bits, so count with plain arithmetic instead. */
static inline int popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

void ppmli_sample_cbd(int8_t *out, size_t n)
{
    const uint64_t mask = ((uint64_t)1 << PPMLI_CBD_ETA) - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = ppml_rand_u64();
        int a = popcount64(r & mask), b = popcount64((r >> PPMLI_CBD_ETA) & mask);
        out[i] = (int8_t)(a - b);
    }
}

void ppmli_sample_uniform(uint64_t *out, size_t n, uint64_t q, struct ppml_prg *prg)
{
    /* Rejection from the smallest covering power of two. */
    unsigned bits = 64 - (unsigned)__builtin_clzll(q);
    uint64_t mask = bits >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        do
            v = (prg ? ppml_prg_u64(prg) : ppml_rand_u64()) & mask;
        while (v >= q);
        out[i] = v;
    }
}
