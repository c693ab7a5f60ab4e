/* keybench bench end to end on a tiny cnn: the JSON object's fields, FLOP
 * counts derived from the layer shapes, and the CLI's errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static char *run(const char *args, int *status)
{
    const char *root = getenv("KEYBENCH_BUILD_ROOT");
    cr_assert(root, "KEYBENCH_BUILD_ROOT is not set (run under meson test)");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/harness/cli/keybench bench %s 2>&1", root, args);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    cr_assert(out);
    size_t got;
    while ((got = fread(out + len, 1, cap - 1 - len, p)) > 0)
        len += got;
    out[len] = '\0';
    *status = pclose(p);
    return out;
}

/* cnn with hidden 8 on 1x8x8: conv1 32·1·25·(8·8) = 51200 MACs, conv2
 * 64·32·25·(4·4) = 819200, fc1 (64·2·2)·8 = 2048, fc2 8·10 = 80. */
Test(bench_cli, json_fields_and_flop_count)
{
    int st;
    char *out = run("--backbone cnn --set hidden=8 --in-shape 1,8,8 --batch 4 --threads 1 "
                    "--steps 3 --warmup 1 --json", &st);
    cr_assert_eq(st, 0, "keybench bench failed: %s", out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    cr_assert(j, "not one JSON object (%s): %s", je.text, out);
    cr_assert_eq(json_integer_value(json_object_get(j, "conv_macs_per_img")), 870400);
    cr_assert_eq(json_integer_value(json_object_get(j, "linear_macs_per_img")), 2128);
    cr_assert_eq(json_integer_value(json_object_get(j, "convs")), 2);
    cr_assert_eq(json_integer_value(json_object_get(j, "batch")), 4);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "set"), "hidden")), "8");
    cr_assert(json_real_value(json_object_get(j, "sgemm_1024_gflop_s")) > 0.1);
    const char *modes[] = { "train", "infer" };
    for (int i = 0; i < 2; i++) {
        json_t *t = json_object_get(j, modes[i]);
        cr_assert(json_is_object(t), "no %s object: %s", modes[i], out);
        double med = json_real_value(json_object_get(t, "img_s_median"));
        double mn = json_real_value(json_object_get(t, "img_s_min"));
        double mx = json_real_value(json_object_get(t, "img_s_max"));
        cr_assert(med > 0 && mn <= med && med <= mx, "%s: %g %g %g", modes[i], mn, med, mx);
        cr_assert_eq(json_integer_value(json_object_get(t, "iters_timed")), 3);
        cr_assert(json_real_value(json_object_get(t, "maxrss_mib")) > 1.0);
        cr_assert(json_real_value(json_object_get(t, "conv_gflop_s")) > 0.0);
        /* achieved GFLOP/s = img/s × FLOP/img (× 3 for training) */
        double flop = 2.0 * (870400 + 2128) * (i == 0 ? 3 : 1);
        double g = json_real_value(json_object_get(t, "achieved_gflop_s"));
        cr_assert(fabs(g - med * flop / 1e9) <= 1e-4 * g + 1e-9, "%s: %g vs %g", modes[i], g,
                  med * flop / 1e9);
    }
    json_decref(j);
    free(out);
}

Test(bench_cli, text_mode_train_only)
{
    int st;
    char *out = run("--backbone mlp --set hidden=4 --in-shape 1,4,4 --batch 2 --steps 2 "
                    "--warmup 0 --mode train --no-sgemm --no-layers", &st);
    cr_assert_eq(st, 0, "%s", out);
    cr_assert(strstr(out, "train"), "%s", out);
    cr_assert(strstr(out, "img/s"), "%s", out);
    cr_assert_null(strstr(out, "infer "), "%s", out);
    free(out);
}

Test(bench_cli, errors)
{
    int st;
    char *out = run("--backbone resnet2O", &st);
    cr_assert_neq(st, 0);
    cr_assert(strstr(out, "unknown backbone 'resnet2O'") && strstr(out, "resnet20"), "%s", out);
    free(out);
    out = run("--in-shape 1,28", &st);
    cr_assert_neq(st, 0);
    cr_assert(strstr(out, "--in-shape"), "%s", out);
    free(out);
    out = run("--backbone mlp --set depht=2", &st);
    cr_assert_neq(st, 0);
    cr_assert(strstr(out, "depht"), "%s", out);
    free(out);
    out = run("--mode fast", &st);
    cr_assert_neq(st, 0);
    free(out);
}
