/* ppml bench bfv [--json] [--quick] [--reps N] [--n 4096|8192]: BFV operations at SEAL's
 * BFVDefault sizes with a 20-bit batching t (n = 4096 and 8192 by default). */
#include "cli.h"
#include "ppml/bfv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench_ctx {
    ppml_bfv_params *p;
    ppml_bfv_sk *sk;
    ppml_bfv_pk *pk;
    ppml_bfv_rlk *rlk;
    ppml_bfv_galk *gk;
    ppml_bfv_pt *pt, *pt2;
    ppml_bfv_ct *ca, *cb, *out;
    uint64_t *slots;
} bench_ctx;

enum { OP_KEYGEN, OP_RELIN_KEYGEN, OP_GALOIS_KEYGEN, OP_ENCODE, OP_ENCRYPT, OP_DECRYPT, OP_DECODE,
       OP_ADD, OP_MUL_PLAIN, OP_MUL_RELIN, OP_ROTATE, OP_CT_BYTES, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
    "keygen", "relin_keygen", "galois_keygen", "encode", "encrypt", "decrypt", "decode",
    "add", "multiply_plain", "multiply_relin", "rotate_rows", "ciphertext_bytes"};

static int run_op(bench_ctx *c, int op, size_t *bytes)
{
    size_t n = ppml_bfv_slot_count(c->p);
    int rc = 0;
    switch (op) {
    case OP_KEYGEN: {
        ppml_bfv_sk *sk;
        ppml_bfv_pk *pk;
        rc = ppml_bfv_keygen(c->p, &sk, &pk);
        if (!rc) {
            ppml_bfv_sk_free(sk);
            ppml_bfv_pk_free(pk);
        }
        break;
    }
    case OP_RELIN_KEYGEN: {
        ppml_bfv_rlk *r;
        rc = ppml_bfv_relin_keygen(c->sk, &r);
        if (!rc)
            ppml_bfv_rlk_free(r);
        break;
    }
    case OP_GALOIS_KEYGEN: { /* one key (one rotation step) */
        ppml_bfv_galk *g;
        int step = 1;
        rc = ppml_bfv_galois_keygen(c->sk, &g, &step, 1, 0);
        if (!rc)
            ppml_bfv_galk_free(g);
        break;
    }
    case OP_ENCODE: rc = ppml_bfv_encode_u64(c->pt2, c->slots, n); break;
    case OP_ENCRYPT: rc = ppml_bfv_encrypt(c->pk, c->out, c->pt); break;
    case OP_DECRYPT: rc = ppml_bfv_decrypt(c->sk, c->pt2, c->ca); break;
    case OP_DECODE: rc = ppml_bfv_decode_u64(c->pt, c->slots, n); break;
    case OP_ADD: rc = ppml_bfv_add(c->out, c->ca, c->cb); break;
    case OP_MUL_PLAIN: rc = ppml_bfv_mul_plain(c->out, c->ca, c->pt); break;
    case OP_MUL_RELIN: rc = ppml_bfv_mul_relin(c->rlk, c->out, c->ca, c->cb); break;
    case OP_ROTATE: rc = ppml_bfv_rotate_rows(c->gk, c->out, c->ca, 1); break;
    case OP_CT_BYTES: {
        uint8_t *buf;
        size_t len;
        rc = ppml_bfv_ct_save(c->ca, &buf, &len);
        if (!rc) {
            *bytes = len;
            free(buf);
        }
        break;
    }
    }
    return rc;
}

static void ctx_clear(bench_ctx *c)
{
    ppml_bfv_ct_free(c->ca);
    ppml_bfv_ct_free(c->cb);
    ppml_bfv_ct_free(c->out);
    ppml_bfv_pt_free(c->pt);
    ppml_bfv_pt_free(c->pt2);
    ppml_bfv_galk_free(c->gk);
    ppml_bfv_rlk_free(c->rlk);
    ppml_bfv_pk_free(c->pk);
    ppml_bfv_sk_free(c->sk);
    ppml_bfv_params_free(c->p);
    free(c->slots);
}

