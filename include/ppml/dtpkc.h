/* DT-PKC: distributed two-trapdoor Paillier cryptosystem (Liu, Deng, Choo, Weng, "An Efficient
 * Privacy-Preserving Outsourced Calculation Toolkit With Multiple Keys", IEEE TIFS 2016).
 * Scheme S's multi-key layer (DESIGN §2): every medical centre encrypts under its own key,
 * and the two servers, holding the two halves of the split strong key, can still decrypt
 * jointly (only ever values they blinded first).
 *
 * Public parameters: N = pq with safe primes p = 2p'+1, q = 2q'+1 (|p| = |q| = |N|/2), and
 * g = -a^(2N) mod N^2 for a random a. g has order exactly 2p'q' = lcm(p-1, q-1) (checked at
 * key generation).
 *
 * Strong key: lambda = lcm(p-1, q-1) = 2p'q'. The paper writes lambda = lcm(p-1, q-1)/2 =
 * p'q', but with g = -a^(2N) and p', q' odd, g^(p'q') = -1 mod N^2, so strong decryption with
 * p'q' fails for every ciphertext whose r*theta is odd; 2p'q' makes g^lambda = 1 and all the
 * paper's decryption formulas hold (tests check g^(lambda/2) = -1 to document this).
 *
 * User keys: sk_i = theta_i uniform in [1, 2^(|N|/4)), pk_i = h_i = g^theta_i mod N^2.
 * Encryption: Enc_i(m) = (T1, T2) = ((1 + mN) h_i^r mod N^2, g^r mod N^2) with r uniform of
 * |N|/4 bits. Short exponents (512 bits at |N| = 2048, 768 at 3072) follow the same
 * short-exponent discrete-log argument as Damgard-Jurik-Nielsen Paillier: at least twice the
 * security level, and much cheaper than r in Z_N.
 * Weak decryption (owner):   m = L(T1 * (T2^theta)^-1 mod N^2), L(x) = (x - 1)/N.
 * Strong decryption:         m = L(T1^lambda mod N^2) * lambda^-1 mod N.
 * Split strong key: s = lambda * (lambda^-1 mod N), so s = 0 mod lambda and s = 1 mod N;
 *   SK1 uniform in [0, lambda*N), SK2 = s - SK1 mod lambda*N. lambda*N is the exponent of
 *   Z*_{N^2}, so T1^SK1 * T1^SK2 = T1^s = 1 + mN mod N^2. (The paper splits modulo
 *   lambda*N^2; a multiple of the group exponent is all that matters, and lambda*N makes
 *   partial decryption exponents one third shorter.) Each share alone is uniform in
 *   [0, lambda*N), independent of s.
 *
 * Plaintexts are in [0, N); signed values v are embedded as v mod N and decoded to the centred
 * representative.
 *
 * Public/secret: N, g, h_i, ciphertexts and partial decryptions are public. theta_i, lambda,
 * SK1, SK2 and encryption randomness are secret; every exponentiation by them uses
 * mpz_powm_sec (or, for encryption with precomputed tables, a fixed-base method built on
 * GMP's side-channel-silent mpn_sec_* functions), and they live in GMP memory that
 * ppml_init() makes wipe-on-free. Bit lengths of N, theta and the shares are not considered
 * secret.
 *
 * Ownership: params, user keys, the strong key and partial keys are heap objects (_free(NULL)
 * is a no-op). Keys borrow their params, which must outlive them; a user secret key owns its
 * public key (ppml_dtpkc_sk_pk borrows it). Ciphertexts are caller-allocated structs
 * (ppml_dtpkc_ct_init / _clear). No function keeps a pointer to its inputs. On failure outputs
 * are left untouched. */
#ifndef PPML_DTPKC_H
#define PPML_DTPKC_H
#include "common.h"
#include <gmp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_DTPKC_MIN_BITS 2048
#define PPML_DTPKC_MAX_BITS 4096
/* Smallest modulus the test-only functions accept. */
#define PPML_DTPKC_TEST_MIN_BITS 256
/* Statistical blinding parameter of key conversion (bits). */
#define PPML_DTPKC_KAPPA 40

typedef struct ppml_dtpkc_params ppml_dtpkc_params;
typedef struct ppml_dtpkc_pk ppml_dtpkc_pk;
typedef struct ppml_dtpkc_sk ppml_dtpkc_sk;
typedef struct ppml_dtpkc_strong_sk ppml_dtpkc_strong_sk;
typedef struct ppml_dtpkc_partial_sk ppml_dtpkc_partial_sk;

