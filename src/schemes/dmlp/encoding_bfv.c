/* Encoding stage, encrypted path ("bfv"): DESIGN §5.1-5.3 with the two-party BFV layer.
 *
 * Keys (set-up): CS and DA each sample a secret share (s_CS, s_DA); the collective public
 * key is made from their ckg shares over a public seed, so the collective secret
 * s = s_CS + s_DA is known to nobody. The data provider (DP) has its own secret s_DP and
 * publishes the re-encryption key rk = Enc_pk(P g_i s_DP) to the collective key.
 *
 * Per ciphertext (n = 8192 slots, values packed in record order):
 *   DP:      ct = Enc_{s_DP}(x)                                   (its own key; sent in
 *            the seeded form: c0 and the 32-byte seed of the uniform c1, half the bytes)
 *            [PPML_DMLP_BFV_DIRECT, "bfv-direct": ct = Enc_pk(x) under the collective
 *             public key, sent whole, and the CS skips the re-encryption]
 *   CS:      hashes the serialized upload as received, loads (parses and checks) it, then
 *            ct' = ReEnc_rk(ct)                                   (now under s)
 *            ct' = ct' + eta, eta ~ DLap(Delta_f / eps) per slot  (noise inside the ciphertext)
 *            d_CS = c1' s_CS + e_smudge (72 bits)                 (decryption share)
 *            sends worker j: ct', d_CS
 * Public verification: the DP signs (Ed25519) the Merkle root of the ciphertexts of each
 * upload (merkle.h: dataset id "dp0/<task>/<k>" for upload k, count, root); the CS
 * recomputes the root from what it received and checks the signature before using any of it
 * (PPML_EVERIFY otherwise), as anyone downloading the stored upload can. With a store
 * (ppml_dmlp_encoding_set_store) the CS keeps each upload — the DP's serialized ciphertexts,
 * its public key and signature — under that id, for `ppml verify`.
 *   worker:  d_DA = c1' s_DA;  x + eta = Dec(c0' + d_CS + d_DA)    (only its noisy values)
 *            (its ciphertexts spread over the context's threads; one in a worker process)
 *
 * What each party receives: CS — DP ciphertexts and public keys, never a plaintext (it holds
 * s_CS only); worker j — ct' (under s) and d_CS, which with s_DA give x + eta and nothing else
 * (the smudging hides s_CS); the DP — nothing back. In this process one object plays every
 * party, so the simulation shows costs and data flow, not isolation; in the MPI engine the
 * workers are separate processes holding only s_DA.
 *
 * Plaintext modulus t (32 bits, = 1 mod 2n): x + eta stays in (-t/2, t/2) unless |eta| >
 * 2^31 - 2^16, probability exp(-2^31 / b) (b <= 2^18 for eps >= 0.001): the noise sample is
 * saturated there, which only moves it further into the tail. */
#include "ppml/bfv.h"
#include "ppml/dmlp.h"
#include "ppml/dp.h"
#include "ppml/mem.h"
#include "ppml/merkle.h"
#include "ppml/rand.h"
#include "ppml/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BFV_N 8192
#define BFV_T_BITS 32
#define BATCH 64 /* ciphertexts per parallel batch (bounds memory) */

typedef struct bfv_ctx {
    ppml_bfv_params *p;
    ppml_bfv_sk *s_cs, *s_da, *s_dp; /* s_cs, s_dp NULL on a worker-side context */
    ppml_bfv_rkey *rk;
    ppml_bfv_pk *cpk;  /* collective public key */
    int direct;        /* provider encrypts under cpk: no re-encryption */
    uint8_t sign_pk[PPML_SIGN_PK_BYTES], sign_sk[PPML_SIGN_SK_BYTES]; /* the DP's upload key */
    uint64_t uploads;  /* uploads signed so far (names them) */
    ppml_store *store; /* borrowed; NULL = uploads are not kept */
    char task[PPML_DATASET_ID_MAX - 40];
    unsigned threads;
    size_t slots;
    int64_t half_t; /* (t - 1) / 2 */
} bfv_ctx;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void bfv_free(void *v)
{
    bfv_ctx *c = v;
    if (!c)
        return;
    ppml_bfv_rkey_free(c->rk);
    ppml_bfv_pk_free(c->cpk);
    ppml_bfv_sk_free(c->s_cs);
    ppml_bfv_sk_free(c->s_da);
    ppml_bfv_sk_free(c->s_dp);
    ppml_bfv_params_free(c->p);
    ppml_memzero(c->sign_sk, sizeof c->sign_sk);
    free(c);
}

