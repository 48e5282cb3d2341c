/* Encrypted online diagnosis, scheme S (DESIGN §4.4).
 *
 * Model outsourcing: option (a), the model encrypted under CCS's BFV key. Why not (b), a
 * model blinded with random vectors plus the table of pairwise differences of the blinding
 * terms: the terms to cancel are <r_a - r_b, x>, which depend on the query, so whoever
 * cancels them must hold r_a - r_b in the clear; CSS holding w_k + r_k and r_a - r_b learns
 * w_a - w_b, and the differences are all the argmax depends on. Encrypting W under CCS's
 * key costs one ciphertext multiplication per query, but nobody but the DSP ever sees W.
 *
 * Slot layout (n slots, block size D = next power of two >= d + 1, B = n / D blocks; a block
 * never straddles the two batching rows because D divides n/2):
 *   model ciphertext k (K of them):  slot p*D + j holds W'_kj for j < d+1, 0 otherwise, in
 *                                    EVERY block p (w_k replicated B times);
 *   user request:                    slot p*D + j holds X_j likewise (x replicated B times).
 *
 * Per query, CSS:
 *   1. draws a fresh uniform permutation: sigma[a] = class at permuted position a
 *      (sigma = pi^-1), and for each unordered pair of positions a < b (P = K(K-1)/2 pairs,
 *      pair index p in lexicographic order) fresh rho_p uniform in [1, rho_max] and
 *      rho'_p uniform in [0, rho_p - 1];
 *   2. for each chunk of B pairs, builds the per-query model
 *        M = sum_k E(w_k) (*) S_k,   S_k = +2 rho_p on block p if sigma[a_p] = k,
 *                                          -2 rho_p on block p if sigma[b_p] = k, else 0
 *      (K plaintext multiplications), so block p of M encrypts 2 rho_p (w_sigma[a] - w_sigma[b]);
 *   3. one ciphertext multiplication by the user's E(x) + relinearisation: block p of the
 *      product holds the terms 2 rho_p (w_sigma[a] - w_sigma[b])_j X_j, whose block sum is
 *      2 rho_p (v_sigma[a] - v_sigma[b]), v_k = <W'_k, X>;
 *   4. masks and sends. Two variants (ppml_diag_config.css_rotations):
 *      - default (0): no rotations. CSS adds to block p masks m_0..m_{D-1}, uniform mod t
 *        subject to sum_j m_j = rho_p + rho'_p (m_0 fixes the sum), and uniform masks in the
 *        unused blocks. CCS decrypts and sums each block itself. Any D-1 masked slots of a
 *        block are uniform and their total is the blinded value, so CCS learns exactly
 *          z_p = rho_p (2 (v_sigma[a] - v_sigma[b]) + 1) + rho'_p
 *        and nothing else: the same view as the rotation variant, without its log2(D) key
 *        switches (the bulk of CSS's time) and without Galois keys.
 *      - 1 (the DESIGN sketch): log2(D) rotations-and-adds (steps 1, 2, ..., D/2) put the
 *        block sum in slot p*D; CSS adds rho_p + rho'_p there and a uniform value mod t in
 *        every other slot (which hold partial sums), so CCS reads z_p at slot p*D.
 *   rho_max = floor(((t-1)/2) / (2*Dmax + 2)) with Dmax = 2*vbound, vbound the public bound
 *   on |v_k| stated by the DSP (max_k sum_j |W'_kj| * max|X_j|), so |z_p| < t/2 (no wrap).
 *   sign(z_p) = [v_sigma[a] >= v_sigma[b]] exactly: Delta >= 0 gives z >= rho + rho' > 0,
 *   Delta <= -1 gives z <= -rho + rho' < 0.
 * Steps 1, 2 and the masks never depend on x: ppml_diag_css_precompute does them offline
 * (one "blinding set" per future query, used once); likewise the user can precompute BFV
 * encryptions of 0 (Enc(0) + Delta*m is a fresh encryption of m) and CCS Paillier
 * encryptions of 0 under a known user key. Online work is then: user encode + add + one
 * decryption (BFV n = 2048, or Paillier); CSS one ciphertext multiplication (+ rotations in
 * variant 1), E_U(sigma) and one re-randomisation (or the Paillier fold); CCS one BFV
 * decryption, the monomial product and one encryption of 0 under the user's key (or one
 * plaintext addition with precomputed Paillier encryptions).
 * CCS decrypts, reads the signs, and finds the permuted position w that beats every other
 * one. The class then reaches the user under the user's own key, in one of two ways
 * (ppml_diag_config.result_paillier):
 *   - default, the user's BFV key (n = 2048, 36-bit Q, t = 61441: cheapest for the user, one
 *     small decryption): CSS sends CCS, with the blinded values, E_U(sum_j sigma[j] X^j)
 *     (coefficient encoding, fresh). CCS multiplies it by the monomial X^-w (a signed
 *     permutation of coefficients: no noise growth), adds uniform values to coefficients
 *     1..n-1 and a fresh E_U(0), and returns it; CSS re-randomises it (another E_U(0)) and
 *     forwards it; the user decrypts and reads coefficient 0 = sigma[w] = the class.
 *   - the user's Paillier key (the DESIGN sketch): CCS returns K fresh encryptions
 *     E_U(e_j) of the one-hot vector (DJN form, table cached per user key, encryptions of 0
 *     precomputable); CSS folds E_U(class) = prod_j E_U(e_j)^sigma[j], re-randomises it,
 *     and the user decrypts one Paillier ciphertext.
 *
 * Tie rule: a < b means position a beats b iff v_sigma[a] >= v_sigma[b] (the +1); b beats a
 * iff v_sigma[b] > v_sigma[a]. That is the order "higher score first, then lower permuted
 * position", so exactly one position beats all others: among the tied top classes, the one
 * at the lowest permuted position wins. Since the permutation is uniform and fresh, a tie
 * among m classes resolves to each of them with probability 1/m (tests check both outcomes
 * occur); it does NOT resolve to the lowest class index.
 *
 * What each party receives:
 *   DSP:  nothing (it sends E_CCS(W') once, plus the public bound vbound, K and d).
 *   User: its own result under its key -> the class (the other coefficients of the BFV
 *         result are uniform); nothing about W beyond the class of its own query (and what
 *         a sequence of queries reveals).
 *   CSS:  E_CCS(W') and E_CCS(x) (BFV, semantically secure under CCS's key), the user's
 *         public key, and CCS's answer under the user's key (one BFV ciphertext, or K
 *         Paillier ciphertexts). It never holds a secret key: it learns nothing about W, x
 *         or the class.
 *   CCS:  per query, one BFV ciphertext (per n/D pairs) whose decryption
 *         determines the P blinded, permuted differences z_p (block sums, or slots p*D) and
 *         is otherwise uniform. From the signs it learns the
 *         total order of the K *permuted* scores (with ties broken by position), which is
 *         independent of the real order while sigma is fresh and unknown to it. The
 *         magnitudes |z_p| hide the differences only statistically: z_p is a random
 *         multiple-plus-offset of 2 Delta + 1 with rho_p <= rho_max (2^13 to 2^14 for the
 *         bundled data at the defaults), so |z_p| / rho_max gives a coarse estimate of
 *         |Delta| and ratios across pairs leak a little; this is the same statistical
 *         blinding as §3's B5.
 *         CCS also learns the user's public key, and (BFV result) E_U(sigma), which it
 *         cannot decrypt.
 *   Noise: BFV decryption also shows CCS the ciphertext noise, which depends on the model,
 *   the symptoms, sigma and the rho's (through the products CSS computed). With
 *   circuit_private = 0 (n = 8192) that noise is NOT hidden: the budget left after the
 *   product (25-34 bits measured) has no room for a flood, so that mode leaks something of
 *   unquantified size through the noise. With circuit_private (the default; n = 16384, five
 *   48-bit data primes) CSS adds to every ciphertext
 *   it sends a fresh encryption of 0 whose noise is uniform of width 2^B, B = bits(Q) -
 *   bits(t) - 3 (Delta/16 < 2^B <= Delta/4; ppml_bfv_flood, made offline with the blinding
 *   set). CCS's view of the noise is then within statistical distance n * max|e| / 2^(B+1)
 *   <= n * 2^(2 - b0) of one that does not depend on the computation, b0 being the budget
 *   the computation leaves unflooded: test_diagnosis measures b0 = 88-89 bits at these
 *   parameters (2^-73 per ciphertext, so 2^-40 still after 2^33 of them) and requires
 *   b0 >= 56 (2^-40 per ciphertext); c1 is re-randomised by the same encryption of 0. Cost:
 *   about 2.6x per diagnosis against n = 8192 unflooded (ppml bench diagnosis, variant
 *   no_circuit_privacy). Whether CSS floods is part of CCS's public material; `ppml serve
 *   diag-css` and `ppml diagnose outsource` refuse material without it unless told
 *   (--no-circuit-private), so CCS cannot switch it off by publishing other material.
 *
 * Messages (each framed with the serial.h header; BFV-bearing messages carry the BFV
 * key id (hash of CCS's BFV public key), Paillier-bearing ones the user key id):
 *   REQUEST  user->CSS: u32 d | u32 kind (0 Paillier, 1 BFV) | u32 len | user pk | u32 len | ct
 *   BLINDED  CSS->CCS:  u32 K | u32 P | u32 D | u32 nct | u32 mode (0 block sums, 1 slot p*D)
 *                       | u32 kind | u32 len | user pk | [BFV: u32 len | E_U(sigma)]
 *                       | nct x (u32 len | ct)
 *   ONEHOT   CCS->CSS:  Paillier: u32 K | K ciphertexts (mpz); BFV: u32 len | ct
 *   RESULT   CSS->user: Paillier: one ciphertext (mpz); BFV: u32 len | ct
 * (headers of user-key messages carry the user key's id: Paillier id or BLAKE2b of its BFV
 * public key). */
#include "ppml/diagnosis.h"
#include "ppml/bfv.h"
#include "ppml/fixed.h"
#include "ppml/rand.h"
#include "ppml/serial.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CT_MAX_BYTES ((size_t)64 << 20)
#define PK_MAX_BYTES ((size_t)1 << 16)
#define USER_CACHE 8
/* Smallest ring degree whose budget after the product leaves room to flood the noise
 * (circuit_private): see the limitation note above and test_diagnosis. */
#define DIAG_FLOOD_MIN_N 16384

void ppml_diag_config_default(ppml_diag_config *c)
{
    memset(c, 0, sizeof *c);
    ppml_diag_config_circuit_private(c, 1);
    c->t_bits = 40;
    c->paillier_bits = 2048;
    c->frac_w = 8;
    c->frac_x = 8;
    c->x_max = 16.0;
}

static int config_check(const ppml_diag_config *c)
{
    if (!c || c->frac_w > 24 || c->frac_x > 24 || !(c->x_max > 0) || c->x_max > 1024 ||
        c->t_bits < 20 || c->t_bits > 60)
        return PPML_EINVAL;
    if (!c->insecure_for_tests && (c->paillier_bits < PPML_PAILLIER_MIN_BITS || c->prime_bits))
        return PPML_EWEAK;
    if (c->paillier_bits < PPML_PAILLIER_TEST_MIN_BITS || c->paillier_bits > PPML_PAILLIER_MAX_BITS)
        return PPML_EINVAL;
    if (c->circuit_private && !c->insecure_for_tests && c->bfv_n < DIAG_FLOOD_MIN_N)
        return PPML_EWEAK;
    return PPML_OK;
}

