/* Diagnosis servers over channels (ppml/channel.h): CSS serves users and talks to CCS; CCS
 * answers CSS. The messages are exactly those of diagnosis.c (what each party receives is
 * documented there); this file adds only the loop, the error replies and the shutdown.
 *
 * A request that fails (bad framing, wrong key size, wrong parameters or length, corrupted
 * ciphertext, CCS refusing) gets a PPML_DIAG_MSG_ERROR reply carrying the negative error code
 * (u32, two's complement) and the server goes on serving. PPML_DIAG_MSG_BYE stops a server
 * (CSS forwards it to CCS), except in ppml_diag_css_serve_session, where it only ends the
 * user's session (a networked CSS must not let any user stop CCS). A channel failure ends the loop with that error. */
#include "ppml/channel.h"
#include "ppml/diagnosis.h"
#include "ppml/serial.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int send_error(ppml_channel *ch, int code) { return ppml_msg_send_error(ch, PPML_DIAG_MSG_ERROR, code); }

static int read_error(const uint8_t *p, size_t len) { return ppml_msg_error_code(p, len); }

int ppml_diag_ccs_serve(ppml_diag_ccs *ccs, ppml_channel *ch, ppml_diag_serve_stats *st)
{
    if (!ccs || !ch)
        return PPML_EINVAL;
    for (;;) {
        uint16_t type;
        uint8_t *in = NULL, *out = NULL;
        size_t in_len = 0, out_len = 0;
        int e = ppml_channel_recv(ch, &type, &in, &in_len, PPML_TIMEOUT_INFINITE);
        if (e)
            return e;
        if (type == PPML_DIAG_MSG_BYE) {
            free(in);
            return PPML_OK;
        }
        uint64_t t0 = now_ns();
        e = type == PPML_DIAG_MSG_BLINDED ? ppml_diag_ccs_answer(ccs, &out, &out_len, in, in_len)
                                          : PPML_EPROTO;
        free(in);
        if (st) {
            st->busy_ns += now_ns() - t0;
            st->served += !e;
            st->refused += e != 0;
        }
        int se = e ? send_error(ch, e) : ppml_channel_send(ch, PPML_DIAG_MSG_ONEHOT, out, out_len);
        free(out);
        if (se)
            return se;
    }
}

/* The CCS side of a session: the channel (*ch, may become NULL) and how to replace it. */
typedef struct ccs_link {
    ppml_channel **ch;
    ppml_diag_ccs_connect_fn reconnect; /* NULL: a failed channel stays failed */
    void *ctx;
} ccs_link;

/* Sends the blinded request and receives CCS's answer. If the channel fails (PPML_ENET: CCS
 * gone, or restarted) and the link can reconnect, it does so and sends the same bytes once
 * more: CCS sees nothing it had not been sent already. *peer_lost: the channel failed and
 * could not be replaced. */
static int ccs_exchange(ccs_link *l, const uint8_t *blind, size_t blind_len, uint16_t *type,
                        uint8_t **ans, size_t *ans_len, int *peer_lost)
{
    int e = PPML_ENET, unreachable = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((!*l->ch || attempt) && l->reconnect && (e = l->reconnect(l->ctx, l->ch)) != PPML_OK) {
            unreachable = 1;
            break;
        }
        if (!*l->ch)
            break;
        e = ppml_channel_send(*l->ch, PPML_DIAG_MSG_BLINDED, blind, blind_len);
        if (!e)
            e = ppml_channel_recv(*l->ch, type, ans, ans_len, PPML_TIMEOUT_INFINITE);
        if (e != PPML_ENET || !l->reconnect)
            break;
    }
    *peer_lost = e == PPML_ENET || unreachable; /* the link failed, not a refusal by CCS */
    return e;
}

/* One user request through CCS; fills *out (the RESULT) or returns the error to report. */
static int css_handle(ppml_diag_css *css, ccs_link *l, const uint8_t *req, size_t req_len,
                      uint8_t **out, size_t *out_len, ppml_diag_serve_stats *st, int *peer_lost)
{
    ppml_diag_query *q = NULL;
    uint8_t *blind = NULL, *ans = NULL;
    size_t blind_len = 0, ans_len = 0;
    uint16_t type = 0;
    uint64_t t0 = now_ns();
    int e = ppml_diag_css_request(css, &q, &blind, &blind_len, req, req_len);
    uint64_t t1 = now_ns();
    if (!e) {
        e = ccs_exchange(l, blind, blind_len, &type, &ans, &ans_len, peer_lost);
        if (!e && type == PPML_DIAG_MSG_ERROR)
            e = read_error(ans, ans_len);
        else if (!e && type != PPML_DIAG_MSG_ONEHOT)
            e = PPML_EPROTO;
    }
    uint64_t t2 = now_ns();
    if (!e)
        e = ppml_diag_css_finish(css, q, out, out_len, ans, ans_len);
    uint64_t t3 = now_ns();
    if (st) {
        st->busy_ns += (t1 - t0) + (t3 - t2);
        st->bytes_to_peer += blind_len;
        st->bytes_from_peer += ans_len;
    }
    ppml_diag_query_free(q);
    free(blind);
    free(ans);
    return e;
}

