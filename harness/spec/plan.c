/* harness/spec/plan.c — matrix expansion: Cartesian product, exclude/include,
 * canonical JSON, cell ids and names. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "spec_internal.h"

struct kb_cell {
    char id[13];
    char *name;
    char *canonical;
    json_t *json;
    json_t *axes;
    const struct kb_plugin *plugin[2];   /* 0: backbone, 1: transform */
    struct kb_params *params[2];
    size_t n_attacks;
    const struct kb_plugin **attack_plugins;
    struct kb_params **attack_params;
};

struct kb_plan {
    char *spec_path;
    char *name;
    size_t n, cap;
    struct kb_cell **cells;
    json_t *ids;           /* id -> index (dedupe) */
    size_t n_axes;
    char **axes;
};

/* ---- JSON helpers --------------------------------------------------------- */

json_t *kb_json_path(const json_t *root, const char *path)
{
    json_t *cur = (json_t *)root;
    const char *p = path;
    char seg[128];
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, p, len);
        seg[len] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long i = strtoul(seg, &end, 10);
            cur = (*seg && !*end) ? json_array_get(cur, i) : NULL;
        } else {
            return NULL;
        }
        p = dot ? dot + 1 : p + len;
    }
    return cur;
}

json_t *kb_node_to_loose_json(const struct kb_node *n)
{
    if (n->type == KB_NODE_MAP)
        return NULL;
    if (n->type == KB_NODE_SEQ) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n->n; i++) {
            json_t *v = kb_node_to_loose_json(n->items[i]);
            if (!v || json_array_append_new(a, v) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    if (n->quoted)
        return json_string(n->text);
    if (kb_node_is_null(n))
        return json_null();
    int64_t i;
    double f;
    bool b;
    if (kb_parse_int(n->text, &i) && !strpbrk(n->text, ".eE"))
        return json_integer(i);
    if (kb_parse_float(n->text, &f))
        return json_real(f);
    if (kb_parse_bool(n->text, &b))
        return json_boolean(b);
    return json_string(n->text);
}

bool kb_json_loose_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!kb_json_loose_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

static int json_path_set(json_t *root, const char *path, json_t *val)
{
    const char *dot = strrchr(path, '.');
    json_t *parent = root;
    const char *leaf = path;
    char head[256];
    if (dot) {
        size_t len = (size_t)(dot - path);
        if (len >= sizeof head) {
            json_decref(val);
            return -1;
        }
        memcpy(head, path, len);
        head[len] = '\0';
        parent = kb_json_path(root, head);
        leaf = dot + 1;
    }
    if (!json_is_object(parent)) {
        json_decref(val);
        return -1;
    }
    return json_object_set_new(parent, leaf, val);
}

/* ---- cells ---------------------------------------------------------------- */

static void cell_free(struct kb_cell *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->canonical);
    json_decref(c->json);
    json_decref(c->axes);
    kb_params_free(c->params[0]);
    kb_params_free(c->params[1]);
    for (size_t i = 0; i < c->n_attacks; i++)
        kb_params_free(c->attack_params[i]);
    free(c->attack_plugins);
    free(c->attack_params);
    free(c);
}

static int canonicalise(struct kb_cell *c)
{
    c->canonical = json_dumps(c->json, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!c->canonical)
        return -1;
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)c->canonical, strlen(c->canonical),
                       NULL, 0);
    sodium_bin2hex(c->id, sizeof c->id, h, 6);
    return 0;
}

static int plan_push(struct kb_plan *p, struct kb_cell *c)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        struct kb_cell **cells = realloc(p->cells, cap * sizeof *cells);
        if (!cells)
            return -1;
        p->cells = cells;
        p->cap = cap;
    }
    if (json_object_set_new(p->ids, c->id, json_integer((json_int_t)p->n)) < 0)
        return -1;
    p->cells[p->n++] = c;
    return 0;
}

/* ---- matrix entries ------------------------------------------------------- */

struct xentry {
    size_t n;
    const char *paths[64];
    json_t *vals[64];
    bool used;
};

