/* ppml keygen paillier|dtpkc|bfv ...
 * Paillier here; DT-PKC and BFV key generation live with their modules and are reached
 * through weak symbols (reported as unavailable when not linked in). They receive argv with
 * argv[0] = "dtpkc" / "bfv". */
#include "cli.h"
#include "paillier_io.h"
#include "ppml/mem.h"
#include "ppml/paillier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_keygen_dtpkc(int argc, char **argv) __attribute__((weak));
int cmd_keygen_bfv(int argc, char **argv) __attribute__((weak));

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ppml keygen paillier [--bits 2048|3072|4096] --out PREFIX [--force]\n"
            "       ppml keygen dtpkc ...    (ppml keygen dtpkc --help)\n"
            "       ppml keygen bfv ...      (ppml keygen bfv --help)\n\n"
            "Paillier: writes PREFIX.pk (public key) and PREFIX.sk (secret key, mode 0600), each\n"
            "written atomically. --bits defaults to 2048; below 2048 is refused.\n"
            "  --force                   overwrite existing key files\n"
            "  --insecure-test-bits N    TEST ONLY: a small modulus (N >= 256) for fast tests;\n"
            "                            such keys are usable only with --insecure-test-keys\n");
}

static int keygen_paillier(int argc, char **argv)
{
    const char *out = NULL;
    unsigned bits = 2048;
    int insecure = 0, force = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--bits") || !strcmp(a, "--insecure-test-bits")) {
            const char *v = cli_value(argc, argv, &i);
            uint64_t b;
            if (!v)
                return 1;
            if (!strcmp(a, "--bits")) {
                if (cli_parse_u64(a, v, 0, PPML_PAILLIER_MAX_BITS, &b))
                    return 1;
                if (b < PPML_PAILLIER_MIN_BITS)
                    return cli_error("--bits %llu: below %d bits is refused (weak)", (unsigned long long)b,
                                     PPML_PAILLIER_MIN_BITS);
                if (b % 256)
                    return cli_error("--bits: must be a multiple of 256 (2048, 3072, 4096, ...)");
            } else {
                if (cli_parse_u64(a, v, PPML_PAILLIER_TEST_MIN_BITS, PPML_PAILLIER_MAX_BITS, &b))
                    return 1;
                if (b % 2)
                    return cli_error("--insecure-test-bits: must be even");
                insecure = 1;
            }
            bits = (unsigned)b;
        } else if (!strcmp(a, "--out")) {
            if (!(out = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else {
            return cli_error("keygen paillier: unknown option '%s' (see --help)", a);
        }
    }
    if (!out || !*out)
        return cli_error("keygen paillier: --out PREFIX is required");
    char pk_path[4096], sk_path[4096];
    if (pio_path(pk_path, sizeof pk_path, out, ".pk") || pio_path(sk_path, sizeof sk_path, out, ".sk") ||
        pio_check_new(pk_path, force) || pio_check_new(sk_path, force))
        return 1;
    if (insecure)
        fprintf(stderr, "ppml: warning: %u-bit key for tests only; it offers no security\n", bits);
    cli_progress("generating a %u-bit Paillier key...", bits);
    ppml_paillier_sk *sk = NULL;
    int e = insecure ? ppml_paillier_keygen_insecure_for_tests(&sk, bits) : ppml_paillier_keygen(&sk, bits);
    if (cli_progress_enabled())
        fputc('\n', stderr);
    if (e)
        return cli_error("key generation failed: %s", ppml_strerror(e));
    uint8_t *pkb = NULL, *skb = NULL;
    size_t pkl = 0, skl = 0;
    int rc = 0;
    if ((e = ppml_paillier_pk_save(ppml_paillier_sk_pk(sk), &pkb, &pkl)) ||
        (e = ppml_paillier_sk_save(sk, &skb, &skl)))
        rc = cli_error("cannot serialize the key: %s", ppml_strerror(e));
    /* secret first: a crash in between leaves at worst a lone .sk, never a .pk without it */
    if (!rc)
        rc = pio_write(sk_path, skb, skl, 0600);
    if (!rc)
        rc = pio_write(pk_path, pkb, pkl, 0644);
    free(pkb);
    ppml_free_secret(skb, skl);
    ppml_paillier_sk_free(sk);
    return rc;
}

int cmd_keygen(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2;
    }
    if (!strcmp(argv[1], "paillier"))
        return keygen_paillier(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dtpkc")) {
        if (!cmd_keygen_dtpkc)
            return cli_error("keygen dtpkc is not available in this build");
        return cmd_keygen_dtpkc(argc - 1, argv + 1);
    }
    if (!strcmp(argv[1], "bfv")) {
        if (!cmd_keygen_bfv)
            return cli_error("keygen bfv is not available in this build");
        return cmd_keygen_bfv(argc - 1, argv + 1);
    }
    return cli_error("keygen: unknown scheme '%s' (paillier, dtpkc or bfv)", argv[1]);
}
