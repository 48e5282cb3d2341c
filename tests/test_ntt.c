/* Ring layer: modular arithmetic, primes, NTT (pinned vectors from tests/gen), samplers. */
#include "test.h"

#include "crypto/ntt/ring.h"

#include <math.h>

static uint64_t rnd_below(uint64_t q) { return ppml_rand_below(q); }

static void test_modarith(void)
{
    static const unsigned bits[] = {2, 17, 30, 31, 32, 50, 59, 60, 61, 62};
    for (size_t b = 0; b < sizeof bits / sizeof bits[0]; b++) {
        uint64_t q = ((uint64_t)1 << bits[b]) - 1 - 2 * (ppml_rand_u64() % 1000);
        if (bits[b] == 2)
            q = 3;
        ppmli_mod m;
        ppmli_mod_init(&m, q);
        CHECK(m.bits == bits[b]);
        int ok = 1;
        for (int i = 0; i < 2000; i++) {
            uint64_t a = rnd_below(q), c = rnd_below(q), x = ppml_rand_u64();
            ppmli_u128 big = ((ppmli_u128)ppml_rand_u64() << 64) | ppml_rand_u64();
            ok &= ppmli_mulmod(&m, a, c) == (uint64_t)(((ppmli_u128)a * c) % q);
            ok &= ppmli_reduce64(&m, x) == x % q;
            ok &= ppmli_reduce128(&m, big) == (uint64_t)(big % q);
            uint64_t cp = ppmli_shoup(c, q);
            ok &= ppmli_shoup_ct(&m, c) == cp && ppmli_shoup_ct(&m, q - 1) == ppmli_shoup(q - 1, q) &&
                  ppmli_shoup_ct(&m, 0) == 0 && ppmli_shoup_ct(&m, 1) == ppmli_shoup(1, q);
            uint64_t lz = ppmli_mul_shoup_lazy(x, c, cp, q);
            ok &= lz < 2 * q && lz % q == (uint64_t)(((ppmli_u128)x * c) % q);
            ok &= ppmli_mul_shoup(a, c, cp, q) == (uint64_t)(((ppmli_u128)a * c) % q);
            if (q < ((uint64_t)1 << 62)) { /* Montgomery: x < q 2^64 -> x 2^-64 in [0, 2q) */
                ppmli_u128 xm = ((ppmli_u128)ppml_rand_below(q) << 64) | ppml_rand_u64();
                uint64_t r = ppmli_redc_lazy(&m, xm);
                ppmli_u128 back = ((ppmli_u128)(r % q) << 64) % q;
                ok &= r < 2 * q && (uint64_t)back == (uint64_t)(xm % q);
            }
            ok &= ppmli_from_signed(-(int64_t)(a % 50), q) == (q - a % 50) % q;
        }
        /* Edge values. */
        ok &= ppmli_reduce128(&m, ~(ppmli_u128)0) == (uint64_t)(~(ppmli_u128)0 % q);
        ok &= ppmli_reduce64(&m, ~(uint64_t)0) == ~(uint64_t)0 % q;
        ok &= ppmli_mulmod(&m, q - 1, q - 1) == 1;
        CHECK(ok);
    }
    /* Primality and prime generation. */
    CHECK(ppmli_is_prime(2) && ppmli_is_prime(3) && !ppmli_is_prime(1) && !ppmli_is_prime(0));
    CHECK(ppmli_is_prime(2305843009213693951ULL));  /* 2^61 - 1 */
    CHECK(!ppmli_is_prime(3215031751ULL));          /* strong pseudoprime to 2,3,5,7 */
    CHECK(!ppmli_is_prime(4759123141ULL * 3));
    uint64_t p[4];
    CHECK(ppmli_gen_primes(p, 4, 40, 16384, NULL, 0) == 4);
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        ok &= ppmli_is_prime(p[i]) && p[i] % 16384 == 1 && (p[i] >> 39) == 1;
        if (i)
            ok &= p[i] < p[i - 1];
    }
    CHECK(ok);
    uint64_t p2[2];
    CHECK(ppmli_gen_primes(p2, 2, 40, 16384, p, 1) == 2 && p2[0] == p[1]);
    /* t for batching: 20-bit prime = 1 mod 2n */
    CHECK(ppmli_gen_primes(p, 1, 20, 16384, NULL, 0) == 1 && p[0] == 1032193);
}

static int read_u64s(FILE *f, const char *tag, uint64_t *v, size_t n)
{
    char word[16];
    if (fscanf(f, "%15s", word) != 1 || strcmp(word, tag) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned long long x;
        if (fscanf(f, "%llu", &x) != 1)
            return -1;
        v[i] = x;
    }
    return 0;
}

