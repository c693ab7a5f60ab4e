/* The backbone plugins (the shared objects in models/) and `keybench forward`: parameter counts
 * and names against PyTorch's, finite-difference checks of each whole
 * backbone on tiny inputs, a learnable synthetic problem trained with SGD to
 * high accuracy (bit-identical when repeated), and the CLI's errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <keybench/model.h>
#include <keybench/optim.h>
#include <keybench/registry.h>
#include <keybench/safetensors.h>

#include "fd.h"

static struct kb_registry *reg;
static char tmpdir[64];

static void setup(void)
{
    const char *root = getenv("KEYBENCH_BUILD_ROOT");
    cr_assert_not_null(root, "KEYBENCH_BUILD_ROOT is not set (run through meson test)");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/models", root);
    struct kb_error err = {0};
    reg = kb_registry_new();
    cr_assert_eq(kb_registry_load_dir(reg, dir, &err), 0, "%s", err.msg);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kb-backbones-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    kb_registry_free(reg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(backbones, .init = setup, .fini = teardown, .timeout = 240);

/* Build `name` with "k=v,k=v" parameters. */
static struct kb_model *build(const char *name, const char *sets, int64_t c, int64_t h, int64_t w,
                              int64_t classes)
{
    const struct kb_plugin *p = kb_registry_find(reg, KB_KIND_BACKBONE, name);
    cr_assert_not_null(p, "backbone %s not found", name);
    struct kb_error err = {0};
    struct kb_params *params;
    cr_assert_eq(kb_params_new(&params, p->params, &err), 0, "%s", err.msg);
    if (sets) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", sets);
        char *save = NULL;
        for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            cr_assert_not_null(eq);
            *eq = 0;
            cr_assert_eq(kb_params_set(params, kv, eq + 1, &err), 0, "%s", err.msg);
        }
    }
    struct kb_model *m;
    cr_assert_eq(kb_model_build(&m, p, params, c, h, w, classes, &err), 0, "%s", err.msg);
    kb_params_free(params);
    return m;
}

/* ------------------------------------------------------------------ shapes and names */

