/* The report model: runs, cells, seed groups, aggregates, the headline table,
 * attack series and the comparison of runs, from journals only. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/journal.h>
#include <keybench/report.h>
#include "report_internal.h"
#include "run_internal.h"

/* ------------------------------------------------------------------ memory */

/* Every allocation behind a model, freed together. Out of memory aborts, as
 * in the CSV writers: a report has no partial result worth returning. */
struct arena {
    void **p;
    size_t n, cap;
};

void kb_report_oom(void)
{
    fprintf(stderr, "keybench: out of memory building a report\n");
    abort();
}

#define oom kb_report_oom
#define push kb_report_push

static void *keep(struct arena *a, void *p)
{
    if (!p)
        oom();
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        void **np = realloc(a->p, a->cap * sizeof *np);
        if (!np)
            oom();
        a->p = np;
    }
    a->p[a->n++] = p;
    return p;
}

static void *alloc0(struct arena *a, size_t n, size_t size)
{
    return keep(a, calloc(n ? n : 1, size));
}

static const char *sdup(struct arena *a, const char *s)
{
    return keep(a, strdup(s ? s : ""));
}

void *kb_report_push(void *vp, size_t *n, size_t *cap, size_t size)
{
    void **v = vp;
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        void *nv = realloc(*v, *cap * size);
        if (!nv)
            oom();
        *v = nv;
    }
    void *e = (char *)*v + *n * size;
    memset(e, 0, size);
    (*n)++;
    return e;
}

struct priv {
    struct arena a;
    json_t *records, *timings, *plans;
    json_t *cell_index;   /* "run\x1fid" -> cell index */
    size_t *unprotected;  /* per group: kb_report_unprotected_group */
    size_t *agg_first;    /* per group + 1: the group's aggregates are [agg_first[g], agg_first[g+1]) */
};

/* ------------------------------------------------------------------ JSON helpers */

/* index[key] = i. The keys are only looked up, never dumped, so they need
 * not be valid UTF-8 (_nocheck: an axis value cut inside a character used to
 * be refused, and the refused index freed while still in use); callers keep
 * i themselves rather than read it back. */
static void index_set(json_t *index, const char *key, size_t i)
{
    if (json_object_set_new_nocheck(index, key, json_integer((json_int_t)i)) < 0)
        oom();
}

/* "run\x1fid": the key of a cell in the cell index (whole, not cut). */
static char *cell_key(size_t run, const char *id)
{
    char *key;
    if (asprintf(&key, "%zu\x1f%s", run, id) < 0)
        oom();
    return key;
}

const char *kb_report_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void scalar_text_raw(char *out, size_t n, const json_t *v)
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

/* Cut a string that snprintf truncated back to a whole UTF-8 character: a
 * cut character would make the text (and the index keys built from it)
 * invalid UTF-8, which jansson refuses as an object key. */
