/* Fixed-point logistic regression: exact, partition-independent gradients; agreement with an
 * independent floating-point implementation of the same gradient descent; parameter and
 * data validation. */
#include "test.h"

#include "ppml/dmlp.h"
#include "ppml/logreg.h"

#include <math.h>

/* Independent double implementation of the same algorithm (w = 0, full batch). */
static void train_double(double *w, const ppml_logreg_data *t, unsigned iters, double lr)
{
    size_t d = t->d;
    double sx = ldexp(1.0, -(int)t->frac_x);
    double *g = calloc(d + 1, sizeof *g);
    memset(w, 0, (d + 1) * sizeof *w);
    for (unsigned it = 0; it < iters; it++) {
        memset(g, 0, (d + 1) * sizeof *g);
        for (size_t i = 0; i < t->m; i++) {
            double z = w[d];
            for (size_t j = 0; j < d; j++)
                z += w[j] * t->x[i * d + j] * sx;
            double r = 1.0 / (1.0 + exp(-z)) - t->y[i];
            for (size_t j = 0; j < d; j++)
                g[j] += r * t->x[i * d + j] * sx;
            g[d] += r;
        }
        for (size_t j = 0; j <= d; j++)
            w[j] -= lr * g[j] / (double)t->m;
    }
    free(g);
}

static void test_partition_exact(void)
{
    ppml_logreg_data tr = {0}, te = {0};
    CHECK_OK(ppml_dmlp_synthetic(&tr, &te, 300, 50, 33, 5, 8));
    ppml_logreg_params p;
    ppml_logreg_params_default(&p);
    size_t d1 = tr.d + 1;
    int64_t *w = malloc(d1 * sizeof *w);
    uint64_t *full = calloc(d1, sizeof *full), *part = calloc(d1, sizeof *part);
    /* a non-trivial model */
    for (size_t j = 0; j < d1; j++)
        w[j] = (int64_t)ppml_rand_below(1u << 21) - (1 << 20);
    ppml_logreg_gradient_acc(full, tr.x, tr.y, tr.m, tr.d, tr.frac_x, w, &p);
    for (int trial = 0; trial < 20; trial++) {
        /* random cut points, summed in reverse order: same bits */
        size_t cut[6] = {0, 0, 0, 0, 0, tr.m};
        for (int k = 1; k < 5; k++)
            cut[k] = (size_t)ppml_rand_below(tr.m + 1);
        for (int a = 1; a < 5; a++) /* sort */
            for (int b = a; b > 0 && cut[b] < cut[b - 1]; b--) {
                size_t t = cut[b];
                cut[b] = cut[b - 1];
                cut[b - 1] = t;
            }
        memset(part, 0, d1 * sizeof *part);
        for (int k = 4; k >= 0; k--)
            ppml_logreg_gradient_acc(part, tr.x + cut[k] * tr.d, tr.y + cut[k], cut[k + 1] - cut[k], tr.d, tr.frac_x,
                                     w, &p);
        CHECK(memcmp(part, full, d1 * sizeof *full) == 0);
    }
    /* and the fixed-point gradient is the real one within rounding */
    double sx = 1.0 / 256, sw = ldexp(1.0, -(int)p.frac_w);
    for (size_t j = 0; j < d1; j += 7) {
        double g = 0;
        for (size_t i = 0; i < tr.m; i++) {
            double z = w[tr.d] * sw;
            for (size_t k = 0; k < tr.d; k++)
                z += (double)w[k] * sw * tr.x[i * tr.d + k] * sx;
            double r = 1.0 / (1.0 + exp(-z)) - tr.y[i];
            g += r * (j < tr.d ? tr.x[i * tr.d + j] * sx : 1.0);
        }
        double got = ldexp((double)(int64_t)full[j], -(int)(8 + p.frac_r));
        CHECK(fabs(got - g) <= 1e-5 * (double)tr.m);
    }
    free(w);
    free(full);
    free(part);
    ppml_logreg_data_clear(&tr);
    ppml_logreg_data_clear(&te);
}

