/* Two-party BFV layer for scheme D (DESIGN §5.1-5.3).
 *
 * Parties P1 and P2 (in scheme D: CS and the DA's data centre) hold ternary secret shares
 * s_1, s_2 of the collective secret s = s_1 + s_2. What each party receives:
 *  - collective key generation: the common seed and the other party's share
 *    b_j = -a s_j + e_j (an RLWE sample: hides s_j);
 *  - relinearisation key generation: the other party's round-1 share (h0_j, h1_j), RLWE
 *    samples under s_j and the ephemeral u_j, and the aggregated round-2 shares;
 *  - threshold decryption: the combiner receives d_j = c1 s_j + e_j with e_j uniform of
 *    smudge_bits bits, which hides c1 s_j statistically (2^-40 for smudge_bits >= noise + 40)
 *    and learns the plaintext;
 *  - re-encryption keys: anyone receives rk = Enc_pk(P g_i s_P), encryptions under the
 *    collective public key, so they reveal nothing about s_P without s.
 * Secrets: s_j (ppml_bfv_sk), u_j (ppml_bfv_rkg_state), the smudging noise (wiped). */
#include "crypto/bfv/bfv_internal.h"
#include "ppml/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void bfv_rlwe_b(const ppml_bfv_params *p, uint64_t *out, const uint64_t *a, const uint64_t *s_ntt,
                size_t count, int8_t *ework);

enum { STREAM_CKG = 0, STREAM_RKG = 1 };

void ppml_bfv_poly_free(ppml_bfv_poly *poly)
{
    if (!poly)
        return;
    bfv_free_words(poly->data, poly->p->np * poly->p->n);
    free(poly);
}

static ppml_bfv_poly *poly_new(const ppml_bfv_params *p)
{
    ppml_bfv_poly *poly = calloc(1, sizeof *poly);
    if (!poly)
        return NULL;
    poly->p = p;
    poly->data = bfv_alloc_words(p->np * p->n);
    if (!poly->data) {
        free(poly);
        return NULL;
    }
    return poly;
}

int ppml_bfv_ckg_share(const ppml_bfv_sk *sk, const uint8_t seed[PPML_SEED_BYTES], ppml_bfv_poly **out)
{
    if (!sk || !seed || !out)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    size_t words = p->np * p->n;
    ppml_bfv_poly *b = poly_new(p);
    uint64_t *a = bfv_alloc_words(words);
    int8_t *e = malloc(p->n);
    if (!b || !a || !e) {
        ppml_bfv_poly_free(b);
        bfv_free_words(a, words);
        free(e);
        return PPML_ENOMEM;
    }
    ppml_prg prg;
    ppml_prg_init(&prg, seed, STREAM_CKG);
    bfv_uniform_ntt(p, a, p->np, &prg);
    ppml_prg_clear(&prg);
    bfv_rlwe_b(p, b->data, a, sk->ntt, p->np, e);
    free(e);
    bfv_free_words(a, words);
    *out = b;
    return PPML_OK;
}

int ppml_bfv_ckg_combine(const ppml_bfv_params *p, const uint8_t seed[PPML_SEED_BYTES],
                         const ppml_bfv_poly *b1, const ppml_bfv_poly *b2, ppml_bfv_pk **out)
{
    if (!p || !seed || !b1 || !b2 || !out)
        return PPML_EINVAL;
    if (b1->p != p || b2->p != p)
        return PPML_EMISMATCH;
    ppml_bfv_pk *pk = calloc(1, sizeof *pk);
    if (!pk)
        return PPML_ENOMEM;
    pk->p = p;
    pk->data = bfv_alloc_words(bfv_pk_words(p));
    if (!pk->data) {
        free(pk);
        return PPML_ENOMEM;
    }
    const size_t n = p->n;
    for (size_t i = 0; i < p->np; i++)
        for (size_t c = 0; c < n; c++)
            pk->data[i * n + c] = ppmli_addmod(b1->data[i * n + c], b2->data[i * n + c], p->primes[i]);
    ppml_prg prg;
    ppml_prg_init(&prg, seed, STREAM_CKG);
    bfv_uniform_ntt(p, pk->data + p->np * n, p->np, &prg);
    ppml_prg_clear(&prg);
    bfv_pk_finish(pk);
    *out = pk;
    return PPML_OK;
}

/* ---- relinearisation key (two rounds) ---- */

