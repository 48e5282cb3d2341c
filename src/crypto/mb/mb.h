/* Multi-buffer Montgomery arithmetic (never installed): eight independent values modulo
 * one odd modulus M, computed together, one per 64-bit lane of an AVX-512 register
 * (DESIGN §2: "a multi-buffer IFMA exponentiation path (run-time detected, GMP fallback)").
 *
 * Representation: a value is L limbs of 52 bits (R = 2^(52 L) >= 4M), stored limb-major
 * and lane-minor: x[j * 8 + lane]. Products are almost-Montgomery (AMM: inputs and outputs
 * below 2M); values leave through ppmli_mb_store, which reduces them to [0, M).
 *
 * Kernels: AVX-512 IFMA (mb_avx512.c, vpmadd52luq/huq) where the CPU has it, and a portable
 * C kernel computing the same limbs (tests run the callers' logic through it on any
 * machine). Callers use this module when ppmli_mb_enabled() says so (the IFMA kernel is
 * available, or a test forced the portable kernel) and take their GMP path otherwise, since
 * one-value-at-a-time GMP is faster than the portable kernel. PPML_NO_AVX512 in the
 * environment turns the IFMA kernel off (as for the NTT).
 *
 * Secrets: exponents and, for the CRT moduli p^2 and q^2, the modulus. The sequence of
 * operations depends only on L, the lane count and the public bit lengths; table entries
 * are chosen with masked blends that read every entry (no secret-dependent address or
 * branch). Contexts and tables built modulo a secret are wiped on free; the kernels' own
 * stack scratch (the accumulators of one product, as GMP's scratch in mpz_powm_sec) is not,
 * since a wipe per product would cost several per cent of every exponentiation. */
#ifndef PPML_MB_H
#define PPML_MB_H
#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#define PPMLI_MB_LANES 8
/* A pass costs about as much with one busy lane as with eight, and one lane through the IFMA
 * kernel is a little slower than GMP (AMD Zen 4: 4.2 us vs 3.3 us per 4096-bit modular
 * squaring); callers therefore use a pass from two values up and GMP for a lone value. */
#define PPMLI_MB_MIN_LANES 2
#define PPMLI_MB_MAX_LIMBS 120 /* moduli up to 52 * 120 - 2 = 6238 bits (N^2 at |N| = 3072) */

typedef struct ppmli_mb_kernel {
    /* r = a * b * 2^(-52 L) (mod m), all eight lanes; r may alias a or b. a, b < 2m with
     * normalised (52-bit) limbs; r < 2m, normalised. m: L limbs, lane-replicated. */
    void (*amm)(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *m, uint64_t k0,
                size_t limbs);
    /* r = a * a * 2^(-52 L) (mod m): the same limbs as amm(r, a, a, m, k0, limbs) (the
     * Montgomery quotient is unique), cheaper where the kernel has a dedicated squaring;
     * r may alias a. */
    void (*sqr)(uint64_t *r, const uint64_t *a, const uint64_t *m, uint64_t k0, size_t limbs);
    /* out lane l = entry digits[l] of tab (nents = 2^w entries, w <= 8). shared: entries are
     * single values (the same for every lane) stored limb-major, tab[j * nents + s];
     * otherwise each entry is a lane-interleaved value, tab[(s * limbs + j) * 8 + lane].
     * Reads every entry. */
    void (*sel)(uint64_t *out, const uint64_t *tab, size_t limbs, size_t nents, const uint64_t *digits,
                int shared);
} ppmli_mb_kernel;

typedef struct ppmli_mb {
    size_t limbs;   /* L */
    uint64_t k0;    /* -M^-1 mod 2^52 */
    uint64_t *m;    /* M, lane-replicated (L * 8 words, 64-byte aligned) */
    uint64_t *r2;   /* R^2 mod M, lane-replicated */
    uint64_t *one;  /* R mod M (Montgomery form of 1), lane-replicated */
    uint64_t *raw1; /* the integer 1, lane-replicated */
    mpz_t mod;
    const ppmli_mb_kernel *k;
} ppmli_mb;

/* 1 when the CPU has AVX-512 IFMA and PPML_NO_AVX512 is not set. */
int ppmli_mb_have_ifma(void);
/* 1 when callers should take their multi-buffer path: IFMA available, or a test forced the
 * portable kernel. */
int ppmli_mb_enabled(void);
/* TEST ONLY: 1 = contexts made from now on use the portable kernel and ppmli_mb_enabled()
 * is 1; 0 = automatic. */
void ppmli_mb_force_portable(int on);

/* Context for an odd modulus 3 <= mod < 2^(52 * MAX_LIMBS - 2). PPML_ERANGE otherwise,
 * PPML_ENOMEM. The context copies mod. */
int ppmli_mb_init(ppmli_mb *ctx, const mpz_t mod);
void ppmli_mb_clear(ppmli_mb *ctx); /* wipes; NULL or a zeroed struct is fine */

/* Lane buffers: L * 8 words, 64-byte aligned, zeroed (free with ppmli_mb_buf_free, which
 * wipes). */
