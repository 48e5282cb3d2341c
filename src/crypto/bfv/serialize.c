/* Serialization of every BFV object: the versioned header of ppml/serial.h with the params id,
 * then the body. Residues are bit-packed (see write_res), each checked below its modulus on load;
 * every size is derived from the params and checked against the input length before any
 * allocation. */
#include "crypto/bfv/bfv_internal.h"
#include "ppml/mem.h"
#include "ppml/serial.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void bfv_params_body(const ppml_bfv_params *p, ppml_writer *w);

/* Ciphertext header flag: c1 is replaced by the 32-byte seed of its uniform NTT form. */
#define BFV_CT_SEEDED 1
#define BFV_CT_SEED_STREAM 2
int bfv_sk_from_coeffs(const ppml_bfv_params *p, const int8_t *s, ppml_bfv_sk **out);

/* Residues are bit-packed: row r (n residues modulo moduli[r % period]) takes
 * n * bits(modulus) bits, little endian, in ceil(n * bits / 8) bytes (n is a multiple of 16,
 * so rows end on byte boundaries). At n = 8192 with the default chain this makes ciphertexts
 * about 2/3 of the 8-bytes-per-residue size. */
static unsigned mod_bits(uint64_t q) { return 64 - (unsigned)__builtin_clzll(q); }

static size_t res_bytes(size_t rows, size_t n, const uint64_t *moduli, size_t period)
{
    size_t total = 0;
    for (size_t r = 0; r < rows; r++)
        total += (n * mod_bits(moduli[r % period]) + 7) / 8;
    return total;
}

/* Little-endian word I/O (compilers turn these into single loads and stores). */
static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Packing works a 64-bit word at a time with 64-bit shifts only (every shift count stays in
 * [0, 63]): cur holds the have < 64 bits not yet written; a residue (b <= 61 bits) fills it
 * and its leftover high bits start the next word. Output goes straight into the writer's
 * buffer (reserved once for every row). */
static void write_res(ppml_writer *w, const uint64_t *v, size_t rows, size_t n, const uint64_t *moduli,
                      size_t period)
{
    if (ppml_writer_reserve(w, res_bytes(rows, n, moduli, period)))
        return; /* the error is sticky in w */
    for (size_t r = 0; r < rows; r++) {
        const unsigned b = mod_bits(moduli[r % period]);
        const uint64_t *x = v + r * n;
        uint8_t *dst = w->data + w->len;
        uint64_t cur = 0;
        unsigned have = 0;
        size_t pos = 0;
        for (size_t c = 0; c < n; c++) {
            const uint64_t xc = x[c];
            cur |= xc << have;
            if (have + b >= 64) { /* then have >= 64 - b >= 3 > 0 */
                put_le64(dst + pos, cur);
                pos += 8;
                cur = xc >> (64 - have);
                have = have + b - 64;
            } else {
                have += b;
            }
        }
        for (; have; have = have > 8 ? have - 8 : 0) { /* the row's last partial word */
            dst[pos++] = (uint8_t)cur;
            cur >>= 8;
        }
        w->len += pos; /* = (n * b + 7) / 8, within the reservation */
    }
}