void ppml_bfv_rkg_state_free(ppml_bfv_rkg_state *st)
{
    if (!st)
        return;
    bfv_free_words(st->u, st->p->np * st->p->n);
    free(st);
}

void ppml_bfv_rkg_share_free(ppml_bfv_rkg_share *sh)
{
    if (!sh)
        return;
    bfv_ksk_free(sh->p, &sh->key);
    free(sh);
}

static ppml_bfv_rkg_share *share_new(const ppml_bfv_params *p)
{
    ppml_bfv_rkg_share *sh = calloc(1, sizeof *sh);
    if (!sh)
        return NULL;
    sh->p = p;
    sh->key.data = bfv_alloc_words(bfv_ksk_words(p));
    if (!sh->key.data) {
        free(sh);
        return NULL;
    }
    return sh;
}

/* out (np rows) = x * s + e, NTT form (e fresh CBD). */
static void mul_add_noise(const ppml_bfv_params *p, uint64_t *out, const uint64_t *x, const uint64_t *s,
                          int8_t *ework)
{
    const size_t n = p->n;
    ppmli_sample_cbd(ework, n);
    bfv_small_to_ntt(p, out, ework, p->np);
    for (size_t i = 0; i < p->np; i++) {
        const ppmli_mod *m = &p->ntt[i].mod;
        for (size_t c = 0; c < n; c++)
            out[i * n + c] = ppmli_addmod(out[i * n + c], ppmli_mulmod(m, x[i * n + c], s[i * n + c]), m->q);
    }
    sodium_memzero(ework, n);
}

int ppml_bfv_rkg_round1(const ppml_bfv_sk *sk, const uint8_t seed[PPML_SEED_BYTES],
                        ppml_bfv_rkg_state **state, ppml_bfv_rkg_share **share)
{
    if (!sk || !seed || !state || !share)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    const size_t n = p->n, words = p->np * n;
    ppml_bfv_rkg_state *st = calloc(1, sizeof *st);
    ppml_bfv_rkg_share *sh = share_new(p);
    uint64_t *a = bfv_alloc_words(words);
    int8_t *e = malloc(n);
    if (st)
        st->u = bfv_alloc_words(words);
    if (!st || !st->u || !sh || !a || !e) {
        if (st)
            bfv_free_words(st->u, words);
        free(st);
        ppml_bfv_rkg_share_free(sh);
        bfv_free_words(a, words);
        free(e);
        return PPML_ENOMEM;
    }
    st->p = p;
    ppmli_sample_ternary(e, n);
    bfv_small_to_ntt(p, st->u, e, p->np);
    ppml_prg prg;
    ppml_prg_init(&prg, seed, STREAM_RKG);
    for (size_t d = 0; d < p->k; d++) {
        bfv_uniform_ntt(p, a, p->np, &prg);
        uint64_t *h0 = bfv_ksk_poly(p, &sh->key, d, 0), *h1 = bfv_ksk_poly(p, &sh->key, d, 1);
        /* h0 = -u a + e0 + P g_d s_j */
        bfv_rlwe_b(p, h0, a, st->u, p->np, e);
        const ppmli_mod *m = &p->ntt[d].mod;
        uint64_t w = p->p_mod_q[d], wp = ppmli_shoup(w, m->q);
        for (size_t c = 0; c < n; c++)
            h0[d * n + c] = ppmli_addmod(h0[d * n + c], ppmli_mul_shoup(sk->ntt[d * n + c], w, wp, m->q), m->q);
        /* h1 = s_j a + e1 (computed as -(-a s_j + e1'), e1' symmetric) */
        bfv_rlwe_b(p, h1, a, sk->ntt, p->np, e);
        for (size_t i = 0; i < p->np; i++)
            for (size_t c = 0; c < n; c++) {
                uint64_t v = h1[i * n + c];
                h1[i * n + c] = ppmli_negmod(v, p->primes[i]);
            }
    }
    ppml_prg_clear(&prg);
    free(e);
    bfv_free_words(a, words);
    *state = st;
    *share = sh;
    return PPML_OK;
}

