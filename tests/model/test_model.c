/* The model graph (keybench/model.h): every op through finite differences in
 * a small hand-built network, names and layout, builder errors, batch growth,
 * safetensors save/load (roundtrip, strict errors, skip pattern, I64 buffers). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <keybench/model.h>
#include <keybench/nn.h>
#include <keybench/rng.h>
#include <keybench/safetensors.h>

#include "fd.h"

static char tmpdir[64];

static void mk_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kb-model-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static const char *tmp_path(const char *name)
{
    static char buf[4][160];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* A small network that uses every op: conv (plain, strided, depthwise), batch
 * norm, ReLU, GELU, max and average pool, option-A shortcut, residual adds
 * (one input feeding two branches), dropout, flatten, GAP, linear. */
static struct kb_model *tiny_net(int64_t c, int64_t h, int64_t w, int64_t classes, float drop)
{
    struct kb_model *m;
    struct kb_error err = {0};
    cr_assert_eq(kb_model_new(&m, c, h, w, &err), 0, "%s", err.msg);
    int x = kb_model_conv2d(m, 0, "stem", 4, 3, 1, 1, 1, true);
    x = kb_model_batchnorm(m, x, "stem_bn");
    x = kb_model_relu(m, x);
    int y = kb_model_conv2d(m, x, "dw", 4, 3, 1, 1, 4, false);        /* depthwise */
    y = kb_model_gelu(m, y);
    y = kb_model_batchnorm(m, y, "bn_dw");
    x = kb_model_add(m, x, y);                                          /* x used twice */
    int s = kb_model_shortcut_a(m, x, 8, 2);
    y = kb_model_conv2d(m, x, "down", 8, 3, 2, 1, 2, false);          /* groups 2, stride 2 */
    y = kb_model_batchnorm(m, y, "bn_down");
    x = kb_model_add(m, y, s);
    x = kb_model_relu(m, x);
    int p = kb_model_maxpool(m, x, 2, 1, 0);
    int q = kb_model_avgpool(m, x, 3, 1, 1);
    int pq = kb_model_conv2d(m, q, "pw", 8, 1, 1, 0, 1, true);
    int g = kb_model_gap(m, pq);
    int f = kb_model_flatten(m, p);
    f = kb_model_dropout(m, f, drop);
    f = kb_model_linear(m, f, "fc1", 6, true);
    f = kb_model_relu(m, f);
    int out = kb_model_linear(m, f, "fc2", classes, true);
    (void)g;
    /* GAP branch joins through a second head summed into the logits */
    int g2 = kb_model_linear(m, g, "fc_gap", classes, false);
    out = kb_model_add(m, out, g2);
    cr_assert_eq(kb_model_finish(m, out, &err), 0, "%s", err.msg);
    return m;
}

Test(model, fd_every_op_eval)
{
    struct kb_model *m = tiny_net(3, 6, 5, 4, 0.3f);
    fd_randomize(m, 11);
    int bad = fd_check_model(m, 3, false, 1, 40, 6, "tiny eval");
    cr_assert_leq(bad, 2, "%d finite-difference misses", bad);
    kb_model_free(m);
}

Test(model, fd_every_op_train)
{
    struct kb_model *m = tiny_net(2, 7, 6, 3, 0.0f);
    fd_randomize(m, 12);
    int bad = fd_check_model(m, 4, true, 2, 40, 6, "tiny train");
    cr_assert_leq(bad, 2, "%d finite-difference misses", bad);
    kb_model_free(m);
}

