/* Building blocks B2-B5, truncation and key conversion: each equals its plaintext
 * computation on random vectors with negative, zero and boundary values; blinding is fresh
 * per call; what CCS receives lies in the documented ranges whatever the input (a recording
 * channel wrapper keeps every frame CCS receives, and the test decrypts them). */
#include "test.h"
#include "test_tcp.h"

#include "crypto/mb/mb.h"
#include "crypto/paillier/paillier_internal.h"
#include "proto/proto_internal.h"

#include "ppml/channel.h"
#include "ppml/fixed.h"
#include "ppml/paillier.h"
#include "ppml/proto.h"
#include "ppml/serial.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define L 32 /* value bits used by most tests: |v| < 2^32 */

static ppml_paillier_sk *sk;
static const ppml_paillier_pk *pk;

/* ---- recording channel: forwards to an inner channel, keeps what it receives ---- */
#define REC_MAX 64
typedef struct rec {
    ppml_channel *inner;
    uint8_t *frames[REC_MAX];
    size_t lens[REC_MAX];
    size_t count;
} rec;

static int rec_send(void *impl, const uint8_t *frame, size_t len)
{
    rec *r = impl;
    return ppml_channel_send_raw(r->inner, frame, len);
}

static int rec_recv(void *impl, uint8_t **frame, size_t *len, int timeout_ms)
{
    rec *r = impl;
    uint16_t t;
    uint8_t *p;
    size_t n;
    int rc = ppml_channel_recv(r->inner, &t, &p, &n, timeout_ms);
    if (rc != PPML_OK)
        return rc;
    uint8_t *f = malloc(n + 6);
    f[0] = (uint8_t)t;
    f[1] = (uint8_t)(t >> 8);
    for (int i = 0; i < 4; i++)
        f[2 + i] = (uint8_t)(n >> (8 * i));
    if (n)
        memcpy(f + 6, p, n);
    free(p);
    if (r->count < REC_MAX) {
        r->frames[r->count] = malloc(n + 6);
        memcpy(r->frames[r->count], f, n + 6);
        r->lens[r->count++] = n + 6;
    }
    *frame = f;
    *len = n + 6;
    return PPML_OK;
}

static void rec_close(void *impl)
{
    rec *r = impl;
    ppml_channel_free(r->inner);
    for (size_t i = 0; i < r->count; i++)
        free(r->frames[i]);
    free(r);
}

static const ppml_channel_ops rec_ops = {rec_send, rec_recv, rec_close};

static void rec_reset(rec *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->frames[i]);
    r->count = 0;
}

/* ---- CCS thread ---- */
typedef struct ccs_arg {
    ppml_channel *ch;
    unsigned threads;
    int rc;
} ccs_arg;

static void *ccs_thread(void *p)
{
    ccs_arg *a = p;
    ppml_proto_opts o = {0, a->threads};
    ppml_proto_ccs_keys keys = {0};
    keys.training = sk;
    keys.allow_sign_reveal = 1; /* this CCS opts in to B5's clear-bit variant */
    a->rc = ppml_proto_ccs_serve_keys(a->ch, &keys, &o, 60000);
    return NULL;
}

/* ---- helpers ---- */
static mpz_t *vec_new(size_t n)
{
    mpz_t *v = malloc((n ? n : 1) * sizeof(mpz_t));
    for (size_t i = 0; i < n; i++)
        mpz_init(v[i]);
    return v;
}
static void vec_free(mpz_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mpz_clear(v[i]);
    free(v);
}

/* Random signed values in (-2^bits, 2^bits) with zeros and the boundaries mixed in. */
static void rand_vals(int64_t *v, size_t n, unsigned bits)
{
    int64_t lim = ((int64_t)1 << bits) - 1;
    for (size_t i = 0; i < n; i++) {
        switch (i % 7) {
        case 0: v[i] = 0; break;
        case 1: v[i] = lim; break;
        case 2: v[i] = -lim; break;
        case 3: v[i] = -1; break;
        default: v[i] = (int64_t)ppml_rand_below(2 * (uint64_t)lim + 1) - lim; break;
        }
    }
    if (n > 4) { /* shuffle a little so boundaries meet random partners */
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)ppml_rand_below(i + 1);
            int64_t t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
    }
}

static void enc_vals(mpz_t *c, const int64_t *v, size_t n, const ppml_paillier_pk *key)
{
    for (size_t i = 0; i < n; i++)
        CHECK_OK(ppml_paillier_encrypt_i64(key, c[i], v[i]));
}

/* Centred decryption to an mpz. */
static void dec_centred(mpz_t out, const mpz_t c, const ppml_paillier_sk *key)
{
    mpz_t m;
    mpz_init(m);
    CHECK_OK(ppml_paillier_decrypt(key, m, c));
    ppml_fixed_centre(out, m, ppml_paillier_pk_n(ppml_paillier_sk_pk(key)));
    mpz_clear(m);
}

/* ---- view checks: decrypt what CCS received and check the slot ranges ---- */

/* Columns of the matrix last kept at CCS (a CACHED_MUL request by rows does not repeat it). */
static size_t view_cached_cols;

