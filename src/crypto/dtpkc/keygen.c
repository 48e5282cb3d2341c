/* DT-PKC key generation: safe primes, public parameters, strong key and its split, user keys.
 * Who receives what (DESIGN §4 set-up): the TA runs all of this; params are public, the
 * strong key stays with the TA (or is discarded), SK1 goes to CSS, SK2 to CCS, and each user
 * key pair to its owner (the public half is published). */
#include "dtpkc_internal.h"
#include "ppml/mem.h"
#include "ppml/rand.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Sieve bound for the safe-prime search: small primes below 2^16. */
#define SIEVE_PRIME_BOUND 65536u
/* Candidates per sieve window (offsets k of q' = q0 + 6k). */
#define SIEVE_WINDOW 8192u
/* mpz_probab_prime_p repetitions: BPSW plus reps - 24 Miller-Rabin rounds (GMP >= 6.2). */
#define PRIME_REPS 32

/* Odd primes 3 .. bound-1 (simple Eratosthenes). Caller frees. */
static uint32_t *small_primes(unsigned bound, size_t *count)
{
    uint8_t *composite = calloc(bound, 1);
    uint32_t *list = malloc(sizeof *list * (bound / 2));
    size_t n = 0;
    if (!composite || !list) {
        free(composite);
        free(list);
        return NULL;
    }
    for (unsigned i = 3; i < bound; i += 2) {
        if (composite[i])
            continue;
        list[n++] = i;
        for (unsigned long j = (unsigned long)i * i; j < bound; j += 2ul * i)
            composite[j] = 1;
    }
    free(composite);
    *count = n;
    return list;
}

int ppmli_dtpkc_small_factor(const mpz_t n)
{
    /* Every odd d < 2000: a composite d divides n only if one of its smaller prime factors
     * does, so this is trial division by the odd primes below 2000. */
    for (unsigned long d = 3; d < 2000; d += 2)
        if (mpz_cmp_ui(n, d) != 0 && mpz_divisible_ui_p(n, d))
            return 1;
    return 0;
}

/* (a * b) mod m for small values. */
static uint32_t mulmod32(uint32_t a, uint32_t b, uint32_t m) { return (uint32_t)((uint64_t)a * b % m); }

static uint32_t inv_mod_small(uint32_t a, uint32_t m)
{
    /* m prime, a != 0 mod m: a^(m-2) mod m. */
    uint32_t r = 1, base = a % m, e = m - 2;
    while (e) {
        if (e & 1)
            r = mulmod32(r, base, m);
        base = mulmod32(base, base, m);
        e >>= 1;
    }
    return r;
}

