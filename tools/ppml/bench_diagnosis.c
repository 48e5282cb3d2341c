/* ppml bench diagnosis: encrypted online diagnosis (scheme S, DESIGN §4.4) at the real
 * parameters (BFV n = 16384 with CSS's noise flood, 40-bit t; 2048-bit user Paillier key) for
 * K = 3 and K = 10 classes
 * and d = 64 features, with a random model and random symptom vectors. Per diagnosis:
 * user_total (encode + encrypt the request, decrypt the result), css, ccs and the whole
 * diagnosis (all three, run sequentially in one process), each ONLINE, i.e. after the
 * query-independent offline phase (ppml_diag_system_precompute), which is reported on its own
 * as user_offline, css_offline, ccs_offline (per query); per_diagnosis_cold is a whole
 * diagnosis with no precomputation. Bytes each way as extra fields. Three variants are
 * reported too, with "variant" in params: css_rotations (log2(D) rotations-and-adds at CSS,
 * as in the DESIGN sketch), result_paillier (class under the user's 2048-bit Paillier key) and
 * no_circuit_privacy (n = 8192 without the noise flood CSS adds by default). */
#include "cli.h"
#include "ppml/diagnosis.h"

#include <stdio.h>
#include <stdlib.h>

static int bench_one(const cli_bench_opts *o, size_t K, size_t d, int rotations, int paillier,
                     int flood)
{
    ppml_diag_config cfg;
    ppml_diag_config_default(&cfg);
    cfg.css_rotations = rotations;
    cfg.result_paillier = paillier;
    ppml_diag_config_circuit_private(&cfg, flood);
    cfg.sequential = 1; /* parties in turn in this thread: per-party times without handoffs */
    size_t dim = d + 1;
    ppml_diag_model m;
    ppml_diag_model_init(&m);
    m.n_classes = K;
    m.dim = dim;
    m.frac_w = cfg.frac_w;
    m.w = calloc(K * dim, sizeof *m.w);
    double *x = malloc(d * sizeof *x);
    if (!m.w || !x) {
        free(m.w);
        free(x);
        return cli_error("out of memory");
    }
    /* weights in [-2, 2) and features in [-3, 3) in fixed point */
    for (size_t i = 0; i < K * dim; i++)
        m.w[i] = (int64_t)ppml_rand_below(4u << cfg.frac_w) - (2 << cfg.frac_w);
    ppml_diag_system *sys = NULL;
    int e = ppml_diag_system_new(&sys, &cfg, &m);
    if (e) {
        ppml_diag_model_clear(&m);
        free(x);
        return cli_error("diagnosis set-up failed: %s", ppml_strerror(e));
    }
    int reps = o->reps ? o->reps : (o->quick ? 3 : 10);
    cli_bench user, css, ccs, total, uoff, soff, coff, cold;
    cli_bench_init(&uoff);
    cli_bench_init(&soff);
    cli_bench_init(&coff);
    cli_bench_init(&cold);
    cli_bench_init(&user);
    cli_bench_init(&css);
    cli_bench_init(&ccs);
    cli_bench_init(&total);
    ppml_diag_stats st = {0};
    for (int r = 0; r < reps + 1 && !e; r++) {
        for (size_t j = 0; j < d; j++)
            x[j] = ((double)ppml_rand_below(6000) - 3000.0) / 1000.0;
        ppml_diag_stats one = {0}, cold1 = {0};
        uint32_t cls;
        e = ppml_diag_system_diagnose(sys, &cls, x, d, &cold1); /* no precomputation */
        if (!e)
            e = ppml_diag_system_precompute(sys, 1, &one);
        if (!e)
            e = ppml_diag_system_diagnose(sys, &cls, x, d, &one);
        if (e || r == 0) /* first round warms the CCS key cache */
            continue;
        cli_bench_add(&cold, cold1.user_ns + cold1.css_ns + cold1.ccs_ns);
        cli_bench_add(&uoff, one.user_offline_ns);
        cli_bench_add(&soff, one.css_offline_ns);
        cli_bench_add(&coff, one.ccs_offline_ns);
        cli_bench_add(&user, one.user_ns);
        cli_bench_add(&css, one.css_ns);
        cli_bench_add(&ccs, one.ccs_ns);
        cli_bench_add(&total, one.user_ns + one.css_ns + one.ccs_ns);
        st = one;
    }
    if (!e) {
        char params[96], extra[256];
        if (rotations || paillier || !flood)
            snprintf(params, sizeof params, "{\"K\":%zu,\"d\":%zu,\"variant\":\"%s\"}", K, d,
                     rotations ? "css_rotations" : paillier ? "result_paillier" : "no_circuit_privacy");
        else
            snprintf(params, sizeof params, "{\"K\":%zu,\"d\":%zu}", K, d);
        snprintf(extra, sizeof extra,
                 "\"bytes_up\":%llu,\"bytes_down\":%llu,\"bytes_css_ccs\":%llu,"
                 "\"bytes_ccs_css\":%llu,\"bytes_model\":%llu",
                 (unsigned long long)st.bytes_up, (unsigned long long)st.bytes_down,
                 (unsigned long long)st.bytes_css_ccs, (unsigned long long)st.bytes_ccs_css,
                 (unsigned long long)st.bytes_model);
        cli_bench_report(o->json, "diagnosis", "user_total", params, &user, extra);
        cli_bench_report(o->json, "diagnosis", "css", params, &css, extra);
        cli_bench_report(o->json, "diagnosis", "ccs", params, &ccs, extra);
        cli_bench_report(o->json, "diagnosis", "per_diagnosis", params, &total, extra);
        cli_bench_report(o->json, "diagnosis", "user_offline", params, &uoff, NULL);
        cli_bench_report(o->json, "diagnosis", "css_offline", params, &soff, NULL);
        if (paillier) /* with the BFV result CCS has no offline phase */
            cli_bench_report(o->json, "diagnosis", "ccs_offline", params, &coff, NULL);
        cli_bench_report(o->json, "diagnosis", "per_diagnosis_cold", params, &cold, extra);
    }
    cli_bench_clear(&uoff);
    cli_bench_clear(&soff);
    cli_bench_clear(&coff);
    cli_bench_clear(&cold);
    cli_bench_clear(&user);
    cli_bench_clear(&css);
    cli_bench_clear(&ccs);
    cli_bench_clear(&total);
    ppml_diag_system_free(sys);
    ppml_diag_model_clear(&m);
    free(x);
    return e ? cli_error("diagnosis failed: %s", ppml_strerror(e)) : 0;
}

int bench_diagnosis(const cli_bench_opts *o)
{
    /* {rotations, paillier, circuit_private} */
    static const int variants[][3] = {{0, 0, 1}, {1, 0, 1}, {0, 1, 1}, {0, 0, 0}};
    int rc = 0;
    for (size_t v = 0; v < 4 && !rc; v++) {
        rc = bench_one(o, 3, 64, variants[v][0], variants[v][1], variants[v][2]);
        if (!rc)
            rc = bench_one(o, 10, 64, variants[v][0], variants[v][1], variants[v][2]);
    }
    return rc;
}
