/* Batch encryption/decryption on several threads (protocols work on whole vectors). Each
 * worker takes contiguous blocks of indices from a shared counter; results go to
 * temporaries and are swapped into the outputs only when every element succeeded. */
#include "paillier_internal.h"
#include "ppml/mem.h"

#include <stdlib.h>
#include <unistd.h>

#define BATCH_BLOCK 8
#define BATCH_MAX_THREADS 256

typedef struct batch {
    const ppml_paillier_pk *pk;
    const ppml_paillier_sk *sk;
    mpz_t *out;
    const mpz_t *in;
    size_t count;
    atomic_size_t next;
    atomic_int err;
} batch;

static void *batch_worker(void *arg)
{
    batch *b = arg;
    for (;;) {
        size_t lo = atomic_fetch_add(&b->next, BATCH_BLOCK);
        if (lo >= b->count || atomic_load(&b->err))
            return NULL;
        size_t hi = lo + BATCH_BLOCK < b->count ? lo + BATCH_BLOCK : b->count;
        /* a block is one pass of the multi-buffer arithmetic where the CPU has it */
        int e = b->sk ? ppmli_paillier_decrypt_many(b->sk, b->out + lo, b->in + lo, hi - lo)
                      : ppmli_paillier_encrypt_many(b->pk, b->out + lo, b->in + lo, hi - lo);
        if (e) {
            int zero = 0;
            atomic_compare_exchange_strong(&b->err, &zero, e);
            return NULL;
        }
    }
}

static int run_batch(const ppml_paillier_pk *pk, const ppml_paillier_sk *sk, mpz_t *out, const mpz_t *in,
                     size_t count, unsigned threads)
{
    if ((!out || !in) && count)
        return PPML_EINVAL;
    if (count == 0)
        return PPML_OK;
    if (!sk && ppml_paillier_precompute(pk) != PPML_OK)
        return PPML_ENOMEM;
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (unsigned)c : 1;
    }
    size_t blocks = (count + BATCH_BLOCK - 1) / BATCH_BLOCK;
    if (threads > BATCH_MAX_THREADS)
        threads = BATCH_MAX_THREADS;
    if (threads > blocks)
        threads = (unsigned)blocks;
    size_t bytes;
    if (ppml_mul_size(&bytes, count, sizeof(mpz_t)) != PPML_OK)
        return PPML_EOVERFLOW;
    mpz_t *tmp = malloc(bytes);
    if (!tmp)
        return PPML_ENOMEM;
    for (size_t i = 0; i < count; i++)
        mpz_init(tmp[i]);
    batch b = {.pk = pk, .sk = sk, .out = tmp, .in = in, .count = count};
    atomic_init(&b.next, 0);
    atomic_init(&b.err, 0);
    pthread_t tid[BATCH_MAX_THREADS];
    unsigned started = 0;
    for (unsigned t = 1; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, batch_worker, &b) != 0)
            break; /* fewer threads: the caller's thread still finishes the work */
        started++;
    }
    batch_worker(&b);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    int e = atomic_load(&b.err);
    for (size_t i = 0; i < count; i++) {
        if (!e)
            mpz_swap(out[i], tmp[i]);
        mpz_clear(tmp[i]);
    }
    free(tmp);
    return e;
}

int ppml_paillier_encrypt_batch(const ppml_paillier_pk *pk, mpz_t *cts, const mpz_t *ms, size_t count,
                                unsigned threads)
{
    if (!pk)
        return PPML_EINVAL;
    return run_batch(pk, NULL, cts, ms, count, threads);
}

int ppml_paillier_decrypt_batch(const ppml_paillier_sk *sk, mpz_t *ms, const mpz_t *cts, size_t count,
                                unsigned threads)
{
    if (!sk)
        return PPML_EINVAL;
    return run_batch(sk->pk, sk, ms, cts, count, threads);
}
