/* Minimal test harness: CHECK macros count failures; test_main prints
 * "N passed, N failed" and returns non-zero on any failure. Tests that need determinism
 * call test_seed() (a test-only seeded PRG, announced on stdout). */
#ifndef PPML_TEST_H
#define PPML_TEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ppml/common.h"
#include "ppml/rand.h"

static int test_passed, test_failed;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (cond) {                                                                 \
            test_passed++;                                                          \
        } else {                                                                    \
            test_failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_OK(expr)                                                                     \
    do {                                                                                   \
        int check_rc_ = (expr);                                                            \
        if (check_rc_ == PPML_OK) {                                                        \
            test_passed++;                                                                 \
        } else {                                                                           \
            test_failed++;                                                                 \
            fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__, __LINE__, #expr,     \
                    check_rc_, ppml_strerror(check_rc_));                                  \
        }                                                                                  \
    } while (0)

#define CHECK_ERR(expr, code)                                                              \
    do {                                                                                   \
        int check_rc_ = (expr);                                                            \
        if (check_rc_ == (code)) {                                                         \
            test_passed++;                                                                 \
        } else {                                                                           \
            test_failed++;                                                                 \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d\n", __FILE__,        \
                    __LINE__, #expr, check_rc_, ppml_strerror(check_rc_), (int)(code));    \
        }                                                                                  \
    } while (0)

/* A failing error check: any non-OK code. */
#define CHECK_FAILS(expr)                                                                  \
    do {                                                                                   \
        int check_rc_ = (expr);                                                            \
        if (check_rc_ != PPML_OK) {                                                        \
            test_passed++;                                                                 \
        } else {                                                                           \
            test_failed++;                                                                 \
            fprintf(stderr, "%s:%d: %s unexpectedly succeeded\n", __FILE__, __LINE__, #expr); \
        }                                                                                  \
    } while (0)

/* TEST ONLY: deterministic randomness from a fixed seed. */
static inline void test_seed(unsigned v)
{
    uint8_t seed[PPML_SEED_BYTES] = {0};
    memcpy(seed, &v, sizeof v);
    ppml_rand_set_test_seed(seed);
}

/* Under the sanitizers, tests may shrink their iteration counts. */
static inline int test_sanitized(void) { return getenv("PPML_SANITIZED") != NULL; }

static inline int test_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
    return test_failed ? 1 : 0;
}

static inline void test_init(void)
{
    if (ppml_init() != PPML_OK) {
        fprintf(stderr, "ppml_init failed\n");
        exit(2);
    }
}
#endif
