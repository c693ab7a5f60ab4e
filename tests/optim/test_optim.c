/* Optimizer update kernels against values computed by hand (3 steps), the
 * config checks and gradient clipping on plain arrays. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <keybench/optim.h>

#define close_to(a, b, tol) cr_assert(fabs((double)(a) - (double)(b)) <= (tol), \
                                      "%s = %.10g, expected %.10g", #a, (double)(a), (double)(b))

/* lr 0.5, momentum 0.5, wd 0.25, g = 0.5 every step, p0 = 1 (all dyadic: exact in float).
 *   1: d = .5+.25·1 = .75            buf = .75                    p = 1 − .375       = .625
 *   2: d = .5+.25·.625 = .65625      buf = .375+.65625 = 1.03125  p = .625 − .515625 = .109375
 *   3: d = .5+.25·.109375=.52734375  buf = .515625+.52734375 = 1.04296875
 *                                                                 p = .109375 − .521484375 = −.412109375 */
Test(optim, sgd_momentum_weight_decay_by_hand)
{
    float p[1] = { 1.0f }, buf[1] = { 123.0f }, g[1] = { 0.5f };
    const float want[3] = { 0.625f, 0.109375f, -0.412109375f };
    for (int s = 0; s < 3; s++) {
        kb_sgd_update(p, buf, g, 0.5, 0.5, 0.25, false, s == 0, 1);
        cr_assert_eq(p[0], want[s], "step %d: p = %.10g, expected %.10g", s + 1, (double)p[0],
                     (double)want[s]);
    }
    cr_assert_eq(buf[0], 1.04296875f);
}

/* Same with Nesterov: d = d + momentum·buf.
 *   1: d=.75   buf=.75      d=.75+.375=1.125          p = 1 − .5625 = .4375
 *   2: d=.609375 buf=.375+.609375=.984375 d=.609375+.4921875=1.1015625  p = .4375−.55078125 = −.11328125
 *   3: d=.4716796875 buf=.4921875+.4716796875=.9638671875 d=.4716796875+.48193359375=.95361328125
 *                                                     p = −.11328125 − .476806640625 = −.590087890625 */
Test(optim, sgd_nesterov_by_hand)
{
    float p[1] = { 1.0f }, buf[1], g[1] = { 0.5f };
    const float want[3] = { 0.4375f, -0.11328125f, -0.590087890625f };
    for (int s = 0; s < 3; s++) {
        kb_sgd_update(p, buf, g, 0.5, 0.5, 0.25, true, s == 0, 1);
        cr_assert_eq(p[0], want[s], "step %d: p = %.10g, expected %.10g", s + 1, (double)p[0],
                     (double)want[s]);
    }
}

Test(optim, sgd_plain_needs_no_buffer)
{
    float p[2] = { 1.0f, -2.0f }, g[2] = { 0.5f, 0.25f };
    kb_sgd_update(p, NULL, g, 0.5, 0.0, 0.0, false, true, 2);
    cr_assert_eq(p[0], 0.75f);
    cr_assert_eq(p[1], -2.125f);
}

/* Adam, g = 1 every step, no decay: m̂ = v̂ = 1 exactly in real arithmetic, so
 * every step moves p by lr/(1+eps): 0.9, 0.8, 0.7. */
Test(optim, adam_constant_gradient_moves_lr_per_step)
{
    float p[1] = { 1.0f }, m[1] = { 0 }, v[1] = { 0 }, g[1] = { 1.0f };
    for (int t = 1; t <= 3; t++) {
        kb_adam_update(p, m, v, g, 0.1, 0.9, 0.999, 1e-8, 0.0, false, t, 1);
        close_to(p[0], 1.0 - 0.1 * t, 1e-6);
    }
    close_to(m[0], 1.0 - 0.9 * 0.9 * 0.9, 1e-6);   /* (1−β1)·Σβ1^k = 1 − β1³ */
    close_to(v[0], 1.0 - 0.999 * 0.999 * 0.999, 1e-7);
}

/* Adam with L2 decay 0.1, lr 0.1, g = .5, −.25, 1, p0 = 1:
 *   1: g' = .5+.1 = .6; m̂ = .6, v̂ = .36 -> p = 1 − .1 = .9
 *   2: g' = −.25+.09 = −.16; m = .054−.016 = .038, m̂ = .038/.19 = .2;
 *      v = .00035964+.0000256 = .00038524, v̂ = v/.001999 = .192716; p = .9 − .1·.2/.438995 = .854441
 *   3: (same recurrence) p = .781504 */
