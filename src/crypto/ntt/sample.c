/* Constant-time samplers for BFV (see ring.h).
 *
 * Randomness is drawn in bulk: each call takes a fresh 32-byte seed from ppml_randombytes
 * (the OS CSPRNG, or the test stream under a test seed) and expands it with the ChaCha20
 * PRG, so one syscall serves a whole polynomial; the expanded words are wiped after use.
 * Public polynomials can instead come from a caller's PRG (e.g. an agreed seed). */
#include "crypto/ntt/ring.h"
#include "ppml/mem.h"
#include "ppml/rand.h"

#define CHUNK 256

void ppmli_sample_ternary(int8_t *out, size_t n)
{
    uint64_t buf[CHUNK];
    ppml_prg prg;
    ppml_prg_init_fresh(&prg);
    for (size_t base = 0; base < n; base += CHUNK) {
        size_t m = n - base < CHUNK ? n - base : CHUNK;
        ppml_prg_words(&prg, buf, m);
        for (size_t i = 0; i < m; i++) {
            /* floor(3 r / 2^64) is in {0, 1, 2}; its bias is below 2^-62. */
            uint64_t v = (uint64_t)(((ppmli_u128)buf[i] * 3) >> 64);
            out[base + i] = (int8_t)((int64_t)v - 1);
        }
    }
    ppml_memzero(buf, sizeof buf);
    ppml_prg_clear(&prg);
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
    uint64_t buf[CHUNK];
    ppml_prg prg;
    ppml_prg_init_fresh(&prg);
    for (size_t base = 0; base < n; base += CHUNK) {
        size_t m = n - base < CHUNK ? n - base : CHUNK;
        ppml_prg_words(&prg, buf, m);
        for (size_t i = 0; i < m; i++) {
            uint64_t r = buf[i];
            int a = popcount64(r & mask), b = popcount64((r >> PPMLI_CBD_ETA) & mask);
            out[base + i] = (int8_t)(a - b);
        }
    }
    ppml_memzero(buf, sizeof buf);
    ppml_prg_clear(&prg);
}

void ppmli_sample_uniform(uint64_t *out, size_t n, uint64_t q, struct ppml_prg *prg)
{
    /* Rejection from the smallest covering power of two (acceptance > 1/2). The PRG stream
     * is consumed in blocks of CHUNK words, so a seed always expands to the same output. */
    unsigned bits = 64 - (unsigned)__builtin_clzll(q);
    uint64_t mask = bits >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << bits) - 1);
    uint64_t buf[CHUNK];
    ppml_prg local;
    ppml_prg *src = prg;
    if (!src) {
        ppml_prg_init_fresh(&local);
        src = &local;
    }
    size_t filled = 0;
    while (filled < n) {
        ppml_prg_words(src, buf, CHUNK);
        for (size_t i = 0; i < CHUNK && filled < n; i++) {
            uint64_t v = buf[i] & mask;
            if (v < q)
                out[filled++] = v;
        }
    }
    ppml_memzero(buf, sizeof buf);
    if (!prg)
        ppml_prg_clear(&local);
}
