/* Serialization framing: growable writer, bounds-checked reader, versioned header,
 * atomic file writes. */
#include "ppml/serial.h"
#include "ppml/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ppml_writer_init(ppml_writer *w)
{
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
    w->err = PPML_OK;
}

void ppml_writer_clear(ppml_writer *w)
{
    if (w->data) {
        sodium_memzero(w->data, w->cap);
        free(w->data);
    }
    ppml_writer_init(w);
}

static int reserve(ppml_writer *w, size_t extra)
{
    if (w->err)
        return w->err;
    if (extra > SIZE_MAX - w->len || w->len + extra > PPML_MAX_OBJECT_BYTES) {
        w->err = PPML_EOVERFLOW;
        return w->err;
    }
    size_t need = w->len + extra;
    if (need <= w->cap)
        return PPML_OK;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < need)
        cap *= 2;
    /* Grow by copy + wipe so no secret stays behind in a freed block. */
    uint8_t *p = malloc(cap);
    if (!p) {
        w->err = PPML_ENOMEM;
        return w->err;
    }
    if (w->data) {
        memcpy(p, w->data, w->len);
        sodium_memzero(w->data, w->cap);
        free(w->data);
    }
    w->data = p;
    w->cap = cap;
    return PPML_OK;
}

int ppml_writer_reserve(ppml_writer *w, size_t extra) { return reserve(w, extra); }

void ppml_write_bytes(ppml_writer *w, const void *p, size_t len)
{
    if (len == 0 || reserve(w, len))
        return;
    memcpy(w->data + w->len, p, len);
    w->len += len;
}

static void write_le(ppml_writer *w, uint64_t v, int n)
{
    uint8_t b[8];
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    ppml_write_bytes(w, b, (size_t)n);
}

void ppml_write_u8(ppml_writer *w, uint8_t v) { write_le(w, v, 1); }
void ppml_write_u16(ppml_writer *w, uint16_t v) { write_le(w, v, 2); }
void ppml_write_u32(ppml_writer *w, uint32_t v) { write_le(w, v, 4); }
void ppml_write_u64(ppml_writer *w, uint64_t v) { write_le(w, v, 8); }

void ppml_write_mpz(ppml_writer *w, const mpz_t x)
{
    if (mpz_sgn(x) < 0) {
        if (!w->err)
            w->err = PPML_ERANGE;
        return;
    }
    size_t n = mpz_sgn(x) == 0 ? 0 : (mpz_sizeinbase(x, 2) + 7) / 8;
    if (n > UINT32_MAX) {
        if (!w->err)
            w->err = PPML_EOVERFLOW;
        return;
    }
    ppml_write_u32(w, (uint32_t)n);
    if (n == 0 || reserve(w, n))
        return;
    size_t count = 0;
    mpz_export(w->data + w->len, &count, -1, 1, 0, 0, x);
    w->len += count;
}

void ppml_write_header(ppml_writer *w, uint16_t type, uint16_t flags,
                       const uint8_t param_id[PPML_PARAM_ID_BYTES])
{
    static const uint8_t zero_id[PPML_PARAM_ID_BYTES];
    ppml_write_bytes(w, PPML_MAGIC, 4);
    ppml_write_u16(w, PPML_HEADER_LEN);
    ppml_write_u16(w, PPML_FORMAT_VERSION);
    ppml_write_u16(w, type);
    ppml_write_u16(w, flags);
    ppml_write_u64(w, 0); /* total_len, patched by ppml_writer_finish */
    ppml_write_bytes(w, param_id ? param_id : zero_id, PPML_PARAM_ID_BYTES);
}

int ppml_writer_finish(ppml_writer *w, size_t start)
{
    if (w->err)
        return w->err;
    if (start + PPML_HEADER_LEN > w->len)
        return PPML_EINVAL;
    uint64_t total = (uint64_t)(w->len - start);
    for (int i = 0; i < 8; i++)
        w->data[start + 12 + i] = (uint8_t)(total >> (8 * i));
    return PPML_OK;
}

int ppml_writer_take(ppml_writer *w, uint8_t **out, size_t *out_len)
{
    if (w->err) {
        int e = w->err;
        ppml_writer_clear(w);
        return e;
    }
    if (!w->data) { /* empty object: hand back a valid one-byte allocation */
        w->data = malloc(1);
        if (!w->data)
            return PPML_ENOMEM;
    }
    *out = w->data;
    *out_len = w->len;
    ppml_writer_init(w);
    return PPML_OK;
}

void ppml_reader_init(ppml_reader *r, const void *data, size_t len)
{
    r->data = data;
    r->len = data ? len : 0;
    r->pos = 0;
}

size_t ppml_reader_left(const ppml_reader *r) { return r->len - r->pos; }

int ppml_read_view(ppml_reader *r, const uint8_t **out, size_t len)
{
    if (len > r->len - r->pos)
        return PPML_EFORMAT;
    *out = r->data + r->pos;
    r->pos += len;
    return PPML_OK;
}

int ppml_read_bytes(ppml_reader *r, void *out, size_t len)
{
    const uint8_t *p;
    int e = ppml_read_view(r, &p, len);
    if (e)
        return e;
    if (len)
        memcpy(out, p, len);
    return PPML_OK;
}

