/* Lim-Lee fixed-base comb for the DJN base h_N (see paillier_internal.h).
 *
 * Cost model for |N| = 2048 (exponent 1024 bits, ROWS = 6, BLOCKS = 8): cols = 171,
 * block_cols = 22, so one h_N^a is 21 squarings + 171 multiplications mod N^2 (plus 171
 * constant-time scans of a 64-entry block), against ~2048 squarings + ~400 multiplications
 * for r^N. The table is 8 * 64 entries of |N^2| bits (256 KiB at 2048 bits, 384 KiB at
 * 3072), which stays in a 512 KiB L2. Every lookup scans a whole 64-entry block (AVX2 where
 * available, ~0.5 us; mpn_sec_tabselect otherwise, ~2-3 us). Measured on the development
 * machine (AMD EPYC, 2048 bits): ROWS/BLOCKS = 6/8 was best or tied with 7/8 and 7/4 and
 * beat 5/8, 6/4, 6/16, 8/4 and 8/8 (a 1 MiB table falls out of L2); the 4096-bit
 * multiplications mod N^2 (~2.7 us product + ~4.5 us division) dominate. */
#include "paillier_internal.h"

#include "ppml/mem.h"

#include <stdlib.h>
#include <string.h>

void ppmli_comb_free(ppmli_comb *comb)
{
    if (!comb)
        return;
    /* wiped: a table built modulo a secret (p^2, q^2) is itself secret */
    ppml_memzero(comb->table, (size_t)PPMLI_COMB_BLOCKS * PPMLI_COMB_ENTRIES * comb->limbs * sizeof(mp_limb_t));
    free(comb->table);
    free(comb);
}

/* Entries are padded to a multiple of 16 limbs so the AVX2 selection works in whole chunks. */
static size_t padded(size_t limbs) { return (limbs + 15) / 16 * 16; }

static atomic_int force_generic;

void ppmli_comb_force_generic(int on) { atomic_store(&force_generic, on ? 1 : 0); }

static int have_avx2(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static int cached = -1;
    if (atomic_load(&force_generic))
        return 0;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return cached;
#else
    return 0;
#endif
}

void ppmli_ct_select(mp_limb_t *out, const mp_limb_t *tab, size_t stride, size_t nents, size_t which)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (stride % 16 == 0 && have_avx2()) {
        ppmli_ct_select_avx2(out, tab, stride, nents, which);
        return;
    }
#endif
    mpn_sec_tabselect(out, tab, (mp_size_t)stride, (mp_size_t)nents, (mp_size_t)which);
}

static void store(mp_limb_t *dst, size_t limbs, const mpz_t x)
{
    size_t n = mpz_size(x);
    memset(dst, 0, limbs * sizeof *dst);
    if (n)
        memcpy(dst, mpz_limbs_read(x), n * sizeof *dst);
}

