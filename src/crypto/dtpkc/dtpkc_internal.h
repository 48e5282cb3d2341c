/* DT-PKC internals shared by keygen.c, dtpkc.c and serial.c. Never installed. */
#ifndef PPML_DTPKC_INTERNAL_H
#define PPML_DTPKC_INTERNAL_H
#include "ppml/dtpkc.h"
#include "ppml/serial.h"

struct ppml_dtpkc_params {
    mpz_t n, n2, g;
    mpz_t half_n; /* floor(N / 2): centred decoding and the key-conversion bound */
    unsigned bits;
    uint8_t id[PPML_PARAM_ID_BYTES];
};

/* Fixed-base table (fixedbase.c). */
typedef struct ppmli_fb ppmli_fb;
/* Table for base^e mod mod, 0 <= e < 2^exp_bits, w-bit digits. */
int ppmli_fb_build(ppmli_fb **out, const mpz_t base, const mpz_t mod, unsigned exp_bits, unsigned w);
/* out = base^e mod mod, constant time in the value of e (PPML_ERANGE if e is too long). */
int ppmli_fb_pow(const ppmli_fb *t, mpz_t out, const mpz_t e);
void ppmli_fb_free(ppmli_fb *t);

struct ppmli_mb;
struct ppmli_mb_comb;

struct ppml_dtpkc_pk {
    const ppml_dtpkc_params *pp; /* borrowed */
    mpz_t h;
    uint8_t id[PPML_PARAM_ID_BYTES];
    ppmli_fb *fb_g, *fb_h; /* optional tables (ppml_dtpkc_pk_precompute), owned */
    /* multi-buffer context mod N^2 and combs for g and h (precompute, where enabled), owned */
    struct ppmli_mb *mb;
    struct ppmli_mb_comb *mb_g, *mb_h;
};

struct ppml_dtpkc_sk {
    ppml_dtpkc_pk *pk; /* owned */
    mpz_t theta;       /* secret */
};

struct ppml_dtpkc_strong_sk {
    const ppml_dtpkc_params *pp; /* borrowed */
    mpz_t lambda;                /* secret: 2p'q' */
    mpz_t lambda_inv;            /* secret: lambda^-1 mod N */
};

struct ppml_dtpkc_partial_sk {
    const ppml_dtpkc_params *pp; /* borrowed */
    unsigned index;              /* 1 (CSS) or 2 (CCS) */
    mpz_t share;                 /* secret, in (0, lambda*N) */
};

/* Batched forms (many.c): eight per pass of the multi-buffer arithmetic where available.
 * rerandomize_many: c[i] = a[i] * Enc(0) with fresh randomness (c may alias a).
 * partial_decrypt_many: pd[i] = t1[i]^share, each t1[i] a unit of Z_{N^2} (PPML_ERANGE /
 * PPML_ECRYPTO otherwise). All or nothing. */
int ppmli_dtpkc_rerandomize_many(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, size_t n);
/* pack_many: out[l] for the groups l < min(8, ceil(total / cap)) of cts (group l = cts[l *
 * cap, ...)): prod_i c_i^(2^(i * slot_bits)) on T1 and T2 (out initialised, not aliasing
 * cts). */
int ppmli_dtpkc_pack_many(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *out, const ppml_dtpkc_ct *cts, size_t total,
                          size_t cap, unsigned slot_bits);
int ppmli_dtpkc_partial_decrypt_many(const ppml_dtpkc_partial_sk *sk, mpz_t *pd, mpz_srcptr const *t1, size_t n);
/* Build / free the multi-buffer tables of pk (keygen.c calls them from precompute / free). */
int ppmli_dtpkc_pk_mb_build(ppml_dtpkc_pk *pk);
void ppmli_dtpkc_pk_mb_free(ppml_dtpkc_pk *pk);

/* Fresh params object (mpz initialised, zero). NULL on allocation failure. */
ppml_dtpkc_params *ppmli_dtpkc_params_alloc(void);
/* Fill n2, half_n, bits, id from n and g. */
void ppmli_dtpkc_params_finish(ppml_dtpkc_params *pp);
/* Fresh public key for params with h set; computes the key id. */
ppml_dtpkc_pk *ppmli_dtpkc_pk_new(const ppml_dtpkc_params *pp, const mpz_t h);
/* Checks shared by loaders: x in (0, N^2) and gcd(x, N) = 1. */
int ppmli_dtpkc_check_unit(const ppml_dtpkc_params *pp, const mpz_t x);
/* Trial division of n by the odd primes below 2000: 1 if a factor is found. */
int ppmli_dtpkc_small_factor(const mpz_t n);
/* Core of keygen: builds params + strong key from safe primes. check_primes: re-verify. */
int ppmli_dtpkc_from_primes(ppml_dtpkc_params **params, ppml_dtpkc_strong_sk **strong,
                            const mpz_t p, const mpz_t q, unsigned min_bits, int check_primes);
/* Validate params for loading: sizes, odd, small factors, g. */
int ppmli_dtpkc_params_validate(const ppml_dtpkc_params *pp, unsigned min_bits);

#endif
