/* results.csv and summary.csv, derived from journals only; the summary table. */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/journal.h>
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
            if (trunc)
                fprintf(stderr, "keybench: note: %s ends with an incomplete record (a run was "
                                "killed while writing it); it is ignored\n", g.gl_pathv[i]);
            size_t j;
            json_t *rec;
            json_array_foreach(recs, j, rec) {
                if (strcmp(str_of(rec, "type"), "measurement"))
                    continue;
                if (current && !json_object_get(current, str_of(rec, "cell")))
                    continue;
                json_object_set_new(rec, "run_index", json_integer((json_int_t)r));
                json_object_set_new(rec, "run_dir", json_string(run_dirs[r]));
                /* the last record of a run × cell × condition × metric × class wins
                 * (a cell re-evaluated after a kill measures the same again) */
                char *key = NULL;
                if (asprintf(&key, "%zu\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", r, str_of(rec, "cell"),
                             str_of(rec, "condition"), str_of(rec, "metric"),
                             str_of(rec, "class"), str_of(rec, "variant")) < 0) {
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

/* ------------------------------------------------------------------ CSV */

struct buf {
    char *p;
    size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + len + 1 > cap)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            fprintf(stderr, "keybench: out of memory writing a report\n");
            abort();
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void put_field(struct buf *b, const char *s, bool first)
{
    if (!first)
        put(b, ",", 1);
    if (strpbrk(s, ",\"\n\r")) {
        put(b, "\"", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                put(b, "\"", 1);
            put(b, p, 1);
        }
        put(b, "\"", 1);
    } else {
        put(b, s, strlen(s));
    }
}

/* Text of a scalar JSON value for a CSV cell ("" for null/absent). */
static void scalar_text(char *out, size_t n, const json_t *v)
{
    if (!v || json_is_null(v))
        out[0] = '\0';
    else if (json_is_string(v))
        snprintf(out, n, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, n, "%.10g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(out, n, "true");
    else if (json_is_false(v))
        snprintf(out, n, "false");
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        snprintf(out, n, "%s", s ? s : "");
        free(s);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted union of the axis paths of every record. */
static json_t *axis_union(const json_t *recs)
{
    json_t *set = json_object();
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(rec, "axes"), k, v) json_object_set_new(set, k, json_true());
    }
    size_t n = json_object_size(set), j = 0;
    const char **names = malloc((n ? n : 1) * sizeof *names);
    const char *k;
    json_t *v;
    json_object_foreach(set, k, v) if (names) names[j++] = k;
    if (names)
        qsort(names, n, sizeof *names, cmp_str);
    json_t *sorted = json_array();
    for (j = 0; names && j < n; j++)
        json_array_append_new(sorted, json_string(names[j]));
    free(names);
    json_decref(set);
    return sorted;
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

static int write_results(const char *path, const json_t *recs, struct kb_error *err)
{
    json_t *axes = axis_union(recs);
    struct buf b = {0};
    bool first = true;
    for (size_t i = 0; i < sizeof fixed_cols / sizeof *fixed_cols; i++, first = false)
        put_field(&b, fixed_cols[i], first);
    for (size_t i = 0; i < json_array_size(axes); i++) {
        char col[300];
        snprintf(col, sizeof col, "axis:%s", json_string_value(json_array_get(axes, i)));
        put_field(&b, col, false);
    }
    for (size_t i = 0; i < sizeof prov_cols / sizeof *prov_cols; i++)
        put_field(&b, prov_cols[i], false);
    put_field(&b, "spec_hash", false);
    put(&b, "\n", 1);
    size_t i;
    json_t *rec;
    char text[2048];
    json_array_foreach(recs, i, rec) {
        first = true;
        for (size_t c = 0; c < sizeof fixed_cols / sizeof *fixed_cols; c++, first = false) {
            scalar_text(text, sizeof text, json_object_get(rec, fixed_cols[c]));
            put_field(&b, text, first);
        }
        for (size_t c = 0; c < json_array_size(axes); c++) {
            scalar_text(text, sizeof text,
                        json_object_get(json_object_get(rec, "axes"),
                                        json_string_value(json_array_get(axes, c))));
            put_field(&b, text, false);
        }
        const json_t *prov = json_object_get(rec, "provenance");
        for (size_t c = 0; c < sizeof prov_cols / sizeof *prov_cols; c++) {
            scalar_text(text, sizeof text, json_object_get(prov, prov_cols[c]));
            put_field(&b, text, false);
        }
        scalar_text(text, sizeof text, json_object_get(rec, "spec_hash"));
        put_field(&b, text, false);
        put(&b, "\n", 1);
    }
    json_decref(axes);
    int rc = kb_file_write_atomic(path, b.p ? b.p : "", b.n, 0644, false, err);
    free(b.p);
    return rc;
}

/* ------------------------------------------------------------------ summary (wide) */

struct row {
    json_int_t run;
    const char *run_dir, *cell, *name, *transform;
    char peer[2048];        /* the cell's axes without transform.*: finds its unprotected twin */
    double correct, plain, wrong, wrong_std;
    const json_t *axes;
};

static void peer_key(char *out, size_t n, const json_t *axes)
{
    size_t used = 0;
    out[0] = '\0';
    const char *k;
    json_t *v;
    /* axes objects are canonical (sorted) in every record of one plan */
    json_object_foreach((json_t *)axes, k, v) {
        if (!strncmp(k, "transform", 9))
            continue;
        char t[256];
        scalar_text(t, sizeof t, v);
        int w = snprintf(out + used, n - used, "%s=%s;", k, t);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}

static size_t build_rows(struct row **out, const json_t *recs)
{
    size_t cap = 16, n = 0;
    struct row *rows = calloc(cap, sizeof *rows);
    if (!rows) {
        *out = NULL;
        return 0;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec) {
        const char *cell = str_of(rec, "cell");
        json_int_t run = json_integer_value(json_object_get(rec, "run_index"));
        size_t j = 0;
        while (j < n && (rows[j].run != run || strcmp(rows[j].cell, cell)))
            j++;
        if (j == n) {
            if (n == cap) {
                struct row *more = realloc(rows, 2 * cap * sizeof *rows);
                if (!more)
                    break;
                rows = more;
                cap *= 2;
            }
            memset(&rows[n], 0, sizeof rows[n]);
            rows[n].run = run;
            rows[n].run_dir = str_of(rec, "run_dir");
            rows[n].cell = cell;
            rows[n].name = str_of(rec, "cell_name");
            rows[n].transform = str_of(rec, "transform");
            rows[n].axes = json_object_get(rec, "axes");
            peer_key(rows[n].peer, sizeof rows[n].peer, rows[n].axes);
            rows[n].correct = rows[n].plain = rows[n].wrong = rows[n].wrong_std = NAN;
            n++;
        }
        if (strcmp(str_of(rec, "metric"), "accuracy"))
            continue;
        double v = json_number_value(json_object_get(rec, "value"));
        const char *cond = str_of(rec, "condition");
        if (!strcmp(cond, "correct_key"))
            rows[j].correct = v;
        else if (!strcmp(cond, "plain"))
            rows[j].plain = v;
        else if (!strcmp(cond, "wrong_key")) {
            rows[j].wrong = v;
            rows[j].wrong_std = json_number_value(json_object_get(rec, "std"));
        }
    }
    *out = rows;
    return n;
}

/* The correct-key accuracy of the `none` cell of the same run that shares every
 * other axis value; NaN when there is none, or several that disagree. */
static double unprotected_of(const struct row *rows, size_t n, const struct row *r)
{
    double v = NAN;
    for (size_t j = 0; j < n; j++) {
        if (rows[j].run != r->run || strcmp(rows[j].transform, "none") ||
            strcmp(rows[j].peer, r->peer))
            continue;
        if (!isnan(v) && v != rows[j].correct)
            return NAN; /* ambiguous */
        v = rows[j].correct;
    }
    return v;
}

static void pct(char *out, size_t n, double v)
{
    if (isnan(v))
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%.2f", 100.0 * v);
}

static int write_summary_csv(const char *path, const json_t *recs, struct kb_error *err)
{
    struct row *rows;
    size_t n = build_rows(&rows, recs);
    struct buf b = {0};
    static const char header[] = "run_dir,cell,cell_name,transform,unprotected,correct_key,plain,"
                                 "wrong_key_mean,wrong_key_std\n";
    put(&b, header, strlen(header));
    for (size_t i = 0; i < n; i++) {
        char t[64];
        put_field(&b, rows[i].run_dir, true);
        put_field(&b, rows[i].cell, false);
        put_field(&b, rows[i].name, false);
        put_field(&b, rows[i].transform, false);
        double vals[5] = { unprotected_of(rows, n, &rows[i]), rows[i].correct, rows[i].plain,
                           rows[i].wrong, rows[i].wrong_std };
        for (int k = 0; k < 5; k++) {
            if (isnan(vals[k]))
                t[0] = '\0';
            else
                snprintf(t, sizeof t, "%.6f", vals[k]);
            put_field(&b, t, false);
        }
        put(&b, "\n", 1);
    }
    free(rows);
    int rc = kb_file_write_atomic(path, b.p ? b.p : "", b.n, 0644, false, err);
    free(b.p);
    return rc;
}

int kb_report_csv(const char *out_dir, const char *const *run_dirs, size_t n_runs,
                  struct kb_error *err)
{
    json_t *recs;
    if (kb_results_collect(&recs, run_dirs, n_runs, err) < 0)
        return -1;
    char path[4200];
    if (kb_mkdir_p(out_dir, err) < 0) {
        json_decref(recs);
        return -1;
    }
    snprintf(path, sizeof path, "%s/results.csv", out_dir);
    int rc = write_results(path, recs, err);
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/summary.csv", out_dir);
        rc = write_summary_csv(path, recs, err);
    }
    json_decref(recs);
    return rc;
}

void kb_print_summary(FILE *f, const char *title, const char *const *run_dirs, size_t n_runs)
{
    json_t *recs;
    struct kb_error err = {0};
    if (kb_results_collect(&recs, run_dirs, n_runs, &err) < 0) {
        fprintf(stderr, "keybench: %s\n", err.msg);
        return;
    }
    struct row *rows;
    size_t n = build_rows(&rows, recs);
    int w = 4;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(rows[i].name) > w)
            w = (int)strlen(rows[i].name);
    fprintf(f, "\n%s — accuracy %% on the test split\n", title);
    fprintf(f, "%-*s  %11s  %11s  %7s  %15s\n", w, "cell", "unprotected", "correct key", "plain",
            "wrong key");
    for (size_t i = 0; i < n; i++) {
        char u[16], c[16], p[16], wk[32];
        pct(u, sizeof u, unprotected_of(rows, n, &rows[i]));
        pct(c, sizeof c, rows[i].correct);
        pct(p, sizeof p, rows[i].plain);
        if (isnan(rows[i].wrong))
            snprintf(wk, sizeof wk, "-");
        else
            snprintf(wk, sizeof wk, "%.2f ± %.2f", 100.0 * rows[i].wrong,
                     100.0 * (isnan(rows[i].wrong_std) ? 0.0 : rows[i].wrong_std));
        fprintf(f, "%-*s  %11s  %11s  %7s  %15s\n", w, rows[i].name, u, c, p, wk);
    }
    free(rows);
    json_decref(recs);
}
