/* report.html: one self-contained page (inline CSS, inline SVG charts, sample
 * images as data URIs, no script, nothing fetched) built from the report
 * model: the tables of the text formats (table.c), the charts (svg.c), each
 * group's sample grid (cells/<id>/samples.png, embedded byte for byte) and
 * the provenance. Every string from a spec, a plugin or a file is escaped. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <keybench/report.h>
#include "report_internal.h"
#include "svg.h"

#define SAMPLES_MAX_BYTES (4u << 20)   /* a bigger samples.png is not embedded */
#define PLAN_MAX_CHARS (256u << 10)    /* plan.json shown up to this size */

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:#111;max-width:1180px;margin:0 auto;padding:1.5em;line-height:1.4}"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #111;padding-bottom:.15em;"
    "margin-top:2em}h3{margin:1.4em 0 .3em}"
    "nav ol{columns:3;font-size:.95em}"
    ".note{color:#333;font-size:.9em;max-width:60em;margin:.2em 0 .6em}"
    ".missing{color:#6b4a00;background:#fff4d6;padding:.3em .6em;display:inline-block}"
    ".scroll{overflow-x:auto}"
    "table.wide{font-size:.8em}table.wide th,table.wide td{padding:.2em .45em}"
    "table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92em;"
    "font-variant-numeric:tabular-nums;border-top:2px solid #111;border-bottom:2px solid #111}"
    "th,td{padding:.25em .7em;text-align:left;vertical-align:top}"
    "thead th{border-bottom:1px solid #111;font-weight:600}"
    "tbody tr:nth-child(even){background:#f4f4f4}"
    "td.num,th.num{text-align:right;white-space:nowrap}"
    "td.diff{background:#ffe9a8;font-weight:700}"
    "td.diff,td[style]{print-color-adjust:exact;-webkit-print-color-adjust:exact}"
    "table.prov td:first-child{white-space:nowrap;color:#333}"
    "table.prov td{word-break:break-all}"
    ".note-cell{color:#555;font-size:.85em}"
    "figure{margin:1em 0;break-inside:avoid}figcaption{font-size:.9em;color:#333;max-width:60em}"
    "svg.chart{max-width:100%;height:auto;display:block}"
    ".multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:.5em 1.5em}"
    ".samples{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:1em 1.5em}"
    ".samples img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc}"
    "pre{background:#f6f6f6;padding:.6em;overflow:auto;max-height:30em;font-size:.8em}"
    "@media print{nav{display:none}.scroll{overflow:visible}body{max-width:none;padding:0}h2{break-after:avoid}"
    "tbody tr:nth-child(even){background:none}pre{max-height:none}}";

static void esc(FILE *f, const char *s)
{
    kb_report_html_escape(f, s ? s : "");
}

/* ------------------------------------------------------------------ tables */

/* The per-class table is shaded as a heat map: a cell's mean between the
 * table's lowest (darkest) and highest (white) maps to lightness, so weak
 * classes stand out on screen and in grayscale; the number stays black. */
struct heat {
    bool on;
    double lo, hi;
};

static struct heat heat_of(const struct kb_table *t)
{
    struct heat h = { !strcmp(t->id, "per-class"), INFINITY, -INFINITY };
    for (size_t i = 0; h.on && i < t->n_rows * t->n_cols; i++) {
        const struct kb_tcell *c = &t->cells[i];
        if (c->kind == KB_TCELL_STAT && c->stat.n && isfinite(c->stat.mean)) {
            h.lo = fmin(h.lo, c->stat.mean);
            h.hi = fmax(h.hi, c->stat.mean);
        }
    }
    h.on = h.on && h.hi > h.lo;
    return h;
}

