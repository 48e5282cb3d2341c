/* BFV two-party layer: collective keys, collective relinearisation key, threshold
 * decryption with smudging, re-encryption from a party's own key to the collective key. */
#include "test.h"

#include "crypto/bfv/bfv_internal.h"
#include "ppml/bfv.h"

static void rand_slots(uint64_t *v, size_t n, uint64_t t)
{
    for (size_t i = 0; i < n; i++)
        v[i] = ppml_rand_below(t);
}

static int threshold_equals(const ppml_bfv_sk *s1, const ppml_bfv_sk *s2, const ppml_bfv_ct *ct,
                            const uint64_t *want, unsigned smudge)
{
    const ppml_bfv_params *p = ppml_bfv_ct_params(ct);
    size_t n = ppml_bfv_slot_count(p);
    ppml_bfv_decshare *d1 = NULL, *d2 = NULL;
    ppml_bfv_pt *pt = NULL;
    uint64_t *got = malloc(n * 8);
    int ok = got && ppml_bfv_pt_new(p, &pt) == PPML_OK && ppml_bfv_decrypt_share(s1, ct, smudge, &d1) == PPML_OK &&
             ppml_bfv_decrypt_share(s2, ct, smudge, &d2) == PPML_OK &&
             ppml_bfv_decshare_combine(pt, ct, d1, d2) == PPML_OK && ppml_bfv_decode_u64(pt, got, n) == PPML_OK &&
             memcmp(got, want, n * 8) == 0;
    free(got);
    ppml_bfv_pt_free(pt);
    ppml_bfv_decshare_free(d1);
    ppml_bfv_decshare_free(d2);
    return ok;
}

/* d = c1 s + e exactly, e = r - 2^B with r the first 2n words of the share's ChaCha20 stream
 * (masked to B + 1 bits), recomputed here from the same test-seeded bytes: d minus the plain
 * product c1 s (bfv_dot_sk of (0, c1)) is composed by CRT with GMP and compared as an integer. */
static int smudge_exact(const ppml_bfv_sk *sk, const ppml_bfv_ct *ct, unsigned B, unsigned tseed)
{
    const ppml_bfv_params *p = ppml_bfv_ct_params(ct);
    const size_t n = p->n, k = p->k;
    ppml_bfv_decshare *d = NULL;
    ppml_bfv_ct *c10 = NULL;
    uint64_t *x = bfv_alloc_words(k * n), *r = bfv_alloc_words(2 * n);
    test_seed(tseed);
    int ok = x && r && ppml_bfv_decrypt_share(sk, ct, B, &d) == PPML_OK;
    test_seed(tseed); /* the same bytes again: the share's stream */
    uint8_t seed[PPML_SEED_BYTES];
    ppml_randombytes(seed, sizeof seed);
    ppml_prg g;
    ppml_prg_init(&g, seed, 0);
    ppml_prg_bytes(&g, r, 2 * n * 8);
    ppml_prg_clear(&g);
    ok = ok && ppml_bfv_ct_new(p, &c10) == PPML_OK;
    if (ok) {
        memcpy(bfv_ct_poly(c10, 1), bfv_ct_poly(ct, 1), k * n * 8);
        ok = bfv_dot_sk(sk, c10, x) == PPML_OK;
    }
    mpz_t e, term, half, want;
    mpz_inits(e, term, half, want, NULL);
    mpz_fdiv_q_2exp(half, p->Q, 1);
    for (size_t c = 0; ok && c < n; c++) {
        mpz_set_ui(e, 0);
        for (size_t i = 0; i < k; i++) {
            const ppmli_mod *m = &p->ntt[i].mod;
            uint64_t di = ppmli_submod(d->data[i * n + c], x[i * n + c], m->q);
            mpz_mul_ui(term, p->qhat[i], ppmli_mulmod(m, di, p->qhat_inv[i]));
            mpz_add(e, e, term);
        }
        mpz_mod(e, e, p->Q);
        if (mpz_cmp(e, half) > 0)
            mpz_sub(e, e, p->Q);
        /* want = (r mod 2^(B+1)) - 2^B */
        mpz_set_ui(want, r[2 * c + 1]);
        mpz_mul_2exp(want, want, 64);
        mpz_add_ui(want, want, r[2 * c]);
        mpz_fdiv_r_2exp(want, want, B + 1);
        mpz_set_ui(term, 1);
        mpz_mul_2exp(term, term, B);
        mpz_sub(want, want, term);
        ok &= mpz_cmp(e, want) == 0;
    }
    mpz_clears(e, term, half, want, NULL);
    ppml_bfv_decshare_free(d);
    ppml_bfv_ct_free(c10);
    bfv_free_words(x, k * n);
    bfv_free_words(r, 2 * n);
    return ok;
}

