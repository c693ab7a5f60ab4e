/* keybench report RUN_DIR... [-o DIR] [--format LIST]: every report from journals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/report.h>
#include <keybench/runner.h>
#include "commands.h"

static void usage(FILE *f)
{
    size_t n;
    const struct kb_report_format *fm = kb_report_formats(&n);
    fprintf(f, "usage: keybench report RUN_DIR... [-o DIR] [--format LIST] [--quiet]\n"
               "Merge the journals (journal*.jsonl) of one or more run directories (or shards\n"
               "of one run) and write the reports into DIR (default: the first RUN_DIR); several\n"
               "runs are aligned by their axes and compared (docs/reports.md). Prints the\n"
               "summary table.\n"
               "  --format LIST  comma-separated formats (default: all):\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "                   %-5s %s\n", fm[i].name, fm[i].files);
}

int kb_cmd_report(int argc, char **argv)
{
    const char *out = NULL, *formats = NULL;
    bool quiet = false;
    const char **runs = calloc((size_t)argc, sizeof *runs);
    size_t n = 0;
    if (!runs)
        return 1;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if ((!strcmp(argv[i], "--format") || !strcmp(argv[i], "-f")) && i + 1 < argc) {
            formats = argv[++i];
        } else if (!strncmp(argv[i], "--format=", 9)) {
            formats = argv[i] + 9;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(runs);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "keybench report: unknown option '%s' (or it lacks its value)\n", argv[i]);
            rc = 2;
        } else {
            runs[n++] = argv[i];
        }
    }
    if (rc == 0 && n == 0) {
        usage(stderr);
        rc = 2;
    }
    struct kb_error err = {0};
    if (rc == 0 && kb_report_write(out ? out : runs[0], runs, n, formats, &err) < 0) {
        fprintf(stderr, "keybench report: %s\n", err.msg);
        rc = 1;
    }
    if (rc == 0 && !quiet)
        kb_print_summary(stdout, out ? out : runs[0], runs, n);
    free(runs);
    return rc;
}
