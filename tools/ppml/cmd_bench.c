/* ppml bench SUITE [--json] [--quick] [--reps N] ...: dispatches to bench_<suite>() in
 * bench_<suite>.c. Suites not part of this build are listed as unavailable. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define WEAK __attribute__((weak))
int bench_paillier(const cli_bench_opts *o) WEAK;
int bench_dtpkc(const cli_bench_opts *o) WEAK;
int bench_dp(const cli_bench_opts *o) WEAK;
int bench_bfv(const cli_bench_opts *o) WEAK;
int bench_blocks(const cli_bench_opts *o) WEAK;
int bench_svm(const cli_bench_opts *o) WEAK;
int bench_diagnosis(const cli_bench_opts *o) WEAK;
int bench_dmlp(const cli_bench_opts *o) WEAK;

typedef struct {
    const char *name;
    int (*fn)(const cli_bench_opts *);
    const char *what;
} suite;

static const suite suites[] = {
    {"paillier", bench_paillier, "Paillier keygen, encryption (naive/DJN/CRT), decryption, ops, packing"},
    {"dtpkc", bench_dtpkc, "DT-PKC encryption, weak/strong/partial decryption"},
    {"dp", bench_dp, "exact discrete Laplace sampling"},
    {"bfv", bench_bfv, "BFV keygen, encode/encrypt/decrypt, add, multiply, rotate"},
    {"blocks", bench_blocks, "two-server building blocks B2-B5 per element"},
    {"svm", bench_svm, "secure SVM training per epoch and total"},
    {"diagnosis", bench_diagnosis, "encrypted diagnosis per query"},
    {"dmlp", bench_dmlp, "ACA-DMLP sweep over N and epsilon"},
};
#define NSUITES (sizeof suites / sizeof suites[0])

static void usage(void)
{
    printf("usage: ppml bench SUITE|all [--json] [--quick] [--reps N] [suite options]\n"
           "       ppml bench --list\n\n"
           "Prints one line per operation: median, min and max time over the repetitions.\n"
           "--json   one JSON object per line: suite, op, params, median_ns, min_ns, max_ns, reps\n"
           "--quick  few repetitions (smoke test)\n");
}

int cmd_bench(int argc, char **argv)
{
    cli_bench_opts o = {0};
    const char *name = NULL;
    if (argc < 2 || cli_wants_help(argc, argv))
        return usage(), argc < 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--list")) {
            for (size_t s = 0; s < NSUITES; s++)
                printf("%-10s %s%s\n", suites[s].name, suites[s].what,
                       suites[s].fn ? "" : " (not in this build)");
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            o.json = 1;
        } else if (!strcmp(argv[i], "--quick")) {
            o.quick = 1;
        } else if (!strcmp(argv[i], "--reps")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || cli_parse_int("--reps", v, 1, 100000, &o.reps))
                return 1;
        } else if (!name && argv[i][0] != '-') {
            name = argv[i];
            o.argc = argc - i - 1;
            o.argv = argv + i + 1;
        }
    }
    if (!name)
        return cli_error("bench: no suite given (ppml bench --list)");
    int ran = 0;
    for (size_t s = 0; s < NSUITES; s++) {
        if (strcmp(name, "all") && strcmp(name, suites[s].name))
            continue;
        if (!suites[s].fn) {
            if (strcmp(name, "all"))
                return cli_error("bench suite '%s' is not available in this build", name);
            continue;
        }
        int rc = suites[s].fn(&o);
        if (rc)
            return rc;
        ran++;
    }
    if (!ran)
        return cli_error("unknown bench suite '%s' (ppml bench --list)", name);
    return 0;
}
