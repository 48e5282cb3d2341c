/* Binary logistic regression in fixed point: the plaintext reference model of scheme D
 * (ACA-DMLP) and the kernel its workers run.
 *
 * Data: x values are encoded as round(x * 2^frac_x) in int32 (frac_x = 8 for pixel data in
 * [0, 1]); labels are 0/1. The model has d + 1 int64 weights with frac_w fractional bits;
 * the last one is the intercept (its feature is the public constant 1.0, never noised).
 *
 * Full-batch gradient descent on the mean logistic loss:
 *   z_i = <x_i, w>                (exact int64: |x| <= 2^16, |w| <= 2^31, d <= 2^15)
 *   r_i = sigmoid(z_i) - y_i      (double, then encoded with frac_r bits)
 *   g_j = sum_i r_i * x_ij        (exact, summed mod 2^64 as uint64)
 *   w_j <- w_j - round(lr * g_j / m)  (rescaled to frac_w bits)
 * Every per-record contribution depends only on that record and w, and the sum is exact
 * integer arithmetic, so the gradient (and the model) is bit-identical however the records
 * are split between workers and in whatever order they are summed: the exactness property
 * of DESIGN §5.7.
 *
 * Ownership: ppml_logreg_data owns its x and y arrays (ppml_logreg_data_clear frees them).
 * Functions never keep pointers to their inputs. */
#ifndef PPML_LOGREG_H
#define PPML_LOGREG_H
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_LOGREG_FRAC_X 8        /* default fractional bits of data values */
#define PPML_LOGREG_FRAC_W 20       /* fractional bits of weights */
#define PPML_LOGREG_FRAC_R 20       /* fractional bits of residuals sigmoid(z) - y */
#define PPML_LOGREG_X_MAX ((int32_t)1 << 16)     /* |x| bound (noisy data is clamped) */
#define PPML_LOGREG_W_MAX ((int64_t)1 << 31)     /* |w| bound (updates saturate) */
#define PPML_LOGREG_MAX_D ((size_t)1 << 15)
#define PPML_LOGREG_MAX_M ((size_t)1 << 26)
/* Default learning rate for data in [0, 1]: on the (12396, 1568) reference task the
 * curvature of the mean loss is dominated by the mean direction, about d * E[x]^2 / 4 ~ 35,
 * so steps below 2/35 are stable; 0.02 converges within 25 steps, and the noise of every
 * eps in the sweep adds only 2b^2/4 per direction (b in real units). */
#define PPML_LOGREG_DEFAULT_LR 0.02
#define PPML_LOGREG_DEFAULT_ITERS 25

typedef struct ppml_logreg_data {
    size_t m, d;        /* records, features */
    unsigned frac_x;    /* x = round(real * 2^frac_x) */
    int32_t *x;         /* m * d, row-major, owned */
    uint8_t *y;         /* m labels in {0, 1}, owned */
} ppml_logreg_data;

typedef struct ppml_logreg_params {
    unsigned iters;     /* gradient steps (default 25) */
    double lr;          /* learning rate on the mean loss */
    unsigned frac_w;    /* weight fractional bits */
    unsigned frac_r;    /* residual fractional bits */
} ppml_logreg_params;

/* Defaults above. */
PPML_API void ppml_logreg_params_default(ppml_logreg_params *p);
/* Checks ranges of a parameter set (iters 1..100000, lr finite in (0, 1e6], frac bits
 * 1..30). */
PPML_API int ppml_logreg_params_check(const ppml_logreg_params *p) PPML_WUR;

/* Allocate m x d zeroed data. m, d >= 1, m <= MAX_M, d <= MAX_D. */
PPML_API int ppml_logreg_data_alloc(ppml_logreg_data *out, size_t m, size_t d, unsigned frac_x) PPML_WUR;
/* Free x and y and zero the struct; safe on a zeroed struct. */
PPML_API void ppml_logreg_data_clear(ppml_logreg_data *data);
/* Validate: sizes in range, labels 0/1, |x| <= X_MAX. */
PPML_API int ppml_logreg_data_check(const ppml_logreg_data *data) PPML_WUR;

/* Worker kernel: add (mod 2^64) the fixed-point gradient of rows [0, rows) of x/y to
 * g[0..d] (d + 1 entries; the last is the intercept). w has d + 1 entries. Values of g are
 * in units 2^-(frac_x + frac_r) (the intercept's feature is 2^frac_x). */
PPML_API void ppml_logreg_gradient_acc(uint64_t *g, const int32_t *x, const uint8_t *y,
                                       size_t rows, size_t d, unsigned frac_x,
                                       const int64_t *w, const ppml_logreg_params *p);
/* Data-centre step: w <- w - lr * (signed g) / m, rescaled to frac_w bits, saturating at
 * W_MAX. m is the total number of records. */
PPML_API void ppml_logreg_update(int64_t *w, const uint64_t *g, size_t d, size_t m,
                                 unsigned frac_x, const ppml_logreg_params *p);

/* Decision value of one record as a real number. */
PPML_API double ppml_logreg_score(const int64_t *w, const int32_t *x, size_t d, unsigned frac_x,
                                  unsigned frac_w);
/* Fraction of test records with [score >= 0] == y. */
PPML_API int ppml_logreg_accuracy(double *acc, const int64_t *w, const ppml_logreg_data *test,
                                  const ppml_logreg_params *p) PPML_WUR;

/* Centralised reference: one node, full batch, p->iters steps from w = 0. w_out has d + 1
 * entries. If test and acc_iter are non-NULL, acc_iter[t] is the test accuracy after step
 * t + 1 (p->iters entries). */
PPML_API int ppml_logreg_train(int64_t *w_out, const ppml_logreg_data *train,
                               const ppml_logreg_data *test, double *acc_iter,
                               const ppml_logreg_params *p) PPML_WUR;

#ifdef __cplusplus
}
#endif
#endif
