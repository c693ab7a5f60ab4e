/* The report model and its text formats, on fixed run directories
 * (fixture.c): values, golden files, escaping, bad input.
 *
 * Golden files: tests/report/golden/. After a deliberate change of a format,
 * regenerate them with KB_REGEN_GOLDEN=1 meson test -C BUILD test_report
 * and review the diff by eye. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <keybench/report.h>
#include <keybench/runner.h>
#include "../run/run_helpers.h"
#include "fixture.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/kbreportXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    /* relative run dirs: the CSVs' run_dir column is the same on every machine */
    cr_assert_eq(chdir(dir), 0);
    report_fixture_write("a", REPORT_FIXTURE_A);
    report_fixture_write("b", REPORT_FIXTURE_B);
    report_fixture_write("hostile", REPORT_FIXTURE_HOSTILE);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (chdir("/") == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(report, .init = setup, .fini = teardown);

static struct kb_report *load(const char *const *runs, size_t n)
{
    struct kb_report *m;
    struct kb_error err = {0};
    cr_assert_eq(kb_report_load(&m, runs, n, &err), 0, "%s", err.msg);
    return m;
}

static size_t group_of(const struct kb_report *m, size_t run, const char *transform,
                       const char *block)
{
    size_t kb = 0;
    while (kb < m->n_axes && strcmp(m->axes[kb].path, "transform.block_size"))
        kb++;
    cr_assert_lt(kb, m->n_axes);
    for (size_t g = 0; g < m->n_groups; g++)
        if (m->groups[g].run == run && !strcmp(m->groups[g].transform, transform) &&
            !strcmp(m->groups[g].axis_values[kb], block))
            return g;
    cr_assert_fail("no group %s M=%s", transform, block);
    return 0;
}

static const struct kb_report_headline *headline_of(const struct kb_report *m, size_t g)
{
    for (size_t i = 0; i < m->n_headline; i++)
        if (m->headline[i].group == g)
            return &m->headline[i];
    return NULL;
}

#define NEAR(a, b) cr_assert_float_eq((a), (b), 1e-9, "%s = %.12g, expected %.12g", #a, (double)(a), (double)(b))

Test(report, model_axes_groups_and_failed_cells)
{
    const char *runs[] = { "a" };
    struct kb_report *m = load(runs, 1);
    cr_assert_eq(m->n_runs, 1);
    cr_assert_str_eq(m->runs[0].name, "fixture");
    cr_assert_eq(m->n_cells, 8);
    cr_assert_eq(m->n_groups, 4, "seeds are aggregated: 4 groups of 2 cells");
    for (size_t k = 0; k < m->n_axes; k++) {
        const struct kb_report_axis *a = &m->axes[k];
        bool expect = strcmp(a->path, "backbone.name") != 0;   /* mlp everywhere: not shown */
        cr_assert_eq(a->varies, expect, "axis %s varies=%d", a->path, a->varies);
        cr_assert_eq(a->is_seed, !strcmp(a->path, "seed"));
    }
    size_t failed = 0;
    for (size_t i = 0; i < m->n_cells; i++)
        if (!strcmp(m->cells[i].status, "failed")) {
            failed++;
            cr_assert_str_eq(m->cells[i].transform, "block_scramble");
            cr_assert_eq(m->cells[i].seed, 1);
            cr_assert(strstr(m->cells[i].error, "cannot open 'nowhere/train'"), "%s", m->cells[i].error);
        }
    cr_assert_eq(failed, 1);
    cr_assert_eq(m->runs[0].n_failed, 1);
    cr_assert_eq(m->runs[0].n_done, 7);
    kb_report_free(m);
}

Test(report, model_aggregates_over_seeds_and_the_headline)
{
    const char *runs[] = { "a" };
    struct kb_report *m = load(runs, 1);
    size_t np4 = group_of(m, 0, "negpos", "4"), none = group_of(m, 0, "none", "4");
    size_t bs = group_of(m, 0, "block_scramble", "4");
    const struct kb_report_agg *a = kb_report_find(m, np4, "correct_key", "accuracy", "", "");
    cr_assert_not_null(a);
    NEAR(a->stat.mean, 0.85);
    NEAR(a->stat.std, sqrt(2 * 0.01 * 0.01));
    cr_assert_eq(a->stat.n, 2);
    cr_assert_eq(a->stat.n_images, 100);
    NEAR(a->stat.ci_low, 0.80);
    /* the failed seed leaves one value */
    a = kb_report_find(m, bs, "correct_key", "accuracy", "", "");
    cr_assert_eq(a->stat.n, 1);
    NEAR(a->stat.std, 0);
    /* per class: class names sort as numbers (0, 1, 10) */
    a = kb_report_find(m, np4, "correct_key", "class_accuracy", "", "10 bag");
    cr_assert_not_null(a);
    NEAR(a->stat.mean, 0.85 - 0.04);

    cr_assert_eq(m->n_headline, 3, "the none group is the unprotected column, not a row");
    cr_assert_null(headline_of(m, none));
    const struct kb_report_headline *h = headline_of(m, np4);
    cr_assert_not_null(h);
    NEAR(h->unprotected.mean, 0.93);
    NEAR(h->correct_key.mean, 0.85);
    NEAR(h->plain.mean, 0.225);
    /* wrong keys pooled over 3 keys × 2 seeds */
    cr_assert_eq(h->wrong_key.n, 6);
    double w[6] = { 0.10, 0.14, 0.08, 0.13, 0.17, 0.11 }, mean = 0, ss = 0;
    for (int i = 0; i < 6; i++)
        mean += w[i] / 6;
    for (int i = 0; i < 6; i++)
        ss += (w[i] - mean) * (w[i] - mean);
    NEAR(h->wrong_key.mean, mean);
    NEAR(h->wrong_key.std, sqrt(ss / 5));
    /* key estimation: the best mode; fine-tune: the largest n */
    cr_assert_str_eq(h->key_estimation_mode, "bitflip");
    NEAR(h->key_estimation.mean, 0.81);
    cr_assert_eq(h->fine_tune_n, 50);
    NEAR(h->fine_tune.mean, 0.705);
    h = headline_of(m, bs);
    cr_assert_eq(h->key_estimation.n, 0, "no key estimation ran there");
    cr_assert_eq(h->fine_tune_n, 0);
    kb_report_free(m);
}

static const struct kb_report_series *find_series(const struct kb_report *m,
                                                  enum kb_report_series_kind kind, size_t g,
                                                  const char *name, size_t nth)
{
    for (size_t i = 0; i < m->n_series; i++) {
        const struct kb_report_series *s = &m->series[i];
        if (s->kind == kind && s->group == g && !strcmp(s->name, name) && nth-- == 0)
            return s;
    }
    return NULL;
}

Test(report, model_attack_series)
{
    const char *runs[] = { "a" };
    struct kb_report *m = load(runs, 1);
    size_t np4 = group_of(m, 0, "negpos", "4");
    const struct kb_report_series *s = find_series(m, KB_REPORT_SERIES_FINE_TUNE, np4, "stolen", 0);
    cr_assert_not_null(s);
    cr_assert_eq(s->n, 2);
    NEAR(s->x[0], 10);
    NEAR(s->x[1], 50);
    NEAR(s->y[1], 0.705);
    NEAR(s->y_std[1], sqrt(2 * 0.005 * 0.005));
    cr_assert_not_null(find_series(m, KB_REPORT_SERIES_FINE_TUNE, np4, "scratch", 0));
    /* key estimation: one curve per cell and mode */
    const struct kb_report_series *k0 = find_series(m, KB_REPORT_SERIES_KEY_ESTIMATION, np4, "random", 0);
    const struct kb_report_series *k1 = find_series(m, KB_REPORT_SERIES_KEY_ESTIMATION, np4, "random", 1);
    cr_assert_not_null(k0);
    cr_assert_not_null(k1);
    cr_assert_neq(k0->cell, k1->cell);
    cr_assert_eq(k0->n, 3);
    NEAR(k0->x[2], 200);
    cr_assert_null(k0->y_std);
    s = find_series(m, KB_REPORT_SERIES_PGD, np4, "whitebox", 0);
    cr_assert_not_null(s);
    cr_assert_eq(s->n, 1);
    NEAR(s->x[0], 0.0313725);
    NEAR(s->y[0], 0.055);
    s = find_series(m, KB_REPORT_SERIES_WRONG_KEY, np4, "wrong_key", 0);
    cr_assert_not_null(s);
    cr_assert_eq(s->n, 6, "every key of every seed");
    kb_report_free(m);
}

static const struct kb_report_compare_row *compare_row(const struct kb_report *m, size_t g,
                                                       const char *condition, const char *metric,
                                                       const char *variant)
{
    for (size_t i = 0; i < m->n_compare; i++) {
        const struct kb_report_compare_row *r = &m->compare[i];
        if (r->axis_values == m->groups[g].axis_values && !strcmp(r->condition, condition) &&
            !strcmp(r->metric, metric) && !strcmp(r->variant, variant))
            return r;
    }
    return NULL;
}

Test(report, two_runs_are_aligned_and_differences_flagged)
{
    const char *runs[] = { "a", "b" };
    struct kb_report *m = load(runs, 2);
    cr_assert_eq(m->n_runs, 2);
    cr_assert_eq(m->n_groups, 8);
    const struct kb_report_compare_row *r =
        compare_row(m, group_of(m, 0, "negpos", "2"), "correct_key", "accuracy", "");
    cr_assert_not_null(r);
    NEAR(r->per_run[0].mean, 0.89);
    NEAR(r->per_run[1].mean, 0.69);
    cr_assert_eq(r->diff[1], KB_REPORT_DIFFERS);
    cr_assert(r->differs);
    /* +0.002 against a seed std of 0.014: the same */
    r = compare_row(m, group_of(m, 0, "none", "4"), "correct_key", "accuracy", "");
    cr_assert_eq(r->diff[1], KB_REPORT_SAME);
    cr_assert(!r->differs);
    /* one seed: the intervals overlap */
    r = compare_row(m, group_of(m, 0, "block_scramble", "4"), "correct_key", "accuracy", "");
    cr_assert_eq(r->per_run[0].n, 1);
    cr_assert_eq(r->diff[1], KB_REPORT_SAME);
    /* attacks compared too */
    r = compare_row(m, group_of(m, 0, "negpos", "4"), "attack:fine_tune", "accuracy_from_protected", "n=50");
    cr_assert_not_null(r);
    cr_assert_eq(r->diff[1], KB_REPORT_SAME);
    size_t differing = 0;
    for (size_t i = 0; i < m->n_compare; i++)
        differing += m->compare[i].differs;
    cr_assert_eq(differing, 1, "only negpos M=2's correct key moved beyond the noise");
    kb_report_free(m);
}

/* ------------------------------------------------------------------ golden files */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, out);
    fclose(f);
    fclose(out);
    return buf;
}

