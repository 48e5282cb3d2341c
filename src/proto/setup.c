/* Remote CCS set-up: the TA sends CCS its keys in one PPML_MSG_SETUP message, directly or
 * sealed to CCS's X25519 key and relayed by CSS (PPML_MSG_SETUP_SEALED).
 *
 * What each party receives: CCS receives its own keys (training Paillier secret key,
 * DT-PKC parameters and SK2, the authorised MCs' Ed25519 public keys, the task id) from the
 * TA; the TA receives an empty acknowledgement. The channel must authenticate CCS and be
 * encrypted (ZeroMQ CURVE with CCS's public key known to the TA). Sealed: CSS relays
 * an envelope it cannot open and receives the acknowledgement. Envelope: u8 kind |
 *   1 (sealed): crypto_box_seal to CCS's public key (an ephemeral X25519 key and
 *     XSalsa20-Poly1305): confidential, but anyone could have made it;
 *   2 (boxed): sender_public[32] | nonce[24] | crypto_box_easy from the sender's X25519 key to
 *     CCS's (random nonce): confidential and authenticated: only the holder of the sender's
 *     secret key (or CCS) can make it. The TA boxes with its CURVE client key.
 * The keys are CURVE keys (X25519): crypto_box_seal's nonce (BLAKE2b of the two public keys)
 * and the boxed envelope's (24 random bytes) cannot meet CurveZMQ's, which are prefixed
 * counters or, for the client's vouch box under the same pair of long-term keys, "VOUCH---"
 * and 16 random bytes (a collision would need the same 24 bytes: negligible). A CCS given trusted TA keys
 * (ppml_proto_ccs_run_trusted, `ppml serve ccs --ta FILE`) takes only boxed set-ups from one
 * of them (sealed and plain ones are refused with PPML_EVERIFY), so neither the relaying CSS
 * nor any other client it lets in can provision it with keys of its own choosing; without
 * such keys it trusts whoever its --allow list lets in, and the conversion targets named in
 * the set-up still keep a relay from re-encrypting to a key of its own. A boxed set-up can
 * be replayed (to the same CCS) by whoever saw it: it then provisions the same keys again.
 *
 * Payload: u32 len | Paillier sk (ppml format) | u32 len | DT-PKC params (0 = none) |
 *          u32 len | SK2 (0 = none) | task_id[32] | u32 n | n x 32-byte Ed25519 keys |
 *          u32 t | t x 32-byte key ids of the allowed conversion targets (0: any). */
#include "proto_internal.h"

#include "ppml/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_BYTES ((uint32_t)1 << 20)
#define MAX_SEALED_BYTES ((size_t)16 << 20)
#define MAX_MCS 4096u
#define MAX_TARGETS 64u

static void write_blob(ppml_writer *w, const uint8_t *b, size_t len)
{
    ppml_write_u32(w, (uint32_t)len);
    if (len)
        ppml_write_bytes(w, b, len);
}

/* The set-up payload (header of this file) into w; the caller wipes w. */
static int setup_payload(ppml_writer *w, const ppml_proto_ccs_keys *keys)
{
    if (!keys || !keys->training || keys->n_mc_sign_keys > MAX_MCS || keys->n_convert_targets > MAX_TARGETS)
        return PPML_EINVAL;
    uint8_t *sk = NULL, *params = NULL, *sk2 = NULL;
    size_t sk_len = 0, params_len = 0, sk2_len = 0;
    int rc = ppml_paillier_sk_save(keys->training, &sk, &sk_len);
    if (rc == PPML_OK && keys->dtpkc)
        rc = ppml_dtpkc_params_save(keys->dtpkc, &params, &params_len);
    if (rc == PPML_OK && keys->sk2)
        rc = ppml_dtpkc_partial_save(keys->sk2, &sk2, &sk2_len);
    if (rc == PPML_OK) {
        write_blob(w, sk, sk_len);
        write_blob(w, params, params_len);
        write_blob(w, sk2, sk2_len);
        uint8_t zero[32] = {0};
        ppml_write_bytes(w, keys->task_id ? keys->task_id : zero, 32);
        ppml_write_u32(w, (uint32_t)keys->n_mc_sign_keys);
        for (size_t i = 0; i < keys->n_mc_sign_keys; i++)
            ppml_write_bytes(w, keys->mc_sign_keys[i], 32);
        ppml_write_u32(w, (uint32_t)keys->n_convert_targets);
        for (size_t i = 0; i < keys->n_convert_targets; i++)
            ppml_write_bytes(w, keys->convert_targets[i], 32);
        rc = w->err;
    }
    ppml_free_secret(sk, sk_len);
    free(params);
    ppml_free_secret(sk2, sk2_len);
    return rc;
}

