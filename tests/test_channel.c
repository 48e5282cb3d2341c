/* Channels: round trips over both transports; malformed, oversized, wrong-type and
 * out-of-range messages give errors (never a crash or a hang); peer death is detected. */
#include "test.h"

#include "ppml/channel.h"
#include "ppml/serial.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Echo peer: returns every message with type + 1 until it gets type 0xFFFF. */
static void *echo_thread(void *arg)
{
    ppml_channel *ch = arg;
    for (;;) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        int rc = ppml_channel_recv(ch, &t, &p, &n, 10000);
        if (rc == PPML_EPROTO) {
            /* report the malformed message to the sender, keep serving */
            if (ppml_channel_send(ch, 0xEEEE, NULL, 0) != PPML_OK)
                break;
            continue;
        }
        if (rc != PPML_OK)
            break;
        if (t == 0xFFFF) {
            free(p);
            break;
        }
        rc = ppml_channel_send(ch, (uint16_t)(t + 1), p, n);
        free(p);
        if (rc != PPML_OK)
            break;
    }
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

static int pick_port(void) { return 20000 + (int)ppml_rand_below(30000); }

/* Child: echo server; exits 0 after a clean stop, 3 if a receive failed with an error other
 * than the one expected (expect_err), 0 when it saw expect_err. */
static void tcp_server_child(const char *ep, const char *sec, size_t max_msg, int expect_err, int ready_fd)
{
    ppml_channel_tcp_opts o = {.endpoint = ep, .curve = sec != NULL, .server_secret = sec,
                               .max_msg = max_msg, .heartbeat_ms = 200};
    ppml_channel *ch = NULL;
    char err[PPML_ERR_LEN];
    /* tell the parent whether the port was free (other tests may hold it) */
    uint8_t ok = ppml_channel_tcp_listen(&ch, &o, err) == PPML_OK;
    if (write(ready_fd, &ok, 1) != 1 || !ok)
        _exit(2);
    close(ready_fd);
    for (;;) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        int rc = ppml_channel_recv(ch, &t, &p, &n, 20000);
        if (rc == PPML_EPROTO) {
            if (ppml_channel_send(ch, 0xEEEE, NULL, 0) != PPML_OK)
                _exit(4);
            continue;
        }
        if (rc != PPML_OK) {
            ppml_channel_free(ch);
            _exit(rc == expect_err ? 0 : 3);
        }
        if (t == 0xFFFF) {
            free(p);
            ppml_channel_free(ch);
            _exit(0);
        }
        if (t == 0xDEAD)
            _exit(0); /* die abruptly, without closing */
        if (ppml_channel_send(ch, (uint16_t)(t + 1), p, n) != PPML_OK)
            _exit(5);
        free(p);
    }
}

static int wait_child(pid_t pid);

/* Fork a server on a random free port (retrying while ports are taken). */
static pid_t start_server(char *ep, size_t eplen, const char *sec, size_t max_msg, int expect_err)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        snprintf(ep, eplen, "tcp://127.0.0.1:%d", pick_port());
        int fds[2];
        if (pipe(fds) != 0)
            return -1;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            tcp_server_child(ep, sec, max_msg, expect_err, fds[1]);
        }
        close(fds[1]);
        uint8_t ok = 0;
        ssize_t got = read(fds[0], &ok, 1);
        close(fds[0]);
        if (got == 1 && ok)
            return pid;
        wait_child(pid);
    }
    return -1;
}

static int wait_child(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void test_tcp(void)
{
    char pub[41], sec[41], ep[64], err[PPML_ERR_LEN];
    CHECK_OK(ppml_channel_curve_keypair(pub, sec));

    /* 1. CURVE round trips, malformed frames, clean stop */
    pid_t pid = start_server(ep, sizeof ep, sec, 1 << 20, PPML_OK);
    ppml_channel_tcp_opts o = {.endpoint = ep, .curve = 1, .server_public = pub, .heartbeat_ms = 200};
    ppml_channel *c = NULL;
    CHECK_OK(ppml_channel_tcp_connect(&c, &o, err));
    if (c) {
        round_trips(c);
        malformed_frames(c);
        CHECK_OK(ppml_channel_send(c, 0xFFFF, NULL, 0));
    }
    CHECK(wait_child(pid) == 0);
    ppml_channel_free(c);

    /* 2. peer death: the server exits abruptly; the client's recv returns PPML_ENET */
    pid = start_server(ep, sizeof ep, sec, 0, PPML_OK);
    c = NULL;
    CHECK_OK(ppml_channel_tcp_connect(&c, &o, err));
    if (c) {
        round_trips(c);
        CHECK_OK(ppml_channel_send(c, 0xDEAD, NULL, 0));
        uint16_t t;
        uint8_t *p;
        size_t n;
        CHECK_ERR(ppml_channel_recv(c, &t, &p, &n, 10000), PPML_ENET);
    }
    CHECK(wait_child(pid) == 0);
    ppml_channel_free(c);

    /* 3. oversized frame: the server (max 1 KiB) drops the connection; it must see an error
     * (PPML_ENET: ZMQ_MAXMSGSIZE), not crash */
    pid = start_server(ep, sizeof ep, sec, 1024, PPML_ENET);
    c = NULL;
    CHECK_OK(ppml_channel_tcp_connect(&c, &o, err));
    if (c) {
        uint8_t *big = calloc(1, 8192);
        uint8_t hdr[6] = {1, 0, 0xFA, 0x1F, 0, 0};
        memcpy(big, hdr, 6);
        CHECK_OK(ppml_channel_send_raw(c, big, 8192));
        free(big);
    }
    CHECK(wait_child(pid) == 0);
    ppml_channel_free(c);

    /* 4. wrong server key: the client fails (ENET) or times out, never hangs */
    char pub2[41], sec2[41];
    CHECK_OK(ppml_channel_curve_keypair(pub2, sec2));
    pid = start_server(ep, sizeof ep, sec, 0, PPML_ETIMEOUT);
    ppml_channel_tcp_opts o2 = o;
    o2.server_public = pub2;
    c = NULL;
    CHECK_OK(ppml_channel_tcp_connect(&c, &o2, err));
    if (c) {
        uint16_t t;
        uint8_t *p;
        size_t n;
        int rc = ppml_channel_recv(c, &t, &p, &n, 1500);
        CHECK(rc == PPML_ENET || rc == PPML_ETIMEOUT);
    }
    ppml_channel_free(c);
    kill(pid, SIGTERM);
    wait_child(pid);

    /* bad arguments */
    ppml_channel_tcp_opts bad = {.endpoint = ep, .curve = 1, .server_public = "short"};
    CHECK_ERR(ppml_channel_tcp_connect(&c, &bad, err), PPML_EINVAL);
}

int main(void)
{
    test_init();
    signal(SIGPIPE, SIG_IGN);
    test_frame_parse();
    test_mpzvec();
    test_inproc();
    test_tcp();
    return test_finish("test_channel");
}