/* A ciphertext (T1, T2), both in (0, N^2) and coprime to N. */
typedef struct ppml_dtpkc_ct {
    mpz_t t1, t2;
} ppml_dtpkc_ct;

PPML_API void ppml_dtpkc_ct_init(ppml_dtpkc_ct *ct);
PPML_API void ppml_dtpkc_ct_clear(ppml_dtpkc_ct *ct);
PPML_API void ppml_dtpkc_ct_set(ppml_dtpkc_ct *dst, const ppml_dtpkc_ct *src);

/* Progress of the safe-prime search: called every few hundred sieved candidates with the
 * index of the prime being searched (0 or 1) and the candidates tested so far. */
typedef void (*ppml_dtpkc_progress_fn)(void *ctx, unsigned prime_index, uint64_t tested);

/* ---- key generation ------------------------------------------------------------------ */

/* Random safe prime p = 2p'+1 of exactly `bits` bits with its top two bits set (so a
 * product of two has exactly 2*bits bits). Sieve over candidates p' = 5 mod 6 with the
 * small primes below 2^16 removing candidates where p' or 2p'+1 has a small factor, then a
 * base-2 Fermat test on both, then mpz_probab_prime_p (BPSW + Miller-Rabin) on both.
 * bits in [64, 4096]. progress may be NULL. */
PPML_API int ppml_dtpkc_safe_prime(mpz_t p, unsigned bits, ppml_dtpkc_progress_fn progress,
                                   void *ctx, unsigned prime_index) PPML_WUR;

/* Public parameters and strong key: bits in {2048, 3072, 4096} (any multiple of 256 in
 * [2048, 4096] is accepted); PPML_EWEAK below 2048. A 2048-bit N needs two 1024-bit safe
 * primes: expect tens of seconds (or more) of search. progress may be NULL. */
PPML_API int ppml_dtpkc_keygen(ppml_dtpkc_params **params, ppml_dtpkc_strong_sk **strong,
                               unsigned bits, ppml_dtpkc_progress_fn progress, void *ctx) PPML_WUR;
/* TEST ONLY: allows bits >= PPML_DTPKC_TEST_MIN_BITS (multiple of 2). */
PPML_API int ppml_dtpkc_keygen_insecure_for_tests(ppml_dtpkc_params **params,
                                                  ppml_dtpkc_strong_sk **strong, unsigned bits) PPML_WUR;
/* Parameters from given safe primes p != q of equal bit length (e.g. generated in advance,
 * or by another tool). Checks that p, q,
 * (p-1)/2, (q-1)/2 are probable primes and |N| >= 2048 (PPML_EWEAK); draws a fresh g. */
PPML_API int ppml_dtpkc_keygen_from_primes(ppml_dtpkc_params **params, ppml_dtpkc_strong_sk **strong,
                                           const mpz_t p, const mpz_t q) PPML_WUR;
/* TEST ONLY: as above, allowing |N| >= PPML_DTPKC_TEST_MIN_BITS. */
PPML_API int ppml_dtpkc_keygen_from_primes_insecure_for_tests(ppml_dtpkc_params **params,
                                                              ppml_dtpkc_strong_sk **strong,
                                                              const mpz_t p, const mpz_t q) PPML_WUR;

/* Split the strong key into SK1 (CSS) and SK2 (CCS). Both borrow the strong key's params. */
PPML_API int ppml_dtpkc_split(ppml_dtpkc_partial_sk **sk1, ppml_dtpkc_partial_sk **sk2,
                              const ppml_dtpkc_strong_sk *strong) PPML_WUR;

/* A user key pair under params (borrowed). */
PPML_API int ppml_dtpkc_user_keygen(ppml_dtpkc_sk **sk, const ppml_dtpkc_params *params) PPML_WUR;

PPML_API void ppml_dtpkc_params_free(ppml_dtpkc_params *params);
PPML_API void ppml_dtpkc_pk_free(ppml_dtpkc_pk *pk);
PPML_API void ppml_dtpkc_sk_free(ppml_dtpkc_sk *sk);
PPML_API void ppml_dtpkc_strong_free(ppml_dtpkc_strong_sk *sk);
PPML_API void ppml_dtpkc_partial_free(ppml_dtpkc_partial_sk *sk);

