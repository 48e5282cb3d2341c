/* Key conversion Paillier (training key) -> DT-PKC user key, one round trip (DESIGN §2
 * "Key conversion", §4.3: the model to the DSP's key).
 *
 * CSS adds rho_i = 2^l + r_i (r_i uniform in [0, 2^(l+kappa))): c_i = v_i + rho_i is a
 * non-negative integer below 2^(l+kappa+1) < N_dtpkc; CCS decrypts it with the training key
 * and encrypts c_i under the target DT-PKC key; CSS subtracts rho_i under the target key
 * (ppml_dtpkc_convert_unblind).
 *
 * What each party receives:
 *   CCS: the public n, slot width w = l + kappa + 1, the target DT-PKC public key, and packed,
 *        freshly re-randomised Paillier ciphertexts of c_i in [0, 2^(l+kappa+1)), within
 *        statistical distance 2^(1-kappa) of a value independent of v_i.
 *   CSS: n fresh DT-PKC ciphertexts Enc_target(c_i) (it cannot decrypt them). */
#include "proto_internal.h"

#include <stdlib.h>

#define MAX_PK_BYTES 65536

typedef struct cd_job {
    const ppml_paillier_pk *pk;
    const ppml_dtpkc_pk *target;
    const mpz_t *v;
    mpz_t *off, *blinded;
    ppml_dtpkc_ct *reply, *res;
} cd_job;

static int unblind_one(void *ctx, size_t i)
{
    cd_job *j = ctx;
    ppml_dtpkc_convert_unblind(j->target, &j->res[i], &j->reply[i], j->off[i]);
    return PPML_OK;
}

static ppml_dtpkc_ct *cts_new(size_t n)
{
    ppml_dtpkc_ct *c = calloc(n ? n : 1, sizeof *c);
    if (c)
        for (size_t i = 0; i < n; i++)
            ppml_dtpkc_ct_init(&c[i]);
    return c;
}

static void cts_free(ppml_dtpkc_ct *c, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++)
        ppml_dtpkc_ct_clear(&c[i]);
    free(c);
}

int ppml_proto_convert_dtpkc(ppml_proto_css *css, ppml_dtpkc_ct *out, const ppml_dtpkc_pk *target, const mpz_t *v,
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
    const ppml_dtpkc_params *tp = ppml_dtpkc_pk_params(target);
    if (slot + 2 > ppml_dtpkc_params_bits(tp))
        return PPML_ERANGE;
    uint8_t *pkbuf = NULL;
    size_t pklen = 0;
    rc = ppml_dtpkc_pk_save(target, &pkbuf, &pklen);
    if (rc != PPML_OK)
        return rc;
    mpz_t *off = ppml_mpz_vec_new(n), *blinded = ppml_mpz_vec_new(n), *flat = ppml_mpz_vec_new(2 * n);
    ppml_dtpkc_ct *reply = cts_new(n), *res = cts_new(n);
    rc = (off && blinded && flat && reply && res) ? PPML_OK : PPML_ENOMEM;
    cd_job j = {css->pk, target, v, off, blinded, reply, res};
    if (rc == PPML_OK)
        rc = ppmli_blind_vector(css, blinded, off, v, n, value_bits);
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, (uint32_t)n);
        ppml_write_u16(&w, (uint16_t)slot);
        ppml_write_u32(&w, (uint32_t)pklen);
        ppml_write_bytes(&w, pkbuf, pklen);
        rc = ppmli_css_send_packed(css, PPML_MSG_CONVERT_DTPKC, &w, (const mpz_t *)blinded, n, slot);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK) { /* reply: 2n values T1, T2 per ciphertext, each < N_dtpkc^2 */
        uint8_t *p = NULL;
        size_t len = 0;
        rc = ppmli_css_recv_payload(css, PPML_MSG_CONVERT_DTPKC, &p, &len);
        if (rc == PPML_OK) {
            ppml_reader r;
            ppml_reader_init(&r, p, len);
            rc = ppml_msg_read_mpzvec_exact(&r, flat, 2 * n, ppml_dtpkc_params_n2(tp));
            if (rc == PPML_OK && ppml_reader_done(&r) != PPML_OK)
                rc = PPML_EPROTO;
            free(p);
        }
        for (size_t i = 0; i < n && rc == PPML_OK; i++) {
            mpz_swap(reply[i].t1, flat[2 * i]);
            mpz_swap(reply[i].t2, flat[2 * i + 1]);
            rc = ppml_dtpkc_ct_check(tp, &reply[i]) == PPML_OK ? PPML_OK : PPML_EPROTO;
        }
    }
    if (rc == PPML_OK)
        rc = ppmli_parallel_for(css->threads, n, unblind_one, &j);
    if (rc == PPML_OK)
        for (size_t i = 0; i < n; i++)
            ppml_dtpkc_ct_set(&out[i], &res[i]);
    free(pkbuf);
    ppml_mpz_vec_free(off, n);
    ppml_mpz_vec_free(blinded, n);
    ppml_mpz_vec_free(flat, 2 * n);
    cts_free(reply, n);
    cts_free(res, n);
    return rc;
}

