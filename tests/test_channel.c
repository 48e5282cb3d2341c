/* Channels: round trips over both transports; malformed, oversized, wrong-type and
 * out-of-range messages give errors (never a crash or a hang); peer death is detected. */
#include "test.h"
#include "test_tcp.h"

#include "ppml/channel.h"
#include "ppml/serial.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Echo peer: returns every message with type + 1; a malformed one is answered 0xEEEE.
 * Returns when a receive or send fails or the peer sends 0xFFFF (0) or 0xFFFE (1: stop
 * serving); 0xDEAD kills the process without closing anything (TCP server children only). */
static int echo_serve(ppml_channel *ch)
{
    for (;;) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        int rc = ppml_channel_recv(ch, &t, &p, &n, 10000);
        if (rc == PPML_EPROTO) {
            /* report the malformed message to the sender, keep serving */
            if (ppml_channel_send(ch, 0xEEEE, NULL, 0) != PPML_OK)
                return 0;
            continue;
        }
        if (rc != PPML_OK)
            return 0;
        if (t == 0xFFFF || t == 0xFFFE) {
            free(p);
            return t == 0xFFFE;
        }
        if (t == 0xDEAD)
            _exit(0);
        rc = ppml_channel_send(ch, (uint16_t)(t + 1), p, n);
        free(p);
        if (rc != PPML_OK)
            return 0;
    }
}

static void *echo_thread(void *arg)
{
    echo_serve(arg);
    return NULL;
}

static void round_trips(ppml_channel *ch)
{
    static const size_t sizes[] = {0, 1, 5, 6, 100, 4096, 65537};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *buf = malloc(n + 1);
        ppml_randombytes(buf, n + 1);
        CHECK_OK(ppml_channel_send(ch, (uint16_t)(10 + i), buf, n));
        uint16_t t = 0;
        uint8_t *p = NULL;
        size_t got = 0;
        CHECK_OK(ppml_channel_recv(ch, &t, &p, &got, 10000));
        CHECK(t == 11 + i);
        CHECK(got == n);
        CHECK(n == 0 || (p && memcmp(p, buf, n) == 0));
        free(p);
        free(buf);
    }
}

/* Raw malformed frames: the receiver answers 0xEEEE (it saw PPML_EPROTO) and keeps going. */
static void malformed_frames(ppml_channel *ch)
{
    uint8_t bad[16] = {1, 0, 9, 0, 0, 0, 1, 2, 3}; /* declares 9 payload bytes, has 3 */
    const size_t lens[] = {0, 3, 9, 16};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        CHECK_OK(ppml_channel_send_raw(ch, bad, lens[i]));
        uint16_t t;
        uint8_t *p = NULL;
        size_t n;
        CHECK_OK(ppml_channel_recv(ch, &t, &p, &n, 10000));
        CHECK(t == 0xEEEE);
        free(p);
    }
}

static void test_inproc(void)
{
    ppml_channel *a = NULL, *b = NULL;
    CHECK_OK(ppml_channel_pair_inproc(&a, &b, 1 << 20, 4));
    pthread_t th;
    pthread_create(&th, NULL, echo_thread, b);
    round_trips(a);
    malformed_frames(a);

    /* sender-side bound */
    uint8_t *big = calloc(1, (1 << 20) + 1);
    CHECK_ERR(ppml_channel_send(a, 1, big, (1 << 20) + 1), PPML_ERANGE);
    /* oversized raw frame: the receiver refuses it */
    uint8_t hdr[6] = {1, 0, 1, 0, 0x10, 0};
    memcpy(big, hdr, 6);
    CHECK_OK(ppml_channel_send_raw(a, big, (1 << 20) + 1));
    {
        uint16_t t;
        uint8_t *p = NULL;
        size_t n;
        CHECK_OK(ppml_channel_recv(a, &t, &p, &n, 10000));
        CHECK(t == 0xEEEE);
        free(p);
    }
    free(big);

    /* wrong type through recv_expect */
    CHECK_OK(ppml_channel_send(a, 41, (const uint8_t *)"x", 1));
    uint8_t *p = NULL;
    size_t n;
    ppml_channel_set_timeout(a, 10000);
    CHECK_ERR(ppml_channel_recv_expect(a, 41, &p, &n), PPML_EPROTO);
    CHECK_OK(ppml_channel_send(a, 41, (const uint8_t *)"x", 1));
    CHECK_OK(ppml_channel_recv_expect(a, 42, &p, &n));
    free(p);

    /* timeout: the echo peer sends nothing unprompted */
    uint16_t t;
    CHECK_ERR(ppml_channel_recv(a, &t, &p, &n, 50), PPML_ETIMEOUT);

    /* peer death: stop the echo thread, free its end */
    CHECK_OK(ppml_channel_send(a, 0xFFFF, NULL, 0));
    pthread_join(th, NULL);
    ppml_channel_free(b);
    CHECK_ERR(ppml_channel_recv(a, &t, &p, &n, 5000), PPML_ENET);
    CHECK_ERR(ppml_channel_send(a, 1, NULL, 0), PPML_ENET);
    ppml_channel_free(a);

    /* a peer dying while the other waits */
    CHECK_OK(ppml_channel_pair_inproc(&a, &b, 0, 0));
    pthread_create(&th, NULL, echo_thread, b);
    CHECK_OK(ppml_channel_send(a, 0xFFFF, NULL, 0));
    pthread_join(th, NULL);
    ppml_channel_free(b);
    CHECK_ERR(ppml_channel_recv(a, &t, &p, &n, PPML_TIMEOUT_INFINITE), PPML_ENET);
    ppml_channel_free(a);
}

