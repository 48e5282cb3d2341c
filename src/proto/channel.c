/* Channel core: framing, the vtable wrapper, the in-process transport and the mpz vector
 * message helpers. Nothing here is secret: channels carry ciphertexts and blinded values.
 *
 * What each party receives through a channel is exactly the frames its peer sends; the
 * receiver trusts nothing: every frame is length-checked against the bytes present and the
 * channel maximum before any allocation. */
#include "ppml/channel.h"
#include "ppml/mem.h"
#include "ppml/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ppml_channel {
    const ppml_channel_ops *ops;
    void *impl;
    size_t max_msg;
    int timeout_ms;
    int dead; /* sticky PPML_ENET */
};

int ppml_channel_new(ppml_channel **out, const ppml_channel_ops *ops, void *impl, size_t max_msg)
{
    if (!out || !ops || !ops->send_frame || !ops->recv_frame)
        return PPML_EINVAL;
    if (max_msg == 0)
        max_msg = PPML_CHANNEL_DEFAULT_MAX;
    if (max_msg > PPML_CHANNEL_HARD_MAX)
        return PPML_ERANGE;
    ppml_channel *ch = calloc(1, sizeof *ch);
    if (!ch)
        return PPML_ENOMEM;
    ch->ops = ops;
    ch->impl = impl;
    ch->max_msg = max_msg;
    ch->timeout_ms = 60000;
    *out = ch;
    return PPML_OK;
}

void ppml_channel_free(ppml_channel *ch)
{
    if (!ch)
        return;
    if (ch->ops->close)
        ch->ops->close(ch->impl);
    free(ch);
}

void ppml_channel_set_timeout(ppml_channel *ch, int timeout_ms) { ch->timeout_ms = timeout_ms; }
int ppml_channel_timeout(const ppml_channel *ch) { return ch->timeout_ms; }
size_t ppml_channel_max_msg(const ppml_channel *ch) { return ch->max_msg; }

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int ppml_frame_parse(const uint8_t *frame, size_t len, size_t max_msg, uint16_t *type,
                     const uint8_t **payload, size_t *payload_len)
{
    if (!frame && len)
        return PPML_EINVAL;
    if (len < PPML_FRAME_HEADER_BYTES)
        return PPML_EPROTO;
    uint32_t plen = (uint32_t)frame[2] | (uint32_t)frame[3] << 8 | (uint32_t)frame[4] << 16 |
                    (uint32_t)frame[5] << 24;
    if ((size_t)plen > max_msg || (size_t)plen != len - PPML_FRAME_HEADER_BYTES)
        return PPML_EPROTO;
    *type = (uint16_t)(frame[0] | frame[1] << 8);
    *payload = frame + PPML_FRAME_HEADER_BYTES;
    *payload_len = plen;
    return PPML_OK;
}

int ppml_channel_send(ppml_channel *ch, uint16_t type, const uint8_t *payload, size_t len)
{
    if (!ch || (!payload && len))
        return PPML_EINVAL;
    if (ch->dead)
        return PPML_ENET;
    if (len > ch->max_msg || len > UINT32_MAX)
        return PPML_ERANGE;
    uint8_t *frame = malloc(len + PPML_FRAME_HEADER_BYTES);
    if (!frame)
        return PPML_ENOMEM;
    put_u16(frame, type);
    put_u32(frame + 2, (uint32_t)len);
    if (len)
        memcpy(frame + PPML_FRAME_HEADER_BYTES, payload, len);
    int rc = ch->ops->send_frame(ch->impl, frame, len + PPML_FRAME_HEADER_BYTES);
    ppml_free_secret(frame, len + PPML_FRAME_HEADER_BYTES); /* set-up and job messages carry keys */
    if (rc == PPML_ENET)
        ch->dead = 1;
    return rc;
}