static void utf8_trim(char *out, size_t n)
{
    size_t len = strlen(out);
    if (n == 0 || len + 1 < n)
        return;   /* not truncated */
    size_t i = len;
    while (i > 0 && ((unsigned char)out[i - 1] & 0xC0) == 0x80)
        i--;      /* back over continuation bytes to the lead byte */
    if (i > 0 && ((unsigned char)out[i - 1] & 0x80)) {
        unsigned char lead = (unsigned char)out[i - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (len - (i - 1) < need)
            out[i - 1] = '\0';   /* the last character is incomplete */
    }
}

void kb_report_scalar_text(char *out, size_t n, const json_t *v)
{
    scalar_text_raw(out, n, v);
    utf8_trim(out, n);
}

static double num_or_nan(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* ------------------------------------------------------------------ statistics */

static struct kb_report_stat stat_of(const double *x, size_t n)
{
    struct kb_report_stat s = { NAN, NAN, NAN, NAN, 0, NAN, NAN, 0 };
    if (n == 0)
        return s;
    kb_summary(&s.mean, &s.std, &s.min, &s.max, x, n);
    s.n = n;
    return s;
}

/* A growing list of doubles. */
struct dvec {
    double *v;
    size_t n, cap;
};

static void dpush(struct dvec *d, double x)
{
    *(double *)push(&d->v, &d->n, &d->cap, sizeof x) = x;
}

/* ------------------------------------------------------------------ loading */

struct builder {
    struct kb_report *m;
    struct priv *pv;
    const char *const *dirs;
    /* vectors before they are handed to the model */
    struct kb_report_run *runs;
    struct kb_report_axis *axes;
    size_t n_axes, cap_axes;
    struct kb_report_cell *cells;
    size_t n_cells, cap_cells;
    struct kb_report_group *groups;
    size_t n_groups, cap_groups;
    json_t *cell_index;   /* "run\x1fid" -> cell index */
    json_t *group_index;  /* "run\x1fvalues" -> group index */
    const json_t **cell_axes; /* per cell: its axes object (plan cell, else first record) */
    size_t cap_cell_axes;
};

static size_t axis_index(struct builder *b, const char *path)
{
    for (size_t i = 0; i < b->n_axes; i++)
        if (!strcmp(b->axes[i].path, path))
            return i;
    struct kb_report_axis *a = push(&b->axes, &b->n_axes, &b->cap_axes, sizeof *a);
    a->path = sdup(&b->pv->a, path);
    a->is_seed = !strcmp(path, "seed");
    return b->n_axes - 1;
}

static int load_plans(struct builder *b, struct kb_error *err)
{
    for (size_t r = 0; r < b->m->n_runs; r++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/plan.json", b->dirs[r]);
        json_t *plan = NULL;
        FILE *f = fopen(path, "r");
        if (f) {
            json_error_t je;
            plan = json_loadf(f, 0, &je);
            fclose(f);
            if (!plan)
                return kb_error_set(err, "%s:%d: not a plan (expected JSON): %s", path, je.line,
                                    je.text);
        }
        json_array_append_new(b->pv->plans, plan ? plan : json_null());
        struct kb_report_run *run = &b->runs[r];
        run->dir = sdup(&b->pv->a, b->dirs[r]);
        run->plan = plan;
        const char *name = kb_report_str(plan, "name");
        run->name = sdup(&b->pv->a, *name ? name : b->dirs[r]);
        run->spec = sdup(&b->pv->a, kb_report_str(plan, "spec"));
        size_t i;
        json_t *ax;
        json_array_foreach(json_object_get(plan, "axes"), i, ax) if (json_is_string(ax))
            axis_index(b, json_string_value(ax));
    }
    /* runs of one spec share a name: tell them apart by their directory */
    for (size_t r = 0; r < b->m->n_runs; r++)
        for (size_t q = 0; q < b->m->n_runs; q++)
            if (q != r && !strcmp(kb_report_str(json_array_get(b->pv->plans, q), "name"),
                                  kb_report_str(json_array_get(b->pv->plans, r), "name")) &&
                strcmp(b->runs[r].name, b->runs[r].dir)) {
                char *s;
                if (asprintf(&s, "%s (%s)", b->runs[r].name, b->runs[r].dir) < 0)
                    oom();
                b->runs[r].name = keep(&b->pv->a, s);
                break;
            }
    return 0;
}

bool kb_report_safe_id(const char *id)
{
    if (!*id)
        return false;
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return false;
    return true;
}

/* cells/<id>/status: "done", "failed: <error>", … */
static void read_status(struct builder *b, struct kb_report_cell *c)
{
    c->status = c->error = "";
    if (!kb_report_safe_id(c->id))
        return;
    char path[4300];
    snprintf(path, sizeof path, "%s/cells/%s/status", b->runs[c->run].dir, c->id);
    uint8_t *data = NULL;
    size_t size = 0;
    struct kb_error e;
    if (kb_file_read_all(path, 1 << 20, &data, &size, &e) < 0)
        return;
    char *s = (char *)data;
    while (size > 0 && (s[size - 1] == '\n' || s[size - 1] == '\r'))
        s[--size] = '\0';
    if (!strncmp(s, "failed", 6)) {
        c->status = "failed";
        const char *msg = s + 6;
        if (*msg == ':')
            msg++;
        while (*msg == ' ')
            msg++;
        c->error = sdup(&b->pv->a, msg);
    } else {
        c->status = sdup(&b->pv->a, s);
    }
    free(data);
}

/* The cell of run r with this id, created from `src` (a plan cell or a
 * record: both carry id/cell, name/cell_name and axes) when new. */
static size_t cell_of(struct builder *b, size_t r, const char *id, const json_t *src,
                      bool from_plan)
{
    char *key = cell_key(r, id);
    json_t *ix = json_object_get(b->cell_index, key);
    if (ix) {
        free(key);
        return (size_t)json_integer_value(ix);
    }
    struct arena *a = &b->pv->a;
    struct kb_report_cell *c = push(&b->cells, &b->n_cells, &b->cap_cells, sizeof *c);
    c->run = r;
    c->id = sdup(a, id);
    c->name = sdup(a, kb_report_str(src, from_plan ? "name" : "cell_name"));
    const json_t *cfg = from_plan ? json_object_get(src, "config") : NULL;
    if (from_plan) {
        c->dataset = sdup(a, kb_report_str(json_object_get(cfg, "dataset"), "name"));
        c->backbone = sdup(a, kb_report_str(json_object_get(cfg, "backbone"), "name"));
        c->transform = sdup(a, kb_report_str(json_object_get(cfg, "transform"), "name"));
        c->seed = json_integer_value(json_object_get(cfg, "seed"));
    } else {
        c->dataset = sdup(a, kb_report_str(src, "dataset"));
        c->backbone = sdup(a, kb_report_str(src, "backbone"));
        c->transform = sdup(a, kb_report_str(src, "transform"));
        c->seed = json_integer_value(json_object_get(src, "seed"));
    }
    c->key_fingerprint = from_plan ? "" : sdup(a, kb_report_str(src, "key_fingerprint"));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(src, "axes"), k, v) axis_index(b, k);
    size_t n_axes_src = b->n_cells - 1;
    *(const json_t **)push(&b->cell_axes, &n_axes_src, &b->cap_cell_axes, sizeof *b->cell_axes) =
        json_object_get(src, "axes");
    index_set(b->cell_index, key, b->n_cells - 1);
    free(key);
    return b->n_cells - 1;
}

static void collect_cells(struct builder *b)
{
    for (size_t r = 0; r < b->m->n_runs; r++) {
        size_t i;
        json_t *pc;
        json_array_foreach(json_object_get(b->runs[r].plan, "cells"), i, pc) {
            const char *id = kb_report_str(pc, "id");
            if (*id)
                cell_of(b, r, id, pc, true);
        }
    }
    size_t i;
    json_t *rec;
    json_array_foreach(b->pv->records, i, rec) {
        size_t r = (size_t)json_integer_value(json_object_get(rec, "run_index"));
        size_t c = cell_of(b, r, kb_report_str(rec, "cell"), rec, false);
        struct kb_report_cell *cell = &b->cells[c];
        if (!*cell->key_fingerprint)
            cell->key_fingerprint = sdup(&b->pv->a, kb_report_str(rec, "key_fingerprint"));
    }
}

static void fill_axis_values(struct builder *b)
{
    for (size_t i = 0; i < b->n_cells; i++) {
        struct kb_report_cell *c = &b->cells[i];
        const json_t *ax = b->cell_axes[i];
        const char **vals = alloc0(&b->pv->a, b->n_axes, sizeof *vals);
        for (size_t k = 0; k < b->n_axes; k++) {
            char t[1024];
            kb_report_scalar_text(t, sizeof t, json_object_get(ax, b->axes[k].path));
            vals[k] = sdup(&b->pv->a, t);
        }
        c->axis_values = vals;
        read_status(b, c);
    }
    for (size_t k = 0; k < b->n_axes; k++)
        for (size_t i = 1; i < b->n_cells && !b->axes[k].varies; i++)
            b->axes[k].varies = strcmp(b->cells[i].axis_values[k], b->cells[0].axis_values[k]);
}

/* "negpos, block_size=4": the varying non-seed axes (a `.name` axis by its value). */
static const char *group_label(struct builder *b, const char **vals, const char *fallback)
{
    char *s;
    size_t len;
    FILE *f = kb_report_open(&s, &len);
    bool first = true;
    for (size_t k = 0; k < b->n_axes; k++) {
        if (!b->axes[k].varies || b->axes[k].is_seed)
            continue;
        const char *path = b->axes[k].path, *dot = strrchr(path, '.');
        const char *leaf = dot ? dot + 1 : path;
        fputs(first ? "" : ", ", f);
        if (!strcmp(leaf, "name"))
            fputs(*vals[k] ? vals[k] : "–", f);
        else
            fprintf(f, "%s=%s", leaf, *vals[k] ? vals[k] : "–");
        first = false;
    }
    if (first)
        fputs(fallback, f);
    fclose(f);
    return keep(&b->pv->a, s);
}

static void build_groups(struct builder *b)
{
    for (size_t i = 0; i < b->n_cells; i++) {
        struct kb_report_cell *c = &b->cells[i];
        char *key;
        size_t len;
        FILE *f = kb_report_open(&key, &len);
        fprintf(f, "%zu", c->run);
        for (size_t k = 0; k < b->n_axes; k++)
            if (!b->axes[k].is_seed)
                fprintf(f, "\x1f%s", c->axis_values[k]);
        fclose(f);
        json_t *ix = json_object_get(b->group_index, key);
        size_t gi = ix ? (size_t)json_integer_value(ix) : b->n_groups;
        if (!ix) {
            struct kb_report_group *g = push(&b->groups, &b->n_groups, &b->cap_groups, sizeof *g);
            g->run = c->run;
            const char **vals = alloc0(&b->pv->a, b->n_axes, sizeof *vals);
            for (size_t k = 0; k < b->n_axes; k++)
                vals[k] = b->axes[k].is_seed ? "" : c->axis_values[k];
            g->axis_values = vals;
            g->label = group_label(b, vals, *c->transform ? c->transform : c->name);
            g->dataset = c->dataset;
            g->backbone = c->backbone;
            g->transform = c->transform;
            index_set(b->group_index, key, gi);
        }
        free(key);
        b->groups[gi].n_cells++;
        c->group = gi;
    }
    /* each group's cells, sized by its count (one array of every cell per
     * group was groups × cells: gigabytes for a plan of 20000 cells) */
    for (size_t g = 0; g < b->n_groups; g++) {
        b->groups[g].cells = alloc0(&b->pv->a, b->groups[g].n_cells, sizeof *b->groups[g].cells);
        b->groups[g].n_cells = 0;
    }
    for (size_t i = 0; i < b->n_cells; i++) {
        struct kb_report_group *g = &b->groups[b->cells[i].group];
        ((size_t *)g->cells)[g->n_cells++] = i;
    }
}

static size_t cell_lookup(const json_t *index, const json_t *rec)
{
    char *key = cell_key((size_t)json_integer_value(json_object_get(rec, "run_index")),
                         kb_report_str(rec, "cell"));
    size_t c = (size_t)json_integer_value(json_object_get(index, key));
    free(key);
    return c;
}

/* The cell index of a record. */
static size_t record_cell(struct builder *b, const json_t *rec)
{
    return cell_lookup(b->cell_index, rec);
}

size_t kb_report_record_cell(const struct kb_report *m, const json_t *rec)
{
    return cell_lookup(((const struct priv *)m->priv_)->cell_index, rec);
}

/* ------------------------------------------------------------------ aggregates */

struct agg_acc {
    size_t group;
    const char *condition, *metric, *variant, *class_name;
    struct dvec vals, pooled, lo, hi;
    size_t n_images;
};

/* Whether s is a whole decimal number; its value in *v. */
static bool is_number(const char *s, long *v)
{
    char *end;
    *v = strtol(s, &end, 10);
    return *s && !*end;
}

int kb_report_cmp_class(const char *a, const char *b)
{
    long x, y;
    bool na = is_number(a, &x), nb = is_number(b, &y);
    if (na != nb)
        return na ? -1 : 1;   /* numbers first: a total order, whatever the mix */
    if (na && x != y)
        return x < y ? -1 : 1;
    return strcmp(a, b);
}

static int cond_rank(const char *c)
{
    static const char *const order[] = { "correct_key", "plain", "wrong_key", "protect" };
    for (int i = 0; i < 4; i++)
        if (!strcmp(c, order[i]))
            return i;
    return 4;
}

static int cmp_agg(const void *pa, const void *pb)
{
    const struct kb_report_agg *x = pa, *y = pb;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    int c = cond_rank(x->condition) - cond_rank(y->condition);
    if (!c)
        c = strcmp(x->condition, y->condition);
    if (!c)
        c = strcmp(x->metric, y->metric);
    if (!c)
        c = strcmp(x->variant, y->variant);
    return c ? c : kb_report_cmp_class(x->class_name, y->class_name);
}

static bool is_wrong_key(const char *condition)
{
    return !strcmp(condition, "wrong_key") || !strcmp(condition, "attack:wrong_key");
}

static void build_aggs(struct builder *b)
{
    struct arena *a = &b->pv->a;
    json_t *index = json_object();
    struct agg_acc *acc = NULL;
    size_t n = 0, cap = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(b->pv->records, i, rec) {
        size_t g = b->cells[record_cell(b, rec)].group;
        const char *cond = kb_report_str(rec, "condition"), *metric = kb_report_str(rec, "metric");
        const char *variant = kb_report_str(rec, "variant"), *cls = kb_report_str(rec, "class");
        char *key = NULL;
        if (asprintf(&key, "%zu\x1f%s\x1f%s\x1f%s\x1f%s", g, cond, metric, variant, cls) < 0)
            oom();
        json_t *ix = json_object_get(index, key);
        size_t ai = ix ? (size_t)json_integer_value(ix) : n;
        if (!ix) {
            struct agg_acc *e = push(&acc, &n, &cap, sizeof *e);
            e->group = g;
            e->condition = sdup(a, cond);
            e->metric = sdup(a, metric);
            e->variant = sdup(a, variant);
            e->class_name = sdup(a, cls);
            index_set(index, key, ai);
        }
        free(key);
        struct agg_acc *e = &acc[ai];
        double v = num_or_nan(json_object_get(rec, "value"));
        if (isnan(v))
            continue;   /* e.g. wrong_key / no_other_key */
        dpush(&e->vals, v);
        const json_t *values = json_object_get(rec, "values");
        if (is_wrong_key(cond) && json_array_size(values) > 0) {
            size_t j;
            json_t *x;
            json_array_foreach(values, j, x) if (json_is_number(x)) dpush(&e->pooled, json_number_value(x));
        } else {
            dpush(&e->pooled, v);
        }
        double lo = num_or_nan(json_object_get(rec, "ci_low"));
        double hi = num_or_nan(json_object_get(rec, "ci_high"));
        if (!isnan(lo) && !isnan(hi)) {
            dpush(&e->lo, lo);
            dpush(&e->hi, hi);
        }
        json_int_t ni = json_integer_value(json_object_get(rec, "n"));
        if (ni > 0 && (size_t)ni > e->n_images)
            e->n_images = (size_t)ni;
    }
    json_decref(index);
    struct kb_report_agg *out = alloc0(a, n, sizeof *out);
    for (size_t k = 0; k < n; k++) {
        struct agg_acc *e = &acc[k];
        struct kb_report_agg *o = &out[k];
        o->group = e->group;
        o->condition = e->condition;
        o->metric = e->metric;
        o->variant = e->variant;
        o->class_name = e->class_name;
        o->stat = stat_of(e->vals.v, e->vals.n);
        o->pooled = stat_of(e->pooled.v, e->pooled.n);
        /* an interval only when every value has one */
        if (e->lo.n == e->vals.n && e->lo.n > 0) {
            struct kb_report_stat l = stat_of(e->lo.v, e->lo.n), h = stat_of(e->hi.v, e->hi.n);
            o->stat.ci_low = o->pooled.ci_low = l.mean;
            o->stat.ci_high = o->pooled.ci_high = h.mean;
        }
        o->stat.n_images = o->pooled.n_images = e->n_images;
        free(e->vals.v), free(e->pooled.v), free(e->lo.v), free(e->hi.v);
    }
    free(acc);
    qsort(out, n, sizeof *out, cmp_agg);
    b->m->aggs = out;
    b->m->n_aggs = n;
    size_t *first = alloc0(a, b->m->n_groups + 1, sizeof *first);
    for (size_t g = 0, k = 0; g <= b->m->n_groups; g++) {
        while (k < n && out[k].group < g)
            k++;
        first[g] = k;
    }
    b->pv->agg_first = first;
}

const struct kb_report_agg *kb_report_find(const struct kb_report *m, size_t group,
                                           const char *condition, const char *metric,
                                           const char *variant, const char *class_name)
{
    struct kb_report_agg key = { .group = group, .condition = condition, .metric = metric,
                                 .variant = variant ? variant : "",
                                 .class_name = class_name ? class_name : "" };
    return bsearch(&key, m->aggs, m->n_aggs, sizeof key, cmp_agg);
}

/* ------------------------------------------------------------------ headline */

static bool is_transform_axis(const char *path)
{
    return !strncmp(path, "transform.", 10) || !strcmp(path, "transform");
}

/* The transform's name axis: what tells a `none` group from a keyed one. */
static bool is_transform_name_axis(const char *path)
{
    return !strcmp(path, "transform.name") || !strcmp(path, "transform");
}

/* The key of a group without its seed and its transform's name and, when
 * `skip_transform`, without any transform axis. */
static char *group_key(const struct kb_report *m, const struct kb_report_group *g,
                       bool skip_transform)
{
    char *key;
    size_t len;
    FILE *f = kb_report_open(&key, &len);
    fprintf(f, "%zu", g->run);
    for (size_t k = 0; k < m->n_axes; k++)
        if (!m->axes[k].is_seed && !is_transform_name_axis(m->axes[k].path) &&
            !(skip_transform && is_transform_axis(m->axes[k].path)))
            fprintf(f, "\x1f%s", g->axis_values[k]);
    fclose(f);
    return key;
}

/* For every group, the `none` group of the same run that shares every
 * non-transform axis: one that also shares the transform axes (e.g. the block
 * size) if there is one, else the only candidate; SIZE_MAX when there is none
 * or it is ambiguous. */
static void find_unprotected(struct kb_report *m, struct priv *pv)
{
    json_t *exact = json_object(), *loose = json_object();   /* key -> none group, or -1: several */
    for (size_t g = 0; g < m->n_groups; g++) {
        if (strcmp(m->groups[g].transform, "none"))
            continue;
        char *ke = group_key(m, &m->groups[g], false), *kl = group_key(m, &m->groups[g], true);
        json_object_set_new_nocheck(exact, ke, json_integer((json_int_t)g));
        json_object_set_new_nocheck(loose, kl,
                                    json_integer(json_object_get(loose, kl) ? -1 : (json_int_t)g));
        free(ke), free(kl);
    }
    pv->unprotected = keep(&pv->a, calloc(m->n_groups ? m->n_groups : 1, sizeof *pv->unprotected));
    for (size_t g = 0; g < m->n_groups; g++) {
        char *ke = group_key(m, &m->groups[g], false), *kl = group_key(m, &m->groups[g], true);
        json_t *hit = json_object_get(exact, ke);
        if (!hit)
            hit = json_object_get(loose, kl);
        json_int_t v = hit ? json_integer_value(hit) : -1;
        pv->unprotected[g] = v < 0 ? SIZE_MAX : (size_t)v;
        free(ke), free(kl);
    }
    json_decref(exact);
    json_decref(loose);
}

size_t kb_report_unprotected_group(const struct kb_report *m, size_t g)
{
    return ((const struct priv *)m->priv_)->unprotected[g];
}

static struct kb_report_stat no_stat(void)
{
    return (struct kb_report_stat){ NAN, NAN, NAN, NAN, 0, NAN, NAN, 0 };
}

static struct kb_report_stat stat_or_none(const struct kb_report_agg *a, bool pooled)
{
    return a ? (pooled ? a->pooled : a->stat) : no_stat();
}

/* "#1 n=100" → 100; "" when the variant names no n. */
long long kb_report_variant_n(const char *variant, const char **instance_end)
{
    const char *p = strstr(variant, "n=");
    if (instance_end)
        *instance_end = p ? p : variant + strlen(variant);
    return p ? strtoll(p + 2, NULL, 10) : 0;
}

void kb_report_group_aggs(const struct kb_report *m, size_t g, size_t *first, size_t *end)
{
    const size_t *f = ((const struct priv *)m->priv_)->agg_first;
    *first = f[g];
    *end = f[g + 1];
}

static void headline_attacks(const struct kb_report *m, size_t g, struct kb_report_headline *h)
{
    size_t first, end;
    kb_report_group_aggs(m, g, &first, &end);
    for (size_t i = first; i < end; i++) {
        const struct kb_report_agg *a = &m->aggs[i];
        if (*a->class_name || a->stat.n == 0)
            continue;
        if (!strcmp(a->condition, "attack:key_estimation") && !strncmp(a->metric, "accuracy_", 9) &&
            (h->key_estimation.n == 0 || a->stat.mean > h->key_estimation.mean)) {
            h->key_estimation = a->stat;
            h->key_estimation_mode = a->metric + 9;
        }
        if (!strcmp(a->condition, "attack:fine_tune") &&
            !strcmp(a->metric, "accuracy_from_protected")) {
            long long n = kb_report_variant_n(a->variant, NULL);
            if (h->fine_tune.n == 0 || n > h->fine_tune_n) {
                h->fine_tune = a->stat;
                h->fine_tune_n = n;
            }
        }
    }
}

static void build_headline(struct builder *b)
{
    struct kb_report *m = b->m;
    struct kb_report_headline *rows = alloc0(&b->pv->a, m->n_groups, sizeof *rows);
    bool *is_ref = calloc(m->n_groups ? m->n_groups : 1, sizeof *is_ref);
    if (!is_ref)
        oom();
    size_t *ref = calloc(m->n_groups ? m->n_groups : 1, sizeof *ref);
    if (!ref)
        oom();
    for (size_t g = 0; g < m->n_groups; g++) {
        ref[g] = kb_report_unprotected_group(m, g);
        if (ref[g] != SIZE_MAX && ref[g] != g)
            is_ref[ref[g]] = true;
    }
    size_t n = 0;
    for (size_t g = 0; g < m->n_groups; g++) {
        if (is_ref[g] && !strcmp(m->groups[g].transform, "none"))
            continue;   /* shown as the unprotected column of its rows */
        struct kb_report_headline *h = &rows[n++];
        h->group = g;
        h->unprotected = ref[g] == SIZE_MAX ? no_stat()
                         : stat_or_none(kb_report_find(m, ref[g], "correct_key", "accuracy", "", ""), false);
        h->correct_key = stat_or_none(kb_report_find(m, g, "correct_key", "accuracy", "", ""), false);
        h->plain = stat_or_none(kb_report_find(m, g, "plain", "accuracy", "", ""), false);
        h->wrong_key = stat_or_none(kb_report_find(m, g, "wrong_key", "accuracy", "", ""), true);
        h->key_estimation = h->fine_tune = no_stat();
        h->key_estimation_mode = "";
        headline_attacks(m, g, h);
    }
    free(is_ref);
    free(ref);
    m->headline = rows;
    m->n_headline = n;
}

/* ------------------------------------------------------------------ series */

struct series_acc {
    enum kb_report_series_kind kind;
    size_t group, cell;
    const char *name, *variant;
    struct dvec x, y;
    bool over_seeds;   /* mean ± std of the y at each x */
};

struct series_set {
    struct builder *b;
    struct series_acc *v;
    size_t n, cap;
    json_t *index;   /* "kind\x1fgroup\x1fcell\x1fname\x1fvariant" -> index into v */
};

static struct series_acc *series_get(struct series_set *s, enum kb_report_series_kind kind,
                                     size_t group, size_t cell, const char *name,
                                     const char *variant, bool over_seeds)
{
    char *key;
    if (asprintf(&key, "%d\x1f%zu\x1f%zu\x1f%s\x1f%s", (int)kind, group, cell, name, variant) < 0)
        oom();
    json_t *ix = json_object_get(s->index, key);
    if (ix) {
        free(key);
        return &s->v[json_integer_value(ix)];
    }
    index_set(s->index, key, s->n);
    free(key);
    struct series_acc *e = push(&s->v, &s->n, &s->cap, sizeof *e);
    e->kind = kind;
    e->group = group;
    e->cell = cell;
    e->name = sdup(&s->b->pv->a, name);
    e->variant = sdup(&s->b->pv->a, variant);
    e->over_seeds = over_seeds;
    return e;
}

static void series_of_record(struct series_set *s, const json_t *rec)
{
    struct builder *b = s->b;
    size_t c = record_cell(b, rec), g = b->cells[c].group;
    const char *cond = kb_report_str(rec, "condition"), *metric = kb_report_str(rec, "metric");
    const char *variant = kb_report_str(rec, "variant");
    double v = num_or_nan(json_object_get(rec, "value"));
    if (isnan(v))
        return;
    if (!strcmp(cond, "attack:fine_tune") && !strncmp(metric, "accuracy_from_", 14)) {
        static const char *const names[][2] = {
            { "protected", "stolen" }, { "pretrained", "pretrained" }, { "scratch", "scratch" } };
        for (int i = 0; i < 3; i++)
            if (!strcmp(metric + 14, names[i][0])) {
                const char *end;
                long long n = kb_report_variant_n(variant, &end);
                char inst[200];
                snprintf(inst, sizeof inst, "%.*s", (int)(end - variant), variant);
                size_t l = strlen(inst);
                while (l && inst[l - 1] == ' ')
                    inst[--l] = '\0';
                struct series_acc *e = series_get(s, KB_REPORT_SERIES_FINE_TUNE, g, SIZE_MAX,
                                                  names[i][1], inst, true);
                dpush(&e->x, (double)n), dpush(&e->y, v);
            }
    } else if (!strcmp(cond, "attack:key_estimation") && !strncmp(metric, "accuracy_", 9)) {
        const json_t *curve = json_object_get(rec, "curve");
        if (!json_array_size(curve))
            return;
        struct series_acc *e = series_get(s, KB_REPORT_SERIES_KEY_ESTIMATION, g, c, metric + 9,
                                          variant, false);
        size_t i;
        json_t *pt;
        json_array_foreach(curve, i, pt) {
            double x = num_or_nan(json_array_get(pt, 0)), y = num_or_nan(json_array_get(pt, 1));
            if (!isnan(x) && !isnan(y))
                dpush(&e->x, x), dpush(&e->y, y);
        }
    } else if (!strcmp(cond, "attack:pgd") && !strncmp(metric, "robust_accuracy_", 16)) {
        double eps = num_or_nan(json_object_get(rec, "eps"));
        if (isnan(eps))
            return;
        /* the instance (#1, #2: pgd listed twice) is one point each, not a series */
        struct series_acc *e = series_get(s, KB_REPORT_SERIES_PGD, g, SIZE_MAX, metric + 16, "", true);
        dpush(&e->x, eps), dpush(&e->y, v);
    } else if (is_wrong_key(cond) && !strcmp(metric, "accuracy")) {
        struct series_acc *e = series_get(s, KB_REPORT_SERIES_WRONG_KEY, g, SIZE_MAX, cond,
                                          variant, false);
        const json_t *values = json_object_get(rec, "values");
        double seed = (double)b->cells[c].seed;
        size_t i;
        json_t *x;
        if (json_array_size(values) == 0)
            dpush(&e->x, seed), dpush(&e->y, v);
        json_array_foreach(values, i, x) if (json_is_number(x))
            dpush(&e->x, seed), dpush(&e->y, json_number_value(x));
    }
}

struct xy {
    double x, y;
    size_t order;
};

static int cmp_xy(const void *pa, const void *pb)
{
    const struct xy *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Sorted by x (stable); over seeds: one point per x with the mean and std of its y. */
static void series_finish(struct arena *ar, struct series_acc *e, struct kb_report_series *o)
{
    size_t n = e->x.n;
    struct xy *p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        oom();
    for (size_t i = 0; i < n; i++)
        p[i] = (struct xy){ e->x.v[i], e->y.v[i], i };
    qsort(p, n, sizeof *p, cmp_xy);
    double *x = alloc0(ar, n, sizeof *x), *y = alloc0(ar, n, sizeof *y);
    double *sd = e->over_seeds ? alloc0(ar, n, sizeof *sd) : NULL;
    double *ys = calloc(n ? n : 1, sizeof *ys);   /* one buffer: not one per x (n² zeroing) */
    if (!ys)
        oom();
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        if (e->over_seeds) {
            while (j < n && p[j].x == p[i].x) {
                ys[j - i] = p[j].y;
                j++;
            }
            struct kb_report_stat st = stat_of(ys, j - i);
            x[k] = p[i].x, y[k] = st.mean, sd[k] = st.std;
        } else {
            x[k] = p[i].x, y[k] = p[i].y;
            j = i + 1;
        }
        k++;
        i = j;
    }
    free(ys);
    free(p);
    *o = (struct kb_report_series){ e->kind, e->group, e->cell, e->name, e->variant, x, y, sd, k };
}

static int cmp_series(const void *pa, const void *pb)
{
    const struct kb_report_series *a = pa, *b = pb;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    if (a->cell != b->cell)
        return a->cell < b->cell ? -1 : 1;
    int c = strcmp(a->variant, b->variant);
    return c ? c : strcmp(a->name, b->name);
}

static void build_series(struct builder *b)
{
    struct series_set s = { .b = b, .index = json_object() };
    size_t i;
    json_t *rec;
    json_array_foreach(b->pv->records, i, rec) series_of_record(&s, rec);
    struct kb_report_series *out = alloc0(&b->pv->a, s.n, sizeof *out);
    for (size_t k = 0; k < s.n; k++) {
        series_finish(&b->pv->a, &s.v[k], &out[k]);
        free(s.v[k].x.v), free(s.v[k].y.v);
    }
    free(s.v);
    json_decref(s.index);
    qsort(out, s.n, sizeof *out, cmp_series);
    b->m->series = out;
    b->m->n_series = s.n;
}

/* ------------------------------------------------------------------ comparison */

enum kb_report_diff kb_report_compare_stats(const struct kb_report_stat *ref,
                                            const struct kb_report_stat *x)
{
    if (ref->n == 0 || x->n == 0)
        return KB_REPORT_MISSING;
    double d = fabs(x->mean - ref->mean);
    if (d == 0)
        return KB_REPORT_SAME;
    if (ref->n >= 2 && x->n >= 2)   /* seed-to-seed noise: the combined std */
        return d > sqrt(ref->std * ref->std + x->std * x->std) ? KB_REPORT_DIFFERS : KB_REPORT_SAME;
    if (!isnan(ref->ci_low) && !isnan(x->ci_low))   /* one seed: the Wilson intervals */
        return x->ci_low > ref->ci_high || x->ci_high < ref->ci_low ? KB_REPORT_DIFFERS
                                                                   : KB_REPORT_SAME;
    return KB_REPORT_UNJUDGED;
}

static void build_compare(struct builder *b)
{
    struct kb_report *m = b->m;
    if (m->n_runs < 2)
        return;
    struct arena *a = &b->pv->a;
    json_t *index = json_object();
    struct kb_report_compare_row *rows = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < m->n_aggs; i++) {
        const struct kb_report_agg *ag = &m->aggs[i];
        if (*ag->class_name)
            continue;
        const struct kb_report_group *g = &m->groups[ag->group];
        char *key;
        size_t len;
        FILE *f = kb_report_open(&key, &len);
        for (size_t k = 0; k < m->n_axes; k++)
            fprintf(f, "%s\x1f", g->axis_values[k]);
        fprintf(f, "%s\x1f%s\x1f%s", ag->condition, ag->metric, ag->variant);
        fclose(f);
        json_t *ix = json_object_get(index, key);
        size_t ri = ix ? (size_t)json_integer_value(ix) : n;
        if (!ix) {
            struct kb_report_compare_row *r = push(&rows, &n, &cap, sizeof *r);
            r->axis_values = g->axis_values;
            r->label = g->label;
            r->condition = ag->condition;
            r->metric = ag->metric;
            r->variant = ag->variant;
            struct kb_report_stat *per = alloc0(a, m->n_runs, sizeof *per);
            for (size_t k = 0; k < m->n_runs; k++)
                per[k] = no_stat();
            r->per_run = per;
            index_set(index, key, ri);
        }
        free(key);
        struct kb_report_stat *per = (struct kb_report_stat *)rows[ri].per_run;
        per[g->run] = is_wrong_key(ag->condition) ? ag->pooled : ag->stat;
    }
    json_decref(index);
    for (size_t i = 0; i < n; i++) {
        enum kb_report_diff *d = alloc0(a, m->n_runs, sizeof *d);
        d[0] = KB_REPORT_SAME;
        for (size_t k = 1; k < m->n_runs; k++) {
            d[k] = kb_report_compare_stats(&rows[i].per_run[0], &rows[i].per_run[k]);
            rows[i].differs |= d[k] == KB_REPORT_DIFFERS;
        }
        rows[i].diff = d;
    }
    m->compare = keep(a, rows ? rows : calloc(1, sizeof *rows));
    m->n_compare = n;
}

