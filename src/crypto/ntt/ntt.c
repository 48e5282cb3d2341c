/* Negacyclic NTT with Harvey's lazy butterflies and Shoup twiddles (see ring.h).
 *
 * Forward (Cooley-Tukey, decimation in time, natural order in, bit-reversed out):
 * every butterfly takes X, Y in [0, 4q), folds X into [0, 2q), computes T = W*Y in [0, 2q)
 * with Shoup's trick and writes X + T, X - T + 2q, both in [0, 4q).
 * Inverse (Gentleman-Sande, bit-reversed in, natural out): X, Y in [0, 2q); writes
 * X + Y folded into [0, 2q) and W*(X - Y + 2q) in [0, 2q); the final scaling by n^-1
 * (Shoup) leaves [0, 2q). */
#include "crypto/ntt/ring.h"

#include <stdlib.h>
#include <string.h>

int ppmli_ntt_init(ppmli_ntt *t, size_t n, uint64_t q)
{
    memset(t, 0, sizeof *t);
    if (n < 4 || (n & (n - 1)) || q >= ((uint64_t)1 << 62) || !ppmli_is_prime(q))
        return -1;
    uint64_t psi = ppmli_min_root_2n(q, n);
    if (!psi)
        return -1;
    uint64_t *mem = malloc(6 * n * sizeof *mem);
    if (!mem)
        return -2;
    t->n = n;
    t->logn = 0;
    while (((size_t)1 << t->logn) < n)
        t->logn++;
    ppmli_mod_init(&t->mod, q);
    t->psi = psi;
    t->mem = mem;
    t->tw = mem;
    t->tw_sh = mem + n;
    t->itw = mem + 2 * n;
    t->itw_sh = mem + 3 * n;
    uint64_t ipsi = ppmli_invmod(&t->mod, psi);
    uint64_t p = 1, ip = 1;
    for (size_t i = 0; i < n; i++) {
        size_t r = ppmli_brv(i, t->logn);
        t->tw[r] = p;
        t->itw[r] = ip;
        p = ppmli_mulmod(&t->mod, p, psi);
        ip = ppmli_mulmod(&t->mod, ip, ipsi);
    }
    for (size_t i = 0; i < n; i++) {
        t->tw_sh[i] = ppmli_shoup(t->tw[i], q);
        t->itw_sh[i] = ppmli_shoup(t->itw[i], q);
    }
    t->n_inv = ppmli_invmod(&t->mod, (uint64_t)n % q);
    t->n_inv_sh = ppmli_shoup(t->n_inv, q);
    t->itw_n = ppmli_mulmod(&t->mod, t->itw[1], t->n_inv);
    t->itw_n_sh = ppmli_shoup(t->itw_n, q);
    uint64_t r64 = ppmli_reduce128(&t->mod, (ppmli_u128)1 << 64);
    t->n_inv_m = ppmli_mulmod(&t->mod, t->n_inv, r64);
    t->n_inv_m_sh = ppmli_shoup(t->n_inv_m, q);
    t->itw_n_m = ppmli_mulmod(&t->mod, t->itw_n, r64);
    t->itw_n_m_sh = ppmli_shoup(t->itw_n_m, q);
    if (q < ((uint64_t)1 << 50)) {
        t->ifma = 1;
        t->tw_sh52 = mem + 4 * n;
        t->itw_sh52 = mem + 5 * n;
        for (size_t i = 0; i < n; i++) {
            t->tw_sh52[i] = ppmli_shoup52(t->tw[i], q);
            t->itw_sh52[i] = ppmli_shoup52(t->itw[i], q);
        }
        t->n_inv_sh52 = ppmli_shoup52(t->n_inv, q);
        t->itw_n_sh52 = ppmli_shoup52(t->itw_n, q);
        t->n_inv_m_sh52 = ppmli_shoup52(t->n_inv_m, q);
        t->itw_n_m_sh52 = ppmli_shoup52(t->itw_n_m, q);
    }
    return 0;
}

void ppmli_ntt_clear(ppmli_ntt *t)
{
    free(t->mem);
    memset(t, 0, sizeof *t);
}

