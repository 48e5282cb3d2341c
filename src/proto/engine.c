/* Two-server engine: CSS context, CCS serve loop, packing and reply plumbing shared by the
 * blocks, and the thread splitter.
 *
 * What each party receives here: CCS receives request frames (block parameters that are
 * public: counts, bit widths; and packed ciphertexts of blinded values, re-randomised by
 * CSS after packing so their randomness is fresh); CSS receives reply frames (ciphertexts
 * under the training key or a target key, or error codes). What the blinded values are is
 * stated in each block's file. */
#include "proto_internal.h"

#include "crypto/mb/mb.h"
#include "crypto/paillier/paillier_internal.h" /* the batched forms */
#include "ppml/mem.h"
#include "ppml/rand.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- threads ---- */

typedef struct par_job {
    int (*fn)(void *, size_t);
    void *ctx;
    size_t lo, hi;
    int rc;
} par_job;

static void *par_run(void *arg)
{
    par_job *j = arg;
    for (size_t i = j->lo; i < j->hi && j->rc == PPML_OK; i++)
        j->rc = j->fn(j->ctx, i);
    return NULL;
}

int ppmli_parallel_for(unsigned threads, size_t n, int (*fn)(void *ctx, size_t i), void *ctx)
{
    if (threads > 64)
        threads = 64;
    if (threads < 2 || n < 2) {
        for (size_t i = 0; i < n; i++) {
            int rc = fn(ctx, i);
            if (rc != PPML_OK)
                return rc;
        }
        return PPML_OK;
    }
    if ((size_t)threads > n)
        threads = (unsigned)n;
    par_job jobs[64];
    pthread_t tids[64];
    int started[64] = {0};
    for (unsigned t = 0; t < threads; t++) {
        jobs[t] = (par_job){fn, ctx, n * t / threads, n * (t + 1) / threads, PPML_OK};
        if (t > 0)
            started[t] = pthread_create(&tids[t], NULL, par_run, &jobs[t]) == 0;
    }
    /* a thread that failed to start runs here */
    for (unsigned t = 0; t < threads; t++)
        if (t == 0 || !started[t])
            par_run(&jobs[t]);
    int rc = PPML_OK;
    for (unsigned t = 0; t < threads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        if (rc == PPML_OK)
            rc = jobs[t].rc;
    }
    return rc;
}

/* ---- helpers ---- */


unsigned ppmli_additive_slot_bits(unsigned value_bits, unsigned kappa) { return value_bits + kappa + 1; }

void ppmli_draw_offsets(mpz_t *offsets, size_t n, unsigned value_bits, unsigned kappa)
{
    mpz_t shift;
    mpz_init_set_ui(shift, 1);
    mpz_mul_2exp(shift, shift, value_bits);
    for (size_t i = 0; i < n; i++) {
        ppml_rand_mpz_bits(offsets[i], value_bits + kappa);
        mpz_add(offsets[i], offsets[i], shift);
    }
    mpz_clear(shift);
}

int ppmli_check_slot_bits(const ppml_paillier_pk *pk, unsigned slot_bits)
{
    if (slot_bits < 2 || slot_bits > ppml_paillier_pk_bits(pk) - 2)
        return PPML_ERANGE;
    return ppml_paillier_pack_capacity(pk, slot_bits) >= 1 ? PPML_OK : PPML_ERANGE;
}

typedef struct unblind_job {
    const ppml_paillier_pk *pk;
    mpz_t *out;
    const mpz_t *reply;
    size_t n, k;
    const unsigned *bits;
    ppmli_terms_fn terms;
    void *ctx;
} unblind_job;

