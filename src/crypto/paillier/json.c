/* python-paillier interoperability (JSON, parsed with jansson).
 *
 * Formats, as python-paillier (phe) writes them:
 *  - public JWK  {"kty":"DAJ","alg":"PAI-GN1","key_ops":["encrypt"],"n":B64,"kid":...}
 *  - private JWK {"kty":"DAJ","key_ops":["decrypt"],"p":B64,"q":B64,"pub":{public JWK},...}
 *    phe >= 1.4 writes and reads "p" and "q"; phe <= 1.3 wrote "lambda" = (p-1)(q-1) and
 *    "mu" = lambda^-1 mod n instead. ppml writes all four, so both generations read it, and
 *    reads either: from lambda alone it recovers p and q (p + q = N + 1 - phi; phi is tried
 *    as k * lambda for small k, which also covers lambda = lcm(p-1, q-1)).
 *  - encrypted vector (phe's "basic JSON serialisation"):
 *    {"public_key":{"g":G,"n":N},"values":[["<ciphertext>",exponent],...]}
 *    with G = N + 1. Python's json.dumps writes g and n as bare integers; ppml writes decimal
 *    strings (phe reads both through int()) and reads both: integer literals longer than 18
 *    digits are turned into strings before jansson parses the text.
 * B64 is base64url without padding of the big-endian magnitude (padding accepted on input).
 * An EncryptedNumber's exponent e means value = plaintext * 16^e (phe's EncodedNumber.BASE =
 * 16); ppml's fixed point with f fractional bits is e = -f/4 when 4 | f. The library passes
 * exponents through unchanged; the CLI does the mapping. */
#include "paillier_internal.h"
#include "ppml/mem.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEC_DIGITS 5000   /* > digits of N^2 for |N| = 8192 */
#define MAX_B64_CHARS 2800    /* > base64 of 2 * 8192 bits */
#define MAX_EXPONENT (1 << 20)
/* lambda = phi / k for k = gcd(p-1, q-1) (lcm form); tried up to this k. */
#define MAX_LAMBDA_K 65536

/* Strings from mpz_get_str(NULL, ...) belong to GMP's allocator: free them through it. */
static void gmp_str_free(char *s)
{
    if (!s)
        return;
    void (*gfree)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &gfree);
    gfree(s, strlen(s) + 1);
}

static int b64_to_mpz(mpz_t out, const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > MAX_B64_CHARS)
        return PPML_EFORMAT;
    size_t cap = len, got = 0;
    uint8_t *bin = malloc(cap);
    if (!bin)
        return PPML_ENOMEM;
    const char *end = NULL;
    int rc = sodium_base642bin(bin, cap, s, len, NULL, &got, &end,
                               sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (rc != 0 || end != s + len)
        rc = sodium_base642bin(bin, cap, s, len, NULL, &got, &end, sodium_base64_VARIANT_URLSAFE);
    int e = PPML_OK;
    if (rc != 0 || end != s + len || got == 0)
        e = PPML_EFORMAT;
    else
        mpz_import(out, got, 1, 1, 0, 0, bin);
    ppml_free_secret(bin, cap);
    return e;
}

/* Caller frees with free(). x > 0. */
static char *mpz_to_b64(const mpz_t x)
{
    size_t n = (mpz_sizeinbase(x, 2) + 7) / 8;
    uint8_t *bin = malloc(n ? n : 1);
    size_t olen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(olen);
    if (!bin || !out) {
        free(bin);
        free(out);
        return NULL;
    }
    size_t got = 0;
    mpz_export(bin, &got, 1, 1, 0, 0, x);
    sodium_bin2base64(out, olen, bin, got, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    ppml_free_secret(bin, n ? n : 1);
    return out;
}

static int dec_to_mpz(mpz_t out, const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > MAX_DEC_DIGITS)
        return PPML_EFORMAT;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return PPML_EFORMAT;
    return mpz_set_str(out, s, 10) == 0 ? PPML_OK : PPML_EFORMAT;
}

