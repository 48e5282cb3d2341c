/* SQLite store for outsourced datasets and models. */
#include "ppml/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ppml_store {
    sqlite3 *db;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS datasets(id TEXT PRIMARY KEY, owner_pk BLOB NOT NULL,"
    " sig BLOB NOT NULL, count INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS items(dataset TEXT NOT NULL REFERENCES datasets(id),"
    " idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(dataset, idx));"
    "CREATE TABLE IF NOT EXISTS blobs(name TEXT PRIMARY KEY, data BLOB NOT NULL);";

static void set_err(char *err, const char *msg)
{
    if (err)
        snprintf(err, PPML_ERR_LEN, "%s", msg ? msg : "unknown SQLite error");
}

int ppml_store_open(ppml_store **out, const char *path, char err[PPML_ERR_LEN])
{
    ppml_store *st = calloc(1, sizeof *st);
    if (!st)
        return PPML_ENOMEM;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        set_err(err, st->db ? sqlite3_errmsg(st->db) : "cannot open");
        sqlite3_close(st->db);
        free(st);
        return PPML_EIO;
    }
    sqlite3_busy_timeout(st->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        set_err(err, msg);
        sqlite3_free(msg);
        sqlite3_close(st->db);
        free(st);
        return PPML_EIO;
    }
    *out = st;
    return PPML_OK;
}

void ppml_store_close(ppml_store *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st);
}

static int valid_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n > 0 && n <= PPML_DATASET_ID_MAX;
}

static int items_root(uint8_t root[PPML_HASH_BYTES], const uint8_t *const *items, const size_t *lens, size_t count)
{
    uint8_t (*leaves)[PPML_HASH_BYTES] = count ? malloc(count * sizeof *leaves) : NULL;
    if (count && !leaves)
        return PPML_ENOMEM;
    for (size_t i = 0; i < count; i++)
        ppml_merkle_leaf(leaves[i], items[i], lens[i]);
    int e = ppml_merkle_root(root, (const uint8_t(*)[PPML_HASH_BYTES])leaves, count);
    free(leaves);
    return e;
}

int ppml_store_put_dataset(ppml_store *st, const char *id, const uint8_t owner_pk[PPML_SIGN_PK_BYTES],
                           const uint8_t sig[PPML_SIGN_BYTES], const uint8_t *const *items,
                           const size_t *lens, size_t count)
{
    if (!st || !valid_id(id) || !owner_pk || !sig || (count && (!items || !lens)))
        return PPML_EINVAL;
    if (count > PPML_STORE_ITEMS_MAX)
        return PPML_ERANGE;
    for (size_t i = 0; i < count; i++)
        if (!items[i] || lens[i] > PPML_STORE_ITEM_MAX)
            return PPML_ERANGE;
    uint8_t root[PPML_HASH_BYTES];
    int e = items_root(root, items, lens, count);
    if (e)
        return e;
    if ((e = ppml_upload_verify(sig, owner_pk, id, count, root)))
        return e;

    sqlite3_stmt *ds = NULL, *it = NULL;
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return PPML_EIO;
    e = PPML_EIO;
    if (sqlite3_prepare_v2(st->db, "INSERT INTO datasets(id, owner_pk, sig, count) VALUES(?,?,?,?)", -1, &ds, NULL) ||
        sqlite3_prepare_v2(st->db, "INSERT INTO items(dataset, idx, data) VALUES(?,?,?)", -1, &it, NULL))
        goto rollback;
    sqlite3_bind_text(ds, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(ds, 2, owner_pk, PPML_SIGN_PK_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(ds, 3, sig, PPML_SIGN_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(ds, 4, (sqlite3_int64)count);
    int rc = sqlite3_step(ds);
    if (rc == SQLITE_CONSTRAINT) {
        e = PPML_ESTATE;
        goto rollback;
    }
    if (rc != SQLITE_DONE)
        goto rollback;
    for (size_t i = 0; i < count; i++) {
        sqlite3_reset(it);
        sqlite3_bind_text(it, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(it, 2, (sqlite3_int64)i);
        sqlite3_bind_blob64(it, 3, items[i], lens[i], SQLITE_STATIC);
        if (sqlite3_step(it) != SQLITE_DONE)
            goto rollback;
    }
    sqlite3_finalize(ds);
    sqlite3_finalize(it);
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return PPML_EIO;
    }
    return PPML_OK;
rollback:
    sqlite3_finalize(ds);
    sqlite3_finalize(it);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}

int ppml_store_dataset_info(ppml_store *st, const char *id, uint64_t *count,
                            uint8_t owner_pk[PPML_SIGN_PK_BYTES], uint8_t sig[PPML_SIGN_BYTES])
{
    if (!st || !valid_id(id))
        return PPML_EINVAL;
    sqlite3_stmt *s = NULL;
    int e = PPML_EIO;
    if (sqlite3_prepare_v2(st->db, "SELECT owner_pk, sig, count FROM datasets WHERE id = ?", -1, &s, NULL))
        return PPML_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        e = PPML_EINVAL;
    } else if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 0) != PPML_SIGN_PK_BYTES || sqlite3_column_bytes(s, 1) != PPML_SIGN_BYTES ||
            sqlite3_column_int64(s, 2) < 0) {
            e = PPML_EFORMAT;
        } else {
            if (owner_pk)
                memcpy(owner_pk, sqlite3_column_blob(s, 0), PPML_SIGN_PK_BYTES);
            if (sig)
                memcpy(sig, sqlite3_column_blob(s, 1), PPML_SIGN_BYTES);
            if (count)
                *count = (uint64_t)sqlite3_column_int64(s, 2);
            e = PPML_OK;
        }
    }
    sqlite3_finalize(s);
    return e;
}

