/* DT-PKC serialization: params, user keys, strong key, partial keys, ciphertexts.
 * Bodies (after the 52-byte header, serial.h), mpz = u32 length + little-endian magnitude:
 *   params  : u32 bits | mpz N | mpz g                 header id = params id (recomputed)
 *   user pk : mpz h                                    header id = params id
 *   user sk : mpz theta | mpz h                        header id = params id
 *   strong  : mpz lambda                               header id = params id
 *   partial : u8 index | mpz share                     header id = params id
 *   ct      : mpz T1 | mpz T2                          header id = user key id
 *   ctvec   : u64 count | count x (mpz T1 | mpz T2)    header id = user key id */
#include "dtpkc_internal.h"
#include "ppml/mem.h"

#include <stdlib.h>
#include <string.h>


static int finish(ppml_writer *w, uint8_t **out, size_t *len)
{
    int e = ppml_writer_finish(w, 0);
    if (e) {
        ppml_writer_clear(w);
        return e;
    }
    return ppml_writer_take(w, out, len);
}

int ppml_dtpkc_params_save(const ppml_dtpkc_params *pp, uint8_t **out, size_t *len)
{
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_DTPKC_PARAMS, 0, pp->id);
    ppml_write_u32(&w, pp->bits);
    ppml_write_mpz(&w, pp->n);
    ppml_write_mpz(&w, pp->g);
    return finish(&w, out, len);
}

int ppmli_dtpkc_params_validate(const ppml_dtpkc_params *pp, unsigned min_bits)
{
    if (pp->bits > PPML_DTPKC_MAX_BITS)
        return PPML_ERANGE;
    if (pp->bits < min_bits)
        return PPML_EWEAK;
    if (mpz_even_p(pp->n) || mpz_perfect_square_p(pp->n) || ppmli_dtpkc_small_factor(pp->n))
        return PPML_EFORMAT;
    if (mpz_cmp_ui(pp->g, 1) <= 0 || mpz_cmp(pp->g, pp->n2) >= 0)
        return PPML_ERANGE;
    int e = ppmli_dtpkc_check_unit(pp, pp->g);
    if (e)
        return e;
    /* g = -a^(2N): Jacobi(g, N) = (-1/p)(-1/q) = 1 as p = q = 3 mod 4. */
    if (mpz_jacobi(pp->g, pp->n) != 1)
        return PPML_EFORMAT;
    return PPML_OK;
}

static int params_load(ppml_dtpkc_params **out, const uint8_t *buf, size_t len, unsigned min_bits)
{
    ppml_reader r;
    ppml_header h;
    uint32_t bits;
    int e;
    ppml_reader_init(&r, buf, len);
    if ((e = ppml_read_header(&r, &h, PPML_T_DTPKC_PARAMS, NULL)) || (e = ppml_read_u32(&r, &bits)))
        return e;
    if (bits > PPML_DTPKC_MAX_BITS || bits < 2)
        return PPML_ERANGE;
    if (bits < min_bits)
        return PPML_EWEAK;
    ppml_dtpkc_params *pp = ppmli_dtpkc_params_alloc();
    if (!pp)
        return PPML_ENOMEM;
    if ((e = ppml_read_mpz(&r, pp->n, (bits + 7) / 8)) || (e = ppml_read_mpz(&r, pp->g, 2 * ((bits + 7) / 8))) ||
        (e = ppml_reader_done(&r)))
        goto fail;
    e = PPML_EFORMAT;
    if (mpz_sizeinbase(pp->n, 2) != bits)
        goto fail;
    ppmli_dtpkc_params_finish(pp);
    if ((e = ppmli_dtpkc_params_validate(pp, min_bits)))
        goto fail;
    if (memcmp(pp->id, h.param_id, PPML_PARAM_ID_BYTES) != 0) {
        e = PPML_EFORMAT;
        goto fail;
    }
    *out = pp;
    return PPML_OK;
fail:
    ppml_dtpkc_params_free(pp);
    return e;
}