static int read_res(ppml_reader *r, uint64_t *v, size_t rows, size_t n, const uint64_t *moduli, size_t period)
{
    uint64_t bad = 0;
    for (size_t row = 0; row < rows; row++) {
        const uint64_t q = moduli[row % period];
        const unsigned b = mod_bits(q);
        const uint64_t mask = b >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << b) - 1);
        const size_t bytes = (n * b + 7) / 8;
        const uint8_t *src;
        if (ppml_read_view(r, &src, bytes))
            return PPML_EFORMAT;
        uint64_t cur = 0; /* have < 64 unread bits, low end first */
        unsigned have = 0;
        size_t pos = 0;
        uint64_t *x = v + row * n;
        for (size_t c = 0; c < n; c++) {
            uint64_t val;
            if (have >= b) {
                val = cur & mask;
                cur >>= b;
                have -= b;
            } else {
                uint64_t nw = 0;
                unsigned got;
                if (bytes - pos >= 8) {
                    nw = get_le64(src + pos);
                    pos += 8;
                    got = 64;
                } else { /* the row's last partial word: n * b bits fit in the row */
                    got = 0;
                    while (pos < bytes) {
                        nw |= (uint64_t)src[pos++] << got;
                        got += 8;
                    }
                }
                const unsigned used = b - have; /* 1..61 bits of nw */
                val = (cur | nw << have) & mask;
                cur = nw >> used;
                have = got - used;
            }
            x[c] = val;
            bad |= (uint64_t)(val >= q);
        }
        bad |= (uint64_t)(cur != 0); /* padding bits must be zero */
    }
    return bad ? PPML_ERANGE : PPML_OK;
}

static int finish(ppml_writer *w, uint8_t **out, size_t *len)
{
    int rc = ppml_writer_finish(w, 0);
    if (rc) {
        ppml_writer_clear(w);
        return rc;
    }
    return ppml_writer_take(w, out, len);
}

/* Opens an object: header checks (type, params id) and the exact body length. */
static int open_obj(ppml_reader *r, const ppml_bfv_params *p, uint16_t type, const uint8_t *buf,
                    size_t len, size_t body)
{
    ppml_header h;
    ppml_reader_init(r, buf, len);
    int rc = ppml_read_header(r, &h, type, p->id);
    if (rc)
        return rc;
    return h.flags == 0 && ppml_reader_left(r) == body ? PPML_OK : PPML_EFORMAT;
}

/* ---- params ---- */
int ppml_bfv_params_save(const ppml_bfv_params *p, uint8_t **out, size_t *len)
{
    if (!p || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_BFV_PARAMS, 0, p->id);
    bfv_params_body(p, &w);
    return finish(&w, out, len);
}

int ppml_bfv_params_load(ppml_bfv_params **out, const uint8_t *buf, size_t len)
{
    if (!out || !buf)
        return PPML_EINVAL;
    ppml_reader r;
    ppml_header h;
    ppml_reader_init(&r, buf, len);
    int rc = ppml_read_header(&r, &h, PPML_T_BFV_PARAMS, NULL);
    if (rc)
        return rc;
    if (h.flags != 0)
        return PPML_EFORMAT;
    uint32_t n;
    uint64_t t, primes[PPML_BFV_MAX_PRIMES];
    uint8_t count, insecure;
    if (ppml_read_u32(&r, &n) || ppml_read_u64(&r, &t) || ppml_read_u8(&r, &count))
        return PPML_EFORMAT;
    if (count < 2 || count > PPML_BFV_MAX_PRIMES)
        return PPML_EFORMAT;
    for (size_t i = 0; i < count; i++)
        if (ppml_read_u64(&r, &primes[i]))
            return PPML_EFORMAT;
    if (ppml_read_u8(&r, &insecure) || insecure > 1 || ppml_reader_done(&r))
        return PPML_EFORMAT;
    ppml_bfv_params *p;
    rc = insecure ? ppml_bfv_params_new_insecure_for_tests(&p, n, primes, count, t)
                  : ppml_bfv_params_new(&p, n, primes, count, t);
    if (rc)
        return rc;
    if (memcmp(p->id, h.param_id, 32) != 0) {
        ppml_bfv_params_free(p);
        return PPML_EMISMATCH;
    }
    *out = p;
    return PPML_OK;
}

/* ---- secret key: n signed bytes ---- */
int ppml_bfv_sk_save(const ppml_bfv_sk *sk, uint8_t **out, size_t *len)
{
    if (!sk || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_BFV_SK, 0, sk->p->id);
    ppml_write_bytes(&w, sk->s, sk->p->n);
    return finish(&w, out, len); /* the writer wipes its old blocks; caller wipes *out */
}

