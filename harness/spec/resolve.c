/* harness/spec/resolve.c — checking a spec tree against the harness schema and
 * the plugins' parameter schemas, into a template cell plus axes. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keybench/dataset.h>

#include "spec_internal.h"

/* ---- the harness schema ---------------------------------------------------- */

enum ft { FT_INT, FT_FLOAT, FT_BOOL, FT_STRING, FT_CHOICE, FT_PATH, FT_INT_LIST, FT_STR_LIST };

#define HAS_LO 1u
#define HAS_HI 2u
#define LO_OPEN 4u
#define HI_OPEN 8u
#define AXIS 16u

struct field {
    const char *name;
    enum ft type;
    const char *dflt;      /* text; NULL: optional, JSON null when not given */
    double lo, hi;
    unsigned flags;
    const char *choices;
};

#define SCHEDULE_FIELDS(EPOCHS, BATCH, LR)                                                   \
    { "epochs", FT_INT, EPOCHS, 0, 1e6, HAS_LO | HAS_HI | AXIS, NULL },                      \
    { "batch_size", FT_INT, BATCH, 1, 1048576, HAS_LO | HAS_HI | AXIS, NULL },               \
    { "optimizer", FT_CHOICE, "sgd", 0, 0, AXIS, "sgd|adam|adamw" },                         \
    { "lr", FT_FLOAT, LR, 0, 0, HAS_LO | LO_OPEN | AXIS, NULL },                             \
    { "momentum", FT_FLOAT, "0.9", 0, 1, HAS_LO | HAS_HI | HI_OPEN | AXIS, NULL },           \
    { "nesterov", FT_BOOL, "false", 0, 0, AXIS, NULL },                                      \
    { "weight_decay", FT_FLOAT, "0.0005", 0, 0, HAS_LO | AXIS, NULL },                       \
    { "schedule", FT_CHOICE, "cosine", 0, 0, AXIS, "constant|step|multistep|cosine|onecycle" }, \
    { "step_size", FT_INT, "10", 1, 1e6, HAS_LO | HAS_HI | AXIS, NULL },                     \
    { "warmup_epochs", FT_INT, "0", 0, 1e6, HAS_LO | HAS_HI | AXIS, NULL },                  \
    { "milestones", FT_INT_LIST, NULL, 0, 1e6, HAS_LO | HAS_HI | AXIS, NULL },               \
    { "gamma", FT_FLOAT, "0.1", 0, 1, HAS_LO | HAS_HI | LO_OPEN | AXIS, NULL },              \
    { "label_smoothing", FT_FLOAT, "0", 0, 1, HAS_LO | HAS_HI | HI_OPEN | AXIS, NULL }

static const struct field pretrain_fields[] = {
    SCHEDULE_FIELDS("10", "128", "0.05"),
    { "weights", FT_PATH, NULL, 0, 0, AXIS, NULL },
    { NULL, 0, NULL, 0, 0, 0, NULL }
};

static const struct field finetune_fields[] = {
    SCHEDULE_FIELDS("5", "64", "0.01"),
    { "freeze", FT_STR_LIST, NULL, 0, 0, AXIS, NULL },
    { NULL, 0, NULL, 0, 0, 0, NULL }
};

static const struct field evaluate_fields[] = {
    { "wrong_keys", FT_INT, "10", 0, 1e6, HAS_LO | HAS_HI, NULL },
    { "batch_size", FT_INT, "256", 1, 1048576, HAS_LO | HAS_HI, NULL },
    { NULL, 0, NULL, 0, 0, 0, NULL }
};

static const struct field split_fields[] = {
    { "fraction", FT_FLOAT, NULL, 0, 1, HAS_LO | HAS_HI | LO_OPEN | AXIS, NULL },
    { "count", FT_INT, NULL, 1, 0, HAS_LO | AXIS, NULL },
    { NULL, 0, NULL, 0, 0, 0, NULL }
};

static const struct field dataset_fields[] = {
    { "name", FT_CHOICE, "fashion-mnist", 0, 0, 0, "fashion-mnist|mnist|cifar10|cifar100|idx|png" },
    { "path", FT_PATH, NULL, 0, 0, 0, NULL },
    { NULL, 0, NULL, 0, 0, 0, NULL }
};

static const char *const split_names[] = { "pretrain", "finetune", "attacker", "test" };
static const char *const split_default_key[] = { "fraction", "fraction", "count", "fraction" };
static const char *const split_default_val[] = { "1.0", "0.1", "1000", "1.0" };


static const char *const top_keys[] = {
    "name", "description", "include", "plugin_path", "key", "output", "dataset", "splits",
    "backbone", "transform", "seed", "pretrain", "finetune", "evaluate", "attacks", "matrix",
};

const char *const kb_spec_cell_sections[] = {
    "dataset", "backbone", "transform", "splits", "pretrain", "finetune", "evaluate", "seed",
};
const size_t kb_spec_n_cell_sections = sizeof kb_spec_cell_sections / sizeof kb_spec_cell_sections[0];

/* ---- small helpers -------------------------------------------------------- */

#define POS(n) kb_node_pos((n), pos, sizeof pos)