/* Wait for CCS's acknowledgement of a set-up message. */
static int setup_ack(ppml_channel *ch)
{
    uint8_t *p = NULL;
    size_t len = 0;
    uint16_t t;
    int rc = ppml_channel_recv(ch, &t, &p, &len, ppml_channel_timeout(ch));
    if (rc != PPML_OK)
        return rc;
    rc = t == (PPML_MSG_SETUP | PPML_MSG_REPLY) ? PPML_OK : PPML_EPROTO;
    if (t == PPML_MSG_ERROR) /* CCS's reason, e.g. PPML_EVERIFY: a seal it cannot open */
        rc = ppml_msg_error_code(p, len);
    free(p);
    return rc;
}

int ppml_proto_ccs_provision(ppml_channel *ch, const ppml_proto_ccs_keys *keys)
{
    if (!ch)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    int rc = setup_payload(&w, keys);
    if (rc == PPML_OK)
        rc = ppml_channel_send(ch, PPML_MSG_SETUP, w.data, w.len);
    ppml_writer_clear(&w); /* wipes the secret keys it held */
    return rc == PPML_OK ? setup_ack(ch) : rc;
}

/* Envelope kinds (first byte of a sealed set-up). */
#define ENV_SEALED 1u /* crypto_box_seal to CCS: anyone may have made it */
#define ENV_BOXED 2u  /* sender_public[32] | nonce[24] | crypto_box_easy from the sender's key */
#define ENV_BOXED_HEAD (1 + 32 + crypto_box_NONCEBYTES)

/* The envelope of either kind around the set-up payload; ta_secret NULL: sealed. */
static int envelope(uint8_t **env, size_t *len, const ppml_proto_ccs_keys *keys,
                    const uint8_t ccs_public[32], const uint8_t ta_public[32],
                    const uint8_t ta_secret[32])
{
    ppml_writer w;
    ppml_writer_init(&w);
    int rc = setup_payload(&w, keys);
    const size_t head = ta_secret ? ENV_BOXED_HEAD : 1;
    const size_t extra = head + (ta_secret ? crypto_box_MACBYTES : crypto_box_SEALBYTES);
    uint8_t *out = NULL;
    if (rc == PPML_OK && w.len > MAX_SEALED_BYTES - extra)
        rc = PPML_ERANGE;
    if (rc == PPML_OK && !(out = malloc(w.len + extra)))
        rc = PPML_ENOMEM;
    if (rc == PPML_OK && !ta_secret) {
        out[0] = ENV_SEALED;
        if (crypto_box_seal(out + 1, w.data, w.len, ccs_public) != 0)
            rc = PPML_ECRYPTO;
    } else if (rc == PPML_OK) {
        out[0] = ENV_BOXED;
        memcpy(out + 1, ta_public, 32);
        randombytes_buf(out + 33, crypto_box_NONCEBYTES);
        if (crypto_box_easy(out + head, w.data, w.len, out + 33, ccs_public, ta_secret) != 0)
            rc = PPML_ECRYPTO;
    }
    if (rc == PPML_OK) {
        *env = out;
        *len = w.len + extra;
        out = NULL;
    }
    free(out);
    ppml_writer_clear(&w);
    return rc;
}

int ppml_proto_ccs_seal_keys(uint8_t **sealed, size_t *len, const ppml_proto_ccs_keys *keys,
                             const uint8_t ccs_public[32])
{
    if (!sealed || !len || !ccs_public)
        return PPML_EINVAL;
    return envelope(sealed, len, keys, ccs_public, NULL, NULL);
}

int ppml_proto_ccs_box_keys(uint8_t **boxed, size_t *len, const ppml_proto_ccs_keys *keys,
                            const uint8_t ccs_public[32], const uint8_t ta_public[32],
                            const uint8_t ta_secret[32])
{
    if (!boxed || !len || !ccs_public || !ta_public || !ta_secret)
        return PPML_EINVAL;
    uint8_t check[32];
    crypto_scalarmult_base(check, ta_secret);
    int same = sodium_memcmp(check, ta_public, 32) == 0;
    sodium_memzero(check, sizeof check);
    if (!same)
        return PPML_EMISMATCH; /* CCS would open it, but name the wrong sender */
    return envelope(boxed, len, keys, ccs_public, ta_public, ta_secret);
}