Test(model, names_order_layout)
{
    struct kb_model *m = tiny_net(3, 6, 5, 4, 0.0f);
    cr_assert_str_eq(kb_model_tensor(m, 0)->name, "stem.weight");
    cr_assert_str_eq(kb_model_tensor(m, 1)->name, "stem.bias");
    cr_assert_str_eq(kb_model_tensor(m, 2)->name, "stem_bn.weight");
    cr_assert_str_eq(kb_model_tensor(m, 4)->name, "stem_bn.running_mean");
    struct kb_tensor *nbt = kb_model_find(m, "stem_bn.num_batches_tracked");
    cr_assert_not_null(nbt);
    cr_assert(nbt->is_buffer);
    cr_assert_eq(nbt->ndim, 0);
    cr_assert_null(nbt->grad);
    struct kb_tensor *dw = kb_model_find(m, "dw.weight");
    cr_assert_eq(dw->ndim, 4);
    cr_assert_eq(dw->shape[0], 4);
    cr_assert_eq(dw->shape[1], 1);
    cr_assert_null(kb_model_find(m, "dw.bias"));
    struct kb_tensor *fc1 = kb_model_find(m, "fc1.weight");
    /* maxpool 2/1 of 8x3x3 -> 8x2x2 = 32 features */
    cr_assert_eq(fc1->shape[1], 32);
    cr_assert_eq(kb_model_classes(m), 4);
    cr_assert_str_eq(kb_model_stem_name(m), "stem.weight");
    cr_assert_null(kb_model_head_name(m));   /* the output is an add of two heads */
    /* trainable tensors are contiguous at the front, buffers after */
    size_t np, total = 0;
    float *p = kb_model_params(m, &np);
    for (size_t i = 0; i < kb_model_tensor_count(m); i++) {
        struct kb_tensor *t = kb_model_tensor(m, i);
        if (t->is_buffer) {
            cr_assert_geq(t->data, p + np);
        } else {
            cr_assert_lt(t->data + t->numel, p + np + 1);
            cr_assert_eq(t->grad - kb_model_grads(m, NULL), t->data - p);
            total += t->numel;
        }
    }
    cr_assert_eq(total, np);
    cr_assert_eq(kb_model_param_count(m), np);
    /* PyTorch default init: BN weight 1, bias 0, running var 1; conv weights within 1/sqrt(fan_in) */
    kb_model_init(m, 5);
    cr_assert_eq(kb_model_find(m, "bn_dw.weight")->data[2], 1.0f);
    cr_assert_eq(kb_model_find(m, "bn_dw.running_var")->data[3], 1.0f);
    struct kb_tensor *sw = kb_model_find(m, "stem.weight");
    float mx = 0;
    for (size_t i = 0; i < sw->numel; i++)
        mx = fmaxf(mx, fabsf(sw->data[i]));
    cr_assert_leq(mx, 1.0f / sqrtf(27.0f));
    cr_assert_gt(mx, 0.5f / sqrtf(27.0f));
    /* freeze */
    cr_assert_eq(kb_model_freeze(m, "fc*", true), 5);
    cr_assert(kb_model_find(m, "fc2.bias")->frozen);
    cr_assert_not(kb_model_find(m, "stem.bias")->frozen);
    kb_model_free(m);
}

Test(model, head_and_print)
{
    struct kb_model *m;
    struct kb_error err = {0};
    cr_assert_eq(kb_model_new(&m, 1, 4, 4, &err), 0);
    int x = kb_model_flatten(m, 0);
    x = kb_model_linear(m, x, "fc1", 5, true);
    x = kb_model_relu(m, x);
    x = kb_model_linear(m, x, "head", 3, true);
    cr_assert_eq(kb_model_finish(m, x, &err), 0, "%s", err.msg);
    cr_assert_str_eq(kb_model_head_name(m), "head.weight");
    cr_assert_str_eq(kb_model_stem_name(m), "fc1.weight");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    kb_model_print(m, f);
    fclose(f);
    cr_assert_not_null(strstr(buf, "fc1"), "%s", buf);
    cr_assert_not_null(strstr(buf, "16 -> 5  85 params"), "%s", buf);
    cr_assert_not_null(strstr(buf, "total  103 params"), "%s", buf);
    free(buf);
    kb_model_free(m);
}

