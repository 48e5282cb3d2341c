/* B1 secure aggregation: MCs' DT-PKC ciphertexts become training-key ciphertexts of the same
 * values, only with a valid Ed25519 authorisation by a listed MC for CCS's task and the exact
 * count; forged, foreign, stale or miscounted authorisations are refused. */
#include "test.h"

#include "ppml/channel.h"
#include "ppml/dtpkc.h"
#include "ppml/fixed.h"
#include "ppml/paillier.h"
#include "ppml/proto.h"
#include "ppml/serial.h"

#include <pthread.h>
#include <sodium.h>

#define L 32

static ppml_paillier_sk *train_sk;
static ppml_proto_ccs_keys keys;

typedef struct ccs_arg {
    ppml_channel *ch;
    int rc;
} ccs_arg;

static void *ccs_thread(void *p)
{
    ccs_arg *a = p;
    ppml_proto_opts o = {0, 2};
    a->rc = ppml_proto_ccs_serve_keys(a->ch, &keys, &o, 60000);
    return NULL;
}

static void run_mc(ppml_proto_css *css, const ppml_dtpkc_partial_sk *sk1, const ppml_dtpkc_params *pp,
                   const uint8_t sign_sk[64], const uint8_t task[32], size_t n, int expect)
{
    ppml_dtpkc_sk *mc = NULL;
    CHECK_OK(ppml_dtpkc_user_keygen(&mc, pp));
    const ppml_dtpkc_pk *mpk = ppml_dtpkc_sk_pk(mc);
    ppml_dtpkc_ct *cts = calloc(n, sizeof *cts);
    int64_t *v = calloc(n, sizeof *v);
    mpz_t *out = malloc(n * sizeof(mpz_t)), m, c;
    mpz_inits(m, c, NULL);
    int64_t lim = ((int64_t)1 << L) - 1;
    for (size_t i = 0; i < n; i++) {
        v[i] = i % 4 == 0 ? 0 : i % 4 == 1 ? lim : i % 4 == 2 ? -lim
             : (int64_t)ppml_rand_below(2 * (uint64_t)lim + 1) - lim;
        ppml_dtpkc_ct_init(&cts[i]);
        CHECK_OK(ppml_dtpkc_encrypt_i64(mpk, &cts[i], v[i]));
        mpz_init(out[i]);
    }
    ppml_proto_auth auth;
    CHECK_OK(ppml_proto_auth_sign(&auth, sign_sk, task, mpk, ppml_paillier_sk_pk(train_sk), n));
    int rc = ppml_proto_aggregate(css, out, sk1, mpk, cts, n, L, &auth);
    CHECK_ERR(rc, expect);
    if (rc == PPML_OK) {
        for (size_t i = 0; i < n; i++) {
            int64_t got = 0;
            CHECK_OK(ppml_paillier_decrypt_i64(train_sk, &got, out[i]));
            CHECK(got == v[i]);
        }
    }
    if (expect == PPML_OK && n > 1) {
        /* CSS refuses locally: miscounted and tampered authorisations */
        ppml_proto_auth bad = auth;
        CHECK_ERR(ppml_proto_aggregate(css, out, sk1, mpk, cts, n - 1, L, &bad), PPML_EVERIFY);
        bad.sig[5] ^= 1;
        CHECK_ERR(ppml_proto_aggregate(css, out, sk1, mpk, cts, n, L, &bad), PPML_EVERIFY);
    }
    for (size_t i = 0; i < n; i++) {
        ppml_dtpkc_ct_clear(&cts[i]);
        mpz_clear(out[i]);
    }
    free(cts);
    free(out);
    free(v);
    mpz_clears(m, c, NULL);
    ppml_dtpkc_sk_free(mc);
}

