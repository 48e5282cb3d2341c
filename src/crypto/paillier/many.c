/* Batched Paillier operations (paillier_internal.h) on the multi-buffer Montgomery
 * arithmetic of crypto/mb: eight exponentiations per pass where the CPU has AVX-512 IFMA.
 * Each function computes exactly what the one-element form computes, with the same
 * randomness distribution (DJN exponents uniform below 2^(|N|/2), from the OS CSPRNG), so
 * the two paths are interchangeable; without IFMA the one-element forms run.
 *
 * Secrets: DJN exponents (through the comb's masked selection), the CRT moduli p^2, q^2 and
 * exponents p - 1, q - 1 (the multi-exponentiation reads every window-table entry). The
 * per-key contexts and tables modulo p^2 and q^2 are wiped on free. */
#include "paillier_internal.h"

#include "crypto/mb/mb.h"
#include "ppml/mem.h"
#include "ppml/rand.h"

#include <stdlib.h>

#define LANES PPMLI_MB_LANES

struct ppmli_paillier_mb {
    ppmli_mb n2;
    ppmli_mb_comb *hn; /* h_N mod N^2, exponents below 2^(|N|/2) */
};

struct ppmli_paillier_mb_sk {
    ppmli_mb p2, q2;
    ppmli_mb_comb *hp, *hq; /* h_N mod p^2 and mod q^2 */
};

void ppmli_paillier_mb_free(struct ppmli_paillier_mb *mb)
{
    if (!mb)
        return;
    ppmli_mb_comb_free(mb->hn);
    ppmli_mb_clear(&mb->n2);
    free(mb);
}

void ppmli_paillier_mb_sk_free(struct ppmli_paillier_mb_sk *mb)
{
    if (!mb)
        return;
    ppmli_mb_comb_free(mb->hp);
    ppmli_mb_comb_free(mb->hq);
    ppmli_mb_clear(&mb->p2);
    ppmli_mb_clear(&mb->q2);
    ppml_memzero(mb, sizeof *mb);
    free(mb);
}

static unsigned djn_bits(const ppml_paillier_pk *pk) { return (pk->bits + 1) / 2; }

static struct ppmli_paillier_mb *pk_mb(const ppml_paillier_pk *cpk)
{
    if (!ppmli_mb_enabled())
        return NULL;
    ppml_paillier_pk *pk = (ppml_paillier_pk *)cpk; /* lazily built cache: logically const */
    struct ppmli_paillier_mb *mb = atomic_load_explicit(&pk->mb, memory_order_acquire);
    if (mb)
        return mb;
    pthread_mutex_lock(&pk->comb_lock);
    mb = atomic_load_explicit(&pk->mb, memory_order_acquire);
    if (!mb && (mb = calloc(1, sizeof *mb)) != NULL) {
        if (ppmli_mb_init(&mb->n2, pk->n2) != PPML_OK ||
            ppmli_mb_comb_new(&mb->n2, &mb->hn, pk->hn, djn_bits(pk)) != PPML_OK) {
            ppmli_paillier_mb_free(mb);
            mb = NULL;
        } else {
            atomic_store_explicit(&pk->mb, mb, memory_order_release);
        }
    }
    pthread_mutex_unlock(&pk->comb_lock);
    return mb;
}

const struct ppmli_mb *ppmli_paillier_pk_mb(const ppml_paillier_pk *pk)
{
    struct ppmli_paillier_mb *mb = pk ? pk_mb(pk) : NULL;
    return mb ? &mb->n2 : NULL;
}