/* ---- views --------------------------------------------------------------------------- */
PPML_API mpz_srcptr ppml_dtpkc_params_n(const ppml_dtpkc_params *params);
PPML_API mpz_srcptr ppml_dtpkc_params_n2(const ppml_dtpkc_params *params);
PPML_API mpz_srcptr ppml_dtpkc_params_g(const ppml_dtpkc_params *params);
PPML_API unsigned ppml_dtpkc_params_bits(const ppml_dtpkc_params *params);
/* 32-byte id: BLAKE2b-256 over a domain tag, N and g. Appears in the headers of every object
 * of these parameters. */
PPML_API const uint8_t *ppml_dtpkc_params_id(const ppml_dtpkc_params *params);
/* Borrowed public half of a user secret key. */
PPML_API const ppml_dtpkc_pk *ppml_dtpkc_sk_pk(const ppml_dtpkc_sk *sk);
PPML_API const ppml_dtpkc_params *ppml_dtpkc_pk_params(const ppml_dtpkc_pk *pk);
PPML_API mpz_srcptr ppml_dtpkc_pk_h(const ppml_dtpkc_pk *pk);
/* 32-byte key id: BLAKE2b-256 over the params id and h. Ciphertext headers carry it. */
PPML_API const uint8_t *ppml_dtpkc_pk_id(const ppml_dtpkc_pk *pk);
/* Independent copy of a public key (without precomputed tables). */
PPML_API int ppml_dtpkc_pk_dup(ppml_dtpkc_pk **out, const ppml_dtpkc_pk *pk) PPML_WUR;
/* Precompute fixed-base tables for g and h (2 x (|N|/16) x 16 entries of |N^2| bits: 2 MiB at
 * |N| = 2048, 4.5 MiB at 3072): encryption and re-randomisation then cost one constant-time
 * table multiplication per 4 exponent bits instead of a full mpz_powm_sec (about 3x faster).
 * Worth it for any key that encrypts more than a few values (CCS re-encrypting under a
 * target key, a user uploading records). Mutates pk: call before sharing it between
 * threads. Encryption results are identical in distribution either way. */
PPML_API int ppml_dtpkc_pk_precompute(ppml_dtpkc_pk *pk) PPML_WUR;
/* The same for the public half of a user secret key. */
PPML_API int ppml_dtpkc_sk_precompute(ppml_dtpkc_sk *sk) PPML_WUR;
PPML_API const ppml_dtpkc_params *ppml_dtpkc_strong_params(const ppml_dtpkc_strong_sk *sk);
/* 1 for SK1 (CSS), 2 for SK2 (CCS). */
PPML_API unsigned ppml_dtpkc_partial_index(const ppml_dtpkc_partial_sk *sk);

/* ---- encryption and decryption -------------------------------------------------------- */

/* Enc_pk(m), m in [0, N) (PPML_ERANGE otherwise). */
PPML_API int ppml_dtpkc_encrypt(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *ct, const mpz_t m) PPML_WUR;
/* Signed convenience: encrypts v mod N. */
PPML_API int ppml_dtpkc_encrypt_i64(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *ct, int64_t v) PPML_WUR;
/* cts[i] = Enc_pk(v[i] mod N) for i < n: the same ciphertexts in distribution as n calls of
 * ppml_dtpkc_encrypt_i64, eight per pass of the AVX-512 IFMA multi-buffer arithmetic when
 * the key was precomputed (ppml_dtpkc_pk_precompute) on a CPU that has it. All or nothing:
 * cts is unchanged on failure. cts must be initialised. */
PPML_API int ppml_dtpkc_encrypt_i64_many(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *cts, const int64_t *v,
                                         size_t n) PPML_WUR;
/* PPML_OK if both components are in (0, N^2) and coprime to N (PPML_ERANGE / PPML_ECRYPTO). */
PPML_API int ppml_dtpkc_ct_check(const ppml_dtpkc_params *params, const ppml_dtpkc_ct *ct) PPML_WUR;

/* Weak decryption with the owner's theta. m in [0, N). PPML_ECRYPTO if T1 / T2^theta is not
 * of the form 1 + mN (wrong key). */
