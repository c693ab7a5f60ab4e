/* svg.h — the report's charts as inline SVG (private to libkeybench; the
 * tests compile svg.c in).
 *
 *     struct kb_svg_bars c = { .f = { .id = "acc", .title = "Accuracy",
 *                                     .x_label = "transform", .y_label = "accuracy (%)",
 *                                     .y_min = 0, .y_max = 100, .ref_y = NAN },
 *                              .categories = cats, .n_categories = 3,
 *                              .series = names, .n_series = 2,
 *                              .values = v, .errors = sd };   // row-major: category × series
 *     kb_svg_bar_chart(f, &c);
 *
 * Made for print: labelled axes, ticks, a title and a legend; Okabe–Ito
 * colours (colour-blind safe) that also differ in lightness, plus hatch
 * patterns (bars), marker shapes and dash styles (lines) so that a grayscale
 * copy stays readable. Output is deterministic (fixed number formats, no
 * clock, no randomness): golden-testable. Every text is HTML/XML-escaped.
 * Values are in the axis unit (the caller scales fractions to percent). NaN
 * values are not drawn; data no axis can show (±1e308, or a lone -1e17 whose
 * ticks would not be distinct numbers) get a 0–1 axis with the marks clamped
 * to its edge, so a hostile journal cannot stall or break a chart. Marks carry a class (bar, err, pt, box, line, mark)
 * and a <title> with the value, shown as a tooltip without any script.
 */
#ifndef KB_REPORT_SVG_H
#define KB_REPORT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What every chart has. */
struct kb_svg_frame {
    const char *id;          /* unique in the page: prefixes the chart's pattern ids */
    const char *title;
    const char *x_label, *y_label; /* with units, e.g. "accuracy (%)" */
    double width, height;    /* pixels; 0: 640 × 360 */
    double y_min, y_max;     /* the y range; NaN: from the data */
    double ref_y;            /* a dashed horizontal reference line (e.g. chance); NaN: none */
    const char *ref_label;
    const char *unit;        /* appended to values in tooltips ("%"); NULL: none */
};

/* Grouped bars: a group of n_series bars per category, with ± error bars. */
struct kb_svg_bars {
    struct kb_svg_frame f;
    const char *const *categories;
    size_t n_categories;
    const char *const *series;   /* legend names */
    size_t n_series;
    const double *values;        /* n_categories × n_series */
    const double *errors;        /* same shape, half-widths (std); NULL or NaN/0: none */
};

/* One column of points per category with a box (quartiles, whiskers to min
 * and max) and an optional marker per category (e.g. the correct key). */
struct kb_svg_strip {
    struct kb_svg_frame f;
    const char *const *categories;
    size_t n_categories;
    const double *const *values; /* values[i]: n_values[i] points */
    const size_t *n_values;
    const char *points_label;    /* legend name of the points ("wrong keys") */
    const double *marker;        /* per category (NaN: none); NULL: none */
    const char *marker_label;
};

/* One line of a line chart. Lines of one style share colour, dash and marker
 * and one legend entry (the first line's name). */
struct kb_svg_line {
    const char *name;
    unsigned style;
    const double *x, *y;
    const double *err;           /* ± half-widths drawn as error bars; NULL: none */
    size_t n;
};

struct kb_svg_lines {
    struct kb_svg_frame f;
    const struct kb_svg_line *lines;
    size_t n_lines;
    bool log_x;                  /* log10 x axis (points with x <= 0 are skipped) */
};

void kb_svg_bar_chart(FILE *out, const struct kb_svg_bars *c);
void kb_svg_strip_chart(FILE *out, const struct kb_svg_strip *c);
void kb_svg_line_chart(FILE *out, const struct kb_svg_lines *c);

/* The fill colour of style i (Okabe–Ito, in an order that alternates lightness). */
const char *kb_svg_colour(unsigned i);

#endif