static bool str_in(const char *s, char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], s))
            return true;
    return false;
}

/* The paths an exclude entry may name: every listed axis (a group: its name
 * and the keys of its values). */
static int axis_paths(const struct kb_resolved *r, char ***out, size_t *n_out)
{
    char **paths = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < r->n_axes; i++) {
        const struct kb_axis *a = &r->axes[i];
        if (!a->listed && !a->group && strcmp(a->path, "seed"))
            continue;
        for (size_t j = 0; j < (a->group ? a->n : 1); j++) {
            const char *key;
            json_t *v;
            void *it = a->group ? json_object_iter(a->v[j].json) : NULL;
            do {
                char buf[256];
                if (a->group) {
                    key = json_object_iter_key(it);
                    v = json_object_iter_value(it);
                    (void)v;
                    snprintf(buf, sizeof buf, "%s.%s", a->path, key);
                } else {
                    snprintf(buf, sizeof buf, "%s", a->path);
                }
                if (!str_in(buf, paths, n)) {
                    if (n == cap) {
                        cap = cap ? 2 * cap : 16;
                        char **np = realloc(paths, cap * sizeof *np);
                        if (!np)
                            goto oom;
                        paths = np;
                    }
                    if (!(paths[n] = strdup(buf)))
                        goto oom;
                    n++;
                }
                if (a->group)
                    it = json_object_iter_next(a->v[j].json, it);
            } while (it);
        }
    }
    *out = paths;
    *n_out = n;
    return 0;
oom:
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return -1;
}

/* The values an axis path takes in the main product. */
static json_t *axis_values(const struct kb_resolved *r, const char *path, bool *listed)
{
    json_t *vals = json_array();
    *listed = false;
    for (size_t i = 0; vals && i < r->n_axes; i++) {
        const struct kb_axis *a = &r->axes[i];
        size_t plen = strlen(a->path);
        bool whole = !strcmp(a->path, path);
        bool sub = a->group && !strncmp(path, a->path, plen) && path[plen] == '.';
        if (!whole && !sub)
            continue;
        *listed = a->listed;
        for (size_t j = 0; j < a->n; j++) {
            json_t *v = whole ? a->v[j].json : json_object_get(a->v[j].json, path + plen + 1);
            if (v)
                json_array_append(vals, v);
        }
    }
    return vals;
}

static void value_text(char *out, size_t size, const json_t *v)
{
    if (json_is_string(v))
        snprintf(out, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) {
        /* the shortest text that reads back as the same double */
        double f = json_real_value(v);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, size, "%.*g", prec, f);
            if (strtod(out, NULL) == f)
                break;
        }
    }
    else if (json_is_true(v))
        snprintf(out, size, "true");
    else if (json_is_false(v))
        snprintf(out, size, "false");
    else if (json_is_null(v))
        snprintf(out, size, "null");
    else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, size, "%s", t ? t : "?");
        free(t);
    }
}

