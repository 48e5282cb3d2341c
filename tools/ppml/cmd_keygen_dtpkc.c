/* ppml keygen dtpkc: the TA's DT-PKC set-up (DESIGN §4.1). Called by cmd_keygen.c with
 * argv[0] = "dtpkc". Writes
 *   PREFIX.params          public parameters N, g                   (0644)
 *   PREFIX.strong          strong key lambda (TA only)              (0600)
 *   PREFIX.sk1, PREFIX.sk2 split strong key: SK1 for CSS, SK2 for CCS (0600)
 *   PREFIX.user<i>.sk/.pk  user key pairs, i = 1..K                 (sk 0600, pk 0644) */
#include "cli.h"
#include "ppml/dtpkc.h"
#include "ppml/mem.h"
#include "ppml/serial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_keygen_dtpkc(int argc, char **argv);

static void usage(void)
{
    printf("usage: ppml keygen dtpkc --out PREFIX [--bits 2048|3072] [--users K]\n"
           "                         [--insecure-test-bits B]\n\n"
           "DT-PKC (distributed two-trapdoor Paillier) set-up for scheme S. Writes\n"
           "  PREFIX.params          public parameters (N = pq with safe primes, g)\n"
           "  PREFIX.strong          strong key lambda (keep offline)          mode 0600\n"
           "  PREFIX.sk1 PREFIX.sk2  split strong key: SK1 for CSS, SK2 for CCS  mode 0600\n"
           "  PREFIX.user<i>.sk/.pk  K user key pairs, i = 1..K (sk mode 0600)\n\n"
           "--bits B                 modulus size: 2048 (default) or 3072; smaller is refused\n"
           "--users K                number of user key pairs (default 1, 0..1000)\n"
           "--insecure-test-bits B   TEST ONLY: a B-bit modulus (256..2046), insecure\n\n"
           "The safe-prime search dominates: expect tens of seconds at 2048 bits and\n"
           "minutes at 3072 (progress is shown on a terminal).\n");
}

typedef struct {
    uint64_t t0;
    unsigned nprimes;
} progress_state;

static void on_progress(void *ctx, unsigned prime_index, uint64_t tested)
{
    const progress_state *st = ctx;
    double secs = (double)(cli_now_ns() - st->t0) / 1e9;
    cli_progress("safe prime %u/%u: %llu candidates tested, %.1f s", prime_index + 1, st->nprimes,
                 (unsigned long long)tested, secs);
}

static int write_reported; /* write_obj printed its own error */

static int write_obj(const char *prefix, const char *suffix, uint8_t *buf, size_t len, unsigned mode,
                     int secret)
{
    size_t n = strlen(prefix) + strlen(suffix) + 1;
    char *path = malloc(n);
    int e = PPML_ENOMEM;
    if (path) {
        snprintf(path, n, "%s%s", prefix, suffix);
        e = ppml_file_write_atomic(path, buf, len, mode);
        if (e) {
            cli_error("cannot write %s: %s", path, ppml_strerror(e));
            write_reported = 1;
        }
        else
            printf("wrote %s\n", path);
        free(path);
    }
    if (secret)
        ppml_free_secret(buf, len);
    else
        free(buf);
    return e;
}

