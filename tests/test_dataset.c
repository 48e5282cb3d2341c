/* Datasets: CSV loader (valid inputs, round trips, every class of bad input), stratified
 * reproducible split, standardisation, ±1 labels, accuracy. */
#include "test.h"

#include "ppml/dataset.h"
#include "ppml/mem.h"

#include <locale.h>
#include <math.h>

static int parse_str(ppml_dataset *ds, const char *s, const ppml_csv_limits *lim, char *err)
{
    return ppml_dataset_parse_csv(ds, s, strlen(s), lim, err);
}

static int datasets_equal(const ppml_dataset *a, const ppml_dataset *b)
{
    if (a->n != b->n || a->d != b->d || a->n_classes != b->n_classes)
        return 0;
    if (a->n && (memcmp(a->x, b->x, a->n * a->d * sizeof(double)) != 0 ||
                 memcmp(a->y, b->y, a->n * sizeof(uint32_t)) != 0))
        return 0;
    for (size_t j = 0; j < a->d; j++)
        if (strcmp(a->feature_names[j], b->feature_names[j]) != 0)
            return 0;
    for (size_t k = 0; k < a->n_classes; k++)
        if (strcmp(a->class_names[k], b->class_names[k]) != 0)
            return 0;
    return 1;
}

static void test_bundled(void)
{
    static const struct {
        const char *path;
        size_t n, d, k;
    } files[] = {
        {"data/breast_cancer.csv", 569, 30, 2}, /* sizes as documented in data/README.md */
        {"data/wine.csv", 178, 13, 3},
        {"data/iris.csv", 150, 4, 3},
    };
    char err[PPML_ERR_LEN];
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        ppml_dataset ds;
        ppml_dataset_init(&ds);
        CHECK_OK(ppml_dataset_load_csv(&ds, files[f].path, NULL, err));
        CHECK(ds.n == files[f].n && ds.d == files[f].d && ds.n_classes == files[f].k);
        /* class names sorted and distinct; every label in range */
        for (size_t k = 1; k < ds.n_classes; k++)
            CHECK(strcmp(ds.class_names[k - 1], ds.class_names[k]) < 0);
        int in_range = 1;
        for (size_t i = 0; i < ds.n; i++)
            in_range &= ds.y[i] < ds.n_classes;
        CHECK(in_range);
        /* round trip through the writer */
        char *txt = NULL;
        size_t len = 0;
        CHECK_OK(ppml_dataset_format_csv(&txt, &len, &ds));
        ppml_dataset back;
        ppml_dataset_init(&back);
        CHECK_OK(ppml_dataset_parse_csv(&back, txt, len, NULL, err));
        CHECK(datasets_equal(&ds, &back));
        free(txt);
        ppml_dataset_clear(&back);
        ppml_dataset_clear(&ds);
    }
    /* the first iris row, read independently of the loader */
    ppml_dataset ds;
    ppml_dataset_init(&ds);
    CHECK_OK(ppml_dataset_load_csv(&ds, "data/iris.csv", NULL, err));
    FILE *fp = fopen("data/iris.csv", "r");
    CHECK(fp != NULL);
    if (fp) {
        char line[256];
        double v[4];
        char lab[64];
        CHECK(fgets(line, sizeof line, fp) != NULL);
        CHECK(fscanf(fp, "%lf,%lf,%lf,%lf,%63s", &v[0], &v[1], &v[2], &v[3], lab) == 5);
        for (int j = 0; j < 4; j++)
            CHECK(ds.x[j] == v[j]);
        CHECK(strcmp(ds.class_names[ds.y[0]], lab) == 0);
        fclose(fp);
    }
    ppml_dataset_clear(&ds);
    CHECK_ERR(ppml_dataset_load_csv(&ds, "data/no_such_file.csv", NULL, err), PPML_EIO);
    CHECK(strstr(err, "no_such_file") != NULL);
}

