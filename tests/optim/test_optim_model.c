/* The optimizer object on a real kb_model: which tensors it updates (not
 * buffers, not frozen ones), per-tensor state (a tensor frozen at a step keeps
 * its momentum and step count, as in PyTorch), state layout, clipping. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <keybench/model.h>
#include <keybench/optim.h>

/* conv1 (1->2, 1x1, bias) -> bn1 -> gap -> fc (2->3) */
static struct kb_model *tiny(void)
{
    struct kb_error err = {0};
    struct kb_model *m;
    cr_assert_eq(kb_model_new(&m, 1, 2, 2, &err), 0, "%s", err.msg);
    int x = kb_model_conv2d(m, 0, "conv1", 2, 1, 1, 0, 1, true);
    x = kb_model_batchnorm(m, x, "bn1");
    x = kb_model_gap(m, x);
    x = kb_model_linear(m, x, "fc", 3, true);
    cr_assert_eq(kb_model_finish(m, x, &err), 0, "%s", err.msg);
    kb_model_init(m, 1);
    return m;
}

/* Every trainable tensor: data = 1, grad = g. Returns their element count. */
static size_t set_all(struct kb_model *m, float g)
{
    size_t n = 0;
    for (size_t i = 0; i < kb_model_tensor_count(m); i++) {
        struct kb_tensor *t = kb_model_tensor(m, i);
        if (t->is_buffer || !t->grad)
            continue;
        for (size_t j = 0; j < t->numel; j++)
            t->data[j] = 1.0f, t->grad[j] = g;
        n += t->numel;
    }
    return n;
}

Test(optim_model, sgd_skips_buffers_and_frozen_tensors_keeps_state)
{
    struct kb_model *m = tiny();
    struct kb_error err = {0};
    size_t n = set_all(m, 1.0f);
    struct kb_tensor *rm = kb_model_find(m, "bn1.running_var");
    cr_assert(rm && rm->is_buffer);
    float rv0 = rm->data[0];

    struct kb_optim_config c = kb_optim_config_default(KB_OPTIM_SGD);
    c.momentum = 0.5;
    struct kb_optim *o;
    cr_assert_eq(kb_optim_new(&o, m, &c, &err), 0, "%s", err.msg);
    size_t count;
    cr_assert_not_null(kb_optim_state(o, &count));
    cr_assert_eq(count, n, "one momentum float per trainable element (%zu, got %zu)", n, count);

    cr_assert_eq(kb_model_freeze(m, "fc.*", true), 2);
    kb_optim_step(o, 0.1);                       /* conv1, bn1 step; fc frozen */
    cr_assert_float_eq(kb_model_find(m, "conv1.weight")->data[0], 0.9f, 1e-7);
    cr_assert_float_eq(kb_model_find(m, "bn1.bias")->data[1], 0.9f, 1e-7);
    cr_assert_eq(kb_model_find(m, "fc.weight")->data[0], 1.0f, "frozen: untouched");
    cr_assert_eq(rm->data[0], rv0, "buffers are never updated");

    kb_model_freeze(m, "fc.*", false);
    kb_optim_step(o, 0.1);
    /* conv1: buf = .5·1 + 1 = 1.5 -> .9 − .15 = .75; fc: its FIRST step -> 1 − .1 */
    cr_assert_float_eq(kb_model_find(m, "conv1.weight")->data[0], 0.75f, 1e-7);
    cr_assert_float_eq(kb_model_find(m, "fc.bias")->data[2], 0.9f, 1e-7);
    cr_assert_eq(kb_optim_steps(o), 2);
    kb_optim_free(o);
    kb_model_free(m);
}

Test(optim_model, adam_state_and_per_tensor_steps)
{
    struct kb_model *m = tiny();
    struct kb_error err = {0};
    size_t n = set_all(m, 0.5f);
    struct kb_optim_config c = kb_optim_config_default(KB_OPTIM_ADAM);
    struct kb_optim *o;
    cr_assert_eq(kb_optim_new(&o, m, &c, &err), 0, "%s", err.msg);
    size_t count;
    kb_optim_state(o, &count);
    cr_assert_eq(count, 2 * n);
    kb_model_freeze(m, "conv1.*", true);
    kb_optim_step(o, 0.01);
    kb_optim_step(o, 0.01);
    kb_model_freeze(m, "conv1.*", false);
    kb_optim_step(o, 0.01);
    /* constant gradient: Adam moves every tensor by lr per step of its own */
    cr_assert_float_eq(kb_model_find(m, "fc.weight")->data[0], 0.97f, 1e-6);
    cr_assert_float_eq(kb_model_find(m, "conv1.weight")->data[0], 0.99f, 1e-6);
    kb_optim_free(o);
    kb_model_free(m);
}

Test(optim_model, clip_by_global_norm)
{
    struct kb_model *m = tiny();
    size_t n = set_all(m, 2.0f);
    double norm = kb_grad_clip_norm(m, 1.0);
    cr_assert_float_eq(norm, 2.0 * sqrt((double)n), 1e-9);
    double after = kb_grad_clip_norm(m, 0.0);
    cr_assert_float_eq(after, 1.0, 1e-5);

    /* through the optimizer: clip_norm scales before the step */
    struct kb_error err = {0};
    set_all(m, 2.0f);
    struct kb_optim_config c = kb_optim_config_default(KB_OPTIM_SGD);
    c.clip_norm = 1.0;
    struct kb_optim *o;
    cr_assert_eq(kb_optim_new(&o, m, &c, &err), 0, "%s", err.msg);
    norm = kb_optim_step(o, 1.0);
    cr_assert_float_eq(norm, 2.0 * sqrt((double)n), 1e-9);
    cr_assert_float_eq(kb_model_find(m, "fc.bias")->data[0], 1.0 - 1.0 / sqrt((double)n), 1e-5);
    kb_optim_free(o);
    kb_model_free(m);
}

Test(optim_model, config_errors_name_the_field)
{
    struct kb_model *m = tiny();
    struct kb_error err = {0};
    struct kb_optim *o = (struct kb_optim *)&err;
    struct kb_optim_config c = kb_optim_config_default(KB_OPTIM_SGD);
    c.nesterov = true;
    cr_assert_eq(kb_optim_new(&o, m, &c, &err), -1);
    cr_assert_null(o);
    cr_assert(strstr(err.msg, "nesterov"), "%s", err.msg);
    c = kb_optim_config_default(KB_OPTIM_ADAM);
    c.beta2 = 1.0;
    cr_assert_eq(kb_optim_new(&o, m, &c, &err), -1);
    cr_assert(strstr(err.msg, "beta2"), "%s", err.msg);
    c.beta2 = 0.999;
    c.weight_decay = -1;
    cr_assert_eq(kb_optim_new(&o, m, &c, &err), -1);
    cr_assert(strstr(err.msg, "weight_decay"), "%s", err.msg);
    kb_model_free(m);
}
