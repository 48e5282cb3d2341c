/* TCP channel on ZeroMQ PAIR sockets with CURVE (DESIGN §6).
 *
 * Security: with curve = 1 the server holds a long-term CURVE key pair; the client knows the
 * server's public key (given out of band, e.g. by the TA) and uses a fresh key pair of its
 * own, so the channel is encrypted and the server is authenticated. Client authentication
 * (a ZAP allow-list) is not done here: the protocols above give CCS only blinded values.
 *
 * Bounds: ZMQ_MAXMSGSIZE makes the socket drop a peer that sends a frame larger than the
 * channel maximum (the receiver then sees PPML_ENET); smaller frames are parsed and checked
 * by the channel core. Peer death: a socket monitor reports DISCONNECTED (the TCP connection
 * closed or the ZMTP heartbeat timed out), after which recv and send fail with PPML_ENET once
 * every message already received has been read. */
#include "ppml/channel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

typedef struct zchan {
    void *ctx;
    void *sock;
    void *mon;
    int is_server;
    int connected; /* a handshake succeeded at least once */
    int gone;      /* peer disconnected (or handshake failed on the client) */
} zchan;

/* Drain monitor events without blocking. */
static void zchan_poll_monitor(zchan *z)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        uint16_t ev = 0;
        if (zmq_msg_size(&m) >= 6)
            memcpy(&ev, zmq_msg_data(&m), 2);
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) { /* second frame: the endpoint address */
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, z->mon, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        switch (ev) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            z->connected = 1;
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (z->connected)
                z->gone = 1;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            if (!z->is_server)
                z->gone = 1; /* wrong server key: never retry silently */
            break;
        default:
            break;
        }
    }
}

static int zchan_send(void *impl, const uint8_t *frame, size_t len)
{
    zchan *z = impl;
    zchan_poll_monitor(z);
    if (z->gone)
        return PPML_ENET;
    if (zmq_send(z->sock, frame, len, 0) < 0) {
        if (zmq_errno() == EAGAIN)
            return PPML_ETIMEOUT;
        return PPML_ENET;
    }
    return PPML_OK;
}

static int zchan_recv(void *impl, uint8_t **frame, size_t *len, int timeout_ms)
{
    zchan *z = impl;
    long start = now_ms();
    int rc = PPML_ETIMEOUT;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->sock, ZMQ_DONTWAIT) >= 0) {
            size_t n = zmq_msg_size(&m);
            uint8_t *copy = malloc(n ? n : 1);
            if (!copy) {
                zmq_msg_close(&m);
                rc = PPML_ENOMEM;
                break;
            }
            memcpy(copy, zmq_msg_data(&m), n);
            zmq_msg_close(&m);
            *frame = copy;
            *len = n;
            rc = PPML_OK;
            break;
        }
        zmq_msg_close(&m);
        zchan_poll_monitor(z);
        if (z->gone) {
            rc = PPML_ENET;
            break;
        }
        long waited = now_ms() - start;
        long left = timeout_ms < 0 ? -1 : (long)timeout_ms - waited;
        if (timeout_ms >= 0 && left <= 0)
            break;
        zmq_pollitem_t items[2] = {{z->sock, 0, ZMQ_POLLIN, 0}, {z->mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, left) < 0 && zmq_errno() != EINTR) {
            rc = PPML_ENET;
            break;
        }
    }
    return rc;
}

static void zchan_close(void *impl)
{
    zchan *z = impl;
    if (!z)
        return;
    if (z->mon)
        zmq_close(z->mon);
    if (z->sock) {
        zmq_socket_monitor(z->sock, NULL, 0);
        zmq_close(z->sock);
    }
    if (z->ctx)
        zmq_ctx_term(z->ctx);
    free(z);
}

static const ppml_channel_ops zchan_ops = {zchan_send, zchan_recv, zchan_close};

int ppml_channel_curve_keypair(char public_z85[41], char secret_z85[41])
{
    if (!public_z85 || !secret_z85)
        return PPML_EINVAL;
    if (zmq_curve_keypair(public_z85, secret_z85) != 0)
        return PPML_ENOTSUP;
    return PPML_OK;
}

static int set_err(char err[PPML_ERR_LEN], int rc, const char *what)
{
    if (err)
        snprintf(err, PPML_ERR_LEN, "%s: %s", what, zmq_strerror(zmq_errno()));
    return rc;
}

