/* BFV parameters: validation against the security table, parameter id, and every constant
 * the RNS algorithms need (see bfv_internal.h). */
#include "crypto/bfv/bfv_internal.h"
#include "ppml/mem.h"
#include "ppml/serial.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

uint64_t *bfv_alloc_words(size_t words)
{
    if (words == 0 || words > SIZE_MAX / 8 - 8)
        return NULL;
    size_t bytes = (words * 8 + 63) & ~(size_t)63;
    uint64_t *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* Per-thread cache of scratch blocks. Operations allocate up to a few large work buffers each
 * call; fresh heap blocks of that size come from mmap and cost a page fault per 4 KiB, which
 * is a large share of a key switch. Each thread keeps SCRATCH_SLOTS blocks for reuse (nested
 * calls take different slots); they are wiped on every release like any other block, and
 * freed when the thread exits. */
#define SCRATCH_SLOTS 4
typedef struct scratch_slot {
    uint64_t *ptr;
    size_t cap; /* words */
    int in_use;
} scratch_slot;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_destroy(void *v)
{
    scratch_slot *slots = v;
    for (int i = 0; i < SCRATCH_SLOTS; i++)
        free(slots[i].ptr);
    free(slots);
}

static void scratch_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_destroy) == 0;
}

static scratch_slot *scratch_slots(void)
{
    pthread_once(&scratch_once, scratch_init);
    if (!scratch_key_ok)
        return NULL;
    scratch_slot *slots = pthread_getspecific(scratch_key);
    if (!slots) {
        slots = calloc(SCRATCH_SLOTS, sizeof *slots);
        if (slots && pthread_setspecific(scratch_key, slots) != 0) {
            free(slots);
            slots = NULL;
        }
    }
    return slots;
}

uint64_t *bfv_alloc_scratch(size_t words)
{
    if (words == 0 || words > SIZE_MAX / 8 - 8)
        return NULL;
    size_t bytes = (words * 8 + 63) & ~(size_t)63;
    scratch_slot *slots = scratch_slots();
    if (slots) {
        int pick = -1;
        for (int i = 0; i < SCRATCH_SLOTS && pick < 0; i++)
            if (!slots[i].in_use && slots[i].cap >= words)
                pick = i;
        for (int i = 0; i < SCRATCH_SLOTS && pick < 0; i++)
            if (!slots[i].in_use) { /* grow a free slot */
                uint64_t *np = aligned_alloc(64, bytes);
                if (!np)
                    return NULL;
                free(slots[i].ptr); /* was wiped when released */
                slots[i].ptr = np;
                slots[i].cap = bytes / 8;
                pick = i;
            }
        if (pick >= 0) {
            slots[pick].in_use = 1;
            return slots[pick].ptr;
        }
    }
    return aligned_alloc(64, bytes);
}

void bfv_free_words(uint64_t *p, size_t words)
{
    if (!p)
        return;
    sodium_memzero(p, words * 8);
    if (scratch_key_ok) {
        scratch_slot *slots = pthread_getspecific(scratch_key);
        if (slots)
            for (int i = 0; i < SCRATCH_SLOTS; i++)
                if (slots[i].in_use && slots[i].ptr == p) {
                    slots[i].in_use = 0;
                    return;
                }
    }
    free(p);
}

/* HomomorphicEncryption.org standard, ternary secret, 128-bit classical. */
static unsigned max_log_qp(size_t n)
{
    switch (n) {
    case 1024: return 27;
    case 2048: return 54;
    case 4096: return 109;
    case 8192: return 218;
    case 16384: return 438;
    case 32768: return 881;
    default: return 0;
    }
}

static void bconv_init(bfv_bconv *c, const ppmli_ntt *a, size_t na, const ppmli_ntt *b, size_t nb)
{
    mpz_t A, hat, tmp, m;
    mpz_inits(A, hat, tmp, m, NULL);
    c->na = na;
    c->nb = nb;
    c->a = a;
    c->b = b;
    mpz_set_ui(A, 1);
    for (size_t i = 0; i < na; i++)
        mpz_mul_ui(A, A, a[i].mod.q);
    for (size_t i = 0; i < na; i++) {
        uint64_t ai = a[i].mod.q;
        mpz_divexact_ui(hat, A, ai);
        mpz_set_ui(m, ai);
        mpz_invert(tmp, hat, m);
        c->hat_inv[i] = mpz_get_ui(tmp);
        c->hat_inv_sh[i] = ppmli_shoup(c->hat_inv[i], ai);
        c->inv_d[i] = 1.0 / (double)ai;
        for (size_t j = 0; j < nb; j++)
            c->hat_mod_b[i][j] = mpz_fdiv_ui(hat, b[j].mod.q);
    }
    for (size_t j = 0; j < nb; j++) {
        uint64_t r = mpz_fdiv_ui(A, b[j].mod.q);
        c->neg_prod_mod_b[j] = r ? b[j].mod.q - r : 0;
    }
    mpz_clears(A, hat, tmp, m, NULL);
}

