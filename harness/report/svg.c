/* The report's charts as inline SVG (svg.h): grouped bars, strip plots with
 * boxes, line charts. One frame (title, legend, axes, ticks, grid) serves all
 * three; each chart only maps its data into it. Coordinates are printed with
 * one decimal and -0 folded to 0, so the output is byte-stable. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <keybench/report.h>

#include "svg.h"

#define FONT 12.0
#define TITLE_FONT 14.0
#define LEGEND_ROW 18.0

/* Okabe–Ito, ordered so neighbours differ in lightness as well as hue. */
static const char *const palette[] = {
    "#0072B2", /* blue (dark) */
    "#E69F00", /* orange (light) */
    "#009E73", /* bluish green */
    "#CC79A7", /* reddish purple (light) */
    "#D55E00", /* vermillion */
    "#56B4E9", /* sky blue (light) */
    "#000000", /* black */
    "#F0E442", /* yellow (lightest) */
};
#define N_PALETTE (sizeof palette / sizeof *palette)

/* Hatches drawn in white over the colour, one per bar style. */
static const char *const hatches[] = {
    "",
    "<path d=\"M0,6 L6,0 M-1,1 L1,-1 M5,7 L7,5\" stroke=\"#fff\" stroke-width=\"1.5\"/>",
    "<circle cx=\"3\" cy=\"3\" r=\"1.2\" fill=\"#fff\"/>",
    "<path d=\"M0,0 L6,6 M0,6 L6,0\" stroke=\"#fff\" stroke-width=\"1.1\"/>",
    "<path d=\"M0,3 H6\" stroke=\"#fff\" stroke-width=\"1.5\"/>",
    "<path d=\"M0,0 L6,6 M-1,5 L1,7 M5,-1 L7,1\" stroke=\"#fff\" stroke-width=\"1.5\"/>",
    "<path d=\"M3,0 V6\" stroke=\"#fff\" stroke-width=\"1.5\"/>",
    "<path d=\"M0,3 H6 M3,0 V6\" stroke=\"#000\" stroke-width=\"1\"/>",
};

/* Line dash patterns (solid first) and marker shapes, one per line style. */
static const char *const dashes[] = { "", "6 3", "2 2", "8 3 2 3", "12 3" };
#define N_DASHES (sizeof dashes / sizeof *dashes)
enum shape { CIRCLE, SQUARE, TRIANGLE, DIAMOND, CROSS, TRIANGLE_DOWN, PLUS, N_SHAPES };

const char *kb_svg_colour(unsigned i)
{
    return palette[i % N_PALETTE];
}

/* ------------------------------------------------------------------ numbers and text */

/* Rounded to 0.1 with -0 folded to 0: what every coordinate is printed as. */
static double r1(double v)
{
    v = round(v * 10.0) / 10.0;
    return v == 0.0 ? 0.0 : v;
}

static void esc(FILE *f, const char *s)
{
    kb_report_html_escape(f, s ? s : "");
}

/* An estimate of a text's width: there is no font metric in a writer that
 * must be deterministic; 0.6 em per character is generous for sans-serif. */
static double text_width(const char *s, double size)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        chars += (*p & 0xC0) != 0x80; /* UTF-8: count lead bytes only */
    return (double)chars * size * 0.6;
}

/* A value for a tooltip: "88.6 ± 0.3 %". */
static void value_text(FILE *f, double v, double e, const char *unit)
{
    fprintf(f, "%.1f", r1(v));
    if (isfinite(e) && e > 0)
        fprintf(f, " ± %.1f", r1(e));
    if (unit && *unit)
        fprintf(f, " %s", unit);
}

/* 1, 2 or 5 × 10^k near range / target. */
static double nice_step(double range, double target)
{
    if (!(range > 0))
        return 1.0;
    double raw = range / target, mag = pow(10.0, floor(log10(raw))), norm = raw / mag;
    return (norm <= 1.0 ? 1.0 : norm <= 2.0 ? 2.0 : norm <= 5.0 ? 5.0 : 10.0) * mag;
}

/* At most this many ticks on an axis (a guard: nice_step gives about 5). */
#define MAX_TICKS 64

/* Whether [a, b] is an axis that can be drawn: finite, not empty and wide
 * enough for its ticks to be distinct numbers. A hostile journal can hold
 * values (-1e17 alone, ±1e308) for which none of this holds: without the
 * check the tick loops never end (v += step leaves v unchanged) or the
 * coordinates are NaN. */
static bool drawable(double a, double b)
{
    if (!(isfinite(a) && isfinite(b) && b > a && isfinite(b - a)))
        return false;
    double step = nice_step(b - a, 5.0);
    return isfinite(step) && step > 0 && (b - a) / step <= MAX_TICKS &&
           a + step / 8.0 > a && b - step / 8.0 < b;
}

