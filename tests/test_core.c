/* Core: errors, randomness, serialization framing, fixed point, discrete Laplace. */
#include "test.h"

#include "ppml/dp.h"
#include "ppml/fixed.h"
#include "ppml/mem.h"
#include "ppml/serial.h"

#include <math.h>
#include <unistd.h>

static void test_strerror(void)
{
    for (int c = 0; c >= -18; c--)
        CHECK(strcmp(ppml_strerror(c), "unknown error") != 0);
    CHECK(strcmp(ppml_strerror(-999), "unknown error") == 0);
}

static void test_rand(void)
{
    /* rand_below stays in range and hits every value of a small range. */
    int seen[7] = {0};
    for (int i = 0; i < 2000; i++) {
        uint64_t v = ppml_rand_below(7);
        CHECK(v < 7);
        if (v < 7)
            seen[v]++;
    }
    for (int i = 0; i < 7; i++)
        CHECK(seen[i] > 150);
    /* mpz_below and unit */
    mpz_t n, x, g;
    mpz_inits(n, x, g, NULL);
    mpz_set_ui(n, 1000003UL * 6UL);
    for (int i = 0; i < 200; i++) {
        ppml_rand_mpz_below(x, n);
        CHECK(mpz_cmp(x, n) < 0 && mpz_sgn(x) >= 0);
        ppml_rand_mpz_unit(x, n);
        mpz_gcd(g, x, n);
        CHECK(mpz_cmp_ui(g, 1) == 0 && mpz_sgn(x) > 0);
    }
    ppml_rand_mpz_bits(x, 13);
    CHECK(mpz_sizeinbase(x, 2) <= 13);
    mpz_clears(n, x, g, NULL);

    /* Test seed: same seed, same stream; cleared: back to the OS. */
    uint8_t a[64], b[64];
    test_seed(42);
    ppml_randombytes(a, sizeof a);
    test_seed(42);
    ppml_randombytes(b, sizeof b);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(ppml_rand_is_test_seeded());
    ppml_rand_clear_test_seed();
    CHECK(!ppml_rand_is_test_seeded());
    ppml_randombytes(b, sizeof b);
    CHECK(memcmp(a, b, sizeof a) != 0);

    /* PRG: deterministic, stream-separated, independent of read granularity. */
    uint8_t seed[32] = {1, 2, 3};
    ppml_prg p1, p2;
    uint8_t big[200], parts[200];
    ppml_prg_init(&p1, seed, 5);
    ppml_prg_bytes(&p1, big, sizeof big);
    ppml_prg_init(&p2, seed, 5);
    ppml_prg_bytes(&p2, parts, 3);
    ppml_prg_bytes(&p2, parts + 3, 100);
    ppml_prg_bytes(&p2, parts + 103, 97);
    CHECK(memcmp(big, parts, sizeof big) == 0);
    ppml_prg_init(&p2, seed, 6);
    ppml_prg_bytes(&p2, parts, sizeof parts);
    CHECK(memcmp(big, parts, sizeof big) != 0);
    /* Words are the little-endian reading of the same stream (as ppml_prg_u64 gives them). */
    uint64_t w[5];
    ppml_prg_init(&p1, seed, 5);
    ppml_prg_words(&p1, w, 5);
    ppml_prg_init(&p2, seed, 5);
    for (int i = 0; i < 5; i++)
        CHECK(w[i] == ppml_prg_u64(&p2));
    /* Fresh keys: distinct streams from the OS; reproducible under a test seed. */
    ppml_prg_init_fresh(&p1);
    ppml_prg_init_fresh(&p2);
    CHECK(ppml_prg_u64(&p1) != ppml_prg_u64(&p2));
    test_seed(9);
    ppml_prg_init_fresh(&p1);
    test_seed(9);
    ppml_prg_init_fresh(&p2);
    CHECK(ppml_prg_u64(&p1) == ppml_prg_u64(&p2));
    ppml_rand_clear_test_seed();
    ppml_prg_clear(&p1);
    ppml_prg_clear(&p2);
}

