/* The pgd attack end to end through kb_run on tiny synthetic data (16×16
 * gray, 4 classes, an MLP), with a fixed master secret:
 *  - PGD lowers the accuracy of an unprotected model far below its clean
 *    accuracy, and a zero radius changes nothing;
 *  - without a transform every setting sees the same images and gradients;
 *  - with a keyed transform: the white box from the plain side equals the
 *    encrypted-domain one for a permutation (no random start), eot with one
 *    fixed key is the surrogate attack, all keyed settings share one clean
 *    accuracy, and the white box does at least as well as the key-less ones;
 *  - the harness's differentiable transform (kb_attack_transform01/_vjp),
 *    probed from inside a run by a test-only attack: forward = the
 *    transform's own output, vjp = the adjoint of the forward (the probe's
 *    ops table is the one from before `check`: an older attack still loads);
 *  - bad settings refuse the plan with one line. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../run/run_helpers.h"
#include <keybench/journal.h>
#include <keybench/runner.h>

static char dir[64];

/* 4 classes: class k is brighter in quadrant k (60 over noise 0..119). */
static int pgd_pixel(void *ctx, uint32_t i, uint32_t label, int y, int x, uint32_t *noise)
{
    (void)ctx, (void)i;
    int q = (y >= 8) * 2 + (x >= 8);
    return (int)(test_noise(noise) % 120) + (q == (int)label ? 60 : 0);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void setup(void)
{
    strcpy(dir, "/tmp/kbpgdXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/data", dir);
    mkdir(p, 0755);
    write_idx_fn(p, "train", 400, 4, 1, pgd_pixel, NULL);
    write_idx_fn(p, "t10k", 100, 4, 2, pgd_pixel, NULL);
    /* a fixed master secret: the same keys, hence the same results, every run */
    snprintf(p, sizeof p, "%s/lab.key", dir);
    write_test_key(p);
    /* the probe attack, the template transform (no key_layout) and the
     * template with a broken key_layout (bad_layout) */
    const char *build = getenv("KEYBENCH_BUILD_ROOT");
    cr_assert_not_null(build);
    snprintf(p, sizeof p, "%s/plugins", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/tests/attacks/pgd_layout_probe.so", build);
    snprintf(q, sizeof q, "%s/plugins/pgd_layout_probe.so", dir);
    copy_file(p, q);
    snprintf(p, sizeof p, "%s/tests/plugin/template_xor.so", build);
    snprintf(q, sizeof q, "%s/plugins/template_xor.so", dir);
    copy_file(p, q);
    snprintf(p, sizeof p, "%s/tests/attacks/pgd_bad_layout.so", build);
    snprintf(q, sizeof q, "%s/plugins/pgd_bad_layout.so", dir);
    copy_file(p, q);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(pgd, .init = setup, .fini = teardown, .timeout = 120);

/* pretrain epochs and dataset of the next spec (write_spec resets them) */
static int pretrain_epochs = 4;
static const char *dataset = "{name: idx, path: data}";

static const char *write_spec(const char *transform, const char *attacks)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/s.yaml", dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f, "name: s\n"
               "key: lab.key\n"
               "plugin_path: plugins\n"
               "dataset: %s\n"
               "splits: {finetune: {fraction: 0.5}, attacker: {count: 40}}\n"
               "backbone: {name: mlp, hidden: 32, depth: 1}\n"
               "transform: [%s]\n"
               "pretrain: {epochs: %d, batch_size: 32, lr: 0.05}\n"
               "finetune: {epochs: %d, batch_size: 32, lr: 0.05}\n"
               "evaluate: {wrong_keys: 1}\n"
               "attacks: [%s]\n",
            dataset, transform, pretrain_epochs, pretrain_epochs ? 2 : 6, attacks);
    fclose(f);
    pretrain_epochs = 4;
    dataset = "{name: idx, path: data}";
    return p;
}

static json_t *run_pgd_on(const char *transform, const char *attack)
{
    const char *spec = write_spec(transform, attack);
    char rd[256];
    snprintf(rd, sizeof rd, "%s/run", dir);
    return run_spec_journal(spec, rd);
}

static json_t *run_pgd(const char *attack)
{
    return run_pgd_on("none", attack);
}

/* The plan must be refused: returns kb_run's error line (static). */
static const char *refused(const char *transform, const char *attack)
{
    const char *spec = write_spec(transform, attack);
    char rd[256];
    snprintf(rd, sizeof rd, "%s/refused", dir);
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = spec, o.run_dir = rd, o.quiet = true, o.summary = false, o.threads = 1;
    int failed = -1;
    static struct kb_error err;
    memset(&err, 0, sizeof err);
    cr_assert_lt(kb_run(&o, &failed, &err), 0, "the plan ran: transform %s, attack %s",
                 transform, attack);
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
    cr_log_info("%s", err.msg);
    return err.msg;
}

static double value(const json_t *recs, const char *metric)
{
    return journal_value(recs, "pgd", metric);
}

Test(pgd, lowers_the_accuracy_of_an_unprotected_model)
{
    json_t *recs = run_pgd("{name: pgd, eps: 0.1, steps: 10, step: 0.025, images: 80, "
                           "settings: \"whitebox, plain, transfer\"}");
    double clean = value(recs, "clean_accuracy_whitebox");
    double robust = value(recs, "robust_accuracy_whitebox");
    double robust_plain = value(recs, "robust_accuracy_plain");
    double transfer = value(recs, "robust_accuracy_transfer");
    cr_log_info("clean %.3f robust %.3f (plain %.3f, transfer %.3f)", clean, robust, robust_plain,
                transfer);
    cr_assert_gt(clean, 0.7, "the model must learn the task first (clean %.3f)", clean);
    cr_assert_lt(robust, clean - 0.4, "robust %.3f vs clean %.3f", robust, clean);
    /* without a transform, the key and plain settings are the same images */
    cr_assert_float_eq(value(recs, "clean_accuracy_plain"), clean, 1e-12);
    cr_assert_lt(robust_plain, clean - 0.4);
    /* the protected model was fine-tuned from the pretrained one: it transfers */
    cr_assert_float_eq(value(recs, "clean_accuracy_transfer"), clean, 1e-12);
    cr_assert_lt(transfer, clean - 0.2, "transfer %.3f vs clean %.3f", transfer, clean);
    json_decref(recs);
}

/* transfer differentiates the PRETRAINED model: with no pretraining (its
 * weights are the random init) and a protected model that learnt the task in
 * fine-tuning, its gradient is noise, and the attack barely transfers, while
 * the protected model's own gradient (plain, on the same images) breaks it. */
Test(pgd, transfer_differentiates_the_pretrained_model)
{
    pretrain_epochs = 0;
    json_t *recs = run_pgd("{name: pgd, eps: 0.1, steps: 10, step: 0.025, images: 80, "
                           "settings: \"plain, transfer\"}");
    double clean = value(recs, "clean_accuracy_transfer");
    double plain = value(recs, "robust_accuracy_plain");
    double transfer = value(recs, "robust_accuracy_transfer");
    cr_log_info("clean %.3f plain %.3f transfer from an untrained model %.3f", clean, plain,
                transfer);
    cr_assert_gt(clean, 0.7, "the protected model must learn the task (clean %.3f)", clean);
    cr_assert_lt(plain, clean - 0.4, "plain %.3f vs clean %.3f", plain, clean);
    cr_assert_gt(transfer, plain + 0.3, "transfer %.3f vs plain %.3f", transfer, plain);
    json_decref(recs);
}

Test(pgd, zero_radius_changes_nothing)
{
    json_t *recs = run_pgd("{name: pgd, eps: 0, steps: 3, step: 0.025, images: 40, "
                           "settings: \"whitebox,surrogate,eot\"}");
    cr_assert_float_eq(value(recs, "robust_accuracy_whitebox"),
                       value(recs, "clean_accuracy_whitebox"), 1e-12);
    cr_assert_float_eq(value(recs, "robust_accuracy_surrogate"),
                       value(recs, "clean_accuracy_surrogate"), 1e-12);
    cr_assert_float_eq(value(recs, "robust_accuracy_eot"), value(recs, "clean_accuracy_eot"),
                       1e-12);
    json_decref(recs);
}

/* `none` has one key, the identity: every setting that goes through a key
 * sees the plain images and the plain gradient (eot's sum of 3 identical
 * gradients has the same sign), from the same random starts. */
Test(pgd, without_a_transform_every_setting_is_the_plain_attack)
{
    json_t *recs = run_pgd("{name: pgd, eps: 0.1, steps: 10, step: 0.025, images: 60, "
                           "settings: \"plain,whitebox,whitebox_plain,surrogate,eot\", "
                           "eot_keys: 3}");
    double plain = value(recs, "robust_accuracy_plain");
    cr_assert_lt(plain, value(recs, "clean_accuracy_plain"));
    static const char *const same[] = { "whitebox", "whitebox_plain", "surrogate", "eot" };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        char m[64];
        snprintf(m, sizeof m, "robust_accuracy_%s", same[i]);
        cr_assert_float_eq(value(recs, m), plain, 1e-12, "%s %.4f vs plain %.4f", same[i],
                           value(recs, m), plain);
    }
    json_decref(recs);
}