static int parse_excludes(struct xentry **out, size_t *n_out, const struct kb_node *list,
                          const struct kb_resolved *r, struct kb_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (!list || list->type != KB_NODE_SEQ || !list->n)
        return 0;
    char **paths = NULL;
    size_t np = 0;
    if (axis_paths(r, &paths, &np) < 0)
        return kb_error_set(err, "out of memory");
    struct xentry *x = calloc(list->n, sizeof *x);
    int rc = -1;
    char pos[512];
    if (!x) {
        kb_error_set(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < list->n; i++) {
        const struct kb_node *e = list->items[i];
        *n_out = i + 1;
        for (size_t k = 0; k < e->n && k < 64; k++) {
            const struct kb_node *key = e->keys[k], *val = e->items[k];
            const char *path = kb_spec_group_short(key->text);
            size_t idx = np;
            for (size_t j = 0; j < np; j++)
                if (!strcmp(paths[j], path))
                    idx = j;
            if (idx == np) {
                char hint[256], valid[600] = "";
                size_t used = 0;
                for (size_t j = 0; j < np; j++) {
                    int w = snprintf(valid + used, sizeof valid - used, "%s%s", j ? ", " : "",
                                     paths[j]);
                    if (w > 0 && (size_t)w < sizeof valid - used)
                        used += (size_t)w;
                }
                if (!np)
                    kb_error_set(err, "%s: matrix.exclude: '%s' is not an axis (this spec has no "
                                      "axes: no value is a list)", kb_node_pos(key, pos, sizeof pos),
                                 key->text);
                else if (kb_suggest(hint, sizeof hint, path, (const char *const *)paths, np) > 0)
                    kb_error_set(err, "%s: matrix.exclude: '%s' is not an axis of this spec; did "
                                      "you mean %s? (axes: %s)", kb_node_pos(key, pos, sizeof pos),
                                 key->text, hint, valid);
                else
                    kb_error_set(err, "%s: matrix.exclude: '%s' is not an axis of this spec "
                                      "(axes: %s)", kb_node_pos(key, pos, sizeof pos), key->text,
                                 valid);
                goto done;
            }
            json_t *v = kb_node_to_loose_json(val);
            if (!v) {
                kb_error_set(err, "%s: matrix.exclude: %s: expected a value, got a mapping",
                             kb_node_pos(val, pos, sizeof pos), path);
                goto done;
            }
            x[i].paths[x[i].n] = paths[idx];
            x[i].vals[x[i].n++] = v;
            /* the value must be one the axis takes */
            bool listed;
            json_t *vals = axis_values(r, path, &listed);
            bool found = !listed;   /* a single-valued axis: the entry just matches nothing */
            for (size_t j = 0; j < json_array_size(vals) && !found; j++)
                found = kb_json_loose_equal(json_array_get(vals, j), v);
            if (!found) {
                const char *names[64];
                char texts[64][64], valid[600] = "", hint[256] = "", got[128];
                size_t nn = 0, used = 0;
                for (size_t j = 0; j < json_array_size(vals) && nn < 64; j++) {
                    value_text(texts[nn], sizeof texts[nn], json_array_get(vals, j));
                    bool dup = false;
                    for (size_t q = 0; q < nn && !dup; q++)
                        dup = !strcmp(texts[q], texts[nn]);
                    if (dup)
                        continue;
                    names[nn] = texts[nn];
                    int w = snprintf(valid + used, sizeof valid - used, "%s%s", nn ? ", " : "",
                                     texts[nn]);
                    if (w > 0 && (size_t)w < sizeof valid - used)
                        used += (size_t)w;
                    nn++;
                }
                value_text(got, sizeof got, v);
                if (json_is_string(v) && kb_suggest(hint, sizeof hint, got, names, nn) > 0)
                    kb_error_set(err, "%s: matrix.exclude: %s: no cell has the value '%s'; did "
                                      "you mean %s? (values: %s)", kb_node_pos(val, pos, sizeof pos),
                                 path, got, hint, valid);
                else
                    kb_error_set(err, "%s: matrix.exclude: %s: no cell has the value %s (values: "
                                      "%s)", kb_node_pos(val, pos, sizeof pos), path, got, valid);
                json_decref(vals);
                goto done;
            }
            json_decref(vals);
        }
        if (e->n > 64) {
            kb_error_set(err, "%s: matrix.exclude: too many keys", kb_node_pos(e, pos, sizeof pos));
            goto done;
        }
    }
    /* keep the path strings alive: they are owned by `paths`, freed with x */
    rc = 0;
done:
    if (rc < 0) {
        for (size_t i = 0; x && i < *n_out; i++)
            for (size_t k = 0; k < x[i].n; k++)
                json_decref(x[i].vals[k]);
        free(x);
        x = NULL;
        *n_out = 0;
    } else {
        /* re-point paths at stable copies */
        for (size_t i = 0; i < *n_out; i++)
            for (size_t k = 0; k < x[i].n; k++)
                x[i].paths[k] = strdup(x[i].paths[k]);
    }
    for (size_t i = 0; i < np; i++)
        free(paths[i]);
    free(paths);
    *out = x;
    return rc;
}

static void excludes_free(struct xentry *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < x[i].n; k++) {
            json_decref(x[i].vals[k]);
            free((char *)x[i].paths[k]);
        }
    free(x);
}