uint64_t *ppmli_mb_buf(const ppmli_mb *ctx, size_t values);
void ppmli_mb_buf_free(const ppmli_mb *ctx, uint64_t *buf, size_t values);

/* dst = Montgomery form of x[l] mod M for l < lanes (x[l] >= 0; NULL means 1); lanes
 * above `lanes` hold 1. */
void ppmli_mb_load(const ppmli_mb *ctx, uint64_t *dst, mpz_srcptr const *x, size_t lanes);
/* out[l] = the value of lane l in [0, M), l < lanes. */
void ppmli_mb_store(const ppmli_mb *ctx, mpz_t *out, const uint64_t *src, size_t lanes);
/* r = a * b (Montgomery forms); r may alias a or b. */
void ppmli_mb_mul(const ppmli_mb *ctx, uint64_t *r, const uint64_t *a, const uint64_t *b);
/* r = a * a (Montgomery form), the same limbs as ppmli_mb_mul(ctx, r, a, a); r may alias a. */
void ppmli_mb_sqr(const ppmli_mb *ctx, uint64_t *r, const uint64_t *a);

/* out[l] = prod_{j<k} bases[l*k + j]^exps[l*k + j] mod M for l < lanes (<= 8): eight
 * independent multi-exponentiations with fixed windows (Straus), exponents secret,
 * 0 <= exps[l*k + j] < 2^exp_bits[j] (PPML_ERANGE otherwise); bases public, >= 0. */
int ppmli_mb_multiexp(const ppmli_mb *ctx, mpz_t *out, size_t lanes, size_t k, mpz_srcptr const *bases,
                      mpz_srcptr const *exps, const unsigned *exp_bits);

/* Window tables and multi-exponentiations over them, for callers that share tables between
 * passes. A table holds base^s (Montgomery form) for s < 2^w (1 <= w <= 8): lane-interleaved
 * (a different base per lane, ppmli_mb_table_words(ctx, w, 0) words) or single-valued (one
 * base for every lane, ppmli_mb_table_words(ctx, w, 1) words, limb-major: see sel). */
size_t ppmli_mb_table_words(const ppmli_mb *ctx, unsigned w, int shared);
/* tab (lane-interleaved) for bases[l], l < lanes; the other lanes get base 1. */
void ppmli_mb_table(const ppmli_mb *ctx, uint64_t *tab, mpz_srcptr const *bases, size_t lanes, unsigned w);
/* tabs[l] (single-valued) for bases[l], l < lanes <= 8, built in one pass. */
int ppmli_mb_tables_shared(const ppmli_mb *ctx, uint64_t *const *tabs, mpz_srcptr const *bases, size_t lanes,
                           unsigned w);
/* The window for exponents of `bits` bits whose table serves `uses` exponentiations. */
unsigned ppmli_mb_window(unsigned bits, size_t uses);
typedef struct ppmli_mb_term {
    const uint64_t *tab; /* 2^w entries, see above */
    unsigned w, bits;    /* window; exponents below 2^bits (public) */
    int shared;          /* tab single-valued */
    mpz_srcptr exps[PPMLI_MB_LANES]; /* lane l's exponent (secret), l < lanes */
} ppmli_mb_term;
/* acc (Montgomery form) = prod_j (lane l: base_j,l ^ exps_j[l]) for l < lanes; the operation
 * sequence depends only on k and the terms' (w, bits); PPML_ERANGE for an exponent out of
 * range. */
int ppmli_mb_multiexp_terms(const ppmli_mb *ctx, uint64_t *acc, const ppmli_mb_term *terms, size_t k,
                            size_t lanes);

/* Packing in the ciphertext domain, lane l = group l:
 * out[l] = prod_{i < n_l} cts[l*cap + i]^(2^(i * slot_bits)) mod M, n_l = min(cap, total -
 * l*cap), for the lanes with l*cap < total (at most 8). Everything public. */
int ppmli_mb_pack(const ppmli_mb *ctx, mpz_t *out, mpz_srcptr const *cts, size_t total, size_t cap,
                  unsigned slot_bits);

/* Fixed-base comb (Lim-Lee) for one public base and secret exponents below 2^exp_bits;
 * the table is shared by the lanes. Built modulo ctx's modulus (secret for p^2, q^2: the
 * table is wiped on free). */
typedef struct ppmli_mb_comb ppmli_mb_comb;
int ppmli_mb_comb_new(const ppmli_mb *ctx, ppmli_mb_comb **out, const mpz_t base, unsigned exp_bits);
void ppmli_mb_comb_free(ppmli_mb_comb *comb);
/* out[l] = base^exps[l] mod M, l < lanes <= 8; PPML_ERANGE if an exponent is out of range. */
int ppmli_mb_comb_pow(const ppmli_mb *ctx, const ppmli_mb_comb *comb, mpz_t *out, size_t lanes,
                      mpz_srcptr const *exps);

/* Kernels (mb.c: portable; mb_avx512.c: IFMA). */
extern const ppmli_mb_kernel ppmli_mb_kernel_c;
extern const ppmli_mb_kernel ppmli_mb_kernel_ifma;

#endif