Test(model, builder_errors)
{
    struct kb_model *m;
    struct kb_error err = {0};
    cr_assert_eq(kb_model_new(&m, 3, 8, 8, &err), 0);
    int x = kb_model_conv2d(m, 0, "c", 4, 3, 1, 1, 1, false);
    cr_assert_eq(kb_model_conv2d(m, x, "c", 4, 3, 1, 1, 1, false), -1);   /* duplicate name */
    cr_assert_eq(kb_model_relu(m, x), -1);                                /* sticky */
    cr_assert_eq(kb_model_finish(m, x, &err), -1);
    cr_assert_not_null(strstr(err.msg, "'c' used twice"), "%s", err.msg);
    kb_model_free(m);

    cr_assert_eq(kb_model_new(&m, 3, 8, 8, &err), 0);
    cr_assert_eq(kb_model_conv2d(m, 0, "g", 4, 3, 1, 1, 2, false), -1);   /* 3 % 2 */
    cr_assert_eq(kb_model_finish(m, 1, &err), -1);
    cr_assert_not_null(strstr(err.msg, "conv 'g'"), "%s", err.msg);
    kb_model_free(m);

    cr_assert_eq(kb_model_new(&m, 3, 8, 8, &err), 0);
    x = kb_model_conv2d(m, 0, "c", 4, 3, 1, 1, 1, false);
    cr_assert_eq(kb_model_finish(m, x, &err), -1);                        /* not flat */
    cr_assert_not_null(strstr(err.msg, "flat logits"), "%s", err.msg);
    kb_model_free(m);

    cr_assert_eq(kb_model_new(&m, 3, 8, 8, &err), 0);
    int a = kb_model_conv2d(m, 0, "a", 4, 3, 1, 1, 1, false);
    int b = kb_model_conv2d(m, 0, "b", 4, 3, 2, 1, 1, false);
    cr_assert_eq(kb_model_add(m, a, b), -1);
    cr_assert_eq(kb_model_finish(m, a, &err), -1);
    cr_assert_not_null(strstr(err.msg, "differ"), "%s", err.msg);
    kb_model_free(m);

    cr_assert_eq(kb_model_new(&m, 0, 8, 8, &err), -1);
    cr_assert_not_null(strstr(err.msg, "input shape"), "%s", err.msg);
}

/* Eval-mode logits of an image do not depend on the batch it is in, and
 * buffers grow (and keep working) when a bigger batch comes. */
Test(model, batch_growth)
{
    struct kb_model *m = tiny_net(3, 6, 5, 4, 0.5f);
    fd_randomize(m, 3);
    float x[7 * 3 * 6 * 5];
    struct kb_rng g;
    kb_rng_init_seed(&g, 9, "x");
    fd_fill(x, sizeof x / sizeof x[0], -1, 1, &g);
    float one[4], seven[7 * 4], again[2 * 4];
    memcpy(one, kb_model_forward(m, x, 1, false), sizeof one);
    memcpy(seven, kb_model_forward(m, x, 7, false), sizeof seven);
    memcpy(again, kb_model_forward(m, x, 2, false), sizeof again);
    for (int k = 0; k < 4; k++) {
        cr_assert_float_eq(one[k], seven[k], 1e-5f);
        cr_assert_float_eq(one[k], again[k], 1e-5f);
    }
    kb_model_free(m);
}

/* A branch that does not reach the logits gets no gradient buffer and no
 * gradient; the rest of the network still trains. */
Test(model, dead_branch)
{
    struct kb_model *m;
    struct kb_error err = {0};
    cr_assert_eq(kb_model_new(&m, 1, 4, 4, &err), 0);
    int x = kb_model_conv2d(m, 0, "used", 2, 3, 1, 1, 1, true);
    int dead = kb_model_conv2d(m, 0, "dead", 2, 3, 1, 1, 1, true);
    dead = kb_model_relu(m, dead);
    x = kb_model_gap(m, x);
    x = kb_model_linear(m, x, "fc", 2, true);
    cr_assert_eq(kb_model_finish(m, x, &err), 0, "%s", err.msg);
    fd_randomize(m, 2);
    int bad = fd_check_model(m, 2, false, 3, 10, 4, "dead branch");
    cr_assert_eq(bad, 0);
    for (size_t i = 0; i < 18; i++)
        cr_assert_eq(kb_model_find(m, "dead.weight")->grad[i], 0.0f);
    kb_model_free(m);
}