/* Cooley-Tukey butterfly: u, v in [0, 4q) -> [0, 4q). */
#define CT_BF(u, v, w, wp)                                      \
    do {                                                        \
        uint64_t u_ = (u);                                      \
        u_ = ppmli_csub(u_, q2);                                \
        uint64_t t_ = ppmli_mul_shoup_lazy((v), (w), (wp), q);  \
        (u) = u_ + t_;                                          \
        (v) = u_ - t_ + q2;                                     \
    } while (0)

/* Gentleman-Sande butterfly: u, v in [0, 2q) -> [0, 2q). */
#define GS_BF(u, v, w, wp)                                                  \
    do {                                                                    \
        uint64_t u_ = (u), v_ = (v);                                        \
        uint64_t s_ = u_ + v_;                                              \
        s_ = ppmli_csub(s_, q2);                                            \
        (v) = ppmli_mul_shoup_lazy(u_ - v_ + q2, (w), (wp), q);             \
        (u) = s_;                                                           \
    } while (0)

static void fwd_last2(const ppmli_ntt *t, uint64_t *a);
static void inv_first2(const ppmli_ntt *t, uint64_t *a);
static void inv_last(const ppmli_ntt *t, uint64_t *a, size_t gap, int mont, int avx2);

/* Stages are merged in pairs (radix-4 passes: four values loaded, two stages applied,
 * four stored), which halves the passes over memory. */
void ppmli_ntt_fwd_lazy_c(const ppmli_ntt *t, uint64_t *a)
{
    const uint64_t q = t->mod.q, q2 = 2 * q;
    const size_t n = t->n;
    const uint64_t *tw = t->tw, *twp = t->tw_sh;
    const unsigned L = t->logn;
    unsigned s = 0;
    /* Stages 0 .. L-3 (gaps n/2 .. 4), two at a time. */
    for (; s + 1 < L - 2; s += 2) {
        const size_t m = (size_t)1 << s, gap = n >> (s + 1), h = gap >> 1;
        for (size_t i = 0; i < m; i++) {
            const uint64_t w1 = tw[m + i], w1p = twp[m + i];
            const uint64_t w2 = tw[2 * m + 2 * i], w2p = twp[2 * m + 2 * i];
            const uint64_t w3 = tw[2 * m + 2 * i + 1], w3p = twp[2 * m + 2 * i + 1];
            uint64_t *restrict x = a + 2 * i * gap;
            for (size_t j = 0; j < h; j++) {
                uint64_t x0 = x[j], x1 = x[j + h], x2 = x[j + gap], x3 = x[j + gap + h];
                CT_BF(x0, x2, w1, w1p);
                CT_BF(x1, x3, w1, w1p);
                CT_BF(x0, x1, w2, w2p);
                CT_BF(x2, x3, w3, w3p);
                x[j] = x0;
                x[j + h] = x1;
                x[j + gap] = x2;
                x[j + gap + h] = x3;
            }
        }
    }
    if (s < L - 2) { /* one stage left before the last two */
        const size_t m = (size_t)1 << s, gap = n >> (s + 1);
        for (size_t i = 0; i < m; i++) {
            const uint64_t w = tw[m + i], wp = twp[m + i];
            uint64_t *restrict x = a + 2 * i * gap, *restrict y = x + gap;
            for (size_t j = 0; j < gap; j++)
                CT_BF(x[j], y[j], w, wp);
        }
    }
    fwd_last2(t, a);
}

/* Last two forward stages (gaps 2 and 1) on groups of four adjacent words. */
static void fwd_last2(const ppmli_ntt *t, uint64_t *a)
{
    const uint64_t q = t->mod.q, q2 = 2 * q;
    const uint64_t *tw = t->tw, *twp = t->tw_sh;
    const size_t m = t->n >> 2;
    for (size_t i = 0; i < m; i++) {
        uint64_t *restrict x = a + 4 * i;
        uint64_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        const uint64_t w1 = tw[m + i], w1p = twp[m + i];
        CT_BF(x0, x2, w1, w1p);
        CT_BF(x1, x3, w1, w1p);
        CT_BF(x0, x1, tw[2 * m + 2 * i], twp[2 * m + 2 * i]);
        CT_BF(x2, x3, tw[2 * m + 2 * i + 1], twp[2 * m + 2 * i + 1]);
        x[0] = x0;
        x[1] = x1;
        x[2] = x2;
        x[3] = x3;
    }
}

