/* Batched DT-PKC operations on the multi-buffer Montgomery arithmetic of crypto/mb (eight
 * exponentiations per pass where the CPU has AVX-512 IFMA): the same results and
 * distributions as the one-element forms in dtpkc.c, which run where the multi-buffer path
 * is off, for a lone value, or for a key that was not precomputed.
 *
 * Secrets: the encryption randomness r (comb digits through masked selection) and the
 * partial keys (every window-table entry read). Contexts built modulo N^2 are public. */
#include "dtpkc_internal.h"

#include "crypto/mb/mb.h"
#include "ppml/mem.h"
#include "ppml/rand.h"

#include <stdlib.h>

#define LANES PPMLI_MB_LANES

void ppmli_dtpkc_pk_mb_free(ppml_dtpkc_pk *pk)
{
    ppmli_mb_comb_free(pk->mb_g);
    ppmli_mb_comb_free(pk->mb_h);
    if (pk->mb) {
        ppmli_mb_clear(pk->mb);
        free(pk->mb);
    }
    pk->mb = NULL;
    pk->mb_g = pk->mb_h = NULL;
}

int ppmli_dtpkc_pk_mb_build(ppml_dtpkc_pk *pk)
{
    if (pk->mb || !ppmli_mb_enabled())
        return PPML_OK;
    const ppml_dtpkc_params *pp = pk->pp;
    pk->mb = calloc(1, sizeof *pk->mb);
    int rc = pk->mb ? ppmli_mb_init(pk->mb, pp->n2) : PPML_ENOMEM;
    if (rc == PPML_OK)
        rc = ppmli_mb_comb_new(pk->mb, &pk->mb_g, pp->g, pp->bits / 4);
    if (rc == PPML_OK)
        rc = ppmli_mb_comb_new(pk->mb, &pk->mb_h, pk->h, pp->bits / 4);
    if (rc != PPML_OK)
        ppmli_dtpkc_pk_mb_free(pk); /* the one-element path still works */
    return rc == PPML_ENOMEM ? PPML_ENOMEM : PPML_OK;
}

/* For lanes l < lanes: (h^r_l, g^r_l) with fresh r_l uniform in [1, 2^(|N|/4)). Needs the
 * key's multi-buffer tables. */
static int enc_zero_lanes(const ppml_dtpkc_pk *pk, mpz_t *hr, mpz_t *gr, size_t lanes)
{
    mpz_t r[LANES];
    mpz_srcptr rp[LANES];
    for (size_t l = 0; l < lanes; l++) {
        mpz_init(r[l]);
        do {
            ppml_rand_mpz_bits(r[l], pk->pp->bits / 4);
        } while (mpz_sgn(r[l]) == 0);
        rp[l] = r[l];
    }
    int rc = ppmli_mb_comb_pow(pk->mb, pk->mb_h, hr, lanes, rp);
    if (rc == PPML_OK)
        rc = ppmli_mb_comb_pow(pk->mb, pk->mb_g, gr, lanes, rp);
    for (size_t l = 0; l < lanes; l++)
        ppml_mpz_clear_secret(r[l]);
    return rc;
}

static ppml_dtpkc_ct *ct_tmp(size_t n)
{
    size_t bytes;
    if (ppml_mul_size(&bytes, n ? n : 1, sizeof(ppml_dtpkc_ct)) != PPML_OK)
        return NULL;
    ppml_dtpkc_ct *t = malloc(bytes);
    for (size_t i = 0; t && i < n; i++)
        ppml_dtpkc_ct_init(&t[i]);
    return t;
}

static int ct_finish(ppml_dtpkc_ct *tmp, ppml_dtpkc_ct *out, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++) {
        if (rc == PPML_OK) {
            mpz_swap(out[i].t1, tmp[i].t1);
            mpz_swap(out[i].t2, tmp[i].t2);
        }
        ppml_dtpkc_ct_clear(&tmp[i]);
    }
    free(tmp);
    return rc;
}

/* tmp[i] = (x_i h^r_i, g^r_i) with x_i = 1 + m_i N (m given) or x_i = a[i].t1 and the second
 * component multiplied into a[i].t2 (a given). */
