/* Scheme D (ACA-DMLP): shared helpers, report, synthetic data and the local engine, which
 * runs the cloud server, N workers and the data centre in this process, one after the
 * other, timing each party separately (see include/ppml/dmlp.h for what each receives). */
#include "ppml/dmlp.h"
#include "ppml/mem.h"
#include "ppml/rand.h"
#include "ppml/secagg.h"
#include "ppml/serial.h"

#include <jansson.h>
#include <sodium.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int ppml_dmlp_dp_init(ppml_dmlp_dp *dp, double eps, unsigned frac_x, size_t d)
{
    if (!dp || frac_x > 14 || d < 1)
        return PPML_EINVAL;
    ppml_dmlp_dp r = {0};
    r.sens = (uint64_t)1 << frac_x;
    r.d = d;
    if (isinf(eps) && eps > 0) {
        r.eps = INFINITY;
    } else {
        if (!(eps >= PPML_DMLP_EPS_MIN && eps <= PPML_DMLP_EPS_MAX))
            return PPML_EINVAL;
        /* eps = den / 2^20 exactly; b = sens / eps = sens * 2^20 / den (< 2^35 / 2^10). */
        uint64_t den = (uint64_t)llround(eps * 1048576.0);
        if (den == 0)
            return PPML_EINVAL;
        r.scale_num = r.sens << 20;
        r.scale_den = den;
        if (r.scale_num >= ((uint64_t)1 << 32)) { /* keep num < 2^32 for the sampler */
            uint64_t g = r.scale_num, h = r.scale_den;
            while (h) {
                uint64_t t = g % h;
                g = h;
                h = t;
            }
            r.scale_num /= g;
            r.scale_den /= g;
            if (r.scale_num >= ((uint64_t)1 << 32))
                return PPML_ERANGE;
        }
        r.eps = (double)den / 1048576.0;
    }
    *dp = r;
    return PPML_OK;
}