static void test_syntax(void)
{
    char err[PPML_ERR_LEN];
    ppml_dataset ds;
    ppml_dataset_init(&ds);
    /* label column anywhere; classes numbered in sorted order; CRLF; quotes; spaces; BOM;
     * trailing blank lines; exponents and signs. */
    const char *txt = "\xEF\xBB\xBF"
                      "f1,label, \"f,2\" \r\n"
                      " 1.5 ,b,-2e3\r\n"
                      "+.5,\"a\",3.\r\n"
                      "-0,c,1E-2\r\n"
                      "7,\"a\"\"q\",0\r\n"
                      "\r\n\n";
    CHECK_OK(parse_str(&ds, txt, NULL, err));
    CHECK(ds.n == 4 && ds.d == 2 && ds.n_classes == 4);
    if (ds.n == 4 && ds.n_classes == 4) {
        CHECK(strcmp(ds.feature_names[0], "f1") == 0 && strcmp(ds.feature_names[1], "f,2") == 0);
        CHECK(strcmp(ds.class_names[0], "a") == 0 && strcmp(ds.class_names[1], "a\"q") == 0 &&
              strcmp(ds.class_names[2], "b") == 0 && strcmp(ds.class_names[3], "c") == 0);
        CHECK(ds.y[0] == 2 && ds.y[1] == 0 && ds.y[2] == 3 && ds.y[3] == 1);
        CHECK(ds.x[0] == 1.5 && ds.x[1] == -2000.0 && ds.x[2] == 0.5 && ds.x[3] == 3.0);
        CHECK(ds.x[4] == 0.0 && signbit(ds.x[4]) && ds.x[5] == 0.01);
        /* writer and parser agree on the awkward names */
        char *out = NULL;
        size_t len = 0;
        ppml_dataset back;
        ppml_dataset_init(&back);
        CHECK_OK(ppml_dataset_format_csv(&out, &len, &ds));
        CHECK_OK(ppml_dataset_parse_csv(&back, out, len, NULL, err));
        CHECK(datasets_equal(&ds, &back));
        free(out);
        ppml_dataset_clear(&back);
    }
    /* No trailing newline; the file need not be NUL-terminated. */
    const char exact[] = {'x', ',', 'l', 'a', 'b', 'e', 'l', '\n', '1', ',', 'u'};
    CHECK_OK(ppml_dataset_parse_csv(&ds, exact, sizeof exact, NULL, err));
    CHECK(ds.n == 1 && ds.n_classes == 1 && ds.x[0] == 1.0);
    ppml_dataset_clear(&ds);
}

/* Random datasets (awkward doubles and names) survive format → parse bit for bit. */
static void test_roundtrip_random(void)
{
    char err[PPML_ERR_LEN];
    const char *names[] = {"a", "b c", " lead", "trail ", "q\"uote", "com,ma", "t\tab", "x"};
    int rounds = test_sanitized() ? 20 : 100;
    for (int r = 0; r < rounds; r++) {
        ppml_dataset ds;
        ppml_dataset_init(&ds);
        ds.n = 1 + ppml_rand_below(20);
        ds.d = 1 + ppml_rand_below(6);
        ds.n_classes = 1 + ppml_rand_below(4);
        ds.x = malloc(ds.n * ds.d * sizeof(double));
        ds.y = malloc(ds.n * sizeof(uint32_t));
        ds.feature_names = calloc(ds.d, sizeof(char *));
        ds.class_names = calloc(ds.n_classes, sizeof(char *));
        for (size_t j = 0; j < ds.d; j++) {
            char buf[64];
            snprintf(buf, sizeof buf, "%s%zu", names[ppml_rand_below(8)], j);
            ds.feature_names[j] = strdup(buf);
        }
        for (size_t k = 0; k < ds.n_classes; k++) {
            char buf[64];
            snprintf(buf, sizeof buf, "%zu%s", k, names[ppml_rand_below(8)]);
            ds.class_names[k] = strdup(buf);
        }
        for (size_t q = 0; q < ds.n * ds.d; q++) {
            uint64_t bits;
            double v;
            do { /* any finite double, including subnormals and -0 */
                bits = ppml_rand_u64();
                memcpy(&v, &bits, sizeof v);
            } while (!isfinite(v));
            if (ppml_rand_below(3) == 0)
                v = (double)(int64_t)(ppml_rand_u64() % 2001) / 16.0 - 60.0;
            ds.x[q] = v;
        }
        /* every class appears so the class list survives */
        for (size_t i = 0; i < ds.n; i++)
            ds.y[i] = (uint32_t)(i < ds.n_classes ? i : ppml_rand_below(ds.n_classes));
        if (ds.n < ds.n_classes) {
            for (size_t k = ds.n; k < ds.n_classes; k++)
                free(ds.class_names[k]);
            ds.n_classes = ds.n;
        }
        char *out = NULL;
        size_t len = 0;
        ppml_dataset back;
        ppml_dataset_init(&back);
        CHECK_OK(ppml_dataset_format_csv(&out, &len, &ds));
        /* class names were made to sort as their indices */
        CHECK_OK(ppml_dataset_parse_csv(&back, out, len, NULL, err));
        CHECK(datasets_equal(&ds, &back));
        free(out);
        ppml_dataset_clear(&back);
        ppml_dataset_clear(&ds);
    }
}

