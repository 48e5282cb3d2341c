/* CSS as a service (ppml serve css): the training of scheme S with CSS, CCS and the client
 * (TA, medical centres, DSP) in three processes.
 *
 * Session, client -> CSS (each request answered by type | PPML_MSG_REPLY, or PPML_MSG_ERROR
 * with an i32 code, after which CSS ends the session):
 *   SVM_JOB     u32 version (2) | params: u32 epochs, f64 lr, f64 lambda, u64 batch,
 *               u8 ovr_binary, u32 frac_bits, u32 const_frac_bits | u64 n | u32 dim |
 *               u32 n_out | u32 mcs | f64 max_abs_x | blobs (u32 length + bytes): training
 *               Paillier pk, DT-PKC parameters, SK1, DSP's Paillier pk, CCS's set-up in an
 *               envelope for CCS (src/proto/setup.c: sealed, or boxed by the TA's key when
 *               the client has one) | task id[32] | mcs x Ed25519 public key[32].
 *               CSS loads and checks everything, relays the sealed set-up to CCS as the first
 *               message of its CCS session (ppml_proto_ccs_provision_sealed).
 *   SVM_UPLOAD  u32 mc | u64 lo | u64 rows | blob: the MC's DT-PKC pk | signature[64] over
 *               the Merkle root | authorisation (task id[32], signer key[32], signature[64])
 *               | blob: DT-PKC ciphertext vector (rows * (dim + n_out)). Uploads come in row
 *               order, each MC once, and carry the MC's own signing key. CSS verifies the
 *               root signature and runs B1; reply: u64 B1 nanoseconds.
 *   SVM_TRAIN   (all n rows uploaded) CSS trains, sending SVM_PROGRESS (u32 epoch, u32
 *               epochs) after each epoch, converts the model to the DSP's key; reply: u64
 *               training ns, u64 CSS CPU ns, u64 conversion ns, the kw model ciphertexts.
 *   END         CSS ends its CCS session and the client session.
 *
 * What each party receives (on top of the blocks' views, src/proto):
 *   CSS: SK1, the public keys, the MCs' ciphertexts, Merkle-root signatures and
 *        authorisations, the public sizes and hyper-parameters, CCS's keys in an envelope
 *        for CCS (crypto_box_seal, or crypto_box from the TA's key: CSS can neither open
 *        it nor, for a CCS that trusts only the TA's key (--ta), replace it), and block
 *        replies; it sends the client
 *        only the model under the DSP's key (which CSS cannot decrypt) and timings.
 *   CCS: its keys (opened from the sealed set-up) and the blinded block requests.
 *   client: acknowledgements, progress, timings and the model under the DSP's key.
 * Every count and length from the network is checked against explicit bounds before use. */
#include "svm_internal.h"

#include "ppml/mem.h"
#include "ppml/serial.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SVC_VERSION 2u /* 2: CCS's set-up in a kind-tagged envelope */
#define MAX_BLOB ((uint32_t)16 << 20)
#define MAX_DIM 65536u
#define MAX_OUT 1024u
#define MAX_MCS 4096u

static void put_f64(ppml_writer *w, double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    ppml_write_u64(w, u);
}

static int get_f64(ppml_reader *r, double *x)
{
    uint64_t u;
    if (ppml_read_u64(r, &u) != PPML_OK)
        return PPML_EPROTO;
    memcpy(x, &u, sizeof u);
    return PPML_OK;
}

static void put_blob(ppml_writer *w, const uint8_t *b, size_t len)
{
    ppml_write_u32(w, (uint32_t)len);
    ppml_write_bytes(w, b, len);
}

static int get_blob(ppml_reader *r, const uint8_t **b, uint32_t *len)
{
    if (ppml_read_u32(r, len) != PPML_OK || *len > MAX_BLOB || ppml_read_view(r, b, *len) != PPML_OK)
        return PPML_EPROTO;
    return PPML_OK;
}


/* ------------------------------------------------------------------ CSS side */