static int unblind_chunk(void *ctx, size_t g)
{
    unblind_job *u = ctx;
    size_t lo = g * PPMLI_MB_LANES, lanes = u->n - lo < PPMLI_MB_LANES ? u->n - lo : PPMLI_MB_LANES;
    const ppmli_mb *mb = lanes >= PPMLI_MB_MIN_LANES ? ppmli_paillier_pk_mb(u->pk) : NULL;
    size_t terms = lanes * u->k;
    mpz_srcptr *bases = malloc((terms ? terms : 1) * sizeof *bases);
    mpz_srcptr *exps = malloc((terms ? terms : 1) * sizeof *exps);
    mpz_t cross[PPMLI_MB_LANES], c[PPMLI_MB_LANES];
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_inits(cross[l], c[l], NULL);
    int rc = (bases && exps) ? PPML_OK : PPML_ENOMEM;
    for (size_t l = 0; l < lanes && rc == PPML_OK; l++)
        u->terms(u->ctx, lo + l, bases + l * u->k, exps + l * u->k, c[l]);
    if (rc == PPML_OK && mb)
        rc = ppmli_mb_multiexp(mb, cross, lanes, u->k, bases, exps, u->bits);
    if (rc == PPML_ENOMEM || !mb) { /* also when the eight lanes' tables would not fit */
        rc = (bases && exps) ? PPML_OK : PPML_ENOMEM;
        for (size_t l = 0; l < lanes && rc == PPML_OK; l++)
            rc = ppmli_multiexp(cross[l], bases + l * u->k, exps + l * u->k, u->bits, u->k,
                                ppml_paillier_pk_n2(u->pk));
    }
    for (size_t l = 0; l < lanes && rc == PPML_OK; l++)
        rc = ppmli_unblind_finish(u->pk, u->out[lo + l], u->reply[lo + l], cross[l], c[l]);
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_clears(cross[l], c[l], NULL); /* c: products of secret offsets, wiped on free */
    free(bases);
    free(exps);
    return rc;
}

int ppmli_unblind_batch(const ppml_paillier_pk *pk, unsigned threads, mpz_t *out, const mpz_t *reply, size_t n,
                        size_t k, const unsigned *bits, ppmli_terms_fn terms, void *ctx)
{
    if (n > SIZE_MAX / PPMLI_MB_LANES || k > SIZE_MAX / (2 * PPMLI_MB_LANES * sizeof(mpz_srcptr)))
        return PPML_EOVERFLOW;
    unblind_job u = {pk, out, reply, n, k, bits, terms, ctx};
    return ppmli_parallel_for(threads, (n + PPMLI_MB_LANES - 1) / PPMLI_MB_LANES, unblind_chunk, &u);
}

int ppmli_unblind_finish(const ppml_paillier_pk *pk, mpz_t out, const mpz_t reply, mpz_t cross,
                         const mpz_t constant)
{
    mpz_srcptr n = ppml_paillier_pk_n(pk), n2 = ppml_paillier_pk_n2(pk);
    if (!mpz_invert(cross, cross, n2))
        return PPML_ECRYPTO;
    mpz_t t;
    mpz_init(t);
    mpz_mul(cross, cross, reply);
    mpz_mod(cross, cross, n2);
    mpz_neg(t, constant);
    mpz_mod(t, t, n);
    ppml_paillier_add_plain(pk, out, cross, t);
    mpz_clear(t);
    return PPML_OK;
}

void ppmli_blind_add(const ppml_paillier_pk *pk, mpz_t out, const mpz_t ct, const mpz_t offset)
{
    mpz_t m;
    mpz_init(m);
    mpz_mod(m, offset, ppml_paillier_pk_n(pk));
    ppml_paillier_add_plain(pk, out, ct, m);
    mpz_clear(m);
}

typedef struct blind_job {
    const ppml_paillier_pk *pk;
    mpz_t *blinded;
    const mpz_t *off, *v;
} blind_job;

static int blind_one(void *ctx, size_t i)
{
    blind_job *j = ctx;
    ppmli_blind_add(j->pk, j->blinded[i], j->v[i], j->off[i]);
    return PPML_OK;
}

