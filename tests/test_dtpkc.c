/* DT-PKC: safe primes, key generation, the three decryptions, homomorphic operations, key
 * conversion between two user keys, serialization round trips and refusals. Small moduli
 * (512-bit N) come from the test-only keygen; 2048-bit parameters come from the safe primes
 * in tests/vectors/dtpkc_safe_primes_2048.txt (made by OpenSSL, tests/gen/), re-checked here. */
#include "test.h"

#include "crypto/dtpkc/dtpkc_internal.h"
#include "crypto/mb/mb.h"
#include "ppml/dtpkc.h"
#include "ppml/mem.h"
#include "ppml/serial.h"

#include <gmp.h>

#define TEST_BITS 512

static ppml_dtpkc_params *pp;
static ppml_dtpkc_strong_sk *strong;
static ppml_dtpkc_partial_sk *sk1, *sk2;
static ppml_dtpkc_sk *user[2];

static int is_safe_prime(const mpz_t p)
{
    mpz_t h;
    mpz_init(h);
    mpz_sub_ui(h, p, 1);
    mpz_fdiv_q_2exp(h, h, 1);
    int ok = mpz_probab_prime_p(p, 30) && mpz_probab_prime_p(h, 30);
    mpz_clear(h);
    return ok;
}

static void test_safe_prime(void)
{
    mpz_t p;
    mpz_init(p);
    for (unsigned bits = 64; bits <= 256; bits += 64) {
        CHECK_OK(ppml_dtpkc_safe_prime(p, bits, NULL, NULL, 0));
        CHECK(mpz_sizeinbase(p, 2) == bits);
        CHECK(mpz_tstbit(p, bits - 2)); /* top two bits set */
        CHECK(is_safe_prime(p));
    }
    CHECK_ERR(ppml_dtpkc_safe_prime(p, 16, NULL, NULL, 0), PPML_EINVAL);
    mpz_clear(p);
}

/* Keys for the rest of the tests, and the properties of lambda and g. */
static void test_keygen(void)
{
    ppml_dtpkc_params *tp = NULL;
    ppml_dtpkc_strong_sk *ts = NULL;
    /* Refusals: weak sizes through the normal entry points. */
    CHECK_ERR(ppml_dtpkc_keygen(&tp, &ts, 1024, NULL, NULL), PPML_EWEAK);
    CHECK_ERR(ppml_dtpkc_keygen(&tp, &ts, 2000, NULL, NULL), PPML_EWEAK);
    CHECK_ERR(ppml_dtpkc_keygen(&tp, &ts, 2056, NULL, NULL), PPML_EINVAL);
    CHECK_ERR(ppml_dtpkc_keygen_insecure_for_tests(&tp, &ts, 128), PPML_EWEAK);
    CHECK(tp == NULL && ts == NULL);

    CHECK_OK(ppml_dtpkc_keygen_insecure_for_tests(&pp, &strong, TEST_BITS));
    CHECK(ppml_dtpkc_params_bits(pp) == TEST_BITS);
    CHECK_OK(ppml_dtpkc_split(&sk1, &sk2, strong));
    CHECK(ppml_dtpkc_partial_index(sk1) == 1 && ppml_dtpkc_partial_index(sk2) == 2);
    for (int i = 0; i < 2; i++)
        CHECK_OK(ppml_dtpkc_user_keygen(&user[i], pp));

    /* From-primes with small safe primes: refused by the normal call, accepted by the test
     * one; non-safe primes refused. */
    mpz_t p, q;
    mpz_inits(p, q, NULL);
    CHECK_OK(ppml_dtpkc_safe_prime(p, 160, NULL, NULL, 0));
    CHECK_OK(ppml_dtpkc_safe_prime(q, 160, NULL, NULL, 1));
    CHECK_ERR(ppml_dtpkc_keygen_from_primes(&tp, &ts, p, q), PPML_EWEAK);
    CHECK_OK(ppml_dtpkc_keygen_from_primes_insecure_for_tests(&tp, &ts, p, q));
    ppml_dtpkc_strong_free(ts);
    ppml_dtpkc_params_free(tp);
    tp = NULL;
    ts = NULL;
    CHECK_ERR(ppml_dtpkc_keygen_from_primes_insecure_for_tests(&tp, &ts, p, p), PPML_EINVAL);
    {
        mpz_t big;
        mpz_init(big);
        CHECK_OK(ppml_dtpkc_safe_prime(big, 192, NULL, NULL, 0)); /* unbalanced */
        CHECK_ERR(ppml_dtpkc_keygen_from_primes_insecure_for_tests(&tp, &ts, p, big), PPML_EINVAL);
        mpz_clear(big);
    }
    mpz_nextprime(q, q); /* a prime that is (almost surely) not safe */
    while (is_safe_prime(q))
        mpz_nextprime(q, q);
    CHECK_ERR(ppml_dtpkc_keygen_from_primes_insecure_for_tests(&tp, &ts, p, q), PPML_EINVAL);
    CHECK(tp == NULL && ts == NULL);
    mpz_clears(p, q, NULL);
}

/* g^lambda = 1 and g^(lambda/2) = -1: why lambda = 2p'q' and not the paper's p'q' (with
 * p'q', strong decryption would fail whenever theta*r is odd). */
static void test_lambda_order(void)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_OK(ppml_dtpkc_strong_save(strong, &buf, &len));
    /* Re-read lambda from the serialized body: header | u32 len | magnitude. */
    mpz_t lam, t, n2m1;
    mpz_inits(lam, t, n2m1, NULL);
    uint32_t lb = (uint32_t)buf[PPML_HEADER_LEN] | (uint32_t)buf[PPML_HEADER_LEN + 1] << 8;
    mpz_import(lam, lb, -1, 1, 0, 0, buf + PPML_HEADER_LEN + 4);
    mpz_powm(t, ppml_dtpkc_params_g(pp), lam, ppml_dtpkc_params_n2(pp));
    CHECK(mpz_cmp_ui(t, 1) == 0);
    CHECK(mpz_even_p(lam));
    mpz_fdiv_q_2exp(lam, lam, 1);
    mpz_powm(t, ppml_dtpkc_params_g(pp), lam, ppml_dtpkc_params_n2(pp));
    mpz_sub_ui(n2m1, ppml_dtpkc_params_n2(pp), 1);
    CHECK(mpz_cmp(t, n2m1) == 0);
    ppml_free_secret(buf, len);
    mpz_clears(lam, t, n2m1, NULL);
}

