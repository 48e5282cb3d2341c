/* Storage of outsourced ciphertexts and models in SQLite (DESIGN §6): WAL journal, one
 * transaction per upload, so an interrupted upload leaves no partial dataset.
 *
 * A dataset is a named list of opaque items (serialized ciphertexts) with its owner's Ed25519
 * public key and the owner's signature over the Merkle root of the items (ppml/merkle.h).
 * put_dataset checks the signature before anything is written; ppml_store_verify recomputes
 * the root from what is stored, so anyone holding the store can check it ("public
 * verification").
 *
 * Ownership: ppml_store is a heap object (open/close). Returned buffers are malloc'ed and
 * owned by the caller. A store handle is not thread-safe: one per thread. */
#ifndef PPML_STORE_H
#define PPML_STORE_H
#include "common.h"
#include "merkle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest item and blob accepted (64 MiB) and most items in one dataset. */
#define PPML_STORE_ITEM_MAX ((size_t)64 << 20)
#define PPML_STORE_ITEMS_MAX ((size_t)1 << 24)

typedef struct ppml_store ppml_store;

/* Open or create. err (may be NULL) receives SQLite's message on failure. */
PPML_API int ppml_store_open(ppml_store **st, const char *path, char err[PPML_ERR_LEN]) PPML_WUR;
PPML_API void ppml_store_close(ppml_store *st);

/* Store a dataset atomically after checking sig over the items' Merkle root.
 * PPML_EVERIFY: bad signature (nothing written); PPML_ESTATE: id already exists. */
PPML_API int ppml_store_put_dataset(ppml_store *st, const char *id, const uint8_t owner_pk[PPML_SIGN_PK_BYTES],
                                    const uint8_t sig[PPML_SIGN_BYTES], const uint8_t *const *items,
                                    const size_t *lens, size_t count) PPML_WUR;
/* Metadata of a stored dataset. Any output pointer may be NULL. PPML_EINVAL if unknown id. */
PPML_API int ppml_store_dataset_info(ppml_store *st, const char *id, uint64_t *count,
                                     uint8_t owner_pk[PPML_SIGN_PK_BYTES], uint8_t sig[PPML_SIGN_BYTES]) PPML_WUR;
/* Item idx of dataset id (caller frees *out). */
PPML_API int ppml_store_get_item(ppml_store *st, const char *id, uint64_t idx, uint8_t **out, size_t *len) PPML_WUR;
/* Recompute the Merkle root of the stored items and check the stored signature against the
 * given owner key (or the stored one if owner_pk is NULL). PPML_EVERIFY if anything differs. */
PPML_API int ppml_store_verify(ppml_store *st, const char *id, const uint8_t *owner_pk) PPML_WUR;
/* Named blobs (models, keys' public parts); put replaces atomically. */
PPML_API int ppml_store_put_blob(ppml_store *st, const char *name, const uint8_t *data, size_t len) PPML_WUR;
PPML_API int ppml_store_get_blob(ppml_store *st, const char *name, uint8_t **out, size_t *len) PPML_WUR;

#ifdef __cplusplus
}
#endif
#endif