/* Parses one recorded request; returns the slot values (decrypted with sk) and the header. */
static int view_slots(const uint8_t *frame, size_t flen, uint16_t *type, mpz_t **slots, size_t *count,
                      unsigned *slot_bits, unsigned *offset_bits)
{
    uint16_t t;
    const uint8_t *p;
    size_t plen;
    if (ppml_frame_parse(frame, flen, 1u << 30, &t, &p, &plen) != PPML_OK)
        return -1;
    ppml_reader r;
    ppml_reader_init(&r, p, plen);
    uint32_t n = 0, m = 0, d = 0, pklen = 0;
    uint16_t slot = 0, aux = 0;
    uint8_t shared = 0;
    size_t cnt = 0;
    *offset_bits = 0;
    switch (t) {
    case PPML_MSG_MUL:
        if (ppml_read_u32(&r, &n) || ppml_read_u16(&r, &slot))
            return -1;
        cnt = 2 * (size_t)n;
        break;
    case PPML_MSG_SCALAR_VEC:
        if (ppml_read_u32(&r, &n) || ppml_read_u16(&r, &slot))
            return -1;
        cnt = (size_t)n + 1;
        break;
    case PPML_MSG_INNER:
        if (ppml_read_u32(&r, &m) || ppml_read_u32(&r, &d) || ppml_read_u8(&r, &shared) ||
            ppml_read_u16(&r, &slot))
            return -1;
        cnt = (size_t)m * d + (shared ? 1 : (size_t)m) * d;
        break;
    case PPML_MSG_SIGN:
    case PPML_MSG_SIGN_REVEAL:
        if (ppml_read_u32(&r, &n) || ppml_read_u16(&r, &slot) || ppml_read_u16(&r, &aux))
            return -1;
        cnt = n;
        *offset_bits = aux;
        break;
    case PPML_MSG_TRUNCATE:
        if (ppml_read_u32(&r, &n) || ppml_read_u16(&r, &slot) || ppml_read_u16(&r, &aux))
            return -1;
        cnt = n;
        break;
    case PPML_MSG_CACHE_PUT: {
        uint32_t id, rows, cols;
        if (ppml_read_u32(&r, &id) || ppml_read_u32(&r, &rows) || ppml_read_u32(&r, &cols) ||
            ppml_read_u16(&r, &slot))
            return -1;
        cnt = (size_t)rows * cols;
        view_cached_cols = cols;
        break;
    }
    case PPML_MSG_CACHED_MUL: {
        uint32_t id, lo, rcount, kb;
        uint8_t by_cols;
        if (ppml_read_u32(&r, &id) || ppml_read_u8(&r, &by_cols) || ppml_read_u32(&r, &lo) ||
            ppml_read_u32(&r, &rcount) || ppml_read_u32(&r, &kb) || ppml_read_u16(&r, &slot))
            return -1;
        cnt = (size_t)kb * (by_cols ? rcount : view_cached_cols);
        break;
    }
    case PPML_MSG_CONVERT: {
        const uint8_t *skip;
        if (ppml_read_u32(&r, &n) || ppml_read_u16(&r, &slot) || ppml_read_u32(&r, &pklen) ||
            ppml_read_view(&r, &skip, pklen))
            return -1;
        cnt = n;
        break;
    }
    default:
        return -1;
    }
    size_t cap = ppml_paillier_pack_capacity(pk, slot);
    size_t groups = cnt / cap + (cnt % cap != 0);
    mpz_t *cts = vec_new(groups), *out = vec_new(cnt), m2;
    mpz_init(m2);
    int bad = ppml_msg_read_mpzvec_exact(&r, cts, groups, ppml_paillier_pk_n2(pk)) != PPML_OK;
    for (size_t g = 0; g < groups && !bad; g++) {
        size_t k = cnt - g * cap < cap ? cnt - g * cap : cap;
        bad = ppml_paillier_decrypt(sk, m2, cts[g]) != PPML_OK ||
              mpz_sizeinbase(m2, 2) > k * slot + (mpz_sgn(m2) == 0) ||
              ppml_paillier_unpack(out + g * cap, k, m2, slot) != PPML_OK;
    }
    mpz_clear(m2);
    vec_free(cts, groups);
    if (bad) {
        vec_free(out, cnt);
        return -1;
    }
    *type = t;
    *slots = out;
    *count = cnt;
    *slot_bits = slot;
    return 0;
}

/* Every recorded request: slots below 2^(l+kappa+1) (additive) or in (0, 2^(l+kappa+2))
 * minus the point 2^o (sign); sign bits counted into *pos / *tot. */
