/* keybench/spec.h — experiment specs: YAML in, a validated matrix of cells out.
 *
 * A spec is a YAML file (docs/spec.md) naming datasets, backbones, transforms,
 * seeds, training schedules and attacks. Loading runs in two steps because the
 * plugin registry needs the spec's `plugin_path` before the spec can be
 * validated against the plugins' parameter schemas:
 *
 *     struct kb_error err = {0};
 *     struct kb_spec *spec;
 *     const char *ovr[] = { "seed=[0,1]", "transform.block_size=4" };
 *     if (kb_spec_parse(&spec, "configs/quickstart.yaml", ovr, 2, &err) < 0) ...
 *     const char *const *dirs;
 *     size_t n_dirs = kb_spec_plugin_paths(spec, &dirs);
 *     struct kb_registry *reg;
 *     if (kb_registry_open(&reg, dirs, n_dirs, &err) < 0) ...
 *     if (kb_spec_validate(spec, reg, &err) < 0) ...
 *     struct kb_plan *plan;
 *     if (kb_plan_expand(&plan, spec, &err) < 0) ...
 *     for (size_t i = 0; i < kb_plan_count(plan); i++) {
 *         const struct kb_cell *c = kb_plan_cell(plan, i);
 *         printf("%s %s\n", kb_cell_id(c), kb_cell_name(c));
 *         const struct kb_params *tp = kb_cell_params(c, KB_KIND_TRANSFORM);
 *         int64_t epochs = kb_cell_int(c, "finetune.epochs");
 *     }
 *     kb_plan_free(plan); kb_spec_free(spec); kb_registry_free(reg);
 *
 * Errors are one line "FILE:LINE:COL: message" (1-based line and column; a
 * command-line override is named as "override 'TEXT'" instead of FILE:LINE:COL).
 *
 * Lifetimes: a plan borrows plugin descriptors from the registry given to
 * kb_spec_validate; free the plan before the registry. A plan does not borrow
 * from the spec (the spec may be freed first).
 *
 * JSON values are jansson's (`#include <jansson.h>` to use them; `struct json_t`
 * is jansson's `json_t`). They are borrowed, read-only.
 */
#ifndef KEYBENCH_SPEC_H
#define KEYBENCH_SPEC_H

#include <keybench/common.h>
#include <keybench/params.h>
#include <keybench/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_registry;
struct json_t;

struct kb_spec;   /* a parsed (and later validated) spec */
struct kb_plan;   /* the expanded matrix */
struct kb_cell;   /* one cell of a plan */

/* Largest spec file accepted (bytes), largest nesting depth, largest plan. */
#define KB_SPEC_MAX_FILE_SIZE (4u << 20)
#define KB_SPEC_MAX_DEPTH 64
#define KB_SPEC_MAX_CELLS 100000

/* ---- specs ---------------------------------------------------------------- */

/* Read `path`, resolve its `include:` files, then apply the command-line
 * overrides ("key.path=value", value parsed as YAML flow: "seed=[0,1]").
 * Checks YAML syntax, includes and overrides, and `plugin_path`; everything
 * else is checked by kb_spec_validate. */
KB_API int kb_spec_parse(struct kb_spec **out, const char *path,
                         const char *const *overrides, size_t n_overrides,
                         struct kb_error *err) KB_WUR;

/* The spec's plugin folders (absolute; relative ones are taken relative to the
 * file that names them), in order. The array and strings belong to the spec. */
KB_API size_t kb_spec_plugin_paths(const struct kb_spec *s, const char *const **dirs);

/* Validate every key against the harness schema and the plugins of `reg`
 * (names, parameters, types, ranges, matrix entries). `reg` must outlive
 * every plan expanded from `s`. */
KB_API int kb_spec_validate(struct kb_spec *s, const struct kb_registry *reg,
                            struct kb_error *err) KB_WUR;

/* kb_spec_parse + kb_spec_validate with an already opened registry. */
KB_API int kb_spec_load(struct kb_spec **out, const char *path,
                        const char *const *overrides, size_t n_overrides,
                        const struct kb_registry *reg, struct kb_error *err) KB_WUR;

KB_API void kb_spec_free(struct kb_spec *s);

