/* Encrypted online diagnosis of scheme S (DESIGN §4.4): a user gets the class the DSP's
 * one-vs-rest linear model assigns to its symptom vector; the user learns nothing else about
 * the model, and CSS, CCS and the DSP learn nothing about the symptoms or the result.
 * src/schemes/diagnosis/diagnosis.c opens with the protocol, what each party receives and why
 * the model is outsourced encrypted under CCS's BFV key (option (a) of §4.4).
 *
 * Parties and objects (all in-process objects; every message between parties is a serialized
 * byte buffer, so the same functions serve a networked deployment):
 *   ppml_diag_ccs   CCS: BFV secret key; answers blinded argmax requests.
 *   ppml_diag_css   CSS: BFV public material only (pk, relinearisation and, with css_rotations,
 *                   Galois keys) and the encrypted model; serves user requests.
 *   ppml_diag_user  a user: its own key pair (BFV n = 2048 by default, or Paillier); builds
 *                   requests, reads results.
 *   DSP             stateless: ppml_diag_outsource() encrypts its model for CSS.
 * Flow per query:  user --request--> CSS --blinded--> CCS --onehot--> CSS --result--> user.
 * The same messages run over channels with ppml_diag_css_serve / ppml_diag_ccs_serve /
 * ppml_diag_client_query (below): `ppml serve diag-ccs|diag-css` run them over TCP with CCS's
 * key material saved by ppml_diag_ccs_save_public/_secret; `ppml diagnose` without --css runs
 * them in-process, in threads.
 *
 * Costs per query at the defaults (n = 16384 with circuit_private, K <= 11, d < 128): user one
 * encoding + one BFV encryption (or a precomputed one) + one n = 2048 BFV decryption; CSS one
 * ciphertext multiplication, K plaintext multiplications and one flood (the latter two
 * offline with ppml_diag_css_precompute); CCS one BFV decryption. Messages (wine): request
 * ~1.0 MB, CSS -> CCS ~1.0 MB, CCS -> CSS and result 18 KB; without circuit_private (n =
 * 8192) 0.38 MB and 0.40 MB.
 *
 * Ownership: _new/_free heap objects (_free(NULL) is a no-op). ppml_diag_css borrows nothing
 * from the CCS object it was made from (it copies the public keys it needs). Output buffers
 * (uint8_t **out) are malloc'ed and owned by the caller. Objects are not thread-safe: one call
 * at a time per object (the CCS user-key cache is internal state).
 *
 * Fixed point: the diagnosis model is the svm_ref fixed-point model re-quantised to frac_w
 * fractional bits (W' = round(W / 2^(f - frac_w)), ties away from zero), and the user encodes
 * its features with frac_x bits (X_j = round(x_j 2^frac_x), bias X_d = 2^frac_x) after clipping
 * to |x_j| <= x_max. The class returned equals argmax_k sum_j W'_kj X_j exactly
 * (ppml_diag_model_plain_scores computes that in plaintext); ties among top classes resolve
 * uniformly at random (see the tie rule in diagnosis.c). */
#ifndef PPML_DIAGNOSIS_H
#define PPML_DIAGNOSIS_H
#include "common.h"
#include "channel.h"
#include "paillier.h"
#include "svm_ref.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_DIAG_MAX_CLASSES 64
#define PPML_DIAG_MAX_DIM 4096
/* Most precomputed (offline) items a party keeps. */
#define PPML_DIAG_MAX_POOL 64

