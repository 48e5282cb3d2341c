/* Secure truncation (fixed-point rescale): E(v_i) -> E(t_i), t_i = floor(v_i / 2^f) + c_i
 * with c_i in {0, 1}, one round trip.
 *
 * CSS adds rho_i = 2^l + r_i (r_i uniform in [0, 2^(l+kappa))); CCS floors the blinded value;
 * CSS subtracts floor(rho_i / 2^f). Since floor((v + rho)/2^f) = floor(v/2^f) + floor(rho/2^f)
 * + c with c = [(v mod 2^f) + (rho mod 2^f) >= 2^f], the result is the floor or one unit
 * above it (error <= 1 ulp at the new scale, never negative; c is a random carry).
 *
 * What each party receives:
 *   CCS: the public n, f and slot width w = l + kappa + 1, and packed, freshly re-randomised
 *        ciphertexts of v_i + rho_i in [0, 2^(l+kappa+1)), within statistical distance
 *        2^(1-kappa) of a value independent of v_i.
 *   CSS: n fresh ciphertexts E(floor((v_i + rho_i) / 2^f)) under the training key. */
#include "proto_internal.h"

#include <stdlib.h>

typedef struct trunc_job {
    const ppml_paillier_pk *pk;
    const mpz_t *v;
    mpz_t *off, *blinded, *reply, *res;
    unsigned frac_bits;
} trunc_job;

static int unblind_one(void *ctx, size_t i)
{
    trunc_job *j = ctx;
    mpz_t m;
    mpz_init(m);
    mpz_fdiv_q_2exp(m, j->off[i], j->frac_bits);
    mpz_neg(m, m);
    ppmli_blind_add(j->pk, j->res[i], j->reply[i], m);
    mpz_clear(m);
    return PPML_OK;
}

int ppml_proto_truncate(ppml_proto_css *css, mpz_t *out, const mpz_t *v, size_t n, unsigned value_bits,
                        unsigned frac_bits)
{
    if (!css || (n && (!out || !v)) || value_bits == 0 || frac_bits == 0 || frac_bits >= value_bits)
        return PPML_EINVAL;
    if (n == 0)
        return PPML_OK;
    if (n > PPML_PROTO_MAX_VALUES)
        return PPML_ERANGE;
    unsigned slot = ppmli_additive_slot_bits(value_bits, css->kappa);
    int rc = ppmli_check_slot_bits(css->pk, slot);
    if (rc != PPML_OK)
        return rc;
    mpz_t *off = ppml_mpz_vec_new(n), *blinded = ppml_mpz_vec_new(n);
    mpz_t *reply = ppml_mpz_vec_new(n), *res = ppml_mpz_vec_new(n);
    rc = (off && blinded && reply && res) ? PPML_OK : PPML_ENOMEM;
    trunc_job j = {css->pk, v, off, blinded, reply, res, frac_bits};
    if (rc == PPML_OK)
        rc = ppmli_blind_vector(css, blinded, off, v, n, value_bits);
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, (uint32_t)n);
        ppml_write_u16(&w, (uint16_t)slot);
        ppml_write_u16(&w, (uint16_t)frac_bits);
        rc = ppmli_css_send_packed(css, PPML_MSG_TRUNCATE, &w, (const mpz_t *)blinded, n, slot);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK)
        rc = ppmli_css_recv_cts(css, PPML_MSG_TRUNCATE, css->pk, reply, n);
    if (rc == PPML_OK)
        rc = ppmli_parallel_for(css->threads, n, unblind_one, &j);
    if (rc == PPML_OK)
        for (size_t i = 0; i < n; i++)
            mpz_swap(out[i], res[i]);
    ppml_mpz_vec_free(off, n);
    ppml_mpz_vec_free(blinded, n);
    ppml_mpz_vec_free(reply, n);
    ppml_mpz_vec_free(res, n);
    return rc;
}

int ppmli_ccs_truncate(ppmli_ccs *ccs, ppml_reader *r)
{
    uint32_t n;
    uint16_t slot, frac;
    if (ppml_read_u32(r, &n) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK ||
        ppml_read_u16(r, &frac) != PPML_OK)
        return PPML_EPROTO;
    if (n == 0 || (size_t)n > PPML_PROTO_MAX_VALUES || frac == 0 || frac >= slot)
        return PPML_EPROTO;
    mpz_t *s = NULL;
    int rc = ppmli_ccs_read_slots(ccs, r, n, slot, &s);
    if (rc != PPML_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        mpz_fdiv_q_2exp(s[i], s[i], frac);
    rc = ppmli_ccs_reply_encrypted(ccs, PPML_MSG_TRUNCATE, NULL, s, n);
    ppml_mpz_vec_free(s, n);
    return rc;
}
