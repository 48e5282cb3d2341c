/* ppml bench dmlp: ACA-DMLP sweep over N = 5, 10, ..., 40 workers and eps in
 * {0.5, 1, 2, 4, inf} on the (12396, 1568) task (Fashion-MNIST T-shirt/top vs pullover, pixels
 * replicated twice, as CodedPrivateML replicated MNIST), local engine, 25 iterations.
 * Falls back, with a note, to a synthetic task of the same shape when the Fashion-MNIST
 * files are missing (scripts/deps.sh bench installs dataset-fashion-mnist).
 *
 * One run per (N, eps); its times are reported as JSON lines with reps = 1:
 *   op encode | comm | comp | total_wall | total_critical_path,
 *   params {"N","eps","m","d","iters"}, extra: accuracy, accuracy_nonprivate, encoding, data.
 * "wall" is measured on this machine (all parties in one process, in turn); the critical
 * path is what the slowest party chain would take with one host per party (DESIGN §5.6).
 *
 * Suite options: --data DIR (IDX directory), --out DIR (data files and PNG plots; default
 * dmlp-bench, none with --quick unless given), --iters K, --encoding bfv|bfv-direct|plain
 * (default bfv: the encrypted path; plain is the stand-in that only adds the noise),
 * --nodes-max N (sweep 5, 10, ..., N), --eps-only E (one eps instead of the list). */
#include "cli.h"
#include "ppml/dmlp.h"
#include "ppml/idx.h"

#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static const double eps_list[] = {0.5, 1, 2, 4, INFINITY};
#define NEPS (sizeof eps_list / sizeof eps_list[0])

static void eps_text(char *buf, size_t len, double eps)
{
    if (isinf(eps))
        snprintf(buf, len, "\"inf\"");
    else
        snprintf(buf, len, "%g", eps);
}

static void report_one(int json, const char *op, const char *params, double seconds, const char *extra)
{
    cli_bench b;
    cli_bench_init(&b);
    cli_bench_add(&b, (uint64_t)llround(seconds * 1e9));
    cli_bench_report(json, "dmlp", op, params, &b, extra);
    cli_bench_clear(&b);
}

/* Find scripts/plot_dmlp.gp: from the working directory or next to the binary's build dir. */
static int find_script(char *out, size_t len)
{
    if (access("scripts/plot_dmlp.gp", R_OK) == 0) {
        snprintf(out, len, "scripts/plot_dmlp.gp");
        return 0;
    }
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    snprintf(out, len, "%s/../scripts/plot_dmlp.gp", exe);
    return access(out, R_OK);
}