typedef struct ppml_diag_config {
    size_t bfv_n;             /* ring degree (16384; 8192 is enough without circuit_private) */
    unsigned t_bits;          /* plaintext modulus bits (40) */
    const unsigned *prime_bits; /* TEST ONLY with insecure_for_tests: custom chain (last =
                                 * special prime); NULL: ppml_bfv_params_default */
    size_t prime_count;
    unsigned paillier_bits;   /* user key size the servers accept (2048) */
    unsigned frac_w;          /* model fractional bits (8) */
    unsigned frac_x;          /* feature fractional bits (8) */
    double x_max;             /* features clipped to [-x_max, x_max] (16) */
    int insecure_for_tests;   /* allow the custom chain and Paillier keys < 2048 bits */
    int sequential;           /* in-process runner only: 0 (default) CSS and CCS serve in
                               * their own threads over in-process channels; 1 all parties
                               * run in the caller's thread (benchmarks) */
    int result_paillier;      /* 0 (default): the class comes back under the user's own BFV
                               * key (n = 2048, one cheap decryption); 1: under the user's
                               * Paillier key of paillier_bits (the DESIGN sketch) */
    int css_rotations;        /* 1: CSS sums each block with log2(D) rotations-and-adds (the
                               * DESIGN sketch); 0 (default): no rotations, CSS masks each
                               * block with values summing to rho + rho' and CCS sums the
                               * block after decryption (same view for CCS, see diagnosis.c) */
    int circuit_private;      /* 1 (default): CSS floods the noise of what it sends CCS (a
                               * fresh encryption of 0 with noise uniform of width 2^B,
                               * Delta/16 < 2^B <= Delta/4,
                               * ppml_bfv_flood), so CCS's decryption shows no noise that
                               * depends on the model, the symptoms or the permutation
                               * (statistical distance <= 2^-40 at the checked budget). Needs
                               * bfv_n >= 16384 (PPML_EWEAK otherwise, unless
                               * insecure_for_tests): at 8192 the budget left after the
                               * product is too small to hide the noise. 0: no flooding, and
                               * bfv_n = 8192 suffices (about 2.6x cheaper; CCS then sees
                               * the computation's noise, see diagnosis.c). */
} ppml_diag_config;

PPML_API void ppml_diag_config_default(ppml_diag_config *c);
/* circuit_private on (the default: bfv_n = 16384) or off (bfv_n = 8192, enough unflooded). */
PPML_API void ppml_diag_config_circuit_private(ppml_diag_config *c, int on);

/* The DSP's plaintext model in diagnosis precision. */
typedef struct ppml_diag_model {
    size_t n_classes; /* K >= 2 */
    size_t dim;       /* d + 1 (bias last) */
    unsigned frac_w;
    int64_t *w;       /* K x dim, row-major */
} ppml_diag_model;
PPML_API void ppml_diag_model_init(ppml_diag_model *m);
PPML_API void ppml_diag_model_clear(ppml_diag_model *m);
/* Re-quantise an svm_ref fixed-point model (frac_w <= its frac_bits). A one-classifier binary
 * model (n_out = 1, class 1 iff <w,x> >= 0) becomes rows {0, w}; its ties (<w,x> = 0) then
 * resolve at random instead of to class 1. */
PPML_API int ppml_diag_model_from_fx(ppml_diag_model *out, const ppml_svm_ref_fx_model *fx,
                                     unsigned frac_w) PPML_WUR;
/* Encode features the way the user does: X[0..dim) (clip to x_max, round, bias last). */
PPML_API int ppml_diag_encode_x(int64_t *X, size_t dim, const double *x, size_t d,
                                const ppml_diag_config *c) PPML_WUR;
/* Plaintext mirror: scores[k] = sum_j W_kj X_j; *best = lowest argmax; *n_best = number of
 * classes attaining the maximum (ties). */
PPML_API int ppml_diag_model_plain_scores(int64_t *scores, uint32_t *best, size_t *n_best,
                                          const ppml_diag_model *m, const int64_t *X) PPML_WUR;

/* ---- CCS ---- */
typedef struct ppml_diag_ccs ppml_diag_ccs;
/* Generates CCS's BFV key set: secret, public and relinearisation keys, and, only with
 * css_rotations, Galois keys for the steps 1, 2, 4, ..., n/4. */
