/* BFV: parameters, batching, encryption, every homomorphic operation against the slot-wise
 * plaintext operation mod t, the HPS product against an exact GMP tensor-and-round, the
 * noise-budget chain, rotations and the column swap. */
#include "test.h"

#include "crypto/bfv/bfv_internal.h"
#include "ppml/bfv.h"

#include <gmp.h>
#include <pthread.h>
#include <stdint.h>


static uint64_t mulmod_t(uint64_t a, uint64_t b, uint64_t t) { return (uint64_t)(((ppmli_u128)a * b) % t); }

static void rand_slots(uint64_t *v, size_t n, uint64_t t)
{
    for (size_t i = 0; i < n; i++)
        v[i] = ppml_rand_below(t);
}

/* Decrypt and compare with expected slots (mod t). */
static int dec_equals(const ppml_bfv_sk *sk, const ppml_bfv_ct *ct, const uint64_t *want)
{
    const ppml_bfv_params *p = ppml_bfv_sk_params(sk);
    size_t n = ppml_bfv_slot_count(p);
    ppml_bfv_pt *pt;
    if (ppml_bfv_pt_new(p, &pt))
        return 0;
    uint64_t *got = malloc(n * 8);
    int ok = got && ppml_bfv_decrypt(sk, pt, ct) == PPML_OK && ppml_bfv_decode_u64(pt, got, n) == PPML_OK &&
             memcmp(got, want, n * 8) == 0;
    free(got);
    ppml_bfv_pt_free(pt);
    return ok;
}

static void test_params(void)
{
    ppml_bfv_params *p = NULL;
    /* Defaults match the SEAL sizes and pass the table. */
    CHECK_OK(ppml_bfv_params_default(&p, 4096, 20));
    CHECK(p && ppml_bfv_params_log_qp(p) == 109 && ppml_bfv_params_log_q(p) == 72 &&
          ppml_bfv_params_prime_count(p) == 3 && !ppml_bfv_params_is_insecure(p));
    CHECK(p && ppml_bfv_params_t(p) % 8192 == 1 && ppml_bfv_params_t(p) >> 19 == 1);
    ppml_bfv_params *p2 = NULL;
    CHECK_OK(ppml_bfv_params_default(&p2, 8192, 20));
    CHECK(p2 && ppml_bfv_params_log_qp(p2) == 218 && ppml_bfv_params_t(p2) == 1032193);
    CHECK(p && p2 && memcmp(ppml_bfv_params_id(p), ppml_bfv_params_id(p2), 32) != 0);
    ppml_bfv_params_free(p2);
    /* Weak: 4096 with 3 x 40 bits (120 > 109); 1024 with 2 x 30. */
    static const unsigned weak[] = {40, 40, 40};
    p2 = NULL;
    CHECK_ERR(ppml_bfv_params_from_bits(&p2, 4096, weak, 3, 20, 0), PPML_EWEAK);
    CHECK(p2 == NULL);
    static const unsigned weak2[] = {30, 30};
    CHECK_ERR(ppml_bfv_params_from_bits(&p2, 1024, weak2, 2, 16, 0), PPML_EWEAK);
    uint64_t primes[3];
    for (int i = 0; i < 3; i++)
        primes[i] = ppml_bfv_params_prime(p, (size_t)i);
    uint64_t t = ppml_bfv_params_t(p);
    /* The same weak set is accepted through the test-only constructor. */
    CHECK_OK(ppml_bfv_params_from_bits(&p2, 4096, weak, 3, 20, 1));
    CHECK(p2 && ppml_bfv_params_is_insecure(p2));
    ppml_bfv_params_free(p2);
    /* Explicit primes: the default list is accepted; malformed lists are refused. */
    p2 = NULL;
    CHECK_OK(ppml_bfv_params_new(&p2, 4096, primes, 3, t));
    CHECK(p2 && memcmp(ppml_bfv_params_id(p), ppml_bfv_params_id(p2), 32) == 0);
    ppml_bfv_params_free(p2);
    uint64_t bad[3] = {primes[0], primes[0], primes[2]};
    CHECK_ERR(ppml_bfv_params_new(&p2, 4096, bad, 3, t), PPML_EINVAL);     /* duplicate */
    bad[1] = primes[1] + 2;
    CHECK_ERR(ppml_bfv_params_new(&p2, 4096, bad, 3, t), PPML_EINVAL);     /* not 1 mod 2n / prime */
    CHECK_ERR(ppml_bfv_params_new(&p2, 4096, primes, 3, t + 2), PPML_EINVAL);
    CHECK_ERR(ppml_bfv_params_new(&p2, 3000, primes, 3, t), PPML_EINVAL);
    CHECK_ERR(ppml_bfv_params_new(&p2, 4096, primes, 1, t), PPML_EINVAL);
    CHECK_ERR(ppml_bfv_params_default(&p2, 2048, 20), PPML_EINVAL);
    ppml_bfv_params_free(p);
    ppml_bfv_params_free(NULL);
}

typedef struct fixture {
    ppml_bfv_params *p;
    ppml_bfv_sk *sk;
    ppml_bfv_pk *pk;
    ppml_bfv_rlk *rlk;
    size_t n;
    uint64_t t;
} fixture;

