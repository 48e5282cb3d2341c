/* ppml decrypt: ciphertexts (ppml encrypted matrix from `ppml encrypt`, or python-paillier's
 * encrypted-vector JSON) -> CSV of numbers. For JSON, each value is the centred plaintext
 * times 16^exponent (phe's encoding); the optional "ppml" member restores rows, columns and
 * names, otherwise one value per line. */
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
    fprintf(f, "usage: ppml decrypt --key KEY --in data.ct --out out.csv [options]\n\n"
               "Decrypts a file written by `ppml encrypt` (ppml or python-paillier JSON format;\n"
               "detected from the content) and writes the values as CSV (mode 0600).\n"
               "  --key KEY            PREFIX.sk, or a python-paillier private JWK key\n"
               "  --threads N          worker threads (default: all CPUs)\n"
               "  --insecure-test-keys TEST ONLY: accept keys below 2048 bits\n");
}

typedef struct dec_ctx {
    const ppml_paillier_sk *sk;
    mpz_t *cts;
    double *out;
    const int *exps; /* JSON: per-value exponent; NULL for ppml matrices */
    unsigned frac_bits;
    /* packed */
    size_t count, cap;
    unsigned value_bits;
    int64_t *vals;
} dec_ctx;

static int dec_one(void *p, size_t i)
{
    dec_ctx *x = p;
    mpz_t m;
    mpz_init(m);
    int e = ppml_paillier_decrypt(x->sk, m, x->cts[i]);
    if (!e) {
        ppml_fixed_centre(m, m, ppml_paillier_pk_n(ppml_paillier_sk_pk(x->sk)));
        /* exact for |m| < 2^53, correctly rounded beyond */
        int exp2 = x->exps ? 4 * x->exps[i] : -(int)x->frac_bits;
        long ex = 0;
        double d = mpz_get_d_2exp(&ex, m);
        double r = ldexp(d, (int)ex + exp2);
        if (!isfinite(r))
            e = PPML_ERANGE;
        else
            x->out[i] = r;
    }
    mpz_clear(m);
    return e;
}

static int dec_packed(void *p, size_t j)
{
    dec_ctx *x = p;
    size_t lo = j * x->cap, n = x->count - lo < x->cap ? x->count - lo : x->cap;
    return ppml_paillier_decrypt_packed(x->sk, x->vals + lo, n, (const mpz_t *)x->cts + j, x->value_bits);
}

/* Shape and names from the optional "ppml" member of a JSON document. */
static int json_shape(const uint8_t *buf, size_t len, size_t count, size_t *rows, size_t *cols, char ***names)
{
    *rows = count;
    *cols = 1;
    *names = NULL;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf, len, JSON_DECODE_INT_AS_REAL, &jerr);
    json_t *meta = root ? json_object_get(root, "ppml") : NULL;
    int rc = 0;
    if (meta) {
        json_t *r = json_object_get(meta, "rows"), *c = json_object_get(meta, "cols");
        json_t *nm = json_object_get(meta, "names");
        double rv = json_number_value(r), cv = json_number_value(c);
        if (!json_is_number(r) || !json_is_number(c) || rv < 1 || cv < 1 || rv != floor(rv) || cv != floor(cv) ||
            rv * cv != (double)count) {
            rc = cli_error("JSON input: \"ppml\" shape does not match the %zu values", count);
        } else {
            *rows = (size_t)rv;
            *cols = (size_t)cv;
            if (nm) {
                if (!json_is_array(nm) || json_array_size(nm) != *cols) {
                    rc = cli_error("JSON input: \"ppml\" names do not match the columns");
                } else if (!(*names = calloc(*cols, sizeof **names))) {
                    rc = cli_error("out of memory");
                } else {
                    for (size_t j = 0; j < *cols && !rc; j++) {
                        const char *s = json_string_value(json_array_get(nm, j));
                        int okname = s != NULL;
                        for (const char *t = s; okname && *t; t++)
                            okname = (unsigned char)*t >= 0x20 && *t != ',';
                        if (!okname)
                            rc = cli_error("JSON input: bad column name");
                        else if (!((*names)[j] = strdup(s)))
                            rc = cli_error("out of memory");
                    }
                }
            }
        }
    }
    json_decref(root);
    if (rc && *names) {
        for (size_t j = 0; j < *cols; j++)
            free((*names)[j]);
        free(*names);
        *names = NULL;
    }
    return rc;
}

