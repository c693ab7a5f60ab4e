/* The pgd attack end to end through kb_run on tiny synthetic data: PGD
 * lowers the accuracy of an unprotected model (transform none) far below its
 * clean accuracy, and a zero radius changes nothing. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "../run/run_helpers.h"
#include <keybench/journal.h>
#include <keybench/runner.h>

/* An attack's condition is "attack:NAME"; compare by NAME. */
static const char *cond_name(const char *c)
{
    return c && !strncmp(c, "attack:", 7) ? c + 7 : c;
}

static char dir[64];

/* 4 classes: class k is brighter in quadrant k (60 over noise 0..119). */
static int pgd_pixel(void *ctx, uint32_t i, uint32_t label, int y, int x, uint32_t *noise)
{
    (void)ctx, (void)i;
    int q = (y >= 8) * 2 + (x >= 8);
    return (int)(test_noise(noise) % 120) + (q == (int)label ? 60 : 0);
}

static void setup(void)
{
    strcpy(dir, "/tmp/kbpgdXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/data", dir);
    mkdir(p, 0755);
    write_idx_fn(p, "train", 400, 4, 1, pgd_pixel, NULL);
    write_idx_fn(p, "t10k", 100, 4, 2, pgd_pixel, NULL);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(pgd, .init = setup, .fini = teardown, .timeout = 120);

static json_t *run_pgd(const char *attack)
{
    char p[256];
    snprintf(p, sizeof p, "%s/s.yaml", dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f, "name: s\n"
               "dataset: {name: idx, path: data}\n"
               "splits: {finetune: {fraction: 0.5}, attacker: {count: 40}}\n"
               "backbone: {name: mlp, hidden: 32, depth: 1}\n"
               "transform: [none]\n"
               "pretrain: {epochs: 4, batch_size: 32, lr: 0.05}\n"
               "finetune: {epochs: 2, batch_size: 32, lr: 0.05}\n"
               "evaluate: {wrong_keys: 1}\n"
               "attacks: [%s]\n",
            attack);
    fclose(f);
    char rd[256];
    snprintf(rd, sizeof rd, "%s/run", dir);
    return run_spec_journal(p, rd);
}

static double value(const json_t *recs, const char *metric)
{
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *cnd = cond_name(json_string_value(json_object_get(r, "condition")));
        const char *mt = json_string_value(json_object_get(r, "metric"));
        if (t && cnd && mt && !strcmp(t, "measurement") && !strcmp(cnd, "pgd") &&
            !strcmp(mt, metric))
            return json_number_value(json_object_get(r, "value"));
    }
    cr_assert_fail("no pgd/%s in the journal", metric);
    return NAN;
}

Test(pgd, lowers_the_accuracy_of_an_unprotected_model)
{
    json_t *recs = run_pgd("{name: pgd, eps: 0.1, steps: 10, step: 0.025, images: 80}");
    double clean = value(recs, "clean_accuracy_whitebox");
    double robust = value(recs, "robust_accuracy_whitebox");
    double robust_plain = value(recs, "robust_accuracy_plain");
    cr_log_info("clean %.3f robust %.3f (plain %.3f)", clean, robust, robust_plain);
    cr_assert_gt(clean, 0.7, "the model must learn the task first (clean %.3f)", clean);
    cr_assert_lt(robust, clean - 0.4, "robust %.3f vs clean %.3f", robust, clean);
    /* without a transform, the key and plain settings are the same images */
    cr_assert_float_eq(value(recs, "clean_accuracy_plain"), clean, 1e-12);
    cr_assert_lt(robust_plain, clean - 0.4);
    json_decref(recs);
}

Test(pgd, zero_radius_changes_nothing)
{
    json_t *recs = run_pgd("{name: pgd, eps: 0, steps: 3, step: 0.025, images: 40}");
    cr_assert_float_eq(value(recs, "robust_accuracy_whitebox"),
                       value(recs, "clean_accuracy_whitebox"), 1e-12);
    json_decref(recs);
}
