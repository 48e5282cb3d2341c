/* BFV homomorphic encryption (Brakerski / Fan-Vercauteren), RNS variant, with batching and
 * the two-party layer of scheme D (DESIGN §2, §4.4, §5).
 *
 * Ring R_q = Z_q[X]/(X^n + 1), n a power of two in [1024, 32768]. The modulus chain is a
 * list of word-size NTT primes q_0..q_{k-1}, P (each < 2^61, = 1 mod 2n): ciphertexts live
 * modulo Q = q_0...q_{k-1}; the last prime P is the "special" prime used only by key
 * switching keys (relinearisation, Galois, re-encryption), which live modulo Q*P. This is
 * SEAL's layout: its BFVDefault(8192) list {43,43,44,44,44} gives ciphertexts mod a 174-bit
 * Q and keys mod the full 218-bit QP. Security is checked on log2(QP) against the
 * HomomorphicEncryption.org table (ternary secret, 128-bit classical):
 *   n      1024 2048 4096 8192 16384 32768
 *   log q    27   54  109  218   438   881
 * Weaker sets are refused with PPML_EWEAK unless made with ppml_bfv_params_new_insecure_for_tests.
 *
 * Plaintexts: polynomials mod t, t a prime = 1 mod 2n (batching): n slots seen as a
 * 2 x (n/2) matrix; slot s is row s / (n/2), column s % (n/2). Rotating rows by r moves the
 * value of column j + r to column j in both rows (left rotation; r < 0 rotates right); the
 * column swap exchanges the two rows.
 *
 * Multiplication uses the Halevi-Polyakov-Shoup (2018) RNS procedure: base extension to an
 * auxiliary base R of 61-bit primes (log2 R >= log2 Q + log2 t + log2 n + 6) with
 * floating-point quotient estimates, tensor product in NTT form, round(t/Q * x) computed in R
 * with a 64-bit fixed-point fractional part, and exact extension back to Q. A coefficient may
 * be off by one from the exact rounding: that is noise, and test_bfv checks the result against
 * an exact GMP tensor-and-round. Key switching uses RNS digits (one per q_i) and the special
 * prime, as SEAL does. NTTs use Harvey's lazy butterflies with Shoup twiddles, with an AVX2
 * path chosen at run time (set PPML_NO_AVX2 in the environment to force the scalar one).
 *
 * Ownership. ppml_bfv_params is the context: every other object borrows it and it must
 * outlive them. Objects are heap objects made by _new (or keygen/load) and released with
 * _free (NULL is a no-op). Functions never keep pointers to their inputs. Ciphertext and
 * plaintext outputs must have been created for the same params (else PPML_EMISMATCH) and
 * may alias inputs unless a comment says otherwise. Constructors, key generators and loaders
 * leave *out untouched on failure; evaluation functions check their arguments first, but an
 * allocation failure part-way may leave the output ciphertext overwritten.
 *
 * Secrets. ppml_bfv_sk (and the state of the two-party protocols) is secret: kept in heap
 * memory wiped on free, sampled from a ChaCha20 stream keyed by 32 fresh bytes of
 * ppml_randombytes per polynomial, and handled without branches or memory indices that depend
 * on its coefficients (samplers, NTT, Barrett/Shoup products, mask-based modular add/sub).
 * Secret keys: ternary s uniform in {-1,0,1}; errors: centred binomial with eta = 21
 * (sigma ~ 3.24). Everything else (params, pk, rlk, Galois and re-encryption keys,
 * ciphertexts, decryption shares) is public. Plaintexts are the caller's data: wiped on free;
 * scratch memory of every operation is wiped too.
 *
 * Threads. Objects are immutable once made, except outputs; concurrent calls are safe as long
 * as no two of them write the same object. Work buffers come from a small per-thread cache
 * (a few blocks of up to a few MiB at n = 8192, freed at thread exit), wiped after each use.
 *
 * Noise. Decryption is correct while ppml_bfv_noise_budget reports > 0 bits; at 0 the result
 * may be wrong, and callers that cannot check (no secret key) size their circuits from the
 * budgets below. Fresh ciphertexts at the defaults with a 20-bit t: about 41 bits at n = 4096
 * (Q of 72 bits: one product) and 142 bits at n = 8192 (Q of 174 bits: four products in a
 * chain); each ciphertext product costs about log2 t + log2 n bits (~32 bits here).
 *
 * Usage:
 *   ppml_bfv_params *ctx; ppml_bfv_sk *sk; ppml_bfv_pk *pk; ppml_bfv_rlk *rlk;
 *   ppml_bfv_pt *pt; ppml_bfv_ct *ct;
 *   ppml_bfv_params_default(&ctx, 8192, 20);           // n = 8192, 20-bit batching t
 *   ppml_bfv_keygen(ctx, &sk, &pk);
 *   ppml_bfv_relin_keygen(sk, &rlk);
 *   ppml_bfv_pt_new(ctx, &pt); ppml_bfv_ct_new(ctx, &ct);
 *   int64_t v[8192] = {...};
 *   ppml_bfv_encode_i64(pt, v, 8192);
 *   ppml_bfv_encrypt(pk, ct, pt);
 *   ppml_bfv_mul_relin(rlk, ct, ct, ct);               // slot-wise square
 *   int bits; ppml_bfv_noise_budget(sk, ct, &bits);    // > 0: decryption is correct
 *   ppml_bfv_decrypt(sk, pt, ct);
 *   ppml_bfv_decode_i64(pt, v, 8192);                  // v[i]^2 (centred mod t)
 *   ... _free each object, ctx last.
 * Error checks omitted above; every fallible call returns PPML_OK or a negative PPML_E*. */