int cmd_decrypt(int argc, char **argv)
{
    const char *key = NULL, *in = NULL, *out = NULL;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--key") || !strcmp(a, "--in") || !strcmp(a, "--out")) {
            if (!(v = cli_value(argc, argv, &i)))
                return 1;
            *(!strcmp(a, "--key") ? &key : !strcmp(a, "--in") ? &in : &out) = v;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 256, &threads))
                return 1;
        } else if (!strcmp(a, "--insecure-test-keys")) {
            ppml_paillier_allow_insecure_test_keys(1);
        } else {
            return cli_error("decrypt: unknown option '%s' (see --help)", a);
        }
    }
    if (!key || !in || !out)
        return cli_error("decrypt: --key, --in and --out are required (see --help)");
    ppml_paillier_sk *sk = NULL;
    if (pio_load_sk(key, &sk))
        return 1;
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (pio_read("input", in, &buf, &len)) {
        ppml_paillier_sk_free(sk);
        return 1;
    }
    int rc = 0, e;
    ppml_paillier_matrix *mat = NULL;
    mpz_t *jcts = NULL;
    int *jexps = NULL;
    size_t jcount = 0, rows = 0, cols = 0;
    char **jnames = NULL;
    double *vals = NULL;
    dec_ctx x = {.sk = sk};
    if (pio_is_json(buf, len)) {
        e = ppml_paillier_ctvec_from_json(pk, NULL, &jcts, &jexps, &jcount, (const char *)buf, len);
        if (e == PPML_EMISMATCH) {
            rc = cli_error("'%s' was encrypted under another key", in);
            goto done;
        }
        if (e) {
            rc = cli_error("'%s' is not a valid python-paillier encrypted vector: %s", in, ppml_strerror(e));
            goto done;
        }
        if (jcount == 0) {
            rc = cli_error("'%s': no values", in);
            goto done;
        }
        if ((rc = json_shape(buf, len, jcount, &rows, &cols, &jnames)))
            goto done;
        x.cts = jcts;
        x.exps = jexps;
    } else {
        e = ppml_paillier_matrix_load(pk, &mat, buf, len);
        if (e == PPML_EMISMATCH) {
            rc = cli_error("'%s' was encrypted under another key", in);
            goto done;
        }
        if (e) {
            rc = cli_error("'%s' is not a valid ppml ciphertext file: %s", in, ppml_strerror(e));
            goto done;
        }
        rows = mat->rows;
        cols = mat->cols;
        x.cts = mat->cts;
        x.frac_bits = mat->frac_bits;
    }
    size_t count = rows * cols;
    vals = malloc((count ? count : 1) * sizeof *vals);
    if (!vals) {
        rc = cli_error("out of memory");
        goto done;
    }
    x.out = vals;
    if (mat && mat->value_bits) {
        x.count = count;
        x.value_bits = mat->value_bits;
        x.cap = ppml_paillier_pack_capacity(pk, mat->value_bits + 1);
        x.vals = malloc((count ? count : 1) * sizeof *x.vals);
        if (!x.vals) {
            rc = cli_error("out of memory");
            goto done;
        }
        e = pio_parallel(mat->count, (unsigned)threads, dec_packed, &x, "decrypting");
        for (size_t i = 0; !e && i < count; i++)
            vals[i] = ldexp((double)x.vals[i], -(int)mat->frac_bits);
        ppml_memzero(x.vals, count * sizeof *x.vals);
        free(x.vals);
    } else {
        e = pio_parallel(count, (unsigned)threads, dec_one, &x, "decrypting");
    }
    if (e) {
        rc = cli_error("decryption failed: %s", ppml_strerror(e));
        goto done;
    }
    rc = pio_write_csv(out, mat ? mat->names : jnames, rows, cols, vals);
done:
    if (vals) {
        ppml_memzero(vals, (rows * cols != 0 ? rows * cols : 1) * sizeof *vals);
        free(vals);
    }
    if (jnames) {
        for (size_t j = 0; j < cols; j++)
            free(jnames[j]);
        free(jnames);
    }
    ppml_paillier_ctvec_free(jcts, jcount);
    free(jexps);
    ppml_paillier_matrix_free(mat);
    free(buf);
    ppml_paillier_sk_free(sk);
    return rc;
}
