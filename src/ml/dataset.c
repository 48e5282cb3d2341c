/* Datasets: strict CSV loader and writer, row selection, stratified split, standardisation,
 * ±1 label matrices, accuracy. See include/ppml/dataset.h for the accepted format. */
#include "ppml/dataset.h"
#include "ppml/mem.h"
#include "ppml/serial.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void seterr(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(char *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, PPML_ERR_LEN, fmt, ap);
    va_end(ap);
}

void ppml_dataset_init(ppml_dataset *ds) { memset(ds, 0, sizeof *ds); }

static void free_names(char **names, size_t count)
{
    if (!names)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

void ppml_dataset_clear(ppml_dataset *ds)
{
    if (!ds)
        return;
    /* n·d and n were checked against SIZE_MAX when the arrays were made. */
    ppml_free_secret(ds->x, ds->n * ds->d * sizeof(double));
    ppml_free_secret(ds->y, ds->n * sizeof(uint32_t));
    free_names(ds->feature_names, ds->d);
    free_names(ds->class_names, ds->n_classes);
    ppml_dataset_init(ds);
}

/* Replace *out by *tmp (consumed). */
static void dataset_swap_in(ppml_dataset *out, ppml_dataset *tmp)
{
    ppml_dataset_clear(out);
    *out = *tmp;
    ppml_dataset_init(tmp);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *r = malloc(n);
    if (r)
        memcpy(r, s, n);
    return r;
}

static int dup_names(char ***out, char *const *names, size_t count)
{
    *out = NULL;
    if (!names || count == 0)
        return PPML_OK;
    char **r = calloc(count, sizeof *r);
    if (!r)
        return PPML_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        if (!names[i] || !(r[i] = dup_str(names[i]))) {
            free_names(r, count);
            return names[i] ? PPML_ENOMEM : PPML_EINVAL;
        }
    }
    *out = r;
    return PPML_OK;
}

/* Basic invariants of a dataset given by a caller. */
static int dataset_check(const ppml_dataset *ds)
{
    size_t cells;
    if (!ds || ds->d == 0 || (ds->n && (!ds->x || !ds->y)) || ppml_mul_size(&cells, ds->n, ds->d))
        return PPML_EINVAL;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] >= ds->n_classes)
            return PPML_EINVAL;
    return PPML_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* CSV parsing */

typedef struct csv_limits_eff {
    size_t max_rows, max_cols, max_cells, max_classes;
} csv_limits_eff;

static size_t cap_or_default(size_t v, size_t dflt) { return (v == 0 || v > dflt) ? dflt : v; }

/* Read one field from [*pp, end) into out (NUL-terminated, at most PPML_DATASET_MAX_FIELD
 * bytes). *more is set when a ',' followed. Returns 0, or -1 with *why set. */
static int csv_field(const char **pp, const char *end, char *out, int *quoted, int *more,
                     const char **why)
{
    const char *p = *pp;
    size_t n = 0;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    *quoted = 0;
    if (p < end && *p == '"') {
        *quoted = 1;
        p++;
        for (;;) {
            if (p == end) {
                *why = "unterminated quoted field (newlines inside quotes are not supported)";
                return -1;
            }
            char c = *p++;
            if (c == '"') {
                if (p < end && *p == '"')
                    p++;
                else
                    break;
            } else if ((unsigned char)c < 0x20 && c != '\t') {
                *why = "control character in field";
                return -1;
            }
            if (n >= PPML_DATASET_MAX_FIELD) {
                *why = "field too long";
                return -1;
            }
            out[n++] = c;
        }
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p != ',') {
            *why = "unexpected character after closing quote";
            return -1;
        }
    } else {
        while (p < end && *p != ',') {
            char c = *p++;
            if (c == '"') {
                *why = "quote inside an unquoted field";
                return -1;
            }
            if ((unsigned char)c < 0x20 && c != '\t') {
                *why = "control character in field";
                return -1;
            }
            if (n >= PPML_DATASET_MAX_FIELD) {
                *why = "field too long";
                return -1;
            }
            out[n++] = c;
        }
        while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
            n--;
    }
    out[n] = '\0';
    *more = 0;
    if (p < end) { /* *p == ',' */
        p++;
        *more = 1;
    }
    *pp = p;
    return 0;
}