int ppml_bfv_sk_load(const ppml_bfv_params *p, ppml_bfv_sk **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_reader r;
    int rc = open_obj(&r, p, PPML_T_BFV_SK, buf, len, p->n);
    if (rc)
        return rc;
    const uint8_t *s;
    if (ppml_read_view(&r, &s, p->n))
        return PPML_EFORMAT;
    uint8_t bad = 0;
    for (size_t i = 0; i < p->n; i++) {
        int8_t v = (int8_t)s[i];
        bad |= (uint8_t)(v < -2 || v > 2); /* ternary, or the sum of two ternary shares */
    }
    if (bad)
        return PPML_ERANGE;
    return bfv_sk_from_coeffs(p, (const int8_t *)s, out);
}

/* ---- public key ---- */
int ppml_bfv_pk_save(const ppml_bfv_pk *pk, uint8_t **out, size_t *len)
{
    if (!pk || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_BFV_PK, 0, pk->p->id);
    write_res(&w, pk->data, 2 * pk->p->np, pk->p->n, pk->p->primes, pk->p->np);
    return finish(&w, out, len);
}

int ppml_bfv_pk_load(const ppml_bfv_params *p, ppml_bfv_pk **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_reader r;
    int rc = open_obj(&r, p, PPML_T_BFV_PK, buf, len, res_bytes(2 * p->np, p->n, p->primes, p->np));
    if (rc)
        return rc;
    ppml_bfv_pk *pk = calloc(1, sizeof *pk);
    if (!pk)
        return PPML_ENOMEM;
    pk->p = p;
    pk->data = bfv_alloc_words(bfv_pk_words(p));
    if (!pk->data) {
        free(pk);
        return PPML_ENOMEM;
    }
    rc = read_res(&r, pk->data, 2 * p->np, p->n, p->primes, p->np);
    if (rc) {
        ppml_bfv_pk_free(pk);
        return rc;
    }
    bfv_pk_finish(pk);
    *out = pk;
    return PPML_OK;
}

/* ---- key-switching keys (rlk, rkey, rkg share) ---- */
static int ksk_save(const ppml_bfv_params *p, const bfv_ksk *key, uint16_t type, uint8_t **out, size_t *len)
{
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, type, 0, p->id);
    write_res(&w, key->data, p->k * 2 * p->np, p->n, p->primes, p->np);
    return finish(&w, out, len);
}

static int ksk_read(ppml_reader *r, const ppml_bfv_params *p, bfv_ksk *key)
{
    key->data = bfv_alloc_words(bfv_ksk_words(p));
    if (!key->data)
        return PPML_ENOMEM;
    int rc = read_res(r, key->data, p->k * 2 * p->np, p->n, p->primes, p->np);
    if (rc)
        bfv_ksk_free(p, key);
    return rc;
}

static int ksk_load(const ppml_bfv_params *p, bfv_ksk *key, uint16_t type, const uint8_t *buf, size_t len)
{
    ppml_reader r;
    int rc = open_obj(&r, p, type, buf, len, res_bytes(p->k * 2 * p->np, p->n, p->primes, p->np));
    if (rc)
        return rc;
    return ksk_read(&r, p, key);
}

int ppml_bfv_rlk_save(const ppml_bfv_rlk *rlk, uint8_t **out, size_t *len)
{
    if (!rlk || !out || !len)
        return PPML_EINVAL;
    return ksk_save(rlk->p, &rlk->key, PPML_T_BFV_RLK, out, len);
}

int ppml_bfv_rlk_load(const ppml_bfv_params *p, ppml_bfv_rlk **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_bfv_rlk *rlk = calloc(1, sizeof *rlk);
    if (!rlk)
        return PPML_ENOMEM;
    rlk->p = p;
    int rc = ksk_load(p, &rlk->key, PPML_T_BFV_RLK, buf, len);
    if (rc) {
        free(rlk);
        return rc;
    }
    *out = rlk;
    return PPML_OK;
}

