/* report.tex: booktabs tables to \input into any article that loads booktabs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <keybench/report.h>
#include "report_internal.h"

/* The code point of the UTF-8 character at s and its length; 0 for an
 * invalid or overlong sequence (a status file need not be UTF-8). */
static uint32_t utf8_decode(const unsigned char *s, size_t *len)
{
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    *len = 1;
    if (n == 0 || s[0] > 0xF4)
        return 0;
    uint32_t cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *len = n;
    return cp;
}

/* Whether pdflatex sets a character of another's text as it is, with only
 * the default OT1 fonts and utf8 input: Latin-1 and Latin Extended-A less
 * the letters OT1 lacks (tested: « » Ð Þ ð þ Ą ą Đ đ Ę ę Ħ ħ Į į ĸ Ŀ ŀ ŉ Ŋ ŋ
 * Ŧ ŧ Ų ų ſ stop pdflatex with an error). */
static bool tex_sets(uint32_t cp)
{
    static const uint16_t missing[] = { 0xAB, 0xBB, 0xD0, 0xDE, 0xF0, 0xFE, 0x104, 0x105,
                                        0x110, 0x111, 0x118, 0x119, 0x126, 0x127, 0x12E, 0x12F,
                                        0x138, 0x13F, 0x140, 0x149, 0x14A, 0x14B, 0x166, 0x167,
                                        0x172, 0x173, 0x17F };
    if (cp < 0xA0 || cp > 0x17F)
        return false;
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++)
        if (cp == missing[i])
            return false;
    return true;
}

/* Text in a table or caption: escaped, and the few non-ASCII characters the
 * report's own texts use set as LaTeX (pdflatex's utf8 does not know them all).
 * Any other character pdflatex cannot set (Greek, CJK, …: "Unicode character
 * not set up", which stops the document) is a '?': report.md, report.html
 * and the CSVs keep the text whole. */
static void tex_text(FILE *f, const char *s)
{
    static const char *const map[][2] = {
        { "±", "$\\pm$" }, { "–", "--" }, { "—", "---" }, { "Δ", "$\\Delta$" },
        { "²", "\\textsuperscript{2}" }, { "×", "$\\times$" }, { "≥", "$\\geq$" },
        { "≤", "$\\leq$" }, { "…", "\\ldots{}" },
    };
    while (*s) {
        size_t run = 0;   /* ASCII: kb_report_tex_escape; the rest one character at a time */
        while (s[run] && !((unsigned char)s[run] & 0x80))
            run++;
        if (run) {
            char chunk[256];
            size_t n = run < sizeof chunk - 1 ? run : sizeof chunk - 1;
            memcpy(chunk, s, n);
            chunk[n] = '\0';
            kb_report_tex_escape(f, chunk);
            s += n;
            continue;
        }
        size_t k = 0, nmap = sizeof map / sizeof *map;
        while (k < nmap && strncmp(s, map[k][0], strlen(map[k][0])))
            k++;
        if (k < nmap) {
            fputs(map[k][1], f);
            s += strlen(map[k][0]);
            continue;
        }
        size_t len;
        uint32_t cp = utf8_decode((const unsigned char *)s, &len);
        if (tex_sets(cp))
            fwrite(s, 1, len, f);   /* left to inputenc */
        else
            fputc('?', f);
        s += len;
    }
}

/* A provenance value: hashes and lists are long words; let them break after
 * every 16 characters of a word (at a UTF-8 character boundary). */
static void tex_breakable(FILE *f, const char *s)
{
    char chunk[64];
    size_t n = 0, word = 0;
    for (const char *p = s;; p++) {
        bool boundary = ((unsigned char)*p & 0xC0) != 0x80;
        if (!*p || (boundary && (n >= sizeof chunk - 8 || (word >= 16 && *p != ' ' && *p != ',')))) {
            chunk[n] = '\0';
            tex_text(f, chunk);
            if (!*p)
                return;
            if (word >= 16) {
                fputs("\\allowbreak{}", f);
                word = 0;
            }
            n = 0;
        }
        chunk[n++] = *p;
        word = *p == ' ' ? 0 : word + boundary;
    }
}

