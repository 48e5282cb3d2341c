/* B3 on a matrix CCS keeps blinded: for a constant encrypted matrix A (the training
 * features), CSS blinds A once, CCS keeps the blinded copy A' = A + rho, and every later
 * product with a fresh encrypted matrix B sends only B' = B + sigma:
 *   rows: out[i][k] = E(<A_(lo+i), B_k>)                 (A_(lo+i) a row, B_k a row of B)
 *   cols: out[k][j] = E(sum_i A_(lo+i),j * B_k,i)         (a column of A's row range)
 * one ciphertext per inner product, one round trip per call.
 *
 * Why this is safe to reuse: CCS receives A' exactly once (PPML_MSG_CACHE_PUT); later calls
 * show it nothing about A. Its view of the whole training is A' once plus one fresh B' per
 * call, the same view as if every call had sent A' again (the same bytes), so reuse costs
 * nothing in hiding and saves, per call, the packing of A at CSS (slot-width squarings per
 * value) and the decryption of A' at CCS.
 *
 * What each party receives:
 *   CCS: the public sizes (rows, cols, lo, count, kb), the slot widths, and packed, freshly
 *        re-randomised ciphertexts of A' = A + rho (once) and of B' = B + sigma (per call);
 *        each offset is 2^l + r, r uniform in [0, 2^(l+kappa)), so every slot lies in
 *        [0, 2^(l+kappa+1)) within statistical distance 2^(1-kappa) of a data-independent
 *        value (l = the value bits of A, resp. B).
 *   CSS: count * kb (rows) or kb * cols (cols) fresh ciphertexts under the training key. It
 *        removes the cross terms A sigma + rho B + rho sigma with one multi-exponentiation
 *        per output (ppmli_multiexp; rho is CSS's secret for the life of the handle).
 * Cost per output of an inner product of length t: CSS a 2t-term multi-exponentiation; CCS
 * one encryption. */
#include "proto_internal.h"

#include "crypto/mb/mb.h"
#include "crypto/paillier/paillier_internal.h" /* ppmli_paillier_pk_mb */
#include "ppml/mem.h"

#include <stdlib.h>

/* Terms of all inner products of one call (outputs x length): bounds CCS's work per request
 * (and CSS's multi-exponentiations) at about 67 million multiply-adds. */
#define PPMLI_CACHED_MAX_WORK ((size_t)16 * PPML_PROTO_MAX_VALUES)

struct ppml_proto_cached {
    uint32_t id;
    size_t rows, cols;
    unsigned slot; /* slot width of A's offsets: rho < 2^slot */
    mpz_t *ct;     /* copies of E(A), row-major */
    mpz_t *off;    /* rho (secret), row-major */
    ppmli_mexp_tab *tab; /* window tables of the E(A) entries, built once (NULL: per call) */
};

void ppml_proto_cached_free(ppml_proto_cached *c)
{
    if (!c)
        return;
    size_t n = c->rows * c->cols;
    for (size_t i = 0; c->tab && i < n; i++)
        ppmli_mexp_tab_clear(&c->tab[i]);
    free(c->tab);
    ppml_mpz_vec_free(c->ct, n);
    ppml_mpz_vec_free(c->off, n); /* the wiping allocator clears the offsets */
    free(c);
}

static size_t tab_bytes_max = (size_t)64 << 20;

void ppmli_cached_set_table_cap(size_t bytes) { tab_bytes_max = bytes ? bytes : (size_t)64 << 20; }

/* CSS: CCS's empty reply to a request of `type`. */
static int recv_ack(ppml_proto_css *css, uint16_t type)
{
    uint8_t *p = NULL;
    size_t len = 0;
    int rc = ppmli_css_recv_payload(css, type, &p, &len);
    if (rc == PPML_OK && len != 0)
        rc = PPML_EPROTO;
    free(p);
    return rc;
}

/* The widest window not above w (and not below w_min) whose `count` tables of `limbs`-limb
 * entries fit within tab_bytes_max; w_min if none does. */
static unsigned fit_window(unsigned w, unsigned w_min, size_t count, size_t limbs)
{
    while (w > w_min && count * limbs * sizeof(mp_limb_t) > (tab_bytes_max >> w))
        w--;
    return w;
}

