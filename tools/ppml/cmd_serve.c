/* ppml serve ccs|css|keygen: the two servers of scheme S over TCP (ZeroMQ + CURVE).
 * CCS binds its address once, waits for the TA's set-up message (its keys; plain from the TA,
 * or sealed to CCS and relayed by CSS), serves CSS's block requests until CSS ends the
 * session, and exits (or serves the next session with --forever; clients that come meanwhile
 * wait their turn). CSS (serve css) serves training clients the same way, opening one CCS
 * session per client. */
#include "cli.h"
#include "svm_cli.h"
#include "diag_cli.h"
#include "ppml/channel.h"
#include "ppml/proto.h"
#include "ppml/serial.h"
#include "ppml/svm.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ppml serve keygen --out PREFIX\n"
            "       ppml serve ccs --listen ADDR --key PREFIX.sec [--allow FILE] [--ta FILE]\n"
            "                      [--threads T] [--forever] [--idle-timeout S]\n"
            "                      [--insecure-test-keys]\n"
            "       ppml serve css --listen ADDR --key PREFIX.sec --ccs ADDR --ccs-key PREFIX.pub\n"
            "                      [--client-key PREFIX.sec] [--allow FILE] [--threads T]\n"
            "                      [--store FILE.db] [--forever] [--idle-timeout S]\n"
            "                      [--insecure-test-keys]\n"
            "       ppml serve diag-ccs --listen ADDR --key PREFIX.sec [--allow FILE] --bfv-keys FILE\n"
            "                      --public FILE [--test-keys] [--css-rotations]\n"
            "                      [--no-circuit-private]\n"
            "       ppml serve diag-css --listen ADDR --key PREFIX.sec --ccs ADDR --ccs-key PREFIX.pub\n"
            "                      [--client-key PREFIX.sec] --ccs-public FILE --model FILE\n"
            "                      [--idle-timeout S] [--test-keys] [--no-circuit-private]\n\n"
            "keygen  writes a CURVE key pair: PREFIX.pub (public) and PREFIX.sec (mode 0600). A\n"
            "        server gives its PREFIX.pub to its clients (--ccs-key); a client of CCS\n"
            "        gives its PREFIX.pub to CCS (--allow) and keeps PREFIX.sec (--client-key).\n"
            "ccs     the cloud computation server: listens on ADDR (e.g. tcp://0.0.0.0:7000),\n"
            "        encrypted and authenticated with its CURVE key; receives its keys from the\n"
            "        TA at the start of a session (ppml svm train --ccs ADDR --ccs-key PREFIX.pub\n"
            "        --client-key C.sec), then answers the blinded block requests of CSS.\n"
            "        Malformed requests get an error reply; the server never trusts their sizes.\n"
            "--allow FILE  (ccs, diag-ccs) the client public keys allowed to connect, one per\n"
            "        line (PREFIX.pub files of keygen, concatenated; '#' starts a comment); any\n"
            "        other client's handshake is refused. Some CCS requests decrypt for whoever\n"
            "        sends them: without --allow any client that reaches ADDR may use them (a\n"
            "        warning says so).\n"
            "--ta FILE  (ccs) the TA's public keys (same format): CCS takes its keys only from a\n"
            "        set-up the TA boxed with one of them (ppml svm train --client-key does so,\n"
            "        directly or through CSS), so neither CSS nor another allowed client can\n"
            "        hand CCS keys of its own (a relay can still replay an earlier set-up of the\n"
            "        TA's, which provisions those same keys again); without --ta a warning says\n"
            "        CCS takes them from any client it lets in.\n"
            "--client-key PREFIX.sec  (diag-css, and ppml svm train) the client's long-term key\n"
            "        (mode 0600); its public key, derived from it, is PREFIX.pub.\n"
            "css     the cloud storage server of scheme S as a service: listens on ADDR for a\n"
            "        client (ppml svm train --css ADDR --css-key PREFIX.pub --ccs-key CCS.pub),\n"
            "        which sends the job (CSS's key SK1, the public keys, CCS's keys boxed for\n"
            "        CCS: CSS relays them unread) and the medical centres' signed uploads; for\n"
            "        each client CSS opens a session with CCS at --ccs (CCS's public key\n"
            "        --ccs-key; --client-key: CSS's own key, for a CCS started with --allow),\n"
            "        converts the uploads (B1), trains, and returns the model under the DSP's\n"
            "        key. One client at a time; exits after one unless --forever.\n"
            "        --store FILE.db: keeps each verified upload (dataset svm-task-XXXXXXXX/mc-I,\n"
            "        one SQLite transaction; check it with ppml verify) and the model under the\n"
            "        DSP's key (blob svm-task-XXXXXXXX/model); svm train prints the task prefix.\n"
            );
    fprintf(f,
            "diag-ccs  CCS of the encrypted diagnosis: loads its BFV keys from --bfv-keys (made\n"
            "        and written there, mode 0600, if the file does not exist), writes its public\n"
            "        material (BFV parameters, pk, relinearisation/Galois keys) to --public for\n"
            "        the DSP, CSS and users, and answers CSS's blinded argmax requests on ADDR.\n"
            "        Serves until killed. --test-keys: small insecure keys (tests only).\n"
            "        By default the keys (n = 16384) are for a CSS that floods the noise of\n"
            "        what it sends, so CCS's decryptions show nothing of how it was computed;\n"
            "        --no-circuit-private: n = 8192 without flooding (faster, CCS sees the\n"
            "        noise). The choice is in --public; a key file is served only with the\n"
            "        choice it was made with.\n"
            "diag-css  CSS of the encrypted diagnosis: loads CCS's public material and the DSP's\n"
            "        encrypted model (ppml diagnose outsource), connects to CCS (with the key of\n"
            "        --client-key, which diag-ccs must --allow), and serves users\n"
            "        (ppml diagnose --css ADDR) one at a time until killed (users who come\n"
            "        meanwhile wait their turn); a session silent for --idle-timeout seconds\n"
            "        (default 10) is ended.\n"
            "        Bad requests get an error reply; both servers go on serving. If CCS goes\n"
            "        away, CSS connects to it again (one handshake of up to 30 s) and sends the\n"
            "        request again; if CCS cannot be reached the user gets an error and the\n"
            "        next request tries again.\n"
            "        CCS material made without circuit privacy is refused unless\n"
            "        --no-circuit-private is given (CSS would not flood what CCS decrypts).\n"
            "ADDR to listen on may be tcp://HOST:* (a free port chosen by the system); every server\n"
            "prints the address it listens on: \"ppml serve ROLE: listening on ADDR\".\n");
}