PPML_API int ppml_dtpkc_decrypt(const ppml_dtpkc_sk *sk, mpz_t m, const ppml_dtpkc_ct *ct) PPML_WUR;
/* Strong decryption with lambda (any user's ciphertext). */
PPML_API int ppml_dtpkc_decrypt_strong(const ppml_dtpkc_strong_sk *sk, mpz_t m, const ppml_dtpkc_ct *ct) PPML_WUR;
/* Partial decryption PD_j = T1^SK_j mod N^2 (T2 is not used). */
PPML_API int ppml_dtpkc_partial_decrypt(const ppml_dtpkc_partial_sk *sk, mpz_t pd, const ppml_dtpkc_ct *ct) PPML_WUR;
/* m = L(pd1 * pd2 mod N^2). Both pd in (0, N^2); PPML_ECRYPTO if the product is not 1 mod N
 * (partials of different ciphertexts, or not both halves). */
PPML_API int ppml_dtpkc_combine(const ppml_dtpkc_params *params, mpz_t m, const mpz_t pd1, const mpz_t pd2) PPML_WUR;
/* Centred representative of m in [0, N): m if m < N/2, else m - N. */
PPML_API void ppml_dtpkc_centre(const ppml_dtpkc_params *params, mpz_t v, const mpz_t m);
/* Centred value as int64 (PPML_ERANGE if it does not fit). */
PPML_API int ppml_dtpkc_to_i64(const ppml_dtpkc_params *params, int64_t *v, const mpz_t m) PPML_WUR;

/* ---- homomorphic operations (same user key; outputs may alias inputs) ----------------- */
/* Enc(a + b). */
PPML_API void ppml_dtpkc_add(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, const ppml_dtpkc_ct *b);
/* Enc(a - b). Returns PPML_ECRYPTO if b is not invertible (not a valid ciphertext). */
PPML_API int ppml_dtpkc_sub(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, const ppml_dtpkc_ct *b) PPML_WUR;
/* Enc(a + m) without fresh randomness (m reduced mod N; negative m allowed). */
PPML_API void ppml_dtpkc_add_plain(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, const mpz_t m);
/* Enc(k * a) for an integer k (any sign): (T1^k, T2^k), inverted first for k < 0. The value
 * of |k| is protected (mpz_powm_sec: scalars are often secret blinding factors); its sign and
 * bit length are not. k = 0 gives the trivial (1, 1): re-randomise before sending it. */
PPML_API int ppml_dtpkc_mul(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, const mpz_t k) PPML_WUR;
PPML_API int ppml_dtpkc_mul_i64(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a, int64_t k) PPML_WUR;
/* a * Enc_pk(0): same plaintext, fresh randomness. */
PPML_API void ppml_dtpkc_rerandomize(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *c, const ppml_dtpkc_ct *a);

/* ---- key conversion (two-server protocol halves) ---------------------------------------
 * Moves Enc_pk(m) to any target key (another DT-PKC user key, or a plain Paillier key) for
 * a signed value |m| < 2^value_bits:
 *   1. CSS:  ppml_dtpkc_convert_blind -> (Enc_pk(m + r), r), r uniform in
 *            [2^(value_bits+1), 2^(value_bits+1+kappa)); r stays with CSS.
 *            CSS computes PD1 = ppml_dtpkc_partial_decrypt(SK1, Enc_pk(m + r)) and sends
 *            (Enc_pk(m + r), PD1) to CCS.
 *   2. CCS:  ppml_dtpkc_convert_open(SK2, ...) -> m + r as an integer in
 *            (2^value_bits, 2^(value_bits+2+kappa)), checked (and < N/2). CCS re-encrypts it
 *            under the target key (ppml_dtpkc_encrypt, or the Paillier module) and returns
 *            the ciphertext to CSS.
 *   3. CSS:  subtracts r under the target key (ppml_dtpkc_convert_unblind for a DT-PKC
 *            target; Paillier add_plain of -r otherwise) -> Enc_target(m).
 * What each party sees: CSS only ciphertexts and its own r. CCS sees m + r: since m + r is
 * positive and r is uniform over an interval 2^kappa times wider than m's range, the
 * distributions of m + r for any two admissible m are within statistical distance
 * 2^(value_bits+1)/2^(value_bits+1+kappa) = 2^-kappa. CCS's input ciphertext is
 * re-randomised, so CCS cannot link it to stored ciphertexts.
 * Requires value_bits + kappa + 3 <= |N| - 1 (so m + r < N/2); kappa >= 1, value_bits >= 1. */
PPML_API int ppml_dtpkc_convert_blind(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *blinded, mpz_t r,
                                      const ppml_dtpkc_ct *ct, unsigned value_bits,
                                      unsigned kappa) PPML_WUR;
