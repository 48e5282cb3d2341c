/* ppml bench blocks [--bits 2048] [--threads T] [--max-batch N]: amortised cost per element
 * of the two-server building blocks (B2 b2_mul, B3 b3_inner, B4 b4_scalar_vec, B5 b5_sign,
 * truncate) at batch sizes 1, 64, 1024, CSS and CCS in one process (two threads joined by an
 * in-process channel), values of 32 bits, kappa = 40. median_ns etc. are per element
 * (per inner product for b3_inner, d = 4); per_call_ns is the median of a whole call;
 * cpu_ns is the median process CPU time per element (CSS and CCS both run in this process, so
 * it is the total work of both servers, and stays meaningful on a loaded machine), and
 * cpu_ratio_to_batch1 compares it with batch 1. --ops b2_mul,b5_sign restricts the ops.
 * --quick: a 1024-bit test-only key and batches 1, 8, 64. */
#include "cli.h"
#include "ppml/channel.h"
#include "ppml/paillier.h"
#include "ppml/proto.h"
#include "ppml/rand.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define VALUE_BITS 32
#define INNER_D 4

typedef struct ccs_ctx {
    ppml_channel *ch;
    const ppml_paillier_sk *sk;
    ppml_proto_opts opts;
    int rc;
} ccs_ctx;

static void *ccs_main(void *p)
{
    ccs_ctx *c = p;
    c->rc = ppml_proto_ccs_serve(c->ch, c->sk, &c->opts, PPML_TIMEOUT_INFINITE);
    return NULL;
}

static mpz_t *vec_enc(const ppml_paillier_pk *pk, size_t n)
{
    mpz_t *v = malloc((n ? n : 1) * sizeof(mpz_t));
    if (!v)
        return NULL;
    mpz_t *m = malloc((n ? n : 1) * sizeof(mpz_t));
    if (!m) {
        free(v);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        mpz_inits(v[i], m[i], NULL);
        int64_t x = (int64_t)ppml_rand_below((uint64_t)1 << (VALUE_BITS + 1)) - ((int64_t)1 << VALUE_BITS) + 1;
        mpz_set_si(m[i], x);
        mpz_mod(m[i], m[i], ppml_paillier_pk_n(pk));
    }
    /* inputs (not timed): batched encryption, all cores */
    if (ppml_paillier_encrypt_batch(pk, v, (const mpz_t *)m, n, 0) != PPML_OK)
        for (size_t i = 0; i < n; i++)
            mpz_set_ui(v[i], 1);
    for (size_t i = 0; i < n; i++)
        mpz_clear(m[i]);
    free(m);
    return v;
}

static void vec_free(mpz_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        mpz_clear(v[i]);
    free(v);
}

enum { OP_MUL, OP_INNER, OP_SCALAR, OP_SIGN, OP_TRUNC, NOPS };
static const char *op_names[NOPS] = {"b2_mul", "b3_inner", "b4_scalar_vec", "b5_sign", "truncate"};

static int run_op(ppml_proto_css *css, const ppml_paillier_pk *pk, int op, size_t batch, uint64_t *ns,
                  uint64_t *cpu)
{
    size_t nin = op == OP_INNER ? batch * INNER_D : batch;
    mpz_t *a = vec_enc(pk, nin), *b = vec_enc(pk, op == OP_INNER ? INNER_D : batch), *out = vec_enc(pk, batch);
    int rc = (a && b && out) ? PPML_OK : PPML_ENOMEM;
    uint64_t t0 = cli_now_ns(), c0 = cpu_ns();
    if (rc == PPML_OK) {
        switch (op) {
        case OP_MUL: rc = ppml_proto_mul(css, out, (const mpz_t *)a, (const mpz_t *)b, batch, VALUE_BITS); break;
        case OP_INNER:
            rc = ppml_proto_inner(css, out, (const mpz_t *)a, (const mpz_t *)b, batch, INNER_D, 1, VALUE_BITS);
            break;
        case OP_SCALAR: rc = ppml_proto_scalar_vec(css, out, b[0], (const mpz_t *)a, batch, VALUE_BITS); break;
        case OP_SIGN: rc = ppml_proto_sign(css, out, (const mpz_t *)a, batch, VALUE_BITS); break;
        default: rc = ppml_proto_truncate(css, out, (const mpz_t *)a, batch, 2 * VALUE_BITS - 1, 16); break;
        }
    }
    *ns = cli_now_ns() - t0;
    *cpu = cpu_ns() - c0;
    vec_free(a, nin);
    vec_free(b, op == OP_INNER ? INNER_D : batch);
    vec_free(out, batch);
    return rc;
}