static int enc_many(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *tmp, const mpz_t *m, const ppml_dtpkc_ct *a,
                    size_t n)
{
    const ppml_dtpkc_params *pp = pk->pp;
    mpz_t hr[LANES], gr[LANES];
    for (size_t l = 0; l < LANES; l++)
        mpz_inits(hr[l], gr[l], NULL);
    int rc = PPML_OK;
    for (size_t lo = 0; lo < n && rc == PPML_OK; lo += LANES) {
        size_t lanes = n - lo < LANES ? n - lo : LANES;
        if (pk->mb && lanes >= PPMLI_MB_MIN_LANES) {
            rc = enc_zero_lanes(pk, hr, gr, lanes);
        } else {
            for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
                ppml_dtpkc_ct z;
                ppml_dtpkc_ct_init(&z);
                mpz_set_ui(z.t1, 1);
                mpz_set_ui(z.t2, 1);
                ppml_dtpkc_rerandomize(pk, &z, &z); /* (h^r, g^r) through the one-element path */
                mpz_swap(hr[l], z.t1);
                mpz_swap(gr[l], z.t2);
                ppml_dtpkc_ct_clear(&z);
            }
        }
        for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
            ppml_dtpkc_ct *c = &tmp[lo + l];
            if (m) {
                mpz_mul(c->t1, m[lo + l], pp->n); /* 1 + mN < N^2 since m < N */
                mpz_add_ui(c->t1, c->t1, 1);
                mpz_mul(c->t1, c->t1, hr[l]);
                mpz_mod(c->t1, c->t1, pp->n2);
                mpz_swap(c->t2, gr[l]);
            } else {
                mpz_mul(c->t1, a[lo + l].t1, hr[l]);
                mpz_mod(c->t1, c->t1, pp->n2);
                mpz_mul(c->t2, a[lo + l].t2, gr[l]);
                mpz_mod(c->t2, c->t2, pp->n2);
            }
        }
    }
    for (size_t l = 0; l < LANES; l++)
        mpz_clears(hr[l], gr[l], NULL); /* h^r, g^r: wiped by the ppml allocator */
    return rc;
}

int ppml_dtpkc_encrypt_i64_many(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *cts, const int64_t *v, size_t n)
{
    if (!pk || ((!cts || !v) && n))
        return PPML_EINVAL;
    if (n == 0)
        return PPML_OK;
    ppml_dtpkc_ct *tmp = ct_tmp(n);
    size_t bytes;
    mpz_t *m = ppml_mul_size(&bytes, n, sizeof(mpz_t)) == PPML_OK ? malloc(bytes) : NULL;
    if (!tmp || !m) {
        free(m);
        return ct_finish(tmp, cts, tmp ? n : 0, PPML_ENOMEM);
    }
    for (size_t i = 0; i < n; i++) {
        mpz_init(m[i]);
        if (v[i] >= 0) {
            mpz_set_ui(m[i], (unsigned long)v[i]);
        } else {
            mpz_set_ui(m[i], (unsigned long)(-(v[i] + 1)) + 1ul);
            mpz_sub(m[i], pk->pp->n, m[i]);
        }
    }
    int rc = enc_many(pk, tmp, (const mpz_t *)m, NULL, n);
    for (size_t i = 0; i < n; i++)
        ppml_mpz_clear_secret(m[i]);
    free(m);
    return ct_finish(tmp, cts, n, rc);
}

int ppmli_dtpkc_rerandomize_many(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, size_t n)
{
    if (!pk || ((!c || !a) && n))
        return PPML_EINVAL;
    ppml_dtpkc_ct *tmp = ct_tmp(n);
    if (!tmp)
        return PPML_ENOMEM;
    return ct_finish(tmp, c, n, enc_many(pk, tmp, NULL, a, n));
}