int cmd_keygen_dtpkc(int argc, char **argv)
{
    int bits = 2048, users = 1, test_bits = 0;
    const char *out = NULL;
    if (cli_wants_help(argc, argv))
        return usage(), 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--bits")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int("--bits", v, 1, 1 << 20, &bits))
                return 1;
        } else if (!strcmp(argv[i], "--users")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int("--users", v, 0, 1000, &users))
                return 1;
        } else if (!strcmp(argv[i], "--insecure-test-bits")) {
            if (!(v = cli_value(argc, argv, &i)) ||
                cli_parse_int("--insecure-test-bits", v, PPML_DTPKC_TEST_MIN_BITS, PPML_DTPKC_MIN_BITS - 2,
                              &test_bits))
                return 1;
            if (test_bits % 2)
                return cli_error("--insecure-test-bits must be even");
        } else if (!strcmp(argv[i], "--out")) {
            if (!(v = cli_value(argc, argv, &i)))
                return 1;
            out = v;
        } else {
            return cli_error("keygen dtpkc: unknown option '%s' (see --help)", argv[i]);
        }
    }
    if (!out || !*out)
        return cli_error("keygen dtpkc: --out PREFIX is required");
    if (!test_bits && bits < PPML_DTPKC_MIN_BITS)
        return cli_error("keygen dtpkc: %d-bit moduli are too weak (minimum %d)", bits, PPML_DTPKC_MIN_BITS);
    if (!test_bits && bits != 2048 && bits != 3072)
        return cli_error("keygen dtpkc: --bits must be 2048 or 3072");
    if (test_bits)
        fprintf(stderr, "ppml: warning: --insecure-test-bits %d: these keys are NOT secure\n", test_bits);

    ppml_dtpkc_params *pp = NULL;
    ppml_dtpkc_strong_sk *strong = NULL;
    ppml_dtpkc_partial_sk *sk1 = NULL, *sk2 = NULL;
    progress_state st = {cli_now_ns(), 2};
    int e = test_bits ? ppml_dtpkc_keygen_insecure_for_tests(&pp, &strong, (unsigned)test_bits)
                      : ppml_dtpkc_keygen(&pp, &strong, (unsigned)bits, on_progress, &st);
    if (cli_progress_enabled())
        fputs("\r\033[K", stderr);
    if (e)
        return cli_error("keygen dtpkc: %s", ppml_strerror(e));
    double secs = (double)(cli_now_ns() - st.t0) / 1e9;
    int rc = 1;
    uint8_t *buf;
    size_t len;
    if ((e = ppml_dtpkc_split(&sk1, &sk2, strong))) {
        cli_error("keygen dtpkc: %s", ppml_strerror(e));
        goto done;
    }
    if ((e = ppml_dtpkc_params_save(pp, &buf, &len)) || (e = write_obj(out, ".params", buf, len, 0644, 0)))
        goto fail;
    if ((e = ppml_dtpkc_strong_save(strong, &buf, &len)) || (e = write_obj(out, ".strong", buf, len, 0600, 1)))
        goto fail;
    if ((e = ppml_dtpkc_partial_save(sk1, &buf, &len)) || (e = write_obj(out, ".sk1", buf, len, 0600, 1)))
        goto fail;
    if ((e = ppml_dtpkc_partial_save(sk2, &buf, &len)) || (e = write_obj(out, ".sk2", buf, len, 0600, 1)))
        goto fail;
    for (int u = 1; u <= users; u++) {
        ppml_dtpkc_sk *usk = NULL;
        char suffix[64];
        if ((e = ppml_dtpkc_user_keygen(&usk, pp)))
            goto fail;
        snprintf(suffix, sizeof suffix, ".user%d.sk", u);
        if ((e = ppml_dtpkc_sk_save(usk, &buf, &len)) || (e = write_obj(out, suffix, buf, len, 0600, 1))) {
            ppml_dtpkc_sk_free(usk);
            goto fail;
        }
        snprintf(suffix, sizeof suffix, ".user%d.pk", u);
        e = ppml_dtpkc_pk_save(ppml_dtpkc_sk_pk(usk), &buf, &len);
        ppml_dtpkc_sk_free(usk);
        if (e || (e = write_obj(out, suffix, buf, len, 0644, 0)))
            goto fail;
    }
    printf("DT-PKC parameters: %u-bit N, %d user key(s); key generation took %.1f s\n",
           ppml_dtpkc_params_bits(pp), users, secs);
    rc = 0;
    goto done;
fail:
    if (!write_reported)
        cli_error("keygen dtpkc: %s", ppml_strerror(e));
done:
    ppml_dtpkc_partial_free(sk1);
    ppml_dtpkc_partial_free(sk2);
    ppml_dtpkc_strong_free(strong);
    ppml_dtpkc_params_free(pp);
    return rc;
}