int ppmli_blind_vector(ppml_proto_css *css, mpz_t *blinded, mpz_t *off, const mpz_t *v, size_t n,
                       unsigned value_bits)
{
    ppmli_draw_offsets(off, n, value_bits, css->kappa);
    blind_job j = {css->pk, blinded, (const mpz_t *)off, v};
    return ppmli_parallel_for(css->threads, n, blind_one, &j);
}

/* ---- CSS ---- */

int ppml_proto_css_new(ppml_proto_css **out, ppml_channel *ch, const ppml_paillier_pk *pk,
                       const ppml_proto_opts *opts)
{
    if (!out || !ch || !pk)
        return PPML_EINVAL;
    unsigned kappa = opts && opts->kappa ? opts->kappa : PPML_PROTO_KAPPA;
    unsigned threads = opts && opts->threads ? opts->threads : 1;
    if (kappa < 20 || kappa > 256 || threads > 64)
        return PPML_EINVAL;
    ppml_proto_css *c = calloc(1, sizeof *c);
    if (!c)
        return PPML_ENOMEM;
    c->ch = ch;
    c->pk = pk;
    c->kappa = kappa;
    c->threads = threads;
    *out = c;
    return PPML_OK;
}

void ppml_proto_css_free(ppml_proto_css *css) { free(css); }

const ppml_paillier_pk *ppml_proto_css_pk(const ppml_proto_css *css) { return css->pk; }

int ppml_proto_css_finish(ppml_proto_css *css)
{
    if (!css)
        return PPML_EINVAL;
    return ppml_channel_send(css->ch, PPML_MSG_END, NULL, 0);
}

unsigned ppml_proto_css_slot_bits(const ppml_proto_css *css, unsigned value_bits)
{
    return ppmli_additive_slot_bits(value_bits, css->kappa);
}

typedef struct pack_job {
    const ppml_paillier_pk *pk;
    const mpz_t *cts;
    mpz_t *packed;
    size_t count, cap;
    unsigned slot_bits;
} pack_job;

/* Chunk g: groups [8g, 8g + 8), one pass of the multi-buffer arithmetic where available. */
static int pack_chunk(void *ctx, size_t g)
{
    pack_job *j = ctx;
    size_t groups = j->count / j->cap + (j->count % j->cap != 0);
    size_t g0 = g * PPMLI_MB_LANES, lanes = groups - g0 < PPMLI_MB_LANES ? groups - g0 : PPMLI_MB_LANES;
    const ppmli_mb *mb = ppmli_paillier_pk_mb(j->pk);
    int rc = PPML_OK;
    if (mb && lanes >= PPMLI_MB_MIN_LANES) {
        size_t total = j->count - g0 * j->cap;
        if (total > PPMLI_MB_LANES * j->cap)
            total = PPMLI_MB_LANES * j->cap;
        mpz_srcptr *p = malloc(total * sizeof *p);
        if (!p)
            return PPML_ENOMEM;
        for (size_t i = 0; i < total; i++)
            p[i] = j->cts[g0 * j->cap + i];
        rc = ppmli_mb_pack(mb, j->packed + g0, p, total, j->cap, j->slot_bits);
        free(p);
    } else {
        for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
            size_t lo = (g0 + l) * j->cap;
            size_t k = j->count - lo < j->cap ? j->count - lo : j->cap;
            rc = ppml_paillier_pack_ct(j->pk, j->packed[g0 + l], j->cts + lo, k, j->slot_bits);
        }
    }
    /* Fresh randomness: the packed ciphertext's randomness would otherwise be a function of
     * the input ciphertexts' (which CCS, holding the key, could recover and link). */
    if (rc == PPML_OK)
        rc = ppmli_paillier_rerandomize_many(j->pk, j->packed + g0, (const mpz_t *)j->packed + g0, lanes);
    return rc;
}