int ppml_bfv_rkg_aggregate(ppml_bfv_rkg_share **out, const ppml_bfv_rkg_share *a, const ppml_bfv_rkg_share *b)
{
    if (!out || !a || !b)
        return PPML_EINVAL;
    if (a->p != b->p)
        return PPML_EMISMATCH;
    const ppml_bfv_params *p = a->p;
    ppml_bfv_rkg_share *sh = share_new(p);
    if (!sh)
        return PPML_ENOMEM;
    const size_t n = p->n, rows = p->k * 2 * p->np;
    for (size_t r = 0; r < rows; r++) {
        uint64_t q = p->primes[r % p->np];
        for (size_t c = 0; c < n; c++)
            sh->key.data[r * n + c] = ppmli_addmod(a->key.data[r * n + c], b->key.data[r * n + c], q);
    }
    *out = sh;
    return PPML_OK;
}

int ppml_bfv_rkg_round2(const ppml_bfv_sk *sk, const ppml_bfv_rkg_state *st,
                        const ppml_bfv_rkg_share *r1, ppml_bfv_rkg_share **share)
{
    if (!sk || !st || !r1 || !share)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    if (st->p != p || r1->p != p)
        return PPML_EMISMATCH;
    const size_t n = p->n, words = p->np * n;
    ppml_bfv_rkg_share *sh = share_new(p);
    uint64_t *us = bfv_alloc_words(words);
    int8_t *e = malloc(n);
    if (!sh || !us || !e) {
        ppml_bfv_rkg_share_free(sh);
        bfv_free_words(us, words);
        free(e);
        return PPML_ENOMEM;
    }
    for (size_t i = 0; i < p->np; i++)
        for (size_t c = 0; c < n; c++)
            us[i * n + c] = ppmli_submod(st->u[i * n + c], sk->ntt[i * n + c], p->primes[i]);
    for (size_t d = 0; d < p->k; d++) {
        /* h0'_j = s_j h0 + e2,  h1'_j = (u_j - s_j) h1 + e3 */
        mul_add_noise(p, bfv_ksk_poly(p, &sh->key, d, 0), bfv_ksk_poly(p, &r1->key, d, 0), sk->ntt, e);
        mul_add_noise(p, bfv_ksk_poly(p, &sh->key, d, 1), bfv_ksk_poly(p, &r1->key, d, 1), us, e);
    }
    free(e);
    bfv_free_words(us, words);
    *share = sh;
    return PPML_OK;
}

int ppml_bfv_rkg_finish(const ppml_bfv_rkg_share *r1, const ppml_bfv_rkg_share *r2, ppml_bfv_rlk **out)
{
    if (!r1 || !r2 || !out)
        return PPML_EINVAL;
    if (r1->p != r2->p)
        return PPML_EMISMATCH;
    const ppml_bfv_params *p = r1->p;
    const size_t n = p->n, words = p->np * n;
    ppml_bfv_rlk *rlk = calloc(1, sizeof *rlk);
    if (!rlk)
        return PPML_ENOMEM;
    rlk->p = p;
    rlk->key.data = bfv_alloc_words(bfv_ksk_words(p));
    if (!rlk->key.data) {
        free(rlk);
        return PPML_ENOMEM;
    }
    for (size_t d = 0; d < p->k; d++) {
        uint64_t *b = bfv_ksk_poly(p, &rlk->key, d, 0), *a = bfv_ksk_poly(p, &rlk->key, d, 1);
        const uint64_t *x = bfv_ksk_poly(p, &r2->key, d, 0), *y = bfv_ksk_poly(p, &r2->key, d, 1);
        for (size_t i = 0; i < p->np; i++)
            for (size_t c = 0; c < n; c++)
                b[i * n + c] = ppmli_addmod(x[i * n + c], y[i * n + c], p->primes[i]);
        memcpy(a, bfv_ksk_poly(p, &r1->key, d, 1), words * 8);
    }
    *out = rlk;
    return PPML_OK;
}

/* ---- threshold decryption ---- */

void ppml_bfv_decshare_free(ppml_bfv_decshare *d)
{
    if (!d)
        return;
    bfv_free_words(d->data, d->p->k * d->p->n);
    free(d);
}

