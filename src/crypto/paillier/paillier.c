/* Paillier encryption (g = 1 + N), decryption and homomorphic operations (DESIGN §2).
 *
 * Secret material: p, q, the CRT constants and lambda (exponents handled with
 * mpz_powm_sec); the encryption randomness r / a (r^N has a public exponent, so mpz_powm;
 * the DJN exponent a goes through the constant-access comb). Plaintexts and scalars given to
 * mul/mul_i64 are treated as secret exponents as well (protocols multiply by blinding masks). */
#include "paillier_internal.h"
#include "ppml/fixed.h"
#include "ppml/rand.h"

#include <stdlib.h>

/* (1 + mN) * x = x + N * (m * x mod N)  (mod N^2): two half-size products instead of one
 * full multiplication by a |N^2|-bit value. */
void ppmli_paillier_mul_gm(const ppml_paillier_pk *pk, mpz_t out, const mpz_t x, const mpz_t m)
{
    mpz_t t;
    mpz_init(t);
    mpz_mul(t, m, x);
    mpz_mod(t, t, pk->n);
    mpz_mul(t, t, pk->n);
    mpz_add(t, t, x);
    mpz_mod(out, t, pk->n2);
    mpz_clear(t);
}

static int check_plain(const ppml_paillier_pk *pk, const mpz_t m)
{
    return (mpz_sgn(m) < 0 || mpz_cmp(m, pk->n) >= 0) ? PPML_ERANGE : PPML_OK;
}

int ppmli_paillier_encrypt_r(const ppml_paillier_pk *pk, mpz_t c, const mpz_t m, const mpz_t r)
{
    if (!pk || !c || !m || !r)
        return PPML_EINVAL;
    int e = check_plain(pk, m);
    if (e)
        return e;
    if (mpz_sgn(r) <= 0 || mpz_cmp(r, pk->n) >= 0)
        return PPML_ERANGE;
    mpz_t x;
    mpz_init(x);
    mpz_gcd(x, r, pk->n);
    if (mpz_cmp_ui(x, 1) != 0) {
        mpz_clear(x);
        return PPML_ECRYPTO;
    }
    mpz_powm(x, r, pk->n, pk->n2);
    ppmli_paillier_mul_gm(pk, c, x, m);
    mpz_clear(x);
    return PPML_OK;
}

int ppml_paillier_encrypt_naive(const ppml_paillier_pk *pk, mpz_t c, const mpz_t m)
{
    if (!pk || !c || !m)
        return PPML_EINVAL;
    int e = check_plain(pk, m);
    if (e)
        return e;
    mpz_t r;
    mpz_init(r);
    ppml_rand_mpz_unit(r, pk->n);
    e = ppmli_paillier_encrypt_r(pk, c, m, r);
    mpz_clear(r);
    return e;
}

static const ppmli_comb *get_comb(const ppml_paillier_pk *cpk)
{
    ppml_paillier_pk *pk = (ppml_paillier_pk *)cpk; /* lazily built cache: logically const */
    ppmli_comb *c = atomic_load_explicit(&pk->comb, memory_order_acquire);
    if (c)
        return c;
    pthread_mutex_lock(&pk->comb_lock);
    c = atomic_load_explicit(&pk->comb, memory_order_acquire);
    if (!c) {
        if (ppmli_comb_build(&c, pk->hn, pk->n2, (pk->bits + 1) / 2) != PPML_OK)
            c = NULL;
        else
            atomic_store_explicit(&pk->comb, c, memory_order_release);
    }
    pthread_mutex_unlock(&pk->comb_lock);
    return c;
}

int ppml_paillier_precompute(const ppml_paillier_pk *pk)
{
    if (!pk)
        return PPML_EINVAL;
    return get_comb(pk) ? PPML_OK : PPML_ENOMEM;
}