static int fixture_init(fixture *f, size_t n, const unsigned *bits, size_t count, unsigned t_bits, int insecure)
{
    memset(f, 0, sizeof *f);
    if (ppml_bfv_params_from_bits(&f->p, n, bits, count, t_bits, insecure))
        return -1;
    if (ppml_bfv_keygen(f->p, &f->sk, &f->pk) || ppml_bfv_relin_keygen(f->sk, &f->rlk))
        return -1;
    f->n = n;
    f->t = ppml_bfv_params_t(f->p);
    return 0;
}

static void fixture_clear(fixture *f)
{
    ppml_bfv_rlk_free(f->rlk);
    ppml_bfv_pk_free(f->pk);
    ppml_bfv_sk_free(f->sk);
    ppml_bfv_params_free(f->p);
}

static void test_encode_encrypt(fixture *f)
{
    const size_t n = f->n;
    const uint64_t t = f->t;
    ppml_bfv_pt *pt, *pt2;
    ppml_bfv_ct *ct;
    CHECK_OK(ppml_bfv_pt_new(f->p, &pt));
    CHECK_OK(ppml_bfv_pt_new(f->p, &pt2));
    CHECK_OK(ppml_bfv_ct_new(f->p, &ct));
    uint64_t *v = malloc(n * 8), *w = malloc(n * 8);
    int64_t *sv = malloc(n * 8), *sw = malloc(n * 8);
    /* Encoding round trips and range checks. */
    rand_slots(v, n, t);
    CHECK_OK(ppml_bfv_encode_u64(pt, v, n));
    CHECK_OK(ppml_bfv_decode_u64(pt, w, n));
    CHECK(memcmp(v, w, n * 8) == 0);
    int64_t lim = (int64_t)((t - 1) / 2);
    for (size_t i = 0; i < n; i++)
        sv[i] = (int64_t)(v[i] % (uint64_t)(2 * lim + 1)) - lim;
    sv[0] = lim;
    sv[1] = -lim;
    sv[2] = 0;
    CHECK_OK(ppml_bfv_encode_i64(pt, sv, n));
    CHECK_OK(ppml_bfv_decode_i64(pt, sw, n));
    CHECK(memcmp(sv, sw, n * 8) == 0);
    v[5] = t;
    CHECK_ERR(ppml_bfv_encode_u64(pt, v, n), PPML_ERANGE);
    sv[5] = lim + 1;
    CHECK_ERR(ppml_bfv_encode_i64(pt, sv, n), PPML_ERANGE);
    CHECK_ERR(ppml_bfv_encode_u64(pt, v, n + 1), PPML_EINVAL);
    /* Fewer slots than n: the rest are zero. */
    uint64_t three[3] = {1, 2, t - 1};
    CHECK_OK(ppml_bfv_encode_u64(pt, three, 3));
    CHECK_OK(ppml_bfv_decode_u64(pt, w, n));
    int ok = w[0] == 1 && w[1] == 2 && w[2] == t - 1;
    for (size_t i = 3; i < n; i++)
        ok &= w[i] == 0;
    CHECK(ok);

    /* decrypt o encrypt = id: random, zero, t-1, +-(t-1)/2; public and secret key. */
    for (int round = 0; round < 5; round++) {
        for (size_t i = 0; i < n; i++) {
            switch (round) {
            case 0: v[i] = ppml_rand_below(t); break;
            case 1: v[i] = 0; break;
            case 2: v[i] = t - 1; break;
            case 3: v[i] = i % 2 ? (t - 1) / 2 : (t + 1) / 2; break; /* +-(t-1)/2 */
            default: v[i] = (i % 4 == 0) ? 0 : (i % 4 == 1) ? t - 1 : (i % 4 == 2) ? (t - 1) / 2 : (t + 1) / 2;
            }
        }
        CHECK_OK(ppml_bfv_encode_u64(pt, v, n));
        CHECK_OK(ppml_bfv_encrypt(f->pk, ct, pt));
        CHECK(dec_equals(f->sk, ct, v));
        int bits = -1;
        CHECK_OK(ppml_bfv_noise_budget(f->sk, ct, &bits));
        CHECK(bits > 20);
        CHECK_OK(ppml_bfv_encrypt_sk(f->sk, ct, pt));
        CHECK(dec_equals(f->sk, ct, v));
    }
    /* Coefficient (non-batched) plaintexts too. */
    rand_slots(v, n, t);
    CHECK_OK(ppml_bfv_pt_set_coeffs(pt, v, n));
    CHECK_OK(ppml_bfv_encrypt(f->pk, ct, pt));
    CHECK_OK(ppml_bfv_decrypt(f->sk, pt2, ct));
    CHECK_OK(ppml_bfv_pt_get_coeffs(pt2, w, n));
    CHECK(memcmp(v, w, n * 8) == 0);
    /* A different key does not decrypt. */
    ppml_bfv_sk *other;
    ppml_bfv_pk *opk;
    CHECK_OK(ppml_bfv_keygen(f->p, &other, &opk));
    rand_slots(v, n, t);
    CHECK_OK(ppml_bfv_encode_u64(pt, v, n));
    CHECK_OK(ppml_bfv_encrypt(f->pk, ct, pt));
    CHECK(!dec_equals(other, ct, v));
    ppml_bfv_sk_free(other);
    ppml_bfv_pk_free(opk);
    free(v);
    free(w);
    free(sv);
    free(sw);
    ppml_bfv_ct_free(ct);
    ppml_bfv_pt_free(pt);
    ppml_bfv_pt_free(pt2);
}

