/* keybench plugins [--json] [--kind transform|backbone|attack] [--plugin-path DIR]...
 *
 * Lists every plugin found on the search path with its parameters. The text
 * form is for people; --json is one JSON document for tools:
 *   {"keybench_version": "...", "search_path": [...],
 *    "plugins": [{"kind", "name", "version", "summary", "file", "blake2b",
 *                 "caps": [...], "params": [{"name", "type", "default",
 *                 "min", "max", "choices", "doc"}]}]}
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <keybench/registry.h>
#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: keybench plugins [--json] [--kind transform|backbone|attack] "
            "[--plugin-path DIR]...\n\n"
            "List the plugins found (kind, name, version, summary, file) and their parameters.\n"
            "Search order: the build's (or the installed) plugin folder, then each folder of\n"
            "KEYBENCH_PLUGIN_PATH (colon-separated), then each --plugin-path DIR.\n\n"
            "  --json             one JSON document on stdout\n"
            "  --kind KIND        only plugins of this kind\n"
            "  --plugin-path DIR  also search DIR (repeatable)\n");
}

static bool has_range(const struct kb_param *d)
{
    return (d->type == KB_PARAM_INT || d->type == KB_PARAM_FLOAT) && d->min <= d->max;
}

/* A number as text: integers without a fraction. */
static void fmt_num(char *out, size_t n, double v, enum kb_ptype t)
{
    if (t == KB_PARAM_INT && fabs(v) < 9.2e18)
        snprintf(out, n, "%lld", (long long)v);
    else
        snprintf(out, n, "%g", v);
}

static const char *const cap_names[] = { "keyed", "key_permutation", "key_bits", "involution" };

static json_t *plugin_json(const struct kb_plugin *p, const char *file, const char *hash)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(kb_plugin_kind_name(p->kind)));
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "version", json_string(p->version));
    json_object_set_new(o, "summary", json_string(p->summary));
    json_object_set_new(o, "file", json_string(file));
    json_object_set_new(o, "blake2b", json_string(hash));
    json_t *caps = json_array();
    for (size_t b = 0; b < sizeof cap_names / sizeof cap_names[0]; b++)
        if (p->caps & (1ull << b))
            json_array_append_new(caps, json_string(cap_names[b]));
    json_object_set_new(o, "caps", caps);
    json_t *params = json_array();
    for (size_t i = 0; p->params && p->params[i].name; i++) {
        const struct kb_param *d = &p->params[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(d->name));
        json_object_set_new(j, "type", json_string(kb_ptype_name(d->type)));
        json_object_set_new(j, "default", d->dflt ? json_string(d->dflt) : json_null());
        if (has_range(d)) {
            if (d->type == KB_PARAM_INT) {
                json_object_set_new(j, "min", json_integer((json_int_t)d->min));
                json_object_set_new(j, "max", json_integer((json_int_t)d->max));
            } else {
                json_object_set_new(j, "min", json_real(d->min));
                json_object_set_new(j, "max", json_real(d->max));
            }
        }
        if (d->type == KB_PARAM_CHOICE && d->choices) {
            json_t *c = json_array();
            const char *s = d->choices;
            while (*s) {
                const char *bar = strchr(s, '|');
                size_t len = bar ? (size_t)(bar - s) : strlen(s);
                json_array_append_new(c, json_stringn(s, len));
                s += len + (bar ? 1 : 0);
            }
            json_object_set_new(j, "choices", c);
        }
        json_object_set_new(j, "doc", json_string(d->doc ? d->doc : ""));
        json_array_append_new(params, j);
    }
    json_object_set_new(o, "params", params);
    return o;
}

static int print_json(const struct kb_registry *reg, int kind)
{
    json_t *root = json_object();
    json_object_set_new(root, "keybench_version", json_string(kb_version()));
    json_t *dirs = json_array();
    for (size_t i = 0; i < kb_registry_dir_count(reg); i++)
        json_array_append_new(dirs, json_string(kb_registry_dir(reg, i)));
    json_object_set_new(root, "search_path", dirs);
    json_t *arr = json_array();
    for (size_t i = 0; i < kb_registry_count(reg); i++) {
        const char *file;
        const struct kb_plugin *p = kb_registry_get(reg, i, &file);
        if (kind && p->kind != (uint32_t)kind)
            continue;
        json_array_append_new(arr, plugin_json(p, file, kb_registry_file_hash(reg, i)));
    }
    json_object_set_new(root, "plugins", arr);
    int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
    return rc == 0 ? 0 : 1;
}

static int width(const char *s)
{
    return s ? (int)strlen(s) : 0;
}

