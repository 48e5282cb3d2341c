/* Ciphertext objects, encryption, decryption and the noise budget. */
#include "crypto/bfv/bfv_internal.h"
#include "ppml/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int ppml_bfv_ct_new(const ppml_bfv_params *p, ppml_bfv_ct **out)
{
    if (!p || !out)
        return PPML_EINVAL;
    ppml_bfv_ct *ct = calloc(1, sizeof *ct);
    if (!ct)
        return PPML_ENOMEM;
    ct->p = p;
    ct->size = 2;
    ct->data = bfv_alloc_words(3 * p->k * p->n);
    if (!ct->data) {
        free(ct);
        return PPML_ENOMEM;
    }
    *out = ct;
    return PPML_OK;
}

void ppml_bfv_ct_free(ppml_bfv_ct *ct)
{
    if (!ct)
        return;
    bfv_free_words(ct->data, 3 * ct->p->k * ct->p->n);
    free(ct);
}

int ppml_bfv_ct_copy(ppml_bfv_ct *dst, const ppml_bfv_ct *src)
{
    if (!dst || !src)
        return PPML_EINVAL;
    if (dst->p != src->p)
        return PPML_EMISMATCH;
    if (dst != src) {
        memcpy(dst->data, src->data, src->size * src->p->k * src->p->n * 8);
        dst->size = src->size;
    }
    return PPML_OK;
}

size_t ppml_bfv_ct_size(const ppml_bfv_ct *ct) { return ct->size; }
const ppml_bfv_params *ppml_bfv_ct_params(const ppml_bfv_ct *ct) { return ct->p; }

void bfv_add_scaled_plain(const ppml_bfv_params *p, uint64_t *c, const uint64_t *m)
{
    /* round(Q m / t) = floor(Q/t) m + round((Q mod t) m / t), m in [0, t). The second term
     * is computed exactly: r = rt*m mod t by Barrett, then (rt*m - r)/t by multiplying with
     * t^-1 mod 2^64 (exact division), +1 if r >= ceil(t/2) (no branch). */
    const size_t n = p->n;
    const ppmli_mod *mt = &p->ntt_t.mod;
    const uint64_t t = p->t, halfup = (t + 1) / 2;
    for (size_t x = 0; x < n; x++) {
        uint64_t mv = m[x];
        ppmli_u128 prod = (ppmli_u128)p->rt * mv;
        uint64_t r = ppmli_reduce128(mt, prod);
        uint64_t quo = ((uint64_t)prod - r) * p->tinv64;
        quo += (uint64_t)(r >= halfup);
        for (size_t i = 0; i < p->k; i++) {
            uint64_t q = p->primes[i];
            uint64_t add = ppmli_mul_shoup(mv, p->delta[i], p->delta_sh[i], q);
            add = ppmli_addmod(add, quo, q); /* quo < t < q */
            uint64_t *ci = c + i * n;
            ci[x] = ppmli_addmod(ci[x], add, q);
        }
    }
}

int ppml_bfv_encrypt(const ppml_bfv_pk *pk, ppml_bfv_ct *ct, const ppml_bfv_pt *pt)
{
    if (!pk || !ct || !pt)
        return PPML_EINVAL;
    const ppml_bfv_params *p = pk->p;
    if (ct->p != p || pt->p != p)
        return PPML_EMISMATCH;
    const size_t n = p->n, k = p->k;
    uint64_t *u = bfv_alloc_scratch(k * n);
    int8_t *small = malloc(n);
    if (!u || !small) {
        bfv_free_words(u, k * n);
        free(small);
        return PPML_ENOMEM;
    }
    ppmli_sample_ternary(small, n);
    uint64_t *c0 = bfv_ct_poly(ct, 0), *c1 = bfv_ct_poly(ct, 1);
    const size_t half = 2 * p->np * n;
    const uint64_t *p0 = pk->data, *p1 = pk->data + p->np * n;
    const uint64_t *p0s = pk->data + half, *p1s = pk->data + half + p->np * n;
    for (size_t i = 0; i < k; i++) {
        const ppmli_ntt *tn = &p->ntt[i];
        const uint64_t q = tn->mod.q;
        uint64_t *ui = u + i * n;
        for (size_t x = 0; x < n; x++)
            ui[x] = ppmli_from_signed(small[x], q);
        ppmli_ntt_fwd_lazy(tn, ui); /* [0, 4q) */
        const uint64_t *a0 = p0 + i * n, *a1 = p1 + i * n, *a0s = p0s + i * n, *a1s = p1s + i * n;
        uint64_t *o0 = c0 + i * n, *o1 = c1 + i * n;
        for (size_t x = 0; x < n; x++) { /* Shoup with the public key: [0, 2q) */
            o0[x] = ppmli_mul_shoup_lazy(ui[x], a0[x], a0s[x], q);
            o1[x] = ppmli_mul_shoup_lazy(ui[x], a1[x], a1s[x], q);
        }
        ppmli_ntt_inv(tn, o0);
        ppmli_ntt_inv(tn, o1);
    }
    for (int which = 0; which < 2; which++) {
        uint64_t *c = which ? c1 : c0;
        ppmli_sample_cbd(small, n);
        for (size_t i = 0; i < k; i++) {
            uint64_t q = p->primes[i], *ci = c + i * n;
            for (size_t x = 0; x < n; x++)
                ci[x] = ppmli_addmod(ci[x], ppmli_from_signed(small[x], q), q);
        }
    }
    bfv_add_scaled_plain(p, c0, pt->coef);
    ct->size = 2;
    sodium_memzero(small, n);
    free(small);
    bfv_free_words(u, k * n);
    return PPML_OK;
}