int bench_blocks(const cli_bench_opts *o)
{
    int bits = o->quick ? 1024 : 2048, threads = 1;
    uint64_t max_batch = 1024;
    const char *ops = NULL;
    for (int i = 0; i < o->argc; i++) {
        const char *v;
        if (!strcmp(o->argv[i], "--bits")) {
            if (!(v = cli_value(o->argc, o->argv, &i)) || cli_parse_int("--bits", v, 2048, 8192, &bits))
                return 1;
        } else if (!strcmp(o->argv[i], "--threads")) {
            if (!(v = cli_value(o->argc, o->argv, &i)) || cli_parse_int("--threads", v, 1, 64, &threads))
                return 1;
        } else if (!strcmp(o->argv[i], "--max-batch")) {
            if (!(v = cli_value(o->argc, o->argv, &i)) ||
                cli_parse_u64("--max-batch", v, 1, 1 << 20, &max_batch))
                return 1;
        } else if (!strcmp(o->argv[i], "--ops")) {
            if (!(ops = cli_value(o->argc, o->argv, &i)))
                return 1;
        } else if (!strcmp(o->argv[i], "--reps")) {
            i++; /* handled by ppml bench */
        } else if (strcmp(o->argv[i], "--json") && strcmp(o->argv[i], "--quick")) {
            return cli_error("bench blocks: unknown option '%s'", o->argv[i]);
        }
    }
    size_t batches[3] = {1, 64, 1024};
    if (o->quick) {
        batches[1] = 8;
        batches[2] = 64;
    }
    ppml_paillier_sk *sk = NULL;
    int rc = o->quick ? ppml_paillier_keygen_insecure_for_tests(&sk, (unsigned)bits)
                      : ppml_paillier_keygen(&sk, (unsigned)bits);
    if (rc != PPML_OK)
        return cli_error("key generation failed: %s", ppml_strerror(rc));
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    ppml_channel *a = NULL, *b = NULL;
    if ((rc = ppml_channel_pair_inproc(&a, &b, 0, 0)) != PPML_OK) {
        ppml_paillier_sk_free(sk);
        return cli_error("channel: %s", ppml_strerror(rc));
    }
    ppml_proto_opts opts = {0, (unsigned)threads};
    ccs_ctx cc = {b, sk, opts, PPML_OK};
    pthread_t th;
    if (pthread_create(&th, NULL, ccs_main, &cc) != 0) {
        ppml_channel_free(a);
        ppml_channel_free(b);
        ppml_paillier_sk_free(sk);
        return cli_error("cannot start the CCS thread");
    }
    ppml_proto_css *css = NULL;
    rc = ppml_proto_css_new(&css, a, pk, &opts);
    ppml_channel_set_timeout(a, PPML_TIMEOUT_INFINITE);
    for (int op = 0; op < NOPS && rc == PPML_OK; op++) {
        if (ops && !strstr(ops, op_names[op]))
            continue;
        uint64_t base = 0, cpu_base = 0;
        for (size_t bi = 0; bi < 3 && rc == PPML_OK; bi++) {
            size_t batch = batches[bi];
            if (batch > max_batch)
                continue;
            int reps = o->reps ? o->reps : (batch >= 1024 ? 3 : batch >= 64 ? 5 : 9);
            cli_bench per_elem, per_call, per_cpu;
            cli_bench_init(&per_elem);
            cli_bench_init(&per_call);
            cli_bench_init(&per_cpu);
            for (int r = 0; r < reps && rc == PPML_OK; r++) {
                uint64_t ns = 0, cpu = 0;
                rc = run_op(css, pk, op, batch, &ns, &cpu);
                cli_bench_add(&per_elem, ns / batch);
                cli_bench_add(&per_cpu, cpu / batch);
                cli_bench_add(&per_call, ns);
                cli_progress("blocks %s batch %zu rep %d/%d", op_names[op], batch, r + 1, reps);
            }
            if (rc == PPML_OK) {
                uint64_t med = cli_bench_median(&per_elem), cmed = cli_bench_median(&per_cpu);
                if (bi == 0) {
                    base = med;
                    cpu_base = cmed;
                }
                char params[128], extra[192];
                snprintf(params, sizeof params, "{\"bits\":%d,\"batch\":%zu,\"threads\":%d,\"value_bits\":%d%s}",
                         bits, batch, threads, VALUE_BITS, op == OP_INNER ? ",\"d\":4" : "");
                snprintf(extra, sizeof extra,
                         "\"per_call_ns\":%llu,\"ratio_to_batch1\":%.3f,\"cpu_ns\":%llu,\"cpu_ratio_to_batch1\":%.3f",
                         (unsigned long long)cli_bench_median(&per_call), base ? (double)med / (double)base : 0.0,
                         (unsigned long long)cmed, cpu_base ? (double)cmed / (double)cpu_base : 0.0);
                cli_bench_report(o->json, "blocks", op_names[op], params, &per_elem, extra);
            }
            cli_bench_clear(&per_elem);
            cli_bench_clear(&per_call);
            cli_bench_clear(&per_cpu);
        }
    }
    int frc = css ? ppml_proto_css_finish(css) : PPML_EINVAL;
    if (frc != PPML_OK)
        ppml_channel_free(a), a = NULL; /* unblocks CCS */
    pthread_join(th, NULL);
    ppml_proto_css_free(css);
    ppml_channel_free(a);
    ppml_channel_free(b);
    ppml_paillier_sk_free(sk);
    if (rc != PPML_OK)
        return cli_error("bench blocks: %s", ppml_strerror(rc));
    return 0;
}