typedef struct bad_case {
    const char *text;
    int code;
    const char *msg; /* substring expected in err */
} bad_case;

static void test_bad_inputs(void)
{
    static const bad_case cases[] = {
        {"", PPML_EFORMAT, "empty file"},
        {"\n", PPML_EFORMAT, "line 1"},
        {"a,b\n1,2\n", PPML_EFORMAT, "no column named \"label\""},
        {"label\nx\n", PPML_EFORMAT, "line 1"},
        {"a,label\n", PPML_EFORMAT, "no data rows"},
        {"a,label\n\n\n", PPML_EFORMAT, "no data rows"},
        {"a,b,label\n1,2,x\n3,y\n", PPML_EFORMAT, "line 3: 2 fields, expected 3"},
        {"a,label\n1,x\n2,y,3\n", PPML_EFORMAT, "line 3: more than 2 fields"},
        {"a,label\n1,x\n2,y,\n", PPML_EFORMAT, "line 3"},
        {"a,label\nfoo,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\nnan,x\n", PPML_EFORMAT, "not a finite"},
        {"a,label\nNaN,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n1,x\ninf,y\n", PPML_EFORMAT, "line 3"},
        {"a,label\n-infinity,y\n", PPML_EFORMAT, "line 2"},
        {"a,label\n1e999,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n-1e400,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n0x10,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n1e,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n.,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n1 2,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n\"1,5\",x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n1,\n", PPML_EFORMAT, "line 2: empty label"},
        {"a,label\n1,\"\"\n", PPML_EFORMAT, "line 2: empty label"},
        {"a,a,label\n1,2,x\n", PPML_EFORMAT, "duplicate column name \"a\""},
        {"a,label,label\n1,x,y\n", PPML_EFORMAT, "duplicate column name \"label\""},
        {"a, a ,label\n1,2,x\n", PPML_EFORMAT, "duplicate"},
        {",label\n1,x\n", PPML_EFORMAT, "empty name"},
        {"a,label\n1,x\n\n2,y\n", PPML_EFORMAT, "line 3: empty line"},
        {"a,label\n\"1,x\n", PPML_EFORMAT, "line 2"},
        {"a,label\n1,\"x\"y\n", PPML_EFORMAT, "line 2"},
        {"a,label\n1,x\"y\n", PPML_EFORMAT, "line 2"},
        {"a,label\n1,x\r2,y\n", PPML_EFORMAT, "line 2"},
        {"\"a,label\n1,x\n", PPML_EFORMAT, "line 1"},
    };
    char err[PPML_ERR_LEN];
    ppml_dataset ds;
    ppml_dataset_init(&ds);
    /* Output untouched on failure: keep a loaded dataset and check it survives. */
    CHECK_OK(parse_str(&ds, "v,label\n42,keep\n", NULL, err));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        err[0] = '\0';
        int rc = parse_str(&ds, cases[c].text, NULL, err);
        if (rc != cases[c].code || !strstr(err, cases[c].msg)) {
            test_failed++;
            fprintf(stderr, "bad case %zu: rc %d, err \"%s\", expected %d \"%s\"\n", c, rc, err,
                    cases[c].code, cases[c].msg);
        } else {
            test_passed++;
        }
        CHECK(ds.n == 1 && ds.x[0] == 42.0 && strcmp(ds.class_names[0], "keep") == 0);
    }
    /* NUL byte (length-delimited input) */
    const char nul[] = {'a', ',', 'l', 'a', 'b', 'e', 'l', '\n', '1', '\0', ',', 'x', '\n'};
    CHECK_ERR(ppml_dataset_parse_csv(&ds, nul, sizeof nul, NULL, err), PPML_EFORMAT);
    /* overlong field */
    {
        size_t fl = PPML_DATASET_MAX_FIELD + 10;
        char *big = malloc(fl + 32);
        strcpy(big, "a,label\n1,");
        memset(big + 10, 'z', fl);
        strcpy(big + 10 + fl, "\n");
        CHECK_ERR(parse_str(&ds, big, NULL, err), PPML_EFORMAT);
        CHECK(strstr(err, "too long") != NULL);
        free(big);
    }
    /* caps */
    ppml_csv_limits lim = {2, 3, 0, 2};
    CHECK_OK(parse_str(&ds, "a,b,label\n1,2,x\n3,4,y\n", &lim, err));
    CHECK_ERR(parse_str(&ds, "a,b,label\n1,2,x\n3,4,y\n5,6,x\n", &lim, err), PPML_ERANGE);
    CHECK(strstr(err, "more than 2 data rows") != NULL);
    CHECK_ERR(parse_str(&ds, "a,b,c,label\n1,2,3,x\n", &lim, err), PPML_ERANGE);
    CHECK(strstr(err, "line 1: more than 3 columns") != NULL);
    CHECK_ERR(parse_str(&ds, "a,label\n1,x\n2,y\n", &(ppml_csv_limits){10, 10, 0, 1}, err),
              PPML_ERANGE);
    CHECK(strstr(err, "line 3: more than 1 distinct labels") != NULL);
    CHECK_ERR(parse_str(&ds, "a,b,label\n1,2,x\n3,4,y\n", &(ppml_csv_limits){0, 0, 3, 0}, err),
              PPML_ERANGE);
    /* a caller cannot raise a cap above the built-in one: a header wider than the hard cap */
    {
        size_t cols = PPML_DATASET_MAX_COLS + 1;
        char *hdr = malloc(cols * 8 + 16);
        size_t o = 0;
        for (size_t j = 0; j + 1 < cols; j++)
            o += (size_t)sprintf(hdr + o, "c%zu,", j);
        strcpy(hdr + o, "label\n");
        CHECK_ERR(parse_str(&ds, hdr, &(ppml_csv_limits){0, SIZE_MAX, 0, 0}, err), PPML_ERANGE);
        free(hdr);
    }
    CHECK(ds.n == 2 && ds.d == 2 && ds.x[2] == 3.0); /* the last successful parse survived */
    CHECK_ERR(ppml_dataset_parse_csv(NULL, "a", 1, NULL, err), PPML_EINVAL);
    CHECK_ERR(ppml_dataset_parse_csv(&ds, NULL, 5, NULL, err), PPML_EINVAL);
    ppml_dataset_clear(&ds);
    CHECK(ds.n == 0 && ds.x == NULL);
    ppml_dataset_clear(&ds); /* idempotent */
}