int ppml_dtpkc_safe_prime(mpz_t p, unsigned bits, ppml_dtpkc_progress_fn progress, void *ctx,
                          unsigned prime_index)
{
    if (bits < 64 || bits > PPML_DTPKC_MAX_BITS)
        return PPML_EINVAL;
    size_t nprimes;
    uint32_t *primes = small_primes(SIEVE_PRIME_BOUND, &nprimes);
    uint8_t *marked = malloc(SIEVE_WINDOW);
    if (!primes || !marked) {
        free(primes);
        free(marked);
        return PPML_ENOMEM;
    }
    mpz_t q0, qp, cand, two, t;
    mpz_inits(q0, qp, cand, two, t, NULL);
    mpz_set_ui(two, 2);
    uint64_t tested = 0;
    int found = 0;
    while (!found) {
        /* q' of bits-1 bits with its top two bits set, q' = 5 mod 6 (odd, and neither q' nor
         * 2q'+1 divisible by 3). */
        ppml_rand_mpz_bits(q0, bits - 1);
        mpz_setbit(q0, bits - 2);
        mpz_setbit(q0, bits - 3);
        unsigned long r6 = mpz_fdiv_ui(q0, 6);
        mpz_add_ui(q0, q0, (5 + 6 - r6) % 6);
        memset(marked, 0, SIEVE_WINDOW);
        /* Mark k where q0 + 6k = 0 or (s-1)/2 mod s (then s | q' or s | 2q'+1). Index 0 of
         * primes is 3, handled by the residue class. */
        for (size_t i = 1; i < nprimes; i++) {
            uint32_t s = primes[i];
            uint32_t rem = (uint32_t)mpz_fdiv_ui(q0, s);
            uint32_t inv6 = inv_mod_small(6, s);
            uint32_t bad[2] = {(uint32_t)((s - rem) % s), (uint32_t)(((s - 1) / 2 + s - rem) % s)};
            for (int b = 0; b < 2; b++)
                for (uint32_t k = mulmod32(bad[b], inv6, s); k < SIEVE_WINDOW; k += s)
                    marked[k] = 1;
        }
        for (uint32_t k = 0; k < SIEVE_WINDOW && !found; k++) {
            if (marked[k])
                continue;
            mpz_add_ui(qp, q0, 6ul * k);
            if (mpz_sizeinbase(qp, 2) != bits - 1)
                break;
            tested++;
            if (progress && tested % 256 == 0)
                progress(ctx, prime_index, tested);
            /* p = 2q'+1; a safe prime has 2^q' = +-1 mod p (Euler's criterion). */
            mpz_mul_2exp(cand, qp, 1);
            mpz_add_ui(cand, cand, 1);
            mpz_powm(t, two, qp, cand);
            if (mpz_cmp_ui(t, 1) != 0) {
                mpz_add_ui(t, t, 1);
                if (mpz_cmp(t, cand) != 0)
                    continue;
            }
            /* Fermat base 2 on q'. */
            mpz_sub_ui(t, qp, 1);
            mpz_powm(t, two, t, qp);
            if (mpz_cmp_ui(t, 1) != 0)
                continue;
            if (mpz_probab_prime_p(qp, PRIME_REPS) && mpz_probab_prime_p(cand, PRIME_REPS))
                found = 1;
        }
    }
    if (progress)
        progress(ctx, prime_index, tested);
    mpz_swap(p, cand);
    mpz_clears(q0, qp, cand, two, t, NULL);
    free(primes);
    free(marked);
    return PPML_OK;
}

ppml_dtpkc_params *ppmli_dtpkc_params_alloc(void)
{
    ppml_dtpkc_params *pp = calloc(1, sizeof *pp);
    if (pp)
        mpz_inits(pp->n, pp->n2, pp->g, pp->half_n, NULL);
    return pp;
}

void ppmli_dtpkc_params_finish(ppml_dtpkc_params *pp)
{
    static const char tag[] = "ppml-dtpkc-params-v1";
    mpz_mul(pp->n2, pp->n, pp->n);
    mpz_fdiv_q_2exp(pp->half_n, pp->n, 1);
    pp->bits = (unsigned)mpz_sizeinbase(pp->n, 2);
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_bytes(&w, tag, sizeof tag);
    ppml_write_mpz(&w, pp->n);
    ppml_write_mpz(&w, pp->g);
    if (w.err)
        abort(); /* only allocation can fail here; objects are far below the cap */
    ppml_hash256(pp->id, w.data, w.len);
    ppml_writer_clear(&w);
}

void ppml_dtpkc_params_free(ppml_dtpkc_params *pp)
{
    if (!pp)
        return;
    mpz_clears(pp->n, pp->n2, pp->g, pp->half_n, NULL);
    free(pp);
}

ppml_dtpkc_pk *ppmli_dtpkc_pk_new(const ppml_dtpkc_params *pp, const mpz_t h)
{
    static const char tag[] = "ppml-dtpkc-pk-v1";
    ppml_dtpkc_pk *pk = calloc(1, sizeof *pk);
    if (!pk)
        return NULL;
    pk->pp = pp;
    mpz_init_set(pk->h, h);
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_bytes(&w, tag, sizeof tag);
    ppml_write_bytes(&w, pp->id, sizeof pp->id);
    ppml_write_mpz(&w, h);
    if (w.err) {
        ppml_writer_clear(&w);
        mpz_clear(pk->h);
        free(pk);
        return NULL;
    }
    ppml_hash256(pk->id, w.data, w.len);
    ppml_writer_clear(&w);
    return pk;
}