int ppmli_css_send_packed(ppml_proto_css *css, uint16_t type, ppml_writer *w, const mpz_t *slot_cts,
                          size_t count, unsigned slot_bits)
{
    int rc = ppmli_check_slot_bits(css->pk, slot_bits);
    if (rc != PPML_OK)
        return rc;
    size_t cap = ppml_paillier_pack_capacity(css->pk, slot_bits);
    size_t groups = count / cap + (count % cap != 0);
    mpz_t *packed = ppml_mpz_vec_new(groups);
    if (!packed)
        return PPML_ENOMEM;
    pack_job j = {css->pk, slot_cts, packed, count, cap, slot_bits};
    rc = ppmli_parallel_for(css->threads, (groups + PPMLI_MB_LANES - 1) / PPMLI_MB_LANES, pack_chunk, &j);
    if (rc == PPML_OK) {
        ppml_msg_write_mpzvec(w, (const mpz_t *)packed, groups);
        rc = w->err;
    }
    if (rc == PPML_OK)
        rc = ppml_channel_send(css->ch, type, w->data, w->len);
    ppml_mpz_vec_free(packed, groups);
    return rc;
}

int ppmli_css_recv_payload(ppml_proto_css *css, uint16_t type, uint8_t **payload, size_t *len)
{
    uint16_t t;
    uint8_t *p = NULL;
    size_t n = 0;
    int rc = ppml_channel_recv(css->ch, &t, &p, &n, ppml_channel_timeout(css->ch));
    if (rc != PPML_OK)
        return rc;
    if (t == PPML_MSG_ERROR) { /* CCS refused the request: its reason, or PPML_EPROTO */
        rc = ppml_msg_error_code(p, n);
        free(p);
        return rc;
    }
    if (t != (uint16_t)(type | PPML_MSG_REPLY)) {
        free(p);
        return PPML_EPROTO;
    }
    *payload = p;
    *len = n;
    return PPML_OK;
}

int ppmli_css_recv_cts(ppml_proto_css *css, uint16_t type, const ppml_paillier_pk *pk, mpz_t *out,
                       size_t n)
{
    uint8_t *p = NULL;
    size_t len = 0;
    int rc = ppmli_css_recv_payload(css, type, &p, &len);
    if (rc != PPML_OK)
        return rc;
    ppml_reader r;
    ppml_reader_init(&r, p, len);
    rc = ppml_msg_read_mpzvec_exact(&r, out, n, ppml_paillier_pk_n2(pk));
    if (rc == PPML_OK)
        rc = ppml_reader_done(&r) == PPML_OK ? PPML_OK : PPML_EPROTO;
    free(p);
    return rc;
}

/* ---- CCS ---- */

typedef struct dec_job {
    ppmli_ccs *ccs;
    mpz_t *cts;
    mpz_t *slots;
    size_t count, cap;
    unsigned slot_bits;
} dec_job;

/* Chunk g: packed ciphertexts [8g, 8g + 8), decrypted in one pass where available. */
static int dec_chunk(void *ctx, size_t g)
{
    dec_job *j = ctx;
    size_t groups = j->count / j->cap + (j->count % j->cap != 0);
    size_t g0 = g * PPMLI_MB_LANES, lanes = groups - g0 < PPMLI_MB_LANES ? groups - g0 : PPMLI_MB_LANES;
    mpz_t m[PPMLI_MB_LANES];
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_init(m[l]);
    int rc = ppmli_paillier_decrypt_many(j->ccs->sk, m, (const mpz_t *)j->cts + g0, lanes);
    for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
        size_t lo = (g0 + l) * j->cap;
        size_t k = j->count - lo < j->cap ? j->count - lo : j->cap;
        /* A packed plaintext with bits above the k slots is not what CSS may send. */
        if (mpz_sizeinbase(m[l], 2) > k * j->slot_bits && mpz_sgn(m[l]) != 0)
            rc = PPML_EPROTO;
        else
            rc = ppml_paillier_unpack(j->slots + lo, k, m[l], j->slot_bits);
    }
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_clear(m[l]);
    return rc;
}

