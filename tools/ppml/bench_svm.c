/* ppml bench svm [--data FILE] [--epochs E] [--bits 2048|3072] [--threads T] [--mcs K]:
 * scheme S secure training end to end (ppml_svm_run, CCS in a thread of this process), one
 * run per dataset (wine and breast_cancer unless --data names one). Reports each phase;
 * `epoch` has one sample per epoch (median, min, max over the epochs), `train_total` the whole
 * training. Every line carries the test accuracies of the secure model, the fixed-point
 * reference and the float SVM (acc_secure, acc_fixed, acc_float, fractions in [0, 1]).
 * --quick: iris, 1 epoch, 768-bit test-only keys. */
#include "cli.h"
#include "svm_cli.h"
#include "ppml/svm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void report(const cli_bench_opts *o, const char *op, const char *params, uint64_t ns, const char *extra)
{
    cli_bench b;
    cli_bench_init(&b);
    cli_bench_add(&b, ns);
    cli_bench_report(o->json, "svm", op, params, &b, extra);
    cli_bench_clear(&b);
}

typedef struct epoch_clock {
    uint64_t last;
    cli_bench *epochs;
} epoch_clock;

static void on_epoch(void *ctx, unsigned epoch, unsigned epochs)
{
    (void)epoch;
    (void)epochs;
    epoch_clock *c = ctx;
    uint64_t now = cli_now_ns();
    cli_bench_add(c->epochs, now - c->last);
    c->last = now;
}

/* Test accuracy of the secure model, the fixed-point reference and the float SVM. */
static int accuracies(double acc[3], const ppml_svm_ref_fx_model *sec, const ppml_dataset *train,
                      const ppml_dataset *test, const ppml_svm_ref_params *p)
{
    uint32_t *pred = calloc(test->n ? test->n : 1, sizeof *pred);
    ppml_svm_ref_fx_model fx;
    ppml_svm_ref_model flt;
    ppml_svm_ref_fx_model_init(&fx);
    ppml_svm_ref_model_init(&flt);
    ppml_svm_ref_fx_stats st;
    int rc = pred ? PPML_OK : PPML_ENOMEM;
    if (rc == PPML_OK)
        rc = ppml_svm_ref_fx_predict(pred, test->n, sec, test);
    if (rc == PPML_OK) {
        acc[0] = ppml_accuracy(pred, test->y, test->n);
        rc = ppml_svm_ref_fx_train(&fx, &st, train, p, NULL);
    }
    if (rc == PPML_OK)
        rc = ppml_svm_ref_fx_predict(pred, test->n, &fx, test);
    if (rc == PPML_OK) {
        acc[1] = ppml_accuracy(pred, test->y, test->n);
        rc = ppml_svm_ref_train(&flt, train, p, NULL, NULL);
    }
    if (rc == PPML_OK)
        rc = ppml_svm_ref_predict(pred, test->n, &flt, test);
    if (rc == PPML_OK)
        acc[2] = ppml_accuracy(pred, test->y, test->n);
    ppml_svm_ref_fx_model_clear(&fx);
    ppml_svm_ref_model_clear(&flt);
    free(pred);
    return rc;
}

