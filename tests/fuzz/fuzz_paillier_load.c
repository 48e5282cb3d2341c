/* Fuzz target: every Paillier binary loader (pk, sk, ciphertext vector, encrypted matrix)
 * on the same input. Loaders must refuse malformed input with an error, never crash or
 * leak; whatever loads must save back to the same bytes. */
#include "fuzz_paillier_common.h"

#include <string.h>

static void check_resave(int rc, uint8_t *out, size_t olen, const uint8_t *data, size_t size)
{
    if (rc != PPML_OK || olen != size || memcmp(out, data, size) != 0)
        abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ppml_paillier_pk *key = fuzz_paillier_key();
    uint8_t *out = NULL;
    size_t olen = 0;

    ppml_paillier_pk *pk = NULL;
    if (ppml_paillier_pk_load(&pk, data, size) == PPML_OK) {
        int rc = ppml_paillier_pk_save(pk, &out, &olen);
        check_resave(rc, out, olen, data, size);
        ppml_paillier_pk_free(pk);
    }
    ppml_paillier_sk *sk = NULL;
    if (ppml_paillier_sk_load(&sk, data, size) == PPML_OK) {
        int rc = ppml_paillier_sk_save(sk, &out, &olen);
        check_resave(rc, out, olen, data, size);
        ppml_paillier_sk_free(sk);
    }
    mpz_t *cts = NULL;
    size_t count = 0;
    if (ppml_paillier_ctvec_load(key, &cts, &count, data, size) == PPML_OK) {
        for (size_t i = 0; i < count; i++)
            if (ppml_paillier_ct_check(key, cts[i]) != PPML_OK)
                abort();
        int rc = ppml_paillier_ctvec_save(key, (const mpz_t *)cts, count, &out, &olen);
        check_resave(rc, out, olen, data, size);
        ppml_paillier_ctvec_free(cts, count);
    }
    ppml_paillier_matrix *mat = NULL;
    if (ppml_paillier_matrix_load(key, &mat, data, size) == PPML_OK) {
        int rc = ppml_paillier_matrix_save(key, mat, &out, &olen);
        check_resave(rc, out, olen, data, size);
        ppml_paillier_matrix_free(mat);
    }
    return 0;
}
