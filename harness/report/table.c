/* The tables of report.md and report.tex (and any format that wants them):
 * built once from the model, rendered by each format's writer. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/report.h>
#include "report_internal.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        kb_report_oom();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        kb_report_oom();
    return p;
}

static struct kb_table *table_new(struct kb_tables *ts, const char *id, const char *title,
                                  const char *caption, size_t n_cols)
{
    struct kb_table *t = kb_report_push(&ts->v, &ts->n, &ts->cap, sizeof *t);
    t->id = xstrdup(id);
    t->title = xstrdup(title);
    t->caption = xstrdup(caption);
    t->n_cols = n_cols;
    t->head = xcalloc(n_cols, sizeof *t->head);
    t->numeric = xcalloc(n_cols, sizeof *t->numeric);
    return t;
}

static struct kb_tcell *row_new(struct kb_table *t)
{
    if (t->n_rows == t->cap_rows) {
        t->cap_rows = t->cap_rows ? 2 * t->cap_rows : 16;
        struct kb_tcell *c = realloc(t->cells, t->cap_rows * t->n_cols * sizeof *c);
        if (!c)
            kb_report_oom();
        t->cells = c;
    }
    struct kb_tcell *r = &t->cells[t->n_rows++ * t->n_cols];
    memset(r, 0, t->n_cols * sizeof *r);
    return r;
}

static void text_cell(struct kb_tcell *c, const char *s)
{
    c->kind = KB_TCELL_TEXT;
    c->text = xstrdup(s);
}

static void stat_cell(struct kb_tcell *c, const struct kb_report_stat *s, bool fraction,
                      const char *note)
{
    c->kind = KB_TCELL_STAT;
    c->stat = *s;
    c->fraction = fraction;
    c->text = xstrdup(note);
}

static void head(struct kb_table *t, size_t col, const char *s, bool numeric)
{
    t->head[col] = xstrdup(s);
    t->numeric[col] = numeric;
}

/* The row-label columns: the varying non-seed axes, or one "cell" column. */
struct labels {
    size_t idx[64], n;
};

static void label_heads(const struct kb_report *m, struct kb_table *t, const struct labels *l,
                        size_t first)
{
    if (l->n == 0) {
        head(t, first, "cell", false);
        return;
    }
    for (size_t k = 0; k < l->n; k++) {
        char title[300];
        kb_report_axis_title(title, sizeof title, m->axes[l->idx[k]].path);
        head(t, first + k, title, false);
    }
}

static size_t label_cells(const struct labels *l, const struct kb_report_group *g,
                          struct kb_tcell *row)
{
    if (l->n == 0) {
        text_cell(&row[0], g->label);
        return 1;
    }
    for (size_t k = 0; k < l->n; k++)
        text_cell(&row[k], g->axis_values[l->idx[k]]);
    return l->n;
}

static size_t n_label_cols(const struct labels *l)
{
    return l->n ? l->n : 1;
}

/* ------------------------------------------------------------------ headline */

static void headline_tables(const struct kb_report *m, struct kb_tables *ts, const struct labels *l)
{
    bool ke = false, ft = false;
    for (size_t i = 0; i < m->n_headline; i++) {
        ke |= m->headline[i].key_estimation.n > 0;
        ft |= m->headline[i].fine_tune.n > 0;
    }
    size_t nl = n_label_cols(l), nc = nl + 4 + ke + ft;
    for (size_t r = 0; r < m->n_runs; r++) {
        char id[64], title[600];
        snprintf(id, sizeof id, m->n_runs > 1 ? "headline-%zu" : "headline", r + 1);
        snprintf(title, sizeof title, "Accuracy (%%) on the test split: %s", m->runs[r].name);
        struct kb_table *t = table_new(ts, id, title,
            "Mean ± std over seeds (a single value: one seed). Unprotected: the model fine-tuned "
            "on plain images (transform none, same other axes). Wrong key: pooled over every key "
            "and seed. Key estimation: the best mode's test accuracy with the estimated key. "
            "Fine-tune attack: the stolen model fine-tuned on n plain images, at the largest n.",
            nc);
        label_heads(m, t, l, 0);
        head(t, nl, "unprotected", true);
        head(t, nl + 1, "correct key", true);
        head(t, nl + 2, "plain", true);
        head(t, nl + 3, "wrong key", true);
        if (ke)
            head(t, nl + 4, "key estimation", true);
        if (ft)
            head(t, nl + 4 + ke, "fine-tune attack", true);
        for (size_t i = 0; i < m->n_headline; i++) {
            const struct kb_report_headline *h = &m->headline[i];
            const struct kb_report_group *g = &m->groups[h->group];
            if (g->run != r)
                continue;
            struct kb_tcell *row = row_new(t);
            size_t c = label_cells(l, g, row);
            stat_cell(&row[c++], &h->unprotected, true, "");
            stat_cell(&row[c++], &h->correct_key, true, "");
            stat_cell(&row[c++], &h->plain, true, "");
            stat_cell(&row[c++], &h->wrong_key, true, "");
            if (ke)
                stat_cell(&row[c++], &h->key_estimation, true, h->key_estimation_mode);
            if (ft) {
                char note[64] = "";
                if (h->fine_tune.n)
                    snprintf(note, sizeof note, "n=%lld", h->fine_tune_n);
                stat_cell(&row[c++], &h->fine_tune, true, note);
            }
        }
    }
}

