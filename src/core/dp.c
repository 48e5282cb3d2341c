/* Exact discrete Laplace sampler (Canonne, Kamath, Steinke 2020, Algorithms 1 and 2).
 *
 * Integer arithmetic only. Randomness is consumed a few bits at a time by a bit reader local
 * to each call (bits left over at the end of a call are dropped and wiped, so calls never
 * share state and test seeding stays reproducible). Its 64-bit words come from
 *  - single draws (ppml_dlap_sample, ppml_bernoulli*): ppml_rand_u64, the per-thread buffer of
 *    OS-CSPRNG output;
 *  - vectors (ppml_dlap_sample_vec): a ChaCha20 keystream (ppml_prg) keyed by 32 fresh bytes
 *    of ppml_randombytes for that call, expanded KS_WORDS words at a time; the keystream
 *    buffer and the key are wiped before returning. One OS read then serves a whole
 *    ciphertext's noise instead of one read per 256 bytes.
 *
 * Bernoulli(num/den): a uniform U in [0, 1) is drawn lazily and compared with the binary
 * expansion of p = num/den; the first differing bit decides (U < p iff U's bit is 0 there),
 * so P[1] = p exactly. For den < 2^32, 32 bits of p at a time (one 64-bit division) against 32
 * bits of U (one unpredictable branch instead of about two); otherwise bit by bit, doubling
 * the remainder (no division, two bits on average). Uniform integers below a bound draw just enough bits and reject values
 * past the bound (exact). The scale num/den is first reduced to lowest terms (the same
 * distribution; fewer bits for U when den shares a power of two with num). */
#include "ppml/dp.h"
#include "ppml/mem.h"
#include "ppml/rand.h"

#define KS_WORDS 128 /* keystream words per refill (1 KiB, 16 ChaCha20 blocks) */

typedef struct bits {
    uint64_t w;   /* unused random bits, low end first */
    unsigned n;   /* how many */
    ppml_prg *prg; /* keystream of the vector path; NULL: words from ppml_rand_u64 */
    uint64_t *ks;  /* prg's words; ks[ks_pos..KS_WORDS) unread, the rest already wiped */
    unsigned ks_pos;
} bits;

static inline uint64_t next_word(bits *b)
{
    if (!b->prg)
        return ppml_rand_u64();
    if (b->ks_pos == KS_WORDS) {
        ppml_prg_words(b->prg, b->ks, KS_WORDS);
        b->ks_pos = 0;
    }
    uint64_t v = b->ks[b->ks_pos];
    b->ks[b->ks_pos++] = 0;
    return v;
}

/* k in [1, 32] fresh uniform bits (none wasted: a draw may span two words). */
static inline __attribute__((always_inline)) uint64_t take(bits *b, unsigned k)
{
    uint64_t v = 0;
    unsigned got = 0;
    if (b->n < k) {
        v = b->w; /* the b->n bits left, as the low end */
        got = b->n;
        b->w = next_word(b);
        b->n = 64;
    }
    unsigned need = k - got; /* 1..32 */
    v |= (b->w & (((uint64_t)1 << need) - 1)) << got;
    b->w >>= need;
    b->n -= need;
    return v;
}

/* The leftover bits (the keystream buffer is the caller's to wipe). */
static void bits_wipe(bits *b)
{
    ppml_memzero(&b->w, sizeof b->w);
    b->n = 0;
}

/* Bernoulli(num/den), den >= 1 (num >= den gives 1). */
static int bern_frac(bits *b, uint64_t num, uint64_t den)
{
    if (num >= den)
        return 1;
    uint64_t r = num; /* p's remaining expansion is r/den, 0 <= r < den */
    if (den <= UINT32_MAX) {
        /* 32 bits at a time (r 2^32 < 2^64): the next 32 bits of p are floor(r 2^32 / den),
         * compared with 32 bits of U at once; almost always they differ and decide. */
        for (;;) {
            uint64_t x = r << 32, pw = x / den;
            r = x - pw * den;
            uint64_t uw = take(b, 32);
            if (uw != pw)
                return uw < pw;
            if (r == 0)
                return 0; /* p's expansion ended: U >= p */
        }
    }
    for (;;) {
        /* next bit of p: 1 iff 2r >= den; remainder 2r - den or 2r (no overflow: r < den) */
        unsigned pbit = r >= den - r;
        r = pbit ? r - (den - r) : r + r;
        unsigned ubit = (unsigned)take(b, 1);
        if (ubit != pbit)
            return (int)pbit; /* U < p iff U has the 0 where p has the 1 */
        if (r == 0)
            return 0; /* p's expansion ended: U >= p */
    }
}