/* Numbers are read with '.' whatever the process locale is. */
static void test_locale(void)
{
    const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!loc)
        loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    char err[PPML_ERR_LEN];
    ppml_dataset ds;
    ppml_dataset_init(&ds);
    CHECK_OK(parse_str(&ds, "a,label\n1.25,x\n", NULL, err));
    CHECK(ds.n == 1 && ds.x[0] == 1.25);
    char *out = NULL;
    size_t len;
    CHECK_OK(ppml_dataset_format_csv(&out, &len, &ds));
    CHECK(out && strstr(out, "1.25,x") != NULL);
    free(out);
    ppml_dataset_clear(&ds);
    setlocale(LC_NUMERIC, "C");
    if (!loc)
        printf("test_dataset: no comma-decimal locale installed; locale test ran in C\n");
}

static int row_cmp_d;
static int row_cmp(const void *a, const void *b)
{
    const double *x = a, *y = b;
    for (int j = 0; j < row_cmp_d + 1; j++) {
        if (x[j] < y[j])
            return -1;
        if (x[j] > y[j])
            return 1;
    }
    return 0;
}

/* Rows (features + label) of ds appended to rows as (d+1)-tuples. */
static void collect_rows(double *rows, const ppml_dataset *ds)
{
    for (size_t i = 0; i < ds->n; i++) {
        memcpy(rows + i * (ds->d + 1), ds->x + i * ds->d, ds->d * sizeof(double));
        rows[i * (ds->d + 1) + ds->d] = ds->y[i];
    }
}