static void check_views(rec *r, unsigned l, unsigned kappa, size_t *pos, size_t *tot)
{
    for (size_t f = 0; f < r->count; f++) {
        uint16_t t;
        mpz_t *s;
        size_t cnt;
        unsigned slot, ob;
        if (view_slots(r->frames[f], r->lens[f], &t, &s, &cnt, &slot, &ob) != 0) {
            uint16_t ty = (uint16_t)(r->frames[f][0] | r->frames[f][1] << 8);
            if (ty == PPML_MSG_END || ty == PPML_MSG_CACHE_DROP) /* no values */
                continue;
            CHECK(0 && "unparsable CCS view");
            continue;
        }
        if (t == PPML_MSG_SIGN || t == PPML_MSG_SIGN_REVEAL) {
            CHECK(slot == l + kappa + 2 && ob == l + kappa + 1);
            mpz_t o;
            mpz_init_set_ui(o, 1);
            mpz_mul_2exp(o, o, ob);
            for (size_t i = 0; i < cnt; i++) {
                CHECK(mpz_sgn(s[i]) > 0 && mpz_sizeinbase(s[i], 2) <= l + kappa + 2);
                CHECK(mpz_cmp(s[i], o) != 0);
                if (pos && mpz_cmp(s[i], o) > 0)
                    (*pos)++;
                if (tot)
                    (*tot)++;
            }
            mpz_clear(o);
        } else {
            CHECK(slot == l + kappa + 1);
            for (size_t i = 0; i < cnt; i++)
                CHECK(mpz_sgn(s[i]) >= 0 && mpz_sizeinbase(s[i], 2) <= l + kappa + 1);
        }
        vec_free(s, cnt);
    }
}

/* ---- tests ---- */
static ppml_proto_css *css;
static rec *recorder;

static void test_mul(size_t n)
{
    int64_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    rand_vals(a, n, L);
    rand_vals(b, n, L);
    mpz_t *ca = vec_new(n), *cb = vec_new(n), *co = vec_new(n), want, got;
    mpz_inits(want, got, NULL);
    enc_vals(ca, a, n, pk);
    enc_vals(cb, b, n, pk);
    CHECK_OK(ppml_proto_mul(css, co, (const mpz_t *)ca, (const mpz_t *)cb, n, L));
    for (size_t i = 0; i < n; i++) {
        mpz_set_si(want, a[i]);
        mpz_mul_si(want, want, b[i]);
        dec_centred(got, co[i], sk);
        CHECK(mpz_cmp(want, got) == 0);
    }
    vec_free(ca, n);
    vec_free(cb, n);
    vec_free(co, n);
    mpz_clears(want, got, NULL);
    free(a);
    free(b);
}

static void test_inner(size_t m, size_t d, int shared)
{
    size_t my = shared ? 1 : m;
    int64_t *x = malloc(m * d * sizeof *x), *y = malloc(my * d * sizeof *y);
    rand_vals(x, m * d, L);
    rand_vals(y, my * d, L);
    mpz_t *cx = vec_new(m * d), *cy = vec_new(my * d), *co = vec_new(m), want, got, t;
    mpz_inits(want, got, t, NULL);
    enc_vals(cx, x, m * d, pk);
    enc_vals(cy, y, my * d, pk);
    CHECK_OK(ppml_proto_inner(css, co, (const mpz_t *)cx, (const mpz_t *)cy, m, d, shared, L));
    for (size_t i = 0; i < m; i++) {
        mpz_set_ui(want, 0);
        for (size_t k = 0; k < d; k++) {
            mpz_set_si(t, x[i * d + k]);
            mpz_mul_si(t, t, y[(shared ? 0 : i) * d + k]);
            mpz_add(want, want, t);
        }
        dec_centred(got, co[i], sk);
        CHECK(mpz_cmp(want, got) == 0);
    }
    vec_free(cx, m * d);
    vec_free(cy, my * d);
    vec_free(co, m);
    mpz_clears(want, got, t, NULL);
    free(x);
    free(y);
}

/* The multi-exponentiation behind every unblinding equals the product of separate
 * exponentiations, over random and edge exponents and per-term bit bounds. */
static void test_multiexp(void)
{
    mpz_srcptr n2 = ppml_paillier_pk_n2(pk);
    enum { K = 9 };
    mpz_t b[K], e[K], want, got, t;
    mpz_srcptr bp[K], ep[K];
    unsigned bits[K];
    mpz_inits(want, got, t, NULL);
    for (int j = 0; j < K; j++) {
        mpz_inits(b[j], e[j], NULL);
        bp[j] = b[j];
        ep[j] = e[j];
    }
    for (int trial = 0; trial < 12; trial++) {
        mpz_set_ui(want, 1);
        for (int j = 0; j < K; j++) {
            bits[j] = (unsigned)((trial * 7 + j * 13) % 90);
            ppml_rand_mpz_bits(b[j], 2 * ppml_paillier_pk_bits(pk) + 8); /* reduced inside */
            switch ((trial + j) % 4) {
            case 0: mpz_set_ui(e[j], 0); break;
            case 1: /* all ones: 2^bits - 1 */
                mpz_set_ui(e[j], 1);
                mpz_mul_2exp(e[j], e[j], bits[j]);
                mpz_sub_ui(e[j], e[j], 1);
                break;
            default: ppml_rand_mpz_bits(e[j], bits[j]); break;
            }
            mpz_powm(t, b[j], e[j], n2);
            mpz_mul(want, want, t);
            mpz_mod(want, want, n2);
        }
        size_t k = trial == 0 ? 0 : trial == 1 ? 1 : K;
        if (k < K) {
            mpz_set_ui(want, 1);
            for (size_t j = 0; j < k; j++) {
                mpz_powm(t, b[j], e[j], n2);
                mpz_mul(want, want, t);
                mpz_mod(want, want, n2);
            }
        }
        CHECK_OK(ppmli_multiexp(got, bp, ep, bits, k, n2));
        CHECK(mpz_cmp(want, got) == 0);
        /* shared tables with a different window per term (1..8) */
        ppmli_mexp_tab tabs[K];
        const ppmli_mexp_tab *tp[K];
        for (size_t j = 0; j < k; j++) {
            CHECK_OK(ppmli_mexp_tab_build(&tabs[j], b[j], (unsigned)(1 + (j + (size_t)trial) % 8), n2));
            tp[j] = &tabs[j];
        }
        mpz_set_ui(got, 0);
        CHECK_OK(ppmli_multiexp_tabs(got, tp, ep, bits, k, n2));
        CHECK(mpz_cmp(want, got) == 0);
        ppmli_comb_force_generic(1); /* the portable table selection gives the same result */
        mpz_set_ui(got, 0);
        CHECK_OK(ppmli_multiexp_tabs(got, tp, ep, bits, k, n2));
        CHECK(mpz_cmp(want, got) == 0);
        ppmli_comb_force_generic(0);
        for (size_t j = 0; j < k; j++)
            ppmli_mexp_tab_clear(&tabs[j]);
    }
    /* an exponent above its bound is refused */
    mpz_set_ui(e[0], 1);
    mpz_mul_2exp(e[0], e[0], 10);
    bits[0] = 10;
    CHECK_ERR(ppmli_multiexp(got, bp, ep, bits, 1, n2), PPML_ERANGE);
    for (int j = 0; j < K; j++)
        mpz_clears(b[j], e[j], NULL);
    mpz_clears(want, got, t, NULL);
}

