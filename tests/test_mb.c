/* Multi-buffer Montgomery arithmetic (src/crypto/mb): every operation against GMP, on random
 * and edge values (0, 1, M - 1, values >= M, exponents 0 and 2^bits - 1), for moduli from 2
 * to 6144 bits, through the portable kernel everywhere and the IFMA kernel where the CPU has
 * it; the two kernels must give the same limbs. */
#include "test.h"

#include "crypto/mb/mb.h"

#include <gmp.h>

static int iters(int n) { return test_sanitized() ? (n + 3) / 4 : n; }

static void random_modulus(mpz_t m, unsigned bits)
{
    ppml_rand_mpz_bits(m, bits);
    mpz_setbit(m, bits - 1);
    mpz_setbit(m, 0);
}

static void random_below_or_edge(mpz_t x, const mpz_t m, int which)
{
    switch (which % 6) {
    case 0: mpz_set_ui(x, 0); break;
    case 1: mpz_set_ui(x, 1); break;
    case 2: mpz_sub_ui(x, m, 1); break;
    case 3: mpz_mul_ui(x, m, 3); mpz_add_ui(x, x, 7); break; /* above M: reduced on load */
    default: ppml_rand_mpz_below(x, m); break;
    }
}

/* pointers to the eight values of x */
static void ptrs(mpz_srcptr *p, mpz_t *x)
{
    for (int l = 0; l < 8; l++)
        p[l] = x[l];
}

static const unsigned mod_bits[] = {2, 61, 520, 1024, 2048, 2050, 4096, 6144};

static void test_mul_roundtrip(void)
{
    for (size_t b = 0; b < sizeof mod_bits / sizeof *mod_bits; b++) {
        mpz_t m, e, x[8], y[8], z[8];
        mpz_inits(m, e, NULL);
        for (int l = 0; l < 8; l++)
            mpz_inits(x[l], y[l], z[l], NULL);
        random_modulus(m, mod_bits[b]);
        if (mod_bits[b] == 2)
            mpz_set_ui(m, 3);
        ppmli_mb ctx;
        CHECK_OK(ppmli_mb_init(&ctx, m));
        uint64_t *a = ppmli_mb_buf(&ctx, 3), *c = a + ctx.limbs * 8, *d = c + ctx.limbs * 8;
        for (int it = 0; it < iters(6); it++) {
            for (int l = 0; l < 8; l++) {
                random_below_or_edge(x[l], m, it * 8 + l);
                random_below_or_edge(y[l], m, it * 8 + 3 * l + 1);
            }
            mpz_srcptr xp[8], yp[8];
            ptrs(xp, x);
            ptrs(yp, y);
            ppmli_mb_load(&ctx, a, xp, 8);
            ppmli_mb_load(&ctx, c, yp, 8);
            ppmli_mb_store(&ctx, z, a, 8);
            for (int l = 0; l < 8; l++) {
                mpz_mod(e, x[l], m);
                CHECK(mpz_cmp(z[l], e) == 0);
            }
            ppmli_mb_mul(&ctx, d, a, c);
            ppmli_mb_sqr(&ctx, c, a);
            ppmli_mb_mul(&ctx, a, a, a); /* aliasing */
            CHECK(memcmp(c, a, ctx.limbs * 8 * sizeof *a) == 0); /* sqr: the limbs of mul */
            ppmli_mb_store(&ctx, z, d, 8);
            for (int l = 0; l < 8; l++) {
                mpz_mul(e, x[l], y[l]);
                mpz_mod(e, e, m);
                CHECK(mpz_cmp(z[l], e) == 0);
            }
            ppmli_mb_store(&ctx, z, a, 5);
            for (int l = 0; l < 5; l++) {
                mpz_mul(e, x[l], x[l]);
                mpz_mod(e, e, m);
                CHECK(mpz_cmp(z[l], e) == 0);
            }
        }
        /* lanes above `lanes` load as 1 */
        mpz_srcptr xp[8];
        ptrs(xp, x);
        ppmli_mb_load(&ctx, a, xp, 3);
        ppmli_mb_store(&ctx, z, a, 8);
        CHECK(mpz_cmp_ui(z[7], 1) == 0 && mpz_cmp_ui(z[3], 1) == 0);
        ppmli_mb_buf_free(&ctx, a, 3);
        ppmli_mb_clear(&ctx);
        mpz_clears(m, e, NULL);
        for (int l = 0; l < 8; l++)
            mpz_clears(x[l], y[l], z[l], NULL);
    }
}

