/* Adam and AdamW, as torch.optim.Adam / torch.optim.AdamW (_single_tensor_adam(w),
 * amsgrad off). fmaf where PyTorch's CPU kernels fuse (add with alpha, and
 * addcmul as compiled in Debian's torch 1.13: checked bit-exact by
 * tests/optim/test_optim_torch.c), plain float arithmetic elsewhere. */
#include <math.h>

#include <keybench/optim.h>

struct adam_scalars {
    float b1, one_b1, b2, one_b2, neg_step, bc2_sqrt, eps, wd, keep;
    bool shrink;
};

static inline __attribute__((always_inline)) void
adam_body(float *p, float *m, float *v, const float *g, const struct adam_scalars *k, size_t n)
{
    const struct adam_scalars c = *k;
    for (size_t i = 0; i < n; i++) {
        float pi = p[i];
        if (c.shrink)
            pi = pi * c.keep;                       /* AdamW: p.mul_(1 − lr·wd) */
        float gi = fmaf(c.wd, pi, g[i]);            /* Adam: g.add(p, alpha=wd) */
        float mi = fmaf(c.one_b1, gi, m[i] * c.b1); /* m.mul_(β1).add_(g, alpha=1−β1) */
        float vi = fmaf(c.one_b2 * gi, gi, v[i] * c.b2); /* v.mul_(β2).addcmul_(g, g, 1−β2) */
        float denom = sqrtf(vi) / c.bc2_sqrt + c.eps;
        p[i] = pi + c.neg_step * mi / denom;        /* p.addcdiv_(m, denom, value=−step) */
        m[i] = mi;
        v[i] = vi;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("fma"))) static void adam_fma(float *p, float *m, float *v, const float *g,
                                                    const struct adam_scalars *k, size_t n)
{
    adam_body(p, m, v, g, k, n);
}
#endif

static void adam_generic(float *p, float *m, float *v, const float *g,
                         const struct adam_scalars *k, size_t n)
{
    adam_body(p, m, v, g, k, n);
}

/* p, m, v, g (n); t >= 1 is this tensor's step count after the increment. */
void kb_adam_update(float *p, float *m, float *v, const float *g, double lr, double beta1,
                    double beta2, double eps, double weight_decay, bool decoupled, int64_t t,
                    size_t n)
{
    /* Python-side scalars, in double, as PyTorch computes them. */
    const double bc1 = 1.0 - pow(beta1, (double)t);
    const double bc2 = 1.0 - pow(beta2, (double)t);
    struct adam_scalars k = {
        .b1 = (float)beta1, .one_b1 = (float)(1.0 - beta1),
        .b2 = (float)beta2, .one_b2 = (float)(1.0 - beta2),
        .neg_step = (float)-(lr / bc1), .bc2_sqrt = (float)sqrt(bc2), .eps = (float)eps,
        .wd = decoupled ? 0.0f : (float)weight_decay,
        .keep = (float)(1.0 - lr * weight_decay),
        .shrink = decoupled && weight_decay != 0.0,
    };
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("fma")) {
        adam_fma(p, m, v, g, &k, n);
        return;
    }
#endif
    adam_generic(p, m, v, g, &k, n);
}