static int copy_blob(sqlite3_stmt *s, int col, uint8_t **out, size_t *len)
{
    int n = sqlite3_column_bytes(s, col);
    if (n < 0 || (size_t)n > PPML_STORE_ITEM_MAX)
        return PPML_EFORMAT;
    uint8_t *p = malloc(n ? (size_t)n : 1);
    if (!p)
        return PPML_ENOMEM;
    if (n)
        memcpy(p, sqlite3_column_blob(s, col), (size_t)n);
    *out = p;
    *len = (size_t)n;
    return PPML_OK;
}

int ppml_store_get_item(ppml_store *st, const char *id, uint64_t idx, uint8_t **out, size_t *len)
{
    if (!st || !valid_id(id) || idx > INT64_MAX)
        return PPML_EINVAL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT data FROM items WHERE dataset = ? AND idx = ?", -1, &s, NULL))
        return PPML_EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)idx);
    int rc = sqlite3_step(s), e;
    if (rc == SQLITE_ROW)
        e = copy_blob(s, 0, out, len);
    else
        e = rc == SQLITE_DONE ? PPML_EINVAL : PPML_EIO;
    sqlite3_finalize(s);
    return e;
}

int ppml_store_verify(ppml_store *st, const char *id, const uint8_t *owner_pk)
{
    uint64_t count;
    uint8_t pk[PPML_SIGN_PK_BYTES], sig[PPML_SIGN_BYTES];
    int e = ppml_store_dataset_info(st, id, &count, pk, sig);
    if (e)
        return e;
    if (owner_pk && memcmp(owner_pk, pk, PPML_SIGN_PK_BYTES) != 0)
        return PPML_EVERIFY;
    if (count > PPML_STORE_ITEMS_MAX)
        return PPML_EFORMAT;
    uint8_t (*leaves)[PPML_HASH_BYTES] = malloc((count ? count : 1) * sizeof *leaves);
    if (!leaves)
        return PPML_ENOMEM;
    sqlite3_stmt *s = NULL;
    e = PPML_EIO;
    if (sqlite3_prepare_v2(st->db, "SELECT idx, data FROM items WHERE dataset = ? ORDER BY idx", -1, &s, NULL))
        goto out;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    uint64_t seen = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        /* Items must be exactly 0..count-1: a missing, extra or renumbered item fails. */
        if (seen >= count || (uint64_t)sqlite3_column_int64(s, 0) != seen) {
            e = PPML_EVERIFY;
            goto out;
        }
        ppml_merkle_leaf(leaves[seen], sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1));
        seen++;
    }
    if (rc != SQLITE_DONE)
        goto out;
    if (seen != count) {
        e = PPML_EVERIFY;
        goto out;
    }
    uint8_t root[PPML_HASH_BYTES];
    if ((e = ppml_merkle_root(root, (const uint8_t(*)[PPML_HASH_BYTES])leaves, count)))
        goto out;
    e = ppml_upload_verify(sig, pk, id, count, root);
out:
    sqlite3_finalize(s);
    free(leaves);
    return e;
}

int ppml_store_put_blob(ppml_store *st, const char *name, const uint8_t *data, size_t len)
{
    if (!st || !valid_id(name) || (!data && len) || len > PPML_STORE_ITEM_MAX)
        return PPML_EINVAL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO blobs(name, data) VALUES(?, ?)", -1, &s, NULL))
        return PPML_EIO;
    static const uint8_t empty[1];
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(s, 2, len ? data : empty, len, SQLITE_STATIC);
    int e = sqlite3_step(s) == SQLITE_DONE ? PPML_OK : PPML_EIO;
    sqlite3_finalize(s);
    return e;
}

int ppml_store_get_blob(ppml_store *st, const char *name, uint8_t **out, size_t *len)
{
    if (!st || !valid_id(name))
        return PPML_EINVAL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT data FROM blobs WHERE name = ?", -1, &s, NULL))
        return PPML_EIO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s), e;
    if (rc == SQLITE_ROW)
        e = copy_blob(s, 0, out, len);
    else
        e = rc == SQLITE_DONE ? PPML_EINVAL : PPML_EIO;
    sqlite3_finalize(s);
    return e;
}
