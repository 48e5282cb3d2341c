/* ppml dmlp: scheme D (ACA-DMLP), distributed differentially private logistic regression.
 *
 *   ppml dmlp --local --nodes N [data] [options]      every party in this process
 *   mpirun -n N+1 ppml dmlp --mpi [data] [options]    rank 0 = cloud server + data centre,
 *                                                     ranks 1..N = workers
 *
 * In the MPI engine rank 0 plays both the cloud server (it runs the encoding stage before
 * distribution: noise and, with BFV, decryption shares) and the data centre (it relays the
 * secure-aggregation public keys, broadcasts w, receives only the masked sum through
 * MPI_Reduce with MPI_UINT64_T / MPI_SUM, i.e. arithmetic mod 2^64, and updates w). The two
 * roles are sequential phases of the run, so sharing the rank costs no parallelism; a
 * deployment that must keep CS and DC apart runs them on different hosts. Any error on any
 * rank ends the whole job with MPI_Abort and a one-line message; a rank that dies makes
 * mpirun end the job (OpenMPI's default), so nothing hangs. */
#include "cli.h"
#include "ppml/dmlp.h"
#include "ppml/idx.h"
#include "ppml/mem.h"
#include "ppml/rand.h"
#include "ppml/secagg.h"
#include "ppml/serial.h"

#include <math.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef PPML_HAVE_MPI
#include <mpi.h>
#endif

typedef struct dmlp_opts {
    int mpi;
    uint32_t nodes;
    const char *data;
    size_t syn_m, syn_d, syn_test;
    int synthetic;
    uint8_t class_a, class_b;
    const char *classes; /* --classes as given (IDX: numbers; CSV: label names) */
    size_t train_size;
    unsigned replicate;
    double eps;
    ppml_logreg_params lr;
    int seeded;
    uint64_t seed;
    const char *json, *model;
    const char *store, *task; /* --store FILE.db, --task NAME (dataset ids dp0/<task>/<k>) */
    unsigned threads;
    int quiet, nonprivate, baseline;
    int fail_rank, fail_round; /* test hook: that rank dies at that round */
    int bfv;                   /* encoding: 1 = BFV, 2 = BFV direct, 0 = plain-simulated stand-in */
} dmlp_opts;

static void usage(void)
{
    printf("usage: ppml dmlp --local --nodes N (--data DIR | --synthetic M D) [options]\n"
           "       mpirun -n N+1 ppml dmlp --mpi (--data DIR | --synthetic M D) [options]\n\n"
           "ACA-DMLP: the cloud server adds exact discrete-Laplace noise to every value, shuffles\n"
           "and splits the records between N workers; each round the workers' fixed-point\n"
           "logistic-regression gradients are combined by pairwise-masked secure aggregation.\n\n"
           "data:\n"
           "  --data DIR          MNIST-format IDX files (train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz])\n"
           "  --data FILE.csv     CSV with a header and a `label` column (--classes NAME_A,NAME_B\n"
           "                      when it has more than two classes); 80/20 stratified split\n"
           "  --classes A,B       the two classes (A -> label 0, B -> label 1). Default 0,2: on\n"
           "                      Fashion-MNIST, T-shirt/top vs pullover is about as hard for\n"
           "                      logistic regression as MNIST 3 vs 7 in the source (~95%%);\n"
           "                      Fashion-MNIST's 3 vs 7 (dress vs sneaker) is near 100%%\n"
           "  --train-size M      training records: the first M two-class records of train ++ t10k\n"
           "                      (default 12396; the rest are the test set)\n"
           "  --replicate R       replicate the pixels R times (default 2: d = 1568)\n"
           "  --synthetic M D     synthetic two-class task, M training records, D features\n"
           "  --test-size T       synthetic test records (default M/5)\n"
           "training:\n"
           "  --nodes N           workers (>= 2; with --mpi it must equal ranks - 1)\n"
           "  --eps E|inf         value-level epsilon (default 1); inf = no noise\n"
           "  --iters K           gradient steps (default %d)\n"
           "  --lr R              learning rate (default %g)\n"
           "  --encoding E        bfv (default): providers encrypt, the CS re-encrypts to the\n"
           "                      collective key, adds the noise inside the ciphertexts and sends\n"
           "                      decryption shares; plain: a stand-in without encryption that adds\n"
           "                      the same noise to plaintext values (reports say which);\n"
           "                      bfv-direct: providers encrypt under the collective key directly\n"
           "  --threads T         cloud-server / provider threads (default: CPUs online)\n"
           "  --no-nonprivate     skip the non-private centralised reference\n"
           "  --no-baseline       skip the one-node-on-the-union baseline (local engine)\n"
           "output:\n"
           "  --json FILE         write the JSON report (- = stdout)\n"
           "  --store FILE.db     keep every provider upload (ciphertexts, key, signed Merkle\n"
           "                      root) in an SQLite store as dataset dp0/<task>/<k>, k = 0..N-1;\n"
           "                      check them with `ppml verify` (bfv encodings, --local)\n"
           "  --task NAME         the <task> of those ids (default: the data's file name, or\n"
           "                      synthetic)\n"
           "  --model FILE        write the model (d + 1 fixed-point weights, text)\n"
           "  --quiet             no summary on stdout\n"
           "test only:\n"
           "  --seed S            deterministic randomness (TEST ONLY: noise becomes predictable)\n",
           PPML_LOGREG_DEFAULT_ITERS, PPML_LOGREG_DEFAULT_LR);
}

