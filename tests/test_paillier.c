/* Paillier: round trips for every encryption/decryption form, homomorphic operations against
 * plaintext arithmetic, packing, serialization (round trips and refusals), python-paillier
 * JSON interop, and known-answer vectors from the independent generator in tests/gen/. */
#include "test.h"

#include "crypto/mb/mb.h"
#include "crypto/paillier/paillier_internal.h"
#include "ppml/fixed.h"
#include "ppml/mem.h"
#include "ppml/paillier.h"
#include "ppml/serial.h"

#include <gmp.h>

static int iters(int n) { return test_sanitized() ? (n + 3) / 4 : n; }

/* ---------- key generation ---------- */

static void test_keygen_params(void)
{
    ppml_paillier_sk *sk = NULL;
    CHECK_ERR(ppml_paillier_keygen(&sk, 1024), PPML_EWEAK);
    CHECK_ERR(ppml_paillier_keygen(&sk, 2047), PPML_EWEAK);
    CHECK_ERR(ppml_paillier_keygen(&sk, 2100), PPML_EINVAL);
    CHECK_ERR(ppml_paillier_keygen(&sk, 16384), PPML_EINVAL);
    CHECK_ERR(ppml_paillier_keygen_insecure_for_tests(&sk, 128), PPML_EWEAK);
    CHECK_ERR(ppml_paillier_keygen_insecure_for_tests(&sk, 513), PPML_EINVAL);
    CHECK(sk == NULL);
    for (unsigned bits = 256; bits <= 768; bits += 256) {
        CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&sk, bits));
        if (!sk)
            continue;
        const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
        CHECK(ppml_paillier_pk_bits(pk) == bits);
        CHECK(mpz_sizeinbase(ppml_paillier_pk_n(pk), 2) == bits);
        CHECK(mpz_sizeinbase(sk->p, 2) == bits / 2 && mpz_sizeinbase(sk->q, 2) == bits / 2);
        CHECK(mpz_probab_prime_p(sk->p, 30) && mpz_probab_prime_p(sk->q, 30));
        mpz_t t;
        mpz_init(t);
        mpz_mul(t, sk->p, sk->q);
        CHECK(mpz_cmp(t, ppml_paillier_pk_n(pk)) == 0);
        mpz_powm(t, ppml_paillier_pk_hn(pk), sk->lambda, ppml_paillier_pk_n2(pk));
        CHECK(mpz_cmp_ui(t, 1) == 0); /* h_N is an N-th residue */
        mpz_clear(t);
        ppml_paillier_sk_free(sk);
        sk = NULL;
    }
}

/* ---------- encryption / decryption ---------- */

static void check_all_forms(const ppml_paillier_sk *sk, const mpz_t m)
{
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    mpz_t c, d;
    mpz_inits(c, d, NULL);
    int (*encs[4])(const ppml_paillier_pk *, mpz_t, const mpz_t) = {ppml_paillier_encrypt,
                                                                    ppml_paillier_encrypt_naive, NULL, NULL};
    for (int f = 0; f < 4; f++) {
        if (f < 2)
            CHECK_OK(encs[f](pk, c, m));
        else if (f == 2)
            CHECK_OK(ppml_paillier_encrypt_crt(sk, c, m));
        else
            CHECK_OK(ppml_paillier_encrypt_djn_crt(sk, c, m));
        if (f == 3) { /* DJN by CRT: c / (1 + mN) is an N-th residue, c^lambda = (1 + mN)^lambda */
            mpz_t x, y;
            mpz_inits(x, y, NULL);
            mpz_powm(x, c, sk->lambda, ppml_paillier_pk_n2(pk));
            mpz_mul(y, m, ppml_paillier_pk_n(pk));
            mpz_add_ui(y, y, 1);
            mpz_powm(y, y, sk->lambda, ppml_paillier_pk_n2(pk));
            CHECK(mpz_cmp(x, y) == 0);
            mpz_clears(x, y, NULL);
        }
        CHECK_OK(ppml_paillier_ct_check(pk, c));
        mpz_set_ui(d, 12345);
        CHECK_OK(ppml_paillier_decrypt(sk, d, c));
        CHECK(mpz_cmp(d, m) == 0);
        mpz_set_ui(d, 12345);
        CHECK_OK(ppml_paillier_decrypt_naive(sk, d, c));
        CHECK(mpz_cmp(d, m) == 0);
    }
    mpz_clears(c, d, NULL);
}

static void test_roundtrip(const ppml_paillier_sk *sk, int n_random)
{
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    mpz_srcptr n = ppml_paillier_pk_n(pk);
    mpz_t m, c, d, r;
    mpz_inits(m, c, d, r, NULL);
    /* edges: 0, 1, 2, N-1, N-2, floor(N/2), ceil(N/2) */
    long edges[] = {0, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        mpz_set_si(m, edges[i]);
        check_all_forms(sk, m);
    }
    mpz_sub_ui(m, n, 1);
    check_all_forms(sk, m);
    mpz_sub_ui(m, n, 2);
    check_all_forms(sk, m);
    mpz_fdiv_q_2exp(m, n, 1);
    check_all_forms(sk, m);
    mpz_add_ui(m, m, 1);
    check_all_forms(sk, m);
    for (int i = 0; i < n_random; i++) {
        ppml_rand_mpz_below(m, n);
        check_all_forms(sk, m);
    }
    /* out of range plaintexts */
    mpz_set(m, n);
    CHECK_ERR(ppml_paillier_encrypt(pk, c, m), PPML_ERANGE);
    CHECK_ERR(ppml_paillier_encrypt_naive(pk, c, m), PPML_ERANGE);
    CHECK_ERR(ppml_paillier_encrypt_crt(sk, c, m), PPML_ERANGE);
    CHECK_ERR(ppml_paillier_encrypt_djn_crt(sk, c, m), PPML_ERANGE);
    mpz_set_si(m, -1);
    CHECK_ERR(ppml_paillier_encrypt(pk, c, m), PPML_ERANGE);
    /* signed values */
    int64_t vals[] = {0, 1, -1, 42, -42, INT64_MAX, INT64_MIN, INT64_MIN + 1, (int64_t)1 << 40};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        int64_t out = 7;
        CHECK_OK(ppml_paillier_encrypt_i64(pk, c, vals[i]));
        CHECK_OK(ppml_paillier_decrypt_i64(sk, &out, c));
        CHECK(out == vals[i]);
    }
    /* centred value that does not fit int64 */
    mpz_set_ui(m, 1);
    mpz_mul_2exp(m, m, 100);
    CHECK_OK(ppml_paillier_encrypt(pk, c, m));
    int64_t big = 3;
    CHECK_ERR(ppml_paillier_decrypt_i64(sk, &big, c), PPML_ERANGE);
    CHECK(big == 3);
    /* invalid ciphertexts: 0, N^2, a multiple of p */
    mpz_set_ui(c, 0);
    mpz_set_ui(d, 99);
    CHECK_ERR(ppml_paillier_decrypt(sk, d, c), PPML_ERANGE);
    CHECK_ERR(ppml_paillier_decrypt_naive(sk, d, c), PPML_ERANGE);
    CHECK_ERR(ppml_paillier_ct_check(pk, c), PPML_ERANGE);
    mpz_set(c, ppml_paillier_pk_n2(pk));
    CHECK_ERR(ppml_paillier_decrypt(sk, d, c), PPML_ERANGE);
    CHECK_ERR(ppml_paillier_ct_check(pk, c), PPML_ERANGE);
    mpz_mul_ui(c, sk->p, 3);
    CHECK_ERR(ppml_paillier_decrypt(sk, d, c), PPML_ECRYPTO);
    CHECK_ERR(ppml_paillier_decrypt_naive(sk, d, c), PPML_ECRYPTO);
    CHECK_ERR(ppml_paillier_ct_check(pk, c), PPML_ECRYPTO);
    mpz_set(c, sk->q);
    CHECK_ERR(ppml_paillier_decrypt(sk, d, c), PPML_ECRYPTO);
    CHECK(mpz_cmp_ui(d, 99) == 0); /* untouched on failure */
    /* fresh randomness: two encryptions of the same value differ */
    mpz_set_ui(m, 5);
    CHECK_OK(ppml_paillier_encrypt(pk, c, m));
    CHECK_OK(ppml_paillier_encrypt(pk, d, m));
    CHECK(mpz_cmp(c, d) != 0);
    /* given randomness: naive and CRT agree exactly */
    ppml_rand_mpz_unit(r, n);
    CHECK_OK(ppmli_paillier_encrypt_r(pk, c, m, r));
    CHECK_OK(ppmli_paillier_encrypt_crt_r(sk, d, m, r));
    CHECK(mpz_cmp(c, d) == 0);
    /* DJN with given a equals the textbook form with r^N := h_N^a */
    ppml_rand_mpz_bits(r, (ppml_paillier_pk_bits(pk) + 1) / 2);
    CHECK_OK(ppmli_paillier_encrypt_djn_a(pk, c, m, r));
    mpz_powm(d, ppml_paillier_pk_hn(pk), r, ppml_paillier_pk_n2(pk));
    ppmli_paillier_mul_gm(pk, d, d, m);
    CHECK(mpz_cmp(c, d) == 0);
    ppmli_comb_force_generic(1); /* the portable table selection gives the same result */
    CHECK_OK(ppmli_paillier_encrypt_djn_a(pk, d, m, r));
    ppmli_comb_force_generic(0);
    CHECK(mpz_cmp(c, d) == 0);
    /* DJN by CRT with the same a: the same ciphertext */
    CHECK_OK(ppmli_paillier_encrypt_djn_crt_a(sk, d, m, r));
    CHECK(mpz_cmp(c, d) == 0);
    mpz_setbit(r, ppml_paillier_pk_bits(pk) / 2 + 1); /* too wide */
    CHECK_ERR(ppmli_paillier_encrypt_djn_crt_a(sk, d, m, r), PPML_ERANGE);
    mpz_set_ui(r, 0);
    CHECK_OK(ppmli_paillier_encrypt_djn_crt_a(sk, d, m, r)); /* a = 0: (1 + mN) */
    CHECK(mpz_cmp_ui(d, 0) > 0 && mpz_cmp(d, ppml_paillier_pk_n2(pk)) < 0);
    mpz_set_ui(r, 0);
    CHECK_OK(ppmli_paillier_encrypt_djn_a(pk, c, m, r)); /* a = 0: (1 + mN) */
    mpz_mul(d, m, n);
    mpz_add_ui(d, d, 1);
    CHECK(mpz_cmp(c, d) == 0);
    mpz_setbit(r, ppml_paillier_pk_bits(pk)); /* too wide */
    CHECK_ERR(ppmli_paillier_encrypt_djn_a(pk, c, m, r), PPML_ERANGE);
    mpz_clears(m, c, d, r, NULL);
}

