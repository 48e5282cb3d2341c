/* Private ring layer for BFV: word-size modular arithmetic, NTT-friendly primes, the
 * negacyclic NTT over Z_q[X]/(X^n + 1), and constant-time samplers. Never installed.
 *
 * Moduli are primes q < 2^62, so lazy values up to 4q still fit in a 64-bit word.
 *
 * Reductions:
 *  - Barrett (ppmli_reduce128 / ppmli_reduce64) with R = floor(2^128 / q) kept as two words;
 *    the quotient estimate is at most 2 below the true one, so two conditional subtractions
 *    bring the remainder into [0, q).
 *  - Shoup: for a fixed multiplicand w < q, w' = floor(w * 2^64 / q); then
 *    x*w - floor(x*w'/2^64)*q lies in [0, 2q) for every x < 2^64 ("lazy").
 *
 * NTT convention (tests/gen/gen_ntt_vectors.py computes the same thing independently):
 * psi is the smallest primitive 2n-th root of unity mod q. The forward transform maps
 * a(X) = sum a_i X^i to A[k] = a(psi^(2*brv(k)+1)), k = 0..n-1, i.e. evaluations at the odd
 * powers of psi in bit-reversed order (brv over log2 n bits). The inverse undoes it. */
#ifndef PPMLI_RING_H
#define PPMLI_RING_H
#include <stddef.h>
#include <stdint.h>

__extension__ typedef unsigned __int128 ppmli_u128;

#define PPMLI_MAX_MOD_BITS 61 /* primes we generate; any prime < 2^62 is accepted */

typedef struct ppmli_mod {
    uint64_t q;
    uint64_t r_hi, r_lo; /* floor(2^128 / q) = r_hi * 2^64 + r_lo */
    uint64_t qinv_neg;   /* -q^-1 mod 2^64 (Montgomery) */
    unsigned bits;
} ppmli_mod;

void ppmli_mod_init(ppmli_mod *m, uint64_t q);

/* x - b if x >= b, else x; with a mask, not a branch (values may be secret). */
static inline uint64_t ppmli_csub(uint64_t x, uint64_t b)
{
    return x - (b & (0 - (uint64_t)(x >= b)));
}

/* x < 2^128 -> x mod q. */
static inline uint64_t ppmli_reduce128(const ppmli_mod *m, ppmli_u128 x)
{
    uint64_t x0 = (uint64_t)x, x1 = (uint64_t)(x >> 64);
    ppmli_u128 lo = (ppmli_u128)x0 * m->r_lo;
    ppmli_u128 mid = (lo >> 64) + (ppmli_u128)x0 * m->r_hi;
    ppmli_u128 mid2 = (ppmli_u128)(uint64_t)mid + (ppmli_u128)x1 * m->r_lo;
    uint64_t qest = x1 * m->r_hi + (uint64_t)(mid >> 64) + (uint64_t)(mid2 >> 64);
    uint64_t r = x0 - qest * m->q; /* in [0, 3q) */
    r = ppmli_csub(r, m->q);
    return ppmli_csub(r, m->q);
}

/* Montgomery reduction: x < q 2^64 -> x 2^-64 mod q, in [0, 2q). */
static inline uint64_t ppmli_redc_lazy(const ppmli_mod *m, ppmli_u128 x)
{
    uint64_t k = (uint64_t)x * m->qinv_neg;
    return (uint64_t)((x + (ppmli_u128)k * m->q) >> 64);
}

/* x < 2^64 -> x mod q. */
static inline uint64_t ppmli_reduce64(const ppmli_mod *m, uint64_t x)
{
    uint64_t qest = (uint64_t)(((ppmli_u128)x * m->r_hi) >> 64);
    uint64_t r = x - qest * m->q; /* in [0, 3q) */
    r = ppmli_csub(r, m->q);
    return ppmli_csub(r, m->q);
}

static inline uint64_t ppmli_mulmod(const ppmli_mod *m, uint64_t a, uint64_t b)
{
    return ppmli_reduce128(m, (ppmli_u128)a * b);
}

/* a, b < q. Masks instead of branches: these also run on secret-dependent values. */
static inline uint64_t ppmli_addmod(uint64_t a, uint64_t b, uint64_t q)
{
    uint64_t s = a + b;
    return s - (q & (0 - (uint64_t)(s >= q)));
}

static inline uint64_t ppmli_submod(uint64_t a, uint64_t b, uint64_t q)
{
    uint64_t d = a - b;
    return d + (q & (0 - (uint64_t)(a < b)));
}

/* -a mod q for a < q. */
static inline uint64_t ppmli_negmod(uint64_t a, uint64_t q)
{
    uint64_t r = q - a;
    return r - (q & (0 - (uint64_t)(r == q)));
}