/* A matrix CCS keeps blinded, multiplied by rows and by columns over row ranges, against
 * the plaintext products; the same request twice shows CCS fresh blinding. */
static void test_cached(size_t rows, size_t cols, size_t kb)
{
    int64_t *a = malloc(rows * cols * sizeof *a), *b = malloc(kb * (rows > cols ? rows : cols) * sizeof *b);
    rand_vals(a, rows * cols, L);
    mpz_t *ca = vec_new(rows * cols), *cb = vec_new(kb * (rows > cols ? rows : cols));
    mpz_t *co = vec_new(kb * (rows > cols ? rows : cols)), want, got, t;
    mpz_inits(want, got, t, NULL);
    enc_vals(ca, a, rows * cols, pk);
    ppml_proto_cached *h = NULL;
    CHECK_OK(ppml_proto_cache_matrix(css, &h, (const mpz_t *)ca, rows, cols, L));
    if (!h)
        goto done;
    CHECK(ppml_proto_cached_rows(h) == rows && ppml_proto_cached_cols(h) == cols);
    view_cached_cols = cols;
    size_t ranges[3][2] = {{0, rows}, {rows / 2, rows - rows / 2}, {rows - 1, 1}};
    for (int q = 0; q < 3; q++) {
        size_t lo = ranges[q][0], count = ranges[q][1];
        /* rows: b is kb x cols */
        rand_vals(b, kb * cols, L);
        enc_vals(cb, b, kb * cols, pk);
        CHECK_OK(ppml_proto_cached_mul_rows(css, co, h, lo, count, (const mpz_t *)cb, kb, L));
        for (size_t i = 0; i < count; i++)
            for (size_t k = 0; k < kb; k++) {
                mpz_set_ui(want, 0);
                for (size_t c = 0; c < cols; c++) {
                    mpz_set_si(t, a[(lo + i) * cols + c]);
                    mpz_mul_si(t, t, b[k * cols + c]);
                    mpz_add(want, want, t);
                }
                dec_centred(got, co[i * kb + k], sk);
                CHECK(mpz_cmp(want, got) == 0);
            }
        /* cols: b is kb x count */
        rand_vals(b, kb * count, L);
        enc_vals(cb, b, kb * count, pk);
        CHECK_OK(ppml_proto_cached_mul_cols(css, co, h, lo, count, (const mpz_t *)cb, kb, L));
        for (size_t k = 0; k < kb; k++)
            for (size_t c = 0; c < cols; c++) {
                mpz_set_ui(want, 0);
                for (size_t i = 0; i < count; i++) {
                    mpz_set_si(t, a[(lo + i) * cols + c]);
                    mpz_mul_si(t, t, b[k * count + i]);
                    mpz_add(want, want, t);
                }
                dec_centred(got, co[k * cols + c], sk);
                CHECK(mpz_cmp(want, got) == 0);
            }
    }
    /* out of range */
    CHECK_ERR(ppml_proto_cached_mul_rows(css, co, h, rows, 1, (const mpz_t *)cb, kb, L), PPML_ERANGE);
    CHECK_ERR(ppml_proto_cached_mul_cols(css, co, h, 1, rows, (const mpz_t *)cb, kb, L), PPML_ERANGE);
    /* fresh blinding: the same product twice gives CCS unrelated views */
    rec_reset(recorder);
    rand_vals(b, kb * cols, L);
    enc_vals(cb, b, kb * cols, pk);
    CHECK_OK(ppml_proto_cached_mul_rows(css, co, h, 0, 1, (const mpz_t *)cb, kb, L));
    CHECK_OK(ppml_proto_cached_mul_rows(css, co, h, 0, 1, (const mpz_t *)cb, kb, L));
    CHECK(recorder->count == 2);
    if (recorder->count == 2) {
        uint16_t t1, t2;
        mpz_t *s1 = NULL, *s2 = NULL;
        size_t c1 = 0, c2 = 0;
        unsigned w1, w2, o1, o2;
        CHECK(view_slots(recorder->frames[0], recorder->lens[0], &t1, &s1, &c1, &w1, &o1) == 0);
        CHECK(view_slots(recorder->frames[1], recorder->lens[1], &t2, &s2, &c2, &w2, &o2) == 0);
        size_t same = 0;
        for (size_t i = 0; i < c1 && i < c2; i++)
            same += mpz_cmp(s1[i], s2[i]) == 0;
        CHECK(c1 == c2 && c1 == kb * cols && same == 0);
        if (s1)
            vec_free(s1, c1);
        if (s2)
            vec_free(s2, c2);
    }
    CHECK_OK(ppml_proto_cached_release(css, h));
done:
    vec_free(ca, rows * cols);
    vec_free(cb, kb * (rows > cols ? rows : cols));
    vec_free(co, kb * (rows > cols ? rows : cols));
    mpz_clears(want, got, t, NULL);
    free(a);
    free(b);
}

