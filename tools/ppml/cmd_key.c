/* ppml key export|import: convert Paillier keys between ppml's binary format and
 * python-paillier's JWK JSON (see src/crypto/paillier/json.c for the exact fields). */
#include "cli.h"
#include "paillier_io.h"
#include "ppml/mem.h"
#include "ppml/paillier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: ppml key export --in PREFIX.pk|PREFIX.sk --format json --out FILE [--force]\n"
               "       ppml key import --format json --in FILE --out PREFIX [--force]\n\n"
               "export: a public key becomes a python-paillier public JWK\n"
               "        {\"kty\":\"DAJ\",\"alg\":\"PAI-GN1\",\"key_ops\":[\"encrypt\"],\"n\":...};\n"
               "        a secret key a private JWK with p, q (phe >= 1.4) and lambda, mu (older phe)\n"
               "        and the public JWK under \"pub\" (written with mode 0600).\n"
               "import: a public JWK gives PREFIX.pk; a private JWK (p/q or lambda[/mu]) gives\n"
               "        PREFIX.sk (mode 0600) and PREFIX.pk.\n"
               "  --insecure-test-keys  TEST ONLY: accept keys below 2048 bits\n");
}

static int do_export(const char *in, const char *out, int force)
{
    uint8_t *buf;
    size_t len;
    if (pio_check_new(out, force) || pio_read("key", in, &buf, &len))
        return 1;
    ppml_paillier_pk *pk = NULL;
    ppml_paillier_sk *sk = NULL;
    char *json = NULL;
    int rc = 0;
    int e = ppml_paillier_pk_load(&pk, buf, len);
    if (e == PPML_EFORMAT)
        e = ppml_paillier_sk_load(&sk, buf, len);
    ppml_free_secret(buf, len);
    if (e == PPML_EWEAK)
        return cli_error("key '%s': modulus below 2048 bits refused (%s)", in, ppml_strerror(e));
    if (e)
        return cli_error("'%s' is not a ppml Paillier key: %s", in, ppml_strerror(e));
    e = pk ? ppml_paillier_pk_to_jwk(pk, &json) : ppml_paillier_sk_to_jwk(sk, &json);
    if (e) {
        rc = cli_error("cannot encode the key as JSON: %s", ppml_strerror(e));
    } else {
        size_t l = strlen(json);
        json[l] = '\n';
        rc = pio_write(out, json, l + 1, sk ? 0600 : 0644);
        ppml_free_secret(json, l + 1);
    }
    ppml_paillier_pk_free(pk);
    ppml_paillier_sk_free(sk);
    return rc;
}

static int do_import(const char *in, const char *prefix, int force)
{
    char pk_path[4096], sk_path[4096];
    uint8_t *buf;
    size_t len;
    if (pio_path(pk_path, sizeof pk_path, prefix, ".pk") || pio_path(sk_path, sizeof sk_path, prefix, ".sk"))
        return 1;
    if (pio_read("key", in, &buf, &len))
        return 1;
    ppml_paillier_pk *pk = NULL;
    ppml_paillier_sk *sk = NULL;
    int rc = 0, e = ppml_paillier_pk_from_jwk(&pk, (const char *)buf, len);
    if (e == PPML_EFORMAT)
        e = ppml_paillier_sk_from_jwk(&sk, (const char *)buf, len);
    ppml_free_secret(buf, len);
    if (e == PPML_EWEAK)
        return cli_error("key '%s': modulus below 2048 bits refused (%s)", in, ppml_strerror(e));
    if (e)
        return cli_error("'%s' is not a valid python-paillier JWK key: %s", in, ppml_strerror(e));
    uint8_t *pkb = NULL, *skb = NULL;
    size_t pkl = 0, skl = 0;
    const ppml_paillier_pk *pub = sk ? ppml_paillier_sk_pk(sk) : pk;
    if ((e = ppml_paillier_pk_save(pub, &pkb, &pkl)) || (sk && (e = ppml_paillier_sk_save(sk, &skb, &skl))))
        rc = cli_error("cannot serialize the key: %s", ppml_strerror(e));
    if (!rc)
        rc = pio_check_new(pk_path, force) || (sk && pio_check_new(sk_path, force));
    if (!rc && sk)
        rc = pio_write(sk_path, skb, skl, 0600);
    if (!rc)
        rc = pio_write(pk_path, pkb, pkl, 0644);
    free(pkb);
    ppml_free_secret(skb, skl);
    ppml_paillier_pk_free(pk);
    ppml_paillier_sk_free(sk);
    return rc;
}

int cmd_key(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2;
    }
    const char *action = argv[1], *in = NULL, *out = NULL, *format = NULL;
    int force = 0;
    if (strcmp(action, "export") && strcmp(action, "import"))
        return cli_error("key: unknown action '%s' (export or import)", action);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--in") || !strcmp(a, "--out") || !strcmp(a, "--format")) {
            if (!(v = cli_value(argc, argv, &i)))
                return 1;
            *(!strcmp(a, "--in") ? &in : !strcmp(a, "--out") ? &out : &format) = v;
        } else if (!strcmp(a, "--force")) {
            force = 1;
        } else if (!strcmp(a, "--insecure-test-keys")) {
            ppml_paillier_allow_insecure_test_keys(1);
        } else {
            return cli_error("key %s: unknown option '%s' (see --help)", action, a);
        }
    }
    if (!in || !out)
        return cli_error("key %s: --in and --out are required (see --help)", action);
    if (!format || strcmp(format, "json"))
        return cli_error("key %s: --format json is required (the only interchange format)", action);
    return !strcmp(action, "export") ? do_export(in, out, force) : do_import(in, out, force);
}
