/* Plaintext reference of scheme S's training (DESIGN §4.3): one-vs-rest linear SVM, hinge
 * loss, L2 regularisation, full-batch or mini-batch gradient descent, in floating point and
 * in exact fixed point. The two-server protocol computes the fixed-point sequence below on
 * ciphertexts and must reproduce it: same integers, except that each secure truncation may
 * be 1 ulp off (modelled by the truncation hook), hence weights within
 * ppml_svm_ref_fx_error_bound() while no hinge indicator flips (always within the certified
 * ppml_svm_ref_fx_stats.error_bound) and, for the defaults, the same test predictions.
 *
 * Common structure (float and fixed):
 *   d features, dim = d + 1 weights per classifier (the last multiplies a constant feature 1,
 *   the bias); n_out classifiers: K for K ≥ 3 classes (one-vs-rest), 1 for K = 2 unless
 *   params.ovr_binary (see ppml_dataset_n_outputs); labels y_ik ∈ {−1, +1} as in
 *   ppml_dataset_labels_pm1. Initial weights are 0. Epoch e runs the training rows in their
 *   given order, cut into consecutive batches of s = params.batch rows (the last batch may be
 *   smaller; batch = 0 or ≥ n means one full batch). Per batch I (|I| = s), for every k,
 *   all from the weights before the step:
 *       m_ik = y_ik·⟨w_k, x_i⟩,  u_ik = [1 − m_ik > 0],
 *       g_k  = λ·w_k − (1/s)·Σ_{i∈I} u_ik·y_ik·x_i,   w_k ← w_k − η·g_k.
 *   Prediction: argmax_k ⟨w_k, x⟩, ties to the lowest k; with one classifier, class 1 if
 *   ⟨w, x⟩ ≥ 0 else class 0 (the ≥ matches the secure sign block B5, [x ≥ 0]).
 *
 * Fixed point (ppml_svm_ref_fx_train), f = frac_bits, c = const_frac_bits; all integers:
 *   Encoding  X_ij = round(x_ij·2^f) (ppml_fixed_encode: ties away from zero) for j < d,
 *             X_id = 2^f; requires |x_ij| ≤ PPML_SVM_REF_FX_MAX_ABS_X (else PPML_ERANGE;
 *             see ppml_dataset_clip). Y_ik = y_ik ∈ {−1, +1} (unscaled).
 *   Constants (public):  A   = round((1 − η·λ)·2^c)           (0 ≤ A ≤ 2^c),
 *                        B_s = round(η/s·2^c) for each batch size s,
 *                        H   = 2^(c−1).
 *             (1 − η·λ and η/s are evaluated in IEEE double, multiplied by 2^c exactly,
 *             then rounded half away from zero; ppml_svm_ref_fx_constants returns them.)
 *   Step over batch I of size s, for every k and j (W = weights before the step):
 *     1. P_ik = Σ_j W_kj·X_ij                 exact, scale 2^(2f)          [B3 inner product]
 *     2. M_ik = Y_ik·P_ik                     exact, scale 2^(2f)          [B2]
 *     3. u_ik = [2^(2f) − M_ik > 0]           = [2^(2f) − M_ik − 1 ≥ 0]   [B5 sign]
 *        (the margin is compared at scale 2^(2f): no truncation before the sign)
 *     4. C_ik = u_ik·Y_ik ∈ {−1, 0, 1}                                     [B2]
 *     5. G_kj = Σ_{i∈I} C_ik·X_ij             exact, scale 2^f             [B4]
 *     6. V_kj = A·W_kj + B_s·G_kj + H         exact, scale 2^(f+c)
 *     7. W_kj ← floor(V_kj / 2^c) + δ         scale 2^f                    [secure truncation]
 *   where δ = 0 in the exact reference and δ ∈ {−1, 0, 1} from the truncation hook (the
 *   secure truncation floor((V + r)/2^c) − floor(r/2^c) gives δ ∈ {0, 1}). Steps 6–7 are
 *   w − η(λw − (1/s)Σ u·y·x) = (1 − ηλ)·w + (η/s)·Σ u·y·x with one rounding (H makes the
 *   floor a round-half-up). Steps are numbered t = 0 .. T−1 over the whole run,
 *   T = epochs · ceil(n / s).
 *   Prediction: S_k = Σ_j W_kj·X_j (scale 2^(2f)), then as above.
 *
 * Bounds (ppml_svm_ref_fx_bounds_compute states them from public parameters, for protocol
 * and packing sizes): |X| ≤ Xq = max(round(max|x|·2^f), 2^f); with a = A/2^c ≤ 1 and
 * b = (max_s(B_s·s)·Xq + H)/2^c + 2 (the +2: floor and |δ| ≤ 1), |W| ≤ W_T = min(T·b,
 * b/(1 − a)); |G| ≤ s·Xq; |P|, |M| ≤ dim·W_T·Xq; |V| ≤ A·W_T + max_s(B_s·s)·Xq + H.
 * With the defaults and standardised data, observed sizes are |W| < 2^26, |P| < 2^60,
 * |V| < 2^60. The reference keeps W in int64 and products in 128-bit integers, and fails
 * with PPML_EOVERFLOW if |W| ≥ 2^62.
 *
 * Truncation error: two runs on the same data and parameters that differ only in the hook's
 * δs satisfy, as long as every hinge indicator u_ik agrees between them,
 *     max |W − W'| ≤ t ulps (of 2^−f) after t steps,
 * because |floor(a + A·Δ/2^c) − floor(a)| ≤ |Δ| for integer Δ and A ≤ 2^c, plus |δ| ≤ 1 per
 * step. ppml_svm_ref_fx_error_bound() returns T (the a-priori bound for E epochs).
 * The premise is not automatic: a margin within reach of the threshold may flip its hinge
 * indicator, which moves G_k by up to |X_i|. So the exact run also computes a CERTIFIED,
 * data-dependent bound valid for every hook sequence (ppml_svm_ref_fx_stats.error_bound):
 *     Δ_0 = 0;  at step t a pair (i, k) is "near" if |2^(2f) − M_ik| could change sign under a
 *     margin change of Δ_t·Σ_j|X_ij| (exactly: u=1 and 2^(2f) − M_ik − reach ≤ 0, or u=0 and
 *     2^(2f) − M_ik + reach > 0); F_t = max_{k,j} Σ_{near i} |X_ij|;
 *     Δ_{t+1} = ceil((A·Δ_t + B_s·F_t) / 2^c) + 1.
 * With no near pair, Δ_{t+1} ≤ Δ_t + 1, so error_bound ≤ T; stats.near_threshold counts the
 * near pairs (0 means the a-priori bound T is certified for this data). An actual flip moves
 * a weight by about η/s·|x_ij|·2^f ulps, far beyond T, and the certified bound then grows
 * fast. Measured on the bundled data (100 random splits each, 5 random {0,1} hooks per
 * split, defaults otherwise): with f = 24, 2–4 % of runs have a near pair and 2 of 1500
 * perturbed runs exceeded T, test predictions never changed; with f = 16, 94–100 % of runs
 * have near pairs and 18–32 % of perturbed runs exceed T; with f = 28, none. For an exact
 * comparison, replay the protocol's masks through the hook's v_low (see
 * ppml_svm_ref_trunc_fn).
 *
 * Defaults (ppml_svm_ref_params_default): 20 epochs of full-batch descent (20 protocol
 * rounds), η = 1, λ = 0.001, f = 24, c = 24; chosen on the bundled data with a 0.3
 * stratified test split and training-split standardisation. Over 10 random splits the
 * float test accuracy averages 97.3 % (min 96.5 %) on breast_cancer, 98.1 % (min 96.2 %)
 * on wine and 89 % on iris (one-vs-rest linear is the limit there); mini-batches of 32,
 * more epochs, η ∈ [0.1, 1] and λ ∈ [1e-3, 1e-2] all land within about a point of that.
 * The fixed-point model predicted exactly as the float one on every test point we tried.
 * tests/test_svm_ref.c checks ≥ 95 % / ≥ 90 % / ≥ 80 %.
 *
 * Functions are pure (no I/O); progress is reported only through the callback given.
 * Ownership: models own their weight arrays; _clear wipes and frees them. Trainers and
 * predictors borrow their inputs and leave outputs untouched on failure. */