int ppmli_paillier_hn_pow(const ppml_paillier_pk *pk, mpz_t out, const mpz_t a)
{
    const ppmli_comb *comb = get_comb(pk);
    if (!comb)
        return PPML_ENOMEM;
    if (mpz_sgn(a) < 0 || mpz_sizeinbase(a, 2) > comb->exp_bits)
        return PPML_ERANGE;
    ppmli_comb_pow(comb, out, a, pk->n2);
    return PPML_OK;
}

int ppmli_paillier_encrypt_djn_a(const ppml_paillier_pk *pk, mpz_t c, const mpz_t m, const mpz_t a)
{
    if (!pk || !c || !m || !a)
        return PPML_EINVAL;
    int e = check_plain(pk, m);
    if (e)
        return e;
    mpz_t x;
    mpz_init(x);
    e = ppmli_paillier_hn_pow(pk, x, a);
    if (!e)
        ppmli_paillier_mul_gm(pk, c, x, m);
    mpz_clear(x);
    return e;
}

int ppml_paillier_encrypt(const ppml_paillier_pk *pk, mpz_t c, const mpz_t m)
{
    if (!pk || !c || !m)
        return PPML_EINVAL;
    int e = check_plain(pk, m);
    if (e)
        return e;
    mpz_t a;
    mpz_init(a);
    ppml_rand_mpz_bits(a, (pk->bits + 1) / 2);
    e = ppmli_paillier_encrypt_djn_a(pk, c, m, a);
    mpz_clear(a);
    return e;
}

/* out = a + P * ((b - a) * inv mod Q) (b is clobbered): the CRT join used mod N (P = p,
 * Q = q, inv = p^-1 mod q) and mod N^2 (P = p^2, Q = q^2). out may alias a. */
static void crt_combine(mpz_t out, const mpz_t a, mpz_t b, const mpz_t P, const mpz_t Q, const mpz_t inv)
{
    mpz_sub(b, b, a);
    mpz_mul(b, b, inv);
    mpz_mod(b, b, Q);
    mpz_mul(b, b, P);
    mpz_add(out, b, a);
}

void ppmli_paillier_crt_join(const ppml_paillier_sk *sk, mpz_t out, const mpz_t xp, mpz_t xq)
{
    crt_combine(out, xp, xq, sk->p2, sk->q2, sk->p2_inv_q2);
}

/* The comb for h_N mod x^2 (x = p or q), built once under the key's lock. */
static const ppmli_comb *sk_comb(const ppml_paillier_sk *csk, int which_q)
{
    ppml_paillier_sk *sk = (ppml_paillier_sk *)csk; /* the lazily built tables only */
    _Atomic(ppmli_comb *) *slot = which_q ? &sk->comb_q : &sk->comb_p;
    ppmli_comb *c = atomic_load_explicit(slot, memory_order_acquire);
    if (c || !sk->comb_lock_ok)
        return c;
    pthread_mutex_lock(&sk->comb_lock);
    c = atomic_load_explicit(slot, memory_order_acquire);
    if (!c) {
        const mpz_srcptr x2 = which_q ? sk->q2 : sk->p2;
        mpz_t base;
        mpz_init(base);
        mpz_mod(base, sk->pk->hn, x2);
        if (ppmli_comb_build(&c, base, x2, (sk->pk->bits + 1) / 2) != PPML_OK)
            c = NULL;
        else
            atomic_store_explicit(slot, c, memory_order_release);
        mpz_clear(base);
    }
    pthread_mutex_unlock(&sk->comb_lock);
    return c;
}

/* DJN with the secret key: the same h_N^a as ppml_paillier_encrypt (a uniform below
 * 2^(|N|/2)), so the same ciphertext distribution, but computed as h_N^a mod p^2 and mod q^2
 * through two combs over half-size moduli, then joined by CRT: about a third of the cost. */
