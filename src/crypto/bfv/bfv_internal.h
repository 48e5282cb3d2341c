/* Private definitions shared by the BFV source files (see include/ppml/bfv.h). */
#ifndef PPMLI_BFV_INTERNAL_H
#define PPMLI_BFV_INTERNAL_H
#include "crypto/ntt/ring.h"
#include "ppml/bfv.h"

#include <gmp.h>

#define BFV_MAX_AUX 20

/* Exact base extension x mod A -> x mod B for |x| < prod(A)/2 (centred), with the
 * floating-point quotient estimate of Halevi-Polyakov-Shoup:
 *   y_i = [x_i * (A/a_i)^-1]_{a_i},  v = round(sum y_i / a_i),
 *   x mod b_j = sum y_i * [A/a_i]_{b_j} - v * [A]_{b_j}. */
typedef struct bfv_bconv {
    size_t na, nb;
    const ppmli_ntt *a, *b;  /* borrowed tables: moduli of A and B */
    uint64_t hat_inv[BFV_MAX_AUX], hat_inv_sh[BFV_MAX_AUX];
    double inv_d[BFV_MAX_AUX];
    uint64_t hat_mod_b[BFV_MAX_AUX][BFV_MAX_AUX]; /* [i][j] = (A/a_i) mod b_j */
    uint64_t neg_prod_mod_b[BFV_MAX_AUX];         /* -A mod b_j */
} bfv_bconv;

struct ppml_bfv_params {
    size_t n;
    unsigned logn;
    size_t k;  /* data primes: ciphertext modulus Q */
    size_t np; /* k + 1: with the special prime P at index k */
    uint64_t t;
    int insecure;
    uint64_t primes[PPML_BFV_MAX_PRIMES];
    ppmli_ntt ntt[PPML_BFV_MAX_PRIMES];
    ppmli_ntt ntt_t;
    size_t nr;
    ppmli_ntt ntt_r[BFV_MAX_AUX];
    unsigned log_q, log_qp;
    uint8_t id[32];
    mpz_t Q;
    mpz_t qhat[PPML_BFV_MAX_PRIMES];     /* Q / q_i */
    /* batching */
    uint32_t *slot_idx; /* slot -> index in the NTT mod t */
    uint64_t tinv64;    /* t^-1 mod 2^64 */
    /* encryption: round(Q m / t) = delta*m + round(rt*m/t) */
    uint64_t delta[PPML_BFV_MAX_PRIMES], delta_sh[PPML_BFV_MAX_PRIMES];
    uint64_t rt;
    /* decryption */
    uint64_t qhat_inv[PPML_BFV_MAX_PRIMES], qhat_inv_sh[PPML_BFV_MAX_PRIMES];
    uint64_t dec_frac_hi[PPML_BFV_MAX_PRIMES], dec_frac_lo[PPML_BFV_MAX_PRIMES]; /* t*2^128/q_i */
    /* multiplication (HPS) */
    bfv_bconv q_to_r, r_to_q;
    uint64_t scale_int[PPML_BFV_MAX_PRIMES][BFV_MAX_AUX]; /* floor(t R e_i / q_i) mod r_j */
    uint64_t scale_frac[PPML_BFV_MAX_PRIMES];            /* floor(frac(t R e_i / q_i) 2^64) */
    uint64_t scale_r[BFV_MAX_AUX], scale_r_sh[BFV_MAX_AUX]; /* t Q^-1 mod r_j */
    /* key switching */
    uint64_t p_mod_q[PPML_BFV_MAX_PRIMES];
    uint64_t p_inv[PPML_BFV_MAX_PRIMES], p_inv_sh[PPML_BFV_MAX_PRIMES];
    uint64_t p_half_mod_q[PPML_BFV_MAX_PRIMES];
    uint64_t p_half;
};

struct ppml_bfv_sk {
    const ppml_bfv_params *p;
    int8_t *s;     /* coefficients in {-1,0,1} ({-2..2} for test sums) */
    uint64_t *ntt; /* [np][n]: s mod each prime, NTT form */
    uint64_t *ntt_sh; /* [np][n]: their Shoup constants (made in constant time) */
};

struct ppml_bfv_pk {
    const ppml_bfv_params *p;
    uint64_t *data; /* [2][np][n] NTT form: p0 = -a s + e, p1 = a; then [2][np][n] Shoup constants */
};

static inline size_t bfv_pk_words(const ppml_bfv_params *p) { return 4 * p->np * p->n; }
/* Fill the Shoup constants of a public key whose values are set. */
void bfv_pk_finish(ppml_bfv_pk *pk);

/* Key-switching key: for each digit i < k, (b_i, a_i) mod QP in NTT form with
 * b_i + a_i s = P g_i s' + e_i, g_i = 1 mod q_i and 0 mod q_j (j != i). */
