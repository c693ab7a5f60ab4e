/* keybench/registry.h — finding and loading plugins.
 *
 *     struct kb_registry *reg;
 *     if (kb_registry_open(&reg, spec_plugin_paths, n, &err) < 0) ...
 *     const struct kb_plugin *t = kb_registry_find(reg, KB_KIND_TRANSFORM, "ffx");
 *     kb_registry_free(reg);   // dlcloses everything
 *
 * Search order: the build's plugin folders (or the installed plugin folder
 * when the installed library is in use), then every folder of the
 * colon-separated KEYBENCH_PLUGIN_PATH, then `extra_dirs` (a spec's
 * plugin_path). Every *.so found is loaded, in name order per folder; a
 * missing folder is skipped. Loading is strict: any bad plugin file in a
 * searched folder makes kb_registry_open fail with that file's one-line error.
 * Two plugins with one name (whatever their kinds) are an error naming both files.
 */
#ifndef KEYBENCH_REGISTRY_H
#define KEYBENCH_REGISTRY_H

#include <keybench/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_registry;

KB_API int kb_registry_open(struct kb_registry **out, const char *const *extra_dirs,
                            size_t n_extra, struct kb_error *err) KB_WUR;
/* An empty registry (tests, embedding). */
KB_API struct kb_registry *kb_registry_new(void);
/* Register one descriptor from memory; `origin` names it in messages. */
KB_API int kb_registry_add(struct kb_registry *r, const struct kb_plugin *p,
                           const char *origin, struct kb_error *err) KB_WUR;
/* dlopen one file and register all its descriptors, or none (rolled back). */
KB_API int kb_registry_load_file(struct kb_registry *r, const char *path,
                                 struct kb_error *err) KB_WUR;
/* Load every *.so of a folder, in name order. A missing folder is skipped. */
KB_API int kb_registry_load_dir(struct kb_registry *r, const char *dir,
                                struct kb_error *err) KB_WUR;

KB_API const struct kb_plugin *kb_registry_find(const struct kb_registry *r,
                                                enum kb_plugin_kind kind, const char *name);
KB_API size_t kb_registry_count(const struct kb_registry *r);
/* i-th plugin in load order; *path (if non-NULL) gets its file ("(builtin)" for kb_registry_add). */
KB_API const struct kb_plugin *kb_registry_get(const struct kb_registry *r, size_t i,
                                               const char **path);
/* BLAKE2b-256 hex of the plugin's file (provenance); "" for in-memory plugins. */
KB_API const char *kb_registry_file_hash(const struct kb_registry *r, size_t i);
/* Names of one kind, for "did you mean" messages; *names is malloc'd (free it), strings are borrowed. */
KB_API size_t kb_registry_names(const struct kb_registry *r, enum kb_plugin_kind kind,
                                const char ***names);
KB_API void kb_registry_free(struct kb_registry *r);

/* The folders kb_registry_open searched, in order (defaults, KEYBENCH_PLUGIN_PATH, extra). */
KB_API size_t kb_registry_dir_count(const struct kb_registry *r);
KB_API const char *kb_registry_dir(const struct kb_registry *r, size_t i);
/* The default plugin folders (colon-separated) into `out`: the build's plugin
 * folders when the running libkeybench is the build-tree one (returns 1), else
 * the installed plugin folder (returns 0); -1 if `out` is too small. */
KB_API int kb_registry_default_dirs(char *out, size_t out_size);

/* "transform", "backbone", "attack"; NULL for an unknown kind. */
KB_API const char *kb_plugin_kind_name(uint32_t kind);

#ifdef __cplusplus
}
#endif
#endif
