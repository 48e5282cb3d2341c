/* BFV key generation: secret, public, key-switching (relinearisation, Galois) keys. */
#include "crypto/bfv/bfv_internal.h"
#include "ppml/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void bfv_small_to_ntt(const ppml_bfv_params *p, uint64_t *out, const int8_t *v, size_t count)
{
    const size_t n = p->n;
    for (size_t i = 0; i < count; i++) {
        uint64_t *o = out + i * n, q = p->primes[i];
        for (size_t c = 0; c < n; c++)
            o[c] = ppmli_from_signed(v[c], q);
        ppmli_ntt_fwd(&p->ntt[i], o);
    }
}

void bfv_uniform_ntt(const ppml_bfv_params *p, uint64_t *out, size_t count, ppml_prg *prg)
{
    /* Uniform in the NTT domain is uniform in the coefficient domain. */
    for (size_t i = 0; i < count; i++)
        ppmli_sample_uniform(out + i * p->n, p->n, p->primes[i], prg);
}

void bfv_galois_apply(size_t n, uint32_t g, const uint64_t *in, uint64_t *out, uint64_t q)
{
    const size_t mask = 2 * n - 1;
    size_t idx = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = in[i];
        if (idx < n)
            out[idx] = v;
        else
            out[idx - n] = ppmli_negmod(v, q);
        idx = (idx + g) & mask;
    }
}

void bfv_galois_apply_small(size_t n, uint32_t g, const int8_t *in, int8_t *out)
{
    /* The permutation depends only on the public g; values are moved and negated with
     * arithmetic only. */
    const size_t mask = 2 * n - 1;
    size_t idx = 0;
    for (size_t i = 0; i < n; i++) {
        int8_t v = in[i];
        if (idx < n)
            out[idx] = v;
        else
            out[idx - n] = (int8_t)-v;
        idx = (idx + g) & mask;
    }
}

const ppml_bfv_params *ppml_bfv_sk_params(const ppml_bfv_sk *sk) { return sk->p; }
const ppml_bfv_params *ppml_bfv_pk_params(const ppml_bfv_pk *pk) { return pk->p; }

void ppml_bfv_sk_free(ppml_bfv_sk *sk)
{
    if (!sk)
        return;
    if (sk->s) {
        sodium_memzero(sk->s, sk->p->n);
        free(sk->s);
    }
    bfv_free_words(sk->ntt, 2 * sk->p->np * sk->p->n);
    free(sk);
}

/* sk from given coefficients (copied); internal. */
int bfv_sk_from_coeffs(const ppml_bfv_params *p, const int8_t *s, ppml_bfv_sk **out);
int bfv_sk_from_coeffs(const ppml_bfv_params *p, const int8_t *s, ppml_bfv_sk **out)
{
    ppml_bfv_sk *sk = calloc(1, sizeof *sk);
    if (!sk)
        return PPML_ENOMEM;
    sk->p = p;
    sk->s = malloc(p->n);
    sk->ntt = bfv_alloc_words(2 * p->np * p->n);
    if (!sk->s || !sk->ntt) {
        ppml_bfv_sk_free(sk);
        return PPML_ENOMEM;
    }
    memcpy(sk->s, s, p->n);
    bfv_small_to_ntt(p, sk->ntt, sk->s, p->np);
    sk->ntt_sh = sk->ntt + p->np * p->n;
    for (size_t i = 0; i < p->np; i++)
        for (size_t c = 0; c < p->n; c++)
            sk->ntt_sh[i * p->n + c] = ppmli_shoup_ct(&p->ntt[i].mod, sk->ntt[i * p->n + c]);
    *out = sk;
    return PPML_OK;
}

int ppml_bfv_sk_new(const ppml_bfv_params *p, ppml_bfv_sk **out)
{
    if (!p || !out)
        return PPML_EINVAL;
    int8_t *s = malloc(p->n);
    if (!s)
        return PPML_ENOMEM;
    ppmli_sample_ternary(s, p->n);
    int rc = bfv_sk_from_coeffs(p, s, out);
    sodium_memzero(s, p->n);
    free(s);
    return rc;
}

int ppml_bfv_sk_sum_for_tests(const ppml_bfv_sk *a, const ppml_bfv_sk *b, ppml_bfv_sk **out)
{
    if (!a || !b || !out)
        return PPML_EINVAL;
    if (a->p != b->p)
        return PPML_EMISMATCH;
    const ppml_bfv_params *p = a->p;
    int8_t *s = malloc(p->n);
    if (!s)
        return PPML_ENOMEM;
    for (size_t i = 0; i < p->n; i++)
        s[i] = (int8_t)(a->s[i] + b->s[i]);
    int rc = bfv_sk_from_coeffs(p, s, out);
    sodium_memzero(s, p->n);
    free(s);
    return rc;
}

