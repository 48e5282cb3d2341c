/* ppml bench dtpkc [--bits 2048|3072] [--keygen-reps K]: DT-PKC costs per operation.
 *
 * keygen_safe_primes times the whole parameter generation (two |N|/2-bit safe primes, g,
 * lambda): tens of seconds at 2048 bits with a large spread, so it runs --keygen-reps times
 * (default 1; 0 with --quick). The other operations use the parameters just generated, or,
 * with --keygen-reps 0 at 2048 bits, fixed parameters from two public 1024-bit safe primes
 * (the OpenSSL-made ones of tests/vectors/dtpkc_safe_primes_2048.txt; public, so benchmark
 * only). */
#include "cli.h"
#include "ppml/dtpkc.h"
#include "ppml/rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_dtpkc(const cli_bench_opts *o);

static const char *const fixed_p_2048 =
    "eeee06b58e260839c7c5cea2e69fba43c6fc770702fb8d1bb06f299fb6183d0b00db7f4a0f1a95ba590e9dfe3d60ae78"
    "299a01c88f1cc345e338f1713f3749c6ea799bb3913a269fc2311a745fd8cffbc08240e71437e6b85696a5c7a0dd0f4d"
    "e95dc76df4cb32a32b4511dd367bada0f2d5f738364fefcfb67e3750c8c7da0f";
static const char *const fixed_q_2048 =
    "fb2bdaebad01ede070e01f1759080907afed4ba47fdf0cfbe1208728789721723822c9ae8f9afe050f5418ae9398b009"
    "4b6e11a559dd203668c4553da9e9b34421b0acf2ea37570e4daa440bc15f030d78e22323a9e9cd4b8f02299db33f55b9"
    "a7ebcf54671b79a06e04a1ee3c079b8be7a19f2e9b2a99fec91b94b6f139ac5f";

static void on_progress(void *ctx, unsigned prime_index, uint64_t tested)
{
    const uint64_t *t0 = ctx;
    cli_progress("bench dtpkc: safe prime %u/2, %llu candidates, %.1f s", prime_index + 1,
                 (unsigned long long)tested, (double)(cli_now_ns() - *t0) / 1e9);
}

static void report(const cli_bench_opts *o, const char *op, const char *params, cli_bench *b,
                   const char *extra)
{
    cli_bench_report(o->json, "dtpkc", op, params, b, extra);
    cli_bench_clear(b);
}

#define TIMED(b, reps, stmt)                         \
    do {                                             \
        for (int r_ = 0; r_ < (reps); r_++) {        \
            uint64_t t0_ = cli_now_ns();             \
            stmt;                                    \
            cli_bench_add(&(b), cli_now_ns() - t0_); \
        }                                            \
    } while (0)

