/* BFV serialization: load o save = id for every object, determinism under a test seed,
 * corrupted, truncated, out-of-range and mismatched inputs refused. */
#include "test.h"

#include "crypto/bfv/bfv_internal.h"
#include "ppml/bfv.h"
#include "ppml/mem.h"
#include "ppml/serial.h"

static int same_bytes(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
    return la == lb && memcmp(a, b, la) == 0;
}

typedef int (*load_fn)(const ppml_bfv_params *, void **, const uint8_t *, size_t);

/* Mutations every loader must refuse: truncation, extension, bad magic, wrong type,
 * wrong params id, total length mismatch. */
static void refuse_mutations(const ppml_bfv_params *p, const uint8_t *buf, size_t len, load_fn load)
{
    uint8_t *m = malloc(len + 8);
    void *obj = NULL;
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_FAILS(load(p, &obj, buf, len - 1));
    CHECK_FAILS(load(p, &obj, buf, PPML_HEADER_LEN));
    CHECK_FAILS(load(p, &obj, buf, 10));
    memcpy(m, buf, len);
    memset(m + len, 0, 8);
    CHECK_FAILS(load(p, &obj, m, len + 8));
    m[0] ^= 1; /* magic */
    CHECK_FAILS(load(p, &obj, m, len));
    m[0] ^= 1;
    m[8] ^= 0x7; /* type */
    CHECK_FAILS(load(p, &obj, m, len));
    m[8] ^= 0x7;
    m[20] ^= 0x80; /* params id */
    CHECK_ERR(load(p, &obj, m, len), PPML_EMISMATCH);
    m[20] ^= 0x80;
    m[12] ^= 1; /* total_len */
    CHECK_FAILS(load(p, &obj, m, len));
    CHECK(obj == NULL);
    free(m);
}

#define LOADER(name, type)                                                                       \
    static int load_##name(const ppml_bfv_params *p, void **o, const uint8_t *b, size_t l)       \
    {                                                                                            \
        type *x = NULL;                                                                          \
        int rc = ppml_bfv_##name##_load(p, &x, b, l);                                            \
        if (rc == PPML_OK)                                                                       \
            *o = x;                                                                              \
        return rc;                                                                               \
    }
LOADER(sk, ppml_bfv_sk)
LOADER(pk, ppml_bfv_pk)
LOADER(rlk, ppml_bfv_rlk)
LOADER(galk, ppml_bfv_galk)
LOADER(pt, ppml_bfv_pt)
LOADER(ct, ppml_bfv_ct)
LOADER(decshare, ppml_bfv_decshare)
LOADER(rkey, ppml_bfv_rkey)
LOADER(poly, ppml_bfv_poly)
LOADER(rkg_share, ppml_bfv_rkg_share)

static void put_u64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static unsigned bits_of(uint64_t q) { return 64 - (unsigned)__builtin_clzll(q); }

/* Residues are bit-packed per row (bits of the row's modulus). Byte offset of row `row` of
 * a body whose rows cycle through primes 0 .. period-1. */
static size_t row_offset(const ppml_bfv_params *p, size_t row, size_t period, size_t n)
{
    size_t off = 0;
    for (size_t r = 0; r < row; r++)
        off += n * bits_of(ppml_bfv_params_prime(p, r % period)) / 8;
    return off;
}

/* Make the first residue of a row all ones: 2^bits - 1 > q (q = 1 mod 2n is never 2^b - 1). */
static void poison_residue(uint8_t *at, unsigned bits)
{
    for (unsigned i = 0; i < bits / 8; i++)
        at[i] = 0xff;
    if (bits % 8)
        at[bits / 8] |= (uint8_t)((1u << (bits % 8)) - 1);
}

/* The packed residue format against an independent bit-by-bit packer: coefficient c of a
 * row takes bits [c*b, (c+1)*b) of the row, little endian (b = bits of the modulus). n = 16
 * with 19- and 17-bit t: rows of 38 and 34 bytes, so the last word is partial. */
