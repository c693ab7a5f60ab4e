/* The key attacks (plain, wrong_key, brute_force, fine_tune, key_estimation)
 * end to end through kb_run on tiny synthetic IDX datasets the test writes
 * itself: key estimation recovers a key from a tiny key space and not from
 * a large one, brute force reports the key-space size, wrong keys are near
 * chance, and fine-tuning on enough plain data restores accuracy. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../run/run_helpers.h"
#include <keybench/journal.h>
#include <keybench/runner.h>

static char dir[64];
static json_t *recs;

enum data_kind {
    /* class k (of 16) is bright in block k of the 4×4 grid of 4×4 blocks: a
     * cue that moving blocks moves to another class */
    DATA_BLOCK = 0,
    /* class k (of 16): in every 2×2 cell, position q (row-major) is bright
     * iff bit q of k is set. A wrong negpos bit q maps class k exactly onto
     * class k XOR 2^q, so only the true key classifies a batch well */
    DATA_CELL = 1
};

/* 16 classes, plus noise (see enum data_kind). */
static int key_pixel(void *ctx, uint32_t i, uint32_t label, int y, int x, uint32_t *noise)
{
    (void)i;
    enum data_kind kind = *(const enum data_kind *)ctx;
    bool bright = kind == DATA_BLOCK ? (uint32_t)((y / 4) * 4 + x / 4) == label
                                     : (label >> ((y % 2) * 2 + x % 2)) & 1;
    return (int)(test_noise(noise) % 90) + (bright ? 150 : 0);
}

static void write_idx_pair_kind(const char *data_dir, const char *prefix, uint32_t n,
                                uint32_t seed, enum data_kind kind)
{
    write_idx_fn(data_dir, prefix, n, 16, seed, key_pixel, &kind);
}

static void setup(void)
{
    strcpy(dir, "/tmp/kbkaXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char p[256];
    /* a fixed master secret (KA_KEY_SEED=k picks another): the same keys,
     * hence the same results, on every run */
    snprintf(p, sizeof p, "%s/lab.key", dir);
    uint8_t secret[32];
    const char *ks = getenv("KA_KEY_SEED");
    uint32_t k = ks ? (uint32_t)strtoul(ks, NULL, 10) : 1;
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)((k * 2654435761u) >> (i % 4 * 8)) ^ (uint8_t)(i * 37 + k);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, secret, sizeof secret), (ssize_t)sizeof secret);
    close(fd);
    recs = NULL;
}