static int is_csv(const char *path)
{
    size_t l = strlen(path);
    return l >= 4 && !strcmp(path + l - 4, ".csv");
}

static int parse(dmlp_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->class_a = 0; /* Fashion-MNIST T-shirt/top vs pullover: see usage() */
    o->class_b = 2;
    o->train_size = 12396;
    o->replicate = 2;
    o->eps = 1.0;
    o->nonprivate = o->baseline = 1;
    o->fail_rank = -1;
    o->bfv = 1;
    ppml_logreg_params_default(&o->lr);
    int local = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        uint64_t u;
        int k;
        if (!strcmp(a, "--local")) {
            local = 1;
        } else if (!strcmp(a, "--mpi")) {
            o->mpi = 1;
        } else if (!strcmp(a, "--nodes")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64(a, v, 0, PPML_DMLP_MAX_NODES, &u))
                return 1;
            o->nodes = (uint32_t)u;
        } else if (!strcmp(a, "--data")) {
            if (!(o->data = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--synthetic")) {
            if (i + 2 >= argc)
                return cli_error("--synthetic needs M and D");
            if (cli_parse_u64("--synthetic M", argv[i + 1], 1, PPML_LOGREG_MAX_M, &u))
                return 1;
            o->syn_m = u;
            if (cli_parse_u64("--synthetic D", argv[i + 2], 1, PPML_LOGREG_MAX_D, &u))
                return 1;
            o->syn_d = u;
            o->synthetic = 1;
            i += 2;
        } else if (!strcmp(a, "--test-size")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64(a, v, 1, PPML_LOGREG_MAX_M, &u))
                return 1;
            o->syn_test = u;
        } else if (!strcmp(a, "--classes")) {
            if (!(o->classes = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--train-size")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64(a, v, 0, PPML_LOGREG_MAX_M, &u))
                return 1;
            o->train_size = u;
        } else if (!strcmp(a, "--replicate")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 64, &k))
                return 1;
            o->replicate = (unsigned)k;
        } else if (!strcmp(a, "--eps")) {
            if (!(v = cli_value(argc, argv, &i)))
                return 1;
            if (!strcmp(v, "inf") || !strcmp(v, "infinity"))
                o->eps = INFINITY;
            else if (cli_parse_double(a, v, -1e300, 1e300, &o->eps))
                return 1;
            else if (!(o->eps >= PPML_DMLP_EPS_MIN && o->eps <= PPML_DMLP_EPS_MAX))
                return cli_error("--eps: epsilon must be in [%g, %g] or inf, got '%s'", PPML_DMLP_EPS_MIN,
                                 PPML_DMLP_EPS_MAX, v);
        } else if (!strcmp(a, "--iters")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 100000, &k))
                return 1;
            o->lr.iters = (unsigned)k;
        } else if (!strcmp(a, "--lr")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_double(a, v, 1e-9, 1e6, &o->lr.lr))
                return 1;
        } else if (!strcmp(a, "--encoding")) {
            if (!(v = cli_value(argc, argv, &i)))
                return 1;
            if (!strcmp(v, "bfv"))
                o->bfv = 1;
            else if (!strcmp(v, "bfv-direct"))
                o->bfv = 2;
            else if (!strcmp(v, "plain") || !strcmp(v, "plain-simulated"))
                o->bfv = 0;
            else
                return cli_error("--encoding: expected bfv, bfv-direct or plain, got '%s'", v);
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 64, &k))
                return 1;
            o->threads = (unsigned)k;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_u64(a, v, 0, UINT64_MAX, &o->seed))
                return 1;
            o->seeded = 1;
        } else if (!strcmp(a, "--json")) {
            if (!(o->json = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--store")) {
            if (!(o->store = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--task")) {
            if (!(o->task = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--model")) {
            if (!(o->model = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else if (!strcmp(a, "--no-nonprivate")) {
            o->nonprivate = 0;
        } else if (!strcmp(a, "--no-baseline")) {
            o->baseline = 0;
        } else if (!strcmp(a, "--test-fail-rank")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 0, PPML_DMLP_MAX_NODES, &o->fail_rank))
                return 1;
        } else if (!strcmp(a, "--test-fail-round")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 0, 100000, &o->fail_round))
                return 1;
        } else {
            return cli_error("dmlp: unknown option '%s' (ppml dmlp --help)", a);
        }
    }
    if (local && o->mpi)
        return cli_error("dmlp: choose one of --local and --mpi");
    if (o->classes && !(o->data && is_csv(o->data))) {
        unsigned ca, cb;
        char extra;
        if (sscanf(o->classes, "%u,%u%c", &ca, &cb, &extra) != 2 || ca > 255 || cb > 255 || ca == cb)
            return cli_error("--classes: expected two different labels A,B in 0..255, got '%s'", o->classes);
        o->class_a = (uint8_t)ca;
        o->class_b = (uint8_t)cb;
    }
    if (!!o->data + o->synthetic != 1)
        return cli_error("dmlp: give exactly one of --data DIR and --synthetic M D");
    if (o->store && (o->mpi || !o->bfv))
        return cli_error("dmlp: --store needs --local and a bfv encoding (plain-simulated has no ciphertexts)");
    if (o->task && !o->store)
        return cli_error("dmlp: --task only names stored uploads: give --store FILE.db too");
    if (!o->mpi && o->nodes < 2)
        return cli_error("dmlp: --nodes N with N >= 2 is required (got %u)", o->nodes);
    if (o->synthetic && !o->syn_test)
        o->syn_test = o->syn_m / 5 ? o->syn_m / 5 : 1;
    return 0;
}

static void seed_rng(uint64_t seed, uint64_t salt)
{
    uint8_t s[PPML_SEED_BYTES] = {0};
    for (int i = 0; i < 8; i++) {
        s[i] = (uint8_t)(seed >> (8 * i));
        s[8 + i] = (uint8_t)(salt >> (8 * i));
    }
    ppml_rand_set_test_seed(s);
}

/* Load the task; on failure prints the error and returns non-zero. */
static int load_task(const dmlp_opts *o, ppml_logreg_data *train, ppml_logreg_data *test, char *desc, size_t desc_len)
{
    char err[PPML_ERR_LEN] = "";
    int e;
    if (o->synthetic) {
        if ((e = ppml_dmlp_synthetic(train, test, o->syn_m, o->syn_test, o->syn_d, o->seeded ? o->seed : 0,
                                     PPML_LOGREG_FRAC_X)))
            return cli_error("dmlp: cannot make synthetic data: %s", ppml_strerror(e));
        snprintf(desc, desc_len, "synthetic two-class task (m=%zu, d=%zu, test=%zu)", o->syn_m, o->syn_d, o->syn_test);
        return 0;
    }
    if (is_csv(o->data)) {
        char a[128] = "", b[128] = "";
        if (o->classes) {
            const char *comma = strchr(o->classes, ',');
            if (!comma || comma == o->classes || !comma[1] || strchr(comma + 1, ',') ||
                (size_t)(comma - o->classes) >= sizeof a || strlen(comma + 1) >= sizeof b)
                return cli_error("--classes: expected two label names A,B, got '%s'", o->classes);
            memcpy(a, o->classes, (size_t)(comma - o->classes));
            snprintf(b, sizeof b, "%s", comma + 1);
        }
        if ((e = ppml_dmlp_load_csv(train, test, o->data, o->classes ? a : NULL, o->classes ? b : NULL, 0.2,
                                    PPML_LOGREG_FRAC_X, err)))
            return cli_error("dmlp: %s", err[0] ? err : ppml_strerror(e));
        snprintf(desc, desc_len, "CSV %.160s, 80/20 stratified split, features min-max scaled to [0,1] with the "
                                 "training rows' bounds", o->data);
        return 0;
    }
    if ((e = ppml_idx_load_task(train, test, o->data, o->class_a, o->class_b, o->train_size, o->replicate,
                                PPML_LOGREG_FRAC_X, err)))
        return cli_error("dmlp: %s", err[0] ? err : ppml_strerror(e));
    snprintf(desc, desc_len, "IDX %.160s, classes %u vs %u, pixels replicated x%u", o->data, o->class_a,
             o->class_b, o->replicate);
    return 0;
}

static int write_outputs(const dmlp_opts *o, const ppml_dmlp_report *rep, const int64_t *w, size_t d1)
{
    if (o->model) {
        size_t cap = 128 + d1 * 24, len = 0;
        char *buf = malloc(cap);
        if (!buf)
            return cli_error("out of memory");
        len += (size_t)snprintf(buf, cap, "# ppml dmlp model: %zu int64 weights (last = intercept), frac_w=%u\n", d1,
                                rep->lr.frac_w);
        for (size_t j = 0; j < d1; j++)
            len += (size_t)snprintf(buf + len, cap - len, "%lld\n", (long long)w[j]);
        int e = ppml_file_write_atomic(o->model, buf, len, 0644);
        free(buf);
        if (e)
            return cli_error("dmlp: cannot write %s: %s", o->model, ppml_strerror(e));
    }
    char *js = NULL;
    if (o->json) {
        int e = ppml_dmlp_report_json(&js, rep);
        if (e)
            return cli_error("dmlp: cannot make the report: %s", ppml_strerror(e));
        if (!strcmp(o->json, "-")) {
            printf("%s\n", js);
        } else {
            size_t l = strlen(js);
            js[l] = '\n';
            e = ppml_file_write_atomic(o->json, js, l + 1, 0644);
            if (e) {
                free(js);
                return cli_error("dmlp: cannot write %s: %s", o->json, ppml_strerror(e));
            }
        }
        free(js);
    }
    if (!o->quiet && !(o->json && !strcmp(o->json, "-"))) {
        printf("ACA-DMLP (%s, encoding %s): N=%u m=%zu d=%zu eps=%g (record-level %g) iters=%u\n", rep->engine,
               rep->encoding, rep->nodes, rep->m, rep->d, rep->dp.eps, rep->dp.eps * (double)rep->d, rep->lr.iters);
        printf("  accuracy %.4f", rep->acc_final);
        if (rep->acc_nonprivate >= 0)
            printf(" (non-private %.4f)", rep->acc_nonprivate);
        printf("\n  time [s]  critical path: total %.3f = encode %.3f + comm %.3f + comp %.3f\n", rep->total_cp,
               rep->encode_cp, rep->comm_cp, rep->comp_cp);
        printf("            measured wall: total %.3f (encode %.3f, comm %.3f, comp %.3f)\n", rep->total_wall,
               rep->encode_wall, rep->comm_wall, rep->comp_wall);
        printf("  encode [s]: key set-up %.3f, provider %.3f, cloud server %.3f, slowest worker %.3f\n",
               rep->enc_setup_s, rep->enc_provider_s, rep->enc_cs_s, rep->enc_worker_max_s);
        if (rep->baseline_equal >= 0)
            printf("  one node on the union of the noisy partitions: %s model, comp %.3f s\n",
                   rep->baseline_equal == 1 ? "same" : "DIFFERENT", rep->baseline_comp_s);
        if (rep->nonprivate_equal >= 0)
            printf("  eps = inf: %s model as plain centralised training\n",
                   rep->nonprivate_equal == 1 ? "same" : "DIFFERENT");
    }
    return 0;
}

/* The <task> of stored dataset ids: --task, else the data's file name (characters outside
 * [A-Za-z0-9._-] become '_'), else "synthetic". */
static void task_name(const dmlp_opts *o, char *out, size_t len)
{
    const char *src = o->task ? o->task : "synthetic";
    if (!o->task && o->data) {
        size_t l = strlen(o->data);
        while (l > 1 && o->data[l - 1] == '/')
            l--;
        size_t b = l;
        while (b > 0 && o->data[b - 1] != '/')
            b--;
        size_t n = l - b < len - 1 ? l - b : len - 1;
        for (size_t i = 0; i < n; i++) {
            char ch = o->data[b + i];
            int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                     ch == '_' || ch == '-';
            out[i] = ok ? ch : '_';
        }
        out[n] = 0;
        if (n)
            return;
    }
    snprintf(out, len, "%s", src);
}

static int run_local(const dmlp_opts *o)
{
    if (o->seeded) {
        fprintf(stderr, "ppml: warning: --seed is for tests only: the noise is predictable\n");
        seed_rng(o->seed, 0);
    }
    ppml_logreg_data train = {0}, test = {0};
    ppml_dmlp_report rep = {0};
    if (load_task(o, &train, &test, rep.data, sizeof rep.data))
        return 1;
    int rc = 1, e;
    int64_t *w = NULL;
    ppml_dmlp_encoding enc = {0};
    ppml_store *store = NULL;
    if (o->nodes > train.m) {
        cli_error("dmlp: %u workers but only %zu training records", o->nodes, train.m);
        goto out;
    }
    if (!(w = malloc((train.d + 1) * sizeof *w))) {
        cli_error("out of memory");
        goto out;
    }
    if ((e = o->bfv ? ppml_dmlp_encoding_bfv(&enc, o->threads, o->bfv == 2 ? PPML_DMLP_BFV_DIRECT : 0) : ppml_dmlp_encoding_plain(&enc, o->threads))) {
        cli_error("dmlp: encoding set-up failed: %s", ppml_strerror(e));
        goto out;
    }
    char task[201];
    if (o->store) {
        char err[PPML_ERR_LEN] = "";
        if ((e = ppml_store_open(&store, o->store, err))) {
            cli_error("dmlp: cannot open store '%s': %s%s%s", o->store, ppml_strerror(e), *err ? ": " : "", err);
            goto out;
        }
        task_name(o, task, sizeof task);
        if ((e = ppml_dmlp_encoding_set_store(&enc, store, task))) {
            cli_error("dmlp: --task '%s': expected 1..200 characters of A-Z a-z 0-9 . _ -", task);
            goto out;
        }
        char first[PPML_DATASET_ID_MAX + 1];
        snprintf(first, sizeof first, "dp0/%s/0", task);
        if (ppml_store_dataset_info(store, first, NULL, NULL, NULL) == PPML_OK) {
            cli_error("dmlp: store '%s' already holds uploads of task '%s': choose another --task or file", o->store,
                      task);
            goto out;
        }
    }
    ppml_dmlp_config cfg = {.nodes = o->nodes, .lr = o->lr, .eps = o->eps, .nonprivate = o->nonprivate,
                            .baseline = o->baseline};
    if ((e = ppml_dmlp_run_local(w, &rep, &train, &test, &cfg, &enc, NULL))) {
        cli_error("dmlp: run failed: %s", ppml_strerror(e));
        goto out;
    }
    rc = write_outputs(o, &rep, w, train.d + 1);
    if (rc == 0 && store && !o->quiet) {
        uint8_t pk[PPML_SIGN_PK_BYTES];
        char hex[2 * PPML_SIGN_PK_BYTES + 1];
        if (ppml_dmlp_encoding_upload_key(&enc, pk) == PPML_OK) {
            for (size_t i = 0; i < sizeof pk; i++)
                snprintf(hex + 2 * i, 3, "%02x", pk[i]);
            printf("  stored %u uploads in %s: datasets dp0/%s/0..%u, provider key %s\n", o->nodes, o->store, task,
                   o->nodes - 1, hex);
        }
    }
out:
    ppml_dmlp_encoding_clear(&enc);
    ppml_store_close(store);
    ppml_dmlp_report_clear(&rep);
    ppml_logreg_data_clear(&train);
    ppml_logreg_data_clear(&test);
    free(w);
    return rc;
}

#ifdef PPML_HAVE_MPI
static double wtime(void) { return MPI_Wtime(); }

/* Any failure on any rank: one message, then the whole job ends. */
static void die(int rank, const char *what, int code) __attribute__((noreturn));
static void die(int rank, const char *what, int code)
{
    fprintf(stderr, "ppml: error: dmlp rank %d: %s%s%s\n", rank, what, code ? ": " : "",
            code ? ppml_strerror(code) : "");
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

static void mpi_check(int rank, int mrc, const char *what)
{
    if (mrc != MPI_SUCCESS)
        die(rank, what, 0);
}

enum { H_M, H_D, H_FRACX, H_MTEST, H_ITERS, H_FRACW, H_FRACR, H_LEN };

static int run_mpi(const dmlp_opts *o)
{
    int provided = 0, rank = 0, size = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return cli_error("dmlp: MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    const uint32_t n = size > 0 ? (uint32_t)size - 1 : 0;
    if (size < 3 || (o->nodes && o->nodes != n)) {
        if (rank == 0) {
            if (size < 3)
                cli_error("dmlp --mpi needs at least 3 ranks (data centre + N >= 2 workers), got %d", size);
            else
                cli_error("dmlp --mpi: --nodes %u but %d ranks (need N + 1 = %u)", o->nodes, size, o->nodes + 1);
        }
        MPI_Finalize();
        return 1;
    }
    if (o->seeded) {
        if (rank == 0)
            fprintf(stderr, "ppml: warning: --seed is for tests only: the noise is predictable\n");
        seed_rng(o->seed, (uint64_t)rank);
    }
    const ppml_logreg_params *p = &o->lr;
    double t_begin = wtime();
    ppml_logreg_data train = {0}, test = {0}, part = {0};
    ppml_dmlp_report rep = {0};
    ppml_dmlp_dp dp = {0};
    ppml_dmlp_encoding enc = {0};
    uint64_t hdr[H_LEN] = {0};
    int e;
    /* The encoding: rank 0 (cloud server, data provider, analyst) sets up the keys; the
     * workers get the parameters and the analyst's share s_DA (DA-internal). */
    if (rank == 0 && (e = o->bfv ? ppml_dmlp_encoding_bfv(&enc, o->threads, o->bfv == 2 ? PPML_DMLP_BFV_DIRECT : 0) : ppml_dmlp_encoding_plain(&enc, o->threads)))
        die(0, "encoding set-up", e);
    {
        uint64_t mlen = 0;
        size_t mat_len = 0;
        uint8_t *mat = NULL;
        if (rank == 0 && enc.worker_material && (e = enc.worker_material(enc.ctx, &mat, &mat_len)))
            die(0, "encoding material", e);
        mlen = mat_len;
        mpi_check(rank, MPI_Bcast(&mlen, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "broadcast of key material");
        if (mlen > (1u << 30))
            die(rank, "key material too large", 0);
        if (rank != 0 && !(mat = malloc(mlen ? mlen : 1)))
            die(rank, "out of memory", 0);
        if (mlen)
            mpi_check(rank, MPI_Bcast(mat, (int)mlen, MPI_BYTE, 0, MPI_COMM_WORLD), "broadcast of key material");
        if (rank != 0 && (e = ppml_dmlp_encoding_worker(&enc, o->bfv == 2 ? "bfv-direct" : o->bfv ? "bfv" : "plain-simulated", mat, mlen)))
            die(rank, "encoding (worker side)", e);
        ppml_free_secret(mat, mlen);
    }

    /* Rank 0 loads the data and tells the workers the shape. */
    if (rank == 0) {
        if (load_task(o, &train, &test, rep.data, sizeof rep.data))
            die(0, "cannot load the data (see above)", 0);
        if (train.m < n)
            die(0, "fewer training records than workers", 0);
        hdr[H_M] = train.m;
        hdr[H_D] = train.d;
        hdr[H_FRACX] = train.frac_x;
        hdr[H_MTEST] = test.m;
        hdr[H_ITERS] = p->iters;
        hdr[H_FRACW] = p->frac_w;
        hdr[H_FRACR] = p->frac_r;
    }
    mpi_check(rank, MPI_Bcast(hdr, H_LEN, MPI_UINT64_T, 0, MPI_COMM_WORLD), "broadcast of the task shape");
    const size_t m = hdr[H_M], d = hdr[H_D], d1 = d + 1;
    const unsigned frac_x = (unsigned)hdr[H_FRACX];
    if (hdr[H_ITERS] != p->iters || hdr[H_FRACW] != p->frac_w || hdr[H_FRACR] != p->frac_r || d < 1 ||
        d > PPML_LOGREG_MAX_D || m < n || m > PPML_LOGREG_MAX_M || frac_x > 14)
        die(rank, "ranks disagree on the parameters (same command line on every rank?)", 0);
    if ((e = ppml_dmlp_dp_init(&dp, o->eps, frac_x, d)))
        die(rank, "bad epsilon", e);
    size_t *start = malloc((n + 1) * sizeof *start);
    if (!start)
        die(rank, "out of memory", 0);
    ppml_dmlp_partition(start, m, n);

    /* Stage 1 — encoding and distribution (rank 0 as the cloud server). */
    double encode_cs = enc.setup_s, dist_comm = 0, worker_enc = 0, enc_provider = 0;
    uint64_t comm_bytes = 0;
    if (rank == 0) {
        uint32_t *perm = malloc(m * sizeof *perm);
        int32_t *clean = malloc((start[1] - start[0]) * d * sizeof *clean);
        uint8_t *ybuf = malloc(start[1] - start[0]);
        if (!perm || !clean || !ybuf)
            die(0, "out of memory", 0);
        double t0 = wtime();
        if ((e = ppml_dmlp_shuffle(perm, m)))
            die(0, "shuffle", e);
        encode_cs += wtime() - t0;
        for (uint32_t j = 0; j < n; j++) {
            size_t rows = start[j + 1] - start[j];
            ppml_dmlp_encode_times et = {0};
            double t1 = wtime();
            ppml_dmlp_gather(clean, ybuf, &train, perm, start[j], start[j + 1]);
            et.cs_s = wtime() - t1;
            uint8_t *msg = NULL;
            size_t len = 0;
            if ((e = enc.cs_prepare(enc.ctx, &msg, &len, clean, rows * d, &dp, &et)))
                die(0, "encoding", e);
            encode_cs += et.cs_s + et.provider_s;
            enc_provider += et.provider_s;
            if (len > (size_t)INT32_MAX)
                die(0, "a partition message exceeds 2 GiB (use more workers)", 0);
            double t2 = wtime();
            uint64_t len64 = len;
            mpi_check(0, MPI_Send(&len64, 1, MPI_UINT64_T, (int)j + 1, 1, MPI_COMM_WORLD), "send");
            mpi_check(0, MPI_Send(msg, (int)len, MPI_BYTE, (int)j + 1, 2, MPI_COMM_WORLD), "send");
            mpi_check(0, MPI_Send(ybuf, (int)rows, MPI_BYTE, (int)j + 1, 3, MPI_COMM_WORLD), "send");
            dist_comm += wtime() - t2;
            comm_bytes += len + rows + 8;
            ppml_free_secret(msg, len);
        }
        ppml_memzero(clean, (start[1] - start[0]) * d * sizeof *clean);
        free(clean);
        free(ybuf);
        free(perm);
    } else {
        size_t rows = start[rank] - start[rank - 1];
        if ((e = ppml_logreg_data_alloc(&part, rows, d, frac_x)))
            die(rank, "allocation of the partition", e);
        uint64_t len64 = 0;
        mpi_check(rank, MPI_Recv(&len64, 1, MPI_UINT64_T, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive");
        /* bound: 64 bytes a value (plain: 4) or 4 MiB per 8192-slot ciphertext (BFV: ~0.8) */
        if (len64 > (uint64_t)INT32_MAX || len64 > 65536 + (uint64_t)rows * d * 64 + ((uint64_t)rows * d / 8192 + 1) * (4u << 20))
            die(rank, "partition message too large", 0);
        uint8_t *msg = malloc(len64 ? len64 : 1);
        if (!msg)
            die(rank, "out of memory", 0);
        mpi_check(rank, MPI_Recv(msg, (int)len64, MPI_BYTE, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive");
        mpi_check(rank, MPI_Recv(part.y, (int)rows, MPI_BYTE, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive");
        ppml_dmlp_encode_times et = {0};
        if ((e = enc.worker_recover(enc.ctx, part.x, rows * d, msg, len64, &et)))
            die(rank, "malformed partition message", e);
        ppml_free_secret(msg, len64);
        for (size_t i = 0; i < rows; i++)
            if (part.y[i] > 1)
                die(rank, "label out of range in the partition", 0);
        worker_enc = et.worker_s;
    }
    double enc_worker_max = 0;
    mpi_check(rank, MPI_Reduce(&worker_enc, &enc_worker_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD), "reduce");

    /* Secure-aggregation keys: workers' public keys gathered and relayed by rank 0. */
    double tk = wtime();
    uint8_t pk[32] = {0}, sk[32] = {0};
    uint8_t *pks = malloc((size_t)size * 32);
    ppml_secagg_party *sa = NULL;
    if (!pks)
        die(rank, "out of memory", 0);
    if (rank > 0 && (e = ppml_secagg_keygen(pk, sk)))
        die(rank, "key generation", e);
    mpi_check(rank, MPI_Gather(pk, 32, MPI_BYTE, pks, 32, MPI_BYTE, 0, MPI_COMM_WORLD), "gather of public keys");
    mpi_check(rank, MPI_Bcast(pks, size * 32, MPI_BYTE, 0, MPI_COMM_WORLD), "broadcast of public keys");
    if (rank > 0 && (e = ppml_secagg_party_new(&sa, (uint32_t)rank - 1, n, sk, pks + 32)))
        die(rank, "pairwise seeds", e);
    ppml_memzero(sk, sizeof sk);
    double keys_s = wtime() - tk, keys_max = 0;
    mpi_check(rank, MPI_Reduce(&keys_s, &keys_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD), "reduce");
    comm_bytes += (uint64_t)size * 32 * (n + 1);

    /* Stage 2 — rounds. */
    int64_t *w = calloc(d1, sizeof *w);
    uint64_t *g = calloc(d1, sizeof *g), *sum = calloc(d1, sizeof *sum);
    double *comp = calloc(p->iters, sizeof *comp), *comp_all = NULL;
    double *acc = calloc(p->iters, sizeof *acc);
    if (!w || !g || !sum || !comp || !acc)
        die(rank, "out of memory", 0);
    double round_wall = 0, dc_comp = 0;
    for (unsigned t = 0; t < p->iters; t++) {
        double tr = wtime();
        mpi_check(rank, MPI_Bcast(w, (int)d1, MPI_INT64_T, 0, MPI_COMM_WORLD), "broadcast of w");
        if (rank == o->fail_rank && (int)t == o->fail_round) {
            fprintf(stderr, "ppml: dmlp rank %d: test hook: exiting abruptly in round %u\n", rank, t);
            fflush(stderr);
            _Exit(3);
        }
        memset(g, 0, d1 * sizeof *g);
        if (rank > 0) {
            double t1 = wtime();
            ppml_logreg_gradient_acc(g, part.x, part.y, part.m, d, frac_x, w, p);
            if ((e = ppml_secagg_mask(sa, g, d1, t)))
                die(rank, "masking", e);
            comp[t] = wtime() - t1;
        }
        mpi_check(rank, MPI_Reduce(g, sum, (int)d1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD), "reduce of gradients");
        if (rank == 0) {
            double t2 = wtime();
            ppml_logreg_update(w, sum, d, m, frac_x, p);
            comp[t] = wtime() - t2;
            dc_comp += comp[t];
            round_wall += wtime() - tr;
            if ((e = ppml_logreg_accuracy(&acc[t], w, &test, p)))
                die(0, "accuracy", e);
            cli_progress("dmlp: round %u/%u accuracy %.4f", t + 1, p->iters, acc[t]);
        }
        comm_bytes += (uint64_t)n * d1 * 16;
    }
    if (rank == 0 && cli_progress_enabled())
        fputc('\n', stderr);
    if (rank == 0 && !(comp_all = calloc((size_t)size * p->iters, sizeof *comp_all)))
        die(0, "out of memory", 0);
    mpi_check(rank, MPI_Gather(comp, (int)p->iters, MPI_DOUBLE, comp_all, (int)p->iters, MPI_DOUBLE, 0, MPI_COMM_WORLD),
              "gather of timings");
    int rc = 0;
    if (rank == 0) {
        double total_wall = wtime() - t_begin;
        double comp_cp = keys_max, comp_wall = keys_max, comm_rounds = 0;
        for (unsigned t = 0; t < p->iters; t++) {
            double slowest = 0;
            for (int r = 1; r < size; r++) {
                double c = comp_all[(size_t)r * p->iters + t];
                slowest = c > slowest ? c : slowest;
                comp_wall += c;
            }
            comp_cp += slowest + comp_all[t];
            comp_wall += comp_all[t];
            comm_rounds -= slowest + comp_all[t];
        }
        comm_rounds += round_wall;
        if (comm_rounds < 0)
            comm_rounds = 0;
        snprintf(rep.encoding, sizeof rep.encoding, "%s", enc.name);
        snprintf(rep.engine, sizeof rep.engine, "mpi");
        rep.m = m;
        rep.d = d;
        rep.m_test = test.m;
        rep.nodes = n;
        rep.lr = *p;
        rep.dp = dp;
        rep.frac_x = frac_x;
        rep.cs_threads = enc.threads;
        rep.enc_setup_s = enc.setup_s;
        rep.enc_provider_s = enc_provider;
        rep.enc_cs_s = encode_cs - enc.setup_s - enc_provider;
        rep.enc_worker_max_s = enc_worker_max;
        rep.encode_wall = encode_cs + enc_worker_max;
        rep.encode_cp = encode_cs + enc_worker_max;
        rep.comm_wall = rep.comm_cp = dist_comm + comm_rounds;
        rep.comp_wall = comp_wall;
        rep.comp_cp = comp_cp;
        rep.keys_wall = keys_max;
        rep.total_wall = total_wall;
        rep.total_cp = rep.encode_cp + rep.comm_cp + rep.comp_cp;
        rep.comm_bytes = comm_bytes;
        rep.acc_iter = acc;
        acc = NULL;
        rep.acc_final = rep.acc_iter[p->iters - 1];
        rep.acc_nonprivate = -1;
        rep.baseline_comp_s = -1;
        rep.baseline_equal = -1;
        rep.nonprivate_equal = -1;
        ppml_dmlp_model_hash(rep.model_hash, w, d1);
        if (o->nonprivate) {
            int64_t *w2 = malloc(d1 * sizeof *w2);
            rep.acc_iter_nonprivate = calloc(p->iters, sizeof *rep.acc_iter_nonprivate);
            if (!w2 || !rep.acc_iter_nonprivate || (e = ppml_logreg_train(w2, &train, &test, rep.acc_iter_nonprivate, p)))
                die(0, "non-private reference training", e);
            rep.acc_nonprivate = rep.acc_iter_nonprivate[p->iters - 1];
            if (isinf(dp.eps))
                rep.nonprivate_equal = memcmp(w2, w, d1 * sizeof *w) == 0;
            free(w2);
        }
        rc = write_outputs(o, &rep, w, d1);
    }
    ppml_secagg_party_free(sa);
    ppml_dmlp_report_clear(&rep);
    ppml_dmlp_encoding_clear(&enc);
    ppml_logreg_data_clear(&train);
    ppml_logreg_data_clear(&test);
    ppml_logreg_data_clear(&part);
    free(start);
    free(pks);
    free(w);
    free(g);
    free(sum);
    free(comp);
    free(comp_all);
    free(acc);
    MPI_Finalize();
    return rc;
}
#endif

int cmd_dmlp(int argc, char **argv)
{
#ifdef __GLIBC__
    /* BFV objects are 256-512 KiB: above glibc's mmap threshold each allocation would be a
     * fresh mmap (page faults and zeroing every time). Keep them on the heap. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    if (cli_wants_help(argc, argv))
        return usage(), 0;
    dmlp_opts o;
    if (parse(&o, argc, argv))
        return 1;
    if (o.mpi) {
#ifdef PPML_HAVE_MPI
        return run_mpi(&o);
#else
        return cli_error("dmlp: this build has no MPI (use --local)");
#endif
    }
    return run_local(&o);
}
