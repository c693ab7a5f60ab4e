/* results.csv (tidy) and summary.csv (wide), from the report model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/report.h>
#include "report_internal.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The axis paths, sorted (the axis:<path> columns). */
static const char **sorted_axes(const struct kb_report *m)
{
    const char **v = calloc(m->n_axes ? m->n_axes : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t k = 0; k < m->n_axes; k++)
        v[k] = m->axes[k].path;
    qsort(v, m->n_axes, sizeof *v, cmp_str);
    return v;
}

static void field(FILE *f, const char *s, bool first)
{
    if (!first)
        fputc(',', f);
    kb_report_csv_field(f, s);
}

static void json_field(FILE *f, const json_t *v)
{
    char t[2048];
    kb_report_scalar_text(t, sizeof t, v);
    field(f, t, false);
}

/* ",axis:PATH" per axis, each quoted as one field when it needs it. */
static void axis_heads(FILE *f, const char **axes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char head[600];
        snprintf(head, sizeof head, "axis:%s", axes[i]);
        field(f, head, false);
    }
}

static const char *const fixed_cols[] = {
    "run_dir", "cell", "cell_name", "dataset", "backbone", "transform", "seed", "key_fingerprint",
    "condition", "metric", "class", "variant", "value", "n", "ci_low", "ci_high", "std", "min", "max",
    "trials", "wall_s"
};
static const char *const prov_cols[] = {
    "keybench_version", "git", "git_dirty", "compiler", "openblas", "blas_threads",
    "engine_threads"
};
#define COUNT(a) (sizeof(a) / sizeof *(a))

static int write_results(const struct kb_report *m, const char *out_dir, struct kb_error *err)
{
    const char **axes = sorted_axes(m);
    if (!axes)
        return kb_error_set(err, "out of memory");
    char *buf;
    size_t len;
    FILE *f = kb_report_open(&buf, &len);
    for (size_t i = 0; i < COUNT(fixed_cols); i++)
        field(f, fixed_cols[i], i == 0);
    axis_heads(f, axes, m->n_axes);
    for (size_t i = 0; i < COUNT(prov_cols); i++)
        field(f, prov_cols[i], false);
    field(f, "spec_hash", false);
    fputc('\n', f);
    size_t i;
    json_t *rec;
    json_array_foreach(m->records, i, rec) {
        for (size_t c = 0; c < COUNT(fixed_cols); c++) {
            char t[2048];
            kb_report_scalar_text(t, sizeof t, json_object_get(rec, fixed_cols[c]));
            field(f, t, c == 0);
        }
        for (size_t c = 0; c < m->n_axes; c++)
            json_field(f, json_object_get(json_object_get(rec, "axes"), axes[c]));
        const json_t *prov = json_object_get(rec, "provenance");
        for (size_t c = 0; c < COUNT(prov_cols); c++)
            json_field(f, json_object_get(prov, prov_cols[c]));
        json_field(f, json_object_get(rec, "spec_hash"));
        fputc('\n', f);
    }
    free(axes);
    return kb_report_close_save(f, &buf, &len, out_dir, "results.csv", err);
}

/* ------------------------------------------------------------------ summary.csv */

/* One summary row: a cell that has measurements. */
struct srow {
    size_t cell;
    const json_t **vals;   /* one per value column; NULL when absent */
};

/* The value columns after the fixed ones: every condition × metric × variant
 * of the attacks (no class), in the order of the aggregates. */
static json_t *attack_columns(const struct kb_report *m)
{
    json_t *cols = json_array(), *seen = json_object();
    for (size_t i = 0; i < m->n_aggs; i++) {
        const struct kb_report_agg *a = &m->aggs[i];
        if (*a->class_name || strncmp(a->condition, "attack:", 7))
            continue;
        char name[600];
        snprintf(name, sizeof name, "%s/%s%s%s", a->condition, a->metric, *a->variant ? "/" : "",
                 a->variant);
        if (!json_object_get(seen, name)) {
            json_object_set_new(seen, name, json_true());
            json_array_append_new(cols, json_string(name));
        }
    }
    json_decref(seen);
    return cols;
}

static void num_field(FILE *f, double v)
{
    fputc(',', f);
    if (!isnan(v))
        fprintf(f, "%.6f", v);
}

