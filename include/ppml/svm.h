/* Scheme S secure training (DESIGN §4.3): one-vs-rest linear SVM trained by CSS and CCS on
 * ciphertexts under the training Paillier key, mirroring the fixed-point reference
 * ppml_svm_ref_fx_train (svm_ref.h) step for step:
 *   P_ik = <W_k, X_i>            B3 (one call per classifier, W_k shared)
 *   M_ik = Y_ik P_ik             B2
 *   u_ik = [2^(2f) - M_ik - 1 >= 0]   B5 (result stays encrypted)
 *   C_ik = u_ik Y_ik             B2
 *   G_kj = sum_i C_ik X_ij       B3 (one call per classifier, C_k shared)
 *   V_kj = A W_kj + B_s G_kj + H homomorphic, public constants
 *   W_kj = floor(V_kj / 2^c) + d secure truncation, d in {0, 1}
 * so the result equals the reference up to the truncation carries (svm_ref.h bounds the
 * weight difference: ppml_svm_ref_fx_stats.error_bound). Model and labels stay encrypted;
 * the hyper-parameters are public.
 *
 * Ownership: inputs are borrowed; W is caller-allocated (n_out * dim mpz_init'ed) and left
 * untouched on failure. */
#ifndef PPML_SVM_H
#define PPML_SVM_H
#include "common.h"
#include "proto.h"
#include "svm_ref.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X: n x dim ciphertexts of the encoded features (bias column included), Y: n x n_out
 * ciphertexts of the +-1 labels, all under the training key of css. max_abs_x is the public
 * bound on |x| used to size the blinding (ppml_svm_ref_fx_bounds_compute). progress may be
 * NULL (called after each epoch). */
PPML_API int ppml_svm_secure_train(ppml_proto_css *css, mpz_t *W, const mpz_t *X, const mpz_t *Y,
                                   size_t n, size_t dim, size_t n_out, const ppml_svm_ref_params *p,
                                   double max_abs_x, ppml_svm_ref_progress_fn progress,
                                   void *progress_ctx) PPML_WUR;

#ifdef __cplusplus
}
#endif
#endif
