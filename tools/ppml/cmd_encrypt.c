/* ppml encrypt: CSV of numbers -> Paillier ciphertexts (fixed point, one per value or
 * packed), as a ppml encrypted-matrix object or as python-paillier's encrypted-vector JSON.
 *
 * python-paillier exponents: phe stores value = plaintext * 16^exponent. ppml's fixed point
 * with f fractional bits maps to exponent -ceil(f/4): values are encoded with
 * f' = 4*ceil(f/4) fractional bits (exact: a left shift by f' - f <= 3 bits), so phe decodes
 * them exactly. The JSON carries an extra "ppml" member (rows, cols, names, frac_bits) that
 * phe ignores and `ppml decrypt` uses to restore the table shape. */
#include "cli.h"
#include "paillier_io.h"
#include "ppml/fixed.h"
#include "ppml/mem.h"
#include "ppml/paillier.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ppml encrypt --key KEY --in data.csv --out data.ct [options]\n\n"
            "Encrypts every number of a CSV file (optional header row of column names) under a\n"
            "Paillier public key, in fixed point: v = round(x * 2^F).\n"
            "  --key KEY            PREFIX.pk (or .sk), or a python-paillier JWK key\n"
            "  --frac-bits F        fractional bits, 0..%d (default 16)\n"
            "  --packed             pack several values per ciphertext (ppml format only)\n"
            "  --value-bits B       packed: values satisfy |v| < 2^(B-1), 2..64 (default 48)\n"
            "  --format ppml|json   output format (default ppml); json is python-paillier's\n"
            "                       encrypted vector {\"public_key\":..,\"values\":[[c,exponent],..]}\n"
            "                       with exponent -ceil(F/4) (value = plaintext * 16^exponent)\n"
            "  --threads N          worker threads (default: all CPUs)\n"
            "  --insecure-test-keys TEST ONLY: accept keys below 2048 bits\n",
            PPML_FIXED_MAX_FRAC_BITS);
}

typedef struct enc_ctx {
    const ppml_paillier_pk *pk;
    const int64_t *v;
    mpz_t *cts;
    unsigned shift; /* extra left shift (json exponent alignment) */
} enc_ctx;

static int enc_one(void *p, size_t i)
{
    enc_ctx *x = p;
    mpz_t m;
    mpz_init(m);
    mpz_set_si(m, x->v[i]);
    mpz_mul_2exp(m, m, x->shift);
    mpz_mod(m, m, ppml_paillier_pk_n(x->pk));
    int e = ppml_paillier_encrypt(x->pk, x->cts[i], m);
    mpz_clear(m);
    return e;
}

typedef struct pack_ctx {
    const ppml_paillier_pk *pk;
    const int64_t *v;
    size_t count, cap;
    unsigned value_bits;
    mpz_t *cts;
} pack_ctx;

static int pack_one(void *p, size_t j)
{
    pack_ctx *x = p;
    size_t lo = j * x->cap, n = x->count - lo < x->cap ? x->count - lo : x->cap;
    return ppml_paillier_encrypt_packed(x->pk, x->cts + j, x->v + lo, n, x->value_bits);
}

static int write_json(const char *path, const ppml_paillier_pk *pk, mpz_t *cts, size_t count, int exponent,
                      const pio_csv *csv, unsigned frac_bits)
{
    int *ex = malloc((count ? count : 1) * sizeof *ex);
    if (!ex)
        return cli_error("out of memory");
    for (size_t i = 0; i < count; i++)
        ex[i] = exponent;
    char *text = NULL;
    int e = ppml_paillier_ctvec_to_json(pk, (const mpz_t *)cts, ex, count, &text);
    free(ex);
    if (e)
        return cli_error("cannot encode JSON: %s", ppml_strerror(e));
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    free(text);
    json_t *meta = json_object();
    int bad = !root || !meta;
    if (!bad) {
        bad |= json_object_set_new(meta, "rows", json_integer((json_int_t)csv->rows));
        bad |= json_object_set_new(meta, "cols", json_integer((json_int_t)csv->cols));
        bad |= json_object_set_new(meta, "frac_bits", json_integer(frac_bits));
        if (csv->names) {
            json_t *names = json_array();
            bad |= json_object_set_new(meta, "names", names);
            for (size_t j = 0; names && j < csv->cols; j++)
                bad |= json_array_append_new(names, json_string(csv->names[j]));
        }
        bad |= json_object_set_new(root, "ppml", meta);
        meta = NULL;
    }
    char *out = bad ? NULL : json_dumps(root, JSON_PRESERVE_ORDER);
    json_decref(meta);
    json_decref(root);
    if (!out)
        return cli_error("cannot encode JSON (out of memory or invalid UTF-8 in a column name)");
    size_t l = strlen(out);
    out[l] = '\n'; /* replace the NUL: files end with a newline */
    int rc = pio_write(path, out, l + 1, 0644);
    free(out);
    return rc;
}