/* The ticks of a linear axis [a, b]: how many (0 when it cannot have any). */
static size_t tick_count(double first, double last, double step)
{
    double n = floor((last - first) / step + 1e-9) + 1.0;
    return isfinite(n) && n >= 1.0 && n <= MAX_TICKS ? (size_t)n : 0;
}

static int decimals(double step)
{
    if (step >= 1.0)
        return 0;
    int d = (int)ceil(-log10(step) - 1e-9);
    return d > 6 ? 6 : d;
}

static void tick_label(FILE *f, double v, int dec)
{
    if (fabs(v) < 1e-12)
        v = 0.0;
    fprintf(f, "%.*f", dec, v);
}

/* ------------------------------------------------------------------ legend */

enum swatch { SW_BAR, SW_LINE, SW_POINT, SW_BOX, SW_MARKER, SW_REF };

struct legend_item {
    const char *name;
    enum swatch kind;
    unsigned style;
};

struct frame {
    const struct kb_svg_frame *f;
    double W, H, left, right, top, bottom;
    double y0, y1;          /* the y range */
    double x0, x1;          /* the x range (line charts) */
    bool log_x;
    struct legend_item items[16];
    size_t n_items;
};

static void add_item(struct frame *fr, const char *name, enum swatch kind, unsigned style)
{
    if (!name || !*name || fr->n_items == sizeof fr->items / sizeof *fr->items)
        return;
    for (size_t i = 0; i < fr->n_items; i++)
        if (fr->items[i].kind == kind && fr->items[i].style == style)
            return; /* one entry per style */
    fr->items[fr->n_items++] = (struct legend_item){ name, kind, style };
}

static double item_width(const struct legend_item *it)
{
    return 24.0 + 6.0 + text_width(it->name, FONT) + 14.0;
}

/* Rows the legend needs at the frame's width. */
static int legend_rows(const struct frame *fr)
{
    if (fr->n_items == 0)
        return 0;
    int rows = 1;
    double x = 0, avail = fr->W - fr->left - fr->right;
    for (size_t i = 0; i < fr->n_items; i++) {
        double w = item_width(&fr->items[i]);
        if (x > 0 && x + w > avail) {
            rows++;
            x = 0;
        }
        x += w;
    }
    return rows;
}

static void marker(FILE *out, enum shape s, double x, double y, double r, const char *fill,
                   const char *cls);

static void pattern_defs(FILE *out, const struct frame *fr, size_t n_styles)
{
    fprintf(out, "<defs>");
    for (size_t s = 0; s < n_styles; s++)
        fprintf(out, "<pattern id=\"%s-p%zu\" patternUnits=\"userSpaceOnUse\" width=\"6\" "
                     "height=\"6\"><rect width=\"6\" height=\"6\" fill=\"%s\"/>%s</pattern>",
                fr->f->id, s, palette[s % N_PALETTE], hatches[s % N_PALETTE]);
    fprintf(out, "</defs>\n");
}

static void draw_legend(FILE *out, const struct frame *fr)
{
    double x = fr->left, y = 24.0 + TITLE_FONT, avail = fr->W - fr->left - fr->right;
    fprintf(out, "<g class=\"legend\">");
    for (size_t i = 0; i < fr->n_items; i++) {
        const struct legend_item *it = &fr->items[i];
        double w = item_width(it);
        if (x > fr->left && x + w - fr->left > avail) {
            x = fr->left;
            y += LEGEND_ROW;
        }
        double cy = r1(y - 4.0);
        switch (it->kind) {
        case SW_BAR:
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"11\" fill=\"url(#%s-p%u)\" "
                         "stroke=\"#000\" stroke-width=\"0.6\"/>", r1(x), r1(y - 10.0), fr->f->id,
                    it->style);
            break;
        case SW_LINE: {
            const char *d = dashes[it->style % N_DASHES];
            fprintf(out, "<path d=\"M%.1f,%.1f H%.1f\" stroke=\"%s\" stroke-width=\"2\"%s%s%s/>",
                    r1(x), cy, r1(x + 22.0), palette[it->style % N_PALETTE],
                    *d ? " stroke-dasharray=\"" : "", d, *d ? "\"" : "");
            marker(out, (enum shape)(it->style % N_SHAPES), x + 11.0, cy, 3.5,
                   palette[it->style % N_PALETTE], "key");
            fprintf(out, "/>");
            break;
        }
        case SW_POINT:
            marker(out, CIRCLE, x + 11.0, cy, 2.8, palette[0], "key");
            fprintf(out, " fill-opacity=\"0.75\"/>");
            break;
        case SW_BOX:
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"10\" fill=\"none\" "
                         "stroke=\"#000\"/><path d=\"M%.1f,%.1f V%.1f\" stroke=\"#000\" "
                         "stroke-width=\"2\"/>", r1(x), r1(y - 9.0), r1(x + 11.0), r1(y - 9.0),
                    r1(y + 1.0));
            break;
        case SW_MARKER:
            marker(out, DIAMOND, x + 11.0, cy, 5.0, palette[1], "key");
            fprintf(out, "/>");
            break;
        case SW_REF:
            fprintf(out, "<path d=\"M%.1f,%.1f H%.1f\" stroke=\"#555\" stroke-width=\"1.2\" "
                         "stroke-dasharray=\"4 3\"/>", r1(x), cy, r1(x + 22.0));
            break;
        }
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", r1(x + 28.0), r1(y));
        esc(out, it->name);
        fprintf(out, "</text>");
        x += w;
    }
    fprintf(out, "</g>\n");
}