int ppml_bfv_rkey_save(const ppml_bfv_rkey *rk, uint8_t **out, size_t *len)
{
    if (!rk || !out || !len)
        return PPML_EINVAL;
    return ksk_save(rk->p, &rk->key, PPML_T_BFV_RKEY, out, len);
}

int ppml_bfv_rkey_load(const ppml_bfv_params *p, ppml_bfv_rkey **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_bfv_rkey *rk = calloc(1, sizeof *rk);
    if (!rk)
        return PPML_ENOMEM;
    rk->p = p;
    int rc = ksk_load(p, &rk->key, PPML_T_BFV_RKEY, buf, len);
    if (rc) {
        free(rk);
        return rc;
    }
    *out = rk;
    return PPML_OK;
}

int ppml_bfv_rkg_share_save(const ppml_bfv_rkg_share *sh, uint8_t **out, size_t *len)
{
    if (!sh || !out || !len)
        return PPML_EINVAL;
    return ksk_save(sh->p, &sh->key, PPML_T_BFV_RKG_SHARE, out, len);
}

int ppml_bfv_rkg_share_load(const ppml_bfv_params *p, ppml_bfv_rkg_share **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_bfv_rkg_share *sh = calloc(1, sizeof *sh);
    if (!sh)
        return PPML_ENOMEM;
    sh->p = p;
    int rc = ksk_load(p, &sh->key, PPML_T_BFV_RKG_SHARE, buf, len);
    if (rc) {
        free(sh);
        return rc;
    }
    *out = sh;
    return PPML_OK;
}

/* ---- Galois keys: u32 count, then per key: u32 element, key residues ---- */
int ppml_bfv_galk_save(const ppml_bfv_galk *gk, uint8_t **out, size_t *len)
{
    if (!gk || !out || !len)
        return PPML_EINVAL;
    const ppml_bfv_params *p = gk->p;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_BFV_GALK, 0, p->id);
    ppml_write_u32(&w, (uint32_t)gk->count);
    for (size_t i = 0; i < gk->count; i++) {
        ppml_write_u32(&w, gk->elt[i]);
        write_res(&w, gk->keys[i].data, p->k * 2 * p->np, p->n, p->primes, p->np);
    }
    return finish(&w, out, len);
}

int ppml_bfv_galk_load(const ppml_bfv_params *p, ppml_bfv_galk **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_reader r;
    ppml_header h;
    ppml_reader_init(&r, buf, len);
    int rc = ppml_read_header(&r, &h, PPML_T_BFV_GALK, p->id);
    if (rc)
        return rc;
    if (h.flags != 0)
        return PPML_EFORMAT;
    uint32_t count;
    if (ppml_read_u32(&r, &count))
        return PPML_EFORMAT;
    size_t per = 4 + res_bytes(p->k * 2 * p->np, p->n, p->primes, p->np), body;
    if (count > p->n || ppml_mul_size(&body, count, per) || ppml_reader_left(&r) != body)
        return PPML_EFORMAT;
    ppml_bfv_galk *gk = calloc(1, sizeof *gk);
    if (!gk)
        return PPML_ENOMEM;
    gk->p = p;
    gk->elt = malloc((count ? count : 1) * sizeof *gk->elt);
    gk->keys = calloc(count ? count : 1, sizeof *gk->keys);
    if (!gk->elt || !gk->keys) {
        ppml_bfv_galk_free(gk);
        return PPML_ENOMEM;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t g;
        if (ppml_read_u32(&r, &g) || !(g & 1) || g >= 2 * p->n || g == 1 || (i && g <= gk->elt[i - 1])) {
            ppml_bfv_galk_free(gk);
            return PPML_EFORMAT;
        }
        gk->elt[i] = g;
        rc = ksk_read(&r, p, &gk->keys[i]);
        if (rc) {
            ppml_bfv_galk_free(gk);
            return rc;
        }
        gk->count = i + 1;
    }
    *out = gk;
    return PPML_OK;
}

