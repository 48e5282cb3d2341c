/* Integrity of outsourced data: BLAKE2b Merkle trees and Ed25519-signed roots (DESIGN §2
 * "Integrity and authentication"). Used by scheme S (medical centres' uploads) and scheme D
 * (data providers' uploads, public verification).
 *
 * Tree (RFC 6962 shape, BLAKE2b-256 with domain separation):
 *   leaf hash  = H(0x00 || item)
 *   node hash  = H(0x01 || left || right)
 *   root of n > 1 leaves = node(root of the first k leaves, root of the rest), k the largest
 *   power of two < n; root of one leaf = its leaf hash; root of zero leaves = H("").
 * Signed root: Ed25519 over
 *   "ppml-upload-v1" || u32 len(dataset_id) || dataset_id || u64 count || root
 * so a signature binds the owner's key to one named dataset with a given number of items.
 *
 * All inputs are public; nothing here is secret except the signing key (caller-owned, 64
 * bytes, libsodium crypto_sign format; wipe it when done). */
#ifndef PPML_MERKLE_H
#define PPML_MERKLE_H
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_HASH_BYTES 32
#define PPML_SIGN_PK_BYTES 32
#define PPML_SIGN_SK_BYTES 64
#define PPML_SIGN_BYTES 64
#define PPML_DATASET_ID_MAX 255

PPML_API void ppml_merkle_leaf(uint8_t out[PPML_HASH_BYTES], const void *item, size_t len);
/* Root over count leaf hashes (leaves[i] = ppml_merkle_leaf of item i). */
PPML_API int ppml_merkle_root(uint8_t root[PPML_HASH_BYTES], const uint8_t (*leaves)[PPML_HASH_BYTES],
                              size_t count) PPML_WUR;

/* Ed25519 key pair from the OS CSPRNG. */
PPML_API int ppml_sign_keypair(uint8_t pk[PPML_SIGN_PK_BYTES], uint8_t sk[PPML_SIGN_SK_BYTES]) PPML_WUR;
/* Sign / verify a dataset root. dataset_id: 1..PPML_DATASET_ID_MAX bytes. */
PPML_API int ppml_upload_sign(uint8_t sig[PPML_SIGN_BYTES], const uint8_t sk[PPML_SIGN_SK_BYTES],
                              const char *dataset_id, uint64_t count,
                              const uint8_t root[PPML_HASH_BYTES]) PPML_WUR;
/* PPML_OK if sig is valid, PPML_EVERIFY otherwise. */
PPML_API int ppml_upload_verify(const uint8_t sig[PPML_SIGN_BYTES], const uint8_t pk[PPML_SIGN_PK_BYTES],
                                const char *dataset_id, uint64_t count,
                                const uint8_t root[PPML_HASH_BYTES]) PPML_WUR;

#ifdef __cplusplus
}
#endif
#endif
