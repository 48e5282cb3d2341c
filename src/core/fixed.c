/* Fixed-point encoding. */
#include "ppml/fixed.h"

#include <math.h>

int ppml_fixed_encode(int64_t *out, double x, unsigned frac_bits)
{
    if (frac_bits > PPML_FIXED_MAX_FRAC_BITS)
        return PPML_EINVAL;
    if (!isfinite(x))
        return PPML_ERANGE;
    double s = ldexp(x, (int)frac_bits);
    double r = round(s); /* ties away from zero */
    if (r > 4611686018427387904.0 || r < -4611686018427387904.0) /* 2^62 */
        return PPML_ERANGE;
    *out = (int64_t)r;
    return PPML_OK;
}

double ppml_fixed_decode(int64_t v, unsigned frac_bits) { return ldexp((double)v, -(int)frac_bits); }

void ppml_fixed_to_mod(mpz_t out, int64_t v, const mpz_t modulus)
{
    if (v >= 0) {
        mpz_set_ui(out, (unsigned long)v);
    } else {
        mpz_set_ui(out, (unsigned long)(-(v + 1)) + 1UL); /* |v| without overflow at INT64_MIN */
        mpz_neg(out, out);
    }
    mpz_mod(out, out, modulus);
}

void ppml_fixed_centre(mpz_t out, const mpz_t a, const mpz_t modulus)
{
    mpz_t half;
    mpz_init(half);
    mpz_fdiv_q_2exp(half, modulus, 1);
    mpz_mod(out, a, modulus);
    if (mpz_cmp(out, half) > 0)
        mpz_sub(out, out, modulus);
    mpz_clear(half);
}

int ppml_fixed_centre_i64(int64_t *out, const mpz_t a, const mpz_t modulus)
{
    mpz_t c;
    mpz_init(c);
    ppml_fixed_centre(c, a, modulus);
    int e = PPML_OK;
    if (!mpz_fits_slong_p(c))
        e = PPML_ERANGE;
    else
        *out = (int64_t)mpz_get_si(c);
    mpz_clear(c);
    return e;
}

uint64_t ppml_fixed_to_mod_u64(int64_t v, uint64_t t)
{
    if (v >= 0)
        return (uint64_t)v % t;
    uint64_t m = ((uint64_t)(-(v + 1)) + 1) % t;
    return m ? t - m : 0;
}

int64_t ppml_fixed_centre_u64(uint64_t a, uint64_t t)
{
    a %= t;
    return a > t / 2 ? -(int64_t)(t - a) : (int64_t)a;
}
