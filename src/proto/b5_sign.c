/* B5 secure sign: E(x_i) -> E([x_i >= 0]), one round trip; the result stays encrypted.
 * Optional variant (ppml_proto_sign_revealed_to_css, the source scheme's): CSS learns the
 * bits in the clear. CCS answers it only when its keys allow it (allow_sign_reveal): for
 * ciphertexts of its choosing CSS could otherwise decrypt anything by bisection.
 *
 * Blinding (DESIGN §3): CSS draws per element a fair coin s_i = +-1, r1 uniform in
 * [1, 2^kappa) and r2 uniform in [0, r1), and forms z_i = r1 * s_i * (2 x_i + 1) + r2.
 * Since |2x + 1| >= 1 and r2 < r1, sign(z_i) = s_i * sign(2 x_i + 1), and z_i != 0.
 *
 * What each party receives:
 *   CCS: the public n, slot width w = l + kappa + 2 and offset exponent o = l + kappa + 1,
 *        and packed, freshly re-randomised ciphertexts of z_i + 2^o, each in (0, 2^(l+kappa+2))
 *        (|z_i| < 2^(l+kappa+1) for |x_i| < 2^l). The sign CCS sees is a fair coin
 *        independent of x_i; the magnitude |z_i| in [r1 |2x_i+1| - r1 + 1, r1 |2x_i+1| + r1)
 *        reveals roughly log2 |x_i| (statistically, not exactly), as in the source scheme.
 *   CSS: n fresh ciphertexts E(b'_i), b'_i = [z_i > 0], under the training key, and turns
 *        them into E(b'_i) or E(1 - b'_i) by its coin: E([x_i >= 0]). In the reveal variant
 *        CSS receives the bits b'_i in the clear instead and un-flips them: it learns
 *        [x_i >= 0]; CCS's view is unchanged.
 * CSS's selection by its coin is not constant time (a branch on s_i): the adversary of the
 * model is CCS, which does not observe CSS's timing. */
#include "proto_internal.h"

#include "crypto/mb/mb.h"
#include "crypto/paillier/paillier_internal.h" /* ppmli_paillier_pk_mb */
#include "ppml/mem.h"
#include "ppml/rand.h"

#include <stdlib.h>
#include <string.h>

typedef struct sign_job {
    const ppml_paillier_pk *pk;
    const mpz_t *x;
    uint8_t *flip;     /* 1: s = -1 */
    mpz_t *blinded;
    mpz_t *reply;
    mpz_t *res;
    unsigned kappa, offset_bits;
    size_t n;
} sign_job;

/* Chunk g: elements [8g, 8g + 8); their E(2 r1 x) in one multi-buffer pass where available. */
static int blind_chunk(void *ctx, size_t g)
{
    sign_job *j = ctx;
    mpz_srcptr n = ppml_paillier_pk_n(j->pk), n2 = ppml_paillier_pk_n2(j->pk);
    size_t lo = g * PPMLI_MB_LANES, lanes = j->n - lo < PPMLI_MB_LANES ? j->n - lo : PPMLI_MB_LANES;
    mpz_t r1[PPMLI_MB_LANES], r2[PPMLI_MB_LANES], e[PPMLI_MB_LANES], pos[PPMLI_MB_LANES], neg, m;
    mpz_srcptr bases[PPMLI_MB_LANES], exps[PPMLI_MB_LANES];
    mpz_inits(neg, m, NULL);
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_inits(r1[l], r2[l], e[l], pos[l], NULL);
    for (size_t l = 0; l < lanes; l++) {
        do
            ppml_rand_mpz_bits(r1[l], j->kappa);
        while (mpz_sgn(r1[l]) == 0);
        ppml_rand_mpz_below(r2[l], r1[l]);
        mpz_mul_2exp(e[l], r1[l], 1);
        bases[l] = j->x[lo + l];
        exps[l] = e[l];
    }
    const unsigned e_bits = j->kappa + 1;
    const ppmli_mb *mb = lanes >= PPMLI_MB_MIN_LANES ? ppmli_paillier_pk_mb(j->pk) : NULL;
    int rc = PPML_OK;
    if (mb)
        rc = ppmli_mb_multiexp(mb, pos, lanes, 1, bases, exps, &e_bits); /* E(2 r1 x), r1 secret */
    else
        for (size_t l = 0; l < lanes && rc == PPML_OK; l++)
            rc = ppmli_multiexp(pos[l], &bases[l], &exps[l], &e_bits, 1, n2);
    for (size_t l = 0; l < lanes && rc == PPML_OK; l++) {
        size_t i = lo + l;
        uint8_t coin;
        ppml_randombytes(&coin, 1);
        coin &= 1;
        j->flip[i] = coin;
        if (!mpz_invert(neg, pos[l], n2)) { /* E(-2 r1 x) */
            rc = PPML_ECRYPTO;
            break;
        }
        /* s = +1: z + 2^o = 2 r1 x + r1 + r2 + 2^o;  s = -1: -2 r1 x - r1 + r2 + 2^o */
        mpz_set_ui(m, 1);
        mpz_mul_2exp(m, m, j->offset_bits);
        mpz_add(m, m, r2[l]);
        if (coin) {
            mpz_sub(m, m, r1[l]);
            mpz_mod(m, m, n);
            ppml_paillier_add_plain(j->pk, j->blinded[i], neg, m);
        } else {
            mpz_add(m, m, r1[l]);
            mpz_mod(m, m, n);
            ppml_paillier_add_plain(j->pk, j->blinded[i], pos[l], m);
        }
    }
    for (size_t l = 0; l < PPMLI_MB_LANES; l++)
        mpz_clears(r1[l], r2[l], e[l], pos[l], NULL); /* secrets: wiped by the ppml allocator */
    mpz_clears(neg, m, NULL);
    return rc;
}