/* CCS keeps at most 8 matrices per session: a ninth is refused (and CCS keeps serving);
 * released matrices free their places, so a context can cache again and again. */
static void test_cache_limit(void)
{
    mpz_t *ca = vec_new(2);
    int64_t a[2] = {3, -4};
    enc_vals(ca, a, 2, pk);
    ppml_proto_cached *h[9] = {0};
    for (int i = 0; i < 8; i++)
        CHECK_OK(ppml_proto_cache_matrix(css, &h[i], (const mpz_t *)ca, 1, 2, L));
    CHECK_ERR(ppml_proto_cache_matrix(css, &h[8], (const mpz_t *)ca, 1, 2, L), PPML_EPROTO);
    CHECK(h[8] == NULL);
    for (int i = 0; i < 8; i++)
        CHECK_OK(ppml_proto_cached_release(css, h[i]));
    for (int round = 0; round < 12; round++) { /* more than 8 in a row, each released */
        ppml_proto_cached *t = NULL;
        CHECK_OK(ppml_proto_cache_matrix(css, &t, (const mpz_t *)ca, 1, 2, L));
        mpz_t out;
        mpz_init(out);
        if (t) {
            CHECK_OK(ppml_proto_cached_mul_rows(css, &out, t, 0, 1, (const mpz_t *)ca, 1, L));
            mpz_t got;
            mpz_init(got);
            dec_centred(got, out, sk);
            CHECK(mpz_cmp_si(got, 3 * 3 + 4 * 4) == 0);
            mpz_clear(got);
        }
        mpz_clear(out);
        CHECK_OK(ppml_proto_cached_release(css, t));
    }
    vec_free(ca, 2);
}

static void test_scalar_vec(size_t n, int64_t s)
{
    int64_t *v = malloc(n * sizeof *v);
    rand_vals(v, n, L);
    mpz_t cs, want, got, *cv = vec_new(n), *co = vec_new(n);
    mpz_inits(cs, want, got, NULL);
    CHECK_OK(ppml_paillier_encrypt_i64(pk, cs, s));
    enc_vals(cv, v, n, pk);
    CHECK_OK(ppml_proto_scalar_vec(css, co, cs, (const mpz_t *)cv, n, L));
    for (size_t i = 0; i < n; i++) {
        mpz_set_si(want, s);
        mpz_mul_si(want, want, v[i]);
        dec_centred(got, co[i], sk);
        CHECK(mpz_cmp(want, got) == 0);
    }
    vec_free(cv, n);
    vec_free(co, n);
    mpz_clears(cs, want, got, NULL);
    free(v);
}

/* reveal: the CCS allows B5's clear-bit variant (a CCS served with the plain keys refuses it
 * with PPML_ENOTSUP and goes on serving) */
static void test_sign(size_t n, int reveal)
{
    int64_t *x = malloc(n * sizeof *x);
    rand_vals(x, n, L);
    mpz_t *cx = vec_new(n), *co = vec_new(n);
    enc_vals(cx, x, n, pk);
    CHECK_OK(ppml_proto_sign(css, co, (const mpz_t *)cx, n, L));
    for (size_t i = 0; i < n; i++) {
        int64_t b = -1;
        CHECK_OK(ppml_paillier_decrypt_i64(sk, &b, co[i]));
        CHECK(b == (x[i] >= 0));
    }
    uint8_t *bits = calloc(n, 1);
    if (reveal) {
        CHECK_OK(ppml_proto_sign_revealed_to_css(css, bits, (const mpz_t *)cx, n, L));
        for (size_t i = 0; i < n; i++)
            CHECK(bits[i] == (x[i] >= 0));
    } else {
        CHECK_ERR(ppml_proto_sign_revealed_to_css(css, bits, (const mpz_t *)cx, n, L), PPML_ENOTSUP);
    }
    free(bits);
    vec_free(cx, n);
    vec_free(co, n);
    free(x);
}

