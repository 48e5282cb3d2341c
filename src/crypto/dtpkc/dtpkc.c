/* DT-PKC encryption, the three decryptions, homomorphic operations and the two halves of key
 * conversion (formulas in include/ppml/dtpkc.h, from Liu et al., IEEE TIFS 2016, §IV).
 *
 * What each party receives in key conversion (ppml_dtpkc_convert_*):
 *   CSS: Enc_pk(m) (stored), its own mask r, PD1 it computes, and Enc_target(m + r) from CCS.
 *        It never sees a plaintext.
 *   CCS: Enc_pk(m + r) (re-randomised) and PD1; with SK2 it learns m + r, which hides m
 *        statistically (distance <= 2^-kappa, r uniform over 2^(value_bits+1+kappa) values
 *        shifted by 2^(value_bits+1)).
 *   Target key owner: only Enc_target(m). */
#include "dtpkc_internal.h"
#include "ppml/mem.h"
#include "ppml/rand.h"

#include <stdlib.h>

void ppml_dtpkc_ct_init(ppml_dtpkc_ct *ct) { mpz_inits(ct->t1, ct->t2, NULL); }
void ppml_dtpkc_ct_clear(ppml_dtpkc_ct *ct) { mpz_clears(ct->t1, ct->t2, NULL); }
void ppml_dtpkc_ct_set(ppml_dtpkc_ct *dst, const ppml_dtpkc_ct *src)
{
    mpz_set(dst->t1, src->t1);
    mpz_set(dst->t2, src->t2);
}

mpz_srcptr ppml_dtpkc_params_n(const ppml_dtpkc_params *pp) { return pp->n; }
mpz_srcptr ppml_dtpkc_params_n2(const ppml_dtpkc_params *pp) { return pp->n2; }
mpz_srcptr ppml_dtpkc_params_g(const ppml_dtpkc_params *pp) { return pp->g; }
unsigned ppml_dtpkc_params_bits(const ppml_dtpkc_params *pp) { return pp->bits; }
const uint8_t *ppml_dtpkc_params_id(const ppml_dtpkc_params *pp) { return pp->id; }
const ppml_dtpkc_pk *ppml_dtpkc_sk_pk(const ppml_dtpkc_sk *sk) { return sk->pk; }
const ppml_dtpkc_params *ppml_dtpkc_pk_params(const ppml_dtpkc_pk *pk) { return pk->pp; }
mpz_srcptr ppml_dtpkc_pk_h(const ppml_dtpkc_pk *pk) { return pk->h; }
const uint8_t *ppml_dtpkc_pk_id(const ppml_dtpkc_pk *pk) { return pk->id; }
const ppml_dtpkc_params *ppml_dtpkc_strong_params(const ppml_dtpkc_strong_sk *sk) { return sk->pp; }
unsigned ppml_dtpkc_partial_index(const ppml_dtpkc_partial_sk *sk) { return sk->index; }

int ppmli_dtpkc_check_unit(const ppml_dtpkc_params *pp, const mpz_t x)
{
    if (mpz_sgn(x) <= 0 || mpz_cmp(x, pp->n2) >= 0)
        return PPML_ERANGE;
    mpz_t g;
    mpz_init(g);
    mpz_gcd(g, x, pp->n);
    int ok = mpz_cmp_ui(g, 1) == 0;
    mpz_clear(g);
    return ok ? PPML_OK : PPML_ECRYPTO;
}

int ppml_dtpkc_ct_check(const ppml_dtpkc_params *pp, const ppml_dtpkc_ct *ct)
{
    int e = ppmli_dtpkc_check_unit(pp, ct->t1);
    return e ? e : ppmli_dtpkc_check_unit(pp, ct->t2);
}

/* Fresh encryption randomness r uniform in [1, 2^(|N|/4)). */
static void draw_r(const ppml_dtpkc_params *pp, mpz_t r)
{
    do {
        ppml_rand_mpz_bits(r, pp->bits / 4);
    } while (mpz_sgn(r) == 0);
}

/* (h^r mod N^2, g^r mod N^2) for fresh r: an encryption of 0. */
static void enc_zero(const ppml_dtpkc_pk *pk, mpz_t hr, mpz_t gr)
{
    const ppml_dtpkc_params *pp = pk->pp;
    mpz_t r;
    mpz_init(r);
    draw_r(pp, r);
    /* Tables when precomputed (r < 2^(|N|/4) fits them); mpz_powm_sec otherwise, or if a
     * table call fails for lack of memory. */
    if (!pk->fb_h || !pk->fb_g || ppmli_fb_pow(pk->fb_h, hr, r) || ppmli_fb_pow(pk->fb_g, gr, r)) {
        mpz_powm_sec(hr, pk->h, r, pp->n2);
        mpz_powm_sec(gr, pp->g, r, pp->n2);
    }
    ppml_mpz_clear_secret(r);
}

