/* MNIST-format IDX files (http://yann.lecun.com/exdb/mnist/), plain or gzip-compressed,
 * and the two-class tasks built from them.
 *
 * Format: magic 00 00 TYPE NDIMS, NDIMS big-endian uint32 sizes, then the values. Only
 * TYPE = 0x08 (unsigned byte) is supported (images and labels of MNIST and Fashion-MNIST).
 * Loading is strict: magic bytes, type, 1 <= NDIMS <= 4, every size >= 1, the element count
 * computed with overflow checks and capped by the caller *before* allocation, the data
 * exactly that long (no short read, no trailing bytes).
 *
 * Ownership: ppml_idx objects are heap objects (_free); they own their data. */
#ifndef PPML_IDX_H
#define PPML_IDX_H
#include "common.h"
#include "logreg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_IDX_MAX_DIMS 4
#define PPML_IDX_TYPE_U8 0x08
/* Default cap on elements (MNIST's training images are 47 million bytes). */
#define PPML_IDX_DEFAULT_MAX_COUNT ((size_t)1 << 28)

typedef struct ppml_idx {
    uint8_t type;
    uint8_t ndims;
    uint32_t dims[PPML_IDX_MAX_DIMS];
    size_t count;      /* product of dims */
    uint8_t *data;     /* count bytes, owned */
} ppml_idx;

/* Parse an uncompressed IDX image from memory. max_count caps the element count
 * (0 = default). err (may be NULL) receives a one-line reason on failure. */
PPML_API int ppml_idx_parse(ppml_idx **out, const uint8_t *buf, size_t len, size_t max_count,
                            char err[PPML_ERR_LEN]) PPML_WUR;
/* Load a file, plain or gzip (zlib reads both). */
PPML_API int ppml_idx_load(ppml_idx **out, const char *path, size_t max_count,
                           char err[PPML_ERR_LEN]) PPML_WUR;
PPML_API void ppml_idx_free(ppml_idx *idx);

/* Two-class task: the records of images (n x rows x cols) whose label (labels: n) is a or
 * b, in file order, with pixels scaled to [0, 1] and encoded with frac_x bits
 * (round(p * 2^frac_x / 255)), features replicated `replicate` times (d = replicate *
 * rows * cols; CodedPrivateML replicated MNIST twice to d = 1568), labels a -> 0, b -> 1.
 * a != b. */
PPML_API int ppml_idx_two_class(ppml_logreg_data *out, const ppml_idx *images,
                                const ppml_idx *labels, uint8_t a, uint8_t b,
                                unsigned replicate, unsigned frac_x,
                                char err[PPML_ERR_LEN]) PPML_WUR;

/* The reference task from a directory holding train-images-idx3-ubyte, train-labels-idx1-
 * ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally ".gz"):
 * the two-class records of the training file followed by those of the test file, in file
 * order; the first m_train of them form the training set and the rest the test set.
 * With MNIST 3 vs 7 and m_train = 12396 this is exactly the source's split (12396 training
 * records = the whole training file, 2038 test). Fashion-MNIST has 6000 + 1000 per class,
 * so classes (a, b) give 12000 training-file records + the first 396 test-file records as
 * the 12396 training records, and the remaining 1604 as the test set.
 * m_train = 0 means "the training file's records only". */
PPML_API int ppml_idx_load_task(ppml_logreg_data *train, ppml_logreg_data *test,
                                const char *dir, uint8_t a, uint8_t b, size_t m_train,
                                unsigned replicate, unsigned frac_x,
                                char err[PPML_ERR_LEN]) PPML_WUR;

#ifdef __cplusplus
}
#endif
#endif