int ppml_proto_ccs_provision_sealed(ppml_channel *ch, const uint8_t *sealed, size_t len)
{
    if (!ch || !sealed || len <= 1 + crypto_box_SEALBYTES || len > MAX_SEALED_BYTES)
        return PPML_EINVAL;
    int rc = ppml_channel_send(ch, PPML_MSG_SETUP_SEALED, sealed, len);
    return rc == PPML_OK ? setup_ack(ch) : rc;
}

/* Opens a set-up envelope into *open (malloc'd, *open_len): PPML_EVERIFY if it does not open,
 * or if trusted keys are given and it is not boxed by one of them. */
static int envelope_open(uint8_t **open, size_t *open_len, const uint8_t *p, size_t len,
                         const uint8_t ccs_public[32], const uint8_t ccs_secret[32],
                         const uint8_t (*ta_keys)[32], size_t n_ta)
{
    *open = NULL;
    if (len < 1)
        return PPML_EVERIFY;
    if (p[0] == ENV_SEALED) {
        if (n_ta || len <= 1 + crypto_box_SEALBYTES)
            return PPML_EVERIFY; /* anonymous: not from a trusted TA */
        size_t m = len - 1 - crypto_box_SEALBYTES;
        if (!(*open = malloc(m)))
            return PPML_ENOMEM;
        if (crypto_box_seal_open(*open, p + 1, len - 1, ccs_public, ccs_secret) != 0) {
            free(*open);
            *open = NULL;
            return PPML_EVERIFY;
        }
        *open_len = m;
        return PPML_OK;
    }
    if (p[0] != ENV_BOXED || len <= ENV_BOXED_HEAD + crypto_box_MACBYTES)
        return PPML_EVERIFY;
    int trusted = n_ta == 0;
    for (size_t i = 0; i < n_ta; i++)
        trusted |= sodium_memcmp(ta_keys[i], p + 1, 32) == 0;
    if (!trusted)
        return PPML_EVERIFY;
    size_t m = len - ENV_BOXED_HEAD - crypto_box_MACBYTES;
    if (!(*open = malloc(m)))
        return PPML_ENOMEM;
    if (crypto_box_open_easy(*open, p + ENV_BOXED_HEAD, len - ENV_BOXED_HEAD, p + 33, p + 1,
                             ccs_secret) != 0) {
        free(*open);
        *open = NULL;
        return PPML_EVERIFY;
    }
    *open_len = m;
    return PPML_OK;
}

typedef struct loaded {
    ppml_paillier_sk *sk;
    ppml_dtpkc_params *params;
    ppml_dtpkc_partial_sk *sk2;
    uint8_t task[32];
    uint8_t (*mcs)[32];
    uint32_t n_mcs;
    uint8_t (*targets)[32];
    uint32_t n_targets;
} loaded;

static void loaded_clear(loaded *l)
{
    ppml_paillier_sk_free(l->sk);
    ppml_dtpkc_partial_free(l->sk2);
    ppml_dtpkc_params_free(l->params);
    free(l->mcs);
    free(l->targets);
    memset(l, 0, sizeof *l);
}

static int read_blob(ppml_reader *r, const uint8_t **b, uint32_t *len)
{
    if (ppml_read_u32(r, len) != PPML_OK || *len > MAX_KEY_BYTES || ppml_read_view(r, b, *len) != PPML_OK)
        return PPML_EPROTO;
    return PPML_OK;
}

static int parse_setup(loaded *l, const uint8_t *p, size_t len, int allow_test_keys)
{
    ppml_reader r;
    ppml_reader_init(&r, p, len);
    const uint8_t *sk, *params, *sk2;
    uint32_t sk_len, params_len, sk2_len;
    if (read_blob(&r, &sk, &sk_len) || read_blob(&r, &params, &params_len) || read_blob(&r, &sk2, &sk2_len) ||
        ppml_read_bytes(&r, l->task, 32) || ppml_read_u32(&r, &l->n_mcs) || l->n_mcs > MAX_MCS ||
        ppml_reader_left(&r) < (size_t)l->n_mcs * 32 + 4)
        return PPML_EPROTO;
    if (l->n_mcs) {
        l->mcs = malloc((size_t)l->n_mcs * 32);
        if (!l->mcs)
            return PPML_ENOMEM;
        if (ppml_read_bytes(&r, l->mcs, (size_t)l->n_mcs * 32) != PPML_OK)
            return PPML_EPROTO;
    }
    if (ppml_read_u32(&r, &l->n_targets) != PPML_OK || l->n_targets > MAX_TARGETS ||
        ppml_reader_left(&r) != (size_t)l->n_targets * 32)
        return PPML_EPROTO;
    if (l->n_targets) {
        l->targets = malloc((size_t)l->n_targets * 32);
        if (!l->targets)
            return PPML_ENOMEM;
        if (ppml_read_bytes(&r, l->targets, (size_t)l->n_targets * 32) != PPML_OK)
            return PPML_EPROTO;
    }
    int rc = ppml_paillier_sk_load(&l->sk, sk, sk_len);
    if (rc != PPML_OK)
        return rc;
    if (params_len) {
        rc = allow_test_keys ? ppml_dtpkc_params_load_insecure_for_tests(&l->params, params, params_len)
                             : ppml_dtpkc_params_load(&l->params, params, params_len);
        if (rc != PPML_OK)
            return rc;
        if (!sk2_len)
            return PPML_EPROTO;
        rc = ppml_dtpkc_partial_load(&l->sk2, l->params, sk2, sk2_len);
        if (rc != PPML_OK)
            return rc;
        if (ppml_dtpkc_partial_index(l->sk2) != 2)
            return PPML_EPROTO;
    } else if (sk2_len) {
        return PPML_EPROTO;
    }
    return PPML_OK;
}