typedef struct css_job {
    ppml_svm_ref_params p;
    size_t n, dim, n_out, mcs, kw;
    double max_abs_x;
    ppml_svm_ref_fx_bounds bd;
    ppml_paillier_pk *tpk, *dsp;
    ppml_dtpkc_params *pp;
    ppml_dtpkc_partial_sk *sk1;
    uint8_t task[32];
    uint8_t (*sign_pk)[32];
    uint8_t *mc_done;
    size_t rows_done;
    mpz_t *EX, *EY;
    ppml_proto_css *css;
    ppml_channel *client, *ccs;
    int ccs_live; /* the CCS session was opened (set-up acknowledged) */
    int trained;
} css_job;

static void job_clear(css_job *j)
{
    ppml_proto_css_free(j->css);
    ppml_mpz_vec_free(j->EX, j->n * j->dim);
    ppml_mpz_vec_free(j->EY, j->n * j->n_out);
    ppml_paillier_pk_free(j->tpk);
    ppml_paillier_pk_free(j->dsp);
    ppml_dtpkc_partial_free(j->sk1);
    ppml_dtpkc_params_free(j->pp);
    free(j->sign_pk);
    free(j->mc_done);
    memset(j, 0, sizeof *j);
}

static int job_start(css_job *j, const uint8_t *msg, size_t len, const ppml_svm_css_opts *o)
{
    ppml_reader r;
    ppml_reader_init(&r, msg, len);
    uint32_t version, epochs, frac, cfrac, dim, n_out, mcs;
    uint64_t batch, n;
    uint8_t ovr;
    const uint8_t *b_tpk, *b_pp, *b_sk1, *b_dsp, *sealed;
    uint32_t l_tpk, l_pp, l_sk1, l_dsp, l_sealed;
    if (ppml_read_u32(&r, &version) || version != SVC_VERSION || ppml_read_u32(&r, &epochs) ||
        get_f64(&r, &j->p.lr) || get_f64(&r, &j->p.lambda) || ppml_read_u64(&r, &batch) ||
        ppml_read_u8(&r, &ovr) || ppml_read_u32(&r, &frac) || ppml_read_u32(&r, &cfrac) ||
        ppml_read_u64(&r, &n) || ppml_read_u32(&r, &dim) || ppml_read_u32(&r, &n_out) ||
        ppml_read_u32(&r, &mcs) || get_f64(&r, &j->max_abs_x) || get_blob(&r, &b_tpk, &l_tpk) ||
        get_blob(&r, &b_pp, &l_pp) || get_blob(&r, &b_sk1, &l_sk1) || get_blob(&r, &b_dsp, &l_dsp) ||
        get_blob(&r, &sealed, &l_sealed) || ppml_read_bytes(&r, j->task, 32))
        return PPML_EPROTO;
    j->p.epochs = epochs;
    j->p.batch = (size_t)batch;
    j->p.ovr_binary = ovr != 0;
    j->p.frac_bits = frac;
    j->p.const_frac_bits = cfrac;
    size_t nx, ny;
    if (ppml_svm_ref_params_check(&j->p) != PPML_OK || batch > n || n == 0 || n > PPML_PROTO_MAX_VALUES ||
        dim < 2 || dim > MAX_DIM || n_out == 0 || n_out > MAX_OUT || mcs < 2 || mcs > MAX_MCS || mcs > n ||
        !(j->max_abs_x > 0 && j->max_abs_x <= PPML_SVM_REF_FX_MAX_ABS_X) ||
        ppml_mul_size(&nx, (size_t)n, dim) != PPML_OK || nx > PPML_PROTO_MAX_VALUES ||
        ppml_mul_size(&ny, (size_t)n, n_out) != PPML_OK || ny > PPML_PROTO_MAX_VALUES ||
        (size_t)n_out * dim > PPML_PROTO_MAX_VALUES ||
        (batch ? (n + batch - 1) / batch : 1) > PPML_PROTO_MAX_VALUES / ((size_t)n_out * dim) ||
        ppml_reader_left(&r) != (size_t)mcs * 32)
        return PPML_EPROTO;
    j->n = (size_t)n;
    j->dim = dim;
    j->n_out = n_out;
    j->mcs = mcs;
    j->kw = (size_t)n_out * dim;
    int rc = ppml_svm_ref_fx_bounds_compute(&j->bd, &j->p, j->n, j->dim, j->max_abs_x);
    if (rc != PPML_OK)
        return PPML_EPROTO;
    j->sign_pk = malloc((size_t)mcs * 32);
    j->mc_done = calloc(mcs, 1);
    j->EX = ppml_mpz_vec_new(nx);
    j->EY = ppml_mpz_vec_new(ny);
    if (!j->sign_pk || !j->mc_done || !j->EX || !j->EY)
        return PPML_ENOMEM;
    if (ppml_read_bytes(&r, j->sign_pk, (size_t)mcs * 32) != PPML_OK)
        return PPML_EPROTO;
    if (o->allow_test_keys)
        ppml_paillier_allow_insecure_test_keys(1);
    rc = ppml_paillier_pk_load(&j->tpk, b_tpk, l_tpk);
    if (rc == PPML_OK)
        rc = ppml_paillier_pk_load(&j->dsp, b_dsp, l_dsp);
    if (rc == PPML_OK)
        rc = o->allow_test_keys ? ppml_dtpkc_params_load_insecure_for_tests(&j->pp, b_pp, l_pp)
                                : ppml_dtpkc_params_load(&j->pp, b_pp, l_pp);
    if (rc == PPML_OK)
        rc = ppml_dtpkc_partial_load(&j->sk1, j->pp, b_sk1, l_sk1);
    if (rc == PPML_OK && ppml_dtpkc_partial_index(j->sk1) != 1)
        rc = PPML_EPROTO;
    if (rc != PPML_OK)
        return rc;
    /* CCS: the TA's sealed set-up opens the session; then the blocks */
    rc = ppml_proto_ccs_provision_sealed(j->ccs, sealed, l_sealed);
    if (rc != PPML_OK)
        return rc;
    j->ccs_live = 1;
    ppml_proto_opts popts = {0, o->threads ? o->threads : 1};
    rc = ppml_proto_css_new(&j->css, j->ccs, j->tpk, &popts);
    if (rc != PPML_OK) /* CCS is serving this session: end it */
        (void)!ppml_channel_send(j->ccs, PPML_MSG_END, NULL, 0);
    return rc;
}

