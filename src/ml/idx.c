/* IDX (MNIST format) loader and two-class task builder. Every size is checked, with
 * overflow-safe arithmetic, before anything is allocated. */
#include "ppml/idx.h"
#include "ppml/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int fail(char err[PPML_ERR_LEN], int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char err[PPML_ERR_LEN], int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, PPML_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return code;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Validate the 4-byte magic; returns ndims via *ndims. */
static int check_magic(const uint8_t m[4], unsigned *ndims, char err[PPML_ERR_LEN])
{
    if (m[0] != 0 || m[1] != 0)
        return fail(err, PPML_EFORMAT, "not an IDX file (bad magic %02x %02x)", m[0], m[1]);
    if (m[2] != PPML_IDX_TYPE_U8)
        return fail(err, PPML_ENOTSUP, "IDX element type 0x%02x not supported (only 0x08, unsigned byte)", m[2]);
    if (m[3] < 1 || m[3] > PPML_IDX_MAX_DIMS)
        return fail(err, PPML_EFORMAT, "IDX dimension count %u out of range 1..%d", m[3], PPML_IDX_MAX_DIMS);
    *ndims = m[3];
    return PPML_OK;
}

/* Validate the sizes and compute the element count against the cap. */
static int check_dims(ppml_idx *h, const uint8_t *p, unsigned ndims, size_t max_count,
                      char err[PPML_ERR_LEN])
{
    if (!max_count)
        max_count = PPML_IDX_DEFAULT_MAX_COUNT;
    size_t count = 1;
    for (unsigned i = 0; i < ndims; i++) {
        uint32_t v = be32(p + 4 * i);
        if (v == 0)
            return fail(err, PPML_EFORMAT, "IDX dimension %u is zero", i);
        if (ppml_mul_size(&count, count, v) || count > max_count)
            return fail(err, PPML_ERANGE, "IDX file too large (more than %zu elements)", max_count);
        h->dims[i] = v;
    }
    h->ndims = (uint8_t)ndims;
    h->type = PPML_IDX_TYPE_U8;
    h->count = count;
    return PPML_OK;
}

int ppml_idx_parse(ppml_idx **out, const uint8_t *buf, size_t len, size_t max_count,
                   char err[PPML_ERR_LEN])
{
    if (!out || (!buf && len))
        return fail(err, PPML_EINVAL, "invalid argument");
    if (len < 4)
        return fail(err, PPML_EFORMAT, "IDX file truncated (no header)");
    unsigned nd;
    int e = check_magic(buf, &nd, err);
    if (e)
        return e;
    if (len < 4 + 4 * (size_t)nd)
        return fail(err, PPML_EFORMAT, "IDX file truncated (dimension sizes)");
    ppml_idx h = {0};
    if ((e = check_dims(&h, buf + 4, nd, max_count, err)))
        return e;
    size_t hdr = 4 + 4 * (size_t)nd;
    if (len - hdr != h.count)
        return fail(err, PPML_EFORMAT, "IDX data is %zu bytes, header says %zu", len - hdr, h.count);
    ppml_idx *x = malloc(sizeof *x);
    uint8_t *data = malloc(h.count);
    if (!x || !data) {
        free(x);
        free(data);
        return fail(err, PPML_ENOMEM, "out of memory");
    }
    memcpy(data, buf + hdr, h.count);
    *x = h;
    x->data = data;
    *out = x;
    return PPML_OK;
}

