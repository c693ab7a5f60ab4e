/* report.html and its SVG charts: a golden chart file, the marks a chart
 * draws, hostile strings escaped, the page's structure from the fixed
 * journal (fixture.c), and the runner leaving cells/<id>/samples.png that the
 * page embeds. The browser test (html_browser.py) renders the page.
 *
 * Golden file: tests/report/golden/charts.html. After a deliberate change of
 * the charts, rerun with KB_REGEN_GOLDEN=1 and look at the file in a browser.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sodium.h>

#include <keybench/image.h>
#include <keybench/report.h>
#include <keybench/samples.h>

#include "../../harness/report/svg.h"
#include "../run/run_helpers.h"
#include "fixture.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/kbhtmlXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(html, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------------ helpers */

static char *read_text(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    struct kb_error err = {0};
    cr_assert_eq(kb_file_read_all(path, 64u << 20, &data, &size, &err), 0, "%s", err.msg);
    return (char *)data; /* NUL-terminated by kb_file_read_all */
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The text between the first `from` and the next `to` (a copy). */
static char *between(const char *hay, const char *from, const char *to)
{
    const char *a = strstr(hay, from);
    cr_assert_not_null(a, "no '%s' in the page", from);
    const char *b = strstr(a, to);
    cr_assert_not_null(b, "no '%s' after '%s'", to, from);
    return strndup(a, (size_t)(b - a));
}

/* Build report.html of the run dirs into DIR/OUT and return its text. */
static char *html_of(const char *out, const char *const *runs, size_t n)
{
    char o[256], p[300];
    snprintf(o, sizeof o, "%s/%s", dir, out);
    struct kb_error err = {0};
    cr_assert_eq(kb_report_write(o, runs, n, "html", &err), 0, "%s", err.msg);
    snprintf(p, sizeof p, "%s/report.html", o);
    return read_text(p);
}

/* ------------------------------------------------------------------ charts */

static const char *const cats[] = { "none", "negpos, block_size=2", "<b>&\"wide\"</b>" };
static const char *const conds[] = { "correct key", "plain images", "wrong key" };
static const double bar_v[] = { 92.0, 91.5, NAN, 88.0, 21.0, 11.5, 84.25, 19.0, 12.0 };
static const double bar_e[] = { 1.0, 0.5, NAN, 2.0, NAN, 4.0, 0.0, 3.0, 1.5 };

static void write_bars(FILE *f)
{
    struct kb_svg_bars c = {
        .f = { .id = "g-bars", .title = "Accuracy by transform", .x_label = "transform",
               .y_label = "test accuracy (%)", .y_min = 0, .y_max = 100, .ref_y = 10.0,
               .ref_label = "chance", .unit = "%" },
        .categories = cats, .n_categories = 3, .series = conds, .n_series = 3,
        .values = bar_v, .errors = bar_e,
    };
    kb_svg_bar_chart(f, &c);
}

static void write_strip(FILE *f)
{
    static const double a[] = { 10.0, 12.5, 9.0, 11.0, 30.0 }, b[] = { 50.0 }, mk[] = { 88.0, NAN };
    const double *vals[] = { a, b };
    size_t nv[] = { 5, 1 };
    struct kb_svg_strip c = {
        .f = { .id = "g-strip", .title = "Wrong keys", .x_label = "transform",
               .y_label = "test accuracy (%)", .y_min = NAN, .y_max = NAN, .ref_y = NAN,
               .unit = "%" },
        .categories = cats, .n_categories = 2, .values = vals, .n_values = nv,
        .points_label = "one wrong key", .marker = mk, .marker_label = "correct key",
    };
    kb_svg_strip_chart(f, &c);
}

static void write_lines(FILE *f)
{
    static const double x[] = { 10, 50, 200, 1000 }, y1[] = { 20, 40, 61.5, 80 },
                        e1[] = { 1, 2, NAN, 0.5 }, y2[] = { 15, NAN, 55, 79 };
    struct kb_svg_line l[] = { { "stolen", 0, x, y1, e1, 4 }, { "scratch", 2, x, y2, NULL, 4 },
                               { "stolen again (same style)", 0, x, y2, NULL, 2 } };
    struct kb_svg_lines c = {
        .f = { .id = "g-lines", .title = "Fine-tune attack", .x_label = "images (log scale)",
               .y_label = "accuracy (%)", .width = 460, .height = 300, .y_min = 0, .y_max = 100,
               .ref_y = NAN, .unit = "%" },
        .lines = l, .n_lines = 3, .log_x = true,
    };
    kb_svg_line_chart(f, &c);
}

static char *charts_page(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<title>keybench chart golden</title></head><body>\n", f);
    write_bars(f);
    write_strip(f);
    write_lines(f);
    fputs("</body></html>\n", f);
    fclose(f);
    return buf;
}

Test(html, charts_match_the_golden_file)
{
    char *got = charts_page(), *again = charts_page();
    cr_assert_str_eq(got, again, "two writes of the same charts differ");
    const char *root = getenv("KEYBENCH_SOURCE_ROOT");
    cr_assert_not_null(root, "KEYBENCH_SOURCE_ROOT is not set (run through meson test)");
    char g[1024], p[300];
    snprintf(g, sizeof g, "%s/tests/report/golden/charts.html", root);
    const char *regen = getenv("KB_REGEN_GOLDEN");
    struct kb_error err = {0};
    if (regen && !strcmp(regen, "1"))
        cr_assert_eq(kb_file_write_atomic(g, got, strlen(got), 0644, false, &err), 0, "%s", err.msg);
    char *want = read_text(g);
    if (strcmp(got, want)) {
        snprintf(p, sizeof p, "%s/charts.html", dir);
        cr_assert_eq(kb_file_write_atomic(p, got, strlen(got), 0644, false, &err), 0, "%s", err.msg);
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "diff -u '%s' '%s' | head -40 >&2", g, p);
        cr_expect_eq(system(cmd), 0);
    }
    cr_assert_str_eq(got, want, "the charts differ from %s (diff above; KB_REGEN_GOLDEN=1 "
                     "rewrites it)", g);
    free(got), free(again), free(want);
}

