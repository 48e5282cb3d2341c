/* IDX loader: round trips (plain and gzip), strict validation, two-class task builder and
 * the train ++ t10k split. All files are small synthetic ones written here. */
#include "test.h"

#include "ppml/idx.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[256];

/* Serialise an IDX u8 file. */
static size_t make_idx(uint8_t *out, unsigned ndims, const uint32_t *dims, const uint8_t *data, size_t count)
{
    size_t at = 0;
    out[at++] = 0;
    out[at++] = 0;
    out[at++] = 0x08;
    out[at++] = (uint8_t)ndims;
    for (unsigned i = 0; i < ndims; i++) {
        out[at++] = (uint8_t)(dims[i] >> 24);
        out[at++] = (uint8_t)(dims[i] >> 16);
        out[at++] = (uint8_t)(dims[i] >> 8);
        out[at++] = (uint8_t)dims[i];
    }
    memcpy(out + at, data, count);
    return at + count;
}

static void write_file(const char *path, const uint8_t *buf, size_t len, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            CHECK(gzwrite(f, buf, (unsigned)len) == (int)len);
            gzclose(f);
        }
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            CHECK(fwrite(buf, 1, len, f) == len);
            fclose(f);
        }
    }
}

static void test_parse(void)
{
    uint8_t data[2 * 3 * 4], buf[256];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 5);
    uint32_t dims[3] = {2, 3, 4};
    size_t len = make_idx(buf, 3, dims, data, sizeof data);
    ppml_idx *x = NULL;
    char err[PPML_ERR_LEN];
    CHECK_OK(ppml_idx_parse(&x, buf, len, 0, err));
    if (x) {
        CHECK(x->ndims == 3 && x->dims[0] == 2 && x->dims[1] == 3 && x->dims[2] == 4 && x->count == 24);
        CHECK(memcmp(x->data, data, 24) == 0);
        ppml_idx_free(x);
    }
    /* every truncation fails, and so do trailing bytes */
    for (size_t l = 0; l < len; l++) {
        x = NULL;
        CHECK_FAILS(ppml_idx_parse(&x, buf, l, 0, err));
        CHECK(x == NULL);
    }
    uint8_t big[300];
    memcpy(big, buf, len);
    big[len] = 0;
    CHECK_ERR(ppml_idx_parse(&x, big, len + 1, 0, err), PPML_EFORMAT);
    /* bad magic, unsupported type, bad dimension counts, zero dimension */
    memcpy(big, buf, len);
    big[0] = 1;
    CHECK_ERR(ppml_idx_parse(&x, big, len, 0, err), PPML_EFORMAT);
    memcpy(big, buf, len);
    big[2] = 0x0D;
    CHECK_ERR(ppml_idx_parse(&x, big, len, 0, err), PPML_ENOTSUP);
    CHECK(strstr(err, "0x0d") != NULL);
    memcpy(big, buf, len);
    big[3] = 0;
    CHECK_ERR(ppml_idx_parse(&x, big, len, 0, err), PPML_EFORMAT);
    big[3] = 5;
    CHECK_ERR(ppml_idx_parse(&x, big, len, 0, err), PPML_EFORMAT);
    memcpy(big, buf, len);
    big[7] = 0; /* first dimension 0 */
    CHECK_ERR(ppml_idx_parse(&x, big, len, 0, err), PPML_EFORMAT);
    /* sizes whose product overflows, or passes the cap, are refused before allocation */
    uint32_t huge[4] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 2};
    len = make_idx(big, 4, huge, data, 0);
    CHECK_ERR(ppml_idx_parse(&x, big, len, 0, err), PPML_ERANGE);
    len = make_idx(big, 3, dims, data, sizeof data);
    CHECK_ERR(ppml_idx_parse(&x, big, len, 23, err), PPML_ERANGE);
    CHECK_OK(ppml_idx_parse(&x, big, len, 24, err));
    ppml_idx_free(x);
    ppml_idx_free(NULL);
}