static void test_truncate(size_t n, unsigned f)
{
    int64_t *v = malloc(n * sizeof *v);
    rand_vals(v, n, L);
    mpz_t *cv = vec_new(n), *co = vec_new(n), fl, got;
    mpz_inits(fl, got, NULL);
    enc_vals(cv, v, n, pk);
    CHECK_OK(ppml_proto_truncate(css, co, (const mpz_t *)cv, n, L, f));
    for (size_t i = 0; i < n; i++) {
        mpz_set_si(fl, v[i]);
        mpz_fdiv_q_2exp(fl, fl, f); /* floor, also for negatives */
        dec_centred(got, co[i], sk);
        mpz_sub(got, got, fl);
        CHECK(mpz_cmp_ui(got, 0) == 0 || mpz_cmp_ui(got, 1) == 0);
    }
    vec_free(cv, n);
    vec_free(co, n);
    mpz_clears(fl, got, NULL);
    free(v);
}

static void test_convert(size_t n, ppml_paillier_sk *sk2)
{
    const ppml_paillier_pk *pk2 = ppml_paillier_sk_pk(sk2);
    int64_t *v = malloc(n * sizeof *v);
    rand_vals(v, n, L);
    mpz_t *cv = vec_new(n), *co = vec_new(n), got;
    mpz_init(got);
    enc_vals(cv, v, n, pk);
    CHECK_OK(ppml_proto_convert(css, co, pk2, (const mpz_t *)cv, n, L));
    for (size_t i = 0; i < n; i++) {
        dec_centred(got, co[i], sk2);
        CHECK(mpz_cmp_si(got, v[i]) == 0);
    }
    vec_free(cv, n);
    vec_free(co, n);
    mpz_clear(got);
    free(v);
}

/* Same inputs twice: CCS's two views differ (fresh blinding and fresh randomness). */
static void test_fresh(void)
{
    size_t n = 4;
    int64_t a[4] = {5, -5, 0, 1}, b[4] = {7, 7, -3, 0};
    mpz_t *ca = vec_new(n), *cb = vec_new(n), *co = vec_new(n);
    enc_vals(ca, a, n, pk);
    enc_vals(cb, b, n, pk);
    rec_reset(recorder);
    CHECK_OK(ppml_proto_mul(css, co, (const mpz_t *)ca, (const mpz_t *)cb, n, L));
    CHECK_OK(ppml_proto_mul(css, co, (const mpz_t *)ca, (const mpz_t *)cb, n, L));
    CHECK_OK(ppml_proto_sign(css, co, (const mpz_t *)ca, n, L));
    CHECK_OK(ppml_proto_sign(css, co, (const mpz_t *)ca, n, L));
    CHECK(recorder->count == 4);
    if (recorder->count == 4) {
        for (int k = 0; k < 4; k += 2) {
            CHECK(recorder->lens[k] != recorder->lens[k + 1] ||
                  memcmp(recorder->frames[k], recorder->frames[k + 1], recorder->lens[k]) != 0);
            uint16_t t1, t2;
            mpz_t *s1, *s2;
            size_t c1, c2;
            unsigned w1, w2, o1, o2;
            CHECK(view_slots(recorder->frames[k], recorder->lens[k], &t1, &s1, &c1, &w1, &o1) == 0);
            CHECK(view_slots(recorder->frames[k + 1], recorder->lens[k + 1], &t2, &s2, &c2, &w2, &o2) == 0);
            size_t same = 0;
            for (size_t i = 0; i < c1 && i < c2; i++)
                same += mpz_cmp(s1[i], s2[i]) == 0;
            CHECK(c1 == c2 && same == 0);
            vec_free(s1, c1);
            vec_free(s2, c2);
        }
    }
    vec_free(ca, n);
    vec_free(cb, n);
    vec_free(co, n);
}

/* Extreme inputs (all at the bound, all zero) still give views in range; the signs CCS sees
 * for all-positive inputs are fair coins. */
static void test_views(void)
{
    size_t n = test_sanitized() ? 120 : 300;
    int64_t *x = malloc(n * sizeof *x);
    mpz_t *cx = vec_new(n), *co = vec_new(n);
    int64_t lim = ((int64_t)1 << L) - 1;
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < n; i++)
            x[i] = pass == 0 ? lim : pass == 1 ? -lim : 0;
        enc_vals(cx, x, n, pk);
        rec_reset(recorder);
        CHECK_OK(ppml_proto_mul(css, co, (const mpz_t *)cx, (const mpz_t *)cx, n / 4, L));
        CHECK_OK(ppml_proto_truncate(css, co, (const mpz_t *)cx, n / 4, L, 16));
        CHECK_OK(ppml_proto_inner(css, co, (const mpz_t *)cx, (const mpz_t *)cx, 3, n / 8, 1, L));
        size_t pos = 0, tot = 0;
        CHECK_OK(ppml_proto_sign(css, co, (const mpz_t *)cx, n, L));
        check_views(recorder, L, PPML_PROTO_KAPPA, &pos, &tot);
        CHECK(tot == n);
        /* fair coin: |2 pos - tot| below 7 sigma (sigma = sqrt(300)) */
        CHECK(pos * 2 + 5 * 25 > tot && pos * 2 < tot + 5 * 25);
    }
    vec_free(cx, n);
    vec_free(co, n);
    free(x);
}