/* Strict decimal syntax: [+-](digits[.digits*] | .digits)[(e|E)[+-]digits]. */
static int decimal_syntax_ok(const char *s)
{
    const char *p = s;
    size_t digits = 0;
    if (*p == '+' || *p == '-')
        p++;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        size_t ed = 0;
        while (*p >= '0' && *p <= '9')
            p++, ed++;
        if (ed == 0)
            return 0;
    }
    return *p == '\0';
}

/* Parse a validated decimal in the C locale (the caller has switched to it). */
static int parse_number(double *out, const char *s)
{
    if (!decimal_syntax_ok(s))
        return -1;
    char *endp = NULL;
    double v = strtod(s, &endp);
    if (!endp || *endp != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Next line [*start, *end) from pos; returns 0 at end of buffer. Strips one trailing '\r'. */
static int next_line(const char *buf, size_t len, size_t *pos, const char **ls, const char **le)
{
    if (*pos >= len)
        return 0;
    const char *s = buf + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    const char *e = nl ? nl : buf + len;
    *pos = nl ? (size_t)(nl - buf) + 1 : len;
    if (e > s && e[-1] == '\r')
        e--;
    *ls = s;
    *le = e;
    return 1;
}

static int line_blank(const char *s, const char *e)
{
    for (; s < e; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r')
            return 0;
    return 1;
}

typedef struct csv_state {
    char field[PPML_DATASET_MAX_FIELD + 1];
    /* distinct labels in order of first appearance, with an open-addressing hash index */
    char **labels;
    size_t n_labels;
    uint32_t *slots; /* 0 = empty, else label index + 1 */
    size_t n_slots;  /* power of two, > 2 · max_classes */
} csv_state;

/* Index of label s in first-appearance order, inserting it; -1 on ENOMEM, -2 over the cap. */
static long label_index(csv_state *st, const char *s, size_t max_classes)
{
    size_t mask = st->n_slots - 1;
    for (size_t h = (size_t)fnv1a(s) & mask;; h = (h + 1) & mask) {
        uint32_t v = st->slots[h];
        if (v == 0) {
            if (st->n_labels >= max_classes)
                return -2;
            char *copy = dup_str(s);
            if (!copy)
                return -1;
            st->labels[st->n_labels] = copy;
            st->slots[h] = (uint32_t)(st->n_labels + 1);
            return (long)st->n_labels++;
        }
        if (strcmp(st->labels[v - 1], s) == 0)
            return (long)(v - 1);
    }
}

static int parse_csv(ppml_dataset *out, const char *buf, size_t len, const csv_limits_eff *lim,
                     csv_state *st, char *err)
{
    ppml_dataset ds;
    ppml_dataset_init(&ds);
    uint32_t *first_idx = NULL; /* label index per row in first-appearance order */
    size_t ncols = 0, label_col = 0, n_rows_max = 0, cells = 0;
    size_t pos = 0, lineno = 0;
    const char *ls, *le, *why = NULL;
    int e = PPML_EFORMAT, quoted, more;

    if (len == 0) {
        seterr(err, "empty file");
        goto out;
    }
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) /* UTF-8 byte-order mark */
        pos = 3;
    for (size_t i = pos; i < len; i++)
        if (buf[i] == '\0') {
            seterr(err, "NUL byte at offset %zu", i);
            goto out;
        }

    /* Header. */
    if (!next_line(buf, len, &pos, &ls, &le)) {
        seterr(err, "empty file");
        goto out;
    }
    lineno = 1;
    if (line_blank(ls, le)) {
        seterr(err, "line 1: empty header");
        goto out;
    }
    {
        /* First count the columns so the name array is sized before allocation. */
        const char *p = ls;
        do {
            if (csv_field(&p, le, st->field, &quoted, &more, &why) < 0) {
                seterr(err, "line 1: %s", why);
                goto out;
            }
            if (++ncols > lim->max_cols) {
                e = PPML_ERANGE;
                seterr(err, "line 1: more than %zu columns", lim->max_cols);
                goto out;
            }
        } while (more);
        if (ncols < 2) {
            seterr(err, "line 1: need a `label` column and at least one feature column");
            goto out;
        }
        ds.d = ncols - 1;
        ds.feature_names = calloc(ds.d, sizeof(char *));
        char **sorted = calloc(ncols, sizeof(char *));
        if (!ds.feature_names || !sorted) {
            free(sorted);
            e = PPML_ENOMEM;
            goto out;
        }
        size_t nlabel = 0, fi = 0, col = 0;
        p = ls;
        int bad = 0;
        do {
            (void)csv_field(&p, le, st->field, &quoted, &more, &why); /* validated above */
            if (st->field[0] == '\0') {
                seterr(err, "line 1: column %zu has an empty name", col + 1);
                bad = 1;
                break;
            }
            if (strcmp(st->field, "label") == 0) {
                if (nlabel++) {
                    seterr(err, "line 1: duplicate column name \"label\"");
                    bad = 1;
                    break;
                }
                label_col = col;
                sorted[col] = "label";
            } else {
                if (fi == ds.d) { /* no `label` column among the first ncols-1 */
                    seterr(err, "line 1: no column named \"label\"");
                    bad = 1;
                    break;
                }
                if (!(ds.feature_names[fi] = dup_str(st->field))) {
                    e = PPML_ENOMEM;
                    bad = 1;
                    break;
                }
                sorted[col] = ds.feature_names[fi++];
            }
            col++;
        } while (more);
        if (!bad && nlabel == 0) {
            seterr(err, "line 1: no column named \"label\"");
            bad = 1;
        }
        if (!bad) {
            qsort(sorted, ncols, sizeof *sorted, cmp_str_ptr);
            for (size_t i = 1; i < ncols; i++)
                if (strcmp(sorted[i - 1], sorted[i]) == 0) {
                    seterr(err, "line 1: duplicate column name \"%.100s\"", sorted[i]);
                    bad = 1;
                    break;
                }
        }
        free(sorted);
        if (bad)
            goto out;
    }

    /* Count data lines (non-blank) to size the arrays before allocating them. */
    {
        size_t p2 = pos;
        const char *a, *b;
        while (next_line(buf, len, &p2, &a, &b))
            if (!line_blank(a, b) && ++n_rows_max > lim->max_rows) {
                e = PPML_ERANGE;
                seterr(err, "more than %zu data rows", lim->max_rows);
                goto out;
            }
    }
    if (n_rows_max == 0) {
        seterr(err, "no data rows");
        goto out;
    }
    if (ppml_mul_size(&cells, n_rows_max, ds.d) || cells > lim->max_cells) {
        e = PPML_ERANGE;
        seterr(err, "%zu rows × %zu features exceeds the cap of %zu values", n_rows_max, ds.d,
               lim->max_cells);
        goto out;
    }
    ds.x = malloc(cells * sizeof(double));
    ds.y = malloc(n_rows_max * sizeof(uint32_t));
    first_idx = malloc(n_rows_max * sizeof(uint32_t));
    st->labels = calloc(lim->max_classes, sizeof(char *));
    for (st->n_slots = 16; st->n_slots <= 2 * lim->max_classes; st->n_slots *= 2)
        ;
    st->slots = calloc(st->n_slots, sizeof(uint32_t));
    if (!ds.x || !ds.y || !first_idx || !st->labels || !st->slots) {
        e = PPML_ENOMEM;
        goto out;
    }

    /* Data rows. */
    size_t blank_at = 0;
    while (next_line(buf, len, &pos, &ls, &le)) {
        lineno++;
        if (line_blank(ls, le)) {
            if (!blank_at)
                blank_at = lineno;
            continue;
        }
        if (blank_at) {
            seterr(err, "line %zu: empty line before more data", blank_at);
            goto out;
        }
        const char *p = ls;
        double *row = ds.x + ds.n * ds.d;
        size_t col = 0, fi = 0, bad_col = 0;
        int bad_value = 0;
        char bad_text[48];
        do {
            if (col == ncols) {
                seterr(err, "line %zu: more than %zu fields", lineno, ncols);
                goto out;
            }
            if (csv_field(&p, le, st->field, &quoted, &more, &why) < 0) {
                seterr(err, "line %zu, field %zu: %s", lineno, col + 1, why);
                goto out;
            }
            if (col == label_col) {
                if (st->field[0] == '\0') {
                    seterr(err, "line %zu: empty label", lineno);
                    goto out;
                }
                long li = label_index(st, st->field, lim->max_classes);
                if (li == -1) {
                    e = PPML_ENOMEM;
                    goto out;
                }
                if (li == -2) {
                    e = PPML_ERANGE;
                    seterr(err, "line %zu: more than %zu distinct labels", lineno,
                           lim->max_classes);
                    goto out;
                }
                first_idx[ds.n] = (uint32_t)li;
            } else {
                /* A bad value is reported after the field count, so a short row reads
                 * as ragged rather than as a label in a numeric column. */
                if (!bad_value && parse_number(&row[fi], st->field) < 0) {
                    bad_value = 1;
                    snprintf(bad_text, sizeof bad_text, "%s", st->field);
                    bad_col = fi;
                }
                fi++;
            }
            col++;
        } while (more);
        if (col != ncols) {
            seterr(err, "line %zu: %zu fields, expected %zu", lineno, col, ncols);
            goto out;
        }
        if (bad_value) {
            seterr(err, "line %zu, column \"%.64s\": not a finite decimal number: \"%s\"",
                   lineno, ds.feature_names[bad_col], bad_text);
            goto out;
        }
        ds.n++;
    }

    /* Classes in sorted name order. */
    {
        size_t k = st->n_labels;
        char **sorted = malloc(k * sizeof(char *));
        uint32_t *remap = malloc(k * sizeof(uint32_t));
        if (!sorted || !remap) {
            free(sorted);
            free(remap);
            e = PPML_ENOMEM;
            goto out;
        }
        memcpy(sorted, st->labels, k * sizeof(char *));
        qsort(sorted, k, sizeof *sorted, cmp_str_ptr);
        for (size_t a = 0; a < k; a++) {
            /* position of first-appearance label a in sorted order (binary search) */
            size_t lo = 0, hi = k;
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(sorted[mid], st->labels[a]) <= 0)
                    lo = mid;
                else
                    hi = mid;
            }
            remap[a] = (uint32_t)lo;
        }
        for (size_t i = 0; i < ds.n; i++)
            ds.y[i] = remap[first_idx[i]];
        free(remap);
        ds.class_names = sorted; /* takes the strings from st->labels */
        ds.n_classes = k;
        st->n_labels = 0;
    }
    e = PPML_OK;
    dataset_swap_in(out, &ds);

out:
    if (e != PPML_OK && ds.x) {
        /* Rows were counted as they were filled; wipe the whole allocation. */
        ppml_memzero(ds.x, cells * sizeof(double));
    }
    /* ds.n may be below the allocated row count: free by hand to avoid size confusion. */
    if (e != PPML_OK) {
        free(ds.x);
        ds.x = NULL;
        if (ds.y)
            ppml_memzero(ds.y, n_rows_max * sizeof(uint32_t));
        free(ds.y);
        ds.y = NULL;
        ppml_dataset_clear(&ds);
    }
    if (first_idx)
        ppml_memzero(first_idx, n_rows_max * sizeof(uint32_t));
    free(first_idx);
    if (st->labels)
        for (size_t i = 0; i < st->n_labels; i++)
            free(st->labels[i]);
    free(st->labels);
    free(st->slots);
    st->labels = NULL;
    st->slots = NULL;
    return e;
}