int ppml_dmlp_shuffle(uint32_t *perm, size_t m)
{
    if (!perm || m > UINT32_MAX)
        return PPML_EINVAL;
    for (size_t i = 0; i < m; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = m; i > 1; i--) {
        size_t k = (size_t)ppml_rand_below(i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[k];
        perm[k] = t;
    }
    return PPML_OK;
}

void ppml_dmlp_partition(size_t *start, size_t m, uint32_t n)
{
    size_t base = m / n, extra = m % n;
    start[0] = 0;
    for (uint32_t j = 0; j < n; j++)
        start[j + 1] = start[j] + base + (j < extra);
}

void ppml_dmlp_gather(int32_t *x_out, uint8_t *y_out, const ppml_logreg_data *src, const uint32_t *perm,
                      size_t begin, size_t end)
{
    for (size_t i = begin; i < end; i++) {
        memcpy(x_out + (i - begin) * src->d, src->x + (size_t)perm[i] * src->d, src->d * sizeof *x_out);
        y_out[i - begin] = src->y[perm[i]];
    }
}

void ppml_dmlp_model_hash(uint8_t out[32], const int64_t *w, size_t len)
{
    crypto_generichash_state st;
    uint8_t buf[8 * 64];
    crypto_generichash_init(&st, NULL, 0, 32);
    for (size_t i = 0; i < len;) {
        size_t c = 0;
        for (; c < 64 && i < len; c++, i++)
            for (int b = 0; b < 8; b++)
                buf[8 * c + b] = (uint8_t)((uint64_t)w[i] >> (8 * b));
        crypto_generichash_update(&st, buf, 8 * c);
    }
    crypto_generichash_final(&st, out, 32);
}

void ppml_dmlp_report_clear(ppml_dmlp_report *r)
{
    if (!r)
        return;
    free(r->acc_iter);
    free(r->acc_iter_nonprivate);
    memset(r, 0, sizeof *r);
}

static json_t *acc_array(const double *a, unsigned n)
{
    json_t *arr = json_array();
    for (unsigned i = 0; a && i < n; i++)
        json_array_append_new(arr, json_real(a[i]));
    return arr;
}

int ppml_dmlp_report_json(char **out, const ppml_dmlp_report *r)
{
    if (!out || !r)
        return PPML_EINVAL;
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", r->model_hash[i]);
    json_t *o = json_object();
    json_object_set_new(o, "scheme", json_string("ACA-DMLP"));
    json_object_set_new(o, "encoding", json_string(r->encoding));
    if (!strcmp(r->encoding, "plain-simulated"))
        json_object_set_new(o, "encoding_note",
                            json_string("stand-in without encryption: the same discrete-Laplace noise is added to "
                                        "plaintext fixed-point values; encode times cover noise only, not BFV"));
    else
        json_object_set_new(o, "encoding_note",
                            json_string("BFV n=8192 (128-bit), 32-bit batching t: the provider encrypts (under its own "
                                        "key, re-encrypted by the CS to the collective key s_CS+s_DA; bfv-direct: under "
                                        "the collective key) and signs a Merkle root the CS verifies; the CS adds the "
                                        "noise inside the ciphertexts and sends 72-bit-smudged decryption shares; "
                                        "each worker decrypts its partition with s_DA"));
    json_object_set_new(o, "engine", json_string(r->engine));
    json_object_set_new(o, "data", json_string(r->data));
    json_object_set_new(o, "m", json_integer((json_int_t)r->m));
    json_object_set_new(o, "d", json_integer((json_int_t)r->d));
    json_object_set_new(o, "m_test", json_integer((json_int_t)r->m_test));
    json_object_set_new(o, "nodes", json_integer(r->nodes));
    json_object_set_new(o, "iters", json_integer(r->lr.iters));
    json_object_set_new(o, "lr", json_real(r->lr.lr));
    json_object_set_new(o, "frac_bits", json_pack("{s:i,s:i,s:i}", "x", (int)r->frac_x, "w", (int)r->lr.frac_w,
                                                  "residual", (int)r->lr.frac_r));
    json_t *dp = json_object();
    if (isinf(r->dp.eps)) {
        json_object_set_new(dp, "eps", json_string("inf"));
        json_object_set_new(dp, "noise", json_string("none"));
        json_object_set_new(dp, "record_eps", json_string("inf"));
    } else {
        json_object_set_new(dp, "eps", json_real(r->dp.eps));
        json_object_set_new(dp, "noise", json_string("exact discrete Laplace, fresh per value"));
        json_object_set_new(dp, "scale_b_encoded", json_real((double)r->dp.scale_num / (double)r->dp.scale_den));
        json_object_set_new(dp, "record_eps", json_real(r->dp.eps * (double)r->dp.d));
    }
    json_object_set_new(dp, "sensitivity_encoded", json_integer((json_int_t)r->dp.sens));
    json_object_set_new(dp, "neighbouring",
                        json_string("datasets differing in one value (one feature of one record) by at most "
                                    "Delta_f (data in [0,1], Delta_f = 2^frac_x encoded units)"));
    json_object_set_new(dp, "composition",
                        json_string("sequential over the d values of a record: record-level eps = d * eps"));
    json_object_set_new(o, "dp", dp);
    json_t *t = json_object();
    json_object_set_new(t, "encode_wall_s", json_real(r->encode_wall));
    json_object_set_new(t, "encode_critical_path_s", json_real(r->encode_cp));
    json_object_set_new(t, "comm_wall_s", json_real(r->comm_wall));
    json_object_set_new(t, "comm_critical_path_s", json_real(r->comm_cp));
    json_object_set_new(t, "comp_wall_s", json_real(r->comp_wall));
    json_object_set_new(t, "comp_critical_path_s", json_real(r->comp_cp));
    json_object_set_new(t, "keys_wall_s", json_real(r->keys_wall));
    json_object_set_new(t, "encode_parts_s",
                        json_pack("{s:f,s:f,s:f,s:f}", "key_setup", r->enc_setup_s, "providers", r->enc_provider_s,
                                  "cloud_server", r->enc_cs_s, "slowest_worker", r->enc_worker_max_s));
    json_object_set_new(t, "total_wall_s", json_real(r->total_wall));
    json_object_set_new(t, "total_critical_path_s", json_real(r->total_cp));
    json_object_set_new(t, "cs_threads", json_integer(r->cs_threads));
    json_object_set_new(t, "note",
                        json_string("wall: measured elapsed time of the run; critical_path: encoding = slowest "
                                    "provider + CS + slowest worker recovery, per round slowest worker + "
                                    "data-centre aggregation and update, communication per link in turn; "
                                    "one data provider holds every record (its time is not divided)"));
    json_object_set_new(o, "times", t);
    json_object_set_new(o, "comm_bytes", json_integer((json_int_t)r->comm_bytes));
    json_object_set_new(o, "accuracy_per_iter", acc_array(r->acc_iter, r->lr.iters));
    json_object_set_new(o, "accuracy", json_real(r->acc_final));
    if (r->acc_nonprivate >= 0) {
        json_object_set_new(o, "accuracy_nonprivate", json_real(r->acc_nonprivate));
        json_object_set_new(o, "accuracy_per_iter_nonprivate", acc_array(r->acc_iter_nonprivate, r->lr.iters));
    }
    if (r->baseline_equal >= 0) {
        json_t *b = json_object();
        json_object_set_new(b, "what", json_string("every host computes the whole (noisy) dataset: one node "
                                                   "training on the union of the partitions"));
        json_object_set_new(b, "comp_s", json_real(r->baseline_comp_s));
        json_object_set_new(b, "same_model", json_boolean(r->baseline_equal == 1));
        json_object_set_new(b, "accuracy", json_real(r->acc_final));
        json_object_set_new(o, "baseline_whole_dataset", b);
    }
    if (isinf(r->dp.eps) && r->nonprivate_equal >= 0)
        json_object_set_new(o, "same_model_as_centralised", json_boolean(r->nonprivate_equal == 1));
    json_object_set_new(o, "model_hash", json_string(hex));
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!s)
        return PPML_ENOMEM;
    *out = s;
    return PPML_OK;
}

