/* Fuzz target: everything a receiver applies to bytes from the network — the channel frame
 * parser, the mpz vector reader, and CCS's request handlers (B1-B5, truncation, conversions,
 * set-up) fed through an in-process channel with a small test key. A handler must answer
 * with an error or a well-formed reply, never crash or hang. */
#include "ppml/channel.h"
#include "ppml/paillier.h"
#include "ppml/proto.h"
#include "ppml/rand.h"
#include "ppml/serial.h"
#include "proto/proto_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ppml_paillier_sk *sk;
static ppml_channel *ccs_end, *css_end;

/* With PPML_FUZZ_WRITE_CORPUS=DIR, write well-formed requests under the fuzz key (it is
 * deterministic: test seed 42) into DIR, so the corpus reaches the handlers' full paths. */
static void write_frame(const char *dir, const char *name, uint16_t type, ppml_writer *w)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t hdr[6] = {(uint8_t)type, (uint8_t)(type >> 8), (uint8_t)w->len, (uint8_t)(w->len >> 8),
                      (uint8_t)(w->len >> 16), (uint8_t)(w->len >> 24)};
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(hdr, 1, 6, f);
    fwrite(w->data, 1, w->len, f);
    fclose(f);
}

static void packed(ppml_writer *w, unsigned slot, size_t count)
{
    const ppml_paillier_pk *pk = ppml_paillier_sk_pk(sk);
    size_t cap = ppml_paillier_pack_capacity(pk, slot), groups = (count + cap - 1) / cap;
    mpz_t *cts = malloc(groups * sizeof(mpz_t)), m, v;
    mpz_inits(m, v, NULL);
    for (size_t g = 0; g < groups; g++) {
        size_t k = count - g * cap < cap ? count - g * cap : cap;
        mpz_set_ui(m, 0);
        for (size_t i = k; i-- > 0;) {
            mpz_mul_2exp(m, m, slot);
            ppml_rand_mpz_bits(v, slot);
            mpz_add(m, m, v);
        }
        mpz_init(cts[g]);
        if (ppml_paillier_encrypt(pk, cts[g], m) != PPML_OK)
            abort();
    }
    ppml_msg_write_mpzvec(w, (const mpz_t *)cts, groups);
    for (size_t g = 0; g < groups; g++)
        mpz_clear(cts[g]);
    free(cts);
    mpz_clears(m, v, NULL);
}

static void write_corpus(const char *dir)
{
    ppml_writer w;
    ppml_writer_init(&w);
    ppml_write_u32(&w, 5), ppml_write_u16(&w, 73), packed(&w, 73, 10);
    write_frame(dir, "valid_mul", PPML_MSG_MUL, &w);
    ppml_writer_clear(&w);
    ppml_writer_init(&w);
    ppml_write_u32(&w, 2), ppml_write_u32(&w, 3), ppml_write_u8(&w, 1), ppml_write_u16(&w, 73), packed(&w, 73, 9);
    write_frame(dir, "valid_inner", PPML_MSG_INNER, &w);
    ppml_writer_clear(&w);
    ppml_writer_init(&w);
    ppml_write_u32(&w, 3), ppml_write_u16(&w, 73), packed(&w, 73, 4);
    write_frame(dir, "valid_scalar", PPML_MSG_SCALAR_VEC, &w);
    ppml_writer_clear(&w);
    ppml_writer_init(&w);
    ppml_write_u32(&w, 7), ppml_write_u16(&w, 74), ppml_write_u16(&w, 73), packed(&w, 74, 7);
    write_frame(dir, "valid_sign", PPML_MSG_SIGN, &w);
    write_frame(dir, "valid_sign_reveal", PPML_MSG_SIGN_REVEAL, &w);
    ppml_writer_clear(&w);
    ppml_writer_init(&w);
    ppml_write_u32(&w, 7), ppml_write_u16(&w, 73), ppml_write_u16(&w, 16), packed(&w, 73, 7);
    write_frame(dir, "valid_truncate", PPML_MSG_TRUNCATE, &w);
    ppml_writer_clear(&w);
    ppml_writer_init(&w);
    ppml_write_u32(&w, 1), ppml_write_u32(&w, 2), ppml_write_u32(&w, 3), ppml_write_u16(&w, 73), packed(&w, 73, 6);
    write_frame(dir, "valid_cache_put", PPML_MSG_CACHE_PUT, &w);
    ppml_writer_clear(&w);
    ppml_writer_init(&w);
    ppml_write_u32(&w, 1), ppml_write_u8(&w, 0), ppml_write_u32(&w, 0), ppml_write_u32(&w, 2), ppml_write_u32(&w, 2);
    ppml_write_u16(&w, 73), packed(&w, 73, 6);
    write_frame(dir, "valid_cached_mul_rows", PPML_MSG_CACHED_MUL, &w);
    ppml_writer_clear(&w);
    ppml_writer_init(&w);
    ppml_write_u32(&w, 1), ppml_write_u8(&w, 1), ppml_write_u32(&w, 1), ppml_write_u32(&w, 1), ppml_write_u32(&w, 2);
    ppml_write_u16(&w, 73), packed(&w, 73, 2);
    write_frame(dir, "valid_cached_mul_cols", PPML_MSG_CACHED_MUL, &w);
    ppml_writer_clear(&w);
    ppml_writer_init(&w);
    ppml_write_u32(&w, 1);
    write_frame(dir, "valid_cache_drop", PPML_MSG_CACHE_DROP, &w);
    ppml_writer_clear(&w);
    uint8_t *pkb = NULL;
    size_t pkl = 0;
    if (ppml_paillier_pk_save(ppml_paillier_sk_pk(sk), &pkb, &pkl) != PPML_OK)
        abort();
    ppml_writer_init(&w);
    ppml_write_u32(&w, 3), ppml_write_u16(&w, 73), ppml_write_u32(&w, (uint32_t)pkl), ppml_write_bytes(&w, pkb, pkl);
    packed(&w, 73, 3);
    write_frame(dir, "valid_convert", PPML_MSG_CONVERT, &w);
    ppml_writer_clear(&w);
    free(pkb);
}

