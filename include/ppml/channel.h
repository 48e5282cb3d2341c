/* Channels: framed, length-checked, typed messages between two parties (DESIGN §3).
 *
 * A protocol is written once against ppml_channel; two transports sit behind one vtable:
 *   in-process : two endpoints joined by a pair of bounded queues (threads of one process;
 *                tests and the single-machine demo).
 *   tcp        : ZeroMQ over TCP with CURVE (X25519 + XSalsa20-Poly1305): the server's
 *                public key is given to the client, which thereby authenticates the server;
 *                all traffic is encrypted. A listener given an allow-list of client public
 *                keys authenticates its clients too (ZAP) and refuses every other key.
 *                A server binds once (a listener) and serves its
 *                clients one session at a time; ZMQ_MAXMSGSIZE bounds what the socket
 *                accepts; ZMTP heartbeats and a socket monitor detect a dead peer.
 *
 * Frame (the bytes of one message on every transport, little endian):
 *   type u16 | payload_len u32 | payload[payload_len]
 * The receiver checks payload_len against the bytes actually received and against the
 * channel's maximum message size before it allocates anything.
 *
 * Errors: PPML_EPROTO (malformed frame, wrong type, oversized message), PPML_ETIMEOUT (no
 * message within the timeout), PPML_ENET (peer gone, transport failure). After PPML_ENET
 * every later call fails with PPML_ENET.
 *
 * Ownership: a channel endpoint is a heap object (_free closes it; _free(NULL) is a no-op).
 * ppml_channel_recv hands the caller a malloc'ed payload (free with free(), or
 * ppml_free_secret for the messages that carry keys: CCS's set-up, CSS's job). Sending wipes
 * the frame it built; the transport's own buffers (ZeroMQ's) are not wiped, which is why keys
 * travel only on CURVE-encrypted connections or sealed. One thread per endpoint. */
#ifndef PPML_CHANNEL_H
#define PPML_CHANNEL_H
#include "common.h"
#include <gmp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PPML_FRAME_HEADER_BYTES 6
/* Default and hard maximum of a channel's message size (payload bytes). */
#define PPML_CHANNEL_DEFAULT_MAX ((size_t)64 << 20)
#define PPML_CHANNEL_HARD_MAX ((size_t)1 << 30)
/* Timeout value meaning "wait forever". */
#define PPML_TIMEOUT_INFINITE (-1)

typedef struct ppml_channel ppml_channel;

/* Transport implementation (for wrappers such as test recorders). Functions return PPML_OK
 * or an error; recv_frame hands out a malloc'ed frame. */
typedef struct ppml_channel_ops {
    int (*send_frame)(void *impl, const uint8_t *frame, size_t len);
    int (*recv_frame)(void *impl, uint8_t **frame, size_t *len, int timeout_ms);
    void (*close)(void *impl);
} ppml_channel_ops;

/* Wrap a transport (takes ownership of impl: ops->close is called by _free). max_msg is
 * the largest payload accepted (0 = default). */
PPML_API int ppml_channel_new(ppml_channel **out, const ppml_channel_ops *ops, void *impl,
                              size_t max_msg) PPML_WUR;
PPML_API void ppml_channel_free(ppml_channel *ch);

/* In-process pair: a and b are the two ends (each to be used by one thread). queue_depth
 * bounds the messages in flight each way (0 = 16): send blocks while the queue is full.
 * Freeing one end makes the other's pending and later calls fail with PPML_ENET. */
PPML_API int ppml_channel_pair_inproc(ppml_channel **a, ppml_channel **b, size_t max_msg,
                                      size_t queue_depth) PPML_WUR;

/* TCP (ZeroMQ + CURVE). Keys are Z85 text (40 characters), as made by
 * ppml_channel_curve_keypair. endpoint is a ZeroMQ address, e.g. tcp://127.0.0.1:7000
 * (the server binds; tcp://0.0.0.0:7000 listens on every interface; tcp://127.0.0.1:* takes
 * a free port chosen by the system, see ppml_channel_listener_endpoint). curve = 0 disables
 * CURVE: only for loopback tests; the keys are then ignored. */
typedef struct ppml_channel_tcp_opts {
    const char *endpoint;
    int curve;
    const char *server_public;  /* client: required with curve */
    const char *server_secret;  /* server: required with curve */
    size_t max_msg;             /* 0 = default */
    int heartbeat_ms;           /* 0 = 1000; the peer is declared dead after 3 missed */
    int send_timeout_ms;        /* 0 = 30000; PPML_TIMEOUT_INFINITE allowed */
    int connect_timeout_ms;     /* client: > 0 = connect waits this long for the CURVE
                                 * handshake (PPML_ETIMEOUT, or PPML_ENET if it failed:
                                 * wrong server key, or this client's key refused);
                                 * 0 = connect returns at once */
    /* Listener, with curve: the client public keys (Z85) allowed to connect. n_client_keys
     * = 0: any client may connect (the server is still authenticated and traffic
     * encrypted). Otherwise a handshake with any other key fails: that client's connect or
     * first recv fails with PPML_ENET. The keys are copied; they are public. */
    const char (*client_keys)[41];
    size_t n_client_keys;
    /* Client, with curve: a long-term key pair to present (for a listener's allow-list).
     * client_secret NULL = a fresh pair per connection; client_public NULL = derived from
     * client_secret. Neither is kept. */
    const char *client_public;
    const char *client_secret;
} ppml_channel_tcp_opts;

PPML_API int ppml_channel_curve_keypair(char public_z85[41], char secret_z85[41]) PPML_WUR;
/* The 32 raw bytes of a Z85 CURVE key (an X25519 key, usable with libsodium's crypto_box):
 * PPML_EINVAL unless z85 is 40 valid Z85 characters. */