PPML_API int ppml_diag_ccs_new(ppml_diag_ccs **out, const ppml_diag_config *c) PPML_WUR;
PPML_API void ppml_diag_ccs_free(ppml_diag_ccs *ccs);
/* Persistence for networked deployments (`ppml serve diag-ccs|diag-css`, `ppml diagnose`).
 * save_public: the configuration CSS and users must share with CCS (bfv_n, t_bits,
 * paillier_bits, frac_w, frac_x, x_max, insecure_for_tests, result_paillier, css_rotations,
 * circuit_private),
 * BFV parameters, pk, relinearisation keys and, with css_rotations, Galois keys; the header
 * carries CCS's key id. load_public gives a public-only CCS object: usable for
 * ppml_diag_outsource, ppml_diag_css_new and ppml_diag_user_new; ppml_diag_ccs_answer refuses
 * it (PPML_EINVAL). save_secret adds the BFV secret key (the buffer is secret: wipe it);
 * load_secret checks that sk matches pk (PPML_EMISMATCH). Material made with
 * insecure_for_tests is refused (PPML_EWEAK) unless allow_insecure. Loaders validate
 * strictly (PPML_EFORMAT, PPML_EMISMATCH) and leave *out untouched on failure. */
PPML_API int ppml_diag_ccs_save_public(const ppml_diag_ccs *ccs, uint8_t **out,
                                       size_t *out_len) PPML_WUR;
PPML_API int ppml_diag_ccs_load_public(ppml_diag_ccs **out, const uint8_t *in, size_t in_len,
                                       int allow_insecure) PPML_WUR;
PPML_API int ppml_diag_ccs_save_secret(const ppml_diag_ccs *ccs, uint8_t **out,
                                       size_t *out_len) PPML_WUR;
PPML_API int ppml_diag_ccs_load_secret(ppml_diag_ccs **out, const uint8_t *in, size_t in_len,
                                       int allow_insecure) PPML_WUR;
/* The CCS configuration (public). */
PPML_API const ppml_diag_config *ppml_diag_ccs_config(const ppml_diag_ccs *ccs);
/* Handles one CSS -> CCS message; *out is the CCS -> CSS answer. Refuses (PPML_EFORMAT,
 * PPML_EMISMATCH, PPML_EWEAK, PPML_EPROTO) without changing state. */
PPML_API int ppml_diag_ccs_answer(ppml_diag_ccs *ccs, uint8_t **out, size_t *out_len,
                                  const uint8_t *in, size_t in_len) PPML_WUR;
/* Offline phase: fresh Paillier encryptions of 0 under a user's key for `queries` later
 * queries of n_classes each (the key is added to CCS's cache). PPML_EWEAK for a key of the
 * wrong size. */
PPML_API int ppml_diag_ccs_precompute(ppml_diag_ccs *ccs, const ppml_paillier_pk *upk,
                                      size_t queries, size_t n_classes) PPML_WUR;
/* TEST ONLY: called with CCS's whole decrypted view of each request ciphertext (centred slot
 * values, the slot stride D, the number of compared pairs in it) and the blinded
 * differences z it derives (block_sums: z_p is the sum of block p, else slot p*D). */
typedef void (*ppml_diag_view_fn)(void *ctx, const int64_t *slots, size_t n_slots, size_t D,
                                  size_t n_pairs, size_t n_classes, const int64_t *z,
                                  int block_sums);
PPML_API void ppml_diag_ccs_set_view_hook(ppml_diag_ccs *ccs, ppml_diag_view_fn fn, void *ctx);
/* TEST ONLY: remaining BFV noise budget (bits) of the last request CCS decrypted, measured
 * only after ppml_diag_ccs_probe_budget(ccs, 1) (-1 otherwise): an exact GMP computation
 * with the secret key, neither cheap nor constant time, so a serving CCS never does it. */
PPML_API int ppml_diag_ccs_last_budget(const ppml_diag_ccs *ccs);
PPML_API void ppml_diag_ccs_probe_budget(ppml_diag_ccs *ccs, int on);

/* ---- DSP ---- */
/* Encrypts the model under CCS's BFV public key (taken from ccs; only public parts are used)
 * in the slot layout of diagnosis.c; *out goes to CSS. Also states the public score bound. */
