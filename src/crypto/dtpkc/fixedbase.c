/* Fixed-base exponentiation with a secret exponent, for DT-PKC encryption (g^r, h^r).
 *
 * Table: row i holds base^(j * 2^(w*i)) mod M for j = 0 .. 2^w - 1, every entry padded to
 * the limb count n of M. base^e = prod_i row_i[digit_i(e)], one modular multiplication per
 * w-bit digit and no squarings. The base and the table are public; the exponent is secret,
 * so each step uses GMP's side-channel-silent mpn functions: mpn_sec_tabselect reads the
 * whole row, mpn_sec_mul and mpn_sec_div_r take time independent of the operand values.
 * Every digit, zero included, costs the same. */
#include "dtpkc_internal.h"
#include "ppml/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct ppmli_fb {
    mp_limb_t *tab; /* windows * 2^w * n limbs */
    mp_limb_t *mod; /* n limbs, top limb nonzero */
    size_t windows, n;
    unsigned w;
};

static void put_limbs(mp_limb_t *dst, const mpz_t x, size_t n)
{
    size_t sz = mpz_size(x);
    memcpy(dst, mpz_limbs_read(x), sz * sizeof *dst);
    memset(dst + sz, 0, (n - sz) * sizeof *dst);
}

int ppmli_fb_build(ppmli_fb **out, const mpz_t base, const mpz_t mod, unsigned exp_bits, unsigned w)
{
    if (w < 1 || w > 8 || exp_bits == 0 || mpz_sgn(mod) <= 0 || mpz_cmp(base, mod) >= 0 || mpz_sgn(base) < 0)
        return PPML_EINVAL;
    ppmli_fb *t = calloc(1, sizeof *t);
    if (!t)
        return PPML_ENOMEM;
    t->w = w;
    t->n = mpz_size(mod);
    t->windows = (exp_bits + w - 1) / w;
    size_t entries = (size_t)1 << w, limbs;
    if (ppml_mul_size(&limbs, t->windows * entries, t->n)) {
        free(t);
        return PPML_EOVERFLOW;
    }
    t->tab = malloc(limbs * sizeof *t->tab);
    t->mod = malloc(t->n * sizeof *t->mod);
    if (!t->tab || !t->mod) {
        ppmli_fb_free(t);
        return PPML_ENOMEM;
    }
    put_limbs(t->mod, mod, t->n);
    mpz_t cur, acc;
    mpz_init_set(cur, base); /* base^(2^(w*i)) */
    mpz_init(acc);
    for (size_t i = 0; i < t->windows; i++) {
        mp_limb_t *row = t->tab + i * entries * t->n;
        mpz_set_ui(acc, 1);
        for (size_t j = 0; j < entries; j++) {
            put_limbs(row + j * t->n, acc, t->n);
            mpz_mul(acc, acc, cur);
            mpz_mod(acc, acc, mod);
        }
        mpz_set(cur, acc); /* cur^(2^w) */
    }
    mpz_clears(cur, acc, NULL);
    *out = t;
    return PPML_OK;
}

void ppmli_fb_free(ppmli_fb *t)
{
    if (!t)
        return;
    free(t->tab);
    free(t->mod);
    free(t);
}

int ppmli_fb_pow(const ppmli_fb *t, mpz_t out, const mpz_t e)
{
    if (mpz_sgn(e) < 0 || mpz_sizeinbase(e, 2) > t->windows * t->w)
        return PPML_ERANGE;
    const size_t n = t->n, entries = (size_t)1 << t->w;
    size_t itch = (size_t)mpn_sec_mul_itch((mp_size_t)n, (mp_size_t)n);
    size_t itch2 = (size_t)mpn_sec_div_r_itch((mp_size_t)(2 * n), (mp_size_t)n);
    if (itch2 > itch)
        itch = itch2;
    /* acc (n) | sel (n) | prod (2n) | scratch (itch) */
    size_t total = 4 * n + itch;
    mp_limb_t *mem = malloc(total * sizeof *mem);
    if (!mem)
        return PPML_ENOMEM;
    mp_limb_t *acc = mem, *sel = mem + n, *prod = mem + 2 * n, *tp = mem + 4 * n;
    memset(acc, 0, n * sizeof *acc);
    acc[0] = 1;
    const mp_limb_t mask = ((mp_limb_t)1 << t->w) - 1;
    for (size_t i = 0; i < t->windows; i++) {
        size_t bit = i * t->w;
        /* digit i: bits [bit, bit + w) of e; may straddle two limbs. */
        mp_limb_t lo = mpz_getlimbn(e, (mp_size_t)(bit / GMP_NUMB_BITS));
        mp_limb_t hi = mpz_getlimbn(e, (mp_size_t)(bit / GMP_NUMB_BITS + 1));
        unsigned sh = (unsigned)(bit % GMP_NUMB_BITS);
        mp_limb_t d = lo >> sh;
        if (sh + t->w > GMP_NUMB_BITS) /* depends only on the position, not on e */
            d |= hi << (GMP_NUMB_BITS - sh);
        d &= mask;
        mpn_sec_tabselect(sel, t->tab + i * entries * n, (mp_size_t)n, (mp_size_t)entries, (mp_size_t)d);
        mpn_sec_mul(prod, acc, (mp_size_t)n, sel, (mp_size_t)n, tp);
        mpn_sec_div_r(prod, (mp_size_t)(2 * n), t->mod, (mp_size_t)n, tp);
        memcpy(acc, prod, n * sizeof *acc);
    }
    mp_limb_t *o = mpz_limbs_write(out, (mp_size_t)n);
    memcpy(o, acc, n * sizeof *o);
    mpz_limbs_finish(out, (mp_size_t)n);
    sodium_memzero(mem, total * sizeof *mem);
    free(mem);
    return PPML_OK;
}