/* Accepts a decimal string, or a JSON integer (small values only: big ones were quoted). */
static int json_to_mpz(mpz_t out, const json_t *v)
{
    if (json_is_string(v))
        return dec_to_mpz(out, json_string_value(v));
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        mpz_set_ui(out, (unsigned long)json_integer_value(v));
        return PPML_OK;
    }
    return PPML_EFORMAT;
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
    return v && json_object_set_new(obj, key, v) == 0 ? PPML_OK : PPML_ENOMEM;
}

static int dump(json_t *root, char **out)
{
    char *s = json_dumps(root, JSON_PRESERVE_ORDER);
    if (!s)
        return PPML_ENOMEM;
    /* jansson allocates with malloc by default; hand the caller a plain malloc copy anyway. */
    size_t l = strlen(s);
    char *c = malloc(l + 1);
    if (!c) {
        ppml_memzero(s, l);
        free(s);
        return PPML_ENOMEM;
    }
    memcpy(c, s, l + 1);
    ppml_memzero(s, l);
    free(s);
    *out = c;
    return PPML_OK;
}

/* Quote integer literals of more than 18 digits (outside strings) so jansson keeps them
 * exact. Returns a malloc'ed NUL-terminated copy. */
static char *quote_big_ints(const char *in, size_t len)
{
    size_t cap = len + len / 9 + 16;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t o = 0;
    int in_str = 0;
    for (size_t i = 0; i < len;) {
        char ch = in[i];
        if (in_str) {
            out[o++] = ch;
            i++;
            if (ch == '\\' && i < len)
                out[o++] = in[i++];
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == '"') {
            in_str = 1;
            out[o++] = ch;
            i++;
            continue;
        }
        if ((ch >= '0' && ch <= '9') || ch == '-') {
            size_t j = i;
            while (j < len && ((in[j] >= '0' && in[j] <= '9') || in[j] == '-' || in[j] == '+' ||
                               in[j] == '.' || in[j] == 'e' || in[j] == 'E'))
                j++;
            int digits_only = 1;
            for (size_t k = i; k < j; k++)
                if (in[k] < '0' || in[k] > '9')
                    digits_only = 0;
            if (digits_only && j - i > 18) {
                out[o++] = '"';
                memcpy(out + o, in + i, j - i);
                o += j - i;
                out[o++] = '"';
            } else {
                memcpy(out + o, in + i, j - i);
                o += j - i;
            }
            i = j;
            continue;
        }
        out[o++] = ch;
        i++;
    }
    out[o] = 0;
    return out;
}

static json_t *parse(const char *json, size_t len)
{
    if (!json || len == 0 || len > PPML_MAX_OBJECT_BYTES)
        return NULL;
    char *q = quote_big_ints(json, len);
    if (!q)
        return NULL;
    json_error_t err;
    json_t *root = json_loads(q, JSON_REJECT_DUPLICATES, &err);
    ppml_memzero(q, strlen(q));
    free(q);
    if (root && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int has_op(const json_t *obj, const char *op)
{
    const json_t *ops = json_object_get(obj, "key_ops");
    if (!ops)
        return 1; /* optional in phe's readers */
    if (!json_is_array(ops))
        return 0;
    for (size_t i = 0; i < json_array_size(ops); i++) {
        const json_t *v = json_array_get(ops, i);
        if (json_is_string(v) && !strcmp(json_string_value(v), op))
            return 1;
    }
    return 0;
}

static int str_is(const json_t *obj, const char *key, const char *want)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) && !strcmp(json_string_value(v), want);
}