#ifndef PPML_SVM_REF_H
#define PPML_SVM_REF_H
#include "common.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_SVM_REF_DEFAULT_EPOCHS 20
#define PPML_SVM_REF_DEFAULT_LR 1.0
#define PPML_SVM_REF_DEFAULT_LAMBDA 0.001
#define PPML_SVM_REF_DEFAULT_BATCH 0 /* full batch */
#define PPML_SVM_REF_DEFAULT_FRAC_BITS 24
#define PPML_SVM_REF_DEFAULT_CONST_FRAC_BITS 24

#define PPML_SVM_REF_MAX_EPOCHS 100000u
#define PPML_SVM_REF_MAX_LR 16.0
#define PPML_SVM_REF_MAX_FRAC_BITS 28u
#define PPML_SVM_REF_MAX_CONST_FRAC_BITS 32u
#define PPML_SVM_REF_FX_MAX_ABS_X 256.0 /* |feature| bound for fixed-point encoding */

typedef struct ppml_svm_ref_params {
    unsigned epochs;          /* 1 .. PPML_SVM_REF_MAX_EPOCHS */
    double lr;                /* η, 0 < η ≤ PPML_SVM_REF_MAX_LR */
    double lambda;            /* λ ≥ 0, η·λ ≤ 1 */
    size_t batch;             /* rows per step; 0 = full batch */
    int ovr_binary;           /* K = 2: train 2 one-vs-rest classifiers instead of 1 */
    unsigned frac_bits;       /* f, fixed point only: 1 .. PPML_SVM_REF_MAX_FRAC_BITS */
    unsigned const_frac_bits; /* c, fixed point only: 1 .. PPML_SVM_REF_MAX_CONST_FRAC_BITS */
} ppml_svm_ref_params;

