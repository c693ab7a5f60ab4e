/* SGD with momentum, Nesterov and L2 weight decay, as torch.optim.SGD
 * (_single_tensor_sgd, dampening 0).
 *
 * PyTorch's CPU `add(x, alpha=a)` kernel is a fused multiply-add
 * (vec::fmadd), so the updates below use fmaf where PyTorch fuses; the result
 * is the same on every machine (fmaf is exactly rounded). On CPUs with FMA
 * the loop is compiled for it (one instruction instead of a libm call). */
#include <math.h>

#include <keybench/optim.h>

/* p, buf, g (n). Scalars are rounded to float where PyTorch rounds them (a
 * Python float becomes the kernel's float scalar). */
static inline __attribute__((always_inline)) void
sgd_body(float *p, float *buf, const float *g, float neg_lr, float mu, float wd, bool nesterov,
         bool first, size_t n)
{
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float d = fmaf(wd, p[i], g[i]);            /* g.add(p, alpha=wd) */
            p[i] = fmaf(neg_lr, d, p[i]);              /* p.add_(d, alpha=−lr) */
        }
    } else if (first) {
        for (size_t i = 0; i < n; i++) {
            float d = fmaf(wd, p[i], g[i]);
            buf[i] = d;                                /* buf = clone(d) */
            if (nesterov)
                d = fmaf(mu, d, d);                    /* d.add(buf, alpha=μ) */
            p[i] = fmaf(neg_lr, d, p[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float d = fmaf(wd, p[i], g[i]);
            float b = buf[i] * mu + d;                 /* buf.mul_(μ).add_(d, alpha=1) */
            buf[i] = b;
            d = nesterov ? fmaf(mu, b, d) : b;
            p[i] = fmaf(neg_lr, d, p[i]);
        }
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("fma"))) static void sgd_fma(float *p, float *buf, const float *g,
                                                   float neg_lr, float mu, float wd,
                                                   bool nesterov, bool first, size_t n)
{
    sgd_body(p, buf, g, neg_lr, mu, wd, nesterov, first, n);
}
#endif

static void sgd_generic(float *p, float *buf, const float *g, float neg_lr, float mu, float wd,
                        bool nesterov, bool first, size_t n)
{
    sgd_body(p, buf, g, neg_lr, mu, wd, nesterov, first, n);
}

void kb_sgd_update(float *p, float *buf, const float *g, double lr, double momentum,
                   double weight_decay, bool nesterov, bool first, size_t n)
{
    const float wd = (float)weight_decay, mu = (float)momentum, neg_lr = (float)-lr;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("fma")) {
        sgd_fma(p, buf, g, neg_lr, mu, wd, nesterov, first, n);
        return;
    }
#endif
    sgd_generic(p, buf, g, neg_lr, mu, wd, nesterov, first, n);
}
