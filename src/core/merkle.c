/* BLAKE2b Merkle trees and Ed25519-signed dataset roots. */
#include "ppml/merkle.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void ppml_merkle_leaf(uint8_t out[PPML_HASH_BYTES], const void *item, size_t len)
{
    crypto_generichash_state st;
    const uint8_t tag = 0x00;
    crypto_generichash_init(&st, NULL, 0, PPML_HASH_BYTES);
    crypto_generichash_update(&st, &tag, 1);
    crypto_generichash_update(&st, item, len);
    crypto_generichash_final(&st, out, PPML_HASH_BYTES);
}

static void node(uint8_t out[PPML_HASH_BYTES], const uint8_t l[PPML_HASH_BYTES], const uint8_t r[PPML_HASH_BYTES])
{
    uint8_t buf[1 + 2 * PPML_HASH_BYTES];
    buf[0] = 0x01;
    memcpy(buf + 1, l, PPML_HASH_BYTES);
    memcpy(buf + 1 + PPML_HASH_BYTES, r, PPML_HASH_BYTES);
    crypto_generichash(out, PPML_HASH_BYTES, buf, sizeof buf, NULL, 0);
}

/* Recursion depth is log2(count): at most 64. */
static void subtree(uint8_t out[PPML_HASH_BYTES], const uint8_t (*leaves)[PPML_HASH_BYTES], size_t n)
{
    if (n == 1) {
        memcpy(out, leaves[0], PPML_HASH_BYTES);
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[PPML_HASH_BYTES], r[PPML_HASH_BYTES];
    subtree(l, leaves, k);
    subtree(r, leaves + k, n - k);
    node(out, l, r);
}

int ppml_merkle_root(uint8_t root[PPML_HASH_BYTES], const uint8_t (*leaves)[PPML_HASH_BYTES], size_t count)
{
    if (count == 0) {
        crypto_generichash(root, PPML_HASH_BYTES, NULL, 0, NULL, 0);
        return PPML_OK;
    }
    if (!leaves)
        return PPML_EINVAL;
    subtree(root, leaves, count);
    return PPML_OK;
}

int ppml_sign_keypair(uint8_t pk[PPML_SIGN_PK_BYTES], uint8_t sk[PPML_SIGN_SK_BYTES])
{
    return crypto_sign_keypair(pk, sk) == 0 ? PPML_OK : PPML_ECRYPTO;
}

/* Message: "ppml-upload-v1" || u32 len || id || u64 count || root (all little endian). */
static int upload_message(uint8_t *msg, size_t *len, const char *dataset_id, uint64_t count,
                          const uint8_t root[PPML_HASH_BYTES])
{
    static const char tag[] = "ppml-upload-v1";
    size_t idlen = dataset_id ? strlen(dataset_id) : 0;
    if (idlen == 0 || idlen > PPML_DATASET_ID_MAX)
        return PPML_EINVAL;
    size_t p = 0;
    memcpy(msg, tag, sizeof tag - 1);
    p += sizeof tag - 1;
    for (int i = 0; i < 4; i++)
        msg[p++] = (uint8_t)(idlen >> (8 * i));
    memcpy(msg + p, dataset_id, idlen);
    p += idlen;
    for (int i = 0; i < 8; i++)
        msg[p++] = (uint8_t)(count >> (8 * i));
    memcpy(msg + p, root, PPML_HASH_BYTES);
    *len = p + PPML_HASH_BYTES;
    return PPML_OK;
}

#define MSG_MAX (14 + 4 + PPML_DATASET_ID_MAX + 8 + PPML_HASH_BYTES)

int ppml_upload_sign(uint8_t sig[PPML_SIGN_BYTES], const uint8_t sk[PPML_SIGN_SK_BYTES],
                     const char *dataset_id, uint64_t count, const uint8_t root[PPML_HASH_BYTES])
{
    uint8_t msg[MSG_MAX];
    size_t len;
    int e = upload_message(msg, &len, dataset_id, count, root);
    if (e)
        return e;
    return crypto_sign_detached(sig, NULL, msg, len, sk) == 0 ? PPML_OK : PPML_ECRYPTO;
}

int ppml_upload_verify(const uint8_t sig[PPML_SIGN_BYTES], const uint8_t pk[PPML_SIGN_PK_BYTES],
                       const char *dataset_id, uint64_t count, const uint8_t root[PPML_HASH_BYTES])
{
    uint8_t msg[MSG_MAX];
    size_t len;
    int e = upload_message(msg, &len, dataset_id, count, root);
    if (e)
        return e;
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? PPML_OK : PPML_EVERIFY;
}