static void test_vectors(void)
{
    FILE *f = fopen("tests/vectors/ntt_vectors.txt", "r");
    CHECK(f != NULL);
    if (!f)
        return;
    int c;
    while ((c = fgetc(f)) != '\n' && c != EOF) /* skip the comment line */
        ;
    int cases = 0;
    for (;;) {
        char word[16];
        unsigned long long n, q, psi;
        if (fscanf(f, "%15s %llu %llu %llu", word, &n, &q, &psi) != 4)
            break;
        CHECK(strcmp(word, "case") == 0);
        uint64_t *in = malloc(n * 8), *out = malloc(n * 8), *a = malloc(n * 8);
        CHECK(in && out && a && read_u64s(f, "in", in, n) == 0 && read_u64s(f, "out", out, n) == 0);
        /* The prime is the largest of its size = 1 mod 2n; the root is the smallest. */
        unsigned bits = 64 - (unsigned)__builtin_clzll(q);
        uint64_t g;
        CHECK(ppmli_gen_primes(&g, 1, bits, 2 * n, NULL, 0) == 1 && g == q);
        ppmli_ntt t;
        CHECK(ppmli_ntt_init(&t, n, q) == 0);
        CHECK(t.psi == psi);
        memcpy(a, in, n * 8);
        ppmli_ntt_fwd(&t, a);
        CHECK(memcmp(a, out, n * 8) == 0);
        ppmli_ntt_inv(&t, a);
        CHECK(memcmp(a, in, n * 8) == 0);
        ppmli_ntt_clear(&t);
        free(in);
        free(out);
        free(a);
        cases++;
    }
    CHECK(cases == 5);
    fclose(f);
}

static void schoolbook(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, const ppmli_mod *m)
{
    for (size_t i = 0; i < n; i++)
        r[i] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            uint64_t p = ppmli_mulmod(m, a[i], b[j]);
            size_t k = i + j;
            if (k < n)
                r[k] = ppmli_addmod(r[k], p, m->q);
            else
                r[k - n] = ppmli_submod(r[k - n], p, m->q);
        }
}

static void test_ntt_props(void)
{
    static const size_t ns[] = {4, 8, 32, 256, 1024, 4096, 32768};
    static const unsigned bits[] = {20, 36, 44, 50, 60, 61};
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
        size_t n = ns[ni];
        for (size_t bi = 0; bi < sizeof bits / sizeof bits[0]; bi++) {
            uint64_t q;
            if (ppmli_gen_primes(&q, 1, bits[bi], 2 * n, NULL, 0) != 1)
                continue;
            ppmli_ntt t;
            CHECK(ppmli_ntt_init(&t, n, q) == 0);
            uint64_t *a = malloc(n * 8), *b = malloc(n * 8), *c = malloc(n * 8), *r = malloc(n * 8);
            for (size_t i = 0; i < n; i++) {
                a[i] = rnd_below(q);
                b[i] = rnd_below(q);
            }
            /* Lazy forward accepts [0, 4q) and stays there; INTT o NTT = id. */
            memcpy(c, a, n * 8);
            for (size_t i = 0; i < n; i += 3)
                c[i] += (i % 2 ? 2 : 3) * q;
            ppmli_ntt_fwd_lazy(&t, c);
            int ok = 1;
            for (size_t i = 0; i < n; i++)
                ok &= c[i] < 4 * q;
            ppmli_reduce_4q(c, n, q);
            ppmli_ntt_inv_lazy(&t, c);
            for (size_t i = 0; i < n; i++)
                ok &= c[i] < 2 * q;
            ppmli_reduce_2q(c, n, q);
            ok &= memcmp(a, c, n * 8) == 0;
            /* The Montgomery-scaled inverse multiplies by 2^64 mod q. */
            ppmli_ntt_fwd(&t, c);
            ppmli_ntt_inv_mont(&t, c);
            uint64_t r64 = (uint64_t)(((ppmli_u128)1 << 64) % q);
            for (size_t i = 0; i < n; i++)
                ok &= c[i] == (uint64_t)(((ppmli_u128)a[i] * r64) % q);
            CHECK(ok);
            /* Evaluation convention: A[k] = a(psi^(2 brv(k) + 1)) (spot checks). */
            memcpy(c, a, n * 8);
            ppmli_ntt_fwd(&t, c);
            for (int s = 0; s < 3; s++) {
                size_t k = (size_t)rnd_below(n);
                uint64_t x = ppmli_powmod(&t.mod, t.psi, 2 * ppmli_brv(k, t.logn) + 1), acc = 0, pw = 1;
                for (size_t i = 0; i < n; i++) {
                    acc = ppmli_addmod(acc, ppmli_mulmod(&t.mod, a[i], pw), q);
                    pw = ppmli_mulmod(&t.mod, pw, x);
                }
                CHECK(acc == c[k]);
            }
            /* Negacyclic product via NTT = schoolbook (small n only). */
            if (n <= 256) {
                memcpy(c, b, n * 8);
                uint64_t *d = malloc(n * 8);
                memcpy(d, a, n * 8);
                ppmli_ntt_fwd(&t, d);
                ppmli_ntt_fwd(&t, c);
                for (size_t i = 0; i < n; i++)
                    d[i] = ppmli_mulmod(&t.mod, d[i], c[i]);
                ppmli_ntt_inv(&t, d);
                schoolbook(r, a, b, n, &t.mod);
                CHECK(memcmp(r, d, n * 8) == 0);
                free(d);
            }
            ppmli_ntt_clear(&t);
            free(a);
            free(b);
            free(c);
            free(r);
        }
    }
    /* Bad inputs refused. */
    ppmli_ntt t;
    CHECK(ppmli_ntt_init(&t, 6, 97) != 0);
    CHECK(ppmli_ntt_init(&t, 2, 97) != 0); /* n >= 4 */
    CHECK(ppmli_ntt_init(&t, 16, 91) != 0);
    CHECK(ppmli_ntt_init(&t, 64, 97) != 0); /* 97 != 1 mod 128 */
}