int ppml_proto_ccs_run(ppml_channel *ch, const ppml_proto_opts *opts, int allow_test_keys, int idle_timeout_ms)
{
    return ppml_proto_ccs_run_sealed(ch, opts, allow_test_keys, idle_timeout_ms, NULL, NULL);
}

int ppml_proto_ccs_run_sealed(ppml_channel *ch, const ppml_proto_opts *opts, int allow_test_keys,
                              int idle_timeout_ms, const uint8_t ccs_public[32], const uint8_t ccs_secret[32])
{
    return ppml_proto_ccs_run_trusted(ch, opts, allow_test_keys, idle_timeout_ms, ccs_public,
                                      ccs_secret, NULL, 0);
}

int ppml_proto_ccs_run_trusted(ppml_channel *ch, const ppml_proto_opts *opts, int allow_test_keys,
                               int idle_timeout_ms, const uint8_t ccs_public[32],
                               const uint8_t ccs_secret[32], const uint8_t (*ta_keys)[32],
                               size_t n_ta)
{
    if (!ch || (!ccs_public) != (!ccs_secret) || (n_ta && (!ta_keys || !ccs_secret)))
        return PPML_EINVAL;
    uint16_t t;
    uint8_t *p = NULL;
    size_t len = 0;
    int rc = ppml_channel_recv(ch, &t, &p, &len, idle_timeout_ms);
    if (rc != PPML_OK)
        return rc;
    if (t == PPML_MSG_SETUP_SEALED && ccs_secret) {
        /* opened in place of the envelope; one that does not open, or is not from a trusted
         * TA when CCS has a list, is refused */
        uint8_t *open = NULL;
        size_t open_len = 0;
        rc = envelope_open(&open, &open_len, p, len, ccs_public, ccs_secret, ta_keys, n_ta);
        free(p); /* envelope bytes: nothing secret in the clear */
        if (rc != PPML_OK) {
            (void)!ppml_msg_send_error(ch, PPML_MSG_ERROR, rc);
            return rc;
        }
        p = open;
        len = open_len;
    } else if (t != PPML_MSG_SETUP || n_ta) {
        /* not a set-up this CCS can take (a plain one is not from a trusted TA): say so */
        free(p);
        rc = t == PPML_MSG_SETUP ? PPML_EVERIFY : PPML_EPROTO;
        (void)!ppml_msg_send_error(ch, PPML_MSG_ERROR, rc);
        return rc;
    }
    loaded l;
    memset(&l, 0, sizeof l);
    if (allow_test_keys)
        ppml_paillier_allow_insecure_test_keys(1);
    rc = parse_setup(&l, p, len, allow_test_keys);
    ppml_free_secret(p, len);
    if (rc != PPML_OK) {
        loaded_clear(&l);
        (void)!ppml_msg_send_error(ch, PPML_MSG_ERROR, rc);
        return rc;
    }
    rc = ppml_channel_send(ch, PPML_MSG_SETUP | PPML_MSG_REPLY, NULL, 0);
    if (rc == PPML_OK) {
        ppml_proto_ccs_keys keys = {l.sk,   l.params, l.sk2, (const uint8_t(*)[32])l.mcs, l.n_mcs,
                                    l.task, (const uint8_t(*)[32])l.targets, l.n_targets, 0};
        rc = ppml_proto_ccs_serve_keys(ch, &keys, opts, idle_timeout_ms);
    }
    loaded_clear(&l);
    return rc;
}