/* OUT/NAME equals tests/report/golden/GOLDEN (or becomes it, with KB_REGEN_GOLDEN=1). */
static void check_golden(const char *out, const char *name, const char *golden)
{
    char p[512], g[1024];
    snprintf(p, sizeof p, "%s/%s", out, name);
    const char *root = getenv("KEYBENCH_SOURCE_ROOT");
    cr_assert_not_null(root, "KEYBENCH_SOURCE_ROOT is not set (run through meson test)");
    snprintf(g, sizeof g, "%s/tests/report/golden/%s", root, golden);
    char *got = slurp(p);
    cr_assert_not_null(got, "%s was not written", p);
    const char *regen = getenv("KB_REGEN_GOLDEN");
    if (regen && !strcmp(regen, "1")) {
        FILE *f = fopen(g, "wb");
        cr_assert_not_null(f, "cannot write %s", g);
        fputs(got, f);
        fclose(f);
    }
    char *want = slurp(g);
    cr_assert_not_null(want, "no golden file %s (KB_REGEN_GOLDEN=1 writes it)", g);
    if (strcmp(got, want)) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "diff -u '%s' '%s' >&2", g, p);
        if (system(cmd) < 0)
            fprintf(stderr, "diff failed\n");
    }
    cr_assert_str_eq(got, want, "%s differs from %s (diff above; KB_REGEN_GOLDEN=1 rewrites it)",
                     p, g);
    free(got);
    free(want);
}