static void teardown(void)
{
    json_decref(recs);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(key_attacks, .init = setup, .fini = teardown, .timeout = 240);

static void make_data(enum data_kind kind)
{
    char p[256];
    snprintf(p, sizeof p, "%s/data", dir);
    mkdir(p, 0755);
    write_idx_pair_kind(p, "train", 480, 1, kind);
    write_idx_pair_kind(p, "t10k", 200, 2, kind);
}

/* Write the spec (transforms and attacks as YAML flow text) to sp; options
 * that run it into DIR/run. */
static struct kb_run_options write_spec(char *sp, size_t size, char *rd, size_t rd_size,
                                        const char *transforms, const char *attacks)
{
    snprintf(sp, size, "%s/s.yaml", dir);
    snprintf(rd, rd_size, "%s/run", dir);
    FILE *f = fopen(sp, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "name: ka\n"
            "key: lab.key\n"
            "dataset:\n"
            "  - {name: idx, path: data}\n"
            "splits:\n"
            "  pretrain: {fraction: 1.0}\n"
            "  finetune: {fraction: 0.5}\n"
            "  attacker: {count: 200}\n"
            "  test: {fraction: 1.0}\n"
            "backbone: {name: mlp, hidden: 64, depth: 1}\n"
            "transform: %s\n"
            "seed: 0\n"
            "pretrain: {epochs: 3, batch_size: 32, lr: 0.05}\n"
            "finetune: {epochs: 6, batch_size: 32, lr: 0.05}\n"
            "evaluate: {wrong_keys: 0, batch_size: 64}\n"
            "attacks: %s\n",
            transforms, attacks);
    fclose(f);
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = sp;
    o.run_dir = rd;
    o.quiet = true;
    o.summary = false;
    o.threads = 1;
    return o;
}

/* The plan must be refused before anything runs: kb_run's one error line. */
static const char *run_spec_refused(const char *transforms, const char *attacks)
{
    char sp[256], rd[256];
    struct kb_run_options o = write_spec(sp, sizeof sp, rd, sizeof rd, transforms, attacks);
    static struct kb_error err;
    memset(&err, 0, sizeof err);
    int failed = -1;
    cr_assert_lt(kb_run(&o, &failed, &err), 0, "the plan ran");
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
    return err.msg;
}

/* Run the spec, load the journal into `recs`; the number of failed cells. */
static int run_spec_failed(const char *transforms, const char *attacks)
{
    char sp[256], rd[256];
    struct kb_run_options o = write_spec(sp, sizeof sp, rd, sizeof rd, transforms, attacks);
    struct kb_error err = {0};
    int failed = -1;
    cr_assert_eq(kb_run(&o, &failed, &err), 0, "%s", err.msg);
    char jp[300];
    snprintf(jp, sizeof jp, "%s/journal.jsonl", rd);
    cr_assert_eq(kb_journal_read(&recs, jp, NULL, &err), 0, "%s", err.msg);
    if (getenv("KA_DUMP")) {   /* KA_DUMP=1: print the measurements */
        size_t i;
        json_t *r;
        json_array_foreach(recs, i, r) {
            const char *type = json_string_value(json_object_get(r, "type"));
            if (!type || strcmp(type, "measurement"))
                continue;
            json_t *bs = json_object_get(json_object_get(r, "transform_params"), "block_size");
            fprintf(stderr, "%s/%lld %s %s = %g (n %lld)\n",
                    json_string_value(json_object_get(r, "transform")),
                    (long long)json_integer_value(bs),
                    cond_name(json_string_value(json_object_get(r, "condition"))),
                    json_string_value(json_object_get(r, "metric")),
                    json_number_value(json_object_get(r, "value")),
                    (long long)json_integer_value(json_object_get(r, "n")));
        }
    }
    return failed;
}

static void run_spec(const char *transforms, const char *attacks)
{
    int failed = run_spec_failed(transforms, attacks);
    if (failed != 0) {
        /* say which cell failed and why */
        size_t i;
        json_t *r;
        json_array_foreach(recs, i, r) {
            char *s = json_dumps(r, JSON_COMPACT);
            if (strstr(s, "fail") || strstr(s, "error"))
                fprintf(stderr, "%s\n", s);
            free(s);
        }
    }
    cr_assert_eq(failed, 0, "%d cells failed", failed);
}

/* The error of the (only) failed cell. */
static const char *cell_error(void)
{
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *type = json_string_value(json_object_get(r, "type"));
        if (type && !strcmp(type, "cell_failed"))
            return json_string_value(json_object_get(r, "error"));
    }
    cr_assert_fail("no cell_failed record");
    return NULL;
}

/* The measurement of a cell (by transform name and block size; 0 = any),
 * condition and metric, with extra field "n" == n_extra when n_extra >= 0. */
static const json_t *find(const char *transform, int block_size, const char *condition,
                          const char *metric, long long n_extra)
{
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *type = json_string_value(json_object_get(r, "type"));
        if (!type || strcmp(type, "measurement"))
            continue;
        if (strcmp(json_string_value(json_object_get(r, "transform")), transform) ||
            strcmp(cond_name(json_string_value(json_object_get(r, "condition"))), condition) ||
            strcmp(json_string_value(json_object_get(r, "metric")), metric))
            continue;
        if (block_size) {
            json_t *tp = json_object_get(r, "transform_params");
            json_t *bs = json_is_object(tp) ? json_object_get(tp, "block_size") : NULL;
            if (!bs || json_integer_value(bs) != block_size)
                continue;
        }
        if (n_extra >= 0 && json_integer_value(json_object_get(r, "train_images")) != n_extra)
            continue;
        return r;
    }
    cr_assert_fail("no measurement %s/%d %s %s", transform, block_size, condition, metric);
    return NULL;
}

static double value(const char *transform, int block_size, const char *condition,
                    const char *metric)
{
    return json_number_value(json_object_get(find(transform, block_size, condition, metric, -1),
                                             "value"));
}