static int serve_keygen(int argc, char **argv)
{
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out")) {
            if (!(out = cli_value(argc, argv, &i)))
                return 1;
        } else {
            return cli_error("serve keygen: unknown option '%s'", argv[i]);
        }
    }
    if (!out)
        return cli_error("serve keygen: --out PREFIX is required");
    char pub[41], sec[41], path[4096];
    if (ppml_channel_curve_keypair(pub, sec) != PPML_OK)
        return cli_error("CURVE key generation failed (libzmq without CURVE?)");
    pub[40] = sec[40] = '\n';
    int rc;
    snprintf(path, sizeof path, "%s.sec", out);
    rc = ppml_file_write_atomic(path, sec, 41, 0600);
    memset(sec, 0, sizeof sec);
    if (rc != PPML_OK)
        return cli_error("cannot write %s: %s", path, ppml_strerror(rc));
    snprintf(path, sizeof path, "%s.pub", out);
    rc = ppml_file_write_atomic(path, pub, 41, 0644);
    if (rc != PPML_OK)
        return cli_error("cannot write %s: %s", path, ppml_strerror(rc));
    return 0;
}

/* Options of ppml serve ccs and css. */
typedef struct server_opts {
    const char *listen, *key, *allow, *ccs, *ccs_key, *client_key, *ta, *store;
    int threads, forever, insecure, idle;
} server_opts;

/* argv[*i] as an option of role (css: also --ccs, --ccs-key, --client-key, --store; ccs: also
 * --ta):
 * 0 = taken, 1 = an error was printed. */
