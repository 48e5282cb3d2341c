/* Scheme D — ACA-DMLP: distributed logistic regression on differentially private data,
 * with secure aggregation of the workers' gradients (DESIGN §5).
 *
 * Parties and what each receives:
 *   data providers (DPs)  hold their records; upload them (encrypted in the BFV encoding).
 *   cloud server (CS)     stores the uploads, adds discrete-Laplace noise to every value,
 *                         shuffles the records and splits them into N partitions; sends
 *                         worker j what it needs to recover partition j with noise (in the
 *                         BFV encoding: its decryption shares). Never sees plaintext.
 *   worker j (1..N)       its own noisy partition only; each round the model w (public to
 *                         the analyst side), and sends a masked gradient (secagg.h).
 *   data centre (DC)      the masked gradients, whose sum is the exact total gradient; the
 *                         model. Never a single worker's gradient.
 *
 * The run is split into two stages with an interface between them:
 *   1. encoding (ppml_dmlp_encoding): DP encryption, re-encryption to the collective key,
 *      noise inside the ciphertexts, decryption shares; its output is, for worker j, the
 *      noisy fixed-point values of partition j. Implementations:
 *        "plain-simulated" — a STAND-IN without encryption: the same exact discrete-Laplace
 *           noise is added to the plaintext fixed-point values, and the message to worker j
 *           is its noisy values. It reproduces the data the workers train on and the cost of
 *           the noise, not the cost or the protection of the encryption. Reports say so.
 *        "bfv" — the encrypted path with bfv.h's two-party layer (encoding_bfv.c), and
 *           "bfv-direct", where providers encrypt under the collective key directly.
 *   2. training: per round DC broadcasts w; workers compute fixed-point gradients of the
 *      logistic loss on their partitions (logreg.h), mask them (secagg.h), DC sums (mod 2^64)
 *      and updates w. Fixed-point sums are exact, so N workers give the bit-identical model
 *      of one node training on the union of the same noisy partitions, and eps = inf gives
 *      the model of plain centralised training (ppml_logreg_train on the clean data).
 *
 * Differential privacy: value-level Laplace mechanism. Neighbouring datasets differ in ONE
 * value (one feature of one record) by at most Delta_f = 2^frac_x encoded units (data are
 * in [0, 1]). Noise DLap(b) with b = Delta_f / eps, fresh per value, exact sampler (dp.h).
 * A record has d values, so by sequential composition the record-level guarantee is
 * d * eps (replicated features count separately). Everything after the noise (clamping to
 * |x| <= 2^16, training) is post-processing.
 *
 * Ownership: ppml_dmlp_report owns its arrays (ppml_dmlp_report_clear). */
#ifndef PPML_DMLP_H
#define PPML_DMLP_H
#include "common.h"
#include "logreg.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_DMLP_MAX_NODES 4096
#define PPML_DMLP_EPS_MIN 0.001
#define PPML_DMLP_EPS_MAX 1000.0

/* The DP parameters: b = scale_num / scale_den in encoded units (eps = inf: no noise). */
typedef struct ppml_dmlp_dp {
    double eps;          /* value-level epsilon, or INFINITY */
    uint64_t sens;       /* Delta_f in encoded units = 2^frac_x */
    uint64_t scale_num;  /* b = Delta_f / eps = scale_num / scale_den (0/0 when eps = inf) */
    uint64_t scale_den;
    size_t d;            /* values per record, for the record-level statement */
} ppml_dmlp_dp;

/* eps in [EPS_MIN, EPS_MAX] or +INFINITY; anything else (<= 0, NaN) is PPML_EINVAL. eps is
 * represented exactly as k / 2^20 (rounded to nearest); the report states the value used. */
PPML_API int ppml_dmlp_dp_init(ppml_dmlp_dp *dp, double eps, unsigned frac_x, size_t d) PPML_WUR;

/* ---- Stage 1: encoding -------------------------------------------------------------- */
typedef struct ppml_dmlp_encode_times {
    double provider_s; /* data providers' work (encryption) */
    double cs_s;       /* cloud server's work (re-encryption, noise, decryption shares) */
    double worker_s;   /* the receiving worker's work (completing decryption) */
} ppml_dmlp_encode_times;