/* CCS refuses malformed requests with an error reply and keeps serving. */
static void test_malformed(ppml_channel *a)
{
    static const uint8_t junk[] = {1, 0, 0, 0, 50, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4};
    uint16_t types[] = {PPML_MSG_MUL, PPML_MSG_INNER, PPML_MSG_SIGN, PPML_MSG_TRUNCATE,
                        PPML_MSG_CONVERT, PPML_MSG_SCALAR_VEC, PPML_MSG_CACHE_PUT, PPML_MSG_CACHED_MUL,
                        PPML_MSG_CACHE_DROP,
                        0x0777};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        for (size_t len = 0; len <= sizeof junk; len += 6) {
            CHECK_OK(ppml_channel_send(a, types[k], junk, len));
            uint16_t t;
            uint8_t *p = NULL;
            size_t n;
            CHECK_OK(ppml_channel_recv(a, &t, &p, &n, 10000));
            CHECK(t == PPML_MSG_ERROR);
            free(p);
        }
    }
    /* a packed ciphertext whose plaintext overflows the declared slots */
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_u32(&w, 1);
    ppml_write_u16(&w, L + 41);
    mpz_t c, m;
    mpz_inits(c, m, NULL);
    mpz_set_ui(m, 1);
    mpz_mul_2exp(m, m, 3 * (L + 41)); /* beyond 2 slots */
    CHECK_OK(ppml_paillier_encrypt(pk, c, m));
    ppml_msg_write_mpzvec(&w, (const mpz_t *)&c, 1);
    CHECK_OK(ppml_channel_send(a, PPML_MSG_MUL, w.data, w.len));
    uint16_t t;
    uint8_t *p = NULL;
    size_t n;
    CHECK_OK(ppml_channel_recv(a, &t, &p, &n, 10000));
    CHECK(t == PPML_MSG_ERROR);
    free(p);
    ppml_writer_clear(&w);
    mpz_clears(c, m, NULL);
    /* a product with a matrix CCS does not keep */
    ppml_writer_init(&w);
    ppml_write_u32(&w, 0xABCDu), ppml_write_u8(&w, 0), ppml_write_u32(&w, 0), ppml_write_u32(&w, 1);
    ppml_write_u32(&w, 1), ppml_write_u16(&w, L + 41), ppml_write_u32(&w, 0);
    CHECK_OK(ppml_channel_send(a, PPML_MSG_CACHED_MUL, w.data, w.len));
    CHECK_OK(ppml_channel_recv(a, &t, &p, &n, 10000));
    CHECK(t == PPML_MSG_ERROR);
    free(p);
    ppml_writer_clear(&w);
    /* an oversized count */
    ppml_writer_init(&w);
    ppml_write_u32(&w, 0xFFFFFFF0u);
    ppml_write_u16(&w, L + 41);
    ppml_write_u32(&w, 0);
    CHECK_OK(ppml_channel_send(a, PPML_MSG_MUL, w.data, w.len));
    CHECK_OK(ppml_channel_recv(a, &t, &p, &n, 10000));
    CHECK(t == PPML_MSG_ERROR);
    free(p);
    ppml_writer_clear(&w);
}

/* CSS against a CCS that answers with the wrong type or garbage: errors, no crash. */
static void *bad_ccs(void *p)
{
    ppml_channel *ch = p;
    for (int k = 0; k < 2; k++) {
        uint16_t t;
        uint8_t *q = NULL;
        size_t n;
        if (ppml_channel_recv(ch, &t, &q, &n, 10000) != PPML_OK)
            return NULL;
        free(q);
        if (k == 0)
            (void)!ppml_channel_send(ch, PPML_MSG_SIGN | PPML_MSG_REPLY, NULL, 0); /* wrong type */
        else
            (void)!ppml_channel_send(ch, t | PPML_MSG_REPLY, (const uint8_t *)"\x05\0\0\0\x01", 5);
    }
    return NULL;
}

static void test_bad_ccs(void)
{
    ppml_channel *a, *b;
    CHECK_OK(ppml_channel_pair_inproc(&a, &b, 0, 0));
    pthread_t th;
    pthread_create(&th, NULL, bad_ccs, b);
    ppml_proto_css *c2;
    CHECK_OK(ppml_proto_css_new(&c2, a, pk, NULL));
    mpz_t *x = vec_new(2), *o = vec_new(2);
    int64_t v[2] = {1, -1};
    enc_vals(x, v, 2, pk);
    CHECK_ERR(ppml_proto_mul(c2, o, (const mpz_t *)x, (const mpz_t *)x, 2, L), PPML_EPROTO);
    CHECK_ERR(ppml_proto_mul(c2, o, (const mpz_t *)x, (const mpz_t *)x, 2, L), PPML_EPROTO);
    pthread_join(th, NULL);
    ppml_channel_free(b);
    CHECK_ERR(ppml_proto_mul(c2, o, (const mpz_t *)x, (const mpz_t *)x, 2, L), PPML_ENET);
    ppml_proto_css_free(c2);
    vec_free(x, 2);
    vec_free(o, 2);
    ppml_channel_free(a);
}

static int serve_blocks_ccs(ppml_channel *session, void *ctx)
{
    (void)ctx;
    return ppml_proto_ccs_serve(session, sk, NULL, 20000);
}

