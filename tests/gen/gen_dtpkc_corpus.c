/* Writes the seed corpus of fuzz_dtpkc_load: one valid object of each kind for the fuzz
 * target's fixed context, prefixed by its selector byte.
 * Build and run from the source root after building libppml:
 *   cc -std=c11 -Iinclude -Itests/fuzz tests/gen/gen_dtpkc_corpus.c build/libppml.a \
 *      -lgmp -lsodium -lsqlite3 -lz -ljansson -lzmq -lpthread -lm -o /tmp/gen_dtpkc_corpus
 *   /tmp/gen_dtpkc_corpus tests/fuzz/corpus/fuzz_dtpkc_load */
#include "dtpkc_fuzz_ctx.h"

#include <stdio.h>

static void put(const char *dir, const char *name, int sel, uint8_t *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(sel, f) == EOF || fwrite(buf, 1, len, f) != len || fclose(f)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    fz_ctx c;
    uint8_t *b;
    size_t l;
    if (argc != 2 || fz_setup(&c))
        return 1;
    const ppml_dtpkc_pk *pk = ppml_dtpkc_sk_pk(c.user);
    if (ppml_dtpkc_params_save(c.pp, &b, &l)) return 1;
    put(argv[1], "params", FZ_PARAMS, b, l);
    if (ppml_dtpkc_pk_save(pk, &b, &l)) return 1;
    put(argv[1], "pk", FZ_PK, b, l);
    if (ppml_dtpkc_sk_save(c.user, &b, &l)) return 1;
    put(argv[1], "sk", FZ_SK, b, l);
    if (ppml_dtpkc_strong_save(c.strong, &b, &l)) return 1;
    put(argv[1], "strong", FZ_STRONG, b, l);
    if (ppml_dtpkc_partial_save(c.sk1, &b, &l)) return 1;
    put(argv[1], "partial1", FZ_PARTIAL, b, l);
    if (ppml_dtpkc_partial_save(c.sk2, &b, &l)) return 1;
    put(argv[1], "partial2", FZ_PARTIAL, b, l);
    if (ppml_dtpkc_ct_save(pk, &c.ct, &b, &l)) return 1;
    put(argv[1], "ct", FZ_CT, b, l);
    ppml_dtpkc_ct v[3] = {c.ct, c.ct, c.ct};
    if (ppml_dtpkc_ctvec_save(pk, v, 3, &b, &l)) return 1;
    put(argv[1], "ctvec", FZ_CTVEC, b, l);
    return 0;
}
