/* fd.h — finite-difference gradient checks of a whole kb_model (tests only).
 *
 * The scalar checked is L = Σ r ⊙ logits for a fixed random r (so the check
 * does not depend on the softmax), summed in double. Central differences in
 * float32 are noisy where a ReLU or max pool switches inside the step, so an
 * entry that misses the tolerance is checked again with a quarter of the step
 * ("double-checked"), and a small fraction of entries may still miss (kinks):
 * the caller bounds the number of misses. (Misses go to stderr, not
 * cr_log_warn: a logged warning makes Criterion exit 1.) */
#ifndef KB_TEST_FD_H
#define KB_TEST_FD_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <keybench/model.h>
#include <keybench/rng.h>

struct fd_ctx {
    struct kb_model *m;
    float *x;          /* (N,C,H,W) */
    int64_t n;
    size_t nx;         /* N·C·H·W */
    float *r;          /* (N, classes) */
    size_t nr;
    bool training;
};

static inline double fd_loss(struct fd_ctx *c)
{
    const float *y = kb_model_forward(c->m, c->x, c->n, c->training);
    cr_assert_not_null(y);
    double s = 0.0;
    for (size_t i = 0; i < c->nr; i++)
        s += (double)c->r[i] * (double)y[i];
    return s;
}

static inline void fd_fill(float *p, size_t n, double lo, double hi, struct kb_rng *g)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(lo + (hi - lo) * kb_rng_double(g));
}

/* Random but sane values for every tensor (BN: weight ~1, var > 0). */
static inline void fd_randomize(struct kb_model *m, uint64_t seed)
{
    struct kb_rng g;
    kb_rng_init_seed(&g, seed, "fd-randomize");
    kb_model_init(m, seed);
    for (size_t i = 0; i < kb_model_tensor_count(m); i++) {
        struct kb_tensor *t = kb_model_tensor(m, i);
        const char *dot = strrchr(t->name, '.');
        if (!dot || t->ndim == 0)
            continue;
        if (!strcmp(dot, ".running_var"))
            fd_fill(t->data, t->numel, 0.5, 1.5, &g);
        else if (!strcmp(dot, ".running_mean"))
            fd_fill(t->data, t->numel, -0.2, 0.2, &g);
        else if (t->ndim == 1 && !strcmp(dot, ".weight"))   /* BN gamma */
            fd_fill(t->data, t->numel, 0.7, 1.3, &g);
        else if (!strcmp(dot, ".bias"))
            fd_fill(t->data, t->numel, -0.2, 0.2, &g);
    }
    kb_rng_wipe(&g);
}

/* Compare one analytic derivative with central differences of *p. */
static inline bool fd_entry(struct fd_ctx *c, float *p, double analytic, double eps,
                            double scale, double *fd_out)
{
    float keep = *p;
    *p = (float)(keep + eps);
    double lp = fd_loss(c);
    *p = (float)(keep - eps);
    double lm = fd_loss(c);
    *p = keep;
    double fd = (lp - lm) / (2.0 * eps);
    *fd_out = fd;
    return fabs(fd - analytic) <= 2e-2 * scale + 2e-2 * fabs(analytic) + 1e-4;
}

/* Check the input gradient at `k_in` entries and the gradient of `k_par`
 * entries per trainable tensor (at most). Returns the number of misses. */
static inline int fd_check_model(struct kb_model *m, int64_t n, bool training, uint64_t seed,
                                 int k_in, int k_par, const char *what)
{
    int64_t c, h, w;
    kb_model_input_shape(m, &c, &h, &w);
    struct fd_ctx ctx = { .m = m, .n = n, .training = training };
    ctx.nx = (size_t)(n * c * h * w);
    ctx.nr = (size_t)(n * kb_model_classes(m));
    ctx.x = malloc(ctx.nx * sizeof(float));
    ctx.r = malloc(ctx.nr * sizeof(float));
    float *dx = calloc(ctx.nx, sizeof(float));
    cr_assert(ctx.x && ctx.r && dx);
    struct kb_rng g;
    kb_rng_init_seed(&g, seed, "fd-data");
    fd_fill(ctx.x, ctx.nx, -1.0, 1.0, &g);
    fd_fill(ctx.r, ctx.nr, -1.0, 1.0, &g);
    /* analytic gradients */
    kb_model_zero_grad(m);
    fd_loss(&ctx);
    kb_model_backward(m, ctx.r, dx);
    size_t np;
    float *grads_live = kb_model_grads(m, &np);
    float *grads = malloc((np ? np : 1) * sizeof(float));
    cr_assert_not_null(grads);
    memcpy(grads, grads_live, np * sizeof(float));
    float *params = kb_model_params(m, NULL);
    int bad = 0, checked = 0;
    double scale = 0.0;
    for (size_t i = 0; i < ctx.nx; i++)
        scale = fmax(scale, fabs(dx[i]));
    for (int k = 0; k < k_in; k++) {
        size_t i = kb_rng_uniform(&g, (uint32_t)ctx.nx);
        double fd;
        bool ok = fd_entry(&ctx, &ctx.x[i], dx[i], 1e-3, scale, &fd) ||
                  fd_entry(&ctx, &ctx.x[i], dx[i], 3e-4, scale, &fd);
        checked++;
        if (!ok) {
            bad++;
            fprintf(stderr, "fd miss: %s: dinput[%zu] analytic %.6g, finite difference %.6g\n",
                    what, i, dx[i], fd);
        }
    }
    for (size_t t = 0; t < kb_model_tensor_count(m); t++) {
        struct kb_tensor *tt = kb_model_tensor(m, t);
        if (tt->is_buffer)
            continue;
        size_t off = (size_t)(tt->data - params);
        double ts = 0.0;
        for (size_t i = 0; i < tt->numel; i++)
            ts = fmax(ts, fabs(grads[off + i]));
        for (int k = 0; k < k_par && (size_t)k < tt->numel; k++) {
            size_t i = tt->numel <= (size_t)k_par ? (size_t)k
                                                  : kb_rng_uniform(&g, (uint32_t)tt->numel);
            double fd;
            bool ok = fd_entry(&ctx, &tt->data[i], grads[off + i], 1e-3, ts, &fd) ||
                      fd_entry(&ctx, &tt->data[i], grads[off + i], 3e-4, ts, &fd);
            checked++;
            if (!ok) {
                bad++;
                fprintf(stderr, "fd miss: %s: d%s[%zu] analytic %.6g, finite difference %.6g\n",
                        what, tt->name, i, grads[off + i], fd);
            }
        }
    }
    cr_assert_gt(checked, 0);
    cr_assert_gt(scale, 0.0, "%s: the input gradient is all zero", what);
    kb_rng_wipe(&g);
    free(grads);
    free(dx);
    free(ctx.x);
    free(ctx.r);
    return bad;
}

#endif
