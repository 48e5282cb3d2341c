/* Homomorphic evaluation: additions, plaintext products, the HPS ciphertext product,
 * key switching (relinearisation, rotations). All inputs and outputs are public. */
#include "crypto/bfv/bfv_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int check2(const ppml_bfv_ct *out, const ppml_bfv_ct *a)
{
    if (!out || !a)
        return PPML_EINVAL;
    return out->p == a->p ? PPML_OK : PPML_EMISMATCH;
}

static int addsub(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_ct *b, int sub)
{
    int rc = check2(out, a);
    if (rc)
        return rc;
    if (!b)
        return PPML_EINVAL;
    if (b->p != a->p)
        return PPML_EMISMATCH;
    const ppml_bfv_params *p = a->p;
    const size_t n = p->n, k = p->k;
    size_t size = a->size > b->size ? a->size : b->size;
    for (size_t j = 0; j < size; j++)
        for (size_t i = 0; i < k; i++) {
            const uint64_t q = p->primes[i];
            uint64_t *o = bfv_ct_poly(out, j) + i * n;
            const uint64_t *x = j < a->size ? bfv_ct_poly(a, j) + i * n : NULL;
            const uint64_t *y = j < b->size ? bfv_ct_poly(b, j) + i * n : NULL;
            if (x && y) {
                if (sub)
                    ppmli_vec_sub(o, x, y, n, q);
                else
                    ppmli_vec_add(o, x, y, n, q);
            } else if (x) {
                memmove(o, x, n * 8);
            } else if (sub) {
                for (size_t c = 0; c < n; c++)
                    o[c] = ppmli_negmod(y[c], q);
            } else {
                memmove(o, y, n * 8);
            }
        }
    out->size = size;
    return PPML_OK;
}

int ppml_bfv_add(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_ct *b) { return addsub(out, a, b, 0); }
int ppml_bfv_sub(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_ct *b) { return addsub(out, a, b, 1); }

int ppml_bfv_negate(ppml_bfv_ct *out, const ppml_bfv_ct *a)
{
    int rc = check2(out, a);
    if (rc)
        return rc;
    const ppml_bfv_params *p = a->p;
    const size_t n = p->n;
    for (size_t j = 0; j < a->size; j++)
        for (size_t i = 0; i < p->k; i++) {
            const uint64_t q = p->primes[i];
            uint64_t *o = bfv_ct_poly(out, j) + i * n;
            const uint64_t *x = bfv_ct_poly(a, j) + i * n;
            for (size_t c = 0; c < n; c++)
                o[c] = ppmli_negmod(x[c], q);
        }
    out->size = a->size;
    return PPML_OK;
}

static int addsub_plain(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_pt *pt, int sub)
{
    int rc = check2(out, a);
    if (rc)
        return rc;
    if (!pt)
        return PPML_EINVAL;
    if (pt->p != a->p)
        return PPML_EMISMATCH;
    const ppml_bfv_params *p = a->p;
    uint64_t *m = NULL;
    if (sub) {
        m = bfv_alloc_words(p->n);
        if (!m)
            return PPML_ENOMEM;
        for (size_t c = 0; c < p->n; c++)
            m[c] = pt->coef[c] ? p->t - pt->coef[c] : 0;
    }
    rc = ppml_bfv_ct_copy(out, a);
    if (rc == PPML_OK)
        bfv_add_scaled_plain(p, bfv_ct_poly(out, 0), sub ? m : pt->coef);
    bfv_free_words(m, p->n);
    return rc;
}

int ppml_bfv_add_plain(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_pt *pt) { return addsub_plain(out, a, pt, 0); }
int ppml_bfv_sub_plain(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_pt *pt) { return addsub_plain(out, a, pt, 1); }

