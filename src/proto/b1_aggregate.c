/* B1 secure aggregation: an MC's DT-PKC ciphertexts Enc_mc(v_i) (|v_i| < 2^l) become
 * E(v_i) under the training Paillier key, one round trip for the vector, only with the MC's
 * signed authorisation for the task (DESIGN §3, §4.2).
 *
 * CSS adds rho_i = 2^l + r_i (r_i uniform in [0, 2^(l+kappa))) to each ciphertext, packs them
 * (slots of w = l + kappa + 1 bits, Horner on T1 and T2), re-randomises each packed
 * ciphertext under the MC's key, and partially decrypts it with SK1: PD1 = T1^SK1.
 * CCS checks the authorisation, computes PD2 = T1^SK2, combines L(PD1 PD2) into the packed
 * blinded plaintext, unpacks it and encrypts every slot under the training key; CSS subtracts
 * rho_i under the training key.
 *
 * What each party receives:
 *   CCS: the public count n, slot width w, the MC's authorisation (task id, Ed25519 public
 *        key, signature) and DT-PKC key id; per packed ciphertext its T1 (fresh randomness)
 *        and PD1. From these it learns the packed plaintext, i.e. every v_i + rho_i in
 *        [0, 2^(l+kappa+1)), within statistical distance 2^(1-kappa) of a value independent
 *        of v_i. Nothing else: SK1 stays with CSS, and PD1 is T1^SK1 of a fresh T1.
 *   CSS: n fresh Paillier ciphertexts E(v_i + rho_i) under the training key (it cannot
 *        decrypt them). It sees neither a record nor a partial decryption by SK2. */
#include "proto_internal.h"

#include "crypto/dtpkc/dtpkc_internal.h" /* the batched DT-PKC forms */
#include "crypto/mb/mb.h"
#include "ppml/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_MSG_BYTES 128
static const char auth_tag[16] = "ppml/B1-auth/v1";

static void auth_message(uint8_t msg[AUTH_MSG_BYTES], const uint8_t task_id[32], const uint8_t key_id[32],
                         const uint8_t training_id[32], uint64_t count)
{
    memset(msg, 0, AUTH_MSG_BYTES);
    memcpy(msg, auth_tag, 16);
    memcpy(msg + 16, task_id, 32);
    memcpy(msg + 48, key_id, 32);
    memcpy(msg + 80, training_id, 32);
    for (int i = 0; i < 8; i++)
        msg[112 + i] = (uint8_t)(count >> (8 * i));
}

int ppml_proto_auth_sign(ppml_proto_auth *auth, const uint8_t signer_sk[64], const uint8_t task_id[32],
                         const ppml_dtpkc_pk *mc_key, const ppml_paillier_pk *training, uint64_t count)
{
    if (!auth || !signer_sk || !task_id || !mc_key || !training)
        return PPML_EINVAL;
    uint8_t msg[AUTH_MSG_BYTES];
    auth_message(msg, task_id, ppml_dtpkc_pk_id(mc_key), ppml_paillier_pk_id(training), count);
    ppml_proto_auth a;
    memcpy(a.task_id, task_id, 32);
    crypto_sign_ed25519_sk_to_pk(a.signer_pk, signer_sk);
    if (crypto_sign_detached(a.sig, NULL, msg, sizeof msg, signer_sk) != 0)
        return PPML_ECRYPTO;
    *auth = a;
    return PPML_OK;
}

int ppml_proto_auth_verify(const ppml_proto_auth *auth, const uint8_t dtpkc_key_id[32],
                           const uint8_t training_key_id[32], uint64_t count)
{
    if (!auth || !dtpkc_key_id || !training_key_id)
        return PPML_EINVAL;
    uint8_t msg[AUTH_MSG_BYTES];
    auth_message(msg, auth->task_id, dtpkc_key_id, training_key_id, count);
    return crypto_sign_verify_detached(auth->sig, msg, sizeof msg, auth->signer_pk) == 0 ? PPML_OK
                                                                                        : PPML_EVERIFY;
}

