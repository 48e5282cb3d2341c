/* Fuzz target over every DT-PKC loader: params, user pk, user sk, strong key, partial key,
 * ciphertext, ciphertext vector (byte 0 of the input picks one). A loader must return an
 * error or a valid object, never crash; accepted objects are used once (decrypt / encrypt),
 * which must then succeed. */
#include "dtpkc_fuzz_ctx.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fz_ctx ctx;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (fz_setup(&ctx))
            abort();
        ready = 1;
    }
    if (size < 1)
        return 0;
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    const ppml_dtpkc_pk *pk = ppml_dtpkc_sk_pk(ctx.user);
    mpz_t m;
    mpz_init(m);
    switch (data[0] % FZ_COUNT) {
    case FZ_PARAMS: {
        ppml_dtpkc_params *pp = NULL;
        if (ppml_dtpkc_params_load_insecure_for_tests(&pp, buf, len) == PPML_OK) {
            ppml_dtpkc_sk *u = NULL;
            if (ppml_dtpkc_user_keygen(&u, pp) != PPML_OK)
                abort();
            ppml_dtpkc_sk_free(u);
        }
        ppml_dtpkc_params_free(pp);
        pp = NULL;
        if (ppml_dtpkc_params_load(&pp, buf, len) == PPML_OK) /* only >= 2048-bit N */
            ppml_dtpkc_params_free(pp);
        break;
    }
    case FZ_PK: {
        ppml_dtpkc_pk *p = NULL;
        if (ppml_dtpkc_pk_load(&p, ctx.pp, buf, len) == PPML_OK) {
            ppml_dtpkc_ct ct;
            ppml_dtpkc_ct_init(&ct);
            if (ppml_dtpkc_encrypt_i64(p, &ct, 7) != PPML_OK || ppml_dtpkc_decrypt_strong(ctx.strong, m, &ct) != PPML_OK)
                abort();
            ppml_dtpkc_ct_clear(&ct);
        }
        ppml_dtpkc_pk_free(p);
        break;
    }
    case FZ_SK: {
        ppml_dtpkc_sk *s = NULL;
        if (ppml_dtpkc_sk_load(&s, ctx.pp, buf, len) == PPML_OK) {
            ppml_dtpkc_ct ct;
            ppml_dtpkc_ct_init(&ct);
            if (ppml_dtpkc_encrypt_i64(ppml_dtpkc_sk_pk(s), &ct, 7) != PPML_OK || ppml_dtpkc_decrypt(s, m, &ct) != PPML_OK ||
                mpz_cmp_ui(m, 7) != 0)
                abort();
            ppml_dtpkc_ct_clear(&ct);
        }
        ppml_dtpkc_sk_free(s);
        break;
    }
    case FZ_STRONG: {
        ppml_dtpkc_strong_sk *s = NULL;
        if (ppml_dtpkc_strong_load(&s, ctx.pp, buf, len) == PPML_OK) {
            /* g^lambda = 1 was checked, so strong decryption is exact */
            if (ppml_dtpkc_decrypt_strong(s, m, &ctx.ct) != PPML_OK || mpz_cmp_ui(m, 12345) != 0)
                abort();
        }
        ppml_dtpkc_strong_free(s);
        break;
    }
    case FZ_PARTIAL: {
        ppml_dtpkc_partial_sk *s = NULL;
        if (ppml_dtpkc_partial_load(&s, ctx.pp, buf, len) == PPML_OK) {
            if (ppml_dtpkc_partial_decrypt(s, m, &ctx.ct) != PPML_OK)
                abort();
        }
        ppml_dtpkc_partial_free(s);
        break;
    }
    case FZ_CT: {
        ppml_dtpkc_ct ct;
        ppml_dtpkc_ct_init(&ct);
        if (ppml_dtpkc_ct_load(pk, &ct, buf, len) == PPML_OK) {
            if (ppml_dtpkc_ct_check(ctx.pp, &ct) != PPML_OK || ppml_dtpkc_decrypt_strong(ctx.strong, m, &ct) != PPML_OK)
                abort();
            /* may fail (T1, T2 are not authenticated), must not crash */
            if (ppml_dtpkc_decrypt(ctx.user, m, &ct) == PPML_OK && mpz_cmp(m, ppml_dtpkc_params_n(ctx.pp)) >= 0)
                abort();
        }
        ppml_dtpkc_ct_clear(&ct);
        break;
    }
    default: {
        ppml_dtpkc_ct *v = NULL;
        size_t n = 0;
        if (ppml_dtpkc_ctvec_load(pk, &v, &n, buf, len) == PPML_OK) {
            for (size_t i = 0; i < n; i++)
                if (ppml_dtpkc_decrypt_strong(ctx.strong, m, &v[i]) != PPML_OK)
                    abort();
        }
        ppml_dtpkc_ctvec_free(v, n);
        break;
    }
    }
    mpz_clear(m);
    return 0;
}
