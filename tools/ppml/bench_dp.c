/* ppml bench dp: exact discrete Laplace sampling throughput from the OS CSPRNG. */
#include "cli.h"
#include "ppml/dp.h"

#include <stdio.h>
#include <stdlib.h>

int bench_dp(const cli_bench_opts *o)
{
    static const uint64_t scales[] = {1, 10, 1000, 100000};
    size_t batch = o->quick ? 10000 : 1000000;
    int reps = o->reps ? o->reps : (o->quick ? 3 : 7);
    int64_t *buf = malloc(batch * sizeof *buf);
    if (!buf)
        return cli_error("out of memory");
    for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++) {
        cli_bench b;
        cli_bench_init(&b);
        for (int r = 0; r < reps; r++) {
            uint64_t t0 = cli_now_ns();
            if (ppml_dlap_sample_vec(buf, batch, scales[s], 1) != 0) {
                free(buf);
                return cli_error("discrete Laplace sampling failed");
            }
            cli_bench_add(&b, (cli_now_ns() - t0) / batch);
        }
        char params[64], extra[64];
        snprintf(params, sizeof params, "{\"scale\":%llu}", (unsigned long long)scales[s]);
        uint64_t med = cli_bench_median(&b);
        snprintf(extra, sizeof extra, "\"samples_per_s\":%.0f", med ? 1e9 / (double)med : 0.0);
        cli_bench_report(o->json, "dp", "dlap_sample", params, &b, extra);
        cli_bench_clear(&b);
    }
    free(buf);
    return 0;
}