/* ------------------------------------------------------------------ attacks */

static void attack_table(const struct kb_report *m, struct kb_tables *ts, const struct labels *l)
{
    bool any = false;
    for (size_t i = 0; i < m->n_aggs && !any; i++)
        any = !strncmp(m->aggs[i].condition, "attack:", 7) && !*m->aggs[i].class_name;
    if (!any)
        return;
    size_t nl = n_label_cols(l), multi = m->n_runs > 1, nc = multi + nl + 5;
    struct kb_table *t = table_new(ts, "attacks", "Attacks",
        "Every attack metric, mean ± std over seeds (accuracies, agreements and advantages in "
        "%); seeds: how many seeds are behind it. docs/attacks.md defines each metric.", nc);
    if (multi)
        head(t, 0, "run", false);
    label_heads(m, t, l, multi);
    head(t, multi + nl, "attack", false);
    head(t, multi + nl + 1, "metric", false);
    head(t, multi + nl + 2, "variant", false);
    head(t, multi + nl + 3, "value", true);
    head(t, multi + nl + 4, "seeds", true);
    for (size_t i = 0; i < m->n_aggs; i++) {
        const struct kb_report_agg *a = &m->aggs[i];
        if (strncmp(a->condition, "attack:", 7) || *a->class_name)
            continue;
        const struct kb_report_group *g = &m->groups[a->group];
        struct kb_tcell *row = row_new(t);
        size_t c = 0;
        if (multi)
            text_cell(&row[c++], m->runs[g->run].name);
        c += label_cells(l, g, row + c);
        text_cell(&row[c++], a->condition + 7);
        text_cell(&row[c++], a->metric);
        text_cell(&row[c++], a->variant);
        stat_cell(&row[c++], !strcmp(a->condition, "attack:wrong_key") ? &a->pooled : &a->stat,
                  kb_report_metric_is_fraction(a->metric), "");
        char n[32];
        snprintf(n, sizeof n, "%zu", a->stat.n);
        text_cell(&row[c++], n);
    }
}

/* ------------------------------------------------------------------ per class */

/* With more classes than this, the per-class table shows each group's lowest
 * and highest class instead of a column per class (results.csv has them all). */
#define CLASS_COLUMNS_MAX 16

/* A class and its place: the dataset's label (the records' class_index; runs
 * made before it was journaled have none and sort after, by name). */
struct class_order {
    json_int_t index;
    const char *name;
};

static int cmp_class_order(const void *pa, const void *pb)
{
    const struct class_order *x = pa, *y = pb;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return kb_report_cmp_class(x->name, y->name);
}

/* Each class name's smallest class_index over the correct-key records. */
static json_t *class_indices(const struct kb_report *m)
{
    json_t *idx = json_object(), *r;
    size_t i;
    json_array_foreach(m->records, i, r) {
        const char *cls = json_string_value(json_object_get(r, "class"));
        const char *cond = json_string_value(json_object_get(r, "condition"));
        json_t *ci = json_object_get(r, "class_index");
        if (!cls || !cond || strcmp(cond, "correct_key") || !json_is_integer(ci) ||
            json_integer_value(ci) < 0)
            continue;
        json_t *have = json_object_get(idx, cls);
        if (!have || json_integer_value(ci) < json_integer_value(have))
            json_object_set_new_nocheck(idx, cls, json_integer(json_integer_value(ci)));
    }
    return idx;
}