/* ---------- homomorphic operations ---------- */

static void dec_eq(const ppml_paillier_sk *sk, const mpz_t c, const mpz_t want)
{
    mpz_t d;
    mpz_init(d);
    CHECK_OK(ppml_paillier_decrypt(sk, d, c));
    CHECK(mpz_cmp(d, want) == 0);
    mpz_clear(d);
}

static void test_homomorphic(const ppml_paillier_sk *sk, int rounds)
{
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    mpz_srcptr n = ppml_paillier_pk_n(pk);
    mpz_t a, b, ca, cb, c, want, k;
    mpz_inits(a, b, ca, cb, c, want, k, NULL);
    for (int i = 0; i < rounds; i++) {
        ppml_rand_mpz_below(a, n);
        ppml_rand_mpz_below(b, n);
        if (i == 0)
            mpz_sub_ui(a, n, 1); /* wrap-around case */
        CHECK_OK(ppml_paillier_encrypt(pk, ca, a));
        CHECK_OK(ppml_paillier_encrypt(pk, cb, b));
        ppml_paillier_add(pk, c, ca, cb);
        mpz_add(want, a, b);
        mpz_mod(want, want, n);
        dec_eq(sk, c, want);
        ppml_paillier_sub(pk, c, ca, cb);
        mpz_sub(want, a, b);
        mpz_mod(want, want, n);
        dec_eq(sk, c, want);
        ppml_paillier_neg(pk, c, ca);
        mpz_neg(want, a);
        mpz_mod(want, want, n);
        dec_eq(sk, c, want);
        ppml_paillier_add_plain(pk, c, ca, b);
        mpz_add(want, a, b);
        mpz_mod(want, want, n);
        dec_eq(sk, c, want);
        mpz_set_si(k, -7); /* add_plain reduces m mod N */
        ppml_paillier_add_plain(pk, c, ca, k);
        mpz_sub_ui(want, a, 7);
        mpz_mod(want, want, n);
        dec_eq(sk, c, want);
        int64_t ks[] = {0, 1, -1, 2, -3, (int64_t)ppml_rand_u64(), INT64_MAX, INT64_MIN};
        for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
            ppml_paillier_mul_i64(pk, c, ca, ks[j]);
            mpz_set_si(k, ks[j]);
            mpz_mul(want, a, k);
            mpz_mod(want, want, n);
            dec_eq(sk, c, want);
        }
        ppml_rand_mpz_below(k, n);
        ppml_paillier_mul(pk, c, ca, k);
        mpz_mul(want, a, k);
        mpz_mod(want, want, n);
        dec_eq(sk, c, want);
        mpz_neg(k, k); /* negative full-size scalar */
        mpz_mul_2exp(k, k, 3);
        ppml_paillier_mul(pk, c, ca, k);
        mpz_mul(want, a, k);
        mpz_mod(want, want, n);
        dec_eq(sk, c, want);
        ppml_paillier_rerandomize(pk, c, ca);
        CHECK(mpz_cmp(c, ca) != 0);
        dec_eq(sk, c, a);
        /* aliasing: outputs may be inputs */
        mpz_set(c, ca);
        ppml_paillier_add(pk, c, c, cb);
        ppml_paillier_sub(pk, c, c, cb);
        ppml_paillier_mul_i64(pk, c, c, 3);
        ppml_paillier_neg(pk, c, c);
        ppml_paillier_rerandomize(pk, c, c);
        mpz_mul_si(want, a, -3);
        mpz_mod(want, want, n);
        dec_eq(sk, c, want);
    }
    mpz_clears(a, b, ca, cb, c, want, k, NULL);
}

/* ---------- batches ---------- */

/* Full-size keys through the batched forms (N^2 of 4096 / 6144 bits: the multi-buffer
 * contexts' largest sizes): nine values round trip, by both encryption forms. */
static void test_many_full(const ppml_paillier_sk *sk)
{
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    mpz_t m[9], c[9], d[9];
    for (int i = 0; i < 9; i++) {
        mpz_inits(m[i], c[i], d[i], NULL);
        if (i == 0)
            mpz_sub_ui(m[i], ppml_paillier_pk_n(pk), 1);
        else
            ppml_rand_mpz_below(m[i], ppml_paillier_pk_n(pk));
    }
    for (int form = 0; form < 2; form++) {
        CHECK_OK(form ? ppmli_paillier_encrypt_sk_many(sk, c, (const mpz_t *)m, 9)
                      : ppmli_paillier_encrypt_many(pk, c, (const mpz_t *)m, 9));
        CHECK_OK(ppmli_paillier_decrypt_many(sk, d, (const mpz_t *)c, 9));
        for (int i = 0; i < 9; i++) {
            CHECK(mpz_cmp(d[i], m[i]) == 0);
            CHECK_OK(ppml_paillier_decrypt(sk, d[i], c[i]));
            CHECK(mpz_cmp(d[i], m[i]) == 0);
        }
    }
    for (int i = 0; i < 9; i++)
        mpz_clears(m[i], c[i], d[i], NULL);
}

/* The batched internal forms (many.c) against the one-element forms, for counts around the
 * eight-lane pass (0, 1, 2, 7, 8, 9, 17), with a fresh key so that its multi-buffer tables
 * are built with whichever kernel the caller selected; all-or-nothing on bad input. */
