/* ppml diagnose: the user side of scheme S's encrypted diagnosis (DESIGN §4.4), with the
 * DSP, CSS and CCS run in-process (ppml/diagnosis.h). The DSP's model is the fixed-point
 * one-vs-rest SVM trained (svm_ref) on the training split of --data; the symptom vector is
 * a test row (--row) or given in raw units (--x), standardised with the training scaler.
 * Without --css the servers run in-process; with --css the user queries a running
 * `ppml serve diag-css` (whose CCS is a running `ppml serve diag-ccs`), and
 * `ppml diagnose outsource` is the DSP's step: train, encrypt the model under CCS's key. */
#include "cli.h"
#include "diag_cli.h"
#include "svm_cli.h"
#include "ppml/channel.h"
#include "ppml/serial.h"
#include "ppml/dataset.h"
#include "ppml/diagnosis.h"
#include "ppml/svm_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <sodium.h>
#include <time.h>

static int usage(void)
{
    printf("usage: ppml diagnose --data FILE.csv (--row N | --x v1,...,vd | --all) [--seed S]\n"
           "                     [--paillier-result] [--css-rotations] [--no-circuit-private]\n"
           "                     [--test-keys]\n"
           "       ppml diagnose --css ADDR --css-key PREFIX.pub --ccs-public FILE --x v1,...,vd\n"
           "                     [--scaler FILE] [--timeout S] [--test-keys] [--no-circuit-private]\n"
           "       ppml diagnose outsource --data FILE.csv --ccs-public FILE --out MODEL\n"
           "                     [--scaler FILE] [--seed S] [--test-keys] [--no-circuit-private]\n"
           "Encrypted diagnosis: the user encrypts its symptom vector (BFV, under CCS's key),\n"
           "CSS computes the K scores on the encrypted model, CSS and CCS run a one-round\n"
           "permuted, blinded argmax, and the class comes back under the user's own key.\n"
           "Servers run in-process (threads of this process); `ppml serve` is not available.\n"
           "  --data FILE   CSV with a header and a 'label' column; 70/30 stratified split,\n"
           "                the DSP's model is trained on the 70 %%\n"
           "  --row N       diagnose test row N\n"
           "  --x LIST      diagnose this symptom vector (comma-separated, raw units)\n"
           "  --all         diagnose every test row; print agreement with the plaintext model\n"
           "  --seed S      split seed (default 1)\n"
           "  --paillier-result  class returned under the user's 2048-bit Paillier key\n"
           "                instead of the user's own BFV key (n = 2048, the default)\n"
           "  --css-rotations    CSS sums the inner products with log2(D) rotations (the\n"
           "                DESIGN sketch) instead of letting CCS sum zero-sum-masked blocks\n"
           "  --no-circuit-private  BFV n = 8192 without noise flooding: about 2.6x less\n"
           "                work, but CCS's decryptions then show the noise of CSS's products,\n"
           "                which depends on the model and the symptoms. By default CSS floods\n"
           "                that noise (n = 16384) so that CCS learns nothing from it.\n"
           "                With --css / outsource: accept CCS material made without it\n"
           "  --test-keys   small insecure keys (n = 4096 BFV, 512-bit Paillier): tests only;\n"
           "                with --css / outsource: accept CCS material made with them\n"
           "Networked (servers: ppml serve diag-ccs / diag-css, see ppml serve --help):\n"
           "  --css ADDR    query the CSS server at ADDR (e.g. tcp://127.0.0.1:7100); its CURVE\n"
           "                public key is --css-key; CCS's public material (written by diag-ccs)\n"
           "                is --ccs-public. Prints the class index.\n"
           "  --scaler FILE the DSP's feature scaler (from outsource --scaler): --x is then in\n"
           "                raw units; without it --x is taken as already standardised\n"
           "  --timeout S   seconds to wait for CSS's answer (default 120)\n"
           "outsource      the DSP: trains the model on the 70 %% split of --data (as above),\n"
           "                encrypts it under CCS's key and writes it to --out (for diag-css);\n"
           "                --scaler FILE also writes the feature scaler for users\n");
    return 0;
}

static int parse_x(double *x, size_t d, const char *s)
{
    size_t i = 0;
    const char *p = s;
    while (*p && i < d) {
        char *end;
        x[i++] = strtod(p, &end);
        if (end == p)
            return -1;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return -1;
    }
    return (i == d && !*p) ? 0 : -1;
}