/* Noise flooding (circuit privacy): ct += Enc_pk(0) whose c0 error is e_f uniform in
 * [-2^B, 2^B) (B = flood_bits) on top of the usual fresh noise. Whoever decrypts the result
 * then sees e_old + e_f + fresh terms: within statistical distance n*max|e_old| / 2^(B+1) of a
 * distribution that does not depend on e_old, i.e. on how ct was computed, and c1 is
 * re-randomised by the encryption of 0 (pseudo-random under RLWE).
 * e_f: B + 1 random bits per coefficient from a ChaCha20 stream keyed by 32 fresh OS bytes
 * (ppml_prg_init_fresh), reduced mod each q_i by Horner over its 64-bit words with the
 * branch-free Barrett reduction; the words are wiped after use. */
unsigned ppml_bfv_flood_max_bits(const ppml_bfv_params *p)
{
    const unsigned tbits = 64 - (unsigned)__builtin_clzll(p->t);
    return p->log_q > tbits + 3 ? p->log_q - tbits - 3 : 0;
}

int ppml_bfv_encrypt_zero_flood(const ppml_bfv_pk *pk, ppml_bfv_ct *z, unsigned flood_bits)
{
    if (!pk || !z)
        return PPML_EINVAL;
    const ppml_bfv_params *p = pk->p;
    if (z->p != p)
        return PPML_EMISMATCH;
    const unsigned B = flood_bits;
    if (B < 1 || B > ppml_bfv_flood_max_bits(p))
        return PPML_ERANGE;
    const size_t n = p->n, k = p->k, W = (B + 1 + 63) / 64;
    const unsigned top_bits = B + 1 - 64 * (unsigned)(W - 1); /* 1..64 */
    const uint64_t top_mask = top_bits == 64 ? ~(uint64_t)0 : (((uint64_t)1 << top_bits) - 1);
    ppml_bfv_pt *zero = NULL;
    uint64_t *r = bfv_alloc_words(n * W);
    int e = r ? ppml_bfv_pt_new(p, &zero) : PPML_ENOMEM; /* zeroed: encrypts 0 */
    if (!e)
        e = ppml_bfv_encrypt(pk, z, zero);
    if (!e) {
        ppml_prg g;
        ppml_prg_init_fresh(&g);
        ppml_prg_words(&g, r, n * W);
        ppml_prg_clear(&g);
        uint64_t *z0 = bfv_ct_poly(z, 0);
        for (size_t i = 0; i < k; i++) {
            const ppmli_mod *m = &p->ntt[i].mod;
            const uint64_t q = m->q;
            /* 2^B mod q, by the same Horner steps */
            uint64_t shift = ppmli_reduce64(m, (uint64_t)1 << (B % 64));
            for (unsigned w = 0; w < B / 64; w++)
                shift = ppmli_reduce128(m, (ppmli_u128)shift << 64);
            uint64_t *zi = z0 + i * n;
            for (size_t c = 0; c < n; c++) {
                const uint64_t *rc = r + c * W;
                uint64_t acc = ppmli_reduce64(m, rc[W - 1] & top_mask);
                for (size_t w = W - 1; w-- > 0;)
                    acc = ppmli_reduce128(m, ((ppmli_u128)acc << 64) | rc[w]);
                zi[c] = ppmli_addmod(zi[c], ppmli_submod(acc, shift, q), q);
            }
        }
    }
    bfv_free_words(r, n * W);
    ppml_bfv_pt_free(zero);
    return e;
}