/* Every class with a correct-key class accuracy, in the dataset's class order. */
static const char **class_names(const struct kb_report *m, size_t *n)
{
    const char **classes = xcalloc(m->n_aggs, sizeof *classes);
    json_t *seen = json_object();
    *n = 0;
    for (size_t i = 0; i < m->n_aggs; i++) {
        const struct kb_report_agg *a = &m->aggs[i];
        if (!*a->class_name || strcmp(a->condition, "correct_key") ||
            json_object_get(seen, a->class_name))
            continue;
        json_object_set_new(seen, a->class_name, json_true());
        classes[(*n)++] = a->class_name;
    }
    json_decref(seen);
    json_t *idx = class_indices(m);
    struct class_order *order = xcalloc(*n ? *n : 1, sizeof *order);
    for (size_t i = 0; i < *n; i++) {
        json_t *ci = json_object_get(idx, classes[i]);
        order[i] = (struct class_order){ ci ? json_integer_value(ci) : LLONG_MAX, classes[i] };
    }
    qsort(order, *n, sizeof *order, cmp_class_order);
    for (size_t i = 0; i < *n; i++)
        classes[i] = order[i].name;
    free(order);
    json_decref(idx);
    return classes;
}

/* The lowest and highest class (by mean) of group g, or false when it has none. */
static bool class_extremes(const struct kb_report *m, size_t g, const struct kb_report_agg **lo,
                           const struct kb_report_agg **hi)
{
    *lo = *hi = NULL;
    size_t first, end;
    kb_report_group_aggs(m, g, &first, &end);
    for (size_t i = first; i < end; i++) {
        const struct kb_report_agg *a = &m->aggs[i];
        if (!*a->class_name || strcmp(a->condition, "correct_key") || !a->stat.n)
            continue;
        if (!*lo || a->stat.mean < (*lo)->stat.mean)
            *lo = a;
        if (!*hi || a->stat.mean > (*hi)->stat.mean)
            *hi = a;
    }
    return *lo != NULL;
}

static void class_table(const struct kb_report *m, struct kb_tables *ts, const struct labels *l)
{
    size_t nclass;
    const char **classes = class_names(m, &nclass);
    if (nclass == 0) {
        free(classes);
        return;
    }
    bool wide = nclass > CLASS_COLUMNS_MAX;
    size_t nl = n_label_cols(l), multi = m->n_runs > 1, nv = wide ? 2 : nclass;
    struct kb_table *t = table_new(ts, "per-class", "Per-class accuracy (%) with the correct key",
        wide ? "Test accuracy of each group's lowest and highest class (of many: results.csv "
               "has every class) with the correct key, mean ± std over seeds."
             : "Test accuracy of each class with the correct key, mean ± std over seeds.",
        multi + nl + nv);
    if (multi)
        head(t, 0, "run", false);
    label_heads(m, t, l, multi);
    for (size_t k = 0; k < nv; k++)
        head(t, multi + nl + k, wide ? (k ? "highest class" : "lowest class") : classes[k], true);
    for (size_t g = 0; g < m->n_groups; g++) {
        const struct kb_report_agg *lo, *hi;
        if (!class_extremes(m, g, &lo, &hi))
            continue;
        struct kb_tcell *row = row_new(t);
        size_t c = 0;
        if (multi)
            text_cell(&row[c++], m->runs[m->groups[g].run].name);
        c += label_cells(l, &m->groups[g], row + c);
        if (wide) {
            stat_cell(&row[c++], &lo->stat, true, lo->class_name);
            stat_cell(&row[c++], &hi->stat, true, hi->class_name);
            continue;
        }
        for (size_t k = 0; k < nclass; k++) {
            const struct kb_report_agg *a =
                kb_report_find(m, g, "correct_key", "class_accuracy", "", classes[k]);
            struct kb_report_stat none = { NAN, NAN, NAN, NAN, 0, NAN, NAN, 0 };
            stat_cell(&row[c++], a ? &a->stat : &none, true, "");
        }
    }
    free(classes);
}

/* ------------------------------------------------------------------ comparison */