static void test_refusals(void)
{
    ppmli_mb ctx;
    mpz_t m;
    mpz_init_set_ui(m, 1);
    CHECK_ERR(ppmli_mb_init(&ctx, m), PPML_ERANGE);
    mpz_set_ui(m, 1000); /* even */
    CHECK_ERR(ppmli_mb_init(&ctx, m), PPML_ERANGE);
    random_modulus(m, 52 * PPMLI_MB_MAX_LIMBS - 1); /* one bit too long */
    CHECK_ERR(ppmli_mb_init(&ctx, m), PPML_ERANGE);
    random_modulus(m, 52 * PPMLI_MB_MAX_LIMBS - 2);
    CHECK_OK(ppmli_mb_init(&ctx, m));
    CHECK(ctx.limbs == PPMLI_MB_MAX_LIMBS);
    mpz_t e, b, o;
    mpz_inits(e, b, o, NULL);
    mpz_set_ui(b, 5);
    mpz_setbit(e, 10); /* 11 bits: out of a 10-bit bound */
    mpz_srcptr bs[1] = {b}, es[1] = {e};
    unsigned bits = 10;
    CHECK_ERR(ppmli_mb_multiexp(&ctx, &o, 1, 1, bs, es, &bits), PPML_ERANGE);
    mpz_set_si(e, -1);
    CHECK_ERR(ppmli_mb_multiexp(&ctx, &o, 1, 1, bs, es, &bits), PPML_ERANGE);
    CHECK_ERR(ppmli_mb_multiexp(&ctx, &o, 9, 1, bs, es, &bits), PPML_EINVAL);
    /* tables beyond the memory cap even with 1-bit windows: PPML_ENOMEM, nothing computed */
    {
        enum { K = 4000 };
        mpz_srcptr *kb = malloc(K * sizeof *kb), *ke = malloc(K * sizeof *ke);
        unsigned *kbits = malloc(K * sizeof *kbits);
        mpz_set_ui(e, 3);
        for (size_t j = 0; j < K; j++) {
            kb[j] = b;
            ke[j] = e;
            kbits[j] = 2;
        }
        CHECK_ERR(ppmli_mb_multiexp(&ctx, &o, 1, K, kb, ke, kbits), PPML_ENOMEM);
        free(kb);
        free(ke);
        free(kbits);
    }
    ppmli_mb_comb *comb = NULL;
    CHECK_OK(ppmli_mb_comb_new(&ctx, &comb, b, 10));
    mpz_set_ui(e, 1024);
    CHECK_ERR(ppmli_mb_comb_pow(&ctx, comb, &o, 1, es), PPML_ERANGE);
    ppmli_mb_comb_free(comb);
    ppmli_mb_clear(&ctx);
    ppmli_mb_clear(&ctx); /* twice: a no-op */
    mpz_clears(m, e, b, o, NULL);
}

static void test_multiexp(void)
{
    static const unsigned mb[] = {61, 2048, 4096};
    static const unsigned eb[] = {1, 7, 73, 1025};
    for (size_t b = 0; b < 3; b++) {
        mpz_t m, t, ref;
        mpz_inits(m, t, ref, NULL);
        random_modulus(m, mb[b]);
        ppmli_mb ctx;
        CHECK_OK(ppmli_mb_init(&ctx, m));
        for (size_t k = 1; k <= 3; k++)
            for (size_t lanes = 1; lanes <= 8; lanes += 7 - (k == 2) * 4) {
                mpz_t bases[24], exps[24], out[8];
                mpz_srcptr bp[24], ep[24];
                unsigned bits[3];
                for (size_t j = 0; j < k; j++)
                    bits[j] = eb[(b + j + k) % 4];
                for (size_t i = 0; i < lanes * k; i++) {
                    mpz_inits(bases[i], exps[i], NULL);
                    random_below_or_edge(bases[i], m, (int)(i + 2));
                    size_t j = i % k;
                    if (i % 5 == 0)
                        mpz_set_ui(exps[i], 0);
                    else if (i % 5 == 1) {
                        mpz_set_ui(exps[i], 0);
                        mpz_setbit(exps[i], bits[j]);
                        mpz_sub_ui(exps[i], exps[i], 1); /* all ones */
                    } else
                        ppml_rand_mpz_bits(exps[i], bits[j]);
                    bp[i] = bases[i];
                    ep[i] = exps[i];
                }
                for (size_t l = 0; l < 8; l++)
                    mpz_init(out[l]);
                CHECK_OK(ppmli_mb_multiexp(&ctx, out, lanes, k, bp, ep, bits));
                for (size_t l = 0; l < lanes; l++) {
                    mpz_set_ui(ref, 1);
                    for (size_t j = 0; j < k; j++) {
                        mpz_powm(t, bases[l * k + j], exps[l * k + j], m);
                        mpz_mul(ref, ref, t);
                        mpz_mod(ref, ref, m);
                    }
                    CHECK(mpz_cmp(out[l], ref) == 0);
                }
                for (size_t i = 0; i < lanes * k; i++)
                    mpz_clears(bases[i], exps[i], NULL);
                for (size_t l = 0; l < 8; l++)
                    mpz_clear(out[l]);
            }
        ppmli_mb_clear(&ctx);
        mpz_clears(m, t, ref, NULL);
    }
}

