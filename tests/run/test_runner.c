/* The runner end to end on a tiny synthetic dataset the test writes itself:
 * the pipeline's effect, the cache, resume after SIGKILL, shards, and failing
 * cells that keep the finished ones. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <keybench/journal.h>
#include <keybench/runner.h>
#include <keybench/secret.h>

#include "run_helpers.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/kbrunXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/data", dir);
    mkdir(p, 0755);
    write_idx_pair(p, "train", 480, 1);
    write_idx_pair(p, "t10k", 200, 2);
    snprintf(p, sizeof p, "%s/lab.key", dir);
    write_test_key(p);   /* wrong-key accuracies depend on the key: one key, every run */
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(runner, .init = setup, .fini = teardown, .timeout = 120);

static void write_spec_epochs(const char *name, const char *extra_dataset, int ft_epochs)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s.yaml", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "name: %s\n"
            "key: lab.key\n"
            "dataset:\n"
            "  - {name: idx, path: data}\n"
            "%s"
            "splits:\n"
            "  pretrain: {fraction: 1.0}\n"
            "  finetune: {fraction: 0.5}\n"
            "  attacker: {count: 40}\n"
            "  test: {fraction: 1.0}\n"
            "backbone: {name: mlp, hidden: 64, depth: 1}\n"
            "transform:\n"
            "  - none\n"
            "  - {name: block_scramble, block_size: 4}\n"
            "  - {name: negpos, block_size: 2, bits: uniform}\n"
            "seed: 0\n"
            "pretrain: {epochs: 3, batch_size: 32, lr: 0.05}\n"
            "finetune: {epochs: %d, batch_size: 32, lr: 0.05}\n"
            "evaluate: {wrong_keys: 4, batch_size: 64}\n",
            name, extra_dataset ? extra_dataset : "", ft_epochs);
    fclose(f);
}

static void write_spec(const char *name, const char *extra_dataset)
{
    write_spec_epochs(name, extra_dataset, 6);
}

static int run(const char *spec, const char *run_dir, int k, int n)
{
    char sp[256], rd[256];
    snprintf(sp, sizeof sp, "%s/%s.yaml", dir, spec);
    snprintf(rd, sizeof rd, "%s/%s", dir, run_dir);
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = sp;
    o.run_dir = rd;
    o.quiet = true;
    o.summary = false;
    o.shard_k = k;
    o.shard_n = n;
    o.threads = 1;
    struct kb_error err = {0};
    int failed = -1;
    cr_assert_eq(kb_run(&o, &failed, &err), 0, "%s", err.msg);
    return failed;
}

/* results.csv without its volatile columns: run_dir (the first) and wall_s. */
static char *results_masked(const char *run_dir)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s/results.csv", dir, run_dir);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s missing", p);
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    char line[8192];
    int wall_col = -1;
    while (fgets(line, sizeof line, f)) {
        int col = 0;
        bool quoted = false;
        for (char *c = line; *c; c++) {
            if (*c == '"')
                quoted = !quoted;
            if (wall_col < 0 && !quoted && *c == ',' && !strncmp(c + 1, "wall_s,", 7))
                wall_col = col + 1;
            bool skip = col == wall_col || col == 0;
            if (!quoted && *c == ',')
                col++;
            if (!skip && n + 2 < cap)
                out[n++] = *c;
        }
    }
    out[n] = '\0';
    fclose(f);
    return out;
}

/* The accuracy of a cell (by transform name) and condition from results.csv. */
static double accuracy(const char *run_dir, const char *transform, const char *condition)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s/summary.csv", dir, run_dir);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    char line[4096];
    int col = !strcmp(condition, "unprotected") ? 4 : !strcmp(condition, "correct_key") ? 5
              : !strcmp(condition, "plain")     ? 6
                                                : 7;
    double v = -1;
    while (fgets(line, sizeof line, f)) {
        char *fields[10] = {0};
        int nf = 0;
        for (char *tok = strtok(line, ",\n"); tok && nf < 10; tok = strtok(NULL, ",\n"))
            fields[nf++] = tok;
        if (nf > col && !strcmp(fields[3], transform))
            v = atof(fields[col]);
    }
    fclose(f);
    return v;
}