typedef struct ppml_dmlp_encoding {
    const char *name; /* "plain-simulated" or "bfv" */
    unsigned threads; /* CS-side parallelism (threads) */
    void *ctx;
    /* Providers + CS, for one partition: count clean values -> the message for its worker
     * (malloc'ed, *msg owned by the caller). Adds the times it spends to t. */
    int (*cs_prepare)(void *ctx, uint8_t **msg, size_t *msg_len, const int32_t *clean,
                      size_t count, const ppml_dmlp_dp *dp, ppml_dmlp_encode_times *t);
    /* Worker: message -> its count noisy values (clamped to |x| <= X_MAX). Validates the
     * message strictly. */
    int (*worker_recover)(void *ctx, int32_t *noisy, size_t count, const uint8_t *msg,
                          size_t msg_len, ppml_dmlp_encode_times *t);
    /* What a worker process needs to build its side with ppml_dmlp_encoding_worker (BFV:
     * the parameters and the analyst's key share s_DA, secret inside the DA). malloc'ed;
     * the caller wipes and frees it. */
    int (*worker_material)(void *ctx, uint8_t **out, size_t *len);
    void (*free_ctx)(void *ctx);
    double setup_s; /* key set-up time (BFV: collective key, provider key, re-encryption key) */
} ppml_dmlp_encoding;

/* The plaintext stand-in ("plain-simulated"). threads: CS noise threads (0 = CPUs online;
 * forced to 1 when the randomness is test-seeded, to stay deterministic). */
PPML_API int ppml_dmlp_encoding_plain(ppml_dmlp_encoding *enc, unsigned threads) PPML_WUR;
/* The encrypted path ("bfv", see encoding_bfv.c): BFV n = 8192 (SEAL's default chain,
 * 128-bit security), batching t of 32 bits. Set-up plays every key holder: CS and DA make
 * the collective key from their shares s_CS and s_DA; one data provider makes its own key and
 * its re-encryption key to the collective public key. threads as above. */