int ppml_proto_cached_release(ppml_proto_css *css, ppml_proto_cached *c)
{
    if (!c)
        return PPML_OK;
    int rc = css ? PPML_OK : PPML_EINVAL;
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, c->id);
        rc = w.err;
        if (rc == PPML_OK)
            rc = ppml_channel_send(css->ch, PPML_MSG_CACHE_DROP, w.data, w.len);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK)
        rc = recv_ack(css, PPML_MSG_CACHE_DROP);
    ppml_proto_cached_free(c);
    return rc;
}

size_t ppml_proto_cached_rows(const ppml_proto_cached *c) { return c ? c->rows : 0; }
size_t ppml_proto_cached_cols(const ppml_proto_cached *c) { return c ? c->cols : 0; }

/* Window tables are shared: each entry of E(A) in the row range is a base in kb outputs,
 * each entry of E(B) in count (rows) or cols (cols) outputs, so every base gets one table
 * per call with a window chosen for its number of uses, capped in memory; E(A)'s tables are
 * kept with the handle when they fit. */

typedef struct tab_job {
    ppml_proto_cached *c;
    mpz_srcptr n2;
    unsigned w;
} tab_job;

static int build_cached_tab(void *ctx, size_t i)
{
    tab_job *j = ctx;
    return ppmli_mexp_tab_build(&j->c->tab[i], j->c->ct[i], j->w, j->n2);
}

int ppml_proto_cache_matrix(ppml_proto_css *css, ppml_proto_cached **out, const mpz_t *a, size_t rows,
                            size_t cols, unsigned value_bits)
{
    if (!css || !out || !a || rows == 0 || cols == 0 || value_bits == 0)
        return PPML_EINVAL;
    size_t n;
    if (ppml_mul_size(&n, rows, cols) != PPML_OK || n > PPML_PROTO_MAX_VALUES || rows > UINT32_MAX ||
        cols > UINT32_MAX)
        return PPML_ERANGE;
    unsigned slot = ppmli_additive_slot_bits(value_bits, css->kappa);
    int rc = ppmli_check_slot_bits(css->pk, slot);
    if (rc != PPML_OK)
        return rc;
    ppml_proto_cached *c = calloc(1, sizeof *c);
    mpz_t *blinded = ppml_mpz_vec_new(n);
    if (c) {
        c->rows = rows; /* sizes first: ppml_proto_cached_free frees rows * cols entries */
        c->cols = cols;
        c->ct = ppml_mpz_vec_new(n);
        c->off = ppml_mpz_vec_new(n);
    }
    rc = (c && c->ct && c->off && blinded) ? PPML_OK : PPML_ENOMEM;
    if (rc == PPML_OK) {
        c->id = css->next_cache_id++;
        c->slot = slot;
        for (size_t i = 0; i < n; i++)
            mpz_set(c->ct[i], a[i]);
        rc = ppmli_blind_vector(css, blinded, c->off, a, n, value_bits);
    }
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, c->id);
        ppml_write_u32(&w, (uint32_t)rows);
        ppml_write_u32(&w, (uint32_t)cols);
        ppml_write_u16(&w, (uint16_t)slot);
        rc = ppmli_css_send_packed(css, PPML_MSG_CACHE_PUT, &w, (const mpz_t *)blinded, n, slot);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK)
        rc = recv_ack(css, PPML_MSG_CACHE_PUT);
    ppml_mpz_vec_free(blinded, n);
    /* E(A) is a base in every later product: its window tables are built once here, with the
     * widest window up to 6 that keeps them within tab_bytes_max (none if even w = 1 does not
     * fit: then each call builds its own) */
    size_t limbs = mpz_size(ppml_paillier_pk_n2(css->pk));
    unsigned w = fit_window(6, 0, n, limbs);
    if (ppmli_paillier_pk_mb(css->pk))
        w = 0; /* the multi-buffer path builds its own (interleaved) tables per call */
    if (rc == PPML_OK && w > 0) {
        c->tab = calloc(n, sizeof *c->tab);
        tab_job tj = {c, ppml_paillier_pk_n2(css->pk), w};
        rc = c->tab ? ppmli_parallel_for(css->threads, n, build_cached_tab, &tj) : PPML_ENOMEM;
    }
    if (rc != PPML_OK) {
        ppml_proto_cached_free(c);
        return rc;
    }
    *out = c;
    return PPML_OK;
}