static void test_many(unsigned bits, const char *label)
{
    ppml_paillier_sk *sk = NULL;
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&sk, bits));
    if (!sk)
        return;
    printf("test_paillier: batched forms, %u bits, %s (multi-buffer path %s)\n", bits, label,
           ppmli_mb_enabled() ? "on" : "off");
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    enum { NMAX = 17 };
    static const size_t counts[] = {0, 1, 2, 7, 8, 9, 17};
    mpz_t m[NMAX], c[NMAX], c2[NMAX], d[NMAX];
    for (int i = 0; i < NMAX; i++) {
        mpz_inits(m[i], c[i], c2[i], d[i], NULL);
        if (i == 0)
            mpz_set_ui(m[i], 0);
        else if (i == 1)
            mpz_sub_ui(m[i], ppml_paillier_pk_n(pk), 1);
        else
            ppml_rand_mpz_below(m[i], ppml_paillier_pk_n(pk));
    }
    for (size_t t = 0; t < sizeof counts / sizeof *counts; t++) {
        size_t n = counts[t];
        CHECK_OK(ppmli_paillier_encrypt_many(pk, c, (const mpz_t *)m, n));
        CHECK_OK(ppmli_paillier_decrypt_many(sk, d, (const mpz_t *)c, n));
        for (size_t i = 0; i < n; i++) {
            CHECK(mpz_cmp(d[i], m[i]) == 0);
            CHECK_OK(ppml_paillier_decrypt(sk, d[i], c[i]));
            CHECK(mpz_cmp(d[i], m[i]) == 0);
        }
        CHECK_OK(ppmli_paillier_encrypt_sk_many(sk, c2, (const mpz_t *)m, n));
        CHECK_OK(ppmli_paillier_rerandomize_many(pk, c, (const mpz_t *)c, n)); /* in place */
        CHECK_OK(ppmli_paillier_decrypt_many(sk, d, (const mpz_t *)c2, n));
        for (size_t i = 0; i < n; i++)
            CHECK(mpz_cmp(d[i], m[i]) == 0);
        CHECK_OK(ppmli_paillier_decrypt_many(sk, d, (const mpz_t *)c, n));
        for (size_t i = 0; i < n; i++) {
            CHECK(mpz_cmp(d[i], m[i]) == 0);
            CHECK(mpz_cmp(c[i], c2[i]) != 0); /* fresh randomness */
        }
    }
    /* scalar multiplication: k = 0, +-1, small, negative, full-size */
    {
        mpz_t k, want;
        mpz_inits(k, want, NULL);
        CHECK_OK(ppmli_paillier_encrypt_many(pk, c, (const mpz_t *)m, NMAX));
        for (int r = 0; r < 6; r++) {
            switch (r) {
            case 0: mpz_set_ui(k, 0); break;
            case 1: mpz_set_si(k, -1); break;
            case 2: mpz_set_ui(k, 12345); break;
            case 3: mpz_set_si(k, -987654321); break;
            case 4: mpz_sub_ui(k, ppml_paillier_pk_n(pk), 1); break;
            default: ppml_rand_mpz_below(k, ppml_paillier_pk_n(pk)); mpz_neg(k, k); break;
            }
            size_t n = r % 2 ? NMAX : 9;
            CHECK_OK(ppml_paillier_mul_batch(pk, c2, (const mpz_t *)c, k, n));
            CHECK_OK(ppmli_paillier_decrypt_many(sk, d, (const mpz_t *)c2, n));
            for (size_t i = 0; i < n; i++) {
                mpz_mul(want, m[i], k);
                mpz_mod(want, want, ppml_paillier_pk_n(pk));
                CHECK(mpz_cmp(d[i], want) == 0);
            }
        }
        mpz_set(c2[0], c[0]);
        CHECK_OK(ppml_paillier_mul_batch(pk, c, (const mpz_t *)c, k, 3)); /* in place */
        CHECK(mpz_cmp(c2[0], c[0]) != 0);
        mpz_set(k, ppml_paillier_pk_n(pk));
        CHECK_ERR(ppml_paillier_mul_batch(pk, c2, (const mpz_t *)c, k, 3), PPML_ERANGE);
        mpz_neg(k, k);
        CHECK_ERR(ppml_paillier_mul_batch(pk, c2, (const mpz_t *)c, k, 3), PPML_ERANGE);
        mpz_clears(k, want, NULL);
    }
    /* bad input anywhere: an error, and no output changed */
    for (int i = 0; i < 9; i++)
        mpz_set(c2[i], c[i]);
    mpz_set(m[8], ppml_paillier_pk_n(pk));
    CHECK_ERR(ppmli_paillier_encrypt_many(pk, c, (const mpz_t *)m, 9), PPML_ERANGE);
    CHECK_ERR(ppmli_paillier_encrypt_sk_many(sk, c, (const mpz_t *)m, 9), PPML_ERANGE);
    for (int i = 0; i < 9; i++)
        CHECK(mpz_cmp(c2[i], c[i]) == 0);
    mpz_set_ui(m[8], 1);
    for (int i = 0; i < 9; i++)
        mpz_set(d[i], m[i]);
    mpz_set(c[5], sk->p); /* gcd(c, N) = p */
    CHECK_ERR(ppmli_paillier_decrypt_many(sk, d, (const mpz_t *)c, 9), PPML_ECRYPTO);
    mpz_set(c[5], ppml_paillier_pk_n2(pk));
    CHECK_ERR(ppmli_paillier_decrypt_many(sk, d, (const mpz_t *)c, 9), PPML_ERANGE);
    for (int i = 0; i < 9; i++)
        CHECK(mpz_cmp(d[i], m[i]) == 0);
    for (int i = 0; i < NMAX; i++)
        mpz_clears(m[i], c[i], c2[i], d[i], NULL);
    ppml_paillier_sk_free(sk);
}

static void test_batch(const ppml_paillier_sk *sk)
{
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    enum { NB = 37 };
    mpz_t ms[NB], cts[NB], out[NB];
    for (int i = 0; i < NB; i++) {
        mpz_inits(ms[i], cts[i], out[i], NULL);
        ppml_rand_mpz_below(ms[i], ppml_paillier_pk_n(pk));
    }
    for (unsigned threads = 0; threads <= 3; threads++) {
        CHECK_OK(ppml_paillier_encrypt_batch(pk, cts, (const mpz_t *)ms, NB, threads));
        CHECK_OK(ppml_paillier_decrypt_batch(sk, out, (const mpz_t *)cts, NB, threads));
        int same = 1;
        for (int i = 0; i < NB; i++)
            same &= mpz_cmp(out[i], ms[i]) == 0;
        CHECK(same);
    }
    /* one bad element: error, outputs untouched */
    mpz_set(ms[NB - 1], ppml_paillier_pk_n(pk));
    mpz_set_ui(out[0], 77);
    CHECK_ERR(ppml_paillier_encrypt_batch(pk, out, (const mpz_t *)ms, NB, 2), PPML_ERANGE);
    CHECK(mpz_cmp_ui(out[0], 77) == 0);
    mpz_set_ui(cts[5], 0);
    CHECK_ERR(ppml_paillier_decrypt_batch(sk, out, (const mpz_t *)cts, NB, 2), PPML_ERANGE);
    CHECK(mpz_cmp_ui(out[0], 77) == 0);
    CHECK_OK(ppml_paillier_encrypt_batch(pk, NULL, NULL, 0, 1));
    for (int i = 0; i < NB; i++)
        mpz_clears(ms[i], cts[i], out[i], NULL);
}

/* ---------- packing ---------- */

