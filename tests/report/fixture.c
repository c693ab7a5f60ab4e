/* Fixed run directories for the report tests: plan.json, a journal and the
 * cells' statuses, written record by record (no training). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "fixture.h"

#define HOSTILE REPORT_FIXTURE_HOSTILE_TEXT

struct fx {
    const char *dir;
    enum report_fixture kind;
    FILE *journal;
    json_t *cells;    /* plan cells */
};

static void die(const char *what)
{
    fprintf(stderr, "report fixture: %s\n", what);
    exit(2);
}

static void mkdir_or_die(const char *p)
{
    struct stat st;
    if (mkdir(p, 0755) < 0 && !(stat(p, &st) == 0 && S_ISDIR(st.st_mode)))
        die(p);
}

/* The fields every record of a cell carries. */
static json_t *base(const struct fx *f, const json_t *cell)
{
    const json_t *cfg = json_object_get(cell, "config");
    json_t *r = json_pack(
        "{s:s, s:s, s:O, s:s, s:s, s:s, s:I, s:s, s:s, s:{s:s, s:s, s:s, s:s},"
        " s:{s:s, s:s, s:b, s:s, s:s, s:i, s:i}}",
        "run", f->dir, "cell", json_string_value(json_object_get(cell, "id")),
        "axes", json_object_get(cell, "axes"),
        "cell_name", json_string_value(json_object_get(cell, "name")),
        "dataset", "synthetic",
        "backbone", "mlp",
        "seed", json_integer_value(json_object_get(cfg, "seed")),
        "transform", json_string_value(json_object_get(json_object_get(cfg, "transform"), "name")),
        "key_fingerprint", json_string_value(json_object_get(cell, "fp")),
        "plugins", "backbone", "mlp", "backbone_file", "b0b0b0b0", "transform",
        json_string_value(json_object_get(json_object_get(cfg, "transform"), "name")),
        "transform_file", "7e7e7e7e",
        "provenance", "keybench_version", "0.1.0", "git", "abc123def456", "git_dirty", 0,
        "compiler", "gcc 12.2.0", "openblas", "OpenBLAS 0.3.21", "blas_threads", 1,
        "engine_threads", 2);
    json_object_set_new(r, "spec_hash", json_string("5bec5bec"));
    return r;
}

static void emit(struct fx *f, json_t *rec)
{
    char *s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    fprintf(f->journal, "%s\n", s);
    free(s);
    json_decref(rec);
}

/* One measurement; `extra` (may be NULL) is merged in and released. */
static void measure(struct fx *f, const json_t *cell, const char *condition, const char *metric,
                    double value, long n, json_t *extra)
{
    json_t *r = base(f, cell);
    json_object_set_new(r, "type", json_string("measurement"));
    json_object_set_new(r, "condition", json_string(condition));
    json_object_set_new(r, "metric", json_string(metric));
    json_object_set_new(r, "value", json_real(value));
    json_object_set_new(r, "n", json_integer(n));
    if (strstr(metric, "accuracy") && !(extra && json_object_get(extra, "trials"))) {
        /* a fixed-width interval stands in for the Wilson interval */
        json_object_set_new(r, "ci_low", json_real(value - 0.05));
        json_object_set_new(r, "ci_high", json_real(value + 0.05));
    }
    if (extra) {
        json_object_update(r, extra);
        json_decref(extra);
    }
    emit(f, r);
}

static void timing(struct fx *f, const json_t *cell, const char *stage, double seconds)
{
    json_t *r = base(f, cell);
    json_object_set_new(r, "type", json_string("timing"));
    json_object_set_new(r, "stage", json_string(stage));
    json_object_set_new(r, "seconds", json_real(seconds));
    emit(f, r);
}

static const char *transform_of(const json_t *cell)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(cell, "config"), "transform"), "name"));
}