static void test_frame_parse(void)
{
    uint8_t f[10] = {7, 1, 4, 0, 0, 0, 'a', 'b', 'c', 'd'};
    uint16_t t;
    const uint8_t *p;
    size_t n;
    CHECK_OK(ppml_frame_parse(f, 10, 100, &t, &p, &n));
    CHECK(t == 0x0107 && n == 4 && p == f + 6);
    CHECK_ERR(ppml_frame_parse(f, 9, 100, &t, &p, &n), PPML_EPROTO);
    CHECK_ERR(ppml_frame_parse(f, 5, 100, &t, &p, &n), PPML_EPROTO);
    CHECK_ERR(ppml_frame_parse(f, 10, 3, &t, &p, &n), PPML_EPROTO);
    f[5] = 0x80;
    CHECK_ERR(ppml_frame_parse(f, 10, 100, &t, &p, &n), PPML_EPROTO);
}

static void test_mpzvec(void)
{
    mpz_t bound, v[5], w[5];
    mpz_init_set_ui(bound, 1);
    mpz_mul_2exp(bound, bound, 300);
    for (int i = 0; i < 5; i++) {
        mpz_inits(v[i], w[i], NULL);
        ppml_rand_mpz_below(v[i], bound);
        mpz_set_ui(w[i], 77);
    }
    mpz_set_ui(v[0], 0);
    mpz_sub_ui(v[4], bound, 1); /* boundary: largest allowed */
    ppml_writer wr;
    ppml_writer_init(&wr);
    ppml_msg_write_mpzvec(&wr, (const mpz_t *)v, 5);
    CHECK_OK(wr.err);
    ppml_reader r;
    ppml_reader_init(&r, wr.data, wr.len);
    CHECK_OK(ppml_msg_read_mpzvec_exact(&r, w, 5, bound));
    CHECK_OK(ppml_reader_done(&r));
    for (int i = 0; i < 5; i++)
        CHECK(mpz_cmp(v[i], w[i]) == 0);
    /* wrong count */
    ppml_reader_init(&r, wr.data, wr.len);
    CHECK_ERR(ppml_msg_read_mpzvec_exact(&r, w, 4, bound), PPML_EPROTO);
    CHECK(r.pos == 0);
    /* out of range: a smaller bound */
    mpz_t small;
    mpz_init_set(small, v[4]);
    ppml_reader_init(&r, wr.data, wr.len);
    mpz_t *out = NULL;
    size_t cnt = 0;
    CHECK_ERR(ppml_msg_read_mpzvec(&r, &out, &cnt, 10, small), PPML_ERANGE);
    CHECK(out == NULL);
    /* count above max */
    ppml_reader_init(&r, wr.data, wr.len);
    CHECK_ERR(ppml_msg_read_mpzvec(&r, &out, &cnt, 4, bound), PPML_EPROTO);
    /* huge declared count with few bytes: refused before allocation */
    uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    ppml_reader_init(&r, huge, sizeof huge);
    CHECK_ERR(ppml_msg_read_mpzvec(&r, &out, &cnt, SIZE_MAX, bound), PPML_EPROTO);
    /* every truncation fails */
    for (size_t cut = 0; cut < wr.len; cut++) {
        ppml_reader_init(&r, wr.data, cut);
        CHECK_FAILS(ppml_msg_read_mpzvec(&r, &out, &cnt, 10, bound));
    }
    ppml_reader_init(&r, wr.data, wr.len);
    CHECK_OK(ppml_msg_read_mpzvec(&r, &out, &cnt, 10, bound));
    CHECK(cnt == 5 && mpz_cmp(out[3], v[3]) == 0);
    ppml_msg_mpzvec_free(out, cnt);
    ppml_writer_clear(&wr);
    for (int i = 0; i < 5; i++)
        mpz_clears(v[i], w[i], NULL);
    mpz_clears(bound, small, NULL);
}

