/* ppml serve diag-ccs|diag-css: the two servers of scheme S's encrypted diagnosis over TCP
 * (ZeroMQ + CURVE), and file helpers shared with `ppml diagnose`.
 *
 * diag-ccs holds CCS's BFV secret key (its --bfv-keys file, mode 0600, made on first start)
 * and publishes the public material (--public) that the DSP, CSS and users load. It answers
 * CSS's blinded argmax requests, one CSS at a time, and serves until killed.
 * diag-css holds only that public material and the DSP's encrypted model; it connects to
 * CCS and serves users one session at a time (each `ppml diagnose --css` run is one
 * session; users who come meanwhile wait their turn). A user's BYE ends only its own
 * session, and so does --idle-timeout seconds without a message (so a silent client cannot
 * hold CSS). Both bind their address once (ppml_channel_tcp_listener_new) and keep serving
 * across clients' disconnects and bad messages. */
#include "cli.h"
#include "diag_cli.h"
#include "svm_cli.h"
#include "ppml/channel.h"
#include "ppml/serial.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#define DIAG_FILE_MAX ((size_t)4 << 30)

int diag_cli_load_public(ppml_diag_ccs **out, const char *path, int allow_insecure,
                         int allow_unflooded)
{
    uint8_t *b = NULL;
    size_t len = 0;
    int e = ppml_file_read(path, &b, &len, DIAG_FILE_MAX);
    if (e)
        return cli_error("cannot read %s: %s", path, ppml_strerror(e));
    e = ppml_diag_ccs_load_public(out, b, len, allow_insecure);
    free(b);
    if (e == PPML_EWEAK)
        return cli_error("%s: made with insecure test keys (add --test-keys to accept it)", path);
    if (e)
        return cli_error("%s: not CCS public material: %s", path, ppml_strerror(e));
    if (!ppml_diag_ccs_config(*out)->circuit_private && !allow_unflooded) {
        ppml_diag_ccs_free(*out);
        *out = NULL;
        return cli_error("%s: made without circuit privacy (CSS would not flood the noise CCS "
                         "decrypts); add --no-circuit-private to accept it", path);
    }
    return 0;
}

int diag_cli_write_scaler(const char *path, const ppml_scaler *sc)
{
    size_t cap = 64 + sc->d * 64, n = 0;
    char *t = malloc(cap);
    if (!t)
        return cli_error("out of memory");
    n += (size_t)snprintf(t + n, cap - n, "ppml-diag-scaler 1\n%zu\n", sc->d);
    for (size_t j = 0; j < sc->d; j++)
        n += (size_t)snprintf(t + n, cap - n, "%.17g %.17g\n", sc->mean[j], sc->std[j]);
    int e = ppml_file_write_atomic(path, t, n, 0644);
    free(t);
    return e ? cli_error("cannot write %s: %s", path, ppml_strerror(e)) : 0;
}

int diag_cli_read_scaler(ppml_scaler *sc, const char *path)
{
    uint8_t *b = NULL;
    size_t len = 0;
    int e = ppml_file_read(path, &b, &len, (size_t)1 << 20);
    if (e)
        return cli_error("cannot read %s: %s", path, ppml_strerror(e));
    char *t = realloc(b, len + 1);
    if (!t) {
        free(b);
        return cli_error("out of memory");
    }
    t[len] = 0;
    int bad = strlen(t) != len || strncmp(t, "ppml-diag-scaler 1\n", 19) != 0;
    char *p = t + 19, *end;
    unsigned long long d = 0;
    if (!bad) {
        errno = 0;
        d = strtoull(p, &end, 10);
        bad = errno || end == p || *end != '\n' || d < 1 || d + 1 > PPML_DIAG_MAX_DIM;
        p = end + 1;
    }
    double *mean = NULL, *sd = NULL;
    if (!bad) {
        mean = calloc(d, sizeof *mean);
        sd = calloc(d, sizeof *sd);
        bad = !mean || !sd;
    }
    for (size_t j = 0; !bad && j < d; j++) {
        mean[j] = strtod(p, &end);
        bad = end == p || *end != ' ';
        p = end + 1;
        if (!bad) {
            sd[j] = strtod(p, &end);
            bad = end == p || *end != '\n' || !isfinite(mean[j]) || !isfinite(sd[j]) ||
                  !(sd[j] > 0);
            p = end + 1;
        }
    }
    bad = bad || *p;
    free(t);
    if (bad) {
        free(mean);
        free(sd);
        return cli_error("%s: not a diagnosis scaler file", path);
    }
    ppml_scaler_clear(sc);
    sc->d = (size_t)d;
    sc->mean = mean;
    sc->std = sd;
    return 0;
}

