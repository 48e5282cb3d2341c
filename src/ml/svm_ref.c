/* Plaintext one-vs-rest linear SVM (scheme S's training, DESIGN §4.3) in floating point and
 * in exact fixed point. The operation sequence of the fixed-point trainer is specified in
 * include/ppml/svm_ref.h and is what the two-server protocol reproduces on ciphertexts. */
#include "ppml/svm_ref.h"
#include "ppml/fixed.h"
#include "ppml/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define W_LIMIT ((int64_t)1 << 62)
#define MAX_TRAIN_ROWS ((size_t)1 << 24)
#define MAX_DIM ((size_t)1 << 14)

void ppml_svm_ref_params_default(ppml_svm_ref_params *p)
{
    memset(p, 0, sizeof *p);
    p->epochs = PPML_SVM_REF_DEFAULT_EPOCHS;
    p->lr = PPML_SVM_REF_DEFAULT_LR;
    p->lambda = PPML_SVM_REF_DEFAULT_LAMBDA;
    p->batch = PPML_SVM_REF_DEFAULT_BATCH;
    p->ovr_binary = 0;
    p->frac_bits = PPML_SVM_REF_DEFAULT_FRAC_BITS;
    p->const_frac_bits = PPML_SVM_REF_DEFAULT_CONST_FRAC_BITS;
}

int ppml_svm_ref_params_check(const ppml_svm_ref_params *p)
{
    if (!p || p->epochs < 1 || p->epochs > PPML_SVM_REF_MAX_EPOCHS)
        return PPML_EINVAL;
    if (!(p->lr > 0.0 && p->lr <= PPML_SVM_REF_MAX_LR))
        return PPML_EINVAL;
    if (!(p->lambda >= 0.0 && p->lr * p->lambda <= 1.0))
        return PPML_EINVAL;
    if (p->frac_bits < 1 || p->frac_bits > PPML_SVM_REF_MAX_FRAC_BITS)
        return PPML_EINVAL;
    if (p->const_frac_bits < 1 || p->const_frac_bits > PPML_SVM_REF_MAX_CONST_FRAC_BITS)
        return PPML_EINVAL;
    return PPML_OK;
}

/* Effective batch size for n rows. */
static size_t batch_size(const ppml_svm_ref_params *p, size_t n)
{
    return (p->batch == 0 || p->batch >= n) ? n : p->batch;
}

uint64_t ppml_svm_ref_steps(const ppml_svm_ref_params *p, size_t n_train)
{
    if (!p || n_train == 0)
        return 0;
    size_t s = batch_size(p, n_train);
    uint64_t per_epoch = (uint64_t)(n_train / s + (n_train % s != 0));
    return per_epoch * p->epochs;
}

static int check_train_set(const ppml_dataset *ds)
{
    if (!ds || ds->n == 0 || ds->d == 0 || !ds->x || !ds->y || ds->n_classes < 2 ||
        ds->n > MAX_TRAIN_ROWS || ds->d >= MAX_DIM)
        return PPML_EINVAL;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] >= ds->n_classes)
            return PPML_EINVAL;
    return PPML_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Floating point */

void ppml_svm_ref_model_init(ppml_svm_ref_model *m) { memset(m, 0, sizeof *m); }

void ppml_svm_ref_model_clear(ppml_svm_ref_model *m)
{
    if (!m)
        return;
    ppml_free_secret(m->w, m->n_out * m->dim * sizeof(double));
    ppml_svm_ref_model_init(m);
}

