/* TCP channels on ZeroMQ with CURVE (DESIGN §6).
 *
 * Shape: a server binds one ROUTER socket for its whole life (a listener) and serves its
 * peers one session at a time (ppml_channel_tcp_accept); a client is a DEALER socket
 * connected to it. The frames of ppml/channel.h travel as single-part ZeroMQ messages, so
 * framing and size checks stay in the channel core.
 *
 * Security: with curve = 1 the server holds a long-term CURVE key pair; the client knows the
 * server's public key (given out of band, e.g. by the TA), so the channel is encrypted and
 * the server is authenticated. Clients are authenticated when the listener has an
 * allow-list (client_keys): some CCS requests are decryption oracles for whoever sends them
 * (CONVERT re-encrypts under a key the client names, limited to the keys the TA lists;
 * SIGN_REVEAL would return bits in the clear, and is refused unless the CCS's keys allow it),
 * so a CCS must serve only its real clients. The listener then runs a ZAP handler (RFC 27):
 * a REP socket on inproc://zeromq.zap.01 in the listener's own context, served by a thread,
 * which libzmq's I/O thread asks during every CURVE handshake; it answers "200" for a
 * listed client key and "400" for any other, and the refused client's handshake fails
 * (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: its connect or first recv fails with PPML_ENET, never a
 * hang). A client presents a long-term key pair (client_secret) or, by default, a fresh one
 * (refused by any allow-list). Without an allow-list any client may connect. Order matters:
 * the handler binds before the listener does, and stops only after the listener's socket is
 * closed, because libzmq lets a CURVE handshake through when no handler is bound. It is
 * stopped by zmq_ctx_shutdown (its blocking recv returns ETERM) and joined before
 * zmq_ctx_term, which waits for its socket.
 *
 * Bounds: ZMQ_MAXMSGSIZE makes the socket drop a connection whose peer sends a larger frame
 * (on a listener only that connection goes; the listener keeps serving). Smaller frames are
 * parsed and checked by the channel core. Messages of peers waiting for their session are
 * held by the listener, at most LISTEN_QUEUE_MAX messages and max_msg bytes in all; a peer
 * beyond that is told "busy" (its client sees PPML_ENET) and its message dropped.
 *
 * Why the first version (PAIR sockets, the server re-binding a fresh socket per session) lost
 * first messages and hung — the root causes this file is built around:
 *  1. A bound PAIR socket takes one peer. A further connection is still accepted and its CURVE
 *     handshake completes, so its client believes it is connected, but the socket terminates
 *     that connection's pipe: everything the client sends then stays unread and neither side
 *     sees an error (heartbeats keep the connection alive). Any connection that arrived while
 *     another was attached was black-holed: a client that came while the previous session's
 *     peer was not yet torn down, or the previous client's own socket reconnecting by itself
 *     to the re-bound port just before it was closed; the server then idled out on that
 *     silent peer, and the cycle could repeat. ROUTER takes any number of connections and
 *     tells them apart by routing id, so nothing is ever silently parked.
 *  2. The channel closed the monitor's receiving socket before stopping the monitor. libzmq's
 *     I/O thread sends monitor events with a blocking send while holding the socket's monitor
 *     mutex; with the receiver closed that send never returns, and zmq_socket_monitor(NULL)
 *     then waits for the mutex forever. A peer disconnecting while a channel was being freed
 *     — the end of every session — could hang the process (seen as CSS never answering
 *     again). Here the monitor is stopped first, and its receiving socket has no high-water
 *     mark, so an event send never blocks the I/O thread while the channel is open.
 *  3. Re-binding per session left windows with no listener (connection refused, retried) or
 *     with a closing one (accepted, then dropped with the request). The listener now binds
 *     once; a client's DEALER queues its first message until the handshake completes, so a
 *     request is either delivered or the client sees PPML_ENET (never a silent loss).
 *
 * Sessions on a listener: a session starts with the first message of a peer that has none
 * (in arrival order among waiting peers) and ends when the session channel is freed or its
 * peer disconnects (PPML_ENET from recv/send once every message already received was read).
 * A peer's later messages after its session ended are refused: it is sent "closed" and its
 * client sees PPML_ENET. Disconnects are seen through the socket monitor (DISCONNECTED, with
 * the connection's file descriptor) and matched to the session through the descriptor each
 * message arrived on (ZMQ_SRCFD). Descriptor reuse is safe because libzmq emits the event
 * before it closes the descriptor, so the event is queued before any message of a later
 * connection on the same descriptor; the listener drains the monitor after reading each
 * message and before attributing it (see lst_intake).
 *
 * Client: a DEALER connected without ZMQ_IMMEDIATE has its pipe from the start, so a send
 * before the connection exists is queued and leaves with the handshake (refused connections
 * are retried every 100 ms). The monitor reports the handshake, a failed handshake (wrong
 * server key: PPML_ENET at once, never a silent retry) and the disconnect of an established
 * connection (PPML_ENET). connect_timeout_ms > 0 makes ppml_channel_tcp_connect wait for the
 * handshake. Dead peers: ZMTP heartbeats (heartbeat_ms, peer dead after 3 missed). */