/* A cell of the plan; its status file; its records (unless it failed). */
static json_t *add_cell(struct fx *f, const char *transform, int block, int seed)
{
    char id[64], name[300], fp[32];
    snprintf(id, sizeof id, "c%s%d%d", transform[0] == 'n' && transform[1] == 'o' ? "none"
                                       : transform[0] == 'n' ? "np" : "bs", block, seed);
    snprintf(name, sizeof name, "synthetic/mlp/%s-block_size=%d/s%d", transform, block, seed);
    snprintf(fp, sizeof fp, "%08x%08x", (unsigned)(block * 131 + seed * 7 + (int)strlen(transform)),
             (unsigned)seed * 0x1000193u);
    json_t *axes = json_pack("{s:s, s:I, s:s, s:I}", "backbone.name", "mlp",
                             "transform.block_size", (json_int_t)block, "transform.name", transform,
                             "seed", (json_int_t)seed);
    if (f->kind == REPORT_FIXTURE_HOSTILE)
        json_object_set_new(axes, "transform.label", json_string(HOSTILE));
    json_t *cell = json_pack("{s:s, s:s, s:o, s:{s:{s:s}, s:{s:s}, s:{s:s, s:I}, s:I}, s:s}",
                             "id", id, "name", name, "axes", axes,
                             "config", "dataset", "name", "synthetic", "backbone", "name", "mlp",
                             "transform", "name", transform, "block_size", (json_int_t)block,
                             "seed", (json_int_t)seed, "fp", fp);
    json_array_append(f->cells, cell);
    json_decref(cell);
    return cell;
}

static void status(struct fx *f, const json_t *cell, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/cells/%s", f->dir, json_string_value(json_object_get(cell, "id")));
    mkdir_or_die(p);
    strcat(p, "/status");
    FILE *s = fopen(p, "w");
    if (!s)
        die(p);
    fprintf(s, "%s\n", text);
    fclose(s);
}

static void class_records(struct fx *f, const json_t *cell, double acc)
{
    static const char *const classes[] = { "0 shirt", "1 trouser", "10 bag" };
    for (int k = 0; k < 3; k++) {
        const char *cls = f->kind == REPORT_FIXTURE_HOSTILE && k == 2 ? HOSTILE : classes[k];
        measure(f, cell, "correct_key", "class_accuracy", acc - 0.02 * k, 40,
                json_pack("{s:s}", "class", cls));
    }
}

