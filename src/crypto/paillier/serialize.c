/* ppml binary formats of Paillier keys, ciphertext vectors and encrypted matrices.
 *
 * All objects start with the 52-byte ppml header (serial.h) whose param_id is the key id
 * (BLAKE2b-256 of N). Bodies, little endian:
 *   pk     : mpz N | mpz h_N
 *   sk     : mpz N | mpz h_N | mpz p | mpz q
 *   ctvec  : u32 width | u64 count | count * width bytes (each ciphertext little endian,
 *            zero padded to width = byte length of N^2)
 *   matrix : u32 rows | u32 cols | u32 frac_bits | u32 value_bits | u8 has_names |
 *            [cols * (u32 len | bytes)] | ctvec body
 * Loaders check every field, size before allocation, every ciphertext in (0, N^2) and
 * coprime to N, and leave *out untouched on failure. */
#include "paillier_internal.h"
#include "ppml/mem.h"

#include <stdlib.h>
#include <string.h>

#define MAX_N_BYTES (PPML_PAILLIER_MAX_BITS / 8)
#define MAX_NAME_BYTES 4096u

/* h_N in (1, N^2), a unit, and not +-1 mod N. The key id hashes N only (imports of a bare
 * N draw their own h_N), so a replaced h_N is not caught by the id; what can be checked
 * without the factors is refused here: h_N = +-(1+N)^k, which anyone can make without them
 * and which turns DJN's h_N^a into (1+N)^(ka), i.e. ciphertexts anyone can read for
 * small messages (PPML_ERANGE, like any other h_N out of range). The secret-key loader
 * checks h_N completely (h_N^lambda = 1, ppmli_paillier_sk_make). */
static int read_hn(ppml_reader *r, mpz_t hn, const mpz_t n)
{
    int e = ppml_read_mpz(r, hn, 2 * MAX_N_BYTES);
    if (e)
        return e;
    mpz_t n2, g;
    mpz_inits(n2, g, NULL);
    mpz_mul(n2, n, n);
    mpz_gcd(g, hn, n);
    if (mpz_cmp_ui(hn, 1) <= 0 || mpz_cmp(hn, n2) >= 0 || mpz_cmp_ui(g, 1) != 0) {
        e = PPML_ERANGE;
    } else {
        mpz_mod(g, hn, n);
        mpz_add_ui(g, g, 1);
        if (mpz_cmp_ui(g, 2) == 0 || mpz_cmp(g, n) == 0) /* h_N = 1 or -1 mod N */
            e = PPML_ERANGE;
    }
    mpz_clears(n2, g, NULL);
    return e;
}

/* Header + N + h_N; checks the id in the header is the id of N. */
static int read_pk_part(ppml_reader *r, uint16_t type, ppml_paillier_pk **out)
{
    ppml_header h;
    int e = ppml_read_header(r, &h, type, NULL);
    if (e)
        return e;
    if (h.flags != 0) /* no flags are defined for these objects */
        return PPML_EFORMAT;
    mpz_t n, hn;
    mpz_inits(n, hn, NULL);
    ppml_paillier_pk *pk = NULL;
    if ((e = ppml_read_mpz(r, n, MAX_N_BYTES)))
        goto done;
    if ((e = ppmli_paillier_check_n(n)))
        goto done;
    if ((e = read_hn(r, hn, n)))
        goto done;
    if ((e = ppmli_paillier_pk_make(&pk, n, hn)))
        goto done;
    if (memcmp(pk->id, h.param_id, 32) != 0) {
        ppml_paillier_pk_free(pk);
        e = PPML_EFORMAT;
        goto done;
    }
    *out = pk;
done:
    mpz_clears(n, hn, NULL);
    return e;
}

int ppml_paillier_pk_save(const ppml_paillier_pk *pk, uint8_t **out, size_t *len)
{
    if (!pk || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_PAILLIER_PK, 0, pk->id);
    ppml_write_mpz(&w, pk->n);
    ppml_write_mpz(&w, pk->hn);
    int e = ppml_writer_finish(&w, 0);
    if (e) {
        ppml_writer_clear(&w);
        return e;
    }
    return ppml_writer_take(&w, out, len);
}