/* Shoup constant of w < q in radix 2^52 (IFMA kernels; public w only: it divides). */
static inline uint64_t ppmli_shoup52(uint64_t w, uint64_t q)
{
    return (uint64_t)(((ppmli_u128)w << 52) / q);
}

/* Shoup constant of w < q (radix 2^64). */
static inline uint64_t ppmli_shoup(uint64_t w, uint64_t q)
{
    return (uint64_t)(((ppmli_u128)w << 64) / q);
}

/* The same constant in constant time (multiplications only, no division), for values that
 * may be secret: the estimate w*R/2^64 from R = floor(2^128/q) is at most 2 below
 * floor(w 2^64 / q), and two masked corrections fix it. */
static inline uint64_t ppmli_shoup_ct(const ppmli_mod *m, uint64_t w)
{
    uint64_t est = w * m->r_hi + (uint64_t)(((ppmli_u128)w * m->r_lo) >> 64);
    uint64_t rem = 0 - est * m->q; /* w 2^64 - est q, < 3q < 2^64 */
    uint64_t ge = (uint64_t)(rem >= m->q);
    est += ge;
    rem -= m->q & (0 - ge);
    est += (uint64_t)(rem >= m->q);
    return est;
}

/* x * w mod q in [0, 2q), for any x < 2^64. */
static inline uint64_t ppmli_mul_shoup_lazy(uint64_t x, uint64_t w, uint64_t wp, uint64_t q)
{
    uint64_t qh = (uint64_t)(((ppmli_u128)x * wp) >> 64);
    return x * w - qh * q;
}

/* x * w mod q in [0, q). */
static inline uint64_t ppmli_mul_shoup(uint64_t x, uint64_t w, uint64_t wp, uint64_t q)
{
    return ppmli_csub(ppmli_mul_shoup_lazy(x, w, wp, q), q);
}

uint64_t ppmli_powmod(const ppmli_mod *m, uint64_t a, uint64_t e);
/* Inverse modulo a prime q (a != 0 mod q). */
uint64_t ppmli_invmod(const ppmli_mod *m, uint64_t a);
/* Deterministic Miller-Rabin for 64-bit integers. */
int ppmli_is_prime(uint64_t x);
/* Up to count distinct primes of exactly `bits` bits (2..61), p = 1 mod m2 (m2 = 2n),
 * largest first, skipping those in avoid[0..navoid). Returns how many were found. */
size_t ppmli_gen_primes(uint64_t *out, size_t count, unsigned bits, uint64_t m2,
                        const uint64_t *avoid, size_t navoid);
/* Smallest primitive 2n-th root of unity mod prime q (q = 1 mod 2n); 0 if none. */
uint64_t ppmli_min_root_2n(uint64_t q, size_t n);

static inline size_t ppmli_brv(size_t x, unsigned bits)
{
    size_t r = 0;
    for (unsigned i = 0; i < bits; i++) {
        r = (r << 1) | (x & 1);
        x >>= 1;
    }
    return r;
}

/* NTT tables for one prime. */
typedef struct ppmli_ntt {
    size_t n;
    unsigned logn;
    ppmli_mod mod;
    uint64_t psi;       /* smallest primitive 2n-th root */
    uint64_t *tw;       /* tw[i] = psi^brv(i), i < n (tw[0] unused) */
    uint64_t *tw_sh;    /* Shoup constants of tw */
    uint64_t *itw;      /* itw[i] = psi^-brv(i) */
    uint64_t *itw_sh;
    uint64_t n_inv, n_inv_sh;
    uint64_t itw_n, itw_n_sh; /* psi^-brv(1) / n, for the merged last inverse stage */
    uint64_t n_inv_m, n_inv_m_sh, itw_n_m, itw_n_m_sh; /* the same times 2^64 mod q */
    /* 52-bit Shoup constants floor(w 2^52 / q) for the AVX-512 IFMA kernels; set (and ifma = 1)
     * only for q < 2^50, so that lazy values below 4q fit 52-bit multiplier inputs. */
    int ifma;
    uint64_t *tw_sh52, *itw_sh52;
    uint64_t n_inv_sh52, itw_n_sh52, n_inv_m_sh52, itw_n_m_sh52;
    uint64_t *mem;      /* backing store of the tables */
} ppmli_ntt;