static void inv_c(const ppmli_ntt *t, uint64_t *a, int mont)
{
    const uint64_t q = t->mod.q, q2 = 2 * q;
    const size_t n = t->n;
    const uint64_t *tw = t->itw, *twp = t->itw_sh;
    inv_first2(t, a);
    /* Middle stages: h = n/8 .. 2 twiddles (gaps 4 .. n/4), two at a time. */
    size_t gap = 4, h = n >> 3;
    for (; h >= 4; h >>= 2, gap <<= 2) {
        /* stage A: h twiddles, gap; stage B: h/2 twiddles, 2 gap */
        for (size_t i = 0; i < h / 2; i++) {
            const uint64_t wa0 = tw[h + 2 * i], wa0p = twp[h + 2 * i];
            const uint64_t wa1 = tw[h + 2 * i + 1], wa1p = twp[h + 2 * i + 1];
            const uint64_t wb = tw[h / 2 + i], wbp = twp[h / 2 + i];
            uint64_t *restrict x = a + 4 * i * gap;
            for (size_t j = 0; j < gap; j++) {
                uint64_t x0 = x[j], x1 = x[j + gap], x2 = x[j + 2 * gap], x3 = x[j + 3 * gap];
                GS_BF(x0, x1, wa0, wa0p);
                GS_BF(x2, x3, wa1, wa1p);
                GS_BF(x0, x2, wb, wbp);
                GS_BF(x1, x3, wb, wbp);
                x[j] = x0;
                x[j + gap] = x1;
                x[j + 2 * gap] = x2;
                x[j + 3 * gap] = x3;
            }
        }
    }
    if (h == 2) { /* one stage left before the last */
        for (size_t i = 0; i < 2; i++) {
            const uint64_t w = tw[2 + i], wp = twp[2 + i];
            uint64_t *restrict x = a + 2 * i * gap, *restrict y = x + gap;
            for (size_t j = 0; j < gap; j++)
                GS_BF(x[j], y[j], w, wp);
        }
        gap <<= 1;
    }
    inv_last(t, a, gap, mont, 0);
}

void ppmli_ntt_inv_lazy_c(const ppmli_ntt *t, uint64_t *a)
{
    inv_c(t, a, 0);
}

/* Last inverse stage (one twiddle, gap n/2) merged with the scaling by n^-1:
 * x' = (u + v)/n, y' = (u - v) * psi^-brv(1) / n. For n = 4 the stage was done by
 * inv_first2, and only the scaling is left. */
void ppmli_ntt_last_inv_avx2(const ppmli_ntt *t, uint64_t *a, size_t gap, uint64_t ni, uint64_t nip,
                             uint64_t w, uint64_t wp);

static void inv_last(const ppmli_ntt *t, uint64_t *a, size_t gap, int mont, int avx2)
{
    const uint64_t q = t->mod.q, q2 = 2 * q;
    const size_t n = t->n;
    const uint64_t ni = mont ? t->n_inv_m : t->n_inv, nip = mont ? t->n_inv_m_sh : t->n_inv_sh;
    if (n == 4) {
        for (size_t j = 0; j < 4; j++)
            a[j] = ppmli_mul_shoup_lazy(a[j], ni, nip, q);
        return;
    }
    const uint64_t w = mont ? t->itw_n_m : t->itw_n, wp = mont ? t->itw_n_m_sh : t->itw_n_sh;
    if (avx2) {
        ppmli_ntt_last_inv_avx2(t, a, gap, ni, nip, w, wp);
        return;
    }
    uint64_t *restrict x = a, *restrict y = a + gap;
    for (size_t j = 0; j < gap; j++) {
        uint64_t u = x[j], v = y[j];
        x[j] = ppmli_mul_shoup_lazy(u + v, ni, nip, q);
        y[j] = ppmli_mul_shoup_lazy(u - v + q2, w, wp, q);
    }
}