static void table_cell(FILE *f, const struct kb_tcell *c, bool numeric, const struct heat *h)
{
    if (c->kind == KB_TCELL_TEXT) {
        fputs(numeric ? "<td class=\"num\">" : "<td>", f);
        esc(f, c->text);
        fputs("</td>", f);
        return;
    }
    char v[128];
    kb_report_stat_text(v, sizeof v, &c->stat, c->fraction, " ± ");
    fprintf(f, "<td class=\"num%s\"", c->bold && c->stat.n ? " diff" : "");
    if (h->on && c->stat.n && isfinite(c->stat.mean))
        fprintf(f, " style=\"background:hsl(205,70%%,%.0f%%)\"",
                100.0 - 30.0 * (h->hi - c->stat.mean) / (h->hi - h->lo));
    fputs(">", f);
    esc(f, v);
    if (*c->text) {
        fputs(" <span class=\"note-cell\">(", f);
        esc(f, c->text);
        fputs(")</span>", f);
    }
    fputs("</td>", f);
}

/* Tables of more columns than this are set smaller (per-class accuracy). */
#define WIDE_COLS 9

static void html_table(FILE *f, const struct kb_table *t)
{
    struct heat h = heat_of(t);
    fprintf(f, "<h3 id=\"t-%s\">", t->id);
    esc(f, t->title);
    fputs("</h3>\n<p class=\"note\">", f);
    esc(f, t->caption);
    if (h.on)
        fputs(" Shading: darker is lower, from the table's lowest to its highest value.", f);
    fprintf(f, "</p>\n<div class=\"scroll\"><table class=\"%s%s\" data-table=\"%s\">",
            t->provenance ? "prov" : "data", t->n_cols > WIDE_COLS ? " wide" : "", t->id);
    if (!t->provenance) {
        fputs("<thead><tr>", f);
        for (size_t c = 0; c < t->n_cols; c++) {
            fputs(t->numeric[c] ? "<th class=\"num\">" : "<th>", f);
            esc(f, t->head[c]);
            fputs("</th>", f);
        }
        fputs("</tr></thead>", f);
    }
    fputs("<tbody>\n", f);
    for (size_t r = 0; r < t->n_rows; r++) {
        fputs("<tr>", f);
        for (size_t c = 0; c < t->n_cols; c++)
            table_cell(f, &t->cells[r * t->n_cols + c], t->numeric[c], &h);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
}

/* The tables whose id starts with `prefix`. Returns how many. */
static size_t tables_with(FILE *f, const struct kb_tables *ts, const char *prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < ts->n; i++)
        if (!strncmp(ts->v[i].id, prefix, strlen(prefix))) {
            html_table(f, &ts->v[i]);
            n++;
        }
    return n;
}

/* ------------------------------------------------------------------ charts */

static double pct(double v)
{
    return isfinite(v) ? v * 100.0 : NAN;
}

/* Chance accuracy in %: 100 / the number of classes seen in per-class records
 * (NaN, no line, without them or past 1024 classes). */
static double chance(const struct kb_report *m)
{
    size_t n = 0;
    const char *seen[1024];
    for (size_t i = 0; i < m->n_aggs; i++) {
        const char *c = m->aggs[i].class_name;
        bool dup = !*c;
        for (size_t k = 0; k < n && !dup; k++)
            dup = !strcmp(seen[k], c);
        if (!dup && n == sizeof seen / sizeof *seen)
            return NAN;
        if (!dup)
            seen[n++] = c;
    }
    return n >= 2 ? 100.0 / (double)n : NAN;
}

/* The label of a group in a chart: its varying axes, with the run when several. */
static void group_label(char *out, size_t n, const struct kb_report *m, size_t g)
{
    if (m->n_runs > 1)
        snprintf(out, n, "%s: %s", m->runs[m->groups[g].run].name, m->groups[g].label);
    else
        snprintf(out, n, "%s", m->groups[g].label);
}

static void figure_open(FILE *f, const char *id)
{
    fprintf(f, "<figure id=\"fig-%s\">\n", id);
}

/* caption NULL: none (small multiples share one after the last). */
static void figure_close(FILE *f, const char *caption)
{
    if (caption) {
        fputs("<figcaption>", f);
        esc(f, caption);
        fputs("</figcaption>", f);
    }
    fputs("</figure>\n", f);
}

/* Whether a headline row has a bar to draw (pending cells have none). */
static bool headline_has_values(const struct kb_report_headline *h)
{
    return h->unprotected.n || h->correct_key.n || h->plain.n || h->wrong_key.n;
}