/* Noise flooding: the result still decrypts, its noise has the requested width (noise budget
 * log2 Q - log2(t 2^B) - 1 within 2 bits), fresh per call, and bad widths are refused. */
static void test_flood(fixture *f)
{
    const size_t n = f->n;
    const uint64_t t = f->t;
    const unsigned log_q = ppml_bfv_params_log_q(f->p);
    const unsigned tbits = 64 - (unsigned)__builtin_clzll(t);
    ppml_bfv_pt *pt;
    ppml_bfv_ct *ct, *c2;
    CHECK_OK(ppml_bfv_pt_new(f->p, &pt));
    CHECK_OK(ppml_bfv_ct_new(f->p, &ct));
    CHECK_OK(ppml_bfv_ct_new(f->p, &c2));
    uint64_t *v = malloc(n * 8);
    const unsigned widths[] = {1, 30, 63, 64, 65, log_q - tbits - 3};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        unsigned B = widths[wi];
        rand_slots(v, n, t);
        v[0] = 0;
        v[1] = t - 1;
        CHECK_OK(ppml_bfv_encode_u64(pt, v, n));
        CHECK_OK(ppml_bfv_encrypt(f->pk, ct, pt));
        int before = -1, after = -1;
        CHECK_OK(ppml_bfv_noise_budget(f->sk, ct, &before));
        CHECK_OK(ppml_bfv_ct_copy(c2, ct));
        CHECK_OK(ppml_bfv_flood(f->pk, ct, B));
        CHECK_OK(ppml_bfv_flood(f->pk, c2, B));
        CHECK(dec_equals(f->sk, ct, v));
        CHECK(dec_equals(f->sk, c2, v));
        CHECK_OK(ppml_bfv_noise_budget(f->sk, ct, &after));
        int want = (int)log_q - (int)(tbits + B) - 1;
        if (want < before) /* the flood dominates: its width is what the budget shows */
            CHECK(after >= want - 2 && after <= want + 2);
        else
            CHECK(after <= before && after >= before - 2);
        uint8_t *b1 = NULL, *b2 = NULL;
        size_t l1 = 0, l2 = 0;
        CHECK_OK(ppml_bfv_ct_save(ct, &b1, &l1));
        CHECK_OK(ppml_bfv_ct_save(c2, &b2, &l2));
        CHECK(l1 == l2 && b1 && b2 && memcmp(b1, b2, l1) != 0); /* fresh per call */
        free(b1);
        free(b2);
    }
    /* the flood alone decrypts to 0, with the widest noise allowed */
    CHECK_OK(ppml_bfv_encrypt_zero_flood(f->pk, ct, log_q - tbits - 3));
    memset(v, 0, n * 8);
    CHECK(dec_equals(f->sk, ct, v));
    int zb = -1;
    CHECK_OK(ppml_bfv_noise_budget(f->sk, ct, &zb));
    CHECK(zb >= 1 && zb <= 4);
    CHECK_ERR(ppml_bfv_encrypt_zero_flood(f->pk, ct, log_q - tbits - 2), PPML_ERANGE);
    CHECK_ERR(ppml_bfv_flood(f->pk, ct, 0), PPML_ERANGE);
    CHECK_ERR(ppml_bfv_flood(f->pk, ct, 0u - tbits - 3), PPML_ERANGE); /* would wrap */
    CHECK_ERR(ppml_bfv_flood(f->pk, ct, log_q - tbits - 2), PPML_ERANGE);
    CHECK_ERR(ppml_bfv_flood(NULL, ct, 10), PPML_EINVAL);
    CHECK_OK(ppml_bfv_mul(c2, ct, ct));
    CHECK_ERR(ppml_bfv_flood(f->pk, c2, 10), PPML_ESTATE); /* size 3 */
    free(v);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ct);
    ppml_bfv_ct_free(c2);
}