static int unflip_one(void *ctx, size_t i)
{
    sign_job *j = ctx;
    if (!j->flip[i]) {
        mpz_set(j->res[i], j->reply[i]);
        return PPML_OK;
    }
    /* E(1 - b) = (1 + N) * E(b)^-1 */
    if (!mpz_invert(j->res[i], j->reply[i], ppml_paillier_pk_n2(j->pk)))
        return PPML_ECRYPTO;
    mpz_t one;
    mpz_init_set_ui(one, 1);
    ppml_paillier_add_plain(j->pk, j->res[i], j->res[i], one);
    mpz_clear(one);
    return PPML_OK;
}

static int sign_request(ppml_proto_css *css, sign_job *j, uint16_t type, size_t n, unsigned value_bits)
{
    unsigned slot = value_bits + css->kappa + 2;
    int rc = ppmli_check_slot_bits(css->pk, slot);
    if (rc != PPML_OK)
        return rc;
    j->offset_bits = value_bits + css->kappa + 1;
    j->n = n;
    rc = ppmli_parallel_for(css->threads, (n + PPMLI_MB_LANES - 1) / PPMLI_MB_LANES, blind_chunk, j);
    if (rc != PPML_OK)
        return rc;
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_u32(&w, (uint32_t)n);
    ppml_write_u16(&w, (uint16_t)slot);
    ppml_write_u16(&w, (uint16_t)j->offset_bits);
    rc = ppmli_css_send_packed(css, type, &w, (const mpz_t *)j->blinded, n, slot);
    ppml_writer_clear(&w);
    return rc;
}

static int check_args(ppml_proto_css *css, const void *out, const mpz_t *x, size_t n, unsigned value_bits)
{
    if (!css || (n && (!out || !x)) || value_bits == 0)
        return PPML_EINVAL;
    if (n > PPML_PROTO_MAX_VALUES)
        return PPML_ERANGE;
    return PPML_OK;
}

int ppml_proto_sign(ppml_proto_css *css, mpz_t *out, const mpz_t *x, size_t n, unsigned value_bits)
{
    int rc = check_args(css, out, x, n, value_bits);
    if (rc != PPML_OK || n == 0)
        return rc;
    uint8_t *flip = calloc(n, 1);
    mpz_t *blinded = ppml_mpz_vec_new(n), *reply = ppml_mpz_vec_new(n), *res = ppml_mpz_vec_new(n);
    rc = (flip && blinded && reply && res) ? PPML_OK : PPML_ENOMEM;
    sign_job j = {css->pk, x, flip, blinded, reply, res, css->kappa, 0, 0};
    if (rc == PPML_OK)
        rc = sign_request(css, &j, PPML_MSG_SIGN, n, value_bits);
    if (rc == PPML_OK)
        rc = ppmli_css_recv_cts(css, PPML_MSG_SIGN, css->pk, reply, n);
    if (rc == PPML_OK)
        rc = ppmli_parallel_for(css->threads, n, unflip_one, &j);
    if (rc == PPML_OK)
        for (size_t i = 0; i < n; i++)
            mpz_swap(out[i], res[i]);
    if (flip)
        ppml_memzero(flip, n);
    free(flip);
    ppml_mpz_vec_free(blinded, n);
    ppml_mpz_vec_free(reply, n);
    ppml_mpz_vec_free(res, n);
    return rc;
}

