/* Word-size modular arithmetic and NTT-friendly prime generation (see ring.h). */
#include "crypto/ntt/ring.h"

void ppmli_mod_init(ppmli_mod *m, uint64_t q)
{
    m->q = q;
    /* floor(2^128 / q): 2^128 - 1 = q*Q + R, and 2^128 / q has the same floor unless
     * R = q - 1 (q never divides 2^128 for odd q > 1). */
    ppmli_u128 all = ~(ppmli_u128)0;
    ppmli_u128 quo = all / q;
    if (all % q == q - 1)
        quo++;
    m->r_hi = (uint64_t)(quo >> 64);
    m->r_lo = (uint64_t)quo;
    unsigned b = 0;
    while (b < 64 && (q >> b))
        b++;
    m->bits = b;
    uint64_t inv = 1; /* Newton: q^-1 mod 2^64 (q odd) */
    for (int i = 0; i < 7; i++)
        inv *= 2 - q * inv;
    m->qinv_neg = 0 - inv;
}

uint64_t ppmli_powmod(const ppmli_mod *m, uint64_t a, uint64_t e)
{
    uint64_t r = 1 % m->q, b = ppmli_reduce64(m, a);
    while (e) {
        if (e & 1)
            r = ppmli_mulmod(m, r, b);
        b = ppmli_mulmod(m, b, b);
        e >>= 1;
    }
    return r;
}

uint64_t ppmli_invmod(const ppmli_mod *m, uint64_t a)
{
    return ppmli_powmod(m, a, m->q - 2);
}

static uint64_t mr_mul(uint64_t a, uint64_t b, uint64_t n)
{
    return (uint64_t)(((ppmli_u128)a * b) % n);
}

static int mr_witness(uint64_t n, uint64_t a, uint64_t d, unsigned s)
{
    a %= n;
    if (a == 0)
        return 0;
    uint64_t x = 1, b = a, e = d;
    while (e) {
        if (e & 1)
            x = mr_mul(x, b, n);
        b = mr_mul(b, b, n);
        e >>= 1;
    }
    if (x == 1 || x == n - 1)
        return 0;
    for (unsigned i = 1; i < s; i++) {
        x = mr_mul(x, x, n);
        if (x == n - 1)
            return 0;
    }
    return 1; /* composite */
}

int ppmli_is_prime(uint64_t n)
{
    static const uint64_t small[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2)
        return 0;
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        if (n == small[i])
            return 1;
        if (n % small[i] == 0)
            return 0;
    }
    uint64_t d = n - 1;
    unsigned s = 0;
    while (!(d & 1)) {
        d >>= 1;
        s++;
    }
    /* These bases are a deterministic test for every n < 2^64. */
    static const uint64_t bases[] = {2, 325, 9375, 28178, 450775, 9780504, 1795265022};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
        if (mr_witness(n, bases[i], d, s))
            return 0;
    return 1;
}

size_t ppmli_gen_primes(uint64_t *out, size_t count, unsigned bits, uint64_t m2,
                        const uint64_t *avoid, size_t navoid)
{
    if (bits < 2 || bits > PPMLI_MAX_MOD_BITS || m2 == 0 || count == 0)
        return 0;
    uint64_t top = (uint64_t)1 << bits, low = (uint64_t)1 << (bits - 1);
    if (m2 >= top - 1)
        return 0;
    size_t found = 0;
    /* Largest c < 2^bits with c = 1 mod m2. */
    uint64_t c = top - 1 - ((top - 2) % m2);
    for (; c > low && found < count; c -= m2) {
        int skip = 0;
        for (size_t i = 0; i < navoid; i++)
            skip |= avoid[i] == c;
        for (size_t i = 0; i < found; i++)
            skip |= out[i] == c;
        if (!skip && ppmli_is_prime(c))
            out[found++] = c;
        if (c <= m2)
            break;
    }
    return found;
}

uint64_t ppmli_min_root_2n(uint64_t q, size_t n)
{
    uint64_t m2 = 2 * (uint64_t)n;
    if (n < 1 || (q - 1) % m2 != 0)
        return 0;
    ppmli_mod m;
    ppmli_mod_init(&m, q);
    uint64_t e = (q - 1) / m2, root = 0;
    /* A candidate c = x^((q-1)/2n) has order dividing 2n (a power of two), so it is
     * primitive iff c^n = -1. */
    for (uint64_t x = 2; x < q && !root; x++) {
        uint64_t c = ppmli_powmod(&m, x, e);
        if (ppmli_powmod(&m, c, n) == q - 1)
            root = c;
    }
    if (!root)
        return 0;
    /* All primitive 2n-th roots are root^k, k odd; take the smallest. */
    uint64_t best = root, sq = ppmli_mulmod(&m, root, root), cur = root;
    for (uint64_t k = 3; k < m2; k += 2) {
        cur = ppmli_mulmod(&m, cur, sq);
        if (cur < best)
            best = cur;
    }
    return best;
}
