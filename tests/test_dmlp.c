/* Scheme D engine: DP parameters, shuffle/partition, the plain-simulated encoding stage
 * (noise distribution, strict message parsing), exactness (N workers = one node on the
 * union of the same noisy partitions; eps = inf = plain centralised training), the report. */
#include "test.h"

#include "ppml/dmlp.h"
#include "ppml/mem.h"

#include <jansson.h>
#include <math.h>

static void test_dp(void)
{
    ppml_dmlp_dp dp;
    CHECK_OK(ppml_dmlp_dp_init(&dp, 1.0, 8, 1568));
    CHECK(dp.sens == 256 && dp.eps == 1.0);
    CHECK((double)dp.scale_num / (double)dp.scale_den == 256.0);
    CHECK_OK(ppml_dmlp_dp_init(&dp, 0.5, 8, 10));
    CHECK((double)dp.scale_num / (double)dp.scale_den == 512.0);
    CHECK_OK(ppml_dmlp_dp_init(&dp, INFINITY, 8, 10));
    CHECK(isinf(dp.eps) && dp.scale_num == 0);
    ppml_dmlp_dp keep = dp;
    CHECK_ERR(ppml_dmlp_dp_init(&dp, 0.0, 8, 10), PPML_EINVAL);
    CHECK_ERR(ppml_dmlp_dp_init(&dp, -1.0, 8, 10), PPML_EINVAL);
    CHECK_ERR(ppml_dmlp_dp_init(&dp, NAN, 8, 10), PPML_EINVAL);
    CHECK_ERR(ppml_dmlp_dp_init(&dp, -INFINITY, 8, 10), PPML_EINVAL);
    CHECK_ERR(ppml_dmlp_dp_init(&dp, 1e-6, 8, 10), PPML_EINVAL);
    CHECK(memcmp(&dp, &keep, sizeof dp) == 0);
}

static void test_partition(void)
{
    for (uint32_t n = 2; n < 12; n++)
        for (size_t m = n; m < 60; m += 7) {
            size_t start[13];
            ppml_dmlp_partition(start, m, n);
            CHECK(start[0] == 0 && start[n] == m);
            for (uint32_t j = 0; j < n; j++) {
                size_t s = start[j + 1] - start[j];
                CHECK(s == m / n || s == m / n + 1);
            }
        }
    uint32_t perm[100];
    int seen[100] = {0}, moved = 0;
    CHECK_OK(ppml_dmlp_shuffle(perm, 100));
    for (int i = 0; i < 100; i++) {
        CHECK(perm[i] < 100);
        if (perm[i] < 100)
            seen[perm[i]]++;
        moved += perm[i] != (uint32_t)i;
    }
    for (int i = 0; i < 100; i++)
        CHECK(seen[i] == 1);
    CHECK(moved > 50);
}

static void test_encoding(void)
{
    ppml_dmlp_encoding enc;
    CHECK_OK(ppml_dmlp_encoding_plain(&enc, 2));
    CHECK(!strcmp(enc.name, "plain-simulated"));
    enum { COUNT = 20000 };
    int32_t *clean = malloc(COUNT * sizeof *clean), *out = malloc(COUNT * sizeof *out);
    for (int i = 0; i < COUNT; i++)
        clean[i] = i % 257;
    ppml_dmlp_dp dp;
    uint8_t *msg = NULL;
    size_t len = 0;
    ppml_dmlp_encode_times t = {0};
    /* eps = inf: the identity */
    CHECK_OK(ppml_dmlp_dp_init(&dp, INFINITY, 8, 4));
    CHECK_OK(enc.cs_prepare(enc.ctx, &msg, &len, clean, COUNT, &dp, &t));
    CHECK_OK(enc.worker_recover(enc.ctx, out, COUNT, msg, len, &t));
    CHECK(memcmp(out, clean, COUNT * sizeof *out) == 0);
    /* malformed messages */
    CHECK_ERR(enc.worker_recover(enc.ctx, out, COUNT, msg, len - 1, &t), PPML_EFORMAT);
    CHECK_ERR(enc.worker_recover(enc.ctx, out, COUNT - 1, msg, len, &t), PPML_EFORMAT);
    CHECK_ERR(enc.worker_recover(enc.ctx, out, COUNT, msg, 5, &t), PPML_EFORMAT);
    msg[0] ^= 1;
    CHECK_ERR(enc.worker_recover(enc.ctx, out, COUNT, msg, len, &t), PPML_EFORMAT);
    free(msg);
    /* eps = 1: noise DLap(256): mean 0, variance 2 e^{-1/t} / (1 - e^{-1/t})^2 ~ 2 t^2 */
    CHECK_OK(ppml_dmlp_dp_init(&dp, 1.0, 8, 4));
    CHECK_OK(enc.cs_prepare(enc.ctx, &msg, &len, clean, COUNT, &dp, &t));
    CHECK_OK(enc.worker_recover(enc.ctx, out, COUNT, msg, len, &t));
    double mean = 0, var = 0;
    for (int i = 0; i < COUNT; i++)
        mean += (double)(out[i] - clean[i]);
    mean /= COUNT;
    for (int i = 0; i < COUNT; i++)
        var += ((double)(out[i] - clean[i]) - mean) * ((double)(out[i] - clean[i]) - mean);
    var /= COUNT - 1;
    double q = exp(-1.0 / 256), want = 2 * q / ((1 - q) * (1 - q));
    CHECK(fabs(mean) < 5 * sqrt(want / COUNT));
    CHECK(fabs(var / want - 1) < 0.06);
    free(msg);
    /* clamping on the worker side */
    CHECK_OK(ppml_dmlp_dp_init(&dp, INFINITY, 8, 4));
    int32_t big[3] = {PPML_LOGREG_X_MAX * 4, -PPML_LOGREG_X_MAX * 4, 5}, got[3];
    CHECK_OK(enc.cs_prepare(enc.ctx, &msg, &len, big, 3, &dp, &t));
    CHECK_OK(enc.worker_recover(enc.ctx, got, 3, msg, len, &t));
    CHECK(got[0] == PPML_LOGREG_X_MAX && got[1] == -PPML_LOGREG_X_MAX && got[2] == 5);
    free(msg);
    free(clean);
    free(out);
    ppml_dmlp_encoding_clear(&enc);
}