int ppml_channel_send_raw(ppml_channel *ch, const uint8_t *frame, size_t len)
{
    if (!ch || (!frame && len))
        return PPML_EINVAL;
    if (ch->dead)
        return PPML_ENET;
    int rc = ch->ops->send_frame(ch->impl, frame, len);
    if (rc == PPML_ENET)
        ch->dead = 1;
    return rc;
}

int ppml_channel_recv(ppml_channel *ch, uint16_t *type, uint8_t **payload, size_t *len,
                      int timeout_ms)
{
    if (!ch || !type || !payload || !len)
        return PPML_EINVAL;
    if (ch->dead)
        return PPML_ENET;
    uint8_t *frame = NULL;
    size_t flen = 0;
    int rc = ch->ops->recv_frame(ch->impl, &frame, &flen, timeout_ms);
    if (rc != PPML_OK) {
        if (rc == PPML_ENET)
            ch->dead = 1;
        return rc;
    }
    uint16_t t;
    const uint8_t *p;
    size_t plen;
    rc = ppml_frame_parse(frame, flen, ch->max_msg, &t, &p, &plen);
    if (rc != PPML_OK) {
        free(frame);
        return rc;
    }
    uint8_t *copy = NULL;
    if (plen) {
        /* Move the payload to the front of the frame buffer (no second allocation). */
        memmove(frame, p, plen);
        copy = frame;
    } else {
        free(frame);
    }
    *type = t;
    *payload = copy;
    *len = plen;
    return PPML_OK;
}

int ppml_channel_recv_expect(ppml_channel *ch, uint16_t type, uint8_t **payload, size_t *len)
{
    if (!ch)
        return PPML_EINVAL;
    uint16_t t;
    uint8_t *p;
    size_t l;
    int rc = ppml_channel_recv(ch, &t, &p, &l, ch->timeout_ms);
    if (rc != PPML_OK)
        return rc;
    if (t != type) {
        free(p);
        return PPML_EPROTO;
    }
    *payload = p;
    *len = l;
    return PPML_OK;
}

/* ---- in-process transport: two bounded FIFO queues under one mutex ---- */

typedef struct inproc_msg {
    uint8_t *data;
    size_t len;
} inproc_msg;

typedef struct inproc_queue {
    inproc_msg *slots;
    size_t head, count, depth;
} inproc_queue;

typedef struct inproc_shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    inproc_queue q[2]; /* q[s]: messages waiting for side s */
    int closed[2];
    int refs;
} inproc_shared;

typedef struct inproc_end {
    inproc_shared *sh;
    int side;
} inproc_end;

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Wait on the condition; returns 0, or ETIMEDOUT once the deadline passed. */
static int inproc_wait(inproc_shared *sh, const struct timespec *deadline)
{
    if (!deadline)
        return pthread_cond_wait(&sh->cv, &sh->mu);
    return pthread_cond_timedwait(&sh->cv, &sh->mu, deadline);
}

static int inproc_send(void *impl, const uint8_t *frame, size_t len)
{
    inproc_end *e = impl;
    inproc_shared *sh = e->sh;
    int peer = 1 - e->side;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return PPML_ENOMEM;
    if (len)
        memcpy(copy, frame, len);
    struct timespec dl;
    deadline_after(&dl, 30000);
    pthread_mutex_lock(&sh->mu);
    inproc_queue *q = &sh->q[peer];
    int rc = PPML_OK;
    while (!sh->closed[peer] && q->count == q->depth) {
        if (inproc_wait(sh, &dl) == ETIMEDOUT) {
            rc = PPML_ETIMEOUT;
            break;
        }
    }
    if (rc == PPML_OK && sh->closed[peer])
        rc = PPML_ENET;
    if (rc == PPML_OK) {
        q->slots[(q->head + q->count) % q->depth] = (inproc_msg){copy, len};
        q->count++;
        pthread_cond_broadcast(&sh->cv);
    }
    pthread_mutex_unlock(&sh->mu);
    if (rc != PPML_OK)
        free(copy);
    return rc;
}