#ifndef PPML_BFV_H
#define PPML_BFV_H
#include "common.h"
#include "rand.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_BFV_MIN_N 1024
#define PPML_BFV_MAX_N 32768
/* At most this many primes in the chain (data primes + the special prime). */
#define PPML_BFV_MAX_PRIMES 18
/* Plaintext modulus bounds: 2 <= log2 t <= 60, and t < every q_i. */
#define PPML_BFV_MAX_T_BITS 60

typedef struct ppml_bfv_params ppml_bfv_params;
typedef struct ppml_bfv_sk ppml_bfv_sk;
typedef struct ppml_bfv_pk ppml_bfv_pk;
typedef struct ppml_bfv_rlk ppml_bfv_rlk;
typedef struct ppml_bfv_galk ppml_bfv_galk;
typedef struct ppml_bfv_pt ppml_bfv_pt;
typedef struct ppml_bfv_ct ppml_bfv_ct;

/* ---- Parameters (the context) ---------------------------------------------------------- */

/* primes[0..count): q_0..q_{k-1} then the special prime P (count >= 2). Each must be a
 * distinct prime < 2^61 with p = 1 mod 2n; t a prime = 1 mod 2n, t < min prime and
 * log2 t + 10 <= log2 Q.
 * PPML_EWEAK if log2(prod primes) exceeds the 128-bit table; PPML_EINVAL otherwise. */
PPML_API int ppml_bfv_params_new(ppml_bfv_params **out, size_t n, const uint64_t *primes,
                                 size_t count, uint64_t t) PPML_WUR;
/* TEST ONLY: as ppml_bfv_params_new without the security table (n may be any power of two
 * in [16, 32768]). The params id records that the set is insecure. */
PPML_API int ppml_bfv_params_new_insecure_for_tests(ppml_bfv_params **out, size_t n,
                                                    const uint64_t *primes, size_t count,
                                                    uint64_t t) PPML_WUR;
/* Defaults with SEAL's BFVDefault prime sizes (n = 4096: 36,36,37; 8192: 43,43,44,44,44;
 * 16384: 48x4, 49x5; 32768: 55x15, 56), the largest primes of those sizes = 1 mod 2n, and t
 * the largest t_bits-bit prime = 1 mod 2n (t_bits in [15, 40]; 20 is the usual choice).
 * n = 1024 and 2048 have no default (one prime: no key switching). */
PPML_API int ppml_bfv_params_default(ppml_bfv_params **out, size_t n, unsigned t_bits) PPML_WUR;
/* Generated primes of the given bit sizes (last = special prime), t of t_bits bits.
 * insecure_for_tests != 0 skips the security table (TEST ONLY). */
PPML_API int ppml_bfv_params_from_bits(ppml_bfv_params **out, size_t n, const unsigned *bits,
                                       size_t count, unsigned t_bits,
                                       int insecure_for_tests) PPML_WUR;
PPML_API void ppml_bfv_params_free(ppml_bfv_params *p);

