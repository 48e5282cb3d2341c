/* Randomness: libsodium's OS CSPRNG, a per-thread buffer for cheap small draws, an optional
 * process-wide test seed, and a ChaCha20 expander for agreed seeds. */
#include "ppml/rand.h"
#include "ppml/mem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

/* Test seed state: a ChaCha20 key and a block counter, behind a mutex. */
static atomic_int test_seeded;
static pthread_mutex_t test_lock = PTHREAD_MUTEX_INITIALIZER;
static ppml_prg test_prg;
/* Generation counter: per-thread buffers refill when the source changes. */
static atomic_uint source_gen;

void ppml_rand_set_test_seed(const uint8_t seed[PPML_SEED_BYTES])
{
    pthread_mutex_lock(&test_lock);
    ppml_prg_init(&test_prg, seed, 0x7465737473656564ULL);
    atomic_store(&test_seeded, 1);
    atomic_fetch_add(&source_gen, 1);
    pthread_mutex_unlock(&test_lock);
}

void ppml_rand_clear_test_seed(void)
{
    pthread_mutex_lock(&test_lock);
    atomic_store(&test_seeded, 0);
    ppml_prg_clear(&test_prg);
    atomic_fetch_add(&source_gen, 1);
    pthread_mutex_unlock(&test_lock);
}

int ppml_rand_is_test_seeded(void) { return atomic_load(&test_seeded); }

static void raw_bytes(void *buf, size_t len)
{
    if (atomic_load(&test_seeded)) {
        pthread_mutex_lock(&test_lock);
        if (atomic_load(&test_seeded)) {
            ppml_prg_bytes(&test_prg, buf, len);
            pthread_mutex_unlock(&test_lock);
            return;
        }
        pthread_mutex_unlock(&test_lock);
    }
    randombytes_buf(buf, len);
}

void ppml_randombytes(void *buf, size_t len) { raw_bytes(buf, len); }

/* Per-thread buffer of CSPRNG output for word draws; consumed bytes are wiped. */
#define RBUF_WORDS 512
static _Thread_local uint64_t rbuf[RBUF_WORDS];
static _Thread_local unsigned rbuf_pos = RBUF_WORDS;
static _Thread_local unsigned rbuf_gen;

uint64_t ppml_rand_u64(void)
{
    unsigned gen = atomic_load(&source_gen);
    if (rbuf_pos >= RBUF_WORDS || rbuf_gen != gen) {
        raw_bytes(rbuf, sizeof rbuf);
        rbuf_pos = 0;
        rbuf_gen = gen;
    }
    uint64_t v = rbuf[rbuf_pos];
    rbuf[rbuf_pos++] = 0;
    return v;
}

uint64_t ppml_rand_below(uint64_t bound)
{
    if (bound <= 1)
        return 0;
    /* Reject the top partial range: threshold = 2^64 mod bound. */
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t v = ppml_rand_u64();
        if (v >= threshold)
            return v % bound;
    }
}

void ppml_rand_mpz_bits(mpz_t out, unsigned long bits)
{
    size_t nbytes = (bits + 7) / 8;
    if (nbytes == 0) {
        mpz_set_ui(out, 0);
        return;
    }
    uint8_t stackbuf[1024];
    uint8_t *buf = nbytes <= sizeof stackbuf ? stackbuf : sodium_malloc(nbytes);
    if (!buf)
        abort();
    raw_bytes(buf, nbytes);
    unsigned extra = (unsigned)(nbytes * 8 - bits);
    buf[0] &= (uint8_t)(0xFFu >> extra);
    mpz_import(out, nbytes, 1, 1, 0, 0, buf);
    if (buf == stackbuf)
        sodium_memzero(stackbuf, nbytes);
    else
        sodium_free(buf);
}

void ppml_rand_mpz_below(mpz_t out, const mpz_t bound)
{
    size_t bits = mpz_sizeinbase(bound, 2);
    mpz_t t;
    mpz_init(t);
    do {
        ppml_rand_mpz_bits(t, bits);
    } while (mpz_cmp(t, bound) >= 0);
    mpz_swap(out, t);
    mpz_clear(t);
}

void ppml_rand_mpz_unit(mpz_t out, const mpz_t n)
{
    mpz_t t, g;
    mpz_inits(t, g, NULL);
    for (;;) {
        ppml_rand_mpz_below(t, n);
        if (mpz_cmp_ui(t, 0) == 0)
            continue;
        mpz_gcd(g, t, n);
        if (mpz_cmp_ui(g, 1) == 0)
            break;
    }
    mpz_swap(out, t);
    mpz_clears(t, g, NULL);
}

void ppml_prg_init(ppml_prg *prg, const uint8_t seed[PPML_SEED_BYTES], uint64_t stream)
{
    /* Derive the key from seed and stream so that distinct streams are independent. */
    uint8_t in[PPML_SEED_BYTES + 8];
    memcpy(in, seed, PPML_SEED_BYTES);
    for (int i = 0; i < 8; i++)
        in[PPML_SEED_BYTES + i] = (uint8_t)(stream >> (8 * i));
    crypto_generichash(prg->key, sizeof prg->key, in, sizeof in, NULL, 0);
    sodium_memzero(in, sizeof in);
    prg->counter = 0;
    prg->pos = 64;
}

void ppml_prg_init_fresh(ppml_prg *prg)
{
    uint8_t seed[PPML_SEED_BYTES];
    raw_bytes(seed, sizeof seed);
    ppml_prg_init(prg, seed, 0);
    sodium_memzero(seed, sizeof seed);
}

static void prg_block(ppml_prg *prg, uint8_t out[64])
{
    static const uint8_t zero[64];
    static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    crypto_stream_chacha20_xor_ic(out, zero, 64, nonce, prg->counter++, prg->key);
}

void ppml_prg_bytes(ppml_prg *prg, void *out, size_t len)
{
    uint8_t *o = out;
    while (len) {
        if (prg->pos == 64) {
            if (len >= 64) { /* whole blocks straight into the output */
                size_t blocks = len / 64;
                static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
                memset(o, 0, blocks * 64);
                crypto_stream_chacha20_xor_ic(o, o, blocks * 64, nonce, prg->counter, prg->key);
                prg->counter += blocks;
                o += blocks * 64;
                len -= blocks * 64;
                continue;
            }
            prg_block(prg, prg->buf);
            prg->pos = 0;
        }
        size_t take = 64 - prg->pos;
        if (take > len)
            take = len;
        memcpy(o, prg->buf + prg->pos, take);
        sodium_memzero(prg->buf + prg->pos, take);
        prg->pos += take;
        o += take;
        len -= take;
    }
}

void ppml_prg_words(ppml_prg *prg, uint64_t *out, size_t count)
{
    ppml_prg_bytes(prg, out, count * 8);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *b = (const uint8_t *)&out[i];
        out[i] = (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24 |
                 (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 | (uint64_t)b[6] << 48 | (uint64_t)b[7] << 56;
    }
}

uint64_t ppml_prg_u64(ppml_prg *prg)
{
    uint8_t b[8];
    ppml_prg_bytes(prg, b, 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

uint64_t ppml_prg_below(ppml_prg *prg, uint64_t bound)
{
    if (bound <= 1)
        return 0;
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t v = ppml_prg_u64(prg);
        if (v >= threshold)
            return v % bound;
    }
}

void ppml_prg_clear(ppml_prg *prg) { sodium_memzero(prg, sizeof *prg); }
