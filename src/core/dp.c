/* Exact discrete Laplace sampler (Canonne, Kamath, Steinke 2020, Algorithms 1 and 2).
 * Integer arithmetic only; uniform integers from ppml_rand_below (OS CSPRNG). */
#include "ppml/dp.h"
#include "ppml/rand.h"

/* Bernoulli(num/den), 0 <= num <= den. */
static int bernoulli(uint64_t num, uint64_t den) { return ppml_rand_below(den) < num; }

/* Bernoulli(exp(-num/den)) for 0 <= num/den <= 1 (CKS Algorithm 1, first branch):
 * K = first k >= 1 with Bernoulli(gamma/k) = 0; return [K odd]. */
static int bern_exp_le1(uint64_t num, uint64_t den)
{
    uint64_t k = 1;
    for (;;) {
        /* gamma/k = num/(den*k); den*k stays < 2^64 because the loop ends fast (P[k] ~ 1/k!) */
        if (den > UINT64_MAX / k)
            return (int)(k & 1); /* unreachable in practice: probability < 1/20! */
        if (!bernoulli(num, den * k))
            return (int)(k & 1);
        k++;
    }
}

int ppml_bernoulli_exp(uint64_t num, uint64_t den)
{
    /* exp(-g) = exp(-1)^floor(g) * exp(-(g - floor(g))) */
    while (num > den) {
        if (!bern_exp_le1(1, 1))
            return 0;
        num -= den;
    }
    return bern_exp_le1(num, den);
}

int ppml_dlap_sample(int64_t *out, uint64_t num, uint64_t den)
{
    /* Scale t = num/den. CKS Algorithm 2 with s = den, t = num:
     * sample U in [0, num), D ~ Bern(exp(-U/num)); V ~ Geom(1 - e^-1); X = U + num*V;
     * Y = floor(X / den); B ~ Bern(1/2); reject (B = 1, Y = 0); output (1 - 2B) * Y. */
    if (num == 0 || den == 0 || num >= ((uint64_t)1 << 32) || den >= ((uint64_t)1 << 32))
        return PPML_EINVAL;
    for (;;) {
        uint64_t u = ppml_rand_below(num);
        if (!bern_exp_le1(u, num))
            continue;
        uint64_t v = 0;
        while (bern_exp_le1(1, 1))
            v++;
        if (v > ((uint64_t)1 << 30))
            continue; /* probability e^-(2^30): keeps the arithmetic below in range */
        uint64_t x = u + num * v;
        uint64_t y = x / den;
        int b = (int)(ppml_rand_u64() & 1);
        if (b && y == 0)
            continue;
        *out = b ? -(int64_t)y : (int64_t)y;
        return PPML_OK;
    }
}

int ppml_dlap_sample_vec(int64_t *out, size_t count, uint64_t num, uint64_t den)
{
    for (size_t i = 0; i < count; i++) {
        int e = ppml_dlap_sample(&out[i], num, den);
        if (e)
            return e;
    }
    return PPML_OK;
}