Test(html, charts_draw_one_mark_per_value_and_escape_labels)
{
    char *s = charts_page();
    char *bars = between(s, "id=\"g-bars\"", "</svg>");
    cr_assert_eq(count(bars, "<rect class=\"bar "), 8, "one bar per finite value (one is NaN)");
    cr_assert_eq(count(bars, "class=\"err\""), 6, "error bars where the std is > 0");
    cr_assert_eq(count(bars, "<pattern "), 3, "one fill pattern per condition");
    cr_assert_eq(count(bars, "class=\"ref\""), 1);
    cr_assert_not_null(strstr(bars, "&lt;b&gt;&amp;&quot;wide&quot;&lt;/b&gt;"));
    cr_assert_null(strstr(bars, "<b>"), "a label was not escaped");
    cr_assert_not_null(strstr(bars, "<title>negpos, block_size=2 · wrong key: 11.5 ± 4.0 %</title>"));
    cr_assert_eq(count(bars, "<tspan "), 4, "a label's lines stacked at its \", \"");
    cr_assert_not_null(strstr(bars, "<title>none · correct key: 92.0 ± 1.0 %</title>"));
    char *strip = between(s, "id=\"g-strip\"", "</svg>");
    cr_assert_eq(count(strip, "class=\"pt\""), 6, "a point per value");
    cr_assert_eq(count(strip, "<g class=\"box\">"), 1, "a box needs two values or more");
    cr_assert_eq(count(strip, "class=\"mark\""), 1, "a marker where it is not NaN");
    char *lines = between(s, "id=\"g-lines\"", "</svg>");
    cr_assert_eq(count(lines, "class=\"line\""), 3);
    cr_assert_eq(count(lines, "class=\"mark\""), 8, "a marker per finite point");
    cr_assert_eq(count(lines, "<text x="), 2 + 6 + 7,
                 "2 legend entries (two lines share a style), 6 y ticks (0-100 by 20), 7 log "
                 "x ticks (10 20 50 100 200 500 1000)");
    free(bars), free(strip), free(lines), free(s);
}

/* No NaN, inf or negative size reaches the SVG of a degenerate chart. */
static void assert_finite_svg(const char *svg)
{
    cr_assert_null(strcasestr(svg, "nan"), "%s", svg);
    cr_assert_null(strcasestr(svg, "inf"), "%s", svg);
    cr_assert_null(strstr(svg, "width=\"-"), "%s", svg);
    cr_assert_null(strstr(svg, "height=\"-"), "%s", svg);
    cr_assert_eq(count(svg, "<svg "), 1);
    cr_assert_eq(count(svg, "</svg>"), 1);
}

