/* Fixed-base exponentiation with a secret exponent, for DT-PKC encryption (g^r, h^r).
 *
 * Table: row i holds base^(j * 2^(w*i)) * R mod M (Montgomery form, R = 2^(64n)) for
 * j = 0 .. 2^w - 1, every entry padded to the limb count n of M (M odd).
 * base^e = prod_i row_i[digit_i(e)]: one Montgomery multiplication per w-bit digit and no
 * squarings. The accumulator stays in normal form: REDC(a * bR) = ab mod M, so no final
 * conversion is needed. The base and the table are public; the exponent is secret, so every
 * step is data-independent: mpn_sec_tabselect reads the whole row, mpn_sec_mul is GMP's
 * side-channel-silent product, and the reduction below uses only mpn_addmul_1 / mpn_add_n /
 * mpn_sub_n (time depends on n only) and mpn_cnd_sub_n for the final subtraction. Every
 * digit, zero included, costs the same. */
#include "dtpkc_internal.h"
#include "ppml/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct ppmli_fb {
    mp_limb_t *tab; /* windows * 2^w * n limbs, Montgomery form */
    mp_limb_t *mod; /* n limbs, odd, top limb nonzero */
    mp_limb_t minv; /* -M^-1 mod 2^64 */
    size_t windows, n;
    unsigned w;
};

/* -m^-1 mod 2^GMP_NUMB_BITS for odd m (Newton: each step doubles the correct bits). */
static mp_limb_t neg_inv_limb(mp_limb_t m)
{
    mp_limb_t x = m; /* correct to 3 bits: m * m = 1 mod 8 */
    for (int i = 0; i < 6; i++)
        x *= 2 - m * x;
    return (mp_limb_t)0 - x;
}

/* r = t * R^-1 mod M for t < R*M (2n limbs, destroyed); r (n limbs) < M. */
static void redc(mp_limb_t *r, mp_limb_t *t, const mp_limb_t *m, size_t n, mp_limb_t minv, mp_limb_t *tmp)
{
    for (size_t i = 0; i < n; i++) {
        mp_limb_t q = t[i] * minv;
        /* t[i] becomes 0; keep the carry (it belongs at t[i + n]) in its place. */
        t[i] = mpn_addmul_1(t + i, m, (mp_size_t)n, q);
    }
    /* (t + qM) / R = t[n..2n) + carries, < 2M. */
    mp_limb_t c = mpn_add_n(r, t + n, t, (mp_size_t)n);
    mp_limb_t borrow = mpn_sub_n(tmp, r, m, (mp_size_t)n);
    /* subtract M iff r + c*R >= M: c = 1, or no borrow */
    mpn_cnd_sub_n(c | (borrow ^ 1), r, r, m, (mp_size_t)n);
}

static void put_limbs(mp_limb_t *dst, const mpz_t x, size_t n)
{
    size_t sz = mpz_size(x);
    memcpy(dst, mpz_limbs_read(x), sz * sizeof *dst);
    memset(dst + sz, 0, (n - sz) * sizeof *dst);
}

int ppmli_fb_build(ppmli_fb **out, const mpz_t base, const mpz_t mod, unsigned exp_bits, unsigned w)
{
    if (w < 1 || w > 8 || exp_bits == 0 || mpz_sgn(mod) <= 0 || mpz_even_p(mod) || mpz_cmp(base, mod) >= 0 ||
        mpz_sgn(base) < 0)
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
    t->minv = neg_inv_limb(t->mod[0]);
    mpz_t cur, acc, mont;
    mpz_init_set(cur, base); /* base^(2^(w*i)) */
    mpz_inits(acc, mont, NULL);
    for (size_t i = 0; i < t->windows; i++) {
        mp_limb_t *row = t->tab + i * entries * t->n;
        mpz_set_ui(acc, 1);
        for (size_t j = 0; j < entries; j++) {
            mpz_mul_2exp(mont, acc, GMP_NUMB_BITS * t->n);
            mpz_mod(mont, mont, mod);
            put_limbs(row + j * t->n, mont, t->n);
            mpz_mul(acc, acc, cur);
            mpz_mod(acc, acc, mod);
        }
        mpz_set(cur, acc); /* cur^(2^w) */
    }
    mpz_clears(cur, acc, mont, NULL);
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
    if (itch < n)
        itch = n; /* redc's scratch */
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
        redc(acc, prod, t->mod, n, t->minv, tp);
    }
    mp_limb_t *o = mpz_limbs_write(out, (mp_size_t)n);
    memcpy(o, acc, n * sizeof *o);
    mpz_limbs_finish(out, (mp_size_t)n);
    sodium_memzero(mem, total * sizeof *mem);
    free(mem);
    return PPML_OK;
}
