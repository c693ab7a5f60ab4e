/* results.csv and summary.csv, derived from journals only; the summary table. */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/journal.h>
#include <keybench/report.h>
#include <keybench/runner.h>
#include "run_internal.h"

static const char *str_of(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int condition_rank(const char *c)
{
    static const char *const order[] = { "correct_key", "plain", "wrong_key" };
    for (int i = 0; i < 3; i++)
        if (!strcmp(c, order[i]))
            return i;
    return 3;
}

static int cmp_records(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t rx = json_integer_value(json_object_get(x, "run_index"));
    json_int_t ry = json_integer_value(json_object_get(y, "run_index"));
    if (rx != ry)
        return rx < ry ? -1 : 1;
    int c = strcmp(str_of(x, "cell_name"), str_of(y, "cell_name"));
    if (c)
        return c;
    c = condition_rank(str_of(x, "condition")) - condition_rank(str_of(y, "condition"));
    if (c)
        return c;
    if ((c = strcmp(str_of(x, "condition"), str_of(y, "condition"))))
        return c;
    if ((c = strcmp(str_of(x, "metric"), str_of(y, "metric"))))
        return c;
    if ((c = strcmp(str_of(x, "class"), str_of(y, "class"))))
        return c;
    return strcmp(str_of(x, "variant"), str_of(y, "variant"));
}

/* The cell ids of RUN/plan.json (the plan of the latest run into RUN), or NULL
 * when there is none (then every cell of the journals counts). */
static json_t *plan_cells(const char *run_dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/plan.json", run_dir);
    json_t *plan = json_load_file(path, 0, NULL);
    if (!plan)
        return NULL;
    json_t *set = json_object();
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(plan, "cells"), i, cell) {
        const char *id = json_string_value(json_object_get(cell, "id"));
        if (id)
            json_object_set_new(set, id, json_true());
    }
    json_decref(plan);
    return set;
}

int kb_results_collect(json_t **out, const char *const *run_dirs, size_t n_runs,
                       struct kb_error *err)
{
    return kb_records_collect(out, run_dirs, n_runs, "measurement", err);
}

