/* Tests with a server in a child process over TCP on loopback: the child binds a port the
 * system picks (tcp://127.0.0.1:*), so parallel tests and builds never collide, and hands the
 * address to the parent through a pipe. */
#ifndef PPML_TEST_TCP_H
#define PPML_TEST_TCP_H
#include "ppml/channel.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_EP_LEN 128

/* Forks child(ready_fd, ctx), which must write its TEST_EP_LEN-byte endpoint (empty: failed
 * to start) to ready_fd and end with _exit. Returns the child's pid with the endpoint in ep,
 * or -1 if the child did not start (it is reaped). */
static inline pid_t test_fork_server(char ep[TEST_EP_LEN], void (*child)(int ready_fd, void *ctx), void *ctx)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], ctx);
        _exit(4); /* child() must not return */
    }
    close(fds[1]);
    ssize_t got = pid > 0 ? read(fds[0], ep, TEST_EP_LEN) : -1;
    close(fds[0]);
    if (pid > 0 && (got != TEST_EP_LEN || !ep[0])) {
        waitpid(pid, NULL, 0);
        return -1;
    }
    if (pid > 0)
        ep[TEST_EP_LEN - 1] = 0;
    return pid;
}

typedef int (*test_tcp_serve_fn)(ppml_channel *session, void *ctx);

typedef struct test_one_session {
    const char *sec;
    test_tcp_serve_fn serve;
    void *ctx;
} test_one_session;

/* Child: a CURVE listener that serves one session with serve(session, ctx); exit status 0 on
 * PPML_OK, 2 without a listener, 3 if serving failed. */
static inline void one_session_child(int ready_fd, void *arg)
{
    test_one_session *a = arg;
    char err[PPML_ERR_LEN], addr[TEST_EP_LEN] = {0};
    ppml_channel_tcp_opts o = {.endpoint = "tcp://127.0.0.1:*", .curve = 1, .server_secret = a->sec};
    ppml_channel_listener *l = NULL;
    if (ppml_channel_tcp_listener_new(&l, &o, err) == PPML_OK)
        snprintf(addr, sizeof addr, "%s", ppml_channel_listener_endpoint(l));
    if (write(ready_fd, addr, sizeof addr) != (ssize_t)sizeof addr || !addr[0])
        _exit(2);
    close(ready_fd);
    ppml_channel *session = NULL;
    int rc = ppml_channel_tcp_accept(l, &session, 60000);
    if (rc == PPML_OK)
        rc = a->serve(session, a->ctx);
    ppml_channel_free(session);
    ppml_channel_listener_free(l);
    _exit(rc == PPML_OK ? 0 : 3);
}

/* Forks a CURVE server (secret key sec) serving one session with serve(session, ctx). */
static inline pid_t tcp_server_fork(char ep[TEST_EP_LEN], const char *sec, test_tcp_serve_fn serve, void *ctx)
{
    test_one_session a = {sec, serve, ctx};
    return test_fork_server(ep, one_session_child, &a);
}
#endif