void ppml_dtpkc_pk_free(ppml_dtpkc_pk *pk)
{
    if (!pk)
        return;
    ppmli_fb_free(pk->fb_g);
    ppmli_fb_free(pk->fb_h);
    ppmli_dtpkc_pk_mb_free(pk);
    mpz_clear(pk->h);
    free(pk);
}

int ppml_dtpkc_pk_dup(ppml_dtpkc_pk **out, const ppml_dtpkc_pk *pk)
{
    ppml_dtpkc_pk *c = ppmli_dtpkc_pk_new(pk->pp, pk->h);
    if (!c)
        return PPML_ENOMEM;
    *out = c;
    return PPML_OK;
}

/* Window width of the encryption tables: 4 bits, 2^4 entries per digit (1 MiB per base at
 * |N| = 2048). */
#define FB_WINDOW 4

int ppml_dtpkc_pk_precompute(ppml_dtpkc_pk *pk)
{
    if (pk->fb_g && pk->fb_h)
        return ppmli_dtpkc_pk_mb_build(pk);
    const ppml_dtpkc_params *pp = pk->pp;
    ppmli_fb *tg = NULL, *th = NULL;
    int e = ppmli_fb_build(&tg, pp->g, pp->n2, pp->bits / 4, FB_WINDOW);
    if (!e)
        e = ppmli_fb_build(&th, pk->h, pp->n2, pp->bits / 4, FB_WINDOW);
    if (e) {
        ppmli_fb_free(tg);
        return e;
    }
    ppmli_fb_free(pk->fb_g);
    ppmli_fb_free(pk->fb_h);
    pk->fb_g = tg;
    pk->fb_h = th;
    return ppmli_dtpkc_pk_mb_build(pk);
}

int ppml_dtpkc_sk_precompute(ppml_dtpkc_sk *sk) { return ppml_dtpkc_pk_precompute(sk->pk); }

void ppml_dtpkc_sk_free(ppml_dtpkc_sk *sk)
{
    if (!sk)
        return;
    ppml_dtpkc_pk_free(sk->pk);
    ppml_mpz_clear_secret(sk->theta);
    sodium_memzero(sk, sizeof *sk);
    free(sk);
}

static ppml_dtpkc_strong_sk *strong_alloc(const ppml_dtpkc_params *pp)
{
    ppml_dtpkc_strong_sk *s = calloc(1, sizeof *s);
    if (s) {
        s->pp = pp;
        mpz_inits(s->lambda, s->lambda_inv, NULL);
    }
    return s;
}

void ppml_dtpkc_strong_free(ppml_dtpkc_strong_sk *sk)
{
    if (!sk)
        return;
    ppml_mpz_clear_secret(sk->lambda);
    ppml_mpz_clear_secret(sk->lambda_inv);
    sodium_memzero(sk, sizeof *sk);
    free(sk);
}

void ppml_dtpkc_partial_free(ppml_dtpkc_partial_sk *sk)
{
    if (!sk)
        return;
    ppml_mpz_clear_secret(sk->share);
    sodium_memzero(sk, sizeof *sk);
    free(sk);
}

/* p safe prime: p odd, p and (p-1)/2 probable primes. */
static int is_safe_prime(const mpz_t p)
{
    if (mpz_cmp_ui(p, 7) < 0 || mpz_even_p(p))
        return 0;
    mpz_t h;
    mpz_init(h);
    mpz_sub_ui(h, p, 1);
    mpz_fdiv_q_2exp(h, h, 1);
    int ok = mpz_probab_prime_p(h, PRIME_REPS) && mpz_probab_prime_p(p, PRIME_REPS);
    mpz_clear(h);
    return ok;
}