typedef struct cached_job {
    const ppml_paillier_pk *pk;
    const ppml_proto_cached *a;
    const mpz_t *b;     /* E(B), kb x t (t = cols for rows, count for cols) */
    const mpz_t *sigma; /* B's offsets, same layout */
    mpz_t *reply, *res;
    size_t lo, count, kb, t_len;
    unsigned b_slot;
    int by_cols;
    ppmli_mexp_tab *tab_a; /* count x cols: E(A) rows lo.. (the handle's, or built here) */
    size_t na_build;       /* tables of tab_a built by this call: 0 or count * cols */
    ppmli_mexp_tab *tab_b; /* kb x t_len: E(B) */
    unsigned wa, wb;
} cached_job;

static int build_tab(void *ctx, size_t q)
{
    cached_job *j = ctx;
    size_t na = j->na_build;
    mpz_srcptr n2 = ppml_paillier_pk_n2(j->pk);
    if (q < na)
        return ppmli_mexp_tab_build(&j->tab_a[q], j->a->ct[j->lo * j->a->cols + q], j->wa, n2);
    return ppmli_mexp_tab_build(&j->tab_b[q - na], j->b[q - na], j->wb, n2);
}

/* One output: the 2t terms (E(A) entry ^ sigma, E(B) entry ^ rho) of its inner product in one
 * multi-exponentiation over the shared tables. */
static int unblind_one(void *ctx, size_t q)
{
    cached_job *j = ctx;
    const ppml_proto_cached *a = j->a;
    size_t t_len = j->t_len;
    size_t i, k; /* rows: q = i * kb + k;  cols: q = k * cols + i (i = column index) */
    if (j->by_cols) {
        k = q / a->cols;
        i = q % a->cols;
    } else {
        i = q / j->kb;
        k = q % j->kb;
    }
    const ppmli_mexp_tab **tabs = malloc(2 * t_len * sizeof *tabs);
    mpz_srcptr *exps = malloc(2 * t_len * sizeof *exps);
    unsigned *bits = malloc(2 * t_len * sizeof *bits);
    if (!tabs || !exps || !bits) {
        free(tabs);
        free(exps);
        free(bits);
        return PPML_ENOMEM;
    }
    mpz_t c, acc;
    mpz_inits(c, acc, NULL);
    for (size_t t = 0; t < t_len; t++) {
        size_t ai = j->by_cols ? t * a->cols + i : i * a->cols + t; /* within the row range */
        size_t bi = k * t_len + t;
        tabs[2 * t] = &j->tab_a[ai];
        exps[2 * t] = j->sigma[bi];
        bits[2 * t] = j->b_slot;
        tabs[2 * t + 1] = &j->tab_b[bi];
        exps[2 * t + 1] = a->off[j->lo * a->cols + ai];
        bits[2 * t + 1] = a->slot;
        mpz_addmul(c, a->off[j->lo * a->cols + ai], j->sigma[bi]);
    }
    int rc = ppmli_multiexp_tabs(acc, tabs, exps, bits, 2 * t_len, ppml_paillier_pk_n2(j->pk));
    if (rc == PPML_OK)
        rc = ppmli_unblind_finish(j->pk, j->res[q], j->reply[q], acc, c);
    mpz_clears(c, acc, NULL);
    free(tabs);
    free(exps);
    free(bits);
    return rc;
}

/* ---- the multi-buffer path (AVX-512 IFMA, crypto/mb) ----
 * Eight outputs per pass: the same vector k of B, eight consecutive indices i (rows of A's
 * range, or columns). In a pass, E(A) entries differ per lane and share the exponent
 * sigma_(k,t); E(B_(k,t)) is the same base in every lane, with the lane's own rho. So E(A)'s
 * tables are lane-interleaved, built once per group of eight indices and used for every k;
 * E(B)'s are single-valued, built once per call and read by every group. */

typedef struct mb_job {
    cached_job *j;
    const ppmli_mb *mb;
    uint64_t *tab_b; /* nb single-valued tables of wb */
    size_t tab_b_words;
    unsigned wa, wb;
    size_t n_idx; /* indices i: columns (by_cols) or rows of the range */
} mb_job;

