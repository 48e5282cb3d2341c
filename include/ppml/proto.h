/* Two-server building blocks of scheme S (DESIGN §3): CSS holds ciphertexts and the
 * training Paillier public key; CCS holds the training secret key and answers CSS's
 * requests. Every block is vectorised (one round trip per call, whatever the length) and
 * packs the blinded values it sends to CCS (ppml_paillier_pack_ct).
 *
 * Values are signed integers embedded mod N (fixed point, ppml/fixed.h). Each block takes
 * value_bits = l, the caller's promise that every input satisfies |v| < 2^l. If the promise
 * is broken the output is wrong and the blinding weaker; nothing crashes.
 *
 * Blinding (kappa = statistical parameter, 40 by default):
 *   additive (B2, B3, B4, truncation, conversion): CCS receives v + 2^l + r, r uniform in
 *     [0, 2^(l+kappa)), a non-negative value below 2^(l+kappa+1) in a slot of l+kappa+1 bits;
 *     its distribution is within statistical distance 2^(1-kappa) of one independent of v.
 *   sign (B5): CCS receives z = r1*s*(2v+1) + r2 with r1 uniform in [1, 2^kappa), r2 uniform
 *     in [0, r1), s = +-1 a fair coin; |z| < 2^(l+kappa+1). sign(z) = s*sign(2v+1) is a fair
 *     coin independent of v; |z| leaks roughly log2|v| (as in the source scheme).
 * Each file under src/proto/ states exactly what each party receives.
 *
 * Threads: opts.threads splits the per-element exponentiations of a vector on both sides.
 *
 * Ownership: ppml_proto_css is a heap object borrowing its channel and public key (both must
 * outlive it). Output arrays are caller-allocated and mpz_init'ed; they may not alias the
 * inputs and are left untouched on failure. */
#ifndef PPML_PROTO_H
#define PPML_PROTO_H
#include "channel.h"
#include "common.h"
#include "dtpkc.h"
#include "paillier.h"
#include <gmp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_PROTO_KAPPA 40
/* Most values one request may carry (requests above are refused by CCS). */
#define PPML_PROTO_MAX_VALUES ((size_t)1 << 22)

/* Message types (u16) of the CSS <-> CCS protocol. Replies are request | 0x80. */
enum {
    PPML_MSG_MUL = 0x0501,
    PPML_MSG_INNER = 0x0502,
    PPML_MSG_SCALAR_VEC = 0x0503,
    PPML_MSG_SIGN = 0x0504,
    PPML_MSG_SIGN_REVEAL = 0x0505,
    PPML_MSG_TRUNCATE = 0x0506,
    PPML_MSG_CONVERT = 0x0507,
    PPML_MSG_AGGREGATE = 0x0508,
    PPML_MSG_CONVERT_DTPKC = 0x050A,
    PPML_MSG_CACHE_PUT = 0x050B,  /* CSS -> CCS: a blinded matrix for CCS to keep (b3_cached.c) */
    PPML_MSG_CACHED_MUL = 0x050C, /* CSS -> CCS: products with a kept matrix */
    PPML_MSG_CACHE_DROP = 0x050D, /* CSS -> CCS: forget a kept matrix */
    PPML_MSG_SETUP = 0x0509, /* TA -> CCS: CCS's keys (see ppml_proto_ccs_provision) */
    PPML_MSG_SETUP_SEALED = 0x050E, /* CSS -> CCS: the TA's sealed PPML_MSG_SETUP payload */
    PPML_MSG_REPLY = 0x0080,
    PPML_MSG_ERROR = 0x05FE, /* CCS -> CSS: i32 error code */
    PPML_MSG_END = 0x05FF,   /* CSS -> CCS: stop serving */
};

typedef struct ppml_proto_opts {
    unsigned kappa;   /* 0 = PPML_PROTO_KAPPA; at least 20 */
    unsigned threads; /* 0 or 1 = single-threaded; at most 64 */
} ppml_proto_opts;

/* ---- CCS ---- */
/* Serve CSS's requests on ch until CSS sends PPML_MSG_END (returns PPML_OK) or the channel
 * fails (returns its error). A malformed request is answered with PPML_MSG_ERROR and serving
 * goes on. idle_timeout_ms bounds the wait for each request (PPML_TIMEOUT_INFINITE allowed). */
PPML_API int ppml_proto_ccs_serve(ppml_channel *ch, const ppml_paillier_sk *sk,
                                  const ppml_proto_opts *opts, int idle_timeout_ms) PPML_WUR;