/* ---- plaintext: n coefficients < t ---- */
int ppml_bfv_pt_save(const ppml_bfv_pt *pt, uint8_t **out, size_t *len)
{
    if (!pt || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_BFV_PT, 0, pt->p->id);
    write_res(&w, pt->coef, 1, pt->p->n, &pt->p->t, 1);
    return finish(&w, out, len);
}

int ppml_bfv_pt_load(const ppml_bfv_params *p, ppml_bfv_pt **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_reader r;
    int rc = open_obj(&r, p, PPML_T_BFV_PT, buf, len, res_bytes(1, p->n, &p->t, 1));
    if (rc)
        return rc;
    ppml_bfv_pt *pt;
    rc = ppml_bfv_pt_new(p, &pt);
    if (rc)
        return rc;
    rc = read_res(&r, pt->coef, 1, p->n, &p->t, 1);
    if (rc) {
        ppml_bfv_pt_free(pt);
        return rc;
    }
    *out = pt;
    return PPML_OK;
}

/* ---- ciphertext: u8 size (2 or 3), size * k rows ---- */
size_t ppml_bfv_ct_bytes(const ppml_bfv_ct *ct)
{
    return PPML_HEADER_LEN + 1 + res_bytes(ct->size * ct->p->k, ct->p->n, ct->p->primes, ct->p->k);
}

int ppml_bfv_ct_save(const ppml_bfv_ct *ct, uint8_t **out, size_t *len)
{
    if (!ct || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_BFV_CT, 0, ct->p->id);
    ppml_write_u8(&w, (uint8_t)ct->size);
    write_res(&w, ct->data, ct->size * ct->p->k, ct->p->n, ct->p->primes, ct->p->k);
    return finish(&w, out, len);
}

int ppml_bfv_ct_load(const ppml_bfv_params *p, ppml_bfv_ct **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_reader r;
    ppml_header h;
    ppml_reader_init(&r, buf, len);
    int rc = ppml_read_header(&r, &h, PPML_T_BFV_CT, p->id);
    if (rc)
        return rc;
    uint8_t size;
    const size_t kn = p->k * p->n;
    int seeded = h.flags == BFV_CT_SEEDED;
    if ((h.flags & ~BFV_CT_SEEDED) || ppml_read_u8(&r, &size) || size < 2 || size > 3 || (seeded && size != 2))
        return PPML_EFORMAT;
    size_t rows = seeded ? p->k : size * p->k;
    if (ppml_reader_left(&r) != res_bytes(rows, p->n, p->primes, p->k) + (seeded ? PPML_SEED_BYTES : 0))
        return PPML_EFORMAT;
    ppml_bfv_ct *ct;
    rc = ppml_bfv_ct_new(p, &ct);
    if (rc)
        return rc;
    rc = read_res(&r, ct->data, rows, p->n, p->primes, p->k);
    if (rc == PPML_OK && seeded) {
        /* c1 = INTT(a), a expanded from the seed exactly as at encryption. */
        const uint8_t *seed;
        if (ppml_read_view(&r, &seed, PPML_SEED_BYTES)) {
            rc = PPML_EFORMAT;
        } else {
            ppml_prg prg;
            ppml_prg_init(&prg, seed, BFV_CT_SEED_STREAM);
            bfv_uniform_ntt(p, ct->data + kn, p->k, &prg);
            ppml_prg_clear(&prg);
            for (size_t i = 0; i < p->k; i++)
                ppmli_ntt_inv(&p->ntt[i], ct->data + kn + i * p->n);
        }
    }
    if (rc) {
        ppml_bfv_ct_free(ct);
        return rc;
    }
    ct->size = size;
    *out = ct;
    return PPML_OK;
}

int bfv_encrypt_sk_prg(const ppml_bfv_sk *sk, ppml_bfv_ct *ct, const ppml_bfv_pt *pt, ppml_prg *prg, int c1_coeff);