int ppmli_ccs_read_slots(ppmli_ccs *ccs, ppml_reader *r, size_t count, unsigned slot_bits, mpz_t **slots)
{
    if (count > PPML_PROTO_MAX_VALUES)
        return PPML_EPROTO;
    if (ppmli_check_slot_bits(ccs->pk, slot_bits) != PPML_OK)
        return PPML_EPROTO;
    size_t cap = ppml_paillier_pack_capacity(ccs->pk, slot_bits);
    size_t groups = count / cap + (count % cap != 0);
    mpz_t *cts = ppml_mpz_vec_new(groups);
    mpz_t *out = ppml_mpz_vec_new(count);
    int rc = (cts && out) ? PPML_OK : PPML_ENOMEM;
    if (rc == PPML_OK)
        rc = ppml_msg_read_mpzvec_exact(r, cts, groups, ppml_paillier_pk_n2(ccs->pk));
    if (rc == PPML_OK)
        rc = ppml_reader_done(r) == PPML_OK ? PPML_OK : PPML_EPROTO;
    if (rc == PPML_OK) {
        dec_job j = {ccs, cts, out, count, cap, slot_bits};
        rc = ppmli_parallel_for(ccs->threads, (groups + PPMLI_MB_LANES - 1) / PPMLI_MB_LANES, dec_chunk, &j);
    }
    ppml_mpz_vec_free(cts, groups);
    if (rc != PPML_OK) {
        ppml_mpz_vec_free(out, count);
        return rc == PPML_ENOMEM ? rc : (rc == PPML_ERANGE || rc == PPML_ECRYPTO ? PPML_EPROTO : rc);
    }
    *slots = out;
    return PPML_OK;
}

typedef struct enc_job {
    ppmli_ccs *ccs;
    const ppml_paillier_pk *pk; /* NULL: the training key */
    mpz_t *plain;
    mpz_t *cts;
    size_t n;
} enc_job;

/* Chunk g: values [8g, 8g + 8). */
static int enc_chunk(void *ctx, size_t g)
{
    enc_job *j = ctx;
    const ppml_paillier_pk *pk = j->pk ? j->pk : j->ccs->pk;
    size_t lo = g * PPMLI_MB_LANES, k = j->n - lo < PPMLI_MB_LANES ? j->n - lo : PPMLI_MB_LANES;
    for (size_t i = lo; i < lo + k; i++)
        mpz_mod(j->plain[i], j->plain[i], ppml_paillier_pk_n(pk));
    /* Under the training key CCS holds the secret key: DJN by CRT (same distribution as the
     * public-key DJN form, about a third of its cost). Other keys: public-key DJN. */
    if (!j->pk)
        return ppmli_paillier_encrypt_sk_many(j->ccs->sk, j->cts + lo, (const mpz_t *)j->plain + lo, k);
    return ppmli_paillier_encrypt_many(pk, j->cts + lo, (const mpz_t *)j->plain + lo, k);
}

int ppmli_ccs_reply_encrypted(ppmli_ccs *ccs, uint16_t type, const ppml_paillier_pk *pk, mpz_t *plain,
                              size_t n)
{
    mpz_t *cts = ppml_mpz_vec_new(n);
    if (!cts)
        return PPML_ENOMEM;
    enc_job j = {ccs, pk, plain, cts, n};
    int rc = ppmli_parallel_for(ccs->threads, (n + PPMLI_MB_LANES - 1) / PPMLI_MB_LANES, enc_chunk, &j);
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_msg_write_mpzvec(&w, (const mpz_t *)cts, n);
        rc = w.err;
        if (rc == PPML_OK)
            rc = ppml_channel_send(ccs->ch, (uint16_t)(type | PPML_MSG_REPLY), w.data, w.len);
        ppml_writer_clear(&w);
    }
    ppml_mpz_vec_free(cts, n);
    return rc;
}