static void test_split(void)
{
    char err[PPML_ERR_LEN];
    const char *paths[] = {"data/wine.csv", "data/breast_cancer.csv", "data/iris.csv"};
    uint8_t seed[PPML_SEED_BYTES] = {7};
    for (size_t f = 0; f < 3; f++) {
        ppml_dataset ds, tr, te, tr2, te2;
        ppml_dataset_init(&ds);
        ppml_dataset_init(&tr);
        ppml_dataset_init(&te);
        ppml_dataset_init(&tr2);
        ppml_dataset_init(&te2);
        CHECK_OK(ppml_dataset_load_csv(&ds, paths[f], NULL, err));
        ppml_prg prg;
        ppml_prg_init(&prg, seed, 1);
        CHECK_OK(ppml_dataset_split(&tr, &te, &ds, 0.3, &prg));
        CHECK(tr.n + te.n == ds.n && tr.d == ds.d && te.d == ds.d);
        /* stratified: per class, round-half-up of 0.3·n_c in the test set */
        size_t cnt[8] = {0}, cte[8] = {0}, ctr[8] = {0};
        for (size_t i = 0; i < ds.n; i++)
            cnt[ds.y[i]]++;
        for (size_t i = 0; i < te.n; i++)
            cte[te.y[i]]++;
        for (size_t i = 0; i < tr.n; i++)
            ctr[tr.y[i]]++;
        for (size_t k = 0; k < ds.n_classes; k++) {
            size_t want = (size_t)floor(0.3 * (double)cnt[k] + 0.5);
            CHECK(cte[k] == want && ctr[k] == cnt[k] - want);
        }
        /* the split is a partition of the rows (as a multiset) */
        size_t w = ds.d + 1;
        double *a = malloc(ds.n * w * sizeof(double)), *b = malloc(ds.n * w * sizeof(double));
        collect_rows(a, &ds);
        collect_rows(b, &tr);
        collect_rows(b + tr.n * w, &te);
        row_cmp_d = (int)ds.d;
        qsort(a, ds.n, w * sizeof(double), row_cmp);
        qsort(b, ds.n, w * sizeof(double), row_cmp);
        CHECK(memcmp(a, b, ds.n * w * sizeof(double)) == 0);
        free(a);
        free(b);
        /* reproducible from the PRG state; another stream gives another split */
        ppml_prg_init(&prg, seed, 1);
        CHECK_OK(ppml_dataset_split(&tr2, &te2, &ds, 0.3, &prg));
        CHECK(datasets_equal(&tr, &tr2) && datasets_equal(&te, &te2));
        ppml_prg_init(&prg, seed, 2);
        CHECK_OK(ppml_dataset_split(&tr2, &te2, &ds, 0.3, &prg));
        CHECK(!datasets_equal(&te, &te2));
        /* the training order is mixed: not sorted by class (wine and iris files are) */
        size_t changes = 0;
        for (size_t i = 1; i < tr.n; i++)
            changes += tr.y[i] != tr.y[i - 1];
        CHECK(changes > tr.n / 4);
        /* names carried over */
        CHECK(strcmp(tr.feature_names[0], ds.feature_names[0]) == 0 &&
              strcmp(te.class_names[0], ds.class_names[0]) == 0);
        /* fraction 0: everything in train */
        ppml_prg_init(&prg, seed, 3);
        CHECK_OK(ppml_dataset_split(&tr2, &te2, &ds, 0.0, &prg));
        CHECK(tr2.n == ds.n && te2.n == 0);
        CHECK_ERR(ppml_dataset_split(&tr2, &te2, &ds, 1.0, &prg), PPML_EINVAL);
        CHECK_ERR(ppml_dataset_split(&tr2, &te2, &ds, -0.1, &prg), PPML_EINVAL);
        CHECK_ERR(ppml_dataset_split(&tr2, &te2, &ds, NAN, &prg), PPML_EINVAL);
        CHECK_ERR(ppml_dataset_split(&tr2, &tr2, &ds, 0.3, &prg), PPML_EINVAL);
        ppml_prg_clear(&prg);
        ppml_dataset_clear(&ds);
        ppml_dataset_clear(&tr);
        ppml_dataset_clear(&te);
        ppml_dataset_clear(&tr2);
        ppml_dataset_clear(&te2);
    }
    /* Every class keeps a training row even when rounding would take it all. */
    ppml_dataset ds, tr, te;
    ppml_dataset_init(&ds);
    ppml_dataset_init(&tr);
    ppml_dataset_init(&te);
    CHECK_OK(parse_str(&ds, "a,label\n1,x\n2,y\n3,y\n", NULL, err));
    ppml_prg prg;
    ppml_prg_init(&prg, seed, 9);
    CHECK_OK(ppml_dataset_split(&tr, &te, &ds, 0.9, &prg));
    CHECK(tr.n == 2 && te.n == 1 && te.y[0] == 1);
    ppml_prg_clear(&prg);
    ppml_dataset_clear(&ds);
    ppml_dataset_clear(&tr);
    ppml_dataset_clear(&te);
}