/* gzread takes an unsigned count: read in chunks. Returns bytes read or -1. */
static long long gz_read_all(gzFile f, uint8_t *p, size_t len)
{
    size_t got = 0;
    while (got < len) {
        unsigned chunk = len - got > (1u << 30) ? (1u << 30) : (unsigned)(len - got);
        int r = gzread(f, p + got, chunk);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
}

int ppml_idx_load(ppml_idx **out, const char *path, size_t max_count, char err[PPML_ERR_LEN])
{
    if (!out || !path)
        return fail(err, PPML_EINVAL, "invalid argument");
    gzFile f = gzopen(path, "rb"); /* reads gzip and plain files alike */
    if (!f)
        return fail(err, PPML_EIO, "cannot open %s", path);
    uint8_t hdr[4 + 4 * PPML_IDX_MAX_DIMS];
    unsigned nd = 0;
    ppml_idx h = {0};
    int e;
    if (gz_read_all(f, hdr, 4) != 4) {
        e = fail(err, PPML_EFORMAT, "%s: truncated or unreadable IDX header", path);
        goto out;
    }
    if ((e = check_magic(hdr, &nd, err)))
        goto prefix;
    if (gz_read_all(f, hdr + 4, 4 * (size_t)nd) != 4 * (long long)nd) {
        e = fail(err, PPML_EFORMAT, "%s: truncated IDX dimension sizes", path);
        goto out;
    }
    if ((e = check_dims(&h, hdr + 4, nd, max_count, err)))
        goto prefix;
    ppml_idx *x = malloc(sizeof *x);
    uint8_t *data = malloc(h.count);
    if (!x || !data) {
        free(x);
        free(data);
        e = fail(err, PPML_ENOMEM, "out of memory");
        goto out;
    }
    long long got = gz_read_all(f, data, h.count);
    uint8_t extra;
    if (got < 0 || (size_t)got != h.count || gz_read_all(f, &extra, 1) != 0) {
        free(x);
        free(data);
        if (got < 0)
            e = fail(err, PPML_EIO, "%s: read error (corrupt gzip stream?)", path);
        else if ((size_t)got != h.count)
            e = fail(err, PPML_EFORMAT, "%s: IDX data truncated (%lld of %zu bytes)", path, got, h.count);
        else
            e = fail(err, PPML_EFORMAT, "%s: trailing bytes after IDX data", path);
        goto out;
    }
    *x = h;
    x->data = data;
    *out = x;
    e = PPML_OK;
    goto out;
prefix:
    /* Put the file name in front of the reason check_* wrote. */
    if (err) {
        char tmp[PPML_ERR_LEN];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, PPML_ERR_LEN, "%.120s: %.120s", path, tmp);
    }
out:
    gzclose(f);
    return e;
}

void ppml_idx_free(ppml_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    free(idx);
}

int ppml_idx_two_class(ppml_logreg_data *out, const ppml_idx *images, const ppml_idx *labels,
                       uint8_t a, uint8_t b, unsigned replicate, unsigned frac_x,
                       char err[PPML_ERR_LEN])
{
    if (!out || !images || !labels)
        return fail(err, PPML_EINVAL, "invalid argument");
    if (a == b)
        return fail(err, PPML_EINVAL, "the two classes must differ");
    if (replicate < 1 || replicate > 64 || frac_x > 14)
        return fail(err, PPML_EINVAL, "replicate must be 1..64 and frac_x <= 14");
    if (images->ndims != 3 || labels->ndims != 1)
        return fail(err, PPML_EFORMAT, "expected images with 3 dimensions and labels with 1 (got %u and %u)",
                    images->ndims, labels->ndims);
    if (images->dims[0] != labels->dims[0])
        return fail(err, PPML_EMISMATCH, "%u images but %u labels", images->dims[0], labels->dims[0]);
    size_t n = images->dims[0], pix = (size_t)images->dims[1] * images->dims[2], d;
    if (ppml_mul_size(&d, pix, replicate) || d > PPML_LOGREG_MAX_D)
        return fail(err, PPML_ERANGE, "too many features (%zu x %u > %zu)", pix, replicate, PPML_LOGREG_MAX_D);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += labels->data[i] == a || labels->data[i] == b;
    if (m == 0)
        return fail(err, PPML_EINVAL, "no records of classes %u and %u", a, b);
    ppml_logreg_data t;
    int e = ppml_logreg_data_alloc(&t, m, d, frac_x);
    if (e)
        return fail(err, e, "cannot allocate %zu x %zu data", m, d);
    /* Pixel p in 0..255 -> round(p * 2^frac_x / 255), exact integer rounding. */
    int32_t lut[256];
    for (unsigned p = 0; p < 256; p++)
        lut[p] = (int32_t)((((uint64_t)p << frac_x) * 2 + 255) / 510);
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t l = labels->data[i];
        if (l != a && l != b)
            continue;
        const uint8_t *img = images->data + i * pix;
        int32_t *row = t.x + r * d;
        for (unsigned k = 0; k < replicate; k++)
            for (size_t j = 0; j < pix; j++)
                row[k * pix + j] = lut[img[j]];
        t.y[r++] = l == b;
    }
    *out = t;
    return PPML_OK;
}