/* n a power of two >= 4, q prime < 2^62 with q = 1 mod 2n. 0 on success. */
int ppmli_ntt_init(ppmli_ntt *t, size_t n, uint64_t q);
void ppmli_ntt_clear(ppmli_ntt *t);
/* Forward: input in [0, 4q), output in [0, 4q) (lazy) or [0, q). */
void ppmli_ntt_fwd_lazy(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_fwd(const ppmli_ntt *t, uint64_t *a);
/* Inverse: input in [0, 2q), output in [0, 2q) (lazy) or [0, q). */
void ppmli_ntt_inv_lazy(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_inv(const ppmli_ntt *t, uint64_t *a);
/* Inverse that also multiplies by 2^64 mod q (undoes a Montgomery factor for free):
 * input [0, 2q), output [0, 2q) (lazy) or [0, q). */
void ppmli_ntt_inv_mont_lazy(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_inv_mont(const ppmli_ntt *t, uint64_t *a);
/* Scalar (generic C) versions; the dispatching functions above may use SIMD. */
void ppmli_ntt_fwd_lazy_c(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_inv_lazy_c(const ppmli_ntt *t, uint64_t *a);
/* AVX2 versions (same outputs word for word); call only if ppmli_ntt_have_avx2(). */
void ppmli_ntt_fwd_lazy_avx2(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_inv_lazy_avx2(const ppmli_ntt *t, uint64_t *a);
/* CPU supports AVX2 (and PPML_NO_AVX2 is not set in the environment). */
int ppmli_ntt_have_avx2(void);
/* CPU supports AVX-512F and IFMA, AVX2 is in use, and PPML_NO_AVX512 is not set. */
int ppmli_ntt_have_ifma(void);
/* AVX2 + IFMA transforms (gap >= 8 stages with IFMA): same residues as the scalar ones, same
 * ranges; call only if ppmli_ntt_have_ifma() and t->ifma. */
void ppmli_ntt_fwd_lazy_ifma(const ppmli_ntt *t, uint64_t *a);
void ppmli_ntt_inv_lazy_ifma(const ppmli_ntt *t, uint64_t *a);
/* Key-switching inner product: o0[c] = sum_d x[d][c] b[d][c] mod q and o1[c] likewise with
 * a[d], c < n, outputs in [0, q) (the same residues as 128-bit accumulation and Barrett).
 * ppmli_dot2_ifma_ok says whether the IFMA kernel may be used: the CPU has it (and
 * PPML_NO_AVX512 is unset), n % 8 == 0, q < 2^50, every x < xmax <= 2^52, every b, a < q,
 * k <= 2^11 and k (xmax - 1)(q - 1) < 2^104. ppmli_dot2_ifma: call only then. */
int ppmli_dot2_ifma_ok(const ppmli_mod *m, size_t k, uint64_t xmax, size_t n);
void ppmli_dot2_ifma(const ppmli_mod *m, uint64_t *o0, uint64_t *o1, const uint64_t *const *x,
                     const uint64_t *const *b, const uint64_t *const *a, size_t k, size_t n);
/* Whether the dispatching transforms use the AVX2 path when available. */
#ifndef PPMLI_USE_AVX2_NTT
#define PPMLI_USE_AVX2_NTT 1
#endif

/* o = x + y, o = x - y mod q element-wise (all < q < 2^62; o may alias x or y). */
void ppmli_vec_add(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q);
void ppmli_vec_sub(uint64_t *o, const uint64_t *x, const uint64_t *y, size_t n, uint64_t q);

/* Reduce every value of a[0..n) from [0, 4q) (or [0, 2q)) to [0, q). */
void ppmli_reduce_4q(uint64_t *a, size_t n, uint64_t q);
void ppmli_reduce_2q(uint64_t *a, size_t n, uint64_t q);

/* Samplers. Constant time: no branch or index depends on the sampled values.
 * The uniform samplers are rejection samplers: their timing depends only on rejected
 * draws, which are independent of the output. */
struct ppml_prg;
/* Ternary in {-1, 0, 1}, uniform (bias < 2^-62). */
void ppmli_sample_ternary(int8_t *out, size_t n);
/* Centred binomial with eta = 21 (variance 10.5, sigma ~ 3.24): sum of 21 bit differences. */
#define PPMLI_CBD_ETA 21
void ppmli_sample_cbd(int8_t *out, size_t n);
/* Uniform in [0, q): from the OS CSPRNG (prg NULL) or from a PRG. */
void ppmli_sample_uniform(uint64_t *out, size_t n, uint64_t q, struct ppml_prg *prg);

/* Small signed values -> residues mod q, without branches on the values. */
static inline uint64_t ppmli_from_signed(int64_t v, uint64_t q)
{
    uint64_t neg = (uint64_t)0 - ((uint64_t)v >> 63); /* all ones iff v < 0 */
    return (uint64_t)v + (q & neg);
}
#endif
