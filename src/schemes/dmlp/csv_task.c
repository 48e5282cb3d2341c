/* Two-class logistic-regression task from a CSV file (see ppml_dmlp_load_csv in dmlp.h). */
#include "ppml/dataset.h"
#include "ppml/dmlp.h"
#include "ppml/rand.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char err[PPML_ERR_LEN], int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char err[PPML_ERR_LEN], int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, PPML_ERR_LEN, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int find_class(const ppml_dataset *ds, const char *name, uint32_t *out)
{
    for (size_t k = 0; k < ds->n_classes; k++)
        if (ds->class_names && ds->class_names[k] && !strcmp(ds->class_names[k], name)) {
            *out = (uint32_t)k;
            return 0;
        }
    return -1;
}

static int encode(ppml_logreg_data *out, const ppml_dataset *ds, const double *lo, const double *hi, uint32_t b,
                  unsigned frac_x)
{
    int e = ppml_logreg_data_alloc(out, ds->n, ds->d, frac_x);
    if (e)
        return e;
    double scale = ldexp(1.0, (int)frac_x);
    for (size_t i = 0; i < ds->n; i++) {
        out->y[i] = ds->y[i] == b;
        for (size_t j = 0; j < ds->d; j++) {
            double span = hi[j] - lo[j];
            double v = span > 0 ? (ds->x[i * ds->d + j] - lo[j]) / span : 0.0;
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            out->x[i * ds->d + j] = (int32_t)lround(v * scale);
        }
    }
    return PPML_OK;
}

int ppml_dmlp_load_csv(ppml_logreg_data *train, ppml_logreg_data *test, const char *path, const char *class_a,
                       const char *class_b, double test_fraction, unsigned frac_x, char err[PPML_ERR_LEN])
{
    if (!train || !test || !path || !!class_a != !!class_b || !(test_fraction > 0 && test_fraction < 1) ||
        frac_x > 14)
        return fail(err, PPML_EINVAL, "invalid argument");
    ppml_dataset ds, sub, tr, te;
    ppml_dataset_init(&ds);
    ppml_dataset_init(&sub);
    ppml_dataset_init(&tr);
    ppml_dataset_init(&te);
    ppml_logreg_data otr = {0}, ote = {0};
    size_t *idx = NULL;
    double *lo = NULL, *hi = NULL;
    char lerr[PPML_ERR_LEN] = "";
    int e = ppml_dataset_load_csv(&ds, path, NULL, lerr);
    if (e) {
        fail(err, e, "%.100s: %.140s", path, lerr[0] ? lerr : ppml_strerror(e));
        goto out;
    }
    uint32_t a = 0, b = 1;
    if (class_a) {
        if (find_class(&ds, class_a, &a) || find_class(&ds, class_b, &b) || a == b) {
            e = fail(err, PPML_EINVAL, "%.100s: classes '%.40s' and '%.40s' must be two different labels of the file",
                     path, class_a, class_b);
            goto out;
        }
    } else if (ds.n_classes != 2) {
        e = fail(err, PPML_EINVAL, "%.100s has %zu classes: choose two with --classes A,B", path, ds.n_classes);
        goto out;
    }
    if (ds.d > PPML_LOGREG_MAX_D) {
        e = fail(err, PPML_ERANGE, "%.100s: too many features (%zu)", path, ds.d);
        goto out;
    }
    if (!(idx = malloc(ds.n * sizeof *idx))) {
        e = fail(err, PPML_ENOMEM, "out of memory");
        goto out;
    }
    size_t count = 0;
    for (size_t i = 0; i < ds.n; i++)
        if (ds.y[i] == a || ds.y[i] == b)
            idx[count++] = i;
    if ((e = ppml_dataset_select(&sub, &ds, idx, count))) {
        fail(err, e, "selecting the two classes: %s", ppml_strerror(e));
        goto out;
    }
    /* Public, fixed split seed: the split is part of the task definition, not a secret. */
    uint8_t seed[PPML_SEED_BYTES] = "ppml-dmlp-csv-split-v1";
    ppml_prg prg;
    ppml_prg_init(&prg, seed, 0);
    e = ppml_dataset_split(&tr, &te, &sub, test_fraction, &prg);
    ppml_prg_clear(&prg);
    if (e || tr.n < 2 || te.n < 1) {
        e = fail(err, e ? e : PPML_EINVAL, "%.100s: too few rows of the two classes to split", path);
        goto out;
    }
    lo = malloc(tr.d * sizeof *lo);
    hi = malloc(tr.d * sizeof *hi);
    if (!lo || !hi) {
        e = fail(err, PPML_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < tr.d; j++) {
        lo[j] = hi[j] = tr.x[j];
        for (size_t i = 1; i < tr.n; i++) {
            double v = tr.x[i * tr.d + j];
            lo[j] = v < lo[j] ? v : lo[j];
            hi[j] = v > hi[j] ? v : hi[j];
        }
    }
    if ((e = encode(&otr, &tr, lo, hi, b, frac_x)) || (e = encode(&ote, &te, lo, hi, b, frac_x))) {
        fail(err, e, "encoding: %s", ppml_strerror(e));
        goto out;
    }
    *train = otr;
    *test = ote;
    otr = (ppml_logreg_data){0};
    ote = (ppml_logreg_data){0};
    e = PPML_OK;
out:
    ppml_logreg_data_clear(&otr);
    ppml_logreg_data_clear(&ote);
    free(idx);
    free(lo);
    free(hi);
    ppml_dataset_clear(&ds);
    ppml_dataset_clear(&sub);
    ppml_dataset_clear(&tr);
    ppml_dataset_clear(&te);
    return e;
}