/* First two inverse stages (gaps 1 and 2) on groups of four adjacent words. */
static void inv_first2(const ppmli_ntt *t, uint64_t *a)
{
    const uint64_t q = t->mod.q, q2 = 2 * q;
    const uint64_t *tw = t->itw, *twp = t->itw_sh;
    const size_t n = t->n;
    {
        const size_t h = n >> 1, m = n >> 2;
        for (size_t i = 0; i < m; i++) {
            uint64_t *restrict x = a + 4 * i;
            uint64_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
            GS_BF(x0, x1, tw[h + 2 * i], twp[h + 2 * i]);
            GS_BF(x2, x3, tw[h + 2 * i + 1], twp[h + 2 * i + 1]);
            const uint64_t w = tw[m + i], wp = twp[m + i];
            GS_BF(x0, x2, w, wp);
            GS_BF(x1, x3, w, wp);
            x[0] = x0;
            x[1] = x1;
            x[2] = x2;
            x[3] = x3;
        }
    }
}

/* AVX2 stage kernels (ntt_avx2.c) and the transforms built from them. */
void ppmli_ntt_stage_fwd_avx2(const ppmli_ntt *t, uint64_t *a, size_t m, size_t gap);
void ppmli_ntt_stage_inv_avx2(const ppmli_ntt *t, uint64_t *a, size_t h, size_t gap);