/* Keeps an upload in the store: its serialized ciphertexts (the Merkle leaves), the MC's key
 * and signature, in one transaction; ppml_store_put_dataset recomputes the root and checks
 * the signature before writing (PPML_EVERIFY: nothing written), so B1 need not again. */
static int store_upload(ppml_store *st, const css_job *j, uint32_t mc, const ppmli_svm_upload *u)
{
    uint8_t **items = calloc(u->cnt ? u->cnt : 1, sizeof *items);
    size_t *lens = calloc(u->cnt ? u->cnt : 1, sizeof *lens);
    int rc = items && lens ? PPML_OK : PPML_ENOMEM;
    for (size_t i = 0; i < u->cnt && rc == PPML_OK; i++)
        rc = ppml_dtpkc_ct_save(u->pk_own, &u->cts[i], &items[i], &lens[i]);
    char id[96];
    ppmli_svm_dataset_id(id, j->task, mc);
    if (rc == PPML_OK)
        rc = ppml_store_put_dataset(st, id, j->sign_pk[mc], u->sig, (const uint8_t *const *)items, lens,
                                    u->cnt);
    for (size_t i = 0; items && i < u->cnt; i++)
        free(items[i]);
    free(items);
    free(lens);
    return rc;
}

static int job_upload(css_job *j, const uint8_t *msg, size_t len, uint64_t *b1_ns, ppml_store *st)
{
    ppml_reader r;
    ppml_reader_init(&r, msg, len);
    uint32_t mc;
    uint64_t lo, rows;
    const uint8_t *b_pk, *b_cts;
    uint32_t l_pk, l_cts;
    ppmli_svm_upload u;
    memset(&u, 0, sizeof u);
    if (ppml_read_u32(&r, &mc) || ppml_read_u64(&r, &lo) || ppml_read_u64(&r, &rows) ||
        get_blob(&r, &b_pk, &l_pk) || ppml_read_bytes(&r, u.sig, 64) || ppml_read_bytes(&r, u.auth.task_id, 32) ||
        ppml_read_bytes(&r, u.auth.signer_pk, 32) || ppml_read_bytes(&r, u.auth.sig, 64) ||
        get_blob(&r, &b_cts, &l_cts) || ppml_reader_done(&r))
        return PPML_EPROTO;
    /* in row order, each MC once, all rows by the end, signed by that MC's key */
    if (mc >= j->mcs || j->mc_done[mc] || lo != j->rows_done || rows == 0 || rows > j->n - j->rows_done ||
        sodium_memcmp(u.auth.signer_pk, j->sign_pk[mc], 32) != 0 || sodium_memcmp(u.auth.task_id, j->task, 32) != 0)
        return PPML_EPROTO;
    int rc = ppml_dtpkc_pk_load(&u.pk_own, j->pp, b_pk, l_pk);
    if (rc == PPML_OK)
        rc = ppml_dtpkc_pk_precompute(u.pk_own);
    if (rc == PPML_OK)
        rc = ppml_dtpkc_ctvec_load(u.pk_own, &u.cts, &u.cnt, b_cts, l_cts);
    if (rc == PPML_OK && u.cnt != (size_t)rows * (j->dim + j->n_out))
        rc = PPML_EPROTO;
    if (rc == PPML_OK && st)
        rc = store_upload(st, j, mc, &u);
    uint64_t t0 = ppmli_svm_now_ns();
    if (rc == PPML_OK)
        rc = ppmli_svm_css_accept(j->css, j->sk1, j->sign_pk[mc], j->task, mc, &u, (size_t)lo, (size_t)rows,
                                  j->dim, j->n_out, j->bd.x_bits, j->EX, j->EY, st != NULL);
    *b1_ns = ppmli_svm_now_ns() - t0;
    if (rc == PPML_OK) {
        j->mc_done[mc] = 1;
        j->rows_done += (size_t)rows;
    }
    ppmli_svm_upload_clear(&u);
    return rc;
}

