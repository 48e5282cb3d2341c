/* ppml bench svm [--data FILE] [--epochs E] [--bits 2048|3072] [--threads T] [--mcs K]:
 * scheme S secure training end to end (ppml_svm_run, CCS in a thread of this process),
 * one run; reports each phase (reps = 1). --quick: iris, 1 epoch, 768-bit test-only keys. */
#include "cli.h"
#include "svm_cli.h"
#include "ppml/svm.h"

#include <stdio.h>
#include <string.h>

static void report(const cli_bench_opts *o, const char *op, const char *params, uint64_t ns, const char *extra)
{
    cli_bench b;
    cli_bench_init(&b);
    cli_bench_add(&b, ns);
    cli_bench_report(o->json, "svm", op, params, &b, extra);
    cli_bench_clear(&b);
}

int bench_svm(const cli_bench_opts *o)
{
    const char *data = o->quick ? "data/iris.csv" : "data/wine.csv";
    int epochs = 1, bits = 2048, threads = 1, mcs = 2;
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
    ppml_dataset train, test;
    ppml_dataset_init(&train);
    ppml_dataset_init(&test);
    if (svm_cli_prepare(&train, &test, data, 0.3, 1, 8.0))
        return 1;
    ppml_svm_ref_params p;
    ppml_svm_ref_params_default(&p);
    p.epochs = (unsigned)epochs;
    ppml_svm_run_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.key_bits = (unsigned)bits;
    ro.insecure_test_bits = o->quick ? 768 : 0;
    ro.mcs = (size_t)mcs;
    ro.threads = (unsigned)threads;
    ro.max_abs_x = 8.0;
    ppml_svm_ref_fx_model m;
    ppml_svm_ref_fx_model_init(&m);
    ppml_svm_run_report rep;
    uint64_t t0 = cli_now_ns();
    int rc = ppml_svm_run(&m, &rep, &train, &p, &ro);
    uint64_t total = cli_now_ns() - t0;
    if (rc == PPML_OK) {
        char params[256], extra[96];
        const char *name = strrchr(data, '/') ? strrchr(data, '/') + 1 : data;
        snprintf(params, sizeof params,
                 "{\"bits\":%d,\"data\":\"%s\",\"n\":%zu,\"d\":%zu,\"classes\":%zu,\"epochs\":%d,\"mcs\":%d,"
                 "\"threads\":%d}",
                 o->quick ? 768 : bits, name, train.n, train.d, train.n_classes, epochs, mcs, threads);
        snprintf(extra, sizeof extra, "\"ciphertexts\":%zu", rep.uploaded);
        report(o, "setup", params, rep.setup_ns, NULL);
        report(o, "upload", params, rep.upload_ns, extra);
        report(o, "b1_aggregate", params, rep.aggregate_ns, extra);
        report(o, "train_epoch", params, rep.train_ns / (uint64_t)epochs, NULL);
        report(o, "train_total", params, rep.train_ns, NULL);
        report(o, "model_to_dsp", params, rep.convert_ns, NULL);
        report(o, "total", params, total, NULL);
    }
    ppml_svm_ref_fx_model_clear(&m);
    ppml_dataset_clear(&train);
    ppml_dataset_clear(&test);
    return rc == PPML_OK ? 0 : cli_error("bench svm: %s", ppml_strerror(rc));
}