static void params_free_tables(ppml_bfv_params *p)
{
    for (size_t i = 0; i < PPML_BFV_MAX_PRIMES; i++) {
        ppmli_ntt_clear(&p->ntt[i]);
        mpz_clear(p->qhat[i]);
    }
    for (size_t j = 0; j < BFV_MAX_AUX; j++)
        ppmli_ntt_clear(&p->ntt_r[j]);
    ppmli_ntt_clear(&p->ntt_t);
    mpz_clear(p->Q);
    free(p->slot_idx);
}

void ppml_bfv_params_free(ppml_bfv_params *p)
{
    if (!p)
        return;
    params_free_tables(p);
    free(p);
}

/* Serialized body of the parameters (also hashed into the id). */
void bfv_params_body(const ppml_bfv_params *p, ppml_writer *w);
void bfv_params_body(const ppml_bfv_params *p, ppml_writer *w)
{
    ppml_write_u32(w, (uint32_t)p->n);
    ppml_write_u64(w, p->t);
    ppml_write_u8(w, (uint8_t)p->np);
    for (size_t i = 0; i < p->np; i++)
        ppml_write_u64(w, p->primes[i]);
    ppml_write_u8(w, (uint8_t)(p->insecure ? 1 : 0));
}

static int params_create(ppml_bfv_params **out, size_t n, const uint64_t *primes, size_t count,
                         uint64_t t, int insecure)
{
    if (!out || !primes)
        return PPML_EINVAL;
    size_t min_n = insecure ? 16 : PPML_BFV_MIN_N;
    if (n < min_n || n > PPML_BFV_MAX_N || (n & (n - 1)))
        return PPML_EINVAL;
    if (count < 2 || count > PPML_BFV_MAX_PRIMES)
        return PPML_EINVAL;
    uint64_t m2 = 2 * (uint64_t)n;
    if (t < 3 || t >= ((uint64_t)1 << PPML_BFV_MAX_T_BITS) || t % m2 != 1 || !ppmli_is_prime(t))
        return PPML_EINVAL;
    for (size_t i = 0; i < count; i++) {
        uint64_t q = primes[i];
        if (q >= ((uint64_t)1 << 61) || q <= t || q % m2 != 1 || !ppmli_is_prime(q))
            return PPML_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (primes[j] == q)
                return PPML_EINVAL;
    }
    ppml_bfv_params *p = calloc(1, sizeof *p);
    if (!p)
        return PPML_ENOMEM;
    mpz_init(p->Q);
    for (size_t i = 0; i < PPML_BFV_MAX_PRIMES; i++)
        mpz_init(p->qhat[i]);
    int rc = PPML_OK;
    mpz_t QP, R, tmp, big, m;
    mpz_inits(QP, R, tmp, big, m, NULL);

    p->n = n;
    while (((size_t)1 << p->logn) < n)
        p->logn++;
    p->np = count;
    p->k = count - 1;
    p->t = t;
    p->insecure = insecure;
    memcpy(p->primes, primes, count * sizeof *primes);
    mpz_set_ui(p->Q, 1);
    for (size_t i = 0; i < p->k; i++)
        mpz_mul_ui(p->Q, p->Q, primes[i]);
    mpz_mul_ui(QP, p->Q, primes[p->k]);
    p->log_q = (unsigned)mpz_sizeinbase(p->Q, 2);
    p->log_qp = (unsigned)mpz_sizeinbase(QP, 2);
    if (!insecure && p->log_qp > max_log_qp(n)) {
        rc = PPML_EWEAK;
        goto done;
    }
    /* Δ·m must leave room: refuse t that is not well below Q. */
    if ((unsigned)(64 - __builtin_clzll(t)) + 10 > p->log_q) {
        rc = PPML_EINVAL;
        goto done;
    }
    for (size_t i = 0; i < count; i++)
        if (ppmli_ntt_init(&p->ntt[i], n, primes[i]) != 0) {
            rc = PPML_EINVAL;
            goto done;
        }
    if (ppmli_ntt_init(&p->ntt_t, n, t) != 0) {
        rc = PPML_EINVAL;
        goto done;
    }
    /* Auxiliary base R for multiplication: 61-bit primes with
     * log2 R >= log2 Q + log2 t + log2 n + 6 (tensor fits in QR, result fits in R/2 with margin). */
    {
        unsigned need = p->log_q + (unsigned)(64 - __builtin_clzll(t)) + p->logn + 6;
        uint64_t avoid[PPML_BFV_MAX_PRIMES + 1];
        memcpy(avoid, primes, count * sizeof *primes);
        avoid[count] = t;
        uint64_t aux[BFV_MAX_AUX];
        size_t nr = (need + 59) / 60;
        if (nr > BFV_MAX_AUX || ppmli_gen_primes(aux, nr, 61, m2, avoid, count + 1) != nr) {
            rc = PPML_EINVAL;
            goto done;
        }
        p->nr = nr;
        mpz_set_ui(R, 1);
        for (size_t j = 0; j < nr; j++) {
            mpz_mul_ui(R, R, aux[j]);
            if (ppmli_ntt_init(&p->ntt_r[j], n, aux[j]) != 0) {
                rc = PPML_ENOMEM;
                goto done;
            }
        }
        if (mpz_sizeinbase(R, 2) < need) {
            rc = PPML_EINVAL;
            goto done;
        }
    }
    /* Slots: row 0 column j evaluates at zeta^(3^j), row 1 at zeta^(-3^j). */
    p->slot_idx = malloc(n * sizeof *p->slot_idx);
    if (!p->slot_idx) {
        rc = PPML_ENOMEM;
        goto done;
    }
    {
        uint64_t e = 1;
        for (size_t j = 0; j < n / 2; j++) {
            p->slot_idx[j] = (uint32_t)ppmli_brv((size_t)(e - 1) / 2, p->logn);
            p->slot_idx[n / 2 + j] = (uint32_t)ppmli_brv((size_t)(m2 - e - 1) / 2, p->logn);
            e = (e * 3) % m2;
        }
    }
    {
        uint64_t inv = 1; /* Newton iteration for t^-1 mod 2^64 */
        for (int i = 0; i < 7; i++)
            inv *= 2 - t * inv;
        p->tinv64 = inv;
    }
    p->rt = mpz_fdiv_ui(p->Q, t);
    mpz_fdiv_q_ui(big, p->Q, t); /* floor(Q/t) */
    for (size_t i = 0; i < p->k; i++) {
        uint64_t q = primes[i];
        mpz_divexact_ui(p->qhat[i], p->Q, q);
        mpz_set_ui(m, q);
        mpz_invert(tmp, p->qhat[i], m);
        p->qhat_inv[i] = mpz_get_ui(tmp);
        p->qhat_inv_sh[i] = ppmli_shoup(p->qhat_inv[i], q);
        p->delta[i] = mpz_fdiv_ui(big, q);
        p->delta_sh[i] = ppmli_shoup(p->delta[i], q);
        /* floor(t * 2^128 / q_i) < 2^128 since t < q_i */
        mpz_set_ui(tmp, t);
        mpz_mul_2exp(tmp, tmp, 128);
        mpz_fdiv_q_ui(tmp, tmp, q);
        p->dec_frac_lo[i] = mpz_getlimbn(tmp, 0);
        p->dec_frac_hi[i] = mpz_size(tmp) > 1 ? mpz_getlimbn(tmp, 1) : 0;
    }
    bconv_init(&p->q_to_r, p->ntt, p->k, p->ntt_r, p->nr);
    bconv_init(&p->r_to_q, p->ntt_r, p->nr, p->ntt, p->k);
    /* Scaling Q∪R -> R: t x / Q = sum_i x_i t R e_i / q_i + sum_j x_{r_j} t (R/r_j) f_j + t R (int),
     * e_i = [(QR/q_i)^-1]_{q_i}; the r_j term is t Q^-1 mod r_j. The fractional parts are
     * kept as 64-bit fixed point. */
    for (size_t i = 0; i < p->k; i++) {
        uint64_t q = primes[i];
        mpz_mul(tmp, p->qhat[i], R);
        mpz_set_ui(m, q);
        mpz_invert(tmp, tmp, m); /* e_i */
        mpz_mul(big, tmp, R);
        mpz_mul_ui(big, big, t);
        uint64_t rem = mpz_fdiv_q_ui(tmp, big, q);
        p->scale_frac[i] = (uint64_t)(((ppmli_u128)rem << 64) / q);
        for (size_t j = 0; j < p->nr; j++)
            p->scale_int[i][j] = mpz_fdiv_ui(tmp, p->ntt_r[j].mod.q);
    }
    for (size_t j = 0; j < p->nr; j++) {
        uint64_t r = p->ntt_r[j].mod.q;
        mpz_set_ui(m, r);
        mpz_invert(tmp, p->Q, m);
        mpz_mul_ui(tmp, tmp, t);
        p->scale_r[j] = mpz_fdiv_ui(tmp, r);
        p->scale_r_sh[j] = ppmli_shoup(p->scale_r[j], r);
    }
    /* Key switching with the special prime P. */
    {
        uint64_t P = primes[p->k];
        p->p_half = P >> 1;
        for (size_t i = 0; i < p->k; i++) {
            const ppmli_mod *mq = &p->ntt[i].mod;
            p->p_mod_q[i] = ppmli_reduce64(mq, P);
            p->p_inv[i] = ppmli_invmod(mq, p->p_mod_q[i]);
            p->p_inv_sh[i] = ppmli_shoup(p->p_inv[i], mq->q);
            p->p_half_mod_q[i] = ppmli_reduce64(mq, p->p_half);
        }
    }
    {
        ppml_writer w;
        ppml_writer_init(&w);
        bfv_params_body(p, &w);
        if (w.err) {
            rc = w.err;
            ppml_writer_clear(&w);
            goto done;
        }
        ppml_hash256(p->id, w.data, w.len);
        ppml_writer_clear(&w);
    }
done:
    mpz_clears(QP, R, tmp, big, m, NULL);
    if (rc != PPML_OK) {
        ppml_bfv_params_free(p);
        return rc;
    }
    *out = p;
    return PPML_OK;
}