static struct ppmli_paillier_mb_sk *sk_mb(const ppml_paillier_sk *csk)
{
    if (!ppmli_mb_enabled() || !csk->comb_lock_ok)
        return NULL;
    ppml_paillier_sk *sk = (ppml_paillier_sk *)csk; /* the lazily built tables only */
    struct ppmli_paillier_mb_sk *mb = atomic_load_explicit(&sk->mb, memory_order_acquire);
    if (mb)
        return mb;
    pthread_mutex_lock(&sk->comb_lock);
    mb = atomic_load_explicit(&sk->mb, memory_order_acquire);
    if (!mb && (mb = calloc(1, sizeof *mb)) != NULL) {
        int ok = ppmli_mb_init(&mb->p2, sk->p2) == PPML_OK && ppmli_mb_init(&mb->q2, sk->q2) == PPML_OK;
        mpz_t base;
        mpz_init(base);
        if (ok) {
            mpz_mod(base, sk->pk->hn, sk->p2);
            ok = ppmli_mb_comb_new(&mb->p2, &mb->hp, base, djn_bits(sk->pk)) == PPML_OK;
        }
        if (ok) {
            mpz_mod(base, sk->pk->hn, sk->q2);
            ok = ppmli_mb_comb_new(&mb->q2, &mb->hq, base, djn_bits(sk->pk)) == PPML_OK;
        }
        mpz_clear(base);
        if (!ok) {
            ppmli_paillier_mb_sk_free(mb);
            mb = NULL;
        } else {
            atomic_store_explicit(&sk->mb, mb, memory_order_release);
        }
    }
    pthread_mutex_unlock(&sk->comb_lock);
    return mb;
}

/* ---- helpers ---- */

/* Swap the results into out when rc is PPML_OK; free the temporaries either way. */
static int tmp_finish(mpz_t *tmp, mpz_t *out, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++) {
        if (rc == PPML_OK)
            mpz_swap(out[i], tmp[i]);
        mpz_clear(tmp[i]);
    }
    free(tmp);
    return rc;
}

static int check_plain(const ppml_paillier_pk *pk, const mpz_t m)
{
    return (mpz_sgn(m) < 0 || mpz_cmp(m, pk->n) >= 0) ? PPML_ERANGE : PPML_OK;
}

/* Fresh DJN exponents a_l for `lanes` lanes. */
static void draw_exps(mpz_t *a, mpz_srcptr *ap, size_t lanes, unsigned bits)
{
    for (size_t l = 0; l < lanes; l++) {
        ppml_rand_mpz_bits(a[l], bits);
        ap[l] = a[l];
    }
}

/* ---- public-key forms ---- */

/* out[i] = x[i] * h_N^(a_i) for fresh a_i (x[i] given, or 1 + m_i N when gm). */
static int djn_many(const ppml_paillier_pk *pk, mpz_t *out, const mpz_t *in, size_t n, int gm)
{
    struct ppmli_paillier_mb *mb = pk_mb(pk);
    mpz_t *tmp = ppml_mpz_vec_new(n), a[LANES], r[LANES];
    if (!tmp)
        return PPML_ENOMEM;
    for (size_t l = 0; l < LANES; l++)
        mpz_inits(a[l], r[l], NULL);
    int rc = PPML_OK;
    for (size_t lo = 0; lo < n && rc == PPML_OK; lo += LANES) {
        size_t lanes = n - lo < LANES ? n - lo : LANES;
        mpz_srcptr ap[LANES];
        draw_exps(a, ap, lanes, djn_bits(pk));
        if (mb && lanes >= PPMLI_MB_MIN_LANES) {
            rc = ppmli_mb_comb_pow(&mb->n2, mb->hn, r, lanes, ap);
        } else {
            for (size_t l = 0; l < lanes && rc == PPML_OK; l++)
                rc = ppmli_paillier_hn_pow(pk, r[l], a[l]);
        }
        for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
            if (gm) {
                ppmli_paillier_mul_gm(pk, tmp[lo + l], r[l], in[lo + l]);
            } else {
                mpz_mul(r[l], r[l], in[lo + l]);
                mpz_mod(tmp[lo + l], r[l], pk->n2);
            }
        }
    }
    for (size_t l = 0; l < LANES; l++)
        mpz_clears(a[l], r[l], NULL); /* wiped by the ppml allocator */
    return tmp_finish(tmp, out, n, rc);
}