static void test_serial(void)
{
    uint8_t pid[32];
    ppml_hash256(pid, "params", 6);
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_PAILLIER_CT, 0, pid);
    ppml_write_u8(&w, 0xAB);
    ppml_write_u16(&w, 0xBEEF);
    ppml_write_u32(&w, 0xDEADBEEF);
    ppml_write_u64(&w, 0x0123456789ABCDEFULL);
    mpz_t x, y;
    mpz_inits(x, y, NULL);
    mpz_set_str(x, "123456789012345678901234567890", 10);
    ppml_write_mpz(&w, x);
    mpz_set_ui(x, 0);
    ppml_write_mpz(&w, x);
    CHECK_OK(ppml_writer_finish(&w, 0));
    uint8_t *buf;
    size_t len;
    CHECK_OK(ppml_writer_take(&w, &buf, &len));

    ppml_reader r;
    ppml_header h;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    ppml_reader_init(&r, buf, len);
    CHECK_OK(ppml_read_header(&r, &h, PPML_T_PAILLIER_CT, pid));
    CHECK(h.total_len == len && h.version == PPML_FORMAT_VERSION);
    CHECK_OK(ppml_read_u8(&r, &u8));
    CHECK_OK(ppml_read_u16(&r, &u16));
    CHECK_OK(ppml_read_u32(&r, &u32));
    CHECK_OK(ppml_read_u64(&r, &u64));
    CHECK(u8 == 0xAB && u16 == 0xBEEF && u32 == 0xDEADBEEF && u64 == 0x0123456789ABCDEFULL);
    CHECK_OK(ppml_read_mpz(&r, y, 64));
    mpz_set_str(x, "123456789012345678901234567890", 10);
    CHECK(mpz_cmp(x, y) == 0);
    CHECK_OK(ppml_read_mpz(&r, y, 64));
    CHECK(mpz_sgn(y) == 0);
    CHECK_OK(ppml_reader_done(&r));

    /* Wrong type, wrong param id, wrong version, bad magic, truncation, trailing bytes. */
    ppml_reader_init(&r, buf, len);
    CHECK_ERR(ppml_read_header(&r, &h, PPML_T_PAILLIER_PK, NULL), PPML_EFORMAT);
    uint8_t other[32] = {0};
    ppml_reader_init(&r, buf, len);
    CHECK_ERR(ppml_read_header(&r, &h, PPML_T_PAILLIER_CT, other), PPML_EMISMATCH);
    buf[6] = 9;
    ppml_reader_init(&r, buf, len);
    CHECK_ERR(ppml_read_header(&r, &h, PPML_T_PAILLIER_CT, NULL), PPML_EVERSION);
    buf[6] = PPML_FORMAT_VERSION;
    buf[0] = 'X';
    ppml_reader_init(&r, buf, len);
    CHECK_ERR(ppml_read_header(&r, &h, PPML_T_PAILLIER_CT, NULL), PPML_EFORMAT);
    buf[0] = 'P';
    for (size_t cut = 0; cut < len; cut++) {
        ppml_reader_init(&r, buf, cut);
        CHECK_FAILS(ppml_read_header(&r, &h, PPML_T_PAILLIER_CT, NULL));
    }
    /* mpz: over the size limit, non-minimal */
    ppml_reader_init(&r, buf + PPML_HEADER_LEN + 15, len - PPML_HEADER_LEN - 15);
    CHECK_ERR(ppml_read_mpz(&r, y, 4), PPML_ERANGE);
    uint8_t nonmin[] = {2, 0, 0, 0, 5, 0};
    ppml_reader_init(&r, nonmin, sizeof nonmin);
    CHECK_ERR(ppml_read_mpz(&r, y, 64), PPML_EFORMAT);
    uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 1};
    ppml_reader_init(&r, huge, sizeof huge);
    CHECK_FAILS(ppml_read_mpz(&r, y, SIZE_MAX));
    free(buf);
    mpz_clears(x, y, NULL);

    /* Writer refuses negative mpz. */
    ppml_writer_init(&w);
    mpz_init_set_si(x, -5);
    ppml_write_mpz(&w, x);
    CHECK(w.err == PPML_ERANGE);
    ppml_writer_clear(&w);
    mpz_clear(x);

    size_t s;
    CHECK_ERR(ppml_mul_size(&s, SIZE_MAX / 2, 3), PPML_EOVERFLOW);
    CHECK_OK(ppml_mul_size(&s, 1000, 1000));
    CHECK(s == 1000000);

    /* Atomic file write + bounded read. */
    char path[] = "/tmp/ppml_test_serial_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(ppml_file_write_atomic(path, "hello", 5, 0600));
    uint8_t *fb;
    size_t fl;
    CHECK_OK(ppml_file_read(path, &fb, &fl, 100));
    CHECK(fl == 5 && memcmp(fb, "hello", 5) == 0);
    free(fb);
    CHECK_ERR(ppml_file_read(path, &fb, &fl, 4), PPML_ERANGE);
    unlink(path);
    CHECK_ERR(ppml_file_read(path, &fb, &fl, 100), PPML_EIO);
}

