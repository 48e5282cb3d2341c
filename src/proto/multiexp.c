/* Simultaneous multi-exponentiation prod_j b_j^(e_j) mod M with secret exponents (Straus'
 * method with fixed windows), for CSS's unblinding: one inner product of length d needs a
 * 2d-term product whose exponents are CSS's blinding offsets.
 *
 * Cost for k terms of e bits with window w: k (2^w - 2) multiplications for the tables,
 * k ceil(e / w) for the windows, and e squarings shared by all terms; against k (e + e/w)
 * for k separate exponentiations (and mpz_powm_sec is about twice that again). At e = 75
 * and k = 26 (an inner product with d = 13): ~880 multiplications mod N^2 instead of ~4,600.
 *
 * Secrets: the exponents. The sequence of multiplications depends only on k and on the
 * public bit lengths; each window digit is fetched with mpn_sec_tabselect, which reads every
 * entry of the base's table. (GMP's mpz multiplication and division on operands of a given
 * size are what every other constant-time path here relies on too.) Bases are public. */
#include "proto_internal.h"

#include "ppml/mem.h"

#include <stdlib.h>
#include <string.h>

/* Window minimising the per-term cost (2^w - 2) + ceil(bits / w). */
static unsigned best_window(unsigned bits)
{
    unsigned best = 1, best_cost = bits;
    for (unsigned w = 2; w <= 6; w++) {
        unsigned cost = (1u << w) - 2 + (bits + w - 1) / w;
        if (cost < best_cost) {
            best_cost = cost;
            best = w;
        }
    }
    return best;
}

static void store_limbs(mp_limb_t *dst, size_t limbs, const mpz_t x)
{
    size_t n = mpz_size(x);
    memset(dst, 0, limbs * sizeof *dst);
    memcpy(dst, mpz_limbs_read(x), n * sizeof *dst);
}

int ppmli_multiexp(mpz_t out, mpz_srcptr const *bases, mpz_srcptr const *exps, const unsigned *exp_bits,
                   size_t k, const mpz_t mod)
{
    if (k == 0) {
        mpz_set_ui(out, 1);
        return PPML_OK;
    }
    unsigned max_bits = 0;
    for (size_t j = 0; j < k; j++) {
        if (mpz_sgn(exps[j]) < 0 || mpz_sizeinbase(exps[j], 2) > exp_bits[j] + (mpz_sgn(exps[j]) == 0))
            return PPML_ERANGE;
        if (exp_bits[j] > max_bits)
            max_bits = exp_bits[j];
    }
    if (max_bits == 0) {
        mpz_set_ui(out, 1);
        return PPML_OK;
    }
    const unsigned w = best_window(max_bits);
    const size_t ents = (size_t)1 << w, limbs = mpz_size(mod);
    const unsigned windows = (max_bits + w - 1) / w;
    size_t per_base, total;
    if (ppml_mul_size(&per_base, ents, limbs) != PPML_OK || ppml_mul_size(&total, per_base, k) != PPML_OK ||
        ppml_mul_size(&total, total, sizeof(mp_limb_t)) != PPML_OK)
        return PPML_EOVERFLOW;
    mp_limb_t *tab = malloc(total), *sel = malloc(limbs * sizeof *sel);
    if (!tab || !sel) {
        free(tab);
        free(sel);
        return PPML_ENOMEM;
    }
    mpz_t acc, t, b;
    mpz_inits(acc, t, b, NULL);
    /* tables: T_j[s] = b_j^s, s < 2^w (T_j[0] = 1) */
    for (size_t j = 0; j < k; j++) {
        mp_limb_t *tj = tab + j * per_base;
        mpz_mod(b, bases[j], mod);
        mpz_set_ui(acc, 1);
        store_limbs(tj, limbs, acc);
        for (size_t s = 1; s < ents; s++) {
            mpz_mul(t, acc, b);
            mpz_mod(acc, t, mod);
            store_limbs(tj + s * limbs, limbs, acc);
        }
    }
    mpz_set_ui(acc, 1);
    for (unsigned wi = windows; wi-- > 0;) {
        if (wi + 1 != windows)
            for (unsigned q = 0; q < w; q++) {
                mpz_mul(t, acc, acc);
                mpz_mod(acc, t, mod);
            }
        for (size_t j = 0; j < k; j++) {
            if ((size_t)wi * w >= exp_bits[j]) /* public: above this term's bit length */
                continue;
            mp_size_t digit = 0;
            for (unsigned q = 0; q < w; q++)
                digit |= (mp_size_t)mpz_tstbit(exps[j], (mp_bitcnt_t)wi * w + q) << q;
            mpn_sec_tabselect(sel, tab + j * per_base, (mp_size_t)limbs, (mp_size_t)ents, digit);
            mpz_t v;
            mpz_roinit_n(v, sel, (mp_size_t)limbs);
            mpz_mul(t, acc, v);
            mpz_mod(acc, t, mod);
        }
    }
    mpz_swap(out, acc);
    ppml_memzero(sel, limbs * sizeof *sel);
    free(sel);
    free(tab); /* powers of public bases */
    mpz_clears(acc, t, b, NULL);
    return PPML_OK;
}
