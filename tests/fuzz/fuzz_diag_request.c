/* Fuzz target: every diagnosis message parser, as the servers and the user apply them to
 * bytes from the network: CSS's request and CCS-answer readers, CCS's blinded-message reader,
 * the user's result reader, and CSS's model loader. The parties are set up once from a fixed
 * test seed with tiny insecure parameters (n = 256), so corpus files made by this target
 * (PPML_FUZZ_DIAG_WRITE=DIR writes a valid request, blinded message and answer there) stay
 * valid across runs. */
#include "ppml/diagnosis.h"
#include "ppml/rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ppml_diag_ccs *ccs;
static ppml_diag_css *css;
static ppml_diag_user *user;
static ppml_paillier_sk *usk;

static void write_file(const char *dir, const char *name, const uint8_t *b, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, len, f) != len)
        abort();
    fclose(f);
}

static void setup(void)
{
    static const unsigned bits[] = {50, 50, 50};
    if (ppml_init() != PPML_OK)
        abort();
    uint8_t seed[PPML_SEED_BYTES] = {0x5d};
    ppml_rand_set_test_seed(seed);
    ppml_paillier_allow_insecure_test_keys(1);
    ppml_diag_config c;
    ppml_diag_config_default(&c);
    c.bfv_n = 256;
    c.t_bits = 20;
    c.prime_bits = bits;
    c.prime_count = 3;
    c.paillier_bits = 256;
    c.frac_w = c.frac_x = 4;
    c.x_max = 4;
    c.insecure_for_tests = 1;
    int64_t w[12] = {3, -2, 1, 5, -1, 4, 0, -3, 2, 2, 2, 2};
    ppml_diag_model m = {3, 4, 4, w};
    uint8_t *mb = NULL;
    size_t ml;
    if (ppml_diag_ccs_new(&ccs, &c) || ppml_diag_outsource(&mb, &ml, ccs, &m) ||
        ppml_diag_css_new(&css, ccs, mb, ml) || ppml_paillier_keygen_insecure_for_tests(&usk, 256) ||
        ppml_diag_user_new(&user, ccs, 3, usk))
        abort();
    const char *dir = getenv("PPML_FUZZ_DIAG_WRITE");
    if (dir) {
        double x[3] = {0.5, -1, 2};
        uint8_t *req, *bl, *oh;
        size_t rl, bll, ol;
        ppml_diag_query *q = NULL;
        if (ppml_diag_user_request(user, &req, &rl, x, 3) ||
            ppml_diag_css_request(css, &q, &bl, &bll, req, rl))
            abort();
        write_file(dir, "request", req, rl);
        write_file(dir, "blinded", bl, bll);
        write_file(dir, "model", mb, ml);
        if (ppml_diag_ccs_answer(ccs, &oh, &ol, bl, bll) == PPML_OK) {
            write_file(dir, "onehot", oh, ol);
            free(oh);
        }
        ppml_diag_query_free(q);
        free(req);
        free(bl);
    }
    free(mb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ccs)
        setup();
    uint8_t *out = NULL;
    size_t len;
    ppml_diag_query *q = NULL;
    if (ppml_diag_css_request(css, &q, &out, &len, data, size) == PPML_OK) {
        free(out);
        out = NULL;
        /* a well-formed answer for this query: run the rest through the parsers too */
        uint8_t *oh = NULL, *res = NULL;
        size_t ol, rl;
        double x[3] = {0, 0, 0};
        (void)x;
        if (ppml_diag_ccs_answer(ccs, &oh, &ol, data, size) == PPML_OK)
            abort(); /* a request is not a blinded message */
        if (ppml_diag_css_finish(css, q, &res, &rl, data, size) == PPML_OK)
            free(res);
        free(oh);
    }
    ppml_diag_query_free(q);
    if (ppml_diag_ccs_answer(ccs, &out, &len, data, size) == PPML_OK)
        free(out);
    uint32_t cls;
    (void)!ppml_diag_user_result(user, &cls, data, size);
    ppml_diag_css *c2 = NULL;
    if (ppml_diag_css_new(&c2, ccs, data, size) == PPML_OK)
        ppml_diag_css_free(c2);
    return 0;
}