int ppml_bfv_flood(const ppml_bfv_pk *pk, ppml_bfv_ct *ct, unsigned flood_bits)
{
    if (!pk || !ct)
        return PPML_EINVAL;
    if (ct->p != pk->p)
        return PPML_EMISMATCH;
    if (ct->size != 2)
        return PPML_ESTATE;
    ppml_bfv_ct *z = NULL;
    int e = ppml_bfv_ct_new(pk->p, &z);
    if (!e)
        e = ppml_bfv_encrypt_zero_flood(pk, z, flood_bits);
    if (!e)
        e = ppml_bfv_add(ct, ct, z);
    ppml_bfv_ct_free(z);
    return e;
}

/* Secret-key encryption with a = uniform (NTT form) from prg, or the OS if prg is NULL.
 * With c1_coeff = 0, c1 is left in NTT form (a itself): the seeded serialization keeps only
 * the seed, so its inverse transforms would be wasted. */
int bfv_encrypt_sk_prg(const ppml_bfv_sk *sk, ppml_bfv_ct *ct, const ppml_bfv_pt *pt, ppml_prg *prg, int c1_coeff);
int bfv_encrypt_sk_prg(const ppml_bfv_sk *sk, ppml_bfv_ct *ct, const ppml_bfv_pt *pt, ppml_prg *prg, int c1_coeff)
{
    const ppml_bfv_params *p = sk->p;
    const size_t n = p->n, k = p->k;
    int8_t *e = malloc(n);
    if (!e)
        return PPML_ENOMEM;
    uint64_t *c0 = bfv_ct_poly(ct, 0), *c1 = bfv_ct_poly(ct, 1);
    bfv_uniform_ntt(p, c1, k, prg);
    ppmli_sample_cbd(e, n);
    for (size_t i = 0; i < k; i++) {
        const uint64_t q = p->primes[i];
        uint64_t *o0 = c0 + i * n, *o1 = c1 + i * n;
        const uint64_t *si = sk->ntt + i * n, *sip = sk->ntt_sh + i * n;
        /* -a s: Shoup with the secret's constants (branch-free), [0, 2q) -> [0, q) -> negated */
        for (size_t x = 0; x < n; x++)
            o0[x] = ppmli_negmod(ppmli_mul_shoup(o1[x], si[x], sip[x], q), q);
        ppmli_ntt_inv(&p->ntt[i], o0);
        if (c1_coeff)
            ppmli_ntt_inv(&p->ntt[i], o1);
        for (size_t x = 0; x < n; x++)
            o0[x] = ppmli_addmod(o0[x], ppmli_from_signed(e[x], q), q);
    }
    bfv_add_scaled_plain(p, c0, pt->coef);
    ct->size = 2;
    sodium_memzero(e, n);
    free(e);
    return PPML_OK;
}

int ppml_bfv_encrypt_sk(const ppml_bfv_sk *sk, ppml_bfv_ct *ct, const ppml_bfv_pt *pt)
{
    if (!sk || !ct || !pt)
        return PPML_EINVAL;
    if (ct->p != sk->p || pt->p != sk->p)
        return PPML_EMISMATCH;
    return bfv_encrypt_sk_prg(sk, ct, pt, NULL, 1);
}

int bfv_dot_sk(const ppml_bfv_sk *sk, const ppml_bfv_ct *ct, uint64_t *x)
{
    const ppml_bfv_params *p = sk->p;
    const size_t n = p->n, k = p->k;
    uint64_t *tmp = bfv_alloc_scratch(n);
    if (!tmp)
        return PPML_ENOMEM;
    for (size_t i = 0; i < k; i++) {
        const ppmli_mod *m = &p->ntt[i].mod;
        const uint64_t *si = sk->ntt + i * n, *sip = sk->ntt_sh + i * n;
        const uint64_t q = m->q;
        uint64_t *xi = x + i * n;
        /* Horner in NTT form: ((c_{size-1}) s + ... + c1) s, then INTT, + c0.
         * Lazy ranges: NTT output < 4q, Barrett takes any 128-bit product. */
        memcpy(xi, bfv_ct_poly(ct, ct->size - 1) + i * n, n * 8);
        ppmli_ntt_fwd_lazy(&p->ntt[i], xi);
        for (size_t x2 = 0; x2 < n; x2++) /* Shoup takes any input; output [0, 2q) */
            xi[x2] = ppmli_mul_shoup_lazy(xi[x2], si[x2], sip[x2], q);
        for (size_t j = ct->size - 1; j-- > 1;) {
            memcpy(tmp, bfv_ct_poly(ct, j) + i * n, n * 8);
            ppmli_ntt_fwd_lazy(&p->ntt[i], tmp);
            for (size_t x2 = 0; x2 < n; x2++)
                xi[x2] = ppmli_mul_shoup_lazy(xi[x2] + tmp[x2], si[x2], sip[x2], q);
        }
        ppmli_ntt_inv_lazy(&p->ntt[i], xi); /* [0, 2q) */
        const uint64_t *c0 = bfv_ct_poly(ct, 0) + i * n;
        for (size_t x2 = 0; x2 < n; x2++) {
            uint64_t v = xi[x2] + c0[x2]; /* < 3q */
            xi[x2] = ppmli_csub(ppmli_csub(v, 2 * q), q);
        }
    }
    bfv_free_words(tmp, n);
    return PPML_OK;
}

