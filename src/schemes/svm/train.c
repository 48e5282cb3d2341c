/* Secure OvR SVM training between CSS and CCS (DESIGN §4.3); see ppml/svm.h for the step
 * list. This file runs on CSS; CCS only serves the blocks (ppml_proto_ccs_serve).
 *
 * What each party receives:
 *   CCS: exactly what the blocks give it (the files under src/proto): the blinded features
 *        X + rho once for the whole training (b3_cached.c: CCS keeps them; rho stays CSS's
 *        secret), then per step fresh blinded packed values of W, Y, P, M, C and V, each
 *        within statistical distance 2^(1-kappa) of data-independent values, and sign-blinded margins (fair-coin signs, magnitudes that
 *        leak roughly log2 of the margin). It never sees a ciphertext it could link to a
 *        stored one (every packed request is re-randomised).
 *   CSS: ciphertexts only (block replies), and the public hyper-parameters and sizes.
 * Value widths given to the blocks come from the public bounds ppml_svm_ref_fx_bounds. */
#include "ppml/svm.h"

#include "ppml/mem.h"

#include <stdlib.h>
#include <string.h>

static mpz_t *arr_new(size_t n)
{
    size_t bytes;
    if (ppml_mul_size(&bytes, n ? n : 1, sizeof(mpz_t)) != PPML_OK)
        return NULL;
    mpz_t *v = malloc(bytes);
    if (v)
        for (size_t i = 0; i < n; i++)
            mpz_init(v[i]);
    return v;
}

static void arr_free(mpz_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        mpz_clear(v[i]);
    free(v);
}

/* Shallow read-only view: dst[i] aliases src's limbs (never modified or cleared). */
static void alias(mpz_t dst, const mpz_t src) { dst[0] = src[0]; }

