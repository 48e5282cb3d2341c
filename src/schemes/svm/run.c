/* Scheme S training end to end (ppml_svm_run): TA set-up, MC uploads with signed Merkle
 * roots, B1, secure training, conversion to the DSP's key. All parties run in this process
 * except, optionally, CCS (remote, over an authenticated encrypted channel).
 *
 * What each party receives: the TA nothing back; each MC its own keys; CSS SK1, the public
 * keys, the MCs' ciphertexts, roots and signatures, and block replies (ciphertexts); CCS its
 * keys and the blinded block requests (src/proto); the DSP the model under its key. */
#include "svm_internal.h"

#include "ppml/merkle.h"
#include "ppml/mem.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t ppmli_svm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ppmli_svm_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define now_ns ppmli_svm_now_ns
#define cpu_ns ppmli_svm_cpu_ns

typedef struct ccs_thread_arg {
    ppml_channel *ch;
    const ppml_proto_ccs_keys *keys;
    ppml_proto_opts opts;
    int rc;
} ccs_thread_arg;

static void *ccs_main(void *p)
{
    ccs_thread_arg *a = p;
    a->rc = ppml_proto_ccs_serve_keys(a->ch, a->keys, &a->opts, PPML_TIMEOUT_INFINITE);
    return NULL;
}

/* Merkle root over the serialized ciphertexts. */
static int upload_root(uint8_t root[32], const ppml_dtpkc_pk *pk, const ppml_dtpkc_ct *cts, size_t n)
{
    uint8_t (*leaves)[32] = malloc((n ? n : 1) * 32);
    if (!leaves)
        return PPML_ENOMEM;
    int rc = PPML_OK;
    for (size_t i = 0; i < n && rc == PPML_OK; i++) {
        uint8_t *b = NULL;
        size_t len = 0;
        rc = ppml_dtpkc_ct_save(pk, &cts[i], &b, &len);
        if (rc == PPML_OK)
            ppml_merkle_leaf(leaves[i], b, len);
        free(b);
    }
    if (rc == PPML_OK)
        rc = ppml_merkle_root(root, (const uint8_t(*)[32])leaves, n);
    free(leaves);
    return rc;
}

const ppml_dtpkc_pk *ppmli_svm_upload_pk(const ppmli_svm_upload *u)
{
    return u->mk ? ppml_dtpkc_sk_pk(u->mk) : u->pk_own;
}

void ppmli_svm_upload_clear(ppmli_svm_upload *u)
{
    if (u->cts)
        ppml_dtpkc_ctvec_free(u->cts, u->cnt);
    ppml_dtpkc_sk_free(u->mk);
    ppml_dtpkc_pk_free(u->pk_own);
    memset(u, 0, sizeof *u);
}

void ppml_svm_task_prefix(char out[18], const uint8_t task[32])
{
    snprintf(out, 18, "svm-task-%02x%02x%02x%02x", task[0], task[1], task[2], task[3]);
}

void ppmli_svm_dataset_id(char out[96], const uint8_t task[32], size_t mc_index)
{
    char prefix[18];
    ppml_svm_task_prefix(prefix, task);
    snprintf(out, 96, "%s/mc-%zu", prefix, mc_index);
}