#include "ppml/channel.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>
#include <zmq.h>

#define CURVE_WIRE_OVERHEAD 64 /* >= 33 bytes a CURVE MESSAGE command adds to a frame */
#define ROUTING_ID_MAX 255
#define LISTEN_QUEUE_MAX 32 /* messages held for waiting peers */
#define LISTEN_ENDED_MAX 64 /* peers remembered as "session ended" */
#define CURVE_KEY_BYTES 32
#define ZAP_ENDPOINT "inproc://zeromq.zap.01" /* fixed by RFC 27, one per context */
/* Control message, listener -> client: two parts, an empty one then one code byte. Data
 * frames are always single-part. */
enum { CTL_BUSY = 1, CTL_CLOSED = 2 };

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Milliseconds left of timeout_ms since start (-1: infinite). */
static long left_ms(long start, int timeout_ms)
{
    if (timeout_ms < 0)
        return -1;
    long left = (long)timeout_ms - (now_ms() - start);
    return left > 0 ? left : 0;
}

/* Wait for input on the socket or its monitor. */
static int wait_input(void *sock, void *mon, long timeout_ms)
{
    zmq_pollitem_t items[2] = {{sock, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
    if (zmq_poll(items, 2, timeout_ms) < 0 && zmq_errno() != EINTR)
        return PPML_ENET;
    return PPML_OK;
}

/* Discard the remaining parts of a multi-part message (they arrive atomically). */
static void skip_parts(void *sock, int more)
{
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
}

/* Copy a message's bytes to the heap. */
static int msg_copy(zmq_msg_t *m, uint8_t **out, size_t *len)
{
    size_t n = zmq_msg_size(m);
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return PPML_ENOMEM;
    if (n)
        memcpy(copy, zmq_msg_data(m), n);
    *out = copy;
    *len = n;
    return PPML_OK;
}

static int send_error_code(int zerr) { return zerr == EAGAIN ? PPML_ETIMEOUT : PPML_ENET; }

/* ---- socket monitor ---- */

typedef void (*monitor_fn)(void *arg, int event, int value);

/* Call before the socket binds or connects: an event sent before the receiving socket is
 * connected would block libzmq's I/O thread. */
static int monitor_open(void *ctx, void *sock, int events, void **mon)
{
    char addr[64];
    snprintf(addr, sizeof addr, "inproc://ppml-monitor-%p", sock);
    if (zmq_socket_monitor(sock, addr, events) != 0)
        return -1;
    /* No high-water mark on the receiving side: libzmq's I/O thread sends events with a
     * blocking send, which must never wait on us (root cause 2 above). */
    int unbounded = 0;
    *mon = zmq_socket(ctx, ZMQ_PAIR);
    if (!*mon || zmq_setsockopt(*mon, ZMQ_RCVHWM, &unbounded, sizeof unbounded) != 0 ||
        zmq_connect(*mon, addr) != 0)
        return -1;
    return 0;
}

/* Stop the monitor, then close its receiving socket: the other order can deadlock. */
static void monitor_close(void *sock, void *mon)
{
    if (sock)
        zmq_socket_monitor(sock, NULL, 0);
    if (mon)
        zmq_close(mon);
}

/* Hand every queued event (type, value) to fn, without blocking. */
static void monitor_drain(void *mon, monitor_fn fn, void *arg)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        uint16_t ev = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&m) >= 6) {
            memcpy(&ev, zmq_msg_data(&m), 2);
            memcpy(&value, (const uint8_t *)zmq_msg_data(&m) + 2, 4);
        }
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        skip_parts(mon, more); /* the endpoint address */
        fn(arg, ev, (int)(int32_t)value);
    }
}

/* ---- socket set-up shared by both ends ---- */

/* ---- ZAP handler: the listener's allow-list of client keys (ZeroMQ RFC 27) ---- */

/* A REP socket bound on ZAP_ENDPOINT in the listener's context, served by its own thread:
 * libzmq's I/O thread asks it about every CURVE handshake and waits for the answer, so it
 * must answer while the listener's thread is busy elsewhere (computing, or idle between
 * accepts). It shares nothing mutable with the listener: the keys are fixed at start. */
typedef struct zap_handler {
    void *sock;
    pthread_t thread;
    size_t n_keys;
    uint8_t keys[][CURVE_KEY_BYTES];
} zap_handler;

enum { ZAP_REQ_PARTS = 7 }; /* version, request id, domain, address, identity, mechanism, key */

