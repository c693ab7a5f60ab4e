/* harness/spec/spec.c — loading a spec: files, includes, overrides, top-level keys. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec_internal.h"

#define MAX_INCLUDE_DEPTH 32

/* ---- paths ---------------------------------------------------------------- */

static char *path_dirname(const char *p)
{
    const char *slash = strrchr(p, '/');
    if (!slash)
        return strdup(".");
    if (slash == p)
        return strdup("/");
    return strndup(p, (size_t)(slash - p));
}

static char *path_join(const char *dir, const char *rel)
{
    if (rel[0] == '/' || !dir || !strcmp(dir, "."))
        return strdup(rel);
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, rel);
    return s;
}

/* Absolute form of `rel` written in a file whose folder is `dir` (NULL: cwd). */
static char *path_resolve(const char *dir, const char *rel)
{
    if (rel[0] == '/')
        return strdup(rel);
    if (dir)
        return path_join(dir, rel);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return strdup(rel);
    return path_join(cwd, rel);
}

/* ---- includes ------------------------------------------------------------- */

static bool is_group(const char *k);

/* `transform: ffx` -> `transform: {name: ffx}` at the top level, so that an
 * including file can add parameters to an included shorthand. */
static int normalise_groups(struct kb_node *root)
{
    for (size_t i = 0; i < root->n; i++) {
        struct kb_node *v = root->items[i];
        if (!is_group(root->keys[i]->text) || v->type != KB_NODE_SCALAR || kb_node_is_null(v))
            continue;
        struct kb_node *nm = kb_node_scalar(v->text, v->quoted, v->origin, v->line, v->col);
        struct kb_node *m = kb_node_new(KB_NODE_MAP, v->origin, v->line, v->col);
        if (!nm || !m || kb_node_map_set(m, "name", nm, v) < 0) {
            kb_node_free(m);
            return -1;
        }
        kb_node_free(v);
        root->items[i] = m;
    }
    return 0;
}

/* A group entry whose plugin changes is replaced, not merged: drop it from
 * `base` when `over` names another plugin. */
static void drop_replaced_groups(struct kb_node *base, const struct kb_node *over)
{
    if (!base)
        return;
    for (size_t i = 0; i < over->n; i++) {
        const char *k = over->keys[i]->text;
        const struct kb_node *on = kb_node_map_get(over->items[i], "name");
        long j = kb_node_map_index(base, k);
        if (!is_group(k) || !on || j < 0)
            continue;
        const struct kb_node *bn = kb_node_map_get(base->items[j], "name");
        if (!bn || on->type != KB_NODE_SCALAR || bn->type != KB_NODE_SCALAR ||
            strcmp(on->text, bn->text))
            kb_node_map_remove(base, (size_t)j);
    }
}

struct chain {
    const char *real[MAX_INCLUDE_DEPTH + 1];
    const char *shown[MAX_INCLUDE_DEPTH + 1];
    size_t n;
};

static int load_file(struct kb_spec *s, struct kb_node **out, const char *shown,
                     const struct kb_node *from, struct chain *ch, struct kb_error *err);

static int include_error(struct kb_error *err, const struct kb_node *at, const char *fmt,
                         const char *a, const char *b)
{
    char pos[512];
    if (at)
        return kb_error_set(err, "%s: %s%s%s", kb_node_pos(at, pos, sizeof pos), fmt, a, b);
    return kb_error_set(err, "%s%s%s", fmt, a, b);
}

