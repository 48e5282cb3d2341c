/* Paillier encryption with g = 1 + N (DESIGN §2).
 *
 * Ownership: keys are heap objects (_new/_free or made by keygen/load); a secret key owns its
 * public key (ppml_paillier_sk_pk borrows it). Ciphertexts and plaintexts are caller-owned
 * mpz_t. Functions never keep pointers to their inputs.
 *
 * Public/secret: N, N^2 and ciphertexts are public; p, q, lambda, mu and the CRT constants are
 * secret and live in GMP memory wiped on free (ppml_init installs the allocator);
 * exponentiations by secret exponents use mpz_powm_sec.
 *
 * Plaintexts are in [0, N); signed values v are embedded as v mod N and decoded to the centred
 * representative (ppml/fixed.h).
 *
 * Encryption forms:
 *   naive : (1 + mN) * r^N mod N^2, r uniform unit mod N.
 *   djn   : (1 + mN) * h_N^a mod N^2, a uniform of |N|/2 bits (Damgard-Jurik-Nielsen), h_N
 *           in the public key, with a precomputed fixed-base table (Lim-Lee comb, read in an
 *           exponent-independent access pattern). Default.
 *   crt   : with the secret key, the random N-th residue computed mod p^2 and q^2 and
 *           recombined (fresh randomness: s^p mod p^2 and t^q mod q^2, the same distribution
 *           as r^N with half-size exponents; see paillier.c).
 * Decryption: CRT (mod p^2 and q^2, precomputed h_p, h_q) by default; naive L(c^lambda)mu
 * is kept for comparison. */
#ifndef PPML_PAILLIER_H
#define PPML_PAILLIER_H
#include "common.h"
#include <gmp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_PAILLIER_MIN_BITS 2048
#define PPML_PAILLIER_MAX_BITS 8192
/* Smallest modulus allowed through the test-only keygen. */
#define PPML_PAILLIER_TEST_MIN_BITS 256

typedef struct ppml_paillier_pk ppml_paillier_pk;
typedef struct ppml_paillier_sk ppml_paillier_sk;

/* Key generation: bits in {2048, 3072, 4096} (others in [2048, 8192] divisible by 256 are
 * accepted); PPML_EWEAK below 2048. p, q of bits/2 bits each, |N| = bits exactly. */
PPML_API int ppml_paillier_keygen(ppml_paillier_sk **sk, unsigned bits) PPML_WUR;
/* TEST ONLY: allows bits >= PPML_PAILLIER_TEST_MIN_BITS. Never used by the CLI or the
 * protocols outside tests. */
PPML_API int ppml_paillier_keygen_insecure_for_tests(ppml_paillier_sk **sk, unsigned bits) PPML_WUR;
PPML_API void ppml_paillier_sk_free(ppml_paillier_sk *sk);
PPML_API void ppml_paillier_pk_free(ppml_paillier_pk *pk);
/* Borrowed public half of sk (valid while sk lives). */
PPML_API const ppml_paillier_pk *ppml_paillier_sk_pk(const ppml_paillier_sk *sk);
/* Independent copy of a public key. */
PPML_API int ppml_paillier_pk_dup(ppml_paillier_pk **out, const ppml_paillier_pk *pk) PPML_WUR;
/* Public key from N alone (e.g. imported); a fresh DJN base h_N is drawn locally.
 * Checks N odd, |N| >= min bits (PPML_EWEAK), no small factors. */
PPML_API int ppml_paillier_pk_from_n(ppml_paillier_pk **out, const mpz_t n) PPML_WUR;

/* Read-only views. */
PPML_API mpz_srcptr ppml_paillier_pk_n(const ppml_paillier_pk *pk);
PPML_API mpz_srcptr ppml_paillier_pk_n2(const ppml_paillier_pk *pk);
PPML_API unsigned ppml_paillier_pk_bits(const ppml_paillier_pk *pk);
/* 32-byte id (BLAKE2b of N) used in serialized headers. */
PPML_API const uint8_t *ppml_paillier_pk_id(const ppml_paillier_pk *pk);

