/* Secure aggregation by pairwise masks (see include/ppml/secagg.h for what each party
 * receives). */
#include "ppml/secagg.h"
#include "ppml/rand.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct ppml_secagg_party {
    uint32_t index, n;
    uint8_t (*seeds)[32]; /* n entries, sodium_malloc'ed; seeds[index] unused (zero) */
};

int ppml_secagg_keygen(uint8_t pk[32], uint8_t sk[32])
{
    if (!pk || !sk)
        return PPML_EINVAL;
    ppml_randombytes(sk, 32);
    if (crypto_scalarmult_base(pk, sk) != 0) {
        sodium_memzero(sk, 32);
        return PPML_ECRYPTO;
    }
    return PPML_OK;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int ppml_secagg_pair_seed(uint8_t seed[32], uint32_t i, const uint8_t sk_i[32], const uint8_t pk_i[32],
                          uint32_t k, const uint8_t pk_k[32])
{
    if (!seed || !sk_i || !pk_i || !pk_k || i == k)
        return PPML_EINVAL;
    uint8_t shared[32];
    if (crypto_scalarmult(shared, sk_i, pk_k) != 0) { /* all-zero output: low-order point */
        sodium_memzero(shared, sizeof shared);
        return PPML_ECRYPTO;
    }
    /* seed = BLAKE2b-256("ppml-secagg-v1" | lo | hi | pk_lo | pk_hi | shared) */
    static const char label[] = "ppml-secagg-v1";
    uint32_t lo = i < k ? i : k, hi = i < k ? k : i;
    const uint8_t *pk_lo = i < k ? pk_i : pk_k, *pk_hi = i < k ? pk_k : pk_i;
    uint8_t idx[8];
    put_u32(idx, lo);
    put_u32(idx + 4, hi);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const uint8_t *)label, sizeof label - 1);
    crypto_generichash_update(&st, idx, sizeof idx);
    crypto_generichash_update(&st, pk_lo, 32);
    crypto_generichash_update(&st, pk_hi, 32);
    crypto_generichash_update(&st, shared, 32);
    crypto_generichash_final(&st, seed, 32);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(shared, sizeof shared);
    return PPML_OK;
}

int ppml_secagg_party_new(ppml_secagg_party **out, uint32_t index, uint32_t n, const uint8_t sk[32],
                          const uint8_t *pks)
{
    if (!out || !sk || !pks || n < 2 || n > PPML_SECAGG_MAX_PARTIES || index >= n)
        return PPML_EINVAL;
    uint8_t own[32];
    if (crypto_scalarmult_base(own, sk) != 0 || sodium_memcmp(own, pks + 32 * (size_t)index, 32) != 0)
        return PPML_EMISMATCH;
    ppml_secagg_party *p = calloc(1, sizeof *p);
    uint8_t(*seeds)[32] = sodium_malloc((size_t)n * 32);
    if (!p || !seeds) {
        free(p);
        if (seeds)
            sodium_free(seeds);
        return PPML_ENOMEM;
    }
    memset(seeds, 0, (size_t)n * 32);
    for (uint32_t k = 0; k < n; k++) {
        if (k == index)
            continue;
        int e = ppml_secagg_pair_seed(seeds[k], index, sk, own, k, pks + 32 * (size_t)k);
        if (e) {
            sodium_free(seeds);
            free(p);
            return e;
        }
    }
    p->index = index;
    p->n = n;
    p->seeds = seeds;
    *out = p;
    return PPML_OK;
}

void ppml_secagg_party_free(ppml_secagg_party *p)
{
    if (!p)
        return;
    sodium_free(p->seeds); /* wipes */
    free(p);
}

void ppml_secagg_expand(uint64_t *mask, size_t len, const uint8_t seed[32], uint64_t round)
{
    ppml_prg prg;
    ppml_prg_init(&prg, seed, round);
    ppml_prg_bytes(&prg, mask, len * sizeof *mask);
    ppml_prg_clear(&prg);
    /* Words are read in host order; masks cancel either way, and x86 is little endian. */
}

int ppml_secagg_mask(const ppml_secagg_party *p, uint64_t *vec, size_t len, uint64_t round)
{
    if (!p || (!vec && len))
        return PPML_EINVAL;
    enum { CHUNK = 512 };
    uint64_t buf[CHUNK];
    for (uint32_t k = 0; k < p->n; k++) {
        if (k == p->index)
            continue;
        ppml_prg prg;
        ppml_prg_init(&prg, p->seeds[k], round);
        int add = k > p->index; /* j adds m_jk for k > j, subtracts m_kj for k < j */
        for (size_t off = 0; off < len; off += CHUNK) {
            size_t c = len - off < CHUNK ? len - off : CHUNK;
            ppml_prg_bytes(&prg, buf, c * sizeof *buf);
            if (add)
                for (size_t t = 0; t < c; t++)
                    vec[off + t] += buf[t];
            else
                for (size_t t = 0; t < c; t++)
                    vec[off + t] -= buf[t];
        }
        ppml_prg_clear(&prg);
    }
    sodium_memzero(buf, sizeof buf);
    return PPML_OK;
}

void ppml_secagg_add(uint64_t *acc, const uint64_t *y, size_t len)
{
    for (size_t t = 0; t < len; t++)
        acc[t] += y[t];
}
