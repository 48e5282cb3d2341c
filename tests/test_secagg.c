/* Secure aggregation: masks cancel exactly; one masked vector is uniform; the view of a
 * coalition of the aggregator and n - 2 workers depends on the honest inputs only through
 * their sum. */
#include "test.h"

#include "ppml/secagg.h"

#include <math.h>

static void test_cancel(void)
{
    enum { N = 7, LEN = 1000 };
    uint8_t pk[N][32], sk[N][32], pks[N * 32];
    for (int j = 0; j < N; j++) {
        CHECK_OK(ppml_secagg_keygen(pk[j], sk[j]));
        memcpy(pks + 32 * j, pk[j], 32);
    }
    ppml_secagg_party *p[N];
    for (int j = 0; j < N; j++)
        CHECK_OK(ppml_secagg_party_new(&p[j], (uint32_t)j, N, sk[j], pks));
    /* pairwise seeds are symmetric */
    uint8_t s1[32], s2[32];
    CHECK_OK(ppml_secagg_pair_seed(s1, 2, sk[2], pk[2], 5, pk[5]));
    CHECK_OK(ppml_secagg_pair_seed(s2, 5, sk[5], pk[5], 2, pk[2]));
    CHECK(memcmp(s1, s2, 32) == 0);
    CHECK_OK(ppml_secagg_pair_seed(s2, 5, sk[5], pk[5], 3, pk[3]));
    CHECK(memcmp(s1, s2, 32) != 0);

    static uint64_t v[N][LEN], y[N][LEN], prev[LEN], want[LEN], got[LEN];
    for (uint64_t round = 0; round < 4; round++) {
        memset(want, 0, sizeof want);
        memset(got, 0, sizeof got);
        for (int j = 0; j < N; j++) {
            for (int t = 0; t < LEN; t++)
                v[j][t] = ppml_rand_u64() >> (t % 64); /* wraps mod 2^64 when summed */
            memcpy(y[j], v[j], sizeof v[j]);
            CHECK_OK(ppml_secagg_mask(p[j], y[j], LEN, round));
            CHECK(memcmp(y[j], v[j], sizeof v[j]) != 0);
            ppml_secagg_add(want, v[j], LEN);
            ppml_secagg_add(got, y[j], LEN);
        }
        CHECK(memcmp(want, got, sizeof got) == 0);
        /* fresh masks per round: the same input masks differently */
        uint64_t z[LEN] = {0};
        CHECK_OK(ppml_secagg_mask(p[0], z, LEN, round));
        if (round > 0)
            CHECK(memcmp(z, prev, sizeof z) != 0);
        memcpy(prev, z, sizeof z);
    }
    /* errors */
    ppml_secagg_party *q = NULL;
    CHECK_ERR(ppml_secagg_party_new(&q, 1, N, sk[0], pks), PPML_EMISMATCH); /* not its own key */
    CHECK_ERR(ppml_secagg_party_new(&q, N, N, sk[0], pks), PPML_EINVAL);
    CHECK_ERR(ppml_secagg_party_new(&q, 0, 1, sk[0], pks), PPML_EINVAL);
    uint8_t bad[2 * 32];
    memcpy(bad, pks, 32);
    memset(bad + 32, 0, 32); /* low-order point: X25519 gives all zeros */
    CHECK_ERR(ppml_secagg_party_new(&q, 0, 2, sk[0], bad), PPML_ECRYPTO);
    CHECK(q == NULL);
    for (int j = 0; j < N; j++)
        ppml_secagg_party_free(p[j]);
    ppml_secagg_party_free(NULL);
}

/* Chi-square statistic of byte counts against uniform. */
static double chi2_bytes(const uint64_t *counts)
{
    double total = 0, c = 0;
    for (int b = 0; b < 256; b++)
        total += (double)counts[b];
    double e = total / 256;
    for (int b = 0; b < 256; b++)
        c += ((double)counts[b] - e) * ((double)counts[b] - e) / e;
    return c;
}

/* df = 255: P[chi2 > 330.5] ~ 0.001. */
#define CHI2_LIMIT 330.5

static void test_uniform(void)
{
    enum { N = 3, LEN = 64 };
    unsigned rounds = test_sanitized() ? 200 : 600;
    uint8_t pk[N][32], sk[N][32], pks[N * 32];
    for (int j = 0; j < N; j++) {
        CHECK_OK(ppml_secagg_keygen(pk[j], sk[j]));
        memcpy(pks + 32 * j, pk[j], 32);
    }
    ppml_secagg_party *p1 = NULL;
    CHECK_OK(ppml_secagg_party_new(&p1, 1, N, sk[1], pks));
    uint64_t counts[256] = {0}, bits[64] = {0};
    for (unsigned r = 0; r < rounds; r++) {
        uint64_t y[LEN];
        for (int t = 0; t < LEN; t++)
            y[t] = (uint64_t)t; /* a very structured input */
        CHECK_OK(ppml_secagg_mask(p1, y, LEN, r));
        for (int t = 0; t < LEN; t++)
            for (int b = 0; b < 8; b++) {
                counts[(y[t] >> (8 * b)) & 255]++;
            }
        for (int t = 0; t < LEN; t++)
            for (int b = 0; b < 64; b++)
                bits[b] += (y[t] >> b) & 1;
    }
    CHECK(chi2_bytes(counts) < CHI2_LIMIT);
    double n = (double)rounds * LEN, sd = sqrt(n / 4);
    for (int b = 0; b < 64; b++)
        CHECK(fabs((double)bits[b] - n / 2) < 5 * sd);
    ppml_secagg_party_free(p1);
}