static bool excluded(const json_t *cell, struct xentry *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool all = true;
        for (size_t k = 0; k < x[i].n && all; k++)
            all = x[i].paths[k] && kb_json_loose_equal(kb_json_path(cell, x[i].paths[k]), x[i].vals[k]);
        if (all) {
            x[i].used = true;
            return true;
        }
    }
    return false;
}

/* ---- expansion ------------------------------------------------------------ */

static int expand(struct kb_plan *p, const struct kb_resolved *r, struct xentry *x, size_t nx,
                  const struct kb_node *at, struct kb_error *err)
{
    char pos[512];
    size_t total = 1;
    for (size_t i = 0; i < r->n_axes; i++) {
        if (r->axes[i].n && total > KB_SPEC_MAX_CELLS / r->axes[i].n)
            return kb_error_set(err, "%s: the matrix has more than %d cells",
                                kb_node_pos(at, pos, sizeof pos), KB_SPEC_MAX_CELLS);
        total *= r->axes[i].n;
    }
    if (p->n + total > KB_SPEC_MAX_CELLS)
        return kb_error_set(err, "%s: the matrix has more than %d cells",
                            kb_node_pos(at, pos, sizeof pos), KB_SPEC_MAX_CELLS);
    size_t *idx = calloc(r->n_axes ? r->n_axes : 1, sizeof *idx);
    if (!idx)
        return kb_error_set(err, "out of memory");
    int rc = -1;
    for (size_t done = 0; done < total; done++) {
        struct kb_cell *c = calloc(1, sizeof *c);
        if (!c || !(c->json = json_deep_copy(r->tmpl)))
            goto oom;
        for (size_t i = 0; i < r->n_axes; i++) {
            const struct kb_axis *a = &r->axes[i];
            const struct kb_variant *v = &a->v[idx[i]];
            if (json_path_set(c->json, a->path, json_deep_copy(v->json)) < 0)
                goto oom_cell;
            int slot = !strcmp(a->path, "backbone") ? 0 : !strcmp(a->path, "transform") ? 1 : -1;
            if (slot >= 0) {
                c->plugin[slot] = v->plugin;
                if (!(c->params[slot] = kb_params_clone(v->params)))
                    goto oom_cell;
            }
        }
        if (canonicalise(c) < 0)
            goto oom_cell;
        if ((x && excluded(c->json, x, nx)) || json_object_get(p->ids, c->id)) {
            cell_free(c);
        } else {
            c->attack_plugins = calloc(r->n_attacks ? r->n_attacks : 1, sizeof *c->attack_plugins);
            c->attack_params = calloc(r->n_attacks ? r->n_attacks : 1, sizeof *c->attack_params);
            if (!c->attack_plugins || !c->attack_params)
                goto oom_cell;
            for (size_t i = 0; i < r->n_attacks; i++) {
                c->attack_plugins[i] = r->attack_plugins[i];
                if (!(c->attack_params[i] = kb_params_clone(r->attack_params[i])))
                    goto oom_cell;
                c->n_attacks++;
            }
            if (plan_push(p, c) < 0)
                goto oom_cell;
        }
        /* odometer: the last axis varies fastest */
        for (size_t i = r->n_axes; i > 0; i--) {
            if (++idx[i - 1] < r->axes[i - 1].n)
                break;
            idx[i - 1] = 0;
        }
        continue;
oom_cell:
        cell_free(c);
        goto oom;
    }
    rc = 0;
    goto out;
oom:
    kb_error_set(err, "out of memory");
out:
    free(idx);
    return rc;
}

static bool is_cell_section(const char *k, size_t len)
{
    for (size_t i = 0; i < kb_spec_n_cell_sections; i++)
        if (strlen(kb_spec_cell_sections[i]) == len && !strncmp(kb_spec_cell_sections[i], k, len))
            return true;
    return false;
}