static int server_opt(server_opts *o, const char *role, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v;
    int css = !strcmp(role, "css");
    const char **str = !strcmp(a, "--listen")               ? &o->listen
                       : !strcmp(a, "--key")                ? &o->key
                       : !strcmp(a, "--allow")              ? &o->allow
                       : css && !strcmp(a, "--ccs")         ? &o->ccs
                       : css && !strcmp(a, "--ccs-key")     ? &o->ccs_key
                       : css && !strcmp(a, "--client-key")  ? &o->client_key
                       : css && !strcmp(a, "--store")       ? &o->store
                       : !css && !strcmp(a, "--ta")         ? &o->ta
                                                            : NULL;
    if (str)
        return (*str = cli_value(argc, argv, i)) == NULL;
    if (!strcmp(a, "--threads"))
        return !(v = cli_value(argc, argv, i)) || cli_parse_int(a, v, 1, 64, &o->threads);
    if (!strcmp(a, "--idle-timeout"))
        return !(v = cli_value(argc, argv, i)) || cli_parse_int(a, v, 1, 86400, &o->idle);
    if (!strcmp(a, "--forever"))
        return o->forever = 1, 0;
    if (!strcmp(a, "--insecure-test-keys"))
        return o->insecure = 1, 0;
    return cli_error("serve %s: unknown option '%s' (ppml serve --help)", role, a);
}

static int server_opts_parse(server_opts *o, const char *role, int argc, char **argv)
{
    *o = (server_opts){.threads = 1, .idle = 600};
    for (int i = 1; i < argc; i++)
        if (server_opt(o, role, argc, argv, &i))
            return 1;
    return 0;
}

/* Accept clients on l one at a time, run session(ctx, channel) for each, until one session
 * is done (or forever). */
static int serve_sessions(const char *role, ppml_channel_listener *l, const server_opts *o,
                          int (*session)(void *ctx, ppml_channel *ch), void *ctx)
{
    int ret = 0;
    for (;;) {
        ppml_channel *ch = NULL;
        int rc = ppml_channel_tcp_accept(l, &ch, o->forever ? PPML_TIMEOUT_INFINITE : o->idle * 1000);
        if (rc != PPML_OK)
            return rc == PPML_ETIMEOUT ? cli_error("serve %s: no client within %d s (--idle-timeout)", role, o->idle)
                                       : cli_error("serve %s: %s", role, ppml_strerror(rc));
        rc = session(ctx, ch);
        ppml_channel_free(ch);
        if (rc != PPML_OK)
            ret = cli_error("serve %s: session ended: %s", role, ppml_strerror(rc));
        else
            fprintf(stderr, "ppml serve %s: session finished\n", role);
        if (!o->forever)
            return ret;
    }
}

typedef struct ccs_ctx {
    const server_opts *o;
    uint8_t box_pk[32], box_sk[32];
    uint8_t (*ta)[32]; /* --ta: the only TA keys whose boxed set-ups CCS takes */
    size_t n_ta;
} ccs_ctx;

static int ccs_session(void *ctx, ppml_channel *ch)
{
    ccs_ctx *c = ctx;
    ppml_proto_opts po = {0, (unsigned)c->o->threads};
    return ppml_proto_ccs_run_trusted(ch, &po, c->o->insecure, c->o->idle * 1000, c->box_pk,
                                      c->box_sk, (const uint8_t(*)[32])c->ta, c->n_ta);
}

