/* Fuzz target: every BFV loader on arbitrary bytes. Objects belong to a fixed small
 * test-only parameter set (n = 16), the one tests/fuzz/corpus/fuzz_bfv_load/ was made with.
 * Whatever loads must be usable: decrypting a loaded ciphertext with a fixed key must not
 * crash. */
#include "ppml/bfv.h"

#include <stdint.h>
#include <stdlib.h>

static ppml_bfv_params *params;
static ppml_bfv_sk *key;

static void setup(void)
{
    static const unsigned bits[] = {30, 30, 31};
    if (params)
        return;
    if (ppml_init() != PPML_OK ||
        ppml_bfv_params_from_bits(&params, 16, bits, 3, 12, 1) != PPML_OK ||
        ppml_bfv_sk_new(params, &key) != PPML_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    ppml_bfv_params *p = NULL;
    if (ppml_bfv_params_load(&p, data, size) == PPML_OK)
        ppml_bfv_params_free(p);
    ppml_bfv_sk *sk = NULL;
    if (ppml_bfv_sk_load(params, &sk, data, size) == PPML_OK)
        ppml_bfv_sk_free(sk);
    ppml_bfv_pk *pk = NULL;
    if (ppml_bfv_pk_load(params, &pk, data, size) == PPML_OK)
        ppml_bfv_pk_free(pk);
    ppml_bfv_rlk *rlk = NULL;
    if (ppml_bfv_rlk_load(params, &rlk, data, size) == PPML_OK)
        ppml_bfv_rlk_free(rlk);
    ppml_bfv_galk *gk = NULL;
    if (ppml_bfv_galk_load(params, &gk, data, size) == PPML_OK)
        ppml_bfv_galk_free(gk);
    ppml_bfv_pt *pt = NULL;
    if (ppml_bfv_pt_load(params, &pt, data, size) == PPML_OK)
        ppml_bfv_pt_free(pt);
    ppml_bfv_ct *ct = NULL;
    if (ppml_bfv_ct_load(params, &ct, data, size) == PPML_OK) {
        ppml_bfv_pt *out;
        if (ppml_bfv_pt_new(params, &out) == PPML_OK) {
            int bits;
            if (ppml_bfv_decrypt(key, out, ct) != PPML_OK || ppml_bfv_noise_budget(key, ct, &bits) != PPML_OK)
                abort(); /* a loaded ciphertext is always usable */
            ppml_bfv_pt_free(out);
        }
        ppml_bfv_ct_free(ct);
    }
    ppml_bfv_decshare *d = NULL;
    if (ppml_bfv_decshare_load(params, &d, data, size) == PPML_OK)
        ppml_bfv_decshare_free(d);
    ppml_bfv_rkey *rk = NULL;
    if (ppml_bfv_rkey_load(params, &rk, data, size) == PPML_OK)
        ppml_bfv_rkey_free(rk);
    ppml_bfv_poly *poly = NULL;
    if (ppml_bfv_poly_load(params, &poly, data, size) == PPML_OK)
        ppml_bfv_poly_free(poly);
    ppml_bfv_rkg_share *sh = NULL;
    if (ppml_bfv_rkg_share_load(params, &sh, data, size) == PPML_OK)
        ppml_bfv_rkg_share_free(sh);
    return 0;
}