int ppmli_comb_build(ppmli_comb **out, const mpz_t base, const mpz_t mod, unsigned exp_bits)
{
    ppmli_comb *c = calloc(1, sizeof *c);
    if (!c)
        return PPML_ENOMEM;
    c->exp_bits = exp_bits;
    c->cols = (exp_bits + PPMLI_COMB_ROWS - 1) / PPMLI_COMB_ROWS;
    c->block_cols = (c->cols + PPMLI_COMB_BLOCKS - 1) / PPMLI_COMB_BLOCKS;
    c->limbs = padded(mpz_size(mod));
    size_t entries = (size_t)PPMLI_COMB_BLOCKS * PPMLI_COMB_ENTRIES, total;
    if (ppml_mul_size(&total, entries, c->limbs * sizeof(mp_limb_t)) != PPML_OK) {
        free(c);
        return PPML_EOVERFLOW;
    }
    c->table = malloc(total);
    if (!c->table) {
        free(c);
        return PPML_ENOMEM;
    }
    mpz_t g[PPMLI_COMB_ROWS], t, acc;
    for (int i = 0; i < PPMLI_COMB_ROWS; i++)
        mpz_init(g[i]);
    mpz_inits(t, acc, NULL);
    /* g[i] runs through base^(2^(i*cols + k*block_cols)) as k advances. */
    mpz_mod(acc, base, mod);
    for (unsigned i = 0; i < PPMLI_COMB_ROWS; i++) {
        mpz_set(g[i], acc);
        for (unsigned j = 0; j < c->cols; j++) {
            mpz_mul(t, acc, acc);
            mpz_mod(acc, t, mod);
        }
    }
    for (unsigned k = 0; k < PPMLI_COMB_BLOCKS; k++) {
        mp_limb_t *blk = c->table + (size_t)k * PPMLI_COMB_ENTRIES * c->limbs;
        mpz_set_ui(t, 1);
        store(blk, c->limbs, t);
        for (unsigned s = 1; s < PPMLI_COMB_ENTRIES; s++) {
            unsigned low = (unsigned)__builtin_ctz(s);
            unsigned rest = s & (s - 1);
            mpz_t prev;
            mpz_roinit_n(prev, blk + (size_t)rest * c->limbs, (mp_size_t)c->limbs);
            mpz_mul(t, prev, g[low]);
            mpz_mod(acc, t, mod);
            store(blk + (size_t)s * c->limbs, c->limbs, acc);
        }
        if (k + 1 < PPMLI_COMB_BLOCKS) {
            for (unsigned i = 0; i < PPMLI_COMB_ROWS; i++)
                for (unsigned j = 0; j < c->block_cols; j++) {
                    mpz_mul(t, g[i], g[i]);
                    mpz_mod(g[i], t, mod);
                }
        }
    }
    for (int i = 0; i < PPMLI_COMB_ROWS; i++)
        mpz_clear(g[i]);
    mpz_clears(t, acc, NULL);
    *out = c;
    return PPML_OK;
}

/* out = base^e mod mod for 0 <= e < 2^exp_bits. The exponent is secret: table entries are
 * fetched by ppmli_ct_select (AVX2 or mpn_sec_tabselect: every entry of the block is read) and the sequence of
 * operations depends only on exp_bits. (GMP's mpz multiplication and division are not
 * themselves constant time; the exponent-dependent cache pattern is what this removes.) */
void ppmli_comb_pow(const ppmli_comb *comb, mpz_t out, const mpz_t e, const mpz_t mod)
{
    size_t limbs = comb->limbs;
    mp_limb_t *sel = malloc(limbs * sizeof *sel);
    mpz_t r, t;
    if (!sel)
        abort();
    mpz_init_set_ui(r, 1);
    mpz_init(t);
    for (unsigned j = comb->block_cols; j-- > 0;) {
        if (j + 1 != comb->block_cols) {
            mpz_mul(t, r, r);
            mpz_tdiv_r(r, t, mod);
        }
        for (unsigned k = 0; k < PPMLI_COMB_BLOCKS; k++) {
            unsigned col = j + k * comb->block_cols;
            if (col >= comb->cols) /* public: depends on exp_bits only */
                continue;
            mp_size_t s = 0;
            for (unsigned i = 0; i < PPMLI_COMB_ROWS; i++)
                s |= (mp_size_t)mpz_tstbit(e, (mp_bitcnt_t)i * comb->cols + col) << i;
            ppmli_ct_select(sel, comb->table + (size_t)k * PPMLI_COMB_ENTRIES * limbs, limbs,
                         PPMLI_COMB_ENTRIES, (size_t)s);
            mpz_t v;
            mpz_roinit_n(v, sel, (mp_size_t)limbs);
            mpz_mul(t, r, v);
            mpz_tdiv_r(r, t, mod);
        }
    }
    mpz_swap(out, r);
    ppml_memzero(sel, limbs * sizeof *sel);
    free(sel);
    mpz_clear(r);
    mpz_clear(t);
}