/* Decrypt ct every way and compare with m (in [0, N)). */
static void check_all_decrypt(const ppml_dtpkc_sk *sk, const ppml_dtpkc_ct *ct, const mpz_t m)
{
    mpz_t out, pd1, pd2;
    mpz_inits(out, pd1, pd2, NULL);
    CHECK_OK(ppml_dtpkc_decrypt(sk, out, ct));
    CHECK(mpz_cmp(out, m) == 0);
    mpz_set_ui(out, 7);
    CHECK_OK(ppml_dtpkc_decrypt_strong(strong, out, ct));
    CHECK(mpz_cmp(out, m) == 0);
    mpz_set_ui(out, 7);
    CHECK_OK(ppml_dtpkc_partial_decrypt(sk1, pd1, ct));
    CHECK_OK(ppml_dtpkc_partial_decrypt(sk2, pd2, ct));
    CHECK_OK(ppml_dtpkc_combine(pp, out, pd1, pd2));
    CHECK(mpz_cmp(out, m) == 0);
    mpz_clears(out, pd1, pd2, NULL);
}

static void test_decrypt(void)
{
    const mpz_srcptr n = ppml_dtpkc_params_n(pp);
    mpz_t m, out;
    mpz_inits(m, out, NULL);
    ppml_dtpkc_ct ct;
    ppml_dtpkc_ct_init(&ct);
    int reps = test_sanitized() ? 4 : 16;
    for (int u = 0; u < 2; u++) {
        const ppml_dtpkc_pk *pk = ppml_dtpkc_sk_pk(user[u]);
        for (int i = 0; i < reps + 3; i++) {
            if (i == 0)
                mpz_set_ui(m, 0);
            else if (i == 1)
                mpz_set_ui(m, 1);
            else if (i == 2)
                mpz_sub_ui(m, n, 1);
            else
                ppml_rand_mpz_below(m, n);
            CHECK_OK(ppml_dtpkc_encrypt(pk, &ct, m));
            CHECK_OK(ppml_dtpkc_ct_check(pp, &ct));
            check_all_decrypt(user[u], &ct, m);
        }
        /* Signed values: centred decoding. */
        static const int64_t vals[] = {-1, -2, -123456789, INT64_MIN, INT64_MAX, 42};
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            int64_t back = 0;
            CHECK_OK(ppml_dtpkc_encrypt_i64(pk, &ct, vals[i]));
            CHECK_OK(ppml_dtpkc_decrypt(user[u], out, &ct));
            CHECK_OK(ppml_dtpkc_to_i64(pp, &back, out));
            CHECK(back == vals[i]);
            CHECK_OK(ppml_dtpkc_decrypt_strong(strong, out, &ct));
            CHECK_OK(ppml_dtpkc_to_i64(pp, &back, out));
            CHECK(back == vals[i]);
        }
    }
    /* Out-of-range plaintexts are refused and leave ct untouched. */
    mpz_set(m, n);
    CHECK_ERR(ppml_dtpkc_encrypt(ppml_dtpkc_sk_pk(user[0]), &ct, m), PPML_ERANGE);
    mpz_set_si(m, -1);
    CHECK_ERR(ppml_dtpkc_encrypt(ppml_dtpkc_sk_pk(user[0]), &ct, m), PPML_ERANGE);
    /* Invalid ciphertexts are refused by every decryption. */
    ppml_dtpkc_ct bad;
    ppml_dtpkc_ct_init(&bad);
    mpz_set_ui(bad.t1, 0);
    mpz_set_ui(bad.t2, 1);
    CHECK_FAILS(ppml_dtpkc_decrypt(user[0], out, &bad));
    CHECK_FAILS(ppml_dtpkc_decrypt_strong(strong, out, &bad));
    CHECK_FAILS(ppml_dtpkc_partial_decrypt(sk1, out, &bad));
    mpz_set(bad.t1, ppml_dtpkc_params_n2(pp));
    CHECK_ERR(ppml_dtpkc_ct_check(pp, &bad), PPML_ERANGE);
    mpz_set(bad.t1, n); /* shares a factor with N */
    CHECK_ERR(ppml_dtpkc_ct_check(pp, &bad), PPML_ECRYPTO);
    ppml_dtpkc_ct_clear(&bad);
    /* Out-of-range centred values. */
    int64_t v;
    mpz_set_ui(m, 1);
    mpz_mul_2exp(m, m, 63);
    CHECK_ERR(ppml_dtpkc_to_i64(pp, &v, m), PPML_ERANGE);
    ppml_dtpkc_ct_clear(&ct);
    mpz_clears(m, out, NULL);
}

/* Neither partial key alone decrypts; the wrong user key does not weakly decrypt. */
static void test_partial_alone(void)
{
    const mpz_srcptr n = ppml_dtpkc_params_n(pp);
    mpz_t m, out, pd, one;
    mpz_inits(m, out, pd, one, NULL);
    mpz_set_ui(one, 1);
    ppml_dtpkc_ct ct;
    ppml_dtpkc_ct_init(&ct);
    for (int i = 0; i < 8; i++) {
        ppml_rand_mpz_below(m, n);
        CHECK_OK(ppml_dtpkc_encrypt(ppml_dtpkc_sk_pk(user[0]), &ct, m));
        for (int j = 0; j < 2; j++) {
            CHECK_OK(ppml_dtpkc_partial_decrypt(j ? sk2 : sk1, pd, &ct));
            /* L(PD_j) alone: either not of the form 1 + xN, or x != m. */
            mpz_set_ui(out, 0);
            int e = ppml_dtpkc_combine(pp, out, pd, one);
            CHECK(e != PPML_OK || mpz_cmp(out, m) != 0);
            /* and PD_j itself is not the plaintext's 1 + mN. */
            mpz_mul(out, m, n);
            mpz_add_ui(out, out, 1);
            CHECK(mpz_cmp(pd, out) != 0);
        }
        /* Partial decryptions of one share twice do not combine. */
        CHECK_OK(ppml_dtpkc_partial_decrypt(sk1, pd, &ct));
        int e = ppml_dtpkc_combine(pp, out, pd, pd);
        CHECK(e != PPML_OK || mpz_cmp(out, m) != 0);
        /* Wrong user key. */
        e = ppml_dtpkc_decrypt(user[1], out, &ct);
        CHECK(e != PPML_OK || mpz_cmp(out, m) != 0);
    }
    ppml_dtpkc_ct_clear(&ct);
    mpz_clears(m, out, pd, one, NULL);
}