Test(model, train_mode_updates_running_stats)
{
    struct kb_model *m = tiny_net(1, 4, 4, 2, 0.0f);
    float x[4 * 16];
    for (int i = 0; i < 64; i++)
        x[i] = (float)(i % 7) - 2.0f;
    const float *ev1 = kb_model_forward(m, x, 4, false);
    float e1 = ev1[0];
    kb_model_forward(m, x, 4, true);
    kb_model_forward(m, x, 4, true);
    cr_assert_eq(kb_model_find(m, "stem_bn.num_batches_tracked")->data[0], 2.0f);
    cr_assert_neq(kb_model_find(m, "stem_bn.running_mean")->data[0], 0.0f);
    const float *ev2 = kb_model_forward(m, x, 4, false);
    cr_assert_neq(ev2[0], e1);   /* eval now uses the updated running stats */
    kb_model_free(m);
}

Test(model, dropout_train_and_eval)
{
    struct kb_model *m;
    struct kb_error err = {0};
    cr_assert_eq(kb_model_new(&m, 1, 1, 100, &err), 0);
    int x = kb_model_flatten(m, 0);
    x = kb_model_dropout(m, x, 0.5f);
    x = kb_model_linear(m, x, "fc", 1, false);
    cr_assert_eq(kb_model_finish(m, x, &err), 0);
    struct kb_tensor *w = kb_model_find(m, "fc.weight");
    for (size_t i = 0; i < w->numel; i++)
        w->data[i] = 1.0f;
    float in[100];
    for (int i = 0; i < 100; i++)
        in[i] = 1.0f;
    cr_assert_float_eq(kb_model_forward(m, in, 1, false)[0], 100.0f, 1e-3f);
    float t = kb_model_forward(m, in, 1, true)[0];
    /* each kept unit contributes 2: an even total, not all kept, not all dropped */
    cr_assert_float_eq(fmodf(t, 2.0f), 0.0f, 1e-4f);
    cr_assert(t > 40.0f && t < 160.0f, "%g", (double)t);
    float dl = 1.0f, dx[100];
    kb_model_zero_grad(m);
    kb_model_backward(m, &dl, dx);
    float sum = 0;
    for (int i = 0; i < 100; i++)
        sum += dx[i];
    cr_assert_float_eq(sum, t, 1e-3f);   /* same mask forward and backward */
    kb_model_free(m);
}

Test(model, loss_and_backward_from_loss)
{
    struct kb_model *m = tiny_net(1, 4, 4, 3, 0.0f);
    float x[2 * 16];
    for (int i = 0; i < 32; i++)
        x[i] = (float)((i * 7) % 5) * 0.3f;
    int32_t y[2] = { 0, 2 };
    const float *lg = kb_model_forward(m, x, 2, false);
    double expect = 0;
    for (int i = 0; i < 2; i++) {
        double mx = -1e30, s = 0;
        for (int k = 0; k < 3; k++)
            mx = fmax(mx, lg[i * 3 + k]);
        for (int k = 0; k < 3; k++)
            s += exp(lg[i * 3 + k] - mx);
        expect += -(lg[i * 3 + y[i]] - mx - log(s)) / 2;
    }
    double loss = kb_model_loss(m, y, 0.0f);
    cr_assert_float_eq(loss, expect, 1e-5);
    kb_model_zero_grad(m);
    kb_model_backward(m, NULL, NULL);
    size_t np;
    float *g = kb_model_grads(m, &np);
    double norm = 0;
    for (size_t i = 0; i < np; i++)
        norm += (double)g[i] * g[i];
    cr_assert_gt(norm, 0.0);
    int32_t bad[2] = { 0, 3 };
    cr_assert(isnan(kb_model_loss(m, bad, 0.0f)));
    kb_model_free(m);
}

/* ------------------------------------------------------------------ safetensors */