static void wrong_keys(struct fx *f, const json_t *cell, const char *condition, double w0)
{
    double v[3] = { w0, w0 + 0.04, w0 - 0.02 };
    double mean = (v[0] + v[1] + v[2]) / 3, ss = 0;
    for (int i = 0; i < 3; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    measure(f, cell, condition, "accuracy", mean, 100,
            json_pack("{s:f, s:f, s:f, s:i, s:[f,f,f], s:f}", "std", sqrt(ss / 2), "min", w0 - 0.02,
                      "max", w0 + 0.04, "trials", 3, "values", v[0], v[1], v[2], "key_agreement",
                      0.5));
}

/* The attacks of the negpos M=4 cells: fine-tuning at two sizes, key
 * estimation with curves, PGD, brute force and the wrong_key attack. */
static void attacks(struct fx *f, const json_t *cell, int seed, double shift)
{
    static const int sizes[] = { 10, 50 };
    for (int i = 0; i < 2; i++) {
        char variant[32];
        snprintf(variant, sizeof variant, "n=%d", sizes[i]);
        double base_acc = 0.40 + 0.3 * i + 0.01 * seed + shift;
        static const char *const metrics[] = { "accuracy_from_protected",
                                               "accuracy_from_pretrained",
                                               "accuracy_from_scratch" };
        for (int k = 0; k < 3; k++)
            measure(f, cell, "attack:fine_tune", metrics[k], base_acc - 0.1 * k, sizes[i],
                    json_pack("{s:s, s:i, s:b}", "variant", variant, "requested", sizes[i],
                              "clamped", 0));
        measure(f, cell, "attack:fine_tune", "advantage_over_pretrained", 0.1, sizes[i],
                json_pack("{s:s}", "variant", variant));
    }
    measure(f, cell, "attack:key_estimation", "accuracy_random", 0.30 + 0.02 * seed, 100,
            json_pack("{s:s, s:i, s:[[i,f],[i,f],[i,f]]}", "mode", "random", "evaluations", 200,
                      "curve", 1, 0.1, 20, 0.25, 200, 0.3 + 0.02 * seed));
    measure(f, cell, "attack:key_estimation", "accuracy_bitflip", 0.80 + 0.02 * seed + shift, 100,
            json_pack("{s:s, s:i, s:[[i,f],[i,f]]}", "mode", "bitflip", "evaluations", 16,
                      "curve", 1, 0.2, 16, 0.8));
    measure(f, cell, "attack:key_estimation", "evaluations_random", 200, 128, NULL);
    measure(f, cell, "attack:pgd", "robust_accuracy_whitebox", 0.05 + 0.01 * seed, 50,
            json_pack("{s:f, s:i}", "eps", 0.0313725, "steps", 10));
    measure(f, cell, "attack:pgd", "robust_accuracy_plain", 0.02, 50,
            json_pack("{s:f, s:i}", "eps", 0.0313725, "steps", 10));
    measure(f, cell, "attack:brute_force", "keyspace_bits", 16, 0, NULL);
    wrong_keys(f, cell, "attack:wrong_key", 0.12);
}

static void cell_records(struct fx *f, const json_t *cell, int block, int seed)
{
    const char *t = transform_of(cell);
    bool none = !strcmp(t, "none");
    /* run B: negpos M=2 clearly worse with the correct key; the rest moves within the noise */
    double shift = f->kind == REPORT_FIXTURE_B ? (!strcmp(t, "negpos") && block == 2 ? -0.2 : 0.002)
                                               : 0;
    double correct = (none ? 0.92 : block == 2 ? 0.88 : 0.84) + 0.02 * seed + shift;
    timing(f, cell, "protect", 10.0 + seed);
    timing(f, cell, "evaluate", 1.5);
    measure(f, cell, "protect", "train_loss", 0.3 - 0.01 * seed, 200, NULL);
    measure(f, cell, "correct_key", "accuracy", correct, 100, NULL);
    measure(f, cell, "correct_key", "loss", 0.4, 100, NULL);
    measure(f, cell, "plain", "accuracy", none ? correct : 0.2 + 0.05 * seed, 100, NULL);
    if (!none)
        wrong_keys(f, cell, "wrong_key", 0.10 + 0.03 * seed);
    class_records(f, cell, correct);
    if (!strcmp(t, "negpos") && block == 4)
        attacks(f, cell, seed, shift);
}

void report_fixture_write(const char *dir, enum report_fixture kind)
{
    struct fx f = { .dir = dir, .kind = kind, .cells = json_array() };
    char p[1024];
    mkdir_or_die(dir);
    snprintf(p, sizeof p, "%s/cells", dir);
    mkdir_or_die(p);
    snprintf(p, sizeof p, "%s/journal.jsonl", dir);
    f.journal = fopen(p, "w");
    if (!f.journal)
        die(p);
    static const struct { const char *t; int block; } cells[] = {
        { "none", 4 }, { "negpos", 2 }, { "negpos", 4 }, { "block_scramble", 4 } };
    for (size_t c = 0; c < sizeof cells / sizeof *cells; c++)
        for (int seed = 0; seed < 2; seed++) {
            json_t *cell = add_cell(&f, cells[c].t, cells[c].block, seed);
            if (!strcmp(cells[c].t, "block_scramble") && seed == 1) {
                status(&f, cell, "failed: dataset 'synthetic': cannot open 'nowhere/train' (expected an IDX file)");
                continue;
            }
            if (kind == REPORT_FIXTURE_HOSTILE && c == 3 && seed == 0) {
                status(&f, cell, "failed: " HOSTILE);
                continue;
            }
            cell_records(&f, cell, cells[c].block, seed);
            status(&f, cell, "done");
        }
    fclose(f.journal);
    /* the plan: axes, cells (without the fixture's own "fp") */
    size_t i;
    json_t *cell;
    json_array_foreach(f.cells, i, cell) json_object_del(cell, "fp");
    const char *name = kind == REPORT_FIXTURE_A ? "fixture" : kind == REPORT_FIXTURE_B
                       ? "fixture-b" : "hostile " HOSTILE;
    json_t *plan = json_pack("{s:s, s:s, s:[s,s,s,s], s:o}", "name", name,
                             "spec", kind == REPORT_FIXTURE_HOSTILE ? "specs/" HOSTILE ".yaml"
                                                                    : "specs/fixture.yaml",
                             "axes", "backbone.name", "transform.name", "transform.block_size",
                             "seed", "cells", f.cells);
    if (kind == REPORT_FIXTURE_HOSTILE)
        json_array_append_new(json_object_get(plan, "axes"), json_string("transform.label"));
    snprintf(p, sizeof p, "%s/plan.json", dir);
    if (json_dump_file(plan, p, JSON_INDENT(1) | JSON_SORT_KEYS) < 0)
        die(p);
    json_decref(plan);
}
