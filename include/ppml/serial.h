/* Versioned serialization framing shared by every stored or sent object.
 *
 * Header, little endian, written field by field (52 bytes):
 *   magic[4] = "PPML" | header_len u16 (=52) | version u16 | type u16 | flags u16 |
 *   total_len u64 (header + body) | param_id[32] (BLAKE2b-256 of the parameters or key the
 *   object belongs to; zeros when it belongs to none).
 * Loading checks every field: magic, header length, version, the expected type, that
 * total_len equals the available length, and (if the caller gives one) the parameter id.
 *
 * ppml_writer is a growable output buffer; ppml_reader reads with bounds checks. Reader
 * functions return PPML_EFORMAT on any overrun and never read past the end. */
#ifndef PPML_SERIAL_H
#define PPML_SERIAL_H
#include "common.h"
#include <gmp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_MAGIC "PPML"
#define PPML_HEADER_LEN 52
#define PPML_FORMAT_VERSION 1
#define PPML_PARAM_ID_BYTES 32
/* Hard cap on any single serialized object (1 GiB): larger inputs are refused before allocation. */
#define PPML_MAX_OBJECT_BYTES ((uint64_t)1 << 30)

/* Object types. Numbers are part of the format: never reuse one. */
enum {
    PPML_T_PAILLIER_PK = 0x0101,
    PPML_T_PAILLIER_SK = 0x0102,
    PPML_T_PAILLIER_CT = 0x0103,
    PPML_T_PAILLIER_CTVEC = 0x0104,
    PPML_T_PAILLIER_MATRIX = 0x0105,
    PPML_T_DTPKC_PARAMS = 0x0201,
    PPML_T_DTPKC_USER_PK = 0x0202,
    PPML_T_DTPKC_USER_SK = 0x0203,
    PPML_T_DTPKC_STRONG_SK = 0x0204,
    PPML_T_DTPKC_PARTIAL_SK = 0x0205,
    PPML_T_DTPKC_CT = 0x0206,
    PPML_T_DTPKC_CTVEC = 0x0207,
    PPML_T_BFV_PARAMS = 0x0301,
    PPML_T_BFV_SK = 0x0302,
    PPML_T_BFV_PK = 0x0303,
    PPML_T_BFV_RLK = 0x0304,
    PPML_T_BFV_GALK = 0x0305,
    PPML_T_BFV_PT = 0x0306,
    PPML_T_BFV_CT = 0x0307,
    PPML_T_BFV_DECSHARE = 0x0308,
    PPML_T_BFV_RKEY = 0x0309,
    PPML_T_BFV_POLY = 0x030A,      /* public polynomial mod QP (collective key share) */
    PPML_T_BFV_RKG_SHARE = 0x030B, /* collective relinearisation key share */
    PPML_T_MSG = 0x0401,
    PPML_T_MODEL = 0x0501,
    PPML_T_DATASET = 0x0502,
    PPML_T_DIAG_MODEL = 0x0601,   /* outsourced diagnosis model (BFV ciphertexts) */
    PPML_T_DIAG_REQUEST = 0x0602, /* user -> CSS */
    PPML_T_DIAG_BLINDED = 0x0603, /* CSS -> CCS */
    PPML_T_DIAG_ONEHOT = 0x0604,  /* CCS -> CSS */
    PPML_T_DIAG_RESULT = 0x0605,  /* CSS -> user */
    PPML_T_DIAG_CCS_PUBLIC = 0x0608, /* CCS's public material (params, pk, rlk, galk) */
    PPML_T_DIAG_CCS_SECRET = 0x0609, /* CCS's public material + BFV secret key */
};

typedef struct ppml_header {
    uint16_t version;
    uint16_t type;
    uint16_t flags;
    uint64_t total_len;
    uint8_t param_id[PPML_PARAM_ID_BYTES];
} ppml_header;

typedef struct ppml_writer {
    uint8_t *data;
    size_t len;
    size_t cap;
    int err; /* sticky: first error seen, PPML_OK if none */
} ppml_writer;