void ppml_diag_config_circuit_private(ppml_diag_config *c, int on)
{
    c->circuit_private = on != 0;
    c->bfv_n = on ? 16384 : 8192;
}

static size_t next_pow2(size_t v)
{
    size_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

/* ---------------------------------------------------------------- model (plaintext) */

void ppml_diag_model_init(ppml_diag_model *m)
{
    memset(m, 0, sizeof *m);
}

void ppml_diag_model_clear(ppml_diag_model *m)
{
    if (!m)
        return;
    if (m->w)
        sodium_memzero(m->w, m->n_classes * m->dim * sizeof *m->w);
    free(m->w);
    memset(m, 0, sizeof *m);
}

/* round(v / 2^s), ties away from zero */
static int64_t shift_round(int64_t v, unsigned s)
{
    if (s == 0)
        return v;
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t r = (a + ((uint64_t)1 << (s - 1))) >> s;
    return v < 0 ? -(int64_t)r : (int64_t)r;
}

int ppml_diag_model_from_fx(ppml_diag_model *out, const ppml_svm_ref_fx_model *fx, unsigned frac_w)
{
    if (!out || !fx || !fx->w || fx->dim < 2 || fx->dim > PPML_DIAG_MAX_DIM ||
        frac_w > fx->frac_bits || fx->n_classes < 2 || fx->n_classes > PPML_DIAG_MAX_CLASSES)
        return PPML_EINVAL;
    size_t K = fx->n_classes;
    if (!(fx->n_out == K || (K == 2 && fx->n_out == 1)))
        return PPML_EINVAL;
    int64_t *w = calloc(K * fx->dim, sizeof *w);
    if (!w)
        return PPML_ENOMEM;
    unsigned s = fx->frac_bits - frac_w;
    if (fx->n_out == 1) {
        for (size_t j = 0; j < fx->dim; j++)
            w[fx->dim + j] = shift_round(fx->w[j], s);
    } else {
        for (size_t i = 0; i < K * fx->dim; i++)
            w[i] = shift_round(fx->w[i], s);
    }
    ppml_diag_model_clear(out);
    out->n_classes = K;
    out->dim = fx->dim;
    out->frac_w = frac_w;
    out->w = w;
    return PPML_OK;
}

int ppml_diag_encode_x(int64_t *X, size_t dim, const double *x, size_t d, const ppml_diag_config *c)
{
    if (!X || !x || !c || dim != d + 1)
        return PPML_EINVAL;
    for (size_t j = 0; j < d; j++)
        if (!isfinite(x[j]))
            return PPML_ERANGE;
    for (size_t j = 0; j < d; j++) {
        double v = x[j] > c->x_max ? c->x_max : x[j] < -c->x_max ? -c->x_max : x[j];
        int e = ppml_fixed_encode(&X[j], v, c->frac_x);
        if (e)
            return e;
    }
    X[d] = (int64_t)1 << c->frac_x;
    return PPML_OK;
}

int ppml_diag_model_plain_scores(int64_t *scores, uint32_t *best, size_t *n_best,
                                 const ppml_diag_model *m, const int64_t *X)
{
    if (!m || !m->w || !X)
        return PPML_EINVAL;
    int64_t top = 0;
    uint32_t arg = 0;
    size_t ties = 0;
    for (size_t k = 0; k < m->n_classes; k++) {
        int64_t v = 0, prod;
        for (size_t j = 0; j < m->dim; j++)
            if (__builtin_mul_overflow(m->w[k * m->dim + j], X[j], &prod) ||
                __builtin_add_overflow(v, prod, &v))
                return PPML_EOVERFLOW;
        if (scores)
            scores[k] = v;
        if (k == 0 || v > top) {
            top = v;
            arg = (uint32_t)k;
            ties = 1;
        } else if (v == top) {
            ties++;
        }
    }
    if (best)
        *best = arg;
    if (n_best)
        *n_best = ties;
    return PPML_OK;
}

/* ---------------------------------------------------------------- shared helpers */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The users' own BFV parameters (result under the user's key, the default): n = 2048,
 * Q = 36 bits in two 18-bit primes (+ an 18-bit special prime; log QP = 53 <= 54, the
 * 128-bit bound at n = 2048), t = 61441 (16 bits). Only additions, one multiplication by a
 * monomial and decryption happen under this key: the noise budget left is about 8 bits. */
static const unsigned user_bfv_bits[] = {18, 18, 18};
#define USER_BFV_N 2048
#define USER_BFV_T_BITS 16

static int make_user_params(ppml_bfv_params **p)
{
    return ppml_bfv_params_from_bits(p, USER_BFV_N, user_bfv_bits, 3, USER_BFV_T_BITS, 0);
}

/* circuit_private at n = 16384: five 48-bit data primes and a 49-bit special prime (289
 * bits, far inside the 438-bit bound). Fewer primes than the default chain make the product
 * cheaper and its noise smaller (the key-switching noise grows with Q/P): the budget left
 * unflooded is about 89 bits, against the 56 the flood needs (test_diagnosis measures it). */
static const unsigned flood_bits_16384[] = {48, 48, 48, 48, 48, 49};

static int make_params(ppml_bfv_params **p, const ppml_diag_config *c)
{
    if (c->prime_bits)
        return ppml_bfv_params_from_bits(p, c->bfv_n, c->prime_bits, c->prime_count, c->t_bits, 1);
    if (c->circuit_private && c->bfv_n == 16384)
        return ppml_bfv_params_from_bits(p, c->bfv_n, flood_bits_16384,
                                         sizeof flood_bits_16384 / sizeof *flood_bits_16384,
                                         c->t_bits, 0);
    return ppml_bfv_params_default(p, c->bfv_n, c->t_bits);
}

/* Id of CCS's BFV key set: BLAKE2b-256 of its serialized public key. Carried in the header of
 * every BFV-bearing message, so a request or model made for another key set (even with the
 * same parameters) is refused with PPML_EMISMATCH. */
static int bfv_key_id(uint8_t id[32], const ppml_bfv_pk *pk)
{
    uint8_t *b;
    size_t len;
    int e = ppml_bfv_pk_save(pk, &b, &len);
    if (e)
        return e;
    ppml_hash256(id, b, len);
    free(b);
    return PPML_OK;
}

static void write_blob(ppml_writer *w, const uint8_t *b, size_t len)
{
    ppml_write_u32(w, (uint32_t)len);
    ppml_write_bytes(w, b, len);
}

static int read_blob(ppml_reader *r, const uint8_t **b, size_t *len, size_t max)
{
    uint32_t l;
    int e = ppml_read_u32(r, &l);
    if (e)
        return e;
    if (l > max || l > ppml_reader_left(r))
        return PPML_EFORMAT;
    *len = l;
    return ppml_read_view(r, b, l);
}

static int write_ct(ppml_writer *w, const ppml_bfv_ct *ct)
{
    uint8_t *buf;
    size_t len;
    int e = ppml_bfv_ct_save(ct, &buf, &len);
    if (e)
        return e;
    write_blob(w, buf, len);
    free(buf);
    return PPML_OK;
}

static int finish_writer(ppml_writer *w, uint8_t **out, size_t *out_len)
{
    int e = ppml_writer_finish(w, 0);
    if (!e)
        e = ppml_writer_take(w, out, out_len);
    if (e)
        ppml_writer_clear(w);
    return e;
}

static int load_user_pk(ppml_paillier_pk **pk, ppml_reader *r, unsigned bits)
{
    const uint8_t *b;
    size_t len;
    int e = read_blob(r, &b, &len, PK_MAX_BYTES);
    if (e)
        return e;
    ppml_paillier_pk *k = NULL;
    e = ppml_paillier_pk_load(&k, b, len);
    if (e)
        return e;
    if (ppml_paillier_pk_bits(k) != bits) {
        ppml_paillier_pk_free(k);
        return PPML_EWEAK; /* a key of the wrong size is refused */
    }
    *pk = k;
    return PPML_OK;
}

/* ---------------------------------------------------------------- CCS */

/* A user key seen by a server: its DJN table is built once and cached with it, and a pool
 * of fresh encryptions of 0 under it (made offline, each used once). */
struct user_entry {
    ppml_paillier_pk *pk;
    mpz_t *zeros;
    size_t nzeros;
};

struct ppml_diag_ccs {
    ppml_diag_config cfg;
    ppml_bfv_params *params;
    ppml_bfv_sk *sk;
    ppml_bfv_pk *pk;
    ppml_bfv_rlk *rlk;
    ppml_bfv_galk *gk;
    uint8_t key_id[32];
    ppml_bfv_params *uparams; /* users' BFV parameters (result under the user's BFV key) */
    struct user_entry users[USER_CACHE];
    size_t next_user;
    ppml_diag_view_fn view;
    void *view_ctx;
    int last_budget;
    int probe_budget; /* TEST ONLY: measure last_budget (GMP, not constant time) */
};

static void user_entry_clear(struct user_entry *u)
{
    for (size_t i = 0; i < u->nzeros; i++)
        mpz_clear(u->zeros[i]);
    free(u->zeros);
    ppml_paillier_pk_free(u->pk);
    memset(u, 0, sizeof *u);
}

void ppml_diag_ccs_free(ppml_diag_ccs *ccs)
{
    if (!ccs)
        return;
    for (size_t i = 0; i < USER_CACHE; i++)
        user_entry_clear(&ccs->users[i]);
    ppml_bfv_galk_free(ccs->gk);
    ppml_bfv_rlk_free(ccs->rlk);
    ppml_bfv_pk_free(ccs->pk);
    ppml_bfv_sk_free(ccs->sk);
    ppml_bfv_params_free(ccs->params);
    ppml_bfv_params_free(ccs->uparams);
    free(ccs);
}

int ppml_diag_ccs_new(ppml_diag_ccs **out, const ppml_diag_config *c)
{
    if (!out)
        return PPML_EINVAL;
    int e = config_check(c);
    if (e)
        return e;
    ppml_diag_ccs *s = calloc(1, sizeof *s);
    if (!s)
        return PPML_ENOMEM;
    s->cfg = *c;
    s->cfg.prime_bits = NULL; /* not kept */
    s->last_budget = -1;
    e = make_params(&s->params, c);
    if (!e)
        e = ppml_bfv_keygen(s->params, &s->sk, &s->pk);
    if (!e)
        e = ppml_bfv_relin_keygen(s->sk, &s->rlk);
    if (!e && c->css_rotations) {
        /* steps 1, 2, ..., up to n/4: enough for any block size D <= n/2 */
        int steps[16];
        size_t ns = 0, half = ppml_bfv_slot_count(s->params) / 2;
        for (size_t st = 1; st < half && ns < 16; st <<= 1)
            steps[ns++] = (int)st;
        e = ppml_bfv_galois_keygen(s->sk, &s->gk, steps, ns, 0);
    }
    if (!e)
        e = bfv_key_id(s->key_id, s->pk);
    if (!e && !c->result_paillier)
        e = make_user_params(&s->uparams);
    if (e) {
        ppml_diag_ccs_free(s);
        return e;
    }
    *out = s;
    return PPML_OK;
}