/* ---- parallel batch ---------------------------------------------------------------------- */
typedef struct job {
    bfv_ctx *c;
    const int32_t *clean;
    size_t count;           /* values in the whole partition */
    size_t first, nct;      /* ciphertexts [first, first + nct) of the partition */
    uint8_t **upb;          /* nct: the DP's serialized ciphertexts, as the CS receives them */
    size_t *upb_len;
    uint8_t (*dp_leaf)[PPML_HASH_BYTES]; /* whole partition: leaf hashes the DP signs */
    uint8_t (*cs_leaf)[PPML_HASH_BYTES]; /* ... and those the CS recomputes */
    uint8_t **ctb, **dsb;   /* nct: serialized ct' and d_CS for the worker */
    size_t *ctb_len, *dsb_len;
    uint8_t **up;           /* whole partition: the DP's serialized ciphertexts (kept for the
                             * store only; NULL otherwise) */
    size_t *up_len;
    const ppml_dmlp_dp *dp;
    unsigned phase;         /* 0 = DP encryption, 1 = CS work */
    unsigned stride, offset;
    int err;
} job;

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* DP: encrypt its values [at, at + cnt) and serialize them: under its own key in the seeded
 * form (the uniform half is a 32-byte seed: half the upload), or under the collective
 * public key (bfv-direct). */
static int dp_encrypt(const bfv_ctx *c, ppml_bfv_pt *pt, ppml_bfv_ct *tmp, int64_t *v, const int32_t *clean,
                      size_t cnt, uint8_t **out, size_t *out_len)
{
    int e;
    for (size_t i = 0; i < cnt; i++)
        v[i] = clean[i];
    if ((e = ppml_bfv_encode_i64(pt, v, cnt)))
        return e;
    if (!c->direct)
        return ppml_bfv_encrypt_sk_save(c->s_dp, pt, out, out_len);
    if ((e = ppml_bfv_encrypt(c->cpk, tmp, pt)))
        return e;
    return ppml_bfv_ct_save(tmp, out, out_len);
}

/* CS, one ciphertext as received: re-encrypt to the collective key, add the noise in the
 * slots, make the decryption share; ct' and d_CS serialized into ctb, dsb. */
static int cs_process(const bfv_ctx *c, const ppml_dmlp_dp *dp, ppml_bfv_pt *pt, ppml_bfv_ct *ct2, int64_t *v,
                      const uint8_t *up, size_t up_len, size_t cnt, uint8_t **ctb, size_t *ctb_len,
                      uint8_t **dsb, size_t *dsb_len)
{
    ppml_bfv_ct *in = NULL;
    ppml_bfv_decshare *d = NULL;
    int e;
    if ((e = ppml_bfv_ct_load(c->p, &in, up, up_len)))
        return e;
    e = c->direct ? ppml_bfv_ct_copy(ct2, in) : ppml_bfv_reencrypt(c->rk, ct2, in);
    ppml_bfv_ct_free(in);
    if (e)
        return e;
    if (dp->scale_num) {
        const int64_t lim = c->half_t - PPML_LOGREG_X_MAX - 1;
        if ((e = ppml_dlap_sample_vec(v, cnt, dp->scale_num, dp->scale_den)))
            return e;
        for (size_t i = 0; i < cnt; i++)
            v[i] = v[i] > lim ? lim : v[i] < -lim ? -lim : v[i];
        e = ppml_bfv_encode_i64(pt, v, cnt);
        ppml_memzero(v, cnt * sizeof *v);
        if (e || (e = ppml_bfv_add_plain(ct2, ct2, pt)))
            return e;
    }
    if (!(e = ppml_bfv_decrypt_share(c->s_cs, ct2, PPML_BFV_SMUDGE_BITS_DEFAULT, &d)) &&
        !(e = ppml_bfv_ct_save(ct2, ctb, ctb_len)) && (e = ppml_bfv_decshare_save(d, dsb, dsb_len))) {
        free(*ctb);
        *ctb = NULL;
    }
    ppml_bfv_decshare_free(d);
    return e;
}