/* Many terms: the windows shrink to fit the table cap, the result is still exact. */
static void test_multiexp_many_terms(void)
{
    enum { K = 1500 };
    mpz_t m, ref, t, out, bases[K], exps[K];
    mpz_srcptr bp[K], ep[K];
    unsigned bits[K];
    mpz_inits(m, ref, t, out, NULL);
    random_modulus(m, 4096);
    ppmli_mb ctx;
    CHECK_OK(ppmli_mb_init(&ctx, m));
    mpz_set_ui(ref, 1);
    for (size_t j = 0; j < K; j++) {
        mpz_inits(bases[j], exps[j], NULL);
        ppml_rand_mpz_below(bases[j], m);
        ppml_rand_mpz_bits(exps[j], 73); /* 3-bit windows would need 12,000 entries: 2-bit ones fit */
        bp[j] = bases[j];
        ep[j] = exps[j];
        bits[j] = 73;
        mpz_powm(t, bases[j], exps[j], m);
        mpz_mul(ref, ref, t);
        mpz_mod(ref, ref, m);
    }
    CHECK_OK(ppmli_mb_multiexp(&ctx, &out, 1, K, bp, ep, bits));
    CHECK(mpz_cmp(out, ref) == 0);
    for (size_t j = 0; j < K; j++)
        mpz_clears(bases[j], exps[j], NULL);
    ppmli_mb_clear(&ctx);
    mpz_clears(m, ref, t, out, NULL);
}

static void test_pack(void)
{
    mpz_t m, t, e, ref;
    mpz_inits(m, t, e, ref, NULL);
    random_modulus(m, 2050);
    ppmli_mb ctx;
    CHECK_OK(ppmli_mb_init(&ctx, m));
    static const size_t totals[] = {1, 5, 16, 17, 40, 100};
    const size_t cap = 5;
    const unsigned slot = 75;
    mpz_t cts[100], out[8];
    for (int i = 0; i < 100; i++) {
        mpz_init(cts[i]);
        random_below_or_edge(cts[i], m, i);
    }
    for (int l = 0; l < 8; l++)
        mpz_init(out[l]);
    for (size_t tt = 0; tt < sizeof totals / sizeof *totals; tt++) {
        size_t total = totals[tt];
        mpz_srcptr cp[100];
        for (size_t i = 0; i < total; i++)
            cp[i] = cts[i];
        CHECK_OK(ppmli_mb_pack(&ctx, out, cp, total, cap, slot));
        size_t lanes = (total + cap - 1) / cap;
        for (size_t l = 0; l < lanes && l < 8; l++) {
            size_t n = total - l * cap < cap ? total - l * cap : cap;
            mpz_set_ui(ref, 1);
            for (size_t i = 0; i < n; i++) {
                mpz_set_ui(e, 0);
                mpz_setbit(e, slot * i);
                mpz_powm(t, cts[l * cap + i], e, m);
                mpz_mul(ref, ref, t);
                mpz_mod(ref, ref, m);
            }
            CHECK(mpz_cmp(out[l], ref) == 0);
        }
    }
    for (int i = 0; i < 100; i++)
        mpz_clear(cts[i]);
    for (int l = 0; l < 8; l++)
        mpz_clear(out[l]);
    ppmli_mb_clear(&ctx);
    mpz_clears(m, t, e, ref, NULL);
}