static int part_is(zmq_msg_t *m, const char *text)
{
    size_t n = strlen(text);
    return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), text, n) == 0;
}

/* Receive one request (all its parts; the first max kept in p, *n of them). -1 when the
 * context is shut down. */
static int zap_recv(void *sock, zmq_msg_t *p, size_t max, size_t *n)
{
    *n = 0;
    for (int more = 1; more;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            if (zmq_errno() == EINTR)
                continue;
            while (*n)
                zmq_msg_close(&p[--*n]);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (*n < max)
            p[(*n)++] = m; /* moved: closed by the caller */
        else
            zmq_msg_close(&m);
    }
    return 0;
}

static int zap_allowed(const zap_handler *z, const uint8_t key[CURVE_KEY_BYTES])
{
    for (size_t i = 0; i < z->n_keys; i++)
        if (memcmp(z->keys[i], key, CURVE_KEY_BYTES) == 0) /* public keys: no need for CT */
            return 1;
    return 0;
}

/* Answer: version, request id, status code, status text, user id, metadata. */
static int zap_reply(void *sock, zmq_msg_t *request_id, int ok, const char *user_id)
{
    const char *parts[] = {"1.0", NULL, ok ? "200" : "400",
                           ok ? "OK" : "client key not allowed", user_id, ""};
    size_t n = sizeof parts / sizeof *parts;
    for (size_t i = 0; i < n; i++) {
        int flags = i + 1 < n ? ZMQ_SNDMORE : 0;
        int rc = parts[i] ? zmq_send(sock, parts[i], strlen(parts[i]), flags)
                 : request_id ? zmq_send(sock, zmq_msg_data(request_id), zmq_msg_size(request_id), flags)
                              : zmq_send(sock, NULL, 0, flags);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static void *zap_run(void *arg)
{
    zap_handler *z = arg;
    for (;;) {
        zmq_msg_t p[ZAP_REQ_PARTS];
        size_t n = 0;
        if (zap_recv(z->sock, p, ZAP_REQ_PARTS, &n) != 0)
            break; /* zmq_ctx_shutdown: the listener is being freed */
        char user_id[41] = "";
        int ok = n == ZAP_REQ_PARTS && part_is(&p[0], "1.0") && part_is(&p[5], "CURVE") &&
                 zmq_msg_size(&p[6]) == CURVE_KEY_BYTES && zap_allowed(z, zmq_msg_data(&p[6]));
        if (ok && !zmq_z85_encode(user_id, zmq_msg_data(&p[6]), CURVE_KEY_BYTES))
            ok = 0;
        int rc = zap_reply(z->sock, n > 1 ? &p[1] : NULL, ok, ok ? user_id : "");
        while (n)
            zmq_msg_close(&p[--n]);
        if (rc != 0 && zmq_errno() == ETERM)
            break;
    }
    zmq_close(z->sock);
    return NULL;
}

/* Bind the handler in ctx (before the listener binds: a handshake that finds no handler
 * is let through) and start its thread. keys were checked by zsock_open. */
static int zap_start(zap_handler **out, void *ctx, const char (*keys)[41], size_t n_keys)
{
    zap_handler *z = calloc(1, sizeof *z + n_keys * sizeof z->keys[0]);
    if (!z)
        return PPML_ENOMEM;
    z->n_keys = n_keys;
    for (size_t i = 0; i < n_keys; i++)
        zmq_z85_decode(z->keys[i], keys[i]);
    int zero = 0;
    z->sock = zmq_socket(ctx, ZMQ_REP);
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) != 0 || pthread_create(&z->thread, NULL, zap_run, z) != 0) {
        if (z->sock)
            zmq_close(z->sock);
        free(z);
        return PPML_ENET;
    }
    *out = z; /* the socket now belongs to the thread (pthread_create is a full barrier) */
    return PPML_OK;
}

/* Stop the handler: shutting the context down makes its blocking recv return ETERM. Call
 * after the listener's socket is closed, so that no handshake is let through unasked. */
static void zap_stop(zap_handler *z, void *ctx)
{
    zmq_ctx_shutdown(ctx);
    pthread_join(z->thread, NULL);
    free(z);
}

typedef struct zsock {
    void *ctx;
    void *sock;
    void *mon;
    zap_handler *zap; /* listener with an allow-list */
} zsock;