static int bench_one(const cli_bench_opts *o, const char *data, int epochs, int bits, int threads, int mcs)
{
    ppml_dataset train, test;
    ppml_dataset_init(&train);
    ppml_dataset_init(&test);
    if (svm_cli_prepare(&train, &test, data, 0.3, 1, 8.0))
        return 1;
    ppml_svm_ref_params p;
    ppml_svm_ref_params_default(&p);
    p.epochs = (unsigned)epochs;
    cli_bench ep;
    cli_bench_init(&ep);
    epoch_clock clock = {0, &ep};
    ppml_svm_run_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.key_bits = (unsigned)bits;
    ro.insecure_test_bits = o->quick ? 768 : 0;
    ro.mcs = (size_t)mcs;
    ro.threads = (unsigned)threads;
    ro.max_abs_x = 8.0;
    ro.progress = on_epoch;
    ro.progress_ctx = &clock;
    ppml_svm_ref_fx_model m;
    ppml_svm_ref_fx_model_init(&m);
    ppml_svm_run_report rep;
    uint64_t t0 = cli_now_ns();
    /* the first epoch's clock starts when training starts: after set-up, upload and B1 */
    int rc = ppml_svm_run(&m, &rep, &train, &p, &ro);
    uint64_t total = cli_now_ns() - t0;
    double acc[3] = {0, 0, 0};
    if (rc == PPML_OK)
        rc = accuracies(acc, &m, &train, &test, &p);
    if (rc == PPML_OK) {
        char params[320], extra[192], extra_up[256];
        const char *name = strrchr(data, '/') ? strrchr(data, '/') + 1 : data;
        char dataset[64];
        snprintf(dataset, sizeof dataset, "%s", name);
        char *dot = strrchr(dataset, '.');
        if (dot)
            *dot = 0;
        snprintf(params, sizeof params,
                 "{\"dataset\":\"%s\",\"epochs\":%d,\"bits\":%d,\"threads\":%d,\"n\":%zu,\"d\":%zu,"
                 "\"classes\":%zu,\"mcs\":%d}",
                 dataset, epochs, o->quick ? 768 : bits, threads, train.n, train.d, train.n_classes, mcs);
        snprintf(extra, sizeof extra, "\"acc_secure\":%.6f,\"acc_fixed\":%.6f,\"acc_float\":%.6f", acc[0], acc[1],
                 acc[2]);
        snprintf(extra_up, sizeof extra_up, "%s,\"ciphertexts\":%zu", extra, rep.uploaded);
        report(o, "setup", params, rep.setup_ns, extra);
        report(o, "upload", params, rep.upload_ns, extra_up);
        report(o, "b1_aggregate", params, rep.aggregate_ns, extra_up);
        /* epoch samples: the progress clock of epoch 1 starts at the first callback's
         * predecessor, i.e. the training start, which ppml_svm_run reports as train_ns in
         * total; rebuild the first sample from it */
        if (ep.n == (size_t)epochs) {
            uint64_t rest = 0;
            for (size_t i = 1; i < ep.n; i++)
                rest += ep.ns[i];
            ep.ns[0] = rep.train_ns > rest ? rep.train_ns - rest : ep.ns[0];
            cli_bench_report(o->json, "svm", "epoch", params, &ep, extra);
        }
        char extra_cpu[256];
        snprintf(extra_cpu, sizeof extra_cpu, "%s,\"cpu_ns\":%llu", extra, (unsigned long long)rep.train_cpu_ns);
        report(o, "train_total", params, rep.train_ns, extra_cpu);
        report(o, "model_to_dsp", params, rep.convert_ns, extra);
        report(o, "total", params, total, extra);
    }
    cli_bench_clear(&ep);
    ppml_svm_ref_fx_model_clear(&m);
    ppml_dataset_clear(&train);
    ppml_dataset_clear(&test);
    return rc == PPML_OK ? 0 : cli_error("bench svm (%s): %s", data, ppml_strerror(rc));
}

int bench_svm(const cli_bench_opts *o)
{
    const char *data = NULL;
    int epochs = o->quick ? 1 : 20, bits = 2048, threads = 2, mcs = 2;
    for (int i = 0; i < o->argc; i++) {
        const char *a = o->argv[i], *v;
        if (!strcmp(a, "--data")) {
            if (!(data = cli_value(o->argc, o->argv, &i)))
                return 1;
        } else if (!strcmp(a, "--epochs")) {
            if (!(v = cli_value(o->argc, o->argv, &i)) || cli_parse_int(a, v, 1, 1000, &epochs))
                return 1;
        } else if (!strcmp(a, "--bits")) {
            if (!(v = cli_value(o->argc, o->argv, &i)) || cli_parse_int(a, v, 2048, 3072, &bits))
                return 1;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(o->argc, o->argv, &i)) || cli_parse_int(a, v, 1, 64, &threads))
                return 1;
        } else if (!strcmp(a, "--mcs")) {
            if (!(v = cli_value(o->argc, o->argv, &i)) || cli_parse_int(a, v, 2, 100, &mcs))
                return 1;
        } else if (!strcmp(a, "--reps")) {
            i++;
        } else if (strcmp(a, "--json") && strcmp(a, "--quick")) {
            return cli_error("bench svm: unknown option '%s'", a);
        }
    }
    if (data)
        return bench_one(o, data, epochs, bits, threads, mcs);
    if (o->quick)
        return bench_one(o, "data/iris.csv", epochs, bits, threads, mcs);
    int rc = bench_one(o, "data/wine.csv", epochs, bits, threads, mcs);
    return rc ? rc : bench_one(o, "data/breast_cancer.csv", epochs, bits, threads, mcs);
}