static void *job_run(void *arg)
{
    job *j = arg;
    bfv_ctx *c = j->c;
    int64_t *v = malloc(c->slots * sizeof *v);
    ppml_bfv_pt *pt = NULL;
    ppml_bfv_ct *ct2 = NULL;
    int e = PPML_OK;
    if (!v || (e = ppml_bfv_pt_new(c->p, &pt)) || (e = ppml_bfv_ct_new(c->p, &ct2))) {
        j->err = e ? e : PPML_ENOMEM;
        goto out;
    }
    for (size_t k = j->offset; k < j->nct; k += j->stride) {
        size_t at = (j->first + k) * c->slots;
        size_t cnt = j->count - at < c->slots ? j->count - at : c->slots;
        if (j->phase == 0) {
            if ((e = dp_encrypt(c, pt, ct2, v, j->clean + at, cnt, &j->upb[k], &j->upb_len[k])))
                break;
            ppml_merkle_leaf(j->dp_leaf[j->first + k], j->upb[k], j->upb_len[k]);
            continue;
        }
        /* CS: hash the upload as received (for the signature check), then work on it. */
        ppml_merkle_leaf(j->cs_leaf[j->first + k], j->upb[k], j->upb_len[k]);
        if ((e = cs_process(c, j->dp, pt, ct2, v, j->upb[k], j->upb_len[k], cnt, &j->ctb[k], &j->ctb_len[k],
                            &j->dsb[k], &j->dsb_len[k])))
            break;
        if (j->up) { /* kept for the store */
            j->up[j->first + k] = j->upb[k];
            j->up_len[j->first + k] = j->upb_len[k];
        } else {
            free(j->upb[k]);
        }
        j->upb[k] = NULL;
    }
    if (e)
        j->err = e;
out:
    if (v)
        ppml_memzero(v, c->slots * sizeof *v);
    free(v);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ct2);
    return NULL;
}

static int run_parallel(job *proto, unsigned nt)
{
    job jobs[64];
    pthread_t tid[64];
    int started[64] = {0};
    for (unsigned k = 0; k < nt; k++) {
        jobs[k] = *proto;
        jobs[k].stride = nt;
        jobs[k].offset = k;
        if (k + 1 < nt && pthread_create(&tid[k], NULL, job_run, &jobs[k]) == 0)
            started[k] = 1;
        else if (k + 1 == nt)
            job_run(&jobs[k]);
        else
            return PPML_ENOMEM; /* (joins below never run for unstarted threads) */
    }
    int err = PPML_OK;
    for (unsigned k = 0; k < nt; k++) {
        if (started[k])
            pthread_join(tid[k], NULL);
        if (jobs[k].err)
            err = jobs[k].err;
    }
    return err;
}