static void print_params(const struct kb_plugin *p)
{
    if (!p->params || !p->params[0].name) {
        printf("    (no parameters)\n");
        return;
    }
    int wn = 0, wt = 0, wd = 0;
    for (size_t i = 0; p->params[i].name; i++) {
        const struct kb_param *d = &p->params[i];
        wn = width(d->name) > wn ? width(d->name) : wn;
        wt = width(kb_ptype_name(d->type)) > wt ? width(kb_ptype_name(d->type)) : wt;
        int dw = d->dflt ? width(d->dflt) : 6; /* "(none)" */
        wd = dw > wd ? dw : wd;
    }
    for (size_t i = 0; p->params[i].name; i++) {
        const struct kb_param *d = &p->params[i];
        char constraint[512] = "";
        if (has_range(d)) {
            char lo[64], hi[64];
            fmt_num(lo, sizeof lo, d->min, d->type);
            fmt_num(hi, sizeof hi, d->max, d->type);
            snprintf(constraint, sizeof constraint, "  [%s, %s]", lo, hi);
        } else if (d->type == KB_PARAM_CHOICE && d->choices) {
            snprintf(constraint, sizeof constraint, "  {%s}", d->choices);
        }
        printf("    %-*s  %-*s  = %-*s  %s%s\n", wn, d->name, wt, kb_ptype_name(d->type), wd,
               d->dflt ? d->dflt : "(none)", d->doc ? d->doc : "", constraint);
    }
}

static int print_text(const struct kb_registry *reg, int kind)
{
    int wk = 0, wn = 0, wv = 0;
    size_t shown = 0;
    for (size_t i = 0; i < kb_registry_count(reg); i++) {
        const struct kb_plugin *p = kb_registry_get(reg, i, NULL);
        if (kind && p->kind != (uint32_t)kind)
            continue;
        int k = width(kb_plugin_kind_name(p->kind));
        wk = k > wk ? k : wk;
        wn = width(p->name) > wn ? width(p->name) : wn;
        wv = width(p->version) > wv ? width(p->version) : wv;
        shown++;
    }
    if (!shown) {
        printf("no %s%splugins found; searched:\n", kind ? kb_plugin_kind_name((uint32_t)kind) : "",
               kind ? " " : "");
        for (size_t i = 0; i < kb_registry_dir_count(reg); i++)
            printf("  %s\n", kb_registry_dir(reg, i));
        return 0;
    }
    bool first = true;
    for (size_t i = 0; i < kb_registry_count(reg); i++) {
        const char *file;
        const struct kb_plugin *p = kb_registry_get(reg, i, &file);
        if (kind && p->kind != (uint32_t)kind)
            continue;
        if (!first)
            printf("\n");
        first = false;
        printf("%-*s  %-*s  %-*s  %s\n", wk, kb_plugin_kind_name(p->kind), wn, p->name, wv,
               p->version, p->summary);
        printf("    file: %s\n", file);
        print_params(p);
    }
    return 0;
}

int kb_cmd_plugins(int argc, char **argv)
{
    bool json = false;
    int kind = 0;
    const char **extra = calloc((size_t)argc + 1, sizeof *extra);
    size_t n_extra = 0;
    if (!extra) {
        fprintf(stderr, "keybench plugins: out of memory\n");
        return 1;
    }
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            rc = 0;
            goto out;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--kind") || !strncmp(a, "--kind=", 7)) {
            const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                fprintf(stderr, "keybench plugins: --kind needs a value (transform, backbone "
                        "or attack)\n");
                goto out;
            }
            for (uint32_t k = KB_KIND_TRANSFORM; k <= KB_KIND_ATTACK; k++)
                if (!strcmp(v, kb_plugin_kind_name(k)))
                    kind = (int)k;
            if (!kind) {
                fprintf(stderr, "keybench plugins: unknown kind '%s' (expected transform, "
                        "backbone or attack)\n", v);
                goto out;
            }
        } else if (!strcmp(a, "--plugin-path") || !strncmp(a, "--plugin-path=", 14)) {
            const char *v = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                fprintf(stderr, "keybench plugins: --plugin-path needs a folder\n");
                goto out;
            }
            extra[n_extra++] = v;
        } else {
            fprintf(stderr, "keybench plugins: unknown argument '%s'\n", a);
            usage(stderr);
            goto out;
        }
    }
    struct kb_error err = { { 0 } };
    struct kb_registry *reg;
    if (kb_registry_open(&reg, extra, n_extra, &err) < 0) {
        fprintf(stderr, "keybench: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    rc = json ? print_json(reg, kind) : print_text(reg, kind);
    kb_registry_free(reg);
out:
    free(extra);
    return rc;
}
