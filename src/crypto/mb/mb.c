/* Multi-buffer Montgomery arithmetic: contexts, conversions, the portable kernel and the
 * exponentiations built on the kernels (see mb.h). */
#include "mb.h"

#include "crypto/ntt/ring.h"                 /* ppmli_ntt_have_ifma: the CPU check shared with the NTT */
#include "crypto/paillier/paillier_internal.h" /* ppmli_comb_build: the comb's table */
#include "ppml/common.h"
#include "ppml/mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if GMP_NUMB_BITS != 64
#error "the multi-buffer conversions assume 64-bit GMP limbs"
#endif

#define MASK52 ((1ull << 52) - 1)
#define LANES PPMLI_MB_LANES

__extension__ typedef unsigned __int128 u128;

/* ---- portable kernel: the same limbs as the IFMA kernel, one lane at a time ---- */

static inline uint64_t lo52(uint64_t x, uint64_t y) { return (uint64_t)((u128)(x & MASK52) * (y & MASK52)) & MASK52; }
static inline uint64_t hi52(uint64_t x, uint64_t y) { return (uint64_t)(((u128)(x & MASK52) * (y & MASK52)) >> 52); }

static void amm_c(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *m, uint64_t k0, size_t L)
{
    uint64_t acc[PPMLI_MB_MAX_LIMBS], res[PPMLI_MB_MAX_LIMBS * LANES];
    for (size_t l = 0; l < LANES; l++) {
        memset(acc, 0, L * sizeof *acc);
        for (size_t i = 0; i < L; i++) {
            uint64_t bi = b[i * LANES + l];
            uint64_t t0 = acc[0] + lo52(a[l], bi);
            uint64_t u = lo52(t0, k0);
            t0 += lo52(m[l], u);
            uint64_t carry = t0 >> 52;
            for (size_t j = 0; j + 1 < L; j++)
                acc[j] = acc[j + 1] + lo52(a[(j + 1) * LANES + l], bi) + lo52(m[(j + 1) * LANES + l], u) +
                         hi52(a[j * LANES + l], bi) + hi52(m[j * LANES + l], u);
            acc[L - 1] = hi52(a[(L - 1) * LANES + l], bi) + hi52(m[(L - 1) * LANES + l], u);
            acc[0] += carry;
        }
        uint64_t carry = 0;
        for (size_t j = 0; j < L; j++) {
            uint64_t t = acc[j] + carry;
            carry = t >> 52;
            res[j * LANES + l] = t & MASK52;
        }
    }
    memcpy(r, res, L * LANES * sizeof *r);
    ppml_memzero(acc, sizeof acc);
    ppml_memzero(res, L * LANES * sizeof *res);
}

/* No dedicated squaring in the portable kernel: the reference for the IFMA one. */
static void sqr_c(uint64_t *r, const uint64_t *a, const uint64_t *m, uint64_t k0, size_t L)
{
    amm_c(r, a, a, m, k0, L);
}

static void sel_c(uint64_t *out, const uint64_t *tab, size_t L, size_t nents, const uint64_t *digits, int shared)
{
    for (size_t l = 0; l < LANES; l++)
        for (size_t j = 0; j < L; j++) {
            uint64_t v = 0;
            for (size_t s = 0; s < nents; s++) {
                uint64_t hit = (uint64_t)0 - (uint64_t)((digits[l] ^ s) == 0); /* all ones or zero */
                v |= hit & (shared ? tab[j * nents + s] : tab[(s * L + j) * LANES + l]);
            }
            out[j * LANES + l] = v;
        }
}

const ppmli_mb_kernel ppmli_mb_kernel_c = {amm_c, sqr_c, sel_c};

/* ---- dispatch ---- */

static atomic_int force_portable;

void ppmli_mb_force_portable(int on) { atomic_store(&force_portable, on ? 1 : 0); }

int ppmli_mb_have_ifma(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    return ppmli_ntt_have_ifma();
#else
    return 0;
#endif
}

int ppmli_mb_enabled(void) { return atomic_load(&force_portable) || ppmli_mb_have_ifma(); }

static const ppmli_mb_kernel *pick_kernel(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (!atomic_load(&force_portable) && ppmli_mb_have_ifma())
        return &ppmli_mb_kernel_ifma;
#endif
    return &ppmli_mb_kernel_c;
}