bool kb_parse_int(const char *s, int64_t *out)
{
    if (!*s || isspace((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0' && !errno) {
        *out = v;
        return true;
    }
    double f;
    if (!kb_parse_float(s, &f) || f != floor(f) || fabs(f) > 9007199254740992.0)
        return false;
    *out = (int64_t)f;
    return true;
}

bool kb_parse_float(const char *s, double *out)
{
    if (!*s || isspace((unsigned char)*s) || strpbrk(s, "xXnN"))
        return false;   /* no hex, inf, nan */
    char *end;
    errno = 0;
    double f = strtod(s, &end);
    if (*end != '\0' || !isfinite(f))
        return false;
    *out = f;
    return true;
}

bool kb_parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
        *out = false;
        return true;
    }
    return false;
}

static const char *node_kind(const struct kb_node *n)
{
    if (n->type == KB_NODE_MAP)
        return "a mapping";
    if (n->type == KB_NODE_SEQ)
        return "a list";
    return "a scalar";
}

/* "unknown key 'k' in WHERE; did you mean …? (valid: …)" */
static int unknown_key(struct kb_error *err, const struct kb_node *key, const char *where,
                       const char *const *names, size_t n)
{
    char pos[512], hint[256], valid[600] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(valid + used, sizeof valid - used, "%s%s", i ? ", " : "", names[i]);
        if (w > 0 && (size_t)w < sizeof valid - used)
            used += (size_t)w;
    }
    if (kb_suggest(hint, sizeof hint, key->text, names, n) > 0)
        return kb_error_set(err, "%s: unknown key '%s' in %s; did you mean %s? (valid: %s)",
                            POS(key), key->text, where, hint, valid);
    return kb_error_set(err, "%s: unknown key '%s' in %s (valid: %s)", POS(key), key->text, where,
                        valid);
}

static int check_keys(const struct kb_node *map, const char *where, const struct field *fields,
                      const char *const *extra, size_t n_extra, struct kb_error *err)
{
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; i < n_extra && n < 64; i++)
        names[n++] = extra[i];
    for (size_t i = 0; fields && fields[i].name && n < 64; i++)
        names[n++] = fields[i].name;
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (size_t j = 0; j < n && !ok; j++)
            ok = !strcmp(map->keys[i]->text, names[j]);
        if (!ok)
            return unknown_key(err, map->keys[i], where, names, n);
    }
    return 0;
}

static char *abs_path(const struct kb_node *n)
{
    const char *rel = n->text;
    if (rel[0] == '/')
        return strdup(rel);
    const char *dir = n->origin ? n->origin->dir : NULL;
    char cwd[PATH_MAX];
    if (!dir)
        dir = getcwd(cwd, sizeof cwd);
    if (!dir)
        return strdup(rel);
    size_t len = strlen(dir) + strlen(rel) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", rel);
    return s;
}

/* One scalar of a harness field -> typed JSON (NULL on error). `what` is the
 * dotted path for messages. */
static json_t *field_scalar(const struct field *f, const struct kb_node *n, const char *what,
                            struct kb_error *err)
{
    char pos[512];
    if (n->type != KB_NODE_SCALAR) {
        kb_error_set(err, "%s: %s: expected %s, got %s", POS(n), what,
                     f->type == FT_INT ? "an integer" : f->type == FT_FLOAT ? "a number"
                     : f->type == FT_BOOL ? "true or false" : "a string", node_kind(n));
        return NULL;
    }
    const char *t = n->text;
    switch (f->type) {
    case FT_INT:
    case FT_FLOAT:
    case FT_INT_LIST: {
        double v;
        int64_t iv = 0;
        bool is_int = f->type != FT_FLOAT;
        if (n->quoted || (is_int ? !kb_parse_int(t, &iv) : !kb_parse_float(t, &v))) {
            kb_error_set(err, "%s: %s: expected %s, got '%s'", POS(n), what,
                         is_int ? "an integer" : "a number", t);
            return NULL;
        }
        if (is_int)
            v = (double)iv;
        bool bad = ((f->flags & HAS_LO) && (v < f->lo || ((f->flags & LO_OPEN) && v == f->lo))) ||
                   ((f->flags & HAS_HI) && (v > f->hi || ((f->flags & HI_OPEN) && v == f->hi)));
        if (bad) {
            char range[128];
            if ((f->flags & HAS_LO) && (f->flags & HAS_HI))
                snprintf(range, sizeof range, "out of range %s%g, %g%s",
                         (f->flags & LO_OPEN) ? "(" : "[", f->lo, f->hi,
                         (f->flags & HI_OPEN) ? ")" : "]");
            else
                snprintf(range, sizeof range, "out of range: expected %s %g",
                         (f->flags & LO_OPEN) ? ">" : ">=", f->lo);
            kb_error_set(err, "%s: %s: %s is %s", POS(n), what, t, range);
            return NULL;
        }
        return is_int ? json_integer(iv) : json_real(v);
    }
    case FT_BOOL: {
        bool b;
        if (n->quoted || !kb_parse_bool(t, &b)) {
            kb_error_set(err, "%s: %s: expected true or false, got '%s'", POS(n), what, t);
            return NULL;
        }
        return json_boolean(b);
    }
    case FT_CHOICE: {
        const char *names[16];
        size_t k = 0;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", f->choices);
        for (char *save = NULL, *c = strtok_r(buf, "|", &save); c && k < 16;
             c = strtok_r(NULL, "|", &save))
            names[k++] = c;
        for (size_t i = 0; i < k; i++)
            if (!strcmp(names[i], t))
                return json_string(t);
        char hint[256];
        if (kb_suggest(hint, sizeof hint, t, names, k) > 0)
            kb_error_set(err, "%s: %s: '%s' is not one of %s; did you mean %s?", POS(n), what, t,
                         f->choices, hint);
        else
            kb_error_set(err, "%s: %s: '%s' is not one of %s", POS(n), what, t, f->choices);
        return NULL;
    }
    case FT_PATH: {
        if (!*t) {
            kb_error_set(err, "%s: %s: expected a file name", POS(n), what);
            return NULL;
        }
        char *p = abs_path(n);
        json_t *j = p ? json_string(p) : NULL;
        free(p);
        return j;
    }
    case FT_STRING:
    case FT_STR_LIST:
        return json_string(t);
    }
    return NULL;
}