void ppmli_ntt_last2_fwd_avx2(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_first2_inv_avx2(const ppmli_ntt *t, uint64_t *a);

void ppmli_ntt_fwd_lazy_avx2(const ppmli_ntt *t, uint64_t *a)
{
    const unsigned L = t->logn;
    for (unsigned s = 0; s + 2 < L; s++)
        ppmli_ntt_stage_fwd_avx2(t, a, (size_t)1 << s, t->n >> (s + 1));
    if (t->n >= 8)
        ppmli_ntt_last2_fwd_avx2(t, a);
    else
        fwd_last2(t, a);
}

static void inv_avx2(const ppmli_ntt *t, uint64_t *a, int mont)
{
    if (t->n >= 8)
        ppmli_ntt_first2_inv_avx2(t, a);
    else
        inv_first2(t, a);
    size_t gap = 4;
    for (size_t h = t->n >> 3; h >= 2; h >>= 1, gap <<= 1)
        ppmli_ntt_stage_inv_avx2(t, a, h, gap);
    inv_last(t, a, t->n == 4 ? 4 : gap, mont, 1);
}

void ppmli_ntt_inv_lazy_avx2(const ppmli_ntt *t, uint64_t *a)
{
    inv_avx2(t, a, 0);
}

/* IFMA kernels (ntt_avx512.c): every stage (n >= 16). */
void ppmli_ntt_stage_fwd_ifma(const ppmli_ntt *t, uint64_t *a, size_t m, size_t gap);
void ppmli_ntt_stage2_fwd_ifma(const ppmli_ntt *t, uint64_t *a, size_t m, size_t gap);
void ppmli_ntt_stage_inv_ifma(const ppmli_ntt *t, uint64_t *a, size_t h, size_t gap);
void ppmli_ntt_last_inv_ifma(const ppmli_ntt *t, uint64_t *a, size_t gap, uint64_t ni, uint64_t nip,
                             uint64_t w, uint64_t wp);
void ppmli_ntt_last3_fwd_ifma(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_first3_inv_ifma(const ppmli_ntt *t, uint64_t *a);

void ppmli_ntt_fwd_lazy_ifma(const ppmli_ntt *t, uint64_t *a)
{
    const size_t n = t->n;
    size_t m = 1, gap = n >> 1;
    for (; gap >= 16; m <<= 2, gap >>= 2) /* pairs of stages: gaps (gap, gap/2) */
        ppmli_ntt_stage2_fwd_ifma(t, a, m, gap);
    for (; gap >= 8; m <<= 1, gap >>= 1)
        ppmli_ntt_stage_fwd_ifma(t, a, m, gap);
    ppmli_ntt_last3_fwd_ifma(t, a);
}

static void inv_ifma(const ppmli_ntt *t, uint64_t *a, int mont)
{
    ppmli_ntt_first3_inv_ifma(t, a); /* gaps 1, 2, 4 */
    size_t gap = 8, h = t->n >> 4;
    for (; h >= 2; h >>= 1, gap <<= 1)
        ppmli_ntt_stage_inv_ifma(t, a, h, gap);
    ppmli_ntt_last_inv_ifma(t, a, gap, mont ? t->n_inv_m : t->n_inv, mont ? t->n_inv_m_sh52 : t->n_inv_sh52,
                            mont ? t->itw_n_m : t->itw_n, mont ? t->itw_n_m_sh52 : t->itw_n_sh52);
}

void ppmli_ntt_inv_lazy_ifma(const ppmli_ntt *t, uint64_t *a)
{
    inv_ifma(t, a, 0);
}

int ppmli_ntt_have_ifma(void)
{
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = ppmli_ntt_have_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
        if (getenv("PPML_NO_AVX512"))
            v = 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

int ppmli_dot2_ifma_ok(const ppmli_mod *m, size_t k, uint64_t xmax, size_t n)
{
    const uint64_t q = m->q;
    if (n % 8 || k == 0 || k > 2048 || q >= ((uint64_t)1 << 50) || xmax == 0 || xmax > ((uint64_t)1 << 52))
        return 0;
    ppmli_u128 term = (ppmli_u128)(xmax - 1) * (q - 1); /* < 2^102 */
    if (term != 0 && (ppmli_u128)k > (((ppmli_u128)1 << 104) - 1) / term)
        return 0;
    return ppmli_ntt_have_ifma();
}

int ppmli_ntt_have_avx2(void)
{
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") ? 1 : 0;
        if (getenv("PPML_NO_AVX2"))
            v = 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

void ppmli_reduce_4q_avx512(uint64_t *a, size_t n, uint64_t q);
void ppmli_reduce_2q_avx512(uint64_t *a, size_t n, uint64_t q);

void ppmli_reduce_4q(uint64_t *a, size_t n, uint64_t q)
{
    if (n % 8 == 0 && ppmli_ntt_have_ifma()) {
        ppmli_reduce_4q_avx512(a, n, q);
        return;
    }
    const uint64_t q2 = 2 * q;
    for (size_t i = 0; i < n; i++) {
        a[i] = ppmli_csub(ppmli_csub(a[i], q2), q);
    }
}

void ppmli_reduce_2q(uint64_t *a, size_t n, uint64_t q)
{
    if (n % 8 == 0 && ppmli_ntt_have_ifma()) {
        ppmli_reduce_2q_avx512(a, n, q);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        a[i] = ppmli_csub(a[i], q);
    }
}

/* IFMA path: primes below 2^50 and n >= 16 (the AVX2 short-gap kernels need n >= 8). */
static int use_ifma(const ppmli_ntt *t)
{
    return PPMLI_USE_AVX2_NTT && t->ifma && t->n >= 16 && ppmli_ntt_have_ifma();
}

void ppmli_ntt_fwd_lazy(const ppmli_ntt *t, uint64_t *a)
{
    if (use_ifma(t))
        ppmli_ntt_fwd_lazy_ifma(t, a);
    else if (PPMLI_USE_AVX2_NTT && ppmli_ntt_have_avx2())
        ppmli_ntt_fwd_lazy_avx2(t, a);
    else
        ppmli_ntt_fwd_lazy_c(t, a);
}

void ppmli_ntt_inv_lazy(const ppmli_ntt *t, uint64_t *a)
{
    if (use_ifma(t))
        inv_ifma(t, a, 0);
    else if (PPMLI_USE_AVX2_NTT && ppmli_ntt_have_avx2())
        ppmli_ntt_inv_lazy_avx2(t, a);
    else
        ppmli_ntt_inv_lazy_c(t, a);
}

void ppmli_ntt_inv_mont_lazy(const ppmli_ntt *t, uint64_t *a)
{
    if (use_ifma(t))
        inv_ifma(t, a, 1);
    else if (PPMLI_USE_AVX2_NTT && ppmli_ntt_have_avx2())
        inv_avx2(t, a, 1);
    else
        inv_c(t, a, 1);
}

void ppmli_ntt_inv_mont(const ppmli_ntt *t, uint64_t *a)
{
    ppmli_ntt_inv_mont_lazy(t, a);
    ppmli_reduce_2q(a, t->n, t->mod.q);
}

void ppmli_ntt_fwd(const ppmli_ntt *t, uint64_t *a)
{
    ppmli_ntt_fwd_lazy(t, a);
    ppmli_reduce_4q(a, t->n, t->mod.q);
}

void ppmli_ntt_inv(const ppmli_ntt *t, uint64_t *a)
{
    ppmli_ntt_inv_lazy(t, a);
    ppmli_reduce_2q(a, t->n, t->mod.q);
}