static void test_scaler(void)
{
    char err[PPML_ERR_LEN];
    ppml_dataset ds, tr, te;
    ppml_dataset_init(&ds);
    ppml_dataset_init(&tr);
    ppml_dataset_init(&te);
    CHECK_OK(ppml_dataset_load_csv(&ds, "data/breast_cancer.csv", NULL, err));
    uint8_t seed[PPML_SEED_BYTES] = {3};
    ppml_prg prg;
    ppml_prg_init(&prg, seed, 0);
    CHECK_OK(ppml_dataset_split(&tr, &te, &ds, 0.3, &prg));
    ppml_scaler sc;
    ppml_scaler_init(&sc);
    CHECK_OK(ppml_scaler_fit(&sc, &tr));
    double te_before = te.x[0];
    CHECK_OK(ppml_scaler_apply(&sc, &tr));
    CHECK_OK(ppml_scaler_apply(&sc, &te));
    CHECK(fabs(te.x[0] - (te_before - sc.mean[0]) / sc.std[0]) < 1e-12);
    double worst_mean = 0, worst_std = 0, te_dev = 0;
    for (size_t j = 0; j < tr.d; j++) {
        double m = 0, v = 0, mt = 0;
        for (size_t i = 0; i < tr.n; i++)
            m += tr.x[i * tr.d + j];
        m /= (double)tr.n;
        for (size_t i = 0; i < tr.n; i++)
            v += (tr.x[i * tr.d + j] - m) * (tr.x[i * tr.d + j] - m);
        v = sqrt(v / (double)tr.n);
        for (size_t i = 0; i < te.n; i++)
            mt += te.x[i * te.d + j];
        mt /= (double)te.n;
        worst_mean = fmax(worst_mean, fabs(m));
        worst_std = fmax(worst_std, fabs(v - 1.0));
        te_dev = fmax(te_dev, fabs(mt));
    }
    CHECK(worst_mean < 1e-12 && worst_std < 1e-12);
    CHECK(te_dev > 1e-6); /* statistics came from the training split only */
    /* constant feature → std 1 → 0 after scaling; mismatched width refused */
    ppml_dataset c;
    ppml_dataset_init(&c);
    CHECK_OK(parse_str(&c, "k,label\n5,x\n5,y\n5,x\n", NULL, err));
    ppml_scaler s2;
    ppml_scaler_init(&s2);
    CHECK_OK(ppml_scaler_fit(&s2, &c));
    CHECK(s2.std[0] == 1.0);
    CHECK_OK(ppml_scaler_apply(&s2, &c));
    CHECK(c.x[0] == 0.0 && c.x[2] == 0.0);
    CHECK_ERR(ppml_scaler_apply(&s2, &tr), PPML_EMISMATCH);
    /* overflowing statistics or results are refused; a refused apply changes nothing */
    ppml_dataset huge;
    ppml_dataset_init(&huge);
    CHECK_OK(parse_str(&huge, "k,label\n1e308,x\n-1e308,y\n", NULL, err));
    ppml_scaler s3;
    ppml_scaler_init(&s3);
    CHECK_ERR(ppml_scaler_fit(&s3, &huge), PPML_ERANGE);
    CHECK(s3.mean == NULL);
    s2.std[0] = 1e-300;
    CHECK_ERR(ppml_scaler_apply(&s2, &huge), PPML_ERANGE);
    CHECK(huge.x[0] == 1e308 && huge.x[1] == -1e308);
    ppml_dataset_clear(&huge);
    /* clipping */
    CHECK_OK(ppml_dataset_clip(&tr, 2.0));
    double mx = 0;
    for (size_t q = 0; q < tr.n * tr.d; q++)
        mx = fmax(mx, fabs(tr.x[q]));
    CHECK(mx == 2.0);
    CHECK_ERR(ppml_dataset_clip(&tr, 0.0), PPML_EINVAL);
    ppml_scaler_clear(&s2);
    ppml_scaler_clear(&sc);
    ppml_prg_clear(&prg);
    ppml_dataset_clear(&c);
    ppml_dataset_clear(&ds);
    ppml_dataset_clear(&tr);
    ppml_dataset_clear(&te);
}