Test(html, degenerate_charts_stay_well_formed)
{
    static const double nan2[] = { NAN, NAN }, x[] = { 0, -1, 5 }, y[] = { 1e9, -3, 40 };
    static const char *const one[] = { "only" };
    char *buf = NULL;
    size_t len = 0;
    /* no categories; only NaN values; log x with x <= 0; values far outside the axis */
    struct kb_svg_bars b0 = { .f = { .id = "b0", .y_min = NAN, .y_max = NAN, .ref_y = NAN } };
    struct kb_svg_bars b1 = { .f = { .id = "b1", .title = "t", .y_min = NAN, .y_max = NAN,
                                     .ref_y = NAN },
                              .categories = one, .n_categories = 1, .series = one,
                              .n_series = 1, .values = nan2, .errors = nan2 };
    const double *vals[] = { nan2 };
    size_t nv[] = { 2 };
    struct kb_svg_strip s0 = { .f = { .id = "s0", .y_min = NAN, .y_max = NAN, .ref_y = NAN },
                               .categories = one, .n_categories = 1, .values = vals,
                               .n_values = nv };
    struct kb_svg_line l[] = { { "l", 0, x, y, NULL, 3 } };
    struct kb_svg_lines l0 = { .f = { .id = "l0", .y_min = 0, .y_max = 100, .ref_y = NAN },
                               .lines = l, .n_lines = 1, .log_x = true };
    struct kb_svg_lines l1 = { .f = { .id = "l1", .y_min = NAN, .y_max = NAN, .ref_y = NAN },
                               .lines = l, .n_lines = 1 };
    for (int k = 0; k < 5; k++) {
        FILE *f = open_memstream(&buf, &len);
        cr_assert_not_null(f);
        switch (k) {
        case 0: kb_svg_bar_chart(f, &b0); break;
        case 1: kb_svg_bar_chart(f, &b1); break;
        case 2: kb_svg_strip_chart(f, &s0); break;
        case 3: kb_svg_line_chart(f, &l0); break;
        default: kb_svg_line_chart(f, &l1); break;
        }
        fclose(f);
        assert_finite_svg(buf);
        if (k == 1)
            cr_assert_eq(count(buf, "<rect class=\"bar "), 0);
        if (k == 3)
            cr_assert_eq(count(buf, "class=\"mark\""), 1, "only x = 5 is on a log axis");
        free(buf);
        buf = NULL;
    }
}

/* Values no axis can show (a hostile journal: a key-estimation curve at
 * x = -1e17 alone, at ±1.5e308, a y of -1e17 with no fixed range, log x up to
 * 1e300) end in a finite chart: they used to loop forever on the ticks
 * (v += step left v unchanged) or print NaN coordinates. */
Test(html, extreme_values_end_in_a_finite_chart)
{
    static const double xa[] = { -1e17 }, ya[] = { 20 }, xb[] = { -1.5e308, 1.5e308 },
                        yb[] = { 20, 30 }, xc[] = { 1, 1e300 }, yd[] = { -1e17 },
                        xe[] = { -1e17, -1e17 + 16 };
    struct kb_svg_line la[] = { { "a", 0, xa, ya, NULL, 1 } }, lb[] = { { "b", 0, xb, yb, NULL, 2 } },
                       lc[] = { { "c", 0, xc, yb, NULL, 2 } }, ld[] = { { "d", 0, ya, yd, NULL, 1 } },
                       le[] = { { "e", 0, xe, yb, NULL, 2 } };
    struct kb_svg_lines charts[] = {
        { .f = { .id = "xa", .y_min = 0, .y_max = 100, .ref_y = NAN }, .lines = la, .n_lines = 1 },
        { .f = { .id = "xb", .y_min = 0, .y_max = 100, .ref_y = NAN }, .lines = lb, .n_lines = 1 },
        { .f = { .id = "xc", .y_min = 0, .y_max = 100, .ref_y = NAN }, .lines = lc, .n_lines = 1,
          .log_x = true },
        { .f = { .id = "yd", .y_min = NAN, .y_max = NAN, .ref_y = NAN }, .lines = ld, .n_lines = 1 },
        { .f = { .id = "xe", .y_min = 0, .y_max = 100, .ref_y = NAN }, .lines = le, .n_lines = 1 },
    };
    for (size_t k = 0; k < sizeof charts / sizeof *charts; k++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        cr_assert_not_null(f);
        kb_svg_line_chart(f, &charts[k]);
        fclose(f);
        assert_finite_svg(buf);
        cr_assert_gt(count(buf, "class=\"mark\""), 0, "chart %zu: its points, clamped", k);
        free(buf);
    }
}