Test(pgd, keyed_transform_settings)
{
    json_t *recs = run_pgd_on(
        "{name: pixel_shuffle, block_size: 4}",
        "{name: pgd, eps: 0.1, steps: 10, step: 0.025, images: 80, random_start: false, "
        "settings: \"whitebox,whitebox_plain,surrogate,eot,transfer\", eot_keys: 1, "
        "eot_resample: false}");
    double clean = value(recs, "clean_accuracy_whitebox");
    double wb = value(recs, "robust_accuracy_whitebox");
    double wbp = value(recs, "robust_accuracy_whitebox_plain");
    double sur = value(recs, "robust_accuracy_surrogate");
    double tr = value(recs, "robust_accuracy_transfer");
    cr_log_info("clean %.3f whitebox %.3f whitebox_plain %.3f surrogate %.3f eot %.3f "
                "transfer %.3f", clean, wb, wbp, sur, value(recs, "robust_accuracy_eot"), tr);
    cr_assert_gt(clean, 0.7, "the protected model must learn the task (clean %.3f)", clean);
    /* every keyed setting is scored on the true key's images */
    static const char *const keyed[] = { "whitebox_plain", "surrogate", "eot", "transfer" };
    for (size_t i = 0; i < sizeof keyed / sizeof *keyed; i++) {
        char m[64];
        snprintf(m, sizeof m, "clean_accuracy_%s", keyed[i]);
        cr_assert_float_eq(value(recs, m), clean, 1e-12, "%s", m);
    }
    /* a permutation: PGD on the plain side through T is PGD on the ciphertext */
    cr_assert_float_eq(wbp, wb, 1e-12, "whitebox_plain %.4f vs whitebox %.4f", wbp, wb);
    cr_assert_lt(wb, clean - 0.4);
    /* one key drawn once: eot is the surrogate attack */
    cr_assert_float_eq(value(recs, "robust_accuracy_eot"), sur, 1e-12);
    /* the key helps */
    cr_assert_leq(wb, sur);
    cr_assert_leq(wb, tr);
    json_decref(recs);
}