typedef struct agg_job {
    const ppml_paillier_pk *pk;
    const ppml_dtpkc_pk *mc;
    const ppml_dtpkc_partial_sk *sk1;
    const ppml_dtpkc_ct *cts;
    mpz_t *off;
    ppml_dtpkc_ct *blinded;
    mpz_t *t1, *pd1; /* per packed group */
    mpz_t *reply, *res;
    size_t n, cap;
    unsigned slot;
} agg_job;

static int blind_one(void *ctx, size_t i)
{
    agg_job *j = ctx;
    ppml_dtpkc_add_plain(j->mc, &j->blinded[i], &j->cts[i], j->off[i]);
    return PPML_OK;
}

/* Chunk g: packed groups [8g, 8g + 8): pack, re-randomise, partially decrypt with SK1, eight
 * per multi-buffer pass where available. */
static int pack_chunk(void *ctx, size_t g)
{
    agg_job *j = ctx;
    size_t groups = j->n / j->cap + (j->n % j->cap != 0);
    size_t g0 = g * PPMLI_MB_LANES, lanes = groups - g0 < PPMLI_MB_LANES ? groups - g0 : PPMLI_MB_LANES;
    ppml_dtpkc_ct acc[PPMLI_MB_LANES];
    mpz_srcptr t1[PPMLI_MB_LANES];
    for (size_t l = 0; l < PPMLI_MB_LANES; l++) {
        ppml_dtpkc_ct_init(&acc[l]);
        t1[l] = acc[l].t1;
    }
    int rc = ppmli_dtpkc_pack_many(j->mc, acc, j->blinded + g0 * j->cap, j->n - g0 * j->cap, j->cap, j->slot);
    if (rc == PPML_OK)
        rc = ppmli_dtpkc_rerandomize_many(j->mc, acc, acc, lanes);
    if (rc == PPML_OK)
        rc = ppmli_dtpkc_partial_decrypt_many(j->sk1, j->pd1 + g0, t1, lanes);
    for (size_t l = 0; l < PPMLI_MB_LANES; l++) {
        if (rc == PPML_OK && l < lanes)
            mpz_swap(j->t1[g0 + l], acc[l].t1);
        ppml_dtpkc_ct_clear(&acc[l]);
    }
    return rc;
}

static int unblind_one(void *ctx, size_t i)
{
    agg_job *j = ctx;
    mpz_t m;
    mpz_init(m);
    mpz_neg(m, j->off[i]);
    ppmli_blind_add(j->pk, j->res[i], j->reply[i], m);
    mpz_clear(m);
    return PPML_OK;
}

