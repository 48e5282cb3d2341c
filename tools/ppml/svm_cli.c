/* Helpers shared by the scheme S commands. */
#include "svm_cli.h"
#include "cli.h"
#include "ppml/rand.h"
#include "ppml/serial.h"

#include <stdlib.h>
#include <string.h>

int svm_cli_prepare(ppml_dataset *train, ppml_dataset *test, const char *path, double test_fraction,
                    unsigned seed, double bound)
{
    ppml_dataset ds;
    ppml_dataset_init(&ds);
    char err[PPML_ERR_LEN] = "";
    int rc = ppml_dataset_load_csv(&ds, path, NULL, err);
    if (rc != PPML_OK)
        return cli_error("%s: %s", path, err[0] ? err : ppml_strerror(rc));
    uint8_t s[PPML_SEED_BYTES] = {0};
    memcpy(s, &seed, sizeof seed);
    ppml_prg prg;
    ppml_prg_init(&prg, s, 0);
    ppml_scaler sc;
    ppml_scaler_init(&sc);
    rc = ppml_dataset_split(train, test, &ds, test_fraction, &prg);
    if (rc == PPML_OK)
        rc = ppml_scaler_fit(&sc, train);
    if (rc == PPML_OK)
        rc = ppml_scaler_apply(&sc, train);
    if (rc == PPML_OK)
        rc = ppml_scaler_apply(&sc, test);
    if (rc == PPML_OK)
        rc = ppml_dataset_clip(train, bound);
    if (rc == PPML_OK)
        rc = ppml_dataset_clip(test, bound);
    ppml_scaler_clear(&sc);
    ppml_prg_clear(&prg);
    ppml_dataset_clear(&ds);
    if (rc != PPML_OK)
        return cli_error("%s: cannot prepare the data: %s", path, ppml_strerror(rc));
    return 0;
}

int svm_cli_read_key(char key[41], const char *path)
{
    uint8_t *b = NULL;
    size_t len = 0;
    int rc = ppml_file_read(path, &b, &len, 4096);
    if (rc != PPML_OK)
        return cli_error("cannot read %s: %s", path, ppml_strerror(rc));
    while (len && (b[len - 1] == '\n' || b[len - 1] == '\r'))
        len--;
    int bad = len != 40;
    if (!bad) {
        memcpy(key, b, 40);
        key[40] = 0;
    }
    memset(b, 0, len);
    free(b);
    return bad ? cli_error("%s: not a 40-character Z85 CURVE key", path) : 0;
}