static void compare_table(const struct kb_report *m, struct kb_tables *ts, const struct labels *l)
{
    if (m->n_runs < 2 || m->n_compare == 0)
        return;
    size_t nl = n_label_cols(l), nc = nl + 3 + m->n_runs + 1;
    struct kb_table *t = table_new(ts, "compare", "Runs compared",
        "One row per axis tuple, condition, metric and variant; a value per run (mean ± std over "
        "seeds). Bold: differs from the first run by more than the noise: |Δmean| > "
        "sqrt(std1² + std2²) with two seeds or more in both runs, else non-overlapping 95% "
        "Wilson intervals; ?: cannot be judged (one seed, no interval); –: absent.", nc);
    label_heads(m, t, l, 0);
    head(t, nl, "condition", false);
    head(t, nl + 1, "metric", false);
    head(t, nl + 2, "variant", false);
    for (size_t r = 0; r < m->n_runs; r++)
        head(t, nl + 3 + r, m->runs[r].name, true);
    head(t, nc - 1, "differs", false);
    for (size_t i = 0; i < m->n_compare; i++) {
        const struct kb_report_compare_row *cr = &m->compare[i];
        struct kb_tcell *row = row_new(t);
        size_t c = 0;
        if (l->n == 0)
            text_cell(&row[c++], cr->label);
        for (size_t k = 0; k < l->n; k++)
            text_cell(&row[c++], cr->axis_values[l->idx[k]]);
        text_cell(&row[c++], cr->condition);
        text_cell(&row[c++], cr->metric);
        text_cell(&row[c++], cr->variant);
        for (size_t r = 0; r < m->n_runs; r++) {
            stat_cell(&row[c], &cr->per_run[r], kb_report_metric_is_fraction(cr->metric),
                      cr->diff[r] == KB_REPORT_UNJUDGED ? "?" : "");
            row[c++].bold = cr->diff[r] == KB_REPORT_DIFFERS;
        }
        text_cell(&row[c++], cr->differs ? "yes" : "");
    }
}

/* ------------------------------------------------------------------ failed cells, provenance */

static void failed_table(const struct kb_report *m, struct kb_tables *ts)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_cells; i++)
        n += !strcmp(m->cells[i].status, "failed");
    if (n == 0)
        return;
    size_t multi = m->n_runs > 1;
    struct kb_table *t = table_new(ts, "failed", "Failed cells",
        "Cells whose status is failed (cells/<id>/status), with their error.", multi + 2);
    if (multi)
        head(t, 0, "run", false);
    head(t, multi, "cell", false);
    head(t, multi + 1, "error", false);
    for (size_t i = 0; i < m->n_cells; i++) {
        const struct kb_report_cell *c = &m->cells[i];
        if (strcmp(c->status, "failed"))
            continue;
        struct kb_tcell *row = row_new(t);
        if (multi)
            text_cell(&row[0], m->runs[c->run].name);
        text_cell(&row[multi], c->name);
        text_cell(&row[multi + 1], c->error);
    }
}

static void provenance_tables(const struct kb_report *m, struct kb_tables *ts)
{
    for (size_t r = 0; r < m->n_runs; r++) {
        const struct kb_report_run *run = &m->runs[r];
        char id[64], title[600], cells[128];
        snprintf(id, sizeof id, m->n_runs > 1 ? "provenance-%zu" : "provenance", r + 1);
        snprintf(title, sizeof title, "Provenance: %s", run->name);
        struct kb_table *t = table_new(ts, id, title,
            "What produced the numbers (from the journal records and plan.json).", 2);
        t->provenance = true;
        head(t, 0, "", false);
        head(t, 1, "", false);
        struct kb_tcell *row = row_new(t);
        text_cell(&row[0], "run directory");
        text_cell(&row[1], run->dir);
        row = row_new(t);
        snprintf(cells, sizeof cells, "%zu (%zu done, %zu failed), %zu measurements", run->n_cells,
                 run->n_done, run->n_failed, run->n_records);
        text_cell(&row[0], "cells");
        text_cell(&row[1], cells);
        for (size_t k = 0; k < run->n_prov; k++) {
            row = row_new(t);
            text_cell(&row[0], run->prov[k].key);
            text_cell(&row[1], run->prov[k].value);
        }
    }
}

void kb_tables_build(struct kb_tables *ts, const struct kb_report *m)
{
    memset(ts, 0, sizeof *ts);
    struct labels l;
    l.n = kb_report_label_axes(m, l.idx, sizeof l.idx / sizeof *l.idx);
    headline_tables(m, ts, &l);
    attack_table(m, ts, &l);
    class_table(m, ts, &l);
    compare_table(m, ts, &l);
    failed_table(m, ts);
    provenance_tables(m, ts);
}

void kb_tables_free(struct kb_tables *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        struct kb_table *t = &ts->v[i];
        for (size_t k = 0; k < t->n_rows * t->n_cols; k++)
            free((char *)t->cells[k].text);
        for (size_t k = 0; k < t->n_cols; k++)
            free((char *)t->head[k]);
        free(t->cells), free(t->head), free(t->numeric);
        free((char *)t->id), free((char *)t->title), free((char *)t->caption);
    }
    free(ts->v);
    memset(ts, 0, sizeof *ts);
}