int ppmli_paillier_encrypt_djn_crt_a(const ppml_paillier_sk *sk, mpz_t c, const mpz_t m, const mpz_t a)
{
    if (!sk || !c || !m || !a)
        return PPML_EINVAL;
    int e = check_plain(sk->pk, m);
    if (e)
        return e;
    if (mpz_sgn(a) < 0 || mpz_sizeinbase(a, 2) > (sk->pk->bits + 1) / 2)
        return PPML_ERANGE;
    const ppmli_comb *cp = sk_comb(sk, 0), *cq = sk_comb(sk, 1);
    if (!cp || !cq)
        return PPML_ENOMEM;
    mpz_t xp, xq;
    mpz_inits(xp, xq, NULL);
    ppmli_comb_pow(cp, xp, a, sk->p2);
    ppmli_comb_pow(cq, xq, a, sk->q2);
    ppmli_paillier_crt_join(sk, xp, xp, xq);
    ppmli_paillier_mul_gm(sk->pk, c, xp, m);
    mpz_clears(xp, xq, NULL);
    return PPML_OK;
}

int ppml_paillier_encrypt_djn_crt(const ppml_paillier_sk *sk, mpz_t c, const mpz_t m)
{
    if (!sk || !c || !m)
        return PPML_EINVAL;
    mpz_t a;
    mpz_init(a);
    ppml_rand_mpz_bits(a, (sk->pk->bits + 1) / 2);
    int e = ppmli_paillier_encrypt_djn_crt_a(sk, c, m, a);
    mpz_clear(a);
    return e;
}

int ppml_paillier_encrypt_i64(const ppml_paillier_pk *pk, mpz_t c, int64_t v)
{
    if (!pk || !c)
        return PPML_EINVAL;
    mpz_t m;
    mpz_init(m);
    ppml_fixed_to_mod(m, v, pk->n);
    int e = ppml_paillier_encrypt(pk, c, m);
    mpz_clear(m);
    return e;
}

/* r^N mod N^2 by CRT: (r mod p)^(N mod p(p-1)) mod p^2 and the same for q (r^N mod p^2
 * depends only on r mod p, and Z*_{p^2} has order p(p-1)). The exponents derive from p and
 * q, hence mpz_powm_sec. */
static void crt_rn(const ppml_paillier_sk *sk, mpz_t out, const mpz_t rp, const mpz_t rq)
{
    mpz_t xp, xq;
    mpz_inits(xp, xq, NULL);
    mpz_powm_sec(xp, rp, sk->ep, sk->p2);
    mpz_powm_sec(xq, rq, sk->eq, sk->q2);
    ppmli_paillier_crt_join(sk, out, xp, xq);
    mpz_clears(xp, xq, NULL);
}

int ppmli_paillier_encrypt_crt_r(const ppml_paillier_sk *sk, mpz_t c, const mpz_t m, const mpz_t r)
{
    if (!sk || !c || !m || !r)
        return PPML_EINVAL;
    const ppml_paillier_pk *pk = sk->pk;
    int e = check_plain(pk, m);
    if (e)
        return e;
    if (mpz_sgn(r) <= 0 || mpz_cmp(r, pk->n) >= 0)
        return PPML_ERANGE;
    mpz_t rp, rq, x;
    mpz_inits(rp, rq, x, NULL);
    mpz_mod(rp, r, sk->p);
    mpz_mod(rq, r, sk->q);
    if (mpz_sgn(rp) == 0 || mpz_sgn(rq) == 0) {
        e = PPML_ECRYPTO;
    } else {
        crt_rn(sk, x, rp, rq);
        ppmli_paillier_mul_gm(pk, c, x, m);
    }
    mpz_clears(rp, rq, x, NULL);
    return e;
}

/* Fresh randomness by CRT. The N-th residues mod p^2 are exactly the subgroup of order p - 1
 * (Z*_{p^2} = Z_p x Z_{p-1}; raising to N = pq kills the Z_p part and permutes the Z_{p-1}
 * part since gcd(q, p - 1) = 1), and s -> s^p mod p^2 maps Z*_p bijectively onto that
 * subgroup. So s^p for uniform s in Z*_p has the distribution of r^N mod p^2 for uniform r,
 * with a |p|-bit exponent instead of |N|-bit N mod p(p-1). Same for q. */