/* Encryption of m in [0, N) (PPML_ERANGE otherwise). c may alias nothing. */
PPML_API int ppml_paillier_encrypt(const ppml_paillier_pk *pk, mpz_t c, const mpz_t m) PPML_WUR;
PPML_API int ppml_paillier_encrypt_naive(const ppml_paillier_pk *pk, mpz_t c, const mpz_t m) PPML_WUR;
PPML_API int ppml_paillier_encrypt_crt(const ppml_paillier_sk *sk, mpz_t c, const mpz_t m) PPML_WUR;
/* DJN encryption with the secret key: the ciphertext distribution of ppml_paillier_encrypt,
 * computed modulo p^2 and q^2 with fixed-base tables (built on first use, kept with sk,
 * wiped on free); the fastest form for a key holder. Thread-safe. */
PPML_API int ppml_paillier_encrypt_djn_crt(const ppml_paillier_sk *sk, mpz_t c, const mpz_t m) PPML_WUR;
/* Signed 64-bit convenience: encrypts v mod N. */
PPML_API int ppml_paillier_encrypt_i64(const ppml_paillier_pk *pk, mpz_t c, int64_t v) PPML_WUR;

/* Decryption; checks c in [0, N^2) and gcd(c, N) = 1 (PPML_ERANGE / PPML_ECRYPTO). */
PPML_API int ppml_paillier_decrypt(const ppml_paillier_sk *sk, mpz_t m, const mpz_t c) PPML_WUR;
PPML_API int ppml_paillier_decrypt_naive(const ppml_paillier_sk *sk, mpz_t m, const mpz_t c) PPML_WUR;
/* Centred decryption to int64 (PPML_ERANGE if it does not fit). */
PPML_API int ppml_paillier_decrypt_i64(const ppml_paillier_sk *sk, int64_t *v, const mpz_t c) PPML_WUR;

/* PPML_OK if c is a valid ciphertext for pk: 0 < c < N^2 and gcd(c, N) = 1. */
PPML_API int ppml_paillier_ct_check(const ppml_paillier_pk *pk, const mpz_t c) PPML_WUR;

/* Homomorphic operations (public key only). Outputs may alias inputs. Inputs are assumed to
 * be valid ciphertexts (ppml_paillier_ct_check); sub/neg of a non-invertible input yield 0,
 * which every later check refuses. Results carry the randomness of their inputs: rerandomize
 * before sending a result to a party that must not link it to them. */
PPML_API void ppml_paillier_add(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, const mpz_t b);
PPML_API void ppml_paillier_sub(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, const mpz_t b);
PPML_API void ppml_paillier_neg(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a);
/* c = a + Enc(m) without fresh randomness: (1 + mN) * a. m is reduced mod N. */
PPML_API void ppml_paillier_add_plain(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, const mpz_t m);
/* c = k * a for a signed 64-bit scalar. k is treated as secret (mpz_powm_sec; timing depends
 * only on its sign and bit length). k = 0 gives c = 1, the trivial encryption of 0. */
PPML_API void ppml_paillier_mul_i64(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, int64_t k);
/* c = k * a for a full-size scalar (reduced mod N; negative k allowed; secret, mpz_powm_sec). */
PPML_API void ppml_paillier_mul(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a, const mpz_t k);
/* c = a * Enc(0): fresh randomness (DJN form, h_N^a with a of |N|/2 bits). */
PPML_API void ppml_paillier_rerandomize(const ppml_paillier_pk *pk, mpz_t c, const mpz_t a);

/* Packing: several non-negative values below 2^slot_bits in one plaintext,
 * m = sum_i v_i * 2^(i * slot_bits). Capacity = floor((|N| - 2) / slot_bits).
 * Protocols choose slot_bits = value_bits + kappa (statistical blinding, 40 default) + carry
 * room, so a value blinded by a kappa-bit mask never overflows its slot. */
PPML_API size_t ppml_paillier_pack_capacity(const ppml_paillier_pk *pk, unsigned slot_bits);
/* Homomorphic packing of count ciphertexts (count <= capacity) into one: c = prod c_i^(2^(i*w)). */
PPML_API int ppml_paillier_pack_ct(const ppml_paillier_pk *pk, mpz_t c, const mpz_t *cts,
                                   size_t count, unsigned slot_bits) PPML_WUR;