static int serve_ccs(int argc, char **argv)
{
    server_opts o;
    if (server_opts_parse(&o, "ccs", argc, argv))
        return 1;
    if (!o.listen || !o.key)
        return cli_error("serve ccs: --listen ADDR and --key PREFIX.sec are required");
    char sec[41];
    serve_cli_allow allow = {NULL, 0};
    if (svm_cli_read_key(sec, o.key))
        return 1;
    /* the raw X25519 pair opens set-ups sealed by the TA and relayed by CSS (serve css) */
    ccs_ctx c = {.o = &o};
    if (ppml_channel_curve_decode(c.box_sk, sec) != PPML_OK || crypto_scalarmult_base(c.box_pk, c.box_sk) != 0) {
        memset(sec, 0, sizeof sec);
        return cli_error("%s: not a Z85 CURVE secret key", o.key);
    }
    signal(SIGPIPE, SIG_IGN);
    ppml_channel_listener *l = NULL;
    serve_cli_allow ta = {NULL, 0};
    int ret = serve_cli_read_allow(&allow, o.allow, "ccs");
    if (!ret && o.ta) { /* the TA keys whose set-ups CCS takes */
        ret = serve_cli_read_allow(&ta, o.ta, "ccs");
        if (!ret && !(c.ta = calloc(ta.n, sizeof *c.ta)))
            ret = cli_error("out of memory");
        for (size_t i = 0; !ret && i < ta.n; i++, c.n_ta++)
            if (ppml_channel_curve_decode(c.ta[i], ta.keys[i]) != PPML_OK)
                ret = cli_error("%s: not a Z85 CURVE public key: %s", o.ta, ta.keys[i]);
    } else if (!ret) {
        fprintf(stderr, "ppml serve ccs: warning: no --ta FILE: CCS takes its keys from any "
                        "client it lets in\n");
    }
    if (!ret)
        ret = serve_cli_listen(&l, "ccs", o.listen, sec, &allow, "");
    memset(sec, 0, sizeof sec);
    free(allow.keys);
    free(ta.keys);
    if (!ret)
        ret = serve_sessions("ccs", l, &o, ccs_session, &c);
    ppml_channel_listener_free(l);
    free(c.ta);
    sodium_memzero(c.box_sk, sizeof c.box_sk);
    return ret;
}

typedef struct css_ctx {
    const server_opts *o;
    char ccs_pub[41], csec[41];
    ppml_store *store; /* --store: NULL = keep nothing */
} css_ctx;

/* One client of CSS: a fresh session with CCS for it. */
static int css_session(void *ctx, ppml_channel *ch)
{
    css_ctx *c = ctx;
    char err[PPML_ERR_LEN] = "";
    ppml_channel *ccs = NULL;
    ppml_channel_tcp_opts to = {.endpoint = c->o->ccs, .curve = 1, .server_public = c->ccs_pub,
                                .connect_timeout_ms = 30000, .client_secret = c->o->client_key ? c->csec : NULL};
    int rc = ppml_channel_tcp_connect(&ccs, &to, err);
    if (rc != PPML_OK) {
        cli_error("serve css: cannot connect to CCS at %s: %s", c->o->ccs, err[0] ? err : ppml_strerror(rc));
        return rc;
    }
    ppml_channel_set_timeout(ccs, c->o->idle * 1000);
    ppml_svm_css_opts so = {(unsigned)c->o->threads, c->o->insecure, c->o->idle * 1000, c->store};
    rc = ppml_svm_css_serve(ch, ccs, &so);
    ppml_channel_free(ccs);
    return rc;
}

static int serve_css(int argc, char **argv)
{
    server_opts o;
    if (server_opts_parse(&o, "css", argc, argv))
        return 1;
    if (!o.listen || !o.key || !o.ccs || !o.ccs_key)
        return cli_error("serve css: --listen ADDR, --key PREFIX.sec, --ccs ADDR and --ccs-key PREFIX.pub are "
                         "required");
    char sec[41];
    css_ctx c = {.o = &o, .csec = ""};
    serve_cli_allow allow = {NULL, 0};
    if (svm_cli_read_key(sec, o.key))
        return 1;
    if (svm_cli_read_key(c.ccs_pub, o.ccs_key) || (o.client_key && serve_cli_read_client_key(c.csec, o.client_key))) {
        memset(sec, 0, sizeof sec);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    ppml_channel_listener *l = NULL;
    int ret = serve_cli_read_allow(&allow, o.allow, "css");
    char err[PPML_ERR_LEN] = "";
    if (!ret && o.store && ppml_store_open(&c.store, o.store, err) != PPML_OK)
        ret = cli_error("cannot open the store %s: %s", o.store, err);
    if (!ret)
        ret = serve_cli_listen(&l, "css", o.listen, sec, &allow, "");
    memset(sec, 0, sizeof sec);
    free(allow.keys);
    if (!ret)
        ret = serve_sessions("css", l, &o, css_session, &c);
    memset(c.csec, 0, sizeof c.csec);
    ppml_channel_listener_free(l);
    ppml_store_close(c.store);
    return ret;
}

#define Z85_CHARS "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
#define ALLOW_FILE_MAX ((size_t)1 << 20)

/* Keep line (len bytes, no newline) as the next key of a, unless it is empty or a comment. */
static int allow_line(serve_cli_allow *a, const char *line, size_t len, const char *path,
                      size_t lineno)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0 || line[0] == '#')
        return 0;
    if (len != 40 || strspn(line, Z85_CHARS) < 40)
        return cli_error("%s:%zu: not a Z85 CURVE public key (40 characters, as in PREFIX.pub)",
                         path, lineno);
    char(*keys)[41] = realloc(a->keys, (a->n + 1) * sizeof *keys);
    if (!keys)
        return cli_error("out of memory");
    memcpy(keys[a->n], line, 40);
    keys[a->n][40] = 0;
    a->keys = keys;
    a->n++;
    return 0;
}

