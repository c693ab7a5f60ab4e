/* report.md: GitHub-flavoured Markdown tables, for a README or an issue. */
#include <stdio.h>
#include <string.h>

#include <keybench/report.h>
#include "report_internal.h"

static void md_cell(FILE *f, const struct kb_tcell *c)
{
    if (c->kind == KB_TCELL_TEXT) {
        kb_report_md_escape(f, c->text);
        return;
    }
    char v[128];
    kb_report_stat_text(v, sizeof v, &c->stat, c->fraction, " ± ");
    fprintf(f, c->bold && c->stat.n ? "**%s**" : "%s", v);
    if (*c->text) {
        fputs(" (", f);
        kb_report_md_escape(f, c->text);
        fputc(')', f);
    }
}

static void md_table(FILE *f, const struct kb_table *t)
{
    fputs("\n## ", f);
    kb_report_md_escape(f, t->title);
    fputs("\n\n", f);
    kb_report_md_escape(f, t->caption);
    fputs("\n\n|", f);
    for (size_t c = 0; c < t->n_cols; c++) {
        fputc(' ', f);
        kb_report_md_escape(f, t->head[c]);
        fputs(" |", f);
    }
    fputs("\n|", f);
    for (size_t c = 0; c < t->n_cols; c++)
        fputs(t->numeric[c] ? "---:|" : "---|", f);
    fputc('\n', f);
    for (size_t r = 0; r < t->n_rows; r++) {
        fputc('|', f);
        for (size_t c = 0; c < t->n_cols; c++) {
            fputc(' ', f);
            md_cell(f, &t->cells[r * t->n_cols + c]);
            fputs(" |", f);
        }
        fputc('\n', f);
    }
}

int kb_report_write_md(const struct kb_report *m, const char *out_dir, struct kb_error *err)
{
    struct kb_tables ts;
    kb_tables_build(&ts, m);
    char *buf;
    size_t len;
    FILE *f = kb_report_open(&buf, &len);
    fputs("# keybench report: ", f);
    for (size_t r = 0; r < m->n_runs; r++) {
        fputs(r ? ", " : "", f);
        kb_report_md_escape(f, m->runs[r].name);
    }
    fputs("\n\nDerived from the run directories' journals by `keybench report` "
          "(docs/reports.md). Accuracies in %.\n", f);
    for (size_t i = 0; i < ts.n; i++)
        md_table(f, &ts.v[i]);
    kb_tables_free(&ts);
    return kb_report_close_save(f, &buf, &len, out_dir, "report.md", err);
}