int ppml_bfv_params_new(ppml_bfv_params **out, size_t n, const uint64_t *primes, size_t count, uint64_t t)
{
    return params_create(out, n, primes, count, t, 0);
}

int ppml_bfv_params_new_insecure_for_tests(ppml_bfv_params **out, size_t n, const uint64_t *primes,
                                           size_t count, uint64_t t)
{
    return params_create(out, n, primes, count, t, 1);
}

int ppml_bfv_params_from_bits(ppml_bfv_params **out, size_t n, const unsigned *bits, size_t count,
                              unsigned t_bits, int insecure_for_tests)
{
    if (!out || !bits || count < 2 || count > PPML_BFV_MAX_PRIMES || n < 16 || n > PPML_BFV_MAX_N ||
        (n & (n - 1)) || t_bits < 2 || t_bits > PPML_BFV_MAX_T_BITS)
        return PPML_EINVAL;
    uint64_t m2 = 2 * (uint64_t)n, t, primes[PPML_BFV_MAX_PRIMES];
    if (ppmli_gen_primes(&t, 1, t_bits, m2, NULL, 0) != 1)
        return PPML_EINVAL;
    for (size_t i = 0; i < count; i++) {
        uint64_t avoid[PPML_BFV_MAX_PRIMES + 1];
        memcpy(avoid, primes, i * sizeof *primes);
        avoid[i] = t;
        if (bits[i] > 60 || ppmli_gen_primes(&primes[i], 1, bits[i], m2, avoid, i + 1) != 1)
            return PPML_EINVAL;
    }
    return params_create(out, n, primes, count, t, insecure_for_tests ? 1 : 0);
}

