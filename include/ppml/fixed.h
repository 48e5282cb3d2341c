/* Fixed-point encoding of reals: x -> round(x * 2^f) as a signed integer, with an explicit
 * fractional-bit count f. Negatives embed in a modulus M as M - |v|; decoding takes the
 * centred representative in (-M/2, M/2]. */
#ifndef PPML_FIXED_H
#define PPML_FIXED_H
#include "common.h"
#include <gmp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_FIXED_MAX_FRAC_BITS 52

/* round(x * 2^frac_bits) (ties away from zero). PPML_ERANGE if x is not finite or the result
 * does not fit in [-2^62, 2^62]; PPML_EINVAL if frac_bits > PPML_FIXED_MAX_FRAC_BITS. */
PPML_API int ppml_fixed_encode(int64_t *out, double x, unsigned frac_bits) PPML_WUR;
PPML_API double ppml_fixed_decode(int64_t v, unsigned frac_bits);

/* Signed v -> v mod M in [0, M). M > 0. */
PPML_API void ppml_fixed_to_mod(mpz_t out, int64_t v, const mpz_t modulus);
/* Centred lift of a in [0, M) to a signed integer (may be big). */
PPML_API void ppml_fixed_centre(mpz_t out, const mpz_t a, const mpz_t modulus);
/* Centred lift to int64; PPML_ERANGE if it does not fit. */
PPML_API int ppml_fixed_centre_i64(int64_t *out, const mpz_t a, const mpz_t modulus) PPML_WUR;

/* Same for a word-size modulus t (BFV plaintexts): v mod t and the centred lift. */
PPML_API uint64_t ppml_fixed_to_mod_u64(int64_t v, uint64_t t);
PPML_API int64_t ppml_fixed_centre_u64(uint64_t a, uint64_t t);

#ifdef __cplusplus
}
#endif
#endif