static void test_packing_format(void)
{
    static const unsigned bits[] = {50, 50, 51};
    for (unsigned tb = 17; tb <= 19; tb += 2) {
        ppml_bfv_params *p;
        CHECK_OK(ppml_bfv_params_from_bits(&p, 16, bits, 3, tb, 1));
        if (!p)
            return;
        uint64_t t = ppml_bfv_params_t(p), c[16], back[16];
        unsigned b = 64 - (unsigned)__builtin_clzll(t);
        for (int rep = 0; rep < 50; rep++) {
            for (int i = 0; i < 16; i++)
                c[i] = rep == 0 ? t - 1 : ppml_rand_below(t); /* all-ones-ish first */
            ppml_bfv_pt *pt, *pt2 = NULL;
            uint8_t *buf;
            size_t len;
            CHECK_OK(ppml_bfv_pt_new(p, &pt));
            CHECK_OK(ppml_bfv_pt_set_coeffs(pt, c, 16));
            CHECK_OK(ppml_bfv_pt_save(pt, &buf, &len));
            uint8_t want[64] = {0};
            size_t bytes = (16 * b + 7) / 8;
            for (size_t k = 0; k < 16; k++)
                for (unsigned i = 0; i < b; i++) {
                    size_t at = k * b + i;
                    want[at / 8] |= (uint8_t)(((c[k] >> i) & 1) << (at % 8));
                }
            CHECK(len == 52 + bytes);
            CHECK(len == 52 + bytes && memcmp(buf + 52, want, bytes) == 0);
            CHECK_OK(ppml_bfv_pt_load(p, &pt2, buf, len));
            CHECK_OK(ppml_bfv_pt_get_coeffs(pt2, back, 16));
            CHECK(memcmp(back, c, sizeof c) == 0);
            ppml_bfv_pt_free(pt);
            ppml_bfv_pt_free(pt2);
            free(buf);
        }
        ppml_bfv_params_free(p);
    }
}