int ppml_dtpkc_params_load(ppml_dtpkc_params **out, const uint8_t *buf, size_t len)
{
    return params_load(out, buf, len, PPML_DTPKC_MIN_BITS);
}

int ppml_dtpkc_params_load_insecure_for_tests(ppml_dtpkc_params **out, const uint8_t *buf, size_t len)
{
    return params_load(out, buf, len, PPML_DTPKC_TEST_MIN_BITS);
}

static size_t n_bytes(const ppml_dtpkc_params *pp) { return (pp->bits + 7) / 8; }

/* h in (1, N^2), gcd(h, N) = 1 and Jacobi(h, N) = 1 (h = g^theta). */
static int check_h(const ppml_dtpkc_params *pp, const mpz_t h)
{
    if (mpz_cmp_ui(h, 1) <= 0)
        return PPML_ERANGE;
    int e = ppmli_dtpkc_check_unit(pp, h);
    if (e)
        return e;
    return mpz_jacobi(h, pp->n) == 1 ? PPML_OK : PPML_EFORMAT;
}

int ppml_dtpkc_pk_save(const ppml_dtpkc_pk *pk, uint8_t **out, size_t *len)
{
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_DTPKC_USER_PK, 0, pk->pp->id);
    ppml_write_mpz(&w, pk->h);
    return finish(&w, out, len);
}

int ppml_dtpkc_pk_load(ppml_dtpkc_pk **out, const ppml_dtpkc_params *pp, const uint8_t *buf, size_t len)
{
    ppml_reader r;
    int e;
    mpz_t h;
    ppml_reader_init(&r, buf, len);
    if ((e = ppml_read_header(&r, NULL, PPML_T_DTPKC_USER_PK, pp->id)))
        return e;
    mpz_init(h);
    if (!(e = ppml_read_mpz(&r, h, 2 * n_bytes(pp))) && !(e = ppml_reader_done(&r)) && !(e = check_h(pp, h))) {
        ppml_dtpkc_pk *pk = ppmli_dtpkc_pk_new(pp, h);
        if (pk)
            *out = pk;
        else
            e = PPML_ENOMEM;
    }
    mpz_clear(h);
    return e;
}

int ppml_dtpkc_sk_save(const ppml_dtpkc_sk *sk, uint8_t **out, size_t *len)
{
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_DTPKC_USER_SK, 0, sk->pk->pp->id);
    ppml_write_mpz(&w, sk->theta);
    ppml_write_mpz(&w, sk->pk->h);
    return finish(&w, out, len);
}

int ppml_dtpkc_sk_load(ppml_dtpkc_sk **out, const ppml_dtpkc_params *pp, const uint8_t *buf, size_t len)
{
    ppml_reader r;
    int e;
    ppml_reader_init(&r, buf, len);
    if ((e = ppml_read_header(&r, NULL, PPML_T_DTPKC_USER_SK, pp->id)))
        return e;
    ppml_dtpkc_sk *sk = calloc(1, sizeof *sk);
    if (!sk)
        return PPML_ENOMEM;
    mpz_t h, t;
    mpz_init(sk->theta);
    mpz_inits(h, t, NULL);
    if ((e = ppml_read_mpz(&r, sk->theta, n_bytes(pp))) || (e = ppml_read_mpz(&r, h, 2 * n_bytes(pp))) ||
        (e = ppml_reader_done(&r)))
        goto done;
    e = PPML_ERANGE;
    if (mpz_sgn(sk->theta) == 0 || mpz_sizeinbase(sk->theta, 2) > pp->bits / 4)
        goto done;
    if ((e = check_h(pp, h)))
        goto done;
    mpz_powm_sec(t, pp->g, sk->theta, pp->n2);
    if (mpz_cmp(t, h) != 0) {
        e = PPML_ECRYPTO;
        goto done;
    }
    sk->pk = ppmli_dtpkc_pk_new(pp, h);
    e = sk->pk ? PPML_OK : PPML_ENOMEM;
done:
    if (e) {
        ppml_dtpkc_sk_free(sk);
    } else {
        *out = sk;
    }
    mpz_clears(h, t, NULL);
    return e;
}