/* Split a decrypted packed plaintext into count slots. */
PPML_API int ppml_paillier_unpack(mpz_t *slots, size_t count, const mpz_t m, unsigned slot_bits) PPML_WUR;

/* Packed encryption of signed values |v| < 2^(value_bits-1): each slot holds v + 2^(value_bits-1)
 * in value_bits + 1 bits (one bit of room for a later addition). Writes ceil(count/capacity)
 * ciphertexts into cts (caller allocates and inits ppml_paillier_packed_count() of them).
 * value_bits in [2, 64]; capacity per ciphertext = ppml_paillier_pack_capacity(pk, value_bits+1).
 * decrypt_packed returns slot - 2^(value_bits-1) for each slot; after adding two packed
 * ciphertexts slot-wise (ppml_paillier_add) it returns v1 + v2 + 2^(value_bits-1), so subtract
 * the offset once more. PPML_ERANGE if a slot does not fit int64 or the plaintext has more
 * bits than count slots (wrong value_bits, overflow). v is untouched on failure. */
PPML_API size_t ppml_paillier_packed_count(const ppml_paillier_pk *pk, size_t count, unsigned value_bits);
PPML_API int ppml_paillier_encrypt_packed(const ppml_paillier_pk *pk, mpz_t *cts, const int64_t *v,
                                          size_t count, unsigned value_bits) PPML_WUR;
PPML_API int ppml_paillier_decrypt_packed(const ppml_paillier_sk *sk, int64_t *v, size_t count,
                                          const mpz_t *cts, unsigned value_bits) PPML_WUR;

/* Serialization (ppml format, versioned header). Secret keys include their public key.
 * Loaders validate everything (sizes, ranges, p*q = N, ...) and leave *out untouched on error. */