static int mb_tables_b(void *ctx, size_t g)
{
    mb_job *m = ctx;
    size_t nb = m->j->kb * m->j->t_len, lo = g * PPMLI_MB_LANES;
    size_t lanes = nb - lo < PPMLI_MB_LANES ? nb - lo : PPMLI_MB_LANES;
    uint64_t *tabs[PPMLI_MB_LANES];
    mpz_srcptr bases[PPMLI_MB_LANES];
    for (size_t l = 0; l < lanes; l++) {
        tabs[l] = m->tab_b + (lo + l) * m->tab_b_words;
        bases[l] = m->j->b[lo + l];
    }
    return ppmli_mb_tables_shared(m->mb, tabs, bases, lanes, m->wb);
}

static int mb_group(void *ctx, size_t g)
{
    mb_job *m = ctx;
    cached_job *j = m->j;
    const ppml_proto_cached *a = j->a;
    const ppmli_mb *mb = m->mb;
    size_t t_len = j->t_len, i0 = g * PPMLI_MB_LANES, base = j->lo * a->cols;
    size_t lanes = m->n_idx - i0 < PPMLI_MB_LANES ? m->n_idx - i0 : PPMLI_MB_LANES;
    size_t words = ppmli_mb_table_words(mb, m->wa, 0), ents;
    if (ppml_mul_size(&ents, t_len, (size_t)1 << m->wa) != PPML_OK)
        return PPML_EOVERFLOW;
    uint64_t *tab_a = ppmli_mb_buf(mb, ents);
    uint64_t *acc = ppmli_mb_buf(mb, 1);
    ppmli_mb_term *terms = calloc(2 * t_len, sizeof *terms);
    mpz_t cross[PPMLI_MB_LANES], c;
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_init(cross[l]);
    mpz_init(c);
    int rc = (tab_a && acc && terms) ? PPML_OK : PPML_ENOMEM;
    /* ai(l, t): E(A)'s entry of lane l's inner product, term t, within the row range */
#define AI(l, t) (j->by_cols ? (t) * a->cols + i0 + (l) : (i0 + (l)) * a->cols + (t))
    for (size_t t = 0; t < t_len && rc == PPML_OK; t++) {
        mpz_srcptr bases[PPMLI_MB_LANES];
        for (size_t l = 0; l < lanes; l++)
            bases[l] = a->ct[base + AI(l, t)];
        ppmli_mb_table(mb, tab_a + t * words, bases, lanes, m->wa);
    }
    for (size_t k = 0; k < j->kb && rc == PPML_OK; k++) {
        for (size_t t = 0; t < t_len; t++) {
            size_t bi = k * t_len + t;
            ppmli_mb_term *ta = &terms[2 * t], *tb = &terms[2 * t + 1];
            *ta = (ppmli_mb_term){tab_a + t * words, m->wa, j->b_slot, 0, {NULL}};
            *tb = (ppmli_mb_term){m->tab_b + bi * m->tab_b_words, m->wb, a->slot, 1, {NULL}};
            for (size_t l = 0; l < lanes; l++) {
                ta->exps[l] = j->sigma[bi];
                tb->exps[l] = a->off[base + AI(l, t)];
            }
        }
        rc = ppmli_mb_multiexp_terms(mb, acc, terms, 2 * t_len, lanes);
        if (rc == PPML_OK)
            ppmli_mb_store(mb, cross, acc, lanes);
        for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
            size_t q = j->by_cols ? k * a->cols + i0 + l : (i0 + l) * j->kb + k;
            mpz_set_ui(c, 0);
            for (size_t t = 0; t < t_len; t++)
                mpz_addmul(c, a->off[base + AI(l, t)], j->sigma[k * t_len + t]);
            rc = ppmli_unblind_finish(j->pk, j->res[q], j->reply[q], cross[l], c);
        }
    }
#undef AI
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_clear(cross[l]);
    mpz_clear(c);
    free(terms);
    ppmli_mb_buf_free(mb, acc, 1);
    ppmli_mb_buf_free(mb, tab_a, ents);
    return rc;
}

