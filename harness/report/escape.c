/* Escapers for every report format, the text of a statistic, atomic saves. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <keybench/report.h>
#include "run_internal.h"

void kb_report_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

/* A GFM table cell or a line of text: a backslash before the characters that
 * start inline markup (| ends a cell; $ starts math on GitHub), HTML entities
 * for < > & (GitHub renders inline HTML), a backslash before a leading # + -
 * (a heading or a list when the text starts a line) and spaces for line
 * breaks (a newline would end the row). */
void kb_report_md_escape(FILE *f, const char *s)
{
    if (*s == '#' || *s == '+' || *s == '-')
        fputc('\\', f);
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '\n': case '\r': fputc(' ', f); break;
        case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '~':
        case '$':
            fputc('\\', f);
            fputc(*p, f);
            break;
        default: fputc(*p, f);
        }
    }
}

/* LaTeX text mode with only the core (OT1 or T1) fonts: the ten specials as
 * commands, and < > | " which OT1 sets as other glyphs (" as a straight
 * quote from the typewriter font: \textquotedbl needs T1). Control
 * characters become spaces: pdflatex refuses them (^^A "not set up") or
 * reads them as a paragraph end (^^L), which breaks a caption. */
void kb_report_tex_escape(FILE *f, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '\\': fputs("\\textbackslash{}", f); break;
        case '{': fputs("\\{", f); break;
        case '}': fputs("\\}", f); break;
        case '$': fputs("\\$", f); break;
        case '&': fputs("\\&", f); break;
        case '#': fputs("\\#", f); break;
        case '_': fputs("\\_", f); break;
        case '%': fputs("\\%", f); break;
        case '^': fputs("\\textasciicircum{}", f); break;
        case '~': fputs("\\textasciitilde{}", f); break;
        case '<': fputs("\\textless{}", f); break;
        case '>': fputs("\\textgreater{}", f); break;
        case '"': fputs("{\\ttfamily\\char34}", f); break;
        case '|': fputs("\\textbar{}", f); break;
        default: fputc((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
        }
    }
}

void kb_report_html_escape(FILE *f, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*p, f);
        }
    }
}

bool kb_report_metric_is_fraction(const char *metric)
{
    return strstr(metric, "accuracy") || strstr(metric, "agreement") ||
           strstr(metric, "advantage");
}

char *kb_report_stat_text(char *out, size_t size, const struct kb_report_stat *s, bool fraction,
                          const char *pm)
{
    if (!s || s->n == 0 || isnan(s->mean)) {
        snprintf(out, size, "–");
        return out;
    }
    double k = fraction ? 100.0 : 1.0;
    if (fraction && s->n >= 2)
        snprintf(out, size, "%.1f%s%.1f", k * s->mean, pm, k * s->std);
    else if (fraction)
        snprintf(out, size, "%.1f", k * s->mean);
    else if (s->n >= 2)
        snprintf(out, size, "%.4g%s%.2g", s->mean, pm, s->std);
    else
        snprintf(out, size, "%.4g", s->mean);
    return out;
}

int kb_report_save(const char *out_dir, const char *name, const char *data, size_t size,
                   struct kb_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    return kb_file_write_atomic(path, data ? data : "", size, 0644, false, err);
}
