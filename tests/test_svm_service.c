/* CSS as a service (ppml_svm_css_serve): the client (TA, MCs, DSP), CSS and CCS in three
 * threads on in-process channels, CCS's keys sealed to CCS and relayed by CSS. The model the
 * DSP decrypts equals the fixed-point reference up to the certified bound; keys sealed to
 * another key are refused by CCS; malformed, truncated, out-of-order and out-of-range
 * requests end CSS's session with an error reply, never a crash or a hang. */
#include "test.h"

#include "ppml/channel.h"
#include "ppml/dataset.h"
#include "ppml/paillier.h"
#include "ppml/proto.h"
#include "ppml/serial.h"
#include "ppml/svm.h"
#include "ppml/svm_ref.h"

#include <pthread.h>
#include <sodium.h>

static uint8_t box_pk[32], box_sk[32];
/* The TA keys CCS trusts (n_trusted = 0: it takes any set-up, sealed or boxed) */
static uint8_t trusted[1][32];
static size_t n_trusted;
static ppml_store *css_store; /* CSS keeps uploads and the model here when set */

typedef struct srv_arg {
    ppml_channel *client, *ccs; /* CSS's two channels */
    ppml_channel *ccs_end;      /* CCS's end, NULL: no CCS thread */
    int css_rc, ccs_rc;
} srv_arg;

static void *ccs_main(void *p)
{
    srv_arg *a = p;
    ppml_proto_opts o = {0, 1};
    a->ccs_rc = ppml_proto_ccs_run_trusted(a->ccs_end, &o, 1, 60000, box_pk, box_sk,
                                           (const uint8_t(*)[32])trusted, n_trusted);
    return NULL;
}

static void *css_main(void *p)
{
    srv_arg *a = p;
    ppml_svm_css_opts o = {2, 1, 60000, css_store};
    a->css_rc = ppml_svm_css_serve(a->client, a->ccs, &o);
    return NULL;
}

/* One session: CSS (and CCS) in threads; returns the client's channel end. */
typedef struct session {
    ppml_channel *cli, *css_cli, *css_ccs, *ccs_end;
    pthread_t css_t, ccs_t;
    srv_arg arg;
} session;

static void session_start(session *s)
{
    memset(s, 0, sizeof *s);
    CHECK_OK(ppml_channel_pair_inproc(&s->cli, &s->css_cli, 0, 0));
    CHECK_OK(ppml_channel_pair_inproc(&s->css_ccs, &s->ccs_end, 0, 0));
    ppml_channel_set_timeout(s->cli, 60000);
    ppml_channel_set_timeout(s->css_ccs, 60000);
    s->arg = (srv_arg){s->css_cli, s->css_ccs, s->ccs_end, PPML_OK, PPML_OK};
    pthread_create(&s->ccs_t, NULL, ccs_main, &s->arg);
    pthread_create(&s->css_t, NULL, css_main, &s->arg);
}

static void session_end(session *s)
{
    pthread_join(s->css_t, NULL);
    ppml_channel_free(s->css_ccs); /* ends a CCS still waiting for its set-up */
    pthread_join(s->ccs_t, NULL);
    ppml_channel_free(s->cli);
    ppml_channel_free(s->css_cli);
    ppml_channel_free(s->ccs_end);
}

static void load_iris(ppml_dataset *train, ppml_dataset *test)
{
    ppml_dataset ds;
    ppml_dataset_init(&ds);
    char err[PPML_ERR_LEN];
    CHECK_OK(ppml_dataset_load_csv(&ds, "data/iris.csv", NULL, err));
    uint8_t seed[PPML_SEED_BYTES] = {9};
    ppml_prg prg;
    ppml_prg_init(&prg, seed, 0);
    CHECK_OK(ppml_dataset_split(train, test, &ds, 0.3, &prg));
    ppml_scaler sc;
    ppml_scaler_init(&sc);
    CHECK_OK(ppml_scaler_fit(&sc, train));
    CHECK_OK(ppml_scaler_apply(&sc, train));
    CHECK_OK(ppml_scaler_apply(&sc, test));
    CHECK_OK(ppml_dataset_clip(train, 8.0));
    CHECK_OK(ppml_dataset_clip(test, 8.0));
    ppml_scaler_clear(&sc);
    ppml_prg_clear(&prg);
    ppml_dataset_clear(&ds);
}

