/* B2 secure multiplication: E(a_i), E(b_i) -> E(a_i * b_i), one round trip for the vector.
 *
 * What each party receives:
 *   CCS: the public count n and slot width w = l + kappa + 1, and ceil(2n / capacity) packed,
 *        freshly re-randomised ciphertexts whose slots hold alpha_i = a_i + rho_i and
 *        beta_i = b_i + sigma_i, with rho_i, sigma_i = 2^l + r, r uniform in [0, 2^(l+kappa)):
 *        every slot value lies in [0, 2^(l+kappa+1)) and is within statistical distance
 *        2^(1-kappa) of a value independent of a_i (resp. b_i).
 *   CSS: n fresh ciphertexts E(alpha_i * beta_i) under the training key; it removes
 *        sigma_i * a_i + rho_i * b_i + rho_i * sigma_i homomorphically. Nothing in clear.
 * Cost: CSS 2n small exponentiations (exponents of l + kappa + 1 bits) and the packing;
 * CCS 2n / capacity decryptions and n encryptions. */
#include "proto_internal.h"

#include <stdlib.h>

typedef struct mul_job {
    const ppml_paillier_pk *pk;
    const mpz_t *a, *b;
    mpz_t *off; /* [0, n): rho (for a); [n, 2n): sigma (for b) */
    mpz_t *blinded;
    mpz_t *reply;
    mpz_t *res;
    size_t n;
    unsigned slot; /* offsets < 2^slot */
} mul_job;

static int blind_one(void *ctx, size_t i)
{
    mul_job *j = ctx;
    ppmli_blind_add(j->pk, j->blinded[i], i < j->n ? j->a[i] : j->b[i - j->n], j->off[i]);
    return PPML_OK;
}

/* Element i's cross terms a_i^sigma_i * b_i^rho_i and constant rho_i * sigma_i:
 * ab = alpha*beta - sigma*a - rho*b - rho*sigma. */
static void unblind_terms(void *ctx, size_t i, mpz_srcptr *bases, mpz_srcptr *exps, mpz_t c)
{
    mul_job *j = ctx;
    bases[0] = j->a[i];
    exps[0] = j->off[j->n + i];
    bases[1] = j->b[i];
    exps[1] = j->off[i];
    mpz_mul(c, j->off[i], j->off[j->n + i]);
}

int ppml_proto_mul(ppml_proto_css *css, mpz_t *out, const mpz_t *a, const mpz_t *b, size_t n,
                   unsigned value_bits)
{
    if (!css || (n && (!out || !a || !b)) || value_bits == 0)
        return PPML_EINVAL;
    if (n == 0)
        return PPML_OK;
    if (n > PPML_PROTO_MAX_VALUES / 2)
        return PPML_ERANGE;
    unsigned slot = ppmli_additive_slot_bits(value_bits, css->kappa);
    int rc = ppmli_check_slot_bits(css->pk, slot);
    if (rc != PPML_OK)
        return rc;
    mpz_t *off = ppml_mpz_vec_new(2 * n), *blinded = ppml_mpz_vec_new(2 * n);
    mpz_t *reply = ppml_mpz_vec_new(n), *res = ppml_mpz_vec_new(n);
    rc = (off && blinded && reply && res) ? PPML_OK : PPML_ENOMEM;
    mul_job j = {css->pk, a, b, off, blinded, reply, res, n, slot};
    if (rc == PPML_OK) {
        ppmli_draw_offsets(off, 2 * n, value_bits, css->kappa);
        rc = ppmli_parallel_for(css->threads, 2 * n, blind_one, &j);
    }
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, (uint32_t)n);
        ppml_write_u16(&w, (uint16_t)slot);
        rc = ppmli_css_send_packed(css, PPML_MSG_MUL, &w, (const mpz_t *)blinded, 2 * n, slot);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK)
        rc = ppmli_css_recv_cts(css, PPML_MSG_MUL, css->pk, reply, n);
    if (rc == PPML_OK) {
        const unsigned bits[2] = {slot, slot};
        rc = ppmli_unblind_batch(css->pk, css->threads, res, (const mpz_t *)reply, n, 2, bits, unblind_terms, &j);
    }
    if (rc == PPML_OK)
        for (size_t i = 0; i < n; i++)
            mpz_swap(out[i], res[i]);
    ppml_mpz_vec_free(off, 2 * n);
    ppml_mpz_vec_free(blinded, 2 * n);
    ppml_mpz_vec_free(reply, n);
    ppml_mpz_vec_free(res, n);
    return rc;
}

int ppmli_ccs_mul(ppmli_ccs *ccs, ppml_reader *r)
{
    uint32_t n;
    uint16_t slot;
    if (ppml_read_u32(r, &n) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK)
        return PPML_EPROTO;
    if (n == 0 || (size_t)n > PPML_PROTO_MAX_VALUES / 2)
        return PPML_EPROTO;
    mpz_t *s = NULL;
    int rc = ppmli_ccs_read_slots(ccs, r, 2 * (size_t)n, slot, &s);
    if (rc != PPML_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        mpz_mul(s[i], s[i], s[n + i]);
    rc = ppmli_ccs_reply_encrypted(ccs, PPML_MSG_MUL, NULL, s, n);
    ppml_mpz_vec_free(s, 2 * (size_t)n);
    return rc;
}