int ppml_svm_secure_train(ppml_proto_css *css, mpz_t *W_out, const mpz_t *X, const mpz_t *Y, size_t n,
                          size_t dim, size_t n_out, const ppml_svm_ref_params *p, double max_abs_x,
                          ppml_svm_ref_progress_fn progress, void *progress_ctx)
{
    if (!css || !W_out || !X || !Y || !p || n == 0 || dim < 2 || n_out == 0)
        return PPML_EINVAL;
    int rc = ppml_svm_ref_params_check(p);
    if (rc != PPML_OK)
        return rc;
    ppml_svm_ref_fx_bounds bd;
    rc = ppml_svm_ref_fx_bounds_compute(&bd, p, n, dim, max_abs_x);
    if (rc != PPML_OK)
        return rc;
    const unsigned f = p->frac_bits, c = p->const_frac_bits;
    size_t s_max = (p->batch == 0 || p->batch >= n) ? n : p->batch;
    size_t kw, nx, ny;
    if (ppml_mul_size(&kw, n_out, dim) != PPML_OK || ppml_mul_size(&nx, s_max, dim) != PPML_OK ||
        ppml_mul_size(&ny, s_max, n_out) != PPML_OK || nx > PPML_PROTO_MAX_VALUES || ny > PPML_PROTO_MAX_VALUES)
        return PPML_ERANGE;
    unsigned m_bits = bd.margin_bits + 1;
    const ppml_paillier_pk *pk = ppml_proto_css_pk(css);

    mpz_t *W = arr_new(kw), *P = arr_new(s_max * n_out), *M = arr_new(s_max * n_out), *U = arr_new(s_max * n_out),
          *C = arr_new(s_max * n_out), *G = arr_new(kw), *V = arr_new(kw), *PT = arr_new(s_max * n_out);
    mpz_t *ycol = malloc((s_max * n_out + 1) * sizeof(mpz_t)); /* aliases */
    mpz_t *cvec = arr_new(s_max);
    mpz_t t, h, two2f;
    mpz_inits(t, h, two2f, NULL);
    ppml_proto_cached *xc = NULL;
    rc = (W && P && M && U && C && G && V && PT && ycol && cvec) ? PPML_OK : PPML_ENOMEM;
    /* CCS keeps X + rho for the whole training (X is constant): sent and decrypted once */
    if (rc == PPML_OK)
        rc = ppml_proto_cache_matrix(css, &xc, X, n, dim, bd.x_bits);
    /* W = 0: encryptions of zero (fresh randomness) */
    for (size_t i = 0; i < kw && rc == PPML_OK; i++)
        rc = ppml_paillier_encrypt_i64(pk, W[i], 0);
    mpz_set_ui(h, 1);
    mpz_mul_2exp(h, h, c - 1); /* H = 2^(c-1) */
    mpz_set_ui(two2f, 1);
    mpz_mul_2exp(two2f, two2f, 2 * f);
    mpz_sub_ui(two2f, two2f, 1); /* 2^(2f) - 1 */

    int64_t A = 0, B = 0;
    for (unsigned e = 0; e < p->epochs && rc == PPML_OK; e++) {
        for (size_t lo = 0; lo < n && rc == PPML_OK; lo += s_max) {
            size_t s = n - lo < s_max ? n - lo : s_max;
            rc = ppml_svm_ref_fx_constants(&A, &B, p, s);
            if (rc != PPML_OK)
                break;
            /* 1. P_ik = <W_k, X_i>: one B3 on the kept X for all classifiers (PT[i * n_out + k]) */
            rc = ppml_proto_cached_mul_rows(css, PT, xc, lo, s, (const mpz_t *)W, n_out, bd.w_bits);
            for (size_t k = 0; k < n_out && rc == PPML_OK; k++)
                for (size_t i = 0; i < s; i++)
                    mpz_swap(P[k * s + i], PT[i * n_out + k]);
            /* layout of P, M, U, C: [k * s + i] */
            for (size_t k = 0; k < n_out; k++)
                for (size_t i = 0; i < s; i++)
                    alias(ycol[k * s + i], Y[(lo + i) * n_out + k]);
            /* 2. M = Y P (B2) */
            if (rc == PPML_OK)
                rc = ppml_proto_mul(css, M, (const mpz_t *)ycol, (const mpz_t *)P, s * n_out, bd.margin_bits);
            /* 3. u = [2^(2f) - 1 - M >= 0] (B5) */
            if (rc == PPML_OK) {
                for (size_t q = 0; q < s * n_out; q++) {
                    ppml_paillier_neg(pk, M[q], M[q]);
                    ppml_paillier_add_plain(pk, M[q], M[q], two2f);
                }
                rc = ppml_proto_sign(css, U, (const mpz_t *)M, s * n_out, m_bits);
            }
            /* 4. C = u Y (B2) */
            if (rc == PPML_OK)
                rc = ppml_proto_mul(css, C, (const mpz_t *)U, (const mpz_t *)ycol, s * n_out, 2);
            /* 5. G_kj = sum_i C_ik X_ij: one B3 on the columns of the kept X's batch rows, for
             * all classifiers (C is n_out x s, C_ik in {-1, 0, 1}) */
            if (rc == PPML_OK)
                rc = ppml_proto_cached_mul_cols(css, G, xc, lo, s, (const mpz_t *)C, n_out, 2);
            for (size_t k = 0; k < n_out && rc == PPML_OK; k++) {
                /* 6. V = A W + B_s G + H */
                for (size_t j = 0; j < dim && rc == PPML_OK; j++) {
                    ppml_paillier_mul_i64(pk, V[k * dim + j], W[k * dim + j], A);
                    ppml_paillier_mul_i64(pk, t, G[k * dim + j], B);
                    ppml_paillier_add(pk, V[k * dim + j], V[k * dim + j], t);
                    ppml_paillier_add_plain(pk, V[k * dim + j], V[k * dim + j], h);
                }
            }
            /* 7. W = floor(V / 2^c) (+ carry) */
            if (rc == PPML_OK)
                rc = ppml_proto_truncate(css, W, (const mpz_t *)V, kw, bd.update_bits, c);
        }
        if (rc == PPML_OK && progress)
            progress(progress_ctx, e + 1, p->epochs);
    }
    if (rc == PPML_OK)
        for (size_t i = 0; i < kw; i++)
            mpz_swap(W_out[i], W[i]);
    arr_free(W, kw);
    arr_free(P, s_max * n_out);
    arr_free(M, s_max * n_out);
    arr_free(U, s_max * n_out);
    arr_free(C, s_max * n_out);
    arr_free(G, kw);
    arr_free(PT, s_max * n_out);
    ppml_proto_cached_free(xc);
    arr_free(V, kw);
    arr_free(cvec, s_max);
    free(ycol);
    mpz_clears(t, h, two2f, NULL);
    return rc;
}