static void dec(mpz_t out, const ppml_dtpkc_sk *sk, const ppml_dtpkc_ct *ct)
{
    CHECK_OK(ppml_dtpkc_decrypt(sk, out, ct));
}

static void test_homomorphic(void)
{
    const mpz_srcptr n = ppml_dtpkc_params_n(pp);
    const ppml_dtpkc_pk *pk = ppml_dtpkc_sk_pk(user[0]);
    mpz_t a, b, k, want, got;
    mpz_inits(a, b, k, want, got, NULL);
    ppml_dtpkc_ct ca, cb, cc;
    ppml_dtpkc_ct_init(&ca);
    ppml_dtpkc_ct_init(&cb);
    ppml_dtpkc_ct_init(&cc);
    int reps = test_sanitized() ? 3 : 10;
    for (int i = 0; i < reps; i++) {
        ppml_rand_mpz_below(a, n);
        ppml_rand_mpz_below(b, n);
        if (i == 0)
            mpz_sub_ui(a, n, 1);
        CHECK_OK(ppml_dtpkc_encrypt(pk, &ca, a));
        CHECK_OK(ppml_dtpkc_encrypt(pk, &cb, b));
        ppml_dtpkc_add(pk, &cc, &ca, &cb);
        mpz_add(want, a, b);
        mpz_mod(want, want, n);
        check_all_decrypt(user[0], &cc, want);
        CHECK_OK(ppml_dtpkc_sub(pk, &cc, &ca, &cb));
        mpz_sub(want, a, b);
        mpz_mod(want, want, n);
        dec(got, user[0], &cc);
        CHECK(mpz_cmp(got, want) == 0);
        ppml_dtpkc_add_plain(pk, &cc, &ca, b);
        mpz_add(want, a, b);
        mpz_mod(want, want, n);
        dec(got, user[0], &cc);
        CHECK(mpz_cmp(got, want) == 0);
        /* negative plain addend */
        mpz_set_si(k, -5 - i);
        ppml_dtpkc_add_plain(pk, &cc, &ca, k);
        mpz_add(want, a, k);
        mpz_mod(want, want, n);
        dec(got, user[0], &cc);
        CHECK(mpz_cmp(got, want) == 0);
        /* full-size, negative and zero scalars */
        ppml_rand_mpz_below(k, n);
        if (i % 2)
            mpz_neg(k, k);
        if (i == 2)
            mpz_set_ui(k, 0);
        CHECK_OK(ppml_dtpkc_mul(pk, &cc, &ca, k));
        mpz_mul(want, a, k);
        mpz_mod(want, want, n);
        check_all_decrypt(user[0], &cc, want);
        int64_t k64 = (int64_t)ppml_rand_u64();
        if (i == 1)
            k64 = INT64_MIN;
        CHECK_OK(ppml_dtpkc_mul_i64(pk, &cc, &ca, k64));
        mpz_set_si(k, k64);
        mpz_mul(want, a, k);
        mpz_mod(want, want, n);
        dec(got, user[0], &cc);
        CHECK(mpz_cmp(got, want) == 0);
        /* aliasing: c = c + b */
        ppml_dtpkc_ct_set(&cc, &ca);
        ppml_dtpkc_add(pk, &cc, &cc, &cb);
        mpz_add(want, a, b);
        mpz_mod(want, want, n);
        dec(got, user[0], &cc);
        CHECK(mpz_cmp(got, want) == 0);
        /* rerandomise: new ciphertext, same plaintext */
        ppml_dtpkc_rerandomize(pk, &cc, &ca);
        CHECK(mpz_cmp(cc.t1, ca.t1) != 0 && mpz_cmp(cc.t2, ca.t2) != 0);
        check_all_decrypt(user[0], &cc, a);
    }
    /* small signed arithmetic through the centred decoding */
    int64_t x = -1000, y = 250, back;
    CHECK_OK(ppml_dtpkc_encrypt_i64(pk, &ca, x));
    CHECK_OK(ppml_dtpkc_encrypt_i64(pk, &cb, y));
    CHECK_OK(ppml_dtpkc_mul_i64(pk, &cc, &cb, -3));
    ppml_dtpkc_add(pk, &cc, &cc, &ca);
    dec(got, user[0], &cc);
    CHECK_OK(ppml_dtpkc_to_i64(pp, &back, got));
    CHECK(back == x - 3 * y);
    ppml_dtpkc_ct_clear(&ca);
    ppml_dtpkc_ct_clear(&cb);
    ppml_dtpkc_ct_clear(&cc);
    mpz_clears(a, b, k, want, got, NULL);
}

/* Fixed-base tables: equal to mpz_powm for edge and random exponents; encryption through
 * them decrypts correctly. */
/* The batched forms (many.c) against the one-element ones: a precomputed key (the
 * multi-buffer path where enabled) and a copy without tables (the one-element path) must
 * agree: encryptions decrypt to the same values, packing gives identical ciphertexts,
 * partial decryptions equal ppml_dtpkc_partial_decrypt; bad input changes no output. */