int ppml_bfv_params_default(ppml_bfv_params **out, size_t n, unsigned t_bits)
{
    static const unsigned b4096[] = {36, 36, 37};
    static const unsigned b8192[] = {43, 43, 44, 44, 44};
    static const unsigned b16384[] = {48, 48, 48, 48, 49, 49, 49, 49, 49};
    unsigned b32768[16];
    const unsigned *bits;
    size_t count;
    if (t_bits < 15 || t_bits > 40)
        return PPML_EINVAL;
    switch (n) {
    case 4096: bits = b4096; count = 3; break;
    case 8192: bits = b8192; count = 5; break;
    case 16384: bits = b16384; count = 9; break;
    case 32768:
        for (int i = 0; i < 16; i++)
            b32768[i] = i == 15 ? 56 : 55;
        bits = b32768;
        count = 16;
        break;
    default: return PPML_EINVAL;
    }
    return ppml_bfv_params_from_bits(out, n, bits, count, t_bits, 0);
}

size_t ppml_bfv_params_n(const ppml_bfv_params *p) { return p->n; }
size_t ppml_bfv_slot_count(const ppml_bfv_params *p) { return p->n; }
uint64_t ppml_bfv_params_t(const ppml_bfv_params *p) { return p->t; }
size_t ppml_bfv_params_prime_count(const ppml_bfv_params *p) { return p->np; }
uint64_t ppml_bfv_params_prime(const ppml_bfv_params *p, size_t i) { return i < p->np ? p->primes[i] : 0; }
unsigned ppml_bfv_params_log_q(const ppml_bfv_params *p) { return p->log_q; }
unsigned ppml_bfv_params_log_qp(const ppml_bfv_params *p) { return p->log_qp; }
int ppml_bfv_params_is_insecure(const ppml_bfv_params *p) { return p->insecure; }
const uint8_t *ppml_bfv_params_id(const ppml_bfv_params *p) { return p->id; }