/* ------------------------------------------------------------------ the page */

Test(html, hostile_strings_are_escaped_everywhere)
{
    char run[128];
    snprintf(run, sizeof run, "%s/hostile", dir);
    report_fixture_write(run, REPORT_FIXTURE_HOSTILE);
    const char *runs[] = { run };
    char *s = html_of("out", runs, 1);
    for (char *p = s; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    cr_assert_null(strstr(s, "<script"), "an unescaped <script in report.html");
    cr_assert_null(strstr(s, "alert(\"x\")"), "an unescaped quote in report.html");
    cr_assert_gt(count(s, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; |"), 3,
                 "the hostile text shown escaped (name, axis, class, error)");
    free(s);
}

/* A cell's samples.png: a 2×3 gray image, so its base64 is known. */
static char *write_png(const char *run, const char *cell)
{
    char p[512];
    snprintf(p, sizeof p, "%s/cells/%s/samples.png", run, cell);
    static const uint8_t px[6] = { 0, 50, 100, 150, 200, 250 };
    struct kb_error err = {0};
    cr_assert_eq(kb_png_write(p, px, 2, 3, 1, &err), 0, "%s", err.msg);
    uint8_t *data;
    size_t size;
    cr_assert_eq(kb_file_read_all(p, 1 << 20, &data, &size, &err), 0, "%s", err.msg);
    size_t n = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(n);
    sodium_bin2base64(b64, n, data, size, sodium_base64_VARIANT_ORIGINAL);
    free(data);
    return b64;
}

Test(html, page_has_every_section_table_row_bar_and_sample)
{
    char run[128], p[300];
    snprintf(run, sizeof run, "%s/a", dir);
    report_fixture_write(run, REPORT_FIXTURE_A);
    char *b64 = write_png(run, "cnp20"); /* negpos M=2, seed 0 */
    /* a master key in the run dir: its bytes must never reach the page */
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0xA0 + i);
    snprintf(p, sizeof p, "%s/keybench.key", run);
    struct kb_error err = {0};
    cr_assert_eq(kb_file_write_atomic(p, key, sizeof key, 0600, false, &err), 0, "%s", err.msg);
    const char *runs[] = { run };
    char *s = html_of("out", runs, 1);
    struct kb_report *m;
    cr_assert_eq(kb_report_load(&m, runs, 1, &err), 0, "%s", err.msg);

    cr_assert_eq(strncmp(s, "<!DOCTYPE html>\n", 16), 0);
    cr_assert_not_null(strstr(s, "</body></html>\n"));
    cr_assert_null(strstr(s, "<script"), "the page needs no script");
    /* nothing fetched: the only URL is the SVG namespace */
    cr_assert_eq(count(s, "http"), count(s, "xmlns=\"http://www.w3.org/2000/svg\""));
    cr_assert_eq(count(s, "<link"), 0);
    static const char *const sections[] = { "headline", "charts", "samples", "details",
                                            "failed", "provenance" };
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
        char id[64];
        snprintf(id, sizeof id, "<section id=\"%s\">", sections[i]);
        cr_assert_eq(count(s, id), 1, "section %s", sections[i]);
    }
    /* the headline table: a row per headline row (+ the heading row) */
    char *head = between(s, "data-table=\"headline\"", "</table>");
    cr_assert_eq(count(head, "<tr>"), m->n_headline + 1);
    free(head);
    /* bars: one per headline row × condition with a value */
    size_t bars = 0;
    for (size_t i = 0; i < m->n_headline; i++) {
        const struct kb_report_headline *h = &m->headline[i];
        bars += (h->unprotected.n > 0) + (h->correct_key.n > 0) + (h->plain.n > 0) +
                (h->wrong_key.n > 0);
    }
    cr_assert_gt(bars, 0);
    cr_assert_eq(count(s, "<rect class=\"bar "), bars);
    /* the attack charts of negpos M=4: fine-tune, key estimation, pgd */
    cr_assert_eq(count(s, "id=\"acc-1\""), 1);
    cr_assert_eq(count(s, "id=\"wk-1\""), 1);
    cr_assert_gt(count(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"ft-"), 0);
    cr_assert_gt(count(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"ke-"), 0);
    cr_assert_gt(count(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"pgd-"), 0);
    /* fine-tune and key estimation charts show the correct key's accuracy as a line */
    char *ft = between(s, "class=\"chart\" id=\"ft-", "</svg>");
    char *ke = between(s, "class=\"chart\" id=\"ke-", "</svg>");
    char *pgd = between(s, "class=\"chart\" id=\"pgd-", "</svg>");
    cr_assert_eq(count(ft, "class=\"ref\""), 1);
    cr_assert_eq(count(ke, "class=\"ref\""), 1);
    cr_assert_eq(count(pgd, "class=\"ref\""), 0);
    free(ft), free(ke), free(pgd);
    /* the one samples.png embedded byte for byte; every other group says it has none */
    char uri[512];
    snprintf(uri, sizeof uri, "src=\"data:image/png;base64,%s\"", b64);
    cr_assert_eq(count(s, uri), 1);
    cr_assert_eq(count(s, "data:image/png"), 1);
    cr_assert_eq(count(s, "<p class=\"missing\">No sample images: "), m->n_groups - 1);
    /* the failed cell's error, the fingerprints, never the key */
    cr_assert_not_null(strstr(s, "cannot open &#39;nowhere/train&#39; (expected an IDX file)"));
    for (size_t i = 0; i < m->n_cells; i++)
        if (*m->cells[i].key_fingerprint)
            cr_assert_not_null(strstr(s, m->cells[i].key_fingerprint), "fingerprint of %s",
                               m->cells[i].id);
    char hex[65], kb64[64];
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    sodium_bin2base64(kb64, sizeof kb64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    cr_assert_null(strcasestr(s, hex));
    cr_assert_null(strstr(s, kb64));
    cr_assert_not_null(strstr(s, "<td>keybench version</td>"));
    /* per-class accuracy shaded from its lowest (darkest) to its highest (white) value */
    char *pc = between(s, "data-table=\"per-class\"", "</table>");
    cr_assert_gt(count(pc, "style=\"background:hsl(205,70%,70%)\""), 0);
    cr_assert_gt(count(pc, "style=\"background:hsl(205,70%,100%)\""), 0);
    cr_assert_eq(count(s, "style=\"background:"), count(pc, "style=\"background:"),
                 "only the per-class table is shaded");
    free(pc);
    kb_report_free(m);
    free(b64);
    free(s);
}

Test(html, a_samples_png_that_is_not_a_png_is_not_embedded)
{
    char run[128], p[300];
    snprintf(run, sizeof run, "%s/a", dir);
    report_fixture_write(run, REPORT_FIXTURE_A);
    snprintf(p, sizeof p, "%s/cells/cnp20/samples.png", run);
    static const char fake[] = "<script>alert(1)</script>";
    struct kb_error err = {0};
    cr_assert_eq(kb_file_write_atomic(p, fake, strlen(fake), 0644, false, &err), 0, "%s", err.msg);
    const char *runs[] = { run };
    char *s = html_of("out", runs, 1);
    cr_assert_eq(count(s, "data:image"), 0);
    cr_assert_null(strstr(s, "<script"));
    cr_assert_eq(count(s, "cells/cnp20/samples.png: not a PNG file"), 1);
    free(s);
}

/* A cell id from the journal is a path component: "../../x/cnp20" must not
 * embed a PNG from outside the run's cells/ (status files were guarded, the
 * sample grids were not). */
Test(html, a_cell_id_that_leaves_the_run_embeds_nothing)
{
    char run[128], cmd[600];
    snprintf(run, sizeof run, "%s/a", dir);
    report_fixture_write(run, REPORT_FIXTURE_A);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/x/cnp20 && sed -i 's#\"cnp20\"#\"../../x/cnp20\"#g' "
             "%s/plan.json %s/journal.jsonl && grep -q '\"../../x/cnp20\"' %s/journal.jsonl",
             dir, run, run, run);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    char *b64 = write_png(run, "../../x/cnp20");
    const char *runs[] = { run };
    char *s = html_of("out", runs, 1);
    cr_assert_null(strstr(s, b64), "a PNG from outside the run dir is embedded");
    cr_assert_eq(count(s, "data:image"), 0);
    cr_assert_gt(count(s, "No sample images"), 0);
    free(b64);
    free(s);
}