static json_t *ops_array(const char *op)
{
    json_t *a = json_array();
    if (a && json_array_append_new(a, json_string(op)) != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static void kid_text(char *kid, size_t cap, const char *what, const uint8_t *id)
{
    snprintf(kid, cap, "ppml Paillier %s key %02x%02x%02x%02x%02x%02x%02x%02x", what, id[0], id[1],
             id[2], id[3], id[4], id[5], id[6], id[7]);
}

/* json_object_set_new steals its value even on failure, so each value is attached as soon
 * as it is made and nothing can leak. */
static json_t *pk_jwk_obj(const ppml_paillier_pk *pk)
{
    json_t *o = json_object();
    char *n = mpz_to_b64(pk->n);
    char kid[96];
    kid_text(kid, sizeof kid, "public", pk->id);
    if (!o || !n || set_new(o, "kty", json_string("DAJ")) || set_new(o, "alg", json_string("PAI-GN1")) ||
        set_new(o, "key_ops", ops_array("encrypt")) || set_new(o, "n", json_string(n)) ||
        set_new(o, "kid", json_string(kid))) {
        free(n);
        json_decref(o);
        return NULL;
    }
    free(n);
    return o;
}

int ppml_paillier_pk_to_jwk(const ppml_paillier_pk *pk, char **json)
{
    if (!pk || !json)
        return PPML_EINVAL;
    json_t *o = pk_jwk_obj(pk);
    if (!o)
        return PPML_ENOMEM;
    int e = dump(o, json);
    json_decref(o);
    return e;
}

static int pk_from_obj(ppml_paillier_pk **out, const json_t *o)
{
    if (!json_is_object(o) || !str_is(o, "kty", "DAJ") || !str_is(o, "alg", "PAI-GN1") ||
        !has_op(o, "encrypt"))
        return PPML_EFORMAT;
    const json_t *n = json_object_get(o, "n");
    if (!json_is_string(n))
        return PPML_EFORMAT;
    mpz_t x;
    mpz_init(x);
    int e = b64_to_mpz(x, json_string_value(n));
    if (!e)
        e = ppml_paillier_pk_from_n(out, x);
    mpz_clear(x);
    return e;
}

int ppml_paillier_pk_from_jwk(ppml_paillier_pk **out, const char *json, size_t len)
{
    if (!out || !json)
        return PPML_EINVAL;
    json_t *root = parse(json, len);
    if (!root)
        return PPML_EFORMAT;
    int e = pk_from_obj(out, root);
    json_decref(root);
    return e;
}

int ppml_paillier_sk_to_jwk(const ppml_paillier_sk *sk, char **json)
{
    if (!sk || !json)
        return PPML_EINVAL;
    int e = PPML_ENOMEM;
    mpz_t phi, mu;
    mpz_inits(phi, mu, NULL);
    mpz_mul(phi, sk->pm1, sk->qm1);
    char *p = mpz_to_b64(sk->p), *q = mpz_to_b64(sk->q), *l = mpz_to_b64(phi), *m = NULL;
    if (mpz_invert(mu, phi, sk->pk->n))
        m = mpz_to_b64(mu);
    json_t *o = json_object();
    char kid[96];
    kid_text(kid, sizeof kid, "private", sk->pk->id);
    if (o && p && q && l && m && !set_new(o, "kty", json_string("DAJ")) &&
        !set_new(o, "key_ops", ops_array("decrypt")) && !set_new(o, "p", json_string(p)) &&
        !set_new(o, "q", json_string(q)) && !set_new(o, "lambda", json_string(l)) &&
        !set_new(o, "mu", json_string(m)) && !set_new(o, "pub", pk_jwk_obj(sk->pk)) &&
        !set_new(o, "kid", json_string(kid)))
        e = dump(o, json);
    json_decref(o); /* the JSON strings of secrets are freed by jansson without wiping */
    char *strs[] = {p, q, l, m};
    for (int i = 0; i < 4; i++)
        if (strs[i])
            ppml_free_secret(strs[i], strlen(strs[i]) + 1);
    mpz_clears(phi, mu, NULL);
    return e;
}

/* p, q from N and a multiple-of-lambda candidate phi = k * lambda. */
static int factor_from_lambda(mpz_t p, mpz_t q, const mpz_t n, const mpz_t lambda)
{
    int e = PPML_ECRYPTO;
    mpz_t phi, s, d;
    mpz_inits(phi, s, d, NULL);
    for (unsigned long k = 1; k <= MAX_LAMBDA_K; k++) {
        mpz_mul_ui(phi, lambda, k);
        if (mpz_cmp(phi, n) >= 0)
            break;
        /* s = p + q = N + 1 - phi; d = s^2 - 4N = (p - q)^2 */
        mpz_add_ui(s, n, 1);
        mpz_sub(s, s, phi);
        mpz_mul(d, s, s);
        mpz_submul_ui(d, n, 4);
        if (mpz_sgn(d) <= 0 || !mpz_perfect_square_p(d))
            continue;
        mpz_sqrt(d, d);
        mpz_sub(p, s, d);
        mpz_add(q, s, d);
        if (mpz_odd_p(p))
            continue;
        mpz_fdiv_q_2exp(p, p, 1);
        mpz_fdiv_q_2exp(q, q, 1);
        mpz_mul(d, p, q);
        if (mpz_cmp(d, n) == 0) {
            e = PPML_OK;
            break;
        }
    }
    mpz_clears(phi, s, d, NULL);
    return e;
}

int ppml_paillier_sk_from_jwk(ppml_paillier_sk **out, const char *json, size_t len)
{
    if (!out || !json)
        return PPML_EINVAL;
    json_t *root = parse(json, len);
    if (!root)
        return PPML_EFORMAT;
    int e = PPML_EFORMAT;
    ppml_paillier_pk *pk = NULL;
    mpz_t p, q, lambda, mu, t;
    mpz_inits(p, q, lambda, mu, t, NULL);
    if (!str_is(root, "kty", "DAJ") || !has_op(root, "decrypt"))
        goto done;
    if ((e = pk_from_obj(&pk, json_object_get(root, "pub"))))
        goto done;
    const json_t *jp = json_object_get(root, "p"), *jq = json_object_get(root, "q");
    const json_t *jl = json_object_get(root, "lambda"), *jm = json_object_get(root, "mu");
    e = PPML_EFORMAT;
    if ((jp && !json_is_string(jp)) || (jq && !json_is_string(jq)) || (jl && !json_is_string(jl)) ||
        (jm && !json_is_string(jm)) || (!jp) != (!jq) || (!jp && !jl))
        goto done;
    if (jl && (e = b64_to_mpz(lambda, json_string_value(jl))))
        goto done;
    if (jm && (e = b64_to_mpz(mu, json_string_value(jm))))
        goto done;
    if (jl && jm) { /* mu = lambda^-1 mod N in phe's key */
        mpz_mul(t, lambda, mu);
        mpz_mod(t, t, pk->n);
        if (mpz_cmp_ui(t, 1) != 0) {
            e = PPML_EMISMATCH;
            goto done;
        }
    }
    if (jp) {
        if ((e = b64_to_mpz(p, json_string_value(jp))) || (e = b64_to_mpz(q, json_string_value(jq))))
            goto done;
    } else if ((e = factor_from_lambda(p, q, pk->n, lambda))) {
        goto done;
    }
    ppml_paillier_sk *sk = NULL;
    if ((e = ppmli_paillier_sk_make(&sk, pk, p, q)))
        goto done;
    pk = NULL;
    if (jl) { /* lambda must be a valid decryption exponent for this key */
        mpz_mul(t, sk->pm1, sk->qm1);
        if (!mpz_divisible_p(lambda, sk->lambda) || mpz_cmp(lambda, t) > 0) {
            ppml_paillier_sk_free(sk);
            e = PPML_EMISMATCH;
            goto done;
        }
    }
    *out = sk;
done:
    ppml_paillier_pk_free(pk);
    mpz_clears(p, q, lambda, mu, t, NULL);
    json_decref(root);
    return e;
}

int ppml_paillier_ctvec_to_json(const ppml_paillier_pk *pk, const mpz_t *cts, const int *exponents,
                                size_t count, char **json)
{
    if (!pk || (!cts && count) || !json)
        return PPML_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (mpz_sgn(cts[i]) < 0 || (exponents && (exponents[i] > MAX_EXPONENT || exponents[i] < -MAX_EXPONENT)))
            return PPML_ERANGE;
    int e = PPML_ENOMEM;
    json_t *root = json_object(), *pub = json_object(), *vals = json_array();
    mpz_t g;
    mpz_init(g);
    mpz_add_ui(g, pk->n, 1);
    char *gs = mpz_get_str(NULL, 10, g), *ns = mpz_get_str(NULL, 10, pk->n);
    if (!root || !pub || !vals || !gs || !ns)
        goto fail;
    if (set_new(pub, "g", json_string(gs)) || set_new(pub, "n", json_string(ns)))
        goto fail;
    for (size_t i = 0; i < count; i++) {
        char *cs = mpz_get_str(NULL, 10, cts[i]);
        json_t *pair = json_array();
        if (!cs || !pair || json_array_append_new(vals, pair) ||
            json_array_append_new(pair, json_string(cs)) ||
            json_array_append_new(pair, json_integer(exponents ? exponents[i] : 0))) {
            gmp_str_free(cs);
            goto fail;
        }
        gmp_str_free(cs);
    }
    if (json_object_set_new(root, "public_key", pub)) {
        pub = NULL;
        goto fail;
    }
    pub = NULL;
    if (json_object_set_new(root, "values", vals)) {
        vals = NULL;
        goto fail;
    }
    vals = NULL;
    e = dump(root, json);
fail:
    json_decref(pub);
    json_decref(vals);
    json_decref(root);
    gmp_str_free(gs);
    gmp_str_free(ns);
    mpz_clear(g);
    return e;
}

int ppml_paillier_ctvec_from_json(const ppml_paillier_pk *pk, ppml_paillier_pk **pk_out, mpz_t **cts,
                                  int **exponents, size_t *count, const char *json, size_t len)
{
    if ((!pk && !pk_out) || !cts || !exponents || !count || !json)
        return PPML_EINVAL;
    json_t *root = parse(json, len);
    if (!root)
        return PPML_EFORMAT;
    int e = PPML_EFORMAT;
    ppml_paillier_pk *own = NULL;
    mpz_t *v = NULL;
    int *ex = NULL;
    size_t done = 0, n = 0;
    mpz_t jn, jg;
    mpz_inits(jn, jg, NULL);
    const json_t *pub = json_object_get(root, "public_key"), *vals = json_object_get(root, "values");
    if (!json_is_object(pub) || !json_is_array(vals))
        goto fail;
    if ((e = json_to_mpz(jn, json_object_get(pub, "n"))))
        goto fail;
    const json_t *gj = json_object_get(pub, "g");
    if (gj) {
        if ((e = json_to_mpz(jg, gj)))
            goto fail;
        mpz_sub_ui(jg, jg, 1);
        if (mpz_cmp(jg, jn) != 0) { /* only g = n + 1 (phe's choice and ours) */
            e = PPML_ENOTSUP;
            goto fail;
        }
    }
    if (pk) {
        if (mpz_cmp(jn, pk->n) != 0) {
            e = PPML_EMISMATCH;
            goto fail;
        }
    } else {
        if ((e = ppml_paillier_pk_from_n(&own, jn)))
            goto fail;
        pk = own;
    }
    n = json_array_size(vals);
    v = malloc((n ? n : 1) * sizeof *v);
    ex = malloc((n ? n : 1) * sizeof *ex);
    if (!v || !ex) {
        e = PPML_ENOMEM;
        goto fail;
    }
    for (done = 0; done < n; done++) {
        const json_t *pair = json_array_get(vals, done);
        mpz_init(v[done]);
        e = PPML_EFORMAT;
        if (!json_is_array(pair) || json_array_size(pair) != 2 ||
            !json_is_integer(json_array_get(pair, 1))) {
            done++;
            goto fail;
        }
        json_int_t x = json_integer_value(json_array_get(pair, 1));
        if (x > MAX_EXPONENT || x < -MAX_EXPONENT) {
            e = PPML_ERANGE;
            done++;
            goto fail;
        }
        ex[done] = (int)x;
        if ((e = json_to_mpz(v[done], json_array_get(pair, 0))) ||
            (e = ppml_paillier_ct_check(pk, v[done]))) {
            done++;
            goto fail;
        }
    }
    *cts = v;
    *exponents = ex;
    *count = n;
    if (own)
        *pk_out = own;
    mpz_clears(jn, jg, NULL);
    json_decref(root);
    return PPML_OK;
fail:
    ppml_paillier_ctvec_free(v, done);
    free(ex);
    ppml_paillier_pk_free(own);
    mpz_clears(jn, jg, NULL);
    json_decref(root);
    return e;
}