static void tex_cell(FILE *f, const struct kb_tcell *c, bool means_only)
{
    if (c->kind == KB_TCELL_TEXT) {
        tex_text(f, c->text);
        return;
    }
    char v[128];
    if (c->stat.n == 0) {
        fputs("--", f);
    } else {
        struct kb_report_stat s = c->stat;
        if (means_only)
            s.n = 1;   /* the mean alone: a wide table must fit the page */
        kb_report_stat_text(v, sizeof v, &s, c->fraction, " \\pm ");
        fprintf(f, c->bold ? "$\\mathbf{%s}$" : "$%s$", v);
    }
    if (*c->text) {
        fputs(" (", f);
        tex_text(f, c->text);
        fputc(')', f);
    }
}

/* Tables wider than this many columns are set smaller, with means only. */
#define TEX_WIDE_COLS 9

static void tex_table(FILE *f, const struct kb_table *t)
{
    bool wide = t->n_cols > TEX_WIDE_COLS;
    fprintf(f, "\n\\begin{table}[htbp]\n\\centering\n\\keybench%sfont\n"
               "\\setlength{\\tabcolsep}{\\keybench%stabcolsep}\n\\caption[{",
            wide ? "wide" : "table", wide ? "wide" : "table");
    tex_text(f, t->title);   /* the list of tables gets the title alone; braces guard a ']' */
    fputs("}]{", f);
    tex_text(f, t->title);
    fputs(". ", f);
    tex_text(f, t->caption);
    if (wide)
        fputs(" Means only (the standard deviations are in report.md and summary.csv).", f);
    fprintf(f, "}\n\\label{tab:keybench-%s}\n\\begin{tabular}{", t->id);
    if (t->provenance)
        fputs("@{}lp{0.65\\linewidth}@{}", f);
    else
        for (size_t c = 0; c < t->n_cols; c++)
            fputc(t->numeric[c] ? 'r' : 'l', f);
    fputs("}\n\\toprule\n", f);
    if (!t->provenance) {
        for (size_t c = 0; c < t->n_cols; c++) {
            fputs(c ? " & " : "", f);
            tex_text(f, t->head[c]);
        }
        fputs(" \\\\\n\\midrule\n", f);
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            fputs(c ? " & " : "", f);
            const struct kb_tcell *cell = &t->cells[r * t->n_cols + c];
            if (t->provenance && c == 1)
                tex_breakable(f, cell->text);
            else
                tex_cell(f, cell, wide);
        }
        fputs(" \\\\\n", f);
    }
    fputs("\\bottomrule\n\\end{tabular}\n\\end{table}\n", f);
}

int kb_report_write_tex(const struct kb_report *m, const char *out_dir, struct kb_error *err)
{
    struct kb_tables ts;
    kb_tables_build(&ts, m);
    char *buf;
    size_t len;
    FILE *f = kb_report_open(&buf, &len);
    fputs("% keybench report (docs/reports.md): booktabs tables, one table environment each.\n"
          "% Use: \\usepackage{booktabs} in the preamble, then \\input{report}.\n"
          "% Accuracies in percent, mean $\\pm$ sample std over seeds.\n"
          "% Redefine these before \\input to change the tables' size:\n"
          "\\providecommand{\\keybenchtablefont}{\\footnotesize}\n"
          "\\providecommand{\\keybenchtabletabcolsep}{4pt}\n"
          "\\providecommand{\\keybenchwidefont}{\\scriptsize}\n"
          "\\providecommand{\\keybenchwidetabcolsep}{2.5pt}\n", f);
    for (size_t i = 0; i < ts.n; i++)
        tex_table(f, &ts.v[i]);
    kb_tables_free(&ts);
    return kb_report_close_save(f, &buf, &len, out_dir, "report.tex", err);
}
