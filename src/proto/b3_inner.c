/* B3 secure inner products: rows x_i (m x d) and y_i (m x d, or one shared d-vector y) ->
 * E(<x_i, y_i>), one round trip, one ciphertext per inner product.
 *
 * What each party receives:
 *   CCS: the public m, d, whether y is shared, the slot width w = l + kappa + 1, and packed,
 *        freshly re-randomised ciphertexts of x_it + rho_it and y_t + sigma_t (each offset
 *        2^l + r, r uniform in [0, 2^(l+kappa))): every slot in [0, 2^(l+kappa+1)), within
 *        statistical distance 2^(1-kappa) of a value independent of the data. A shared y is
 *        blinded once (its d entries are sent once).
 *   CSS: m fresh ciphertexts E(sum_t alpha_it * beta_t) under the training key; it removes
 *        the cross terms sum_t (sigma_t x_it + rho_it y_t + rho_it sigma_t) homomorphically.
 * Cost: CSS 2md small exponentiations; CCS (m + m_y) d / capacity decryptions, m
 * encryptions. */
#include "proto_internal.h"

#include "ppml/mem.h"

#include <stdlib.h>

typedef struct inner_job {
    const ppml_paillier_pk *pk;
    const mpz_t *x, *y;
    mpz_t *off; /* [0, md): rho for x; [md, md + my d): sigma for y */
    mpz_t *blinded;
    mpz_t *reply;
    mpz_t *res;
    size_t m, d, my;
    int shared;
    unsigned slot; /* offsets < 2^slot */
} inner_job;

static int blind_one(void *ctx, size_t i)
{
    inner_job *j = ctx;
    size_t mdx = j->m * j->d;
    ppmli_blind_add(j->pk, j->blinded[i], i < mdx ? j->x[i] : j->y[i - mdx], j->off[i]);
    return PPML_OK;
}

/* Row i's 2d cross terms x_(i,t)^sigma_t, y_(yi,t)^rho_(i,t) and constant sum rho sigma. */
static void unblind_terms(void *ctx, size_t i, mpz_srcptr *bases, mpz_srcptr *exps, mpz_t c)
{
    inner_job *j = ctx;
    size_t d = j->d, yi = j->shared ? 0 : i;
    const mpz_t *rho = (const mpz_t *)(j->off + i * d), *sigma = (const mpz_t *)(j->off + j->m * d + yi * d);
    mpz_set_ui(c, 0);
    for (size_t t = 0; t < d; t++) {
        bases[2 * t] = j->x[i * d + t];
        exps[2 * t] = sigma[t];
        bases[2 * t + 1] = j->y[yi * d + t];
        exps[2 * t + 1] = rho[t];
        mpz_addmul(c, rho[t], sigma[t]);
    }
}

int ppml_proto_inner(ppml_proto_css *css, mpz_t *out, const mpz_t *x, const mpz_t *y, size_t m,
                     size_t d, int y_shared, unsigned value_bits)
{
    if (!css || (m && (!out || !x || !y)) || value_bits == 0 || (m && d == 0))
        return PPML_EINVAL;
    if (m == 0)
        return PPML_OK;
    size_t my = y_shared ? 1 : m, mdx, mdy;
    if (ppml_mul_size(&mdx, m, d) != PPML_OK || ppml_mul_size(&mdy, my, d) != PPML_OK ||
        mdx > PPML_PROTO_MAX_VALUES || mdy > PPML_PROTO_MAX_VALUES - mdx || m > UINT32_MAX ||
        d > UINT32_MAX)
        return PPML_ERANGE;
    unsigned slot = ppmli_additive_slot_bits(value_bits, css->kappa);
    int rc = ppmli_check_slot_bits(css->pk, slot);
    if (rc != PPML_OK)
        return rc;
    size_t count = mdx + mdy;
    mpz_t *off = ppml_mpz_vec_new(count), *blinded = ppml_mpz_vec_new(count);
    mpz_t *reply = ppml_mpz_vec_new(m), *res = ppml_mpz_vec_new(m);
    rc = (off && blinded && reply && res) ? PPML_OK : PPML_ENOMEM;
    inner_job j = {css->pk, x, y, off, blinded, reply, res, m, d, my, y_shared != 0, slot};
    if (rc == PPML_OK) {
        ppmli_draw_offsets(off, count, value_bits, css->kappa);
        rc = ppmli_parallel_for(css->threads, count, blind_one, &j);
    }
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, (uint32_t)m);
        ppml_write_u32(&w, (uint32_t)d);
        ppml_write_u8(&w, y_shared ? 1 : 0);
        ppml_write_u16(&w, (uint16_t)slot);
        rc = ppmli_css_send_packed(css, PPML_MSG_INNER, &w, (const mpz_t *)blinded, count, slot);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK)
        rc = ppmli_css_recv_cts(css, PPML_MSG_INNER, css->pk, reply, m);
    unsigned *bits = rc == PPML_OK ? malloc(2 * d * sizeof *bits) : NULL;
    if (rc == PPML_OK && !bits)
        rc = PPML_ENOMEM;
    for (size_t t = 0; rc == PPML_OK && t < 2 * d; t++)
        bits[t] = slot;
    if (rc == PPML_OK)
        rc = ppmli_unblind_batch(css->pk, css->threads, res, (const mpz_t *)reply, m, 2 * d, bits, unblind_terms, &j);
    free(bits);
    if (rc == PPML_OK)
        for (size_t i = 0; i < m; i++)
            mpz_swap(out[i], res[i]);
    ppml_mpz_vec_free(off, count);
    ppml_mpz_vec_free(blinded, count);
    ppml_mpz_vec_free(reply, m);
    ppml_mpz_vec_free(res, m);
    return rc;
}

int ppmli_ccs_inner(ppmli_ccs *ccs, ppml_reader *r)
{
    uint32_t m, d;
    uint8_t shared;
    uint16_t slot;
    if (ppml_read_u32(r, &m) != PPML_OK || ppml_read_u32(r, &d) != PPML_OK ||
        ppml_read_u8(r, &shared) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK)
        return PPML_EPROTO;
    if (m == 0 || d == 0 || shared > 1)
        return PPML_EPROTO;
    size_t my = shared ? 1 : m, mdx, mdy;
    if (ppml_mul_size(&mdx, m, d) != PPML_OK || ppml_mul_size(&mdy, my, d) != PPML_OK ||
        mdx > PPML_PROTO_MAX_VALUES || mdy > PPML_PROTO_MAX_VALUES - mdx)
        return PPML_EPROTO;
    mpz_t *s = NULL;
    int rc = ppmli_ccs_read_slots(ccs, r, mdx + mdy, slot, &s);
    if (rc != PPML_OK)
        return rc;
    mpz_t *plain = ppml_mpz_vec_new(m);
    if (!plain) {
        ppml_mpz_vec_free(s, mdx + mdy);
        return PPML_ENOMEM;
    }
    for (size_t i = 0; i < m; i++) {
        size_t yi = shared ? 0 : i;
        for (size_t t = 0; t < d; t++)
            mpz_addmul(plain[i], s[i * d + t], s[mdx + yi * d + t]);
    }
    rc = ppmli_ccs_reply_encrypted(ccs, PPML_MSG_INNER, NULL, plain, m);
    ppml_mpz_vec_free(plain, m);
    ppml_mpz_vec_free(s, mdx + mdy);
    return rc;
}