#define PPML_DMLP_BFV_DIRECT 1 /* the provider encrypts under the collective public key
                                 * directly (DESIGN §5.1's alternative): no re-encryption */
PPML_API int ppml_dmlp_encoding_bfv(ppml_dmlp_encoding *enc, unsigned threads, unsigned flags) PPML_WUR;
/* Keep every upload of a "bfv" / "bfv-direct" encoding (DESIGN §5.1, public verification):
 * upload k (the provider's ciphertexts for partition k, serialized as it sent them) goes to
 * the store as dataset "dp0/<task>/<k>" with the provider's Ed25519 key and its signature over
 * the Merkle root (ppml_store_put_dataset, which checks it). task: 1..200 characters of
 * [A-Za-z0-9._-]. The store is borrowed: it must stay open while the encoding runs. Without
 * a store the ids are the same ("dp0/dmlp/<k>" by default) and nothing is kept.
 * PPML_EINVAL for other encodings and for worker-side contexts. */
PPML_API int ppml_dmlp_encoding_set_store(ppml_dmlp_encoding *enc, ppml_store *store, const char *task) PPML_WUR;
/* The provider's upload-signing public key (to check stored uploads against). */
PPML_API int ppml_dmlp_encoding_upload_key(const ppml_dmlp_encoding *enc,
                                           uint8_t pk[PPML_SIGN_PK_BYTES]) PPML_WUR;
/* Worker side of an encoding from the material its worker_material op gave (in another
 * process): only worker_recover may be called on the result. */
PPML_API int ppml_dmlp_encoding_worker(ppml_dmlp_encoding *enc, const char *name,
                                       const uint8_t *material, size_t len) PPML_WUR;
PPML_API void ppml_dmlp_encoding_clear(ppml_dmlp_encoding *enc);

/* ---- Helpers shared by the local and MPI engines --------------------------------------- */
/* Uniform random permutation of 0..m-1 (Fisher-Yates, CSPRNG). */
PPML_API int ppml_dmlp_shuffle(uint32_t *perm, size_t m) PPML_WUR;
/* Partition bounds: start[0..n], sizes differ by at most one (the first m % n get one more). */
PPML_API void ppml_dmlp_partition(size_t *start, size_t m, uint32_t n);
/* Rows perm[begin..end) of src into x_out (row-major) and y_out. */
PPML_API void ppml_dmlp_gather(int32_t *x_out, uint8_t *y_out, const ppml_logreg_data *src,
                               const uint32_t *perm, size_t begin, size_t end);

/* ---- Configuration and report ----------------------------------------------------------- */
typedef struct ppml_dmlp_config {
    uint32_t nodes;            /* N >= 2 workers */
    ppml_logreg_params lr;     /* iterations, learning rate, fixed point */
    double eps;                /* INFINITY = no noise */
    int nonprivate;            /* also train the non-private centralised reference */
    int baseline;              /* also train one node on the union (and check equality) */
} ppml_dmlp_config;

typedef struct ppml_dmlp_report {
    char encoding[32];         /* "plain-simulated" / "bfv" */
    char engine[16];           /* "local" / "mpi" */
    char data[256];            /* description of the data set */
    size_t m, d, m_test;
    uint32_t nodes;
    ppml_logreg_params lr;
    ppml_dmlp_dp dp;
    unsigned frac_x;
    unsigned cs_threads;
    /* Seconds. wall = measured elapsed time of this process (the local engine runs every
     * party in turn on this machine); cp = critical path: encoding = key set-up + provider
     * (one provider holds all records) + CS + the slowest worker's recovery; per round the slowest worker + the DC's aggregation and update;
     * communication = what each link carries in turn. */
    double encode_wall, encode_cp;
    double comm_wall, comm_cp;
    double comp_wall, comp_cp;
    double keys_wall;          /* secure-aggregation key agreement (in comp_cp) */
    double enc_setup_s, enc_provider_s, enc_cs_s, enc_worker_max_s; /* parts of encode_cp */
    double total_wall, total_cp;
    uint64_t comm_bytes;       /* distribution + all rounds */
    double *acc_iter;          /* lr.iters entries, owned */
    double *acc_iter_nonprivate; /* lr.iters entries or NULL, owned */
    double acc_final, acc_nonprivate; /* acc_nonprivate < 0: not computed */
    double baseline_comp_s;    /* one host computing every gradient (< 0: not run) */
    int baseline_equal;        /* 1: one node on the union gave the same model; -1: not run */
    int nonprivate_equal;      /* eps = inf only: 1 if equal to plain centralised training */
    uint8_t model_hash[32];    /* BLAKE2b-256 of the little-endian int64 weights */
} ppml_dmlp_report;

PPML_API void ppml_dmlp_report_clear(ppml_dmlp_report *r);
/* JSON text of the report (malloc'ed, caller frees). */
PPML_API int ppml_dmlp_report_json(char **out, const ppml_dmlp_report *r) PPML_WUR;
/* BLAKE2b-256 of the model's weights as little-endian int64. */
PPML_API void ppml_dmlp_model_hash(uint8_t out[32], const int64_t *w, size_t len);

/* The local engine: CS, N workers and the DC in this process, each timed separately.
 * rep->data may hold a description of the data on entry (it is kept); the rest of *rep is
 * replaced on success (ppml_dmlp_report_clear it afterwards) and untouched on failure.
 * w_out: train->d + 1 weights. noisy_union (optional, caller clears) receives the noisy
 * training set in partition order, for exactness checks. enc: NULL = plain-simulated. */
PPML_API int ppml_dmlp_run_local(int64_t *w_out, ppml_dmlp_report *rep, const ppml_logreg_data *train,
                                 const ppml_logreg_data *test, const ppml_dmlp_config *cfg,
                                 const ppml_dmlp_encoding *enc, ppml_logreg_data *noisy_union) PPML_WUR;

/* Two-class task from a CSV file (header row, a `label` column; dataset.h's strict loader).
 * class_a / class_b name the two classes (label 0 / 1); both NULL: the file must have
 * exactly two classes, taken in sorted order. The rows of those classes are split
 * (stratified, test_fraction in (0, 1)) with a fixed public seed, so the split is the same
 * on every run; features are min-max scaled into [0, 1] with the TRAINING rows' bounds
 * (test values clipped) and encoded with frac_x bits. The bounds come from the data: a
 * deployment with a DP guarantee must fix them publicly instead (stated in the report's
 * data description). */
PPML_API int ppml_dmlp_load_csv(ppml_logreg_data *train, ppml_logreg_data *test, const char *path,
                                const char *class_a, const char *class_b, double test_fraction,
                                unsigned frac_x, char err[PPML_ERR_LEN]) PPML_WUR;

/* Synthetic two-class task (public test data, not secret): m training and m_test test
 * records of d features in [0, 1], deterministic in seed. Each feature has a random base
 * level; class 1 shifts a random half of the features up, class 0 the other half. */
PPML_API int ppml_dmlp_synthetic(ppml_logreg_data *train, ppml_logreg_data *test, size_t m,
                                 size_t m_test, size_t d, uint64_t seed, unsigned frac_x) PPML_WUR;

#ifdef __cplusplus
}
#endif
#endif
