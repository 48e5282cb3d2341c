/* CLI helpers for the Paillier commands (see paillier_io.h). */
#include "paillier_io.h"
#include "cli.h"
#include "ppml/mem.h"
#include "ppml/serial.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pio_read(const char *what, const char *path, uint8_t **buf, size_t *len)
{
    int e = ppml_file_read(path, buf, len, PIO_MAX_FILE);
    if (e == PPML_EIO)
        return cli_error("cannot read %s '%s': %s", what, path, strerror(errno ? errno : EIO));
    if (e)
        return cli_error("cannot read %s '%s': %s", what, path, ppml_strerror(e));
    return 0;
}

int pio_write(const char *path, const void *data, size_t len, unsigned mode)
{
    int e = ppml_file_write_atomic(path, data, len, mode);
    if (e)
        return cli_error("cannot write '%s': %s", path, ppml_strerror(e));
    return 0;
}

int pio_is_json(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '{')
            return 1;
        if (!isspace(buf[i]))
            return 0;
    }
    return 0;
}

int pio_path(char *out, size_t cap, const char *prefix, const char *suffix)
{
    int n = snprintf(out, cap, "%s%s", prefix, suffix);
    if (n < 0 || (size_t)n >= cap)
        return cli_error("path too long: '%s%s'", prefix, suffix);
    return 0;
}

int pio_check_new(const char *path, int force)
{
    if (!force && access(path, F_OK) == 0)
        return cli_error("'%s' exists (use --force to overwrite)", path);
    return 0;
}

int pio_load_pk(const char *path, ppml_paillier_pk **pk)
{
    uint8_t *buf;
    size_t len;
    if (pio_read("key", path, &buf, &len))
        return 1;
    int e, rc = 0;
    if (pio_is_json(buf, len)) {
        e = ppml_paillier_pk_from_jwk(pk, (const char *)buf, len);
        if (e) {
            ppml_paillier_sk *sk = NULL;
            int e2 = ppml_paillier_sk_from_jwk(&sk, (const char *)buf, len);
            if (!e2) {
                e = ppml_paillier_pk_dup(pk, ppml_paillier_sk_pk(sk));
                ppml_paillier_sk_free(sk);
            }
        }
    } else {
        e = ppml_paillier_pk_load(pk, buf, len);
        if (e == PPML_EFORMAT) {
            ppml_paillier_sk *sk = NULL;
            if (ppml_paillier_sk_load(&sk, buf, len) == PPML_OK) {
                e = ppml_paillier_pk_dup(pk, ppml_paillier_sk_pk(sk));
                ppml_paillier_sk_free(sk);
            }
        }
    }
    if (e == PPML_EWEAK)
        rc = cli_error("key '%s': modulus below 2048 bits refused (%s)", path, ppml_strerror(e));
    else if (e)
        rc = cli_error("key '%s' is not a valid Paillier public key: %s", path, ppml_strerror(e));
    ppml_free_secret(buf, len);
    return rc;
}

int pio_load_sk(const char *path, ppml_paillier_sk **sk)
{
    uint8_t *buf;
    size_t len;
    if (pio_read("key", path, &buf, &len))
        return 1;
    int e, rc = 0;
    if (pio_is_json(buf, len))
        e = ppml_paillier_sk_from_jwk(sk, (const char *)buf, len);
    else
        e = ppml_paillier_sk_load(sk, buf, len);
    if (e == PPML_EWEAK)
        rc = cli_error("key '%s': modulus below 2048 bits refused (%s)", path, ppml_strerror(e));
    else if (e)
        rc = cli_error("key '%s' is not a valid Paillier secret key: %s", path, ppml_strerror(e));
    ppml_free_secret(buf, len);
    return rc;
}

/* ---- CSV ---- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

static int parse_num(const char *s, double *out)
{
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

void pio_csv_free(pio_csv *csv)
{
    if (csv->names) {
        for (size_t j = 0; j < csv->cols; j++)
            free(csv->names[j]);
        free(csv->names);
    }
    if (csv->vals)
        ppml_memzero(csv->vals, csv->rows * csv->cols * sizeof *csv->vals);
    free(csv->vals);
    memset(csv, 0, sizeof *csv);
}

/* Split line (modified in place) on commas into fields; returns count or -1 if > max. */
static long split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        char *c = strchr(p, ',');
        if (n == max)
            return -1;
        if (c)
            *c = 0;
        fields[n++] = trim(p);
        if (!c)
            break;
        p = c + 1;
    }
    return (long)n;
}