static void test_packing(const ppml_paillier_sk *sk)
{
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    unsigned bits = ppml_paillier_pk_bits(pk);
    CHECK(ppml_paillier_pack_capacity(pk, 10) == (bits - 2) / 10);
    CHECK(ppml_paillier_pack_capacity(pk, 0) == 0);
    unsigned w = 50;
    size_t cap = ppml_paillier_pack_capacity(pk, w);
    mpz_t *cts = malloc((cap + 1) * sizeof *cts), *slots = malloc((cap + 1) * sizeof *slots);
    mpz_t *vals = malloc((cap + 1) * sizeof *vals);
    mpz_t packed, m;
    mpz_inits(packed, m, NULL);
    for (size_t i = 0; i <= cap; i++) {
        mpz_inits(cts[i], slots[i], vals[i], NULL);
        ppml_rand_mpz_bits(vals[i], w);
        if (i == 0)
            mpz_set_ui(vals[i], 0);
        if (i == 1) { /* extreme slot value 2^w - 1 */
            mpz_set_ui(vals[i], 0);
            mpz_setbit(vals[i], w);
            mpz_sub_ui(vals[i], vals[i], 1);
        }
        CHECK_OK(ppml_paillier_encrypt(pk, cts[i], vals[i]));
    }
    CHECK_OK(ppml_paillier_pack_ct(pk, packed, (const mpz_t *)cts, cap, w));
    CHECK_OK(ppml_paillier_decrypt(sk, m, packed));
    CHECK_OK(ppml_paillier_unpack(slots, cap, m, w));
    for (size_t i = 0; i < cap; i++)
        CHECK(mpz_cmp(slots[i], vals[i]) == 0);
    CHECK_ERR(ppml_paillier_pack_ct(pk, packed, (const mpz_t *)cts, cap + 1, w), PPML_ERANGE);
    CHECK_ERR(ppml_paillier_pack_ct(pk, packed, (const mpz_t *)cts, 0, w), PPML_ERANGE);
    /* fewer slots than m holds: overflow detected */
    mpz_set_ui(m, 0);
    mpz_setbit(m, 3 * w);
    CHECK_ERR(ppml_paillier_unpack(slots, 3, m, w), PPML_ERANGE);
    CHECK_OK(ppml_paillier_unpack(slots, 4, m, w));
    CHECK(mpz_cmp_ui(slots[3], 1) == 0 && mpz_sgn(slots[0]) == 0);
    for (size_t i = 0; i <= cap; i++)
        mpz_clears(cts[i], slots[i], vals[i], NULL);
    free(cts);
    free(slots);
    free(vals);
    mpz_clears(packed, m, NULL);

    /* signed packed encryption */
    unsigned vbs[] = {2, 8, 17, 32, 63, 64};
    for (size_t t = 0; t < sizeof vbs / sizeof vbs[0]; t++) {
        unsigned vb = vbs[t];
        size_t pcap = ppml_paillier_pack_capacity(pk, vb + 1);
        size_t count = 2 * pcap + 3;
        size_t nct = ppml_paillier_packed_count(pk, count, vb);
        CHECK(nct == 3);
        int64_t *v = malloc(count * sizeof *v), *out = malloc(count * sizeof *out);
        mpz_t *p1 = malloc(nct * sizeof *p1), *p2 = malloc(nct * sizeof *p2);
        int64_t lim = vb >= 64 ? INT64_MAX : (((int64_t)1 << (vb - 1)) - 1);
        for (size_t i = 0; i < count; i++) {
            uint64_t u = ppml_rand_u64();
            v[i] = (int64_t)(u % ((uint64_t)lim + 1)) * ((u >> 63) ? -1 : 1);
        }
        v[0] = lim;
        v[1] = -lim;
        v[2] = 0;
        v[count - 1] = -lim;
        for (size_t i = 0; i < nct; i++)
            mpz_inits(p1[i], p2[i], NULL);
        CHECK_OK(ppml_paillier_encrypt_packed(pk, p1, v, count, vb));
        CHECK_OK(ppml_paillier_decrypt_packed(sk, out, count, (const mpz_t *)p1, vb));
        int same = 1;
        for (size_t i = 0; i < count; i++)
            same &= out[i] == v[i];
        CHECK(same);
        /* one homomorphic addition fits: slots hold v + v + 2*offset */
        if (vb < 63) {
            for (size_t i = 0; i < nct; i++)
                ppml_paillier_add(pk, p2[i], p1[i], p1[i]);
            CHECK_OK(ppml_paillier_decrypt_packed(sk, out, count, (const mpz_t *)p2, vb));
            same = 1;
            for (size_t i = 0; i < count; i++)
                same &= out[i] - ((int64_t)1 << (vb - 1)) == 2 * v[i];
            CHECK(same);
        }
        /* out of range value refused, outputs untouched */
        int64_t keep = out[0];
        if (vb < 64) {
            v[5] = lim + 1;
            CHECK_ERR(ppml_paillier_encrypt_packed(pk, p2, v, count, vb), PPML_ERANGE);
        }
        v[5] = INT64_MIN;
        CHECK_ERR(ppml_paillier_encrypt_packed(pk, p2, v, count, vb), PPML_ERANGE);
        CHECK(out[0] == keep);
        for (size_t i = 0; i < nct; i++)
            mpz_clears(p1[i], p2[i], NULL);
        free(v);
        free(out);
        free(p1);
        free(p2);
    }
    int64_t one = 1;
    mpz_t x;
    mpz_init(x);
    CHECK_ERR(ppml_paillier_encrypt_packed(pk, &x, &one, 1, 1), PPML_EINVAL);
    CHECK_ERR(ppml_paillier_encrypt_packed(pk, &x, &one, 1, 65), PPML_EINVAL);
    CHECK(ppml_paillier_packed_count(pk, 10, 65) == 0);
    mpz_clear(x);
}

/* ---------- serialization ---------- */

static void flip(uint8_t *b, size_t i, int bit) { b[i] ^= (uint8_t)(1u << bit); }