/* ------------------------------------------------------------------ provenance */

/* Distinct values in first-seen order (later joined by ", "): kv maps a key
 * to its list of values, seen holds "key\x1fvalue" for those already listed. */
static void add_distinct(json_t *kv, json_t *seen, const char *key, const char *value)
{
    if (!*value)
        return;
    char *k;
    if (asprintf(&k, "%s\x1f%s", key, value) < 0)
        oom();
    if (!json_object_get(seen, k)) {
        json_object_set_new(seen, k, json_true());
        json_t *list = json_object_get(kv, key);
        if (!list) {
            list = json_array();
            json_object_set_new(kv, key, list);
        }
        json_array_append_new(list, json_string(value));
    }
    free(k);
}

/* At most this many distinct values of one provenance key are listed. */
#define PROV_LIST_MAX 12

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void run_provenance(struct builder *b, size_t r)
{
    static const char *const fields[][2] = {
        { "keybench_version", "keybench version" }, { "git", "git" },
        { "compiler", "compiler" }, { "openblas", "OpenBLAS" },
        { "blas_threads", "BLAS threads" }, { "engine_threads", "engine threads" },
    };
    struct kb_report_run *run = &b->runs[r];
    json_t *kv = json_object(), *seen = json_object();
    /* keys in their display order: an object keeps insertion order */
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
        json_object_set_new(kv, fields[f][1], json_array());
    json_object_set_new(kv, "spec", json_array());
    add_distinct(kv, seen, "spec", run->spec);
    json_object_set_new(kv, "spec hash", json_array());
    json_object_set_new(kv, "seeds", json_array());
    json_object_set_new(kv, "key fingerprints", json_array());
    size_t i;
    json_t *rec;
    json_array_foreach(b->pv->records, i, rec) {
        if ((size_t)json_integer_value(json_object_get(rec, "run_index")) != r)
            continue;
        run->n_records++;
        const json_t *prov = json_object_get(rec, "provenance");
        char t[1024];
        for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
            kb_report_scalar_text(t, sizeof t, json_object_get(prov, fields[f][0]));
            add_distinct(kv, seen, fields[f][1], t);
        }
        add_distinct(kv, seen, "spec hash", kb_report_str(rec, "spec_hash"));
        add_distinct(kv, seen, "key fingerprints", kb_report_str(rec, "key_fingerprint"));
        const json_t *pl = json_object_get(rec, "plugins");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)pl, k, v) {
            char file[200], key[400];
            snprintf(file, sizeof file, "%s_file", k);
            const char *hash = kb_report_str(pl, file);
            if (!json_is_string(v) || !*hash)
                continue;
            snprintf(key, sizeof key, "plugin %s %s", k, json_string_value(v));
            add_distinct(kv, seen, key, hash);
        }
    }
    /* seeds, numerically; cells and their state */
    long long *seeds = calloc(b->n_cells ? b->n_cells : 1, sizeof *seeds);
    if (!seeds)
        oom();
    size_t ns = 0;
    for (size_t c = 0; c < b->n_cells; c++) {
        const struct kb_report_cell *cell = &b->cells[c];
        if (cell->run != r)
            continue;
        run->n_cells++;
        run->n_done += !strcmp(cell->status, "done");
        run->n_failed += !strcmp(cell->status, "failed");
        seeds[ns++] = cell->seed;
    }
    qsort(seeds, ns, sizeof *seeds, cmp_ll);   /* numerically; add_distinct drops repeats */
    for (size_t j = 0; j < ns; j++) {
        char t[32];
        snprintf(t, sizeof t, "%lld", seeds[j]);
        add_distinct(kv, seen, "seeds", t);
    }
    free(seeds);
    /* wall time per stage, summed over the cells that journaled it */
    json_t *stages = json_object();
    json_array_foreach(b->pv->timings, i, rec) {
        if ((size_t)json_integer_value(json_object_get(rec, "run_index")) != r)
            continue;
        const char *stage = kb_report_str(rec, "stage");
        double sec = num_or_nan(json_object_get(rec, "seconds"));
        if (!*stage || isnan(sec))
            continue;
        json_t *acc = json_object_get(stages, stage);
        if (!acc) {
            acc = json_pack("[f, i]", 0.0, 0);
            json_object_set_new(stages, stage, acc);
        }
        json_array_set_new(acc, 0, json_real(json_real_value(json_array_get(acc, 0)) + sec));
        json_array_set_new(acc, 1, json_integer(json_integer_value(json_array_get(acc, 1)) + 1));
    }
    const char *stage;
    json_t *acc;
    json_object_foreach(stages, stage, acc) {
        char key[300], t[100];
        snprintf(key, sizeof key, "wall time %s", stage);
        long long cells = json_integer_value(json_array_get(acc, 1));
        snprintf(t, sizeof t, "%.1f s over %lld cell%s", json_real_value(json_array_get(acc, 0)),
                 cells, cells == 1 ? "" : "s");
        add_distinct(kv, seen, key, t);
    }
    json_decref(stages);
    /* to the model */
    struct kb_report_kv *out = alloc0(&b->pv->a, json_object_size(kv), sizeof *out);
    size_t n = 0;
    const char *k;
    json_t *list;
    json_object_foreach(kv, k, list) {
        if (!json_array_size(list))
            continue;
        char *s;
        size_t len;
        FILE *f = kb_report_open(&s, &len);
        json_t *v;
        /* a long list (a key fingerprint per cell) is cut: results.csv has every one */
        json_array_foreach(list, i, v) if (i < PROV_LIST_MAX)
            fprintf(f, "%s%s", i ? ", " : "", json_string_value(v));
        if (json_array_size(list) > PROV_LIST_MAX)
            fprintf(f, ", … (%zu in all)", json_array_size(list));
        fclose(f);
        out[n].key = sdup(&b->pv->a, k);
        out[n++].value = keep(&b->pv->a, s);
    }
    json_decref(kv);
    json_decref(seen);
    run->prov = out;
    run->n_prov = n;
}

