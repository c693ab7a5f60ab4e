/* keybench/report.h — the report: journals → an in-memory model → text formats.
 *
 *     struct kb_report *m;
 *     if (kb_report_load(&m, run_dirs, n_runs, &err) < 0) ...
 *     for (size_t i = 0; i < m->n_headline; i++) ...   // the paper's table
 *     kb_report_free(m);
 *
 *     // or everything at once (what `keybench report` and `keybench run` do):
 *     kb_report_write("runs/q", run_dirs, n_runs, "csv,md,tex", &err);  // NULL: every format
 *
 * Everything is derived from journals (kb_results_collect: deduplicated
 * measurement records of the current plan), plan.json and cells/<id>/status.
 * The model is read-only once loaded; every pointer in it lives as long as the
 * model. Text fields are never NULL ("" when absent). Numbers that are absent
 * are NaN (stat.n == 0). docs/reports.md describes every format.
 *
 * Escaping: every string that came from a spec, a plugin or a file must go
 * through the escaper of the format it is written in (kb_report_*_escape).
 */
#ifndef KEYBENCH_REPORT_H
#define KEYBENCH_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include <keybench/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A value aggregated over seeds (or over seeds × keys for pooled wrong keys). */
struct kb_report_stat {
    double mean;      /* NaN when n == 0 */
    double std;       /* sample standard deviation (n − 1); 0 when n == 1; NaN when n == 0 */
    double min, max;
    size_t n;         /* values behind it (seeds, or seeds × keys) */
    double ci_low, ci_high; /* mean of the records' 95% Wilson bounds; NaN when they have none */
    size_t n_images;  /* test images behind one value (the records' n; the largest if they differ) */
};

/* One plan axis (its dotted path, e.g. "transform.block_size"). */
struct kb_report_axis {
    const char *path;
    bool varies;      /* takes more than one value over the cells of every run: shown */
    bool is_seed;     /* the "seed" axis: aggregated over, never a row label */
};

/* One key/value line of provenance ("compiler" → "gcc 12.2.0"). */
struct kb_report_kv {
    const char *key;
    const char *value;
};

struct kb_report_run {
    const char *dir;          /* as given */
    const char *name;         /* plan.json's name, else dir */
    const char *spec;         /* plan.json's spec path ("" when unknown) */
    const json_t *plan;       /* plan.json (NULL when absent); borrowed by the model */
    size_t n_records;         /* measurement records */
    size_t n_cells, n_done, n_failed;
    /* What produced it, in a stable order: keybench version, git, compiler,
     * OpenBLAS, BLAS and engine threads, spec, spec hash, seeds, key
     * fingerprints, plugin hashes ("plugin transform negpos" → hash), wall time
     * per stage ("wall time protect" → "123.4 s over 3 cells"). Several distinct
     * values of one key are joined by ", ". */
    const struct kb_report_kv *prov;
    size_t n_prov;
};

/* One cell (one seed) of one run. */
struct kb_report_cell {
    size_t run;               /* index into runs */
    const char *id, *name;
    const char **axis_values; /* one per model axis, as text ("" when absent) */
    const char *dataset, *backbone, *transform, *key_fingerprint;
    long long seed;
    const char *status;       /* "done", "failed", "running", "pending" or "" (no status file) */
    const char *error;        /* the error of a failed cell, else "" */
    size_t group;             /* index into groups */
};

/* The cells of one run that differ only in their seed. */
struct kb_report_group {
    size_t run;
    const char **axis_values; /* one per model axis; the seed axis is "" */
    const char *label;        /* the varying non-seed axes, "resnet20, negpos, block_size=4" (a
                               * .name axis by its value); the transform when none varies; never "" */
    const char *dataset, *backbone, *transform;
    const size_t *cells;      /* indices into cells */
    size_t n_cells;
};

/* A group × condition × metric × variant × class, over the group's seeds.
 * For condition "wrong_key" (and "attack:wrong_key") `stat` is over the seeds'
 * means and `pooled` over every key of every seed (the records' "values");
 * otherwise `pooled` equals `stat`. */