static void test_serial(const ppml_paillier_sk *sk)
{
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    uint8_t *buf = NULL, *sbuf = NULL, *cbuf = NULL;
    size_t len = 0, slen = 0, clen = 0;
    ppml_paillier_pk *pk2 = NULL;
    ppml_paillier_sk *sk2 = NULL;

    CHECK_OK(ppml_paillier_pk_save(pk, &buf, &len));
    CHECK_OK(ppml_paillier_pk_load(&pk2, buf, len));
    CHECK(pk2 && mpz_cmp(ppml_paillier_pk_n(pk2), ppml_paillier_pk_n(pk)) == 0);
    CHECK(pk2 && mpz_cmp(ppml_paillier_pk_hn(pk2), ppml_paillier_pk_hn(pk)) == 0);
    CHECK(pk2 && memcmp(ppml_paillier_pk_id(pk2), ppml_paillier_pk_id(pk), 32) == 0);
    CHECK(ppml_paillier_pk_equal(pk, pk2));
    /* load . save = id on bytes */
    uint8_t *buf2 = NULL;
    size_t len2 = 0;
    CHECK_OK(ppml_paillier_pk_save(pk2, &buf2, &len2));
    CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
    free(buf2);
    ppml_paillier_pk_free(pk2);
    pk2 = NULL;

    CHECK_OK(ppml_paillier_sk_save(sk, &sbuf, &slen));
    CHECK_OK(ppml_paillier_sk_load(&sk2, sbuf, slen));
    mpz_t m, c, d;
    mpz_inits(m, c, d, NULL);
    ppml_rand_mpz_below(m, ppml_paillier_pk_n(pk));
    CHECK_OK(ppml_paillier_encrypt(pk, c, m));
    if (sk2) {
        CHECK_OK(ppml_paillier_decrypt(sk2, d, c));
        CHECK(mpz_cmp(d, m) == 0);
        CHECK(mpz_cmp(sk2->p, sk->p) == 0 && mpz_cmp(sk2->q, sk->q) == 0);
        /* the reloaded key's pk encrypts for the original sk */
        CHECK_OK(ppml_paillier_encrypt(ppml_paillier_sk_pk(sk2), c, m));
        CHECK_OK(ppml_paillier_decrypt(sk, d, c));
        CHECK(mpz_cmp(d, m) == 0);
    }
    ppml_paillier_sk_free(sk2);
    sk2 = NULL;

    /* ctvec round trip */
    enum { NCT = 5 };
    mpz_t cts[NCT], vals[NCT];
    for (int i = 0; i < NCT; i++) {
        mpz_inits(cts[i], vals[i], NULL);
        ppml_rand_mpz_below(vals[i], ppml_paillier_pk_n(pk));
        CHECK_OK(ppml_paillier_encrypt(pk, cts[i], vals[i]));
    }
    mpz_set_ui(vals[0], 0); /* a small ciphertext value exercises the zero padding */
    mpz_set_ui(cts[0], 1);
    CHECK_OK(ppml_paillier_ctvec_save(pk, (const mpz_t *)cts, NCT, &cbuf, &clen));
    mpz_t *lc = NULL;
    size_t lcount = 0;
    CHECK_OK(ppml_paillier_ctvec_load(pk, &lc, &lcount, cbuf, clen));
    CHECK(lcount == NCT);
    for (size_t i = 0; lc && i < lcount && i < NCT; i++)
        CHECK(mpz_cmp(lc[i], cts[i]) == 0);
    ppml_paillier_ctvec_free(lc, lcount);
    lc = NULL;
    /* empty vector */
    uint8_t *ebuf = NULL;
    size_t elen = 0;
    CHECK_OK(ppml_paillier_ctvec_save(pk, NULL, 0, &ebuf, &elen));
    CHECK_OK(ppml_paillier_ctvec_load(pk, &lc, &lcount, ebuf, elen));
    CHECK(lcount == 0);
    ppml_paillier_ctvec_free(lc, lcount);
    lc = NULL;
    free(ebuf);

    /* truncation: every prefix of pk and ctvec, sampled prefixes of sk */
    for (size_t cut = 0; cut < len; cut++)
        CHECK_FAILS(ppml_paillier_pk_load(&pk2, buf, cut));
    for (size_t cut = 0; cut < slen; cut += 1 + slen / (test_sanitized() ? 8 : 40))
        CHECK_FAILS(ppml_paillier_sk_load(&sk2, sbuf, cut));
    for (size_t cut = 0; cut < clen; cut += 1 + clen / 64)
        CHECK_FAILS(ppml_paillier_ctvec_load(pk, &lc, &lcount, cbuf, cut));
    /* trailing garbage */
    uint8_t *big = malloc(len + 1);
    memcpy(big, buf, len);
    big[len] = 0;
    CHECK_FAILS(ppml_paillier_pk_load(&pk2, big, len + 1));
    free(big);

    /* bit flips: header and N of pk (h_N is not authenticated by the id: see header);
     * anywhere in sk (p*q = N and the h_N residue check catch the body). */
    size_t n_end = PPML_HEADER_LEN + 4 + (mpz_sizeinbase(ppml_paillier_pk_n(pk), 2) + 7) / 8;
    for (size_t i = 0; i < n_end; i++) {
        flip(buf, i, (int)(i % 8));
        CHECK_FAILS(ppml_paillier_pk_load(&pk2, buf, len));
        flip(buf, i, (int)(i % 8));
    }
    size_t step = test_sanitized() ? 7 : 1;
    for (size_t i = 0; i < slen; i += step) {
        flip(sbuf, i, (int)(i % 8));
        CHECK_FAILS(ppml_paillier_sk_load(&sk2, sbuf, slen));
        flip(sbuf, i, (int)(i % 8));
    }
    for (size_t i = 0; i < PPML_HEADER_LEN + 12; i++) {
        flip(cbuf, i, (int)(i % 8));
        CHECK_FAILS(ppml_paillier_ctvec_load(pk, &lc, &lcount, cbuf, clen));
        flip(cbuf, i, (int)(i % 8));
    }
    CHECK(pk2 == NULL && sk2 == NULL && lc == NULL);

    /* a replaced h_N = +-(1+N)^k (makes h_N^a = (1+N)^(ka): readable ciphertexts) is refused */
    {
        mpz_t h;
        mpz_init(h);
        for (int sign = 0; sign < 2; sign++) {
            mpz_add_ui(h, pk->n, 1);
            mpz_powm_ui(h, h, 12345, pk->n2);
            if (sign)
                mpz_sub(h, pk->n2, h);
            ppml_paillier_pk *bad = NULL;
            uint8_t *bb = NULL;
            size_t bl = 0;
            CHECK_OK(ppmli_paillier_pk_make(&bad, pk->n, h));
            CHECK_OK(ppml_paillier_pk_save(bad, &bb, &bl));
            CHECK_ERR(ppml_paillier_pk_load(&pk2, bb, bl), PPML_ERANGE);
            free(bb);
            ppml_paillier_pk_free(bad);
        }
        mpz_clear(h);
    }

    /* wrong version, wrong type */
    buf[6] = 2;
    CHECK_ERR(ppml_paillier_pk_load(&pk2, buf, len), PPML_EVERSION);
    buf[6] = 1;
    CHECK_ERR(ppml_paillier_sk_load(&sk2, buf, len), PPML_EFORMAT);
    CHECK_ERR(ppml_paillier_pk_load(&pk2, sbuf, slen), PPML_EFORMAT);
    CHECK_FAILS(ppml_paillier_ctvec_load(pk, &lc, &lcount, buf, len));
    CHECK_FAILS(ppml_paillier_pk_load(&pk2, cbuf, clen));

    /* ctvec under another key: id mismatch */
    ppml_paillier_sk *other = NULL;
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&other, 512));
    if (other)
        CHECK_ERR(ppml_paillier_ctvec_load(ppml_paillier_sk_pk(other), &lc, &lcount, cbuf, clen), PPML_EMISMATCH);

    /* out-of-range ciphertexts: c = 0, c >= N^2, gcd(c, N) != 1 */
    mpz_t bad[1];
    mpz_init(bad[0]);
    uint8_t *bb = NULL;
    size_t bl = 0;
    for (int kind = 0; kind < 4; kind++) {
        if (kind == 0)
            mpz_set_ui(bad[0], 0);
        else if (kind == 1)
            mpz_set(bad[0], ppml_paillier_pk_n2(pk));
        else if (kind == 2)
            mpz_set(bad[0], sk->p);
        else
            mpz_mul(bad[0], ppml_paillier_pk_n(pk), sk->q);
        CHECK_OK(ppml_paillier_ctvec_save(pk, (const mpz_t *)bad, 1, &bb, &bl));
        CHECK_FAILS(ppml_paillier_ctvec_load(pk, &lc, &lcount, bb, bl));
        free(bb);
        bb = NULL;
    }
    mpz_clear(bad[0]);

    /* sk with p*q != N, and with a non-residue h_N; pk with even N; small N refused when the
     * test switch is off */
    ppml_writer w;
    for (int kind = 0; kind < 3; kind++) {
        ppml_writer_init(&w);
        ppml_write_header(&w, kind == 2 ? PPML_T_PAILLIER_PK : PPML_T_PAILLIER_SK, 0, ppml_paillier_pk_id(pk));
        if (kind == 2) {
            mpz_add_ui(m, ppml_paillier_pk_n(pk), 1);
            ppml_write_mpz(&w, m);
        } else {
            ppml_write_mpz(&w, ppml_paillier_pk_n(pk));
        }
        if (kind == 1) {
            mpz_add_ui(m, ppml_paillier_pk_n(pk), 2); /* 1 + 2N-ish: not an N-th residue */
            ppml_write_mpz(&w, m);
        } else {
            ppml_write_mpz(&w, ppml_paillier_pk_hn(pk));
        }
        if (kind < 2) {
            ppml_write_mpz(&w, sk->p);
            mpz_add_ui(m, sk->q, kind == 0 ? 2 : 0);
            ppml_write_mpz(&w, m);
        }
        CHECK_OK(ppml_writer_finish(&w, 0));
        if (kind == 0)
            CHECK_ERR(ppml_paillier_sk_load(&sk2, w.data, w.len), PPML_EMISMATCH);
        else if (kind == 1)
            CHECK_ERR(ppml_paillier_sk_load(&sk2, w.data, w.len), PPML_ECRYPTO);
        else
            CHECK_FAILS(ppml_paillier_pk_load(&pk2, w.data, w.len));
        ppml_writer_clear(&w);
    }
    ppml_paillier_allow_insecure_test_keys(0);
    CHECK_ERR(ppml_paillier_pk_load(&pk2, buf, len), PPML_EWEAK);
    CHECK_ERR(ppml_paillier_sk_load(&sk2, sbuf, slen), PPML_EWEAK);
    CHECK_ERR(ppml_paillier_pk_from_n(&pk2, ppml_paillier_pk_n(pk)), PPML_EWEAK);
    ppml_paillier_allow_insecure_test_keys(1);
    CHECK(pk2 == NULL && sk2 == NULL);

    /* encrypted matrix */
    ppml_paillier_matrix mat = {.rows = 1, .cols = NCT, .frac_bits = 16, .value_bits = 0};
    char *names[NCT] = {"a", "b", "c,d", "", "e"};
    mat.names = names;
    mat.cts = cts;
    mat.count = NCT;
    uint8_t *mb = NULL;
    size_t ml = 0;
    CHECK_OK(ppml_paillier_matrix_save(pk, &mat, &mb, &ml));
    ppml_paillier_matrix *lm = NULL;
    CHECK_OK(ppml_paillier_matrix_load(pk, &lm, mb, ml));
    if (lm) {
        CHECK(lm->rows == 1 && lm->cols == NCT && lm->frac_bits == 16 && lm->value_bits == 0);
        CHECK(lm->count == NCT && lm->names && !strcmp(lm->names[2], "c,d") && !strcmp(lm->names[3], ""));
        for (size_t i = 0; i < NCT; i++)
            CHECK(mpz_cmp(lm->cts[i], cts[i]) == 0);
    }
    ppml_paillier_matrix_free(lm);
    lm = NULL;
    for (size_t cut = 0; cut < ml; cut += 1 + ml / 50)
        CHECK_FAILS(ppml_paillier_matrix_load(pk, &lm, mb, cut));
    mb[PPML_HEADER_LEN] ^= 1; /* rows = 0: count mismatch */
    CHECK_FAILS(ppml_paillier_matrix_load(pk, &lm, mb, ml));
    CHECK(lm == NULL);
    free(mb);
    mat.count = NCT - 1;
    CHECK_ERR(ppml_paillier_matrix_save(pk, &mat, &mb, &ml), PPML_EINVAL);
    mat.count = NCT;
    names[1] = "bad\nname";
    CHECK_ERR(ppml_paillier_matrix_save(pk, &mat, &mb, &ml), PPML_EINVAL);

    for (int i = 0; i < NCT; i++)
        mpz_clears(cts[i], vals[i], NULL);
    ppml_paillier_sk_free(other);
    mpz_clears(m, c, d, NULL);
    free(buf);
    free(sbuf);
    free(cbuf);
}