void ppml_diag_ccs_set_view_hook(ppml_diag_ccs *ccs, ppml_diag_view_fn fn, void *ctx)
{
    ccs->view = fn;
    ccs->view_ctx = ctx;
}

int ppml_diag_ccs_last_budget(const ppml_diag_ccs *ccs)
{
    return ccs->last_budget;
}

void ppml_diag_ccs_probe_budget(ppml_diag_ccs *ccs, int on)
{
    ccs->probe_budget = on != 0;
    ccs->last_budget = -1;
}

/* ---------------------------------------------------------------- CCS persistence */

const ppml_diag_config *ppml_diag_ccs_config(const ppml_diag_ccs *ccs)
{
    return ccs ? &ccs->cfg : NULL;
}

/* Largest serialized key object accepted inside CCS files (Galois keys at n = 32768). */
#define DIAG_MAX_KEY_BLOB ((size_t)1 << 30)

static int ccs_write_public(ppml_writer *w, const ppml_diag_ccs *ccs)
{
    const ppml_diag_config *c = &ccs->cfg;
    uint64_t xm;
    memcpy(&xm, &c->x_max, sizeof xm);
    ppml_write_header(w, PPML_T_DIAG_CCS_PUBLIC, 0, ccs->key_id);
    ppml_write_u32(w, (uint32_t)c->bfv_n);
    ppml_write_u32(w, c->t_bits);
    ppml_write_u32(w, c->paillier_bits);
    ppml_write_u32(w, c->frac_w);
    ppml_write_u32(w, c->frac_x);
    ppml_write_u64(w, xm);
    ppml_write_u8(w, (uint8_t)(c->insecure_for_tests != 0));
    ppml_write_u8(w, (uint8_t)(c->result_paillier != 0));
    ppml_write_u8(w, (uint8_t)(c->css_rotations != 0));
    ppml_write_u8(w, (uint8_t)(c->circuit_private != 0));
    int e = PPML_OK;
    for (int k = 0; k < 4 && !e; k++) {
        uint8_t *b = NULL;
        size_t len = 0;
        if (k == 0)
            e = ppml_bfv_params_save(ccs->params, &b, &len);
        else if (k == 1)
            e = ppml_bfv_pk_save(ccs->pk, &b, &len);
        else if (k == 2)
            e = ppml_bfv_rlk_save(ccs->rlk, &b, &len);
        else if (ccs->gk)
            e = ppml_bfv_galk_save(ccs->gk, &b, &len);
        else
            break;
        if (!e)
            write_blob(w, b, len);
        free(b);
    }
    return e;
}

int ppml_diag_ccs_save_public(const ppml_diag_ccs *ccs, uint8_t **out, size_t *out_len)
{
    if (!ccs || !out || !out_len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    int e = ccs_write_public(&w, ccs);
    if (e) {
        ppml_writer_clear(&w);
        return e;
    }
    return finish_writer(&w, out, out_len);
}

/* Parses a public-material object (a whole buffer) into a new public-only CCS. */
static int ccs_read_public(ppml_diag_ccs **out, const uint8_t *in, size_t in_len,
                           int allow_insecure)
{
    ppml_reader r;
    ppml_reader_init(&r, in, in_len);
    ppml_header h;
    int e = ppml_read_header(&r, &h, PPML_T_DIAG_CCS_PUBLIC, NULL);
    if (e)
        return e;
    uint32_t n, tb, pb, fw, fx;
    uint64_t xm;
    uint8_t insecure, rp, rot, flood;
    if ((e = ppml_read_u32(&r, &n)) || (e = ppml_read_u32(&r, &tb)) ||
        (e = ppml_read_u32(&r, &pb)) || (e = ppml_read_u32(&r, &fw)) ||
        (e = ppml_read_u32(&r, &fx)) || (e = ppml_read_u64(&r, &xm)) ||
        (e = ppml_read_u8(&r, &insecure)) || (e = ppml_read_u8(&r, &rp)) ||
        (e = ppml_read_u8(&r, &rot)) || (e = ppml_read_u8(&r, &flood)))
        return e;
    if (insecure > 1 || rp > 1 || rot > 1 || flood > 1 || h.flags != 0)
        return PPML_EFORMAT;
    if (insecure && !allow_insecure)
        return PPML_EWEAK;
    ppml_diag_config c;
    ppml_diag_config_default(&c);
    c.bfv_n = n;
    c.t_bits = tb;
    c.paillier_bits = pb;
    c.frac_w = fw;
    c.frac_x = fx;
    memcpy(&c.x_max, &xm, sizeof c.x_max);
    c.insecure_for_tests = insecure;
    c.result_paillier = rp;
    c.css_rotations = rot;
    c.circuit_private = flood;
    c.prime_bits = NULL;
    c.prime_count = 0;
    if (!isfinite(c.x_max) || (e = config_check(&c)))
        return e ? e : PPML_EFORMAT;
    ppml_diag_ccs *s = calloc(1, sizeof *s);
    if (!s)
        return PPML_ENOMEM;
    s->cfg = c;
    s->last_budget = -1;
    const uint8_t *b;
    size_t len;
    e = read_blob(&r, &b, &len, DIAG_MAX_KEY_BLOB);
    if (!e)
        e = ppml_bfv_params_load(&s->params, b, len);
    if (!e && (ppml_bfv_params_n(s->params) != n ||
               (ppml_bfv_params_is_insecure(s->params) && !insecure)))
        e = PPML_EFORMAT;
    if (!e && !(e = read_blob(&r, &b, &len, DIAG_MAX_KEY_BLOB)))
        e = ppml_bfv_pk_load(s->params, &s->pk, b, len);
    if (!e && !(e = read_blob(&r, &b, &len, DIAG_MAX_KEY_BLOB)))
        e = ppml_bfv_rlk_load(s->params, &s->rlk, b, len);
    if (!e && rot && !(e = read_blob(&r, &b, &len, DIAG_MAX_KEY_BLOB)))
        e = ppml_bfv_galk_load(s->params, &s->gk, b, len);
    if (!e)
        e = ppml_reader_done(&r);
    if (!e)
        e = bfv_key_id(s->key_id, s->pk);
    if (!e && sodium_memcmp(s->key_id, h.param_id, sizeof s->key_id))
        e = PPML_EMISMATCH;
    if (!e && !rp)
        e = make_user_params(&s->uparams);
    if (e) {
        ppml_diag_ccs_free(s);
        return e;
    }
    *out = s;
    return PPML_OK;
}

int ppml_diag_ccs_load_public(ppml_diag_ccs **out, const uint8_t *in, size_t in_len,
                              int allow_insecure)
{
    if (!out || (!in && in_len))
        return PPML_EINVAL;
    return ccs_read_public(out, in, in_len, allow_insecure);
}

int ppml_diag_ccs_save_secret(const ppml_diag_ccs *ccs, uint8_t **out, size_t *out_len)
{
    if (!ccs || !ccs->sk || !out || !out_len)
        return PPML_EINVAL;
    uint8_t *pub = NULL, *sk = NULL;
    size_t pub_len = 0, sk_len = 0;
    int e = ppml_diag_ccs_save_public(ccs, &pub, &pub_len);
    if (!e)
        e = ppml_bfv_sk_save(ccs->sk, &sk, &sk_len);
    ppml_writer w;
    ppml_writer_init(&w);
    if (!e) {
        ppml_write_header(&w, PPML_T_DIAG_CCS_SECRET, 0, ccs->key_id);
        write_blob(&w, pub, pub_len);
        write_blob(&w, sk, sk_len);
        e = finish_writer(&w, out, out_len);
    } else {
        ppml_writer_clear(&w);
    }
    if (sk)
        sodium_memzero(sk, sk_len);
    free(sk);
    free(pub);
    return e;
}

/* PPML_OK iff sk decrypts what pk encrypts (a random slot vector). */
static int ccs_check_keypair(const ppml_diag_ccs *s)
{
    size_t n = ppml_bfv_slot_count(s->params);
    int64_t *v = calloc(2 * n, sizeof *v);
    ppml_bfv_pt *pt = NULL;
    ppml_bfv_ct *ct = NULL;
    int e = !v ? PPML_ENOMEM : ppml_bfv_pt_new(s->params, &pt);
    if (!e)
        e = ppml_bfv_ct_new(s->params, &ct);
    for (size_t i = 0; !e && i < n; i++)
        v[i] = (int64_t)(ppml_rand_u64() & 0xffff);
    if (!e && !(e = ppml_bfv_encode_i64(pt, v, n)) && !(e = ppml_bfv_encrypt(s->pk, ct, pt)) &&
        !(e = ppml_bfv_decrypt(s->sk, pt, ct)) && !(e = ppml_bfv_decode_i64(pt, v + n, n)) &&
        memcmp(v, v + n, n * sizeof *v))
        e = PPML_EMISMATCH;
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ct);
    if (v)
        sodium_memzero(v, 2 * n * sizeof *v);
    free(v);
    return e;
}

int ppml_diag_ccs_load_secret(ppml_diag_ccs **out, const uint8_t *in, size_t in_len,
                              int allow_insecure)
{
    if (!out || (!in && in_len))
        return PPML_EINVAL;
    ppml_reader r;
    ppml_reader_init(&r, in, in_len);
    ppml_header h;
    int e = ppml_read_header(&r, &h, PPML_T_DIAG_CCS_SECRET, NULL);
    if (e)
        return e;
    if (h.flags != 0)
        return PPML_EFORMAT;
    const uint8_t *pub, *skb;
    size_t pub_len, sk_len;
    if ((e = read_blob(&r, &pub, &pub_len, DIAG_MAX_KEY_BLOB * 4)) ||
        (e = read_blob(&r, &skb, &sk_len, DIAG_MAX_KEY_BLOB)) || (e = ppml_reader_done(&r)))
        return e;
    ppml_diag_ccs *s = NULL;
    if ((e = ccs_read_public(&s, pub, pub_len, allow_insecure)))
        return e;
    if (sodium_memcmp(s->key_id, h.param_id, sizeof s->key_id))
        e = PPML_EMISMATCH;
    if (!e)
        e = ppml_bfv_sk_load(s->params, &s->sk, skb, sk_len);
    if (!e)
        e = ccs_check_keypair(s);
    if (e) {
        ppml_diag_ccs_free(s);
        return e;
    }
    *out = s;
    return PPML_OK;
}

/* The cache entry for *pk (taking ownership of *pk: freed if already cached). */
static struct user_entry *user_cache_get(struct user_entry *users, size_t *next,
                                         ppml_paillier_pk **pk)
{
    for (size_t i = 0; i < USER_CACHE; i++)
        if (users[i].pk && ppml_paillier_pk_equal(users[i].pk, *pk)) {
            ppml_paillier_pk_free(*pk);
            *pk = NULL;
            return &users[i];
        }
    size_t slot = (*next)++ % USER_CACHE;
    user_entry_clear(&users[slot]);
    users[slot].pk = *pk;
    *pk = NULL;
    return &users[slot];
}

static struct user_entry *ccs_user_key(ppml_diag_ccs *ccs, ppml_paillier_pk **pk)
{
    return user_cache_get(ccs->users, &ccs->next_user, pk);
}