Test(report, golden_single_run)
{
    const char *runs[] = { "a" };
    struct kb_error err = {0};
    cr_assert_eq(kb_report_write("out1", runs, 1, "csv,md,tex", &err), 0, "%s", err.msg);
    check_golden("out1", "results.csv", "single-results.csv");
    check_golden("out1", "summary.csv", "single-summary.csv");
    check_golden("out1", "report.md", "single-report.md");
    check_golden("out1", "report.tex", "single-report.tex");
}

Test(report, golden_two_runs)
{
    const char *runs[] = { "a", "b" };
    struct kb_error err = {0};
    cr_assert_eq(kb_report_write("out2", runs, 2, NULL, &err), 0, "%s", err.msg);
    check_golden("out2", "summary.csv", "compare-summary.csv");
    check_golden("out2", "report.md", "compare-report.md");
    check_golden("out2", "report.tex", "compare-report.tex");
}

/* ------------------------------------------------------------------ escaping */

/* One RFC 4180 record from *p (advanced past it) into fields; returns the count. */
static size_t csv_record(const char **p, char fields[][512], size_t max)
{
    size_t n = 0;
    const char *s = *p;
    for (;;) {
        char *out = fields[n < max ? n : max - 1];
        size_t len = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                cr_assert_neq(*s, '\0', "unterminated quoted field");
                if (*s == '"' && s[1] == '"') {
                    out[len++] = '"';
                    s += 2;
                } else if (*s == '"') {
                    s++;
                    break;
                } else {
                    out[len++] = *s++;
                }
                cr_assert_lt(len, 511);
            }
            cr_assert(*s == ',' || *s == '\n', "text after a closing quote");
        } else {
            while (*s && *s != ',' && *s != '\n') {
                cr_assert_neq(*s, '"', "a quote in an unquoted field");
                out[len++] = *s++;
                cr_assert_lt(len, 511);
            }
        }
        out[len] = '\0';
        n++;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\n')
            s++;
        break;
    }
    *p = s;
    return n;
}