/* ---------- JSON interop ---------- */

/* Replace every "%s" in tmpl with val (templates are data here, not format strings). */
static void subst(char *out, size_t cap, const char *tmpl, const char *val)
{
    size_t o = 0, vl = strlen(val);
    for (const char *t = tmpl; *t && o + 1 < cap; t++) {
        if (t[0] == '%' && t[1] == 's') {
            size_t k = vl < cap - 1 - o ? vl : cap - 1 - o;
            memcpy(out + o, val, k);
            o += k;
            t++;
        } else {
            out[o++] = *t;
        }
    }
    out[o] = 0;
}


static void test_json(const ppml_paillier_sk *sk)
{
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    char *js = NULL;
    ppml_paillier_pk *pk2 = NULL;
    ppml_paillier_sk *sk2 = NULL;
    CHECK_OK(ppml_paillier_pk_to_jwk(pk, &js));
    CHECK(js && strstr(js, "\"kty\": \"DAJ\"") && strstr(js, "\"alg\": \"PAI-GN1\"") &&
          strstr(js, "\"encrypt\""));
    CHECK_OK(ppml_paillier_pk_from_jwk(&pk2, js, strlen(js)));
    CHECK(pk2 && ppml_paillier_pk_equal(pk, pk2));
    free(js);
    js = NULL;

    CHECK_OK(ppml_paillier_sk_to_jwk(sk, &js));
    CHECK(js && strstr(js, "\"lambda\"") && strstr(js, "\"mu\"") && strstr(js, "\"pub\"") &&
          strstr(js, "\"p\"") && strstr(js, "\"decrypt\""));
    CHECK_OK(ppml_paillier_sk_from_jwk(&sk2, js, strlen(js)));
    CHECK(sk2 && mpz_cmp(sk2->p, sk->p) == 0 && mpz_cmp(sk2->q, sk->q) == 0);
    ppml_paillier_sk_free(sk2);
    sk2 = NULL;
    free(js);
    js = NULL;

    /* ciphertext vector with exponents, read back with and without the key */
    enum { NV = 4 };
    mpz_t cts[NV];
    int exps[NV] = {0, -4, -13, 3};
    int64_t vals[NV] = {0, -1, 123456789, -987654321};
    for (int i = 0; i < NV; i++) {
        mpz_init(cts[i]);
        CHECK_OK(ppml_paillier_encrypt_i64(pk, cts[i], vals[i]));
    }
    char *cj = NULL;
    CHECK_OK(ppml_paillier_ctvec_to_json(pk, (const mpz_t *)cts, exps, NV, &cj));
    mpz_t *lc = NULL;
    int *le = NULL;
    size_t ln = 0;
    ppml_paillier_pk *emb = NULL;
    for (int with_pk = 0; with_pk < 2 && cj; with_pk++) {
        CHECK_OK(ppml_paillier_ctvec_from_json(with_pk ? pk : NULL, with_pk ? NULL : &emb, &lc, &le, &ln, cj,
                                               strlen(cj)));
        CHECK(ln == NV);
        CHECK(with_pk || (emb && ppml_paillier_pk_equal(emb, pk)));
        for (size_t i = 0; lc && i < ln; i++) {
            int64_t v;
            CHECK(mpz_cmp(lc[i], cts[i]) == 0 && le[i] == exps[i]);
            CHECK_OK(ppml_paillier_decrypt_i64(sk, &v, lc[i]));
            CHECK(v == vals[i]);
        }
        ppml_paillier_ctvec_free(lc, ln);
        free(le);
        lc = NULL;
        le = NULL;
    }
    ppml_paillier_pk_free(emb);
    emb = NULL;
    /* mismatched key */
    ppml_paillier_sk *other = NULL;
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&other, 256));
    if (other && cj)
        CHECK_ERR(ppml_paillier_ctvec_from_json(ppml_paillier_sk_pk(other), NULL, &lc, &le, &ln, cj, strlen(cj)),
                  PPML_EMISMATCH);
    /* truncations of valid documents never load */
    for (size_t cut = 0; cj && cut < strlen(cj); cut += 1 + strlen(cj) / 100)
        CHECK_FAILS(ppml_paillier_ctvec_from_json(pk, NULL, &lc, &le, &ln, cj, cut));
    free(cj);

    /* malformed documents */
    char *n_b64 = NULL;
    CHECK_OK(ppml_paillier_pk_to_jwk(pk, &n_b64));
    char nval[4096] = "";
    const char *p0 = n_b64 ? strstr(n_b64, "\"n\": \"") : NULL;
    if (p0) {
        p0 += 6;
        const char *p1 = strchr(p0, '"');
        snprintf(nval, sizeof nval, "%.*s", (int)(p1 - p0), p0);
    }
    free(n_b64);
    char doc[8192];
    const char *bad_pk[] = {
        "{\"kty\":\"RSA\",\"alg\":\"PAI-GN1\",\"n\":\"%s\"}",
        "{\"kty\":\"DAJ\",\"alg\":\"PAI-GN2\",\"n\":\"%s\"}",
        "{\"kty\":\"DAJ\",\"alg\":\"PAI-GN1\",\"key_ops\":[\"decrypt\"],\"n\":\"%s\"}",
        "{\"kty\":\"DAJ\",\"alg\":\"PAI-GN1\",\"key_ops\":\"encrypt\",\"n\":\"%s\"}",
        "{\"kty\":\"DAJ\",\"alg\":\"PAI-GN1\",\"n\":\"%s!\"}",
        "{\"kty\":\"DAJ\",\"alg\":\"PAI-GN1\",\"n\":\"AAE%s\"}", /* changes N: even or factors */
        "{\"kty\":\"DAJ\",\"alg\":\"PAI-GN1\",\"n\":12345%s}",
        "[\"kty\",\"DAJ\",\"%s\"]",
        "{\"kty\":\"DAJ\",\"alg\":\"PAI-GN1\",\"n\":\"%s\",\"n\":\"%s\"}",
        "{\"kty\":\"DAJ\",\"alg\":\"PAI-GN1\",\"n\":\"%s\"",
    };
    for (size_t i = 0; i < sizeof bad_pk / sizeof bad_pk[0]; i++) {
        subst(doc, sizeof doc, bad_pk[i], nval);
        CHECK_FAILS(ppml_paillier_pk_from_jwk(&pk2, doc, strlen(doc)));
    }
    const char *small = "{\"kty\":\"DAJ\",\"alg\":\"PAI-GN1\",\"n\":\"AQAB\"}"; /* n = 65537 */
    CHECK_ERR(ppml_paillier_pk_from_jwk(&emb, small, strlen(small)), PPML_EWEAK);
    const char *bad_ct[] = {
        "{\"public_key\":{\"g\":\"3\",\"n\":\"2\"},\"values\":[]}",
        "{\"public_key\":{\"n\":\"%s\"},\"values\":[]}", /* n not decimal */
        "{\"values\":[]}",
        "{\"public_key\":{},\"values\":[]}",
        "[]",
        "",
        "{\"public_key\":{\"g\":\"1\",\"n\":\"1\"},\"values\":{}}",
    };
    for (size_t i = 0; i < sizeof bad_ct / sizeof bad_ct[0]; i++) {
        subst(doc, sizeof doc, bad_ct[i], nval);
        CHECK_FAILS(ppml_paillier_ctvec_from_json(pk, NULL, &lc, &le, &ln, doc, strlen(doc)));
        CHECK_FAILS(ppml_paillier_ctvec_from_json(NULL, &emb, &lc, &le, &ln, doc, strlen(doc)));
    }
    /* per-value errors with the right key: build documents around N */
    char *ns = mpz_get_str(NULL, 10, ppml_paillier_pk_n(pk));
    mpz_t g1, n2;
    mpz_inits(g1, n2, NULL);
    mpz_add_ui(g1, ppml_paillier_pk_n(pk), 1);
    char *gs = mpz_get_str(NULL, 10, g1), *n2s = mpz_get_str(NULL, 10, ppml_paillier_pk_n2(pk));
    char *ps = mpz_get_str(NULL, 10, sk->p);
    const char *bad_vals[] = {"[[\"%s\",0]]", /* c = N^2 */ "[[\"0\",0]]", "[[\"-5\",0]]", "[[\"12a\",0]]",
                              "[[\"5\",0.5]]", "[[\"5\"]]", "[[\"5\",0,1]]", "[\"5\"]", "[[\"5\",99999999]]",
                              "[[\"P\",0]]" /* gcd(c, N) = p */};
    static char big[200000];
    for (size_t i = 0; i < sizeof bad_vals / sizeof bad_vals[0]; i++) {
        char vals_s[4096];
        if (i == 9)
            snprintf(vals_s, sizeof vals_s, "[[\"%s\",0]]", ps);
        else
            subst(vals_s, sizeof vals_s, bad_vals[i], n2s);
        snprintf(big, sizeof big, "{\"public_key\":{\"g\":\"%s\",\"n\":\"%s\"},\"values\":%s}", gs, ns, vals_s);
        CHECK_FAILS(ppml_paillier_ctvec_from_json(pk, NULL, &lc, &le, &ln, big, strlen(big)));
    }
    /* wrong g */
    snprintf(big, sizeof big, "{\"public_key\":{\"g\":\"%s\",\"n\":\"%s\"},\"values\":[]}", ns, ns);
    CHECK_ERR(ppml_paillier_ctvec_from_json(pk, NULL, &lc, &le, &ln, big, strlen(big)), PPML_ENOTSUP);
    /* bare integers for g and n, as python's json.dumps writes them */
    snprintf(big, sizeof big, "{\"public_key\": {\"g\": %s, \"n\": %s}, \"values\": [[\"1\", 0]]}", gs, ns);
    CHECK_OK(ppml_paillier_ctvec_from_json(pk, NULL, &lc, &le, &ln, big, strlen(big)));
    CHECK(ln == 1);
    ppml_paillier_ctvec_free(lc, ln);
    free(le);
    lc = NULL;
    le = NULL;
    CHECK(lc == NULL && emb == NULL);
    void (*gfree)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &gfree);
    gfree(ns, strlen(ns) + 1);
    gfree(gs, strlen(gs) + 1);
    gfree(n2s, strlen(n2s) + 1);
    gfree(ps, strlen(ps) + 1);
    mpz_clears(g1, n2, NULL);

    /* private keys: wrong mu, p*q != N, missing secrets, public key only */
    char *skj = NULL;
    CHECK_OK(ppml_paillier_sk_to_jwk(sk, &skj));
    if (skj) {
        char *alt = strdup(skj);
        char *mu = strstr(alt, "\"mu\": \"");
        if (mu) {
            mu += 7;
            *mu = *mu == 'A' ? 'B' : 'A';
            CHECK_FAILS(ppml_paillier_sk_from_jwk(&sk2, alt, strlen(alt)));
        }
        free(alt);
        alt = strdup(skj);
        char *pp = strstr(alt, "\"p\": \"");
        if (pp) {
            pp += 6;
            *pp = *pp == 'A' ? 'B' : 'A';
            CHECK_FAILS(ppml_paillier_sk_from_jwk(&sk2, alt, strlen(alt)));
        }
        free(alt);
        alt = strdup(skj);
        char *ky = strstr(alt, "\"DAJ\"");
        if (ky) {
            ky[1] = 'X';
            CHECK_FAILS(ppml_paillier_sk_from_jwk(&sk2, alt, strlen(alt)));
        }
        free(alt);
        for (size_t cut = 0; cut < strlen(skj); cut += 1 + strlen(skj) / 60)
            CHECK_FAILS(ppml_paillier_sk_from_jwk(&sk2, skj, cut));
        free(skj);
    }
    char *pkj = NULL;
    CHECK_OK(ppml_paillier_pk_to_jwk(pk, &pkj));
    if (pkj)
        CHECK_FAILS(ppml_paillier_sk_from_jwk(&sk2, pkj, strlen(pkj)));
    free(pkj);
    CHECK(sk2 == NULL);
    for (int i = 0; i < NV; i++)
        mpz_clear(cts[i]);
    ppml_paillier_pk_free(pk2);
    ppml_paillier_sk_free(other);
}