int ppml_paillier_pk_load(ppml_paillier_pk **out, const uint8_t *buf, size_t len)
{
    if (!out || (!buf && len))
        return PPML_EINVAL;
    ppml_reader r;
    ppml_reader_init(&r, buf, len);
    ppml_paillier_pk *pk = NULL;
    int e = read_pk_part(&r, PPML_T_PAILLIER_PK, &pk);
    if (!e && (e = ppml_reader_done(&r)))
        ppml_paillier_pk_free(pk);
    if (!e)
        *out = pk;
    return e;
}

int ppml_paillier_sk_save(const ppml_paillier_sk *sk, uint8_t **out, size_t *len)
{
    if (!sk || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_PAILLIER_SK, 0, sk->pk->id);
    ppml_write_mpz(&w, sk->pk->n);
    ppml_write_mpz(&w, sk->pk->hn);
    ppml_write_mpz(&w, sk->p);
    ppml_write_mpz(&w, sk->q);
    int e = ppml_writer_finish(&w, 0);
    if (e) {
        ppml_writer_clear(&w); /* wipes */
        return e;
    }
    return ppml_writer_take(&w, out, len);
}

int ppml_paillier_sk_load(ppml_paillier_sk **out, const uint8_t *buf, size_t len)
{
    if (!out || (!buf && len))
        return PPML_EINVAL;
    ppml_reader r;
    ppml_reader_init(&r, buf, len);
    ppml_paillier_pk *pk = NULL;
    int e = read_pk_part(&r, PPML_T_PAILLIER_SK, &pk);
    if (e)
        return e;
    mpz_t p, q;
    mpz_inits(p, q, NULL);
    if (!(e = ppml_read_mpz(&r, p, MAX_N_BYTES)) && !(e = ppml_read_mpz(&r, q, MAX_N_BYTES)) &&
        !(e = ppml_reader_done(&r))) {
        ppml_paillier_sk *sk = NULL;
        e = ppmli_paillier_sk_make(&sk, pk, p, q);
        if (!e) {
            *out = sk;
            pk = NULL; /* owned by sk */
        }
    }
    ppml_paillier_pk_free(pk);
    mpz_clears(p, q, NULL);
    return e;
}

static size_t ct_width(const ppml_paillier_pk *pk) { return (mpz_sizeinbase(pk->n2, 2) + 7) / 8; }

static void write_cts(ppml_writer *w, const ppml_paillier_pk *pk, const mpz_t *cts, size_t count)
{
    size_t width = ct_width(pk);
    ppml_write_u32(w, (uint32_t)width);
    ppml_write_u64(w, (uint64_t)count);
    uint8_t *tmp = malloc(width);
    if (!tmp) {
        if (!w->err)
            w->err = PPML_ENOMEM;
        return;
    }
    for (size_t i = 0; i < count && !w->err; i++) {
        if (mpz_sgn(cts[i]) < 0 || mpz_sizeinbase(cts[i], 2) > width * 8) {
            w->err = PPML_ERANGE;
            break;
        }
        size_t got = 0;
        memset(tmp, 0, width);
        mpz_export(tmp, &got, -1, 1, 0, 0, cts[i]);
        ppml_write_bytes(w, tmp, width);
    }
    free(tmp);
}

/* Reads width/count and the ciphertexts (each checked with ppml_paillier_ct_check). */
static int read_cts(ppml_reader *r, const ppml_paillier_pk *pk, mpz_t **cts_out, size_t *count_out)
{
    uint32_t width;
    uint64_t count;
    int e;
    if ((e = ppml_read_u32(r, &width)) || (e = ppml_read_u64(r, &count)))
        return e;
    if (width != ct_width(pk))
        return PPML_EFORMAT;
    size_t bytes;
    if (count > SIZE_MAX || ppml_mul_size(&bytes, (size_t)count, width) != PPML_OK)
        return PPML_EOVERFLOW;
    if (bytes > ppml_reader_left(r))
        return PPML_EFORMAT;
    const uint8_t *p;
    if ((e = ppml_read_view(r, &p, bytes)))
        return e;
    mpz_t *cts = malloc((count ? (size_t)count : 1) * sizeof *cts);
    if (!cts)
        return PPML_ENOMEM;
    size_t i;
    for (i = 0; i < count; i++) {
        mpz_init(cts[i]);
        mpz_import(cts[i], width, -1, 1, 0, 0, p + i * width);
        if ((e = ppml_paillier_ct_check(pk, cts[i]))) {
            i++;
            break;
        }
    }
    if (e) {
        ppml_paillier_ctvec_free(cts, i);
        return e;
    }
    *cts_out = cts;
    *count_out = (size_t)count;
    return PPML_OK;
}

