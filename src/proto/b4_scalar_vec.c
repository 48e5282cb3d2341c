/* B4 secure scalar-vector multiplication: E(s), E(v_i) -> E(s * v_i), one round trip.
 *
 * What each party receives:
 *   CCS: the public n and slot width w = l + kappa + 1, and packed, freshly re-randomised
 *        ciphertexts of s + rho and v_i + sigma_i (offsets 2^l + r, r uniform in
 *        [0, 2^(l+kappa))): every slot in [0, 2^(l+kappa+1)), within statistical distance
 *        2^(1-kappa) of a value independent of s (resp. v_i). s is blinded and sent once.
 *   CSS: n fresh ciphertexts E((s + rho)(v_i + sigma_i)) under the training key; it removes
 *        sigma_i s + rho v_i + rho sigma_i homomorphically. */
#include "proto_internal.h"

#include <stdlib.h>

typedef struct sv_job {
    const ppml_paillier_pk *pk;
    mpz_srcptr s;
    const mpz_t *v;
    mpz_t *off; /* [0]: rho (for s); [1, n+1): sigma_i */
    mpz_t *blinded;
    mpz_t *reply;
    mpz_t *res;
    size_t n;
    unsigned slot; /* offsets < 2^slot */
} sv_job;

static int blind_one(void *ctx, size_t i)
{
    sv_job *j = ctx;
    if (i == 0) {
        mpz_t s;
        s[0] = *j->s; /* read-only alias of the caller's scalar */
        ppmli_blind_add(j->pk, j->blinded[0], s, j->off[0]);
    } else {
        ppmli_blind_add(j->pk, j->blinded[i], j->v[i - 1], j->off[i]);
    }
    return PPML_OK;
}

/* Element i's cross terms E(s)^sigma_i, E(v_i)^rho and constant rho sigma_i. */
static void unblind_terms(void *ctx, size_t i, mpz_srcptr *bases, mpz_srcptr *exps, mpz_t c)
{
    sv_job *j = ctx;
    bases[0] = j->s;
    exps[0] = j->off[1 + i];
    bases[1] = j->v[i];
    exps[1] = j->off[0];
    mpz_mul(c, j->off[0], j->off[1 + i]);
}

int ppml_proto_scalar_vec(ppml_proto_css *css, mpz_t *out, const mpz_t s, const mpz_t *v, size_t n,
                          unsigned value_bits)
{
    if (!css || !s || (n && (!out || !v)) || value_bits == 0)
        return PPML_EINVAL;
    if (n == 0)
        return PPML_OK;
    if (n > PPML_PROTO_MAX_VALUES - 1)
        return PPML_ERANGE;
    unsigned slot = ppmli_additive_slot_bits(value_bits, css->kappa);
    int rc = ppmli_check_slot_bits(css->pk, slot);
    if (rc != PPML_OK)
        return rc;
    mpz_t *off = ppml_mpz_vec_new(n + 1), *blinded = ppml_mpz_vec_new(n + 1);
    mpz_t *reply = ppml_mpz_vec_new(n), *res = ppml_mpz_vec_new(n);
    rc = (off && blinded && reply && res) ? PPML_OK : PPML_ENOMEM;
    sv_job j = {css->pk, s, v, off, blinded, reply, res, n, slot};
    if (rc == PPML_OK) {
        ppmli_draw_offsets(off, n + 1, value_bits, css->kappa);
        rc = ppmli_parallel_for(css->threads, n + 1, blind_one, &j);
    }
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, (uint32_t)n);
        ppml_write_u16(&w, (uint16_t)slot);
        rc = ppmli_css_send_packed(css, PPML_MSG_SCALAR_VEC, &w, (const mpz_t *)blinded, n + 1, slot);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK)
        rc = ppmli_css_recv_cts(css, PPML_MSG_SCALAR_VEC, css->pk, reply, n);
    if (rc == PPML_OK) {
        const unsigned bits[2] = {slot, slot};
        rc = ppmli_unblind_batch(css->pk, css->threads, res, (const mpz_t *)reply, n, 2, bits, unblind_terms, &j);
    }
    if (rc == PPML_OK)
        for (size_t i = 0; i < n; i++)
            mpz_swap(out[i], res[i]);
    ppml_mpz_vec_free(off, n + 1);
    ppml_mpz_vec_free(blinded, n + 1);
    ppml_mpz_vec_free(reply, n);
    ppml_mpz_vec_free(res, n);
    return rc;
}

int ppmli_ccs_scalar_vec(ppmli_ccs *ccs, ppml_reader *r)
{
    uint32_t n;
    uint16_t slot;
    if (ppml_read_u32(r, &n) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK)
        return PPML_EPROTO;
    if (n == 0 || (size_t)n > PPML_PROTO_MAX_VALUES - 1)
        return PPML_EPROTO;
    mpz_t *s = NULL;
    int rc = ppmli_ccs_read_slots(ccs, r, (size_t)n + 1, slot, &s);
    if (rc != PPML_OK)
        return rc;
    for (size_t i = 1; i <= n; i++)
        mpz_mul(s[i], s[i], s[0]);
    rc = ppmli_ccs_reply_encrypted(ccs, PPML_MSG_SCALAR_VEC, NULL, s + 1, n);
    ppml_mpz_vec_free(s, (size_t)n + 1);
    return rc;
}