int ppml_proto_sign_revealed_to_css(ppml_proto_css *css, uint8_t *bits, const mpz_t *x, size_t n,
                                    unsigned value_bits)
{
    int rc = check_args(css, bits, x, n, value_bits);
    if (rc != PPML_OK || n == 0)
        return rc;
    uint8_t *flip = calloc(n, 1);
    mpz_t *blinded = ppml_mpz_vec_new(n);
    rc = (flip && blinded) ? PPML_OK : PPML_ENOMEM;
    sign_job j = {css->pk, x, flip, blinded, NULL, NULL, css->kappa, 0, 0};
    if (rc == PPML_OK)
        rc = sign_request(css, &j, PPML_MSG_SIGN_REVEAL, n, value_bits);
    uint8_t *p = NULL;
    size_t len = 0;
    if (rc == PPML_OK)
        rc = ppmli_css_recv_payload(css, PPML_MSG_SIGN_REVEAL, &p, &len);
    if (rc == PPML_OK) {
        ppml_reader r;
        ppml_reader_init(&r, p, len);
        uint32_t cnt;
        const uint8_t *b;
        if (ppml_read_u32(&r, &cnt) != PPML_OK || cnt != n || ppml_read_view(&r, &b, n) != PPML_OK ||
            ppml_reader_done(&r) != PPML_OK)
            rc = PPML_EPROTO;
        for (size_t i = 0; rc == PPML_OK && i < n; i++)
            if (b[i] > 1)
                rc = PPML_EPROTO;
        if (rc == PPML_OK)
            for (size_t i = 0; i < n; i++)
                bits[i] = b[i] ^ flip[i];
        free(p);
    }
    if (flip)
        ppml_memzero(flip, n);
    free(flip);
    ppml_mpz_vec_free(blinded, n);
    return rc;
}

int ppmli_ccs_sign(ppmli_ccs *ccs, ppml_reader *r, int reveal)
{
    if (reveal && !(ccs->keys && ccs->keys->allow_sign_reveal))
        return PPML_ENOTSUP; /* a clear-bit oracle: only where the keys allow it */
    uint32_t n;
    uint16_t slot, offset_bits;
    if (ppml_read_u32(r, &n) != PPML_OK || ppml_read_u16(r, &slot) != PPML_OK ||
        ppml_read_u16(r, &offset_bits) != PPML_OK)
        return PPML_EPROTO;
    if (n == 0 || (size_t)n > PPML_PROTO_MAX_VALUES || offset_bits >= slot)
        return PPML_EPROTO;
    mpz_t *s = NULL;
    int rc = ppmli_ccs_read_slots(ccs, r, n, slot, &s);
    if (rc != PPML_OK)
        return rc;
    /* b' = [z > 0] with z = slot - 2^o, i.e. [slot > 2^o] */
    mpz_t o;
    mpz_init_set_ui(o, 1);
    mpz_mul_2exp(o, o, offset_bits);
    if (reveal) {
        ppml_writer w;
        ppml_writer_init(&w);
        ppml_write_u32(&w, n);
        for (size_t i = 0; i < n; i++)
            ppml_write_u8(&w, mpz_cmp(s[i], o) > 0);
        rc = w.err;
        if (rc == PPML_OK)
            rc = ppml_channel_send(ccs->ch, PPML_MSG_SIGN_REVEAL | PPML_MSG_REPLY, w.data, w.len);
        ppml_writer_clear(&w);
    } else {
        for (size_t i = 0; i < n; i++)
            mpz_set_ui(s[i], mpz_cmp(s[i], o) > 0);
        rc = ppmli_ccs_reply_encrypted(ccs, PPML_MSG_SIGN, NULL, s, n);
    }
    mpz_clear(o);
    ppml_mpz_vec_free(s, n);
    return rc;
}