static void test_comb(void)
{
    static const unsigned mb[] = {1024, 2048, 4096};
    static const unsigned eb[] = {5, 300, 1024};
    for (size_t b = 0; b < 3; b++) {
        mpz_t m, base, ref, exps[8], out[8];
        mpz_srcptr ep[8];
        mpz_inits(m, base, ref, NULL);
        random_modulus(m, mb[b]);
        ppml_rand_mpz_below(base, m);
        ppmli_mb ctx;
        CHECK_OK(ppmli_mb_init(&ctx, m));
        ppmli_mb_comb *comb = NULL;
        CHECK_OK(ppmli_mb_comb_new(&ctx, &comb, base, eb[b]));
        for (int l = 0; l < 8; l++) {
            mpz_inits(exps[l], out[l], NULL);
            if (l == 0)
                mpz_set_ui(exps[l], 0);
            else if (l == 1) {
                mpz_setbit(exps[l], eb[b]);
                mpz_sub_ui(exps[l], exps[l], 1);
            } else
                ppml_rand_mpz_bits(exps[l], eb[b]);
            ep[l] = exps[l];
        }
        for (size_t lanes = 1; lanes <= 8; lanes += 3) {
            CHECK_OK(ppmli_mb_comb_pow(&ctx, comb, out, lanes, ep));
            for (size_t l = 0; l < lanes; l++) {
                mpz_powm(ref, base, exps[l], m);
                CHECK(mpz_cmp(out[l], ref) == 0);
            }
        }
        ppmli_mb_comb_free(comb);
        ppmli_mb_clear(&ctx);
        for (int l = 0; l < 8; l++)
            mpz_clears(exps[l], out[l], NULL);
        mpz_clears(m, base, ref, NULL);
    }
}

/* lane l of the L-limb lane buffer buf = v (v < 2^(52 L)), in normalised 52-bit limbs */
static void set_lane(uint64_t *buf, size_t L, int l, const mpz_t v)
{
    mpz_t t;
    mpz_init(t);
    for (size_t j = 0; j < L; j++) {
        mpz_tdiv_q_2exp(t, v, 52 * j);
        buf[j * 8 + l] = mpz_getlimbn(t, 0) & ((1ull << 52) - 1);
    }
    mpz_clear(t);
}