int ppml_svm_ref_train(ppml_svm_ref_model *model, const ppml_dataset *train,
                       const ppml_svm_ref_params *p, ppml_svm_ref_progress_fn progress,
                       void *progress_ctx)
{
    int e;
    if (!model || (e = ppml_svm_ref_params_check(p)) != PPML_OK || (e = check_train_set(train)))
        return PPML_EINVAL;
    size_t n = train->n, d = train->d, dim = d + 1, K = train->n_classes;
    size_t n_out = ppml_dataset_n_outputs(K, p->ovr_binary);
    size_t s_full = batch_size(p, n);
    double *w = calloc(n_out * dim, sizeof(double));
    double *g = malloc(n_out * dim * sizeof(double));
    int8_t *Y = malloc(n * n_out);
    if (!w || !g || !Y) {
        e = PPML_ENOMEM;
        goto out;
    }
    if ((e = ppml_dataset_labels_pm1(Y, n * n_out, train, n_out)) != PPML_OK)
        goto out;
    for (unsigned ep = 0; ep < p->epochs; ep++) {
        for (size_t b0 = 0; b0 < n; b0 += s_full) {
            size_t b1 = b0 + s_full < n ? b0 + s_full : n;
            double inv_s = 1.0 / (double)(b1 - b0);
            memset(g, 0, n_out * dim * sizeof(double));
            for (size_t i = b0; i < b1; i++) {
                const double *x = train->x + i * d;
                for (size_t k = 0; k < n_out; k++) {
                    const double *wk = w + k * dim;
                    double dot = wk[d]; /* bias feature 1 */
                    for (size_t j = 0; j < d; j++)
                        dot += wk[j] * x[j];
                    double y = (double)Y[i * n_out + k];
                    double m = y * dot;
                    if (1.0 - m > 0.0) { /* u_ik = 1: accumulate y·x */
                        double *gk = g + k * dim;
                        for (size_t j = 0; j < d; j++)
                            gk[j] += y * x[j];
                        gk[d] += y;
                    }
                }
            }
            for (size_t q = 0; q < n_out * dim; q++) {
                double grad = p->lambda * w[q] - inv_s * g[q];
                w[q] -= p->lr * grad;
            }
        }
        if (progress)
            progress(progress_ctx, ep + 1, p->epochs);
    }
    for (size_t q = 0; q < n_out * dim; q++)
        if (!isfinite(w[q])) {
            e = PPML_ERANGE;
            goto out;
        }
    ppml_svm_ref_model_clear(model);
    model->n_classes = K;
    model->n_out = n_out;
    model->dim = dim;
    model->w = w;
    w = NULL;
    e = PPML_OK;
out:
    if (w)
        ppml_free_secret(w, n_out * dim * sizeof(double));
    if (g)
        ppml_free_secret(g, n_out * dim * sizeof(double));
    if (Y)
        ppml_free_secret(Y, n * n_out);
    return e;
}

static int model_shape_ok(size_t K, size_t n_out, size_t dim, const void *w)
{
    return w && K >= 2 && dim >= 2 && dim <= MAX_DIM &&
           n_out == ppml_dataset_n_outputs(K, n_out == K);
}