int ppml_paillier_ctvec_save(const ppml_paillier_pk *pk, const mpz_t *cts, size_t count,
                             uint8_t **out, size_t *len)
{
    if (!pk || (!cts && count) || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_PAILLIER_CTVEC, 0, pk->id);
    write_cts(&w, pk, cts, count);
    int e = ppml_writer_finish(&w, 0);
    if (e) {
        ppml_writer_clear(&w);
        return e;
    }
    return ppml_writer_take(&w, out, len);
}

int ppml_paillier_ctvec_load(const ppml_paillier_pk *pk, mpz_t **cts, size_t *count,
                             const uint8_t *buf, size_t len)
{
    if (!pk || !cts || !count || (!buf && len))
        return PPML_EINVAL;
    ppml_reader r;
    ppml_reader_init(&r, buf, len);
    ppml_header h;
    int e = ppml_read_header(&r, &h, PPML_T_PAILLIER_CTVEC, pk->id);
    if (e)
        return e;
    if (h.flags != 0)
        return PPML_EFORMAT;
    mpz_t *v = NULL;
    size_t n = 0;
    if ((e = read_cts(&r, pk, &v, &n)))
        return e;
    if ((e = ppml_reader_done(&r))) {
        ppml_paillier_ctvec_free(v, n);
        return e;
    }
    *cts = v;
    *count = n;
    return PPML_OK;
}

void ppml_paillier_ctvec_free(mpz_t *cts, size_t count)
{
    if (!cts)
        return;
    for (size_t i = 0; i < count; i++)
        mpz_clear(cts[i]);
    free(cts);
}

/* ---- encrypted matrix ---- */

static int matrix_expected_count(const ppml_paillier_pk *pk, uint32_t rows, uint32_t cols,
                                 uint32_t value_bits, size_t *count)
{
    size_t values;
    if (ppml_mul_size(&values, rows, cols) != PPML_OK)
        return PPML_EOVERFLOW;
    if (value_bits == 0) {
        *count = values;
        return PPML_OK;
    }
    if (value_bits < 2 || value_bits > 64)
        return PPML_EFORMAT;
    *count = ppml_paillier_packed_count(pk, values, value_bits);
    return *count || !values ? PPML_OK : PPML_EFORMAT;
}

static int name_ok(const char *s, size_t len)
{
    if (len > MAX_NAME_BYTES)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

int ppml_paillier_matrix_save(const ppml_paillier_pk *pk, const ppml_paillier_matrix *mat,
                              uint8_t **out, size_t *len)
{
    if (!pk || !mat || !out || !len || (!mat->cts && mat->count))
        return PPML_EINVAL;
    size_t expect;
    int e = matrix_expected_count(pk, mat->rows, mat->cols, mat->value_bits, &expect);
    if (e)
        return e == PPML_EFORMAT ? PPML_EINVAL : e;
    if (expect != mat->count || mat->frac_bits > 64)
        return PPML_EINVAL;
    if (mat->names)
        for (uint32_t j = 0; j < mat->cols; j++)
            if (!mat->names[j] || !name_ok(mat->names[j], strlen(mat->names[j])))
                return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_PAILLIER_MATRIX, 0, pk->id);
    ppml_write_u32(&w, mat->rows);
    ppml_write_u32(&w, mat->cols);
    ppml_write_u32(&w, mat->frac_bits);
    ppml_write_u32(&w, mat->value_bits);
    ppml_write_u8(&w, mat->names ? 1 : 0);
    if (mat->names)
        for (uint32_t j = 0; j < mat->cols; j++) {
            size_t l = strlen(mat->names[j]);
            ppml_write_u32(&w, (uint32_t)l);
            ppml_write_bytes(&w, mat->names[j], l);
        }
    write_cts(&w, pk, (const mpz_t *)mat->cts, mat->count);
    if ((e = ppml_writer_finish(&w, 0))) {
        ppml_writer_clear(&w);
        return e;
    }
    return ppml_writer_take(&w, out, len);
}

