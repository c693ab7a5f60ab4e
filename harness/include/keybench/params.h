/* keybench/params.h — typed parameter schemas and resolved parameter values.
 *
 * A plugin declares its parameters as a static array of `struct kb_param`,
 * terminated by an entry whose `name` is NULL:
 *
 *     static const struct kb_param params[] = {
 *         { "block_size", KB_PARAM_INT, "4", 1, 1024, NULL, "block side M in pixels" },
 *         { "password",   KB_PARAM_STRING, NULL, 0, 0, NULL, "FFX password (default: derived from the key)" },
 *         { "mode",       KB_PARAM_CHOICE, "fixed", 0, 0, "fixed|uniform", "how bit keys are drawn" },
 *         { NULL }
 *     };
 *
 * The harness validates a spec against the schema (unknown name, wrong type,
 * out of range, not one of the choices: all errors) and hands the plugin a
 * resolved `struct kb_params` in which every parameter has a value (its
 * default when the spec gives none). A parameter whose default is NULL is
 * optional with no value: `kb_params_has` tells whether the spec gave it.
 */
#ifndef KEYBENCH_PARAMS_H
#define KEYBENCH_PARAMS_H

#include <keybench/common.h>

#ifdef __cplusplus
extern "C" {
#endif

enum kb_ptype {
    KB_PARAM_INT = 1,    /* 64-bit integer; min/max inclusive range (ignored if min > max) */
    KB_PARAM_FLOAT = 2,  /* double; min/max inclusive range (ignored if min > max) */
    KB_PARAM_BOOL = 3,   /* true/false */
    KB_PARAM_STRING = 4, /* free text */
    KB_PARAM_CHOICE = 5  /* one of `choices`, a '|'-separated list */
};

/* One entry of a parameter schema. Part of the plugin ABI: only grows at the end. */
struct kb_param {
    const char *name;     /* [a-z0-9_]+; NULL terminates the array */
    enum kb_ptype type;
    const char *dflt;     /* default as text; NULL: optional, no default */
    double min, max;      /* KB_PARAM_INT / KB_PARAM_FLOAT range (min > max: unbounded) */
    const char *choices;  /* KB_PARAM_CHOICE: "a|b|c" */
    const char *doc;      /* one line */
};

/* Resolved values for one schema (opaque). */
struct kb_params;

/* New value set holding every default of `schema`. */
KB_API int kb_params_new(struct kb_params **out, const struct kb_param *schema,
                         struct kb_error *err) KB_WUR;
KB_API void kb_params_free(struct kb_params *p);
KB_API struct kb_params *kb_params_clone(const struct kb_params *p);

/* Set `name` from its text form, validated against the schema. The error
 * (unknown name with the closest valid names, wrong type, out of range, not a
 * choice) carries no file position: the caller prefixes "file:line:col: ". */
KB_API int kb_params_set(struct kb_params *p, const char *name, const char *text,
                         struct kb_error *err) KB_WUR;

KB_API const struct kb_param *kb_params_schema(const struct kb_params *p);
KB_API const struct kb_param *kb_param_find(const struct kb_param *schema, const char *name);
/* Number of schema entries. */
KB_API size_t kb_param_count(const struct kb_param *schema);
/* "int", "float", "bool", "string", "choice". */
KB_API const char *kb_ptype_name(enum kb_ptype t);

/* Whether `name` has a value (a default or a value set). */
KB_API bool kb_params_has(const struct kb_params *p, const char *name);
/* Whether the value of `name` was set explicitly (not the default). */
KB_API bool kb_params_given(const struct kb_params *p, const char *name);
/* Typed getters. Asking for a name the schema lacks, or with the wrong type,
 * is a programming error: it aborts with a message (plugins and harness bugs,
 * never user input, which kb_params_set has already validated). */
KB_API int64_t kb_params_int(const struct kb_params *p, const char *name);
KB_API double kb_params_float(const struct kb_params *p, const char *name);
KB_API bool kb_params_bool(const struct kb_params *p, const char *name);
/* STRING and CHOICE; NULL when optional and not given. */
KB_API const char *kb_params_str(const struct kb_params *p, const char *name);
/* Canonical text of a value ("4", "0.1", "true", "abc"); NULL when unset. */
KB_API const char *kb_params_text(const struct kb_params *p, const char *name);

#ifdef __cplusplus
}
#endif
#endif