/* ---------- known-answer vectors ---------- */

static int hex_mpz(mpz_t x, const char *s) { return mpz_set_str(x, s, 16) == 0; }

static uint8_t *hex_bytes(const char *s, size_t *len)
{
    size_t n = strlen(s) / 2;
    uint8_t *b = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        b[i] = (uint8_t)v;
    }
    *len = n;
    return b;
}

static void test_kat(void)
{
    FILE *f = fopen("tests/vectors/paillier_kat.txt", "r");
    CHECK(f != NULL);
    if (!f)
        return;
    static char line[1 << 20];
    ppml_paillier_pk *pk = NULL;
    ppml_paillier_sk *sk = NULL;
    mpz_t n, p, q, hn, a, b, c, d, x;
    mpz_inits(n, p, q, hn, a, b, c, d, x, NULL);
    int keys = 0, encs = 0, djns = 0, decs = 0, jsons = 0;
    char *ctvec_doc = NULL;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || !line[0])
            continue;
        char *sp = strchr(line, ' ');
        char *val = sp ? sp + 1 : line + strlen(line);
        if (sp)
            *sp = 0;
        if (!strcmp(line, "n")) {
            CHECK(hex_mpz(n, val));
        } else if (!strcmp(line, "p")) {
            CHECK(hex_mpz(p, val));
        } else if (!strcmp(line, "q")) {
            CHECK(hex_mpz(q, val));
        } else if (!strcmp(line, "hn")) {
            CHECK(hex_mpz(hn, val));
        } else if (!strcmp(line, "id")) {
            /* checked against pk below */
            size_t l;
            uint8_t *id = hex_bytes(val, &l);
            uint8_t nb[1024];
            size_t nl = 0;
            mpz_export(nb, &nl, 1, 1, 0, 0, n);
            uint8_t h[32];
            ppml_hash256(h, nb, nl);
            CHECK(l == 32 && memcmp(h, id, 32) == 0);
            free(id);
        } else if (!strcmp(line, "pk_bin")) {
            size_t l;
            uint8_t *bin = hex_bytes(val, &l);
            ppml_paillier_pk_free(pk);
            pk = NULL;
            CHECK_OK(ppml_paillier_pk_load(&pk, bin, l));
            if (pk) {
                CHECK(mpz_cmp(ppml_paillier_pk_n(pk), n) == 0 && mpz_cmp(ppml_paillier_pk_hn(pk), hn) == 0);
                uint8_t *out = NULL;
                size_t ol = 0;
                CHECK_OK(ppml_paillier_pk_save(pk, &out, &ol)); /* byte-identical re-encoding */
                CHECK(ol == l && out && memcmp(out, bin, l) == 0);
                free(out);
            }
            free(bin);
            keys++;
        } else if (!strcmp(line, "sk_bin")) {
            size_t l;
            uint8_t *bin = hex_bytes(val, &l);
            ppml_paillier_sk_free(sk);
            sk = NULL;
            CHECK_OK(ppml_paillier_sk_load(&sk, bin, l));
            if (sk) {
                CHECK(mpz_cmp(sk->p, p) == 0 && mpz_cmp(sk->q, q) == 0);
                uint8_t *out = NULL;
                size_t ol = 0;
                CHECK_OK(ppml_paillier_sk_save(sk, &out, &ol));
                CHECK(ol == l && out && memcmp(out, bin, l) == 0);
                free(out);
            }
            free(bin);
        } else if (!strcmp(line, "enc") && pk && sk) {
            char *m_s = strtok(val, " "), *r_s = strtok(NULL, " "), *c_s = strtok(NULL, " ");
            CHECK(m_s && r_s && c_s && hex_mpz(a, m_s) && hex_mpz(b, r_s) && hex_mpz(x, c_s));
            CHECK_OK(ppmli_paillier_encrypt_r(pk, c, a, b));
            CHECK(mpz_cmp(c, x) == 0);
            CHECK_OK(ppmli_paillier_encrypt_crt_r(sk, c, a, b));
            CHECK(mpz_cmp(c, x) == 0);
            CHECK_OK(ppml_paillier_decrypt(sk, d, x));
            CHECK(mpz_cmp(d, a) == 0);
            CHECK_OK(ppml_paillier_decrypt_naive(sk, d, x));
            CHECK(mpz_cmp(d, a) == 0);
            encs++;
        } else if (!strcmp(line, "djn") && pk && sk) {
            char *m_s = strtok(val, " "), *a_s = strtok(NULL, " "), *c_s = strtok(NULL, " ");
            CHECK(m_s && a_s && c_s && hex_mpz(a, m_s) && hex_mpz(b, a_s) && hex_mpz(x, c_s));
            CHECK_OK(ppmli_paillier_encrypt_djn_a(pk, c, a, b));
            CHECK(mpz_cmp(c, x) == 0);
            CHECK_OK(ppml_paillier_decrypt(sk, d, x));
            CHECK(mpz_cmp(d, a) == 0);
            djns++;
        } else if (!strcmp(line, "dec") && sk) {
            char *c_s = strtok(val, " "), *m_s = strtok(NULL, " ");
            CHECK(c_s && m_s && hex_mpz(x, c_s) && hex_mpz(a, m_s));
            CHECK_OK(ppml_paillier_decrypt(sk, d, x));
            CHECK(mpz_cmp(d, a) == 0);
            CHECK_OK(ppml_paillier_decrypt_naive(sk, d, x));
            CHECK(mpz_cmp(d, a) == 0);
            decs++;
        } else if (!strcmp(line, "jwk_pub")) {
            ppml_paillier_pk *jp = NULL;
            CHECK_OK(ppml_paillier_pk_from_jwk(&jp, val, strlen(val)));
            CHECK(jp && mpz_cmp(ppml_paillier_pk_n(jp), n) == 0);
            ppml_paillier_pk_free(jp);
            jsons++;
        } else if (!strcmp(line, "jwk_priv") || !strcmp(line, "jwk_priv_old") || !strcmp(line, "jwk_priv_lcm")) {
            ppml_paillier_sk *js = NULL;
            CHECK_OK(ppml_paillier_sk_from_jwk(&js, val, strlen(val)));
            CHECK(js && mpz_cmp(ppml_paillier_pk_n(ppml_paillier_sk_pk(js)), n) == 0);
            if (js) {
                mpz_mul(d, js->p, js->q);
                CHECK(mpz_cmp(d, n) == 0);
            }
            ppml_paillier_sk_free(js);
            jsons++;
        } else if (!strcmp(line, "ctvec_json")) {
            free(ctvec_doc);
            ctvec_doc = strdup(val);
        } else if (!strcmp(line, "ctvec_plain") && ctvec_doc && sk) {
            mpz_t *cts = NULL;
            int *ex = NULL;
            size_t cn = 0;
            ppml_paillier_pk *emb = NULL;
            CHECK_OK(ppml_paillier_ctvec_from_json(NULL, &emb, &cts, &ex, &cn, ctvec_doc, strlen(ctvec_doc)));
            char *tok = strtok(val, " ");
            for (size_t i = 0; i < cn && tok; i++, tok = strtok(NULL, " ")) {
                long long v;
                int e;
                CHECK(sscanf(tok, "%lld:%d", &v, &e) == 2);
                int64_t got;
                CHECK_OK(ppml_paillier_decrypt_i64(sk, &got, cts[i]));
                CHECK(got == v && ex[i] == e);
            }
            CHECK(cn == 6);
            ppml_paillier_ctvec_free(cts, cn);
            free(ex);
            ppml_paillier_pk_free(emb);
            jsons++;
        }
    }
    fclose(f);
    free(ctvec_doc);
    CHECK(keys == 3 && encs == 30 && djns == 18 && decs == 12 && jsons == 15);
    ppml_paillier_pk_free(pk);
    ppml_paillier_sk_free(sk);
    mpz_clears(n, p, q, hn, a, b, c, d, x, NULL);
}