static void test_ops(fixture *f)
{
    const size_t n = f->n;
    const uint64_t t = f->t;
    uint64_t *a = malloc(n * 8), *b = malloc(n * 8), *c = malloc(n * 8), *want = malloc(n * 8);
    ppml_bfv_pt *pa, *pb, *pc;
    ppml_bfv_ct *ca, *cb, *out;
    CHECK_OK(ppml_bfv_pt_new(f->p, &pa));
    CHECK_OK(ppml_bfv_pt_new(f->p, &pb));
    CHECK_OK(ppml_bfv_pt_new(f->p, &pc));
    CHECK_OK(ppml_bfv_ct_new(f->p, &ca));
    CHECK_OK(ppml_bfv_ct_new(f->p, &cb));
    CHECK_OK(ppml_bfv_ct_new(f->p, &out));
    int rounds = test_sanitized() ? 1 : 3;
    for (int r = 0; r < rounds; r++) {
        rand_slots(a, n, t);
        rand_slots(b, n, t);
        rand_slots(c, n, t);
        a[0] = t - 1;
        b[0] = t - 1;
        a[1] = 0;
        b[2] = (t - 1) / 2;
        CHECK_OK(ppml_bfv_encode_u64(pa, a, n));
        CHECK_OK(ppml_bfv_encode_u64(pb, b, n));
        CHECK_OK(ppml_bfv_encode_u64(pc, c, n));
        CHECK_OK(ppml_bfv_encrypt(f->pk, ca, pa));
        CHECK_OK(ppml_bfv_encrypt_sk(f->sk, cb, pb));

        for (size_t i = 0; i < n; i++)
            want[i] = (a[i] + b[i]) % t;
        CHECK_OK(ppml_bfv_add(out, ca, cb));
        CHECK(dec_equals(f->sk, out, want));
        for (size_t i = 0; i < n; i++)
            want[i] = (a[i] + t - b[i]) % t;
        CHECK_OK(ppml_bfv_sub(out, ca, cb));
        CHECK(dec_equals(f->sk, out, want));
        for (size_t i = 0; i < n; i++)
            want[i] = (t - a[i]) % t;
        CHECK_OK(ppml_bfv_negate(out, ca));
        CHECK(dec_equals(f->sk, out, want));
        for (size_t i = 0; i < n; i++)
            want[i] = (a[i] + c[i]) % t;
        CHECK_OK(ppml_bfv_add_plain(out, ca, pc));
        CHECK(dec_equals(f->sk, out, want));
        for (size_t i = 0; i < n; i++)
            want[i] = (a[i] + t - c[i]) % t;
        CHECK_OK(ppml_bfv_sub_plain(out, ca, pc));
        CHECK(dec_equals(f->sk, out, want));
        for (size_t i = 0; i < n; i++)
            want[i] = mulmod_t(a[i], c[i], t);
        CHECK_OK(ppml_bfv_mul_plain(out, ca, pc)); /* on the fly */
        CHECK(dec_equals(f->sk, out, want));
        {
            static const int64_t ks[] = {0, 1, -1, 7, -123456, INT64_MIN, INT64_MAX};
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                int64_t km = ks[ki] % (int64_t)t;
                uint64_t kk = (uint64_t)(km < 0 ? km + (int64_t)t : km);
                for (size_t i = 0; i < n; i++)
                    want[i] = mulmod_t(a[i], kk, t);
                CHECK_OK(ppml_bfv_mul_scalar(out, ca, ks[ki]));
                CHECK(dec_equals(f->sk, out, want));
            }
            for (size_t i = 0; i < n; i++)
                want[i] = mulmod_t(a[i], c[i], t);
        }
        CHECK_OK(ppml_bfv_pt_prepare_mul(pc));
        CHECK_OK(ppml_bfv_mul_plain(out, ca, pc)); /* prepared */
        CHECK(dec_equals(f->sk, out, want));
        for (size_t i = 0; i < n; i++)
            want[i] = mulmod_t(a[i], b[i], t);
        CHECK_OK(ppml_bfv_mul(out, ca, cb));
        CHECK(ppml_bfv_ct_size(out) == 3);
        CHECK(dec_equals(f->sk, out, want)); /* size-3 decryption */
        CHECK_OK(ppml_bfv_relinearize(f->rlk, out, out));
        CHECK(ppml_bfv_ct_size(out) == 2);
        CHECK(dec_equals(f->sk, out, want));
        CHECK_OK(ppml_bfv_mul_relin(f->rlk, out, ca, cb));
        CHECK(dec_equals(f->sk, out, want));
        /* Squaring (a == b) and aliasing the output with an input. */
        for (size_t i = 0; i < n; i++)
            want[i] = mulmod_t(a[i], a[i], t);
        CHECK_OK(ppml_bfv_ct_copy(out, ca));
        CHECK_OK(ppml_bfv_mul_relin(f->rlk, out, out, out));
        CHECK(dec_equals(f->sk, out, want));
        /* Size-3 ciphertexts add, and multiply_plain works on them. */
        CHECK_OK(ppml_bfv_mul(out, ca, cb));
        CHECK_OK(ppml_bfv_add(out, out, ca));
        for (size_t i = 0; i < n; i++)
            want[i] = (mulmod_t(a[i], b[i], t) + a[i]) % t;
        CHECK(dec_equals(f->sk, out, want));
        CHECK_ERR(ppml_bfv_mul(cb, out, ca), PPML_ESTATE);
    }
    /* Objects of other params are refused. */
    ppml_bfv_params *q;
    static const unsigned bits[] = {50, 50, 51};
    CHECK_OK(ppml_bfv_params_from_bits(&q, f->n, bits, 3, 17, 1));
    ppml_bfv_ct *foreign;
    CHECK_OK(ppml_bfv_ct_new(q, &foreign));
    CHECK_ERR(ppml_bfv_add(out, ca, foreign), PPML_EMISMATCH);
    CHECK_ERR(ppml_bfv_encrypt(f->pk, foreign, pa), PPML_EMISMATCH);
    CHECK_ERR(ppml_bfv_decrypt(f->sk, pa, foreign), PPML_EMISMATCH);
    ppml_bfv_ct_free(foreign);
    ppml_bfv_params_free(q);
    free(a);
    free(b);
    free(c);
    free(want);
    ppml_bfv_pt_free(pa);
    ppml_bfv_pt_free(pb);
    ppml_bfv_pt_free(pc);
    ppml_bfv_ct_free(ca);
    ppml_bfv_ct_free(cb);
    ppml_bfv_ct_free(out);
}