/* The blocks over TCP, with CCS in another process. */
static void test_tcp(void)
{
    char pub[41], sec[41], ep[TEST_EP_LEN], err[PPML_ERR_LEN];
    CHECK_OK(ppml_channel_curve_keypair(pub, sec));
    /* CCS in a child process, on a port the system picks */
    pid_t pid = tcp_server_fork(ep, sec, serve_blocks_ccs, NULL);
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    ppml_channel_tcp_opts o = {.endpoint = ep, .curve = 1, .server_public = pub};
    ppml_channel *ch = NULL;
    CHECK_OK(ppml_channel_tcp_connect(&ch, &o, err));
    ppml_proto_css *c2 = NULL;
    CHECK_OK(ppml_proto_css_new(&c2, ch, pk, NULL));
    ppml_proto_css *saved = css;
    css = c2;
    test_mul(9);
    test_sign(9, 0); /* a CCS with the plain keys: no clear-bit oracle */
    test_mul(9);
    css = saved;
    CHECK_OK(ppml_proto_css_finish(c2));
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ppml_proto_css_free(c2);
    ppml_channel_free(ch);
}

int main(void)
{
    test_init();
    signal(SIGPIPE, SIG_IGN);
    test_seed(7);
    ppml_paillier_allow_insecure_test_keys(1);
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&sk, 1024));
    pk = ppml_paillier_sk_pk(sk);
    ppml_paillier_sk *sk2 = NULL;
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&sk2, 768));

    /* passes: one thread, two threads, and two threads with the multi-buffer arithmetic
     * forced onto its portable kernel (a fresh key, so its tables use that kernel): the
     * batched paths run on any machine */
    for (unsigned pass = 0; pass < 3; pass++) {
        unsigned threads = pass == 0 ? 1 : 2;
        int portable = pass == 2;
        ppml_paillier_sk *own = NULL, *shared_sk = sk;
        if (portable) {
            ppmli_mb_force_portable(1);
            CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&own, 1024));
            if (!own)
                break;
            sk = own; /* the helpers decrypt with the global key */
            pk = ppml_paillier_sk_pk(own);
        }
        ppml_channel *a, *b;
        CHECK_OK(ppml_channel_pair_inproc(&a, &b, 0, 0));
        recorder = calloc(1, sizeof *recorder);
        recorder->inner = b;
        ppml_channel *rb;
        CHECK_OK(ppml_channel_new(&rb, &rec_ops, recorder, 0));
        ccs_arg arg = {rb, threads, -1};
        pthread_t th;
        pthread_create(&th, NULL, ccs_thread, &arg);
        ppml_proto_opts o = {0, threads};
        CHECK_OK(ppml_proto_css_new(&css, a, pk, &o));

        size_t big = test_sanitized() ? 40 : 150;
        if (portable) {
            test_mul(big);
            test_inner(9, 6, 1);
            test_cached(9, 3, 2);
            test_sign(20, 1);
            test_convert(20, sk2);
            check_views(recorder, L, PPML_PROTO_KAPPA, NULL, NULL);
            goto finish;
        }
        test_mul(1);
        test_mul(big);
        test_inner(1, 1, 0);
        test_inner(7, 5, 0);
        test_inner(9, 6, 1);
        test_cached(1, 1, 1);
        test_cached(7, 4, 3);
        ppmli_cached_set_table_cap(1); /* no kept tables, smallest windows: the per-call path */
        test_cached(5, 3, 2);
        ppmli_cached_set_table_cap(0);
        test_cache_limit();
        test_scalar_vec(big, -((int64_t)1 << L) + 1);
        test_scalar_vec(10, 0);
        test_sign(1, 1);
        test_sign(big, 1);
        test_truncate(big, 16);
        test_truncate(20, 1);
        test_convert(20, sk2);
        check_views(recorder, L, PPML_PROTO_KAPPA, NULL, NULL);
        if (threads == 1) {
            test_multiexp();
            test_fresh();
            test_views();
            test_malformed(a);
        }
        /* argument checks */
        {
        mpz_t *x = vec_new(1);
        CHECK_ERR(ppml_proto_mul(css, x, (const mpz_t *)x, (const mpz_t *)x, 1, 0), PPML_EINVAL);
        CHECK_ERR(ppml_proto_mul(css, x, (const mpz_t *)x, (const mpz_t *)x, 1, 1000), PPML_ERANGE);
        CHECK_ERR(ppml_proto_truncate(css, x, (const mpz_t *)x, 1, 10, 10), PPML_EINVAL);
        vec_free(x, 1);
        }
    finish:
        CHECK_OK(ppml_proto_css_finish(css));
        pthread_join(th, NULL);
        CHECK_OK(arg.rc);
        ppml_proto_css_free(css);
        ppml_channel_free(rb);
        ppml_channel_free(a);
        if (portable) {
            ppmli_mb_force_portable(0);
            sk = shared_sk;
            pk = ppml_paillier_sk_pk(sk);
            ppml_paillier_sk_free(own);
        }
    }
    test_bad_ccs();
    test_tcp();
    ppml_paillier_sk_free(sk2);
    ppml_paillier_sk_free(sk);
    return test_finish("test_blocks");
}