struct kb_report_agg {
    size_t group;
    const char *condition, *metric, *variant, *class_name;
    struct kb_report_stat stat, pooled;
};

/* One row of the headline table, in the shape of the paper's. */
struct kb_report_headline {
    size_t group;
    struct kb_report_stat unprotected;  /* correct-key accuracy of the `none` group sharing every non-transform axis */
    struct kb_report_stat correct_key, plain;
    struct kb_report_stat wrong_key;    /* pooled over keys and seeds */
    struct kb_report_stat key_estimation; /* the best mode's test accuracy (by mean) */
    const char *key_estimation_mode;    /* "random", "heuristic", "bitflip" or "" */
    struct kb_report_stat fine_tune;    /* accuracy_from_protected at the largest n */
    long long fine_tune_n;              /* that n; 0 when none */
};

enum kb_report_series_kind {
    KB_REPORT_SERIES_FINE_TUNE,      /* x: training images; y: plain test accuracy, mean over seeds; name: stolen|pretrained|scratch */
    KB_REPORT_SERIES_KEY_ESTIMATION, /* x: evaluations; y: best batch accuracy so far; one per cell × mode; name: the mode */
    KB_REPORT_SERIES_PGD,            /* x: eps; y: robust accuracy, mean over seeds; name: whitebox|plain */
    KB_REPORT_SERIES_WRONG_KEY,      /* x: the key's cell seed; y: that key's accuracy; name: wrong_key|attack:wrong_key */
};

struct kb_report_series {
    enum kb_report_series_kind kind;
    size_t group;
    size_t cell;              /* per-cell series (key estimation); SIZE_MAX when over seeds */
    const char *name;
    const char *variant;      /* the attack instance ("#1", …) or "" */
    const double *x, *y;
    const double *y_std;      /* over seeds (0 for one seed); NULL for per-cell series */
    size_t n;
};

/* How one run's value compares with the first run's (the reference). */
enum kb_report_diff {
    KB_REPORT_SAME,       /* within the noise (see docs/reports.md) */
    KB_REPORT_DIFFERS,    /* |Δmean| beyond the noise */
    KB_REPORT_MISSING,    /* one of the two has no value */
    KB_REPORT_UNJUDGED,   /* both have a value but no spread or interval to judge by */
};

/* Several runs aligned by their axes: one row per (non-seed axis tuple,
 * condition, metric, variant) over the aggregates without a class. */
struct kb_report_compare_row {
    const char **axis_values;           /* one per model axis; the seed axis is "" */
    const char *label;                  /* as kb_report_group.label */
    const char *condition, *metric, *variant;
    const struct kb_report_stat *per_run; /* n_runs entries (n == 0: absent in that run) */
    const enum kb_report_diff *diff;    /* n_runs entries; diff[0] is KB_REPORT_SAME */
    bool differs;                       /* any diff[i] == KB_REPORT_DIFFERS */
};

struct kb_report {
    const struct kb_report_run *runs;
    size_t n_runs;
    const struct kb_report_axis *axes;  /* union over runs, in plan order */
    size_t n_axes;
    const struct kb_report_cell *cells;
    size_t n_cells;
    const struct kb_report_group *groups;
    size_t n_groups;
    const struct kb_report_agg *aggs;   /* sorted: group, condition (correct_key, plain, wrong_key, others), metric, variant, class */
    size_t n_aggs;
    const struct kb_report_headline *headline; /* in group order; `none` groups that serve as another row's unprotected column are left out */
    size_t n_headline;
    const struct kb_report_series *series;
    size_t n_series;
    const struct kb_report_compare_row *compare; /* empty for one run */
    size_t n_compare;
    const json_t *records;              /* the measurement records (kb_results_collect) */
    void *priv_;                        /* the allocations behind it all */
};

/* Load the run dirs. Fails with one line when a dir has no journal, a journal
 * line is malformed (FILE:LINE) or plan.json is not JSON. */