int ppmli_dtpkc_from_primes(ppml_dtpkc_params **params, ppml_dtpkc_strong_sk **strong,
                            const mpz_t p, const mpz_t q, unsigned min_bits, int check_primes)
{
    /* Balanced factors: |p| = |q| (an unbalanced N is easier to factor). */
    if (mpz_cmp(p, q) == 0 || mpz_sgn(p) <= 0 || mpz_sgn(q) <= 0 ||
        mpz_sizeinbase(p, 2) != mpz_sizeinbase(q, 2))
        return PPML_EINVAL;
    if (check_primes && (!is_safe_prime(p) || !is_safe_prime(q)))
        return PPML_EINVAL;
    int e = PPML_OK;
    ppml_dtpkc_params *pp = ppmli_dtpkc_params_alloc();
    ppml_dtpkc_strong_sk *sk = pp ? strong_alloc(pp) : NULL;
    mpz_t pp_, qp_, a, t, e2n, gcdv;
    mpz_inits(pp_, qp_, a, t, e2n, gcdv, NULL);
    if (!pp || !sk) {
        e = PPML_ENOMEM;
        goto done;
    }
    mpz_mul(pp->n, p, q);
    size_t nbits = mpz_sizeinbase(pp->n, 2);
    if (nbits > PPML_DTPKC_MAX_BITS) {
        e = PPML_EINVAL;
        goto done;
    }
    if (nbits < min_bits) {
        e = PPML_EWEAK;
        goto done;
    }
    /* p' = (p-1)/2, q' = (q-1)/2; lambda = lcm(p-1, q-1) = 2p'q' (see dtpkc.h for why not
     * p'q'). gcd(lambda, N) = 1 unless p' = q or q' = p. */
    mpz_sub_ui(pp_, p, 1);
    mpz_fdiv_q_2exp(pp_, pp_, 1);
    mpz_sub_ui(qp_, q, 1);
    mpz_fdiv_q_2exp(qp_, qp_, 1);
    mpz_mul(sk->lambda, pp_, qp_);
    mpz_mul_2exp(sk->lambda, sk->lambda, 1);
    mpz_gcd(gcdv, sk->lambda, pp->n);
    if (mpz_cmp_ui(gcdv, 1) != 0 || mpz_invert(sk->lambda_inv, sk->lambda, pp->n) == 0) {
        e = PPML_EINVAL;
        goto done;
    }
    mpz_mul(pp->n2, pp->n, pp->n);
    mpz_mul_2exp(e2n, pp->n, 1);
    /* g = -a^(2N) mod N^2, retried until its order is exactly 2p'q':
     * g^(p'q') = -1, g^(2p') != 1, g^(2q') != 1 (order divides 2p'q'). */
    for (int tries = 0;; tries++) {
        if (tries == 64) { /* probability ~ 2^-64 * ... : only reachable with bad primes */
            e = PPML_ECRYPTO;
            goto done;
        }
        ppml_rand_mpz_unit(a, pp->n2);
        mpz_powm(t, a, e2n, pp->n2);
        mpz_sub(pp->g, pp->n2, t);
        mpz_fdiv_q_2exp(t, sk->lambda, 1);
        mpz_powm_sec(t, pp->g, t, pp->n2);
        mpz_add_ui(t, t, 1);
        if (mpz_cmp(t, pp->n2) != 0)
            continue;
        mpz_mul_2exp(t, pp_, 1);
        mpz_powm_sec(t, pp->g, t, pp->n2);
        if (mpz_cmp_ui(t, 1) == 0)
            continue;
        mpz_mul_2exp(t, qp_, 1);
        mpz_powm_sec(t, pp->g, t, pp->n2);
        if (mpz_cmp_ui(t, 1) == 0)
            continue;
        break;
    }
    ppmli_dtpkc_params_finish(pp);
    *params = pp;
    *strong = sk;
    pp = NULL;
    sk = NULL;
done:
    ppml_dtpkc_strong_free(sk);
    ppml_dtpkc_params_free(pp);
    mpz_clears(pp_, qp_, a, t, e2n, gcdv, NULL);
    return e;
}

static int keygen_bits(ppml_dtpkc_params **params, ppml_dtpkc_strong_sk **strong, unsigned bits,
                       unsigned min_bits, ppml_dtpkc_progress_fn progress, void *ctx)
{
    if (bits < min_bits)
        return PPML_EWEAK;
    if (bits > PPML_DTPKC_MAX_BITS || bits % 2)
        return PPML_EINVAL;
    mpz_t p, q;
    mpz_inits(p, q, NULL);
    int e = ppml_dtpkc_safe_prime(p, bits / 2, progress, ctx, 0);
    while (!e) {
        e = ppml_dtpkc_safe_prime(q, bits / 2, progress, ctx, 1);
        if (!e && mpz_cmp(p, q) != 0)
            break;
    }
    if (!e)
        e = ppmli_dtpkc_from_primes(params, strong, p, q, min_bits, 0);
    ppml_mpz_clear_secret(p);
    ppml_mpz_clear_secret(q);
    return e;
}