/* Adds count fresh encryptions of 0 to u's pool. */
static int user_entry_fill(struct user_entry *u, size_t add)
{
    if (u->nzeros + add > PPML_DIAG_MAX_POOL * PPML_DIAG_MAX_CLASSES)
        return PPML_EINVAL;
    mpz_t *z = realloc(u->zeros, (u->nzeros + add) * sizeof *z);
    if (!z)
        return PPML_ENOMEM;
    u->zeros = z;
    for (size_t i = 0; i < add; i++) {
        mpz_init(z[u->nzeros]);
        int e = ppml_paillier_encrypt_i64(u->pk, z[u->nzeros], 0);
        if (e) {
            mpz_clear(z[u->nzeros]);
            return e;
        }
        u->nzeros++;
    }
    return PPML_OK;
}

int ppml_diag_ccs_precompute(ppml_diag_ccs *ccs, const ppml_paillier_pk *upk, size_t queries,
                             size_t n_classes)
{
    if (!ccs || !upk || n_classes < 2 || n_classes > PPML_DIAG_MAX_CLASSES ||
        queries > PPML_DIAG_MAX_POOL)
        return PPML_EINVAL;
    if (ppml_paillier_pk_bits(upk) != ccs->cfg.paillier_bits)
        return PPML_EWEAK;
    ppml_paillier_pk *dup = NULL;
    int e = ppml_paillier_pk_dup(&dup, upk);
    if (e)
        return e;
    struct user_entry *u = ccs_user_key(ccs, &dup);
    return user_entry_fill(u, queries * n_classes);
}

/* Fresh encryption of 0 added to ct (re-randomisation under a user's BFV key). */
static int bfv_rerandomize(const ppml_bfv_pk *pk, ppml_bfv_ct *ct)
{
    const ppml_bfv_params *p = ppml_bfv_ct_params(ct);
    ppml_bfv_pt *zero = NULL;
    ppml_bfv_ct *z = NULL;
    int e = ppml_bfv_pt_new(p, &zero);
    if (!e)
        e = ppml_bfv_ct_new(p, &z);
    if (!e)
        e = ppml_bfv_encrypt(pk, z, zero);
    if (!e)
        e = ppml_bfv_add(ct, ct, z);
    ppml_bfv_pt_free(zero);
    ppml_bfv_ct_free(z);
    return e;
}

/* Result under the user's BFV key: CSS sent E_U(sum_j sigma[j] X^j) (coefficient encoding);
 * multiplying by the monomial X^-w = -X^(n-w) brings sigma[w] to coefficient 0 (noise
 * unchanged: a signed permutation of coefficients); uniform values are added to every other
 * coefficient (so the user learns sigma[w] only, not the rest of the permutation), and a
 * fresh encryption of 0 re-randomises it. */
static int ccs_bfv_result(ppml_diag_ccs *ccs, uint8_t **out, size_t *out_len,
                          const ppml_bfv_pk *upk, const ppml_bfv_ct *usig, uint32_t w)
{
    const ppml_bfv_params *p = ccs->uparams;
    size_t n = ppml_bfv_params_n(p);
    uint64_t t = ppml_bfv_params_t(p);
    uint64_t *c = calloc(n, sizeof *c);
    ppml_bfv_pt *pt = NULL;
    ppml_bfv_ct *res = NULL;
    int e = c ? ppml_bfv_pt_new(p, &pt) : PPML_ENOMEM;
    if (!e)
        e = ppml_bfv_ct_new(p, &res);
    if (!e) {
        if (w == 0)
            c[0] = 1;
        else
            c[n - w] = t - 1;
        e = ppml_bfv_pt_set_coeffs(pt, c, n);
    }
    if (!e)
        e = ppml_bfv_mul_plain(res, usig, pt);
    if (!e) {
        c[0] = 0;
        for (size_t i = 1; i < n; i++)
            c[i] = ppml_rand_below(t);
        e = ppml_bfv_pt_set_coeffs(pt, c, n);
    }
    if (!e)
        e = ppml_bfv_add_plain(res, res, pt);
    if (!e)
        e = bfv_rerandomize(upk, res);
    if (!e) {
        uint8_t id[32];
        e = bfv_key_id(id, upk);
        if (!e) {
            ppml_writer wr;
            ppml_writer_init(&wr);
            ppml_write_header(&wr, PPML_T_DIAG_ONEHOT, 1, id);
            e = write_ct(&wr, res);
            if (!e)
                e = finish_writer(&wr, out, out_len);
            else
                ppml_writer_clear(&wr);
        }
    }
    if (c)
        sodium_memzero(c, n * sizeof *c);
    free(c);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(res);
    return e;
}

int ppml_diag_ccs_answer(ppml_diag_ccs *ccs, uint8_t **out, size_t *out_len, const uint8_t *in,
                         size_t in_len)
{
    if (!ccs || !out || !out_len || (!in && in_len) || !ccs->sk)
        return PPML_EINVAL;
    ppml_reader r;
    ppml_reader_init(&r, in, in_len);
    ppml_header h;
    int e = ppml_read_header(&r, &h, PPML_T_DIAG_BLINDED, ccs->key_id);
    if (e)
        return e;
    uint32_t K, P, D, nct, mode;
    if ((e = ppml_read_u32(&r, &K)) || (e = ppml_read_u32(&r, &P)) || (e = ppml_read_u32(&r, &D)) ||
        (e = ppml_read_u32(&r, &nct)) || (e = ppml_read_u32(&r, &mode)))
        return e;
    size_t n = ppml_bfv_slot_count(ccs->params);
    if (mode > 1 || K < 2 || K > PPML_DIAG_MAX_CLASSES || P != K * (K - 1) / 2 || D < 2 || D > n / 2 ||
        (D & (D - 1)) || nct != (P + n / D - 1) / (n / D))
        return PPML_EPROTO;
    uint32_t kind;
    if ((e = ppml_read_u32(&r, &kind)))
        return e;
    if (kind != (ccs->cfg.result_paillier ? 0u : 1u))
        return PPML_EMISMATCH;
    ppml_paillier_pk *upk = NULL;
    ppml_bfv_pk *ubpk = NULL;
    ppml_bfv_ct *usig = NULL;
    if (kind == 0) {
        e = load_user_pk(&upk, &r, ccs->cfg.paillier_bits);
    } else {
        const uint8_t *b;
        size_t len;
        e = read_blob(&r, &b, &len, CT_MAX_BYTES);
        if (!e)
            e = ppml_bfv_pk_load(ccs->uparams, &ubpk, b, len);
        if (!e)
            e = read_blob(&r, &b, &len, CT_MAX_BYTES);
        if (!e)
            e = ppml_bfv_ct_load(ccs->uparams, &usig, b, len);
        if (!e && ppml_bfv_ct_size(usig) != 2)
            e = PPML_EPROTO;
    }
    if (e) {
        ppml_bfv_pk_free(ubpk);
        ppml_bfv_ct_free(usig);
        return e;
    }
    int64_t *slots = malloc(n * sizeof *slots);
    int64_t *z = malloc(P * sizeof *z);
    ppml_bfv_pt *pt = NULL;
    ppml_bfv_ct *ct = NULL;
    mpz_t *onehot = NULL;
    if (!slots || !z || (e = ppml_bfv_pt_new(ccs->params, &pt))) {
        e = e ? e : PPML_ENOMEM;
        goto done;
    }
    size_t per = n / D;
    for (uint32_t c = 0; c < nct; c++) {
        const uint8_t *b;
        size_t len;
        if ((e = read_blob(&r, &b, &len, CT_MAX_BYTES)))
            goto done;
        ppml_bfv_ct_free(ct);
        ct = NULL;
        if ((e = ppml_bfv_ct_load(ccs->params, &ct, b, len)))
            goto done;
        if (ppml_bfv_ct_size(ct) != 2) {
            e = PPML_EPROTO;
            goto done;
        }
        if ((e = ppml_bfv_decrypt(ccs->sk, pt, ct)) || (e = ppml_bfv_decode_i64(pt, slots, n)))
            goto done;
        if (ccs->probe_budget)
            (void)!ppml_bfv_noise_budget(ccs->sk, ct, &ccs->last_budget);
        size_t first = c * per, cnt = P - first < per ? P - first : per;
        uint64_t t = ppml_bfv_params_t(ccs->params);
        for (size_t i = 0; i < cnt; i++) {
            if (mode == 0) { /* block sum of zero-sum-masked slots */
                uint64_t acc = 0;
                for (size_t j = 0; j < D; j++) {
                    uint64_t v = (uint64_t)(slots[i * D + j] < 0 ? slots[i * D + j] + (int64_t)t
                                                                  : slots[i * D + j]);
                    acc = (acc + v) % t;
                }
                z[first + i] = ppml_fixed_centre_u64(acc, t);
            } else {
                z[first + i] = slots[i * D];
            }
        }
        if (ccs->view)
            ccs->view(ccs->view_ctx, slots, n, D, cnt, K, z + first, mode == 0);
    }
    if ((e = ppml_reader_done(&r)))
        goto done;
    /* winner: the position beating all others (a < b: a beats b iff z_ab > 0) */
    uint32_t wins[PPML_DIAG_MAX_CLASSES] = {0};
    size_t p = 0;
    for (uint32_t a = 0; a < K; a++)
        for (uint32_t bb = a + 1; bb < K; bb++, p++) {
            if (z[p] == 0) {
                e = PPML_EPROTO; /* never produced by an honest CSS */
                goto done;
            }
            wins[z[p] > 0 ? a : bb]++;
        }
    uint32_t winner = K;
    for (uint32_t a = 0; a < K; a++)
        if (wins[a] == K - 1)
            winner = a;
    if (winner == K) {
        e = PPML_EPROTO;
        goto done;
    }
    if (kind == 1) {
        e = ccs_bfv_result(ccs, out, out_len, ubpk, usig, winner);
        goto done;
    }
    struct user_entry *ue = ccs_user_key(ccs, &upk);
    const ppml_paillier_pk *key = ue->pk;
    onehot = malloc(K * sizeof *onehot);
    if (!onehot) {
        e = PPML_ENOMEM;
        goto done;
    }
    for (uint32_t j = 0; j < K; j++)
        mpz_init(onehot[j]);
    /* fresh encryptions of 0 (precomputed offline when available; each used once), and
     * E(1) = E(0) * (1 + N) at the winner */
    for (uint32_t j = 0; j < K && !e; j++) {
        if (ue->nzeros) {
            mpz_swap(onehot[j], ue->zeros[--ue->nzeros]);
            mpz_clear(ue->zeros[ue->nzeros]);
        } else {
            e = ppml_paillier_encrypt_i64(key, onehot[j], 0);
        }
    }
    if (!e) {
        mpz_t one;
        mpz_init_set_ui(one, 1);
        ppml_paillier_add_plain(key, onehot[winner], onehot[winner], one);
        mpz_clear(one);
    }
    if (!e) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_header(&w, PPML_T_DIAG_ONEHOT, 0, ppml_paillier_pk_id(key));
        ppml_write_u32(&w, K);
        for (uint32_t j = 0; j < K; j++)
            ppml_write_mpz(&w, onehot[j]);
        e = finish_writer(&w, out, out_len);
    }
    winner = 0;
    sodium_memzero(wins, sizeof wins);
done:
    if (onehot) {
        for (uint32_t j = 0; j < K; j++)
            mpz_clear(onehot[j]);
        free(onehot);
    }
    if (slots)
        sodium_memzero(slots, n * sizeof *slots);
    if (z)
        sodium_memzero(z, P * sizeof *z);
    free(slots);
    free(z);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ct);
    ppml_paillier_pk_free(upk);
    ppml_bfv_pk_free(ubpk);
    ppml_bfv_ct_free(usig);
    return e;
}