static void test_many(const char *label)
{
    printf("test_dtpkc: batched forms, %s (multi-buffer path %s)\n", label, ppmli_mb_enabled() ? "on" : "off");
    const ppml_dtpkc_params *lp = pp;
    ppml_dtpkc_sk *u = NULL;
    CHECK_OK(ppml_dtpkc_user_keygen(&u, lp));
    if (!u)
        return;
    CHECK_OK(ppml_dtpkc_sk_precompute(u));
    const ppml_dtpkc_pk *pk = ppml_dtpkc_sk_pk(u);
    ppml_dtpkc_pk *bare = NULL;
    CHECK_OK(ppml_dtpkc_pk_dup(&bare, pk));
    enum { N = 19 };
    int64_t v[N];
    ppml_dtpkc_ct c[N], d[N], packed[2][8];
    mpz_t m, pd[N], pd1[N];
    mpz_srcptr t1[N];
    mpz_init(m);
    for (int i = 0; i < N; i++) {
        v[i] = i == 0 ? 0 : i == 1 ? -1 : i == 2 ? INT64_MAX : i == 3 ? INT64_MIN + 1
                                                  : (int64_t)(ppml_rand_u64() >> 2) * (i % 2 ? 1 : -1);
        ppml_dtpkc_ct_init(&c[i]);
        ppml_dtpkc_ct_init(&d[i]);
        mpz_inits(pd[i], pd1[i], NULL);
    }
    static const size_t counts[] = {0, 1, 2, 8, 9, N};
    for (size_t t = 0; t < sizeof counts / sizeof *counts; t++) {
        size_t n = counts[t];
        for (int which = 0; which < 2; which++) {
            CHECK_OK(ppml_dtpkc_encrypt_i64_many(which ? bare : pk, c, v, n));
            CHECK_OK(ppmli_dtpkc_rerandomize_many(which ? bare : pk, d, c, n));
            for (size_t i = 0; i < n; i++) {
                int64_t got = 0;
                CHECK_OK(ppml_dtpkc_decrypt(u, m, &d[i]));
                CHECK_OK(ppml_dtpkc_to_i64(lp, &got, m));
                CHECK(got == v[i]);
                CHECK(mpz_cmp(c[i].t1, d[i].t1) != 0); /* fresh randomness */
            }
        }
    }
    /* packing: slot values small enough to fit, groups of 3 */
    for (int i = 0; i < N; i++)
        v[i] = (int64_t)(ppml_rand_u64() >> 44);
    CHECK_OK(ppml_dtpkc_encrypt_i64_many(pk, c, v, N));
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 8; l++)
            ppml_dtpkc_ct_init(&packed[k][l]);
    CHECK_OK(ppmli_dtpkc_pack_many(pk, packed[0], c, N, 3, 24));
    CHECK_OK(ppmli_dtpkc_pack_many(bare, packed[1], c, N, 3, 24));
    for (int l = 0; l < 7; l++) { /* ceil(19 / 3) = 7 groups */
        CHECK(mpz_cmp(packed[0][l].t1, packed[1][l].t1) == 0 && mpz_cmp(packed[0][l].t2, packed[1][l].t2) == 0);
        CHECK_OK(ppml_dtpkc_decrypt(u, m, &packed[0][l]));
        mpz_t want;
        mpz_init(want);
        for (int i = l * 3 + 2; i >= l * 3; i--) {
            mpz_mul_2exp(want, want, 24);
            if (i < N)
                mpz_add_ui(want, want, (unsigned long)v[i]);
        }
        CHECK(mpz_cmp(m, want) == 0);
        mpz_clear(want);
    }
    /* partial decryptions */
    for (int i = 0; i < N; i++)
        t1[i] = c[i].t1;
    for (size_t t = 0; t < sizeof counts / sizeof *counts; t++) {
        size_t n = counts[t];
        CHECK_OK(ppmli_dtpkc_partial_decrypt_many(sk1, pd1, t1, n));
        for (size_t i = 0; i < n; i++) {
            CHECK_OK(ppml_dtpkc_partial_decrypt(sk1, pd[i], &c[i]));
            CHECK(mpz_cmp(pd[i], pd1[i]) == 0);
        }
    }
    mpz_set(pd[0], pd1[0]);
    t1[5] = ppml_dtpkc_params_n(lp); /* not a unit */
    CHECK_FAILS(ppmli_dtpkc_partial_decrypt_many(sk2, pd1, t1, 9));
    CHECK(mpz_cmp(pd[0], pd1[0]) == 0);
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 8; l++)
            ppml_dtpkc_ct_clear(&packed[k][l]);
    for (int i = 0; i < N; i++) {
        ppml_dtpkc_ct_clear(&c[i]);
        ppml_dtpkc_ct_clear(&d[i]);
        mpz_clears(pd[i], pd1[i], NULL);
    }
    mpz_clear(m);
    ppml_dtpkc_pk_free(bare);
    ppml_dtpkc_sk_free(u);
}

static void test_fixed_base(void)
{
    const mpz_srcptr n2 = ppml_dtpkc_params_n2(pp);
    mpz_t base, e, want, got;
    mpz_inits(base, e, want, got, NULL);
    for (unsigned w = 1; w <= 6; w++) {
        ppmli_fb *t = NULL;
        ppml_rand_mpz_below(base, n2);
        unsigned eb = 100 + 7 * w; /* digits straddle limbs for some w */
        CHECK_OK(ppmli_fb_build(&t, base, n2, eb, w));
        if (!t)
            continue;
        for (int i = 0; i < 12; i++) {
            if (i == 0)
                mpz_set_ui(e, 0);
            else if (i == 1)
                mpz_set_ui(e, 1);
            else if (i == 2) {
                mpz_set_ui(e, 0);
                mpz_setbit(e, eb);
                mpz_sub_ui(e, e, 1);
            } else
                ppml_rand_mpz_bits(e, eb);
            mpz_powm(want, base, e, n2);
            CHECK_OK(ppmli_fb_pow(t, got, e));
            CHECK(mpz_cmp(want, got) == 0);
        }
        mpz_set_ui(e, 0);
        mpz_setbit(e, ((eb + w - 1) / w) * w); /* one bit beyond the table */
        CHECK_ERR(ppmli_fb_pow(t, got, e), PPML_ERANGE);
        ppmli_fb_free(t);
    }
    ppml_dtpkc_pk *pk = NULL;
    CHECK_OK(ppml_dtpkc_pk_dup(&pk, ppml_dtpkc_sk_pk(user[1])));
    CHECK_OK(ppml_dtpkc_pk_precompute(pk));
    CHECK_OK(ppml_dtpkc_pk_precompute(pk)); /* idempotent */
    ppml_dtpkc_ct ct;
    ppml_dtpkc_ct_init(&ct);
    for (int i = 0; i < 6; i++) {
        ppml_rand_mpz_below(e, ppml_dtpkc_params_n(pp));
        CHECK_OK(ppml_dtpkc_encrypt(pk, &ct, e));
        check_all_decrypt(user[1], &ct, e);
        ppml_dtpkc_rerandomize(pk, &ct, &ct);
        check_all_decrypt(user[1], &ct, e);
    }
    ppml_dtpkc_ct_clear(&ct);
    ppml_dtpkc_pk_free(pk);
    mpz_clears(base, e, want, got, NULL);
}