static void check_csv(const char *path)
{
    char *text = slurp(path);
    cr_assert_not_null(text, "%s", path);
    static char fields[200][512];
    const char *p = text;
    size_t header = csv_record(&p, fields, 200), rows = 0;
    bool hostile_seen = false;
    while (*p) {
        size_t n = csv_record(&p, fields, 200);
        cr_assert_eq(n, header, "%s: row %zu has %zu fields, the header %zu", path, rows + 1, n,
                     header);
        for (size_t i = 0; i < n; i++)
            hostile_seen |= !strcmp(fields[i], REPORT_FIXTURE_HOSTILE_TEXT);
        rows++;
    }
    cr_assert_gt(rows, 0);
    cr_assert(hostile_seen, "%s: the hostile text does not come back intact from any field", path);
    free(text);
}

/* Every | of a table line that is not escaped separates a cell. */
static size_t md_cells(const char *line)
{
    size_t n = 0;
    for (const char *p = line; *p && *p != '\n'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        n += *p == '|';
    }
    return n;
}

static void check_md(const char *path)
{
    char *text = slurp(path);
    cr_assert_not_null(text);
    cr_assert_null(strstr(text, "<script"), "raw HTML in %s", path);
    cr_assert_null(strstr(text, "alert(\"x\")</"), "raw HTML in %s", path);
    cr_assert_not_null(strstr(text, "&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; \\| % \\_ \\\\ \\$ # ^ \\~ {} \\[x\\]"),
                       "the hostile text escaped for Markdown is missing from %s", path);
    /* every row of a table has as many cells as its header */
    size_t want = 0;
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        if (*line == '|') {
            size_t n = md_cells(line);
            if (!want)
                want = n;
            cr_assert_eq(n, want, "%s: a row with %zu separators, the header %zu: %.80s", path, n,
                         want, line);
        } else {
            want = 0;
        }
        if (!strchr(line, '\n'))
            break;
    }
    free(text);
}

static void check_tex(const char *path)
{
    char *text = slurp(path);
    cr_assert_not_null(text);
    cr_assert_null(strstr(text, "<script"), "raw text in %s", path);
    cr_assert_not_null(strstr(text, "\\textless{}script\\textgreater{}alert({\\ttfamily\\char34}x"
                                    "{\\ttfamily\\char34})\\textless{}/script\\textgreater{} \\& "
                                    "\\textbar{} \\% \\_ \\textbackslash{} \\$ \\# "
                                    "\\textasciicircum{} \\textasciitilde{} \\{\\} [x]"),
                       "the hostile text escaped for LaTeX is missing from %s", path);
    /* outside comment lines, every special character is escaped */
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (*line != '%')
            for (size_t i = 0; i < len; i++) {
                if (line[i] == '\\') {
                    i++;   /* a command or an escaped character */
                    continue;
                }
                cr_assert(!strchr("%#_^~\"<>|", line[i]), "%s: unescaped '%c' in %.*s", path,
                          line[i], (int)len, line);
            }
        if (!end)
            break;
        line = end + 1;
    }
    free(text);
}

Test(report, hostile_strings_are_escaped_in_every_format)
{
    const char *runs[] = { "hostile" };
    struct kb_error err = {0};
    cr_assert_eq(kb_report_write("out3", runs, 1, NULL, &err), 0, "%s", err.msg);
    check_csv("out3/results.csv");
    check_csv("out3/summary.csv");
    check_md("out3/report.md");
    check_tex("out3/report.tex");
}

static char *escaped(void (*fn)(FILE *, const char *), const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fn(f, s);
    fclose(f);
    return buf;
}

