/* Key conversion Paillier -> Paillier: E_train(v_i) -> E_target(v_i), one round trip.
 *
 * CSS adds rho_i = 2^l + r_i (r_i uniform in [0, 2^(l+kappa))) so the blinded value
 * c_i = v_i + rho_i is a non-negative integer below 2^(l+kappa+1) < N_target; CCS decrypts it
 * and encrypts c_i under the target key; CSS subtracts rho_i under the target key.
 *
 * What each party receives:
 *   CCS: the public n, slot width w = l + kappa + 1, the target public key, and packed,
 *        freshly re-randomised ciphertexts of c_i in [0, 2^(l+kappa+1)), within statistical
 *        distance 2^(1-kappa) of a value independent of v_i.
 *   CSS: n fresh ciphertexts E_target(c_i) under the target key (it cannot decrypt them). */
#include "proto_internal.h"

#include <sodium.h>

#include <stdlib.h>

typedef struct conv_job {
    const ppml_paillier_pk *pk, *target;
    const mpz_t *v;
    mpz_t *off, *blinded, *reply, *res;
} conv_job;

static int unblind_one(void *ctx, size_t i)
{
    conv_job *j = ctx;
    mpz_t m;
    mpz_init(m);
    mpz_neg(m, j->off[i]);
    ppmli_blind_add(j->target, j->res[i], j->reply[i], m);
    mpz_clear(m);
    return PPML_OK;
}

int ppml_proto_convert(ppml_proto_css *css, mpz_t *out, const ppml_paillier_pk *target, const mpz_t *v,
                       size_t n, unsigned value_bits)
{
    if (!css || !target || (n && (!out || !v)) || value_bits == 0)
        return PPML_EINVAL;
    if (n == 0)
        return PPML_OK;
    if (n > PPML_PROTO_MAX_VALUES)
        return PPML_ERANGE;
    unsigned slot = ppmli_additive_slot_bits(value_bits, css->kappa);
    int rc = ppmli_check_slot_bits(css->pk, slot);
    if (rc != PPML_OK)
        return rc;
    if (slot + 2 > ppml_paillier_pk_bits(target))
        return PPML_ERANGE;
    uint8_t *pkbuf = NULL;
    size_t pklen = 0;
    rc = ppml_paillier_pk_save(target, &pkbuf, &pklen);
    if (rc != PPML_OK)
        return rc;
    mpz_t *off = ppml_mpz_vec_new(n), *blinded = ppml_mpz_vec_new(n);
    mpz_t *reply = ppml_mpz_vec_new(n), *res = ppml_mpz_vec_new(n);
    rc = (off && blinded && reply && res) ? PPML_OK : PPML_ENOMEM;
    conv_job j = {css->pk, target, v, off, blinded, reply, res};
    if (rc == PPML_OK)
        rc = ppmli_blind_vector(css, blinded, off, v, n, value_bits);
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, (uint32_t)n);
        ppml_write_u16(&w, (uint16_t)slot);
        ppml_write_u32(&w, (uint32_t)pklen);
        ppml_write_bytes(&w, pkbuf, pklen);
        rc = ppmli_css_send_packed(css, PPML_MSG_CONVERT, &w, (const mpz_t *)blinded, n, slot);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK)
        rc = ppmli_css_recv_cts(css, PPML_MSG_CONVERT, target, reply, n);
    if (rc == PPML_OK)
        rc = ppmli_parallel_for(css->threads, n, unblind_one, &j);
    if (rc == PPML_OK)
        for (size_t i = 0; i < n; i++)
            mpz_swap(out[i], res[i]);
    free(pkbuf);
    ppml_mpz_vec_free(off, n);
    ppml_mpz_vec_free(blinded, n);
    ppml_mpz_vec_free(reply, n);
    ppml_mpz_vec_free(res, n);
    return rc;
}

/* Largest serialized public key accepted in a request (8192-bit N with its DJN base and
 * header fit easily). */
#define MAX_PK_BYTES 16384

int ppmli_ccs_convert(ppmli_ccs *ccs, ppml_reader *r)
{
    uint32_t n, pklen;
    uint16_t slot;
    const uint8_t *pkbuf;
    if (ppml_read_u32(r, &n) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK ||
        ppml_read_u32(r, &pklen) != PPML_OK || pklen > MAX_PK_BYTES ||
        ppml_read_view(r, &pkbuf, pklen) != PPML_OK)
        return PPML_EPROTO;
    if (n == 0 || (size_t)n > PPML_PROTO_MAX_VALUES)
        return PPML_EPROTO;
    ppml_paillier_pk *target = NULL;
    if (ppml_paillier_pk_load(&target, pkbuf, pklen) != PPML_OK)
        return PPML_EPROTO;
    int rc = PPML_OK;
    /* only to the keys the TA named, when it named any */
    const ppml_proto_ccs_keys *k = ccs->keys;
    if (k && k->n_convert_targets) {
        int allowed = 0;
        for (size_t i = 0; i < k->n_convert_targets; i++)
            allowed |= sodium_memcmp(k->convert_targets[i], ppml_paillier_pk_id(target), 32) == 0;
        if (!allowed)
            rc = PPML_EVERIFY;
    }
    if ((unsigned)slot + 2 > ppml_paillier_pk_bits(target))
        rc = PPML_EPROTO;
    mpz_t *s = NULL;
    if (rc == PPML_OK)
        rc = ppmli_ccs_read_slots(ccs, r, n, slot, &s);
    if (rc == PPML_OK) {
        rc = ppmli_ccs_reply_encrypted(ccs, PPML_MSG_CONVERT, target, s, n);
        ppml_mpz_vec_free(s, n);
    }
    ppml_paillier_pk_free(target);
    return rc;
}