/* Key conversion user 0 -> user 1, run the way CSS and CCS would. */
static void convert_once(const ppml_dtpkc_params *params, ppml_dtpkc_sk *from, ppml_dtpkc_sk *to,
                         const ppml_dtpkc_partial_sk *k1, const ppml_dtpkc_partial_sk *k2, int64_t v,
                         unsigned vb)
{
    const unsigned kappa = PPML_DTPKC_KAPPA;
    ppml_dtpkc_ct ct, blinded, reenc, out;
    mpz_t r, pd1, seen, m;
    ppml_dtpkc_ct_init(&ct);
    ppml_dtpkc_ct_init(&blinded);
    ppml_dtpkc_ct_init(&reenc);
    ppml_dtpkc_ct_init(&out);
    mpz_inits(r, pd1, seen, m, NULL);
    CHECK_OK(ppml_dtpkc_encrypt_i64(ppml_dtpkc_sk_pk(from), &ct, v));
    /* CSS */
    CHECK_OK(ppml_dtpkc_convert_blind(ppml_dtpkc_sk_pk(from), &blinded, r, &ct, vb, kappa));
    CHECK(mpz_sizeinbase(r, 2) > vb + 1 && mpz_sizeinbase(r, 2) <= vb + 1 + kappa);
    CHECK(mpz_cmp(blinded.t1, ct.t1) != 0 && mpz_cmp(blinded.t2, ct.t2) != 0);
    CHECK_OK(ppml_dtpkc_partial_decrypt(k1, pd1, &blinded));
    /* CCS: sees m + r, a positive integer; re-encrypts under the target key. */
    CHECK_OK(ppml_dtpkc_convert_open(k2, seen, &blinded, pd1, vb, kappa));
    mpz_set_si(m, v);
    mpz_add(m, m, r);
    CHECK(mpz_cmp(seen, m) == 0);
    CHECK(mpz_sgn(seen) > 0);
    CHECK_OK(ppml_dtpkc_encrypt(ppml_dtpkc_sk_pk(to), &reenc, seen));
    /* CSS unblinds under the target key; the target owner decrypts v. */
    ppml_dtpkc_convert_unblind(ppml_dtpkc_sk_pk(to), &out, &reenc, r);
    int64_t back = 0;
    CHECK_OK(ppml_dtpkc_decrypt(to, m, &out));
    CHECK_OK(ppml_dtpkc_to_i64(params, &back, m));
    CHECK(back == v);
    mpz_clears(r, pd1, seen, m, NULL);
    ppml_dtpkc_ct_clear(&ct);
    ppml_dtpkc_ct_clear(&blinded);
    ppml_dtpkc_ct_clear(&reenc);
    ppml_dtpkc_ct_clear(&out);
}

static void test_convert(void)
{
    static const int64_t vals[] = {0, 1, -1, 2147483647, -2147483647, 123456, -98765};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        convert_once(pp, user[0], user[1], sk1, sk2, vals[i], 32);
    convert_once(pp, user[1], user[0], sk1, sk2, INT64_MAX, 64);
    convert_once(pp, user[1], user[1], sk1, sk2, INT64_MIN + 1, 64);

    const ppml_dtpkc_pk *pk = ppml_dtpkc_sk_pk(user[0]);
    ppml_dtpkc_ct ct, blinded, other;
    mpz_t r, pd1, seen;
    ppml_dtpkc_ct_init(&ct);
    ppml_dtpkc_ct_init(&blinded);
    ppml_dtpkc_ct_init(&other);
    mpz_inits(r, pd1, seen, NULL);
    /* Bounds: value_bits + kappa + 3 must stay below |N|. */
    CHECK_OK(ppml_dtpkc_encrypt_i64(pk, &ct, 5));
    CHECK_ERR(ppml_dtpkc_convert_blind(pk, &blinded, r, &ct, TEST_BITS - 40, 40), PPML_EINVAL);
    CHECK_ERR(ppml_dtpkc_convert_blind(pk, &blinded, r, &ct, 0, 40), PPML_EINVAL);
    /* A value beyond its declared bound is caught by CCS's range check. */
    CHECK_OK(ppml_dtpkc_encrypt_i64(pk, &ct, -((int64_t)1 << 60)));
    CHECK_OK(ppml_dtpkc_convert_blind(pk, &blinded, r, &ct, 16, 40));
    CHECK_OK(ppml_dtpkc_partial_decrypt(sk1, pd1, &blinded));
    CHECK_ERR(ppml_dtpkc_convert_open(sk2, seen, &blinded, pd1, 16, 40), PPML_ERANGE);
    /* PD1 of another ciphertext does not open this one. */
    CHECK_OK(ppml_dtpkc_encrypt_i64(pk, &ct, 5));
    CHECK_OK(ppml_dtpkc_convert_blind(pk, &blinded, r, &ct, 16, 40));
    CHECK_OK(ppml_dtpkc_encrypt_i64(pk, &other, 5));
    CHECK_OK(ppml_dtpkc_partial_decrypt(sk1, pd1, &other));
    CHECK_FAILS(ppml_dtpkc_convert_open(sk2, seen, &blinded, pd1, 16, 40));
    /* The masks are spread over their whole range (2^40 values): 64 draws are distinct. */
    mpz_t prev;
    mpz_init(prev);
    int distinct = 1;
    for (int i = 0; i < 64; i++) {
        CHECK_OK(ppml_dtpkc_convert_blind(pk, &blinded, r, &ct, 16, 40));
        if (mpz_cmp(r, prev) == 0)
            distinct = 0;
        mpz_set(prev, r);
    }
    CHECK(distinct);
    mpz_clear(prev);
    mpz_clears(r, pd1, seen, NULL);
    ppml_dtpkc_ct_clear(&ct);
    ppml_dtpkc_ct_clear(&blinded);
    ppml_dtpkc_ct_clear(&other);
}