static void test_labels(void)
{
    char err[PPML_ERR_LEN];
    ppml_dataset ds;
    ppml_dataset_init(&ds);
    CHECK_OK(ppml_dataset_load_csv(&ds, "data/wine.csv", NULL, err));
    CHECK(ppml_dataset_n_outputs(3, 0) == 3 && ppml_dataset_n_outputs(2, 0) == 1 &&
          ppml_dataset_n_outputs(2, 1) == 2);
    int8_t *Y = malloc(ds.n * 3);
    CHECK_OK(ppml_dataset_labels_pm1(Y, ds.n * 3, &ds, 3));
    int ok = 1;
    for (size_t i = 0; i < ds.n; i++) {
        int plus = 0;
        for (size_t k = 0; k < 3; k++) {
            ok &= Y[i * 3 + k] == 1 || Y[i * 3 + k] == -1;
            plus += Y[i * 3 + k] == 1;
        }
        ok &= plus == 1 && Y[i * 3 + ds.y[i]] == 1;
    }
    CHECK(ok);
    CHECK_ERR(ppml_dataset_labels_pm1(Y, ds.n, &ds, 1), PPML_EINVAL); /* K = 3 needs 3 */
    CHECK_ERR(ppml_dataset_labels_pm1(Y, ds.n * 3 - 1, &ds, 3), PPML_EINVAL);
    ppml_dataset_clear(&ds);
    free(Y);
    CHECK_OK(ppml_dataset_load_csv(&ds, "data/breast_cancer.csv", NULL, err));
    Y = malloc(ds.n);
    CHECK_OK(ppml_dataset_labels_pm1(Y, ds.n, &ds, 1));
    ok = 1;
    for (size_t i = 0; i < ds.n; i++)
        ok &= Y[i] == (ds.y[i] == 1 ? 1 : -1);
    CHECK(ok);
    free(Y);
    /* accuracy */
    uint32_t a[4] = {0, 1, 2, 1}, b[4] = {0, 1, 1, 1};
    CHECK(ppml_accuracy(a, b, 4) == 0.75);
    CHECK(ppml_accuracy(a, a, 4) == 1.0);
    CHECK(ppml_accuracy(a, b, 0) == 0.0);
    /* select with repeats and out-of-range index */
    ppml_dataset s;
    ppml_dataset_init(&s);
    size_t idx[3] = {5, 5, 0};
    CHECK_OK(ppml_dataset_select(&s, &ds, idx, 3));
    CHECK(s.n == 3 && memcmp(s.x, ds.x + 5 * ds.d, ds.d * sizeof(double)) == 0 &&
          memcmp(s.x + ds.d, ds.x + 5 * ds.d, ds.d * sizeof(double)) == 0 && s.y[2] == ds.y[0]);
    idx[1] = ds.n;
    CHECK_ERR(ppml_dataset_select(&s, &ds, idx, 3), PPML_EINVAL);
    CHECK(s.n == 3);
    ppml_dataset_clear(&s);
    ppml_dataset_clear(&ds);
}

int main(void)
{
    test_init();
    test_seed(11);
    test_bundled();
    test_syntax();
    test_roundtrip_random();
    test_bad_inputs();
    test_locale();
    test_split();
    test_scaler();
    test_labels();
    return test_finish("test_dataset");
}