int serve_cli_read_allow(serve_cli_allow *a, const char *path, const char *role)
{
    *a = (serve_cli_allow){NULL, 0};
    if (!path) {
        fprintf(stderr, "ppml serve %s: warning: no --allow FILE: any client may connect\n", role);
        return 0;
    }
    uint8_t *b = NULL;
    size_t len = 0;
    int rc = ppml_file_read(path, &b, &len, ALLOW_FILE_MAX);
    if (rc != PPML_OK)
        return cli_error("cannot read %s: %s", path, ppml_strerror(rc));
    const char *text = (const char *)b;
    int ret = memchr(text, 0, len) ? cli_error("%s: not a text file of public keys", path) : 0;
    size_t lineno = 0;
    for (size_t pos = 0; !ret && pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        ret = allow_line(a, text + pos, end - pos, path, ++lineno);
        pos = end + 1;
    }
    free(b);
    if (!ret && a->n == 0)
        ret = cli_error("%s: no client public key (one Z85 key per line)", path);
    if (ret) {
        free(a->keys);
        *a = (serve_cli_allow){NULL, 0};
    }
    return ret;
}

int serve_cli_read_client_key(char secret[41], const char *path)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && (sb.st_mode & 077))
        return cli_error("%s: secret key file readable by others (chmod 600 it)", path);
    return svm_cli_read_key(secret, path);
}

int serve_cli_listen(ppml_channel_listener **l, const char *role, const char *addr,
                     const char *secret, const serve_cli_allow *allow, const char *note)
{
    ppml_channel_tcp_opts o = {.endpoint = addr, .curve = 1, .server_secret = secret,
                               .client_keys = allow ? (const char(*)[41])allow->keys : NULL,
                               .n_client_keys = allow ? allow->n : 0};
    char err[PPML_ERR_LEN] = "";
    int rc = ppml_channel_tcp_listener_new(l, &o, err);
    if (rc != PPML_OK)
        return cli_error("cannot listen on %s: %s", addr, err[0] ? err : ppml_strerror(rc));
    fprintf(stderr, "ppml serve %s: listening on %s%s\n", role, ppml_channel_listener_endpoint(*l),
            note);
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
        return usage(argc < 2 ? stderr : stdout), argc < 2;
    if (!strcmp(argv[1], "keygen"))
        return serve_keygen(argc - 1, argv + 1);
    if (!strcmp(argv[1], "ccs"))
        return serve_ccs(argc - 1, argv + 1);
    if (!strcmp(argv[1], "diag-ccs"))
        return serve_diag_ccs(argc - 1, argv + 1);
    if (!strcmp(argv[1], "diag-css"))
        return serve_diag_css(argc - 1, argv + 1);
    if (!strcmp(argv[1], "css"))
        return serve_css(argc - 1, argv + 1);
    return cli_error("serve: unknown role '%s' (keygen, ccs, css, diag-ccs or diag-css)", argv[1]);
}