static void zsock_close(zsock *s, int linger_ms)
{
    monitor_close(s->sock, s->mon);
    if (s->sock) {
        zmq_setsockopt(s->sock, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
        zmq_close(s->sock);
    }
    if (s->zap)
        zap_stop(s->zap, s->ctx);
    if (s->ctx)
        zmq_ctx_term(s->ctx);
    memset(s, 0, sizeof *s);
}

static int fail(char err[PPML_ERR_LEN], int rc, const char *what, const char *endpoint)
{
    if (err)
        snprintf(err, PPML_ERR_LEN, "%s %s: %s", what, endpoint ? endpoint : "",
                 zmq_strerror(zmq_errno()));
    return rc;
}

static int valid_key(const char *k)
{
    uint8_t raw[CURVE_KEY_BYTES];
    int ok = k && strlen(k) == 40 && zmq_z85_decode(raw, k) != NULL;
    sodium_memzero(raw, sizeof raw); /* k may be a secret key */
    return ok;
}

static int bad_opt(char err[PPML_ERR_LEN], const char *what)
{
    if (err)
        snprintf(err, PPML_ERR_LEN, "%s", what);
    return PPML_EINVAL;
}

/* Check the CURVE keys of o for this end. */
static int check_keys(const ppml_channel_tcp_opts *o, int server, char err[PPML_ERR_LEN])
{
    if (!o->curve)
        return o->n_client_keys ? bad_opt(err, "a client allow-list needs CURVE") : PPML_OK;
    if (!valid_key(server ? o->server_secret : o->server_public))
        return bad_opt(err, "CURVE key must be 40 Z85 characters");
    if (server) {
        if (o->n_client_keys && !o->client_keys)
            return PPML_EINVAL;
        for (size_t i = 0; i < o->n_client_keys; i++)
            if (!valid_key(o->client_keys[i]))
                return bad_opt(err, "allowed client key is not 40 Z85 characters");
        return PPML_OK;
    }
    if (o->client_public && !o->client_secret)
        return bad_opt(err, "a client public key needs its secret key");
    if (o->client_secret && !valid_key(o->client_secret))
        return bad_opt(err, "client CURVE secret key must be 40 Z85 characters");
    return PPML_OK;
}

/* The client's key pair: o's long-term one (public derived when not given, and checked
 * against the secret when given), or a fresh one. */
static int client_keypair(char pub[41], char sec[41], const ppml_channel_tcp_opts *o,
                          char err[PPML_ERR_LEN])
{
    if (!o->client_secret)
        return zmq_curve_keypair(pub, sec) == 0 ? PPML_OK
                                                : fail(err, PPML_ENET, "zmq_curve_keypair", NULL);
    memcpy(sec, o->client_secret, 41);
    if (zmq_curve_public(pub, sec) != 0)
        return fail(err, PPML_ENET, "zmq_curve_public", NULL);
    if (o->client_public && strcmp(pub, o->client_public) != 0)
        return bad_opt(err, "client public key does not match its secret key");
    return PPML_OK;
}


/* Check the options, make the context and socket of the given type, set the options common
 * to both ends (size bound, heartbeats, linger, send timeout, CURVE) and start the monitor. */
static int zsock_open(zsock *s, size_t *max_msg, const ppml_channel_tcp_opts *o, int type,
                      int events, char err[PPML_ERR_LEN])
{
    memset(s, 0, sizeof *s);
    if (!o || !o->endpoint)
        return PPML_EINVAL;
    int server = type == ZMQ_ROUTER;
    int rc = check_keys(o, server, err);
    if (rc != PPML_OK)
        return rc;
    *max_msg = o->max_msg ? o->max_msg : PPML_CHANNEL_DEFAULT_MAX;
    if (*max_msg > PPML_CHANNEL_HARD_MAX)
        return PPML_ERANGE;
    s->ctx = zmq_ctx_new();
    if (!s->ctx)
        return fail(err, PPML_ENET, "zmq_ctx_new", NULL);
    s->sock = zmq_socket(s->ctx, type);
    if (!s->sock)
        return fail(err, PPML_ENET, "zmq_socket", NULL);
    /* ZMTP checks ZMQ_MAXMSGSIZE against the frame on the wire, which under CURVE is the
     * encrypted MESSAGE command (8-byte name, 8-byte nonce, flags byte, 16-byte MAC): without
     * the margin a frame within 33 bytes of the maximum cost its sender the connection. */
    int64_t maxsz = (int64_t)(*max_msg + PPML_FRAME_HEADER_BYTES + CURVE_WIRE_OVERHEAD);
    int hb = o->heartbeat_ms > 0 ? o->heartbeat_ms : 1000;
    int hbto = 3 * hb;
    int linger = 2000;
    int sndto = o->send_timeout_ms ? o->send_timeout_ms : 30000;
    if (sndto < 0)
        sndto = -1;
    if (zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz) ||
        zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb) ||
        zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_TIMEOUT, &hbto, sizeof hbto) ||
        zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(s->sock, ZMQ_SNDTIMEO, &sndto, sizeof sndto))
        return fail(err, PPML_ENET, "zmq_setsockopt", NULL);
    if (o->curve && server) {
        int one = 1;
        if (zmq_setsockopt(s->sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
            zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, o->server_secret, 41))
            return fail(err, PPML_ENET, "CURVE server key", NULL);
    } else if (o->curve) {
        char pub[41], sec[41];
        rc = client_keypair(pub, sec, o, err);
        if (rc == PPML_OK && (zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY, o->server_public, 41) ||
                              zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, pub, 41) ||
                              zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, sec, 41)))
            rc = fail(err, PPML_ENET, "CURVE client keys", NULL);
        sodium_memzero(sec, sizeof sec);
        if (rc != PPML_OK)
            return rc;
    }
    if (monitor_open(s->ctx, s->sock, events, &s->mon) != 0)
        return fail(err, PPML_ENET, "zmq_socket_monitor", NULL);
    return PPML_OK;
}