void ppml_bfv_pk_free(ppml_bfv_pk *pk)
{
    if (!pk)
        return;
    bfv_free_words(pk->data, bfv_pk_words(pk->p));
    free(pk);
}

void bfv_pk_finish(ppml_bfv_pk *pk)
{
    const ppml_bfv_params *p = pk->p;
    const size_t n = p->n, half = 2 * p->np * n;
    for (size_t r = 0; r < 2 * p->np; r++) {
        for (size_t c = 0; c < n; c++)
            pk->data[half + r * n + c] = ppmli_shoup_ct(&p->ntt[r % p->np].mod, pk->data[r * n + c]);
    }
}

/* out = -a*s + e over primes [0, count), NTT form; a given in NTT form. */
void bfv_rlwe_b(const ppml_bfv_params *p, uint64_t *out, const uint64_t *a, const uint64_t *s_ntt,
                size_t count, int8_t *ework);
void bfv_rlwe_b(const ppml_bfv_params *p, uint64_t *out, const uint64_t *a, const uint64_t *s_ntt,
                size_t count, int8_t *ework)
{
    const size_t n = p->n;
    ppmli_sample_cbd(ework, n);
    bfv_small_to_ntt(p, out, ework, count);
    for (size_t i = 0; i < count; i++) {
        const ppmli_mod *m = &p->ntt[i].mod;
        uint64_t *o = out + i * n;
        const uint64_t *ai = a + i * n, *si = s_ntt + i * n;
        for (size_t c = 0; c < n; c++)
            o[c] = ppmli_submod(o[c], ppmli_mulmod(m, ai[c], si[c]), m->q);
    }
    sodium_memzero(ework, n);
}

int ppml_bfv_pk_new(const ppml_bfv_sk *sk, ppml_bfv_pk **out)
{
    if (!sk || !out)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    ppml_bfv_pk *pk = calloc(1, sizeof *pk);
    int8_t *e = malloc(p->n);
    if (!pk || !e) {
        free(pk);
        free(e);
        return PPML_ENOMEM;
    }
    pk->p = p;
    pk->data = bfv_alloc_words(bfv_pk_words(p));
    if (!pk->data) {
        free(e);
        free(pk);
        return PPML_ENOMEM;
    }
    uint64_t *a = pk->data + p->np * p->n;
    bfv_uniform_ntt(p, a, p->np, NULL);
    bfv_rlwe_b(p, pk->data, a, sk->ntt, p->np, e);
    bfv_pk_finish(pk);
    free(e);
    *out = pk;
    return PPML_OK;
}

int ppml_bfv_keygen(const ppml_bfv_params *p, ppml_bfv_sk **sk, ppml_bfv_pk **pk)
{
    if (!p || !sk || !pk)
        return PPML_EINVAL;
    ppml_bfv_sk *s;
    int rc = ppml_bfv_sk_new(p, &s);
    if (rc)
        return rc;
    rc = ppml_bfv_pk_new(s, pk);
    if (rc) {
        ppml_bfv_sk_free(s);
        return rc;
    }
    *sk = s;
    return PPML_OK;
}

void bfv_ksk_free(const ppml_bfv_params *p, bfv_ksk *key)
{
    bfv_free_words(key->data, bfv_ksk_words(p));
    key->data = NULL;
}

int bfv_ksk_gen(const ppml_bfv_params *p, bfv_ksk *key, const uint64_t *s_ntt,
                const uint64_t *target_ntt, ppml_prg *prg)
{
    const size_t n = p->n;
    key->data = bfv_alloc_words(bfv_ksk_words(p));
    int8_t *e = malloc(n);
    if (!key->data || !e) {
        free(e);
        bfv_ksk_free(p, key);
        return PPML_ENOMEM;
    }
    for (size_t d = 0; d < p->k; d++) {
        uint64_t *b = bfv_ksk_poly(p, key, d, 0), *a = bfv_ksk_poly(p, key, d, 1);
        bfv_uniform_ntt(p, a, p->np, prg);
        bfv_rlwe_b(p, b, a, s_ntt, p->np, e);
        /* + P * g_d * target: only the q_d component is non-zero. */
        const ppmli_mod *m = &p->ntt[d].mod;
        uint64_t w = p->p_mod_q[d], wp = ppmli_shoup(w, m->q);
        uint64_t *bd = b + d * n;
        const uint64_t *td = target_ntt + d * n;
        for (size_t c = 0; c < n; c++)
            bd[c] = ppmli_addmod(bd[c], ppmli_mul_shoup(td[c], w, wp, m->q), m->q);
    }
    free(e);
    return PPML_OK;
}

void ppml_bfv_rlk_free(ppml_bfv_rlk *rlk)
{
    if (!rlk)
        return;
    bfv_ksk_free(rlk->p, &rlk->key);
    free(rlk);
}

