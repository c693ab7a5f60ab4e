/* harness/spec/spec_internal.h — what spec.c, resolve.c and plan.c share (internal). */
#ifndef KB_SPEC_INTERNAL_H
#define KB_SPEC_INTERNAL_H

#include <jansson.h>

#include <keybench/spec.h>
#include <keybench/registry.h>
#include "node.h"

/* One value of an axis. For the plugin groups (backbone, transform) `plugin`
 * and `params` are set; for dataset and scalar axes only `json`. */
struct kb_variant {
    json_t *json;
    const struct kb_plugin *plugin;
    struct kb_params *params;
};

/* An axis: "dataset", "backbone", "transform" (groups: values are objects),
 * "seed", or a list-valued scalar such as "finetune.lr" or
 * "splits.finetune.fraction". The groups and seed are always present (one
 * value when not varied). */
struct kb_axis {
    char *path;
    bool group;
    bool listed;               /* written as a list, or a group entry with list params */
    const struct kb_node *node;
    size_t n;
    struct kb_variant *v;
};

/* A spec tree checked against the schema and the registry. */
struct kb_resolved {
    json_t *tmpl;              /* full cell JSON holding every axis's first value */
    size_t n_axes;
    struct kb_axis *axes;      /* in expansion order (the last varies fastest) */
    size_t n_attacks;
    const struct kb_plugin **attack_plugins;
    struct kb_params **attack_params;
};

struct kb_spec {
    char *path;
    struct kb_strpool pool;
    struct kb_node *root;      /* after includes and overrides; no `include` key */
    char **plugin_dirs;
    size_t n_plugin_dirs;
    char *name, *description, *output, *key;
    bool key_given;
    const struct kb_registry *reg;
    struct kb_resolved *res;   /* set by kb_spec_validate */
};

/* The cell sections of a spec, in expansion (and naming) order. */
extern const char *const kb_spec_cell_sections[];
extern const size_t kb_spec_n_cell_sections;

int kb_resolve(struct kb_resolved **out, const struct kb_node *root,
               const struct kb_registry *reg, struct kb_error *err);
void kb_resolved_free(struct kb_resolved *r);

/* Set `path` (dot-separated segments) in a tree to `val` (consumed). In
 * include mode "<group>.name" replaces the whole group entry. `label` names
 * the assignment in errors. */
int kb_tree_set(struct kb_node *root, const char *path, struct kb_node *val,
                const struct kb_node *keypos, bool include_mode, struct kb_error *err);

/* Loose JSON form of a node for matching matrix entries: plain scalars become
 * integers, reals, booleans or null when they read as such. NULL on a mapping. */
json_t *kb_node_to_loose_json(const struct kb_node *n);
/* Equality for matrix matching: numbers compare by value (4 == 4.0). */
bool kb_json_loose_equal(const json_t *a, const json_t *b);
/* Value at a dotted path (array indices allowed); NULL when absent. */
json_t *kb_json_path(const json_t *root, const char *path);
/* Whether a dotted path names a group's name ("transform" -> "transform.name"). */
const char *kb_spec_group_short(const char *path);

/* Number parsing shared by resolve.c and plan.c (plain YAML scalars). */
bool kb_parse_int(const char *s, int64_t *out);
bool kb_parse_float(const char *s, double *out);
bool kb_parse_bool(const char *s, bool *out);

#endif
