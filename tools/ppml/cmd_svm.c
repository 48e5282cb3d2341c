/* ppml svm train: scheme S secure training end to end (TA, MCs, CSS, CCS, DSP) on a CSV
 * dataset; reports the secure model's test accuracy against the plaintext fixed-point
 * reference trained on the same split with the same hyper-parameters. */
#include "cli.h"
#include "diag_cli.h"
#include "svm_cli.h"
#include "ppml/channel.h"
#include "ppml/serial.h"
#include "ppml/svm.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ppml svm train --data FILE [options]\n\n"
            "Trains a one-vs-rest linear SVM on encrypted data (scheme S): the TA makes the keys,\n"
            "K medical centres encrypt their rows under their own DT-PKC keys and upload them with\n"
            "signed Merkle roots, CSS and CCS convert them to the training key (B1) and train;\n"
            "the model goes to the DSP's key. Prints the DSP's test accuracy and the comparison\n"
            "with the plaintext fixed-point reference.\n\n"
            "  --data FILE            CSV with a header row and a 'label' column\n"
            "  --mcs K                medical centres (default 2, at least 2)\n"
            "  --epochs E             epochs (default 20)\n"
            "  --lr X                 learning rate (default 1)\n"
            "  --lambda X             L2 regularisation (default 0.001)\n"
            "  --batch S              rows per step (default 0 = full batch)\n"
            "  --key-bits 2048|3072   Paillier and DT-PKC modulus size (default 2048)\n"
            "  --threads T            threads per server (default 1)\n"
            "  --test-fraction F      held-out fraction (default 0.3)\n"
            "  --seed N               split seed (default 1)\n"
            "  --out FILE             write the DSP's model (weights as CSV, one row per class)\n"
            "  --ccs ADDR             use a remote CCS (`ppml serve ccs`), e.g. tcp://host:7000;\n"
            "                         CSS runs in this process\n"
            "  --css ADDR             use a remote CSS (`ppml serve css`, which has its own CCS):\n"
            "                         this process is the TA, the medical centres and the DSP\n"
            "  --css-key FILE         CSS's CURVE public key file (required with --css)\n"
            "  --ccs-key FILE         CCS's CURVE public key file (required with --ccs and --css):\n"
            "                         CCS's keys are boxed (or, without --client-key, sealed) to\n"
            "                         it; through --css, CSS relays them unread\n"
            "  --client-key FILE      this client's CURVE secret key (PREFIX.sec of `ppml serve\n"
            "                         keygen`, mode 0600) for a server started with --allow\n"
            "                         PREFIX.pub; it also boxes CCS's keys, which a CCS started\n"
            "                         with --ta PREFIX.pub requires. Default: a fresh key\n"
            "                         (refused by such servers)\n"
            "  --timeout S            seconds to wait for each message of a remote server\n"
            "                         (default 300)\n"
            "  --insecure-test-bits N TEST ONLY: small keys of N bits (fast, insecure)\n");
}

/* On a terminal: the epoch, the time per epoch since epoch 1 ended and the ETA (ctx: when
 * epoch 1's report came); quiet when stderr is not a terminal. */
static void progress(void *ctx, unsigned epoch, unsigned epochs)
{
    uint64_t *t1 = ctx, now = cli_now_ns();
    if (epoch <= 1 || !*t1) {
        *t1 = now;
        cli_progress("svm: epoch %u/%u", epoch, epochs);
        return;
    }
    double per = (double)(now - *t1) / 1e9 / (epoch - 1);
    cli_progress("svm: epoch %u/%u, %.2f s/epoch, ETA %.0f s", epoch, epochs, per,
                 per * (epochs - epoch));
}