static void send_progress(void *ctx, unsigned epoch, unsigned epochs)
{
    css_job *j = ctx;
    uint8_t b[8];
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(epoch >> (8 * i));
        b[4 + i] = (uint8_t)(epochs >> (8 * i));
    }
    (void)!ppml_channel_send(j->client, PPML_MSG_SVM_PROGRESS, b, 8); /* a lost note is harmless */
}

static int job_train(css_job *j, ppml_store *st)
{
    if (j->rows_done != j->n || j->trained)
        return PPML_EPROTO;
    j->trained = 1; /* one training per job */
    mpz_t *EW = ppml_mpz_vec_new(j->kw), *DW = ppml_mpz_vec_new(j->kw);
    int rc = (EW && DW) ? PPML_OK : PPML_ENOMEM;
    uint64_t t0 = ppmli_svm_now_ns(), c0 = ppmli_svm_cpu_ns();
    if (rc == PPML_OK)
        rc = ppml_svm_secure_train(j->css, EW, (const mpz_t *)j->EX, (const mpz_t *)j->EY, j->n, j->dim, j->n_out,
                                   &j->p, j->max_abs_x, send_progress, j);
    uint64_t train_ns = ppmli_svm_now_ns() - t0, cpu = ppmli_svm_cpu_ns() - c0;
    t0 = ppmli_svm_now_ns();
    if (rc == PPML_OK)
        rc = ppml_proto_convert(j->css, DW, j->dsp, (const mpz_t *)EW, j->kw, j->bd.w_bits);
    uint64_t conv_ns = ppmli_svm_now_ns() - t0;
    if (rc == PPML_OK && st) { /* the model under the DSP's key, kept before it is sent */
        char name[96];
        ppml_svm_task_prefix(name, j->task);
        strcat(name, "/model");
        uint8_t *b = NULL;
        size_t bl = 0;
        rc = ppml_paillier_ctvec_save(j->dsp, (const mpz_t *)DW, j->kw, &b, &bl);
        if (rc == PPML_OK)
            rc = ppml_store_put_blob(st, name, b, bl);
        free(b);
    }
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u64(&w, train_ns);
        ppml_write_u64(&w, cpu);
        ppml_write_u64(&w, conv_ns);
        ppml_msg_write_mpzvec(&w, (const mpz_t *)DW, j->kw);
        rc = w.err;
        if (rc == PPML_OK)
            rc = ppml_channel_send(j->client, PPML_MSG_SVM_TRAIN | PPML_MSG_REPLY, w.data, w.len);
        ppml_writer_clear(&w);
    }
    ppml_mpz_vec_free(EW, j->kw);
    ppml_mpz_vec_free(DW, j->kw);
    return rc;
}