static int load_includes(struct kb_spec *s, struct kb_node **root, const char *shown_dir,
                         struct chain *ch, struct kb_error *err)
{
    long idx = kb_node_map_index(*root, "include");
    if (idx < 0)
        return 0;
    struct kb_node *inc = (*root)->items[idx];
    char pos[512];
    size_t n = 0;
    struct kb_node **list = NULL;
    struct kb_node *one = inc;
    if (inc->type == KB_NODE_SCALAR && !kb_node_is_null(inc)) {
        list = &one;
        n = 1;
    } else if (inc->type == KB_NODE_SEQ) {
        list = inc->items;
        n = inc->n;
    } else if (!kb_node_is_null(inc)) {
        return kb_error_set(err, "%s: include: expected a file name or a list of file names",
                            kb_node_pos(inc, pos, sizeof pos));
    }
    struct kb_node *merged = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct kb_node *f = list[i];
        if (f->type != KB_NODE_SCALAR || kb_node_is_null(f)) {
            kb_node_free(merged);
            return kb_error_set(err, "%s: include: expected a file name",
                                kb_node_pos(f, pos, sizeof pos));
        }
        char *shown = path_join(shown_dir, f->text);
        struct kb_node *sub = NULL;
        int rc = shown ? load_file(s, &sub, shown, f, ch, err)
                       : kb_error_set(err, "out of memory");
        free(shown);
        if (rc < 0) {
            kb_node_free(merged);
            return -1;
        }
        drop_replaced_groups(merged, sub);
        merged = kb_node_merge(merged, sub);   /* later includes win */
    }
    kb_node_map_remove(*root, (size_t)idx);
    drop_replaced_groups(merged, *root);
    *root = kb_node_merge(merged, *root);      /* the including file wins */
    return 0;
}

static int load_file(struct kb_spec *s, struct kb_node **out, const char *shown,
                     const struct kb_node *from, struct chain *ch, struct kb_error *err)
{
    *out = NULL;
    char real[PATH_MAX];
    if (!realpath(shown, real))
        return include_error(err, from, from ? "include '" : "", shown,
                             from ? (errno == ENOENT ? "': no such file" : "': cannot open")
                                  : (errno == ENOENT ? ": no such file" : ": cannot open"));
    for (size_t i = 0; i < ch->n; i++) {
        if (strcmp(ch->real[i], real))
            continue;
        char chain[2048] = "";
        size_t len = 0;
        for (size_t j = i; j < ch->n && len < sizeof chain; j++)
            len += (size_t)snprintf(chain + len, sizeof chain - len, "%s -> ", ch->shown[j]);
        if (len < sizeof chain)
            snprintf(chain + len, sizeof chain - len, "%s", shown);
        return include_error(err, from, "include cycle: ", chain, "");
    }
    if (ch->n >= MAX_INCLUDE_DEPTH)
        return include_error(err, from, "includes nested too deeply at '", shown, "'");

    uint8_t *data = NULL;
    size_t size = 0;
    if (kb_file_read_all(shown, KB_SPEC_MAX_FILE_SIZE, &data, &size, err) < 0) {
        if (from) {
            char pos[512];
            kb_error_prefix(err, "%s: include", kb_node_pos(from, pos, sizeof pos));
        }
        return -1;
    }
    char *dir = path_dirname(real);
    const struct kb_origin *o = dir ? kb_strpool_origin(&s->pool, shown, dir, false) : NULL;
    free(dir);
    if (!o) {
        free(data);
        return kb_error_set(err, "%s: out of memory", shown);
    }
    struct kb_node *root = NULL;
    int rc = kb_node_parse(&root, (const char *)data, size, o, err);
    free(data);
    if (rc < 0)
        return -1;
    char pos[512];
    if (kb_node_is_null(root)) {
        kb_node_free(root);
        root = kb_node_new(KB_NODE_MAP, o, 1, 1);
        if (!root)
            return kb_error_set(err, "%s: out of memory", shown);
    } else if (root->type != KB_NODE_MAP) {
        kb_error_set(err, "%s: a spec must be a mapping of keys to values",
                     kb_node_pos(root, pos, sizeof pos));
        kb_node_free(root);
        return -1;
    }
    if (normalise_groups(root) < 0) {
        kb_node_free(root);
        return kb_error_set(err, "%s: out of memory", shown);
    }
    ch->real[ch->n] = real;
    ch->shown[ch->n] = shown;
    ch->n++;
    char *shown_dir = path_dirname(shown);
    rc = shown_dir ? load_includes(s, &root, shown_dir, ch, err) : kb_error_set(err, "out of memory");
    free(shown_dir);
    ch->n--;
    if (rc < 0) {
        kb_node_free(root);
        return -1;
    }
    *out = root;
    return 0;
}

/* ---- setting a path in a tree (overrides, matrix.include) ----------------- */

static bool is_group(const char *k)
{
    return !strcmp(k, "dataset") || !strcmp(k, "backbone") || !strcmp(k, "transform");
}