int ppmli_paillier_encrypt_many(const ppml_paillier_pk *pk, mpz_t *c, const mpz_t *m, size_t n)
{
    if (!pk || ((!c || !m) && n))
        return PPML_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (check_plain(pk, m[i]) != PPML_OK)
            return PPML_ERANGE;
    return djn_many(pk, c, m, n, 1);
}

int ppmli_paillier_rerandomize_many(const ppml_paillier_pk *pk, mpz_t *c, const mpz_t *a, size_t n)
{
    if (!pk || ((!c || !a) && n))
        return PPML_EINVAL;
    return djn_many(pk, c, a, n, 0);
}

/* ---- secret-key forms ---- */

int ppmli_paillier_encrypt_sk_many(const ppml_paillier_sk *sk, mpz_t *c, const mpz_t *m, size_t n)
{
    if (!sk || ((!c || !m) && n))
        return PPML_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (check_plain(sk->pk, m[i]) != PPML_OK)
            return PPML_ERANGE;
    struct ppmli_paillier_mb_sk *mb = n >= PPMLI_MB_MIN_LANES ? sk_mb(sk) : NULL;
    if (!mb) {
        mpz_t *tmp = ppml_mpz_vec_new(n);
        if (!tmp)
            return PPML_ENOMEM;
        int rc = PPML_OK;
        for (size_t i = 0; i < n && rc == PPML_OK; i++)
            rc = ppml_paillier_encrypt_djn_crt(sk, tmp[i], m[i]);
        return tmp_finish(tmp, c, n, rc);
    }
    mpz_t *tmp = ppml_mpz_vec_new(n), a[LANES], xp[LANES], xq[LANES];
    if (!tmp)
        return PPML_ENOMEM;
    for (size_t l = 0; l < LANES; l++)
        mpz_inits(a[l], xp[l], xq[l], NULL);
    int rc = PPML_OK;
    for (size_t lo = 0; lo < n && rc == PPML_OK; lo += LANES) {
        size_t lanes = n - lo < LANES ? n - lo : LANES;
        if (lanes < PPMLI_MB_MIN_LANES) { /* a lone value: GMP */
            rc = ppml_paillier_encrypt_djn_crt(sk, tmp[lo], m[lo]);
            continue;
        }
        mpz_srcptr ap[LANES];
        draw_exps(a, ap, lanes, djn_bits(sk->pk));
        rc = ppmli_mb_comb_pow(&mb->p2, mb->hp, xp, lanes, ap);
        if (rc == PPML_OK)
            rc = ppmli_mb_comb_pow(&mb->q2, mb->hq, xq, lanes, ap);
        for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
            ppmli_paillier_crt_join(sk, xp[l], xp[l], xq[l]);
            ppmli_paillier_mul_gm(sk->pk, tmp[lo + l], xp[l], m[lo + l]);
        }
    }
    for (size_t l = 0; l < LANES; l++)
        mpz_clears(a[l], xp[l], xq[l], NULL);
    return tmp_finish(tmp, c, n, rc);
}