int ppml_dtpkc_encrypt(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *ct, const mpz_t m)
{
    const ppml_dtpkc_params *pp = pk->pp;
    if (mpz_sgn(m) < 0 || mpz_cmp(m, pp->n) >= 0)
        return PPML_ERANGE;
    mpz_t hr, gr;
    mpz_inits(hr, gr, NULL);
    enc_zero(pk, hr, gr);
    /* T1 = (1 + mN) h^r; 1 + mN < N^2 since m < N. */
    mpz_mul(ct->t1, m, pp->n);
    mpz_add_ui(ct->t1, ct->t1, 1);
    mpz_mul(ct->t1, ct->t1, hr);
    mpz_mod(ct->t1, ct->t1, pp->n2);
    mpz_swap(ct->t2, gr);
    mpz_clears(hr, gr, NULL);
    return PPML_OK;
}

int ppml_dtpkc_encrypt_i64(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *ct, int64_t v)
{
    mpz_t m;
    mpz_init(m);
    if (v >= 0) {
        mpz_set_ui(m, (unsigned long)v);
    } else {
        mpz_set_ui(m, (unsigned long)(-(v + 1)) + 1ul);
        mpz_sub(m, pk->pp->n, m);
    }
    int e = ppml_dtpkc_encrypt(pk, ct, m);
    mpz_clear(m);
    return e;
}

/* m = L(x) = (x - 1)/N if x = 1 mod N, else PPML_ECRYPTO. */
static int ell(const ppml_dtpkc_params *pp, mpz_t m, const mpz_t x)
{
    mpz_t t;
    mpz_init(t);
    mpz_sub_ui(t, x, 1);
    int ok = mpz_divisible_p(t, pp->n);
    if (ok) {
        mpz_divexact(t, t, pp->n);
        mpz_swap(m, t);
    }
    ppml_mpz_clear_secret(t);
    return ok ? PPML_OK : PPML_ECRYPTO;
}

int ppml_dtpkc_decrypt(const ppml_dtpkc_sk *sk, mpz_t m, const ppml_dtpkc_ct *ct)
{
    const ppml_dtpkc_params *pp = sk->pk->pp;
    int e = ppml_dtpkc_ct_check(pp, ct);
    if (e)
        return e;
    mpz_t x;
    mpz_init(x);
    /* Invert the public T2 first, then raise to the secret theta: the inversion never sees
     * a secret-dependent value. */
    if (mpz_invert(x, ct->t2, pp->n2) == 0) {
        mpz_clear(x);
        return PPML_ECRYPTO;
    }
    mpz_powm_sec(x, x, sk->theta, pp->n2);
    mpz_mul(x, x, ct->t1);
    mpz_mod(x, x, pp->n2);
    e = ell(pp, m, x);
    ppml_mpz_clear_secret(x);
    return e;
}

int ppml_dtpkc_decrypt_strong(const ppml_dtpkc_strong_sk *sk, mpz_t m, const ppml_dtpkc_ct *ct)
{
    const ppml_dtpkc_params *pp = sk->pp;
    int e = ppml_dtpkc_ct_check(pp, ct);
    if (e)
        return e;
    mpz_t x;
    mpz_init(x);
    mpz_powm_sec(x, ct->t1, sk->lambda, pp->n2);
    e = ell(pp, x, x);
    if (!e) {
        mpz_mul(x, x, sk->lambda_inv);
        mpz_mod(x, x, pp->n);
        mpz_swap(m, x);
    }
    ppml_mpz_clear_secret(x);
    return e;
}

int ppml_dtpkc_partial_decrypt(const ppml_dtpkc_partial_sk *sk, mpz_t pd, const ppml_dtpkc_ct *ct)
{
    const ppml_dtpkc_params *pp = sk->pp;
    int e = ppml_dtpkc_ct_check(pp, ct);
    if (e)
        return e;
    mpz_powm_sec(pd, ct->t1, sk->share, pp->n2);
    return PPML_OK;
}