int cmd_encrypt(int argc, char **argv)
{
    const char *key = NULL, *in = NULL, *out = NULL, *format = "ppml";
    int frac = 16, value_bits = 48, packed = 0, threads = 0, vb_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--key") || !strcmp(a, "--in") || !strcmp(a, "--out") || !strcmp(a, "--format")) {
            if (!(v = cli_value(argc, argv, &i)))
                return 1;
            *(!strcmp(a, "--key") ? &key : !strcmp(a, "--in") ? &in : !strcmp(a, "--out") ? &out : &format) = v;
        } else if (!strcmp(a, "--frac-bits")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 0, PPML_FIXED_MAX_FRAC_BITS, &frac))
                return 1;
        } else if (!strcmp(a, "--value-bits")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 2, 64, &value_bits))
                return 1;
            vb_given = 1;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 256, &threads))
                return 1;
        } else if (!strcmp(a, "--packed")) {
            packed = 1;
        } else if (!strcmp(a, "--insecure-test-keys")) {
            ppml_paillier_allow_insecure_test_keys(1);
        } else {
            return cli_error("encrypt: unknown option '%s' (see --help)", a);
        }
    }
    if (!key || !in || !out)
        return cli_error("encrypt: --key, --in and --out are required (see --help)");
    int json = !strcmp(format, "json");
    if (!json && strcmp(format, "ppml"))
        return cli_error("--format: expected ppml or json, got '%s'", format);
    if (json && packed)
        return cli_error("--packed cannot be combined with --format json (python-paillier has no packing)");
    if (vb_given && !packed)
        return cli_error("--value-bits needs --packed");

    ppml_paillier_pk *pk = NULL;
    if (pio_load_pk(key, &pk))
        return 1;
    uint8_t *text = NULL;
    size_t tlen = 0;
    pio_csv csv;
    if (pio_read("input", in, &text, &tlen)) {
        ppml_paillier_pk_free(pk);
        return 1;
    }
    int rc = pio_csv_parse(&csv, in, (const char *)text, tlen);
    free(text);
    if (rc) {
        ppml_paillier_pk_free(pk);
        return rc;
    }
    size_t count = csv.rows * csv.cols;
    int64_t *v = malloc(count * sizeof *v);
    mpz_t *cts = NULL;
    size_t nct = 0;
    if (!v) {
        rc = cli_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        int e = ppml_fixed_encode(&v[i], csv.vals[i], (unsigned)frac);
        int64_t lim = value_bits >= 64 ? INT64_MAX : ((int64_t)1 << (value_bits - 1)) - 1;
        if (!e && packed && (v[i] > lim || v[i] < -lim))
            e = PPML_ERANGE;
        if (e) {
            rc = cli_error("'%s' row %zu, column %zu: %.17g does not fit %s", in, i / csv.cols + 1, i % csv.cols + 1,
                           csv.vals[i], packed ? "--value-bits at this --frac-bits" : "62 bits at this --frac-bits");
            goto done;
        }
    }
    unsigned shift = json ? (unsigned)((4 - frac % 4) % 4) : 0;
    if (ppml_paillier_precompute(pk) != PPML_OK) {
        rc = cli_error("out of memory");
        goto done;
    }
    int e;
    if (packed) {
        nct = ppml_paillier_packed_count(pk, count, (unsigned)value_bits);
        if (!nct) {
            rc = cli_error("--value-bits %d does not fit this key", value_bits);
            goto done;
        }
    } else {
        nct = count;
    }
    cts = malloc(nct * sizeof *cts);
    if (!cts) {
        rc = cli_error("out of memory");
        nct = 0;
        goto done;
    }
    for (size_t i = 0; i < nct; i++)
        mpz_init(cts[i]);
    if (packed) {
        pack_ctx px = {pk, v, count, ppml_paillier_pack_capacity(pk, (unsigned)value_bits + 1),
                       (unsigned)value_bits, cts};
        e = pio_parallel(nct, (unsigned)threads, pack_one, &px, "encrypting");
    } else {
        enc_ctx ex = {pk, v, cts, shift};
        e = pio_parallel(count, (unsigned)threads, enc_one, &ex, "encrypting");
    }
    if (e) {
        rc = cli_error("encryption failed: %s", ppml_strerror(e));
        goto done;
    }
    if (json) {
        rc = write_json(out, pk, cts, nct, -(int)((frac + 3) / 4), &csv, (unsigned)frac);
    } else {
        ppml_paillier_matrix mat = {.rows = (uint32_t)csv.rows, .cols = (uint32_t)csv.cols,
                                    .frac_bits = (uint32_t)frac, .value_bits = packed ? (uint32_t)value_bits : 0,
                                    .names = csv.names, .cts = cts, .count = nct};
        uint8_t *buf = NULL;
        size_t blen = 0;
        if (csv.rows > UINT32_MAX || csv.cols > UINT32_MAX)
            rc = cli_error("'%s': too many rows or columns", in);
        else if ((e = ppml_paillier_matrix_save(pk, &mat, &buf, &blen)))
            rc = cli_error("cannot serialize the ciphertexts: %s", ppml_strerror(e));
        else
            rc = pio_write(out, buf, blen, 0644);
        free(buf);
    }
done:
    if (cts)
        ppml_paillier_ctvec_free(cts, nct);
    if (v)
        ppml_memzero(v, count * sizeof *v);
    free(v);
    pio_csv_free(&csv);
    ppml_paillier_pk_free(pk);
    return rc;
}