void bfv_scale_down_t(const ppml_bfv_params *p, const uint64_t *x, uint64_t *out)
{
    /* t x / Q = sum_i y_i t / q_i - t v with y_i = [x_i (Q/q_i)^-1]_{q_i}; the fractions
     * t/q_i are kept as 128-bit fixed point, so the sum is exact to k * 2^-66. */
    const size_t n = p->n, k = p->k;
    const ppmli_mod *mt = &p->ntt_t.mod;
    for (size_t c = 0; c < n; c++) {
        uint64_t w0 = 0, w1 = 0, w2 = 0;
        for (size_t i = 0; i < k; i++) {
            uint64_t q = p->primes[i];
            uint64_t y = ppmli_mul_shoup(x[i * n + c], p->qhat_inv[i], p->qhat_inv_sh[i], q);
            ppmli_u128 lo = (ppmli_u128)y * p->dec_frac_lo[i];
            ppmli_u128 hi = (ppmli_u128)y * p->dec_frac_hi[i];
            ppmli_u128 s0 = (ppmli_u128)w0 + (uint64_t)lo;
            w0 = (uint64_t)s0;
            ppmli_u128 s1 = (ppmli_u128)w1 + (uint64_t)(lo >> 64) + (uint64_t)hi + (uint64_t)(s0 >> 64);
            w1 = (uint64_t)s1;
            w2 += (uint64_t)(hi >> 64) + (uint64_t)(s1 >> 64);
        }
        /* + 1/2 then floor */
        ppmli_u128 s1 = (ppmli_u128)w1 + ((uint64_t)1 << 63);
        w2 += (uint64_t)(s1 >> 64);
        out[c] = ppmli_reduce64(mt, w2);
    }
}

int ppml_bfv_decrypt(const ppml_bfv_sk *sk, ppml_bfv_pt *pt, const ppml_bfv_ct *ct)
{
    if (!sk || !pt || !ct)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    if (ct->p != p || pt->p != p)
        return PPML_EMISMATCH;
    size_t words = p->k * p->n;
    uint64_t *x = bfv_alloc_scratch(words);
    if (!x)
        return PPML_ENOMEM;
    int rc = bfv_dot_sk(sk, ct, x);
    if (rc == PPML_OK) {
        bfv_free_words(pt->mul, 2 * words);
        pt->mul = NULL;
        bfv_scale_down_t(p, x, pt->coef);
    }
    bfv_free_words(x, words);
    return rc;
}

int ppml_bfv_noise_budget(const ppml_bfv_sk *sk, const ppml_bfv_ct *ct, int *bits)
{
    if (!sk || !ct || !bits)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    if (ct->p != p)
        return PPML_EMISMATCH;
    const size_t n = p->n, k = p->k;
    uint64_t *x = bfv_alloc_words(k * n);
    if (!x)
        return PPML_ENOMEM;
    int rc = bfv_dot_sk(sk, ct, x);
    if (rc) {
        bfv_free_words(x, k * n);
        return rc;
    }
    /* ||[t (c0 + c1 s)]_Q||_inf by CRT composition with GMP. */
    mpz_t v, term, norm, halfq;
    mpz_inits(v, term, norm, halfq, NULL);
    mpz_fdiv_q_2exp(halfq, p->Q, 1);
    for (size_t c = 0; c < n; c++) {
        mpz_set_ui(v, 0);
        for (size_t i = 0; i < k; i++) {
            const ppmli_mod *m = &p->ntt[i].mod;
            uint64_t y = ppmli_mulmod(m, ppmli_mulmod(m, x[i * n + c], p->t % m->q), p->qhat_inv[i]);
            mpz_mul_ui(term, p->qhat[i], y);
            mpz_add(v, v, term);
        }
        mpz_mod(v, v, p->Q);
        if (mpz_cmp(v, halfq) > 0)
            mpz_sub(v, p->Q, v);
        if (mpz_cmp(v, norm) > 0)
            mpz_set(norm, v);
    }
    long b = (long)p->log_q - (long)(mpz_sgn(norm) ? mpz_sizeinbase(norm, 2) : 0) - 1;
    *bits = b > 0 ? (int)b : 0;
    mpz_clears(v, term, norm, halfq, NULL);
    bfv_free_words(x, k * n);
    return PPML_OK;
}