/* ------------------------------------------------------------------ frame and axes */

static double py(const struct frame *fr, double v)
{
    double top = fr->top, bot = fr->H - fr->bottom;
    if (v < fr->y0)
        v = fr->y0;
    if (v > fr->y1)
        v = fr->y1;
    return bot - (v - fr->y0) / (fr->y1 - fr->y0) * (bot - top);
}

static double px(const struct frame *fr, double v)
{
    double l = fr->left, r = fr->W - fr->right;
    double a = fr->log_x ? log10(fr->x0) : fr->x0, b = fr->log_x ? log10(fr->x1) : fr->x1;
    double t = fr->log_x ? log10(v) : v;
    t = t < a ? a : t > b ? b : t; /* clamped, as py: a fallback axis may not hold the data */
    return l + (t - a) / (b - a) * (r - l);
}

/* The y range: the frame's, else the data's widened to whole ticks (0 kept
 * in view for data that are all positive). */
static void y_range(struct frame *fr, double lo, double hi)
{
    const struct kb_svg_frame *f = fr->f;
    if (isfinite(f->ref_y)) {
        lo = fmin(lo, f->ref_y);
        hi = fmax(hi, f->ref_y);
    }
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0.0;
        hi = 1.0;
    }
    if (lo > 0)
        lo = 0.0;
    if (hi <= lo)
        hi = lo + 1.0;
    double step = nice_step(hi - lo, 5.0);
    fr->y0 = isfinite(f->y_min) ? f->y_min : floor(lo / step) * step;
    fr->y1 = isfinite(f->y_max) ? f->y_max : ceil(hi / step) * step;
    if (fr->y1 <= fr->y0)
        fr->y1 = fr->y0 + 1.0;
    if (!drawable(fr->y0, fr->y1)) { /* data no axis can show: 0–1, marks clamped to it */
        fr->y0 = 0.0;
        fr->y1 = 1.0;
    }
}

static void frame_init(struct frame *fr, const struct kb_svg_frame *f, double min_width)
{
    memset(fr, 0, sizeof *fr);
    fr->f = f;
    fr->W = f->width > 0 ? f->width : 640.0;
    if (fr->W < min_width)
        fr->W = min_width;
    fr->H = f->height > 0 ? f->height : 360.0;
    fr->left = 64.0;
    fr->right = 16.0;
    fr->bottom = 48.0;
}

/* The top margin follows the legend, the height grows with it. */
static void frame_place(struct frame *fr, double extra_bottom)
{
    if (isfinite(fr->f->ref_y) && fr->f->ref_label)
        add_item(fr, fr->f->ref_label, SW_REF, 0);
    int rows = legend_rows(fr);
    fr->top = 24.0 + TITLE_FONT + rows * LEGEND_ROW + 4.0;
    fr->bottom += extra_bottom;
    fr->H += rows * LEGEND_ROW + extra_bottom;
}

static void frame_open(FILE *out, const struct frame *fr)
{
    const char *id = fr->f->id;
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"%s\" "
                 "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
                 "aria-labelledby=\"%s-t\" font-family=\"sans-serif\" font-size=\"%.0f\">\n",
            id, fr->W, fr->H, fr->W, fr->H, id, FONT);
    fprintf(out, "<title id=\"%s-t\">", id);
    esc(out, fr->f->title);
    fprintf(out, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    fprintf(out, "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" "
                 "font-weight=\"bold\">", r1(fr->left), 6.0 + TITLE_FONT, TITLE_FONT);
    esc(out, fr->f->title);
    fprintf(out, "</text>\n");
}