/* NP and block scrambling with every step are also attacked through the
 * plain side; FFX only with BPDA (weaker than its encrypted-domain white box
 * is allowed, but it must still run and not raise the accuracy above clean). */
Test(pgd, whitebox_plain_through_negations_and_tables)
{
    json_t *recs = run_pgd_on(
        "{name: negpos, block_size: 4}, "
        "{name: block_scramble, block_size: 4, rotate: true, flip: true, negpos: true}, "
        "{name: ffx, block_size: 4, password: pw}",
        "{name: pgd, eps: 0.1, steps: 8, step: 0.025, images: 60, "
        "settings: \"whitebox,whitebox_plain\"}");
    size_t i;
    json_t *r;
    int seen = 0;
    json_array_foreach(recs, i, r) {
        const char *mt = json_string_value(json_object_get(r, "metric"));
        if (!mt || strcmp(mt, "robust_accuracy_whitebox_plain"))
            continue;
        double robust = json_number_value(json_object_get(r, "value"));
        const char *cell = json_string_value(json_object_get(r, "cell"));
        /* the clean accuracy of the same cell */
        json_t *c;
        size_t j;
        double clean = NAN;
        json_array_foreach(recs, j, c) {
            const char *m2 = json_string_value(json_object_get(c, "metric"));
            const char *c2 = json_string_value(json_object_get(c, "cell"));
            if (m2 && c2 && cell && !strcmp(m2, "clean_accuracy_whitebox_plain") &&
                !strcmp(c2, cell))
                clean = json_number_value(json_object_get(c, "value"));
        }
        cr_log_info("%s: whitebox_plain %.3f of clean %.3f", cell, robust, clean);
        cr_assert_leq(robust, clean, "%s", cell);
        seen++;
    }
    cr_assert_eq(seen, 3);
    json_decref(recs);
}