const char *kb_spec_group_short(const char *path)
{
    if (!strcmp(path, "dataset"))
        return "dataset.name";
    if (!strcmp(path, "backbone"))
        return "backbone.name";
    if (!strcmp(path, "transform"))
        return "transform.name";
    return path;
}

static bool is_index(const char *s, size_t *idx)
{
    if (!*s)
        return false;
    size_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 1000000)
            return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    *idx = v;
    return true;
}

int kb_tree_set(struct kb_node *root, const char *path, struct kb_node *val,
                const struct kb_node *keypos, bool include_mode, struct kb_error *err)
{
    char pos[512];
    kb_node_pos(keypos, pos, sizeof pos);
    char *copy = strdup(path);
    if (!copy) {
        kb_node_free(val);
        return kb_error_set(err, "out of memory");
    }
    char *segs[64];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(copy, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
        if (n == 64)
            break;
        segs[n++] = t;
    }
    int rc = -1;
    struct kb_node *cur = root;
    const char *parent_key = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *seg = segs[i];
        bool last = i + 1 == n;
        if (include_mode && i == 1 && is_group(segs[0]) && !strcmp(seg, "name") && last) {
            /* a new plugin: start its entry afresh */
            struct kb_node *m = kb_node_new(KB_NODE_MAP, keypos->origin, keypos->line, keypos->col);
            if (!m || kb_node_map_set(m, "name", val, keypos) < 0) {
                val = NULL;
                kb_node_free(m);
                kb_error_set(err, "out of memory");
                goto done;
            }
            val = NULL;
            kb_node_map_set(root, segs[0], m, keypos);
            rc = 0;
            goto done;
        }
        if (cur->type == KB_NODE_SEQ) {
            size_t idx;
            if (is_index(seg, &idx)) {
                if (idx >= cur->n) {
                    kb_error_set(err, "%s: '%s': index %zu is past the end of a list of %zu", pos,
                                 path, idx, cur->n);
                    goto done;
                }
                if (last) {
                    kb_node_free(cur->items[idx]);
                    cur->items[idx] = val;
                    val = NULL;
                    rc = 0;
                    goto done;
                }
                cur = cur->items[idx];
                parent_key = seg;
                continue;
            }
            if (cur->n == 1) {
                cur = cur->items[0];
                i--;
                continue;
            }
            kb_error_set(err, "%s: '%s': '%s' is a list of %zu entries; %s", pos, path,
                         parent_key ? parent_key : "?", cur->n,
                         include_mode && i == 1 && is_group(segs[0])
                             ? "give its name too"
                             : "select one with its index (e.g. transform.0.block_size)");
            goto done;
        }
        if (cur->type == KB_NODE_SCALAR) {
            if (kb_node_is_null(cur)) {
                cur->type = KB_NODE_MAP;
                free(cur->text);
                cur->text = NULL;
            } else if (i >= 1 && is_group(segs[0])) {
                /* shorthand `transform: ffx` -> {name: ffx} */
                struct kb_node *nm = kb_node_scalar(cur->text, cur->quoted, cur->origin,
                                                    cur->line, cur->col);
                free(cur->text);
                cur->text = NULL;
                cur->type = KB_NODE_MAP;
                if (!nm || kb_node_map_set(cur, "name", nm, cur) < 0) {
                    kb_error_set(err, "out of memory");
                    goto done;
                }
            } else {
                kb_error_set(err, "%s: '%s': '%s' is not a mapping", pos, path,
                             parent_key ? parent_key : "?");
                goto done;
            }
        }
        if (last) {
            if (kb_node_map_set(cur, seg, val, keypos) < 0) {
                val = NULL;
                kb_error_set(err, "out of memory");
                goto done;
            }
            val = NULL;
            rc = 0;
            goto done;
        }
        struct kb_node *child = kb_node_map_get(cur, seg);
        if (!child) {
            child = kb_node_new(KB_NODE_MAP, keypos->origin, keypos->line, keypos->col);
            if (!child || kb_node_map_set(cur, seg, child, keypos) < 0) {
                kb_error_set(err, "out of memory");
                goto done;
            }
        }
        cur = child;
        parent_key = seg;
    }
done:
    kb_node_free(val);
    free(copy);
    return rc;
}