void ppml_paillier_matrix_free(ppml_paillier_matrix *mat)
{
    if (!mat)
        return;
    if (mat->names) {
        for (uint32_t j = 0; j < mat->cols; j++)
            free(mat->names[j]);
        free(mat->names);
    }
    ppml_paillier_ctvec_free(mat->cts, mat->count);
    free(mat);
}

int ppml_paillier_matrix_load(const ppml_paillier_pk *pk, ppml_paillier_matrix **out,
                              const uint8_t *buf, size_t len)
{
    if (!pk || !out || (!buf && len))
        return PPML_EINVAL;
    ppml_reader r;
    ppml_reader_init(&r, buf, len);
    ppml_header h;
    int e = ppml_read_header(&r, &h, PPML_T_PAILLIER_MATRIX, pk->id);
    if (e)
        return e;
    if (h.flags != 0)
        return PPML_EFORMAT;
    ppml_paillier_matrix *mat = calloc(1, sizeof *mat);
    if (!mat)
        return PPML_ENOMEM;
    uint8_t has_names;
    size_t expect;
    if ((e = ppml_read_u32(&r, &mat->rows)) || (e = ppml_read_u32(&r, &mat->cols)) ||
        (e = ppml_read_u32(&r, &mat->frac_bits)) || (e = ppml_read_u32(&r, &mat->value_bits)) ||
        (e = ppml_read_u8(&r, &has_names)))
        goto fail;
    uint32_t cols = mat->cols;
    mat->cols = 0; /* names allocated so far, for the failure path */
    if (has_names > 1 || mat->frac_bits > 64) {
        e = PPML_EFORMAT;
        goto fail;
    }
    if ((e = matrix_expected_count(pk, mat->rows, cols, mat->value_bits, &expect)))
        goto fail;
    if (has_names) {
        /* Each name takes at least 4 bytes: bound cols by what is left before allocating. */
        if (cols > ppml_reader_left(&r) / 4) {
            e = PPML_EFORMAT;
            goto fail;
        }
        mat->names = calloc(cols ? cols : 1, sizeof *mat->names);
        if (!mat->names) {
            e = PPML_ENOMEM;
            goto fail;
        }
        for (uint32_t j = 0; j < cols; j++) {
            uint32_t l;
            const uint8_t *p;
            if ((e = ppml_read_u32(&r, &l)))
                goto fail;
            if (l > MAX_NAME_BYTES) {
                e = PPML_EFORMAT;
                goto fail;
            }
            if ((e = ppml_read_view(&r, &p, l)))
                goto fail;
            if (!name_ok((const char *)p, l)) {
                e = PPML_EFORMAT;
                goto fail;
            }
            char *s = malloc((size_t)l + 1);
            if (!s) {
                e = PPML_ENOMEM;
                goto fail;
            }
            memcpy(s, p, l);
            s[l] = 0;
            mat->names[j] = s;
            mat->cols = j + 1;
        }
    }
    mat->cols = cols;
    if ((e = read_cts(&r, pk, &mat->cts, &mat->count)))
        goto fail;
    if (mat->count != expect || (e = ppml_reader_done(&r))) {
        if (!e)
            e = PPML_EFORMAT;
        goto fail;
    }
    *out = mat;
    return PPML_OK;
fail:
    if (mat->names) {
        for (uint32_t j = 0; j < mat->cols; j++)
            free(mat->names[j]);
        free(mat->names);
        mat->names = NULL;
    }
    ppml_paillier_ctvec_free(mat->cts, mat->count);
    free(mat);
    return e;
}