PPML_API size_t ppml_bfv_params_n(const ppml_bfv_params *p);
/* Number of batching slots (= n). */
PPML_API size_t ppml_bfv_slot_count(const ppml_bfv_params *p);
PPML_API uint64_t ppml_bfv_params_t(const ppml_bfv_params *p);
/* Number of primes in the chain (data primes + special prime) and the i-th one. */
PPML_API size_t ppml_bfv_params_prime_count(const ppml_bfv_params *p);
PPML_API uint64_t ppml_bfv_params_prime(const ppml_bfv_params *p, size_t i);
/* Bits of Q (ciphertext modulus) and of Q*P (the value checked against the table). */
PPML_API unsigned ppml_bfv_params_log_q(const ppml_bfv_params *p);
PPML_API unsigned ppml_bfv_params_log_qp(const ppml_bfv_params *p);
PPML_API int ppml_bfv_params_is_insecure(const ppml_bfv_params *p);
/* 32-byte id: BLAKE2b-256 of the serialized parameters (carried in every object header). */
PPML_API const uint8_t *ppml_bfv_params_id(const ppml_bfv_params *p);

/* ---- Keys ----------------------------------------------------------------------------- */

/* Secret key s (ternary, uniform in {-1,0,1}^n) and public key (-a*s + e, a) mod QP. */
PPML_API int ppml_bfv_keygen(const ppml_bfv_params *p, ppml_bfv_sk **sk, ppml_bfv_pk **pk) PPML_WUR;
PPML_API int ppml_bfv_sk_new(const ppml_bfv_params *p, ppml_bfv_sk **sk) PPML_WUR;
PPML_API int ppml_bfv_pk_new(const ppml_bfv_sk *sk, ppml_bfv_pk **pk) PPML_WUR;
/* Relinearisation key: key-switching key from s^2 to s. */
PPML_API int ppml_bfv_relin_keygen(const ppml_bfv_sk *sk, ppml_bfv_rlk **rlk) PPML_WUR;
/* Galois keys for row rotations by the given steps (each 0 < |step| < n/2, duplicates and
 * equivalent steps ignored) plus, if steps is NULL, every +-2^i (so any step works as a
 * product of those); column_swap != 0 adds the column-swap key. */
PPML_API int ppml_bfv_galois_keygen(const ppml_bfv_sk *sk, ppml_bfv_galk **gk, const int *steps,
                                    size_t nsteps, int column_swap) PPML_WUR;
PPML_API void ppml_bfv_sk_free(ppml_bfv_sk *sk);
PPML_API void ppml_bfv_pk_free(ppml_bfv_pk *pk);
PPML_API void ppml_bfv_rlk_free(ppml_bfv_rlk *rlk);
PPML_API void ppml_bfv_galk_free(ppml_bfv_galk *gk);
PPML_API const ppml_bfv_params *ppml_bfv_sk_params(const ppml_bfv_sk *sk);
PPML_API const ppml_bfv_params *ppml_bfv_pk_params(const ppml_bfv_pk *pk);

/* ---- Plaintexts and batching ------------------------------------------------------------ */

PPML_API int ppml_bfv_pt_new(const ppml_bfv_params *p, ppml_bfv_pt **pt) PPML_WUR;
PPML_API void ppml_bfv_pt_free(ppml_bfv_pt *pt);
/* Batch encoding of count <= n slot values (the other slots are 0). _u64: each value < t
 * (else PPML_ERANGE); _i64: |v| <= (t-1)/2, stored as v mod t. */
PPML_API int ppml_bfv_encode_u64(ppml_bfv_pt *pt, const uint64_t *v, size_t count) PPML_WUR;
PPML_API int ppml_bfv_encode_i64(ppml_bfv_pt *pt, const int64_t *v, size_t count) PPML_WUR;
/* Decoding of the first count <= n slots; _i64 gives the centred lift in (-t/2, t/2]. */
PPML_API int ppml_bfv_decode_u64(const ppml_bfv_pt *pt, uint64_t *v, size_t count) PPML_WUR;
PPML_API int ppml_bfv_decode_i64(const ppml_bfv_pt *pt, int64_t *v, size_t count) PPML_WUR;
/* Raw polynomial coefficients (each < t) in and out, no batching. */
PPML_API int ppml_bfv_pt_set_coeffs(ppml_bfv_pt *pt, const uint64_t *c, size_t count) PPML_WUR;
PPML_API int ppml_bfv_pt_get_coeffs(const ppml_bfv_pt *pt, uint64_t *c, size_t count) PPML_WUR;
/* Precompute the form used by ppml_bfv_mul_plain (centred lift mod each q_i, NTT, Shoup
 * constants made in constant time). Optional: mul_plain lifts on the fly otherwise (and uses
 * Barrett products); re-encoding drops it. */