/* One bar or strip chart: headline rows of one run and, when a run has more
 * than FACET_ROWS rows over two or more axes, of one value of its first
 * varying axis (a label's first ", " segment; the categories are the rest). */
#define FACET_ROWS 8

struct panel {
    size_t run;
    const char *facet;     /* the first axis's value text, NULL: not faceted */
    size_t facet_len;
    size_t *rows;          /* headline indices */
    size_t n;
    char id[32];           /* "1", "1-2": run and facet numbers */
};

static const char *panel_category(const struct panel *p, const struct kb_report *m, size_t row)
{
    const char *label = m->groups[m->headline[row].group].label;
    return p->facet ? label + p->facet_len + 2 : label;
}

static void panel_title(char *out, size_t n, const struct panel *p, const struct kb_report *m,
                        const char *what)
{
    snprintf(out, n, "%s%s%s%s%.*s", what, m->n_runs > 1 || p->facet ? ": " : "",
             m->n_runs > 1 ? m->runs[p->run].name : "", m->n_runs > 1 && p->facet ? ", " : "",
             (int)(p->facet ? p->facet_len : 0), p->facet ? p->facet : "");
}

/* The panels of every run, in headline order. */
static size_t panels_build(struct panel **out, const struct kb_report *m)
{
    struct panel *v = calloc(m->n_headline + m->n_runs + 1, sizeof *v);
    size_t np = 0;
    for (size_t r = 0; v && r < m->n_runs; r++) {
        size_t n = 0;
        bool split = true;
        for (size_t i = 0; i < m->n_headline; i++)
            if (m->groups[m->headline[i].group].run == r && headline_has_values(&m->headline[i])) {
                n++;
                split = split && strstr(m->groups[m->headline[i].group].label, ", ");
            }
        split = split && n > FACET_ROWS;
        size_t first = np;
        for (size_t i = 0; i < m->n_headline; i++) {
            const char *label = m->groups[m->headline[i].group].label;
            if (m->groups[m->headline[i].group].run != r || !headline_has_values(&m->headline[i]))
                continue;
            size_t flen = split ? (size_t)(strstr(label, ", ") - label) : 0, k = first;
            while (k < np && split && (v[k].facet_len != flen || strncmp(v[k].facet, label, flen)))
                k++;
            if (k == np) { /* a new panel (the run's only one when not split) */
                k = np++;
                v[k] = (struct panel){ r, split ? label : NULL, flen,
                                       calloc(m->n_headline, sizeof(size_t)), 0, "" };
                if (!v[k].rows)
                    break;
                if (split)
                    snprintf(v[k].id, sizeof v[k].id, "%zu-%zu", r + 1, k - first + 1);
                else
                    snprintf(v[k].id, sizeof v[k].id, "%zu", r + 1);
            }
            v[k].rows[v[k].n++] = i;
        }
    }
    *out = v;
    return np;
}

static void panels_free(struct panel *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].rows);
    free(v);
}

/* The frame of a chart of test accuracy by headline row: 0–100 %, with chance. */
static struct kb_svg_frame accuracy_frame(const struct kb_report *m, const char *id,
                                          const char *title)
{
    return (struct kb_svg_frame){ .id = id, .title = title, .x_label = "transform (varying axes)",
                                  .y_label = "test accuracy (%)", .y_min = 0, .y_max = 100,
                                  .ref_y = chance(m), .ref_label = "chance", .unit = "%" };
}

/* What the accuracy charts show and how to read them (under the last of a kind). */
static const char bars_caption[] =
    "Bars: mean test accuracy over seeds; error bars: ± one standard deviation over seeds "
    "(over every key and seed for the wrong key). A protected model should be high with "
    "the correct key and low on plain images and with wrong keys; unprotected is the same "
    "backbone fine-tuned on plain images. The dashed line is chance (one over the number "
    "of classes).";
static const char strip_caption[] =
    "Each point is the test accuracy of the protected model with one random wrong key "
    "(all seeds pooled); the box spans the quartiles with the median as a thick line, the "
    "whiskers the range. The diamond is the correct key. Points near chance mean a wrong "
    "key gives nothing away; a spread reaching up to the diamond means some wrong keys "
    "work almost as well as the right one.";

