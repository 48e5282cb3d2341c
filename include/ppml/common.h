/* ppml — common definitions: export macro, error codes, library initialisation.
 *
 * Every fallible public function returns PPML_OK (0) or a negative PPML_E* code;
 * ppml_strerror() turns a code into a static, human-readable string.
 * On failure, functions leave their outputs untouched unless their comment says otherwise. */
#ifndef PPML_COMMON_H
#define PPML_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define PPML_API __attribute__((visibility("default")))
#define PPML_WUR __attribute__((warn_unused_result))
#else
#define PPML_API
#define PPML_WUR
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum {
    PPML_OK = 0,
    PPML_EINVAL = -1,     /* invalid argument */
    PPML_ENOMEM = -2,     /* allocation failed */
    PPML_EFORMAT = -3,    /* malformed serialized object or file */
    PPML_EVERSION = -4,   /* unsupported format version */
    PPML_ERANGE = -5,     /* value out of range */
    PPML_EIO = -6,        /* I/O error */
    PPML_ECRYPTO = -7,    /* cryptographic failure (e.g. non-invertible element) */
    PPML_EWEAK = -8,      /* parameters weaker than the security table allows */
    PPML_EPROTO = -9,     /* protocol error: unexpected or invalid message */
    PPML_EMISMATCH = -10, /* object belongs to other parameters or keys */
    PPML_EVERIFY = -11,   /* signature or integrity check failed */
    PPML_EOVERFLOW = -12, /* size computation overflowed */
    PPML_ENOTSUP = -13,   /* operation not supported */
    PPML_ENET = -14,      /* network error */
    PPML_ETIMEOUT = -15,  /* timed out */
    PPML_ENOISE = -16,    /* BFV noise budget exhausted */
    PPML_ESTATE = -17,    /* object not in a state that allows the call */
    PPML_ENOKEY = -18,    /* a required (secret) key is missing */
};

#define PPML_ERR_LEN 256

/* Static string for an error code; never NULL. */
PPML_API const char *ppml_strerror(int code);

/* Initialise the library: libsodium, and GMP memory functions that wipe every block on
 * free and realloc. Must be called once, before any other ppml function and before any
 * GMP object is created by the application. Thread-safe and idempotent. */
PPML_API int ppml_init(void) PPML_WUR;

/* Library version string, e.g. "0.1.0". */
PPML_API const char *ppml_version(void);

#ifdef __cplusplus
}
#endif
#endif