static double rec_num(const json_t *rec, const char *k)
{
    const json_t *v = json_object_get(rec, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The record of a cell × condition × metric × variant (no class), or NULL. */
struct cell_recs {
    json_t *by_key;   /* "cell\x1fcondition/metric[/variant]" -> record (borrowed) */
};

static const json_t *cell_rec(const struct cell_recs *cr, size_t cell, const char *col)
{
    char key[700];
    snprintf(key, sizeof key, "%zu\x1f%s", cell, col);
    return json_object_get(cr->by_key, key);
}

/* The correct-key accuracy of a cell's unprotected twin: the cell with the
 * same seed in its group's `none` group. */
static double unprotected(const struct kb_report *m, const struct cell_recs *cr, size_t cell)
{
    const struct kb_report_cell *c = &m->cells[cell];
    size_t ug = kb_report_unprotected_group(m, c->group);
    if (ug == SIZE_MAX)
        return NAN;
    const struct kb_report_group *g = &m->groups[ug];
    for (size_t i = 0; i < g->n_cells; i++)
        if (m->cells[g->cells[i]].seed == c->seed)
            return rec_num(cell_rec(cr, g->cells[i], "correct_key/accuracy"), "value");
    return NAN;
}

static int write_summary(const struct kb_report *m, const char *out_dir, struct kb_error *err)
{
    const char **axes = sorted_axes(m);
    if (!axes)
        return kb_error_set(err, "out of memory");
    json_t *cols = attack_columns(m);
    struct cell_recs cr = { json_object() };
    bool *has = calloc(m->n_cells ? m->n_cells : 1, sizeof *has);
    size_t *order = calloc(m->n_cells ? m->n_cells : 1, sizeof *order), n_order = 0;
    if (!has || !order) {
        free(has), free(order), free(axes);
        json_decref(cols), json_decref(cr.by_key);
        return kb_error_set(err, "out of memory");
    }
    size_t i;
    json_t *rec;
    json_array_foreach(m->records, i, rec) {
        if (*kb_report_str(rec, "class"))
            continue;
        size_t c = kb_report_record_cell(m, rec);
        if (!has[c])
            order[n_order++] = c;   /* rows in the records' order: run, cell name */
        has[c] = true;
        const char *variant = kb_report_str(rec, "variant");
        char key[700];
        snprintf(key, sizeof key, "%zu\x1f%s/%s%s%s", c, kb_report_str(rec, "condition"),
                 kb_report_str(rec, "metric"), *variant ? "/" : "", variant);
        json_object_set(cr.by_key, key, rec);
    }
    char *buf;
    size_t len;
    FILE *f = kb_report_open(&buf, &len);
    fputs("run_dir,cell,cell_name,transform,unprotected,correct_key,plain,wrong_key_mean,"
          "wrong_key_std,seed,key_fingerprint,status", f);
    axis_heads(f, axes, m->n_axes);
    size_t ci;
    json_t *col;
    json_array_foreach(cols, ci, col) field(f, json_string_value(col), false);
    fputc('\n', f);
    for (size_t r = 0; r < n_order; r++) {
        size_t c = order[r];
        const struct kb_report_cell *cell = &m->cells[c];
        field(f, m->runs[cell->run].dir, true);
        field(f, cell->id, false);
        field(f, cell->name, false);
        field(f, cell->transform, false);
        num_field(f, unprotected(m, &cr, c));
        num_field(f, rec_num(cell_rec(&cr, c, "correct_key/accuracy"), "value"));
        num_field(f, rec_num(cell_rec(&cr, c, "plain/accuracy"), "value"));
        const json_t *wk = cell_rec(&cr, c, "wrong_key/accuracy");
        num_field(f, rec_num(wk, "value"));
        num_field(f, rec_num(wk, "std"));
        fprintf(f, ",%lld", cell->seed);
        field(f, cell->key_fingerprint, false);
        field(f, cell->status, false);
        for (size_t k = 0; k < m->n_axes; k++) {
            size_t ax = 0;
            while (strcmp(m->axes[ax].path, axes[k]))
                ax++;
            field(f, cell->axis_values[ax], false);
        }
        json_array_foreach(cols, ci, col) {
            const json_t *v = json_object_get(cell_rec(&cr, c, json_string_value(col)), "value");
            json_field(f, v);
        }
        fputc('\n', f);
    }
    free(has), free(order), free(axes);
    json_decref(cols), json_decref(cr.by_key);
    return kb_report_close_save(f, &buf, &len, out_dir, "summary.csv", err);
}

int kb_report_write_csv(const struct kb_report *m, const char *out_dir, struct kb_error *err)
{
    if (write_results(m, out_dir, err) < 0)
        return -1;
    return write_summary(m, out_dir, err);
}