static int write_model(const char *path, const ppml_svm_ref_fx_model *m)
{
    size_t cap = m->n_out * m->dim * 32 + 64, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return cli_error("out of memory");
    for (size_t j = 0; j < m->dim; j++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", j ? "," : "", j + 1 == m->dim ? "bias" : "w");
    len += (size_t)snprintf(buf + len, cap - len, "\n");
    for (size_t k = 0; k < m->n_out; k++)
        for (size_t j = 0; j < m->dim; j++)
            len += (size_t)snprintf(buf + len, cap - len, "%.17g%s",
                                    (double)m->w[k * m->dim + j] / (double)((uint64_t)1 << m->frac_bits),
                                    j + 1 == m->dim ? "\n" : ",");
    int rc = ppml_file_write_atomic(path, buf, len, 0600);
    free(buf);
    return rc == PPML_OK ? 0 : cli_error("cannot write %s: %s", path, ppml_strerror(rc));
}

static int svm_train(int argc, char **argv)
{
    const char *data = NULL, *out = NULL, *ccs_addr = NULL, *ccs_key = NULL, *client_key = NULL, *css_addr = NULL,
               *css_key = NULL;
    ppml_svm_ref_params p;
    ppml_svm_ref_params_default(&p);
    ppml_svm_run_opts o;
    memset(&o, 0, sizeof o);
    double test_fraction = 0.3;
    int seed = 1, v, timeout_s = 300;
    uint64_t u;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout), 0;
#define VAL() \
    if (!(val = cli_value(argc, argv, &i))) \
        return 1;
        if (!strcmp(a, "--data")) {
            VAL();
            data = val;
        } else if (!strcmp(a, "--out")) {
            VAL();
            out = val;
        } else if (!strcmp(a, "--ccs")) {
            VAL();
            ccs_addr = val;
        } else if (!strcmp(a, "--css")) {
            VAL();
            css_addr = val;
        } else if (!strcmp(a, "--css-key")) {
            VAL();
            css_key = val;
        } else if (!strcmp(a, "--ccs-key")) {
            VAL();
            ccs_key = val;
        } else if (!strcmp(a, "--client-key")) {
            VAL();
            client_key = val;
        } else if (!strcmp(a, "--mcs")) {
            VAL();
            if (cli_parse_u64(a, val, 2, 1000, &u))
                return 1;
            o.mcs = (size_t)u;
        } else if (!strcmp(a, "--epochs")) {
            VAL();
            if (cli_parse_int(a, val, 1, PPML_SVM_REF_MAX_EPOCHS, &v))
                return 1;
            p.epochs = (unsigned)v;
        } else if (!strcmp(a, "--lr")) {
            VAL();
            if (cli_parse_double(a, val, 1e-9, PPML_SVM_REF_MAX_LR, &p.lr))
                return 1;
        } else if (!strcmp(a, "--lambda")) {
            VAL();
            if (cli_parse_double(a, val, 0, 1e6, &p.lambda))
                return 1;
        } else if (!strcmp(a, "--batch")) {
            VAL();
            if (cli_parse_u64(a, val, 0, 1u << 30, &u))
                return 1;
            p.batch = (size_t)u;
        } else if (!strcmp(a, "--key-bits")) {
            VAL();
            if (cli_parse_int(a, val, 2048, 3072, &v) || (v != 2048 && v != 3072))
                return v == 2048 || v == 3072 ? 1 : cli_error("--key-bits: 2048 or 3072");
            o.key_bits = (unsigned)v;
        } else if (!strcmp(a, "--insecure-test-bits")) {
            VAL();
            if (cli_parse_int(a, val, 512, 4096, &v))
                return 1;
            o.insecure_test_bits = (unsigned)v;
        } else if (!strcmp(a, "--threads")) {
            VAL();
            if (cli_parse_int(a, val, 1, 64, &v))
                return 1;
            o.threads = (unsigned)v;
        } else if (!strcmp(a, "--test-fraction")) {
            VAL();
            if (cli_parse_double(a, val, 0.01, 0.9, &test_fraction))
                return 1;
        } else if (!strcmp(a, "--timeout")) {
            VAL();
            if (cli_parse_int(a, val, 1, 86400, &timeout_s))
                return 1;
        } else if (!strcmp(a, "--seed")) {
            VAL();
            if (cli_parse_int(a, val, 0, 1 << 30, &seed))
                return 1;
        } else {
            return cli_error("svm train: unknown option '%s' (ppml svm train --help)", a);
        }
#undef VAL
    }
    if (!data)
        return cli_error("svm train: --data FILE is required");
    if (ppml_svm_ref_params_check(&p) != PPML_OK)
        return cli_error("svm train: hyper-parameters out of range (eta*lambda must be <= 1)");
    if (ccs_addr && css_addr)
        return cli_error("svm train: --ccs and --css exclude each other (a remote CSS has its own CCS)");
    if (ccs_addr && !ccs_key)
        return cli_error("svm train: --ccs needs --ccs-key FILE (CCS's CURVE public key)");
    if (css_addr && (!css_key || !ccs_key))
        return cli_error("svm train: --css needs --css-key FILE (CSS's CURVE public key) and --ccs-key FILE "
                         "(CCS's, to seal its keys)");
    if (client_key && !ccs_addr && !css_addr)
        return cli_error("svm train: --client-key goes with --ccs or --css");
    uint8_t ccs_box[32], ta_pub[32], ta_sec[32];
    if (css_addr || ccs_addr) { /* CCS's X25519 key: the TA seals or boxes CCS's keys to it */
        char k[41];
        if (svm_cli_read_key(k, ccs_key))
            return 1;
        if (ppml_channel_curve_decode(ccs_box, k) != PPML_OK)
            return cli_error("%s: not a Z85 CURVE public key", ccs_key);
        o.ccs_public = ccs_box;
    }
    ppml_dataset train, test;
    ppml_dataset_init(&train);
    ppml_dataset_init(&test);
    const double bound = 8.0;
    if (svm_cli_prepare(&train, &test, data, test_fraction, (unsigned)seed, bound))
        return 1;
    o.max_abs_x = bound;
    uint64_t epoch1_ns = 0;
    o.progress = progress;
    o.progress_ctx = &epoch1_ns;

    ppml_channel *ch = NULL;
    int ret = 0;
    if (ccs_addr || css_addr) {
        const char *addr = css_addr ? css_addr : ccs_addr, *role = css_addr ? "CSS" : "CCS";
        char key[41], csec[41] = "", err[PPML_ERR_LEN] = "";
        if (svm_cli_read_key(key, css_addr ? css_key : ccs_key) ||
            (client_key && serve_cli_read_client_key(csec, client_key))) {
            ret = 1;
            goto done;
        }
        /* wait for the handshake: a wrong key, or ours refused, fails here and clearly */
        ppml_channel_tcp_opts to = {.endpoint = addr, .curve = 1, .server_public = key,
                                    .connect_timeout_ms = 30000,
                                    .client_secret = client_key ? csec : NULL};
        int rc = ppml_channel_tcp_connect(&ch, &to, err);
        if (client_key && ppml_channel_curve_decode(ta_sec, csec) == PPML_OK) {
            /* the TA's key boxes CCS's keys (authenticated: a CCS started with --ta takes
             * only those) */
            crypto_scalarmult_base(ta_pub, ta_sec);
            o.ta_public = ta_pub;
            o.ta_secret = ta_sec;
        }
        sodium_memzero(csec, sizeof csec);
        if (rc != PPML_OK) {
            ret = cli_error("cannot connect to %s at %s: %s", role, addr, err[0] ? err : ppml_strerror(rc));
            goto done;
        }
        ppml_channel_set_timeout(ch, timeout_s * 1000);
        if (css_addr)
            o.css = ch;
        else
            o.ccs = ch;
    }

    ppml_svm_ref_fx_model sec, ref;
    ppml_svm_ref_fx_model_init(&sec);
    ppml_svm_ref_fx_model_init(&ref);
    ppml_svm_ref_fx_stats st;
    ppml_svm_run_report rep;
    uint64_t t0 = cli_now_ns();
    int rc = ppml_svm_run(&sec, &rep, &train, &p, &o);
    uint64_t total = cli_now_ns() - t0;
    if (epoch1_ns && cli_progress_enabled())
        fputs("\r\033[K", stderr); /* the progress line goes before the results */
    if (rc != PPML_OK) {
        ret = cli_error("secure training failed: %s", ppml_strerror(rc));
        goto models;
    }
    rc = ppml_svm_ref_fx_train(&ref, &st, &train, &p, NULL);
    uint32_t *ps = calloc(test.n ? test.n : 1, sizeof *ps), *pr = calloc(test.n ? test.n : 1, sizeof *pr);
    uint32_t *pf = calloc(test.n ? test.n : 1, sizeof *pf);
    ppml_svm_ref_model flt;
    ppml_svm_ref_model_init(&flt);
    if (rc == PPML_OK)
        rc = ppml_svm_ref_train(&flt, &train, &p, NULL, NULL);
    if (rc == PPML_OK && pf)
        rc = ppml_svm_ref_predict(pf, test.n, &flt, &test);
    uint64_t diff = 0;
    if (rc == PPML_OK && ps && pr)
        rc = ppml_svm_ref_fx_predict(ps, test.n, &sec, &test);
    if (rc == PPML_OK && ps && pr)
        rc = ppml_svm_ref_fx_predict(pr, test.n, &ref, &test);
    if (rc == PPML_OK)
        rc = ppml_svm_ref_fx_max_diff(&diff, &sec, &ref);
    if (rc != PPML_OK || !ps || !pr || !pf) {
        ret = cli_error("evaluation failed: %s", ppml_strerror(rc != PPML_OK ? rc : PPML_ENOMEM));
    } else {
        size_t same = 0;
        for (size_t i = 0; i < test.n; i++)
            same += ps[i] == pr[i];
        printf("data: %s: %zu training rows, %zu test rows, %zu features, %zu classes; %zu MCs\n", data, train.n,
               test.n, train.d, train.n_classes, o.mcs ? o.mcs : 2);
        printf("keys: %u bits%s; epochs %u, lr %g, lambda %g, batch %zu, f = %u\n",
               o.insecure_test_bits ? o.insecure_test_bits : (o.key_bits ? o.key_bits : 2048),
               o.insecure_test_bits ? " (INSECURE test keys)" : "", p.epochs, p.lr, p.lambda, p.batch, p.frac_bits);
        printf("secure model (DSP): test accuracy %.4f\n", ppml_accuracy(ps, test.y, test.n));
        printf("fixed-point reference: test accuracy %.4f\n", ppml_accuracy(pr, test.y, test.n));
        printf("float SVM (plaintext): test accuracy %.4f\n", ppml_accuracy(pf, test.y, test.n));
        printf("predictions equal to the reference: %zu/%zu; max |W - W_ref| = %llu ulps (certified bound %llu)\n",
               same, test.n, (unsigned long long)diff, (unsigned long long)st.error_bound);
        printf("time: total %.2f s (setup %.2f, upload %.2f, B1 %.2f, training %.2f = %.2f s/epoch, "
               "model to DSP %.2f); %zu ciphertexts uploaded\n",
               total / 1e9, rep.setup_ns / 1e9, rep.upload_ns / 1e9, rep.aggregate_ns / 1e9, rep.train_ns / 1e9,
               rep.train_ns / 1e9 / p.epochs, rep.convert_ns / 1e9, rep.uploaded);
        if (css_addr) {
            char prefix[18];
            ppml_svm_task_prefix(prefix, rep.task);
            printf("training CPU time of CSS (its process): %.2f s = %.2f s/epoch\n", rep.train_cpu_ns / 1e9,
                   rep.train_cpu_ns / 1e9 / p.epochs);
            printf("task: %s (a CSS with --store keeps the uploads as %s/mc-I and the model as "
                   "%s/model)\n", prefix, prefix, prefix);
        }
        else if (!ccs_addr)
            printf("training CPU time (CSS and CCS, both in this process): %.2f s = %.2f s/epoch\n",
                   rep.train_cpu_ns / 1e9, rep.train_cpu_ns / 1e9 / p.epochs);
        if (out)
            ret = write_model(out, &sec);
        if (!ret && (same != test.n || diff > st.error_bound))
            ret = cli_error("the secure model differs from the reference beyond the documented bound");
    }
    free(ps);
    free(pr);
    free(pf);
    ppml_svm_ref_model_clear(&flt);
models:
    ppml_svm_ref_fx_model_clear(&sec);
    ppml_svm_ref_fx_model_clear(&ref);
done:
    sodium_memzero(ta_sec, sizeof ta_sec);
    ppml_channel_free(ch);
    ppml_dataset_clear(&train);
    ppml_dataset_clear(&test);
    return ret;
}

int cmd_svm(int argc, char **argv)
{
    if (argc < 2 || (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
        return usage(argc < 2 ? stderr : stdout), argc < 2;
    if (!strcmp(argv[1], "train"))
        return svm_train(argc - 1, argv + 1);
    return cli_error("svm: unknown subcommand '%s' (ppml svm --help)", argv[1]);
}