/* Horizontal grid, y ticks and labels, the y title, the reference line. */
static void y_axis(FILE *out, const struct frame *fr)
{
    double step = nice_step(fr->y1 - fr->y0, 5.0), l = fr->left, r = fr->W - fr->right;
    int dec = decimals(step);
    fprintf(out, "<g class=\"y-axis\" text-anchor=\"end\">");
    double first = ceil(fr->y0 / step - 1e-9) * step;
    for (size_t i = 0, n = tick_count(first, fr->y1, step); i < n; i++) {
        double v = first + (double)i * step, y = r1(py(fr, v));
        fprintf(out, "<path d=\"M%.1f,%.1f H%.1f\" stroke=\"#d9d9d9\"/>", r1(l), y, r1(r));
        fprintf(out, "<path d=\"M%.1f,%.1f H%.1f\" stroke=\"#000\"/>", r1(l - 4.0), y, r1(l));
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", r1(l - 7.0), r1(y + 4.0));
        tick_label(out, v, dec);
        fprintf(out, "</text>");
    }
    double mid = r1((fr->top + fr->H - fr->bottom) / 2.0);
    fprintf(out, "<text class=\"axis-label\" text-anchor=\"middle\" x=\"16\" y=\"%.1f\" "
                 "transform=\"rotate(-90 16 %.1f)\">", mid, mid);
    esc(out, fr->f->y_label);
    fprintf(out, "</text></g>\n");
}

static void ref_line(FILE *out, const struct frame *fr)
{
    if (!isfinite(fr->f->ref_y))
        return;
    fprintf(out, "<path class=\"ref\" d=\"M%.1f,%.1f H%.1f\" stroke=\"#555\" stroke-width=\"1.2\" "
                 "stroke-dasharray=\"4 3\"><title>", r1(fr->left), r1(py(fr, fr->f->ref_y)),
            r1(fr->W - fr->right));
    esc(out, fr->f->ref_label);
    fprintf(out, ": ");
    value_text(out, fr->f->ref_y, NAN, fr->f->unit);
    fprintf(out, "</title></path>\n");
}

/* The x axis line and its title. */
static void x_axis_line(FILE *out, const struct frame *fr)
{
    double b = r1(fr->H - fr->bottom);
    fprintf(out, "<path class=\"x-axis\" d=\"M%.1f,%.1f H%.1f M%.1f,%.1f V%.1f\" stroke=\"#000\"/>\n",
            r1(fr->left), b, r1(fr->W - fr->right), r1(fr->left), r1(fr->top), b);
    fprintf(out, "<text class=\"axis-label\" text-anchor=\"middle\" x=\"%.1f\" y=\"%.1f\">",
            r1((fr->left + fr->W - fr->right) / 2.0), r1(fr->H - 8.0));
    esc(out, fr->f->x_label);
    fprintf(out, "</text>\n");
}

/* Category labels: each split at ", " into stacked lines (a group label is
 * "axis value, axis value, …"), slanted only when a line is still wider than
 * its band. */
#define CAT_FONT (FONT - 1.0)
#define CAT_LINES 6
#define CAT_MAX_WIDTH 1600.0

struct cat_metrics {
    int lines;            /* the most lines of a label */
    double widest_line;   /* estimated width of the widest line */
    double widest;        /* of the widest whole label */
};

/* Line k of a label ("" past its last line), into out. */
static int cat_line(char *out, size_t n, const char *label, int k)
{
    const char *p = label ? label : "";
    for (int i = 0; i < k; i++) {
        const char *q = strstr(p, ", ");
        if (!q) {
            out[0] = '\0';
            return 0;
        }
        p = q + 2;
    }
    const char *q = k + 1 < CAT_LINES ? strstr(p, ", ") : NULL;
    snprintf(out, n, "%.*s", (int)(q ? (size_t)(q - p) : strlen(p)), p);
    return 1;
}

static struct cat_metrics cat_measure(const char *const *cats, size_t n)
{
    struct cat_metrics cm = { 1, 0, 0 };
    char line[512];
    for (size_t i = 0; i < n; i++) {
        cm.widest = fmax(cm.widest, text_width(cats[i], CAT_FONT));
        for (int k = 0; k < CAT_LINES && cat_line(line, sizeof line, cats[i], k); k++) {
            cm.lines = k + 1 > cm.lines ? k + 1 : cm.lines;
            cm.widest_line = fmax(cm.widest_line, text_width(line, CAT_FONT));
        }
    }
    return cm;
}

/* The width a chart of n categories wants: each band fits its widest line. */
static double cat_min_width(const struct cat_metrics *cm, size_t n, double band_min)
{
    double w = 64.0 + 16.0 + (double)n * fmax(band_min, cm->widest_line + 10.0);
    return w < CAT_MAX_WIDTH ? w : CAT_MAX_WIDTH;
}

static bool cat_slanted(const struct frame *fr, const struct cat_metrics *cm, size_t n)
{
    double band = (fr->W - fr->left - fr->right) / (double)(n ? n : 1);
    return cm->widest_line + 6.0 > band;
}

/* Slanted labels reach left of their tick: widen the left margin for the first. */
static void cat_fix_left(struct frame *fr, const struct cat_metrics *cm, size_t n)
{
    if (!cat_slanted(fr, cm, n))
        return;
    double band = (fr->W - fr->left - fr->right) / (double)(n ? n : 1);
    double need = fmin(cm->widest, 260.0) * 0.87 - band / 2.0 + 8.0;
    if (need > fr->left)
        fr->left = need;
}