/* ---------------------------------------------------------------- DSP */

static uint64_t model_vbound(const ppml_diag_model *m, const ppml_diag_config *c)
{
    /* max |X_j|: features clipped to x_max (rounded up), bias 2^frac_x */
    double xq = ceil(c->x_max * ldexp(1.0, (int)c->frac_x));
    double best = 0;
    for (size_t k = 0; k < m->n_classes; k++) {
        double s = 0;
        for (size_t j = 0; j < m->dim; j++)
            s += fabs((double)m->w[k * m->dim + j]) * (j + 1 == m->dim ? ldexp(1.0, (int)c->frac_x) : xq);
        if (s > best)
            best = s;
    }
    return best >= 0x1p62 ? UINT64_MAX : (uint64_t)best + 1;
}

int ppml_diag_outsource(uint8_t **out, size_t *out_len, const ppml_diag_ccs *ccs,
                        const ppml_diag_model *m)
{
    if (!out || !out_len || !ccs || !m || !m->w || m->n_classes < 2 ||
        m->n_classes > PPML_DIAG_MAX_CLASSES || m->dim < 2 || m->dim > PPML_DIAG_MAX_DIM)
        return PPML_EINVAL;
    size_t n = ppml_bfv_slot_count(ccs->params), D = next_pow2(m->dim);
    if (D > n / 2)
        return PPML_ERANGE;
    uint64_t vb = model_vbound(m, &ccs->cfg);
    uint64_t t = ppml_bfv_params_t(ccs->params);
    if (vb > (t - 1) / 16)
        return PPML_ERANGE; /* no room for blinding */
    int64_t *v = calloc(n, sizeof *v);
    ppml_bfv_pt *pt = NULL;
    ppml_bfv_ct *ct = NULL;
    int e = (!v) ? PPML_ENOMEM : ppml_bfv_pt_new(ccs->params, &pt);
    if (!e)
        e = ppml_bfv_ct_new(ccs->params, &ct);
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_DIAG_MODEL, 0, ccs->key_id);
    ppml_write_u32(&w, (uint32_t)m->n_classes);
    ppml_write_u32(&w, (uint32_t)m->dim);
    ppml_write_u64(&w, vb);
    for (size_t k = 0; k < m->n_classes && !e; k++) {
        for (size_t s = 0; s < n; s++)
            v[s] = (s % D) < m->dim ? m->w[k * m->dim + s % D] : 0;
        e = ppml_bfv_encode_i64(pt, v, n);
        if (!e)
            e = ppml_bfv_encrypt(ccs->pk, ct, pt);
        if (!e)
            e = write_ct(&w, ct);
    }
    if (!e)
        e = finish_writer(&w, out, out_len);
    else
        ppml_writer_clear(&w);
    if (v)
        sodium_memzero(v, n * sizeof *v);
    free(v);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ct);
    return e;
}

/* ---------------------------------------------------------------- CSS */

typedef struct blind_set blind_set;
static void blind_set_free(blind_set *b);

struct ppml_diag_css {
    ppml_diag_config cfg;
    ppml_bfv_params *params;
    ppml_bfv_pk *pk;
    ppml_bfv_rlk *rlk;
    ppml_bfv_galk *gk;
    uint8_t key_id[32];
    size_t K, dim, D, n;
    uint64_t vbound, rho_max;
    ppml_bfv_ct **model; /* K */
    struct blind_set *pool[PPML_DIAG_MAX_POOL];
    size_t npool;
    struct user_entry users[USER_CACHE]; /* for re-randomising results */
    ppml_bfv_params *uparams;
    size_t next_user;
    ppml_diag_perm_fn perm;
    void *perm_ctx;
};

struct ppml_diag_query {
    size_t K;
    uint32_t sigma[PPML_DIAG_MAX_CLASSES];
    ppml_paillier_pk *upk; /* result under the user's Paillier key, or */
    ppml_bfv_pk *ubpk;     /* under the user's BFV key */
};

void ppml_diag_query_free(ppml_diag_query *q)
{
    if (!q)
        return;
    ppml_paillier_pk_free(q->upk);
    ppml_bfv_pk_free(q->ubpk);
    sodium_memzero(q, sizeof *q);
    free(q);
}

void ppml_diag_css_free(ppml_diag_css *css)
{
    if (!css)
        return;
    for (size_t i = 0; i < css->npool; i++)
        blind_set_free(css->pool[i]);
    for (size_t i = 0; i < USER_CACHE; i++)
        user_entry_clear(&css->users[i]);
    ppml_bfv_params_free(css->uparams);
    if (css->model)
        for (size_t k = 0; k < css->K; k++)
            ppml_bfv_ct_free(css->model[k]);
    free(css->model);
    ppml_bfv_galk_free(css->gk);
    ppml_bfv_rlk_free(css->rlk);
    ppml_bfv_pk_free(css->pk);
    ppml_bfv_params_free(css->params);
    free(css);
}

/* CSS gets its copies of CCS's public material through serialization (what a deployment
 * sends over the wire). */
static int copy_public(ppml_diag_css *s, const ppml_diag_ccs *ccs)
{
    uint8_t *b = NULL;
    size_t len;
    int e = ppml_bfv_params_save(ccs->params, &b, &len);
    if (!e)
        e = ppml_bfv_params_load(&s->params, b, len);
    free(b);
    b = NULL;
    if (!e && !(e = ppml_bfv_pk_save(ccs->pk, &b, &len)))
        e = ppml_bfv_pk_load(s->params, &s->pk, b, len);
    free(b);
    b = NULL;
    if (!e && !(e = ppml_bfv_rlk_save(ccs->rlk, &b, &len)))
        e = ppml_bfv_rlk_load(s->params, &s->rlk, b, len);
    free(b);
    b = NULL;
    if (!e && ccs->gk && !(e = ppml_bfv_galk_save(ccs->gk, &b, &len)))
        e = ppml_bfv_galk_load(s->params, &s->gk, b, len);
    free(b);
    if (!e)
        e = bfv_key_id(s->key_id, s->pk);
    return e;
}

int ppml_diag_css_new(ppml_diag_css **out, const ppml_diag_ccs *ccs, const uint8_t *model,
                      size_t model_len)
{
    if (!out || !ccs || (!model && model_len))
        return PPML_EINVAL;
    ppml_diag_css *s = calloc(1, sizeof *s);
    if (!s)
        return PPML_ENOMEM;
    s->cfg = ccs->cfg;
    int e = copy_public(s, ccs);
    if (!e && !s->cfg.result_paillier)
        e = make_user_params(&s->uparams);
    ppml_reader r;
    ppml_reader_init(&r, model, model_len);
    ppml_header h;
    uint32_t K = 0, dim = 0;
    if (!e)
        e = ppml_read_header(&r, &h, PPML_T_DIAG_MODEL, s->key_id);
    if (!e && !(e = ppml_read_u32(&r, &K)) && !(e = ppml_read_u32(&r, &dim)))
        e = ppml_read_u64(&r, &s->vbound);
    s->n = s->params ? ppml_bfv_slot_count(s->params) : 0;
    if (!e && (K < 2 || K > PPML_DIAG_MAX_CLASSES || dim < 2 || dim > PPML_DIAG_MAX_DIM ||
               next_pow2(dim) > s->n / 2))
        e = PPML_EFORMAT;
    if (!e) {
        s->K = K;
        s->dim = dim;
        s->D = next_pow2(dim);
        uint64_t t = ppml_bfv_params_t(s->params);
        /* rho (2 Dmax + 1) + rho' < rho (2 Dmax + 2) <= (t-1)/2, Dmax = 2 vbound */
        if (s->vbound == 0 || s->vbound > (t - 1) / 16)
            e = PPML_ERANGE;
        else
            s->rho_max = ((t - 1) / 2) / (4 * s->vbound + 2);
        if (!e && s->rho_max < 2)
            e = PPML_ERANGE;
    }
    if (!e) {
        s->model = calloc(K, sizeof *s->model);
        if (!s->model)
            e = PPML_ENOMEM;
    }
    for (size_t k = 0; k < s->K && !e; k++) {
        const uint8_t *b;
        size_t len;
        e = read_blob(&r, &b, &len, CT_MAX_BYTES);
        if (!e)
            e = ppml_bfv_ct_load(s->params, &s->model[k], b, len);
        if (!e && ppml_bfv_ct_size(s->model[k]) != 2)
            e = PPML_EFORMAT;
    }
    if (!e)
        e = ppml_reader_done(&r);
    if (e) {
        ppml_diag_css_free(s);
        return e;
    }
    *out = s;
    return PPML_OK;
}

void ppml_diag_css_set_perm_hook(ppml_diag_css *css, ppml_diag_perm_fn fn, void *ctx)
{
    css->perm = fn;
    css->perm_ctx = ctx;
}

int ppml_diag_css_set_flood(ppml_diag_css *css, int on)
{
    ppml_diag_config c = css->cfg;
    c.circuit_private = on != 0;
    int e = config_check(&c);
    if (!e)
        css->cfg.circuit_private = c.circuit_private;
    return e;
}

uint64_t ppml_diag_css_rho_max(const ppml_diag_css *css)
{
    return css->rho_max;
}

size_t ppml_diag_css_features(const ppml_diag_css *css)
{
    return css->dim - 1;
}

/* Query-independent part of CSS's work (it depends on sigma, rho, rho' and the model only,
 * never on the user's x): the blinded permuted model chunks and the mask plaintexts. Made
 * ahead of time by ppml_diag_css_precompute (offline) or on the spot; each set serves one
 * query and is then destroyed. */
struct blind_set {
    uint32_t sigma[PPML_DIAG_MAX_CLASSES];
    size_t nct;
    ppml_bfv_ct **m;    /* nct blinded permuted model chunks */
    ppml_bfv_pt **mask; /* nct mask plaintexts */
    ppml_bfv_ct **flood; /* circuit_private: nct encryptions of 0 with flooding noise */
};

static void blind_set_free(blind_set *b)
{
    if (!b)
        return;
    for (size_t c = 0; c < b->nct; c++) {
        if (b->m)
            ppml_bfv_ct_free(b->m[c]);
        if (b->mask)
            ppml_bfv_pt_free(b->mask[c]);
        if (b->flood)
            ppml_bfv_ct_free(b->flood[c]);
    }
    free(b->m);
    free(b->mask);
    free(b->flood);
    sodium_memzero(b, sizeof *b);
    free(b);
}