int ppml_bfv_decrypt_share(const ppml_bfv_sk *sk, const ppml_bfv_ct *ct, unsigned smudge_bits,
                           ppml_bfv_decshare **out)
{
    if (!sk || !ct || !out || smudge_bits > 100)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    if (ct->p != p)
        return PPML_EMISMATCH;
    if (ct->size != 2)
        return PPML_ESTATE;
    unsigned tbits = 64 - (unsigned)__builtin_clzll(p->t);
    if (smudge_bits + tbits + 3 >= p->log_q)
        return PPML_ERANGE;
    const size_t n = p->n, k = p->k;
    ppml_bfv_decshare *d = calloc(1, sizeof *d);
    uint64_t *r = bfv_alloc_words(2 * n);
    if (!d || !r) {
        free(d);
        bfv_free_words(r, 2 * n);
        return PPML_ENOMEM;
    }
    d->p = p;
    d->data = bfv_alloc_words(k * n);
    if (!d->data) {
        free(d);
        bfv_free_words(r, 2 * n);
        return PPML_ENOMEM;
    }
    /* Smudging noise e = r - 2^B, r uniform of B + 1 bits: e uniform in [-2^B, 2^B).
     * The 2n random words come from a ChaCha20 stream (ppml_prg) keyed by 32 fresh bytes of
     * ppml_randombytes (OS CSPRNG) used for this share only: that is itself a CSPRNG, and
     * far cheaper than 128 KiB of getrandom per share. The seed and the stream state are
     * wiped after use. */
    const unsigned B = smudge_bits;
    {
        uint8_t seed[PPML_SEED_BYTES];
        ppml_prg g;
        ppml_randombytes(seed, sizeof seed);
        ppml_prg_init(&g, seed, 0);
        ppml_prg_bytes(&g, r, 2 * n * 8);
        ppml_prg_clear(&g);
        sodium_memzero(seed, sizeof seed);
    }
    const ppmli_u128 mask = (B + 1 >= 128) ? ~(ppmli_u128)0 : (((ppmli_u128)1 << (B + 1)) - 1);
    for (size_t i = 0; i < k; i++) {
        const ppmli_ntt *tn = &p->ntt[i];
        const ppmli_mod *m = &tn->mod;
        const uint64_t q = m->q;
        uint64_t *di = d->data + i * n;
        memcpy(di, bfv_ct_poly(ct, 1) + i * n, n * 8);
        /* c1 s in NTT form with lazy ranges: NTT [0, 4q), Shoup product with the secret's
         * constants (branch-free) [0, 2q), inverse [0, 2q). */
        ppmli_ntt_fwd_lazy(tn, di);
        const uint64_t *si = sk->ntt + i * n, *sip = sk->ntt_sh + i * n;
        for (size_t c = 0; c < n; c++)
            di[c] = ppmli_mul_shoup_lazy(di[c], si[c], sip[c], q);
        ppmli_ntt_inv_lazy(tn, di);
        const uint64_t shift = ppmli_reduce128(m, (ppmli_u128)1 << B);
        /* r = hi 2^64 + lo (B + 1 bits) mod q: when hi (2^64 mod q) + q stays below 2^64 the
         * 64-bit Barrett reduction does it (the common case: B = 72, q < 2^54); any other
         * size takes the 128-bit one. Both are branch-free. */
        const unsigned hi_bits = B + 1 > 64 ? B + 1 - 64 : 0;
        if (hi_bits + m->bits <= 63) {
            const uint64_t r64 = ppmli_reduce128(m, (ppmli_u128)1 << 64), lo_mask = (uint64_t)mask;
            const uint64_t hi_mask = (uint64_t)(mask >> 64);
            for (size_t c = 0; c < n; c++) {
                uint64_t lo = ppmli_reduce64(m, r[2 * c] & lo_mask);
                uint64_t e = ppmli_reduce64(m, (r[2 * c + 1] & hi_mask) * r64 + lo);
                e = ppmli_submod(e, shift, q);
                di[c] = ppmli_addmod(ppmli_csub(di[c], q), e, q);
            }
        } else {
            for (size_t c = 0; c < n; c++) {
                ppmli_u128 rv = (((ppmli_u128)r[2 * c + 1] << 64) | r[2 * c]) & mask;
                uint64_t e = ppmli_submod(ppmli_reduce128(m, rv), shift, q);
                di[c] = ppmli_addmod(ppmli_csub(di[c], q), e, q);
            }
        }
    }
    bfv_free_words(r, 2 * n);
    *out = d;
    return PPML_OK;
}

