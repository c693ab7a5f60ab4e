/* Internal helpers shared by the report model and its writers. */
#ifndef KB_REPORT_INTERNAL_H
#define KB_REPORT_INTERNAL_H

#include <stdio.h>

#include <jansson.h>

#include <keybench/report.h>

/* Out of memory while building a report: a message and abort() (a report has
 * no partial result worth returning). */
_Noreturn void kb_report_oom(void);
/* Grow the vector *vec of *n elements (capacity *cap) by one zeroed element
 * of `size` bytes and return it. */
void *kb_report_push(void *vec, size_t *n, size_t *cap, size_t size);

/* A string member of a JSON object, "" when absent or not a string. */
const char *kb_report_str(const json_t *o, const char *k);
/* Text of a scalar JSON value for a table cell ("" for null/absent). */
void kb_report_scalar_text(char *out, size_t n, const json_t *v);
/* The n of a variant ("n=100", "#1 n=100"), 0 when it names none;
 * *instance_end (may be NULL) points where "n=" starts (the instance before it). */
long long kb_report_variant_n(const char *variant, const char **instance_end);
/* How x compares with the reference run's ref (docs/reports.md, "Comparing runs"). */
enum kb_report_diff kb_report_compare_stats(const struct kb_report_stat *ref,
                                            const struct kb_report_stat *x);
/* Open a memstream (aborts when out of memory) and, after writing, save it
 * atomically as OUT_DIR/NAME and free it. */
FILE *kb_report_open(char **buf, size_t *len);
int kb_report_close_save(FILE *f, char **buf, size_t *len, const char *out_dir, const char *name,
                         struct kb_error *err);
/* The non-seed axes that vary: the row-label columns of every table (indices into m->axes). */
size_t kb_report_label_axes(const struct kb_report *m, size_t *idx, size_t max);
/* The heading of an axis column: "transform.block_size" → "block size"; "transform.name" → "transform". */
void kb_report_axis_title(char *out, size_t n, const char *path);

/* Class names in order: whole numbers first, by value (2 before 10), then the
 * others by strcmp. */
int kb_report_cmp_class(const char *a, const char *b);
/* The aggregates of group g: m->aggs[*first .. *end). */
void kb_report_group_aggs(const struct kb_report *m, size_t g, size_t *first, size_t *end);
/* Whether a cell id (from a journal or plan.json) is safe to put in a path
 * under RUN/cells/: letters, digits, - and _ only (the runner's ids are hex);
 * "../../elsewhere" is not. */
bool kb_report_safe_id(const char *id);
/* The cell of a measurement record of m->records. */
size_t kb_report_record_cell(const struct kb_report *m, const json_t *rec);
/* The `none` group of the same run sharing every non-transform axis with group g
 * (one with the same transform axes if any, else the only one); SIZE_MAX when
 * there is none or it is ambiguous. */
size_t kb_report_unprotected_group(const struct kb_report *m, size_t g);

/* The tables of the text formats (table.c), rendered by md.c and tex.c. */
enum kb_tcell_kind { KB_TCELL_TEXT, KB_TCELL_STAT };
struct kb_tcell {
    enum kb_tcell_kind kind;
    const char *text;            /* TEXT: the text (escape it); STAT: a note after the value ("random", "n=1000", "?") */
    struct kb_report_stat stat;  /* STAT */
    bool fraction;               /* STAT: shown in percent */
    bool bold;                   /* highlighted (a difference between runs) */
};
struct kb_table {
    const char *id;              /* ascii, for labels: "headline", "attacks", … */
    const char *title, *caption; /* title: may hold a run's name (escape it) */
    size_t n_cols, n_rows, cap_rows;
    const char **head;           /* column headings (escape them) */
    bool *numeric;               /* right-aligned */
    bool provenance;             /* a key/value list: long values wrap */
    struct kb_tcell *cells;      /* n_rows × n_cols */
};
struct kb_tables {
    struct kb_table *v;
    size_t n, cap;
};
void kb_tables_build(struct kb_tables *ts, const struct kb_report *m);
void kb_tables_free(struct kb_tables *ts);

#endif