/* Unblind every output of j through the multi-buffer arithmetic. */
static int mb_unblind(ppml_proto_css *css, cached_job *j, const ppmli_mb *mb)
{
    const ppml_proto_cached *a = j->a;
    mb_job m = {j, mb, NULL, 0, 0, 0, j->by_cols ? a->cols : j->count};
    size_t groups = (m.n_idx + PPMLI_MB_LANES - 1) / PPMLI_MB_LANES, nb = j->kb * j->t_len;
    size_t threads = css->threads ? css->threads : 1;
    /* E(A)'s tables: t_len interleaved tables per group in flight (one group per thread) */
    m.wa = ppmli_mb_window(j->b_slot, j->kb);
    while (m.wa > 1 && threads * j->t_len * ppmli_mb_table_words(mb, m.wa, 0) * 8 > (tab_bytes_max >> 1))
        m.wa--;
    /* E(B)'s: single-valued, each read by every group */
    m.wb = ppmli_mb_window(a->slot, groups);
    while (m.wb > 1 && nb * ppmli_mb_table_words(mb, m.wb, 1) * 8 > (tab_bytes_max >> 1))
        m.wb--;
    m.tab_b_words = ppmli_mb_table_words(mb, m.wb, 1);
    size_t words;
    if (ppml_mul_size(&words, nb, m.tab_b_words) != PPML_OK)
        return PPML_EOVERFLOW;
    m.tab_b = malloc(words * sizeof *m.tab_b);
    if (!m.tab_b)
        return PPML_ENOMEM;
    int rc = ppmli_parallel_for(css->threads, (nb + PPMLI_MB_LANES - 1) / PPMLI_MB_LANES, mb_tables_b, &m);
    if (rc == PPML_OK)
        rc = ppmli_parallel_for(css->threads, groups, mb_group, &m);
    free(m.tab_b); /* powers of public ciphertexts */
    return rc;
}

/* A window for `count` tables of bases used `uses` times, shrunk until they fit the cap. */
static unsigned capped_window(unsigned bits, size_t uses, size_t count, size_t limbs)
{
    return fit_window(ppmli_mexp_window(bits, uses), 1, count, limbs);
}

/* Sizes of a product with `count` rows of a kept matrix of `cols` columns and kb vectors:
 * t_len = inner product length, nb = values of B, nout = outputs; every one bounded, and the
 * work (outputs x length) within PPMLI_CACHED_MAX_WORK. Both sides check the same shape. */
static int product_shape(size_t *t_len, size_t *nb, size_t *nout, size_t cols, size_t count, size_t kb,
                         int by_cols)
{
    size_t work;
    *t_len = by_cols ? count : cols;
    if (ppml_mul_size(nb, kb, *t_len) != PPML_OK || *nb > PPML_PROTO_MAX_VALUES ||
        ppml_mul_size(nout, kb, by_cols ? cols : count) != PPML_OK || *nout > PPML_PROTO_MAX_VALUES ||
        ppml_mul_size(&work, *nout, *t_len) != PPML_OK || work > PPMLI_CACHED_MAX_WORK)
        return PPML_ERANGE;
    return PPML_OK;
}