int ppmli_dtpkc_partial_decrypt_many(const ppml_dtpkc_partial_sk *sk, mpz_t *pd, mpz_srcptr const *t1, size_t n)
{
    if (!sk || ((!pd || !t1) && n))
        return PPML_EINVAL;
    const ppml_dtpkc_params *pp = sk->pp;
    for (size_t i = 0; i < n; i++) {
        int e = ppmli_dtpkc_check_unit(pp, t1[i]);
        if (e)
            return e;
    }
    size_t bytes;
    mpz_t *tmp = ppml_mul_size(&bytes, n ? n : 1, sizeof(mpz_t)) == PPML_OK ? malloc(bytes) : NULL;
    if (!tmp)
        return PPML_ENOMEM;
    for (size_t i = 0; i < n; i++)
        mpz_init(tmp[i]);
    ppmli_mb mb = {0};
    int use_mb = n >= PPMLI_MB_MIN_LANES && ppmli_mb_enabled() && ppmli_mb_init(&mb, pp->n2) == PPML_OK;
    /* public bound of the share: below lambda N < N^2 */
    const unsigned bits = 2 * pp->bits;
    int rc = PPML_OK;
    for (size_t lo = 0; lo < n && rc == PPML_OK; lo += LANES) {
        size_t lanes = n - lo < LANES ? n - lo : LANES;
        if (!use_mb || lanes < PPMLI_MB_MIN_LANES) {
            for (size_t l = 0; l < lanes; l++)
                mpz_powm_sec(tmp[lo + l], t1[lo + l], sk->share, pp->n2);
            continue;
        }
        mpz_srcptr exps[LANES];
        for (size_t l = 0; l < lanes; l++)
            exps[l] = sk->share;
        rc = ppmli_mb_multiexp(&mb, tmp + lo, lanes, 1, t1 + lo, exps, &bits);
    }
    ppmli_mb_clear(&mb);
    for (size_t i = 0; i < n; i++) {
        if (rc == PPML_OK)
            mpz_swap(pd[i], tmp[i]);
        mpz_clear(tmp[i]);
    }
    free(tmp);
    return rc;
}

int ppmli_dtpkc_pack_many(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *out, const ppml_dtpkc_ct *cts, size_t total,
                          size_t cap, unsigned slot_bits)
{
    if (!pk || !out || !cts || total == 0 || cap == 0 || slot_bits == 0)
        return PPML_EINVAL;
    size_t lanes = (total + cap - 1) / cap;
    if (lanes > LANES)
        lanes = LANES;
    if (total > lanes * cap)
        total = lanes * cap;
    mpz_srcptr n2 = pk->pp->n2;
    if (pk->mb && lanes >= PPMLI_MB_MIN_LANES) {
        mpz_srcptr *p = malloc(2 * total * sizeof *p);
        mpz_t r1[LANES], r2[LANES];
        if (!p)
            return PPML_ENOMEM;
        for (size_t l = 0; l < LANES; l++)
            mpz_inits(r1[l], r2[l], NULL);
        for (size_t i = 0; i < total; i++) {
            p[i] = cts[i].t1;
            p[total + i] = cts[i].t2;
        }
        int rc = ppmli_mb_pack(pk->mb, r1, p, total, cap, slot_bits);
        if (rc == PPML_OK)
            rc = ppmli_mb_pack(pk->mb, r2, p + total, total, cap, slot_bits);
        for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
            mpz_swap(out[l].t1, r1[l]);
            mpz_swap(out[l].t2, r2[l]);
        }
        for (size_t l = 0; l < LANES; l++)
            mpz_clears(r1[l], r2[l], NULL);
        free(p);
        return rc;
    }
    /* Horner: acc = (...(c_{k-1})^(2^w) c_{k-2})^(2^w) ... c_0, on T1 and T2 alike */
    mpz_t e;
    mpz_init(e);
    mpz_setbit(e, slot_bits);
    for (size_t l = 0; l < lanes; l++) {
        size_t lo = l * cap, k = total - lo < cap ? total - lo : cap;
        ppml_dtpkc_ct *acc = &out[l];
        ppml_dtpkc_ct_set(acc, &cts[lo + k - 1]);
        for (size_t i = k - 1; i-- > 0;) {
            mpz_powm(acc->t1, acc->t1, e, n2);
            mpz_mul(acc->t1, acc->t1, cts[lo + i].t1);
            mpz_mod(acc->t1, acc->t1, n2);
            mpz_powm(acc->t2, acc->t2, e, n2);
            mpz_mul(acc->t2, acc->t2, cts[lo + i].t2);
            mpz_mod(acc->t2, acc->t2, n2);
        }
    }
    mpz_clear(e);
    return PPML_OK;
}
