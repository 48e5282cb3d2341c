/* Shared by the Paillier fuzz targets: a fixed 512-bit test key (the first key of
 * tests/vectors/paillier_kat.txt), so corpus objects made for it pass the key-id checks. */
#ifndef FUZZ_PAILLIER_COMMON_H
#define FUZZ_PAILLIER_COMMON_H
#include "crypto/paillier/paillier_internal.h"
#include "ppml/paillier.h"

#include <stdlib.h>

static const char fuzz_paillier_n[] =
    "ecaa39ce2e358decaf227aec5863ebe3108060147cd0e56dd44f534c2f8832ff912c8f2154d2b6756d6c8e57a855365c34caa4eee1f5d94484066efb2fcc201b";
static const char fuzz_paillier_hn[] =
    "b6f32c2373bee21c8d8f08d6f0ab8f0df51f4b05c2e1e36759479696f847dc2f9206c2339c85aaf2cfb26bd06f658705d7508c2b738a42791320081f4c08812f24ef4396d44dfadb650c0f6dfc438006cba3db98d3282456a5fc875ac13018486775b6e92d79ecfefe3b47f12ce7d71468f95df34554bd831e286e8fd51994e8";

/* Initialised once; never freed (the fuzzer process owns it until exit). */
static ppml_paillier_pk *fuzz_paillier_key(void)
{
    static ppml_paillier_pk *pk;
    if (pk)
        return pk;
    if (ppml_init() != PPML_OK)
        abort();
    ppml_paillier_allow_insecure_test_keys(1);
    mpz_t n, hn;
    mpz_init_set_str(n, fuzz_paillier_n, 16);
    mpz_init_set_str(hn, fuzz_paillier_hn, 16);
    if (ppmli_paillier_pk_make(&pk, n, hn) != PPML_OK)
        abort();
    mpz_clears(n, hn, NULL);
    return pk;
}
#endif