/* Grouped bars: one category per headline row of the panel, one bar per condition. */
static void accuracy_bars(FILE *f, const struct kb_report *m, const struct panel *p, bool last)
{
    static const char *const series[] = { "unprotected", "correct key", "plain images",
                                          "wrong key (mean over keys)" };
    bool unprot = false;
    for (size_t k = 0; k < p->n; k++)
        unprot |= m->headline[p->rows[k]].unprotected.n > 0;
    size_t ns = unprot ? 4 : 3, off = unprot ? 0 : 1, nh = p->n;
    const char **cats = calloc(nh + 1, sizeof *cats);
    double *v = calloc(nh * ns + 1, sizeof *v), *e = calloc(nh * ns + 1, sizeof *e);
    if (!cats || !v || !e)
        goto out;
    for (size_t k = 0; k < nh; k++) {
        const struct kb_report_headline *h = &m->headline[p->rows[k]];
        cats[k] = panel_category(p, m, p->rows[k]);
        const struct kb_report_stat *st[4] = { &h->unprotected, &h->correct_key, &h->plain,
                                               &h->wrong_key };
        for (size_t s = 0; s < ns; s++) {
            v[k * ns + s] = st[s + off]->n ? pct(st[s + off]->mean) : NAN;
            e[k * ns + s] = st[s + off]->n > 1 ? pct(st[s + off]->std) : NAN;
        }
    }
    char id[48], title[600];
    snprintf(id, sizeof id, "acc-%s", p->id);
    panel_title(title, sizeof title, p, m, "Test accuracy by transform and condition");
    struct kb_svg_bars c = {
        .f = accuracy_frame(m, id, title),
        .categories = cats, .n_categories = nh, .series = series + off, .n_series = ns,
        .values = v, .errors = e,
    };
    figure_open(f, id);
    kb_svg_bar_chart(f, &c);
    figure_close(f, last ? bars_caption : NULL);
out:
    free(cats), free(v), free(e);
}

/* The wrong-key series of a group (every key of every seed), or NULL. */
static const struct kb_report_series *wrong_key_series(const struct kb_report *m, size_t g)
{
    for (size_t s = 0; s < m->n_series; s++) {
        const struct kb_report_series *se = &m->series[s];
        if (se->kind == KB_REPORT_SERIES_WRONG_KEY && se->group == g &&
            !strcmp(se->name, "wrong_key") && !*se->variant && se->n > 0)
            return se;
    }
    return NULL;
}

/* One column per keyed headline row of the panel: the accuracy of every wrong key. */
static void wrong_key_strips(FILE *f, const struct kb_report *m, const struct panel *p, bool last)
{
    size_t n = 0, total = 0;
    for (size_t k = 0; k < p->n; k++) {
        const struct kb_report_series *se = wrong_key_series(m, m->headline[p->rows[k]].group);
        total += se ? se->n : 0;
    }
    const char **cats = calloc(p->n + 1, sizeof *cats);
    const double **vals = calloc(p->n + 1, sizeof *vals);
    size_t *nv = calloc(p->n + 1, sizeof *nv);
    double *mark = calloc(p->n + 1, sizeof *mark), *buf = calloc(total + 1, sizeof *buf);
    if (!cats || !vals || !nv || !mark || !buf || total == 0)
        goto out;
    double *y = buf;
    for (size_t k = 0; k < p->n; k++) {
        const struct kb_report_headline *h = &m->headline[p->rows[k]];
        const struct kb_report_series *se = wrong_key_series(m, h->group);
        if (!se)
            continue;
        for (size_t j = 0; j < se->n; j++)
            y[j] = pct(se->y[j]);
        cats[n] = panel_category(p, m, p->rows[k]);
        vals[n] = y;
        nv[n] = se->n;
        mark[n] = h->correct_key.n ? pct(h->correct_key.mean) : NAN;
        y += se->n;
        n++;
    }
    char id[48], title[600];
    snprintf(id, sizeof id, "wk-%s", p->id);
    panel_title(title, sizeof title, p, m, "Accuracy with wrong keys");
    struct kb_svg_strip c = {
        .f = accuracy_frame(m, id, title),
        .categories = cats, .n_categories = n, .values = vals, .n_values = nv,
        .points_label = "one wrong key (every seed)", .marker = mark,
        .marker_label = "correct key (mean over seeds)",
    };
    figure_open(f, id);
    kb_svg_strip_chart(f, &c);
    figure_close(f, last ? strip_caption : NULL);
out:
    free(cats), free(vals), free(nv), free(mark), free(buf);
}