static int bench_one(const cli_bench_opts *o, size_t n)
{
    bench_ctx c;
    memset(&c, 0, sizeof c);
    int step = 1;
    if (ppml_bfv_params_default(&c.p, n, 20) || ppml_bfv_keygen(c.p, &c.sk, &c.pk) ||
        ppml_bfv_relin_keygen(c.sk, &c.rlk) || ppml_bfv_galois_keygen(c.sk, &c.gk, &step, 1, 0) ||
        ppml_bfv_pt_new(c.p, &c.pt) || ppml_bfv_pt_new(c.p, &c.pt2) || ppml_bfv_ct_new(c.p, &c.ca) ||
        ppml_bfv_ct_new(c.p, &c.cb) || ppml_bfv_ct_new(c.p, &c.out) || !(c.slots = malloc(n * 8))) {
        ctx_clear(&c);
        return cli_error("bfv: setup failed");
    }
    uint64_t t = ppml_bfv_params_t(c.p);
    for (size_t i = 0; i < n; i++)
        c.slots[i] = (i * 7919u + 13u) % t;
    if (ppml_bfv_encode_u64(c.pt, c.slots, n) || ppml_bfv_pt_prepare_mul(c.pt) ||
        ppml_bfv_encrypt(c.pk, c.ca, c.pt) || ppml_bfv_encrypt(c.pk, c.cb, c.pt)) {
        ctx_clear(&c);
        return cli_error("bfv: setup failed");
    }
    char params[128];
    snprintf(params, sizeof params, "{\"n\":%zu,\"log_q\":%u,\"t_bits\":20}", n, ppml_bfv_params_log_qp(c.p));
    for (int op = 0; op < OP_COUNT; op++) {
        int slow = op <= OP_GALOIS_KEYGEN;
        int cheap = op == OP_ADD || op == OP_ENCODE || op == OP_DECODE;
        int reps = o->reps ? o->reps : o->quick ? 3 : slow ? 15 : cheap ? 301 : 51;
        cli_bench b;
        cli_bench_init(&b);
        size_t bytes = 0;
        if (run_op(&c, op, &bytes)) { /* warm-up */
            cli_bench_clear(&b);
            ctx_clear(&c);
            return cli_error("bfv: %s failed", op_names[op]);
        }
        for (int r = 0; r < reps; r++) {
            uint64_t t0 = cli_now_ns();
            int rc = run_op(&c, op, &bytes);
            uint64_t dt = cli_now_ns() - t0;
            if (rc) {
                cli_bench_clear(&b);
                ctx_clear(&c);
                return cli_error("bfv: %s failed", op_names[op]);
            }
            cli_bench_add(&b, dt);
        }
        char extra[64];
        snprintf(extra, sizeof extra, "\"bytes\":%zu", bytes);
        cli_bench_report(o->json, "bfv", op_names[op], params, &b, op == OP_CT_BYTES ? extra : NULL);
        cli_bench_clear(&b);
    }
    ctx_clear(&c);
    return 0;
}

int bench_bfv(const cli_bench_opts *o)
{
    size_t only = 0;
    for (int i = 0; i < o->argc; i++)
        if (!strcmp(o->argv[i], "--n")) {
            uint64_t v;
            if (i + 1 >= o->argc)
                return cli_error("bench bfv: --n needs a value (4096 or 8192)");
            if (cli_parse_u64("--n", o->argv[i + 1], 4096, 8192, &v) || (v != 4096 && v != 8192))
                return cli_error("bench bfv: --n must be 4096 or 8192");
            only = (size_t)v;
            i++;
        }
    static const size_t sizes[] = {4096, 8192};
    for (size_t s = 0; s < 2; s++) {
        if (only && sizes[s] != only)
            continue;
        int rc = bench_one(o, sizes[s]);
        if (rc)
            return rc;
    }
    return 0;
}