/* The HPS product against exact integer arithmetic: lift both ciphertexts centred to Z,
 * tensor with schoolbook negacyclic products, round(t x / Q), reduce mod Q. */
static void test_mul_exact(void)
{
    static const unsigned bitsets[][4] = {{30, 30, 31, 0}, {55, 58, 60, 60}};
    static const size_t counts[] = {3, 4};
    for (int set = 0; set < 2; set++) {
        ppml_bfv_params *p;
        const size_t n = 32;
        CHECK_OK(ppml_bfv_params_from_bits(&p, n, bitsets[set], counts[set], 17 + 20 * set, 1));
        ppml_bfv_sk *sk;
        ppml_bfv_pk *pk;
        CHECK_OK(ppml_bfv_keygen(p, &sk, &pk));
        ppml_bfv_pt *pt;
        ppml_bfv_ct *ca, *cb, *out;
        CHECK_OK(ppml_bfv_pt_new(p, &pt));
        CHECK_OK(ppml_bfv_ct_new(p, &ca));
        CHECK_OK(ppml_bfv_ct_new(p, &cb));
        CHECK_OK(ppml_bfv_ct_new(p, &out));
        /* Random ciphertexts (uniform residues) exercise the worst case. */
        for (int trial = 0; trial < 4; trial++) {
            for (size_t j = 0; j < 2; j++)
                for (size_t i = 0; i < p->k; i++) {
                    ppmli_sample_uniform(bfv_ct_poly(ca, j) + i * n, n, p->primes[i], NULL);
                    ppmli_sample_uniform(bfv_ct_poly(cb, j) + i * n, n, p->primes[i], NULL);
                }
            if (trial == 3) /* extreme residues: all q_i - 1 -> x = -1; and 0 */
                for (size_t i = 0; i < p->k; i++)
                    for (size_t c = 0; c < n; c++) {
                        bfv_ct_poly(ca, 0)[i * n + c] = p->primes[i] - 1;
                        bfv_ct_poly(cb, 1)[i * n + c] = 0;
                    }
            CHECK_OK(ppml_bfv_mul(out, ca, cb));
            mpz_t *A = malloc(2 * n * sizeof(mpz_t)), *B = malloc(2 * n * sizeof(mpz_t));
            mpz_t *C = malloc(3 * n * sizeof(mpz_t));
            mpz_t tmp, halfq, got, diff;
            mpz_inits(tmp, halfq, got, diff, NULL);
            mpz_fdiv_q_2exp(halfq, p->Q, 1);
            for (size_t x = 0; x < 2 * n; x++) {
                mpz_init(A[x]);
                mpz_init(B[x]);
            }
            for (size_t x = 0; x < 3 * n; x++)
                mpz_init(C[x]);
            /* CRT lift, centred */
            for (int which = 0; which < 2; which++)
                for (size_t j = 0; j < 2; j++)
                    for (size_t c = 0; c < n; c++) {
                        mpz_t *dst = which ? &B[j * n + c] : &A[j * n + c];
                        const ppml_bfv_ct *ct = which ? cb : ca;
                        mpz_set_ui(*dst, 0);
                        for (size_t i = 0; i < p->k; i++) {
                            mpz_set_ui(tmp, p->primes[i]);
                            mpz_t r;
                            mpz_init_set_ui(r, bfv_ct_poly(ct, j)[i * n + c]);
                            mpz_mul(r, r, p->qhat[i]);
                            mpz_t inv;
                            mpz_init(inv);
                            mpz_invert(inv, p->qhat[i], tmp);
                            mpz_mul(r, r, inv);
                            mpz_add(*dst, *dst, r);
                            mpz_clear(r);
                            mpz_clear(inv);
                        }
                        mpz_mod(*dst, *dst, p->Q);
                        if (mpz_cmp(*dst, halfq) > 0)
                            mpz_sub(*dst, *dst, p->Q);
                    }
            /* tensor */
            for (size_t u = 0; u < n; u++)
                for (size_t w = 0; w < n; w++) {
                    size_t d = (u + w) % n;
                    int neg = u + w >= n;
                    for (int comp = 0; comp < 4; comp++) {
                        int ja = comp >> 1, jb = comp & 1;
                        mpz_mul(tmp, A[ja * n + u], B[jb * n + w]);
                        mpz_t *dst = &C[(size_t)(ja + jb) * n + d];
                        if (neg)
                            mpz_sub(*dst, *dst, tmp);
                        else
                            mpz_add(*dst, *dst, tmp);
                    }
                }
            /* round(t x / Q) mod Q, compare */
            long worst = 0;
            for (size_t x = 0; x < 3 * n; x++) {
                mpz_mul_ui(tmp, C[x], p->t);
                mpz_mul_2exp(tmp, tmp, 1);
                mpz_add(tmp, tmp, p->Q);
                mpz_mul_2exp(diff, p->Q, 1);
                mpz_fdiv_q(tmp, tmp, diff); /* floor((2tx + Q) / 2Q) = round(tx/Q) */
                mpz_mod(tmp, tmp, p->Q);
                size_t j = x / n, c = x % n;
                mpz_set_ui(got, 0);
                for (size_t i = 0; i < p->k; i++) {
                    mpz_set_ui(diff, p->primes[i]);
                    mpz_t r, inv;
                    mpz_init_set_ui(r, bfv_ct_poly(out, j)[i * n + c]);
                    mpz_init(inv);
                    mpz_invert(inv, p->qhat[i], diff);
                    mpz_mul(r, r, inv);
                    mpz_mul(r, r, p->qhat[i]);
                    mpz_add(got, got, r);
                    mpz_clear(r);
                    mpz_clear(inv);
                }
                mpz_sub(diff, got, tmp);
                mpz_mod(diff, diff, p->Q);
                if (mpz_cmp(diff, halfq) > 0)
                    mpz_sub(diff, diff, p->Q);
                long e = labs(mpz_get_si(diff));
                if (mpz_sizeinbase(diff, 2) > 40)
                    e = 1L << 40;
                if (e > worst)
                    worst = e;
            }
            /* Fixed-point rounding of the fraction: off by at most one. */
            CHECK(worst <= 1);
            if (worst > 1)
                fprintf(stderr, "set %d trial %d: worst deviation %ld\n", set, trial, worst);
            for (size_t x = 0; x < 2 * n; x++) {
                mpz_clear(A[x]);
                mpz_clear(B[x]);
            }
            for (size_t x = 0; x < 3 * n; x++)
                mpz_clear(C[x]);
            free(A);
            free(B);
            free(C);
            mpz_clears(tmp, halfq, got, diff, NULL);
        }
        ppml_bfv_ct_free(ca);
        ppml_bfv_ct_free(cb);
        ppml_bfv_ct_free(out);
        ppml_bfv_pt_free(pt);
        ppml_bfv_sk_free(sk);
        ppml_bfv_pk_free(pk);
        ppml_bfv_params_free(p);
    }
}