/* Message: "PDB1" | count u64 | nct u64 | nct x (u32 len, ct' bytes, u32 len, d_CS bytes). */
static int bfv_prepare(void *vctx, uint8_t **msg, size_t *msg_len, const int32_t *clean, size_t count,
                       const ppml_dmlp_dp *dp, ppml_dmlp_encode_times *t)
{
    bfv_ctx *c = vctx;
    if (!c->s_cs || !msg || !msg_len || (!clean && count) || !dp)
        return PPML_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (clean[i] > PPML_LOGREG_X_MAX || clean[i] < -PPML_LOGREG_X_MAX)
            return PPML_ERANGE;
    size_t nct = (count + c->slots - 1) / c->slots;
    unsigned nt = ppml_rand_is_test_seeded() ? 1 : c->threads;
    uint8_t *out = NULL;
    size_t len = 20, cap = 0;
    uint8_t *upb[BATCH] = {0}, *ctb[BATCH] = {0}, *dsb[BATCH] = {0};
    size_t upb_len[BATCH], ctb_len[BATCH], dsb_len[BATCH];
    uint8_t(*dp_leaf)[PPML_HASH_BYTES] = malloc((nct ? nct : 1) * PPML_HASH_BYTES);
    uint8_t(*cs_leaf)[PPML_HASH_BYTES] = malloc((nct ? nct : 1) * PPML_HASH_BYTES);
    uint8_t **up = c->store ? calloc(nct ? nct : 1, sizeof *up) : NULL;
    size_t *up_len = c->store ? calloc(nct ? nct : 1, sizeof *up_len) : NULL;
    int e = dp_leaf && cs_leaf && (!c->store || (up && up_len)) ? PPML_OK : PPML_ENOMEM;
    for (size_t first = 0; first < nct && !e; first += BATCH) {
        size_t nb = nct - first < BATCH ? nct - first : BATCH;
        job proto = {c,       clean,   count,   first,   nb, upb, upb_len, dp_leaf, cs_leaf, ctb, dsb,
                     ctb_len, dsb_len, up,      up_len,  dp, 0,   1,       0,       0};
        unsigned use = nt > nb ? (unsigned)nb : nt;
        double t0 = now_s();
        if ((e = run_parallel(&proto, use)))
            break;
        double t1 = now_s();
        proto.phase = 1;
        if ((e = run_parallel(&proto, use)))
            break;
        double t2 = now_s();
        if (t) {
            t->provider_s += t1 - t0;
            t->cs_s += t2 - t1;
        }
        size_t need = len;
        for (size_t k = 0; k < nb; k++) {
            if (ctb_len[k] > UINT32_MAX || dsb_len[k] > UINT32_MAX)
                e = PPML_ENOMEM;
            need += 8 + ctb_len[k] + dsb_len[k];
        }
        if (e)
            break;
        if (need > cap) {
            size_t ncap = need + (nct - first - nb) * (8 + ctb_len[0] + dsb_len[0]); /* all that is left */
            uint8_t *no = realloc(out, ncap);
            if (!no) {
                e = PPML_ENOMEM;
                break;
            }
            out = no;
            cap = ncap;
        }
        for (size_t k = 0; k < nb; k++) { /* u32 len, ct', u32 len, d_CS */
            put32(out + len, (uint32_t)ctb_len[k]);
            memcpy(out + len + 4, ctb[k], ctb_len[k]);
            len += 4 + ctb_len[k];
            put32(out + len, (uint32_t)dsb_len[k]);
            memcpy(out + len + 4, dsb[k], dsb_len[k]);
            len += 4 + dsb_len[k];
            free(ctb[k]);
            free(dsb[k]);
            ctb[k] = dsb[k] = NULL;
        }
    }
    for (size_t k = 0; k < BATCH; k++) {
        free(upb[k]);
        free(ctb[k]);
        free(dsb[k]);
    }
    /* The DP signs its upload's Merkle root; the CS checks it against what it received.
     * (Batches run DP then CS; the check covers every ciphertext the CS used.) */
    if (!e) {
        char name[PPML_DATASET_ID_MAX + 1];
        uint8_t root[PPML_HASH_BYTES], sig[PPML_SIGN_BYTES];
        snprintf(name, sizeof name, "dp0/%s/%llu", c->task, (unsigned long long)c->uploads++);
        double t0 = now_s();
        if (!(e = ppml_merkle_root(root, (const uint8_t(*)[PPML_HASH_BYTES])dp_leaf, nct)))
            e = ppml_upload_sign(sig, c->sign_sk, name, nct, root);
        double t1 = now_s();
        if (!e && !(e = ppml_merkle_root(root, (const uint8_t(*)[PPML_HASH_BYTES])cs_leaf, nct)))
            e = ppml_upload_verify(sig, c->sign_pk, name, nct, root);
        if (t) {
            t->provider_s += t1 - t0;
            t->cs_s += now_s() - t1;
        }
        /* The CS stores the verified upload (not timed: storage I/O, not protocol work). */
        if (!e && c->store)
            e = ppml_store_put_dataset(c->store, name, c->sign_pk, sig, (const uint8_t *const *)up, up_len, nct);
    }
    if (up)
        for (size_t k = 0; k < nct; k++)
            free(up[k]);
    free(up);
    free(up_len);
    free(dp_leaf);
    free(cs_leaf);
    if (!e && !out && !(out = malloc(len)))
        e = PPML_ENOMEM;
    if (e) {
        free(out);
        return e;
    }
    memcpy(out, "PDB1", 4);
    for (int i = 0; i < 8; i++) {
        out[4 + i] = (uint8_t)((uint64_t)count >> (8 * i));
        out[12 + i] = (uint8_t)((uint64_t)nct >> (8 * i));
    }
    *msg = out;
    *msg_len = len;
    return PPML_OK;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Worker: ciphertexts [offset, nct) with step stride; off[4k..4k+3] = ct' at, len, d_CS at, len. */
typedef struct rjob {
    bfv_ctx *c;
    int32_t *noisy;
    size_t count, nct;
    const uint8_t *msg;
    const size_t *off;
    unsigned stride, offset;
    int err;
} rjob;

static void *rjob_run(void *arg)
{
    rjob *j = arg;
    bfv_ctx *c = j->c;
    int64_t *v = malloc(c->slots * sizeof *v);
    ppml_bfv_pt *pt = NULL;
    int e = PPML_OK;
    if (!v || (e = ppml_bfv_pt_new(c->p, &pt))) {
        free(v);
        j->err = e ? e : PPML_ENOMEM;
        return NULL;
    }
    for (size_t k = j->offset; k < j->nct && !e; k += j->stride) {
        ppml_bfv_ct *ct = NULL;
        ppml_bfv_decshare *dcs = NULL, *dda = NULL;
        const size_t *o = j->off + 4 * k;
        size_t cnt = j->count - k * c->slots < c->slots ? j->count - k * c->slots : c->slots;
        if (!(e = ppml_bfv_ct_load(c->p, &ct, j->msg + o[0], o[1])) &&
            !(e = ppml_bfv_decshare_load(c->p, &dcs, j->msg + o[2], o[3])) &&
            !(e = ppml_bfv_decrypt_share(c->s_da, ct, 0, &dda)) &&
            !(e = ppml_bfv_decshare_combine(pt, ct, dcs, dda)) && !(e = ppml_bfv_decode_i64(pt, v, cnt))) {
            for (size_t i = 0; i < cnt; i++)
                j->noisy[k * c->slots + i] = (int32_t)(v[i] > PPML_LOGREG_X_MAX    ? PPML_LOGREG_X_MAX
                                                       : v[i] < -PPML_LOGREG_X_MAX ? -PPML_LOGREG_X_MAX
                                                                                   : v[i]);
        }
        ppml_bfv_ct_free(ct);
        ppml_bfv_decshare_free(dcs);
        ppml_bfv_decshare_free(dda);
    }
    ppml_memzero(v, c->slots * sizeof *v);
    free(v);
    ppml_bfv_pt_free(pt);
    if (e)
        j->err = e;
    return NULL;
}

static int bfv_recover(void *vctx, int32_t *noisy, size_t count, const uint8_t *msg, size_t msg_len,
                       ppml_dmlp_encode_times *t)
{
    bfv_ctx *c = vctx;
    if (!noisy || !msg)
        return PPML_EINVAL;
    double t0 = now_s();
    if (msg_len < 20 || memcmp(msg, "PDB1", 4) != 0 || get64(msg + 4) != count ||
        get64(msg + 12) != (count + c->slots - 1) / c->slots)
        return PPML_EFORMAT;
    size_t nct = (size_t)get64(msg + 12), at = 20;
    /* Framing first (sequential, cheap), then the ciphertexts in parallel. */
    size_t *off = malloc((nct ? nct : 1) * 4 * sizeof *off);
    if (!off)
        return PPML_ENOMEM;
    for (size_t k = 0; k < nct; k++) {
        for (int h = 0; h < 2; h++) {
            uint32_t l;
            if (msg_len - at < 4 || (l = get32(msg + at)) > msg_len - at - 4) {
                free(off);
                return PPML_EFORMAT;
            }
            off[4 * k + 2 * h] = at + 4;
            off[4 * k + 2 * h + 1] = l;
            at += 4 + (size_t)l;
        }
    }
    if (at != msg_len) {
        free(off);
        return PPML_EFORMAT;
    }
    unsigned nt = ppml_rand_is_test_seeded() ? 1 : c->threads; /* test streams stay ordered */
    if (nt > nct)
        nt = nct ? (unsigned)nct : 1;
    rjob jobs[64];
    pthread_t tid[64];
    int started[64] = {0}, e = PPML_OK;
    for (unsigned k = 0; k < nt; k++) {
        jobs[k] = (rjob){c, noisy, count, nct, msg, off, nt, k, PPML_OK};
        if (k + 1 < nt) {
            if (pthread_create(&tid[k], NULL, rjob_run, &jobs[k]) == 0)
                started[k] = 1;
            else
                rjob_run(&jobs[k]); /* no thread: do its share here */
        } else {
            rjob_run(&jobs[k]);
        }
    }
    for (unsigned k = 0; k < nt; k++) {
        if (started[k])
            pthread_join(tid[k], NULL);
        if (jobs[k].err && !e)
            e = jobs[k].err;
    }
    free(off);
    if (!e && t)
        t->worker_s += now_s() - t0;
    return e;
}

/* Worker material: "PDK1" | u32 len | params | u32 len | s_DA. */
static int bfv_material(void *vctx, uint8_t **out, size_t *len)
{
    bfv_ctx *c = vctx;
    uint8_t *pb = NULL, *sb = NULL;
    size_t pl = 0, sl = 0;
    int e;
    if ((e = ppml_bfv_params_save(c->p, &pb, &pl)))
        return e;
    if ((e = ppml_bfv_sk_save(c->s_da, &sb, &sl))) {
        free(pb);
        return e;
    }
    uint8_t *b = malloc(12 + pl + sl);
    if (!b || pl > UINT32_MAX || sl > UINT32_MAX) {
        free(b);
        free(pb);
        ppml_free_secret(sb, sl);
        return PPML_ENOMEM;
    }
    memcpy(b, "PDK1", 4);
    put32(b + 4, (uint32_t)pl);
    memcpy(b + 8, pb, pl);
    put32(b + 8 + pl, (uint32_t)sl);
    memcpy(b + 12 + pl, sb, sl);
    free(pb);
    ppml_free_secret(sb, sl);
    *out = b;
    *len = 12 + pl + sl;
    return PPML_OK;
}

int ppml_dmlp_encoding_set_store(ppml_dmlp_encoding *enc, ppml_store *store, const char *task)
{
    if (!enc || !enc->ctx || enc->cs_prepare != bfv_prepare || !task || !*task)
        return PPML_EINVAL;
    bfv_ctx *c = enc->ctx;
    size_t len = strlen(task);
    if (!c->s_cs || len > 200 || len >= sizeof c->task)
        return PPML_EINVAL;
    for (size_t i = 0; i < len; i++) /* ids stay printable and unambiguous */
        if (!((task[i] >= 'a' && task[i] <= 'z') || (task[i] >= 'A' && task[i] <= 'Z') ||
              (task[i] >= '0' && task[i] <= '9') || task[i] == '-' || task[i] == '_' || task[i] == '.'))
            return PPML_EINVAL;
    memcpy(c->task, task, len + 1);
    c->store = store;
    return PPML_OK;
}

int ppml_dmlp_encoding_upload_key(const ppml_dmlp_encoding *enc, uint8_t pk[PPML_SIGN_PK_BYTES])
{
    if (!enc || !enc->ctx || enc->cs_prepare != bfv_prepare || !pk)
        return PPML_EINVAL;
    const bfv_ctx *c = enc->ctx;
    if (!c->s_cs)
        return PPML_EINVAL;
    memcpy(pk, c->sign_pk, PPML_SIGN_PK_BYTES);
    return PPML_OK;
}

static unsigned default_threads(unsigned threads)
{
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
    }
    return threads > 64 ? 64 : threads;
}