static int cached_product(ppml_proto_css *css, mpz_t *out, const ppml_proto_cached *a, size_t lo,
                          size_t count, const mpz_t *b, size_t kb, unsigned b_bits, int by_cols)
{
    if (!css || !a || !out || !b || count == 0 || kb == 0 || b_bits == 0)
        return PPML_EINVAL;
    if (lo > a->rows || count > a->rows - lo || kb > UINT32_MAX)
        return PPML_ERANGE;
    size_t t_len, nb, nout;
    if (product_shape(&t_len, &nb, &nout, a->cols, count, kb, by_cols) != PPML_OK)
        return PPML_ERANGE;
    unsigned slot = ppmli_additive_slot_bits(b_bits, css->kappa);
    int rc = ppmli_check_slot_bits(css->pk, slot);
    if (rc != PPML_OK)
        return rc;
    mpz_t *sigma = ppml_mpz_vec_new(nb), *blinded = ppml_mpz_vec_new(nb);
    mpz_t *reply = ppml_mpz_vec_new(nout), *res = ppml_mpz_vec_new(nout);
    rc = (sigma && blinded && reply && res) ? PPML_OK : PPML_ENOMEM;
    if (rc == PPML_OK)
        rc = ppmli_blind_vector(css, blinded, sigma, b, nb, b_bits);
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, a->id);
        ppml_write_u8(&w, by_cols ? 1 : 0);
        ppml_write_u32(&w, (uint32_t)lo);
        ppml_write_u32(&w, (uint32_t)count);
        ppml_write_u32(&w, (uint32_t)kb);
        ppml_write_u16(&w, (uint16_t)slot);
        rc = ppmli_css_send_packed(css, PPML_MSG_CACHED_MUL, &w, (const mpz_t *)blinded, nb, slot);
        ppml_writer_clear(&w);
    }
    if (rc == PPML_OK)
        rc = ppmli_css_recv_cts(css, PPML_MSG_CACHED_MUL, css->pk, reply, nout);
    size_t na = count * a->cols, limbs = mpz_size(ppml_paillier_pk_n2(css->pk));
    cached_job j = {css->pk, a, b, (const mpz_t *)sigma, reply, res, lo, count, kb, t_len, slot, by_cols,
                    NULL, 0, NULL, 0, 0};
    const ppmli_mb *mb = ppmli_paillier_pk_mb(css->pk);
    if (mb && (by_cols ? a->cols : count) >= PPMLI_MB_MIN_LANES) {
        if (rc == PPML_OK)
            rc = mb_unblind(css, &j, mb);
        goto done;
    }
    j.na_build = a->tab ? 0 : na;
    j.wa = capped_window(slot, kb, na, limbs);
    j.wb = capped_window(a->slot, by_cols ? a->cols : count, nb, limbs);
    j.tab_a = a->tab ? a->tab + lo * a->cols : calloc(na, sizeof *j.tab_a);
    j.tab_b = calloc(nb, sizeof *j.tab_b);
    if (rc == PPML_OK && (!j.tab_a || !j.tab_b))
        rc = PPML_ENOMEM;
    if (rc == PPML_OK)
        rc = ppmli_parallel_for(css->threads, j.na_build + nb, build_tab, &j);
    if (rc == PPML_OK)
        rc = ppmli_parallel_for(css->threads, nout, unblind_one, &j);
    for (size_t q = 0; j.tab_a && q < j.na_build; q++)
        ppmli_mexp_tab_clear(&j.tab_a[q]);
    for (size_t q = 0; j.tab_b && q < nb; q++)
        ppmli_mexp_tab_clear(&j.tab_b[q]);
    if (j.na_build)
        free(j.tab_a);
    free(j.tab_b);
done:
    if (rc == PPML_OK)
        for (size_t q = 0; q < nout; q++)
            mpz_swap(out[q], res[q]);
    ppml_mpz_vec_free(sigma, nb);
    ppml_mpz_vec_free(blinded, nb);
    ppml_mpz_vec_free(reply, nout);
    ppml_mpz_vec_free(res, nout);
    return rc;
}

int ppml_proto_cached_mul_rows(ppml_proto_css *css, mpz_t *out, const ppml_proto_cached *a, size_t lo,
                               size_t count, const mpz_t *b, size_t kb, unsigned b_bits)
{
    return cached_product(css, out, a, lo, count, b, kb, b_bits, 0);
}

int ppml_proto_cached_mul_cols(ppml_proto_css *css, mpz_t *out, const ppml_proto_cached *a, size_t lo,
                               size_t count, const mpz_t *b, size_t kb, unsigned b_bits)
{
    return cached_product(css, out, a, lo, count, b, kb, b_bits, 1);
}

/* ---- CCS ---- */

void ppmli_ccs_cache_clear(ppmli_ccs *ccs)
{
    for (size_t i = 0; i < PPMLI_CACHE_MAX; i++) {
        ppml_mpz_vec_free(ccs->cache[i].vals, ccs->cache[i].count);
        ccs->cache[i] = (ppmli_cache_entry){0};
    }
}