static void test_exact(void)
{
    ppml_logreg_data tr = {0}, te = {0};
    size_t m = test_sanitized() ? 150 : 400;
    CHECK_OK(ppml_dmlp_synthetic(&tr, &te, m, 80, 24, 3, 8));
    ppml_dmlp_config cfg = {.nodes = 5, .eps = 1.0, .nonprivate = 1, .baseline = 1};
    ppml_logreg_params_default(&cfg.lr);
    cfg.lr.lr = 0.5;
    cfg.lr.iters = 8;
    size_t d1 = tr.d + 1;
    int64_t *w = malloc(d1 * sizeof *w), *w1 = malloc(d1 * sizeof *w1), *w2 = malloc(d1 * sizeof *w2);
    static const uint32_t nodes[] = {2, 3, 5, 7};
    for (size_t k = 0; k < sizeof nodes / sizeof nodes[0]; k++) {
        cfg.nodes = nodes[k];
        ppml_dmlp_report rep = {0};
        ppml_logreg_data uni = {0};
        CHECK_OK(ppml_dmlp_run_local(w, &rep, &tr, &te, &cfg, NULL, &uni));
        /* one node on the union of the same noisy partitions: bit-identical */
        CHECK_OK(ppml_logreg_train(w1, &uni, NULL, NULL, &cfg.lr));
        CHECK(memcmp(w, w1, d1 * sizeof *w) == 0);
        CHECK(rep.baseline_equal == 1);
        /* the noisy union is a noisy permutation of the data: same label counts, not equal */
        size_t ones = 0, ones_u = 0;
        for (size_t i = 0; i < tr.m; i++) {
            ones += tr.y[i];
            ones_u += uni.y[i];
        }
        CHECK(ones == ones_u);
        CHECK(memcmp(uni.x, tr.x, tr.m * tr.d * sizeof *tr.x) != 0);
        CHECK(rep.acc_final >= 0 && rep.acc_final <= 1 && rep.acc_nonprivate > 0.9);
        CHECK(rep.total_cp > 0 && rep.comp_cp > 0 && rep.encode_cp > 0 && rep.total_wall > 0);
        CHECK(rep.acc_iter[cfg.lr.iters - 1] == rep.acc_final);
        ppml_logreg_data_clear(&uni);
        ppml_dmlp_report_clear(&rep);
    }
    /* eps = inf: the same model as plain centralised training on the clean data */
    cfg.eps = INFINITY;
    cfg.nodes = 4;
    ppml_dmlp_report rep = {0};
    CHECK_OK(ppml_dmlp_run_local(w, &rep, &tr, &te, &cfg, NULL, NULL));
    CHECK_OK(ppml_logreg_train(w2, &tr, NULL, NULL, &cfg.lr));
    CHECK(memcmp(w, w2, d1 * sizeof *w) == 0);
    CHECK(rep.nonprivate_equal == 1);
    uint8_t h[32];
    ppml_dmlp_model_hash(h, w2, d1);
    CHECK(memcmp(h, rep.model_hash, 32) == 0);

    /* the JSON report states the encoding, eps, Delta_f, the neighbouring notion, times */
    char *js = NULL;
    CHECK_OK(ppml_dmlp_report_json(&js, &rep));
    json_error_t jerr;
    json_t *o = js ? json_loads(js, 0, &jerr) : NULL;
    CHECK(o != NULL);
    if (o) {
        CHECK(!strcmp(json_string_value(json_object_get(o, "encoding")), "plain-simulated"));
        json_t *dp = json_object_get(o, "dp");
        CHECK(!strcmp(json_string_value(json_object_get(dp, "eps")), "inf"));
        CHECK(json_integer_value(json_object_get(dp, "sensitivity_encoded")) == 256);
        CHECK(json_string_value(json_object_get(dp, "neighbouring")) != NULL);
        json_t *t = json_object_get(o, "times");
        CHECK(json_real_value(json_object_get(t, "total_critical_path_s")) > 0);
        CHECK(json_array_size(json_object_get(o, "accuracy_per_iter")) == cfg.lr.iters);
        CHECK(json_is_true(json_object_get(o, "same_model_as_centralised")));
        json_decref(o);
    }
    free(js);
    ppml_dmlp_report_clear(&rep);
    /* with noise the report gives the record-level eps = d * eps */
    cfg.eps = 2.0;
    CHECK_OK(ppml_dmlp_run_local(w, &rep, &tr, &te, &cfg, NULL, NULL));
    CHECK_OK(ppml_dmlp_report_json(&js, &rep));
    o = js ? json_loads(js, 0, &jerr) : NULL;
    if (o) {
        json_t *dp = json_object_get(o, "dp");
        CHECK(json_real_value(json_object_get(dp, "record_eps")) == 2.0 * (double)tr.d);
        CHECK(json_real_value(json_object_get(dp, "scale_b_encoded")) == 128.0);
        json_decref(o);
    }
    free(js);
    ppml_dmlp_report_clear(&rep);

    /* bad input: N < 2, N > m, eps <= 0, mismatched test set; outputs untouched */
    int64_t before = w[0];
    cfg.nodes = 1;
    CHECK_ERR(ppml_dmlp_run_local(w, &rep, &tr, &te, &cfg, NULL, NULL), PPML_EINVAL);
    cfg.nodes = (uint32_t)tr.m + 1;
    CHECK_ERR(ppml_dmlp_run_local(w, &rep, &tr, &te, &cfg, NULL, NULL), PPML_EINVAL);
    cfg.nodes = 3;
    cfg.eps = 0;
    CHECK_ERR(ppml_dmlp_run_local(w, &rep, &tr, &te, &cfg, NULL, NULL), PPML_EINVAL);
    cfg.eps = 1;
    ppml_logreg_data te2 = {0};
    CHECK_OK(ppml_logreg_data_alloc(&te2, 3, tr.d + 1, 8));
    CHECK_ERR(ppml_dmlp_run_local(w, &rep, &tr, &te2, &cfg, NULL, NULL), PPML_EMISMATCH);
    CHECK(w[0] == before && rep.acc_iter == NULL);
    ppml_logreg_data_clear(&te2);
    free(w);
    free(w1);
    free(w2);
    ppml_logreg_data_clear(&tr);
    ppml_logreg_data_clear(&te);
}