int ppml_bfv_relin_keygen(const ppml_bfv_sk *sk, ppml_bfv_rlk **out)
{
    if (!sk || !out)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    size_t words = p->np * p->n;
    ppml_bfv_rlk *rlk = calloc(1, sizeof *rlk);
    uint64_t *s2 = bfv_alloc_words(words);
    if (!rlk || !s2) {
        free(rlk);
        bfv_free_words(s2, words);
        return PPML_ENOMEM;
    }
    rlk->p = p;
    for (size_t i = 0; i < p->np; i++) {
        const ppmli_mod *m = &p->ntt[i].mod;
        for (size_t c = 0; c < p->n; c++) {
            uint64_t v = sk->ntt[i * p->n + c];
            s2[i * p->n + c] = ppmli_mulmod(m, v, v);
        }
    }
    int rc = bfv_ksk_gen(p, &rlk->key, sk->ntt, s2, NULL);
    bfv_free_words(s2, words);
    if (rc) {
        free(rlk);
        return rc;
    }
    *out = rlk;
    return PPML_OK;
}

void ppml_bfv_galk_free(ppml_bfv_galk *gk)
{
    if (!gk)
        return;
    for (size_t i = 0; i < gk->count; i++)
        bfv_ksk_free(gk->p, &gk->keys[i]);
    free(gk->keys);
    free(gk->elt);
    free(gk);
}

/* Galois element of a left row rotation by step (reduced mod n/2). */
uint32_t bfv_galois_elt(const ppml_bfv_params *p, int step);
uint32_t bfv_galois_elt(const ppml_bfv_params *p, int step)
{
    size_t half = p->n / 2;
    long r = step % (long)half;
    if (r < 0)
        r += (long)half;
    uint64_t m2 = 2 * (uint64_t)p->n, g = 1;
    for (long i = 0; i < r; i++)
        g = (g * 3) % m2;
    return (uint32_t)g;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Galois key for element g: switches from sigma_g(s) to s. */
int bfv_galois_ksk(const ppml_bfv_sk *sk, uint32_t g, bfv_ksk *key);
int bfv_galois_ksk(const ppml_bfv_sk *sk, uint32_t g, bfv_ksk *key)
{
    const ppml_bfv_params *p = sk->p;
    size_t words = p->np * p->n;
    int8_t *sg = malloc(p->n);
    uint64_t *tg = bfv_alloc_words(words);
    int rc = PPML_ENOMEM;
    if (sg && tg) {
        bfv_galois_apply_small(p->n, g, sk->s, sg);
        bfv_small_to_ntt(p, tg, sg, p->np);
        rc = bfv_ksk_gen(p, key, sk->ntt, tg, NULL);
    }
    if (sg) {
        sodium_memzero(sg, p->n);
        free(sg);
    }
    bfv_free_words(tg, words);
    return rc;
}

int ppml_bfv_galois_keygen(const ppml_bfv_sk *sk, ppml_bfv_galk **out, const int *steps,
                           size_t nsteps, int column_swap)
{
    if (!sk || !out || (nsteps && !steps) || nsteps > 65536)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    size_t half = p->n / 2;
    for (size_t i = 0; i < nsteps; i++)
        if (steps[i] == 0 || (size_t)labs((long)steps[i]) >= half)
            return PPML_EINVAL;
    size_t cap = nsteps + 2 * (size_t)p->logn + 1, count = 0;
    uint32_t *elt = malloc(cap * sizeof *elt);
    if (!elt)
        return PPML_ENOMEM;
    for (size_t i = 0; i < nsteps; i++)
        elt[count++] = bfv_galois_elt(p, steps[i]);
    if (!steps)
        for (size_t s = 1; s < half; s <<= 1) {
            elt[count++] = bfv_galois_elt(p, (int)s);
            elt[count++] = bfv_galois_elt(p, -(int)s);
        }
    if (column_swap)
        elt[count++] = (uint32_t)(2 * p->n - 1);
    qsort(elt, count, sizeof *elt, cmp_u32);
    size_t uniq = 0;
    for (size_t i = 0; i < count; i++)
        if (elt[i] != 1 && (uniq == 0 || elt[uniq - 1] != elt[i]))
            elt[uniq++] = elt[i];
    ppml_bfv_galk *gk = calloc(1, sizeof *gk);
    bfv_ksk *keys = calloc(uniq ? uniq : 1, sizeof *keys);
    if (!gk || !keys) {
        free(gk);
        free(keys);
        free(elt);
        return PPML_ENOMEM;
    }
    gk->p = p;
    gk->elt = elt;
    gk->keys = keys;
    for (size_t i = 0; i < uniq; i++) {
        int rc = bfv_galois_ksk(sk, elt[i], &keys[i]);
        if (rc) {
            ppml_bfv_galk_free(gk);
            return rc;
        }
        gk->count = i + 1;
    }
    gk->count = uniq;
    *out = gk;
    return PPML_OK;
}