int ppml_dtpkc_combine(const ppml_dtpkc_params *pp, mpz_t m, const mpz_t pd1, const mpz_t pd2)
{
    int e;
    if ((e = ppmli_dtpkc_check_unit(pp, pd1)) || (e = ppmli_dtpkc_check_unit(pp, pd2)))
        return e;
    mpz_t x;
    mpz_init(x);
    mpz_mul(x, pd1, pd2);
    mpz_mod(x, x, pp->n2);
    e = ell(pp, m, x);
    ppml_mpz_clear_secret(x);
    return e;
}

void ppml_dtpkc_centre(const ppml_dtpkc_params *pp, mpz_t v, const mpz_t m)
{
    if (mpz_cmp(m, pp->half_n) > 0)
        mpz_sub(v, m, pp->n);
    else
        mpz_set(v, m);
}

int ppml_dtpkc_to_i64(const ppml_dtpkc_params *pp, int64_t *v, const mpz_t m)
{
    mpz_t c;
    mpz_init(c);
    ppml_dtpkc_centre(pp, c, m);
    int e = PPML_ERANGE;
    /* |c| < 2^63, or c = -2^63. */
    if (mpz_sizeinbase(c, 2) <= 63) {
        int64_t mag = (int64_t)mpz_getlimbn(c, 0);
        *v = mpz_sgn(c) < 0 ? -mag : mag;
        e = PPML_OK;
    } else if (mpz_sgn(c) < 0 && mpz_sizeinbase(c, 2) == 64 && mpz_scan1(c, 0) == 63) {
        *v = INT64_MIN;
        e = PPML_OK;
    }
    mpz_clear(c);
    return e;
}

void ppml_dtpkc_add(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, const ppml_dtpkc_ct *b)
{
    const ppml_dtpkc_params *pp = pk->pp;
    mpz_mul(c->t1, a->t1, b->t1);
    mpz_mod(c->t1, c->t1, pp->n2);
    mpz_mul(c->t2, a->t2, b->t2);
    mpz_mod(c->t2, c->t2, pp->n2);
}

int ppml_dtpkc_sub(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, const ppml_dtpkc_ct *b)
{
    const ppml_dtpkc_params *pp = pk->pp;
    mpz_t i1, i2;
    mpz_inits(i1, i2, NULL);
    int e = PPML_ECRYPTO;
    if (mpz_invert(i1, b->t1, pp->n2) && mpz_invert(i2, b->t2, pp->n2)) {
        mpz_mul(c->t1, a->t1, i1);
        mpz_mod(c->t1, c->t1, pp->n2);
        mpz_mul(c->t2, a->t2, i2);
        mpz_mod(c->t2, c->t2, pp->n2);
        e = PPML_OK;
    }
    mpz_clears(i1, i2, NULL);
    return e;
}

void ppml_dtpkc_add_plain(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, const mpz_t m)
{
    const ppml_dtpkc_params *pp = pk->pp;
    mpz_t t;
    mpz_init(t);
    mpz_mod(t, m, pp->n);
    mpz_mul(t, t, pp->n);
    mpz_add_ui(t, t, 1);
    mpz_mul(c->t1, a->t1, t);
    mpz_mod(c->t1, c->t1, pp->n2);
    if (c != a)
        mpz_set(c->t2, a->t2);
    ppml_mpz_clear_secret(t);
}

int ppml_dtpkc_mul(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, const mpz_t k)
{
    /* The sign and bit length of k are not hidden; its value is (mpz_powm_sec): scalars in
     * the two-server protocols are often secret blinding factors. */
    const ppml_dtpkc_params *pp = pk->pp;
    if (mpz_sgn(k) == 0) {
        mpz_set_ui(c->t1, 1);
        mpz_set_ui(c->t2, 1);
        return PPML_OK;
    }
    mpz_t b1, b2, ak;
    mpz_inits(b1, b2, ak, NULL);
    int e = PPML_OK;
    if (mpz_sgn(k) < 0) {
        if (!mpz_invert(b1, a->t1, pp->n2) || !mpz_invert(b2, a->t2, pp->n2))
            e = PPML_ECRYPTO;
    } else {
        mpz_set(b1, a->t1);
        mpz_set(b2, a->t2);
    }
    if (!e) {
        mpz_abs(ak, k);
        mpz_powm_sec(c->t1, b1, ak, pp->n2);
        mpz_powm_sec(c->t2, b2, ak, pp->n2);
    }
    mpz_clears(b1, b2, NULL);
    ppml_mpz_clear_secret(ak);
    return e;
}