Test(model, save_load_roundtrip, .init = mk_tmp, .fini = rm_tmp)
{
    struct kb_error err = {0};
    struct kb_model *a = tiny_net(3, 6, 5, 4, 0.0f);
    fd_randomize(a, 21);
    float x[2 * 90];
    for (int i = 0; i < 180; i++)
        x[i] = (float)(i % 11) * 0.1f;
    kb_model_forward(a, x, 2, true);   /* num_batches_tracked = 1, running stats moved */
    kb_model_forward(a, x, 2, true);
    cr_assert_eq(kb_model_save(a, tmp_path("a.safetensors"), &err), 0, "%s", err.msg);
    struct kb_model *b = tiny_net(3, 6, 5, 4, 0.0f);
    cr_assert_eq(kb_model_load(b, tmp_path("a.safetensors"), NULL, &err), 0, "%s", err.msg);
    size_t n = kb_model_tensor_count(a);
    cr_assert_eq(n, kb_model_tensor_count(b));
    for (size_t i = 0; i < n; i++) {
        struct kb_tensor *ta = kb_model_tensor(a, i), *tb = kb_model_tensor(b, i);
        cr_assert_eq(memcmp(ta->data, tb->data, ta->numel * sizeof(float)), 0, "%s", ta->name);
    }
    cr_assert_eq(kb_model_find(b, "bn_dw.num_batches_tracked")->data[0], 2.0f);
    float la[8], lb[8];
    memcpy(la, kb_model_forward(a, x, 2, false), sizeof la);
    memcpy(lb, kb_model_forward(b, x, 2, false), sizeof lb);
    cr_assert_eq(memcmp(la, lb, sizeof la), 0);
    /* num_batches_tracked is stored as I64 scalar, like PyTorch */
    struct kb_safetensors st;
    cr_assert_eq(kb_st_open(&st, tmp_path("a.safetensors"), &err), 0, "%s", err.msg);
    const struct kb_st_tensor *t = kb_st_find(&st, "stem_bn.num_batches_tracked");
    cr_assert_not_null(t);
    cr_assert_eq(t->dtype, KB_DT_I64);
    cr_assert_eq(t->ndim, 0);
    cr_assert_eq(*(const int64_t *)kb_st_tensor_data(&st, t), 2);
    cr_assert_eq(kb_st_find(&st, "stem.weight")->dtype, KB_DT_F32);
    kb_st_close(&st);
    kb_model_free(a);
    kb_model_free(b);
}

/* Write the model's tensors, minus `drop`, plus `extra`, with `reshape` given
 * another shape. */
static void write_variant(struct kb_model *m, const char *path, const char *drop,
                          const char *extra, const char *reshape)
{
    struct kb_error err = {0};
    struct kb_st_writer *w = kb_st_writer_new();
    for (size_t i = 0; i < kb_model_tensor_count(m); i++) {
        struct kb_tensor *t = kb_model_tensor(m, i);
        if (drop && !strcmp(t->name, drop))
            continue;
        int64_t shape[4];
        memcpy(shape, t->shape, sizeof shape);
        int ndim = t->ndim;
        if (reshape && !strcmp(t->name, reshape)) {
            ndim = 1;
            shape[0] = (int64_t)t->numel;   /* same count, other shape */
        }
        cr_assert_eq(kb_st_writer_add(w, t->name, KB_DT_F32, ndim, shape, t->data, &err), 0,
                     "%s", err.msg);
    }
    if (extra) {
        float v[3] = { 1, 2, 3 };
        int64_t s = 3;
        cr_assert_eq(kb_st_writer_add(w, extra, KB_DT_F32, 1, &s, v, &err), 0);
    }
    cr_assert_eq(kb_st_writer_save(w, path, &err), 0, "%s", err.msg);
    kb_st_writer_free(w);
}

Test(model, strict_load_lists_everything, .init = mk_tmp, .fini = rm_tmp)
{
    struct kb_error err = {0};
    struct kb_model *m = tiny_net(3, 6, 5, 4, 0.0f);
    fd_randomize(m, 1);
    write_variant(m, tmp_path("bad.safetensors"), "bn_down.running_var", "head.extra",
                  "fc1.weight");
    struct kb_model *b = tiny_net(3, 6, 5, 4, 0.0f);
    float before = kb_model_find(b, "stem.weight")->data[0];
    cr_assert_eq(kb_model_load(b, tmp_path("bad.safetensors"), NULL, &err), -1);
    cr_assert_not_null(strstr(err.msg, "bad.safetensors"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "1 missing (bn_down.running_var)"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "1 unexpected (head.extra)"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "1 mis-shaped (fc1.weight: file 192, model 6x32)"), "%s",
                       err.msg);
    cr_assert_null(strchr(err.msg, '\n'));
    cr_assert_eq(kb_model_find(b, "stem.weight")->data[0], before);   /* untouched */
    /* a missing file is one clear error too */
    cr_assert_eq(kb_model_load(b, tmp_path("none.safetensors"), NULL, &err), -1);
    cr_assert_not_null(strstr(err.msg, "none.safetensors"), "%s", err.msg);
    kb_model_free(m);
    kb_model_free(b);
}