int pio_csv_parse(pio_csv *csv, const char *path, const char *text, size_t len)
{
    memset(csv, 0, sizeof *csv);
    if (memchr(text, 0, len))
        return cli_error("'%s': not a text file (NUL byte)", path);
    char *copy = malloc(len + 1);
    if (!copy)
        return cli_error("out of memory");
    memcpy(copy, text, len);
    copy[len] = 0;
    size_t maxf = 1;
    for (size_t i = 0; i < len; i++)
        maxf += copy[i] == ',';
    char **fields = malloc(maxf * sizeof *fields);
    size_t cap = 0;
    int rc = 0;
    if (!fields) {
        free(copy);
        return cli_error("out of memory");
    }
    size_t lineno = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *t = trim(line);
        if (!*t)
            continue;
        long nf = split(t, fields, maxf);
        if (nf < 0) {
            rc = cli_error("'%s' line %zu: too many fields", path, lineno);
            break;
        }
        size_t n = (size_t)nf;
        if (!csv->cols) {
            csv->cols = n;
            int numeric = 1;
            double d;
            for (size_t j = 0; j < n; j++)
                numeric &= parse_num(fields[j], &d);
            if (!numeric) { /* header row */
                csv->names = calloc(n, sizeof *csv->names);
                if (!csv->names) {
                    rc = cli_error("out of memory");
                    break;
                }
                for (size_t j = 0; j < n && !rc; j++) {
                    for (const char *c = fields[j]; *c; c++)
                        if ((unsigned char)*c < 0x20) {
                            rc = cli_error("'%s' line %zu: control character in a column name", path, lineno);
                            break;
                        }
                    if (!rc && !(csv->names[j] = strdup(fields[j])))
                        rc = cli_error("out of memory");
                }
                if (rc)
                    break;
                continue;
            }
        }
        if (n != csv->cols) {
            rc = cli_error("'%s' line %zu: %zu fields, expected %zu", path, lineno, n, csv->cols);
            break;
        }
        if ((csv->rows + 1) * csv->cols > cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            while (ncap < (csv->rows + 1) * csv->cols)
                ncap *= 2;
            double *nv = realloc(csv->vals, ncap * sizeof *nv);
            if (!nv) {
                rc = cli_error("out of memory");
                break;
            }
            csv->vals = nv;
            cap = ncap;
        }
        for (size_t j = 0; j < n; j++)
            if (!parse_num(fields[j], &csv->vals[csv->rows * csv->cols + j])) {
                rc = cli_error("'%s' line %zu, column %zu: '%s' is not a finite number", path, lineno, j + 1,
                               fields[j]);
                break;
            }
        if (rc)
            break;
        csv->rows++;
    }
    if (!rc && csv->rows == 0)
        rc = cli_error("'%s': no data rows", path);
    free(fields);
    free(copy);
    if (rc)
        pio_csv_free(csv);
    return rc;
}

/* ---- output ---- */

void pio_buf_add(pio_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void pio_buf_str(pio_buf *b, const char *s) { pio_buf_add(b, s, strlen(s)); }

void pio_buf_double(pio_buf *b, double x)
{
    char tmp[64];
    if (x == floor(x) && fabs(x) < 1e15) { /* integers without an exponent */
        snprintf(tmp, sizeof tmp, "%.0f", x == 0 ? 0.0 : x);
        pio_buf_str(b, tmp);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, x);
        if (strtod(tmp, NULL) == x)
            break;
    }
    pio_buf_str(b, tmp);
}

void pio_buf_free(pio_buf *b)
{
    if (b->data)
        ppml_memzero(b->data, b->cap);
    free(b->data);
    memset(b, 0, sizeof *b);
}

int pio_write_csv(const char *path, char **names, size_t rows, size_t cols, const double *vals)
{
    pio_buf b = {0};
    if (names) {
        for (size_t j = 0; j < cols; j++) {
            if (j)
                pio_buf_str(&b, ",");
            pio_buf_str(&b, names[j]);
        }
        pio_buf_str(&b, "\n");
    }
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < cols; j++) {
            if (j)
                pio_buf_str(&b, ",");
            pio_buf_double(&b, vals[i * cols + j]);
        }
        pio_buf_str(&b, "\n");
    }
    int rc = b.oom ? cli_error("out of memory") : pio_write(path, b.data ? b.data : "", b.len, 0600);
    pio_buf_free(&b);
    return rc;
}

/* ---- parallel loop ---- */
#include <pthread.h>
#include <stdatomic.h>

typedef struct par_job {
    size_t n;
    atomic_size_t next, done;
    atomic_int err;
    int (*fn)(void *, size_t);
    void *ctx;
} par_job;

#define PAR_BLOCK 16

static void *par_worker(void *arg)
{
    par_job *j = arg;
    for (;;) {
        size_t lo = atomic_fetch_add(&j->next, PAR_BLOCK);
        if (lo >= j->n || atomic_load(&j->err))
            break;
        size_t hi = lo + PAR_BLOCK < j->n ? lo + PAR_BLOCK : j->n;
        for (size_t i = lo; i < hi; i++) {
            int e = j->fn(j->ctx, i);
            if (e) {
                int zero = 0;
                atomic_compare_exchange_strong(&j->err, &zero, e);
                return NULL;
            }
        }
        atomic_fetch_add(&j->done, hi - lo);
    }
    return NULL;
}

int pio_parallel(size_t n, unsigned threads, int (*fn)(void *ctx, size_t i), void *ctx, const char *label)
{
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (unsigned)c : 1;
    }
    if (threads > 256)
        threads = 256;
    size_t blocks = (n + PAR_BLOCK - 1) / PAR_BLOCK;
    if (threads > blocks)
        threads = blocks ? (unsigned)blocks : 1;
    par_job j = {.n = n, .fn = fn, .ctx = ctx};
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    atomic_init(&j.err, 0);
    pthread_t tid[256];
    unsigned started = 0;
    for (unsigned t = 1; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, par_worker, &j) != 0)
            break;
        started++;
    }
    /* the calling thread works too, and reports progress between blocks */
    for (;;) {
        size_t lo = atomic_fetch_add(&j.next, PAR_BLOCK);
        if (lo >= n || atomic_load(&j.err))
            break;
        size_t hi = lo + PAR_BLOCK < n ? lo + PAR_BLOCK : n;
        for (size_t i = lo; i < hi; i++) {
            int e = fn(ctx, i);
            if (e) {
                int zero = 0;
                atomic_compare_exchange_strong(&j.err, &zero, e);
                break;
            }
        }
        atomic_fetch_add(&j.done, hi - lo);
        if (label)
            cli_progress("%s %zu/%zu", label, atomic_load(&j.done), n);
    }
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    if (label && cli_progress_enabled())
        fputc('\n', stderr);
    return atomic_load(&j.err);
}
