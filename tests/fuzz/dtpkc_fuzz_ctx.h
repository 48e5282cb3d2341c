/* Deterministic DT-PKC context shared by fuzz_dtpkc_load.c and its corpus generator
 * (tests/gen/gen_dtpkc_corpus.c): 256-bit N from two fixed 128-bit safe primes (from
 * `openssl prime -generate -safe`), g and the keys drawn from a fixed test seed, so corpus
 * objects belong to the fuzz target's parameters. TEST ONLY. */
#ifndef PPML_DTPKC_FUZZ_CTX_H
#define PPML_DTPKC_FUZZ_CTX_H
#include "ppml/dtpkc.h"
#include "ppml/rand.h"

#include <stdlib.h>
#include <string.h>

/* Input format: byte 0 selects the loader, the rest is the object. */
enum { FZ_PARAMS, FZ_PK, FZ_SK, FZ_STRONG, FZ_PARTIAL, FZ_CT, FZ_CTVEC, FZ_COUNT };

typedef struct {
    ppml_dtpkc_params *pp;
    ppml_dtpkc_strong_sk *strong;
    ppml_dtpkc_partial_sk *sk1, *sk2;
    ppml_dtpkc_sk *user;
    ppml_dtpkc_ct ct; /* Enc_user(12345) */
} fz_ctx;

static inline int fz_setup(fz_ctx *c)
{
    uint8_t seed[PPML_SEED_BYTES] = {'d', 't', 'p', 'k', 'c', 'f', 'u', 'z'};
    mpz_t p, q;
    int e;
    if ((e = ppml_init()))
        return e;
    ppml_rand_set_test_seed(seed);
    mpz_init_set_str(p, "D3A88092A81E5424D89C5E2AAA1BAB93", 16);
    mpz_init_set_str(q, "CA57E44367AA54439888872DCDDFA7F7", 16);
    e = ppml_dtpkc_keygen_from_primes_insecure_for_tests(&c->pp, &c->strong, p, q);
    mpz_clears(p, q, NULL);
    if (e)
        return e;
    if ((e = ppml_dtpkc_split(&c->sk1, &c->sk2, c->strong)) || (e = ppml_dtpkc_user_keygen(&c->user, c->pp)))
        return e;
    ppml_dtpkc_ct_init(&c->ct);
    e = ppml_dtpkc_encrypt_i64(ppml_dtpkc_sk_pk(c->user), &c->ct, 12345);
    ppml_rand_clear_test_seed();
    return e;
}
#endif
