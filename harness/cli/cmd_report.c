/* keybench report RUN_DIR... [-o DIR]: results.csv and summary.csv from journals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/runner.h>
#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: keybench report RUN_DIR... [-o DIR] [--quiet]\n"
               "Merge the journals (journal*.jsonl) of one or more run directories (or shards\n"
               "of one run) into DIR/results.csv and DIR/summary.csv (DIR: the first RUN_DIR),\n"
               "and print the summary table.\n");
}

int kb_cmd_report(int argc, char **argv)
{
    const char *out = NULL;
    bool quiet = false;
    const char **runs = calloc((size_t)argc, sizeof *runs);
    size_t n = 0;
    if (!runs)
        return 1;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(runs);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "keybench report: unknown option '%s'\n", argv[i]);
            free(runs);
            return 2;
        } else {
            runs[n++] = argv[i];
        }
    }
    if (n == 0) {
        usage(stderr);
        free(runs);
        return 2;
    }
    struct kb_error err = {0};
    if (kb_report_csv(out ? out : runs[0], runs, n, &err) < 0) {
        fprintf(stderr, "keybench: %s\n", err.msg);
        free(runs);
        return 1;
    }
    if (!quiet)
        kb_print_summary(stdout, out ? out : runs[0], runs, n);
    free(runs);
    return 0;
}