/* Multiply until the budget is gone: results are right while the budget is > 0, and the
 * budget reaches 0. */
static void test_noise_chain(fixture *f)
{
    const size_t n = f->n;
    const uint64_t t = f->t;
    uint64_t *acc = malloc(n * 8), *b = malloc(n * 8);
    ppml_bfv_pt *pt;
    ppml_bfv_ct *ca, *cb;
    CHECK_OK(ppml_bfv_pt_new(f->p, &pt));
    CHECK_OK(ppml_bfv_ct_new(f->p, &ca));
    CHECK_OK(ppml_bfv_ct_new(f->p, &cb));
    rand_slots(acc, n, t);
    CHECK_OK(ppml_bfv_encode_u64(pt, acc, n));
    CHECK_OK(ppml_bfv_encrypt(f->pk, ca, pt));
    int bits = 0, prev = 1 << 30, steps = 0, zero_seen = 0;
    CHECK_OK(ppml_bfv_noise_budget(f->sk, ca, &bits));
    while (steps < 20) {
        rand_slots(b, n, t);
        CHECK_OK(ppml_bfv_encode_u64(pt, b, n));
        CHECK_OK(ppml_bfv_encrypt(f->pk, cb, pt));
        CHECK_OK(ppml_bfv_mul_relin(f->rlk, ca, ca, cb));
        for (size_t i = 0; i < n; i++)
            acc[i] = mulmod_t(acc[i], b[i], t);
        CHECK_OK(ppml_bfv_noise_budget(f->sk, ca, &bits));
        CHECK(bits < prev || bits == 0);
        prev = bits;
        steps++;
        if (bits > 0) {
            CHECK(dec_equals(f->sk, ca, acc));
        } else {
            zero_seen = 1;
            break;
        }
    }
    printf("noise chain: budget 0 after %d multiplications\n", steps);
    CHECK(zero_seen && steps >= 2);
    free(acc);
    free(b);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ca);
    ppml_bfv_ct_free(cb);
}

static void expect_rot(const uint64_t *v, uint64_t *want, size_t n, long step, int swap)
{
    size_t half = n / 2;
    long r = step % (long)half;
    if (r < 0)
        r += (long)half;
    for (size_t i = 0; i < n; i++) {
        size_t row = i / half, col = i % half;
        if (swap)
            want[i] = v[(1 - row) * half + col];
        else
            want[i] = v[row * half + (col + (size_t)r) % half];
    }
}