static int css_serve(ppml_diag_css *css, ppml_channel *user_ch, ccs_link *l,
                     ppml_diag_serve_stats *st, int forward_bye, int idle_ms)
{
    if (!css || !user_ch || !l->ch || (!*l->ch && !l->reconnect))
        return PPML_EINVAL;
    for (;;) {
        uint16_t type;
        uint8_t *in = NULL, *out = NULL;
        size_t in_len = 0, out_len = 0;
        int e = ppml_channel_recv(user_ch, &type, &in, &in_len, idle_ms);
        if (e)
            return e;
        if (type == PPML_DIAG_MSG_BYE) {
            free(in);
            return forward_bye ? ppml_channel_send(*l->ch, PPML_DIAG_MSG_BYE, NULL, 0) : PPML_OK;
        }
        int peer_lost = 0;
        e = type == PPML_DIAG_MSG_REQUEST
                ? css_handle(css, l, in, in_len, &out, &out_len, st, &peer_lost)
                : PPML_EPROTO;
        free(in);
        if (st) {
            st->served += !e;
            st->refused += e != 0;
            st->peer_lost |= peer_lost; /* whatever becomes of the reply */
        }
        int se = e ? send_error(user_ch, e)
                   : ppml_channel_send(user_ch, PPML_DIAG_MSG_RESULT, out, out_len);
        free(out);
        if (se == PPML_ENET)
            return se;
        if (peer_lost && !l->reconnect)
            return PPML_ENET;
    }
}

int ppml_diag_css_serve(ppml_diag_css *css, ppml_channel *user_ch, ppml_channel *ccs_ch,
                        ppml_diag_serve_stats *st)
{
    ccs_link l = {&ccs_ch, NULL, NULL};
    return css_serve(css, user_ch, &l, st, 1, PPML_TIMEOUT_INFINITE);
}

int ppml_diag_css_serve_session(ppml_diag_css *css, ppml_channel *user_ch, ppml_channel *ccs_ch,
                                ppml_diag_serve_stats *st, int idle_ms)
{
    ccs_link l = {&ccs_ch, NULL, NULL};
    return css_serve(css, user_ch, &l, st, 0, idle_ms);
}

int ppml_diag_css_serve_session_reconnect(ppml_diag_css *css, ppml_channel *user_ch,
                                          ppml_channel **ccs_ch, ppml_diag_ccs_connect_fn reconnect,
                                          void *ctx, ppml_diag_serve_stats *st, int idle_ms)
{
    if (!ccs_ch || !reconnect)
        return PPML_EINVAL;
    ccs_link l = {ccs_ch, reconnect, ctx};
    return css_serve(css, user_ch, &l, st, 0, idle_ms);
}

int ppml_diag_client_query(ppml_channel *css_ch, uint8_t **result, size_t *result_len,
                           const uint8_t *req, size_t req_len)
{
    return ppml_diag_client_query_timeout(css_ch, result, result_len, req, req_len,
                                          PPML_TIMEOUT_INFINITE);
}

int ppml_diag_client_query_timeout(ppml_channel *css_ch, uint8_t **result, size_t *result_len,
                                   const uint8_t *req, size_t req_len, int timeout_ms)
{
    if (!css_ch || !result || !result_len || !req)
        return PPML_EINVAL;
    int e = ppml_channel_send(css_ch, PPML_DIAG_MSG_REQUEST, req, req_len);
    if (e)
        return e;
    uint16_t type;
    uint8_t *in = NULL;
    size_t len = 0;
    e = ppml_channel_recv(css_ch, &type, &in, &len, timeout_ms);
    if (e)
        return e;
    if (type == PPML_DIAG_MSG_ERROR) {
        e = read_error(in, len);
        free(in);
        return e;
    }
    if (type != PPML_DIAG_MSG_RESULT) {
        free(in);
        return PPML_EPROTO;
    }
    *result = in;
    *result_len = len;
    return PPML_OK;
}
