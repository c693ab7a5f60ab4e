/* keybench report RUN_DIR... [-o DIR] [--format LIST]: every report from journals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/report.h>
#include <keybench/runner.h>
#include "cli_util.h"
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

/* Like kb_report_write, but a run with nothing in it (no measurement and no
 * failed cell: an empty journal) is an error here, not an empty report. */
static int write_reports(const char *out, const char *const *runs, size_t n, const char *formats,
                         bool quiet, struct kb_error *err)
{
    if (kb_report_check_formats(formats, err) < 0)   /* before any work */
        return -1;
    struct kb_report *m;
    if (kb_report_load(&m, runs, n, err) < 0)
        return -1;
    int rc = 0;
    for (size_t r = 0; r < m->n_runs && rc == 0; r++)
        if (m->runs[r].n_records == 0 && m->runs[r].n_failed == 0)
            rc = kb_error_set(err, "%s: its journals hold no measurements (an empty journal, or "
                              "no cell has finished yet): nothing to report", m->runs[r].dir);
    if (rc == 0)
        rc = kb_report_write_model(m, out, formats, err);
    if (rc == 0 && !quiet)
        kb_report_print_summary(stdout, out, m);
    kb_report_free(m);
    return rc;
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
        const char *v;
        if ((v = kb_cli_opt_value(argc, argv, &i, "-o")) ||
            (v = kb_cli_opt_value(argc, argv, &i, "--output"))) {
            out = v;
        } else if ((v = kb_cli_opt_value(argc, argv, &i, "--format"))) {
            formats = v;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(runs);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "keybench report: unknown option '%s'\n", argv[i]);
            rc = 2;
        } else {
            runs[n++] = argv[i];
        }
        if (v && !*v) {
            fprintf(stderr, "keybench report: %s needs a value\n", argv[i]);
            rc = 2;
        }
    }
    if (rc == 0 && n == 0) {
        usage(stderr);
        rc = 2;
    }
    struct kb_error err = {0};
    if (rc == 0 && write_reports(out ? out : runs[0], runs, n, formats, quiet, &err) < 0) {
        fprintf(stderr, "keybench report: %s\n", err.msg);
        rc = 1;
    }
    free(runs);
    return rc;
}