static void test_rotations(fixture *f, int all_steps)
{
    const size_t n = f->n, half = n / 2;
    uint64_t *v = malloc(n * 8), *want = malloc(n * 8);
    ppml_bfv_pt *pt;
    ppml_bfv_ct *ct, *out;
    CHECK_OK(ppml_bfv_pt_new(f->p, &pt));
    CHECK_OK(ppml_bfv_ct_new(f->p, &ct));
    CHECK_OK(ppml_bfv_ct_new(f->p, &out));
    rand_slots(v, n, f->t);
    CHECK_OK(ppml_bfv_encode_u64(pt, v, n));
    CHECK_OK(ppml_bfv_encrypt(f->pk, ct, pt));
    /* Power-of-two keys: every step by composition. */
    ppml_bfv_galk *gk;
    CHECK_OK(ppml_bfv_galois_keygen(f->sk, &gk, NULL, 0, 1));
    size_t stride = all_steps ? (test_sanitized() ? 37 : 1) : half / 5;
    int ok = 1;
    for (size_t s = 0; s <= half; s += stride) {
        CHECK_OK(ppml_bfv_rotate_rows(gk, out, ct, (int)s));
        expect_rot(v, want, n, (long)s, 0);
        ok &= dec_equals(f->sk, out, want);
    }
    CHECK(ok);
    for (long s = -1; s >= -(long)half; s -= (long)(stride * 3 + 2)) {
        CHECK_OK(ppml_bfv_rotate_rows(gk, out, ct, (int)s));
        expect_rot(v, want, n, s, 0);
        CHECK(dec_equals(f->sk, out, want));
    }
    CHECK_OK(ppml_bfv_rotate_columns(gk, out, ct));
    expect_rot(v, want, n, 0, 1);
    CHECK(dec_equals(f->sk, out, want));
    /* In place, twice. */
    CHECK_OK(ppml_bfv_ct_copy(out, ct));
    CHECK_OK(ppml_bfv_rotate_rows(gk, out, out, 3));
    CHECK_OK(ppml_bfv_rotate_rows(gk, out, out, 4));
    expect_rot(v, want, n, 7, 0);
    CHECK(dec_equals(f->sk, out, want));
    /* Sliding row sums with widths 1, 2, 64 and n/2. */
    static const size_t widths[] = {1, 2, 64, 0};
    for (int wi = 0; wi < 4; wi++) {
        size_t width = widths[wi] ? widths[wi] : half;
        CHECK_OK(ppml_bfv_rotate_sum(gk, out, ct, width));
        for (size_t i = 0; i < n; i++) {
            size_t row = i / half, col = i % half;
            uint64_t sum = 0;
            for (size_t d = 0; d < width; d++)
                sum = (sum + v[row * half + (col + d) % half]) % f->t;
            want[i] = sum;
        }
        CHECK(dec_equals(f->sk, out, want));
    }
    CHECK_ERR(ppml_bfv_rotate_sum(gk, out, ct, 3), PPML_EINVAL);
    ppml_bfv_galk_free(gk);
    /* Exact keys for a requested list; a missing key is reported. */
    int steps[3] = {5, -7, (int)half - 1};
    CHECK_OK(ppml_bfv_galois_keygen(f->sk, &gk, steps, 3, 0));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(ppml_bfv_rotate_rows(gk, out, ct, steps[i]));
        expect_rot(v, want, n, steps[i], 0);
        CHECK(dec_equals(f->sk, out, want));
    }
    CHECK_ERR(ppml_bfv_rotate_rows(gk, out, ct, 6), PPML_ENOKEY);
    CHECK_ERR(ppml_bfv_rotate_columns(gk, out, ct), PPML_ENOKEY);
    int badstep = (int)half;
    CHECK_ERR(ppml_bfv_galois_keygen(f->sk, &gk, &badstep, 1, 0), PPML_EINVAL);
    ppml_bfv_galk_free(gk);
    free(v);
    free(want);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ct);
    ppml_bfv_ct_free(out);
}

/* Concurrent use: shared keys, per-thread ciphertexts (the header's thread rule). */
typedef struct thread_job {
    fixture *f;
    uint64_t seed;
    int ok;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    fixture *f = job->f;
    const size_t n = f->n;
    uint64_t *a = malloc(n * 8), *want = malloc(n * 8);
    ppml_bfv_pt *pt = NULL;
    ppml_bfv_ct *ct = NULL;
    job->ok = a && want && ppml_bfv_pt_new(f->p, &pt) == PPML_OK && ppml_bfv_ct_new(f->p, &ct) == PPML_OK;
    for (int r = 0; r < 4 && job->ok; r++) {
        for (size_t i = 0; i < n; i++) {
            a[i] = (job->seed * 2654435761u + i * 40503u + (uint64_t)r) % f->t;
            want[i] = mulmod_t(a[i], a[i], f->t);
        }
        job->ok = ppml_bfv_encode_u64(pt, a, n) == PPML_OK && ppml_bfv_encrypt(f->pk, ct, pt) == PPML_OK &&
                  ppml_bfv_mul_relin(f->rlk, ct, ct, ct) == PPML_OK && dec_equals(f->sk, ct, want);
    }
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ct);
    free(a);
    free(want);
    return NULL;
}

static void test_threads(fixture *f)
{
    pthread_t th[3];
    thread_job jobs[3];
    for (int i = 0; i < 3; i++) {
        jobs[i].f = f;
        jobs[i].seed = (uint64_t)i + 1;
        jobs[i].ok = 0;
        CHECK(pthread_create(&th[i], NULL, thread_main, &jobs[i]) == 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].ok);
    }
}

/* Long chains exercise the non-lazy and the Barrett paths of key switching (k > 8, and
 * k * q above 2^64) and wide base extensions: products, relinearisation and rotations. */
