/* Plaintext datasets for the reference models: CSV loading with strict validation,
 * stratified seeded train/test split, standardisation, ±1 one-vs-rest label matrices and
 * accuracy. Nothing here is secret-aware beyond wiping feature and label memory on clear:
 * these are the records a medical centre / data provider holds in the clear.
 *
 * CSV format (RFC 4180 subset):
 *   - the first line is a header of column names; exactly one column is named `label`
 *     (any position), every other column is a numeric feature;
 *   - fields are separated by ',', lines end in "\n" or "\r\n"; a field may be enclosed in
 *     double quotes ("" inside quotes is one quote; a newline inside quotes is refused);
 *     spaces and tabs around unquoted fields are ignored;
 *   - feature values are decimal numbers ([+-]digits[.digits][(e|E)[+-]digits], at least one
 *     mantissa digit; parsed as in the C locale whatever the process locale); NaN, infinity,
 *     hex floats and values that overflow a double are refused;
 *   - labels are non-empty strings; classes are numbered in SORTED order of their names
 *     (byte-wise strcmp), so the numbering does not depend on row order (as sklearn's
 *     LabelEncoder does);
 *   - empty lines are allowed only at the end of the file;
 *   - header names are non-empty and distinct.
 * Every refusal returns PPML_EFORMAT (PPML_ERANGE for an exceeded cap) and, if err is not
 * NULL, writes a one-line message naming the line (1-based) into err[PPML_ERR_LEN].
 *
 * Ownership: a ppml_dataset owns all its arrays; ppml_dataset_clear wipes and frees them.
 * Functions that fill a dataset build into a temporary and leave the output untouched on
 * failure (the output must be initialised or cleared, and is cleared before being replaced). */
#ifndef PPML_DATASET_H
#define PPML_DATASET_H
#include "common.h"
#include "rand.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hard caps (defaults of ppml_csv_limits; a caller may lower, never raise them). */
#define PPML_DATASET_MAX_FILE_BYTES ((size_t)1 << 30) /* 1 GiB */
#define PPML_DATASET_MAX_ROWS ((size_t)1 << 22)       /* data rows, header excluded */
#define PPML_DATASET_MAX_COLS ((size_t)1 << 14)       /* columns including `label` */
#define PPML_DATASET_MAX_CELLS ((size_t)1 << 26)      /* rows × features */
#define PPML_DATASET_MAX_CLASSES ((size_t)1024)
#define PPML_DATASET_MAX_FIELD ((size_t)1024)         /* bytes per field, quotes excluded */

typedef struct ppml_dataset {
    size_t n;            /* rows */
    size_t d;            /* features (label column excluded) */
    size_t n_classes;    /* K: number of distinct labels */
    double *x;           /* n × d, row-major: x[i*d + j] */
    uint32_t *y;         /* n class indices in [0, K) */
    char **feature_names; /* d NUL-terminated names (may be NULL for derived datasets) */
    char **class_names;   /* K NUL-terminated names, sorted (may be NULL) */
} ppml_dataset;

typedef struct ppml_csv_limits {
    size_t max_rows, max_cols, max_cells, max_classes; /* 0 = the PPML_DATASET_MAX_* default */
} ppml_csv_limits;

PPML_API void ppml_dataset_init(ppml_dataset *ds);
/* Wipe and free everything; leaves an empty (initialised) dataset. */
PPML_API void ppml_dataset_clear(ppml_dataset *ds);

/* Parse CSV text buf[0..len) (need not be NUL-terminated). limits may be NULL. */
PPML_API int ppml_dataset_parse_csv(ppml_dataset *ds, const char *buf, size_t len,
                                    const ppml_csv_limits *limits, char *err) PPML_WUR;
/* Read and parse a CSV file (at most PPML_DATASET_MAX_FILE_BYTES). PPML_EIO if it cannot be
 * read. */
PPML_API int ppml_dataset_load_csv(ppml_dataset *ds, const char *path,
                                   const ppml_csv_limits *limits, char *err) PPML_WUR;
/* Format as CSV (features with %.17g, so parse(format(ds)) reproduces every double exactly;
 * label last; names quoted when they need it). Needs feature_names and class_names.
 * *out is malloc'd, NUL-terminated, owned by the caller; *out_len excludes the NUL. */
PPML_API int ppml_dataset_format_csv(char **out, size_t *out_len, const ppml_dataset *ds) PPML_WUR;

/* Deep copy of the rows listed in idx[0..count) (indices may repeat), keeping names and K. */
PPML_API int ppml_dataset_select(ppml_dataset *out, const ppml_dataset *ds, const size_t *idx,
                                 size_t count) PPML_WUR;

/* Stratified split: for each class c with n_c rows, round(test_fraction · n_c) rows (half
 * up), capped at n_c − 1 so every class keeps a training row, go to the test set. Rows are
 * chosen by a Fisher–Yates shuffle per class (ascending class index) drawn from prg, then
 * each output is put in a random order drawn from prg (train first, then test), so mini-batches
 * over the training rows are mixed. Same prg state and input → same split. 0 ≤ test_fraction < 1.
 * train and test must be distinct objects. */
PPML_API int ppml_dataset_split(ppml_dataset *train, ppml_dataset *test, const ppml_dataset *ds,
                                double test_fraction, ppml_prg *prg) PPML_WUR;

/* Per-feature standardisation fitted on one dataset (the training split) and applied to any.
 * std is the population standard deviation (divide by n); a constant feature gets std 1, so
 * it becomes 0 after scaling. */
typedef struct ppml_scaler {
    size_t d;
    double *mean; /* d */
    double *std;  /* d, every entry > 0 */
} ppml_scaler;

PPML_API void ppml_scaler_init(ppml_scaler *s);
PPML_API void ppml_scaler_clear(ppml_scaler *s);
PPML_API int ppml_scaler_fit(ppml_scaler *s, const ppml_dataset *train) PPML_WUR;
/* x ← (x − mean) / std, in place; PPML_EMISMATCH if ds->d differs from the scaler's,
 * PPML_ERANGE (ds unchanged) if a result would not be finite. */
PPML_API int ppml_scaler_apply(const ppml_scaler *s, ppml_dataset *ds) PPML_WUR;

/* Clip every feature into [−bound, bound] (bound > 0), e.g. to meet a fixed-point range. */
PPML_API int ppml_dataset_clip(ppml_dataset *ds, double bound) PPML_WUR;

/* Number of classifiers for K classes: K, except 1 for K = 2 unless ovr_binary is set. */
PPML_API size_t ppml_dataset_n_outputs(size_t n_classes, int ovr_binary);
/* ±1 label matrix, n × n_out row-major (out_len must be ds->n · n_out):
 *   n_out = K:              out[i*K + k] = +1 if y_i = k, else −1 (one-vs-rest);
 *   n_out = 1 (and K = 2):  out[i]       = +1 if y_i = 1, else −1.
 * Any other n_out is PPML_EINVAL. */
PPML_API int ppml_dataset_labels_pm1(int8_t *out, size_t out_len, const ppml_dataset *ds,
                                     size_t n_out) PPML_WUR;

/* Fraction of i < n with pred[i] == truth[i]; 0 for n = 0. */
PPML_API double ppml_accuracy(const uint32_t *pred, const uint32_t *truth, size_t n);

#ifdef __cplusplus
}
#endif
#endif
