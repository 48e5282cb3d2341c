/* Secure aggregation with pairwise additive masks (Bonawitz et al., "Practical Secure
 * Aggregation for Privacy-Preserving Machine Learning", CCS 2017, without dropout recovery).
 *
 * Parties 0..n-1 (the workers) each hold an X25519 key pair and the public keys of all
 * others (relayed by the aggregator, which is the data centre). For each pair j < k the
 * shared secret X25519(sk_j, pk_k) is hashed with BLAKE2b, together with both public keys
 * and both indices, into a 32-byte seed s_jk. In round r, the pairwise mask m_jk(r) is the
 * ppml_prg expansion of s_jk on stream r (fresh masks every round), as len uint64 words.
 * Party j sends
 *     y_j = v_j + sum_{k > j} m_jk(r) - sum_{k < j} m_kj(r)      (mod 2^64)
 * and sum_j y_j = sum_j v_j exactly, because each mask is added once and subtracted once.
 *
 * What each party receives: the aggregator receives y_1..y_n and learns only sum_j v_j; any
 * y_j alone is uniform in Z_{2^64}^len. A coalition of the aggregator and up to n - 2 parties
 * knows every mask except those between honest parties; with at least two honest parties,
 * the honest y's are uniform subject to their sum (each unknown mask is a one-time pad).
 * Security is computational (X25519, ChaCha20). Public keys are not authenticated here: the
 * deployment authenticates them (the MPI engine runs inside one job).
 *
 * Ownership: ppml_secagg_party is a heap object (_new/_free) holding secret seeds in
 * sodium_malloc'ed memory, wiped on free. */
#ifndef PPML_SECAGG_H
#define PPML_SECAGG_H
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_SECAGG_KEY_BYTES 32
#define PPML_SECAGG_MAX_PARTIES 65536

typedef struct ppml_secagg_party ppml_secagg_party;

/* Fresh X25519 key pair (secret from the CSPRNG). */
PPML_API int ppml_secagg_keygen(uint8_t pk[PPML_SECAGG_KEY_BYTES], uint8_t sk[PPML_SECAGG_KEY_BYTES]) PPML_WUR;

/* Pairwise seed between party i (secret sk_i) and party k (public pk_k); symmetric:
 * seed(i, sk_i, k, pk_k) = seed(k, sk_k, i, pk_i). pk_i is the caller's own public key.
 * PPML_ECRYPTO if the peer key is a low-order point. */
PPML_API int ppml_secagg_pair_seed(uint8_t seed[32], uint32_t i, const uint8_t sk_i[32],
                                   const uint8_t pk_i[32], uint32_t k, const uint8_t pk_k[32]) PPML_WUR;

/* Party `index` of n (2 <= n <= MAX_PARTIES) with its secret key and all n public keys
 * (pks: n * 32 bytes, pks[index] must be its own). Derives the n - 1 pairwise seeds. */
PPML_API int ppml_secagg_party_new(ppml_secagg_party **out, uint32_t index, uint32_t n,
                                   const uint8_t sk[PPML_SECAGG_KEY_BYTES], const uint8_t *pks) PPML_WUR;
PPML_API void ppml_secagg_party_free(ppml_secagg_party *p);

/* Mask vec (len words, in place) for round `round`. */
PPML_API int ppml_secagg_mask(const ppml_secagg_party *p, uint64_t *vec, size_t len, uint64_t round) PPML_WUR;

/* The mask m(r) of one pair, from its seed: len words. Exposed for tests and auditors. */
PPML_API void ppml_secagg_expand(uint64_t *mask, size_t len, const uint8_t seed[32], uint64_t round);

/* Aggregator: acc += y (mod 2^64). */
PPML_API void ppml_secagg_add(uint64_t *acc, const uint64_t *y, size_t len);

#ifdef __cplusplus
}
#endif
#endif