PPML_API int ppml_diag_outsource(uint8_t **out, size_t *out_len, const ppml_diag_ccs *ccs,
                                 const ppml_diag_model *m) PPML_WUR;

/* ---- CSS ---- */
typedef struct ppml_diag_css ppml_diag_css;
/* CSS with CCS's public keys and the outsourced model (from ppml_diag_outsource). */
PPML_API int ppml_diag_css_new(ppml_diag_css **out, const ppml_diag_ccs *ccs,
                               const uint8_t *model, size_t model_len) PPML_WUR;
PPML_API void ppml_diag_css_free(ppml_diag_css *css);
/* Per-query state (the permutation and the user's key), from request to result. */
typedef struct ppml_diag_query ppml_diag_query;
PPML_API void ppml_diag_query_free(ppml_diag_query *q);
/* Step 1: user request -> message to CCS. */
PPML_API int ppml_diag_css_request(ppml_diag_css *css, ppml_diag_query **q, uint8_t **out,
                                   size_t *out_len, const uint8_t *req, size_t req_len) PPML_WUR;
/* Step 2: CCS answer -> result for the user. */
PPML_API int ppml_diag_css_finish(ppml_diag_css *css, ppml_diag_query *q, uint8_t **out,
                                  size_t *out_len, const uint8_t *in, size_t in_len) PPML_WUR;
/* Offline phase: prepare count query-independent blinding sets (fresh permutation, rho, rho',
 * the blinded permuted model: the K plaintext multiplications, the masks and, with
 * circuit_private, the flood). Each is used by exactly one later request, oldest first; a
 * request with none left makes its own. A set holds 2-3 ciphertexts per n/D compared
 * pairs: about 4 MB at n = 16384 (PPML_DIAG_MAX_POOL of them: about 256 MB).
 * PPML_EINVAL if the pool would exceed PPML_DIAG_MAX_POOL. */
PPML_API int ppml_diag_css_precompute(ppml_diag_css *css, size_t count) PPML_WUR;
PPML_API size_t ppml_diag_css_pool(const ppml_diag_css *css);
/* Offline phase for a known user: count fresh Paillier encryptions of 0 under upk, used to
 * re-randomise results (the key is cached; PPML_EWEAK for the wrong size). */
PPML_API int ppml_diag_css_precompute_user(ppml_diag_css *css, const ppml_paillier_pk *upk,
                                           size_t count) PPML_WUR;
/* TEST ONLY: called with the class at each permuted position (sigma = pi^-1) per query. */
typedef void (*ppml_diag_perm_fn)(void *ctx, const uint32_t *sigma, size_t n_classes);
PPML_API void ppml_diag_css_set_perm_hook(ppml_diag_css *css, ppml_diag_perm_fn fn, void *ctx);
/* TEST ONLY: turn CSS's noise flooding (circuit_private) off or on, to measure the noise it
 * hides at the same parameters. Turning it on is refused (PPML_EWEAK) where the
 * configuration could not have asked for it (n < 16384 without insecure_for_tests). */
PPML_API int ppml_diag_css_set_flood(ppml_diag_css *css, int on) PPML_WUR;
/* Public service description the user needs: d and the layout come with CSS's model. */
PPML_API size_t ppml_diag_css_features(const ppml_diag_css *css);
/* The blinding range: rho is drawn from [1, rho_max] (public: it follows from t and the
 * DSP's stated score bound). */
PPML_API uint64_t ppml_diag_css_rho_max(const ppml_diag_css *css);

/* ---- User ---- */
typedef struct ppml_diag_user ppml_diag_user;
/* A user of the service run by ccs (its public BFV key only) with d features. With
 * result_paillier the user's Paillier key sk is used (borrowed: it must outlive the user
 * object); otherwise sk may be NULL and the user makes its own BFV key pair (n = 2048). */
PPML_API int ppml_diag_user_new(ppml_diag_user **out, const ppml_diag_ccs *ccs, size_t d,
                                const ppml_paillier_sk *sk) PPML_WUR;