int ppmli_paillier_decrypt_many(const ppml_paillier_sk *sk, mpz_t *m, const mpz_t *c, size_t n)
{
    if (!sk || ((!c || !m) && n))
        return PPML_EINVAL;
    mpz_t *tmp = ppml_mpz_vec_new(n);
    if (!tmp)
        return PPML_ENOMEM;
    struct ppmli_paillier_mb_sk *mb = n >= PPMLI_MB_MIN_LANES ? sk_mb(sk) : NULL;
    int rc = PPML_OK;
    if (!mb) {
        for (size_t i = 0; i < n && rc == PPML_OK; i++)
            rc = ppml_paillier_decrypt(sk, tmp[i], c[i]);
        return tmp_finish(tmp, m, n, rc);
    }
    for (size_t i = 0; i < n && rc == PPML_OK; i++) {
        if (mpz_sgn(c[i]) <= 0 || mpz_cmp(c[i], sk->pk->n2) >= 0)
            rc = PPML_ERANGE;
        else if (mpz_divisible_p(c[i], sk->p) || mpz_divisible_p(c[i], sk->q))
            rc = PPML_ECRYPTO; /* gcd(c, N) != 1: not a ciphertext */
    }
    mpz_t tp[LANES], tq[LANES];
    for (size_t l = 0; l < LANES; l++)
        mpz_inits(tp[l], tq[l], NULL);
    const unsigned bp = (unsigned)mpz_sizeinbase(sk->pm1, 2), bq = (unsigned)mpz_sizeinbase(sk->qm1, 2);
    for (size_t lo = 0; lo < n && rc == PPML_OK; lo += LANES) {
        size_t lanes = n - lo < LANES ? n - lo : LANES;
        if (lanes < PPMLI_MB_MIN_LANES) { /* a lone value: GMP */
            rc = ppml_paillier_decrypt(sk, tmp[lo], c[lo]);
            continue;
        }
        mpz_srcptr bases[LANES], ep[LANES], eq[LANES];
        for (size_t l = 0; l < lanes; l++) {
            bases[l] = c[lo + l];
            ep[l] = sk->pm1;
            eq[l] = sk->qm1;
        }
        rc = ppmli_mb_multiexp(&mb->p2, tp, lanes, 1, bases, ep, &bp);
        if (rc == PPML_OK)
            rc = ppmli_mb_multiexp(&mb->q2, tq, lanes, 1, bases, eq, &bq);
        for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
            ppmli_paillier_crt_half_finish(tp[l], tp[l], sk->p, sk->hp);
            ppmli_paillier_crt_half_finish(tq[l], tq[l], sk->q, sk->hq);
            ppmli_paillier_crt_join_plain(sk, tmp[lo + l], tp[l], tq[l]);
        }
    }
    for (size_t l = 0; l < LANES; l++)
        mpz_clears(tp[l], tq[l], NULL);
    return tmp_finish(tmp, m, n, rc);
}

int ppml_paillier_mul_batch(const ppml_paillier_pk *pk, mpz_t *c, const mpz_t *a, const mpz_t k, size_t n)
{
    if (!pk || !k || ((!c || !a) && n))
        return PPML_EINVAL;
    if (mpz_cmpabs(k, pk->n) >= 0)
        return PPML_ERANGE;
    mpz_t *tmp = ppml_mpz_vec_new(n), kk;
    if (!tmp)
        return PPML_ENOMEM;
    mpz_init(kk);
    mpz_abs(kk, k);
    int rc = PPML_OK;
    /* k < 0: E(m)^-|k| from the inverses */
    for (size_t i = 0; i < n && rc == PPML_OK; i++) {
        if (mpz_sgn(k) < 0) {
            if (!mpz_invert(tmp[i], a[i], pk->n2))
                rc = PPML_ECRYPTO;
        } else {
            mpz_mod(tmp[i], a[i], pk->n2);
        }
    }
    struct ppmli_paillier_mb *mb = n >= PPMLI_MB_MIN_LANES ? pk_mb(pk) : NULL;
    const unsigned bits = (unsigned)mpz_sizeinbase(kk, 2); /* public: the bit length of k */
    for (size_t lo = 0; lo < n && rc == PPML_OK; lo += LANES) {
        size_t lanes = n - lo < LANES ? n - lo : LANES;
        if (mpz_sgn(kk) == 0) {
            for (size_t l = 0; l < lanes; l++)
                mpz_set_ui(tmp[lo + l], 1);
        } else if (mb && lanes >= PPMLI_MB_MIN_LANES) {
            mpz_srcptr bases[LANES], exps[LANES];
            for (size_t l = 0; l < lanes; l++) {
                bases[l] = tmp[lo + l];
                exps[l] = kk;
            }
            rc = ppmli_mb_multiexp(&mb->n2, tmp + lo, lanes, 1, bases, exps, &bits);
        } else {
            for (size_t l = 0; l < lanes; l++)
                mpz_powm_sec(tmp[lo + l], tmp[lo + l], kk, pk->n2);
        }
    }
    mpz_clear(kk); /* wiped by the ppml allocator */
    return tmp_finish(tmp, c, n, rc);
}