static int apply_override(struct kb_spec *s, const char *text, struct kb_error *err)
{
    char label[600];
    snprintf(label, sizeof label, "override '%.500s'", text);
    const char *eq = strchr(text, '=');
    if (!eq || eq == text)
        return kb_error_set(err, "%s: expected KEY.PATH=VALUE (e.g. seed=[0,1])", label);
    size_t klen = (size_t)(eq - text);
    char *key = strndup(text, klen);
    if (!key)
        return kb_error_set(err, "out of memory");
    bool ok = key[0] != '.' && key[klen - 1] != '.' && !strstr(key, "..");
    for (const char *p = key; *p && ok; p++)
        ok = isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.';
    if (!ok) {
        free(key);
        return kb_error_set(err, "%s: bad key path (expected names separated by dots, e.g. "
                                 "transform.block_size)", label);
    }
    if (!strcmp(key, "include") || !strncmp(key, "include.", 8)) {
        free(key);
        return kb_error_set(err, "%s: 'include' cannot be overridden", label);
    }
    const struct kb_origin *o = kb_strpool_origin(&s->pool, label, NULL, true);
    struct kb_node *val = NULL;
    if (!o || kb_node_parse(&val, eq + 1, strlen(eq + 1), o, err) < 0) {
        free(key);
        return o ? -1 : kb_error_set(err, "out of memory");
    }
    struct kb_node keypos = { .type = KB_NODE_SCALAR, .origin = o };
    int rc = kb_tree_set(s->root, key, val, &keypos, false, err);
    free(key);
    return rc;
}

/* ---- top-level harness keys that are not cell content --------------------- */

static int get_string(char **out, const struct kb_node *root, const char *k, bool *given,
                      struct kb_error *err)
{
    const struct kb_node *n = kb_node_map_get(root, k);
    *out = NULL;
    if (given)
        *given = false;
    if (!n || kb_node_is_null(n))
        return 0;
    char pos[512];
    if (n->type != KB_NODE_SCALAR)
        return kb_error_set(err, "%s: %s: expected a string", kb_node_pos(n, pos, sizeof pos), k);
    *out = strdup(n->text);
    if (!*out)
        return kb_error_set(err, "out of memory");
    if (given)
        *given = true;
    return 0;
}

static int spec_level_keys(struct kb_spec *s, struct kb_error *err)
{
    char pos[512];
    if (get_string(&s->name, s->root, "name", NULL, err) < 0 ||
        get_string(&s->description, s->root, "description", NULL, err) < 0 ||
        get_string(&s->output, s->root, "output", NULL, err) < 0 ||
        get_string(&s->key, s->root, "key", &s->key_given, err) < 0)
        return -1;
    if (s->name) {
        const struct kb_node *n = kb_node_map_get(s->root, "name");
        bool ok = s->name[0] != '\0' && s->name[0] != '.';
        for (const char *p = s->name; *p && ok; p++)
            ok = isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.';
        if (!ok)
            return kb_error_set(err, "%s: name: '%s' must be letters, digits, '.', '_' or '-' "
                                     "(it names the run folder)",
                                kb_node_pos(n, pos, sizeof pos), s->name);
    } else {
        const char *base = strrchr(s->path, '/');
        base = base ? base + 1 : s->path;
        size_t len = strlen(base);
        if (len > 5 && !strcmp(base + len - 5, ".yaml"))
            len -= 5;
        else if (len > 4 && !strcmp(base + len - 4, ".yml"))
            len -= 4;
        s->name = strndup(base, len);
    }
    if (!s->description)
        s->description = strdup("");
    if (!s->output) {
        size_t n = strlen(s->name) + 6;
        s->output = malloc(n);
        if (s->output)
            snprintf(s->output, n, "runs/%s", s->name);
    } else if (!s->output[0]) {
        return kb_error_set(err, "%s: output: expected a folder name",
                            kb_node_pos(kb_node_map_get(s->root, "output"), pos, sizeof pos));
    }
    if (s->key_given) {
        const struct kb_node *n = kb_node_map_get(s->root, "key");
        if (!s->key[0])
            return kb_error_set(err, "%s: key: expected a file name", kb_node_pos(n, pos, sizeof pos));
        char *abs = path_resolve(n->origin->dir, s->key);
        free(s->key);
        s->key = abs;
    } else if (s->output) {
        s->key = path_join(s->output, "keybench.key");
    }
    if (!s->name || !s->description || !s->output || !s->key)
        return kb_error_set(err, "out of memory");

    const struct kb_node *pp = kb_node_map_get(s->root, "plugin_path");
    if (!pp || kb_node_is_null(pp))
        return 0;
    const struct kb_node *const *list = (const struct kb_node *const *)&pp;
    size_t n = 1;
    if (pp->type == KB_NODE_SEQ) {
        list = (const struct kb_node *const *)pp->items;
        n = pp->n;
    } else if (pp->type != KB_NODE_SCALAR) {
        return kb_error_set(err, "%s: plugin_path: expected a folder or a list of folders",
                            kb_node_pos(pp, pos, sizeof pos));
    }
    s->plugin_dirs = calloc(n ? n : 1, sizeof *s->plugin_dirs);
    if (!s->plugin_dirs)
        return kb_error_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (list[i]->type != KB_NODE_SCALAR || kb_node_is_null(list[i]))
            return kb_error_set(err, "%s: plugin_path: expected a folder name",
                                kb_node_pos(list[i], pos, sizeof pos));
        s->plugin_dirs[i] = path_resolve(list[i]->origin->dir, list[i]->text);
        if (!s->plugin_dirs[i])
            return kb_error_set(err, "out of memory");
        s->n_plugin_dirs++;
    }
    return 0;
}