static int valid_key(const char *k) { return k && strlen(k) == 40; }

static int zchan_open(ppml_channel **out, const ppml_channel_tcp_opts *o, int server,
                      char err[PPML_ERR_LEN])
{
    if (!out || !o || !o->endpoint)
        return PPML_EINVAL;
    if (o->curve && !valid_key(server ? o->server_secret : o->server_public)) {
        if (err)
            snprintf(err, PPML_ERR_LEN, "CURVE key must be 40 Z85 characters");
        return PPML_EINVAL;
    }
    size_t max_msg = o->max_msg ? o->max_msg : PPML_CHANNEL_DEFAULT_MAX;
    if (max_msg > PPML_CHANNEL_HARD_MAX)
        return PPML_ERANGE;
    zchan *z = calloc(1, sizeof *z);
    if (!z)
        return PPML_ENOMEM;
    z->is_server = server;
    z->ctx = zmq_ctx_new();
    if (!z->ctx) {
        free(z);
        return set_err(err, PPML_ENET, "zmq_ctx_new");
    }
    z->sock = zmq_socket(z->ctx, ZMQ_PAIR);
    int rc = PPML_ENET;
    const char *what = "zmq_socket";
    if (!z->sock)
        goto fail;
    int64_t maxsz = (int64_t)(max_msg + PPML_FRAME_HEADER_BYTES);
    int hb = o->heartbeat_ms > 0 ? o->heartbeat_ms : 1000;
    int hbto = 3 * hb;
    int linger = 2000;
    int sndto = o->send_timeout_ms ? o->send_timeout_ms : 30000;
    if (sndto < 0)
        sndto = -1;
    what = "zmq_setsockopt";
    if (zmq_setsockopt(z->sock, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz) ||
        zmq_setsockopt(z->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb) ||
        zmq_setsockopt(z->sock, ZMQ_HEARTBEAT_TIMEOUT, &hbto, sizeof hbto) ||
        zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(z->sock, ZMQ_SNDTIMEO, &sndto, sizeof sndto))
        goto fail;
    if (o->curve) {
        if (server) {
            int one = 1;
            if (zmq_setsockopt(z->sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
                zmq_setsockopt(z->sock, ZMQ_CURVE_SECRETKEY, o->server_secret, 41))
                goto fail;
        } else {
            char pub[41], sec[41];
            if (zmq_curve_keypair(pub, sec) != 0)
                goto fail;
            int bad = zmq_setsockopt(z->sock, ZMQ_CURVE_SERVERKEY, o->server_public, 41) ||
                      zmq_setsockopt(z->sock, ZMQ_CURVE_PUBLICKEY, pub, 41) ||
                      zmq_setsockopt(z->sock, ZMQ_CURVE_SECRETKEY, sec, 41);
            memset(sec, 0, sizeof sec);
            if (bad)
                goto fail;
        }
    }
    char mon_addr[64];
    snprintf(mon_addr, sizeof mon_addr, "inproc://ppml-monitor-%p", (void *)z);
    what = "zmq_socket_monitor";
    if (zmq_socket_monitor(z->sock, mon_addr,
                           ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
        goto fail;
    z->mon = zmq_socket(z->ctx, ZMQ_PAIR);
    if (!z->mon || zmq_connect(z->mon, mon_addr) != 0)
        goto fail;
    what = server ? "bind" : "connect";
    if ((server ? zmq_bind(z->sock, o->endpoint) : zmq_connect(z->sock, o->endpoint)) != 0)
        goto fail;
    ppml_channel *ch = NULL;
    rc = ppml_channel_new(&ch, &zchan_ops, z, max_msg);
    if (rc != PPML_OK) {
        zchan_close(z);
        return rc;
    }
    *out = ch;
    return PPML_OK;
fail:
    set_err(err, rc, what);
    zchan_close(z);
    return rc;
}

int ppml_channel_tcp_listen(ppml_channel **out, const ppml_channel_tcp_opts *o, char err[PPML_ERR_LEN])
{
    return zchan_open(out, o, 1, err);
}

int ppml_channel_tcp_connect(ppml_channel **out, const ppml_channel_tcp_opts *o, char err[PPML_ERR_LEN])
{
    return zchan_open(out, o, 0, err);
}