static void fill_ops(ppml_dmlp_encoding *enc, bfv_ctx *c)
{
    enc->name = c->direct ? "bfv-direct" : "bfv";
    enc->threads = c->threads;
    enc->ctx = c;
    enc->cs_prepare = bfv_prepare;
    enc->worker_recover = bfv_recover;
    enc->worker_material = bfv_material;
    enc->free_ctx = bfv_free;
}

int ppml_dmlp_encoding_bfv(ppml_dmlp_encoding *enc, unsigned threads, unsigned flags)
{
    if (!enc || (flags & ~(unsigned)PPML_DMLP_BFV_DIRECT))
        return PPML_EINVAL;
    double t0 = now_s();
    bfv_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return PPML_ENOMEM;
    ppml_bfv_poly *b1 = NULL, *b2 = NULL;
    uint8_t seed[PPML_SEED_BYTES];
    int e;
    ppml_randombytes(seed, sizeof seed); /* public: the CRS of the collective key */
    if ((e = ppml_bfv_params_default(&c->p, BFV_N, BFV_T_BITS)) || (e = ppml_bfv_sk_new(c->p, &c->s_cs)) ||
        (e = ppml_bfv_sk_new(c->p, &c->s_da)) || (e = ppml_bfv_ckg_share(c->s_cs, seed, &b1)) ||
        (e = ppml_bfv_ckg_share(c->s_da, seed, &b2)) || (e = ppml_bfv_ckg_combine(c->p, seed, b1, b2, &c->cpk)))
        goto fail;
    c->direct = (flags & PPML_DMLP_BFV_DIRECT) != 0;
    if ((e = ppml_sign_keypair(c->sign_pk, c->sign_sk)))
        goto fail;
    if (!c->direct && ((e = ppml_bfv_sk_new(c->p, &c->s_dp)) || (e = ppml_bfv_rkey_gen(c->s_dp, c->cpk, &c->rk))))
        goto fail;
    ppml_bfv_poly_free(b1);
    ppml_bfv_poly_free(b2);
    memcpy(c->task, "dmlp", 5);
    c->threads = default_threads(threads);
    c->slots = ppml_bfv_slot_count(c->p);
    c->half_t = (int64_t)((ppml_bfv_params_t(c->p) - 1) / 2);
    fill_ops(enc, c);
    enc->setup_s = now_s() - t0;
    return PPML_OK;
fail:
    ppml_bfv_poly_free(b1);
    ppml_bfv_poly_free(b2);
    bfv_free(c);
    return e;
}

