/* Shared by cmd_svm.c, cmd_serve.c and bench_svm.c: data preparation and CURVE key files. */
#ifndef PPML_SVM_CLI_H
#define PPML_SVM_CLI_H
#include "ppml/dataset.h"

/* Load CSV, stratified split (seeded), standardise on the training split, clip to bound. */
int svm_cli_prepare(ppml_dataset *train, ppml_dataset *test, const char *path, double test_fraction,
                    unsigned seed, double bound);
/* Read a 40-character Z85 key from a file (trailing newline allowed) into key[41]. */
int svm_cli_read_key(char key[41], const char *path);
#endif