static int blind_set_make(ppml_diag_css *css, blind_set **out)
{
    size_t K = css->K, n = css->n, D = css->D, per = n / D;
    size_t P = K * (K - 1) / 2, nct = (P + per - 1) / per;
    uint64_t t = ppml_bfv_params_t(css->params);
    blind_set *bs = calloc(1, sizeof *bs);
    uint64_t *sel = malloc(n * sizeof *sel);
    uint64_t *mask = malloc(n * sizeof *mask);
    uint64_t *rho = malloc(P * sizeof *rho), *rho2 = malloc(P * sizeof *rho2);
    ppml_bfv_pt *pt = NULL;
    ppml_bfv_ct *tmp = NULL;
    int e = PPML_OK;
    if (!bs || !sel || !mask || !rho || !rho2) {
        e = PPML_ENOMEM;
        goto done;
    }
    bs->nct = nct;
    bs->m = calloc(nct, sizeof *bs->m);
    bs->mask = calloc(nct, sizeof *bs->mask);
    if (css->cfg.circuit_private)
        bs->flood = calloc(nct, sizeof *bs->flood);
    if (!bs->m || !bs->mask || (css->cfg.circuit_private && !bs->flood)) {
        e = PPML_ENOMEM;
        goto done;
    }
    for (size_t c = 0; bs->flood && c < nct; c++)
        if ((e = ppml_bfv_ct_new(css->params, &bs->flood[c])) ||
            (e = ppml_bfv_encrypt_zero_flood(css->pk, bs->flood[c], ppml_bfv_flood_max_bits(css->params))))
            goto done;
    if ((e = ppml_bfv_pt_new(css->params, &pt)) || (e = ppml_bfv_ct_new(css->params, &tmp)))
        goto done;
    /* fresh uniform permutation (Fisher-Yates from the CSPRNG) and blinding factors */
    for (uint32_t i = 0; i < K; i++)
        bs->sigma[i] = i;
    for (size_t i = K - 1; i > 0; i--) {
        size_t j = (size_t)ppml_rand_below(i + 1);
        uint32_t sw = bs->sigma[i];
        bs->sigma[i] = bs->sigma[j];
        bs->sigma[j] = sw;
    }
    for (size_t p = 0; p < P; p++) {
        rho[p] = 1 + ppml_rand_below(css->rho_max);
        rho2[p] = ppml_rand_below(rho[p]);
    }
    uint32_t pa[PPML_DIAG_MAX_CLASSES * (PPML_DIAG_MAX_CLASSES - 1) / 2];
    uint32_t pb[PPML_DIAG_MAX_CLASSES * (PPML_DIAG_MAX_CLASSES - 1) / 2];
    {
        size_t p = 0;
        for (uint32_t a = 0; a < K; a++)
            for (uint32_t b = a + 1; b < K; b++, p++) {
                pa[p] = a;
                pb[p] = b;
            }
    }
    for (size_t c = 0; c < nct && !e; c++) {
        size_t first = c * per, cnt = P - first < per ? P - first : per;
        if ((e = ppml_bfv_ct_new(css->params, &bs->m[c])))
            goto done;
        /* M = sum_k E(w_k) (*) S_k: S_k = +-2 rho_p on the blocks of the pairs k is in */
        for (size_t k = 0; k < K && !e; k++) {
            memset(sel, 0, n * sizeof *sel);
            int used = 0;
            for (size_t i = 0; i < cnt; i++) {
                size_t p = first + i;
                uint64_t two_rho = (2 * rho[p]) % t;
                uint64_t val;
                if (bs->sigma[pa[p]] == k)
                    val = two_rho;
                else if (bs->sigma[pb[p]] == k)
                    val = two_rho ? t - two_rho : 0;
                else
                    continue;
                used = 1;
                for (size_t j = 0; j < css->dim; j++)
                    sel[i * D + j] = val;
            }
            if (!used)
                continue;
            e = ppml_bfv_encode_u64(pt, sel, n);
            if (!e)
                e = ppml_bfv_mul_plain(tmp, css->model[k], pt);
            if (!e)
                e = ppml_bfv_add(bs->m[c], bs->m[c], tmp);
        }
        if (e)
            goto done;
        /* rho + rho' at the pair slots, one-time pad elsewhere */
        for (size_t sl = 0; sl < n; sl++)
            mask[sl] = ppml_rand_below(t);
        for (size_t i = 0; i < cnt; i++) {
            uint64_t target = (rho[first + i] + rho2[first + i]) % t;
            if (css->cfg.css_rotations) {
                mask[i * D] = target; /* slot i*D holds the block sum after the rotations */
            } else {
                /* block masks summing to rho + rho': CCS sums the block; any D - 1 of the
                 * masked slots are uniform, so it learns only the sum z_p */
                uint64_t sum = 0;
                for (size_t j = 1; j < D; j++)
                    sum = (sum + mask[i * D + j]) % t;
                mask[i * D] = (target + t - sum) % t;
            }
        }
        if ((e = ppml_bfv_pt_new(css->params, &bs->mask[c])) ||
            (e = ppml_bfv_encode_u64(bs->mask[c], mask, n)))
            goto done;
    }
done:
    if (sel)
        sodium_memzero(sel, n * sizeof *sel);
    if (mask)
        sodium_memzero(mask, n * sizeof *mask);
    if (rho)
        sodium_memzero(rho, P * sizeof *rho);
    if (rho2)
        sodium_memzero(rho2, P * sizeof *rho2);
    free(sel);
    free(mask);
    free(rho);
    free(rho2);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(tmp);
    if (e) {
        blind_set_free(bs);
        return e;
    }
    *out = bs;
    return PPML_OK;
}

int ppml_diag_css_precompute(ppml_diag_css *css, size_t count)
{
    if (!css || count > PPML_DIAG_MAX_POOL - css->npool)
        return PPML_EINVAL;
    for (size_t i = 0; i < count; i++) {
        int e = blind_set_make(css, &css->pool[css->npool]);
        if (e)
            return e;
        css->npool++;
    }
    return PPML_OK;
}

int ppml_diag_css_precompute_user(ppml_diag_css *css, const ppml_paillier_pk *upk, size_t count)
{
    if (!css || !upk || count > PPML_DIAG_MAX_POOL)
        return PPML_EINVAL;
    if (ppml_paillier_pk_bits(upk) != css->cfg.paillier_bits)
        return PPML_EWEAK;
    ppml_paillier_pk *dup = NULL;
    int e = ppml_paillier_pk_dup(&dup, upk);
    if (e)
        return e;
    return user_entry_fill(user_cache_get(css->users, &css->next_user, &dup), count);
}

size_t ppml_diag_css_pool(const ppml_diag_css *css)
{
    return css->npool;
}

int ppml_diag_css_request(ppml_diag_css *css, ppml_diag_query **qout, uint8_t **out,
                          size_t *out_len, const uint8_t *req, size_t req_len)
{
    if (!css || !qout || !out || !out_len || (!req && req_len))
        return PPML_EINVAL;
    ppml_reader r;
    ppml_reader_init(&r, req, req_len);
    ppml_header h;
    int e = ppml_read_header(&r, &h, PPML_T_DIAG_REQUEST, css->key_id);
    if (e)
        return e;
    uint32_t d;
    if ((e = ppml_read_u32(&r, &d)))
        return e;
    if (d + 1 != css->dim)
        return PPML_EMISMATCH;
    uint32_t kind;
    if ((e = ppml_read_u32(&r, &kind)))
        return e;
    if (kind != (css->cfg.result_paillier ? 0u : 1u))
        return PPML_EMISMATCH; /* the service returns results under the other key type */
    ppml_paillier_pk *upk = NULL;
    ppml_bfv_pk *ubpk = NULL;
    const uint8_t *cb;
    size_t clen;
    ppml_bfv_ct *x = NULL;
    if (kind == 0) {
        e = load_user_pk(&upk, &r, css->cfg.paillier_bits);
    } else {
        e = read_blob(&r, &cb, &clen, CT_MAX_BYTES);
        if (!e)
            e = ppml_bfv_pk_load(css->uparams, &ubpk, cb, clen); /* wrong params refused */
    }
    if (!e && !(e = read_blob(&r, &cb, &clen, CT_MAX_BYTES)) &&
        !(e = ppml_bfv_ct_load(css->params, &x, cb, clen)))
        e = ppml_reader_done(&r);
    if (!e && ppml_bfv_ct_size(x) != 2)
        e = PPML_EPROTO;
    if (e) {
        ppml_paillier_pk_free(upk);
        ppml_bfv_pk_free(ubpk);
        ppml_bfv_ct_free(x);
        return e;
    }

    size_t K = css->K, D = css->D;
    size_t P = K * (K - 1) / 2;
    blind_set *bs = NULL;
    ppml_diag_query *q = calloc(1, sizeof *q);
    ppml_bfv_ct *tmp = NULL, *prod = NULL;
    ppml_writer w;
    ppml_writer_init(&w);
    if (!q) {
        e = PPML_ENOMEM;
        goto done;
    }
    if (css->npool) { /* take the oldest precomputed set */
        bs = css->pool[0];
        memmove(css->pool, css->pool + 1, (css->npool - 1) * sizeof *css->pool);
        css->pool[--css->npool] = NULL;
    } else if ((e = blind_set_make(css, &bs))) {
        goto done;
    }
    if ((e = ppml_bfv_ct_new(css->params, &tmp)) || (e = ppml_bfv_ct_new(css->params, &prod)))
        goto done;
    q->K = K;
    memcpy(q->sigma, bs->sigma, sizeof q->sigma);
    if (css->perm)
        css->perm(css->perm_ctx, q->sigma, K);
    ppml_write_header(&w, PPML_T_DIAG_BLINDED, 0, css->key_id);
    ppml_write_u32(&w, (uint32_t)K);
    ppml_write_u32(&w, (uint32_t)P);
    ppml_write_u32(&w, (uint32_t)D);
    ppml_write_u32(&w, (uint32_t)bs->nct);
    ppml_write_u32(&w, css->cfg.css_rotations ? 1u : 0u);
    ppml_write_u32(&w, kind);
    if (kind == 0) {
        uint8_t *pkb;
        size_t pkl;
        if ((e = ppml_paillier_pk_save(upk, &pkb, &pkl)))
            goto done;
        write_blob(&w, pkb, pkl);
        free(pkb);
    } else {
        /* the user's key and E_U(sum_j sigma[j] X^j) for CCS to pick sigma[winner] */
        uint8_t *pkb;
        size_t pkl;
        if ((e = ppml_bfv_pk_save(ubpk, &pkb, &pkl)))
            goto done;
        write_blob(&w, pkb, pkl);
        free(pkb);
        size_t un = ppml_bfv_params_n(css->uparams);
        uint64_t *c = calloc(un, sizeof *c);
        ppml_bfv_pt *sp = NULL;
        ppml_bfv_ct *sc = NULL;
        e = c ? ppml_bfv_pt_new(css->uparams, &sp) : PPML_ENOMEM;
        for (size_t j = 0; !e && j < K; j++)
            c[j] = bs->sigma[j];
        if (!e)
            e = ppml_bfv_pt_set_coeffs(sp, c, un);
        if (!e)
            e = ppml_bfv_ct_new(css->uparams, &sc);
        if (!e)
            e = ppml_bfv_encrypt(ubpk, sc, sp);
        if (!e)
            e = write_ct(&w, sc);
        if (c)
            sodium_memzero(c, un * sizeof *c);
        free(c);
        ppml_bfv_pt_free(sp);
        ppml_bfv_ct_free(sc);
        if (e)
            goto done;
    }
    for (size_t c = 0; c < bs->nct; c++) {
        /* one ciphertext multiplication, then (css_rotations) log2(D) rotations-and-adds */
        if ((e = ppml_bfv_mul_relin(css->rlk, prod, bs->m[c], x)))
            goto done;
        for (size_t st = 1; css->cfg.css_rotations && st < D; st <<= 1) {
            if ((e = ppml_bfv_rotate_rows(css->gk, tmp, prod, (int)st)) ||
                (e = ppml_bfv_add(prod, prod, tmp)))
                goto done;
        }
        if ((e = ppml_bfv_add_plain(prod, prod, bs->mask[c])))
            goto done;
        if (css->cfg.circuit_private) /* made offline with the blinding set, or now */
            e = bs->flood ? ppml_bfv_add(prod, prod, bs->flood[c])
                          : ppml_bfv_flood(css->pk, prod, ppml_bfv_flood_max_bits(css->params));
        if (e)
            goto done;
        if ((e = write_ct(&w, prod)))
            goto done;
    }
    e = finish_writer(&w, out, out_len);
done:
    if (e) {
        ppml_writer_clear(&w);
        ppml_diag_query_free(q);
        q = NULL;
    }
    blind_set_free(bs);
    ppml_bfv_ct_free(tmp);
    ppml_bfv_ct_free(prod);
    ppml_bfv_ct_free(x);
    if (!e) {
        q->upk = upk;
        q->ubpk = ubpk;
        *qout = q;
    } else {
        ppml_paillier_pk_free(upk);
        ppml_bfv_pk_free(ubpk);
    }
    return e;
}