Test(html, two_runs_get_a_comparison_and_a_chart_each)
{
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    report_fixture_write(a, REPORT_FIXTURE_A);
    report_fixture_write(b, REPORT_FIXTURE_B);
    const char *runs[] = { a, b };
    char *s = html_of("out", runs, 2);
    cr_assert_eq(count(s, "id=\"acc-1\""), 1);
    cr_assert_eq(count(s, "id=\"acc-2\""), 1);
    cr_assert_eq(count(s, "data-table=\"compare\""), 1);
    cr_assert_gt(count(s, "<td class=\"num diff\">"), 0, "the differing values are highlighted");
    free(s);
}

/* A run of two backbones × (none + 5 transforms), one seed, journal only:
 * more than eight headline rows over two axes. */
static void write_wide_run(const char *run)
{
    static const char *const backbones[] = { "cnn", "mlp" };
    static const char *const transforms[] = { "none", "t1", "t2", "t3", "t4", "t5" };
    char p[512];
    snprintf(p, sizeof p, "%s/journal.jsonl", run);
    cr_assert_eq(mkdir(run, 0755), 0);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 6; t++)
            for (int k = 0; k < 2; k++) {
                json_t *r = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:i}, s:s, s:s, s:s, s:s,"
                                      " s:f, s:i, s:i}",
                                      "type", "measurement", "run", run, "cell", "", "axes",
                                      "backbone.name", backbones[b], "transform.name",
                                      transforms[t], "seed", 0, "backbone", backbones[b],
                                      "transform", transforms[t], "condition",
                                      k ? "plain" : "correct_key", "metric", "accuracy",
                                      "value", 0.9 - 0.1 * t * k, "n", 100, "seed", 0);
                char id[32];
                snprintf(id, sizeof id, "%s-%s", backbones[b], transforms[t]);
                json_object_set_new(r, "cell", json_string(id));
                char *line = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
                fprintf(f, "%s\n", line);
                free(line);
                json_decref(r);
            }
    fclose(f);
}

