/* ppml — command-line tool. Dispatches to one cmd_<name>() per subcommand (cmd_<name>.c).
 * A subcommand whose source is not part of this build is reported as unavailable. */
#include "cli.h"
#include "ppml/common.h"

#include <stdio.h>
#include <string.h>

#define WEAK __attribute__((weak))
int cmd_keygen(int argc, char **argv) WEAK;
int cmd_encrypt(int argc, char **argv) WEAK;
int cmd_decrypt(int argc, char **argv) WEAK;
int cmd_key(int argc, char **argv) WEAK;
int cmd_bench(int argc, char **argv) WEAK;
int cmd_svm(int argc, char **argv) WEAK;
int cmd_serve(int argc, char **argv) WEAK;
int cmd_diagnose(int argc, char **argv) WEAK;
int cmd_demo(int argc, char **argv) WEAK;
int cmd_dmlp(int argc, char **argv) WEAK;
int cmd_verify(int argc, char **argv) WEAK;

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} command;

static const command commands[] = {
    {"keygen", cmd_keygen, "generate Paillier, DT-PKC or BFV keys"},
    {"encrypt", cmd_encrypt, "encrypt a CSV file of numbers (fixed point, packed or not)"},
    {"decrypt", cmd_decrypt, "decrypt a ciphertext file back to CSV"},
    {"key", cmd_key, "export/import keys (ppml binary, python-paillier JSON)"},
    {"svm", cmd_svm, "train a one-vs-rest linear SVM on encrypted data (scheme S)"},
    {"serve", cmd_serve, "run a cloud server: css or ccs"},
    {"diagnose", cmd_diagnose, "encrypted diagnosis against the servers (user side)"},
    {"demo", cmd_demo, "scheme S end to end on bundled data"},
    {"dmlp", cmd_dmlp, "ACA-DMLP distributed private logistic regression (scheme D)"},
    {"verify", cmd_verify, "verify stored ciphertexts against a signed Merkle root"},
    {"bench", cmd_bench, "benchmarks (--list for suites, --json for JSON lines)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ppml <command> [options]   (ppml <command> --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].fn)
            fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nppml %s — privacy-preserving outsourced machine learning\n", ppml_version());
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr), 1;
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return usage(stdout), 0;
    if (!strcmp(argv[1], "--version"))
        return printf("ppml %s\n", ppml_version()), 0;
    if (ppml_init() != PPML_OK)
        return cli_error("library initialisation failed (libsodium)");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name))
            continue;
        if (!commands[i].fn)
            return cli_error("command '%s' is not available in this build", argv[1]);
        return commands[i].fn(argc - 1, argv + 1);
    }
    return cli_error("unknown command '%s' (try ppml --help)", argv[1]);
}