KB_API int kb_report_load(struct kb_report **out, const char *const *run_dirs, size_t n_runs,
                          struct kb_error *err) KB_WUR;
KB_API void kb_report_free(struct kb_report *m);

/* The aggregate of a group × condition × metric × variant × class (variant and
 * class "" for none), or NULL. */
KB_API const struct kb_report_agg *kb_report_find(const struct kb_report *m, size_t group,
                                                  const char *condition, const char *metric,
                                                  const char *variant, const char *class_name);

/* Whether a metric is a fraction shown in percent (accuracies, agreements, advantages). */
KB_API bool kb_report_metric_is_fraction(const char *metric);

/* Text of a stat for a table: "88.6 ± 0.3" (percent, 1 decimal, for fractions;
 * %.4g otherwise), "88.6" for one value, "–" for none. `pm` is the ± text
 * (" ± ", " $\pm$ " …). Returns out. */
KB_API char *kb_report_stat_text(char *out, size_t size, const struct kb_report_stat *s,
                                 bool fraction, const char *pm);

/* Escapers: write s to f, escaped for the format. */
KB_API void kb_report_csv_field(FILE *f, const char *s);  /* RFC 4180: quoted when it holds , " CR LF */
KB_API void kb_report_md_escape(FILE *f, const char *s);  /* GFM: \ before | \ ` * _ [ ] ~ $ and a leading # + -; < > & as entities */
KB_API void kb_report_tex_escape(FILE *f, const char *s); /* \ { } $ & # ^ _ % ~ < > | " */
KB_API void kb_report_html_escape(FILE *f, const char *s); /* & < > " ' (text and attribute values) */

/* One output format. */
typedef int (*kb_report_writer)(const struct kb_report *m, const char *out_dir,
                                struct kb_error *err);
struct kb_report_format {
    const char *name;    /* "csv", "md", "tex", "html" */
    const char *files;   /* what it writes, e.g. "report.md" */
    kb_report_writer write;
};
/* The formats this build writes (harness/report/report.c: the dispatch table). */
KB_API const struct kb_report_format *kb_report_formats(size_t *n);

KB_API int kb_report_write_csv(const struct kb_report *m, const char *out_dir, struct kb_error *err) KB_WUR;
KB_API int kb_report_write_md(const struct kb_report *m, const char *out_dir, struct kb_error *err) KB_WUR;
KB_API int kb_report_write_tex(const struct kb_report *m, const char *out_dir, struct kb_error *err) KB_WUR;
/* harness/report/html.c */
KB_API int kb_report_write_html(const struct kb_report *m, const char *out_dir, struct kb_error *err) KB_WUR;

/* The headline as a terminal table (what `keybench run` and `keybench report`
 * print): one line per row, unprotected / correct key / plain / wrong key. */
KB_API void kb_report_print_summary(FILE *f, const char *title, const struct kb_report *m);

/* Write `data` built in a memstream to OUT_DIR/NAME atomically (0644). */
KB_API int kb_report_save(const char *out_dir, const char *name, const char *data, size_t size,
                          struct kb_error *err) KB_WUR;

/* Load the run dirs and write the formats named in `formats` ("csv,md,tex";
 * NULL or "all": every format) into out_dir (created). An unknown format is
 * an error naming it and the known ones; nothing is written then. */
KB_API int kb_report_write(const char *out_dir, const char *const *run_dirs, size_t n_runs,
                           const char *formats, struct kb_error *err) KB_WUR;

/* Whether every name of a format list ("csv,md"; NULL or "all") is known;
 * else -1 with one line naming it and the known ones. */
KB_API int kb_report_check_formats(const char *formats, struct kb_error *err) KB_WUR;

/* The same for a model already loaded. */
KB_API int kb_report_write_model(const struct kb_report *m, const char *out_dir,
                                 const char *formats, struct kb_error *err) KB_WUR;

#ifdef __cplusplus
}
#endif
#endif
