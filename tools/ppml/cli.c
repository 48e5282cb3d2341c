/* Shared CLI helpers. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ppml: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

int cli_parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return cli_error("%s: expected an integer in [%llu, %llu], got '%s'", opt,
                         (unsigned long long)lo, (unsigned long long)hi, s ? s : "");
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return cli_error("%s: expected an integer in [%llu, %llu], got '%s'", opt,
                         (unsigned long long)lo, (unsigned long long)hi, s);
    *out = v;
    return 0;
}

int cli_parse_int(const char *opt, const char *s, long lo, long hi, int *out)
{
    char *end;
    if (!s || !*s)
        return cli_error("%s: expected an integer in [%ld, %ld]", opt, lo, hi);
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return cli_error("%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
    *out = (int)v;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!s || !*s)
        return cli_error("%s: expected a number in [%g, %g]", opt, lo, hi);
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= lo && v <= hi))
        return cli_error("%s: expected a number in [%g, %g], got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_error("option %s needs a value", argv[*i]);
        return NULL;
    }
    (*i)++;
    return argv[*i];
}

int cli_progress_enabled(void) { return isatty(2); }

void cli_progress(const char *fmt, ...)
{
    if (!cli_progress_enabled())
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

uint64_t cli_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void cli_bench_init(cli_bench *b) { memset(b, 0, sizeof *b); }

void cli_bench_add(cli_bench *b, uint64_t ns)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        uint64_t *p = realloc(b->ns, cap * sizeof *p);
        if (!p)
            return;
        b->ns = p;
        b->cap = cap;
    }
    b->ns[b->n++] = ns;
}

void cli_bench_clear(cli_bench *b)
{
    free(b->ns);
    cli_bench_init(b);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t cli_bench_median(const cli_bench *b)
{
    if (!b->n)
        return 0;
    uint64_t *tmp = malloc(b->n * sizeof *tmp);
    if (!tmp)
        return b->ns[0];
    memcpy(tmp, b->ns, b->n * sizeof *tmp);
    qsort(tmp, b->n, sizeof *tmp, cmp_u64);
    uint64_t m = b->n % 2 ? tmp[b->n / 2] : (tmp[b->n / 2 - 1] + tmp[b->n / 2]) / 2;
    free(tmp);
    return m;
}

void cli_bench_report(int json, const char *suite, const char *op, const char *params_json,
                      const cli_bench *b, const char *extra_json)
{
    uint64_t mn = UINT64_MAX, mx = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->ns[i] < mn)
            mn = b->ns[i];
        if (b->ns[i] > mx)
            mx = b->ns[i];
    }
    if (!b->n)
        mn = 0;
    uint64_t med = cli_bench_median(b);
    if (json) {
        printf("{\"suite\":\"%s\",\"op\":\"%s\",\"params\":%s,\"median_ns\":%llu,\"min_ns\":%llu,"
               "\"max_ns\":%llu,\"reps\":%zu%s%s}\n",
               suite, op, params_json, (unsigned long long)med, (unsigned long long)mn,
               (unsigned long long)mx, b->n, extra_json ? "," : "", extra_json ? extra_json : "");
    } else {
        printf("%-10s %-26s %-34s median %12.3f us  (min %.3f, max %.3f, reps %zu)%s%s\n", suite, op,
               params_json, med / 1e3, mn / 1e3, mx / 1e3, b->n, extra_json ? "  " : "",
               extra_json ? extra_json : "");
    }
    fflush(stdout);
}