PPML_API void ppml_svm_ref_params_default(ppml_svm_ref_params *p);
/* PPML_OK if every field is in range. */
PPML_API int ppml_svm_ref_params_check(const ppml_svm_ref_params *p) PPML_WUR;
/* Number of gradient steps T for n training rows. */
PPML_API uint64_t ppml_svm_ref_steps(const ppml_svm_ref_params *p, size_t n_train);

/* Called after each epoch (1-based) when given; may not call back into the trainer. */
typedef void (*ppml_svm_ref_progress_fn)(void *ctx, unsigned epoch, unsigned epochs);

/* ---- floating point ---- */
typedef struct ppml_svm_ref_model {
    size_t n_classes; /* K */
    size_t n_out;     /* classifiers */
    size_t dim;       /* d + 1 */
    double *w;        /* n_out × dim, row-major, bias last */
} ppml_svm_ref_model;

PPML_API void ppml_svm_ref_model_init(ppml_svm_ref_model *m);
PPML_API void ppml_svm_ref_model_clear(ppml_svm_ref_model *m);
/* Train on train (K ≥ 2, n ≥ 1). progress may be NULL. */
PPML_API int ppml_svm_ref_train(ppml_svm_ref_model *model, const ppml_dataset *train,
                                const ppml_svm_ref_params *p, ppml_svm_ref_progress_fn progress,
                                void *progress_ctx) PPML_WUR;
/* pred[0..ds->n) ← predicted class indices. pred_len must be ds->n; ds->d = dim − 1. */
PPML_API int ppml_svm_ref_predict(uint32_t *pred, size_t pred_len, const ppml_svm_ref_model *model,
                                  const ppml_dataset *ds) PPML_WUR;

/* ---- fixed point ---- */
typedef struct ppml_svm_ref_fx_model {
    size_t n_classes, n_out, dim;
    unsigned frac_bits; /* f: w = W / 2^f */
    int64_t *w;         /* n_out × dim, row-major, bias last */
} ppml_svm_ref_fx_model;

/* Truncation hook: returns δ ∈ {−1, 0, 1} added to truncation (step t, classifier k,
 * weight j); any other value stops training with PPML_ERANGE. Called in order of t, then k,
 * then j. v_low = V_kj mod 2^c ∈ [0, 2^c) (non-negative residue) lets a test replay a secure
 * run exactly: a truncation that reveals z = V + r to one server and subtracts floor(r/2^c)
 * yields floor(V/2^c) + δ with δ = [v_low + (r mod 2^c) ≥ 2^c]; so a hook returning that
 * carry for the masks r the protocol drew reproduces its weights bit for bit. */
typedef int (*ppml_svm_ref_trunc_fn)(void *ctx, uint64_t step, size_t k, size_t j,
                                     uint64_t v_low);

typedef struct ppml_svm_ref_fx_hooks {
    ppml_svm_ref_trunc_fn trunc; /* NULL: δ = 0 (exact reference) */
    void *trunc_ctx;
    ppml_svm_ref_progress_fn progress; /* NULL: none */
    void *progress_ctx;
} ppml_svm_ref_fx_hooks;

typedef struct ppml_svm_ref_fx_stats {
    uint64_t steps;          /* T */
    uint64_t active;         /* Σ over steps of Σ u_ik: active hinge terms */
    uint64_t near_threshold; /* indicators an admissible perturbation could flip (see top) */
    uint64_t error_bound;    /* certified max |W' − W| in ulps over every hook (see top) */
    int64_t max_abs_w;       /* max |W| reached */
    unsigned margin_bits;    /* max bit length of |P_ik| seen */
    unsigned update_bits;    /* max bit length of |V_kj| seen */
} ppml_svm_ref_fx_stats;