int ppml_dtpkc_mul_i64(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, int64_t k)
{
    mpz_t kk;
    mpz_init(kk);
    if (k >= 0) {
        mpz_set_ui(kk, (unsigned long)k);
    } else {
        mpz_set_ui(kk, (unsigned long)(-(k + 1)) + 1ul);
        mpz_neg(kk, kk);
    }
    int e = ppml_dtpkc_mul(pk, c, a, kk);
    ppml_mpz_clear_secret(kk);
    return e;
}

void ppml_dtpkc_rerandomize(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a)
{
    const ppml_dtpkc_params *pp = pk->pp;
    mpz_t hr, gr;
    mpz_inits(hr, gr, NULL);
    enc_zero(pk, hr, gr);
    mpz_mul(c->t1, a->t1, hr);
    mpz_mod(c->t1, c->t1, pp->n2);
    mpz_mul(c->t2, a->t2, gr);
    mpz_mod(c->t2, c->t2, pp->n2);
    mpz_clears(hr, gr, NULL);
}

static int convert_bounds_ok(const ppml_dtpkc_params *pp, unsigned value_bits, unsigned kappa)
{
    /* m + r < 2^(value_bits+2+kappa) <= 2^(|N|-2) < N/2. */
    return value_bits >= 1 && kappa >= 1 && value_bits < pp->bits && kappa < pp->bits &&
           value_bits + kappa + 3 <= pp->bits - 1;
}

int ppml_dtpkc_convert_blind(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *blinded, mpz_t r,
                             const ppml_dtpkc_ct *ct, unsigned value_bits, unsigned kappa)
{
    const ppml_dtpkc_params *pp = pk->pp;
    if (!convert_bounds_ok(pp, value_bits, kappa))
        return PPML_EINVAL;
    int e = ppml_dtpkc_ct_check(pp, ct);
    if (e)
        return e;
    mpz_t lo, width, mask;
    ppml_dtpkc_ct out;
    mpz_inits(lo, width, mask, NULL);
    ppml_dtpkc_ct_init(&out);
    /* r uniform in [2^(vb+1), 2^(vb+1+kappa)). */
    mpz_set_ui(lo, 0);
    mpz_setbit(lo, value_bits + 1);
    mpz_set_ui(width, 0);
    mpz_setbit(width, value_bits + 1 + kappa);
    mpz_sub(width, width, lo);
    ppml_rand_mpz_below(mask, width);
    mpz_add(mask, mask, lo);
    ppml_dtpkc_add_plain(pk, &out, ct, mask);
    ppml_dtpkc_rerandomize(pk, &out, &out);
    mpz_swap(blinded->t1, out.t1);
    mpz_swap(blinded->t2, out.t2);
    mpz_swap(r, mask);
    ppml_dtpkc_ct_clear(&out);
    mpz_clears(lo, width, NULL);
    ppml_mpz_clear_secret(mask);
    return PPML_OK;
}

int ppml_dtpkc_convert_open(const ppml_dtpkc_partial_sk *sk2, mpz_t blinded_value,
                            const ppml_dtpkc_ct *blinded, const mpz_t pd1, unsigned value_bits,
                            unsigned kappa)
{
    const ppml_dtpkc_params *pp = sk2->pp;
    if (!convert_bounds_ok(pp, value_bits, kappa))
        return PPML_EINVAL;
    mpz_t pd2, v;
    mpz_inits(pd2, v, NULL);
    int e = ppml_dtpkc_partial_decrypt(sk2, pd2, blinded);
    if (!e)
        e = ppml_dtpkc_combine(pp, v, pd1, pd2);
    /* Admissible m + r lies in (2^vb, 2^(vb+2+kappa)); anything else means |m| exceeded its
     * bound or the inputs do not belong together. */
    if (!e && (mpz_sizeinbase(v, 2) > value_bits + 2 + kappa ||
               mpz_sizeinbase(v, 2) <= value_bits || mpz_cmp(v, pp->half_n) >= 0))
        e = PPML_ERANGE;
    if (!e)
        mpz_swap(blinded_value, v);
    mpz_clear(pd2);
    ppml_mpz_clear_secret(v);
    return e;
}

void ppml_dtpkc_convert_unblind(const ppml_dtpkc_pk *target, ppml_dtpkc_ct *out,
                                const ppml_dtpkc_ct *ct, const mpz_t r)
{
    mpz_t neg;
    mpz_init(neg);
    mpz_neg(neg, r);
    ppml_dtpkc_add_plain(target, out, ct, neg);
    ppml_mpz_clear_secret(neg);
}