int ppml_bfv_encrypt_sk_save(const ppml_bfv_sk *sk, const ppml_bfv_pt *pt, uint8_t **out, size_t *len)
{
    if (!sk || !pt || !out || !len)
        return PPML_EINVAL;
    const ppml_bfv_params *p = sk->p;
    if (pt->p != p)
        return PPML_EMISMATCH;
    ppml_bfv_ct *ct;
    int rc = ppml_bfv_ct_new(p, &ct);
    if (rc)
        return rc;
    uint8_t seed[PPML_SEED_BYTES];
    ppml_randombytes(seed, sizeof seed); /* public: it only expands the uniform "a" */
    ppml_prg prg;
    ppml_prg_init(&prg, seed, BFV_CT_SEED_STREAM);
    rc = bfv_encrypt_sk_prg(sk, ct, pt, &prg, 0); /* only c0 is written */
    ppml_prg_clear(&prg);
    if (rc == PPML_OK) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_header(&w, PPML_T_BFV_CT, BFV_CT_SEEDED, p->id);
        ppml_write_u8(&w, 2);
        write_res(&w, ct->data, p->k, p->n, p->primes, p->k);
        ppml_write_bytes(&w, seed, sizeof seed);
        rc = finish(&w, out, len);
    }
    ppml_bfv_ct_free(ct);
    return rc;
}

/* ---- public polynomial (collective key share) and decryption share ---- */
int ppml_bfv_poly_save(const ppml_bfv_poly *poly, uint8_t **out, size_t *len)
{
    if (!poly || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_BFV_POLY, 0, poly->p->id);
    write_res(&w, poly->data, poly->p->np, poly->p->n, poly->p->primes, poly->p->np);
    return finish(&w, out, len);
}

int ppml_bfv_poly_load(const ppml_bfv_params *p, ppml_bfv_poly **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_reader r;
    size_t words = p->np * p->n;
    int rc = open_obj(&r, p, PPML_T_BFV_POLY, buf, len, res_bytes(p->np, p->n, p->primes, p->np));
    if (rc)
        return rc;
    ppml_bfv_poly *poly = calloc(1, sizeof *poly);
    if (!poly)
        return PPML_ENOMEM;
    poly->p = p;
    poly->data = bfv_alloc_words(words);
    if (!poly->data) {
        free(poly);
        return PPML_ENOMEM;
    }
    rc = read_res(&r, poly->data, p->np, p->n, p->primes, p->np);
    if (rc) {
        ppml_bfv_poly_free(poly);
        return rc;
    }
    *out = poly;
    return PPML_OK;
}

int ppml_bfv_decshare_save(const ppml_bfv_decshare *d, uint8_t **out, size_t *len)
{
    if (!d || !out || !len)
        return PPML_EINVAL;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_BFV_DECSHARE, 0, d->p->id);
    write_res(&w, d->data, d->p->k, d->p->n, d->p->primes, d->p->k);
    return finish(&w, out, len);
}

int ppml_bfv_decshare_load(const ppml_bfv_params *p, ppml_bfv_decshare **out, const uint8_t *buf, size_t len)
{
    if (!p || !out || !buf)
        return PPML_EINVAL;
    ppml_reader r;
    size_t words = p->k * p->n;
    int rc = open_obj(&r, p, PPML_T_BFV_DECSHARE, buf, len, res_bytes(p->k, p->n, p->primes, p->k));
    if (rc)
        return rc;
    ppml_bfv_decshare *d = calloc(1, sizeof *d);
    if (!d)
        return PPML_ENOMEM;
    d->p = p;
    d->data = bfv_alloc_words(words);
    if (!d->data) {
        free(d);
        return PPML_ENOMEM;
    }
    rc = read_res(&r, d->data, p->k, p->n, p->primes, p->k);
    if (rc) {
        ppml_bfv_decshare_free(d);
        return rc;
    }
    *out = d;
    return PPML_OK;
}