/* The extra bottom margin the labels need. */
static double cat_extra_bottom(const struct frame *fr, const struct cat_metrics *cm, size_t n)
{
    return cat_slanted(fr, cm, n) ? cm->widest * 0.5 + 4.0 : (cm->lines - 1) * (CAT_FONT + 2.0);
}

static void category_labels(FILE *out, const struct frame *fr, const char *const *cats, size_t n,
                            const struct cat_metrics *cm)
{
    double band = (fr->W - fr->left - fr->right) / (double)(n ? n : 1), b = fr->H - fr->bottom;
    bool slant = cat_slanted(fr, cm, n);
    fprintf(out, "<g class=\"categories\" font-size=\"%.0f\" text-anchor=\"%s\">", CAT_FONT,
            slant ? "end" : "middle");
    char line[512];
    for (size_t i = 0; i < n; i++) {
        double cx = r1(fr->left + band * ((double)i + 0.5)), y = r1(b + 16.0);
        fprintf(out, "<path d=\"M%.1f,%.1f V%.1f\" stroke=\"#000\"/>", cx, r1(b), r1(b + 4.0));
        if (slant) {
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-30 %.1f %.1f)\">", cx,
                    y, cx, y);
            esc(out, cats[i]);
        } else {
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", cx, y);
            for (int k = 0; k < CAT_LINES && cat_line(line, sizeof line, cats[i], k); k++) {
                fprintf(out, "<tspan x=\"%.1f\" dy=\"%.0f\">", cx, k ? CAT_FONT + 2.0 : 0.0);
                esc(out, line);
                fprintf(out, "</tspan>");
            }
        }
        fprintf(out, "</text>");
    }
    fprintf(out, "</g>\n");
}

/* ------------------------------------------------------------------ marks */

/* Opens a <path> of shape s centred on (x, y); the caller closes it ("/>" or
 * "><title>…</title></path>"). */
static void marker(FILE *out, enum shape s, double x, double y, double r, const char *fill,
                   const char *cls)
{
    x = r1(x);
    y = r1(y);
    fprintf(out, "<path class=\"%s\" fill=\"%s\" stroke=\"#000\" stroke-width=\"0.8\" d=\"", cls,
            fill);
    switch (s) {
    case CIRCLE: /* two arcs */
        fprintf(out, "M%.1f,%.1f a%.1f,%.1f 0 1,0 %.1f,0 a%.1f,%.1f 0 1,0 %.1f,0", r1(x - r), y,
                r, r, r1(2 * r), r, r, r1(-2 * r));
        break;
    case SQUARE:
        fprintf(out, "M%.1f,%.1f h%.1f v%.1f h%.1f Z", r1(x - r * 0.9), r1(y - r * 0.9),
                r1(1.8 * r), r1(1.8 * r), r1(-1.8 * r));
        break;
    case TRIANGLE:
        fprintf(out, "M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f Z", x, r1(y - r * 1.15), r1(x + r),
                r1(y + r * 0.85), r1(x - r), r1(y + r * 0.85));
        break;
    case TRIANGLE_DOWN:
        fprintf(out, "M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f Z", x, r1(y + r * 1.15), r1(x + r),
                r1(y - r * 0.85), r1(x - r), r1(y - r * 0.85));
        break;
    case DIAMOND:
        fprintf(out, "M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f L%.1f,%.1f Z", x, r1(y - r * 1.2),
                r1(x + r), y, x, r1(y + r * 1.2), r1(x - r), y);
        break;
    case CROSS: /* an x: a filled outline so it reads at any stroke width */
    case PLUS:
    default: {
        double a = r * 1.1, t = r * 0.38;
        /* a plus of arm length a and half-thickness t, turned 45° for CROSS */
        double pts[12][2] = { { -t, -a }, { t, -a }, { t, -t }, { a, -t }, { a, t }, { t, t },
                              { t, a }, { -t, a }, { -t, t }, { -a, t }, { -a, -t }, { -t, -t } };
        double c = s == CROSS ? M_SQRT1_2 : 1.0, sn = s == CROSS ? M_SQRT1_2 : 0.0;
        for (int i = 0; i < 12; i++)
            fprintf(out, "%c%.1f,%.1f", i ? 'L' : 'M', r1(x + pts[i][0] * c - pts[i][1] * sn),
                    r1(y + pts[i][0] * sn + pts[i][1] * c));
        fprintf(out, " Z");
        break;
    }
    }
    fprintf(out, "\"");
}

/* An error bar from v - e to v + e at x, with caps. */
static void error_bar(FILE *out, const struct frame *fr, double x, double v, double e, double cap)
{
    if (!(isfinite(e) && e > 0))
        return;
    double a = r1(py(fr, v - e)), b = r1(py(fr, v + e));
    fprintf(out, "<path class=\"err\" d=\"M%.1f,%.1f V%.1f M%.1f,%.1f H%.1f M%.1f,%.1f H%.1f\" "
                 "stroke=\"#000\" stroke-width=\"1\"/>", r1(x), a, b, r1(x - cap), a, r1(x + cap),
            r1(x - cap), b, r1(x + cap));
}