int ppml_svm_css_serve(ppml_channel *client, ppml_channel *ccs, const ppml_svm_css_opts *o)
{
    if (!client || !ccs || !o || o->threads > 64)
        return PPML_EINVAL;
    css_job j;
    memset(&j, 0, sizeof j);
    int rc = PPML_OK, have_job = 0;
    for (;;) {
        uint16_t t;
        uint8_t *p = NULL;
        size_t len = 0;
        rc = ppml_channel_recv(client, &t, &p, &len, o->idle_timeout_ms ? o->idle_timeout_ms : PPML_TIMEOUT_INFINITE);
        if (rc != PPML_OK) {
            if (rc == PPML_EPROTO) /* a malformed frame: say so before ending */
                (void)!ppml_msg_send_error(client, PPML_MSG_ERROR, rc);
            break;
        }
        uint64_t b1_ns = 0;
        int done = 0;
        if (t == PPML_MSG_END) {
            done = 1;
        } else if (t == PPML_MSG_SVM_JOB && !have_job) {
            have_job = 1;
            j.client = client;
            j.ccs = ccs;
            rc = job_start(&j, p, len, o);
            if (rc == PPML_OK)
                rc = ppml_channel_send(client, PPML_MSG_SVM_JOB | PPML_MSG_REPLY, NULL, 0);
        } else if (t == PPML_MSG_SVM_UPLOAD && have_job) {
            rc = job_upload(&j, p, len, &b1_ns, o->store);
            if (rc == PPML_OK) {
                uint8_t b[8];
                for (int i = 0; i < 8; i++)
                    b[i] = (uint8_t)(b1_ns >> (8 * i));
                rc = ppml_channel_send(client, PPML_MSG_SVM_UPLOAD | PPML_MSG_REPLY, b, 8);
            }
        } else if (t == PPML_MSG_SVM_TRAIN && have_job) {
            rc = job_train(&j, o->store);
        } else {
            rc = PPML_EPROTO;
        }
        ppml_free_secret(p, len); /* a job carries SK1 */
        /* any failure, CCS's included (a CCS timeout is PPML_ETIMEOUT too): the client hears
         * it now rather than at its own timeout; a dead client channel just fails again */
        if (rc != PPML_OK)
            (void)!ppml_msg_send_error(client, PPML_MSG_ERROR, rc);
        if (rc != PPML_OK || done)
            break;
    }
    if (j.css) {
        int frc = ppml_proto_css_finish(j.css); /* ends CCS's session */
        if (rc == PPML_OK)
            rc = frc;
    }
    job_clear(&j);
    return rc;
}

/* --------------------------------------------------------------- client side */

/* Wait for the reply to `type`, handing progress notes to o->progress. */
static int await(ppml_channel *ch, uint16_t type, const ppml_svm_run_opts *o, uint8_t **p, size_t *len)
{
    for (;;) {
        uint16_t t;
        int rc = ppml_channel_recv(ch, &t, p, len, ppml_channel_timeout(ch));
        if (rc != PPML_OK)
            return rc;
        if (t == PPML_MSG_SVM_PROGRESS && *len == 8) {
            uint32_t e = 0, es = 0;
            for (int i = 0; i < 4; i++) {
                e |= (uint32_t)(*p)[i] << (8 * i);
                es |= (uint32_t)(*p)[4 + i] << (8 * i);
            }
            free(*p);
            *p = NULL;
            if (o->progress && e >= 1 && e <= es)
                o->progress(o->progress_ctx, e, es);
            continue;
        }
        if (t == (uint16_t)(type | PPML_MSG_REPLY))
            return PPML_OK;
        int code = t == PPML_MSG_ERROR ? ppml_msg_error_code(*p, *len) : PPML_EPROTO; /* CSS's reason */
        free(*p);
        *p = NULL;
        return code;
    }
}

