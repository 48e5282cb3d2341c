/* Fuzz target: the python-paillier JSON importers (public JWK, private JWK, encrypted
 * vector with and without a known key). Malformed text must be refused, never crash. */
#include "fuzz_paillier_common.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ppml_paillier_pk *key = fuzz_paillier_key();
    const char *text = (const char *)data;

    ppml_paillier_pk *pk = NULL;
    if (ppml_paillier_pk_from_jwk(&pk, text, size) == PPML_OK) {
        char *js = NULL;
        if (ppml_paillier_pk_to_jwk(pk, &js) != PPML_OK)
            abort();
        free(js);
        ppml_paillier_pk_free(pk);
    }
    ppml_paillier_sk *sk = NULL;
    if (ppml_paillier_sk_from_jwk(&sk, text, size) == PPML_OK) {
        char *js = NULL;
        if (ppml_paillier_sk_to_jwk(sk, &js) != PPML_OK)
            abort();
        free(js);
        ppml_paillier_sk_free(sk);
    }
    mpz_t *cts = NULL;
    int *ex = NULL;
    size_t count = 0;
    if (ppml_paillier_ctvec_from_json(key, NULL, &cts, &ex, &count, text, size) == PPML_OK) {
        char *js = NULL;
        if (ppml_paillier_ctvec_to_json(key, (const mpz_t *)cts, ex, count, &js) != PPML_OK)
            abort();
        free(js);
        ppml_paillier_ctvec_free(cts, count);
        free(ex);
    }
    ppml_paillier_pk *emb = NULL;
    if (ppml_paillier_ctvec_from_json(NULL, &emb, &cts, &ex, &count, text, size) == PPML_OK) {
        ppml_paillier_ctvec_free(cts, count);
        free(ex);
        ppml_paillier_pk_free(emb);
    }
    return 0;
}