/* BFV result: check, re-randomise, forward. */
static int css_finish_bfv(ppml_diag_query *q, uint8_t **out, size_t *out_len, const uint8_t *in,
                          size_t in_len)
{
    uint8_t id[32];
    int e = bfv_key_id(id, q->ubpk);
    if (e)
        return e;
    ppml_reader r;
    ppml_reader_init(&r, in, in_len);
    ppml_header h;
    if ((e = ppml_read_header(&r, &h, PPML_T_DIAG_ONEHOT, id)))
        return e;
    const uint8_t *b;
    size_t len;
    ppml_bfv_ct *ct = NULL;
    const ppml_bfv_params *up = ppml_bfv_pk_params(q->ubpk);
    if (!(e = read_blob(&r, &b, &len, CT_MAX_BYTES)) && !(e = ppml_bfv_ct_load(up, &ct, b, len)) &&
        !(e = ppml_reader_done(&r)))
        e = ppml_bfv_ct_size(ct) == 2 ? PPML_OK : PPML_EPROTO;
    if (!e)
        e = bfv_rerandomize(q->ubpk, ct);
    if (!e) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_header(&w, PPML_T_DIAG_RESULT, 1, id);
        e = write_ct(&w, ct);
        if (!e)
            e = finish_writer(&w, out, out_len);
        else
            ppml_writer_clear(&w);
    }
    ppml_bfv_ct_free(ct);
    return e;
}

int ppml_diag_css_finish(ppml_diag_css *css, ppml_diag_query *q, uint8_t **out, size_t *out_len,
                         const uint8_t *in, size_t in_len)
{
    if (!css || !q || !out || !out_len || (!in && in_len))
        return PPML_EINVAL;
    if (q->ubpk)
        return css_finish_bfv(q, out, out_len, in, in_len);
    ppml_reader r;
    ppml_reader_init(&r, in, in_len);
    ppml_header h;
    int e = ppml_read_header(&r, &h, PPML_T_DIAG_ONEHOT, ppml_paillier_pk_id(q->upk));
    if (e)
        return e;
    uint32_t K;
    if ((e = ppml_read_u32(&r, &K)))
        return e;
    if (K != q->K)
        return PPML_EPROTO;
    size_t maxb = (ppml_paillier_pk_bits(q->upk) + 7) / 4 + 1;
    mpz_t acc, c, tmp;
    mpz_inits(acc, c, tmp, NULL);
    mpz_set_ui(acc, 1);
    for (uint32_t j = 0; j < K && !e; j++) {
        e = ppml_read_mpz(&r, c, maxb);
        if (!e)
            e = ppml_paillier_ct_check(q->upk, c);
        if (!e && q->sigma[j] != 0) {
            /* E(e_j)^sigma[j]: position j carries class sigma[j] */
            ppml_paillier_mul_i64(q->upk, tmp, c, (int64_t)q->sigma[j]);
            ppml_paillier_add(q->upk, acc, acc, tmp);
        }
    }
    if (!e)
        e = ppml_reader_done(&r);
    if (!e) {
        /* re-randomise in every case (acc = 1 when the winner sits at the position of
         * class 0): multiply by a fresh encryption of 0, precomputed when available */
        ppml_paillier_pk *dup = NULL;
        e = ppml_paillier_pk_dup(&dup, q->upk);
        if (!e) {
            struct user_entry *ue = user_cache_get(css->users, &css->next_user, &dup);
            if (ue->nzeros) {
                ppml_paillier_add(ue->pk, acc, acc, ue->zeros[ue->nzeros - 1]);
                mpz_clear(ue->zeros[--ue->nzeros]);
            } else {
                ppml_paillier_rerandomize(ue->pk, acc, acc);
            }
        }
    }
    if (!e) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_header(&w, PPML_T_DIAG_RESULT, 0, ppml_paillier_pk_id(q->upk));
        ppml_write_mpz(&w, acc);
        e = finish_writer(&w, out, out_len);
    }
    mpz_clears(acc, c, tmp, NULL);
    return e;
}

/* ---------------------------------------------------------------- user */

struct ppml_diag_user {
    ppml_diag_config cfg;
    ppml_bfv_params *params;
    ppml_bfv_pk *pk;
    uint8_t key_id[32];
    const ppml_paillier_sk *sk; /* result under the user's Paillier key, or */
    ppml_bfv_params *uparams;   /* under its own BFV key (default) */
    ppml_bfv_sk *usk;
    ppml_bfv_pk *upk;
    uint8_t *pk_bytes; /* the user's public key as sent */
    size_t pk_len;
    size_t d, D, n;
    ppml_bfv_ct *zeros[PPML_DIAG_MAX_POOL]; /* precomputed encryptions of 0 (offline) */
    size_t nzeros;
};

void ppml_diag_user_free(ppml_diag_user *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->nzeros; i++)
        ppml_bfv_ct_free(u->zeros[i]);
    ppml_bfv_sk_free(u->usk);
    ppml_bfv_pk_free(u->upk);
    ppml_bfv_params_free(u->uparams);
    ppml_bfv_pk_free(u->pk);
    ppml_bfv_params_free(u->params);
    free(u->pk_bytes);
    free(u);
}

int ppml_diag_user_new(ppml_diag_user **out, const ppml_diag_ccs *ccs, size_t d,
                       const ppml_paillier_sk *sk)
{
    if (!out || !ccs || (ccs->cfg.result_paillier && !sk) || d < 1 || d + 1 > PPML_DIAG_MAX_DIM)
        return PPML_EINVAL;
    ppml_diag_user *u = calloc(1, sizeof *u);
    if (!u)
        return PPML_ENOMEM;
    u->cfg = ccs->cfg;
    u->sk = sk;
    u->d = d;
    u->D = next_pow2(d + 1);
    uint8_t *b = NULL;
    size_t len;
    int e = ppml_bfv_params_save(ccs->params, &b, &len);
    if (!e)
        e = ppml_bfv_params_load(&u->params, b, len);
    free(b);
    b = NULL;
    if (!e && !(e = ppml_bfv_pk_save(ccs->pk, &b, &len)))
        e = ppml_bfv_pk_load(u->params, &u->pk, b, len);
    free(b);
    if (!e)
        e = bfv_key_id(u->key_id, u->pk);
    if (!e && u->cfg.result_paillier) {
        e = ppml_paillier_pk_save(ppml_paillier_sk_pk(sk), &u->pk_bytes, &u->pk_len);
    } else if (!e) {
        e = make_user_params(&u->uparams);
        if (!e)
            e = ppml_bfv_keygen(u->uparams, &u->usk, &u->upk);
        if (!e)
            e = ppml_bfv_pk_save(u->upk, &u->pk_bytes, &u->pk_len);
    }
    if (!e) {
        u->n = ppml_bfv_slot_count(u->params);
        if (u->D > u->n / 2)
            e = PPML_ERANGE;
    }
    if (e) {
        ppml_diag_user_free(u);
        return e;
    }
    *out = u;
    return PPML_OK;
}

int ppml_diag_user_precompute(ppml_diag_user *u, size_t count)
{
    if (!u || count > PPML_DIAG_MAX_POOL - u->nzeros)
        return PPML_EINVAL;
    ppml_bfv_pt *zero = NULL;
    int e = ppml_bfv_pt_new(u->params, &zero);
    for (size_t i = 0; i < count && !e; i++) {
        ppml_bfv_ct *ct = NULL;
        e = ppml_bfv_ct_new(u->params, &ct);
        if (!e)
            e = ppml_bfv_encrypt(u->pk, ct, zero);
        if (e)
            ppml_bfv_ct_free(ct);
        else
            u->zeros[u->nzeros++] = ct;
    }
    ppml_bfv_pt_free(zero);
    return e;
}

int ppml_diag_user_request(ppml_diag_user *u, uint8_t **out, size_t *out_len, const double *x,
                           size_t d)
{
    if (!u || !out || !out_len || !x || d != u->d)
        return PPML_EINVAL;
    int64_t X[PPML_DIAG_MAX_DIM];
    int e = ppml_diag_encode_x(X, d + 1, x, d, &u->cfg);
    if (e)
        return e;
    int64_t *v = malloc(u->n * sizeof *v);
    ppml_bfv_pt *pt = NULL;
    ppml_bfv_ct *ct = NULL;
    if (!v)
        e = PPML_ENOMEM;
    if (!e) {
        for (size_t s = 0; s < u->n; s++)
            v[s] = (s % u->D) <= d ? X[s % u->D] : 0;
        e = ppml_bfv_pt_new(u->params, &pt);
    }
    if (!e)
        e = ppml_bfv_encode_i64(pt, v, u->n);
    if (!e && u->nzeros) {
        /* Enc(0) + Delta*m is distributed exactly as a fresh public-key encryption of m */
        ct = u->zeros[--u->nzeros];
        u->zeros[u->nzeros] = NULL;
        e = ppml_bfv_add_plain(ct, ct, pt);
    } else if (!e) {
        e = ppml_bfv_ct_new(u->params, &ct);
        if (!e)
            e = ppml_bfv_encrypt(u->pk, ct, pt);
    }
    if (!e) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_header(&w, PPML_T_DIAG_REQUEST, 0, u->key_id);
        ppml_write_u32(&w, (uint32_t)d);
        ppml_write_u32(&w, u->cfg.result_paillier ? 0u : 1u);
        write_blob(&w, u->pk_bytes, u->pk_len);
        e = write_ct(&w, ct);
        if (!e)
            e = finish_writer(&w, out, out_len);
        else
            ppml_writer_clear(&w);
    }
    sodium_memzero(X, sizeof X);
    if (v)
        sodium_memzero(v, u->n * sizeof *v);
    free(v);
    ppml_bfv_pt_free(pt);
    ppml_bfv_ct_free(ct);
    return e;
}

