/* CLI helpers shared by keygen/encrypt/decrypt/key for Paillier: key loading in every
 * supported form, whole-file I/O with one-line errors, CSV reading and number printing. */
#ifndef PPML_PAILLIER_IO_H
#define PPML_PAILLIER_IO_H
#include "ppml/paillier.h"

#include <stddef.h>
#include <stdint.h>

/* Largest input file the CLI reads (CSV, key, ciphertext files). */
#define PIO_MAX_FILE ((size_t)1 << 30)

/* Read a whole file; on failure prints "ppml: error: ..." and returns 1. */
int pio_read(const char *what, const char *path, uint8_t **buf, size_t *len);
/* Atomic write (temporary file + fsync + rename); prints an error and returns 1 on failure. */
int pio_write(const char *path, const void *data, size_t len, unsigned mode);
/* 1 if the buffer starts (after white space) with '{': a JSON document. */
int pio_is_json(const uint8_t *buf, size_t len);
/* Public key from a ppml .pk, a ppml .sk, or a python-paillier JWK (public or private). */
int pio_load_pk(const char *path, ppml_paillier_pk **pk);
/* Secret key from a ppml .sk or a python-paillier private JWK. */
int pio_load_sk(const char *path, ppml_paillier_sk **sk);
/* PREFIX + suffix into out (bounded); prints an error and returns 1 if too long. */
int pio_path(char *out, size_t cap, const char *prefix, const char *suffix);
/* Refuse to overwrite an existing file unless force. */
int pio_check_new(const char *path, int force);

/* CSV of numbers: optional header row of names (detected when a field of the first row is
 * not a number), then rows of equal length. Fields are trimmed; empty lines skipped. */
typedef struct pio_csv {
    size_t rows, cols;
    double *vals;  /* rows * cols, row-major */
    char **names;  /* NULL or cols names */
} pio_csv;
int pio_csv_parse(pio_csv *csv, const char *path, const char *text, size_t len);
void pio_csv_free(pio_csv *csv);

/* Growable text buffer for CSV output. */
typedef struct pio_buf {
    char *data;
    size_t len, cap;
    int oom;
} pio_buf;
void pio_buf_add(pio_buf *b, const char *s, size_t n);
void pio_buf_str(pio_buf *b, const char *s);
/* Shortest decimal that reads back as x ("%.{1..17}g"). */
void pio_buf_double(pio_buf *b, double x);
void pio_buf_free(pio_buf *b);
/* Writes names (if any) then rows of values. Returns 0, or 1 with an error printed. */
int pio_write_csv(const char *path, char **names, size_t rows, size_t cols, const double *vals);



/* Runs fn(ctx, i) for i in [0, n) on up to `threads` threads (0 = online CPUs), in
 * contiguous blocks. Returns the first non-zero result (PPML_E*), or 0. Shows progress on a
 * terminal with the given label. */
int pio_parallel(size_t n, unsigned threads, int (*fn)(void *ctx, size_t i), void *ctx, const char *label);
#endif