/* The legend name of a series. */
static void series_name(char *out, size_t n, const struct kb_report_series *s)
{
    static const char *const friendly[][2] = {
        { "stolen", "stolen protected model, fine-tuned" },
        { "pretrained", "pretrained plain model, fine-tuned" },
        { "scratch", "trained from scratch" },
        { "whitebox", "white-box PGD (through the transform)" },
        { "plain", "PGD on plain images" },
    };
    const char *name = s->name;
    for (size_t i = 0; i < sizeof friendly / sizeof *friendly; i++)
        if (!strcmp(name, friendly[i][0]))
            name = friendly[i][1];
    snprintf(out, n, "%s%s%s", name, *s->variant ? " " : "", s->variant);
}

/* Styles: the distinct (name, variant) of a kind in sorted order, so one line
 * looks the same in every small multiple. */
struct styles {
    const struct kb_report_series *first[16];
    size_t n;
};

static unsigned style_of(struct styles *st, const struct kb_report_series *s)
{
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->first[i]->name, s->name) && !strcmp(st->first[i]->variant, s->variant))
            return (unsigned)i;
    if (st->n < sizeof st->first / sizeof *st->first)
        st->first[st->n++] = s;
    return (unsigned)(st->n - 1);
}

struct line_kind {
    enum kb_report_series_kind kind;
    const char *id, *title, *x_label, *y_label, *caption;
    bool log_x;
    bool correct_key_line;   /* the group's correct-key accuracy as a reference line */
};

static const struct line_kind line_kinds[] = {
    { KB_REPORT_SERIES_FINE_TUNE, "ft", "Fine-tune attack", "attacker's labelled plain images (log scale)",
      "plain test accuracy (%)",
      "The attacker fine-tunes a model on n labelled plain images: the stolen protected model, "
      "the plain pretrained model, or a fresh model from scratch. Mean over seeds, ± one "
      "standard deviation; the dashed line is the owner's accuracy with the correct key. When "
      "the stolen model's line sits on or below the others, stealing the protected model gives "
      "the attacker nothing that their own images do not.", true, true },
    { KB_REPORT_SERIES_KEY_ESTIMATION, "ke", "Key estimation", "model evaluations",
      "best accuracy so far (%)",
      "The best accuracy an attacker's key search has reached against the number of model "
      "evaluations it spent, one line per seed and search mode; the dashed line is the "
      "accuracy with the correct key. A curve climbing to it means the key can be "
      "estimated.", false, true },
    { KB_REPORT_SERIES_PGD, "pgd", "PGD robustness", "perturbation budget ε (pixel scale 0–1)",
      "robust accuracy (%)",
      "Accuracy under a PGD attack of budget ε, mean over seeds ± one standard deviation: "
      "white-box through the transform with the key, and on plain images.", false, false },
};

