/* Shared by cmd_diagnose.c and cmd_serve.c: networked encrypted diagnosis (scheme S). */
#ifndef PPML_DIAG_CLI_H
#define PPML_DIAG_CLI_H
#include "ppml/channel.h"
#include "ppml/dataset.h"
#include "ppml/diagnosis.h"

/* Load CCS's public material (ppml serve diag-ccs --public) into a public-only CCS object;
 * prints the error. */
/* Loads CCS's public material; refuses material made with test keys unless allow_insecure,
 * and material without circuit privacy (CSS would not flood the noise CCS decrypts) unless
 * allow_unflooded (--no-circuit-private). */
int diag_cli_load_public(ppml_diag_ccs **out, const char *path, int allow_insecure,
                         int allow_unflooded);
/* The DSP's public feature scaler, given to users ("ppml-diag-scaler 1", d, then d lines
 * "mean std"). */
int diag_cli_write_scaler(const char *path, const ppml_scaler *sc);
int diag_cli_read_scaler(ppml_scaler *sc, const char *path);
/* The client keys a server allows (--allow FILE): one Z85 public key per line, as
 * `ppml serve keygen` writes PREFIX.pub; empty lines and '#' comments are skipped. */
typedef struct serve_cli_allow {
    char (*keys)[41];
    size_t n;
} serve_cli_allow;
/* Read path into *a (at least one key; a bad line is an error naming it). path NULL: no
 * allow-list, and a warning on stderr that any client may connect to ROLE. Free a->keys. */
int serve_cli_read_allow(serve_cli_allow *a, const char *path, const char *role);
/* A client's long-term CURVE secret key (--client-key FILE, PREFIX.sec of keygen): the file
 * must not be readable by others. Its public key (PREFIX.pub, for the server's --allow) is
 * derived from it. Prints the error. */
int serve_cli_read_client_key(char secret[41], const char *path);
/* Bind a server's listener on addr with its CURVE secret key, allowing the clients of allow
 * (NULL or none: any), and announce the address bound ("ppml serve ROLE: listening on
 * ADDR<note>", on stderr); prints the error. */
int serve_cli_listen(ppml_channel_listener **l, const char *role, const char *addr,
                     const char *secret, const serve_cli_allow *allow, const char *note);
/* ppml serve diag-ccs / diag-css */
int serve_diag_ccs(int argc, char **argv);
int serve_diag_css(int argc, char **argv);
#endif