static void setup(void)
{
    if (ppml_init() != PPML_OK)
        abort();
    uint8_t seed[PPML_SEED_BYTES] = {42};
    ppml_rand_set_test_seed(seed);
    if (ppml_paillier_keygen_insecure_for_tests(&sk, 512) != PPML_OK)
        abort();
    if (ppml_channel_pair_inproc(&ccs_end, &css_end, 1 << 20, 4) != PPML_OK)
        abort();
    ppml_paillier_allow_insecure_test_keys(1); /* conversion requests carry a test-size key */
    const char *dir = getenv("PPML_FUZZ_WRITE_CORPUS");
    if (dir)
        write_corpus(dir);
}

static void drain(void)
{
    uint16_t t;
    uint8_t *p;
    size_t n;
    while (ppml_channel_recv(css_end, &t, &p, &n, 0) == PPML_OK)
        free(p);
}

static void fuzz_handlers(uint16_t type, const uint8_t *payload, size_t plen)
{
    ppml_proto_ccs_keys keys = {0};
    keys.training = sk;
    ppmli_ccs ccs = {.ch = ccs_end, .sk = sk, .pk = ppml_paillier_sk_pk(sk), .keys = &keys,
                     .kappa = PPML_PROTO_KAPPA, .threads = 1};
    ppml_reader r;
    ppml_reader_init(&r, payload, plen);
    switch (type) {
    case PPML_MSG_MUL: (void)ppmli_ccs_mul(&ccs, &r); break;
    case PPML_MSG_INNER: (void)ppmli_ccs_inner(&ccs, &r); break;
    case PPML_MSG_SCALAR_VEC: (void)ppmli_ccs_scalar_vec(&ccs, &r); break;
    case PPML_MSG_SIGN: (void)ppmli_ccs_sign(&ccs, &r, 0); break;
    case PPML_MSG_SIGN_REVEAL: (void)ppmli_ccs_sign(&ccs, &r, 1); break;
    case PPML_MSG_TRUNCATE: (void)ppmli_ccs_truncate(&ccs, &r); break;
    case PPML_MSG_CONVERT: (void)ppmli_ccs_convert(&ccs, &r); break;
    case PPML_MSG_AGGREGATE: (void)ppmli_ccs_aggregate(&ccs, &r); break;
    case PPML_MSG_CONVERT_DTPKC: (void)ppmli_ccs_convert_dtpkc(&ccs, &r); break;
    case PPML_MSG_CACHE_PUT: (void)ppmli_ccs_cache_put(&ccs, &r); break;
    case PPML_MSG_CACHE_DROP: (void)ppmli_ccs_cache_drop(&ccs, &r); break;
    case PPML_MSG_CACHED_MUL: {
        /* a kept 2 x 3 matrix with id 1 to multiply with */
        ccs.cache[0] = (ppmli_cache_entry){1, 2, 3, 6, ppml_mpz_vec_new(6)};
        if (!ccs.cache[0].vals)
            abort();
        (void)ppmli_ccs_cached_mul(&ccs, &r);
        break;
    }
    default: break;
    }
    ppmli_ccs_cache_clear(&ccs);
    drain();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        setup();
        inited = 1;
    }
    uint16_t type;
    const uint8_t *payload;
    size_t plen;
    if (ppml_frame_parse(data, size, 1 << 20, &type, &payload, &plen) != PPML_OK)
        return 0;
    if (plen > size - PPML_FRAME_HEADER_BYTES)
        abort();
    mpz_t bound;
    mpz_init_set_ui(bound, 1);
    mpz_mul_2exp(bound, bound, (type & 0xff) * 8 + 1);
    ppml_reader r;
    ppml_reader_init(&r, payload, plen);
    mpz_t *v = NULL;
    size_t count = 0;
    if (ppml_msg_read_mpzvec(&r, &v, &count, 4096, bound) == PPML_OK) {
        for (size_t i = 0; i < count; i++)
            if (mpz_sgn(v[i]) < 0 || mpz_cmp(v[i], bound) >= 0)
                abort();
        ppml_msg_mpzvec_free(v, count);
    }
    mpz_t w[3];
    for (int i = 0; i < 3; i++)
        mpz_init(w[i]);
    ppml_reader_init(&r, payload, plen);
    if (ppml_msg_read_mpzvec_exact(&r, w, 3, bound) == PPML_OK && mpz_cmp(w[2], bound) >= 0)
        abort();
    for (int i = 0; i < 3; i++)
        mpz_clear(w[i]);
    mpz_clear(bound);
    fuzz_handlers(type, payload, plen);
    return 0;
}