int ppml_dataset_parse_csv(ppml_dataset *ds, const char *buf, size_t len,
                           const ppml_csv_limits *limits, char *err)
{
    if (err)
        err[0] = '\0';
    if (!ds || (!buf && len)) {
        seterr(err, "invalid argument");
        return PPML_EINVAL;
    }
    if (len > PPML_DATASET_MAX_FILE_BYTES) {
        seterr(err, "input larger than %zu bytes", PPML_DATASET_MAX_FILE_BYTES);
        return PPML_ERANGE;
    }
    ppml_csv_limits none = {0, 0, 0, 0};
    if (!limits)
        limits = &none;
    csv_limits_eff lim = {
        cap_or_default(limits->max_rows, PPML_DATASET_MAX_ROWS),
        cap_or_default(limits->max_cols, PPML_DATASET_MAX_COLS),
        cap_or_default(limits->max_cells, PPML_DATASET_MAX_CELLS),
        cap_or_default(limits->max_classes, PPML_DATASET_MAX_CLASSES),
    };
    csv_state *st = calloc(1, sizeof *st);
    if (!st)
        return PPML_ENOMEM;
    /* Numbers are always read as in the C locale, whatever the application has set. */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (cloc == (locale_t)0) {
        free(st);
        return PPML_ENOMEM;
    }
    locale_t old = uselocale(cloc);
    int e = parse_csv(ds, buf ? buf : "", len, &lim, st, err);
    uselocale(old);
    freelocale(cloc);
    free(st);
    if (e == PPML_ENOMEM && err && !err[0])
        seterr(err, "out of memory");
    return e;
}