int ppml_dmlp_synthetic(ppml_logreg_data *train, ppml_logreg_data *test, size_t m, size_t m_test, size_t d,
                        uint64_t seed, unsigned frac_x)
{
    if (!train || !test || m < 1 || m_test < 1 || d < 1 || d > PPML_LOGREG_MAX_D || m > PPML_LOGREG_MAX_M ||
        m_test > PPML_LOGREG_MAX_M || frac_x > 14)
        return PPML_EINVAL;
    ppml_logreg_data tr = {0}, te = {0};
    int e;
    if ((e = ppml_logreg_data_alloc(&tr, m, d, frac_x)) || (e = ppml_logreg_data_alloc(&te, m_test, d, frac_x))) {
        ppml_logreg_data_clear(&tr);
        return e;
    }
    uint8_t key[PPML_SEED_BYTES] = "ppml-dmlp-synthetic-data-v1";
    for (int i = 0; i < 8; i++)
        key[24 + i] = (uint8_t)(seed >> (8 * i));
    ppml_prg prg;
    ppml_prg_init(&prg, key, 0);
    double *base = malloc(d * sizeof *base), *shift = malloc(d * sizeof *shift);
    if (!base || !shift) {
        free(base);
        free(shift);
        ppml_logreg_data_clear(&tr);
        ppml_logreg_data_clear(&te);
        return PPML_ENOMEM;
    }
    for (size_t j = 0; j < d; j++) {
        base[j] = 0.3 + 0.4 * (double)ppml_prg_below(&prg, 1000) / 1000.0;
        shift[j] = ppml_prg_below(&prg, 2) ? 0.08 : -0.08;
    }
    double scale = ldexp(1.0, (int)frac_x);
    ppml_logreg_data *sets[2] = {&tr, &te};
    for (int s = 0; s < 2; s++) {
        ppml_logreg_data *o = sets[s];
        for (size_t i = 0; i < o->m; i++) {
            int y = (int)ppml_prg_below(&prg, 2);
            o->y[i] = (uint8_t)y;
            for (size_t j = 0; j < d; j++) {
                /* base +- shift + a bump of three uniforms in [-0.15, 0.15] */
                double u = 0;
                for (int k = 0; k < 3; k++)
                    u += (double)ppml_prg_below(&prg, 1u << 20) / (double)(1u << 20) - 0.5;
                double v = base[j] + (y ? shift[j] : -shift[j]) + 0.1 * u;
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                o->x[i * d + j] = (int32_t)lround(v * scale);
            }
        }
    }
    ppml_prg_clear(&prg);
    free(base);
    free(shift);
    *train = tr;
    *test = te;
    return PPML_OK;
}