PPML_API int ppml_dtpkc_convert_open(const ppml_dtpkc_partial_sk *sk2, mpz_t blinded_value,
                                     const ppml_dtpkc_ct *blinded, const mpz_t pd1,
                                     unsigned value_bits, unsigned kappa) PPML_WUR;
/* Enc_target(x - r) from Enc_target(x) (add_plain of -r: the input came fresh from CCS, so
 * no re-randomisation is needed; call ppml_dtpkc_rerandomize if it is). */
PPML_API void ppml_dtpkc_convert_unblind(const ppml_dtpkc_pk *target, ppml_dtpkc_ct *out,
                                         const ppml_dtpkc_ct *ct, const mpz_t r);

/* ---- serialization ---------------------------------------------------------------------
 * ppml framing (serial.h). Buffers from _save are the caller's (free with free(); secret
 * objects: wipe first, e.g. ppml_free_secret). Loaders check every header field, sizes
 * before allocation, every residue against its modulus, gcd with N, and that the object
 * belongs to the given params or key (PPML_EMISMATCH otherwise); *out is untouched on error.
 *   params:  N, g. Loader: |N| in [2048, 4096] (PPML_EWEAK below), N odd, not a square, no
 *            prime factor below 2^16, g in (1, N^2) with gcd(g, N) = 1 and Jacobi(g, N) = 1,
 *            header id = recomputed id.
 *   user pk: h (header: params id); h in (1, N^2), gcd(h, N) = 1, Jacobi(h, N) = 1.
 *   user sk: theta and h (header: params id); theta in [1, 2^(|N|/4)), g^theta = h.
 *   strong:  lambda (header: params id); 0 < lambda < N, gcd(lambda, N) = 1, g^lambda = 1.
 *   partial: index (1 or 2) and SK_j < 2^(2|N|) (header: params id).
 *   ct/ctvec: (T1, T2) pairs (header: the user key id); count checked against the bytes
 *            present before allocation. */
PPML_API int ppml_dtpkc_params_save(const ppml_dtpkc_params *params, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_dtpkc_params_load(ppml_dtpkc_params **out, const uint8_t *buf, size_t len) PPML_WUR;
/* TEST ONLY: accepts |N| >= PPML_DTPKC_TEST_MIN_BITS. */
PPML_API int ppml_dtpkc_params_load_insecure_for_tests(ppml_dtpkc_params **out, const uint8_t *buf,
                                                       size_t len) PPML_WUR;
PPML_API int ppml_dtpkc_pk_save(const ppml_dtpkc_pk *pk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_dtpkc_pk_load(ppml_dtpkc_pk **out, const ppml_dtpkc_params *params,
                                const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_dtpkc_sk_save(const ppml_dtpkc_sk *sk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_dtpkc_sk_load(ppml_dtpkc_sk **out, const ppml_dtpkc_params *params,
                                const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_dtpkc_strong_save(const ppml_dtpkc_strong_sk *sk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_dtpkc_strong_load(ppml_dtpkc_strong_sk **out, const ppml_dtpkc_params *params,
                                    const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_dtpkc_partial_save(const ppml_dtpkc_partial_sk *sk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_dtpkc_partial_load(ppml_dtpkc_partial_sk **out, const ppml_dtpkc_params *params,
                                     const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_dtpkc_ct_save(const ppml_dtpkc_pk *pk, const ppml_dtpkc_ct *ct, uint8_t **out,
                                size_t *len) PPML_WUR;
PPML_API int ppml_dtpkc_ct_load(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *ct, const uint8_t *buf,
                                size_t len) PPML_WUR;
PPML_API int ppml_dtpkc_ctvec_save(const ppml_dtpkc_pk *pk, const ppml_dtpkc_ct *cts, size_t count,
                                   uint8_t **out, size_t *len) PPML_WUR;
/* Allocates *cts (count entries, initialised); free with ppml_dtpkc_ctvec_free. A vector of
 * zero ciphertexts is valid (*cts = NULL). */
PPML_API int ppml_dtpkc_ctvec_load(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct **cts, size_t *count,
                                   const uint8_t *buf, size_t len) PPML_WUR;
PPML_API void ppml_dtpkc_ctvec_free(ppml_dtpkc_ct *cts, size_t count);

#ifdef __cplusplus
}
#endif
#endif
