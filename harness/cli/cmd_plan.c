/* keybench plan SPEC [KEY.PATH=VALUE]... [--json]
 *
 * Loads a spec (includes, overrides), validates it against the plugins found
 * (the build's/installed folder, KEYBENCH_PLUGIN_PATH, the spec's plugin_path)
 * and prints the expanded matrix: one line per cell (id, name, axis values)
 * and the total. --json prints one JSON document (see kb_plan_json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <keybench/registry.h>
#include <keybench/spec.h>
#include "commands.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: keybench plan SPEC [KEY.PATH=VALUE]... [--json]\n\n"
            "Print the cells of a spec's experiment matrix: id, name and axis values.\n"
            "Each KEY.PATH=VALUE overrides the spec (VALUE is YAML, e.g. seed=[0,1]).\n\n"
            "  --json   one JSON document on stdout (spec, name, count, axes, cells)\n");
}

static void print_value(const json_t *v)
{
    if (json_is_string(v))
        fputs(json_string_value(v), stdout);
    else if (json_is_real(v)) {
        char buf[64];
        double f = json_real_value(v);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, f);
            if (strtod(buf, NULL) == f)
                break;
        }
        fputs(buf, stdout);
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(t ? t : "?", stdout);
        free(t);
    }
}

int kb_cmd_plan(int argc, char **argv)
{
    const char *spec_path = NULL;
    bool json = false;
    const char **ovr = calloc(argc > 0 ? (size_t)argc : 1, sizeof *ovr);
    size_t n_ovr = 0;
    if (!ovr) {
        fprintf(stderr, "keybench: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            free(ovr);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--")) {
            continue;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "keybench: plan: unknown option '%s'\n", a);
            usage(stderr);
            free(ovr);
            return 2;
        } else if (!spec_path && !strchr(a, '=')) {
            spec_path = a;
        } else if (strchr(a, '=')) {
            ovr[n_ovr++] = a;
        } else {
            fprintf(stderr, "keybench: plan: unexpected argument '%s' (overrides are "
                            "KEY.PATH=VALUE)\n", a);
            usage(stderr);
            free(ovr);
            return 2;
        }
    }
    if (!spec_path) {
        usage(stderr);
        free(ovr);
        return 2;
    }

    struct kb_error err = { { 0 } };
    struct kb_spec *spec = NULL;
    struct kb_registry *reg = NULL;
    struct kb_plan *plan = NULL;
    int rc = 1;
    if (kb_spec_parse(&spec, spec_path, ovr, n_ovr, &err) < 0)
        goto fail;
    const char *const *dirs;
    size_t n_dirs = kb_spec_plugin_paths(spec, &dirs);
    if (kb_registry_open(&reg, dirs, n_dirs, &err) < 0 || kb_spec_validate(spec, reg, &err) < 0 ||
        kb_plan_expand(&plan, spec, &err) < 0)
        goto fail;

    if (json) {
        json_t *doc = kb_plan_json(plan);
        if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) < 0) {
            json_decref(doc);
            fprintf(stderr, "keybench: plan: cannot write JSON\n");
            goto out;
        }
        json_decref(doc);
        fputc('\n', stdout);
    } else {
        size_t n = kb_plan_count(plan);
        size_t width = 4;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(kb_cell_name(kb_plan_cell(plan, i)));
            if (l > width)
                width = l;
        }
        printf("%-12s  %-*s  %s\n", "ID", (int)width, "NAME", "AXES");
        for (size_t i = 0; i < n; i++) {
            const struct kb_cell *c = kb_plan_cell(plan, i);
            printf("%-12s  %-*s ", kb_cell_id(c), (int)width, kb_cell_name(c));
            const char *k;
            json_t *v;
            json_object_foreach((json_t *)kb_cell_axes(c), k, v) {
                if (json_is_null(v))
                    continue;
                printf(" %s=", k);
                print_value(v);
            }
            putchar('\n');
        }
        printf("%zu cell%s (spec '%s', output %s)\n", n, n == 1 ? "" : "s", kb_spec_name(spec),
               kb_spec_output(spec));
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "keybench: plan: cannot write the output\n");
        goto out;
    }
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "keybench: %s\n", err.msg);
out:
    kb_plan_free(plan);
    kb_spec_free(spec);
    kb_registry_free(reg);
    free(ovr);
    return rc;
}
