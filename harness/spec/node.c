/* harness/spec/node.c — YAML text -> kb_node tree with positions (libyaml events). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include <keybench/spec.h>
#include "node.h"

/* ---- string pool ---------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int pool_add(struct kb_strpool *p, void *ptr)
{
    if (!ptr)
        return -1;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        void **np = realloc(p->ptrs, cap * sizeof *np);
        if (!np) {
            free(ptr);
            return -1;
        }
        p->ptrs = np;
        p->cap = cap;
    }
    p->ptrs[p->n++] = ptr;
    return 0;
}

const struct kb_origin *kb_strpool_origin(struct kb_strpool *p, const char *file,
                                          const char *dir, bool label)
{
    struct kb_origin *o = calloc(1, sizeof *o);
    if (pool_add(p, o) < 0)
        return NULL;
    char *f = dup_or_null(file);
    if (pool_add(p, f) < 0)
        return NULL;
    o->file = f;
    if (dir) {
        char *d = strdup(dir);
        if (pool_add(p, d) < 0)
            return NULL;
        o->dir = d;
    }
    o->label = label;
    return o;
}

void kb_strpool_free(struct kb_strpool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->ptrs[i]);
    free(p->ptrs);
    p->ptrs = NULL;
    p->n = p->cap = 0;
}

/* ---- nodes ---------------------------------------------------------------- */

struct kb_node *kb_node_new(enum kb_node_type type, const struct kb_origin *o, int line, int col)
{
    struct kb_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->type = type;
    n->origin = o;
    n->line = line;
    n->col = col;
    return n;
}

struct kb_node *kb_node_scalar(const char *text, bool quoted, const struct kb_origin *o,
                               int line, int col)
{
    struct kb_node *n = kb_node_new(KB_NODE_SCALAR, o, line, col);
    if (!n)
        return NULL;
    n->text = strdup(text ? text : "");
    if (!n->text) {
        free(n);
        return NULL;
    }
    n->quoted = quoted;
    return n;
}

void kb_node_free(struct kb_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            kb_node_free(n->keys[i]);
        kb_node_free(n->items[i]);
    }
    free(n->keys);
    free(n->items);
    free(n->text);
    free(n);
}

static int grow(struct kb_node *n)
{
    if (n->n < n->cap)
        return 0;
    size_t cap = n->cap ? 2 * n->cap : 4;
    struct kb_node **items = realloc(n->items, cap * sizeof *items);
    if (!items)
        return -1;
    n->items = items;
    if (n->type == KB_NODE_MAP) {
        struct kb_node **keys = realloc(n->keys, cap * sizeof *keys);
        if (!keys)
            return -1;
        n->keys = keys;
    }
    n->cap = cap;
    return 0;
}

int kb_node_push(struct kb_node *seq, struct kb_node *item)
{
    if (!item || grow(seq) < 0)
        return -1;
    seq->items[seq->n++] = item;
    return 0;
}

int kb_node_map_put(struct kb_node *map, struct kb_node *key, struct kb_node *val)
{
    if (!key || !val || grow(map) < 0)
        return -1;
    map->keys[map->n] = key;
    map->items[map->n] = val;
    map->n++;
    return 0;
}

long kb_node_map_index(const struct kb_node *map, const char *k)
{
    if (!map || map->type != KB_NODE_MAP)
        return -1;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i]->text, k))
            return (long)i;
    return -1;
}

struct kb_node *kb_node_map_get(const struct kb_node *map, const char *k)
{
    long i = kb_node_map_index(map, k);
    return i < 0 ? NULL : map->items[i];
}

void kb_node_map_remove(struct kb_node *map, size_t i)
{
    kb_node_free(map->keys[i]);
    kb_node_free(map->items[i]);
    memmove(map->keys + i, map->keys + i + 1, (map->n - i - 1) * sizeof *map->keys);
    memmove(map->items + i, map->items + i + 1, (map->n - i - 1) * sizeof *map->items);
    map->n--;
}

int kb_node_map_set(struct kb_node *map, const char *k, struct kb_node *val,
                    const struct kb_node *keypos)
{
    if (!val)
        return -1;
    long i = kb_node_map_index(map, k);
    if (i >= 0) {
        kb_node_free(map->items[i]);
        map->items[i] = val;
        return 0;
    }
    const struct kb_node *p = keypos ? keypos : val;
    struct kb_node *key = kb_node_scalar(k, false, p->origin, p->line, p->col);
    if (!key || kb_node_map_put(map, key, val) < 0) {
        kb_node_free(key);
        kb_node_free(val);
        return -1;
    }
    return 0;
}

