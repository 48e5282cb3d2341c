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

typedef int (*test_tcp_serve_fn)(ppml_channel *session, void *ctx);

/* Forks a CURVE server (secret key sec) that serves one session with serve(session, ctx) and
 * exits 0 on PPML_OK (2: no listener, 3: serve failed). Writes its endpoint to ep. Returns the
 * child's pid, or -1 if the server could not start (the child is reaped). */
static pid_t tcp_server_fork(char *ep, size_t ep_len, const char *sec, test_tcp_serve_fn serve, void *ctx)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char err[PPML_ERR_LEN];
        ppml_channel_tcp_opts o = {.endpoint = "tcp://127.0.0.1:*", .curve = 1, .server_secret = sec};
        ppml_channel_listener *l = NULL;
        char addr[128] = {0};
        if (ppml_channel_tcp_listener_new(&l, &o, err) == PPML_OK)
            snprintf(addr, sizeof addr, "%s", ppml_channel_listener_endpoint(l));
        if (write(fds[1], addr, sizeof addr) != (ssize_t)sizeof addr || !addr[0])
            _exit(2);
        close(fds[1]);
        ppml_channel *session = NULL;
        int rc = ppml_channel_tcp_accept(l, &session, 60000);
        if (rc == PPML_OK)
            rc = serve(session, ctx);
        ppml_channel_free(session);
        ppml_channel_listener_free(l);
        _exit(rc == PPML_OK ? 0 : 3);
    }
    close(fds[1]);
    char addr[128] = {0};
    ssize_t got = pid > 0 ? read(fds[0], addr, sizeof addr) : -1;
    close(fds[0]);
    if (pid > 0 && (got != (ssize_t)sizeof addr || !addr[0] || strlen(addr) >= ep_len)) {
        waitpid(pid, NULL, 0);
        return -1;
    }
    if (pid > 0)
        snprintf(ep, ep_len, "%s", addr);
    return pid;
}
#endif