int ppml_bfv_mul_plain(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_pt *pt)
{
    int rc = check2(out, a);
    if (rc)
        return rc;
    if (!pt)
        return PPML_EINVAL;
    if (pt->p != a->p)
        return PPML_EMISMATCH;
    const ppml_bfv_params *p = a->p;
    const size_t n = p->n, k = p->k;
    /* Prepared plaintexts carry Shoup constants; otherwise the lift is made here and the
     * products are Barrett ones (no division on plaintext-dependent values). */
    uint64_t *own = NULL;
    const uint64_t *mul = pt->mul;
    if (!mul) {
        own = bfv_alloc_scratch(k * n);
        if (!own)
            return PPML_ENOMEM;
        bfv_pt_lift_ntt(pt, own, 0);
        mul = own;
    }
    for (size_t j = 0; j < a->size; j++)
        for (size_t i = 0; i < k; i++) {
            const ppmli_mod *m = &p->ntt[i].mod;
            const uint64_t q = m->q;
            const uint64_t *w = mul + i * n;
            uint64_t *o = bfv_ct_poly(out, j) + i * n;
            if (o != bfv_ct_poly(a, j) + i * n)
                memcpy(o, bfv_ct_poly(a, j) + i * n, n * 8);
            ppmli_ntt_fwd_lazy(&p->ntt[i], o); /* [0, 4q) */
            if (own) {
                for (size_t c = 0; c < n; c++)
                    o[c] = ppmli_mulmod(m, o[c], w[c]); /* [0, q) */
            } else {
                const uint64_t *wp = mul + (k + i) * n;
                for (size_t c = 0; c < n; c++)
                    o[c] = ppmli_mul_shoup_lazy(o[c], w[c], wp[c], q); /* [0, 2q) */
            }
            ppmli_ntt_inv(&p->ntt[i], o);
        }
    out->size = a->size;
    bfv_free_words(own, k * n);
    return PPML_OK;
}

void bfv_bconv_apply(const bfv_bconv *cv, size_t n, const uint64_t *in, uint64_t *out,
                     uint64_t *y, double *v)
{
    const size_t na = cv->na, nb = cv->nb;
    for (size_t c = 0; c < n; c++)
        v[c] = 0.5; /* rounding offset */
    for (size_t i = 0; i < na; i++) {
        const uint64_t a = cv->a[i].mod.q, h = cv->hat_inv[i], hp = cv->hat_inv_sh[i];
        const double inv = cv->inv_d[i];
        const uint64_t *x = in + i * n;
        uint64_t *yi = y + i * n;
        for (size_t c = 0; c < n; c++) {
            uint64_t t = ppmli_mul_shoup(x[c], h, hp, a);
            yi[c] = t;
            v[c] += (double)(int64_t)t * inv; /* t < 2^61: signed conversion is one instruction */
        }
    }
    /* Products are < 2^122 (all primes < 2^61), so up to 32 terms fit in 128 bits.
     * Blocks of 256 coefficients keep the y rows of a block in L1 across the nb outputs. */
    for (size_t c0 = 0; c0 < n; c0 += 256) {
        const size_t len = n - c0 < 256 ? n - c0 : 256;
        for (size_t j = 0; j < nb; j++) {
            const ppmli_mod *m = &cv->b[j].mod;
            const uint64_t negA = cv->neg_prod_mod_b[j];
            uint64_t *o = out + j * n + c0;
            for (size_t c = 0; c < len; c++) {
                ppmli_u128 acc = (ppmli_u128)(uint64_t)(int64_t)v[c0 + c] * negA;
                for (size_t i = 0; i < na; i++)
                    acc += (ppmli_u128)y[i * n + c0 + c] * cv->hat_mod_b[i][j];
                o[c] = ppmli_reduce128(m, acc);
            }
        }
    }
}

static const ppmli_ntt *ext_ntt(const ppml_bfv_params *p, size_t row)
{
    return row < p->k ? &p->ntt[row] : &p->ntt_r[row - p->k];
}