typedef struct ppml_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
} ppml_reader;

/* Writer: errors are sticky; check w->err (or the return of ppml_writer_finish) once. */
PPML_API void ppml_writer_init(ppml_writer *w);
/* Free the buffer (wiped first: objects may hold secrets). */
PPML_API void ppml_writer_clear(ppml_writer *w);
PPML_API void ppml_write_u8(ppml_writer *w, uint8_t v);
PPML_API void ppml_write_u16(ppml_writer *w, uint16_t v);
PPML_API void ppml_write_u32(ppml_writer *w, uint32_t v);
PPML_API void ppml_write_u64(ppml_writer *w, uint64_t v);
PPML_API void ppml_write_bytes(ppml_writer *w, const void *p, size_t len);
/* Make room for extra more bytes at once (avoids repeated growth when the size is known);
 * PPML_OK or the writer's sticky error. */
PPML_API int ppml_writer_reserve(ppml_writer *w, size_t extra) PPML_WUR;
/* Non-negative mpz as u32 byte length + little-endian magnitude. Negative values set err. */
PPML_API void ppml_write_mpz(ppml_writer *w, const mpz_t x);
/* Start an object: writes the header with total_len 0; ppml_writer_finish patches it. */
PPML_API void ppml_write_header(ppml_writer *w, uint16_t type, uint16_t flags,
                                const uint8_t param_id[PPML_PARAM_ID_BYTES]);
/* Patch total_len of the object started at offset start (normally 0). Returns w->err. */
PPML_API int ppml_writer_finish(ppml_writer *w, size_t start) PPML_WUR;
/* Hand the buffer to the caller (*out, *out_len; caller frees with free()) and reset w. */
PPML_API int ppml_writer_take(ppml_writer *w, uint8_t **out, size_t *out_len) PPML_WUR;

PPML_API void ppml_reader_init(ppml_reader *r, const void *data, size_t len);
PPML_API size_t ppml_reader_left(const ppml_reader *r);
PPML_API int ppml_read_u8(ppml_reader *r, uint8_t *v) PPML_WUR;
PPML_API int ppml_read_u16(ppml_reader *r, uint16_t *v) PPML_WUR;
PPML_API int ppml_read_u32(ppml_reader *r, uint32_t *v) PPML_WUR;
PPML_API int ppml_read_u64(ppml_reader *r, uint64_t *v) PPML_WUR;
PPML_API int ppml_read_bytes(ppml_reader *r, void *out, size_t len) PPML_WUR;
/* Borrow a pointer to len bytes inside the reader's buffer. */
PPML_API int ppml_read_view(ppml_reader *r, const uint8_t **out, size_t len) PPML_WUR;
/* Read an mpz written by ppml_write_mpz; refuses more than max_bytes of magnitude and
 * non-minimal encodings (a leading zero byte). */
PPML_API int ppml_read_mpz(ppml_reader *r, mpz_t out, size_t max_bytes) PPML_WUR;
/* Read and check a header. expect_type must match; if param_id is non-NULL it must match
 * too (else PPML_EMISMATCH). total_len must equal the reader's whole remaining length
 * (objects are loaded from exact buffers). */
PPML_API int ppml_read_header(ppml_reader *r, ppml_header *h, uint16_t expect_type,
                              const uint8_t *param_id) PPML_WUR;
/* After loading an object: PPML_OK if every byte was consumed, else PPML_EFORMAT. */
PPML_API int ppml_reader_done(const ppml_reader *r) PPML_WUR;

/* Whole-file helpers. Reading refuses files larger than max_len. Writing goes to a
 * temporary file in the same directory, fsync, then rename, so a crash never leaves a
 * half-written file. mode is the permission of the new file (0600 for secrets). */
PPML_API int ppml_file_read(const char *path, uint8_t **out, size_t *out_len, size_t max_len) PPML_WUR;
PPML_API int ppml_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode) PPML_WUR;

/* BLAKE2b-256 over data, for parameter ids and integrity. */
PPML_API void ppml_hash256(uint8_t out[32], const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