Test(html, many_rows_over_two_axes_get_one_chart_per_value_of_the_first)
{
    char run[128];
    snprintf(run, sizeof run, "%s/wide", dir);
    write_wide_run(run);
    const char *runs[] = { run };
    char *s = html_of("out", runs, 1);
    cr_assert_eq(count(s, "class=\"chart\" id=\"acc-"), 2, "one bar chart per backbone");
    char *cnn = between(s, "id=\"acc-1-1\"", "</svg>"), *mlp = between(s, "id=\"acc-1-2\"", "</svg>");
    cr_assert_not_null(strstr(cnn, "condition: cnn</text>"));
    cr_assert_not_null(strstr(mlp, "condition: mlp</text>"));
    /* the categories: the transforms alone; 5 rows × (unprotected, correct key, plain) */
    cr_assert_eq(count(cnn, "<tspan "), 5);
    char *cats_cnn = between(cnn, "class=\"categories\"", "</g>");
    cr_assert_null(strstr(cats_cnn, "cnn"), "the facet's value is not repeated under the bars");
    free(cats_cnn);
    cr_assert_eq(count(cnn, "<rect class=\"bar "), 15);
    cr_assert_eq(count(mlp, "<rect class=\"bar "), 15);
    free(cnn), free(mlp), free(s);
}

/* ------------------------------------------------------------------ the runner's samples.png */