Test(report, escapers)
{
    struct { void (*fn)(FILE *, const char *); const char *in, *out; } cases[] = {
        { kb_report_html_escape, "<a href=\"x\">'&'</a>", "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;" },
        { kb_report_csv_field, "plain", "plain" },
        { kb_report_csv_field, "a,b", "\"a,b\"" },
        { kb_report_csv_field, "say \"hi\"\nnow", "\"say \"\"hi\"\"\nnow\"" },
        { kb_report_md_escape, "# a|b `c` *d* [e](f) <g>", "\\# a\\|b \\`c\\` \\*d\\* \\[e\\](f) &lt;g&gt;" },
        { kb_report_md_escape, "line\nbreak", "line break" },
        { kb_report_tex_escape, "50% of $x_1$ & {y}", "50\\% of \\$x\\_1\\$ \\& \\{y\\}" },
        { kb_report_tex_escape, "~^\\", "\\textasciitilde{}\\textasciicircum{}\\textbackslash{}" },
        { kb_report_tex_escape, "a\x01" "b\x0c" "c\x7f" "d\te", "a b c d e" },  /* pdflatex refuses them */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = escaped(cases[i].fn, cases[i].in);
        cr_assert_str_eq(got, cases[i].out, "case %zu", i);
        free(got);
    }
}

/* ------------------------------------------------------------------ bad input */

static void expect_load_error(const char *run, const char *needle)
{
    const char *runs[] = { run };
    struct kb_report *m = NULL;
    struct kb_error err = {0};
    cr_assert_eq(kb_report_load(&m, runs, 1, &err), -1);
    cr_assert_null(m);
    cr_assert_not_null(strstr(err.msg, needle), "error '%s' should name '%s'", err.msg, needle);
    cr_assert_null(strchr(err.msg, '\n'), "one line: %s", err.msg);
}

Test(report, corrupt_journal_line_names_file_and_line)
{
    /* a broken line 3 between good ones */
    cr_assert_eq(system("sed -i '3s/.*/{\"type\": \"measurement\", broken/' a/journal.jsonl"), 0);
    expect_load_error("a", "a/journal.jsonl:3");
}

Test(report, not_a_run_dir)
{
    cr_assert_eq(system("mkdir -p empty"), 0);
    expect_load_error("empty", "no journal");
    expect_load_error("does-not-exist", "does-not-exist");
}

Test(report, corrupt_plan_is_an_error)
{
    cr_assert_eq(system("echo '{\"cells\": [' > a/plan.json"), 0);
    expect_load_error("a", "a/plan.json");
}

Test(report, unknown_format_writes_nothing)
{
    const char *runs[] = { "a" };
    struct kb_error err = {0};
    cr_assert_eq(kb_report_write("out4", runs, 1, "md,pdf", &err), -1);
    cr_assert_not_null(strstr(err.msg, "'pdf'"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "csv, md, tex"), "the known formats: %s", err.msg);
    cr_assert_neq(access("out4", F_OK), 0, "nothing written");
    cr_assert_eq(kb_report_check_formats("csv,tex", &err), 0);
}

Test(report, only_the_asked_formats)
{
    const char *runs[] = { "a" };
    struct kb_error err = {0};
    cr_assert_eq(kb_report_write("out5", runs, 1, "md", &err), 0, "%s", err.msg);
    cr_assert_eq(access("out5/report.md", F_OK), 0);
    cr_assert_neq(access("out5/report.tex", F_OK), 0);
    cr_assert_neq(access("out5/results.csv", F_OK), 0);
    size_t n;
    const struct kb_report_format *f = kb_report_formats(&n);
    for (size_t i = 0; i < n; i++)
        cr_assert_not_null(f[i].write, "format %s has a writer", f[i].name);
}

/* Append copies of a's first class_accuracy record with other classes and
 * values (and class_index values, when indices is not NULL). */