static int user_result_bfv(ppml_diag_user *u, uint32_t *cls, const uint8_t *in, size_t in_len)
{
    uint8_t id[32];
    int e = bfv_key_id(id, u->upk);
    if (e)
        return e;
    ppml_reader r;
    ppml_reader_init(&r, in, in_len);
    ppml_header h;
    if ((e = ppml_read_header(&r, &h, PPML_T_DIAG_RESULT, id)))
        return e;
    const uint8_t *b;
    size_t len;
    ppml_bfv_ct *ct = NULL;
    ppml_bfv_pt *pt = NULL;
    uint64_t c0 = 0;
    if (!(e = read_blob(&r, &b, &len, CT_MAX_BYTES)) && !(e = ppml_bfv_ct_load(u->uparams, &ct, b, len)) &&
        !(e = ppml_reader_done(&r)) && !(e = ppml_bfv_pt_new(u->uparams, &pt)) &&
        !(e = ppml_bfv_decrypt(u->usk, pt, ct)))
        e = ppml_bfv_pt_get_coeffs(pt, &c0, 1);
    ppml_bfv_ct_free(ct);
    ppml_bfv_pt_free(pt);
    if (!e && c0 >= PPML_DIAG_MAX_CLASSES)
        e = PPML_EPROTO;
    if (!e)
        *cls = (uint32_t)c0;
    return e;
}

int ppml_diag_user_result(ppml_diag_user *u, uint32_t *cls, const uint8_t *in, size_t in_len)
{
    if (!u || !cls || (!in && in_len))
        return PPML_EINVAL;
    if (!u->cfg.result_paillier)
        return user_result_bfv(u, cls, in, in_len);
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(u->sk);
    ppml_reader r;
    ppml_reader_init(&r, in, in_len);
    ppml_header h;
    int e = ppml_read_header(&r, &h, PPML_T_DIAG_RESULT, ppml_paillier_pk_id(pk));
    if (e)
        return e;
    mpz_t c;
    mpz_init(c);
    int64_t v = -1;
    e = ppml_read_mpz(&r, c, (ppml_paillier_pk_bits(pk) + 7) / 4 + 1);
    if (!e)
        e = ppml_reader_done(&r);
    if (!e)
        e = ppml_paillier_decrypt_i64(u->sk, &v, c);
    mpz_clear(c);
    if (!e && (v < 0 || v >= PPML_DIAG_MAX_CLASSES))
        e = PPML_EPROTO;
    if (!e)
        *cls = (uint32_t)v;
    return e;
}

/* ---------------------------------------------------------------- in-process runner */

struct ppml_diag_system {
    ppml_diag_config cfg;
    ppml_diag_ccs *ccs;
    ppml_diag_css *css;
    ppml_paillier_sk *usk;
    ppml_diag_user *user;
    size_t d, K;
    uint64_t model_bytes;
    /* threaded runner */
    int threads_up;
    pthread_t css_thr, ccs_thr;
    ppml_channel *user_end, *css_user_end, *css_ccs_end, *ccs_end;
    ppml_diag_serve_stats css_st, ccs_st;
    int css_rc, ccs_rc;
};

static void *css_thread(void *arg)
{
    ppml_diag_system *s = arg;
    s->css_rc = ppml_diag_css_serve(s->css, s->css_user_end, s->css_ccs_end, &s->css_st);
    return NULL;
}

static void *ccs_thread(void *arg)
{
    ppml_diag_system *s = arg;
    s->ccs_rc = ppml_diag_ccs_serve(s->ccs, s->ccs_end, &s->ccs_st);
    return NULL;
}

static int system_start_threads(ppml_diag_system *s)
{
    int e = ppml_channel_pair_inproc(&s->user_end, &s->css_user_end, 0, 4);
    if (!e)
        e = ppml_channel_pair_inproc(&s->css_ccs_end, &s->ccs_end, 0, 4);
    if (e)
        return e;
    if (pthread_create(&s->ccs_thr, NULL, ccs_thread, s))
        return PPML_ENOMEM;
    if (pthread_create(&s->css_thr, NULL, css_thread, s)) {
        ppml_channel_free(s->css_ccs_end); /* makes CCS's recv fail */
        s->css_ccs_end = NULL;
        pthread_join(s->ccs_thr, NULL);
        return PPML_ENOMEM;
    }
    s->threads_up = 1;
    return PPML_OK;
}

ppml_channel *ppml_diag_system_user_channel(ppml_diag_system *s)
{
    return s->threads_up ? s->user_end : NULL;
}

const ppml_diag_serve_stats *ppml_diag_system_css_stats(ppml_diag_system *s)
{
    return s->threads_up ? &s->css_st : NULL;
}

const ppml_diag_serve_stats *ppml_diag_system_ccs_stats(ppml_diag_system *s)
{
    return s->threads_up ? &s->ccs_st : NULL;
}

void ppml_diag_system_free(ppml_diag_system *s)
{
    if (!s)
        return;
    if (s->threads_up) {
        if (ppml_channel_send(s->user_end, PPML_DIAG_MSG_BYE, NULL, 0) != PPML_OK) {
            ppml_channel_free(s->user_end); /* unblocks CSS */
            s->user_end = NULL;
        }
        pthread_join(s->css_thr, NULL);
        ppml_channel_free(s->css_ccs_end); /* unblocks CCS if BYE did not reach it */
        s->css_ccs_end = NULL;
        pthread_join(s->ccs_thr, NULL);
    }
    ppml_channel_free(s->user_end);
    ppml_channel_free(s->css_user_end);
    ppml_channel_free(s->css_ccs_end);
    ppml_channel_free(s->ccs_end);
    ppml_diag_user_free(s->user);
    ppml_paillier_sk_free(s->usk);
    ppml_diag_css_free(s->css);
    ppml_diag_ccs_free(s->ccs);
    free(s);
}

int ppml_diag_system_new(ppml_diag_system **out, const ppml_diag_config *c, const ppml_diag_model *m)
{
    if (!out || !c || !m)
        return PPML_EINVAL;
    ppml_diag_system *s = calloc(1, sizeof *s);
    if (!s)
        return PPML_ENOMEM;
    s->cfg = *c;
    s->d = m->dim - 1;
    s->K = m->n_classes;
    uint8_t *mb = NULL;
    size_t ml = 0;
    int e = ppml_diag_ccs_new(&s->ccs, c);
    if (!e)
        e = ppml_diag_outsource(&mb, &ml, s->ccs, m);
    if (!e)
        e = ppml_diag_css_new(&s->css, s->ccs, mb, ml);
    free(mb);
    s->model_bytes = ml;
    if (!e && c->result_paillier)
        e = c->insecure_for_tests && c->paillier_bits < PPML_PAILLIER_MIN_BITS
                ? ppml_paillier_keygen_insecure_for_tests(&s->usk, c->paillier_bits)
                : ppml_paillier_keygen(&s->usk, c->paillier_bits);
    if (!e)
        e = ppml_diag_user_new(&s->user, s->ccs, s->d, s->usk);
    if (!e && !c->sequential)
        e = system_start_threads(s);
    if (e) {
        ppml_diag_system_free(s);
        return e;
    }
    *out = s;
    return PPML_OK;
}

int ppml_diag_system_precompute(ppml_diag_system *s, size_t queries, ppml_diag_stats *stats)
{
    if (!s)
        return PPML_EINVAL;
    uint64_t t0 = now_ns();
    int e = ppml_diag_user_precompute(s->user, queries);
    uint64_t t1 = now_ns();
    if (!e)
        e = ppml_diag_css_precompute(s->css, queries);
    if (!e && s->usk)
        e = ppml_diag_css_precompute_user(s->css, ppml_paillier_sk_pk(s->usk), queries);
    uint64_t t2 = now_ns();
    if (!e && s->usk)
        e = ppml_diag_ccs_precompute(s->ccs, ppml_paillier_sk_pk(s->usk), queries, s->K);
    uint64_t t3 = now_ns();
    if (!e && stats) {
        stats->offline_queries += queries;
        stats->user_offline_ns += t1 - t0;
        stats->css_offline_ns += t2 - t1;
        stats->ccs_offline_ns += t3 - t2;
    }
    return e;
}

ppml_diag_ccs *ppml_diag_system_ccs(ppml_diag_system *s)
{
    return s->ccs;
}

ppml_diag_css *ppml_diag_system_css(ppml_diag_system *s)
{
    return s->css;
}

int ppml_diag_system_diagnose(ppml_diag_system *s, uint32_t *cls, const double *x, size_t d,
                              ppml_diag_stats *stats)
{
    if (!s || !cls || !x)
        return PPML_EINVAL;
    uint8_t *req = NULL, *blind = NULL, *onehot = NULL, *res = NULL;
    size_t req_len = 0, blind_len = 0, onehot_len = 0, res_len = 0;
    ppml_diag_query *q = NULL;
    uint64_t t0 = now_ns();
    int e = ppml_diag_user_request(s->user, &req, &req_len, x, d);
    uint64_t t1 = now_ns(), t2 = t1, t3 = t1, t4 = t1;
    uint64_t css_ns = 0, ccs_ns = 0;
    if (s->threads_up) {
        ppml_diag_serve_stats c0 = s->css_st, k0 = s->ccs_st;
        if (!e)
            e = ppml_diag_client_query(s->user_end, &res, &res_len, req, req_len);
        t4 = now_ns();
        /* the servers update their counters before replying: stable once we have the reply */
        css_ns = s->css_st.busy_ns - c0.busy_ns;
        ccs_ns = s->ccs_st.busy_ns - k0.busy_ns;
        blind_len = s->css_st.bytes_to_peer - c0.bytes_to_peer;
        onehot_len = s->css_st.bytes_from_peer - c0.bytes_from_peer;
    } else {
        if (!e)
            e = ppml_diag_css_request(s->css, &q, &blind, &blind_len, req, req_len);
        t2 = now_ns();
        if (!e)
            e = ppml_diag_ccs_answer(s->ccs, &onehot, &onehot_len, blind, blind_len);
        t3 = now_ns();
        if (!e)
            e = ppml_diag_css_finish(s->css, q, &res, &res_len, onehot, onehot_len);
        t4 = now_ns();
        css_ns = (t2 - t1) + (t4 - t3);
        ccs_ns = t3 - t2;
    }
    uint32_t c = 0;
    if (!e)
        e = ppml_diag_user_result(s->user, &c, res, res_len);
    uint64_t t5 = now_ns();
    if (!e) {
        *cls = c;
        if (stats) {
            stats->queries++;
            stats->user_ns += (t1 - t0) + (t5 - t4);
            stats->css_ns += css_ns;
            stats->ccs_ns += ccs_ns;
            stats->bytes_up += req_len;
            stats->bytes_down += res_len;
            stats->bytes_css_ccs += blind_len;
            stats->bytes_ccs_css += onehot_len;
            stats->bytes_model = s->model_bytes;
        }
    }
    ppml_diag_query_free(q);
    free(req);
    free(blind);
    free(onehot);
    free(res);
    return e;
}

int ppml_diag_system_run_dataset(ppml_diag_system *s, uint32_t *pred, size_t pred_len,
                                 const ppml_dataset *ds, ppml_diag_stats *stats)
{
    if (!s || !pred || !ds || pred_len != ds->n || ds->d != s->d)
        return PPML_EINVAL;
    uint32_t *tmp = malloc((ds->n ? ds->n : 1) * sizeof *tmp);
    if (!tmp)
        return PPML_ENOMEM;
    int e = PPML_OK;
    for (size_t i = 0; i < ds->n && !e; i++)
        e = ppml_diag_system_diagnose(s, &tmp[i], ds->x + i * ds->d, ds->d, stats);
    if (!e)
        memcpy(pred, tmp, ds->n * sizeof *tmp);
    free(tmp);
    return e;
}