PPML_API void ppml_svm_ref_fx_model_init(ppml_svm_ref_fx_model *m);
PPML_API void ppml_svm_ref_fx_model_clear(ppml_svm_ref_fx_model *m);

/* X (n × dim, row-major, bias column last = 2^f) for ds; X_len must be ds->n·(ds->d + 1).
 * PPML_ERANGE if some |x| > PPML_SVM_REF_FX_MAX_ABS_X. */
PPML_API int ppml_svm_ref_fx_encode(int64_t *X, size_t X_len, const ppml_dataset *ds,
                                    unsigned frac_bits) PPML_WUR;
/* Train the fixed-point model on train (encoded with ppml_svm_ref_fx_encode, labels from
 * ppml_dataset_labels_pm1). hooks and stats may be NULL. */
PPML_API int ppml_svm_ref_fx_train(ppml_svm_ref_fx_model *model, ppml_svm_ref_fx_stats *stats,
                                   const ppml_dataset *train, const ppml_svm_ref_params *p,
                                   const ppml_svm_ref_fx_hooks *hooks) PPML_WUR;
/* Same, on already encoded data: X is n × dim, Y is n × n_out (n_out from
 * ppml_dataset_n_outputs(n_classes, p->ovr_binary)). Entries of X must satisfy
 * |X| ≤ round(PPML_SVM_REF_FX_MAX_ABS_X·2^f) and Y ∈ {−1, 1}. */
PPML_API int ppml_svm_ref_fx_train_encoded(ppml_svm_ref_fx_model *model,
                                           ppml_svm_ref_fx_stats *stats, const int64_t *X,
                                           const int8_t *Y, size_t n, size_t dim,
                                           size_t n_classes, const ppml_svm_ref_params *p,
                                           const ppml_svm_ref_fx_hooks *hooks) PPML_WUR;
/* Predict with exact integer scores on ds encoded with the model's f; PPML_ERANGE if a
 * feature lies outside ±PPML_SVM_REF_FX_MAX_ABS_X. */
PPML_API int ppml_svm_ref_fx_predict(uint32_t *pred, size_t pred_len,
                                     const ppml_svm_ref_fx_model *model,
                                     const ppml_dataset *ds) PPML_WUR;
/* Decode W / 2^f into a float model (e.g. to compare weights). */
PPML_API int ppml_svm_ref_fx_to_float(ppml_svm_ref_model *out,
                                      const ppml_svm_ref_fx_model *model) PPML_WUR;
/* max_kj |a.W_kj − b.W_kj| in ulps; PPML_EMISMATCH if the shapes or f differ. */
PPML_API int ppml_svm_ref_fx_max_diff(uint64_t *out, const ppml_svm_ref_fx_model *a,
                                      const ppml_svm_ref_fx_model *b) PPML_WUR;

/* Documented worst-case weight deviation, in ulps (2^−f) per weight, between the exact
 * reference and any run whose truncations are off by |δ| ≤ 1, given that the hinge
 * indicators agree (see top): T = ppml_svm_ref_steps(p, n_train). */
PPML_API uint64_t ppml_svm_ref_fx_error_bound(const ppml_svm_ref_params *p, size_t n_train);

/* A-priori magnitude bounds (bits b such that |value| < 2^b) from public parameters, for
 * sizing plaintext slots in the secure protocol. max_abs_x is a public bound on |x|
 * (≤ PPML_SVM_REF_FX_MAX_ABS_X), hook perturbations included. */
typedef struct ppml_svm_ref_fx_bounds {
    uint64_t steps;       /* T */
    unsigned x_bits;      /* X */
    unsigned w_bits;      /* W at any step */
    unsigned margin_bits; /* P and M */
    unsigned grad_bits;   /* G */
    unsigned update_bits; /* V */
} ppml_svm_ref_fx_bounds;
PPML_API int ppml_svm_ref_fx_bounds_compute(ppml_svm_ref_fx_bounds *out,
                                            const ppml_svm_ref_params *p, size_t n_train,
                                            size_t dim, double max_abs_x) PPML_WUR;

/* The fixed-point constants of the header comment: A, and B_s for a batch of s rows. */
PPML_API int ppml_svm_ref_fx_constants(int64_t *A, int64_t *B, const ppml_svm_ref_params *p,
                                       size_t s) PPML_WUR;

#ifdef __cplusplus
}
#endif
#endif
