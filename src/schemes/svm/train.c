/* Secure OvR SVM training between CSS and CCS (DESIGN §4.3); see ppml/svm.h for the step
 * list. This file runs on CSS; CCS only serves the blocks (ppml_proto_ccs_serve).
 *
 * The hinge step without two of the source's multiplications. With y = +-1, T = 2^(2f) - 1
 * and P = <W_k, X_i>, the reference's u = [T - yP >= 0] and c = u y (svm_ref.c) satisfy
 *   b = [v >= 0] for v = y (2T + 1) - 2P - 1:  y = +1: v = 2(T - P) + 0, b = u;
 *                                              y = -1: v = -2(T + P) - 2 = -2(T - M) - 2,
 *                                                      b = [T - M <= -1] = 1 - u;
 * so c = u y = b + (y - 1)/2 exactly, in both cases. v needs no secure multiplication
 * (E(y (2T + 1) - 1) is constant over the training; E(P)^-2 is local), and
 *   G_kj = sum_i c_ik X_ij = sum_i b_ik X_ij + H_kj,  H_kj = sum_i ((y_ik - 1) / 2) X_ij,
 * where H (per batch) is computed once: 2H = sum_i y_ik X_ij - sum_i X_ij with one cached
 * B3, then H = (2H) * 2^-1 mod N (a public exponent). Per epoch: one cached B3 by rows (P),
 * one B5 (b), one cached B3 by columns (G), one truncation: bit-identical to the reference
 * arithmetic (the same integers), up to the truncation carries as before.
 *
 * What each party receives:
 *   CCS: exactly what the blocks give it (the files under src/proto): the blinded features
 *        X + rho once for the whole training (b3_cached.c: CCS keeps them; rho stays CSS's
 *        secret), the blinded labels once (for H), then per step fresh blinded packed
 *        values of W, b and V, each within statistical distance 2^(1-kappa) of
 *        data-independent values, and sign-blinded values v (B5: fair-coin signs, magnitudes
 *        that leak roughly log2 |v| ~ log2 |T - M| + 1, as the source's margins do). It never
 *        sees a ciphertext it could link to a stored one (every packed request is
 *        re-randomised).
 *   CSS: ciphertexts only (block replies), and the public hyper-parameters and sizes.
 * Value widths given to the blocks come from the public bounds ppml_svm_ref_fx_bounds. */
#include "ppml/svm.h"

#include "ppml/mem.h"