int ppml_dtpkc_strong_save(const ppml_dtpkc_strong_sk *sk, uint8_t **out, size_t *len)
{
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_DTPKC_STRONG_SK, 0, sk->pp->id);
    ppml_write_mpz(&w, sk->lambda);
    return finish(&w, out, len);
}

int ppml_dtpkc_strong_load(ppml_dtpkc_strong_sk **out, const ppml_dtpkc_params *pp, const uint8_t *buf,
                           size_t len)
{
    ppml_reader r;
    int e;
    ppml_reader_init(&r, buf, len);
    if ((e = ppml_read_header(&r, NULL, PPML_T_DTPKC_STRONG_SK, pp->id)))
        return e;
    ppml_dtpkc_strong_sk *sk = calloc(1, sizeof *sk);
    if (!sk)
        return PPML_ENOMEM;
    sk->pp = pp;
    mpz_inits(sk->lambda, sk->lambda_inv, NULL);
    mpz_t t;
    mpz_init(t);
    if ((e = ppml_read_mpz(&r, sk->lambda, n_bytes(pp))) || (e = ppml_reader_done(&r)))
        goto done;
    e = PPML_ERANGE;
    if (mpz_sgn(sk->lambda) == 0 || mpz_cmp(sk->lambda, pp->n) >= 0)
        goto done;
    e = PPML_ECRYPTO;
    if (!mpz_invert(sk->lambda_inv, sk->lambda, pp->n))
        goto done;
    mpz_powm_sec(t, pp->g, sk->lambda, pp->n2);
    if (mpz_cmp_ui(t, 1) != 0)
        goto done;
    e = PPML_OK;
done:
    mpz_clear(t);
    if (e)
        ppml_dtpkc_strong_free(sk);
    else
        *out = sk;
    return e;
}

int ppml_dtpkc_partial_save(const ppml_dtpkc_partial_sk *sk, uint8_t **out, size_t *len)
{
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_DTPKC_PARTIAL_SK, 0, sk->pp->id);
    ppml_write_u8(&w, (uint8_t)sk->index);
    ppml_write_mpz(&w, sk->share);
    return finish(&w, out, len);
}

int ppml_dtpkc_partial_load(ppml_dtpkc_partial_sk **out, const ppml_dtpkc_params *pp, const uint8_t *buf,
                            size_t len)
{
    ppml_reader r;
    uint8_t index;
    int e;
    ppml_reader_init(&r, buf, len);
    if ((e = ppml_read_header(&r, NULL, PPML_T_DTPKC_PARTIAL_SK, pp->id)) || (e = ppml_read_u8(&r, &index)))
        return e;
    if (index != 1 && index != 2)
        return PPML_EFORMAT;
    ppml_dtpkc_partial_sk *sk = calloc(1, sizeof *sk);
    if (!sk)
        return PPML_ENOMEM;
    sk->pp = pp;
    sk->index = index;
    mpz_init(sk->share);
    /* share < lambda*N < N^2. */
    if (!(e = ppml_read_mpz(&r, sk->share, 2 * n_bytes(pp))) && !(e = ppml_reader_done(&r)) &&
        (mpz_sgn(sk->share) == 0 || mpz_cmp(sk->share, pp->n2) >= 0))
        e = PPML_ERANGE;
    if (e)
        ppml_dtpkc_partial_free(sk);
    else
        *out = sk;
    return e;
}