Test(backbones, param_counts_match_pytorch)
{
    static const struct {
        const char *name, *sets;
        int64_t c, h, w, classes;
        size_t params;   /* sum(p.numel() for p in model.parameters()) in PyTorch */
    } cases[] = {
        { "cnn", NULL, 1, 28, 28, 10, 3274634 },            /* SmallCNN */
        { "resnet20", NULL, 3, 32, 32, 10, 269722 },        /* ResNetCifar(3) */
        { "resnet20", NULL, 1, 28, 28, 10, 269434 },        /* ResNetCifar(1) */
        { "resnet32", NULL, 3, 32, 32, 10, 464154 },
        { "resnet56", NULL, 3, 32, 32, 10, 853018 },
        { "resnet18", NULL, 3, 32, 32, 10, 11181642 },      /* torchvision resnet18(num_classes=10) */
        { "resnet18", "stem=small", 3, 32, 32, 10, 11173962 },
        { "resnet34", NULL, 3, 32, 32, 10, 21289802 },
        { "convmixer", NULL, 1, 28, 28, 10, 125834 },       /* ConvMixer(1) */
        { "mlp", NULL, 1, 28, 28, 10, 269322 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kb_model *m = build(cases[i].name, cases[i].sets, cases[i].c, cases[i].h,
                                   cases[i].w, cases[i].classes);
        cr_expect_eq(kb_model_param_count(m), cases[i].params, "%s %s: %zu params, expected %zu",
                     cases[i].name, cases[i].sets ? cases[i].sets : "",
                     kb_model_param_count(m), cases[i].params);
        cr_expect_eq(kb_model_classes(m), cases[i].classes);
        kb_model_free(m);
    }
}

Test(backbones, tensor_names)
{
    struct kb_model *m = build("resnet18", NULL, 3, 32, 32, 10);
    static const char *const want[] = {
        "conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv1.weight",
        "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var",
        "layer4.1.bn2.bias", "fc.weight", "fc.bias",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect_not_null(kb_model_find(m, want[i]), "resnet18 lacks %s", want[i]);
    cr_expect_null(kb_model_find(m, "layer1.0.downsample.0.weight"));
    cr_assert_eq(kb_model_tensor_count(m), 122);   /* len(resnet18().state_dict()) */
    cr_assert_str_eq(kb_model_head_name(m), "fc.weight");
    cr_assert_str_eq(kb_model_stem_name(m), "conv1.weight");
    kb_model_free(m);

    m = build("resnet20", NULL, 1, 28, 28, 10);
    cr_assert_eq(kb_model_tensor_count(m), 116);
    cr_expect_not_null(kb_model_find(m, "layer3.2.bn2.num_batches_tracked"));
    cr_expect_null(kb_model_find(m, "layer2.0.downsample.0.weight"));   /* option A */
    kb_model_free(m);

    m = build("convmixer", "depth=2", 1, 28, 28, 10);
    cr_expect_not_null(kb_model_find(m, "stem.bias"));
    cr_expect_not_null(kb_model_find(m, "stem_bn.weight"));
    cr_expect_not_null(kb_model_find(m, "blocks.1.dw.weight"));
    cr_expect_eq(kb_model_find(m, "blocks.1.dw.weight")->shape[1], 1);
    cr_expect_not_null(kb_model_find(m, "blocks.1.pw.bias"));
    cr_expect_not_null(kb_model_find(m, "blocks.1.bn2.running_var"));
    kb_model_free(m);

    m = build("cnn", NULL, 1, 28, 28, 10);
    cr_expect_eq(kb_model_find(m, "fc1.weight")->shape[1], 3136);
    cr_assert_str_eq(kb_model_head_name(m), "fc2.weight");
    kb_model_free(m);
}

Test(backbones, build_errors)
{
    const struct kb_plugin *p = kb_registry_find(reg, KB_KIND_BACKBONE, "convmixer");
    struct kb_params *params;
    struct kb_error err = {0};
    cr_assert_eq(kb_params_new(&params, p->params, &err), 0);
    cr_assert_eq(kb_params_set(params, "kernel", "4", &err), 0);
    struct kb_model *m;
    cr_assert_eq(kb_model_build(&m, p, params, 1, 28, 28, 10, &err), -1);
    cr_assert_not_null(strstr(err.msg, "odd"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "convmixer"), "%s", err.msg);
    kb_params_free(params);
    p = kb_registry_find(reg, KB_KIND_BACKBONE, "cnn");
    cr_assert_eq(kb_model_build(&m, p, NULL, 1, 2, 2, 10, &err), -1);
    cr_assert_not_null(strstr(err.msg, "cnn"), "%s", err.msg);
    cr_assert_eq(kb_model_build(&m, p, NULL, 1, 28, 28, 0, &err), -1);
    cr_assert_not_null(strstr(err.msg, "classes"), "%s", err.msg);
}

/* ------------------------------------------------------------------ finite differences */

static void fd_backbone(const char *name, const char *sets, int64_t c, int64_t h, int64_t w,
                        int64_t n, bool train, uint64_t seed)
{
    struct kb_model *m = build(name, sets, c, h, w, 3);
    fd_randomize(m, seed);
    char what[128];
    snprintf(what, sizeof what, "%s %s (%s)", name, sets ? sets : "", train ? "train" : "eval");
    int bad = fd_check_model(m, n, train, seed, 16, 3, what);
    cr_assert_leq(bad, 3, "%s: %d finite-difference misses", what, bad);
    kb_model_free(m);
}

Test(backbones, fd_mlp)
{
    fd_backbone("mlp", "hidden=8,depth=2", 2, 3, 3, 3, false, 1);
    fd_backbone("mlp", "hidden=8,depth=0", 1, 4, 4, 2, false, 2);
}

Test(backbones, fd_cnn)
{
    fd_backbone("cnn", "hidden=16", 1, 8, 8, 2, false, 3);
    fd_backbone("cnn", "hidden=16", 2, 5, 7, 2, false, 4);
}

Test(backbones, fd_resnet20)
{
    fd_backbone("resnet20", NULL, 1, 8, 8, 2, false, 5);
    fd_backbone("resnet20", NULL, 2, 6, 5, 3, true, 6);
}

Test(backbones, fd_resnet18)
{
    fd_backbone("resnet18", "stem=small", 3, 4, 4, 2, false, 7);
    fd_backbone("resnet18", "stem=imagenet", 1, 9, 9, 2, false, 8);
    fd_backbone("resnet18", "stem=small", 1, 4, 4, 4, true, 9);
}

Test(backbones, fd_convmixer)
{
    fd_backbone("convmixer", "dim=8,depth=2,patch=2,kernel=3", 1, 8, 8, 2, false, 10);
    fd_backbone("convmixer", "dim=6,depth=2,patch=3,kernel=5", 2, 9, 7, 3, true, 11);
}

/* ------------------------------------------------------------------ training */

/* 4 classes: a bright 3x3 blob in quadrant k of an 8x8 image, plus noise. */
static void synth(float *x, int32_t *y, int n, uint64_t seed)
{
    struct kb_rng g;
    kb_rng_init_seed(&g, seed, "synth");
    for (int i = 0; i < n; i++) {
        int k = (int)kb_rng_uniform(&g, 4);
        y[i] = k;
        float *img = x + (size_t)i * 64;
        for (int p = 0; p < 64; p++)
            img[p] = (float)(0.6 * (kb_rng_double(&g) - 0.5));
        int oy = (k / 2) * 4 + (int)kb_rng_uniform(&g, 2), ox = (k % 2) * 4 + (int)kb_rng_uniform(&g, 2);
        for (int dy = 0; dy < 3; dy++)
            for (int dx = 0; dx < 3; dx++)
                if (oy + dy < 8 && ox + dx < 8)
                    img[(oy + dy) * 8 + ox + dx] += 1.0f;
    }
    kb_rng_wipe(&g);
}

/* Train cnn for `steps` SGD steps; returns the test accuracy and copies the
 * final parameters into *out (malloc'd). */
static double train_cnn(float **out, size_t *count)
{
    enum { NTRAIN = 512, NTEST = 256, B = 32 };
    static float xtr[NTRAIN * 64], xte[NTEST * 64];
    static int32_t ytr[NTRAIN], yte[NTEST];
    synth(xtr, ytr, NTRAIN, 1);
    synth(xte, yte, NTEST, 2);
    struct kb_model *m = build("cnn", "hidden=32", 1, 8, 8, 4);
    kb_model_init(m, 42);
    struct kb_optim_config oc = kb_optim_config_default(KB_OPTIM_SGD);
    oc.momentum = 0.9;
    oc.weight_decay = 5e-4;
    struct kb_optim *opt;
    struct kb_error err = {0};
    cr_assert_eq(kb_optim_new(&opt, m, &oc, &err), 0, "%s", err.msg);
    double first = 0, last = 0;
    for (int step = 0; step < 200; step++) {
        int off = (step * B) % NTRAIN;
        kb_model_zero_grad(m);
        cr_assert_not_null(kb_model_forward(m, xtr + (size_t)off * 64, B, true));
        double loss = kb_model_loss(m, ytr + off, 0.0f);
        cr_assert(isfinite(loss));
        if (step == 0)
            first = loss;
        last = loss;
        kb_model_backward(m, NULL, NULL);
        kb_optim_step(opt, 0.02);
    }
    cr_assert_lt(last, first * 0.5, "loss %g -> %g", first, last);
    const float *lg = kb_model_forward(m, xte, NTEST, false);
    int correct = 0;
    for (int i = 0; i < NTEST; i++) {
        int best = 0;
        for (int k = 1; k < 4; k++)
            if (lg[i * 4 + k] > lg[i * 4 + best])
                best = k;
        correct += best == yte[i];
    }
    size_t np;
    float *p = kb_model_params(m, &np);
    *out = malloc(np * sizeof(float));
    memcpy(*out, p, np * sizeof(float));
    *count = np;
    kb_optim_free(opt);
    kb_model_free(m);
    return (double)correct / NTEST;
}

Test(backbones, cnn_learns_and_is_deterministic)
{
    float *a, *b;
    size_t na, nb;
    double acc = train_cnn(&a, &na);
    cr_assert_geq(acc, 0.95, "test accuracy %.3f", acc);
    double acc2 = train_cnn(&b, &nb);
    cr_assert_eq(na, nb);
    cr_assert_eq(acc, acc2);
    cr_assert_eq(memcmp(a, b, na * sizeof(float)), 0, "two identical runs differ");
    free(a);
    free(b);
}

/* ------------------------------------------------------------------ keybench forward */

/* Run the keybench CLI; returns its exit status, stderr in *errtext. */
static int kb_cli(const char *args, char *errtext, size_t size)
{
    char cmd[2048], errf[128];
    snprintf(errf, sizeof errf, "%s/stderr.txt", tmpdir);
    snprintf(cmd, sizeof cmd, "'%s/harness/cli/keybench' forward %s >/dev/null 2>'%s'",
             getenv("KEYBENCH_BUILD_ROOT"), args, errf);
    int st = system(cmd);
    FILE *f = fopen(errf, "r");
    size_t k = f ? fread(errtext, 1, size - 1, f) : 0;
    errtext[k] = 0;
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(backbones, cli_forward)
{
    char e[4096], args[1024];
    /* fresh weights, then a forward whose classes (7) and channels (2) come from them */
    snprintf(args, sizeof args, "--backbone resnet20 --in-shape 2,8,8 --classes 7 --init-seed 3 "
             "--save-weights %s/w.safetensors", tmpdir);
    cr_assert_eq(kb_cli(args, e, sizeof e), 0, "%s", e);
    struct kb_error err = {0};
    struct kb_st_writer *w = kb_st_writer_new();
    float x[3 * 2 * 8 * 8];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
    int64_t shape[4] = { 3, 2, 8, 8 };
    char path[256];
    snprintf(path, sizeof path, "%s/x.safetensors", tmpdir);
    cr_assert_eq(kb_st_writer_add(w, "input", KB_DT_F32, 4, shape, x, &err), 0);
    cr_assert_eq(kb_st_writer_save(w, path, &err), 0);
    kb_st_writer_free(w);
    for (int train = 0; train < 2; train++) {
        snprintf(args, sizeof args, "--backbone resnet20 --weights %s/w.safetensors --input %s "
                 "--output %s/y%d.safetensors %s", tmpdir, path, tmpdir, train,
                 train ? "--train-mode" : "");
        cr_assert_eq(kb_cli(args, e, sizeof e), 0, "%s", e);
    }
    /* the same logits as the library gives */
    struct kb_model *m = build("resnet20", NULL, 2, 8, 8, 7);
    char wpath[256];
    snprintf(wpath, sizeof wpath, "%s/w.safetensors", tmpdir);
    cr_assert_eq(kb_model_load(m, wpath, NULL, &err), 0, "%s", err.msg);
    for (int train = 0; train < 2; train++) {
        const float *ref = kb_model_forward(m, x, 3, train);
        char ypath[256];
        snprintf(ypath, sizeof ypath, "%s/y%d.safetensors", tmpdir, train);
        struct kb_safetensors st;
        cr_assert_eq(kb_st_open(&st, ypath, &err), 0, "%s", err.msg);
        const struct kb_st_tensor *t = kb_st_find(&st, "logits");
        cr_assert_not_null(t);
        cr_assert_eq(t->ndim, 2);
        cr_assert_eq(t->shape[0], 3);
        cr_assert_eq(t->shape[1], 7);
        float y[21];
        cr_assert_eq(kb_st_read_f32(&st, t, y, 21, &err), 0);
        cr_assert_eq(memcmp(y, ref, sizeof y), 0, "logits differ from the library's (train %d)",
                     train);
        kb_st_close(&st);
    }
    kb_model_free(m);

    /* errors: one line each */
    snprintf(args, sizeof args, "--backbone resnet2O --weights %s/w.safetensors --input %s "
             "--output %s/z.safetensors", tmpdir, path, tmpdir);
    cr_assert_eq(kb_cli(args, e, sizeof e), 1);
    cr_assert_not_null(strstr(e, "did you mean 'resnet20'"), "%s", e);
    cr_assert_eq(count_lines(e), 1, "%s", e);

    snprintf(args, sizeof args, "--backbone cnn --weights %s/w.safetensors --input %s "
             "--output %s/z.safetensors", tmpdir, path, tmpdir);
    cr_assert_eq(kb_cli(args, e, sizeof e), 1);
    cr_assert_not_null(strstr(e, "fc2.weight"), "%s", e);
    cr_assert_eq(count_lines(e), 1, "%s", e);

    /* weights for 2 channels, an input with 1 channel */
    snprintf(args, sizeof args, "--backbone resnet20 --in-shape 1,8,8 --classes 7 "
             "--save-weights %s/w1.safetensors", tmpdir);
    cr_assert_eq(kb_cli(args, e, sizeof e), 0, "%s", e);
    snprintf(args, sizeof args, "--backbone resnet20 --weights %s/w1.safetensors --input %s "
             "--output %s/z.safetensors", tmpdir, path, tmpdir);
    cr_assert_eq(kb_cli(args, e, sizeof e), 1);
    cr_assert_not_null(strstr(e, "2 channels but the weights"), "%s", e);
    cr_assert_eq(count_lines(e), 1, "%s", e);

    snprintf(args, sizeof args, "--backbone convmixer --set kernal=3 --in-shape 1,8,8 "
             "--classes 3 --save-weights %s/c.safetensors", tmpdir);
    cr_assert_eq(kb_cli(args, e, sizeof e), 1);
    cr_assert_not_null(strstr(e, "kernal"), "%s", e);
    cr_assert_eq(count_lines(e), 1, "%s", e);

    cr_assert_eq(kb_cli("--backbone cnn --in-shape 1,8 --classes 3 --save-weights /tmp/x", e,
                        sizeof e), 1);
    cr_assert_not_null(strstr(e, "--in-shape"), "%s", e);
    cr_assert_eq(kb_cli("--backbone cnn --classes 3", e, sizeof e), 2);
}