/* Keys of a CCS that also runs B1 (secure aggregation). */
typedef struct ppml_proto_ccs_keys {
    const ppml_paillier_sk *training;   /* required: the training key */
    const ppml_dtpkc_params *dtpkc;     /* B1: DT-PKC parameters (NULL: B1 requests refused) */
    const ppml_dtpkc_partial_sk *sk2;   /* B1: CCS's half SK2 of the split strong key */
    const uint8_t (*mc_sign_keys)[32];  /* B1: Ed25519 public keys of the authorised MCs */
    size_t n_mc_sign_keys;
    const uint8_t *task_id;             /* B1: the 32-byte id of the task CCS serves */
    /* Key conversion (PPML_MSG_CONVERT): the ids (ppml_paillier_pk_id) of the only keys CCS
     * re-encrypts to, e.g. the DSP's; n_convert_targets = 0: any key. Without this list the
     * client CCS serves could convert to a key of its own and, knowing its blinding, decrypt;
     * the TA sets it in the (sealed) set-up. */
    const uint8_t (*convert_targets)[32];
    size_t n_convert_targets;
    /* B5's variant that tells CSS the sign bits in the clear (PPML_MSG_SIGN_REVEAL, used by
     * ppml_proto_sign_revealed_to_css): refused (PPML_ENOTSUP) unless set. Answering it for
     * chosen ciphertexts would let CSS decrypt anything under the training key by bisection,
     * and no protocol here needs it; a provisioned CCS (ppml_proto_ccs_run*) never sets it. */
    int allow_sign_reveal;
} ppml_proto_ccs_keys;
/* As ppml_proto_ccs_serve, with the B1 keys. */
PPML_API int ppml_proto_ccs_serve_keys(ppml_channel *ch, const ppml_proto_ccs_keys *keys,
                                       const ppml_proto_opts *opts, int idle_timeout_ms) PPML_WUR;

/* Remote CCS set-up (DESIGN §4.1: the TA hands out keys, then goes offline).
 * ppml_proto_ccs_provision (TA side) sends CCS's keys over ch: the training secret key, and
 * for B1 the DT-PKC parameters, SK2, the MCs' Ed25519 keys and the task id. Use it only over
 * a channel that authenticates CCS and encrypts (TCP with CURVE: the client knows CCS's
 * public key). ppml_proto_ccs_run (CCS side) waits for that message, loads and checks the
 * keys (allow_test_keys = 1 accepts the small test-only moduli), acknowledges, then serves
 * like ppml_proto_ccs_serve_keys. Loaded keys are wiped when it returns. */
PPML_API int ppml_proto_ccs_provision(ppml_channel *ch, const ppml_proto_ccs_keys *keys) PPML_WUR;
PPML_API int ppml_proto_ccs_run(ppml_channel *ch, const ppml_proto_opts *opts, int allow_test_keys,
                                int idle_timeout_ms) PPML_WUR;
/* The same keys for a CCS that CSS connects to on the TA's behalf (ppml serve css): the TA
 * seals the set-up payload to CCS's X25519 (CURVE) public key with libsodium's
 * crypto_box_seal (ppml_proto_ccs_seal_keys; *sealed malloc'd), CSS relays the sealed bytes,
 * which it cannot open, as the first message of its session (ppml_proto_ccs_provision_sealed
 * sends them and waits for the acknowledgement), and ppml_proto_ccs_run_sealed opens them
 * with CCS's key pair (ccs_public, ccs_secret: 32 raw bytes each, e.g. from
 * ppml_channel_curve_decode). ppml_proto_ccs_run_sealed also accepts the plain set-up;
 * ppml_proto_ccs_run refuses the sealed one. */
PPML_API int ppml_proto_ccs_seal_keys(uint8_t **sealed, size_t *len, const ppml_proto_ccs_keys *keys,
                                      const uint8_t ccs_public[32]) PPML_WUR;
PPML_API int ppml_proto_ccs_provision_sealed(ppml_channel *ch, const uint8_t *sealed, size_t len) PPML_WUR;
PPML_API int ppml_proto_ccs_run_sealed(ppml_channel *ch, const ppml_proto_opts *opts, int allow_test_keys,
                                       int idle_timeout_ms, const uint8_t ccs_public[32],
                                       const uint8_t ccs_secret[32]) PPML_WUR;
/* Authenticated set-up: ppml_proto_ccs_box_keys boxes the same payload with crypto_box from
 * the TA's own X25519 key pair (ta_public, ta_secret: 32 raw bytes each, e.g. its CURVE
 * client key; PPML_EMISMATCH if they are not a pair) to CCS's; it travels like a sealed one
 * (ppml_proto_ccs_provision_sealed, relayed by CSS or sent by the TA itself).
 * ppml_proto_ccs_run_trusted is ppml_proto_ccs_run_sealed with a list of trusted TA public
 * keys: n_ta > 0 accepts only a set-up boxed by one of them (sealed and plain set-ups, and
 * boxes from other keys, are refused with PPML_EVERIFY and an error reply); n_ta = 0 is
 * ppml_proto_ccs_run_sealed, which accepts boxes from anyone too. */