static void test_fixed(void)
{
    int64_t v;
    CHECK_OK(ppml_fixed_encode(&v, 1.5, 16));
    CHECK(v == 98304);
    CHECK_OK(ppml_fixed_encode(&v, -0.25, 8));
    CHECK(v == -64);
    CHECK_OK(ppml_fixed_encode(&v, 0.0, 20));
    CHECK(v == 0);
    CHECK_ERR(ppml_fixed_encode(&v, NAN, 8), PPML_ERANGE);
    CHECK_ERR(ppml_fixed_encode(&v, INFINITY, 8), PPML_ERANGE);
    CHECK_ERR(ppml_fixed_encode(&v, 1e30, 8), PPML_ERANGE);
    CHECK_ERR(ppml_fixed_encode(&v, 1.0, 60), PPML_EINVAL);
    /* round trip within half an ulp */
    for (int i = 0; i < 1000; i++) {
        double x = ((double)(int64_t)(ppml_rand_u64() % 2000001) - 1000000.0) / 977.0;
        CHECK_OK(ppml_fixed_encode(&v, x, 20));
        CHECK(fabs(ppml_fixed_decode(v, 20) - x) <= ldexp(1, -21));
    }
    /* modular embedding, big and word-size */
    mpz_t m, a, c;
    mpz_inits(m, a, c, NULL);
    mpz_set_str(m, "1000000000000000000000007", 10);
    int64_t vals[] = {0, 1, -1, 123456789, -987654321, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        ppml_fixed_to_mod(a, vals[i], m);
        CHECK(mpz_sgn(a) >= 0 && mpz_cmp(a, m) < 0);
        int64_t back;
        CHECK_OK(ppml_fixed_centre_i64(&back, a, m));
        CHECK(back == vals[i]);
    }
    uint64_t t = 1032193;
    for (int64_t x = -516096; x <= 516096; x += 4099) {
        uint64_t e = ppml_fixed_to_mod_u64(x, t);
        CHECK(e < t);
        CHECK(ppml_fixed_centre_u64(e, t) == x);
    }
    mpz_clears(m, a, c, NULL);
}

/* Chi-square goodness of fit of the discrete Laplace sampler against its exact pmf
 * P[x] = (1 - e^{-1/s}) / (1 + e^{-1/s}) * e^{-|x|/s}. */
static double dlap_chi2(uint64_t num, uint64_t den, int samples, int vec, int *dof)
{
    double s = (double)num / (double)den;
    double q = exp(-1.0 / s);
    double c = (1 - q) / (1 + q);
    /* bins: |x| <= B individually, tails pooled; B where the expected count ~ 20 */
    int B = 0;
    while (B < 2000 && samples * c * pow(q, B + 1) > 20)
        B++;
    int nb = 2 * B + 3; /* [< -B], -B..B, [> B] */
    long *obs = calloc((size_t)nb, sizeof *obs);
    int64_t blk[8192];
    for (int i = 0; i < samples; i += 8192) {
        /* vec: the batched (keystream) path, in ciphertext-sized calls; else one at a time */
        int cnt = samples - i < 8192 ? samples - i : 8192;
        for (int k = 0; k < cnt && !vec; k++)
            CHECK_OK(ppml_dlap_sample(&blk[k], num, den));
        if (vec)
            CHECK_OK(ppml_dlap_sample_vec(blk, (size_t)cnt, num, den));
        for (int k = 0; k < cnt; k++) {
            int64_t x = blk[k];
            obs[x < -B ? 0 : x > B ? nb - 1 : (int)(x + B + 1)]++;
        }
    }
    double tail = c * pow(q, B + 1) / (1 - q);
    double chi2 = 0;
    for (int b = 0; b < nb; b++) {
        double p = (b == 0 || b == nb - 1) ? tail : c * pow(q, fabs((double)(b - B - 1)));
        double e = p * samples;
        chi2 += (obs[b] - e) * (obs[b] - e) / e;
    }
    free(obs);
    *dof = nb - 1;
    return chi2;
}