int ppml_proto_ccs_serve(ppml_channel *ch, const ppml_paillier_sk *sk, const ppml_proto_opts *opts,
                         int idle_timeout_ms)
{
    ppml_proto_ccs_keys keys = {0};
    keys.training = sk;
    return ppml_proto_ccs_serve_keys(ch, &keys, opts, idle_timeout_ms);
}

static int serve_loop(ppmli_ccs *ccs, int idle_timeout_ms)
{
    for (;;) {
        uint16_t type;
        uint8_t *p = NULL;
        size_t len = 0;
        int rc = ppml_channel_recv(ccs->ch, &type, &p, &len, idle_timeout_ms);
        if (rc == PPML_EPROTO) { /* malformed frame: say so, keep serving */
            rc = ppml_msg_send_error(ccs->ch, PPML_MSG_ERROR, PPML_EPROTO);
            if (rc != PPML_OK)
                return rc;
            continue;
        }
        if (rc != PPML_OK)
            return rc;
        if (type == PPML_MSG_END) {
            free(p);
            return PPML_OK;
        }
        ppml_reader r;
        ppml_reader_init(&r, p, len);
        switch (type) {
        case PPML_MSG_MUL: rc = ppmli_ccs_mul(ccs, &r); break;
        case PPML_MSG_INNER: rc = ppmli_ccs_inner(ccs, &r); break;
        case PPML_MSG_SCALAR_VEC: rc = ppmli_ccs_scalar_vec(ccs, &r); break;
        case PPML_MSG_SIGN: rc = ppmli_ccs_sign(ccs, &r, 0); break;
        case PPML_MSG_SIGN_REVEAL: rc = ppmli_ccs_sign(ccs, &r, 1); break;
        case PPML_MSG_TRUNCATE: rc = ppmli_ccs_truncate(ccs, &r); break;
        case PPML_MSG_CONVERT: rc = ppmli_ccs_convert(ccs, &r); break;
        case PPML_MSG_AGGREGATE: rc = ppmli_ccs_aggregate(ccs, &r); break;
        case PPML_MSG_CONVERT_DTPKC: rc = ppmli_ccs_convert_dtpkc(ccs, &r); break;
        case PPML_MSG_CACHE_PUT: rc = ppmli_ccs_cache_put(ccs, &r); break;
        case PPML_MSG_CACHED_MUL: rc = ppmli_ccs_cached_mul(ccs, &r); break;
        case PPML_MSG_CACHE_DROP: rc = ppmli_ccs_cache_drop(ccs, &r); break;
        default: rc = PPML_EPROTO; break;
        }
        free(p);
        if (rc == PPML_ENET || rc == PPML_ETIMEOUT)
            return rc;
        if (rc != PPML_OK) {
            rc = ppml_msg_send_error(ccs->ch, PPML_MSG_ERROR, rc);
            if (rc != PPML_OK)
                return rc;
        }
    }
}

int ppml_proto_ccs_serve_keys(ppml_channel *ch, const ppml_proto_ccs_keys *keys, const ppml_proto_opts *opts,
                              int idle_timeout_ms)
{
    if (!ch || !keys || !keys->training)
        return PPML_EINVAL;
    const ppml_paillier_sk *sk = keys->training;
    ppmli_ccs ccs = {.ch = ch,
                     .sk = sk,
                     .pk = ppml_paillier_sk_pk(sk),
                     .keys = keys,
                     .kappa = opts && opts->kappa ? opts->kappa : PPML_PROTO_KAPPA,
                     .threads = opts && opts->threads ? opts->threads : 1};
    if (ccs.threads > 64)
        return PPML_EINVAL;
    int rc = serve_loop(&ccs, idle_timeout_ms);
    ppmli_ccs_cache_clear(&ccs);
    return rc;
}
