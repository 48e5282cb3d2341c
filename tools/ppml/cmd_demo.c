/* ppml demo: the whole of scheme S on bundled data, in one process.
 *   1. TA set-up, MCs upload (DT-PKC, signed Merkle roots), B1, secure training on CSS/CCS,
 *      model converted to the DSP's key (ppml_svm_run);
 *   2. plaintext references on the same split: fixed-point (same arithmetic) and float SVM;
 *   3. the DSP outsources the securely trained model; every test record is diagnosed
 *      encrypted (BFV request, permuted blinded argmax) and compared with the plaintext argmax
 *      of the same model;
 *   4. a table of accuracies and of the time each party spent per phase. */
#include "cli.h"
#include "ppml/dataset.h"
#include "ppml/diagnosis.h"
#include "ppml/svm.h"
#include "ppml/svm_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    printf("usage: ppml demo [--data FILE.csv] [--mcs K] [--epochs E] [--key-bits 2048|3072]\n"
           "                 [--threads T] [--seed S] [--max-test N]\n\n"
           "Runs scheme S end to end on a CSV dataset (default data/wine.csv):\n"
           "TA set-up, K medical centres (default 3) upload encrypted records, CSS and CCS train\n"
           "a one-vs-rest linear SVM on ciphertexts, the DSP receives the model under its key and\n"
           "outsources it, then every test record is diagnosed encrypted. Prints accuracies of the\n"
           "secure, fixed-point and float models, agreement of encrypted diagnosis with the\n"
           "plaintext argmax, and the time each party spent per phase.\n\n"
           "  --data FILE     CSV with a header row and a 'label' column (default data/wine.csv)\n"
           "  --mcs K         medical centres, 2..16 (default 3)\n"
           "  --epochs E      training epochs, 1..200 (default 20, as ppml svm train)\n"
           "  --key-bits B    Paillier/DT-PKC modulus, 2048 or 3072 (default 2048)\n"
           "  --threads T     threads per server, 1..64 (default 2)\n"
           "  --seed S        train/test split seed, 0..255 (default 1)\n"
           "  --max-test N    diagnose at most N test records (default all)\n");
    return 0;
}

static void epoch_progress(void *ctx, unsigned epoch, unsigned epochs)
{
    uint64_t t0 = *(uint64_t *)ctx;
    double el = (cli_now_ns() - t0) / 1e9;
    double eta = epoch ? el / epoch * (epochs - epoch) : 0;
    if (cli_progress_enabled())
        cli_progress("secure training: epoch %u/%u, %.1f s elapsed, ETA %.0f s", epoch, epochs, el, eta);
    else
        fprintf(stderr, "secure training: epoch %u/%u (%.1f s)\n", epoch, epochs, el);
}

static double acc_of(const uint32_t *pred, const ppml_dataset *ds) { return ppml_accuracy(pred, ds->y, ds->n); }

