/* Paillier keys: generation, construction with precomputation, validation of imported
 * moduli, accessors. */
#include "paillier_internal.h"
#include "ppml/mem.h"
#include "ppml/rand.h"

#include <stdlib.h>
#include <string.h>

/* GMP's mpz_probab_prime_p: trial division, Baillie-PSW, then reps - 24 Miller-Rabin rounds
 * (GMP >= 6.2; older versions run reps Miller-Rabin rounds). 40 leaves a random-candidate
 * error probability far below 2^-100 either way. */
#define KEYGEN_PRIME_REPS 40
/* Loaders re-check primality of p and q ("plausibility": the key came from somewhere). */
#define LOAD_PRIME_REPS 25

static atomic_int insecure_test_keys;

void ppml_paillier_allow_insecure_test_keys(int on) { atomic_store(&insecure_test_keys, on ? 1 : 0); }

unsigned ppmli_paillier_min_bits(void)
{
    return atomic_load(&insecure_test_keys) ? PPML_PAILLIER_TEST_MIN_BITS : PPML_PAILLIER_MIN_BITS;
}

/* Product of the primes below 2^14, for cheap small-factor rejection. */
static void small_primorial(mpz_t out) { mpz_primorial_ui(out, 1u << 14); }

int ppmli_paillier_check_n(const mpz_t n)
{
    if (mpz_sgn(n) <= 0 || mpz_even_p(n))
        return PPML_EFORMAT;
    size_t bits = mpz_sizeinbase(n, 2);
    if (bits > PPML_PAILLIER_MAX_BITS)
        return PPML_ERANGE;
    if (bits < ppmli_paillier_min_bits())
        return PPML_EWEAK;
    mpz_t g;
    mpz_init(g);
    small_primorial(g);
    mpz_gcd(g, g, n);
    int e = mpz_cmp_ui(g, 1) == 0 ? PPML_OK : PPML_ECRYPTO;
    mpz_clear(g);
    if (!e && mpz_perfect_power_p(n))
        e = PPML_ECRYPTO;
    return e;
}

int ppmli_paillier_pk_make(ppml_paillier_pk **out, const mpz_t n, const mpz_t hn)
{
    ppml_paillier_pk *pk = calloc(1, sizeof *pk);
    if (!pk)
        return PPML_ENOMEM;
    if (pthread_mutex_init(&pk->comb_lock, NULL) != 0) {
        free(pk);
        return PPML_ENOMEM;
    }
    mpz_init_set(pk->n, n);
    mpz_init(pk->n2);
    mpz_mul(pk->n2, n, n);
    mpz_init_set(pk->hn, hn);
    pk->bits = (unsigned)mpz_sizeinbase(n, 2);
    size_t nbytes = (mpz_sizeinbase(n, 2) + 7) / 8;
    uint8_t *be = malloc(nbytes);
    if (!be) {
        ppml_paillier_pk_free(pk);
        return PPML_ENOMEM;
    }
    mpz_export(be, NULL, 1, 1, 0, 0, n);
    ppml_hash256(pk->id, be, nbytes);
    free(be);
    atomic_init(&pk->comb, NULL);
    *out = pk;
    return PPML_OK;
}

void ppml_paillier_pk_free(ppml_paillier_pk *pk)
{
    if (!pk)
        return;
    ppmli_comb_free(atomic_load(&pk->comb));
    ppmli_paillier_mb_free(atomic_load(&pk->mb));
    pthread_mutex_destroy(&pk->comb_lock);
    mpz_clears(pk->n, pk->n2, pk->hn, NULL);
    free(pk);
}

/* h_N = (-x^2)^N mod N^2 for a random unit x (DJN). x is secret only in that it must be
 * unpredictable; the exponent N is public, so mpz_powm is fine. */
static void draw_hn(mpz_t hn, const mpz_t n, const mpz_t n2)
{
    mpz_t x;
    mpz_init(x);
    ppml_rand_mpz_unit(x, n);
    mpz_mul(x, x, x);
    mpz_neg(x, x);
    mpz_mod(x, x, n);
    mpz_powm(hn, x, n, n2);
    mpz_clear(x);
}

int ppml_paillier_pk_from_n(ppml_paillier_pk **out, const mpz_t n)
{
    if (!out || !n)
        return PPML_EINVAL;
    int e = ppmli_paillier_check_n(n);
    if (e)
        return e;
    mpz_t n2, hn;
    mpz_inits(n2, hn, NULL);
    mpz_mul(n2, n, n);
    draw_hn(hn, n, n2);
    e = ppmli_paillier_pk_make(out, n, hn);
    mpz_clears(n2, hn, NULL);
    return e;
}

int ppml_paillier_pk_dup(ppml_paillier_pk **out, const ppml_paillier_pk *pk)
{
    if (!out || !pk)
        return PPML_EINVAL;
    return ppmli_paillier_pk_make(out, pk->n, pk->hn);
}