/* ------------------------------------------------------------------ entry points */

int kb_report_load(struct kb_report **out, const char *const *run_dirs, size_t n_runs,
                   struct kb_error *err)
{
    *out = NULL;
    if (n_runs == 0)
        return kb_error_set(err, "report: no run directory given");
    struct priv *pv = calloc(1, sizeof *pv);
    struct kb_report *m = calloc(1, sizeof *m);
    if (!pv || !m) {
        free(pv), free(m);
        return kb_error_set(err, "out of memory");
    }
    m->priv_ = pv;
    pv->plans = json_array();
    if (kb_results_collect(&pv->records, run_dirs, n_runs, err) < 0 ||
        kb_records_collect(&pv->timings, run_dirs, n_runs, "timing", err) < 0) {
        kb_report_free(m);
        return -1;
    }
    m->records = pv->records;
    m->n_runs = n_runs;
    struct builder b = { .m = m, .pv = pv, .dirs = run_dirs };
    b.runs = alloc0(&pv->a, n_runs, sizeof *b.runs);
    b.cell_index = json_object();
    b.group_index = json_object();
    int rc = load_plans(&b, err);
    if (rc == 0) {
        collect_cells(&b);
        fill_axis_values(&b);
        build_groups(&b);
        for (size_t r = 0; r < n_runs; r++)
            run_provenance(&b, r);
        m->runs = b.runs;
        m->axes = keep(&pv->a, b.axes ? (void *)b.axes : calloc(1, sizeof *b.axes));
        m->n_axes = b.n_axes;
        m->cells = keep(&pv->a, b.cells ? (void *)b.cells : calloc(1, sizeof *b.cells));
        m->n_cells = b.n_cells;
        m->groups = keep(&pv->a, b.groups ? (void *)b.groups : calloc(1, sizeof *b.groups));
        m->n_groups = b.n_groups;
        build_aggs(&b);
        find_unprotected(m, pv);
        build_headline(&b);
        build_series(&b);
        build_compare(&b);
    } else {
        free(b.axes), free(b.cells), free(b.groups);
    }
    free(b.cell_axes);
    pv->cell_index = b.cell_index;
    json_decref(b.group_index);
    if (rc < 0) {
        kb_report_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

void kb_report_free(struct kb_report *m)
{
    if (!m)
        return;
    struct priv *pv = m->priv_;
    if (pv) {
        for (size_t i = 0; i < pv->a.n; i++)
            free(pv->a.p[i]);
        free(pv->a.p);
        json_decref(pv->records);
        json_decref(pv->timings);
        json_decref(pv->plans);
        json_decref(pv->cell_index);
        free(pv);
    }
    free(m);
}