/* ---- TCP: a forked server process ---- */

static int wait_child(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* Client keys a listener allows (none: any client). */
typedef struct allow_list {
    const char (*keys)[41];
    size_t n;
} allow_list;

/* Child: a listener on a port the system picks (so no two tests can collide), its address
 * written to ready_fd, then sessions one after another until told to exit (status 0), or 3
 * if nothing came for 20 s. */
typedef struct listener_args {
    const char *sec;
    size_t max_msg;
    allow_list allow;
} listener_args;

static void listener_child(int ready_fd, void *arg)
{
    const listener_args *la = arg;
    const char *sec = la->sec;
    size_t max_msg = la->max_msg;
    allow_list allow = la->allow;
    ppml_channel_tcp_opts o = {.endpoint = "tcp://127.0.0.1:*", .curve = sec != NULL,
                               .server_secret = sec, .max_msg = max_msg, .heartbeat_ms = 200,
                               .client_keys = allow.keys, .n_client_keys = allow.n};
    ppml_channel_listener *l = NULL;
    char err[PPML_ERR_LEN], ep[TEST_EP_LEN] = "";
    if (ppml_channel_tcp_listener_new(&l, &o, err) == PPML_OK)
        snprintf(ep, sizeof ep, "%s", ppml_channel_listener_endpoint(l));
    if (write(ready_fd, ep, sizeof ep) != (ssize_t)sizeof ep || !l)
        _exit(2);
    close(ready_fd);
    for (;;) {
        ppml_channel *s = NULL;
        if (ppml_channel_tcp_accept(l, &s, 20000) != PPML_OK)
            _exit(3);
        int stop = echo_serve(s); /* a session ends on 0xFFFF, a disconnect or silence */
        ppml_channel_free(s);
        if (stop)
            break;
    }
    ppml_channel_listener_free(l);
    _exit(0);
}

static pid_t start_listener(char ep[TEST_EP_LEN], const char *sec, size_t max_msg, allow_list allow)
{
    listener_args la = {sec, max_msg, allow};
    return test_fork_server(ep, listener_child, &la);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A client with the long-term secret key csec (NULL: a fresh key pair). */
static ppml_channel *client_as(const char *ep, const char *pub, const char *csec,
                               int connect_timeout_ms)
{
    ppml_channel_tcp_opts o = {.endpoint = ep, .curve = 1, .server_public = pub,
                               .heartbeat_ms = 200, .connect_timeout_ms = connect_timeout_ms,
                               .client_secret = csec};
    ppml_channel *c = NULL;
    char err[PPML_ERR_LEN];
    CHECK_OK(ppml_channel_tcp_connect(&c, &o, err));
    return c;
}

static ppml_channel *client(const char *ep, const char *pub, int connect_timeout_ms)
{
    return client_as(ep, pub, NULL, connect_timeout_ms);
}

/* One message of type t and n bytes, answered with t + 1 and the same bytes. */
static int echo_once(ppml_channel *c, uint16_t t, size_t n)
{
    uint8_t *buf = calloc(1, n + 1), *p = NULL;
    ppml_randombytes(buf, n);
    uint16_t got_t = 0;
    size_t got = 0;
    int rc = ppml_channel_send(c, t, buf, n);
    if (rc == PPML_OK)
        rc = ppml_channel_recv(c, &got_t, &p, &got, 10000);
    if (rc == PPML_OK && (got_t != t + 1 || got != n || (n && memcmp(p, buf, n) != 0)))
        rc = PPML_EPROTO;
    free(p);
    free(buf);
    return rc;
}

static int recv_status(ppml_channel *c, int timeout_ms)
{
    uint16_t t;
    uint8_t *p = NULL;
    size_t n;
    int rc = ppml_channel_recv(c, &t, &p, &n, timeout_ms);
    free(p);
    return rc;
}

static void stop_listener(pid_t pid, const char *ep, const char *pub, const char *csec)
{
    ppml_channel *c = client_as(ep, pub, csec, 0);
    if (c)
        CHECK_OK(ppml_channel_send(c, 0xFFFE, NULL, 0));
    CHECK(wait_child(pid) == 0);
    ppml_channel_free(c);
}

static void test_tcp(void)
{
    char pub[41], sec[41], ep[TEST_EP_LEN], err[PPML_ERR_LEN];
    CHECK_OK(ppml_channel_curve_keypair(pub, sec));

    /* 1. CURVE round trips and malformed frames; then the session ends and the same listener
     * serves the next client */
    pid_t pid = start_listener(ep, sec, 1 << 20, (allow_list){NULL, 0});
    CHECK(pid > 0);
    ppml_channel *c = client(ep, pub, 10000);
    if (c) {
        round_trips(c);
        malformed_frames(c);
        CHECK_OK(ppml_channel_send(c, 0xFFFF, NULL, 0));
        /* its session ended: a later message is refused (never a new session) */
        CHECK_OK(ppml_channel_send(c, 7, NULL, 0));
        CHECK_ERR(recv_status(c, 10000), PPML_ENET);
    }
    ppml_channel_free(c);
    c = client(ep, pub, 0); /* no handshake wait: the first message is queued */
    if (c)
        round_trips(c);
    ppml_channel_free(c); /* mid-session: the server moves on */
    char cpub[41], csec[41];
    CHECK_OK(ppml_channel_curve_keypair(cpub, csec));
    c = client_as(ep, pub, csec, 10000); /* no allow-list: a long-term client key is served too */
    if (c)
        CHECK_OK(echo_once(c, 9, 10));
    ppml_channel_free(c);
    stop_listener(pid, ep, pub, NULL);

    /* 2. peer death: the server exits abruptly; the client's recv returns PPML_ENET */
    pid = start_listener(ep, sec, 0, (allow_list){NULL, 0});
    c = client(ep, pub, 0);
    if (c) {
        CHECK_OK(echo_once(c, 3, 100));
        CHECK_OK(ppml_channel_send(c, 0xDEAD, NULL, 0));
        CHECK_ERR(recv_status(c, 10000), PPML_ENET);
        CHECK_ERR(ppml_channel_send(c, 1, NULL, 0), PPML_ENET);
    }
    CHECK(wait_child(pid) == 0);
    ppml_channel_free(c);

    /* 3. a listener survives bad clients and answers the next one correctly:
     *    a: disconnects mid-session (a request sent, the answer never read);
     *    b: truncated and garbage frames (error replies), then normal requests, while
     *       d waits for its session (its request held) and e is refused (the held bytes
     *       would exceed the 1 KiB bound: "busy");
     *    f: an oversized frame (ZMQ_MAXMSGSIZE drops its connection);
     *    g: a wrong server key (the handshake fails at once). */
    pid = start_listener(ep, sec, 1024, (allow_list){NULL, 0});
    ppml_channel *a = client(ep, pub, 10000);
    if (a) {
        CHECK_OK(echo_once(a, 3, 10));
        CHECK_OK(ppml_channel_send(a, 5, (const uint8_t *)"abc", 3));
    }
    ppml_channel_free(a);
    ppml_channel *b = client(ep, pub, 10000), *d = client(ep, pub, 10000),
                 *e = client(ep, pub, 10000);
    if (b && d && e) {
        malformed_frames(b);
        CHECK_OK(echo_once(b, 20, 1000));
        uint8_t big[1000] = {0};
        CHECK_OK(ppml_channel_send(d, 30, big, sizeof big));
        sleep_ms(200); /* d's request is held before e's arrives */
        CHECK_OK(ppml_channel_send(e, 40, big, sizeof big));
        CHECK_ERR(recv_status(e, 10000), PPML_ENET);
        CHECK_OK(echo_once(b, 21, 0));
        CHECK_OK(ppml_channel_send(b, 0xFFFF, NULL, 0));
        uint16_t t = 0;
        uint8_t *p = NULL;
        size_t n = 0;
        CHECK_OK(ppml_channel_recv(d, &t, &p, &n, 10000)); /* d's held request is served */
        CHECK(t == 31 && n == sizeof big);
        free(p);
        CHECK_OK(ppml_channel_send(d, 0xFFFF, NULL, 0));
    }
    ppml_channel_free(b);
    ppml_channel_free(d);
    ppml_channel_free(e);
    ppml_channel *f = client(ep, pub, 10000);
    if (f) {
        uint8_t *big = calloc(1, 8192);
        uint8_t hdr[6] = {1, 0, 0xFA, 0x1F, 0, 0};
        memcpy(big, hdr, 6);
        CHECK_OK(ppml_channel_send_raw(f, big, 8192));
        free(big);
        CHECK_ERR(recv_status(f, 10000), PPML_ENET);
    }
    ppml_channel_free(f);
    char pub2[41], sec2[41];
    CHECK_OK(ppml_channel_curve_keypair(pub2, sec2));
    ppml_channel_tcp_opts wrong = {.endpoint = ep, .curve = 1, .server_public = pub2,
                                   .connect_timeout_ms = 10000};
    ppml_channel *g = NULL;
    err[0] = 0;
    CHECK_ERR(ppml_channel_tcp_connect(&g, &wrong, err), PPML_ENET);
    CHECK(g == NULL && strstr(err, "handshake") != NULL);
    wrong.connect_timeout_ms = 0; /* asynchronous: the failure shows on the first recv */
    CHECK_OK(ppml_channel_tcp_connect(&g, &wrong, err));
    if (g) {
        CHECK_OK(ppml_channel_send(g, 1, NULL, 0));
        CHECK_ERR(recv_status(g, 10000), PPML_ENET);
    }
    ppml_channel_free(g);
    c = client(ep, pub, 10000);
    if (c) {
        CHECK_OK(echo_once(c, 50, 1000));
        CHECK_OK(echo_once(c, 52, 0));
        CHECK_OK(ppml_channel_send(c, 0xFFFF, NULL, 0));
    }
    ppml_channel_free(c);
    stop_listener(pid, ep, pub, NULL);

    /* 4. no server: a bounded wait with a clear error; a listener's port is taken */
    ppml_channel_tcp_opts none = {.endpoint = ep, .curve = 1, .server_public = pub,
                                  .connect_timeout_ms = 300};
    c = NULL;
    err[0] = 0;
    CHECK_ERR(ppml_channel_tcp_connect(&c, &none, err), PPML_ETIMEOUT);
    CHECK(c == NULL && strstr(err, "no server answered") != NULL);
    ppml_channel_listener *l = NULL, *l2 = NULL;
    ppml_channel_tcp_opts lo = {.endpoint = "tcp://127.0.0.1:*", .curve = 1, .server_secret = sec};
    CHECK_OK(ppml_channel_tcp_listener_new(&l, &lo, err));
    if (l) {
        lo.endpoint = ppml_channel_listener_endpoint(l);
        CHECK_ERR(ppml_channel_tcp_listener_new(&l2, &lo, err), PPML_ENET);
        CHECK(l2 == NULL && strstr(err, "bind") != NULL);
        ppml_channel *s = NULL;
        CHECK_ERR(ppml_channel_tcp_accept(l, &s, 50), PPML_ETIMEOUT);
        CHECK(s == NULL);
    }
    ppml_channel_listener_free(l);

    /* 5. ppml_channel_tcp_listen (one session, the first recv waits for the client) */
    ppml_channel *srv = NULL;
    lo.endpoint = "tcp://127.0.0.1:*";
    CHECK_OK(ppml_channel_tcp_listen(&srv, &lo, err));
    if (srv) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        CHECK_ERR(ppml_channel_send(srv, 1, NULL, 0), PPML_ESTATE);
        CHECK_ERR(ppml_channel_recv(srv, &t, &p, &n, 50), PPML_ETIMEOUT);
    }
    ppml_channel_free(srv);

    /* bad arguments */
    ppml_channel_tcp_opts bad = {.endpoint = ep, .curve = 1, .server_public = "short"};
    CHECK_ERR(ppml_channel_tcp_connect(&c, &bad, err), PPML_EINVAL);
    CHECK_ERR(ppml_channel_tcp_listener_new(&l, &bad, err), PPML_EINVAL);
}

/* Connect with client key csec (derived public key, or cpub given) and expect rc. */
static void connect_expect(const char *ep, const char *pub, const char *cpub, const char *csec,
                           int rc, const char *err_has)
{
    ppml_channel_tcp_opts o = {.endpoint = ep, .curve = 1, .server_public = pub,
                               .heartbeat_ms = 200, .connect_timeout_ms = 10000,
                               .client_public = cpub, .client_secret = csec};
    ppml_channel *c = NULL;
    char err[PPML_ERR_LEN] = "";
    CHECK_ERR(ppml_channel_tcp_connect(&c, &o, err), rc);
    CHECK(err_has == NULL || strstr(err, err_has) != NULL);
    ppml_channel_free(c);
}

/* A listener with an allow-list (ZAP): allowed keys are served, others refused at the
 * handshake, and the listener keeps serving the allowed ones. */
static void test_tcp_allow(void)
{
    char pub[41], sec[41], ep[TEST_EP_LEN], err[PPML_ERR_LEN];
    char keys[2][41], csec[2][41], opub[41], osec[41];
    CHECK_OK(ppml_channel_curve_keypair(pub, sec));
    for (int i = 0; i < 2; i++)
        CHECK_OK(ppml_channel_curve_keypair(keys[i], csec[i]));
    CHECK_OK(ppml_channel_curve_keypair(opub, osec));
    allow_list allow = {(const char(*)[41])keys, 2};

    pid_t pid = start_listener(ep, sec, 0, allow);
    CHECK(pid > 0);
    ppml_channel *c = client_as(ep, pub, csec[0], 10000);
    if (c) {
        round_trips(c);
        CHECK_OK(ppml_channel_send(c, 0xFFFF, NULL, 0));
    }
    ppml_channel_free(c);
    /* another key, and a fresh one: refused with a clear error, at once */
    connect_expect(ep, pub, NULL, osec, PPML_ENET, "refused");
    connect_expect(ep, pub, NULL, NULL, PPML_ENET, "refused");
    ppml_channel_tcp_opts o = {.endpoint = ep, .curve = 1, .server_public = pub,
                               .client_secret = osec}; /* asynchronous: the first recv fails */
    CHECK_OK(ppml_channel_tcp_connect(&c, &o, err));
    if (c) {
        CHECK_OK(ppml_channel_send(c, 1, NULL, 0));
        CHECK_ERR(recv_status(c, 10000), PPML_ENET);
    }
    ppml_channel_free(c);
    /* the listener still serves allowed clients (public key given, or derived) */
    connect_expect(ep, pub, keys[1], csec[1], PPML_OK, NULL);
    c = client_as(ep, pub, csec[1], 10000);
    if (c) {
        CHECK_OK(echo_once(c, 60, 1000));
        CHECK_OK(ppml_channel_send(c, 0xFFFF, NULL, 0));
    }
    ppml_channel_free(c);
    stop_listener(pid, ep, pub, csec[0]);

    /* in this process: the ZAP thread answers without accept, and stops with the listener */
    ppml_channel_listener *l = NULL;
    ppml_channel_tcp_opts lo = {.endpoint = "tcp://127.0.0.1:*", .curve = 1, .server_secret = sec,
                                .client_keys = (const char(*)[41])keys, .n_client_keys = 1};
    CHECK_OK(ppml_channel_tcp_listener_new(&l, &lo, err));
    if (l) {
        const char *lep = ppml_channel_listener_endpoint(l);
        connect_expect(lep, pub, NULL, csec[1], PPML_ENET, "refused");
        c = client_as(lep, pub, csec[0], 10000);
        ppml_channel_free(c);
    }
    ppml_channel_listener_free(l);

    /* bad arguments */
    connect_expect(ep, pub, keys[1], csec[0], PPML_EINVAL, "does not match");
    connect_expect(ep, pub, keys[1], NULL, PPML_EINVAL, NULL);
    connect_expect(ep, pub, NULL, "short", PPML_EINVAL, NULL);
    const char bad_keys[1][41] = {"~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~"};
    lo.client_keys = bad_keys;
    l = NULL;
    CHECK_ERR(ppml_channel_tcp_listener_new(&l, &lo, err), PPML_EINVAL);
    lo.client_keys = (const char(*)[41])keys;
    lo.curve = 0;
    CHECK_ERR(ppml_channel_tcp_listener_new(&l, &lo, err), PPML_EINVAL);
    CHECK(l == NULL);
    memset(csec, 0, sizeof csec);
}

int main(void)
{
    test_init();
    signal(SIGPIPE, SIG_IGN);
    test_frame_parse();
    test_mpzvec();
    test_inproc();
    test_tcp();
    test_tcp_allow();
    return test_finish("test_channel");
}