static void run(size_t n, const unsigned *bits, size_t count, unsigned t_bits, int insecure)
{
    ppml_bfv_params *p;
    CHECK_OK(ppml_bfv_params_from_bits(&p, n, bits, count, t_bits, insecure));
    const uint64_t t = ppml_bfv_params_t(p);
    ppml_bfv_sk *s1, *s2, *ssum;
    CHECK_OK(ppml_bfv_sk_new(p, &s1));
    CHECK_OK(ppml_bfv_sk_new(p, &s2));
    CHECK_OK(ppml_bfv_sk_sum_for_tests(s1, s2, &ssum));
    uint8_t seed[PPML_SEED_BYTES];
    ppml_randombytes(seed, sizeof seed);

    /* Collective public key. */
    ppml_bfv_poly *b1, *b2;
    ppml_bfv_pk *cpk;
    CHECK_OK(ppml_bfv_ckg_share(s1, seed, &b1));
    CHECK_OK(ppml_bfv_ckg_share(s2, seed, &b2));
    CHECK_OK(ppml_bfv_ckg_combine(p, seed, b1, b2, &cpk));

    uint64_t *a = malloc(n * 8), *b = malloc(n * 8), *want = malloc(n * 8);
    ppml_bfv_pt *pt;
    ppml_bfv_ct *ca, *cb, *out;
    CHECK_OK(ppml_bfv_pt_new(p, &pt));
    CHECK_OK(ppml_bfv_ct_new(p, &ca));
    CHECK_OK(ppml_bfv_ct_new(p, &cb));
    CHECK_OK(ppml_bfv_ct_new(p, &out));
    rand_slots(a, n, t);
    rand_slots(b, n, t);
    a[0] = 0;
    a[1] = t - 1;
    CHECK_OK(ppml_bfv_encode_u64(pt, a, n));
    CHECK_OK(ppml_bfv_encrypt(cpk, ca, pt));
    CHECK_OK(ppml_bfv_encode_u64(pt, b, n));
    CHECK_OK(ppml_bfv_encrypt(cpk, cb, pt));
    int bits_left = 0;
    CHECK_OK(ppml_bfv_noise_budget(ssum, ca, &bits_left));
    CHECK(bits_left > PPML_BFV_SMUDGE_BITS_DEFAULT);

    /* Two-party decryption round trip. */
    CHECK(threshold_equals(s1, s2, ca, a, PPML_BFV_SMUDGE_BITS_DEFAULT));
    /* The share is exactly c1 s_1 + e, whichever reduction of e is used (64-bit when
     * B + 1 - 64 + bits(q) <= 63, else 128-bit). */
    static const unsigned smudges[] = {0, 1, 40, 63, 64, 65, PPML_BFV_SMUDGE_BITS_DEFAULT, 100};
    for (size_t i = 0; i < sizeof smudges / sizeof smudges[0]; i++)
        if (smudges[i] + 40 < p->log_q)
            CHECK(smudge_exact(s1, ca, smudges[i], 100 + (unsigned)i));
    /* A single share does not decrypt: c0 + d1 (+ a share of an unrelated key). */
    {
        ppml_bfv_sk *stranger;
        CHECK_OK(ppml_bfv_sk_new(p, &stranger));
        CHECK(!threshold_equals(s1, stranger, ca, a, PPML_BFV_SMUDGE_BITS_DEFAULT));
        CHECK(!threshold_equals(s1, s1, ca, a, PPML_BFV_SMUDGE_BITS_DEFAULT));
        ppml_bfv_decshare *d1;
        CHECK_OK(ppml_bfv_decrypt_share(s1, ca, PPML_BFV_SMUDGE_BITS_DEFAULT, &d1));
        ppml_bfv_decshare zero = {p, NULL};
        zero.data = bfv_alloc_words(p->k * n);
        uint64_t *got = malloc(n * 8);
        CHECK_OK(ppml_bfv_decshare_combine(pt, ca, d1, &zero));
        CHECK_OK(ppml_bfv_decode_u64(pt, got, n));
        size_t same = 0;
        for (size_t i = 0; i < n; i++)
            same += got[i] == a[i];
        CHECK(same < n / 100 + 3); /* looks random */
        free(got);
        bfv_free_words(zero.data, p->k * n);
        ppml_bfv_decshare_free(d1);
        ppml_bfv_sk_free(stranger);
    }
    /* Too much smudging for this Q is refused. */
    ppml_bfv_decshare *dd = NULL;
    CHECK_FAILS(ppml_bfv_decrypt_share(s1, ca, p->log_q - 5, &dd));
    CHECK_ERR(ppml_bfv_decrypt_share(s1, ca, 101, &dd), PPML_EINVAL);
    CHECK(dd == NULL);

    /* Collective relinearisation key in two rounds; product decrypts jointly. */
    ppml_bfv_rkg_state *st1, *st2;
    ppml_bfv_rkg_share *r11, *r12, *r1, *r21, *r22, *r2;
    ppml_bfv_rlk *crlk;
    uint8_t seed2[PPML_SEED_BYTES];
    ppml_randombytes(seed2, sizeof seed2);
    CHECK_OK(ppml_bfv_rkg_round1(s1, seed2, &st1, &r11));
    CHECK_OK(ppml_bfv_rkg_round1(s2, seed2, &st2, &r12));
    CHECK_OK(ppml_bfv_rkg_aggregate(&r1, r11, r12));
    CHECK_OK(ppml_bfv_rkg_round2(s1, st1, r1, &r21));
    CHECK_OK(ppml_bfv_rkg_round2(s2, st2, r1, &r22));
    CHECK_OK(ppml_bfv_rkg_aggregate(&r2, r21, r22));
    CHECK_OK(ppml_bfv_rkg_finish(r1, r2, &crlk));
    CHECK_OK(ppml_bfv_mul_relin(crlk, out, ca, cb));
    for (size_t i = 0; i < n; i++)
        want[i] = (uint64_t)(((ppmli_u128)a[i] * b[i]) % t);
    CHECK_OK(ppml_bfv_noise_budget(ssum, out, &bits_left));
    printf("n=%zu: collective product noise budget %d bits\n", n, bits_left);
    CHECK(bits_left > 0);
    ppml_bfv_pt *dec;
    CHECK_OK(ppml_bfv_pt_new(p, &dec));
    uint64_t *got = malloc(n * 8);
    CHECK_OK(ppml_bfv_decrypt(ssum, dec, out));
    CHECK_OK(ppml_bfv_decode_u64(dec, got, n));
    CHECK(memcmp(got, want, n * 8) == 0);
    if (bits_left > PPML_BFV_SMUDGE_BITS_DEFAULT + 2)
        CHECK(threshold_equals(s1, s2, out, want, PPML_BFV_SMUDGE_BITS_DEFAULT));
    else
        CHECK(threshold_equals(s1, s2, out, want, (unsigned)(bits_left > 24 ? bits_left - 20 : 4)));

    /* Re-encryption: a party encrypts under its own key; rk made from its secret and the
     * collective public key moves the ciphertext under s = s1 + s2. */
    ppml_bfv_sk *sp;
    ppml_bfv_pk *pkp;
    ppml_bfv_rkey *rk;
    CHECK_OK(ppml_bfv_keygen(p, &sp, &pkp));
    CHECK_OK(ppml_bfv_rkey_gen(sp, cpk, &rk));
    CHECK_OK(ppml_bfv_encode_u64(pt, b, n));
    CHECK_OK(ppml_bfv_encrypt(pkp, out, pt));
    CHECK_OK(ppml_bfv_reencrypt(rk, out, out));
    CHECK_OK(ppml_bfv_noise_budget(ssum, out, &bits_left));
    printf("n=%zu: re-encrypted noise budget %d bits\n", n, bits_left);
    CHECK(bits_left > PPML_BFV_SMUDGE_BITS_DEFAULT);
    CHECK(threshold_equals(s1, s2, out, b, PPML_BFV_SMUDGE_BITS_DEFAULT));
    /* It combines with collective ciphertexts. */
    CHECK_OK(ppml_bfv_add(out, out, ca));
    for (size_t i = 0; i < n; i++)
        want[i] = (a[i] + b[i]) % t;
    CHECK(threshold_equals(s1, s2, out, want, PPML_BFV_SMUDGE_BITS_DEFAULT));
    /* The party's own key no longer decrypts it. */
    CHECK_OK(ppml_bfv_decrypt(sp, dec, out));
    CHECK_OK(ppml_bfv_decode_u64(dec, got, n));
    CHECK(memcmp(got, want, n * 8) != 0);

    free(got);
    ppml_bfv_pt_free(dec);
    ppml_bfv_rkey_free(rk);
    ppml_bfv_sk_free(sp);
    ppml_bfv_pk_free(pkp);
    ppml_bfv_rlk_free(crlk);
    ppml_bfv_rkg_state_free(st1);
    ppml_bfv_rkg_state_free(st2);
    ppml_bfv_rkg_share_free(r11);
    ppml_bfv_rkg_share_free(r12);
    ppml_bfv_rkg_share_free(r1);
    ppml_bfv_rkg_share_free(r21);
    ppml_bfv_rkg_share_free(r22);
    ppml_bfv_rkg_share_free(r2);
    free(a);
    free(b);
    free(want);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ca);
    ppml_bfv_ct_free(cb);
    ppml_bfv_ct_free(out);
    ppml_bfv_poly_free(b1);
    ppml_bfv_poly_free(b2);
    ppml_bfv_pk_free(cpk);
    ppml_bfv_sk_free(s1);
    ppml_bfv_sk_free(s2);
    ppml_bfv_sk_free(ssum);
    ppml_bfv_params_free(p);
}

int main(void)
{
    test_init();
    test_seed(11);
    static const unsigned small[] = {55, 55, 55, 56};
    run(1024, small, 4, 20, 1);
    static const unsigned b8192[] = {43, 43, 44, 44, 44};
    run(8192, b8192, 5, 20, 0);
    /* n = 4096 (Q of 72 bits) has no room for the default smudging. */
    ppml_bfv_params *p;
    ppml_bfv_sk *sk;
    ppml_bfv_pk *pk;
    ppml_bfv_ct *ct;
    ppml_bfv_decshare *d = NULL;
    CHECK_OK(ppml_bfv_params_default(&p, 4096, 20));
    CHECK_OK(ppml_bfv_keygen(p, &sk, &pk));
    CHECK_OK(ppml_bfv_ct_new(p, &ct));
    CHECK_ERR(ppml_bfv_decrypt_share(sk, ct, PPML_BFV_SMUDGE_BITS_DEFAULT, &d), PPML_ERANGE);
    CHECK(d == NULL);
    ppml_bfv_ct_free(ct);
    ppml_bfv_sk_free(sk);
    ppml_bfv_pk_free(pk);
    ppml_bfv_params_free(p);
    return test_finish("test_bfv_mp");
}
