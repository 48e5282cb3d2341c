/* Encoding stage, "plain-simulated" stand-in (see include/ppml/dmlp.h).
 *
 * What each party receives here: the CS sees the clean fixed-point values (a stand-in has no
 * encryption: this is exactly what the BFV encoding removes); worker j receives the noisy
 * values of its partition, as it would after completing the threshold decryption. The noise
 * is the scheme's: exact discrete Laplace, scale Delta_f / eps, fresh per value. */
#include "ppml/dmlp.h"
#include "ppml/dp.h"
#include "ppml/mem.h"
#include "ppml/rand.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct plain_ctx {
    unsigned threads;
} plain_ctx;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct noise_job {
    uint8_t *out;
    const int32_t *clean;
    size_t count;
    uint64_t num, den;
    int err;
} noise_job;

static void put_i32(uint8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (uint8_t)u;
    p[1] = (uint8_t)(u >> 8);
    p[2] = (uint8_t)(u >> 16);
    p[3] = (uint8_t)(u >> 24);
}

static int32_t get_i32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return (int32_t)u;
}

static void *noise_run(void *arg)
{
    noise_job *j = arg;
    for (size_t i = 0; i < j->count; i++) {
        int64_t eta = 0;
        if (j->num && (j->err = ppml_dlap_sample(&eta, j->num, j->den)))
            return NULL;
        /* Saturate into int32 (|eta| beyond 2^31 has probability exp(-2^31/b)); the
         * worker clamps to X_MAX anyway. */
        int64_t v = (int64_t)j->clean[i] + eta;
        if (v > INT32_MAX)
            v = INT32_MAX;
        if (v < INT32_MIN)
            v = INT32_MIN;
        put_i32(j->out + 4 * i, (int32_t)v);
    }
    return NULL;
}

/* Message: "PDN1" | count u64 LE | count int32 LE noisy values. */
#define MSG_HDR 12

static int plain_prepare(void *vctx, uint8_t **msg, size_t *msg_len, const int32_t *clean, size_t count,
                         const ppml_dmlp_dp *dp, ppml_dmlp_encode_times *t)
{
    plain_ctx *ctx = vctx;
    size_t len;
    if (!msg || !msg_len || (!clean && count) || !dp || ppml_mul_size(&len, count, 4) || len > SIZE_MAX - MSG_HDR)
        return PPML_EINVAL;
    double t0 = now_s();
    uint8_t *m = malloc(len + MSG_HDR);
    if (!m)
        return PPML_ENOMEM;
    memcpy(m, "PDN1", 4);
    for (int i = 0; i < 8; i++)
        m[4 + i] = (uint8_t)((uint64_t)count >> (8 * i));
    unsigned nt = ctx->threads;
    if (ppml_rand_is_test_seeded() || count < 4096)
        nt = 1;
    noise_job jobs[64];
    pthread_t tid[64];
    if (nt > 64)
        nt = 64;
    size_t per = count / nt, at = 0;
    int err = PPML_OK;
    int started[64] = {0};
    for (unsigned k = 0; k < nt; k++) {
        size_t c = k + 1 == nt ? count - at : per;
        jobs[k] = (noise_job){m + MSG_HDR + 4 * at, clean + at, c, dp->scale_num, dp->scale_den, 0};
        at += c;
        if (k + 1 < nt && pthread_create(&tid[k], NULL, noise_run, &jobs[k]) == 0)
            started[k] = 1;
        else
            noise_run(&jobs[k]); /* last chunk (or a thread that did not start) runs here */
    }
    for (unsigned k = 0; k < nt; k++)
        if (started[k])
            pthread_join(tid[k], NULL);
    for (unsigned k = 0; k < nt; k++)
        if (jobs[k].err)
            err = jobs[k].err;
    if (err) {
        ppml_free_secret(m, len + MSG_HDR);
        return err;
    }
    *msg = m;
    *msg_len = len + MSG_HDR;
    if (t)
        t->cs_s += now_s() - t0;
    return PPML_OK;
}

static int plain_recover(void *vctx, int32_t *noisy, size_t count, const uint8_t *msg, size_t msg_len,
                         ppml_dmlp_encode_times *t)
{
    (void)vctx;
    if (!noisy || !msg)
        return PPML_EINVAL;
    double t0 = now_s();
    if (msg_len < MSG_HDR || memcmp(msg, "PDN1", 4) != 0)
        return PPML_EFORMAT;
    uint64_t c = 0;
    for (int i = 7; i >= 0; i--)
        c = c << 8 | msg[4 + i];
    if (c != count || (msg_len - MSG_HDR) / 4 != count || (msg_len - MSG_HDR) % 4)
        return PPML_EFORMAT;
    for (size_t i = 0; i < count; i++) {
        int32_t v = get_i32(msg + MSG_HDR + 4 * i);
        if (v > PPML_LOGREG_X_MAX)
            v = PPML_LOGREG_X_MAX;
        if (v < -PPML_LOGREG_X_MAX)
            v = -PPML_LOGREG_X_MAX;
        noisy[i] = v;
    }
    if (t)
        t->worker_s += now_s() - t0;
    return PPML_OK;
}

static void plain_free(void *ctx) { free(ctx); }

int ppml_dmlp_encoding_plain(ppml_dmlp_encoding *enc, unsigned threads)
{
    if (!enc)
        return PPML_EINVAL;
    plain_ctx *ctx = malloc(sizeof *ctx);
    if (!ctx)
        return PPML_ENOMEM;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
    }
    ctx->threads = threads > 64 ? 64 : threads;
    enc->name = "plain-simulated";
    enc->threads = ctx->threads;
    enc->ctx = ctx;
    enc->cs_prepare = plain_prepare;
    enc->worker_recover = plain_recover;
    enc->worker_material = NULL;
    enc->free_ctx = plain_free;
    enc->setup_s = 0;
    return PPML_OK;
}

void ppml_dmlp_encoding_clear(ppml_dmlp_encoding *enc)
{
    if (!enc)
        return;
    if (enc->free_ctx)
        enc->free_ctx(enc->ctx);
    memset(enc, 0, sizeof *enc);
}
