/* ppml bench paillier [--bits 2048|3072]: key generation, the four encryption forms, both
 * decryptions, homomorphic operations and packing (per value, 32-bit values, a full
 * ciphertext's worth). Ratios against the naive forms are printed on the relevant lines
 * (same run, same key): speedup_vs_naive (encrypt_djn, encrypt_crt, encrypt_djn_crt (DJN
 * with the secret key, by CRT) vs encrypt_naive;
 * decrypt_crt vs decrypt_naive), speedup_vs_unpacked (packed per value vs one DJN
 * encryption / one CRT decryption per value) and speedup_vs_single (encrypt_batch and
 * decrypt_batch: 64 values through ppml_paillier_encrypt_batch / _decrypt_batch on one
 * thread, eight per pass of the AVX-512 IFMA multi-buffer arithmetic where the CPU has it,
 * per value, vs encrypt_djn / decrypt_crt). */
#include "cli.h"
#include "ppml/paillier.h"
#include "ppml/rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*op_fn)(void *ctx, int i);

typedef struct {
    const ppml_paillier_sk *sk;
    const ppml_paillier_pk *pk;
    mpz_t *m, *c, out, k;
    int64_t *vals, *dec;
    mpz_t *packed;
    mpz_t *bm, *bc; /* BATCH values and their ciphertexts */
    size_t nvals, npacked;
    unsigned value_bits;
    unsigned bits;
} bctx;

#define NSAMPLES 8
#define BATCH 64

static int op_enc_naive(void *p, int i)
{
    bctx *x = p;
    return ppml_paillier_encrypt_naive(x->pk, x->out, x->m[i % NSAMPLES]);
}
static int op_enc_djn(void *p, int i)
{
    bctx *x = p;
    return ppml_paillier_encrypt(x->pk, x->out, x->m[i % NSAMPLES]);
}
static int op_enc_crt(void *p, int i)
{
    bctx *x = p;
    return ppml_paillier_encrypt_crt(x->sk, x->out, x->m[i % NSAMPLES]);
}
static int op_enc_djn_crt(void *p, int i)
{
    bctx *x = p;
    return ppml_paillier_encrypt_djn_crt(x->sk, x->out, x->m[i % NSAMPLES]);
}
static int op_dec_naive(void *p, int i)
{
    bctx *x = p;
    return ppml_paillier_decrypt_naive(x->sk, x->out, x->c[i % NSAMPLES]);
}
static int op_dec_crt(void *p, int i)
{
    bctx *x = p;
    return ppml_paillier_decrypt(x->sk, x->out, x->c[i % NSAMPLES]);
}
static int op_add(void *p, int i)
{
    bctx *x = p;
    ppml_paillier_add(x->pk, x->out, x->c[i % NSAMPLES], x->c[(i + 1) % NSAMPLES]);
    return 0;
}
static int op_mul64(void *p, int i)
{
    bctx *x = p;
    ppml_paillier_mul_i64(x->pk, x->out, x->c[i % NSAMPLES], (int64_t)(ppml_rand_u64() >> 1));
    return 0;
}
static int op_mulfull(void *p, int i)
{
    bctx *x = p;
    ppml_paillier_mul(x->pk, x->out, x->c[i % NSAMPLES], x->k);
    return 0;
}
static int op_packed_enc(void *p, int i)
{
    bctx *x = p;
    (void)i;
    return ppml_paillier_encrypt_packed(x->pk, x->packed, x->vals, x->nvals, x->value_bits);
}
static int op_packed_dec(void *p, int i)
{
    bctx *x = p;
    (void)i;
    return ppml_paillier_decrypt_packed(x->sk, x->dec, x->nvals, (const mpz_t *)x->packed, x->value_bits);
}

static int op_enc_batch(void *p, int i)
{
    bctx *x = p;
    (void)i;
    return ppml_paillier_encrypt_batch(x->pk, x->bc, (const mpz_t *)x->bm, BATCH, 1);
}
static int op_dec_batch(void *p, int i)
{
    bctx *x = p;
    (void)i;
    return ppml_paillier_decrypt_batch(x->sk, x->bm, (const mpz_t *)x->bc, BATCH, 1);
}

/* Thread CPU time: this machine is shared, and wall time of a single-threaded operation
 * mostly measures the neighbours; CPU time measures the operation (lines carry
 * "clock":"thread_cpu"). */
static uint64_t cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Runs fn reps times (after one warm-up), timing each call; divisor turns a batch time into
 * a per-value time. Returns 0 with the samples in *b, or -1 on failure. */