int bench_dmlp(const cli_bench_opts *o)
{
#ifdef __GLIBC__
    /* BFV objects are 256-512 KiB: above glibc's mmap threshold each allocation would be a
     * fresh mmap (page faults and zeroing every time). Keep them on the heap. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    const char *data_dir = FASHION_DIR, *out_dir = o->quick ? NULL : "dmlp-bench";
    unsigned iters = o->quick ? 5 : PPML_LOGREG_DEFAULT_ITERS;
    int encoding = 1; /* 0 plain, 1 bfv, 2 bfv-direct */
    uint32_t nmax = o->quick ? 10 : 40;
    double eps_only = 0; /* 0: the whole list */
    for (int i = 0; i < o->argc; i++) {
        if (!strcmp(o->argv[i], "--json") || !strcmp(o->argv[i], "--quick"))
            continue; /* common options, already parsed by cmd_bench */
        if (!strcmp(o->argv[i], "--reps") && i + 1 < o->argc) {
            i++;
            continue;
        }
        if (!strcmp(o->argv[i], "--data") && i + 1 < o->argc)
            data_dir = o->argv[++i];
        else if (!strcmp(o->argv[i], "--out") && i + 1 < o->argc)
            out_dir = o->argv[++i];
        else if (!strcmp(o->argv[i], "--encoding") && i + 1 < o->argc) {
            const char *v = o->argv[++i];
            encoding = !strcmp(v, "plain") ? 0 : !strcmp(v, "bfv") ? 1 : !strcmp(v, "bfv-direct") ? 2 : -1;
            if (encoding < 0)
                return cli_error("bench dmlp: --encoding bfv|bfv-direct|plain, got '%s'", v);
        } else if (!strcmp(o->argv[i], "--nodes-max") && i + 1 < o->argc) {
            int k;
            if (cli_parse_int("--nodes-max", o->argv[++i], 5, 4096, &k))
                return 1;
            nmax = (uint32_t)k;
        } else if (!strcmp(o->argv[i], "--eps-only") && i + 1 < o->argc) {
            const char *v = o->argv[++i];
            if (!strcmp(v, "inf"))
                eps_only = INFINITY;
            else if (cli_parse_double("--eps-only", v, PPML_DMLP_EPS_MIN, PPML_DMLP_EPS_MAX, &eps_only))
                return 1;
        } else if (!strcmp(o->argv[i], "--iters") && i + 1 < o->argc) {
            int k;
            if (cli_parse_int("--iters", o->argv[++i], 1, 1000, &k))
                return 1;
            iters = (unsigned)k;
        } else
            return cli_error("bench dmlp: unknown option '%s' (--data DIR, --out DIR, --iters K, --encoding E, "
                             "--nodes-max N, --eps-only E)", o->argv[i]);
    }
    ppml_logreg_data train = {0}, test = {0};
    char err[PPML_ERR_LEN] = "", data_name[32];
    int e;
    double lr = PPML_LOGREG_DEFAULT_LR;
    if (o->quick) {
        if ((e = ppml_dmlp_synthetic(&train, &test, 600, 150, 64, 1, PPML_LOGREG_FRAC_X)))
            return cli_error("bench dmlp: synthetic data: %s", ppml_strerror(e));
        snprintf(data_name, sizeof data_name, "synthetic");
        lr = 0.2;
    } else if ((e = ppml_idx_load_task(&train, &test, data_dir, 0, 2, 12396, 2, PPML_LOGREG_FRAC_X, err)) == PPML_OK) {
        snprintf(data_name, sizeof data_name, "fashion-mnist-0v2");
    } else {
        fprintf(stderr, "ppml: bench dmlp: Fashion-MNIST not usable (%s); falling back to a SYNTHETIC task of "
                        "the same shape (12396 x 1568, 2038 test). Install it with: scripts/deps.sh bench\n", err);
        if ((e = ppml_dmlp_synthetic(&train, &test, 12396, 2038, 1568, 1, PPML_LOGREG_FRAC_X)))
            return cli_error("bench dmlp: synthetic data: %s", ppml_strerror(e));
        snprintf(data_name, sizeof data_name, "synthetic");
    }
    ppml_logreg_params lrp;
    ppml_logreg_params_default(&lrp);
    lrp.iters = iters;
    lrp.lr = lr;

    FILE *times = NULL, *accf = NULL, *brk = NULL;
    if (out_dir) {
        mkdir(out_dir, 0755);
        char path[1100];
        snprintf(path, sizeof path, "%s/times.dat", out_dir);
        times = fopen(path, "w");
        snprintf(path, sizeof path, "%s/accuracy.dat", out_dir);
        accf = fopen(path, "w");
        snprintf(path, sizeof path, "%s/breakdown.dat", out_dir);
        brk = fopen(path, "w");
        if (!times || !accf || !brk) {
            if (times)
                fclose(times);
            if (accf)
                fclose(accf);
            if (brk)
                fclose(brk);
            ppml_logreg_data_clear(&train);
            ppml_logreg_data_clear(&test);
            return cli_error("bench dmlp: cannot write to %s", out_dir);
        }
        fprintf(times, "# N eps encode_cp comm_cp comp_cp total_cp total_wall accuracy accuracy_nonprivate (eps -1 = inf)\n");
        fprintf(accf, "# N = 40 (or the largest N): iteration, accuracy for eps = 0.5 1 2 4 inf, non-private\n");
        fprintf(brk, "# largest N: eps encode_cp comm_cp comp_cp\n");
    }

    /* Non-private centralised reference, once (it depends on neither N nor eps). */
    int64_t *w = malloc((train.d + 1) * sizeof *w);
    double *acc_np = calloc(iters, sizeof *acc_np);
    double *acc_last[NEPS] = {0};
    int rc = 0;
    if (!w || !acc_np || (e = ppml_logreg_train(w, &train, &test, acc_np, &lrp))) {
        rc = cli_error("bench dmlp: reference training failed");
        goto out;
    }
    double acc_nonprivate = acc_np[iters - 1];
    ppml_dmlp_encoding enc;
    if ((e = encoding ? ppml_dmlp_encoding_bfv(&enc, 0, encoding == 2 ? PPML_DMLP_BFV_DIRECT : 0)
                      : ppml_dmlp_encoding_plain(&enc, 0))) {
        rc = cli_error("bench dmlp: %s", ppml_strerror(e));
        goto out;
    }
    nmax -= nmax % 5;
    for (uint32_t n = 5; n <= nmax; n += 5) {
        for (size_t k = 0; k < NEPS; k++) {
            if (o->quick && k != 1 && k != NEPS - 1)
                continue;
            if (eps_only != 0 && !(eps_list[k] == eps_only))
                continue;
            ppml_dmlp_config cfg = {.nodes = n, .lr = lrp, .eps = eps_list[k], .nonprivate = 0, .baseline = 0};
            ppml_dmlp_report rep = {0};
            cli_progress("bench dmlp: N=%u eps=%g ...", n, eps_list[k]);
            if ((e = ppml_dmlp_run_local(w, &rep, &train, &test, &cfg, &enc, NULL))) {
                ppml_dmlp_encoding_clear(&enc);
                rc = cli_error("bench dmlp: run N=%u failed: %s", n, ppml_strerror(e));
                goto out;
            }
            char et[32], params[160], extra[256];
            eps_text(et, sizeof et, eps_list[k]);
            snprintf(params, sizeof params, "{\"N\":%u,\"eps\":%s,\"m\":%zu,\"d\":%zu,\"iters\":%u}", n, et, train.m,
                     train.d, iters);
            snprintf(extra, sizeof extra,
                     "\"accuracy\":%.6f,\"accuracy_nonprivate\":%.6f,\"encoding\":\"%s\",\"data\":\"%s\",\"cs_threads\":%u",
                     rep.acc_final, acc_nonprivate, rep.encoding, data_name, rep.cs_threads);
            if (cli_progress_enabled())
                fputs("\r\033[K", stderr);
            report_one(o->json, "encode", params, rep.encode_cp, extra);
            report_one(o->json, "comm", params, rep.comm_cp, extra);
            report_one(o->json, "comp", params, rep.comp_cp, extra);
            report_one(o->json, "total_wall", params, rep.total_wall, extra);
            report_one(o->json, "total_critical_path", params, rep.total_cp, extra);
            if (times)
                fprintf(times, "%u %g %.6f %.6f %.6f %.6f %.6f %.6f %.6f\n", n, isinf(eps_list[k]) ? -1.0 : eps_list[k],
                        rep.encode_cp, rep.comm_cp, rep.comp_cp, rep.total_cp, rep.total_wall, rep.acc_final,
                        acc_nonprivate);
            if (n == nmax) {
                if (brk)
                    fprintf(brk, "%s %.6f %.6f %.6f\n", isinf(eps_list[k]) ? "inf" : et, rep.encode_cp, rep.comm_cp,
                            rep.comp_cp);
                acc_last[k] = rep.acc_iter;
                rep.acc_iter = NULL;
            }
            ppml_dmlp_report_clear(&rep);
        }
    }
    ppml_dmlp_encoding_clear(&enc);
    /* "Every host computes the whole dataset": one node's gradient work for the whole run. */
    {
        double t0 = (double)cli_now_ns();
        if ((e = ppml_logreg_train(w, &train, NULL, NULL, &lrp))) {
            rc = cli_error("bench dmlp: baseline failed");
            goto out;
        }
        char params[160];
        snprintf(params, sizeof params, "{\"N\":1,\"eps\":\"inf\",\"m\":%zu,\"d\":%zu,\"iters\":%u}", train.m, train.d,
                 iters);
        report_one(o->json, "baseline_whole_dataset_comp", params, ((double)cli_now_ns() - t0) * 1e-9,
                   "\"note\":\"one host computing every gradient (each host of the baseline does this)\"");
    }
    if (accf) {
        for (unsigned t = 0; t < iters; t++) {
            fprintf(accf, "%u", t + 1);
            for (size_t k = 0; k < NEPS; k++)
                fprintf(accf, " %.6f", acc_last[k] ? acc_last[k][t] : NAN);
            fprintf(accf, " %.6f\n", acc_np[t]);
        }
    }
    if (times) {
        fclose(times);
        times = NULL;
        fclose(accf);
        accf = NULL;
        fclose(brk);
        brk = NULL;
        char script[1100], cmd[2600];
        if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
            fprintf(stderr, "ppml: bench dmlp: gnuplot not found; data files are in %s/\n", out_dir);
        } else if (find_script(script, sizeof script) != 0) {
            fprintf(stderr, "ppml: bench dmlp: scripts/plot_dmlp.gp not found; data files are in %s/\n", out_dir);
        } else {
            snprintf(cmd, sizeof cmd, "gnuplot -e \"dir='%s'; nmax=%u; data='%s'; enc='%s'\" '%s' 2>/dev/null", out_dir, nmax,
                     data_name, encoding == 0 ? "plain-simulated" : encoding == 1 ? "bfv" : "bfv-direct", script);
            /* (stderr dropped: a sweep limited by --eps-only leaves some lines empty, which
             * gnuplot warns about; a real failure still shows in the exit status) */
            if (system(cmd) != 0)
                fprintf(stderr, "ppml: bench dmlp: gnuplot failed; data files are in %s/\n", out_dir);
            else
                fprintf(stderr, "ppml: bench dmlp: plots in %s/ (dmlp_time_vs_N.png, dmlp_breakdown.png, "
                                "dmlp_accuracy.png)\n", out_dir);
        }
    }
out:
    if (times)
        fclose(times);
    if (accf)
        fclose(accf);
    if (brk)
        fclose(brk);
    for (size_t k = 0; k < NEPS; k++)
        free(acc_last[k]);
    free(acc_np);
    free(w);
    ppml_logreg_data_clear(&train);
    ppml_logreg_data_clear(&test);
    return rc;
}