PPML_API int ppml_proto_ccs_box_keys(uint8_t **boxed, size_t *len, const ppml_proto_ccs_keys *keys,
                                     const uint8_t ccs_public[32], const uint8_t ta_public[32],
                                     const uint8_t ta_secret[32]) PPML_WUR;
PPML_API int ppml_proto_ccs_run_trusted(ppml_channel *ch, const ppml_proto_opts *opts,
                                        int allow_test_keys, int idle_timeout_ms,
                                        const uint8_t ccs_public[32], const uint8_t ccs_secret[32],
                                        const uint8_t (*ta_keys)[32], size_t n_ta) PPML_WUR;

/* ---- B1 authorisation ----
 * An MC authorises the conversion of its ciphertexts for one task by an Ed25519 signature
 * (libsodium crypto_sign_detached) over the 128 bytes
 *   "ppml/B1-auth/v1" NUL-padded to 16 | task_id[32] | DT-PKC key id[32] (ppml_dtpkc_pk_id)
 *   | training Paillier key id[32] (ppml_paillier_pk_id) | count u64 LE | 8 zero bytes.
 * CCS refuses B1 without a valid authorisation from a key in its list for its task. */
#define PPML_PROTO_TASK_ID_BYTES 32
typedef struct ppml_proto_auth {
    uint8_t task_id[PPML_PROTO_TASK_ID_BYTES];
    uint8_t signer_pk[32]; /* the MC's Ed25519 public key */
    uint8_t sig[64];
} ppml_proto_auth;
/* MC side: sign for `count` ciphertexts under mc_key, to be moved to the training key.
 * signer_sk is a libsodium Ed25519 secret key (64 bytes, crypto_sign_keypair). */
PPML_API int ppml_proto_auth_sign(ppml_proto_auth *auth, const uint8_t signer_sk[64],
                                  const uint8_t task_id[PPML_PROTO_TASK_ID_BYTES],
                                  const ppml_dtpkc_pk *mc_key, const ppml_paillier_pk *training,
                                  uint64_t count) PPML_WUR;
/* PPML_OK if auth is a valid signature by auth->signer_pk for these ids and count, else
 * PPML_EVERIFY. */
PPML_API int ppml_proto_auth_verify(const ppml_proto_auth *auth, const uint8_t dtpkc_key_id[32],
                                    const uint8_t training_key_id[32], uint64_t count) PPML_WUR;

/* ---- CSS ---- */
typedef struct ppml_proto_css ppml_proto_css;
PPML_API int ppml_proto_css_new(ppml_proto_css **out, ppml_channel *ch, const ppml_paillier_pk *pk,
                                const ppml_proto_opts *opts) PPML_WUR;
PPML_API void ppml_proto_css_free(ppml_proto_css *css);
/* The training public key the context borrows. */
PPML_API const ppml_paillier_pk *ppml_proto_css_pk(const ppml_proto_css *css);
/* Tell CCS to stop serving. */
PPML_API int ppml_proto_css_finish(ppml_proto_css *css) PPML_WUR;

/* B2: out[i] = E(a[i] * b[i]), i < n. */
PPML_API int ppml_proto_mul(ppml_proto_css *css, mpz_t *out, const mpz_t *a, const mpz_t *b,
                            size_t n, unsigned value_bits) PPML_WUR;
/* B3: out[i] = E(<x_i, y_i>) for the m rows x_i of the row-major m x d matrix x; y is an
 * m x d matrix too, or, with y_shared, one d-vector used for every row (sent once). CCS
 * returns one ciphertext per inner product. */
PPML_API int ppml_proto_inner(ppml_proto_css *css, mpz_t *out, const mpz_t *x, const mpz_t *y,
                              size_t m, size_t d, int y_shared, unsigned value_bits) PPML_WUR;
/* B3 on a matrix CCS keeps blinded (the constant training features): CCS receives the
 * blinded A once, then each product sends only the other, fresh operand. The handle owns
 * copies of E(A) and CSS's secret offsets; free it with ppml_proto_cached_free (CCS drops its
 * copy when serving ends). At most 8 matrices per CCS session. a: rows x cols, |a| < 2^value_bits. */
typedef struct ppml_proto_cached ppml_proto_cached;
PPML_API int ppml_proto_cache_matrix(ppml_proto_css *css, ppml_proto_cached **out, const mpz_t *a,
                                     size_t rows, size_t cols, unsigned value_bits) PPML_WUR;
PPML_API void ppml_proto_cached_free(ppml_proto_cached *c);
/* Tells CCS to drop its copy, then frees c (also when CCS cannot be reached: the result says
 * whether CCS confirmed). Use it when the CSS context lives on after the matrix. */