/* One small chart per group that has series of this kind. */
static void line_multiples(FILE *f, const struct kb_report *m, const struct line_kind *lk)
{
    /* the attacker's line of interest first: it gets the first (solid, dark) style */
    static const char *const first[] = { "stolen", "whitebox", "" };
    struct styles st = { .n = 0 };
    for (size_t k = 0; k < sizeof first / sizeof *first; k++)
        for (size_t s = 0; s < m->n_series; s++)
            if (m->series[s].kind == lk->kind && (!*first[k] || !strcmp(m->series[s].name, first[k])))
                style_of(&st, &m->series[s]);
    if (st.n == 0)
        return;
    fprintf(f, "<h3>%s</h3>\n<div class=\"multiples\">\n", lk->title);
    struct kb_svg_line *lines = calloc(m->n_series, sizeof *lines);
    char (*names)[200] = calloc(m->n_series, sizeof *names);
    for (size_t g = 0; lines && names && g < m->n_groups; g++) {
        size_t nl = 0, npts = 0;
        for (size_t s = 0; s < m->n_series; s++)
            if (m->series[s].kind == lk->kind && m->series[s].group == g)
                npts += m->series[s].n;
        double *buf = calloc(2 * npts + 1, sizeof *buf), *p = buf;
        if (!buf)
            break;
        for (size_t s = 0; s < m->n_series; s++) {
            const struct kb_report_series *se = &m->series[s];
            if (se->kind != lk->kind || se->group != g)
                continue;
            series_name(names[nl], sizeof names[nl], se);
            struct kb_svg_line *ln = &lines[nl++];
            *ln = (struct kb_svg_line){ names[nl - 1], style_of(&st, se), se->x, p, NULL, se->n };
            for (size_t j = 0; j < se->n; j++)
                p[j] = pct(se->y[j]);
            p += se->n;
            if (se->y_std) {
                ln->err = p;
                for (size_t j = 0; j < se->n; j++)
                    p[j] = pct(se->y_std[j]);
                p += se->n;
            }
        }
        if (nl > 0) {
            char id[48], title[600];
            snprintf(id, sizeof id, "%s-%zu", lk->id, g + 1);
            group_label(title, sizeof title, m, g);
            const struct kb_report_agg *ck =
                lk->correct_key_line ? kb_report_find(m, g, "correct_key", "accuracy", "", "")
                                     : NULL;
            struct kb_svg_lines c = {
                .f = { .id = id, .title = title, .x_label = lk->x_label, .y_label = lk->y_label,
                       .width = 460, .height = 300, .y_min = 0, .y_max = 100,
                       .ref_y = ck && ck->stat.n ? pct(ck->stat.mean) : NAN,
                       .ref_label = "correct key", .unit = "%" },
                .lines = lines, .n_lines = nl, .log_x = lk->log_x,
            };
            kb_svg_line_chart(f, &c);
        }
        free(buf);
    }
    free(lines);
    free(names);
    fputs("</div>\n<p class=\"note\">", f);
    esc(f, lk->caption);
    fputs("</p>\n", f);
}

static void charts(FILE *f, const struct kb_report *m)
{
    fputs("<section id=\"charts\"><h2>Charts</h2>\n", f);
    struct panel *p;
    size_t np = panels_build(&p, m);
    if (np > 0)
        fputs("<h3>Accuracy by condition</h3>\n", f);
    for (size_t i = 0; i < np; i++)
        accuracy_bars(f, m, &p[i], i + 1 == np);
    bool wk = false;
    for (size_t g = 0; g < m->n_groups && !wk; g++)
        wk = wrong_key_series(m, g) != NULL;
    if (np > 0 && wk)
        fputs("<h3>Wrong keys</h3>\n", f);
    for (size_t i = 0; i < np; i++)
        wrong_key_strips(f, m, &p[i], i + 1 == np);
    panels_free(p, np);
    for (size_t i = 0; i < sizeof line_kinds / sizeof *line_kinds; i++)
        line_multiples(f, m, &line_kinds[i]);
    fputs("</section>\n", f);
}

/* ------------------------------------------------------------------ sample grids */

/* The bytes of a PNG file as a data URI, or -1 with the reason in `why`. */
static int png_data_uri(FILE *f, const char *path, char *why, size_t nwhy)
{
    uint8_t *data = NULL;
    size_t size = 0;
    struct kb_error err = {0};
    if (kb_file_read_all(path, SAMPLES_MAX_BYTES, &data, &size, &err) < 0) {
        snprintf(why, nwhy, "%s", err.msg);
        return -1;
    }
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    if (size < 8 || memcmp(data, sig, 8)) {
        snprintf(why, nwhy, "%s: not a PNG file", path);
        free(data);
        return -1;
    }
    size_t n64 = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(n64);
    if (!b64) {
        snprintf(why, nwhy, "%s: out of memory", path);
        free(data);
        return -1;
    }
    sodium_bin2base64(b64, n64, data, size, sodium_base64_VARIANT_ORIGINAL);
    fputs("data:image/png;base64,", f);
    fputs(b64, f);
    free(b64);
    free(data);
    return 0;
}