static int inproc_recv(void *impl, uint8_t **frame, size_t *len, int timeout_ms)
{
    inproc_end *e = impl;
    inproc_shared *sh = e->sh;
    struct timespec dl;
    if (timeout_ms >= 0)
        deadline_after(&dl, timeout_ms);
    pthread_mutex_lock(&sh->mu);
    inproc_queue *q = &sh->q[e->side];
    int rc = PPML_OK;
    while (q->count == 0 && !sh->closed[1 - e->side]) {
        if (inproc_wait(sh, timeout_ms >= 0 ? &dl : NULL) == ETIMEDOUT) {
            rc = PPML_ETIMEOUT;
            break;
        }
    }
    if (rc == PPML_OK && q->count == 0)
        rc = PPML_ENET; /* peer closed and nothing left to read */
    if (rc == PPML_OK) {
        inproc_msg m = q->slots[q->head];
        q->head = (q->head + 1) % q->depth;
        q->count--;
        *frame = m.data;
        *len = m.len;
        pthread_cond_broadcast(&sh->cv);
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static void inproc_shared_free(inproc_shared *sh)
{
    for (int s = 0; s < 2; s++) {
        inproc_queue *q = &sh->q[s];
        for (size_t i = 0; i < q->count; i++)
            free(q->slots[(q->head + i) % q->depth].data);
        free(q->slots);
    }
    pthread_mutex_destroy(&sh->mu);
    pthread_cond_destroy(&sh->cv);
    free(sh);
}

static void inproc_close(void *impl)
{
    inproc_end *e = impl;
    inproc_shared *sh = e->sh;
    pthread_mutex_lock(&sh->mu);
    sh->closed[e->side] = 1;
    int last = --sh->refs == 0;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    if (last)
        inproc_shared_free(sh);
    free(e);
}

static const ppml_channel_ops inproc_ops = {inproc_send, inproc_recv, inproc_close};

int ppml_channel_pair_inproc(ppml_channel **a, ppml_channel **b, size_t max_msg, size_t queue_depth)
{
    if (!a || !b)
        return PPML_EINVAL;
    if (max_msg > PPML_CHANNEL_HARD_MAX)
        return PPML_ERANGE;
    if (queue_depth == 0)
        queue_depth = 16;
    if (queue_depth > 4096)
        return PPML_ERANGE;
    inproc_shared *sh = calloc(1, sizeof *sh);
    inproc_end *ea = calloc(1, sizeof *ea), *eb = calloc(1, sizeof *eb);
    if (!sh || !ea || !eb)
        goto nomem;
    for (int s = 0; s < 2; s++) {
        sh->q[s].depth = queue_depth;
        sh->q[s].slots = calloc(queue_depth, sizeof(inproc_msg));
        if (!sh->q[s].slots)
            goto nomem;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sh->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&sh->mu, NULL);
    sh->refs = 2;
    ea->sh = eb->sh = sh;
    ea->side = 0;
    eb->side = 1;
    ppml_channel *ca_ = NULL, *cb_ = NULL;
    int rc = ppml_channel_new(&ca_, &inproc_ops, ea, max_msg);
    if (rc == PPML_OK)
        rc = ppml_channel_new(&cb_, &inproc_ops, eb, max_msg);
    if (rc != PPML_OK) {
        if (ca_)
            ppml_channel_free(ca_); /* closes ea */
        else
            inproc_close(ea);
        inproc_close(eb);
        return rc;
    }
    *a = ca_;
    *b = cb_;
    return PPML_OK;
nomem:
    if (sh) {
        free(sh->q[0].slots);
        free(sh->q[1].slots);
    }
    free(sh);
    free(ea);
    free(eb);
    return PPML_ENOMEM;
}

/* ---- mpz vector messages ---- */

int ppml_msg_send_error(ppml_channel *ch, uint16_t type, int code)
{
    uint8_t b[4];
    uint32_t u = (uint32_t)code;
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(u >> (8 * i));
    return ppml_channel_send(ch, type, b, sizeof b);
}

int ppml_msg_error_code(const uint8_t *payload, size_t len)
{
    if (!payload || len != 4)
        return PPML_EPROTO;
    uint32_t u = (uint32_t)payload[0] | (uint32_t)payload[1] << 8 | (uint32_t)payload[2] << 16 |
                 (uint32_t)payload[3] << 24;
    int32_t c = (int32_t)u;
    return (c < 0 && c > -1000) ? (int)c : PPML_EPROTO;
}

void ppml_msg_write_mpzvec(struct ppml_writer *w, const mpz_t *v, size_t count)
{
    if (count > UINT32_MAX) {
        if (w->err == PPML_OK)
            w->err = PPML_EOVERFLOW;
        return;
    }
    ppml_write_u32(w, (uint32_t)count);
    for (size_t i = 0; i < count; i++)
        ppml_write_mpz(w, v[i]);
}

static int read_one(ppml_reader *r, mpz_t out, const mpz_t bound, size_t max_bytes)
{
    int rc = ppml_read_mpz(r, out, max_bytes);
    if (rc != PPML_OK)
        return PPML_EPROTO;
    if (mpz_sgn(out) < 0 || mpz_cmp(out, bound) >= 0)
        return PPML_ERANGE;
    return PPML_OK;
}

void ppml_msg_mpzvec_free(mpz_t *v, size_t count)
{
    if (!v)
        return;
    for (size_t i = 0; i < count; i++)
        mpz_clear(v[i]);
    free(v);
}

/* Each entry takes at least its 4-byte length field: a count larger than left/4 cannot be
 * honest, and is refused before allocation. */
static int check_count(const ppml_reader *r, uint32_t declared, size_t max_count)
{
    if ((size_t)declared > max_count)
        return PPML_EPROTO;
    if ((size_t)declared > ppml_reader_left(r) / 4)
        return PPML_EPROTO;
    return PPML_OK;
}

int ppml_msg_read_mpzvec(struct ppml_reader *r, mpz_t **v, size_t *count, size_t max_count,
                         const mpz_t bound)
{
    if (!r || !v || !count || mpz_sgn(bound) <= 0)
        return PPML_EINVAL;
    uint32_t n;
    if (ppml_read_u32(r, &n) != PPML_OK)
        return PPML_EPROTO;
    int rc = check_count(r, n, max_count);
    if (rc != PPML_OK)
        return rc;
    size_t max_bytes = (mpz_sizeinbase(bound, 2) + 7) / 8;
    mpz_t *out = malloc((n ? n : 1) * sizeof(mpz_t));
    if (!out)
        return PPML_ENOMEM;
    size_t i = 0;
    for (; i < n; i++) {
        mpz_init(out[i]);
        rc = read_one(r, out[i], bound, max_bytes);
        if (rc != PPML_OK) {
            ppml_msg_mpzvec_free(out, i + 1);
            return rc;
        }
    }
    *v = out;
    *count = n;
    return PPML_OK;
}

int ppml_msg_read_mpzvec_exact(struct ppml_reader *r, mpz_t *v, size_t count, const mpz_t bound)
{
    if (!r || (!v && count) || mpz_sgn(bound) <= 0)
        return PPML_EINVAL;
    /* Read into temporaries through a copy of the reader, so v and r stay untouched on
     * failure. */
    ppml_reader copy = *r;
    mpz_t *tmp = NULL;
    size_t got = 0;
    int rc = ppml_msg_read_mpzvec(&copy, &tmp, &got, count, bound);
    if (rc != PPML_OK)
        return rc;
    if (got != count) {
        ppml_msg_mpzvec_free(tmp, got);
        return PPML_EPROTO;
    }
    for (size_t i = 0; i < got; i++)
        mpz_swap(v[i], tmp[i]);
    ppml_msg_mpzvec_free(tmp, got);
    *r = copy;
    return PPML_OK;
}