static size_t count_records(const char *run_dir, const char *type, const char *stage)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s/journal.jsonl", dir, run_dir);
    json_t *recs;
    struct kb_error err = {0};
    cr_assert_eq(kb_journal_read(&recs, p, NULL, &err), 0, "%s", err.msg);
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        if (strcmp(json_string_value(json_object_get(r, "type")), type))
            continue;
        if (stage && strcmp(json_string_value(json_object_get(r, "stage")), stage))
            continue;
        n++;
    }
    json_decref(recs);
    return n;
}

Test(runner, pipeline_protects_and_rerun_trains_nothing)
{
    write_spec("s", NULL);
    cr_assert_eq(run("s", "r1", 1, 1), 0);
    double unprot = accuracy("r1", "block_scramble", "unprotected");
    double correct = accuracy("r1", "block_scramble", "correct_key");
    double wrong = accuracy("r1", "block_scramble", "wrong_key");
    cr_assert_gt(unprot, 0.9, "unprotected %f", unprot);
    cr_assert_gt(correct, 0.8, "correct key %f", correct);
    cr_assert_lt(wrong, 0.5, "wrong key %f (chance 0.25)", wrong);
    /* one pretraining serves all three cells; three fine-tunings */
    cr_assert_eq(count_records("r1", "timing", "pretrain"), 1);
    cr_assert_eq(count_records("r1", "timing", "protect"), 3);
    cr_assert_eq(count_records("r1", "cell_done", NULL), 3);
    char *before = results_masked("r1");

    /* rerun: every cell is done, nothing runs */
    cr_assert_eq(run("s", "r1", 1, 1), 0);
    cr_assert_eq(count_records("r1", "cell_done", NULL), 3);

    /* forget the statuses: cells run again but every checkpoint comes from the cache */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm %s/r1/cells/*/status", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(run("s", "r1", 1, 1), 0);
    cr_assert_eq(count_records("r1", "cell_done", NULL), 6);
    cr_assert_eq(count_records("r1", "timing", "pretrain"), 1, "pretrain ran again");
    cr_assert_eq(count_records("r1", "timing", "protect"), 3, "protect ran again");
    char *after = results_masked("r1");
    cr_assert_str_eq(before, after, "cached checkpoints must give the same results");
    free(before);
    free(after);
}

Test(runner, killed_run_resumes_to_the_same_results)
{
    /* long enough fine-tuning that the kill lands inside a cell */
    write_spec_epochs("s", NULL, 150);
    run("s", "ref", 1, 1);
    char journal[256];
    snprintf(journal, sizeof journal, "%s/killed/journal.jsonl", dir);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        char sp[256], rd[256];
        snprintf(sp, sizeof sp, "%s/s.yaml", dir);
        snprintf(rd, sizeof rd, "%s/killed", dir);
        struct kb_run_options o = kb_run_options_default();
        o.spec_path = sp, o.run_dir = rd, o.quiet = true, o.summary = false, o.threads = 1;
        struct kb_error err;
        int failed;
        _exit(kb_run(&o, &failed, &err) < 0 ? 1 : 0);
    }
    /* kill it in the middle of the second cell */
    for (int i = 0; i < 6000; i++) {
        struct stat st;
        if (stat(journal, &st) == 0 && count_records("killed", "cell_done", NULL) >= 1)
            break;
        usleep(5000);
    }
    usleep(20000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    size_t done_before = count_records("killed", "cell_done", NULL);
    cr_assert_lt(done_before, 3, "the kill came too late to test anything");
    run("s", "killed", 1, 1);
    char *a = results_masked("ref"), *b = results_masked("killed");
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
}

Test(runner, shards_merge_to_one_run)
{
    write_spec("s", NULL);
    run("s", "one", 1, 1);
    run("s", "sharded", 1, 2);
    run("s", "sharded", 2, 2);
    char rd[256];
    snprintf(rd, sizeof rd, "%s/sharded", dir);
    const char *runs[1] = { rd };
    struct kb_error err = {0};
    cr_assert_eq(kb_report_csv(rd, runs, 1, &err), 0, "%s", err.msg);
    char *a = results_masked("one"), *b = results_masked("sharded");
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
}

Test(runner, missing_dataset_fails_its_cells_and_keeps_the_rest)
{
    write_spec("s", "  - {name: idx, path: nowhere}\n");
    int failed = run("s", "r", 1, 1);
    cr_assert_eq(failed, 3, "the three cells of the missing dataset fail");
    cr_assert_eq(count_records("r", "cell_done", NULL), 3);
    cr_assert_eq(count_records("r", "cell_failed", NULL), 3);
    /* the failure names the file */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "grep -l 'nowhere' %s/r/cells/*/status | wc -l | grep -qx 3", dir);
    cr_assert_eq(system(cmd), 0, "each failed cell's status names the missing path");
    cr_assert_gt(accuracy("r", "block_scramble", "correct_key"), 0.8);
}