PPML_API void ppml_diag_user_free(ppml_diag_user *u);
/* Offline phase: count fresh BFV encryptions of 0 under CCS's key; a later request then costs
 * one encoding and one plaintext addition (Enc(0) + Delta*m is a fresh encryption of m). */
PPML_API int ppml_diag_user_precompute(ppml_diag_user *u, size_t count) PPML_WUR;
PPML_API int ppml_diag_user_request(ppml_diag_user *u, uint8_t **out, size_t *out_len,
                                    const double *x, size_t d) PPML_WUR;
PPML_API int ppml_diag_user_result(ppml_diag_user *u, uint32_t *cls, const uint8_t *in,
                                   size_t in_len) PPML_WUR;

/* ---- Servers over channels (src/schemes/diagnosis/serve.c) ----
 * Channel message types; payloads are the serialized messages above. */
#define PPML_DIAG_MSG_REQUEST 0x0602 /* user -> CSS */
#define PPML_DIAG_MSG_BLINDED 0x0603 /* CSS -> CCS */
#define PPML_DIAG_MSG_ONEHOT 0x0604  /* CCS -> CSS */
#define PPML_DIAG_MSG_RESULT 0x0605  /* CSS -> user */
#define PPML_DIAG_MSG_ERROR 0x0606   /* reply to a refused message: i32 error code (LE) */
#define PPML_DIAG_MSG_BYE 0x0607     /* stop serving (CSS forwards it to CCS) */
typedef struct ppml_diag_serve_stats {
    uint64_t served, refused; /* messages answered / refused with an error reply */
    uint64_t busy_ns;         /* time spent computing (not waiting) */
    uint64_t bytes_to_peer, bytes_from_peer; /* CSS only: CSS -> CCS, CCS -> CSS */
    int peer_lost;            /* CSS only: the CCS channel failed (see _serve_session) */
} ppml_diag_serve_stats;
/* Serve until BYE or a channel failure (returned). Every refused message gets an ERROR reply
 * and the loop goes on. st (may be NULL) is updated before each reply is sent. */
PPML_API int ppml_diag_ccs_serve(ppml_diag_ccs *ccs, ppml_channel *ch, ppml_diag_serve_stats *st);
PPML_API int ppml_diag_css_serve(ppml_diag_css *css, ppml_channel *user_ch, ppml_channel *ccs_ch,
                                 ppml_diag_serve_stats *st);
/* One user's session with a networked CSS: like ppml_diag_css_serve, but BYE only ends the
 * session (PPML_OK, not forwarded to CCS); a user that disconnects ends it with PPML_ENET,
 * no message within idle_ms (PPML_TIMEOUT_INFINITE allowed) with PPML_ETIMEOUT. CCS's
 * refusals are reported to the user as ERROR replies. If the CCS channel itself fails
 * (PPML_ENET: CCS gone or restarted), the user gets an ERROR reply (PPML_ENET) for that
 * request and the session ends with PPML_ENET and st->peer_lost = 1, even if the user is gone
 * too (st must then be non-NULL to tell the two apart): the caller connects to CCS again and
 * may go on serving the same user channel with a new call. */
PPML_API int ppml_diag_css_serve_session(ppml_diag_css *css, ppml_channel *user_ch,
                                         ppml_channel *ccs_ch, ppml_diag_serve_stats *st,
                                         int idle_ms);
/* Replaces *ccs_ch (which may be NULL: nothing to free) by a fresh channel to CCS, freeing
 * the old one; *ccs_ch is NULL if it fails (the error returned). */
typedef int (*ppml_diag_ccs_connect_fn)(void *ctx, ppml_channel **ccs_ch);
/* The same session with a CSS that keeps its CCS link alive: when the CCS channel fails, or
 * *ccs_ch is NULL, CSS calls reconnect(ctx, ccs_ch) and sends the request again, once (CCS
 * gets the same blinded bytes twice: nothing new). Only if that fails too does the user get
 * an ERROR reply (st->peer_lost = 1); the session goes on, and the next request tries to
 * reconnect again. */