static void test_train(const ppml_dataset *train, const ppml_dataset *test)
{
    ppml_svm_ref_params p;
    ppml_svm_ref_params_default(&p);
    p.epochs = 2;
    char err[PPML_ERR_LEN];
    CHECK_OK(ppml_store_open(&css_store, ":memory:", err));
    session s;
    session_start(&s);
    ppml_svm_run_opts o;
    memset(&o, 0, sizeof o);
    o.insecure_test_bits = 768;
    o.mcs = 3;
    o.max_abs_x = 8.0;
    o.css = s.cli;
    o.ccs_public = box_pk;
    ppml_svm_ref_fx_model sec, ref;
    ppml_svm_ref_fx_model_init(&sec);
    ppml_svm_ref_fx_model_init(&ref);
    ppml_svm_ref_fx_stats st;
    ppml_svm_run_report rep;
    CHECK_OK(ppml_svm_run(&sec, &rep, train, &p, &o));
    session_end(&s);
    CHECK_OK(s.arg.css_rc);
    CHECK_OK(s.arg.ccs_rc);
    CHECK(rep.uploaded == train->n * (train->d + 1 + 3));
    /* CSS kept each MC's upload (verifiable from the store alone) and the model */
    {
        char prefix[18], id[96];
        ppml_svm_task_prefix(prefix, rep.task);
        uint64_t total = 0, cnt = 0;
        for (int mc = 0; mc < 3; mc++) {
            snprintf(id, sizeof id, "%s/mc-%d", prefix, mc);
            CHECK_OK(ppml_store_dataset_info(css_store, id, &cnt, NULL, NULL));
            CHECK_OK(ppml_store_verify(css_store, id, NULL));
            total += cnt;
        }
        CHECK(total == rep.uploaded);
        snprintf(id, sizeof id, "%s/mc-3", prefix);
        CHECK_ERR(ppml_store_dataset_info(css_store, id, &cnt, NULL, NULL), PPML_EINVAL);
        uint8_t *mb = NULL;
        size_t ml = 0;
        snprintf(id, sizeof id, "%s/model", prefix);
        CHECK_OK(ppml_store_get_blob(css_store, id, &mb, &ml));
        CHECK(mb && ml > PPML_HEADER_LEN);
        free(mb);
    }
    ppml_store_close(css_store);
    css_store = NULL;
    CHECK_OK(ppml_svm_ref_fx_train(&ref, &st, train, &p, NULL));
    uint64_t diff = UINT64_MAX;
    CHECK_OK(ppml_svm_ref_fx_max_diff(&diff, &sec, &ref));
    CHECK(diff <= st.error_bound);
    uint32_t *ps = calloc(test->n, sizeof *ps), *pr = calloc(test->n, sizeof *pr);
    CHECK_OK(ppml_svm_ref_fx_predict(ps, test->n, &sec, test));
    CHECK_OK(ppml_svm_ref_fx_predict(pr, test->n, &ref, test));
    for (size_t i = 0; i < test->n; i++)
        CHECK(ps[i] == pr[i]);
    free(ps);
    free(pr);
    ppml_svm_ref_fx_model_clear(&sec);

    /* CCS's keys sealed to another key: CCS refuses them, the run fails cleanly */
    uint8_t other_pk[32], other_sk[32];
    crypto_box_keypair(other_pk, other_sk);
    session_start(&s);
    o.css = s.cli;
    o.ccs_public = other_pk;
    CHECK_ERR(ppml_svm_run(&sec, &rep, train, &p, &o), PPML_EVERIFY);
    session_end(&s);
    CHECK_ERR(s.arg.ccs_rc, PPML_EVERIFY);
    CHECK(s.arg.css_rc != PPML_OK);
    ppml_svm_ref_fx_model_clear(&sec);

    /* a CCS that trusts only the TA's key: the TA's boxed set-up trains; an anonymous seal,
     * or a box from another key (CSS's, say), is refused before any key is loaded */
    uint8_t ta_pk[32], ta_sk[32], cs_pk[32], cs_sk[32];
    crypto_box_keypair(ta_pk, ta_sk);
    crypto_box_keypair(cs_pk, cs_sk);
    memcpy(trusted[0], ta_pk, 32);
    n_trusted = 1;
    o.ccs_public = box_pk;
    const uint8_t *senders[3][2] = {{ta_pk, ta_sk}, {NULL, NULL}, {cs_pk, cs_sk}};
    for (int k = 0; k < 3; k++) {
        session_start(&s);
        o.css = s.cli;
        o.ta_public = senders[k][0];
        o.ta_secret = senders[k][1];
        int rc = ppml_svm_run(&sec, &rep, train, &p, &o);
        session_end(&s);
        if (k == 0) {
            CHECK_OK(rc);
            CHECK_OK(s.arg.ccs_rc);
            CHECK_OK(ppml_svm_ref_fx_max_diff(&diff, &sec, &ref));
            CHECK(diff <= st.error_bound);
        } else {
            CHECK_ERR(rc, PPML_EVERIFY);
            CHECK_ERR(s.arg.ccs_rc, PPML_EVERIFY);
        }
        ppml_svm_ref_fx_model_clear(&sec);
    }
    /* ... and so is a plain set-up sent straight to it (as `svm train --ccs` without a key) */
    {
        ppml_paillier_sk *tk = NULL;
        CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&tk, 512));
        ppml_proto_ccs_keys plain = {tk, NULL, NULL, NULL, 0, NULL, NULL, 0, 0};
        session_start(&s); /* only its CCS thread is used: CSS gets nothing and times out */
        CHECK_ERR(ppml_proto_ccs_provision(s.css_ccs, &plain), PPML_EVERIFY);
        ppml_channel_free(s.cli); /* CSS's client leaves: CSS ends */
        s.cli = NULL;
        session_end(&s);
        CHECK_ERR(s.arg.ccs_rc, PPML_EVERIFY);
        ppml_paillier_sk_free(tk);
    }
    n_trusted = 0;
    o.ta_public = o.ta_secret = NULL;
    /* a key pair that is not one is refused by the TA's side */
    ppml_proto_ccs_keys none = {0};
    uint8_t *bx = NULL;
    size_t bl = 0;
    CHECK_ERR(ppml_proto_ccs_box_keys(&bx, &bl, &none, box_pk, cs_pk, ta_sk), PPML_EMISMATCH);
    sodium_memzero(ta_sk, sizeof ta_sk);
    sodium_memzero(cs_sk, sizeof cs_sk);
    ppml_svm_ref_fx_model_clear(&ref);
}

