/* Shared by cmd_diagnose.c and cmd_serve.c: networked encrypted diagnosis (scheme S). */
#ifndef PPML_DIAG_CLI_H
#define PPML_DIAG_CLI_H
#include "ppml/channel.h"
#include "ppml/dataset.h"
#include "ppml/diagnosis.h"

/* Load CCS's public material (ppml serve diag-ccs --public) into a public-only CCS object;
 * prints the error. */
int diag_cli_load_public(ppml_diag_ccs **out, const char *path, int allow_insecure);
/* The DSP's public feature scaler, given to users ("ppml-diag-scaler 1", d, then d lines
 * "mean std"). */
int diag_cli_write_scaler(const char *path, const ppml_scaler *sc);
int diag_cli_read_scaler(ppml_scaler *sc, const char *path);
/* Bind a server's listener on addr with its CURVE secret key and announce the address
 * bound ("ppml serve ROLE: listening on ADDR<note>", on stderr); prints the error. */
int serve_cli_listen(ppml_channel_listener **l, const char *role, const char *addr,
                     const char *secret, const char *note);
/* ppml serve diag-ccs / diag-css */
int serve_diag_ccs(int argc, char **argv);
int serve_diag_css(int argc, char **argv);
#endif