static int read_le(ppml_reader *r, uint64_t *v, int n)
{
    const uint8_t *p;
    int e = ppml_read_view(r, &p, (size_t)n);
    if (e)
        return e;
    uint64_t x = 0;
    for (int i = n - 1; i >= 0; i--)
        x = (x << 8) | p[i];
    *v = x;
    return PPML_OK;
}

int ppml_read_u8(ppml_reader *r, uint8_t *v)
{
    uint64_t x;
    int e = read_le(r, &x, 1);
    if (!e)
        *v = (uint8_t)x;
    return e;
}

int ppml_read_u16(ppml_reader *r, uint16_t *v)
{
    uint64_t x;
    int e = read_le(r, &x, 2);
    if (!e)
        *v = (uint16_t)x;
    return e;
}

int ppml_read_u32(ppml_reader *r, uint32_t *v)
{
    uint64_t x;
    int e = read_le(r, &x, 4);
    if (!e)
        *v = (uint32_t)x;
    return e;
}

int ppml_read_u64(ppml_reader *r, uint64_t *v) { return read_le(r, v, 8); }

int ppml_read_mpz(ppml_reader *r, mpz_t out, size_t max_bytes)
{
    size_t save = r->pos;
    uint32_t n;
    const uint8_t *p;
    int e = ppml_read_u32(r, &n);
    if (e)
        return e;
    if (n > max_bytes) {
        r->pos = save;
        return PPML_ERANGE;
    }
    if ((e = ppml_read_view(r, &p, n))) {
        r->pos = save;
        return e;
    }
    if (n > 0 && p[n - 1] == 0) { /* non-minimal encoding */
        r->pos = save;
        return PPML_EFORMAT;
    }
    if (n == 0)
        mpz_set_ui(out, 0);
    else
        mpz_import(out, n, -1, 1, 0, 0, p);
    return PPML_OK;
}

int ppml_read_header(ppml_reader *r, ppml_header *h, uint16_t expect_type, const uint8_t *param_id)
{
    size_t start = r->pos;
    uint8_t magic[4];
    uint16_t hlen, version, type, flags;
    uint64_t total;
    ppml_header tmp;
    int e;
    if (ppml_reader_left(r) < PPML_HEADER_LEN)
        return PPML_EFORMAT;
    if ((e = ppml_read_bytes(r, magic, 4)) || (e = ppml_read_u16(r, &hlen)) ||
        (e = ppml_read_u16(r, &version)) || (e = ppml_read_u16(r, &type)) ||
        (e = ppml_read_u16(r, &flags)) || (e = ppml_read_u64(r, &total)) ||
        (e = ppml_read_bytes(r, tmp.param_id, PPML_PARAM_ID_BYTES)))
        goto fail;
    e = PPML_EFORMAT;
    if (memcmp(magic, PPML_MAGIC, 4) != 0 || hlen != PPML_HEADER_LEN)
        goto fail;
    if (version != PPML_FORMAT_VERSION) {
        e = PPML_EVERSION;
        goto fail;
    }
    if (type != expect_type)
        goto fail;
    if (total > PPML_MAX_OBJECT_BYTES || total != (uint64_t)(r->len - start))
        goto fail;
    if (param_id && sodium_memcmp(param_id, tmp.param_id, PPML_PARAM_ID_BYTES) != 0) {
        e = PPML_EMISMATCH;
        goto fail;
    }
    tmp.version = version;
    tmp.type = type;
    tmp.flags = flags;
    tmp.total_len = total;
    if (h)
        *h = tmp;
    return PPML_OK;
fail:
    r->pos = start;
    return e;
}

int ppml_reader_done(const ppml_reader *r) { return r->pos == r->len ? PPML_OK : PPML_EFORMAT; }

int ppml_file_read(const char *path, uint8_t **out, size_t *out_len, size_t max_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return PPML_EIO;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    int e = PPML_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= max_len + 1) {
                e = PPML_ERANGE;
                break;
            }
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap > max_len + 1)
                ncap = max_len + 1;
            uint8_t *nb = malloc(ncap);
            if (!nb) {
                e = PPML_ENOMEM;
                break;
            }
            if (buf) {
                memcpy(nb, buf, len);
                sodium_memzero(buf, cap);
                free(buf);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                e = PPML_EIO;
            break;
        }
    }
    fclose(f);
    if (!e && len > max_len)
        e = PPML_ERANGE;
    if (e) {
        ppml_free_secret(buf, cap);
        return e;
    }
    if (!buf) {
        buf = malloc(1);
        if (!buf)
            return PPML_ENOMEM;
    }
    *out = buf;
    *out_len = len;
    return PPML_OK;
}

int ppml_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return PPML_ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return PPML_EIO;
    }
    int e = PPML_OK;
    if (fchmod(fd, (mode_t)mode) != 0)
        e = PPML_EIO;
    const uint8_t *p = data;
    size_t left = len;
    while (!e && left) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            e = PPML_EIO;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    if (!e && fsync(fd) != 0)
        e = PPML_EIO;
    if (close(fd) != 0 && !e)
        e = PPML_EIO;
    if (!e && rename(tmp, path) != 0)
        e = PPML_EIO;
    if (e)
        unlink(tmp);
    free(tmp);
    return e;
}

void ppml_hash256(uint8_t out[32], const void *data, size_t len)
{
    crypto_generichash(out, 32, data, len, NULL, 0);
}