Test(key_attacks, tiny_key_space_is_recovered_and_brute_force_counts_it)
{
    make_data(DATA_CELL);
    run_spec("[{name: negpos, block_size: 1, bits: uniform},"
             " {name: negpos, block_size: 2, bits: uniform},"
             " {name: negpos, block_size: 4, bits: fixed}]",
             "[{name: key_estimation, budget: 200, sweeps: 2, batch: 64},"
             " {name: brute_force, batch: 64, repeats: 2}]");
    /* block 1 (2 keys) and block 2 (16 keys): random search finds THE key */
    for (int bs = 1; bs <= 2; bs++) {
        double correct = value("negpos", bs, "correct_key", "accuracy");
        cr_assert_gt(correct, 0.9, "block %d: the protected model itself is poor (%g)", bs,
                     correct);
        double ag = value("negpos", bs, "key_estimation", "key_agreement_random");
        cr_assert_float_eq(ag, 1.0, 1e-12, "block %d: agreement %g (batch accuracy %g, true key's %g)",
                           bs, ag, value("negpos", bs, "key_estimation", "batch_accuracy_random"),
                           value("negpos", bs, "key_estimation", "batch_accuracy_true_key"));
        cr_assert_float_eq(value("negpos", bs, "key_estimation", "accuracy_random"), correct,
                           1e-9, "block %d", bs);
        /* the bit-flip search: one bit is always found; with more, a start
         * two or more bits off sits on a plateau of score 0 on this data
         * (every class maps onto another), where it only drifts */
        if (bs == 1)
            cr_assert_float_eq(value("negpos", bs, "key_estimation", "key_agreement_bitflip"),
                               1.0, 1e-12);
        cr_assert_leq(value("negpos", bs, "key_estimation", "evaluations_bitflip"),
                      1 + 4.0 * 2, "at most 1 + L·sweeps evaluations");
        cr_assert_leq(value("negpos", bs, "key_estimation", "batch_accuracy_bitflip"),
                      value("negpos", bs, "key_estimation", "batch_accuracy_true_key"));
        /* the curve ends at the evaluations spent, at the best score */
        const json_t *r = find("negpos", bs, "key_estimation", "accuracy_random", -1);
        json_t *curve = json_object_get(r, "curve");
        cr_assert(json_is_array(curve) && json_array_size(curve) >= 1);
        cr_assert_leq(json_array_size(curve), 50);
        json_t *last = json_array_get(curve, json_array_size(curve) - 1);
        cr_assert_eq(json_integer_value(json_array_get(last, 0)),
                     json_integer_value(json_object_get(r, "evaluations")));
        cr_assert_float_eq(json_number_value(json_array_get(last, 1)),
                           json_number_value(json_object_get(r, "batch_accuracy")), 1e-12);
        cr_assert_leq(json_integer_value(json_object_get(r, "evaluations")), 200);
    }
    /* block 1: L = 1 bit, no pair to swap: no heuristic search in mode all */
    size_t i, heur1 = 0;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *m = json_string_value(json_object_get(r, "metric"));
        json_t *bs = json_object_get(json_object_get(r, "transform_params"), "block_size");
        heur1 += m && !strcmp(m, "accuracy_heuristic") && json_integer_value(bs) == 1;
    }
    cr_assert_eq(heur1, 0u);

    /* brute force: the key-space sizes */
    cr_assert_float_eq(value("negpos", 1, "brute_force", "keyspace_bits"), 1.0, 1e-9);
    cr_assert_float_eq(value("negpos", 2, "brute_force", "keyspace_bits"), 4.0, 1e-9);
    double c16_7 = log2(11440.0);   /* C(16, 7): 7 = ceil(16/2) - 1 ones */
    cr_assert_float_eq(value("negpos", 4, "brute_force", "keyspace_bits"), c16_7, 1e-9);
    cr_assert_float_eq(value("negpos", 4, "brute_force", "expected_trials_log2"), c16_7 - 1,
                       1e-9);
    double sec = value("negpos", 4, "brute_force", "seconds_per_trial");
    cr_assert(sec > 0 && sec < 10, "seconds per trial %g", sec);
    const json_t *bf = find("negpos", 4, "brute_force", "keyspace_bits", -1);
    cr_assert(json_is_true(json_object_get(bf, "small_key_space")));
    cr_assert(json_is_true(json_object_get(bf, "practical")), "2^12.5 tiny evaluations");
    /* the suggested random search: ceil(11440 · ln 100) draws with replacement */
    const char *how = json_string_value(json_object_get(bf, "exhaustive_search"));
    cr_assert(how && strstr(how, "budget=52684 "), "%s", how ? how : "(none)");
    cr_assert_float_eq(value("negpos", 4, "brute_force", "expected_hours_log10"),
                       (c16_7 - 1) * log10(2.0) + log10(sec) - log10(3600.0), 1e-9);
}