/* The encrypted path: providers encrypt, CS re-encrypts (or not: direct), adds the noise in
 * the ciphertexts and sends decryption shares; the worker's recovery gives exactly the clean
 * values at eps = inf, noisy values otherwise; a worker-side context rebuilt from the
 * material recovers the same; malformed messages are refused. */
static void test_bfv_encoding(void)
{
    static const unsigned flags[2] = {0, PPML_DMLP_BFV_DIRECT};
    for (int f = 0; f < 2; f++) {
        ppml_dmlp_encoding enc = {0}, wenc = {0};
        CHECK_OK(ppml_dmlp_encoding_bfv(&enc, 2, flags[f]));
        if (!enc.ctx)
            return;
        CHECK(!strcmp(enc.name, f ? "bfv-direct" : "bfv"));
        size_t count = 8192 + 100; /* two ciphertexts, the second partly filled */
        int32_t *clean = malloc(count * sizeof *clean), *out = malloc(count * sizeof *out),
                *out2 = malloc(count * sizeof *out2);
        for (size_t i = 0; i < count; i++)
            clean[i] = (int32_t)(i % 513) - 256;
        ppml_dmlp_dp dp;
        uint8_t *msg = NULL, *mat = NULL;
        size_t len = 0, mlen = 0;
        ppml_dmlp_encode_times t = {0};
        CHECK_OK(ppml_dmlp_dp_init(&dp, INFINITY, 8, 4));
        CHECK_OK(enc.cs_prepare(enc.ctx, &msg, &len, clean, count, &dp, &t));
        CHECK_OK(enc.worker_recover(enc.ctx, out, count, msg, len, &t));
        CHECK(memcmp(out, clean, count * sizeof *out) == 0);
        CHECK(t.cs_s > 0 && t.provider_s > 0 && t.worker_s > 0);
        /* a worker process: built from the material only */
        CHECK_OK(enc.worker_material(enc.ctx, &mat, &mlen));
        CHECK_OK(ppml_dmlp_encoding_worker(&wenc, enc.name, mat, mlen));
        memset(out2, 0, count * sizeof *out2);
        CHECK_OK(wenc.worker_recover(wenc.ctx, out2, count, msg, len, &t));
        CHECK(memcmp(out2, clean, count * sizeof *out2) == 0);
        CHECK_FAILS(ppml_dmlp_encoding_worker(&wenc, "bfv", mat, mlen - 1));
        CHECK_FAILS(ppml_dmlp_encoding_worker(&wenc, "paillier", mat, mlen));
        /* malformed messages */
        CHECK_ERR(enc.worker_recover(enc.ctx, out, count, msg, len - 1, &t), PPML_EFORMAT);
        CHECK_ERR(enc.worker_recover(enc.ctx, out, count - 1, msg, len, &t), PPML_EFORMAT);
        CHECK_ERR(enc.worker_recover(enc.ctx, out, count, msg, 19, &t), PPML_EFORMAT);
        msg[len / 2] ^= 0x80; /* inside the first ciphertext: residue or header corrupt */
        int e = enc.worker_recover(enc.ctx, out, count, msg, len, &t);
        CHECK(e != PPML_OK || memcmp(out, clean, count * sizeof *out) != 0);
        free(msg);
        /* eps = 1: the noise is inside: values differ, with the variance of DLap(256) */
        CHECK_OK(ppml_dmlp_dp_init(&dp, 1.0, 8, 4));
        CHECK_OK(enc.cs_prepare(enc.ctx, &msg, &len, clean, count, &dp, &t));
        CHECK_OK(wenc.worker_recover(wenc.ctx, out, count, msg, len, &t));
        double var = 0;
        for (size_t i = 0; i < count; i++)
            var += (double)(out[i] - clean[i]) * (double)(out[i] - clean[i]);
        var /= (double)count;
        double q = exp(-1.0 / 256), want = 2 * q / ((1 - q) * (1 - q));
        CHECK(fabs(var / want - 1) < 0.1);
        free(msg);
        ppml_free_secret(mat, mlen);
        free(clean);
        free(out);
        free(out2);
        ppml_dmlp_encoding_clear(&wenc);
        ppml_dmlp_encoding_clear(&enc);
    }
    CHECK_ERR(ppml_dmlp_encoding_bfv(NULL, 1, 0), PPML_EINVAL);
}