Test(runner, corrupt_dataset_is_one_clear_error)
{
    write_spec("s", NULL);
    char p[256];
    snprintf(p, sizeof p, "%s/data/train-labels-idx1-ubyte", dir);
    cr_assert_eq(truncate(p, 100), 0);
    int failed = run("s", "r", 1, 1);
    cr_assert_eq(failed, 3);
    snprintf(p, sizeof p, "grep -q 'train-labels-idx1-ubyte' %s/r/cells/*/status", dir);
    cr_assert_eq(system(p), 0);
}

Test(runner, bad_shard_and_bad_spec_are_setup_errors)
{
    write_spec("s", NULL);
    char sp[256];
    snprintf(sp, sizeof sp, "%s/s.yaml", dir);
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = sp;
    o.shard_k = 3;
    o.shard_n = 2;
    struct kb_error err = {0};
    int failed;
    cr_assert_eq(kb_run(&o, &failed, &err), -1);
    cr_assert(strstr(err.msg, "--shard"), "%s", err.msg);
    o.shard_k = 1;
    o.shard_n = 1;
    const char *ovr[] = { "finetune.epochz=3" };
    o.overrides = ovr;
    o.n_overrides = 1;
    cr_assert_eq(kb_run(&o, &failed, &err), -1);
    cr_assert(strstr(err.msg, "epochz"), "%s", err.msg);
}

static size_t count_csv(const char *run_dir, const char *needle)
{
    char p[256], line[8192];
    snprintf(p, sizeof p, "%s/%s/results.csv", dir, run_dir);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static int run_ovr(const char *spec, const char *run_dir, const char *const *ovr, size_t n_ovr,
                   struct kb_error *err)
{
    char sp[256], rd[256];
    snprintf(sp, sizeof sp, "%s/%s.yaml", dir, spec);
    snprintf(rd, sizeof rd, "%s/%s", dir, run_dir);
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = sp, o.run_dir = rd, o.quiet = true, o.summary = false, o.threads = 1;
    o.overrides = ovr, o.n_overrides = n_ovr;
    int failed = -1;
    return kb_run(&o, &failed, err) < 0 ? -1 : failed;
}

Test(runner, a_changed_spec_replaces_the_old_cells_in_the_results)
{
    write_spec("s", NULL);
    run("s", "r", 1, 1);
    cr_assert_eq(count_csv("r", ",correct_key,accuracy,"), 3);
    /* not an axis, but part of every cell: three new cells */
    const char *ovr[] = { "evaluate.wrong_keys=2" };
    struct kb_error err = {0};
    cr_assert_eq(run_ovr("s", "r", ovr, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(count_csv("r", ",correct_key,accuracy,"), 3, "old cells are still reported");
    cr_assert_eq(count_csv("r", ",wrong_key,accuracy,"), 2);
}

Test(runner, another_master_key_is_refused_in_a_used_run_dir)
{
    write_spec("s", NULL);
    run("s", "r", 1, 1);
    char p[256];
    snprintf(p, sizeof p, "%s/other.key", dir);
    struct kb_error err = {0};
    cr_assert_eq(kb_secret_generate_file(p, &err), 0, "%s", err.msg);
    char o_key[300];
    snprintf(o_key, sizeof o_key, "key=%s", p);
    const char *ovr[] = { o_key };
    cr_assert_eq(run_ovr("s", "r", ovr, 1, &err), -1);
    cr_assert(strstr(err.msg, "another master key"), "%s", err.msg);
}

Test(runner, a_key_space_of_one_key_has_no_wrong_keys)
{
    /* one 16×16 block: block scrambling has 1! = 1 key */
    write_spec("s", NULL);
    const char *ovr[] = { "transform=[{name: block_scramble, block_size: 16}]" };
    struct kb_error err = {0};
    cr_assert_eq(run_ovr("s", "r", ovr, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(count_csv("r", ",wrong_key,accuracy,"), 0);
    cr_assert_eq(count_csv("r", ",wrong_key,no_other_key,"), 1);
}