/* NTT tables for the largest prime of `bits` bits, = 1 mod 2n: 1 made, 0 no such prime
 * (skip), -1 the tables were refused. */
static int table_for(ppmli_ntt *t, size_t n, unsigned bits)
{
    uint64_t q;
    if (ppmli_gen_primes(&q, 1, bits, 2 * n, NULL, 0) != 1)
        return 0;
    return ppmli_ntt_init(t, n, q) == 0 ? 1 : -1;
}

/* The AVX2 path gives the same words as the scalar path (lazy outputs included). */
static void test_avx2_matches(void)
{
    if (!ppmli_ntt_have_avx2()) {
        printf("test_ntt: no AVX2 on this CPU, SIMD comparison skipped\n");
        return;
    }
    static const size_t ns[] = {4, 8, 16, 64, 1024, 4096, 8192, 32768};
    static const unsigned bits[] = {17, 36, 44, 55, 61};
    int ok = 1, cases = 0;
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
        for (size_t bi = 0; bi < sizeof bits / sizeof bits[0]; bi++) {
            size_t n = ns[ni];
            ppmli_ntt t;
            int made = table_for(&t, n, bits[bi]);
            ok &= made >= 0;
            if (made <= 0)
                continue;
            const uint64_t q = t.mod.q;
            uint64_t *a = malloc(n * 8), *b = malloc(n * 8);
            for (size_t i = 0; i < n; i++)
                a[i] = ppml_rand_below(4 * q);
            a[0] = 4 * q - 1;
            memcpy(b, a, n * 8);
            ppmli_ntt_fwd_lazy_c(&t, a);
            ppmli_ntt_fwd_lazy_avx2(&t, b);
            ok &= memcmp(a, b, n * 8) == 0;
            for (size_t i = 0; i < n; i++)
                a[i] = ppml_rand_below(2 * q);
            a[n - 1] = 2 * q - 1;
            memcpy(b, a, n * 8);
            ppmli_ntt_inv_lazy_c(&t, a);
            ppmli_ntt_inv_lazy_avx2(&t, b);
            ok &= memcmp(a, b, n * 8) == 0;
            free(a);
            free(b);
            ppmli_ntt_clear(&t);
            cases++;
        }
    CHECK(ok && cases > 30);
    /* Element-wise add/sub (AVX2 when available) against the scalar formulas. */
    uint64_t q = ((uint64_t)1 << 61) - 1, x[103], y[103], o[103];
    ok = 1;
    for (int i = 0; i < 103; i++) {
        x[i] = i < 3 ? q - 1 : ppml_rand_below(q);
        y[i] = i < 2 ? q - 1 : (i < 5 ? 0 : ppml_rand_below(q));
    }
    ppmli_vec_add(o, x, y, 103, q);
    for (int i = 0; i < 103; i++)
        ok &= o[i] == (uint64_t)(((ppmli_u128)x[i] + y[i]) % q);
    ppmli_vec_sub(o, x, y, 103, q);
    for (int i = 0; i < 103; i++)
        ok &= o[i] == (uint64_t)(((ppmli_u128)x[i] + q - y[i]) % q);
    CHECK(ok);
}