Test(model, skip_pattern_transfer, .init = mk_tmp, .fini = rm_tmp)
{
    struct kb_error err = {0};
    /* a "pretrained" model with 10 classes and a target with 3: the head differs */
    struct kb_model *src, *dst;
    cr_assert_eq(kb_model_new(&src, 1, 4, 4, &err), 0);
    int x = kb_model_conv2d(src, 0, "conv1", 2, 3, 1, 1, 1, false);
    x = kb_model_batchnorm(src, x, "bn1");
    x = kb_model_gap(src, x);
    x = kb_model_linear(src, x, "fc", 10, true);
    cr_assert_eq(kb_model_finish(src, x, &err), 0);
    fd_randomize(src, 4);
    cr_assert_eq(kb_model_save(src, tmp_path("pre.safetensors"), &err), 0, "%s", err.msg);
    cr_assert_eq(kb_model_new(&dst, 1, 4, 4, &err), 0);
    x = kb_model_conv2d(dst, 0, "conv1", 2, 3, 1, 1, 1, false);
    x = kb_model_batchnorm(dst, x, "bn1");
    x = kb_model_gap(dst, x);
    x = kb_model_linear(dst, x, "fc", 3, true);
    cr_assert_eq(kb_model_finish(dst, x, &err), 0);
    kb_model_init(dst, 99);
    float fresh = kb_model_find(dst, "fc.weight")->data[0];
    cr_assert_eq(kb_model_load(dst, tmp_path("pre.safetensors"), NULL, &err), -1);
    cr_assert_not_null(strstr(err.msg, "mis-shaped (fc.weight: file 10x2, model 3x2"), "%s",
                       err.msg);
    cr_assert_eq(kb_model_load(dst, tmp_path("pre.safetensors"), "fc.*", &err), 0, "%s",
                 err.msg);
    cr_assert_eq(kb_model_find(dst, "fc.weight")->data[0], fresh);
    cr_assert_eq(memcmp(kb_model_find(dst, "conv1.weight")->data,
                        kb_model_find(src, "conv1.weight")->data, 18 * sizeof(float)), 0);
    cr_assert_eq(memcmp(kb_model_find(dst, "bn1.running_var")->data,
                        kb_model_find(src, "bn1.running_var")->data, 2 * sizeof(float)), 0);
    kb_model_free(src);
    kb_model_free(dst);
}

/* The conv workspace grows with the engine's thread count: a model built at
 * one thread count keeps working (and gives the same logits) after
 * kb_nn_set_threads raises it. Under ASan an unresized workspace overflows. */
Test(model, thread_count_change_resizes_workspace)
{
    kb_nn_set_threads(1);
    struct kb_model *m = tiny_net(3, 6, 5, 4, 0.0f);
    fd_randomize(m, 4);
    float x[8 * 3 * 6 * 5];
    struct kb_rng g;
    kb_rng_init_seed(&g, 11, "x");
    fd_fill(x, sizeof x / sizeof x[0], -1, 1, &g);
    float a[8 * 4], b[8 * 4];
    memcpy(a, kb_model_forward(m, x, 8, false), sizeof a);
    kb_nn_set_threads(4);
    memcpy(b, kb_model_forward(m, x, 8, false), sizeof b);
    for (int k = 0; k < 8 * 4; k++)
        cr_assert_float_eq(a[k], b[k], 1e-5f);
    /* and a training step at the new count (backward uses the workspace too) */
    int32_t y[8] = { 0, 1, 2, 3, 0, 1, 2, 3 };
    cr_assert_not_null(kb_model_forward(m, x, 8, true));
    kb_model_loss(m, y, 0.0f);
    kb_model_zero_grad(m);
    kb_model_backward(m, NULL, NULL);
    kb_nn_set_threads(1);
    kb_model_free(m);
}