static const unsigned test_bits[] = {60, 60, 60, 60};

/* The DSP's model: 70/30 stratified split of ds (seeded), scaler fitted on the training
 * split and applied to both, svm_ref fixed-point training. */
static int train_dsp(ppml_svm_ref_fx_model *fx, ppml_dataset *train, ppml_dataset *test,
                     ppml_scaler *sc, const ppml_dataset *ds, uint64_t seed)
{
    uint8_t sb[PPML_SEED_BYTES] = {(uint8_t)seed};
    ppml_prg prg;
    ppml_prg_init(&prg, sb, 0);
    int e = ppml_dataset_split(train, test, ds, 0.3, &prg);
    ppml_prg_clear(&prg);
    if (!e && !(e = ppml_scaler_fit(sc, train)) && !(e = ppml_scaler_apply(sc, train)))
        e = ppml_scaler_apply(sc, test);
    ppml_svm_ref_params sp;
    ppml_svm_ref_params_default(&sp);
    if (!e)
        e = ppml_svm_ref_fx_train(fx, NULL, train, &sp, NULL);
    return e;
}

/* ppml diagnose outsource: the DSP trains, encrypts its model under CCS's key for CSS. */
static int diagnose_outsource(int argc, char **argv)
{
    const char *data = NULL, *pub = NULL, *outp = NULL, *scaler = NULL;
    uint64_t seed = 1;
    int test_keys = 0, unflooded = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--data")) {
            if (!(data = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--ccs-public")) {
            if (!(pub = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--out")) {
            if (!(outp = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--scaler")) {
            if (!(scaler = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64("--seed", v, 0, 255, &seed))
                return 1;
        } else if (!strcmp(argv[i], "--test-keys")) {
            test_keys = 1;
        } else if (!strcmp(argv[i], "--no-circuit-private")) {
            unflooded = 1;
        } else {
            return cli_error("diagnose outsource: unknown option '%s' (see ppml diagnose --help)",
                             argv[i]);
        }
    }
    if (!data || !pub || !outp)
        return cli_error("diagnose outsource: --data, --ccs-public and --out are required");
    char err[PPML_ERR_LEN];
    ppml_dataset ds, train, test;
    ppml_dataset_init(&ds);
    ppml_dataset_init(&train);
    ppml_dataset_init(&test);
    ppml_scaler sc;
    ppml_scaler_init(&sc);
    ppml_svm_ref_fx_model fx;
    ppml_svm_ref_fx_model_init(&fx);
    ppml_diag_model m;
    ppml_diag_model_init(&m);
    ppml_diag_ccs *ccs = NULL;
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    int rc = 1, e;
    if (diag_cli_load_public(&ccs, pub, test_keys, unflooded))
        goto out;
    if ((e = ppml_dataset_load_csv(&ds, data, NULL, err))) {
        cli_error("%s", err);
        goto out;
    }
    e = train_dsp(&fx, &train, &test, &sc, &ds, seed);
    if (!e)
        e = ppml_diag_model_from_fx(&m, &fx, ppml_diag_ccs_config(ccs)->frac_w);
    if (e) {
        cli_error("training the DSP model failed: %s", ppml_strerror(e));
        goto out;
    }
    if ((e = ppml_diag_outsource(&enc, &enc_len, ccs, &m))) {
        cli_error("encrypting the model failed: %s", ppml_strerror(e));
        goto out;
    }
    if ((e = ppml_file_write_atomic(outp, enc, enc_len, 0644))) {
        cli_error("cannot write %s: %s", outp, ppml_strerror(e));
        goto out;
    }
    if (scaler && diag_cli_write_scaler(scaler, &sc))
        goto out;
    printf("outsourced model: %zu classes, %zu features, %zu bytes -> %s\n", m.n_classes,
           m.dim - 1, enc_len, outp);
    rc = 0;
out:
    free(enc);
    ppml_diag_ccs_free(ccs);
    ppml_diag_model_clear(&m);
    ppml_svm_ref_fx_model_clear(&fx);
    ppml_scaler_clear(&sc);
    ppml_dataset_clear(&test);
    ppml_dataset_clear(&train);
    ppml_dataset_clear(&ds);
    return rc;
}

/* Test-only behaviours of diagnose_remote (hidden options): the servers must survive them. */
enum { TEST_TRUNCATE = 1, TEST_DISCONNECT = 2 };

/* The user side against a running CSS. */
static int diagnose_remote(const char *css_addr, const char *css_key, const char *pub,
                           const char *xs, const char *scaler, int timeout_s, int test_keys,
                           int unflooded, int test_mode)
{
    if (!css_key || !pub || !xs)
        return cli_error("with --css, --css-key, --ccs-public and --x are required");
    char spk[41];
    if (svm_cli_read_key(spk, css_key))
        return 1;
    ppml_scaler sc;
    ppml_scaler_init(&sc);
    ppml_diag_ccs *ccs = NULL;
    ppml_diag_user *u = NULL;
    ppml_channel *ch = NULL;
    uint8_t *req = NULL, *res = NULL;
    size_t req_len = 0, res_len = 0, d = 1;
    double *x = NULL;
    int rc = 1, e;
    for (const char *p = xs; *p; p++)
        d += *p == ',';
    if (scaler) {
        if (diag_cli_read_scaler(&sc, scaler))
            goto out;
        if (sc.d != d) {
            cli_error("--x needs %zu comma-separated numbers", sc.d);
            goto out;
        }
    }
    if (d + 1 > PPML_DIAG_MAX_DIM) {
        cli_error("--x has too many values (at most %d)", PPML_DIAG_MAX_DIM - 1);
        goto out;
    }
    if (!(x = calloc(d, sizeof *x))) {
        cli_error("out of memory");
        goto out;
    }
    if (parse_x(x, d, xs)) {
        cli_error("--x needs comma-separated numbers");
        goto out;
    }
    for (size_t j = 0; scaler && j < d; j++)
        x[j] = (x[j] - sc.mean[j]) / sc.std[j];
    if (diag_cli_load_public(&ccs, pub, test_keys, unflooded))
        goto out;
    if (ppml_diag_ccs_config(ccs)->result_paillier) {
        cli_error("this CCS returns results under Paillier keys: not supported over the network");
        goto out;
    }
    if ((e = ppml_diag_user_new(&u, ccs, d, NULL)) ||
        (e = ppml_diag_user_request(u, &req, &req_len, x, d))) {
        cli_error("building the request failed: %s", ppml_strerror(e));
        goto out;
    }
    if (test_mode == TEST_TRUNCATE)
        req_len /= 2;
    signal(SIGPIPE, SIG_IGN);
    /* CSS binds once and serves one user at a time; a user who comes meanwhile waits (its
     * request is held by CSS), so the only wait is for the answer, bounded by --timeout.
     * A request is never lost silently: the channel fails with PPML_ENET if the connection
     * is lost or CSS refuses it (too many users waiting). The request is idempotent (CSS
     * keeps no state between requests), so it then goes again on a fresh connection, with
     * a growing pause, until --timeout is spent. */
    uint64_t t_end = cli_now_ns() + (uint64_t)timeout_s * 1000000000u;
    for (long pause_ms = 100;; pause_ms = pause_ms < 1600 ? 2 * pause_ms : pause_ms) {
        uint64_t now = cli_now_ns();
        int left_ms = now < t_end ? (int)((t_end - now) / 1000000u) : 0;
        char err[PPML_ERR_LEN] = "";
        ppml_channel_tcp_opts o = {.endpoint = css_addr, .curve = 1, .server_public = spk,
                                   .send_timeout_ms = timeout_s * 1000,
                                   .connect_timeout_ms = left_ms > 0 ? left_ms : 1};
        if ((e = ppml_channel_tcp_connect(&ch, &o, err))) {
            cli_error("cannot connect to CSS at %s: %s", css_addr, err[0] ? err : ppml_strerror(e));
            goto out;
        }
        if (test_mode == TEST_DISCONNECT) { /* leave in the middle of the session */
            e = ppml_channel_send(ch, PPML_DIAG_MSG_REQUEST, req, req_len);
            printf("request sent\n");
            rc = e ? 1 : 0;
            goto out;
        }
        now = cli_now_ns();
        left_ms = now < t_end ? (int)((t_end - now) / 1000000u) : 0;
        e = ppml_diag_client_query_timeout(ch, &res, &res_len, req, req_len, left_ms);
        if (e != PPML_ENET || cli_now_ns() + (uint64_t)pause_ms * 1000000u >= t_end)
            break;
        ppml_channel_free(ch);
        ch = NULL;
        struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (e != PPML_ETIMEOUT && e != PPML_ENET) /* end the session: CSS serves the next user */
        (void)!ppml_channel_send(ch, PPML_DIAG_MSG_BYE, NULL, 0);
    if (e == PPML_ETIMEOUT || e == PPML_ENET) {
        cli_error("no answer from CSS at %s within %d s: %s", css_addr, timeout_s,
                  ppml_strerror(e));
        goto out;
    }
    if (e) {
        cli_error("CSS refused the request: %s", ppml_strerror(e));
        goto out;
    }
    uint32_t cls = 0;
    if ((e = ppml_diag_user_result(u, &cls, res, res_len))) {
        cli_error("bad result from CSS: %s", ppml_strerror(e));
        goto out;
    }
    printf("class: index %u\n", cls);
    rc = 0;
out:
    sodium_memzero(spk, sizeof spk);
    if (x)
        sodium_memzero(x, d * sizeof *x);
    free(x);
    free(req);
    free(res);
    ppml_channel_free(ch);
    ppml_diag_user_free(u);
    ppml_diag_ccs_free(ccs);
    ppml_scaler_clear(&sc);
    return rc;
}

int cmd_diagnose(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return usage();
    if (argc > 1 && !strcmp(argv[1], "outsource"))
        return diagnose_outsource(argc - 1, argv + 1);
    const char *data = NULL, *xs = NULL, *css = NULL, *css_key = NULL, *pub = NULL;
    const char *scaler = NULL;
    int timeout_s = 120, test_mode = 0;
    uint64_t row = UINT64_MAX, seed = 1;
    int all = 0, test_keys = 0, paillier = 0, rotations = 0, flood = 1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--data")) {
            if (!(data = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--x")) {
            if (!(xs = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--row")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64("--row", v, 0, 1u << 30, &row))
                return 1;
        } else if (!strcmp(argv[i], "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64("--seed", v, 0, 255, &seed))
                return 1;
        } else if (!strcmp(argv[i], "--all")) {
            all = 1;
        } else if (!strcmp(argv[i], "--paillier-result")) {
            paillier = 1;
        } else if (!strcmp(argv[i], "--css-rotations")) {
            rotations = 1;
        } else if (!strcmp(argv[i], "--no-circuit-private")) {
            flood = 0;
        } else if (!strcmp(argv[i], "--test-keys")) {
            test_keys = 1;
        } else if (!strcmp(argv[i], "--css")) {
            if (!(css = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--css-key")) {
            if (!(css_key = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--ccs-public")) {
            if (!(pub = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--scaler")) {
            if (!(scaler = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(argv[i], "--timeout")) {
            if (!(v = cli_value(argc, argv, &i)) ||
                cli_parse_int("--timeout", v, 1, 86400, &timeout_s))
                return 1;
        } else if (!strcmp(argv[i], "--test-truncate-request")) {
            test_mode = TEST_TRUNCATE; /* TEST ONLY: send half of the request (refused) */
        } else if (!strcmp(argv[i], "--test-disconnect")) {
            test_mode = TEST_DISCONNECT; /* TEST ONLY: send the request, leave at once */
        } else {
            return cli_error("unknown option '%s' (see ppml diagnose --help)", argv[i]);
        }
    }
    if (css) {
        if (data || row != UINT64_MAX || all || paillier || rotations)
            return cli_error("with --css, give only --css-key, --ccs-public, --x, --scaler, "
                             "--timeout, --test-keys, --no-circuit-private");
        return diagnose_remote(css, css_key, pub, xs, scaler, timeout_s, test_keys, !flood,
                               test_mode);
    }
    if (css_key || pub || scaler || test_mode)
        return cli_error("--css-key, --ccs-public, --scaler need --css");
    if (!data)
        return cli_error("--data is required");
    if ((row != UINT64_MAX) + (xs != NULL) + all != 1)
        return cli_error("give exactly one of --row, --x, --all");

    char err[PPML_ERR_LEN];
    ppml_dataset ds, train, test;
    ppml_dataset_init(&ds);
    ppml_dataset_init(&train);
    ppml_dataset_init(&test);
    ppml_scaler sc;
    ppml_scaler_init(&sc);
    ppml_svm_ref_fx_model fx;
    ppml_svm_ref_fx_model_init(&fx);
    ppml_diag_model m;
    ppml_diag_model_init(&m);
    ppml_diag_system *sys = NULL;
    double *x = NULL;
    int rc = 1, e = ppml_dataset_load_csv(&ds, data, NULL, err);
    if (e) {
        cli_error("%s", err);
        goto out;
    }
    e = train_dsp(&fx, &train, &test, &sc, &ds, seed);
    ppml_diag_config cfg;
    ppml_diag_config_default(&cfg);
    cfg.result_paillier = paillier;
    cfg.css_rotations = rotations;
    ppml_diag_config_circuit_private(&cfg, flood);
    if (test_keys) {
        cfg.bfv_n = 4096;
        cfg.prime_bits = test_bits;
        cfg.prime_count = 4;
        cfg.paillier_bits = 512;
        cfg.insecure_for_tests = 1;
        ppml_paillier_allow_insecure_test_keys(1);
    }
    if (!e)
        e = ppml_diag_model_from_fx(&m, &fx, cfg.frac_w);
    if (e) {
        cli_error("training the DSP model failed: %s", ppml_strerror(e));
        goto out;
    }
    if ((e = ppml_diag_system_new(&sys, &cfg, &m))) {
        cli_error("diagnosis set-up failed: %s", ppml_strerror(e));
        goto out;
    }
    ppml_diag_stats st = {0};
    if (all) {
        uint32_t *pred = calloc(test.n ? test.n : 1, sizeof *pred);
        if (!pred) {
            cli_error("out of memory");
            goto out;
        }
        e = ppml_diag_system_run_dataset(sys, pred, test.n, &test, &st);
        size_t agree = 0, correct = 0;
        int64_t X[PPML_DIAG_MAX_DIM];
        for (size_t i = 0; !e && i < test.n; i++) {
            uint32_t best;
            size_t nb;
            if ((e = ppml_diag_encode_x(X, m.dim, test.x + i * test.d, test.d, &cfg)) ||
                (e = ppml_diag_model_plain_scores(NULL, &best, &nb, &m, X)))
                break;
            agree += pred[i] == best || nb > 1;
            correct += pred[i] == test.y[i];
        }
        free(pred);
        if (e) {
            cli_error("diagnosis failed: %s", ppml_strerror(e));
            goto out;
        }
        printf("%zu test records: %zu equal to the plaintext model's argmax, accuracy %.2f %%\n",
               test.n, agree, test.n ? 100.0 * (double)correct / (double)test.n : 0.0);
        if (agree != test.n) {
            cli_error("encrypted and plaintext diagnoses differ");
            goto out;
        }
    } else {
        x = calloc(ds.d, sizeof *x);
        if (!x) {
            cli_error("out of memory");
            goto out;
        }
        if (xs) {
            if (parse_x(x, ds.d, xs)) {
                cli_error("--x needs %zu comma-separated numbers", ds.d);
                goto out;
            }
            for (size_t j = 0; j < ds.d; j++)
                x[j] = (x[j] - sc.mean[j]) / sc.std[j];
        } else {
            if (row >= test.n) {
                cli_error("--row must be below %zu (test rows)", test.n);
                goto out;
            }
            memcpy(x, test.x + row * test.d, test.d * sizeof *x);
        }
        uint32_t cls = 0;
        if ((e = ppml_diag_system_diagnose(sys, &cls, x, ds.d, &st))) {
            cli_error("diagnosis failed: %s", ppml_strerror(e));
            goto out;
        }
        printf("class: %s (index %u)\n", ds.class_names ? ds.class_names[cls] : "?", cls);
    }
    if (st.queries)
        printf("per diagnosis: user %.2f ms, CSS %.2f ms, CCS %.2f ms; bytes up %llu, down %llu, "
               "CSS->CCS %llu, CCS->CSS %llu\n",
               st.user_ns / 1e6 / (double)st.queries, st.css_ns / 1e6 / (double)st.queries,
               st.ccs_ns / 1e6 / (double)st.queries,
               (unsigned long long)(st.bytes_up / st.queries),
               (unsigned long long)(st.bytes_down / st.queries),
               (unsigned long long)(st.bytes_css_ccs / st.queries),
               (unsigned long long)(st.bytes_ccs_css / st.queries));
    rc = 0;
out:
    free(x);
    ppml_diag_system_free(sys);
    ppml_diag_model_clear(&m);
    ppml_svm_ref_fx_model_clear(&fx);
    ppml_scaler_clear(&sc);
    ppml_dataset_clear(&test);
    ppml_dataset_clear(&train);
    ppml_dataset_clear(&ds);
    return rc;
}
