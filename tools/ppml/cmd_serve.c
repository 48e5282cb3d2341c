/* ppml serve ccs|keygen: the cloud computation server of scheme S over TCP (ZeroMQ + CURVE).
 * CCS binds its address once, waits for the TA's set-up message (its keys), serves CSS's
 * block requests until CSS ends the session, and exits (or serves the next session with
 * --forever; clients that come meanwhile wait their turn). */
#include "cli.h"
#include "svm_cli.h"
#include "diag_cli.h"
#include "ppml/channel.h"
#include "ppml/proto.h"
#include "ppml/serial.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ppml serve keygen --out PREFIX\n"
            "       ppml serve ccs --listen ADDR --key PREFIX.sec [--allow FILE] [--threads T]\n"
            "                      [--forever] [--idle-timeout S] [--insecure-test-keys]\n"
            "       ppml serve css\n"
            "       ppml serve diag-ccs --listen ADDR --key PREFIX.sec [--allow FILE] --bfv-keys FILE\n"
            "                      --public FILE [--test-keys] [--css-rotations]\n"
            "       ppml serve diag-css --listen ADDR --key PREFIX.sec --ccs ADDR --ccs-key PREFIX.pub\n"
            "                      [--client-key PREFIX.sec] --ccs-public FILE --model FILE\n"
            "                      [--idle-timeout S] [--test-keys]\n\n"
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
            "--client-key PREFIX.sec  (diag-css, and ppml svm train) the client's long-term key\n"
            "        (mode 0600); its public key, derived from it, is PREFIX.pub.\n"
            "css     CSS runs inside `ppml svm train` (it drives the protocol); no standalone\n"
            "        CSS service yet.\n"
            "diag-ccs  CCS of the encrypted diagnosis: loads its BFV keys from --bfv-keys (made\n"
            "        and written there, mode 0600, if the file does not exist), writes its public\n"
            "        material (BFV parameters, pk, relinearisation/Galois keys) to --public for\n"
            "        the DSP, CSS and users, and answers CSS's blinded argmax requests on ADDR.\n"
            "        Serves until killed. --test-keys: small insecure keys (tests only).\n"
            "diag-css  CSS of the encrypted diagnosis: loads CCS's public material and the DSP's\n"
            "        encrypted model (ppml diagnose outsource), connects to CCS (with the key of\n"
            "        --client-key, which diag-ccs must --allow), and serves users\n"
            "        (ppml diagnose --css ADDR) one at a time until killed (users who come\n"
            "        meanwhile wait their turn); a session silent for --idle-timeout seconds\n"
            "        (default 10) is ended.\n"
            "        Bad requests get an error reply; both servers go on serving.\n"
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

static int serve_ccs(int argc, char **argv)
{
    const char *listen = NULL, *keyfile = NULL, *allow_file = NULL;
    int threads = 1, forever = 0, insecure = 0, idle = 600;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--listen")) {
            if (!(listen = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--key")) {
            if (!(keyfile = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--allow")) {
            if (!(allow_file = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 64, &threads))
                return 1;
        } else if (!strcmp(a, "--idle-timeout")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 86400, &idle))
                return 1;
        } else if (!strcmp(a, "--forever")) {
            forever = 1;
        } else if (!strcmp(a, "--insecure-test-keys")) {
            insecure = 1;
        } else {
            return cli_error("serve ccs: unknown option '%s' (ppml serve --help)", a);
        }
    }
    if (!listen || !keyfile)
        return cli_error("serve ccs: --listen ADDR and --key PREFIX.sec are required");
    char sec[41];
    serve_cli_allow allow = {NULL, 0};
    if (svm_cli_read_key(sec, keyfile))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    ppml_channel_listener *l = NULL;
    int ret = serve_cli_read_allow(&allow, allow_file, "ccs");
    if (!ret)
        ret = serve_cli_listen(&l, "ccs", listen, sec, &allow, "");
    memset(sec, 0, sizeof sec);
    free(allow.keys);
    while (!ret) {
        ppml_channel *ch = NULL;
        int rc = ppml_channel_tcp_accept(l, &ch, forever ? PPML_TIMEOUT_INFINITE : idle * 1000);
        if (rc != PPML_OK) {
            ret = rc == PPML_ETIMEOUT
                      ? cli_error("serve ccs: no client within %d s (--idle-timeout)", idle)
                      : cli_error("serve ccs: %s", ppml_strerror(rc));
            break;
        }
        ppml_proto_opts po = {0, (unsigned)threads};
        rc = ppml_proto_ccs_run(ch, &po, insecure, idle * 1000);
        ppml_channel_free(ch);
        if (rc != PPML_OK)
            ret = cli_error("serve ccs: session ended: %s", ppml_strerror(rc));
        else
            fprintf(stderr, "ppml serve ccs: session finished\n");
        if (!forever)
            break;
        ret = 0;
    }
    ppml_channel_listener_free(l);
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
        return cli_error("serve css: CSS runs inside `ppml svm train` (see ppml serve --help)");
    return cli_error("serve: unknown role '%s' (keygen, ccs, diag-ccs or diag-css)", argv[1]);
}
