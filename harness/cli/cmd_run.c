/* keybench run SPEC [key.path=value]... [-o RUN_DIR] [--fail-fast] [--shard K/N]
 *                   [--threads N] [--cache DIR] [--quiet] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/runner.h>
#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: keybench run SPEC [key.path=value]... [-o RUN_DIR] [--fail-fast]\n"
            "                    [--shard K/N] [--threads N] [--cache DIR] [--quiet]\n"
            "Run every cell of SPEC: pretrain (or load weights), protect (fine-tune on\n"
            "transformed images), evaluate with the correct key, plain images and wrong keys.\n"
            "Rerunning into the same RUN_DIR does only what is missing. Results: RUN_DIR/\n"
            "journal.jsonl (the source of truth), results.csv, summary.csv.\n"
            "  -o RUN_DIR     run directory (default: the spec's `output`, runs/<name>)\n"
            "  --fail-fast    stop at the first failed cell (default: keep going)\n"
            "  --shard K/N    run only cells i with i %% N == K-1 (merge with `keybench report`)\n"
            "  --threads N    BLAS/engine threads\n"
            "  --cache DIR    checkpoint cache (default RUN_DIR/cache)\n"
            "  --quiet        errors only on stderr\n");
}

int kb_cmd_run(int argc, char **argv)
{
    struct kb_run_options o = kb_run_options_default();
    const char **ovr = calloc((size_t)argc, sizeof *ovr);
    size_t n_ovr = 0;
    if (!ovr)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(ovr);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            o.run_dir = argv[++i];
        } else if (!strcmp(a, "--cache") && i + 1 < argc) {
            o.cache_dir = argv[++i];
        } else if (!strcmp(a, "--fail-fast")) {
            o.fail_fast = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o.quiet = true;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 1024) {
                fprintf(stderr, "keybench run: --threads: expected an integer in [1, 1024], got '%s'\n",
                        argv[i]);
                free(ovr);
                return 2;
            }
            o.threads = (int)t;
        } else if (!strcmp(a, "--shard") && i + 1 < argc) {
            int k, n;
            char extra;
            if (sscanf(argv[++i], "%d/%d%c", &k, &n, &extra) != 2 || n < 1 || k < 1 || k > n) {
                fprintf(stderr, "keybench run: --shard: expected K/N with 1 <= K <= N, got '%s'\n",
                        argv[i]);
                free(ovr);
                return 2;
            }
            o.shard_k = k;
            o.shard_n = n;
        } else if (a[0] == '-') {
            fprintf(stderr, "keybench run: unknown option '%s'\n", a);
            usage(stderr);
            free(ovr);
            return 2;
        } else if (!o.spec_path) {
            o.spec_path = a;
        } else if (strchr(a, '=')) {
            ovr[n_ovr++] = a;
        } else {
            fprintf(stderr, "keybench run: unexpected argument '%s' (overrides look like key.path=value)\n", a);
            free(ovr);
            return 2;
        }
    }
    if (!o.spec_path) {
        usage(stderr);
        free(ovr);
        return 2;
    }
    o.overrides = ovr;
    o.n_overrides = n_ovr;
    struct kb_error err = {0};
    int failed = 0;
    int rc = kb_run(&o, &failed, &err);
    free(ovr);
    if (rc < 0) {
        fprintf(stderr, "keybench: %s\n", err.msg);
        return 1;
    }
    return failed ? 1 : 0;
}