Test(key_attacks, large_key_space_is_not_recovered)
{
    make_data(DATA_CELL);
    run_spec("{name: pixel_shuffle, block_size: 4}",
             "[{name: key_estimation, budget: 50, sweeps: 1, batch: 32},"
             " {name: brute_force, batch: 32, repeats: 1}]");
    cr_assert_gt(value("pixel_shuffle", 4, "correct_key", "accuracy"), 0.9);
    double ag = value("pixel_shuffle", 4, "key_estimation", "key_agreement_random");
    cr_assert_lt(ag, 0.5, "random search agreement %g with 50 of 16! keys", ag);
    double ah = value("pixel_shuffle", 4, "key_estimation", "key_agreement_heuristic");
    cr_assert_lt(ah, 1.0, "one heuristic sweep agreement %g", ah);
    /* one sweep: 1 + 16·15/2 evaluations */
    cr_assert_float_eq(value("pixel_shuffle", 4, "key_estimation", "evaluations_heuristic"),
                       121.0, 1e-9);
    cr_assert(json_is_false(json_object_get(
        find("pixel_shuffle", 4, "key_estimation", "accuracy_heuristic", -1), "capped")));
    /* pixel_shuffle keys are not bits */
    size_t i, flips = 0;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *m = json_string_value(json_object_get(r, "metric"));
        flips += m && !strncmp(m, "accuracy_bitflip", 16);
    }
    cr_assert_eq(flips, 0u);
    /* log2(16!) = 44.25 bits: not practical */
    cr_assert_float_eq(value("pixel_shuffle", 4, "brute_force", "keyspace_bits"),
                       log2(20922789888000.0), 1e-6);
    const json_t *bf = find("pixel_shuffle", 4, "brute_force", "keyspace_bits", -1);
    cr_assert(json_is_false(json_object_get(bf, "small_key_space")));
}

Test(key_attacks, max_evals_caps_the_local_search)
{
    make_data(DATA_CELL);
    run_spec("{name: pixel_shuffle, block_size: 4}",
             "[{name: key_estimation, mode: heuristic, sweeps: 3, max_evals: 40, batch: 32}]");
    /* uncapped: 1 + 3·120 evaluations at most; capped at 40, and says so */
    cr_assert_float_eq(value("pixel_shuffle", 4, "key_estimation", "evaluations_heuristic"),
                       40.0, 1e-9);
    const json_t *r = find("pixel_shuffle", 4, "key_estimation", "accuracy_heuristic", -1);
    cr_assert(json_is_true(json_object_get(r, "capped")));
    cr_assert_eq(json_integer_value(json_object_get(r, "max_evals")), 40);
    json_t *curve = json_object_get(r, "curve");
    json_t *last = json_array_get(curve, json_array_size(curve) - 1);
    cr_assert_eq(json_integer_value(json_array_get(last, 0)), 40);
}

