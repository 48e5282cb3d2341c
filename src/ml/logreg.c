/* Fixed-point logistic regression (reference model and worker kernel of scheme D). */
#include "ppml/logreg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ppml_logreg_params_default(ppml_logreg_params *p)
{
    p->iters = PPML_LOGREG_DEFAULT_ITERS;
    p->lr = PPML_LOGREG_DEFAULT_LR;
    p->frac_w = PPML_LOGREG_FRAC_W;
    p->frac_r = PPML_LOGREG_FRAC_R;
}

int ppml_logreg_params_check(const ppml_logreg_params *p)
{
    if (!p || p->iters < 1 || p->iters > 100000 || !isfinite(p->lr) || !(p->lr > 0) || p->lr > 1e6 ||
        p->frac_w < 1 || p->frac_w > 30 || p->frac_r < 1 || p->frac_r > 30)
        return PPML_EINVAL;
    return PPML_OK;
}

int ppml_logreg_data_alloc(ppml_logreg_data *out, size_t m, size_t d, unsigned frac_x)
{
    if (!out || m < 1 || d < 1 || m > PPML_LOGREG_MAX_M || d > PPML_LOGREG_MAX_D || frac_x > 14)
        return PPML_EINVAL;
    int32_t *x = calloc(m * d, sizeof *x); /* m*d < 2^41: no overflow on 64-bit size_t */
    uint8_t *y = calloc(m, 1);
    if (!x || !y) {
        free(x);
        free(y);
        return PPML_ENOMEM;
    }
    out->m = m;
    out->d = d;
    out->frac_x = frac_x;
    out->x = x;
    out->y = y;
    return PPML_OK;
}

void ppml_logreg_data_clear(ppml_logreg_data *data)
{
    if (!data)
        return;
    free(data->x);
    free(data->y);
    memset(data, 0, sizeof *data);
}

int ppml_logreg_data_check(const ppml_logreg_data *data)
{
    if (!data || !data->x || !data->y || data->m < 1 || data->d < 1 || data->m > PPML_LOGREG_MAX_M ||
        data->d > PPML_LOGREG_MAX_D || data->frac_x > 14)
        return PPML_EINVAL;
    for (size_t i = 0; i < data->m; i++)
        if (data->y[i] > 1)
            return PPML_ERANGE;
    for (size_t i = 0; i < data->m * data->d; i++)
        if (data->x[i] > PPML_LOGREG_X_MAX || data->x[i] < -PPML_LOGREG_X_MAX)
            return PPML_ERANGE;
    return PPML_OK;
}

/* <x, w> + intercept, exact: |x| <= 2^16, |w| <= 2^31, d <= 2^15 keeps |sum| < 2^63. */
static int64_t dot_exact(const int32_t *x, const int64_t *w, size_t d, unsigned frac_x)
{
    int64_t s = 0;
    for (size_t j = 0; j < d; j++)
        s += (int64_t)x[j] * w[j];
    return s + w[d] * ((int64_t)1 << frac_x);
}

double ppml_logreg_score(const int64_t *w, const int32_t *x, size_t d, unsigned frac_x, unsigned frac_w)
{
    return ldexp((double)dot_exact(x, w, d, frac_x), -(int)(frac_x + frac_w));
}

void ppml_logreg_gradient_acc(uint64_t *g, const int32_t *x, const uint8_t *y, size_t rows, size_t d,
                              unsigned frac_x, const int64_t *w, const ppml_logreg_params *p)
{
    for (size_t i = 0; i < rows; i++) {
        const int32_t *row = x + i * d;
        double z = ldexp((double)dot_exact(row, w, d, frac_x), -(int)(frac_x + p->frac_w));
        double r = 1.0 / (1.0 + exp(-z)) - (double)y[i];
        /* |r| <= 1, so |e| <= 2^frac_r and |e * x| <= 2^46: exact in int64. */
        int64_t e = (int64_t)llround(ldexp(r, (int)p->frac_r));
        if (e == 0)
            continue;
        for (size_t j = 0; j < d; j++)
            g[j] += (uint64_t)(e * row[j]);
        g[d] += (uint64_t)(e * ((int64_t)1 << frac_x));
    }
}

void ppml_logreg_update(int64_t *w, const uint64_t *g, size_t d, size_t m, unsigned frac_x,
                        const ppml_logreg_params *p)
{
    /* g is in units 2^-(frac_x + frac_r); the step in weight units is
     * lr * g / m * 2^(frac_w - frac_x - frac_r). Computed once, by the data centre. */
    double scale = p->lr / (double)m * ldexp(1.0, (int)p->frac_w - (int)(frac_x + p->frac_r));
    for (size_t j = 0; j <= d; j++) {
        double step = (double)(int64_t)g[j] * scale;
        double nw = (double)w[j] - nearbyint(step);
        if (nw > (double)PPML_LOGREG_W_MAX)
            nw = (double)PPML_LOGREG_W_MAX;
        if (nw < -(double)PPML_LOGREG_W_MAX)
            nw = -(double)PPML_LOGREG_W_MAX;
        w[j] = (int64_t)nw;
    }
}

int ppml_logreg_accuracy(double *acc, const int64_t *w, const ppml_logreg_data *test,
                         const ppml_logreg_params *p)
{
    if (!acc || !w || !test || !test->x || !test->y || test->m == 0 || !p)
        return PPML_EINVAL;
    size_t ok = 0;
    for (size_t i = 0; i < test->m; i++) {
        int64_t s = dot_exact(test->x + i * test->d, w, test->d, test->frac_x);
        ok += (s >= 0) == (test->y[i] == 1);
    }
    *acc = (double)ok / (double)test->m;
    return PPML_OK;
}

int ppml_logreg_train(int64_t *w_out, const ppml_logreg_data *train, const ppml_logreg_data *test,
                      double *acc_iter, const ppml_logreg_params *p)
{
    int e;
    if (!w_out || !train || (e = ppml_logreg_params_check(p)))
        return PPML_EINVAL;
    if ((e = ppml_logreg_data_check(train)))
        return e;
    if (test && (test->d != train->d || test->frac_x != train->frac_x))
        return PPML_EMISMATCH;
    size_t d = train->d;
    int64_t *w = calloc(d + 1, sizeof *w);
    uint64_t *g = malloc((d + 1) * sizeof *g);
    if (!w || !g) {
        free(w);
        free(g);
        return PPML_ENOMEM;
    }
    for (unsigned t = 0; t < p->iters; t++) {
        memset(g, 0, (d + 1) * sizeof *g);
        ppml_logreg_gradient_acc(g, train->x, train->y, train->m, d, train->frac_x, w, p);
        ppml_logreg_update(w, g, d, train->m, train->frac_x, p);
        if (test && acc_iter && (e = ppml_logreg_accuracy(&acc_iter[t], w, test, p)))
            break;
    }
    if (!e)
        memcpy(w_out, w, (d + 1) * sizeof *w);
    free(w);
    free(g);
    return e;
}