mpz_srcptr ppml_paillier_pk_n(const ppml_paillier_pk *pk) { return pk->n; }
mpz_srcptr ppml_paillier_pk_n2(const ppml_paillier_pk *pk) { return pk->n2; }
mpz_srcptr ppml_paillier_pk_hn(const ppml_paillier_pk *pk) { return pk->hn; }
unsigned ppml_paillier_pk_bits(const ppml_paillier_pk *pk) { return pk->bits; }
const uint8_t *ppml_paillier_pk_id(const ppml_paillier_pk *pk) { return pk->id; }
const ppml_paillier_pk *ppml_paillier_sk_pk(const ppml_paillier_sk *sk) { return sk->pk; }

int ppml_paillier_pk_equal(const ppml_paillier_pk *a, const ppml_paillier_pk *b)
{
    return a && b && mpz_cmp(a->n, b->n) == 0;
}

void ppml_paillier_sk_free(ppml_paillier_sk *sk)
{
    if (!sk)
        return;
    ppml_paillier_pk_free(sk->pk);
    ppmli_comb_free(atomic_load(&sk->comb_p));
    ppmli_comb_free(atomic_load(&sk->comb_q));
    ppmli_paillier_mb_sk_free(atomic_load(&sk->mb));
    if (sk->comb_lock_ok)
        pthread_mutex_destroy(&sk->comb_lock);
    mpz_clears(sk->p, sk->q, sk->p2, sk->q2, sk->pm1, sk->qm1, sk->hp, sk->hq, sk->p_inv_q,
               sk->p2_inv_q2, sk->ep, sk->eq, sk->lambda, sk->mu, NULL);
    ppml_memzero(sk, sizeof *sk);
    free(sk);
}

/* h = L_x((1+N)^(x-1) mod x^2)^-1 mod x (Paillier's CRT decryption constant). */
static int crt_h(mpz_t h, const mpz_t n, const mpz_t x, const mpz_t x2, const mpz_t xm1)
{
    mpz_t g, t;
    mpz_inits(g, t, NULL);
    mpz_add_ui(g, n, 1);
    mpz_powm_sec(t, g, xm1, x2);
    mpz_sub_ui(t, t, 1);
    mpz_divexact(t, t, x);
    int ok = mpz_invert(h, t, x);
    mpz_clears(g, t, NULL);
    return ok ? PPML_OK : PPML_ECRYPTO;
}

int ppmli_paillier_sk_make(ppml_paillier_sk **out, ppml_paillier_pk *pk, const mpz_t p, const mpz_t q)
{
    return ppmli_paillier_sk_make_checked(out, pk, p, q, 1);
}

int ppmli_paillier_sk_make_checked(ppml_paillier_sk **out, ppml_paillier_pk *pk, const mpz_t p,
                                   const mpz_t q, int verify)
{
    int e = PPML_OK;
    mpz_t t, u;
    mpz_inits(t, u, NULL);
    /* Structural checks: all public consequences of the key, so branching is fine. */
    if (mpz_cmp_ui(p, 3) < 0 || mpz_cmp_ui(q, 3) < 0 || mpz_cmp(p, q) == 0) {
        e = PPML_EFORMAT;
        goto done;
    }
    mpz_mul(t, p, q);
    if (mpz_cmp(t, pk->n) != 0) {
        e = PPML_EMISMATCH;
        goto done;
    }
    if (verify && (!mpz_probab_prime_p(p, LOAD_PRIME_REPS) || !mpz_probab_prime_p(q, LOAD_PRIME_REPS))) {
        e = PPML_ECRYPTO;
        goto done;
    }
    ppml_paillier_sk *sk = calloc(1, sizeof *sk);
    if (!sk) {
        e = PPML_ENOMEM;
        goto done;
    }
    mpz_inits(sk->p, sk->q, sk->p2, sk->q2, sk->pm1, sk->qm1, sk->hp, sk->hq, sk->p_inv_q,
              sk->p2_inv_q2, sk->ep, sk->eq, sk->lambda, sk->mu, NULL);
    sk->comb_lock_ok = pthread_mutex_init(&sk->comb_lock, NULL) == 0;
    if (!sk->comb_lock_ok)
        e = PPML_ENOMEM;
    mpz_set(sk->p, p);
    mpz_set(sk->q, q);
    mpz_mul(sk->p2, p, p);
    mpz_mul(sk->q2, q, q);
    mpz_sub_ui(sk->pm1, p, 1);
    mpz_sub_ui(sk->qm1, q, 1);
    /* gcd(N, (p-1)(q-1)) = 1 is what makes 1 + N generate the order-N subgroup. */
    mpz_mul(t, sk->pm1, sk->qm1);
    mpz_gcd(u, t, pk->n);
    if (mpz_cmp_ui(u, 1) != 0)
        e = PPML_ECRYPTO;
    if (!e && (!mpz_invert(sk->p_inv_q, p, q) || !mpz_invert(sk->p2_inv_q2, sk->p2, sk->q2)))
        e = PPML_ECRYPTO;
    if (!e)
        e = crt_h(sk->hp, pk->n, p, sk->p2, sk->pm1);
    if (!e)
        e = crt_h(sk->hq, pk->n, q, sk->q2, sk->qm1);
    if (!e) {
        mpz_mul(t, p, sk->pm1);
        mpz_mod(sk->ep, pk->n, t);
        mpz_mul(t, q, sk->qm1);
        mpz_mod(sk->eq, pk->n, t);
        mpz_lcm(sk->lambda, sk->pm1, sk->qm1);
        if (!mpz_invert(sk->mu, sk->lambda, pk->n))
            e = PPML_ECRYPTO;
    }
    /* h_N must be an N-th residue (order dividing lambda), or DJN encryptions would not
     * decrypt: h_N^lambda = 1 mod N^2. */
    if (!e && verify) {
        mpz_gcd(u, pk->hn, pk->n);
        if (mpz_sgn(pk->hn) <= 0 || mpz_cmp(pk->hn, pk->n2) >= 0 || mpz_cmp_ui(u, 1) != 0) {
            e = PPML_ECRYPTO;
        } else {
            mpz_powm_sec(u, pk->hn, sk->lambda, pk->n2);
            if (mpz_cmp_ui(u, 1) != 0)
                e = PPML_ECRYPTO;
        }
    }
    if (e) {
        sk->pk = NULL;
        ppml_paillier_sk_free(sk);
        goto done;
    }
    sk->pk = pk;
    *out = sk;
done:
    mpz_clears(t, u, NULL);
    return e;
}

