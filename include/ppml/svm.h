/* Scheme S secure training (DESIGN §4.3): one-vs-rest linear SVM trained by CSS and CCS on
 * ciphertexts under the training Paillier key, mirroring the fixed-point reference
 * ppml_svm_ref_fx_train (svm_ref.h) step for step:
 *   P_ik = <W_k, X_i>            B3 on the features CCS keeps blinded (one call, all k)
 *   b_ik = [y_ik (2T + 1) - 2 P_ik - 1 >= 0], T = 2^(2f) - 1
 *                                B5 (result stays encrypted; no multiplication needed:
 *                                E(y (2T + 1) - 1) is constant, E(P)^-2 local)
 *   G_kj = sum_i b_ik X_ij + H_kj  B3 by columns (one call), H_kj = sum_i ((y_ik - 1)/2) X_ij
 *                                computed once per batch
 *   V_kj = A W_kj + B_s G_kj + H homomorphic, public constants
 *   W_kj = floor(V_kj / 2^c) + d secure truncation, d in {0, 1}
 * b_ik + (y_ik - 1)/2 equals the reference's C_ik = u_ik y_ik with u_ik = [T - y_ik P_ik >= 0]
 * exactly (train.c derives it), so the integers are the reference's.
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
#include "dataset.h"
#include "store.h"
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

/* ---- the whole of scheme S's training in one call (CLI, bench, demo) ----
 * 1. TA: training Paillier key (CCS), DT-PKC parameters and split strong key (SK1 to CSS,
 *    SK2 to CCS), the DSP's Paillier key, each MC's Ed25519 key, a random task id.
 * 2. MCs (o->mcs of them, consecutive row ranges of train): encode features and +-1 labels
 *    in fixed point, encrypt under their own DT-PKC keys, upload with an Ed25519-signed
 *    BLAKE2b Merkle root (CSS verifies it), and sign the B1 authorisation.
 * 3. CSS + CCS: B1 to the training key, ppml_svm_secure_train, conversion of E(W) to the
 *    DSP's key. 4. DSP: decrypts the model into *model (fixed point, f = p->frac_bits).
 * CCS runs in a thread of this process on an in-process channel, or remotely (o->ccs: a
 * channel to `ppml serve ccs`, provisioned with ppml_proto_ccs_provision).
 * Every feature of train must satisfy |x| <= max_abs_x (PPML_ERANGE otherwise). */
typedef struct ppml_svm_run_opts {
    unsigned key_bits;           /* 2048 (0 = default) or 3072 */
    unsigned insecure_test_bits; /* TEST ONLY: nonzero = small test keys of this size */
    size_t mcs;                  /* >= 2 (0 = 2) */
    unsigned threads;            /* per server, 0 = 1 */
    double max_abs_x;            /* public feature bound, 0 = 8 */
    ppml_channel *ccs;           /* NULL: in-process CCS */
    /* A CSS service (`ppml serve css`, ppml_svm_css_serve) instead of an in-process CSS:
     * then ccs must be NULL (CSS has its own CCS) and ccs_public is CCS's 32-byte X25519
     * (CURVE) public key, to which the TA seals CCS's keys; CSS relays them unread. */
    ppml_channel *css;
    const uint8_t *ccs_public;
    /* The TA's X25519 key pair (32 raw bytes each, e.g. its CURVE client key), or NULL: with
     * ccs_public, CCS's keys are then boxed from it (ppml_proto_ccs_box_keys) instead of
     * sealed (css) or sent plain (ccs); a CCS that trusts only its TA's keys
     * (`ppml serve ccs --ta FILE`) requires it. */
    const uint8_t *ta_public, *ta_secret;
    ppml_svm_ref_progress_fn progress;
    void *progress_ctx;
} ppml_svm_run_opts;

typedef struct ppml_svm_run_report {
    uint64_t setup_ns;     /* TA key generation */
    uint64_t upload_ns;    /* MCs: encoding, encryption, Merkle roots, signatures; CSS checks */
    uint64_t aggregate_ns; /* B1 */
    uint64_t train_ns;     /* secure training (all epochs) */
    uint64_t train_cpu_ns; /* process CPU time during training (with an in-process CCS: both
                            * servers' work, meaningful on a loaded machine) */
    uint64_t convert_ns;   /* model to the DSP's key, DSP decryption */
    size_t uploaded;       /* ciphertexts uploaded */
    uint8_t task[32];      /* the task id the TA drew (its prefix names CSS's stored data) */
} ppml_svm_run_report;

PPML_API int ppml_svm_run(ppml_svm_ref_fx_model *model, ppml_svm_run_report *report,
                          const ppml_dataset *train, const ppml_svm_ref_params *p,
                          const ppml_svm_run_opts *o) PPML_WUR;

/* ---- CSS as a service (`ppml serve css`; protocol and views: src/schemes/svm/service.c) ----
 * Serves one client session on `client` (the TA/MCs/DSP side, ppml_svm_run with o->css):
 * receives the job (SK1, public keys, hyper-parameters, CCS's keys sealed to CCS), opens its
 * CCS session on `ccs` with the sealed set-up, verifies and converts each MC's upload (B1),
 * trains, converts the model to the DSP's key and sends it back, then ends the CCS session.
 * Returns PPML_OK when the client ended the session, or the error that ended it (the client
 * was sent PPML_MSG_ERROR with the code where the channel still worked). */
enum {
    PPML_MSG_SVM_JOB = 0x0601,
    PPML_MSG_SVM_UPLOAD = 0x0602,
    PPML_MSG_SVM_TRAIN = 0x0603,
    PPML_MSG_SVM_PROGRESS = 0x0604
};
typedef struct ppml_svm_css_opts {
    unsigned threads;    /* CSS's threads, 0 = 1 */
    int allow_test_keys; /* TEST ONLY: accept the small insecure test moduli */
    int idle_timeout_ms; /* bound on the wait for each client request, 0 = none */
    /* NULL, or where CSS keeps what it is given (DESIGN §6, borrowed): each MC's upload, once
     * its signed Merkle root verifies and before B1, as dataset PREFIX/mc-I (the serialized
     * DT-PKC ciphertexts, the MC's Ed25519 key and signature: `ppml verify` checks it), in
     * one transaction; the trained model under the DSP's key as blob PREFIX/model (a Paillier
     * ciphertext vector). PREFIX is ppml_svm_task_prefix of the job's task id. */
    ppml_store *store;
} ppml_svm_css_opts;
/* "svm-task-" and the first 4 bytes of the task id in hex (out: at least 18 bytes). */
PPML_API void ppml_svm_task_prefix(char out[18], const uint8_t task[32]);
PPML_API int ppml_svm_css_serve(ppml_channel *client, ppml_channel *ccs, const ppml_svm_css_opts *o) PPML_WUR;

#ifdef __cplusplus
}
#endif
#endif