static void test_load(void)
{
    uint8_t data[5 * 2 * 2], buf[256];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(255 - i);
    uint32_t dims[3] = {5, 2, 2};
    size_t len = make_idx(buf, 3, dims, data, sizeof data);
    char path[512], err[PPML_ERR_LEN];
    for (int gz = 0; gz < 2; gz++) {
        snprintf(path, sizeof path, "%s/a%d.idx", tmpdir, gz);
        write_file(path, buf, len, gz);
        ppml_idx *x = NULL;
        CHECK_OK(ppml_idx_load(&x, path, 0, err));
        if (x) {
            CHECK(x->count == 20 && memcmp(x->data, data, 20) == 0);
            ppml_idx_free(x);
        }
        /* truncated and over-long files (compressed or not) fail with a reason */
        write_file(path, buf, len - 1, gz);
        x = NULL;
        CHECK_ERR(ppml_idx_load(&x, path, 0, err), PPML_EFORMAT);
        CHECK(x == NULL && strstr(err, "truncated") != NULL);
        uint8_t longer[300];
        memcpy(longer, buf, len);
        longer[len] = 7;
        write_file(path, longer, len + 1, gz);
        CHECK_ERR(ppml_idx_load(&x, path, 0, err), PPML_EFORMAT);
        CHECK(strstr(err, "trailing") != NULL);
        write_file(path, buf, 2, gz);
        CHECK_ERR(ppml_idx_load(&x, path, 0, err), PPML_EFORMAT);
        CHECK_ERR(ppml_idx_load(&x, path, 10, err), PPML_EFORMAT);
    }
    ppml_idx *x = NULL;
    snprintf(path, sizeof path, "%s/missing.idx", tmpdir);
    CHECK_ERR(ppml_idx_load(&x, path, 0, err), PPML_EIO);
    CHECK(strstr(err, "missing.idx") != NULL);
}

/* Images: n images of r x c; image i has pixel j = (i * 31 + j * 7) % 256; labels cycle. */
static void build(ppml_idx *img, ppml_idx *lab, uint8_t *pix, uint8_t *labels, uint32_t n, uint32_t r, uint32_t c,
                  uint8_t nclasses)
{
    for (uint32_t i = 0; i < n; i++) {
        labels[i] = (uint8_t)(i % nclasses);
        for (uint32_t j = 0; j < r * c; j++)
            pix[i * r * c + j] = (uint8_t)((i * 31 + j * 7) % 256);
    }
    *img = (ppml_idx){PPML_IDX_TYPE_U8, 3, {n, r, c, 0}, (size_t)n * r * c, pix};
    *lab = (ppml_idx){PPML_IDX_TYPE_U8, 1, {n, 0, 0, 0}, n, labels};
}

static void test_two_class(void)
{
    enum { N = 30, R = 3, C = 2 };
    uint8_t pix[N * R * C], labels[N];
    ppml_idx img, lab;
    build(&img, &lab, pix, labels, N, R, C, 10);
    pix[0] = 255; /* image 0 (class 0) has a full-intensity pixel */
    ppml_logreg_data t = {0};
    char err[PPML_ERR_LEN];
    CHECK_OK(ppml_idx_two_class(&t, &img, &lab, 7, 2, 2, 8, err));
    CHECK(t.m == 6 && t.d == 2 * R * C);
    size_t row = 0;
    for (uint32_t i = 0; i < N && row < t.m; i++) {
        if (labels[i] != 7 && labels[i] != 2)
            continue;
        CHECK(t.y[row] == (labels[i] == 2)); /* a -> 0, b -> 1 */
        for (unsigned k = 0; k < 2; k++)
            for (int j = 0; j < R * C; j++) {
                long want = lround(pix[i * R * C + j] * 256.0 / 255.0);
                CHECK(t.x[row * t.d + k * R * C + j] == want);
            }
        row++;
    }
    CHECK_OK(ppml_logreg_data_check(&t));
    ppml_logreg_data_clear(&t);
    /* scaled to [0, 1]: 255 -> 2^frac */
    CHECK_OK(ppml_idx_two_class(&t, &img, &lab, 0, 1, 1, 8, err));
    CHECK(t.x[0] == 256);
    ppml_logreg_data_clear(&t);
    /* errors */
    CHECK_ERR(ppml_idx_two_class(&t, &img, &lab, 3, 3, 1, 8, err), PPML_EINVAL);
    CHECK_ERR(ppml_idx_two_class(&t, &img, &lab, 11, 12, 1, 8, err), PPML_EINVAL);
    CHECK(strstr(err, "no records") != NULL);
    CHECK_ERR(ppml_idx_two_class(&t, &lab, &lab, 0, 1, 1, 8, err), PPML_EFORMAT);
    lab.dims[0] = N - 1;
    CHECK_ERR(ppml_idx_two_class(&t, &img, &lab, 0, 1, 1, 8, err), PPML_EMISMATCH);
    CHECK(t.x == NULL);
}