/* A group's grid: its first cell (lowest seed) that left a samples.png. */
static void group_samples(FILE *f, const struct kb_report *m, size_t g)
{
    const struct kb_report_group *gr = &m->groups[g];
    char label[600], path[4200], why[KB_ERROR_MAX] = "";
    group_label(label, sizeof label, m, g);
    fputs("<figure class=\"sample\">", f);
    bool shown = false;
    for (size_t k = 0; k < gr->n_cells && !shown; k++) {
        const struct kb_report_cell *c = &m->cells[gr->cells[k]];
        if (!kb_report_safe_id(c->id)) { /* a hostile id must not embed a file from elsewhere */
            if (!*why)
                snprintf(why, sizeof why, "the cell id is not a plain name");
            continue;
        }
        snprintf(path, sizeof path, "%s/cells/%s/samples.png", m->runs[c->run].dir, c->id);
        char *uri = NULL;
        size_t len = 0;
        FILE *u = open_memstream(&uri, &len);
        if (!u)
            break;
        char why_here[KB_ERROR_MAX];
        int rc = png_data_uri(u, path, why_here, sizeof why_here);
        if (rc < 0 && !*why)
            snprintf(why, sizeof why, "%s", why_here); /* the lowest seed's reason */
        fclose(u);
        if (rc == 0) {
            fputs("<img alt=\"sample images of ", f);
            esc(f, label);
            fprintf(f, "\" src=\"%s\">", uri);
            fputs("<figcaption><b>", f);
            esc(f, label);
            fprintf(f, "</b> · seed %lld · key fingerprint <code>", c->seed);
            esc(f, c->key_fingerprint);
            fputs("</code></figcaption>", f);
            shown = true;
        }
        free(uri);
    }
    if (!shown) {
        fputs("<figcaption><b>", f);
        esc(f, label);
        fputs("</b></figcaption><p class=\"missing\">No sample images: ", f);
        esc(f, gr->n_cells ? why : "the group has no cell");
        fputs("</p>", f);
    }
    fputs("</figure>\n", f);
}

/* How many groups have a cell with a samples.png. */
static size_t groups_with_samples(const struct kb_report *m)
{
    size_t n = 0;
    char path[4200];
    for (size_t g = 0; g < m->n_groups; g++) {
        bool any = false;
        for (size_t k = 0; k < m->groups[g].n_cells && !any; k++) {
            const struct kb_report_cell *c = &m->cells[m->groups[g].cells[k]];
            snprintf(path, sizeof path, "%s/cells/%s/samples.png", m->runs[c->run].dir, c->id);
            any = kb_report_safe_id(c->id) && access(path, R_OK) == 0;
        }
        n += any;
    }
    return n;
}

static void samples(FILE *f, const struct kb_report *m)
{
    fputs("<section id=\"samples\"><h2>Sample images</h2>\n", f);
    if (groups_with_samples(m) == 0) {
        fputs("<p class=\"missing\">No sample images: no cell of this report left a "
              "cells/&lt;id&gt;/samples.png (the runner writes one after a cell's evaluate stage; "
              "runs made before it did have none).</p></section>\n", f);
        return;
    }
    fputs("<p class=\"note\">For each transform, eight test images (one per class) as the runner "
          "left them in the run directory (cells/&lt;id&gt;/samples.png). Top row: the images; "
          "middle row: encrypted with the cell's key (the model's input, shown as round(x · 255)); "
          "bottom row (keyed transforms only): encrypted with the cell's key, then decrypted with "
          "a random wrong key. Keys are identified by their fingerprint only.</p>\n"
          "<div class=\"samples\">\n", f);
    for (size_t g = 0; g < m->n_groups; g++)
        group_samples(f, m, g);
    fputs("</div></section>\n", f);
}