/* Uniform in [0, bound), 1 <= bound < 2^32: k = bits(bound - 1) fresh bits until the value is
 * below bound (accepted with probability > 1/2; fewer bits than a 32-bit draw). */
static uint64_t uniform_below(bits *b, uint64_t bound)
{
    if (bound == 1)
        return 0;
    unsigned k = 64 - (unsigned)__builtin_clzll(bound - 1);
    for (;;) {
        uint64_t v = take(b, k);
        if (v < bound)
            return v;
    }
}

/* Bernoulli(exp(-num/den)) for 0 <= num/den <= 1 (CKS Algorithm 1, first branch):
 * K = first k >= 1 with Bernoulli(gamma/k) = 0; return [K odd]. */
static int bern_exp_le1(bits *b, uint64_t num, uint64_t den)
{
    uint64_t k = 1;
    for (;;) {
        /* gamma/k = num/(den*k); den*k stays < 2^64 because the loop ends fast (P[k] ~ 1/k!) */
        if (den > UINT64_MAX / k)
            return (int)(k & 1); /* unreachable in practice: probability < 1/20! */
        if (!bern_frac(b, num, den * k))
            return (int)(k & 1);
        k++;
    }
}

static int bern_exp(bits *b, uint64_t num, uint64_t den)
{
    /* exp(-g) = exp(-1)^floor(g) * exp(-(g - floor(g))) */
    while (num > den) {
        if (!bern_exp_le1(b, 1, 1))
            return 0;
        num -= den;
    }
    return bern_exp_le1(b, num, den);
}

int ppml_bernoulli_exp(uint64_t num, uint64_t den)
{
    if (den == 0)
        return 0; /* exp(-infinity) */
    bits b = {0};
    int r = bern_exp(&b, num, den);
    bits_wipe(&b);
    return r;
}

int ppml_bernoulli(uint64_t num, uint64_t den)
{
    if (den == 0 || num > den)
        return PPML_EINVAL;
    bits b = {0};
    int r = bern_frac(&b, num, den);
    bits_wipe(&b);
    return r;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int dlap_args(uint64_t *num, uint64_t *den)
{
    if (*num == 0 || *den == 0 || *num >= ((uint64_t)1 << 32) || *den >= ((uint64_t)1 << 32))
        return PPML_EINVAL;
    uint64_t g = gcd64(*num, *den); /* public: the scale */
    *num /= g;
    *den /= g;
    return PPML_OK;
}

static void dlap_one(bits *b, int64_t *out, uint64_t num, uint64_t den)
{
    /* Scale t = num/den. CKS Algorithm 2 with s = den, t = num:
     * sample U in [0, num), D ~ Bern(exp(-U/num)); V ~ Geom(1 - e^-1); X = U + num*V;
     * Y = floor(X / den); B ~ Bern(1/2); reject (B = 1, Y = 0); output (1 - 2B) * Y. */
    for (;;) {
        uint64_t u = uniform_below(b, num);
        if (!bern_exp_le1(b, u, num))
            continue;
        uint64_t v = 0;
        while (bern_exp_le1(b, 1, 1))
            v++;
        if (v > ((uint64_t)1 << 30))
            continue; /* probability e^-(2^30): keeps the arithmetic below in range */
        uint64_t x = u + num * v;
        uint64_t y = den == 1 ? x : x / den;
        int s = (int)take(b, 1);
        if (s && y == 0)
            continue;
        *out = s ? -(int64_t)y : (int64_t)y;
        return;
    }
}

int ppml_dlap_sample(int64_t *out, uint64_t num, uint64_t den)
{
    int e;
    if (!out)
        return PPML_EINVAL;
    if ((e = dlap_args(&num, &den)))
        return e;
    bits b = {0};
    dlap_one(&b, out, num, den);
    bits_wipe(&b);
    return PPML_OK;
}

int ppml_dlap_sample_vec(int64_t *out, size_t count, uint64_t num, uint64_t den)
{
    int e;
    if (!out && count)
        return PPML_EINVAL;
    if ((e = dlap_args(&num, &den)) || count == 0)
        return e;
    /* One bit reader on one fresh keystream for the whole vector: the samples stay
     * independent (fresh bits each). */
    ppml_prg prg;
    uint64_t ks[KS_WORDS];
    ppml_prg_init_fresh(&prg);
    bits b = {0, 0, &prg, ks, KS_WORDS};
    for (size_t i = 0; i < count; i++)
        dlap_one(&b, &out[i], num, den);
    bits_wipe(&b);
    ppml_memzero(ks, sizeof ks);
    ppml_prg_clear(&prg);
    return PPML_OK;
}
