/* Fuzz target: the IDX parser (ppml_idx_parse) with a small element cap. */
#include "ppml/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        if (ppml_init() != PPML_OK)
            return 0;
        inited = 1;
    }
    ppml_idx *x = NULL;
    char err[PPML_ERR_LEN];
    if (ppml_idx_parse(&x, data, size, 1 << 20, err) == PPML_OK) {
        /* a parsed file must describe exactly its bytes */
        size_t c = 1;
        for (unsigned i = 0; i < x->ndims; i++)
            c *= x->dims[i];
        if (c != x->count || size != 4 + 4 * (size_t)x->ndims + x->count)
            __builtin_trap();
        ppml_idx_free(x);
    }
    return 0;
}