PPML_API int ppml_bfv_pt_prepare_mul(ppml_bfv_pt *pt) PPML_WUR;

/* ---- Ciphertexts ----------------------------------------------------------------------- */

/* A fresh ciphertext is the size-2 encryption of zero with no noise (all zero). */
PPML_API int ppml_bfv_ct_new(const ppml_bfv_params *p, ppml_bfv_ct **ct) PPML_WUR;
PPML_API void ppml_bfv_ct_free(ppml_bfv_ct *ct);
PPML_API int ppml_bfv_ct_copy(ppml_bfv_ct *dst, const ppml_bfv_ct *src) PPML_WUR;
/* Number of polynomials (2, or 3 after ppml_bfv_mul before relinearisation). */
PPML_API size_t ppml_bfv_ct_size(const ppml_bfv_ct *ct);
PPML_API const ppml_bfv_params *ppml_bfv_ct_params(const ppml_bfv_ct *ct);

/* Public-key encryption: (p0*u + e0 + round(Q*m/t), p1*u + e1), u ternary, e0, e1 CBD. */
PPML_API int ppml_bfv_encrypt(const ppml_bfv_pk *pk, ppml_bfv_ct *ct, const ppml_bfv_pt *pt) PPML_WUR;
/* Noise flooding for circuit privacy: ct (size 2) += a fresh encryption of 0 under pk whose
 * c0 error is uniform in [-2^flood_bits, 2^flood_bits). The decryptor's view of the noise
 * then hides ct's own noise e up to statistical distance n*max|e| / 2^(flood_bits+1) (per
 * ciphertext: distances add up over the ciphertexts a decryptor sees).
 * PPML_ERANGE unless 1 <= flood_bits and flood_bits + bits(t) + 3 <= bits(Q), so
 * 2^flood_bits <= Delta/4 and the result still decrypts while ct had >= 2 bits of budget. */
PPML_API int ppml_bfv_flood(const ppml_bfv_pk *pk, ppml_bfv_ct *ct, unsigned flood_bits) PPML_WUR;
/* The widest flood_bits ppml_bfv_flood accepts for these parameters: bits(Q) - bits(t) - 3
 * (0 if there is none). */
PPML_API unsigned ppml_bfv_flood_max_bits(const ppml_bfv_params *p);
/* The flood alone: *z (allocated by the caller) = that encryption of 0; it does not depend on
 * the ciphertext it will be added to, so it can be made in advance (then ppml_bfv_add). */
PPML_API int ppml_bfv_encrypt_zero_flood(const ppml_bfv_pk *pk, ppml_bfv_ct *z,
                                         unsigned flood_bits) PPML_WUR;
/* Secret-key encryption: (-a*s + e + round(Q*m/t), a), a uniform. */
PPML_API int ppml_bfv_encrypt_sk(const ppml_bfv_sk *sk, ppml_bfv_ct *ct, const ppml_bfv_pt *pt) PPML_WUR;
/* Decryption of a size-2 or size-3 ciphertext: round(t/Q * [c0 + c1 s (+ c2 s^2)]_Q) mod t.
 * Correct while the noise budget is > 0; check with ppml_bfv_noise_budget. */
PPML_API int ppml_bfv_decrypt(const ppml_bfv_sk *sk, ppml_bfv_pt *pt, const ppml_bfv_ct *ct) PPML_WUR;
/* Invariant noise budget in bits, as SEAL defines it: log2(Q) - log2(||[t(c0 + c1 s)]_Q||) - 1,
 * clamped at 0 (exact, with GMP). 0 means decryption may be wrong. */
PPML_API int ppml_bfv_noise_budget(const ppml_bfv_sk *sk, const ppml_bfv_ct *ct, int *bits) PPML_WUR;

/* ---- Evaluation (public) ----------------------------------------------------------------- */

