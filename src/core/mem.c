/* Secure memory helpers. */
#include "ppml/mem.h"

#include <sodium.h>
#include <stdlib.h>

void ppml_memzero(void *p, size_t len)
{
    if (p && len)
        sodium_memzero(p, len);
}

void ppml_free_secret(void *p, size_t len)
{
    if (!p)
        return;
    sodium_memzero(p, len);
    free(p);
}

int ppml_mul_size(size_t *out, size_t a, size_t b)
{
    if (a != 0 && b > SIZE_MAX / a)
        return PPML_EOVERFLOW;
    *out = a * b;
    return PPML_OK;
}

void ppml_mpz_clear_secret(mpz_t x) { mpz_clear(x); }
