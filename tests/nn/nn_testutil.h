/* nn_testutil.h — shared helpers of the layer tests: a deterministic random
 * fill and a finite-difference gradient checker.
 *
 * The checker takes a layer case (forward into `out`, backward accumulating
 * from `dout` into the registered gradient buffers) and the scalar loss
 * L = Σ out ⊙ R with a fixed random R, so every output element matters. It
 * checks, for every registered tensor and EVERY element, the central
 * difference (L(x+ε) − L(x−ε)) / 2ε (L summed in double) against the analytic
 * gradient, and that a second backward call doubles the gradient (backward
 * accumulates). Header-only: each test executable includes it once. */
#ifndef NN_TESTUTIL_H
#define NN_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

struct tu_rng { uint64_t s; };

static inline uint64_t tu_next(struct tu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi) */
static inline float tu_uniform(struct tu_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(tu_next(r) >> 11) / 9007199254740992.0);
}

static inline void tu_fill(struct tu_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tu_uniform(r, lo, hi);
}

/* uniform values whose magnitude is at least `gap` (keeps ReLU kinks away from ±ε) */
static inline void tu_fill_away_from_zero(struct tu_rng *r, float *x, size_t n, float gap)
{
    for (size_t i = 0; i < n; i++) {
        float v = tu_uniform(r, gap, 1.0f);
        x[i] = (tu_next(r) & 1) ? v : -v;
    }
}

/* distinct values spaced `gap` apart, randomly placed (max pool ties stay away) */
static inline void tu_fill_distinct(struct tu_rng *r, float *x, size_t n, float gap)
{
    for (size_t i = 0; i < n; i++)
        x[i] = ((float)i - (float)n / 2) * gap;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(tu_next(r) % i);
        float t = x[i - 1];
        x[i - 1] = x[j];
        x[j] = t;
    }
}

static inline float *tu_alloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    cr_assert(p != NULL);
    return p;
}

#define TU_MAX_TENSORS 4

struct tu_case {
    const char *name;
    void *ctx;
    void (*forward)(void *ctx, float *out);
    void (*backward)(void *ctx, const float *dout);
    size_t n_out;
    int n_tensors;
    struct {
        const char *name;
        float *x;      /* the tensor that is perturbed */
        float *grad;   /* its analytic gradient buffer (backward accumulates here) */
        size_t n;
    } t[TU_MAX_TENSORS];
    float eps;         /* finite-difference step */
    double tol;        /* relative to max(|numeric|, |analytic|, floor) */
    double floor;      /* absolute scale floor of the comparison */
};

static inline double tu_loss(struct tu_case *c, float *out, const float *R)
{
    c->forward(c->ctx, out);
    double L = 0.0;
    for (size_t i = 0; i < c->n_out; i++)
        L += (double)out[i] * (double)R[i];
    return L;
}

/* Returns the worst relative error seen; asserts it is below c->tol. */
static inline double tu_gradcheck(struct tu_case *c, uint64_t seed)
{
    struct tu_rng rng = { seed };
    float *out = tu_alloc(c->n_out), *R = tu_alloc(c->n_out);
    tu_fill(&rng, R, c->n_out, -1.0f, 1.0f);
    for (int k = 0; k < c->n_tensors; k++)
        memset(c->t[k].grad, 0, c->t[k].n * sizeof(float));
    c->forward(c->ctx, out);
    c->backward(c->ctx, R);
    float *ana[TU_MAX_TENSORS];
    for (int k = 0; k < c->n_tensors; k++) {
        ana[k] = tu_alloc(c->t[k].n);
        memcpy(ana[k], c->t[k].grad, c->t[k].n * sizeof(float));
    }
    /* accumulation: a second backward doubles every gradient */
    c->forward(c->ctx, out);
    c->backward(c->ctx, R);
    for (int k = 0; k < c->n_tensors; k++) {
        double gmax = 0.0;
        for (size_t i = 0; i < c->t[k].n; i++)
            gmax = fmax(gmax, fabs(ana[k][i]));
        for (size_t i = 0; i < c->t[k].n; i++) {
            double want = 2.0 * ana[k][i], got = c->t[k].grad[i];
            cr_assert(fabs(got - want) <= 1e-5 * (gmax + 1e-6),
                      "%s: d%s[%zu] after two backward calls is %g, expected 2 x %g",
                      c->name, c->t[k].name, i, got, ana[k][i]);
        }
    }
    bool nonzero = false;
    double worst = 0.0;
    for (int k = 0; k < c->n_tensors; k++) {
        float *x = c->t[k].x;
        double gmax = c->floor;
        for (size_t i = 0; i < c->t[k].n; i++)
            gmax = fmax(gmax, fabs(ana[k][i]));
        for (size_t i = 0; i < c->t[k].n; i++) {
            float keep = x[i];
            x[i] = keep + c->eps;
            double lp = tu_loss(c, out, R);
            x[i] = keep - c->eps;
            double lm = tu_loss(c, out, R);
            x[i] = keep;
            double num = (lp - lm) / (2.0 * (double)c->eps);
            double a = ana[k][i];
            if (a != 0.0)
                nonzero = true;
            /* relative to the element and to the tensor's gradient scale */
            double scale = fmax(fmax(fabs(num), fabs(a)), 0.1 * gmax);
            double rel = fabs(num - a) / scale;
            if (rel > worst)
                worst = rel;
            cr_assert(rel <= c->tol,
                      "%s: d%s[%zu] analytic %.7g, finite difference %.7g (rel %.3g > %.3g)",
                      c->name, c->t[k].name, i, a, num, rel, c->tol);
        }
    }
    cr_assert(nonzero, "%s: every analytic gradient is zero", c->name);
    for (int k = 0; k < c->n_tensors; k++)
        free(ana[k]);
    free(out);
    free(R);
    return worst;
}

#endif