int main(void)
{
    test_init();
    test_seed(21);
    test_packing_format();
    static const unsigned bits[] = {50, 50, 51};
    ppml_bfv_params *p, *p2, *other;
    CHECK_OK(ppml_bfv_params_from_bits(&p, 1024, bits, 3, 20, 1));
    CHECK_OK(ppml_bfv_params_from_bits(&other, 1024, bits, 3, 17, 1));
    const size_t n = 1024;

    /* Params. */
    uint8_t *pb, *pb2;
    size_t pl, pl2;
    CHECK_OK(ppml_bfv_params_save(p, &pb, &pl));
    CHECK_OK(ppml_bfv_params_load(&p2, pb, pl));
    CHECK(memcmp(ppml_bfv_params_id(p), ppml_bfv_params_id(p2), 32) == 0);
    CHECK_OK(ppml_bfv_params_save(p2, &pb2, &pl2));
    CHECK(same_bytes(pb, pl, pb2, pl2));
    ppml_bfv_params_free(p2);
    free(pb2);
    {
        uint8_t *m = malloc(pl);
        memcpy(m, pb, pl);
        m[pl - 1] = 0; /* clear the insecure flag: the set is now checked and refused */
        p2 = NULL;
        CHECK_ERR(ppml_bfv_params_load(&p2, m, pl), PPML_EWEAK);
        memcpy(m, pb, pl);
        m[PPML_HEADER_LEN + 4] ^= 2; /* t changes: invalid */
        CHECK_FAILS(ppml_bfv_params_load(&p2, m, pl));
        memcpy(m, pb, pl);
        m[PPML_HEADER_LEN + 12] = 40; /* prime count beyond the body */
        CHECK_FAILS(ppml_bfv_params_load(&p2, m, pl));
        memcpy(m, pb, pl);
        m[30] ^= 1; /* id in the header no longer matches */
        CHECK_ERR(ppml_bfv_params_load(&p2, m, pl), PPML_EMISMATCH);
        CHECK_FAILS(ppml_bfv_params_load(&p2, m, pl - 3));
        CHECK(p2 == NULL);
        free(m);
    }
    /* A secure default set saves and loads. */
    {
        ppml_bfv_params *d, *d2;
        uint8_t *b;
        size_t l;
        CHECK_OK(ppml_bfv_params_default(&d, 8192, 20));
        CHECK_OK(ppml_bfv_params_save(d, &b, &l));
        CHECK_OK(ppml_bfv_params_load(&d2, b, l));
        CHECK(!ppml_bfv_params_is_insecure(d2) && ppml_bfv_params_log_qp(d2) == 218);
        ppml_bfv_params_free(d);
        ppml_bfv_params_free(d2);
        free(b);
    }
    free(pb);

    ppml_bfv_sk *sk;
    ppml_bfv_pk *pk;
    ppml_bfv_rlk *rlk;
    ppml_bfv_galk *gk;
    CHECK_OK(ppml_bfv_keygen(p, &sk, &pk));
    CHECK_OK(ppml_bfv_relin_keygen(sk, &rlk));
    int steps[2] = {1, -3};
    CHECK_OK(ppml_bfv_galois_keygen(sk, &gk, steps, 2, 1));
    uint64_t *v = malloc(n * 8), *w = malloc(n * 8);
    for (size_t i = 0; i < n; i++)
        v[i] = ppml_rand_below(ppml_bfv_params_t(p));
    ppml_bfv_pt *pt;
    ppml_bfv_ct *ct, *ct3;
    CHECK_OK(ppml_bfv_pt_new(p, &pt));
    CHECK_OK(ppml_bfv_ct_new(p, &ct));
    CHECK_OK(ppml_bfv_ct_new(p, &ct3));
    CHECK_OK(ppml_bfv_encode_u64(pt, v, n));
    CHECK_OK(ppml_bfv_encrypt(pk, ct, pt));
    CHECK_OK(ppml_bfv_mul(ct3, ct, ct));

    /* sk: round trip decrypts the same; byte-identical re-save. */
    uint8_t *b, *b2;
    size_t l, l2;
    void *obj;
    CHECK_OK(ppml_bfv_sk_save(sk, &b, &l));
    ppml_bfv_sk *sk2;
    CHECK_OK(ppml_bfv_sk_load(p, &sk2, b, l));
    CHECK_OK(ppml_bfv_sk_save(sk2, &b2, &l2));
    CHECK(same_bytes(b, l, b2, l2));
    CHECK_OK(ppml_bfv_decrypt(sk2, pt, ct));
    CHECK_OK(ppml_bfv_decode_u64(pt, w, n));
    CHECK(memcmp(v, w, n * 8) == 0);
    refuse_mutations(p, b, l, load_sk);
    CHECK_ERR(ppml_bfv_sk_load(other, &sk2, b, l), PPML_EMISMATCH);
    b[PPML_HEADER_LEN + 5] = 3; /* not a small coefficient */
    obj = NULL;
    CHECK_ERR(load_sk(p, &obj, b, l), PPML_ERANGE);
    ppml_bfv_sk_free(sk2);
    ppml_memzero(b, l);
    free(b);
    ppml_memzero(b2, l2);
    free(b2);

    /* pk: encrypt with the loaded key. */
    CHECK_OK(ppml_bfv_pk_save(pk, &b, &l));
    ppml_bfv_pk *pk2;
    CHECK_OK(ppml_bfv_pk_load(p, &pk2, b, l));
    CHECK_OK(ppml_bfv_pk_save(pk2, &b2, &l2));
    CHECK(same_bytes(b, l, b2, l2));
    ppml_bfv_ct *ctx;
    CHECK_OK(ppml_bfv_ct_new(p, &ctx));
    CHECK_OK(ppml_bfv_encrypt(pk2, ctx, pt));
    CHECK_OK(ppml_bfv_decrypt(sk, pt, ctx));
    CHECK_OK(ppml_bfv_decode_u64(pt, w, n));
    CHECK(memcmp(v, w, n * 8) == 0);
    refuse_mutations(p, b, l, load_pk);
    poison_residue(b + PPML_HEADER_LEN, bits_of(ppml_bfv_params_prime(p, 0))); /* residue > modulus */
    obj = NULL;
    CHECK_ERR(load_pk(p, &obj, b, l), PPML_ERANGE);
    poison_residue(b + PPML_HEADER_LEN + row_offset(p, 5, 3, n), bits_of(ppml_bfv_params_prime(p, 2))); /* last row */
    CHECK_ERR(load_pk(p, &obj, b, l), PPML_ERANGE);
    ppml_bfv_pk_free(pk2);
    free(b);
    free(b2);

    /* rlk: relinearise with the loaded key. */
    CHECK_OK(ppml_bfv_rlk_save(rlk, &b, &l));
    ppml_bfv_rlk *rlk2;
    CHECK_OK(ppml_bfv_rlk_load(p, &rlk2, b, l));
    CHECK_OK(ppml_bfv_relinearize(rlk2, ctx, ct3));
    for (size_t i = 0; i < n; i++)
        w[i] = (uint64_t)(((ppmli_u128)v[i] * v[i]) % ppml_bfv_params_t(p));
    uint64_t *got = malloc(n * 8);
    CHECK_OK(ppml_bfv_decrypt(sk, pt, ctx));
    CHECK_OK(ppml_bfv_decode_u64(pt, got, n));
    CHECK(memcmp(got, w, n * 8) == 0);
    refuse_mutations(p, b, l, load_rlk);
    poison_residue(b + PPML_HEADER_LEN + row_offset(p, 11, 3, n), bits_of(ppml_bfv_params_prime(p, 2)));
    obj = NULL;
    CHECK_ERR(load_rlk(p, &obj, b, l), PPML_ERANGE);
    ppml_bfv_rlk_free(rlk2);
    free(b);

    /* Galois keys: rotate with the loaded set. */
    CHECK_OK(ppml_bfv_galk_save(gk, &b, &l));
    ppml_bfv_galk *gk2;
    CHECK_OK(ppml_bfv_galk_load(p, &gk2, b, l));
    CHECK_OK(ppml_bfv_galk_save(gk2, &b2, &l2));
    CHECK(same_bytes(b, l, b2, l2));
    CHECK_OK(ppml_bfv_rotate_rows(gk2, ctx, ct, -3));
    CHECK_OK(ppml_bfv_decrypt(sk, pt, ctx));
    CHECK_OK(ppml_bfv_decode_u64(pt, got, n));
    CHECK(got[5] == v[2] && got[n / 2 + 7] == v[n / 2 + 4]);
    refuse_mutations(p, b, l, load_galk);
    obj = NULL;
    b[PPML_HEADER_LEN] = 0xff; /* count too large */
    CHECK_FAILS(load_galk(p, &obj, b, l));
    memcpy(b, b2, l);
    put_u64(b + PPML_HEADER_LEN + 4, 2); /* even Galois element (u32 + next 4 bytes) */
    CHECK_FAILS(load_galk(p, &obj, b, l));
    ppml_bfv_galk_free(gk2);
    free(b);
    free(b2);

    /* Plaintext and ciphertexts (size 2 and 3). */
    CHECK_OK(ppml_bfv_encode_u64(pt, v, n));
    CHECK_OK(ppml_bfv_pt_save(pt, &b, &l));
    ppml_bfv_pt *pt2;
    CHECK_OK(ppml_bfv_pt_load(p, &pt2, b, l));
    CHECK_OK(ppml_bfv_decode_u64(pt2, got, n));
    CHECK(memcmp(got, v, n * 8) == 0);
    refuse_mutations(p, b, l, load_pt);
    poison_residue(b + PPML_HEADER_LEN, bits_of(ppml_bfv_params_t(p)));
    obj = NULL;
    CHECK_ERR(load_pt(p, &obj, b, l), PPML_ERANGE);
    ppml_bfv_pt_free(pt2);
    free(b);
    for (int s = 0; s < 2; s++) {
        ppml_bfv_ct *src = s ? ct3 : ct, *back;
        CHECK_OK(ppml_bfv_ct_save(src, &b, &l));
        CHECK(l == ppml_bfv_ct_bytes(src));
        CHECK_OK(ppml_bfv_ct_load(p, &back, b, l));
        CHECK(ppml_bfv_ct_size(back) == ppml_bfv_ct_size(src));
        CHECK_OK(ppml_bfv_decrypt(sk, pt, back));
        CHECK_OK(ppml_bfv_decode_u64(pt, got, n));
        CHECK(memcmp(got, s ? w : v, n * 8) == 0);
        refuse_mutations(p, b, l, load_ct);
        CHECK_ERR(ppml_bfv_ct_load(other, &back, b, l), PPML_EMISMATCH);
        obj = NULL;
        b[PPML_HEADER_LEN] = 4; /* size */
        CHECK_FAILS(load_ct(p, &obj, b, l));
        b[PPML_HEADER_LEN] = (uint8_t)(s ? 3 : 2);
        poison_residue(b + PPML_HEADER_LEN + 1 + row_offset(p, 1, 2, n), bits_of(ppml_bfv_params_prime(p, 1)));
        CHECK_ERR(load_ct(p, &obj, b, l), PPML_ERANGE);
        ppml_bfv_ct_free(back);
        free(b);
    }

    /* Seed-compressed secret-key encryption: about half the size, loads and decrypts. */
    {
        uint8_t *cb;
        size_t cl;
        ppml_bfv_ct *back;
        CHECK_OK(ppml_bfv_encode_u64(pt, v, n));
        CHECK_OK(ppml_bfv_encrypt_sk_save(sk, pt, &cb, &cl));
        CHECK(cl < ppml_bfv_ct_bytes(ct) / 2 + 64);
        CHECK_OK(ppml_bfv_ct_load(p, &back, cb, cl));
        CHECK_OK(ppml_bfv_decrypt(sk, pt, back));
        CHECK_OK(ppml_bfv_decode_u64(pt, got, n));
        CHECK(memcmp(got, v, n * 8) == 0);
        int budget = 0;
        CHECK_OK(ppml_bfv_noise_budget(sk, back, &budget));
        CHECK(budget > 20);
        ppml_bfv_ct_free(back);
        refuse_mutations(p, cb, cl, load_ct);
        obj = NULL;
        cb[10] = 3; /* unknown flag */
        CHECK_FAILS(load_ct(p, &obj, cb, cl));
        cb[10] = 1;
        cb[PPML_HEADER_LEN] = 3; /* seeded form is size 2 only */
        CHECK_FAILS(load_ct(p, &obj, cb, cl));
        cb[PPML_HEADER_LEN] = 2;
        cb[cl - 1] ^= 1; /* another seed: loads, but no longer decrypts to v */
        CHECK_OK(ppml_bfv_ct_load(p, &back, cb, cl));
        CHECK_OK(ppml_bfv_decrypt(sk, pt, back));
        CHECK_OK(ppml_bfv_decode_u64(pt, got, n));
        CHECK(memcmp(got, v, n * 8) != 0);
        ppml_bfv_ct_free(back);
        free(cb);
    }

    /* Two-party objects. */
    uint8_t seed[32] = {5};
    ppml_bfv_poly *poly;
    CHECK_OK(ppml_bfv_ckg_share(sk, seed, &poly));
    CHECK_OK(ppml_bfv_poly_save(poly, &b, &l));
    ppml_bfv_poly *poly2;
    CHECK_OK(ppml_bfv_poly_load(p, &poly2, b, l));
    CHECK_OK(ppml_bfv_poly_save(poly2, &b2, &l2));
    CHECK(same_bytes(b, l, b2, l2));
    refuse_mutations(p, b, l, load_poly);
    ppml_bfv_poly_free(poly2);
    free(b);
    free(b2);
    ppml_bfv_decshare *ds, *ds2;
    ppml_bfv_sk *zero_sk;
    CHECK_OK(ppml_bfv_sk_new(p, &zero_sk));
    CHECK_OK(ppml_bfv_decrypt_share(sk, ct, 40, &ds));
    CHECK_OK(ppml_bfv_decshare_save(ds, &b, &l));
    CHECK_OK(ppml_bfv_decshare_load(p, &ds2, b, l));
    CHECK_OK(ppml_bfv_decshare_save(ds2, &b2, &l2));
    CHECK(same_bytes(b, l, b2, l2));
    refuse_mutations(p, b, l, load_decshare);
    ppml_bfv_decshare_free(ds);
    ppml_bfv_decshare_free(ds2);
    ppml_bfv_sk_free(zero_sk);
    free(b);
    free(b2);
    ppml_bfv_rkey *rk, *rk2;
    CHECK_OK(ppml_bfv_rkey_gen(sk, pk, &rk));
    CHECK_OK(ppml_bfv_rkey_save(rk, &b, &l));
    CHECK_OK(ppml_bfv_rkey_load(p, &rk2, b, l));
    CHECK_OK(ppml_bfv_rkey_save(rk2, &b2, &l2));
    CHECK(same_bytes(b, l, b2, l2));
    refuse_mutations(p, b, l, load_rkey);
    ppml_bfv_rkey_free(rk);
    ppml_bfv_rkey_free(rk2);
    free(b);
    free(b2);
    ppml_bfv_rkg_state *st;
    ppml_bfv_rkg_share *sh, *sh2;
    CHECK_OK(ppml_bfv_rkg_round1(sk, seed, &st, &sh));
    CHECK_OK(ppml_bfv_rkg_share_save(sh, &b, &l));
    CHECK_OK(ppml_bfv_rkg_share_load(p, &sh2, b, l));
    CHECK_OK(ppml_bfv_rkg_share_save(sh2, &b2, &l2));
    CHECK(same_bytes(b, l, b2, l2));
    refuse_mutations(p, b, l, load_rkg_share);
    ppml_bfv_rkg_state_free(st);
    ppml_bfv_rkg_share_free(sh);
    ppml_bfv_rkg_share_free(sh2);
    free(b);
    free(b2);

    /* Determinism: the same test seed gives byte-identical keys and ciphertexts. */
    {
        uint8_t *k1, *k2, *c1, *c2;
        size_t kl1, kl2, cl1, cl2;
        ppml_bfv_sk *a1, *a2;
        ppml_bfv_pk *q1, *q2;
        test_seed(99);
        CHECK_OK(ppml_bfv_keygen(p, &a1, &q1));
        CHECK_OK(ppml_bfv_encrypt(q1, ctx, pt));
        CHECK_OK(ppml_bfv_pk_save(q1, &k1, &kl1));
        CHECK_OK(ppml_bfv_ct_save(ctx, &c1, &cl1));
        test_seed(99);
        CHECK_OK(ppml_bfv_keygen(p, &a2, &q2));
        CHECK_OK(ppml_bfv_encrypt(q2, ctx, pt));
        CHECK_OK(ppml_bfv_pk_save(q2, &k2, &kl2));
        CHECK_OK(ppml_bfv_ct_save(ctx, &c2, &cl2));
        CHECK(same_bytes(k1, kl1, k2, kl2) && same_bytes(c1, cl1, c2, cl2));
        free(k1);
        free(k2);
        free(c1);
        free(c2);
        ppml_bfv_sk_free(a1);
        ppml_bfv_sk_free(a2);
        ppml_bfv_pk_free(q1);
        ppml_bfv_pk_free(q2);
    }

    ppml_bfv_poly_free(poly);
    free(v);
    free(w);
    free(got);
    ppml_bfv_ct_free(ctx);
    ppml_bfv_ct_free(ct);
    ppml_bfv_ct_free(ct3);
    ppml_bfv_pt_free(pt);
    ppml_bfv_galk_free(gk);
    ppml_bfv_rlk_free(rlk);
    ppml_bfv_sk_free(sk);
    ppml_bfv_pk_free(pk);
    ppml_bfv_params_free(other);
    ppml_bfv_params_free(p);
    return test_finish("test_bfv_serial");
}