Test(key_attacks, wrong_key_plain_and_fine_tune_on_block_scramble)
{
    make_data(DATA_BLOCK);
    run_spec("{name: block_scramble, block_size: 4}",
             "[{name: plain}, {name: wrong_key, keys: 4},"
             " {name: fine_tune, sizes: \"8, 1000\"}]");
    double correct = value("block_scramble", 4, "correct_key", "accuracy");
    cr_assert_gt(correct, 0.9);
    /* wrong keys: near chance (16 classes) */
    const json_t *wk = find("block_scramble", 4, "wrong_key", "accuracy", -1);
    double wacc = json_number_value(json_object_get(wk, "value"));
    cr_assert_lt(wacc, 0.3, "wrong-key accuracy %g", wacc);
    cr_assert_eq(json_integer_value(json_object_get(wk, "keys")), 4);
    cr_assert_eq(json_integer_value(json_object_get(wk, "trials")), 4);
    cr_assert_eq(json_array_size(json_object_get(wk, "values")), 4);
    cr_assert_leq(json_number_value(json_object_get(wk, "min")), wacc);
    cr_assert_geq(json_number_value(json_object_get(wk, "max")), wacc);
    double wag = value("block_scramble", 4, "wrong_key", "key_agreement");
    cr_assert_lt(wag, 1.0);
    /* plain images on the protected model */
    double plain = value("block_scramble", 4, "plain", "accuracy");
    cr_assert_lt(plain, 0.3, "plain accuracy %g", plain);
    /* the runner's own plain evaluation and the attack's agree exactly */
    size_t i, nplain = 0;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *c = cond_name(json_string_value(json_object_get(r, "condition")));
        const char *m = json_string_value(json_object_get(r, "metric"));
        if (c && m && !strcmp(c, "plain") && !strcmp(m, "accuracy")) {
            cr_assert_float_eq(json_number_value(json_object_get(r, "value")), plain, 1e-12);
            nplain++;
        }
    }
    cr_assert_eq(nplain, 2u, "the runner's plain record and the attack's");
    /* fine-tuning: 1000 is clamped to the 200 attacker images and says so */
    const json_t *big = find("block_scramble", 4, "fine_tune", "accuracy_from_protected", 200);
    cr_assert(json_is_true(json_object_get(big, "clamped")));
    cr_assert_eq(json_integer_value(json_object_get(big, "requested")), 1000);
    double ft = json_number_value(json_object_get(big, "value"));
    cr_assert_gt(ft, 0.85, "fine-tuned accuracy %g", ft);
    cr_assert_gt(ft, plain + 0.2, "fine-tuned %g vs plain %g", ft, plain);
    const json_t *pre = find("block_scramble", 4, "fine_tune", "accuracy_from_pretrained", 200);
    const json_t *adv = find("block_scramble", 4, "fine_tune", "advantage_over_pretrained", 200);
    cr_assert_float_eq(json_number_value(json_object_get(adv, "value")),
                       ft - json_number_value(json_object_get(pre, "value")), 1e-12);
    find("block_scramble", 4, "fine_tune", "accuracy_from_scratch", 200);
    const json_t *small = find("block_scramble", 4, "fine_tune", "accuracy_from_protected", 8);
    cr_assert(json_is_false(json_object_get(small, "clamped")));
}

Test(key_attacks, a_mode_the_transform_lacks_refuses_the_plan)
{
    make_data(DATA_CELL);
    const char *e = run_spec_refused("{name: pixel_shuffle, block_size: 4}",
                                     "[{name: key_estimation, mode: bitflip, budget: 5}]");
    cr_assert(strstr(e, "key_estimation") && strstr(e, "key_flip") && strstr(e, "pixel_shuffle"),
              "%s", e);
    const char *first = strstr(e, "key_estimation");
    cr_assert_null(strstr(first + 1, "key_estimation"), "the attack named twice: %s", e);
    /* refused before anything ran: no cell trained, no journal */
    char jp[300];
    snprintf(jp, sizeof jp, "%s/run/journal.jsonl", dir);
    cr_assert_neq(access(jp, F_OK), 0, "a refused plan left %s", jp);
}

Test(key_attacks, bad_fine_tune_sizes_fail_the_cell_clearly)
{
    make_data(DATA_BLOCK);
    cr_assert_eq(run_spec_failed("{name: negpos, block_size: 2}",
                                 "[{name: fine_tune, sizes: \"10,x\"}]"), 1);
    const char *e = cell_error();
    cr_assert(strstr(e, "fine_tune") && strstr(e, "sizes") && strstr(e, "10,x"), "%s", e);
    cr_assert_null(strstr(strstr(e, "fine_tune") + 1, "fine_tune"), "the attack named twice: %s", e);
}