int ppml_dataset_load_csv(ppml_dataset *ds, const char *path, const ppml_csv_limits *limits,
                          char *err)
{
    if (err)
        err[0] = '\0';
    if (!ds || !path) {
        seterr(err, "invalid argument");
        return PPML_EINVAL;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int e = ppml_file_read(path, &buf, &len, PPML_DATASET_MAX_FILE_BYTES);
    if (e) {
        if (e == PPML_ERANGE)
            seterr(err, "%.200s: larger than %zu bytes", path, PPML_DATASET_MAX_FILE_BYTES);
        else
            seterr(err, "%.200s: cannot read file", path);
        return e;
    }
    char inner[PPML_ERR_LEN];
    e = ppml_dataset_parse_csv(ds, (const char *)buf, len, limits, inner);
    if (e)
        seterr(err, "%.100s: %s", path, inner);
    ppml_free_secret(buf, len);
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* CSV writing */

typedef struct strbuf {
    char *p;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n + 1) {
            if (ncap > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            ncap *= 2;
        }
        char *np = malloc(ncap);
        if (!np) {
            b->failed = 1;
            return;
        }
        if (b->p) {
            memcpy(np, b->p, b->len);
            ppml_free_secret(b->p, b->cap);
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* A name, quoted if a reader would otherwise change it. */
static void sb_put_name(strbuf *b, const char *s)
{
    size_t n = strlen(s);
    int need = n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t' ||
               strpbrk(s, ",\"") != NULL;
    if (!need) {
        sb_put(b, s, n);
        return;
    }
    sb_put(b, "\"", 1);
    for (const char *q = s; *q; q++) {
        sb_put(b, q, 1);
        if (*q == '"')
            sb_put(b, "\"", 1); /* "" inside quotes */
    }
    sb_put(b, "\"", 1);
}

/* A name the parser would read back unchanged (quoting aside). */
static int name_ok(const char *s)
{
    if (!s || !s[0] || strlen(s) > PPML_DATASET_MAX_FIELD)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return 0;
    return 1;
}

int ppml_dataset_format_csv(char **out, size_t *out_len, const ppml_dataset *ds)
{
    if (!out || !out_len || dataset_check(ds) || !ds->feature_names ||
        (ds->n && !ds->class_names))
        return PPML_EINVAL;
    for (size_t j = 0; j < ds->d; j++)
        if (!name_ok(ds->feature_names[j]) || strcmp(ds->feature_names[j], "label") == 0)
            return PPML_EINVAL;
    for (size_t k = 0; k < ds->n_classes && ds->class_names; k++)
        if (!name_ok(ds->class_names[k]))
            return PPML_EINVAL;
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (cloc == (locale_t)0)
        return PPML_ENOMEM;
    locale_t old = uselocale(cloc);
    strbuf b = {NULL, 0, 0, 0};
    int e = PPML_OK;
    for (size_t j = 0; j < ds->d; j++) {
        sb_put_name(&b, ds->feature_names[j]);
        sb_put(&b, ",", 1);
    }
    sb_put(&b, "label\n", 6);
    char num[64];
    for (size_t i = 0; i < ds->n && e == PPML_OK; i++) {
        for (size_t j = 0; j < ds->d; j++) {
            double v = ds->x[i * ds->d + j];
            if (!isfinite(v)) {
                e = PPML_ERANGE;
                break;
            }
            int m = snprintf(num, sizeof num, "%.17g,", v);
            sb_put(&b, num, (size_t)m);
        }
        sb_put_name(&b, ds->class_names[ds->y[i]]);
        sb_put(&b, "\n", 1);
    }
    uselocale(old);
    freelocale(cloc);
    if (e == PPML_OK && b.failed)
        e = PPML_ENOMEM;
    if (e) {
        ppml_free_secret(b.p, b.cap);
        return e;
    }
    *out = b.p;
    *out_len = b.len;
    return PPML_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Selection, split */

int ppml_dataset_select(ppml_dataset *out, const ppml_dataset *ds, const size_t *idx, size_t count)
{
    if (!out || dataset_check(ds) || (count && !idx))
        return PPML_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (idx[i] >= ds->n)
            return PPML_EINVAL;
    size_t cells, bytes;
    if (ppml_mul_size(&cells, count, ds->d) || ppml_mul_size(&bytes, cells, sizeof(double)))
        return PPML_EOVERFLOW;
    ppml_dataset t;
    ppml_dataset_init(&t);
    t.d = ds->d;
    t.n_classes = ds->n_classes;
    int e = PPML_ENOMEM;
    if (count) {
        t.x = malloc(bytes);
        t.y = malloc(count * sizeof(uint32_t));
        if (!t.x || !t.y) {
            free(t.x);
            free(t.y);
            t.x = NULL;
            t.y = NULL;
            goto fail;
        }
        t.n = count;
        for (size_t i = 0; i < count; i++) {
            memcpy(t.x + i * t.d, ds->x + idx[i] * ds->d, ds->d * sizeof(double));
            t.y[i] = ds->y[idx[i]];
        }
    }
    if ((e = dup_names(&t.feature_names, ds->feature_names, ds->d)) != PPML_OK)
        goto fail;
    if ((e = dup_names(&t.class_names, ds->class_names, ds->n_classes)) != PPML_OK)
        goto fail;
    dataset_swap_in(out, &t);
    return PPML_OK;
fail:
    ppml_dataset_clear(&t);
    return e;
}

static void shuffle(size_t *a, size_t n, ppml_prg *prg)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ppml_prg_below(prg, (uint64_t)i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

int ppml_dataset_split(ppml_dataset *train, ppml_dataset *test, const ppml_dataset *ds,
                       double test_fraction, ppml_prg *prg)
{
    if (!train || !test || train == test || !prg || dataset_check(ds) ||
        !(test_fraction >= 0.0 && test_fraction < 1.0) || ds->n_classes == 0)
        return PPML_EINVAL;
    size_t n = ds->n, K = ds->n_classes;
    size_t *count = calloc(K, sizeof *count);
    size_t *start = calloc(K + 1, sizeof *start);
    size_t *byclass = malloc((n ? n : 1) * sizeof *byclass);
    size_t *tr = malloc((n ? n : 1) * sizeof *tr);
    size_t *te = malloc((n ? n : 1) * sizeof *te);
    ppml_dataset a, b;
    ppml_dataset_init(&a);
    ppml_dataset_init(&b);
    int e = PPML_ENOMEM;
    if (!count || !start || !byclass || !tr || !te)
        goto out;
    for (size_t i = 0; i < n; i++)
        count[ds->y[i]]++;
    for (size_t k = 0; k < K; k++)
        start[k + 1] = start[k] + count[k];
    {
        size_t *fill = calloc(K, sizeof *fill);
        if (!fill)
            goto out;
        for (size_t i = 0; i < n; i++) { /* classes in original row order */
            size_t k = ds->y[i];
            byclass[start[k] + fill[k]++] = i;
        }
        free(fill);
    }
    size_t ntr = 0, nte = 0;
    for (size_t k = 0; k < K; k++) {
        size_t nc = count[k];
        if (nc == 0)
            continue;
        size_t *cls = byclass + start[k];
        shuffle(cls, nc, prg);
        double want = floor(test_fraction * (double)nc + 0.5);
        size_t ntest = (size_t)want;
        if (ntest > nc - 1)
            ntest = nc - 1;
        for (size_t i = 0; i < nc; i++) {
            if (i < ntest)
                te[nte++] = cls[i];
            else
                tr[ntr++] = cls[i];
        }
    }
    shuffle(tr, ntr, prg);
    shuffle(te, nte, prg);
    if ((e = ppml_dataset_select(&a, ds, tr, ntr)) != PPML_OK ||
        (e = ppml_dataset_select(&b, ds, te, nte)) != PPML_OK)
        goto out;
    dataset_swap_in(train, &a);
    dataset_swap_in(test, &b);
    e = PPML_OK;
out:
    ppml_dataset_clear(&a);
    ppml_dataset_clear(&b);
    free(count);
    free(start);
    free(byclass);
    free(tr);
    free(te);
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* Standardisation, clipping */

void ppml_scaler_init(ppml_scaler *s) { memset(s, 0, sizeof *s); }

void ppml_scaler_clear(ppml_scaler *s)
{
    if (!s)
        return;
    ppml_free_secret(s->mean, s->d * sizeof(double));
    ppml_free_secret(s->std, s->d * sizeof(double));
    ppml_scaler_init(s);
}

int ppml_scaler_fit(ppml_scaler *s, const ppml_dataset *train)
{
    if (!s || dataset_check(train) || train->n == 0)
        return PPML_EINVAL;
    size_t n = train->n, d = train->d;
    double *mean = calloc(d, sizeof(double));
    double *sd = calloc(d, sizeof(double));
    if (!mean || !sd) {
        free(mean);
        free(sd);
        return PPML_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mean[j] += train->x[i * d + j];
    for (size_t j = 0; j < d; j++)
        mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double t = train->x[i * d + j] - mean[j];
            sd[j] += t * t;
        }
    int e = PPML_OK;
    for (size_t j = 0; j < d; j++) {
        sd[j] = sqrt(sd[j] / (double)n);
        if (!isfinite(mean[j]) || !isfinite(sd[j]))
            e = PPML_ERANGE;
        else if (!(sd[j] > 1e-300) || sd[j] <= fabs(mean[j]) * 1e-15)
            sd[j] = 1.0; /* constant feature (up to rounding) */
    }
    if (e) {
        ppml_free_secret(mean, d * sizeof(double));
        ppml_free_secret(sd, d * sizeof(double));
        return e;
    }
    ppml_scaler_clear(s);
    s->d = d;
    s->mean = mean;
    s->std = sd;
    return PPML_OK;
}

int ppml_scaler_apply(const ppml_scaler *s, ppml_dataset *ds)
{
    if (!s || !s->mean || !s->std || dataset_check(ds))
        return PPML_EINVAL;
    if (s->d != ds->d)
        return PPML_EMISMATCH;
    /* Check first, so a failure leaves ds untouched. */
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < ds->d; j++)
            if (!isfinite((ds->x[i * ds->d + j] - s->mean[j]) / s->std[j]))
                return PPML_ERANGE;
    for (size_t i = 0; i < ds->n; i++)
        for (size_t j = 0; j < ds->d; j++) {
            double *v = &ds->x[i * ds->d + j];
            *v = (*v - s->mean[j]) / s->std[j];
        }
    return PPML_OK;
}

int ppml_dataset_clip(ppml_dataset *ds, double bound)
{
    if (dataset_check(ds) || !(bound > 0) || !isfinite(bound))
        return PPML_EINVAL;
    for (size_t i = 0; i < ds->n * ds->d; i++) {
        if (ds->x[i] > bound)
            ds->x[i] = bound;
        else if (ds->x[i] < -bound)
            ds->x[i] = -bound;
    }
    return PPML_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Labels, accuracy */

size_t ppml_dataset_n_outputs(size_t n_classes, int ovr_binary)
{
    return (n_classes == 2 && !ovr_binary) ? 1 : n_classes;
}

int ppml_dataset_labels_pm1(int8_t *out, size_t out_len, const ppml_dataset *ds, size_t n_out)
{
    size_t need;
    if (!out || dataset_check(ds) || n_out == 0 || ppml_mul_size(&need, ds->n, n_out) ||
        need != out_len)
        return PPML_EINVAL;
    if (n_out == 1) {
        if (ds->n_classes != 2)
            return PPML_EINVAL;
        for (size_t i = 0; i < ds->n; i++)
            out[i] = ds->y[i] == 1 ? 1 : -1;
        return PPML_OK;
    }
    if (n_out != ds->n_classes)
        return PPML_EINVAL;
    for (size_t i = 0; i < ds->n; i++)
        for (size_t k = 0; k < n_out; k++)
            out[i * n_out + k] = ds->y[i] == k ? 1 : -1;
    return PPML_OK;
}

double ppml_accuracy(const uint32_t *pred, const uint32_t *truth, size_t n)
{
    if (!pred || !truth || n == 0)
        return 0.0;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += pred[i] == truth[i];
    return (double)ok / (double)n;
}