/* A session that gets `type`/payload first: CSS answers PPML_MSG_ERROR and ends with an
 * error. */
static void expect_refused(uint16_t type, const uint8_t *payload, size_t len)
{
    session s;
    session_start(&s);
    CHECK_OK(ppml_channel_send(s.cli, type, payload, len));
    uint16_t t = 0;
    uint8_t *p = NULL;
    size_t l = 0;
    CHECK_OK(ppml_channel_recv(s.cli, &t, &p, &l, 60000));
    CHECK(t == PPML_MSG_ERROR);
    free(p);
    session_end(&s);
    CHECK(s.arg.css_rc != PPML_OK);
}

static void put_blob(ppml_writer *w, const uint8_t *b, size_t len)
{
    ppml_write_u32(w, (uint32_t)len);
    ppml_write_bytes(w, b, len);
}

/* A well-formed job header with the given sizes; blobs are junk unless real keys are given. */
static void job(ppml_writer *w, uint32_t version, uint64_t n, uint32_t dim, uint32_t n_out, uint32_t mcs,
                uint32_t blob_len_override)
{
    ppml_writer_init(w);
    ppml_write_u32(w, version);
    ppml_write_u32(w, 2); /* epochs */
    double lr = 1, lambda = 0.001, mx = 8;
    uint64_t u;
    memcpy(&u, &lr, 8);
    ppml_write_u64(w, u);
    memcpy(&u, &lambda, 8);
    ppml_write_u64(w, u);
    ppml_write_u64(w, 0); /* batch */
    ppml_write_u8(w, 0);
    ppml_write_u32(w, 24);
    ppml_write_u32(w, 20);
    ppml_write_u64(w, n);
    ppml_write_u32(w, dim);
    ppml_write_u32(w, n_out);
    ppml_write_u32(w, mcs);
    memcpy(&u, &mx, 8);
    ppml_write_u64(w, u);
    uint8_t junk[64] = {1, 2, 3};
    for (int b = 0; b < 5; b++) {
        if (blob_len_override && b == 2)
            ppml_write_u32(w, blob_len_override); /* a length that lies */
        else
            put_blob(w, junk, sizeof junk);
    }
    ppml_write_bytes(w, junk, 32);
    for (uint32_t m = 0; m < mcs && m < 64; m++)
        ppml_write_bytes(w, junk, 32);
}