/* The top-level spec file as given. */
KB_API const char *kb_spec_path(const struct kb_spec *s);
/* `name` (default: the spec file's base name without .yaml/.yml). */
KB_API const char *kb_spec_name(const struct kb_spec *s);
/* `description` ("" when absent). */
KB_API const char *kb_spec_description(const struct kb_spec *s);
/* `output`: the run directory (default "runs/<name>"), relative to the current
 * directory unless absolute. */
KB_API const char *kb_spec_output(const struct kb_spec *s);
/* `key`: the master secret file; when the spec gives none,
 * "<output>/keybench.key" and *given (if non-NULL) is false. */
KB_API const char *kb_spec_key_path(const struct kb_spec *s, bool *given);

/* ---- plans ---------------------------------------------------------------- */

/* Expand a validated spec into its cells (docs/spec.md: order, exclude/include,
 * ids, names). Fails when no cell remains or when a matrix entry is invalid. */
KB_API int kb_plan_expand(struct kb_plan **out, const struct kb_spec *s,
                          struct kb_error *err) KB_WUR;
KB_API void kb_plan_free(struct kb_plan *p);

KB_API size_t kb_plan_count(const struct kb_plan *p);
KB_API const struct kb_cell *kb_plan_cell(const struct kb_plan *p, size_t i);
/* The cell with this id (or a unique prefix of at least 4 hex chars); NULL if none. */
KB_API const struct kb_cell *kb_plan_find(const struct kb_plan *p, const char *id);
/* Paths whose value differs between cells ("transform.name", "seed", …), in
 * expansion order. The array belongs to the plan. */
KB_API size_t kb_plan_axes(const struct kb_plan *p, const char *const **paths);
/* The whole plan as one new JSON document (what `keybench plan --json`
 * prints): {"spec", "name", "count", "axes", "cells": [{"id", "name", "axes",
 * "config"}]}. The caller owns the result (json_decref). */
KB_API struct json_t *kb_plan_json(const struct kb_plan *p);

/* ---- cells ---------------------------------------------------------------- */

/* 12 lowercase hex chars: BLAKE2b-256 of the canonical JSON, truncated. */
KB_API const char *kb_cell_id(const struct kb_cell *c);
/* Readable unique name, e.g. "fashion-mnist/cnn/pixel_shuffle-block_size=4/s0". */
KB_API const char *kb_cell_name(const struct kb_cell *c);
/* Canonical JSON text of the resolved cell (sorted keys, compact). */
KB_API const char *kb_cell_canonical(const struct kb_cell *c);
/* The resolved cell as JSON: {dataset, splits, backbone, transform, seed,
 * pretrain, finetune, evaluate, attacks}, every default filled in. */
KB_API const struct json_t *kb_cell_json(const struct kb_cell *c);
/* This cell's value of each plan axis: {"transform.name": "ffx", "seed": 0, …}. */
KB_API const struct json_t *kb_cell_axes(const struct kb_cell *c);

/* The value at a dotted path ("finetune.lr", "transform.block_size",
 * "attacks.0.name"); NULL when absent. */
KB_API const struct json_t *kb_cell_get(const struct kb_cell *c, const char *path);
KB_API bool kb_cell_has(const struct kb_cell *c, const char *path);
/* Typed getters by dotted path. A missing path or a wrong type is a
 * programming error (the spec was validated): they abort with a message.
 * kb_cell_float accepts integers; kb_cell_str returns NULL for JSON null. */
KB_API int64_t kb_cell_int(const struct kb_cell *c, const char *path);
KB_API double kb_cell_float(const struct kb_cell *c, const char *path);
KB_API bool kb_cell_bool(const struct kb_cell *c, const char *path);
KB_API const char *kb_cell_str(const struct kb_cell *c, const char *path);

/* The backbone or transform plugin of the cell and its resolved parameters
 * (KB_KIND_BACKBONE or KB_KIND_TRANSFORM; NULL for other kinds). */
KB_API const struct kb_plugin *kb_cell_plugin(const struct kb_cell *c, enum kb_plugin_kind kind);
KB_API const struct kb_params *kb_cell_params(const struct kb_cell *c, enum kb_plugin_kind kind);
/* The attacks, in spec order (every cell runs all of them). */
KB_API size_t kb_cell_attack_count(const struct kb_cell *c);
KB_API const struct kb_plugin *kb_cell_attack(const struct kb_cell *c, size_t i,
                                              const struct kb_params **params);

#ifdef __cplusplus
}
#endif
#endif
