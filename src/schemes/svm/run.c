/* Scheme S training end to end (ppml_svm_run): TA set-up, MC uploads with signed Merkle
 * roots, B1, secure training, conversion to the DSP's key. All parties run in this process
 * except, optionally, CCS (remote, over an authenticated encrypted channel).
 *
 * What each party receives: the TA nothing back; each MC its own keys; CSS SK1, the public
 * keys, the MCs' ciphertexts, roots and signatures, and block replies (ciphertexts); CCS its
 * keys and the blinded block requests (src/proto); the DSP the model under its key. */
#include "ppml/svm.h"

#include "ppml/merkle.h"
#include "ppml/mem.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

/* One MC: encrypt rows [lo, hi) (features then labels), sign the upload and the task
 * authorisation; CSS verifies the upload and runs B1. Writes into EX / EY. */
static int mc_upload(ppml_proto_css *css, const ppml_dtpkc_params *pp, const ppml_dtpkc_partial_sk *sk1,
                     const uint8_t sign_sk[64], const uint8_t sign_pk[32], const uint8_t task[32],
                     size_t mc_index, const int64_t *X, const int8_t *Y, size_t lo, size_t hi, size_t dim,
                     size_t n_out, unsigned value_bits, mpz_t *EX, mpz_t *EY, ppml_svm_run_report *rep)
{
    size_t rows = hi - lo, cnt = rows * (dim + n_out);
    uint64_t t0 = now_ns();
    ppml_dtpkc_sk *mk = NULL;
    int rc = ppml_dtpkc_user_keygen(&mk, pp);
    if (rc != PPML_OK)
        return rc;
    const ppml_dtpkc_pk *mpk = ppml_dtpkc_sk_pk(mk);
    ppml_dtpkc_ct *up = calloc(cnt ? cnt : 1, sizeof *up);
    mpz_t *conv = malloc((cnt ? cnt : 1) * sizeof(mpz_t));
    if (!up || !conv) {
        free(up);
        free(conv);
        ppml_dtpkc_sk_free(mk);
        return PPML_ENOMEM;
    }
    for (size_t q = 0; q < cnt; q++) {
        ppml_dtpkc_ct_init(&up[q]);
        mpz_init(conv[q]);
    }
    rc = ppml_dtpkc_sk_precompute(mk);
    int64_t *vals = rc == PPML_OK ? malloc((cnt ? cnt : 1) * sizeof *vals) : NULL;
    if (rc == PPML_OK && !vals)
        rc = PPML_ENOMEM;
    for (size_t q = 0; q < cnt && rc == PPML_OK; q++)
        vals[q] = q < rows * dim ? X[lo * dim + q] : Y[lo * n_out + (q - rows * dim)];
    if (rc == PPML_OK)
        rc = ppml_dtpkc_encrypt_i64_many(mpk, up, vals, cnt);
    if (vals)
        ppml_free_secret(vals, (cnt ? cnt : 1) * sizeof *vals); /* the MC's records */
    /* upload: signed Merkle root; CSS recomputes the root and verifies */
    char dataset_id[96];
    snprintf(dataset_id, sizeof dataset_id, "svm-task-%02x%02x%02x%02x/mc-%zu", task[0], task[1], task[2],
             task[3], mc_index);
    uint8_t root[32], sig[64], root_css[32];
    if (rc == PPML_OK)
        rc = upload_root(root, mpk, up, cnt);
    if (rc == PPML_OK)
        rc = ppml_upload_sign(sig, sign_sk, dataset_id, cnt, root);
    if (rc == PPML_OK)
        rc = upload_root(root_css, mpk, up, cnt);
    if (rc == PPML_OK)
        rc = ppml_upload_verify(sig, sign_pk, dataset_id, cnt, root_css);
    ppml_proto_auth auth;
    if (rc == PPML_OK)
        rc = ppml_proto_auth_sign(&auth, sign_sk, task, mpk, ppml_proto_css_pk(css), cnt);
    uint64_t t1 = now_ns();
    if (rc == PPML_OK)
        rc = ppml_proto_aggregate(css, conv, sk1, mpk, up, cnt, value_bits, &auth);
    rep->upload_ns += t1 - t0;
    rep->aggregate_ns += now_ns() - t1;
    rep->uploaded += cnt;
    for (size_t q = 0; q < cnt; q++) {
        if (rc == PPML_OK) {
            if (q < rows * dim)
                mpz_swap(EX[lo * dim + q], conv[q]);
            else
                mpz_swap(EY[lo * n_out + (q - rows * dim)], conv[q]);
        }
        ppml_dtpkc_ct_clear(&up[q]);
        mpz_clear(conv[q]);
    }
    free(up);
    free(conv);
    ppml_dtpkc_sk_free(mk);
    return rc;
}

static mpz_t *arr_new(size_t n)
{
    mpz_t *v = malloc((n ? n : 1) * sizeof(mpz_t));
    if (v)
        for (size_t i = 0; i < n; i++)
            mpz_init(v[i]);
    return v;
}

static void arr_free(mpz_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        mpz_clear(v[i]);
    free(v);
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

    ppml_proto_ccs_keys keys = {train_sk, pp, sk2, (const uint8_t(*)[32])sign_pk, mcs, task};
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
    } else if (rc == PPML_OK) {
        rc = ppml_proto_ccs_provision(css_ch, &keys);
    }
    ppml_proto_css *css = NULL;
    if (rc == PPML_OK)
        rc = ppml_proto_css_new(&css, css_ch, ppml_paillier_sk_pk(train_sk), &popts);

    /* 2. MCs upload; B1 */
    int64_t *X = calloc(n * dim, sizeof *X);
    int8_t *Y = calloc(n * n_out, sizeof *Y);
    mpz_t *EX = arr_new(n * dim), *EY = arr_new(n * n_out), *EW = arr_new(kw), *DW = arr_new(kw);
    if (rc == PPML_OK && !(X && Y && EX && EY && EW && DW))
        rc = PPML_ENOMEM;
    if (rc == PPML_OK)
        rc = ppml_svm_ref_fx_encode(X, n * dim, train, p->frac_bits);
    if (rc == PPML_OK)
        rc = ppml_dataset_labels_pm1(Y, n * n_out, train, n_out);
    for (size_t m = 0; m < mcs && rc == PPML_OK; m++)
        rc = mc_upload(css, pp, sk1, sign_sk[m], sign_pk[m], task, m, X, Y, n * m / mcs, n * (m + 1) / mcs, dim,
                       n_out, bd.x_bits, EX, EY, &rep);

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
    if (rc == PPML_OK) {
        ppml_svm_ref_fx_model_clear(model);
        model->n_classes = K;
        model->n_out = n_out;
        model->dim = dim;
        model->frac_bits = p->frac_bits;
        model->w = w;
        w = NULL;
        if (report)
            *report = rep;
    }
    if (w)
        ppml_free_secret(w, kw * sizeof *w);
    ppml_proto_css_free(css);
    if (!o->ccs)
        ppml_channel_free(css_ch);
    ppml_channel_free(ccs_ch);
    arr_free(EX, n * dim);
    arr_free(EY, n * n_out);
    arr_free(EW, kw);
    arr_free(DW, kw);
    if (X)
        ppml_free_secret(X, n * dim * sizeof *X);
    if (Y)
        ppml_free_secret(Y, n * n_out * sizeof *Y);
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