int ppmli_svm_mc_prepare(ppmli_svm_upload *u, const ppml_dtpkc_params *pp, const uint8_t sign_sk[64],
                         const uint8_t task[32], size_t mc_index, const int64_t *X, const int8_t *Y, size_t lo,
                         size_t hi, size_t dim, size_t n_out, const ppml_paillier_pk *training)
{
    memset(u, 0, sizeof *u);
    size_t rows = hi - lo, cnt = rows * (dim + n_out);
    int rc = ppml_dtpkc_user_keygen(&u->mk, pp);
    if (rc == PPML_OK)
        rc = ppml_dtpkc_sk_precompute(u->mk);
    u->cts = rc == PPML_OK ? calloc(cnt ? cnt : 1, sizeof *u->cts) : NULL;
    int64_t *vals = u->cts ? malloc((cnt ? cnt : 1) * sizeof *vals) : NULL;
    if (rc == PPML_OK && (!u->cts || !vals))
        rc = PPML_ENOMEM;
    if (u->cts) {
        u->cnt = cnt;
        for (size_t q = 0; q < cnt; q++)
            ppml_dtpkc_ct_init(&u->cts[q]);
    }
    const ppml_dtpkc_pk *mpk = rc == PPML_OK ? ppml_dtpkc_sk_pk(u->mk) : NULL;
    for (size_t q = 0; q < cnt && rc == PPML_OK; q++)
        vals[q] = q < rows * dim ? X[lo * dim + q] : Y[lo * n_out + (q - rows * dim)];
    if (rc == PPML_OK)
        rc = ppml_dtpkc_encrypt_i64_many(mpk, u->cts, vals, cnt);
    if (vals)
        ppml_free_secret(vals, (cnt ? cnt : 1) * sizeof *vals); /* the MC's records */
    /* upload: signed Merkle root over the serialized ciphertexts */
    char dataset_id[96];
    ppmli_svm_dataset_id(dataset_id, task, mc_index);
    uint8_t root[32];
    if (rc == PPML_OK)
        rc = upload_root(root, mpk, u->cts, cnt);
    if (rc == PPML_OK)
        rc = ppml_upload_sign(u->sig, sign_sk, dataset_id, cnt, root);
    if (rc == PPML_OK)
        rc = ppml_proto_auth_sign(&u->auth, sign_sk, task, mpk, training, cnt);
    if (rc != PPML_OK)
        ppmli_svm_upload_clear(u);
    return rc;
}

int ppmli_svm_css_accept(ppml_proto_css *css, const ppml_dtpkc_partial_sk *sk1, const uint8_t sign_pk[32],
                         const uint8_t task[32], size_t mc_index, const ppmli_svm_upload *u, size_t lo,
                         size_t rows, size_t dim, size_t n_out, unsigned value_bits, mpz_t *EX, mpz_t *EY,
                         int root_verified)
{
    size_t cnt = u->cnt;
    if (cnt != rows * (dim + n_out))
        return PPML_EINVAL;
    const ppml_dtpkc_pk *mpk = ppmli_svm_upload_pk(u);
    int rc = PPML_OK;
    if (!root_verified) {
        char dataset_id[96];
        ppmli_svm_dataset_id(dataset_id, task, mc_index);
        uint8_t root[32];
        rc = upload_root(root, mpk, u->cts, cnt);
        if (rc == PPML_OK)
            rc = ppml_upload_verify(u->sig, sign_pk, dataset_id, cnt, root);
    }
    mpz_t *conv = rc == PPML_OK ? ppml_mpz_vec_new(cnt) : NULL;
    if (rc == PPML_OK && !conv)
        rc = PPML_ENOMEM;
    if (rc == PPML_OK)
        rc = ppml_proto_aggregate(css, conv, sk1, mpk, u->cts, cnt, value_bits, &u->auth);
    for (size_t q = 0; q < cnt && rc == PPML_OK; q++) {
        if (q < rows * dim)
            mpz_swap(EX[lo * dim + q], conv[q]);
        else
            mpz_swap(EY[lo * n_out + (q - rows * dim)], conv[q]);
    }
    ppml_mpz_vec_free(conv, cnt);
    return rc;
}

/* The DSP's decrypted weights (*w, taken) become *model; the report is copied out. */
static void model_take(ppml_svm_ref_fx_model *model, ppml_svm_run_report *report, const ppml_svm_run_report *rep,
                       size_t K, size_t n_out, size_t dim, unsigned frac_bits, int64_t **w)
{
    ppml_svm_ref_fx_model_clear(model);
    model->n_classes = K;
    model->n_out = n_out;
    model->dim = dim;
    model->frac_bits = frac_bits;
    model->w = *w;
    *w = NULL;
    if (report)
        *report = *rep;
}