typedef struct cd_enc_job {
    const ppml_dtpkc_pk *target;
    mpz_t *slots;
    ppml_dtpkc_ct *cts;
} cd_enc_job;

static int enc_one(void *ctx, size_t i)
{
    cd_enc_job *j = ctx;
    return ppml_dtpkc_encrypt(j->target, &j->cts[i], j->slots[i]);
}

int ppmli_ccs_convert_dtpkc(ppmli_ccs *ccs, ppml_reader *r)
{
    const ppml_proto_ccs_keys *k = ccs->keys;
    if (!k || !k->dtpkc)
        return PPML_ENOKEY;
    uint32_t n, pklen;
    uint16_t slot;
    const uint8_t *pkbuf;
    if (ppml_read_u32(r, &n) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK ||
        ppml_read_u32(r, &pklen) != PPML_OK || pklen > MAX_PK_BYTES || ppml_read_view(r, &pkbuf, pklen) != PPML_OK)
        return PPML_EPROTO;
    if (n == 0 || (size_t)n > PPML_PROTO_MAX_VALUES || (unsigned)slot + 2 > ppml_dtpkc_params_bits(k->dtpkc))
        return PPML_EPROTO;
    ppml_dtpkc_pk *target = NULL;
    if (ppml_dtpkc_pk_load(&target, k->dtpkc, pkbuf, pklen) != PPML_OK)
        return PPML_EPROTO;
    mpz_t *s = NULL;
    int rc = ppmli_ccs_read_slots(ccs, r, n, slot, &s);
    ppml_dtpkc_ct *cts = rc == PPML_OK ? cts_new(n) : NULL;
    if (rc == PPML_OK && !cts)
        rc = PPML_ENOMEM;
    if (rc == PPML_OK && n > 8)
        rc = ppml_dtpkc_pk_precompute(target);
    if (rc == PPML_OK) {
        cd_enc_job j = {target, s, cts};
        rc = ppmli_parallel_for(ccs->threads, n, enc_one, &j);
    }
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, 2 * n);
        for (size_t i = 0; i < n; i++) {
            ppml_write_mpz(&w, cts[i].t1);
            ppml_write_mpz(&w, cts[i].t2);
        }
        rc = w.err;
        if (rc == PPML_OK)
            rc = ppml_channel_send(ccs->ch, PPML_MSG_CONVERT_DTPKC | PPML_MSG_REPLY, w.data, w.len);
        ppml_writer_clear(&w);
    }
    cts_free(cts, n);
    if (s)
        ppml_mpz_vec_free(s, n);
    ppml_dtpkc_pk_free(target);
    return rc;
}