int ppml_bfv_decshare_combine(ppml_bfv_pt *pt, const ppml_bfv_ct *ct, const ppml_bfv_decshare *d1,
                              const ppml_bfv_decshare *d2)
{
    if (!pt || !ct || !d1 || !d2)
        return PPML_EINVAL;
    const ppml_bfv_params *p = ct->p;
    if (pt->p != p || d1->p != p || d2->p != p)
        return PPML_EMISMATCH;
    if (ct->size != 2)
        return PPML_ESTATE;
    const size_t n = p->n, k = p->k;
    uint64_t *x = bfv_alloc_words(k * n);
    if (!x)
        return PPML_ENOMEM;
    for (size_t i = 0; i < k; i++) {
        uint64_t q = p->primes[i];
        const uint64_t *c0 = bfv_ct_poly(ct, 0) + i * n;
        for (size_t c = 0; c < n; c++)
            x[i * n + c] = ppmli_addmod(ppmli_addmod(c0[c], d1->data[i * n + c], q), d2->data[i * n + c], q);
    }
    bfv_free_words(pt->mul, 2 * k * n);
    pt->mul = NULL;
    bfv_scale_down_t(p, x, pt->coef);
    bfv_free_words(x, k * n);
    return PPML_OK;
}

/* ---- re-encryption keys ---- */

void ppml_bfv_rkey_free(ppml_bfv_rkey *rk)
{
    if (!rk)
        return;
    bfv_ksk_free(rk->p, &rk->key);
    free(rk);
}

int ppml_bfv_rkey_gen(const ppml_bfv_sk *sk, const ppml_bfv_pk *pk, ppml_bfv_rkey **out)
{
    if (!sk || !pk || !out)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    if (pk->p != p)
        return PPML_EMISMATCH;
    const size_t n = p->n, words = p->np * n;
    ppml_bfv_rkey *rk = calloc(1, sizeof *rk);
    uint64_t *u = bfv_alloc_words(words);
    int8_t *e = malloc(n);
    if (rk)
        rk->key.data = bfv_alloc_words(bfv_ksk_words(p));
    if (!rk || !rk->key.data || !u || !e) {
        if (rk)
            bfv_ksk_free(p, &rk->key);
        free(rk);
        bfv_free_words(u, words);
        free(e);
        return PPML_ENOMEM;
    }
    rk->p = p;
    const uint64_t *p0 = pk->data, *p1 = pk->data + words;
    for (size_t d = 0; d < p->k; d++) {
        /* rk_d = (p0 u + e0 + P g_d s_P, p1 u + e1) mod QP */
        ppmli_sample_ternary(e, n);
        bfv_small_to_ntt(p, u, e, p->np);
        uint64_t *b = bfv_ksk_poly(p, &rk->key, d, 0), *a = bfv_ksk_poly(p, &rk->key, d, 1);
        mul_add_noise(p, b, p0, u, e);
        mul_add_noise(p, a, p1, u, e);
        const ppmli_mod *m = &p->ntt[d].mod;
        uint64_t w = p->p_mod_q[d], wp = ppmli_shoup(w, m->q);
        for (size_t c = 0; c < n; c++)
            b[d * n + c] = ppmli_addmod(b[d * n + c], ppmli_mul_shoup(sk->ntt[d * n + c], w, wp, m->q), m->q);
    }
    sodium_memzero(e, n);
    free(e);
    bfv_free_words(u, words);
    *out = rk;
    return PPML_OK;
}

int ppml_bfv_reencrypt(const ppml_bfv_rkey *rk, ppml_bfv_ct *out, const ppml_bfv_ct *in)
{
    if (!rk || !out || !in)
        return PPML_EINVAL;
    const ppml_bfv_params *p = rk->p;
    if (out->p != p || in->p != p)
        return PPML_EMISMATCH;
    if (in->size != 2)
        return PPML_ESTATE;
    const size_t kn = p->k * p->n;
    uint64_t *c1 = bfv_alloc_words(kn);
    if (!c1)
        return PPML_ENOMEM;
    memcpy(c1, bfv_ct_poly(in, 1), kn * 8);
    if (out != in)
        memcpy(bfv_ct_poly(out, 0), bfv_ct_poly(in, 0), kn * 8);
    memset(bfv_ct_poly(out, 1), 0, kn * 8);
    out->size = 2;
    int rc = bfv_keyswitch(p, &rk->key, c1, bfv_ct_poly(out, 0), bfv_ct_poly(out, 1));
    bfv_free_words(c1, kn);
    return rc;
}