/* ------------------------------------------------------------------ bar chart */

void kb_svg_bar_chart(FILE *out, const struct kb_svg_bars *c)
{
    struct frame fr;
    size_t nc = c->n_categories, ns = c->n_series ? c->n_series : 1;
    struct cat_metrics cm = cat_measure(c->categories, nc);
    frame_init(&fr, &c->f, cat_min_width(&cm, nc, (double)ns * 12.0 + 14.0));
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < nc * c->n_series; i++) {
        double v = c->values[i], e = c->errors && isfinite(c->errors[i]) ? c->errors[i] : 0;
        if (isfinite(v)) {
            lo = fmin(lo, v - e);
            hi = fmax(hi, v + e);
        }
    }
    y_range(&fr, lo, hi);
    for (size_t s = 0; s < c->n_series; s++)
        add_item(&fr, c->series[s], SW_BAR, (unsigned)s);
    cat_fix_left(&fr, &cm, nc);
    frame_place(&fr, cat_extra_bottom(&fr, &cm, nc));

    frame_open(out, &fr);
    pattern_defs(out, &fr, c->n_series);
    draw_legend(out, &fr);
    y_axis(out, &fr);
    double band = (fr.W - fr.left - fr.right) / (double)(nc ? nc : 1), bw = band * 0.8 / (double)ns;
    double base = py(&fr, fr.y0 > 0 ? fr.y0 : fr.y1 < 0 ? fr.y1 : 0.0);
    fprintf(out, "<g class=\"bars\">\n");
    for (size_t i = 0; i < nc; i++)
        for (size_t s = 0; s < c->n_series; s++) {
            double v = c->values[i * c->n_series + s];
            double e = c->errors ? c->errors[i * c->n_series + s] : NAN;
            if (!isfinite(v))
                continue;
            double x = fr.left + band * (double)i + band * 0.1 + bw * (double)s, y = py(&fr, v);
            fprintf(out, "<rect class=\"bar s%zu\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                         "height=\"%.1f\" fill=\"url(#%s-p%zu)\" stroke=\"#000\" "
                         "stroke-width=\"0.6\"><title>", s, r1(x), r1(fmin(y, base)), r1(bw),
                    r1(fabs(base - y)), c->f.id, s);
            esc(out, c->categories[i]);
            fprintf(out, " · ");
            esc(out, c->series[s]);
            fprintf(out, ": ");
            value_text(out, v, e, c->f.unit);
            fprintf(out, "</title></rect>");
            error_bar(out, &fr, x + bw / 2.0, v, e, fmin(3.0, bw / 3.0));
            fprintf(out, "\n");
        }
    fprintf(out, "</g>\n");
    ref_line(out, &fr);
    x_axis_line(out, &fr);
    category_labels(out, &fr, c->categories, nc, &cm);
    fprintf(out, "</svg>\n");
}

/* ------------------------------------------------------------------ strip chart */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of sorted v[n] (linear interpolation between order statistics). */
static double quantile(const double *v, size_t n, double q)
{
    double h = (double)(n - 1) * q, fl = floor(h);
    size_t i = (size_t)fl;
    return i + 1 < n ? v[i] + (h - fl) * (v[i + 1] - v[i]) : v[n - 1];
}

static void strip_column(FILE *out, const struct frame *fr, const struct kb_svg_strip *c,
                         size_t i, double cx, double band)
{
    size_t n = c->n_values[i], k = 0;
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return;
    for (size_t j = 0; j < n; j++)
        if (isfinite(c->values[i][j]))
            v[k++] = c->values[i][j];
    qsort(v, k, sizeof *v, cmp_double);
    if (k >= 2) {
        double q1 = quantile(v, k, 0.25), q2 = quantile(v, k, 0.5), q3 = quantile(v, k, 0.75);
        double bw = band * 0.36;
        fprintf(out, "<g class=\"box\"><title>");
        esc(out, c->categories[i]);
        fprintf(out, ": median %.1f, quartiles %.1f–%.1f, range %.1f–%.1f", r1(q2), r1(q1), r1(q3),
                r1(v[0]), r1(v[k - 1]));
        if (c->f.unit)
            fprintf(out, " %s", c->f.unit);
        fprintf(out, ", n = %zu</title>", k);
        fprintf(out, "<path d=\"M%.1f,%.1f V%.1f M%.1f,%.1f V%.1f M%.1f,%.1f H%.1f M%.1f,%.1f H%.1f\" "
                     "stroke=\"#000\"/>", r1(cx), r1(py(fr, v[0])), r1(py(fr, q1)), r1(cx),
                r1(py(fr, q3)), r1(py(fr, v[k - 1])), r1(cx - bw / 4), r1(py(fr, v[0])),
                r1(cx + bw / 4), r1(cx - bw / 4), r1(py(fr, v[k - 1])), r1(cx + bw / 4));
        fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                     "stroke=\"#000\"/>", r1(cx - bw / 2), r1(py(fr, q3)), r1(bw),
                r1(py(fr, q1) - py(fr, q3)));
        fprintf(out, "<path d=\"M%.1f,%.1f H%.1f\" stroke=\"#000\" stroke-width=\"2\"/></g>",
                r1(cx - bw / 2), r1(py(fr, q2)), r1(cx + bw / 2));
    }
    /* points in their given order, spread sideways by a fixed pattern */
    for (size_t j = 0; j < n; j++) {
        double y = c->values[i][j];
        if (!isfinite(y))
            continue;
        double dx = ((double)((j * 5) % 9) - 4.0) * band * 0.035;
        marker(out, CIRCLE, cx + dx, py(fr, y), 2.8, palette[0], "pt");
        fprintf(out, " fill-opacity=\"0.75\"><title>");
        esc(out, c->categories[i]);
        fprintf(out, " · ");
        esc(out, c->points_label);
        fprintf(out, " %zu: ", j + 1);
        value_text(out, y, NAN, c->f.unit);
        fprintf(out, "</title></path>");
    }
    free(v);
}