/* ---- public --------------------------------------------------------------- */

int kb_spec_parse(struct kb_spec **out, const char *path, const char *const *overrides,
                  size_t n_overrides, struct kb_error *err)
{
    *out = NULL;
    struct kb_spec *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return kb_error_set(err, "out of memory");
    }
    struct chain ch = { .n = 0 };
    if (load_file(s, &s->root, path, NULL, &ch, err) < 0)
        goto fail;
    for (size_t i = 0; i < n_overrides; i++)
        if (apply_override(s, overrides[i], err) < 0)
            goto fail;
    if (spec_level_keys(s, err) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    kb_spec_free(s);
    return -1;
}

size_t kb_spec_plugin_paths(const struct kb_spec *s, const char *const **dirs)
{
    *dirs = (const char *const *)s->plugin_dirs;
    return s->n_plugin_dirs;
}

int kb_spec_validate(struct kb_spec *s, const struct kb_registry *reg, struct kb_error *err)
{
    kb_resolved_free(s->res);
    s->res = NULL;
    s->reg = reg;
    if (kb_resolve(&s->res, s->root, reg, err) < 0)
        return -1;
    /* a dry run of the expansion checks the matrix entries */
    struct kb_plan *p = NULL;
    if (kb_plan_expand(&p, s, err) < 0) {
        kb_resolved_free(s->res);
        s->res = NULL;
        return -1;
    }
    kb_plan_free(p);
    return 0;
}

int kb_spec_load(struct kb_spec **out, const char *path, const char *const *overrides,
                 size_t n_overrides, const struct kb_registry *reg, struct kb_error *err)
{
    if (kb_spec_parse(out, path, overrides, n_overrides, err) < 0)
        return -1;
    if (kb_spec_validate(*out, reg, err) < 0) {
        kb_spec_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

void kb_spec_free(struct kb_spec *s)
{
    if (!s)
        return;
    kb_resolved_free(s->res);
    kb_node_free(s->root);
    for (size_t i = 0; i < s->n_plugin_dirs; i++)
        free(s->plugin_dirs[i]);
    free(s->plugin_dirs);
    free(s->name);
    free(s->description);
    free(s->output);
    free(s->key);
    free(s->path);
    kb_strpool_free(&s->pool);
    free(s);
}

const char *kb_spec_path(const struct kb_spec *s) { return s->path; }
const char *kb_spec_name(const struct kb_spec *s) { return s->name; }
const char *kb_spec_description(const struct kb_spec *s) { return s->description; }
const char *kb_spec_output(const struct kb_spec *s) { return s->output; }

const char *kb_spec_key_path(const struct kb_spec *s, bool *given)
{
    if (given)
        *given = s->key_given;
    return s->key;
}