PPML_API int ppml_bfv_add(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_ct *b) PPML_WUR;
PPML_API int ppml_bfv_sub(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_ct *b) PPML_WUR;
PPML_API int ppml_bfv_negate(ppml_bfv_ct *out, const ppml_bfv_ct *a) PPML_WUR;
PPML_API int ppml_bfv_add_plain(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_pt *pt) PPML_WUR;
PPML_API int ppml_bfv_sub_plain(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_pt *pt) PPML_WUR;
/* Slot-wise product with a plaintext (noise grows by about n * t / 2). */
PPML_API int ppml_bfv_mul_plain(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_pt *pt) PPML_WUR;
/* Tensor product: size-3 result (a and b must be size 2). */
PPML_API int ppml_bfv_mul(ppml_bfv_ct *out, const ppml_bfv_ct *a, const ppml_bfv_ct *b) PPML_WUR;
/* Size 3 -> size 2 (a size-2 input is copied). */
PPML_API int ppml_bfv_relinearize(const ppml_bfv_rlk *rlk, ppml_bfv_ct *out, const ppml_bfv_ct *a) PPML_WUR;
/* ppml_bfv_mul followed by ppml_bfv_relinearize. */
PPML_API int ppml_bfv_mul_relin(const ppml_bfv_rlk *rlk, ppml_bfv_ct *out, const ppml_bfv_ct *a,
                                const ppml_bfv_ct *b) PPML_WUR;
/* Row rotation by step (left for step > 0; any step, reduced mod n/2). Uses the exact key if
 * present, else a product of the +-2^i keys; PPML_ENOKEY if a needed key is missing. */
PPML_API int ppml_bfv_rotate_rows(const ppml_bfv_galk *gk, ppml_bfv_ct *out, const ppml_bfv_ct *a,
                                  int step) PPML_WUR;
PPML_API int ppml_bfv_rotate_columns(const ppml_bfv_galk *gk, ppml_bfv_ct *out, const ppml_bfv_ct *a) PPML_WUR;
/* Sliding sums along rows: out column j = sum_{i < width} a column (j + i) mod n/2, in both
 * rows; width a power of two in [1, n/2] (log2 width rotations by 1, 2, 4, ...; needs those
 * keys, e.g. the default set). width = n/2 puts the row total in every column. */
PPML_API int ppml_bfv_rotate_sum(const ppml_bfv_galk *gk, ppml_bfv_ct *out, const ppml_bfv_ct *a,
                                 size_t width) PPML_WUR;
/* Multiplication by an integer constant k (taken mod t, centred): every slot times k.
 * Cheaper than ppml_bfv_mul_plain (no NTT); noise grows by |k mod t| (centred). */
PPML_API int ppml_bfv_mul_scalar(ppml_bfv_ct *out, const ppml_bfv_ct *a, int64_t k) PPML_WUR;

/* ---- Serialization ------------------------------------------------------------------------
 * Every object is framed by the versioned header of ppml/serial.h (types PPML_T_BFV_*) with
 * the params id. Loaders check every field, sizes before allocation, every residue below its
 * modulus, and that the object belongs to the given params (PPML_EMISMATCH otherwise); on
 * error *out is untouched. Output buffers are malloc'ed; the caller frees them (wiped first
 * for secret keys). The params loader re-checks the security table. */
