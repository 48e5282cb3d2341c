/* ppml verify: public verification of a stored upload (DESIGN §2 "Integrity and
 * authentication", §5.1). Reads ("downloads") every stored item of one dataset from an SQLite
 * store (ppml/store.h), recomputes the Merkle root and checks the owner's Ed25519 signature
 * over it — against a key given with --pk, or else the key stored with the dataset. Needs
 * nothing secret: anyone holding the store can run it. */
#include "cli.h"
#include "ppml/merkle.h"
#include "ppml/serial.h"
#include "ppml/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: ppml verify --store FILE.db --dataset ID [--pk HEX] [--quiet]\n\n"
               "Reads every stored item of dataset ID, recomputes their Merkle root and checks the\n"
               "owner's Ed25519 signature over (ID, count, root). Exit 0 and \"verified: N ciphertexts\"\n"
               "when it holds; an error otherwise.\n"
               "  --store FILE.db   the SQLite store (e.g. from `ppml dmlp ... --store FILE.db`)\n"
               "  --dataset ID      the dataset (scheme D uploads: dp0/<task>/<k>)\n"
               "  --pk HEX          the owner's public key (64 hex digits); without it the key\n"
               "                    stored with the dataset is used, which only shows that the data\n"
               "                    is what that key signed\n"
               "  --quiet           print nothing on success\n");
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void to_hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int is_ciphertext(const uint8_t *item, size_t len)
{
    static const uint16_t types[] = {PPML_T_BFV_CT, PPML_T_PAILLIER_CT, PPML_T_DTPKC_CT};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        ppml_reader r;
        ppml_header h;
        ppml_reader_init(&r, item, len);
        if (ppml_read_header(&r, &h, types[t], NULL) == PPML_OK)
            return 1;
    }
    return 0;
}

int cmd_verify(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *path = NULL, *id = NULL, *pkhex = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--store")) {
            if (!(path = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--dataset")) {
            if (!(id = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--pk")) {
            if (!(pkhex = cli_value(argc, argv, &i)))
                return 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else {
            return cli_error("verify: unknown option '%s' (ppml verify --help)", a);
        }
    }
    if (!path || !id)
        return cli_error("verify: --store FILE.db and --dataset ID are required (ppml verify --help)");
    if (!*id || strlen(id) > PPML_DATASET_ID_MAX)
        return cli_error("verify: --dataset: expected 1..%d characters", PPML_DATASET_ID_MAX);
    uint8_t pk[PPML_SIGN_PK_BYTES];
    if (pkhex) {
        if (strlen(pkhex) != 2 * sizeof pk)
            return cli_error("verify: --pk: expected %zu hex digits, got %zu characters", 2 * sizeof pk, strlen(pkhex));
        for (size_t i = 0; i < sizeof pk; i++) {
            int hi = hexval(pkhex[2 * i]), lo = hexval(pkhex[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return cli_error("verify: --pk: '%s' is not hexadecimal", pkhex);
            pk[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    /* Opening would create a missing file: refuse that first. */
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return cli_error("verify: store '%s': no such file", path);
    ppml_store *st = NULL;
    char err[PPML_ERR_LEN] = "";
    int e = ppml_store_open(&st, path, err);
    if (e)
        return cli_error("verify: cannot open store '%s': %s%s%s", path, ppml_strerror(e), *err ? ": " : "", err);
    int rc = 1;
    uint64_t count = 0, nct = 0;
    uint8_t stored_pk[PPML_SIGN_PK_BYTES];
    char hex[2 * PPML_SIGN_PK_BYTES + 1];
    if ((e = ppml_store_dataset_info(st, id, &count, stored_pk, NULL))) {
        cli_error("verify: no dataset '%s' in store '%s'%s%s", id, path, e == PPML_EINVAL ? "" : ": ",
                  e == PPML_EINVAL ? "" : ppml_strerror(e));
        goto out;
    }
    to_hex(hex, stored_pk, sizeof stored_pk);
    if (pkhex && memcmp(pk, stored_pk, sizeof pk) != 0) {
        cli_error("verify: dataset '%s' FAILED: it is signed by key %s, not the --pk given", id, hex);
        goto out;
    }
    /* Download every item (what a verifier holds) and check what it is. */
    for (uint64_t k = 0; k < count; k++) {
        uint8_t *item = NULL;
        size_t len = 0;
        if ((e = ppml_store_get_item(st, id, k, &item, &len))) {
            cli_error("verify: dataset '%s': item %llu of %llu unreadable: %s", id, (unsigned long long)k,
                      (unsigned long long)count, ppml_strerror(e));
            goto out;
        }
        nct += (uint64_t)is_ciphertext(item, len);
        free(item);
    }
    e = ppml_store_verify(st, id, pkhex ? pk : NULL);
    if (e == PPML_EVERIFY) {
        cli_error("verify: dataset '%s' FAILED: the stored items do not match the Merkle root signed by key %s "
                  "(tampered or incomplete)", id, hex);
        goto out;
    }
    if (e) {
        cli_error("verify: dataset '%s': %s", id, ppml_strerror(e));
        goto out;
    }
    if (!quiet) {
        if (nct == count)
            printf("verified: %llu ciphertexts in dataset '%s', signed by key %s%s\n", (unsigned long long)count, id, hex,
                   pkhex ? "" : " (the stored key: pass --pk to pin the owner)");
        else
            printf("verified: %llu items (%llu ciphertexts) in dataset '%s', signed by key %s%s\n",
                   (unsigned long long)count, (unsigned long long)nct, id, hex,
                   pkhex ? "" : " (the stored key: pass --pk to pin the owner)");
    }
    rc = 0;
out:
    ppml_store_close(st);
    return rc;
}