static void write_set(const char *prefix, uint32_t n, int gz, uint32_t salt)
{
    enum { R = 2, C = 2 };
    uint8_t pix[64 * R * C], labels[64], buf[64 * R * C + 64];
    ppml_idx img, lab;
    build(&img, &lab, pix, labels, n, R, C, 4);
    for (uint32_t i = 0; i < n * R * C; i++)
        pix[i] = (uint8_t)(pix[i] + salt);
    char path[512];
    uint32_t dims[3] = {n, R, C};
    size_t len = make_idx(buf, 3, dims, pix, (size_t)n * R * C);
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", tmpdir, prefix, gz ? ".gz" : "");
    write_file(path, buf, len, gz);
    len = make_idx(buf, 1, dims, labels, n);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", tmpdir, prefix, gz ? ".gz" : "");
    write_file(path, buf, len, gz);
}

static void test_task(void)
{
    /* train: 40 images, classes cycle 0..3 -> 20 of classes {1, 3}; t10k: 16 -> 8. */
    write_set("train", 40, 0, 0);
    write_set("t10k", 16, 1, 100);
    ppml_logreg_data tr = {0}, te = {0};
    char err[PPML_ERR_LEN];
    CHECK_OK(ppml_idx_load_task(&tr, &te, tmpdir, 1, 3, 24, 2, 8, err));
    CHECK(tr.m == 24 && te.m == 4 && tr.d == 8 && te.d == 8);
    /* the first 20 training records come from the training file, then 4 test-file records */
    ppml_logreg_data a = {0}, b = {0};
    CHECK_OK(ppml_idx_load_task(&a, &b, tmpdir, 1, 3, 0, 2, 8, err));
    CHECK(a.m == 20 && b.m == 8);
    if (tr.x && a.x && b.x && te.x) {
        CHECK(memcmp(tr.x, a.x, 20 * 8 * sizeof *tr.x) == 0);
        CHECK(memcmp(tr.x + 20 * 8, b.x, 4 * 8 * sizeof *tr.x) == 0);
        CHECK(memcmp(te.x, b.x + 4 * 8, 4 * 8 * sizeof *tr.x) == 0);
        CHECK(memcmp(te.y, b.y + 4, 4) == 0);
    }
    ppml_logreg_data_clear(&tr);
    ppml_logreg_data_clear(&te);
    ppml_logreg_data_clear(&a);
    ppml_logreg_data_clear(&b);
    /* a split leaving nothing to test, and a directory without files */
    CHECK_ERR(ppml_idx_load_task(&tr, &te, tmpdir, 1, 3, 28, 2, 8, err), PPML_ERANGE);
    CHECK_ERR(ppml_idx_load_task(&tr, &te, "/nonexistent-ppml", 1, 3, 0, 2, 8, err), PPML_EIO);
    CHECK(strstr(err, "not found") != NULL);
    CHECK(tr.x == NULL && te.x == NULL);
}

int main(void)
{
    test_init();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ppml-test-idx-%d", (int)getpid());
    mkdir(tmpdir, 0700);
    test_parse();
    test_load();
    test_two_class();
    test_task();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    return test_finish("test_idx");
}