int main(void)
{
    test_init();
    test_seed(1);
    ppml_paillier_allow_insecure_test_keys(1);
    test_keygen_params();
    test_kat();

    ppml_paillier_sk *small = NULL, *mid = NULL, *real = NULL;
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&small, 512));
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&mid, 1024));
    if (small && mid) {
        test_roundtrip(small, iters(20));
        test_roundtrip(mid, iters(8));
        test_homomorphic(small, iters(8));
        test_homomorphic(mid, iters(2));
        test_batch(small);
        test_many(512, "automatic kernel");
        test_many(1024, "automatic kernel");
        ppmli_mb_force_portable(1);
        test_many(512, "portable kernel forced");
        ppmli_mb_force_portable(0);
        test_packing(small);
        test_packing(mid);
        test_serial(small);
        test_json(small);
        test_json(mid);
    }
    /* one real key: a few round trips at 2048 bits, no test switch involved */
    ppml_paillier_allow_insecure_test_keys(0);
    CHECK_OK(ppml_paillier_keygen(&real, 2048));
    if (real) {
        test_many_full(real);
        test_roundtrip(real, 2);
        test_homomorphic(real, 1);
        uint8_t *b = NULL;
        size_t l = 0;
        ppml_paillier_sk *re = NULL;
        CHECK_OK(ppml_paillier_sk_save(real, &b, &l));
        CHECK_OK(ppml_paillier_sk_load(&re, b, l));
        int64_t v = 0;
        mpz_t c;
        mpz_init(c);
        if (re) {
            CHECK_OK(ppml_paillier_encrypt_i64(ppml_paillier_sk_pk(re), c, -31337));
            CHECK_OK(ppml_paillier_decrypt_i64(real, &v, c));
            CHECK(v == -31337);
        }
        mpz_clear(c);
        ppml_free_secret(b, l);
        ppml_paillier_sk_free(re);
    }
    ppml_paillier_sk *big = NULL;
    if (!test_sanitized()) { /* 3072 bits: N^2 fills 119 of the 120 limbs */
        CHECK_OK(ppml_paillier_keygen(&big, 3072));
        if (big)
            test_many_full(big);
    }
    ppml_paillier_sk_free(big);
    ppml_paillier_sk_free(small);
    ppml_paillier_sk_free(mid);
    ppml_paillier_sk_free(real);
    ppml_rand_clear_test_seed();
    return test_finish("test_paillier");
}