PPML_API int ppml_paillier_pk_save(const ppml_paillier_pk *pk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_paillier_pk_load(ppml_paillier_pk **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_paillier_sk_save(const ppml_paillier_sk *sk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_paillier_sk_load(ppml_paillier_sk **out, const uint8_t *buf, size_t len) PPML_WUR;
/* Vector of ciphertexts under pk (its id in the header); the loader checks each one. */
PPML_API int ppml_paillier_ctvec_save(const ppml_paillier_pk *pk, const mpz_t *cts, size_t count,
                                      uint8_t **out, size_t *len) PPML_WUR;
/* Allocates *cts (count entries, each mpz_init'ed); free with ppml_paillier_ctvec_free. */
PPML_API int ppml_paillier_ctvec_load(const ppml_paillier_pk *pk, mpz_t **cts, size_t *count,
                                      const uint8_t *buf, size_t len) PPML_WUR;
PPML_API void ppml_paillier_ctvec_free(mpz_t *cts, size_t count);

/* python-paillier interop (JSON text, NUL-terminated on output; caller frees with free()).
 * Public key JWK: {"kty":"DAJ","alg":"PAI-GN1","key_ops":["encrypt"],"n":<b64url>,...}
 * Private key JWK: {"kty":"DAJ","key_ops":["decrypt"],"pub":{...},"lambda":..,"mu":..}
 * Encrypted vector: {"public_key":{"g":..,"n":..},"values":[["<ciphertext>",exponent],...]} */
PPML_API int ppml_paillier_pk_to_jwk(const ppml_paillier_pk *pk, char **json) PPML_WUR;
PPML_API int ppml_paillier_pk_from_jwk(ppml_paillier_pk **out, const char *json, size_t len) PPML_WUR;
PPML_API int ppml_paillier_sk_to_jwk(const ppml_paillier_sk *sk, char **json) PPML_WUR;
PPML_API int ppml_paillier_sk_from_jwk(ppml_paillier_sk **out, const char *json, size_t len) PPML_WUR;
PPML_API int ppml_paillier_ctvec_to_json(const ppml_paillier_pk *pk, const mpz_t *cts, const int *exponents,
                                         size_t count, char **json) PPML_WUR;
/* Allocates *cts and *exponents; checks every ciphertext against pk if pk is given, else
 * creates *pk_out from the embedded public key (pk_out may be NULL when pk is given). */
PPML_API int ppml_paillier_ctvec_from_json(const ppml_paillier_pk *pk, ppml_paillier_pk **pk_out,
                                           mpz_t **cts, int **exponents, size_t *count,
                                           const char *json, size_t len) PPML_WUR;

/* ---- Additions (beyond the first agreed API) ---- */

/* TEST ONLY: while on, loaders and importers (pk/sk load, JWK import, pk_from_n, JSON
 * ciphertext vectors) accept moduli down to PPML_PAILLIER_TEST_MIN_BITS instead of
 * PPML_PAILLIER_MIN_BITS. Process-wide; off by default; the CLI turns it on only under its
 * --insecure-test-* options. */
PPML_API void ppml_paillier_allow_insecure_test_keys(int on);

/* DJN base h_N (read-only view). */
PPML_API mpz_srcptr ppml_paillier_pk_hn(const ppml_paillier_pk *pk);
/* 1 if both keys have the same modulus N (h_N may differ: it is drawn per import). */
PPML_API int ppml_paillier_pk_equal(const ppml_paillier_pk *a, const ppml_paillier_pk *b);
/* Build the DJN fixed-base table now instead of on first use (it is built once per key,
 * thread-safely; 256 KiB at 2048 bits, 384 KiB at 3072). */
PPML_API int ppml_paillier_precompute(const ppml_paillier_pk *pk) PPML_WUR;

/* Vector forms on `threads` threads (0 = all online CPUs): cts[i] = Enc(ms[i]) (DJN form),
 * ms[i] = Dec(cts[i]) (CRT). Each element is checked as in the single-value calls; on failure
 * the outputs are untouched and the first error is returned. Inputs and outputs must not
 * overlap. */
PPML_API int ppml_paillier_encrypt_batch(const ppml_paillier_pk *pk, mpz_t *cts, const mpz_t *ms,
                                         size_t count, unsigned threads) PPML_WUR;
PPML_API int ppml_paillier_decrypt_batch(const ppml_paillier_sk *sk, mpz_t *ms, const mpz_t *cts,
                                         size_t count, unsigned threads) PPML_WUR;
/* c[i] = k * a[i] for one scalar k (any sign, |k| < N; secret except for its sign and bit
 * length) on one thread, eight per pass of the AVX-512 IFMA multi-buffer arithmetic where the
 * CPU has it. c may alias a. PPML_ERANGE if |k| >= N; PPML_ECRYPTO if k < 0 and some a[i] is
 * not invertible mod N^2; outputs untouched on failure. */
PPML_API int ppml_paillier_mul_batch(const ppml_paillier_pk *pk, mpz_t *c, const mpz_t *a, const mpz_t k,
                                     size_t count) PPML_WUR;

/* Encrypted table of fixed-point values, the file format of `ppml encrypt`:
 * rows x cols values round(x * 2^frac_bits), row-major; value_bits = 0: one ciphertext per
 * value (count = rows*cols); value_bits > 0: packed with ppml_paillier_encrypt_packed
 * (count = ppml_paillier_packed_count(rows*cols, value_bits)). names: NULL or cols column
 * names (NUL-terminated, no control characters, at most 4096 bytes each).
 * A loaded matrix owns everything; free with ppml_paillier_matrix_free. */
typedef struct ppml_paillier_matrix {
    uint32_t rows, cols;
    uint32_t frac_bits;
    uint32_t value_bits;
    char **names;
    mpz_t *cts;
    size_t count;
} ppml_paillier_matrix;
PPML_API int ppml_paillier_matrix_save(const ppml_paillier_pk *pk, const ppml_paillier_matrix *mat,
                                       uint8_t **out, size_t *len) PPML_WUR;
/* Checks the header's key id against pk, the shape/count consistency and every ciphertext. */
PPML_API int ppml_paillier_matrix_load(const ppml_paillier_pk *pk, ppml_paillier_matrix **out,
                                       const uint8_t *buf, size_t len) PPML_WUR;
PPML_API void ppml_paillier_matrix_free(ppml_paillier_matrix *mat);

#ifdef __cplusplus
}
#endif
#endif