static const unsigned test_bits[] = {60, 60, 60, 60};

/* Load CCS's BFV keys from path, or make them and write them there (mode 0600). */
static int ccs_keys(ppml_diag_ccs **ccs, const char *path, int test_keys, int rotations,
                    int flood)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (sb.st_mode & 077)
            return cli_error("%s: secret key file readable by others (chmod 600 it)", path);
        uint8_t *b = NULL;
        size_t len = 0;
        int e = ppml_file_read(path, &b, &len, DIAG_FILE_MAX);
        if (e)
            return cli_error("cannot read %s: %s", path, ppml_strerror(e));
        e = ppml_diag_ccs_load_secret(ccs, b, len, test_keys);
        sodium_memzero(b, len);
        free(b);
        if (e == PPML_EWEAK)
            return cli_error("%s: made with insecure test keys (add --test-keys)", path);
        if (e)
            return cli_error("%s: not a CCS key file: %s", path, ppml_strerror(e));
        if (rotations && !ppml_diag_ccs_config(*ccs)->css_rotations) {
            ppml_diag_ccs_free(*ccs);
            *ccs = NULL;
            return cli_error("%s: keys made without --css-rotations", path);
        }
        if (flood != ppml_diag_ccs_config(*ccs)->circuit_private) {
            ppml_diag_ccs_free(*ccs);
            *ccs = NULL;
            return cli_error("%s: keys made %s circuit privacy (%s--no-circuit-private)", path,
                             flood ? "without" : "with", flood ? "add " : "drop ");
        }
        return 0;
    }
    if (errno != ENOENT)
        return cli_error("cannot read %s: %s", path, strerror(errno));
    ppml_diag_config cfg;
    ppml_diag_config_default(&cfg);
    cfg.css_rotations = rotations;
    ppml_diag_config_circuit_private(&cfg, flood);
    if (test_keys) {
        cfg.bfv_n = 4096;
        cfg.prime_bits = test_bits;
        cfg.prime_count = 4;
        cfg.paillier_bits = 512;
        cfg.insecure_for_tests = 1;
    }
    int e = ppml_diag_ccs_new(ccs, &cfg);
    if (e)
        return cli_error("CCS key generation failed: %s", ppml_strerror(e));
    uint8_t *b = NULL;
    size_t len = 0;
    e = ppml_diag_ccs_save_secret(*ccs, &b, &len);
    if (!e)
        e = ppml_file_write_atomic(path, b, len, 0600);
    if (b)
        sodium_memzero(b, len);
    free(b);
    if (e) {
        ppml_diag_ccs_free(*ccs);
        *ccs = NULL;
        return cli_error("cannot write %s: %s", path, ppml_strerror(e));
    }
    return 0;
}