static void add_classes(const char *const *names, const double *values, size_t n,
                        const long long *indices)
{
    FILE *f = fopen("a/journal.jsonl", "r");
    cr_assert_not_null(f);
    char line[8192];
    json_t *proto = NULL;
    while (!proto && fgets(line, sizeof line, f)) {
        json_t *r = json_loads(line, 0, NULL);
        const char *metric = json_string_value(json_object_get(r, "metric"));
        if (metric && !strcmp(metric, "class_accuracy"))
            proto = r;
        else
            json_decref(r);
    }
    fclose(f);
    cr_assert_not_null(proto);
    f = fopen("a/journal.jsonl", "a");
    for (size_t i = 0; i < n; i++) {
        json_object_set_new(proto, "class", json_string(names[i]));
        json_object_set_new(proto, "value", json_real(values[i]));
        if (indices)
            json_object_set_new(proto, "class_index", json_integer(indices[i]));
        char *s = json_dumps(proto, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(f, "%s\n", s);
        free(s);
    }
    fclose(f);
    json_decref(proto);
}

Test(report, classes_of_mixed_names_are_all_found)
{
    const char *names[] = { "2", "10", "1a", "9", "b" };
    double values[] = { 0.2, 0.3, 0.4, 0.5, 0.6 };
    add_classes(names, values, 5, NULL);
    const char *runs[] = { "a" };
    struct kb_report *m = load(runs, 1);
    size_t g = m->cells[0].group;   /* the prototype's cell comes first in results order */
    for (size_t i = 0; i < 5; i++) {
        const struct kb_report_agg *a = kb_report_find(m, g, "correct_key", "class_accuracy", "", names[i]);
        cr_assert_not_null(a, "class %s", names[i]);
        NEAR(a->stat.mean, values[i]);
    }
    kb_report_free(m);
}

Test(report, classes_keep_the_dataset_order)
{
    /* the labels' order (class_index), not the names' (Fashion-MNIST: T-shirt/top,
     * Trouser, ...); classes of older journals, without an index, come after */
    const char *names[] = { "zeta", "alpha", "mid" };
    double values[] = { 0.2, 0.3, 0.4 };
    long long indices[] = { 0, 1, 2 };
    add_classes(names, values, 3, indices);
    const char *runs[] = { "a" };
    struct kb_error err = {0};
    cr_assert_eq(kb_report_write("out7", runs, 1, "md", &err), 0, "%s", err.msg);
    char *md = slurp("out7/report.md");
    cr_assert_not_null(md);
    const char *z = strstr(md, "| zeta |"), *al = strstr(md, "| alpha |"), *mi = strstr(md, "| mid |");
    const char *old = strstr(md, "| 0 shirt |");
    cr_assert(z && al && mi && old, "a class column is missing:\n%s", md);
    cr_assert(z < al && al < mi && mi < old, "columns not in class_index order:\n%s", md);
    free(md);
}

Test(report, many_classes_show_the_lowest_and_highest)
{
    const char *names[20];
    double values[20];
    char buf[20][16];
    for (int i = 0; i < 20; i++) {
        snprintf(buf[i], sizeof buf[i], "k%02d", i);
        names[i] = buf[i];
        values[i] = i == 7 ? 0.01 : i == 13 ? 0.99 : 0.5;
    }
    add_classes(names, values, 20, NULL);
    const char *runs[] = { "a" };
    struct kb_error err = {0};
    cr_assert_eq(kb_report_write("out6", runs, 1, "md", &err), 0, "%s", err.msg);
    char *md = slurp("out6/report.md");
    cr_assert_not_null(md);
    cr_assert_not_null(strstr(md, "| lowest class | highest class |"), "no column per class");
    cr_assert_null(strstr(md, "| k00 |"));
    cr_assert_not_null(strstr(md, "1.0 (k07)"), "the lowest class named");
    cr_assert_not_null(strstr(md, "99.0 (k13)"), "the highest class named");
    free(md);
}

/* ------------------------------------------------------------------ the end of a run */

/* A tiny real run (16x16 synthetic images, an MLP, two seeds) into "run". */
static int tiny_run(struct kb_error *err, int *failed)
{
    cr_assert_eq(mkdir("data", 0755), 0);
    write_idx_pair("data", "train", 160, 1);
    write_idx_pair("data", "t10k", 40, 2);
    FILE *f = fopen("s.yaml", "w");
    cr_assert_not_null(f);
    fprintf(f, "name: tiny\ndataset:\n  - {name: idx, path: data}\n"
               "splits:\n  pretrain: {fraction: 1.0}\n  finetune: {fraction: 0.5}\n"
               "  attacker: {count: 20}\n  test: {fraction: 1.0}\n"
               "backbone: {name: mlp, hidden: 8, depth: 1}\n"
               "transform:\n  - none\n  - {name: negpos, block_size: 4}\nseed: [0, 1]\n"
               "pretrain: {epochs: 1, batch_size: 32, lr: 0.05}\n"
               "finetune: {epochs: 1, batch_size: 32, lr: 0.05}\n"
               "evaluate: {wrong_keys: 2, batch_size: 64}\n");
    fclose(f);
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = "s.yaml", o.run_dir = "run", o.quiet = true, o.summary = false, o.threads = 1;
    return kb_run(&o, failed, err);
}

Test(report, a_run_ends_with_every_report)
{
    struct kb_error err = {0};
    int failed = -1;
    cr_assert_eq(tiny_run(&err, &failed), 0, "%s", err.msg);
    cr_assert_eq(failed, 0);
    static const char *const files[] = { "results.csv", "summary.csv", "report.md", "report.tex" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char p[256];
        snprintf(p, sizeof p, "run/%s", files[i]);
        cr_assert_eq(access(p, F_OK), 0, "%s was not written at the end of the run", p);
    }
    char *md = slurp("run/report.md");
    cr_assert_not_null(strstr(md, "| negpos |"), "the headline row of negpos:\n%s", md);
    free(md);
}

Test(report, a_report_that_fails_keeps_the_run)
{
    /* report.md cannot be written (a directory is in its way) */
    cr_assert_eq(system("mkdir -p run/report.md/blocked"), 0);
    struct kb_error err = {0};
    int failed = -1;
    cr_assert_eq(tiny_run(&err, &failed), -1, "the run says that its report failed");
    cr_assert_not_null(strstr(err.msg, "report.md"), "%s", err.msg);
    /* the journal and the formats before it are there, and a report can be made later */
    cr_assert_eq(access("run/journal.jsonl", F_OK), 0);
    cr_assert_eq(access("run/results.csv", F_OK), 0);
    cr_assert_eq(system("rm -r run/report.md"), 0);
    const char *runs[] = { "run" };
    cr_assert_eq(kb_report_write("run", runs, 1, NULL, &err), 0, "%s", err.msg);
    const char *ids[] = { "run" };
    struct kb_report *m = load(ids, 1);
    cr_assert_eq(m->runs[0].n_done, 4, "every cell of the run is done");
    kb_report_free(m);
}

/* ------------------------------------------------------------------ hand-made runs */

struct mini_cell {
    const char *id, *transform, *block;   /* block: the JSON of the block_size axis value */
    int seed;
    double accuracy;
};

/* A run dir of correct-key accuracies only: plan.json and journal.jsonl. */
static void write_mini_run(const char *run, const struct mini_cell *cells, size_t n)
{
    cr_assert_eq(mkdir(run, 0755), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/plan.json", run);
    FILE *plan = fopen(path, "w");
    snprintf(path, sizeof path, "%s/journal.jsonl", run);
    FILE *journal = fopen(path, "w");
    cr_assert(plan && journal);
    fprintf(plan, "{\"name\": \"%s\", \"axes\": [\"transform.name\", \"transform.block_size\", "
                  "\"seed\"], \"cells\": [", run);
    for (size_t i = 0; i < n; i++) {
        const struct mini_cell *c = &cells[i];
        char axes[4096];
        snprintf(axes, sizeof axes, "{\"transform.name\": \"%s\", \"transform.block_size\": %s, "
                 "\"seed\": %d}", c->transform, c->block, c->seed);
        fprintf(plan, "%s{\"id\": \"%s\", \"name\": \"%s\", \"axes\": %s, \"config\": {\"seed\": %d, "
                      "\"transform\": {\"name\": \"%s\"}}}", i ? ", " : "", c->id, c->id, axes,
                c->seed, c->transform);
        fprintf(journal, "{\"type\": \"measurement\", \"cell\": \"%s\", \"cell_name\": \"%s\", "
                         "\"axes\": %s, \"transform\": \"%s\", \"seed\": %d, \"condition\": "
                         "\"correct_key\", \"metric\": \"accuracy\", \"value\": %g, \"n\": 100}\n",
                c->id, c->id, axes, c->transform, c->seed, c->accuracy);
    }
    fputs("]}\n", plan);
    fclose(plan);
    fclose(journal);
}

static bool valid_utf8(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t need = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC0 ? 1 : 9;
        if (need == 9)
            return false;
        p++;
        for (size_t k = 0; k < need; k++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

/* An axis value longer than a table cell is cut at a whole character: cut
 * inside one, the group index refused the key and the cell landed in another
 * transform's group (read through a freed index entry). */
Test(report, long_axis_values_are_cut_at_a_character)
{
    char block[1300] = "\"";
    for (int i = 0; i < 600; i++)
        strcat(block, "é");
    strcat(block, "\"");
    const struct mini_cell cells[] = {
        { "u1", "none", "2", 0, 0.9 }, { "u2", "negpos", block, 0, 0.5 },
        { "u3", "negpos", block, 1, 0.6 },
    };
    write_mini_run("long", cells, 3);
    const char *runs[] = { "long" };
    struct kb_report *m = load(runs, 1);
    cr_assert_eq(m->n_cells, 3);
    for (size_t i = 0; i < m->n_cells; i++)
        for (size_t k = 0; k < m->n_axes; k++)
            cr_assert(valid_utf8(m->cells[i].axis_values[k]), "cell %zu axis %zu", i, k);
    cr_assert_eq(m->n_groups, 2, "the two negpos seeds are one group");
    cr_assert_str_eq(m->groups[m->cells[1].group].transform, "negpos");
    cr_assert_eq(m->cells[1].group, m->cells[2].group);
    cr_assert_neq(m->cells[0].group, m->cells[1].group);
    kb_report_free(m);
}

/* With a `none` group per block size, each keyed row's unprotected column is
 * the `none` of its own block size (it was empty: the exact match compared
 * the transform's name too, so only the ambiguous loose match was left). */
Test(report, unprotected_pairs_by_block_size)
{
    const struct mini_cell cells[] = {
        { "n2a", "none", "2", 0, 0.50 }, { "n2b", "none", "2", 1, 0.52 },
        { "n4a", "none", "4", 0, 0.90 }, { "n4b", "none", "4", 1, 0.92 },
        { "p2a", "negpos", "2", 0, 0.40 }, { "p2b", "negpos", "2", 1, 0.41 },
        { "p4a", "negpos", "4", 0, 0.80 }, { "p4b", "negpos", "4", 1, 0.81 },
    };
    write_mini_run("pair", cells, 8);
    const char *runs[] = { "pair" };
    struct kb_report *m = load(runs, 1);
    const struct kb_report_headline *h2 = headline_of(m, group_of(m, 0, "negpos", "2"));
    const struct kb_report_headline *h4 = headline_of(m, group_of(m, 0, "negpos", "4"));
    cr_assert(h2 && h4);
    cr_assert_eq(h2->unprotected.n, 2);
    NEAR(h2->unprotected.mean, 0.51);
    cr_assert_eq(h4->unprotected.n, 2);
    NEAR(h4->unprotected.mean, 0.91);
    cr_assert_null(headline_of(m, group_of(m, 0, "none", "2")), "a `none` serving as a column is no row");
    cr_assert_eq(m->n_headline, 2);
    kb_report_free(m);
}

/* The comparison rule at its boundary: with two seeds each, a run differs from
 * the first when |Δmean| > sqrt(std1² + std2²) (here 0.02), not before. */
Test(report, runs_differ_beyond_the_combined_std_only)
{
    const struct mini_cell ref[] = { { "c0", "negpos", "2", 0, 0.50 }, { "c1", "negpos", "2", 1, 0.52 } };
    const struct mini_cell near[] = { { "c0", "negpos", "2", 0, 0.518 }, { "c1", "negpos", "2", 1, 0.538 } };
    const struct mini_cell far[] = { { "c0", "negpos", "2", 0, 0.522 }, { "c1", "negpos", "2", 1, 0.542 } };
    write_mini_run("ref", ref, 2);
    write_mini_run("near", near, 2);
    write_mini_run("far", far, 2);
    const char *runs[] = { "ref", "near", "far" };
    struct kb_report *m = load(runs, 3);
    const struct kb_report_compare_row *row = NULL;
    for (size_t i = 0; i < m->n_compare; i++)
        if (!strcmp(m->compare[i].condition, "correct_key"))
            row = &m->compare[i];
    cr_assert_not_null(row);
    NEAR(row->per_run[0].std, sqrt(0.0002));
    cr_assert_eq(row->diff[1], KB_REPORT_SAME, "|Δ| = 0.018 < 0.02");
    cr_assert_eq(row->diff[2], KB_REPORT_DIFFERS, "|Δ| = 0.022 > 0.02");
    cr_assert(row->differs);
    kb_report_free(m);
}

/* A plan of many groups loads in memory proportional to its cells: each group
 * used to get an array as long as every cell of the report (20000 groups of
 * one cell: 3.2 GB, refused here by a 1 GiB address-space limit). Not under
 * AddressSanitizer, whose shadow memory needs a larger address space. */
Test(report, many_groups_load_in_linear_memory)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("the address-space limit does not combine with AddressSanitizer");
#else
    enum { N = 20000 };
    struct mini_cell *cells = calloc(N, sizeof *cells);
    char (*ids)[16] = calloc(N, sizeof *ids), (*blocks)[16] = calloc(N, sizeof *blocks);
    cr_assert(cells && ids && blocks);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "c%d", i);
        snprintf(blocks[i], sizeof blocks[i], "%d", i);
        cells[i] = (struct mini_cell){ ids[i], "negpos", blocks[i], 0, 0.5 };
    }
    write_mini_run("many", cells, N);
    struct rlimit lim = { 1ul << 30, 1ul << 30 };
    cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0);
    const char *runs[] = { "many" };
    struct kb_report *m = load(runs, 1);
    cr_assert_eq(m->n_groups, N);
    for (size_t g = 0; g < m->n_groups; g++)
        cr_assert_eq(m->groups[g].n_cells, 1);
    kb_report_free(m);
    free(cells), free(ids), free(blocks);
#endif
}
