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
    if (n < 2 || (n & (n - 1)) || q >= ((uint64_t)1 << 62) || !ppmli_is_prime(q))
        return -1;
    uint64_t psi = ppmli_min_root_2n(q, n);
    if (!psi)
        return -1;
    uint64_t *mem = malloc(4 * n * sizeof *mem);
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
    return 0;
}

void ppmli_ntt_clear(ppmli_ntt *t)
{
    free(t->mem);
    memset(t, 0, sizeof *t);
}

void ppmli_ntt_fwd_lazy_c(const ppmli_ntt *t, uint64_t *a)
{
    const uint64_t q = t->mod.q, q2 = 2 * q;
    const size_t n = t->n;
    size_t gap = n;
    for (size_t m = 1; m < n; m <<= 1) {
        gap >>= 1;
        for (size_t i = 0; i < m; i++) {
            const uint64_t w = t->tw[m + i], wp = t->tw_sh[m + i];
            uint64_t *x = a + 2 * i * gap, *y = x + gap;
            for (size_t j = 0; j < gap; j++) {
                uint64_t u = x[j];
                u -= (u >= q2) ? q2 : 0;
                uint64_t v = ppmli_mul_shoup_lazy(y[j], w, wp, q);
                x[j] = u + v;
                y[j] = u - v + q2;
            }
        }
    }
}

void ppmli_ntt_inv_lazy_c(const ppmli_ntt *t, uint64_t *a)
{
    const uint64_t q = t->mod.q, q2 = 2 * q;
    const size_t n = t->n;
    size_t gap = 1;
    for (size_t m = n; m > 2; m >>= 1) {
        size_t h = m >> 1;
        for (size_t i = 0; i < h; i++) {
            const uint64_t w = t->itw[h + i], wp = t->itw_sh[h + i];
            uint64_t *x = a + 2 * i * gap, *y = x + gap;
            for (size_t j = 0; j < gap; j++) {
                uint64_t u = x[j], v = y[j];
                uint64_t s = u + v;
                s -= (s >= q2) ? q2 : 0;
                x[j] = s;
                y[j] = ppmli_mul_shoup_lazy(u - v + q2, w, wp, q);
            }
        }
        gap <<= 1;
    }
    /* Last stage (m = 2, one twiddle) merged with the scaling by n^-1:
     * x' = (u + v)/n, y' = (u - v) * psi^-brv(1) / n. */
    const uint64_t ni = t->n_inv, nip = t->n_inv_sh;
    const uint64_t w = ppmli_mulmod(&t->mod, t->itw[1], ni), wp = ppmli_shoup(w, q);
    uint64_t *x = a, *y = a + gap;
    for (size_t j = 0; j < gap; j++) {
        uint64_t u = x[j], v = y[j];
        x[j] = ppmli_mul_shoup_lazy(u + v, ni, nip, q);
        y[j] = ppmli_mul_shoup_lazy(u - v + q2, w, wp, q);
    }
}

void ppmli_reduce_4q(uint64_t *a, size_t n, uint64_t q)
{
    const uint64_t q2 = 2 * q;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = a[i];
        v -= (v >= q2) ? q2 : 0;
        v -= (v >= q) ? q : 0;
        a[i] = v;
    }
}

void ppmli_reduce_2q(uint64_t *a, size_t n, uint64_t q)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = a[i];
        a[i] = v - ((v >= q) ? q : 0);
    }
}

void ppmli_ntt_fwd_lazy(const ppmli_ntt *t, uint64_t *a)
{
    ppmli_ntt_fwd_lazy_c(t, a);
}

void ppmli_ntt_inv_lazy(const ppmli_ntt *t, uint64_t *a)
{
    ppmli_ntt_inv_lazy_c(t, a);
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