int kb_records_collect(json_t **out, const char *const *run_dirs, size_t n_runs,
                       const char *type, struct kb_error *err)
{
    *out = NULL;
    json_t *byk = json_object();   /* dedupe key -> record */
    json_t *keys = json_array();   /* first-seen order */
    for (size_t r = 0; r < n_runs; r++) {
        char pattern[4200];
        snprintf(pattern, sizeof pattern, "%s/journal*.jsonl", run_dirs[r]);
        glob_t g;
        int grc = glob(pattern, 0, NULL, &g);
        if (grc == GLOB_NOMATCH) {
            json_decref(byk), json_decref(keys);
            return kb_error_set(err, "%s: no journal (journal*.jsonl); is it a keybench run directory?",
                                run_dirs[r]);
        }
        if (grc != 0) {
            json_decref(byk), json_decref(keys);
            return kb_error_set(err, "%s: cannot list journals", run_dirs[r]);
        }
        /* a journal also holds cells of earlier plans run into the same
         * directory (the spec changed since): only the current plan counts */
        json_t *current = plan_cells(run_dirs[r]);
        for (size_t i = 0; i < g.gl_pathc; i++) {
            json_t *recs;
            bool trunc = false;
            if (kb_journal_read(&recs, g.gl_pathv[i], &trunc, err) < 0) {
                globfree(&g);
                json_decref(current);
                json_decref(byk), json_decref(keys);
                return -1;
            }
            if (trunc && !strcmp(type, "measurement"))   /* said once, not per type */
                fprintf(stderr, "keybench: note: %s ends with an incomplete record (a run was "
                                "killed while writing it); it is ignored\n", g.gl_pathv[i]);
            size_t j;
            json_t *rec;
            json_array_foreach(recs, j, rec) {
                if (strcmp(str_of(rec, "type"), type))
                    continue;
                if (current && !json_object_get(current, str_of(rec, "cell")))
                    continue;
                json_object_set_new(rec, "run_index", json_integer((json_int_t)r));
                json_object_set_new(rec, "run_dir", json_string(run_dirs[r]));
                /* the last record of a run × cell × condition × metric × class
                 * (× stage, for timings) wins (a cell re-evaluated after a kill
                 * measures the same again) */
                char *key = NULL;
                if (asprintf(&key, "%zu\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", r, str_of(rec, "cell"),
                             str_of(rec, "condition"), str_of(rec, "metric"),
                             str_of(rec, "class"), str_of(rec, "variant"),
                             str_of(rec, "stage")) < 0) {
                    globfree(&g);
                    json_decref(recs), json_decref(current);
                    json_decref(byk), json_decref(keys);
                    return kb_error_set(err, "out of memory");
                }
                if (!json_object_get(byk, key))
                    json_array_append_new(keys, json_string(key));
                json_object_set(byk, key, rec);
                free(key);
            }
            json_decref(recs);
        }
        json_decref(current);
        globfree(&g);
    }
    size_t n = json_array_size(keys);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        json_decref(byk), json_decref(keys);
        return kb_error_set(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_object_get(byk, json_string_value(json_array_get(keys, i)));
    qsort(v, n, sizeof *v, cmp_records);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(arr, v[i]);
    free(v);
    json_decref(byk);
    json_decref(keys);
    *out = arr;
    return 0;
}

/* ------------------------------------------------------------------ CSV and the summary table */

/* The CSV writers live in harness/report/csv.c (the report model). */
int kb_report_csv(const char *out_dir, const char *const *run_dirs, size_t n_runs,
                  struct kb_error *err)
{
    return kb_report_write(out_dir, run_dirs, n_runs, "csv", err);
}

static void pct(char *out, size_t n, const struct kb_report_stat *s)
{
    kb_report_stat_text(out, n, s, true, " ± ");
    if (s->n == 0)
        snprintf(out, n, "-");
}

/* Characters (not bytes) of UTF-8 text: the table's ± and – take one column. */
static int text_width(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* s padded to `width` columns: after it (left-aligned) or before it. */
static void padded(FILE *f, const char *s, int width, bool left)
{
    int pad = width - text_width(s);
    if (!left)
        fprintf(f, "%*s", pad > 0 ? pad : 0, "");
    fputs(s, f);
    if (left)
        fprintf(f, "%*s", pad > 0 ? pad : 0, "");
}

/* One line per headline row (seed groups: mean ± std over seeds). */
void kb_report_print_summary(FILE *f, const char *title, const struct kb_report *m)
{
    /* several runs: each row says its run */
    char **labels = calloc(m->n_headline ? m->n_headline : 1, sizeof *labels);
    int w = 4;
    for (size_t i = 0; labels && i < m->n_headline; i++) {
        const struct kb_report_group *g = &m->groups[m->headline[i].group];
        if (asprintf(&labels[i], "%s%s%s", m->n_runs > 1 ? m->runs[g->run].name : "",
                     m->n_runs > 1 ? ": " : "", g->label) < 0)
            labels[i] = NULL;
        int l = labels[i] ? text_width(labels[i]) : 0;
        w = l > w ? l : w;
    }
    fprintf(f, "\n%s — accuracy %% on the test split (mean ± std over seeds)\n", title);
    static const char *const heads[] = { "unprotected", "correct key", "plain", "wrong key" };
    padded(f, "cells", w, true);
    for (int k = 0; k < 4; k++) {
        fputs("  ", f);
        padded(f, heads[k], 13, false);
    }
    fputc('\n', f);
    for (size_t i = 0; i < m->n_headline; i++) {
        const struct kb_report_headline *h = &m->headline[i];
        const struct kb_report_stat *cols[4] = { &h->unprotected, &h->correct_key, &h->plain,
                                                 &h->wrong_key };
        padded(f, labels && labels[i] ? labels[i] : m->groups[h->group].label, w, true);
        for (int k = 0; k < 4; k++) {
            char v[64];
            pct(v, sizeof v, cols[k]);
            fputs("  ", f);
            padded(f, v, 13, false);
        }
        fputc('\n', f);
    }
    for (size_t i = 0; labels && i < m->n_headline; i++)
        free(labels[i]);
    free(labels);
}