/* The division-free Bernoulli(num/den) against its exact probability: the observed
 * frequency lies within 5 standard deviations, for denominators that are and are not powers
 * of two (finite and infinite binary expansions) and near the 64-bit limit. */
static void test_bernoulli(void)
{
    struct { uint64_t num, den; } c[] = {
        {1, 3}, {2, 7}, {5, 8}, {1, 1000}, {999, 1000}, {1, 2},
        {UINT64_MAX / 3, UINT64_MAX}, {UINT64_MAX - 1, UINT64_MAX}, {(uint64_t)1 << 61, UINT64_MAX / 5},
        /* the edges of the 32-bits-at-a-time comparison (den < 2^32) and the bit loop past it */
        {UINT32_MAX / 3, UINT32_MAX}, {UINT32_MAX - 1, UINT32_MAX}, {(uint64_t)1 << 31, (uint64_t)1 << 32},
        {3, ((uint64_t)1 << 32) + 3},
    };
    int n = test_sanitized() ? 50000 : 200000;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        long ones = 0;
        for (int k = 0; k < n; k++) {
            int r = ppml_bernoulli(c[i].num, c[i].den);
            CHECK(r == 0 || r == 1);
            ones += r;
        }
        double p = (double)c[i].num / (double)c[i].den;
        double sd = sqrt(p * (1 - p) / n);
        CHECK(fabs(ones / (double)n - p) <= 5 * sd + 1e-12);
    }
    /* The test has power: a bias of 0.02 at p = 1/3 lies outside the 5-sigma band. */
    CHECK(5 * sqrt((1.0 / 3) * (2.0 / 3) / n) < 0.02);
    for (int k = 0; k < 1000; k++) {
        CHECK(ppml_bernoulli(0, 5) == 0);
        CHECK(ppml_bernoulli(5, 5) == 1);
    }
    CHECK_ERR(ppml_bernoulli(1, 0), PPML_EINVAL);
    CHECK_ERR(ppml_bernoulli(6, 5), PPML_EINVAL);
    /* Bernoulli(exp(-g)) at g = 0.5, 1, 2.25 */
    struct { uint64_t num, den; } g[] = {{1, 2}, {7, 7}, {9, 4}};
    for (size_t i = 0; i < 3; i++) {
        long ones = 0;
        for (int k = 0; k < n; k++)
            ones += ppml_bernoulli_exp(g[i].num, g[i].den);
        double p = exp(-(double)g[i].num / (double)g[i].den);
        CHECK(fabs(ones / (double)n - p) < 5 * sqrt(p * (1 - p) / n));
    }
    /* Under a test seed the sampler is reproducible (no bits carried across calls). */
    int64_t a[64], b[64];
    test_seed(7);
    CHECK_OK(ppml_dlap_sample_vec(a, 64, 1000, 3));
    CHECK_OK(ppml_dlap_sample(&a[0], 10, 1));
    test_seed(7);
    CHECK_OK(ppml_dlap_sample_vec(b, 64, 1000, 3));
    CHECK_OK(ppml_dlap_sample(&b[0], 10, 1));
    CHECK(memcmp(a, b, sizeof a) == 0);
    ppml_rand_clear_test_seed();
}