static int include_entry(struct kb_plan *p, const struct kb_spec *s, const struct kb_node *e,
                         struct kb_error *err)
{
    char pos[512];
    struct kb_node *tree = kb_node_clone(s->root);
    if (!tree)
        return kb_error_set(err, "out of memory");
    long m = kb_node_map_index(tree, "matrix");
    if (m >= 0)
        kb_node_map_remove(tree, (size_t)m);
    int rc = -1;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < e->n; k++) {
            const struct kb_node *key = e->keys[k];
            const char *path = kb_spec_group_short(key->text);
            size_t plen = strlen(path);
            bool is_name = plen > 5 && !strcmp(path + plen - 5, ".name") &&
                           strchr(path, '.') == path + plen - 5;
            if ((pass == 0) != is_name)
                continue;
            const char *dot = strchr(path, '.');
            if (!is_cell_section(path, dot ? (size_t)(dot - path) : plen)) {
                kb_error_set(err, "%s: matrix.include: '%s' is not part of a cell (give dataset, "
                                  "backbone, transform, splits, pretrain, finetune, evaluate or "
                                  "seed values)", kb_node_pos(key, pos, sizeof pos), key->text);
                goto done;
            }
            struct kb_node *val = kb_node_clone(e->items[k]);
            if (!val) {
                kb_error_set(err, "out of memory");
                goto done;
            }
            if (kb_tree_set(tree, path, val, key, true, err) < 0) {
                kb_error_prefix(err, "matrix.include");
                goto done;
            }
        }
    }
    struct kb_resolved *r = NULL;
    if (kb_resolve(&r, tree, s->reg, err) < 0)
        goto done;
    rc = expand(p, r, NULL, 0, e, err);
    kb_resolved_free(r);
done:
    kb_node_free(tree);
    return rc;
}

/* ---- names and plan axes --------------------------------------------------- */

static void leaf_paths(json_t *set, json_t *order, const json_t *v, const char *prefix)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach((json_t *)v, k, child) {
            char buf[512];
            snprintf(buf, sizeof buf, "%s.%s", prefix, k);
            leaf_paths(set, order, child, buf);
        }
        return;
    }
    if (!json_object_get(set, prefix)) {
        json_object_set_new(set, prefix, json_true());
        json_array_append_new(order, json_string(prefix));
    }
}