/* Random prime of exactly k bits with the top two bits set (so a product of two has exactly
 * 2k bits), from CSPRNG candidates. */
static void gen_prime(mpz_t p, unsigned k, const mpz_t primorial)
{
    mpz_t g;
    mpz_init(g);
    for (;;) {
        ppml_rand_mpz_bits(p, k);
        mpz_setbit(p, k - 1);
        mpz_setbit(p, k - 2);
        mpz_setbit(p, 0);
        mpz_gcd(g, p, primorial);
        if (mpz_cmp_ui(g, 1) != 0)
            continue;
        if (mpz_probab_prime_p(p, KEYGEN_PRIME_REPS))
            break;
    }
    mpz_clear(g);
}

static int keygen(ppml_paillier_sk **out, unsigned bits)
{
    unsigned k = bits / 2;
    int e;
    mpz_t p, q, n, d, prim, hn, n2;
    mpz_inits(p, q, n, d, prim, hn, n2, NULL);
    small_primorial(prim);
    for (;;) {
        gen_prime(p, k, prim);
        gen_prime(q, k, prim);
        mpz_sub(d, p, q);
        /* Fermat factoring needs |p - q| small; demand it has at least k - 64 bits. */
        if (mpz_sizeinbase(d, 2) + 64 < k || mpz_sgn(d) == 0)
            continue;
        mpz_mul(n, p, q);
        if (mpz_sizeinbase(n, 2) != bits)
            continue;
        mpz_sub_ui(d, p, 1);
        mpz_sub_ui(n2, q, 1);
        mpz_mul(d, d, n2);
        mpz_gcd(d, d, n);
        if (mpz_cmp_ui(d, 1) == 0)
            break;
    }
    mpz_mul(n2, n, n);
    draw_hn(hn, n, n2);
    ppml_paillier_pk *pk = NULL;
    e = ppmli_paillier_pk_make(&pk, n, hn);
    if (!e) {
        e = ppmli_paillier_sk_make_checked(out, pk, p, q, 0);
        if (e)
            ppml_paillier_pk_free(pk);
    }
    mpz_clears(p, q, n, d, prim, hn, n2, NULL);
    return e;
}

int ppml_paillier_keygen(ppml_paillier_sk **sk, unsigned bits)
{
    if (!sk)
        return PPML_EINVAL;
    if (bits < PPML_PAILLIER_MIN_BITS)
        return PPML_EWEAK;
    if (bits > PPML_PAILLIER_MAX_BITS || bits % 256 != 0)
        return PPML_EINVAL;
    return keygen(sk, bits);
}

int ppml_paillier_keygen_insecure_for_tests(ppml_paillier_sk **sk, unsigned bits)
{
    if (!sk)
        return PPML_EINVAL;
    if (bits < PPML_PAILLIER_TEST_MIN_BITS)
        return PPML_EWEAK;
    if (bits > PPML_PAILLIER_MAX_BITS || bits % 2 != 0)
        return PPML_EINVAL;
    return keygen(sk, bits);
}
