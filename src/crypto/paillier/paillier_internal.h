/* Private to the Paillier module (never installed). Tests include it for the
 * randomness-given encryption forms used by the known-answer vectors. */
#ifndef PPML_PAILLIER_INTERNAL_H
#define PPML_PAILLIER_INTERNAL_H
#include "ppml/paillier.h"
#include "ppml/serial.h"

#include <pthread.h>
#include <stdatomic.h>

/* Lim-Lee fixed-base comb for h_N (public base, secret exponent < 2^exp_bits).
 * The exponent is read as a ROWS x cols bit matrix (row i = bits [i*cols, (i+1)*cols)); the
 * table holds, for each of BLOCKS column blocks k and each ROWS-bit pattern s,
 * prod_{i in s} h_N^(2^(i*cols + k*block_cols)). An exponentiation is block_cols - 1
 * squarings and cols multiplications mod N^2. Lookups go through mpn_sec_tabselect, so the
 * memory access pattern does not depend on the (secret) exponent. */
#ifndef PPMLI_COMB_ROWS
#define PPMLI_COMB_ROWS 6
#endif
#ifndef PPMLI_COMB_BLOCKS
#define PPMLI_COMB_BLOCKS 8
#endif
#define PPMLI_COMB_ENTRIES (1u << PPMLI_COMB_ROWS)

/* Multi-buffer state of a key (many.c), built on first use where ppmli_mb_enabled(). */
struct ppmli_paillier_mb;
struct ppmli_paillier_mb_sk;
void ppmli_paillier_mb_free(struct ppmli_paillier_mb *mb);
void ppmli_paillier_mb_sk_free(struct ppmli_paillier_mb_sk *mb); /* wipes (mod p^2, q^2) */

typedef struct ppmli_comb {
    unsigned exp_bits;   /* exponents below 2^exp_bits */
    unsigned cols;       /* ceil(exp_bits / ROWS) */
    unsigned block_cols; /* ceil(cols / BLOCKS) */
    size_t limbs;        /* limbs per entry: size of N^2 rounded up to 16 */
    mp_limb_t *table;    /* BLOCKS * ENTRIES * limbs, entry 0 of each block = 1 */
} ppmli_comb;

struct ppml_paillier_pk {
    mpz_t n, n2, hn; /* modulus, N^2, DJN base h_N = (-x^2)^N mod N^2 */
    unsigned bits;   /* |N| */
    uint8_t id[32];  /* BLAKE2b-256 of N (big-endian magnitude) */
    pthread_mutex_t comb_lock;
    _Atomic(ppmli_comb *) comb; /* built on first DJN encryption */
    _Atomic(struct ppmli_paillier_mb *) mb; /* built on first batched use (many.c) */
};

struct ppml_paillier_sk {
    ppml_paillier_pk *pk; /* owned */
    /* Secret values (GMP memory, wiped on free by the ppml_init allocator). */
    mpz_t p, q, p2, q2;
    mpz_t pm1, qm1;       /* p - 1, q - 1: CRT decryption exponents */
    mpz_t hp, hq;         /* h_p = L_p((1+N)^(p-1) mod p^2)^-1 mod p, same for q */
    mpz_t p_inv_q;        /* p^-1 mod q (CRT recombination mod N) */
    mpz_t p2_inv_q2;      /* (p^2)^-1 mod q^2 (CRT recombination mod N^2) */
    mpz_t ep, eq;         /* N mod p(p-1), N mod q(q-1): CRT encryption exponents */
    mpz_t lambda, mu;     /* lcm(p-1, q-1), lambda^-1 mod N: naive decryption */
    /* DJN with the secret key (ppml_paillier_encrypt_djn_crt): combs for h_N mod p^2 and
     * mod q^2, built on first use. Secret tables (they are computed mod p^2, q^2): wiped on
     * free. */
    pthread_mutex_t comb_lock;
    int comb_lock_ok;
    _Atomic(ppmli_comb *) comb_p, comb_q;
    _Atomic(struct ppmli_paillier_mb_sk *) mb; /* built on first batched use (many.c) */
};

/* Build a public key from N and h_N (no checks beyond what the callers did). */
int ppmli_paillier_pk_make(ppml_paillier_pk **out, const mpz_t n, const mpz_t hn);
/* Build a secret key from validated p, q and a public key (takes ownership of pk on
 * success). Checks p*q = N, p != q, primality, gcd(N, phi) = 1 and that h_N is an N-th
 * residue. */