int ppml_dtpkc_ct_save(const ppml_dtpkc_pk *pk, const ppml_dtpkc_ct *ct, uint8_t **out, size_t *len)
{
    if (ppml_dtpkc_ct_check(pk->pp, ct))
        return PPML_ERANGE;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_DTPKC_CT, 0, pk->id);
    ppml_write_mpz(&w, ct->t1);
    ppml_write_mpz(&w, ct->t2);
    return finish(&w, out, len);
}

/* Read one (T1, T2) and check it. */
static int read_ct(ppml_reader *r, const ppml_dtpkc_params *pp, ppml_dtpkc_ct *ct)
{
    int e;
    if ((e = ppml_read_mpz(r, ct->t1, 2 * n_bytes(pp))) || (e = ppml_read_mpz(r, ct->t2, 2 * n_bytes(pp))))
        return e;
    return ppml_dtpkc_ct_check(pp, ct);
}

int ppml_dtpkc_ct_load(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct *ct, const uint8_t *buf, size_t len)
{
    ppml_reader r;
    int e;
    ppml_reader_init(&r, buf, len);
    if ((e = ppml_read_header(&r, NULL, PPML_T_DTPKC_CT, pk->id)))
        return e;
    ppml_dtpkc_ct tmp;
    ppml_dtpkc_ct_init(&tmp);
    if (!(e = read_ct(&r, pk->pp, &tmp)) && !(e = ppml_reader_done(&r))) {
        mpz_swap(ct->t1, tmp.t1);
        mpz_swap(ct->t2, tmp.t2);
    }
    ppml_dtpkc_ct_clear(&tmp);
    return e;
}

int ppml_dtpkc_ctvec_save(const ppml_dtpkc_pk *pk, const ppml_dtpkc_ct *cts, size_t count, uint8_t **out,
                          size_t *len)
{
    for (size_t i = 0; i < count; i++)
        if (ppml_dtpkc_ct_check(pk->pp, &cts[i]))
            return PPML_ERANGE;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_header(&w, PPML_T_DTPKC_CTVEC, 0, pk->id);
    ppml_write_u64(&w, (uint64_t)count);
    for (size_t i = 0; i < count && !w.err; i++) {
        ppml_write_mpz(&w, cts[i].t1);
        ppml_write_mpz(&w, cts[i].t2);
    }
    return finish(&w, out, len);
}

void ppml_dtpkc_ctvec_free(ppml_dtpkc_ct *cts, size_t count)
{
    if (!cts)
        return;
    for (size_t i = 0; i < count; i++)
        ppml_dtpkc_ct_clear(&cts[i]);
    free(cts);
}

int ppml_dtpkc_ctvec_load(const ppml_dtpkc_pk *pk, ppml_dtpkc_ct **cts, size_t *count, const uint8_t *buf,
                          size_t len)
{
    ppml_reader r;
    uint64_t n;
    int e;
    ppml_reader_init(&r, buf, len);
    if ((e = ppml_read_header(&r, NULL, PPML_T_DTPKC_CTVEC, pk->id)) || (e = ppml_read_u64(&r, &n)))
        return e;
    /* Each ciphertext takes at least 2 * (4 + 1) bytes: refuse counts the buffer cannot hold
     * before allocating anything. */
    if (n > ppml_reader_left(&r) / 10)
        return PPML_EFORMAT;
    ppml_dtpkc_ct *v = NULL;
    if (n) {
        size_t bytes;
        if ((e = ppml_mul_size(&bytes, (size_t)n, sizeof *v)))
            return e;
        v = malloc(bytes);
        if (!v)
            return PPML_ENOMEM;
    }
    size_t done = 0;
    for (; done < n; done++) {
        ppml_dtpkc_ct_init(&v[done]);
        if ((e = read_ct(&r, pk->pp, &v[done]))) {
            done++;
            break;
        }
    }
    if (!e)
        e = ppml_reader_done(&r);
    if (e) {
        ppml_dtpkc_ctvec_free(v, done);
        return e;
    }
    *cts = v;
    *count = (size_t)n;
    return PPML_OK;
}
