/* Secure OvR SVM training (scheme S) on wine: two MCs upload DT-PKC ciphertexts, B1 moves
 * them to the training key under their signed authorisations, CSS and CCS train, the model
 * is converted to the DSP's key; the DSP's model is the fixed-point reference's up to the
 * certified truncation error, with the same test predictions. */
#include "test.h"

#include "ppml/channel.h"
#include "ppml/dataset.h"
#include "ppml/dtpkc.h"
#include "ppml/paillier.h"
#include "ppml/proto.h"
#include "ppml/svm.h"
#include "ppml/svm_ref.h"

#include <pthread.h>
#include <sodium.h>

#define MAX_ABS_X 8.0

static ppml_proto_ccs_keys keys;

static void *ccs_thread(void *p)
{
    ppml_channel *ch = p;
    ppml_proto_opts o = {0, 2};
    int rc = ppml_proto_ccs_serve_keys(ch, &keys, &o, 120000);
    if (rc != PPML_OK)
        fprintf(stderr, "CCS: %s\n", ppml_strerror(rc));
    return NULL;
}

/* The identity train.c uses instead of two secure multiplications: with y = +-1 and
 * T = 2^(2f) - 1, u = [T - yP >= 0] and c = u y equal b + (y - 1)/2 with
 * b = [y (2T + 1) - 2P - 1 >= 0], at and around the hinge's edges and elsewhere. */
static void test_hinge_identity(void)
{
    const int64_t T = ((int64_t)1 << 48) - 1;
    int64_t ps[] = {0, 1, -1, T, -T, T + 1, -T - 1, T - 1, -T + 1, T + 2, -T - 2, 3 * T, -3 * T};
    for (int y = -1; y <= 1; y += 2)
        for (int q = 0; q < 13 + 200; q++) {
            int64_t P = q < 13 ? ps[q] : (int64_t)ppml_rand_below((uint64_t)1 << 52) - ((int64_t)1 << 51);
            int64_t u = (T - y * P) >= 0, c = u * y;
            int64_t b = ((int64_t)y * (2 * T + 1) - 2 * P - 1) >= 0;
            CHECK(c == b + (y - 1) / 2);
        }
}