int bench_dtpkc(const cli_bench_opts *o)
{
    int bits = 2048, keygen_reps = o->quick ? 0 : 1;
    for (int i = 0; i < o->argc; i++) {
        const char *v;
        if (!strcmp(o->argv[i], "--bits")) {
            if (!(v = cli_value(o->argc, o->argv, &i)) || cli_parse_int("--bits", v, 2048, 3072, &bits))
                return 1;
            if (bits != 2048 && bits != 3072)
                return cli_error("bench dtpkc: --bits must be 2048 or 3072");
        } else if (!strcmp(o->argv[i], "--keygen-reps")) {
            if (!(v = cli_value(o->argc, o->argv, &i)) || cli_parse_int("--keygen-reps", v, 0, 100, &keygen_reps))
                return 1;
        } else if (!strcmp(o->argv[i], "--reps")) {
            i++; /* parsed by cmd_bench */
        } else if (strcmp(o->argv[i], "--json") && strcmp(o->argv[i], "--quick")) {
            return cli_error("bench dtpkc: unknown option '%s'", o->argv[i]);
        }
    }
    if (keygen_reps == 0 && bits != 2048)
        return cli_error("bench dtpkc: fixed parameters exist for 2048 bits only; use --keygen-reps 1");
    int reps = o->reps ? o->reps : (o->quick ? 3 : 25);
    char params[64];
    snprintf(params, sizeof params, "{\"bits\":%d}", bits);

    ppml_dtpkc_params *pp = NULL;
    ppml_dtpkc_strong_sk *strong = NULL;
    ppml_dtpkc_partial_sk *sk1 = NULL, *sk2 = NULL;
    ppml_dtpkc_sk *user = NULL;
    cli_bench b;
    cli_bench_init(&b);
    int e = 0, rc = 1;
    if (keygen_reps > 0) {
        for (int r = 0; r < keygen_reps && !e; r++) {
            ppml_dtpkc_params *tp = NULL;
            ppml_dtpkc_strong_sk *ts = NULL;
            uint64_t t0 = cli_now_ns();
            e = ppml_dtpkc_keygen(&tp, &ts, (unsigned)bits, on_progress, &t0);
            cli_bench_add(&b, cli_now_ns() - t0);
            ppml_dtpkc_strong_free(strong);
            ppml_dtpkc_params_free(pp);
            pp = tp;
            strong = ts;
        }
        if (cli_progress_enabled())
            fputs("\r\033[K", stderr);
        if (e) {
            cli_error("bench dtpkc: keygen: %s", ppml_strerror(e));
            goto done;
        }
        report(o, "keygen_safe_primes", params, &b, NULL);
    } else {
        mpz_t p, q;
        mpz_init_set_str(p, fixed_p_2048, 16);
        mpz_init_set_str(q, fixed_q_2048, 16);
        e = ppml_dtpkc_keygen_from_primes(&pp, &strong, p, q);
        mpz_clears(p, q, NULL);
        if (e) {
            cli_error("bench dtpkc: fixed parameters: %s", ppml_strerror(e));
            goto done;
        }
        if (!o->json)
            printf("dtpkc      (keygen_safe_primes skipped: --keygen-reps 0 uses fixed public primes)\n");
    }
    if ((e = ppml_dtpkc_split(&sk1, &sk2, strong))) {
        cli_error("bench dtpkc: %s", ppml_strerror(e));
        goto done;
    }

    TIMED(b, reps, {
        ppml_dtpkc_sk_free(user);
        user = NULL;
        e |= ppml_dtpkc_user_keygen(&user, pp);
    });
    if (e) {
        cli_error("bench dtpkc: user keygen failed");
        goto done;
    }
    report(o, "user_keygen", params, &b, NULL);

    const ppml_dtpkc_pk *pk = ppml_dtpkc_sk_pk(user);
    ppml_dtpkc_ct c1, c2, c3;
    mpz_t m, out, pd1, pd2, k;
    ppml_dtpkc_ct_init(&c1);
    ppml_dtpkc_ct_init(&c2);
    ppml_dtpkc_ct_init(&c3);
    mpz_inits(m, out, pd1, pd2, k, NULL);
    ppml_rand_mpz_below(m, ppml_dtpkc_params_n(pp));
    int bad = 0;
    TIMED(b, reps, e |= ppml_dtpkc_encrypt(pk, &c1, m));
    report(o, "encrypt", params, &b, NULL);
    e |= ppml_dtpkc_encrypt_i64(pk, &c2, 12345);
    /* With fixed-base tables (ppml_dtpkc_pk_precompute) on a copy of the key. */
    ppml_dtpkc_pk *tpk = NULL;
    e |= ppml_dtpkc_pk_dup(&tpk, pk);
    if (!e) {
        TIMED(b, 1, e |= ppml_dtpkc_pk_precompute(tpk));
        report(o, "precompute_tables", params, &b, NULL);
        TIMED(b, reps, e |= ppml_dtpkc_encrypt(tpk, &c3, m));
        report(o, "encrypt_fixed_base", params, &b, NULL);
        TIMED(b, reps, ppml_dtpkc_rerandomize(tpk, &c3, &c1));
        report(o, "rerandomize_fixed_base", params, &b, NULL);
        /* 64 values at once (ppml_dtpkc_encrypt_i64_many: eight per pass of the AVX-512
         * IFMA multi-buffer arithmetic where the CPU has it), per value */
        enum { MANY = 64 };
        ppml_dtpkc_ct many[MANY];
        int64_t vals[MANY];
        for (int i = 0; i < MANY; i++) {
            ppml_dtpkc_ct_init(&many[i]);
            vals[i] = (int64_t)(ppml_rand_u64() >> 1) - INT64_MAX / 2;
        }
        cli_bench per;
        cli_bench_init(&per);
        for (int r = 0; r < reps && !e; r++) {
            uint64_t t0 = cli_now_ns();
            e |= ppml_dtpkc_encrypt_i64_many(tpk, many, vals, MANY);
            cli_bench_add(&per, (cli_now_ns() - t0) / MANY);
        }
        for (int i = 0; i < MANY && !e; i++) {
            int64_t back = 0;
            e |= ppml_dtpkc_decrypt(user, out, &many[i]);
            e |= ppml_dtpkc_to_i64(pp, &back, out);
            bad |= back != vals[i];
        }
        report(o, "encrypt_many_per_value", params, &per, "\"batch\":64");
        for (int i = 0; i < MANY; i++)
            ppml_dtpkc_ct_clear(&many[i]);
        e |= ppml_dtpkc_decrypt(user, out, &c3);
        bad |= mpz_cmp(out, m) != 0;
    }
    ppml_dtpkc_pk_free(tpk);
    TIMED(b, reps, e |= ppml_dtpkc_decrypt(user, out, &c1));
    bad |= mpz_cmp(out, m) != 0;
    report(o, "decrypt_weak", params, &b, NULL);
    TIMED(b, reps, e |= ppml_dtpkc_decrypt_strong(strong, out, &c1));
    bad |= mpz_cmp(out, m) != 0;
    report(o, "decrypt_strong", params, &b, NULL);
    TIMED(b, reps, e |= ppml_dtpkc_partial_decrypt(sk1, pd1, &c1));
    report(o, "partial_decrypt", params, &b, NULL);
    e |= ppml_dtpkc_partial_decrypt(sk2, pd2, &c1);
    TIMED(b, reps * 10, e |= ppml_dtpkc_combine(pp, out, pd1, pd2));
    bad |= mpz_cmp(out, m) != 0;
    report(o, "combine", params, &b, NULL);
    TIMED(b, reps * 10, ppml_dtpkc_add(pk, &c3, &c1, &c2));
    report(o, "add", params, &b, NULL);
    uint64_t k64 = ppml_rand_u64() | (1ull << 63);
    mpz_set_ui(k, (unsigned long)k64);
    TIMED(b, reps, e |= ppml_dtpkc_mul(pk, &c3, &c1, k));
    report(o, "scalar_mul_64", params, &b, NULL);
    TIMED(b, reps, ppml_dtpkc_rerandomize(pk, &c3, &c1));
    report(o, "rerandomize", params, &b, NULL);
    /* One key conversion to a second user key, both servers' work and the re-encryption:
     * blind + PD1 (CSS), PD2 + combine + encrypt (CCS), unblind (CSS). */
    ppml_dtpkc_sk *user2 = NULL;
    e |= ppml_dtpkc_user_keygen(&user2, pp);
    e |= ppml_dtpkc_encrypt_i64(pk, &c2, -424242);
    if (!e) {
        mpz_t r;
        mpz_init(r);
        TIMED(b, reps, {
            e |= ppml_dtpkc_convert_blind(pk, &c3, r, &c2, 32, PPML_DTPKC_KAPPA);
            e |= ppml_dtpkc_partial_decrypt(sk1, pd1, &c3);
            e |= ppml_dtpkc_convert_open(sk2, out, &c3, pd1, 32, PPML_DTPKC_KAPPA);
            e |= ppml_dtpkc_encrypt(ppml_dtpkc_sk_pk(user2), &c3, out);
            ppml_dtpkc_convert_unblind(ppml_dtpkc_sk_pk(user2), &c3, &c3, r);
        });
        int64_t back = 0;
        e |= ppml_dtpkc_decrypt(user2, out, &c3);
        e |= ppml_dtpkc_to_i64(pp, &back, out);
        bad |= back != -424242;
        report(o, "convert_user_to_user", params, &b, NULL);
        mpz_clear(r);
    }
    ppml_dtpkc_sk_free(user2);
    ppml_dtpkc_ct_clear(&c1);
    ppml_dtpkc_ct_clear(&c2);
    ppml_dtpkc_ct_clear(&c3);
    mpz_clears(m, out, pd1, pd2, k, NULL);
    if (e || bad) {
        cli_error("bench dtpkc: an operation failed or decrypted wrongly");
        goto done;
    }
    rc = 0;
done:
    cli_bench_clear(&b);
    ppml_dtpkc_sk_free(user);
    ppml_dtpkc_partial_free(sk1);
    ppml_dtpkc_partial_free(sk2);
    ppml_dtpkc_strong_free(strong);
    ppml_dtpkc_params_free(pp);
    return rc;
}