/* Coalition of the aggregator and workers {0, 2, 4} (n = 5) against honest workers 1 and 3.
 * The coalition knows every seed except s_13; subtracting the masks it knows from y_1 and y_3
 * leaves (v_1 + m_13, v_3 - m_13). For two honest input pairs with the same sum, the map
 * m_13 -> m_13 + (v_1 - v_1') carries one view onto the other (a bijection of Z_{2^64}^len),
 * so the views are identically distributed; we check (1) that decomposition exactly, and (2)
 * statistically that the residual is uniform for both inputs and its two distributions match. */
static void coalition_residual(uint64_t *r1, uint64_t *r3, const uint64_t *v1, const uint64_t *v3, size_t len,
                               uint64_t round, uint64_t *m13_out)
{
    enum { N = 5 };
    uint8_t pk[N][32], sk[N][32], pks[N * 32];
    for (int j = 0; j < N; j++) {
        if (ppml_secagg_keygen(pk[j], sk[j]) != PPML_OK)
            abort();
        memcpy(pks + 32 * j, pk[j], 32);
    }
    ppml_secagg_party *h1 = NULL, *h3 = NULL;
    CHECK_OK(ppml_secagg_party_new(&h1, 1, N, sk[1], pks));
    CHECK_OK(ppml_secagg_party_new(&h3, 3, N, sk[3], pks));
    memcpy(r1, v1, len * 8);
    memcpy(r3, v3, len * 8);
    CHECK_OK(ppml_secagg_mask(h1, r1, len, round));
    CHECK_OK(ppml_secagg_mask(h3, r3, len, round));
    /* coalition: remove masks shared with corrupted workers (it holds their secret keys) */
    uint64_t *m = malloc(len * 8);
    static const int corrupt[3] = {0, 2, 4};
    for (int c = 0; c < 3; c++) {
        int k = corrupt[c];
        uint8_t seed[32];
        CHECK_OK(ppml_secagg_pair_seed(seed, (uint32_t)k, sk[k], pk[k], 1, pk[1]));
        ppml_secagg_expand(m, len, seed, round);
        for (size_t t = 0; t < len; t++)
            r1[t] -= k > 1 ? m[t] : (uint64_t)0 - m[t];
        CHECK_OK(ppml_secagg_pair_seed(seed, (uint32_t)k, sk[k], pk[k], 3, pk[3]));
        ppml_secagg_expand(m, len, seed, round);
        for (size_t t = 0; t < len; t++)
            r3[t] -= k > 3 ? m[t] : (uint64_t)0 - m[t];
    }
    if (m13_out) { /* the honest pair's mask, for the exact decomposition check only */
        uint8_t seed[32];
        CHECK_OK(ppml_secagg_pair_seed(seed, 1, sk[1], pk[1], 3, pk[3]));
        ppml_secagg_expand(m13_out, len, seed, round);
    }
    free(m);
    ppml_secagg_party_free(h1);
    ppml_secagg_party_free(h3);
}

static void test_coalition(void)
{
    enum { LEN = 32 };
    uint64_t a[LEN], b[LEN], a2[LEN], b2[LEN], r1[LEN], r3[LEN], m13[LEN];
    for (int t = 0; t < LEN; t++) {
        a[t] = ppml_rand_u64();
        b[t] = ppml_rand_u64();
        a2[t] = (uint64_t)t * 1000; /* a very different input with the same sum */
        b2[t] = a[t] + b[t] - a2[t];
    }
    /* (1) exact: residuals are (v1 + m13, v3 - m13); with v' = v + delta the mask
     * m13' = m13 - delta gives the identical view. */
    coalition_residual(r1, r3, a, b, LEN, 7, m13);
    int exact = 1;
    for (int t = 0; t < LEN; t++) {
        exact &= r1[t] == a[t] + m13[t] && r3[t] == b[t] - m13[t];
        uint64_t m13p = m13[t] + (a[t] - a2[t]);
        exact &= r1[t] == a2[t] + m13p && r3[t] == b2[t] - m13p;
    }
    CHECK(exact);
    /* (2) statistics over fresh keys: residual bytes uniform for both inputs, and the two
     * samples from the same distribution (two-sample chi-square, df = 255). */
    unsigned trials = test_sanitized() ? 150 : 400;
    uint64_t ca[256] = {0}, cb[256] = {0};
    int sums_ok = 1;
    for (unsigned k = 0; k < trials; k++) {
        coalition_residual(r1, r3, a, b, LEN, k, NULL);
        for (int t = 0; t < LEN; t++) {
            sums_ok &= r1[t] + r3[t] == a[t] + b[t]; /* only the sum is revealed */
            for (int by = 0; by < 8; by++)
                ca[(r1[t] >> (8 * by)) & 255]++;
        }
        coalition_residual(r1, r3, a2, b2, LEN, k, NULL);
        for (int t = 0; t < LEN; t++) {
            sums_ok &= r1[t] + r3[t] == a[t] + b[t];
            for (int by = 0; by < 8; by++)
                cb[(r1[t] >> (8 * by)) & 255]++;
        }
    }
    CHECK(sums_ok);
    CHECK(chi2_bytes(ca) < CHI2_LIMIT);
    CHECK(chi2_bytes(cb) < CHI2_LIMIT);
    double two = 0;
    for (int i = 0; i < 256; i++) {
        double s = (double)ca[i] + (double)cb[i];
        if (s > 0)
            two += ((double)ca[i] - (double)cb[i]) * ((double)ca[i] - (double)cb[i]) / s;
    }
    CHECK(two < CHI2_LIMIT);
}

int main(void)
{
    test_init();
    test_seed(21);
    test_cancel();
    test_uniform();
    test_coalition();
    return test_finish("test_secagg");
}