PPML_API int ppml_bfv_params_save(const ppml_bfv_params *p, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_params_load(ppml_bfv_params **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_bfv_sk_save(const ppml_bfv_sk *sk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_sk_load(const ppml_bfv_params *p, ppml_bfv_sk **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_bfv_pk_save(const ppml_bfv_pk *pk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_pk_load(const ppml_bfv_params *p, ppml_bfv_pk **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_bfv_rlk_save(const ppml_bfv_rlk *rlk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_rlk_load(const ppml_bfv_params *p, ppml_bfv_rlk **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_bfv_galk_save(const ppml_bfv_galk *gk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_galk_load(const ppml_bfv_params *p, ppml_bfv_galk **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_bfv_pt_save(const ppml_bfv_pt *pt, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_pt_load(const ppml_bfv_params *p, ppml_bfv_pt **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_bfv_ct_save(const ppml_bfv_ct *ct, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_ct_load(const ppml_bfv_params *p, ppml_bfv_ct **out, const uint8_t *buf, size_t len) PPML_WUR;
/* Secret-key encryption written straight to its serialized form with the uniform half
 * replaced by a 32-byte seed (flags bit 0 of the header): about half the size of a normal
 * ciphertext. ppml_bfv_ct_load expands it. */
PPML_API int ppml_bfv_encrypt_sk_save(const ppml_bfv_sk *sk, const ppml_bfv_pt *pt, uint8_t **out,
                                      size_t *len) PPML_WUR;
/* Serialized size of a ciphertext (header included), uncompressed form. */
PPML_API size_t ppml_bfv_ct_bytes(const ppml_bfv_ct *ct);

/* ---- Two-party layer (scheme D, DESIGN §5.1-5.3) --------------------------------------------
 * Parties P1, P2 hold secret shares s_1, s_2 (each an ordinary ppml_bfv_sk made with
 * ppml_bfv_sk_new); the collective secret is s = s_1 + s_2, which nobody learns.
 * Collective public key: both agree on a public 32-byte seed (the "a" polynomial is expanded
 * from it), each publishes b_j = -a*s_j + e_j (ppml_bfv_ckg_share), anyone combines
 * pk = (b_1 + b_2, a) (ppml_bfv_ckg_combine). What each party sees: the other's b_j (public
 * RLWE sample) and the seed. */
typedef struct ppml_bfv_poly ppml_bfv_poly;  /* public polynomial mod QP (a share) */
PPML_API void ppml_bfv_poly_free(ppml_bfv_poly *p);
PPML_API int ppml_bfv_ckg_share(const ppml_bfv_sk *sk_j, const uint8_t seed[PPML_SEED_BYTES],
                                ppml_bfv_poly **share) PPML_WUR;
PPML_API int ppml_bfv_ckg_combine(const ppml_bfv_params *p, const uint8_t seed[PPML_SEED_BYTES],
                                  const ppml_bfv_poly *b1, const ppml_bfv_poly *b2,
                                  ppml_bfv_pk **pk) PPML_WUR;

/* Collective relinearisation key, two rounds (Mouchet, Troncoso-Pastoriza, Bossuat, Hubaux,
 * "Multiparty homomorphic encryption from ring-learning-with-errors", PETS 2021, §4.3):
 *   round 1, party j (ephemeral u_j kept in its secret state):
 *     h0_j[i] = -u_j*a[i] + s_j*w_i + e0,   h1_j[i] = s_j*a[i] + e1    (a[i] from the seed)
 *   anyone: h0 = h0_1 + h0_2, h1 = h1_1 + h1_2 (ppml_bfv_rkg_aggregate)
 *   round 2, party j: h0'_j = s_j*h0 + e2,  h1'_j = (u_j - s_j)*h1 + e3
 *   anyone: rlk = (h0'_1 + h0'_2 + h1'_1 + h1'_2, h1)              (ppml_bfv_rkg_finish)
 * which satisfies rlk0 + rlk1*s = s^2 * w + small. Here w_i = P * g_i, g_i the RNS gadget.
 * Each party sees only the other's shares, which are RLWE samples. */
typedef struct ppml_bfv_rkg_state ppml_bfv_rkg_state; /* secret: u_j */
typedef struct ppml_bfv_rkg_share ppml_bfv_rkg_share; /* public */
PPML_API int ppml_bfv_rkg_round1(const ppml_bfv_sk *sk_j, const uint8_t seed[PPML_SEED_BYTES],
                                 ppml_bfv_rkg_state **state, ppml_bfv_rkg_share **share) PPML_WUR;
/* out = a + b (shares of the same round). */
PPML_API int ppml_bfv_rkg_aggregate(ppml_bfv_rkg_share **out, const ppml_bfv_rkg_share *a,
                                    const ppml_bfv_rkg_share *b) PPML_WUR;
PPML_API int ppml_bfv_rkg_round2(const ppml_bfv_sk *sk_j, const ppml_bfv_rkg_state *state,
                                 const ppml_bfv_rkg_share *round1_sum,
                                 ppml_bfv_rkg_share **share) PPML_WUR;
PPML_API int ppml_bfv_rkg_finish(const ppml_bfv_rkg_share *round1_sum,
                                 const ppml_bfv_rkg_share *round2_sum, ppml_bfv_rlk **rlk) PPML_WUR;
PPML_API void ppml_bfv_rkg_state_free(ppml_bfv_rkg_state *st);
PPML_API void ppml_bfv_rkg_share_free(ppml_bfv_rkg_share *sh);

/* Threshold decryption. Party j computes d_j = c1*s_j + e_j mod Q with smudging noise e_j
 * uniform in [-2^smudge_bits, 2^smudge_bits] per coefficient; ppml_bfv_decshare_combine
 * computes c0 + d_1 + d_2 = Delta*m + v + e_1 + e_2 and decodes. For the smudging to hide
 * s_j, smudge_bits must exceed log2 of the ciphertext noise by >= 40 (statistical distance
 * <= 2^-40); fresh and re-encrypted ciphertexts have noise below 2^30 at n <= 16384, so
 * PPML_BFV_SMUDGE_BITS_DEFAULT = 72 works for them, and decryption stays correct while
 * smudge_bits + log2 t + 3 < log2 Q (checked: PPML_ERANGE otherwise; use n >= 8192 with the
 * default chain, whose Q has 174 bits). The share reveals nothing about s_j beyond the
 * plaintext (the decryptor learns m). */
#define PPML_BFV_SMUDGE_BITS_DEFAULT 72
typedef struct ppml_bfv_decshare ppml_bfv_decshare;
PPML_API int ppml_bfv_decrypt_share(const ppml_bfv_sk *sk_j, const ppml_bfv_ct *ct,
                                    unsigned smudge_bits, ppml_bfv_decshare **share) PPML_WUR;
PPML_API int ppml_bfv_decshare_combine(ppml_bfv_pt *pt, const ppml_bfv_ct *ct,
                                       const ppml_bfv_decshare *d1, const ppml_bfv_decshare *d2) PPML_WUR;
PPML_API void ppml_bfv_decshare_free(ppml_bfv_decshare *d);

/* Re-encryption (key switching) from a party's own secret s_P to the collective key s.
 * The party builds the key from its secret and the collective *public* key only:
 * rk_i = Enc_pk(P * g_i * s_P) mod QP for each RNS digit i (g_i the gadget), so the key
 * holder never needs s. ppml_bfv_reencrypt turns (c0, c1) under s_P into
 * (c0, 0) + KeySwitch(c1) under s. Public: rk and ciphertexts. Noise added is about
 * k * n^2 * sigma * max(q_i) / P, i.e. tens of bits below Q. */
typedef struct ppml_bfv_rkey ppml_bfv_rkey;
PPML_API int ppml_bfv_rkey_gen(const ppml_bfv_sk *sk_own, const ppml_bfv_pk *collective_pk,
                               ppml_bfv_rkey **rk) PPML_WUR;
PPML_API int ppml_bfv_reencrypt(const ppml_bfv_rkey *rk, ppml_bfv_ct *out, const ppml_bfv_ct *in) PPML_WUR;
PPML_API void ppml_bfv_rkey_free(ppml_bfv_rkey *rk);

/* Serialization of the two-party objects (same rules as above). */
PPML_API int ppml_bfv_poly_save(const ppml_bfv_poly *poly, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_poly_load(const ppml_bfv_params *p, ppml_bfv_poly **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_bfv_rkg_share_save(const ppml_bfv_rkg_share *sh, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_rkg_share_load(const ppml_bfv_params *p, ppml_bfv_rkg_share **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_bfv_decshare_save(const ppml_bfv_decshare *d, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_decshare_load(const ppml_bfv_params *p, ppml_bfv_decshare **out, const uint8_t *buf, size_t len) PPML_WUR;
PPML_API int ppml_bfv_rkey_save(const ppml_bfv_rkey *rk, uint8_t **out, size_t *len) PPML_WUR;
PPML_API int ppml_bfv_rkey_load(const ppml_bfv_params *p, ppml_bfv_rkey **out, const uint8_t *buf, size_t len) PPML_WUR;
/* TEST ONLY: the sum s_1 + s_2 as a secret key (lets tests measure the noise of collective
 * ciphertexts). Never used by the protocols. */
PPML_API int ppml_bfv_sk_sum_for_tests(const ppml_bfv_sk *a, const ppml_bfv_sk *b, ppml_bfv_sk **out) PPML_WUR;

#ifdef __cplusplus
}
#endif
#endif
