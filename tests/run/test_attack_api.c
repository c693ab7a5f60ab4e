/* The harness side of the attack ABI, through the test_probe attack
 * (tests/run/probe_attack.c) in a real run: what it measures through
 * keybench/attack.h must agree with what the runner measured itself, and a
 * cell whose transform cannot give an attack what it needs is refused before
 * anything runs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include <keybench/journal.h>
#include <keybench/runner.h>

#include "run_helpers.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/kbattXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/data", dir);
    mkdir(p, 0755);
    write_idx_pair(p, "train", 400, 1);
    write_idx_pair(p, "t10k", 120, 2);
    snprintf(p, sizeof p, "%s/lab.key", dir);
    write_test_key(p);   /* the assertions compare keys' accuracies: one key, every run */
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(attack_api, .init = setup, .fini = teardown, .timeout = 120);

static int run_spec(const char *transforms, struct kb_error *err)
{
    char p[256];
    snprintf(p, sizeof p, "%s/s.yaml", dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "name: s\n"
            "key: lab.key\n"
            "plugin_path: %s/tests/run\n"
            "dataset: {name: idx, path: data}\n"
            "splits: {finetune: {fraction: 0.5}, attacker: {count: 60}}\n"
            "backbone: {name: mlp, hidden: 32, depth: 1}\n"
            "transform: %s\n"
            "pretrain: {epochs: 2, batch_size: 32}\n"
            "finetune: {epochs: 3, batch_size: 32, lr: 0.05}\n"
            "evaluate: {wrong_keys: 1}\n"
            "attacks: [test_probe]\n",
            getenv("KEYBENCH_BUILD_ROOT"), transforms);
    fclose(f);
    char rd[256];
    snprintf(rd, sizeof rd, "%s/run", dir);
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = p, o.run_dir = rd, o.quiet = true, o.summary = false, o.threads = 1;
    int failed = -1;
    if (kb_run(&o, &failed, err) < 0)
        return -1;
    return failed;
}

/* value of the (condition, metric) measurement */
static double value(const json_t *recs, const char *condition, const char *metric)
{
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        if (!strcmp(json_string_value(json_object_get(r, "type")), "measurement") &&
            !strcmp(json_string_value(json_object_get(r, "condition")), condition) &&
            !strcmp(json_string_value(json_object_get(r, "metric")), metric))
            return json_number_value(json_object_get(r, "value"));
    }
    cr_assert_fail("no %s/%s in the journal", condition, metric);
    return NAN;
}

Test(attack_api, the_probe_sees_what_the_runner_measured)
{
    struct kb_error err = {0};
    cr_assert_eq(run_spec("{name: block_scramble, block_size: 4}", &err), 0, "%s", err.msg);
    char p[256];
    snprintf(p, sizeof p, "%s/run/journal.jsonl", dir);
    json_t *recs;
    cr_assert_eq(kb_journal_read(&recs, p, NULL, &err), 0, "%s", err.msg);
    cr_assert_float_eq(value(recs, "attack:test_probe", "accuracy_true_key"),
                       value(recs, "correct_key", "accuracy"), 1e-12);
    cr_assert_float_eq(value(recs, "attack:test_probe", "accuracy_plain"), value(recs, "plain", "accuracy"),
                       1e-12);
    cr_assert_float_eq(value(recs, "attack:test_probe", "agreement_true"), 1.0, 1e-12);
    cr_assert_lt(value(recs, "attack:test_probe", "agreement_random"), 1.0);
    cr_assert_lt(value(recs, "attack:test_probe", "accuracy_random_key"),
                 value(recs, "correct_key", "accuracy"));
    cr_assert_lt(value(recs, "attack:test_probe", "batch01_vs_batch"), 1e-5);
    cr_assert_float_eq(value(recs, "attack:test_probe", "prefix_classes"), 4.0, 1e-12);
    cr_assert_float_eq(value(recs, "attack:test_probe", "n_attacker"), 60.0, 1e-12);
    cr_assert_gt(value(recs, "attack:test_probe", "accuracy_scratch"), 0.0);
    json_decref(recs);
}

Test(attack_api, an_attack_that_needs_a_key_refuses_none_before_running)
{
    struct kb_error err = {0};
    cr_assert_eq(run_spec("[none]", &err), -1);
    cr_assert(strstr(err.msg, "test_probe") && strstr(err.msg, "keyed transform"), "%s", err.msg);
    char p[256];
    snprintf(p, sizeof p, "%s/run/journal.jsonl", dir);
    struct stat st;
    cr_assert_neq(stat(p, &st), 0, "nothing may run");
}

/* An attack listed twice (with other parameters) keeps both instances apart
 * in the CSV: variant "#1", "#2". */
Test(attack_api, an_attack_listed_twice_keeps_both_results)
{
    char p[256];
    snprintf(p, sizeof p, "%s/s.yaml", dir);
    struct kb_error err = {0};
    cr_assert_eq(run_spec("{name: block_scramble, block_size: 4}", &err), 0, "%s", err.msg);
    /* the same cells with the attack listed twice, into another run dir */
    char rd[256];
    snprintf(rd, sizeof rd, "%s/run2", dir);
    struct kb_run_options o = kb_run_options_default();
    const char *ovr[] = { "attacks=[{name: wrong_key, keys: 2}, {name: wrong_key, keys: 3}]" };
    o.spec_path = p, o.run_dir = rd, o.quiet = true, o.summary = false, o.threads = 1;
    o.overrides = ovr, o.n_overrides = 1;
    int failed = -1;
    cr_assert_eq(kb_run(&o, &failed, &err), 0, "%s", err.msg);
    cr_assert_eq(failed, 0);
    snprintf(p, sizeof p, "grep -c ',attack:wrong_key,accuracy,,#[12],' %s/results.csv | "
             "grep -qx 2", rd);
    cr_assert_eq(system(p), 0, "both instances of the attack must be in results.csv");
}