int ppmli_ccs_cache_put(ppmli_ccs *ccs, ppml_reader *r)
{
    uint32_t id, rows, cols;
    uint16_t slot;
    if (ppml_read_u32(r, &id) != PPML_OK || ppml_read_u32(r, &rows) != PPML_OK ||
        ppml_read_u32(r, &cols) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK)
        return PPML_EPROTO;
    size_t n;
    if (rows == 0 || cols == 0 || ppml_mul_size(&n, rows, cols) != PPML_OK || n > PPML_PROTO_MAX_VALUES)
        return PPML_EPROTO;
    /* the entry with this id is replaced; otherwise a free one */
    size_t at = PPMLI_CACHE_MAX, total = n;
    for (size_t i = 0; i < PPMLI_CACHE_MAX; i++) {
        if (ccs->cache[i].vals && ccs->cache[i].id == id)
            at = i;
        else if (ccs->cache[i].vals)
            total += ccs->cache[i].count;
    }
    for (size_t i = 0; i < PPMLI_CACHE_MAX && at == PPMLI_CACHE_MAX; i++)
        if (!ccs->cache[i].vals)
            at = i;
    if (at == PPMLI_CACHE_MAX || total > PPML_PROTO_MAX_VALUES)
        return PPML_EPROTO; /* bounded: at most PPMLI_CACHE_MAX matrices, MAX_VALUES values */
    mpz_t *vals = NULL;
    int rc = ppmli_ccs_read_slots(ccs, r, n, slot, &vals);
    if (rc != PPML_OK)
        return rc;
    ppml_mpz_vec_free(ccs->cache[at].vals, ccs->cache[at].count);
    ccs->cache[at] = (ppmli_cache_entry){id, rows, cols, n, vals};
    return ppml_channel_send(ccs->ch, (uint16_t)(PPML_MSG_CACHE_PUT | PPML_MSG_REPLY), NULL, 0);
}

int ppmli_ccs_cache_drop(ppmli_ccs *ccs, ppml_reader *r)
{
    uint32_t id;
    if (ppml_read_u32(r, &id) != PPML_OK || ppml_reader_done(r) != PPML_OK)
        return PPML_EPROTO;
    for (size_t i = 0; i < PPMLI_CACHE_MAX; i++)
        if (ccs->cache[i].vals && ccs->cache[i].id == id) {
            ppml_mpz_vec_free(ccs->cache[i].vals, ccs->cache[i].count);
            ccs->cache[i] = (ppmli_cache_entry){0};
            return ppml_channel_send(ccs->ch, (uint16_t)(PPML_MSG_CACHE_DROP | PPML_MSG_REPLY), NULL, 0);
        }
    return PPML_EPROTO; /* no such matrix */
}

int ppmli_ccs_cached_mul(ppmli_ccs *ccs, ppml_reader *r)
{
    uint32_t id, lo, count, kb;
    uint8_t by_cols;
    uint16_t slot;
    if (ppml_read_u32(r, &id) != PPML_OK || ppml_read_u8(r, &by_cols) != PPML_OK ||
        ppml_read_u32(r, &lo) != PPML_OK || ppml_read_u32(r, &count) != PPML_OK ||
        ppml_read_u32(r, &kb) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK)
        return PPML_EPROTO;
    const ppmli_cache_entry *e = NULL;
    for (size_t i = 0; i < PPMLI_CACHE_MAX; i++)
        if (ccs->cache[i].vals && ccs->cache[i].id == id)
            e = &ccs->cache[i];
    if (!e || by_cols > 1 || count == 0 || kb == 0 || lo > e->rows || count > e->rows - lo)
        return PPML_EPROTO;
    size_t t_len, nb, nout;
    if (product_shape(&t_len, &nb, &nout, e->cols, count, kb, by_cols) != PPML_OK)
        return PPML_EPROTO; /* bounded: a request costs CCS at most MAX_WORK multiply-adds */
    mpz_t *bv = NULL;
    int rc = ppmli_ccs_read_slots(ccs, r, nb, slot, &bv);
    if (rc != PPML_OK)
        return rc;
    mpz_t *plain = ppml_mpz_vec_new(nout);
    if (!plain) {
        ppml_mpz_vec_free(bv, nb);
        return PPML_ENOMEM;
    }
    for (size_t q = 0; q < nout; q++) {
        size_t i = by_cols ? q % e->cols : q / kb, k = by_cols ? q / e->cols : q % kb;
        for (size_t t = 0; t < t_len; t++) {
            size_t ai = by_cols ? ((size_t)lo + t) * e->cols + i : ((size_t)lo + i) * e->cols + t;
            mpz_addmul(plain[q], e->vals[ai], bv[k * t_len + t]);
        }
    }
    rc = ppmli_ccs_reply_encrypted(ccs, PPML_MSG_CACHED_MUL, NULL, plain, nout);
    ppml_mpz_vec_free(plain, nout);
    ppml_mpz_vec_free(bv, nb);
    return rc;
}