static void test_dlap(void)
{
    /* Bernoulli(exp(-g)) frequencies */
    int ones = 0, n = 100000;
    for (int i = 0; i < n; i++)
        ones += ppml_bernoulli_exp(3, 2);
    double p = exp(-1.5);
    CHECK(fabs(ones / (double)n - p) < 5 * sqrt(p * (1 - p) / n));
    CHECK(ppml_bernoulli_exp(0, 1) == 1);

    int64_t x;
    CHECK_ERR(ppml_dlap_sample(&x, 0, 1), PPML_EINVAL);
    CHECK_ERR(ppml_dlap_sample(&x, 1, 0), PPML_EINVAL);
    CHECK_ERR(ppml_dlap_sample(&x, (uint64_t)1 << 40, 1), PPML_EINVAL);

    /* Scales 1, 2.5 and 10, one at a time and through the batched keystream path, which also
     * sees the CLI's scale 2^28/2^20 (reduced to 256/1) and a scale near 1 with coprime
     * num, den near 2^32 (den k >= 2^32: the bit-by-bit Bernoulli): chi-square below the
     * 99.9 % quantile (approx. by dof + 3.1*sqrt(2 dof) + 10); a wrong scale or a sign bias
     * fails this clearly. */
    struct { uint64_t num, den; int vec; } sc[] = {
        {1, 1, 0}, {5, 2, 0}, {10, 1, 0}, {1, 1, 1}, {5, 2, 1}, {10, 1, 1},
        {(uint64_t)1 << 28, (uint64_t)1 << 20, 1}, {4294967291u, 4294967279u, 1},
    };
    int samples = test_sanitized() ? 100000 : 400000;
    for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) {
        int dof;
        double chi2 = dlap_chi2(sc[i].num, sc[i].den, samples, sc[i].vec, &dof);
        double crit = dof + 3.1 * sqrt(2.0 * dof) + 10;
        printf("dlap%s scale %llu/%llu: chi2 = %.1f, dof = %d, critical %.1f\n", sc[i].vec ? "_vec" : "",
               (unsigned long long)sc[i].num, (unsigned long long)sc[i].den, chi2, dof, crit);
        CHECK(chi2 < crit);
    }
    /* A deliberately wrong hypothesis must be rejected, one at a time and batched: samples at
     * scale 2 vs the pmf at 2.5. */
    for (int vec = 0; vec < 2; vec++) {
        double s = 2.5, q = exp(-1 / s), c = (1 - q) / (1 + q), chi2 = 0;
        int B = 8, nb = 2 * B + 3, dof = nb - 1;
        long obs[19] = {0};
        int64_t blk[250];
        for (int i = 0; i < samples; i += 250) {
            for (int k = 0; k < 250 && !vec; k++)
                CHECK_OK(ppml_dlap_sample(&blk[k], 2, 1));
            if (vec)
                CHECK_OK(ppml_dlap_sample_vec(blk, 250, 2, 1));
            for (int k = 0; k < 250; k++)
                obs[blk[k] < -B ? 0 : blk[k] > B ? nb - 1 : (int)(blk[k] + B + 1)]++;
        }
        double tail = c * pow(q, B + 1) / (1 - q);
        for (int b = 0; b < nb; b++) {
            double pr = (b == 0 || b == nb - 1) ? tail : c * pow(q, fabs((double)(b - B - 1)));
            chi2 += (obs[b] - pr * samples) * (obs[b] - pr * samples) / (pr * samples);
        }
        CHECK(chi2 > dof + 3.1 * sqrt(2.0 * dof) + 10);
    }
    /* Mean ~ 0 and variance = 2q/(1-q)^2 at scale 1000. */
    double sum = 0, sq = 0;
    int m = 200000;
    for (int i = 0; i < m; i++) {
        CHECK(ppml_dlap_sample(&x, 1000, 1) == PPML_OK);
        sum += (double)x;
        sq += (double)x * (double)x;
    }
    double q = exp(-1.0 / 1000), var = 2 * q / ((1 - q) * (1 - q));
    double mean = sum / m, emp_var = sq / m - mean * mean;
    printf("dlap scale 1000: mean %.2f, var %.0f (expected %.0f)\n", mean, emp_var, var);
    CHECK(fabs(mean) < 5 * sqrt(var / m));
    CHECK(fabs(emp_var / var - 1) < 0.03);
}

int main(void)
{
    test_init();
    test_strerror();
    test_rand();
    test_serial();
    test_fixed();
    test_bernoulli();
    test_dlap();
    return test_finish("test_core");
}