int ppml_dmlp_encoding_worker(ppml_dmlp_encoding *enc, const char *name, const uint8_t *m, size_t len)
{
    if (!enc || !name)
        return PPML_EINVAL;
    if (!strcmp(name, "plain-simulated"))
        return ppml_dmlp_encoding_plain(enc, 1);
    if (strcmp(name, "bfv") && strcmp(name, "bfv-direct"))
        return PPML_EINVAL;
    if (!m || len < 12 || memcmp(m, "PDK1", 4) != 0)
        return PPML_EFORMAT;
    uint32_t pl = get32(m + 4);
    if (pl > len - 12)
        return PPML_EFORMAT;
    uint32_t sl = get32(m + 8 + pl);
    if (sl != len - 12 - pl)
        return PPML_EFORMAT;
    bfv_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return PPML_ENOMEM;
    int e;
    if ((e = ppml_bfv_params_load(&c->p, m + 8, pl)) || (e = ppml_bfv_sk_load(c->p, &c->s_da, m + 12 + pl, sl))) {
        bfv_free(c);
        return e;
    }
    c->threads = 1;
    c->direct = !strcmp(name, "bfv-direct");
    c->slots = ppml_bfv_slot_count(c->p);
    c->half_t = (int64_t)((ppml_bfv_params_t(c->p) - 1) / 2);
    fill_ops(enc, c);
    enc->worker_material = NULL;
    enc->setup_s = 0;
    return PPML_OK;
}