int ppml_paillier_encrypt_crt(const ppml_paillier_sk *sk, mpz_t c, const mpz_t m)
{
    if (!sk || !c || !m)
        return PPML_EINVAL;
    int e = check_plain(sk->pk, m);
    if (e)
        return e;
    mpz_t xp, xq;
    mpz_inits(xp, xq, NULL);
    do
        ppml_rand_mpz_below(xp, sk->p);
    while (mpz_sgn(xp) == 0);
    do
        ppml_rand_mpz_below(xq, sk->q);
    while (mpz_sgn(xq) == 0);
    mpz_powm_sec(xp, xp, sk->p, sk->p2);
    mpz_powm_sec(xq, xq, sk->q, sk->q2);
    ppmli_paillier_crt_join(sk, xp, xp, xq);
    ppmli_paillier_mul_gm(sk->pk, c, xp, m);
    mpz_clears(xp, xq, NULL);
    return PPML_OK;
}

int ppml_paillier_ct_check(const ppml_paillier_pk *pk, const mpz_t c)
{
    if (!pk || !c)
        return PPML_EINVAL;
    if (mpz_sgn(c) <= 0 || mpz_cmp(c, pk->n2) >= 0)
        return PPML_ERANGE;
    mpz_t g;
    mpz_init(g);
    mpz_gcd(g, c, pk->n);
    int e = mpz_cmp_ui(g, 1) == 0 ? PPML_OK : PPML_ECRYPTO;
    mpz_clear(g);
    return e;
}

/* m_x = L_x(c^(x-1) mod x^2) * h_x mod x, for x = p or q. */
static int crt_half(mpz_t out, const mpz_t c, const mpz_t x, const mpz_t x2, const mpz_t xm1,
                    const mpz_t hx)
{
    mpz_t t;
    mpz_init(t);
    mpz_mod(t, c, x2);
    if (mpz_divisible_p(t, x)) { /* gcd(c, N) != 1: not a ciphertext */
        mpz_clear(t);
        return PPML_ECRYPTO;
    }
    mpz_powm_sec(t, t, xm1, x2);
    ppmli_paillier_crt_half_finish(out, t, x, hx);
    mpz_clear(t);
    return PPML_OK;
}

void ppmli_paillier_crt_half_finish(mpz_t out, mpz_t t, const mpz_t x, const mpz_t hx)
{
    mpz_sub_ui(t, t, 1);
    mpz_divexact(t, t, x);
    mpz_mul(t, t, hx);
    mpz_mod(out, t, x);
}

void ppmli_paillier_crt_join_plain(const ppml_paillier_sk *sk, mpz_t m, const mpz_t mp, mpz_t mq)
{
    crt_combine(m, mp, mq, sk->p, sk->q, sk->p_inv_q);
}

int ppml_paillier_decrypt(const ppml_paillier_sk *sk, mpz_t m, const mpz_t c)
{
    if (!sk || !m || !c)
        return PPML_EINVAL;
    if (mpz_sgn(c) <= 0 || mpz_cmp(c, sk->pk->n2) >= 0)
        return PPML_ERANGE;
    mpz_t mp, mq;
    mpz_inits(mp, mq, NULL);
    int e = crt_half(mp, c, sk->p, sk->p2, sk->pm1, sk->hp);
    if (!e)
        e = crt_half(mq, c, sk->q, sk->q2, sk->qm1, sk->hq);
    if (!e)
        ppmli_paillier_crt_join_plain(sk, m, mp, mq);
    mpz_clears(mp, mq, NULL);
    return e;
}