int cmd_demo(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return usage();
    const char *data = "data/wine.csv";
    uint64_t mcs = 3, epochs = 20, bits = 2048, threads = 2, seed = 1, max_test = UINT64_MAX;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--data")) {
            if (!(data = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--mcs")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64("--mcs", v, 2, 16, &mcs))
                return 1;
        } else if (!strcmp(argv[i], "--epochs")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64("--epochs", v, 1, 200, &epochs))
                return 1;
        } else if (!strcmp(argv[i], "--key-bits")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64("--key-bits", v, 2048, 3072, &bits))
                return 1;
            if (bits != 2048 && bits != 3072)
                return cli_error("--key-bits: expected 2048 or 3072");
        } else if (!strcmp(argv[i], "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64("--threads", v, 1, 64, &threads))
                return 1;
        } else if (!strcmp(argv[i], "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64("--seed", v, 0, 255, &seed))
                return 1;
        } else if (!strcmp(argv[i], "--max-test")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64("--max-test", v, 1, 1u << 30, &max_test))
                return 1;
        } else {
            return cli_error("unknown option '%s' (see ppml demo --help)", argv[i]);
        }
    }

    char err[PPML_ERR_LEN];
    ppml_dataset ds, train, test;
    ppml_scaler sc;
    ppml_svm_ref_model flt;
    ppml_svm_ref_fx_model fx, sec;
    ppml_diag_model dm;
    ppml_diag_system *sys = NULL;
    uint32_t *pred = NULL, *pred_plain = NULL;
    ppml_dataset_init(&ds);
    ppml_dataset_init(&train);
    ppml_dataset_init(&test);
    ppml_scaler_init(&sc);
    ppml_svm_ref_model_init(&flt);
    ppml_svm_ref_fx_model_init(&fx);
    ppml_svm_ref_fx_model_init(&sec);
    ppml_diag_model_init(&dm);
    int rc = 1, e;

    if ((e = ppml_dataset_load_csv(&ds, data, NULL, err))) {
        cli_error("%s", err);
        goto out;
    }
    uint8_t sb[PPML_SEED_BYTES] = {(uint8_t)seed};
    ppml_prg prg;
    ppml_prg_init(&prg, sb, 0);
    e = ppml_dataset_split(&train, &test, &ds, 0.3, &prg);
    ppml_prg_clear(&prg);
    /* Standardise on the training split; clip to the public bound the servers size their
     * blinding for (the same clipped data feeds every model, so the comparison is fair). */
    const double x_bound = 8.0;
    if (!e && !(e = ppml_scaler_fit(&sc, &train)) && !(e = ppml_scaler_apply(&sc, &train)) &&
        !(e = ppml_scaler_apply(&sc, &test)) && !(e = ppml_dataset_clip(&train, x_bound)))
        e = ppml_dataset_clip(&test, x_bound);
    if (e) {
        cli_error("preparing %s: %s", data, ppml_strerror(e));
        goto out;
    }
    if (train.n < mcs) {
        cli_error("%s: %zu training rows cannot be split among %llu medical centres", data, train.n,
                  (unsigned long long)mcs);
        goto out;
    }
    size_t n_test = test.n < max_test ? test.n : (size_t)max_test;
    printf("ppml demo — scheme S on %s: %zu records, %zu features, %zu classes; train %zu, test %zu\n",
           data, ds.n, ds.d, ds.n_classes, train.n, test.n);
    printf("Paillier/DT-PKC %llu-bit keys, %llu medical centres, %llu epochs, %llu threads per server\n\n",
           (unsigned long long)bits, (unsigned long long)mcs, (unsigned long long)epochs,
           (unsigned long long)threads);
    fflush(stdout);

    ppml_svm_ref_params sp;
    ppml_svm_ref_params_default(&sp);
    sp.epochs = (unsigned)epochs;

    /* Plaintext references. */
    uint64_t t0 = cli_now_ns();
    if ((e = ppml_svm_ref_train(&flt, &train, &sp, NULL, NULL)) ||
        (e = ppml_svm_ref_fx_train(&fx, NULL, &train, &sp, NULL))) {
        cli_error("plaintext reference training failed: %s", ppml_strerror(e));
        goto out;
    }
    uint64_t ref_ns = cli_now_ns() - t0;

    /* Secure training. */
    ppml_svm_run_opts so;
    memset(&so, 0, sizeof so);
    so.key_bits = (unsigned)bits;
    so.mcs = mcs;
    so.threads = (unsigned)threads;
    so.max_abs_x = x_bound;
    uint64_t train_t0 = cli_now_ns();
    so.progress = epoch_progress;
    so.progress_ctx = &train_t0;
    ppml_svm_run_report rep;
    memset(&rep, 0, sizeof rep);
    fprintf(stderr, "TA set-up (Paillier training key, DT-PKC safe primes, split strong key)...\n");
    if ((e = ppml_svm_run(&sec, &rep, &train, &sp, &so))) {
        cli_error("secure training failed: %s", ppml_strerror(e));
        goto out;
    }
    if (cli_progress_enabled())
        fputs("\n", stderr);

    pred = calloc(test.n ? test.n : 1, sizeof *pred);
    pred_plain = calloc(test.n ? test.n : 1, sizeof *pred_plain);
    if (!pred || !pred_plain) {
        cli_error("out of memory");
        goto out;
    }
    double acc_float, acc_fixed, acc_secure;
    if ((e = ppml_svm_ref_predict(pred, test.n, &flt, &test)))
        goto pred_fail;
    acc_float = acc_of(pred, &test);
    if ((e = ppml_svm_ref_fx_predict(pred, test.n, &fx, &test)))
        goto pred_fail;
    acc_fixed = acc_of(pred, &test);
    if ((e = ppml_svm_ref_fx_predict(pred, test.n, &sec, &test)))
        goto pred_fail;
    acc_secure = acc_of(pred, &test);
    uint64_t wdiff = 0;
    if ((e = ppml_svm_ref_fx_max_diff(&wdiff, &sec, &fx)))
        goto pred_fail;

    /* Encrypted diagnosis with the securely trained model. */
    ppml_diag_config cfg;
    ppml_diag_config_default(&cfg);
    fprintf(stderr, "diagnosis set-up (CCS BFV keys, n = %zu%s; user key; DSP outsources the "
            "model)...\n", cfg.bfv_n, cfg.circuit_private ? ", CSS floods the noise CCS sees" : "");
    uint64_t setup_t0 = cli_now_ns();
    if ((e = ppml_diag_model_from_fx(&dm, &sec, cfg.frac_w)) || (e = ppml_diag_system_new(&sys, &cfg, &dm))) {
        cli_error("diagnosis set-up failed: %s", ppml_strerror(e));
        goto out;
    }
    uint64_t diag_setup_ns = cli_now_ns() - setup_t0;
    ppml_diag_stats st;
    memset(&st, 0, sizeof st);
    size_t agree = 0, correct = 0;
    int64_t X[PPML_DIAG_MAX_DIM];
    for (size_t i = 0; i < n_test; i++) {
        uint32_t cls, best;
        size_t nb;
        const double *x = test.x + i * test.d;
        if ((e = ppml_diag_system_diagnose(sys, &cls, x, test.d, &st)) ||
            (e = ppml_diag_encode_x(X, dm.dim, x, test.d, &cfg)) ||
            (e = ppml_diag_model_plain_scores(NULL, &best, &nb, &dm, X))) {
            cli_error("diagnosis of test record %zu failed: %s", i, ppml_strerror(e));
            goto out;
        }
        /* With a tie (nb > 1) any tied class is a correct answer of the plaintext argmax. */
        int64_t scores[PPML_DIAG_MAX_CLASSES];
        if ((e = ppml_diag_model_plain_scores(scores, &best, &nb, &dm, X)))
            goto pred_fail;
        int64_t top = scores[best];
        agree += scores[cls] == top;
        correct += cls == test.y[i];
        if (cli_progress_enabled())
            cli_progress("encrypted diagnosis: %zu/%zu", i + 1, n_test);
    }
    if (cli_progress_enabled())
        fputs("\n", stderr);

    printf("%-44s %s\n", "model", "test accuracy");
    printf("%-44s %6.2f %%\n", "float SVM (plaintext)", 100 * acc_float);
    printf("%-44s %6.2f %%\n", "fixed-point SVM (plaintext, same arithmetic)", 100 * acc_fixed);
    printf("%-44s %6.2f %%\n", "secure SVM (trained on ciphertexts)", 100 * acc_secure);
    printf("%-44s %6.2f %%  (%zu records)\n", "encrypted diagnosis with the secure model",
           100.0 * (double)correct / (double)(n_test ? n_test : 1), n_test);
    printf("encrypted diagnosis = plaintext argmax of the same model: %zu/%zu\n", agree, n_test);
    printf("secure vs fixed-point weights: max difference %llu ulps (2^-%u)\n\n",
           (unsigned long long)wdiff, sp.frac_bits);

    printf("%-12s %-44s %12s\n", "phase", "party: work", "seconds");
    printf("%-12s %-44s %12.3f\n", "reference", "analyst: float + fixed-point training", ref_ns / 1e9);
    printf("%-12s %-44s %12.3f\n", "set-up", "TA: Paillier, DT-PKC keys, split, MC keys", rep.setup_ns / 1e9);
    printf("%-12s %-44s %12.3f\n", "upload", "MCs: encrypt, Merkle root, sign; CSS: verify", rep.upload_ns / 1e9);
    printf("%-12s %-44s %12.3f\n", "aggregate", "CSS + CCS: B1 to the training key", rep.aggregate_ns / 1e9);
    printf("%-12s %-44s %12.3f\n", "training", "CSS + CCS: secure gradient descent", rep.train_ns / 1e9);
    printf("%-12s %-44s %12.3f\n", "conversion", "CSS + CCS + DSP: model to the DSP's key", rep.convert_ns / 1e9);
    printf("%-12s %-44s %12.3f\n", "outsourcing", "CCS keys, DSP encrypts model for CSS", diag_setup_ns / 1e9);
    double q = (double)(st.queries ? st.queries : 1);
    printf("%-12s %-44s %12.3f  (%.2f ms per query)\n", "diagnosis", "users: encode, encrypt, decrypt", st.user_ns / 1e9,
           st.user_ns / q / 1e6);
    printf("%-12s %-44s %12.3f  (%.2f ms per query)\n", "diagnosis", "CSS: inner products, blinding, unpermute",
           st.css_ns / 1e9, st.css_ns / q / 1e6);
    printf("%-12s %-44s %12.3f  (%.2f ms per query)\n", "diagnosis", "CCS: decrypt signs, one-hot result",
           st.ccs_ns / 1e9, st.ccs_ns / q / 1e6);
    printf("bytes per query: user->CSS %.0f, CSS->user %.0f, CSS->CCS %.0f, CCS->CSS %.0f\n",
           st.bytes_up / q, st.bytes_down / q, st.bytes_css_ccs / q, st.bytes_ccs_css / q);
    rc = agree == n_test ? 0 : 1;
    if (rc)
        cli_error("encrypted diagnosis disagreed with the plaintext argmax on %zu records", n_test - agree);
    goto out;
pred_fail:
    cli_error("prediction failed: %s", ppml_strerror(e));
out:
    free(pred);
    free(pred_plain);
    ppml_diag_system_free(sys);
    ppml_diag_model_clear(&dm);
    ppml_svm_ref_fx_model_clear(&sec);
    ppml_svm_ref_fx_model_clear(&fx);
    ppml_svm_ref_model_clear(&flt);
    ppml_scaler_clear(&sc);
    ppml_dataset_clear(&test);
    ppml_dataset_clear(&train);
    ppml_dataset_clear(&ds);
    return rc;
}