/* Every strict prefix and every header-byte corruption of buf must fail to load. */
typedef int (*loader_fn)(const uint8_t *buf, size_t len);
static ppml_dtpkc_sk *loaded_sk;
static int load_params(const uint8_t *b, size_t l)
{
    ppml_dtpkc_params *x = NULL;
    int e = ppml_dtpkc_params_load_insecure_for_tests(&x, b, l);
    ppml_dtpkc_params_free(x);
    return e;
}
static int load_pk(const uint8_t *b, size_t l)
{
    ppml_dtpkc_pk *x = NULL;
    int e = ppml_dtpkc_pk_load(&x, pp, b, l);
    ppml_dtpkc_pk_free(x);
    return e;
}
static int load_sk(const uint8_t *b, size_t l)
{
    ppml_dtpkc_sk *x = NULL;
    int e = ppml_dtpkc_sk_load(&x, pp, b, l);
    ppml_dtpkc_sk_free(x);
    return e;
}
static int load_strong(const uint8_t *b, size_t l)
{
    ppml_dtpkc_strong_sk *x = NULL;
    int e = ppml_dtpkc_strong_load(&x, pp, b, l);
    ppml_dtpkc_strong_free(x);
    return e;
}
static int load_partial(const uint8_t *b, size_t l)
{
    ppml_dtpkc_partial_sk *x = NULL;
    int e = ppml_dtpkc_partial_load(&x, pp, b, l);
    ppml_dtpkc_partial_free(x);
    return e;
}
static int load_ct(const uint8_t *b, size_t l)
{
    ppml_dtpkc_ct ct;
    ppml_dtpkc_ct_init(&ct);
    int e = ppml_dtpkc_ct_load(ppml_dtpkc_sk_pk(user[0]), &ct, b, l);
    ppml_dtpkc_ct_clear(&ct);
    return e;
}
static int load_ctvec(const uint8_t *b, size_t l)
{
    ppml_dtpkc_ct *v = NULL;
    size_t n = 0;
    int e = ppml_dtpkc_ctvec_load(ppml_dtpkc_sk_pk(user[0]), &v, &n, b, l);
    ppml_dtpkc_ctvec_free(v, n);
    return e;
}

/* body_integrity: whether any corrupted body byte must also be refused (params: id; user
 * sk: g^theta = h; strong: g^lambda = 1). */
static void check_refusals(loader_fn load, const uint8_t *buf, size_t len, int body_integrity)
{
    CHECK_OK(load(buf, len));
    uint8_t *copy = malloc(len + 1);
    int bad_prefix = 0, bad_flip = 0;
    for (size_t cut = 0; cut < len; cut++)
        if (load(buf, cut) == PPML_OK)
            bad_prefix++;
    CHECK(bad_prefix == 0);
    /* one byte too many */
    memcpy(copy, buf, len);
    copy[len] = 0;
    CHECK_FAILS(load(copy, len + 1));
    size_t stride = test_sanitized() ? 7 : 1;
    for (size_t i = 0; i < len; i += (i < PPML_HEADER_LEN ? 1 : stride)) {
        if (i >= PPML_HEADER_LEN && !body_integrity)
            break;
        if (i >= 10 && i < 12) /* flags: not interpreted by version 1 */
            continue;
        memcpy(copy, buf, len);
        copy[i] ^= 0x01;
        if (load(copy, len) == PPML_OK) {
            bad_flip++;
            fprintf(stderr, "corruption at byte %zu accepted\n", i);
        }
    }
    CHECK(bad_flip == 0);
    free(copy);
}