int main(void)
{
    test_init();
    test_hinge_identity();
    test_seed(5);
    ppml_paillier_allow_insecure_test_keys(1);

    /* data: wine, stratified split, standardised on the training split, clipped */
    ppml_dataset ds, train, test;
    ppml_dataset_init(&ds);
    ppml_dataset_init(&train);
    ppml_dataset_init(&test);
    char err[PPML_ERR_LEN];
    CHECK_OK(ppml_dataset_load_csv(&ds, "data/wine.csv", NULL, err));
    uint8_t seed[PPML_SEED_BYTES] = {3};
    ppml_prg prg;
    ppml_prg_init(&prg, seed, 0);
    CHECK_OK(ppml_dataset_split(&train, &test, &ds, 0.3, &prg));
    if (test_sanitized()) { /* a smaller training set under the sanitizers */
        size_t idx[36];
        for (size_t i = 0; i < 36; i++)
            idx[i] = i;
        ppml_dataset small;
        ppml_dataset_init(&small);
        CHECK_OK(ppml_dataset_select(&small, &train, idx, 36));
        ppml_dataset_clear(&train);
        train = small;
    }
    ppml_scaler sc;
    ppml_scaler_init(&sc);
    CHECK_OK(ppml_scaler_fit(&sc, &train));
    CHECK_OK(ppml_scaler_apply(&sc, &train));
    CHECK_OK(ppml_scaler_apply(&sc, &test));
    CHECK_OK(ppml_dataset_clip(&train, MAX_ABS_X));
    CHECK_OK(ppml_dataset_clip(&test, MAX_ABS_X));
    ppml_scaler_clear(&sc);

    ppml_svm_ref_params p;
    ppml_svm_ref_params_default(&p);
    p.epochs = test_sanitized() ? 1 : 2;
    size_t n = train.n, dim = train.d + 1, K = train.n_classes;
    size_t n_out = ppml_dataset_n_outputs(K, p.ovr_binary);

    /* the plaintext fixed-point reference */
    ppml_svm_ref_fx_model ref;
    ppml_svm_ref_fx_stats stats;
    ppml_svm_ref_fx_model_init(&ref);
    CHECK_OK(ppml_svm_ref_fx_train(&ref, &stats, &train, &p, NULL));
    ppml_svm_ref_fx_bounds bd;
    CHECK_OK(ppml_svm_ref_fx_bounds_compute(&bd, &p, n, dim, MAX_ABS_X));

    /* TA: keys */
    ppml_paillier_sk *train_sk = NULL, *dsp_sk = NULL;
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&train_sk, 1024));
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&dsp_sk, 1024));
    const ppml_paillier_pk *tpk = ppml_paillier_sk_pk(train_sk);
    ppml_dtpkc_params *pp = NULL;
    ppml_dtpkc_strong_sk *strong = NULL;
    ppml_dtpkc_partial_sk *sk1 = NULL, *sk2 = NULL;
    CHECK_OK(ppml_dtpkc_keygen_insecure_for_tests(&pp, &strong, 512));
    CHECK_OK(ppml_dtpkc_split(&sk1, &sk2, strong));
    uint8_t sign_pk[2][32], sign_sk[2][64], task[32];
    for (int m = 0; m < 2; m++)
        crypto_sign_keypair(sign_pk[m], sign_sk[m]);
    ppml_randombytes(task, 32);
    /* CCS converts only to the DSP's key */
    keys = (ppml_proto_ccs_keys){train_sk, pp,   sk2, (const uint8_t(*)[32])sign_pk, 2, task,
                                 (const uint8_t(*)[32])ppml_paillier_pk_id(ppml_paillier_sk_pk(dsp_sk)), 1, 0};

    ppml_channel *a, *b;
    CHECK_OK(ppml_channel_pair_inproc(&a, &b, 0, 0));
    ppml_channel_set_timeout(a, 120000);
    pthread_t th;
    pthread_create(&th, NULL, ccs_thread, b);
    ppml_proto_css *css = NULL;
    ppml_proto_opts o = {0, 2};
    CHECK_OK(ppml_proto_css_new(&css, a, tpk, &o));

    /* MCs: encode, encrypt under their own DT-PKC keys, authorise; CSS runs B1 */
    int64_t *X = calloc(n * dim, sizeof *X);
    int8_t *Y = calloc(n * n_out, sizeof *Y);
    CHECK_OK(ppml_svm_ref_fx_encode(X, n * dim, &train, p.frac_bits));
    CHECK_OK(ppml_dataset_labels_pm1(Y, n * n_out, &train, n_out));
    mpz_t *EX = malloc(n * dim * sizeof(mpz_t)), *EY = malloc(n * n_out * sizeof(mpz_t));
    for (size_t i = 0; i < n * dim; i++)
        mpz_init(EX[i]);
    for (size_t i = 0; i < n * n_out; i++)
        mpz_init(EY[i]);
    size_t half = n / 2;
    for (int m = 0; m < 2; m++) {
        size_t lo = m ? half : 0, hi = m ? n : half, rows = hi - lo;
        size_t cnt = rows * (dim + n_out);
        ppml_dtpkc_sk *mk = NULL;
        CHECK_OK(ppml_dtpkc_user_keygen(&mk, pp));
        const ppml_dtpkc_pk *mpk = ppml_dtpkc_sk_pk(mk);
        ppml_dtpkc_ct *up = calloc(cnt, sizeof *up);
        mpz_t *conv = malloc(cnt * sizeof(mpz_t));
        for (size_t q = 0; q < cnt; q++) {
            ppml_dtpkc_ct_init(&up[q]);
            mpz_init(conv[q]);
            int64_t v = q < rows * dim ? X[lo * dim + q] : Y[lo * n_out + (q - rows * dim)];
            CHECK_OK(ppml_dtpkc_encrypt_i64(mpk, &up[q], v));
        }
        ppml_proto_auth auth;
        CHECK_OK(ppml_proto_auth_sign(&auth, sign_sk[m], task, mpk, tpk, cnt));
        CHECK_OK(ppml_proto_aggregate(css, conv, sk1, mpk, up, cnt, bd.x_bits, &auth));
        for (size_t q = 0; q < cnt; q++) {
            if (q < rows * dim)
                mpz_swap(EX[lo * dim + q], conv[q]);
            else
                mpz_swap(EY[lo * n_out + (q - rows * dim)], conv[q]);
            ppml_dtpkc_ct_clear(&up[q]);
            mpz_clear(conv[q]);
        }
        free(up);
        free(conv);
        ppml_dtpkc_sk_free(mk);
    }

    /* training, then conversion of the model to the DSP's key */
    size_t kw = n_out * dim;
    mpz_t *EW = malloc(kw * sizeof(mpz_t)), *DW = malloc(kw * sizeof(mpz_t));
    for (size_t i = 0; i < kw; i++) {
        mpz_init(EW[i]);
        mpz_init(DW[i]);
    }
    CHECK_OK(ppml_svm_secure_train(css, EW, (const mpz_t *)EX, (const mpz_t *)EY, n, dim, n_out, &p, MAX_ABS_X,
                                   NULL, NULL));
    CHECK_OK(ppml_proto_convert(css, DW, ppml_paillier_sk_pk(dsp_sk), (const mpz_t *)EW, kw, bd.w_bits));
    /* to any other key (here: CSS's own, which would let it strip its blinding): refused */
    ppml_paillier_sk *own = NULL;
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&own, 1024));
    mpz_t *stolen = malloc(kw * sizeof(mpz_t));
    for (size_t i = 0; i < kw; i++)
        mpz_init(stolen[i]);
    CHECK_ERR(ppml_proto_convert(css, stolen, ppml_paillier_sk_pk(own), (const mpz_t *)EW, kw, bd.w_bits),
              PPML_EVERIFY); /* CCS's reason comes back */
    for (size_t i = 0; i < kw; i++)
        mpz_clear(stolen[i]);
    free(stolen);
    ppml_paillier_sk_free(own);
    CHECK_OK(ppml_proto_css_finish(css));
    pthread_join(th, NULL);

    /* DSP decrypts; compare with the reference */
    ppml_svm_ref_fx_model sec;
    ppml_svm_ref_fx_model_init(&sec);
    sec.n_classes = K;
    sec.n_out = n_out;
    sec.dim = dim;
    sec.frac_bits = p.frac_bits;
    sec.w = calloc(kw, sizeof *sec.w);
    for (size_t i = 0; i < kw; i++)
        CHECK_OK(ppml_paillier_decrypt_i64(dsp_sk, &sec.w[i], DW[i]));
    uint64_t diff = UINT64_MAX;
    CHECK_OK(ppml_svm_ref_fx_max_diff(&diff, &sec, &ref));
    printf("secure vs reference: max |dW| = %llu ulps (certified bound %llu, steps %llu)\n",
           (unsigned long long)diff, (unsigned long long)stats.error_bound, (unsigned long long)stats.steps);
    CHECK(diff <= stats.error_bound);
    uint32_t *p1 = calloc(test.n, sizeof *p1), *p2 = calloc(test.n, sizeof *p2);
    CHECK_OK(ppml_svm_ref_fx_predict(p1, test.n, &ref, &test));
    CHECK_OK(ppml_svm_ref_fx_predict(p2, test.n, &sec, &test));
    size_t same = 0;
    for (size_t i = 0; i < test.n; i++)
        same += p1[i] == p2[i];
    CHECK(same == test.n);
    printf("test predictions equal: %zu/%zu, accuracy %.3f\n", same, test.n, ppml_accuracy(p2, test.y, test.n));

    free(p1);
    free(p2);
    ppml_svm_ref_fx_model_clear(&sec);
    ppml_svm_ref_fx_model_clear(&ref);
    for (size_t i = 0; i < kw; i++) {
        mpz_clear(EW[i]);
        mpz_clear(DW[i]);
    }
    for (size_t i = 0; i < n * dim; i++)
        mpz_clear(EX[i]);
    for (size_t i = 0; i < n * n_out; i++)
        mpz_clear(EY[i]);
    free(EW);
    free(DW);
    free(EX);
    free(EY);
    free(X);
    free(Y);
    ppml_proto_css_free(css);
    ppml_channel_free(a);
    ppml_channel_free(b);
    ppml_dtpkc_partial_free(sk1);
    ppml_dtpkc_partial_free(sk2);
    ppml_dtpkc_strong_free(strong);
    ppml_dtpkc_params_free(pp);
    ppml_paillier_sk_free(train_sk);
    ppml_paillier_sk_free(dsp_sk);
    ppml_dataset_clear(&ds);
    ppml_dataset_clear(&train);
    ppml_dataset_clear(&test);
    return test_finish("test_svm_secure");
}