typedef struct bfv_ksk {
    uint64_t *data; /* [k][2][np][n] */
} bfv_ksk;

struct ppml_bfv_rlk {
    const ppml_bfv_params *p;
    bfv_ksk key;
};

struct ppml_bfv_galk {
    const ppml_bfv_params *p;
    size_t count;
    uint32_t *elt; /* Galois elements (odd, < 2n), sorted */
    bfv_ksk *keys;
};

struct ppml_bfv_pt {
    const ppml_bfv_params *p;
    uint64_t *coef; /* [n] mod t */
    uint64_t *mul;  /* NULL or [2][k][n]: centred lift NTT form, Shoup constants */
};

struct ppml_bfv_ct {
    const ppml_bfv_params *p;
    size_t size;    /* 2 or 3 */
    uint64_t *data; /* [3][k][n] coefficient form, residues in [0, q_i) */
};

struct ppml_bfv_poly {
    const ppml_bfv_params *p;
    uint64_t *data; /* [np][n] NTT form */
};

struct ppml_bfv_rkg_state {
    const ppml_bfv_params *p;
    uint64_t *u; /* [np][n] NTT form of the ephemeral ternary u_j */
};

struct ppml_bfv_rkg_share {
    const ppml_bfv_params *p;
    bfv_ksk key; /* [k][2][np][n] */
};

struct ppml_bfv_decshare {
    const ppml_bfv_params *p;
    uint64_t *data; /* [k][n] coefficient form */
};

struct ppml_bfv_rkey {
    const ppml_bfv_params *p;
    bfv_ksk key;
};

static inline size_t bfv_ksk_words(const ppml_bfv_params *p) { return p->k * 2 * p->np * p->n; }
static inline uint64_t *bfv_ksk_poly(const ppml_bfv_params *p, const bfv_ksk *key, size_t digit, int which)
{
    return key->data + (digit * 2 + (size_t)which) * p->np * p->n;
}
static inline uint64_t *bfv_ct_poly(const ppml_bfv_ct *ct, size_t which)
{
    return ct->data + which * ct->p->k * ct->p->n;
}

/* Allocation of n-word aligned arrays (64-byte aligned); wiped by bfv_free_words. */
uint64_t *bfv_alloc_words(size_t words);
void bfv_free_words(uint64_t *p, size_t words);
/* Same without zeroing, for scratch that is written before it is read (still wiped on free). */
uint64_t *bfv_alloc_scratch(size_t words);

/* Small signed polynomial -> NTT form mod the primes [0, count) of p. out: [count][n]. */
void bfv_small_to_ntt(const ppml_bfv_params *p, uint64_t *out, const int8_t *v, size_t count);
/* Uniform polynomial in NTT form mod primes [0, count): from the OS or a PRG. */
void bfv_uniform_ntt(const ppml_bfv_params *p, uint64_t *out, size_t count, ppml_prg *prg);
/* Key-switching key generation: s (NTT, np primes) is the key the result decrypts under,
 * target (NTT, np primes) the secret being switched away from; a from prg if not NULL. */
int bfv_ksk_gen(const ppml_bfv_params *p, bfv_ksk *key, const uint64_t *s_ntt,
                const uint64_t *target_ntt, ppml_prg *prg);
void bfv_ksk_free(const ppml_bfv_params *p, bfv_ksk *key);
/* out0/out1 ([k][n] coefficient form) += KeySwitch(c) with c ([k][n] coefficient form). */
int bfv_keyswitch(const ppml_bfv_params *p, const bfv_ksk *key, const uint64_t *c,
                  uint64_t *out0, uint64_t *out1);
/* Galois automorphism X -> X^g on a coefficient-form polynomial mod q (out != in). */
void bfv_galois_apply(size_t n, uint32_t g, const uint64_t *in, uint64_t *out, uint64_t q);
void bfv_galois_apply_small(size_t n, uint32_t g, const int8_t *in, int8_t *out);
/* round(t/Q * x) mod t for x = [k][n] residues (coefficient form) -> out[n]. */
void bfv_scale_down_t(const ppml_bfv_params *p, const uint64_t *x, uint64_t *out);
/* Adds round(Q*m/t) to c ([k][n]). */
void bfv_add_scaled_plain(const ppml_bfv_params *p, uint64_t *c, const uint64_t *m);
/* [c0 + c1 s (+ c2 s^2)]_Q into x ([k][n], coefficient form). */
int bfv_dot_sk(const ppml_bfv_sk *sk, const ppml_bfv_ct *ct, uint64_t *x);
int bfv_pt_lift_ntt(const ppml_bfv_pt *pt, uint64_t *out, int shoup);
/* Base extension (HPS). in [na][n], out [nb][n]. work: na*n words + n doubles. */
void bfv_bconv_apply(const bfv_bconv *c, size_t n, const uint64_t *in, uint64_t *out,
                     uint64_t *ywork, double *vwork);
#endif
