/* Fuzz target: the versioned header and the reader primitives never read out of bounds. */
#include "ppml/serial.h"

#include <gmp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ppml_reader r;
    ppml_header h;
    ppml_reader_init(&r, data, size);
    if (ppml_read_header(&r, &h, PPML_T_PAILLIER_CT, NULL) != PPML_OK)
        return 0;
    mpz_t x;
    mpz_init(x);
    while (ppml_reader_left(&r)) {
        uint32_t v;
        if (ppml_read_mpz(&r, x, 4096) != PPML_OK && ppml_read_u32(&r, &v) != PPML_OK)
            break;
    }
    mpz_clear(x);
    return 0;
}