static int request(ppml_channel *ch, uint16_t type, ppml_writer *w, const ppml_svm_run_opts *o, uint8_t **p,
                   size_t *len)
{
    int rc = w ? w->err : PPML_OK;
    if (rc == PPML_OK)
        rc = ppml_channel_send(ch, type, w ? w->data : NULL, w ? w->len : 0);
    return rc == PPML_OK ? await(ch, type, o, p, len) : rc;
}

static uint64_t get_u64le(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static int send_job(const ppmli_svm_ta *ta, const ppml_svm_run_opts *o, const ppml_svm_ref_params *p, size_t n,
                    size_t dim, size_t n_out, double max_abs_x)
{
    /* CCS re-encrypts only to the DSP's key */
    const uint8_t(*dsp_id)[32] = (const uint8_t(*)[32])ppml_paillier_pk_id(ppml_paillier_sk_pk(ta->dsp_sk));
    ppml_proto_ccs_keys keys = {ta->train_sk, ta->pp, ta->sk2, ta->sign_pk, ta->mcs, ta->task, dsp_id, 1, 0};
    uint8_t *tpk = NULL, *pp = NULL, *sk1 = NULL, *dsp = NULL, *sealed = NULL;
    size_t l_tpk = 0, l_pp = 0, l_sk1 = 0, l_dsp = 0, l_sealed = 0;
    int rc = ppml_paillier_pk_save(ppml_paillier_sk_pk(ta->train_sk), &tpk, &l_tpk);
    if (rc == PPML_OK)
        rc = ppml_dtpkc_params_save(ta->pp, &pp, &l_pp);
    if (rc == PPML_OK)
        rc = ppml_dtpkc_partial_save(ta->sk1, &sk1, &l_sk1);
    if (rc == PPML_OK)
        rc = ppml_paillier_pk_save(ppml_paillier_sk_pk(ta->dsp_sk), &dsp, &l_dsp);
    if (rc == PPML_OK)
        rc = o->ta_secret ? ppml_proto_ccs_box_keys(&sealed, &l_sealed, &keys, o->ccs_public,
                                                    o->ta_public, o->ta_secret)
                          : ppml_proto_ccs_seal_keys(&sealed, &l_sealed, &keys, o->ccs_public);
    ppml_writer w;
    ppml_writer_init(&w);
    if (rc == PPML_OK) {
        ppml_write_u32(&w, SVC_VERSION);
        ppml_write_u32(&w, p->epochs);
        put_f64(&w, p->lr);
        put_f64(&w, p->lambda);
        ppml_write_u64(&w, (uint64_t)p->batch);
        ppml_write_u8(&w, p->ovr_binary ? 1 : 0);
        ppml_write_u32(&w, p->frac_bits);
        ppml_write_u32(&w, p->const_frac_bits);
        ppml_write_u64(&w, (uint64_t)n);
        ppml_write_u32(&w, (uint32_t)dim);
        ppml_write_u32(&w, (uint32_t)n_out);
        ppml_write_u32(&w, (uint32_t)ta->mcs);
        put_f64(&w, max_abs_x);
        put_blob(&w, tpk, l_tpk);
        put_blob(&w, pp, l_pp);
        put_blob(&w, sk1, l_sk1);
        put_blob(&w, dsp, l_dsp);
        put_blob(&w, sealed, l_sealed);
        ppml_write_bytes(&w, ta->task, 32);
        for (size_t m = 0; m < ta->mcs; m++)
            ppml_write_bytes(&w, ta->sign_pk[m], 32);
        uint8_t *rp = NULL;
        size_t rl = 0;
        rc = request(o->css, PPML_MSG_SVM_JOB, &w, o, &rp, &rl);
        free(rp);
    }
    ppml_writer_clear(&w); /* held SK1 */
    free(tpk);
    free(pp);
    ppml_free_secret(sk1, l_sk1);
    free(dsp);
    free(sealed);
    return rc;
}

static int send_upload(const ppml_svm_run_opts *o, const ppmli_svm_upload *u, size_t mc, size_t lo, size_t rows,
                       uint64_t *b1_ns)
{
    const ppml_dtpkc_pk *mpk = ppmli_svm_upload_pk(u);
    uint8_t *pk = NULL, *cts = NULL;
    size_t l_pk = 0, l_cts = 0;
    int rc = ppml_dtpkc_pk_save(mpk, &pk, &l_pk);
    if (rc == PPML_OK)
        rc = ppml_dtpkc_ctvec_save(mpk, u->cts, u->cnt, &cts, &l_cts);
    if (rc == PPML_OK && (l_pk > MAX_BLOB || l_cts > MAX_BLOB))
        rc = PPML_ERANGE;
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, (uint32_t)mc);
        ppml_write_u64(&w, (uint64_t)lo);
        ppml_write_u64(&w, (uint64_t)rows);
        put_blob(&w, pk, l_pk);
        ppml_write_bytes(&w, u->sig, 64);
        ppml_write_bytes(&w, u->auth.task_id, 32);
        ppml_write_bytes(&w, u->auth.signer_pk, 32);
        ppml_write_bytes(&w, u->auth.sig, 64);
        put_blob(&w, cts, l_cts);
        uint8_t *rp = NULL;
        size_t rl = 0;
        rc = request(o->css, PPML_MSG_SVM_UPLOAD, &w, o, &rp, &rl);
        if (rc == PPML_OK)
            *b1_ns = rl == 8 ? get_u64le(rp) : 0;
        free(rp);
        ppml_writer_clear(&w);
    }
    free(pk);
    free(cts);
    return rc;
}