int ppml_dtpkc_keygen(ppml_dtpkc_params **params, ppml_dtpkc_strong_sk **strong, unsigned bits,
                      ppml_dtpkc_progress_fn progress, void *ctx)
{
    if (bits >= PPML_DTPKC_MIN_BITS && bits % 256)
        return PPML_EINVAL;
    return keygen_bits(params, strong, bits, PPML_DTPKC_MIN_BITS, progress, ctx);
}

int ppml_dtpkc_keygen_insecure_for_tests(ppml_dtpkc_params **params, ppml_dtpkc_strong_sk **strong,
                                         unsigned bits)
{
    return keygen_bits(params, strong, bits, PPML_DTPKC_TEST_MIN_BITS, NULL, NULL);
}

int ppml_dtpkc_keygen_from_primes(ppml_dtpkc_params **params, ppml_dtpkc_strong_sk **strong,
                                  const mpz_t p, const mpz_t q)
{
    return ppmli_dtpkc_from_primes(params, strong, p, q, PPML_DTPKC_MIN_BITS, 1);
}

int ppml_dtpkc_keygen_from_primes_insecure_for_tests(ppml_dtpkc_params **params,
                                                     ppml_dtpkc_strong_sk **strong,
                                                     const mpz_t p, const mpz_t q)
{
    return ppmli_dtpkc_from_primes(params, strong, p, q, PPML_DTPKC_TEST_MIN_BITS, 1);
}

int ppml_dtpkc_split(ppml_dtpkc_partial_sk **sk1, ppml_dtpkc_partial_sk **sk2,
                     const ppml_dtpkc_strong_sk *strong)
{
    const ppml_dtpkc_params *pp = strong->pp;
    ppml_dtpkc_partial_sk *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return PPML_ENOMEM;
    }
    a->pp = b->pp = pp;
    a->index = 1;
    b->index = 2;
    mpz_inits(a->share, b->share, NULL);
    mpz_t s, m;
    mpz_inits(s, m, NULL);
    /* s = lambda * (lambda^-1 mod N): 0 mod lambda, 1 mod N. m = lambda*N, the exponent of
     * Z*_{N^2}. SK1 uniform in [0, m), SK2 = s - SK1 mod m; redrawn in the negligible event
     * that either is 0 (mpz_powm_sec needs a positive exponent). */
    mpz_mul(s, strong->lambda, strong->lambda_inv);
    mpz_mul(m, strong->lambda, pp->n);
    do {
        ppml_rand_mpz_below(a->share, m);
        mpz_sub(b->share, s, a->share);
        mpz_mod(b->share, b->share, m);
    } while (mpz_sgn(a->share) == 0 || mpz_sgn(b->share) == 0);
    ppml_mpz_clear_secret(s);
    ppml_mpz_clear_secret(m);
    *sk1 = a;
    *sk2 = b;
    return PPML_OK;
}

int ppml_dtpkc_user_keygen(ppml_dtpkc_sk **out, const ppml_dtpkc_params *pp)
{
    ppml_dtpkc_sk *sk = calloc(1, sizeof *sk);
    if (!sk)
        return PPML_ENOMEM;
    mpz_init(sk->theta);
    mpz_t h;
    mpz_init(h);
    /* theta uniform in [1, 2^(|N|/4)). */
    do {
        ppml_rand_mpz_bits(sk->theta, pp->bits / 4);
    } while (mpz_sgn(sk->theta) == 0);
    mpz_powm_sec(h, pp->g, sk->theta, pp->n2);
    sk->pk = ppmli_dtpkc_pk_new(pp, h);
    mpz_clear(h);
    if (!sk->pk) {
        ppml_dtpkc_sk_free(sk);
        return PPML_ENOMEM;
    }
    *out = sk;
    return PPML_OK;
}
