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

mpz_t *ppml_mpz_vec_new(size_t n)
{
    size_t bytes;
    if (ppml_mul_size(&bytes, n ? n : 1, sizeof(mpz_t)) != PPML_OK)
        return NULL;
    mpz_t *v = malloc(bytes);
    for (size_t i = 0; v && i < n; i++)
        mpz_init(v[i]);
    return v;
}

void ppml_mpz_vec_free(mpz_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        mpz_clear(v[i]);
    free(v);
}