struct kb_node *kb_node_clone(const struct kb_node *n)
{
    if (!n)
        return NULL;
    struct kb_node *c = kb_node_new(n->type, n->origin, n->line, n->col);
    if (!c)
        return NULL;
    c->quoted = n->quoted;
    if (n->text && !(c->text = strdup(n->text)))
        goto fail;
    for (size_t i = 0; i < n->n; i++) {
        struct kb_node *v = kb_node_clone(n->items[i]);
        if (n->type == KB_NODE_MAP) {
            struct kb_node *k = kb_node_clone(n->keys[i]);
            if (kb_node_map_put(c, k, v) < 0) {
                kb_node_free(k);
                kb_node_free(v);
                goto fail;
            }
        } else if (kb_node_push(c, v) < 0) {
            kb_node_free(v);
            goto fail;
        }
    }
    return c;
fail:
    kb_node_free(c);
    return NULL;
}

struct kb_node *kb_node_merge(struct kb_node *base, struct kb_node *over)
{
    if (!base)
        return over;
    if (!over)
        return base;
    if (base->type != KB_NODE_MAP || over->type != KB_NODE_MAP) {
        kb_node_free(base);
        return over;
    }
    for (size_t i = 0; i < over->n; i++) {
        long j = kb_node_map_index(base, over->keys[i]->text);
        if (j >= 0) {
            base->items[j] = kb_node_merge(base->items[j], over->items[i]);
            kb_node_free(base->keys[j]);
            base->keys[j] = over->keys[i];
        } else if (grow(base) == 0) {
            base->keys[base->n] = over->keys[i];
            base->items[base->n] = over->items[i];
            base->n++;
        } else {
            kb_node_free(over->keys[i]);
            kb_node_free(over->items[i]);
        }
    }
    base->origin = over->origin;
    base->line = over->line;
    base->col = over->col;
    free(over->keys);
    free(over->items);
    free(over->text);
    free(over);
    return base;
}

const char *kb_node_pos(const struct kb_node *n, char *buf, size_t size)
{
    if (!n || !n->origin)
        snprintf(buf, size, "(unknown)");
    else if (n->origin->label || n->line <= 0)
        snprintf(buf, size, "%s", n->origin->file);
    else
        snprintf(buf, size, "%s:%d:%d", n->origin->file, n->line, n->col);
    return buf;
}

bool kb_node_is_null(const struct kb_node *n)
{
    if (!n || n->type != KB_NODE_SCALAR || n->quoted)
        return false;
    const char *t = n->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") ||
           !strcmp(t, "NULL");
}

/* ---- libyaml events -> nodes ---------------------------------------------- */

struct yp {
    yaml_parser_t parser;
    const struct kb_origin *o;
    struct kb_error *err;
};

static const char *origin_pos(const struct kb_origin *o, const yaml_mark_t *m, char *buf,
                              size_t size)
{
    if (o->label)
        snprintf(buf, size, "%s", o->file);
    else
        snprintf(buf, size, "%s:%zu:%zu", o->file, m->line + 1, m->column + 1);
    return buf;
}

static int syntax_error(struct yp *y)
{
    yaml_parser_t *p = &y->parser;
    char pos[512];
    origin_pos(y->o, &p->problem_mark, pos, sizeof pos);
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->context)
        return kb_error_set(y->err, "%s: YAML syntax error: %s (%s at line %zu)", pos, problem,
                            p->context, p->context_mark.line + 1);
    return kb_error_set(y->err, "%s: YAML syntax error: %s", pos, problem);
}

static int next_event(struct yp *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev))
        return syntax_error(y);
    return 0;
}

static int ev_error(struct yp *y, const yaml_event_t *ev, const char *what)
{
    char pos[512];
    origin_pos(y->o, &ev->start_mark, pos, sizeof pos);
    return kb_error_set(y->err, "%s: %s", pos, what);
}

static int check_props(struct yp *y, const yaml_event_t *ev, const yaml_char_t *anchor,
                       const yaml_char_t *tag)
{
    char msg[300];
    if (anchor) {
        snprintf(msg, sizeof msg, "anchors (&%.200s) are not supported in specs; use include:",
                 (const char *)anchor);
        return ev_error(y, ev, msg);
    }
    if (tag) {
        snprintf(msg, sizeof msg, "YAML tags (%.200s) are not supported in specs",
                 (const char *)tag);
        return ev_error(y, ev, msg);
    }
    return 0;
}

static int parse_node(struct yp *y, yaml_event_t *ev, int depth, struct kb_node **out);