static void test_malformed(void)
{
    ppml_writer w;
    /* requests before a job, unknown types */
    expect_refused(PPML_MSG_SVM_UPLOAD, (const uint8_t *)"x", 1);
    expect_refused(PPML_MSG_SVM_TRAIN, NULL, 0);
    expect_refused(0x0666, NULL, 0);
    /* out-of-range sizes, wrong version, lying lengths, junk keys */
    job(&w, 1, 100, 5, 3, 2, 0); /* version 1: envelopes without a kind byte */
    expect_refused(PPML_MSG_SVM_JOB, w.data, w.len);
    ppml_writer_clear(&w);
    job(&w, 2, 0, 5, 3, 2, 0); /* n = 0 */
    expect_refused(PPML_MSG_SVM_JOB, w.data, w.len);
    ppml_writer_clear(&w);
    job(&w, 2, 100, 1, 3, 2, 0); /* dim < 2 */
    expect_refused(PPML_MSG_SVM_JOB, w.data, w.len);
    ppml_writer_clear(&w);
    job(&w, 2, 3, 5, 3, 4, 0); /* more MCs than rows */
    expect_refused(PPML_MSG_SVM_JOB, w.data, w.len);
    ppml_writer_clear(&w);
    job(&w, 2, (uint64_t)1 << 40, 5, 3, 2, 0); /* n * dim beyond every bound */
    expect_refused(PPML_MSG_SVM_JOB, w.data, w.len);
    ppml_writer_clear(&w);
    job(&w, 2, 100, 5, 3, 2, 0xfffffff0u);
    expect_refused(PPML_MSG_SVM_JOB, w.data, w.len);
    ppml_writer_clear(&w);
    job(&w, 2, 100, 5, 3, 2, 0); /* well-formed sizes, junk keys */
    expect_refused(PPML_MSG_SVM_JOB, w.data, w.len);
    /* every truncation of it */
    for (size_t cut = 0; cut < w.len; cut += test_sanitized() ? 61 : 7)
        expect_refused(PPML_MSG_SVM_JOB, w.data, cut);
    ppml_writer_clear(&w);
}

int main(void)
{
    test_init();
    test_seed(11);
    ppml_paillier_allow_insecure_test_keys(1);
    crypto_box_keypair(box_pk, box_sk);
    ppml_dataset train, test;
    ppml_dataset_init(&train);
    ppml_dataset_init(&test);
    load_iris(&train, &test);
    test_train(&train, &test);
    test_malformed();
    ppml_dataset_clear(&train);
    ppml_dataset_clear(&test);
    ppml_rand_clear_test_seed();
    return test_finish("test_svm_service");
}