/* Lift a size-2 ciphertext to Q∪R in NTT form: dst [2][k+nr][n]. */
static void lift_ct(const ppml_bfv_params *p, const ppml_bfv_ct *ct, uint64_t *dst, uint64_t *y, double *v)
{
    const size_t n = p->n, rows = p->k + p->nr;
    for (size_t j = 0; j < 2; j++) {
        uint64_t *d = dst + j * rows * n;
        memcpy(d, bfv_ct_poly(ct, j), p->k * n * 8);
        bfv_bconv_apply(&p->q_to_r, n, d, d + p->k * n, y, v);
        for (size_t r = 0; r < rows; r++)
            ppmli_ntt_fwd(ext_ntt(p, r), d + r * n);
    }
}

/* round(t x / Q) for x in Q∪R (coefficient form, [rows][n]) -> out [k][n].
 * The fractional part sum_i x_i frac_i is summed in fixed point with 56 fraction bits
 * (each term x_i * floor(frac_i 2^64) >> 8 < 2^117): its error is below k * 2^-3, so the
 * result is round(t x / Q) or off by one, which is noise (test_bfv checks against GMP). */
static void scale_round(const ppml_bfv_params *p, const uint64_t *x, uint64_t *out, uint64_t *z,
                        uint64_t *y, double *v)
{
    const size_t n = p->n, k = p->k, nr = p->nr;
    uint64_t *rnd = y; /* rounded fractional parts; y is free until the base extension */
    for (size_t c = 0; c < n; c++) {
        ppmli_u128 f = (ppmli_u128)1 << 55;
        for (size_t i = 0; i < k; i++)
            f += ((ppmli_u128)x[i * n + c] * p->scale_frac[i]) >> 8;
        rnd[c] = (uint64_t)(f >> 56);
    }
    for (size_t c0 = 0; c0 < n; c0 += 256) {
        const size_t len = n - c0 < 256 ? n - c0 : 256;
        for (size_t j = 0; j < nr; j++) {
            const ppmli_mod *m = &p->ntt_r[j].mod;
            const uint64_t *xr = x + (k + j) * n + c0;
            uint64_t *zj = z + j * n + c0;
            for (size_t c = 0; c < len; c++) {
                ppmli_u128 acc = (ppmli_u128)xr[c] * p->scale_r[j] + rnd[c0 + c];
                for (size_t i = 0; i < k; i++)
                    acc += (ppmli_u128)x[i * n + c0 + c] * p->scale_int[i][j];
                zj[c] = ppmli_reduce128(m, acc);
            }
        }
    }
    bfv_bconv_apply(&p->r_to_q, n, z, out, y, v);
}

int ppml_bfv_mul(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_ct *b)
{
    int rc = check2(out, a);
    if (rc)
        return rc;
    if (!b)
        return PPML_EINVAL;
    if (b->p != a->p)
        return PPML_EMISMATCH;
    if (a->size != 2 || b->size != 2)
        return PPML_ESTATE;
    const ppml_bfv_params *p = a->p;
    const size_t n = p->n, rows = p->k + p->nr, ext = rows * n;
    const int square = a == b;
    /* Work: A (a lifted to Q∪R, 2 ext) | B (b lifted, 2 ext) or C2 (1 ext) when squaring |
     * y (rows n) | z (nr n) | v (n doubles). c2 is written over B's first half, whose words
     * are read just before they are overwritten. */
    const size_t words = (square ? 3 : 4) * ext + rows * n + p->nr * n + n;
    uint64_t *w = bfv_alloc_scratch(words);
    if (!w)
        return PPML_ENOMEM;
    uint64_t *A = w, *B = square ? A : A + 2 * ext, *C2 = A + 2 * ext;
    uint64_t *y = A + (square ? 3 : 4) * ext, *z = y + rows * n;
    double *v = (double *)(z + p->nr * n);
    lift_ct(p, a, A, y, v);
    if (!square)
        lift_ct(p, b, B, y, v);
    /* Tensor: c0 = a0 b0, c1 = a0 b1 + a1 b0, c2 = a1 b1, all in NTT form, values < q. */
    for (size_t r = 0; r < rows; r++) {
        const ppmli_mod *m = &ext_ntt(p, r)->mod;
        uint64_t *a0 = A + r * n, *a1 = A + ext + r * n, *c2 = C2 + r * n;
        const uint64_t *b0 = B + r * n, *b1 = B + ext + r * n;
        /* Inputs < q < 2^61, so every sum is below 2 q^2 < q 2^64: Montgomery reductions,
         * with the 2^-64 factor undone by the inverse NTT. */
        for (size_t c = 0; c < n; c++) {
            uint64_t x0 = a0[c], x1 = a1[c], y0 = b0[c], y1 = b1[c];
            a0[c] = ppmli_redc_lazy(m, (ppmli_u128)x0 * y0);
            a1[c] = ppmli_redc_lazy(m, (ppmli_u128)x0 * y1 + (ppmli_u128)x1 * y0);
            c2[c] = ppmli_redc_lazy(m, (ppmli_u128)x1 * y1);
        }
        ppmli_ntt_inv_mont(ext_ntt(p, r), a0);
        ppmli_ntt_inv_mont(ext_ntt(p, r), a1);
        ppmli_ntt_inv_mont(ext_ntt(p, r), c2);
    }
    out->size = 3;
    scale_round(p, A, bfv_ct_poly(out, 0), z, y, v);
    scale_round(p, A + ext, bfv_ct_poly(out, 1), z, y, v);
    scale_round(p, C2, bfv_ct_poly(out, 2), z, y, v);
    bfv_free_words(w, words);
    return PPML_OK;
}

