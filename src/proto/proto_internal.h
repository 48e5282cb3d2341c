/* Internals shared by the building blocks (never installed). */
#ifndef PPML_PROTO_INTERNAL_H
#define PPML_PROTO_INTERNAL_H
#include "ppml/proto.h"
#include "ppml/serial.h"
#include "ppml/mem.h"

struct ppml_proto_css {
    ppml_channel *ch;
    const ppml_paillier_pk *pk;
    unsigned kappa;
    unsigned threads;
    uint32_t next_cache_id; /* ids of the matrices CCS keeps (b3_cached.c) */
};

/* A blinded matrix CCS keeps for CSS (b3_cached.c): values A + rho, row-major. */
#define PPMLI_CACHE_MAX 8
typedef struct ppmli_cache_entry {
    uint32_t id;
    size_t rows, cols, count;
    mpz_t *vals; /* NULL: free entry */
} ppmli_cache_entry;

typedef struct ppmli_ccs {
    ppml_channel *ch;
    const ppml_paillier_sk *sk;
    const ppml_paillier_pk *pk;
    const ppml_proto_ccs_keys *keys;
    unsigned kappa;
    unsigned threads;
    ppmli_cache_entry cache[PPMLI_CACHE_MAX];
} ppmli_ccs;

/* Run fn(ctx, i) for i in [0, n) on up to `threads` threads (contiguous chunks). Returns the
 * first error any call returned. */
int ppmli_parallel_for(unsigned threads, size_t n, int (*fn)(void *ctx, size_t i), void *ctx);


/* Additive blinding (header of proto.h): offsets[i] = 2^l + r_i, r_i uniform in
 * [0, 2^(l+kappa)); blinded[i] = cts[i] * Enc(offsets[i]) without fresh randomness. */
unsigned ppmli_additive_slot_bits(unsigned value_bits, unsigned kappa);
void ppmli_draw_offsets(mpz_t *offsets, size_t n, unsigned value_bits, unsigned kappa);

/* out = reply * cross^-1 * Enc(-constant) (cross is clobbered): the last step of an
 * unblinding whose cross terms were multiplied into `cross`. */
int ppmli_unblind_finish(const ppml_paillier_pk *pk, mpz_t out, const mpz_t reply, mpz_t cross,
                         const mpz_t constant);
/* Batched unblinding: for i < n, out[i] = reply[i] * (prod_{j<k} base_j^exp_j)^-1 *
 * Enc(-c_i) (no fresh randomness), where terms(ctx, i, bases, exps, c) gives element i's k
 * bases and secret exponents (exps[j] < 2^bits[j]) and sets its constant c. Eight elements
 * per pass of the multi-buffer arithmetic where available (crypto/mb), one
 * ppmli_multiexp each otherwise; on `threads` threads. out must not alias reply. */
typedef void (*ppmli_terms_fn)(void *ctx, size_t i, mpz_srcptr *bases, mpz_srcptr *exps, mpz_t c);
int ppmli_unblind_batch(const ppml_paillier_pk *pk, unsigned threads, mpz_t *out, const mpz_t *reply, size_t n,
                        size_t k, const unsigned *bits, ppmli_terms_fn terms, void *ctx);
/* out = prod_j bases[j]^exps[j] mod mod, 0 <= exps[j] < 2^exp_bits[j] (PPML_ERANGE
 * otherwise). Exponents secret (fixed windows, constant-time table reads; the operation
 * sequence depends only on k and exp_bits), bases public. See multiexp.c. */
int ppmli_multiexp(mpz_t out, mpz_srcptr const *bases, mpz_srcptr const *exps, const unsigned *exp_bits,
                   size_t k, const mpz_t mod);
/* Window tables for bases used in many multi-exponentiations: T[s] = base^s mod mod,
 * s < 2^w (1 <= w <= 8). ppmli_mexp_window picks w for exponents of `bits` bits and a table
 * used `uses` times. ppmli_multiexp_tabs: out = prod_j base_j^exps[j] with the same secrecy
 * properties as ppmli_multiexp; terms may have different windows. */
