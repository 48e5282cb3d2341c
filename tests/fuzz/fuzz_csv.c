/* Fuzz target: the CSV dataset loader. Any input is parsed with tight caps and with the
 * defaults; whatever parses must survive format → parse unchanged, and a refusal must come
 * with a message. Aborts on any violated invariant (the sanitizers catch the rest). */
#include "ppml/dataset.h"

#include <stdlib.h>
#include <string.h>

static void check_roundtrip(const ppml_dataset *ds)
{
    if (ds->n_classes == 0 || ds->d == 0)
        abort();
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] >= ds->n_classes)
            abort();
    char *txt = NULL;
    size_t len = 0;
    if (ppml_dataset_format_csv(&txt, &len, ds) != PPML_OK)
        abort();
    ppml_dataset back;
    ppml_dataset_init(&back);
    char err[PPML_ERR_LEN];
    if (ppml_dataset_parse_csv(&back, txt, len, NULL, err) != PPML_OK)
        abort();
    if (back.n != ds->n || back.d != ds->d || back.n_classes != ds->n_classes ||
        memcmp(back.x, ds->x, ds->n * ds->d * sizeof(double)) != 0 ||
        memcmp(back.y, ds->y, ds->n * sizeof(uint32_t)) != 0)
        abort();
    for (size_t j = 0; j < ds->d; j++)
        if (strcmp(back.feature_names[j], ds->feature_names[j]) != 0)
            abort();
    for (size_t k = 0; k < ds->n_classes; k++)
        if (strcmp(back.class_names[k], ds->class_names[k]) != 0)
            abort();
    ppml_dataset_clear(&back);
    free(txt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        if (ppml_init() != PPML_OK)
            abort();
        inited = 1;
    }
    char err[PPML_ERR_LEN];
    ppml_dataset ds;
    ppml_dataset_init(&ds);
    const ppml_csv_limits tight = {8, 6, 32, 3};
    const ppml_csv_limits *limits[2] = {&tight, NULL};
    for (int l = 0; l < 2; l++) {
        err[0] = '\0';
        int rc = ppml_dataset_parse_csv(&ds, (const char *)data, size, limits[l], err);
        if (rc == PPML_OK)
            check_roundtrip(&ds);
        else if (err[0] == '\0' && rc != PPML_ENOMEM)
            abort(); /* every refusal explains itself */
        ppml_dataset_clear(&ds);
    }
    return 0;
}