PPML_API int ppml_diag_css_serve_session_reconnect(ppml_diag_css *css, ppml_channel *user_ch,
                                                   ppml_channel **ccs_ch,
                                                   ppml_diag_ccs_connect_fn reconnect, void *ctx,
                                                   ppml_diag_serve_stats *st, int idle_ms);
/* User side: send a request (from ppml_diag_user_request), wait for the result (for
 * ppml_diag_user_result; malloc'ed) or the server's error code (returned). */
PPML_API int ppml_diag_client_query(ppml_channel *css_ch, uint8_t **result, size_t *result_len,
                                    const uint8_t *req, size_t req_len) PPML_WUR;
/* The same, waiting at most timeout_ms for the answer (PPML_ETIMEOUT). */
PPML_API int ppml_diag_client_query_timeout(ppml_channel *css_ch, uint8_t **result,
                                            size_t *result_len, const uint8_t *req,
                                            size_t req_len, int timeout_ms) PPML_WUR;

/* ---- In-process runner (for `ppml demo`, the CLI and benchmarks) ---- */
typedef struct ppml_diag_stats {
    uint64_t queries;
    uint64_t user_ns, css_ns, ccs_ns;   /* summed over queries */
    uint64_t bytes_up, bytes_down;      /* user -> CSS, CSS -> user */
    uint64_t bytes_css_ccs, bytes_ccs_css;
    uint64_t bytes_model;               /* DSP -> CSS (once) */
    uint64_t offline_queries;           /* queries prepared by ppml_diag_system_precompute */
    uint64_t user_offline_ns, css_offline_ns, ccs_offline_ns;
} ppml_diag_stats;
typedef struct ppml_diag_system ppml_diag_system;
/* Sets up CCS keys, a user Paillier key of c->paillier_bits, outsources m; unless
 * c->sequential, starts CSS and CCS server threads joined over in-process channels
 * (stopped by ppml_diag_system_free). */
PPML_API int ppml_diag_system_new(ppml_diag_system **out, const ppml_diag_config *c,
                                  const ppml_diag_model *m) PPML_WUR;
PPML_API void ppml_diag_system_free(ppml_diag_system *s);
/* One diagnosis end to end; adds to *stats when non-NULL. */
PPML_API int ppml_diag_system_diagnose(ppml_diag_system *s, uint32_t *cls, const double *x,
                                       size_t d, ppml_diag_stats *stats) PPML_WUR;
/* Every row of ds (ds->d features): pred[i] <- encrypted diagnosis. */
PPML_API int ppml_diag_system_run_dataset(ppml_diag_system *s, uint32_t *pred, size_t pred_len,
                                          const ppml_dataset *ds, ppml_diag_stats *stats) PPML_WUR;
/* Offline phase of every party for `queries` later queries (call it only while no query is
 * in flight: with the threaded runner the servers are idle between queries) (user: BFV encryptions of 0;
 * CSS: blinding sets; CCS: Paillier encryptions of 0 under the user's key); adds the time
 * to stats->*_offline_ns when non-NULL. Queries beyond the prepared ones still work, doing
 * that work online. */
PPML_API int ppml_diag_system_precompute(ppml_diag_system *s, size_t queries,
                                         ppml_diag_stats *stats) PPML_WUR;
PPML_API ppml_diag_ccs *ppml_diag_system_ccs(ppml_diag_system *s);
PPML_API ppml_diag_css *ppml_diag_system_css(ppml_diag_system *s);
/* Threaded runner only (else NULL): the user's end of the channel to CSS (tests send bad
 * requests on it with ppml_diag_client_query) and the servers' counters. */
PPML_API ppml_channel *ppml_diag_system_user_channel(ppml_diag_system *s);
PPML_API const ppml_diag_serve_stats *ppml_diag_system_css_stats(ppml_diag_system *s);
PPML_API const ppml_diag_serve_stats *ppml_diag_system_ccs_stats(ppml_diag_system *s);

#ifdef __cplusplus
}
#endif
#endif