/* ---- local engine ------------------------------------------------------------------------ */
typedef struct worker {
    ppml_logreg_data part;      /* its noisy partition */
    uint8_t pk[32], sk[32];
    ppml_secagg_party *sa;
    int64_t *w;                 /* its copy of the broadcast model */
    uint64_t *g;                /* its (then masked) gradient */
    double enc_s, comp_s;
} worker;

static void workers_free(worker *ws, uint32_t n)
{
    if (!ws)
        return;
    for (uint32_t j = 0; j < n; j++) {
        ppml_logreg_data_clear(&ws[j].part);
        ppml_secagg_party_free(ws[j].sa);
        ppml_memzero(ws[j].sk, sizeof ws[j].sk);
        free(ws[j].w);
        free(ws[j].g);
    }
    free(ws);
}

int ppml_dmlp_run_local(int64_t *w_out, ppml_dmlp_report *rep, const ppml_logreg_data *train,
                        const ppml_logreg_data *test, const ppml_dmlp_config *cfg, const ppml_dmlp_encoding *enc_in,
                        ppml_logreg_data *noisy_union)
{
    int e;
    if (!w_out || !rep || !train || !test || !cfg)
        return PPML_EINVAL;
    if (cfg->nodes < 2 || cfg->nodes > PPML_DMLP_MAX_NODES || cfg->nodes > train->m)
        return PPML_EINVAL;
    if ((e = ppml_logreg_params_check(&cfg->lr)) || (e = ppml_logreg_data_check(train)) ||
        (e = ppml_logreg_data_check(test)))
        return e;
    if (test->d != train->d || test->frac_x != train->frac_x)
        return PPML_EMISMATCH;
    ppml_dmlp_dp dp;
    if ((e = ppml_dmlp_dp_init(&dp, cfg->eps, train->frac_x, train->d)))
        return e;
    ppml_dmlp_encoding plain = {0};
    const ppml_dmlp_encoding *enc = enc_in;
    if (!enc) {
        if ((e = ppml_dmlp_encoding_plain(&plain, 0)))
            return e;
        enc = &plain;
    }

    const uint32_t n = cfg->nodes;
    const size_t m = train->m, d = train->d, d1 = d + 1;
    const ppml_logreg_params *p = &cfg->lr;
    ppml_dmlp_report r = {0};
    snprintf(r.encoding, sizeof r.encoding, "%s", enc->name);
    snprintf(r.engine, sizeof r.engine, "local");
    snprintf(r.data, sizeof r.data, "%s", rep->data); /* caller may have described the data */
    r.m = m;
    r.d = d;
    r.m_test = test->m;
    r.nodes = n;
    r.lr = *p;
    r.dp = dp;
    r.frac_x = train->frac_x;
    r.cs_threads = enc->threads;
    r.acc_nonprivate = -1;
    r.baseline_comp_s = -1;
    r.baseline_equal = -1;
    r.nonprivate_equal = -1;

    worker *ws = calloc(n, sizeof *ws);
    uint32_t *perm = malloc(m * sizeof *perm);
    size_t *start = malloc((n + 1) * sizeof *start);
    int32_t *clean = NULL;
    uint8_t *pks = malloc((size_t)n * 32);
    int64_t *w = calloc(d1, sizeof *w);
    uint64_t *sum = malloc(d1 * sizeof *sum);
    r.acc_iter = calloc(p->iters, sizeof *r.acc_iter);
    ppml_logreg_data uni = {0};
    int64_t *w2 = NULL;
    if (!ws || !perm || !start || !pks || !w || !sum || !r.acc_iter) {
        e = PPML_ENOMEM;
        goto out;
    }
    double t_begin = now_s();

    /* Stage 1 — encoding. CS shuffles and partitions; for each partition the encoding
     * produces the message to worker j, which recovers its noisy values. */
    double t0 = now_s(), provider_total = 0, cs_total = enc->setup_s, worker_max = 0, dist_comm = 0;
    if ((e = ppml_dmlp_shuffle(perm, m)))
        goto out;
    ppml_dmlp_partition(start, m, n);
    cs_total += now_s() - t0;
    size_t max_rows = start[1] - start[0];
    if (!(clean = malloc(max_rows * d * sizeof *clean))) {
        e = PPML_ENOMEM;
        goto out;
    }
    /* The workers' storage first: allocations between the partitions' messages would shift
     * each message buffer onto fresh (page-faulting) heap memory. */
    for (uint32_t j = 0; j < n; j++)
        if ((e = ppml_logreg_data_alloc(&ws[j].part, start[j + 1] - start[j], d, train->frac_x)))
            goto out;
    for (uint32_t j = 0; j < n; j++) {
        size_t rows = start[j + 1] - start[j];
        double tg = now_s();
        ppml_dmlp_gather(clean, ws[j].part.y, train, perm, start[j], start[j + 1]);
        ppml_dmlp_encode_times et = {0};
        et.cs_s = now_s() - tg;
        uint8_t *msg = NULL, *recv = NULL;
        size_t msg_len = 0;
        if ((e = enc->cs_prepare(enc->ctx, &msg, &msg_len, clean, rows * d, &dp, &et)))
            goto out;
        /* "Send": copy into the worker's receive buffer. */
        double tc = now_s();
        recv = malloc(msg_len);
        if (recv)
            memcpy(recv, msg, msg_len);
        dist_comm += now_s() - tc;
        r.comm_bytes += msg_len + rows;
        ppml_free_secret(msg, msg_len);
        if (!recv) {
            e = PPML_ENOMEM;
            goto out;
        }
        e = enc->worker_recover(enc->ctx, ws[j].part.x, rows * d, recv, msg_len, &et);
        ppml_free_secret(recv, msg_len);
        if (e)
            goto out;
        provider_total += et.provider_s; /* one provider holds every record: summed */
        cs_total += et.cs_s;
        worker_max = et.worker_s > worker_max ? et.worker_s : worker_max;
    }
    ppml_memzero(clean, max_rows * d * sizeof *clean);
    r.encode_wall = now_s() - t0 - dist_comm + enc->setup_s;
    r.encode_cp = provider_total + cs_total + worker_max;
    r.enc_setup_s = enc->setup_s;
    r.enc_provider_s = provider_total;
    r.enc_cs_s = cs_total - enc->setup_s;
    r.enc_worker_max_s = worker_max;

    /* Secure-aggregation keys: each worker makes a key pair, the DC relays the public keys. */
    double tk = now_s(), keys_max = 0;
    for (uint32_t j = 0; j < n; j++) {
        double t1 = now_s();
        if ((e = ppml_secagg_keygen(ws[j].pk, ws[j].sk)))
            goto out;
        memcpy(pks + 32 * (size_t)j, ws[j].pk, 32);
        ws[j].comp_s = now_s() - t1;
    }
    for (uint32_t j = 0; j < n; j++) {
        double t1 = now_s();
        if ((e = ppml_secagg_party_new(&ws[j].sa, j, n, ws[j].sk, pks)))
            goto out;
        ws[j].comp_s += now_s() - t1;
        keys_max = ws[j].comp_s > keys_max ? ws[j].comp_s : keys_max;
        if (!(ws[j].w = malloc(d1 * sizeof *ws[j].w)) || !(ws[j].g = malloc(d1 * sizeof *ws[j].g))) {
            e = PPML_ENOMEM;
            goto out;
        }
    }
    r.keys_wall = now_s() - tk;
    r.comm_bytes += (uint64_t)n * 32 * (n + 1);

    /* Stage 2 — training rounds. */
    double comm_wall = dist_comm, comm_cp = dist_comm, comp_wall = r.keys_wall, comp_cp = keys_max;
    for (unsigned t = 0; t < p->iters; t++) {
        double tb = now_s();
        for (uint32_t j = 0; j < n; j++) /* DC -> workers: w */
            memcpy(ws[j].w, w, d1 * sizeof *w);
        double bc = now_s() - tb;
        double slowest = 0;
        for (uint32_t j = 0; j < n; j++) {
            double t1 = now_s();
            memset(ws[j].g, 0, d1 * sizeof *ws[j].g);
            ppml_logreg_gradient_acc(ws[j].g, ws[j].part.x, ws[j].part.y, ws[j].part.m, d, train->frac_x, ws[j].w, p);
            if ((e = ppml_secagg_mask(ws[j].sa, ws[j].g, d1, t)))
                goto out;
            double dt = now_s() - t1;
            slowest = dt > slowest ? dt : slowest;
            comp_wall += dt;
        }
        /* workers -> DC: masked gradients; DC sums mod 2^64 and updates. */
        double t2 = now_s();
        memset(sum, 0, d1 * sizeof *sum);
        for (uint32_t j = 0; j < n; j++)
            ppml_secagg_add(sum, ws[j].g, d1);
        ppml_logreg_update(w, sum, d, m, train->frac_x, p);
        double dc = now_s() - t2;
        comp_wall += dc;
        comp_cp += slowest + dc;
        comm_wall += bc;
        comm_cp += bc;
        r.comm_bytes += (uint64_t)n * d1 * 16;
        if ((e = ppml_logreg_accuracy(&r.acc_iter[t], w, test, p)))
            goto out;
    }
    r.total_wall = now_s() - t_begin + enc->setup_s;
    r.comm_wall = comm_wall;
    r.comm_cp = comm_cp;
    r.comp_wall = comp_wall;
    r.comp_cp = comp_cp;
    r.total_cp = r.encode_cp + r.comm_cp + r.comp_cp;
    r.acc_final = r.acc_iter[p->iters - 1];
    ppml_dmlp_model_hash(r.model_hash, w, d1);

    /* The noisy union (partition order), for the baseline and the caller's checks. */
    if (cfg->baseline || noisy_union) {
        if ((e = ppml_logreg_data_alloc(&uni, m, d, train->frac_x)))
            goto out;
        for (uint32_t j = 0; j < n; j++) {
            memcpy(uni.x + start[j] * d, ws[j].part.x, ws[j].part.m * d * sizeof *uni.x);
            memcpy(uni.y + start[j], ws[j].part.y, ws[j].part.m);
        }
    }
    if (cfg->baseline || cfg->nonprivate) {
        if (!(w2 = malloc(d1 * sizeof *w2))) {
            e = PPML_ENOMEM;
            goto out;
        }
    }
    if (cfg->baseline) {
        double t1 = now_s();
        if ((e = ppml_logreg_train(w2, &uni, NULL, NULL, p)))
            goto out;
        r.baseline_comp_s = now_s() - t1;
        r.baseline_equal = memcmp(w2, w, d1 * sizeof *w) == 0;
    }
    if (cfg->nonprivate) {
        if (!(r.acc_iter_nonprivate = calloc(p->iters, sizeof *r.acc_iter_nonprivate))) {
            e = PPML_ENOMEM;
            goto out;
        }
        if ((e = ppml_logreg_train(w2, train, test, r.acc_iter_nonprivate, p)))
            goto out;
        r.acc_nonprivate = r.acc_iter_nonprivate[p->iters - 1];
        if (isinf(dp.eps))
            r.nonprivate_equal = memcmp(w2, w, d1 * sizeof *w) == 0;
    }

    memcpy(w_out, w, d1 * sizeof *w);
    if (noisy_union) {
        *noisy_union = uni;
        uni = (ppml_logreg_data){0};
    }
    ppml_dmlp_report_clear(rep);
    *rep = r;
    r.acc_iter = r.acc_iter_nonprivate = NULL;
    e = PPML_OK;
out:
    free(r.acc_iter);
    free(r.acc_iter_nonprivate);
    workers_free(ws, ws ? n : 0);
    free(perm);
    free(start);
    free(clean);
    free(pks);
    free(w);
    free(w2);
    free(sum);
    ppml_logreg_data_clear(&uni);
    ppml_dmlp_encoding_clear(&plain);
    return e;
}