static void test_serial(void)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    /* params */
    CHECK_OK(ppml_dtpkc_params_save(pp, &buf, &len));
    ppml_dtpkc_params *pp2 = NULL;
    CHECK_ERR(ppml_dtpkc_params_load(&pp2, buf, len), PPML_EWEAK);
    CHECK(pp2 == NULL);
    CHECK_OK(ppml_dtpkc_params_load_insecure_for_tests(&pp2, buf, len));
    CHECK(mpz_cmp(ppml_dtpkc_params_n(pp2), ppml_dtpkc_params_n(pp)) == 0);
    CHECK(mpz_cmp(ppml_dtpkc_params_g(pp2), ppml_dtpkc_params_g(pp)) == 0);
    CHECK(memcmp(ppml_dtpkc_params_id(pp2), ppml_dtpkc_params_id(pp), 32) == 0);
    check_refusals(load_params, buf, len, 1);
    free(buf);

    /* user keys: loaded sk decrypts what the original pk encrypted, and vice versa */
    CHECK_OK(ppml_dtpkc_sk_save(user[0], &buf, &len));
    check_refusals(load_sk, buf, len, 1);
    CHECK_OK(ppml_dtpkc_sk_load(&loaded_sk, pp2 /* same N, g: same id */, buf, len));
    ppml_dtpkc_sk_free(loaded_sk);
    loaded_sk = NULL;
    CHECK_OK(ppml_dtpkc_sk_load(&loaded_sk, pp, buf, len));
    CHECK_ERR(load_pk(buf, len), PPML_EFORMAT); /* wrong type */
    ppml_free_secret(buf, len);
    CHECK_OK(ppml_dtpkc_pk_save(ppml_dtpkc_sk_pk(user[0]), &buf, &len));
    ppml_dtpkc_pk *pk2 = NULL;
    CHECK_OK(ppml_dtpkc_pk_load(&pk2, pp, buf, len));
    CHECK(memcmp(ppml_dtpkc_pk_id(pk2), ppml_dtpkc_pk_id(ppml_dtpkc_sk_pk(user[0])), 32) == 0);
    check_refusals(load_pk, buf, len, 0);
    free(buf);
    ppml_dtpkc_ct ct, ct2;
    ppml_dtpkc_ct_init(&ct);
    ppml_dtpkc_ct_init(&ct2);
    mpz_t m, out;
    mpz_inits(m, out, NULL);
    mpz_set_ui(m, 31337);
    CHECK_OK(ppml_dtpkc_encrypt(pk2, &ct, m));
    CHECK_OK(ppml_dtpkc_decrypt(loaded_sk, out, &ct));
    CHECK(mpz_cmp(out, m) == 0);

    /* strong and partial keys */
    CHECK_OK(ppml_dtpkc_strong_save(strong, &buf, &len));
    ppml_dtpkc_strong_sk *st2 = NULL;
    CHECK_OK(ppml_dtpkc_strong_load(&st2, pp, buf, len));
    check_refusals(load_strong, buf, len, 1);
    ppml_free_secret(buf, len);
    CHECK_OK(ppml_dtpkc_decrypt_strong(st2, out, &ct));
    CHECK(mpz_cmp(out, m) == 0);
    ppml_dtpkc_partial_sk *p1 = NULL, *p2 = NULL;
    CHECK_OK(ppml_dtpkc_partial_save(sk1, &buf, &len));
    CHECK_OK(ppml_dtpkc_partial_load(&p1, pp, buf, len));
    check_refusals(load_partial, buf, len, 0);
    buf[PPML_HEADER_LEN] = 3; /* index must be 1 or 2 */
    CHECK_ERR(load_partial(buf, len), PPML_EFORMAT);
    ppml_free_secret(buf, len);
    CHECK_OK(ppml_dtpkc_partial_save(sk2, &buf, &len));
    CHECK_OK(ppml_dtpkc_partial_load(&p2, pp, buf, len));
    ppml_free_secret(buf, len);
    CHECK(ppml_dtpkc_partial_index(p1) == 1 && ppml_dtpkc_partial_index(p2) == 2);
    mpz_t pd1, pd2;
    mpz_inits(pd1, pd2, NULL);
    CHECK_OK(ppml_dtpkc_partial_decrypt(p1, pd1, &ct));
    CHECK_OK(ppml_dtpkc_partial_decrypt(p2, pd2, &ct));
    CHECK_OK(ppml_dtpkc_combine(pp, out, pd1, pd2));
    CHECK(mpz_cmp(out, m) == 0);
    mpz_clears(pd1, pd2, NULL);

    /* ciphertexts */
    CHECK_OK(ppml_dtpkc_ct_save(ppml_dtpkc_sk_pk(user[0]), &ct, &buf, &len));
    CHECK_OK(ppml_dtpkc_ct_load(pk2, &ct2, buf, len));
    CHECK(mpz_cmp(ct.t1, ct2.t1) == 0 && mpz_cmp(ct.t2, ct2.t2) == 0);
    check_refusals(load_ct, buf, len, 0);
    /* under another user's key: mismatch */
    CHECK_ERR(ppml_dtpkc_ct_load(ppml_dtpkc_sk_pk(user[1]), &ct2, buf, len), PPML_EMISMATCH);
    free(buf);
    ppml_dtpkc_ct vec[5];
    for (int i = 0; i < 5; i++) {
        ppml_dtpkc_ct_init(&vec[i]);
        CHECK_OK(ppml_dtpkc_encrypt_i64(ppml_dtpkc_sk_pk(user[0]), &vec[i], -i));
    }
    CHECK_OK(ppml_dtpkc_ctvec_save(ppml_dtpkc_sk_pk(user[0]), vec, 5, &buf, &len));
    ppml_dtpkc_ct *lv = NULL;
    size_t ln = 0;
    CHECK_OK(ppml_dtpkc_ctvec_load(pk2, &lv, &ln, buf, len));
    CHECK(ln == 5);
    for (size_t i = 0; i < ln && i < 5; i++) {
        int64_t back = 1;
        CHECK_OK(ppml_dtpkc_decrypt(user[0], out, &lv[i]));
        CHECK_OK(ppml_dtpkc_to_i64(pp, &back, out));
        CHECK(back == -(int64_t)i);
    }
    ppml_dtpkc_ctvec_free(lv, ln);
    check_refusals(load_ctvec, buf, len, 0);
    /* a huge count is refused before allocation */
    for (int i = 0; i < 8; i++)
        buf[PPML_HEADER_LEN + i] = 0xff;
    CHECK_ERR(load_ctvec(buf, len), PPML_EFORMAT);
    free(buf);
    CHECK_OK(ppml_dtpkc_ctvec_save(ppml_dtpkc_sk_pk(user[0]), vec, 0, &buf, &len));
    lv = NULL;
    ln = 9;
    CHECK_OK(ppml_dtpkc_ctvec_load(pk2, &lv, &ln, buf, len));
    CHECK(ln == 0 && lv == NULL);
    free(buf);
    for (int i = 0; i < 5; i++)
        ppml_dtpkc_ct_clear(&vec[i]);

    /* hand-made invalid ciphertexts: T1 = 0, T1 = N^2, T1 a multiple of a prime factor */
    for (int kind = 0; kind < 3; kind++) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_header(&w, PPML_T_DTPKC_CT, 0, ppml_dtpkc_pk_id(ppml_dtpkc_sk_pk(user[0])));
        mpz_set_ui(out, 0);
        if (kind == 1)
            mpz_set(out, ppml_dtpkc_params_n2(pp));
        if (kind == 2)
            mpz_mul_ui(out, ppml_dtpkc_params_n(pp), 3);
        ppml_write_mpz(&w, out);
        ppml_write_mpz(&w, ct.t2);
        CHECK_OK(ppml_writer_finish(&w, 0));
        CHECK_FAILS(load_ct(w.data, w.len));
        ppml_writer_clear(&w);
    }
    /* params with an even N / a g with Jacobi symbol -1 */
    for (int kind = 0; kind < 2; kind++) {
        ppml_writer w;
        ppml_writer_init(&w);
        mpz_set(out, ppml_dtpkc_params_n(pp));
        mpz_set(m, ppml_dtpkc_params_g(pp));
        if (kind == 0)
            mpz_add_ui(out, out, 1);
        else
            while (mpz_jacobi(m, out) != -1)
                mpz_add_ui(m, m, 1);
        ppml_write_header(&w, PPML_T_DTPKC_PARAMS, 0, ppml_dtpkc_params_id(pp));
        ppml_write_u32(&w, (uint32_t)mpz_sizeinbase(out, 2));
        ppml_write_mpz(&w, out);
        ppml_write_mpz(&w, m);
        CHECK_OK(ppml_writer_finish(&w, 0));
        CHECK_FAILS(load_params(w.data, w.len));
        ppml_writer_clear(&w);
    }

    /* objects of other parameters are refused with PPML_EMISMATCH */
    ppml_dtpkc_params *opp = NULL;
    ppml_dtpkc_strong_sk *ost = NULL;
    ppml_dtpkc_sk *ouser = NULL;
    CHECK_OK(ppml_dtpkc_keygen_insecure_for_tests(&opp, &ost, 256));
    CHECK_OK(ppml_dtpkc_user_keygen(&ouser, opp));
    CHECK_OK(ppml_dtpkc_pk_save(ppml_dtpkc_sk_pk(ouser), &buf, &len));
    CHECK_ERR(load_pk(buf, len), PPML_EMISMATCH);
    free(buf);
    CHECK_OK(ppml_dtpkc_sk_save(ouser, &buf, &len));
    CHECK_ERR(load_sk(buf, len), PPML_EMISMATCH);
    ppml_free_secret(buf, len);
    CHECK_OK(ppml_dtpkc_strong_save(ost, &buf, &len));
    CHECK_ERR(load_strong(buf, len), PPML_EMISMATCH);
    ppml_free_secret(buf, len);
    ppml_dtpkc_sk_free(ouser);
    ppml_dtpkc_strong_free(ost);
    ppml_dtpkc_params_free(opp);

    mpz_clears(m, out, NULL);
    ppml_dtpkc_ct_clear(&ct);
    ppml_dtpkc_ct_clear(&ct2);
    ppml_dtpkc_partial_free(p1);
    ppml_dtpkc_partial_free(p2);
    ppml_dtpkc_strong_free(st2);
    ppml_dtpkc_pk_free(pk2);
    ppml_dtpkc_sk_free(loaded_sk);
    ppml_dtpkc_params_free(pp2);
}