static int parse_children(struct yp *y, struct kb_node *n, int depth)
{
    for (;;) {
        yaml_event_t ev;
        if (next_event(y, &ev) < 0)
            return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        struct kb_node *child = NULL;
        if (n->type == KB_NODE_MAP) {
            if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                !strcmp((const char *)ev.data.scalar.value, "<<")) {
                ev_error(y, &ev, "merge keys (<<) are not supported in specs; use include:");
                yaml_event_delete(&ev);
                return -1;
            }
        }
        int rc = parse_node(y, &ev, depth + 1, &child);
        yaml_event_delete(&ev);
        if (rc < 0)
            return -1;
        if (n->type == KB_NODE_SEQ) {
            if (kb_node_push(n, child) < 0) {
                kb_node_free(child);
                return kb_error_set(y->err, "%s: out of memory", y->o->file);
            }
            continue;
        }
        /* mapping: child is the key */
        char pos[512];
        if (child->type != KB_NODE_SCALAR) {
            kb_error_set(y->err, "%s: mapping keys must be plain scalars",
                         kb_node_pos(child, pos, sizeof pos));
            kb_node_free(child);
            return -1;
        }
        long dup = kb_node_map_index(n, child->text);
        if (dup >= 0) {
            kb_error_set(y->err, "%s: duplicate key '%s' (first given at line %d)",
                         kb_node_pos(child, pos, sizeof pos), child->text, n->keys[dup]->line);
            kb_node_free(child);
            return -1;
        }
        struct kb_node *val = NULL;
        if (next_event(y, &ev) < 0) {
            kb_node_free(child);
            return -1;
        }
        rc = parse_node(y, &ev, depth + 1, &val);
        yaml_event_delete(&ev);
        if (rc < 0) {
            kb_node_free(child);
            return -1;
        }
        if (kb_node_map_put(n, child, val) < 0) {
            kb_node_free(child);
            kb_node_free(val);
            return kb_error_set(y->err, "%s: out of memory", y->o->file);
        }
    }
}

static int parse_node(struct yp *y, yaml_event_t *ev, int depth, struct kb_node **out)
{
    *out = NULL;
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    if (depth > KB_SPEC_MAX_DEPTH) {
        char msg[80];
        snprintf(msg, sizeof msg, "nesting deeper than %d levels", KB_SPEC_MAX_DEPTH);
        return ev_error(y, ev, msg);
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT: {
        char msg[300];
        snprintf(msg, sizeof msg, "aliases (*%.200s) are not supported in specs; use include:",
                 (const char *)ev->data.alias.anchor);
        return ev_error(y, ev, msg);
    }
    case YAML_SCALAR_EVENT: {
        if (check_props(y, ev, ev->data.scalar.anchor, ev->data.scalar.tag) < 0)
            return -1;
        const char *v = (const char *)ev->data.scalar.value;
        if (memchr(v, 0, ev->data.scalar.length))
            return ev_error(y, ev, "a NUL character in a scalar");
        *out = kb_node_scalar(v, ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE, y->o, line,
                              col);
        if (!*out)
            return kb_error_set(y->err, "%s: out of memory", y->o->file);
        return 0;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        if (check_props(y, ev, seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor,
                        seq ? (ev->data.sequence_start.implicit ? NULL : ev->data.sequence_start.tag)
                            : (ev->data.mapping_start.implicit ? NULL : ev->data.mapping_start.tag)) < 0)
            return -1;
        struct kb_node *n = kb_node_new(seq ? KB_NODE_SEQ : KB_NODE_MAP, y->o, line, col);
        if (!n)
            return kb_error_set(y->err, "%s: out of memory", y->o->file);
        if (parse_children(y, n, depth) < 0) {
            kb_node_free(n);
            return -1;
        }
        *out = n;
        return 0;
    }
    default:
        return ev_error(y, ev, "unexpected YAML event");
    }
}

int kb_node_parse(struct kb_node **out, const char *text, size_t size,
                  const struct kb_origin *origin, struct kb_error *err)
{
    *out = NULL;
    struct yp y = { .o = origin, .err = err };
    if (!yaml_parser_initialize(&y.parser))
        return kb_error_set(err, "%s: cannot initialise the YAML parser", origin->file);
    yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, size);
    struct kb_node *root = NULL;
    int docs = 0, rc = -1;
    for (;;) {
        yaml_event_t ev;
        if (next_event(&y, &ev) < 0)
            goto done;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            ev_error(&y, &ev, "only one YAML document per spec file");
            yaml_event_delete(&ev);
            goto done;
        }
        if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
            t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
            int r = parse_node(&y, &ev, 0, &root);
            yaml_event_delete(&ev);
            if (r < 0)
                goto done;
            continue;
        }
        yaml_event_delete(&ev);
    }
    if (!root) {
        root = kb_node_scalar("", false, origin, 1, 1);
        if (!root) {
            kb_error_set(err, "%s: out of memory", origin->file);
            goto done;
        }
    }
    *out = root;
    root = NULL;
    rc = 0;
done:
    kb_node_free(root);
    yaml_parser_delete(&y.parser);
    return rc;
}