typedef struct ppmli_mexp_tab {
    unsigned w;
    size_t limbs;
    mp_limb_t *t;
} ppmli_mexp_tab;
int ppmli_mexp_tab_build(ppmli_mexp_tab *tab, const mpz_t base, unsigned w, const mpz_t mod);
void ppmli_mexp_tab_clear(ppmli_mexp_tab *tab);
unsigned ppmli_mexp_window(unsigned bits, size_t uses);
int ppmli_multiexp_tabs(mpz_t out, const ppmli_mexp_tab *const *tabs, mpz_srcptr const *exps,
                        const unsigned *exp_bits, size_t k, const mpz_t mod);
/* out = ct * Enc(offset mod N) without fresh randomness. */
void ppmli_blind_add(const ppml_paillier_pk *pk, mpz_t out, const mpz_t ct, const mpz_t offset);
/* CSS: draw n offsets (ppmli_draw_offsets) and blind every v[i] with its offset into
 * blinded[i], across css->threads. */
int ppmli_blind_vector(ppml_proto_css *css, mpz_t *blinded, mpz_t *off, const mpz_t *v, size_t n,
                       unsigned value_bits);

/* CSS: pack `count` ciphertexts (each encrypting a value < 2^slot_bits) into packed
 * ciphertexts, re-randomise them, and send: header params (already in w) + mpzvec. */
int ppmli_css_send_packed(ppml_proto_css *css, uint16_t type, ppml_writer *w, const mpz_t *slot_cts,
                          size_t count, unsigned slot_bits);
/* CSS: receive the reply to `type` holding exactly n ciphertexts under pk (each < N^2). */
int ppmli_css_recv_cts(ppml_proto_css *css, uint16_t type, const ppml_paillier_pk *pk, mpz_t *out,
                       size_t n);
/* CSS: receive the reply to `type` as raw payload (caller frees). */
int ppmli_css_recv_payload(ppml_proto_css *css, uint16_t type, uint8_t **payload, size_t *len);

/* CCS: read `count` packed values of slot_bits each (ceil(count / capacity) ciphertexts),
 * decrypt and unpack. Allocates *slots. */
int ppmli_ccs_read_slots(ppmli_ccs *ccs, ppml_reader *r, size_t count, unsigned slot_bits,
                         mpz_t **slots);
/* CCS: encrypt plain[i] (reduced mod N of `pk`, or of the training key if pk is NULL) and
 * send them as the reply to `type`. */
int ppmli_ccs_reply_encrypted(ppmli_ccs *ccs, uint16_t type, const ppml_paillier_pk *pk,
                              mpz_t *plain, size_t n);
/* Check a slot width against the key: 2 <= slot_bits and capacity >= 1. */
int ppmli_check_slot_bits(const ppml_paillier_pk *pk, unsigned slot_bits);

/* CCS request handlers (one per block file). */
int ppmli_ccs_mul(ppmli_ccs *ccs, ppml_reader *r);
int ppmli_ccs_inner(ppmli_ccs *ccs, ppml_reader *r);
int ppmli_ccs_scalar_vec(ppmli_ccs *ccs, ppml_reader *r);
int ppmli_ccs_sign(ppmli_ccs *ccs, ppml_reader *r, int reveal);
int ppmli_ccs_truncate(ppmli_ccs *ccs, ppml_reader *r);
int ppmli_ccs_convert(ppmli_ccs *ccs, ppml_reader *r);
int ppmli_ccs_aggregate(ppmli_ccs *ccs, ppml_reader *r);
int ppmli_ccs_convert_dtpkc(ppmli_ccs *ccs, ppml_reader *r);
/* TEST ONLY: memory cap of the window tables of cached products (0: the default, 64 MiB). */
void ppmli_cached_set_table_cap(size_t bytes);
int ppmli_ccs_cache_put(ppmli_ccs *ccs, ppml_reader *r);
int ppmli_ccs_cached_mul(ppmli_ccs *ccs, ppml_reader *r);
int ppmli_ccs_cache_drop(ppmli_ccs *ccs, ppml_reader *r);
/* Frees every matrix CCS keeps (end of serving). */
void ppmli_ccs_cache_clear(ppmli_ccs *ccs);

#endif