int serve_diag_ccs(int argc, char **argv)
{
    const char *listen = NULL, *keyfile = NULL, *bfv = NULL, *pub = NULL, *allow_file = NULL;
    int test_keys = 0, rotations = 0, flood = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--listen")) {
            if (!(listen = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--key")) {
            if (!(keyfile = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--bfv-keys")) {
            if (!(bfv = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--public")) {
            if (!(pub = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--allow")) {
            if (!(allow_file = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--test-keys")) {
            test_keys = 1;
        } else if (!strcmp(a, "--css-rotations")) {
            rotations = 1;
        } else if (!strcmp(a, "--no-circuit-private")) {
            flood = 0;
        } else {
            return cli_error("serve diag-ccs: unknown option '%s' (ppml serve --help)", a);
        }
    }
    if (!listen || !keyfile || !bfv || !pub)
        return cli_error("serve diag-ccs: --listen, --key, --bfv-keys and --public are required");
    char sec[41];
    serve_cli_allow allow = {NULL, 0};
    if (svm_cli_read_key(sec, keyfile))
        return 1;
    ppml_diag_ccs *ccs = NULL;
    ppml_channel_listener *l = NULL;
    int ret = 1;
    if (serve_cli_read_allow(&allow, allow_file, "diag-ccs") ||
        ccs_keys(&ccs, bfv, test_keys, rotations, flood))
        goto out;
    uint8_t *b = NULL;
    size_t len = 0;
    int e = ppml_diag_ccs_save_public(ccs, &b, &len);
    if (!e)
        e = ppml_file_write_atomic(pub, b, len, 0644);
    free(b);
    if (e) {
        cli_error("cannot write %s: %s", pub, ppml_strerror(e));
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    if (serve_cli_listen(&l, "diag-ccs", listen, sec, &allow, ""))
        goto out;
    for (;;) {
        ppml_channel *ch = NULL;
        if ((e = ppml_channel_tcp_accept(l, &ch, PPML_TIMEOUT_INFINITE))) {
            cli_error("serve diag-ccs: %s", ppml_strerror(e));
            goto out;
        }
        ppml_diag_serve_stats st = {0};
        e = ppml_diag_ccs_serve(ccs, ch, &st);
        ppml_channel_free(ch);
        fprintf(stderr, "ppml serve diag-ccs: CSS session ended (%s): %llu answered, %llu refused\n",
                e ? ppml_strerror(e) : "bye", (unsigned long long)st.served,
                (unsigned long long)st.refused);
    }
out:
    ppml_channel_listener_free(l);
    sodium_memzero(sec, sizeof sec);
    free(allow.keys);
    ppml_diag_ccs_free(ccs);
    return ret;
}

/* serve diag-css's link to CCS: on a failure, one new handshake (30 s at most). */
typedef struct ccs_reconnect_ctx {
    const ppml_channel_tcp_opts *co;
    const char *addr;
} ccs_reconnect_ctx;

static int ccs_reconnect(void *ctx, ppml_channel **ch)
{
    const ccs_reconnect_ctx *r = ctx;
    char err[PPML_ERR_LEN] = "";
    fprintf(stderr, "ppml serve diag-css: lost CCS at %s; connecting again\n", r->addr);
    ppml_channel_free(*ch);
    *ch = NULL;
    int e = ppml_channel_tcp_connect(ch, r->co, err);
    if (e)
        cli_error("serve diag-css: cannot reach CCS at %s: %s (the user gets an error; the next "
                  "request tries again)", r->addr, err[0] ? err : ppml_strerror(e));
    return e;
}

int serve_diag_css(int argc, char **argv)
{
    const char *listen = NULL, *keyfile = NULL, *ccs_addr = NULL, *ccs_key = NULL;
    const char *ccs_pub = NULL, *model = NULL, *client_key = NULL;
    int test_keys = 0, idle = 10, unflooded = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        const char **dst = !strcmp(a, "--listen")       ? &listen
                           : !strcmp(a, "--key")        ? &keyfile
                           : !strcmp(a, "--ccs")        ? &ccs_addr
                           : !strcmp(a, "--ccs-key")    ? &ccs_key
                           : !strcmp(a, "--ccs-public") ? &ccs_pub
                           : !strcmp(a, "--model")      ? &model
                           : !strcmp(a, "--client-key") ? &client_key
                                                        : NULL;
        if (dst) {
            if (!(*dst = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--test-keys")) {
            test_keys = 1;
        } else if (!strcmp(a, "--no-circuit-private")) {
            unflooded = 1;
        } else if (!strcmp(a, "--idle-timeout")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 86400, &idle))
                return 1;
        } else {
            return cli_error("serve diag-css: unknown option '%s' (ppml serve --help)", a);
        }
    }
    if (!listen || !keyfile || !ccs_addr || !ccs_key || !ccs_pub || !model)
        return cli_error("serve diag-css: --listen, --key, --ccs, --ccs-key, --ccs-public and "
                         "--model are required");
    char sec[41], ccs_pk[41], csec[41] = "";
    if (svm_cli_read_key(sec, keyfile) || svm_cli_read_key(ccs_pk, ccs_key) ||
        (client_key && serve_cli_read_client_key(csec, client_key))) {
        sodium_memzero(sec, sizeof sec);
        return 1;
    }
    ppml_diag_ccs *ccs = NULL;
    ppml_diag_css *css = NULL;
    ppml_channel *cch = NULL;
    ppml_channel_listener *l = NULL;
    uint8_t *mb = NULL;
    size_t mlen = 0;
    int ret = 1, e;
    if (diag_cli_load_public(&ccs, ccs_pub, test_keys, unflooded))
        goto out;
    if ((e = ppml_file_read(model, &mb, &mlen, DIAG_FILE_MAX))) {
        cli_error("cannot read %s: %s", model, ppml_strerror(e));
        goto out;
    }
    if ((e = ppml_diag_css_new(&css, ccs, mb, mlen))) {
        cli_error("%s: not a model outsourced under this CCS's key: %s", model, ppml_strerror(e));
        goto out;
    }
    char err[PPML_ERR_LEN] = "";
    /* CCS must be up (its public material is): wait for the handshake, so that a wrong
     * address or key fails here and not on the first user's request. */
    ppml_channel_tcp_opts co = {.endpoint = ccs_addr, .curve = 1, .server_public = ccs_pk,
                                .connect_timeout_ms = 30000,
                                .client_secret = client_key ? csec : NULL};
    e = ppml_channel_tcp_connect(&cch, &co, err);
    if (e) {
        cli_error("cannot connect to CCS at %s: %s", ccs_addr, err[0] ? err : ppml_strerror(e));
        goto out;
    }
    ccs_reconnect_ctx rc_ctx = {&co, ccs_addr};
    signal(SIGPIPE, SIG_IGN);
    char features[64];
    snprintf(features, sizeof features, " (%zu features)", ppml_diag_css_features(css));
    if (serve_cli_listen(&l, "diag-css", listen, sec, NULL, features))
        goto out;
    for (;;) {
        ppml_channel *uch = NULL;
        if ((e = ppml_channel_tcp_accept(l, &uch, PPML_TIMEOUT_INFINITE))) {
            cli_error("serve diag-css: %s", ppml_strerror(e));
            goto out;
        }
        ppml_diag_serve_stats st = {0};
        e = ppml_diag_css_serve_session_reconnect(css, uch, &cch, ccs_reconnect, &rc_ctx, &st,
                                                  idle * 1000);
        ppml_channel_free(uch);
        fprintf(stderr, "ppml serve diag-css: user session ended (%s): %llu served, %llu refused\n",
                e ? ppml_strerror(e) : "bye", (unsigned long long)st.served,
                (unsigned long long)st.refused);
    }
out:
    ppml_channel_listener_free(l);
    sodium_memzero(sec, sizeof sec);
    sodium_memzero(csec, sizeof csec);
    ppml_channel_free(cch);
    free(mb);
    ppml_diag_css_free(css);
    ppml_diag_ccs_free(ccs);
    return ret;
}