/* Assert on the probe's metrics (pgd_layout_probe.c) in every cell; returns
 * the number of cells probed (each must report every metric). */
static int check_probe(const json_t *recs)
{
    size_t i;
    json_t *r;
    int cells = 0, linear = 0;
    json_array_foreach(recs, i, r) {
        const char *cnd = cond_name(json_string_value(json_object_get(r, "condition")));
        const char *mt = json_string_value(json_object_get(r, "metric"));
        const char *cell = json_string_value(json_object_get(r, "probed"));
        if (!cnd || strcmp(cnd, "pgd_layout_probe") || !mt || !cell)
            continue;
        double v = json_number_value(json_object_get(r, "value"));
        cr_log_info("%s %s %.3g", cell, mt, v);
        if (!strcmp(mt, "forward_error")) {
            cr_assert_leq(v, 1e-6, "%s: forward differs from encrypt by %g", cell, v);
            cells++;
        } else if (!strcmp(mt, "vjp_zero_error")) {
            cr_assert_eq(v, 0.0, "%s", cell);
        } else if (!strcmp(mt, "adjoint_error") && strcmp(cell, "ffx")) {
            /* FFX's table positions have BPDA, not the derivative: no adjoint */
            cr_assert_leq(v, 1e-4, "%s: <T(x+v)-T(x), dy> vs <v, vjp(dy)>: %g", cell, v);
        } else if (!strcmp(mt, "adjoint_error_linear")) {
            /* where T is linear, FFX too: the vjp's divisor (255/max) is the forward's */
            cr_assert_leq(v, 1e-4, "%s: adjoint off the tables: %g", cell, v);
            linear++;
        }
    }
    cr_assert_eq(linear, cells);
    return cells;
}

Test(pgd, the_differentiable_transform_is_the_transform_and_its_adjoint)
{
    json_t *recs = run_pgd_on(
        "{name: none}, {name: pixel_shuffle, block_size: 2}, {name: negpos, block_size: 4}, "
        "{name: block_scramble, block_size: 4, rotate: true, flip: true, negpos: true}, "
        "{name: ffx, block_size: 4}",
        "pgd_layout_probe");
    cr_assert_eq(check_probe(recs), 5);
    json_decref(recs);
}

/* The same probe on colour images: the harness's planar (NCHW) images
 * against the transforms' interleaved (HWC) layouts, channel shuffling and
 * FFX's tables included. */