int ppmli_paillier_sk_make(ppml_paillier_sk **out, ppml_paillier_pk *pk, const mpz_t p, const mpz_t q);
/* Same; verify = 0 skips the primality and h_N checks (fresh keys from keygen). */
int ppmli_paillier_sk_make_checked(ppml_paillier_sk **out, ppml_paillier_pk *pk, const mpz_t p,
                                   const mpz_t q, int verify);
/* Minimum |N| accepted by loaders and importers right now (2048, or the test minimum). */
unsigned ppmli_paillier_min_bits(void);
/* Checks on an imported modulus: odd, min bits, <= max bits, no prime factor below 2^16. */
int ppmli_paillier_check_n(const mpz_t n);

/* Encryption with caller-given randomness (known-answer tests). */
int ppmli_paillier_encrypt_r(const ppml_paillier_pk *pk, mpz_t c, const mpz_t m, const mpz_t r);
int ppmli_paillier_encrypt_crt_r(const ppml_paillier_sk *sk, mpz_t c, const mpz_t m, const mpz_t r);
int ppmli_paillier_encrypt_djn_a(const ppml_paillier_pk *pk, mpz_t c, const mpz_t m, const mpz_t a);
int ppmli_paillier_encrypt_djn_crt_a(const ppml_paillier_sk *sk, mpz_t c, const mpz_t m, const mpz_t a);
/* h_N^a mod N^2 through the comb (a < 2^(|N|/2)). */
int ppmli_paillier_hn_pow(const ppml_paillier_pk *pk, mpz_t out, const mpz_t a);
/* out = the x mod N^2 with x = xp mod p^2 and x = xq mod q^2 (xq is clobbered); out may
 * alias xp. */
void ppmli_paillier_crt_join(const ppml_paillier_sk *sk, mpz_t out, const mpz_t xp, mpz_t xq);
/* m_x = L_x(t) * h_x mod x from t = c^(x-1) mod x^2 (x = p or q): the end of a CRT half. */
void ppmli_paillier_crt_half_finish(mpz_t out, mpz_t t, const mpz_t x, const mpz_t hx);
/* m = mp + p * ((mq - mp) * p^-1 mod q) (mq is clobbered). */
void ppmli_paillier_crt_join_plain(const ppml_paillier_sk *sk, mpz_t m, const mpz_t mp, mpz_t mq);

/* Batched forms (many.c): the same results and distributions as one call per element,
 * eight elements per pass on the multi-buffer arithmetic where ppmli_mb_enabled(), one at a
 * time otherwise. All or nothing: on failure the outputs are left as they were. Outputs may
 * alias inputs. Thread-safe (the keys' tables are built once under their locks). */
int ppmli_paillier_encrypt_many(const ppml_paillier_pk *pk, mpz_t *c, const mpz_t *m, size_t n);
int ppmli_paillier_encrypt_sk_many(const ppml_paillier_sk *sk, mpz_t *c, const mpz_t *m, size_t n);
int ppmli_paillier_decrypt_many(const ppml_paillier_sk *sk, mpz_t *m, const mpz_t *c, size_t n);
int ppmli_paillier_rerandomize_many(const ppml_paillier_pk *pk, mpz_t *c, const mpz_t *a, size_t n);
/* The key's multi-buffer context modulo N^2, or NULL (not enabled, or out of memory). */
struct ppmli_mb;
const struct ppmli_mb *ppmli_paillier_pk_mb(const ppml_paillier_pk *pk);

/* out = (1 + mN) * x mod N^2, m in [0, N). */
void ppmli_paillier_mul_gm(const ppml_paillier_pk *pk, mpz_t out, const mpz_t x, const mpz_t m);

/* out = tab[which * stride .. + stride) reading every one of the nents entries (constant
 * time): AVX2 where the CPU has it and stride % 16 == 0, mpn_sec_tabselect otherwise. */
void ppmli_ct_select(mp_limb_t *out, const mp_limb_t *tab, size_t stride, size_t nents, size_t which);
/* AVX2 selection (comb_avx2.c); stride must be a multiple of 16 limbs. */
void ppmli_ct_select_avx2(mp_limb_t *out, const mp_limb_t *tab, size_t stride, size_t nents, size_t which);

/* TEST ONLY: use the portable selection even where AVX2 is available. */
void ppmli_comb_force_generic(int on);

void ppmli_comb_free(ppmli_comb *comb);
int ppmli_comb_build(ppmli_comb **out, const mpz_t base, const mpz_t mod, unsigned exp_bits);
void ppmli_comb_pow(const ppmli_comb *comb, mpz_t out, const mpz_t e, const mpz_t mod);

#endif
