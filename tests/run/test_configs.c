/* The shipped configs: every one plans, and the authors' CIFAR-10 and ImageNet
 * settings run end to end on tiny stand-in data in the same formats (CIFAR
 * binary batches; a 224×224 PNG folder with a 1000-class weights file whose
 * head the runner must replace). */
#include <criterion/criterion.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <keybench/image.h>
#include <keybench/registry.h>
#include <keybench/runner.h>
#include <keybench/spec.h>

#include "run_helpers.h"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/kbcfgXXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(configs, .init = setup, .fini = teardown, .timeout = 600);

static const char *config(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/configs/%s", getenv("KEYBENCH_SOURCE_ROOT"), name);
    return p;
}

static size_t plan_count(const char *spec, const char *const *ovr, size_t n_ovr)
{
    struct kb_error err = {0};
    struct kb_spec *s;
    cr_assert_eq(kb_spec_parse(&s, spec, ovr, n_ovr, &err), 0, "%s", err.msg);
    const char *const *dirs;
    size_t nd = kb_spec_plugin_paths(s, &dirs);
    struct kb_registry *reg;
    cr_assert_eq(kb_registry_open(&reg, dirs, nd, &err), 0, "%s", err.msg);
    cr_assert_eq(kb_spec_validate(s, reg, &err), 0, "%s", err.msg);
    struct kb_plan *plan;
    cr_assert_eq(kb_plan_expand(&plan, s, &err), 0, "%s", err.msg);
    size_t n = kb_plan_count(plan);
    kb_plan_free(plan);
    kb_spec_free(s);
    kb_registry_free(reg);
    return n;
}

Test(configs, every_shipped_config_plans)
{
    cr_assert_eq(plan_count(config("quickstart.yaml"), NULL, 0), 5);
    cr_assert_eq(plan_count(config("cifar10.yaml"), NULL, 0), 15);
    cr_assert_eq(plan_count(config("imagenet.yaml"), NULL, 0), 4);
    cr_assert_eq(plan_count(config("paper-fmnist.yaml"), NULL, 0), 57);
    /* seed 0 of paper-fmnist's 16 keyed cells; all three seeds with the override */
    cr_assert_eq(plan_count(config("attacks-fmnist.yaml"), NULL, 0), 16);
    const char *all_seeds[] = { "seed=[0,1,2]" };
    cr_assert_eq(plan_count(config("attacks-fmnist.yaml"), all_seeds, 1), 48);
    cr_assert_eq(plan_count(config("attacks-pgd-fmnist.yaml"), NULL, 0), 16);
    cr_assert_eq(plan_count(config("attacks-jigsaw-fmnist.yaml"), NULL, 0), 12);
}

static int run(const char *spec, const char *const *ovr, size_t n_ovr, const char *run_dir)
{
    struct kb_run_options o = kb_run_options_default();
    o.spec_path = spec;
    o.overrides = ovr;
    o.n_overrides = n_ovr;
    o.run_dir = run_dir;
    o.quiet = true;
    o.summary = false;
    struct kb_error err = {0};
    int failed = -1;
    cr_assert_eq(kb_run(&o, &failed, &err), 0, "%s", err.msg);
    return failed;
}

static void count_lines(const char *path, const char *needle, int expect)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "test \"$(grep -c '%s' %s)\" = %d", needle, path, expect);
    cr_assert_eq(system(cmd), 0, "%s: expected %d lines with '%s'", path, expect, needle);
}

Test(configs, cifar10_runs_on_stand_in_batches)
{
    char data[256], p[512], run_dir[256];
    snprintf(data, sizeof data, "%s/cifar-10-batches-bin", dir);
    write_cifar10(data, 10, 10);
    char o_path[300];
    snprintf(o_path, sizeof o_path, "dataset.path=%s", data);
    const char *ovr[] = { o_path, "seed=0", "pretrain.epochs=1", "finetune.epochs=1",
                          "pretrain.batch_size=10", "finetune.batch_size=10",
                          "pretrain.milestones=[1]", "splits.attacker.count=5",
                          "splits.finetune.fraction=0.5", "evaluate.wrong_keys=1",
                          "transform=[none, {name: ffx, block_size: 4, password: password}]" };
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    cr_assert_eq(run(config("cifar10.yaml"), ovr, sizeof ovr / sizeof *ovr, run_dir), 0);
    snprintf(p, sizeof p, "%s/results.csv", run_dir);
    count_lines(p, ",correct_key,accuracy,", 2);
    count_lines(p, ",wrong_key,accuracy,", 1);
}

static void write_png_rgb(const char *path, int salt)
{
    static uint8_t px[224 * 224 * 3];
    for (int i = 0; i < 224 * 224 * 3; i++)
        px[i] = (uint8_t)((i / 3 % 224) + salt * 40);
    struct kb_error err = {0};
    cr_assert_eq(kb_png_write(path, px, 224, 224, 3, &err), 0, "%s", err.msg);
}

Test(configs, imagenet_runs_on_a_png_folder_with_a_1000_class_head)
{
    char p[512], run_dir[256];
    const char *splits[] = { "train", "test" };
    const char *classes[] = { "n01440764", "n01443537" };
    for (int s = 0; s < 2; s++)
        for (int c = 0; c < 2; c++) {
            snprintf(p, sizeof p, "%s/imagenet/%s/%s", dir, splits[s], classes[c]);
            char cmd[600];
            snprintf(cmd, sizeof cmd, "mkdir -p %s", p);
            cr_assert_eq(system(cmd), 0);
            for (int i = 0; i < 2; i++) {
                char f[600];
                snprintf(f, sizeof f, "%s/%d.png", p, i);
                write_png_rgb(f, c * 2 + i);
            }
        }
    /* an "ImageNet" weights file: 1000 classes, the runner must drop fc.* */
    char cmd[1024], weights[300];
    snprintf(weights, sizeof weights, "%s/resnet18-imagenet.safetensors", dir);
    snprintf(cmd, sizeof cmd,
             "%s/harness/cli/keybench forward --backbone resnet18 --set stem=imagenet "
             "--in-shape 3,224,224 --classes 1000 --init-seed 3 --save-weights %s >/dev/null",
             getenv("KEYBENCH_BUILD_ROOT"), weights);
    cr_assert_eq(system(cmd), 0);
    char o_path[300], o_w[400];
    snprintf(o_path, sizeof o_path, "dataset.path=%s/imagenet", dir);
    snprintf(o_w, sizeof o_w, "pretrain.weights=%s", weights);
    const char *ovr[] = { o_path, o_w, "finetune.epochs=1", "finetune.batch_size=4",
                          "splits.attacker.count=1", "splits.finetune.fraction=0.5",
                          "evaluate.wrong_keys=1",
                          "transform=[none, {name: negpos, block_size: 16}]" };
    snprintf(run_dir, sizeof run_dir, "%s/run", dir);
    cr_assert_eq(run(config("imagenet.yaml"), ovr, sizeof ovr / sizeof *ovr, run_dir), 0);
    snprintf(p, sizeof p, "%s/results.csv", run_dir);
    count_lines(p, ",correct_key,accuracy,", 2);
    snprintf(p, sizeof p, "%s/cells/*/log", run_dir);
    snprintf(cmd, sizeof cmd, "cat %s | grep -q 'without its classifier head'", p);
    cr_assert_eq(system(cmd), 0, "the 1000-class head was not replaced");
}