static void test_train_matches_double(void)
{
    ppml_logreg_data tr = {0}, te = {0};
    CHECK_OK(ppml_dmlp_synthetic(&tr, &te, 400, 100, 20, 9, 8));
    ppml_logreg_params p;
    ppml_logreg_params_default(&p);
    p.lr = 0.5;
    p.iters = 15;
    size_t d1 = tr.d + 1;
    int64_t *w = malloc(d1 * sizeof *w);
    double *wd = malloc(d1 * sizeof *wd), acc[15];
    CHECK_OK(ppml_logreg_train(w, &tr, &te, acc, &p));
    train_double(wd, &tr, p.iters, p.lr);
    double maxdiff = 0;
    for (size_t j = 0; j < d1; j++) {
        double diff = fabs(ldexp((double)w[j], -(int)p.frac_w) - wd[j]);
        maxdiff = diff > maxdiff ? diff : maxdiff;
    }
    CHECK(maxdiff < 1e-3);
    /* accuracy: fixed point vs double predictions agree, and the task is learned */
    size_t agree = 0, ok = 0;
    for (size_t i = 0; i < te.m; i++) {
        double z = wd[tr.d];
        for (size_t j = 0; j < tr.d; j++)
            z += wd[j] * te.x[i * tr.d + j] / 256.0;
        double s = ppml_logreg_score(w, te.x + i * tr.d, tr.d, 8, p.frac_w);
        agree += (z >= 0) == (s >= 0) || fabs(z) < 1e-3;
        ok += (s >= 0) == (te.y[i] == 1);
    }
    CHECK(agree == te.m);
    CHECK(fabs(acc[p.iters - 1] - (double)ok / te.m) < 1e-12);
    CHECK(acc[p.iters - 1] > 0.9);
    free(w);
    free(wd);
    ppml_logreg_data_clear(&tr);
    ppml_logreg_data_clear(&te);
}

static void test_errors(void)
{
    ppml_logreg_params p;
    ppml_logreg_params_default(&p);
    CHECK_OK(ppml_logreg_params_check(&p));
    p.lr = 0;
    CHECK_ERR(ppml_logreg_params_check(&p), PPML_EINVAL);
    p.lr = NAN;
    CHECK_ERR(ppml_logreg_params_check(&p), PPML_EINVAL);
    ppml_logreg_params_default(&p);
    p.iters = 0;
    CHECK_ERR(ppml_logreg_params_check(&p), PPML_EINVAL);
    ppml_logreg_params_default(&p);
    p.frac_w = 31;
    CHECK_ERR(ppml_logreg_params_check(&p), PPML_EINVAL);
    ppml_logreg_params_default(&p);

    ppml_logreg_data t = {0};
    CHECK_ERR(ppml_logreg_data_alloc(&t, 0, 3, 8), PPML_EINVAL);
    CHECK_ERR(ppml_logreg_data_alloc(&t, 3, PPML_LOGREG_MAX_D + 1, 8), PPML_EINVAL);
    CHECK_OK(ppml_logreg_data_alloc(&t, 4, 3, 8));
    CHECK_OK(ppml_logreg_data_check(&t));
    t.y[2] = 2;
    CHECK_ERR(ppml_logreg_data_check(&t), PPML_ERANGE);
    t.y[2] = 1;
    t.x[5] = PPML_LOGREG_X_MAX + 1;
    CHECK_ERR(ppml_logreg_data_check(&t), PPML_ERANGE);
    int64_t w[4] = {1, 2, 3, 4};
    CHECK_ERR(ppml_logreg_train(w, &t, NULL, NULL, &p), PPML_ERANGE);
    CHECK(w[0] == 1 && w[3] == 4); /* untouched on failure */
    t.x[5] = 0;
    ppml_logreg_data other = {0};
    CHECK_OK(ppml_logreg_data_alloc(&other, 2, 4, 8));
    CHECK_ERR(ppml_logreg_train(w, &t, &other, NULL, &p), PPML_EMISMATCH);
    double acc = -1;
    CHECK_ERR(ppml_logreg_accuracy(&acc, w, NULL, &p), PPML_EINVAL);
    ppml_logreg_data_clear(&t);
    ppml_logreg_data_clear(&other);
    ppml_logreg_data_clear(&t); /* twice is fine */
}

/* Saturation: a huge learning rate keeps weights within W_MAX and never overflows. */
static void test_saturation(void)
{
    ppml_logreg_data tr = {0}, te = {0};
    CHECK_OK(ppml_dmlp_synthetic(&tr, &te, 50, 10, 16, 2, 8));
    ppml_logreg_params p;
    ppml_logreg_params_default(&p);
    p.lr = 1e6;
    p.iters = 5;
    int64_t w[17];
    CHECK_OK(ppml_logreg_train(w, &tr, NULL, NULL, &p));
    for (int j = 0; j < 17; j++)
        CHECK(w[j] <= PPML_LOGREG_W_MAX && w[j] >= -PPML_LOGREG_W_MAX);
    ppml_logreg_data_clear(&tr);
    ppml_logreg_data_clear(&te);
}

int main(void)
{
    test_init();
    test_seed(11);
    test_partition_exact();
    test_train_matches_double();
    test_errors();
    test_saturation();
    return test_finish("test_logreg");
}
