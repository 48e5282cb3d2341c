/* Secure memory helpers. */
#ifndef PPML_MEM_H
#define PPML_MEM_H
#include "common.h"
#include <gmp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Overwrite len bytes at p with zeros in a way the compiler cannot remove. */
PPML_API void ppml_memzero(void *p, size_t len);

/* Wipe then free a heap buffer obtained with malloc; NULL is a no-op. */
PPML_API void ppml_free_secret(void *p, size_t len);

/* Overflow-safe multiplication of sizes: returns 0 and sets *out, or PPML_EOVERFLOW. */
PPML_API int ppml_mul_size(size_t *out, size_t a, size_t b) PPML_WUR;

/* Clear an mpz that holds a secret. The GMP allocator installed by ppml_init() wipes every
 * limb block when freed, so this is mpz_clear; it exists to mark intent at call sites. */
PPML_API void ppml_mpz_clear_secret(mpz_t x);

/* n initialised mpz_t values in one malloc'd array (n may be 0); NULL on failure or size
 * overflow. ppml_mpz_vec_free clears and frees them (NULL is a no-op; the ppml allocator
 * wipes every value's limbs). */
PPML_API mpz_t *ppml_mpz_vec_new(size_t n);
PPML_API void ppml_mpz_vec_free(mpz_t *v, size_t n);

#ifdef __cplusplus
}
#endif
#endif