int main(void)
{
    test_init();
    test_seed(11);
    ppml_paillier_allow_insecure_test_keys(1);
    CHECK_OK(ppml_paillier_keygen_insecure_for_tests(&train_sk, 1024));
    ppml_dtpkc_params *pp = NULL;
    ppml_dtpkc_strong_sk *strong = NULL;
    ppml_dtpkc_partial_sk *sk1 = NULL, *sk2 = NULL;
    CHECK_OK(ppml_dtpkc_keygen_insecure_for_tests(&pp, &strong, 512));
    CHECK_OK(ppml_dtpkc_split(&sk1, &sk2, strong));

    uint8_t pk_a[32], sk_a[64], pk_b[32], sk_b[64], pk_x[32], sk_x[64];
    crypto_sign_keypair(pk_a, sk_a);
    crypto_sign_keypair(pk_b, sk_b);
    crypto_sign_keypair(pk_x, sk_x); /* not authorised */
    uint8_t allowed[2][32];
    memcpy(allowed[0], pk_a, 32);
    memcpy(allowed[1], pk_b, 32);
    uint8_t task[32], other_task[32];
    ppml_randombytes(task, 32);
    ppml_randombytes(other_task, 32);
    keys = (ppml_proto_ccs_keys){train_sk, pp, sk2, (const uint8_t(*)[32])allowed, 2, task, NULL, 0, 0};

    ppml_channel *a, *b;
    CHECK_OK(ppml_channel_pair_inproc(&a, &b, 0, 0));
    ccs_arg arg = {b, -1};
    pthread_t th;
    pthread_create(&th, NULL, ccs_thread, &arg);
    ppml_proto_css *css;
    ppml_proto_opts o = {0, 2};
    CHECK_OK(ppml_proto_css_new(&css, a, ppml_paillier_sk_pk(train_sk), &o));

    size_t n = test_sanitized() ? 9 : 25;
    run_mc(css, sk1, pp, sk_a, task, n, PPML_OK);            /* MC A */
    run_mc(css, sk1, pp, sk_b, task, 1, PPML_OK);            /* MC B, a single value */
    run_mc(css, sk1, pp, sk_x, task, 4, PPML_EVERIFY);       /* unknown MC: CCS refuses */
    run_mc(css, sk1, pp, sk_a, other_task, 4, PPML_EVERIFY); /* another task: CCS refuses */
    /* the wrong half of the key on CSS's side */
    {
        ppml_dtpkc_sk *mc = NULL;
        CHECK_OK(ppml_dtpkc_user_keygen(&mc, pp));
        ppml_dtpkc_ct ct;
        ppml_dtpkc_ct_init(&ct);
        CHECK_OK(ppml_dtpkc_encrypt_i64(ppml_dtpkc_sk_pk(mc), &ct, 5));
        ppml_proto_auth auth;
        CHECK_OK(ppml_proto_auth_sign(&auth, sk_a, task, ppml_dtpkc_sk_pk(mc), ppml_paillier_sk_pk(train_sk), 1));
        mpz_t out;
        mpz_init(out);
        CHECK_ERR(ppml_proto_aggregate(css, &out, sk2, ppml_dtpkc_sk_pk(mc), &ct, 1, L, &auth), PPML_EINVAL);
        mpz_clear(out);
        ppml_dtpkc_ct_clear(&ct);
        ppml_dtpkc_sk_free(mc);
    }
    /* a forged request straight to CCS (garbage signature): error reply, CCS keeps serving */
    {
        uint8_t junk[4 + 2 + 160] = {1, 0, 0, 0, 73, 0};
        memcpy(junk + 6, task, 32);
        memcpy(junk + 38, pk_a, 32);
        CHECK_OK(ppml_channel_send(a, PPML_MSG_AGGREGATE, junk, sizeof junk));
        uint16_t t;
        uint8_t *p = NULL;
        size_t len;
        CHECK_OK(ppml_channel_recv(a, &t, &p, &len, 10000));
        CHECK(t == PPML_MSG_ERROR);
        free(p);
    }
    run_mc(css, sk1, pp, sk_b, task, 3, PPML_OK); /* still serving */

    /* key conversion training key -> a DSP's DT-PKC key; the DSP decrypts with its own key */
    {
        ppml_dtpkc_sk *dsp = NULL;
        CHECK_OK(ppml_dtpkc_user_keygen(&dsp, pp));
        size_t m = 12;
        mpz_t *cv = malloc(m * sizeof(mpz_t));
        ppml_dtpkc_ct *out = calloc(m, sizeof *out);
        int64_t v[12];
        int64_t lim = ((int64_t)1 << L) - 1;
        for (size_t i = 0; i < m; i++) {
            v[i] = i == 0 ? 0 : i == 1 ? lim : i == 2 ? -lim : (int64_t)ppml_rand_below(2 * (uint64_t)lim + 1) - lim;
            mpz_init(cv[i]);
            ppml_dtpkc_ct_init(&out[i]);
            CHECK_OK(ppml_paillier_encrypt_i64(ppml_paillier_sk_pk(train_sk), cv[i], v[i]));
        }
        CHECK_OK(ppml_proto_convert_dtpkc(css, out, ppml_dtpkc_sk_pk(dsp), (const mpz_t *)cv, m, L));
        mpz_t d;
        mpz_init(d);
        for (size_t i = 0; i < m; i++) {
            int64_t got = 0;
            CHECK_OK(ppml_dtpkc_decrypt(dsp, d, &out[i]));
            CHECK_OK(ppml_dtpkc_to_i64(pp, &got, d));
            CHECK(got == v[i]);
            mpz_clear(cv[i]);
            ppml_dtpkc_ct_clear(&out[i]);
        }
        mpz_clear(d);
        free(cv);
        free(out);
        ppml_dtpkc_sk_free(dsp);
    }

    CHECK_OK(ppml_proto_css_finish(css));
    pthread_join(th, NULL);
    CHECK_OK(arg.rc);
    ppml_proto_css_free(css);
    ppml_channel_free(a);
    ppml_channel_free(b);

    /* a CCS without B1 keys refuses B1 */
    ppml_proto_ccs_keys nokeys = {train_sk, NULL, NULL, NULL, 0, NULL, NULL, 0, 0};
    keys = nokeys;
    CHECK_OK(ppml_channel_pair_inproc(&a, &b, 0, 0));
    arg = (ccs_arg){b, -1};
    pthread_create(&th, NULL, ccs_thread, &arg);
    CHECK_OK(ppml_proto_css_new(&css, a, ppml_paillier_sk_pk(train_sk), &o));
    run_mc(css, sk1, pp, sk_a, task, 2, PPML_ENOKEY); /* CCS has no B1 keys: it says so */
    CHECK_OK(ppml_proto_css_finish(css));
    pthread_join(th, NULL);
    ppml_proto_css_free(css);
    ppml_channel_free(a);
    ppml_channel_free(b);

    ppml_dtpkc_partial_free(sk1);
    ppml_dtpkc_partial_free(sk2);
    ppml_dtpkc_strong_free(strong);
    ppml_dtpkc_params_free(pp);
    ppml_paillier_sk_free(train_sk);
    return test_finish("test_blocks_b1");
}