int ppml_channel_curve_keypair(char public_z85[41], char secret_z85[41])
{
    if (!public_z85 || !secret_z85)
        return PPML_EINVAL;
    if (zmq_curve_keypair(public_z85, secret_z85) != 0)
        return PPML_ENOTSUP;
    return PPML_OK;
}

int ppml_channel_curve_decode(uint8_t raw[32], const char *z85)
{
    if (!raw || !z85 || strlen(z85) != 40)
        return PPML_EINVAL;
    return zmq_z85_decode(raw, z85) ? PPML_OK : PPML_EINVAL;
}

/* ---- client: DEALER ---- */

typedef struct zclient {
    zsock s;
    int connected; /* the handshake succeeded */
    int gone;      /* established connection lost, handshake failed, or the server closed us */
    int refused;   /* the server's ZAP handler refused our key */
} zclient;

static void client_event(void *arg, int event, int value)
{
    zclient *z = arg;
    (void)value;
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        z->connected = 1;
        break;
    case ZMQ_EVENT_DISCONNECTED:
        if (z->connected)
            z->gone = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: /* the server's allow-list lacks our key */
        z->refused = 1;
        z->gone = 1;
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        z->gone = 1; /* wrong server key: never retry silently */
        break;
    default:
        break;
    }
}

static int client_send(void *impl, const uint8_t *frame, size_t len)
{
    zclient *z = impl;
    monitor_drain(z->s.mon, client_event, z);
    if (z->gone)
        return PPML_ENET;
    if (zmq_send(z->s.sock, frame, len, 0) < 0)
        return send_error_code(zmq_errno());
    return PPML_OK;
}

static int client_recv(void *impl, uint8_t **frame, size_t *len, int timeout_ms)
{
    zclient *z = impl;
    long start = now_ms();
    for (;;) {
        /* Events first: a message that arrived before the disconnect is still read. */
        monitor_drain(z->s.mon, client_event, z);
        int was_gone = z->gone;
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->s.sock, ZMQ_DONTWAIT) >= 0) {
            int more = zmq_msg_more(&m);
            if (more) { /* a control message: the server refused or closed our session */
                zmq_msg_close(&m);
                skip_parts(z->s.sock, more);
                z->gone = 1;
                return PPML_ENET;
            }
            int rc = msg_copy(&m, frame, len);
            zmq_msg_close(&m);
            return rc;
        }
        zmq_msg_close(&m);
        if (was_gone)
            return PPML_ENET;
        long left = left_ms(start, timeout_ms);
        if (left == 0)
            return PPML_ETIMEOUT;
        if (wait_input(z->s.sock, z->s.mon, left) != PPML_OK)
            return PPML_ENET;
    }
}

static void client_close(void *impl)
{
    zclient *z = impl;
    if (!z)
        return;
    /* Once the peer is gone nothing queued can reach it: do not linger (and do not let the
     * socket's automatic reconnect deliver stale messages to a restarted server). */
    zsock_close(&z->s, z->gone ? 0 : 2000);
    free(z);
}

static const ppml_channel_ops client_ops = {client_send, client_recv, client_close};

/* Wait until the handshake succeeded (PPML_OK), failed (PPML_ENET) or timeout_ms passed. */
static int client_wait_handshake(zclient *z, int timeout_ms)
{
    long start = now_ms();
    for (;;) {
        monitor_drain(z->s.mon, client_event, z);
        if (z->gone)
            return PPML_ENET;
        if (z->connected)
            return PPML_OK;
        long left = left_ms(start, timeout_ms);
        if (left == 0)
            return PPML_ETIMEOUT;
        zmq_pollitem_t item = {z->s.mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, left) < 0 && zmq_errno() != EINTR)
            return PPML_ENET;
    }
}

