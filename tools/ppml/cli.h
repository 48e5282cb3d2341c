/* Shared helpers for the ppml CLI: errors, bounded argument parsing, progress output,
 * benchmark timing and JSON lines (DESIGN §7). */
#ifndef PPML_CLI_H
#define PPML_CLI_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Print "ppml: error: <msg>" on stderr; returns 1 (the exit status to use). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True if argv[i] is -h or --help. */
int cli_wants_help(int argc, char **argv);
/* Parse integers / reals with explicit bounds; on failure print an error naming the option
 * and return non-zero. */
int cli_parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
int cli_parse_int(const char *opt, const char *s, long lo, long hi, int *out);
int cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out);
/* Value of "--opt VALUE" at argv[*i]: advances *i; prints an error if missing. */
const char *cli_value(int argc, char **argv, int *i);

/* Progress on a terminal (stderr is a tty), silent when piped. */
int cli_progress_enabled(void);
void cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic clock in nanoseconds. */
uint64_t cli_now_ns(void);

/* Benchmark sample set: record reps timings, then print as a JSON line or a text row. */
typedef struct cli_bench {
    uint64_t *ns;
    size_t n, cap;
} cli_bench;
void cli_bench_init(cli_bench *b);
void cli_bench_add(cli_bench *b, uint64_t ns);
void cli_bench_clear(cli_bench *b);
uint64_t cli_bench_median(const cli_bench *b);
/* Print one result. params_json is a JSON object text (e.g. "{\"bits\":2048}"); extra_json
 * is NULL or extra fields without braces (e.g. "\"bytes\":123"). */
void cli_bench_report(int json, const char *suite, const char *op, const char *params_json,
                      const cli_bench *b, const char *extra_json);

/* Options common to all bench suites. */
typedef struct cli_bench_opts {
    int json;
    int quick; /* fewer repetitions (used by tests) */
    int reps;  /* 0 = suite default */
    int argc;  /* remaining suite-specific arguments */
    char **argv;
} cli_bench_opts;

#endif