PPML_API int ppml_proto_cached_release(ppml_proto_css *css, ppml_proto_cached *c);
PPML_API size_t ppml_proto_cached_rows(const ppml_proto_cached *c);
PPML_API size_t ppml_proto_cached_cols(const ppml_proto_cached *c);
/* out[i * kb + k] = E(<A_(lo+i), b_k>) for i < count, k < kb; b is kb x cols, |b| < 2^b_bits. */
PPML_API int ppml_proto_cached_mul_rows(ppml_proto_css *css, mpz_t *out, const ppml_proto_cached *a,
                                        size_t lo, size_t count, const mpz_t *b, size_t kb,
                                        unsigned b_bits) PPML_WUR;
/* out[k * cols + j] = E(sum_(i<count) A_(lo+i),j * b_k,i) for k < kb, j < cols; b is
 * kb x count, |b| < 2^b_bits. */
PPML_API int ppml_proto_cached_mul_cols(ppml_proto_css *css, mpz_t *out, const ppml_proto_cached *a,
                                        size_t lo, size_t count, const mpz_t *b, size_t kb,
                                        unsigned b_bits) PPML_WUR;

/* B4: out[i] = E(s * v[i]). */
PPML_API int ppml_proto_scalar_vec(ppml_proto_css *css, mpz_t *out, const mpz_t s, const mpz_t *v,
                                   size_t n, unsigned value_bits) PPML_WUR;
/* B5: out[i] = E([x[i] >= 0]) (1 or 0); the result stays encrypted; CCS sees only signs
 * flipped by CSS's secret coins. */
PPML_API int ppml_proto_sign(ppml_proto_css *css, mpz_t *out, const mpz_t *x, size_t n,
                             unsigned value_bits) PPML_WUR;
/* B5, the source scheme's variant: CSS LEARNS the sign bits in the clear
 * (bits[i] = [x[i] >= 0]). CCS's view is the same as in ppml_proto_sign. Use only where the
 * protocol allows CSS to know these bits. */
PPML_API int ppml_proto_sign_revealed_to_css(ppml_proto_css *css, uint8_t *bits, const mpz_t *x,
                                             size_t n, unsigned value_bits) PPML_WUR;
/* Secure truncation: out[i] = E(t_i) with t_i = floor(v[i] / 2^frac_bits) or that plus 1
 * (the blinding's carry; an error of at most one unit in the last place, never below the
 * floor). frac_bits < value_bits. */
PPML_API int ppml_proto_truncate(ppml_proto_css *css, mpz_t *out, const mpz_t *v, size_t n,
                                 unsigned value_bits, unsigned frac_bits) PPML_WUR;
/* Key conversion Paillier -> Paillier: out[i] = E_target(v[i]) (v signed, embedded mod the
 * target modulus). CCS decrypts the blinded values and re-encrypts them under target. */
PPML_API int ppml_proto_convert(ppml_proto_css *css, mpz_t *out, const ppml_paillier_pk *target,
                                const mpz_t *v, size_t n, unsigned value_bits) PPML_WUR;

/* Key conversion Paillier -> DT-PKC: out[i] = Enc_target(v[i]) under a DT-PKC user key (e.g.
 * the DSP's), same blinding as ppml_proto_convert; CCS re-encrypts under target (it needs the
 * DT-PKC parameters: ppml_proto_ccs_serve_keys); CSS unblinds with
 * ppml_dtpkc_convert_unblind. out: n caller-initialised ciphertexts. */
PPML_API int ppml_proto_convert_dtpkc(ppml_proto_css *css, ppml_dtpkc_ct *out, const ppml_dtpkc_pk *target,
                                      const mpz_t *v, size_t n, unsigned value_bits) PPML_WUR;

/* B1 secure aggregation: an MC's DT-PKC ciphertexts cts[i] = Enc_mc(v_i), |v_i| < 2^l, become
 * out[i] = E(v_i) under the training key. CSS holds SK1 (sk1); CCS (ppml_proto_ccs_serve_keys)
 * holds SK2 and checks auth. */
PPML_API int ppml_proto_aggregate(ppml_proto_css *css, mpz_t *out, const ppml_dtpkc_partial_sk *sk1,
                                  const ppml_dtpkc_pk *mc_key, const ppml_dtpkc_ct *cts, size_t n,
                                  unsigned value_bits, const ppml_proto_auth *auth) PPML_WUR;

/* Slot width for the additive blinding at value_bits and the context's kappa (for tests and
 * budget planning). */
PPML_API unsigned ppml_proto_css_slot_bits(const ppml_proto_css *css, unsigned value_bits);

#ifdef __cplusplus
}
#endif
#endif