int ppml_paillier_decrypt_naive(const ppml_paillier_sk *sk, mpz_t m, const mpz_t c)
{
    if (!sk || !m || !c)
        return PPML_EINVAL;
    int e = ppml_paillier_ct_check(sk->pk, c);
    if (e)
        return e;
    mpz_t t;
    mpz_init(t);
    mpz_powm_sec(t, c, sk->lambda, sk->pk->n2);
    mpz_sub_ui(t, t, 1);
    mpz_divexact(t, t, sk->pk->n);
    mpz_mul(t, t, sk->mu);
    mpz_mod(m, t, sk->pk->n);
    mpz_clear(t);
    return PPML_OK;
}

int ppml_paillier_decrypt_i64(const ppml_paillier_sk *sk, int64_t *v, const mpz_t c)
{
    if (!sk || !v || !c)
        return PPML_EINVAL;
    mpz_t m;
    mpz_init(m);
    int e = ppml_paillier_decrypt(sk, m, c);
    if (!e)
        e = ppml_fixed_centre_i64(v, m, sk->pk->n);
    mpz_clear(m);
    return e;
}

void ppml_paillier_add(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, const mpz_t b)
{
    mpz_t t;
    mpz_init(t);
    mpz_mul(t, a, b);
    mpz_mod(c, t, pk->n2);
    mpz_clear(t);
}

void ppml_paillier_neg(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a)
{
    /* A valid ciphertext is a unit mod N^2; an invalid one yields 0, which every later
     * check refuses. */
    if (!mpz_invert(c, a, pk->n2))
        mpz_set_ui(c, 0);
}

void ppml_paillier_sub(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, const mpz_t b)
{
    mpz_t t;
    mpz_init(t);
    if (!mpz_invert(t, b, pk->n2)) {
        mpz_set_ui(c, 0);
    } else {
        mpz_mul(t, t, a);
        mpz_mod(c, t, pk->n2);
    }
    mpz_clear(t);
}

void ppml_paillier_add_plain(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, const mpz_t m)
{
    mpz_t mr;
    mpz_init(mr);
    mpz_mod(mr, m, pk->n);
    ppmli_paillier_mul_gm(pk, c, a, mr);
    mpz_clear(mr);
}

/* c = a^k mod N^2 for 0 <= k; k is treated as secret (mpz_powm_sec needs k > 0). */
static void pow_secret(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, const mpz_t k)
{
    if (mpz_sgn(k) == 0)
        mpz_set_ui(c, 1);
    else
        mpz_powm_sec(c, a, k, pk->n2);
}

void ppml_paillier_mul_i64(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, int64_t k)
{
    mpz_t kk, base;
    mpz_inits(kk, base, NULL);
    if (k >= 0) {
        mpz_set_ui(kk, (unsigned long)k);
        mpz_set(base, a);
    } else {
        /* E(a)^-|k|: invert once, keep the exponent 64 bits. */
        mpz_set_ui(kk, (unsigned long)(-(k + 1)) + 1UL);
        if (!mpz_invert(base, a, pk->n2))
            mpz_set_ui(base, 0);
    }
    pow_secret(pk, c, base, kk);
    mpz_clears(kk, base, NULL);
}

void ppml_paillier_mul(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, const mpz_t k)
{
    mpz_t kk;
    mpz_init(kk);
    mpz_mod(kk, k, pk->n);
    pow_secret(pk, c, a, kk);
    mpz_clear(kk);
}

void ppml_paillier_rerandomize(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a)
{
    mpz_t r, x;
    mpz_inits(r, x, NULL);
    ppml_rand_mpz_bits(r, (pk->bits + 1) / 2);
    if (ppmli_paillier_hn_pow(pk, x, r) != PPML_OK) {
        /* Table allocation failed: fall back to r'^N with a fresh unit (same distribution
         * class: a random N-th residue). */
        ppml_rand_mpz_unit(r, pk->n);
        mpz_powm(x, r, pk->n, pk->n2);
    }
    mpz_mul(x, x, a);
    mpz_mod(c, x, pk->n2);
    mpz_clears(r, x, NULL);
}