/* A list-typed field value (milestones, freeze): a sequence of scalars. */
static json_t *field_list(const struct field *f, const struct kb_node *n, const char *what,
                          struct kb_error *err)
{
    char pos[512];
    if (n->type != KB_NODE_SEQ) {
        kb_error_set(err, "%s: %s: expected a list, got %s", POS(n), what, node_kind(n));
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n->n; i++) {
        json_t *v = field_scalar(f, n->items[i], what, err);
        if (!v || json_array_append_new(arr, v) < 0) {
            json_decref(arr);
            return NULL;
        }
        if (f->type == FT_INT_LIST && i > 0 &&
            json_integer_value(v) <= json_integer_value(json_array_get(arr, i - 1))) {
            kb_error_set(err, "%s: %s: must increase (%s after %lld)", POS(n->items[i]), what,
                         n->items[i]->text, (long long)json_integer_value(json_array_get(arr, i - 1)));
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *field_default(const struct field *f)
{
    if (f->type == FT_INT_LIST || f->type == FT_STR_LIST)
        return json_array();
    if (!f->dflt)
        return json_null();
    switch (f->type) {
    case FT_INT: return json_integer(strtoll(f->dflt, NULL, 10));
    case FT_FLOAT: return json_real(strtod(f->dflt, NULL));
    case FT_BOOL: return json_boolean(!strcmp(f->dflt, "true"));
    default: return json_string(f->dflt);
    }
}

/* ---- building the resolution ---------------------------------------------- */

struct rctx {
    struct kb_resolved *r;
    const struct kb_registry *reg;
    struct kb_error *err;
};

static void variant_free(struct kb_variant *v)
{
    json_decref(v->json);
    kb_params_free(v->params);
}

static struct kb_axis *axis_add(struct rctx *c, const char *path, bool group,
                                const struct kb_node *node)
{
    struct kb_resolved *r = c->r;
    struct kb_axis *a = realloc(r->axes, (r->n_axes + 1) * sizeof *a);
    if (!a) {
        kb_error_set(c->err, "out of memory");
        return NULL;
    }
    r->axes = a;
    a = &r->axes[r->n_axes];
    memset(a, 0, sizeof *a);
    if (!(a->path = strdup(path))) {
        kb_error_set(c->err, "out of memory");
        return NULL;
    }
    r->n_axes++;
    a->group = group;
    a->node = node;
    return a;
}

/* Append a variant (takes `json` and `params`); a duplicate is an error. */
static int axis_push(struct rctx *c, struct kb_axis *a, json_t *json, const struct kb_plugin *pl,
                     struct kb_params *params, const struct kb_node *at)
{
    char pos[512];
    for (size_t i = 0; json && i < a->n; i++) {
        if (json_equal(a->v[i].json, json)) {
            json_decref(json);
            kb_params_free(params);
            char *txt = json_dumps(a->v[i].json, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
            kb_error_set(c->err, "%s: %s: the value %.300s is listed twice", POS(at), a->path,
                         txt ? txt : "?");
            free(txt);
            return -1;
        }
    }
    struct kb_variant *v = json ? realloc(a->v, (a->n + 1) * sizeof *v) : NULL;
    if (!v) {
        json_decref(json);
        kb_params_free(params);
        return kb_error_set(c->err, "out of memory");
    }
    a->v = v;
    a->v[a->n++] = (struct kb_variant){ json, pl, params };
    return 0;
}

/* A harness field in a section: its value goes into `obj`; a list value of an
 * AXIS field becomes an axis "<prefix>.<name>". */
static int resolve_field(struct rctx *c, json_t *obj, const char *prefix, const struct field *f,
                         const struct kb_node *n)
{
    char what[128];
    snprintf(what, sizeof what, "%s.%s", prefix, f->name);
    bool listy = f->type == FT_INT_LIST || f->type == FT_STR_LIST;
    if (!n || kb_node_is_null(n))
        return json_object_set_new(obj, f->name, field_default(f)) < 0
                   ? kb_error_set(c->err, "out of memory") : 0;
    bool axis = (f->flags & AXIS) && n->type == KB_NODE_SEQ &&
                (!listy || (n->n > 0 && n->items[0]->type == KB_NODE_SEQ));
    if (!axis) {
        json_t *v = listy ? field_list(f, n, what, c->err) : field_scalar(f, n, what, c->err);
        if (!v)
            return -1;
        return json_object_set_new(obj, f->name, v) < 0 ? kb_error_set(c->err, "out of memory") : 0;
    }
    char pos[512];
    if (n->n == 0)
        return kb_error_set(c->err, "%s: %s: an empty list (an axis needs at least one value)",
                            POS(n), what);
    struct kb_axis *a = axis_add(c, what, false, n);
    if (!a)
        return -1;
    a->listed = true;
    for (size_t i = 0; i < n->n; i++) {
        json_t *v = listy ? field_list(f, n->items[i], what, c->err)
                          : field_scalar(f, n->items[i], what, c->err);
        if (!v || axis_push(c, a, v, NULL, NULL, n->items[i]) < 0)
            return -1;
    }
    return json_object_set(obj, f->name, a->v[0].json) < 0 ? kb_error_set(c->err, "out of memory") : 0;
}

static int resolve_section(struct rctx *c, const char *name, const struct field *fields,
                           const struct kb_node *n)
{
    char pos[512];
    if (n && !kb_node_is_null(n) && n->type != KB_NODE_MAP)
        return kb_error_set(c->err, "%s: %s: expected a mapping, got %s", POS(n), name,
                            node_kind(n));
    if (n && n->type == KB_NODE_MAP && check_keys(n, name, fields, NULL, 0, c->err) < 0)
        return -1;
    json_t *obj = json_object();
    if (!obj || json_object_set_new(c->r->tmpl, name, obj) < 0)
        return kb_error_set(c->err, "out of memory");
    const struct kb_node *m = n && n->type == KB_NODE_MAP ? n : NULL;
    for (size_t i = 0; fields[i].name; i++)
        if (resolve_field(c, obj, name, &fields[i], kb_node_map_get(m, fields[i].name)) < 0)
            return -1;
    /* multistep needs milestones, in every combination the axes allow */
    bool multistep = false, empty_ms = false;
    char sp[64], mp[64];
    snprintf(sp, sizeof sp, "%s.schedule", name);
    snprintf(mp, sizeof mp, "%s.milestones", name);
    const struct kb_axis *sa = NULL, *ma = NULL;
    for (size_t i = 0; i < c->r->n_axes; i++) {
        if (!strcmp(c->r->axes[i].path, sp))
            sa = &c->r->axes[i];
        if (!strcmp(c->r->axes[i].path, mp))
            ma = &c->r->axes[i];
    }
    for (size_t i = 0; i < (sa ? sa->n : 1); i++) {
        const char *v = json_string_value(sa ? sa->v[i].json : json_object_get(obj, "schedule"));
        multistep |= v && !strcmp(v, "multistep");
    }
    for (size_t i = 0; i < (ma ? ma->n : 1); i++)
        empty_ms |= json_array_size(ma ? ma->v[i].json : json_object_get(obj, "milestones")) == 0;
    if (json_object_get(obj, "schedule") && multistep && empty_ms) {
        const struct kb_node *at = kb_node_map_get(m, "schedule");
        return kb_error_set(c->err, "%s: %s.schedule: multistep needs %s.milestones (a list of "
                                    "epochs)", POS(at ? at : n), name, name);
    }
    return 0;
}

static int resolve_splits(struct rctx *c, const struct kb_node *n)
{
    char pos[512];
    if (n && !kb_node_is_null(n) && n->type != KB_NODE_MAP)
        return kb_error_set(c->err, "%s: splits: expected a mapping, got %s", POS(n), node_kind(n));
    const struct kb_node *m = n && n->type == KB_NODE_MAP ? n : NULL;
    static const struct field disjoint = { "disjoint", FT_BOOL, "true", 0, 0, 0, NULL };
    const char *keys[5] = { "pretrain", "finetune", "attacker", "test", "disjoint" };
    if (m && check_keys(m, "splits", NULL, keys, 5, c->err) < 0)
        return -1;
    json_t *obj = json_object();
    if (!obj || json_object_set_new(c->r->tmpl, "splits", obj) < 0)
        return kb_error_set(c->err, "out of memory");
    for (size_t i = 0; i < 4; i++) {
        const struct kb_node *s = kb_node_map_get(m, split_names[i]);
        char where[64];
        snprintf(where, sizeof where, "splits.%s", split_names[i]);
        json_t *so = json_object();
        if (!so || json_object_set_new(obj, split_names[i], so) < 0)
            return kb_error_set(c->err, "out of memory");
        if (s && !kb_node_is_null(s) && s->type != KB_NODE_MAP)
            return kb_error_set(c->err, "%s: %s: expected {fraction: F} or {count: N}, got %s",
                                POS(s), where, node_kind(s));
        const struct kb_node *sm = s && s->type == KB_NODE_MAP ? s : NULL;
        if (sm && check_keys(sm, where, split_fields, NULL, 0, c->err) < 0)
            return -1;
        const struct kb_node *fr = kb_node_map_get(sm, "fraction");
        const struct kb_node *ct = kb_node_map_get(sm, "count");
        if (fr && kb_node_is_null(fr))
            fr = NULL;
        if (ct && kb_node_is_null(ct))
            ct = NULL;
        if (fr && ct)
            return kb_error_set(c->err, "%s: %s: give fraction or count, not both", POS(sm), where);
        if (!fr && !ct) {
            const char *k = split_default_key[i];
            json_t *v = !strcmp(k, "count") ? json_integer(strtoll(split_default_val[i], NULL, 10))
                                            : json_real(strtod(split_default_val[i], NULL));
            if (json_object_set_new(so, k, v) < 0)
                return kb_error_set(c->err, "out of memory");
            continue;
        }
        const struct field *f = fr ? &split_fields[0] : &split_fields[1];
        if (resolve_field(c, so, where, f, fr ? fr : ct) < 0)
            return -1;
    }
    return resolve_field(c, obj, "splits", &disjoint, kb_node_map_get(m, "disjoint"));
}

static int resolve_seed(struct rctx *c, const struct kb_node *n)
{
    static const struct field seed = { "seed", FT_INT, "0", 0, 9007199254740992.0,
                                       HAS_LO | HAS_HI | AXIS, NULL };
    struct kb_axis *a = axis_add(c, "seed", false, n);
    if (!a)
        return -1;
    if (!n || kb_node_is_null(n))
        return axis_push(c, a, json_integer(0), NULL, NULL, n);
    char pos[512];
    if (n->type == KB_NODE_SEQ) {
        if (!n->n)
            return kb_error_set(c->err, "%s: seed: an empty list (an axis needs at least one value)",
                                POS(n));
        a->listed = true;
        for (size_t i = 0; i < n->n; i++) {
            json_t *v = field_scalar(&seed, n->items[i], "seed", c->err);
            if (!v || axis_push(c, a, v, NULL, NULL, n->items[i]) < 0)
                return -1;
        }
        return 0;
    }
    json_t *v = field_scalar(&seed, n, "seed", c->err);
    return v ? axis_push(c, a, v, NULL, NULL, n) : -1;
}

/* The entries of a group: a scalar (shorthand name), a mapping, or a list of those. */
static int group_entries(const struct kb_node *n, const struct kb_node *const **list, size_t *count,
                         const struct kb_node **one)
{
    if (n->type == KB_NODE_SEQ) {
        *list = (const struct kb_node *const *)n->items;
        *count = n->n;
    } else {
        *one = n;
        *list = one;
        *count = 1;
    }
    return 0;
}

static int resolve_dataset(struct rctx *c, const struct kb_node *n)
{
    char pos[512];
    struct kb_axis *a = axis_add(c, "dataset", true, n);
    if (!a)
        return -1;
    const struct kb_node *def = NULL;
    const struct kb_node *const *list = &def;
    size_t count = 1;
    const struct kb_node *one;
    if (n && !kb_node_is_null(n))
        group_entries(n, &list, &count, &one);
    if (n && n->type == KB_NODE_SEQ) {
        a->listed = true;
        if (!count)
            return kb_error_set(c->err, "%s: dataset: an empty list", POS(n));
    }
    for (size_t i = 0; i < count; i++) {
        const struct kb_node *e = list[i];
        const struct kb_node *nm = NULL, *path = NULL;
        if (e && e->type == KB_NODE_SCALAR)
            nm = e;
        else if (e && e->type == KB_NODE_MAP) {
            if (check_keys(e, "dataset", dataset_fields, NULL, 0, c->err) < 0)
                return -1;
            nm = kb_node_map_get(e, "name");
            path = kb_node_map_get(e, "path");
        } else if (e) {
            return kb_error_set(c->err, "%s: dataset: expected a name or {name, path}, got %s",
                                POS(e), node_kind(e));
        }
        json_t *obj = json_object();
        json_t *nv = nm && !kb_node_is_null(nm) ? field_scalar(&dataset_fields[0], nm, "dataset.name", c->err)
                                                : json_string("fashion-mnist");
        if (!obj || !nv) {
            json_decref(obj);
            json_decref(nv);
            return -1;
        }
        json_object_set_new(obj, "name", nv);
        json_t *pv;
        char dflt[4096];
        if (path && !kb_node_is_null(path)) {
            pv = field_scalar(&dataset_fields[1], path, "dataset.path", c->err);
        } else if (kb_dataset_default_path(dflt, sizeof dflt, json_string_value(nv)) == 0 &&
                   dflt[0]) {
            /* the named dataset's default folder ($KEYBENCH_DATASETS or /usr/share/datasets) */
            pv = json_string(dflt);
        } else {
            kb_error_set(c->err, "%s: dataset '%s' needs a path (dataset: {name: %s, path: "
                                 "FOLDER})", POS(e), json_string_value(nv), json_string_value(nv));
            json_decref(obj);
            return -1;
        }
        if (!pv) {
            json_decref(obj);
            return -1;
        }
        json_object_set_new(obj, "path", pv);
        if (axis_push(c, a, obj, NULL, NULL, e ? e : n) < 0)
            return -1;
    }
    return 0;
}

/* Canonical text of a plugin parameter value written as `n`, for kb_params_set. */
static int param_text(char *out, size_t size, const struct kb_param *d, const struct kb_node *n,
                      const char *who, struct kb_error *err)
{
    char pos[512];
    if (n->type != KB_NODE_SCALAR)
        return kb_error_set(err, "%s: %s: parameter '%s': expected a %s, got %s", POS(n), who,
                            d->name, kb_ptype_name(d->type), node_kind(n));
    const char *t = n->text;
    switch (d->type) {
    case KB_PARAM_INT: {
        int64_t v;
        if (n->quoted || !kb_parse_int(t, &v))
            return kb_error_set(err, "%s: %s: parameter '%s': expected an integer, got '%s'",
                                POS(n), who, d->name, t);
        snprintf(out, size, "%lld", (long long)v);
        return 0;
    }
    case KB_PARAM_FLOAT: {
        double v;
        if (n->quoted || !kb_parse_float(t, &v))
            return kb_error_set(err, "%s: %s: parameter '%s': expected a number, got '%s'",
                                POS(n), who, d->name, t);
        snprintf(out, size, "%.17g", v);
        return 0;
    }
    case KB_PARAM_BOOL: {
        bool b;
        if (n->quoted || !kb_parse_bool(t, &b))
            return kb_error_set(err, "%s: %s: parameter '%s': expected true or false, got '%s'",
                                POS(n), who, d->name, t);
        snprintf(out, size, "%s", b ? "true" : "false");
        return 0;
    }
    default:
        if (strlen(t) >= size)
            return kb_error_set(err, "%s: %s: parameter '%s': value longer than %zu bytes", POS(n),
                                who, d->name, size - 1);
        snprintf(out, size, "%s", t);
        return 0;
    }
}

/* The JSON object {name, every parameter} of a resolved parameter set. */
static json_t *params_json(const char *name, const struct kb_params *p)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "name", json_string(name));
    const struct kb_param *s = kb_params_schema(p);
    for (size_t i = 0; s && s[i].name; i++) {
        json_t *v;
        if (!kb_params_has(p, s[i].name))
            v = json_null();
        else if (s[i].type == KB_PARAM_INT)
            v = json_integer(kb_params_int(p, s[i].name));
        else if (s[i].type == KB_PARAM_FLOAT)
            v = json_real(kb_params_float(p, s[i].name));
        else if (s[i].type == KB_PARAM_BOOL)
            v = json_boolean(kb_params_bool(p, s[i].name));
        else
            v = json_string(kb_params_str(p, s[i].name));
        if (json_object_set_new(o, s[i].name, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

#define MAX_PARAM_TEXT 1024

struct given {
    const struct kb_param *d;
    const struct kb_node *val;     /* scalar or list */
    size_t n;                      /* number of values (1 for a scalar) */
    char **texts;
};

static void given_free(struct given *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; g[i].texts && j < g[i].n; j++)
            free(g[i].texts[j]);
        free(g[i].texts);
    }
    free(g);
}

/* One plugin entry ({name: P, params…} or "P"): its plugin and its given
 * parameters, each checked. `allow_axes`: a list value is an axis. */
static int plugin_entry(struct rctx *c, const struct kb_node *e, enum kb_plugin_kind kind,
                        const char *section, bool allow_axes, const struct kb_plugin **plugin,
                        struct given **gout, size_t *n_given)
{
    char pos[512];
    *gout = NULL;
    *n_given = 0;
    const struct kb_node *nm = NULL;
    if (e->type == KB_NODE_SCALAR && !kb_node_is_null(e))
        nm = e;
    else if (e->type == KB_NODE_MAP)
        nm = kb_node_map_get(e, "name");
    else
        return kb_error_set(c->err, "%s: %s: expected a plugin name or {name: PLUGIN, params...}, "
                                    "got %s", POS(e), section, kb_node_is_null(e) ? "null" : node_kind(e));
    if (!nm)
        return kb_error_set(c->err, "%s: %s: missing 'name' (the %s plugin)", POS(e), section,
                            kb_plugin_kind_name(kind));
    if (nm->type != KB_NODE_SCALAR || kb_node_is_null(nm))
        return kb_error_set(c->err, "%s: %s.name: expected one plugin name, got %s%s", POS(nm),
                            section, node_kind(nm),
                            nm->type == KB_NODE_SEQ ? " (list several entries instead)" : "");
    const struct kb_plugin *p = kb_registry_find(c->reg, kind, nm->text);
    if (!p) {
        const char **names = NULL;
        size_t k = kb_registry_names(c->reg, kind, &names);
        char hint[256] = "", valid[600] = "";
        size_t used = 0;
        for (size_t i = 0; i < k; i++) {
            int w = snprintf(valid + used, sizeof valid - used, "%s%s", i ? ", " : "", names[i]);
            if (w > 0 && (size_t)w < sizeof valid - used)
                used += (size_t)w;
        }
        int ns = kb_suggest(hint, sizeof hint, nm->text, (const char *const *)names, k);
        free(names);
        if (ns > 0)
            return kb_error_set(c->err, "%s: unknown %s plugin '%s'; did you mean %s? (known: %s)",
                                POS(nm), kb_plugin_kind_name(kind), nm->text, hint, valid);
        return kb_error_set(c->err, "%s: unknown %s plugin '%s' (known: %s)", POS(nm),
                            kb_plugin_kind_name(kind), nm->text, k ? valid : "none");
    }
    *plugin = p;
    if (e->type != KB_NODE_MAP)
        return 0;
    struct given *g = calloc(e->n ? e->n : 1, sizeof *g);
    if (!g)
        return kb_error_set(c->err, "out of memory");
    size_t ng = 0;
    char who[200];
    snprintf(who, sizeof who, "%s '%s'", section, p->name);
    struct kb_params *scratch = NULL;
    if (kb_params_new(&scratch, p->params, c->err) < 0) {
        kb_error_prefix(c->err, "%s '%s'", kb_plugin_kind_name(kind), p->name);
        goto fail;
    }
    for (size_t i = 0; i < e->n; i++) {
        const struct kb_node *key = e->keys[i], *val = e->items[i];
        if (!strcmp(key->text, "name") || kb_node_is_null(val))
            continue;
        const struct kb_param *d = kb_param_find(p->params, key->text);
        if (!d) {
            const char *names[64];
            size_t k = 0;
            for (size_t j = 0; p->params && p->params[j].name && k < 63; j++)
                names[k++] = p->params[j].name;
            char where[200];
            snprintf(where, sizeof where, "%s '%s' (its parameters)", section, p->name);
            names[k++] = "name";
            unknown_key(c->err, key, where, names, k);
            goto fail;
        }
        struct given *gi = &g[ng++];
        gi->d = d;
        gi->val = val;
        const struct kb_node *one = val;
        const struct kb_node *const *vals = &one;
        gi->n = 1;
        if (val->type == KB_NODE_SEQ) {
            if (!allow_axes) {
                kb_error_set(c->err, "%s: %s: parameter '%s': expected one value (%s are not an "
                                     "axis)", POS(val), who, d->name, section);
                goto fail;
            }
            if (!val->n) {
                kb_error_set(c->err, "%s: %s: parameter '%s': an empty list", POS(val), who, d->name);
                goto fail;
            }
            vals = (const struct kb_node *const *)val->items;
            gi->n = val->n;
        }
        gi->texts = calloc(gi->n, sizeof *gi->texts);
        if (!gi->texts) {
            kb_error_set(c->err, "out of memory");
            goto fail;
        }
        for (size_t j = 0; j < gi->n; j++) {
            char text[MAX_PARAM_TEXT];
            if (param_text(text, sizeof text, d, vals[j], who, c->err) < 0)
                goto fail;
            if (kb_params_set(scratch, d->name, text, c->err) < 0) {
                kb_error_prefix(c->err, "%s: %s", POS(vals[j]), who);
                goto fail;
            }
            if (!(gi->texts[j] = strdup(text))) {
                kb_error_set(c->err, "out of memory");
                goto fail;
            }
        }
    }
    kb_params_free(scratch);
    *gout = g;
    *n_given = ng;
    return 0;
fail:
    kb_params_free(scratch);
    given_free(g, ng);
    return -1;
}

static int params_from_given(struct kb_params **out, const struct kb_plugin *p,
                             const struct given *g, size_t ng, const size_t *pick,
                             struct kb_error *err)
{
    if (kb_params_new(out, p->params, err) < 0)
        return -1;
    for (size_t i = 0; i < ng; i++)
        if (kb_params_set(*out, g[i].d->name, g[i].texts[pick ? pick[i] : 0], err) < 0) {
            kb_params_free(*out);
            *out = NULL;
            return -1;
        }
    return 0;
}

static int resolve_plugin_group(struct rctx *c, const char *section, enum kb_plugin_kind kind,
                                const struct kb_node *n, const struct kb_node *root)
{
    char pos[512];
    if (!n || kb_node_is_null(n))
        return kb_error_set(c->err, "%s: missing '%s' (a %s plugin, e.g. %s: NAME)",
                            POS(n ? n : root), section, kb_plugin_kind_name(kind), section);
    struct kb_axis *a = axis_add(c, section, true, n);
    if (!a)
        return -1;
    const struct kb_node *const *list;
    size_t count;
    const struct kb_node *one;
    group_entries(n, &list, &count, &one);
    if (n->type == KB_NODE_SEQ) {
        a->listed = true;
        if (!count)
            return kb_error_set(c->err, "%s: %s: an empty list", POS(n), section);
    }
    for (size_t i = 0; i < count; i++) {
        const struct kb_plugin *p = NULL;
        struct given *g = NULL;
        size_t ng = 0;
        if (plugin_entry(c, list[i], kind, section, true, &p, &g, &ng) < 0)
            return -1;
        /* order the given params by the schema (independent of key order) */
        for (size_t x = 1; x < ng; x++)
            for (size_t y = x; y > 0 && g[y].d < g[y - 1].d; y--) {
                struct given t = g[y];
                g[y] = g[y - 1];
                g[y - 1] = t;
            }
        size_t pick[64] = { 0 };
        if (ng > 64) {
            given_free(g, ng);
            return kb_error_set(c->err, "%s: %s: too many parameters", POS(list[i]), section);
        }
        for (size_t x = 0; x < ng; x++)
            if (g[x].val->type == KB_NODE_SEQ)
                a->listed = true;
        for (;;) {
            struct kb_params *prm = NULL;
            if (params_from_given(&prm, p, g, ng, pick, c->err) < 0) {
                given_free(g, ng);
                return -1;
            }
            json_t *j = params_json(p->name, prm);
            if (axis_push(c, a, j, p, prm, list[i]) < 0) {
                given_free(g, ng);
                return -1;
            }
            /* odometer: the last parameter varies fastest */
            size_t x = ng;
            while (x > 0) {
                x--;
                if (++pick[x] < g[x].n)
                    break;
                pick[x] = 0;
                if (x == 0) {
                    x = SIZE_MAX;
                    break;
                }
            }
            if (ng == 0 || x == SIZE_MAX)
                break;
        }
        given_free(g, ng);
    }
    return 0;
}

static int resolve_attacks(struct rctx *c, const struct kb_node *n)
{
    char pos[512];
    json_t *arr = json_array();
    if (!arr || json_object_set_new(c->r->tmpl, "attacks", arr) < 0)
        return kb_error_set(c->err, "out of memory");
    if (!n || kb_node_is_null(n))
        return 0;
    const struct kb_node *const *list;
    size_t count;
    const struct kb_node *one;
    group_entries(n, &list, &count, &one);
    struct kb_resolved *r = c->r;
    r->attack_plugins = calloc(count ? count : 1, sizeof *r->attack_plugins);
    r->attack_params = calloc(count ? count : 1, sizeof *r->attack_params);
    if (!r->attack_plugins || !r->attack_params)
        return kb_error_set(c->err, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const struct kb_plugin *p = NULL;
        struct given *g = NULL;
        size_t ng = 0;
        if (plugin_entry(c, list[i], KB_KIND_ATTACK, "attacks", false, &p, &g, &ng) < 0)
            return -1;
        struct kb_params *prm = NULL;
        int rc = params_from_given(&prm, p, g, ng, NULL, c->err);
        given_free(g, ng);
        if (rc < 0)
            return -1;
        r->attack_plugins[i] = p;
        r->attack_params[i] = prm;
        r->n_attacks++;
        json_t *j = params_json(p->name, prm);
        if (!j || json_array_append_new(arr, j) < 0)
            return kb_error_set(c->err, "out of memory");
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(arr, k), j))
                return kb_error_set(c->err, "%s: attacks: the same attack is listed twice",
                                    POS(list[i]));
    }
    (void)pos;
    return 0;
}

static int check_matrix_shape(struct rctx *c, const struct kb_node *n)
{
    char pos[512];
    if (!n || kb_node_is_null(n))
        return 0;
    if (n->type != KB_NODE_MAP)
        return kb_error_set(c->err, "%s: matrix: expected {exclude: [...], include: [...]}, got %s",
                            POS(n), node_kind(n));
    const char *keys[2] = { "exclude", "include" };
    if (check_keys(n, "matrix", NULL, keys, 2, c->err) < 0)
        return -1;
    for (size_t i = 0; i < n->n; i++) {
        const struct kb_node *l = n->items[i];
        if (kb_node_is_null(l))
            continue;
        if (l->type != KB_NODE_SEQ)
            return kb_error_set(c->err, "%s: matrix.%s: expected a list of mappings, got %s",
                                POS(l), n->keys[i]->text, node_kind(l));
        for (size_t j = 0; j < l->n; j++)
            if (l->items[j]->type != KB_NODE_MAP || !l->items[j]->n)
                return kb_error_set(c->err, "%s: matrix.%s: each entry must be a non-empty "
                                            "mapping of axis paths to values (e.g. seed: 2)",
                                    POS(l->items[j]), n->keys[i]->text);
    }
    return 0;
}

int kb_resolve(struct kb_resolved **out, const struct kb_node *root,
               const struct kb_registry *reg, struct kb_error *err)
{
    *out = NULL;
    struct kb_resolved *r = calloc(1, sizeof *r);
    if (!r || !(r->tmpl = json_object())) {
        free(r);
        return kb_error_set(err, "out of memory");
    }
    struct rctx c = { r, reg, err };
    /* fix the key order of the (readable) cell JSON: sections in schema order */
    static const char *const order[] = { "dataset", "splits", "backbone", "transform", "seed",
                                         "pretrain", "finetune", "evaluate", "attacks" };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (json_object_set_new(r->tmpl, order[i], json_null()) < 0) {
            kb_error_set(err, "out of memory");
            goto fail;
        }
    char where[] = "the spec (top level)";
    if (check_keys(root, where, NULL, top_keys, sizeof top_keys / sizeof top_keys[0], err) < 0)
        goto fail;
    if (resolve_dataset(&c, kb_node_map_get(root, "dataset")) < 0 ||
        resolve_plugin_group(&c, "backbone", KB_KIND_BACKBONE, kb_node_map_get(root, "backbone"), root) < 0 ||
        resolve_plugin_group(&c, "transform", KB_KIND_TRANSFORM, kb_node_map_get(root, "transform"), root) < 0 ||
        resolve_splits(&c, kb_node_map_get(root, "splits")) < 0 ||
        resolve_section(&c, "pretrain", pretrain_fields, kb_node_map_get(root, "pretrain")) < 0 ||
        resolve_section(&c, "finetune", finetune_fields, kb_node_map_get(root, "finetune")) < 0 ||
        resolve_section(&c, "evaluate", evaluate_fields, kb_node_map_get(root, "evaluate")) < 0 ||
        resolve_seed(&c, kb_node_map_get(root, "seed")) < 0 ||
        resolve_attacks(&c, kb_node_map_get(root, "attacks")) < 0 ||
        check_matrix_shape(&c, kb_node_map_get(root, "matrix")) < 0)
        goto fail;
    /* the template holds the first value of every group and of seed */
    for (size_t i = 0; i < r->n_axes; i++) {
        const struct kb_axis *a = &r->axes[i];
        if ((a->group || !strcmp(a->path, "seed")) &&
            json_object_set(r->tmpl, a->path, a->v[0].json) < 0) {
            kb_error_set(err, "out of memory");
            goto fail;
        }
    }
    /* expansion order: dataset, backbone, transform, the scalar axes in
     * schema order, seed last (fastest) — move seed to the end */
    for (size_t i = 0; i + 1 < r->n_axes; i++)
        if (!strcmp(r->axes[i].path, "seed")) {
            struct kb_axis s = r->axes[i];
            memmove(&r->axes[i], &r->axes[i + 1], (r->n_axes - i - 1) * sizeof s);
            r->axes[r->n_axes - 1] = s;
            break;
        }
    *out = r;
    return 0;
fail:
    kb_resolved_free(r);
    return -1;
}

void kb_resolved_free(struct kb_resolved *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_axes; i++) {
        for (size_t j = 0; j < r->axes[i].n; j++)
            variant_free(&r->axes[i].v[j]);
        free(r->axes[i].v);
        free(r->axes[i].path);
    }
    free(r->axes);
    for (size_t i = 0; i < r->n_attacks; i++)
        kb_params_free(r->attack_params[i]);
    free(r->attack_plugins);
    free(r->attack_params);
    json_decref(r->tmpl);
    free(r);
}