void kb_svg_strip_chart(FILE *out, const struct kb_svg_strip *c)
{
    struct frame fr;
    size_t nc = c->n_categories;
    struct cat_metrics cm = cat_measure(c->categories, nc);
    frame_init(&fr, &c->f, cat_min_width(&cm, nc, 40.0));
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < nc; i++) {
        for (size_t j = 0; j < c->n_values[i]; j++)
            if (isfinite(c->values[i][j])) {
                lo = fmin(lo, c->values[i][j]);
                hi = fmax(hi, c->values[i][j]);
            }
        if (c->marker && isfinite(c->marker[i])) {
            lo = fmin(lo, c->marker[i]);
            hi = fmax(hi, c->marker[i]);
        }
    }
    y_range(&fr, lo, hi);
    add_item(&fr, c->points_label, SW_POINT, 0);
    add_item(&fr, "box: quartiles, median, range", SW_BOX, 0);
    if (c->marker)
        add_item(&fr, c->marker_label, SW_MARKER, 0);
    cat_fix_left(&fr, &cm, nc);
    frame_place(&fr, cat_extra_bottom(&fr, &cm, nc));

    frame_open(out, &fr);
    draw_legend(out, &fr);
    y_axis(out, &fr);
    ref_line(out, &fr);
    double band = (fr.W - fr.left - fr.right) / (double)(nc ? nc : 1);
    fprintf(out, "<g class=\"strips\">\n");
    for (size_t i = 0; i < nc; i++) {
        double cx = fr.left + band * ((double)i + 0.5);
        strip_column(out, &fr, c, i, cx, band);
        if (c->marker && isfinite(c->marker[i])) {
            marker(out, DIAMOND, cx + band * 0.3, py(&fr, c->marker[i]), 5.0, palette[1], "mark");
            fprintf(out, "><title>");
            esc(out, c->categories[i]);
            fprintf(out, " · ");
            esc(out, c->marker_label);
            fprintf(out, ": ");
            value_text(out, c->marker[i], NAN, c->f.unit);
            fprintf(out, "</title></path>");
        }
        fprintf(out, "\n");
    }
    fprintf(out, "</g>\n");
    x_axis_line(out, &fr);
    category_labels(out, &fr, c->categories, nc, &cm);
    fprintf(out, "</svg>\n");
}

/* ------------------------------------------------------------------ line chart */

/* The x range: whole 1-2-5 ticks around the data (log), or nice ticks from 0
 * (linear, for data that are all positive). */
static void x_range(struct frame *fr, const struct kb_svg_lines *c)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t l = 0; l < c->n_lines; l++)
        for (size_t i = 0; i < c->lines[l].n; i++) {
            double x = c->lines[l].x[i];
            if (isfinite(x) && isfinite(c->lines[l].y[i]) && (!c->log_x || x > 0)) {
                lo = fmin(lo, x);
                hi = fmax(hi, x);
            }
        }
    if (!isfinite(lo)) {
        lo = c->log_x ? 1.0 : 0.0;
        hi = c->log_x ? 10.0 : 1.0;
    }
    if (c->log_x) {
        double a = pow(10.0, floor(log10(lo) + 1e-9)), b = pow(10.0, ceil(log10(hi) - 1e-9));
        if (b <= a)
            b = a * 10.0;
        bool ok = isfinite(a) && isfinite(b) && a > 0 && b / a <= 1e12; /* 12 decades at most */
        fr->x0 = ok ? a : 1.0;
        fr->x1 = ok ? b : 10.0;
        return;
    }
    if (lo > 0)
        lo = 0.0;
    if (hi <= lo)
        hi = lo + 1.0;
    double step = nice_step(hi - lo, 5.0);
    fr->x0 = floor(lo / step) * step;
    fr->x1 = ceil(hi / step) * step;
    if (!drawable(fr->x0, fr->x1)) { /* as y_range */
        fr->x0 = 0.0;
        fr->x1 = 1.0;
    }
}