int ppml_proto_aggregate(ppml_proto_css *css, mpz_t *out, const ppml_dtpkc_partial_sk *sk1,
                         const ppml_dtpkc_pk *mc_key, const ppml_dtpkc_ct *cts, size_t n, unsigned value_bits,
                         const ppml_proto_auth *auth)
{
    if (!css || !sk1 || !mc_key || !auth || (n && (!out || !cts)) || value_bits == 0)
        return PPML_EINVAL;
    if (ppml_dtpkc_partial_index(sk1) != 1)
        return PPML_EINVAL;
    if (n == 0)
        return PPML_OK;
    if (n > PPML_PROTO_MAX_VALUES)
        return PPML_ERANGE;
    /* CSS checks the authorisation too, so it never forwards an unauthorised request. */
    int rc = ppml_proto_auth_verify(auth, ppml_dtpkc_pk_id(mc_key), ppml_paillier_pk_id(css->pk), n);
    if (rc != PPML_OK)
        return rc;
    const ppml_dtpkc_params *params = ppml_dtpkc_pk_params(mc_key);
    unsigned slot = ppmli_additive_slot_bits(value_bits, css->kappa);
    unsigned dbits = ppml_dtpkc_params_bits(params);
    if (slot + 2 > dbits || slot + 2 > ppml_paillier_pk_bits(css->pk))
        return PPML_ERANGE;
    size_t cap = (dbits - 2) / slot;
    size_t groups = n / cap + (n % cap != 0);
    mpz_t *off = ppml_mpz_vec_new(n), *t1 = ppml_mpz_vec_new(groups), *pd1 = ppml_mpz_vec_new(groups);
    mpz_t *reply = ppml_mpz_vec_new(n), *res = ppml_mpz_vec_new(n);
    ppml_dtpkc_ct *blinded = calloc(n, sizeof *blinded);
    rc = (off && t1 && pd1 && reply && res && blinded) ? PPML_OK : PPML_ENOMEM;
    if (blinded)
        for (size_t i = 0; i < n; i++)
            ppml_dtpkc_ct_init(&blinded[i]);
    agg_job j = {css->pk, mc_key, sk1, cts, off, blinded, t1, pd1, reply, res, n, cap, slot};
    if (rc == PPML_OK) {
        ppmli_draw_offsets(off, n, value_bits, css->kappa);
        rc = ppmli_parallel_for(css->threads, n, blind_one, &j);
    }
    if (rc == PPML_OK)
        rc = ppmli_parallel_for(css->threads, (groups + PPMLI_MB_LANES - 1) / PPMLI_MB_LANES, pack_chunk, &j);
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, (uint32_t)n);
        ppml_write_u16(&w, (uint16_t)slot);
        ppml_write_bytes(&w, auth->task_id, 32);
        ppml_write_bytes(&w, auth->signer_pk, 32);
        ppml_write_bytes(&w, auth->sig, 64);
        ppml_write_bytes(&w, ppml_dtpkc_pk_id(mc_key), 32);
        ppml_msg_write_mpzvec(&w, (const mpz_t *)t1, groups);
        ppml_msg_write_mpzvec(&w, (const mpz_t *)pd1, groups);
        rc = w.err;
        if (rc == PPML_OK)
            rc = ppml_channel_send(css->ch, PPML_MSG_AGGREGATE, w.data, w.len);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK)
        rc = ppmli_css_recv_cts(css, PPML_MSG_AGGREGATE, css->pk, reply, n);
    if (rc == PPML_OK)
        rc = ppmli_parallel_for(css->threads, n, unblind_one, &j);
    if (rc == PPML_OK)
        for (size_t i = 0; i < n; i++)
            mpz_swap(out[i], res[i]);
    if (blinded) {
        for (size_t i = 0; i < n; i++)
            ppml_dtpkc_ct_clear(&blinded[i]);
        free(blinded);
    }
    ppml_mpz_vec_free(off, n);
    ppml_mpz_vec_free(t1, groups);
    ppml_mpz_vec_free(pd1, groups);
    ppml_mpz_vec_free(reply, n);
    ppml_mpz_vec_free(res, n);
    return rc;
}

typedef struct open_job {
    ppmli_ccs *ccs;
    mpz_t *t1, *pd1, *slots;
    size_t n, cap;
    unsigned slot;
} open_job;

/* Chunk g: packed groups [8g, 8g + 8): PD2 = T1^SK2 (one multi-buffer pass where available),
 * then combine with PD1 and unpack. */
static int open_chunk(void *ctx, size_t g)
{
    open_job *j = ctx;
    const ppml_proto_ccs_keys *k = j->ccs->keys;
    size_t groups = j->n / j->cap + (j->n % j->cap != 0);
    size_t g0 = g * PPMLI_MB_LANES, lanes = groups - g0 < PPMLI_MB_LANES ? groups - g0 : PPMLI_MB_LANES;
    mpz_srcptr t1[PPMLI_MB_LANES];
    mpz_t pd2[PPMLI_MB_LANES], m;
    mpz_init(m);
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_init(pd2[l]);
    for (size_t l = 0; l < lanes; l++)
        t1[l] = j->t1[g0 + l];
    int rc = ppmli_dtpkc_partial_decrypt_many(k->sk2, pd2, t1, lanes);
    for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
        rc = ppml_dtpkc_combine(k->dtpkc, m, j->pd1[g0 + l], pd2[l]);
        if (rc == PPML_OK) {
            size_t lo = (g0 + l) * j->cap, cnt = j->n - lo < j->cap ? j->n - lo : j->cap;
            rc = ppml_paillier_unpack(j->slots + lo, cnt, m, j->slot);
        }
    }
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_clear(pd2[l]);
    mpz_clear(m);
    return rc == PPML_OK ? PPML_OK : PPML_EPROTO;
}