int ppml_svm_ref_predict(uint32_t *pred, size_t pred_len, const ppml_svm_ref_model *model,
                         const ppml_dataset *ds)
{
    if (!pred || !model || !model_shape_ok(model->n_classes, model->n_out, model->dim, model->w) ||
        !ds || (ds->n && !ds->x) || pred_len != ds->n)
        return PPML_EINVAL;
    if (ds->d + 1 != model->dim)
        return PPML_EMISMATCH;
    size_t d = ds->d, dim = model->dim;
    for (size_t i = 0; i < ds->n; i++) {
        const double *x = ds->x + i * d;
        uint32_t best = 0;
        double best_score = 0.0;
        for (size_t k = 0; k < model->n_out; k++) {
            const double *wk = model->w + k * dim;
            double dot = wk[d];
            for (size_t j = 0; j < d; j++)
                dot += wk[j] * x[j];
            if (model->n_out == 1) {
                best = dot >= 0.0 ? 1 : 0;
            } else if (k == 0 || dot > best_score) {
                best = (uint32_t)k;
                best_score = dot;
            }
        }
        pred[i] = best;
    }
    return PPML_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Fixed point */

void ppml_svm_ref_fx_model_init(ppml_svm_ref_fx_model *m) { memset(m, 0, sizeof *m); }

void ppml_svm_ref_fx_model_clear(ppml_svm_ref_fx_model *m)
{
    if (!m)
        return;
    ppml_free_secret(m->w, m->n_out * m->dim * sizeof(int64_t));
    ppml_svm_ref_fx_model_init(m);
}

/* floor(v / 2^c) for signed v (no reliance on the sign behaviour of >>). */
static i128 floor_shift(i128 v, unsigned c)
{
    if (v >= 0)
        return (i128)((u128)v >> c);
    u128 m = (u128)(-(v + 1)); /* |v| − 1, no overflow */
    return -(i128)(m >> c) - 1;
}

static unsigned bitlen_u128(u128 v)
{
    unsigned b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b;
}

static i128 abs128(i128 v) { return v < 0 ? -v : v; }

/* round(x) ties away from zero, x ≥ 0 finite and < 2^63. */
static int64_t round_nonneg(double x) { return (int64_t)floor(x + 0.5); }

int ppml_svm_ref_fx_constants(int64_t *A, int64_t *B, const ppml_svm_ref_params *p, size_t s)
{
    if (!A || !B || ppml_svm_ref_params_check(p) || s == 0)
        return PPML_EINVAL;
    unsigned c = p->const_frac_bits;
    double scale = ldexp(1.0, (int)c);
    /* η·λ and η/s are formed in double, then scaled exactly by 2^c before rounding. */
    *A = round_nonneg((1.0 - p->lr * p->lambda) * scale);
    *B = round_nonneg(p->lr / (double)s * scale);
    return PPML_OK;
}

int ppml_svm_ref_fx_encode(int64_t *X, size_t X_len, const ppml_dataset *ds, unsigned frac_bits)
{
    size_t need;
    if (!X || !ds || ds->d == 0 || (ds->n && !ds->x) || frac_bits < 1 ||
        frac_bits > PPML_SVM_REF_MAX_FRAC_BITS || ppml_mul_size(&need, ds->n, ds->d + 1) ||
        need != X_len)
        return PPML_EINVAL;
    size_t d = ds->d;
    for (size_t q = 0; q < ds->n * d; q++)
        if (!(fabs(ds->x[q]) <= PPML_SVM_REF_FX_MAX_ABS_X))
            return PPML_ERANGE; /* also NaN */
    for (size_t i = 0; i < ds->n; i++) {
        for (size_t j = 0; j < d; j++)
            if (ppml_fixed_encode(&X[i * (d + 1) + j], ds->x[i * d + j], frac_bits) != PPML_OK)
                return PPML_ERANGE; /* cannot happen after the range check */
        X[i * (d + 1) + d] = (int64_t)1 << frac_bits;
    }
    return PPML_OK;
}

static int64_t x_limit(unsigned f) { return round_nonneg(ldexp(PPML_SVM_REF_FX_MAX_ABS_X, (int)f)); }

int ppml_svm_ref_fx_train_encoded(ppml_svm_ref_fx_model *model, ppml_svm_ref_fx_stats *stats,
                                  const int64_t *X, const int8_t *Y, size_t n, size_t dim,
                                  size_t n_classes, const ppml_svm_ref_params *p,
                                  const ppml_svm_ref_fx_hooks *hooks)
{
    if (!model || !X || !Y || ppml_svm_ref_params_check(p) || n == 0 || n > MAX_TRAIN_ROWS ||
        dim < 2 || dim > MAX_DIM || n_classes < 2 || n_classes > PPML_DATASET_MAX_CLASSES)
        return PPML_EINVAL;
    const unsigned f = p->frac_bits, c = p->const_frac_bits;
    const size_t n_out = ppml_dataset_n_outputs(n_classes, p->ovr_binary);
    const int64_t xl = x_limit(f);
    for (size_t q = 0; q < n * dim; q++)
        if (X[q] > xl || X[q] < -xl)
            return PPML_ERANGE;
    for (size_t q = 0; q < n * n_out; q++)
        if (Y[q] != 1 && Y[q] != -1)
            return PPML_EINVAL;

    const size_t s_full = batch_size(p, n);
    const size_t s_last = n % s_full ? n % s_full : s_full;
    int64_t A, B_full, B_last;
    if (ppml_svm_ref_fx_constants(&A, &B_full, p, s_full) ||
        ppml_svm_ref_fx_constants(&A, &B_last, p, s_last))
        return PPML_EINVAL;
    const i128 H = (i128)1 << (c - 1);
    const i128 one = (i128)1 << (2 * f); /* 1 at scale 2^(2f) */
    ppml_svm_ref_trunc_fn trunc = hooks ? hooks->trunc : NULL;
    ppml_svm_ref_progress_fn progress = hooks ? hooks->progress : NULL;

    ppml_svm_ref_fx_stats st;
    memset(&st, 0, sizeof st);
    int e = PPML_OK;
    size_t wn = n_out * dim;
    int64_t *W = calloc(wn, sizeof *W);
    int64_t *G = malloc(wn * sizeof *G);
    int64_t *L1 = malloc(n * sizeof *L1); /* Σ_j |X_ij|, for the flip certificate */
    int64_t *F = malloc(wn * sizeof *F);   /* Σ over near rows of |X_ij|, per (k, j) */
    if (!W || !G || !L1 || !F) {
        e = PPML_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t acc = 0; /* ≤ dim · 2^32 < 2^47 */
        for (size_t j = 0; j < dim; j++)
            acc += X[i * dim + j] < 0 ? -X[i * dim + j] : X[i * dim + j];
        L1[i] = acc;
    }

    uint64_t t = 0;
    i128 dev = 0; /* certified bound on |W' − W| before this step, any admissible hook */
    const i128 dev_cap = (i128)1 << 62;
    for (unsigned ep = 0; ep < p->epochs; ep++) {
        for (size_t b0 = 0; b0 < n; b0 += s_full, t++) {
            size_t b1 = b0 + s_full < n ? b0 + s_full : n;
            const int64_t Bs = (b1 - b0 == s_full) ? B_full : B_last;
            int any_near = 0;
            memset(G, 0, wn * sizeof *G);
            for (size_t i = b0; i < b1; i++) {
                const int64_t *x = X + i * dim;
                const i128 reach = dev * L1[i]; /* |⟨ΔW, X_i⟩| ≤ dev·Σ|X_ij| */
                for (size_t k = 0; k < n_out; k++) {
                    const int64_t *wk = W + k * dim;
                    i128 P = 0; /* 1. exact inner product, scale 2^(2f) */
                    for (size_t j = 0; j < dim; j++)
                        P += (i128)wk[j] * x[j];
                    const int y = Y[i * n_out + k];
                    const i128 M = y > 0 ? P : -P;  /* 2. */
                    const i128 slack = one - M;     /* 3. u = [slack > 0] */
                    const int u = slack > 0;
                    unsigned pb = bitlen_u128((u128)abs128(P));
                    if (pb > st.margin_bits)
                        st.margin_bits = pb;
                    if (u ? (slack - reach <= 0) : (slack + reach > 0)) {
                        /* this indicator may differ in a perturbed run: its row may be
                         * in or out of G_k */
                        if (!any_near)
                            memset(F, 0, wn * sizeof *F);
                        any_near = 1;
                        st.near_threshold++;
                        int64_t *fk = F + k * dim;
                        for (size_t j = 0; j < dim; j++)
                            fk[j] += x[j] < 0 ? -x[j] : x[j];
                    }
                    if (u) { /* 4.–5. C = y: G_k += y·X_i */
                        st.active++;
                        int64_t *gk = G + k * dim;
                        if (y > 0)
                            for (size_t j = 0; j < dim; j++)
                                gk[j] += x[j];
                        else
                            for (size_t j = 0; j < dim; j++)
                                gk[j] -= x[j];
                    }
                }
            }
            /* dev' = ceil((A·dev + B_s·max F)/2^c) + 1: the floor of values at most
             * A·dev + B_s·F apart differs by at most the ceiling; δ adds 1. */
            int64_t fmax_ = 0;
            if (any_near)
                for (size_t q = 0; q < wn; q++)
                    if (F[q] > fmax_)
                        fmax_ = F[q];
            {
                i128 spread = (i128)A * dev + (i128)Bs * fmax_;
                i128 next = ((spread + (((i128)1 << c) - 1)) >> c) + 1;
                dev = next > dev_cap ? dev_cap : next;
            }
            for (size_t k = 0; k < n_out; k++)
                for (size_t j = 0; j < dim; j++) {
                    size_t q = k * dim + j;
                    const i128 V = (i128)A * W[q] + (i128)Bs * G[q] + H; /* 6. */
                    unsigned vb = bitlen_u128((u128)abs128(V));
                    if (vb > st.update_bits)
                        st.update_bits = vb;
                    i128 w_new = floor_shift(V, c); /* 7. */
                    if (trunc) {
                        /* V mod 2^c: the low c bits of V's two's complement */
                        uint64_t v_low = (uint64_t)((u128)V & (((u128)1 << c) - 1));
                        int delta = trunc(hooks->trunc_ctx, t, k, j, v_low);
                        if (delta < -1 || delta > 1) {
                            e = PPML_ERANGE;
                            goto out;
                        }
                        w_new += delta;
                    }
                    if (w_new >= W_LIMIT || w_new <= -W_LIMIT) {
                        e = PPML_EOVERFLOW;
                        goto out;
                    }
                    W[q] = (int64_t)w_new;
                    int64_t aw = W[q] < 0 ? -W[q] : W[q];
                    if (aw > st.max_abs_w)
                        st.max_abs_w = aw;
                }
        }
        if (progress)
            progress(hooks->progress_ctx, ep + 1, p->epochs);
    }
    st.steps = t;
    st.error_bound = (uint64_t)dev;
    ppml_svm_ref_fx_model_clear(model);
    model->n_classes = n_classes;
    model->n_out = n_out;
    model->dim = dim;
    model->frac_bits = f;
    model->w = W;
    W = NULL;
    if (stats)
        *stats = st;
out:
    if (W)
        ppml_free_secret(W, wn * sizeof *W);
    if (G)
        ppml_free_secret(G, wn * sizeof *G);
    if (L1)
        ppml_free_secret(L1, n * sizeof *L1);
    if (F)
        ppml_free_secret(F, wn * sizeof *F);
    return e;
}

int ppml_svm_ref_fx_train(ppml_svm_ref_fx_model *model, ppml_svm_ref_fx_stats *stats,
                          const ppml_dataset *train, const ppml_svm_ref_params *p,
                          const ppml_svm_ref_fx_hooks *hooks)
{
    if (!model || ppml_svm_ref_params_check(p) || check_train_set(train))
        return PPML_EINVAL;
    size_t n = train->n, dim = train->d + 1;
    size_t n_out = ppml_dataset_n_outputs(train->n_classes, p->ovr_binary);
    int64_t *X = malloc(n * dim * sizeof *X);
    int8_t *Y = malloc(n * n_out);
    int e = PPML_ENOMEM;
    if (X && Y && (e = ppml_svm_ref_fx_encode(X, n * dim, train, p->frac_bits)) == PPML_OK &&
        (e = ppml_dataset_labels_pm1(Y, n * n_out, train, n_out)) == PPML_OK)
        e = ppml_svm_ref_fx_train_encoded(model, stats, X, Y, n, dim, train->n_classes, p, hooks);
    if (X)
        ppml_free_secret(X, n * dim * sizeof *X);
    if (Y)
        ppml_free_secret(Y, n * n_out);
    return e;
}

int ppml_svm_ref_fx_predict(uint32_t *pred, size_t pred_len, const ppml_svm_ref_fx_model *model,
                            const ppml_dataset *ds)
{
    if (!pred || !model || !model_shape_ok(model->n_classes, model->n_out, model->dim, model->w) ||
        model->frac_bits < 1 || model->frac_bits > PPML_SVM_REF_MAX_FRAC_BITS || !ds ||
        (ds->n && !ds->x) || pred_len != ds->n)
        return PPML_EINVAL;
    if (ds->d + 1 != model->dim)
        return PPML_EMISMATCH;
    size_t dim = model->dim, d = ds->d;
    int64_t *X = malloc(dim * sizeof *X);
    uint32_t *out = malloc((ds->n ? ds->n : 1) * sizeof *out);
    if (!X || !out) {
        free(X);
        free(out);
        return PPML_ENOMEM;
    }
    int e = PPML_OK;
    for (size_t i = 0; i < ds->n && e == PPML_OK; i++) {
        for (size_t j = 0; j < d; j++) {
            double v = ds->x[i * d + j];
            if (!(fabs(v) <= PPML_SVM_REF_FX_MAX_ABS_X) ||
                ppml_fixed_encode(&X[j], v, model->frac_bits) != PPML_OK) {
                e = PPML_ERANGE;
                break;
            }
        }
        X[d] = (int64_t)1 << model->frac_bits;
        uint32_t best = 0;
        i128 best_score = 0;
        for (size_t k = 0; k < model->n_out; k++) {
            const int64_t *wk = model->w + k * dim;
            i128 S = 0;
            for (size_t j = 0; j < dim; j++)
                S += (i128)wk[j] * X[j];
            if (model->n_out == 1)
                best = S >= 0 ? 1 : 0;
            else if (k == 0 || S > best_score) {
                best = (uint32_t)k;
                best_score = S;
            }
        }
        out[i] = best;
    }
    if (e == PPML_OK)
        memcpy(pred, out, ds->n * sizeof *out);
    ppml_free_secret(X, dim * sizeof *X);
    free(out);
    return e;
}

int ppml_svm_ref_fx_to_float(ppml_svm_ref_model *out, const ppml_svm_ref_fx_model *model)
{
    if (!out || !model || !model_shape_ok(model->n_classes, model->n_out, model->dim, model->w))
        return PPML_EINVAL;
    size_t wn = model->n_out * model->dim;
    double *w = malloc(wn * sizeof *w);
    if (!w)
        return PPML_ENOMEM;
    for (size_t q = 0; q < wn; q++)
        w[q] = ppml_fixed_decode(model->w[q], model->frac_bits);
    ppml_svm_ref_model_clear(out);
    out->n_classes = model->n_classes;
    out->n_out = model->n_out;
    out->dim = model->dim;
    out->w = w;
    return PPML_OK;
}

int ppml_svm_ref_fx_max_diff(uint64_t *out, const ppml_svm_ref_fx_model *a,
                             const ppml_svm_ref_fx_model *b)
{
    if (!out || !a || !b || !a->w || !b->w)
        return PPML_EINVAL;
    if (a->n_out != b->n_out || a->dim != b->dim || a->frac_bits != b->frac_bits ||
        a->n_classes != b->n_classes)
        return PPML_EMISMATCH;
    uint64_t m = 0;
    for (size_t q = 0; q < a->n_out * a->dim; q++) {
        /* |W| < 2^62 on both sides, so the difference fits. */
        int64_t dlt = a->w[q] - b->w[q];
        uint64_t ad = dlt < 0 ? (uint64_t)(-dlt) : (uint64_t)dlt;
        if (ad > m)
            m = ad;
    }
    *out = m;
    return PPML_OK;
}

uint64_t ppml_svm_ref_fx_error_bound(const ppml_svm_ref_params *p, size_t n_train)
{
    return ppml_svm_ref_steps(p, n_train);
}

static unsigned bits_of_double(double v)
{
    /* smallest b with v < 2^b, for v ≥ 0 */
    unsigned b = 0;
    while (b < 1024 && ldexp(1.0, (int)b) <= v)
        b++;
    return b;
}

int ppml_svm_ref_fx_bounds_compute(ppml_svm_ref_fx_bounds *out, const ppml_svm_ref_params *p,
                                   size_t n_train, size_t dim, double max_abs_x)
{
    if (!out || ppml_svm_ref_params_check(p) || n_train == 0 || dim < 2 || dim > MAX_DIM ||
        !(max_abs_x > 0.0 && max_abs_x <= PPML_SVM_REF_FX_MAX_ABS_X))
        return PPML_EINVAL;
    const unsigned f = p->frac_bits, c = p->const_frac_bits;
    size_t s_full = batch_size(p, n_train);
    size_t s_last = n_train % s_full ? n_train % s_full : s_full;
    int64_t A, B_full, B_last;
    if (ppml_svm_ref_fx_constants(&A, &B_full, p, s_full) ||
        ppml_svm_ref_fx_constants(&A, &B_last, p, s_last))
        return PPML_EINVAL;
    double xq = ldexp(max_abs_x, (int)f);
    xq = floor(xq + 0.5);
    if (xq < ldexp(1.0, (int)f))
        xq = ldexp(1.0, (int)f); /* the bias feature */
    double bg = fmax((double)B_full * (double)s_full, (double)B_last * (double)s_last) * xq;
    double sc = ldexp(1.0, (int)c);
    /* W_{t+1} ≤ a·W_t + b with a = A/2^c ≤ 1, b = (bg + H)/2^c + 2 (floor and |δ| ≤ 1), so
     * W_T ≤ min(T·b, b/(1 − a)); a relative margin covers double rounding. */
    double a = (double)A / sc, b = (bg + sc / 2) / sc + 2.0;
    uint64_t T = ppml_svm_ref_steps(p, n_train);
    double wT = (double)T * b;
    if (a < 1.0 && b / (1.0 - a) < wT)
        wT = b / (1.0 - a);
    wT = wT * (1.0 + 1e-9) + 1.0;
    double gmax = (double)s_full * xq;
    out->steps = T;
    out->x_bits = bits_of_double(xq);
    out->w_bits = bits_of_double(wT);
    out->margin_bits = bits_of_double((double)dim * wT * xq * (1.0 + 1e-9));
    out->grad_bits = bits_of_double(gmax);
    out->update_bits = bits_of_double(((double)A * wT + bg + sc / 2) * (1.0 + 1e-9));
    return PPML_OK;
}