Test(optim, adam_l2_by_hand)
{
    float p[1] = { 1.0f }, m[1] = { 0 }, v[1] = { 0 };
    const float g[3] = { 0.5f, -0.25f, 1.0f };
    const double want[3] = { 0.9000000016666666, 0.8544413674617625, 0.7815043998631658 };
    for (int t = 1; t <= 3; t++) {
        kb_adam_update(p, m, v, &g[t - 1], 0.1, 0.9, 0.999, 1e-8, 0.1, false, t, 1);
        close_to(p[0], want[t - 1], 1e-6);
    }
}

/* AdamW: decoupled, p *= 1 − lr·wd before the Adam step (step 1: .99, then −.1 = .89). */
Test(optim, adamw_by_hand)
{
    float p[1] = { 1.0f }, m[1] = { 0 }, v[1] = { 0 };
    const float g[3] = { 0.5f, -0.25f, 1.0f };
    const double want[3] = { 0.890000002, 0.8544662986878463, 0.7801104766702113 };
    for (int t = 1; t <= 3; t++) {
        kb_adam_update(p, m, v, &g[t - 1], 0.1, 0.9, 0.999, 1e-8, 0.1, true, t, 1);
        close_to(p[0], want[t - 1], 1e-6);
    }
}

/* AdamW with zero gradients only decays: p_t = p0·(1 − lr·wd)^t; Adam (L2)
 * would move p by about lr per step instead. */
Test(optim, adamw_zero_gradient_is_pure_decay)
{
    float p[2] = { 2.0f, 2.0f }, m[2] = { 0 }, v[2] = { 0 }, g[1] = { 0 };
    float pa[1] = { 2.0f }, ma[1] = { 0 }, va[1] = { 0 };
    for (int t = 1; t <= 3; t++) {
        kb_adam_update(p, m, v, g, 0.1, 0.9, 0.999, 1e-8, 0.5, true, t, 1);
        kb_adam_update(pa, ma, va, g, 0.1, 0.9, 0.999, 1e-8, 0.5, false, t, 1);
        close_to(p[0], 2.0 * pow(0.95, t), 1e-6);
    }
    cr_assert_eq(p[1], 2.0f, "n = 1 must not touch the second element");
    close_to(pa[0], 1.7, 1e-3);
}

Test(optim, config_defaults_and_names)
{
    struct kb_optim_config c = kb_optim_config_default(KB_OPTIM_ADAMW);
    cr_assert_eq(c.weight_decay, 0.01);
    cr_assert_eq(c.beta2, 0.999);
    cr_assert_eq(kb_optim_config_default(KB_OPTIM_ADAM).weight_decay, 0.0);
    cr_assert_eq(kb_optim_kind_parse("adamw"), KB_OPTIM_ADAMW);
    cr_assert_eq(kb_optim_kind_parse("sgd"), KB_OPTIM_SGD);
    cr_assert_eq((int)kb_optim_kind_parse("lion"), 0);
    cr_assert_str_eq(kb_optim_kind_name(KB_OPTIM_ADAM), "adam");
    cr_assert_null(kb_optim_kind_name((enum kb_optim_kind)9));
}

/* Global-norm clipping as torch.nn.utils.clip_grad_norm_: norm of (3, 4 | 12) = 13. */
Test(optim, clip_grad_norm_arrays)
{
    float a[2] = { 3.0f, 4.0f }, b[1] = { 12.0f };
    float *gs[2] = { a, b };
    size_t ns[2] = { 2, 1 };
    double norm = kb_grad_clip_norm_arrays(gs, ns, 26.0, 2);
    cr_assert_eq(norm, 13.0);
    cr_assert_eq(a[0], 3.0f, "under the threshold nothing changes");
    norm = kb_grad_clip_norm_arrays(gs, ns, 1.3, 2);
    cr_assert_eq(norm, 13.0);
    close_to(a[0], 0.3, 1e-6);
    close_to(a[1], 0.4, 1e-6);
    close_to(b[0], 1.2, 1e-6);
    norm = kb_grad_clip_norm_arrays(gs, ns, 0.0, 2);   /* 0: measure only */
    close_to(norm, 1.3, 1e-6);
    close_to(b[0], 1.2, 1e-6);
}