int ppml_svm_run(ppml_svm_ref_fx_model *model, ppml_svm_run_report *report, const ppml_dataset *train,
                 const ppml_svm_ref_params *p, const ppml_svm_run_opts *o)
{
    if (!model || !train || !p || !o || train->n == 0 || train->n_classes < 2)
        return PPML_EINVAL;
    int rc = ppml_svm_ref_params_check(p);
    if (rc != PPML_OK)
        return rc;
    size_t mcs = o->mcs ? o->mcs : 2;
    unsigned bits = o->key_bits ? o->key_bits : 2048;
    double max_abs_x = o->max_abs_x > 0 ? o->max_abs_x : 8.0;
    if (mcs < 2 || mcs > train->n || max_abs_x > PPML_SVM_REF_FX_MAX_ABS_X)
        return PPML_EINVAL;
    for (size_t i = 0; i < train->n * train->d; i++)
        if (!(fabs(train->x[i]) <= max_abs_x))
            return PPML_ERANGE;
    size_t n = train->n, dim = train->d + 1, K = train->n_classes;
    size_t n_out = ppml_dataset_n_outputs(K, p->ovr_binary), kw = n_out * dim;
    ppml_svm_ref_fx_bounds bd;
    rc = ppml_svm_ref_fx_bounds_compute(&bd, p, n, dim, max_abs_x);
    if (rc != PPML_OK)
        return rc;
    ppml_svm_run_report rep;
    memset(&rep, 0, sizeof rep);

    /* 1. TA */
    uint64_t t0 = now_ns();
    ppml_paillier_sk *train_sk = NULL, *dsp_sk = NULL;
    ppml_dtpkc_params *pp = NULL;
    ppml_dtpkc_strong_sk *strong = NULL;
    ppml_dtpkc_partial_sk *sk1 = NULL, *sk2 = NULL;
    uint8_t (*sign_pk)[32] = calloc(mcs, 32);
    uint8_t (*sign_sk)[64] = calloc(mcs, 64);
    uint8_t task[32];
    ppml_randombytes(task, sizeof task);
    rc = (sign_pk && sign_sk) ? PPML_OK : PPML_ENOMEM;
    if (o->insecure_test_bits) {
        ppml_paillier_allow_insecure_test_keys(1);
        if (rc == PPML_OK)
            rc = ppml_paillier_keygen_insecure_for_tests(&train_sk, o->insecure_test_bits);
        if (rc == PPML_OK)
            rc = ppml_paillier_keygen_insecure_for_tests(&dsp_sk, o->insecure_test_bits);
        if (rc == PPML_OK)
            rc = ppml_dtpkc_keygen_insecure_for_tests(&pp, &strong, o->insecure_test_bits);
    } else {
        if (rc == PPML_OK)
            rc = ppml_paillier_keygen(&train_sk, bits);
        if (rc == PPML_OK)
            rc = ppml_paillier_keygen(&dsp_sk, bits);
        if (rc == PPML_OK)
            rc = ppml_dtpkc_keygen(&pp, &strong, bits, NULL, NULL);
    }
    if (rc == PPML_OK)
        rc = ppml_dtpkc_split(&sk1, &sk2, strong);
    for (size_t m = 0; m < mcs && rc == PPML_OK; m++)
        rc = ppml_sign_keypair(sign_pk[m], sign_sk[m]);
    rep.setup_ns = now_ns() - t0;
    memcpy(rep.task, task, sizeof rep.task);

    /* CSS as a service: the MCs and the DSP run here, CSS and CCS elsewhere */
    if (o->css) {
        int64_t *X = NULL;
        int8_t *Y = NULL;
        mpz_t *DW = NULL;
        int64_t *w = NULL;
        if (o->ccs || !o->ccs_public)
            rc = rc == PPML_OK ? PPML_EINVAL : rc;
        if (rc == PPML_OK) {
            X = calloc(n * dim, sizeof *X);
            Y = calloc(n * n_out, sizeof *Y);
            DW = ppml_mpz_vec_new(kw);
            w = calloc(kw, sizeof *w);
            if (!X || !Y || !DW || !w)
                rc = PPML_ENOMEM;
        }
        if (rc == PPML_OK)
            rc = ppml_svm_ref_fx_encode(X, n * dim, train, p->frac_bits);
        if (rc == PPML_OK)
            rc = ppml_dataset_labels_pm1(Y, n * n_out, train, n_out);
        ppmli_svm_ta ta = {train_sk, dsp_sk, pp, sk1, sk2, task, (const uint8_t(*)[32])sign_pk,
                           (const uint8_t(*)[64])sign_sk, mcs};
        if (rc == PPML_OK)
            rc = ppmli_svm_remote(&ta, o, p, n, dim, n_out, max_abs_x, X, Y, DW, &rep);
        t0 = now_ns();
        for (size_t i = 0; i < kw && rc == PPML_OK; i++)
            rc = ppml_paillier_decrypt_i64(dsp_sk, &w[i], DW[i]);
        rep.convert_ns += now_ns() - t0;
        if (rc == PPML_OK)
            model_take(model, report, &rep, K, n_out, dim, p->frac_bits, &w);
        if (w)
            ppml_free_secret(w, kw * sizeof *w);
        ppml_mpz_vec_free(DW, kw);
        if (X)
            ppml_free_secret(X, n * dim * sizeof *X);
        if (Y)
            ppml_free_secret(Y, n * n_out * sizeof *Y);
        goto free_keys;
    }

    /* CCS re-encrypts only to the DSP's key */
    const uint8_t(*dsp_id)[32] = (const uint8_t(*)[32])ppml_paillier_pk_id(ppml_paillier_sk_pk(dsp_sk));
    ppml_proto_ccs_keys keys = {train_sk, pp, sk2, (const uint8_t(*)[32])sign_pk, mcs, task, dsp_id, 1, 0};
    ppml_proto_opts popts = {0, o->threads ? o->threads : 1};
    ppml_channel *css_ch = o->ccs, *ccs_ch = NULL;
    ccs_thread_arg ccs_arg = {NULL, &keys, popts, PPML_OK};
    pthread_t th;
    int thread_started = 0;
    if (rc == PPML_OK && !css_ch) {
        rc = ppml_channel_pair_inproc(&css_ch, &ccs_ch, 0, 0);
        if (rc == PPML_OK) {
            ppml_channel_set_timeout(css_ch, PPML_TIMEOUT_INFINITE);
            ccs_arg.ch = ccs_ch;
            thread_started = pthread_create(&th, NULL, ccs_main, &ccs_arg) == 0;
            if (!thread_started)
                rc = PPML_ENOMEM;
        }
    } else if (rc == PPML_OK && o->ta_secret && o->ccs_public) {
        /* boxed from the TA's key: a CCS that trusts only its TA takes nothing else */
        uint8_t *boxed = NULL;
        size_t l_boxed = 0;
        rc = ppml_proto_ccs_box_keys(&boxed, &l_boxed, &keys, o->ccs_public, o->ta_public,
                                     o->ta_secret);
        if (rc == PPML_OK)
            rc = ppml_proto_ccs_provision_sealed(css_ch, boxed, l_boxed);
        free(boxed);
    } else if (rc == PPML_OK) {
        rc = ppml_proto_ccs_provision(css_ch, &keys);
    }
    ppml_proto_css *css = NULL;
    if (rc == PPML_OK)
        rc = ppml_proto_css_new(&css, css_ch, ppml_paillier_sk_pk(train_sk), &popts);

    /* 2. MCs upload; B1 */
    int64_t *X = calloc(n * dim, sizeof *X);
    int8_t *Y = calloc(n * n_out, sizeof *Y);
    mpz_t *EX = ppml_mpz_vec_new(n * dim), *EY = ppml_mpz_vec_new(n * n_out), *EW = ppml_mpz_vec_new(kw), *DW = ppml_mpz_vec_new(kw);
    if (rc == PPML_OK && !(X && Y && EX && EY && EW && DW))
        rc = PPML_ENOMEM;
    if (rc == PPML_OK)
        rc = ppml_svm_ref_fx_encode(X, n * dim, train, p->frac_bits);
    if (rc == PPML_OK)
        rc = ppml_dataset_labels_pm1(Y, n * n_out, train, n_out);
    for (size_t m = 0; m < mcs && rc == PPML_OK; m++) {
        size_t lo = n * m / mcs, hi = n * (m + 1) / mcs;
        ppmli_svm_upload u;
        uint64_t t1 = now_ns();
        rc = ppmli_svm_mc_prepare(&u, pp, sign_sk[m], task, m, X, Y, lo, hi, dim, n_out,
                                  ppml_paillier_sk_pk(train_sk));
        uint64_t t2 = now_ns();
        if (rc == PPML_OK)
            rc = ppmli_svm_css_accept(css, sk1, sign_pk[m], task, m, &u, lo, hi - lo, dim, n_out, bd.x_bits, EX, EY, 0);
        rep.upload_ns += t2 - t1;
        rep.aggregate_ns += now_ns() - t2;
        rep.uploaded += u.cnt;
        ppmli_svm_upload_clear(&u);
    }

    /* 3. training; conversion to the DSP's key; 4. DSP decrypts */
    t0 = now_ns();
    uint64_t c0 = cpu_ns();
    if (rc == PPML_OK)
        rc = ppml_svm_secure_train(css, EW, (const mpz_t *)EX, (const mpz_t *)EY, n, dim, n_out, p, max_abs_x,
                                   o->progress, o->progress_ctx);
    rep.train_ns = now_ns() - t0;
    rep.train_cpu_ns = cpu_ns() - c0;
    t0 = now_ns();
    if (rc == PPML_OK)
        rc = ppml_proto_convert(css, DW, ppml_paillier_sk_pk(dsp_sk), (const mpz_t *)EW, kw, bd.w_bits);
    int64_t *w = calloc(kw, sizeof *w);
    if (rc == PPML_OK && !w)
        rc = PPML_ENOMEM;
    for (size_t i = 0; i < kw && rc == PPML_OK; i++)
        rc = ppml_paillier_decrypt_i64(dsp_sk, &w[i], DW[i]);
    rep.convert_ns = now_ns() - t0;

    /* stop CCS */
    if (css) {
        int frc = ppml_proto_css_finish(css);
        if (rc == PPML_OK && frc != PPML_OK)
            rc = frc;
    }
    if (thread_started) {
        if (!css)
            ppml_channel_free(css_ch), css_ch = NULL; /* unblocks the CCS thread */
        pthread_join(th, NULL);
        if (rc == PPML_OK && ccs_arg.rc != PPML_OK)
            rc = ccs_arg.rc;
    }
    if (rc == PPML_OK)
        model_take(model, report, &rep, K, n_out, dim, p->frac_bits, &w);
    if (w)
        ppml_free_secret(w, kw * sizeof *w);
    ppml_proto_css_free(css);
    if (!o->ccs)
        ppml_channel_free(css_ch);
    ppml_channel_free(ccs_ch);
    ppml_mpz_vec_free(EX, n * dim);
    ppml_mpz_vec_free(EY, n * n_out);
    ppml_mpz_vec_free(EW, kw);
    ppml_mpz_vec_free(DW, kw);
    if (X)
        ppml_free_secret(X, n * dim * sizeof *X);
    if (Y)
        ppml_free_secret(Y, n * n_out * sizeof *Y);
free_keys:
    if (sign_sk)
        ppml_free_secret(sign_sk, mcs * 64);
    free(sign_pk);
    ppml_dtpkc_partial_free(sk1);
    ppml_dtpkc_partial_free(sk2);
    ppml_dtpkc_strong_free(strong);
    ppml_dtpkc_params_free(pp);
    ppml_paillier_sk_free(train_sk);
    ppml_paillier_sk_free(dsp_sk);
    return rc;
}