static void sanitise(char *s)
{
    for (; *s; s++)
        if (*s == '/' || isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
            *s = '_';
}

static int name_cells(struct kb_plan *p)
{
    json_t *set = json_object(), *order = json_array();
    if (!set || !order)
        goto oom;
    for (size_t s = 0; s < kb_spec_n_cell_sections; s++) {
        const char *sec = kb_spec_cell_sections[s];
        for (size_t i = 0; i < p->n; i++) {
            json_t *v = json_object_get(p->cells[i]->json, sec);
            if (v)
                leaf_paths(set, order, v, sec);
        }
    }
    /* the varying paths are the plan's axes */
    size_t np = json_array_size(order);
    p->axes = calloc(np ? np : 1, sizeof *p->axes);
    if (!p->axes)
        goto oom;
    for (size_t j = 0; j < np; j++) {
        const char *path = json_string_value(json_array_get(order, j));
        /* an axis: two cells have different non-null values */
        json_t *first = NULL;
        bool varies = false;
        for (size_t i = 0; i < p->n && !varies; i++) {
            json_t *v = kb_json_path(p->cells[i]->json, path);
            if (!v || json_is_null(v))
                continue;
            if (!first)
                first = v;
            else
                varies = !json_equal(v, first);
        }
        if (varies && !(p->axes[p->n_axes++] = strdup(path)))
            goto oom;
    }
    /* a group key shows in names where it varies among cells of one plugin:
     * shown["transform.block_size"]["pixel_shuffle"] = true */
    json_t *shown = json_object(), *firsts = json_object();
    json_t *names = json_object();
    if (!names || !shown || !firsts)
        goto oom_names;
    for (size_t j = 0; j < p->n_axes; j++) {
        const char *ax = p->axes[j];
        const char *dot = strchr(ax, '.');
        if (!dot || !strcmp(dot, ".name"))
            continue;
        char g[32];
        snprintf(g, sizeof g, "%.*s", (int)(dot - ax), ax);
        json_t *sh = json_object(), *fi = json_object();
        json_object_set_new(shown, ax, sh);
        json_object_set_new(firsts, ax, fi);
        for (size_t i = 0; i < p->n; i++) {
            json_t *grp = json_object_get(p->cells[i]->json, g);
            const char *gname = json_string_value(json_object_get(grp, "name"));
            json_t *v = kb_json_path(p->cells[i]->json, ax);
            if (!gname || !v)
                continue;
            json_t *f = json_object_get(fi, gname);
            if (!f)
                json_object_set(fi, gname, v);
            else if (!json_equal(f, v))
                json_object_set_new(sh, gname, json_true());
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        struct kb_cell *c = p->cells[i];
        if (!(c->axes = json_object()))
            goto oom_names;
        for (size_t j = 0; j < p->n_axes; j++) {
            json_t *v = kb_json_path(c->json, p->axes[j]);
            json_object_set_new(c->axes, p->axes[j], v ? json_incref(v) : json_null());
        }
        char name[2048] = "";
        size_t used = 0;
#define APPEND(...)                                                                 \
    do {                                                                            \
        int w_ = snprintf(name + used, sizeof name - used, __VA_ARGS__);            \
        if (w_ > 0)                                                                 \
            used = used + (size_t)w_ < sizeof name ? used + (size_t)w_ : sizeof name - 1; \
    } while (0)
        static const char *const groups[] = { "dataset", "backbone", "transform" };
        for (size_t g = 0; g < 3; g++) {
            char val[256];
            value_text(val, sizeof val, kb_json_path(c->json, groups[g]) ?
                       json_object_get(kb_json_path(c->json, groups[g]), "name") : NULL);
            sanitise(val);
            APPEND("%s%s", g ? "/" : "", val);
            size_t glen = strlen(groups[g]);
            for (size_t j = 0; j < p->n_axes; j++) {
                const char *ax = p->axes[j];
                if (strncmp(ax, groups[g], glen) || ax[glen] != '.' || !strcmp(ax + glen, ".name"))
                    continue;
                json_t *v = kb_json_path(c->json, ax);
                const char *gname = json_string_value(
                    json_object_get(json_object_get(c->json, groups[g]), "name"));
                if (!v || json_is_null(v) || !gname ||
                    !json_object_get(json_object_get(shown, ax), gname))
                    continue;
                value_text(val, sizeof val, v);
                sanitise(val);
                APPEND("-%s=%s", ax + glen + 1, val);
            }
        }
        for (size_t j = 0; j < p->n_axes; j++) {
            const char *ax = p->axes[j];
            if (!strncmp(ax, "dataset.", 8) || !strncmp(ax, "backbone.", 9) ||
                !strncmp(ax, "transform.", 10) || !strcmp(ax, "seed"))
                continue;
            char val[256];
            value_text(val, sizeof val, kb_json_path(c->json, ax));
            sanitise(val);
            APPEND("/%s=%s", ax, val);
        }
        APPEND("/s%lld", (long long)json_integer_value(json_object_get(c->json, "seed")));
#undef APPEND
        if (!(c->name = strdup(name)))
            goto oom_names;
        json_t *prev = json_object_get(names, name);
        if (prev)
            json_array_append_new(prev, json_integer((json_int_t)i));
        else {
            json_t *a = json_array();
            json_array_append_new(a, json_integer((json_int_t)i));
            json_object_set_new(names, name, a);
        }
    }
    /* equal names (cells differing only where names do not look): add the id */
    const char *k;
    json_t *a;
    json_object_foreach(names, k, a) {
        if (json_array_size(a) < 2)
            continue;
        for (size_t j = 0; j < json_array_size(a); j++) {
            struct kb_cell *c = p->cells[json_integer_value(json_array_get(a, j))];
            size_t len = strlen(c->name) + 14;
            char *nn = malloc(len);
            if (!nn)
                goto oom_names;
            snprintf(nn, len, "%s~%s", c->name, c->id);
            free(c->name);
            c->name = nn;
        }
    }
    json_decref(shown);
    json_decref(firsts);
    json_decref(names);
    json_decref(set);
    json_decref(order);
    return 0;
oom_names:
    json_decref(shown);
    json_decref(firsts);
    json_decref(names);
oom:
    json_decref(set);
    json_decref(order);
    return -1;
}

/* ---- public --------------------------------------------------------------- */

int kb_plan_expand(struct kb_plan **out, const struct kb_spec *s, struct kb_error *err)
{
    *out = NULL;
    if (!s->res)
        return kb_error_set(err, "%s: the spec has not been validated (call kb_spec_validate)",
                            s->path);
    if (sodium_init() < 0)
        return kb_error_set(err, "libsodium failed to initialise");
    struct kb_plan *p = calloc(1, sizeof *p);
    if (!p || !(p->ids = json_object()) || !(p->spec_path = strdup(s->path)) ||
        !(p->name = strdup(s->name))) {
        kb_plan_free(p);
        return kb_error_set(err, "out of memory");
    }
    const struct kb_node *matrix = kb_node_map_get(s->root, "matrix");
    const struct kb_node *excl = kb_node_map_get(matrix, "exclude");
    const struct kb_node *incl = kb_node_map_get(matrix, "include");
    struct xentry *x = NULL;
    size_t nx = 0;
    if (parse_excludes(&x, &nx, excl, s->res, err) < 0)
        goto fail;
    int rc = expand(p, s->res, x, nx, s->root, err);
    excludes_free(x, nx);
    if (rc < 0)
        goto fail;
    for (size_t i = 0; incl && incl->type == KB_NODE_SEQ && i < incl->n; i++)
        if (include_entry(p, s, incl->items[i], err) < 0)
            goto fail;
    if (!p->n) {
        char pos[512];
        long xi = kb_node_map_index(matrix, "exclude");
        kb_error_set(err, "%s: matrix.exclude removes every cell: nothing would run",
                     kb_node_pos(xi >= 0 ? matrix->keys[xi] : s->root, pos, sizeof pos));
        goto fail;
    }
    if (name_cells(p) < 0) {
        kb_error_set(err, "out of memory");
        goto fail;
    }
    *out = p;
    return 0;
fail:
    kb_plan_free(p);
    return -1;
}

void kb_plan_free(struct kb_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        cell_free(p->cells[i]);
    free(p->cells);
    for (size_t i = 0; i < p->n_axes; i++)
        free(p->axes[i]);
    free(p->axes);
    json_decref(p->ids);
    free(p->spec_path);
    free(p->name);
    free(p);
}

size_t kb_plan_count(const struct kb_plan *p) { return p->n; }

const struct kb_cell *kb_plan_cell(const struct kb_plan *p, size_t i)
{
    return i < p->n ? p->cells[i] : NULL;
}

const struct kb_cell *kb_plan_find(const struct kb_plan *p, const char *id)
{
    size_t len = strlen(id);
    if (len < 4 || len > 12)
        return NULL;
    const struct kb_cell *hit = NULL;
    for (size_t i = 0; i < p->n; i++)
        if (!strncmp(p->cells[i]->id, id, len)) {
            if (hit)
                return NULL;
            hit = p->cells[i];
        }
    return hit;
}

size_t kb_plan_axes(const struct kb_plan *p, const char *const **paths)
{
    *paths = (const char *const *)p->axes;
    return p->n_axes;
}

struct json_t *kb_plan_json(const struct kb_plan *p)
{
    json_t *o = json_object(), *axes = json_array(), *cells = json_array();
    if (!o || !axes || !cells) {
        json_decref(o);
        json_decref(axes);
        json_decref(cells);
        return NULL;
    }
    json_object_set_new(o, "spec", json_string(p->spec_path));
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "count", json_integer((json_int_t)p->n));
    for (size_t i = 0; i < p->n_axes; i++)
        json_array_append_new(axes, json_string(p->axes[i]));
    json_object_set_new(o, "axes", axes);
    for (size_t i = 0; i < p->n; i++) {
        const struct kb_cell *c = p->cells[i];
        json_t *e = json_object();
        if (!e)
            break;
        json_object_set_new(e, "id", json_string(c->id));
        json_object_set_new(e, "name", json_string(c->name));
        json_object_set(e, "axes", c->axes);
        json_object_set(e, "config", c->json);
        json_array_append_new(cells, e);
    }
    json_object_set_new(o, "cells", cells);
    return o;
}

/* ---- cell accessors -------------------------------------------------------- */

const char *kb_cell_id(const struct kb_cell *c) { return c->id; }
const char *kb_cell_name(const struct kb_cell *c) { return c->name; }
const char *kb_cell_canonical(const struct kb_cell *c) { return c->canonical; }
const struct json_t *kb_cell_json(const struct kb_cell *c) { return c->json; }
const struct json_t *kb_cell_axes(const struct kb_cell *c) { return c->axes; }

const struct json_t *kb_cell_get(const struct kb_cell *c, const char *path)
{
    return kb_json_path(c->json, path);
}

bool kb_cell_has(const struct kb_cell *c, const char *path)
{
    return kb_json_path(c->json, path) != NULL;
}

static const json_t *must_get(const struct kb_cell *c, const char *path, const char *type,
                              bool ok_null)
{
    const json_t *v = kb_json_path(c->json, path);
    if (!v || (!ok_null && json_is_null(v))) {
        fprintf(stderr, "keybench: bug: cell %s has no %s '%s'\n", c->id, type, path);
        abort();
    }
    return v;
}

static void wrong_type(const struct kb_cell *c, const char *path, const char *type)
{
    fprintf(stderr, "keybench: bug: cell %s: '%s' is not %s\n", c->id, path, type);
    abort();
}

int64_t kb_cell_int(const struct kb_cell *c, const char *path)
{
    const json_t *v = must_get(c, path, "integer", false);
    if (!json_is_integer(v))
        wrong_type(c, path, "an integer");
    return (int64_t)json_integer_value(v);
}

double kb_cell_float(const struct kb_cell *c, const char *path)
{
    const json_t *v = must_get(c, path, "number", false);
    if (!json_is_number(v))
        wrong_type(c, path, "a number");
    return json_number_value(v);
}

bool kb_cell_bool(const struct kb_cell *c, const char *path)
{
    const json_t *v = must_get(c, path, "boolean", false);
    if (!json_is_boolean(v))
        wrong_type(c, path, "a boolean");
    return json_is_true(v);
}

const char *kb_cell_str(const struct kb_cell *c, const char *path)
{
    const json_t *v = must_get(c, path, "string", true);
    if (json_is_null(v))
        return NULL;
    if (!json_is_string(v))
        wrong_type(c, path, "a string");
    return json_string_value(v);
}

const struct kb_plugin *kb_cell_plugin(const struct kb_cell *c, enum kb_plugin_kind kind)
{
    return kind == KB_KIND_BACKBONE ? c->plugin[0] : kind == KB_KIND_TRANSFORM ? c->plugin[1] : NULL;
}

const struct kb_params *kb_cell_params(const struct kb_cell *c, enum kb_plugin_kind kind)
{
    return kind == KB_KIND_BACKBONE ? c->params[0] : kind == KB_KIND_TRANSFORM ? c->params[1] : NULL;
}

size_t kb_cell_attack_count(const struct kb_cell *c) { return c->n_attacks; }

const struct kb_plugin *kb_cell_attack(const struct kb_cell *c, size_t i,
                                       const struct kb_params **params)
{
    if (i >= c->n_attacks)
        return NULL;
    if (params)
        *params = c->attack_params[i];
    return c->attack_plugins[i];
}