/* The AVX-512 IFMA path (primes < 2^50) gives the same residues as the scalar path and keeps
 * its lazy ranges: forward [0, 4q), inverse [0, 2q) (a lazy word may differ by q). */
static void test_ifma_matches(void)
{
    if (!ppmli_ntt_have_ifma()) {
        printf("test_ntt: no AVX-512 IFMA on this CPU, IFMA comparison skipped\n");
        return;
    }
    static const size_t ns[] = {16, 32, 64, 1024, 4096, 8192, 16384, 32768};
    static const unsigned bits[] = {17, 30, 36, 43, 44, 49, 50};
    int ok = 1, cases = 0;
    const size_t nbits = sizeof bits / sizeof bits[0];
    for (size_t c = 0; c < nbits * (sizeof ns / sizeof ns[0]); c++) { /* every (n, bits) */
        const size_t n = ns[c / nbits];
        ppmli_ntt t;
        int made = table_for(&t, n, bits[c % nbits]);
        ok &= made >= 0 && (made == 0 || t.ifma);
        if (made <= 0)
            continue;
        const uint64_t q = t.mod.q;
        uint64_t *a = malloc(n * 8), *b = malloc(n * 8);
        for (int rep = 0; rep < 3; rep++) {
            for (size_t i = 0; i < n; i++)
                a[i] = rep == 2 ? 4 * q - 1 : ppml_rand_below(4 * q); /* rep 2: all at the top */
            a[0] = 4 * q - 1;
            memcpy(b, a, n * 8);
            ppmli_ntt_fwd_lazy_c(&t, a);
            ppmli_ntt_fwd_lazy_ifma(&t, b);
            for (size_t i = 0; i < n; i++)
                ok &= b[i] < 4 * q && a[i] % q == b[i] % q;
            for (size_t i = 0; i < n; i++)
                a[i] = rep == 2 ? 2 * q - 1 : ppml_rand_below(2 * q);
            a[n - 1] = 2 * q - 1;
            memcpy(b, a, n * 8);
            ppmli_ntt_inv_lazy_c(&t, a);
            ppmli_ntt_inv_lazy_ifma(&t, b);
            for (size_t i = 0; i < n; i++)
                ok &= b[i] < 2 * q && a[i] % q == b[i] % q;
        }
        free(a);
        free(b);
        ppmli_ntt_clear(&t);
        cases++;
    }
    /* Primes of 51 bits and more keep the 64-bit path (no 52-bit constants). */
    ppmli_ntt t;
    CHECK(table_for(&t, 1024, 51) == 1);
    CHECK(!t.ifma && !t.tw_sh52);
    ppmli_ntt_clear(&t);
    CHECK(ok && cases > 40);
}

/* The IFMA key-switching inner product against 128-bit accumulation and Barrett, on random
 * inputs and at the top of the range (x = xmax - 1, keys q - 1), up to the largest k the
 * kernel accepts (sums just below 2^104). */
static int dot2_case(uint64_t q, size_t k, uint64_t xmax, size_t n, int top)
{
    ppmli_mod m;
    ppmli_mod_init(&m, q);
    if (!ppmli_dot2_ifma_ok(&m, k, xmax, n))
        return 0;
    uint64_t *buf = malloc((3 * k + 2) * n * 8);
    const uint64_t *x[16], *b[16], *a[16];
    for (size_t d = 0; d < k; d++) {
        uint64_t *xd = buf + 3 * d * n, *bd = xd + n, *ad = bd + n;
        for (size_t i = 0; i < n; i++) {
            int t = top == 1 || (top == 2 && (i + d) % 3 == 0);
            xd[i] = t ? xmax - 1 : ppml_rand_below(xmax);
            bd[i] = t ? q - 1 : ppml_rand_below(q);
            ad[i] = t || i % 5 == 0 ? q - 1 : ppml_rand_below(q);
        }
        x[d] = xd;
        b[d] = bd;
        a[d] = ad;
    }
    uint64_t *o0 = buf + 3 * k * n, *o1 = o0 + n;
    ppmli_dot2_ifma(&m, o0, o1, x, b, a, k, n);
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        ppmli_u128 s0 = 0, s1 = 0;
        for (size_t d = 0; d < k; d++) {
            s0 += (ppmli_u128)x[d][i] * b[d][i];
            s1 += (ppmli_u128)x[d][i] * a[d][i];
        }
        ok &= o0[i] == ppmli_reduce128(&m, s0) && o1[i] == ppmli_reduce128(&m, s1);
    }
    free(buf);
    return ok ? 1 : -1;
}