#define KS_BLOCK 256

int bfv_keyswitch(const ppml_bfv_params *p, const bfv_ksk *key, const uint64_t *cin,
                  uint64_t *out0, uint64_t *out1)
{
    const size_t n = p->n, k = p->k, np = p->np;
    /* T: the k digits in NTT form mod the current prime; r0, r1: the two products;
     * xP0, xP1: the products mod P (coefficient form, + floor(P/2)). */
    size_t words = k * n + 4 * n;
    uint64_t *w = bfv_alloc_scratch(words);
    if (!w)
        return PPML_ENOMEM;
    uint64_t *T = w, *r0 = T + k * n, *r1 = r0 + n, *xP0 = r1 + n, *xP1 = xP0 + n;
    const uint64_t P = p->primes[k];
    /* Digits are < q_d; the forward NTT takes inputs in [0, 4 q_j), so a digit needs reducing
     * only when q_d >= 4 q_j. With k <= 8 the lazy NTT output (< 4 q_j) is used as is:
     * 8 products below 2^124 fit in 128 bits. */
    const int lazy = k <= 8;
    /* Special prime first (its residues are needed to divide by P), then each q_j. */
    for (size_t step = 0; step < np; step++) {
        const size_t j = step == 0 ? k : step - 1;
        const ppmli_ntt *tj = &p->ntt[j];
        const ppmli_mod *m = &tj->mod;
        const uint64_t *kb[PPML_BFV_MAX_PRIMES], *ka[PPML_BFV_MAX_PRIMES];
        for (size_t d = 0; d < k; d++) {
            uint64_t *td = T + d * n;
            const uint64_t *cd = cin + d * n;
            if (d == j || p->primes[d] < 4 * m->q)
                memcpy(td, cd, n * 8);
            else
                for (size_t c = 0; c < n; c++)
                    td[c] = ppmli_reduce64(m, cd[c]);
            if (lazy)
                ppmli_ntt_fwd_lazy(tj, td);
            else
                ppmli_ntt_fwd(tj, td);
            kb[d] = bfv_ksk_poly(p, key, d, 0) + j * n;
            ka[d] = bfv_ksk_poly(p, key, d, 1) + j * n;
        }
        uint64_t *o0 = step == 0 ? xP0 : r0, *o1 = step == 0 ? xP1 : r1;
        /* Sums are below k * (4q) * q (lazy) or k * q * q. When that is below q 2^64, a
         * Montgomery reduction (two products) replaces Barrett (five), and the inverse NTT
         * multiplies the 2^-64 factor back at no cost. */
        const uint64_t tmax = lazy ? 4 : 1;
        /* AVX-512 IFMA when the primes allow it (they do for the default parameters): the
         * products accumulate in 52-bit halves and are reduced to [0, q) in the kernel. */
        const int ifma = ppmli_dot2_ifma_ok(m, k, tmax * m->q, n);
        const int mont = !ifma && (uint64_t)(tmax * k) <= UINT64_MAX / m->q;
        if (ifma) {
            const uint64_t *xs[PPML_BFV_MAX_PRIMES];
            for (size_t d = 0; d < k; d++)
                xs[d] = T + d * n;
            ppmli_dot2_ifma(m, o0, o1, xs, kb, ka, k, n);
        }
        /* Blocks of KS_BLOCK coefficients: accumulators stay in L1 and only three input
         * streams (one digit, two key rows) are read at a time. */
        for (size_t c0 = 0; c0 < n && !ifma; c0 += KS_BLOCK) {
            const size_t len = n - c0 < KS_BLOCK ? n - c0 : KS_BLOCK;
            ppmli_u128 acc0[KS_BLOCK], acc1[KS_BLOCK];
            for (size_t c = 0; c < len; c++) {
                uint64_t x = T[c0 + c];
                acc0[c] = (ppmli_u128)x * kb[0][c0 + c];
                acc1[c] = (ppmli_u128)x * ka[0][c0 + c];
            }
            for (size_t d = 1; d < k; d++) {
                const uint64_t *td = T + d * n + c0, *b = kb[d] + c0, *a = ka[d] + c0;
                for (size_t c = 0; c < len; c++) {
                    acc0[c] += (ppmli_u128)td[c] * b[c];
                    acc1[c] += (ppmli_u128)td[c] * a[c];
                }
            }
            if (mont) {
                for (size_t c = 0; c < len; c++) {
                    o0[c0 + c] = ppmli_redc_lazy(m, acc0[c]); /* [0, 2q) */
                    o1[c0 + c] = ppmli_redc_lazy(m, acc1[c]);
                }
            } else {
                for (size_t c = 0; c < len; c++) {
                    o0[c0 + c] = ppmli_reduce128(m, acc0[c]);
                    o1[c0 + c] = ppmli_reduce128(m, acc1[c]);
                }
            }
        }
        if (mont) {
            ppmli_ntt_inv_mont(tj, o0);
            ppmli_ntt_inv_mont(tj, o1);
        } else {
            ppmli_ntt_inv(tj, o0);
            ppmli_ntt_inv(tj, o1);
        }
        if (step == 0) {
            /* + floor(P/2) so that the division below rounds */
            for (size_t c = 0; c < n; c++) {
                xP0[c] = ppmli_addmod(xP0[c], p->p_half, P);
                xP1[c] = ppmli_addmod(xP1[c], p->p_half, P);
            }
            continue;
        }
        const uint64_t q = m->q, pinv = p->p_inv[j], pinv_sh = p->p_inv_sh[j], hq = p->p_half_mod_q[j];
        /* [x + h]_P < P reduced mod q_j: by conditional subtractions when P < 4 q_j (the
         * usual case: all primes of similar size), else by Barrett. */
        const int p_mode = P < q ? 0 : P <= 2 * q ? 1 : P <= 4 * q ? 2 : 3;
        for (int which = 0; which < 2; which++) {
            const uint64_t *xp = which ? xP1 : xP0, *r = which ? r1 : r0;
            uint64_t *o = (which ? out1 : out0) + j * n;
            /* round(x / P) mod q_j = (x_j + h - [x + h]_P) * P^-1 */
            for (size_t c = 0; c < n; c++) {
                uint64_t xpj = xp[c];
                if (p_mode == 3)
                    xpj = ppmli_reduce64(m, xpj);
                else if (p_mode == 2)
                    xpj = ppmli_csub(ppmli_csub(xpj, 2 * q), q);
                else if (p_mode == 1)
                    xpj = ppmli_csub(xpj, q);
                uint64_t d = ppmli_submod(ppmli_addmod(r[c], hq, q), xpj, q);
                o[c] = ppmli_addmod(o[c], ppmli_mul_shoup(d, pinv, pinv_sh, q), q);
            }
        }
    }
    bfv_free_words(w, words);
    return PPML_OK;
}