/* ------------------------------------------------------------------ page */

static void plan_details(FILE *f, const struct kb_report *m)
{
    for (size_t r = 0; r < m->n_runs; r++) {
        if (!m->runs[r].plan)
            continue;
        char *text = json_dumps(m->runs[r].plan, JSON_INDENT(1) | JSON_SORT_KEYS);
        if (!text)
            continue;
        size_t len = strlen(text);
        if (len > PLAN_MAX_CHARS) {
            /* cut at a character boundary: UTF-8 continuation bytes are 10xxxxxx */
            len = PLAN_MAX_CHARS;
            while (len && ((unsigned char)text[len] & 0xC0) == 0x80)
                len--;
        }
        fputs("<details><summary>The expanded spec (plan.json) of ", f);
        esc(f, m->runs[r].name);
        fputs("</summary><pre>", f);
        char keep = text[len];
        text[len] = '\0';
        esc(f, text);
        text[len] = keep;
        if (text[len])
            fprintf(f, "\n… (%zu more characters: see plan.json)", strlen(text + len));
        fputs("</pre></details>\n", f);
        free(text);
    }
}

static void page_head(FILE *f, const struct kb_report *m)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"keybench ", f);
    esc(f, kb_version());
    fputs("\">\n<title>keybench report: ", f);
    for (size_t r = 0; r < m->n_runs; r++) {
        fputs(r ? ", " : "", f);
        esc(f, m->runs[r].name);
    }
    fprintf(f, "</title>\n<style>%s</style>\n</head><body>\n<header><h1>keybench report: ", css);
    for (size_t r = 0; r < m->n_runs; r++) {
        fputs(r ? ", " : "", f);
        esc(f, m->runs[r].name);
    }
    fputs("</h1>\n<p class=\"note\">Derived from the run directories' journals by "
          "<code>keybench report</code> (docs/reports.md). Accuracies in %; mean ± standard "
          "deviation over seeds.</p>\n<nav><ol><li><a href=\"#headline\">Headline</a></li>"
          "<li><a href=\"#charts\">Charts</a></li><li><a href=\"#samples\">Sample images</a></li>"
          "<li><a href=\"#details\">Attacks, per class, comparison</a></li>"
          "<li><a href=\"#failed\">Failed cells</a></li>"
          "<li><a href=\"#provenance\">Provenance</a></li></ol></nav></header>\n", f);
}

int kb_report_write_html(const struct kb_report *m, const char *out_dir, struct kb_error *err)
{
    if (sodium_init() < 0)
        return kb_error_set(err, "%s/report.html: libsodium failed to initialise", out_dir);
    struct kb_tables ts;
    kb_tables_build(&ts, m);
    char *buf;
    size_t len;
    FILE *f = kb_report_open(&buf, &len);
    page_head(f, m);
    fputs("<main>\n<section id=\"headline\"><h2>Headline</h2>\n", f);
    if (tables_with(f, &ts, "headline") == 0)
        fputs("<p class=\"missing\">No measurements yet.</p>\n", f);
    fputs("</section>\n", f);
    charts(f, m);
    samples(f, m);
    fputs("<section id=\"details\"><h2>Attacks, per class, comparison</h2>\n", f);
    if (tables_with(f, &ts, "attacks") + tables_with(f, &ts, "per-class") +
        tables_with(f, &ts, "compare") == 0)
        fputs("<p class=\"note\">No attack, per-class or comparison results.</p>\n", f);
    fputs("</section>\n<section id=\"failed\"><h2>Failed cells</h2>\n", f);
    if (tables_with(f, &ts, "failed") == 0)
        fputs("<p class=\"note\">No failed cells.</p>\n", f);
    fputs("</section>\n<section id=\"provenance\"><h2>Provenance</h2>\n", f);
    tables_with(f, &ts, "provenance");
    plan_details(f, m);
    fputs("</section>\n</main>\n</body></html>\n", f);
    kb_tables_free(&ts);
    return kb_report_close_save(f, &buf, &len, out_dir, "report.html", err);
}