int ppmli_ccs_aggregate(ppmli_ccs *ccs, ppml_reader *r)
{
    const ppml_proto_ccs_keys *k = ccs->keys;
    if (!k || !k->dtpkc || !k->sk2 || !k->task_id || ppml_dtpkc_partial_index(k->sk2) != 2)
        return PPML_ENOKEY;
    uint32_t n;
    uint16_t slot;
    ppml_proto_auth auth;
    uint8_t key_id[32];
    if (ppml_read_u32(r, &n) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK ||
        ppml_read_bytes(r, auth.task_id, 32) != PPML_OK || ppml_read_bytes(r, auth.signer_pk, 32) != PPML_OK ||
        ppml_read_bytes(r, auth.sig, 64) != PPML_OK || ppml_read_bytes(r, key_id, 32) != PPML_OK)
        return PPML_EPROTO;
    /* authorisation: for this task, by an authorised MC, for exactly these n values */
    if (sodium_memcmp(auth.task_id, k->task_id, 32) != 0)
        return PPML_EVERIFY;
    int known = 0;
    for (size_t i = 0; i < k->n_mc_sign_keys; i++)
        known |= sodium_memcmp(k->mc_sign_keys[i], auth.signer_pk, 32) == 0;
    if (!known)
        return PPML_EVERIFY;
    if (ppml_proto_auth_verify(&auth, key_id, ppml_paillier_pk_id(ccs->pk), n) != PPML_OK)
        return PPML_EVERIFY;
    unsigned dbits = ppml_dtpkc_params_bits(k->dtpkc);
    if (n == 0 || (size_t)n > PPML_PROTO_MAX_VALUES || slot < 2 || (unsigned)slot + 2 > dbits ||
        (unsigned)slot + 2 > ppml_paillier_pk_bits(ccs->pk))
        return PPML_EPROTO;
    size_t cap = (dbits - 2) / slot;
    size_t groups = n / cap + (n % cap != 0);
    mpz_t *t1 = ppml_mpz_vec_new(groups), *pd1 = ppml_mpz_vec_new(groups), *slots = ppml_mpz_vec_new(n);
    int rc = (t1 && pd1 && slots) ? PPML_OK : PPML_ENOMEM;
    mpz_srcptr n2 = ppml_dtpkc_params_n2(k->dtpkc);
    if (rc == PPML_OK)
        rc = ppml_msg_read_mpzvec_exact(r, t1, groups, n2);
    if (rc == PPML_OK)
        rc = ppml_msg_read_mpzvec_exact(r, pd1, groups, n2);
    if (rc == PPML_OK)
        rc = ppml_reader_done(r) == PPML_OK ? PPML_OK : PPML_EPROTO;
    if (rc == PPML_OK) {
        open_job j = {ccs, t1, pd1, slots, n, cap, slot};
        rc = ppmli_parallel_for(ccs->threads, (groups + PPMLI_MB_LANES - 1) / PPMLI_MB_LANES, open_chunk, &j);
    }
    if (rc == PPML_OK)
        rc = ppmli_ccs_reply_encrypted(ccs, PPML_MSG_AGGREGATE, NULL, slots, n);
    ppml_mpz_vec_free(t1, groups);
    ppml_mpz_vec_free(pd1, groups);
    ppml_mpz_vec_free(slots, n);
    return rc == PPML_ERANGE ? PPML_EPROTO : rc;
}