int ppml_bfv_relinearize(const ppml_bfv_rlk *rlk, ppml_bfv_ct *out, const ppml_bfv_ct *a)
{
    if (!rlk)
        return PPML_EINVAL;
    int rc = check2(out, a);
    if (rc)
        return rc;
    if (rlk->p != a->p)
        return PPML_EMISMATCH;
    if (a->size == 2)
        return ppml_bfv_ct_copy(out, a);
    const ppml_bfv_params *p = a->p;
    const size_t kn = p->k * p->n;
    uint64_t *c2 = bfv_alloc_scratch(kn);
    if (!c2)
        return PPML_ENOMEM;
    memcpy(c2, bfv_ct_poly(a, 2), kn * 8);
    if (out != a)
        memcpy(out->data, a->data, 2 * kn * 8);
    rc = bfv_keyswitch(p, &rlk->key, c2, bfv_ct_poly(out, 0), bfv_ct_poly(out, 1));
    if (rc == PPML_OK)
        out->size = 2;
    bfv_free_words(c2, kn);
    return rc;
}

int ppml_bfv_mul_relin(const ppml_bfv_rlk *rlk, ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_ct *b)
{
    if (!rlk || !out)
        return PPML_EINVAL;
    if (rlk->p != out->p)
        return PPML_EMISMATCH;
    int rc = ppml_bfv_mul(out, a, b);
    if (rc)
        return rc;
    return ppml_bfv_relinearize(rlk, out, out);
}

