/* Randomness. All secrets come from the OS CSPRNG through libsodium (randombytes_buf).
 *
 * Test-only determinism: ppml_rand_set_test_seed() switches the process-wide source to a
 * ChaCha20 stream keyed by the seed. It exists for reproducible tests and is never called by
 * the library or the CLI outside an option named "--test-seed". ppml_rand_clear_test_seed()
 * returns to the OS CSPRNG.
 *
 * ppml_prg is a separate deterministic expander (ChaCha20) for protocol use: expanding a
 * public or agreed seed (BFV "a" polynomials, pairwise masks). It never reads the OS. */
#ifndef PPML_RAND_H
#define PPML_RAND_H
#include "common.h"
#include <gmp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_SEED_BYTES 32

/* Fill buf with len random bytes (OS CSPRNG, or the test stream if one is set). */
PPML_API void ppml_randombytes(void *buf, size_t len);
/* Uniform 64-bit value. Buffered per thread: cheap enough for samplers. */
PPML_API uint64_t ppml_rand_u64(void);
/* Uniform in [0, bound), bound > 0; rejection sampling, no modulo bias. */
PPML_API uint64_t ppml_rand_below(uint64_t bound);
/* Uniform mpz in [0, 2^bits). */
PPML_API void ppml_rand_mpz_bits(mpz_t out, unsigned long bits);
/* Uniform mpz in [0, bound), bound > 0. */
PPML_API void ppml_rand_mpz_below(mpz_t out, const mpz_t bound);
/* Uniform in [1, n) and coprime to n (n > 2). */
PPML_API void ppml_rand_mpz_unit(mpz_t out, const mpz_t n);

/* TEST ONLY: make all subsequent randomness a deterministic function of seed. */
PPML_API void ppml_rand_set_test_seed(const uint8_t seed[PPML_SEED_BYTES]);
PPML_API void ppml_rand_clear_test_seed(void);
PPML_API int ppml_rand_is_test_seeded(void);

/* Deterministic ChaCha20 expander. */
typedef struct ppml_prg {
    uint8_t key[32];
    uint64_t counter; /* block counter (64-byte blocks) */
    uint8_t buf[64];
    size_t pos;       /* bytes of buf already used; 64 = empty */
} ppml_prg;

PPML_API void ppml_prg_init(ppml_prg *prg, const uint8_t seed[PPML_SEED_BYTES], uint64_t stream);
/* Key prg with 32 fresh bytes of ppml_randombytes (the OS CSPRNG, or the test stream under a
 * test seed): one read expands to a long secret stream. The seed is wiped; the caller wipes
 * the PRG with ppml_prg_clear. */
PPML_API void ppml_prg_init_fresh(ppml_prg *prg);
PPML_API void ppml_prg_bytes(ppml_prg *prg, void *out, size_t len);
/* count little-endian 64-bit words (the same values on every host). */
PPML_API void ppml_prg_words(ppml_prg *prg, uint64_t *out, size_t count);
PPML_API uint64_t ppml_prg_u64(ppml_prg *prg);
PPML_API uint64_t ppml_prg_below(ppml_prg *prg, uint64_t bound);
PPML_API void ppml_prg_clear(ppml_prg *prg);

#ifdef __cplusplus
}
#endif
#endif