int ppml_channel_tcp_connect(ppml_channel **out, const ppml_channel_tcp_opts *o, char err[PPML_ERR_LEN])
{
    if (!out)
        return PPML_EINVAL;
    zclient *z = calloc(1, sizeof *z);
    if (!z)
        return PPML_ENOMEM;
    size_t max_msg = 0;
    int rc = zsock_open(&z->s, &max_msg, o, ZMQ_DEALER,
                        ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
                        err);
    if (rc == PPML_OK && zmq_connect(z->s.sock, o->endpoint) != 0)
        rc = fail(err, PPML_ENET, "connect", o->endpoint);
    if (rc == PPML_OK && o->connect_timeout_ms > 0) {
        rc = client_wait_handshake(z, o->connect_timeout_ms);
        if (rc == PPML_ETIMEOUT && err)
            snprintf(err, PPML_ERR_LEN, "no server answered at %s within %d ms", o->endpoint,
                     o->connect_timeout_ms);
        else if (rc != PPML_OK && err && z->refused)
            snprintf(err, PPML_ERR_LEN, "%s refused this client's CURVE key (not allowed)",
                     o->endpoint);
        else if (rc != PPML_OK && err)
            snprintf(err, PPML_ERR_LEN, "CURVE handshake with %s failed (wrong server key?)",
                     o->endpoint);
    }
    if (rc == PPML_OK)
        rc = ppml_channel_new(out, &client_ops, z, max_msg);
    if (rc != PPML_OK)
        client_close(z);
    return rc;
}

/* ---- listener: ROUTER bound once, one session at a time ---- */

typedef struct peer_id {
    uint8_t id[ROUTING_ID_MAX];
    size_t id_len;
    int fd; /* the connection's descriptor (ZMQ_SRCFD), -1 if unknown */
} peer_id;

typedef struct held_msg {
    struct held_msg *next;
    peer_id from;
    uint8_t *data;
    size_t len;
} held_msg;

typedef struct zsession zsession;

struct ppml_channel_listener {
    zsock s;
    size_t max_msg;
    char endpoint[256];
    held_msg *held; /* FIFO of messages not yet read by a session */
    size_t held_count, held_bytes;
    peer_id ended[LISTEN_ENDED_MAX]; /* ring; id_len 0 = free slot */
    size_t ended_next;
    zsession *session; /* the open session, if any */
};

struct zsession {
    ppml_channel_listener *l; /* NULL once the listener was freed under it */
    int owns_listener;        /* ppml_channel_tcp_listen: freed with the session */
    int has_peer;
    int gone; /* the peer disconnected */
    peer_id peer;
};

static int same_id(const peer_id *a, const peer_id *b)
{
    return a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0;
}

static void held_unlink(ppml_channel_listener *l, held_msg **link)
{
    held_msg *h = *link;
    *link = h->next;
    l->held_count--;
    l->held_bytes -= h->len;
    free(h->data);
    free(h);
}

/* Drop the held messages of one peer (by routing id), or of one connection (by fd). */
static void held_drop(ppml_channel_listener *l, const peer_id *peer, int fd)
{
    for (held_msg **link = &l->held; *link;) {
        if ((peer && same_id(&(*link)->from, peer)) || (!peer && (*link)->from.fd == fd))
            held_unlink(l, link);
        else
            link = &(*link)->next;
    }
}

static void listener_event(void *arg, int event, int fd)
{
    ppml_channel_listener *l = arg;
    if (event != ZMQ_EVENT_DISCONNECTED || fd < 0)
        return;
    zsession *s = l->session;
    int session_fd = s && s->has_peer ? s->peer.fd : -1;
    if (session_fd == fd)
        s->gone = 1; /* its held messages stay readable */
    else
        held_drop(l, NULL, fd); /* a waiting peer left: nobody to answer */
    for (size_t i = 0; i < LISTEN_ENDED_MAX; i++)
        if (l->ended[i].id_len && l->ended[i].fd == fd)
            l->ended[i].id_len = 0;
}

static int is_ended(const ppml_channel_listener *l, const peer_id *p)
{
    for (size_t i = 0; i < LISTEN_ENDED_MAX; i++)
        if (l->ended[i].id_len && same_id(&l->ended[i], p))
            return 1;
    return 0;
}