int ppmli_svm_remote(const ppmli_svm_ta *ta, const ppml_svm_run_opts *o, const ppml_svm_ref_params *p, size_t n,
                     size_t dim, size_t n_out, double max_abs_x, const int64_t *X, const int8_t *Y, mpz_t *DW,
                     ppml_svm_run_report *rep)
{
    if (!o->css || !o->ccs_public)
        return PPML_EINVAL;
    int rc = send_job(ta, o, p, n, dim, n_out, max_abs_x);
    for (size_t m = 0; m < ta->mcs && rc == PPML_OK; m++) {
        size_t lo = n * m / ta->mcs, hi = n * (m + 1) / ta->mcs;
        ppmli_svm_upload u;
        uint64_t t0 = ppmli_svm_now_ns(), b1 = 0;
        rc = ppmli_svm_mc_prepare(&u, ta->pp, ta->sign_sk[m], ta->task, m, X, Y, lo, hi, dim, n_out,
                                  ppml_paillier_sk_pk(ta->train_sk));
        rep->upload_ns += ppmli_svm_now_ns() - t0;
        if (rc == PPML_OK)
            rc = send_upload(o, &u, m, lo, hi - lo, &b1);
        rep->aggregate_ns += b1;
        rep->uploaded += u.cnt;
        ppmli_svm_upload_clear(&u);
    }
    if (rc == PPML_OK) {
        uint8_t *rp = NULL;
        size_t rl = 0;
        size_t kw = n_out * dim;
        rc = request(o->css, PPML_MSG_SVM_TRAIN, NULL, o, &rp, &rl);
        if (rc == PPML_OK) {
            ppml_reader r;
            ppml_reader_init(&r, rp, rl);
            uint64_t tn, tc, cn;
            if (ppml_read_u64(&r, &tn) || ppml_read_u64(&r, &tc) || ppml_read_u64(&r, &cn) ||
                ppml_msg_read_mpzvec_exact(&r, DW, kw, ppml_paillier_pk_n2(ppml_paillier_sk_pk(ta->dsp_sk))) ||
                ppml_reader_done(&r))
                rc = PPML_EPROTO;
            else {
                rep->train_ns = tn;
                rep->train_cpu_ns = tc;
                rep->convert_ns = cn;
            }
        }
        free(rp);
    }
    /* end the session either way (CSS ends its CCS session) */
    int erc = ppml_channel_send(o->css, PPML_MSG_END, NULL, 0);
    return rc == PPML_OK ? erc : rc;
}