static void test_long_chains(void)
{
    unsigned b1[11], b2[18];
    for (int i = 0; i < 11; i++)
        b1[i] = i == 10 ? 31 : 30;
    for (int i = 0; i < 18; i++)
        b2[i] = 60;
    const unsigned *sets[2] = {b1, b2};
    const size_t counts[2] = {11, 18};
    for (int set = 0; set < 2; set++) {
        fixture f;
        CHECK(fixture_init(&f, 32, sets[set], counts[set], 17, 1) == 0);
        if (!f.p)
            continue;
        CHECK(f.p->k == counts[set] - 1);
        uint64_t a[32], b[32], want[32];
        rand_slots(a, 32, f.t);
        rand_slots(b, 32, f.t);
        ppml_bfv_pt *pa, *pb;
        ppml_bfv_ct *ca, *cb;
        ppml_bfv_galk *gk;
        CHECK_OK(ppml_bfv_pt_new(f.p, &pa));
        CHECK_OK(ppml_bfv_pt_new(f.p, &pb));
        CHECK_OK(ppml_bfv_ct_new(f.p, &ca));
        CHECK_OK(ppml_bfv_ct_new(f.p, &cb));
        CHECK_OK(ppml_bfv_galois_keygen(f.sk, &gk, NULL, 0, 1));
        CHECK_OK(ppml_bfv_encode_u64(pa, a, 32));
        CHECK_OK(ppml_bfv_encode_u64(pb, b, 32));
        CHECK_OK(ppml_bfv_encrypt(f.pk, ca, pa));
        CHECK_OK(ppml_bfv_encrypt(f.pk, cb, pb));
        CHECK_OK(ppml_bfv_mul_relin(f.rlk, cb, ca, cb));
        for (int i = 0; i < 32; i++)
            want[i] = mulmod_t(a[i], b[i], f.t);
        CHECK(dec_equals(f.sk, cb, want));
        CHECK_OK(ppml_bfv_mul_relin(f.rlk, cb, cb, cb));
        for (int i = 0; i < 32; i++)
            want[i] = mulmod_t(want[i], want[i], f.t);
        CHECK(dec_equals(f.sk, cb, want));
        CHECK_OK(ppml_bfv_rotate_rows(gk, ca, ca, 3));
        expect_rot(a, want, 32, 3, 0);
        CHECK(dec_equals(f.sk, ca, want));
        int bits = 0;
        CHECK_OK(ppml_bfv_noise_budget(f.sk, cb, &bits));
        CHECK(bits > 0);
        ppml_bfv_galk_free(gk);
        ppml_bfv_pt_free(pa);
        ppml_bfv_pt_free(pb);
        ppml_bfv_ct_free(ca);
        ppml_bfv_ct_free(cb);
        fixture_clear(&f);
    }
}

int main(void)
{
    test_init();
    test_seed(7);
    test_params();
    static const unsigned small_bits[] = {50, 50, 51};
    fixture f;
    CHECK(fixture_init(&f, 1024, small_bits, 3, 20, 1) == 0);
    test_encode_encrypt(&f);
    test_flood(&f);
    test_ops(&f);
    test_noise_chain(&f);
    test_rotations(&f, 1);
    test_threads(&f);
    fixture_clear(&f);
    test_mul_exact();
    test_long_chains();
    /* One run at each default size. */
    static const unsigned b4096[] = {36, 36, 37};
    CHECK(fixture_init(&f, 4096, b4096, 3, 20, 0) == 0);
    test_ops(&f);
    test_rotations(&f, 0);
    fixture_clear(&f);
    static const unsigned b8192[] = {43, 43, 44, 44, 44};
    CHECK(fixture_init(&f, 8192, b8192, 5, 20, 0) == 0);
    if (!test_sanitized())
        test_ops(&f);
    test_noise_chain(&f);
    test_flood(&f);
    fixture_clear(&f);
    /* A 40-bit t (the diagnosis use): products of large slot values stay exact. */
    CHECK(fixture_init(&f, 8192, b8192, 5, 40, 0) == 0);
    CHECK(f.t >> 39 == 1);
    {
        uint64_t *a = malloc(f.n * 8), *b = malloc(f.n * 8), *want = malloc(f.n * 8);
        ppml_bfv_pt *pa, *pb;
        ppml_bfv_ct *ca, *cb;
        CHECK_OK(ppml_bfv_pt_new(f.p, &pa));
        CHECK_OK(ppml_bfv_pt_new(f.p, &pb));
        CHECK_OK(ppml_bfv_ct_new(f.p, &ca));
        CHECK_OK(ppml_bfv_ct_new(f.p, &cb));
        rand_slots(a, f.n, f.t);
        rand_slots(b, f.n, f.t);
        CHECK_OK(ppml_bfv_encode_u64(pa, a, f.n));
        CHECK_OK(ppml_bfv_encode_u64(pb, b, f.n));
        CHECK_OK(ppml_bfv_encrypt(f.pk, ca, pa));
        CHECK_OK(ppml_bfv_encrypt(f.pk, cb, pb));
        CHECK_OK(ppml_bfv_mul_relin(f.rlk, cb, ca, cb));
        CHECK_OK(ppml_bfv_mul_plain(cb, cb, pa));
        for (size_t i = 0; i < f.n; i++)
            want[i] = mulmod_t(mulmod_t(a[i], b[i], f.t), a[i], f.t);
        CHECK(dec_equals(f.sk, cb, want));
        int bits = 0;
        CHECK_OK(ppml_bfv_noise_budget(f.sk, cb, &bits));
        printf("t of 40 bits: budget %d bits after a product and a plaintext product\n", bits);
        CHECK(bits > 0);
        free(a);
        free(b);
        free(want);
        ppml_bfv_pt_free(pa);
        ppml_bfv_pt_free(pb);
        ppml_bfv_ct_free(ca);
        ppml_bfv_ct_free(cb);
    }
    fixture_clear(&f);
    return test_finish("test_bfv");
}
