/* Fuzz target: the channel frame parser and the mpz vector message reader, as a receiver
 * applies them to bytes from the network. */
#include "ppml/channel.h"
#include "ppml/serial.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        if (ppml_init() != PPML_OK)
            abort();
        inited = 1;
    }
    uint16_t type;
    const uint8_t *payload;
    size_t plen;
    if (ppml_frame_parse(data, size, 1 << 20, &type, &payload, &plen) != PPML_OK)
        return 0;
    if (plen > size - PPML_FRAME_HEADER_BYTES)
        abort();
    mpz_t bound;
    mpz_init_set_ui(bound, 1);
    mpz_mul_2exp(bound, bound, (type & 0xff) * 8 + 1);
    ppml_reader r;
    ppml_reader_init(&r, payload, plen);
    mpz_t *v = NULL;
    size_t count = 0;
    if (ppml_msg_read_mpzvec(&r, &v, &count, 4096, bound) == PPML_OK) {
        for (size_t i = 0; i < count; i++)
            if (mpz_sgn(v[i]) < 0 || mpz_cmp(v[i], bound) >= 0)
                abort();
        ppml_msg_mpzvec_free(v, count);
    }
    mpz_t w[3];
    for (int i = 0; i < 3; i++)
        mpz_init(w[i]);
    ppml_reader_init(&r, payload, plen);
    if (ppml_msg_read_mpzvec_exact(&r, w, 3, bound) == PPML_OK && mpz_cmp(w[2], bound) >= 0)
        abort();
    for (int i = 0; i < 3; i++)
        mpz_clear(w[i]);
    mpz_clear(bound);
    return 0;
}