static void x_tick(FILE *out, const struct frame *fr, double v, int dec, bool label)
{
    double x = r1(px(fr, v)), b = fr->H - fr->bottom;
    fprintf(out, "<path d=\"M%.1f,%.1f V%.1f\" stroke=\"#000\"/>", x, r1(b), r1(b + (label ? 5.0 : 3.0)));
    if (!label)
        return;
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", x, r1(b + 18.0));
    tick_label(out, v, dec);
    fprintf(out, "</text>");
}

static void x_ticks(FILE *out, const struct frame *fr)
{
    fprintf(out, "<g class=\"x-ticks\" text-anchor=\"middle\">");
    if (fr->log_x) {
        /* decades labelled; 2 and 5 labelled too over at most two decades */
        bool few = fr->x1 / fr->x0 <= 100.0 + 1e-9;
        for (double d = fr->x0; d <= fr->x1 * (1 + 1e-9); d *= 10.0)
            for (int m = 1; m <= 9; m++) {
                double v = d * m;
                if (v > fr->x1 * (1 + 1e-9))
                    break;
                x_tick(out, fr, v, decimals(d), m == 1 || (few && (m == 2 || m == 5)));
            }
    } else {
        double step = nice_step(fr->x1 - fr->x0, 5.0);
        for (size_t i = 0, n = tick_count(fr->x0, fr->x1, step); i < n; i++)
            x_tick(out, fr, fr->x0 + (double)i * step, decimals(step), true);
    }
    fprintf(out, "</g>\n");
}

static void draw_line(FILE *out, const struct frame *fr, const struct kb_svg_line *ln,
                      const char *unit)
{
    const char *colour = palette[ln->style % N_PALETTE], *d = dashes[ln->style % N_DASHES];
    fprintf(out, "<g class=\"series s%u\"><path class=\"line\" fill=\"none\" stroke=\"%s\" "
                 "stroke-width=\"2\"%s%s%s d=\"", ln->style, colour,
            *d ? " stroke-dasharray=\"" : "", d, *d ? "\"" : "");
    bool pen = false;
    for (size_t i = 0; i < ln->n; i++) {
        double x = ln->x[i], y = ln->y[i];
        if (!isfinite(x) || !isfinite(y) || (fr->log_x && x <= 0)) {
            pen = false; /* a gap */
            continue;
        }
        fprintf(out, "%c%.1f,%.1f", pen ? 'L' : 'M', r1(px(fr, x)), r1(py(fr, y)));
        pen = true;
    }
    fprintf(out, "\"/>");
    for (size_t i = 0; i < ln->n; i++) {
        double x = ln->x[i], y = ln->y[i], e = ln->err ? ln->err[i] : NAN;
        if (!isfinite(x) || !isfinite(y) || (fr->log_x && x <= 0))
            continue;
        error_bar(out, fr, px(fr, x), y, e, 3.0);
        marker(out, (enum shape)(ln->style % N_SHAPES), px(fr, x), py(fr, y), 3.5, colour, "mark");
        fprintf(out, "><title>");
        esc(out, ln->name);
        fprintf(out, " at %g: ", x);
        value_text(out, y, e, unit);
        fprintf(out, "</title></path>");
    }
    fprintf(out, "</g>\n");
}

void kb_svg_line_chart(FILE *out, const struct kb_svg_lines *c)
{
    struct frame fr;
    frame_init(&fr, &c->f, 0);
    fr.log_x = c->log_x;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t l = 0; l < c->n_lines; l++)
        for (size_t i = 0; i < c->lines[l].n; i++) {
            double y = c->lines[l].y[i], e = c->lines[l].err ? c->lines[l].err[i] : 0;
            if (isfinite(y)) {
                lo = fmin(lo, y - (isfinite(e) ? e : 0));
                hi = fmax(hi, y + (isfinite(e) ? e : 0));
            }
        }
    y_range(&fr, lo, hi);
    x_range(&fr, c);
    for (size_t l = 0; l < c->n_lines; l++)
        add_item(&fr, c->lines[l].name, SW_LINE, c->lines[l].style);
    frame_place(&fr, 0.0);

    frame_open(out, &fr);
    draw_legend(out, &fr);
    y_axis(out, &fr);
    ref_line(out, &fr);
    for (size_t l = 0; l < c->n_lines; l++)
        draw_line(out, &fr, &c->lines[l], c->f.unit);
    x_axis_line(out, &fr);
    x_ticks(out, &fr);
    fprintf(out, "</svg>\n");
}