static int load_pair(ppml_idx **img, ppml_idx **lab, const char *dir, const char *prefix,
                     char err[PPML_ERR_LEN])
{
    static const char *const sfx[] = {"", ".gz"};
    char path[4096];
    int e = PPML_EIO;
    *img = *lab = NULL;
    for (int k = 0; k < 2 && !*img; k++) {
        snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix, sfx[k]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fclose(f);
        if ((e = ppml_idx_load(img, path, 0, err)))
            return e;
    }
    if (!*img)
        return fail(err, PPML_EIO, "%s/%s-images-idx3-ubyte[.gz] not found", dir, prefix);
    for (int k = 0; k < 2 && !*lab; k++) {
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix, sfx[k]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fclose(f);
        if ((e = ppml_idx_load(lab, path, 0, err)))
            break;
    }
    if (!*lab) {
        ppml_idx_free(*img);
        *img = NULL;
        return e == PPML_OK || e == PPML_EIO
                   ? fail(err, PPML_EIO, "%s/%s-labels-idx1-ubyte[.gz] not found", dir, prefix)
                   : e;
    }
    return PPML_OK;
}

/* rows [from, to) of src into dst starting at row at. */
static void copy_rows(ppml_logreg_data *dst, size_t at, const ppml_logreg_data *src, size_t from, size_t to)
{
    memcpy(dst->x + at * dst->d, src->x + from * src->d, (to - from) * src->d * sizeof *src->x);
    memcpy(dst->y + at, src->y + from, to - from);
}

int ppml_idx_load_task(ppml_logreg_data *train, ppml_logreg_data *test, const char *dir,
                       uint8_t a, uint8_t b, size_t m_train, unsigned replicate,
                       unsigned frac_x, char err[PPML_ERR_LEN])
{
    if (!train || !test || !dir)
        return fail(err, PPML_EINVAL, "invalid argument");
    ppml_idx *ti = NULL, *tl = NULL, *vi = NULL, *vl = NULL;
    ppml_logreg_data A = {0}, B = {0}, tr = {0}, te = {0};
    int e;
    if ((e = load_pair(&ti, &tl, dir, "train", err)) || (e = load_pair(&vi, &vl, dir, "t10k", err)))
        goto out;
    if ((e = ppml_idx_two_class(&A, ti, tl, a, b, replicate, frac_x, err)) ||
        (e = ppml_idx_two_class(&B, vi, vl, a, b, replicate, frac_x, err)))
        goto out;
    if (A.d != B.d) {
        e = fail(err, PPML_EMISMATCH, "training and test images differ in size");
        goto out;
    }
    size_t total = A.m + B.m;
    if (m_train == 0)
        m_train = A.m;
    if (m_train >= total) {
        e = fail(err, PPML_ERANGE, "asked for %zu training records but only %zu of classes %u,%u exist "
                 "(at least one must be left for testing)", m_train, total, a, b);
        goto out;
    }
    if ((e = ppml_logreg_data_alloc(&tr, m_train, A.d, frac_x)) ||
        (e = ppml_logreg_data_alloc(&te, total - m_train, A.d, frac_x))) {
        fail(err, e, "out of memory");
        goto out;
    }
    /* Concatenation A ++ B split at m_train. */
    if (m_train <= A.m) {
        copy_rows(&tr, 0, &A, 0, m_train);
        copy_rows(&te, 0, &A, m_train, A.m);
        copy_rows(&te, A.m - m_train, &B, 0, B.m);
    } else {
        copy_rows(&tr, 0, &A, 0, A.m);
        copy_rows(&tr, A.m, &B, 0, m_train - A.m);
        copy_rows(&te, 0, &B, m_train - A.m, B.m);
    }
    *train = tr;
    *test = te;
    tr = (ppml_logreg_data){0};
    te = (ppml_logreg_data){0};
    e = PPML_OK;
out:
    ppml_logreg_data_clear(&A);
    ppml_logreg_data_clear(&B);
    ppml_logreg_data_clear(&tr);
    ppml_logreg_data_clear(&te);
    ppml_idx_free(ti);
    ppml_idx_free(tl);
    ppml_idx_free(vi);
    ppml_idx_free(vl);
    return e;
}