Test(pgd, the_differentiable_transform_on_colour_images)
{
    char p[512];
    snprintf(p, sizeof p, "%s/cifar", dir);
    write_cifar10(p, 20, 12);
    dataset = "{name: cifar10, path: cifar}";
    pretrain_epochs = 1;
    json_t *recs = run_pgd_on(
        "{name: pixel_shuffle, block_size: 4}, {name: negpos, block_size: 4}, "
        "{name: block_scramble, block_size: 4, rotate: true, flip: true, negpos: true, "
        "channel_shuffle: true}, {name: ffx, block_size: 4}",
        "pgd_layout_probe");
    cr_assert_eq(check_probe(recs), 4);
    json_decref(recs);
}

Test(pgd, bad_settings_refuse_the_plan)
{
    const char *e = refused("none", "{name: pgd, settings: \"whitebox,bogus\"}");
    cr_assert(strstr(e, "unknown setting 'bogus'") && strstr(e, "pgd"), "%s", e);
    e = refused("none", "{name: pgd, settings: \"plain,plain\"}");
    cr_assert(strstr(e, "'plain' is listed twice"), "%s", e);
    e = refused("none", "{name: pgd, settings: \"plain,\"}");
    cr_assert(strstr(e, "unknown setting ''"), "%s", e);
    e = refused("none", "{name: pgd, settings: \" \"}");
    cr_assert(strstr(e, "'settings' is empty"), "%s", e);
    e = refused("none", "{name: pgd, settings: eot, eot_keys: 0}");
    cr_assert(strstr(e, "eot_keys"), "%s", e);
}

/* A transform without key_layout: the settings that go through it are
 * refused before anything runs; the others run. */
Test(pgd, a_transform_without_layout)
{
    const char *e = refused("template_xor", "{name: pgd, settings: \"whitebox,transfer\"}");
    cr_assert(strstr(e, "'transfer'") && strstr(e, "template_xor") && strstr(e, "key_layout"),
              "%s", e);
    json_t *recs = run_pgd_on("template_xor", "{name: pgd, steps: 2, images: 20, "
                                              "settings: \"whitebox,plain\"}");
    cr_assert_leq(value(recs, "robust_accuracy_whitebox"), value(recs, "clean_accuracy_whitebox"));
    json_decref(recs);
}

/* A key_layout that breaks the op's contract (a source outside the image)
 * fails the attack with one line naming the transform, instead of reading
 * out of bounds or attacking through a forward that is not encrypt. */
Test(pgd, a_layout_outside_the_image_fails_the_attack)
{
    const char *spec = write_spec("bad_layout", "{name: pgd, steps: 2, images: 20, "
                                                "settings: \"plain, surrogate\"}");
    char rd[256];
    snprintf(rd, sizeof rd, "%s/run", dir);
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = spec, o.run_dir = rd, o.quiet = true, o.summary = false, o.threads = 1;
    int failed = -1;
    struct kb_error err = {0};
    cr_assert_eq(kb_run(&o, &failed, &err), 0, "%s", err.msg);
    char jp[300];
    snprintf(jp, sizeof jp, "%s/journal.jsonl", rd);
    json_t *recs;
    cr_assert_eq(kb_journal_read(&recs, jp, NULL, &err), 0, "%s", err.msg);
    const char *msg = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        const char *e = json_string_value(json_object_get(r, "error"));
        if (e && strstr(e, "key_layout"))
            msg = e;
        const char *mt = json_string_value(json_object_get(r, "metric"));
        cr_assert(!mt || !strstr(mt, "surrogate"), "a surrogate result was written: %s", mt);
    }
    cr_assert_not_null(msg, "no error about key_layout in the journal");
    cr_log_info("%s", msg);
    cr_assert(strstr(msg, "bad_layout") && strstr(msg, "outside the image") &&
              !strchr(msg, '\n'), "%s", msg);
    json_decref(recs);
}