#include <stdlib.h>
#include <string.h>

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
    /* |v| <= 2T + 2|P| + 2 < 2^(max(margin, 2f) + 2) */
    unsigned v_bits = (bd.margin_bits > 2 * f ? bd.margin_bits : 2 * f) + 3;
    const ppml_paillier_pk *pk = ppml_proto_css_pk(css);
    size_t batches = (n + s_max - 1) / s_max, nh;
    if (kw > PPML_PROTO_MAX_VALUES || ppml_mul_size(&nh, batches, kw) != PPML_OK || nh > PPML_PROTO_MAX_VALUES)
        return PPML_ERANGE;

    mpz_t *W = ppml_mpz_vec_new(kw), *Vs = ppml_mpz_vec_new(s_max * n_out), *U = ppml_mpz_vec_new(s_max * n_out),
          *G = ppml_mpz_vec_new(kw), *V = ppml_mpz_vec_new(kw), *PT = ppml_mpz_vec_new(s_max * n_out), *H = ppml_mpz_vec_new(nh),
          *Yc = ppml_mpz_vec_new(n * n_out), *ycol = ppml_mpz_vec_new(s_max * n_out);
    mpz_t t, h, e2t1, inv2;
    mpz_inits(t, h, e2t1, inv2, NULL);
    ppml_proto_cached *xc = NULL;
    rc = (W && Vs && U && G && V && PT && H && Yc && ycol) ? PPML_OK : PPML_ENOMEM;
    /* CCS keeps X + rho for the whole training (X is constant): sent and decrypted once */
    if (rc == PPML_OK)
        rc = ppml_proto_cache_matrix(css, &xc, X, n, dim, bd.x_bits);
    /* W = 0: encryptions of zero (fresh randomness) */
    for (size_t i = 0; i < kw && rc == PPML_OK; i++)
        rc = ppml_paillier_encrypt_i64(pk, W[i], 0);
    mpz_set_ui(h, 1);
    mpz_mul_2exp(h, h, c - 1); /* H = 2^(c-1) */
    mpz_set_ui(e2t1, 1);
    mpz_mul_2exp(e2t1, e2t1, 2 * f + 1);
    mpz_sub_ui(e2t1, e2t1, 1); /* 2T + 1 = 2^(2f+1) - 1 */
    mpz_add_ui(inv2, ppml_paillier_pk_n(pk), 1);
    mpz_fdiv_q_2exp(inv2, inv2, 1); /* 2^-1 mod N = (N + 1) / 2 */
    /* Yc = E(y (2T + 1) - 1), constant over the training */
    mpz_set_si(t, -1);
    mpz_mod(t, t, ppml_paillier_pk_n(pk));
    if (rc == PPML_OK)
        rc = ppml_paillier_mul_batch(pk, Yc, Y, e2t1, n * n_out);
    for (size_t q = 0; q < n * n_out && rc == PPML_OK; q++)
        ppml_paillier_add_plain(pk, Yc[q], Yc[q], t);
    /* H per batch: 2H_kj = sum_i y_ik X_ij - sum_i X_ij, H = 2H * 2^-1 */
    for (size_t lo = 0, bi = 0; lo < n && rc == PPML_OK; lo += s_max, bi++) {
        size_t s = n - lo < s_max ? n - lo : s_max;
        for (size_t k = 0; k < n_out; k++)
            for (size_t i = 0; i < s; i++)
                mpz_set(ycol[k * s + i], Y[(lo + i) * n_out + k]);
        mpz_t *Hb = H + bi * kw;
        rc = ppml_proto_cached_mul_cols(css, Hb, xc, lo, s, (const mpz_t *)ycol, n_out, 2);
        for (size_t j = 0; j < dim && rc == PPML_OK; j++) {
            mpz_set_ui(t, 1); /* E(0) without randomness: the sum is only ever added to fresh ciphertexts */
            for (size_t i = 0; i < s; i++)
                ppml_paillier_add(pk, t, t, X[(lo + i) * dim + j]);
            for (size_t k = 0; k < n_out; k++)
                ppml_paillier_sub(pk, Hb[k * dim + j], Hb[k * dim + j], t);
        }
        if (rc == PPML_OK)
            rc = ppml_paillier_mul_batch(pk, Hb, (const mpz_t *)Hb, inv2, kw);
    }

    int64_t A = 0, B = 0;
    for (unsigned e = 0; e < p->epochs && rc == PPML_OK; e++) {
        for (size_t lo = 0, bi = 0; lo < n && rc == PPML_OK; lo += s_max, bi++) {
            size_t s = n - lo < s_max ? n - lo : s_max;
            rc = ppml_svm_ref_fx_constants(&A, &B, p, s);
            if (rc != PPML_OK)
                break;
            /* 1. P_ik = <W_k, X_i>: one B3 on the kept X for all classifiers (PT[i * n_out + k]) */
            rc = ppml_proto_cached_mul_rows(css, PT, xc, lo, s, (const mpz_t *)W, n_out, bd.w_bits);
            /* 2. v = y (2T + 1) - 2P - 1 = Yc * E(P)^-2 (layout of Vs, U: [k * s + i]) */
            for (size_t k = 0; k < n_out && rc == PPML_OK; k++)
                for (size_t i = 0; i < s && rc == PPML_OK; i++) {
                    mpz_srcptr n2 = ppml_paillier_pk_n2(pk);
                    mpz_mul(t, PT[i * n_out + k], PT[i * n_out + k]);
                    mpz_mod(t, t, n2);
                    if (!mpz_invert(t, t, n2))
                        rc = PPML_ECRYPTO;
                    mpz_mul(t, t, Yc[(lo + i) * n_out + k]);
                    mpz_mod(Vs[k * s + i], t, n2);
                }
            /* 3. b = [v >= 0] (B5, stays encrypted) */
            if (rc == PPML_OK)
                rc = ppml_proto_sign(css, U, (const mpz_t *)Vs, s * n_out, v_bits);
            /* 4. G_kj = sum_i b_ik X_ij + H_kj: one B3 on the columns of the kept X's batch
             * rows, for all classifiers (b is n_out x s, in {0, 1}) */
            if (rc == PPML_OK)
                rc = ppml_proto_cached_mul_cols(css, G, xc, lo, s, (const mpz_t *)U, n_out, 1);
            /* 5. V = A W + B_s G + H (the scalar products batched) */
            for (size_t q = 0; q < kw && rc == PPML_OK; q++)
                ppml_paillier_add(pk, G[q], G[q], H[bi * kw + q]);
            if (rc == PPML_OK) {
                mpz_set_si(t, A);
                rc = ppml_paillier_mul_batch(pk, V, (const mpz_t *)W, t, kw);
            }
            if (rc == PPML_OK) {
                mpz_set_si(t, B);
                rc = ppml_paillier_mul_batch(pk, G, (const mpz_t *)G, t, kw);
            }
            for (size_t q = 0; q < kw && rc == PPML_OK; q++) {
                ppml_paillier_add(pk, V[q], V[q], G[q]);
                ppml_paillier_add_plain(pk, V[q], V[q], h);
            }
            /* 6. W = floor(V / 2^c) (+ carry) */
            if (rc == PPML_OK)
                rc = ppml_proto_truncate(css, W, (const mpz_t *)V, kw, bd.update_bits, c);
        }
        if (rc == PPML_OK && progress)
            progress(progress_ctx, e + 1, p->epochs);
    }
    /* CCS forgets X + rho (the session may train again); on failure only the handle goes */
    if (rc == PPML_OK)
        rc = ppml_proto_cached_release(css, xc);
    else
        ppml_proto_cached_free(xc);
    if (rc == PPML_OK)
        for (size_t i = 0; i < kw; i++)
            mpz_swap(W_out[i], W[i]);
    ppml_mpz_vec_free(W, kw);
    ppml_mpz_vec_free(Vs, s_max * n_out);
    ppml_mpz_vec_free(U, s_max * n_out);
    ppml_mpz_vec_free(G, kw);
    ppml_mpz_vec_free(V, kw);
    ppml_mpz_vec_free(PT, s_max * n_out);
    ppml_mpz_vec_free(H, nh);
    ppml_mpz_vec_free(Yc, n * n_out);
    ppml_mpz_vec_free(ycol, s_max * n_out);
    mpz_clears(t, h, e2t1, inv2, NULL);
    return rc;
}