static void test_dot2_ifma(void)
{
    if (!ppmli_ntt_have_ifma()) {
        printf("test_ntt: no AVX-512 IFMA on this CPU, key-switching product comparison skipped\n");
        return;
    }
    static const unsigned bits[] = {17, 36, 43, 44, 49, 50};
    static const size_t ks[] = {1, 2, 4, 5, 8};
    int ok = 1, cases = 0;
    for (size_t bi = 0; bi < sizeof bits / sizeof bits[0]; bi++) {
        uint64_t q;
        CHECK(ppmli_gen_primes(&q, 1, bits[bi], 16, NULL, 0) == 1);
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
            for (int top = 0; top < 3; top++)
                for (int lazy = 0; lazy < 2; lazy++) {
                    int r = dot2_case(q, ks[ki], lazy ? 4 * q : q, top == 0 && ki == 2 ? 8192 : 64, top);
                    ok &= r >= 0;
                    cases += r > 0;
                }
    }
    /* At the edges of what the kernel accepts: 52-bit inputs, q just below 2^50, k = 4 (sums
     * just below 2^104) runs; k = 5 there, q >= 2^50, xmax > 2^52, n % 8 != 0 are refused. */
    uint64_t qt = ((uint64_t)1 << 50) - 27; /* prime */
    CHECK(ppmli_is_prime(qt));
    for (int top = 0; top < 3; top++) {
        int r = dot2_case(qt, 4, (uint64_t)1 << 52, 64, top);
        ok &= r > 0;
        cases += r > 0;
    }
    ppmli_mod m;
    ppmli_mod_init(&m, qt);
    CHECK(!ppmli_dot2_ifma_ok(&m, 5, (uint64_t)1 << 52, 64));
    CHECK(!ppmli_dot2_ifma_ok(&m, 4, ((uint64_t)1 << 52) + 1, 64));
    CHECK(!ppmli_dot2_ifma_ok(&m, 4, 4 * qt, 60));
    ppmli_mod_init(&m, ((uint64_t)1 << 50) + 55); /* prime */
    CHECK(ppmli_is_prime(m.q) && !ppmli_dot2_ifma_ok(&m, 1, 4, 64));
    CHECK(ok && cases > 150);
}

static void test_samplers(void)
{
    enum { N = 60000 };
    static int8_t v[N];
    ppmli_sample_ternary(v, N);
    int cnt[3] = {0};
    int ok = 1;
    for (int i = 0; i < N; i++) {
        ok &= v[i] >= -1 && v[i] <= 1;
        if (v[i] >= -1 && v[i] <= 1)
            cnt[v[i] + 1]++;
    }
    CHECK(ok);
    for (int i = 0; i < 3; i++)
        CHECK(cnt[i] > N / 3 - 1000 && cnt[i] < N / 3 + 1000);
    ppmli_sample_cbd(v, N);
    double mean = 0, var = 0;
    ok = 1;
    for (int i = 0; i < N; i++) {
        ok &= v[i] >= -PPMLI_CBD_ETA && v[i] <= PPMLI_CBD_ETA;
        mean += v[i];
        var += (double)v[i] * v[i];
    }
    mean /= N;
    var = var / N - mean * mean;
    CHECK(ok);
    CHECK(fabs(mean) < 0.1);
    CHECK(fabs(var - PPMLI_CBD_ETA / 2.0) < 0.5);
    /* Uniform: in range, and the PRG form is reproducible. */
    uint64_t a[1000], b[1000], q = 1000003;
    uint8_t seed[32] = {9};
    ppml_prg g;
    ppml_prg_init(&g, seed, 1);
    ppmli_sample_uniform(a, 1000, q, &g);
    ppml_prg_init(&g, seed, 1);
    ppmli_sample_uniform(b, 1000, q, &g);
    CHECK(memcmp(a, b, sizeof a) == 0);
    ppmli_sample_uniform(b, 1000, q, NULL);
    ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= a[i] < q && b[i] < q;
    CHECK(ok);
    ppml_prg_clear(&g);
}

int main(void)
{
    test_init();
    test_seed(1);
    test_modarith();
    test_vectors();
    test_ntt_props();
    test_avx2_matches();
    test_ifma_matches();
    test_dot2_ifma();
    test_samplers();
    return test_finish("test_ntt");
}