/* ---- buffers and conversions ---- */

static uint64_t *alloc_words(size_t words)
{
    size_t bytes;
    if (ppml_mul_size(&bytes, words ? words : 1, sizeof(uint64_t)) != PPML_OK)
        return NULL;
    bytes = (bytes + 63) / 64 * 64;
    uint64_t *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

static void free_words(uint64_t *p, size_t words)
{
    if (!p)
        return;
    ppml_memzero(p, words * sizeof *p);
    free(p);
}

uint64_t *ppmli_mb_buf(const ppmli_mb *ctx, size_t values)
{
    size_t words;
    if (ppml_mul_size(&words, values, ctx->limbs * LANES) != PPML_OK)
        return NULL;
    return alloc_words(words);
}

void ppmli_mb_buf_free(const ppmli_mb *ctx, uint64_t *buf, size_t values)
{
    free_words(buf, values * ctx->limbs * LANES);
}

/* dst[j * stride] = bits [52 j, 52 j + 52) of x, j < L; x < 2^(52 L). */
static void to52(uint64_t *dst, size_t stride, size_t L, const mpz_t x)
{
    size_t n = mpz_size(x);
    const mp_limb_t *xp = mpz_limbs_read(x);
    for (size_t j = 0; j < L; j++) {
        size_t bit = 52 * j, i = bit / 64;
        unsigned s = (unsigned)(bit % 64);
        uint64_t v = i < n ? xp[i] >> s : 0;
        if (s > 12 && i + 1 < n)
            v |= xp[i + 1] << (64 - s);
        dst[j * stride] = v & MASK52;
    }
}

/* x = sum_j src[j * stride] 2^(52 j), j < L (limbs normalised). */
static void from52(mpz_t x, const uint64_t *src, size_t stride, size_t L)
{
    size_t nl = (52 * L + 63) / 64;
    mp_limb_t *w = mpz_limbs_write(x, (mp_size_t)nl);
    memset(w, 0, nl * sizeof *w);
    for (size_t j = 0; j < L; j++) {
        uint64_t v = src[j * stride];
        size_t bit = 52 * j, i = bit / 64;
        unsigned s = (unsigned)(bit % 64);
        w[i] |= v << s;
        if (s > 12)
            w[i + 1] |= v >> (64 - s);
    }
    mpz_limbs_finish(x, (mp_size_t)nl);
}

static void replicate(uint64_t *dst, size_t L, const mpz_t x)
{
    to52(dst, LANES, L, x);
    for (size_t j = 0; j < L; j++)
        for (size_t l = 1; l < LANES; l++)
            dst[j * LANES + l] = dst[j * LANES];
}

int ppmli_mb_init(ppmli_mb *ctx, const mpz_t mod)
{
    if (!ctx || !mod)
        return PPML_EINVAL;
    memset(ctx, 0, sizeof *ctx);
    size_t bits = mpz_sizeinbase(mod, 2);
    if (mpz_cmp_ui(mod, 3) < 0 || mpz_even_p(mod) || bits + 2 > 52 * (size_t)PPMLI_MB_MAX_LIMBS)
        return PPML_ERANGE;
    size_t L = (bits + 2 + 51) / 52;
    ctx->limbs = L;
    ctx->k = pick_kernel();
    mpz_init_set(ctx->mod, mod);
    ctx->m = alloc_words(L * LANES);
    ctx->r2 = alloc_words(L * LANES);
    ctx->one = alloc_words(L * LANES);
    ctx->raw1 = alloc_words(L * LANES);
    if (!ctx->m || !ctx->r2 || !ctx->one || !ctx->raw1) {
        ppmli_mb_clear(ctx);
        return PPML_ENOMEM;
    }
    mpz_t t, w;
    mpz_inits(t, w, NULL);
    mpz_setbit(w, 52);
    mpz_invert(t, mod, w); /* mod is odd */
    mpz_sub(t, w, t);
    ctx->k0 = (uint64_t)mpz_get_ui(t) & MASK52;
    replicate(ctx->m, L, mod);
    mpz_set_ui(t, 0);
    mpz_setbit(t, 52 * L); /* R */
    mpz_mod(w, t, mod);
    replicate(ctx->one, L, w);
    mpz_mul(t, w, w);
    mpz_mod(w, t, mod);
    replicate(ctx->r2, L, w);
    mpz_set_ui(t, 1);
    replicate(ctx->raw1, L, t);
    mpz_clears(t, w, NULL);
    return PPML_OK;
}

void ppmli_mb_clear(ppmli_mb *ctx)
{
    if (!ctx || !ctx->limbs)
        return;
    size_t words = ctx->limbs * LANES;
    free_words(ctx->m, words);
    free_words(ctx->r2, words);
    free_words(ctx->one, words);
    free_words(ctx->raw1, words);
    mpz_clear(ctx->mod); /* wiped by the ppml allocator */
    memset(ctx, 0, sizeof *ctx);
}

void ppmli_mb_mul(const ppmli_mb *ctx, uint64_t *r, const uint64_t *a, const uint64_t *b)
{
    ctx->k->amm(r, a, b, ctx->m, ctx->k0, ctx->limbs);
}

void ppmli_mb_sqr(const ppmli_mb *ctx, uint64_t *r, const uint64_t *a)
{
    ctx->k->sqr(r, a, ctx->m, ctx->k0, ctx->limbs);
}

void ppmli_mb_load(const ppmli_mb *ctx, uint64_t *dst, mpz_srcptr const *x, size_t lanes)
{
    size_t L = ctx->limbs;
    mpz_t t;
    mpz_init(t);
    for (size_t l = 0; l < LANES; l++) {
        if (l < lanes && x[l]) {
            if (mpz_sgn(x[l]) >= 0 && mpz_cmp(x[l], ctx->mod) < 0) {
                to52(dst + l, LANES, L, x[l]);
            } else {
                mpz_mod(t, x[l], ctx->mod);
                to52(dst + l, LANES, L, t);
            }
        } else {
            for (size_t j = 0; j < L; j++)
                dst[j * LANES + l] = j == 0;
        }
    }
    mpz_clear(t);
    ppmli_mb_mul(ctx, dst, dst, ctx->r2);
}

void ppmli_mb_store(const ppmli_mb *ctx, mpz_t *out, const uint64_t *src, size_t lanes)
{
    size_t L = ctx->limbs;
    _Alignas(64) uint64_t t[PPMLI_MB_MAX_LIMBS * LANES];
    ppmli_mb_mul(ctx, t, src, ctx->raw1); /* below M + 1 */
    for (size_t l = 0; l < lanes && l < LANES; l++) {
        from52(out[l], t + l, LANES, L);
        if (mpz_cmp(out[l], ctx->mod) >= 0)
            mpz_sub(out[l], out[l], ctx->mod);
    }
    ppml_memzero(t, L * LANES * sizeof *t);
}

/* ---- multi-exponentiation (Straus, fixed windows) ---- */

/* Memory for the window tables of one ppmli_mb_multiexp call (per thread). */
#define MULTIEXP_TABLE_CAP ((size_t)32 << 20)

unsigned ppmli_mb_window(unsigned bits, size_t uses)
{
    unsigned best = 1;
    double best_cost = (double)bits;
    if (uses == 0)
        uses = 1;
    for (unsigned w = 2; w <= 8; w++) {
        double cost = (double)((1u << w) - 2) / (double)uses + (double)((bits + w - 1) / w);
        if (cost < best_cost) {
            best_cost = cost;
            best = w;
        }
    }
    return best;
}

size_t ppmli_mb_table_words(const ppmli_mb *ctx, unsigned w, int shared)
{
    return ((size_t)1 << w) * ctx->limbs * (shared ? 1 : LANES);
}

void ppmli_mb_table(const ppmli_mb *ctx, uint64_t *tab, mpz_srcptr const *bases, size_t lanes, unsigned w)
{
    size_t vw = ctx->limbs * LANES;
    memcpy(tab, ctx->one, vw * sizeof *tab);
    if (w == 0)
        return;
    ppmli_mb_load(ctx, tab + vw, bases, lanes);
    for (size_t s = 2; s < ((size_t)1 << w); s++)
        ppmli_mb_mul(ctx, tab + s * vw, tab + (s - 1) * vw, tab + vw);
}

int ppmli_mb_tables_shared(const ppmli_mb *ctx, uint64_t *const *tabs, mpz_srcptr const *bases, size_t lanes,
                           unsigned w)
{
    size_t L = ctx->limbs, ents = (size_t)1 << w;
    uint64_t *t = ppmli_mb_buf(ctx, ents);
    if (!t)
        return PPML_ENOMEM;
    ppmli_mb_table(ctx, t, bases, lanes, w);
    for (size_t l = 0; l < lanes && l < LANES; l++) /* limb-major */
        for (size_t e = 0; e < ents; e++)
            for (size_t j = 0; j < L; j++)
                tabs[l][j * ents + e] = t[(e * L + j) * LANES + l];
    ppmli_mb_buf_free(ctx, t, ents);
    return PPML_OK;
}

static uint64_t digit_of(const mpz_t e, size_t pos, unsigned w)
{
    uint64_t d = 0;
    for (unsigned q = 0; q < w; q++)
        d |= (uint64_t)mpz_tstbit(e, (mp_bitcnt_t)(pos + q)) << q;
    return d;
}

int ppmli_mb_multiexp_terms(const ppmli_mb *ctx, uint64_t *acc, const ppmli_mb_term *terms, size_t k,
                            size_t lanes)
{
    if (!ctx || !acc || (k && !terms) || lanes == 0 || lanes > LANES)
        return PPML_EINVAL;
    unsigned top = 0;
    for (size_t j = 0; j < k; j++) {
        if (terms[j].w < 1 || terms[j].w > 8)
            return PPML_EINVAL;
        for (size_t l = 0; l < lanes; l++) {
            mpz_srcptr e = terms[j].exps[l];
            if (mpz_sgn(e) < 0 || (mpz_sgn(e) && mpz_sizeinbase(e, 2) > terms[j].bits))
                return PPML_ERANGE;
        }
        if (terms[j].bits) {
            unsigned q = (terms[j].bits - 1) / terms[j].w * terms[j].w;
            if (q > top)
                top = q;
        }
    }
    size_t L = ctx->limbs, vw = L * LANES;
    uint64_t *sel = ppmli_mb_buf(ctx, 1);
    if (!sel)
        return PPML_ENOMEM;
    memcpy(acc, ctx->one, vw * sizeof *acc);
    uint64_t digits[LANES] = {0};
    for (unsigned p = top + 1; k && p-- > 0;) {
        if (p != top)
            ppmli_mb_sqr(ctx, acc, acc);
        for (size_t j = 0; j < k; j++) {
            const ppmli_mb_term *t = &terms[j];
            if (p % t->w != 0 || p >= t->bits) /* public: the window layout */
                continue;
            for (size_t l = 0; l < lanes; l++)
                digits[l] = digit_of(t->exps[l], p, t->w);
            ctx->k->sel(sel, t->tab, L, (size_t)1 << t->w, digits, t->shared);
            ppmli_mb_mul(ctx, acc, acc, sel);
        }
    }
    ppml_memzero(digits, sizeof digits);
    ppmli_mb_buf_free(ctx, sel, 1);
    return PPML_OK;
}

int ppmli_mb_multiexp(const ppmli_mb *ctx, mpz_t *out, size_t lanes, size_t k, mpz_srcptr const *bases,
                      mpz_srcptr const *exps, const unsigned *exp_bits)
{
    if (!ctx || !out || lanes == 0 || lanes > LANES || (k && (!bases || !exps || !exp_bits)))
        return PPML_EINVAL;
    size_t ents = 0;
    ppmli_mb_term *terms = calloc(k ? k : 1, sizeof *terms);
    if (!terms)
        return PPML_ENOMEM;
    for (size_t j = 0; j < k; j++) {
        terms[j].w = ppmli_mb_window(exp_bits[j] ? exp_bits[j] : 1, 1);
        if (terms[j].w > 6)
            terms[j].w = 6;
        terms[j].bits = exp_bits[j];
        ents += (size_t)1 << terms[j].w;
        for (size_t l = 0; l < lanes; l++)
            terms[j].exps[l] = exps[l * k + j];
    }
    /* tables within MULTIEXP_TABLE_CAP: narrower windows first, PPML_ENOMEM (callers take
     * their one-value path) if even 1-bit windows do not fit */
    size_t entry_bytes = ctx->limbs * LANES * sizeof(uint64_t);
    for (unsigned wmax = 6; wmax > 1 && ents > MULTIEXP_TABLE_CAP / entry_bytes; wmax--)
        for (size_t j = 0; j < k; j++)
            if (terms[j].w >= wmax) {
                ents -= ((size_t)1 << terms[j].w) - ((size_t)1 << (wmax - 1));
                terms[j].w = wmax - 1;
            }
    if (ents > MULTIEXP_TABLE_CAP / entry_bytes) {
        free(terms);
        return PPML_ENOMEM;
    }
    uint64_t *tab = ppmli_mb_buf(ctx, ents), *acc = ppmli_mb_buf(ctx, 1);
    int rc = (tab && acc) ? PPML_OK : PPML_ENOMEM;
    if (rc == PPML_OK) {
        size_t vw = ctx->limbs * LANES, off = 0;
        mpz_srcptr lb[LANES];
        for (size_t j = 0; j < k; j++) {
            for (size_t l = 0; l < lanes; l++)
                lb[l] = bases[l * k + j];
            terms[j].tab = tab + off * vw;
            ppmli_mb_table(ctx, tab + off * vw, lb, lanes, terms[j].w);
            off += (size_t)1 << terms[j].w;
        }
        rc = ppmli_mb_multiexp_terms(ctx, acc, terms, k, lanes);
    }
    if (rc == PPML_OK)
        ppmli_mb_store(ctx, out, acc, lanes);
    ppmli_mb_buf_free(ctx, tab, ents);
    ppmli_mb_buf_free(ctx, acc, 1);
    free(terms);
    return rc;
}

/* ---- packing (Horner in the exponent) ---- */

int ppmli_mb_pack(const ppmli_mb *ctx, mpz_t *out, mpz_srcptr const *cts, size_t total, size_t cap,
                  unsigned slot_bits)
{
    if (!ctx || !out || !cts || total == 0 || cap == 0 || slot_bits == 0)
        return PPML_EINVAL;
    size_t lanes = (total + cap - 1) / cap;
    if (lanes > LANES)
        lanes = LANES;
    size_t n[LANES], maxn = 0;
    for (size_t l = 0; l < lanes; l++) {
        n[l] = total - l * cap < cap ? total - l * cap : cap;
        if (n[l] > maxn)
            maxn = n[l];
    }
    size_t vw = ctx->limbs * LANES;
    uint64_t *acc = ppmli_mb_buf(ctx, 2);
    if (!acc)
        return PPML_ENOMEM;
    uint64_t *t = acc + vw;
    mpz_srcptr x[LANES];
    for (size_t i = maxn; i-- > 0;) {
        for (size_t l = 0; l < lanes; l++)
            x[l] = i < n[l] ? cts[l * cap + i] : NULL;
        if (i + 1 == maxn) {
            ppmli_mb_load(ctx, acc, x, lanes);
            continue;
        }
        for (unsigned s = 0; s < slot_bits; s++)
            ppmli_mb_sqr(ctx, acc, acc);
        ppmli_mb_load(ctx, t, x, lanes);
        ppmli_mb_mul(ctx, acc, acc, t);
    }
    ppmli_mb_store(ctx, out, acc, lanes);
    ppmli_mb_buf_free(ctx, acc, 2);
    return PPML_OK;
}

/* ---- fixed-base comb ---- */

/* The table is the GMP comb's (crypto/paillier/comb.c: the same geometry, ROWS x cols bit
 * matrix, BLOCKS column blocks), converted to Montgomery form in 52-bit limbs. */
#define COMB_ENTRIES PPMLI_COMB_ENTRIES
_Static_assert(PPMLI_COMB_ROWS >= 1 && PPMLI_COMB_ROWS <= 8, "the selection kernels take at most 256 entries");
#define COMB_BLOCKS PPMLI_COMB_BLOCKS
#define COMB_ROWS PPMLI_COMB_ROWS

struct ppmli_mb_comb {
    unsigned exp_bits, cols, block_cols;
    size_t limbs;
    uint64_t *tab; /* BLOCKS blocks of ENTRIES entries, Montgomery form, limb-major per block */
};

void ppmli_mb_comb_free(ppmli_mb_comb *comb)
{
    if (!comb)
        return;
    free_words(comb->tab, (size_t)COMB_BLOCKS * COMB_ENTRIES * comb->limbs);
    free(comb);
}

int ppmli_mb_comb_new(const ppmli_mb *ctx, ppmli_mb_comb **out, const mpz_t base, unsigned exp_bits)
{
    if (!ctx || !out || !base || exp_bits == 0 || exp_bits > 65536)
        return PPML_EINVAL;
    ppmli_comb *g = NULL;
    int rc = ppmli_comb_build(&g, base, ctx->mod, exp_bits);
    if (rc != PPML_OK)
        return rc;
    ppmli_mb_comb *c = calloc(1, sizeof *c);
    size_t ents = (size_t)COMB_BLOCKS * COMB_ENTRIES;
    if (c)
        c->tab = alloc_words(ents * ctx->limbs);
    if (!c || !c->tab) {
        free(c);
        ppmli_comb_free(g);
        return PPML_ENOMEM;
    }
    c->exp_bits = g->exp_bits;
    c->cols = g->cols;
    c->block_cols = g->block_cols;
    c->limbs = ctx->limbs;
    mpz_t t, R;
    mpz_inits(t, R, NULL);
    mpz_setbit(R, 52 * c->limbs);
    for (size_t e = 0; e < ents; e++) {
        mpz_t v;
        mpz_roinit_n(v, g->table + e * g->limbs, (mp_size_t)g->limbs);
        mpz_mul(t, v, R); /* Montgomery form */
        mpz_mod(t, t, ctx->mod);
        /* limb-major within its block: blk[j * ENTRIES + s] */
        size_t blk = e / COMB_ENTRIES, s = e % COMB_ENTRIES;
        to52(c->tab + blk * COMB_ENTRIES * c->limbs + s, COMB_ENTRIES, c->limbs, t);
    }
    mpz_clears(t, R, NULL);
    ppmli_comb_free(g); /* wiped */
    *out = c;
    return PPML_OK;
}

int ppmli_mb_comb_pow(const ppmli_mb *ctx, const ppmli_mb_comb *comb, mpz_t *out, size_t lanes,
                      mpz_srcptr const *exps)
{
    if (!ctx || !comb || !out || !exps || lanes == 0 || lanes > LANES || comb->limbs != ctx->limbs)
        return PPML_EINVAL;
    for (size_t l = 0; l < lanes; l++)
        if (mpz_sgn(exps[l]) < 0 || (mpz_sgn(exps[l]) && mpz_sizeinbase(exps[l], 2) > comb->exp_bits))
            return PPML_ERANGE;
    size_t L = ctx->limbs, vw = L * LANES;
    uint64_t *acc = ppmli_mb_buf(ctx, 2);
    if (!acc)
        return PPML_ENOMEM;
    uint64_t *sel = acc + vw, digits[LANES] = {0};
    memcpy(acc, ctx->one, vw * sizeof *acc);
    for (unsigned j = comb->block_cols; j-- > 0;) {
        if (j + 1 != comb->block_cols)
            ppmli_mb_sqr(ctx, acc, acc);
        for (unsigned k = 0; k < COMB_BLOCKS; k++) {
            unsigned col = j + k * comb->block_cols;
            if (col >= comb->cols) /* public: depends on exp_bits only */
                continue;
            for (size_t l = 0; l < lanes; l++) {
                uint64_t d = 0;
                for (unsigned i = 0; i < COMB_ROWS; i++)
                    d |= (uint64_t)mpz_tstbit(exps[l], (mp_bitcnt_t)i * comb->cols + col) << i;
                digits[l] = d;
            }
            ctx->k->sel(sel, comb->tab + (size_t)k * COMB_ENTRIES * L, L, COMB_ENTRIES, digits, 1);
            ppmli_mb_mul(ctx, acc, acc, sel);
        }
    }
    ppml_memzero(digits, sizeof digits);
    ppmli_mb_store(ctx, out, acc, lanes);
    ppmli_mb_buf_free(ctx, acc, 2);
    return PPML_OK;
}