static int run(op_fn fn, void *ctx, int reps, size_t divisor, cli_bench *b)
{
    cli_bench_init(b);
    if (fn(ctx, 0) != 0)
        return -1;
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = cpu_now_ns();
        if (fn(ctx, r) != 0) {
            cli_bench_clear(b);
            return -1;
        }
        cli_bench_add(b, (cpu_now_ns() - t0) / divisor);
    }
    return 0;
}

enum { KEYGEN, ENC_NAIVE, ENC_DJN, ENC_CRT, ENC_DJN_CRT, DEC_NAIVE, DEC_CRT, ADD, MUL64, MULFULL, PENC, PDEC, BENC, BDEC, NOPS };
static const char *const op_names[NOPS] = {"keygen", "encrypt_naive", "encrypt_djn", "encrypt_crt", "encrypt_djn_crt",
                                           "decrypt_naive", "decrypt_crt", "add", "scalar_mul_64",
                                           "scalar_mul_full", "packed_encrypt_per_value",
                                           "packed_decrypt_per_value", "encrypt_batch", "decrypt_batch"};

static double ratio(const cli_bench *num, const cli_bench *den)
{
    uint64_t d = cli_bench_median(den);
    return d ? (double)cli_bench_median(num) / (double)d : 0.0;
}

static int bench_bits(const cli_bench_opts *o, unsigned bits)
{
    char params[64], extra[256];
    snprintf(params, sizeof params, "{\"bits\":%u}", bits);
    int heavy = o->reps ? o->reps : (o->quick ? 3 : (bits >= 3072 ? 15 : 25));
    int light = o->reps ? o->reps : (o->quick ? 3 : 200);
    int kg_reps = o->reps ? o->reps : (o->quick ? 1 : 5);
    cli_bench res[NOPS];
    for (int i = 0; i < NOPS; i++)
        cli_bench_init(&res[i]);

    ppml_paillier_sk *sk = NULL;
    for (int r = 0; r < kg_reps; r++) {
        ppml_paillier_sk *t = NULL;
        uint64_t t0 = cpu_now_ns();
        if (ppml_paillier_keygen(&t, bits) != PPML_OK) {
            ppml_paillier_sk_free(sk);
            cli_bench_clear(&res[KEYGEN]);
            return cli_error("bench paillier: key generation failed");
        }
        cli_bench_add(&res[KEYGEN], cpu_now_ns() - t0);
        ppml_paillier_sk_free(sk);
        sk = t;
    }

    bctx x;
    memset(&x, 0, sizeof x);
    x.sk = sk;
    x.pk = ppml_paillier_sk_pk(sk);
    x.bits = bits;
    x.m = malloc(NSAMPLES * sizeof *x.m);
    x.c = malloc(NSAMPLES * sizeof *x.c);
    x.value_bits = 32;
    x.nvals = ppml_paillier_pack_capacity(x.pk, x.value_bits + 1) * 4; /* 4 full ciphertexts */
    x.npacked = ppml_paillier_packed_count(x.pk, x.nvals, x.value_bits);
    x.vals = malloc(x.nvals * sizeof *x.vals);
    x.dec = malloc(x.nvals * sizeof *x.dec);
    x.packed = malloc(x.npacked * sizeof *x.packed);
    x.bm = malloc(BATCH * sizeof *x.bm);
    x.bc = malloc(BATCH * sizeof *x.bc);
    if (!x.m || !x.c || !x.vals || !x.dec || !x.packed || !x.bm || !x.bc) {
        ppml_paillier_sk_free(sk);
        return cli_error("out of memory");
    }
    mpz_inits(x.out, x.k, NULL);
    for (int i = 0; i < NSAMPLES; i++) {
        mpz_inits(x.m[i], x.c[i], NULL);
        ppml_rand_mpz_below(x.m[i], ppml_paillier_pk_n(x.pk));
        if (ppml_paillier_encrypt(x.pk, x.c[i], x.m[i]) != PPML_OK)
            return cli_error("bench paillier: encryption failed");
    }
    ppml_rand_mpz_below(x.k, ppml_paillier_pk_n(x.pk));
    for (int i = 0; i < BATCH; i++) {
        mpz_inits(x.bm[i], x.bc[i], NULL);
        ppml_rand_mpz_below(x.bm[i], ppml_paillier_pk_n(x.pk));
    }
    for (size_t i = 0; i < x.nvals; i++)
        x.vals[i] = (int64_t)(ppml_rand_below((uint64_t)1 << 31)) - ((int64_t)1 << 30);
    for (size_t i = 0; i < x.npacked; i++)
        mpz_init(x.packed[i]);
    if (ppml_paillier_precompute(x.pk) != PPML_OK)
        return cli_error("bench paillier: precomputation failed");

    int preps = o->reps ? o->reps : (o->quick ? 2 : 5);
    int rc = 0;
    if (run(op_enc_naive, &x, heavy, 1, &res[ENC_NAIVE]) || run(op_enc_djn, &x, heavy, 1, &res[ENC_DJN]) ||
        run(op_enc_crt, &x, heavy, 1, &res[ENC_CRT]) || run(op_enc_djn_crt, &x, heavy, 1, &res[ENC_DJN_CRT]) || run(op_dec_naive, &x, heavy, 1, &res[DEC_NAIVE]) ||
        run(op_dec_crt, &x, heavy, 1, &res[DEC_CRT]) || run(op_add, &x, light, 1, &res[ADD]) ||
        run(op_mul64, &x, light / 4 + 1, 1, &res[MUL64]) || run(op_mulfull, &x, heavy, 1, &res[MULFULL]) ||
        run(op_packed_enc, &x, preps, x.nvals, &res[PENC]) || run(op_packed_dec, &x, preps, x.nvals, &res[PDEC]) ||
        run(op_enc_batch, &x, preps, BATCH, &res[BENC]) || run(op_dec_batch, &x, preps, BATCH, &res[BDEC])) {
        rc = cli_error("bench paillier: operation failed");
        goto out;
    }
    for (size_t i = 0; i < x.nvals; i++)
        if (x.dec[i] != x.vals[i]) {
            rc = cli_error("bench paillier: packed round trip mismatch");
            goto out;
        }
    size_t cap = ppml_paillier_pack_capacity(x.pk, x.value_bits + 1);
    for (int op = 0; op < NOPS; op++) {
        int n = snprintf(extra, sizeof extra, "\"clock\":\"thread_cpu\"");
        if (op == ENC_DJN || op == ENC_CRT || op == ENC_DJN_CRT)
            snprintf(extra + n, sizeof extra - (size_t)n, ",\"speedup_vs_naive\":%.2f", ratio(&res[ENC_NAIVE], &res[op]));
        else if (op == DEC_CRT)
            snprintf(extra + n, sizeof extra - (size_t)n, ",\"speedup_vs_naive\":%.2f", ratio(&res[DEC_NAIVE], &res[op]));
        else if (op == BENC || op == BDEC)
            snprintf(extra + n, sizeof extra - (size_t)n, ",\"batch\":%d,\"speedup_vs_single\":%.2f", BATCH,
                     ratio(&res[op == BENC ? ENC_DJN : DEC_CRT], &res[op]));
        else if (op == PENC || op == PDEC)
            snprintf(extra + n, sizeof extra - (size_t)n,
                     ",\"value_bits\":%u,\"values_per_ct\":%zu,\"speedup_vs_unpacked\":%.2f", x.value_bits, cap,
                     ratio(&res[op == PENC ? ENC_DJN : DEC_CRT], &res[op]));
        cli_bench_report(o->json, "paillier", op_names[op], params, &res[op], extra);
    }
out:
    for (int i = 0; i < NOPS; i++)
        cli_bench_clear(&res[i]);
    for (int i = 0; i < NSAMPLES; i++)
        mpz_clears(x.m[i], x.c[i], NULL);
    for (size_t i = 0; i < x.npacked; i++)
        mpz_clear(x.packed[i]);
    for (int i = 0; i < BATCH; i++)
        mpz_clears(x.bm[i], x.bc[i], NULL);
    mpz_clears(x.out, x.k, NULL);
    free(x.m);
    free(x.c);
    free(x.vals);
    free(x.dec);
    free(x.packed);
    free(x.bm);
    free(x.bc);
    ppml_paillier_sk_free(sk);
    return rc;
}

int bench_paillier(const cli_bench_opts *o)
{
    unsigned sizes[2] = {2048, 3072};
    int nsizes = 2;
    for (int i = 0; i < o->argc; i++) {
        if (!strcmp(o->argv[i], "--bits")) {
            uint64_t b;
            const char *v = cli_value(o->argc, o->argv, &i);
            if (!v || cli_parse_u64("--bits", v, 2048, 8192, &b))
                return 1;
            if (b % 256)
                return cli_error("--bits: must be a multiple of 256");
            sizes[0] = (unsigned)b;
            nsizes = 1;
        } else if (!strcmp(o->argv[i], "--json") || !strcmp(o->argv[i], "--quick")) {
            continue;
        } else if (!strcmp(o->argv[i], "--reps")) {
            i++;
        } else {
            return cli_error("bench paillier: unknown option '%s'", o->argv[i]);
        }
    }
    for (int i = 0; i < nsizes; i++) {
        int rc = bench_bits(o, sizes[i]);
        if (rc)
            return rc;
    }
    return 0;
}
