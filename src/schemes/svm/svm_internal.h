/* Scheme S internals shared by run.c (ppml_svm_run) and service.c (CSS as a service).
 * Never installed. */
#ifndef PPML_SVM_INTERNAL_H
#define PPML_SVM_INTERNAL_H
#include "ppml/svm.h"

/* One medical centre's upload: its DT-PKC ciphertexts (features of its rows, then +-1
 * labels), the Ed25519 signature over their Merkle root, and its B1 authorisation. */
typedef struct ppmli_svm_upload {
    ppml_dtpkc_sk *mk;     /* the MC's own key (MC side), owned; NULL on CSS's side */
    ppml_dtpkc_pk *pk_own; /* CSS's side: the MC's public key as received, owned */
    ppml_dtpkc_ct *cts;    /* cnt ciphertexts, owned */
    size_t cnt;
    uint8_t sig[64];
    ppml_proto_auth auth;
} ppmli_svm_upload;

const ppml_dtpkc_pk *ppmli_svm_upload_pk(const ppmli_svm_upload *u);
void ppmli_svm_upload_clear(ppmli_svm_upload *u);
/* The dataset id an MC signs for its upload: "svm-task-<first 4 bytes of task>/mc-<index>". */
void ppmli_svm_dataset_id(char out[96], const uint8_t task[32], size_t mc_index);
/* MC mc_index: a fresh DT-PKC key, rows [lo, hi) of X (dim values each) and Y (n_out),
 * encrypted, the root signed with sign_sk, the B1 authorisation for `training`. */
int ppmli_svm_mc_prepare(ppmli_svm_upload *u, const ppml_dtpkc_params *pp, const uint8_t sign_sk[64],
                         const uint8_t task[32], size_t mc_index, const int64_t *X, const int8_t *Y, size_t lo,
                         size_t hi, size_t dim, size_t n_out, const ppml_paillier_pk *training);
/* CSS: recompute the upload's Merkle root, verify its signature under sign_pk (unless the
 * caller already did: root_verified, e.g. ppml_store_put_dataset checked it), convert it to
 * the training key (B1 with SK1) and store rows [lo, lo + rows) into EX (features) and EY
 * (labels). u->cnt must be rows * (dim + n_out). */
int ppmli_svm_css_accept(ppml_proto_css *css, const ppml_dtpkc_partial_sk *sk1, const uint8_t sign_pk[32],
                         const uint8_t task[32], size_t mc_index, const ppmli_svm_upload *u, size_t lo,
                         size_t rows, size_t dim, size_t n_out, unsigned value_bits, mpz_t *EX, mpz_t *EY,
                         int root_verified);

/* What the TA made (run.c), for the client side of the CSS service. */
typedef struct ppmli_svm_ta {
    const ppml_paillier_sk *train_sk, *dsp_sk;
    const ppml_dtpkc_params *pp;
    const ppml_dtpkc_partial_sk *sk1, *sk2;
    const uint8_t *task;
    const uint8_t (*sign_pk)[32];
    const uint8_t (*sign_sk)[64];
    size_t mcs;
} ppmli_svm_ta;

/* Client of a CSS service (service.c): hands CSS the job (SK1, the public keys, CCS's keys
 * sealed to o->ccs_public), runs the MCs locally and uploads their data, asks for the
 * training and receives the model under the DSP's key in DW (kw = n_out * dim values). */
int ppmli_svm_remote(const ppmli_svm_ta *ta, const ppml_svm_run_opts *o, const ppml_svm_ref_params *p, size_t n,
                     size_t dim, size_t n_out, double max_abs_x, const int64_t *X, const int8_t *Y, mpz_t *DW,
                     ppml_svm_run_report *rep);

uint64_t ppmli_svm_now_ns(void);
uint64_t ppmli_svm_cpu_ns(void);
#endif
