/* `keybench report`: the dispatch table of the formats and kb_report_write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/report.h>
#include "report_internal.h"
#include "run_internal.h"

/* Every format this build writes, in the order they are written. A new format
 * is one line here (and its writer's declaration in keybench/report.h). */
static const struct kb_report_format formats[] = {
    { "csv", "results.csv, summary.csv", kb_report_write_csv },
    { "md", "report.md", kb_report_write_md },
    { "tex", "report.tex", kb_report_write_tex },
    { "html", "report.html", kb_report_write_html },
};

const struct kb_report_format *kb_report_formats(size_t *n)
{
    *n = sizeof formats / sizeof *formats;
    return formats;
}

/* Which formats a list like "csv,md" names; an unknown one is an error. */
static int parse_formats(bool *want, const char *list, struct kb_error *err)
{
    size_t n = sizeof formats / sizeof *formats;
    bool all = !list || !strcmp(list, "all");
    for (size_t i = 0; i < n; i++)
        want[i] = all;
    if (all)
        return 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < n; i++)
            if (strlen(formats[i].name) == len && !strncmp(p, formats[i].name, len))
                want[i] = found = true;
        if (!found) {
            char known[200] = "";
            for (size_t i = 0; i < n; i++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         i ? ", " : "", formats[i].name);
            return kb_error_set(err, "--format: unknown format '%.*s' (expected a comma-separated "
                                "list of: %s, or all)", (int)len, p, known);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int kb_report_check_formats(const char *formats_list, struct kb_error *err)
{
    bool want[sizeof formats / sizeof *formats];
    return parse_formats(want, formats_list, err);
}

int kb_report_write_model(const struct kb_report *m, const char *out_dir, const char *formats_list,
                          struct kb_error *err)
{
    bool want[sizeof formats / sizeof *formats];
    if (parse_formats(want, formats_list, err) < 0 || kb_mkdir_p(out_dir, err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
        if (want[i] && formats[i].write(m, out_dir, err) < 0)
            return kb_error_prefix(err, "report %s", formats[i].name);
    return 0;
}

int kb_report_write(const char *out_dir, const char *const *run_dirs, size_t n_runs,
                    const char *formats_list, struct kb_error *err)
{
    bool want[sizeof formats / sizeof *formats];
    if (parse_formats(want, formats_list, err) < 0)   /* before any work */
        return -1;
    struct kb_report *m;
    if (kb_report_load(&m, run_dirs, n_runs, err) < 0)
        return -1;
    int rc = kb_report_write_model(m, out_dir, formats_list, err);
    kb_report_free(m);
    return rc;
}

FILE *kb_report_open(char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = open_memstream(buf, len);
    if (!f)
        kb_report_oom();
    return f;
}

int kb_report_close_save(FILE *f, char **buf, size_t *len, const char *out_dir, const char *name,
                         struct kb_error *err)
{
    int rc = fclose(f) == 0 ? 0 : kb_error_set(err, "%s/%s: cannot build it in memory", out_dir, name);
    if (rc == 0)
        rc = kb_report_save(out_dir, name, *buf, *len, err);
    free(*buf);
    *buf = NULL;
    return rc;
}

size_t kb_report_label_axes(const struct kb_report *m, size_t *idx, size_t max)
{
    size_t n = 0;
    for (size_t k = 0; k < m->n_axes && n < max; k++)
        if (m->axes[k].varies && !m->axes[k].is_seed)
            idx[n++] = k;
    return n;
}

void kb_report_axis_title(char *out, size_t n, const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *leaf = dot ? dot + 1 : path;
    if (!strcmp(leaf, "name") && dot)
        snprintf(out, n, "%.*s", (int)(dot - path), path);
    else
        snprintf(out, n, "%s", leaf);
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = ' ';
}