static void send_control(ppml_channel_listener *l, const peer_id *to, uint8_t code)
{
    /* Best effort, never blocking: the peer may be gone or slow. */
    if (zmq_send(l->s.sock, to->id, to->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;
    (void)zmq_send(l->s.sock, NULL, 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    (void)zmq_send(l->s.sock, &code, 1, ZMQ_DONTWAIT);
}

/* Read at most one message from the socket and file it: held for the session or a waiting
 * peer, or refused. *got says whether a message was read. A multi-part message (never sent
 * by our clients) is held as an empty frame, which the channel core refuses as malformed. */
static int lst_intake(ppml_channel_listener *l, int *got)
{
    *got = 0;
    zmq_msg_t idm, m;
    zmq_msg_init(&idm);
    if (zmq_msg_recv(&idm, l->s.sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&idm);
        return zmq_errno() == EAGAIN || zmq_errno() == EINTR ? PPML_OK : PPML_ENET;
    }
    *got = 1;
    peer_id from = {{0}, zmq_msg_size(&idm), -1};
    int ok = zmq_msg_more(&idm) && from.id_len > 0 && from.id_len <= ROUTING_ID_MAX;
    if (ok)
        memcpy(from.id, zmq_msg_data(&idm), from.id_len);
    zmq_msg_close(&idm);
    zmq_msg_init(&m);
    if (!ok || zmq_msg_recv(&m, l->s.sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return PPML_OK; /* not a routed message: nothing to answer */
    }
    from.fd = zmq_msg_get(&m, ZMQ_SRCFD);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;
    if (zmq_msg_more(&m)) {
        skip_parts(l->s.sock, 1);
        rc = (data = malloc(1)) ? PPML_OK : PPML_ENOMEM;
    } else {
        rc = msg_copy(&m, &data, &len);
    }
    zmq_msg_close(&m);
    if (rc != PPML_OK)
        return rc;
    /* Events queued before this message arrived (a disconnect of an earlier connection on
     * the same descriptor) must be applied before the message is attributed. */
    monitor_drain(l->s.mon, listener_event, l);
    zsession *s = l->session;
    int for_session = s && s->has_peer && same_id(&s->peer, &from);
    int refuse = 0;
    if (for_session) /* the same id on another connection is not this session's peer */
        refuse = from.fd >= 0 && s->peer.fd >= 0 && from.fd != s->peer.fd ? CTL_CLOSED : 0;
    else if (is_ended(l, &from))
        refuse = CTL_CLOSED;
    else if (l->held_count >= LISTEN_QUEUE_MAX || l->held_bytes > l->max_msg ||
             len > l->max_msg - l->held_bytes)
        refuse = CTL_BUSY;
    held_msg *h = refuse ? NULL : malloc(sizeof *h);
    if (!h) {
        free(data);
        send_control(l, &from, refuse ? (uint8_t)refuse : CTL_BUSY);
        return PPML_OK;
    }
    *h = (held_msg){NULL, from, data, len};
    held_msg **tail = &l->held;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
    l->held_count++;
    l->held_bytes += len;
    return PPML_OK;
}

/* Wait until a message for session s is held (adopting the oldest waiting peer if s has no
 * peer yet). With out, the message is taken; without, s only adopts its peer. */
static int session_wait(zsession *s, int timeout_ms, held_msg **out)
{
    ppml_channel_listener *l = s->l;
    long start = now_ms();
    for (int first = 1;; first = 0) {
        if (!s->has_peer && l->held) {
            s->peer = l->held->from;
            s->has_peer = 1;
        }
        if (s->has_peer) {
            for (held_msg **link = &l->held; *link; link = &(*link)->next) {
                if (!same_id(&(*link)->from, &s->peer))
                    continue;
                if (!out)
                    return PPML_OK;
                held_msg *h = *link;
                *link = h->next;
                l->held_count--;
                l->held_bytes -= h->len;
                *out = h;
                return PPML_OK;
            }
            if (!out)
                return PPML_OK;
        }
        long left = left_ms(start, timeout_ms);
        if (left == 0 && !first) /* also under a flood of other peers' messages */
            return PPML_ETIMEOUT;
        monitor_drain(l->s.mon, listener_event, l);
        int was_gone = s->gone;
        int got = 0;
        int rc = lst_intake(l, &got);
        if (rc != PPML_OK)
            return rc;
        if (got)
            continue;
        if (was_gone) /* every message its peer sent before leaving has been read */
            return PPML_ENET;
        if (left == 0)
            return PPML_ETIMEOUT;
        if (wait_input(l->s.sock, l->s.mon, left) != PPML_OK)
            return PPML_ENET;
    }
}

static int session_recv(void *impl, uint8_t **frame, size_t *len, int timeout_ms)
{
    zsession *s = impl;
    if (!s->l)
        return PPML_ENET;
    held_msg *h = NULL;
    int rc = session_wait(s, timeout_ms, &h);
    if (rc != PPML_OK)
        return rc;
    *frame = h->data;
    *len = h->len;
    free(h);
    return PPML_OK;
}

static int session_send(void *impl, const uint8_t *frame, size_t len)
{
    zsession *s = impl;
    if (!s->l)
        return PPML_ENET;
    if (!s->has_peer)
        return PPML_ESTATE; /* nobody to answer yet */
    monitor_drain(s->l->s.mon, listener_event, s->l);
    if (s->gone)
        return PPML_ENET;
    void *sock = s->l->s.sock;
    /* ZMQ_ROUTER_MANDATORY: an unknown (disconnected) peer is EHOSTUNREACH, not a silent drop. */
    if (zmq_send(sock, s->peer.id, s->peer.id_len, ZMQ_SNDMORE) < 0) {
        int e = zmq_errno();
        if (e == EHOSTUNREACH)
            s->gone = 1;
        return send_error_code(e);
    }
    if (zmq_send(sock, frame, len, 0) < 0)
        return send_error_code(zmq_errno());
    return PPML_OK;
}

static void listener_forget_session(ppml_channel_listener *l, zsession *s)
{
    if (s->has_peer) {
        held_drop(l, &s->peer, -1);
        if (!s->gone) { /* its later messages get "closed", not a new session */
            l->ended[l->ended_next] = s->peer;
            l->ended_next = (l->ended_next + 1) % LISTEN_ENDED_MAX;
        }
    }
    l->session = NULL;
}

static void session_close(void *impl)
{
    zsession *s = impl;
    if (!s)
        return;
    if (s->l) {
        listener_forget_session(s->l, s);
        if (s->owns_listener)
            ppml_channel_listener_free(s->l);
    }
    free(s);
}

static const ppml_channel_ops session_ops = {session_send, session_recv, session_close};

int ppml_channel_tcp_listener_new(ppml_channel_listener **out, const ppml_channel_tcp_opts *o,
                                  char err[PPML_ERR_LEN])
{
    if (!out)
        return PPML_EINVAL;
    ppml_channel_listener *l = calloc(1, sizeof *l);
    if (!l)
        return PPML_ENOMEM;
    int rc = zsock_open(&l->s, &l->max_msg, o, ZMQ_ROUTER, ZMQ_EVENT_DISCONNECTED, err);
    if (rc == PPML_OK && o->curve && o->n_client_keys &&
        (rc = zap_start(&l->s.zap, l->s.ctx, o->client_keys, o->n_client_keys)) != PPML_OK)
        rc = fail(err, rc, "ZAP handler", ZAP_ENDPOINT);
    int one = 1;
    if (rc == PPML_OK &&
        zmq_setsockopt(l->s.sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0)
        rc = fail(err, PPML_ENET, "zmq_setsockopt", NULL);
    if (rc == PPML_OK && zmq_bind(l->s.sock, o->endpoint) != 0)
        rc = fail(err, PPML_ENET, "bind", o->endpoint);
    size_t n = sizeof l->endpoint;
    if (rc == PPML_OK && zmq_getsockopt(l->s.sock, ZMQ_LAST_ENDPOINT, l->endpoint, &n) != 0)
        rc = fail(err, PPML_ENET, "bind", o->endpoint);
    if (rc != PPML_OK) {
        ppml_channel_listener_free(l);
        return rc;
    }
    *out = l;
    return PPML_OK;
}

const char *ppml_channel_listener_endpoint(const ppml_channel_listener *l)
{
    return l ? l->endpoint : "";
}

void ppml_channel_listener_free(ppml_channel_listener *l)
{
    if (!l)
        return;
    if (l->session)
        l->session->l = NULL; /* its calls now fail with PPML_ENET */
    while (l->held)
        held_unlink(l, &l->held);
    zsock_close(&l->s, 1000);
    free(l);
}

static int session_new(ppml_channel **out, zsession **sp, ppml_channel_listener *l)
{
    if (l->session)
        return PPML_ESTATE;
    zsession *s = calloc(1, sizeof *s);
    if (!s)
        return PPML_ENOMEM;
    s->l = l;
    int rc = ppml_channel_new(out, &session_ops, s, l->max_msg);
    if (rc != PPML_OK) {
        free(s);
        return rc;
    }
    l->session = s;
    *sp = s;
    return PPML_OK;
}

int ppml_channel_tcp_accept(ppml_channel_listener *l, ppml_channel **out, int timeout_ms)
{
    if (!l || !out)
        return PPML_EINVAL;
    ppml_channel *ch = NULL;
    zsession *s = NULL;
    int rc = session_new(&ch, &s, l);
    if (rc == PPML_OK)
        rc = session_wait(s, timeout_ms, NULL);
    if (rc != PPML_OK) {
        ppml_channel_free(ch);
        return rc;
    }
    *out = ch;
    return PPML_OK;
}

int ppml_channel_tcp_listen(ppml_channel **out, const ppml_channel_tcp_opts *o, char err[PPML_ERR_LEN])
{
    if (!out)
        return PPML_EINVAL;
    ppml_channel_listener *l = NULL;
    int rc = ppml_channel_tcp_listener_new(&l, o, err);
    if (rc != PPML_OK)
        return rc;
    zsession *s = NULL;
    rc = session_new(out, &s, l);
    if (rc != PPML_OK) {
        ppml_channel_listener_free(l);
        return rc;
    }
    s->owns_listener = 1; /* the peer is adopted by the first recv */
    return PPML_OK;
}