/* End to end through BFV: eps = inf gives plain centralised training's model exactly; with
 * noise, N workers = one node on the union. */
static void test_bfv_engine(void)
{
    ppml_logreg_data tr = {0}, te = {0};
    CHECK_OK(ppml_dmlp_synthetic(&tr, &te, 60, 20, 20, 4, 8));
    ppml_dmlp_encoding enc = {0};
    CHECK_OK(ppml_dmlp_encoding_bfv(&enc, 1, 0));
    ppml_dmlp_config cfg = {.nodes = 3, .eps = INFINITY, .nonprivate = 1, .baseline = 1};
    ppml_logreg_params_default(&cfg.lr);
    cfg.lr.lr = 0.5;
    cfg.lr.iters = 4;
    int64_t w[21];
    ppml_dmlp_report rep = {0};
    CHECK_OK(ppml_dmlp_run_local(w, &rep, &tr, &te, &cfg, &enc, NULL));
    CHECK(rep.nonprivate_equal == 1 && rep.baseline_equal == 1);
    CHECK(!strcmp(rep.encoding, "bfv"));
    ppml_dmlp_report_clear(&rep);
    cfg.eps = 0.5;
    CHECK_OK(ppml_dmlp_run_local(w, &rep, &tr, &te, &cfg, &enc, NULL));
    CHECK(rep.baseline_equal == 1 && rep.nonprivate_equal == -1);
    ppml_dmlp_report_clear(&rep);
    ppml_dmlp_encoding_clear(&enc);
    ppml_logreg_data_clear(&tr);
    ppml_logreg_data_clear(&te);
}

int main(void)
{
    test_init();
    test_seed(31);
    test_dp();
    test_partition();
    test_encoding();
    test_exact();
    test_bfv_encoding();
    test_bfv_engine();
    return test_finish("test_dmlp");
}