/* 2048-bit parameters from the committed safe primes: safe-primality re-checked, then the
 * whole pipeline once at full size. */
static void test_vectors_2048(void)
{
    FILE *f = fopen("tests/vectors/dtpkc_safe_primes_2048.txt", "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[1024];
    mpz_t pr[2];
    int got = 0;
    mpz_inits(pr[0], pr[1], NULL);
    while (got < 2 && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\r\n")] = 0;
        CHECK(mpz_set_str(pr[got], line, 16) == 0);
        got++;
    }
    fclose(f);
    CHECK(got == 2);
    CHECK(is_safe_prime(pr[0]) && is_safe_prime(pr[1]));
    ppml_dtpkc_params *bp = NULL;
    ppml_dtpkc_strong_sk *bs = NULL;
    ppml_dtpkc_partial_sk *b1 = NULL, *b2 = NULL;
    ppml_dtpkc_sk *u[2] = {NULL, NULL};
    CHECK_OK(ppml_dtpkc_keygen_from_primes(&bp, &bs, pr[0], pr[1]));
    if (!bp) {
        mpz_clears(pr[0], pr[1], NULL);
        return;
    }
    CHECK(ppml_dtpkc_params_bits(bp) == 2048);
    CHECK_OK(ppml_dtpkc_split(&b1, &b2, bs));
    CHECK_OK(ppml_dtpkc_user_keygen(&u[0], bp));
    CHECK_OK(ppml_dtpkc_user_keygen(&u[1], bp));
    /* the normal loader accepts 2048-bit params */
    uint8_t *buf;
    size_t len;
    ppml_dtpkc_params *lp = NULL;
    CHECK_OK(ppml_dtpkc_params_save(bp, &buf, &len));
    CHECK_OK(ppml_dtpkc_params_load(&lp, buf, len));
    free(buf);
    ppml_dtpkc_params_free(lp);
    ppml_dtpkc_ct ct;
    ppml_dtpkc_ct_init(&ct);
    mpz_t m, out, pd1, pd2;
    mpz_inits(m, out, pd1, pd2, NULL);
    for (int i = 0; i < 3; i++) {
        if (i == 0)
            mpz_sub_ui(m, ppml_dtpkc_params_n(bp), 1);
        else
            ppml_rand_mpz_below(m, ppml_dtpkc_params_n(bp));
        CHECK_OK(ppml_dtpkc_encrypt(ppml_dtpkc_sk_pk(u[0]), &ct, m));
        CHECK_OK(ppml_dtpkc_decrypt(u[0], out, &ct));
        CHECK(mpz_cmp(out, m) == 0);
        CHECK_OK(ppml_dtpkc_decrypt_strong(bs, out, &ct));
        CHECK(mpz_cmp(out, m) == 0);
        CHECK_OK(ppml_dtpkc_partial_decrypt(b1, pd1, &ct));
        CHECK_OK(ppml_dtpkc_partial_decrypt(b2, pd2, &ct));
        CHECK_OK(ppml_dtpkc_combine(bp, out, pd1, pd2));
        CHECK(mpz_cmp(out, m) == 0);
    }
    convert_once(bp, u[0], u[1], b1, b2, -4242424242LL, 40);
    mpz_clears(m, out, pd1, pd2, pr[0], pr[1], NULL);
    ppml_dtpkc_ct_clear(&ct);
    ppml_dtpkc_sk_free(u[0]);
    ppml_dtpkc_sk_free(u[1]);
    ppml_dtpkc_partial_free(b1);
    ppml_dtpkc_partial_free(b2);
    ppml_dtpkc_strong_free(bs);
    ppml_dtpkc_params_free(bp);
}

int main(void)
{
    test_init();
    test_seed(20161);
    test_safe_prime();
    test_keygen();
    if (!pp || !strong || !sk1 || !sk2 || !user[0] || !user[1])
        return test_finish("test_dtpkc");
    test_lambda_order();
    test_decrypt();
    test_partial_alone();
    test_homomorphic();
    test_fixed_base();
    test_many("automatic kernel");
    ppmli_mb_force_portable(1);
    test_many("portable kernel forced");
    ppmli_mb_force_portable(0);
    test_convert();
    test_serial();
    test_vectors_2048();
    for (int i = 0; i < 2; i++)
        ppml_dtpkc_sk_free(user[i]);
    ppml_dtpkc_partial_free(sk1);
    ppml_dtpkc_partial_free(sk2);
    ppml_dtpkc_strong_free(strong);
    ppml_dtpkc_params_free(pp);
    ppml_rand_clear_test_seed();
    return test_finish("test_dtpkc");
}
