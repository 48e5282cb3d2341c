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
 * public bit lengths; each window digit is fetched with ppmli_ct_select (AVX2 or
 * mpn_sec_tabselect), which reads every entry of the base's table; entries are padded to 16
 * limbs for the AVX2 path. (GMP's mpz multiplication and division on operands of a given
 * size are what every other constant-time path here relies on too.) Bases are public. */
#include "proto_internal.h"

#include "crypto/mb/mb.h"                      /* ppmli_mb_window */
#include "crypto/paillier/paillier_internal.h" /* ppmli_ct_select */
#include "ppml/mem.h"

#include <stdlib.h>
#include <string.h>

static void store_limbs(mp_limb_t *dst, size_t limbs, const mpz_t x)
{
    size_t n = mpz_size(x);
    memset(dst, 0, limbs * sizeof *dst);
    memcpy(dst, mpz_limbs_read(x), n * sizeof *dst);
}

int ppmli_mexp_tab_build(ppmli_mexp_tab *tab, const mpz_t base, unsigned w, const mpz_t mod)
{
    if (w < 1 || w > 8)
        return PPML_EINVAL;
    size_t ents = (size_t)1 << w, limbs = (mpz_size(mod) + 15) / 16 * 16, bytes;
    if (ppml_mul_size(&bytes, ents, limbs * sizeof(mp_limb_t)) != PPML_OK)
        return PPML_EOVERFLOW;
    mp_limb_t *t = malloc(bytes);
    if (!t)
        return PPML_ENOMEM;
    mpz_t acc, b, u;
    mpz_inits(acc, b, u, NULL);
    mpz_mod(b, base, mod);
    mpz_set_ui(acc, 1);
    store_limbs(t, limbs, acc);
    for (size_t s = 1; s < ents; s++) {
        mpz_mul(u, acc, b);
        mpz_mod(acc, u, mod);
        store_limbs(t + s * limbs, limbs, acc);
    }
    mpz_clears(acc, b, u, NULL);
    tab->w = w;
    tab->limbs = limbs;
    tab->t = t;
    return PPML_OK;
}

void ppmli_mexp_tab_clear(ppmli_mexp_tab *tab)
{
    if (!tab)
        return;
    free(tab->t); /* powers of a public base */
    tab->t = NULL;
}

unsigned ppmli_mexp_window(unsigned bits, size_t uses)
{
    unsigned w = ppmli_mb_window(bits, uses); /* the same cost model */
    return w > 7 ? 7 : w;
}

/* Left to right over the bit positions p = max_bits - 1 .. 0: one squaring per position, and
 * at each multiple p of a term's window w_j below its bit bound, one multiplication by the
 * table entry of that window's digit. Each term may have its own window. */
int ppmli_multiexp_tabs(mpz_t out, const ppmli_mexp_tab *const *tabs, mpz_srcptr const *exps,
                        const unsigned *exp_bits, size_t k, const mpz_t mod)
{
    unsigned max_bits = 0;
    size_t limbs = (mpz_size(mod) + 15) / 16 * 16; /* the tables' stride */
    for (size_t j = 0; j < k; j++) {
        if (mpz_sgn(exps[j]) < 0 || mpz_sizeinbase(exps[j], 2) > exp_bits[j] + (mpz_sgn(exps[j]) == 0))
            return PPML_ERANGE;
        if (tabs[j]->limbs != limbs)
            return PPML_EINVAL;
        if (exp_bits[j] > max_bits)
            max_bits = exp_bits[j];
    }
    mpz_t acc, t;
    mpz_init_set_ui(acc, 1);
    mpz_init(t);
    if (max_bits == 0) {
        mpz_swap(out, acc);
        mpz_clears(acc, t, NULL);
        return PPML_OK;
    }
    mp_limb_t *sel = malloc(limbs * sizeof *sel);
    if (!sel) {
        mpz_clears(acc, t, NULL);
        return PPML_ENOMEM;
    }
    /* the top position at which any term has a window: the highest multiple of w_j below
     * exp_bits[j]; squarings start there */
    unsigned top = 0;
    for (size_t j = 0; j < k; j++)
        if (exp_bits[j]) {
            unsigned w = tabs[j]->w, q = (exp_bits[j] - 1) / w * w;
            if (q > top)
                top = q;
        }
    for (unsigned p = top + 1; p-- > 0;) {
        if (p != top) {
            mpz_mul(t, acc, acc);
            mpz_mod(acc, t, mod);
        }
        for (size_t j = 0; j < k; j++) {
            unsigned w = tabs[j]->w;
            if (p % w != 0 || p >= exp_bits[j]) /* public: window layout of this term */
                continue;
            mp_size_t digit = 0;
            for (unsigned q = 0; q < w; q++)
                digit |= (mp_size_t)mpz_tstbit(exps[j], (mp_bitcnt_t)p + q) << q;
            ppmli_ct_select(sel, tabs[j]->t, limbs, (size_t)1 << w, (size_t)digit);
            mpz_t v;
            mpz_roinit_n(v, sel, (mp_size_t)limbs);
            mpz_mul(t, acc, v);
            mpz_mod(acc, t, mod);
        }
    }
    mpz_swap(out, acc);
    ppml_memzero(sel, limbs * sizeof *sel);
    free(sel);
    mpz_clears(acc, t, NULL);
    return PPML_OK;
}

int ppmli_multiexp(mpz_t out, mpz_srcptr const *bases, mpz_srcptr const *exps, const unsigned *exp_bits,
                   size_t k, const mpz_t mod)
{
    if (k == 0) {
        mpz_set_ui(out, 1);
        return PPML_OK;
    }
    size_t bytes;
    if (ppml_mul_size(&bytes, k, sizeof(ppmli_mexp_tab) + sizeof(ppmli_mexp_tab *)) != PPML_OK)
        return PPML_EOVERFLOW;
    ppmli_mexp_tab *tabs = calloc(k, sizeof *tabs);
    const ppmli_mexp_tab **tp = malloc(k * sizeof *tp);
    int rc = (tabs && tp) ? PPML_OK : PPML_ENOMEM;
    for (size_t j = 0; j < k && rc == PPML_OK; j++) {
        rc = ppmli_mexp_tab_build(&tabs[j], bases[j], ppmli_mexp_window(exp_bits[j], 1), mod);
        tp[j] = &tabs[j];
    }
    if (rc == PPML_OK)
        rc = ppmli_multiexp_tabs(out, tp, exps, exp_bits, k, mod);
    for (size_t j = 0; tabs && j < k; j++)
        ppmli_mexp_tab_clear(&tabs[j]);
    free(tabs);
    free(tp);
    return rc;
}