uint32_t bfv_galois_elt(const ppml_bfv_params *p, int step);

static const bfv_ksk *find_key(const ppml_bfv_galk *gk, uint32_t g)
{
    size_t lo = 0, hi = gk->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (gk->elt[mid] == g)
            return &gk->keys[mid];
        if (gk->elt[mid] < g)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* One automorphism with key switching: out = (sigma(c0), 0) + KS(sigma(c1)). */
static int apply_galois(const ppml_bfv_params *p, const bfv_ksk *key, uint32_t g, ppml_bfv_ct *out,
                        const ppml_bfv_ct *a)
{
    const size_t n = p->n, k = p->k, kn = k * n;
    uint64_t *w = bfv_alloc_scratch(2 * kn);
    if (!w)
        return PPML_ENOMEM;
    for (size_t i = 0; i < k; i++) {
        bfv_galois_apply(n, g, bfv_ct_poly(a, 0) + i * n, w + i * n, p->primes[i]);
        bfv_galois_apply(n, g, bfv_ct_poly(a, 1) + i * n, w + kn + i * n, p->primes[i]);
    }
    memcpy(bfv_ct_poly(out, 0), w, kn * 8);
    memset(bfv_ct_poly(out, 1), 0, kn * 8);
    out->size = 2;
    int rc = bfv_keyswitch(p, key, w + kn, bfv_ct_poly(out, 0), bfv_ct_poly(out, 1));
    bfv_free_words(w, 2 * kn);
    return rc;
}

int ppml_bfv_rotate_rows(const ppml_bfv_galk *gk, ppml_bfv_ct *out, const ppml_bfv_ct *a, int step)
{
    if (!gk)
        return PPML_EINVAL;
    int rc = check2(out, a);
    if (rc)
        return rc;
    if (gk->p != a->p)
        return PPML_EMISMATCH;
    if (a->size != 2)
        return PPML_ESTATE;
    const ppml_bfv_params *p = a->p;
    long half = (long)(p->n / 2), r = step % half;
    if (r < 0)
        r += half;
    if (r == 0)
        return ppml_bfv_ct_copy(out, a);
    uint32_t g = bfv_galois_elt(p, (int)r);
    const bfv_ksk *key = find_key(gk, g);
    if (key)
        return apply_galois(p, key, g, out, a);
    /* Products of +-2^i keys: left by the bits of r, or right by the bits of half - r. */
    for (int dir = 0; dir < 2; dir++) {
        long amount = dir ? half - r : r;
        int ok = 1;
        for (long b = 1; b < half && ok; b <<= 1)
            if (amount & b)
                ok = find_key(gk, bfv_galois_elt(p, dir ? -(int)b : (int)b)) != NULL;
        if (!ok)
            continue;
        const ppml_bfv_ct *src = a;
        for (long b = 1; b < half; b <<= 1) {
            if (!(amount & b))
                continue;
            uint32_t gb = bfv_galois_elt(p, dir ? -(int)b : (int)b);
            rc = apply_galois(p, find_key(gk, gb), gb, out, src);
            if (rc)
                return rc;
            src = out;
        }
        return PPML_OK;
    }
    return PPML_ENOKEY;
}

int ppml_bfv_rotate_columns(const ppml_bfv_galk *gk, ppml_bfv_ct *out, const ppml_bfv_ct *a)
{
    if (!gk)
        return PPML_EINVAL;
    int rc = check2(out, a);
    if (rc)
        return rc;
    if (gk->p != a->p)
        return PPML_EMISMATCH;
    if (a->size != 2)
        return PPML_ESTATE;
    uint32_t g = (uint32_t)(2 * a->p->n - 1);
    const bfv_ksk *key = find_key(gk, g);
    if (!key)
        return PPML_ENOKEY;
    return apply_galois(a->p, key, g, out, a);
}

int ppml_bfv_rotate_sum(const ppml_bfv_galk *gk, ppml_bfv_ct *out, const ppml_bfv_ct *a, size_t width)
{
    if (!gk)
        return PPML_EINVAL;
    int rc = check2(out, a);
    if (rc)
        return rc;
    if (gk->p != a->p)
        return PPML_EMISMATCH;
    const ppml_bfv_params *p = a->p;
    if (width == 0 || width > p->n / 2 || (width & (width - 1)))
        return PPML_EINVAL;
    if (a->size != 2)
        return PPML_ESTATE;
    for (size_t b = 1; b < width; b <<= 1)
        if (!find_key(gk, bfv_galois_elt(p, (int)b)))
            return PPML_ENOKEY;
    ppml_bfv_ct *tmp;
    rc = ppml_bfv_ct_new(p, &tmp);
    if (rc)
        return rc;
    rc = ppml_bfv_ct_copy(out, a);
    /* After the step with b: column j holds the sum of columns j .. j + 2b - 1. */
    for (size_t b = 1; b < width && rc == PPML_OK; b <<= 1) {
        uint32_t g = bfv_galois_elt(p, (int)b);
        rc = apply_galois(p, find_key(gk, g), g, tmp, out);
        if (rc == PPML_OK)
            rc = ppml_bfv_add(out, out, tmp);
    }
    ppml_bfv_ct_free(tmp);
    return rc;
}

int ppml_bfv_mul_scalar(ppml_bfv_ct *out, const ppml_bfv_ct *a, int64_t k)
{
    int rc = check2(out, a);
    if (rc)
        return rc;
    const ppml_bfv_params *p = a->p;
    const size_t n = p->n;
    /* centred representative of k mod t */
    int64_t kt = (int64_t)(k % (int64_t)p->t);
    if (kt > (int64_t)(p->t / 2))
        kt -= (int64_t)p->t;
    else if (kt < -(int64_t)(p->t / 2))
        kt += (int64_t)p->t;
    /* k may be a secret blinding factor: Barrett products (no division to make a Shoup
     * constant, whose time could depend on k). */
    for (size_t i = 0; i < p->k; i++) {
        const ppmli_mod *m = &p->ntt[i].mod;
        const uint64_t w = ppmli_from_signed(kt, m->q);
        for (size_t j = 0; j < a->size; j++) {
            const uint64_t *x = bfv_ct_poly(a, j) + i * n;
            uint64_t *o = bfv_ct_poly(out, j) + i * n;
            for (size_t c = 0; c < n; c++)
                o[c] = ppmli_mulmod(m, x[c], w);
        }
    }
    out->size = a->size;
    return PPML_OK;
}
