/* Merkle roots, signed uploads and the SQLite store. */
#include "test.h"

#include "ppml/merkle.h"
#include "ppml/store.h"

#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

static void h_leaf(uint8_t out[32], const char *s)
{
    uint8_t buf[64];
    buf[0] = 0;
    memcpy(buf + 1, s, strlen(s));
    crypto_generichash(out, 32, buf, 1 + strlen(s), NULL, 0);
}

static void h_node(uint8_t out[32], const uint8_t l[32], const uint8_t r[32])
{
    uint8_t buf[65];
    buf[0] = 1;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    crypto_generichash(out, 32, buf, 65, NULL, 0);
}

static void test_merkle(void)
{
    const char *items[] = {"a", "bb", "ccc", "dddd", "eeeee"};
    uint8_t leaves[5][32], ref[5][32], root[32], expect[32], t1[32], t2[32];
    for (int i = 0; i < 5; i++) {
        ppml_merkle_leaf(leaves[i], items[i], strlen(items[i]));
        h_leaf(ref[i], items[i]);
        CHECK(memcmp(leaves[i], ref[i], 32) == 0);
    }
    /* n = 1: the leaf; n = 3: node(node(0,1), 2); n = 5: node(node(node(0,1),node(2,3)), 4) */
    CHECK_OK(ppml_merkle_root(root, (const uint8_t(*)[32])leaves, 1));
    CHECK(memcmp(root, ref[0], 32) == 0);
    CHECK_OK(ppml_merkle_root(root, (const uint8_t(*)[32])leaves, 3));
    h_node(t1, ref[0], ref[1]);
    h_node(expect, t1, ref[2]);
    CHECK(memcmp(root, expect, 32) == 0);
    CHECK_OK(ppml_merkle_root(root, (const uint8_t(*)[32])leaves, 5));
    h_node(t2, ref[2], ref[3]);
    h_node(t1, t1, t2);
    h_node(expect, t1, ref[4]);
    CHECK(memcmp(root, expect, 32) == 0);
    /* Order matters; every leaf matters. */
    uint8_t swapped[5][32];
    memcpy(swapped, leaves, sizeof swapped);
    memcpy(swapped[1], leaves[2], 32);
    memcpy(swapped[2], leaves[1], 32);
    uint8_t root2[32];
    CHECK_OK(ppml_merkle_root(root2, (const uint8_t(*)[32])swapped, 5));
    CHECK(memcmp(root, root2, 32) != 0);

    uint8_t pk[32], sk[64], sig[64];
    CHECK_OK(ppml_sign_keypair(pk, sk));
    CHECK_OK(ppml_upload_sign(sig, sk, "mc1/wine", 5, root));
    CHECK_OK(ppml_upload_verify(sig, pk, "mc1/wine", 5, root));
    CHECK_ERR(ppml_upload_verify(sig, pk, "mc1/wine", 4, root), PPML_EVERIFY);
    CHECK_ERR(ppml_upload_verify(sig, pk, "mc2/wine", 5, root), PPML_EVERIFY);
    CHECK_ERR(ppml_upload_verify(sig, pk, "mc1/wine", 5, root2), PPML_EVERIFY);
    sig[10] ^= 1;
    CHECK_ERR(ppml_upload_verify(sig, pk, "mc1/wine", 5, root), PPML_EVERIFY);
    CHECK_ERR(ppml_upload_sign(sig, sk, "", 5, root), PPML_EINVAL);
    sodium_memzero(sk, sizeof sk);
}

static void test_store(void)
{
    char path[] = "/tmp/ppml_test_store_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    char err[PPML_ERR_LEN];
    ppml_store *st;
    CHECK_OK(ppml_store_open(&st, path, err));

    enum { N = 37 };
    uint8_t data[N][40];
    const uint8_t *items[N];
    size_t lens[N];
    uint8_t leaves[N][32];
    for (int i = 0; i < N; i++) {
        ppml_randombytes(data[i], sizeof data[i]);
        items[i] = data[i];
        lens[i] = 1 + (size_t)i % 40;
        ppml_merkle_leaf(leaves[i], items[i], lens[i]);
    }
    uint8_t root[32], pk[32], sk[64], sig[64], pk2[32], sk2[64];
    CHECK_OK(ppml_merkle_root(root, (const uint8_t(*)[32])leaves, N));
    CHECK_OK(ppml_sign_keypair(pk, sk));
    CHECK_OK(ppml_sign_keypair(pk2, sk2));
    CHECK_OK(ppml_upload_sign(sig, sk, "ds1", N, root));

    /* A wrong signature writes nothing. */
    CHECK_ERR(ppml_store_put_dataset(st, "ds1", pk2, sig, items, lens, N), PPML_EVERIFY);
    CHECK_ERR(ppml_store_dataset_info(st, "ds1", NULL, NULL, NULL), PPML_EINVAL);
    CHECK_OK(ppml_store_put_dataset(st, "ds1", pk, sig, items, lens, N));
    CHECK_ERR(ppml_store_put_dataset(st, "ds1", pk, sig, items, lens, N), PPML_ESTATE);

    uint64_t count;
    uint8_t got_pk[32];
    CHECK_OK(ppml_store_dataset_info(st, "ds1", &count, got_pk, NULL));
    CHECK(count == N && memcmp(got_pk, pk, 32) == 0);
    for (int i = 0; i < N; i++) {
        uint8_t *out;
        size_t len;
        CHECK_OK(ppml_store_get_item(st, "ds1", (uint64_t)i, &out, &len));
        CHECK(len == lens[i] && memcmp(out, items[i], len) == 0);
        free(out);
    }
    uint8_t *out;
    size_t len;
    CHECK_ERR(ppml_store_get_item(st, "ds1", N, &out, &len), PPML_EINVAL);
    CHECK_OK(ppml_store_verify(st, "ds1", NULL));
    CHECK_OK(ppml_store_verify(st, "ds1", pk));
    CHECK_ERR(ppml_store_verify(st, "ds1", pk2), PPML_EVERIFY);

    CHECK_OK(ppml_store_put_blob(st, "model", (const uint8_t *)"abc", 3));
    CHECK_OK(ppml_store_put_blob(st, "model", (const uint8_t *)"abcd", 4));
    CHECK_OK(ppml_store_get_blob(st, "model", &out, &len));
    CHECK(len == 4 && memcmp(out, "abcd", 4) == 0);
    free(out);
    ppml_store_close(st);

    /* Tampering through SQLite directly (as a malicious store would) fails verification:
     * a changed item, then a deleted item. */
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE items SET data = x'00' WHERE dataset='ds1' AND idx=5", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_OK(ppml_store_open(&st, path, err));
    CHECK_ERR(ppml_store_verify(st, "ds1", pk), PPML_EVERIFY);
    ppml_store_close(st);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "DELETE FROM items WHERE dataset='ds1' AND idx=36", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_OK(ppml_store_open(&st, path, err));
    CHECK_ERR(ppml_store_verify(st, "ds1", NULL), PPML_EVERIFY);
    ppml_store_close(st);

    /* Not a database: a clear error. */
    FILE *f = fopen(path, "wb");
    fputs("this is not sqlite at all, just text that is long enough to be a header...........", f);
    fclose(f);
    char wal[64];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    CHECK_FAILS(ppml_store_open(&st, path, err));
    unlink(path);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(sk2, sizeof sk2);
}

int main(void)
{
    test_init();
    test_merkle();
    test_store();
    return test_finish("test_store");
}
