/* Plaintexts and batch encoding (slots = evaluations mod t at the odd powers of a 2n-th
 * root, ordered as a 2 x n/2 matrix; see params.c for the slot map). */
#include "crypto/bfv/bfv_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int ppml_bfv_pt_new(const ppml_bfv_params *p, ppml_bfv_pt **out)
{
    if (!p || !out)
        return PPML_EINVAL;
    ppml_bfv_pt *pt = calloc(1, sizeof *pt);
    if (!pt)
        return PPML_ENOMEM;
    pt->p = p;
    pt->coef = bfv_alloc_words(p->n);
    if (!pt->coef) {
        free(pt);
        return PPML_ENOMEM;
    }
    *out = pt;
    return PPML_OK;
}

static void drop_mul(ppml_bfv_pt *pt)
{
    bfv_free_words(pt->mul, 2 * pt->p->k * pt->p->n);
    pt->mul = NULL;
}

void ppml_bfv_pt_free(ppml_bfv_pt *pt)
{
    if (!pt)
        return;
    drop_mul(pt);
    bfv_free_words(pt->coef, pt->p->n);
    free(pt);
}

static int encode_slots(ppml_bfv_pt *pt, const uint64_t *slots)
{
    const ppml_bfv_params *p = pt->p;
    uint64_t *tmp = bfv_alloc_words(p->n);
    if (!tmp)
        return PPML_ENOMEM;
    for (size_t s = 0; s < p->n; s++)
        tmp[p->slot_idx[s]] = slots[s];
    ppmli_ntt_inv(&p->ntt_t, tmp);
    drop_mul(pt);
    memcpy(pt->coef, tmp, p->n * 8);
    bfv_free_words(tmp, p->n);
    return PPML_OK;
}

int ppml_bfv_encode_u64(ppml_bfv_pt *pt, const uint64_t *v, size_t count)
{
    if (!pt || (!v && count) || count > pt->p->n)
        return PPML_EINVAL;
    const ppml_bfv_params *p = pt->p;
    for (size_t i = 0; i < count; i++)
        if (v[i] >= p->t)
            return PPML_ERANGE;
    uint64_t *slots = bfv_alloc_words(p->n);
    if (!slots)
        return PPML_ENOMEM;
    if (count)
        memcpy(slots, v, count * 8);
    int rc = encode_slots(pt, slots);
    bfv_free_words(slots, p->n);
    return rc;
}

int ppml_bfv_encode_i64(ppml_bfv_pt *pt, const int64_t *v, size_t count)
{
    if (!pt || (!v && count) || count > pt->p->n)
        return PPML_EINVAL;
    const ppml_bfv_params *p = pt->p;
    int64_t lim = (int64_t)((p->t - 1) / 2);
    for (size_t i = 0; i < count; i++)
        if (v[i] > lim || v[i] < -lim)
            return PPML_ERANGE;
    uint64_t *slots = bfv_alloc_words(p->n);
    if (!slots)
        return PPML_ENOMEM;
    for (size_t i = 0; i < count; i++)
        slots[i] = ppmli_from_signed(v[i], p->t);
    int rc = encode_slots(pt, slots);
    bfv_free_words(slots, p->n);
    return rc;
}

static int decode_slots(const ppml_bfv_pt *pt, uint64_t *tmp)
{
    const ppml_bfv_params *p = pt->p;
    memcpy(tmp, pt->coef, p->n * 8);
    ppmli_ntt_fwd(&p->ntt_t, tmp);
    return PPML_OK;
}

int ppml_bfv_decode_u64(const ppml_bfv_pt *pt, uint64_t *v, size_t count)
{
    if (!pt || (!v && count) || count > pt->p->n)
        return PPML_EINVAL;
    const ppml_bfv_params *p = pt->p;
    uint64_t *tmp = bfv_alloc_words(p->n);
    if (!tmp)
        return PPML_ENOMEM;
    decode_slots(pt, tmp);
    for (size_t s = 0; s < count; s++)
        v[s] = tmp[p->slot_idx[s]];
    bfv_free_words(tmp, p->n);
    return PPML_OK;
}

int ppml_bfv_decode_i64(const ppml_bfv_pt *pt, int64_t *v, size_t count)
{
    if (!pt || (!v && count) || count > pt->p->n)
        return PPML_EINVAL;
    const ppml_bfv_params *p = pt->p;
    uint64_t *tmp = bfv_alloc_words(p->n);
    if (!tmp)
        return PPML_ENOMEM;
    decode_slots(pt, tmp);
    uint64_t half = p->t / 2;
    for (size_t s = 0; s < count; s++) {
        uint64_t x = tmp[p->slot_idx[s]];
        v[s] = (int64_t)(x - (p->t & (0 - (uint64_t)(x > half))));
    }
    bfv_free_words(tmp, p->n);
    return PPML_OK;
}

int ppml_bfv_pt_set_coeffs(ppml_bfv_pt *pt, const uint64_t *c, size_t count)
{
    if (!pt || (!c && count) || count > pt->p->n)
        return PPML_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (c[i] >= pt->p->t)
            return PPML_ERANGE;
    drop_mul(pt);
    memset(pt->coef, 0, pt->p->n * 8);
    if (count)
        memcpy(pt->coef, c, count * 8);
    return PPML_OK;
}

int ppml_bfv_pt_get_coeffs(const ppml_bfv_pt *pt, uint64_t *c, size_t count)
{
    if (!pt || (!c && count) || count > pt->p->n)
        return PPML_EINVAL;
    if (count)
        memcpy(c, pt->coef, count * 8);
    return PPML_OK;
}

/* Centred lift of the plaintext to each q_i, NTT form (out [k][n]), and if shoup, the Shoup
 * constants after it (out [2][k][n]). */
int bfv_pt_lift_ntt(const ppml_bfv_pt *pt, uint64_t *out, int shoup)
{
    const ppml_bfv_params *p = pt->p;
    const size_t n = p->n, k = p->k;
    uint64_t half = p->t / 2;
    for (size_t i = 0; i < k; i++) {
        uint64_t q = p->primes[i], *o = out + i * n, *sh = out + (k + i) * n;
        uint64_t adj = q - p->t; /* m > t/2 -> m - t + q */
        for (size_t c = 0; c < n; c++) {
            uint64_t m = pt->coef[c];
            o[c] = m + (adj & (0 - (uint64_t)(m > half))); /* no branch on the plaintext */
        }
        ppmli_ntt_fwd(&p->ntt[i], o);
        if (shoup)
            for (size_t c = 0; c < n; c++)
                sh[c] = ppmli_shoup_ct(&p->ntt[i].mod, o[c]);
    }
    return PPML_OK;
}

int ppml_bfv_pt_prepare_mul(ppml_bfv_pt *pt)
{
    if (!pt)
        return PPML_EINVAL;
    if (pt->mul)
        return PPML_OK;
    uint64_t *m = bfv_alloc_words(2 * pt->p->k * pt->p->n);
    if (!m)
        return PPML_ENOMEM;
    bfv_pt_lift_ntt(pt, m, 1);
    pt->mul = m;
    return PPML_OK;
}