/* The IFMA kernel and the portable one give the same limbs, selection included. */
static void test_kernels_agree(void)
{
    if (!ppmli_mb_have_ifma()) {
        printf("test_mb: no AVX-512 IFMA here (or PPML_NO_AVX512): kernel comparison skipped\n");
        return;
    }
    mpz_t m, x[8];
    mpz_init(m);
    random_modulus(m, 4096);
    ppmli_mb ctx;
    CHECK_OK(ppmli_mb_init(&ctx, m));
    size_t L = ctx.limbs, vw = L * 8;
    uint64_t *a = ppmli_mb_buf(&ctx, 4), *b = a + vw, *r1 = b + vw, *r2 = r1 + vw;
    for (int it = 0; it < iters(20); it++) {
        for (int l = 0; l < 8; l++) {
            mpz_init(x[l]);
            random_below_or_edge(x[l], m, it + l);
        }
        mpz_srcptr xp[8];
        ptrs(xp, x);
        ppmli_mb_load(&ctx, a, xp, 8);
        for (int l = 0; l < 8; l++)
            random_below_or_edge(x[l], m, 3 * it + l + 1);
        ppmli_mb_load(&ctx, b, xp, 8);
        ppmli_mb_kernel_ifma.amm(r1, a, b, ctx.m, ctx.k0, L);
        ppmli_mb_kernel_c.amm(r2, a, b, ctx.m, ctx.k0, L);
        CHECK(memcmp(r1, r2, vw * sizeof *r1) == 0);
        for (int l = 0; l < 8; l++)
            mpz_clear(x[l]);
    }
    /* squaring: the IFMA sqr gives the limbs of the IFMA amm(a, a) and of the portable amm,
     * for moduli from L = 1 to L = 119, on random and edge values (0, 1, M - 1; M, 2M - 1 and
     * M + random, which are in [M, 2M) like some amm outputs) and on amm outputs fed back in,
     * with r aliasing a. */
    static const unsigned sq_bits[] = {2, 61, 150, 200, 1024, 2050, 4096, 6144}; /* L = 1, 2, 3, 4, 20, 40, 79, 119 */
    for (size_t mi = 0; mi < sizeof sq_bits / sizeof *sq_bits; mi++) {
        mpz_t sm;
        mpz_init(sm);
        random_modulus(sm, sq_bits[mi]);
        if (sq_bits[mi] == 2)
            mpz_set_ui(sm, 3); /* L = 1 */
        ppmli_mb sc;
        CHECK_OK(ppmli_mb_init(&sc, sm));
        size_t sL = sc.limbs, sw = sL * 8;
        uint64_t *s = ppmli_mb_buf(&sc, 4), *s1 = s + sw, *s2 = s1 + sw, *s3 = s2 + sw;
        for (int it = 0; it < iters(4); it++) {
            for (int l = 0; l < 8; l++) {
                mpz_init(x[l]);
                random_below_or_edge(x[l], sm, it * 8 + l);
            }
            mpz_srcptr xp[8];
            ptrs(xp, x);
            ppmli_mb_load(&sc, s, xp, 8);
            if (it % 2) { /* lanes 5..7 in [M, 2M) */
                set_lane(s, sL, 5, sm);
                mpz_mul_2exp(x[6], sm, 1);
                mpz_sub_ui(x[6], x[6], 1);
                set_lane(s, sL, 6, x[6]);
                ppml_rand_mpz_below(x[7], sm);
                mpz_add(x[7], x[7], sm);
                set_lane(s, sL, 7, x[7]);
            }
            for (int step = 0; step < 8; step++) { /* s: the previous step's amm output */
                ppmli_mb_kernel_ifma.sqr(s1, s, sc.m, sc.k0, sL);
                ppmli_mb_kernel_ifma.amm(s2, s, s, sc.m, sc.k0, sL);
                ppmli_mb_kernel_c.amm(s3, s, s, sc.m, sc.k0, sL);
                CHECK(memcmp(s1, s2, sw * sizeof *s1) == 0);
                CHECK(memcmp(s1, s3, sw * sizeof *s1) == 0);
                memcpy(s1, s, sw * sizeof *s);
                ppmli_mb_kernel_ifma.sqr(s1, s1, sc.m, sc.k0, sL); /* aliasing */
                CHECK(memcmp(s1, s2, sw * sizeof *s1) == 0);
                ppmli_mb_kernel_c.sqr(s, s, sc.m, sc.k0, sL);
                CHECK(memcmp(s, s2, sw * sizeof *s) == 0);
            }
            for (int l = 0; l < 8; l++)
                mpz_clear(x[l]);
        }
        ppmli_mb_buf_free(&sc, s, 4);
        ppmli_mb_clear(&sc);
        mpz_clear(sm);
    }
    /* selection: every window, random tables and digits (edges 0 and 2^w - 1 included) */
    uint64_t *tab = ppmli_mb_buf(&ctx, 256); /* 256 lane-interleaved entries, or 256 single */
    for (unsigned w = 1; w <= 8; w++)
        for (int shared = 0; shared < 2; shared++) {
            size_t nents = (size_t)1 << w, words = shared ? nents * L : nents * vw;
            for (size_t i = 0; i < words; i++)
                tab[i] = ppml_rand_u64() >> 12;
            uint64_t digits[8];
            for (int rep = 0; rep < 4; rep++) {
                for (int l = 0; l < 8; l++)
                    digits[l] = rep == 0 ? (l & 1) * (nents - 1) : ppml_rand_below(nents);
                ppmli_mb_kernel_ifma.sel(r1, tab, L, nents, digits, shared);
                ppmli_mb_kernel_c.sel(r2, tab, L, nents, digits, shared);
                CHECK(memcmp(r1, r2, vw * sizeof *r1) == 0);
                /* and the value is the entry the digit names */
                for (int l = 0; l < 8; l++)
                    CHECK(r1[l] == (shared ? tab[digits[l]] : tab[digits[l] * vw + l]));
            }
        }
    ppmli_mb_buf_free(&ctx, tab, 256);
    ppmli_mb_buf_free(&ctx, a, 4);
    ppmli_mb_clear(&ctx);
    mpz_clear(m);
}

static void run_all(const char *kernel)
{
    printf("test_mb: %s kernel\n", kernel);
    test_mul_roundtrip();
    test_refusals();
    test_multiexp();
    if (strcmp(kernel, "portable") != 0)
        test_multiexp_many_terms();
    test_pack();
    test_comb();
}

int main(void)
{
    test_init();
    ppmli_mb_force_portable(1);
    run_all("portable");
    ppmli_mb_force_portable(0);
    if (ppmli_mb_have_ifma())
        run_all("IFMA");
    test_kernels_agree();
    return test_finish("test_mb");
}