Test(html, runner_leaves_sample_grids_that_the_page_embeds)
{
    char p[512], spec[300], run[300];
    snprintf(p, sizeof p, "%s/data", dir);
    cr_assert_eq(mkdir(p, 0755), 0);
    write_idx_pair(p, "train", 160, 1);
    write_idx_pair(p, "t10k", 40, 2);
    snprintf(spec, sizeof spec, "%s/s.yaml", dir);
    FILE *f = fopen(spec, "w");
    cr_assert_not_null(f);
    fprintf(f, "name: samples\ndataset:\n  - {name: idx, path: data}\n"
               "splits:\n  pretrain: {fraction: 1.0}\n  finetune: {fraction: 0.5}\n"
               "  attacker: {count: 20}\n  test: {fraction: 1.0}\n"
               "backbone: {name: mlp, hidden: 8, depth: 1}\n"
               "transform:\n  - none\n  - {name: pixel_shuffle, block_size: 4}\nseed: 0\n"
               "pretrain: {epochs: 1, batch_size: 32, lr: 0.05}\n"
               "finetune: {epochs: 1, batch_size: 32, lr: 0.05}\n"
               "evaluate: {wrong_keys: 2, batch_size: 64}\n");
    fclose(f);
    snprintf(run, sizeof run, "%s/run", dir);
    json_decref(run_spec_journal(spec, run));

    struct kb_dataset test = {0};
    struct kb_error err = {0};
    char im[600], lb[600];
    snprintf(im, sizeof im, "%s/t10k-images-idx3-ubyte", p);
    snprintf(lb, sizeof lb, "%s/t10k-labels-idx1-ubyte", p);
    cr_assert_eq(kb_dataset_load_idx(&test, im, lb, 0, &err), 0, "%s", err.msg);
    size_t idx[8];
    cr_assert_eq(kb_samples_pick(idx, &test, 8), 8);

    const char *runs[] = { run };
    struct kb_report *m;
    cr_assert_eq(kb_report_load(&m, runs, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(m->n_cells, 2);
    for (size_t i = 0; i < m->n_cells; i++) {
        const struct kb_report_cell *c = &m->cells[i];
        bool keyed = strcmp(c->transform, "none") != 0;
        snprintf(p, sizeof p, "%s/cells/%s/samples.png", run, c->id);
        struct kb_image img = {0};
        cr_assert_eq(kb_png_read(&img, p, &err), 0, "%s", err.msg);
        /* 8 images of 16×16 magnified 2× with 2 pixels around each; 3 rows when keyed */
        cr_assert_eq(img.w, 2 + 8 * (32 + 2), "%s", c->transform);
        cr_assert_eq(img.h, 2 + (keyed ? 3 : 2) * (32 + 2), "%s", c->transform);
        /* the top row holds the picked test images, the second the transformed ones */
        size_t diff_top = 0, diff_enc = 0;
        for (int k = 0; k < 8; k++)
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++) {
                    uint8_t want = kb_dataset_image(&test, idx[k])[y * 16 + x];
                    size_t col = 2 + (size_t)k * 34 + (size_t)x * 2;
                    diff_top += img.pixels[(2 + (size_t)y * 2) * img.w + col] != want;
                    diff_enc += img.pixels[(36 + (size_t)y * 2) * img.w + col] != want;
                }
        cr_assert_eq(diff_top, 0, "%s: the top row is not the test images", c->transform);
        if (keyed)
            cr_assert_gt(diff_enc, 100, "the encrypted row looks like the plain one");
        else
            cr_assert_eq(diff_enc, 0, "none's 'encrypted' row is the image");
        kb_image_free(&img);
    }
    /* a cell run again (its status removed) draws the same wrong key: same grid */
    for (size_t i = 0; i < m->n_cells; i++) {
        const struct kb_report_cell *c = &m->cells[i];
        if (!strcmp(c->transform, "none"))
            continue;
        snprintf(p, sizeof p, "%s/cells/%s/samples.png", run, c->id);
        size_t n1, n2;
        uint8_t *first = NULL, *again = NULL;
        cr_assert_eq(kb_file_read_all(p, 1 << 20, &first, &n1, &err), 0, "%s", err.msg);
        cr_assert_eq(unlink(p), 0);
        snprintf(lb, sizeof lb, "%s/cells/%s/status", run, c->id);
        cr_assert_eq(unlink(lb), 0);
        json_decref(run_spec_journal(spec, run));
        cr_assert_eq(kb_file_read_all(p, 1 << 20, &again, &n2, &err), 0, "%s", err.msg);
        cr_assert(n1 == n2 && !memcmp(first, again, n1), "the rerun drew another wrong key");
        free(first);
        free(again);
    }
    char *s = html_of("out", runs, 1);
    cr_assert_eq(count(s, "src=\"data:image/png;base64,"), m->n_groups);
    cr_assert_eq(count(s, "No sample images"), 0);
    /* the run wrote the same page itself when it ended */
    snprintf(p, sizeof p, "%s/report.html", run);
    char *own = read_text(p);
    cr_assert_eq(count(own, "src=\"data:image/png;base64,"), m->n_groups);
    kb_report_free(m);
    kb_dataset_free(&test);
    free(own);
    free(s);
}
