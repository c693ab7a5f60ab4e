/* The canonical key-derivation context (see keybench/keys.h). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <keybench/keys.h>
#include <keybench/secret.h>

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *kb_key_context(const char *transform, const struct kb_params *params, uint64_t seed)
{
    const struct kb_param *schema = params ? kb_params_schema(params) : NULL;
    size_t n = kb_param_count(schema);
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; i < n; i++)
        names[i] = schema[i].name;
    qsort(names, n, sizeof *names, cmp_names);

    json_t *root = json_object(), *p = json_object();
    if (!root || !p) {
        json_decref(root);
        json_decref(p);
        free(names);
        return NULL;
    }
    json_object_set_new(root, "transform", json_string(transform));
    for (size_t i = 0; i < n; i++) {
        if (!kb_params_has(params, names[i]))
            continue;
        const struct kb_param *d = kb_param_find(schema, names[i]);
        json_t *v = NULL;
        switch (d->type) {
        case KB_PARAM_INT: v = json_integer((json_int_t)kb_params_int(params, names[i])); break;
        case KB_PARAM_FLOAT: v = json_real(kb_params_float(params, names[i])); break;
        case KB_PARAM_BOOL: v = json_boolean(kb_params_bool(params, names[i])); break;
        case KB_PARAM_STRING:
        case KB_PARAM_CHOICE: v = json_string(kb_params_str(params, names[i])); break;
        }
        json_object_set_new(p, names[i], v ? v : json_null());
    }
    json_object_set_new(root, "params", p);
    json_object_set_new(root, "seed", json_integer((json_int_t)seed));
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    free(names);
    return s;
}

int kb_key_derive(uint8_t out[32], const uint8_t master[32], const char *transform,
                  const struct kb_params *params, uint64_t seed, struct kb_error *err)
{
    char *ctx = kb_key_context(transform, params, seed);
    if (!ctx)
        return kb_error_set(err, "%s: out of memory building the key context", transform);
    kb_secret_derive(out, master, ctx);
    free(ctx);
    return 0;
}