PPML_API int ppml_channel_curve_decode(uint8_t raw[32], const char *z85) PPML_WUR;

/* Server: a listener binds once and serves its clients one session at a time, for as long
 * as it lives; a client's disconnect, a malformed or oversized message end at most that
 * client's session. A session begins with the first message of a client that has none
 * (clients that write while another is served wait, in arrival order; beyond a small bound
 * they are refused) and ends when its channel is freed or its client disconnects (its recv
 * and send then fail with PPML_ENET, once everything the client sent has been read). A
 * client whose session ended is refused (its channel fails with PPML_ENET) instead of
 * starting another. One thread uses a listener and its session; free the session first. */
typedef struct ppml_channel_listener ppml_channel_listener;
PPML_API int ppml_channel_tcp_listener_new(ppml_channel_listener **out,
                                           const ppml_channel_tcp_opts *o,
                                           char err[PPML_ERR_LEN]) PPML_WUR;
/* The address bound (with the port the system chose for tcp://HOST:*). */
PPML_API const char *ppml_channel_listener_endpoint(const ppml_channel_listener *l);
PPML_API void ppml_channel_listener_free(ppml_channel_listener *l);
/* Wait up to timeout_ms for the next client's first message (PPML_ETIMEOUT if none) and
 * return its session; the message is the session's first recv. The session borrows l; at
 * most one is open at a time (PPML_ESTATE). */
PPML_API int ppml_channel_tcp_accept(ppml_channel_listener *l, ppml_channel **session,
                                     int timeout_ms) PPML_WUR;
/* A listener with a single session, whose first recv waits for the client (the listener is
 * freed with the channel). */
PPML_API int ppml_channel_tcp_listen(ppml_channel **out, const ppml_channel_tcp_opts *o,
                                     char err[PPML_ERR_LEN]) PPML_WUR;
/* Client end: connects (asynchronously unless connect_timeout_ms: a message sent before the
 * connection exists is queued and delivered once the handshake completes; a refused
 * connection is retried). PPML_ENET once an established connection is lost, the handshake
 * failed, or the server refused or closed the session. */
PPML_API int ppml_channel_tcp_connect(ppml_channel **out, const ppml_channel_tcp_opts *o,
                                      char err[PPML_ERR_LEN]) PPML_WUR;

/* Default receive timeout in ms for ppml_channel_recv_expect (PPML_TIMEOUT_INFINITE allowed). */
PPML_API void ppml_channel_set_timeout(ppml_channel *ch, int timeout_ms);
PPML_API int ppml_channel_timeout(const ppml_channel *ch);
PPML_API size_t ppml_channel_max_msg(const ppml_channel *ch);

/* Send one message (payload may be NULL when len is 0). PPML_ERANGE if len exceeds the
 * channel's maximum. */
PPML_API int ppml_channel_send(ppml_channel *ch, uint16_t type, const uint8_t *payload,
                               size_t len) PPML_WUR;
/* Receive one message within timeout_ms. On success *payload (malloc'ed, NULL if empty) and
 * *len belong to the caller. */
PPML_API int ppml_channel_recv(ppml_channel *ch, uint16_t *type, uint8_t **payload, size_t *len,
                               int timeout_ms) PPML_WUR;
/* Receive a message of the given type with the channel's default timeout; any other type is
 * PPML_EPROTO (the message is dropped). */
PPML_API int ppml_channel_recv_expect(ppml_channel *ch, uint16_t type, uint8_t **payload,
                                      size_t *len) PPML_WUR;
/* Send raw frame bytes, bypassing framing (tests and fuzzing of the receiver only). */
PPML_API int ppml_channel_send_raw(ppml_channel *ch, const uint8_t *frame, size_t len) PPML_WUR;

/* Frame parser (what recv applies to every received frame): checks the header, that
 * payload_len equals the bytes present and is at most max_msg. *payload points into frame. */
PPML_API int ppml_frame_parse(const uint8_t *frame, size_t len, size_t max_msg, uint16_t *type,
                              const uint8_t **payload, size_t *payload_len) PPML_WUR;

/* Message helpers for vectors of big integers. Layout: count u32, then count entries of
 * ppml_write_mpz (u32 byte length + little-endian magnitude). */
struct ppml_writer;
struct ppml_reader;
PPML_API void ppml_msg_write_mpzvec(struct ppml_writer *w, const mpz_t *v, size_t count);
/* Read exactly `count` values into caller-initialised v[0..count): the declared count must
 * equal count (PPML_EPROTO), every value must lie in [0, bound) (PPML_ERANGE). v is left
 * untouched on failure. */
PPML_API int ppml_msg_read_mpzvec_exact(struct ppml_reader *r, mpz_t *v, size_t count,
                                        const mpz_t bound) PPML_WUR;
/* Read a vector of at most max_count values, each in [0, bound): allocates *v (count
 * entries, mpz_init'ed; free with ppml_msg_mpzvec_free). The count is checked against
 * max_count and against the bytes left before anything is allocated. */
PPML_API int ppml_msg_read_mpzvec(struct ppml_reader *r, mpz_t **v, size_t *count,
                                  size_t max_count, const mpz_t bound) PPML_WUR;
PPML_API void ppml_msg_mpzvec_free(mpz_t *v, size_t count);

/* Error replies: the payload is the error code as an i32, little endian.
 * ppml_msg_send_error sends one as a message of `type`; ppml_msg_error_code reads one back:
 * the code when the payload is 4 bytes holding a ppml error code (negative, above -1000),
 * PPML_EPROTO otherwise. */
PPML_API int ppml_msg_send_error(ppml_channel *ch, uint16_t type, int code) PPML_WUR;
PPML_API int ppml_msg_error_code(const uint8_t *payload, size_t len);

#ifdef __cplusplus
}
#endif
#endif
