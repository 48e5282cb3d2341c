/* Fuzz target: the loaders of CCS's saved key material (ppml_diag_ccs_load_public and
 * ppml_diag_ccs_load_secret), which `ppml serve diag-*` and `ppml diagnose` apply to files.
 * A CCS is set up once with tiny insecure parameters (n = 256); PPML_FUZZ_DIAG_WRITE=DIR
 * writes its valid public and secret files there (the corpus). */
#include "ppml/diagnosis.h"
#include "ppml/rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ready;

static void write_file(const char *dir, const char *name, const uint8_t *b, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, len, f) != len)
        abort();
    fclose(f);
}

static void setup(void)
{
    static const unsigned bits[] = {50, 50, 50};
    if (ppml_init() != PPML_OK)
        abort();
    uint8_t seed[PPML_SEED_BYTES] = {0x6e};
    ppml_rand_set_test_seed(seed);
    ready = 1;
    const char *dir = getenv("PPML_FUZZ_DIAG_WRITE");
    if (!dir)
        return;
    ppml_diag_config c;
    ppml_diag_config_default(&c);
    c.bfv_n = 256;
    c.t_bits = 20;
    c.prime_bits = bits;
    c.prime_count = 3;
    c.paillier_bits = 256;
    c.frac_w = c.frac_x = 4;
    c.x_max = 4;
    c.insecure_for_tests = 1;
    ppml_diag_ccs *ccs = NULL;
    uint8_t *p = NULL, *s = NULL;
    size_t pl, sl;
    if (ppml_diag_ccs_new(&ccs, &c) || ppml_diag_ccs_save_public(ccs, &p, &pl) ||
        ppml_diag_ccs_save_secret(ccs, &s, &sl))
        abort();
    write_file(dir, "public", p, pl);
    write_file(dir, "secret", s, sl);
    free(p);
    free(s);
    ppml_diag_ccs_free(ccs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    ppml_diag_ccs *c = NULL;
    if (ppml_diag_ccs_load_public(&c, data, size, 1) == PPML_OK) {
        uint8_t *out = NULL;
        size_t len;
        if (ppml_diag_ccs_save_public(c, &out, &len) == PPML_OK)
            free(out);
        ppml_diag_ccs_free(c);
        c = NULL;
    }
    if (ppml_diag_ccs_load_secret(&c, data, size, 1) == PPML_OK)
        ppml_diag_ccs_free(c);
    return 0;
}
