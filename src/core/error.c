/* Error strings and library initialisation. */
#include "ppml/common.h"
#include "ppml/mem.h"

#include <gmp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

const char *ppml_strerror(int code)
{
    switch (code) {
    case PPML_OK: return "success";
    case PPML_EINVAL: return "invalid argument";
    case PPML_ENOMEM: return "out of memory";
    case PPML_EFORMAT: return "malformed or truncated data";
    case PPML_EVERSION: return "unsupported format version";
    case PPML_ERANGE: return "value out of range";
    case PPML_EIO: return "input/output error";
    case PPML_ECRYPTO: return "cryptographic failure";
    case PPML_EWEAK: return "parameters too weak for the security table";
    case PPML_EPROTO: return "protocol error: unexpected or invalid message";
    case PPML_EMISMATCH: return "object does not belong to these parameters or keys";
    case PPML_EVERIFY: return "verification failed";
    case PPML_EOVERFLOW: return "size overflow";
    case PPML_ENOTSUP: return "operation not supported";
    case PPML_ENET: return "network error";
    case PPML_ETIMEOUT: return "timed out";
    case PPML_ENOISE: return "noise budget exhausted: result would be wrong";
    case PPML_ESTATE: return "object not in a state that allows this call";
    case PPML_ENOKEY: return "required key missing";
    default: return "unknown error";
    }
}

const char *ppml_version(void) { return "0.1.0"; }

/* GMP allocator that wipes every block it frees or moves. GMP passes the old size to
 * realloc and free, so the whole block can be wiped. */
static void *wipe_alloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort(); /* GMP cannot handle allocation failure: it would abort anyway */
    return p;
}

static void *wipe_realloc(void *p, size_t old, size_t n)
{
    void *q = malloc(n);
    if (!q)
        abort();
    memcpy(q, p, old < n ? old : n);
    sodium_memzero(p, old);
    free(p);
    return q;
}

static void wipe_free(void *p, size_t n)
{
    if (!p)
        return;
    if (n)
        sodium_memzero(p, n);
    free(p);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = PPML_ECRYPTO;

static void do_init(void)
{
    if (sodium_init() < 0) {
        init_result = PPML_ECRYPTO;
        return;
    }
    mp_set_memory_functions(wipe_alloc, wipe_realloc, wipe_free);
    init_result = PPML_OK;
}

int ppml_init(void)
{
    pthread_once(&init_once, do_init);
    return init_result;
}
